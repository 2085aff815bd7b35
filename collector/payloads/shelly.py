"""Shelly Gen2+ meters (Pro 3EM, Pro EM, EM Gen3, PM Mini, Plus 1PM, ...): MQTT prefix = device code.

Two shapes, both read (docs/mqtt.md, "Shelly Gen2"):
- `<device>/events/rpc`: RPC notifications (on by default on the device). `NotifyStatus` carries only what
  changed, `NotifyFullStatus` everything; `params.ts` is the device's Unix time (UTC).
- `<device>/status/<component>`: the whole status of one component ("Generic status update over MQTT",
  off by default). It has no timestamp, so readings are stamped with the collector's clock.

Only instance 0 of each metering component is read: one device code stands for one meter. Components we do
not read (sys, wifi, input, ...) and notifications that are not status (NotifyEvent) are routine traffic and
give no readings rather than dead letters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cityhall.contract import PayloadError, Reading
from cityhall.units import to_catalogue
from collector.payloads.fields import Collected, device_from_topic, load_object, number, plausible, shown

RPC_SUBSCRIPTION = "+/events/rpc"
STATUS_SUBSCRIPTION = "+/status/+"
STATUS_METHODS = frozenset({"NotifyStatus", "NotifyFullStatus"})


@dataclass(frozen=True, slots=True)
class ShellyField:
    """A (possibly nested) field of a component's status that becomes a catalogue quantity."""

    path: tuple[str, ...]
    quantity: str
    unit: str


@dataclass(frozen=True, slots=True)
class ShellyComponent:
    """What we read from one component type; `optional`: the component may legitimately carry none of it."""

    fields: tuple[ShellyField, ...]
    optional: bool = False


_POWER = ShellyField(("apower",), "power_kw", "W")
_ENERGY = ShellyField(("aenergy", "total"), "energy_kwh", "Wh")

COMPONENTS: dict[str, ShellyComponent] = {
    "em": ShellyComponent((ShellyField(("total_act_power",), "power_kw", "W"),)),  # Pro 3EM, 3EM Gen3
    "emdata": ShellyComponent((ShellyField(("total_act",), "energy_kwh", "Wh"),)),
    "em1": ShellyComponent((ShellyField(("act_power",), "power_kw", "W"),)),  # Pro EM, EM Gen3
    "em1data": ShellyComponent((ShellyField(("total_act_energy",), "energy_kwh", "Wh"),)),
    "pm1": ShellyComponent((_POWER, _ENERGY)),  # PM Mini, Plug PM
    # A switch without metering (Plus 1, the Pro EM's contactor output) has no apower: not an error.
    # Its `temperature.tC` is the relay's own temperature, not the room's, so it is not read.
    "switch": ShellyComponent((_POWER, _ENERGY), optional=True),
}
# `temperature:0` is deliberately not read: on a Pro 3EM it is the meter's own board temperature, on an H&T
# the room's, and the message does not say which. Reading it would dead-letter every Pro 3EM full status
# (an electricity meter does not measure temperature_c). Room climate comes in over Tasmota or native.
READ_INSTANCE = "0"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ShellyGen2Decoder:
    """Decoder for Shelly Gen2+ RPC notifications and component status topics."""

    name = "shelly_gen2"
    reports_all_quantities = True  # status frames carry every metered value
    subscriptions: tuple[str, ...] = (RPC_SUBSCRIPTION, STATUS_SUBSCRIPTION)

    def __init__(self, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock

    def matches(self, topic: str) -> bool:
        """`<device>/events/rpc` or `<device>/status/<component>`."""
        parts = topic.split("/")
        return len(parts) == 3 and (parts[1:] == ["events", "rpc"] or parts[1] == "status")

    def decode(self, topic: str, payload: bytes) -> list[Reading]:
        """Readings of the metering components in the message, in catalogue units."""
        _, kind, leaf = topic.split("/")
        # The topic prefix, not the frame's `src` (always the Shelly id), is what the installer set.
        device = device_from_topic(topic, 0)
        doc = load_object(payload)
        if kind == "events":
            return self._notification(device, doc)
        found = Collected()
        spec = _spec(leaf)
        # A full status of a metering component without its fields is a broken device, not routine.
        if _collect(found, leaf, doc, leaf) == 0 and spec is not None and not spec.optional:
            names = ", ".join(".".join(f.path) for f in spec.fields)
            raise PayloadError(f"{leaf}: none of {names} in the status")
        return _readings(device, self._clock(), found)

    def _notification(self, device: str, doc: dict[str, Any]) -> list[Reading]:
        if doc.get("method") not in STATUS_METHODS:
            return []  # NotifyEvent, RPC responses: no measurements
        params = doc.get("params")
        if not isinstance(params, dict):
            raise PayloadError(f"params: expected an object, got {shown(params)}")
        raw_ts = params.get("ts")
        if raw_ts is None:
            ts = self._clock()
        else:
            seconds = number(raw_ts, "params.ts")
            try:
                ts = datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError, ValueError) as err:
                raise PayloadError(f"params.ts: {seconds} is not a Unix time") from err
            ts = plausible(ts, "params.ts", raw_ts)
        found = Collected()
        for key, status in params.items():
            if key != "ts":
                _collect(found, key, status, f"params.{key}")
        # A NotifyStatus carries only what changed (say, a voltage), so finding nothing is routine.
        return _readings(device, ts, found)


def _spec(key: str) -> ShellyComponent | None:
    """What to read from the component named `key` (`em:0`), or None for components we do not read."""
    name, _, instance = key.partition(":")
    return COMPONENTS.get(name) if instance == READ_INSTANCE else None


def _collect(found: Collected, key: str, status: object, where: str) -> int:
    """Add the fields of one component's status; the number found (0 for components we do not read)."""
    spec = _spec(key)
    if spec is None:
        return 0
    if not isinstance(status, dict):
        raise PayloadError(f"{where}: expected an object, got {shown(status)}")
    count = 0
    for field in spec.fields:
        value: object = status
        for step in field.path:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            continue
        path = f"{where}.{'.'.join(field.path)}"
        found.add(field.quantity, to_catalogue(field.quantity, number(value, path), field.unit), path)
        count += 1
    return count


def _readings(device: str, ts: datetime, found: Collected) -> list[Reading]:
    return [Reading(device, quantity, ts, value) for quantity, (value, _) in found.values.items()]

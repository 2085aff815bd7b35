"""Tasmota telemetry: `tele/<topic>/SENSOR`, where the Tasmota `Topic` is set to our device code.

The SENSOR message carries one object per attached sensor (`"AM2301": {...}`, `"SCD30": {...}`) and, on
metering devices, an `ENERGY` object. Only the fields below become readings; Tasmota sends many more
(Voltage, Current, Today, DewPoint, ...) and those are ignored. docs/mqtt.md, "Tasmota", is the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from cityhall.contract import PayloadError, Reading
from cityhall.units import to_catalogue
from collector.payloads.fields import (
    Collected,
    device_from_topic,
    load_object,
    number,
    number_or_sum,
    plausible,
    shown,
)

SUBSCRIPTION = "tele/+/SENSOR"


@dataclass(frozen=True, slots=True)
class TasmotaField:
    """A field of a Tasmota object that becomes a catalogue quantity; unit None: the message's TempUnit."""

    name: str
    quantity: str
    unit: str | None


ENERGY_FIELDS = (
    TasmotaField("Power", "power_kw", "W"),  # a list on multi-channel meters: summed
    TasmotaField("Total", "energy_kwh", "kWh"),  # a list with SetOption129 1 (one total per phase): summed
)
SENSOR_FIELDS = (
    TasmotaField("Temperature", "temperature_c", None),
    TasmotaField("Humidity", "humidity_pct", "%"),
    TasmotaField("CarbonDioxide", "co2_ppm", "ppm"),
)
# Objects that look like sensors but do not measure the room: the ESP32 reports its own chip temperature.
NOT_ROOM_SENSORS = frozenset({"ESP32", "ENERGY"})
TEMP_UNITS = {"C": "degC", "F": "degF"}
EXPECTED = "ENERGY.Power, ENERGY.Total or a sensor's Temperature, Humidity or CarbonDioxide"


class TasmotaDecoder:
    """Decoder for Tasmota `tele/<device>/SENSOR` telemetry."""

    name = "tasmota"
    reports_all_quantities = True  # firmware sends every sensor it has, registered or not
    subscriptions: tuple[str, ...] = (SUBSCRIPTION,)

    def __init__(self, *, device_tz: tzinfo) -> None:
        # Tasmota stamps `Time` in the device's local time without an offset (unless SetOption52 is on).
        self._device_tz = device_tz

    def matches(self, topic: str) -> bool:
        """`tele/<topic>/SENSOR` with the default FullTopic `%prefix%/%topic%/`."""
        parts = topic.split("/")
        return len(parts) == 3 and parts[0] == "tele" and parts[2] == "SENSOR"

    def decode(self, topic: str, payload: bytes) -> list[Reading]:
        """Readings of ENERGY and of every attached sensor, in catalogue units."""
        device = device_from_topic(topic, 1)
        doc = load_object(payload)
        ts = self._time(doc)
        temp_unit = _temp_unit(doc)
        found = Collected()
        energy = doc.get("ENERGY")
        if energy is not None:
            if not isinstance(energy, dict):
                raise PayloadError(f"ENERGY: expected an object, got {shown(energy)}")
            _collect(found, energy, "ENERGY", fields=ENERGY_FIELDS, temp_unit=temp_unit, parse=number_or_sum)
        for key, sensor in doc.items():
            if isinstance(sensor, dict) and key not in NOT_ROOM_SENSORS:
                _collect(found, sensor, key, fields=SENSOR_FIELDS, temp_unit=temp_unit, parse=number)
        if not found.values:
            raise PayloadError(f"SENSOR: none of {EXPECTED}")
        return [Reading(device, quantity, ts, value) for quantity, (value, _) in found.values.items()]

    def _time(self, doc: dict[str, Any]) -> datetime:
        raw = doc.get("Time")
        if not isinstance(raw, str):
            raise PayloadError(f"Time: expected local time like '2026-11-26T10:00:00', got {shown(raw)}")
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError as err:
            raise PayloadError(
                f"Time: expected local time like '2026-11-26T10:00:00', got {shown(raw)}"
            ) from err
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=self._device_tz)
        try:
            utc = ts.astimezone(UTC)
        except OverflowError as err:  # e.g. 0001-01-01T00:00:00 at +08:00 is before year 1 in UTC
            raise PayloadError(f"Time: {shown(raw)} is out of range (years 1 to 9999 in UTC)") from err
        return plausible(utc, "Time", raw)


def _temp_unit(doc: dict[str, Any]) -> str:
    raw = doc.get("TempUnit", "C")  # absent when no thermometer is attached; Tasmota's default is C
    unit = TEMP_UNITS.get(raw) if isinstance(raw, str) else None
    if unit is None:
        raise PayloadError(f"TempUnit: expected 'C' or 'F', got {shown(raw)}")
    return unit


def _collect(
    found: Collected,
    obj: dict[str, Any],
    prefix: str,
    *,
    fields: tuple[TasmotaField, ...],
    temp_unit: str,
    parse: Callable[[object, str], float],
) -> None:
    for spec in fields:
        if spec.name in obj:
            field = f"{prefix}.{spec.name}"
            value = parse(obj[spec.name], field)
            found.add(spec.quantity, to_catalogue(spec.quantity, value, spec.unit or temp_unit), field)

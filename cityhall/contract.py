"""The MQTT payload contract: topics, the native JSON reading and the catalogue of quantities with units.

Documented for device integrators in docs/mqtt.md; keep the two in step.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import from_json

DEVICE_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Readings stamped further ahead than this are refused: a device clock that is wrong must not poison history.
MAX_FUTURE = timedelta(minutes=5)
# The one timestamp spelling the plain decode reads itself (see _decode_plain): `datetime.fromisoformat` and
# the model read it identically. Every other spelling the model accepts (no seconds, a space, more digits)
# goes to the model.
_PLAIN_TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z")


class PayloadFormat(StrEnum):
    """A device family's payload format; the values are CITYHALL_COLLECTOR_FORMATS names."""

    NATIVE = "native"
    TASMOTA = "tasmota"
    SHELLY_GEN2 = "shelly_gen2"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured quantity: its key on the wire (unit in the name), unit symbol and plausible range."""

    key: str
    unit: str
    description: str
    minimum: float
    maximum: float
    cumulative: bool = False


QUANTITIES: dict[str, Quantity] = {
    q.key: q
    for q in (
        Quantity("power_kw", "kW", "active power", -10_000.0, 10_000.0),
        Quantity("energy_kwh", "kWh", "cumulative active energy register", 0.0, 1e10, cumulative=True),
        Quantity("volume_m3", "m3", "cumulative water or fuel volume register", 0.0, 1e9, cumulative=True),
        Quantity("flow_m3h", "m3/h", "water or fuel flow rate", 0.0, 10_000.0),
        Quantity("temperature_c", "degC", "air temperature", -40.0, 85.0),
        Quantity("humidity_pct", "%", "relative humidity", 0.0, 100.0),
        Quantity("co2_ppm", "ppm", "carbon dioxide concentration", 0.0, 10_000.0),
        Quantity("occupancy_count", "people", "people counted in the space", 0.0, 5_000.0),
        Quantity("setpoint_c", "degC", "air-conditioner set-point", 10.0, 35.0),
        Quantity("on_state", "1/0", "equipment on (1) or off (0)", 0.0, 1.0),
        Quantity("open_state", "1/0", "door or window open (1) or closed (0)", 0.0, 1.0),
    )
}


def readings_topic(prefix: str, device_code: str) -> str:
    """Topic a device publishes its native JSON readings on."""
    return f"{prefix}/readings/{device_code}"


def readings_subscription(prefix: str) -> str:
    """Topic filter that matches every device's readings."""
    return f"{prefix}/readings/+"


def _device_code(value: str) -> str:
    if not DEVICE_CODE_RE.match(value):
        raise ValueError("device code must be 1-64 characters of letters, digits, '.', '_' or '-'")
    return value


DeviceCode = Annotated[str, AfterValidator(_device_code)]


class ReadingPayload(BaseModel):
    """Native JSON payload: one device, one instant, one or more quantities."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: DeviceCode = Field(description="Device code as registered in the asset register")
    ts: datetime = Field(description="Measurement time, ISO 8601 with offset (UTC recommended)")
    values: dict[str, float] = Field(min_length=1, description="Quantity key -> value, units in the key")

    @field_validator("ts")
    @classmethod
    def _aware_and_not_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        """UTC, and not later than MAX_FUTURE after `now` from the validation context (else the clock)."""
        if value.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset, e.g. 2026-11-26T10:00:00Z")
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: the UTC instant is before year 1
            raise ValueError("timestamp is out of range (years 1 to 9999 in UTC)") from None
        now = info.context.get("now") if isinstance(info.context, dict) else None
        if value > (datetime.now(UTC) if now is None else now) + MAX_FUTURE:
            raise ValueError("timestamp is more than 5 minutes in the future")
        return value

    @field_validator("values")
    @classmethod
    def _known_quantities_in_range(cls, values: dict[str, float]) -> dict[str, float]:
        for key, value in values.items():
            quantity = QUANTITIES.get(key)
            if quantity is None:
                raise ValueError(f"unknown quantity {key!r}; known: {', '.join(sorted(QUANTITIES))}")
            if math.isnan(value) or not quantity.minimum <= value <= quantity.maximum:
                raise ValueError(
                    f"{key}={value} {quantity.unit} is outside {quantity.minimum}..{quantity.maximum}"
                )
        return values


@dataclass(slots=True)
class Reading:
    """One value of one quantity of one device at one instant (UTC): the unit of storage. Treat it as
    immutable; it is not frozen because a frozen dataclass's __init__ costs 3.5x as much (0.45 µs against
    0.13 µs), once for every reading the collector takes in (bench/hotpath.py)."""

    device: str
    quantity: str
    ts: datetime
    value: float


class PayloadError(ValueError):
    """A payload that cannot become readings; `reason` is kept with the dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_native(raw: bytes, *, now: datetime | None = None) -> list[Reading]:
    """Decode a native JSON payload into readings, or raise PayloadError with a reason naming the field.

    A reading more than MAX_FUTURE after `now` is refused (default: the clock; the collector reads it once
    per batch). The common payload is read by a plain path; whatever that path does not plainly accept is
    decided, and its reason given, by the model `ReadingPayload`, so both paths accept the same payloads
    and every reason comes from the model.
    """
    now = datetime.now(UTC) if now is None else now
    readings = _decode_plain(raw, now + MAX_FUTURE)
    if readings is None:
        readings = _decode_with_model(raw, now)
    return readings


def _decode_with_model(raw: bytes, now: datetime) -> list[Reading]:
    try:
        payload = ReadingPayload.model_validate_json(raw, context={"now": now})
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "payload"
        raise PayloadError(f"{loc}: {first['msg']}") from err
    return [Reading(payload.device, key, payload.ts, value) for key, value in payload.values.items()]


def _decode_plain(raw: bytes, latest: datetime) -> list[Reading] | None:
    """Readings of a payload the model would accept unchanged, or None to let the model decide.

    Accepts only a subset of what the model accepts (exactly three keys, string device matching the code
    pattern, the one timestamp spelling of _PLAIN_TS_RE, catalogue quantities with int or float values in
    range), so it never needs a reason of its own; tests/test_contract.py checks it against the model. Half
    the model's cost: the model runs three Python validators per message (bench/hotpath.py).
    """
    try:
        doc = from_json(raw)  # the same JSON parser as the model (jiter): same NaN, duplicate-key rules
    except ValueError:
        return None
    if type(doc) is not dict or len(doc) != 3:  # device, ts and values, nothing else
        return None
    device, stamp, values = doc.get("device"), doc.get("ts"), doc.get("values")
    if (
        type(device) is not str
        or type(stamp) is not str
        or type(values) is not dict
        or not values
        or not DEVICE_CODE_RE.match(device)
        or not _PLAIN_TS_RE.match(stamp)
    ):
        return None
    try:
        ts = datetime.fromisoformat(stamp)
        if ts.tzinfo is not UTC:  # "Z" parses to UTC itself
            ts = ts.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if ts > latest:
        return None
    readings = []
    for key, value in values.items():
        quantity = QUANTITIES.get(key)
        # NaN and infinities fail the range test; bool and numeric strings are left to the model's rules.
        if (
            quantity is None
            or (type(value) is not float and type(value) is not int)
            or not quantity.minimum <= value <= quantity.maximum
        ):
            return None
        readings.append(Reading(device, key, ts, float(value)))
    return readings


def encode_native(device: str, ts: datetime, values: dict[str, float]) -> bytes:
    """Encode readings as the native JSON payload (used by simulators and tests)."""
    stamp = ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"device": device, "ts": stamp, "values": values}, separators=(",", ":")).encode()

"""Reading typed fields out of device JSON, with reasons that name the field (`ENERGY.Power: ...`).

Shared by the decoders of device families whose payloads we do not define (Tasmota, Shelly), so that a bad
message is refused with the same wording whichever family sent it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from cityhall.contract import DEVICE_CODE_RE, PayloadError

# A device whose clock was never synchronised reports times near 1970 (Tasmota counts from boot, Shelly
# from its RTC reset); storing those would put readings half a century into the past.
EARLIEST_PLAUSIBLE = datetime(2020, 1, 1, tzinfo=UTC)
_REPR_LIMIT = 40


def shown(value: object) -> str:
    """A value as quoted in a reason, shortened so a huge field cannot bloat the dead letter."""
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


def load_object(payload: bytes) -> dict[str, Any]:
    """The payload parsed as a JSON object."""
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PayloadError(f"payload: Invalid JSON: {err}") from err
    if not isinstance(doc, dict):
        raise PayloadError(f"payload: expected a JSON object, got {type(doc).__name__}")
    return doc


def device_from_topic(topic: str, level: int) -> str:
    """The device code at `level` of the topic, checked against the asset register's code rule."""
    code = topic.split("/")[level]
    if not DEVICE_CODE_RE.match(code):
        raise PayloadError(
            f"topic: {code!r} is not a device code (1-64 letters, digits, '.', '_' or '-'); "
            "set the device's MQTT topic to its code in the asset register"
        )
    return code


def number(value: object, field: str) -> float:
    """A JSON number as a finite float; anything else (a string, null, true, NaN) names the field."""
    # bool is an int subclass, and JSON true must not become 1.0 kW.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{field}: expected a number, got {shown(value)}")
    result = float(value)
    if not math.isfinite(result):
        raise PayloadError(f"{field}: expected a finite number, got {shown(value)}")
    return result


def number_or_sum(value: object, field: str) -> float:
    """A number, or the sum of a list of numbers (multi-channel devices report one value per channel)."""
    if isinstance(value, list):
        if not value:
            raise PayloadError(f"{field}: expected a number or a list of numbers, got []")
        return sum(number(item, f"{field}[{i}]") for i, item in enumerate(value))
    return number(value, field)


def plausible(ts: datetime, field: str, raw: object) -> datetime:
    """The time, refused (quoting the device's `raw` value) when it shows the device clock was never set."""
    if ts < EARLIEST_PLAUSIBLE:
        raise PayloadError(
            f"{field}: {shown(raw)} is before {EARLIEST_PLAUSIBLE.year}; the device clock is not set "
            "(check its NTP settings)"
        )
    return ts


class Collected:
    """Readings of one message under construction: quantity -> (value, field it came from)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[str, tuple[float, str]] = {}

    def add(self, quantity: str, value: float, field: str) -> None:
        """Record a value; two fields giving the same quantity is ambiguous and refused, naming both."""
        previous = self.values.get(quantity)
        if previous is not None:
            raise PayloadError(
                f"{field}: {quantity} is also given by {previous[1]}; one device code stands for one "
                "sensor or meter, so the collector will not guess which to keep"
            )
        self.values[quantity] = (value, field)

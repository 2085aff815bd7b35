"""InfluxDB line protocol encoding: measurement = quantity, tags = asset, one field `value`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from cityhall.contract import Reading

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ "})
_TAG = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\="})


def epoch_ns(ts: datetime) -> int:
    """Nanoseconds since the epoch, exact for microsecond datetimes (no float rounding)."""
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def tag_string(device: str, tags: Mapping[str, str]) -> str:
    """The escaped, sorted tag set of one device, `device` included."""
    parts = [f"device={device.translate(_TAG)}"]
    parts += [f"{key.translate(_TAG)}={value.translate(_TAG)}" for key, value in tags.items() if value]
    return ",".join(sorted(parts))


def encode(readings: Sequence[Reading], tags: Mapping[str, Mapping[str, str]]) -> bytes:
    """Encode readings as line protocol, one line each, tags sorted as InfluxDB prefers."""
    # A batch holds many readings of few devices and quantities, and the readings of one message share one
    # timestamp object: escape each device's tags and each quantity once, convert each instant once (the
    # collector's hot path, bench/hotpath.py).
    tag_sets: dict[str, str] = {}
    measurements: dict[str, str] = {}
    last_ts: datetime | None = None
    stamp = 0
    lines = []
    for r in readings:
        tag_set = tag_sets.get(r.device)
        if tag_set is None:
            tag_set = tag_sets[r.device] = tag_string(r.device, tags.get(r.device, {}))
        measurement = measurements.get(r.quantity)
        if measurement is None:
            measurement = measurements[r.quantity] = r.quantity.translate(_MEASUREMENT)
        if r.ts is not last_ts:
            last_ts, stamp = r.ts, epoch_ns(r.ts)
        lines.append(f"{measurement},{tag_set} value={float(r.value)!r} {stamp}")
    return ("\n".join(lines) + "\n").encode()

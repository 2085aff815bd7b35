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


def encode(readings: Sequence[Reading], tags: Mapping[str, Mapping[str, str]]) -> bytes:
    """Encode readings as line protocol, one line each, tags sorted as InfluxDB prefers."""
    lines = []
    for r in readings:
        tag_parts = [f"device={r.device.translate(_TAG)}"]
        for key, value in sorted(tags.get(r.device, {}).items()):
            if value:
                tag_parts.append(f"{key.translate(_TAG)}={value.translate(_TAG)}")
        tag_parts.sort()
        measurement = r.quantity.translate(_MEASUREMENT)
        lines.append(f"{measurement},{','.join(tag_parts)} value={float(r.value)!r} {epoch_ns(r.ts)}")
    return ("\n".join(lines) + "\n").encode()

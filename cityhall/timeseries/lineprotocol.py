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
    # A batch holds many readings of few devices: escape each device's tags once (the profile's hot spot).
    tag_sets: dict[str, str] = {}
    lines = []
    for r in readings:
        tag_set = tag_sets.get(r.device)
        if tag_set is None:
            tag_set = tag_sets[r.device] = tag_string(r.device, tags.get(r.device, {}))
        lines.append(
            f"{r.quantity.translate(_MEASUREMENT)},{tag_set} value={float(r.value)!r} {epoch_ns(r.ts)}"
        )
    return ("\n".join(lines) + "\n").encode()

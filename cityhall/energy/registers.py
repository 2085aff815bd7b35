"""Consumption from a cumulative register: never negative, never doubled, every anomaly accounted for.

A register (kWh, m3) only counts up. Three things break that in the field, and each is handled here:
- a spike: one reading off the curve (a bad frame, a glitch) that the next reading contradicts; it is dropped,
  so the interval around it is counted once, from the readings on either side;
- a reset, rollover or meter replacement: the register falls and counts on from about zero; the new register's
  reading is what was used since, so that is counted, unless it is implausibly large for this meter (a
  replacement that started at an unknown reading), in which case nothing is counted and the event says so;
- a gap (meter offline): the register kept counting, so the jump when it returns is the gap's consumption.
Each interval's consumption belongs to the reading that ends it (the bucket of its end time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from statistics import median

# A new register may have counted for a while before its first reading; up to this many of the meter's typical
# (median) steps is believable, more means it did not start near zero. The median ignores a spike's step.
RESET_PLAUSIBLE_STEPS = 10.0

Point = tuple[datetime, float]


class RegisterEventKind(StrEnum):
    """What an anomaly in a register was taken to be."""

    SPIKE = "spike"
    RESET = "reset"
    UNEXPLAINED_DROP = "unexplained_drop"


@dataclass(frozen=True, slots=True)
class RegisterEvent:
    """One anomaly found in a register, with what was counted for it (in the register's unit)."""

    device: str
    ts: datetime
    kind: RegisterEventKind
    before: float
    after: float
    counted: float


def _is_spike(prev: float, cur: float, nxt: float | None) -> bool:
    """True when `cur` leaves the curve and `nxt` returns to it (up or down)."""
    if nxt is None:
        return False
    return cur > nxt >= prev or cur < prev <= nxt


def increments(device: str, points: Sequence[Point]) -> tuple[list[Point], list[RegisterEvent]]:
    """Consumption of each interval between kept readings, stamped at its end; plus the anomalies found."""
    if len(points) < 2:
        return [], []
    steps = [b - a for (_, a), (_, b) in pairwise(points) if b > a]
    cap = RESET_PLAUSIBLE_STEPS * median(steps) if steps else 0.0
    out: list[Point] = []
    events: list[RegisterEvent] = []
    _, prev = points[0]
    for i in range(1, len(points)):
        ts, cur = points[i]
        nxt = points[i + 1][1] if i + 1 < len(points) else None
        if _is_spike(prev, cur, nxt):
            events.append(RegisterEvent(device, ts, RegisterEventKind.SPIKE, prev, cur, 0.0))
            continue
        if cur >= prev:
            out.append((ts, cur - prev))
        elif cur <= cap:
            out.append((ts, cur))
            events.append(RegisterEvent(device, ts, RegisterEventKind.RESET, prev, cur, cur))
        else:
            out.append((ts, 0.0))
            events.append(RegisterEvent(device, ts, RegisterEventKind.UNEXPLAINED_DROP, prev, cur, 0.0))
        prev = cur
    return out, events

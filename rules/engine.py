"""Pure rule evaluation: `evaluate(rule, window) -> Finding`, no I/O, so every rule kind is unit-testable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cityhall.contract import QUANTITIES
from cityhall.models import Severity

Window = Sequence[tuple[datetime, float]]  # (UTC time, value), oldest first


class Status(StrEnum):
    """What a window says about a rule on one device."""

    BREACH = "breach"  # the condition has held for at least the rule's minimum duration
    PENDING = "pending"  # the condition holds, but not yet long enough
    NORMAL = "normal"  # the latest reading is within limits


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """Alarm when a quantity stays above `above` (or below `below`) for at least `for_s` seconds."""

    key: str
    name: str
    quantity: str
    severity: Severity
    for_s: float
    above: float | None = None
    below: float | None = None

    def breaches(self, value: float) -> bool:
        """True when one value is outside the limits."""
        return (self.above is not None and value > self.above) or (
            self.below is not None and value < self.below
        )

    @property
    def threshold(self) -> float:
        """The limit that is crossed (upper if both are set)."""
        limit = self.above if self.above is not None else self.below
        assert limit is not None  # noqa: S101 - guaranteed by the definition's validation
        return limit

    def describe(self, value: float, since: datetime) -> str:
        """A sentence for the alarm and ticket, with units and the time in the operator's zone."""
        unit = QUANTITIES[self.quantity].unit
        side = "above" if self.above is not None and value > self.above else "below"
        return (
            f"{self.quantity} = {value:g} {unit}, {side} the limit of {self.threshold:g} {unit} "
            f"for at least {self.for_s:g} s (since {since.isoformat(timespec='seconds')})"
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of evaluating a rule over one device's window."""

    status: Status
    since: datetime  # when the current run of breaching (or normal) readings began
    value: float  # worst value in a breaching run, else the latest value
    latest: datetime


def evaluate(rule: ThresholdRule, window: Window) -> Finding | None:
    """Evaluate a threshold rule over a window; None when there are no readings to judge."""
    if not window:
        return None
    breaching = rule.breaches(window[-1][1])
    start = len(window) - 1
    while start > 0 and rule.breaches(window[start - 1][1]) == breaching:
        start -= 1
    run = window[start:]
    since, latest = run[0][0], run[-1][0]
    if not breaching:
        return Finding(Status.NORMAL, since, run[-1][1], latest)
    worst = max(v for _, v in run) if rule.above is not None else min(v for _, v in run)
    held = latest - since >= timedelta(seconds=rule.for_s)
    return Finding(Status.BREACH if held else Status.PENDING, since, worst, latest)

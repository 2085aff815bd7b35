"""Pure rule evaluation: `evaluate(rule, window) -> Finding`, no I/O, so every rule kind is unit-testable.

Every rule kind (here and in `rules.kinds`) answers the same question for one device at one moment: given the
device's window of readings (and, for kinds that compare with another device in the same space, that
device's window), is the condition breached, pending, recovering or normal?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import ClassVar, Protocol

from cityhall.contract import QUANTITIES
from cityhall.models import Severity
from cityhall.reporting import Reporting

Window = Sequence[tuple[datetime, float]]  # (UTC time, value), oldest first
NATIVE_PERIODIC = Reporting()  # a device the register says nothing of: periodic, interval learnt, continuous


class Status(StrEnum):
    """What a window says about a rule on one device."""

    BREACH = "breach"  # the condition has held for at least the rule's minimum duration
    PENDING = "pending"  # the condition holds, but not yet long enough
    RECOVERING = "recovering"  # the condition no longer holds, but not yet normal for long enough to clear
    NORMAL = "normal"  # normal for at least the rule's clear duration: an active alarm clears


class Sample(IntEnum):
    """How one reading looks to a rule."""

    OK = 0  # clearly normal
    GREY = 1  # inside the hysteresis deadband: neither breaching nor clearly normal
    BAD = 2  # breaching
    SKIP = 3  # not judged (e.g. outside the rule's time window); carries the previous state


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of evaluating a rule over one device's window."""

    status: Status
    since: datetime  # when the current run of breaching (or normal) readings began
    value: float  # worst value in a breaching run, else the latest value
    latest: datetime
    detail: str = field(default="", compare=False)  # a sentence for the alarm, when the rule has one


@dataclass(frozen=True, slots=True)
class Subject:
    """A device as rules see it: what and where it is, from the asset register."""

    code: str
    kind: str
    building: str
    space: str
    space_kind: str
    serves: str
    quantities: tuple[str, ...]
    # How the device reports (the register's word over its kind's and family's defaults): the offline and
    # flat-line rules read it (issue 15).
    reporting: Reporting = field(default=NATIVE_PERIODIC)


class Rule(Protocol):
    """What the runner needs from every rule kind."""

    # True when time alone can change a finding (no new reading needed): judged every cycle.
    time_driven: ClassVar[bool]
    # True when a device's peers are the devices of its building, not of its space (a drift rule).
    peers_in_building: ClassVar[bool]

    @property
    def key(self) -> str:
        """The rule's unique key."""

    @property
    def name(self) -> str:
        """Shown on the alarm and ticket."""

    @property
    def severity(self) -> Severity:
        """The alarm's severity."""

    @property
    def lookback(self) -> timedelta:
        """How much history one evaluation needs."""

    @property
    def threshold(self) -> float:
        """The limit shown on the alarm, in the unit of the rule's quantity."""

    def quantity_for(self, subject: Subject) -> str | None:
        """The quantity this rule reads from a device, or None when the device cannot be judged."""

    def peer_of(self, subject: Subject, candidate: Subject) -> str | None:
        """The quantity to read from `candidate` when it is a peer of `subject` (same space), else None."""

    def companions(self, subject: Subject) -> tuple[str, ...]:
        """Other quantities of the device itself that the rule reads beside its own, as peers."""

    def specialise(self, subject: Subject) -> Rule:
        """The rule as it applies to this device (its reporting laid in), or the rule itself."""

    def judge(self, window: Window, *, now: datetime, peers: Sequence[Window] = ()) -> Finding | None:
        """Evaluate one device's window (and its peers'); None when there is nothing to judge."""

    def explain(self, finding: Finding) -> str:
        """A sentence for the alarm and the ticket, with units."""


def held(
    samples: Sequence[tuple[datetime, float, Sample]], *, for_s: float, clear_for_s: float, above: bool = True
) -> Finding | None:
    """The status of the latest run of judged samples, with minimum duration and hysteresis.

    BREACH when the latest run of BAD samples spans at least `for_s`; NORMAL when the latest run of OK
    samples spans at least `clear_for_s`; PENDING while a shorter BAD run holds; RECOVERING in between.
    """
    judged = [s for s in samples if s[2] is not Sample.SKIP]
    if not judged:
        return None
    last_ts, last_value, state = judged[-1]
    start = len(judged) - 1
    while start > 0 and judged[start - 1][2] is state:
        start -= 1
    run = judged[start:]
    since = run[0][0]
    span = last_ts - since
    if state is Sample.BAD:
        worst = max(v for _, v, _ in run) if above else min(v for _, v, _ in run)
        status = Status.BREACH if span >= timedelta(seconds=for_s) else Status.PENDING
        return Finding(status, since, worst, last_ts)
    if state is Sample.OK and span >= timedelta(seconds=clear_for_s):
        return Finding(Status.NORMAL, since, last_value, last_ts)
    return Finding(Status.RECOVERING, since, last_value, last_ts)


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """Alarm when a quantity stays above `above` (or below `below`) for at least `for_s` seconds.

    Hysteresis: the alarm clears once readings have been back within `clear_above`/`clear_below` (the
    deadband, default the limits themselves) for at least `clear_for_s` seconds.
    """

    time_driven: ClassVar[bool] = False
    peers_in_building: ClassVar[bool] = False

    key: str
    name: str
    quantity: str
    severity: Severity
    for_s: float
    above: float | None = None
    below: float | None = None
    clear_for_s: float = 0.0
    clear_below: float | None = None  # with `above`: normal only at or below this (default `above`)
    clear_above: float | None = None  # with `below`: normal only at or above this (default `below`)

    def breaches(self, value: float) -> bool:
        """True when one value is outside the limits."""
        return (self.above is not None and value > self.above) or (
            self.below is not None and value < self.below
        )

    def sample(self, value: float) -> Sample:
        """BAD outside the limits, GREY in the deadband, OK otherwise."""
        if self.breaches(value):
            return Sample.BAD
        high = self.above is not None and self.clear_below is not None and value > self.clear_below
        low = self.below is not None and self.clear_above is not None and value < self.clear_above
        return Sample.GREY if high or low else Sample.OK

    @property
    def threshold(self) -> float:
        """The limit that is crossed (upper if both are set)."""
        limit = self.above if self.above is not None else self.below
        assert limit is not None  # noqa: S101 - guaranteed by the definition's validation
        return limit

    @property
    def lookback(self) -> timedelta:
        """Enough history for the breach and the clear durations, with a margin of a few readings."""
        return timedelta(seconds=max(self.for_s, self.clear_for_s) * 2 + 1800)

    def quantity_for(self, subject: Subject) -> str | None:
        """The rule's quantity, when the device measures it."""
        return self.quantity if self.quantity in subject.quantities else None

    def peer_of(self, subject: Subject, candidate: Subject) -> str | None:
        """Threshold rules have no peers."""
        return None

    def companions(self, subject: Subject) -> tuple[str, ...]:
        """Threshold rules read one quantity."""
        return ()

    def specialise(self, subject: Subject) -> ThresholdRule:
        """A limit is the same for every device."""
        return self

    def judge(self, window: Window, *, now: datetime, peers: Sequence[Window] = ()) -> Finding | None:
        """Evaluate a window (the Rule protocol's entry point)."""
        return evaluate(self, window)

    def describe(self, value: float, since: datetime) -> str:
        """A sentence for the alarm and ticket, with units and the time in the operator's zone."""
        unit = QUANTITIES[self.quantity].unit
        side = "above" if self.above is not None and value > self.above else "below"
        return (
            f"{self.quantity} = {value:g} {unit}, {side} the limit of {self.threshold:g} {unit} "
            f"for at least {self.for_s:g} s (since {since.isoformat(timespec='seconds')})"
        )

    def explain(self, finding: Finding) -> str:
        """The alarm sentence for a finding."""
        return self.describe(finding.value, finding.since)


def evaluate(rule: ThresholdRule, window: Window) -> Finding | None:
    """Evaluate a threshold rule over a window; None when there are no readings to judge."""
    return held(
        [(ts, value, rule.sample(value)) for ts, value in window],
        for_s=rule.for_s,
        clear_for_s=rule.clear_for_s,
        above=not (rule.above is None and rule.below is not None),
    )

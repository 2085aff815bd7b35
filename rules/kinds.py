"""Rule kinds beyond the plain threshold; each is a pure evaluation over windows of readings (no I/O)."""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import ClassVar, Protocol, Self

import numpy as np

from cityhall.contract import QUANTITIES
from cityhall.models import Severity
from cityhall.reporting import FlowSemantics, ReportingMode
from rules.engine import Finding, Sample, Status, Subject, Window, held
from rules.schedule import TAIPEI, Schedule, is_working_day
from rules.summary import CELL, CELL_US, ONE_US, Cells, Floats, Stats, Summary, at, ceil_cell, floor_cell, us

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
UNIT_KIND = "air_conditioner"
UNIT_STATE = "on_state"  # an air-conditioner's quantity: 1 while it runs

_INF = math.inf  # sorts after any value: bisect by time on (time, value) pairs


def _unit(quantity: str) -> str:
    return QUANTITIES[quantity].unit


def _space_unit(subject: Subject, candidate: Subject) -> str | None:
    """`UNIT_STATE` when `candidate` is an air-conditioner of `subject`'s own space that reports it."""
    same = candidate.space == subject.space and candidate.kind == UNIT_KIND
    return UNIT_STATE if same and UNIT_STATE in candidate.quantities else None


def _value_at(window: Window, ts: datetime, max_age: timedelta) -> float | None:
    """The latest reading at or before `ts`, if it is not older than `max_age`."""
    i = bisect.bisect_right(window, (ts, _INF)) - 1
    if i < 0 or ts - window[i][0] > max_age:
        return None
    return window[i][1]


def _held_marked(
    window: Window, bad: Sequence[int], *, for_s: float, clear_for_s: float, above: bool
) -> Finding | None:
    """`rules.engine.held` for a window whose readings are all judged, BAD at the indices in `bad`
    (ascending) and OK elsewhere, without a sample per reading: only the latest run is looked at."""
    if not window:
        return None
    last_ts, last_value = window[-1]
    if bad and bad[-1] == len(window) - 1:
        j = len(bad) - 1
        while j > 0 and bad[j - 1] == bad[j] - 1:
            j -= 1
        since = window[bad[j]][0]
        run = [window[i][1] for i in bad[j:]]
        status = Status.BREACH if last_ts - since >= timedelta(seconds=for_s) else Status.PENDING
        return Finding(status, since, max(run) if above else min(run), last_ts)
    since = window[bad[-1] + 1 if bad else 0][0]
    normal = last_ts - since >= timedelta(seconds=clear_for_s)
    return Finding(Status.NORMAL if normal else Status.RECOVERING, since, last_value, last_ts)


def _held_spans(
    window: Window,
    spans: Sequence[tuple[int, int, Callable[[float], bool]]],
    *,
    for_s: float,
    clear_for_s: float,
    above: bool,
) -> Finding | None:
    """`rules.engine.held` when only the readings in `spans` are judged: (lo, hi, bad) ranges of the window,
    oldest first, each with its test for BAD (OK otherwise). Read from the newest reading back to the start
    of the latest run, without a sample per reading."""
    if not spans:
        return None
    last_ts, last_value = window[spans[-1][1] - 1]
    state = spans[-1][2](last_value)
    first, worst = spans[-1][1] - 1, last_value
    for lo, hi, bad in reversed(spans):
        i = hi - 1
        while i >= lo and bad(window[i][1]) is state:
            worst = (max if above else min)(worst, window[i][1])
            i -= 1
        if i + 1 < hi:
            first = i + 1
        if i >= lo:
            break
    since = window[first][0]
    span = last_ts - since
    if state:
        status = Status.BREACH if span >= timedelta(seconds=for_s) else Status.PENDING
        return Finding(status, since, worst, last_ts)
    normal = span >= timedelta(seconds=clear_for_s)
    return Finding(Status.NORMAL if normal else Status.RECOVERING, since, last_value, last_ts)


@dataclass(frozen=True, slots=True)
class _Base:
    """Fields and defaults every kind shares."""

    time_driven: ClassVar[bool] = False
    # Where a device's peers are looked for: its space, or (kinds comparing neighbours) its building.
    peers_in_building: ClassVar[bool] = False

    key: str
    name: str
    severity: Severity
    quantity: str
    for_s: float = 0.0
    clear_for_s: float = 0.0

    def quantity_for(self, subject: Subject) -> str | None:
        """The rule's quantity, when the device measures it."""
        return self.quantity if self.quantity in subject.quantities else None

    def peer_of(self, subject: Subject, candidate: Subject) -> str | None:
        """No peers unless the kind says otherwise."""
        return None

    def companions(self, subject: Subject) -> tuple[str, ...]:
        """No other quantities of the device unless the kind says otherwise."""
        return ()

    def specialise(self, subject: Subject) -> Self:
        """The same rule for every device unless the kind reads the device's reporting."""
        return self

    def _held(self, samples: list[tuple[datetime, float, Sample]], *, above: bool = True) -> Finding | None:
        return held(samples, for_s=self.for_s, clear_for_s=self.clear_for_s, above=above)


@dataclass(frozen=True, slots=True)
class AfterHoursRule(_Base):
    """Consumption outside the building's schedule above `above_pct` % of its mean in-schedule consumption.

    The baseline is the mean of the in-schedule readings over `baseline_s`; readings inside the schedule
    count as normal, so the alarm clears when the building's day starts.
    """

    schedule: Schedule | None = None
    above_pct: float = 50.0
    min_value: float = 0.0  # never flag below this, e.g. when the baseline is ~0
    baseline_s: float = 7 * 86400
    timers: Schedule | None = None  # declared timers: out-of-hours periods whose load is expected

    def allowed(self, ts: datetime) -> bool:
        """True inside the schedule or a declared timer: such a reading is never out of hours."""
        if self.schedule is not None and self.schedule.contains(ts):
            return True
        return self.timers is not None and self.timers.contains(ts)

    @property
    def lookback(self) -> timedelta:
        """The baseline period."""
        return timedelta(seconds=self.baseline_s)

    @property
    def threshold(self) -> float:
        """The limit, as a percentage of the in-schedule mean."""
        return self.above_pct

    def raw_from(self, now: datetime) -> datetime:
        """Readings from here on are judged one by one (twice the longer duration, and 6 hours for the
        start of the latest run); before it, the in-schedule mean reads quarter-hour summaries."""
        return floor_cell(now - timedelta(seconds=max(self.for_s, self.clear_for_s) * 2) - 6 * HOUR)

    def limit(self, summary: Summary, now: datetime) -> float | None:
        """The out-of-schedule limit: `above_pct` % of the mean of the in-schedule readings in the baseline
        period (from its first whole quarter hour), at least `min_value`; None with no in-schedule reading."""
        if self.schedule is None:
            return None
        contains = self.schedule.contains
        first = us(ceil_cell(now - self.lookback))
        n, totals = summary.select(first, us(now) + 1, self.schedule, lambda start: contains(at(start)))
        # The mean of the readings: the cells' totals added exactly (fsum), as `Stats.combine` does.
        return max(self.min_value, math.fsum(totals) / n * self.above_pct / 100) if n else None

    def judge(
        self, window: Window, *, now: datetime, peers: Sequence[Window] = (), sealed: Cells | None = None
    ) -> Finding | None:
        """Flag out-of-schedule readings above the share of the in-schedule mean."""
        limit = self.limit(Summary(window, sealed), now)
        if limit is None or self.schedule is None:
            return None
        allowed = self.allowed
        samples = [
            (ts, v, Sample.OK if v <= limit or allowed(ts) else Sample.BAD)
            for ts, v in window[bisect.bisect_left(window, (self.raw_from(now),)) :]
        ]
        finding = self._held(samples)
        if finding is None or finding.status is not Status.BREACH:
            return finding
        detail = self.detail(finding, limit)
        return Finding(finding.status, finding.since, finding.value, finding.latest, detail)

    def detail(self, finding: Finding, limit: float) -> str:
        """The alarm sentence for a breach under `limit`."""
        name = self.schedule.name if self.schedule is not None else ""
        return (
            f"{self.quantity} = {finding.value:g} {_unit(self.quantity)} outside schedule "
            f"{name}, above {self.above_pct:g} % of the in-schedule mean ({limit:g})"
        )

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return finding.detail or f"{self.quantity} = {finding.value:g} outside schedule"


@dataclass(frozen=True, slots=True)
class BaselineRule(_Base):
    """Deviation from the same hour in past weeks: outside mean +- `k_sigma` sigma and +- `pct` % of the mean.

    `profile` picks the comparable hours: `hour_of_week` (same weekday and hour) or `day_type` (same hour
    on days of the same type: working days vs weekends and Taiwan holidays, so holidays compare fairly).
    """

    weeks: int = 3
    profile: str = "day_type"
    k_sigma: float = 3.0
    pct: float = 20.0
    min_delta: float = 0.0  # ignore deviations smaller than this, in the quantity's unit
    min_history: int = 3  # comparable readings needed before judging
    direction: str = "above"  # above | below | both

    @property
    def lookback(self) -> timedelta:
        """`weeks` of history."""
        return timedelta(weeks=self.weeks)

    @property
    def threshold(self) -> float:
        """The percentage limit."""
        return self.pct

    def raw_from(self, now: datetime) -> datetime:
        """Readings from here on are judged one by one (the longer duration and an hour); the history they
        are compared with reads quarter-hour summaries."""
        return floor_cell(now - timedelta(seconds=max(self.for_s, self.clear_for_s)) - HOUR)

    def _usual(self, summary: Summary, hour_start: datetime, first_us: int) -> tuple[float, float] | None:
        """The mean of the readings in the local hour that starts at `hour_start` (Taipei) on comparable past
        days (same weekday, or same day type), from `first_us` on, and the band around it; None with too
        little history."""
        by_week = self.profile == "hour_of_week"
        working = is_working_day(hour_start.date())
        parts: list[Stats] = []
        for back in range(self.weeks * 7, 0, -1):  # oldest first, as the cells are combined
            if by_week and back % 7:
                continue
            start = hour_start - timedelta(days=back)
            if not by_week and is_working_day(start.date()) != working:
                continue
            begin = us(start)
            parts.extend(stats for _, stats in summary.cells(max(begin, first_us), us(start + HOUR)))
        past = Stats.combine(parts)
        if past is None or past.n < self.min_history:
            return None
        sigma = math.sqrt(past.m2 / past.n)
        return past.mean, max(self.k_sigma * sigma, abs(past.mean) * self.pct / 100, self.min_delta)

    def judge(
        self, window: Window, *, now: datetime, peers: Sequence[Window] = (), sealed: Cells | None = None
    ) -> Finding | None:
        """Compare recent readings (from `raw_from`) with their comparable history.

        Every reading of one local hour has the same history, so its mean and band are computed once per
        hour, not once per reading, and the hours are read from the newest reading back to the start of the
        latest run (`_held_spans`): no sample per reading.
        """
        summary = Summary(window, sealed)
        first_us = us(ceil_cell(now - self.lookback))
        spans: list[tuple[int, int, Callable[[float], bool]]] = []
        lo = bisect.bisect_left(window, (self.raw_from(now),))
        while lo < len(window):
            hour_start = window[lo][0].astimezone(TAIPEI).replace(minute=0, second=0, microsecond=0)
            # Taipei keeps one offset all year: a local hour is one span of an hour in UTC.
            hi = bisect.bisect_left(window, ((hour_start + HOUR).astimezone(UTC),), lo)
            usual = self._usual(summary, hour_start, first_us)
            if usual is not None:
                spans.append((lo, hi, self._outside(*usual)))
            lo = hi
        return _held_spans(
            window, spans, for_s=self.for_s, clear_for_s=self.clear_for_s, above=self.direction != "below"
        )

    def _outside(self, mean: float, band: float) -> Callable[[float], bool]:
        """The test for a reading outside the band around the mean, in the rule's direction."""
        high, low = mean + band, mean - band
        if self.direction == "above":
            return lambda v: v > high
        if self.direction == "below":
            return lambda v: v < low
        return lambda v: v > high or v < low

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return (
            f"{self.quantity} = {finding.value:g} {_unit(self.quantity)}, outside its usual range for this "
            f"hour (over {self.weeks} weeks) since {finding.since.isoformat(timespec='minutes')}"
        )


def _above(limit: float) -> Callable[[float], bool]:
    """The test for a value above `limit`."""
    return lambda value: value > limit


@dataclass(frozen=True, slots=True)
class LeakRule(_Base):
    """Water keeps flowing through the night, above what the night usually draws.

    Night readings are judged against their local quarter hour's usual flow: the mean of that quarter hour
    on the last `nights` nights (each night's quarter-hour mean, from the summaries) plus a band of
    `k_sigma` times their spread, `pct` % of the usual and at least `zero_below`. A leak adds a steady flow
    to every reading; the toilets and taps of an occupied building come and go, so between them a flow
    meter reads (near) zero, and a night busier than usual stays inside the band. With fewer than
    `min_nights` nights known for a quarter hour, the limit is `zero_below`.

    A breach needs the run of flowing readings to last `for_s` and, from a meter that reports the flow of
    the moment, to hold `samples` readings: three readings 15 minutes apart, each with a flush under way,
    are no evidence of a leak (issue 15). A meter whose readings are interval means (its reporting's
    `flow`) has each reading stand for its whole interval, so the duration alone decides.
    Readings outside the night window are not judged: an alarm raised at night stays until a night reading
    is back under its limit.
    """

    night_from: time = time(0)
    night_to: time = time(6)
    zero_below: float = 0.01
    lookback_s: float = 86400
    samples: int = 24
    nights: int = 7
    min_nights: int = 3
    k_sigma: float = 3.0
    pct: float = 50.0
    chance: float = 1e-3  # how unlikely a run of flushes must be to call it a leak (`flushes_chance`)
    interval_mean: bool = False  # from the device's reporting (`specialise`)
    register: str | None = None  # the meter's volume register, read instead of its flow where it has one
    from_register: bool = False  # (`specialise`)

    @property
    def lookback(self) -> timedelta:
        """The nights the usual flow is learnt from, and today."""
        return timedelta(seconds=max(self.lookback_s, (self.nights + 1) * 86400))

    @property
    def threshold(self) -> float:
        """The flow regarded as zero."""
        return self.zero_below

    def raw_from(self, now: datetime) -> datetime:
        """Readings from here on are judged one by one (the longer duration and six hours: a night's run
        of flowing readings, as long as `flushes_chance` asks); the nights before are read from quarter-hour
        summaries."""
        return floor_cell(now - timedelta(seconds=max(self.for_s, self.clear_for_s)) - 6 * HOUR)

    def _has_register(self, subject: Subject) -> bool:
        return self.register is not None and self.register in subject.quantities

    def quantity_for(self, subject: Subject) -> str | None:
        """The meter's volume register where it has one (`register`), else its flow."""
        return self.register if self._has_register(subject) else _Base.quantity_for(self, subject)

    def specialise(self, subject: Subject) -> Self:
        """The rule for a meter read by its register, or whose flow readings are interval means."""
        if self._has_register(subject):
            return replace(self, from_register=True, interval_mean=True)
        if subject.reporting.flow is FlowSemantics.INTERVAL_MEAN:
            return replace(self, interval_mean=True)
        return self

    def _nights(self, window: Window, lo: int = 0) -> list[tuple[int, int]]:
        """The index ranges [lo, hi) of the window's night readings from `lo`, oldest first."""
        if lo >= len(window):
            return []
        if self.night_from <= self.night_to:
            periods = [(self.night_from, self.night_to, 0)]
        else:  # across midnight: the early hours of each day, then its evening up to the next midnight
            periods = [(time(0), self.night_to, 0), (self.night_from, time(0), 1)]
        day, last = window[lo][0].astimezone(TAIPEI).date(), window[-1][0].astimezone(TAIPEI).date()
        out = []
        while day <= last:
            for start, end, next_day in periods:
                begin = datetime.combine(day, start, TAIPEI).astimezone(UTC)
                first = max(lo, bisect.bisect_left(window, (begin,)))
                end_at = datetime.combine(day + timedelta(days=next_day), end, TAIPEI).astimezone(UTC)
                hi = bisect.bisect_left(window, (end_at,))
                if hi > first:
                    out.append((first, hi))
            day += timedelta(days=1)
        return out

    def limit(self, summary: CellSource, cell_start: datetime, first_us: int) -> tuple[float, float | None]:
        """The flow above which a reading in the quarter hour starting at `cell_start` is flowing, and how
        often that quarter hour flowed on the last nights (the share of them whose mean was above the
        limit; None when too few nights are known).

        The limit is the nights' floor there (that quarter hour and the hour either side of it on each
        night): the **lower quartile** of their quarter-hour means, plus the larger of `zero_below` and
        `pct` % of it. A leak adds its flow to every reading, so it lifts the floor; flushes come and go
        above it. Between flushes a meter of the flow of the moment reads zero, so for an occupied
        dormitory the floor is zero and a leak crosses the limit all night, as does a flush now and then
        (`flushes_chance` tells them apart). A meter of interval means holds the night's flushes in every
        mean, so its limit is also at least `k_sigma` times their spread above the floor (the interquartile
        range over 1.349, a standard deviation that a busy night does not widen)."""
        means: list[float] = []
        nights = 0
        for back in range(self.nights, 0, -1):  # oldest first
            at_night = us(cell_start - timedelta(days=back))
            if at_night < first_us:
                continue
            # The hour either side of it: seven nights of one quarter hour are too few to tell a busy one
            # from the usual, and the flushes of a night come and go alike from hour to hour.
            cells = summary.cells(max(first_us, at_night - 4 * CELL_US), at_night + 5 * CELL_US)
            nights += any(start == at_night for start, _ in cells)
            means.extend(stats.mean for _, stats in cells)
        if nights < self.min_nights:
            return self.zero_below, None
        low, _, high = statistics.quantiles(means, n=4) if len(means) > 1 else (means[0],) * 3
        limit = low + max(abs(low) * self.pct / 100, self.zero_below)
        if self.interval_mean:  # every mean holds the night's flushes: their spread is the band
            limit = max(limit, low + self.k_sigma * (high - low) / 1.349)
        return limit, sum(m > limit for m in means) / len(means)

    def _spans(
        self, window: Window, nights: Sequence[tuple[int, int]], source: CellSource, first_us: int
    ) -> tuple[list[tuple[int, int, Callable[[float], bool]]], list[float | None]]:
        """The night readings (`nights`: index ranges of the window) in one span per quarter hour, each with
        its limit's test (`limit`), and how often that quarter hour flowed on the last nights."""
        spans: list[tuple[int, int, Callable[[float], bool]]] = []
        shares: list[float | None] = []
        for night_lo, hi in nights:
            lo = night_lo
            while lo < hi:
                cell_start = floor_cell(window[lo][0])
                end = min(hi, bisect.bisect_left(window, (cell_start + CELL,), lo))
                limit, share = self.limit(source, cell_start, first_us)
                spans.append((lo, end, _above(limit)))
                shares.append(share)
                lo = end
        return spans, shares

    def flushes_chance(self, run: Sequence[tuple[int, float | None]]) -> float | None:
        """How likely a run of flowing readings of the flow of the moment is only flushes caught one after
        another: each reading (`run`: how many readings in a quarter hour, and how often that quarter hour
        flowed on the last nights) caught one with that share (with one night-cell more that flowed and one
        that did not, so a short or dry history proves little, not nothing), all multiplied. None when a
        quarter hour's nights are not known."""
        cells = self.nights * 9  # a quarter hour's share is of `nights` nights, nine quarter hours each
        log_chance = 0.0
        for count, share in run:
            if share is None:
                return None
            log_chance += count * math.log((share * cells + 1) / (cells + 2))
        return math.exp(log_chance)

    def judge(
        self, window: Window, *, now: datetime, peers: Sequence[Window] = (), sealed: Cells | None = None
    ) -> Finding | None:
        """Night readings from `raw_from` above their quarter hour's limit are BAD, under it OK; `held`
        over them, read from the newest back to the start of their latest run (`_held_spans`). A meter
        read by its register is judged on the flow its register shows (`_register_flows`)."""
        first_us = us(ceil_cell(now - self.lookback))
        nights = self._nights(window, bisect.bisect_left(window, (self.raw_from(now),)))
        if self.from_register:
            flows = _register_flows(window, nights)
            if not flows:
                return None  # no night reading to judge (by day, the register's history is not read)
            history = _RegisterFlows(Summary(window, sealed), first_us, us(floor_cell(now)))
            spans, _ = self._spans(flows, [(0, len(flows))], history, first_us)
            return _held_spans(flows, spans, for_s=self.for_s, clear_for_s=self.clear_for_s, above=False)
        spans, shares = self._spans(window, nights, Summary(window, sealed), first_us)
        finding = _held_spans(window, spans, for_s=self.for_s, clear_for_s=self.clear_for_s, above=False)
        if finding is None or finding.status is not Status.BREACH or self.interval_mean:
            return finding
        since = bisect.bisect_left(window, (finding.since,))
        run = [(hi - max(lo, since), p) for (lo, hi, _), p in zip(spans, shares, strict=True) if hi > since]
        # A flowing reading of the flow of the moment may be a flush under way: a run the nights' flushes
        # make less likely than `chance` is a leak (in dry quarter hours, two readings); with the nights not
        # yet known, `samples` readings.
        chance = self.flushes_chance(run)
        if (chance is None and sum(n for n, _ in run) >= self.samples) or (
            chance is not None and chance <= self.chance
        ):
            return finding
        return Finding(Status.PENDING, finding.since, finding.value, finding.latest)

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return (
            f"water has not stopped flowing at night since {finding.since.isoformat(timespec='minutes')} "
            f"(lowest {finding.value:g} m3/h, above the night's usual flow): leak?"
        )


class CellSource(Protocol):
    """Quarter-hour cells of a series: a device's summaries, or the flows of its register."""

    def cells(self, first_us: int, end_us: int) -> list[tuple[int, Stats]]:
        """(cell start, stats) of the cells in [first_us, end_us) that hold a value, oldest first."""
        ...


# A register's flow is read over about a quarter hour (a little less, for a meter reporting every 15
# minutes with some jitter), and not over a silence longer than this.
_FLOW_SPAN = 0.9 * CELL
_FLOW_GAP = 2 * HOUR


def _register_flows(window: Window, nights: Sequence[tuple[int, int]]) -> Window:
    """The flow a volume register shows at each night reading (`nights`: index ranges): what it gained since
    its latest reading at least `_FLOW_SPAN` earlier, per hour. A meter's register counts every litre
    that passed, so this flow holds every flush and every leak between two readings, however briefly
    the water ran; a register that went back (a meter replaced) or a silence over `_FLOW_GAP` gives none."""
    out: list[tuple[datetime, float]] = []
    for lo, hi in nights:
        for ts, value in window[lo:hi]:
            j = bisect.bisect_right(window, (ts - _FLOW_SPAN, _INF)) - 1
            if j < 0:
                continue
            before, was = window[j]
            if value >= was and ts - before <= _FLOW_GAP:
                out.append((ts, (value - was) / ((ts - before) / HOUR)))
    return out


class _RegisterFlows:
    """The flows of a register's quarter hours on the nights before (`CellSource`): from one quarter hour's
    mean reading to the next, per hour (a register's mean over a quarter hour is its reading at about the
    middle of it, for a meter that speaks every 5 seconds as for one that speaks every 15 minutes)."""

    __slots__ = ("flows", "starts")

    def __init__(self, summary: Summary, first_us: int, end_us: int) -> None:
        starts, means = summary.means(first_us, end_us)
        gaps = np.diff(starts)
        flows = np.diff(means) / (gaps / (HOUR // ONE_US)) if len(starts) > 1 else np.zeros(0)
        kept = (flows >= 0) & (gaps <= _FLOW_GAP // ONE_US)
        self.starts = starts[1:][kept]
        self.flows = flows[kept]

    def cells(self, first_us: int, end_us: int) -> list[tuple[int, Stats]]:
        """(cell start, the flow into it) of the quarter hours in [first_us, end_us), oldest first."""
        lo, hi = np.searchsorted(self.starts, [first_us, end_us], "left").tolist()
        return [
            (start, Stats(1, flow, 0.0))
            for start, flow in zip(self.starts[lo:hi].tolist(), self.flows[lo:hi].tolist(), strict=True)
        ]


# The gaps the offline rule learns a device's rhythm from: the latest ones, enough to hold a day's openings of
# a door and the heartbeats around them, few enough to follow a device whose interval was changed.
OFFLINE_GAPS = 64


def time_weighted_median_us(gaps_us: Sequence[int]) -> int:
    """The gap within which a device spends half its time: gaps sorted, the first whose running total
    reaches half of all. A burst of on-change messages is many short gaps but little time, so a contact
    that reports each opening and a heartbeat every 15 minutes has 15 minutes here, not seconds (issue 15).
    Integer microseconds, so the batch form finds exactly the same."""
    ordered = sorted(gaps_us)
    total, running = sum(ordered), 0
    for gap in ordered:
        running += gap
        if 2 * running >= total:
            return gap
    return ordered[-1]  # pragma: no cover - reached only for an empty list, which callers never pass


@dataclass(frozen=True, slots=True)
class OfflineRule(_Base):
    """No readings for `missed_intervals` reporting intervals plus `grace_s`.

    The interval is the longer of what the register declares (a period, or an on-change device's
    heartbeat) and what the device's latest gaps show (their time-weighted median): never shorter than a
    healthy device's silence, whatever bursts of messages came just before. With neither, a periodic
    device gets `default_interval_s` and an on-change one `on_change_default_s`.

    The runner groups the findings by building: when every watched device of a building is silent it
    raises one alarm for the building's gateway instead of one per device.
    """

    time_driven: ClassVar[bool] = True

    missed_intervals: float = 1.0
    grace_s: float = 60.0
    default_interval_s: float = 60.0
    on_change_default_s: float = 3600.0
    lookback_s: float = 6 * 3600
    declared_interval_s: float | None = None  # from the device's reporting (`specialise`)
    on_change: bool = False

    @property
    def lookback(self) -> timedelta:
        """Long enough to learn the reporting interval, and to hold two declared intervals."""
        return timedelta(seconds=max(self.lookback_s, 2 * (self.declared_interval_s or 0)))

    @property
    def threshold(self) -> float:
        """The number of missed intervals."""
        return self.missed_intervals

    def quantity_for(self, subject: Subject) -> str | None:
        """The device's first quantity: every message carries it."""
        return subject.quantities[0] if subject.quantities else None

    def specialise(self, subject: Subject) -> Self:
        """The rule with the device's declared interval and reporting mode."""
        reporting = subject.reporting
        on_change = reporting.mode is ReportingMode.ON_CHANGE
        if reporting.interval_s is None and not on_change:
            return self
        return replace(self, declared_interval_s=reporting.interval_s, on_change=on_change)

    @property
    def fallback_s(self) -> float:
        """The interval when nothing is declared and too little has been seen to learn one."""
        return self.on_change_default_s if self.on_change else self.default_interval_s

    @property
    def floor_s(self) -> float:
        """The least interval: the declared one; for a device that reports on change, its heartbeat, declared
        or assumed (`on_change_default_s`): the gaps between its messages say how busy its room was, not
        how often it must speak, so a quiet night after a busy evening is no outage (issue 15, class 2)."""
        if self.on_change:
            return self.declared_interval_s or self.on_change_default_s
        return self.declared_interval_s or 0.0

    def interval_s(self, window: Window) -> float:
        """The device's reporting interval: the floor (`floor_s`) or the learnt one, whichever is longer."""
        if len(window) < 3:
            return self.declared_interval_s or self.fallback_s
        recent = window[-OFFLINE_GAPS - 1 :]
        gaps = [us(b[0]) - us(a[0]) for a, b in itertools.pairwise(recent)]
        learnt = time_weighted_median_us(gaps) / 1e6
        return max(learnt, self.floor_s)

    def judge(self, window: Window, *, now: datetime, peers: Sequence[Window] = ()) -> Finding | None:
        """BREACH when the latest reading is older than allowed; None for a device never seen."""
        if not window:
            return None
        latest = window[-1][0]
        silent_s = (now - latest).total_seconds()
        allowed_s = self.interval_s(window) * self.missed_intervals + self.grace_s
        if silent_s > allowed_s:
            return Finding(Status.BREACH, latest, silent_s, now)
        return Finding(Status.NORMAL, latest, silent_s, latest)

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return f"no readings since {finding.since.isoformat(timespec='seconds')} ({finding.value:.0f} s)"


# A device that rounds its readings, though the register does not say so: the readings before a flat run all
# lie on a grid this coarse or coarser (0.05, 0.1, 0.5, 1 ...). A float sensor never does, 8 times running.
ROUNDING_GRID = 0.05
ROUNDING_EVIDENCE = 8  # readings before the run that must all lie on the grid
_GRID_TOLERANCE = 1e-6


# A whole message frozen is a hung device once it has stayed so this many times longer than it ever did
# before, in its last days (`FlatlineRule._holds`).
HUNG_FACTOR = 2.0
Quantity = tuple[Window, Cells | None]  # one quantity of a device: its raw readings and the summaries before

# A device silent longer than this ends a hold in its history: an outage is not a stable room.
HOLD_BREAK = timedelta(hours=2)


def on_grid(values: Sequence[float]) -> bool:
    """True when every value is a whole multiple of `ROUNDING_GRID` (to float precision)."""
    scale = 1 / ROUNDING_GRID
    return all(abs(v * scale - round(v * scale)) < _GRID_TOLERANCE for v in values)


def _flat_since(window: Window, epsilon: float) -> int:
    """The index where the window's trailing run of readings within `epsilon` of each other starts."""
    start = len(window) - 1
    low = high = window[start][1]
    while start > 0:
        v = window[start - 1][1]
        if max(high, v) - min(low, v) >= epsilon:
            break
        low, high = min(low, v), max(high, v)
        start -= 1
    return start


@dataclass(frozen=True, slots=True)
class FlatlineRule(_Base):
    """A stuck sensor: the spread of its latest readings stays below `epsilon`.

    For a device that reports its values as fine as a float, `samples` readings over `for_s` are enough: a
    live value repeats to the last digit only when something is stuck. A device that rounds (its reporting
    resolution, say 0.5 degC) or reports only on change repeats itself in any quiet room (issue 15), so for
    it the repeat must cover the whole message (every other quantity of the device frozen too, over
    `message_samples` readings and `for_s`: a hung device resends everything), or, with nothing else to
    look at, last `quantised_for_s`; and either must last `HUNG_FACTOR` times longer than the device ever
    held still in its last `memory_days` (an office its air-conditioner holds at 26.5 degC, 58 %RH and
    1,120 ppm all morning repeats its whole message for hours, every working day). That memory is read
    off the quarter-hour summaries (`rules.summary`): the raw readings are kept for `lookback_s` only.
    Values at exactly `ignore_value` (e.g. an idle meter at 0) are not judged.
    """

    samples: int = 4
    epsilon: float = 1e-6
    ignore_value: float | None = 0.0
    lookback_s: float = 6 * 3600
    quantised_for_s: float = 6 * 3600
    message_samples: int = 8
    memory_days: int = 7
    step: float = 0.0  # the device's reporting resolution of the quantity (`specialise`)
    on_change: bool = False

    @property
    def continuous(self) -> bool:
        """True when the device reports this quantity periodically and as fine as a float."""
        return self.step == 0 and not self.on_change

    @property
    def raw(self) -> timedelta:
        """How far back the readings themselves are read: enough for the samples and the duration, the
        quantised one too (a device the register calls continuous may turn out to round, `rounds`)."""
        return timedelta(seconds=max(self.lookback_s, self.for_s * 2, self.quantised_for_s + 1800))

    @property
    def lookback(self) -> timedelta:
        """The raw readings and, before them, the days of summaries the device's usual holds come from."""
        return self.raw + self.memory_days * DAY

    def raw_from(self, now: datetime) -> datetime:
        """The readings from here on are judged one by one; the summaries go back further."""
        return now - self.raw

    @property
    def threshold(self) -> float:
        """The spread below which a sensor is stuck."""
        return self.epsilon

    def companions(self, subject: Subject) -> tuple[str, ...]:
        """The device's other quantities, for the whole-message test (a rounding device: declared, or found
        to round by `rounds`)."""
        return tuple(q for q in subject.quantities if q != self.quantity_for(subject))

    @staticmethod
    def rounds(window: Window, start: int) -> bool:
        """True when the `ROUNDING_EVIDENCE` readings before the flat run that starts at `start`, and the
        run's own value, all lie on a coarse grid: the device rounds what it sends (a Tasmota at TempRes 1,
        a 0.1 kW meter), and a stable room or load repeats its reading without anything being stuck (issue
        15, class 1). A run almost as old as the window has fewer readings before it to go by (only its own
        value, at the window's start): a float reading is on the grid by chance one time in thousands."""
        return on_grid([v for _, v in window[max(0, start - ROUNDING_EVIDENCE) : start + 1]])

    def specialise(self, subject: Subject) -> Self:
        """The rule with the device's resolution and reporting mode."""
        quantity = self.quantity_for(subject)
        reporting = subject.reporting
        step = reporting.step(quantity) if quantity is not None else 0.0
        on_change = reporting.mode is ReportingMode.ON_CHANGE
        if step == 0 and not on_change:
            return self
        return replace(self, step=step, on_change=on_change)

    def judge(
        self,
        window: Window,
        *,
        now: datetime,
        peers: Sequence[Window] = (),
        sealed: Cells | None = None,
        peer_sealed: Sequence[Cells | None] = (),
    ) -> Finding | None:
        """Judge the trailing run of (near) equal readings; `peers` are the device's other quantities, and
        `sealed`, `peer_sealed` the summaries before the windows, its own and theirs (`rules.summary`)."""
        if not window:
            return None
        last_ts, last = window[-1]
        if self.ignore_value is not None and last == self.ignore_value:
            return Finding(Status.RECOVERING, last_ts, last, last_ts)
        start = _flat_since(window, self.epsilon)
        since = window[start][0]
        count = len(window) - start
        if count == 1:
            return Finding(Status.NORMAL, last_ts, last, last_ts)
        if self.continuous and not (count >= self.samples and self.rounds(window, start)):
            enough = count >= self.samples and last_ts - since >= timedelta(seconds=self.for_s)
            return Finding(Status.BREACH if enough else Status.PENDING, since, last, last_ts)
        if any(len(p) >= 2 for p in peers):  # its other quantities say whether it is alive: only a whole
            others = [(p, c) for p, c in itertools.zip_longest(peers, peer_sealed) if p is not None]
            hung = self._hung_since(window, start, [(window, sealed), *others])  # message frozen is a fault
            if hung is not None:
                return Finding(Status.BREACH, hung, last, last_ts)
            return Finding(Status.PENDING, since, last, last_ts)
        # Nothing else it reports: the quantity alone, for long, and longer than it ever held before.
        if count < self.samples or last_ts - since < timedelta(seconds=self.quantised_for_s):
            return Finding(Status.PENDING, since, last, last_ts)
        frozen = since if start else self._frozen_from(since, [(window, sealed)])
        held_s = self._holds(frozen, [(window, sealed)])
        enough = last_ts - frozen >= max(timedelta(seconds=self.quantised_for_s), HUNG_FACTOR * held_s)
        return Finding(Status.BREACH if enough else Status.PENDING, frozen, last, last_ts)

    def _hung_since(self, window: Window, start: int, series: Sequence[Quantity]) -> datetime | None:
        """When the whole message froze, if it has stayed frozen for `message_samples` readings, `for_s`
        and `HUNG_FACTOR` times its longest hold before: the latest start of the trailing flat runs of the
        quantity and of every other one (each still reported since then, twice at least). None when it has
        not. `series`: every quantity's readings and summaries, the judged one first."""
        frozen_from = window[start][0]
        from_first = start == 0  # every quantity frozen since the first raw reading
        for peer, _ in series[1:]:
            if len(peer) < 2:
                return None  # not reported over the run: no evidence
            at_ = _flat_since(peer, self.epsilon)
            from_first = from_first and at_ == 0
            frozen_from = max(frozen_from, peer[at_][0])
            if peer[-2][0] < frozen_from:
                return None  # fewer than two of its readings in the frozen run: no evidence
        first = bisect.bisect_left(window, (frozen_from,))
        last_ts = window[-1][0]
        long_enough = last_ts - frozen_from >= timedelta(seconds=self.for_s)
        if len(window) - first < self.message_samples or not long_enough:
            return None
        if from_first:  # frozen since before the raw readings: the summaries say since when
            frozen_from = self._frozen_from(frozen_from, series)
        raw_quiet = self._longest_quiet(frozen_from, [w for w, _ in series])
        usual = max(raw_quiet, self._holds(frozen_from, series))
        return frozen_from if last_ts - frozen_from >= HUNG_FACTOR * usual else None

    def _longest_quiet(self, frozen_from: datetime, series: Sequence[Window]) -> timedelta:
        """The longest the device's whole message stayed the same before `frozen_from`, within the raw
        readings: the longest gap between instants at which any of its quantities changed (from the first
        change). A 0.5 degC sensor in a room its air-conditioner holds, with humidity in whole percent,
        repeats itself for an hour or two at a time; a 0.1 degC one with its CO2 in ppm hardly twice
        running (issue 15)."""
        changed = sorted(
            b[0]
            for points in series
            for a, b in itertools.pairwise(points[: bisect.bisect_left(points, (frozen_from,))])
            if abs(b[1] - a[1]) >= self.epsilon
        )
        gaps = [b - a for a, b in itertools.pairwise(changed)]
        if changed:
            gaps.append(frozen_from - changed[-1])
        return max(gaps, default=timedelta(0))

    def _changes(self, series: Sequence[Quantity], first_us: int, end_us: int) -> list[int]:
        """The instants in [first_us, end_us] by which any of the quantities had last changed, sorted, to a
        quarter hour: the start of a cell whose readings differ from the cell's before, the end of one whose
        readings differ among themselves. A silence longer than `HOLD_BREAK` ends a hold and starts one."""
        limit = HOLD_BREAK // ONE_US
        found: set[int] = set()
        for window, sealed in series:
            starts, means, m2 = Summary(window, sealed).columns(first_us, end_us)
            if not len(starts):
                continue
            silent = np.diff(starts) > limit
            moved = np.zeros(len(starts), np.bool_)
            moved[1:] = (np.abs(np.diff(means)) >= self.epsilon) | silent
            moved[0] = True  # a hold in progress when the days begin: at least this long
            found.update(starts[moved].tolist())
            found.update((starts[m2 > self.epsilon**2 / 4] + CELL_US).tolist())
            found.update((starts[:-1][silent] + CELL_US).tolist())
        return sorted(found)

    def _frozen_from(self, since: datetime, series: Sequence[Quantity]) -> datetime:
        """When a run seen frozen since the first raw reading (`since`) began, from the summaries: the last
        change of any quantity before `since` (`_changes`; `since` when none is known)."""
        end_us = us(floor_cell(since))
        changes = self._changes(series, end_us - self.memory_days * DAY // ONE_US, end_us)
        return min(since, at(changes[-1])) if changes else since

    def _holds(self, frozen_from: datetime, series: Sequence[Quantity]) -> timedelta:
        """The longest the whole message held still, in whole quarter hours, over the `memory_days` before
        `frozen_from` (as much of them as is known)."""
        end_us = us(floor_cell(frozen_from))
        changes = self._changes(series, end_us - self.memory_days * DAY // ONE_US, end_us)
        return timedelta(microseconds=max((b - a for a, b in itertools.pairwise(changes)), default=0))

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        stuck = (
            f"{self.quantity} stuck at {finding.value:g} {_unit(self.quantity)} since "
            f"{finding.since.isoformat(timespec='minutes')}"
        )
        if self.continuous:
            return f"{stuck} (spread below {self.epsilon:g})"
        return f"{stuck} (reported in steps of {self.step:g}; the device repeats itself)"


@dataclass(frozen=True, slots=True)
class RateOfChangeRule(_Base):
    """A spike or a jump: consecutive readings differ by more than `max_rise` up or `max_fall` down.

    Registers that only count up use `max_fall` to catch resets and rollovers.
    """

    max_rise: float | None = None
    max_fall: float | None = None
    max_gap_s: float = 3600.0  # readings further apart are not compared
    lookback_s: float = 3 * 3600

    @property
    def lookback(self) -> timedelta:
        """A few readings."""
        return timedelta(seconds=self.lookback_s)

    @property
    def threshold(self) -> float:
        """The largest change allowed (rise if set)."""
        limit = self.max_rise if self.max_rise is not None else self.max_fall
        return limit if limit is not None else 0.0

    def judge(self, window: Window, *, now: datetime, peers: Sequence[Window] = ()) -> Finding | None:
        """BAD for a reading that jumped from the one before it."""
        return self._held([self.sample(a, b) for a, b in itertools.pairwise(window)])

    def sample(
        self, previous: tuple[datetime, float], reading: tuple[datetime, float]
    ) -> tuple[datetime, float, Sample]:
        """A reading judged against the one before it: (its time, the change, BAD/OK, or SKIP after a gap)."""
        (t0, v0), (t1, v1) = previous, reading
        if (t1 - t0).total_seconds() > self.max_gap_s:
            return (t1, 0.0, Sample.SKIP)
        change = v1 - v0
        jump = (self.max_rise is not None and change > self.max_rise) or (
            self.max_fall is not None and -change > self.max_fall
        )
        return (t1, abs(change), Sample.BAD if jump else Sample.OK)

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return (
            f"{self.quantity} changed by {finding.value:g} {_unit(self.quantity)} between two readings "
            f"(limit {self.threshold:g}) at {finding.since.isoformat(timespec='minutes')}"
        )


@dataclass(frozen=True, slots=True)
class ComfortRule(_Base):
    """Too hot (or cold) while the space is occupied: inside `schedule` and, when the space has an
    occupancy sensor, with at least `min_people` counted. With `cooled_only`, spaces without an
    air-conditioner are not watched (see `applies_to`).

    With `while_cooling`, for rooms whose occupants run their own air-conditioner (a dormitory room): a
    reading counts only while an air-conditioner of the space reports it is on. A resident at home with the
    unit off chose the heat; a unit that runs and cannot bring the room under the limit is a fault for
    the crew (issue 15, class 5). The space's air-conditioners are then its peers, not its people counters.
    """

    above: float | None = None
    below: float | None = None
    schedule: Schedule | None = None
    min_people: float = 1.0
    cooled_only: bool = False  # only spaces with an air-conditioner: comfort there is a promise
    while_cooling: bool = False  # only while the space's air-conditioner runs (self-controlled rooms)
    peer_max_age_s: float = 1800.0
    lookback_s: float = 6 * 3600

    @property
    def lookback(self) -> timedelta:
        """Enough for the duration."""
        return timedelta(seconds=max(self.lookback_s, self.for_s * 2))

    @property
    def threshold(self) -> float:
        """The comfort limit."""
        limit = self.above if self.above is not None else self.below
        return limit if limit is not None else 0.0

    def peer_of(self, subject: Subject, candidate: Subject) -> str | None:
        """The occupancy sensors of the same space (its air-conditioners, `while_cooling`)."""
        if candidate.space != subject.space:
            return None
        wanted = UNIT_STATE if self.while_cooling else "occupancy_count"
        return wanted if wanted in candidate.quantities else None

    def applies_to(self, subject: Subject, space_mates: Sequence[Subject]) -> bool:
        """False for an uncooled space when the rule is `cooled_only` or `while_cooling`."""
        cooled = any(m.kind == UNIT_KIND for m in space_mates)
        return cooled or not (self.cooled_only or self.while_cooling)

    def judge(self, window: Window, *, now: datetime, peers: Sequence[Window] = ()) -> Finding | None:
        """BAD when outside the limit while occupied; unoccupied readings count as normal."""
        # Occupancy matters only for a reading beyond the limit (every other one is OK), so the window is
        # scanned for those first and only they are looked up: a 6-hour window holds 4,320 readings at 5 s.
        high, low = self.above, self.below
        beyond = [
            i
            for i, (_, v) in enumerate(window)
            if (high is not None and v > high) or (low is not None and v < low)
        ]
        bad = [i for i in beyond if self._occupied(window[i][0], peers)]
        return _held_marked(
            window, bad, for_s=self.for_s, clear_for_s=self.clear_for_s, above=high is not None
        )

    def _occupied(self, ts: datetime, peers: Sequence[Window]) -> bool:
        """In the schedule and, when the space counts people, at least `min_people` counted lately
        (`while_cooling`: an air-conditioner of the space on lately)."""
        if self.schedule is not None and not self.schedule.contains(ts):
            return False
        age = timedelta(seconds=self.peer_max_age_s)
        if self.while_cooling:
            return any(_value_at(p, ts, age) == 1.0 for p in peers)
        if not peers:
            return True
        counts = [c for c in (_value_at(p, ts, age) for p in peers) if c is not None]
        return bool(counts) and max(counts) >= self.min_people

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        state = "while the air-conditioner runs" if self.while_cooling else "while occupied"
        return (
            f"{self.quantity} = {finding.value:g} {_unit(self.quantity)} {state}, beyond the "
            f"comfort limit of {self.threshold:g} since {finding.since.isoformat(timespec='minutes')}"
        )


@dataclass(frozen=True, slots=True)
class DriftRule(_Base):
    """A sensor drifting away from its neighbours (issue 15): the same kind of sensor in the same building
    and the same kind of space (`peer_of`) lives in the same weather, schedule and plant, so its offset
    from their median, quarter hour by quarter hour, holds steady from day to day; a sensor whose element
    ages or whose calibration slips carries that offset away with it, by a little every day.

    Judged on whole quarter hours (the summaries, `rules.summary`): the median offset over the last
    `recent_s` (a day: every hour of the building's daily cycle in it) against the median of the daily
    offsets of the `days` days before it of the same day type (working days, or weekends and holidays: a
    free-running room's offset on a Sunday differs from its cooled one on a Monday). A breach when they
    differ by more than `min_delta` and `k_sigma` times the days' own spread (1.4826 x the median absolute
    deviation of their day-to-day changes, over the square root of 2: the noise of a day's offset, blind to
    a steady trend, so a drift left alone stays flagged); normal again under `clear_share` of that. With
    fewer than `min_peers` neighbours reporting in a quarter hour it is not counted; with fewer than
    `min_days` comparable days, no judgement.

    Only the quarter hours in which the neighbours agree with one another count (their standard deviation
    within `agree_share` x `min_delta`, or within the lookback's best quarter of quarter hours when they
    never agree that well): in rooms whose occupants run their own
    air-conditioners (a dormitory) a room's offset says whether its unit ran that day, by 6-10 %RH,
    while the rooms free-running together (the residents at work) share the weather and show a drift as
    it is. A day with fewer than `min_hours` such hours is not counted.

    The finding changes only when a quarter hour ends, so it is worked out once per quarter hour and
    device (`_memo`): a replay at one-minute steps does not redo a week of medians sixty times an hour.
    """

    peers_in_building: ClassVar[bool] = True

    days: int = 7
    recent_s: float = 86400
    min_delta: float = 1.5
    k_sigma: float = 3.0
    min_peers: int = 2
    min_days: int = 2
    clear_share: float = 0.7
    agree_share: float = 0.5
    min_hours: float = 2.0
    _memo: dict[str, tuple[int, Finding | None]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @property
    def lookback(self) -> timedelta:
        """The comparable days and the recent day."""
        return timedelta(days=self.days) + timedelta(seconds=self.recent_s) + CELL

    @property
    def threshold(self) -> float:
        """The least change of offset that counts, in the quantity's unit."""
        return self.min_delta

    def raw_from(self, now: datetime) -> datetime:
        """Whole quarter hours are judged: the summaries cover everything before the current one."""
        return floor_cell(now) - CELL

    def peer_of(self, subject: Subject, candidate: Subject) -> str | None:
        """Sensors of the same kind in the same building and kind of space that measure the quantity; and
        the air-conditioners of the sensor's own space (`UNIT_STATE`), whose running hours are left out."""
        if candidate.kind == UNIT_KIND:
            return _space_unit(subject, candidate)
        same = (candidate.kind, candidate.building, candidate.space_kind) == (
            subject.kind,
            subject.building,
            subject.space_kind,
        )
        return self.quantity if same and self.quantity in candidate.quantities else None

    def judge(
        self,
        window: Window,
        *,
        now: datetime,
        peers: Sequence[Window] = (),
        sealed: Cells | None = None,
        peer_sealed: Sequence[Cells | None] = (),
        key: str = "",
        units: int = 0,
    ) -> Finding | None:
        """The finding over the quarter hours up to the current one (`key`: the device, for the memo). The
        last `units` of `peers` (and `peer_sealed`) are the on/off states of its own space's units."""
        end_us = us(floor_cell(now))
        if key:
            memo = self._memo.get(key)
            if memo is not None and memo[0] == end_us:
                return memo[1]
        finding = None
        sensors = len(peers) - units
        if sensors >= self.min_peers:
            offsets = self._offsets(end_us, window, sealed, peers, peer_sealed, units=units)
            finding = self._verdict(offsets, end_us, sensors, window[-1][0] if window else now)
        if key:
            self._memo[key] = (end_us, finding)
        return finding

    def _offsets(
        self,
        end_us: int,
        window: Window,
        sealed: Cells | None,
        peers: Sequence[Window],
        peer_sealed: Sequence[Cells | None],
        *,
        units: int = 0,
    ) -> Floats:
        """The device's offset from its peers' median in every quarter hour of the lookback up to `end_us`
        (NaN where it or too few peers reported, or where a unit of its own space ran: the last `units`
        peers)."""
        first_us = end_us - (self.days * DAY + timedelta(seconds=self.recent_s)) // ONE_US
        size = (end_us - first_us) // CELL_US
        grid = np.full((len(peers) + 1, size), np.nan)
        laid = itertools.zip_longest(peers, peer_sealed) if peer_sealed else ((p, None) for p in peers)
        for row, (w, cells) in enumerate(itertools.chain([(window, sealed)], laid)):
            starts, means = Summary(w or (), cells).means(first_us, end_us)
            grid[row, (starts - first_us) // CELL_US] = means
        if units:  # its own room conditioned: the reading says what the unit did, not what the sensor does
            grid[0, np.any(grid[len(grid) - units :] > 0, axis=0)] = np.nan
            grid = grid[: len(grid) - units]
        others = grid[1:]
        counted = np.sum(~np.isnan(others), axis=0) >= self.min_peers
        offsets = np.full(size, np.nan)
        if not counted.any():
            return offsets
        them = others[:, counted]
        median = np.nanmedian(them, axis=0)
        # Their standard deviation, not a robust spread: a minority running its units is what must show.
        spread = np.nanstd(them, axis=0)
        limit = max(self.agree_share * self.min_delta, float(np.percentile(spread, 25)))
        agreed = spread <= limit
        offsets[np.flatnonzero(counted)[agreed]] = grid[0, counted][agreed] - median[agreed]
        return offsets

    def _verdict(self, offsets: Floats, end_us: int, peers: int, latest: datetime) -> Finding | None:
        """The recent day's offset against the comparable days' (None: too little to judge), quarter hour
        of the day against the same quarter hour: a day with fewer hours counted (its neighbours disagreed
        in some) is not weighed by a different mix of hours (a lobby warmer than the offices at night)."""
        size = len(offsets)
        per_day = DAY // CELL
        recent_cells = int(self.recent_s // CELL.total_seconds())
        least = int(self.min_hours * 3600 // CELL.total_seconds())
        if np.count_nonzero(~np.isnan(offsets[-recent_cells:])) < least:
            return None  # too few comparable hours in the day to judge it
        slots = (end_us // CELL_US - size + np.arange(size)) % per_day  # the quarter hour of the day
        recent_start = at(end_us) - timedelta(seconds=self.recent_s)
        half = timedelta(seconds=self.recent_s / 2)  # a day is of the type of its middle
        working = is_working_day((recent_start + half).astimezone(TAIPEI).date())
        past = np.full((self.days, per_day), np.nan)  # the days before, newest first, by quarter hour
        alike: list[int] = []
        every: list[int] = []
        for back in range(1, self.days + 1):
            hi = size - recent_cells - (back - 1) * per_day
            lo = max(0, hi - per_day)
            if np.count_nonzero(~np.isnan(offsets[lo:hi])) < least:
                continue
            past[back - 1, slots[lo:hi]] = offsets[lo:hi]
            every.append(back - 1)
            mid = recent_start - back * DAY + half
            if is_working_day(mid.astimezone(TAIPEI).date()) == working:
                alike.append(back - 1)
        rows = alike if len(alike) >= self.min_days else every
        if len(rows) < self.min_days:
            return None
        chosen = past[rows[::-1]]  # oldest first
        known = ~np.isnan(chosen).all(axis=0)
        by_slot = np.full(per_day, np.nan)
        by_slot[known] = np.nanmedian(chosen[:, known], axis=0)
        recent = offsets[-recent_cells:] - by_slot[slots[-recent_cells:]]
        if np.count_nonzero(~np.isnan(recent)) < least:
            return None
        days = [float(np.nanmedian(row - by_slot)) for row in chosen]
        values = np.asarray(days)
        usual = float(np.median(values))
        # The days' own spread, from their day-to-day changes when there are enough: a drift under way is
        # a steady trend across them, which must not widen the band until the alarm clears.
        if len(values) >= 3:
            steps = np.diff(values)
            spread = 1.4826 * float(np.median(np.abs(steps - np.median(steps)))) / math.sqrt(2)
        else:
            spread = 1.4826 * float(np.median(np.abs(values - usual)))
        band = max(self.min_delta, self.k_sigma * spread)
        change = float(np.nanmedian(recent)) - usual
        if abs(change) > band:
            detail = (
                f"{self.quantity} reads {abs(change):.1f} {_unit(self.quantity)} "
                f"{'higher' if change > 0 else 'lower'} against {peers} neighbours than on the "
                f"{len(days)} days before (limit {band:.1f}): sensor drifting? check or recalibrate it"
            )
            return Finding(Status.BREACH, recent_start, round(change, 3), latest, detail)
        status = Status.NORMAL if abs(change) <= self.clear_share * band else Status.RECOVERING
        return Finding(status, recent_start, round(change, 3), latest)

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return finding.detail or f"{self.quantity} drifting from its neighbours by {finding.value:g}"


@dataclass(frozen=True, slots=True)
class OpenWhileCoolingRule(_Base):
    """A door or window open (`open_state` = 1) while an air-conditioner in the same space runs."""

    peer_max_age_s: float = 1800.0
    lookback_s: float = 6 * 3600

    @property
    def lookback(self) -> timedelta:
        """Enough for the duration."""
        return timedelta(seconds=max(self.lookback_s, self.for_s * 2))

    @property
    def threshold(self) -> float:
        """Open is 1."""
        return 1.0

    def peer_of(self, subject: Subject, candidate: Subject) -> str | None:
        """The air-conditioners of the same space."""
        return _space_unit(subject, candidate)

    def judge(self, window: Window, *, now: datetime, peers: Sequence[Window] = ()) -> Finding | None:
        """BAD when open and any peer unit is on at the same time."""
        if not peers:
            return None
        # The units are looked up only while open: a closed door is OK whatever they do.
        age = timedelta(seconds=self.peer_max_age_s)
        bad = [
            i
            for i in [i for i, (_, v) in enumerate(window) if v >= 1]
            if any((_value_at(p, window[i][0], age) or 0.0) >= 1 for p in peers)
        ]
        return _held_marked(window, bad, for_s=self.for_s, clear_for_s=self.clear_for_s, above=True)

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return f"open while the air-conditioning runs, since {finding.since.isoformat(timespec='minutes')}"


@dataclass(frozen=True, slots=True)
class RuntimeRule(_Base):
    """Run time (time with `on_state` = 1) over the lookback reaches `hours`: preventive maintenance due."""

    hours: float = 500.0
    lookback_s: float = 30 * 86400
    max_gap_s: float = 3600.0  # a longer gap between readings is not counted

    @property
    def lookback(self) -> timedelta:
        """The counting period."""
        return timedelta(seconds=self.lookback_s)

    @property
    def threshold(self) -> float:
        """The run-time limit in hours."""
        return self.hours

    def judge(self, window: Window, *, now: datetime, peers: Sequence[Window] = ()) -> Finding | None:
        """Sum the on-time between readings; BREACH from the moment the sum reaches the limit."""
        if not window:
            return None
        run_s = 0.0
        for (t0, v0), (t1, _) in itertools.pairwise(window):
            gap = (t1 - t0).total_seconds()
            if v0 >= 1 and gap <= self.max_gap_s:
                run_s += gap
                if run_s >= self.hours * 3600:
                    return Finding(Status.BREACH, t1, run_s / 3600, window[-1][0])
        return Finding(Status.NORMAL, window[0][0], run_s / 3600, window[-1][0])

    def explain(self, finding: Finding) -> str:
        """The alarm sentence."""
        return f"ran {finding.value:.0f} h in {self.lookback_s / 86400:g} days (limit {self.hours:g} h)"


# The kinds that read quarter-hour summaries before `raw_from(now)` (`rules.summary`): their `judge` takes the
# device's sealed cells, and the window cache keeps their readings raw only from `raw_from`.
SUMMARISED = (AfterHoursRule, BaselineRule, LeakRule, DriftRule, FlatlineRule)
# Kinds that read the summaries of their peers (or of the device's other quantities) as well as their own.
PEER_SUMMARISED = (DriftRule, FlatlineRule)

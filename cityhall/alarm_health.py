"""Alarm-system health, measured as the alarm-management standards measure it: ANSI/ISA-18.2 clause 16
(monitoring and assessment; the same metrics are in IEC 62682) and EEMUA 191.

For a period (by default the last full ISO week in Asia/Taipei) and a scope (every site, or one), from the
alarms raised and the shelves in force: alarm rates per day and per 10 minutes against the benchmarks for
one operator position, time in flood and the flood episodes, chattering, fleeting and stale alarms, the bad
actors (rule x device) with their share of the load, shelving, and the priority distribution.

Everything below `read_rows` is a pure function of the rows, the period and the clock, so the tests check
each figure against alarms with known timestamps. The benchmarks are data (`Benchmark`), and each figure is
a `Metric` (key, unit, labels, value function, benchmark), so a figure always travels with its unit and the
standard it is compared with.

The standards' benchmarks are per operator position. CityHall Ops has one alarm console (the operations
console and its crews), so the figures of a scope are those one operator position sees when it watches that
scope: the whole city, or one site.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityhall.energy.periods import TAIPEI, Period, next_period, period_start, periods
from cityhall.errors import InvalidInputError
from cityhall.models import Alarm, AlarmShelf, Building, Device, Floor, Severity, Site, Space
from cityhall.reports.period import MAX_YEAR, MIN_YEAR

INTERVAL = timedelta(minutes=10)  # the standards' unit of alarm rate
_INTERVAL_S = int(INTERVAL.total_seconds())
INTERVALS_PER_DAY = 24 * 6
MAX_SPAN = timedelta(days=366)  # one request reads at most a year of alarms
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# --- the period ---


@dataclass(frozen=True, slots=True)
class HealthPeriod:
    """The period [since, until) assessed, in Asia/Taipei; `week` is its ISO week label when it is one."""

    since: datetime
    until: datetime
    week: str | None = None

    def measured_until(self, now: datetime) -> datetime:
        """The end of what has happened: `until`, or `now` while the period is still under way."""
        return max(self.since, min(self.until, now))


def _week_label(start: datetime) -> str:
    year, week, _ = start.isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_period(label: str, *, loc: tuple[str, ...] = ("query", "week")) -> HealthPeriod:
    """An ISO week, `2026-W49`: Monday 00:00 to the next Monday 00:00 in Asia/Taipei; 422 naming `loc`."""
    found = _WEEK.match(label.strip().upper())
    if found is None:
        raise InvalidInputError("invalid_week", f"a week looks like 2026-W49, not {label!r}", loc=loc)
    year, week = int(found.group(1)), int(found.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInputError(
            "invalid_week", f"the year must be between {MIN_YEAR} and {MAX_YEAR}", loc=loc
        )
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as err:
        raise InvalidInputError("invalid_week", f"{year} has no week {week}", loc=loc) from err
    start = datetime(monday.year, monday.month, monday.day, tzinfo=TAIPEI)
    return HealthPeriod(start, next_period(start, Period.WEEK), _week_label(start))


def last_full_week(now: datetime) -> HealthPeriod:
    """The ISO week before the one `now` is in (Asia/Taipei)."""
    this_week = period_start(now, Period.WEEK)
    start = (this_week - timedelta(days=7)).astimezone(TAIPEI)
    return HealthPeriod(start, this_week, _week_label(start))


def _check_year(value: datetime, name: str) -> None:
    # Checked on the value as given, before any arithmetic: year 1 or 9999 would overflow a conversion.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidInputError(
            "out_of_range",
            f"{name} must lie between the years {MIN_YEAR} and {MAX_YEAR}",
            loc=("query", name),
        )


def resolve_period(
    *,
    now: datetime,
    week: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> HealthPeriod:
    """The period a caller asks for: an ISO week, or [since, until) (until defaults to now), or the last full
    week; InvalidInputError naming the query field that is wrong."""
    if week is not None:
        if since is not None or until is not None:
            raise InvalidInputError(
                "week_or_range", "give either week or since/until, not both", loc=("query", "week")
            )
        return week_period(week)
    if since is None:
        if until is not None:
            raise InvalidInputError("since_required", "until needs since", loc=("query", "since"))
        return last_full_week(now)
    for value, name in ((since, "since"), (until, "until")):
        if value is not None:
            if value.tzinfo is None:
                raise InvalidInputError(
                    "naive_datetime", f"{name} needs a UTC offset, e.g. +08:00", loc=("query", name)
                )
            _check_year(value, name)
    end = until if until is not None else now
    if end <= since:
        raise InvalidInputError("empty_period", "until must be after since", loc=("query", "until"))
    if end - since > MAX_SPAN:
        raise InvalidInputError(
            "period_too_long", f"at most {MAX_SPAN.days} days at a time", loc=("query", "until")
        )
    return HealthPeriod(since.astimezone(TAIPEI), end.astimezone(TAIPEI))


# --- the rows ---


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """An alarm as the assessment needs it."""

    id: int
    rule_key: str
    rule_name: str
    device_id: int
    device_code: str
    building_code: str
    site_code: str
    severity: Severity
    raised_at: datetime
    cleared_at: datetime | None = None
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShelfRow:
    """A shelf of a (rule, device) pair as the assessment needs it."""

    id: int
    rule_key: str
    device_id: int
    device_code: str
    site_code: str
    alarm_id: int | None
    created_at: datetime
    until: datetime
    ended_at: datetime | None
    created_by: str
    reason: str

    @property
    def ends_at(self) -> datetime:
        """When the shelf stopped or stops: its end, or earlier when a person ended it."""
        return min(self.until, self.ended_at) if self.ended_at is not None else self.until


def site_names(session: Session) -> dict[str, str]:
    """Every site, code -> name, by code."""
    rows = session.execute(select(Site.code, Site.name).order_by(Site.code))
    return {code: name for code, name in rows}  # noqa: C416 - rows, not pairs, to dict()


def read_rows(
    session: Session, *, since: datetime, until: datetime, site: str | None = None
) -> tuple[list[AlarmRow], list[ShelfRow]]:
    """The alarms raised in [since, until) or active at some time in it, and the shelves in force in it."""
    located = (
        select(
            Device.id.label("device_id"),
            Device.code,
            Building.code.label("building"),
            Site.code.label("site"),
        )
        .join(Space, Space.id == Device.space_id)
        .join(Floor, Floor.id == Space.floor_id)
        .join(Building, Building.id == Floor.building_id)
        .join(Site, Site.id == Building.site_id)
    )
    if site is not None:
        located = located.where(Site.code == site)
    where = located.subquery()
    alarms = session.execute(
        select(Alarm, where.c.code, where.c.building, where.c.site)
        .join(where, where.c.device_id == Alarm.device_id)
        .where(
            Alarm.raised_at < until,
            or_(Alarm.raised_at >= since, Alarm.cleared_at.is_(None), Alarm.cleared_at > since),
        )
        .order_by(Alarm.raised_at, Alarm.id)
    ).all()
    shelves = session.execute(
        select(AlarmShelf, where.c.code, where.c.site)
        .join(where, where.c.device_id == AlarmShelf.device_id)
        .where(
            AlarmShelf.created_at < until,
            AlarmShelf.until > since,
            or_(AlarmShelf.ended_at.is_(None), AlarmShelf.ended_at > since),
        )
        .order_by(AlarmShelf.created_at, AlarmShelf.id)
    ).all()
    return (
        [
            AlarmRow(
                id=a.id,
                rule_key=a.rule_key,
                rule_name=a.rule_name,
                device_id=a.device_id,
                device_code=code,
                building_code=building,
                site_code=site_code,
                severity=a.severity,
                raised_at=a.raised_at,
                cleared_at=a.cleared_at,
                acknowledged_at=a.acknowledged_at,
            )
            for a, code, building, site_code in alarms
        ],
        [
            ShelfRow(
                id=s.id,
                rule_key=s.rule_key,
                device_id=s.device_id,
                device_code=code,
                site_code=site_code,
                alarm_id=s.alarm_id,
                created_at=s.created_at,
                until=s.until,
                ended_at=s.ended_at,
                created_by=s.created_by,
                reason=s.reason,
            )
            for s, code, site_code in shelves
        ],
    )


# --- limits, benchmarks, verdicts ---


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """The definitions' parameters: the standards' values by default."""

    flood_above: int = 10  # alarms in one 10-minute interval (ISA-18.2, EEMUA 191)
    chatter_count: int = 3  # raises of one (rule, device) ...
    chatter_window: timedelta = timedelta(seconds=60)  # ... within this long
    fleeting_under: timedelta = timedelta(seconds=60)  # cleared sooner than this, nobody having acted
    stale_after: timedelta = timedelta(hours=24)  # active longer than this
    top: int = 10  # the bad actors whose share of the load the standard measures


class Verdict(StrEnum):
    """How a figure compares with its benchmark."""

    ACCEPTABLE = "acceptable"  # at or under the "very likely acceptable" level
    MANAGEABLE = "manageable"  # above it, at or under the "maximum manageable" level
    OVERLOADED = "overloaded"  # above the maximum manageable level
    MEETS = "meets"  # meets a target
    MISSES = "misses"  # misses a target


@dataclass(frozen=True, slots=True)
class Benchmark:
    """What a standard recommends for a figure: two levels (acceptable, manageable) or one target."""

    source: str
    text_zh: str
    text_en: str
    acceptable: float | None = None  # at or below: very likely acceptable
    manageable: float | None = None  # at or below: the most that is manageable
    target: float | None = None  # a limit to stay under (or at, when `inclusive`)
    inclusive: bool = True

    def verdict(self, value: float | None) -> Verdict | None:
        """The verdict for a value; None without a value or without levels to judge it by."""
        if value is None:
            return None
        if self.acceptable is not None and self.manageable is not None:
            if value <= self.acceptable:
                return Verdict.ACCEPTABLE
            return Verdict.MANAGEABLE if value <= self.manageable else Verdict.OVERLOADED
        if self.target is not None:
            within = value <= self.target if self.inclusive else value < self.target
            return Verdict.MEETS if within else Verdict.MISSES
        return None


ISA = "ANSI/ISA-18.2-2016 clause 16 (IEC 62682)"
ISA_EEMUA = "ANSI/ISA-18.2-2016 clause 16 (IEC 62682); EEMUA 191"

PER_DAY = Benchmark(
    ISA,
    "每位值班人員每日約 150 則：很可能可接受；約 300 則：可管理上限",
    "per operator: about 150 a day very likely acceptable, about 300 the most manageable",
    acceptable=150,
    manageable=300,
)
PER_10_MIN = Benchmark(
    ISA_EEMUA,
    "每位值班人員每 10 分鐘約 1 則：很可能可接受；約 2 則：可管理上限",
    "per operator: about 1 per 10 minutes very likely acceptable, about 2 the most manageable",
    acceptable=1,
    manageable=2,
)
PEAK_10_MIN = Benchmark(
    ISA_EEMUA,
    "任何 10 分鐘內不超過 10 則（超過即為警報氾濫）",
    "at most 10 in any 10 minutes (more is an alarm flood)",
    target=10,
)
FLOOD_TIME = Benchmark(
    ISA,
    "超過 10 則的 10 分鐘區間少於 1 %",
    "under 1 % of 10-minute intervals with more than 10 alarms",
    target=1,
    inclusive=False,
)
TOP_SHARE = Benchmark(
    ISA,
    "最常發生的 10 個警報約占 1 % 至最多 5 %，並逐一擬定改善措施",
    "the 10 most frequent alarms: about 1 % to 5 % at most, each with an action plan",
    target=5,
)
ZERO = Benchmark(ISA, "零；出現即應改正", "zero: correct any that occur", target=0)
STALE_PER_DAY = Benchmark(
    ISA, "任何一天少於 5 則", "fewer than 5 present on any day", target=5, inclusive=False
)
# Recommended shares of alarms per priority; with four priorities ISA-18.2 adds under 1 % "highest".
PRIORITY_SHARES = Benchmark(
    ISA_EEMUA,
    "低 約 80 %、中 約 15 %、高 約 5 %（第四級「最高」少於 1 %）",
    "about 80 % low, 15 % medium, 5 % high (under 1 % for a fourth, highest priority)",
)
RECOMMENDED_PCT: dict[Severity, float] = {
    Severity.LOW: 80.0,
    Severity.MEDIUM: 15.0,
    Severity.HIGH: 5.0,
    Severity.CRITICAL: 1.0,  # "under 1 %"
}


# --- what is measured ---


@dataclass(frozen=True, slots=True)
class DayCount:
    """A count for one Asia/Taipei day."""

    day: date
    alarms: int


@dataclass(frozen=True, slots=True)
class IntervalCount:
    """The alarms raised in one 10-minute interval [start, start + 10 min)."""

    start: datetime
    alarms: int


@dataclass(frozen=True, slots=True)
class Contributor:
    """A (rule, device) pair's alarms within something larger (a flood)."""

    rule_key: str
    device_code: str
    alarms: int


@dataclass(frozen=True, slots=True)
class FloodEpisode:
    """Consecutive 10-minute intervals each with more alarms than the flood level."""

    start: datetime
    end: datetime
    intervals: int
    alarms: int
    peak_per_10min: int
    top_contributors: tuple[Contributor, ...]


@dataclass(frozen=True, slots=True)
class BadActor:
    """A (rule, device) pair and its share of the alarm load."""

    rank: int
    rule_key: str
    rule_name: str
    device_id: int
    device_code: str
    building_code: str
    site_code: str
    alarms: int
    share_pct: float
    cumulative_pct: float
    chattering_alarms: int
    fleeting_alarms: int


@dataclass(frozen=True, slots=True)
class ChatteringPair:
    """A (rule, device) pair that raised `chatter_count` or more alarms within `chatter_window`."""

    rule_key: str
    rule_name: str
    device_id: int
    device_code: str
    site_code: str
    alarms: int  # raised in the period
    chattering_alarms: int  # of those, the ones in a burst
    max_in_window: int
    first_burst_at: datetime


@dataclass(frozen=True, slots=True)
class FleetingAlarm:
    """An alarm that cleared within `fleeting_under` before anyone acknowledged it."""

    alarm_id: int
    rule_key: str
    device_code: str
    site_code: str
    raised_at: datetime
    cleared_at: datetime
    active_s: float


@dataclass(frozen=True, slots=True)
class StaleAlarm:
    """An alarm that was active longer than `stale_after` at some time in the period."""

    alarm_id: int
    rule_key: str
    rule_name: str
    device_code: str
    site_code: str
    raised_at: datetime
    cleared_at: datetime | None
    active_h: float  # from the raise to the clear, or to the end of what was measured


@dataclass(frozen=True, slots=True)
class ShelvedPair:
    """A shelf in force during the period, and how long."""

    shelf_id: int
    rule_key: str
    device_id: int
    device_code: str
    site_code: str
    alarm_id: int | None
    shelved_from: datetime
    shelved_to: datetime
    ended_early: bool
    created_by: str
    reason: str
    hours_in_period: float
    hours_total: float


@dataclass(frozen=True, slots=True)
class PriorityShare:
    """The alarms of one severity against the recommended share."""

    severity: Severity
    alarms: int
    share_pct: float | None
    recommended_pct: float
    difference_pct: float | None  # share minus recommended, in percentage points


@dataclass(frozen=True, slots=True)
class Tally:
    """Everything measured for one scope; the figures are read off it."""

    alarms: int
    days: float  # the measured span, in days (averages are per day of it, and per 10 minutes of it)
    intervals: int  # clock-aligned 10-minute intervals overlapping the measured span (time in flood)
    per_day: tuple[DayCount, ...]
    per_interval: tuple[IntervalCount, ...]  # intervals with at least one alarm, in time order
    floods: tuple[FloodEpisode, ...]
    flood_intervals: int
    bad_actors: tuple[BadActor, ...]
    chattering: tuple[ChatteringPair, ...]
    fleeting: tuple[FleetingAlarm, ...]
    stale: tuple[StaleAlarm, ...]
    stale_per_day: tuple[DayCount, ...]
    shelves: tuple[ShelvedPair, ...]
    priorities: tuple[PriorityShare, ...]
    top: int

    @property
    def peak_per_10min(self) -> int:
        """The most alarms in one 10-minute interval."""
        return max((i.alarms for i in self.per_interval), default=0)


def _ratio(amount: float, over: float) -> float | None:
    return amount / over if over > 0 else None


def _pct(amount: float, of: float) -> float | None:
    return 100.0 * amount / of if of > 0 else None


@dataclass(frozen=True, slots=True)
class Metric:
    """A figure of the report, described as data: its key, unit, labels, value and benchmark."""

    key: str
    unit: str
    label_zh: str
    label_en: str
    value: Callable[[Tally], float | None]
    benchmark: Benchmark | None = None


METRICS: tuple[Metric, ...] = (
    Metric("alarms_total", "alarms", "警報總數", "Alarms raised", lambda t: t.alarms),
    Metric(
        "alarms_per_day_avg",
        "alarms/day",
        "每日平均警報數",
        "Alarms per day, average",
        lambda t: _ratio(t.alarms, t.days),
        PER_DAY,
    ),
    Metric(
        "alarms_per_day_max",
        "alarms/day",
        "單日最多警報數",
        "Alarms on the busiest day",
        lambda t: max((d.alarms for d in t.per_day), default=None),
        PER_DAY,
    ),
    Metric(
        "alarms_per_10min_avg",
        "alarms/10 min",
        "每 10 分鐘平均警報數",
        "Alarms per 10 minutes, average",
        lambda t: _ratio(t.alarms, t.days * INTERVALS_PER_DAY),
        PER_10_MIN,
    ),
    Metric(
        "alarms_per_10min_peak",
        "alarms/10 min",
        "10 分鐘內最多警報數",
        "Most alarms in one 10 minutes",
        lambda t: t.peak_per_10min if t.intervals else None,
        PEAK_10_MIN,
    ),
    Metric(
        "flood_time_pct",
        "%",
        "警報氾濫時間占比",
        "Time in alarm flood",
        lambda t: _pct(t.flood_intervals, t.intervals),
        FLOOD_TIME,
    ),
    Metric("flood_episodes", "episodes", "警報氾濫次數", "Alarm floods", lambda t: len(t.floods)),
    Metric(
        "top10_share_pct",
        "%",
        "前 10 大頻發警報占比",
        "Share of the 10 most frequent alarms",
        lambda t: sum(b.alarms for b in t.bad_actors[: t.top]) * 100.0 / t.alarms if t.alarms else None,
        TOP_SHARE,
    ),
    Metric(
        "chattering_alarms",
        "alarms",
        "抖動警報",
        "Chattering alarms",
        lambda t: sum(c.chattering_alarms for c in t.chattering),
        ZERO,
    ),
    Metric("fleeting_alarms", "alarms", "瞬時警報", "Fleeting alarms", lambda t: len(t.fleeting), ZERO),
    Metric("stale_alarms", "alarms", "陳舊警報", "Stale alarms", lambda t: len(t.stale)),
    Metric(
        "stale_max_per_day",
        "alarms",
        "單日最多陳舊警報",
        "Stale alarms on the worst day",
        lambda t: max((d.alarms for d in t.stale_per_day), default=None),
        STALE_PER_DAY,
    ),
    Metric("shelves", "shelves", "擱置次數", "Shelves in force", lambda t: len(t.shelves)),
    Metric(
        "shelved_h",
        "h",
        "擱置時數",
        "Hours shelved",
        lambda t: round(sum(s.hours_in_period for s in t.shelves), 3),
    ),
)


@dataclass(frozen=True, slots=True)
class Figure:
    """A metric's value for one scope, with its unit, benchmark and verdict."""

    key: str
    label_zh: str
    label_en: str
    value: float | None
    unit: str
    benchmark: Benchmark | None
    verdict: Verdict | None


@dataclass(frozen=True, slots=True)
class ScopeHealth:
    """The health of one scope: every site (`site` None) or one site."""

    site: str | None
    site_name: str | None
    tally: Tally
    figures: tuple[Figure, ...]

    def figure(self, key: str) -> Figure:
        """One figure by key."""
        return next(f for f in self.figures if f.key == key)


@dataclass(frozen=True, slots=True)
class AlarmHealth:
    """The assessment of a period: the scope asked for, and each site's when the scope is every site."""

    period: HealthPeriod
    measured_until: datetime
    limits: HealthLimits
    scope: ScopeHealth
    sites: tuple[ScopeHealth, ...] = field(default=())


# --- the measurements, each a pure function ---


def _bin(ts: datetime) -> datetime:
    """The start of the clock-aligned 10-minute interval holding `ts` (UTC)."""
    epoch = int(ts.timestamp()) // _INTERVAL_S * _INTERVAL_S
    return datetime.fromtimestamp(epoch, UTC)


def interval_count(since: datetime, until: datetime) -> int:
    """How many clock-aligned 10-minute intervals overlap [since, until)."""
    if until <= since:
        return 0
    return math.ceil((until - _bin(since)) / INTERVAL)


def per_interval(rows: Iterable[AlarmRow]) -> tuple[IntervalCount, ...]:
    """Alarms per clock-aligned 10-minute interval, the empty ones left out, in time order."""
    counts = Counter(_bin(r.raised_at) for r in rows)
    return tuple(IntervalCount(start, n) for start, n in sorted(counts.items()))


def per_day(intervals: Iterable[IntervalCount], days: Sequence[datetime]) -> tuple[DayCount, ...]:
    """Alarms per Asia/Taipei day, for each of `days` (local midnights), zeros included, from the 10-minute
    counts (Taipei's offset is whole hours, so an interval never straddles a local midnight)."""
    counts: Counter[datetime] = Counter()
    for interval in intervals:
        counts[period_start(interval.start, Period.DAY)] += interval.alarms
    return tuple(DayCount(d.date(), counts.get(d, 0)) for d in days)


def _top(rows: Iterable[AlarmRow], n: int) -> tuple[Contributor, ...]:
    counts = Counter((r.rule_key, r.device_code) for r in rows)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Contributor(rule, device, count) for (rule, device), count in ranked[:n])


def flood_episodes(
    rows: Sequence[AlarmRow], intervals: Sequence[IntervalCount], *, above: int, contributors: int = 3
) -> tuple[FloodEpisode, ...]:
    """Runs of consecutive 10-minute intervals with more than `above` alarms each, and who raised them."""
    runs: list[list[IntervalCount]] = []
    for interval in intervals:
        if interval.alarms <= above:
            continue
        if runs and interval.start - runs[-1][-1].start == INTERVAL:
            runs[-1].append(interval)
        else:
            runs.append([interval])
    by_interval: dict[datetime, list[AlarmRow]] = defaultdict(list)
    if runs:
        for r in rows:
            by_interval[_bin(r.raised_at)].append(r)
    episodes = []
    for run in runs:
        start, end = run[0].start, run[-1].start + INTERVAL
        inside = [r for interval in run for r in by_interval[interval.start]]
        episodes.append(
            FloodEpisode(
                start=start,
                end=end,
                intervals=len(run),
                alarms=sum(i.alarms for i in run),
                peak_per_10min=max(i.alarms for i in run),
                top_contributors=_top(inside, contributors),
            )
        )
    return tuple(episodes)


Pairs = dict[tuple[str, int], list[AlarmRow]]


def _pairs(rows: Iterable[AlarmRow]) -> Pairs:
    """Rows by (rule, device), each list in raise order (rows read by `read_rows` are in that order already,
    which makes the sort a single pass)."""
    out: Pairs = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r.raised_at, r.id)):
        out[(r.rule_key, r.device_id)].append(r)
    return out


def chattering(
    rows: Sequence[AlarmRow], *, count: int, window: timedelta, pairs: Pairs | None = None
) -> tuple[ChatteringPair, ...]:
    """Pairs that raised `count` or more alarms within `window` (first to last raise at most `window` apart).

    An alarm chatters when it is one of `count` consecutive raises of its pair that span at most `window`; a
    burst of more raises within the window makes every one of them chatter. `pairs`: the rows already
    grouped by `_pairs`, to group them once for several measurements.
    """
    found = []
    for alarms in (pairs if pairs is not None else _pairs(rows)).values():
        times = [a.raised_at for a in alarms]
        members: set[int] = set()
        for k in range(len(times) - count + 1):
            if times[k + count - 1] - times[k] <= window:
                members.update(range(k, k + count))
        if not members:
            continue
        most, first = 0, 0
        for j in range(len(times)):
            while times[j] - times[first] > window:
                first += 1
            most = max(most, j - first + 1)
        head = alarms[0]
        found.append(
            ChatteringPair(
                rule_key=head.rule_key,
                rule_name=head.rule_name,
                device_id=head.device_id,
                device_code=head.device_code,
                site_code=head.site_code,
                alarms=len(alarms),
                chattering_alarms=len(members),
                max_in_window=most,
                first_burst_at=times[min(members)],
            )
        )
    return tuple(sorted(found, key=lambda c: (-c.chattering_alarms, c.rule_key, c.device_code)))


def is_fleeting(row: AlarmRow, *, under: timedelta) -> bool:
    """Cleared sooner than `under` after the raise, and nobody acknowledged it before it cleared."""
    if row.cleared_at is None or row.cleared_at - row.raised_at >= under:
        return False
    return row.acknowledged_at is None or row.acknowledged_at >= row.cleared_at


def fleeting(rows: Iterable[AlarmRow], *, under: timedelta) -> tuple[FleetingAlarm, ...]:
    """The fleeting alarms, in raise order."""
    return tuple(
        FleetingAlarm(
            alarm_id=r.id,
            rule_key=r.rule_key,
            device_code=r.device_code,
            site_code=r.site_code,
            raised_at=r.raised_at,
            cleared_at=r.cleared_at,
            active_s=(r.cleared_at - r.raised_at).total_seconds(),
        )
        for r in rows
        if r.cleared_at is not None and is_fleeting(r, under=under)
    )


def _stale_span(
    row: AlarmRow, after: timedelta, since: datetime, until: datetime
) -> tuple[datetime, datetime]:
    """When, within [since, until), the alarm was stale (an empty span when never)."""
    start = max(row.raised_at + after, since)
    end = min(row.cleared_at, until) if row.cleared_at is not None else until
    return start, end


def stale(
    rows: Iterable[AlarmRow], *, after: timedelta, since: datetime, until: datetime
) -> tuple[StaleAlarm, ...]:
    """Alarms active longer than `after` at some time in [since, until), the longest first."""
    found = []
    for r in rows:
        start, end = _stale_span(r, after, since, until)
        if start >= end:
            continue
        active_until = min(r.cleared_at, until) if r.cleared_at is not None else until
        found.append(
            StaleAlarm(
                alarm_id=r.id,
                rule_key=r.rule_key,
                rule_name=r.rule_name,
                device_code=r.device_code,
                site_code=r.site_code,
                raised_at=r.raised_at,
                cleared_at=r.cleared_at,
                active_h=(active_until - r.raised_at).total_seconds() / 3600,
            )
        )
    return tuple(sorted(found, key=lambda s: (-s.active_h, s.alarm_id)))


def stale_per_day(
    rows: Iterable[AlarmRow], days: Sequence[datetime], *, after: timedelta, since: datetime, until: datetime
) -> tuple[DayCount, ...]:
    """For each Asia/Taipei day, the alarms that were stale at some time in it (within [since, until))."""
    spans = [_stale_span(r, after, since, until) for r in rows]
    spans = [(s, e) for s, e in spans if s < e]
    out = []
    for day in days:
        start, end = max(day, since), min(next_period(day, Period.DAY), until)
        out.append(DayCount(day.date(), sum(1 for s, e in spans if s < end and e > start)))
    return tuple(out)


def shelved(shelves: Iterable[ShelfRow], *, since: datetime, until: datetime) -> tuple[ShelvedPair, ...]:
    """The shelves in force at some time in [since, until), with the hours they were in force in it."""
    out = []
    for s in shelves:
        ends = s.ends_at
        start, end = max(s.created_at, since), min(ends, until)
        if start >= end:
            continue
        out.append(
            ShelvedPair(
                shelf_id=s.id,
                rule_key=s.rule_key,
                device_id=s.device_id,
                device_code=s.device_code,
                site_code=s.site_code,
                alarm_id=s.alarm_id,
                shelved_from=s.created_at,
                shelved_to=ends,
                ended_early=s.ended_at is not None and s.ended_at < s.until,
                created_by=s.created_by,
                reason=s.reason,
                hours_in_period=(end - start).total_seconds() / 3600,
                hours_total=(ends - s.created_at).total_seconds() / 3600,
            )
        )
    return tuple(sorted(out, key=lambda p: (-p.hours_in_period, p.shelf_id)))


def bad_actors(
    rows: Sequence[AlarmRow],
    chatter: Sequence[ChatteringPair],
    *,
    fleeting_under: timedelta,
    pairs: Pairs | None = None,
) -> tuple[BadActor, ...]:
    """Every (rule, device) pair by alarm count (ties by rule, then device), with its share of all alarms."""
    pairs = pairs if pairs is not None else _pairs(rows)
    total = sum(len(v) for v in pairs.values())
    chattering_by_pair = {(c.rule_key, c.device_id): c.chattering_alarms for c in chatter}
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0][0], kv[1][0].device_code))
    out = []
    cumulative = 0
    for rank, (key, alarms) in enumerate(ranked, start=1):
        cumulative += len(alarms)
        head = alarms[0]
        out.append(
            BadActor(
                rank=rank,
                rule_key=head.rule_key,
                rule_name=head.rule_name,
                device_id=head.device_id,
                device_code=head.device_code,
                building_code=head.building_code,
                site_code=head.site_code,
                alarms=len(alarms),
                share_pct=100.0 * len(alarms) / total,
                cumulative_pct=100.0 * cumulative / total,
                chattering_alarms=chattering_by_pair.get(key, 0),
                fleeting_alarms=sum(1 for a in alarms if is_fleeting(a, under=fleeting_under)),
            )
        )
    return tuple(out)


def priorities(rows: Sequence[AlarmRow]) -> tuple[PriorityShare, ...]:
    """Alarms per severity against the recommended shares."""
    counts = Counter(r.severity for r in rows)
    total = len(rows)
    out = []
    for severity, recommended in RECOMMENDED_PCT.items():
        share = _pct(counts.get(severity, 0), total)
        out.append(
            PriorityShare(
                severity=severity,
                alarms=counts.get(severity, 0),
                share_pct=share,
                recommended_pct=recommended,
                difference_pct=share - recommended if share is not None else None,
            )
        )
    return tuple(out)


def tally(
    alarms: Sequence[AlarmRow],
    shelves: Sequence[ShelfRow],
    *,
    since: datetime,
    until: datetime,
    limits: HealthLimits,
) -> Tally:
    """Measure one scope over [since, until); `until` is where measuring stops (now, in a running period)."""
    raised = [a for a in alarms if since <= a.raised_at < until]
    # Only an alarm active longer than the stale limit can be stale: the rest need not be looked at again.
    long_active = [
        a
        for a in alarms
        if (a.cleared_at or until) - a.raised_at > limits.stale_after and a.raised_at < until
    ]
    days = periods(since, until, Period.DAY) if until > since else []
    intervals = per_interval(raised)
    floods = flood_episodes(raised, intervals, above=limits.flood_above)
    pairs = _pairs(raised)
    chatter = chattering(raised, count=limits.chatter_count, window=limits.chatter_window, pairs=pairs)
    return Tally(
        alarms=len(raised),
        days=(until - since).total_seconds() / 86400,
        intervals=interval_count(since, until),
        per_day=per_day(intervals, days),
        per_interval=intervals,
        floods=floods,
        flood_intervals=sum(f.intervals for f in floods),
        bad_actors=bad_actors(raised, chatter, fleeting_under=limits.fleeting_under, pairs=pairs),
        chattering=chatter,
        fleeting=fleeting(raised, under=limits.fleeting_under),
        stale=stale(long_active, after=limits.stale_after, since=since, until=until),
        stale_per_day=stale_per_day(long_active, days, after=limits.stale_after, since=since, until=until),
        shelves=shelved(shelves, since=since, until=until),
        priorities=priorities(raised),
        top=limits.top,
    )


def figures(measured: Tally) -> tuple[Figure, ...]:
    """Every metric's figure for a tally."""
    out = []
    for m in METRICS:
        value = m.value(measured)
        number = float(value) if value is not None else None
        verdict = m.benchmark.verdict(number) if m.benchmark is not None else None
        out.append(Figure(m.key, m.label_zh, m.label_en, number, m.unit, m.benchmark, verdict))
    return tuple(out)


def assess(
    alarms: Sequence[AlarmRow],
    shelves: Sequence[ShelfRow],
    *,
    period: HealthPeriod,
    now: datetime,
    sites: Mapping[str, str],
    site: str | None = None,
    limits: HealthLimits | None = None,
    breakdown: bool = True,
) -> AlarmHealth:
    """The health of a period for every site together and, with `breakdown`, for each site; or for one site
    (`site`)."""
    limits = limits or HealthLimits()
    until = period.measured_until(now)
    since = period.since

    def scope(code: str | None) -> ScopeHealth:
        mine = [a for a in alarms if code is None or a.site_code == code]
        shelf = [s for s in shelves if code is None or s.site_code == code]
        measured = tally(mine, shelf, since=since, until=until, limits=limits)
        return ScopeHealth(code, sites.get(code) if code else None, measured, figures(measured))

    if site is not None:
        return AlarmHealth(period, until, limits, scope(site))
    each = tuple(scope(code) for code in sites) if breakdown else ()
    return AlarmHealth(period, until, limits, scope(None), each)


def assess_stored(
    session: Session,
    *,
    period: HealthPeriod,
    now: datetime,
    site: str | None = None,
    limits: HealthLimits | None = None,
    breakdown: bool = True,
) -> AlarmHealth:
    """Read the period's rows and assess them; 422 naming `site` when no site has that code."""
    sites = site_names(session)
    if site is not None and site not in sites:
        known = ", ".join(sites) or "none registered"
        raise InvalidInputError("unknown_site", f"no site {site!r} (sites: {known})", loc=("query", "site"))
    rows, shelves = read_rows(session, since=period.since, until=period.until, site=site)
    return assess(
        rows, shelves, period=period, now=now, sites=sites, site=site, limits=limits, breakdown=breakdown
    )

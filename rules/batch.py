"""One rule judged over many devices at once (numpy), with exactly the findings of the kind's pure `judge`.

Each kind's `judge` stays the definition: the backtest and the live evaluator call it, and
tests/rules/test_batch.py compares it with the functions here on randomised windows. The cycle runner, which
judges thousands of devices per rule, uses these instead: the window cache keeps every series as columns
(`Column`: epoch microseconds and values), a cycle lays one quantity's columns end to end (`Frame`), and a
rule is judged for all its devices in a few array operations over that frame.

Exactness: times are whole microseconds (as `datetime` is), durations are compared as microseconds, values
are compared and combined with the same IEEE operations in the same order as the pure code (the after-hours
limit is the kind's own, from each device's quarter-hour summaries); findings point back at the cached
`datetime` objects. A frame holding a value that is not finite (the contract refuses them) makes the rule
fall back to the pure path, as does a kind or a schedule with no batch form here (`judge_frame` returns
None).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from rules.engine import Finding, Rule, Sample, Status, ThresholdRule
from rules.kinds import (
    OFFLINE_GAPS,
    ROUNDING_EVIDENCE,
    AfterHoursRule,
    FlatlineRule,
    OfflineRule,
    RateOfChangeRule,
    on_grid,
)
from rules.schedule import Schedule
from rules.summary import EPOCH, ONE_US, Sealed, Summary, us

MINUTE_US = 60_000_000

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# Status codes in the arrays; NONE: the kind's judge returned None (nothing to judge).
NONE, BREACH, PENDING, RECOVERING, NORMAL = -1, 0, 1, 2, 3
STATUSES = {
    BREACH: Status.BREACH,
    PENDING: Status.PENDING,
    RECOVERING: Status.RECOVERING,
    NORMAL: Status.NORMAL,
}
_OK, _GREY, _BAD, _SKIP = int(Sample.OK), int(Sample.GREY), int(Sample.BAD), int(Sample.SKIP)


to_us = us  # an aware instant as whole microseconds since the epoch (exact), as rules.summary counts


def span_us(seconds: float) -> int:
    """`timedelta(seconds=...)`, as the pure code builds it, in microseconds."""
    return timedelta(seconds=seconds) // ONE_US


class Column:
    """One device's cached series as growable arrays: epoch microseconds and values, `lo:hi` in use."""

    __slots__ = ("hi", "lo", "t", "v")

    def __init__(self, points: Sequence[tuple[datetime, float]] = ()) -> None:
        """Columns of an oldest-first window."""
        size = max(16, 2 * len(points))
        self.t: Ints = np.zeros(size, np.int64)
        self.v: Floats = np.zeros(size, np.float64)
        self.lo = 0
        self.hi = len(points)
        if points:
            self.t[: self.hi] = [to_us(ts) for ts, _ in points]
            self.v[: self.hi] = [value for _, value in points]

    def append(self, t_us: int, value: float) -> None:
        """Add a reading newer than every other."""
        self.extend((t_us,), (value,))

    def extend(self, t_us: Sequence[int], values: Sequence[float]) -> None:
        """Add readings newer than every other, oldest first."""
        n = len(t_us)
        if self.hi + n > len(self.t):
            kept = self.hi - self.lo
            size = max(16, 2 * (kept + n))
            t: Ints = np.zeros(size, np.int64)
            v: Floats = np.zeros(size, np.float64)
            t[:kept], v[:kept] = self.t[self.lo : self.hi], self.v[self.lo : self.hi]
            self.t, self.v, self.lo, self.hi = t, v, 0, kept
        if n == 1:
            self.t[self.hi], self.v[self.hi] = t_us[0], values[0]
        else:
            self.t[self.hi : self.hi + n], self.v[self.hi : self.hi + n] = t_us, values
        self.hi += n

    def drop(self, n: int) -> None:
        """Forget the `n` oldest readings."""
        self.lo += n

    def __len__(self) -> int:
        return self.hi - self.lo


@dataclass(frozen=True, slots=True)
class Frame:
    """One quantity's columns end to end: device `i` is `t[start[i]:end[i]]`, `v[...]`, `points[codes[i]]`."""

    t: Ints
    v: Floats
    start: Ints
    end: Ints
    index: dict[str, int]  # device code -> i
    points: dict[str, list[tuple[datetime, float]]]  # the cache's own windows, for the datetimes
    finite: bool
    key: Ints | None  # device i's element at time t: i * span + (t - first), ascending; None if too wide
    first: int
    span: int
    skipped: Ints  # readings before `since` left out: device i's element j is `points[code][j + skipped[i]]`

    @classmethod
    def of(
        cls,
        columns: dict[str, Column],
        points: dict[str, list[tuple[datetime, float]]],
        since: datetime | None = None,
    ) -> Frame:
        """Lay the columns end to end (one copy), from `since` on when given: a rule judging 6 hours needs
        no copy of the weeks another rule keeps of the same quantity."""
        codes = list(columns)
        since_us = to_us(since) if since is not None else None
        skip = [
            int(np.searchsorted(c.t[c.lo : c.hi], since_us, "left")) if since_us is not None else 0
            for c in columns.values()
        ]
        skipped = np.array(skip, np.int64)
        sizes = np.fromiter((len(columns[c]) for c in codes), np.int64, len(codes)) - skipped
        end = np.cumsum(sizes)
        start = end - sizes
        laid = [(c, c.lo + k) for c, k in zip(columns.values(), skip, strict=True)]
        t = np.concatenate([c.t[lo : c.hi] for c, lo in laid]) if codes else np.zeros(0, np.int64)
        v = np.concatenate([c.v[lo : c.hi] for c, lo in laid]) if codes else np.zeros(0)
        index = {c: i for i, c in enumerate(codes)}
        first = int(t.min()) if len(t) else 0
        span = int(t.max()) - first + 1 if len(t) else 1
        key = None
        if len(codes) * span < 2**62:  # one sorted key, so every device's window is two binary searches
            key = np.repeat(np.arange(len(codes), dtype=np.int64) * span, sizes) + (t - first)
        return cls(t, v, start, end, index, points, bool(np.isfinite(v).all()), key, first, span, skipped)

    def bounds(self, dev: Ints, since_us: int, until_us: int) -> tuple[Ints, Ints]:
        """For devices `dev`, the element range [lo, hi) with since <= t <= until."""
        start, end = self.start[dev], self.end[dev]
        if self.key is not None:
            low = min(max(since_us - self.first, 0), self.span)
            high = min(max(until_us - self.first, -1), self.span - 1)
            base = dev * self.span
            lo = np.searchsorted(self.key, base + low, "left")
            hi = np.searchsorted(self.key, base + high, "right") if high >= 0 else start
            return np.clip(lo, start, end), np.clip(hi, start, end)
        before = np.concatenate(([0], np.cumsum(self.t < since_us)))
        upto = np.concatenate(([0], np.cumsum(self.t <= until_us)))
        return start + (before[end] - before[start]), start + (upto[end] - upto[start])


@dataclass(frozen=True, slots=True)
class Ragged:
    """The windows of the devices judged, end to end: segment k is `t[s[k]:e[k]]` (never empty)."""

    codes: list[str]  # segment k's device
    picked: Ints  # segment k's position in the codes asked for
    t: Ints
    v: Floats
    s: Ints
    e: Ints
    base: Ints  # segment k's element j is `points[codes[k]][j + base[k]]`
    points: dict[str, list[tuple[datetime, float]]]

    @property
    def n(self) -> int:
        """Segments."""
        return len(self.codes)

    def seg(self) -> Ints:
        """Each element's segment."""
        return np.repeat(np.arange(self.n, dtype=np.int64), self.e - self.s)

    def ts(self, k: int, j: int) -> datetime:
        """The cached datetime of element j (of segment k)."""
        return self.points[self.codes[k]][j + int(self.base[k])][0]


def cut(frame: Frame, codes: Sequence[str], since: datetime, until: datetime) -> Ragged:
    """The devices' windows within [since, until], as `slice_window` cuts them; empty ones are left out."""
    pick = np.fromiter((frame.index.get(c, -1) for c in codes), np.int64, len(codes))
    picked = np.flatnonzero(pick >= 0)
    start = frame.start[pick[picked]]
    lo, hi = frame.bounds(pick[picked], to_us(since), to_us(until))
    keep = hi > lo
    lo, hi, start, picked = lo[keep], hi[keep], start[keep], picked[keep]
    names = [codes[i] for i in picked.tolist()]
    sizes = hi - lo
    e = np.cumsum(sizes)
    s = e - sizes
    idx = np.repeat(lo - s, sizes) + np.arange(int(e[-1]) if len(e) else 0, dtype=np.int64)
    base = lo - start - s + frame.skipped[pick[picked]]
    return Ragged(names, picked, frame.t[idx], frame.v[idx], s, e, base, frame.points)


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One rule's findings for a Ragged's segments, as arrays; `finding(k)` builds segment k's Finding."""

    ragged: Ragged
    status: npt.NDArray[np.int8]
    since: Ints  # element index, or -1 for `now`
    value: Floats
    latest: Ints  # element index, or -1 for `now`
    now: datetime
    detail: Callable[[int], str] | None = None  # segment -> detail, for BREACH findings that carry one

    def finding(self, k: int) -> Finding | None:
        """Segment k's finding, exactly as the kind's `judge` returns it."""
        code = int(self.status[k])
        if code == NONE:
            return None
        since = self.ragged.ts(k, int(self.since[k])) if self.since[k] >= 0 else self.now
        latest = self.ragged.ts(k, int(self.latest[k])) if self.latest[k] >= 0 else self.now
        detail = self.detail(k) if self.detail is not None and code == BREACH else ""
        return Finding(STATUSES[code], since, float(self.value[k]), latest, detail)


def held(
    r: Ragged, values: Floats, state: npt.NDArray[np.int8], *, for_us: int, clear_us: int, above: bool
) -> tuple[npt.NDArray[np.int8], Ints, Floats, Ints]:
    """`rules.engine.held` for every segment: status, since (element), value, latest (element)."""
    n = r.n
    status = np.full(n, NONE, np.int8)
    since = np.full(n, -1, np.int64)
    value = np.zeros(n, np.float64)
    latest = np.full(n, -1, np.int64)
    judged = np.flatnonzero(state != _SKIP)
    if not len(judged):
        return status, since, value, latest
    seg = r.seg()[judged]
    counts = np.bincount(seg, minlength=n)
    has = np.flatnonzero(counts)
    first = np.concatenate(([0], np.cumsum(counts)))[:-1][has]
    last = first + counts[has] - 1
    st = state[judged]
    brk = np.ones(len(judged), np.bool_)
    brk[1:] = (st[1:] != st[:-1]) | (seg[1:] != seg[:-1])
    run = np.maximum.reduceat(np.where(brk, np.arange(len(judged)), -1), first)
    kind = st[last]
    vj = np.append(values[judged], 0.0)  # one past the end, so reduceat may name len(judged)
    pairs = np.empty(2 * len(has), np.int64)
    pairs[0::2], pairs[1::2] = run, last + 1
    worst = (np.maximum if above else np.minimum).reduceat(vj, pairs)[0::2]
    span = r.t[judged[last]] - r.t[judged[run]]
    bad = kind == _BAD
    ok = kind == _OK
    out = np.where(
        bad,
        np.where(span >= for_us, BREACH, PENDING),
        np.where(ok & (span >= clear_us), NORMAL, RECOVERING),
    ).astype(np.int8)
    status[has] = out
    since[has] = judged[run]
    latest[has] = judged[last]
    value[has] = np.where(bad, worst, vj[last])
    return status, since, value, latest


def _threshold(rule: ThresholdRule, r: Ragged, now: datetime) -> Verdicts:
    v = r.v
    bad = np.zeros(len(v), np.bool_)
    grey = np.zeros(len(v), np.bool_)
    if rule.above is not None:
        bad |= v > rule.above
        if rule.clear_below is not None:
            grey |= v > rule.clear_below
    if rule.below is not None:
        bad |= v < rule.below
        if rule.clear_above is not None:
            grey |= v < rule.clear_above
    state = np.where(bad, _BAD, np.where(grey, _GREY, _OK)).astype(np.int8)
    above = not (rule.above is None and rule.below is not None)
    out = held(r, v, state, for_us=span_us(rule.for_s), clear_us=span_us(rule.clear_for_s), above=above)
    return Verdicts(r, *out, now=now)


def _rate_of_change(rule: RateOfChangeRule, r: Ragged, now: datetime) -> Verdicts:
    t, v = r.t, r.v
    change = np.zeros(len(v), np.float64)
    change[1:] = v[1:] - v[:-1]
    gap_s = np.zeros(len(v), np.float64)
    gap_s[1:] = (t[1:] - t[:-1]).astype(np.float64) / 1e6
    jump = np.zeros(len(v), np.bool_)
    if rule.max_rise is not None:
        jump |= change > rule.max_rise
    if rule.max_fall is not None:
        jump |= -change > rule.max_fall
    state = np.where(gap_s > rule.max_gap_s, _SKIP, np.where(jump, _BAD, _OK)).astype(np.int8)
    state[r.s] = _SKIP  # a segment's first reading has none before it
    for_us, clear_us = span_us(rule.for_s), span_us(rule.clear_for_s)
    out = held(r, np.abs(change), state, for_us=for_us, clear_us=clear_us, above=True)
    return Verdicts(r, *out, now=now)


def _flatline(rule: FlatlineRule, r: Ragged, now: datetime) -> Verdicts | None:
    v = r.v
    n = r.n
    last = r.e - 1
    final = v[last]
    ignored = (final == rule.ignore_value) if rule.ignore_value is not None else np.zeros(n, np.bool_)
    start = last.copy()
    low, high = final.copy(), final.copy()
    active = ~ignored & (start > r.s)
    while active.any():  # walk back in step over every device, as the pure loop does over one
        a = np.flatnonzero(active)
        x = v[start[a] - 1]
        top = np.where(x > high[a], x, high[a])  # max(high, x): x only when greater
        bottom = np.where(x < low[a], x, low[a])  # min(low, x): x only when smaller
        stop = (top - bottom) >= rule.epsilon
        go = a[~stop]
        low[go], high[go] = bottom[~stop], top[~stop]
        start[go] -= 1
        active[a[stop]] = False
        active[go] = start[go] > r.s[go]
    count = last - start + 1
    enough = (count >= rule.samples) & (r.t[last] - r.t[start] >= span_us(rule.for_s))
    # A device found to round its readings (`FlatlineRule.rounds`) is judged by the pure path, with its
    # whole message: a breach here may be a stable room read in steps of 0.1 degC.
    for k in np.flatnonzero(enough & ~ignored).tolist():
        lo, first = int(start[k]), int(r.s[k])
        if on_grid(v[max(first, lo - ROUNDING_EVIDENCE) : lo + 1].tolist()):
            return None
    status = np.where(
        ignored, RECOVERING, np.where(count == 1, NORMAL, np.where(enough, BREACH, PENDING))
    ).astype(np.int8)
    since = np.where(ignored | (count == 1), last, start)
    return Verdicts(r, status, since, final, last, now=now)


def _offline(rule: OfflineRule, r: Ragged, now: datetime) -> Verdicts:
    t = r.t
    last = r.e - 1
    size = r.e - r.s
    declared = rule.declared_interval_s
    interval = np.full(r.n, declared or rule.fallback_s, np.float64)
    gaps_n = np.minimum(size, OFFLINE_GAPS + 1) - 1
    for g in np.unique(gaps_n[size >= 3]).tolist():  # time_weighted_median_us of the last gaps
        rows = np.flatnonzero((size >= 3) & (gaps_n == g))
        at = (r.e[rows] - g - 1)[:, None] + np.arange(g + 1)
        gaps = np.sort(np.diff(t[at], axis=1), axis=1)
        running = np.cumsum(gaps, axis=1)
        first = np.argmax(2 * running >= running[:, -1:], axis=1)
        learnt = gaps[np.arange(len(rows)), first] / 1e6
        interval[rows] = np.maximum(learnt, rule.floor_s)
    silent = (to_us(now) - t[last]).astype(np.float64) / 1e6
    breach = silent > interval * rule.missed_intervals + rule.grace_s
    status = np.where(breach, BREACH, NORMAL).astype(np.int8)
    return Verdicts(r, status, last, silent, np.where(breach, -1, last), now=now)


class _Occupancy:
    """A schedule's answer per UTC minute, exact when its periods start and end on whole minutes."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.minutes: dict[int, bool] = {}
        bounds = [b for p in schedule.periods for b in (p.start, p.end)]
        self.exact = all(b.second == 0 and b.microsecond == 0 for b in bounds)

    def at(self, minute: int) -> bool | None:
        """In the schedule during this UTC minute; None when the zone's offset is not whole minutes."""
        known = self.minutes.get(minute)
        if known is None:
            ts = EPOCH + timedelta(minutes=minute)
            offset = ts.astimezone(self.schedule.zone).utcoffset()
            if offset is None or offset % timedelta(minutes=1):
                return None
            known = self.minutes[minute] = self.schedule.contains(ts)
        return known

    def mask(self, t: Ints) -> Bools | None:
        """In the schedule, per reading; None when that cannot be answered per minute."""
        if not self.exact:
            return None
        if not len(t):
            return np.zeros(0, np.bool_)
        minute = t // MINUTE_US
        first, final = int(minute.min()), int(minute.max())
        answers = [self.at(m) for m in range(first, final + 1)]
        if any(a is None for a in answers):
            return None
        if len(self.minutes) > 4 * len(answers) + 10_000:  # forget minutes long past
            self.minutes = {m: a for m, a in self.minutes.items() if m >= first}
        return np.array(answers, np.bool_)[minute - first]


_OCCUPANCY: dict[tuple[str, int], _Occupancy] = {}


def occupancy(schedule: Schedule) -> _Occupancy:
    """The per-minute answers of a schedule, kept while the same schedule object is in use."""
    key = (schedule.name, id(schedule))
    found = _OCCUPANCY.get(key)
    if found is None or found.schedule is not schedule:
        if len(_OCCUPANCY) >= 256:  # schedules of rules reloaded long ago
            _OCCUPANCY.clear()
        found = _OCCUPANCY[key] = _Occupancy(schedule)
    return found


def _after_hours(
    rule: AfterHoursRule, r: Ragged, since: datetime, now: datetime, sealed: Sealed
) -> Verdicts | None:
    """`r` holds the readings from `rule.raw_from(now)`; the limit reads each device's summaries (and its
    readings from `since`, as the pure judge sees them)."""
    if rule.schedule is None:
        return Verdicts(r, np.full(r.n, NONE, np.int8), r.s, r.v[r.s], r.s, now=now)
    occupied = occupancy(rule.schedule).mask(r.t)
    if occupied is None:
        return None
    if rule.timers is not None:
        timed = occupancy(rule.timers).mask(r.t)
        if timed is None:
            return None
        occupied |= timed
    found = [rule.limit(Summary(r.points[code], sealed.get(code), since), now) for code in r.codes]
    limit = np.array([math.nan if x is None else x for x in found], np.float64)
    seg = r.seg()
    state = np.where((r.v <= limit[seg]) | occupied, _OK, _BAD).astype(np.int8)
    status, began, value, latest = held(
        r, r.v, state, for_us=span_us(rule.for_s), clear_us=span_us(rule.clear_for_s), above=True
    )
    status[np.isnan(limit)] = NONE

    def detail(k: int) -> str:
        finding = Finding(Status.BREACH, now, float(value[k]), now)
        return rule.detail(finding, float(limit[k]))

    return Verdicts(r, status, began, value, latest, now=now, detail=detail)


_KINDS: dict[type[Any], Callable[[Any, Ragged, datetime], Verdicts | None]] = {
    ThresholdRule: _threshold,
    RateOfChangeRule: _rate_of_change,
    FlatlineRule: _flatline,
    OfflineRule: _offline,
}


def batchable(rule: Rule) -> bool:
    """True when the rule's kind has a batch form here (kinds with peers have none)."""
    return type(rule) in _KINDS or type(rule) is AfterHoursRule


def judge_frame(
    rule: Rule,
    frame: Frame,
    codes: Sequence[str],
    *,
    since: datetime,
    now: datetime,
    sealed: Sealed | None = None,
) -> Verdicts | None:
    """The rule's findings over every device in `codes` whose window in [since, now] is not empty, in
    `codes`' order; None when the pure path must judge (no batch form, or a value that is not finite).
    `sealed`: the devices' quarter-hour summaries before the frame's readings (`rules.summary`), if any."""
    if not frame.finite:
        return None
    if type(rule) is AfterHoursRule:
        ragged = cut(frame, codes, max(since, rule.raw_from(now)), now)
        return _after_hours(rule, ragged, since, now, sealed or {})
    if isinstance(rule, FlatlineRule):
        if not rule.continuous:
            return None  # a rounding or on-change device: judged with its other quantities, one by one
        since = max(since, rule.raw_from(now))  # its summaries are for the pure path's memory of holds
    judge = _KINDS.get(type(rule))
    return None if judge is None else judge(rule, cut(frame, codes, since, now), now)

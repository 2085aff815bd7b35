"""Quarter-hour summaries of a series: what rules with weeks of lookback keep instead of every reading.

A baseline rule compares this hour with the same hour over three weeks; an after-hours rule compares the night
with a week of in-schedule consumption. Neither reads the readings themselves that far back, only how many
there were, their sum and their spread, per stretch of time. So the window cache keeps, beyond the last hours
every rule reads reading by reading, one summary per device and quarter hour (`Cells`): four numbers, where a
5-second meter gives 180 readings. Its memory is then bounded by the rules' lookbacks, not by how often
devices report.

A cell is [start, start + CELL) on a grid of whole quarter hours since the epoch; Asia/Taipei (UTC+8), like
every zone today, is a whole number of quarter hours from UTC, so a cell is a local quarter hour too, and a
schedule whose periods start and end on quarter hours is either on or off for the whole of a cell.

Exactness: a cell's numbers depend only on its readings (`Stats.of` uses `math.fsum`, which is correctly
rounded whatever the order), and kinds combine cells oldest first, so a cell summarised by the cache hours
ago and the same cell summarised now from the raw readings (the backtest's way) are the same bits: the cycle
runner and a replay find exactly alike.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from rules.engine import Window

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
CELL = timedelta(minutes=15)
CELL_US = CELL // ONE_US

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def floor_cell(ts: datetime) -> datetime:
    """The start of the cell that holds `ts`."""
    return ts - (ts - EPOCH) % CELL


def ceil_cell(ts: datetime) -> datetime:
    """The first cell start at or after `ts`."""
    floor = floor_cell(ts)
    return floor if floor == ts else floor + CELL


def us(ts: datetime) -> int:
    """Whole microseconds since the epoch (exact)."""
    return (ts - EPOCH) // ONE_US


def at(t_us: int) -> datetime:
    """The instant `t_us` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=t_us)


@dataclass(frozen=True, slots=True)
class Stats:
    """How many readings, their sum and the sum of their squared deviations from their mean."""

    n: int
    total: float
    m2: float

    @property
    def mean(self) -> float:
        """The mean of the readings summarised."""
        return self.total / self.n

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        """The summary of some readings (at least one)."""
        total = math.fsum(values)
        mean = total / len(values)
        return cls(len(values), total, math.fsum((x - mean) ** 2 for x in values))

    @classmethod
    def combine(cls, parts: Sequence[Stats]) -> Stats | None:
        """The summary of the readings of all `parts` (the parallel form of Welford's update); None for none.

        Exact in arithmetic; in floating point, deterministic for the same parts in the same order.
        """
        n = sum(p.n for p in parts)
        if not n:
            return None
        total = math.fsum(p.total for p in parts)
        mean = total / n
        return cls(n, total, math.fsum(p.m2 + p.n * (p.mean - mean) ** 2 for p in parts))


def _runs(
    window: Window, first_us: int, end_us: int, since: datetime | None
) -> Iterator[tuple[int, int, int]]:
    """(cell start, lo, hi): the window's readings `lo:hi` are those of that cell, for every cell in
    [first_us, end_us) that holds a reading, oldest first; readings before `since` or from `end_us` on are
    left out."""
    first = at(first_us)
    lo = bisect.bisect_left(window, (first if since is None else max(first, since),))
    end = at(end_us)
    while lo < len(window) and window[lo][0] < end:
        start = us(floor_cell(window[lo][0]))
        hi = bisect.bisect_left(window, (min(at(start + CELL_US), end),), lo)  # `end` may cut the last cell
        yield start, lo, hi
        lo = hi


def summarise(
    window: Window, first_us: int, end_us: int, since: datetime | None = None
) -> list[tuple[int, Stats]]:
    """(cell start, stats) of every cell in [first_us, end_us) that holds a reading, oldest first.

    `first_us` is a cell start; readings before it (or before `since`) are not counted.
    """
    runs = _runs(window, first_us, end_us, since)
    return [(start, Stats.of([v for _, v in window[lo:hi]])) for start, lo, hi in runs]


class Cells:
    """One device's sealed cells, oldest first, as growable arrays (`lo:hi` in use); `to_us`: the cells
    before it are sealed; `raw_us`: the readings before it are no longer kept (never after `to_us`). A cell
    sealed while its readings are still kept is sealed again (`replace`) when a late one arrives."""

    __slots__ = ("_flags", "hi", "lo", "m2", "n", "raw_us", "start", "to_us", "total")

    def __init__(self, to_us: int) -> None:
        """No cells yet; sealed up to `to_us`, no reading kept before it."""
        self.start: Ints = np.zeros(16, np.int64)
        self.n: Ints = np.zeros(16, np.int64)
        self.total: Floats = np.zeros(16, np.float64)
        self.m2: Floats = np.zeros(16, np.float64)
        self.lo = self.hi = 0
        self.to_us = self.raw_us = to_us
        self._flags: dict[Hashable, tuple[Ints, Bools, int]] = {}  # key -> (start array, flags, tested up to)

    def __len__(self) -> int:
        return self.hi - self.lo

    def seal(self, cells: Iterable[tuple[int, Stats]], to_us: int) -> None:
        """Add cells newer than every other, and say the series is summarised up to `to_us`."""
        for start, stats in cells:
            if self.hi == len(self.start):
                kept = self.hi - self.lo
                size = max(16, 2 * (kept + 1))
                for name in ("start", "n", "total", "m2"):
                    old = getattr(self, name)
                    grown = np.zeros(size, old.dtype)
                    grown[:kept] = old[self.lo : self.hi]
                    setattr(self, name, grown)
                self.lo, self.hi = 0, kept
            i = self.hi
            self.start[i], self.n[i], self.total[i], self.m2[i] = start, stats.n, stats.total, stats.m2
            self.hi += 1
        self.to_us = max(self.to_us, to_us)

    def catch_up(self, window: Window, first_us: int, upto_us: int) -> None:
        """Seal the window's cells from where sealing stopped (or `first_us`) up to `upto_us`."""
        if upto_us > self.to_us:
            self.seal(summarise(window, max(self.to_us, first_us), upto_us), upto_us)

    def replace(self, start: int, stats: Stats) -> None:
        """Seal one cell again (a late reading joined it), or add it where it falls."""
        i = self.lo + int(np.searchsorted(self.start[self.lo : self.hi], start, "left"))
        if i < self.hi and self.start[i] == start:
            self.n[i], self.total[i], self.m2[i] = stats.n, stats.total, stats.m2
            return
        fields = {"start": start, "n": stats.n, "total": stats.total, "m2": stats.m2}
        for name, value in fields.items():
            setattr(self, name, np.insert(getattr(self, name)[self.lo : self.hi], i - self.lo, value))
        self.lo, self.hi = 0, self.hi - self.lo + 1
        self._flags.clear()  # the arrays were laid again

    def forget_before(self, first_us: int) -> None:
        """Drop the cells that start before `first_us`."""
        self.lo += int(np.searchsorted(self.start[self.lo : self.hi], first_us, "left"))

    def span(self, first_us: int, end_us: int) -> tuple[int, int]:
        """The array indices [lo, hi) of the cells that start in [first_us, end_us)."""
        starts = self.start[self.lo : self.hi]
        lo = self.lo + int(np.searchsorted(starts, first_us, "left"))
        return lo, self.lo + int(np.searchsorted(starts, end_us, "left"))

    def between(self, first_us: int, end_us: int) -> list[tuple[int, Stats]]:
        """(cell start, stats) of the sealed cells in [first_us, end_us), oldest first."""
        lo, hi = self.span(first_us, end_us)
        return [
            (int(s), Stats(int(n), float(t), float(m)))
            for s, n, t, m in zip(
                self.start[lo:hi].tolist(),
                self.n[lo:hi].tolist(),
                self.total[lo:hi].tolist(),
                self.m2[lo:hi].tolist(),
                strict=True,
            )
        ]

    def select(
        self, first_us: int, end_us: int, key: Hashable, test: Callable[[int], bool]
    ) -> tuple[int, list[float]]:
        """The readings' count and the cells' totals, over the sealed cells in [first_us, end_us) whose
        start passes `test`. Each cell is tested once per `key` (not once per call): a rule reading a week
        of cells every cycle tests only the cells sealed since."""
        flags = self._flagged(key, test)
        lo, hi = self.span(first_us, end_us)
        picked = flags[lo:hi]
        return int(self.n[lo:hi][picked].sum()), self.total[lo:hi][picked].tolist()

    def _flagged(self, key: Hashable, test: Callable[[int], bool]) -> Bools:
        """`test(start)` of every cell in use (indexed as the arrays are), kept per key."""
        found = self._flags.get(key)
        if found is None or found[0] is not self.start:  # new, or the arrays were laid again
            found = (self.start, np.zeros(len(self.start), np.bool_), self.lo)
        start, flags, done = found
        for i in range(max(done, self.lo), self.hi):
            flags[i] = test(int(start[i]))
        self._flags[key] = (start, flags, self.hi)
        return flags


Sealed = Mapping[str, Cells]  # device code -> its sealed cells


class Summary:
    """A device's series as the summarising kinds read it: sealed cells where the cache has them, the raw
    window's readings summarised on demand after that (all of it, for a window with no cells: a replay)."""

    __slots__ = ("sealed", "since", "window")

    def __init__(self, window: Window, sealed: Cells | None = None, since: datetime | None = None) -> None:
        """The raw readings (those from `since`, when given), and the cells sealed before them."""
        self.window, self.sealed, self.since = window, sealed, since

    def _split(self, first_us: int, end_us: int) -> int:
        """Where the sealed cells end within [first_us, end_us) (first_us: none of them)."""
        if self.sealed is None or first_us >= self.sealed.to_us:
            return first_us
        return min(end_us, self.sealed.to_us)

    def cells(self, first_us: int, end_us: int) -> list[tuple[int, Stats]]:
        """(cell start, stats) of the cells in [first_us, end_us) that hold readings, oldest first."""
        split = self._split(first_us, end_us)
        out = self.sealed.between(first_us, split) if self.sealed is not None and split > first_us else []
        return out + summarise(self.window, split, end_us, self.since) if end_us > split else out

    def means(self, first_us: int, end_us: int) -> tuple[Ints, Floats]:
        """The starts and means of the cells in [first_us, end_us) that hold readings, oldest first, as
        arrays: the sealed ones read off the cache's columns, the raw window's summarised."""
        starts, means, _ = self.columns(first_us, end_us)
        return starts, means

    def columns(self, first_us: int, end_us: int) -> tuple[Ints, Floats, Floats]:
        """The starts, means and squared deviations (`Stats.m2`) of the cells in [first_us, end_us) that
        hold readings, oldest first (`means`)."""
        split = self._split(first_us, end_us)
        starts: list[Ints] = []
        means: list[Floats] = []
        m2s: list[Floats] = []
        if self.sealed is not None and split > first_us:
            c = self.sealed
            lo, hi = c.span(first_us, split)
            starts.append(c.start[lo:hi])
            means.append(c.total[lo:hi] / c.n[lo:hi])
            m2s.append(c.m2[lo:hi])
        if end_us > split:
            tail = summarise(self.window, split, end_us, self.since)
            starts.append(np.array([start for start, _ in tail], np.int64))
            means.append(np.array([stats.mean for _, stats in tail], np.float64))
            m2s.append(np.array([stats.m2 for _, stats in tail], np.float64))
        if not starts:
            return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.float64)
        return np.concatenate(starts), np.concatenate(means), np.concatenate(m2s)

    def select(
        self, first_us: int, end_us: int, key: Hashable, test: Callable[[int], bool]
    ) -> tuple[int, list[float]]:
        """The readings' count and the cells' totals, over the cells in [first_us, end_us) whose start
        passes `test` (`Cells.select`, then the raw readings)."""
        split = self._split(first_us, end_us)
        n, totals = 0, list[float]()
        if self.sealed is not None and split > first_us:
            n, totals = self.sealed.select(first_us, split, key, test)
        if end_us > split:  # only the count and total: the spread is not asked for
            for start, lo, hi in _runs(self.window, split, end_us, self.since):
                if test(start):
                    n += hi - lo
                    totals.append(math.fsum([v for _, v in self.window[lo:hi]]))
        return n, totals

"""A window's finding kept up to date one reading at a time, for the kinds the live evaluator judges.

The live evaluator judges a (rule, device) window on every reading. Calling the kind's `judge` on the
whole window costs a pass over it per reading: at a 5-second rate a rate-of-change window (3 hours) holds
2,160 readings, so the cost of each reading grew for hours after a start. Threshold and rate-of-change
samples depend only on a reading (and the one before it), and `rules.engine.held` only on the latest run
of judged samples, so `Held` keeps that run as readings arrive and leave: amortised O(1) per reading, with
exactly the finding `judge` returns on the same window (tests/rules/test_incremental.py compares them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from rules.engine import Finding, Sample, Status, ThresholdRule
from rules.kinds import RateOfChangeRule


class Held:
    """`held` over a window that grows at its end and is cut at its start, kept sample by sample.

    Only the latest run is kept: its samples' times (references to the window's own datetimes), the newest
    sample, and for a BAD run the candidates for its worst value. Older runs can only be cut away.
    """

    __slots__ = ("_above", "_clear", "_for", "_last", "_pairs", "_rule", "_run", "_worst")

    def __init__(self, rule: ThresholdRule | RateOfChangeRule) -> None:
        """Empty, for one rule."""
        self._rule = rule
        self._pairs = isinstance(rule, RateOfChangeRule)  # a sample per reading after the first
        if isinstance(rule, ThresholdRule):
            self._above = not (rule.above is None and rule.below is not None)
        else:
            self._above = True
        self._for = timedelta(seconds=rule.for_s)
        self._clear = timedelta(seconds=rule.clear_for_s)
        self._last: tuple[datetime, float, Sample] | None = None  # the newest judged sample
        self._run: deque[datetime] = deque()  # the times of the latest run's samples, oldest first
        # The latest run's candidates for its worst value, worst first (a BAD run): (time, value).
        self._worst: deque[tuple[datetime, float]] = deque()

    def rebuild(self, window: Sequence[tuple[datetime, float]]) -> None:
        """Start again from a whole window (after a late reading was put in its place)."""
        self._last = None
        self._run.clear()
        self._worst.clear()
        previous: tuple[datetime, float] | None = None
        for ts, value in window:
            self.append(previous, ts, value)
            previous = (ts, value)

    def append(self, previous: tuple[datetime, float] | None, ts: datetime, value: float) -> None:
        """Add the sample of a reading newer than every other (`previous`: the reading before it)."""
        rule = self._rule
        if isinstance(rule, ThresholdRule):
            sample = (ts, value, rule.sample(value))
        else:
            if previous is None:
                return
            sample = rule.sample(previous, (ts, value))
            if sample[2] is Sample.SKIP:
                return
        state = sample[2]
        if self._last is None or self._last[2] is not state:
            self._run.clear()
            self._worst.clear()
        self._last = sample
        self._run.append(ts)
        if state is Sample.BAD:  # a sliding maximum (minimum): later, worse values retire earlier ones
            worst, value = self._worst, sample[1]
            if self._above:
                while worst and worst[-1][1] < value:
                    worst.pop()
            else:
                while worst and worst[-1][1] > value:
                    worst.pop()
            worst.append((ts, value))

    def cut(self, first: datetime) -> None:
        """The window now starts at the reading at `first`: forget the samples it no longer yields."""
        run = self._run
        if not run or not (run[0] < first or (self._pairs and run[0] == first)):
            return  # only samples of older runs were cut
        while run and (run[0] < first or (self._pairs and run[0] == first)):
            run.popleft()
        if not run:  # the latest run was the newest: nothing judged is left
            self._last = None
            self._worst.clear()
            return
        while self._worst and self._worst[0][0] < run[0]:
            self._worst.popleft()

    def finding(self) -> Finding | None:
        """What `judge` returns on the window."""
        if self._last is None or not self._run:
            return None
        last_ts, last_value, state = self._last
        since = self._run[0]
        span = last_ts - since
        if state is Sample.BAD:
            status = Status.BREACH if span >= self._for else Status.PENDING
            return Finding(status, since, self._worst[0][1], last_ts)
        if state is Sample.OK and span >= self._clear:
            return Finding(Status.NORMAL, since, last_value, last_ts)
        return Finding(Status.RECOVERING, since, last_value, last_ts)

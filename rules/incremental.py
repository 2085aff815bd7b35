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
    """`held` over a window that grows at its end and is cut at its start, kept sample by sample."""

    __slots__ = ("_above", "_clear", "_for", "_pairs", "_rule", "_run", "_since", "_worst", "samples")

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
        self.samples: deque[tuple[datetime, float, Sample]] = deque()  # judged ones (no SKIP), oldest first
        self._run = 0  # samples at the end that belong to the latest run
        self._since: datetime | None = None  # its first sample's time
        # The latest run's candidates for its worst value, worst first (a BAD run): (time, value).
        self._worst: deque[tuple[datetime, float]] = deque()

    def rebuild(self, window: Sequence[tuple[datetime, float]]) -> None:
        """Start again from a whole window (after a late reading was put in its place)."""
        self.samples.clear()
        self._run, self._since = 0, None
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
            found = rule.sample(previous, (ts, value))
            if found[2] is Sample.SKIP:
                return
            sample = found
        state = sample[2]
        if not self.samples or self.samples[-1][2] is not state:
            self._run, self._since = 0, ts
            self._worst.clear()
        self.samples.append(sample)
        self._run += 1
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
        samples = self.samples
        dropped = 0
        while samples and (samples[0][0] < first or (self._pairs and samples[0][0] == first)):
            samples.popleft()
            dropped += 1
        if not dropped:
            return
        if not samples:
            self._run, self._since = 0, None
            self._worst.clear()
        elif len(samples) < self._run:  # the latest run lost its oldest samples
            self._run, self._since = len(samples), samples[0][0]
            while self._worst and self._worst[0][0] < self._since:
                self._worst.popleft()

    def finding(self) -> Finding | None:
        """What `judge` returns on the window."""
        if not self.samples or self._since is None:
            return None
        last_ts, last_value, state = self.samples[-1]
        since = self._since
        span = last_ts - since
        if state is Sample.BAD:
            status = Status.BREACH if span >= self._for else Status.PENDING
            return Finding(status, since, self._worst[0][1], last_ts)
        if state is Sample.OK and span >= self._clear:
            return Finding(Status.NORMAL, since, last_value, last_ts)
        return Finding(Status.RECOVERING, since, last_value, last_ts)

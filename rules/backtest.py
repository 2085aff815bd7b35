"""Replay history through the rules on a simulated clock: what would have fired, without writing alarms."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cityhall.timeseries import ReadingStore
from rules.batch import Column, Frame, batchable
from rules.config import RuleDefinition
from rules.engine import Finding, Subject, Window
from rules.evaluation import AlarmBook, Episode, Watch, bind, fold_silent_buildings, judge_batch
from rules.kinds import OfflineRule

Progress = Callable[[int, int], None]  # (steps done, steps in all)

_INF = math.inf  # sorts after any value: bisect by time on (time, value) pairs
EMPTY = Frame.of({}, {})


def _index(window: Window, ts: datetime) -> int:
    return bisect.bisect_right(window, (ts, _INF))


class Replay:
    """Rules bound to devices and history loaded once; `run` steps a clock and keeps alarm states in memory.

    Each quantity is read from the store once for the whole period (plus the longest lookback). A rule is
    judged on a device when a new reading of that device has arrived since its last judgement, and at
    every step for clock-driven kinds (offline), which is what the live runner sees at its interval.
    """

    def __init__(
        self,
        definitions: Sequence[RuleDefinition],
        subjects: Sequence[Subject],
        store: ReadingStore,
        *,
        start: datetime,
        end: datetime,
    ) -> None:
        self.watches: list[Watch] = [bind(d, subjects) for d in definitions if d.enabled]
        self.watches = [w for w in self.watches if w.subjects]
        wanted: dict[str, tuple[set[str], timedelta]] = {}
        for w in self.watches:
            for quantity, codes in w.queries().items():
                known, lookback = wanted.get(quantity, (set(), timedelta(0)))
                wanted[quantity] = (known | set(codes), max(lookback, w.rule.lookback))
        self.series: dict[str, dict[str, list[tuple[datetime, float]]]] = {
            q: store.window(quantity=q, since=start - lookback, until=end, devices=sorted(codes))
            for q, (codes, lookback) in wanted.items()
        }
        self.start = start
        self.end = end

    def _window(self, quantity: str, code: str, since: datetime, until: datetime) -> Window:
        full = self.series.get(quantity, {}).get(code, [])
        return full[bisect.bisect_left(full, (since,)) : _index(full, until)]

    def run(self, step: timedelta, progress: Progress | None = None, *, batch: bool = False) -> list[Episode]:
        """Every alarm that would have been raised between start and end, evaluated every `step`.

        `batch`: judge each rule over its due devices at once (rules.batch, as the cycle runner does)
        where the kind allows; the same findings as each kind's `judge`, which judges otherwise.
        """
        frames: dict[str, Frame] = {}
        for quantity, held in self.series.items() if batch else ():
            frames[quantity] = Frame.of({code: Column(w) for code, w in held.items()}, held)
        book = AlarmBook()
        seen: dict[tuple[str, str], int] = {}
        total = max(1, int((self.end - self.start) / step))
        now = self.start
        done = 0
        while now < self.end:
            for w in self.watches:
                clock_driven = isinstance(w.rule, OfflineRule)
                since = now - w.rule.lookback
                findings: list[tuple[Subject, Finding]] = []
                due: list[Subject] = []
                for s in w.subjects:
                    quantity = w.quantity[s.code]
                    full = self.series.get(quantity, {}).get(s.code, [])
                    latest = _index(full, now)
                    key = (w.definition.key, s.code)
                    if not clock_driven and seen.get(key) == latest:
                        continue
                    seen[key] = latest
                    due.append(s)
                found = None
                if batch and batchable(w.rule) and due:
                    only = None if clock_driven else [s.code for s in due]
                    found = judge_batch(w, lambda q: frames.get(q, EMPTY), since, now, only=only)
                if found is not None:
                    book.apply(w, found[0], now)
                    continue
                for s in due:
                    quantity = w.quantity[s.code]
                    window = self._window(quantity, s.code, since, now)
                    peers = [self._window(q, code, since, now) for code, q in w.peers[s.code]]
                    finding = w.rule.judge(window, now=now, peers=peers)
                    if finding is not None:
                        findings.append((s, finding))
                if clock_driven:
                    findings = fold_silent_buildings(findings, w.subjects)
                book.apply(w, findings, now)
            now += step
            done += 1
            if progress is not None:
                progress(done, total)
        return book.episodes()

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
from rules.evaluation import AlarmBook, Episode, Watch, bind, judge_batch, judge_watch
from rules.kinds import SUMMARISED, OfflineRule
from rules.summary import Cells, ceil_cell, floor_cell, us

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
                wanted[quantity] = (known | set(codes), max(lookback, w.lookback))
        self.series: dict[str, dict[str, list[tuple[datetime, float]]]] = {
            q: store.window(quantity=q, since=start - lookback, until=end, devices=sorted(codes))
            for q, (codes, lookback) in wanted.items()
        }
        self.lookbacks = {q: lookback for q, (_, lookback) in wanted.items()}
        # Quarter-hour summaries for the kinds that read them, sealed up to the clock as the runner's
        # cache seals them (rules.summary): the same findings, without summarising weeks at every step.
        self.sealed: dict[str, dict[str, Cells]] = {}
        self.start = start
        self.end = end

    def _seal(self, quantity: str, codes: Sequence[str], now: datetime) -> None:
        """Seal the devices' cells up to the quarter hour of `now`; forget those before the lookback."""
        held = self.sealed.setdefault(quantity, {})
        first_us = us(ceil_cell(now - self.lookbacks[quantity]))
        upto_us = us(floor_cell(now))
        for code in codes:
            cells = held.get(code)
            if cells is None:
                cells = held[code] = Cells(first_us)
            cells.catch_up(self.series.get(quantity, {}).get(code, []), first_us, upto_us)
            cells.forget_before(first_us)

    def _due(self, w: Watch, now: datetime, seen: dict[tuple[str, str], int]) -> list[str]:
        """The devices to judge: those with a reading since their last judgement (every one, offline)."""
        clock_driven = isinstance(w.rule, OfflineRule)
        due = []
        for s in w.subjects:
            latest = _index(self.series.get(w.quantity[s.code], {}).get(s.code, []), now)
            key = (w.definition.key, s.code)
            if clock_driven or seen.get(key) != latest:
                seen[key] = latest
                due.append(s.code)
        return due

    def _judge(
        self, w: Watch, due: list[str], now: datetime, frames: dict[str, Frame] | None
    ) -> list[tuple[Subject, Finding]]:
        """The due devices' findings, in batch where asked for and the kind allows."""
        since = now - w.lookback
        only = None if isinstance(w.rule, OfflineRule) else due
        if isinstance(w.rule, SUMMARISED):
            judged = set(due) | {peer for code in due for peer, _ in w.peers[code]}
            for quantity, codes in w.queries().items():
                self._seal(quantity, [c for c in codes if c in judged], now)
        if frames is not None and batchable(w.rule):
            laid = frames.get
            found = judge_batch(w, lambda q: laid(q, EMPTY), since, now, only=only, sealed=self.sealed)
            if found is not None:
                return found[0]
        wanted = set(due) | {peer for code in due for peer, _ in w.peers[code]}
        # The summarising kinds read raw readings from `raw_from` on, the cells before: as in the runner.
        raw_since = w.rule.raw_from(now) if isinstance(w.rule, SUMMARISED) else since
        series = {
            q: {c: self._window(q, c, raw_since, now) for c in codes if c in wanted}
            for q, codes in w.queries().items()
        }
        return judge_watch(w, series, now, only=only, sealed=self.sealed)

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
                due = self._due(w, now, seen)
                if due:
                    book.apply(w, self._judge(w, due, now, frames if batch else None), now)
            now += step
            done += 1
            if progress is not None:
                progress(done, total)
        return book.episodes()

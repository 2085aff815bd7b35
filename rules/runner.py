"""All of the rules engine's I/O: read windows from the store, evaluate, raise and clear alarms."""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence, Set
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import QUANTITIES
from cityhall.db import transaction
from cityhall.maintenance import AlarmCondition, active_alarm, clear_alarm, raise_alarm
from cityhall.models import Alarm, AlarmState, Building, Device, Floor, Space
from cityhall.reporting import of_device
from cityhall.timeseries import ReadingStore, StoreUnavailableError
from rules import metrics
from rules.batch import Column, Frame, batchable, to_us
from rules.config import RuleConfigError, RuleDefinition
from rules.engine import Finding, Status, Subject, Window
from rules.evaluation import Watch, bind, judge_batch, judge_watch, slice_window
from rules.kinds import SUMMARISED
from rules.repository import RuleBook
from rules.summary import CELL_US, Cells, ceil_cell, floor_cell, summarise
from rules.summary import at as _at

log = structlog.get_logger(__name__)
ACTOR = "system:rules"
SUBJECTS_TTL_S = 60.0  # the asset register is read again this often


@dataclass(slots=True)
class CycleReport:
    """What one evaluation cycle did."""

    evaluated: int = 0
    raised: list[tuple[str, str]] = field(default_factory=list)  # (rule key, device code)
    cleared: list[tuple[str, str]] = field(default_factory=list)


def subjects(session: Session) -> dict[str, tuple[Subject, Device]]:
    """Every active device as rules see it, with its row, by code (one query)."""
    stmt = (
        select(Device, Space, Building)
        .join(Space, Device.space_id == Space.id)
        .join(Floor, Space.floor_id == Floor.id)
        .join(Building, Floor.building_id == Building.id)
        .where(Device.is_active.is_(True))
        .order_by(Device.code)
    )
    out: dict[str, tuple[Subject, Device]] = {}
    for device, space, building in session.execute(stmt):
        subject = Subject(
            code=device.code,
            kind=device.kind.value,
            building=building.code,
            space=space.code,
            space_kind=space.kind.value,
            serves=device.serves,
            quantities=tuple(device.quantities),
            reporting=of_device(device),
        )
        out[device.code] = (subject, device)
    return out


def apply_findings(
    session: Session,
    watch: Watch,
    findings: Sequence[tuple[Subject, Finding]],
    known: Mapping[str, tuple[Subject, Device]],
    report: CycleReport,
    *,
    alarmed: Set[str] | None = None,
) -> None:
    """Raise and clear alarms for one rule's findings (the live evaluator's writer uses it too).

    `alarmed`, when given, holds the devices with an active alarm of this rule: a normal finding elsewhere
    needs no query.
    """
    key = watch.definition.key
    for subject, finding in findings:
        rule = watch.rule_for(subject.code)
        if finding.status is Status.NORMAL and alarmed is not None and subject.code not in alarmed:
            report.evaluated += 1
            continue
        device = session.merge(known[subject.code][1], load=False)
        report.evaluated += 1
        metrics.EVALUATIONS.labels(status=finding.status.value).inc()
        if finding.status is Status.BREACH:
            quantity = watch.quantity[subject.code]
            condition = AlarmCondition(
                rule_key=key,
                rule_name=rule.name,
                severity=rule.severity,
                quantity=quantity,
                unit=QUANTITIES[quantity].unit,
                threshold=rule.threshold,
                value=finding.value,
                since=finding.since,
                message=rule.explain(finding),
            )
            if raise_alarm(session, device=device, condition=condition, actor=ACTOR):
                report.raised.append((key, subject.code))
                metrics.ALARMS.labels(transition="raised").inc()
                log.info("alarm_raised", rule=key, device=subject.code, value=finding.value)
        elif finding.status is Status.NORMAL:
            alarm = active_alarm(session, rule_key=key, device_id=device.id)
            if alarm is not None:
                clear_alarm(session, alarm=alarm, actor=ACTOR, at=finding.since)
                report.cleared.append((key, subject.code))
                metrics.ALARMS.labels(transition="cleared").inc()
                log.info("alarm_cleared", rule=key, device=subject.code)


def check_window(definition: RuleDefinition, lookback: timedelta) -> None:
    """Refuse a rule whose `for_seconds` could never be seen whole in the window it is judged over."""
    window = max(lookback, definition.to_rule().lookback)
    if timedelta(seconds=definition.for_seconds) >= window:
        raise RuleConfigError(
            f"{definition.key}.for_seconds: {definition.for_seconds:g} s must be shorter than the rule's "
            f"window ({window.total_seconds():g} s)",
            ("for_seconds",),
        )


class WindowCache:
    """Every (quantity, device) series the rules read, kept between cycles: a cycle reads only what is new.

    The first read of a quantity covers the longest window any rule needs. Later reads start `overlap`
    before the previous read's end, so readings that reach the store a little late (the collector batches)
    are still seen; every `resync` the last `late_horizon` is read again for backlogs that
    arrive later still. `refresh` says which devices got a reading they did not have.

    Each series is kept twice, in step: as (datetime, value) pairs for the kinds' pure `judge`, and as
    columns (`rules.batch.Column`) that `frame` lays end to end for judging a rule over all devices at once.

    Where a quantity is read by kinds that summarise (`rules.summary`), readings older than the `raw` time
    it is refreshed with are summarised into quarter-hour cells (`sealed`) and dropped: what is kept is
    bounded by the rules' lookbacks and the devices' count, not by how often they report. `raw` is never
    later than `late_horizon` before `until`, so a late reading always finds its cell still raw.
    """

    def __init__(
        self,
        store: ReadingStore,
        *,
        overlap: timedelta = timedelta(minutes=2),
        late_horizon: timedelta = timedelta(hours=6),
        resync: timedelta = timedelta(hours=1),
        filter_limit: int = 200,
        chunk: timedelta = timedelta(minutes=30),
        readers: int = 1,
    ) -> None:
        """`filter_limit`: above this many devices a read asks for the whole quantity, not a device list;
        `readers`: store queries run at once (one per quantity), so the store works while we merge."""
        self.store = store
        self.overlap = overlap
        self.late_horizon = late_horizon
        self.resync = resync
        self.filter_limit = filter_limit
        self.chunk = chunk
        self.series: dict[str, dict[str, list[tuple[datetime, float]]]] = {}
        self.columns: dict[str, dict[str, Column]] = {}
        self.sealed: dict[str, dict[str, Cells]] = {}  # quantity -> device -> cells before its raw readings
        self._frames: dict[str, dict[datetime | None, Frame]] = {}  # quantity -> laid from -> frame
        self._covered: dict[str, tuple[datetime, datetime, frozenset[str]]] = {}  # since, until, devices
        self._synced: dict[str, datetime] = {}
        self._pool = ThreadPoolExecutor(readers, thread_name_prefix="rules-read") if readers > 1 else None

    def refresh(self, quantity: str, devices: Set[str], since: datetime, until: datetime) -> set[str]:
        """Bring a quantity's series up to `until` for `devices`, keep [since, until]; return the changed."""
        return self.refresh_many({quantity: (devices, since)}, until)[quantity]

    def refresh_many(
        self,
        wanted: Mapping[str, tuple[Set[str], datetime]],
        until: datetime,
        raw: Mapping[str, datetime] | None = None,
    ) -> dict[str, set[str]]:
        """`refresh` for several quantities (quantity -> (devices, since)); their reads may overlap.
        `raw` (quantity -> time): keep readings raw from there on, summarised into cells before it.

        Read span by span (at most `chunk` each) and merged as each arrives, the next span's reads already
        running: what is held at once is two spans of every quantity, not the whole read (the hourly re-read
        of the late horizon, a cold read of weeks), and what a span completes before `raw` is summarised.
        """
        cuts = {
            q: min(floor_cell(at), floor_cell(until - self.late_horizon)) for q, at in (raw or {}).items()
        }
        for quantity in wanted:
            self._unseal_if_raw_wanted(quantity, cuts.get(quantity))
        spans = {q: self._spans(q, devices, since, until) for q, (devices, since) in wanted.items()}
        changed: dict[str, set[str]] = {q: set() for q in wanted}
        # One datetime per instant for all the series read: the store builds one per row, and devices that
        # report at the same instants (a tick of the simulators, a meter interval) share it while cached.
        instants: dict[datetime, datetime] = {}
        rounds = max((len(plan[0]) for plan in spans.values()), default=0)
        ahead = self._start_round(spans, 0)
        for i in range(rounds):
            current, ahead = ahead, self._start_round(spans, i + 1)
            for quantity, (devices, _) in wanted.items():
                plan = spans[quantity]
                if i >= len(plan[0]):
                    continue
                if current is not None:
                    fresh = current[quantity].result()
                else:
                    fresh = self._fetch(quantity, ([plan[0][i]], plan[1]))
                for part in fresh:
                    changed[quantity] |= self._merge_read(quantity, devices, part, instants)
                if quantity in cuts:  # what this span completed
                    read_to = min(floor_cell(plan[0][i][1]), floor_cell(until))
                    self._seal(quantity, wanted[quantity][1], read_to, min(cuts[quantity], read_to))
        for quantity, cut in cuts.items():  # also when nothing was read
            self._seal(quantity, wanted[quantity][1], floor_cell(until), cut)
        return {q: self._keep(q, devices, since, until, changed[q]) for q, (devices, since) in wanted.items()}

    def _start_round(
        self,
        spans: Mapping[str, tuple[list[tuple[datetime, datetime]], list[str] | None]],
        i: int,
    ) -> dict[str, Future[list[Mapping[str, Sequence[tuple[datetime, float]]]]]] | None:
        """Start reading every quantity's span `i` at once; None when it is read inline (no pool, or one)."""
        todo = {q: ([plan[0][i]], plan[1]) for q, plan in spans.items() if i < len(plan[0])}
        if self._pool is None or len(todo) < 2:
            return None
        return {q: self._pool.submit(self._fetch, q, plan) for q, plan in todo.items()}

    def _spans(
        self, quantity: str, devices: Set[str], since: datetime, until: datetime
    ) -> tuple[list[tuple[datetime, datetime]], list[str] | None]:
        """What to read: spans of at most `chunk` (a cold read of weeks of history is many small queries,
        not one the store times out on), and the devices to name (None: the whole quantity)."""
        covered = self._covered.get(quantity)
        start = since
        if covered is not None and covered[0] <= since and devices <= covered[2]:
            start = max(since, covered[1] - self.overlap)
            if until - self._synced.get(quantity, until) >= self.resync:
                start = max(since, until - self.late_horizon)
                self._synced[quantity] = until
        else:
            self._synced[quantity] = until
        spans = []
        while start < until:
            end = min(until, start + self.chunk)
            spans.append((start, end))
            start = end
        return spans, None if len(devices) > self.filter_limit else sorted(devices)

    def _fetch(
        self, quantity: str, plan: tuple[list[tuple[datetime, datetime]], list[str] | None]
    ) -> list[Mapping[str, Sequence[tuple[datetime, float]]]]:
        spans, named = plan
        return [self.store.window(quantity=quantity, since=a, until=b, devices=named) for a, b in spans]

    def _merge_read(
        self,
        quantity: str,
        devices: Set[str],
        fresh: Mapping[str, Sequence[tuple[datetime, float]]],
        instants: dict[datetime, datetime],
    ) -> set[str]:
        """Merge one read into the cache; the devices with new readings (or changed values)."""
        held = self.series.setdefault(quantity, {})
        columns = self.columns.setdefault(quantity, {})
        sealed = self.sealed.get(quantity, {})
        changed = set()
        for code, read in fresh.items():
            if code not in devices:
                continue
            cells = sealed.get(code)
            points = read
            if cells is not None and read and to_us(read[0][0]) < cells.raw_us:  # no longer kept
                points = read[bisect.bisect_left(read, (_at(cells.raw_us),)) :]
            if _merge(held, columns, code, points, instants):
                changed.add(code)
                if cells is not None and points and to_us(points[0][0]) < cells.to_us:
                    _reseal(cells, held[code], points)
        return changed

    def _unseal_if_raw_wanted(self, quantity: str, cut: datetime | None) -> None:
        """When the rules now want readings one by one where only summaries are kept (a rule changed: no
        summarising rule reads the quantity any more, or one judges further back), forget the summaries and
        the coverage, so the next read brings the readings back from the store."""
        sealed = self.sealed.get(quantity)
        if not sealed:
            return
        if cut is None or any(cells.raw_us > to_us(cut) for cells in sealed.values()):
            del self.sealed[quantity]
            self._covered.pop(quantity, None)

    def _seal(self, quantity: str, since: datetime, upto: datetime, drop: datetime) -> None:
        """Summarise every device's readings in [ceil_cell(since), upto) into cells (cell starts), and drop
        the readings before `drop` (not after `upto`). The readings of the cells sealed but not dropped stay,
        so a late one seals its cell again (`_reseal`), and a cycle summarises only the quarter hour under
        way."""
        first_us, upto_us, drop_us = to_us(ceil_cell(since)), to_us(upto), to_us(drop)
        if upto_us <= first_us:
            return
        held, columns = self.series.get(quantity, {}), self.columns.get(quantity, {})
        sealed = self.sealed.setdefault(quantity, {})
        touched = False
        for code, window in held.items():
            cells = sealed.get(code)
            if cells is None:
                cells = sealed[code] = Cells(first_us)
            cells.catch_up(window, first_us, upto_us)
            if drop_us > cells.raw_us:
                touched |= _drop_before(window, columns[code], drop)
                cells.raw_us = drop_us
        if touched:
            self._frames.pop(quantity, None)

    def _keep(
        self, quantity: str, devices: Set[str], since: datetime, until: datetime, changed: set[str]
    ) -> set[str]:
        """Once the reads are merged, drop what fell out of [since, until]; the devices with new readings."""
        held = self.series.setdefault(quantity, {})
        columns = self.columns.setdefault(quantity, {})
        sealed = self.sealed.get(quantity, {})
        first_us = to_us(ceil_cell(since))
        for code in list(sealed):
            if code not in devices:
                del sealed[code]
            else:
                sealed[code].forget_before(first_us)
        touched = bool(changed)
        for code in list(held):
            if code not in devices:
                del held[code]
                columns.pop(code, None)
                touched = True
                continue
            touched |= _drop_before(held[code], columns[code], since)
        if touched:
            self._frames.pop(quantity, None)
        self._covered[quantity] = (since, until, frozenset(devices))
        return changed

    def frame(self, quantity: str, since: datetime | None = None) -> Frame:
        """The quantity's columns end to end from `since` on (all of them without), laid again only after
        they changed. A frame laid from an earlier time serves a later `since`; so a cycle lays one frame
        per lookback of the rules reading the quantity, not the longest for all of them."""
        laid = self._frames.setdefault(quantity, {})
        if since is not None:
            covering = [at for at in laid if at is not None and at <= since]
            if covering:
                return laid[max(covering)]  # laid from the latest time: the smallest that serves
        found = laid.get(since)
        if found is None:
            columns, points = self.columns.get(quantity, {}), self.series.get(quantity, {})
            found = laid[since] = Frame.of(columns, points, since)
        return found

    def close(self) -> None:
        """Stop the reader threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)


def _reseal(
    cells: Cells, window: Sequence[tuple[datetime, float]], points: Sequence[tuple[datetime, float]]
) -> None:
    """Seal again, from the kept readings, each sealed cell a merged read touched (a late or corrected
    reading): the cells stay what summarising the readings gives."""
    starts = {to_us(floor_cell(ts)) for ts, _ in points[: bisect.bisect_left(points, (_at(cells.to_us),))]}
    for start in sorted(starts):
        for cell in summarise(window, start, start + CELL_US):
            cells.replace(*cell)


def _drop_before(window: list[tuple[datetime, float]], column: Column, at: datetime) -> bool:
    """Drop a window's readings (and its columns') before `at`; True when any was dropped."""
    if not window or window[0][0] >= at:
        return False
    cut = bisect.bisect_left(window, (at,))
    del window[:cut]
    column.drop(cut)
    return cut > 0


def _merge(
    held: dict[str, list[tuple[datetime, float]]],
    columns: dict[str, Column],
    code: str,
    points: Sequence[tuple[datetime, float]],
    instants: dict[datetime, datetime],
) -> bool:
    """Merge oldest-first points into a device's window (and its columns); True when any was new (or its
    value changed). What is kept takes its time from `instants` (one object per instant)."""
    window = held.setdefault(code, [])
    column = columns.get(code)
    if column is None:
        column = columns[code] = Column(window)
    changed = False
    in_step = True  # only appended: the columns follow; otherwise they are laid again from the window
    newer = len(points)  # points[newer:] are all newer than the window's latest (the usual case)
    while newer and window and points[newer - 1][0] > window[-1][0]:
        newer -= 1
    if not window:
        newer = 0
    ordered = all(a[0] < b[0] for a, b in itertools.pairwise(points[newer:]))
    if newer < len(points) and ordered:
        tail = [(instants.setdefault(ts, ts), value) for ts, value in points[newer:]]
        window.extend(tail)
        column.extend([to_us(ts) for ts, _ in tail], [value for _, value in tail])
        changed = True
        points = points[:newer]
    for at, value in points:
        ts = instants.setdefault(at, at)
        if not window or ts > window[-1][0]:
            window.append((ts, value))
            if in_step:
                column.append(to_us(ts), value)
            changed = True
            continue
        i = bisect.bisect_left(window, (ts,))
        if i < len(window) and window[i][0] == ts:
            if window[i][1] != value:
                window[i] = (ts, value)
                changed, in_step = True, False
        else:
            window.insert(i, (ts, value))
            changed, in_step = True, False
    if not in_step:
        columns[code] = Column(window)
    return changed


@dataclass(frozen=True, slots=True)
class _Plan:
    """A bound rule with what a cycle needs of it precomputed: its queries and who depends on which series."""

    watch: Watch
    queries: dict[str, list[str]]
    readers: dict[tuple[str, str], tuple[str, ...]]  # (quantity, device) -> devices judged on that series
    own: dict[str, frozenset[str]] | None  # without peers: quantity -> the devices judged on their own

    @classmethod
    def of(cls, watch: Watch) -> _Plan:
        """Index a watch: each series maps to the devices whose finding it feeds (their own, or a peer's)."""
        readers: dict[tuple[str, str], list[str]] = {}
        for code, quantity in watch.quantity.items():
            readers.setdefault((quantity, code), []).append(code)
            for peer, peer_quantity in watch.peers[code]:
                readers.setdefault((peer_quantity, peer), []).append(code)
        frozen = {key: tuple(codes) for key, codes in readers.items()}
        own = None
        if not any(watch.peers.values()):
            own = {q: frozenset(codes) for q, codes in watch.queries().items()}
        return cls(watch, watch.queries(), frozen, own)

    def touched(self, changed: Mapping[str, Set[str]]) -> set[str]:
        """The devices whose own readings, or a peer's, changed."""
        out: set[str] = set()
        if self.own is not None:  # set operations, not a look-up per device
            for quantity, mine in self.own.items():
                out |= mine & changed.get(quantity, set())
            return out
        for quantity, codes in changed.items():
            for code in codes:
                out.update(self.readers.get((quantity, code), ()))
        return out


class RulesRunner:
    """Evaluates every enabled rule on a fixed interval.

    Readings are kept between cycles (WindowCache), so a cycle reads only what is new, one store query per
    quantity; each rule then judges, over its own window (`max(lookback, rule.lookback)`), only the devices
    whose readings changed, or every device for rules that time alone can trip (offline).
    """

    def __init__(
        self,
        *,
        book: RuleBook | Sequence[RuleDefinition],
        store: ReadingStore,
        session_factory: sessionmaker[Session],
        lookback: timedelta,
        interval_s: float,
        skip_kinds: frozenset[str] = frozenset(),
        batch: bool = True,
        readers: int = 4,
    ) -> None:
        """`batch`: judge each rule over all its devices at once (rules.batch) where its kind allows, else
        device by device with the kind's `judge` (the same findings; the backtest's way); `readers`: store
        queries run at once."""
        # Kinds the live evaluator judges on each reading (rules.live) are skipped here, or a cycle reading
        # a store that lags the stream would raise again what the live evaluator has just cleared.
        self.skip_kinds = skip_kinds
        self.book = book if isinstance(book, RuleBook) else None
        self._generation = book.generation if isinstance(book, RuleBook) else 0
        self.definitions = self._accept(book.definitions if isinstance(book, RuleBook) else book, lookback)
        self.store = store
        self.factory = session_factory
        self.lookback = lookback
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._last_ok = time.monotonic()
        self.batch = batch
        self.cache = WindowCache(store, readers=readers)
        self._known: dict[str, tuple[Subject, Device]] = {}
        self._known_at = -math.inf
        self._bound: tuple[list[RuleDefinition], dict[str, tuple[Subject, Device]], list[_Plan]] | None = None

    def _subjects(self) -> dict[str, tuple[Subject, Device]]:
        """The asset register as rules see it, reloaded every SUBJECTS_TTL_S."""
        if time.monotonic() - self._known_at >= SUBJECTS_TTL_S:
            with transaction(self.factory) as session:
                self._known = subjects(session)
            self._known_at = time.monotonic()
        return self._known

    def _watches(self, known: dict[str, tuple[Subject, Device]]) -> list[_Plan]:
        """Rules bound to devices, bound again only when the rules or the register changed."""
        if self._bound is None or self._bound[0] is not self.definitions or self._bound[1] is not known:
            everyone = [s for s, _ in known.values()]
            watches = [w for w in (bind(d, everyone) for d in self.definitions) if w.subjects]
            self._bound = (self.definitions, known, [_Plan.of(w) for w in watches])
        return self._bound[2]

    def _read(self, plans: Sequence[_Plan], now: datetime) -> dict[str, set[str]]:
        """Refresh the cache for every quantity the rules read; quantity -> devices with new readings.

        A quantity only summarising kinds read far back is kept raw from the earliest `raw_from` of the
        rules reading it (`rules.summary`); any other rule on it keeps it raw over its whole window.
        """
        need: dict[str, tuple[set[str], timedelta]] = {}
        raw: dict[str, datetime] = {}
        summarised: set[str] = set()
        for plan in plans:
            rule = plan.watch.rule
            window = max(self.lookback, plan.watch.lookback)
            keep = rule.raw_from(now) if isinstance(rule, SUMMARISED) else now - window
            for quantity, codes in plan.queries.items():
                devices, longest = need.setdefault(quantity, (set(), window))
                devices.update(codes)
                need[quantity] = (devices, max(longest, window))
                raw[quantity] = min(raw.get(quantity, keep), keep)
                if isinstance(rule, SUMMARISED):
                    summarised.add(quantity)
        wanted = {q: (d, now - longest) for q, (d, longest) in need.items()}
        return self.cache.refresh_many(wanted, now, {q: raw[q] for q in summarised})

    @property
    def kinds(self) -> set[str]:
        """The rule kinds this runner evaluates."""
        return {d.kind for d in self.definitions}

    def _accept(self, definitions: Sequence[RuleDefinition], lookback: timedelta) -> list[RuleDefinition]:
        chosen = [d for d in definitions if d.enabled and d.kind not in self.skip_kinds]
        for d in chosen:
            check_window(d, lookback)
        return chosen

    def _refresh(self) -> None:
        """Take up rules changed through the API since the last cycle."""
        changed = None if self.book is None else self.book.changed_since(self._generation)
        if changed is None:
            return
        self._generation, definitions = changed
        try:
            self.definitions = self._accept(definitions, self.lookback)
        except RuleConfigError as err:
            log.error("rules_reload_refused", error=str(err))

    def run_once(self, now: datetime | None = None) -> CycleReport:
        """One cycle: read what is new, judge the (rule, device) pairs whose readings changed, act."""
        self._refresh()
        now = now or datetime.now(UTC)
        report = CycleReport()
        started = time.perf_counter()
        known = self._subjects()
        plans = self._watches(known)
        changed = self._read(plans, now)
        for plan in plans:
            watch = plan.watch
            since = now - max(self.lookback, watch.lookback)
            only = None if watch.rule.time_driven else plan.touched(changed)
            if only is not None and not only:
                continue
            with transaction(self.factory) as session:
                alarmed = {code for _, code in active_pairs(session, [watch.definition.key])}
                findings = self._judge(watch, since=since, now=now, only=only, alarmed=alarmed, report=report)
                apply_findings(session, watch, findings, known, report, alarmed=alarmed)
        metrics.CYCLES.inc()
        metrics.CYCLE_SECONDS.observe(time.perf_counter() - started)
        self._last_ok = time.monotonic()
        return report

    def _judge(
        self,
        watch: Watch,
        *,
        since: datetime,
        now: datetime,
        only: Set[str] | None,
        alarmed: Set[str],
        report: CycleReport,
    ) -> list[tuple[Subject, Finding]]:
        """One rule's findings that may change an alarm; the others are only counted in `report`."""
        sealed = self.cache.sealed
        if self.batch and batchable(watch.rule):
            laid = self.cache.frame
            found = judge_batch(
                watch, lambda q: laid(q, since), since, now, only=only, alarmed=alarmed, sealed=sealed
            )
            if found is not None:
                findings, quiet = found
                report.evaluated += sum(quiet.values())
                for status, count in quiet.items():
                    if status is not Status.NORMAL:  # as apply_findings counts them
                        metrics.EVALUATIONS.labels(status=status.value).inc(count)
                return findings
        return judge_watch(watch, _Sliced(self.cache.series, since, now), now, only=only, sealed=sealed)

    def run_forever(self) -> None:
        """Cycle until stop(); an unavailable store or database is logged and retried next cycle."""
        while not self._stop.is_set():
            try:
                self.run_once()
            except StoreUnavailableError as err:
                metrics.ERRORS.inc()
                log.warning("rules_cycle_store_unavailable", error=str(err))
            except Exception:  # the loop's edge: a failing cycle must not end the engine
                metrics.ERRORS.inc()
                log.exception("rules_cycle_failed")
            self._stop.wait(self.interval_s)

    def health(self) -> dict[str, bool]:
        """Healthy while a cycle has succeeded within three intervals (and at least a minute)."""
        return {"cycles": time.monotonic() - self._last_ok < max(60.0, 3 * self.interval_s)}

    def stop(self) -> None:
        """Ask run_forever to return after the current cycle."""
        self._stop.set()

    def close(self) -> None:
        """Release the reader threads."""
        self.cache.close()


def active_pairs(session: Session, rule_keys: Sequence[str]) -> set[tuple[str, str]]:
    """(rule key, device code) of the active alarms of the given rules (one query)."""
    if not rule_keys:
        return set()
    stmt = (
        select(Alarm.rule_key, Device.code)
        .join(Device, Alarm.device_id == Device.id)
        .where(Alarm.state == AlarmState.ACTIVE, Alarm.rule_key.in_(rule_keys))
    )
    return {(key, code) for key, code in session.execute(stmt)}


class _Devices(Mapping[str, Window]):
    """One quantity's cached windows, each cut to [since, until] when asked for (no copies up front)."""

    def __init__(
        self, held: Mapping[str, list[tuple[datetime, float]]], since: datetime, until: datetime
    ) -> None:
        self.held, self.since, self.until = held, since, until

    def __getitem__(self, code: str) -> Window:
        return slice_window(self.held[code], self.since, self.until)

    def __iter__(self) -> Iterator[str]:
        return iter(self.held)

    def __len__(self) -> int:
        return len(self.held)


class _Sliced(Mapping[str, Mapping[str, Window]]):
    """The cache as one rule's Series: every window cut to the rule's own range on access."""

    def __init__(
        self,
        series: Mapping[str, Mapping[str, list[tuple[datetime, float]]]],
        since: datetime,
        until: datetime,
    ) -> None:
        self.series, self.since, self.until = series, since, until

    def __getitem__(self, quantity: str) -> Mapping[str, Window]:
        return _Devices(self.series[quantity], self.since, self.until)

    def __iter__(self) -> Iterator[str]:
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)

"""All of the rules engine's I/O: read windows from the store, evaluate, raise and clear alarms."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import QUANTITIES
from cityhall.db import transaction
from cityhall.maintenance import AlarmCondition, active_alarm, clear_alarm, raise_alarm
from cityhall.models import Building, Device, Floor, Space
from cityhall.timeseries import ReadingStore, StoreUnavailableError
from rules import metrics
from rules.config import RuleConfigError, RuleDefinition
from rules.engine import Finding, Status, Subject
from rules.evaluation import Watch, bind, judge_watch
from rules.repository import RuleBook

log = structlog.get_logger(__name__)
ACTOR = "system:rules"


@dataclass(slots=True)
class CycleReport:
    """What one evaluation cycle did."""

    evaluated: int = 0
    raised: list[tuple[str, str]] = field(default_factory=list)  # (rule key, device code)
    cleared: list[tuple[str, str]] = field(default_factory=list)


def target_devices(session: Session, definition: RuleDefinition) -> list[Device]:
    """Active devices a rule watches that measure its quantity."""
    t = definition.targets
    stmt = (
        select(Device)
        .join(Space, Device.space_id == Space.id)
        .join(Floor, Space.floor_id == Floor.id)
        .join(Building, Floor.building_id == Building.id)
        .where(Device.is_active.is_(True))
    )
    if t.devices:
        stmt = stmt.where(Device.code.in_(t.devices))
    if t.device_kinds:
        stmt = stmt.where(Device.kind.in_(t.device_kinds))
    if t.buildings:
        stmt = stmt.where(Building.code.in_(t.buildings))
    if t.serves is not None:
        stmt = stmt.where(Device.serves == t.serves)
    return [d for d in session.scalars(stmt.order_by(Device.code)) if definition.quantity in d.quantities]


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
        )
        out[device.code] = (subject, device)
    return out


def apply_findings(
    session: Session,
    watch: Watch,
    findings: Sequence[tuple[Subject, Finding]],
    known: Mapping[str, tuple[Subject, Device]],
    report: CycleReport,
) -> None:
    """Raise and clear alarms for one rule's findings (the live evaluator's writer uses it too)."""
    rule = watch.rule
    key = watch.definition.key
    for subject, finding in findings:
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


class RulesRunner:
    """Evaluates every enabled rule on a fixed interval.

    Each rule reads only the history it needs: `max(lookback, rule.lookback)`, with one store query per
    (rule, quantity) for all of its devices and their peers.
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
    ) -> None:
        # Kinds the live evaluator judges on each reading (rules.live) are skipped here, or a cycle reading
        # a store that lags the stream would raise again what the live evaluator has just cleared.
        self.skip_kinds = skip_kinds
        self.book = book if isinstance(book, RuleBook) else None
        self.definitions = self._accept(book.definitions if isinstance(book, RuleBook) else book, lookback)
        self.store = store
        self.factory = session_factory
        self.lookback = lookback
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._last_ok = time.monotonic()

    def _accept(self, definitions: Sequence[RuleDefinition], lookback: timedelta) -> list[RuleDefinition]:
        chosen = [d for d in definitions if d.enabled and d.kind not in self.skip_kinds]
        for d in chosen:
            check_window(d, lookback)
        return chosen

    def _refresh(self) -> None:
        """Take up rules changed through the API since the last cycle."""
        if self.book is None or not self.book.refresh():
            return
        try:
            self.definitions = self._accept(self.book.definitions, self.lookback)
        except RuleConfigError as err:
            log.error("rules_reload_refused", error=str(err))

    def run_once(self, now: datetime | None = None) -> CycleReport:
        """One cycle over all rules and their devices."""
        self._refresh()
        now = now or datetime.now(UTC)
        report = CycleReport()
        started = time.perf_counter()
        with transaction(self.factory) as session:
            known = subjects(session)
        everyone = [s for s, _ in known.values()]
        for definition in self.definitions:
            watch = bind(definition, everyone)
            if not watch.subjects:
                continue
            since = now - max(self.lookback, watch.rule.lookback)
            series = {
                quantity: self.store.window(quantity=quantity, since=since, until=now, devices=codes)
                for quantity, codes in watch.queries().items()
            }
            with transaction(self.factory) as session:
                apply_findings(session, watch, judge_watch(watch, series, now), known, report)
        metrics.CYCLES.inc()
        metrics.CYCLE_SECONDS.observe(time.perf_counter() - started)
        self._last_ok = time.monotonic()
        return report

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

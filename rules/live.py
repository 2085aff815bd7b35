"""Instant rules on the live MQTT stream: each reading is judged as it arrives, not on the next cycle.

Threshold and rate-of-change rules need nothing but a device's own recent readings, so the live evaluator
keeps each (rule, device) window in memory and judges it with the same pure `judge` the cycle runner and
the backtest use. Only a change of status reaches the database: a writer thread raises or clears alarms
(and so opens tickets) in batches, off the MQTT thread.

Scale-out: several engines each take a share of the devices (`CITYHALL_RULES_PARTITION=k/n`, by a stable
hash of the device code). A broker's shared subscription cannot do this: it spreads one device's readings
over the engines, and none of them would see the run of readings a duration needs.
"""

from __future__ import annotations

import bisect
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import PayloadError, Reading
from cityhall.db import transaction
from cityhall.mqtt import connect, make_client
from cityhall.settings import Settings
from rules.config import RuleDefinition
from rules.engine import Finding, Status, Subject, ThresholdRule
from rules.evaluation import Watch, bind
from rules.incremental import Held
from rules.kinds import RateOfChangeRule
from rules.repository import RuleBook
from rules.runner import CycleReport, active_pairs, apply_findings, subjects

log = structlog.get_logger(__name__)

INSTANT_KINDS = frozenset({"threshold", "rate_of_change"})
RELOAD_EVERY_S = 10.0
Decode = Callable[[str, bytes], list[Reading]]

READINGS = Counter("cityhall_rules_live_readings_total", "Readings the live evaluator judged")
UNDECODED = Counter("cityhall_rules_live_undecoded_total", "Messages the live evaluator could not decode")
TRANSITIONS = Counter(
    "cityhall_rules_live_transitions_total", "Status changes sent to the writer", ["status"]
)
BACKLOG = Gauge("cityhall_rules_live_backlog", "Status changes waiting for the writer")
WRITE_SECONDS = Histogram("cityhall_rules_live_write_seconds", "Time to write one batch of status changes")


def owns(device: str, partition: tuple[int, int]) -> bool:
    """True when device `device` falls in this engine's share (index from 0, count)."""
    index, count = partition
    return count == 1 or zlib.crc32(device.encode()) % count == index


@dataclass(slots=True)
class _Track:
    """One (rule, device) pair: its window and the last status acted on."""

    watch: Watch
    subject: Subject
    lookback: timedelta
    window: deque[tuple[datetime, float]] = field(default_factory=deque)
    acted: Status = Status.NORMAL
    held: Held | None = None  # the window's finding, kept reading by reading, for the kinds that allow it

    def __post_init__(self) -> None:
        rule = self.watch.rule_for(self.subject.code)
        if self.held is None and isinstance(rule, ThresholdRule | RateOfChangeRule):
            self.held = Held(rule)

    def add(self, ts: datetime, value: float) -> None:
        """Append a reading (in time order; a late one is put in its place) and drop what is too old."""
        window, held = self.window, self.held
        if not window or ts > window[-1][0]:
            if held is not None:
                held.append(window[-1] if window else None, ts, value)
            window.append((ts, value))
        elif ts != window[-1][0]:
            items = list(window)
            i = bisect.bisect_left(items, (ts,))
            if i < len(items) and items[i][0] == ts:
                return  # a duplicate delivery
            items.insert(i, (ts, value))
            window.clear()
            window.extend(items)
            if held is not None:
                held.rebuild(window)
        oldest = window[-1][0] - self.lookback
        if window[0][0] < oldest:
            while window[0][0] < oldest:
                window.popleft()
            if held is not None:
                held.cut(window[0][0])

    def finding(self, now: datetime) -> Finding | None:
        """The rule's finding on the window, as its `judge` gives it."""
        if self.held is not None:
            return self.held.finding()
        return self.watch.rule_for(self.subject.code).judge(tuple(self.window), now=now)


class LiveState:
    """The pure part: windows per (rule, device) and the status changes readings cause."""

    def __init__(
        self,
        watches: Sequence[Watch],
        *,
        partition: tuple[int, int] = (0, 1),
        breached: Iterable[tuple[str, str]] = (),
        previous: LiveState | None = None,
    ) -> None:
        """Track the watched devices in this share; `breached`: (rule, device) pairs with an open alarm.

        With `previous` (a reload), a (rule, device) pair whose rule is unchanged keeps its window and status.
        """
        open_pairs = set(breached)
        kept = previous.by_pair() if previous is not None else {}
        self.tracks: dict[tuple[str, str], list[_Track]] = {}  # (device, quantity) -> tracks
        for watch in watches:
            lookback = watch.lookback
            for subject in watch.subjects:
                if not owns(subject.code, partition):
                    continue
                pair = (watch.definition.key, subject.code)
                old = kept.get(pair)
                track = _Track(watch, subject, lookback)
                if old is not None and old.watch.definition == watch.definition:
                    track.window, track.acted, track.held = old.window, old.acted, old.held
                elif pair in open_pairs:
                    track.acted = Status.BREACH
                self.tracks.setdefault((subject.code, watch.quantity[subject.code]), []).append(track)

    def by_pair(self) -> dict[tuple[str, str], _Track]:
        """Every track by (rule key, device code)."""
        return {
            (t.watch.definition.key, t.subject.code): t for tracks in self.tracks.values() for t in tracks
        }

    def feed(self, readings: Iterable[Reading]) -> list[tuple[Watch, Subject, Finding]]:
        """Judge each reading's windows; return the changes to BREACH or NORMAL that need the database."""
        changes: list[tuple[Watch, Subject, Finding]] = []
        for reading in readings:
            for track in self.tracks.get((reading.device, reading.quantity), ()):
                track.add(reading.ts, reading.value)
                finding = track.finding(reading.ts)
                if finding is None or finding.status is track.acted:
                    continue
                if finding.status in (Status.BREACH, Status.NORMAL):
                    track.acted = finding.status
                    changes.append((track.watch, track.subject, finding))
        return changes


class LiveEvaluator:
    """Subscribes to readings, keeps a LiveState, and writes alarm changes from a thread of its own."""

    def __init__(
        self,
        settings: Settings,
        *,
        book: RuleBook | Sequence[RuleDefinition],
        session_factory: sessionmaker[Session],
        decode: Decode,
        subscriptions: Sequence[str],
        client_id: str = "",
    ) -> None:
        """Bind the instant rules to the asset register; `decode` turns (topic, payload) into readings."""
        self.settings = settings
        self.factory = session_factory
        self.decode = decode
        self.subscriptions = tuple(subscriptions)
        self.book = book if isinstance(book, RuleBook) else None
        with session_factory() as session:
            self.known = subjects(session)
        self._generation = book.generation if isinstance(book, RuleBook) else 0
        self.state = self._bind(book.definitions if isinstance(book, RuleBook) else book, previous=None)
        self._next_reload = time.monotonic() + RELOAD_EVERY_S
        self._changes: deque[tuple[Watch, Subject, Finding]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._last_write_ok = time.monotonic()
        index, count = settings.rules_partition_pair
        self.client_id = client_id or f"cityhall-rules-live-{index + 1}of{count}"
        self._client = make_client(settings, self.client_id)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._writer = threading.Thread(target=self._run_writer, name="rules-live-writer", daemon=True)

    def _bind(self, definitions: Sequence[RuleDefinition], previous: LiveState | None) -> LiveState:
        """A state for the instant rules among `definitions`."""
        instant = [d for d in definitions if d.enabled and d.kind in INSTANT_KINDS]
        everyone = [s for s, _ in self.known.values()]
        watches = [w for w in (bind(d, everyone) for d in instant) if w.subjects]
        with self.factory() as session:
            breached = active_pairs(session, [w.definition.key for w in watches])
        partition = self.settings.rules_partition_pair
        return LiveState(watches, partition=partition, breached=breached, previous=previous)

    def _maybe_reload(self) -> None:
        """Every RELOAD_EVERY_S, take up rules changed through the API (the MQTT thread sees the swap)."""
        if self.book is None or time.monotonic() < self._next_reload:
            return
        self._next_reload = time.monotonic() + RELOAD_EVERY_S
        try:
            changed = self.book.changed_since(self._generation)
            if changed is not None:
                self._generation, definitions = changed
                self.state = self._bind(definitions, previous=self.state)
        except Exception:  # the writer's edge: a failed reload keeps the rules in force
            log.exception("rules_live_reload_failed")

    @property
    def watched(self) -> int:
        """(rule, device) pairs this engine judges."""
        return sum(len(tracks) for tracks in self.state.tracks.values())

    # --- MQTT (paho's thread) ---
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            log.error("rules_live_connect_refused", reason=str(rc))
            return
        client.subscribe([(topic, 0) for topic in self.subscriptions])

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: list[ReasonCode], _p: Any) -> None:
        # Connected means subscribed: a reading published before the SUBACK could be lost (QoS 0 here).
        refused = [str(code) for code in codes if code.is_failure]
        if refused:
            log.error("rules_live_subscribe_refused", reasons=refused)
            return
        self._connected.set()
        log.info("rules_live_connected", client_id=self.client_id, watched=self.watched)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("rules_live_disconnected", reason=str(rc))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            readings = self.decode(msg.topic, bytes(msg.payload))
        except PayloadError:
            UNDECODED.inc()  # the collector dead-letters it; nothing to judge here
            return
        READINGS.inc(len(readings))
        changes = self.state.feed(readings)
        if changes:
            self._changes.extend(changes)
            BACKLOG.set(len(self._changes))
            self._wake.set()

    # --- the writer ---
    def _run_writer(self) -> None:
        while not self._stop.is_set() or self._changes:
            self._maybe_reload()
            if not self._changes:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            batch = [self._changes.popleft() for _ in range(min(len(self._changes), 500))]
            BACKLOG.set(len(self._changes))
            if self._write(batch):
                continue
            self._changes.extendleft(reversed(batch))  # kept in order for the next try
            self._stop.wait(1.0)

    def _write(self, batch: Sequence[tuple[Watch, Subject, Finding]]) -> bool:
        started = time.perf_counter()
        report = CycleReport()
        try:
            with transaction(self.factory) as session:
                for watch, subject, finding in batch:
                    apply_findings(session, watch, [(subject, finding)], self.known, report)
        except Exception:  # the writer's edge: the database may be down; the batch is retried
            log.exception("rules_live_write_failed", changes=len(batch))
            return False
        for _, _, finding in batch:
            TRANSITIONS.labels(status=finding.status.value).inc()
        WRITE_SECONDS.observe(time.perf_counter() - started)
        self._last_write_ok = time.monotonic()
        return True

    # --- lifecycle ---
    def start(self) -> None:
        """Connect to the broker and start the writer."""
        self._writer.start()
        connect(self._client, self.settings)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        """True once subscribed."""
        return self._connected.wait(timeout)

    def health(self) -> dict[str, bool]:
        """Connected to the broker, and the writer is not stuck behind a failing database."""
        stuck = bool(self._changes) and time.monotonic() - self._last_write_ok > 60.0
        return {"live_mqtt": self._connected.is_set(), "live_writer": not stuck}

    def stop(self) -> None:
        """Disconnect, then let the writer finish what is queued."""
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._wake.set()
        self._writer.join(timeout=30)

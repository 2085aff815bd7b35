"""The notification cycle: plan events and reminders, apply the rate limit, send, remember the outcome."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.models import Alarm, AlarmState, DeliveryStatus, NotificationLog, User
from cityhall.notify import metrics
from cityhall.notify.channels import (
    Channel,
    ChannelError,
    Outgoing,
    PermanentChannelError,
    channels_from_settings,
)
from cityhall.notify.messages import DigestLine, EventKind, Notification, digest
from cityhall.notify.routing import (
    REPEAT_ROUTE,
    CrewDirectory,
    DatabaseCrewDirectory,
    alarm_notification,
    audited_events,
    event_notification,
    topic_safe,
)
from cityhall.settings import Settings

log = structlog.get_logger(__name__)
D = DeliveryStatus
ALARM_KINDS = (EventKind.ALARM_RAISED.value, EventKind.ALARM_REPEAT.value)
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=30)


@dataclass(slots=True)
class CycleReport:
    """What one notification cycle did."""

    planned: int = 0  # delivery rows queued
    sent: int = 0
    held: int = 0
    digests: int = 0
    failed: int = 0  # attempts that failed (retried later unless given up)
    sent_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (channel, recipient, key)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, ... at most 30 min."""
    wait: timedelta = BACKOFF_FIRST * (2 ** max(attempts - 1, 0))
    return min(wait, BACKOFF_MAX)


class NotificationService:
    """Turns alarm and ticket events into notifications; call run_once every cycle."""

    def __init__(
        self,
        *,
        settings: Settings,
        session_factory: sessionmaker[Session],
        channels: Sequence[Channel] | None = None,
        crews: CrewDirectory | None = None,
    ) -> None:
        """Channels default to those the settings configure (channels_from_settings)."""
        self.settings = settings
        self.factory = session_factory
        self.channels = {
            c.name: c for c in (channels_from_settings(settings) if channels is None else channels)
        }
        self.crews = crews or DatabaseCrewDirectory()
        self.window = timedelta(minutes=settings.notify_rate_limit_window_minutes)
        self._stop = threading.Event()

    # --- the cycle ---

    def run_once(self, now: datetime | None = None) -> CycleReport:
        """One cycle; channel failures are logged, counted and retried later, never raised."""
        now = now or datetime.now(UTC)
        report = CycleReport()
        with transaction(self.factory) as session:
            for route, entry in audited_events(
                session, since=now - timedelta(minutes=self.settings.notify_horizon_minutes)
            ):
                notification = event_notification(session, route, entry, self.crews)
                if notification is not None:
                    report.planned += self._enqueue(session, notification, now)
            report.planned += self._plan_repeats(session, now)
            self._cancel_stale_repeats(session)
            report.digests += self._close_windows(session, now)
            due = self._due(session, now, report)
        self._send(due, now, report)
        return report

    def run_forever(self, interval_s: float) -> None:
        """Cycle until stop(), for a process of its own; a failing cycle is logged and retried."""
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the loop's edge: a failing cycle must not end the notifier
                metrics.CYCLE_ERRORS.inc()
                log.exception("notify_cycle_failed")
            self._stop.wait(interval_s)

    def stop(self) -> None:
        """Ask run_forever to return after the current cycle."""
        self._stop.set()

    def close(self) -> None:
        """Close every channel's connections."""
        for channel in self.channels.values():
            channel.close()

    # --- planning ---

    def _recipients(self, session: Session, notification: Notification) -> list[tuple[str, str]]:
        """(channel, recipient) pairs of an audience on the configured channels."""
        audience = notification.audience
        users: dict[int, User] = {}
        if audience.roles:
            stmt = select(User).where(User.role.in_(audience.roles), User.is_active.is_(True))
            users.update({u.id: u for u in session.scalars(stmt)})
        for user_id in audience.user_ids:
            user = session.get(User, user_id)
            if user is not None and user.is_active:
                users[user.id] = user
        for crew in audience.crews:
            users.update({u.id: u for u in self.crews.members(session, crew) if u.is_active})
        pairs: list[tuple[str, str]] = []
        if "mqtt" in self.channels:
            pairs += [("mqtt", role.value) for role in audience.roles]
            pairs += [("mqtt", f"crew/{topic_safe(crew)}") for crew in audience.crews]
            pairs += [("mqtt", f"user/{user_id}") for user_id in audience.user_ids]
        if "webhook" in self.channels:
            urls = self.settings.notify_webhook_url_map
            roles = [r.value for r in audience.roles]
            roles += ["maintenance_crew"] * bool(audience.crews)
            roles += [users[i].role.value for i in audience.user_ids if i in users]
            pairs += [("webhook", role) for role in dict.fromkeys(roles) if role in urls]
        if "email" in self.channels:
            emails = dict.fromkeys(u.email.strip().lower() for u in users.values() if u.email)
            pairs += [("email", address) for address in emails]
        return pairs

    def _enqueue(self, session: Session, notification: Notification, now: datetime) -> int:
        """Queue a notification for every recipient, once per key (a planned key is never planned again)."""
        exists = session.scalar(
            select(NotificationLog.id).where(NotificationLog.key == notification.key).limit(1)
        )
        if exists is not None:
            return 0
        pairs = self._recipients(session, notification)
        for channel, recipient in pairs:
            session.add(self._row(notification, channel, recipient, now))
        session.flush()
        return len(pairs)

    @staticmethod
    def _row(notification: Notification, channel: str, recipient: str, now: datetime) -> NotificationLog:
        return NotificationLog(
            key=notification.key,
            kind=notification.kind.value,
            channel=channel,
            recipient=recipient,
            severity=notification.severity,
            alarm_id=notification.alarm_id,
            ticket_id=notification.ticket_id,
            subject=notification.subject[:300],
            body=notification.body,
            payload=notification.payload(),
            status=D.PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )

    def _plan_repeats(self, session: Session, now: datetime) -> int:
        """Remind about active, unacknowledged alarms every repeat_minutes of their severity."""
        minutes = self.settings.notify_repeat_minutes_map
        rows = session.execute(
            select(NotificationLog.alarm_id, NotificationLog.key, func.max(NotificationLog.created_at))
            .join(Alarm, Alarm.id == NotificationLog.alarm_id)
            .where(
                NotificationLog.kind.in_(ALARM_KINDS),
                Alarm.state == AlarmState.ACTIVE,
                Alarm.acknowledged_at.is_(None),
            )
            .group_by(NotificationLog.alarm_id, NotificationLog.key)
        ).all()
        last: dict[int, datetime] = {}
        count: dict[int, int] = defaultdict(int)  # keys planned so far: the raise, then each reminder
        for alarm_id, _key, created_at in rows:
            if alarm_id is None:
                continue
            count[alarm_id] += 1
            last[alarm_id] = max(created_at, last.get(alarm_id, created_at))
        planned = 0
        for alarm_id, last_at in last.items():
            alarm = session.get(Alarm, alarm_id)
            every = minutes.get(alarm.severity.value, 0) if alarm is not None else 0
            if alarm is None or every <= 0 or now < last_at + timedelta(minutes=every):
                continue
            n = count[alarm_id]
            notification = alarm_notification(
                session,
                alarm,
                REPEAT_ROUTE,
                self.crews,
                key=f"alarm:{alarm_id}:repeat:{n}",
                occurred_at=now,
                repeat=n,
            )
            planned += self._enqueue(session, notification, now)
        return planned

    @staticmethod
    def _cancel_stale_repeats(session: Session) -> None:
        """Reminders not yet out whose alarm was acknowledged or cleared meanwhile are dropped."""
        settled = select(Alarm.id).where(
            (Alarm.state != AlarmState.ACTIVE) | Alarm.acknowledged_at.is_not(None)
        )
        session.execute(
            update(NotificationLog)
            .where(
                NotificationLog.kind == EventKind.ALARM_REPEAT.value,
                NotificationLog.status.in_((D.PENDING, D.HELD)),
                NotificationLog.alarm_id.in_(settled),
            )
            .values(status=D.CANCELLED)
        )

    # --- rate limit and digest ---

    def window_start(self, at: datetime) -> datetime:
        """Start of the fixed rate-limit window that contains `at` (windows are aligned to the epoch)."""
        seconds = self.window.total_seconds()
        return datetime.fromtimestamp(at.timestamp() // seconds * seconds, UTC)

    def _close_windows(self, session: Session, now: datetime) -> int:
        """Held notifications of windows that have ended become ONE digest per channel and recipient."""
        held = session.scalars(
            select(NotificationLog)
            .where(NotificationLog.status == D.HELD, NotificationLog.window_start <= now - self.window)
            .order_by(NotificationLog.created_at, NotificationLog.id)
        ).all()
        groups: dict[tuple[str, str, datetime], list[NotificationLog]] = defaultdict(list)
        for row in held:
            if row.window_start is not None:
                groups[(row.channel, row.recipient, row.window_start)].append(row)
        for (channel, recipient, start), rows in groups.items():
            lines = [
                DigestLine(r.key, r.subject, r.severity, r.created_at, r.alarm_id, r.ticket_id) for r in rows
            ]
            summary = digest(
                channel=channel,
                recipient=recipient,
                window_start=start,
                window_end=start + self.window,
                lines=lines,
            )
            row = self._row(summary, channel, recipient, now)
            session.add(row)
            session.flush()
            for held_row in rows:
                held_row.status = D.DIGESTED
                held_row.digest_id = row.id
            metrics.DIGESTS.labels(channel=channel).inc()
        return len(groups)

    def _due(self, session: Session, now: datetime, report: CycleReport) -> list[Outgoing]:
        """Pending rows to send now; beyond the budget of the current window they are held for the digest."""
        start = self.window_start(now)
        sent_in_window: dict[tuple[str, str], int] = {
            (channel, recipient): n
            for channel, recipient, n in session.execute(
                select(NotificationLog.channel, NotificationLog.recipient, func.count())
                .where(
                    NotificationLog.status.in_((D.SENT, D.DIGESTED)),
                    NotificationLog.kind != EventKind.DIGEST.value,
                    NotificationLog.sent_at >= start,
                )
                .group_by(NotificationLog.channel, NotificationLog.recipient)
            )
        }
        pending = session.scalars(
            select(NotificationLog)
            .where(NotificationLog.status == D.PENDING, NotificationLog.next_attempt_at <= now)
            .order_by(NotificationLog.created_at, NotificationLog.id)
        ).all()
        due: list[Outgoing] = []
        for row in pending:
            if row.kind != EventKind.DIGEST.value:
                used = sent_in_window.get((row.channel, row.recipient), 0)
                if used >= self.settings.notify_rate_limit_count:
                    row.status = D.HELD
                    row.window_start = start
                    report.held += 1
                    metrics.HELD.labels(channel=row.channel).inc()
                    continue
                # A slot is taken when the row is picked, so one cycle cannot overrun the budget.
                sent_in_window[(row.channel, row.recipient)] = used + 1
            due.append(
                Outgoing(row.id, row.key, row.channel, row.recipient, row.subject, row.body, row.payload)
            )
        return due

    # --- sending ---

    def _send(self, due: Sequence[Outgoing], now: datetime, report: CycleReport) -> None:
        """Send each message and record the outcome at once, so a crash re-sends at most one."""
        down: set[str] = set()  # a channel that failed this cycle waits for the next one
        for message in due:
            if message.channel in down:
                continue
            channel = self.channels.get(message.channel)
            error: str | None = None
            permanent = False
            try:
                if channel is None:
                    raise PermanentChannelError(f"channel {message.channel} is not configured any more")
                channel.send(message)
            except PermanentChannelError as err:
                error, permanent = str(err), True
            except ChannelError as err:
                error = str(err)
                down.add(message.channel)
            except Exception as err:  # a channel bug must not end the cycle; retried like a failure
                log.exception("notify_channel_crashed", channel=message.channel, key=message.key)
                error = repr(err)
                down.add(message.channel)
            self._record(message, now, error=error, permanent=permanent, report=report)

    def _record(
        self, message: Outgoing, now: datetime, *, error: str | None, permanent: bool, report: CycleReport
    ) -> None:
        with transaction(self.factory) as session:
            row = session.get(NotificationLog, message.delivery_id)
            if row is None:
                return
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = D.SENT, now, None
                report.sent += 1
                report.sent_keys.append((message.channel, message.recipient, message.key))
                metrics.SENT.labels(channel=message.channel, kind=row.kind).inc()
                return
            report.failed += 1
            metrics.FAILURES.labels(channel=message.channel).inc()
            row.last_error = error[:500]
            if permanent or row.attempts >= self.settings.notify_max_attempts:
                row.status = D.FAILED
                metrics.GIVEN_UP.labels(channel=message.channel).inc()
                log.error("notify_given_up", channel=message.channel, key=message.key, error=error)
            else:
                row.next_attempt_at = now + backoff(row.attempts)
                log.warning(
                    "notify_send_failed",
                    channel=message.channel,
                    key=message.key,
                    attempt=row.attempts,
                    error=error,
                )

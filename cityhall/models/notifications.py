"""The notification log: one row per notification per channel and recipient, from queued to sent.

It is the outbox of cityhall.notify: the unique (key, channel, recipient) makes planning idempotent across
restarts, its rows are the rate limiter's memory and the repeat schedule, and failed sends wait in it
for their next try.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityhall.db import Base, UTCDateTime
from cityhall.models.types import str_enum


class DeliveryStatus(StrEnum):
    """Where one notification to one recipient stands."""

    PENDING = "pending"  # to send (again) once next_attempt_at has come
    HELD = "held"  # over the rate limit; goes into the digest at the end of its window
    SENT = "sent"
    DIGESTED = "digested"  # sent as a line of the digest row digest_id
    CANCELLED = "cancelled"  # a repeat whose alarm was acknowledged or cleared before it went out
    FAILED = "failed"  # given up after the last attempt, or refused for good by the receiver


class NotificationLog(Base):
    """One notification for one recipient on one channel."""

    __tablename__ = "notification_log"
    __table_args__ = (
        UniqueConstraint("key", "channel", "recipient", name="uq_notification_log_key_channel_recipient"),
        Index("ix_notification_log_queue", "status", "channel", "recipient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # e.g. alarm:12:raised, alarm:12:repeat:2
    kind: Mapped[str] = mapped_column(String(32))  # alarm_raised, alarm_repeat, ..., digest
    channel: Mapped[str] = mapped_column(String(16))  # mqtt, webhook, email
    recipient: Mapped[str] = mapped_column(String(254))  # topic suffix, role of a webhook, e-mail address
    severity: Mapped[str | None] = mapped_column(String(16))
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarms.id", ondelete="SET NULL"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())  # of the window it was held in
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("notification_log.id", ondelete="SET NULL"))
    last_error: Mapped[str | None] = mapped_column(String(500))

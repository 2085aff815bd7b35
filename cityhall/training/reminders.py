"""E-mail reminders before a certificate or licence expires, for the housekeeping pass.

A reminder goes out at the nearest lead time that applies (by default 60 and 14 days before expiry), once:
a row in `training_certificate_reminders` records each one sent, so running the pass again sends nothing.
A certificate already renewed (the holder has a later one of the same course) is not reminded of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction, utcnow
from cityhall.models import Certificate, CertificateReminder
from cityhall.notify.channels import Channel, ChannelError, EmailChannel, Outgoing
from cityhall.settings import Settings

log = structlog.get_logger(__name__)
TAIPEI = ZoneInfo("Asia/Taipei")
DEFAULT_LEAD_DAYS = (60, 14)


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A certificate to remind its holder of, at lead time `lead_days`."""

    certificate_id: int
    expires_on: date
    lead_days: int
    recipient: str
    subject: str
    body: str


def _renewed(session: Session, cert: Certificate) -> bool:
    later = select(Certificate.id).where(
        Certificate.user_id == cert.user_id,
        Certificate.course_id == cert.course_id,
        Certificate.id != cert.id,
        Certificate.revoked_at.is_(None),
        (Certificate.expires_on.is_(None)) | (Certificate.expires_on > cert.expires_on),
    )
    return session.scalars(later).first() is not None


def due_reminders(session: Session, *, today: date, lead_days: Sequence[int]) -> list[DueReminder]:
    """Reminders that should go out on `today` and have not gone out yet."""
    leads = sorted(set(lead_days))
    if not leads:
        return []
    stmt = (
        select(Certificate)
        .where(
            Certificate.revoked_at.is_(None),
            Certificate.expires_on.is_not(None),
            Certificate.expires_on >= today,
            Certificate.expires_on <= today + timedelta(days=leads[-1]),
        )
        .order_by(Certificate.expires_on, Certificate.id)
    )
    due: list[DueReminder] = []
    for cert in session.scalars(stmt):
        assert cert.expires_on is not None  # noqa: S101 - filtered above
        days_left = (cert.expires_on - today).days
        lead = next(n for n in leads if days_left <= n)
        user = cert.user
        if not user.is_active or not user.email or _renewed(session, cert):
            continue
        sent = session.scalars(
            select(CertificateReminder.id).where(
                CertificateReminder.certificate_id == cert.id,
                CertificateReminder.expires_on == cert.expires_on,
                CertificateReminder.lead_days <= lead,
            )
        ).first()
        if sent is not None:
            continue
        title = cert.course.title
        due.append(
            DueReminder(
                certificate_id=cert.id,
                expires_on=cert.expires_on,
                lead_days=lead,
                recipient=user.email,
                subject=f"Your certificate {cert.number} ({title}) expires on {cert.expires_on:%Y-%m-%d}",
                body=(
                    f"Dear {user.full_name},\n\n"
                    f'your certificate {cert.number} for "{title}" expires on {cert.expires_on:%Y-%m-%d}, '
                    f"in {days_left} days.\n\n"
                    "Please enrol in a refresher session in CityHall Ops (My training) before then."
                ),
            )
        )
    return due


def send_expiry_reminders(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    lead_days: Sequence[int] = DEFAULT_LEAD_DAYS,
    channel: Channel | None = None,
) -> list[int]:
    """E-mail the holders of certificates expiring within the lead days; returns the certificate ids reminded.

    Without an SMTP host (and no channel given) nothing is sent and nothing recorded, so the reminders go
    out once e-mail is configured. A failed send is logged and tried again on the next pass.
    """
    if channel is None:
        if not settings.smtp_host:
            return []
        channel = EmailChannel(settings)
    now = now or utcnow()
    today = now.astimezone(TAIPEI).date()
    with transaction(session_factory) as session:
        due = due_reminders(session, today=today, lead_days=lead_days)
    reminded: list[int] = []
    for item in due:
        key = f"training:certificate:{item.certificate_id}:{item.expires_on}:{item.lead_days}"
        message = Outgoing(
            delivery_id=0,
            key=key,
            channel="email",
            recipient=item.recipient,
            subject=item.subject,
            body=item.body,
            payload={"certificate_id": item.certificate_id, "expires_on": item.expires_on.isoformat()},
        )
        try:
            channel.send(message)
        except ChannelError:  # the loop's edge: one bad mailbox must not stop the others
            log.exception("training_reminder_failed", certificate_id=item.certificate_id)
            continue
        with transaction(session_factory) as session:
            session.add(
                CertificateReminder(
                    certificate_id=item.certificate_id,
                    expires_on=item.expires_on,
                    lead_days=item.lead_days,
                    recipient=item.recipient,
                    sent_at=now,
                )
            )
        reminded.append(item.certificate_id)
    if reminded:
        log.info("training_reminders_sent", certificate_ids=reminded)
    return reminded

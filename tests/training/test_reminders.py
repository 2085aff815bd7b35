"""Expiry reminders by e-mail through a real SMTP server (aiosmtpd), on SQLite and PostgreSQL: the nearest
lead time only, never twice, none for a renewed certificate or a holder without an address."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.models import Certificate, CertificateReminder, User
from cityhall.settings import Settings
from cityhall.training import attendance, catalogue
from cityhall.training.reminders import send_expiry_reminders
from tests.notify.conftest import Mailbox, smtp_server
from tests.servers import LOCALHOST
from tests.training.conftest import ACTOR, Courses, MakeSession

__all__ = ["smtp_server"]  # the real SMTP server fixture of the notification tests


def _attend(factory: sessionmaker[Session], sid: int, text: str) -> None:
    with transaction(factory) as session:
        row = catalogue.get_session(session, sid, lock=True)
        report = attendance.record_lines(
            session, row=row, lines=attendance.parse_csv(text), source="csv", actor=ACTOR
        )
        assert not report.errors


def test_expiry_reminders_go_out_once_per_lead_time(
    session_factory: sessionmaker[Session],
    staff: dict[str, int],
    courses: Courses,
    make_session: MakeSession,
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    settings = Settings(
        _env_file=None,
        demo=True,
        jwt_secret=SecretStr("reminder-tests-" + "r" * 40),
        smtp_host=LOCALHOST,
        smtp_port=port,
    )
    # fire safety certificates last 24 months: these expire on 20 December 2026
    old = make_session(courses.fire_safety, datetime(2024, 12, 20, 1, tzinfo=UTC), hours=2)
    _attend(session_factory, old, "username,hours\nsam,2\nwang,2\neric,2\n")
    renewed = make_session(courses.fire_safety, datetime(2026, 10, 1, 1, tzinfo=UTC), hours=2)
    _attend(session_factory, renewed, "username,hours\nwang,2\n")  # wang renewed already
    with transaction(session_factory) as session:
        session.execute(update(User).where(User.username == "eric").values(email=None))

    nov = datetime(2026, 11, 27, 2, tzinfo=UTC)
    assert send_expiry_reminders(session_factory, settings, now=nov) == [_cert(session_factory, "sam", old)]
    assert send_expiry_reminders(session_factory, settings, now=nov) == []  # the same pass again
    messages = mailbox.to("sam@tainan.gov.tw")
    assert len(messages) == 1
    assert str(messages[0]["Subject"]).strip() == (
        f"Your certificate TR2024-{old:05d}-{staff['sam']:05d} (Fire Safety) expires on 2026-12-20"
    )
    assert "in 23 days" in messages[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    dec = datetime(2026, 12, 10, 2, tzinfo=UTC)  # ten days left: the 14-day reminder
    assert len(send_expiry_reminders(session_factory, settings, now=dec)) == 1
    assert send_expiry_reminders(session_factory, settings, now=dec) == []
    assert len(mailbox.to("sam@tainan.gov.tw")) == 2
    assert mailbox.to("wang@tainan.gov.tw") == []
    with session_factory() as session:
        leads = session.scalars(select(CertificateReminder.lead_days).order_by(CertificateReminder.id)).all()
    assert leads == [60, 14]

    off = Settings(_env_file=None, demo=True, jwt_secret=SecretStr("x" * 40))  # no SMTP host: nothing sent
    assert send_expiry_reminders(session_factory, off, now=dec) == []


def _cert(factory: sessionmaker[Session], username: str, session_id: int) -> int:
    with factory() as session:
        return session.scalars(
            select(Certificate.id)
            .join(User, User.id == Certificate.user_id)
            .where(User.username == username, Certificate.session_id == session_id)
        ).one()

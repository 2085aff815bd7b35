"""Repeat until acknowledged, a storm becomes one digest, and both survive a restart (state in the DB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cityhall.db import transaction
from cityhall.maintenance import acknowledge_alarm, clear_alarm
from cityhall.models import Alarm
from cityhall.notify import EmailChannel, NotificationService
from cityhall.settings import Settings
from tests.notify.conftest import Mailbox, SettingsFor, World

FIONA = "fiona@tainan.example"


def _service(world: World, settings: Settings) -> NotificationService:
    return NotificationService(
        settings=settings, session_factory=world.factory, channels=[EmailChannel(settings)]
    )


def _subjects(mailbox: Mailbox) -> list[str]:
    return [str(m["Subject"]).strip() for m in mailbox.to(FIONA)]


def test_unacknowledged_alarm_repeats_until_acknowledged(
    world: World, smtp_server: tuple[Mailbox, int], settings_for: SettingsFor
) -> None:
    mailbox, port = smtp_server
    settings = settings_for(smtp_host="127.0.0.1", smtp_port=port, notify_repeat_minutes="high=10,low=0")
    service = _service(world, settings)
    acked, cleared = world.raise_alarms(2)
    t0 = datetime.now(UTC)

    assert service.run_once(t0).sent == 2
    assert service.run_once(t0 + timedelta(minutes=9)).sent == 0
    assert service.run_once(t0 + timedelta(minutes=10)).sent == 2  # reminder 1 of each
    assert service.run_once(t0 + timedelta(minutes=15)).sent == 0
    with transaction(world.factory) as session:
        first, second = session.get(Alarm, acked), session.get(Alarm, cleared)
        assert first is not None
        assert second is not None
        acknowledge_alarm(session, alarm=first, actor="user:fiona")
        clear_alarm(session, alarm=second, actor="system:rules")
    assert service.run_once(t0 + timedelta(minutes=20)).sent == 0
    assert service.run_once(t0 + timedelta(hours=3)).sent == 0

    subjects = _subjects(mailbox)
    assert len(subjects) == 4
    assert sum(s.startswith("[CityHall Ops] Reminder 1: unacknowledged high alarm") for s in subjects) == 2


def test_storm_sends_five_then_one_digest_listing_the_rest(
    world: World, smtp_server: tuple[Mailbox, int], settings_for: SettingsFor
) -> None:
    mailbox, port = smtp_server
    settings = settings_for(smtp_host="127.0.0.1", smtp_port=port)
    service = _service(world, settings)
    world.raise_alarms(30)
    t0 = datetime.now(UTC)

    first = service.run_once(t0)
    assert (first.sent, first.held) == (5, 25)
    # A minute later, but never past the window's last second (t0 is the real clock, anywhere in its window).
    inside = min(t0 + timedelta(minutes=1), service.window_start(t0) + service.window - timedelta(seconds=1))
    assert service.run_once(inside).sent == 0  # still inside the window
    end = service.window_start(t0) + timedelta(minutes=5)
    closing = service.run_once(end)
    assert (closing.digests, closing.sent) == (1, 1)

    subjects = _subjects(mailbox)
    assert len(subjects) == 6
    digest = mailbox.to(FIONA)[-1]
    assert digest["Subject"].strip().startswith("[CityHall Ops] 25 more notifications ")
    text = digest.get_body(("plain",))
    assert text is not None
    listed = [line for line in text.get_content().splitlines() if line.startswith("- ")]
    assert len(listed) == 25
    assert all("[high]" in line for line in listed)
    # The listed alarms are exactly those not sent one by one.
    individual = {s.rsplit(": ", 1)[-1] for s in subjects[:5]}
    assert not any(line.endswith(tuple(individual)) for line in listed)
    assert service.run_once(end + timedelta(minutes=5)).sent == 0


def test_restart_neither_respams_nor_forgets(
    world: World, smtp_server: tuple[Mailbox, int], settings_for: SettingsFor
) -> None:
    mailbox, port = smtp_server
    settings = settings_for(smtp_host="127.0.0.1", smtp_port=port, notify_repeat_minutes="high=30")
    world.raise_alarms(7)
    t0 = datetime.now(UTC)
    before = _service(world, settings)
    assert before.run_once(t0).sent == 5
    before.close()

    after = _service(world, settings)  # a new process: only the database remembers
    inside = min(t0 + timedelta(minutes=1), after.window_start(t0) + after.window - timedelta(seconds=1))
    assert after.run_once(inside).sent == 0
    end = after.window_start(t0) + timedelta(minutes=5)
    assert after.run_once(end).digests == 1
    reminders = after.run_once(t0 + timedelta(minutes=30))
    assert reminders.sent + reminders.held == 7

    subjects = _subjects(mailbox)
    assert subjects[5].startswith("[CityHall Ops] 2 more notifications ")
    assert sum("Reminder 1" in s for s in subjects) == reminders.sent

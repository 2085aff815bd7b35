"""Each channel against a real receiver: aiosmtpd, the throwaway Mosquitto, an http.server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cityhall.audit import record
from cityhall.db import transaction
from cityhall.maintenance import assign_ticket
from cityhall.models import Crew, NotificationLog, Ticket, User
from cityhall.notify import EmailChannel, MqttChannel, NotificationService, WebhookChannel, verify_signature
from tests.notify.conftest import WEBHOOK_SECRET, Mailbox, SettingsFor, WebhookInbox, World
from tests.servers import MosquittoServer
from tests.waiting import PATIENCE_S


def test_email_reaches_active_managers_with_an_address(
    world: World, smtp_server: tuple[Mailbox, int], settings_for: SettingsFor
) -> None:
    mailbox, port = smtp_server
    settings = settings_for(smtp_host="127.0.0.1", smtp_port=port, smtp_from="ops@tainan.example")
    service = NotificationService(
        settings=settings, session_factory=world.factory, channels=[EmailChannel(settings)]
    )
    [alarm_id] = world.raise_alarms(1)

    report = service.run_once()

    assert report.sent == 1
    # frank has no address and gone is inactive: only fiona hears about it.
    [(rcpts, mail)] = mailbox.messages
    assert rcpts == ["fiona@tainan.example"]
    assert mail["From"] == "ops@tainan.example"
    assert mail["Subject"].strip() == "[CityHall Ops] High alarm: Rule 0 at Main meter A"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    body = text.get_content()
    assert "Power 80 kW above 50 kW" in body
    assert f"Alarm #{alarm_id}, ticket #" in body
    assert "(UTC+8)" in body  # people read Asia/Taipei time
    assert "<h3>[CityHall Ops] High alarm" in html.get_content()
    assert service.run_once().sent == 0  # planned once, sent once


def test_crew_members_hear_of_alarms_in_the_buildings_their_crew_serves(
    world: World, smtp_server: tuple[Mailbox, int], settings_for: SettingsFor
) -> None:
    mailbox, port = smtp_server
    with transaction(world.factory) as session:
        north = session.scalars(select(Crew).where(Crew.name == "north")).one()
        north.members.append(session.get_one(User, world.users["chen"]))
        session.add(Crew(name="idle", trades=["general"], is_active=False, buildings=list(north.buildings)))
    settings = settings_for(smtp_host="127.0.0.1", smtp_port=port)
    service = NotificationService(
        settings=settings, session_factory=world.factory, channels=[EmailChannel(settings)]
    )
    world.raise_alarms(1)

    report = service.run_once()

    assert sorted(rcpt for rcpts, _ in mailbox.messages for rcpt in rcpts) == [
        "chen@tainan.example",
        "fiona@tainan.example",
    ]
    assert report.sent == 2


def test_assignment_and_escalation_reach_the_assignee_and_the_higher_role(
    world: World, smtp_server: tuple[Mailbox, int], settings_for: SettingsFor
) -> None:
    mailbox, port = smtp_server
    settings = settings_for(smtp_host="127.0.0.1", smtp_port=port)
    service = NotificationService(
        settings=settings, session_factory=world.factory, channels=[EmailChannel(settings)]
    )
    [alarm_id] = world.raise_alarms(1)
    with transaction(world.factory) as session:
        ticket = session.query(Ticket).filter_by(alarm_id=alarm_id).one()
        assign_ticket(session, ticket=ticket, assignee_id=world.users["chen"], actor="user:fiona")
        # What the escalation work records (issue 5): an audited "escalate" with the new level.
        record(
            session,
            actor="system:escalation",
            action="escalate",
            entity="alarm",
            entity_id=alarm_id,
            before=None,
            after={"id": alarm_id, "escalation_level": 1},
        )

    service.run_once()

    [to_chen] = mailbox.to("chen@tainan.example")
    assert (
        to_chen["Subject"].strip().startswith(f"[CityHall Ops] Ticket #{ticket.id} assigned to you: Rule 0")
    )
    [to_ada] = mailbox.to("ada@tainan.example")
    assert (
        to_ada["Subject"].strip() == "[CityHall Ops] Escalated (level 1): high alarm: Rule 0 at Main meter A"
    )
    assert len(mailbox.to("fiona@tainan.example")) == 1  # the raise; escalation goes to the higher role


def test_mqtt_publishes_to_role_and_crew_topics(
    world: World, mosquitto: MosquittoServer, settings_for: SettingsFor
) -> None:
    settings = settings_for(mqtt_port=mosquitto.port)
    received: dict[str, dict[str, object]] = {}
    subscribed, got_two = threading.Event(), threading.Event()

    def on_connect(client: mqtt.Client, *_args: object) -> None:
        client.subscribe("cityhall/v1/notifications/#", qos=1)

    def on_subscribe(*_args: object) -> None:
        subscribed.set()

    def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        received[message.topic] = json.loads(message.payload)
        if len(received) >= 2:
            got_two.set()

    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="notify-test-listener")
    listener.on_connect, listener.on_subscribe, listener.on_message = on_connect, on_subscribe, on_message
    listener.connect(mosquitto.host, mosquitto.port)
    listener.loop_start()
    channel = MqttChannel(settings)
    try:
        assert subscribed.wait(PATIENCE_S)
        [alarm_id] = world.raise_alarms(1)
        report = NotificationService(
            settings=settings, session_factory=world.factory, channels=[channel]
        ).run_once()
        assert report.sent == 2
        assert got_two.wait(PATIENCE_S)
    finally:
        channel.close()
        listener.disconnect()
        listener.loop_stop()

    assert set(received) == {
        "cityhall/v1/notifications/facility_manager",
        "cityhall/v1/notifications/crew/north",
    }
    doc = received["cityhall/v1/notifications/crew/north"]
    assert doc["kind"] == "alarm_raised"
    assert doc["key"] == f"alarm:{alarm_id}:raised"
    assert doc["alarm_id"] == alarm_id
    assert doc["severity"] == "high"
    assert doc["audience"] == {"roles": ["facility_manager"], "crews": ["north"], "users": []}
    assert str(doc["occurred_at"]).endswith("Z")
    assert str(doc["sent_at"]).endswith("Z")


def test_mqtt_broker_down_is_counted_and_retried_not_raised(world: World, settings_for: SettingsFor) -> None:
    settings = settings_for()  # nothing listens on its MQTT port
    channel = MqttChannel(settings, timeout_s=0.5)
    service = NotificationService(settings=settings, session_factory=world.factory, channels=[channel])
    world.raise_alarms(1)
    try:
        report = service.run_once()
    finally:
        channel.close()
    assert (report.sent, report.failed) == (0, 1)  # the crew row waits: the channel is down this cycle
    with world.factory() as session:
        rows = session.query(NotificationLog).order_by(NotificationLog.id).all()
    assert [r.status.value for r in rows] == ["pending", "pending"]
    assert rows[0].attempts == 1
    assert rows[0].last_error is not None
    assert "not connected" in rows[0].last_error


def test_webhook_is_signed_and_retried_with_backoff(
    world: World, webhook_server: tuple[WebhookInbox, str], settings_for: SettingsFor
) -> None:
    inbox, base = webhook_server
    inbox.statuses = [503]  # the receiver is briefly unavailable
    settings = settings_for(notify_webhook_urls=f"facility_manager={base}/fm,admin={base}/admin")
    channel = WebhookChannel(settings)
    service = NotificationService(settings=settings, session_factory=world.factory, channels=[channel])
    world.raise_alarms(1)
    t0 = datetime.now(UTC)

    first = service.run_once(t0)
    early = service.run_once(t0 + timedelta(seconds=10))  # before the 30 s backoff: no try
    retry = service.run_once(t0 + timedelta(seconds=31))
    channel.close()

    assert (first.failed, early.sent, early.failed, retry.sent) == (1, 0, 0, 1)
    assert len(inbox.requests) == 2
    path, headers, body = inbox.requests[-1]
    assert path == "/fm"
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-CityHall-Signature"] == expected
    doc = json.loads(body)
    assert int(headers["X-CityHall-Timestamp"]) == int(datetime.fromisoformat(doc["sent_at"]).timestamp())
    assert doc["kind"] == "alarm_raised"
    assert verify_signature(WEBHOOK_SECRET.encode(), body, headers)
    assert not verify_signature(b"wrong secret", body, headers)
    assert not verify_signature(WEBHOOK_SECRET.encode(), body.replace(b"high", b"low!"), headers)
    replayed_later = datetime.now(UTC) + timedelta(minutes=10)
    assert not verify_signature(WEBHOOK_SECRET.encode(), body, headers, now=replayed_later)


def test_webhook_client_error_is_not_retried(
    world: World, webhook_server: tuple[WebhookInbox, str], settings_for: SettingsFor
) -> None:
    inbox, base = webhook_server
    inbox.statuses = [410]
    settings = settings_for(notify_webhook_urls=f"facility_manager={base}/fm")
    channel = WebhookChannel(settings)
    service = NotificationService(settings=settings, session_factory=world.factory, channels=[channel])
    world.raise_alarms(1)
    t0 = datetime.now(UTC)
    service.run_once(t0)
    later = service.run_once(t0 + timedelta(minutes=5))  # past any backoff, before a reminder
    channel.close()
    assert later.sent == 0
    assert len(inbox.requests) == 1
    with world.factory() as session:
        [row] = session.query(NotificationLog).all()
    assert row.status.value == "failed"

"""Fixtures of the notification tests: a database with one building, people, and real SMTP/HTTP receivers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import Base, make_engine, make_sessionmaker, transaction
from cityhall.maintenance import AlarmCondition, raise_alarm
from cityhall.models import (
    Alarm,
    Building,
    BuildingUse,
    Crew,
    Device,
    DeviceKind,
    Floor,
    Role,
    Severity,
    Site,
    Space,
    SpaceKind,
    User,
)
from cityhall.settings import Settings
from tests.servers import LOCALHOST, free_port

WEBHOOK_SECRET = "notify-tests-" + "s" * 40
PEOPLE = {
    "fiona": (Role.FACILITY_MANAGER, "fiona@tainan.example"),
    "frank": (Role.FACILITY_MANAGER, None),  # no e-mail address: MQTT/webhook only
    "ada": (Role.ADMIN, "ada@tainan.example"),
    "chen": (Role.MAINTENANCE_CREW, "chen@tainan.example"),
    "gone": (Role.FACILITY_MANAGER, "gone@tainan.example"),  # deactivated below
}


# --- receivers ---


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:  # noqa: N802
        """aiosmtpd's hook: keep the envelope recipients and the parsed message."""
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope names the address."""
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname=LOCALHOST, port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@dataclass
class WebhookInbox:
    """What the HTTP receiver got: (path, headers, raw body); answers with the queued statuses, then 204."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """Parsed JSON bodies of the requests to a path."""
        return [json.loads(body) for p, _h, body in self.requests if p == path]


@pytest.fixture
def webhook_server() -> Iterator[tuple[WebhookInbox, str]]:
    """A real HTTP server (http.server on a thread) that records every POST."""
    inbox = WebhookInbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            inbox.requests.append((self.path, dict(self.headers.items()), body))
            status = inbox.statuses.pop(0) if inbox.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield inbox, f"http://{LOCALHOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- database ---


@dataclass(frozen=True, slots=True)
class World:
    """The seeded database: ids of the device and the people."""

    factory: sessionmaker[Session]
    device_id: int
    users: dict[str, int]

    def raise_alarms(self, count: int, *, severity: Severity = Severity.HIGH) -> list[int]:
        """Raise `count` alarms (different rules) on the device, as the rules runner would."""
        ids: list[int] = []
        with transaction(self.factory) as session:
            device = session.get(Device, self.device_id)
            assert device is not None
            for i in range(count):
                condition = AlarmCondition(
                    rule_key=f"rule_{i}",
                    rule_name=f"Rule {i}",
                    severity=severity,
                    quantity="power_kw",
                    unit="kW",
                    threshold=50.0,
                    value=80.0 + i,
                    since=datetime.now(UTC),
                    message=f"Power {80 + i} kW above 50 kW",
                )
                alarm = raise_alarm(session, device=device, condition=condition, actor="system:rules")
                assert alarm is not None
                ids.append(alarm.id)
        return ids

    def alarm(self, alarm_id: int) -> Alarm:
        """Reload an alarm."""
        with self.factory() as session:
            alarm = session.get(Alarm, alarm_id)
            assert alarm is not None
            return alarm


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """An empty database (SQLite, then PostgreSQL): one building, one meter, five people, crew `north` serving it."""
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        site = Site(code="YH", name="Yonghua Civic Center")
        building = Building(
            site=site,
            code="YH-A",
            name="Yonghua Building A",
            use=BuildingUse.OFFICE,
            gross_floor_area_m2=9000,
        )
        floor = Floor(building=building, level=1, name="1F", area_m2=1500)
        space = Space(
            floor=floor, code="YH-A-1F-PLANT", name="Plant room", kind=SpaceKind.PLANT_ROOM, area_m2=80
        )
        device = Device(
            space=space,
            code="yh-a-main",
            name="Main meter A",
            kind=DeviceKind.ELECTRICITY_METER,
            quantities=["power_kw"],
        )
        session.add(device)
        users = {
            name: User(username=name, full_name=name.title(), email=email, role=role, password_hash="x")
            for name, (role, email) in PEOPLE.items()
        }
        users["gone"].is_active = False
        session.add_all(users.values())
        session.add(Crew(name="north", trades=["electrical"], buildings=[building]))  # no members yet
        session.flush()
        ids = {name: user.id for name, user in users.items()}
        device_id = device.id
    yield World(factory=factory, device_id=device_id, users=ids)
    engine.dispose()


SettingsFor = Callable[..., Settings]


@pytest.fixture
def settings_for() -> SettingsFor:
    """Settings for a test: demo mode, SMTP/MQTT/webhook off unless given."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "demo": True,
            "mqtt_port": free_port(),  # nothing listens unless a test passes its broker's port
            "notify_webhook_secret": WEBHOOK_SECRET,
            **overrides,
        }
        return Settings(**values)

    return build

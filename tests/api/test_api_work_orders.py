"""Alarm close/shelve, ticket notes, photos, SLA filters, crews and PM schedules through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from cityhall import maintenance
from cityhall.db import transaction
from cityhall.models import Alarm, Device, Severity, Ticket
from tests.api.api_testdata import AssetIds, AuthFor
from tests.api.test_api_alarms import raise_alarm

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _clear(factory: sessionmaker[Session], alarm_id: int) -> None:
    with transaction(factory) as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        maintenance.clear_alarm(session, alarm=alarm, actor="system:rules")


def test_alarm_close_needs_clear_and_shelving_suppresses(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, session_factory: sessionmaker[Session]
) -> None:
    """Close is 409 while active; after clear it closes. A shelved pair raises nothing until unshelved."""
    alarm_id = raise_alarm(session_factory, assets.civic_meter_id, "baseload", Severity.HIGH)
    fm = auth_for("fiona")
    early = client.post(f"/alarms/{alarm_id}/close", headers=fm)
    assert early.status_code == 409
    assert early.json()["detail"][0]["type"] == "alarm_not_cleared"
    until = (datetime.now(UTC) + timedelta(hours=4)).isoformat()
    shelved = client.post(
        f"/alarms/{alarm_id}/shelve", json={"until": until, "reason": "meter swap"}, headers=fm
    )
    assert shelved.status_code == 201, shelved.text
    _clear(session_factory, alarm_id)
    closed = client.post(f"/alarms/{alarm_id}/close", headers=fm)
    assert closed.status_code == 200
    assert (closed.json()["lifecycle"], closed.json()["closed_by"]) == ("closed", "user:fiona")
    with transaction(session_factory) as session:
        device = session.get(Device, assets.civic_meter_id)
        assert device is not None
        again = maintenance.raise_alarm(
            session,
            device=device,
            condition=maintenance.AlarmCondition(
                rule_key="baseload",
                rule_name="Baseload",
                severity=Severity.HIGH,
                quantity="power_kw",
                unit="kW",
                threshold=1.0,
                value=2.0,
                since=datetime.now(UTC),
                message="m",
            ),
            actor="system:rules",
        )
        assert again is None
    listed = client.get("/alarms/shelves", headers=auth_for("eric")).json()
    assert [s["reason"] for s in listed["items"]] == ["meter swap"]
    ended = client.post(f"/alarms/shelves/{listed['items'][0]['id']}/end", headers=fm)
    assert ended.status_code == 200
    assert ended.json()["ended_by"] == "user:fiona"
    past = client.post(
        "/alarms/shelves",
        json={
            "rule_key": "baseload",
            "device_id": assets.civic_meter_id,
            "until": "2020-01-01T00:00:00Z",
            "reason": "x",
        },
        headers=fm,
    )
    assert past.status_code == 422
    assert past.json()["detail"][0]["loc"] == ["body", "until"]


def test_needs_confirmation_overdue_filters_and_crew_acceptance(
    client: TestClient,
    auth_for: AuthFor,
    assets: AssetIds,
    people: dict[str, int],
    session_factory: sessionmaker[Session],
) -> None:
    """A cleared alarm flags its unstarted ticket; starting work acknowledges the alarm; overdue filters."""
    first = raise_alarm(session_factory, assets.civic_meter_id, "baseload", Severity.HIGH)
    second = raise_alarm(session_factory, assets.dorm_meter_id, "baseload", Severity.CRITICAL)
    _clear(session_factory, first)
    fm = auth_for("fiona")
    flagged = client.get("/tickets", params={"needs_confirmation": "true"}, headers=fm).json()
    assert [t["alarm_id"] for t in flagged["items"]] == [first]
    assert flagged["items"][0]["due_at"] is not None

    with transaction(session_factory) as session:
        session.execute(
            update(Ticket)
            .where(Ticket.alarm_id == second)
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
    overdue = client.get("/tickets", params={"overdue": "true"}, headers=fm).json()
    assert [t["alarm_id"] for t in overdue["items"]] == [second]
    ticket_id = overdue["items"][0]["id"]
    client.patch(f"/tickets/{ticket_id}", json={"assignee_id": people["chen"]}, headers=fm)
    started = client.patch(f"/tickets/{ticket_id}", json={"status": "in_progress"}, headers=auth_for("chen"))
    assert started.status_code == 200
    alarm = client.get(f"/alarms/{second}", headers=fm).json()
    assert (alarm["lifecycle"], alarm["acknowledged_by"]) == ("acknowledged", "user:chen")
    skipped = client.patch(f"/tickets/{ticket_id}", json={"status": "open"}, headers=auth_for("chen"))
    assert skipped.status_code == 409


def test_notes_and_photos(client: TestClient, auth_for: AuthFor, people: dict[str, int]) -> None:
    """Notes sum time spent; photos are images up to 5 MB, downloadable; errors name the field."""
    ticket = client.post("/tickets", json={"title": "Door closer broken"}, headers=auth_for("sam")).json()
    url = f"/tickets/{ticket['id']}"
    client.patch(url, json={"assignee_id": people["chen"]}, headers=auth_for("fiona"))
    chen = auth_for("chen")
    for minutes in (20, 35):
        assert (
            client.post(
                f"{url}/notes", json={"text": "work", "time_spent_minutes": minutes}, headers=chen
            ).status_code
            == 201
        )
    notes = client.get(f"{url}/notes", headers=auth_for("fiona")).json()
    assert notes["time_spent_minutes"] == 55
    assert [n["author"] for n in notes["items"]] == ["user:chen", "user:chen"]
    assert client.post(f"{url}/notes", json={"text": "x"}, headers=auth_for("wang")).status_code == 403

    up = client.post(f"{url}/photos", files={"file": ("door.png", PNG, "image/png")}, headers=chen)
    assert up.status_code == 201, up.text
    got = client.get(f"{url}/photos/{up.json()['id']}", headers=auth_for("fiona"))
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, PNG, "image/png")
    text = client.post(f"{url}/photos", files={"file": ("notes.txt", b"hello", "text/plain")}, headers=chen)
    assert text.status_code == 415
    assert text.json()["detail"][0]["loc"] == ["body", "file"]
    fake = client.post(f"{url}/photos", files={"file": ("x.png", b"not a png", "image/png")}, headers=chen)
    assert fake.status_code == 415
    big = PNG + b"\x00" * maintenance.PHOTO_MAX_BYTES
    too_big = client.post(f"{url}/photos", files={"file": ("big.png", big, "image/png")}, headers=chen)
    assert too_big.status_code == 413
    assert too_big.json()["detail"][0]["type"] == "photo_too_large"
    missing = client.post(f"{url}/photos", headers=chen)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "file"]
    assert len(client.get(f"{url}/photos", headers=chen).json()) == 1


def test_crews_assign_by_building_and_trade_and_scope_crew_members(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, people: dict[str, int]
) -> None:
    """Crews CRUD; a request in a crew's building and trade is auto-assigned; other crews get 403."""
    fm = auth_for("fiona")
    body = {
        "name": "Civic sparks",
        "trades": ["electrical"],
        "member_ids": [people["chen"]],
        "building_ids": [assets.civic_id],
    }
    created = client.post("/crews", json=body, headers=fm)
    assert created.status_code == 201, created.text
    crew_id = created.json()["id"]
    dorm = client.post(
        "/crews",
        json={
            "name": "Dorm",
            "trades": ["electrical"],
            "member_ids": [people["wang"]],
            "building_ids": [assets.dorm_id],
        },
        headers=fm,
    )
    assert dorm.status_code == 201
    bad = client.post("/crews", json={**body, "name": "X", "member_ids": [people["sue"]]}, headers=fm)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "member_ids"]
    assert client.post("/crews", json=body, headers=auth_for("chen")).status_code == 403

    ticket = client.post(
        "/tickets",
        json={"title": "Meter dead", "device_code": "yh-a-main", "trade": "electrical"},
        headers=auth_for("sam"),
    ).json()
    assert (ticket["crew_id"], ticket["status"]) == (crew_id, "assigned")
    url = f"/tickets/{ticket['id']}"
    assert client.get(url, headers=auth_for("wang")).status_code == 403
    assert ticket["id"] not in [
        t["id"] for t in client.get("/tickets", headers=auth_for("wang")).json()["items"]
    ]
    assert client.patch(url, json={"status": "in_progress"}, headers=auth_for("wang")).status_code == 403
    taken = client.patch(url, json={"status": "in_progress"}, headers=auth_for("chen"))
    assert taken.status_code == 200
    assert taken.json()["assignee_id"] == people["chen"]

    retired = client.delete(f"/crews/{crew_id}", headers=fm)
    assert retired.json()["is_active"] is False


def test_pm_schedules_crud_and_rrule_validation(
    client: TestClient, auth_for: AuthFor, assets: AssetIds
) -> None:
    """A schedule's next_due_at is its first occurrence; a bad RRULE is a 422 naming `rrule`."""
    fm = auth_for("fiona")
    body = {
        "title": "Clean AHU filters",
        "rrule": "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0",
        "dtstart": "2026-12-01T09:00:00+08:00",
        "device_id": assets.civic_climate_id,
        "trade": "hvac",
    }
    created = client.post("/maintenance-schedules", json=body, headers=fm)
    assert created.status_code == 201, created.text
    assert created.json()["next_due_at"] == "2026-12-07T01:00:00Z"
    bad = client.post("/maintenance-schedules", json={**body, "rrule": "FREQ=SOMETIMES"}, headers=fm)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "rrule"]
    sid = created.json()["id"]
    paused = client.patch(f"/maintenance-schedules/{sid}", json={"is_active": False}, headers=fm)
    assert paused.json()["is_active"] is False
    assert client.get("/maintenance-schedules", headers=auth_for("chen")).json()["total"] == 1
    assert client.post("/maintenance-schedules", json=body, headers=auth_for("chen")).status_code == 403
    assert created.json()["shelve_minutes"] is None
    swap = client.post("/maintenance-schedules", json={**body, "shelve_minutes": 90}, headers=fm)
    assert swap.status_code == 201, swap.text
    assert swap.json()["shelve_minutes"] == 90
    for minutes in (0, 7 * 24 * 60 + 1):
        refused = client.post("/maintenance-schedules", json={**body, "shelve_minutes": minutes}, headers=fm)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "shelve_minutes"]

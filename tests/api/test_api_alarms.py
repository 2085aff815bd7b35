"""Alarms raised by rules: listing with filters, reading and acknowledging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall import maintenance
from cityhall.db import transaction
from cityhall.maintenance import AlarmCondition
from cityhall.models import Alarm, AuditEntry, Device, Severity
from tests.api.api_testdata import AssetIds, AuthFor


def raise_alarm(factory: sessionmaker[Session], device_id: int, rule_key: str, severity: Severity) -> int:
    """Raise an alarm the way the rules engine does, returning its id."""
    condition = AlarmCondition(
        rule_key=rule_key,
        rule_name=rule_key.replace("_", " ").title(),
        severity=severity,
        quantity="power_kw",
        unit="kW",
        threshold=40.0,
        value=55.5,
        since=datetime.now(UTC) - timedelta(minutes=20),
        message="after-hours baseload 55.5 kW above 40 kW",
    )
    with transaction(factory) as session:
        device = session.get(Device, device_id)
        assert device is not None
        alarm = maintenance.raise_alarm(session, device=device, condition=condition, actor="rules:engine")
        assert alarm is not None
        return alarm.id


def test_list_filters_by_state_severity_and_building(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, session_factory: sessionmaker[Session]
) -> None:
    """Active and cleared alarms are told apart; building and severity filters narrow the list."""
    civic = raise_alarm(session_factory, assets.civic_meter_id, "after_hours_baseload", Severity.HIGH)
    dorm = raise_alarm(session_factory, assets.dorm_meter_id, "after_hours_baseload", Severity.LOW)
    cleared = raise_alarm(session_factory, assets.civic_climate_id, "overheat", Severity.MEDIUM)
    with transaction(session_factory) as session:
        alarm = session.get(Alarm, cleared)
        assert alarm is not None
        maintenance.clear_alarm(session, alarm=alarm, actor="rules:engine")
    headers = auth_for("eric")

    active = client.get("/alarms", params={"state": "active"}, headers=headers).json()
    assert active["total"] == 2
    assert {a["id"] for a in active["items"]} == {civic, dorm}
    assert all(a["state"] == "active" for a in active["items"])
    done = client.get("/alarms", params={"state": "cleared"}, headers=headers).json()
    assert [a["id"] for a in done["items"]] == [cleared]
    assert done["items"][0]["cleared_at"] is not None

    in_dorm = client.get("/alarms", params={"building_id": assets.dorm_id}, headers=headers).json()
    assert [a["id"] for a in in_dorm["items"]] == [dorm]
    high = client.get("/alarms", params={"severity": "high"}, headers=headers).json()
    assert [a["id"] for a in high["items"]] == [civic]
    by_rule = client.get("/alarms", params={"rule_key": "overheat"}, headers=headers).json()
    assert by_rule["total"] == 1

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/alarms", params={"raised_after": future}, headers=headers).json()["total"] == 0
    assert client.get("/alarms", params={"raised_before": future}, headers=headers).json()["total"] == 3
    naive = client.get("/alarms", params={"raised_after": "2025-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422
    assert naive.json()["detail"][0]["loc"] == ["query", "raised_after"]

    one = client.get(f"/alarms/{civic}", headers=headers).json()
    assert (one["unit"], one["threshold"], one["trigger_value"]) == ("kW", 40.0, 55.5)
    # The rules engine opened a linked ticket for each alarm.
    linked = client.get("/tickets", params={"alarm_id": civic}, headers=auth_for("fiona")).json()
    assert linked["items"][0]["source"] == "rule"
    assert linked["items"][0]["priority"] == "high"


def test_acknowledge_once_then_409(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, session_factory: sessionmaker[Session]
) -> None:
    """Crew acknowledge an alarm (audited); a second acknowledgement is a conflict."""
    alarm_id = raise_alarm(session_factory, assets.civic_meter_id, "after_hours_baseload", Severity.HIGH)
    first = client.post(f"/alarms/{alarm_id}/acknowledge", headers=auth_for("chen"))
    assert first.status_code == 200
    assert first.json()["acknowledged_by"] == "user:chen"
    assert first.json()["acknowledged_at"] is not None

    second = client.post(f"/alarms/{alarm_id}/acknowledge", headers=auth_for("fiona"))
    assert second.status_code == 409
    assert second.json()["detail"][0]["type"] == "alarm_already_acknowledged"
    with session_factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "alarm", AuditEntry.action == "acknowledge")
        ).one()
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        assert alarm.acknowledged_by == "user:chen"
    assert entry.before is not None
    assert entry.after is not None
    assert entry.before["acknowledged_at"] is None
    assert entry.after["acknowledged_by"] == "user:chen"


def test_read_only_roles_cannot_acknowledge(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, session_factory: sessionmaker[Session]
) -> None:
    """Energy committee and auditors read alarms but may not acknowledge; staff may not even read."""
    alarm_id = raise_alarm(session_factory, assets.civic_meter_id, "after_hours_baseload", Severity.HIGH)
    assert client.get(f"/alarms/{alarm_id}", headers=auth_for("audrey")).status_code == 200
    for who in ("eric", "audrey", "sam"):
        assert client.post(f"/alarms/{alarm_id}/acknowledge", headers=auth_for(who)).status_code == 403
    assert client.get("/alarms", headers=auth_for("sam")).status_code == 403


def test_unknown_alarm_is_404(client: TestClient, auth_for: AuthFor) -> None:
    """Both reading and acknowledging an unknown alarm are 404s naming the id."""
    for response in (
        client.get("/alarms/777", headers=auth_for("fiona")),
        client.post("/alarms/777/acknowledge", headers=auth_for("fiona")),
    ):
        assert response.status_code == 404
        assert response.json()["detail"][0]["msg"] == "no alarm 777"

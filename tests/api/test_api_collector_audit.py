"""Dead letters for facility managers and the audit log for auditors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cityhall.audit import record
from cityhall.db import transaction
from cityhall.models import DeadLetter, DeadLetterCategory, Device
from tests.api.api_testdata import AssetIds, AuthFor


def test_dead_letters_newest_first_with_payload_as_text(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session]
) -> None:
    """Payloads are shown as UTF-8 text with replacement characters, newest first, with reason and topic."""
    now = datetime.now(UTC)
    with transaction(session_factory) as session:
        session.add_all(
            [
                DeadLetter(
                    received_at=now - timedelta(minutes=5),
                    topic="cityhall/v1/readings/yh-a-main",
                    payload=b'{"device": "yh-a-main", "ts": "yesterday"}',
                    reason="ts is not ISO 8601",
                    device="yh-a-main",
                ),
                DeadLetter(
                    received_at=now,
                    topic="cityhall/v1/readings/unknown",
                    payload=b"\xff\xfe\x00garbage",
                    reason="payload is not UTF-8 JSON",
                ),
            ]
        )
    response = client.get("/dead-letters", headers=auth_for("fiona"))
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 2
    newest, older = page["items"]
    assert newest["reason"] == "payload is not UTF-8 JSON"
    assert newest["payload_text"].startswith("\ufffd\ufffd")
    assert newest["payload_bytes"] == 10
    assert older["topic"] == "cityhall/v1/readings/yh-a-main"
    assert older["payload_text"] == '{"device": "yh-a-main", "ts": "yesterday"}'
    assert (
        client.get("/dead-letters", params={"device": "yh-a-main"}, headers=auth_for("ada")).json()["total"]
        == 1
    )
    assert client.get("/dead-letters", headers=auth_for("chen")).status_code == 403


def test_audit_filters_by_entity_and_actor(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session]
) -> None:
    """Auditors filter the log by entity, entity id and actor; facility managers may not read it."""
    with transaction(session_factory) as session:
        record(
            session, actor="user:fiona", action="update", entity="ticket", entity_id=1, before={}, after={}
        )
        record(session, actor="user:chen", action="update", entity="ticket", entity_id=2, before={}, after={})
        record(
            session, actor="user:fiona", action="create", entity="user", entity_id=9, before=None, after={}
        )
    headers = auth_for("audrey")
    assert client.get("/audit", params={"entity": "ticket"}, headers=headers).json()["total"] == 2
    by_actor = client.get("/audit", params={"actor": "user:fiona"}, headers=headers).json()
    assert [e["entity"] for e in by_actor["items"]] == ["user", "ticket"]
    one = client.get("/audit", params={"entity": "ticket", "entity_id": "2"}, headers=headers).json()
    assert [e["actor"] for e in one["items"]] == ["user:chen"]
    assert one["items"][0]["at"].endswith(("Z", "+00:00"))
    assert client.get("/audit", headers=auth_for("fiona")).status_code == 403


def test_quarantine_lists_unknown_devices_and_whether_they_are_registered(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session], assets: AssetIds
) -> None:
    """Unknown device codes are grouped with their message counts; a registered one says so."""
    now = datetime.now(UTC)
    with transaction(session_factory) as session:
        civic_meter = session.get_one(Device, assets.civic_meter_id).code
        for code, minutes_ago in [("EV-01", 9), ("EV-01", 2), (civic_meter, 1), ("GHOST", 30)]:
            session.add(
                DeadLetter(
                    received_at=now - timedelta(minutes=minutes_ago),
                    topic=f"cityhall/v1/readings/{code}",
                    payload=b"{}",
                    reason=f"device: unknown device {code!r}",
                    device=code,
                    category=DeadLetterCategory.UNKNOWN_DEVICE,
                )
            )
        session.add(DeadLetter(topic="t", payload=b"x", reason="payload: Invalid JSON", device="EV-01"))
        session.add(
            DeadLetter(
                topic="t",
                payload=b"{}",
                reason="replayed",
                device="OLD",
                replayed_at=now,
                category=DeadLetterCategory.UNKNOWN_DEVICE,
            )
        )
    response = client.get("/quarantine", headers=auth_for("fiona"))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 3  # replayed and malformed letters are not in quarantine
    by_device = {item["device"]: item for item in page["items"]}
    assert [item["device"] for item in page["items"]] == [civic_meter, "EV-01", "GHOST"]  # latest heard first
    assert by_device["EV-01"]["messages"] == 2
    assert by_device["EV-01"]["registered"] is False
    assert by_device[civic_meter]["registered"] is True
    assert datetime.fromisoformat(by_device["EV-01"]["first_seen"]) < datetime.fromisoformat(
        by_device["EV-01"]["last_seen"]
    )
    malformed = client.get(
        "/dead-letters", params={"category": "malformed"}, headers=auth_for("fiona")
    ).json()
    assert [item["reason"] for item in malformed["items"]] == ["payload: Invalid JSON"]
    assert client.get("/quarantine", headers=auth_for("chen")).status_code == 403

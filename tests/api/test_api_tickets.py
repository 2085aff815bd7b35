"""Tickets: repair requests, the lifecycle with its audit trail, and who may change what."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.models import AuditEntry, Ticket, TicketStatus
from tests.api.api_testdata import AssetIds, AuthFor


def request_ticket(client: TestClient, auth_for: AuthFor, who: str = "sam", **extra: Any) -> dict[str, Any]:
    """File a repair request as `who` and return the created ticket."""
    body = {"title": "Air conditioner dripping", "description": "Over desk 12", **extra}
    response = client.post("/tickets", json=body, headers=auth_for(who))
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def test_staff_files_a_repair_request_for_a_device(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, session_factory: sessionmaker[Session]
) -> None:
    """A request names the device by its label code; the ticket links it and is audited."""
    ticket = request_ticket(client, auth_for, device_code="yh-a-101-climate", priority="high")
    assert ticket["status"] == "open"
    assert ticket["source"] == "request"
    assert ticket["priority"] == "high"
    assert ticket["device_id"] == assets.civic_climate_id
    assert ticket["reported_by"] == "user:sam"
    assert ticket["created_at"].endswith(("Z", "+00:00"))
    with session_factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "ticket")).one()
    assert (entry.action, entry.actor, entry.entity_id) == ("create", "user:sam", str(ticket["id"]))
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["title"] == "Air conditioner dripping"


def test_repair_request_validation_names_the_field(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, session_factory: sessionmaker[Session]
) -> None:
    """A bad priority and an unknown device code are 422s naming the field, and nothing is written."""
    bad_priority = client.post(
        "/tickets", json={"title": "Leak", "priority": "asap"}, headers=auth_for("sam")
    )
    assert bad_priority.status_code == 422
    assert bad_priority.json()["detail"][0]["loc"] == ["body", "priority"]

    unknown = client.post(
        "/tickets", json={"title": "Leak", "device_code": "no-such"}, headers=auth_for("sam")
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == [
        {"msg": "no device with code no-such", "type": "unknown_device", "loc": ["body", "device_code"]}
    ]
    with session_factory() as session:
        assert session.scalars(select(Ticket)).all() == []
        assert session.scalars(select(AuditEntry)).all() == []


def test_lifecycle_open_to_done_with_audit_before_and_after(
    client: TestClient, auth_for: AuthFor, people: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    """open -> assigned -> in_progress -> on_hold(reason) -> in_progress -> done, each step audited."""
    ticket_id = request_ticket(client, auth_for)["id"]
    url = f"/tickets/{ticket_id}"

    assigned = client.patch(url, json={"assignee_id": people["chen"]}, headers=auth_for("fiona"))
    assert assigned.status_code == 200
    assert (assigned.json()["status"], assigned.json()["assignee_id"]) == ("assigned", people["chen"])

    steps: list[tuple[dict[str, Any], str]] = [
        ({"status": "in_progress"}, "in_progress"),
        ({"status": "on_hold", "hold_reason": "waiting for a compressor part"}, "on_hold"),
        ({"status": "in_progress"}, "in_progress"),
        ({"status": "done", "note": "replaced the drain pump"}, "done"),
    ]
    for body, expected in steps:
        response = client.patch(url, json=body, headers=auth_for("chen"))  # the assignee does the work
        assert response.status_code == 200, response.text
        assert response.json()["status"] == expected
        if expected == "on_hold":
            assert response.json()["hold_reason"] == "waiting for a compressor part"
    final = client.get(url, headers=auth_for("fiona")).json()
    assert final["status"] == "done"
    assert final["hold_reason"] is None
    assert final["resolution_note"] == "replaced the drain pump"
    assert final["closed_at"] is not None

    with session_factory() as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "ticket", AuditEntry.entity_id == str(ticket_id))
            .order_by(AuditEntry.id)
        ).all()
    assert [(e.action, e.actor) for e in entries] == [
        ("create", "user:sam"),
        ("assign", "user:fiona"),
        ("status:in_progress", "user:chen"),
        ("status:on_hold", "user:chen"),
        ("status:in_progress", "user:chen"),
        ("status:done", "user:chen"),
    ]
    transitions = [(e.before["status"], e.after["status"]) for e in entries[1:] if e.before and e.after]
    assert transitions == [
        ("open", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "on_hold"),
        ("on_hold", "in_progress"),
        ("in_progress", "done"),
    ]
    assert entries[3].after is not None
    assert entries[3].after["hold_reason"] == "waiting for a compressor part"

    # The audit log is readable through the API too, newest first.
    audit = client.get(
        "/audit", params={"entity": "ticket", "entity_id": str(ticket_id)}, headers=auth_for("audrey")
    )
    assert audit.status_code == 200
    assert audit.json()["total"] == 6
    assert audit.json()["items"][0]["action"] == "status:done"


def test_closing_a_done_ticket_is_409_and_changes_nothing(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session]
) -> None:
    """Done is final: another move is a conflict that names the state, with nothing audited."""
    ticket_id = request_ticket(client, auth_for)["id"]
    for status in ("in_progress", "done"):
        assert client.patch(
            f"/tickets/{ticket_id}", json={"status": status}, headers=auth_for("fiona")
        ).is_success
    with session_factory() as session:
        audited = len(session.scalars(select(AuditEntry)).all())
    response = client.patch(f"/tickets/{ticket_id}", json={"status": "done"}, headers=auth_for("fiona"))
    assert response.status_code == 409
    detail = response.json()["detail"][0]
    assert detail["type"] == "invalid_transition"
    assert detail["loc"] == ["body", "status"]
    assert "final state" in detail["msg"]
    with session_factory() as session:
        assert len(session.scalars(select(AuditEntry)).all()) == audited
        assert session.get(Ticket, ticket_id) is not None


def test_on_hold_needs_a_reason(client: TestClient, auth_for: AuthFor) -> None:
    """Putting a ticket on hold without a reason is a 422 naming hold_reason."""
    ticket_id = request_ticket(client, auth_for)["id"]
    client.patch(f"/tickets/{ticket_id}", json={"status": "in_progress"}, headers=auth_for("fiona"))
    response = client.patch(f"/tickets/{ticket_id}", json={"status": "on_hold"}, headers=auth_for("fiona"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "hold_reason"]
    assert client.get(f"/tickets/{ticket_id}", headers=auth_for("fiona")).json()["status"] == "in_progress"


def test_crew_may_change_only_their_own_tickets(
    client: TestClient, auth_for: AuthFor, people: dict[str, int]
) -> None:
    """Crew member wang cannot touch chen's ticket, nor can chen reassign it; staff cannot patch at all."""
    ticket_id = request_ticket(client, auth_for)["id"]
    url = f"/tickets/{ticket_id}"
    assert client.patch(url, json={"status": "in_progress"}, headers=auth_for("chen")).status_code == 403
    client.patch(url, json={"assignee_id": people["chen"]}, headers=auth_for("fiona"))

    other = client.patch(url, json={"status": "in_progress"}, headers=auth_for("wang"))
    assert other.status_code == 403
    assert other.json()["detail"][0]["type"] == "not_assigned_to_you"
    reassign = client.patch(url, json={"assignee_id": people["wang"]}, headers=auth_for("chen"))
    assert reassign.status_code == 403
    assert client.patch(url, json={"status": "cancelled"}, headers=auth_for("sam")).status_code == 403
    assert client.get(url, headers=auth_for("fiona")).json()["status"] == "assigned"


def test_assigning_to_someone_not_on_a_crew_is_422(
    client: TestClient, auth_for: AuthFor, people: dict[str, int]
) -> None:
    """Only maintenance-crew members take tickets; unknown users are 404, both naming assignee_id."""
    ticket_id = request_ticket(client, auth_for)["id"]
    not_crew = client.patch(
        f"/tickets/{ticket_id}", json={"assignee_id": people["sue"]}, headers=auth_for("fiona")
    )
    assert not_crew.status_code == 422
    assert not_crew.json()["detail"][0]["loc"] == ["body", "assignee_id"]
    unknown = client.patch(f"/tickets/{ticket_id}", json={"assignee_id": 99999}, headers=auth_for("fiona"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["loc"] == ["body", "assignee_id"]


def test_staff_see_only_their_own_tickets(client: TestClient, auth_for: AuthFor) -> None:
    """Sam lists and reads his requests; Sue's ticket is invisible in his list and 403 by id."""
    mine = request_ticket(client, auth_for, who="sam")
    theirs = request_ticket(client, auth_for, who="sue", title="Lobby light out")
    listed = client.get("/tickets", headers=auth_for("sam")).json()
    assert [t["id"] for t in listed["items"]] == [mine["id"]]
    assert listed["total"] == 1
    assert client.get(f"/tickets/{mine['id']}", headers=auth_for("sam")).status_code == 200
    assert client.get(f"/tickets/{theirs['id']}", headers=auth_for("sam")).status_code == 403
    assert client.get("/tickets", headers=auth_for("fiona")).json()["total"] == 2


def test_list_filters_by_several_statuses_and_paginates(
    client: TestClient, auth_for: AuthFor, assets: AssetIds
) -> None:
    """`status` repeats; limit/offset slice the newest-first list while total counts all matches."""
    ids = [request_ticket(client, auth_for, title=f"job {n}")["id"] for n in range(5)]
    client.patch(f"/tickets/{ids[0]}", json={"status": "in_progress"}, headers=auth_for("fiona"))
    client.patch(f"/tickets/{ids[1]}", json={"status": "cancelled"}, headers=auth_for("fiona"))
    request_ticket(client, auth_for, device_code="yh-d-101-meter")
    headers = auth_for("fiona")

    both = client.get(
        "/tickets", params=[("status", "in_progress"), ("status", "cancelled")], headers=headers
    )
    assert sorted(t["id"] for t in both.json()["items"]) == sorted(ids[:2])

    page = client.get("/tickets", params={"status": "open", "limit": 2, "offset": 1}, headers=headers).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert len(page["items"]) == 2

    in_dorm = client.get("/tickets", params={"building_id": assets.dorm_id}, headers=headers).json()
    assert [t["device_id"] for t in in_dorm["items"]] == [assets.dorm_meter_id]
    assert client.get("/tickets", params={"status": "closed"}, headers=headers).status_code == 422


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_unknown_ticket_is_404_naming_the_id(client: TestClient, auth_for: AuthFor, method: str) -> None:
    """A ticket id that does not exist is a 404 whose message names it."""
    response = client.request(method, "/tickets/424242", json={"status": "done"}, headers=auth_for("fiona"))
    assert response.status_code == 404
    assert response.json()["detail"] == [
        {"msg": "no ticket 424242", "type": "ticket_not_found", "loc": ["path", "ticket_id"]}
    ]


def test_status_enum_lists_every_state() -> None:
    """Guard: the docs and filters assume these six states."""
    assert [s.value for s in TicketStatus] == [
        "open",
        "assigned",
        "in_progress",
        "on_hold",
        "done",
        "cancelled",
    ]

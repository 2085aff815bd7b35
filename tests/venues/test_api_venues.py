"""The venue API on SQLite and PostgreSQL: roles, 4xx naming the field, privacy between citizens,
the approval queue, pagination, surveys and the public routes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.models import Booking
from tests.api.api_testdata import AuthFor
from tests.venues.conftest import MakeResource, at


def slot(resource_id: int, day: date, start: int, end: int, **extra: Any) -> dict[str, Any]:
    """A booking body."""
    return {
        "resource_id": resource_id,
        "title": "Budget meeting",
        "starts_at": at(day, start).isoformat(),
        "ends_at": at(day, end).isoformat(),
        "attendees": 8,
        **extra,
    }


def application(resource_id: int, day: date, start: int, end: int, who: str) -> dict[str, Any]:
    """A citizen's application body."""
    return {
        **slot(resource_id, day, start, end),
        "title": f"{who}'s community choir",
        "name": who,
        "email": f"{who.lower()}@example.tw",
        "phone": "0912-345-678",
        "organisation": f"{who} Choir",
    }


def test_staff_books_and_conflicts_name_the_booking(
    client: TestClient, auth_for: AuthFor, make_resource: MakeResource, day: date
) -> None:
    room = make_resource(requires_approval=False)
    first = client.post("/venues/bookings", json=slot(room, day, 10, 12), headers=auth_for("sam"))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "confirmed"
    assert first.json()["booker"]["name"] == "Sam"
    clash = client.post("/venues/bookings", json=slot(room, day, 11, 13), headers=auth_for("sue"))
    assert clash.status_code == 409
    detail = clash.json()["detail"][0]
    assert detail["type"] == "slot_taken"
    assert f"booking {first.json()['id']}" in detail["msg"]
    assert detail["loc"] == ["body", "starts_at"]


def test_bad_input_gets_4xx_naming_the_field(
    client: TestClient, auth_for: AuthFor, make_resource: MakeResource, day: date
) -> None:
    room = make_resource(capacity_people=10)
    past = day - timedelta(weeks=8)
    cases = [
        (slot(room, past, 10, 11), 422, ["body", "starts_at"], "in_past"),
        (slot(room, day, 6, 7), 422, ["body", "starts_at"], "outside_opening_hours"),
        (slot(room, day, 10, 11, attendees=11), 422, ["body", "attendees"], "over_capacity"),
        (slot(9999, day, 10, 11), 404, ["body", "resource_id"], "resource_not_found"),
        (
            {**slot(room, day, 10, 11), "starts_at": "2031-01-07T10:00:00"},
            422,
            ["body", "starts_at"],
            "timezone_aware",
        ),
    ]
    for body, code, loc, kind in cases:
        response = client.post("/venues/bookings", json=body, headers=auth_for("sam"))
        assert response.status_code == code, (kind, response.text)
        assert response.json()["detail"][0]["loc"] == loc
        assert response.json()["detail"][0]["type"] == kind
    quota = client.post(
        "/venues/quotas",
        json={"scope": "person", "period": "day", "max_bookings": 1},
        headers=auth_for("fiona"),
    )
    assert quota.status_code == 201
    assert (
        client.post("/venues/bookings", json=slot(room, day, 10, 11), headers=auth_for("sam")).status_code
        == 201
    )
    over = client.post("/venues/bookings", json=slot(room, day, 14, 15), headers=auth_for("sam"))
    assert over.status_code == 422
    assert over.json()["detail"][0]["type"] == "over_quota"


def test_roles_gate_management(
    client: TestClient, auth_for: AuthFor, make_resource: MakeResource, day: date
) -> None:
    resource = {"code": "YH-HALL", "name": "Yonghua Hall", "kind": "hall", "capacity_people": 300}
    assert client.post("/venues/resources", json=resource, headers=auth_for("sam")).status_code == 403
    created = client.post(
        "/venues/resources",
        json={**resource, "opening_hours": {"mon": ["08:00", "22:00"], "sun": ["09:00", "08:00"]}},
        headers=auth_for("fiona"),
    )
    assert created.status_code == 422
    assert created.json()["detail"][0]["loc"] == ["body", "opening_hours", "sun"]
    created = client.post("/venues/resources", json=resource, headers=auth_for("fiona"))
    assert created.status_code == 201
    again = client.post("/venues/resources", json=resource, headers=auth_for("fiona"))
    assert (again.status_code, again.json()["detail"][0]["loc"]) == (409, ["body", "code"])
    assert client.get("/venues/approvals", headers=auth_for("sam")).status_code == 403
    assert client.get("/venues/resources").status_code == 401


def test_citizens_apply_managers_decide_and_nobody_sees_another_citizen(
    client: TestClient, auth_for: AuthFor, make_resource: MakeResource, day: date
) -> None:
    hall = make_resource()
    internal = make_resource(audience="internal")
    mei = client.post("/venues/public/applications", json=application(hall, day, 14, 16, "Mei"))
    assert mei.status_code == 201, mei.text
    assert mei.json()["booking"]["status"] == "pending"
    mei_key = mei.json()["applicant_key"]
    assert mei.json()["feed_url"].endswith(".ics")
    hidden = client.post("/venues/public/applications", json=application(internal, day, 9, 10, "Mei"))
    assert hidden.status_code == 404  # internal rooms do not exist for citizens

    jun = client.post("/venues/public/applications", json=application(hall, day, 17, 19, "Jun"))
    jun_key = jun.json()["applicant_key"]
    second = client.post(
        "/venues/public/applications",
        json=application(hall, day, 20, 22, "Jun"),
        headers={"X-Applicant-Key": jun_key},
    )
    assert second.status_code == 201
    assert second.json()["applicant_key"] is None  # a returning applicant keeps their key

    mine = client.get("/venues/public/applications", headers={"X-Applicant-Key": mei_key}).json()
    assert [a["title"] for a in mine] == ["Mei's community choir"]
    assert "jun" not in str(mine).lower()
    busy = client.get(
        f"/venues/public/resources/{hall}/busy",
        params={"start": at(day, 0).isoformat(), "end": at(day + timedelta(days=1), 0).isoformat()},
    ).json()
    assert [b["status"] for b in busy] == ["tentative", "tentative", "tentative"]
    assert "Mei" not in str(busy)
    assert "choir" not in str(busy)
    jun_id = jun.json()["booking"]["id"]
    stolen = client.post(f"/venues/public/applications/{jun_id}/cancel", headers={"X-Applicant-Key": mei_key})
    assert stolen.status_code == 404
    assert client.get("/venues/public/applications", headers={"X-Applicant-Key": "guess"}).status_code == 401

    queue = client.get("/venues/approvals", params={"limit": 2}, headers=auth_for("fiona")).json()
    assert (queue["total"], len(queue["items"]), queue["limit"]) == (3, 2, 2)
    assert queue["items"][0]["booker"]["email"] == "mei@example.tw"
    mei_id = mei.json()["booking"]["id"]
    no_reason = client.post(
        f"/venues/bookings/{mei_id}/decision", json={"approve": False}, headers=auth_for("fiona")
    )
    assert (no_reason.status_code, no_reason.json()["detail"][0]["loc"]) == (422, ["body", "note"])
    approved = client.post(
        f"/venues/bookings/{mei_id}/decision", json={"approve": True}, headers=auth_for("fiona")
    )
    assert approved.json()[0]["status"] == "confirmed"
    # Staff who are not venue managers see their own bookings only, never a citizen's.
    assert client.get("/venues/bookings", headers=auth_for("sam")).json()["total"] == 0
    assert client.get(f"/venues/bookings/{mei_id}", headers=auth_for("sam")).status_code == 404


def test_survey_after_use(
    client: TestClient,
    auth_for: AuthFor,
    make_resource: MakeResource,
    day: date,
    session_factory: sessionmaker[Session],
) -> None:
    hall = make_resource()
    mei = client.post("/venues/public/applications", json=application(hall, day, 14, 16, "Mei")).json()
    key, booking_id = mei["applicant_key"], mei["booking"]["id"]
    client.post(f"/venues/bookings/{booking_id}/decision", json={"approve": True}, headers=auth_for("fiona"))
    early = client.post(
        f"/venues/public/applications/{booking_id}/survey",
        json={"score": 5},
        headers={"X-Applicant-Key": key},
    )
    assert early.status_code == 409
    with transaction(session_factory) as session:  # time passes: the booking is over
        session.execute(
            update(Booking)
            .where(Booking.id == booking_id)
            .values(
                starts_at=at(day - timedelta(weeks=5), 14),
                ends_at=at(day - timedelta(weeks=5), 16),
                block_until=at(day - timedelta(weeks=5), 16),
            )
        )
    mine = client.get("/venues/public/applications", headers={"X-Applicant-Key": key}).json()
    assert mine[0]["survey_due"] is True
    bad = client.post(
        f"/venues/public/applications/{booking_id}/survey",
        json={"score": 6},
        headers={"X-Applicant-Key": key},
    )
    assert bad.json()["detail"][0]["loc"] == ["body", "score"]
    answer = client.post(
        f"/venues/public/applications/{booking_id}/survey",
        json={"score": 4, "comment": "Clean hall, the microphone crackled"},
        headers={"X-Applicant-Key": key},
    )
    assert answer.status_code == 201
    assert (
        client.get("/venues/public/applications", headers={"X-Applicant-Key": key}).json()[0]["survey_due"]
        is False
    )


def test_public_applications_are_rate_limited(
    client: TestClient, make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(buffer_minutes=0, opening_hours=None, closed_on_holidays=False)
    codes = [
        client.post("/venues/public/applications", json=application(hall, day, h, h + 1, f"P{h}")).status_code
        for h in range(11)
    ]
    assert codes == [201] * 10 + [429]


def test_recurring_series_through_the_api(
    client: TestClient, auth_for: AuthFor, make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(closed_on_holidays=False)
    taken = client.post(
        "/venues/bookings", json=slot(hall, day + timedelta(weeks=1), 18, 19), headers=auth_for("sue")
    )
    body = {
        "resource_id": hall,
        "title": "Tai chi",
        "attendees": 20,
        "rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=3",
        "dtstart": at(day, 18).isoformat(),
        "duration_minutes": 90,
    }
    refused = client.post("/venues/series", json=body, headers=auth_for("sam"))
    assert refused.status_code == 409
    assert f"booking {taken.json()['id']}" in refused.json()["detail"][0]["msg"]
    booked = client.post("/venues/series", json={**body, "free_dates_only": True}, headers=auth_for("sam"))
    assert booked.status_code == 201
    assert len(booked.json()["bookings"]) == 2
    assert booked.json()["skipped"][0]["code"] == "slot_taken"

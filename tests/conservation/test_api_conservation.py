"""The conservation API on SQLite and PostgreSQL: roles, targets, idempotent monthly entries, pagination,
progress (with and without InfluxDB), meetings and minutes, action items, programmes and their reviews."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from cityhall.conservation.progress import four_areas_progress
from cityhall.db import transaction
from cityhall.energy.periods import TAIPEI
from cityhall.models import AuditEntry, ConsumptionEntry
from cityhall.settings import Settings
from tests.api.api_testdata import JWT_SECRET, AuthFor, Headers
from tests.conservation.conftest import Readings, conservation_register

PAPER = {"department_code": "DBAS", "area": "paper", "month": "2026-03", "source": "purchase invoice"}


def _loc(resp: Any) -> list[Any]:
    body: dict[str, Any] = resp.json()
    loc: list[Any] = body["detail"][0]["loc"]
    return loc


def _audit(session_factory: sessionmaker[Session], entity: str) -> list[AuditEntry]:
    with transaction(session_factory) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id))
        return list(rows)


def _today() -> date:
    return datetime.now(TAIPEI).date()


def _past(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).astimezone(TAIPEI).isoformat()


def _future(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(TAIPEI).isoformat()


def test_roles(client: TestClient, auth_for: AuthFor) -> None:
    target = {"department_code": "DBAS", "year": 2026, "area": "water", "target_amount": 100, "unit": "m3"}
    assert client.post("/conservation/targets", json=target, headers=auth_for("sam")).status_code == 403
    assert client.post("/conservation/targets", json=target, headers=auth_for("fiona")).status_code == 403
    assert client.post("/conservation/targets", json=target, headers=auth_for("eric")).status_code == 201
    entry = {**PAPER, "amount": 5, "unit": "ream"}
    assert client.post("/conservation/entries", json=entry, headers=auth_for("audrey")).status_code == 403
    assert client.post("/conservation/entries", json=entry, headers=auth_for("chen")).status_code == 403
    assert client.post("/conservation/entries", json=entry, headers=auth_for("sam")).status_code == 201
    meeting = {"title": "Q1 committee", "starts_at": _future(3)}
    assert client.post("/conservation/meetings", json=meeting, headers=auth_for("fiona")).status_code == 403
    assert client.get("/conservation/progress?year=2026", headers=auth_for("chen")).status_code == 403
    assert client.get("/conservation/targets").status_code == 401
    for reader in ("audrey", "sam", "fiona", "eric", "ada"):
        resp = client.get("/conservation/targets", headers=auth_for(reader))
        assert resp.status_code == 200
        assert resp.json()["total"] == 1


def test_targets_crud_with_units_and_named_errors(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session]
) -> None:
    eric = auth_for("eric")
    body = {
        "department_code": "DBAS",
        "year": 2026,
        "area": "paper",
        "target_amount": 25_000,
        "unit": "sheets",
        "baseline_amount": 12,
        "baseline_year": 2025,
    }
    resp = client.post("/conservation/targets", json={**body, "unit": "boxes"}, headers=eric)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["target_amount"], resp.json()["unit"]) == (125_000, "ream")  # 25,000 boxes of 5 reams
    tid = resp.json()["id"]
    dup = client.post("/conservation/targets", json=body, headers=eric)
    assert dup.status_code == 409
    assert _loc(dup) == ["body", "area"]

    resp = client.put(
        f"/conservation/targets/{tid}",
        json={k: body[k] for k in body if k not in {"department_code", "year", "area"}},
        headers=eric,
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["target_amount"], got["baseline_amount"], got["unit"]) == (
        50,
        12 / 500,
        "ream",
    )  # one unit for target and baseline

    unknown = client.post("/conservation/targets", json={**body, "department_code": "NOPE"}, headers=eric)
    assert unknown.status_code == 422
    assert _loc(unknown) == ["body", "department_code"]
    assert "DBAS" in unknown.json()["detail"][0]["msg"]
    bad_unit = client.post(
        "/conservation/targets", json={**body, "area": "water", "unit": "ream"}, headers=eric
    )
    assert bad_unit.status_code == 422
    assert _loc(bad_unit) == ["body", "unit"]
    assert "m3" in bad_unit.json()["detail"][0]["msg"]
    late = client.post(
        "/conservation/targets",
        json={**body, "area": "fuel", "unit": "L", "baseline_year": 2026},
        headers=eric,
    )
    assert _loc(late) == ["body", "baseline_year"]
    negative = client.post(
        "/conservation/targets", json={**body, "area": "fuel", "target_amount": -1}, headers=eric
    )
    assert negative.status_code == 422
    assert _loc(negative) == ["body", "target_amount"]
    fuel = client.post(
        "/conservation/targets",
        json={**body, "area": "fuel", "unit": "L", "target_amount": 1500, "baseline_amount": 1600},
        headers=eric,
    )
    assert (fuel.json()["target_amount"], fuel.json()["unit"]) == (1.5, "m3")

    listed = client.get("/conservation/targets?year=2026&area=fuel", headers=auth_for("audrey")).json()
    assert [t["area"] for t in listed["items"]] == ["fuel"]
    assert client.delete(f"/conservation/targets/{tid}", headers=eric).status_code == 204
    assert client.get(f"/conservation/targets/{tid}", headers=eric).status_code == 404
    actions = [(a.action, a.actor) for a in _audit(session_factory, "conservation_target")]
    assert actions == [
        ("create", "user:eric"),
        ("update", "user:eric"),
        ("create", "user:eric"),
        ("delete", "user:eric"),
    ]


def test_entries_are_idempotent_audited_and_paginated(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session]
) -> None:
    sam = auth_for("sam")
    entry = {**PAPER, "amount": 2500, "unit": "sheets", "note": "A4 copier paper"}
    first = client.post("/conservation/entries", json=entry, headers=sam)
    assert first.status_code == 201, first.text
    assert (first.json()["amount"], first.json()["unit"], first.json()["outcome"]) == (5, "ream", "created")
    again = client.post("/conservation/entries", json=entry, headers=sam)
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["outcome"]) == (first.json()["id"], "unchanged")
    assert len(_audit(session_factory, "conservation_entry")) == 1  # nothing changed, nothing audited

    replaced = client.put(
        "/conservation/entries", json={**entry, "amount": 3, "unit": "ream"}, headers=auth_for("fiona")
    )
    assert replaced.status_code == 200
    assert (replaced.json()["id"], replaced.json()["amount"], replaced.json()["outcome"]) == (
        first.json()["id"],
        3,
        "replaced",
    )
    audit = _audit(session_factory, "conservation_entry")
    assert [a.action for a in audit] == ["create", "replace"]
    assert audit[1].before is not None
    assert audit[1].after is not None
    assert (audit[1].before["amount"], audit[1].after["amount"], audit[1].actor) == (5, 3, "user:fiona")
    with transaction(session_factory) as session:
        assert len(session.scalars(select(ConsumptionEntry)).all()) == 1

    other_source = client.post(
        "/conservation/entries", json={**entry, "source": "stationery store"}, headers=sam
    )
    assert other_source.status_code == 201  # another source is another entry

    for month in range(1, 8):
        resp = client.post(
            "/conservation/entries",
            json={
                **PAPER,
                "area": "fuel",
                "month": f"2026-{month:02d}",
                "amount": 40 * month,
                "unit": "L",
                "source": "fuel card",
            },
            headers=sam,
        )
        assert resp.status_code == 201
        assert resp.json()["amount"] == 0.04 * month
    page1 = client.get("/conservation/entries?area=fuel&limit=3", headers=sam).json()
    page3 = client.get("/conservation/entries?area=fuel&limit=3&offset=6", headers=sam).json()
    assert (page1["total"], page1["limit"], page1["offset"]) == (7, 3, 0)
    assert [e["month"] for e in page1["items"]] == ["2026-07", "2026-06", "2026-05"]
    assert [e["month"] for e in page3["items"]] == ["2026-01"]
    assert client.get("/conservation/entries?year=2026&month=2026-03", headers=sam).json()["total"] == 3
    assert client.get("/conservation/entries?limit=0", headers=sam).status_code == 422

    later = (_today() + timedelta(days=62)).strftime("%Y-%m")
    future = client.post("/conservation/entries", json={**entry, "month": later}, headers=sam)
    assert future.status_code == 422
    assert _loc(future) == ["body", "month"]
    bad_month = client.post("/conservation/entries", json={**entry, "month": "2026-13"}, headers=sam)
    assert _loc(bad_month) == ["body", "month"]
    unknown = client.post("/conservation/entries", json={**entry, "department_code": "XX"}, headers=sam)
    assert (unknown.status_code, _loc(unknown)) == (422, ["body", "department_code"])
    kg = client.post("/conservation/entries", json={**entry, "unit": "kg"}, headers=sam)
    assert (kg.status_code, _loc(kg)) == (422, ["body", "unit"])

    eid = first.json()["id"]
    assert client.delete(f"/conservation/entries/{eid}", headers=auth_for("audrey")).status_code == 403
    assert client.delete(f"/conservation/entries/{eid}", headers=sam).status_code == 204
    assert client.get(f"/conservation/entries/{eid}", headers=sam).status_code == 404
    assert _audit(session_factory, "conservation_entry")[-1].action == "delete"


def test_progress_without_influx_and_its_query_checks(client: TestClient, auth_for: AuthFor) -> None:
    eric = auth_for("eric")
    client.post(
        "/conservation/targets",
        json={
            "department_code": "DBAS",
            "year": 2026,
            "area": "paper",
            "target_amount": 36.5,
            "unit": "ream",
        },
        headers=eric,
    )
    client.post(
        "/conservation/entries",
        json={**PAPER, "month": "2026-01", "amount": 3, "unit": "ream"},
        headers=auth_for("sam"),
    )
    resp = client.get(
        "/conservation/progress?year=2026&through=2026-01-31&department=DBAS", headers=auth_for("audrey")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["year"], body["through"], body["at_risk_margin_pct"]) == (2026, "2026-01-31", 5.0)
    paper = next(i for i in body["items"] if i["area"] == "paper")
    assert (paper["unit"], paper["entered"], paper["metered"]) == ("ream", 3, 0)
    assert paper["target_to_date"] == 36.5 * 31 / 365
    assert paper["status"] == "on_track"
    assert {i["department"] for i in body["items"]} == {"DBAS"}
    assert [i["area"] for i in body["items"]] == ["electricity", "water", "fuel", "paper"]

    outside = client.get("/conservation/progress?year=2026&through=2025-12-31", headers=eric)
    assert (outside.status_code, _loc(outside)) == (422, ["query", "through"])
    ahead = client.get(f"/conservation/progress?year={_today().year + 1}", headers=eric)
    assert (ahead.status_code, _loc(ahead)) == (422, ["query", "year"])
    past = client.get("/conservation/progress?year=2025", headers=eric).json()
    assert past["through"] == "2025-12-31"


def test_progress_reads_influxdb_through_the_settings(
    settings: Settings, session_factory: sessionmaker[Session], readings: Readings, auth_for: AuthFor
) -> None:
    with_influx = Settings(
        _env_file=None,
        database_url=settings.database_url,
        jwt_secret=SecretStr(JWT_SECRET),
        influx_url=readings.url,
        influx_database=readings.database,
    )
    app = create_app(with_influx, session_factory)
    app.state.meter_register = conservation_register()
    through = readings.last_day
    with TestClient(app) as http:
        resp = http.get(
            f"/conservation/progress?year={through.year}&through={through}", headers=auth_for("eric")
        )
    assert resp.status_code == 200, resp.text
    items = {(i["department"], i["area"]): i for i in resp.json()["items"]}
    with transaction(session_factory) as session:
        direct = four_areas_progress(
            session, readings.store, conservation_register(), year=through.year, through=through
        )
    for row in direct:
        assert items[row.department, row.area]["metered"] == row.metered
    assert items["DBAS", "electricity"]["metered"] > 100
    assert items["DBAS", "electricity"]["unit"] == "kWh"


def test_meetings_minutes_and_action_items(
    client: TestClient, auth_for: AuthFor, people: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    eric, sam, sue = auth_for("eric"), auth_for("sam"), auth_for("sue")
    naive = client.post(
        "/conservation/meetings", json={"title": "Q1", "starts_at": "2026-03-20T14:00:00"}, headers=eric
    )
    assert (naive.status_code, _loc(naive)) == (422, ["body", "starts_at"])
    held = client.post(
        "/conservation/meetings",
        json={
            "title": "Q1 committee",
            "starts_at": _past(2),
            "location": "Yonghua 9F",
            "attendees": ["Chair Lin", "eric"],
        },
        headers=eric,
    ).json()
    assert held["starts_at"].endswith("+08:00")
    assert held["status"] == "scheduled"
    upcoming = client.post(
        "/conservation/meetings", json={"title": "Q2 committee", "starts_at": _future(30)}, headers=eric
    ).json()
    early = client.put(
        f"/conservation/meetings/{upcoming['id']}/minutes", json={"minutes": "..."}, headers=eric
    )
    assert early.status_code == 409
    minutes = client.put(
        f"/conservation/meetings/{held['id']}/minutes",
        json={"minutes": "1. Paper use up 10 %."},
        headers=eric,
    )
    assert minutes.status_code == 200
    assert (minutes.json()["status"], minutes.json()["minutes"]) == ("held", "1. Paper use up 10 %.")

    mid = held["id"]
    today = _today()
    late = client.post(
        f"/conservation/meetings/{mid}/actions",
        json={
            "description": "Duplex printing by default",
            "owner_id": people["sam"],
            "due_on": str(today - timedelta(days=5)),
        },
        headers=eric,
    )
    assert late.status_code == 201, late.text
    assert (late.json()["owner_name"], late.json()["overdue"]) == ("Sam", True)
    on_time = client.post(
        f"/conservation/meetings/{mid}/actions",
        json={
            "description": "Quote for LED retrofit",
            "owner_name": "General Affairs Division",
            "due_on": str(today + timedelta(days=20)),
        },
        headers=eric,
    ).json()
    assert on_time["overdue"] is False
    done_late = client.post(
        f"/conservation/meetings/{mid}/actions",
        json={
            "description": "Fix the leaking tap",
            "owner_name": "Crew B",
            "due_on": str(today - timedelta(days=9)),
        },
        headers=eric,
    ).json()
    nobody = client.post(
        f"/conservation/meetings/{mid}/actions", json={"description": "x", "due_on": str(today)}, headers=eric
    )
    assert (nobody.status_code, _loc(nobody)) == (422, ["body", "owner_name"])
    ghost = client.post(
        f"/conservation/meetings/{mid}/actions",
        json={"description": "x", "owner_id": 99999, "due_on": str(today)},
        headers=eric,
    )
    assert (ghost.status_code, _loc(ghost)) == (422, ["body", "owner_id"])

    assert (
        client.post(
            f"/conservation/actions/{done_late['id']}/done", json={"outcome": "washer"}, headers=sue
        ).status_code
        == 403
    )
    done = client.post(
        f"/conservation/actions/{done_late['id']}/done", json={"outcome": "washer replaced"}, headers=eric
    )
    assert (done.json()["status"], done.json()["overdue"]) == ("done", False)
    assert done.json()["done_at"] is not None
    twice = client.post(f"/conservation/actions/{done_late['id']}/done", json={}, headers=eric)
    assert twice.status_code == 409
    edit_done = client.put(
        f"/conservation/actions/{done_late['id']}",
        json={"description": "y", "owner_name": "z", "due_on": str(today)},
        headers=eric,
    )
    assert edit_done.status_code == 409

    overdue = client.get("/conservation/actions?overdue=true", headers=auth_for("audrey")).json()
    assert [a["id"] for a in overdue["items"]] == [late.json()["id"]]
    everything = client.get(f"/conservation/actions?meeting_id={mid}&limit=2", headers=sam).json()
    assert (everything["total"], len(everything["items"])) == (3, 2)
    assert [a["description"] for a in everything["items"]] == [
        "Fix the leaking tap",
        "Duplex printing by default",
    ]

    own = client.post(
        f"/conservation/actions/{late.json()['id']}/done",
        json={"outcome": "set on all printers"},
        headers=sam,
    )
    assert own.status_code == 200  # the owner may close their own item
    assert client.get("/conservation/actions?overdue=true", headers=sam).json()["total"] == 0

    moved = client.put(
        f"/conservation/actions/{on_time['id']}",
        json={
            "description": "Quote for LED retrofit, 9F",
            "owner_id": people["fiona"],
            "due_on": str(today - timedelta(days=1)),
        },
        headers=eric,
    ).json()
    assert (moved["owner_name"], moved["overdue"]) == ("Fiona", True)

    meeting = client.get(f"/conservation/meetings/{mid}", headers=sam).json()
    assert [a["status"] for a in meeting["actions"]] == ["done", "open", "done"]
    cancelled = client.put(
        f"/conservation/meetings/{upcoming['id']}",
        json={"title": "Q2 committee", "starts_at": upcoming["starts_at"], "status": "cancelled"},
        headers=eric,
    )
    assert cancelled.json()["status"] == "cancelled"
    after = client.post(
        f"/conservation/meetings/{upcoming['id']}/actions",
        json={"description": "x", "owner_name": "y", "due_on": str(today)},
        headers=eric,
    )
    assert after.status_code == 409
    listed = client.get("/conservation/meetings?status=held", headers=sam).json()
    assert [m["id"] for m in listed["items"]] == [mid]
    assert {a.action for a in _audit(session_factory, "committee_action")} == {"create", "complete", "update"}
    assert {a.action for a in _audit(session_factory, "committee_meeting")} == {"create", "minutes", "update"}


def _programme(client: TestClient, headers: Headers, **extra: Any) -> dict[str, Any]:
    body = {
        "department_code": "DBAS",
        "year": 2026,
        "title": "Paperless budget review",
        "summary": "Move budget circulation to the e-document system.",
        "measures": [
            {
                "description": "Budget drafts circulated online",
                "area": "paper",
                "expected_saving": 5000,
                "unit": "sheets",
            },
            {
                "description": "Office lights off at lunch",
                "area": "electricity",
                "expected_saving": 1.2,
                "unit": "MWh",
            },
        ],
        "area_targets": [
            {
                "area": "paper",
                "baseline_amount": 60,
                "baseline_year": 2025,
                "target_amount": 50,
                "unit": "ream",
            }
        ],
        **extra,
    }
    resp = client.post("/conservation/programmes", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def test_programme_workflow_and_reviews(
    client: TestClient, auth_for: AuthFor, people: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    sam, eric = auth_for("sam"), auth_for("eric")
    prog = _programme(client, sam)
    assert prog["status"] == "draft"
    assert [(m["expected_saving"], m["unit"]) for m in prog["measures"]] == [(10, "ream"), (1200, "kWh")]
    pid = prog["id"]
    review = {"score": 80, "decision": "approve", "comments": "Good"}
    draft_review = client.post(f"/conservation/programmes/{pid}/reviews", json=review, headers=eric)
    assert draft_review.status_code == 409
    assert client.post(f"/conservation/programmes/{pid}/reviews", json=review, headers=sam).status_code == 403

    empty = _programme(client, sam, title="Empty", measures=[])
    no_measures = client.post(f"/conservation/programmes/{empty['id']}/submit", headers=sam)
    assert (no_measures.status_code, _loc(no_measures)) == (422, ["body", "measures"])
    dup_area = client.post(
        "/conservation/programmes",
        json={
            "department_code": "DBAS",
            "year": 2026,
            "title": "Twice",
            "area_targets": [
                {
                    "area": "water",
                    "baseline_amount": 1,
                    "baseline_year": 2025,
                    "target_amount": 1,
                    "unit": "m3",
                },
                {
                    "area": "water",
                    "baseline_amount": 1,
                    "baseline_year": 2025,
                    "target_amount": 1,
                    "unit": "m3",
                },
            ],
        },
        headers=sam,
    )
    assert (dup_area.status_code, _loc(dup_area)) == (422, ["body", "area_targets", 1, "area"])
    bad_unit = client.post(
        "/conservation/programmes",
        json={
            "department_code": "DBAS",
            "year": 2026,
            "title": "Units",
            "measures": [{"description": "d", "area": "water", "expected_saving": 1, "unit": "kWh"}],
        },
        headers=sam,
    )
    assert (bad_unit.status_code, _loc(bad_unit)) == (422, ["body", "measures", 0, "unit"])
    unknown = client.post(
        "/conservation/programmes", json={"department_code": "ZZZ", "year": 2026, "title": "t"}, headers=sam
    )
    assert (unknown.status_code, _loc(unknown)) == (422, ["body", "department_code"])

    submitted = client.post(f"/conservation/programmes/{pid}/submit", headers=sam).json()
    assert submitted["status"] == "submitted"
    assert submitted["submitted_at"] is not None
    assert client.post(f"/conservation/programmes/{pid}/submit", headers=sam).status_code == 409
    edit = client.put(f"/conservation/programmes/{pid}", json={"title": "Changed"}, headers=sam)
    assert edit.status_code == 409

    meeting = client.post(
        "/conservation/meetings", json={"title": "Q1", "starts_at": _past(1)}, headers=eric
    ).json()
    no_reason = client.post(
        f"/conservation/programmes/{pid}/reviews", json={"score": 40, "decision": "return"}, headers=eric
    )
    assert (no_reason.status_code, _loc(no_reason)) == (422, ["body", "comments"])
    ghost_meeting = client.post(
        f"/conservation/programmes/{pid}/reviews", json={**review, "meeting_id": 4242}, headers=eric
    )
    assert (ghost_meeting.status_code, _loc(ghost_meeting)) == (422, ["body", "meeting_id"])
    over = client.post(f"/conservation/programmes/{pid}/reviews", json={**review, "score": 101}, headers=eric)
    assert (over.status_code, _loc(over)) == (422, ["body", "score"])
    returned = client.post(
        f"/conservation/programmes/{pid}/reviews",
        json={
            "score": 55,
            "decision": "return",
            "comments": "Add a water measure",
            "meeting_id": meeting["id"],
        },
        headers=eric,
    )
    assert returned.status_code == 201, returned.text
    assert returned.json()["status"] == "returned"
    assert returned.json()["reviews"][0]["reviewer_id"] == people["eric"]
    assert returned.json()["reviews"][0]["meeting_id"] == meeting["id"]

    revised = client.put(
        f"/conservation/programmes/{pid}",
        json={
            "title": "Paperless budget review",
            "measures": [
                {k: v for k, v in prog["measures"][0].items() if k != "id"},
                {"description": "Tap aerators", "area": "water", "expected_saving": 120000, "unit": "L"},
            ],
            "area_targets": [
                {
                    "area": "paper",
                    "baseline_amount": 60,
                    "baseline_year": 2025,
                    "target_amount": 45,
                    "unit": "ream",
                },
                {
                    "area": "water",
                    "baseline_amount": 900,
                    "baseline_year": 2025,
                    "target_amount": 780,
                    "unit": "m3",
                },
            ],
        },
        headers=sam,
    )
    assert revised.status_code == 200, revised.text
    assert [(m["area"], m["expected_saving"]) for m in revised.json()["measures"]] == [
        ("paper", 10),
        ("water", 120),
    ]
    assert [(t["area"], t["target_amount"]) for t in revised.json()["area_targets"]] == [
        ("paper", 45),
        ("water", 780),
    ]
    assert client.post(f"/conservation/programmes/{pid}/submit", headers=sam).json()["status"] == "submitted"
    approved = client.post(f"/conservation/programmes/{pid}/reviews", json=review, headers=eric).json()
    assert approved["status"] == "approved"
    assert [(r["decision"], r["score"]) for r in approved["reviews"]] == [("return", 55), ("approve", 80)]
    assert (
        client.post(f"/conservation/programmes/{pid}/reviews", json=review, headers=eric).status_code == 409
    )
    assert client.delete(f"/conservation/programmes/{pid}", headers=sam).status_code == 409
    assert client.delete(f"/conservation/programmes/{empty['id']}", headers=sam).status_code == 204

    listed = client.get(
        "/conservation/programmes?year=2026&status=approved", headers=auth_for("audrey")
    ).json()
    assert [p["id"] for p in listed["items"]] == [pid]
    actions = [a.action for a in _audit(session_factory, "conservation_programme") if a.entity_id == str(pid)]
    assert actions == ["create", "submit", "review", "update", "submit", "review"]
    assert len(_audit(session_factory, "conservation_review")) == 2


def test_entries_import_from_csv_keeps_good_rows_and_names_bad_ones(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session]
) -> None:
    sam = auth_for("sam")
    csv_headers = {**sam, "Content-Type": "text/csv"}
    later = (_today() + timedelta(days=62)).strftime("%Y-%m")
    text = (
        "\ufeffDepartment,Area,Month,Amount,Unit,Source,Note\n"
        "DBAS,paper,2026-01,2500,sheets,stationery store,A4\n"
        'DBAS,fuel,2026-01,"1,200",L,fuel card,\n'
        "\n"
        "PERS,paper,2026-02,12,reams,stationery store,\n"
        "XX,paper,2026-02,12,ream,stationery store,\n"  # line 6: unknown department
        "PERS,ink,2026-02,12,ream,stationery store,\n"  # line 7: unknown area
        "PERS,paper,2026/2,12,ream,stationery store,\n"  # line 8: bad month
        "PERS,paper,2026-03,lots,ream,stationery store,\n"  # line 9: bad amount
        "PERS,paper,2026-03,12,kg,stationery store,\n"  # line 10: a unit paper cannot be in
        f"PERS,paper,{later},12,ream,stationery store,\n"  # line 11: a month not begun
        "PERS,paper,2026-03,12,ream,,\n"  # line 12: no source
    )
    resp = client.post("/conservation/entries/import", content=text.encode(), headers=csv_headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["rows"], body["created"], body["replaced"], body["unchanged"]) == (10, 3, 0, 0)
    assert [(p["line"], p["column"]) for p in body["problems"]] == [
        (6, "department"),
        (7, "area"),
        (8, "month"),
        (9, "amount"),
        (10, "unit"),
        (11, "month"),
        (12, "source"),
    ]
    assert "XX" in body["problems"][0]["message"]
    with transaction(session_factory) as session:
        stored = {
            (e.department_code, e.area.value): (e.amount, e.unit)
            for e in session.scalars(select(ConsumptionEntry))
        }
    assert stored == {
        ("DBAS", "paper"): (5.0, "ream"),
        ("DBAS", "fuel"): (1.2, "m3"),
        ("PERS", "paper"): (12.0, "ream"),
    }
    again = client.post("/conservation/entries/import", content=text.encode(), headers=csv_headers).json()
    assert (again["created"], again["replaced"], again["unchanged"]) == (0, 0, 3)  # the same file: no change
    missing = client.post(
        "/conservation/entries/import", content=b"department,area\nDBAS,paper\n", headers=csv_headers
    )
    assert (missing.status_code, _loc(missing)) == (422, ["body", "file"])
    latin1 = client.post(
        "/conservation/entries/import", content="department,área\n".encode("latin-1"), headers=csv_headers
    )
    assert (latin1.status_code, _loc(latin1)) == (422, ["body", "file"])
    assert (
        client.post(
            "/conservation/entries/import",
            content=text.encode(),
            headers={**auth_for("audrey"), "Content-Type": "text/csv"},
        ).status_code
        == 403
    )

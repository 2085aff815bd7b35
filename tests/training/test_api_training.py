"""The training API on SQLite and PostgreSQL: roles, enrolment and queue, attendance, xAPI intake,
certificates and the procurement register, drills, and the CSV/XLSX exports."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.api_testdata import AuthFor
from tests.training.conftest import XAPI_ETHICS, Courses, MakeSession, future, statement

MARCH = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


def _csv(client: TestClient, headers: dict[str, str], sid: int, text: str) -> dict[str, object]:
    resp = client.post(
        f"/training/sessions/{sid}/attendance.csv",
        content=text.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_officer_schedules_staff_enrol_and_the_queue_moves(
    client: TestClient, auth_for: AuthFor, staff: dict[str, int], courses: Courses
) -> None:
    officer, sam, sue = auth_for("audrey"), auth_for("sam"), auth_for("sue")
    course = {"code": "quake-2026", "title": "Earthquake drill briefing", "category": "disaster_prevention"}
    resp = client.post("/training/courses", json={**course, "delivery": "on_site"}, headers=sam)
    assert resp.status_code == 403
    resp = client.post("/training/courses", json={**course, "delivery": "on_site"}, headers=officer)
    assert resp.status_code == 201, resp.text
    starts = future(14)
    new_session = {
        "course_id": resp.json()["id"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "place": "Civic center hall",
        "capacity": 1,
        "instructor": "Fire Bureau",
    }
    resp = client.post("/training/sessions", json={**new_session, "credit_hours": 3}, headers=officer)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "credit_hours"]
    sid = client.post("/training/sessions", json=new_session, headers=officer).json()["id"]

    assert client.post(f"/training/sessions/{sid}/enrolments", headers=sam).json()["status"] == "enrolled"
    queued = client.post(f"/training/sessions/{sid}/enrolments", headers=sue).json()
    assert (queued["status"], queued["queue_position"]) == ("waitlisted", 1)
    other = client.post(f"/training/sessions/{sid}/enrolments", json={"user_id": staff["chen"]}, headers=sam)
    assert other.status_code == 403  # staff enrol only themselves

    result = client.post(f"/training/sessions/{sid}/enrolments/{staff['sam']}/cancel", headers=sam).json()
    assert result["cancelled"]["status"] == "cancelled"
    assert [p["user_id"] for p in result["promoted"]] == [staff["sue"]]
    detail = client.get(f"/training/sessions/{sid}", headers=sam).json()
    assert (detail["enrolled"], detail["waitlisted"]) == (1, 0)
    mine = client.get("/training/me", headers=sue).json()
    assert [e["session_id"] for e in mine["enrolments"]] == [sid]
    assert sid in [s["id"] for s in mine["upcoming"]]


def test_attendance_roles_and_row_errors_over_http(
    client: TestClient, auth_for: AuthFor, staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    sid = make_session(courses.fire_safety, MARCH, hours=3)
    sam, fiona = auth_for("sam"), auth_for("fiona")
    resp = client.put(
        f"/training/sessions/{sid}/attendance", json={"lines": [{"username": "sam", "hours": 3}]}, headers=sam
    )
    assert resp.status_code == 403
    resp = client.put(
        f"/training/sessions/{sid}/attendance",
        json={"lines": [{"username": "sam", "hours": 3}, {"username": "sue", "hours": 9}]},
        headers=fiona,
    )
    report = resp.json()
    assert (report["created"], report["errors"][0]["row"], report["errors"][0]["code"]) == (
        1,
        2,
        "impossible_hours",
    )
    again = _csv(client, fiona, sid, "username,hours\nsam,3\nghost,1\n")
    assert (again["created"], again["unchanged"]) == (0, 1)
    assert again["errors"] == [
        {"row": 3, "column": "username", "code": "unknown_staff", "reason": "no active staff member 'ghost'"}
    ]
    resp = client.post(
        f"/training/sessions/{sid}/attendance.csv",
        content=b"name;hours\n",
        headers={**fiona, "Content-Type": "text/csv"},
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "file"]

    roster = client.get(f"/training/sessions/{sid}/roster", headers=fiona).json()
    assert [(r["username"], r["attended_hours"]) for r in roster] == [("sam", 3.0)]

    me = client.get("/training/me", params={"year": 2026}, headers=sam).json()
    assert me["progress"]["on_the_job"]["hours"] == 3.0
    assert me["progress"]["on_the_job"]["target_hours"] == 40.0
    assert [c["course_title"] for c in me["certificates"]] == ["Fire Safety"]
    assert client.get("/training/progress", headers=sam).status_code == 403
    # fiona manages general-affairs: her people, not procurement's
    names = {p["username"] for p in client.get("/training/progress", headers=fiona).json()}
    assert names == {"sam", "sue", "fiona"}
    assert (
        client.get("/training/progress", params={"department": "procurement"}, headers=fiona).status_code
        == 403
    )
    assert (
        client.get("/training/certificates", params={"user_id": staff["chen"]}, headers=fiona).status_code
        == 403
    )
    assert (
        len(client.get("/training/certificates", params={"user_id": staff["sam"]}, headers=fiona).json()) == 1
    )


def test_xapi_intake_is_idempotent_and_names_bad_fields(
    client: TestClient,
    auth_for: AuthFor,
    staff: dict[str, int],
    courses: Courses,
    elearning_key: dict[str, str],
) -> None:
    sid = str(uuid.uuid4())
    body = statement(email="sam@tainan.gov.tw", activity=XAPI_ETHICS, duration="PT1H30M", statement_id=sid)
    first = client.post("/training/xapi/statements", json=body, headers=elearning_key)
    assert first.status_code == 200, first.text
    assert first.json() == [{"id": sid, "stored": True, "credited_hours": 1.5}]
    assert first.headers["X-Experience-API-Version"] == "1.0.3"
    replay = client.post("/training/xapi/statements", json=body, headers=elearning_key)
    assert replay.json() == [{"id": sid, "stored": False, "credited_hours": 0.0}]
    changed = client.post(
        "/training/xapi/statements", json={**body, "result": {"duration": "PT9H"}}, headers=elearning_key
    )
    assert changed.status_code == 409
    # a second completion of the same activity in the year is stored but not credited again
    again = statement(email="sam@tainan.gov.tw", activity=XAPI_ETHICS, duration="PT1H")
    assert (
        client.post("/training/xapi/statements", json=again, headers=elearning_key).json()[0][
            "credited_hours"
        ]
        == 0.0
    )
    me = client.get("/training/me", params={"year": 2026}, headers=auth_for("sam")).json()
    assert me["progress"]["digital"]["hours"] == 1.5

    bad = [
        ({**body, "id": "not-a-uuid"}, ["body", "id"]),
        (
            {**body, "id": str(uuid.uuid4()), "result": {"duration": "1.5 hours"}},
            ["body", "result", "duration"],
        ),
        ({**body, "id": str(uuid.uuid4()), "result": {"duration": "PT30H"}}, ["body", "result", "duration"]),
        (
            {**body, "id": str(uuid.uuid4()), "actor": {"mbox": "mailto:ghost@x.tw"}},
            ["body", "actor", "mbox"],
        ),
        ({**body, "id": str(uuid.uuid4()), "actor": {"name": "no ifi"}}, ["body", "actor"]),
        ({**body, "id": str(uuid.uuid4()), "verb": {"display": {}}}, ["body", "verb", "id"]),
        ({**body, "id": str(uuid.uuid4()), "object": "x"}, ["body", "object"]),
        ({**body, "id": str(uuid.uuid4()), "version": "2.0.0"}, ["body", "version"]),
        ({**body, "id": str(uuid.uuid4()), "timestamp": "yesterday"}, ["body", "timestamp"]),
    ]
    for payload, loc in bad:
        resp = client.post("/training/xapi/statements", json=payload, headers=elearning_key)
        assert resp.status_code == 400, (loc, resp.text)
        assert resp.json()["detail"][0]["loc"] == loc
    batch = [statement(email="sue@tainan.gov.tw", activity="https://e.example/x", duration="PT10M"), "oops"]
    resp = client.post("/training/xapi/statements", json=batch, headers=elearning_key)
    assert resp.status_code == 400
    assert resp.json()["detail"][0]["loc"] == ["body", 1]
    assert client.post("/training/xapi/statements", json=body, headers=auth_for("sam")).status_code == 403

    # voiding withdraws the credit
    void = {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:sam@tainan.gov.tw"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": sid},
    }
    assert client.post("/training/xapi/statements", json=void, headers=elearning_key).status_code == 200
    me = client.get("/training/me", params={"year": 2026}, headers=auth_for("sam")).json()
    assert me["progress"]["digital"]["hours"] == 0.0


def test_exports_certificates_register_and_drills(
    client: TestClient, auth_for: AuthFor, staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    officer = auth_for("audrey")
    basic = make_session(courses.procurement_basic, MARCH, hours=4)
    _csv(client, officer, basic, "username,hours\nchen,4\nwang,2\n")
    old = make_session(courses.procurement_basic, datetime(2023, 1, 5, 1, tzinfo=UTC), hours=4)
    _csv(client, officer, old, "username,hours\nwang,4\n")  # wang's licence expired in January 2026

    register = client.get("/training/procurement-register", headers=officer).json()
    assert [(r["username"], r["state"], r["may_act"]) for r in register] == [
        ("chen", "valid", True),
        ("wang", "expired", False),
    ]
    assert register[0]["expires_on"] == "2029-03-10"
    assert client.get("/training/procurement-register", headers=auth_for("sam")).status_code == 403

    text = client.get("/training/exports/hours.csv", params={"year": 2026}, headers=officer)
    assert text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    chen = next(r for r in rows if r["username"] == "chen")
    assert (chen["department"], chen["on_the_job_hours"], chen["digital_hours"]) == (
        "procurement",
        "3.0",
        "1.0",
    )
    book = load_workbook(
        io.BytesIO(client.get("/training/exports/hours.xlsx", params={"year": 2026}, headers=officer).content)
    )
    assert book.sheetnames == ["People", "Departments"]
    departments = {row[1]: row for row in book["Departments"].iter_rows(min_row=2, values_only=True)}
    assert departments["procurement"][2:4] == (2, 4.5)  # two people, 3 + 1.5 on-the-job hours
    only_mine = client.get("/training/exports/hours.csv", params={"year": 2026}, headers=auth_for("wang"))
    assert {r["department"] for r in csv.DictReader(io.StringIO(only_mine.content.decode("utf-8-sig")))} == {
        "procurement"
    }

    held = datetime.now(UTC) - timedelta(days=2)
    drill = {
        "title": "Autumn earthquake drill",
        "scenario": "earthquake",
        "held_at": held.isoformat(),
        "participants": 182,
        "evacuation_seconds": 340,
        "target_evacuation_seconds": 300,
        "findings": "Stair B door blocked by stored chairs",
        "department_code": "general-affairs",
    }
    assert client.post("/training/drills", json=drill, headers=auth_for("sam")).status_code == 403
    created = client.post("/training/drills", json=drill, headers=officer).json()
    assert created["evacuation_met"] is False
    action = client.post(
        f"/training/drills/{created['id']}/actions",
        json={"description": "Clear stair B", "owner_id": staff["sam"], "due_on": str(held.date())},
        headers=officer,
    ).json()
    listed = client.get("/training/drills", params={"open_actions": True}, headers=auth_for("sam")).json()
    assert [d["id"] for d in listed["items"]] == [created["id"]]
    assert client.get("/training/drills", headers=auth_for("chen")).json()["total"] == 0  # other department
    done = client.post(
        f"/training/drills/{created['id']}/actions/{action['id']}/complete",
        json={"outcome": "Chairs moved to storage room 3"},
        headers=auth_for("sam"),
    )
    assert done.json()["status"] == "done"
    again = client.post(
        f"/training/drills/{created['id']}/actions/{action['id']}/complete",
        json={"outcome": "twice"},
        headers=officer,
    )
    assert again.status_code == 409
    future_drill = client.post(
        "/training/drills", json={**drill, "held_at": future(3).isoformat()}, headers=officer
    )
    assert future_drill.json()["detail"][0]["loc"] == ["body", "held_at"]

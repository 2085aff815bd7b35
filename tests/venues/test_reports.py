"""Venue and dormitory reports on SQLite and PostgreSQL, checked against numbers worked out by hand from
the calendar (March and April 2026), and their CSV and XLSX exports through the API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.errors import InvalidInputError
from cityhall.models import (
    Audience,
    Booking,
    BookingStatus,
    DormAssignment,
    ResourceKind,
    SurveyResponse,
    VenueApplicant,
)
from cityhall.venues import reports
from cityhall.venues.rules import TAIPEI
from tests.api.api_testdata import AuthFor
from tests.venues.conftest import MakeResource

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)
# Mon-Sat 08:00-22:00 (14 h). March 2026: 31 days, Sundays 1, 8, 15, 22, 29, no Taiwan holiday -> 26 days.
# April 2026: 30 days, Sundays 5, 12, 19, 26; holidays on Fri 3, Sat 4 and Mon 6 -> 23 days.
MARCH_OPEN_H = 26 * 14
APRIL_OPEN_H = 23 * 14


def taipei(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """An aware Taipei datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=TAIPEI)


def add_booking(  # noqa: PLR0917 - a compact row builder for the history below
    session: Session,
    resource_id: int,
    applicant_id: int,
    start: datetime,
    hours: float,
    status: BookingStatus,
    *,
    created: datetime | None = None,
    decided: datetime | None = None,
) -> Booking:
    """A past booking written directly (the booking rules refuse the past, the reports read it)."""
    end = start + timedelta(hours=hours)
    booking = Booking(
        resource_id=resource_id,
        applicant_id=applicant_id,
        status=status,
        title="Community event",
        attendees=10,
        starts_at=start.astimezone(UTC),
        ends_at=end.astimezone(UTC),
        block_until=end.astimezone(UTC),
        created_by="test",
        created_at=(created or start - timedelta(days=7)).astimezone(UTC),
        decided_at=decided.astimezone(UTC) if decided else None,
        decided_by="user:fiona" if decided else None,
    )
    session.add(booking)
    session.flush()
    return booking


@pytest.fixture
def history(
    session_factory: sessionmaker[Session], make_resource: MakeResource, people: dict[str, int]
) -> dict[str, int]:
    """A hall with bookings, decisions and surveys in March and April 2026, and a dorm room with stays."""
    hall = make_resource(code="YH-HALL", name="Yonghua Hall")
    room = make_resource(
        code="MZ-101",
        name="Room 101",
        kind=ResourceKind.DORM_ROOM,
        audience=Audience.INTERNAL,
        capacity_people=2,
        opening_hours=None,
        requires_approval=False,
        closed_on_holidays=False,
        buffer_minutes=0,
    )
    with transaction(session_factory) as session:
        applicant = VenueApplicant(
            name="Lin",
            email="lin@example.tw",
            phone="0912345678",
            key_sha256="a" * 64,
            feed_key_sha256="b" * 64,
        )
        session.add(applicant)
        session.flush()
        a = applicant.id
        # Used in March: 3 h + 2.5 h confirmed + 1 h checked in = 6.5 h. Not counted: no-show, cancelled, pending.
        b1 = add_booking(
            session,
            hall,
            a,
            taipei(2026, 3, 3, 9),
            3,
            BookingStatus.CONFIRMED,
            created=taipei(2026, 2, 20, 9),
            decided=taipei(2026, 2, 20, 11),
        )  # waited 2 h
        b2 = add_booking(
            session,
            hall,
            a,
            taipei(2026, 3, 10, 14),
            2.5,
            BookingStatus.CONFIRMED,
            created=taipei(2026, 3, 1, 8),
            decided=taipei(2026, 3, 1, 18),
        )  # 10 h, decided in March
        b3 = add_booking(
            session,
            hall,
            a,
            taipei(2026, 3, 17, 10),
            1,
            BookingStatus.CHECKED_IN,
            created=taipei(2026, 3, 2, 8),
            decided=taipei(2026, 3, 3, 14),
        )  # 30 h, in March
        add_booking(session, hall, a, taipei(2026, 3, 18, 10), 2, BookingStatus.NO_SHOW)
        add_booking(session, hall, a, taipei(2026, 3, 19, 10), 4, BookingStatus.CANCELLED)
        add_booking(
            session,
            hall,
            a,
            taipei(2026, 3, 20, 10),
            4,
            BookingStatus.REJECTED,
            created=taipei(2026, 3, 5, 9),
            decided=taipei(2026, 3, 5, 13),
        )  # 4 h, in March
        # April: 4 h used.
        b5 = add_booking(
            session,
            hall,
            a,
            taipei(2026, 4, 7, 8),
            4,
            BookingStatus.CONFIRMED,
            created=taipei(2026, 3, 30, 9),
            decided=taipei(2026, 4, 1, 9),
        )  # 48 h, in April
        for booking, score in ((b1, 5), (b2, 4), (b3, 2), (b5, 3)):
            session.add(SurveyResponse(booking_id=booking.id, score=score, comment=""))
        # Room 101, two beds: 10 March onwards (22 March nights, all 30 April ones) and 20 Feb-5 March (4).
        session.add(
            DormAssignment(
                resource_id=room, user_id=people["sam"], starts_on=date(2026, 3, 10), created_by="t"
            )
        )
        session.add(
            DormAssignment(
                resource_id=room,
                user_id=people["sue"],
                starts_on=date(2026, 2, 20),
                ends_on=date(2026, 3, 5),
                created_by="t",
            )
        )
    return {"hall": hall, "room": room}


def test_utilisation_is_booked_over_open_hours(
    session_factory: sessionmaker[Session], history: dict[str, int], people: dict[str, int]
) -> None:
    with session_factory() as session:
        rows = reports.utilisation(session, first=MARCH, last=APRIL)
    assert [(r.resource_code, r.month) for r in rows] == [("YH-HALL", "2026-03"), ("YH-HALL", "2026-04")]
    march, april = rows
    assert march.open_hours == MARCH_OPEN_H
    assert march.booked_hours == 6.5
    assert march.utilisation_pct == round(100 * 6.5 / 364, 1) == 1.8
    assert april.open_hours == APRIL_OPEN_H  # three holidays on working days
    assert april.booked_hours == 4
    assert april.utilisation_pct == round(100 * 4 / 322, 1)


def test_approval_times_by_month_of_decision(
    session_factory: sessionmaker[Session], history: dict[str, int], people: dict[str, int]
) -> None:
    with session_factory() as session:
        rows = reports.approval_times(session, first=date(2026, 2, 1), last=APRIL)
    by_month = {r.month: r for r in rows}
    assert set(by_month) == {"2026-02", "2026-03", "2026-04"}
    feb, march, april = by_month["2026-02"], by_month["2026-03"], by_month["2026-04"]
    assert (feb.decided, feb.mean_hours) == (1, 2)
    # March decisions waited 10, 30 and 4 hours; one was a rejection.
    assert (march.decided, march.approved, march.rejected) == (3, 2, 1)
    assert march.mean_hours == round((10 + 30 + 4) / 3, 2)
    assert march.median_hours == 10
    assert march.max_hours == 30
    assert (april.decided, april.median_hours) == (1, 48)


def test_survey_scores_by_month_of_booking(
    session_factory: sessionmaker[Session], history: dict[str, int], people: dict[str, int]
) -> None:
    with session_factory() as session:
        rows = reports.survey_scores(session, first=MARCH, last=APRIL)
    assert [(r.month, r.responses, r.mean_score, r.lowest, r.highest) for r in rows] == [
        ("2026-03", 3, round(11 / 3, 2), 2, 5),
        ("2026-04", 1, 3.0, 3, 3),
    ]


def test_dorm_occupancy_is_bed_nights(
    session_factory: sessionmaker[Session], history: dict[str, int], people: dict[str, int]
) -> None:
    with session_factory() as session:
        rows = reports.dorm_occupancy(session, first=MARCH, last=APRIL)
    march, april = rows
    assert (march.room_code, march.beds, march.bed_nights, march.bed_nights_taken) == ("MZ-101", 2, 62, 26)
    assert march.occupancy_pct == round(100 * 26 / 62, 1)
    assert (april.bed_nights, april.bed_nights_taken, april.occupancy_pct) == (60, 30, 50.0)


def test_month_arguments_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="not a month"):
        reports.parse_month("2026-13", loc=("query", "start"))
    with pytest.raises(InvalidInputError, match="before"):
        reports.months_between(APRIL, MARCH)
    with pytest.raises(InvalidInputError, match="at most"):
        reports.months_between(date(2020, 1, 1), date(2026, 1, 1))


def test_reports_api_exports_csv_and_xlsx(
    client: TestClient, auth_for: AuthFor, history: dict[str, int]
) -> None:
    params = {"start": "2026-03", "end": "2026-04"}
    assert (
        client.get("/venues/reports/utilisation", params=params, headers=auth_for("sam")).status_code == 403
    )
    as_json = client.get("/venues/reports/utilisation", params=params, headers=auth_for("audrey"))
    assert as_json.status_code == 200
    assert as_json.json()[0] == {
        "resource_code": "YH-HALL",
        "resource_name": "Yonghua Hall",
        "month": "2026-03",
        "open_hours": 364.0,
        "booked_hours": 6.5,
        "utilisation_pct": 1.8,
    }

    as_csv = client.get(
        "/venues/reports/utilisation", params={**params, "format": "csv"}, headers=auth_for("fiona")
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="utilisation-2026-03-2026-04.csv"' in as_csv.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == [
        "resource_code",
        "resource_name",
        "month",
        "open_hours",
        "booked_hours",
        "utilisation_pct",
    ]
    assert table[2] == ["YH-HALL", "Yonghua Hall", "2026-04", "322.0", "4.0", str(round(400 / 322, 1))]

    as_xlsx = client.get(
        "/dorms/reports/occupancy", params={**params, "format": "xlsx"}, headers=auth_for("fiona")
    )
    assert as_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:4] == ["room_code", "room_name", "month", "beds"]
    assert values[1] == ["MZ-101", "Room 101", "2026-03", 2, 62, 26, round(100 * 26 / 62, 1)]

    surveys = client.get("/venues/reports/surveys", params=params, headers=auth_for("fiona")).json()
    assert surveys[0]["mean_score"] == round(11 / 3, 2)
    waits = client.get("/venues/reports/approval-times", params=params, headers=auth_for("fiona")).json()
    assert [w["month"] for w in waits] == ["2026-03", "2026-04"]
    bad = client.get(
        "/venues/reports/utilisation", params={"start": "March", "end": "2026-04"}, headers=auth_for("fiona")
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "start"]

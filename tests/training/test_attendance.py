"""Attendance on SQLite and PostgreSQL: taken in the app or imported from CSV with a per-row error report,
replays that change nothing, hours credited by delivery, certificates issued on full attendance."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.errors import ConflictError, InvalidInputError
from cityhall.models import Attendance, AuditEntry, Certificate, HourKind, TrainingCredit
from cityhall.training import attendance, catalogue
from cityhall.training.attendance import AttendanceReport, RowError
from tests.training.conftest import ACTOR, Courses, MakeSession, future

H = 3600
MARCH = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Taipei

CSV = """username,hours,note
sam,3,
sue,2.5,left early
nobody,3,
sam,3,again
chen,4,more than the session
eric,abc,
eric,0,
fiona,-1,
,3,
wang,3
"""


def _import(factory: sessionmaker[Session], session_id: int, text: str) -> AttendanceReport:
    with transaction(factory) as session:
        row = catalogue.get_session(session, session_id, lock=True)
        return attendance.record_lines(
            session, row=row, lines=attendance.parse_csv(text), source="csv", actor=ACTOR
        )


def _credits(factory: sessionmaker[Session]) -> dict[tuple[int, HourKind], int]:
    with factory() as session:
        rows = session.execute(
            select(TrainingCredit.user_id, TrainingCredit.kind, func.sum(TrainingCredit.duration_s)).group_by(
                TrainingCredit.user_id, TrainingCredit.kind
            )
        )
        return {(uid, kind): int(total) for uid, kind, total in rows if total}


def _count(factory: sessionmaker[Session], model: type[object]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_csv_import_keeps_valid_rows_and_reports_each_bad_one(
    session_factory: sessionmaker[Session], staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    sid = make_session(courses.fire_safety, MARCH, hours=3)
    report = _import(session_factory, sid, CSV)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)  # sam, sue, wang
    assert report.errors == [
        RowError(4, "username", "unknown_staff", "no active staff member 'nobody'"),
        RowError(5, "username", "duplicate_row", "sam is already listed on row 2"),
        RowError(6, "hours", "impossible_hours", "4 hours: the session credits at most 3 hours"),
        RowError(7, "hours", "impossible_hours", "'abc' is not a number of hours"),
        RowError(8, "hours", "impossible_hours", "0 hours: attended hours must be more than 0"),
        RowError(9, "hours", "impossible_hours", "-1 hours: attended hours must be more than 0"),
        RowError(10, "username", "missing_username", "no user name given"),
    ]
    assert _credits(session_factory) == {
        (staff["sam"], HourKind.ON_THE_JOB): 3 * H,
        (staff["sue"], HourKind.ON_THE_JOB): int(2.5 * H),
        (staff["wang"], HourKind.ON_THE_JOB): 3 * H,
    }
    audit_rows = _count(session_factory, AuditEntry)

    replay = _import(session_factory, sid, CSV)  # the same file again changes nothing
    assert (replay.created, replay.updated, replay.unchanged) == (0, 0, 3)
    assert replay.errors == report.errors
    assert _count(session_factory, AuditEntry) == audit_rows
    assert _count(session_factory, Attendance) == 3
    assert _count(session_factory, Certificate) == 2  # sam and wang attended all 3 hours; sue did not

    fixed = _import(session_factory, sid, "username,hours\nsue,3\n")  # a correction
    assert (fixed.created, fixed.updated) == (0, 1)
    assert _credits(session_factory)[(staff["sue"], HourKind.ON_THE_JOB)] == 3 * H
    assert _count(session_factory, Certificate) == 3


def test_certificate_expiry_and_withdrawal(
    session_factory: sessionmaker[Session], staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    sid = make_session(courses.fire_safety, MARCH, hours=3)
    _import(session_factory, sid, "username,hours\nsam,3\n")
    with session_factory() as session:
        cert = session.scalars(select(Certificate)).one()
        assert (cert.issued_on, cert.expires_on) == (date(2026, 3, 10), date(2028, 3, 10))
        assert cert.number == f"TR2026-{sid:05d}-{staff['sam']:05d}"
    _import(session_factory, sid, "username,hours\nsam,1\n")  # corrected: left after an hour
    with session_factory() as session:
        assert session.scalars(select(Certificate)).one().revoked_at is not None


def test_blended_hours_split_by_the_digital_share(
    session_factory: sessionmaker[Session], staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    sid = make_session(courses.procurement_basic, MARCH, hours=8)
    report = _import(session_factory, sid, "hours,username\n8,chen\n4,wang\n")
    assert report.created == 2
    assert not report.errors
    assert _credits(session_factory) == {
        (staff["chen"], HourKind.ON_THE_JOB): 6 * H,
        (staff["chen"], HourKind.DIGITAL): 2 * H,
        (staff["wang"], HourKind.ON_THE_JOB): 3 * H,
        (staff["wang"], HourKind.DIGITAL): 1 * H,
    }
    with session_factory() as session:
        licence = session.scalars(select(Certificate)).one()
        assert licence.user_id == staff["chen"]
        assert licence.expires_on == date(2029, 3, 10)


def test_attendance_needs_a_started_session_and_a_proper_file(
    session_factory: sessionmaker[Session], staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    later = make_session(courses.fire_safety, future(5))
    with pytest.raises(ConflictError, match="once the session starts"):
        _import(session_factory, later, "username,hours\nsam,1\n")
    with pytest.raises(InvalidInputError, match="lacks hours") as err:
        attendance.parse_csv("username,minutes\nsam,60\n")
    assert err.value.loc == ("body", "file")
    assert attendance.parse_csv("\ufeffusername,hours\n\n,\nsam,1\n") == [
        attendance.AttendanceLine(row=4, username="sam", hours="1")
    ]

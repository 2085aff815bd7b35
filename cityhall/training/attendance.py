"""Attendance, taken in the app or imported from CSV, the hours it credits, and the certificates it earns.

Each attendance line is checked on its own: unknown staff, a person listed twice, or hours that are not a
number, not positive, or more than the session credits are rejected with the row and the reason, and every
valid line is kept. Recording the same line again changes nothing, so an import can be replayed safely.
Attendance credits hours to the ledger (`training_credits`) by the course's delivery: on-site hours are
on-the-job training, digital hours digital learning, a blended course splits by its digital share.
Full attendance of a course that issues certificates issues one (with its expiry, where the course has one).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityhall.audit import add_created, audited
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError
from cityhall.models import (
    Attendance,
    Certificate,
    Course,
    HourKind,
    SessionStatus,
    TrainingCredit,
    TrainingSession,
    User,
)

TAIPEI = ZoneInfo("Asia/Taipei")
MAX_IMPORT_ROWS = 5000
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one line was rejected: its row number (the header is row 1), the column, a code and a reason."""

    row: int
    column: str
    code: str
    reason: str


@dataclass(slots=True)
class AttendanceReport:
    """What an attendance submission did: lines created, updated, unchanged, and those rejected."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        """Count one accepted line."""
        if outcome == "created":
            self.created += 1
        elif outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass(frozen=True, slots=True)
class AttendanceLine:
    """One line to record: a person (by user name) and the hours they attended, as given."""

    row: int
    username: str
    hours: str


def split_credit(course: Course, attended_s: int) -> dict[HourKind, int]:
    """Seconds of each kind that `attended_s` of a course credits."""
    digital_s = attended_s * course.digital_share_pct // 100
    return {HourKind.ON_THE_JOB: attended_s - digital_s, HourKind.DIGITAL: digital_s}


def local_day(moment: datetime) -> datetime:
    """A moment in Asia/Taipei."""
    return moment.astimezone(TAIPEI)


def _ensure_open(row: TrainingSession, now: datetime) -> None:
    if row.status is SessionStatus.CANCELLED:
        raise ConflictError("session_cancelled", "the session is cancelled", loc=("path", "session_id"))
    if row.starts_at > now:
        raise ConflictError(
            "session_not_started",
            "attendance can be taken once the session starts",
            loc=("path", "session_id"),
        )


def parse_hours(text: str, row: TrainingSession) -> int:
    """Hours as given (e.g. `3`, `2.5`) to seconds; ValueError with the reason when impossible."""
    try:
        hours = Decimal(text.strip().replace(",", "."))
    except InvalidOperation as err:
        raise ValueError(f"{text!r} is not a number of hours") from err
    if not hours.is_finite() or hours <= 0:
        raise ValueError(f"{text.strip()} hours: attended hours must be more than 0")
    seconds = int((hours * 3600).to_integral_value())
    if seconds > row.credit_s:
        raise ValueError(f"{text.strip()} hours: the session credits at most {row.credit_s / 3600:g} hours")
    return seconds


def record_attendance(
    session: Session,
    *,
    row: TrainingSession,
    user_id: int,
    attended_s: int,
    source: str,
    actor: str,
    now: datetime | None = None,
) -> Outcome:
    """Record (or correct) one person's attendance, credit its hours, and issue or withdraw a certificate."""
    now = now or utcnow()
    _ensure_open(row, now)
    if not 0 < attended_s <= row.credit_s:
        raise InvalidInputError(
            "impossible_hours",
            f"attended hours must be more than 0 and at most {row.credit_s / 3600:g}",
            loc=("body", "hours"),
        )
    existing = session.scalars(
        select(Attendance).where(Attendance.session_id == row.id, Attendance.user_id == user_id)
    ).one_or_none()
    outcome: Outcome
    if existing is None:
        attendance = Attendance(
            session_id=row.id,
            user_id=user_id,
            attended_s=attended_s,
            source=source,
            recorded_by=actor,
            recorded_at=now,
        )
        add_created(session, attendance, entity="training_attendance", actor=actor)
        outcome = "created"
    elif existing.attended_s == attended_s:
        return "unchanged"
    else:
        attendance = existing
        with audited(session, existing, entity="training_attendance", action="update", actor=actor):
            existing.attended_s = attended_s
            existing.source = source
            existing.recorded_by = actor
            existing.recorded_at = now
            session.flush()
        outcome = "updated"
    course = row.course
    _credit(session, row=row, course=course, user_id=user_id, attended_s=attendance.attended_s)
    _certify(session, row=row, course=course, user_id=user_id, full=attended_s >= row.credit_s, actor=actor)
    return outcome


def _credit(session: Session, *, row: TrainingSession, course: Course, user_id: int, attended_s: int) -> None:
    day = local_day(row.starts_at).date()
    for kind, seconds in split_credit(course, attended_s).items():
        key = f"attendance:{row.id}:{user_id}:{kind.value}"
        credit = session.scalars(select(TrainingCredit).where(TrainingCredit.source_key == key)).one_or_none()
        if credit is None:
            if seconds:
                session.add(
                    TrainingCredit(
                        source_key=key,
                        user_id=user_id,
                        kind=kind,
                        duration_s=seconds,
                        credited_on=day,
                        course_id=course.id,
                        created_at=utcnow(),
                    )
                )
        else:
            credit.duration_s = seconds
    session.flush()


def _certify(
    session: Session, *, row: TrainingSession, course: Course, user_id: int, full: bool, actor: str
) -> None:
    if not course.issues_certificate:
        return
    existing = session.scalars(
        select(Certificate).where(Certificate.session_id == row.id, Certificate.user_id == user_id)
    ).one_or_none()
    if full and existing is None:
        issued_on = local_day(row.ends_at).date()
        months = course.certificate_valid_months
        certificate = Certificate(
            number=f"TR{issued_on.year}-{row.id:05d}-{user_id:05d}",
            user_id=user_id,
            course_id=course.id,
            session_id=row.id,
            category=course.category,
            issued_on=issued_on,
            expires_on=issued_on + relativedelta(months=months) if months else None,
        )
        add_created(session, certificate, entity="training_certificate", actor=actor, action="issue")
    elif existing is not None and (existing.revoked_at is None) != full:
        # attendance corrected below (or back to) full: withdraw (or reinstate) the certificate
        with audited(session, existing, entity="training_certificate", action="revoke", actor=actor):
            existing.revoked_at = None if full else utcnow()
            session.flush()


def _users_by_name(session: Session, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    stmt = select(User.username, User.id).where(
        func.lower(User.username).in_([n.lower() for n in names]), User.is_active.is_(True)
    )
    return {name.lower(): uid for name, uid in session.execute(stmt)}


def record_lines(
    session: Session,
    *,
    row: TrainingSession,
    lines: list[AttendanceLine],
    source: str,
    actor: str,
    now: datetime | None = None,
) -> AttendanceReport:
    """Record many lines: each valid one is kept, each invalid one reported with its row and reason."""
    now = now or utcnow()
    _ensure_open(row, now)
    report = AttendanceReport()
    users = _users_by_name(session, {line.username.strip() for line in lines if line.username.strip()})
    first_row: dict[str, int] = {}
    for line in lines:
        name = line.username.strip()
        if not name:
            report.errors.append(RowError(line.row, "username", "missing_username", "no user name given"))
            continue
        user_id = users.get(name.lower())
        if user_id is None:
            report.errors.append(
                RowError(line.row, "username", "unknown_staff", f"no active staff member {name!r}")
            )
            continue
        if name.lower() in first_row:
            report.errors.append(
                RowError(
                    line.row,
                    "username",
                    "duplicate_row",
                    f"{name} is already listed on row {first_row[name.lower()]}",
                )
            )
            continue
        try:
            seconds = parse_hours(line.hours, row)
        except ValueError as err:
            report.errors.append(RowError(line.row, "hours", "impossible_hours", str(err)))
            continue
        first_row[name.lower()] = line.row  # a rejected row does not block a later valid one
        outcome = record_attendance(
            session, row=row, user_id=user_id, attended_s=seconds, source=source, actor=actor, now=now
        )
        report.count(outcome)
    return report


def parse_csv(text: str) -> list[AttendanceLine]:
    """Attendance lines of a CSV with the columns `username` and `hours` (any order, other columns ignored).

    Raises InvalidInputError naming the file when the header lacks a column or there are too many rows.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("username", "hours") if c not in header]
    if missing:
        raise InvalidInputError(
            "missing_columns", f"the CSV header lacks {', '.join(missing)}", loc=("body", "file")
        )
    lines: list[AttendanceLine] = []
    for raw in reader:
        values = {(k or "").strip().lower(): (v or "") for k, v in raw.items() if isinstance(v, str)}
        if not any(v.strip() for v in values.values()):
            continue  # blank line
        lines.append(
            AttendanceLine(
                row=reader.line_num, username=values.get("username", ""), hours=values.get("hours", "")
            )
        )
        if len(lines) > MAX_IMPORT_ROWS:
            raise InvalidInputError(
                "too_many_rows", f"at most {MAX_IMPORT_ROWS} rows per file", loc=("body", "file")
            )
    return lines

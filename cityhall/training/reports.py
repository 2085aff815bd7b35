"""Reading the ledger: people's progress, department roll-ups, the procurement representatives' register,
and the hours exports (CSV and XLSX)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityhall.models import (
    PROCUREMENT_CATEGORIES,
    Certificate,
    CourseCategory,
    HourKind,
    StaffProfile,
    TrainingCredit,
    User,
)
from cityhall.training.progress import (
    DepartmentRollup,
    PersonProgress,
    PersonYear,
    person_progress,
    service_period,
)

EXPIRING_DAYS = 90  # a licence this close to its expiry is flagged in the register


def person_years(
    session: Session, *, year: int, department_code: str | None = None, user_id: int | None = None
) -> list[PersonYear]:
    """The people serving some of `year` (optionally one department or one person) and their hours in it."""
    stmt = select(StaffProfile, User).join(User, User.id == StaffProfile.user_id).order_by(User.username)
    if department_code is not None:
        stmt = stmt.where(StaffProfile.department_code == department_code)
    if user_id is not None:
        stmt = stmt.where(StaffProfile.user_id == user_id)
    people = [
        (profile, user)
        for profile, user in session.execute(stmt)
        if service_period(year, profile.joined_on, profile.left_on) is not None
    ]
    ids = [profile.user_id for profile, _ in people]
    done: dict[int, dict[HourKind, int]] = {uid: {} for uid in ids}
    if ids:
        sums = (
            select(TrainingCredit.user_id, TrainingCredit.kind, func.sum(TrainingCredit.duration_s))
            .where(
                TrainingCredit.user_id.in_(ids),
                TrainingCredit.credited_on >= date(year, 1, 1),
                TrainingCredit.credited_on <= date(year, 12, 31),
            )
            .group_by(TrainingCredit.user_id, TrainingCredit.kind)
        )
        for uid, kind, total in session.execute(sums):
            done[uid][kind] = int(total or 0)
    return [
        PersonYear(
            user_id=profile.user_id,
            username=user.username,
            full_name=user.full_name,
            department_code=profile.department_code,
            joined_on=profile.joined_on,
            left_on=profile.left_on,
            done_s=done[profile.user_id],
        )
        for profile, user in people
    ]


def progress(
    session: Session,
    *,
    year: int,
    as_of: date,
    department_code: str | None = None,
    user_id: int | None = None,
) -> list[PersonProgress]:
    """Progress of the people serving some of `year`, by user name."""
    return [
        person_progress(person, year=year, as_of=as_of)
        for person in person_years(session, year=year, department_code=department_code, user_id=user_id)
    ]


# --- licences ---


class LicenceState(StrEnum):
    """Where a procurement licence stands on a day."""

    VALID = "valid"
    EXPIRING = "expiring"  # valid, but within EXPIRING_DAYS of its expiry
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class LicenceStatus:
    """A person's best procurement licence: the level, the certificate, its expiry and state."""

    user_id: int
    username: str
    full_name: str
    department_code: str | None
    level: CourseCategory
    certificate_number: str
    issued_on: date
    expires_on: date | None
    state: LicenceState

    @property
    def may_act(self) -> bool:
        """May act as a procurement representative: holds an unexpired licence."""
        return self.state is not LicenceState.EXPIRED


def licence_state(expires_on: date | None, today: date) -> LicenceState:
    """The state of a licence expiring on `expires_on` (None: never) seen on `today`."""
    if expires_on is None:
        return LicenceState.VALID
    if expires_on < today:
        return LicenceState.EXPIRED
    return LicenceState.EXPIRING if (expires_on - today).days <= EXPIRING_DAYS else LicenceState.VALID


def _rank(cert: Certificate, today: date) -> tuple[bool, bool, date]:
    alive = cert.expires_on is None or cert.expires_on >= today
    advanced = cert.category is CourseCategory.PROCUREMENT_ADVANCED
    return (alive, advanced, cert.expires_on or date.max)


def procurement_register(session: Session, *, today: date, user_id: int | None = None) -> list[LicenceStatus]:
    """Everyone who holds a procurement licence, with their best one (unexpired first, then advanced)."""
    stmt = (
        select(Certificate)
        .where(Certificate.category.in_(PROCUREMENT_CATEGORIES), Certificate.revoked_at.is_(None))
        .order_by(Certificate.user_id)
    )
    if user_id is not None:
        stmt = stmt.where(Certificate.user_id == user_id)
    best: dict[int, Certificate] = {}
    for cert in session.scalars(stmt):
        held = best.get(cert.user_id)
        if held is None or _rank(cert, today) > _rank(held, today):
            best[cert.user_id] = cert
    out = []
    for uid, cert in best.items():
        profile = session.get(StaffProfile, uid)
        out.append(
            LicenceStatus(
                user_id=uid,
                username=cert.user.username,
                full_name=cert.user.full_name,
                department_code=profile.department_code if profile else None,
                level=cert.category,
                certificate_number=cert.number,
                issued_on=cert.issued_on,
                expires_on=cert.expires_on,
                state=licence_state(cert.expires_on, today),
            )
        )
    return sorted(out, key=lambda s: s.username)


# --- exports ---

HOURS_COLUMNS = (
    "year",
    "department",
    "username",
    "full_name",
    "on_the_job_hours",
    "on_the_job_target_hours",
    "digital_hours",
    "digital_target_hours",
    "met",
    "behind",
    "forecast_on_the_job_hours",
    "forecast_digital_hours",
)
DEPARTMENT_COLUMNS = (
    "year",
    "department",
    "staff",
    "on_the_job_hours",
    "on_the_job_target_hours",
    "digital_hours",
    "digital_target_hours",
    "met",
    "met_pct",
    "behind",
    "forecast_short",
)


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 2)


def person_row(p: PersonProgress) -> list[object]:
    """One export row of a person's year (hours to two decimals)."""
    return [
        p.year,
        p.department_code,
        p.username,
        p.full_name,
        _hours(p.on_the_job.done_s),
        _hours(p.on_the_job.target_s),
        _hours(p.digital.done_s),
        _hours(p.digital.target_s),
        p.met,
        p.behind,
        _hours(p.on_the_job.forecast_s),
        _hours(p.digital.forecast_s),
    ]


def department_row(year: int, d: DepartmentRollup) -> list[object]:
    """One export row of a department's year."""
    return [
        year,
        d.department_code,
        d.staff,
        _hours(d.on_the_job_s),
        _hours(d.target_on_the_job_s),
        _hours(d.digital_s),
        _hours(d.target_digital_s),
        d.met,
        round(d.met_pct, 1),
        d.behind,
        d.forecast_short,
    ]


def hours_csv(people: Sequence[PersonProgress]) -> str:
    """Hours by person as CSV (UTF-8 with a BOM, so Excel shows Chinese names)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HOURS_COLUMNS)
    writer.writerows(person_row(p) for p in people)
    return out.getvalue()


def hours_xlsx(year: int, people: Sequence[PersonProgress], departments: Sequence[DepartmentRollup]) -> bytes:
    """Hours by person and by department as an XLSX workbook with two sheets."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook always has one sheet
    sheet.title = "People"
    sheet.append(list(HOURS_COLUMNS))
    for p in people:
        sheet.append(person_row(p))
    dept_sheet = book.create_sheet("Departments")
    dept_sheet.append(list(DEPARTMENT_COLUMNS))
    for d in departments:
        dept_sheet.append(department_row(year, d))
    for ws in (sheet, dept_sheet):
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

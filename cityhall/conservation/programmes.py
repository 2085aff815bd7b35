"""Departmental conservation programmes and the committee's reviews of them.

A programme holds its measures (what will be done, in which area, the saving expected per year) and a
baseline and target per area. It moves draft -> submitted -> approved | returned; a draft or a returned
programme can be edited and submitted (again); only a submitted one can be reviewed (409 otherwise), and the
review's decision sets its status. See docs/conservation.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.audit import add_created, audited, record, snapshot
from cityhall.conservation.committee import get_meeting
from cityhall.conservation.targets import check_department, in_area_unit
from cityhall.db import utcnow
from cityhall.energy.register import MeterRegister
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import (
    AREA_UNITS,
    ConservationArea,
    ConservationProgramme,
    MeetingStatus,
    ProgrammeAreaTarget,
    ProgrammeMeasure,
    ProgrammeReview,
    ProgrammeStatus,
    ReviewDecision,
)

EDITABLE = frozenset({ProgrammeStatus.DRAFT, ProgrammeStatus.RETURNED})


@dataclass(frozen=True, slots=True)
class MeasureValues:
    """A measure as given: the expected yearly saving in `unit`."""

    description: str
    area: ConservationArea
    expected_saving: float
    unit: str


@dataclass(frozen=True, slots=True)
class AreaTargetValues:
    """A programme's baseline and target for one area, in `unit`."""

    area: ConservationArea
    baseline_amount: float
    baseline_year: int
    target_amount: float
    unit: str


@dataclass(frozen=True, slots=True)
class ProgrammeValues:
    """A programme's content (everything but its department, year and status)."""

    title: str
    summary: str = ""
    measures: tuple[MeasureValues, ...] = ()
    area_targets: tuple[AreaTargetValues, ...] = ()


def _measures(values: Sequence[MeasureValues]) -> list[ProgrammeMeasure]:
    return [
        ProgrammeMeasure(
            description=m.description,
            area=m.area,
            expected_saving=in_area_unit(
                m.area, m.expected_saving, m.unit, loc=("body", "measures", i, "unit")
            ),
            unit=AREA_UNITS[m.area],
        )
        for i, m in enumerate(values)
    ]


def _area_targets(values: Sequence[AreaTargetValues], year: int) -> list[ProgrammeAreaTarget]:
    out: list[ProgrammeAreaTarget] = []
    seen: set[ConservationArea] = set()
    for i, t in enumerate(values):
        loc: tuple[str | int, ...] = ("body", "area_targets", i)
        if t.area in seen:
            raise InvalidInputError("duplicate_area", f"{t.area.value} appears twice", loc=(*loc, "area"))
        seen.add(t.area)
        if t.baseline_year >= year:
            raise InvalidInputError(
                "baseline_not_before_target",
                f"the baseline year must be before {year}",
                loc=(*loc, "baseline_year"),
            )
        out.append(
            ProgrammeAreaTarget(
                area=t.area,
                baseline_amount=in_area_unit(t.area, t.baseline_amount, t.unit, loc=(*loc, "unit")),
                baseline_year=t.baseline_year,
                target_amount=in_area_unit(t.area, t.target_amount, t.unit, loc=(*loc, "unit")),
                unit=AREA_UNITS[t.area],
            )
        )
    return out


def _content(programme: ConservationProgramme) -> dict[str, object]:
    """The child rows, for the audit log's before and after."""
    return {
        "measures": [
            {
                "description": m.description,
                "area": m.area.value,
                "expected_saving": m.expected_saving,
                "unit": m.unit,
            }
            for m in programme.measures
        ],
        "area_targets": [
            {
                "area": t.area.value,
                "baseline_amount": t.baseline_amount,
                "baseline_year": t.baseline_year,
                "target_amount": t.target_amount,
                "unit": t.unit,
            }
            for t in programme.area_targets
        ],
    }


def _title_taken(session: Session, department_code: str, year: int, title: str, but: int | None) -> bool:
    stmt = select(ConservationProgramme.id).where(
        ConservationProgramme.department_code == department_code,
        ConservationProgramme.year == year,
        ConservationProgramme.title == title,
    )
    if but is not None:
        stmt = stmt.where(ConservationProgramme.id != but)
    return session.scalars(stmt).first() is not None


def create_programme(
    session: Session,
    *,
    register: MeterRegister,
    department_code: str,
    year: int,
    values: ProgrammeValues,
    actor: str,
) -> ConservationProgramme:
    """Draft a department's programme for a year; 409 when the department has one of that title that year."""
    check_department(register, department_code, loc=("body", "department_code"))
    if _title_taken(session, department_code, year, values.title, None):
        raise ConflictError(
            "programme_exists",
            f"{department_code} has a programme {values.title!r} for {year}",
            loc=("body", "title"),
        )
    programme = ConservationProgramme(
        department_code=department_code,
        year=year,
        title=values.title,
        summary=values.summary,
        status=ProgrammeStatus.DRAFT,
        created_by=actor,
        created_at=utcnow(),
        measures=_measures(values.measures),
        area_targets=_area_targets(values.area_targets, year),
    )
    session.add(programme)
    session.flush()
    record(
        session,
        actor=actor,
        action="create",
        entity="conservation_programme",
        entity_id=programme.id,
        before=None,
        after={**snapshot(programme), **_content(programme)},
    )
    return programme


def get_programme(session: Session, programme_id: int) -> ConservationProgramme:
    """A programme by id, or 404."""
    programme = session.get(ConservationProgramme, programme_id)
    if programme is None:
        raise NotFoundError(
            "programme_not_found", f"no programme {programme_id}", loc=("path", "programme_id")
        )
    return programme


def _require_editable(programme: ConservationProgramme, what: str) -> None:
    if programme.status not in EDITABLE:
        raise ConflictError(
            "programme_not_editable",
            f"a {programme.status.value} programme cannot be {what} (only a draft or a returned one)",
            loc=("path", "programme_id"),
        )


def update_programme(
    session: Session, *, programme: ConservationProgramme, values: ProgrammeValues, actor: str
) -> ConservationProgramme:
    """Replace an editable programme's title, summary, measures and area targets (409 otherwise)."""
    _require_editable(programme, "edited")
    if _title_taken(session, programme.department_code, programme.year, values.title, programme.id):
        raise ConflictError(
            "programme_exists", f"another programme is titled {values.title!r}", loc=("body", "title")
        )
    measures = _measures(values.measures)
    area_targets = _area_targets(values.area_targets, programme.year)
    with audited(
        session,
        programme,
        entity="conservation_programme",
        action="update",
        actor=actor,
        extra=lambda: _content(programme),
    ):
        programme.title = values.title
        programme.summary = values.summary
        programme.measures = measures
        # Flush the removal first: the new rows may reuse an area the unique constraint still holds.
        programme.area_targets = []
        session.flush()
        programme.area_targets = area_targets
        session.flush()
    return programme


def submit_programme(
    session: Session, *, programme: ConservationProgramme, actor: str
) -> ConservationProgramme:
    """Submit a draft (or a returned programme, again) for review; it needs at least one measure."""
    _require_editable(programme, "submitted")
    if not programme.measures:
        raise InvalidInputError(
            "no_measures", "a programme needs at least one measure to be submitted", loc=("body", "measures")
        )
    with audited(session, programme, entity="conservation_programme", action="submit", actor=actor):
        programme.status = ProgrammeStatus.SUBMITTED
        programme.submitted_at = utcnow()
        programme.decided_at = None
        session.flush()
    return programme


@dataclass(frozen=True, slots=True)
class ReviewValues:
    """A reviewer's verdict on a submitted programme."""

    score: int
    decision: ReviewDecision
    comments: str = ""
    meeting_id: int | None = None


def review_programme(
    session: Session,
    *,
    programme: ConservationProgramme,
    values: ReviewValues,
    reviewer_id: int | None,
    actor: str,
) -> ProgrammeReview:
    """Review a submitted programme: approve it or return it to its department (409 unless submitted)."""
    if programme.status is not ProgrammeStatus.SUBMITTED:
        raise ConflictError(
            "programme_not_submitted",
            f"only a submitted programme can be reviewed; this one is {programme.status.value}",
            loc=("path", "programme_id"),
        )
    if values.meeting_id is not None:
        meeting = get_meeting(session, values.meeting_id, loc=("body", "meeting_id"))
        if meeting.status is MeetingStatus.CANCELLED:
            raise InvalidInputError(
                "meeting_cancelled", "the meeting is cancelled", loc=("body", "meeting_id")
            )
    if values.decision is ReviewDecision.RETURN and not values.comments.strip():
        raise InvalidInputError(
            "comments_missing", "say why the programme is returned", loc=("body", "comments")
        )
    now = utcnow()
    review = ProgrammeReview(
        programme_id=programme.id,
        meeting_id=values.meeting_id,
        reviewer_id=reviewer_id,
        reviewer=actor,
        score=values.score,
        comments=values.comments,
        decision=values.decision,
        reviewed_at=now,
    )
    add_created(session, review, entity="conservation_review", actor=actor)
    with audited(session, programme, entity="conservation_programme", action="review", actor=actor):
        programme.status = (
            ProgrammeStatus.APPROVED
            if values.decision is ReviewDecision.APPROVE
            else ProgrammeStatus.RETURNED
        )
        programme.decided_at = now
        session.flush()
    session.refresh(programme, ["reviews"])
    return review


def delete_programme(session: Session, *, programme: ConservationProgramme, actor: str) -> None:
    """Remove a draft that was never submitted (409 for any other)."""
    if programme.status is not ProgrammeStatus.DRAFT:
        raise ConflictError(
            "programme_not_draft", "only a draft can be deleted", loc=("path", "programme_id")
        )
    record(
        session,
        actor=actor,
        action="delete",
        entity="conservation_programme",
        entity_id=programme.id,
        before={**snapshot(programme), **_content(programme)},
        after=None,
    )
    session.delete(programme)
    session.flush()

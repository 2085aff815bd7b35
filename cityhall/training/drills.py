"""Safety and disaster-prevention drills: the outcome (participants, evacuation time, findings) and the
follow-up actions the findings call for, until each is done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.audit import add_created, audited
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import ActionStatus, Building, Drill, DrillAction, User


@dataclass(frozen=True, slots=True)
class DrillOutcome:
    """What a drill showed."""

    title: str
    scenario: str
    held_at: datetime
    participants: int
    evacuation_s: int | None = None
    target_evacuation_s: int | None = None
    findings: str = ""
    building_id: int | None = None
    department_code: str | None = None


def record_drill(session: Session, *, outcome: DrillOutcome, actor: str) -> Drill:
    """Record a drill that took place; 422 naming the field on a bad building or a future date."""
    if outcome.held_at > utcnow():
        raise InvalidInputError("drill_in_future", "record a drill once it is held", loc=("body", "held_at"))
    if outcome.building_id is not None and session.get(Building, outcome.building_id) is None:
        raise InvalidInputError(
            "unknown_building", f"no building {outcome.building_id}", loc=("body", "building_id")
        )
    drill = Drill(
        title=outcome.title,
        scenario=outcome.scenario,
        held_at=outcome.held_at,
        building_id=outcome.building_id,
        department_code=outcome.department_code,
        participants=outcome.participants,
        evacuation_s=outcome.evacuation_s,
        target_evacuation_s=outcome.target_evacuation_s,
        findings=outcome.findings,
        recorded_by=actor,
        created_at=utcnow(),
    )
    add_created(session, drill, entity="training_drill", actor=actor)
    return drill


def get_drill(session: Session, drill_id: int) -> Drill:
    """A drill by id, or 404."""
    drill = session.get(Drill, drill_id)
    if drill is None:
        raise NotFoundError("drill_not_found", f"no drill {drill_id}", loc=("path", "drill_id"))
    return drill


def add_action(
    session: Session, *, drill: Drill, description: str, owner_id: int | None, due_on: date, actor: str
) -> DrillAction:
    """Add a follow-up action to a drill."""
    if owner_id is not None and session.get(User, owner_id) is None:
        raise InvalidInputError("unknown_user", f"no user {owner_id}", loc=("body", "owner_id"))
    action = DrillAction(
        drill_id=drill.id, description=description, owner_id=owner_id, due_on=due_on, status=ActionStatus.OPEN
    )
    add_created(session, action, entity="training_drill_action", actor=actor)
    session.refresh(drill, ["actions"])
    return action


def complete_action(
    session: Session, *, drill: Drill, action_id: int, outcome: str, actor: str
) -> DrillAction:
    """Mark a follow-up action done with what was done; 409 when it is done already."""
    action = session.get(DrillAction, action_id)
    if action is None or action.drill_id != drill.id:
        raise NotFoundError(
            "action_not_found", f"no action {action_id} on this drill", loc=("path", "action_id")
        )
    if action.status is ActionStatus.DONE:
        raise ConflictError("action_done", "the action is done already", loc=("path", "action_id"))
    with audited(session, action, entity="training_drill_action", action="complete", actor=actor):
        action.status = ActionStatus.DONE
        action.outcome = outcome
        action.done_at = utcnow()
        session.flush()
    return action


def open_actions(session: Session, *, overdue_on: date | None = None) -> list[DrillAction]:
    """Open follow-up actions by due date; only those due before `overdue_on` when given."""
    stmt = select(DrillAction).where(DrillAction.status == ActionStatus.OPEN).order_by(DrillAction.due_on)
    if overdue_on is not None:
        stmt = stmt.where(DrillAction.due_on < overdue_on)
    return list(session.scalars(stmt))

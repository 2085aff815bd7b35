"""The energy-conservation committee's meetings, their minutes, and the action items they assign.

A meeting is scheduled, then held (recording its minutes marks it held) or cancelled. An action item has an
owner (a user, or a name for someone without an account), a due date, and is open until marked done; it is
*overdue* while open after its due date (Asia/Taipei), which is derived, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityhall.audit import add_created, audited
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import CommitteeAction, CommitteeActionStatus, CommitteeMeeting, MeetingStatus, User

# --- meetings ---


@dataclass(frozen=True, slots=True)
class MeetingValues:
    """What a meeting is: title, start (timezone-aware), place and who attends."""

    title: str
    starts_at: datetime
    location: str = ""
    attendees: tuple[str, ...] = ()


def create_meeting(session: Session, *, values: MeetingValues, actor: str) -> CommitteeMeeting:
    """Schedule a meeting."""
    meeting = CommitteeMeeting(
        title=values.title,
        starts_at=values.starts_at,
        location=values.location,
        attendees=list(values.attendees),
        minutes="",
        status=MeetingStatus.SCHEDULED,
        created_by=actor,
        created_at=utcnow(),
    )
    add_created(session, meeting, entity="committee_meeting", actor=actor)
    return meeting


def get_meeting(
    session: Session, meeting_id: int, *, loc: tuple[str | int, ...] = ("path", "meeting_id")
) -> CommitteeMeeting:
    """A meeting by id; 404 (or 422 when `loc` points into a body) when there is none."""
    meeting = session.get(CommitteeMeeting, meeting_id)
    if meeting is None:
        error = NotFoundError if loc[0] == "path" else InvalidInputError
        raise error("meeting_not_found", f"no meeting {meeting_id}", loc=loc)
    return meeting


def update_meeting(
    session: Session,
    *,
    meeting: CommitteeMeeting,
    values: MeetingValues,
    status: MeetingStatus | None,
    actor: str,
) -> CommitteeMeeting:
    """Change a meeting's details, or cancel it; a cancelled meeting cannot change again (409)."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise ConflictError("meeting_cancelled", "the meeting is cancelled", loc=("path", "meeting_id"))
    if status is MeetingStatus.HELD and meeting.starts_at > utcnow():
        raise ConflictError(
            "meeting_not_started", "a meeting is held once it has started", loc=("body", "status")
        )
    with audited(session, meeting, entity="committee_meeting", action="update", actor=actor):
        meeting.title = values.title
        meeting.starts_at = values.starts_at
        meeting.location = values.location
        meeting.attendees = list(values.attendees)
        if status is not None:
            meeting.status = status
        session.flush()
    return meeting


def record_minutes(
    session: Session, *, meeting: CommitteeMeeting, minutes: str, actor: str
) -> CommitteeMeeting:
    """Record (or correct) a meeting's minutes; this marks it held. 409 if cancelled or not yet started."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise ConflictError("meeting_cancelled", "the meeting is cancelled", loc=("path", "meeting_id"))
    if meeting.starts_at > utcnow():
        raise ConflictError(
            "meeting_not_started",
            "minutes are recorded once the meeting has started",
            loc=("path", "meeting_id"),
        )
    with audited(session, meeting, entity="committee_meeting", action="minutes", actor=actor):
        meeting.minutes = minutes
        meeting.status = MeetingStatus.HELD
        session.flush()
    return meeting


# --- action items ---


@dataclass(frozen=True, slots=True)
class ActionValues:
    """What is to be done, by whom (a user id, or a name), by when."""

    description: str
    due_on: date
    owner_id: int | None = None
    owner_name: str = ""


def _owner_name(session: Session, values: ActionValues) -> str:
    if values.owner_id is not None:
        user = session.get(User, values.owner_id)
        if user is None:
            raise InvalidInputError("unknown_user", f"no user {values.owner_id}", loc=("body", "owner_id"))
        return values.owner_name.strip() or user.full_name
    if not values.owner_name.strip():
        raise InvalidInputError(
            "owner_missing", "give an owner_id or an owner_name", loc=("body", "owner_name")
        )
    return values.owner_name.strip()


def add_action(
    session: Session, *, meeting: CommitteeMeeting, values: ActionValues, actor: str
) -> CommitteeAction:
    """Assign an action item at a meeting (not at a cancelled one: 409)."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise ConflictError("meeting_cancelled", "the meeting is cancelled", loc=("path", "meeting_id"))
    action = CommitteeAction(
        meeting_id=meeting.id,
        description=values.description,
        owner_id=values.owner_id,
        owner_name=_owner_name(session, values),
        due_on=values.due_on,
        status=CommitteeActionStatus.OPEN,
        outcome="",
        created_at=utcnow(),
    )
    add_created(session, action, entity="committee_action", actor=actor)
    return action


def get_action(session: Session, action_id: int) -> CommitteeAction:
    """An action item by id, or 404."""
    action = session.get(CommitteeAction, action_id)
    if action is None:
        raise NotFoundError("action_not_found", f"no action item {action_id}", loc=("path", "action_id"))
    return action


def update_action(
    session: Session, *, action: CommitteeAction, values: ActionValues, actor: str
) -> CommitteeAction:
    """Change what an open action item asks, its owner or its due date; 409 once it is done."""
    if action.status is CommitteeActionStatus.DONE:
        raise ConflictError("action_done", "the action item is done already", loc=("path", "action_id"))
    owner_name = _owner_name(session, values)
    with audited(session, action, entity="committee_action", action="update", actor=actor):
        action.description = values.description
        action.owner_id = values.owner_id
        action.owner_name = owner_name
        action.due_on = values.due_on
        session.flush()
    return action


def complete_action(
    session: Session, *, action: CommitteeAction, outcome: str, actor: str
) -> CommitteeAction:
    """Mark an action item done with what was done; 409 when it is done already."""
    if action.status is CommitteeActionStatus.DONE:
        raise ConflictError("action_done", "the action item is done already", loc=("path", "action_id"))
    with audited(session, action, entity="committee_action", action="complete", actor=actor):
        action.status = CommitteeActionStatus.DONE
        action.outcome = outcome
        action.done_at = utcnow()
        session.flush()
    return action


def is_overdue(action: CommitteeAction, on: date) -> bool:
    """Open after its due date."""
    return action.status is CommitteeActionStatus.OPEN and action.due_on < on


def actions_query(
    *,
    meeting_id: int | None = None,
    status: CommitteeActionStatus | None = None,
    owner_id: int | None = None,
    overdue_on: date | None = None,
) -> Select[CommitteeAction]:
    """Action items by due date then id; `overdue_on` keeps those open and due before that day."""
    stmt = select(CommitteeAction).order_by(CommitteeAction.due_on, CommitteeAction.id)
    if meeting_id is not None:
        stmt = stmt.where(CommitteeAction.meeting_id == meeting_id)
    if status is not None:
        stmt = stmt.where(CommitteeAction.status == status)
    if owner_id is not None:
        stmt = stmt.where(CommitteeAction.owner_id == owner_id)
    if overdue_on is not None:
        stmt = stmt.where(
            CommitteeAction.status == CommitteeActionStatus.OPEN, CommitteeAction.due_on < overdue_on
        )
    return stmt

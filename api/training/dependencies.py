"""Dependencies of the training routes: the caller with their training access, and entities by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from api.deps import Principal, SessionDep, require_roles
from cityhall.models import Course, Drill, Role, TrainingSession
from cityhall.training import catalogue, drills
from cityhall.training.catalogue import TrainingAccess

# Everyone who works at city hall has a training record; services only send xAPI statements.
PEOPLE = (Role.STAFF, Role.FACILITY_MANAGER, Role.ENERGY_COMMITTEE, Role.MAINTENANCE_CREW, Role.AUDITOR)


@dataclass(frozen=True, slots=True)
class TrainingCaller:
    """A signed-in person and what the training module lets them do."""

    principal: Principal
    access: TrainingAccess

    @property
    def actor(self) -> str:
        """The audit log's name for the caller."""
        return self.principal.actor


def training_caller(
    principal: Annotated[Principal, Depends(require_roles(*PEOPLE))], session: SessionDep
) -> TrainingCaller:
    """The caller with their training access (duty from their staff profile; admins are officers)."""
    access = catalogue.access_for(session, user_id=principal.user_id, role=principal.role)
    return TrainingCaller(principal=principal, access=access)


def valid_session_id(session_id: int, session: SessionDep) -> TrainingSession:
    """The session in the path, or 404."""
    return catalogue.get_session(session, session_id)


def valid_course_id(course_id: int, session: SessionDep) -> Course:
    """The course in the path, or 404."""
    return catalogue.get_course(session, course_id)


def valid_drill_id(drill_id: int, session: SessionDep) -> Drill:
    """The drill in the path, or 404."""
    return drills.get_drill(session, drill_id)


Caller = Annotated[TrainingCaller, Depends(training_caller)]
ValidSession = Annotated[TrainingSession, Depends(valid_session_id)]
ValidCourse = Annotated[Course, Depends(valid_course_id)]
ValidDrill = Annotated[Drill, Depends(valid_drill_id)]

"""Dependencies for the dormitory routes: rooms, assignments and tasks by id, and the reading store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import SessionDep
from cityhall.errors import NotFoundError
from cityhall.models import DormAssignment, HousekeepingTask, VenueResource
from cityhall.settings import Settings
from cityhall.timeseries import ReadingStore, make_store
from cityhall.venues import dorms


def valid_room_id(room_id: int, session: SessionDep) -> VenueResource:
    """The dormitory room in the path, or 404."""
    return dorms.get_room(session, room_id, loc=("path", "room_id"))


def valid_assignment_id(assignment_id: int, session: SessionDep) -> DormAssignment:
    """The assignment in the path, or 404."""
    assignment = session.get(DormAssignment, assignment_id)
    if assignment is None:
        raise NotFoundError(
            "assignment_not_found", f"no assignment {assignment_id}", loc=("path", "assignment_id")
        )
    return assignment


def valid_task_id(task_id: int, session: SessionDep) -> HousekeepingTask:
    """The cleaning task in the path, or 404."""
    task = session.get(HousekeepingTask, task_id)
    if task is None:
        raise NotFoundError("task_not_found", f"no cleaning task {task_id}", loc=("path", "task_id"))
    return task


def reading_store(request: Request) -> ReadingStore:
    """The app's reading store (InfluxDB or the SQL table, as the settings say), made on first use."""
    state = request.app.state
    if getattr(state, "reading_store", None) is None:
        settings: Settings = state.settings
        state.reading_store = make_store(settings)
    store: ReadingStore = state.reading_store
    return store


ValidRoom = Annotated[VenueResource, Depends(valid_room_id)]
ValidAssignment = Annotated[DormAssignment, Depends(valid_assignment_id)]
ValidTask = Annotated[HousekeepingTask, Depends(valid_task_id)]
StoreDep = Annotated[ReadingStore, Depends(reading_store)]

"""Between the HTTP layer and cityhall.venues.dorms: how a room, a repair and occupancy are shown."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.dorms.schemas import OccupancyRead, OccupantRead, RepairRead, RoomRead
from cityhall.maintenance import OPEN_TICKET_STATUSES
from cityhall.models import DormRepair, Role, User, VenueResource
from cityhall.venues import dorms

# Who runs the dormitories: assigns rooms, plans cleaning, inspects, reports repairs, reads occupancy.
MANAGERS = (Role.FACILITY_MANAGER,)
# Who cleans (moves cleaning tasks): the managers and the maintenance crews.
HOUSEKEEPERS = (Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW)


def room_read(session: Session, room: VenueResource, *, on: date) -> RoomRead:
    """A room as the board and the API show it on a day."""
    occupants = dorms.occupants(session, room_id=room.id, on=on)
    names = {
        u.id: u.full_name
        for u in session.scalars(select(User).where(User.id.in_([a.user_id for a in occupants])))
    }
    repair = dorms.open_repair(session, room.id)
    task = dorms.latest_task(session, room.id)
    inspection = dorms.latest_inspection(session, room.id)
    return RoomRead(
        id=room.id,
        code=room.code,
        name=room.name,
        capacity_people=room.capacity_people,
        space_id=room.space_id,
        beds_taken=len(occupants),
        occupants=[
            OccupantRead(
                assignment_id=a.id,
                user_id=a.user_id,
                name=names.get(a.user_id, f"user {a.user_id}"),
                starts_on=a.starts_on,
                ends_on=a.ends_on,
            )
            for a in occupants
        ],
        blocked_by_ticket_id=repair.id if repair is not None else None,
        cleaning_status=task.status if task is not None else None,
        last_inspection_passed=inspection.passed if inspection is not None else None,
    )


def repair_read(repair: DormRepair) -> RepairRead:
    """A repair with its ticket's state."""
    return RepairRead(
        id=repair.id,
        room_id=repair.resource_id,
        ticket_id=repair.ticket_id,
        title=repair.ticket.title,
        ticket_status=repair.ticket.status,
        blocks_room=repair.ticket.status in OPEN_TICKET_STATUSES,
    )


def occupancy_read(session: Session, *, on: date) -> OccupancyRead:
    """Occupancy over every room on a day."""
    result = dorms.occupancy_on(session, on=on)
    return OccupancyRead(
        on=on, beds=result.beds, beds_taken=result.beds_taken, occupancy_pct=round(100 * result.rate, 1)
    )

"""Ticket queries, repair requests and lifecycle changes (through cityhall.maintenance, which audits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from api.assets.service import find_device
from api.deps import Principal
from api.exceptions import PermissionDeniedError
from api.tickets.schemas import NoteCreate, TicketCreate, TicketUpdate
from cityhall import maintenance
from cityhall.db import utcnow
from cityhall.errors import InvalidInputError, NotFoundError
from cityhall.models import (
    Crew,
    Device,
    Floor,
    Role,
    Space,
    Ticket,
    TicketNote,
    TicketPhoto,
    TicketPriority,
    TicketSource,
    TicketStatus,
)

# Roles that see every ticket; anyone else admitted to the ticket routes sees only the ones they reported.
SEES_ALL = frozenset(
    {Role.ADMIN, Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW, Role.ENERGY_COMMITTEE, Role.AUDITOR}
)


def list_query(
    *,
    statuses: Sequence[TicketStatus] = (),
    priority: TicketPriority | None = None,
    source: TicketSource | None = None,
    assignee_id: int | None = None,
    device_id: int | None = None,
    building_id: int | None = None,
    alarm_id: int | None = None,
    reported_by: str | None = None,
    overdue: bool | None = None,
    needs_confirmation: bool | None = None,
    crew_id: int | None = None,
    crew_scope: CrewScope | None = None,
) -> Select[Ticket]:
    """Tickets, newest first, with the given filters."""
    stmt = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if statuses:
        stmt = stmt.where(Ticket.status.in_(statuses))
    if priority is not None:
        stmt = stmt.where(Ticket.priority == priority)
    if source is not None:
        stmt = stmt.where(Ticket.source == source)
    if assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == assignee_id)
    if device_id is not None:
        stmt = stmt.where(Ticket.device_id == device_id)
    if building_id is not None:
        stmt = (
            stmt.join(Device, Ticket.device_id == Device.id)
            .join(Space, Device.space_id == Space.id)
            .join(Floor, Space.floor_id == Floor.id)
            .where(Floor.building_id == building_id)
        )
    if alarm_id is not None:
        stmt = stmt.where(Ticket.alarm_id == alarm_id)
    if reported_by is not None:
        stmt = stmt.where(Ticket.reported_by == reported_by)
    if overdue is not None:
        late = Ticket.status.in_(maintenance.OPEN_TICKET_STATUSES) & (Ticket.due_at < utcnow())
        stmt = stmt.where(late if overdue else ~late | Ticket.due_at.is_(None))
    if needs_confirmation is not None:
        stmt = stmt.where(Ticket.needs_confirmation.is_(needs_confirmation))
    if crew_id is not None:
        stmt = stmt.where(Ticket.crew_id == crew_id)
    if crew_scope is not None:
        stmt = stmt.where(
            or_(
                Ticket.assignee_id == crew_scope.user_id,
                Ticket.crew_id.in_(crew_scope.crew_ids),
                Ticket.crew_id.is_(None) & Ticket.assignee_id.is_(None),
            )
        )
    return stmt


@dataclass(frozen=True, slots=True)
class CrewScope:
    """A crew member's view: their own tickets, their crews' tickets and the unclaimed pool."""

    user_id: int
    crew_ids: frozenset[int]

    def admits(self, ticket: Ticket) -> bool:
        """True when the crew member may see the ticket."""
        if ticket.assignee_id == self.user_id or ticket.crew_id in self.crew_ids:
            return True
        return ticket.crew_id is None and ticket.assignee_id is None


def crew_scope_of(*, session: Session, principal: Principal) -> CrewScope | None:
    """The crew member's scope, or None for anyone else."""
    if principal.role is not Role.MAINTENANCE_CREW or principal.user_id is None:
        return None
    ids = maintenance.crew_ids_of(session, user_id=principal.user_id)
    return CrewScope(user_id=principal.user_id, crew_ids=frozenset(ids))


def visible_to(principal: Principal) -> str | None:
    """None when the caller sees every ticket, else the `reported_by` value their list is limited to."""
    return None if principal.role in SEES_ALL else principal.actor


def get(*, session: Session, ticket_id: int) -> Ticket:
    """A ticket by id, or 404."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError("ticket_not_found", f"no ticket {ticket_id}", loc=("path", "ticket_id"))
    return ticket


def ensure_readable(*, session: Session, ticket: Ticket, principal: Principal) -> None:
    """403 unless the caller sees every ticket or reported this one; crew see only their crews' tickets."""
    own = visible_to(principal)
    if own is not None and ticket.reported_by != own:
        raise PermissionDeniedError("not_your_ticket", f"ticket {ticket.id} was reported by someone else")
    scope = crew_scope_of(session=session, principal=principal)
    if scope is not None and not scope.admits(ticket):
        raise PermissionDeniedError("other_crews_ticket", f"ticket {ticket.id} belongs to another crew")


def create(*, session: Session, data: TicketCreate, actor: str) -> Ticket:
    """Open a ticket from a repair request; 422 naming `device_code` when no device has that code."""
    device = None
    if data.device_code is not None:
        device = find_device(session=session, code=data.device_code)
        if device is None:
            raise InvalidInputError(
                "unknown_device", f"no device with code {data.device_code}", loc=("body", "device_code")
            )
    return maintenance.open_request_ticket(
        session,
        title=data.title,
        description=data.description,
        priority=data.priority,
        device=device,
        actor=actor,
        trade=data.trade,
    )


def _ensure_may_change(*, session: Session, ticket: Ticket, data: TicketUpdate, principal: Principal) -> None:
    if principal.role in (Role.ADMIN, Role.FACILITY_MANAGER):
        return
    scope = crew_scope_of(session=session, principal=principal)
    mine = ticket.assignee_id == principal.user_id
    # A member of the ticket's crew may take a ticket no one on the crew has yet.
    crews = scope is not None and ticket.assignee_id is None and ticket.crew_id in scope.crew_ids
    if principal.role is Role.MAINTENANCE_CREW and (mine or crews):
        if data.crew_id is not None and data.crew_id != ticket.crew_id:
            raise PermissionDeniedError(
                "reassign_forbidden", "only a facility manager can reassign a ticket", loc=("body", "crew_id")
            )
        if data.assignee_id is not None and data.assignee_id != principal.user_id:
            raise PermissionDeniedError(
                "reassign_forbidden",
                "only a facility manager can reassign a ticket",
                loc=("body", "assignee_id"),
            )
        return
    raise PermissionDeniedError("not_assigned_to_you", f"ticket {ticket.id} is not assigned to you")


def update(*, session: Session, ticket: Ticket, data: TicketUpdate, principal: Principal) -> Ticket:
    """Assign and/or move a ticket; 403 for crew on others' tickets, 409 on a move the lifecycle forbids."""
    _ensure_may_change(session=session, ticket=ticket, data=data, principal=principal)
    if data.status is None and data.assignee_id is None and data.crew_id is None:
        raise InvalidInputError(
            "nothing_to_change", "give a status, an assignee_id, a crew_id, or several", loc=("body",)
        )
    assigned = False
    if data.crew_id is not None and data.crew_id != ticket.crew_id:
        crew = session.get(Crew, data.crew_id)
        if crew is None:
            raise NotFoundError("crew_not_found", f"no crew {data.crew_id}", loc=("body", "crew_id"))
        maintenance.assign_ticket_to_crew(session, ticket=ticket, crew=crew, actor=principal.actor)
        assigned = True
    if (
        principal.role is Role.MAINTENANCE_CREW
        and principal.user_id is not None
        and ticket.assignee_id is None
        and data.status is TicketStatus.IN_PROGRESS
    ):
        # A crew member starting a crew ticket takes it.
        maintenance.assign_ticket(
            session, ticket=ticket, assignee_id=principal.user_id, actor=principal.actor
        )
    if data.assignee_id is not None and data.assignee_id != ticket.assignee_id:
        maintenance.assign_ticket(session, ticket=ticket, assignee_id=data.assignee_id, actor=principal.actor)
        assigned = True
    # Assigning an open ticket already moves it to `assigned`; asking for that status too is not a conflict.
    if data.status is not None and not (assigned and data.status is ticket.status):
        maintenance.change_ticket_status(
            session,
            ticket=ticket,
            to=data.status,
            actor=principal.actor,
            note=data.note,
            hold_reason=data.hold_reason,
        )
    session.flush()
    return ticket


def add_note(*, session: Session, ticket: Ticket, data: NoteCreate, principal: Principal) -> TicketNote:
    """Add a work note; crew may write only on tickets they may change."""
    _ensure_may_change(session=session, ticket=ticket, data=TicketUpdate(), principal=principal)
    note = maintenance.add_note(
        session,
        ticket=ticket,
        author=principal.actor,
        text=data.text,
        time_spent_minutes=data.time_spent_minutes,
    )
    session.flush()
    return note


def notes(*, session: Session, ticket: Ticket) -> list[TicketNote]:
    """A ticket's notes, oldest first."""
    return list(
        session.scalars(
            select(TicketNote)
            .where(TicketNote.ticket_id == ticket.id)
            .order_by(TicketNote.created_at, TicketNote.id)
        )
    )


def add_photo(
    *, session: Session, ticket: Ticket, filename: str, content_type: str, data: bytes, principal: Principal
) -> TicketPhoto:
    """Attach a photo; crew only on tickets they may change."""
    _ensure_may_change(session=session, ticket=ticket, data=TicketUpdate(), principal=principal)
    photo = maintenance.add_photo(
        session, ticket=ticket, filename=filename, content_type=content_type, data=data, actor=principal.actor
    )
    session.flush()
    return photo


def photos(*, session: Session, ticket: Ticket) -> list[TicketPhoto]:
    """A ticket's photos, oldest first."""
    return list(
        session.scalars(
            select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id).order_by(TicketPhoto.id)
        )
    )


def get_photo(*, session: Session, ticket: Ticket, photo_id: int) -> TicketPhoto:
    """A photo of this ticket, or 404."""
    photo = session.get(TicketPhoto, photo_id)
    if photo is None or photo.ticket_id != ticket.id:
        raise NotFoundError(
            "photo_not_found", f"no photo {photo_id} on ticket {ticket.id}", loc=("path", "photo_id")
        )
    return photo

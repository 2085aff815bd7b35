"""Ticket queries, repair requests and lifecycle changes (through cityhall.maintenance, which audits)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.assets.service import find_device
from api.deps import Principal
from api.exceptions import PermissionDeniedError
from api.tickets.schemas import TicketCreate, TicketUpdate
from cityhall import maintenance
from cityhall.errors import InvalidInputError, NotFoundError
from cityhall.models import Device, Floor, Role, Space, Ticket, TicketPriority, TicketSource, TicketStatus

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
    return stmt


def visible_to(principal: Principal) -> str | None:
    """None when the caller sees every ticket, else the `reported_by` value their list is limited to."""
    return None if principal.role in SEES_ALL else principal.actor


def get(*, session: Session, ticket_id: int) -> Ticket:
    """A ticket by id, or 404."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError("ticket_not_found", f"no ticket {ticket_id}", loc=("path", "ticket_id"))
    return ticket


def ensure_readable(*, ticket: Ticket, principal: Principal) -> None:
    """403 unless the caller sees every ticket or reported this one."""
    own = visible_to(principal)
    if own is not None and ticket.reported_by != own:
        raise PermissionDeniedError("not_your_ticket", f"ticket {ticket.id} was reported by someone else")


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
    )


def _ensure_may_change(*, ticket: Ticket, data: TicketUpdate, principal: Principal) -> None:
    if principal.role in (Role.ADMIN, Role.FACILITY_MANAGER):
        return
    if principal.role is Role.MAINTENANCE_CREW and ticket.assignee_id == principal.user_id:
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
    _ensure_may_change(ticket=ticket, data=data, principal=principal)
    if data.status is None and data.assignee_id is None:
        raise InvalidInputError("nothing_to_change", "give a status, an assignee_id, or both", loc=("body",))
    assigned = False
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

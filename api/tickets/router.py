"""Tickets: repair requests from staff, work by the maintenance crew, oversight by facility managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from api.tickets import service
from api.tickets.dependencies import ValidTicket
from api.tickets.schemas import TicketCreate, TicketRead, TicketUpdate
from cityhall.models import Role, TicketPriority, TicketSource, TicketStatus

router = APIRouter(prefix="/tickets", tags=["tickets"])

_PEOPLE = (Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW, Role.ENERGY_COMMITTEE, Role.STAFF)
Reader = Annotated[Principal, Depends(require_roles(*_PEOPLE, Role.AUDITOR))]
Requester = Annotated[Principal, Depends(require_roles(*_PEOPLE))]
Worker = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW))]


@router.get("", response_model=Page[TicketRead])
def list_tickets(
    *,
    who: Reader,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[list[TicketStatus] | None, Query(alias="status")] = None,
    priority: TicketPriority | None = None,
    source: TicketSource | None = None,
    assignee_id: int | None = None,
    device_id: int | None = None,
    building_id: int | None = None,
    alarm_id: int | None = None,
) -> Page[TicketRead]:
    """Tickets, newest first; `status` may repeat. Staff see only the tickets they reported."""
    stmt = service.list_query(
        statuses=status_ or (),
        priority=priority,
        source=source,
        assignee_id=assignee_id,
        device_id=device_id,
        building_id=building_id,
        alarm_id=alarm_id,
        reported_by=service.visible_to(who),
    )
    return paginate(session, stmt, page, TicketRead.model_validate)


@router.get("/{ticket_id}", response_model=TicketRead)
def get_ticket(who: Reader, ticket: ValidTicket) -> TicketRead:
    """One ticket; staff may read only their own."""
    service.ensure_readable(ticket=ticket, principal=who)
    return TicketRead.model_validate(ticket)


@router.post("", response_model=TicketRead, status_code=status.HTTP_201_CREATED)
def create_ticket(who: Requester, data: TicketCreate, session: SessionDep) -> TicketRead:
    """File an online repair request; 422 naming `device_code` when the code is unknown."""
    return TicketRead.model_validate(service.create(session=session, data=data, actor=who.actor))


@router.patch("/{ticket_id}", response_model=TicketRead)
def update_ticket(who: Worker, ticket: ValidTicket, data: TicketUpdate, session: SessionDep) -> TicketRead:
    """Assign a ticket and/or move it along its lifecycle; crew may change only tickets assigned to them."""
    return TicketRead.model_validate(service.update(session=session, ticket=ticket, data=data, principal=who))

"""Tickets: repair requests from staff, work by the maintenance crew, oversight by facility managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from api.tickets import service
from api.tickets.dependencies import ValidTicket
from api.tickets.schemas import (
    NoteCreate,
    NoteRead,
    NotesRead,
    PhotoRead,
    TicketCreate,
    TicketRead,
    TicketUpdate,
)
from cityhall import maintenance
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
    crew_id: int | None = None,
    overdue: bool | None = None,
    needs_confirmation: bool | None = None,
) -> Page[TicketRead]:
    """Tickets, newest first; `status` may repeat; `overdue=true`: open past `due_at`.

    Staff see only the tickets they reported; crew members their own, their crews' and unclaimed ones.
    """
    stmt = service.list_query(
        statuses=status_ or (),
        priority=priority,
        source=source,
        assignee_id=assignee_id,
        device_id=device_id,
        building_id=building_id,
        alarm_id=alarm_id,
        reported_by=service.visible_to(who),
        crew_id=crew_id,
        overdue=overdue,
        needs_confirmation=needs_confirmation,
        crew_scope=service.crew_scope_of(session=session, principal=who),
    )
    return paginate(session, stmt, page, TicketRead.model_validate)


@router.get("/{ticket_id}", response_model=TicketRead)
def get_ticket(who: Reader, ticket: ValidTicket, session: SessionDep) -> TicketRead:
    """One ticket; staff may read only their own, crew not another crew's."""
    service.ensure_readable(session=session, ticket=ticket, principal=who)
    return TicketRead.model_validate(ticket)


@router.post("", response_model=TicketRead, status_code=status.HTTP_201_CREATED)
def create_ticket(who: Requester, data: TicketCreate, session: SessionDep) -> TicketRead:
    """File an online repair request; 422 naming `device_code` when the code is unknown."""
    return TicketRead.model_validate(service.create(session=session, data=data, actor=who.actor))


@router.patch("/{ticket_id}", response_model=TicketRead)
def update_ticket(who: Worker, ticket: ValidTicket, data: TicketUpdate, session: SessionDep) -> TicketRead:
    """Assign (crew and/or member) and/or move a ticket; crew change only their own or crew's tickets."""
    return TicketRead.model_validate(service.update(session=session, ticket=ticket, data=data, principal=who))


@router.get("/{ticket_id}/notes", response_model=NotesRead)
def list_notes(who: Reader, ticket: ValidTicket, session: SessionDep) -> NotesRead:
    """A ticket's work notes, oldest first, with the total time spent."""
    service.ensure_readable(session=session, ticket=ticket, principal=who)
    items = [NoteRead.model_validate(n) for n in service.notes(session=session, ticket=ticket)]
    return NotesRead(
        items=items, time_spent_minutes=maintenance.time_spent_minutes(session, ticket_id=ticket.id)
    )


@router.post("/{ticket_id}/notes", response_model=NoteRead, status_code=status.HTTP_201_CREATED)
def add_note(who: Worker, ticket: ValidTicket, data: NoteCreate, session: SessionDep) -> NoteRead:
    """Add a work note with the minutes spent."""
    return NoteRead.model_validate(service.add_note(session=session, ticket=ticket, data=data, principal=who))


@router.get("/{ticket_id}/photos", response_model=list[PhotoRead])
def list_photos(who: Reader, ticket: ValidTicket, session: SessionDep) -> list[PhotoRead]:
    """A ticket's photos (metadata), oldest first."""
    service.ensure_readable(session=session, ticket=ticket, principal=who)
    return [PhotoRead.model_validate(p) for p in service.photos(session=session, ticket=ticket)]


@router.post("/{ticket_id}/photos", response_model=PhotoRead, status_code=status.HTTP_201_CREATED)
async def upload_photo(
    who: Worker, ticket: ValidTicket, session: SessionDep, file: Annotated[UploadFile, File()]
) -> PhotoRead:
    """Upload a photo (multipart field `file`): JPEG, PNG, GIF or WebP; 413 over 5 MB, 415 not an image."""
    data = await file.read(maintenance.PHOTO_MAX_BYTES + 1)
    photo = service.add_photo(
        session=session,
        ticket=ticket,
        filename=file.filename or "photo",
        content_type=file.content_type or "",
        data=data,
        principal=who,
    )
    return PhotoRead.model_validate(photo)


@router.get("/{ticket_id}/photos/{photo_id}", response_class=Response)
def download_photo(who: Reader, ticket: ValidTicket, photo_id: int, session: SessionDep) -> Response:
    """The photo's bytes with its content type."""
    service.ensure_readable(session=session, ticket=ticket, principal=who)
    photo = service.get_photo(session=session, ticket=ticket, photo_id=photo_id)
    disposition = f'inline; filename="{photo.filename.replace(chr(34), "")}"'
    return Response(photo.data, media_type=photo.content_type, headers={"Content-Disposition": disposition})

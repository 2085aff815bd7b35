"""Dependencies that resolve ticket ids in the path or fail with 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import SessionDep
from api.tickets import service
from cityhall.models import Ticket


def valid_ticket_id(ticket_id: int, session: SessionDep) -> Ticket:
    """The ticket in the path; 404 naming the id otherwise."""
    return service.get(session=session, ticket_id=ticket_id)


ValidTicket = Annotated[Ticket, Depends(valid_ticket_id)]

"""The collector's dead letters: messages it could not turn into readings (facility managers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.collector import service
from api.collector.schemas import DeadLetterRead
from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from cityhall.models import Role

router = APIRouter(tags=["collector"])

Reader = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER))]


@router.get("/dead-letters", response_model=Page[DeadLetterRead])
def list_dead_letters(
    *, _who: Reader, session: SessionDep, page: PageDep, topic: str | None = None, device: str | None = None
) -> Page[DeadLetterRead]:
    """Refused messages, newest first, with the reason and the payload as text."""
    stmt = service.dead_letters_query(topic=topic, device=device)
    return paginate(session, stmt, page, DeadLetterRead.from_row)

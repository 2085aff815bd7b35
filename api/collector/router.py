"""The collector's dead letters: messages it could not turn into readings (facility managers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.collector import service
from api.collector.schemas import DeadLetterRead, QuarantinedDeviceRead
from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from cityhall.models import DeadLetterCategory, Role

router = APIRouter(tags=["collector"])

Reader = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER))]


@router.get("/dead-letters", response_model=Page[DeadLetterRead])
def list_dead_letters(
    *,
    _who: Reader,
    session: SessionDep,
    page: PageDep,
    topic: str | None = None,
    device: str | None = None,
    category: DeadLetterCategory | None = None,
) -> Page[DeadLetterRead]:
    """Refused messages, newest first, with the reason and the payload as text."""
    stmt = service.dead_letters_query(topic=topic, device=device, category=category)
    return paginate(session, stmt, page, DeadLetterRead.from_row)


@router.get("/quarantine", response_model=Page[QuarantinedDeviceRead])
def list_quarantine(*, _who: Reader, session: SessionDep, page: PageDep) -> Page[QuarantinedDeviceRead]:
    """Unknown device codes heard on the wire: register one and its kept messages are replayed."""
    return paginate(
        session, service.quarantine_query(), page, QuarantinedDeviceRead.from_row, whole_rows=True
    )

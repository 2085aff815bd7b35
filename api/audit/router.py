"""The audit log (admins and auditors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.audit import service
from api.audit.schemas import AuditEntryRead
from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from cityhall.models import Role

router = APIRouter(tags=["audit"])

Reader = Annotated[Principal, Depends(require_roles(Role.AUDITOR))]


@router.get("/audit", response_model=Page[AuditEntryRead])
def list_audit(
    *,
    _who: Reader,
    session: SessionDep,
    page: PageDep,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
) -> Page[AuditEntryRead]:
    """Writes, newest first; filter by entity (e.g. `ticket`), entity_id and actor (e.g. `user:alice`)."""
    stmt = service.list_query(entity=entity, entity_id=entity_id, actor=actor)
    return paginate(session, stmt, page, AuditEntryRead.model_validate)

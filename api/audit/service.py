"""Queries over the audit log."""

from __future__ import annotations

from sqlalchemy import Select, select

from cityhall.models import AuditEntry


def list_query(
    *, entity: str | None = None, entity_id: str | None = None, actor: str | None = None
) -> Select[AuditEntry]:
    """Audit entries, newest first, with the given filters."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    return stmt

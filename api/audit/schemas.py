"""Audit log schemas."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict


class AuditEntryRead(BaseModel):
    """One write: who, what, when, and the entity before and after."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: AwareDatetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

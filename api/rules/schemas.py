"""Rule schemas: a rule travels as the same mapping a rules file holds under `rules:`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel


class RuleSource(StrEnum):
    """Where a rule is defined, and so how it is changed."""

    FILE = "file"  # the rules file (CITYHALL_RULES_FILE or the shipped defaults): edit the file
    API = "api"  # the database: change it through this API


class RuleRead(BaseModel):
    """A rule and where it comes from."""

    key: str
    name: str
    kind: str
    enabled: bool
    source: RuleSource
    definition: dict[str, Any]
    version: int | None = None
    updated_at: AwareDatetime | None = None
    updated_by: str | None = None


class ScheduleRead(BaseModel):
    """A named schedule of the rules file, as written there."""

    name: str
    definition: dict[str, Any]

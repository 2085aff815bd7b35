"""Alarm schemas; `threshold` and `trigger_value` are in `unit` (the quantity's unit)."""

from __future__ import annotations

from pydantic import AliasPath, AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.models import AlarmState, Severity


class AlarmRead(BaseModel):
    """A rule's finding on a device, from raise to clear."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_key: str
    rule_name: str
    device_id: int
    device_code: str = Field(
        validation_alias=AliasPath("device", "code"), description="Device code on the wire"
    )
    state: AlarmState
    severity: Severity
    quantity: str
    unit: str
    threshold: float
    trigger_value: float
    message: str
    condition_since: AwareDatetime
    raised_at: AwareDatetime
    acknowledged_at: AwareDatetime | None
    acknowledged_by: str | None
    cleared_at: AwareDatetime | None
    lifecycle: str = Field(description="raised, acknowledged, cleared or closed")
    closed_at: AwareDatetime | None
    closed_by: str | None
    escalation_level: int
    escalated_at: AwareDatetime | None


class ShelveRequest(BaseModel):
    """Shelve an alarm's (rule, device) pair during maintenance."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


class ShelfCreate(ShelveRequest):
    """Shelve a (rule, device) pair before any alarm is raised."""

    rule_key: str = Field(min_length=1, max_length=64)
    device_id: int


class ShelfRead(BaseModel):
    """A shelf: while `until` is ahead and it has not ended, the pair raises no alarm."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_key: str
    device_id: int
    alarm_id: int | None
    until: AwareDatetime
    reason: str
    created_by: str
    created_at: AwareDatetime
    ended_at: AwareDatetime | None
    ended_by: str | None

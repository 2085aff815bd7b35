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

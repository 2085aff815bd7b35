"""Asset register schemas: sites, buildings, floors, spaces, devices; areas in m2."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from cityhall.contract import PayloadFormat
from cityhall.models import BuildingUse, DeviceKind, SpaceKind
from cityhall.reporting import FlowSemantics, ReportingMode, effective


class SiteRead(BaseModel):
    """A campus or address."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    address: str
    latitude: float | None
    longitude: float | None


class BuildingRead(BaseModel):
    """A building on a site."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    code: str
    name: str
    use: BuildingUse
    gross_floor_area_m2: float
    year_built: int | None


class SiteDetail(SiteRead):
    """A site with its buildings."""

    buildings: list[BuildingRead]


class FloorRead(BaseModel):
    """A storey; level 0 is the ground floor."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    building_id: int
    level: int
    name: str
    area_m2: float


class BuildingDetail(BuildingRead):
    """A building with its floors, lowest first."""

    floors: list[FloorRead]


class SpaceRead(BaseModel):
    """A room or zone on a floor."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    floor_id: int
    code: str
    name: str
    kind: SpaceKind
    area_m2: float
    capacity_people: int | None


class DeviceRead(BaseModel):
    """A meter or sensor; `code` is its id on the MQTT wire."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: DeviceKind
    space_id: int
    quantities: list[str]
    serves: str
    is_active: bool
    payload_format: PayloadFormat
    declared_reporting: dict[str, Any] = Field(
        validation_alias="reporting",
        description="What the register says of how it reports, beyond its kind's and family's defaults.",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reporting(self) -> ReportingRead:
        """How the device reports: its kind's defaults, its payload family's, then the register's word."""
        r = effective(self.kind, self.payload_format, self.declared_reporting, tuple(self.quantities))
        return ReportingRead(mode=r.mode, interval_s=r.interval_s, resolution=dict(r.resolution), flow=r.flow)


class ReportingRead(BaseModel):
    """A device's effective reporting semantics (docs/assets.md, "How devices report")."""

    mode: ReportingMode = Field(description="periodic, or on_change with a heartbeat")
    interval_s: float | None = Field(description="period or heartbeat in s; null when learnt from the gaps")
    resolution: dict[str, float] = Field(description="quantity -> step in its unit; absent: continuous")
    flow: FlowSemantics = Field(description="instantaneous, or the mean since the previous reading")


class EntityCountsRead(BaseModel):
    """Rows created, updated and unchanged for one kind of entity."""

    model_config = ConfigDict(from_attributes=True)

    created: int
    updated: int
    unchanged: int


class ImportSummaryRead(BaseModel):
    """What an import did: totals, and counts per entity kind (site, building, floor, space, device)."""

    model_config = ConfigDict(from_attributes=True)

    created: int
    updated: int
    unchanged: int
    counts: dict[str, EntityCountsRead]

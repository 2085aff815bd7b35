"""Asset register schemas: sites, buildings, floors, spaces, devices; areas in m2."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from cityhall.models import BuildingUse, DeviceKind, SpaceKind


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

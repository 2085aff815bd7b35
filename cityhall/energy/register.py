"""The meters, buildings and departments the energy figures are about, taken from the asset register."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cityhall.assets import AssetDocument, DeviceSpec, load_csv, load_yaml, seed_path
from cityhall.models.assets import DeviceKind, SpaceKind
from cityhall.settings import Settings

WHOLE_BUILDING = "whole building"
# People who work or live in a building; halls and lobbies hold visitors, who are not its occupants.
_OCCUPIED_SPACE_KINDS = frozenset({SpaceKind.OFFICE, SpaceKind.DORMITORY_ROOM})


class Area(StrEnum):
    """A resource the energy committee tracks from meters (paper and some fuel are entered monthly)."""

    ELECTRICITY = "electricity"
    WATER = "water"
    FUEL = "fuel"
    SOLAR = "solar"


@dataclass(frozen=True, slots=True)
class AreaMeasure:
    """Where an area's register lives: the device kind, the InfluxDB measurement and its unit."""

    kind: DeviceKind
    measurement: str
    unit: str


AREA_MEASURES: dict[Area, AreaMeasure] = {
    Area.ELECTRICITY: AreaMeasure(DeviceKind.ELECTRICITY_METER, "energy_kwh", "kWh"),
    Area.WATER: AreaMeasure(DeviceKind.WATER_METER, "volume_m3", "m3"),
    Area.FUEL: AreaMeasure(DeviceKind.FUEL_METER, "volume_m3", "m3"),
    Area.SOLAR: AreaMeasure(DeviceKind.SOLAR_INVERTER, "energy_kwh", "kWh"),
}
_AREA_OF_KIND = {measure.kind: area for area, measure in AREA_MEASURES.items()}


@dataclass(frozen=True, slots=True)
class Meter:
    """A real meter with a cumulative register, and where it sits."""

    code: str
    area: Area
    site: str
    building: str
    space: str
    serves: str

    @property
    def is_main(self) -> bool:
        """True for a building's incomer (it serves the whole building, so sub-meters are inside it)."""
        return self.serves.strip().lower() == WHOLE_BUILDING


@dataclass(frozen=True, slots=True)
class VirtualMeter:
    """A meter computed as sum(plus) - sum(minus) of real meters of one area."""

    code: str
    name: str
    area: Area
    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildingInfo:
    """The figures EnPIs divide by: floor area and occupants."""

    code: str
    site: str
    name: str
    use: str
    gross_floor_area_m2: float
    occupants: int


@dataclass(frozen=True, slots=True)
class Department:
    """A department and the area it occupies per building (m2), for allocating building consumption."""

    code: str
    name: str
    area_m2_by_building: dict[str, float]


@dataclass(frozen=True, slots=True)
class MeterRegister:
    """Everything the energy figures need from the asset register, indexed for lookups."""

    meters: dict[str, Meter]
    virtual_meters: dict[str, VirtualMeter] = field(default_factory=dict)
    buildings: dict[str, BuildingInfo] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)

    def of_area(self, area: Area) -> list[Meter]:
        """Real meters of one area, by code."""
        return sorted((m for m in self.meters.values() if m.area is area), key=lambda m: m.code)

    def building_meters(self, building: str, area: Area) -> list[Meter]:
        """The meters whose sum is the building's consumption: its main meters, else all its meters."""
        mine = [m for m in self.of_area(area) if m.building == building]
        main = [m for m in mine if m.is_main]
        return main or mine

    def space_meters(self, space: str, area: Area) -> list[Meter]:
        """Sub-meters located in a space (a main meter in a plant room serves the building, not the room)."""
        return [m for m in self.of_area(area) if m.space == space and not m.is_main]

    def site_buildings(self, site: str) -> list[str]:
        """Codes of the buildings on a site."""
        return sorted(code for code, b in self.buildings.items() if b.site == site)


def register_from_document(doc: AssetDocument) -> MeterRegister:
    """Build the energy view of a validated asset document."""
    meters: dict[str, Meter] = {}
    space_area: dict[str, tuple[str, float]] = {}
    occupants: dict[str, int] = {}
    for site in doc.sites:
        for building in site.buildings:
            occupants.setdefault(building.code, 0)
            for floor in building.floors:
                for space in floor.spaces:
                    space_area[space.code] = (building.code, space.area_m2)
                    if space.kind in _OCCUPIED_SPACE_KINDS:
                        occupants[building.code] += space.capacity_people or 0
                    meters.update(_space_meters(site.code, building.code, space.code, space.devices))
    buildings = {
        b.code: BuildingInfo(b.code, s.code, b.name, str(b.use), b.gross_floor_area_m2, occupants[b.code])
        for s in doc.sites
        for b in s.buildings
    }
    virtual = {
        v.code: VirtualMeter(v.code, v.name, _AREA_OF_KIND[v.kind], v.plus, v.minus)
        for v in doc.virtual_meters
    }
    departments = {}
    for dep in doc.departments:
        shares: dict[str, float] = {}
        for code in dep.spaces:
            holder, area_m2 = space_area[code]
            shares[holder] = shares.get(holder, 0.0) + area_m2
        departments[dep.code] = Department(dep.code, dep.name, shares)
    return MeterRegister(meters, virtual, buildings, departments)


def _space_meters(site: str, building: str, space: str, devices: Iterable[DeviceSpec]) -> dict[str, Meter]:
    return {
        d.code: Meter(d.code, _AREA_OF_KIND[d.kind], site, building, space, d.serves)
        for d in devices
        if d.kind in _AREA_OF_KIND
    }


_LOADED: dict[tuple[Path, float], MeterRegister] = {}


def configured_register(settings: Settings) -> MeterRegister:
    """The energy view of the asset document named by CITYHALL_ASSET_REGISTER_FILE (the seed when empty),
    read again when the file changes. Raises AssetImportError naming the file and line if it is invalid."""
    path = Path(settings.asset_register_file) if settings.asset_register_file else seed_path()
    key = (path.resolve(), path.stat().st_mtime)
    if key not in _LOADED:
        doc = load_csv(path) if path.suffix.lower() == ".csv" else load_yaml(path)
        _LOADED.clear()
        _LOADED[key] = register_from_document(doc)
    return _LOADED[key]

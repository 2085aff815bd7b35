"""Where simulated devices come from: the asset register in the database, an asset document, or a synthesized
fleet of any size for load tests (devices that are in no register, so a collector dead-letters them)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from cityhall.assets import DEVICE_QUANTITIES, AssetDocument, load_csv, load_yaml
from cityhall.contract import PayloadFormat
from cityhall.db import make_engine, make_sessionmaker
from cityhall.models import BuildingUse, Device, DeviceKind, Floor, Space, SpaceKind
from cityhall.reporting import ReportingSpec, effective
from cityhall.settings import Settings
from simulators.devices import MeterRole, SimulatedDevice, meter_role

_SPACE_SIZED = {
    DeviceKind.AIR_CONDITIONER,
    DeviceKind.CLIMATE_SENSOR,
    DeviceKind.OCCUPANCY_SENSOR,
    DeviceKind.SOLAR_INVERTER,
    DeviceKind.CONTACT_SENSOR,
}
_METER_KINDS = frozenset({DeviceKind.ELECTRICITY_METER, DeviceKind.WATER_METER, DeviceKind.FUEL_METER})
_PEOPLE_PER_M2 = 0.1  # a space with no stated capacity holds one person per 10 m2


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device as the register describes it, with the areas that size its model."""

    code: str
    kind: DeviceKind
    serves: str
    site: str
    building: str
    space: str
    use: BuildingUse
    building_area_m2: float
    floor_area_m2: float
    space_area_m2: float
    capacity_people: int | None
    space_kind: SpaceKind | None = None  # None for synthesized fleets
    payload_format: PayloadFormat = PayloadFormat.NATIVE
    reporting: ReportingSpec = field(default_factory=ReportingSpec)  # the register's word beyond the defaults


def _beds(records: list[DeviceRecord]) -> dict[str, int]:
    """Beds per dormitory building: its dormitory rooms' capacity (every space's, when kinds are unknown)."""
    capacity: dict[tuple[str, str], int] = {}
    for r in records:
        if r.use is BuildingUse.DORMITORY and r.space_kind in {SpaceKind.DORMITORY_ROOM, None}:
            people = r.capacity_people or max(1, int(r.space_area_m2 * _PEOPLE_PER_M2))
            capacity[r.building, r.space] = people
    beds: dict[str, int] = {}
    for (building, _space), people in capacity.items():
        beds[building] = beds.get(building, 0) + people
    return beds


def simulated(records: Iterable[DeviceRecord], *, seed: int) -> list[SimulatedDevice]:
    """One simulated device per record, sorted by code; each gets its own random stream from the seed."""
    records = sorted(records, key=lambda r: r.code)
    spaces_with_ac = {r.space for r in records if r.kind is DeviceKind.AIR_CONDITIONER}
    beds = _beds(records)
    out = []
    for r in records:
        role = meter_role(r.serves) if r.kind in _METER_KINDS else MeterRole.GENERAL
        if r.kind in _SPACE_SIZED:
            area = r.space_area_m2
        elif role in {MeterRole.MAIN, MeterRole.HVAC, MeterRole.WATER_HEATER} or "whole" in r.serves.lower():
            area = r.building_area_m2
        else:
            area = r.floor_area_m2
        device = SimulatedDevice(
            code=r.code,
            kind=r.kind,
            site=r.site,
            building=r.building,
            space=r.space,
            use=r.use,
            served_area_m2=area,
            capacity_people=r.capacity_people or max(1, int(r.space_area_m2 * _PEOPLE_PER_M2)),
            rng=random.Random(f"{seed}:{r.code}"),  # noqa: S311 - simulation, not security
            role=role,
            space_has_ac=r.space in spaces_with_ac,
            space_kind=r.space_kind,
            building_beds=beds.get(r.building, 0),
            payload_format=r.payload_format,
            register_reporting=r.reporting,
            reporting=effective(r.kind, r.payload_format, r.reporting, DEVICE_QUANTITIES[r.kind]),
        )
        device.start_registers()
        out.append(device)
    return out


def records_from_register(session: Session) -> list[DeviceRecord]:
    """Every active device in the asset register."""
    stmt = (
        select(Device)
        .options(joinedload(Device.space).joinedload(Space.floor).joinedload(Floor.building))
        .where(Device.is_active.is_(True))
        .order_by(Device.code)
    )
    out = []
    for device in session.scalars(stmt):
        space = device.space
        floor = space.floor
        building = floor.building
        out.append(
            DeviceRecord(
                code=device.code,
                kind=device.kind,
                serves=device.serves,
                site=building.site.code,
                building=building.code,
                space=space.code,
                use=building.use,
                building_area_m2=building.gross_floor_area_m2,
                floor_area_m2=floor.area_m2,
                space_area_m2=space.area_m2,
                capacity_people=space.capacity_people,
                space_kind=space.kind,
                payload_format=device.payload_format,
                reporting=ReportingSpec.model_validate(device.reporting or {}),
            )
        )
    return out


def records_from_document(doc: AssetDocument) -> list[DeviceRecord]:
    """Every device in an asset document (e.g. the seed register), without a database."""
    return [
        DeviceRecord(
            code=device.code,
            kind=device.kind,
            serves=device.serves,
            site=site.code,
            building=building.code,
            space=space.code,
            use=building.use,
            building_area_m2=building.gross_floor_area_m2,
            floor_area_m2=floor.area_m2,
            space_area_m2=space.area_m2,
            capacity_people=space.capacity_people,
            space_kind=space.kind,
            payload_format=device.payload_format,
            reporting=device.reporting,
        )
        for site, building, floor, space, device in doc.devices()
    ]


class ScaleSpec(BaseModel):
    """A synthesized fleet: `buildings` buildings of `devices_per_building` devices each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    buildings: int = Field(ge=1, le=10_000)
    devices_per_building: int = Field(ge=1, le=1_000)
    dormitory_pct: float = Field(20.0, ge=0, le=100, description="share of buildings that are dormitories")


# One floor's worth of devices, repeated up the building after the building-level ones.
_BUILDING_DEVICES: tuple[tuple[str, DeviceKind, str], ...] = (
    ("EM-MAIN", DeviceKind.ELECTRICITY_METER, "whole building"),
    ("EM-HVAC", DeviceKind.ELECTRICITY_METER, "HVAC chillers"),
    ("WM-MAIN", DeviceKind.WATER_METER, "whole building"),
    ("PV", DeviceKind.SOLAR_INVERTER, "rooftop PV array"),
)
_FLOOR_DEVICES: tuple[tuple[str, DeviceKind, str], ...] = (
    ("EM", DeviceKind.ELECTRICITY_METER, "power and sockets"),
    ("EM-LT", DeviceKind.ELECTRICITY_METER, "lighting"),
    ("AC-1", DeviceKind.AIR_CONDITIONER, ""),
    ("CS-1", DeviceKind.CLIMATE_SENSOR, ""),
    ("OS-1", DeviceKind.OCCUPANCY_SENSOR, ""),
    ("DC-1", DeviceKind.CONTACT_SENSOR, "window"),
    ("AC-2", DeviceKind.AIR_CONDITIONER, ""),
    ("CS-2", DeviceKind.CLIMATE_SENSOR, ""),
    ("WM", DeviceKind.WATER_METER, "restrooms"),
    ("DC-2", DeviceKind.CONTACT_SENSOR, "door"),
)
_SYNTH_FLOOR_M2 = 1200.0
_SYNTH_SPACE_M2 = 300.0


def records_synthesized(scale: ScaleSpec) -> list[DeviceRecord]:
    """A fleet of `scale.buildings` look-alike buildings, codes `SIM-B0001-...`, for load tests."""
    out = []
    dorm_every = round(100 / scale.dormitory_pct) if scale.dormitory_pct else 0
    for b in range(1, scale.buildings + 1):
        building = f"SIM-B{b:04d}"
        use = BuildingUse.DORMITORY if dorm_every and b % dorm_every == 0 else BuildingUse.OFFICE
        floors = max(1, -(-(scale.devices_per_building - len(_BUILDING_DEVICES)) // len(_FLOOR_DEVICES)))
        templates = [(f"{suffix}", kind, serves, 0) for suffix, kind, serves in _BUILDING_DEVICES]
        templates += [
            (f"{floor + 1}F-{suffix}", kind, serves, floor)
            for floor in range(floors)
            for suffix, kind, serves in _FLOOR_DEVICES
        ]
        for suffix, kind, serves, floor in templates[: scale.devices_per_building]:
            out.append(
                DeviceRecord(
                    code=f"{building}-{suffix}",
                    kind=kind,
                    serves=serves,
                    site="SIM",
                    building=building,
                    space=f"{building}-{floor + 1}F",
                    use=use,
                    building_area_m2=_SYNTH_FLOOR_M2 * floors,
                    floor_area_m2=_SYNTH_FLOOR_M2,
                    space_area_m2=_SYNTH_SPACE_M2,
                    capacity_people=None,
                )
            )
    return out


def devices_for(
    *, scale: ScaleSpec | None, seed: int, settings: Settings, register: Path | None = None
) -> list[SimulatedDevice]:
    """A scenario's devices: synthesized for `scale`, else from an asset file, else from the database."""
    if scale is not None:
        return simulated(records_synthesized(scale), seed=seed)
    if register is not None:
        doc = load_csv(register) if register.suffix.lower() == ".csv" else load_yaml(register)
        return simulated(records_from_document(doc), seed=seed)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return simulated(records_from_register(session), seed=seed)
    finally:
        engine.dispose()

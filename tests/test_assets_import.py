"""The asset-register import: the shipped seed, error messages that point at the line, idempotency, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.assets import (
    DEVICE_QUANTITIES,
    AssetDocument,
    AssetImportError,
    ImportSummary,
    import_assets,
    load_csv,
    load_yaml,
    seed_path,
)
from cityhall.contract import QUANTITIES
from cityhall.db import Base, make_engine, make_sessionmaker, transaction
from cityhall.models.assets import Building, BuildingUse, Device, DeviceKind, Floor, Site, Space, SpaceKind
from cityhall.models.audit import AuditEntry

SMALL_YAML = """\
sites:
  - code: T1
    name: Test Civic Center
    address: No. 1, Test Rd.
    latitude: 23.0
    longitude: 120.2
    buildings:
      - code: T1-A
        name: Test Building
        use: office
        gross_floor_area_m2: 1000
        year_built: 2001
        floors:
          - level: 0
            name: 1F
            area_m2: 500
            spaces:
              - code: T1-A-1F-OFF
                name: Office
                kind: office
                area_m2: 200
                capacity_people: 20
                devices:
                  - {code: T1-A-EM-MAIN, name: Main meter, kind: electricity_meter, serves: whole building}
                  - {code: T1-A-1F-CS-01, name: Office climate, kind: climate_sensor}
              - code: T1-A-1F-MR
                name: Meeting room
                kind: meeting_room
                area_m2: 50
                devices:
                  - {code: T1-A-1F-OS-01, name: People counter, kind: occupancy_sensor}
"""

CSV_HEADER = (
    "site_code,site_name,building_code,building_name,building_use,building_area_m2,floor_level,floor_name,"
    "floor_area_m2,space_code,space_name,space_kind,space_area_m2,device_code,device_name,device_kind\n"
)
CSV_PREFIX = "T1,Test,T1-A,Test Building,office,1000,"


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A fresh SQLite register in a temporary file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'register.db'}")
    Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write a document into the test's directory."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing `fragment`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return hits[occurrence - 1]


def run_import(factory: sessionmaker[Session], doc: AssetDocument) -> ImportSummary:
    """Import in one committed transaction, as the CLI does."""
    with transaction(factory) as session:
        return import_assets(session, doc, actor="facility.manager")


def test_every_device_kind_measures_catalogued_quantities() -> None:
    assert set(DEVICE_QUANTITIES) == set(DeviceKind)
    for kind, keys in DEVICE_QUANTITIES.items():
        assert keys, kind
        assert set(keys) <= QUANTITIES.keys()
    assert DEVICE_QUANTITIES[DeviceKind.ELECTRICITY_METER] == ("power_kw", "energy_kwh")
    assert DEVICE_QUANTITIES[DeviceKind.AIR_CONDITIONER] == ("on_state", "setpoint_c", "power_kw")


def test_seed_loads_and_imports(factory: sessionmaker[Session]) -> None:
    doc = load_yaml(seed_path())
    summary = run_import(factory, doc)

    assert {e: c.created for e, c in summary.counts.items()} == {
        "site": 2,
        "building": 3,
        "floor": 26,
        "space": 136,
        "device": 246,
    }
    assert summary.updated == 0
    with factory() as session:
        per_building = dict(
            session.execute(
                select(Building.code, func.count(Device.id))
                .join(Floor, Floor.building_id == Building.id)
                .join(Space, Space.floor_id == Floor.id)
                .join(Device, Device.space_id == Space.id)
                .group_by(Building.code)
            ).all()
        )
        assert set(per_building) == {"YH-A", "MZ-A", "MZ-DORM"}
        assert all(count >= 36 for count in per_building.values()), per_building

        main = session.scalars(select(Device).where(Device.code == "YH-A-EM-MAIN")).one()
        assert main.kind is DeviceKind.ELECTRICITY_METER
        assert main.quantities == ["power_kw", "energy_kwh"]
        assert main.serves == "whole building"
        assert main.space.kind is SpaceKind.PLANT_ROOM

        climate = session.scalars(select(Device).where(Device.code == "YH-A-3F-CS-01")).one()
        assert climate.kind is DeviceKind.CLIMATE_SENSOR
        assert climate.space.kind is SpaceKind.OFFICE
        assert climate.space.floor.level == 2  # 3F: level 0 is the ground floor
        assert climate.space.floor.building.site.code == "YH"

        dorm_meter = session.scalars(select(Device).where(Device.code == "MZ-DORM-EM-MAIN")).one()
        dorm = dorm_meter.space.floor.building
        assert dorm.use is BuildingUse.DORMITORY
        assert dorm.site.code == "MZ"
        assert dorm_meter.serves == "whole building"
        room_kinds = {space.kind for floor in dorm.floors for space in floor.spaces}
        assert SpaceKind.DORMITORY_ROOM in room_kinds

        yonghua = session.scalars(select(Site).where(Site.code == "YH")).one()
        assert yonghua.latitude == pytest.approx(22.992)
        assert "Yonghua Rd." in yonghua.address
        assert set(session.scalars(select(Device.kind).distinct())) == set(DeviceKind)
        assert session.scalar(select(func.count(AuditEntry.id))) == summary.created


def test_second_import_changes_nothing(factory: sessionmaker[Session]) -> None:
    doc = load_yaml(seed_path())
    first = run_import(factory, doc)
    with factory() as session:
        audit_rows = session.scalar(select(func.count(AuditEntry.id)))

    second = run_import(factory, load_yaml(seed_path()))

    assert second.created == 0
    assert second.updated == 0
    assert second.unchanged == first.created
    with factory() as session:
        assert session.scalar(select(func.count(AuditEntry.id))) == audit_rows
        assert session.scalar(select(func.count(Device.id))) == 246


def test_renamed_device_is_updated_and_audited(factory: sessionmaker[Session], tmp_path: Path) -> None:
    run_import(factory, load_yaml(write(tmp_path, "v1.yaml", SMALL_YAML)))
    renamed = SMALL_YAML.replace("name: Office climate,", "name: Office climate east,")

    summary = run_import(factory, load_yaml(write(tmp_path, "v2.yaml", renamed)))

    assert summary.counts["device"].updated == 1
    assert summary.counts["device"].unchanged == 2
    assert summary.created == 0
    assert summary.updated == 1
    with factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "device", AuditEntry.action == "update")
        ).one()
        assert entry.actor == "facility.manager"
        assert entry.at.tzinfo is not None
        assert entry.before is not None
        assert entry.after is not None
        assert entry.entity_id == str(entry.after["id"])  # numeric ids, as for every audited entity
        assert entry.after["code"] == "T1-A-1F-CS-01"
        assert entry.before["name"] == "Office climate"
        assert entry.after["name"] == "Office climate east"
        assert entry.after["kind"] == "climate_sensor"
        assert entry.after["quantities"] == ["temperature_c", "humidity_pct", "co2_ppm"]
        # Only the name moved; the rest of the row is recorded unchanged on both sides.
        assert {k for k in entry.after if entry.after[k] != entry.before[k]} == {"name"}
        device = session.scalars(select(Device).where(Device.code == "T1-A-1F-CS-01")).one()
        assert device.name == "Office climate east"
        created = session.scalars(select(AuditEntry).where(AuditEntry.action == "create")).all()
        created_sites = [e.after for e in created if e.entity == "site" and e.after]
        created_floors = [e.after for e in created if e.entity == "floor" and e.after]
        assert [site["code"] for site in created_sites] == ["T1"]
        assert 0 in {floor["level"] for floor in created_floors}
        assert all(e.before is None for e in created)


def test_yaml_duplicate_device_code_names_both_places(tmp_path: Path) -> None:
    text = SMALL_YAML.replace("code: T1-A-1F-OS-01", "code: T1-A-EM-MAIN")
    path = write(tmp_path, "dup.yaml", text)

    with pytest.raises(AssetImportError) as caught:
        load_yaml(path)

    message = str(caught.value)
    first, second = line_of(text, "T1-A-EM-MAIN"), line_of(text, "T1-A-EM-MAIN", 2)
    assert "dup.yaml" in message
    assert (
        f"line {second}, sites[0].buildings[0].floors[0].spaces[1].devices[0].code: "
        f"duplicate device code 'T1-A-EM-MAIN'; "
        f"first used at line {first}, sites[0].buildings[0].floors[0].spaces[0].devices[0].code"
    ) in message


def test_yaml_unknown_device_kind_names_line_and_field(tmp_path: Path) -> None:
    text = SMALL_YAML.replace("kind: occupancy_sensor", "kind: thermometer")
    path = write(tmp_path, "kind.yaml", text)

    with pytest.raises(AssetImportError) as caught:
        load_yaml(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: 1 problem")
    line = line_of(text, "thermometer")
    where = f"line {line}, sites[0].buildings[0].floors[0].spaces[1].devices[0].kind"
    assert f"{where}: Input should be" in message
    assert "'electricity_meter'" in message
    assert "(got 'thermometer')" in message


def test_yaml_negative_area_names_line_and_field(tmp_path: Path) -> None:
    text = SMALL_YAML.replace("area_m2: 50\n", "area_m2: -50\n")
    path = write(tmp_path, "area.yaml", text)

    with pytest.raises(AssetImportError) as caught:
        load_yaml(path)

    line = line_of(text, "area_m2: -50")
    assert (
        f"line {line}, sites[0].buildings[0].floors[0].spaces[1].area_m2: Input should be greater than 0"
        in str(caught.value)
    )


def test_yaml_spaces_larger_than_their_floor_are_refused(tmp_path: Path) -> None:
    text = SMALL_YAML.replace("area_m2: 500", "area_m2: 240")
    path = write(tmp_path, "crowded.yaml", text)

    with pytest.raises(AssetImportError) as caught:
        load_yaml(path)

    line = line_of(text, "- level: 0")
    assert (
        f"line {line}, sites[0].buildings[0].floors[0]: the spaces add up to 250.00 m2, "
        "more than the floor's area_m2 of 240.00 m2"
    ) in str(caught.value)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", SMALL_YAML.replace("kind: office\n", "kind: [office\n"))

    with pytest.raises(AssetImportError, match=r"broken\.yaml: YAML syntax error at line \d+, column \d+"):
        load_yaml(path)


def test_document_built_in_code_is_cross_checked() -> None:
    devices = [{"code": "X-1", "name": "Meter", "kind": "electricity_meter"}] * 2
    space = {"code": "S", "name": "Room", "kind": "office", "area_m2": 10, "devices": devices}
    floor = {"level": 0, "name": "1F", "area_m2": 10, "spaces": [space]}
    building = {"code": "B", "name": "B", "use": "office", "gross_floor_area_m2": 10, "floors": [floor]}

    with pytest.raises(ValidationError, match="duplicate device code 'X-1'"):
        AssetDocument.model_validate({"sites": [{"code": "S1", "name": "Site", "buildings": [building]}]})


def test_csv_loads_grouped_rows_and_spaces_without_devices(tmp_path: Path) -> None:
    rows = [
        "0,1F,500,T1-A-1F-OFF,Office,office,200,T1-A-EM-MAIN,Main meter,electricity_meter",
        "0,1F,500,T1-A-1F-OFF,Office,office,200,T1-A-1F-CS-01,Office climate,climate_sensor",
        "0,1F,500,T1-A-1F-COR,Corridor,corridor,80,,,",
        "-1,B1,400,T1-A-B1-PLANT,Plant room,plant_room,60,T1-A-WM-MAIN,Water main,water_meter",
    ]
    path = write(tmp_path, "register.csv", CSV_HEADER + "".join(f"{CSV_PREFIX}{r}\n" for r in rows))

    doc = load_csv(path)

    (site,) = doc.sites
    (building,) = site.buildings
    assert [f.level for f in building.floors] == [0, -1]
    ground = building.floors[0]
    assert [s.code for s in ground.spaces] == ["T1-A-1F-OFF", "T1-A-1F-COR"]
    assert [d.code for d in ground.spaces[0].devices] == ["T1-A-EM-MAIN", "T1-A-1F-CS-01"]
    assert ground.spaces[1].devices == ()
    assert building.floors[1].spaces[0].devices[0].quantities == ("volume_m3", "flow_m3h")


def test_csv_bad_kind_on_line_3_names_line_and_column(tmp_path: Path) -> None:
    rows = [
        "0,1F,500,T1-A-1F-OFF,Office,office,200,T1-A-EM-MAIN,Main meter,electricity_meter",
        "0,1F,500,T1-A-1F-OFF,Office,office,200,T1-A-1F-CS-01,Office climate,thermometer",
    ]
    path = write(tmp_path, "bad.csv", CSV_HEADER + "".join(f"{CSV_PREFIX}{r}\n" for r in rows))

    with pytest.raises(AssetImportError) as caught:
        load_csv(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: 1 problem")
    assert (
        "line 3, column device_kind (sites[0].buildings[0].floors[0].spaces[0].devices[1].kind): "
        "Input should be"
    ) in message
    assert "(got 'thermometer')" in message


def test_csv_row_contradicting_an_earlier_row_is_refused(tmp_path: Path) -> None:
    rows = [
        "0,1F,500,T1-A-1F-OFF,Office,office,200,T1-A-EM-MAIN,Main meter,electricity_meter",
        "0,1F,500,T1-A-1F-OFF,Office,office,250,T1-A-1F-CS-01,Office climate,climate_sensor",
    ]
    path = write(tmp_path, "conflict.csv", CSV_HEADER + "".join(f"{CSV_PREFIX}{r}\n" for r in rows))

    with pytest.raises(AssetImportError, match=r"line 3, column space_area_m2: '250' differs from '200'"):
        load_csv(path)


def test_csv_missing_column_is_refused(tmp_path: Path) -> None:
    header = CSV_HEADER.replace(",device_kind", "")
    path = write(tmp_path, "short.csv", header)

    with pytest.raises(AssetImportError, match="line 1: missing column 'device_kind'"):
        load_csv(path)

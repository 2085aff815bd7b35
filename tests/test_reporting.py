"""How devices report (cityhall.reporting): defaults by kind and payload family, the register's word on top,
through the asset import, the database and the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.assets.schemas import DeviceRead
from cityhall.assets import AssetImportError, import_assets, load_csv, load_yaml
from cityhall.contract import PayloadFormat
from cityhall.db import transaction
from cityhall.models.assets import Device, DeviceKind
from cityhall.reporting import (
    FAMILY_DEFAULTS,
    FlowSemantics,
    Reporting,
    ReportingMode,
    ReportingSpec,
    effective,
)
from tests.test_assets_import import CSV_PREFIX, SMALL_YAML, factory, line_of, write

__all__ = ["factory"]  # the register fixture, shared with the import's tests

CLIMATE = ("temperature_c", "humidity_pct", "co2_ppm")


def test_native_defaults_leave_intervals_to_learn_and_values_continuous() -> None:
    meter = effective(DeviceKind.ELECTRICITY_METER)
    assert meter == Reporting(ReportingMode.PERIODIC, None, {}, FlowSemantics.INSTANTANEOUS)
    assert meter.step("power_kw") == 0.0
    assert effective(DeviceKind.CONTACT_SENSOR).mode is ReportingMode.ON_CHANGE


def test_tasmota_defaults_are_its_factory_settings() -> None:
    """TelePeriod 300 s, TempRes 1 (0.1 degC), HumRes 1, whole watts: the settings a fresh Tasmota runs."""
    sensor = effective(DeviceKind.CLIMATE_SENSOR, PayloadFormat.TASMOTA, quantities=CLIMATE)
    assert sensor.mode is ReportingMode.PERIODIC
    assert sensor.interval_s == 300
    assert sensor.resolution == {"temperature_c": 0.1, "humidity_pct": 0.1, "co2_ppm": 1.0}
    plug = effective(
        DeviceKind.ELECTRICITY_METER, PayloadFormat.TASMOTA, quantities=("power_kw", "energy_kwh")
    )
    assert plug.resolution == {"power_kw": 0.001, "energy_kwh": 0.001}


def test_the_registers_word_wins_over_family_and_kind() -> None:
    said = {"interval_s": 900, "resolution": {"temperature_c": 0.5}}
    sensor = effective(DeviceKind.CLIMATE_SENSOR, PayloadFormat.TASMOTA, said, CLIMATE)
    assert sensor.interval_s == 900
    assert sensor.step("temperature_c") == 0.5
    assert sensor.step("humidity_pct") == 0.1  # the family's, untouched
    contact = effective(DeviceKind.CONTACT_SENSOR, override={"interval_s": 3600, "mode": "on_change"})
    assert (contact.mode, contact.interval_s) == (ReportingMode.ON_CHANGE, 3600)


@pytest.mark.parametrize(
    ("step", "value", "reported"),
    [
        (0.1, 26.34, 26.3),
        (0.1, 26.35, 26.4),
        (0.1, -0.05, -0.1),
        (1.0, 412.5, 413.0),
        (0.5, 27.7, 27.5),
        (0.0, 26.34, 26.34),
        (0.1, 0.04, 0.0),
    ],
)
def test_quantise_rounds_half_away_from_zero_to_the_step(step: float, value: float, reported: float) -> None:
    rep = Reporting(resolution={"temperature_c": step})
    assert rep.quantise("temperature_c", value) == reported


def test_a_spec_keeps_only_what_was_said() -> None:
    assert ReportingSpec().stored() == {}
    assert ReportingSpec.model_validate({"interval_s": 60}).stored() == {"interval_s": 60.0}
    assert FAMILY_DEFAULTS[PayloadFormat.NATIVE].stored() == {}


def test_yaml_import_stores_family_and_reporting_and_the_api_shows_the_effect(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    text = SMALL_YAML.replace(
        "{code: T1-A-1F-CS-01, name: Office climate, kind: climate_sensor}",
        "{code: T1-A-1F-CS-01, name: Office climate, kind: climate_sensor, payload_format: tasmota,"
        " reporting: {interval_s: 900}}",
    )
    doc = load_yaml(write(tmp_path, "register.yaml", text))
    with transaction(factory) as session:
        import_assets(session, doc, actor="facility.manager")
    with factory() as session:
        sensor = session.scalars(select(Device).where(Device.code == "T1-A-1F-CS-01")).one()
        meter = session.scalars(select(Device).where(Device.code == "T1-A-EM-MAIN")).one()
        assert (sensor.payload_format, sensor.reporting) == (PayloadFormat.TASMOTA, {"interval_s": 900.0})
        assert (meter.payload_format, meter.reporting) == (PayloadFormat.NATIVE, {})
        shown = DeviceRead.model_validate(sensor).model_dump(mode="json")
    assert shown["declared_reporting"] == {"interval_s": 900.0}
    assert shown["reporting"] == {
        "mode": "periodic",
        "interval_s": 900.0,
        "resolution": {"temperature_c": 0.1, "humidity_pct": 0.1, "co2_ppm": 1.0},
        "flow": "instantaneous",
    }


def test_yaml_resolution_of_a_quantity_the_device_lacks_names_line_and_field(tmp_path: Path) -> None:
    text = SMALL_YAML.replace(
        "{code: T1-A-1F-OS-01, name: People counter, kind: occupancy_sensor}",
        "{code: T1-A-1F-OS-01, name: People counter, kind: occupancy_sensor,"
        " reporting: {resolution: {temperature_c: 0.1}}}",
    )
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(AssetImportError) as caught:
        load_yaml(path)
    message = str(caught.value)
    line = line_of(text, "People counter")
    assert f"line {line}, sites[0].buildings[0].floors[0].spaces[1].devices[0]" in message
    assert "reporting.resolution names temperature_c" in message
    assert "it measures occupancy_count" in message


@pytest.mark.parametrize(
    ("reporting", "field"),
    [
        ("{interval_s: 0}", "interval_s"),
        ("{mode: sometimes}", "mode"),
        ("{every: 5}", "every"),
        ("{resolution: {occupancy_count: -1}}", "resolution.occupancy_count"),
    ],
)
def test_yaml_bad_reporting_fields_are_named(tmp_path: Path, reporting: str, field: str) -> None:
    text = SMALL_YAML.replace(
        "{code: T1-A-1F-OS-01, name: People counter, kind: occupancy_sensor}",
        f"{{code: T1-A-1F-OS-01, name: People counter, kind: occupancy_sensor, reporting: {reporting}}}",
    )
    with pytest.raises(AssetImportError) as caught:
        load_yaml(write(tmp_path, "bad.yaml", text))
    assert f"devices[0].reporting.{field}" in str(caught.value)


def test_csv_takes_the_payload_family_column(tmp_path: Path) -> None:
    header = (
        "site_code,site_name,building_code,building_name,building_use,building_area_m2,floor_level,floor_name,"
        "floor_area_m2,space_code,space_name,space_kind,space_area_m2,device_code,device_name,device_kind,"
        "device_payload_format\n"
    )
    rows = [
        "0,1F,500,T1-A-1F-OFF,Office,office,200,T1-A-EM-MAIN,Main meter,electricity_meter,shelly_gen2",
        "0,1F,500,T1-A-1F-OFF,Office,office,200,T1-A-1F-CS-01,Office climate,climate_sensor,",
    ]
    doc = load_csv(write(tmp_path, "register.csv", header + "".join(f"{CSV_PREFIX}{r}\n" for r in rows)))
    devices = doc.sites[0].buildings[0].floors[0].spaces[0].devices
    assert [d.payload_format for d in devices] == [PayloadFormat.SHELLY_GEN2, PayloadFormat.NATIVE]

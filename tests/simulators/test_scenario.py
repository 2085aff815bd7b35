"""Bad scenario files are refused with the line and the field, before anything is simulated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from cityhall.contract import PayloadFormat
from simulators.fleet import simulated
from simulators.scenario import ScenarioError, load_scenario, plan
from tests.simulators.conftest import plan_of, seed_records

HEAD = """\
name: bad
seed: 1
start: 2026-07-13T00:00:00+08:00
duration: 2d
step: 15m
buildings: [YH-A]
faults:
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        plan_of(path)
    assert str(path) in str(caught.value)
    return list(caught.value.problems)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            "{kind: ac_left_on, device: YH-A-NOPE, start: 19h, end: 22h}",
            "line 8, faults[0].device: unknown device 'YH-A-NOPE'",
        ),
        (
            "{kind: boiler_explodes, device: YH-A-3F-AC-01, start: 19h, end: 22h}",
            "line 8, faults[0].kind: Input should be 'ac_left_on'",
        ),
        (
            "{kind: ac_left_on, device: YH-A-EM-MAIN, start: 19h, end: 22h}",
            "line 8, faults[0].device: ac_left_on needs a air_conditioner; YH-A-EM-MAIN is a electricity_meter",
        ),
        (
            "{kind: ac_left_on, device: YH-A-3F-AC-01, start: 9h, end: 11h}",
            "line 8, faults[0].start: ac_left_on needs the air-conditioner would be off",
        ),
        (
            "{kind: abnormal_consumption, device: YH-A-EM-MAIN, start: 1h, end: 2h, params: {increase_pct: 5, step_kw: 9}}",
            "line 8, faults[0].params: give exactly one of increase_pct or step_kw",
        ),
        (
            "{kind: spike, device: YH-A-EM-MAIN, start: 1h, params: {quantity: energy_kwh, delta: 5}}",
            "line 8, faults[0].params.quantity: YH-A-EM-MAIN reports power_kw; registers cannot spike",
        ),
        (
            "{kind: water_leak, device: YH-A-WM-MAIN, start: 1h7m, end: 3h}",
            "line 8, faults[0].start: start and end must fall on the run's 0:15:00 sample grid",
        ),
        (
            "{kind: water_leak, device: YH-A-WM-MAIN, start: 1d, end: 3d}",
            "line 8, faults[0].start: the interval 2026-07-14T00:00:00+08:00 .. 2026-07-16T00:00:00+08:00 must be",
        ),
        (
            "{kind: door_open_while_cooling, device: YH-A-B1-DC-SUB, start: 10h, end: 11h}",
            "line 8, faults[0].start: door_open_while_cooling needs the space's air-conditioner is cooling",
        ),
        (
            "{kind: drift, device: YH-A-3F-CS-01, start: 1h, end: 2h, params: {drift_per_day: 1, unit: degF}}",
            "line 8, faults[0].params.unit: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_fault_named_by_line_and_field(
    write_scenario: Callable[[str], Path], fault: str, expected: str
) -> None:
    (problem,) = problems(write_scenario(HEAD + f"  - {fault}\n"))
    assert problem.startswith(expected), problem


def test_overlapping_faults_on_one_device_are_refused(write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario(
        HEAD
        + "  - {kind: water_leak, device: YH-A-WM-MAIN, start: 1h, end: 5h}\n"
        + "  - {kind: meter_offline, device: YH-A-WM-MAIN, start: 4h, end: 6h}\n"
    )
    assert problems(path) == [
        "line 9, faults[1]: overlaps water_leak f001 (line 8) on YH-A-WM-MAIN",
    ]


def test_every_problem_is_listed_in_file_order(write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario(
        HEAD.replace("step: 15m", "step: often").replace(
            "buildings: [YH-A]", "buildings: [YH-A]\ncolour: red"
        )
    )
    found = problems(path)
    assert found[0].startswith("line 5, step: a duration such as 15m")
    assert found[1].startswith("line 7, colour: Extra inputs are not permitted")


def test_unknown_building_and_unsupported_format(write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario(
        HEAD.replace(
            "buildings: [YH-A]", "buildings: [YH-A, YH-Z]\nformats: {by_kind: {water_meter: tasmota}}"
        )
        + "  []\n"
    )
    found = problems(path)
    assert found[0] == "line 6, buildings[1]: unknown building 'YH-Z'"
    assert found[1].startswith(
        "line 7, formats.by_kind.water_meter: tasmota cannot carry flow_m3h, volume_m3"
    )


BLOCKS = """\
name: bad
seed: 1
start: 2026-07-13T00:00:00+08:00
duration: 2d
step: 1m
buildings: [YH-A]
"""


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "reporting: {by_device: {YH-A-NOPE: {interval_s: 60}}}",
            "line 7, reporting.by_device.YH-A-NOPE: unknown device 'YH-A-NOPE'",
        ),
        (
            "reporting:\n  by_kind:\n    contact_sensor: {resolution: {temperature_c: 0.1}}",
            "line 9, reporting.by_kind.contact_sensor.resolution.temperature_c: a contact_sensor does not "
            "measure temperature_c; it measures open_state",
        ),
        (
            "reporting:\n  by_kind:\n    climate_sensor: {interval_s: 0}",
            "line 9, reporting.by_kind.climate_sensor.interval_s: Input should be greater than or equal to 1",
        ),
        (
            "reporting:\n  heartbeat_s: 900\n  by_device:\n    YH-A-1F-DC-01: {mode: sometimes}",
            "line 10, reporting.by_device.YH-A-1F-DC-01.mode: Input should be 'periodic' or 'on_change'",
        ),
        (
            "realism:\n  lighting:\n    timers:\n      - {devices: [YH-A-3F-CS-01], hours: 18:00-22:00, share: 0.3}",
            "line 10, realism.lighting.timers[0].devices[0]: YH-A-3F-CS-01 is a climate_sensor; "
            "expected a electricity_meter",
        ),
        (
            "realism:\n  lighting:\n    timers:\n      - {devices: [YH-A-1F-EM-LT], hours: 6pm-10pm, share: 0.3}",
            "line 10, realism.lighting.timers[0].hours: hours such as 18:00-22:00",
        ),
        (
            "realism:\n  contacts: {by_device: {YH-A-EM-MAIN: 4}}",
            "line 8, realism.contacts.by_device.YH-A-EM-MAIN: YH-A-EM-MAIN is a electricity_meter; "
            "expected a contact_sensor",
        ),
        (
            "realism:\n  climate: {lag_min: 30}",
            "line 8, realism.climate.lag_min: Extra inputs are not permitted",
        ),
        (
            "realism:\n  dormitory: {bed_share: 1.5}",
            "line 8, realism.dormitory.bed_share: Input should be less than or equal to 1",
        ),
        (
            "faults:\n  - {kind: dead_device, device: YH-A-3F-CS-01, start: 1h, end: 2h}",
            "line 8, faults[0].end: dead_device lasts to the end of the run; leave `end` out",
        ),
        (
            "faults:\n  - {kind: meter_swap, device: YH-A-3F-CS-01, start: 1h, end: 2h}",
            "line 8, faults[0].device: meter_swap needs a electricity_meter, fuel_meter, solar_inverter, "
            "water_meter; YH-A-3F-CS-01 is a climate_sensor",
        ),
        (
            "faults:\n  - {kind: meter_swap, device: YH-A-EM-MAIN, start: 1h}",
            "line 8, faults[0]: `end` is required for meter_swap",
        ),
    ],
)
def test_bad_reporting_realism_and_new_faults_named_by_line_and_field(
    write_scenario: Callable[[str], Path], block: str, expected: str
) -> None:
    (problem,) = problems(write_scenario(BLOCKS + block + "\n"))
    assert problem.startswith(expected), problem


def test_the_register_payload_family_and_reporting_are_the_default(
    write_scenario: Callable[[str], Path],
) -> None:
    """A device the register says is a Tasmota reports like one unless the scenario says otherwise."""
    tasmota = {"YH-A-EM-MAIN", "YH-A-WM-MAIN"}
    records = [
        replace(r, payload_format=PayloadFormat.TASMOTA) if r.code in tasmota else r for r in seed_records()
    ]
    scenario = load_scenario(write_scenario(BLOCKS + "device_kinds: [electricity_meter, water_meter]\n"))
    with pytest.raises(ScenarioError) as caught:
        plan(scenario, simulated(records, seed=1))
    assert caught.value.problems == (
        "line 1, formats: tasmota cannot carry flow_m3h, volume_m3 of water_meter YH-A-WM-MAIN "
        "(the register's payload_format; give the device another here)",
    )
    fixed = load_scenario(
        write_scenario(
            BLOCKS + "device_kinds: [electricity_meter, water_meter]\n"
            "formats: {by_device: {YH-A-WM-MAIN: native}}\nreporting: {}\n"
        )
    )
    bound = plan(fixed, simulated(records, seed=1))
    main = next(d for d in bound.devices if d.code == "YH-A-EM-MAIN")
    assert bound.formats["YH-A-EM-MAIN"] is PayloadFormat.TASMOTA
    assert (main.reporting.interval_s, main.reporting.step("power_kw")) == (300, 0.001)  # TelePeriod, WattRes

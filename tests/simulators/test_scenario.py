"""Bad scenario files are refused with the line and the field, before anything is simulated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulators.scenario import ScenarioError
from tests.simulators.conftest import plan_of

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

"""The pure simulation: physics that matter, and every injected fault exactly over its labelled interval."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime
from statistics import mean

import pytest

from cityhall.contract import QUANTITIES, PayloadFormat, encode_native
from cityhall.models import BuildingUse, DeviceKind
from simulators.devices import MeterRole
from simulators.faults import CATALOGUE, Fault, FaultKind
from simulators.modes import Encoder
from simulators.profiles import TAIPEI, is_working_day
from simulators.scenario import Plan, scenario_files
from tests.simulators.conftest import plan_of, standard

Series = dict[str, dict[datetime, dict[str, float]]]
FAULT_SCENARIOS = ["office-after-hours", "meters-and-sensors", "dormitory-devices"]
REGISTER_KEYS = ("energy_kwh", "volume_m3")


def run(plan: Plan) -> Series:
    """Every device's reading sets by time."""
    out: Series = defaultdict(dict)
    for tick in plan.simulation().ticks(plan.end):
        for device, values in tick.samples:
            out[device.code][tick.ts] = values
    return out


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[Plan, Series, Series]]:
    """Each fault scenario run with its faults and without them (same seed)."""
    out = {}
    for name in FAULT_SCENARIOS:
        faulty = plan_of(standard(name))
        out[name] = (faulty, run(faulty), run(plan_of(standard(name), without_faults=True)))
    return out


@pytest.fixture(scope="module")
def quiet() -> tuple[Plan, Series]:
    """The fault-free week."""
    p = plan_of(standard("quiet-week"))
    return p, run(p)


def test_standard_set_covers_every_fault_kind_twice_and_has_a_quiet_scenario() -> None:
    counts: dict[FaultKind, int] = defaultdict(int)
    quiet_names = []
    for path in scenario_files():
        p = plan_of(path)
        for fault in p.faults:
            counts[fault.kind] += 1
        if not p.faults:
            quiet_names.append(p.name)
    assert {kind: counts[kind] for kind in FaultKind if counts[kind] < 2} == {}
    assert "quiet-week" in quiet_names


def test_same_seed_same_data() -> None:
    a = run(plan_of(standard("dormitory-devices")))
    b = run(plan_of(standard("dormitory-devices")))
    assert a == b


def test_values_in_catalogue_ranges(quiet: tuple[Plan, Series]) -> None:
    _, data = quiet
    for code, series in data.items():
        for values in series.values():
            for key, value in values.items():
                q = QUANTITIES[key]
                assert q.minimum <= value <= q.maximum, (code, key, value)


def _assert_registers_monotonic(data: Series, allowed: dict[str, datetime]) -> None:
    for code, series in data.items():
        for key in REGISTER_KEYS:
            points = [(ts, v[key]) for ts, v in sorted(series.items()) if key in v]
            for (_, before), (ts, after) in itertools.pairwise(points):
                if after < before:
                    assert allowed.get(code) == ts, f"{code}.{key} fell from {before} to {after} at {ts}"


def test_registers_only_count_up_in_the_quiet_week(quiet: tuple[Plan, Series]) -> None:
    _assert_registers_monotonic(quiet[1], {})


def test_registers_fall_only_at_labelled_resets_and_rollovers(
    runs: dict[str, tuple[Plan, Series, Series]],
) -> None:
    plan, faulty, _ = runs["meters-and-sensors"]
    events = {f.device.code: f.start for f in plan.faults if f.kind in _REGISTER}
    _assert_registers_monotonic(faulty, events)
    for fault in plan.faults:
        if fault.kind not in _REGISTER:
            continue
        key = fault.truth(scenario="", run_id="")["quantities"][0]
        series = faulty[fault.device.code]
        before = series[fault.start - plan.scenario.spec.step][key]
        after = series[fault.start][key]
        assert after < before * 0.01, (fault.id, before, after)  # down to about zero
        if fault.kind is FaultKind.REGISTER_ROLLOVER:
            register_max = fault.truth(scenario="", run_id="")["parameters"]["register_max_kwh"]
            assert register_max * 0.99 < before < register_max


_REGISTER = {FaultKind.REGISTER_RESET, FaultKind.REGISTER_ROLLOVER}


def test_after_hours_load_is_low_in_the_quiet_week(quiet: tuple[Plan, Series]) -> None:
    plan, data = quiet
    mains = [d for d in plan.devices if d.role is MeterRole.MAIN and d.kind is DeviceKind.ELECTRICITY_METER]
    offices = [d for d in mains if d.use is not BuildingUse.DORMITORY]
    assert offices
    for device in offices:
        working: list[float] = []
        after: list[float] = []
        holiday: list[float] = []
        for ts, values in data[device.code].items():
            local = ts.astimezone(TAIPEI)
            if not is_working_day(local.date()):
                (holiday if local.weekday() < 5 else after).append(values["power_kw"])
            elif 9 <= local.hour < 12 or 14 <= local.hour < 17:
                working.append(values["power_kw"])
            elif local.hour >= 20 or local.hour < 6:
                after.append(values["power_kw"])
        assert holiday, "the Dragon Boat Festival (a Friday) is in the quiet week"
        assert mean(after) < 0.35 * mean(working), device.code
        assert mean(holiday) < 0.35 * mean(working), device.code


def test_quiet_week_has_no_night_water_flow_and_no_acs_on_after_hours(quiet: tuple[Plan, Series]) -> None:
    plan, data = quiet
    for device in plan.devices:
        for ts, values in data[device.code].items():
            local = ts.astimezone(TAIPEI)
            if device.kind is DeviceKind.WATER_METER and 1 <= local.hour < 5:
                assert values["flow_m3h"] == 0, (device.code, ts)
            office_ac = device.kind is DeviceKind.AIR_CONDITIONER and device.use is not BuildingUse.DORMITORY
            if office_ac and (local.hour >= 20 or local.hour < 6):
                assert values["on_state"] == 0, (device.code, ts)


def _cases() -> list[tuple[str, str]]:
    return [(name, f.id) for name in FAULT_SCENARIOS for f in plan_of(standard(name)).faults]


@pytest.mark.parametrize(("scenario", "fault_id"), _cases())
def test_fault_shows_exactly_over_its_interval(
    runs: dict[str, tuple[Plan, Series, Series]], scenario: str, fault_id: str
) -> None:
    plan, faulty, baseline = runs[scenario]
    (fault,) = [f for f in plan.faults if f.id == fault_id]
    code = fault.device.code
    keys = fault.truth(scenario="", run_id="")["quantities"]
    inside = [ts for ts in baseline[code] if fault.active(ts)]
    assert inside, "the labelled interval holds samples"
    if fault.kind in _REGISTER:
        return  # persistent by nature: test_registers_fall_only_at_labelled_resets_and_rollovers
    others = [f for f in plan.faults if f.device.code == code and f is not fault]
    for ts, normal in baseline[code].items():
        if any(other.active(ts) for other in others):
            continue  # that sample shows the other fault
        got = faulty[code].get(ts)
        if fault.kind is FaultKind.METER_OFFLINE:
            assert (got is None) == fault.active(ts), ts
            continue
        assert got is not None
        differs = any(got[k] != normal[k] for k in keys)
        assert differs == fault.active(ts), (ts, got, normal)
    if fault.kind is not FaultKind.METER_OFFLINE:
        _assert_semantics(plan, fault, faulty, baseline, inside)


def _assert_semantics(
    plan: Plan, fault: Fault, faulty: Series, baseline: Series, inside: list[datetime]
) -> None:
    """What each fault kind means, checked on its samples."""
    got = [faulty[fault.device.code][ts] for ts in inside]
    params = fault.params.model_dump()
    match fault.kind:
        case FaultKind.AC_LEFT_ON:
            assert all(v["on_state"] == 1 and v["power_kw"] > 0 for v in got)
            # The unit cools its room: the room's sensors hold near the set-point while it runs.
            sensors = [
                d.code
                for d in plan.devices
                if d.space == fault.device.space and d.kind is DeviceKind.CLIMATE_SENSOR
            ]
            assert sensors
            for code in sensors:
                assert all(faulty[code][ts]["temperature_c"] < 27.5 for ts in inside), code
                warm = [ts for ts in inside if baseline[code][ts]["temperature_c"] > 27.5]
                assert warm, "the room would have been warm without the unit"
        case FaultKind.LIGHTS_LEFT_ON:
            day_kw = max(v["power_kw"] for v in baseline[fault.device.code].values())
            assert all(v["power_kw"] > 0.7 * day_kw for v in got)
        case FaultKind.WATER_LEAK:
            assert all(v["flow_m3h"] >= params["flow_m3h"] * 0.99 for v in got)
        case FaultKind.FLATLINE:
            assert all(v == got[0] for v in got)
        case FaultKind.SPIKE:
            assert len(inside) == 1
        case FaultKind.DRIFT:
            offsets = [
                faulty[fault.device.code][ts][params["quantity"]]
                - baseline[fault.device.code][ts][params["quantity"]]
                for ts in inside
            ]
            assert abs(offsets[-1]) > abs(offsets[0])
            assert (offsets[-1] > 0) == (params["drift_per_day"] > 0)
        case FaultKind.DOOR_OPEN_WHILE_COOLING:
            acs = [
                d.code
                for d in plan.devices
                if d.space == fault.device.space and d.kind is DeviceKind.AIR_CONDITIONER
            ]
            assert acs
            assert all(v["open_state"] == 1 for v in got)
            assert all(faulty[ac][ts]["on_state"] == 1 for ac in acs for ts in inside)
        case FaultKind.COMFORT_BREACH:
            assert all(v["temperature_c"] > params["limit_c"] for v in got)
            counters = [
                d.code
                for d in plan.devices
                if d.space == fault.device.space and d.kind is DeviceKind.OCCUPANCY_SENSOR
            ]
            assert all(faulty[c][ts]["occupancy_count"] > 0 for c in counters for ts in inside)
        case FaultKind.ABNORMAL_CONSUMPTION:
            normal = [baseline[fault.device.code][ts]["power_kw"] for ts in inside]
            assert all(v["power_kw"] > n for v, n in zip(got, normal, strict=True))
        case _:
            pass


def test_ground_truth_records_name_everything_a_scorer_needs() -> None:
    plan = plan_of(standard("office-after-hours"))
    record = plan.faults[0].truth(scenario=plan.name, run_id="r1")
    assert record == {
        "fault_id": "f001",
        "kind": "ac_left_on",
        "category": "fault",
        "rule_kind": "after_hours",
        "would_trip": [],
        "device": "YH-A-3F-AC-01",
        "device_kind": "air_conditioner",
        "space": "YH-A-3F-OFF-01",
        "building": "YH-A",
        "start": "2026-07-13T11:00:00Z",
        "end": "2026-07-13T22:00:00Z",
        "quantities": ["on_state", "power_kw"],
        "parameters": {},
        "scenario": "office-after-hours",
        "run_id": "r1",
        "line": 11,
    }
    assert set(CATALOGUE) == set(FaultKind)


def test_native_fast_path_bytes_equal_the_contract_encoder() -> None:
    plan = plan_of(standard("dormitory-devices"))
    tick = plan.simulation().tick()
    encoder = Encoder(dict.fromkeys((d.code for d in plan.devices), PayloadFormat.NATIVE), "cityhall/v1")
    messages = list(encoder.messages(tick))
    assert len(messages) == len(tick.samples)
    for (topic, payload), (device, values) in zip(messages, tick.samples, strict=True):
        assert topic == f"cityhall/v1/readings/{device.code}".encode()
        assert payload == encode_native(device.code, tick.ts, values)

"""Reporting on the wire: devices send what and when their reporting says, rounded to their resolution."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cityhall.contract import PayloadFormat, Reading
from collector.payloads import DecoderRegistry, default_registry
from simulators.modes import Encoder
from simulators.scenario import Plan, ScenarioError
from tests.simulators.conftest import plan_of, wire

# A working Monday in June: the civic centre's offices are cooled from 08:00.
YH_DAY = """\
name: wire
seed: 4
start: 2026-06-15T06:00:00+08:00
duration: {duration}
step: 1m
buildings: [YH-A]
device_kinds: [climate_sensor, contact_sensor, electricity_meter, air_conditioner]
"""


def _repeat_share(values: list[float]) -> float:
    return sum(a == b for a, b in itertools.pairwise(values)) / max(1, len(values) - 1)


def _longest_run(values: list[float]) -> int:
    return max(len(list(group)) for _, group in itertools.groupby(values))


def _office_hours(messages: list[tuple[datetime, dict[str, float]]], key: str) -> list[float]:
    return [v[key] for ts, v in messages if 10 <= ts.hour < 16]


def test_a_sensor_at_a_tenth_of_a_degree_repeats_itself_in_a_steady_room(
    write_scenario: Callable[[str], Path],
) -> None:
    head = YH_DAY.format(duration="12h") + (
        "reporting:\n  by_kind: {climate_sensor: {interval_s: 60, resolution: {temperature_c: 0.1}}}\n"
    )
    real = wire(plan_of(write_scenario(head + "realism: {climate: {}}\n")))
    legacy = wire(plan_of(write_scenario(YH_DAY.format(duration="12h"))))
    office = "YH-A-4F-CS-01"  # an office cooled all day: the thermostat holds it
    steady = _office_hours(real[office], "temperature_c")
    assert len(steady) == 6 * 60  # a message a minute
    assert all(math.isclose(v * 10, round(v * 10)) for v in steady)  # on the 0.1 degC grid
    assert _repeat_share(steady) > 0.8
    assert _longest_run(steady) >= 30  # half an hour of one value is not a stuck sensor
    # The cause: without lag and sensor noise (the base model), the value moves at every sample.
    assert _repeat_share(_office_hours(legacy[office], "temperature_c")) < 0.2


def test_an_on_change_contact_sends_bursts_on_openings_and_is_never_silent_past_its_heartbeat(
    write_scenario: Callable[[str], Path],
) -> None:
    text = YH_DAY.format(duration="1d") + (
        "reporting: {by_kind: {contact_sensor: {mode: on_change, interval_s: 900}}}\n"
        "realism: {contacts: {openings_per_h: 6, by_device: {YH-A-1F-DC-01: 40}}}\n"
    )
    plan = plan_of(write_scenario(text))
    sent = wire(plan)
    contacts = [d.code for d in plan.devices if d.kind.value == "contact_sensor"]
    assert len(contacts) >= 5
    for code in contacts:
        times = [ts for ts, _ in sent[code]]
        assert times == sorted(times)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert max(gaps) <= 900, code  # a heartbeat at the latest 900 s after the last message
        last_instant = plan.end - plan.scenario.spec.step
        assert (last_instant - times[-1]).total_seconds() <= 900
        states = [v["open_state"] for _, v in sent[code]]
        # Heartbeats repeat the state; every change is sent, so opens and closes alternate.
        changes = [s for s, before in zip(states[1:], states, strict=False) if s != before]
        assert all(a != b for a, b in itertools.pairwise(changes)), code
    entrance = sent["YH-A-1F-DC-01"]
    working = [(ts, v) for ts, v in entrance if 9 <= ts.hour < 17]
    night = [(ts, v) for ts, v in entrance if ts.hour < 5]
    openings = sum(v["open_state"] == 1 for _, v in working)
    assert openings > 8 * 20  # busy: tens an hour
    bursts = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(working)]
    assert min(bursts) < 60  # an open and its close seconds apart
    # At night (2 % occupancy) a guard opens it now and then; between openings, heartbeats only.
    assert sum(v["open_state"] == 1 for _, v in night) / 5 < openings / 8 / 20
    night_gaps = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(night)]
    assert night_gaps.count(900.0) > len(night_gaps) / 2


def test_a_periodic_device_sends_once_a_period_with_a_phase_of_its_own(
    write_scenario: Callable[[str], Path],
) -> None:
    text = YH_DAY.format(duration="3h") + "reporting: {by_kind: {climate_sensor: {interval_s: 300}}}\n"
    plan = plan_of(write_scenario(text))
    sent = wire(plan)
    sensors = [d.code for d in plan.devices if d.kind.value == "climate_sensor"]
    phases = set()
    for code in sensors:
        times = [ts for ts, _ in sent[code]]
        assert times[0] == plan.start  # on at once, as a device that has just connected
        gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(times[1:])}
        assert gaps == {300.0}, code
        phases.add(times[1].minute % 5)
    assert len(phases) > 1  # a fleet does not send all at once
    meters = [d.code for d in plan.devices if d.kind.value == "electricity_meter"]
    assert all(len(sent[code]) == 180 for code in meters)  # no period declared: every step


def test_registers_count_every_step_however_few_messages_go_out(
    write_scenario: Callable[[str], Path],
) -> None:
    every_step = wire(plan_of(write_scenario(YH_DAY.format(duration="3h"))))
    text = YH_DAY.format(duration="3h") + "reporting: {by_kind: {electricity_meter: {interval_s: 900}}}\n"
    thinned = wire(plan_of(write_scenario(text)))
    for code, messages in thinned.items():
        if "energy_kwh" not in messages[0][1]:
            continue
        assert len(messages) < len(every_step[code]) / 10
        by_time = dict(every_step[code])
        assert all(values == by_time[ts] for ts, values in messages), code


def _registry() -> DecoderRegistry:
    return default_registry("cityhall/v1")


def _decoded(plan: Plan) -> list[Reading]:
    encoder = Encoder(plan.formats, "cityhall/v1")
    registry = _registry()
    return [
        reading
        for tick in plan.simulation().ticks(plan.end)
        for topic, payload in encoder.messages(tick)
        for reading in registry.decode_with(
            registry.decoder_for(topic.decode()), topic.decode(), payload, now=plan.end
        )
    ]


ALL_KINDS = "device_kinds: [climate_sensor, contact_sensor, electricity_meter, air_conditioner]"
STEPS = {"power_kw": 0.5, "energy_kwh": 2.0, "temperature_c": 0.5, "humidity_pct": 2.0, "co2_ppm": 25.0}
RESOLUTIONS = {
    "electricity_meter": "{power_kw: 0.5, energy_kwh: 2}",
    "climate_sensor": "{temperature_c: 0.5, humidity_pct: 2, co2_ppm: 25}",
}


@pytest.mark.parametrize(
    ("fmt", "kinds"),
    [
        (PayloadFormat.NATIVE, ("electricity_meter", "climate_sensor")),
        (PayloadFormat.TASMOTA, ("electricity_meter", "climate_sensor")),
        (PayloadFormat.SHELLY_GEN2, ("electricity_meter",)),  # Shelly carries power and energy only
    ],
)
def test_values_are_rounded_to_the_resolution_before_they_are_encoded(
    write_scenario: Callable[[str], Path], fmt: PayloadFormat, kinds: tuple[str, ...]
) -> None:
    text = YH_DAY.format(duration="2h").replace(ALL_KINDS, f"device_kinds: [{', '.join(kinds)}]")
    text += "formats: {by_kind: {" + ", ".join(f"{kind}: {fmt.value}" for kind in kinds) + "}}\n"
    text += "reporting:\n  by_kind:\n" + "".join(
        f"    {kind}: {{resolution: {RESOLUTIONS[kind]}}}\n" for kind in kinds
    )
    readings = _decoded(plan_of(write_scenario(text)))
    expected = {"power_kw", "energy_kwh"} | (
        {"temperature_c", "humidity_pct", "co2_ppm"} if "climate_sensor" in kinds else set()
    )
    assert {r.quantity for r in readings} == expected
    for r in readings:
        multiple = r.value / STEPS[r.quantity]
        assert math.isclose(multiple, round(multiple), abs_tol=1e-6), r


def test_a_device_sends_the_same_whichever_other_devices_are_simulated(
    write_scenario: Callable[[str], Path],
) -> None:
    realistic = (
        "reporting: {heartbeat_s: 600, by_kind: {climate_sensor: {interval_s: 300}}}\n"
        "realism: {climate: {}, dormitory: {}, contacts: {}}\n"
    )
    base = "name: alone\nseed: 9\nstart: 2026-06-20T17:00:00+08:00\nduration: 6h\nstep: 1m\n"
    alone = wire(plan_of(write_scenario(base + "buildings: [MZ-DORM]\n" + realistic)))
    together = wire(plan_of(write_scenario(base + "buildings: [YH-A, MZ-DORM, MZ-A]\n" + realistic)))
    assert set(alone) < set(together)
    for code, messages in alone.items():
        assert together[code] == messages, code


def test_a_hung_device_repeats_its_whole_last_message_at_its_usual_rhythm(
    write_scenario: Callable[[str], Path],
) -> None:
    text = YH_DAY.format(duration="6h") + (
        "reporting: {by_kind: {climate_sensor: {interval_s: 300}, contact_sensor: {interval_s: 600}}}\n"
        "faults:\n"
        "  - {kind: hung_device, device: YH-A-3F-CS-01, start: 2h, end: 4h}\n"
        "  - {kind: hung_device, device: YH-A-1F-DC-02, start: 2h, end: 4h}\n"
        "  - {kind: hung_device, device: YH-A-1F-EM-01, start: 2h, end: 4h}\n"
    )
    plan = plan_of(write_scenario(text))
    encoder = Encoder(plan.formats, "cityhall/v1")
    sent: dict[str, list[tuple[datetime, bytes]]] = defaultdict(list)
    for tick in plan.simulation().ticks(plan.end):
        stamped = {d.code for d, _, _ in tick.stamped}
        for topic, payload in encoder.messages(tick):
            code = topic.decode().rsplit("/", 1)[-1]
            sent[code].append((tick.ts, payload))
        assert len(stamped) == len(tick.stamped)
    hung_from, hung_to = plan.start + timedelta(hours=2), plan.start + timedelta(hours=4)
    for code, period_s in (("YH-A-3F-CS-01", 300), ("YH-A-1F-DC-02", 600), ("YH-A-1F-EM-01", 60)):
        during = [payload for ts, payload in sent[code] if hung_from <= ts < hung_to]
        before = [payload for ts, payload in sent[code] if ts < hung_from]
        after = [payload for ts, payload in sent[code] if ts >= hung_to]
        assert set(during) == {before[-1]}, code  # the whole message, time stamp included
        assert len(during) == pytest.approx(7200 / period_s, abs=1), code  # at its usual rhythm
        assert after[0] != before[-1]  # it recovers with fresh messages
    # The same hung meter in the truth: an offline alarm should catch it (its readings stop arriving).
    (truth,) = [f.truth(scenario="", run_id="") for f in plan.faults if f.device.code == "YH-A-1F-EM-01"]
    assert (truth["category"], truth["rule_kind"]) == ("fault", "offline")


def test_an_interval_mean_meter_sends_its_register_s_mean_rate_since_its_last_message(
    write_scenario: Callable[[str], Path],
) -> None:
    text = YH_DAY.format(duration="6h").replace(
        ALL_KINDS, "device_kinds: [electricity_meter, water_meter]"
    ) + (
        "reporting:\n  by_kind:\n"
        "    electricity_meter: {interval_s: 900, flow: interval_mean}\n"
        "    water_meter: {interval_s: 900, flow: interval_mean}\n"
        "realism: {dormitory: {}}\n"
    )
    mean = wire(plan_of(write_scenario(text)))
    instantaneous = wire(plan_of(write_scenario(text.replace(", flow: interval_mean", ""))))
    checked = 0
    for code, messages in mean.items():
        rate, register = (
            ("power_kw", "energy_kwh") if "power_kw" in messages[0][1] else ("flow_m3h", "volume_m3")
        )
        for (t0, v0), (t1, v1) in itertools.pairwise(messages):
            hours = (t1 - t0).total_seconds() / 3600
            assert v1[rate] == pytest.approx((v1[register] - v0[register]) / hours, abs=2e-3), (code, t1)
            checked += 1
        # The same registers, message for message; only the rate differs from the one at the instant.
        assert [v[register] for _, v in messages] == [v[register] for _, v in instantaneous[code]]
    assert checked > 100
    main = "YH-A-EM-MAIN"
    assert [v["power_kw"] for _, v in mean[main][1:]] != [v["power_kw"] for _, v in instantaneous[main][1:]]


def test_a_one_sample_offset_of_a_mean_rate_is_refused(write_scenario: Callable[[str], Path]) -> None:
    text = YH_DAY.format(duration="6h") + (
        "reporting: {by_kind: {electricity_meter: {flow: interval_mean}}}\n"
        "faults:\n"
        "  - {kind: spike, device: YH-A-EM-MAIN, start: 2h, params: {quantity: power_kw, delta: 500}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        plan_of(write_scenario(text))
    assert caught.value.problems == (
        "line 10, faults[0].params.quantity: YH-A-EM-MAIN sends power_kw as the mean of energy_kwh since its "
        "last message (flow: interval_mean), so one sample of it cannot be off",
    )

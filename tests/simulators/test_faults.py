"""Faults and events of real buildings: a dead device, a planned meter swap, a harmless glitch, an open-ended
drift; each in the data exactly as labelled, with ground truth that tells faults from planned work and events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulators.faults import CATALOGUE, Category, FaultKind
from simulators.scenario import Plan
from tests.simulators.conftest import plan_of, wire

HEAD = """\
name: events
seed: 21
start: 2026-06-16T00:00:00+08:00
duration: 1d
step: 1m
buildings: [YH-A]
device_kinds: [electricity_meter, climate_sensor, water_meter]
"""


def truth(plan: Plan, code: str) -> dict[str, Any]:
    """The ground-truth record of the one fault on `code`."""
    (record,) = [f.truth(scenario=plan.name, run_id="r") for f in plan.faults if f.device.code == code]
    return record


def test_a_planned_meter_swap_is_silent_then_counts_from_the_new_reading(
    write_scenario: Callable[[str], Path],
) -> None:
    text = HEAD + (
        "reporting: {by_kind: {electricity_meter: {interval_s: 300}}}\n"
        "faults:\n"
        "  - {kind: meter_swap, device: YH-A-2F-EM-01, start: 10h, end: 11h30m}\n"
        "  - {kind: meter_swap, device: YH-A-WM-MAIN, start: 14h, end: 14h20m, params: {new_reading: 12.5}}\n"
    )
    plan = plan_of(write_scenario(text))
    sent = wire(plan)
    for code, key, new in (("YH-A-2F-EM-01", "energy_kwh", 0.0), ("YH-A-WM-MAIN", "volume_m3", 12.5)):
        record = truth(plan, code)
        start, end = (datetime.fromisoformat(record[k].replace("Z", "+00:00")) for k in ("start", "end"))
        assert not [ts for ts, _ in sent[code] if start <= ts < end]  # silent while it is swapped
        before = [v[key] for ts, v in sent[code] if ts < start]
        after = [(ts, v[key]) for ts, v in sent[code] if ts >= end]
        assert after[0][0] == end  # the new meter reports at once
        assert new <= after[0][1] < new + 1  # from the new reading: what it counted since it started
        assert before[-1] > 1000  # the old register had years on it
        assert [v for _, v in after] == sorted(v for _, v in after)  # and the new one counts up
        assert (record["category"], record["rule_kind"]) == ("planned", None)
        assert record["would_trip"] == ["offline", "rate_of_change"]


def test_a_dead_device_is_silent_to_the_end_of_the_run(write_scenario: Callable[[str], Path]) -> None:
    plan = plan_of(
        write_scenario(HEAD + "faults:\n  - {kind: dead_device, device: YH-A-3F-CS-02, start: 9h}\n")
    )
    sent = wire(plan)
    assert max(ts for ts, _ in sent["YH-A-3F-CS-02"]) == plan.start + timedelta(hours=9) - timedelta(
        minutes=1
    )
    record = truth(plan, "YH-A-3F-CS-02")
    assert record["end"] == "2026-06-16T16:00:00Z"  # the run's end
    assert (record["category"], record["rule_kind"]) == ("fault", "offline")


def test_a_glitch_is_one_reading_off_then_back_and_labelled_as_a_harmless_event(
    write_scenario: Callable[[str], Path],
) -> None:
    text = HEAD + (
        "faults:\n"
        "  - {kind: glitch, device: YH-A-5F-CS-01, start: 11h, params: {quantity: temperature_c, delta: 4}}\n"
    )
    glitched = wire(plan_of(write_scenario(text)))["YH-A-5F-CS-01"]
    normal = wire(plan_of(write_scenario(HEAD)))["YH-A-5F-CS-01"]
    differs = [
        ts
        for (ts, got), (_, was) in zip(glitched, normal, strict=True)
        if got["temperature_c"] != was["temperature_c"]
    ]
    assert differs == [datetime.fromisoformat("2026-06-16T11:00:00+08:00")]
    record = truth(plan_of(write_scenario(text)), "YH-A-5F-CS-01")
    assert (record["category"], record["rule_kind"], record["would_trip"]) == (
        "event",
        None,
        ["rate_of_change"],
    )


def test_a_one_reading_fault_on_a_device_that_sends_every_few_steps_lands_on_its_next_message(
    write_scenario: Callable[[str], Path],
) -> None:
    text = HEAD + (
        "reporting: {by_kind: {climate_sensor: {interval_s: 900}}}\n"
        "faults:\n"
        "  - {kind: glitch, device: YH-A-5F-CS-01, start: 11h1m, params: {quantity: temperature_c, delta: 4}}\n"
        "  - {kind: spike, device: YH-A-6F-CS-01, start: 11h1m, params: {quantity: temperature_c, delta: 12}}\n"
    )
    plan = plan_of(write_scenario(text))
    sent = wire(plan)
    for code in ("YH-A-5F-CS-01", "YH-A-6F-CS-01"):
        record = truth(plan, code)
        at = datetime.fromisoformat(record["start"].replace("Z", "+00:00"))
        assert (
            timedelta(0) <= at - datetime.fromisoformat("2026-06-16T11:01:00+08:00") < timedelta(minutes=15)
        )
        times = [ts for ts, _ in sent[code]]
        assert at in times  # the one message that carries it
        i = times.index(at)
        jump = sent[code][i][1]["temperature_c"] - sent[code][i - 1][1]["temperature_c"]
        assert jump > 3
        assert sent[code][i + 1][1]["temperature_c"] - sent[code][i - 1][1]["temperature_c"] < 1


def test_a_drift_without_an_end_runs_to_the_end_of_the_run(write_scenario: Callable[[str], Path]) -> None:
    text = HEAD + "faults:\n  - {kind: drift, device: YH-A-7F-CS-01, start: 6h, params: {drift_per_day: 2}}\n"
    plan = plan_of(write_scenario(text))
    record = truth(plan, "YH-A-7F-CS-01")
    assert (record["start"], record["end"]) == ("2026-06-15T22:00:00Z", "2026-06-16T16:00:00Z")
    drifted = dict(wire(plan)["YH-A-7F-CS-01"])
    normal = dict(wire(plan_of(write_scenario(HEAD)))["YH-A-7F-CS-01"])
    last = max(drifted)
    assert drifted[last]["temperature_c"] - normal[last]["temperature_c"] == pytest.approx(1.5, abs=0.02)


def test_every_catalogue_entry_says_what_it_is_and_what_should_catch_it() -> None:
    for kind, info in CATALOGUE.items():
        if info.category is Category.FAULT:
            assert info.rule_kind is not None, kind
            assert not info.would_trip, kind
        else:
            assert info.rule_kind is None, kind  # no alarm is wanted on planned work or a harmless event
            assert info.would_trip, kind
    assert {k for k, i in CATALOGUE.items() if i.category is not Category.FAULT} == {
        FaultKind.METER_SWAP,
        FaultKind.GLITCH,
    }

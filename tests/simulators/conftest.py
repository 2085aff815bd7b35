"""Simulator test helpers: scenarios bound to the seed register's devices, without a database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from cityhall.assets import load_yaml, seed_path
from simulators.engine import Simulation
from simulators.fleet import DeviceRecord, records_from_document, records_synthesized, simulated
from simulators.scenario import SCENARIO_DIR, Plan, load_scenario, plan
from simulators.weather import TainanWeather


@cache
def seed_records() -> tuple[DeviceRecord, ...]:
    """The seed register's devices (parsed once per session)."""
    return tuple(records_from_document(load_yaml(seed_path())))


def plan_of(path: Path, *, without_faults: bool = False) -> Plan:
    """A scenario file bound to fresh simulated devices; optionally the same run with no faults."""
    scenario = load_scenario(path)
    if without_faults:
        scenario = type(scenario)(
            scenario.spec.model_copy(update={"faults": ()}), scenario.path, scenario.source
        )
    spec = scenario.spec
    records = records_synthesized(spec.scale) if spec.scale else seed_records()
    return plan(scenario, simulated(records, seed=spec.seed))


# Messages per device in time order: (time stamp, values).
Wire = dict[str, list[tuple[datetime, dict[str, float]]]]


def wire(plan: Plan, *, codes: set[str] | None = None) -> Wire:
    """Every message the plan sends, per device, in time order; only `codes`' devices when given (a device
    sends the same whichever others are simulated, so this is the cheap way to follow a few)."""
    sim = plan.simulation()
    if codes is not None:
        spec = plan.scenario.spec
        sim = Simulation(
            [d for d in plan.devices if d.code in codes],
            start=plan.start,
            step=spec.step,
            weather=TainanWeather(spec.seed),
            faults=plan.faults,
            report=spec.reporting is not None,
        )
    out: Wire = defaultdict(list)
    for tick in sim.ticks(plan.end):
        for device, values, ts in tick.stamped:
            out[device.code].append((ts, values))
        for device, values in tick.samples:
            out[device.code].append((tick.ts, values))
    return out


def standard(name: str) -> Path:
    """A shipped scenario file by name."""
    return SCENARIO_DIR / f"{name}.yaml"


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str], Path]:
    """Write scenario YAML text to a file and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write

"""Energy test fixtures: a year-free, five-day backfill of the seed meters with register faults, and its twin.

The twin is the same simulation without faults (the simulator guarantees the two differ only where the faults
act), so its plain register differences are the true consumption the faulty run must reproduce.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from cityhall.assets import load_yaml, seed_path
from cityhall.energy.register import MeterRegister, register_from_document
from cityhall.timeseries.influx import InfluxStore
from simulators.fleet import records_from_document, simulated
from simulators.modes import run_backfill
from simulators.scenario import Plan, load_scenario, plan
from tests import servers

SCENARIO = Path(__file__).with_name("scenario-energy.yaml")


@cache
def seed_register() -> MeterRegister:
    """The seed asset register's energy view."""
    return register_from_document(load_yaml(seed_path()))


def energy_plan(*, without_faults: bool = False) -> Plan:
    """The energy scenario bound to fresh simulated seed devices (optionally with its faults removed)."""
    scenario = load_scenario(SCENARIO)
    if without_faults:
        scenario = type(scenario)(
            scenario.spec.model_copy(update={"faults": ()}), scenario.path, scenario.source
        )
    records = records_from_document(load_yaml(seed_path()))
    return plan(scenario, simulated(records, seed=scenario.spec.seed))


@dataclass(frozen=True, slots=True)
class Backfilled:
    """Two reading stores holding the same five days: with register faults, and the clean truth."""

    faulty: InfluxStore
    clean: InfluxStore
    start: datetime
    end: datetime


@pytest.fixture(scope="session")
def backfilled(influx: servers.InfluxServer) -> Iterator[Backfilled]:
    """The energy scenario backfilled into InfluxDB twice: `energy_faulty` and `energy_clean`."""
    stores = []
    for name, without_faults in (("energy_faulty", False), ("energy_clean", True)):
        influx.create_database(name)
        store = InfluxStore(influx.url, name)
        the_plan = energy_plan(without_faults=without_faults)
        run_backfill(the_plan, store, show_progress=False)
        stores.append(store)
    the_plan = energy_plan()
    yield Backfilled(stores[0], stores[1], the_plan.start, the_plan.end)
    for store in stores:
        store.close()

"""Fixtures for the conservation tests: the API fixtures of tests/api (an app on SQLite and PostgreSQL, people,
tokens) with an asset register that has departments, and five days of seed readings in a real InfluxDB.

The readings are the energy tests' scenario (tests/energy/scenario-energy.yaml) without its register faults,
backfilled into a database of their own, so the truth is plain register differences of the raw readings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from cityhall.assets import AssetDocument, seed_path
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import MeterRegister, register_from_document
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from simulators.modes import run_backfill
from tests import servers
from tests.api import conftest as api_fixtures
from tests.energy.conftest import energy_plan

# The API tests' fixtures, shared: an app on a fresh database (SQLite, then PostgreSQL), people and tokens.
settings = api_fixtures.settings
session_factory = api_fixtures.session_factory
password_hash = api_fixtures.password_hash
people = api_fixtures.people
client = api_fixtures.client
auth_for = api_fixtures.auth_for

READINGS_DB = "conservation_readings"
# Two departments on the Yonghua main building's 9th floor (1150 and 1100 m2 of its 44800 m2).
DEPARTMENTS = {
    "DBAS": ("Budget, Accounting and Statistics", ["YH-A-9F-OFF-01"]),
    "PERS": ("Personnel", ["YH-A-9F-OFF-02"]),
}


@cache
def conservation_register() -> MeterRegister:
    """The seed register with two departments added."""
    data: dict[str, Any] = yaml.safe_load(seed_path().read_text(encoding="utf-8"))
    data["departments"] = [
        {"code": code, "name": name, "spaces": spaces} for code, (name, spaces) in DEPARTMENTS.items()
    ]
    return register_from_document(AssetDocument.model_validate(data))


@pytest.fixture
def register() -> MeterRegister:
    """The register the tests use."""
    return conservation_register()


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    """The application under test, with the register that has departments."""
    application = create_app(settings, session_factory)
    application.state.meter_register = conservation_register()
    return application


@dataclass(frozen=True, slots=True)
class Readings:
    """Five days of the seed meters' readings in InfluxDB, without faults."""

    store: InfluxStore
    url: str
    database: str
    first_day: date
    last_day: date  # the last whole Asia/Taipei day with readings

    def raw(self, measurement: str, device: str, *, until: datetime) -> list[tuple[datetime, float]]:
        """Every reading of a device before `until`, by a plain InfluxQL select (no code under test)."""
        series = self.store.query(f'SELECT "value" FROM "{measurement}" WHERE "device" = \'{device}\'')
        points = (
            [(datetime.fromtimestamp(t / 1000, UTC), float(v)) for t, v in series[0]["values"]]
            if series
            else []
        )
        return [(ts, v) for ts, v in points if ts < until]


@pytest.fixture(scope="session")
def readings(influx: servers.InfluxServer) -> Iterator[Readings]:
    """The energy scenario (faults removed) backfilled into its own database."""
    influx.create_database(READINGS_DB)
    store = InfluxStore(influx.url, READINGS_DB)
    plan = energy_plan(without_faults=True)
    run_backfill(plan, store, show_progress=False)
    first = plan.start.astimezone(TAIPEI).date()
    last = plan.end.astimezone(TAIPEI).date()
    if plan.end.astimezone(TAIPEI).time() == datetime.min.time():
        last = date.fromordinal(last.toordinal() - 1)
    yield Readings(store, influx.url, READINGS_DB, first, last)
    store.close()

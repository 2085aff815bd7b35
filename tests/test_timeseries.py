"""Both reading stores against real servers: idempotent writes, windows per device, outage errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cityhall.contract import Reading
from cityhall.db import Base, make_engine
from cityhall.timeseries import ReadingStore, StoreUnavailableError
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.sql import SqlStore
from tests import servers

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
TAGS = {"D-1": {"building": "MZ-DORM", "site": "MZ"}, "D-2": {"building": "YH-A", "site": "YH"}}


def _exercise(store: ReadingStore) -> None:
    readings = [Reading("D-1", "power_kw", T0 + timedelta(minutes=i), 10.0 + i) for i in range(5)]
    readings.append(Reading("D-2", "power_kw", T0, 99.5))
    readings.append(Reading("D-1", "energy_kwh", T0, 1234.5))
    store.write(readings, TAGS)
    store.write(readings[:3], TAGS)  # redelivery must not double anything
    series = store.window(quantity="power_kw", since=T0, until=T0 + timedelta(minutes=10))
    assert series["D-1"] == [(T0 + timedelta(minutes=i), 10.0 + i) for i in range(5)]
    assert series["D-2"] == [(T0, 99.5)]
    only = store.window(
        quantity="power_kw", since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=3), devices=["D-1"]
    )
    assert only == {"D-1": [(T0 + timedelta(minutes=2), 12.0), (T0 + timedelta(minutes=3), 13.0)]}
    assert store.window(quantity="power_kw", since=T0, until=T0, devices=[]) == {}


def test_sql_store(db_url: str) -> None:
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    store = SqlStore(engine)
    _exercise(store)
    store.close()


def test_influx_store(influx: servers.InfluxServer) -> None:
    influx.create_database("store_test")
    store = InfluxStore(influx.url, "store_test")
    _exercise(store)
    result = store.query('SELECT count("value") FROM "power_kw" WHERE "building" = \'MZ-DORM\'')
    assert result[0]["values"][0][1] == 5  # tags were written, duplicates were not
    store.close()


def test_influx_outage_raises_unavailable() -> None:
    store = InfluxStore(f"http://127.0.0.1:{servers.free_port()}", "cityhall", timeout_s=1)
    with pytest.raises(StoreUnavailableError):
        store.write([Reading("D-1", "power_kw", T0, 1.0)], TAGS)
    assert store.ping() is False

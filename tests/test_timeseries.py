"""Both reading stores against real servers: idempotent writes, windows per device, outage errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

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


def test_influx_writes_reopen_a_stale_connection_and_run_from_threads() -> None:
    """/write keeps one connection alive per thread. After a server restart that connection is stale: the next
    write reopens it instead of failing (which would spool a batch for nothing). Writes from several threads
    at once all land; an error answer names InfluxDB's reason."""
    with servers.InfluxServer() as influx:
        influx.create_database("restart")
        store = InfluxStore(influx.url, "restart")
        store.write([Reading("D-1", "power_kw", T0, 1.0)], TAGS)
        influx.restart()
        store.write([Reading("D-1", "power_kw", T0 + timedelta(minutes=1), 2.0)], TAGS)

        def write_hour(hour: int) -> None:
            start = T0 + timedelta(hours=hour)
            store.write(
                [Reading("D-2", "power_kw", start + timedelta(seconds=s), s) for s in range(600)], TAGS
            )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(write_hour, range(1, 9)))
        counts = {s["tags"]["device"]: s["values"][0][1] for s in _counts(store)}
        assert counts == {"D-1": 2, "D-2": 8 * 600}

        missing = InfluxStore(influx.url, "no_such_db")
        with pytest.raises(StoreUnavailableError, match=r"404.*database not found"):
            missing.write([Reading("D-1", "power_kw", T0, 1.0)], TAGS)
        missing.close()
        store.close()


def _counts(store: InfluxStore) -> list[dict[str, Any]]:
    return store.query('SELECT count("value") FROM "power_kw" GROUP BY "device"')

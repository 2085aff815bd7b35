"""Both reading stores against real servers: idempotent writes, windows per device, the aggregates reports
read (the same figures from either store), outage errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cityhall.contract import Reading
from cityhall.db import Base, make_engine
from cityhall.models import ReadingRow
from cityhall.timeseries import AggregatingStore, BucketStats, ReadingStore, StoreUnavailableError
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


# 23:00 on 31 October in Taipei: a register read every 15 minutes for three hours crosses local midnight.
LATE = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)


def _exercise_aggregates(store: AggregatingStore) -> None:
    """Buckets start at Asia/Taipei midnight; empty ones are left out; windows are [since, until)."""
    quarter = timedelta(minutes=15)
    register = [Reading("M.1", "energy_kwh", LATE + i * quarter, 100.0 + i * i) for i in range(12)]
    register.append(Reading("M-2", "energy_kwh", MIDNIGHT + quarter, 7.0))
    power = [
        Reading("M.1", "power_kw", LATE + i * quarter, float(v)) for i, v in enumerate((4, 8, 1, 3, 5, 5))
    ]
    store.write([*register, *power], TAGS)
    since, until = LATE - timedelta(days=1), LATE + timedelta(hours=3)
    day = timedelta(days=1)
    stats = store.bucket_stats(
        quantity="energy_kwh", devices=["M.1", "M-2"], since=since, until=until, bucket=day
    )
    assert stats == {
        "M.1": [
            BucketStats(MIDNIGHT - day, 100.0, 109.0, 100.0, 109.0),
            BucketStats(MIDNIGHT, 116.0, 221.0, 116.0, 221.0),
        ],
        "M-2": [BucketStats(MIDNIGHT, 7.0, 7.0, 7.0, 7.0)],
    }
    means = store.bucket_means(
        quantity="power_kw", devices=["M.1"], since=LATE, until=LATE + timedelta(hours=2), bucket=2 * quarter
    )
    assert means == {"M.1": {LATE: 6.0, LATE + 2 * quarter: 2.0, MIDNIGHT: 5.0}}
    peaks = store.peak_bucket_means(
        quantity="power_kw", devices=["M.1", "M-2"], since=LATE, until=MIDNIGHT, bucket=2 * quarter
    )
    assert peaks == {"M.1": 6.0}  # the bucket from midnight is outside [since, until)
    last = store.last_readings(quantity="energy_kwh", devices=["M.1", "M-2"], since=since, until=MIDNIGHT)
    assert last == {"M.1": (MIDNIGHT - quarter, 109.0)}
    assert store.bucket_stats(quantity="energy_kwh", devices=[], since=since, until=until, bucket=day) == {}


def test_sql_store(db_url: str) -> None:
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    store = SqlStore(engine)
    _exercise(store)
    _exercise_aggregates(store)
    store.close()


def test_sql_store_rows_written_fast_are_the_rows_sqlalchemy_writes(tmp_path: Path) -> None:
    """SQLite: the store writes through the driver with its own time format; SQLAlchemy must find (and
    overwrite) those rows by their primary key, or a redelivery would double a reading."""
    engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    Base.metadata.create_all(engine)
    store = SqlStore(engine)
    at = T0 + timedelta(microseconds=250)
    store.write([Reading("D-1", "power_kw", at, 1.0), Reading("D-1", "power_kw", T0, 2.0)], TAGS)
    store._write_rows([Reading("D-1", "power_kw", at, 3.0)])  # SQLAlchemy's own insert, on the same key
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ReadingRow)) == 2
        assert conn.scalar(select(ReadingRow.value).where(ReadingRow.ts == at)) == 3.0
    assert store.window(quantity="power_kw", since=T0, until=at) == {"D-1": [(T0, 2.0), (at, 3.0)]}
    store.close()


def test_influx_store(influx: servers.InfluxServer) -> None:
    influx.create_database("store_test")
    store = InfluxStore(influx.url, "store_test")
    _exercise(store)
    _exercise_aggregates(store)
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

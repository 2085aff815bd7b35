"""Readings in the SQL database: the embedded default for a laptop (SQLite) with no InfluxDB.

A full reading store, not a stub: the aggregates the committee reports and EnPIs need (first, last, min and
max per bucket, bucket means, peaks) are computed by the database in one grouped query each, as InfluxDB
computes them, so a year of 15-minute readings never travels to Python row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Executable, Select, and_, cast, extract, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from cityhall.contract import Reading
from cityhall.models import ReadingRow
from cityhall.timeseries import BUCKET_ZONE, BucketStats, DeviceTags, Point, Series, StoreUnavailableError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# SQLite: how SQLAlchemy's DateTime stores a (UTC) time, so rows written by the fast path below and rows
# written or compared through SQLAlchemy are the same text (the primary key and every range query rely on it).
_SQLITE_UPSERT = (
    "INSERT INTO readings (device, quantity, ts, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (device, quantity, ts) DO UPDATE SET value = excluded.value"
)


def sqlite_time(ts: datetime) -> str:
    """A time as SQLAlchemy's SQLite DateTime stores it: UTC, `YYYY-MM-DD HH:MM:SS.ffffff`."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class SqlStore:
    """Reading store on the readings table; an upsert on the primary key keeps writes idempotent."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._insert = sqlite.insert if self._sqlite else postgresql.insert

    def write(self, readings: Sequence[Reading], tags: Mapping[str, DeviceTags]) -> None:
        """Upsert readings in one transaction (tags live in the asset register, not repeated per row)."""
        if not readings:
            return
        try:
            if self._sqlite:
                self._write_sqlite(readings)
            else:
                self._write_rows(readings)
        except OperationalError as err:
            raise StoreUnavailableError(f"SQL readings write failed: {err}") from err

    def _write_sqlite(self, readings: Sequence[Reading]) -> None:
        # The driver's executemany with the times formatted once per distinct time: SQLAlchemy's per-row
        # parameter processing was two thirds of a write (a year of backfill for the demo: 20 s -> 7 s).
        # One row per key within a batch: the same reading delivered twice in a batch must not conflict.
        stamps: dict[datetime, str] = {}
        rows: dict[tuple[str, str, str], float] = {}
        for r in readings:
            stamp = stamps.get(r.ts)
            if stamp is None:
                stamp = stamps[r.ts] = sqlite_time(r.ts)
            rows[(r.device, r.quantity, stamp)] = r.value
        with self.engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(_SQLITE_UPSERT, [(*key, value) for key, value in rows.items()])
            finally:
                cursor.close()

    def _write_rows(self, readings: Sequence[Reading]) -> None:
        rows = {
            (r.device, r.quantity, r.ts): {
                "device": r.device,
                "quantity": r.quantity,
                "ts": r.ts,
                "value": r.value,
            }
            for r in readings
        }
        stmt = self._insert(ReadingRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["device", "quantity", "ts"], set_={"value": stmt.excluded.value}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, list(rows.values()))

    def window(
        self, *, quantity: str, since: datetime, until: datetime, devices: Sequence[str] | None = None
    ) -> Series:
        """Readings of one quantity per device in [since, until], oldest first."""
        stmt = (
            select(ReadingRow.device, ReadingRow.ts, ReadingRow.value)
            .where(ReadingRow.quantity == quantity, ReadingRow.ts >= since, ReadingRow.ts <= until)
            .order_by(ReadingRow.device, ReadingRow.ts)
        )
        if devices is not None:
            stmt = stmt.where(ReadingRow.device.in_(list(devices)))
        out: Series = {}
        with self.engine.connect() as conn:
            for device, ts, value in conn.execute(stmt):
                out.setdefault(device, []).append((ts, value))
        return out

    # The aggregates of AggregatingStore: grouped in the database, on the primary key (device, quantity, ts).
    def _epoch_s(self) -> ColumnElement[int]:
        """A reading's time in whole seconds since 1970 (UTC), in this database's dialect."""
        if self._sqlite:
            return cast(func.strftime("%s", ReadingRow.ts), BigInteger)
        return cast(func.floor(extract("epoch", ReadingRow.ts)), BigInteger)

    def _filter(
        self, quantity: str, devices: Sequence[str], since: datetime, until: datetime
    ) -> list[ColumnElement[bool]]:
        return [
            ReadingRow.device.in_(list(devices)),
            ReadingRow.quantity == quantity,
            ReadingRow.ts >= since,
            ReadingRow.ts < until,
        ]

    def _buckets(self, bucket: timedelta, since: datetime) -> tuple[ColumnElement[int], Any]:
        """The bucket number of a reading, and a function from bucket number to the bucket's start."""
        step = int(bucket.total_seconds())
        if step <= 0 or step != bucket.total_seconds() or 86_400 % step:
            raise ValueError(f"a bucket divides a day into whole seconds, not {bucket}")
        offset = int((BUCKET_ZONE.utcoffset(since) or timedelta(0)).total_seconds())

        def start(number: int) -> datetime:
            return _EPOCH + timedelta(seconds=number * step - offset)

        return ((self._epoch_s() + offset) // step).label("bucket"), start

    def _rows(self, stmt: Executable) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def bucket_stats(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, list[BucketStats]]:
        """Per device, each bucket's first, last, lowest and highest reading, oldest bucket first: one
        grouped query finds each bucket's first and last time, and the primary key gives their values."""
        if not devices:
            return {}
        number, start = self._buckets(bucket, since)
        groups = (
            select(
                ReadingRow.device,
                number,
                func.min(ReadingRow.ts).label("first_ts"),
                func.max(ReadingRow.ts).label("last_ts"),
                func.min(ReadingRow.value).label("low"),
                func.max(ReadingRow.value).label("high"),
            )
            .where(*self._filter(quantity, devices, since, until))
            .group_by(ReadingRow.device, number)
            .subquery()
        )
        first, last = aliased(ReadingRow), aliased(ReadingRow)
        stmt = (
            select(groups.c.device, groups.c.bucket, first.value, last.value, groups.c.low, groups.c.high)
            .join(first, _at(first, quantity, groups.c.device, groups.c.first_ts))
            .join(last, _at(last, quantity, groups.c.device, groups.c.last_ts))
            .order_by(groups.c.device, groups.c.bucket)
        )
        out: dict[str, list[BucketStats]] = {}
        for device, n, first_value, last_value, low, high in self._rows(stmt):
            out.setdefault(device, []).append(BucketStats(start(n), first_value, last_value, low, high))
        return out

    def _means(
        self, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> tuple[Select[Any], Any]:
        number, start = self._buckets(bucket, since)
        stmt = (
            select(ReadingRow.device, number, func.avg(ReadingRow.value).label("mean"))
            .where(*self._filter(quantity, devices, since, until))
            .group_by(ReadingRow.device, number)
        )
        return stmt, start

    def bucket_means(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, dict[datetime, float]]:
        """Per device, each bucket's mean reading."""
        if not devices:
            return {}
        stmt, start = self._means(quantity, devices, since, until, bucket)
        out: dict[str, dict[datetime, float]] = {}
        for device, n, mean in self._rows(stmt.order_by(ReadingRow.device, "bucket")):
            out.setdefault(device, {})[start(n)] = float(mean)
        return out

    def peak_bucket_means(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, float]:
        """Per device, the highest of its bucket means."""
        if not devices:
            return {}
        means = self._means(quantity, devices, since, until, bucket)[0].subquery()
        stmt = select(means.c.device, func.max(means.c.mean)).group_by(means.c.device)
        return {device: float(peak) for device, peak in self._rows(stmt) if peak is not None}

    def last_readings(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, Point]:
        """Per device, its last reading in [since, until) with its time."""
        if not devices:
            return {}
        latest = (
            select(ReadingRow.device, func.max(ReadingRow.ts).label("ts"))
            .where(*self._filter(quantity, devices, since, until))
            .group_by(ReadingRow.device)
            .subquery()
        )
        row = aliased(ReadingRow)
        stmt = select(row.device, row.ts, row.value).join(
            latest, _at(row, quantity, latest.c.device, latest.c.ts)
        )
        return {device: (ts, value) for device, ts, value in self._rows(stmt)}

    def close(self) -> None:
        """Dispose of the engine's pool."""
        self.engine.dispose()


def _at(
    row: Any, quantity: str, device: ColumnElement[str], ts: ColumnElement[datetime]
) -> ColumnElement[bool]:
    """The join condition picking one reading by its primary key."""
    return and_(row.device == device, row.quantity == quantity, row.ts == ts)

"""Readings in the SQL database: the embedded default for a laptop (SQLite) with no InfluxDB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from cityhall.contract import Reading
from cityhall.models import ReadingRow
from cityhall.timeseries import DeviceTags, Series, StoreUnavailableError


class SqlStore:
    """Reading store on the readings table; an upsert on the primary key keeps writes idempotent."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def write(self, readings: Sequence[Reading], tags: Mapping[str, DeviceTags]) -> None:
        """Upsert readings in one transaction (tags live in the asset register, not repeated per row)."""
        if not readings:
            return
        # One row per key within a batch: the same reading delivered twice in a batch must not conflict.
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
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt, list(rows.values()))
        except OperationalError as err:
            raise StoreUnavailableError(f"SQL readings write failed: {err}") from err

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

    def close(self) -> None:
        """Dispose of the engine's pool."""
        self.engine.dispose()

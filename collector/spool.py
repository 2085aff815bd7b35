"""Store-and-forward: readings the store could not take are appended to a local SQLite file before the
broker is acknowledged, and drained to the store, oldest first, once it is back (VOLTTRON historian style:
delete only what the store acknowledged)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cityhall.contract import Reading
from cityhall.timeseries.lineprotocol import epoch_ns

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spooled_at_ns INTEGER NOT NULL,
    readings INTEGER NOT NULL,
    body BLOB NOT NULL
)
"""


class SpoolFullError(Exception):
    """The spool holds its maximum; the caller must not acknowledge, so the broker keeps the messages."""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One batch as it was spooled."""

    id: int
    readings: list[Reading]


def _encode(readings: Sequence[Reading]) -> bytes:
    # Compact rows: [device, quantity, epoch ns, value]; integers keep timestamps exact.
    return json.dumps([[r.device, r.quantity, epoch_ns(r.ts), r.value] for r in readings]).encode()


def _decode(body: bytes) -> list[Reading]:
    out = []
    for device, quantity, ns, value in json.loads(body):
        seconds, rest_ns = divmod(ns, 1_000_000_000)
        ts = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest_ns // 1000)
        out.append(Reading(device, quantity, ts, value))
    return out


class Spool:
    """A bounded, durable FIFO of reading batches in one SQLite file (synchronous=FULL: an append that
    returned survives power loss)."""

    def __init__(self, path: Path, *, max_readings: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_readings = max_readings
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        row = self._db.execute("SELECT COALESCE(SUM(readings), 0), COUNT(*) FROM spool").fetchone()
        self._readings, self._batches = int(row[0]), int(row[1])

    @property
    def readings(self) -> int:
        """Readings waiting to be drained."""
        return self._readings

    @property
    def batches(self) -> int:
        """Batches waiting to be drained."""
        return self._batches

    @property
    def fill_ratio(self) -> float:
        """How full the spool is, 0..1."""
        return self._readings / self.max_readings

    def append(self, readings: Sequence[Reading]) -> None:
        """Durably append one batch, or raise SpoolFullError without writing anything."""
        if not readings:
            return
        with self._lock:
            if self._readings + len(readings) > self.max_readings:
                raise SpoolFullError(f"spool holds {self._readings} of {self.max_readings} readings")
            self._db.execute(
                "INSERT INTO spool (spooled_at_ns, readings, body) VALUES (?, ?, ?)",
                (epoch_ns(datetime.now(UTC)), len(readings), _encode(readings)),
            )
            self._readings += len(readings)
            self._batches += 1

    def oldest(self) -> SpooledBatch | None:
        """The oldest batch, left in place until `remove` says the store has it."""
        with self._lock:
            row = self._db.execute("SELECT id, body FROM spool ORDER BY id LIMIT 1").fetchone()
        return None if row is None else SpooledBatch(int(row[0]), _decode(row[1]))

    def remove(self, batch: SpooledBatch) -> None:
        """Forget a batch the store has acknowledged."""
        with self._lock:
            deleted = self._db.execute("DELETE FROM spool WHERE id = ?", (batch.id,)).rowcount
            if deleted:
                self._readings -= len(batch.readings)
                self._batches -= 1

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

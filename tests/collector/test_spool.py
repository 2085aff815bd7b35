"""The spool: durable, bounded, oldest first, and exact about what it gives back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cityhall.contract import Reading
from collector.spool import Spool, SpoolFullError

T0 = datetime(2026, 11, 26, 2, 0, 0, 123456, tzinfo=UTC)


def batch(start: int, n: int) -> list[Reading]:
    return [
        Reading("MZ-DORM-EM-MAIN", "power_kw", T0 + timedelta(seconds=start + i), 40.0 + i) for i in range(n)
    ]


def test_fifo_and_exact_round_trip(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_readings=100)
    spool.append(batch(0, 3))
    spool.append(batch(3, 2))
    assert (spool.batches, spool.readings) == (2, 5)
    first = spool.oldest()
    assert first is not None
    assert first.readings == batch(0, 3)  # microsecond timestamps and values come back exactly
    spool.remove(first)
    second = spool.oldest()
    assert second is not None
    assert second.readings == batch(3, 2)
    spool.remove(second)
    spool.remove(second)  # removing twice changes nothing
    assert spool.oldest() is None
    assert (spool.batches, spool.readings) == (0, 0)


def test_survives_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_readings=100)
    spool.append(batch(0, 4))
    spool.close()
    reopened = Spool(tmp_path / "spool.db", max_readings=100)
    assert reopened.readings == 4
    oldest = reopened.oldest()
    assert oldest is not None
    assert oldest.readings == batch(0, 4)


def test_bounded(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_readings=5)
    spool.append(batch(0, 4))
    assert spool.fill_ratio == pytest.approx(0.8)
    with pytest.raises(SpoolFullError, match="4 of 5"):
        spool.append(batch(4, 2))
    assert spool.readings == 4  # nothing half-written

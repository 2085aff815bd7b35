"""The device directory while the database is down: known devices keep flowing, unknown ones are quarantined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import encode_native, readings_topic
from cityhall.models import DeadLetterCategory
from cityhall.timeseries.sql import SqlStore
from collector import devices as devices_module
from collector.devices import DeviceDirectory
from collector.mqttwire import Message
from collector.payloads import default_registry
from collector.writer import BatchWriter

METER = "MZ-DORM-EM-MAIN"


class Clock:
    """Stands in for the `time` module in collector.devices: a monotonic clock that moves when the test says,
    so the refresh and retry intervals are checked exactly, however slow the machine."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        """The test's now."""
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The device directory's clock."""
    fake = Clock()
    monkeypatch.setattr(devices_module, "time", fake)
    return fake


def _rename(factory: sessionmaker[Session], old: str, new: str) -> None:
    with factory() as session:
        session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
        session.commit()


def test_a_failed_reload_keeps_the_known_devices_and_waits_before_retrying(
    factory: sessionmaker[Session], clock: Clock
) -> None:
    devices = DeviceDirectory(factory, refresh_s=0.0, retry_s=0.5)  # every lookup would reload
    devices.reload()
    known = devices.lookup(METER)
    assert known is not None
    _rename(factory, "devices", "devices_away")  # the database refuses the directory's query
    try:
        with structlog.testing.capture_logs() as logs:
            for _ in range(20):
                clock.now += 0.01  # time passes, less than retry_s in all
                assert devices.lookup(METER) == known
                assert devices.lookup("NOT-REGISTERED") is None
            assert devices.quantities(METER) == frozenset({"power_kw", "energy_kwh"})
        failures = [e for e in logs if e["event"] == "device_reload_failed"]
        assert len(failures) == 1  # one attempt, then none until retry_s has passed
        assert failures[0]["known_devices"] > 60
    finally:
        _rename(factory, "devices_away", "devices")
    clock.now += 0.6
    assert devices.lookup(METER) == known  # reloads again once the database answers


def test_triage_during_an_outage_quarantines_unknown_devices_instead_of_failing(
    factory: sessionmaker[Session],
) -> None:
    devices = DeviceDirectory(factory, retry_s=60.0)
    devices.reload()
    writer = BatchWriter(
        registry=default_registry("cityhall/v1"),
        devices=devices,
        store=SqlStore(factory.kw["bind"]),
        session_factory=factory,
    )
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    batch = [
        Message(1, 1, readings_topic("cityhall/v1", code), encode_native(code, ts, {"power_kw": 12.5}))
        for code in (METER, "NEW-METER-01")
    ]
    _rename(factory, "devices", "devices_away")
    try:
        result = writer.triage(batch)
    finally:
        _rename(factory, "devices_away", "devices")
    assert [(r.device, r.quantity, r.value) for r in result.readings] == [(METER, "power_kw", 12.5)]
    (letter,) = result.dead_letters
    assert (letter.device, letter.category) == ("NEW-METER-01", DeadLetterCategory.UNKNOWN_DEVICE)


def test_current_quantities_is_the_register_reloaded_once_it_is_old(
    factory: sessionmaker[Session], clock: Clock
) -> None:
    """Triage reads the map once per batch: it must still follow the register after the refresh interval."""
    devices = DeviceDirectory(factory, refresh_s=0.3)
    devices.reload()
    assert devices.current_quantities()[METER] == frozenset({"power_kw", "energy_kwh"})
    with factory() as session:
        session.execute(
            text("UPDATE devices SET is_active = :off WHERE code = :code"), {"off": False, "code": METER}
        )
        session.commit()
    assert METER in devices.current_quantities()  # not older than refresh_s yet
    clock.now += 0.4
    assert METER not in devices.current_quantities()

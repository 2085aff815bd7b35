"""The offline and flat-line rules read how each device reports, end to end: register -> runner -> alarms
(issue 15, false-alarm classes 1 and 2), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.contract import PayloadFormat, Reading
from cityhall.db import make_sessionmaker, transaction
from cityhall.models import Device
from cityhall.timeseries.sql import SqlStore
from rules.config import load_rules
from rules.runner import RulesRunner

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SENSOR = "YH-A-B1-CS-CANT"
DOOR = "YH-A-B1-DC-SUB"
QUARTER = timedelta(minutes=15)


def _runner(engine: Engine) -> tuple[RulesRunner, SqlStore]:
    store = SqlStore(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        session.execute(
            update(Device)
            .where(Device.code == SENSOR)
            .values(payload_format=PayloadFormat.TASMOTA, reporting={"interval_s": 900})
        )
        session.execute(update(Device).where(Device.code == DOOR).values(reporting={"interval_s": 900}))
        assert session.scalar(select(Device.kind).where(Device.code == SENSOR)) == "climate_sensor"
    rules = [d for d in load_rules() if d.key in ("sensor-flatlined", "device-offline")]
    runner = RulesRunner(
        book=rules, store=store, session_factory=factory, lookback=timedelta(minutes=30), interval_s=1
    )
    return runner, store


def _climate(store: SqlStore, start: datetime, n: int, *, frozen: bool, seed: int) -> None:
    """n Tasmota messages 15 minutes apart: temperature 26.3 throughout (0.1 degC in a quiet room);
    humidity and CO2 moving as live values do, unless the device is frozen."""
    rng = random.Random(seed)  # noqa: S311 - test data
    readings = []
    for i in range(n):
        ts = start + i * QUARTER
        humidity = 61.2 if frozen else round(60 + rng.gauss(0, 0.3), 1)
        co2 = 655.0 if frozen else float(round(650 + rng.gauss(0, 15)))
        readings += [
            Reading(SENSOR, "temperature_c", ts, 26.3),
            Reading(SENSOR, "humidity_pct", ts, humidity),
            Reading(SENSOR, "co2_ppm", ts, co2),
        ]
    store.write(readings, {})


def test_a_rounding_sensor_in_a_quiet_room_raises_nothing_until_it_hangs(engine: Engine) -> None:
    runner, store = _runner(engine)
    _climate(store, T0, 13, frozen=False, seed=1)  # three hours
    now = T0 + 12 * QUARTER
    report = runner.run_once(now + timedelta(seconds=5))
    assert report.raised == []
    # The device hangs: the same whole message, eight times over two hours.
    _climate(store, now + QUARTER, 8, frozen=True, seed=2)
    hung = runner.run_once(now + 8 * QUARTER + timedelta(seconds=5))
    assert hung.raised == [("sensor-flatlined", SENSOR)]


def test_an_on_change_door_is_not_offline_between_heartbeats_after_a_burst(engine: Engine) -> None:
    runner, store = _runner(engine)
    beats = [T0 + i * QUARTER for i in range(9)]  # two hours of 15-minute heartbeats, then a busy minute
    burst = [beats[-1] + timedelta(seconds=20 + 10 * i) for i in range(12)]
    store.write(
        [Reading(DOOR, "open_state", ts, 0.0) for ts in beats]
        + [Reading(DOOR, "open_state", ts, float(i % 2 == 0)) for i, ts in enumerate(burst)],
        {},
    )
    next_beat = beats[-1] + QUARTER
    assert runner.run_once(next_beat - timedelta(seconds=30)).raised == []
    store.write([Reading(DOOR, "open_state", next_beat, 0.0)], {})
    assert runner.run_once(next_beat + timedelta(seconds=5)).raised == []
    # Then nothing: one heartbeat missed plus the grace, and the door is offline.
    silent = runner.run_once(next_beat + QUARTER + timedelta(seconds=61))
    assert silent.raised == [("device-offline", DOOR)]


def test_a_glitch_up_and_back_is_one_alarm(engine: Engine) -> None:
    """One bad reading pair (40 degC for ten minutes in a 26 degC room) rises and falls: one alarm, which
    clears half an hour after the way back, not two alarms and two tickets."""
    store = SqlStore(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
    spike = [d for d in load_rules() if d.key == "temperature-spike"]
    runner = RulesRunner(
        book=spike, store=store, session_factory=factory, lookback=timedelta(minutes=30), interval_s=1
    )
    values = [26.0] * 6 + [40.0, 40.0] + [26.0] * 10
    raised, cleared = [], []
    for i, value in enumerate(values):
        ts = T0 + i * timedelta(minutes=5)
        store.write([Reading(SENSOR, "temperature_c", ts, value)], {})
        report = runner.run_once(ts + timedelta(seconds=5))
        raised += [(i, device) for _, device in report.raised]
        cleared += [(i, device) for _, device in report.cleared]
    assert raised == [(6, SENSOR)]
    assert cleared == [(9 + 6, SENSOR)]  # the way back is reading 8; from 9, 30 minutes without a jump

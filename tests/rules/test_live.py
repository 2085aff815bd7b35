"""Instant rules on the live stream: the pure state, then real Mosquitto -> live evaluator -> alarm and ticket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.contract import Reading, decode_native, readings_subscription
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.migrate import upgrade
from cityhall.models import Alarm, AlarmState, Ticket
from cityhall.settings import Settings
from rules.config import load_rules, parse_rules
from rules.engine import Status, Subject
from rules.evaluation import bind
from rules.live import LiveEvaluator, LiveState, owns
from tests import servers
from tests.publishing import publish_series
from tests.waiting import PATIENCE_S, wait_for

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
DORM_METER = "MZ-DORM-EM-MAIN"
RULES = parse_rules(
    {
        "rules": [
            {
                "key": "demand",
                "name": "Demand high",
                "kind": "threshold",
                "quantity": "power_kw",
                "above": 150,
                "for_seconds": 30,
                "clear_for_seconds": 20,
                "severity": "high",
                "targets": {"device_kinds": ["electricity_meter"]},
            }
        ]
    }
)
METERS = [
    Subject(f"M{i}", "electricity_meter", "B", "B-S", "office", "whole building", ("power_kw",))
    for i in range(8)
]


def readings(device: str, *values: float, start: int = 0) -> list[Reading]:
    return [
        Reading(device, "power_kw", T0 + timedelta(seconds=10 * (start + i)), v) for i, v in enumerate(values)
    ]


def test_one_change_when_the_breach_has_held_and_one_when_it_has_cleared() -> None:
    state = LiveState([bind(RULES[0], METERS)])
    assert state.feed(readings("M0", 40, 160, 170, 180)) == []  # 20 s over the limit: pending
    [(watch, subject, finding)] = state.feed(readings("M0", 190, start=4))  # 30 s: breach
    assert (watch.definition.key, subject.code, finding.status) == ("demand", "M0", Status.BREACH)
    assert state.feed(readings("M0", 200, 120, start=5)) == []  # still breaching, then recovering
    [(_, _, cleared)] = state.feed(readings("M0", 110, 100, start=7))  # 20 s normal: clears
    assert cleared.status is Status.NORMAL
    assert state.feed(readings("M0", 100, start=9)) == []


def test_late_and_duplicate_readings_take_their_place_once() -> None:
    state = LiveState([bind(RULES[0], METERS)])
    state.feed(readings("M1", 40, 50, 60))
    state.feed(readings("M1", 45, start=1))  # a redelivery of the reading at 10 s, other value
    state.feed([Reading("M1", "power_kw", T0 + timedelta(seconds=5), 44)])  # late
    [track] = state.tracks[("M1", "power_kw")]
    assert [v for _, v in track.window] == [40, 44, 50, 60]


def test_open_alarms_are_known_at_start_so_normal_readings_clear_them() -> None:
    state = LiveState([bind(RULES[0], METERS)], breached=[("demand", "M2")])
    [(_, subject, finding)] = state.feed(readings("M2", 100, 100, 100))
    assert (subject.code, finding.status) == ("M2", Status.NORMAL)
    assert state.feed(readings("M3", 100, 100, 100)) == []  # no alarm there: nothing to clear


def test_partitions_split_the_devices_between_engines() -> None:
    codes = [f"DEV-{i}" for i in range(300)]
    shares = [[c for c in codes if owns(c, (k, 3))] for k in range(3)]
    assert sorted(c for share in shares for c in share) == sorted(codes)  # each device in exactly one
    assert all(60 < len(share) < 140 for share in shares)
    state = LiveState([bind(RULES[0], METERS)], partition=(1, 2))
    assert {device for device, _ in state.tracks} == {m.code for m in METERS if owns(m.code, (1, 2))}


@pytest.fixture
def live_world(
    mosquitto: servers.MosquittoServer, db_url: str
) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    settings = Settings(database_url=db_url, mqtt_host=mosquitto.host, mqtt_port=mosquitto.port)
    engine = make_engine(db_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
    yield settings, factory
    engine.dispose()


@pytest.mark.mosquitto
def test_readings_over_the_limit_open_a_ticket_and_normal_ones_clear_the_alarm(
    live_world: tuple[Settings, sessionmaker[Session]],
) -> None:
    settings, factory = live_world
    evaluator = LiveEvaluator(
        settings,
        book=load_rules(),
        session_factory=factory,
        decode=lambda _topic, payload: decode_native(payload),
        subscriptions=[readings_subscription(settings.mqtt_topic_prefix)],
    )
    evaluator.start()
    try:
        assert evaluator.wait_connected(PATIENCE_S)
        now = datetime.now(UTC).replace(microsecond=0)
        # dorm-demand-high: above 150 kW for 30 s. Normal, then 300 kW for 40 s.
        series = [
            (now - timedelta(seconds=90 - 10 * i), {"power_kw": 40.0 if i < 4 else 300.0}) for i in range(9)
        ]
        publish_series(settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic_prefix, DORM_METER, series)

        def ticket() -> Ticket | None:
            with factory() as session:
                return session.scalars(select(Ticket).where(Ticket.alarm_id.is_not(None))).one_or_none()

        opened = wait_for(ticket, what="a ticket from the live evaluator")
        with factory() as session:
            alarm = session.get_one(Alarm, opened.alarm_id)
            assert (alarm.rule_key, alarm.trigger_value, alarm.state) == (
                "dorm-demand-high",
                300.0,
                AlarmState.ACTIVE,
            )
            assert alarm.condition_since == series[4][0]

        # Back to normal (dorm-demand-high clears at once): the alarm clears; no second alarm is raised.
        normal = [(now + timedelta(seconds=10 * i), {"power_kw": 45.0}) for i in range(1, 3)]
        publish_series(settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic_prefix, DORM_METER, normal)

        def cleared() -> bool:
            with factory() as session:
                return session.get_one(Alarm, alarm.id).state is AlarmState.CLEARED

        wait_for(cleared, what="the alarm to clear")
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(Alarm)) == 1
        assert evaluator.health() == {"live_mqtt": True, "live_writer": True}
    finally:
        evaluator.stop()


def test_a_reload_keeps_the_windows_of_unchanged_rules_and_restarts_changed_ones() -> None:
    state = LiveState([bind(RULES[0], METERS)])
    state.feed(readings("M4", 160, 170, 180))  # 20 s over: one more reading makes a breach
    same = LiveState([bind(RULES[0], METERS)], previous=state)
    [(_, _, finding)] = same.feed(readings("M4", 190, start=3))
    assert finding.status is Status.BREACH
    stricter = RULES[0].model_copy(update={"for_seconds": 60.0})
    changed = LiveState([bind(stricter, METERS)], previous=same)
    assert changed.feed(readings("M4", 200, start=4)) == []  # a new window: pending again

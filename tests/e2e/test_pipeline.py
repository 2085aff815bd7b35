"""The whole data path with real parts: Mosquitto -> collector -> InfluxDB -> rules -> alarm + ticket -> API.

Simulated time is not needed: readings carry timestamps in the recent past, the way a device that
reconnects sends its backlog, and the rules runner is driven cycle by cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from cityhall.accounts import create_user
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.migrate import upgrade
from cityhall.models import Role
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from collector.service import Collector
from rules.config import load_rules
from rules.runner import RulesRunner
from tests import servers
from tests.e2e.e2e_helpers import get_items, sign_in
from tests.publishing import publish_series
from tests.waiting import PATIENCE_S, wait_for

pytestmark = pytest.mark.slow
DORM_METER = "MZ-DORM-EM-MAIN"
PASSWORD = "correct horse battery"


@pytest.fixture
def pipeline(
    mosquitto: servers.MosquittoServer, influx: servers.InfluxServer, postgres_url: str
) -> Iterator[tuple[Settings, sessionmaker[Session], InfluxStore]]:
    influx.create_database("e2e")
    settings = Settings(
        database_url=postgres_url,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_client_id="e2e-collector",
        influx_url=influx.url,
        influx_database="e2e",
        jwt_secret=SecretStr("e2e-" + "s" * 40),
    )
    settings.check_production()
    engine = make_engine(postgres_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        create_user(
            session,
            username="fm",
            full_name="Facility Manager",
            role=Role.FACILITY_MANAGER,
            password=PASSWORD,
            actor="test",
        )
    store = InfluxStore.from_settings(settings)
    collector = Collector(settings, store=store, session_factory=factory)
    collector.start()
    assert collector.wait_connected(PATIENCE_S)
    yield settings, factory, store
    collector.stop()
    store.close()
    engine.dispose()


def test_reading_to_ticket_and_back(pipeline: tuple[Settings, sessionmaker[Session], InfluxStore]) -> None:
    settings, factory, store = pipeline
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=5)
    # Five minutes of 10-second readings: normal for 2 minutes, then 300 kW (limit 150 kW) for 3 minutes.
    points = [
        (start + timedelta(seconds=10 * i), {"power_kw": 40.0 if i < 12 else 300.0, "energy_kwh": 5000.0 + i})
        for i in range(30)
    ]
    publish_series(settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic_prefix, DORM_METER, points)

    # Every reading is queryable with InfluxQL, tagged with its place in the asset register.
    def stored(expected: int) -> bool:
        series = store.query(f'SELECT count("value") FROM "power_kw" WHERE "device" = \'{DORM_METER}\'')
        return bool(series) and int(series[0]["values"][0][1]) == expected

    wait_for(lambda: stored(len(points)), what="30 power readings in InfluxDB")
    tagged = store.query(
        'SELECT last("value") FROM "power_kw" WHERE "building" = \'MZ-DORM\' AND "site" = \'MZ\''
    )
    assert tagged[0]["values"][0][1] == 300.0

    runner = RulesRunner(
        book=load_rules(),
        store=store,
        session_factory=factory,
        lookback=timedelta(minutes=30),
        interval_s=1,
    )
    first = runner.run_once()
    assert first.raised == [("dorm-demand-high", DORM_METER)]
    assert runner.run_once().raised == []  # still breaching: deduplicated, no second alarm

    with TestClient(create_app(settings, factory)) as client:
        headers = sign_in(client, "fm", PASSWORD)
        alarms = get_items(client, "/alarms?state=active", headers)
        assert len(alarms) == 1
        alarm = alarms[0]
        assert (alarm["rule_key"], alarm["severity"], alarm["trigger_value"]) == (
            "dorm-demand-high",
            "high",
            300.0,
        )
        assert (alarm["device_code"], alarm["unit"], alarm["threshold"]) == (DORM_METER, "kW", 150.0)
        tickets = get_items(client, f"/tickets?alarm_id={alarm['id']}", headers)
        assert len(tickets) == 1
        assert tickets[0]["status"] == "open"
        assert tickets[0]["priority"] == "high"
        assert len(get_items(client, "/tickets", headers)) == 1

        # Back to normal: the alarm clears; the ticket stays for the crew to confirm.
        normal = [(now + timedelta(seconds=10 * i), {"power_kw": 45.0}) for i in range(1, 4)]
        publish_series(settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic_prefix, DORM_METER, normal)
        wait_for(lambda: stored(len(points) + len(normal)), what="33 power readings in InfluxDB")
        later = runner.run_once(now + timedelta(seconds=31))
        assert later.cleared == [("dorm-demand-high", DORM_METER)]
        assert get_items(client, "/alarms?state=active", headers) == []
        cleared = client.get(f"/alarms/{alarm['id']}", headers=headers).json()
        assert cleared["state"] == "cleared"
        assert cleared["cleared_at"] is not None
        assert client.get(f"/tickets/{tickets[0]['id']}", headers=headers).json()["status"] == "open"

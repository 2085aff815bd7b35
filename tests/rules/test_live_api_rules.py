"""A threshold rule created through the API fires on the live stream while the engines run (issue 14, item 6).

The demo wires the cycle runner and the live evaluator to one RuleBook (cityhall.compose.rules_engines). A
threshold rule is an instant kind: only the live evaluator judges it. If the cycle runner takes up the change
and the live evaluator never learns of it, the rule never fires, which is what the demo did until every
engine asked the book for the changes since its own generation.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.compose import rules_engines
from cityhall.db import make_engine, make_sessionmaker, transaction, utcnow
from cityhall.migrate import upgrade
from cityhall.models import Alarm, AlarmState, Role, User
from cityhall.security import create_access_token
from cityhall.settings import Settings
from cityhall.timeseries.sql import SqlStore
from rules.live import LiveEvaluator
from rules.repository import RuleBook
from rules.runner import RulesRunner
from tests import servers
from tests.publishing import publish_series
from tests.waiting import PATIENCE_S, wait_for

DORM_METER = "MZ-DORM-EM-MAIN"
RULE = {
    "key": "dorm-over-50-kw",
    "name": "Dormitory above 50 kW",
    "kind": "threshold",
    "quantity": "power_kw",
    "above": 50,
    "for_seconds": 20,
    "severity": "high",
    "targets": {"devices": [DORM_METER]},
}


@dataclass
class Engines:
    """The demo's rule engines on a seeded database, and an API on the same database."""

    settings: Settings
    factory: sessionmaker[Session]
    runner: RulesRunner
    live: LiveEvaluator
    client: TestClient
    manager: dict[str, str]


@pytest.fixture
def engines(mosquitto: servers.MosquittoServer, db_url: str, tmp_path: Path) -> Iterator[Engines]:
    # An empty rules file: the rule created through the API is the only one that can fire.
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("schedules: {}\nrules: []\n", encoding="utf-8")
    settings = Settings(
        _env_file=None,
        database_url=db_url,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        rules_file=rules_file,
        rules_live=True,
        jwt_secret=SecretStr(secrets.token_urlsafe(48)),
    )
    engine = make_engine(db_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        fiona = User(
            username="fiona",
            full_name="Fiona",
            email="fiona@tainan.gov.tw",
            role=Role.FACILITY_MANAGER,
            password_hash="x",
            created_at=utcnow(),
        )
        session.add(fiona)
        session.flush()
        token = create_access_token(
            subject=str(fiona.id),
            role=Role.FACILITY_MANAGER.value,
            secret=settings.jwt_secret.get_secret_value(),
            minutes=60,
        )
    runner, live = rules_engines(settings, factory, RuleBook(factory, settings.rules_file), SqlStore(engine))
    assert live is not None
    live.start()
    try:
        with TestClient(create_app(settings, factory)) as client:
            yield Engines(settings, factory, runner, live, client, {"Authorization": f"Bearer {token}"})
    finally:
        live.stop()
        runner.close()
        engine.dispose()


@pytest.mark.mosquitto
def test_a_threshold_rule_created_through_the_api_fires_on_the_live_stream(engines: Engines) -> None:
    live, runner, settings = engines.live, engines.runner, engines.settings
    assert live.wait_connected(PATIENCE_S)
    assert live.watched == 0  # nothing to judge yet

    created = engines.client.post("/rules", json=RULE, headers=engines.manager)
    assert created.status_code == 201, created.text
    # The cycle runner looks first, as it did in the demo (every 5 s there, the live evaluator every 10 s).
    # Its cycles run from this thread, so that order is certain; it skips the instant kinds.
    runner.run_once()

    # The meter keeps reporting 259 kW, a reading per poll, 10 s apart on its own clock, until the alarm
    # exists: the live evaluator takes up changed rules every RELOAD_EVERY_S, and a reading that arrives
    # before then has no window to go to.
    sent: list[datetime] = []
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def alarm() -> Alarm | None:
        runner.run_once()  # the cycle keeps running meanwhile, as in the demo
        sent.append(first + timedelta(seconds=10 * len(sent)))
        point = [(sent[-1], {"power_kw": 259.0})]
        publish_series(settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic_prefix, DORM_METER, point)
        with engines.factory() as session:
            return session.scalars(select(Alarm).where(Alarm.rule_key == RULE["key"])).one_or_none()

    raised = wait_for(
        alarm, what=f"an alarm from the rule {RULE['key']} created through the API", interval=0.5
    )
    assert live.watched == 1
    assert (raised.quantity, raised.threshold, raised.trigger_value, raised.state) == (
        "power_kw",
        50.0,
        259.0,
        AlarmState.ACTIVE,
    )
    assert raised.condition_since in sent

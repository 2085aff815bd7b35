"""The periodic pass the rules process runs: alarm events reach InfluxDB for Grafana annotations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.housekeeping import Housekeeping
from cityhall.maintenance import AlarmCondition, raise_alarm
from cityhall.migrate import upgrade
from cityhall.models import Device, Severity
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from tests import servers


def test_raised_alarm_becomes_an_annotation_event(influx: servers.InfluxServer, tmp_path: Path) -> None:
    influx.create_database("housekeeping")
    url = f"sqlite:///{tmp_path / 'hk.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        meter = session.scalars(select(Device).where(Device.code == "MZ-DORM-EM-MAIN")).one()
        raise_alarm(
            session,
            device=meter,
            condition=AlarmCondition(
                rule_key="dorm-demand-high",
                rule_name="Dormitory demand above contracted capacity",
                severity=Severity.HIGH,
                quantity="power_kw",
                unit="kW",
                threshold=150.0,
                value=264.5,
                since=datetime.now(UTC),
                message="power_kw = 264.5 kW, above 150 kW",
            ),
            actor="system:rules",
        )
    settings = Settings(
        database_url=url,
        influx_url=influx.url,
        influx_database="housekeeping",
        jwt_secret=SecretStr("hk-" + "x" * 40),
    )
    housekeeping = Housekeeping(settings, factory, interval_s=60)
    housekeeping.run_once()
    housekeeping.run_once()  # a second pass must not write the event again
    series = InfluxStore(influx.url, "housekeeping").query(
        'SELECT "message", "value", "transition", "rule" FROM "alarm_events" WHERE "device" = \'MZ-DORM-EM-MAIN\''
    )
    (row,) = series[0]["values"]
    assert row[1:] == ["power_kw = 264.5 kW, above 150 kW", 264.5, "raise", "dorm-demand-high"]
    housekeeping.notifier.close()
    engine.dispose()

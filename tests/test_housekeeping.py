"""The periodic pass the rules process runs: alarm events reach InfluxDB for Grafana annotations, and the daily
register rollups stay current."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import SecretStr
from sqlalchemy import select

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import configured_register
from cityhall.housekeeping import Housekeeping
from cityhall.maintenance import AlarmCondition, raise_alarm
from cityhall.migrate import upgrade
from cityhall.models import Device, Severity
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.lineprotocol import epoch_ns
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


def test_passes_keep_the_daily_register_rollup_current(influx: servers.InfluxServer, tmp_path: Path) -> None:
    """Every pass re-rolls yesterday and today; once an hour it re-rolls `energy_rollup_days` days, which
    picks up a reading drained late into an older day."""
    influx.create_database("hk_rollup")
    store = InfluxStore(influx.url, "hk_rollup")
    now = datetime(2026, 10, 10, 4, 0, tzinfo=UTC)  # 12:00 in Taipei

    def write(day: int, value: float) -> None:
        ts = datetime(2026, 10, day, 3, 0, tzinfo=UTC)  # 11:00 in Taipei
        store.write_lines(f"volume_m3,building=B,device=W-1 value={value} {epoch_ns(ts)}\n".encode())

    for day, value in ((5, 10.0), (8, 20.0), (9, 30.0), (10, 40.0)):
        write(day, value)
    url = f"sqlite:///{tmp_path / 'hk.db'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = Settings(
        database_url=url,
        influx_url=influx.url,
        influx_database="hk_rollup",
        jwt_secret=SecretStr("hk-" + "x" * 40),
        energy_rollup_days=7,
    )
    housekeeping = Housekeeping(settings, make_sessionmaker(engine), interval_s=60)

    def rolled() -> dict[int, float]:
        points = store.window(
            quantity="volume_m3_daily", since=now - timedelta(days=30), until=now + timedelta(days=1)
        )
        return {ts.astimezone(TAIPEI).day: v for ts, v in points.get("W-1", [])}

    assert housekeeping.roll_up_registers(now) == 4  # the first pass is a wide one: days 4 to 10
    assert rolled() == {5: 10.0, 8: 20.0, 9: 30.0, 10: 40.0}
    write(5, 15.0)  # drained late into an older day (a second reading, same time: it replaces the first)
    assert housekeeping.roll_up_registers(now + timedelta(minutes=1)) == 2  # yesterday and today only
    assert rolled()[5] == 10.0
    assert housekeeping.roll_up_registers(now + timedelta(hours=1)) == 4  # an hour on: wide again
    assert rolled()[5] == 15.0
    housekeeping.notifier.close()
    store.close()
    engine.dispose()


def test_the_register_comes_from_the_configured_asset_document(tmp_path: Path) -> None:
    """CITYHALL_ASSET_REGISTER_FILE names the imported document; empty means the seed; edits are re-read."""
    seed = configured_register(Settings(jwt_secret=SecretStr("hk-" + "x" * 40)))
    assert "SEC" in seed.departments
    path = tmp_path / "register.yaml"
    data = yaml.safe_load(seed_path().read_text())
    data["departments"] = data["departments"][:1]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    settings = Settings(jwt_secret=SecretStr("hk-" + "x" * 40), asset_register_file=str(path))
    assert set(configured_register(settings).departments) == {"SEC"}
    data["departments"][0]["name"] = "General Affairs (總務)"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    os.utime(path, (1e9, 2e9))  # a new modification time, as an edit gives
    assert configured_register(settings).departments["SEC"].name == "General Affairs (總務)"

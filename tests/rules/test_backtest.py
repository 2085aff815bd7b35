"""Backtest: replay a small generated history from the SQL reading store; nothing is written to alarms."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.cli import app
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.migrate import upgrade
from cityhall.models import Alarm
from cityhall.timeseries.sql import SqlStore
from rules.backtest import Replay
from rules.config import load_rules
from rules.runner import subjects
from simulators.fleet import records_from_document, simulated
from simulators.modes import run_backfill
from simulators.scenario import SCENARIO_DIR, load_scenario, plan

SCENARIO = """
name: backtest-small
description: Yonghua for a day with the AC left on overnight and a demand spike.
seed: 5
start: 2026-07-13T12:00:00+08:00
duration: 18h
step: 15m
buildings: [YH-A]
device_kinds: [electricity_meter, air_conditioner]
faults:
  - {kind: ac_left_on, device: YH-A-3F-AC-01, start: 7h, end: 12h}
  - kind: spike
    device: YH-A-EM-MAIN
    start: 3h
    params: {quantity: power_kw, delta: 2500}
"""


@pytest.fixture
def history(db_url: str, tmp_path: Path) -> str:
    """A migrated database with the seed register and 18 hours of simulated readings in its SQL store."""
    engine = make_engine(db_url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
    path = tmp_path / "backtest-small.yaml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    the_plan = plan(scenario, simulated(records_from_document(load_yaml(seed_path())), seed=5))
    run_backfill(the_plan, SqlStore(engine), show_progress=False)
    engine.dispose()
    assert SCENARIO_DIR.exists()
    return db_url


def test_replay_finds_the_injected_faults(history: str) -> None:
    engine = make_engine(history)
    with make_sessionmaker(engine)() as session:
        devices = [s for s, _ in subjects(session).values()]
    scenario = load_scenario(SCENARIO_DIR.parent / "scenarios" / "quiet-week.yaml")
    assert scenario.spec.name == "quiet-week"
    from datetime import datetime  # noqa: PLC0415

    start = datetime.fromisoformat("2026-07-13T12:00:00+08:00")
    replay = Replay(load_rules(), devices, SqlStore(engine), start=start, end=start + timedelta(hours=18))
    episodes = replay.run(timedelta(minutes=5))
    fired = {(e.rule, e.device) for e in episodes}
    assert ("demand-spike", "YH-A-EM-MAIN") in fired
    assert replay.run(timedelta(minutes=5), batch=True) == episodes  # the cycle runner's way: the same
    assert ("ac-on-after-hours", "YH-A-3F-AC-01") in fired
    engine.dispose()


def test_backtest_command_prints_json_lines_and_writes_no_alarm(
    history: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CITYHALL_DATABASE_URL", history)
    monkeypatch.delenv("CITYHALL_INFLUX_URL", raising=False)
    out = tmp_path / "fired.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "rules", "backtest", "--from", "2026-07-13T12:00:00+08:00", "--to", "2026-07-14T06:00:00+08:00",
            "--step-seconds", "300", "--out", str(out), "--no-progress",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {"rule", "device", "start", "end"} <= records[0].keys()
    assert any(r["rule"] == "demand-spike" and r["device"] == "YH-A-EM-MAIN" for r in records)
    engine = make_engine(history)
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Alarm)) == 0
    engine.dispose()


def test_backtest_refuses_times_without_offset(history: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYHALL_DATABASE_URL", history)
    result = CliRunner().invoke(
        app, ["rules", "backtest", "--from", "2026-07-13T12:00", "--to", "2026-07-14"]
    )
    assert result.exit_code == 1
    assert "offsets" in result.output

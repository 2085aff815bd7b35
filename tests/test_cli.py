"""The `cityhall` administration commands against real databases, as an operator would run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cityhall.cli import app
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.models import AuditEntry, Device, Role, User
from cityhall.security import verify_password
from tests.alarm_story import add_week, register

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("fresh_settings")  # each command reads the test's environment


@pytest.fixture
def database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CITYHALL_DATABASE_URL", db_url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    return db_url


def test_users_create_first_admin(database: str) -> None:
    result = runner.invoke(
        app,
        ["users", "create", "chen.admin", "--full-name", "Chen Admin", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created user chen.admin (admin)" in result.output
    with make_sessionmaker(make_engine(database))() as session:
        user = session.scalars(select(User).where(User.username == "chen.admin")).one()
        assert user.role is Role.ADMIN
        assert verify_password(user.password_hash, "a long enough password")
        audit = session.scalars(select(AuditEntry).where(AuditEntry.entity == "user")).one()
        assert audit.actor == "cli"
        assert audit.after is not None
        assert "password_hash" not in audit.after

    again = runner.invoke(
        app, ["users", "create", "chen.admin", "--password-stdin"], input="another password!\n"
    )
    assert again.exit_code == 1
    assert "username: user 'chen.admin' exists already" in again.output


def test_users_create_refuses_bad_input(database: str) -> None:
    short = runner.invoke(app, ["users", "create", "wang", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    assert "password: password needs at least 12 characters" in short.output
    role = runner.invoke(
        app, ["users", "create", "wang", "--role", "mayor", "--password-stdin"], input="x" * 20
    )
    assert role.exit_code == 1
    assert "--role: unknown role 'mayor'" in role.output


def test_assets_import_yaml_is_idempotent(database: str, tmp_path: Path) -> None:
    first = runner.invoke(app, ["assets", "import", "cityhall/seed/tainan.yaml"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["assets", "import", "cityhall/seed/tainan.yaml"])
    assert second.exit_code == 0, second.output
    with make_sessionmaker(make_engine(database))() as session:
        assert len(session.scalars(select(Device.id)).all()) == 246
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites:\n  - code: X\n    name: X\n    buildings: []\n    colour: red\n")
    result = runner.invoke(app, ["assets", "import", str(bad)])
    assert result.exit_code == 1
    assert "colour" in result.output


def test_rules_check(database: str, tmp_path: Path) -> None:
    runner.invoke(app, ["assets", "import", "cityhall/seed/tainan.yaml"])
    ok = runner.invoke(app, ["rules", "check"])
    assert ok.exit_code == 0, ok.output
    assert "rules OK" in ok.output
    unknown = tmp_path / "rules.yaml"
    unknown.write_text(
        "rules:\n  - {key: x-high, name: X high, kind: threshold, quantity: power_kw, above: 1, for_seconds: 5,"
        " targets: {devices: [NO-SUCH-METER]}}\n"
    )
    result = runner.invoke(app, ["rules", "check", str(unknown)])
    assert result.exit_code == 1
    assert "rules[0] (x-high).targets.devices: unknown device 'NO-SUCH-METER'" in result.output


def test_processes_refuse_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYHALL_JWT_SECRET", "changeme")
    monkeypatch.delenv("CITYHALL_DEMO", raising=False)
    for command in (["api"], ["collector"], ["rules", "run"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "CITYHALL_JWT_SECRET is a placeholder" in result.output


def test_missing_schema_says_what_to_run(tmp_path: Path) -> None:
    """A command on a database that was never upgraded names the fix instead of printing a traceback."""
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    env = {**os.environ, "CITYHALL_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "cityhall", "assets", "import", "cityhall/seed/tainan.yaml"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "database error: no such table: sites" in result.stderr
    assert "run: cityhall db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_says_at_once_that_its_port_is_taken(tmp_path: Path) -> None:
    import socket  # noqa: PLC0415

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["demo", "--port", str(port), "--data-dir", str(tmp_path / "demo")])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is taken" in result.output
    assert not (tmp_path / "demo").exists()  # nothing was started


@pytest.fixture
def alarm_week(database: str) -> str:
    """tests/alarm_story.py's week (2026-W49) in the upgraded database."""
    engine = make_engine(database)
    with transaction(make_sessionmaker(engine)) as session:
        add_week(session, register(session))
    engine.dispose()
    return database


def test_alarms_health_as_text(alarm_week: str) -> None:
    """The figures worked out by hand in tests/test_alarm_health.py, as people read them."""
    result = runner.invoke(app, ["alarms", "health", "--week", "2026-W49"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "警報系統健康報告 Alarm-system health: 2026-W49, 2026-11-30 to 2026-12-06 (Asia/Taipei), 全部場域 all sites"
    )
    assert "- 警報總數 Alarms raised: 42 alarms" in lines
    assert any(
        line.startswith(
            "- 每日平均警報數 Alarms per day, average: 6 alarms/day [acceptable]; per operator: about 150"
        )
        for line in lines
    )
    assert any(
        line.startswith("- 10 分鐘內最多警報數 Most alarms in one 10 minutes: 13 alarms/10 min [misses]")
        for line in lines
    )
    assert "- 警報氾濫時間占比 Time in alarm flood: 0.2 % [meets]" in result.output
    assert "- MZ MZ civic center: 27 alarms, 3.86 a day, peak 13 in 10 min, 0.2 % in flood" in lines
    assert any(
        line.startswith("  1. co2-high on yh-1 (YH): 7 alarms, 16.67 %, cumulative 16.67 %; shelve:")
        for line in lines
    )
    assert "- 2026-12-02 14:00 to 14:20: 24 alarms, peak 13 in 10 min; comms-lost@mz-11 x3" in result.output
    assert "- water-leak on yh-3: raised 2026-11-28 12:00, cleared 2026-12-01 12:00, 72 h" in lines
    assert "- low: 27 alarms, 64.29 % (recommended about 80 %)" in lines


def test_alarms_health_as_json_for_one_site(alarm_week: str) -> None:
    result = runner.invoke(
        app, ["alarms", "health", "--week", "2026-W49", "--site", "YH", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["scope"]["site"] == "YH"
    assert body["sites"] == []
    figures = {f["key"]: f for f in body["scope"]["figures"]}
    assert figures["alarms_total"]["value"] == 15
    assert figures["alarms_per_10min_peak"]["unit"] == "alarms/10 min"
    assert body["lists"]["stale"] == {"total": 3, "href": "/alarms/health/stale?week=2026-W49&site=YH"}
    wide = runner.invoke(app, ["alarms", "health", "--since", "2026-11-30T00:00:00+08:00", "--until",
                               "2026-12-07T00:00:00+08:00", "--chatter-window", "120", "--format", "json"])  # fmt: skip
    assert wide.exit_code == 0, wide.output
    chatter = next(f for f in json.loads(wide.output)["scope"]["figures"] if f["key"] == "chattering_alarms")
    assert chatter["value"] == 9  # Thursday's three co2-high raises within two minutes join in


BAD_HEALTH_OPTIONS = [  # options, what the message says
    (["--week", "2026-49"], "--week: a week looks like 2026-W49, not '2026-49'"),
    (["--since", "0001-01-01T00:00:00+00:00"], "--since: since must lie between the years 2000 and 2100"),
    (["--since", "2026-12-01T00:00:00Z", "--until", "9999-12-31T23:59:59Z"], "--until: until must lie"),
    (["--since", "last monday"], "--since: 'last monday' is not a date and time"),
    (["--since", "2026-12-01T00:00:00"], "--since: since needs a UTC offset"),
    (["--week", "2026-W49", "--site", "XX"], "--site: no site 'XX' (sites: MZ, YH)"),
    (
        ["--week", "2026-W49", "--since", "2026-12-01T00:00:00Z"],
        "--week: give either week or since/until",
    ),
]


def test_alarms_health_refuses_bad_options(alarm_week: str) -> None:
    for args, message in BAD_HEALTH_OPTIONS:
        result = runner.invoke(app, ["alarms", "health", *args])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output

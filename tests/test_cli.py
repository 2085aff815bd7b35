"""The `cityhall` administration commands against real databases, as an operator would run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cityhall.cli import app
from cityhall.db import make_engine, make_sessionmaker
from cityhall.models import AuditEntry, Device, Role, User
from cityhall.security import verify_password

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

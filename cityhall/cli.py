"""The `cityhall` command: one CLI, one sub-command per process, plus administration."""

from __future__ import annotations

import getpass
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from cityhall.errors import DomainError
from cityhall.observability import configure_logging, serve_health
from cityhall.settings import Settings, SettingsError, get_settings

app = typer.Typer(
    help="CityHall Ops: facilities and energy management for Tainan City Government.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
assets_app = typer.Typer(help="The asset register.", no_args_is_help=True)
rules_app = typer.Typer(help="The rules engine.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(assets_app, name="assets")
app.add_typer(rules_app, name="rules")


def _settings(*, production: bool = True) -> Settings:
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    if production:
        try:
            settings.check_production()
        except SettingsError as err:
            typer.secho(f"configuration error: {err}", fg="red", err=True)
            raise typer.Exit(2) from err
    return settings


def _wait_for_signal() -> None:
    """Block the main thread until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg="red", err=True)
    return typer.Exit(1)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="API and web port on 127.0.0.1")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its SQLite file")] = Path("data/demo"),
    keep: Annotated[
        bool, typer.Option(help="Keep the previous demo database instead of starting fresh")
    ] = False,
) -> None:
    """Run everything in one process: embedded broker, SQLite, simulated buildings, collector, rules, API."""
    from cityhall.demo import run_demo  # noqa: PLC0415

    configure_logging(log_format="console", level="WARNING")
    run_demo(data_dir=data_dir, api_port=port, fresh=not keep, echo=typer.echo)


@app.command()
def api() -> None:
    """Serve the HTTP API and web pages."""
    import uvicorn  # noqa: PLC0415

    from api.main import create_app  # noqa: PLC0415

    settings = _settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="warning")


@app.command()
def collector() -> None:
    """Ingest MQTT readings into the reading store (InfluxDB or SQL)."""
    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from cityhall.timeseries import make_store  # noqa: PLC0415
    from collector.service import Collector  # noqa: PLC0415

    settings = _settings()
    service = Collector(
        settings,
        store=make_store(settings),
        session_factory=make_sessionmaker(make_engine(settings.database_url)),
    )
    service.start()
    if settings.metrics_port:
        serve_health("0.0.0.0", settings.metrics_port, service.health)  # noqa: S104 - scraped from other hosts
    _wait_for_signal()
    service.stop()


@rules_app.callback(invoke_without_command=True)
def rules(ctx: typer.Context) -> None:
    """Evaluate rules on a schedule, raising alarms and tickets (default: `run`)."""
    if ctx.invoked_subcommand is None:
        rules_run()


@rules_app.command("run")
def rules_run() -> None:
    """Evaluate rules every CITYHALL_RULES_INTERVAL_SECONDS until stopped."""
    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from cityhall.timeseries import make_store  # noqa: PLC0415
    from rules.config import RuleConfigError, load_rules  # noqa: PLC0415
    from rules.runner import RulesRunner, check_references  # noqa: PLC0415

    settings = _settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    try:
        definitions = load_rules(settings.rules_file)
        with factory() as session:
            check_references(session, definitions)
        runner = RulesRunner(
            definitions=definitions,
            store=make_store(settings),
            session_factory=factory,
            lookback=timedelta(minutes=settings.rules_lookback_minutes),
            interval_s=settings.rules_interval_seconds,
        )
    except RuleConfigError as err:
        raise _fail(f"rules error: {err}") from err
    if settings.metrics_port:
        serve_health("0.0.0.0", settings.metrics_port, runner.health)  # noqa: S104 - scraped from other hosts
    thread = threading.Thread(target=runner.run_forever, name="rules", daemon=True)
    thread.start()
    _wait_for_signal()
    runner.stop()
    thread.join(timeout=30)


@rules_app.command("check")
def rules_check(
    file: Annotated[Path | None, typer.Argument(help="Rules YAML (default: shipped)")] = None,
) -> None:
    """Validate a rules file against the schema and the asset register."""
    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from rules.config import RuleConfigError, load_rules  # noqa: PLC0415
    from rules.runner import check_references  # noqa: PLC0415

    settings = _settings(production=False)
    try:
        definitions = load_rules(file or settings.rules_file)
        with make_sessionmaker(make_engine(settings.database_url))() as session:
            check_references(session, definitions)
    except RuleConfigError as err:
        raise _fail(f"rules error: {err}") from err
    typer.echo(f"{len(definitions)} rules OK")


@app.command()
def simulate(
    interval: Annotated[float, typer.Option(help="Seconds between readings of each device", min=0.1)] = 10.0,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="Inject demand_step:DEVICE:KW[:START_S[:END_S]] (repeatable)")
    ] = None,
) -> None:
    """Publish simulated readings for every registered device over MQTT."""
    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from simulators.publisher import Fault, Publisher, ScenarioError  # noqa: PLC0415

    settings = _settings(production=False)
    try:
        publisher = Publisher(
            settings,
            session_factory=make_sessionmaker(make_engine(settings.database_url)),
            interval_s=interval,
            faults=[Fault.parse(f) for f in fault or []],
        )
    except ScenarioError as err:
        raise _fail(f"scenario error: {err}") from err
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: publisher.stop())
    publisher.run(duration_s=duration)
    typer.echo(f"published {publisher.published} messages for {len(publisher.devices)} devices")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply database migrations (Alembic) up to `revision`."""
    from cityhall.db import make_engine  # noqa: PLC0415
    from cityhall.migrate import upgrade  # noqa: PLC0415

    settings = _settings(production=False)
    upgrade(make_engine(settings.database_url), revision)
    typer.echo(f"database at {revision}: {make_engine(settings.database_url).url.render_as_string()}")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Sign-in name")],
    role: Annotated[str, typer.Option(help="admin, facility_manager, energy_committee, ...")] = "admin",
    full_name: Annotated[str, typer.Option(help="Display name")] = "",
    email: Annotated[str | None, typer.Option(help="E-mail address")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input")] = False,
) -> None:
    """Create a user (the first admin, for example); the password is asked for, never an argument."""
    from cityhall.accounts import create_user  # noqa: PLC0415
    from cityhall.db import make_engine, make_sessionmaker, transaction  # noqa: PLC0415
    from cityhall.models import Role  # noqa: PLC0415

    try:
        role_value = Role(role)
    except ValueError as err:
        raise _fail(f"--role: unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from err
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise _fail("passwords differ")
    settings = _settings(production=False)
    try:
        with transaction(make_sessionmaker(make_engine(settings.database_url))) as session:
            user = create_user(
                session,
                username=username,
                full_name=full_name or username,
                email=email,
                role=role_value,
                password=password,
                actor="cli",
            )
    except DomainError as err:
        raise _fail(f"{err.loc[-1] if err.loc else err.code}: {err.message}") from err
    typer.echo(f"created user {user.username} ({user.role.value}), id {user.id}")


@assets_app.command("import")
def assets_import(file: Annotated[Path, typer.Argument(help="YAML or CSV asset file", exists=True)]) -> None:
    """Import sites, buildings, floors, spaces and devices (idempotent: upsert by code)."""
    from cityhall.assets import AssetImportError, import_assets, load_csv, load_yaml  # noqa: PLC0415
    from cityhall.db import make_engine, make_sessionmaker, transaction  # noqa: PLC0415

    settings = _settings(production=False)
    try:
        doc = load_csv(file) if file.suffix.lower() == ".csv" else load_yaml(file)
        with transaction(make_sessionmaker(make_engine(settings.database_url))) as session:
            summary = import_assets(session, doc, actor="cli")
    except AssetImportError as err:
        raise _fail(str(err)) from err
    typer.echo(str(summary))


def main() -> None:
    """Entry point of the `cityhall` script."""
    app()

"""The `cityhall` command: one CLI, one sub-command per process, plus administration."""

from __future__ import annotations

import getpass
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cityhall.errors import DomainError
from cityhall.observability import configure_logging, serve_health
from cityhall.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from cityhall.alarm_health import AlarmHealth

app = typer.Typer(
    help="CityHall Ops: facilities and energy management for Tainan City Government.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold passwords and tokens
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
assets_app = typer.Typer(help="The asset register.", no_args_is_help=True)
rules_app = typer.Typer(help="The rules engine.")
energy_app = typer.Typer(
    help="Energy figures and the energy-conservation committee's reports.", no_args_is_help=True
)
alarms_app = typer.Typer(
    help="Alarms: the alarm system's health (docs/alarm-health.md).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(assets_app, name="assets")
app.add_typer(rules_app, name="rules")
app.add_typer(energy_app, name="energy")
app.add_typer(alarms_app, name="alarms")


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


def _schema_ready(settings: Settings) -> Engine:
    """The database's engine, with the schema brought up to date first when it is a SQLite file (the embedded
    default: a laptop, the demo's file), so a command just works there. A server database is migrated by its
    operator (`cityhall db upgrade`); if its schema is missing, main() says to run that."""
    from cityhall.db import make_engine  # noqa: PLC0415
    from cityhall.migrate import upgrade  # noqa: PLC0415

    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    return engine


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

    # Take the port before starting anything: a port in use is said at once, not after the demo has started.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as err:
        listener.close()
        raise _fail(
            f"port {port} on 127.0.0.1 is taken ({err.strerror}): stop what uses it or pass --port"
        ) from err
    configure_logging(log_format="console", level="WARNING")
    run_demo(data_dir=data_dir, listener=listener, fresh=not keep, echo=typer.echo)


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
    """Judge instant rules on each reading and the others every CITYHALL_RULES_INTERVAL_SECONDS."""
    from cityhall.compose import rules_engines  # noqa: PLC0415
    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from cityhall.housekeeping import Housekeeping  # noqa: PLC0415
    from cityhall.timeseries import make_store  # noqa: PLC0415
    from rules.config import RuleConfigError  # noqa: PLC0415
    from rules.repository import RuleBook  # noqa: PLC0415

    settings = _settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    try:
        book = RuleBook(factory, settings.rules_file)
        engines = rules_engines(settings, factory, book, make_store(settings))
    except RuleConfigError as err:
        raise _fail(f"rules error: {err}") from err
    runner, live = engines
    housekeeping = Housekeeping(settings, factory, interval_s=60.0)

    def health() -> dict[str, bool]:
        return {**runner.health(), **(live.health() if live else {})}

    if settings.metrics_port:
        serve_health("0.0.0.0", settings.metrics_port, health)  # noqa: S104 - scraped from other hosts
    threads = [
        threading.Thread(target=runner.run_forever, name="rules", daemon=True),
        threading.Thread(target=housekeeping.run_forever, name="housekeeping", daemon=True),
    ]
    if live is not None:
        live.start()
    for thread in threads:
        thread.start()
    _wait_for_signal()
    runner.stop()
    housekeeping.stop()
    if live is not None:
        live.stop()
    for thread in threads:
        thread.join(timeout=30)


@rules_app.command("check")
def rules_check(
    file: Annotated[Path | None, typer.Argument(help="Rules YAML (default: shipped)")] = None,
) -> None:
    """Validate a rules file, with the rules created through the API, against the schema and the register."""
    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from rules.config import RuleConfigError  # noqa: PLC0415
    from rules.repository import check_references, load_definitions  # noqa: PLC0415

    settings = _settings(production=False)
    try:
        with make_sessionmaker(make_engine(settings.database_url))() as session:
            definitions = load_definitions(session, file or settings.rules_file)
            check_references(session, definitions)
    except RuleConfigError as err:
        raise _fail(f"rules error: {err}") from err
    typer.echo(f"{len(definitions)} rules OK")


@rules_app.command("backtest")
def rules_backtest(  # noqa: PLR0917 - typer passes one argument per option
    start_text: Annotated[str, typer.Option("--from", help="Start (ISO 8601 with an offset)")],
    end_text: Annotated[str, typer.Option("--to", help="End (ISO 8601 with an offset)")],
    rules_file: Annotated[
        Path | None, typer.Option("--rules", help="Rules YAML (default: configured)")
    ] = None,
    step_seconds: Annotated[float, typer.Option(help="Simulated clock step")] = 60.0,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON lines to this file")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Replay stored history through the rules and print what would have fired; writes no alarms."""
    import json  # noqa: PLC0415
    from datetime import UTC  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from cityhall.timeseries import make_store  # noqa: PLC0415
    from rules.backtest import Replay  # noqa: PLC0415
    from rules.config import RuleConfigError, load_rules  # noqa: PLC0415
    from rules.repository import load_definitions  # noqa: PLC0415
    from rules.runner import subjects  # noqa: PLC0415

    try:
        start, end = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except ValueError as err:
        raise _fail(f"--from/--to: {err}") from err
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise _fail("--from and --to need offsets (e.g. 2026-07-13T00:00:00+08:00), and --to after --from")
    settings = _settings(production=False)
    with make_sessionmaker(make_engine(settings.database_url))() as session:
        try:  # --rules replays that file alone; otherwise the rules in force, the API's included
            definitions = (
                load_rules(rules_file) if rules_file else load_definitions(session, settings.rules_file)
            )
        except RuleConfigError as err:
            raise _fail(f"rules error: {err}") from err
        devices = [s for s, _ in subjects(session).values()]
    store = make_store(settings)
    try:
        replay = Replay(definitions, devices, store, start=start.astimezone(UTC), end=end.astimezone(UTC))
    finally:
        store.close()
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("backtest", total=None)
        episodes = replay.run(
            timedelta(seconds=step_seconds), lambda done, total: bar.update(task, completed=done, total=total)
        )
    lines = [json.dumps(e.as_json(), ensure_ascii=False) for e in episodes]
    if out is not None:
        out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    for line in lines:
        typer.echo(line)
    table = Table(title=f"{len(episodes)} alarms would have fired")
    for column in ("rule", "alarms", "devices", "first", "last"):
        table.add_column(column)
    by_rule: dict[str, list[datetime]] = {}
    devices_by_rule: dict[str, set[str]] = {}
    for e in episodes:
        by_rule.setdefault(e.rule, []).append(e.raised_at)
        devices_by_rule.setdefault(e.rule, set()).add(e.device)
    for rule, times in sorted(by_rule.items()):
        table.add_row(
            rule,
            str(len(times)),
            str(len(devices_by_rule[rule])),
            min(times).isoformat(),
            max(times).isoformat(),
        )
    Console(stderr=True).print(table)


class SimulateMode(StrEnum):
    """How `cityhall simulate` runs a scenario."""

    LIVE = "live"
    FAST = "fast"
    BACKFILL = "backfill"


@app.command()
def simulate(  # noqa: PLR0917 - typer passes one argument per option
    scenario: Annotated[
        Path | None,
        typer.Option(help="Scenario YAML (simulators/scenarios/); without it: every device, live"),
    ] = None,
    mode: Annotated[SimulateMode, typer.Option(help="live, fast or backfill")] = SimulateMode.LIVE,
    speed: Annotated[
        float, typer.Option(help="Live: simulated seconds per wall-clock second", min=0.001)
    ] = 1.0,
    start: Annotated[
        datetime | None, typer.Option(help="Override the scenario's start (ISO 8601 with offset; live: now)")
    ] = None,
    register: Annotated[
        Path | None,
        typer.Option(help="Devices from this asset YAML/CSV instead of the database", exists=True),
    ] = None,
    qos: Annotated[int, typer.Option(help="Fast and live: MQTT QoS (0 or 1)", min=0, max=1)] = 1,
    max_inflight: Annotated[int, typer.Option(help="Fast, QoS 1: unacknowledged messages at most")] = 2000,
    out_dir: Annotated[Path, typer.Option(help="Where the ground truth (JSON lines) is written")] = Path(
        "data/simulations"
    ),
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
    interval: Annotated[float, typer.Option(help="No scenario: seconds between readings", min=0.1)] = 10.0,
    duration: Annotated[float | None, typer.Option(help="No scenario: stop after this many seconds")] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="No scenario: inject demand_step:DEVICE:KW[:START_S[:END_S]] (repeatable)"),
    ] = None,
) -> None:
    """Publish simulated readings with labelled faults: live, fast into the broker, or backfill the store."""
    from cityhall.assets import AssetImportError  # noqa: PLC0415
    from simulators.engine import SimulationError  # noqa: PLC0415
    from simulators.scenario import ScenarioError  # noqa: PLC0415

    settings = _settings(production=False)
    try:
        if scenario is None:
            _simulate_register(settings, interval_s=interval, duration_s=duration, faults=fault or [])
            return
        _simulate_scenario(
            settings,
            scenario,
            mode=mode,
            speed=speed,
            start=start,
            register=register,
            qos=qos,
            max_inflight=max_inflight,
            out_dir=out_dir,
            show_progress=progress,
        )
    except (ScenarioError, SimulationError, AssetImportError) as err:
        raise _fail(f"scenario error: {err}") from err
    except ConnectionError as err:
        raise _fail(f"broker error: {err}") from err


def _simulate_register(
    settings: Settings, *, interval_s: float, duration_s: float | None, faults: list[str]
) -> None:
    """Every registered device, live on the wall clock, with the demo's fault shorthand."""
    from cityhall.db import make_engine, make_sessionmaker  # noqa: PLC0415
    from simulators.publisher import Fault, Publisher  # noqa: PLC0415

    publisher = Publisher(
        settings,
        session_factory=make_sessionmaker(make_engine(settings.database_url)),
        interval_s=interval_s,
        faults=[Fault.parse(f) for f in faults],
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: publisher.stop())
    publisher.run(duration_s=duration_s)
    typer.echo(f"published {publisher.published} messages for {len(publisher.devices)} devices")


def _simulate_scenario(
    settings: Settings,
    path: Path,
    *,
    mode: SimulateMode,
    speed: float,
    start: datetime | None,
    register: Path | None,
    qos: int,
    max_inflight: int,
    out_dir: Path,
    show_progress: bool,
) -> None:
    """Validate the whole scenario, write its ground truth, then run it in the chosen mode."""
    from simulators import modes  # noqa: PLC0415
    from simulators.fleet import devices_for  # noqa: PLC0415
    from simulators.scenario import load_scenario, plan  # noqa: PLC0415

    loaded = load_scenario(path)
    if start is not None and start.tzinfo is None:
        raise _fail("--start needs a UTC offset, e.g. 2026-07-13T00:00:00+08:00")
    if start is None and mode is SimulateMode.LIVE:
        start = modes.live_start(loaded.spec.step)
    devices = devices_for(
        scale=loaded.spec.scale, seed=loaded.spec.seed, settings=settings, register=register
    )
    the_plan = plan(loaded, devices, start=start)
    run_id = modes.new_run_id()
    truth = modes.write_truth(the_plan, out_dir, run_id)
    typer.echo(
        f"{the_plan.name}: {len(the_plan.devices)} devices, {len(the_plan.faults)} faults; truth {truth}"
    )
    if mode is SimulateMode.BACKFILL:
        from cityhall.timeseries import make_store  # noqa: PLC0415

        store = make_store(settings)
        try:
            stats = modes.run_backfill(the_plan, store, show_progress=show_progress)
        finally:
            store.close()
        typer.echo(f"wrote {stats.readings} readings in {stats.seconds:.1f} s")
        return
    if mode is SimulateMode.FAST:
        publisher = modes.fast_publisher(settings, qos=qos, max_inflight=max_inflight)
        try:
            stats = modes.run_fast(
                the_plan, publisher, prefix=settings.mqtt_topic_prefix, show_progress=show_progress
            )
        finally:
            publisher.close()
    else:
        live = modes.live_runner(settings, the_plan, speed=speed, qos=qos)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: live.stop())
        stats = modes.run_live(live, the_plan, show_progress=show_progress)
    typer.echo(
        f"published {stats.messages} messages in {stats.seconds:.1f} s ({stats.messages_per_s:,.0f} msg/s)"
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "heads") -> None:
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
    for entity, counts in summary.counts.items():
        line = f"{counts.created:>5} created {counts.updated:>5} updated {counts.unchanged:>5} unchanged"
        typer.echo(f"{entity:<9} {line}")


@energy_app.command("report")
def energy_report(  # noqa: PLR0917 - typer passes one argument per option
    month: Annotated[
        str | None, typer.Option(help="Monthly report for this Asia/Taipei month, e.g. 2026-10")
    ] = None,
    quarter: Annotated[
        str | None, typer.Option(help="Quarterly report for this quarter, e.g. 2026Q3")
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Files to write, comma-separated: pdf,html,xlsx")
    ] = "pdf,html,xlsx",
    out: Annotated[Path, typer.Option(help="Directory the files are written to")] = Path(),
    store: Annotated[
        bool, typer.Option("--store", help="Also store the report in the database (as `cli`)")
    ] = False,
    replace: Annotated[
        bool, typer.Option(help="With --store: replace a report stored for this period")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Generate the energy-conservation committee's monthly or quarterly report (PDF, HTML, XLSX)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    from cityhall.db import make_sessionmaker  # noqa: PLC0415
    from cityhall.energy.register import configured_register  # noqa: PLC0415
    from cityhall.models import ReportKind  # noqa: PLC0415
    from cityhall.reports.period import report_period  # noqa: PLC0415
    from cityhall.reports.store import GENERATE_STEPS, ReportFormat, file_name, generate_report, save_report  # noqa: PLC0415
    from cityhall.timeseries import make_store  # noqa: PLC0415

    if (month is None) == (quarter is None):
        raise _fail("give either --month YYYY-MM or --quarter YYYYQn")
    try:
        wanted = [ReportFormat(f.strip().lower()) for f in formats.split(",") if f.strip()]
        kind = ReportKind.MONTHLY if month else ReportKind.QUARTERLY
        period = report_period(kind, month or quarter or "")
    except ValueError as err:
        raise _fail(f"--format: one or more of pdf, html, xlsx ({err})") from err
    except DomainError as err:
        raise _fail(f"--month/--quarter: {err.message}") from err
    settings = _settings(production=False)
    factory = make_sessionmaker(_schema_ready(settings))
    readings = make_store(settings)  # InfluxDB, or without CITYHALL_INFLUX_URL the SQL readings table
    columns = (TextColumn("{task.description:<26}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, disable=not progress, transient=True) as bar, factory() as session:
            task = bar.add_task(period.title, total=len(GENERATE_STEPS))
            done: list[str] = []

            def step(name: str) -> None:
                bar.update(task, description=name, completed=len(done))
                done.append(name)

            generated = generate_report(
                session,
                readings,
                configured_register(settings),
                period=period,
                weather_device=settings.energy_weather_device or None,
                formats=wanted or list(ReportFormat),
                on_step=step,
            )
            bar.update(task, completed=len(GENERATE_STEPS), description="done")
    finally:
        readings.close()
    out.mkdir(parents=True, exist_ok=True)
    if store:
        try:
            row = save_report(factory, generated, generated_by="cli", replace=replace)
        except DomainError as err:
            raise _fail(err.message) from err
        typer.echo(f"stored as report {row.id}")
    for fmt, data in generated.files.items():
        path = out / file_name(kind, period.label, fmt)
        path.write_bytes(data)
        typer.echo(f"wrote {path} ({len(data):,} bytes)")
    typer.echo(f"{period.title}: generated in {generated.seconds:.1f} s")


@energy_app.command("rollup")
def energy_rollup(
    since: Annotated[str, typer.Option(help="First Asia/Taipei day to rebuild, YYYY-MM-DD")],
    until: Annotated[
        str | None, typer.Option(help="Last day to rebuild, YYYY-MM-DD (default: today in Asia/Taipei)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Rebuild the daily register rollups (docs/energy.md) for a range of days: after importing history, or
    an outage longer than CITYHALL_ENERGY_ROLLUP_DAYS. Safe to repeat: a day's point is overwritten."""
    from datetime import date, datetime, timedelta  # noqa: PLC0415

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    from cityhall.energy.daily import REGISTERS, rollup_registers  # noqa: PLC0415
    from cityhall.energy.periods import TAIPEI  # noqa: PLC0415
    from cityhall.timeseries import StoreUnavailableError  # noqa: PLC0415
    from cityhall.timeseries.influx import InfluxStore  # noqa: PLC0415

    try:
        first = date.fromisoformat(since)
    except ValueError as err:
        raise _fail(f"--since: {since!r} is not a date (YYYY-MM-DD)") from err
    try:
        last = date.fromisoformat(until) if until else datetime.now(TAIPEI).date()
    except ValueError as err:
        raise _fail(f"--until: {until!r} is not a date (YYYY-MM-DD)") from err
    if last < first:
        raise _fail(f"--until: {last} is before --since {first}")
    settings = _settings(production=False)
    if not settings.influx_url:
        # Not a failure: a script that rebuilds rollups after an import runs on either store.
        typer.echo(
            "nothing to roll up: the daily rollups serve InfluxDB's dashboards, and CITYHALL_INFLUX_URL is "
            "not set; reports and pages read the SQL readings table directly"
        )
        return
    store = InfluxStore.from_settings(settings)
    days = (last - first).days + 1
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, disable=not progress, transient=True) as bar:
            task = bar.add_task("days rolled up", total=days * len(REGISTERS))
            written = rollup_registers(
                store,
                since=first,
                until=last + timedelta(days=1),
                progress=lambda n: bar.advance(task, n),
            )
    except StoreUnavailableError as err:
        raise _fail(f"InfluxDB: {err}") from err
    finally:
        store.close()
    typer.echo(f"rolled up {days} days ({first} to {last}): {written:,} daily register points")


class ReportFormat(StrEnum):
    """How `cityhall alarms health` prints its report."""

    TEXT = "text"
    JSON = "json"


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise _fail(
            f"{option}: {text!r} is not a date and time (ISO 8601, e.g. 2026-12-01T00:00:00+08:00)"
        ) from err
    return value


@alarms_app.command("health")
def alarms_health(  # noqa: PLR0917 - typer passes one argument per option
    week: Annotated[
        str | None, typer.Option(help="ISO week in Asia/Taipei, e.g. 2026-W49 (default: the last full week)")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Instead of a week: start, ISO 8601 with an offset")
    ] = None,
    until: Annotated[str | None, typer.Option(help="With --since: end (exclusive; default now)")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site (its code, e.g. YH)")] = None,
    output: Annotated[ReportFormat, typer.Option("--format", help="text or json (as GET /alarms/health)")] = (
        ReportFormat.TEXT
    ),
    chatter_window: Annotated[
        int,
        typer.Option(
            help="Chattering: 3 raises of a rule on a device within this many seconds", min=1, max=3600
        ),
    ] = 60,
) -> None:
    """The alarm system's health over a week as ISA-18.2 and EEMUA 191 measure it: rates against the
    benchmarks, floods, chattering, fleeting and stale alarms, bad actors, shelving, priorities."""
    from api.alarms.health import service  # noqa: PLC0415 - the report as the API gives it, JSON included
    from cityhall.db import make_sessionmaker  # noqa: PLC0415

    start, end = _instant(since, "--since"), _instant(until, "--until")
    settings = _settings(production=False)
    factory = make_sessionmaker(_schema_ready(settings))
    with factory() as session:
        try:
            health = service.assess(
                session, week=week, since=start, until=end, site=site, chatter_window_s=chatter_window
            )
        except DomainError as err:
            option = str(err.loc[-1]).replace("_", "-") if err.loc else err.code
            raise _fail(f"--{option}: {err.message}") from err
        if output is ReportFormat.JSON:
            typer.echo(service.health_read(session, health).model_dump_json(indent=2))
            return
    typer.echo(_health_text(health))


def _n(value: float | None) -> str:
    """A number as people read it: thousands separated, at most two decimals."""
    if value is None:
        return "-"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _health_text(health: AlarmHealth) -> str:
    """The report as plain text, zh-TW first and English second, times in Asia/Taipei."""
    from cityhall.energy.periods import TAIPEI  # noqa: PLC0415

    def at(ts: datetime) -> str:
        return f"{ts.astimezone(TAIPEI):%Y-%m-%d %H:%M}"

    period, scope, t = health.period, health.scope, health.scope.tally
    last_day = (period.until - timedelta(seconds=1)).astimezone(TAIPEI)
    where = f"{scope.site} {scope.site_name}" if scope.site else "全部場域 all sites"
    lines = [
        f"警報系統健康報告 Alarm-system health: {period.week + ', ' if period.week else ''}"
        f"{period.since:%Y-%m-%d} to {last_day:%Y-%m-%d} (Asia/Taipei), {where}",
    ]
    if health.measured_until < period.until:
        lines.append(f"統計至 measured to {at(health.measured_until)}")
    lines += ["", "指標 Figures (benchmarks per operator position)"]
    for f in scope.figures:
        line = f"- {f.label_zh} {f.label_en}: {_n(f.value)} {f.unit}"
        if f.benchmark is not None:
            verdict = f" [{f.verdict.value}]" if f.verdict else ""
            line += f"{verdict}; {f.benchmark.text_en} ({f.benchmark.source})"
        lines.append(line)
    if health.sites:
        lines += ["", "各場域 Sites"]
        for s in health.sites:
            v = {f.key: f.value for f in s.figures}
            lines.append(
                f"- {s.site} {s.site_name}: {_n(v['alarms_total'])} alarms, "
                f"{_n(v['alarms_per_day_avg'])} a day, peak {_n(v['alarms_per_10min_peak'])} in 10 min, "
                f"{_n(v['flood_time_pct'])} % in flood"
            )
    lines += ["", f"頻發警報 Bad actors (top {t.top} of {len(t.bad_actors)} rule x device pairs)"]
    for b in t.bad_actors[: t.top]:
        lines.append(
            f"{b.rank:>3}. {b.rule_key} on {b.device_code} ({b.site_code}): {b.alarms} alarms, "
            f"{_n(b.share_pct)} %, cumulative {_n(b.cumulative_pct)} %; shelve: POST /alarms/shelves "
            f'{{"rule_key": "{b.rule_key}", "device_id": {b.device_id}, "until": ..., "reason": ...}}; '
            f"rule: GET /rules/{b.rule_key}"
        )
    lines += ["", "警報氾濫 Alarm floods"]
    lines += [
        f"- {at(f.start)} to {f.end.astimezone(TAIPEI):%H:%M}: {f.alarms} alarms, "
        f"peak {f.peak_per_10min} in 10 min; "
        + ", ".join(f"{c.rule_key}@{c.device_code} x{c.alarms}" for c in f.top_contributors)
        for f in t.floods
    ] or ["- none"]
    lines += ["", "抖動警報 Chattering alarms"]
    lines += [
        f"- {c.rule_key} on {c.device_code}: {c.chattering_alarms} of {c.alarms} alarms chattering, "
        f"at most {c.max_in_window} within {_n(health.limits.chatter_window.total_seconds())} s"
        for c in t.chattering
    ] or ["- none"]
    lines += ["", "瞬時警報 Fleeting alarms"]
    lines += [
        f"- {at(f.raised_at)} {f.rule_key} on {f.device_code}: {_n(f.active_s)} s" for f in t.fleeting
    ] or ["- none"]
    lines += ["", "陳舊警報 Stale alarms"]
    lines += [
        f"- {s.rule_key} on {s.device_code}: raised {at(s.raised_at)}, "
        + (f"cleared {at(s.cleared_at)}" if s.cleared_at else "still active")
        + f", {_n(s.active_h)} h"
        for s in t.stale
    ] or ["- none"]
    lines += ["", "擱置 Shelves"]
    lines += [
        f"- {s.rule_key} on {s.device_code}: {at(s.shelved_from)} to {at(s.shelved_to)}, "
        f"{_n(s.hours_in_period)} h in the period, by {s.created_by}: {s.reason}"
        for s in t.shelves
    ] or ["- none"]
    lines += ["", "優先等級分布 Priority distribution"]
    lines += [
        f"- {p.severity.value}: {p.alarms} alarms, {_n(p.share_pct)} % "
        f"(recommended about {_n(p.recommended_pct)} %)"
        for p in t.priorities
    ]
    return "\n".join(lines)


def main() -> None:
    """Entry point of the `cityhall` script."""
    from sqlalchemy.exc import OperationalError, ProgrammingError  # noqa: PLC0415

    try:
        app()
    except (OperationalError, ProgrammingError) as err:
        # The usual cause on a new machine: the schema was never created. Say so instead of a traceback.
        typer.secho(f"database error: {err.orig or err}", fg="red", err=True)
        typer.secho("if the schema is missing or old, run: cityhall db upgrade", err=True)
        raise SystemExit(1) from err

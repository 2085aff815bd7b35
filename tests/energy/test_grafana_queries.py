"""Every Grafana dashboard query, run as Grafana would send it, against real InfluxDB and PostgreSQL.

No Grafana binary can run here, so the dashboards are proven by their queries: every panel target (rows'
nested panels included), every annotation and every template variable under grafana/dashboards is
expanded the way Grafana expands its macros and variables, then run against

- InfluxDB 1.6 (the `influx` fixture) holding a simulator backfill of every seeded building: three July days
  of 2026 and the same days 52 weeks earlier (the four-areas comparison), plus the alarm events that the
  maintenance outbox drains into the `alarm_events` measurement;
- a fresh PostgreSQL database migrated with `cityhall.migrate.upgrade`, the seed asset register, and alarms,
  tickets and a preventive-maintenance job made by `cityhall.maintenance` on a scripted clock.

Each query must return non-empty results of the shape its panel needs, with values in the range of the
panel's unit. Prometheus panels cannot run here (no Prometheus server; the collector exports its health only
on /metrics): they are listed in PROMETHEUS_PANELS, left out of the runs, and their metric names are checked
against the metrics the code exports.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from cityhall import maintenance
from cityhall.alarm_health import HealthLimits, assess_stored, week_period
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.energy.daily import rollup_registers
from cityhall.energy.periods import Period
from cityhall.energy.register import Area
from cityhall.energy.rollup import Scope, read_consumption, rollup
from cityhall.maintenance import AlarmCondition, InfluxAlarmEventSink
from cityhall.migrate import upgrade
from cityhall.models import (
    Alarm,
    Audience,
    Booking,
    BookingStatus,
    CommitteeAction,
    CommitteeActionStatus,
    CommitteeMeeting,
    ConservationArea,
    ConservationTarget,
    ConsumptionEntry,
    DeadLetter,
    DeadLetterCategory,
    Device,
    MaintenanceSchedule,
    MeetingStatus,
    ResourceKind,
    Role,
    Severity,
    Space,
    Ticket,
    TicketPriority,
    TicketStatus,
    Trade,
    User,
    VenueResource,
)
from cityhall.timeseries.influx import InfluxStore
from simulators.fleet import records_from_document, simulated
from simulators.modes import run_backfill
from simulators.scenario import load_scenario, plan
from tests import servers
from tests.alarm_story import MONDAY, add_week, register
from tests.energy.conftest import seed_register

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "grafana" / "dashboards"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
TAIPEI = ZoneInfo("Asia/Taipei")

# The backfill: every seeded building and device kind, three days, with faults the dormitory panels show.
SCENARIO = """\
name: grafana-dashboards
description: Every seeded building, three July days, faults for the dashboards to show.
seed: 31
start: 2026-07-13T00:00:00+08:00
duration: 3d
step: 15m
faults:
  - {kind: water_leak, device: MZ-DORM-WM-MAIN, start: 1d, end: 3d, params: {flow_m3h: 0.5}}
  - {kind: ac_left_on, device: MZ-DORM-2F-AC-201, start: 1d9h, end: 1d17h}
  - {kind: door_open_while_cooling, device: MZ-DORM-2F-WC-201, start: 22h, end: 1d1h}
  - {kind: comfort_breach, device: MZ-DORM-5F-CS-501, start: 2d19h, end: 2d22h}
  - {kind: meter_offline, device: YH-A-3F-CS-01, start: 1d2h, end: 1d5h}
"""
START = datetime(2026, 7, 13, tzinfo=TAIPEI)
LAST_YEAR = timedelta(weeks=52)  # the four-areas comparison: same weekdays a year earlier
# The dashboards' time range in the test: from the second day (consumption needs the day before) to an
# evening while the dormitory's comfort breach and leak are on, so the "now" panels have something to show.
RANGE_FROM = START + timedelta(days=1)
RANGE_TO = START + timedelta(days=2, hours=20, minutes=30)
Span = tuple[datetime, datetime]
SPAN: Span = (RANGE_FROM, RANGE_TO)
INTERVAL = "15m"  # what Grafana picks for $__interval on this range at a panel's width
BUILDINGS = {"YH-A", "MZ-A", "MZ-DORM"}

# Prometheus panels: listed one by one, so a new one is a decision, not an accident.
PROMETHEUS_REASON = (
    "Prometheus query: no Prometheus server can be installed here, and the collector and rules engine export "
    "their health only on /metrics; the metric names are checked by test_prometheus_panels_name_exported_metrics"
)
PROMETHEUS_PANELS = {
    ("collector-health.json", title)
    for title in (
        "Broker connected",
        "Reading store up",
        "Spool fill",
        "Queue depth",
        "Readings written",
        "Dead letters",
        "Messages received and readings written",
        "Write latency and lag (p95)",
        "Dead letters, quarantine and write failures",
        "Queue depth and spool",
        "Rules cycle duration (p95)",
        "Rules cycle errors and alarm transitions",
    )
}

# Values a panel of each unit may show, from the buildings' sizes (44,800 m2 at most; docs/simulators.md).
UNIT_RANGES: dict[str, tuple[float, float]] = {
    "kwatt": (0.0, 5_000.0),
    "kwatth": (0.0, 1_000_000.0),
    "m3": (0.0, 100_000.0),
    "suffix: m³/h": (0.0, 1_000.0),
    "celsius": (10.0, 45.0),
    "percent": (0.0, 100.0),
    "ppm": (300.0, 5_000.0),
    "s": (0.0, 1e8),
    "h": (0.0, 24.0),
    "suffix: ream": (0.0, 100_000.0),
    "none": (0.0, 1_000_000.0),
}
NO_UNIT_PANELS = {"row", "text"}
# Queries of per-event data filtered by a variable: some buildings have had no alarm or ticket, so these must
# return rows for at least one value of the variable, not for every one.
SPARSE = {
    "building.json:annotation Alarms raised",
    "building.json:panel Active alarms in this building A",
    "building.json:panel Open tickets in this building A",
    "building.json:panel Venue bookings in range A",
    "building.json:panel Venue hours booked per day A",
}  # layout panels: no data, nothing to give a unit


# --- reading the dashboards ---


@dataclass(frozen=True, slots=True)
class Query:
    """One query of a dashboard, as written in the JSON."""

    dashboard: str
    where: str  # "panel <title> <refId>", "annotation <name>", "variable <name>"
    kind: str  # influxdb, postgres, prometheus
    text: str
    unit: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    column_units: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.where}"

    @property
    def variables(self) -> set[str]:
        """The dashboard's template variables this query uses (Grafana's own $__*, $timeFilter ... excluded)."""
        found = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]", self.text)
        names = {a or b for a, b in found}
        return {n for n in names if not n.startswith(("__", "tag_")) and n not in {"timeFilter", "interval"}}


def load_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def walk_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested (collapsed) panels included."""
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def _kind(datasource: dict[str, Any]) -> str:
    kind = str(datasource["type"])
    return "postgres" if kind in {"grafana-postgresql-datasource", "postgres"} else kind


def collect_queries() -> list[Query]:
    """Every panel target, annotation and template variable query of every dashboard."""
    out = []
    for name, dash in load_dashboards().items():
        for p in walk_panels(dash["panels"]):
            config = p.get("fieldConfig", {})
            unit = config.get("defaults", {}).get("unit")
            column_units = {
                o["matcher"]["options"]: prop["value"]
                for o in config.get("overrides", [])
                if o["matcher"]["id"] == "byName"
                for prop in o["properties"]
                if prop["id"] == "unit"
            }
            for t in p.get("targets", []):
                query = t.get("query") or t.get("rawSql") or t.get("expr")
                where = f"panel {p['title']} {t['refId']}"
                out.append(Query(name, where, _kind(t["datasource"]), query, unit, t, column_units))
        for a in dash["annotations"]["list"]:
            if a.get("builtIn"):
                continue
            query = a.get("query") or a["target"]["rawSql"]  # InfluxQL at the top, SQL in the target
            out.append(Query(name, f"annotation {a['name']}", _kind(a["datasource"]), query, None, a))
        for v in dash["templating"]["list"]:
            out.append(Query(name, f"variable {v['name']}", _kind(v["datasource"]), v["query"], None, v))
    return out


QUERIES = collect_queries()


# --- Grafana's macros and variables ---


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(interval: str) -> int:
    value, unit = re.fullmatch(r"(\d+)([smhdw])", interval).groups()  # type: ignore[union-attr]
    return int(value) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


def _variables(query: str, values: dict[str, str], *, regex_escape: bool) -> str:
    """$var, ${var} and [[var]]; inside an InfluxQL regex (/^$var$/) the value is regex-escaped, as Grafana does."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise KeyError(f"no value for variable {name!r}")
        return values[name]

    if regex_escape:
        query = re.sub(r"/\^\$\{?([a-z][a-z0-9_]*)\}?\$/", lambda m: "/^" + re.escape(value(m)) + "$/", query)
    query = re.sub(r"\[\[([a-z][a-z0-9_]*)\]\]", value, query)
    query = re.sub(r"\$\{([a-z][a-z0-9_]*)\}", value, query)
    return re.sub(r"\$([a-z][a-z0-9_]*)", value, query)


def _globals(query: str, start: datetime, end: datetime, interval: str) -> str:
    for name, val in (
        ("__from", str(_ms(start))),
        ("__to", str(_ms(end))),
        ("__interval_ms", str(_seconds(interval) * 1000)),
        ("__interval", interval),
        ("interval", interval),
    ):
        query = query.replace("${" + name + "}", val).replace("$" + name, val)
    return query


def influxql(query: str, values: dict[str, str], start: datetime, end: datetime) -> str:
    """An InfluxQL query as Grafana's InfluxDB data source sends it."""
    query = query.replace("$timeFilter", f"time >= {_ms(start)}ms and time <= {_ms(end)}ms")
    query = _globals(query, start, end, INTERVAL)
    return _variables(query, values, regex_escape=True)


_SQL_ARGS = r"\(\s*([^,()]+?)\s*(?:,\s*'?([^,()']+?)'?\s*)?(?:,\s*[^()]*)?\)"


def postgres_sql(query: str, values: dict[str, str], start: datetime, end: datetime) -> str:
    """A SQL query as Grafana's PostgreSQL data source sends it (the macros this project uses)."""

    def group(m: re.Match[str], alias: bool) -> str:
        secs = _seconds(m.group(2))
        expr = f"floor(extract(epoch from {m.group(1)})/{secs})*{secs}"
        return expr + ' AS "time"' if alias else expr

    query = re.sub(r"\$__timeGroupAlias" + _SQL_ARGS, lambda m: group(m, alias=True), query)
    query = re.sub(r"\$__timeGroup" + _SQL_ARGS, lambda m: group(m, alias=False), query)
    query = re.sub(
        r"\$__timeFilter\(\s*([^()]+?)\s*\)", rf"\1 BETWEEN '{_iso(start)}' AND '{_iso(end)}'", query
    )
    query = re.sub(
        r"\$__unixEpochFilter\(\s*([^()]+?)\s*\)",
        rf"\1 >= {int(start.timestamp())} AND \1 <= {int(end.timestamp())}",
        query,
    )
    query = query.replace("$__timeFrom()", f"'{_iso(start)}'").replace("$__timeTo()", f"'{_iso(end)}'")
    query = _globals(query, start, end, INTERVAL)
    return _variables(query, values, regex_escape=False)


_LEFTOVER = re.compile(r"\$(\{|__|[a-zA-Z_])|\[\[")


def test_macro_expansion_matches_grafana() -> None:
    """The expansions the query tests rely on, checked on literal examples of Grafana's documented output."""
    start = datetime(2026, 7, 14, tzinfo=UTC)
    end = start + timedelta(hours=1)
    got = influxql(
        'SELECT mean("value") FROM "x" WHERE $timeFilter AND time >= ${__from}ms AND "building" =~ /^$b$/ '
        "AND \"s\" = '${b}' AND \"d\" = '[[b]]' GROUP BY time($__interval) -- $__interval_ms",
        {"b": "YH-A"},
        start,
        end,
    )
    assert got == (
        'SELECT mean("value") FROM "x" WHERE time >= 1783987200000ms and time <= 1783990800000ms '
        'AND time >= 1783987200000ms AND "building" =~ /^YH\\-A$/ AND "s" = \'YH-A\' AND "d" = \'YH-A\' '
        "GROUP BY time(15m) -- 900000"
    )
    got = postgres_sql(
        "SELECT $__timeGroupAlias(raised_at, '1d'), $__timeGroup(a.at, 1h, 0) FROM t "
        "WHERE $__timeFilter(raised_at) AND $__unixEpochFilter(e) AND x > $__timeFrom() AND b = '$b'",
        {"b": "MZ-DORM"},
        start,
        end,
    )
    assert got == (
        'SELECT floor(extract(epoch from raised_at)/86400)*86400 AS "time", '
        "floor(extract(epoch from a.at)/3600)*3600 FROM t "
        "WHERE raised_at BETWEEN '2026-07-14T00:00:00Z' AND '2026-07-14T01:00:00Z' "
        "AND e >= 1783987200 AND e <= 1783990800 AND x > '2026-07-14T00:00:00Z' AND b = 'MZ-DORM'"
    )


# --- static checks: no services needed ---


def test_dashboards_have_unique_uids_and_titles() -> None:
    dashboards = load_dashboards()
    assert len(dashboards) >= 6
    uids = [d["uid"] for d in dashboards.values()]
    titles = [d["title"] for d in dashboards.values()]
    assert all(uids)
    assert all(titles)
    assert len(set(uids)) == len(uids), uids
    assert len(set(titles)) == len(titles), titles


def test_every_panel_has_a_unit() -> None:
    missing = [
        f"{name}: {p['title']}"
        for name, dash in load_dashboards().items()
        for p in walk_panels(dash["panels"])
        if p["type"] not in NO_UNIT_PANELS and not p.get("fieldConfig", {}).get("defaults", {}).get("unit")
    ]
    assert missing == []


def test_panel_ids_are_unique_per_dashboard() -> None:
    for name, dash in load_dashboards().items():
        ids = [p["id"] for p in walk_panels(dash["panels"])]
        assert len(set(ids)) == len(ids), name


def test_datasources_are_provisioned_for_every_query() -> None:
    """Panels, targets, annotations and variables name a provisioned data source by uid, with its type."""
    doc = yaml.safe_load(DATASOURCES.read_text())
    provisioned = {ds["uid"]: ds["type"] for ds in doc["datasources"]}
    influx = next(ds for ds in doc["datasources"] if ds["type"] == "influxdb")
    assert influx["jsonData"].get("version", "InfluxQL") == "InfluxQL"
    used = []
    for name, dash in load_dashboards().items():
        for p in walk_panels(dash["panels"]):
            used += [(name, p["title"], p["datasource"])] if "datasource" in p else []
            used += [(name, p["title"], t["datasource"]) for t in p.get("targets", [])]
        used += [
            (name, a["name"], a["datasource"]) for a in dash["annotations"]["list"] if not a.get("builtIn")
        ]
        used += [(name, v["name"], v["datasource"]) for v in dash["templating"]["list"]]
    assert used
    wrong = [(n, w, ds) for n, w, ds in used if provisioned.get(ds["uid"]) != ds["type"]]
    assert wrong == []


def test_influx_queries_are_aggregate_friendly() -> None:
    """No SELECT *; every time grouping fills; panels read aggregates, never raw points."""
    influx = [q for q in QUERIES if q.kind == "influxdb"]
    assert influx
    for q in influx:
        assert "SELECT *" not in q.text.upper(), q.id
        assert q.text.count("GROUP BY time(") == q.text.count(" fill("), q.id
        if q.where.startswith("panel"):
            # Each SELECT reads through an aggregate or selector function.
            for select_list in re.findall(r"SELECT (.+?) FROM", q.text):
                assert re.match(r"[a-z_]+\(", select_list), (q.id, select_list)


def test_prometheus_panels_are_listed_and_name_exported_metrics() -> None:
    """The Prometheus panels are exactly the listed ones, and every metric they name is exported."""
    from prometheus_client import REGISTRY  # noqa: PLC0415

    import collector.metrics  # noqa: F401, PLC0415 - registers the collector's metrics
    import rules.metrics  # noqa: F401, PLC0415

    prometheus = [q for q in QUERIES if q.kind == "prometheus"]
    panels = {(q.dashboard, q.where.split(" ", 1)[1].rsplit(" ", 1)[0]) for q in prometheus}
    assert panels == PROMETHEUS_PANELS
    exported = set()
    for family in REGISTRY.collect():
        exported |= {sample.name for sample in family.samples}
        exported.add(family.name)
        if family.type == "counter":
            exported.add(f"{family.name}_total")
        if family.type == "histogram":
            exported.add(f"{family.name}_bucket")
    names = {name for q in prometheus for name in re.findall(r"\bcityhall_[a-z_]+", q.text)}
    assert names
    assert sorted(names - exported) == []


def test_every_query_is_run_or_a_listed_prometheus_panel() -> None:
    kinds = {q.kind for q in QUERIES}
    assert kinds <= {"influxdb", "postgres", "prometheus"}, kinds
    assert {"influxdb", "postgres"} <= kinds
    assert {q.id for q in QUERIES} >= SPARSE


# --- the data the queries run against ---


@dataclass(slots=True)
class Clock:
    """The time cityhall.maintenance sees, moved by the test's story."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class Loaded:
    """InfluxDB and PostgreSQL as the dashboards see them."""

    store: InfluxStore
    engine: Engine
    ack_seconds: tuple[float, ...]


def _backfill(influx: servers.InfluxServer, tmp: Path) -> InfluxStore:
    influx.create_database("grafana")
    store = InfluxStore(influx.url, "grafana")
    path = tmp / "grafana-dashboards.yaml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    records = records_from_document(load_yaml(seed_path()))
    for start in (scenario.spec.start, scenario.spec.start - LAST_YEAR):
        the_plan = plan(scenario, simulated(records, seed=scenario.spec.seed), start=start)
        run_backfill(the_plan, store, show_progress=False)
        first = start.astimezone(TAIPEI).date()
        rollup_registers(store, since=first, until=first + timedelta(days=4))  # as housekeeping does
    return store


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return (START + timedelta(days=day, hours=hour, minutes=minute)).astimezone(UTC)


def _condition(name: str, severity: Severity, quantity: str, value: float, since: datetime) -> AlarmCondition:
    units = {"power_kw": "kW", "flow_m3h": "m3/h", "on_state": "1/0", "temperature_c": "degC"}
    key = name.lower().replace(" ", "_")[:64]
    return AlarmCondition(
        key, name, severity, quantity, units[quantity], 0.0, value, since, f"{name}: {value}"
    )


def _story(engine: Engine, clock: Clock) -> list[float]:
    """Alarms, tickets, a PM job and dead letters over the backfilled days; returns the acknowledgement delays."""
    factory = make_sessionmaker(engine)
    actor = "system:rules"

    def device(session: Session, code: str) -> Device:
        return session.scalars(select(Device).where(Device.code == code)).one()

    def raise_(when: datetime, code: str, condition: AlarmCondition) -> int:
        with transaction(factory) as session:
            clock.now = when
            alarm = maintenance.raise_alarm(
                session, device=device(session, code), condition=condition, actor=actor
            )
            assert alarm is not None
            session.flush()
            return alarm.id

    def act(when: datetime, alarm_id: int, *steps: str, hold: str = "") -> None:
        clock.now = when
        with transaction(factory) as session:
            alarm = session.get_one(Alarm, alarm_id)
            ticket = session.scalars(select(Ticket).where(Ticket.alarm_id == alarm_id)).one()
            for step in steps:
                if step == "ack":
                    maintenance.acknowledge_alarm(session, alarm=alarm, actor="chen")
                elif step == "clear":
                    maintenance.clear_alarm(session, alarm=alarm, actor=actor, at=when)
                elif step == "close":
                    maintenance.close_alarm(session, alarm=alarm, actor="chen")
                else:
                    status = TicketStatus(step)
                    maintenance.change_ticket_status(
                        session, ticket=ticket, to=status, actor="chen", hold_reason=hold or None
                    )

    demand = raise_(
        _at(1, 14),
        "YH-A-EM-MAIN",
        _condition("Demand above contract", Severity.CRITICAL, "power_kw", 1480.0, _at(1, 13, 45)),
    )
    act(_at(1, 14, 10), demand, "in_progress")  # starting the work acknowledges the alarm
    act(_at(1, 15), demand, "clear")
    act(_at(1, 16), demand, "done", "close")
    leak = raise_(
        _at(1, 2),
        "MZ-DORM-WM-MAIN",
        _condition("Water flow at night", Severity.HIGH, "flow_m3h", 0.5, _at(1, 1)),
    )
    act(_at(1, 2, 45), leak, "ack")
    act(_at(1, 9), leak, "in_progress")
    act(_at(1, 11), leak, "on_hold", hold="waiting for a plumber's part")
    ac = raise_(
        _at(1, 9, 15),
        "MZ-DORM-2F-AC-201",
        _condition("Air-conditioner on in an empty room", Severity.MEDIUM, "on_state", 1.0, _at(1, 9)),
    )
    act(_at(1, 9, 35), ac, "ack")
    act(_at(1, 17), ac, "clear")
    hot = raise_(
        _at(2, 19, 30),
        "MZ-DORM-5F-CS-501",
        _condition("Room too hot", Severity.LOW, "temperature_c", 31.2, _at(2, 19)),
    )
    del hot
    silent = raise_(
        _at(1, 2, 30),
        "YH-A-3F-CS-01",
        _condition("Sensor silent", Severity.MEDIUM, "temperature_c", 0.0, _at(1, 2)),
    )
    act(_at(1, 5), silent, "clear")
    with transaction(factory) as session:
        clock.now = _at(1, 10)
        tap = maintenance.open_request_ticket(
            session,
            title="Dripping tap, 1F public restroom",
            description="Reported at the service counter.",
            priority=TicketPriority.NORMAL,
            device=device(session, "YH-A-1F-WM-01"),
            actor="lin",
            trade=Trade.PLUMBING,
        )
        session.flush()
        tap_id = tap.id
    clock.now = _at(1, 13)
    with transaction(factory) as session:
        maintenance.change_ticket_status(
            session, ticket=session.get_one(Ticket, tap_id), to=TicketStatus.IN_PROGRESS, actor="chen"
        )
    clock.now = _at(2, 11)
    with transaction(factory) as session:
        maintenance.change_ticket_status(
            session, ticket=session.get_one(Ticket, tap_id), to=TicketStatus.DONE, actor="chen"
        )
    # A monthly preventive job first due on 1 July: its ticket is long past its SLA.
    with transaction(factory) as session:
        chiller = device(session, "YH-A-B1-EM-CHIL")
        dtstart = datetime(2026, 7, 1, 9, tzinfo=TAIPEI)
        session.add(
            MaintenanceSchedule(
                title="Chiller plant monthly inspection",
                rrule="FREQ=MONTHLY;BYMONTHDAY=1",
                dtstart=dtstart,
                device_id=chiller.id,
                trade=Trade.HVAC,
                priority=TicketPriority.NORMAL,
                next_due_at=dtstart.astimezone(UTC),
                created_by="lin",
            )
        )
    clock.now = _at(2, 8)
    with transaction(factory) as session:
        assert maintenance.generate_due_jobs(session, now=clock.now)
    # Dead letters as the collector keeps them (its writer builds these rows; collector/writer.py).
    with transaction(factory) as session:
        for i, (category, code, reason) in enumerate(
            [
                (
                    DeadLetterCategory.MALFORMED,
                    "YH-A-3F-CS-02",
                    "temperature_c: expected a number, got 'abc'",
                ),
                (DeadLetterCategory.MALFORMED, None, "not JSON"),
                (DeadLetterCategory.UNKNOWN_DEVICE, "YH-A-9F-CS-99", "unknown device 'YH-A-9F-CS-99'"),
                (DeadLetterCategory.UNKNOWN_DEVICE, "YH-A-9F-CS-99", "unknown device 'YH-A-9F-CS-99'"),
            ]
        ):
            session.add(
                DeadLetter(
                    topic=f"cityhall/v1/readings/{code or 'x'}",
                    payload=b"{}",
                    reason=reason,
                    device=code,
                    category=category,
                    received_at=_at(1, 3 + i),
                )
            )
    _bookings(factory)
    _conservation(factory)
    return [600.0, 2700.0, 1200.0]  # demand 10 min (via in_progress), leak 45 min, AC 20 min


# The building dashboard's venue panels: YH-A's second meeting room, booked on both days of the range.
BOOKINGS = [
    ("Procurement briefing", BookingStatus.CONFIRMED, 1, 9, 3),  # title, status, day, hour, hours
    ("Safety committee", BookingStatus.PENDING, 1, 14, 2),
    ("Cancelled rehearsal", BookingStatus.CANCELLED, 1, 16, 2),
    ("Budget review", BookingStatus.CHECKED_IN, 2, 10, 1),
]


# The four-areas panels from PostgreSQL: July's paper and bought fuel, targets for 2026, committee actions.
ENTRIES = [  # department, area, amount, unit, source
    ("SEC", ConservationArea.PAPER, 40.0, "ream", "supply office"),
    ("SEC", ConservationArea.PAPER, 2.5, "ream", "print shop"),
    ("CIVIL", ConservationArea.PAPER, 12.0, "ream", "supply office"),
    ("SEC", ConservationArea.FUEL, 0.4, "m3", "fuel card"),
]


def _conservation(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        for department, area, amount, unit, source in ENTRIES:
            session.add(
                ConsumptionEntry(
                    department_code=department,
                    area=area,
                    month=date(2026, 7, 1),
                    amount=amount,
                    unit=unit,
                    entered_amount=amount,
                    entered_unit=unit,
                    source=source,
                    entered_by="lin",
                )
            )
        for area, amount, unit in (
            (ConservationArea.ELECTRICITY, 900_000.0, "kWh"),
            (ConservationArea.PAPER, 480.0, "ream"),
        ):
            session.add(
                ConservationTarget(
                    department_code="SEC",
                    year=2026,
                    area=area,
                    target_amount=amount,
                    unit=unit,
                    created_by="chen",
                )
            )
        meeting = CommitteeMeeting(
            title="Energy committee, July", starts_at=_at(1, 14), status=MeetingStatus.HELD, created_by="chen"
        )
        session.add(meeting)
        session.flush()
        for due, status in (
            (date(2026, 7, 31), CommitteeActionStatus.OPEN),
            (date(2026, 7, 20), CommitteeActionStatus.DONE),
        ):
            session.add(
                CommitteeAction(
                    meeting_id=meeting.id,
                    description="Survey lighting",
                    owner_name="Lin",
                    due_on=due,
                    status=status,
                    done_at=_at(2, 9) if status is CommitteeActionStatus.DONE else None,
                )
            )


def _bookings(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        space = session.scalars(select(Space).where(Space.code == "YH-A-3F-MR-01")).one()
        room = VenueResource(
            code="YH-A-MR-301",
            name="3F meeting room",
            kind=ResourceKind.MEETING_ROOM,
            audience=Audience.INTERNAL,
            space_id=space.id,
            capacity_people=20,
        )
        session.add(room)
        session.flush()
        user = User(username="wang", full_name="Wang", role=Role.STAFF, email=None, password_hash="-")
        session.add(user)
        session.flush()
        for title, status, day, hour, hours in BOOKINGS:
            starts = _at(day, hour)
            session.add(
                Booking(
                    resource_id=room.id,
                    status=status,
                    title=title,
                    attendees=12,
                    department="Secretariat",
                    user_id=user.id,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=hours),
                    block_until=starts + timedelta(hours=hours),
                    created_by="wang",
                )
            )


@pytest.fixture(scope="module")
def loaded(influx: servers.InfluxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The backfill in InfluxDB, the story in a fresh PostgreSQL database, the alarm events drained."""
    if servers.postgres_url() is None:
        servers.require_service(
            "PostgreSQL", "no PostgreSQL server answers; run scripts/install-system-deps.sh"
        )
    store = _backfill(influx, tmp_path_factory.mktemp("grafana"))
    url = servers.fresh_postgres_database("cityhall_grafana")
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test:seed")
    clock = Clock(START.astimezone(UTC))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(maintenance, "utcnow", clock)
        acks = _story(engine, clock)
        assert maintenance.drain_alarm_events(factory, sink=InfluxAlarmEventSink(store)) > 0
    yield Loaded(store, engine, tuple(acks))
    store.close()
    engine.dispose()
    servers.drop_postgres_database(url)


# --- running the queries ---


def _number(value: Any) -> float | None:
    """A numeric cell as a float (PostgreSQL averages are Decimal); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def _check_value(q: Query, column: str, value: Any) -> int:
    """Assert a numeric cell is finite and within its unit's range; 1 if it was a number."""
    number = _number(value)
    if number is None or column == "id":
        return 0
    assert math.isfinite(number), (q.id, column, value)
    unit = q.column_units.get(column, q.unit)
    if unit in UNIT_RANGES:
        low, high = UNIT_RANGES[unit]
        assert low <= number <= high, (q.id, column, value, unit)
    return 1


def run_influx(loaded: Loaded, q: Query, values: dict[str, str], span: Span) -> list[dict[str, Any]]:
    """Run one InfluxQL query as Grafana would; check the shape of every series it returns."""
    sent = influxql(q.text, values, *span)
    assert not _LEFTOVER.search(sent.replace("$/", "/")), (q.id, sent)
    series = loaded.store.query(sent)
    numbers = 0
    for s in series:
        columns = s["columns"]
        assert columns[0] == "time", q.id
        for row in s["values"]:
            assert len(row) == len(columns), q.id
            numbers += sum(_check_value(q, c, v) for c, v in zip(columns[1:], row[1:], strict=True))
        for tag in re.findall(r"\$tag_([a-z_]+)", q.options.get("alias", "")):
            assert tag in s.get("tags", {}), (q.id, tag)
        building = s.get("tags", {}).get("building")
        if building is not None and values:
            assert building in values.values(), (q.id, building)
    if q.where.startswith("annotation") and series:
        wanted = {q.options["textColumn"], *q.options["tagsColumn"].split(",")}
        assert wanted <= set(series[0]["columns"]), q.id
    elif series:
        assert numbers, f"{q.id} {values}: only nulls"
    return series


def run_postgres(loaded: Loaded, q: Query, values: dict[str, str], span: Span) -> list[dict[str, Any]]:
    """Run one SQL query as Grafana would; check its columns and values."""
    sent = postgres_sql(q.text, values, *span)
    assert not _LEFTOVER.search(sent), (q.id, sent)
    with loaded.engine.connect() as conn:
        result = conn.execute(text(sent))
        columns = set(result.keys())
        rows = [dict(r._mapping) for r in result]
    if q.where.startswith("variable"):
        assert {"__value", "__text"} <= columns, q.id
    elif q.where.startswith("annotation"):
        assert {"time", "timeend", "text", "tags"} <= columns, q.id
    elif q.options.get("format") == "time_series":
        assert columns == {"time", "metric", "value"}, q.id
    for r in rows:
        for column, value in r.items():
            if column != "time":
                _check_value(q, column, value)
    return rows


def variable_values(loaded: Loaded, dashboard: str) -> dict[str, list[str]]:
    """Each template variable of a dashboard with the values its query offers."""
    out = {}
    for q in QUERIES:
        if q.dashboard == dashboard and q.where.startswith("variable"):
            out[q.where.split(" ", 1)[1]] = [str(r["__value"]) for r in run_postgres(loaded, q, {}, SPAN)]
    return out


def run(
    loaded: Loaded, q: Query, span: Span | None = None
) -> list[tuple[dict[str, str], list[dict[str, Any]]]]:
    """Run a query once per value of each variable it uses; (variable values, result) per run."""
    offered = variable_values(loaded, q.dashboard)
    combos: list[dict[str, str]] = [{}]
    for name in sorted(q.variables):
        assert offered.get(name), f"{q.id}: ${name} is not a variable of the dashboard or offers no value"
        combos = [{**c, name: v} for c in combos for v in offered[name]]
    runner = run_influx if q.kind == "influxdb" else run_postgres
    return [(c, runner(loaded, q, c, span or SPAN)) for c in combos]


RUNNABLE = [q for q in QUERIES if q.kind != "prometheus"]  # Prometheus: see PROMETHEUS_REASON


@pytest.mark.parametrize("q", RUNNABLE, ids=[q.id for q in RUNNABLE])
def test_query_runs_and_returns_rows(loaded: Loaded, q: Query) -> None:
    """Every query returns rows; for every value of its variables, unless it reads per-event data (SPARSE)."""
    results = run(loaded, q)
    empty = [values for values, result in results if not result]
    if q.id in SPARSE:
        assert len(empty) < len(results), f"{q.id}: no rows for any value"
    else:
        assert empty == [], f"{q.id}: no rows for {empty}"


# --- what the numbers mean ---


def _query(dashboard: str, title: str) -> Query:
    return next(q for q in QUERIES if q.dashboard == dashboard and q.where.startswith(f"panel {title} "))


def _by_building_and_day(series: list[dict[str, Any]]) -> dict[tuple[str, datetime], float]:
    return {
        (s["tags"]["building"], datetime.fromtimestamp(t / 1000, TAIPEI)): float(v)
        for s in series
        for t, v in s["values"]
        if v is not None
    }


@pytest.mark.parametrize(
    ("title", "area", "measurement"),
    [
        ("Electricity per day by building", Area.ELECTRICITY, "energy_kwh"),
        ("Water per day by building", Area.WATER, "volume_m3"),
    ],
)
def test_daily_consumption_matches_the_energy_rollup(
    loaded: Loaded, title: str, area: Area, measurement: str
) -> None:
    """Grafana's register differences per day equal cityhall.energy's building rollup on fault-free registers."""
    q = _query("overview.json", title)
    assert measurement in q.text
    last_day = START + timedelta(days=2)
    ((_, series),) = run(loaded, q, (RANGE_FROM, last_day + timedelta(days=1)))
    grafana = _by_building_and_day(series)
    register = seed_register()
    consumption = read_consumption(loaded.store, register, area, since=START, until=START + timedelta(days=3))
    expected = rollup(consumption, register, Scope.BUILDING, Period.DAY)
    assert set(grafana) == {(b, d) for b in BUILDINGS for d in (RANGE_FROM, last_day)}
    for (building, day), amount in grafana.items():
        assert amount > 0
        assert amount == pytest.approx(expected[building][day], rel=1e-9), (building, day)


ROLLUP_QUERIES = [q for q in QUERIES if q.dashboard == "four-areas.json" and "_daily" in q.text]


@pytest.mark.parametrize("q", ROLLUP_QUERIES, ids=lambda q: q.where)
def test_four_areas_rollup_queries_equal_the_readings(loaded: Loaded, q: Query) -> None:
    """On the daily rollup, each four-areas query gives what it gives on the 15-minute readings over whole
    local days (the default range, this year so far, starts at midnight and ends now, when today's rollup is
    fresh); a range that starts mid-afternoon counts the days that start in it, so its first day is left out."""
    assert len(ROLLUP_QUERIES) == 9
    raw = q.text.replace('_daily"', '"')
    whole_days = (RANGE_FROM, START + timedelta(days=3))
    rolled = loaded.store.query(influxql(q.text, {}, *whole_days))
    assert rolled
    assert [s["values"] for s in rolled] == [
        s["values"] for s in loaded.store.query(influxql(raw, {}, *whole_days))
    ]
    if "per day" in q.where:
        later = (RANGE_FROM + timedelta(hours=14, minutes=23), RANGE_TO)
        days = {
            (s["tags"]["building"], t)
            for s in loaded.store.query(influxql(q.text, {}, *later))
            for t, _ in s["values"]
        }
        assert days
        assert min(t for _, t in days) == _ms(RANGE_FROM + timedelta(days=1))


def test_main_meter_convention_matches_the_register() -> None:
    """The dashboards find main meters by code (-EM-MAIN, -WM-MAIN); the seed register's main meters match it."""
    register = seed_register()
    for area, suffix in ((Area.ELECTRICITY, "-EM-MAIN"), (Area.WATER, "-WM-MAIN")):
        main = {m.code for m in register.of_area(area) if m.is_main}
        named = {m.code for m in register.of_area(area) if m.code.endswith(suffix)}
        assert main == named, area
        assert {m.building for m in register.of_area(area) if m.is_main} == BUILDINGS


def test_building_variable_lists_every_building_with_readings(loaded: Loaded) -> None:
    offered = variable_values(loaded, "building.json")["building"]
    stored = loaded.store.query('SHOW TAG VALUES FROM "power_kw" WITH KEY = "building"')
    assert set(offered) == {v for _, v in stored[0]["values"]} == BUILDINGS
    assert variable_values(loaded, "dormitories.json")["dormitory"] == ["MZ-DORM"]


def test_alarm_and_ticket_figures(loaded: Loaded) -> None:
    """The alarms-and-tickets panels give the figures of the scripted story."""
    board = "alarms-tickets.json"
    ((_, rows),) = run(loaded, _query(board, "Mean time to acknowledge"))
    assert float(rows[0]["mtta_s"]) == pytest.approx(sum(loaded.ack_seconds) / len(loaded.ack_seconds))
    ((_, rows),) = run(loaded, _query(board, "Active alarms by severity"))
    assert rows == [{"critical": 0, "high": 1, "medium": 0, "low": 1}]
    ((_, rows),) = run(loaded, _query(board, "Open tickets by status"))
    # Leak on hold; AC (cleared, awaiting confirmation), comfort, silent sensor and the PM job open.
    assert rows == [{"open": 4, "assigned": 0, "in_progress": 0, "on_hold": 1}]
    ((_, rows),) = run(loaded, _query(board, "Tickets past SLA"))
    assert rows == [{"overdue_tickets": 5}]  # every ticket still open since July is overdue by now
    ((_, rows),) = run(loaded, _query(board, "Overdue tickets"))
    assert len(rows) == 5
    assert rows[0]["title"] == "Chiller plant monthly inspection"  # due since 1 July: the most overdue
    ((_, rows),) = run(loaded, _query(board, "Mean time to acknowledge by severity"))
    assert {k: float(v) if v is not None else None for k, v in rows[0].items()} == {
        "critical": 600.0,
        "high": 2700.0,
        "medium": 1200.0,
        "low": None,
    }


def test_venue_booking_panels(loaded: Loaded) -> None:
    """The building's venue panels count active bookings only, per Asia/Taipei day."""
    results = {
        c["building"]: rows for c, rows in run(loaded, _query("building.json", "Venue hours booked per day"))
    }
    assert results["MZ-A"] == []
    days = {(r["time"].astimezone(TAIPEI).date(), r["metric"]): float(r["value"]) for r in results["YH-A"]}
    first = RANGE_FROM.date()
    assert days == {(first, "YH-A-MR-301"): 5.0, (first + timedelta(days=1), "YH-A-MR-301"): 1.0}
    table = {
        c["building"]: rows for c, rows in run(loaded, _query("building.json", "Venue bookings in range"))
    }
    assert [r["title"] for r in table["YH-A"]] == [
        "Procurement briefing",
        "Safety committee",
        "Budget review",
    ]
    assert table["YH-A"][0]["starts"] == f"{first:%Y-%m-%d} 09:00"


def test_four_areas_entries_targets_and_actions(loaded: Loaded) -> None:
    """Paper and bought fuel per department and month, the year's targets, and overdue committee actions."""
    board = "four-areas.json"
    ((_, rows),) = run(loaded, _query(board, "Paper per month by department"))
    july = datetime(2026, 7, 1, tzinfo=TAIPEI)
    assert {(r["time"], r["metric"]): r["value"] for r in rows} == {
        (july, "CIVIL"): 12.0,
        (july, "SEC"): 42.5,
    }
    ((_, rows),) = run(loaded, _query(board, "Fuel bought per month by department"))
    assert [(r["metric"], r["value"]) for r in rows] == [("SEC", 0.4)]
    ((_, rows),) = run(loaded, _query(board, "Targets for the range's year"))
    assert [(r["department"], r["area"], r["target"], r["unit"]) for r in rows] == [
        ("SEC", "electricity", 900_000.0, "kWh"),
        ("SEC", "paper", 480.0, "ream"),
    ]
    ((_, rows),) = run(loaded, _query(board, "Committee actions overdue"))
    assert rows == [{"overdue": 1}]  # the open one; the done one is not overdue


def test_alarm_annotations_come_from_the_events_measurement(loaded: Loaded) -> None:
    q = next(q for q in QUERIES if q.dashboard == "building.json" and q.where.startswith("annotation"))
    results = {c["building"]: r for c, r in run(loaded, q) if c}
    devices = {b: {row[3] for s in series for row in s["values"]} for b, series in results.items()}
    assert devices["MZ-DORM"] == {"MZ-DORM-WM-MAIN", "MZ-DORM-2F-AC-201", "MZ-DORM-5F-CS-501"}
    assert devices["YH-A"] == {"YH-A-EM-MAIN", "YH-A-3F-CS-01"}


# --- the alarm-health panels, on the alarm-health test week, against cityhall.alarm_health ---

HEALTH_WEEK = (MONDAY, MONDAY + timedelta(days=7))  # 2026-W49, tests/alarm_story.py
HEALTH_PANELS = (
    "Alarms raised per 10 minutes, flood line",
    "Most alarms in 10 minutes",
    "Time in alarm flood",
    "Bad actors: the 10 most frequent alarms",
)


@pytest.fixture(scope="module")
def alarm_week() -> Iterator[Engine]:
    """A fresh PostgreSQL database holding tests/alarm_story.py's week (no InfluxDB needed)."""
    if servers.postgres_url() is None:
        servers.require_service(
            "PostgreSQL", "no PostgreSQL server answers; run scripts/install-system-deps.sh"
        )
    url = servers.fresh_postgres_database("cityhall_grafana_health")
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        add_week(session, register(session))
    yield engine
    engine.dispose()
    servers.drop_postgres_database(url)


def _run_sql(engine: Engine, title: str, span: Span = HEALTH_WEEK) -> list[dict[str, Any]]:
    q = _query("alarms-tickets.json", title)
    sent = postgres_sql(q.text, {}, *span)
    assert not _LEFTOVER.search(sent), (q.id, sent)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sent))]


def test_alarm_health_panels_are_on_the_alarms_dashboard() -> None:
    titles = {
        q.where.split(" ", 1)[1].rsplit(" ", 1)[0] for q in QUERIES if q.dashboard == "alarms-tickets.json"
    }
    assert set(HEALTH_PANELS) <= titles
    per_10_min = next(
        p for p in load_dashboards()["alarms-tickets.json"]["panels"] if p["title"] == HEALTH_PANELS[0]
    )
    steps = per_10_min["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == HealthLimits().flood_above  # the flood line is the report's flood level
    assert per_10_min["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"


def test_alarm_health_panels_give_the_reports_figures(alarm_week: Engine) -> None:
    """On the same alarms, each panel gives what cityhall.alarm_health gives, and the figures worked out by hand
    in tests/test_alarm_health.py."""
    with make_sessionmaker(alarm_week)() as session:
        health = assess_stored(
            session, period=week_period("2026-W49"), now=HEALTH_WEEK[1] + timedelta(days=1)
        )

    rows = _run_sql(alarm_week, HEALTH_PANELS[0])
    grafana = {(r["metric"], datetime.fromtimestamp(float(r["time"]), UTC)): int(r["value"]) for r in rows}
    report = {(s.site, i.start): i.alarms for s in health.sites for i in s.tally.per_interval}
    assert grafana == report
    assert grafana[("MZ", datetime(2026, 12, 2, 14, tzinfo=TAIPEI))] == 13  # Wednesday 14:00-14:10
    assert sum(grafana.values()) == 42

    ((peak,),) = [tuple(r.values()) for r in _run_sql(alarm_week, HEALTH_PANELS[1])]
    assert peak == health.scope.figure("alarms_per_10min_peak").value == 13
    ((flood,),) = [tuple(r.values()) for r in _run_sql(alarm_week, HEALTH_PANELS[2])]
    assert float(flood) == pytest.approx(health.scope.figure("flood_time_pct").value)
    assert float(flood) == pytest.approx(100 * 2 / 1008)

    table = _run_sql(alarm_week, HEALTH_PANELS[3])
    assert [(r["rule_key"], r["device"], r["site"], r["alarms"]) for r in table] == [
        (b.rule_key, b.device_code, b.site_code, b.alarms) for b in health.scope.tally.bad_actors[:10]
    ]
    assert [(float(r["share_pct"]), float(r["cumulative_pct"])) for r in table[:3]] == [
        (16.67, 16.67),  # co2-high on yh-1: 7 of 42
        (9.52, 26.19),  # temperature-spike on yh-2: 4
        (7.14, 33.33),  # comms-lost on mz-11: 3
    ]
    assert float(table[-1]["cumulative_pct"]) == pytest.approx(
        health.scope.figure("top10_share_pct").value, abs=0.005
    )
    assert float(table[-1]["cumulative_pct"]) == 50.0  # 21 of 42

"""Issue 6's energy benchmark: one year of 15-minute data for 500 meters in a real InfluxDB.

Measures, against the issue's limits (each dashboard query under 500 ms; the monthly committee report under
10 s):

* every InfluxDB query of every Grafana dashboard (grafana/dashboards), expanded the way Grafana expands its
  macros (the expansion tests/energy/test_grafana_queries.py checks against Grafana's documented output),
  over each dashboard's default time range ending at the data's last day, and again over the last 30 days
  and this year so far, with `$__interval` picked the way Grafana picks it for a 1,000-pixel panel;
* the monthly committee report (`cityhall.reports`) for the last full month: the numbers, then HTML, PDF and
  XLSX.

The data: 25 buildings on 5 sites, each with 20 meters (an electricity incomer and 13 sub-meters, a water
incomer and 3 sub-meters, a fuel meter and a PV inverter): 500 meters, each writing its register and its
rate (kWh and kW, or m3 and m3/h) every 15 minutes for 365 days (35,040 readings per quantity), plus an
outdoor temperature sensor per site. Loads follow office hours, Taiwan's working days and the outdoor
temperature, so the baselines have something to fit. Generated with numpy and written as line protocol.

    .venv/bin/python -m bench.energy_year [--meters-per-building 20] [--buildings 25] [--days 365] [--runs 5]

Prints a table per range and writes bench/results/energy_year.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cityhall.assets import AssetDocument
from cityhall.db import make_engine, make_sessionmaker
from cityhall.energy.daily import rollup_registers
from cityhall.energy.register import register_from_document
from cityhall.maintenance import AlarmEvent, encode_events
from cityhall.migrate import upgrade
from cityhall.models import DeviceKind, ReportKind
from cityhall.reports.period import period_before
from cityhall.reports.store import file_name, generate_report
from cityhall.timeseries.influx import InfluxStore
from tests import servers
from tests.energy.test_grafana_queries import QUERIES, Query, influxql, load_dashboards

TAIPEI = ZoneInfo("Asia/Taipei")
STEP = timedelta(minutes=15)
LIMIT_QUERY_MS = 500.0
LIMIT_REPORT_S = 10.0
RESULTS = Path(__file__).with_name("results") / "energy_year.md"
DATABASE = "energy_year"

# Grafana's interval choice: range / max data points (a panel about 1,000 pixels wide), rounded up to one of
# these steps (its kbn.roundInterval table, simplified to the steps a dashboard here can get).
_STEPS = [
    ("15s", 15),
    ("30s", 30),
    ("1m", 60),
    ("5m", 300),
    ("10m", 600),
    ("15m", 900),
    ("30m", 1800),
    ("1h", 3600),
    ("3h", 10800),
    ("6h", 21600),
    ("12h", 43200),
    ("1d", 86400),
    ("1w", 604800),
]


def grafana_interval(start: datetime, end: datetime, pixels: int = 1000) -> str:
    """The $__interval Grafana gives a panel `pixels` wide over [start, end]."""
    wanted = (end - start).total_seconds() / pixels
    return next((name for name, secs in _STEPS if secs >= wanted), "1w")


# --- the synthetic portfolio ---


@dataclass(frozen=True, slots=True)
class MeterPlan:
    """One generated meter: its code and tags, its area, and how its load is shaped."""

    code: str
    building: str
    site: str
    space: str
    kind: str  # electricity_meter, water_meter, fuel_meter, solar_inverter
    base: float  # kW or m3/h, always on
    peak: float  # added in office hours
    cooling: float  # share of the occupied load per degC above 24
    main: bool


def portfolio(buildings: int, meters_per_building: int) -> tuple[AssetDocument, list[MeterPlan]]:
    """An asset document with `buildings` buildings of `meters_per_building` meters, and the meters' plans."""
    rng = np.random.default_rng(6)
    sites: list[dict[str, Any]] = []
    plans: list[MeterPlan] = []
    subs_e = max(1, meters_per_building - 7)  # 1 EM main + subs + 1 WM main + 3 WM subs + 1 FM + 1 PV
    per_site = 5
    for s in range((buildings + per_site - 1) // per_site):
        site_code = f"S{s + 1:02d}"
        site_buildings = []
        for b in range(min(per_site, buildings - s * per_site)):
            code = f"{site_code}-B{b + 1}"
            dorm = b == per_site - 1
            gfa = float(rng.uniform(4_000, 30_000))
            spaces: list[dict[str, Any]] = []
            plant: list[dict[str, Any]] = [
                {"code": f"{code}-EM-MAIN", "name": "Main incomer", "kind": "electricity_meter"},
                {"code": f"{code}-WM-MAIN", "name": "Mains water", "kind": "water_meter"},
                {"code": f"{code}-B1-FM-GEN", "name": "Generator diesel", "kind": "fuel_meter"},
            ]
            for d in plant:
                d["serves"] = "whole building" if d["code"].endswith("-MAIN") else "standby generator"
            spaces.append(
                {
                    "code": f"{code}-B1-PLANT",
                    "name": "Plant room",
                    "kind": "plant_room",
                    "area_m2": 300.0,
                    "devices": plant,
                }
            )
            scale = gfa / 15_000
            total_e = 0.0
            for i in range(subs_e):
                peak = float(rng.uniform(10, 60)) * scale
                base = peak * float(rng.uniform(0.1, 0.3))
                plans.append(
                    MeterPlan(
                        f"{code}-{i + 1}F-EM-01",
                        code,
                        site_code,
                        f"{code}-{i + 1}F-OFF",
                        "electricity_meter",
                        base,
                        peak,
                        float(rng.uniform(0.0, 0.06)),
                        main=False,
                    )
                )
                total_e += base + peak
            plans.append(
                MeterPlan(
                    f"{code}-EM-MAIN",
                    code,
                    site_code,
                    f"{code}-B1-PLANT",
                    "electricity_meter",
                    0.0,
                    0.0,
                    0.0,
                    main=True,
                )
            )
            for i in range(3):
                plans.append(
                    MeterPlan(
                        f"{code}-{i + 1}F-WM-01",
                        code,
                        site_code,
                        f"{code}-{i + 1}F-OFF",
                        "water_meter",
                        0.01 * scale,
                        float(rng.uniform(0.2, 1.0)) * scale,
                        0.01,
                        main=False,
                    )
                )
            plans.append(
                MeterPlan(
                    f"{code}-WM-MAIN",
                    code,
                    site_code,
                    f"{code}-B1-PLANT",
                    "water_meter",
                    0.0,
                    0.0,
                    0.0,
                    main=True,
                )
            )
            plans.append(
                MeterPlan(
                    f"{code}-B1-FM-GEN",
                    code,
                    site_code,
                    f"{code}-B1-PLANT",
                    "fuel_meter",
                    0.0,
                    0.002 * scale,
                    0.0,
                    main=False,
                )
            )
            plans.append(
                MeterPlan(
                    f"{code}-RF-PV-01",
                    code,
                    site_code,
                    f"{code}-RF-ROOF",
                    "solar_inverter",
                    0.0,
                    40.0 * scale,
                    0.0,
                    main=False,
                )
            )
            floors: list[dict[str, Any]] = [
                {"level": -1, "name": "B1", "area_m2": 400.0, "spaces": spaces},
            ]
            floor_area = (gfa - 800) / subs_e
            for i in range(subs_e):
                devices = [
                    {
                        "code": f"{code}-{i + 1}F-EM-01",
                        "name": f"{i + 1}F meter",
                        "kind": "electricity_meter",
                        "serves": f"{i + 1}F",
                    }
                ]
                if i < 3:
                    devices.append(
                        {
                            "code": f"{code}-{i + 1}F-WM-01",
                            "name": f"{i + 1}F water",
                            "kind": "water_meter",
                            "serves": f"{i + 1}F",
                        }
                    )
                space_kind = "dormitory_room" if dorm else "office"
                floors.append(
                    {
                        "level": i,
                        "name": f"{i + 1}F",
                        "area_m2": floor_area,
                        "spaces": [
                            {
                                "code": f"{code}-{i + 1}F-OFF",
                                "name": f"{i + 1}F",
                                "kind": space_kind,
                                "area_m2": floor_area * 0.9,
                                "capacity_people": 40,
                                "devices": devices,
                            }
                        ],
                    }
                )
            roof_devices = [
                {
                    "code": f"{code}-RF-PV-01",
                    "name": "PV inverter",
                    "kind": "solar_inverter",
                    "serves": "rooftop PV",
                }
            ]
            if b == 0:
                roof_devices.append(
                    {
                        "code": f"{site_code}-OUTDOOR",
                        "name": "Outdoor sensor",
                        "kind": "climate_sensor",
                        "serves": "outdoor",
                    }
                )
            floors.append(
                {
                    "level": subs_e,
                    "name": "RF",
                    "area_m2": 400.0,
                    "spaces": [
                        {
                            "code": f"{code}-RF-ROOF",
                            "name": "Roof",
                            "kind": "roof",
                            "area_m2": 300.0,
                            "devices": roof_devices,
                        }
                    ],
                }
            )
            site_buildings.append(
                {
                    "code": code,
                    "name": f"Building {code}",
                    "use": "dormitory" if dorm else "civic_center",
                    "gross_floor_area_m2": gfa,
                    "floors": floors,
                }
            )
        sites.append({"code": site_code, "name": f"Site {site_code}", "buildings": site_buildings})
    offices = [p.space for p in plans if p.kind == "electricity_meter" and not p.main]
    departments = [
        {"code": f"D{d + 1:02d}", "name": f"Department {d + 1}", "spaces": offices[d::10]} for d in range(10)
    ]
    doc = AssetDocument.model_validate({"sites": sites, "departments": departments})
    return doc, plans


# --- generating the readings ---


def outdoor_c(hours_local: np.ndarray, doy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tainan-like outdoor temperature, degC: seasonal swing, daily swing, weather noise."""
    seasonal = 25.0 + 5.0 * np.cos(2 * np.pi * (doy - 200) / 365)
    daily = 3.5 * np.sin(2 * np.pi * (hours_local - 9) / 24)
    weather = np.repeat(rng.normal(0, 1.5, size=len(doy) // 96 + 1), 96)[: len(doy)]
    return seasonal + daily + weather


@dataclass(frozen=True, slots=True)
class Generated:
    """One device's year: its tags, its register (or temperature) and its rate, one value per 15 minutes."""

    code: str
    tags: str
    kind: str
    total: np.ndarray
    rate: np.ndarray


def generate(plans: list[MeterPlan], start: datetime, days: int) -> Iterator[Generated]:
    """Every device's readings: outdoor sensors first, then sub-meters, then incomers (sums of their subs)."""
    rng = np.random.default_rng(26)
    n = days * 96
    local = [start.astimezone(TAIPEI) + i * STEP for i in range(n)]
    hour = np.array([t.hour + t.minute / 60 for t in local])
    doy = np.array([t.timetuple().tm_yday for t in local], dtype=float)
    tw = holidays.country_holidays("TW", years=range(start.year, start.year + 2))
    working_day = np.array([t.weekday() < 5 and t.date() not in tw for t in local])
    occupied = working_day & (hour >= 8) & (hour < 18)
    temps = {site: outdoor_c(hour, doy, rng) for site in sorted({p.site for p in plans})}
    sun = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, None)
    for site, t in temps.items():
        tags = f"building={site}-B1,kind=climate_sensor,site={site},space={site}-B1-RF-ROOF"
        yield Generated(f"{site}-OUTDOOR", tags, "climate_sensor", t, t)
    mains: dict[tuple[str, str], np.ndarray] = {}
    for p in plans:
        if p.main:
            continue
        t = temps[p.site]
        if p.kind == "solar_inverter":
            rate = p.peak * sun * rng.uniform(0.6, 1.0, size=n)
        elif p.kind == "fuel_meter":  # the generator's monthly test run
            rate = np.where(working_day & (hour >= 10) & (hour < 10.5) & (doy % 30 < 1), 5 * p.peak, 0.0)
        else:
            cooling = 1.0 + p.cooling * np.clip(t - 24.0, 0, None)
            rate = (p.base + p.peak * occupied * cooling) * rng.normal(1.0, 0.05, size=n).clip(0.7, 1.3)
        if p.kind in ("electricity_meter", "water_meter"):
            key = (p.building, p.kind)
            mains[key] = mains.get(key, np.zeros(n)) + rate
        yield _register(p, rate)
    for p in plans:
        if p.main:  # the incomer: its sub-meters plus 5 % unmetered
            yield _register(p, mains[(p.building, p.kind)] * 1.05)


def _register(p: MeterPlan, rate: np.ndarray) -> Generated:
    tags = f"building={p.building},kind={p.kind},site={p.site},space={p.space}"
    return Generated(p.code, tags, p.kind, np.cumsum(rate * 0.25) + 1000.0, rate)


def _lines(measure: str, device: str, tags: str, ns: list[int], values: np.ndarray) -> str:
    prefix = f"{measure},device={device},{tags} value="
    return "\n".join(f"{prefix}{v:.4f} {t}" for v, t in zip(values.tolist(), ns, strict=True))


MEASURES = {
    "electricity_meter": ("energy_kwh", "power_kw"),
    "solar_inverter": ("energy_kwh", "power_kw"),
    "water_meter": ("volume_m3", "flow_m3h"),
    "fuel_meter": ("volume_m3", "flow_m3h"),
}


def load(store: InfluxStore, plans: list[MeterPlan], start: datetime, days: int) -> int:
    """Write every reading; returns the number of points."""
    ns = [int((start + i * STEP).timestamp()) * 1_000_000_000 for i in range(days * 96)]
    devices = len(plans) + len({p.site for p in plans})
    points = 0
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns) as progress:
        task = progress.add_task("writing a year of readings", total=devices)
        for g in generate(plans, start, days):
            if g.kind == "climate_sensor":
                bodies = [_lines("temperature_c", g.code, g.tags, ns, g.total)]
            else:
                total, instant = MEASURES[g.kind]
                bodies = [
                    _lines(total, g.code, g.tags, ns, g.total),
                    _lines(instant, g.code, g.tags, ns, g.rate),
                ]
            for body in bodies:
                store.write_lines(body.encode())
                points += len(ns)
            progress.advance(task)
    store.write_lines(encode_events(alarm_events(plans, start, days)))
    return points


def alarm_events(plans: list[MeterPlan], start: datetime, days: int) -> list[AlarmEvent]:
    """A year of alarm transitions for the annotations: about five raised and cleared per building a week."""
    rng = np.random.default_rng(50)
    meters = [p for p in plans if p.kind == "electricity_meter"]
    events = []
    for alarm_id in range(1, days * len({p.building for p in plans}) * 5 // 7 + 1):
        m = meters[int(rng.integers(len(meters)))]
        at = start + timedelta(seconds=float(rng.uniform(0, days * 86400 - 7200)))
        for transition, when in (
            ("raise", at),
            ("clear", at + timedelta(minutes=float(rng.uniform(5, 120)))),
        ):
            events.append(
                AlarmEvent(
                    alarm_id,
                    transition,
                    when,
                    "demand_limit",
                    m.code,
                    m.building,
                    "high",
                    f"{m.code}: demand above limit",
                    float(rng.uniform(50, 500)),
                )
            )
    return events


# --- timing ---


@dataclass(frozen=True, slots=True)
class Timed:
    """One query's timings over one range."""

    query: Query
    range_name: str
    median_ms: float
    max_ms: float
    rows: int
    on_readings: bool = False  # a rollup query run on the 15-minute readings instead, for comparison


def _ranges(end: datetime) -> dict[str, tuple[datetime, datetime]]:
    local_end = end.astimezone(TAIPEI)
    year_start = local_end.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return {
        "6h": (end - timedelta(hours=6), end),
        "24h": (end - timedelta(hours=24), end),
        "7d": (end - timedelta(days=7), end),
        "30d": (end - timedelta(days=30), end),
        "this year": (year_start, end),
    }


DASHBOARDS = load_dashboards()
_DEFAULT = {"now-6h": "6h", "now-24h": "24h", "now-7d": "7d", "now/y": "this year"}


def dashboard_default(name: str) -> str:
    """The range a dashboard opens with, as one of _ranges' names."""
    return _DEFAULT[DASHBOARDS[name]["time"]["from"]]


def run_query(
    store: InfluxStore, q: Query, values: dict[str, str], span: tuple[datetime, datetime]
) -> tuple[float, int]:
    """Seconds for one run of a query as Grafana sends it, and the rows it returned."""
    interval = grafana_interval(*span)
    text = q.text.replace("$__interval_ms", str(_secs(interval) * 1000)).replace(
        "${__interval_ms}", str(_secs(interval) * 1000)
    )
    text = (
        text.replace("$__interval", interval)
        .replace("${__interval}", interval)
        .replace("$interval", interval)
    )
    sent = influxql(text, values, *span)
    t0 = time.perf_counter()
    series = store.query(sent)
    elapsed = time.perf_counter() - t0
    return elapsed, sum(len(s.get("values", [])) for s in series)


def _secs(interval: str) -> int:
    return next(secs for name, secs in _STEPS if name == interval)


def time_queries(
    store: InfluxStore, values: dict[str, str], end: datetime, runs: int, log: Callable[[str], None]
) -> list[Timed]:
    """Every InfluxDB dashboard query over its default range, 30 days and this year."""
    ranges = _ranges(end)
    out: list[Timed] = []
    queries = [q for q in QUERIES if q.kind == "influxdb"]
    for q in queries:
        names = sorted({dashboard_default(q.dashboard), "30d", "this year"}, key=list(ranges).index)
        for name in names:
            span = ranges[name]
            store.query(influxql(q.text.replace("$__interval", "1h"), values, *span))  # warm up
            variants = [(q, False)]
            if "_daily" in q.text:  # the same query on the readings: what the rollup saves
                variants.append((replace(q, text=q.text.replace('_daily"', '"')), True))
            for query, on_readings in variants:
                results = [run_query(store, query, values, span) for _ in range(runs)]
                times = [t * 1000 for t, _ in results]
                out.append(
                    Timed(query, name, statistics.median(times), max(times), results[0][1], on_readings)
                )
                source = "readings" if on_readings else ""
                median = statistics.median(times)
                log(f"  {median:8.1f} ms  {results[0][1]:6d} rows  {name:9s}  {q.id} {source}")
    return out


def time_report(store: InfluxStore, doc: AssetDocument, end: datetime, runs: int, tmp: Path) -> list[float]:
    """Seconds to build the last whole month's committee report before `end` and write its PDF, HTML and XLSX
    (the outdoor sensors serve "outdoor"), per run; a fresh SQLite database holds the committee's side."""
    weather = next(
        (d.code for *_, d in doc.devices() if d.kind is DeviceKind.CLIMATE_SENSOR and d.serves == "outdoor"),
        None,
    )
    period = period_before(ReportKind.MONTHLY, end)
    register = register_from_document(doc)
    times = []
    for run in range(runs):
        engine = make_engine(f"sqlite+pysqlite:///{tmp / f'report-{run}.db'}")
        upgrade(engine)
        started = time.perf_counter()
        with make_sessionmaker(engine)() as session:
            generated = generate_report(session, store, register, period=period, weather_device=weather)
        for fmt, data in generated.files.items():
            (tmp / file_name(period.kind, period.label, fmt)).write_bytes(data)
        times.append(time.perf_counter() - started)
        engine.dispose()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buildings", type=int, default=25)
    parser.add_argument("--meters-per-building", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, flush=True)

    doc, plans = portfolio(args.buildings, args.meters_per_building)
    end = datetime(2026, 11, 1, tzinfo=TAIPEI)  # data ends at local midnight: October is the last full month
    start = end - timedelta(days=args.days)
    log(f"{len(plans)} meters in {args.buildings} buildings, {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    with servers.InfluxServer() as influx, tempfile.TemporaryDirectory() as tmp:
        influx.create_database(DATABASE)
        store = InfluxStore(influx.url, DATABASE)
        t0 = time.perf_counter()
        points = load(store, plans, start.astimezone(UTC), args.days)
        load_s = time.perf_counter() - t0
        log(f"wrote {points:,} points in {load_s:.0f} s ({points / load_s:,.0f} points/s)")
        t0 = time.perf_counter()
        rolled = rollup_registers(store, since=start.date(), until=end.date())
        rollup_s = time.perf_counter() - t0
        log(f"daily register rollup of the year: {rolled:,} points in {rollup_s:.1f} s")
        building = f"{plans[0].building}"
        dorm = next(b.code for s in doc.sites for b in s.buildings if str(b.use) == "dormitory")
        values = {"building": building, "dormitory": dorm}
        timed = time_queries(store, values, end.astimezone(UTC), args.runs, log)
        report = time_report(store, doc, end, max(3, args.runs // 2), Path(tmp))
        store.close()
    write_results(
        args,
        meters=len(plans),
        points=points,
        load_s=load_s,
        rollup=(rolled, rollup_s),
        timed=timed,
        report=report,
    )
    return 0


def write_results(
    args: argparse.Namespace,
    *,
    meters: int,
    points: int,
    load_s: float,
    rollup: tuple[int, float],
    timed: list[Timed],
    report: list[float],
) -> None:
    """The markdown table for docs/benchmarks.md."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"# bench/energy_year.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
        f"load average at the end {load}.",
        f"Data: {meters} meters x {args.days} days x 15 min, {points:,} points (loaded in {load_s:.0f} s); "
        f"the daily register rollup of the year: {rollup[0]:,} points in {rollup[1]:.1f} s.",
        f"Each query run {args.runs} times after one warm-up; median and max in ms. Ranges end at the data's "
        "last day; the dashboard's own default range is marked *.",
        "",
        "| dashboard | query | range | median ms | max ms | rows | under 500 ms |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for t in timed:
        if t.on_readings:
            continue
        ok = "yes" if t.median_ms < LIMIT_QUERY_MS else "**no**"
        q = t.query
        default = "*" if dashboard_default(q.dashboard) == t.range_name else ""
        lines.append(
            f"| {q.dashboard} | {q.where} | {t.range_name}{default} | {t.median_ms:.1f} | {t.max_ms:.1f} "
            f"| {t.rows} | {ok} |"
        )
    at_default = [
        t for t in timed if not t.on_readings and dashboard_default(t.query.dashboard) == t.range_name
    ]
    worst = max(at_default, key=lambda t: t.median_ms)
    lines += [
        "",
        f"At the dashboards' default ranges: {sum(t.median_ms < LIMIT_QUERY_MS for t in at_default)} of "
        f"{len(at_default)} queries under {LIMIT_QUERY_MS:.0f} ms; the slowest {worst.median_ms:.1f} ms "
        f"({worst.median_ms / LIMIT_QUERY_MS:.2f}x of the limit, {worst.query.id}, {worst.range_name}).",
        "",
        "Four-areas queries on the daily rollup and on the 15-minute readings:",
        "",
        "| query | range | rollup ms | readings ms | readings / rollup |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    raw = {(t.query.id, t.range_name): t for t in timed if t.on_readings}
    for t in timed:
        other = raw.get((t.query.id, t.range_name))
        if other is not None and not t.on_readings:
            lines.append(
                f"| {t.query.where} | {t.range_name} | {t.median_ms:.1f} | {other.median_ms:.1f} "
                f"| {other.median_ms / t.median_ms:.1f}x |"
            )
    median = statistics.median(report)
    lines += [
        "",
        f"Monthly committee report (numbers, charts, PDF, HTML, XLSX), runs: "
        f"{', '.join(f'{r:.2f}' for r in report)} s; median {median:.2f} s against {LIMIT_REPORT_S:.0f} s "
        f"({median / LIMIT_REPORT_S:.2f}x of the limit).",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())

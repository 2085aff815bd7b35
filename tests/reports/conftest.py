"""Committee-report fixtures: 22 months of hourly register readings for a small register, in a real InfluxDB,
and the same readings in the SQL readings table (SQLite, then PostgreSQL): the embedded default's store.

The readings are generated here with numpy (office hours, weekends, a cooling load that follows a seeded
outdoor temperature, 7 % less electricity in the main building from 2026 on) and written as line protocol.
Two register faults are written into October 2026: a reset of the main building's incomer and a one-reading
spike on the dormitory's water meter. The clean registers (without the faults) are kept, so the tests compute
every expected figure from them by plain differences, independently of cityhall.energy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

import cityhall.models  # noqa: F401 - registers every table on Base.metadata
from cityhall.assets import load_yaml
from cityhall.contract import Reading
from cityhall.db import Base, make_engine, make_sessionmaker
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import MeterRegister, register_from_document
from cityhall.models import ReadingRow
from cityhall.timeseries import AggregatingStore
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.lineprotocol import epoch_ns
from cityhall.timeseries.sql import SqlStore
from tests import servers

REGISTER_FILE = Path(__file__).with_name("register-report.yaml")
WEATHER_DEVICE = "YH-WX-01"
START = datetime(2025, 1, 1, tzinfo=TAIPEI)
END = datetime(2026, 11, 1, 1, tzinfo=TAIPEI)  # one reading past the end of October 2026
SAVING_FROM = datetime(2026, 1, 1, tzinfo=TAIPEI)
SAVING_SHARE = 0.07  # the main building uses 7 % less electricity from 2026 on
RESET_AT = datetime(2026, 10, 15, 10, tzinfo=TAIPEI)  # YH-A-EM-MAIN's register restarts from 0
SPIKE_AT = datetime(2026, 10, 20, 3, tzinfo=TAIPEI)  # MZ-DORM-WM-MAIN reads 5000 m3 too high, once
SPIKE_M3 = 5000.0
MEASUREMENT = {
    "YH-A-EM-MAIN": "energy_kwh",
    "YH-A-EM-CHIL": "energy_kwh",
    "MZ-DORM-EM-MAIN": "energy_kwh",
    "YH-A-PV-01": "energy_kwh",
    "YH-A-WM-MAIN": "volume_m3",
    "MZ-DORM-WM-MAIN": "volume_m3",
    "YH-A-FM-GEN": "volume_m3",
}
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ReportData:
    """The register, the store holding its readings, and the clean truth the tests check against."""

    store: InfluxStore
    register: MeterRegister
    times: list[datetime]  # reading times, hourly, UTC
    registers: dict[str, Vector]  # device -> clean cumulative register at each time
    power_kw: dict[str, Vector]  # device -> power written at each time (the hour's mean kW)
    temperature_c: Vector

    def used(self, device: str, since: datetime, until: datetime) -> float:
        """What a meter used in [since, until): register differences of the readings that end in it."""
        values = self.registers[device]
        total = 0.0
        for k in range(1, len(self.times)):
            if since <= self.times[k] < until:
                total += float(values[k] - values[k - 1])
        return total

    def peak_kw(self, device: str, since: datetime, until: datetime) -> float:
        """The highest power reading in [since, until) (one reading per 15-minute bucket)."""
        return max(
            float(v) for t, v in zip(self.times, self.power_kw[device], strict=True) if since <= t < until
        )

    def daily_mean_c(self, since: datetime, until: datetime) -> dict[datetime, float]:
        """Mean outdoor temperature per local day in [since, until)."""
        days: dict[datetime, list[float]] = {}
        for t, c in zip(self.times, self.temperature_c, strict=True):
            if since <= t < until:
                day = t.astimezone(TAIPEI).replace(hour=0)
                days.setdefault(day, []).append(float(c))
        return {day: sum(v) / len(v) for day, v in days.items()}


def _generate() -> tuple[list[datetime], dict[str, Vector], dict[str, Vector], Vector]:
    rng = np.random.default_rng(6)
    hours = int((END - START) / timedelta(hours=1))
    times = [(START + timedelta(hours=k)).astimezone(UTC) for k in range(hours)]
    local = [t.astimezone(TAIPEI) for t in times]
    hour = np.array([t.hour for t in local], dtype=np.float64)
    doy = np.array([t.timetuple().tm_yday for t in local], dtype=np.float64)
    weekday = np.array([t.weekday() < 5 for t in local])
    working = weekday & (hour >= 8) & (hour < 18)
    temp: Vector = (
        24.0
        - 6.0 * np.cos(2 * math.pi * (doy - 20) / 365.25)
        + 3.0 * np.sin(2 * math.pi * (hour - 9) / 24)
        + rng.normal(0, 0.8, hours)
    )
    cooling = 60.0 * np.maximum(temp - 22.0, 0.0)
    saving = np.array([1.0 - SAVING_SHARE if t >= SAVING_FROM else 1.0 for t in times])
    noise = 1.0 + rng.normal(0, 0.03, (4, hours))
    main_kw = (300.0 + 500.0 * working + cooling) * saving * noise[0]
    chiller_kw = (20.0 + 0.6 * cooling) * saving * noise[1]
    dorm_kw = (40.0 + 25.0 * ((hour >= 18) | (hour < 7)) + 8.0 * np.maximum(temp - 24.0, 0.0)) * noise[2]
    pv_kw = 80.0 * np.maximum(np.sin(math.pi * (hour - 6) / 12), 0.0) * noise[3]
    rates = {
        "YH-A-EM-MAIN": main_kw,
        "YH-A-EM-CHIL": chiller_kw,
        "MZ-DORM-EM-MAIN": dorm_kw,
        "YH-A-PV-01": pv_kw,
        "YH-A-WM-MAIN": np.where(working, 2.0, 0.3),
        "MZ-DORM-WM-MAIN": np.where((hour >= 6) & (hour < 23), 1.0, 0.2),
        "YH-A-FM-GEN": np.where(weekday & (hour == 10) & (doy % 7 == 0), 0.05, 0.0),
    }
    registers: dict[str, Vector] = {}
    for device, rate in rates.items():
        per_hour = rate.astype(np.float64).copy()
        per_hour[0] = 0.0  # the first reading starts the register
        registers[device] = 10_000.0 + np.cumsum(per_hour)
    power = {d: rates[d].astype(np.float64) for d in ("YH-A-EM-MAIN", "MZ-DORM-EM-MAIN", "YH-A-PV-01")}
    return times, registers, power, temp


def _with_faults(times: list[datetime], registers: dict[str, Vector]) -> dict[str, Vector]:
    """The registers as written: YH-A-EM-MAIN restarts from 0 at RESET_AT, MZ-DORM-WM-MAIN spikes once."""
    written = {d: v.copy() for d, v in registers.items()}
    k = times.index(RESET_AT.astimezone(UTC))
    main = written["YH-A-EM-MAIN"]
    main[k:] -= main[k - 1]
    s = times.index(SPIKE_AT.astimezone(UTC))
    written["MZ-DORM-WM-MAIN"][s] += SPIKE_M3
    return written


def _lines(measurement: str, device: str, times: list[int], values: Vector) -> list[str]:
    return [
        f"{measurement},device={device} value={float(v)!r} {t}" for t, v in zip(times, values, strict=True)
    ]


@pytest.fixture(scope="session")
def report_data(influx: servers.InfluxServer) -> Iterator[ReportData]:
    """The test register's readings, Jan 2025 to Oct 2026, in the InfluxDB database `reports`."""
    influx.create_database("reports")
    store = InfluxStore(influx.url, "reports", timeout_s=60.0)
    times, registers, power, temp = _generate()
    ns = [epoch_ns(t) for t in times]
    lines: list[str] = []
    for device, values in _with_faults(times, registers).items():
        lines += _lines(MEASUREMENT[device], device, ns, values)
    for device, values in power.items():
        lines += _lines("power_kw", device, ns, values)
    lines += _lines("temperature_c", WEATHER_DEVICE, ns, temp)
    for i in range(0, len(lines), 50_000):
        store.write_lines(("\n".join(lines[i : i + 50_000]) + "\n").encode())
    register = register_from_document(load_yaml(REGISTER_FILE))
    yield ReportData(store, register, times, registers, power, temp)
    store.close()


def report_readings(
    data: ReportData, since: datetime | None = None, until: datetime | None = None
) -> list[Reading]:
    """The readings `report_data` wrote to InfluxDB (faults included), those in [since, until) if given."""
    keep = [
        k for k, t in enumerate(data.times) if (since is None or t >= since) and (until is None or t < until)
    ]
    series = [(MEASUREMENT[d], d, v) for d, v in _with_faults(data.times, data.registers).items()]
    series += [("power_kw", d, v) for d, v in data.power_kw.items()]
    series.append(("temperature_c", WEATHER_DEVICE, data.temperature_c))
    return [
        Reading(device, quantity, data.times[k], float(values[k]))
        for quantity, device, values in series
        for k in keep
    ]


def write_readings(store: SqlStore, readings: list[Reading]) -> None:
    """Write readings to a SQL store in the collector's batch size."""
    for i in range(0, len(readings), 20_000):
        store.write(readings[i : i + 20_000], {})


@pytest.fixture(
    scope="session", params=["influx", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def report_store(
    request: pytest.FixtureRequest, report_data: ReportData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AggregatingStore]:
    """The report data in each reading store: InfluxDB, and the SQL readings table on SQLite and PostgreSQL
    (the embedded default's store must give the same figures)."""
    if request.param == "influx":
        yield report_data.store
        return
    if request.param == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path_factory.mktemp('readings') / 'readings.db'}"
    else:
        if servers.postgres_url() is None:
            servers.require_service("PostgreSQL", "no server answers; run scripts/install-system-deps.sh")
        url = servers.fresh_postgres_database("cityhall_test")
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[ReadingRow.__tablename__]])
    store = SqlStore(engine)
    write_readings(store, report_readings(report_data))
    if request.param == "postgres":
        with engine.begin() as conn:  # what autovacuum does after a bulk load; without it the planner guesses
            conn.execute(text("ANALYZE readings"))
    yield store
    store.close()
    if request.param == "postgres":
        servers.drop_postgres_database(url)


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A session factory on a fresh SQLite file with every table."""
    engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'cityhall.db'}")
    Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    engine.dispose()

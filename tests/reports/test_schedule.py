"""The monthly schedule: stores the last month's and quarter's reports once, even with two processes racing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import Base, make_engine, make_sessionmaker
from cityhall.energy.periods import TAIPEI
from cityhall.errors import ConflictError
from cityhall.housekeeping import Housekeeping
from cityhall.models import ReportKind, ReportStatus, StoredReport
from cityhall.reports.period import report_period
from cityhall.reports.schedule import RETRY_AFTER, SCHEDULE_ACTOR, due_periods, run_report_schedule
from cityhall.reports.store import ReportFormat, generate_report, save_report
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.sql import SqlStore
from tests import servers
from tests.reports.conftest import WEATHER_DEVICE, ReportData, report_readings, write_readings
from tests.waiting import PATIENCE_S

NOW = datetime(2026, 11, 3, 9, tzinfo=TAIPEI)  # early November: October and Q3 are due


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database (SQLite, then PostgreSQL) with every table."""
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def settings(db_url: str, influx: servers.InfluxServer) -> Settings:
    """Settings naming the report data's InfluxDB and outdoor sensor."""
    return Settings(
        _env_file=None,
        database_url=db_url,
        influx_url=influx.url,
        influx_database="reports",
        energy_weather_device=WEATHER_DEVICE,
    )


def _rows(factory: sessionmaker[Session]) -> list[tuple[str, str, ReportStatus, str]]:
    with factory() as session:
        rows = session.scalars(select(StoredReport).order_by(StoredReport.period)).all()
        return [(r.kind.value, r.period, r.status, r.generated_by) for r in rows]


def test_the_schedule_stores_each_due_report_once(
    factory: sessionmaker[Session], settings: Settings, report_data: ReportData
) -> None:
    register = report_data.register
    assert [p.label for p in due_periods(factory, NOW)] == ["2026-10", "2026Q3"]
    stored = run_report_schedule(factory, settings, now=NOW, register=lambda _s: register)
    assert stored == ["2026-10", "2026Q3"]
    assert _rows(factory) == [
        ("monthly", "2026-10", ReportStatus.READY, SCHEDULE_ACTOR),
        ("quarterly", "2026Q3", ReportStatus.READY, SCHEDULE_ACTOR),
    ]
    # The next pass, and the rest of the month: nothing to do
    assert (
        run_report_schedule(factory, settings, now=NOW + timedelta(days=20), register=lambda _s: register)
        == []
    )
    with factory() as session:
        row = session.scalars(select(StoredReport).where(StoredReport.period == "2026-10")).one()
        assert row.pdf is not None
        assert row.pdf.startswith(b"%PDF")
        assert row.pdf_bytes == len(row.pdf)
        assert row.html is not None
        assert b"<svg" in row.html
        assert row.xlsx is not None
        assert row.xlsx.startswith(b"PK")
    # In December only November is due (no data then: the report still stores, with zeros)
    december = datetime(2026, 12, 1, 0, 5, tzinfo=TAIPEI)
    assert [p.label for p in due_periods(factory, december)] == ["2026-11"]


def test_two_processes_racing_store_one_report(
    factory: sessionmaker[Session], settings: Settings, report_data: ReportData
) -> None:
    """Both generate October; the unique (kind, period) lets one store it, the other's clash is handled."""
    register = report_data.register
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def process() -> None:
        try:
            barrier.wait(timeout=PATIENCE_S)
            store = InfluxStore(settings.influx_url, "reports", timeout_s=PATIENCE_S)
            try:
                results.append(
                    run_report_schedule(factory, settings, now=NOW, store=store, register=lambda _s: register)
                )
            finally:
                store.close()
        except BaseException as err:  # noqa: BLE001 - reported to the test below
            errors.append(err)

    threads = [threading.Thread(target=process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=PATIENCE_S)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    with factory() as session:
        count = session.scalar(select(func.count()).select_from(StoredReport))
    assert count == 2  # October and Q3, each once
    stored = sorted(label for r in results for label in r)
    # Each period was stored by exactly one of the two (the other found it stored, or lost the insert)
    assert stored.count("2026-10") == 1
    assert stored.count("2026Q3") == 1


def test_storing_the_same_period_twice_is_a_conflict(
    factory: sessionmaker[Session], report_data: ReportData
) -> None:
    period = report_period(ReportKind.MONTHLY, "2026-10")
    with factory() as session:
        generated = generate_report(
            session,
            report_data.store,
            report_data.register,
            period=period,
            weather_device=None,
            formats=[ReportFormat.XLSX],
        )
    first = save_report(factory, generated, generated_by="test")
    with pytest.raises(ConflictError, match="stored already"):
        save_report(factory, generated, generated_by="test")
    again = save_report(factory, generated, generated_by="test:replace", replace=True)
    assert again.id == first.id
    assert (again.pdf_bytes, again.html_bytes) == (0, 0)  # only the XLSX was rendered
    assert again.xlsx_bytes > 0
    assert _rows(factory) == [("monthly", "2026-10", ReportStatus.READY, "test:replace")]


def test_replacing_while_another_process_stores_the_period_replaces_its_row(
    db_url: str, factory: sessionmaker[Session], report_data: ReportData
) -> None:
    """The demo's case: someone asks for last month with replace while the schedule is storing it. The
    schedule's insert lands between our look and our insert; we replace its row instead of a 409."""
    with factory() as session:
        generated = generate_report(
            session,
            report_data.store,
            report_data.register,
            period=report_period(ReportKind.MONTHLY, "2026-10"),
            weather_device=None,
            formats=[ReportFormat.XLSX],
        )
    engine = make_engine(db_url)
    schedule = make_sessionmaker(engine)
    raced: list[StoredReport] = []

    @event.listens_for(factory, "before_flush")
    def schedule_stores_it_first(*_: object) -> None:
        if not raced:
            raced.append(save_report(schedule, generated, generated_by=SCHEDULE_ACTOR))

    try:
        row = save_report(factory, generated, generated_by="user:eric", replace=True)
    finally:
        event.remove(factory, "before_flush", schedule_stores_it_first)
        engine.dispose()
    assert raced
    assert row.id == raced[0].id
    assert _rows(factory) == [("monthly", "2026-10", ReportStatus.READY, "user:eric")]


def test_a_failed_report_is_recorded_and_retried_later(
    factory: sessionmaker[Session], settings: Settings, report_data: ReportData
) -> None:
    dead = InfluxStore(f"http://127.0.0.1:{servers.free_port()}", "reports", timeout_s=2)
    register = report_data.register
    assert run_report_schedule(factory, settings, now=NOW, store=dead, register=lambda _s: register) == []
    rows = _rows(factory)
    assert [(k, p, s) for k, p, s, _ in rows] == [
        ("monthly", "2026-10", ReportStatus.FAILED),
        ("quarterly", "2026Q3", ReportStatus.FAILED),
    ]
    with factory() as session:
        errors = session.scalars(select(StoredReport.error)).all()
        assert all("InfluxDB" in error for error in errors)
    dead.close()
    # Not retried on the next pass (housekeeping runs every minute), but after RETRY_AFTER
    assert due_periods(factory, NOW + timedelta(minutes=1)) == []
    later = NOW + RETRY_AFTER + timedelta(minutes=1)
    assert [p.label for p in due_periods(factory, later)] == ["2026-10", "2026Q3"]
    assert run_report_schedule(factory, settings, now=later, register=lambda _s: register) == [
        "2026-10",
        "2026Q3",
    ]
    assert {s for _, _, s, _ in _rows(factory)} == {ReportStatus.READY}


def test_the_schedule_can_be_turned_off(factory: sessionmaker[Session], settings: Settings) -> None:
    off = settings.model_copy(update={"reports_schedule": False})
    assert run_report_schedule(factory, off, now=NOW) == []
    assert _rows(factory) == []


def test_without_influxdb_the_schedule_reads_the_sql_readings_table(
    db_url: str, factory: sessionmaker[Session], settings: Settings, report_data: ReportData
) -> None:
    """The embedded default: no CITYHALL_INFLUX_URL, the readings in the database's own table."""
    store = SqlStore(make_engine(db_url))
    for year in (2025, 2026):  # Q3 and October, this year and last
        since, until = datetime(year, 7, 1, tzinfo=TAIPEI), datetime(year, 11, 1, 1, tzinfo=TAIPEI)
        write_readings(store, report_readings(report_data, since, until))
    store.close()
    embedded = settings.model_copy(update={"influx_url": ""})
    register = report_data.register
    assert run_report_schedule(factory, embedded, now=NOW, register=lambda _s: register) == [
        "2026-10",
        "2026Q3",
    ]
    with factory() as session:
        row = session.scalars(select(StoredReport).where(StoredReport.period == "2026-10")).one()
    electricity = row.summary["areas"]["electricity"]
    october = report_period(ReportKind.MONTHLY, "2026-10")
    expected = sum(
        report_data.used(m, october.start, october.end) for m in ("YH-A-EM-MAIN", "MZ-DORM-EM-MAIN")
    )
    assert electricity["current"] == pytest.approx(expected, rel=1e-9)
    assert electricity["last_year"] > 0


def test_housekeeping_runs_the_schedule(
    factory: sessionmaker[Session],
    settings: Settings,
    report_data: ReportData,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One housekeeping pass stores the due reports, using the configured asset register file."""
    from tests.reports.conftest import REGISTER_FILE  # noqa: PLC0415

    configured = settings.model_copy(update={"asset_register_file": str(REGISTER_FILE)})
    housekeeping = Housekeeping(configured, factory, interval_s=60)
    try:
        housekeeping.run_once(NOW)
    finally:
        housekeeping.notifier.close()
        if housekeeping.store is not None:
            housekeeping.store.close()
    assert [(k, p, s) for k, p, s, _ in _rows(factory)] == [
        ("monthly", "2026-10", ReportStatus.READY),
        ("quarterly", "2026Q3", ReportStatus.READY),
    ]

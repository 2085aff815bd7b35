"""The monthly schedule: on each housekeeping pass, store the last month's (and last quarter's) committee
report if it is not stored yet. Idempotent, and safe with several processes: the table's unique (kind,
period) lets one store it; the others' attempt ends in a ConflictError that is logged and ignored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.orm import Session, sessionmaker

from cityhall.energy.register import MeterRegister, configured_register
from cityhall.errors import ConflictError
from cityhall.models import ReportKind, ReportStatus
from cityhall.reports.period import ReportPeriod, period_before
from cityhall.reports.store import find_report, generate_report, record_failure, save_report
from cityhall.settings import Settings
from cityhall.timeseries import AggregatingStore, make_store

log = structlog.get_logger(__name__)

SCHEDULE_ACTOR = "system:schedule"
RETRY_AFTER = timedelta(hours=1)  # a failed report is tried again after this long


def due_periods(factory: sessionmaker[Session], now: datetime) -> list[ReportPeriod]:
    """The last whole month and quarter (Asia/Taipei) whose report is neither stored nor recently failed."""
    due = []
    with factory() as session:
        for kind in (ReportKind.MONTHLY, ReportKind.QUARTERLY):
            period = period_before(kind, now)
            row = find_report(session, kind, period.label)
            if row is None or (row.status is ReportStatus.FAILED and now - row.generated_at >= RETRY_AFTER):
                due.append(period)
    return due


def run_report_schedule(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    store: AggregatingStore | None = None,
    register: Callable[[Settings], MeterRegister] = configured_register,
) -> list[str]:
    """Generate and store the reports that are due; returns the labels stored by this call. Readings come
    from `store`, else from the store the settings name (InfluxDB, or the SQL readings table)."""
    if not settings.reports_schedule:
        return []
    now = now or datetime.now(UTC)
    due = due_periods(factory, now)
    if not due:
        return []
    owned = store is None
    readings = store or make_store(settings)
    stored = []
    try:
        for period in due:
            try:
                with factory() as session:
                    generated = generate_report(
                        session,
                        readings,
                        register(settings),
                        period=period,
                        weather_device=settings.energy_weather_device or None,
                    )
                save_report(factory, generated, generated_by=SCHEDULE_ACTOR)
            except ConflictError:
                log.info("report_stored_elsewhere", kind=period.kind.value, period=period.label)
                continue
            except Exception as err:  # the loop's edge: one period failing must not stop the next
                log.exception("report_generation_failed", kind=period.kind.value, period=period.label)
                record_failure(
                    factory, period, error=f"{type(err).__name__}: {err}", generated_by=SCHEDULE_ACTOR, at=now
                )
                continue
            log.info("report_stored", kind=period.kind.value, period=period.label, seconds=generated.seconds)
            stored.append(period.label)
    finally:
        if owned:
            readings.close()
    return stored

"""The periodic work beside rule evaluation: escalate unacknowledged alarms, open due preventive-maintenance
jobs, write alarm events to InfluxDB, keep the daily register rollups current, store the committee's monthly
reports, and send notifications. Runs in the rules process (and the demo)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.orm import Session, sessionmaker

from cityhall.energy.daily import recent_days, rollup_registers
from cityhall.maintenance import InfluxAlarmEventSink, run_maintenance_cycle
from cityhall.notify.service import NotificationService
from cityhall.reports.schedule import run_report_schedule
from cityhall.settings import Settings
from cityhall.timeseries import AggregatingStore, make_store
from cityhall.timeseries.influx import InfluxStore
from cityhall.training.reminders import send_expiry_reminders
from cityhall.venues.upkeep import run_venue_cycle

log = structlog.get_logger(__name__)


class Housekeeping:
    """Runs the maintenance cycle and the notifier every `interval_s`; each step fails on its own."""

    def __init__(
        self, settings: Settings, session_factory: sessionmaker[Session], *, interval_s: float
    ) -> None:
        self.factory = session_factory
        self.settings = settings
        self.interval_s = interval_s
        # Without InfluxDB (the demo) alarm events stay in their outbox; the audit log has every transition.
        self.store = InfluxStore.from_settings(settings) if settings.influx_url else None
        self.sink = InfluxAlarmEventSink(self.store) if self.store is not None else None
        # What the committee reports read: InfluxDB, or without one the SQL readings table.
        self.readings: AggregatingStore = self.store if self.store is not None else make_store(settings)
        self._wide_rollup_at: datetime | None = None
        self.notifier = NotificationService(settings=settings, session_factory=session_factory)
        self._stop = threading.Event()

    def run_once(self, now: datetime | None = None) -> None:
        """One pass; a failing step is logged and the next step still runs."""
        try:
            run_maintenance_cycle(self.factory, now=now, sink=self.sink)
        except Exception:  # the loop's edge: escalation or PM jobs failing must not stop notifications
            log.exception("maintenance_cycle_failed")
        try:
            run_venue_cycle(self.factory, now=now)  # no-shows released, stale applications expired
        except Exception:  # the loop's edge
            log.exception("venue_cycle_failed")
        try:
            send_expiry_reminders(self.factory, self.settings, now=now)  # certificates and licences
        except Exception:  # the loop's edge
            log.exception("training_reminders_failed")
        try:
            self.roll_up_registers(now)
        except Exception:  # the loop's edge
            log.exception("energy_rollup_failed")
        try:
            # The committee's reports of the last month and quarter, when not stored yet.
            run_report_schedule(self.factory, self.settings, now=now, store=self.readings)
        except Exception:  # the loop's edge
            log.exception("report_schedule_failed")
        try:
            self.notifier.run_once(now)
        except Exception:  # the loop's edge
            log.exception("notify_cycle_failed")

    def roll_up_registers(self, now: datetime | None = None) -> int:
        """Rebuild the daily register rollups of yesterday and today, and once an hour of the last
        `energy_rollup_days` days (readings drained late from a collector's spool); points written. The
        rollups serve InfluxDB's dashboards: the SQL readings table needs none (reports group it directly)."""
        if self.store is None:
            return 0
        now = now or datetime.now(UTC)
        days = 2
        if self._wide_rollup_at is None or now - self._wide_rollup_at >= timedelta(hours=1):
            days = self.settings.energy_rollup_days
            self._wide_rollup_at = now
        since, until = recent_days(now, days)
        return rollup_registers(self.store, since=since, until=until)

    def run_forever(self) -> None:
        """Cycle until stop()."""
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)
        self.notifier.close()
        self.readings.close()  # the InfluxDB store itself, when there is one

    def stop(self) -> None:
        """Ask run_forever to return after the current pass."""
        self._stop.set()

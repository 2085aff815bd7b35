"""The alarm-health test week: alarms and shelves with known timestamps, shared by tests/test_alarm_health.py
and the Grafana alarm-health panels' test (tests/energy/test_grafana_queries.py).

The week is 2026-W49 (Monday 30 November to Monday 7 December 2026, Asia/Taipei). The expected figures are
worked out by hand, in the tests, from the table of alarms below, never by the code under test.

Site MZ (one civic center):
- Wednesday 14:00-14:10 (interval 1): `device-offline` (medium) on mz-01..mz-10, one every 30 s from 14:00:00
  to 14:04:30, and `comms-lost` (low) on mz-11 at 14:06:00, 14:06:20, 14:06:40, each cleared 5 s later,
  nobody acknowledging: 13 alarms, a flood (more than 10).
- Wednesday 14:10-14:20 (interval 2): `power-dip` (low) on mz-01..mz-11, 14:10:00 to 14:15:00 every 30 s:
  11 alarms, a flood. Intervals 1 and 2 are one flood episode of 24 alarms.
- Wednesday 14:20-14:30: `breaker-trip` (high) on mz-01..mz-03 at 14:21, 14:22, 14:23: 3 alarms, no flood.
  Everything on Wednesday clears at 15:00 unless said otherwise. MZ: 10 + 3 + 11 + 3 = 27 alarms.

Site YH (one civic center):
- `co2-high` (low) on yh-1: Tuesday 10:00:00, 10:00:20, 10:00:50 (each cleared 10 s later, unacknowledged),
  10:05:00 (cleared 10:30); Thursday 09:00:00, 09:01:30, 09:02:00 (each acknowledged after 5 s, cleared
  after 20 s). 7 alarms.
- `temperature-spike` (low) on yh-2, Friday: 08:00:00 cleared 08:00:45 (fleeting); 09:00:00 acknowledged
  09:00:30, cleared 09:00:59 (acted on: not fleeting); 10:00:00 cleared 10:01:00 (60 s: not fleeting);
  11:00:00 cleared 11:00:30, acknowledged 11:05 (after it cleared: fleeting). 4 alarms.
- `water-leak` (medium) on yh-3: Saturday 28 November 12:00 to Tuesday 12:00, raised before the week.
- `lights-on-after-hours` (low) on yh-4: Saturday 20:00, still active.
- `ac-on-after-hours` (low) on yh-5: Monday 08:00 to Tuesday 07:59 (23 h 59 min: not stale).
- `door-open` (medium) on yh-6: Monday 06:00 to Tuesday 09:00 (27 h).
- `fire-panel` (critical) on yh-6: Thursday 03:00, acknowledged 03:05, cleared 03:30.
- `water-leak` on yh-5 from 20 to 25 November: before the week, never counted.
  YH: 7 + 4 + 1 + 1 + 1 + 1 = 15 alarms raised in the week.

Shelves: `co2-high`/yh-1 Tuesday 10:10-18:10 (8 h); `temperature-spike`/yh-2 Friday 12:00 until Saturday 12:00,
ended by a person Friday 18:00 (6 h); `device-offline`/mz-01 Sunday 29 November 12:00 to Monday 12:00 (12 h in
the week of 24 h); one in 20-21 November (outside).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cityhall.energy.periods import TAIPEI
from cityhall.models import (
    Alarm,
    AlarmShelf,
    AlarmState,
    Building,
    BuildingUse,
    Device,
    DeviceKind,
    Floor,
    Severity,
    Site,
    Space,
    SpaceKind,
)

MONDAY = datetime(2026, 11, 30, tzinfo=TAIPEI)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Local time on a day of the week (0 = Monday 30 November; negative: the days before)."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def register(session: Session) -> dict[str, int]:
    """Sites YH (devices yh-1..yh-6) and MZ (mz-01..mz-11), one building, floor and space each; code -> id."""
    devices = {}
    for site_code, count in (("YH", 6), ("MZ", 11)):
        site = Site(code=site_code, name=f"{site_code} civic center")
        building = Building(
            site=site,
            code=f"{site_code}-A",
            name="Civic",
            use=BuildingUse.CIVIC_CENTER,
            gross_floor_area_m2=1.0,
        )
        floor = Floor(building=building, level=1, name="1F", area_m2=1.0)
        space = Space(
            floor=floor, code=f"{site_code}-A-101", name="Office", kind=SpaceKind.OFFICE, area_m2=1.0
        )
        for n in range(1, count + 1):
            code = f"{site_code.lower()}-{n:02d}" if site_code == "MZ" else f"yh-{n}"
            device = Device(
                space=space, code=code, name=code, kind=DeviceKind.CLIMATE_SENSOR, quantities=["co2_ppm"]
            )
            session.add(device)
            session.flush()
            devices[code] = device.id
    return devices


def alarm(  # noqa: PLR0917 - one row of the story's table per call
    device_id: int,
    rule: str,
    severity: Severity,
    raised: datetime,
    cleared: datetime | None = None,
    acked: datetime | None = None,
) -> Alarm:
    """An alarm of the story: active while `cleared` is None."""
    return Alarm(
        rule_key=rule,
        rule_name=rule.replace("-", " ").capitalize(),
        device_id=device_id,
        state=AlarmState.ACTIVE if cleared is None else AlarmState.CLEARED,
        severity=severity,
        quantity="co2_ppm",
        unit="ppm",
        threshold=1000.0,
        trigger_value=1200.0,
        message=rule,
        condition_since=raised,
        raised_at=raised,
        cleared_at=cleared,
        acknowledged_at=acked,
        acknowledged_by="chen" if acked else None,
        escalation_level=0,
    )


def add_week(session: Session, d: dict[str, int]) -> None:
    """Add the week's alarms and shelves, as the module's docstring lists them."""
    low, medium, high = Severity.LOW, Severity.MEDIUM, Severity.HIGH
    rows = []
    wednesday_15 = at(2, 15)
    for k in range(10):
        rows.append(alarm(d[f"mz-{k + 1:02d}"], "device-offline", medium, at(2, 14, 0, 30 * k), wednesday_15))
    for second in (0, 20, 40):
        raised = at(2, 14, 6, second)
        rows.append(alarm(d["mz-11"], "comms-lost", low, raised, raised + timedelta(seconds=5)))
    for k in range(11):
        rows.append(alarm(d[f"mz-{k + 1:02d}"], "power-dip", low, at(2, 14, 10, 30 * k), wednesday_15))
    for k in range(3):
        rows.append(alarm(d[f"mz-{k + 1:02d}"], "breaker-trip", high, at(2, 14, 21 + k), wednesday_15))

    for second in (0, 20, 50):
        raised = at(1, 10, 0, second)
        rows.append(alarm(d["yh-1"], "co2-high", low, raised, raised + timedelta(seconds=10)))
    rows.append(alarm(d["yh-1"], "co2-high", low, at(1, 10, 5), at(1, 10, 30)))
    for minute, second in ((0, 0), (1, 30), (2, 0)):
        raised = at(3, 9, minute, second)
        rows.append(
            alarm(
                d["yh-1"],
                "co2-high",
                low,
                raised,
                raised + timedelta(seconds=20),
                raised + timedelta(seconds=5),
            )
        )
    spike = "temperature-spike"
    rows += [
        alarm(d["yh-2"], spike, low, at(4, 8), at(4, 8, 0, 45)),
        alarm(d["yh-2"], spike, low, at(4, 9), at(4, 9, 0, 59), at(4, 9, 0, 30)),
        alarm(d["yh-2"], spike, low, at(4, 10), at(4, 10, 1)),
        alarm(d["yh-2"], spike, low, at(4, 11), at(4, 11, 0, 30), at(4, 11, 5)),
        alarm(d["yh-3"], "water-leak", medium, at(-2, 12), at(1, 12)),
        alarm(d["yh-4"], "lights-on-after-hours", low, at(5, 20)),
        alarm(d["yh-5"], "ac-on-after-hours", low, at(0, 8), at(1, 7, 59)),
        alarm(d["yh-6"], "door-open", medium, at(0, 6), at(1, 9)),
        alarm(d["yh-6"], "fire-panel", Severity.CRITICAL, at(3, 3), at(3, 3, 30), at(3, 3, 5)),
        alarm(d["yh-5"], "water-leak", medium, at(-10, 0), at(-5, 0)),
    ]
    session.add_all(rows)
    shelves = [
        ("co2-high", "yh-1", at(1, 10, 10), at(1, 18, 10), None),
        (spike, "yh-2", at(4, 12), at(5, 12), at(4, 18)),
        ("device-offline", "mz-01", at(-1, 12), at(0, 12), None),
        ("water-leak", "yh-5", at(-10, 0), at(-9, 0), None),
    ]
    for rule, code, created, until, ended in shelves:
        session.add(
            AlarmShelf(
                rule_key=rule,
                device_id=d[code],
                until=until,
                reason="maintenance",
                created_by="user:lin",
                created_at=created,
                ended_at=ended,
                ended_by="user:lin" if ended else None,
            )
        )

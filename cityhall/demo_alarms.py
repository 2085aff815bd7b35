"""The demo's alarm history: a week of alarms as the shipped rules raise them on the seed register, so the
alarm-health report (docs/alarm-health.md) has a week to assess the moment the demo starts.

The week holds what an alarm-health review looks for, on the rules of rules/defaults.yaml: everyday
after-hours and comfort alarms, a meeting room's CO2 sensor that chatters, a temperature sensor whose spikes
clear within a minute, a power dip that floods the console with the Minzhi civic center's devices going
silent, a dormitory leak and a stuck generator meter left active for days, and two shelves. Every alarm has
cleared by the end of the week, so none of them stands in the way of the live rules engine (one active
alarm per rule and device). The history has no tickets: the review is about the alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.models import Alarm, AlarmShelf, AlarmState, Device, Severity

ACTOR = "user:admin"


@dataclass(frozen=True, slots=True)
class _Rule:
    key: str
    name: str
    severity: Severity
    quantity: str
    unit: str
    threshold: float
    value: float


RULES = {
    r.key: r
    for r in (
        _Rule(
            "ac-on-after-hours",
            "Air-conditioning running out of hours",
            Severity.LOW,
            "on_state",
            "1/0",
            0,
            1,
        ),
        _Rule("office-too-hot", "Office too hot", Severity.MEDIUM, "temperature_c", "°C", 28.0, 29.4),
        _Rule(
            "lights-on-after-hours", "Lighting left on out of hours", Severity.LOW, "power_kw", "kW", 3.0, 7.8
        ),
        _Rule(
            "dorm-ac-on-while-away",
            "Dormitory air-conditioning running while residents are away",
            Severity.LOW,
            "on_state",
            "1/0",
            0,
            1,
        ),
        _Rule(
            "consumption-above-baseline",
            "Consumption above its usual level for the hour",
            Severity.LOW,
            "energy_kwh",
            "kWh",
            410.0,
            498.0,
        ),
        _Rule("co2-high", "Poor ventilation (CO2 high)", Severity.LOW, "co2_ppm", "ppm", 1000.0, 1012.0),
        _Rule(
            "temperature-spike",
            "Temperature jumped (sensor fault?)",
            Severity.LOW,
            "temperature_c",
            "°C",
            5.0,
            9.1,
        ),
        _Rule("device-offline", "Meter or sensor silent", Severity.MEDIUM, "power_kw", "s", 900.0, 960.0),
        _Rule(
            "demand-spike",
            "Building demand jumped (meter fault?)",
            Severity.LOW,
            "power_kw",
            "kW",
            300.0,
            412.0,
        ),
        _Rule(
            "dorm-water-leak",
            "Dormitory water flowing all night (leak?)",
            Severity.MEDIUM,
            "flow_m3h",
            "m³/h",
            0.0,
            0.42,
        ),
        _Rule("meter-flatlined", "Meter stuck (flat line)", Severity.LOW, "energy_kwh", "kWh", 0.0, 0.0),
        _Rule(
            "dorm-demand-high",
            "Dormitory demand above contracted capacity",
            Severity.HIGH,
            "power_kw",
            "kW",
            150.0,
            171.0,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class _Event:
    rule: str
    device: str
    raised: timedelta  # after the week's start
    active: timedelta
    acknowledged_after: timedelta | None = None


def _events(flood_devices: list[str]) -> list[_Event]:
    """The week, as offsets from Monday 00:00 (Asia/Taipei)."""

    def t(day: int, hour: int, minute: int = 0, second: int = 0) -> timedelta:
        return timedelta(days=day, hours=hour, minutes=minute, seconds=second)

    def minutes(n: float) -> timedelta:
        return timedelta(minutes=n)

    def seconds(n: float) -> timedelta:
        return timedelta(seconds=n)

    events: list[_Event] = []
    for day in range(5):  # weekdays
        events.append(_Event("ac-on-after-hours", "YH-A-3F-AC-01", t(day, 18, 40), minutes(45)))
        events.append(
            _Event("consumption-above-baseline", "YH-A-EM-MAIN", t(day, 11), minutes(90), minutes(12))
        )
    for day in range(7):
        events.append(_Event("lights-on-after-hours", "YH-A-1F-EM-LT", t(day, 20, 5), minutes(175)))
    for day in (1, 2, 3):
        events.append(_Event("office-too-hot", "YH-A-5F-CS-02", t(day, 14, 10), minutes(110), minutes(20)))
    for day, rooms in ((0, (101, 102)), (2, (101, 103, 104)), (4, (102,))):
        events += [
            _Event("dorm-ac-on-while-away", f"MZ-DORM-1F-AC-{room}", t(day, 10, 30), minutes(90))
            for room in rooms
        ]
    events.append(_Event("dorm-demand-high", "MZ-DORM-EM-MAIN", t(3, 19, 20), minutes(35), minutes(6)))
    # The second meeting room's CO2 sensor chatters around its limit: raised and cleared every few seconds.
    events += [_Event("co2-high", "YH-A-2F-CS-03", t(1, 10, 2, 25 * k), seconds(10)) for k in range(6)]
    events += [_Event("co2-high", "YH-A-2F-CS-03", t(3, 15, 30, 15 * k), seconds(10)) for k in range(4)]
    # The lobby sensor's spikes clear within a minute, before anyone looks.
    events += [_Event("temperature-spike", "YH-A-1F-CS-02", t(day, 7, 15), seconds(40)) for day in (0, 2, 4)]
    # Wednesday 14:03: a power dip at the Minzhi civic center; its devices go silent one after another.
    first, second = flood_devices[:14], flood_devices[14:26]
    events += [
        _Event("device-offline", code, t(2, 14, 3, 20 * k), minutes(32) - seconds(20 * k), minutes(9))
        for k, code in enumerate(first)
    ]
    events.append(_Event("demand-spike", "MZ-A-EM-MAIN", t(2, 14, 8, 30), minutes(12)))
    events += [
        _Event("device-offline", code, t(2, 14, 10, 10 + 25 * k), minutes(25), minutes(5))
        for k, code in enumerate(second)
    ]
    # Left active for days: a leak waiting for a plumber, a generator meter nobody looked at.
    events.append(_Event("dorm-water-leak", "MZ-DORM-WM-MAIN", t(0, 2, 10), timedelta(hours=55, minutes=30)))
    events.append(
        _Event("meter-flatlined", "YH-A-B1-EM-GEN", t(4, 16), timedelta(hours=54), timedelta(hours=40))
    )
    return events


def seed_alarm_history(session: Session, *, week_start: datetime) -> int:
    """Add the history's alarms and shelves for the week starting `week_start` (a Monday 00:00 in
    Asia/Taipei) and return how many alarms; none (0) when alarms were raised in that week already."""
    week_end = week_start + timedelta(days=7)
    if session.scalar(
        select(Alarm.id).where(Alarm.raised_at >= week_start, Alarm.raised_at < week_end).limit(1)
    ):
        return 0
    devices = {d.code: d.id for d in session.scalars(select(Device))}
    flood_devices = sorted(c for c in devices if c.startswith("MZ-A-") and c != "MZ-A-EM-MAIN")
    events = _events(flood_devices)
    for e in events:
        rule = RULES[e.rule]
        raised = week_start + e.raised
        acknowledged = raised + e.acknowledged_after if e.acknowledged_after is not None else None
        session.add(
            Alarm(
                rule_key=rule.key,
                rule_name=rule.name,
                device_id=devices[e.device],
                state=AlarmState.CLEARED,
                severity=rule.severity,
                quantity=rule.quantity,
                unit=rule.unit,
                threshold=rule.threshold,
                trigger_value=rule.value,
                message=f"{rule.quantity} = {rule.value:g} {rule.unit}, limit {rule.threshold:g} {rule.unit}",
                condition_since=raised,
                raised_at=raised,
                cleared_at=raised + e.active,
                acknowledged_at=acknowledged,
                acknowledged_by="user:chen" if acknowledged else None,
                escalation_level=0,
            )
        )
    for rule_key, code, start, hours, reason in (
        (
            "co2-high",
            "YH-A-2F-CS-03",
            timedelta(days=3, hours=15, minutes=40),
            72,
            "CO2 sensor to be recalibrated",
        ),
        (
            "consumption-above-baseline",
            "YH-A-EM-MAIN",
            timedelta(days=4, hours=13),
            8,
            "Chiller maintenance test run (冰水主機維修試車)",
        ),
    ):
        session.add(
            AlarmShelf(
                rule_key=rule_key,
                device_id=devices[code],
                until=week_start + start + timedelta(hours=hours),
                reason=reason,
                created_by=ACTOR,
                created_at=week_start + start,
            )
        )
    return len(events)

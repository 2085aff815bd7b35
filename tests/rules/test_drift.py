"""The drift rule: a sensor creeping away from its neighbours is found in about two days; rooms that differ,
a room that runs warm at weekends, noise and quantisation are not drifts (issue 15)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from cityhall.models import Severity
from rules.config import DriftDefinition, parse_rules
from rules.engine import Status, Subject, Window
from rules.evaluation import bind, judge_watch
from rules.kinds import DriftRule
from rules.schedule import TAIPEI, is_working_day
from rules.summary import CELL_US, Cells, summarise, us

START = datetime(2026, 9, 7, tzinfo=TAIPEI)  # a Monday; the 28th (Teachers' Day) is far off
ROOMS = 6
STEP = timedelta(minutes=15)
RULE = DriftRule(key="drift", name="Sensor drift", severity=Severity.LOW, quantity="temperature_c")


def _room(
    i: int, days: float, *, drift_from: float | None = None, per_day: float = 0.0, weekend_c: float = 0.0
) -> Window:
    """A cooled office's temperature every 15 minutes at 0.1 degC: held near 26.5 in office hours on working
    days, free-running (warmer by day) otherwise; each room its own offset and noise. From `drift_from`
    days on, the reading drifts by `per_day`; `weekend_c`: the room runs that much warmer on non-working
    days (a sunny facade)."""
    rng = random.Random(i)  # noqa: S311 - test data
    offset = (i - ROOMS / 2) * 0.4
    out = []
    for k in range(int(days * 96)):
        ts = START + k * STEP
        local = ts.astimezone(TAIPEI)
        working = is_working_day(local.date())
        hour = local.hour + local.minute / 60
        if working and 8 <= hour < 18:
            value = 26.5 + offset / 2
        else:
            value = 28.0 + 2.0 * math.sin((hour - 9) / 24 * 2 * math.pi) + offset
            value += 0.0 if working else weekend_c
        value += rng.gauss(0, 0.25)
        if drift_from is not None and k / 96 >= drift_from:
            value += per_day * (k / 96 - drift_from)
        out.append((ts.astimezone(UTC), round(value, 1)))
    return out


def _findings(
    windows: list[Window],
    days: float,
    *,
    every: timedelta = timedelta(hours=1),
    sealed: bool = False,
    agree_share: float = RULE.agree_share,
) -> list[tuple[datetime, Status]]:
    """Judge room 0 against the others every `every` over the last two days of `days`."""
    rule = DriftRule(
        key="drift",
        name="Sensor drift",
        severity=Severity.LOW,
        quantity="temperature_c",
        agree_share=agree_share,
    )
    out = []
    now = START + timedelta(days=days - 2)
    while now <= START + timedelta(days=days):
        cut = [[p for p in w if p[0] <= now] for w in windows]
        cells: list[Cells | None] = [None] * len(cut)
        if sealed:  # as the runner's cache keeps them: summaries up to the last quarter hour, then raw
            cells = []
            for w in cut:
                c = Cells(us(START))
                upto = us(now) // CELL_US * CELL_US
                c.seal(summarise(w, us(START), upto), upto)
                cells.append(c)
            cut = [[p for p in w if us(p[0]) >= cells[0].to_us] for w in cut]  # type: ignore[union-attr]
        finding = rule.judge(
            cut[0], now=now, peers=cut[1:], sealed=cells[0], peer_sealed=cells[1:], key="room-0"
        )
        if finding is not None:
            out.append((now, finding.status))
        now += every
    return out


def test_rooms_that_differ_never_drift() -> None:
    found = _findings([_room(i, 10) for i in range(ROOMS)], 10)
    assert found, "judged"
    assert all(status is not Status.BREACH for _, status in found)


def test_a_room_warm_at_weekends_is_compared_with_weekends() -> None:
    # 10 days from a Monday: the last two days judged are Saturday and Sunday; the room runs 2.5 degC warmer
    # at weekends than its neighbours, on the weekend before too.
    windows = [_room(0, 14, weekend_c=2.5)] + [_room(i, 14) for i in range(1, ROOMS)]
    found = _findings(windows, 14)
    assert all(status is not Status.BREACH for _, status in found), found


@pytest.mark.parametrize("per_day", [1.2, -1.0])
def test_a_drifting_sensor_is_found_within_two_and_a_half_days(per_day: float) -> None:
    windows = [_room(0, 11, drift_from=8.5, per_day=per_day)] + [_room(i, 11) for i in range(1, ROOMS)]
    found = _findings(windows, 11)
    breaches = [now for now, status in found if status is Status.BREACH]
    assert breaches, found
    started = START + timedelta(days=8.5)
    assert timedelta(days=1) < breaches[0] - started <= timedelta(days=2.5)
    assert all(status is Status.BREACH for now, status in found if now >= breaches[0] + timedelta(hours=2))


def test_a_drift_left_alone_stays_flagged() -> None:
    # The comparable days fill with the drift itself; the alarm must not clear while it goes on.
    windows = [_room(0, 17, drift_from=3, per_day=0.8)] + [_room(i, 17) for i in range(1, ROOMS)]
    found = _findings(windows, 17, every=timedelta(hours=4))
    assert found
    assert all(status is Status.BREACH for _, status in found), found


def _dorm_room(i: int, days: float, *, cools_from: float | None = None, per_day: float = 0.0) -> Window:
    """A dormitory room every 15 minutes at 0.1 degC: on working days from 09:00 to 17:00 its resident is
    at work and the room runs free with the others; otherwise the resident runs the unit (26 degC) or not
    (the room at about 30), as each pleases each day (three days in ten). With `cools_from`, this resident
    never runs it before that day and always from it on; `per_day`: the sensor drifts from that day too."""
    rng = random.Random(100 + i)  # noqa: S311 - test data
    out = []
    cooled = False
    for k in range(int(days * 96)):
        ts = START + k * STEP
        local = ts.astimezone(TAIPEI)
        hour = local.hour + local.minute / 60
        if k % 96 == 0:
            cooled = rng.random() < 0.3 if cools_from is None else k / 96 >= cools_from
        free = 30.0 + 1.5 * math.sin((hour - 9) / 24 * 2 * math.pi) + 0.1 * i
        at_work = is_working_day(local.date()) and 9 <= hour < 17
        value = 26.0 if cooled and not at_work else free
        value += rng.gauss(0, 0.2)
        if cools_from is not None and per_day and k / 96 >= cools_from:
            value += per_day * (k / 96 - cools_from)
        out.append((ts.astimezone(UTC), round(value, 1)))
    return out


def test_a_resident_who_changes_habits_is_no_drift() -> None:
    """Issue 15, the realistic Minzhi week: a dormitory room's offset from its neighbours says whether its
    unit ran that day (by 4 degC here, by 6-10 %RH in humidity); only the hours in which the rooms run free
    together say anything of the sensor."""
    # Ten rooms whose residents choose each day for themselves (a day when every neighbour cools and one
    # room does not would read as that room's drift: docs/rules.md).
    windows = [_dorm_room(0, 11, cools_from=8.5)] + [_dorm_room(i, 11) for i in range(1, 10)]
    found = _findings(windows, 11)
    assert found, "judged"
    assert all(status is not Status.BREACH for _, status in found), found
    # Every quarter hour counted, as before: the new habit reads as a drift.
    everything = _findings(windows, 11, agree_share=100)
    assert any(status is Status.BREACH for _, status in everything)
    # A sensor that does drift is still found, from the hours the rooms agree.
    drifting = [_dorm_room(0, 11, cools_from=8.5, per_day=1.2), *windows[1:]]
    assert any(status is Status.BREACH for _, status in _findings(drifting, 11))


def test_a_room_whose_unit_was_left_on_overnight_is_no_drift() -> None:
    """Issue 15, the standard office week: an air-conditioner left on overnight cools (and dries) its office
    while the others run free; the sensor read the room right. Here a unit set to 24 degC left on from
    08:00 to 06:00 the next day. The hours its own unit ran are left out, so the day is no drift; the same
    readings without the unit's state read as one."""
    days = 10
    left_on = (START + timedelta(days=days - 2, hours=8), START + timedelta(days=days - 1, hours=6))
    room = [(ts, 24.0 if left_on[0] <= ts < left_on[1] else v) for ts, v in _room(0, days)]
    unit = [(ts, 1.0 if left_on[0] <= ts < left_on[1] else 0.0) for ts, _ in room]
    others = [_room(i, days) for i in range(1, ROOMS)]
    now = START + timedelta(days=days - 1, hours=6)
    cut = [[p for p in w if p[0] <= now] for w in (room, *others, unit)]
    alone = RULE.judge(cut[0], now=now, peers=cut[1:-1])
    assert alone is not None
    assert alone.status is Status.BREACH
    # With its unit: 22 of the last 24 hours conditioned leave too few to judge the day by.
    assert RULE.judge(cut[0], now=now, peers=cut[1:], units=1) is None
    # Six hours later, the day holds eight free hours again: judged, and no drift.
    later = now + timedelta(hours=6)
    cut = [[p for p in w if p[0] <= later] for w in (room, *others, unit)]
    judged = RULE.judge(cut[0], now=later, peers=cut[1:], units=1)
    assert judged is not None
    assert judged.status is not Status.BREACH


def test_summaries_and_raw_readings_find_alike() -> None:
    windows = [_room(0, 11, drift_from=8.5, per_day=1.2)] + [_room(i, 11) for i in range(1, ROOMS)]
    every = timedelta(hours=3)
    assert _findings(windows, 11, every=every, sealed=True) == _findings(windows, 11, every=every)


def test_too_few_neighbours_or_days_is_no_judgement() -> None:
    now = START + timedelta(days=9)
    assert RULE.judge(_room(0, 9), now=now, peers=[_room(1, 9)]) is None
    assert (
        RULE.judge(_room(0, 1.5), now=START + timedelta(days=1.5), peers=[_room(i, 1.5) for i in (1, 2)])
        is None
    )


def test_the_alarm_sentence_names_the_change_and_the_neighbours() -> None:
    windows = [_room(0, 11, drift_from=7, per_day=1.5)] + [_room(i, 11) for i in range(1, ROOMS)]
    finding = RULE.judge(windows[0], now=START + timedelta(days=11), peers=windows[1:])
    assert finding is not None
    assert finding.status is Status.BREACH
    assert "higher against 5 neighbours" in RULE.explain(finding)
    assert finding.value > 3


def _subject(code: str, building: str, space: str, space_kind: str, kind: str = "climate_sensor") -> Subject:
    quantities = {
        "climate_sensor": ("temperature_c", "humidity_pct", "co2_ppm"),
        "air_conditioner": ("on_state", "setpoint_c", "power_kw"),
    }.get(kind, ("power_kw",))
    return Subject(code, kind, building, space, space_kind, "", quantities)


def test_neighbours_are_the_same_kind_of_sensor_in_the_same_building_and_kind_of_space() -> None:
    (definition,) = parse_rules(
        {
            "rules": [
                {
                    "key": "drift",
                    "name": "Sensor drift",
                    "kind": "drift",
                    "targets": {"device_kinds": ["climate_sensor"]},
                }
            ]
        }
    )
    assert isinstance(definition, DriftDefinition)
    subjects = [
        _subject("A-1", "A", "A-1F-OFF", "office"),
        _subject("A-2", "A", "A-2F-OFF", "office"),
        _subject("A-3", "A", "A-3F-OFF", "office"),
        _subject("A-L", "A", "A-1F-LOB", "lobby"),
        _subject("A-EM", "A", "A-1F-OFF", "office", kind="electricity_meter"),
        _subject("A-AC", "A", "A-1F-OFF", "office", kind="air_conditioner"),
        _subject("B-1", "B", "B-1F-OFF", "office"),
    ]
    watch = bind(definition, subjects)
    # Its own space's unit too: the hours it ran are left out.
    assert watch.peers["A-1"] == (("A-2", "temperature_c"), ("A-3", "temperature_c"), ("A-AC", "on_state"))
    assert watch.peers["A-L"] == ()
    assert watch.peers["B-1"] == ()
    # Judged through the evaluation plumbing, with the peers' windows looked up by the watch.
    days = 11
    windows = [_room(0, days, drift_from=7, per_day=1.5), _room(1, days), _room(2, days)]
    series = {"temperature_c": {"A-1": windows[0], "A-2": windows[1], "A-3": windows[2]}}
    found = {s.code: f for s, f in judge_watch(watch, series, START + timedelta(days=days))}
    assert found["A-1"].status is Status.BREACH
    assert "A-L" not in found
    assert "B-1" not in found

"""Each rule kind as a pure function of windows of readings: positive, negative and edge cases."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityhall.contract import PayloadFormat
from cityhall.models import DeviceKind, Severity
from cityhall.reporting import FlowSemantics, Reporting, ReportingMode, effective
from rules.engine import Finding, Sample, Status, Subject, ThresholdRule, Window, evaluate, held
from rules.evaluation import fold_silent_buildings
from rules.kinds import (
    AfterHoursRule,
    BaselineRule,
    ComfortRule,
    FlatlineRule,
    LeakRule,
    OfflineRule,
    OpenWhileCoolingRule,
    RateOfChangeRule,
    RuntimeRule,
)
from rules.schedule import TAIPEI, DayType, Period, Schedule, is_working_day
from rules.summary import Cells, ceil_cell, floor_cell, us

# Monday 2026-07-13 00:00 in Taipei.
MONDAY = datetime(2026, 7, 12, 16, 0, tzinfo=UTC)
Q = timedelta(minutes=15)
OFFICE = Schedule("office", (Period(DayType.WORKING, time(8), time(17, 30)),))


def series(
    values: list[float], *, start: datetime = MONDAY, step: timedelta = Q
) -> list[tuple[datetime, float]]:
    return [(start + i * step, v) for i, v in enumerate(values)]


def status(finding: Finding | None) -> Status | None:
    return None if finding is None else finding.status


# --- threshold with hysteresis ---
HYST = ThresholdRule(
    "t", "Temp", "temperature_c", Severity.LOW, for_s=0, above=30, clear_below=28, clear_for_s=1800
)


def test_threshold_hysteresis_needs_clear_duration_below_the_deadband() -> None:
    assert status(evaluate(HYST, series([31]))) is Status.BREACH
    assert status(evaluate(HYST, series([31, 29.5, 29.5]))) is Status.RECOVERING  # deadband
    assert status(evaluate(HYST, series([31, 27, 27]))) is Status.RECOVERING  # 15 min < 30 min
    finding = evaluate(HYST, series([31, 27, 27, 27]))
    assert finding == Finding(Status.NORMAL, MONDAY + Q, 27, MONDAY + 3 * Q)


def test_threshold_without_hysteresis_clears_at_once() -> None:
    rule = ThresholdRule("t", "Temp", "temperature_c", Severity.LOW, for_s=0, above=30)
    assert status(evaluate(rule, series([31, 29.5]))) is Status.NORMAL


# --- schedule and calendar ---
def test_schedule_uses_taiwan_holidays() -> None:
    dragon_boat = datetime(2026, 6, 19, 2, 0, tzinfo=UTC)  # Friday 10:00 Taipei, a public holiday
    assert not is_working_day(dragon_boat.date())
    assert not OFFICE.contains(dragon_boat)
    assert OFFICE.contains(dragon_boat - timedelta(days=1))
    assert not OFFICE.contains(MONDAY + timedelta(hours=17, minutes=30))  # end is exclusive


# --- after hours ---
AFTER = AfterHoursRule(
    "ah",
    quantity="power_kw",
    schedule=OFFICE,
    above_pct=50,
    for_s=1800,
    name="test rule",
    severity=Severity.LOW,
)


def _day(evening_kw: float) -> list[float]:
    # 96 quarter-hours of a Monday: 10 kW in office hours, `evening_kw` after 19:00, 1 kW otherwise.
    return [10.0 if 32 <= i < 70 else (evening_kw if i >= 76 else 1.0) for i in range(96)]


def test_after_hours_load_breaches_after_its_duration() -> None:
    finding = AFTER.judge(series(_day(8.0)), now=MONDAY + timedelta(days=1))
    assert status(finding) is Status.BREACH
    assert finding is not None
    assert finding.since == MONDAY + 76 * Q


def test_after_hours_normal_night_and_no_baseline() -> None:
    assert status(AFTER.judge(series(_day(1.0)), now=MONDAY + timedelta(days=1))) is Status.NORMAL
    assert AFTER.judge(series([5.0] * 8), now=MONDAY + 2 * Q) is None  # no in-schedule readings yet


# --- baseline deviation ---
def test_baseline_flags_consumption_above_the_usual_hour() -> None:
    rule = BaselineRule(
        "b",
        quantity="power_kw",
        weeks=2,
        k_sigma=3,
        pct=20,
        for_s=3600,
        name="test rule",
        severity=Severity.LOW,
    )
    usual = [50.0 + (i % 3) for i in range(14 * 96)]
    assert status(rule.judge(series(usual), now=MONDAY)) is Status.NORMAL
    high = usual[:-8] + [90.0] * 8
    assert status(rule.judge(series(high), now=MONDAY)) is Status.BREACH


def test_baseline_without_history_is_silent() -> None:
    rule = BaselineRule("b", quantity="power_kw", name="test rule", severity=Severity.LOW)
    assert rule.judge(series([90.0] * 8), now=MONDAY) is None


def _baseline_per_reading(rule: BaselineRule, window: list[tuple[datetime, float]]) -> Finding | None:
    """The baseline as it was first written: every recent reading gathers its own comparable history (the
    readings from the first quarter hour of the lookback), judged from the quarter hour before the longer
    duration and an hour."""
    taipei = ZoneInfo("Asia/Taipei")
    samples: list[tuple[datetime, float, Sample]] = []
    now = window[-1][0]
    recent_from = floor_cell(now - timedelta(seconds=max(rule.for_s, rule.clear_for_s)) - timedelta(hours=1))
    first = ceil_cell(now - rule.lookback)
    for ts, v in window:
        if ts < recent_from:
            continue
        local = ts.astimezone(taipei)
        hour_start = local.replace(minute=0, second=0, microsecond=0)
        past: list[float] = []
        for back in range(1, rule.weeks * 7 + 1):
            day = hour_start - timedelta(days=back)
            if rule.profile == "hour_of_week" and back % 7:
                continue
            if rule.profile == "day_type" and is_working_day(day.date()) != is_working_day(local.date()):
                continue
            lo = bisect.bisect_left(window, (max(day, first),))
            hi = bisect.bisect_left(window, (day + timedelta(hours=1),))
            past.extend(x for _, x in window[lo:hi])
        if len(past) < rule.min_history:
            samples.append((ts, v, Sample.SKIP))
            continue
        mean = math.fsum(past) / len(past)
        sigma = math.sqrt(math.fsum((x - mean) ** 2 for x in past) / len(past))
        band = max(rule.k_sigma * sigma, abs(mean) * rule.pct / 100, rule.min_delta)
        high = v > mean + band and rule.direction in {"above", "both"}
        low = v < mean - band and rule.direction in {"below", "both"}
        samples.append((ts, v, Sample.BAD if high or low else Sample.OK))
    return held(samples, for_s=rule.for_s, clear_for_s=rule.clear_for_s, above=rule.direction != "below")


@pytest.mark.parametrize("seed", range(40))
def test_baseline_judged_per_hour_finds_what_per_reading_judging_finds(seed: int) -> None:
    """The mean and band computed once per local hour give the findings of one history per reading, over
    windows with irregular gaps, missing hours, level shifts, a holiday and both profiles and directions."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    rule = BaselineRule(
        "b",
        name="test rule",
        severity=Severity.LOW,
        quantity="power_kw",
        weeks=rng.choice([1, 2, 3]),
        profile=rng.choice(["day_type", "hour_of_week"]),
        k_sigma=rng.choice([1.0, 2.0, 4.0]),
        pct=rng.choice([5.0, 25.0]),
        min_delta=rng.choice([0.0, 3.0]),
        min_history=rng.choice([1, 3, 12]),
        direction=rng.choice(["above", "below", "both"]),
        for_s=rng.choice([0.0, 600.0, 3600.0]),
        clear_for_s=rng.choice([0.0, 1800.0]),
    )
    # Three weeks before Friday 2026-10-09 (Taiwan's National Day holiday falls on Saturday the 10th).
    end = datetime(2026, 10, 9, 4, 0, tzinfo=UTC) + timedelta(minutes=rng.uniform(0, 48 * 60))
    ts = end - timedelta(weeks=rule.weeks, hours=2)
    window: list[tuple[datetime, float]] = []
    level = 50.0
    while ts < end:
        if rng.random() < 0.002:
            ts += timedelta(hours=rng.uniform(1, 6))  # a gap: hours without history
        if rng.random() < 0.005:
            level = rng.choice([45.0, 50.0, 55.0])
        if end - ts < timedelta(hours=3) and rng.random() < 0.05:  # the recent part: shifts up and down
            level = rng.choice([20.0, 50.0, 50.0, 90.0])
        window.append((ts, level + rng.uniform(-3, 3)))
        ts += timedelta(seconds=rng.choice([120, 300, 600]) * rng.uniform(0.5, 1.5))
    for cut in (len(window), len(window) - rng.randrange(1, 20), len(window) - rng.randrange(20, 40)):
        part = window[:cut]
        assert rule.judge(part, now=part[-1][0]) == _baseline_per_reading(rule, part)


def _peer_value(peer: list[tuple[datetime, float]], ts: datetime, age: timedelta) -> float | None:
    i = bisect.bisect_right(peer, (ts, math.inf)) - 1
    return None if i < 0 or ts - peer[i][0] > age else peer[i][1]


def _comfort_per_reading(rule: ComfortRule, window: Window, peers: Sequence[Window]) -> Finding | None:
    """The comfort rule as first written: every reading sampled, with its occupancy looked up."""
    age = timedelta(seconds=rule.peer_max_age_s)
    samples: list[tuple[datetime, float, Sample]] = []
    for ts, v in window:
        occupied = rule.schedule is None or rule.schedule.contains(ts)
        if occupied and peers:
            counts = [c for c in (_peer_value(list(p), ts, age) for p in peers) if c is not None]
            occupied = bool(counts) and max(counts) >= rule.min_people
        breach = (rule.above is not None and v > rule.above) or (rule.below is not None and v < rule.below)
        samples.append((ts, v, Sample.BAD if occupied and breach else Sample.OK))
    return held(samples, for_s=rule.for_s, clear_for_s=rule.clear_for_s, above=rule.above is not None)


def _open_per_reading(rule: OpenWhileCoolingRule, window: Window, peers: Sequence[Window]) -> Finding | None:
    """The open-while-cooling rule as first written."""
    if not peers:
        return None
    age = timedelta(seconds=rule.peer_max_age_s)
    samples = []
    for ts, v in window:
        cooling = any((_peer_value(list(p), ts, age) or 0.0) >= 1 for p in peers)
        samples.append((ts, v, Sample.BAD if v >= 1 and cooling else Sample.OK))
    return held(samples, for_s=rule.for_s, clear_for_s=rule.clear_for_s)


def _stream(
    rng: random.Random, levels: list[float], start: datetime, n: int, noise: float = 0.0
) -> list[tuple[datetime, float]]:
    out, ts, level = [], start, rng.choice(levels)
    for _ in range(n):
        ts += timedelta(seconds=rng.choice([5, 60, 300, 900]) * rng.uniform(0.5, 1.5))
        if rng.random() < 0.08:
            level = rng.choice(levels)
        out.append((ts, level + rng.uniform(-noise, noise)))
    return out


@pytest.mark.parametrize("seed", range(60))
def test_comfort_and_open_while_cooling_look_up_only_what_can_matter(seed: int) -> None:
    """Looking up occupancy (or the units) only for readings beyond the limit (or open) gives the findings
    of a sample per reading, with and without peers, schedules and hysteresis."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    start = MONDAY + timedelta(hours=rng.uniform(0, 72))
    n = rng.choice([1, 2, 40, 300])
    temperatures = _stream(rng, [24.0, 28.5, 29.0, 29.5, 31.0], start, n, noise=0.4)
    counts = [
        _stream(rng, [0.0, 1.0, 3.0], start - timedelta(hours=1), n) for _ in range(rng.choice([0, 1, 2]))
    ]
    comfort = ComfortRule(
        "c", "c", Severity.LOW, "temperature_c",
        for_s=rng.choice([0.0, 600.0, 1800.0]), clear_for_s=rng.choice([0.0, 900.0]),
        above=(above := rng.choice([None, 29.0])), below=25.0 if above is None else rng.choice([None, 25.0]),
        schedule=rng.choice([None, OFFICE]),
        min_people=rng.choice([1.0, 2.0]), peer_max_age_s=rng.choice([600.0, 1800.0]),
    )  # fmt: skip
    if rng.random() < 0.5:  # end on a run beyond the limit, so breaches and their worst values are compared
        hot = comfort.above is not None
        tail = rng.randrange(1, n + 1)
        temperatures[-tail:] = [
            (ts, (31.0 if hot else 23.0) + rng.uniform(-1, 1)) for ts, _ in temperatures[-tail:]
        ]
    assert comfort.judge(temperatures, now=start, peers=counts) == _comfort_per_reading(
        comfort, temperatures, counts
    )
    doors = _stream(rng, [0.0, 0.0, 1.0], start, n)
    units = [_stream(rng, [0.0, 1.0], start - timedelta(hours=1), n) for _ in range(rng.choice([0, 1, 2]))]
    door = OpenWhileCoolingRule(
        "o", "o", Severity.LOW, "open_state", for_s=rng.choice([0.0, 900.0]), clear_for_s=rng.choice([0.0, 300.0]),
        peer_max_age_s=rng.choice([600.0, 1800.0]),
    )  # fmt: skip
    assert door.judge(doors, now=start, peers=units) == _open_per_reading(door, doors, units)


def _leak_per_reading(rule: LeakRule, window: Window, now: datetime) -> Finding | None:
    """The leak rule as first written, a sample per reading, night or not, from the rule's `raw_from`
    (with no nights of history known, each reading's limit is `zero_below`)."""
    window = [(ts, v) for ts, v in window if ts >= rule.raw_from(now)]
    taipei = ZoneInfo("Asia/Taipei")

    def at_night(ts: datetime) -> bool:
        clock = ts.astimezone(taipei).time()
        if rule.night_from <= rule.night_to:
            return rule.night_from <= clock < rule.night_to
        return clock >= rule.night_from or clock < rule.night_to

    samples = [
        (ts, v, (Sample.BAD if v > rule.zero_below else Sample.OK) if at_night(ts) else Sample.SKIP)
        for ts, v in window
    ]
    return held(samples, for_s=rule.for_s, clear_for_s=rule.clear_for_s, above=False)


@pytest.mark.parametrize("seed", range(60))
def test_leak_reads_only_the_nights(seed: int) -> None:
    """Bisecting to the night readings and reading their latest run gives the findings of a sample per
    reading: nights within a day and across midnight, readings on the night's edges, flows that stop."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    night_from, night_to = rng.choice(
        [(time(0), time(6)), (time(1), time(5)), (time(22), time(5)), (time(3), time(3))]
    )
    rule = LeakRule(
        "l", "l", Severity.LOW, "flow_m3h", for_s=rng.choice([0.0, 1800.0]), clear_for_s=rng.choice([0.0, 600.0]),
        night_from=night_from, night_to=night_to, zero_below=0.01, samples=1, min_nights=7,
    )  # fmt: skip
    edges = [
        datetime.combine(MONDAY.date() + timedelta(days=d), t, ZoneInfo("Asia/Taipei")).astimezone(UTC)
        for d in range(4)
        for t in (night_from, night_to)
    ]
    ts, flow, window = MONDAY + timedelta(hours=rng.uniform(-12, 24)), 0.0, []
    for _ in range(rng.choice([1, 5, 200, 600])):
        ts += timedelta(seconds=rng.choice([5, 60, 300, 1200]) * rng.uniform(0.5, 1.5))
        if rng.random() < 0.05:
            flow = rng.choice([0.0, 0.0, 0.005, 0.01, 0.02, 0.5, 1.3])
        window.append((ts, flow + rng.choice([0.0, rng.uniform(0, 0.2)]) if flow else flow))
    window += [(e, rng.choice([0.0, 0.3])) for e in edges if e > ts]  # readings exactly on the edges
    window.sort()
    for cut in (len(window), max(1, len(window) // 2), 1):
        part = window[:cut]
        now = part[-1][0]
        assert rule.judge(part, now=now) == _leak_per_reading(rule, part, now)
    assert rule.judge([], now=MONDAY) is None


# --- leak ---
LEAK = LeakRule(
    "l",
    quantity="flow_m3h",
    night_from=time(0),
    night_to=time(6),
    for_s=1800,
    name="test rule",
    severity=Severity.LOW,
)


def test_leak_flow_all_night() -> None:
    minute = timedelta(minutes=1)
    assert status(LEAK.judge(series([0.2] * 31, step=minute), now=MONDAY + 31 * minute)) is Status.BREACH
    assert status(LEAK.judge(series([0.2] * 20, step=minute), now=MONDAY + 20 * minute)) is Status.PENDING


def test_leak_three_readings_with_a_flush_under_way_are_no_evidence() -> None:
    """A meter sampled every 15 minutes that catches a flush three times running (00:00, 00:15, 00:30):
    the old rule called it a leak every night in an occupied dormitory (issue 15, class 3). It takes
    `samples` readings of the flow of the moment; a meter of interval means needs only the duration."""
    assert status(LEAK.judge(series([0.2] * 4), now=MONDAY + Q * 4)) is Status.PENDING
    meter = Subject("W", "water_meter", "B", "S", "plant_room", "", ("volume_m3", "flow_m3h"),
                    Reporting(flow=FlowSemantics.INTERVAL_MEAN))  # fmt: skip
    assert status(LEAK.specialise(meter).judge(series([0.2] * 4), now=MONDAY + Q * 4)) is Status.BREACH


def test_leak_in_a_building_whose_nights_are_dry_any_flow_is_news() -> None:
    """15-minute readings of the flow of the moment: where the last nights drew no water at all in that
    quarter hour (an office building), four flowing readings over 30 minutes are a leak; where a reading
    caught a flush one time in three (an occupied dormitory), they may be flushes, and as many readings in
    a row as make that unlikely are needed (`LeakRule.flushes_chance`)."""
    rule = replace(LEAK, night_from=time(0), night_to=time(6))
    tonight = datetime(2026, 7, 20, 0, 0, tzinfo=TAIPEI).astimezone(UTC)
    rng = random.Random(7)  # noqa: S311 - test data
    cells = [(d, q) for d in range(7, 0, -1) for q in range(24)]
    dry = dict.fromkeys(cells, 0.0)
    # An occupied dormitory: a reading catches a flush under way about one time in three.
    flushes = {cell: 0.3 if rng.random() < 0.3 else 0.0 for cell in cells}
    for history, expected in ((dry, Status.BREACH), (flushes, Status.PENDING)):
        past = [(tonight - timedelta(days=d) + q * Q, history[d, q]) for d, q in cells]
        window = past + [(tonight + q * Q, 0.2) for q in range(3)]
        assert status(rule.judge(window, now=window[-1][0])) is expected
    # The same meter flowing at 0.35 m3/h for three hours: no run of flushes lasts that long.
    past = [(tonight - timedelta(days=d) + q * Q, flushes[d, q]) for d, q in cells]
    window = past + [(tonight + q * Q, 0.35) for q in range(13)]
    assert status(rule.judge(window, now=window[-1][0])) is Status.BREACH


def _dorm_nights(rng: random.Random, nights: int, leak: float) -> list[tuple[datetime, float]]:
    """15-minute interval means of an occupied dormitory's night, 01:00-05:00 Taipei, for `nights` nights
    ending with tonight: flushes as Poisson arrivals (about 3 a quarter hour, 6 L each), plus `leak` m3/h
    tonight only."""
    out = []
    tonight = datetime(2026, 7, 20, 1, 0, tzinfo=TAIPEI)
    for back in range(nights - 1, -1, -1):
        start = tonight - timedelta(days=back)
        for q in range(16):
            flushes, t = 0, rng.expovariate(3.0)
            while t < 1.0:
                flushes, t = flushes + 1, t + rng.expovariate(3.0)
            mean = flushes * 0.006 * 4 + (leak if back == 0 else 0.0)
            out.append(((start + q * Q).astimezone(UTC), round(mean, 4)))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_leak_an_occupied_nights_flushes_stay_within_its_usual_band(seed: int) -> None:
    """Eight nights of an occupied dormitory's interval means: tonight's flushes are no leak, whatever the
    night; a running toilet (0.3 m3/h) on top of them is one within the hour."""
    meter = Subject("W", "water_meter", "B", "S", "plant_room", "", ("volume_m3", "flow_m3h"),
                    Reporting(flow=FlowSemantics.INTERVAL_MEAN))  # fmt: skip
    rule = replace(LEAK, night_from=time(1), night_to=time(5), for_s=3600, lookback_s=0).specialise(meter)
    quiet = _dorm_nights(random.Random(seed), 8, leak=0.0)  # noqa: S311 - test data
    for k in range(len(quiet) - 16, len(quiet)):
        assert status(rule.judge(quiet[: k + 1], now=quiet[k][0])) is not Status.BREACH
    leaking = _dorm_nights(random.Random(seed), 8, leak=0.3)  # noqa: S311 - test data
    tonight = leaking[-16:]
    found = rule.judge(leaking[: len(leaking) - 16 + 5], now=tonight[4][0])
    assert status(found) is Status.BREACH  # at 02:00, an hour after the window opened


def _dorm_register(
    rng: random.Random, nights: int, *, leak: float, every: timedelta = Q, swap_at: int | None = None
) -> list[tuple[datetime, float]]:
    """An occupied dormitory's water register (m3, in steps of 0.01 as the meter counts), read every
    `every` over `nights` days ending tonight at 05:00 Taipei: heavy use by day, flushes at night as
    Poisson arrivals (about 3 a quarter hour, 6 L each), plus `leak` m3/h from midnight tonight; with
    `swap_at`, the meter is replaced (read from 0) at that reading."""
    out = []
    start = datetime(2026, 7, 20, 5, 0, tzinfo=TAIPEI) - timedelta(days=nights)
    steps = int(timedelta(days=nights) / every)
    litres, base = 123_456_000.0, 0.0
    tonight = datetime(2026, 7, 20, 0, 0, tzinfo=TAIPEI)
    for k in range(steps + 1):
        ts = start + k * every
        hours = every / timedelta(hours=1)
        if ts.hour >= 6:
            litres += rng.uniform(1500, 2500) * hours  # day: showers, laundry, the kitchen
        else:
            t = rng.expovariate(3.0 * 4)
            while t < hours:
                litres, t = litres + 6.0, t + rng.expovariate(3.0 * 4)
        if ts >= tonight:
            litres += leak * 1000 * hours
        if swap_at is not None and k == swap_at:
            base = litres
        out.append((ts.astimezone(UTC), math.floor((litres - base) / 10) / 100))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_leak_read_from_the_register_is_found_within_the_hour(seed: int) -> None:
    """Issue 15: a dormitory meter read every 15 minutes (or every 5 seconds, here 5 minutes) catches a
    flush now and then in its flow of the moment, so a leak took 80-100 minutes to tell from flushes; its
    register counts every litre between two readings, so the flow it shows holds the night's flushes in
    every reading and a leak lifts every one of them. Nights of flushes alone raise nothing; a running
    toilet (0.3 m3/h) is found within an hour of the window opening at 01:00."""
    meter = Subject("W", "water_meter", "B", "S", "plant_room", "", ("volume_m3", "flow_m3h"), Reporting())
    rule = replace(LEAK, night_from=time(1), night_to=time(5), register="volume_m3").specialise(meter)
    assert rule.quantity_for(meter) == "volume_m3"
    assert rule.from_register
    every = (Q, timedelta(minutes=5))[seed % 2]
    opens = datetime(2026, 7, 20, 1, 0, tzinfo=TAIPEI)
    quiet = _dorm_register(random.Random(seed), 8, leak=0.0, every=every)  # noqa: S311 - test data
    tonight = [k for k, (ts, _) in enumerate(quiet) if ts >= opens]
    for k in tonight:
        assert status(rule.judge(quiet[: k + 1], now=quiet[k][0])) is not Status.BREACH, quiet[k][0]
    leaking = _dorm_register(random.Random(seed), 8, leak=0.3, every=every)  # noqa: S311 - test data
    found = next(
        k for k in tonight if status(rule.judge(leaking[: k + 1], now=leaking[k][0])) is Status.BREACH
    )
    assert leaking[found][0] - opens <= timedelta(hours=1)


def test_leak_a_register_that_goes_back_is_a_new_meter_not_a_flow() -> None:
    """A meter replaced at night reads from 0: no flow is read across it, and the new register's gains
    are judged as before."""
    meter = Subject("W", "water_meter", "B", "S", "plant_room", "", ("volume_m3", "flow_m3h"), Reporting())
    rule = replace(LEAK, night_from=time(1), night_to=time(5), register="volume_m3").specialise(meter)
    rng = random.Random(3)  # noqa: S311 - test data
    swapped = _dorm_register(rng, 8, leak=0.0, swap_at=8 * 96 - 10)  # at 02:30 tonight
    for k in range(len(swapped) - 16, len(swapped)):
        finding = rule.judge(swapped[: k + 1], now=swapped[k][0])
        assert status(finding) is not Status.BREACH
        assert finding is None or finding.value >= 0
    # Without a register the meter's flow is read, as the rule's quantity says.
    flow_only = Subject("W", "water_meter", "B", "S", "plant_room", "", ("flow_m3h",), Reporting())
    assert rule.quantity_for(flow_only) == "flow_m3h"
    assert replace(LEAK, register="volume_m3").specialise(flow_only) == replace(LEAK, register="volume_m3")


def test_leak_zero_at_night_is_normal_and_daytime_is_not_judged() -> None:
    assert status(LEAK.judge(series([0.2, 0.0]), now=MONDAY + Q * 2)) is Status.NORMAL
    daytime = series([0.5] * 4, start=MONDAY + timedelta(hours=10))
    assert LEAK.judge(daytime, now=MONDAY + timedelta(hours=11)) is None


# --- comfort in self-controlled rooms ---
def test_comfort_while_cooling_spares_a_resident_who_left_the_unit_off() -> None:
    """A dormitory resident at home with the air-conditioner off, 31 degC all evening: no fault for the
    crew (issue 15, class 5). The same room with the unit on for half an hour and still 31 degC: breach."""
    rule = ComfortRule("c", "c", Severity.MEDIUM, "temperature_c", for_s=1800, above=29, while_cooling=True)
    room = series([31.0] * 5)
    unit_off, unit_on = series([0.0] * 5), series([1.0] * 5)
    assert status(rule.judge(room, now=MONDAY + 4 * Q, peers=[unit_off])) is Status.NORMAL
    assert status(rule.judge(room, now=MONDAY + 4 * Q, peers=[unit_on])) is Status.BREACH
    assert status(rule.judge(room, now=MONDAY + 4 * Q, peers=[])) is Status.NORMAL  # no unit heard from
    dorm_room = Subject("T", "climate_sensor", "D", "D-101", "dormitory_room", "", ("temperature_c",))
    unit = Subject("AC", "air_conditioner", "D", "D-101", "dormitory_room", "", ("on_state", "setpoint_c"))
    counter = Subject("P", "occupancy_sensor", "D", "D-101", "dormitory_room", "", ("occupancy_count",))
    assert (rule.peer_of(dorm_room, unit), rule.peer_of(dorm_room, counter)) == ("on_state", None)
    assert not rule.applies_to(dorm_room, [dorm_room, counter])
    assert rule.applies_to(dorm_room, [dorm_room, unit])


# --- offline ---
OFFLINE = OfflineRule(
    "o", quantity="power_kw", missed_intervals=1, grace_s=60, name="test rule", severity=Severity.LOW
)


def test_offline_after_one_missed_interval_plus_grace() -> None:
    window = series([1.0] * 6)
    last = window[-1][0]
    assert status(OFFLINE.judge(window, now=last + Q)) is Status.NORMAL
    assert status(OFFLINE.judge(window, now=last + Q + timedelta(seconds=61))) is Status.BREACH
    assert OFFLINE.judge([], now=last) is None  # never seen: cannot judge


def _contact(
    start: datetime, openings: int, heartbeat_s: float, until: datetime
) -> list[tuple[datetime, float]]:
    """An on-change door contact: a heartbeat every `heartbeat_s`, and `openings` open/close pairs a few
    seconds apart just before `until` (a busy morning), as the review's contacts reported (issue 15)."""
    count = int((until - start).total_seconds() // heartbeat_s) + 1
    beats = [start + timedelta(seconds=heartbeat_s * i) for i in range(count)]
    window = [(ts, 0.0) for ts in beats]
    burst_from = beats[-1] + timedelta(seconds=30)
    for i in range(openings):
        opened = burst_from + timedelta(seconds=20 * i)
        window += [(opened, 1.0), (opened + timedelta(seconds=8), 0.0)]
    return sorted(window)


def test_offline_learns_a_heartbeat_that_bursts_of_openings_do_not_shorten() -> None:
    """Twelve openings in a few minutes after 15-minute heartbeats: the plain median of the last gaps was
    seconds, and the next heartbeat raised a false offline alarm. The time-weighted median is 15 minutes."""
    window = _contact(MONDAY, openings=12, heartbeat_s=900, until=MONDAY + timedelta(hours=5))
    last = window[-1][0]
    heartbeat_due = window[0][0] + timedelta(seconds=900 * 21)
    assert OFFLINE.interval_s(window) == 900
    assert status(OFFLINE.judge(window, now=heartbeat_due + timedelta(seconds=30))) is Status.NORMAL
    silent = heartbeat_due + timedelta(seconds=900 + 61)  # a heartbeat missed: dead
    assert status(OFFLINE.judge(window, now=silent)) is Status.BREACH
    assert last < heartbeat_due


def test_offline_declared_heartbeat_covers_a_device_seen_too_little_to_learn() -> None:
    contact = Subject(
        "D1",
        "contact_sensor",
        "B",
        "S",
        "office",
        "",
        ("open_state",),
        Reporting(ReportingMode.ON_CHANGE, 1800.0),
    )
    rule = OFFLINE.specialise(contact)
    assert (rule.declared_interval_s, rule.on_change) == (1800.0, True)
    first = [(MONDAY, 0.0)]
    assert status(rule.judge(first, now=MONDAY + timedelta(seconds=1800 + 59))) is Status.NORMAL
    assert status(rule.judge(first, now=MONDAY + timedelta(seconds=1800 + 61))) is Status.BREACH
    # Undeclared, an on-change device gets an hour before it is called silent, a periodic one a minute.
    quiet = OFFLINE.specialise(replace(contact, reporting=Reporting(ReportingMode.ON_CHANGE)))
    assert status(quiet.judge(first, now=MONDAY + timedelta(seconds=3600))) is Status.NORMAL
    assert OFFLINE.specialise(_subject("M", "B")) is OFFLINE


def test_offline_a_declared_interval_shorter_than_the_devices_own_does_not_raise() -> None:
    """A Tasmota sensor set to TelePeriod 900 while its family's default says 300: the device's own rhythm
    wins, so each reading arriving 900 s after the last is on time."""
    tasmota = Subject(
        "C1",
        "climate_sensor",
        "B",
        "S",
        "office",
        "",
        ("temperature_c",),
        Reporting(ReportingMode.PERIODIC, 300.0),
    )
    rule = OFFLINE.specialise(tasmota)
    window = [(MONDAY + timedelta(seconds=900 * i), 26.3) for i in range(8)]
    last = window[-1][0]
    assert status(rule.judge(window, now=last + timedelta(seconds=890))) is Status.NORMAL
    assert status(rule.judge(window, now=last + timedelta(seconds=961))) is Status.BREACH


def _subject(code: str, building: str) -> Subject:
    return Subject(code, "electricity_meter", building, building + "-S", "office", "", ("power_kw",))


def test_silent_building_folds_into_one_gateway_alarm() -> None:
    a, b, c = _subject("B1-EM-01", "B1"), _subject("B1-EM-02", "B1"), _subject("B2-EM-01", "B2")
    silent = Finding(Status.BREACH, MONDAY, 900, MONDAY + Q)
    fine = Finding(Status.NORMAL, MONDAY, 0, MONDAY)
    out = fold_silent_buildings([(a, silent), (b, silent), (c, silent)], [a, b, c])
    assert [s.code for s, _ in out] == ["B2-EM-01", "B1-EM-01"]
    assert "all 2 devices of building B1" in out[1][1].detail
    partly = fold_silent_buildings([(a, silent), (b, fine)], [a, b])
    assert [(s.code, f.status) for s, f in partly] == [
        ("B1-EM-01", Status.BREACH),
        ("B1-EM-02", Status.NORMAL),
    ]


# --- flat line ---
FLAT = FlatlineRule(
    "f", quantity="temperature_c", samples=4, for_s=2700, name="test rule", severity=Severity.LOW
)


def test_flatline_after_n_equal_samples() -> None:
    # A float sensor (readings off any coarse grid: `FlatlineRule.rounds`).
    assert status(FLAT.judge(series([25.13, 25.31, 25.31, 25.31, 25.31]), now=MONDAY)) is Status.BREACH
    assert status(FLAT.judge(series([25.13, 25.31, 25.31, 25.31]), now=MONDAY)) is Status.PENDING
    assert status(FLAT.judge(series([25.13, 25.31, 25.22, 25.44]), now=MONDAY)) is Status.NORMAL


def test_flatline_ignores_idle_zero() -> None:
    assert status(FLAT.judge(series([0.0] * 10), now=MONDAY)) is Status.RECOVERING


TASMOTA_CLIMATE = Subject(
    "CS1",
    "climate_sensor",
    "B",
    "S",
    "office",
    "",
    ("temperature_c", "humidity_pct", "co2_ppm"),
    effective(DeviceKind.CLIMATE_SENSOR, PayloadFormat.TASMOTA, {"interval_s": 900}),
)


def _noisy(base: float, step: float, n: int, seed: int) -> list[float]:
    """A live quantity as a rounding device reports it: noise of about a step, rounded to the step."""
    rng = random.Random(seed)  # noqa: S311 - test data
    return [round(round((base + rng.gauss(0, step)) / step) * step, 3) for _ in range(n)]


def test_flatline_a_rounding_sensor_in_a_quiet_room_is_not_stuck() -> None:
    """The review's 299 false alarms: 0.1 degC every 15 minutes repeats 26.3 for hours in a stable room
    while humidity and CO2 move. Three hours of it: pending, not an alarm (issue 15, class 1)."""
    rule = FLAT.specialise(TASMOTA_CLIMATE)
    assert (rule.step, rule.continuous) == (0.1, False)
    assert FLAT.companions(TASMOTA_CLIMATE) == ("humidity_pct", "co2_ppm")
    temperature = series([26.3] * 13)  # 3 h
    humidity, co2 = series(_noisy(60.0, 0.1, 13, 1)), series(_noisy(650, 1.0, 13, 2))
    # A float reading stuck for 3 hours is stuck; a round one as old as the window may be a rounding
    # device's, though nothing is declared (`FlatlineRule.rounds`): judged as one.
    assert status(FLAT.judge(series([26.317] * 13), now=MONDAY)) is Status.BREACH
    assert status(FLAT.judge(temperature, now=MONDAY)) is Status.PENDING
    assert status(rule.judge(temperature, now=MONDAY, peers=[humidity, co2])) is Status.PENDING
    # While its other quantities move the device is alive, however long the temperature holds: a room held by
    # its thermostat stays within one 0.5 degC step all day. Only a device with nothing else to report is
    # judged on the quantity alone, after `quantised_for_s` (6 h) without one step.
    long = series([26.3] * 26)
    assert status(rule.judge(long, now=MONDAY, peers=[series(_noisy(60, 0.1, 26, 3))])) is Status.PENDING
    assert status(rule.judge(long, now=MONDAY)) is Status.BREACH
    assert status(rule.judge(long[:24], now=MONDAY)) is Status.PENDING


def test_flatline_a_hung_device_repeats_its_whole_message() -> None:
    """Every quantity frozen over eight messages and 45 minutes: the device hung, whatever it rounds to."""
    rule = FLAT.specialise(TASMOTA_CLIMATE)
    frozen = [series([26.3] * 8), series([61.2] * 8), series([655.0] * 8)]
    assert status(rule.judge(frozen[0], now=MONDAY, peers=frozen[1:])) is Status.BREACH
    # Seven messages are not enough, nor is a whole message where one quantity moved once.
    assert status(rule.judge(frozen[0][:7], now=MONDAY, peers=[f[:7] for f in frozen[1:]])) is Status.PENDING
    moved = series([655.0] * 7 + [656.0])
    assert status(rule.judge(frozen[0], now=MONDAY, peers=[frozen[1], moved])) is Status.PENDING
    # A companion that was not reported over the run is no evidence.
    assert status(rule.judge(frozen[0], now=MONDAY, peers=[frozen[1], []])) is Status.PENDING


def test_flatline_a_continuous_device_keeps_the_plain_rule_and_its_batch_form() -> None:
    native = replace(TASMOTA_CLIMATE, reporting=Reporting())
    assert FLAT.specialise(native) is FLAT
    # Its other quantities are read too: it may turn out to round (below).
    assert FLAT.companions(native) == ("humidity_pct", "co2_ppm")
    assert FLAT.raw == FLAT.specialise(TASMOTA_CLIMATE).raw == timedelta(hours=6, minutes=30)
    assert FLAT.lookback == FLAT.raw + timedelta(days=FLAT.memory_days)  # the summaries of its usual holds


def test_flatline_finds_a_rounding_device_the_register_calls_continuous() -> None:
    """Issue 15, class 1, with nothing declared: a 15-minute sensor at 0.1 degC in a stable room repeats its
    temperature while its humidity and CO2 move: no alarm, though the register says nothing of rounding."""
    rule = FLAT  # a native, periodic device: nothing declared
    before = [26.1, 26.2, 26.2, 26.3, 26.2, 26.3, 26.3, 26.4]  # 0.1 degC steps: the device rounds
    stable = series([*before, *[26.3] * 8])
    moving = [series([60.0 + 0.1 * (i % 3) for i in range(16)]), series([650.0 + (i % 5) for i in range(16)])]
    assert rule.rounds(stable, 8)
    assert status(rule.judge(stable, now=MONDAY, peers=moving)) is Status.PENDING
    # The whole message frozen for 8 readings and 45 minutes: hung.
    frozen = [
        series([60.0 + 0.1 * (i % 3) for i in range(8)] + [60.1] * 8),
        series([650.0 + (i % 5) for i in range(8)] + [651.0] * 8),
    ]
    assert status(rule.judge(stable, now=MONDAY, peers=frozen)) is Status.BREACH
    # Without its other quantities, six hours of the same reading.
    long = series([*before, *[26.3] * 26])
    assert status(rule.judge(long, now=MONDAY)) is Status.BREACH
    assert status(rule.judge(long[:30], now=MONDAY)) is Status.PENDING
    # A float sensor stuck on a round value is still stuck after 45 minutes: its readings before were not
    # rounded.
    floats = series([26.137, 26.241, 26.198, 26.305, 26.222, 26.318, 26.402, 26.311, *[26.3] * 4])
    assert not rule.rounds(floats, 8)
    assert status(rule.judge(floats, now=MONDAY)) is Status.BREACH


# --- rate of change ---
SPIKE = RateOfChangeRule(
    "s", quantity="temperature_c", max_rise=8, max_fall=8, name="test rule", severity=Severity.LOW
)


def test_spike_is_caught_at_the_jump_and_clears_after() -> None:
    assert status(SPIKE.judge(series([26, 26.5, 41.5]), now=MONDAY)) is Status.BREACH
    assert status(SPIKE.judge(series([26, 26.5, 41.5, 26.4, 26.6]), now=MONDAY)) is Status.NORMAL
    assert status(SPIKE.judge(series([26, 30, 33.9]), now=MONDAY)) is Status.NORMAL


def test_register_going_back_and_gaps() -> None:
    register = RateOfChangeRule(
        "r", quantity="energy_kwh", max_fall=1, name="test rule", severity=Severity.LOW
    )
    assert status(register.judge(series([5000, 5010, 3]), now=MONDAY)) is Status.BREACH
    far_apart = series([5000, 3], step=timedelta(hours=2))
    assert register.judge(far_apart, now=MONDAY) is None


# --- comfort while occupied ---
COMFORT = ComfortRule(
    "c",
    quantity="temperature_c",
    above=28,
    schedule=OFFICE,
    for_s=900,
    name="test rule",
    severity=Severity.LOW,
)
AT_TEN = MONDAY + timedelta(hours=10)


def test_comfort_breach_while_people_are_in() -> None:
    hot = series([30, 30, 30], start=AT_TEN)
    people = series([12, 12, 12], start=AT_TEN)
    assert status(COMFORT.judge(hot, now=AT_TEN, peers=[people])) is Status.BREACH
    assert status(COMFORT.judge(hot, now=AT_TEN)) is Status.BREACH  # no sensor: the schedule decides


def test_comfort_ignores_empty_rooms_and_closed_hours() -> None:
    hot = series([30, 30, 30], start=AT_TEN)
    assert status(COMFORT.judge(hot, now=AT_TEN, peers=[series([0, 0, 0], start=AT_TEN)])) is Status.NORMAL
    night = series([30, 30, 30], start=MONDAY + timedelta(hours=22))
    assert status(COMFORT.judge(night, now=MONDAY)) is Status.NORMAL


# --- open while cooling ---
DOOR = OpenWhileCoolingRule("d", quantity="open_state", for_s=900, name="test rule", severity=Severity.LOW)


def test_door_open_while_cooling() -> None:
    door = series([0, 1, 1, 1])
    assert status(DOOR.judge(door, now=MONDAY, peers=[series([1, 1, 1, 1])])) is Status.BREACH
    assert status(DOOR.judge(door, now=MONDAY, peers=[series([1, 0, 0, 0])])) is Status.NORMAL
    assert DOOR.judge(door, now=MONDAY) is None  # no air-conditioner in the space


# --- run time ---
def test_runtime_reaches_the_service_interval() -> None:
    rule = RuntimeRule("rt", quantity="on_state", hours=2, name="test rule", severity=Severity.LOW)
    assert status(rule.judge(series([1.0] * 9), now=MONDAY)) is Status.BREACH
    finding = rule.judge(series([1.0, 0.0] * 5), now=MONDAY)
    assert finding is not None
    assert (finding.status, finding.value) == (Status.NORMAL, 1.25)


def test_flatline_a_coarse_device_in_a_held_room_repeats_itself_for_hours() -> None:
    """0.5 degC, whole percent, 10 ppm every 15 minutes in a room its air-conditioner holds: its whole
    message already held for two hours once in the window, so a repeat is evidence of a hung device only
    once it has held twice that long (issue 15)."""
    temperature = [26.5] * 4 + [27.0] * 8 + [26.5] * 4  # changes at readings 4 and 12
    humidity = [58.0] * 14 + [59.0] * 2  # at 14
    co2 = [800.0] * 16  # at 16, the first frozen reading

    def judged(frozen: int) -> Status | None:
        window = series([*temperature, *[26.5] * frozen])
        peers = [series([*humidity, *[59.0] * frozen]), series([*co2, *[810.0] * frozen])]
        return status(FLAT.judge(window, now=MONDAY, peers=peers))

    assert judged(8) is Status.PENDING  # 1 h 45 min
    assert judged(16) is Status.PENDING  # 3 h 45 min
    assert judged(18) is Status.BREACH  # 4 h 15 min: twice the longest hold before


def test_flatline_a_fine_device_that_repeats_its_whole_message_is_hung_soon() -> None:
    """0.1 degC and ppm every 5 minutes: its CO2 and humidity moved at every reading; eight repeats of the
    whole message over 45 minutes are a hung device."""
    before = 12
    temperature = [26.1 + 0.1 * (i % 3) for i in range(before)]
    humidity = [58.0 + 0.1 * (i % 4) for i in range(before)]
    co2 = [800.0 + (i % 7) for i in range(before)]
    step = timedelta(minutes=5)
    window = series([*temperature, *[26.3] * 10], step=step)
    peers = [series([*humidity, *[58.2] * 10], step=step), series([*co2, *[803.0] * 10], step=step)]
    assert status(FLAT.judge(window, now=MONDAY, peers=peers)) is Status.BREACH


def test_flatline_remembers_how_long_a_coarse_device_held_still_on_the_days_before() -> None:
    """An office its air-conditioner holds all morning at 26.5 degC, 58 %RH and 1,120 ppm, read at 0.5 degC,
    whole percent and 10 ppm every 15 minutes (issue 15, class 1: the realistic coarse week): its whole
    message held for three hours each day before, which only the quarter-hour summaries still hold (the raw
    readings go back six hours and a half). The same hold today is no fault; twice as long is, dated from
    the summaries once it began before the raw readings."""
    start = datetime(2026, 7, 6, 0, 0, tzinfo=UTC)
    held = (time(1), time(4))  # each day's hold, UTC

    def messages(until: datetime, frozen_from: datetime) -> list[list[tuple[datetime, float]]]:
        out: list[list[tuple[datetime, float]]] = [[], [], []]
        ts, i = start, 0
        while ts <= until:
            still = ts >= frozen_from or held[0] <= ts.time() < held[1]
            values = (26.5, 58.0, 1120.0) if still else (26.5 + 0.5 * (i % 2), 59.0, 1110.0 + 10 * (i % 3))
            for points, v in zip(out, values, strict=True):
                points.append((ts, v))
            ts, i = ts + Q, i + 1
        return out

    def judged(hours: float, *, remembered: bool = True) -> Finding | None:
        frozen_from = datetime(2026, 7, 9, 1, 0, tzinfo=UTC)  # the fourth morning's hold, prolonged
        now = frozen_from + timedelta(hours=hours)
        split = floor_cell(FLAT.raw_from(now))
        quantities = []
        for points in messages(now, frozen_from):
            cells = Cells(us(start))
            cells.catch_up(points, us(start), us(split))
            quantities.append((points[bisect.bisect_left(points, (split,)) :], cells if remembered else None))
        (window, own), *others = quantities
        return FLAT.judge(
            window, now=now, peers=[w for w, _ in others], sealed=own, peer_sealed=[c for _, c in others]
        )

    assert status(judged(3.75)) is Status.PENDING  # a little longer than each day before
    assert status(judged(3.75, remembered=False)) is Status.BREACH  # what the raw readings alone say
    assert status(judged(5.75)) is Status.PENDING
    late = judged(8)  # twice the longest hold and more; frozen since before the raw readings
    assert late is not None
    assert (late.status, late.since) == (Status.BREACH, datetime(2026, 7, 9, 1, 0, tzinfo=UTC))

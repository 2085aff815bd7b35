"""The batch judge (rules.batch) gives exactly the findings of each kind's pure `judge`, on randomised windows.

Seeded random windows: irregular gaps (some of them sub-second), runs of repeated values, idle zeros,
jumps, readings across local midnight, weekends and a Taiwan holiday; random cuts of each window; random
rule parameters. Every finding is compared field by field, the alarm sentence included.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine

from cityhall.contract import Reading
from cityhall.models import Severity
from cityhall.timeseries.sql import SqlStore
from rules.batch import Column, Frame, batchable, judge_frame, to_us
from rules.config import parse_rules
from rules.engine import Finding, Rule, Status, Subject, ThresholdRule, Window
from rules.evaluation import bind, judge_batch, judge_watch, slice_window
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
    _flat_since,
)
from rules.runner import WindowCache
from rules.schedule import DayType, Period, Schedule

HOUR = timedelta(hours=1)

# Wednesday 2026-10-07 00:00 in Taipei: two working days, then a holiday (National Day) and a weekend.
START = datetime(2026, 10, 6, 16, 0, tzinfo=UTC)
OFFICE = Schedule("office", (Period(DayType.WORKING, time(8), time(17, 30)),))
DORM = Schedule(
    "dorm",
    (
        Period(DayType.ALL, time(18), time(0)),
        Period(DayType.ALL, time(0), time(8, 30)),
        Period(DayType.NON_WORKING, time(0), time(0)),
    ),
)
FACADE = Schedule(
    "facade", (Period(DayType.ALL, time(18), time(22)), Period(DayType.NON_WORKING, time(9), time(12)))
)
ODD = Schedule("odd", (Period(DayType.ALL, time(8, 0, 30), time(17)),))  # not whole minutes
DEVICES = 60


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - test data, not a secret


def _window(rng: random.Random) -> list[tuple[datetime, float]]:
    """A random oldest-first window: gaps from 0.5 s to 2 h, values with runs, zeros and jumps."""
    ts = START + timedelta(seconds=rng.uniform(0, 2 * 86400))
    levels = [0.0, 1.0, 1.0 + 1e-7, 5.0, 29.5, 31.0, 150.0, 300.0, rng.uniform(-50, 400)]
    value = rng.choice(levels)
    out: list[tuple[datetime, float]] = []
    for _ in range(rng.choice([0, 1, 2, 3, 5, 12, 13, 14, 40, 120])):
        out.append((ts, value))
        gap = rng.choice([0.5, 10, 60, 300, 300, 300, 900, 900, 3599, 3601, 7200])
        ts += timedelta(seconds=gap, microseconds=rng.choice([0, 0, 0, rng.randrange(1_000_000)]))
        roll = rng.random()
        if roll < 0.35:
            value = rng.choice(levels)
        elif roll < 0.55:
            value = round(value + rng.uniform(-20, 20), rng.choice([0, 1, 3]))
        elif roll < 0.6:
            value = -value
    return out


def _rules(rng: random.Random) -> list[Rule]:
    """Random rules of every kind that has a batch form, and one of each kind that has not."""
    sev = Severity.LOW
    f = rng.choice([0, 0, 30, 600, 1800, 3600, 7200])
    c = rng.choice([0, 0, 900, 3600])
    out: list[Rule] = [
        ThresholdRule("t1", "t", "power_kw", sev, for_s=f, above=150, clear_for_s=c),
        ThresholdRule("t2", "t", "power_kw", sev, for_s=f, above=30, clear_below=29, clear_for_s=c),
        ThresholdRule("t3", "t", "power_kw", sev, for_s=f, below=0.5, clear_above=1.0, clear_for_s=c),
        ThresholdRule("t4", "t", "power_kw", sev, for_s=f, above=150, below=-10, clear_for_s=c),
        RateOfChangeRule("r1", "r", sev, "power_kw", max_rise=8, max_fall=8, for_s=f, clear_for_s=c),
        RateOfChangeRule("r2", "r", sev, "power_kw", max_fall=1),
        RateOfChangeRule("r3", "r", sev, "power_kw", max_rise=100, max_gap_s=rng.choice([600, 3600])),
        FlatlineRule("f1", "f", sev, "power_kw", for_s=f, samples=rng.choice([2, 4, 6])),
        FlatlineRule("f2", "f", sev, "power_kw", for_s=f, epsilon=1e-3, ignore_value=None),
        OfflineRule("o1", "o", sev, "power_kw", missed_intervals=rng.choice([1, 2, 1.5])),
        OfflineRule("o2", "o", sev, "power_kw", grace_s=0, default_interval_s=900),
        OfflineRule("o3", "o", sev, "power_kw", declared_interval_s=rng.choice([300, 900]), on_change=True),
        OfflineRule("o4", "o", sev, "power_kw", on_change=True),
    ]
    for schedule, timers in ((OFFICE, None), (DORM, None), (None, None), (OFFICE, FACADE)):
        out.append(
            AfterHoursRule(
                "a",
                "a",
                sev,
                "power_kw",
                for_s=f,
                clear_for_s=c,
                schedule=schedule,
                above_pct=rng.choice([30, 50, 150]),
                min_value=rng.choice([0, 0, 2]),
                timers=timers,
            )
        )
    return out


def _frame(windows: dict[str, list[tuple[datetime, float]]]) -> Frame:
    return Frame.of({code: Column(points) for code, points in windows.items()}, windows)


def _same(batch: Finding | None, pure: Finding | None) -> None:
    assert batch == pure
    if batch is not None and pure is not None:
        assert batch.detail == pure.detail
        assert type(batch.value) is float


@pytest.mark.parametrize("seed", range(40))
def test_every_batch_kind_decides_as_its_pure_judge(seed: int) -> None:
    rng = _rng(seed)
    windows = {f"D{i:03d}": _window(rng) for i in range(DEVICES)}
    codes = [*sorted(windows), "NEVER-SEEN"]
    rng.shuffle(codes)
    frame = _frame(windows)
    if seed % 2:  # the windows found without the sorted key (as for a frame too wide for one)
        frame = dataclasses.replace(frame, key=None)
    for rule in _rules(rng):
        for _ in range(3):
            now = START + timedelta(seconds=rng.uniform(0, 3 * 86400))
            since = now - rng.choice([timedelta(minutes=30), timedelta(hours=3), timedelta(hours=30)])
            verdicts = judge_frame(rule, frame, codes, since=since, now=now)
            # After-hours and flat-line rules judge one by one only the readings from their `raw_from`
            # (the summaries before it are the pure path's, as the runner and the backtest give them).
            judged_from = (
                max(since, rule.raw_from(now)) if isinstance(rule, AfterHoursRule | FlatlineRule) else since
            )
            if verdicts is None:  # only for a device found to round its readings: the pure path judges
                assert isinstance(rule, FlatlineRule)
                cut = [slice_window(windows.get(c, []), judged_from, now) for c in codes]
                assert any(w and rule.rounds(w, _flat_since(w, rule.epsilon)) for w in cut)
                continue
            got = {code: verdicts.finding(k) for k, code in enumerate(verdicts.ragged.codes)}
            assert list(got) == [c for c in codes if slice_window(windows.get(c, []), judged_from, now)]
            for code in codes:
                # The pure after-hours judge reads its window from `since` (its summaries from the window).
                cut_from = judged_from if isinstance(rule, FlatlineRule) else since
                window: Window = slice_window(windows.get(code, []), cut_from, now)
                _same(got.get(code), rule.judge(window, now=now) if window else None)


@pytest.mark.parametrize("seed", range(10))
def test_a_frame_laid_from_the_window_start_decides_as_the_whole_frame(seed: int) -> None:
    """Frames laid only from a rule's window start (or a little before) give the pure judge's findings."""
    rng = _rng(2000 + seed)
    windows = {f"D{i:03d}": _window(rng) for i in range(DEVICES)}
    columns = {code: Column(points) for code, points in windows.items()}
    codes = sorted(windows)
    for rule in _rules(rng):
        now = START + timedelta(seconds=rng.uniform(0, 3 * 86400))
        since = now - rng.choice([timedelta(minutes=30), timedelta(hours=3), timedelta(hours=30)])
        frame = Frame.of(
            columns, windows, since - rng.choice([timedelta(0), timedelta(microseconds=1), HOUR])
        )
        verdicts = judge_frame(rule, frame, codes, since=since, now=now)
        if verdicts is None:
            continue
        got = {code: verdicts.finding(k) for k, code in enumerate(verdicts.ragged.codes)}
        judged_from = max(since, rule.raw_from(now)) if isinstance(rule, FlatlineRule) else since
        for code in codes:
            window: Window = slice_window(windows[code], judged_from, now)
            _same(got.get(code), rule.judge(window, now=now) if window else None)


def test_kinds_without_a_batch_form_are_left_to_the_pure_judge() -> None:
    sev = Severity.LOW
    frame = _frame({"D": _window(_rng(1))})
    others: list[Rule] = [
        BaselineRule("b", "b", sev, "power_kw"),
        LeakRule("l", "l", sev, "volume_flow_m3h"),
        ComfortRule("c", "c", sev, "temperature_c", above=29),
        OpenWhileCoolingRule("w", "w", sev, "open_state"),
        RuntimeRule("u", "u", sev, "on_state"),
    ]
    for rule in others:
        assert not batchable(rule)
        assert judge_frame(rule, frame, ["D"], since=START, now=START + timedelta(days=3)) is None
    # A device that rounds its values is judged with its other quantities, one by one.
    rounding = FlatlineRule("f", "f", sev, "temperature_c", step=0.1)
    assert judge_frame(rounding, frame, ["D"], since=START, now=START + timedelta(days=3)) is None
    odd = AfterHoursRule("a", "a", sev, "power_kw", schedule=ODD)
    assert batchable(odd)
    assert judge_frame(odd, frame, ["D"], since=START, now=START + timedelta(days=3)) is None
    nan = _frame({"D": [(START, float("nan"))]})
    assert judge_frame(HIGH, nan, ["D"], since=START, now=START) is None


RULE_DOCS: list[dict[str, object]] = [
    {"key": "hi", "name": "Demand high", "kind": "threshold", "above": 150, "for_seconds": 600},
    {"key": "off", "name": "Meter silent", "kind": "offline", "missed_intervals": 1},
    {"key": "ah", "name": "After hours", "kind": "after_hours", "schedule": "office-hours"},
]
HIGH = ThresholdRule("t", "t", "power_kw", Severity.LOW, for_s=0, above=150)


def _subjects() -> list[Subject]:
    return [
        Subject(f"B{b}-M{d}", "electricity_meter", f"B{b}", f"B{b}-S", "office", "", ("power_kw",))
        for b in range(3)
        for d in range(DEVICES // 3)
    ]


@pytest.mark.parametrize("seed", range(10))
def test_a_watch_judged_in_batch_finds_what_judge_watch_finds(seed: int) -> None:
    """Order, gateway folding, and with `alarmed` only what can change an alarm (the rest counted)."""
    rng = _rng(seed)
    definitions = parse_rules(
        {
            "schedules": {"office-hours": {"days": "working", "from": "08:00", "to": "17:30"}},
            "rules": [{**rule, "targets": {"device_kinds": ["electricity_meter"]}} for rule in RULE_DOCS],
        }
    )
    subjects = _subjects()
    windows = {s.code: _window(rng) for s in subjects}
    if seed % 2:  # a silent building: every device's last reading long ago
        for s in subjects[: DEVICES // 3]:
            windows[s.code] = [(START + timedelta(minutes=m), 1.0) for m in range(0, 60, 15)]
    frame = _frame(windows)
    for definition in definitions:
        watch = bind(definition, subjects)
        now = START + timedelta(seconds=rng.uniform(86400, 2 * 86400))
        since = now - max(timedelta(hours=6), watch.rule.lookback)
        series = {"power_kw": {c: slice_window(w, since, now) for c, w in windows.items()}}
        only = None if rng.random() < 0.5 else set(rng.sample(sorted(windows), 25))
        pure = judge_watch(watch, series, now, only=only)
        found = judge_batch(watch, lambda _q: frame, since, now, only=only)
        assert found is not None
        assert found[0] == pure
        assert [f.detail for _, f in found[0]] == [f.detail for _, f in pure]
        alarmed = {s.code for s, _ in pure if rng.random() < 0.3}
        found = judge_batch(watch, lambda _q: frame, since, now, only=only, alarmed=alarmed)
        assert found is not None
        acting, quiet = found
        expected = [
            (s, f)
            for s, f in pure
            if f.status is Status.BREACH or (f.status is Status.NORMAL and s.code in alarmed)
        ]
        assert acting == expected
        assert len(acting) + sum(quiet.values()) == len(pure)


def test_the_cache_columns_stay_in_step_with_its_windows(engine: Engine) -> None:
    """Cycles of appends, late readings, corrections and trimming: the frame is always the windows."""
    rng = _rng(7)
    store = SqlStore(engine)
    cache = WindowCache(store, overlap=timedelta(minutes=10), filter_limit=3, readers=2)
    devices = {"A", "B", "C", "D"}
    clock = START
    minute = timedelta(minutes=1)
    for cycle in range(30):
        clock += timedelta(minutes=5)
        readings = [
            Reading(code, quantity, clock - rng.randrange(0, 8) * minute, round(rng.uniform(0, 10), 1))
            for code in sorted(devices)
            for quantity in ("power_kw", "energy_kwh")
            if rng.random() < 0.8
        ]
        store.write(readings, {})
        if cycle == 20:
            devices.discard("D")
        wanted = {q: (devices, clock - timedelta(minutes=40)) for q in ("power_kw", "energy_kwh")}
        cache.refresh_many(wanted, clock)
        for quantity in ("power_kw", "energy_kwh"):
            frame = cache.frame(quantity)
            held = cache.series[quantity]
            assert set(frame.index) == set(held)
            for code, i in frame.index.items():
                window = held[code]
                assert frame.t[frame.start[i] : frame.end[i]].tolist() == [to_us(ts) for ts, _ in window]
                assert frame.v[frame.start[i] : frame.end[i]].tolist() == [v for _, v in window]
    cache.close()

"""Quarter-hour summaries (rules.summary): the window cache keeps long lookbacks as cells, and the kinds that
read them find exactly what they find over every raw reading (real SQLite/PostgreSQL store)."""

from __future__ import annotations

import functools
import math
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from cityhall.contract import Reading
from cityhall.timeseries.sql import SqlStore
from rules.config import RuleConfigError, parse_rules
from rules.engine import Subject
from rules.evaluation import bind, judge_batch, judge_watch, slice_window
from rules.kinds import SUMMARISED
from rules.runner import WindowCache
from rules.summary import CELL, Stats, ceil_cell, floor_cell, summarise, us

# Monday 2026-11-16 00:00 in Taipei.
START = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
DEVICES = ["M1", "M2", "M3"]


def test_combined_cells_give_the_mean_and_spread_of_all_their_readings() -> None:
    rng = random.Random(7)  # noqa: S311 - test data, not a secret
    values = [rng.uniform(-5, 500) for _ in range(1000)]
    parts = [Stats.of(values[a:b]) for a, b in ((0, 1), (1, 250), (250, 251), (251, 999), (999, 1000))]
    both = Stats.combine(parts)
    assert both is not None
    assert both.n == 1000
    assert both.mean == pytest.approx(statistics.fmean(values), rel=1e-12)
    assert math.sqrt(both.m2 / both.n) == pytest.approx(statistics.pstdev(values), rel=1e-9)
    assert Stats.combine([]) is None


def test_cells_are_quarter_hours_of_local_time() -> None:
    ts = datetime(2026, 11, 16, 8, 29, 59, tzinfo=UTC)
    assert floor_cell(ts) == datetime(2026, 11, 16, 8, 15, tzinfo=UTC)
    assert ceil_cell(ts) == datetime(2026, 11, 16, 8, 30, tzinfo=UTC)
    assert ceil_cell(floor_cell(ts)) == floor_cell(ts)
    window = [(START + timedelta(minutes=m), float(m)) for m in (0, 5, 14, 15, 44, 61)]
    cells = summarise(window, us(START), us(START + timedelta(hours=2)))
    assert [(start, s.n, s.total) for start, s in cells] == [
        (us(START), 3, 19.0),
        (us(START + CELL), 1, 15.0),
        (us(START + 2 * CELL), 1, 44.0),
        (us(START + 4 * CELL), 1, 61.0),
    ]
    # An end within a cell cuts it; a start skips what comes before it.
    assert summarise(window, us(START), us(START + timedelta(minutes=10))) == [
        (us(START), Stats.of([0.0, 5.0]))
    ]
    later = summarise(window, us(START), us(START + CELL), since=START + timedelta(minutes=1))
    assert later == [(us(START), Stats.of([5.0, 14.0]))]


def _stream(rng: random.Random, end: datetime) -> dict[str, list[tuple[datetime, float]]]:
    """Ten days of irregular 4-6 minute readings: busy in office hours, low at night, with nights left on."""
    out: dict[str, list[tuple[datetime, float]]] = {}
    for code in DEVICES:
        points: list[tuple[datetime, float]] = []
        ts = START + timedelta(seconds=rng.uniform(0, 300))
        left_on = False
        while ts < end:
            local = ts + timedelta(hours=8)
            busy = local.weekday() < 5 and 8 <= local.hour < 17
            if local.hour == 19 and rng.random() < 0.01:
                left_on = rng.random() < 0.5
            level = 50.0 if busy else (30.0 if left_on else 4.0)
            points.append((ts, round(level + rng.uniform(-3, 3), rng.choice([0, 1, 3]))))
            ts += timedelta(seconds=rng.uniform(240, 360))
        out[code] = points
    return out


RULES = {
    "schedules": {"office": {"days": "working", "from": "08:00", "to": "17:30"}},
    "rules": [
        {
            "key": "ah",
            "name": "After hours",
            "kind": "after_hours",
            "schedule": "office",
            "above_pct": 30,
            "for_seconds": 1800,
            "targets": {"device_kinds": ["electricity_meter"]},
        },
        {
            "key": "bl",
            "name": "Baseline",
            "kind": "baseline",
            "weeks": 1,
            "k_sigma": 2,
            "pct": 10,
            "for_seconds": 1800,
            "clear_for_seconds": 900,
            "targets": {"device_kinds": ["electricity_meter"]},
        },
    ],
}


@pytest.mark.parametrize("seed", range(2))
def test_the_cache_keeps_summaries_and_finds_what_the_raw_readings_find(engine: Engine, seed: int) -> None:
    """Cycles over ten days: the raw readings kept start at the rules' `raw_from` (never weeks of them), and
    every finding of after-hours and baseline, by device and in batch, equals the pure judge's over all the
    readings of the window."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    end = START + timedelta(days=10)
    stream = _stream(rng, end)
    store = SqlStore(engine)
    store.write([Reading(code, "power_kw", ts, v) for code, pts in stream.items() for ts, v in pts], {})
    subjects = [Subject(c, "electricity_meter", "B", f"S{c}", "office", "", ("power_kw",)) for c in DEVICES]
    watches = [bind(d, subjects) for d in parse_rules(RULES)]
    kinds = [w.rule for w in watches if isinstance(w.rule, SUMMARISED)]
    assert len(kinds) == len(watches)
    cache = WindowCache(store)
    lookback = timedelta(days=7)
    now = START + timedelta(days=7, minutes=7)
    checked = breaches = 0
    while now < end:
        raw_from = min(rule.raw_from(now) for rule in kinds)
        cache.refresh_many({"power_kw": (set(DEVICES), now - lookback)}, now, {"power_kw": raw_from})
        kept = cache.series["power_kw"]
        cut = min(floor_cell(raw_from), floor_cell(now - cache.late_horizon))
        assert all(window[0][0] >= cut for window in kept.values())
        # Summarised up to the quarter hour under way; readings kept from the cut.
        assert all(cells.to_us == us(floor_cell(now)) for cells in cache.sealed["power_kw"].values())
        assert all(cells.raw_us == us(cut) for cells in cache.sealed["power_kw"].values())
        since = now - lookback
        full = {"power_kw": {c: slice_window(stream[c], since, now) for c in DEVICES}}
        held = {"power_kw": {c: slice_window(kept[c], since, now) for c in DEVICES}}
        for watch in watches:
            pure = judge_watch(watch, full, now)
            assert judge_watch(watch, held, now, sealed=cache.sealed) == pure
            laid = functools.partial(cache.frame, since=since)
            batch = judge_batch(watch, laid, since, now, sealed=cache.sealed)
            if batch is not None:
                assert batch[0] == pure
                assert [f.detail for _, f in batch[0]] == [f.detail for _, f in pure]
            checked += len(pure)
            breaches += sum(f.status.value == "breach" for _, f in pure)
        now += timedelta(minutes=rng.uniform(20, 70))
    assert checked > 200
    assert breaches > 0  # the nights left on were found, from summaries as from readings


def test_readings_summarised_come_back_when_a_rule_wants_them_one_by_one(engine: Engine) -> None:
    """Rules changed: no summarising rule reads the quantity any more (or one judges further back); the
    cache forgets its cells and reads the readings again, so no rule sees a window with a hole."""
    store = SqlStore(engine)
    readings = [(START + timedelta(minutes=m), float(m % 7)) for m in range(0, 2 * 24 * 60, 5)]
    store.write([Reading("M1", "power_kw", ts, v) for ts, v in readings], {})
    cache = WindowCache(store)
    now = START + timedelta(days=2)
    since = now - timedelta(days=2)
    cache.refresh_many({"power_kw": ({"M1"}, since)}, now, {"power_kw": now - timedelta(hours=7)})
    assert cache.series["power_kw"]["M1"][0][0] >= now - timedelta(hours=8)
    assert len(cache.sealed["power_kw"]["M1"]) > 100

    cache.refresh_many({"power_kw": ({"M1"}, since)}, now, {"power_kw": now - timedelta(hours=12)})
    assert cache.series["power_kw"]["M1"][0][0] <= now - timedelta(hours=12)  # back from the store
    cache.refresh_many({"power_kw": ({"M1"}, since)}, now)
    assert cache.series["power_kw"]["M1"] == slice_window(readings, since, now)
    assert "power_kw" not in cache.sealed


def test_a_late_reading_seals_its_cell_again(engine: Engine) -> None:
    """A reading written hours late (within the late horizon) joins its cell, already sealed: the cell is
    sealed again from the readings kept, and equals the summary of every reading."""
    store = SqlStore(engine)
    rng = random.Random(3)  # noqa: S311 - test data, not a secret
    readings = [(START + timedelta(minutes=m), rng.uniform(0, 90)) for m in range(0, 24 * 60, 5)]
    late = [(ts + timedelta(seconds=90), 500.0) for ts, _ in readings[-40:-30]]  # 2.5-3.3 hours ago
    store.write([Reading("M1", "power_kw", ts, v) for ts, v in readings], {})
    cache = WindowCache(store)
    now = START + timedelta(days=1)
    since, raw = now - timedelta(days=1), now - timedelta(hours=7)
    cache.refresh_many({"power_kw": ({"M1"}, since)}, now, {"power_kw": raw})
    cells = cache.sealed["power_kw"]["M1"]
    assert cells.to_us == us(floor_cell(now)) > us(late[-1][0])

    store.write([Reading("M1", "power_kw", ts, v) for ts, v in late], {})
    later = now + timedelta(hours=1, minutes=1)  # the hourly re-read of the late horizon
    cache.refresh_many({"power_kw": ({"M1"}, later - timedelta(days=1))}, later, {"power_kw": raw})
    everything = sorted(readings + late)
    first = us(ceil_cell(later - timedelta(days=1)))
    assert cache.sealed["power_kw"]["M1"].between(first, cells.to_us) == summarise(
        everything, first, cells.to_us
    )


def test_an_after_hours_schedule_must_change_on_quarter_hours() -> None:
    doc = {**RULES, "schedules": {"office": {"days": "working", "from": "08:10", "to": "17:30"}}}
    with pytest.raises(RuleConfigError, match="quarter hours"):
        parse_rules(doc)

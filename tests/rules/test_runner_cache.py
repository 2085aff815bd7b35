"""The cycle runner keeps readings between cycles and judges only what changed (real SQLite/PostgreSQL store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.contract import Reading
from cityhall.db import make_sessionmaker, transaction
from cityhall.timeseries.sql import SqlStore
from rules.batch import to_us
from rules.config import load_rules
from rules.evaluation import bind
from rules.runner import RulesRunner, WindowCache, subjects

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def write(store: SqlStore, device: str, *points: tuple[int, float], quantity: str = "power_kw") -> None:
    store.write([Reading(device, quantity, T0 + timedelta(minutes=m), v) for m, v in points], {})


def test_the_cache_reads_what_is_new_keeps_late_readings_and_trims_the_old(engine: Engine) -> None:
    store = SqlStore(engine)
    cache = WindowCache(store, overlap=timedelta(minutes=10), filter_limit=1)
    write(store, "A", (0, 1.0), (1, 2.0))
    write(store, "B", (0, 5.0))
    until = T0 + timedelta(minutes=2)
    assert cache.refresh("power_kw", {"A", "B"}, T0 - timedelta(hours=1), until) == {"A", "B"}
    assert cache.refresh("power_kw", {"A", "B"}, T0 - timedelta(hours=1), until) == set()  # nothing new

    write(store, "A", (3, 3.0))
    write(store, "B", (-5, 4.0))  # late: older than the last read, within the overlap
    write(store, "C", (3, 9.0))  # not asked for
    until = T0 + timedelta(minutes=4)
    assert cache.refresh("power_kw", {"A", "B"}, T0 - timedelta(hours=1), until) == {"A", "B"}
    assert [v for _, v in cache.series["power_kw"]["B"]] == [4.0, 5.0]
    assert "C" not in cache.series["power_kw"]

    write(store, "A", (1, 2.5))  # a corrected value
    assert cache.refresh("power_kw", {"A"}, T0 + timedelta(seconds=30), until) == {"A"}
    assert cache.series["power_kw"]["A"] == [
        (T0 + timedelta(minutes=1), 2.5),
        (T0 + timedelta(minutes=3), 3.0),
    ]
    assert "B" not in cache.series["power_kw"]  # no longer asked for


def test_devices_read_at_the_same_instants_share_one_datetime(engine: Engine) -> None:
    """The store builds a datetime per row; the cache keeps one per instant (a third of its bytes at 5 s)."""
    store = SqlStore(engine)
    cache = WindowCache(store)
    write(store, "A", (0, 1.0), (1, 2.0))
    write(store, "B", (0, 5.0), (1, 6.0))
    write(store, "A", (0, 20.0), quantity="temperature_c")
    until = T0 + timedelta(minutes=2)
    cache.refresh_many({"power_kw": ({"A", "B"}, T0), "temperature_c": ({"A"}, T0)}, until)
    power, temperature = cache.series["power_kw"], cache.series["temperature_c"]
    assert all(a[0] is b[0] for a, b in zip(power["A"], power["B"], strict=True))
    assert temperature["A"][0][0] is power["A"][0][0]
    write(store, "B", (2, 7.0))
    write(store, "A", (2, 3.0))
    cache.refresh("power_kw", {"A", "B"}, T0, T0 + timedelta(minutes=3))
    assert power["A"][-1][0] is power["B"][-1][0] == T0 + timedelta(minutes=2)


def test_a_frame_is_laid_from_the_window_a_rule_needs_and_serves_later_starts(engine: Engine) -> None:
    store = SqlStore(engine)
    cache = WindowCache(store)
    write(store, "A", *[(m, float(m)) for m in range(0, 60, 5)])
    write(store, "B", (50, 1.0))
    cache.refresh("power_kw", {"A", "B"}, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    since = T0 + timedelta(minutes=30)
    frame = cache.frame("power_kw", since)
    a = frame.index["A"]
    assert frame.t[frame.start[a] : frame.end[a]].tolist() == [
        to_us(T0 + timedelta(minutes=m)) for m in range(30, 60, 5)
    ]
    assert cache.frame("power_kw", since + timedelta(minutes=1)) is frame  # a later start: the same frame
    whole = cache.frame("power_kw", T0)  # an earlier start: laid again, from there
    assert whole is not frame
    assert len(whole.t) == 13
    write(store, "A", (60, 60.0))
    cache.refresh("power_kw", {"A", "B"}, T0 - timedelta(hours=1), T0 + timedelta(hours=1, minutes=1))
    assert cache.frame("power_kw", since) is not frame  # new readings: laid again


def test_a_cycle_judges_only_devices_with_new_readings_and_offline_for_all(engine: Engine) -> None:
    store = SqlStore(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
    demand = [d for d in load_rules() if d.key in ("dorm-demand-high", "device-offline")]
    runner = RulesRunner(
        book=demand, store=store, session_factory=factory, lookback=timedelta(minutes=30), interval_s=1
    )
    meter = "MZ-DORM-EM-MAIN"
    write(store, meter, *[(m, 300.0) for m in range(5)])
    first = runner.run_once(T0 + timedelta(minutes=4))
    assert first.raised == [("dorm-demand-high", meter)]
    with factory() as session:
        everyone = [subject for subject, _ in subjects(session).values()]
    offline = next(d for d in demand if d.key == "device-offline")
    offline_watched = len(bind(offline, everyone).subjects)

    second = runner.run_once(T0 + timedelta(minutes=4, seconds=10))
    assert second.evaluated <= offline_watched  # demand: nothing new to judge; offline: judged for everyone
    assert second.raised == []

    write(store, meter, (5, 40.0))
    third = runner.run_once(T0 + timedelta(minutes=5))
    assert third.cleared == [("dorm-demand-high", meter)]

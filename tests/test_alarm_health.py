"""Alarm-system health on SQLite and PostgreSQL: every figure against alarms with known timestamps.

The alarms and shelves are tests/alarm_story.py's week, 2026-W49 (Monday 30 November to Monday 7 December
2026, Asia/Taipei), whose docstring lists them. The expected figures are worked out by hand in the comments
from that table, never by the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cityhall.alarm_health import (
    AlarmHealth,
    AlarmRow,
    HealthLimits,
    HealthPeriod,
    ScopeHealth,
    Verdict,
    assess,
    assess_stored,
    chattering,
    is_fleeting,
    last_full_week,
    read_rows,
    resolve_period,
    week_period,
)
from cityhall.db import Base, make_engine, make_sessionmaker, transaction
from cityhall.energy.periods import TAIPEI
from cityhall.errors import InvalidInputError
from cityhall.models import Severity
from tests.alarm_story import MONDAY, add_week, at, register

WEEK = week_period("2026-W49")
AFTER = datetime(2026, 12, 10, tzinfo=UTC)  # "now": the week is over


@dataclass(frozen=True, slots=True)
class Story:
    """The database and the device ids by code."""

    factory: sessionmaker[Session]
    devices: dict[str, int]


@pytest.fixture
def story(db_url: str) -> Iterator[Story]:
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        devices = register(session)
        add_week(session, devices)
    yield Story(factory, devices)
    engine.dispose()


def _assess(story: Story, *, now: datetime = AFTER, **kw: object) -> AlarmHealth:
    with story.factory() as session:
        return assess_stored(session, period=WEEK, now=now, **kw)  # type: ignore[arg-type]


def _values(scope: ScopeHealth) -> dict[str, float | None]:
    return {f.key: f.value for f in scope.figures}


def test_every_figure_of_the_week(story: Story) -> None:
    health = _assess(story)
    overall = health.scope
    assert health.measured_until == WEEK.until
    assert [s.site for s in health.sites] == ["MZ", "YH"]
    values = _values(overall)
    assert values["alarms_total"] == 42  # MZ 27 + YH 15; the two water leaks were raised before the week
    assert values["alarms_per_day_avg"] == pytest.approx(6.0)  # 42 alarms / 7 days
    assert values["alarms_per_day_max"] == 27  # Wednesday
    assert values["alarms_per_10min_avg"] == pytest.approx(42 / 1008)  # 7 x 144 intervals
    assert values["alarms_per_10min_peak"] == 13  # Wednesday 14:00-14:10
    assert values["flood_time_pct"] == pytest.approx(100 * 2 / 1008)  # two of 1,008 intervals
    assert values["flood_episodes"] == 1
    # co2-high/yh-1 7, temperature-spike/yh-2 4, comms-lost/mz-11 3, then seven pairs with one alarm each
    assert values["top10_share_pct"] == pytest.approx(100 * 21 / 42)
    assert values["chattering_alarms"] == 6  # co2-high's Tuesday burst and comms-lost's three
    assert values["fleeting_alarms"] == 8  # co2-high 3, comms-lost 3, temperature-spike 2
    assert values["stale_alarms"] == 3  # water-leak 72 h, lights 28 h so far, door-open 27 h
    assert values["stale_max_per_day"] == 2  # Tuesday: water-leak until 12:00 and door-open 06:00-09:00
    assert values["shelves"] == 3
    assert values["shelved_h"] == pytest.approx(8 + 6 + 12)

    t = overall.tally
    assert [(d.day, d.alarms) for d in t.per_day] == [
        (date(2026, 11, 30) + timedelta(days=i), n) for i, n in enumerate([2, 4, 27, 4, 4, 1, 0])
    ]
    wednesday = {(i.start.astimezone(TAIPEI).hour, i.start.minute): i.alarms for i in t.per_interval}
    assert (wednesday[(14, 0)], wednesday[(14, 10)], wednesday[(14, 20)]) == (13, 11, 3)
    (flood,) = t.floods
    assert (flood.start, flood.end) == (at(2, 14), at(2, 14, 20))
    assert (flood.intervals, flood.alarms, flood.peak_per_10min) == (2, 24, 13)
    assert [(c.rule_key, c.device_code, c.alarms) for c in flood.top_contributors] == [
        ("comms-lost", "mz-11", 3),
        ("device-offline", "mz-01", 1),  # ties of one: by rule, then device
        ("device-offline", "mz-02", 1),
    ]


def test_bad_actors_chattering_fleeting_stale_and_shelves(story: Story) -> None:
    t = _assess(story).scope.tally
    top = t.bad_actors[:4]
    assert [(b.rank, b.rule_key, b.device_code, b.alarms) for b in top] == [
        (1, "co2-high", "yh-1", 7),
        (2, "temperature-spike", "yh-2", 4),
        (3, "comms-lost", "mz-11", 3),
        (4, "ac-on-after-hours", "yh-5", 1),  # the first of the pairs with one alarm, by rule key
    ]
    assert top[0].share_pct == pytest.approx(100 * 7 / 42)
    assert top[2].cumulative_pct == pytest.approx(100 * 14 / 42)
    assert (top[0].chattering_alarms, top[0].fleeting_alarms) == (3, 3)
    assert (top[1].chattering_alarms, top[1].fleeting_alarms) == (0, 2)
    assert (top[0].site_code, top[0].building_code) == ("YH", "YH-A")
    assert len(t.bad_actors) == 31  # 3 + 10 device-offline + 11 power-dip + 3 breaker-trip + 4 others
    assert t.bad_actors[-1].cumulative_pct == pytest.approx(100.0)

    assert [(c.rule_key, c.alarms, c.chattering_alarms, c.max_in_window) for c in t.chattering] == [
        ("co2-high", 7, 3, 3),  # Thursday's three span 120 s: not within a minute
        ("comms-lost", 3, 3, 3),
    ]
    assert t.chattering[0].first_burst_at == at(1, 10)
    spikes = [f for f in t.fleeting if f.rule_key == "temperature-spike"]
    assert [(f.raised_at, f.active_s) for f in spikes] == [(at(4, 8), 45.0), (at(4, 11), 30.0)]

    assert [(s.rule_key, s.device_code, s.active_h) for s in t.stale] == [
        ("water-leak", "yh-3", 72.0),  # Saturday 12:00 to Tuesday 12:00
        ("lights-on-after-hours", "yh-4", 28.0),  # Saturday 20:00 to the end of the week, still active
        ("door-open", "yh-6", 27.0),
    ]
    assert [d.alarms for d in t.stale_per_day] == [1, 2, 0, 0, 0, 0, 1]

    shelves = {(s.rule_key, s.device_code): s for s in t.shelves}
    assert set(shelves) == {("co2-high", "yh-1"), ("temperature-spike", "yh-2"), ("device-offline", "mz-01")}
    spike = shelves[("temperature-spike", "yh-2")]
    assert (spike.hours_in_period, spike.hours_total, spike.ended_early) == (6.0, 6.0, True)
    offline = shelves[("device-offline", "mz-01")]
    assert (offline.hours_in_period, offline.hours_total, offline.ended_early) == (12.0, 24.0, False)


def test_priority_distribution_against_the_recommended_shares(story: Story) -> None:
    shares = {p.severity: p for p in _assess(story).scope.tally.priorities}
    # low: comms-lost 3, power-dip 11, co2-high 7, temperature-spike 4, lights 1, ac-on 1 = 27
    # medium: device-offline 10, door-open 1 = 11; high: breaker-trip 3; critical: fire-panel 1
    assert {s: p.alarms for s, p in shares.items()} == {
        Severity.LOW: 27,
        Severity.MEDIUM: 11,
        Severity.HIGH: 3,
        Severity.CRITICAL: 1,
    }
    assert shares[Severity.LOW].share_pct == pytest.approx(100 * 27 / 42)
    assert shares[Severity.LOW].recommended_pct == 80.0
    assert shares[Severity.LOW].difference_pct == pytest.approx(100 * 27 / 42 - 80)
    assert shares[Severity.MEDIUM].recommended_pct == 15.0
    assert shares[Severity.HIGH].share_pct == pytest.approx(100 * 3 / 42)
    assert shares[Severity.HIGH].recommended_pct == 5.0


def test_verdicts_name_their_benchmark(story: Story) -> None:
    overall = _assess(story).scope
    verdicts = {f.key: f.verdict for f in overall.figures}
    assert verdicts["alarms_per_day_avg"] is Verdict.ACCEPTABLE  # 6 <= 150
    assert verdicts["alarms_per_10min_avg"] is Verdict.ACCEPTABLE  # 0.04 <= 1
    assert verdicts["alarms_per_10min_peak"] is Verdict.MISSES  # 13 > 10
    assert verdicts["flood_time_pct"] is Verdict.MEETS  # 0.2 % < 1 %
    assert verdicts["top10_share_pct"] is Verdict.MISSES  # 50 % > 5 %
    assert verdicts["chattering_alarms"] is Verdict.MISSES
    assert verdicts["fleeting_alarms"] is Verdict.MISSES
    assert verdicts["stale_max_per_day"] is Verdict.MEETS  # 2 < 5
    assert verdicts["alarms_total"] is None
    peak = overall.figure("alarms_per_10min_peak")
    assert peak.unit == "alarms/10 min"
    assert peak.benchmark is not None
    assert "ISA-18.2" in peak.benchmark.source
    assert "EEMUA 191" in overall.figure("alarms_per_10min_avg").benchmark.source  # type: ignore[union-attr]


def test_each_site_on_its_own(story: Story) -> None:
    health = _assess(story)
    yh, mz = health.sites[1], health.sites[0]
    assert (_values(yh)["alarms_total"], _values(mz)["alarms_total"]) == (15, 27)
    assert _values(yh)["alarms_per_10min_peak"] == 4  # Tuesday 10:00-10:10: co2-high four times
    assert (_values(yh)["flood_episodes"], _values(mz)["flood_episodes"]) == (0, 1)
    assert _values(yh)["top10_share_pct"] == pytest.approx(100.0)  # six pairs in all
    assert (_values(yh)["stale_alarms"], _values(mz)["stale_alarms"]) == (3, 0)
    assert (_values(yh)["shelved_h"], _values(mz)["shelved_h"]) == (14.0, 12.0)
    assert (_values(yh)["fleeting_alarms"], _values(mz)["fleeting_alarms"]) == (5, 3)
    assert [d.alarms for d in yh.tally.per_day] == [2, 4, 0, 4, 4, 1, 0]
    assert yh.site_name == "YH civic center"

    only = _assess(story, site="MZ")
    assert only.sites == ()
    assert only.scope.site == "MZ"
    assert _values(only.scope) == _values(mz)
    with pytest.raises(InvalidInputError) as err:
        _assess(story, site="XX")
    assert err.value.loc == ("query", "site")
    assert err.value.message == "no site 'XX' (sites: MZ, YH)"


def test_a_week_under_way_is_measured_to_now(story: Story) -> None:
    now = at(2, 14, 15)  # Wednesday 14:15, in the middle of the flood
    health = _assess(story, now=now)
    assert health.measured_until == now
    values = _values(health.scope)
    # Monday 2, Tuesday 4, Wednesday: device-offline 10, comms-lost 3, power-dip 14:10:00-14:14:30 (10)
    assert values["alarms_total"] == 29
    assert health.scope.tally.days == pytest.approx(2 + 14.25 / 24)
    assert values["alarms_per_day_avg"] == pytest.approx(29 / (2 + 14.25 / 24))
    assert values["alarms_per_10min_avg"] == pytest.approx(29 / 373.5)  # 62 h 15 min = 373.5 intervals
    assert health.scope.tally.intervals == 374  # the one under way counts as an interval
    assert values["flood_time_pct"] == pytest.approx(100 * 1 / 374)  # 14:10-14:15 has 10: not yet a flood
    assert values["shelved_h"] == pytest.approx(8 + 12)  # Friday's shelf is still to come
    assert values["stale_alarms"] == 2  # the lights were not on yet


def test_the_loader_reads_the_right_rows(story: Story) -> None:
    with story.factory() as session:
        alarms, shelves = read_rows(session, since=WEEK.since, until=WEEK.until)
        yh_alarms, yh_shelves = read_rows(session, since=WEEK.since, until=WEEK.until, site="YH")
    # 42 raised in the week, and the water leak raised before it and active into it; not the November one
    assert len(alarms) == 43
    assert len({a.id for a in alarms}) == 43
    assert {a.rule_key for a in alarms if a.raised_at < WEEK.since} == {"water-leak"}
    assert len(shelves) == 3
    assert len(yh_alarms) == 16
    assert {s.device_code for s in yh_shelves} == {"yh-1", "yh-2"}
    assert all(a.raised_at.tzinfo is not None for a in alarms)


def test_an_empty_week_gives_no_rates_but_zero_counts(story: Story) -> None:
    with story.factory() as session:
        health = assess_stored(session, period=week_period("2026-W40"), now=AFTER)
    values = _values(health.scope)
    assert values["alarms_total"] == 0
    assert values["alarms_per_day_avg"] == 0.0
    assert values["top10_share_pct"] is None  # a share of nothing
    assert all(p.share_pct is None for p in health.scope.tally.priorities)
    future = assess([], [], period=week_period("2027-W10"), now=AFTER, sites={})
    assert _values(future.scope)["alarms_per_day_avg"] is None  # nothing measured yet
    assert _values(future.scope)["alarms_per_10min_peak"] is None


# --- the definitions' edges, on rows alone ---


def _row(
    n: int, raised: datetime, cleared: datetime | None = None, acked: datetime | None = None
) -> AlarmRow:
    return AlarmRow(n, "r", "R", 1, "d", "B", "S", Severity.LOW, raised, cleared, acked)


@pytest.mark.parametrize(
    ("seconds", "window_s", "members"),
    [
        ((0, 30, 60), 60, 3),  # first to last exactly a minute: chattering
        ((0, 30, 61), 60, 0),
        ((0, 10, 20, 30, 200), 60, 4),  # a burst of four
        ((0, 20, 50), 30, 0),  # a configured 30 s window
        ((0, 90, 120), 120, 3),  # a configured 2 min window
        ((0, 10), 60, 0),  # two are not enough
    ],
)
def test_chattering_window(seconds: tuple[int, ...], window_s: int, members: int) -> None:
    rows = [_row(i, at(0, 9, 0, s)) for i, s in enumerate(seconds)]
    found = chattering(rows, count=3, window=timedelta(seconds=window_s))
    assert sum(c.chattering_alarms for c in found) == members


def test_the_chatter_window_is_a_setting(story: Story) -> None:
    wide = _assess(story, limits=HealthLimits(chatter_window=timedelta(minutes=2)))
    assert _values(wide.scope)["chattering_alarms"] == 9  # Thursday's co2-high three join in
    narrow = _assess(story, limits=HealthLimits(chatter_window=timedelta(seconds=30)))
    assert _values(narrow.scope)["chattering_alarms"] == 0


def test_fleeting_needs_a_quick_clear_without_anyone_acting() -> None:
    minute = timedelta(seconds=60)
    t0 = at(0, 9)
    assert is_fleeting(_row(1, t0, t0 + timedelta(seconds=59)), under=minute)
    assert not is_fleeting(_row(1, t0, t0 + minute), under=minute)
    assert not is_fleeting(_row(1, t0, None), under=minute)
    acted = _row(1, t0, t0 + timedelta(seconds=30), t0 + timedelta(seconds=10))
    assert not is_fleeting(acted, under=minute)
    late = _row(1, t0, t0 + timedelta(seconds=30), t0 + timedelta(seconds=40))
    assert is_fleeting(late, under=minute)


# --- periods ---


def test_weeks_are_iso_weeks_in_taipei() -> None:
    assert (WEEK.since, WEEK.until, WEEK.week) == (MONDAY, MONDAY + timedelta(days=7), "2026-W49")
    assert week_period("2026-w53").since == datetime(2026, 12, 28, tzinfo=TAIPEI)
    # Sunday 23:30 in Taipei is still W49, though it is Sunday 15:30 UTC
    assert last_full_week(datetime(2026, 12, 13, 15, 30, tzinfo=UTC)).week == "2026-W49"
    assert last_full_week(datetime(2026, 12, 13, 16, 30, tzinfo=UTC)).week == "2026-W50"
    assert last_full_week(datetime(2027, 1, 6, tzinfo=UTC)).week == "2026-W53"


@pytest.mark.parametrize(
    ("args", "field", "code"),
    [
        ({"week": "2026-49"}, "week", "invalid_week"),
        ({"week": "2025-W53"}, "week", "invalid_week"),  # 2025 has 52 ISO weeks
        ({"week": "0001-W01"}, "week", "invalid_week"),
        ({"week": "9999-W52"}, "week", "invalid_week"),
        ({"week": "2026-W49", "since": MONDAY}, "week", "week_or_range"),
        ({"until": MONDAY}, "since", "since_required"),
        ({"since": datetime(1, 1, 1, tzinfo=UTC)}, "since", "out_of_range"),
        ({"since": datetime(1, 1, 1, 0, 0, tzinfo=TAIPEI)}, "since", "out_of_range"),
        ({"since": MONDAY, "until": datetime(9999, 12, 31, 23, 59, tzinfo=UTC)}, "until", "out_of_range"),
        ({"since": datetime(2026, 11, 30)}, "since", "naive_datetime"),  # noqa: DTZ001
        ({"since": MONDAY, "until": MONDAY}, "until", "empty_period"),
        ({"since": MONDAY, "until": MONDAY + timedelta(days=367)}, "until", "period_too_long"),
    ],
)
def test_bad_periods_name_the_field(args: dict[str, object], field: str, code: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        resolve_period(now=AFTER, **args)  # type: ignore[arg-type]
    assert (err.value.loc, err.value.code) == (("query", field), code)


def test_periods_by_range_and_by_default() -> None:
    period = resolve_period(now=AFTER, since=datetime(2026, 12, 1, 2, tzinfo=UTC))
    assert period == HealthPeriod(datetime(2026, 12, 1, 10, tzinfo=TAIPEI), AFTER.astimezone(TAIPEI))
    assert period.since.utcoffset() == timedelta(hours=8)
    assert resolve_period(now=AFTER).week == "2026-W49"

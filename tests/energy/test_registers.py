"""Register arithmetic on hand-made readings: spikes, resets, rollovers, replacements and gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cityhall.energy.registers import RegisterEventKind, increments

T0 = datetime(2026, 7, 13, tzinfo=UTC)


def _points(*values: float) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(minutes=15 * i), v) for i, v in enumerate(values)]


def test_a_steady_register_counts_its_differences() -> None:
    steps, events = increments("M", _points(100.0, 101.0, 103.0, 103.0, 106.0))
    assert [amount for _, amount in steps] == [1.0, 2.0, 0.0, 3.0]
    assert steps[0][0] == T0 + timedelta(minutes=15)  # an interval belongs to the reading that ends it
    assert events == []


def test_an_upward_spike_is_dropped_and_its_interval_counted_once() -> None:
    steps, events = increments("M", _points(100.0, 101.0, 2600.0, 103.0, 104.0))
    assert sum(amount for _, amount in steps) == 4.0
    assert [(e.kind, e.after) for e in events] == [(RegisterEventKind.SPIKE, 2600.0)]


def test_a_downward_spike_is_dropped() -> None:
    steps, events = increments("M", _points(100.0, 101.0, 3.0, 103.0, 104.0))
    assert sum(amount for _, amount in steps) == 4.0
    assert [e.kind for e in events] == [RegisterEventKind.SPIKE]


def test_a_reset_counts_what_the_new_register_shows() -> None:
    steps, events = increments("M", _points(5000.0, 5002.0, 5004.0, 1.5, 3.5))
    assert [amount for _, amount in steps] == [2.0, 2.0, 1.5, 2.0]
    assert [(e.kind, e.counted) for e in events] == [(RegisterEventKind.RESET, 1.5)]


def test_a_replacement_with_an_unknown_start_counts_nothing_for_its_interval() -> None:
    steps, events = increments("M", _points(5000.0, 5002.0, 5004.0, 800.0, 802.0))
    assert [amount for _, amount in steps] == [2.0, 2.0, 0.0, 2.0]
    assert [e.kind for e in events] == [RegisterEventKind.UNEXPLAINED_DROP]


def test_a_gap_is_counted_when_the_meter_returns() -> None:
    points = [(T0, 10.0), (T0 + timedelta(hours=1), 12.0), (T0 + timedelta(hours=9), 30.0)]
    steps, _ = increments("M", points)
    assert steps == [(T0 + timedelta(hours=1), 2.0), (T0 + timedelta(hours=9), 18.0)]


def test_consumption_is_never_negative() -> None:
    values = (10.0, 9.0, 12.0, 0.5, 0.4, 2.0, 1e6, 3.0, 2.9, 4.0)
    steps, _ = increments("M", _points(*values))
    assert steps
    assert min(amount for _, amount in steps) >= 0.0


def test_fewer_than_two_readings_give_nothing() -> None:
    assert increments("M", _points(5.0)) == ([], [])

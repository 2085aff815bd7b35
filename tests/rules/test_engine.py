"""The threshold rule as a pure function of a window of readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cityhall.models import Severity
from rules.engine import Finding, Status, ThresholdRule, evaluate

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
RULE = ThresholdRule("demand", "Demand high", "power_kw", Severity.HIGH, for_s=30, above=150)


def window(*values: float, step_s: int = 10) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(seconds=i * step_s), v) for i, v in enumerate(values)]


def test_empty_window_says_nothing() -> None:
    assert evaluate(RULE, []) is None


def test_breach_held_long_enough() -> None:
    finding = evaluate(RULE, window(40, 160, 180, 170, 200))
    assert finding == Finding(Status.BREACH, T0 + timedelta(seconds=10), 200, T0 + timedelta(seconds=40))


def test_breach_not_yet_long_enough_is_pending() -> None:
    finding = evaluate(RULE, window(40, 40, 160, 180, 170))
    assert finding is not None
    assert finding.status is Status.PENDING
    assert finding.since == T0 + timedelta(seconds=20)


def test_interrupted_breach_restarts_the_clock() -> None:
    finding = evaluate(RULE, window(160, 170, 100, 160, 170))
    assert finding is not None
    assert finding.status is Status.PENDING


def test_value_equal_to_limit_is_not_a_breach() -> None:
    finding = evaluate(RULE, window(150, 150, 150, 150, 150))
    assert finding is not None
    assert finding.status is Status.NORMAL


def test_normal_reports_since_when() -> None:
    finding = evaluate(RULE, window(200, 200, 200, 50, 60))
    assert finding == Finding(Status.NORMAL, T0 + timedelta(seconds=30), 60, T0 + timedelta(seconds=40))


def test_below_rule_reports_lowest_value() -> None:
    rule = ThresholdRule("cold", "Too cold", "temperature_c", Severity.LOW, for_s=20, below=18)
    finding = evaluate(rule, window(20, 17, 16.5, 17.2))
    assert finding is not None
    assert (finding.status, finding.value) == (Status.BREACH, 16.5)
    assert "below the limit of 18 degC" in rule.describe(finding.value, finding.since)

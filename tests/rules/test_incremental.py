"""The live evaluator's windows kept reading by reading (rules.incremental) give exactly the findings of the
kind's `judge` on the same window, after every reading of random streams: irregular gaps (some longer than
a rate rule's `max_gap_s` or than the whole window), late and duplicate readings, runs that outlive the
window, random limits, durations and hysteresis."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from cityhall.models import Severity
from rules.config import parse_rules
from rules.engine import Subject, ThresholdRule
from rules.evaluation import Watch
from rules.kinds import RateOfChangeRule
from rules.live import _Track

START = datetime(2026, 10, 6, 16, 0, tzinfo=UTC)
DEFINITION = parse_rules(
    {
        "rules": [
            {
                "key": "demand",
                "name": "Demand high",
                "kind": "threshold",
                "quantity": "power_kw",
                "above": 60,
                "for_seconds": 0,
                "severity": "low",
                "targets": {"device_kinds": ["electricity_meter"]},
            }
        ]
    }
)[0]  # the watch's key and name; each test judges with a random rule of its own
METER = Subject("M1", "electricity_meter", "B", "S", "office", "whole building", ("power_kw",))


def _rule(rng: random.Random) -> ThresholdRule | RateOfChangeRule:
    for_s = rng.choice([0.0, 30.0, 300.0, 1800.0])
    clear_for_s = rng.choice([0.0, 60.0, 900.0])
    if rng.random() < 0.5:
        above = rng.choice([None, 60.0])
        below = rng.choice([None, 20.0]) if above is not None else 20.0
        return ThresholdRule(
            "r", "r", "power_kw", Severity.LOW, for_s, above=above, below=below,
            clear_for_s=clear_for_s,
            clear_below=rng.choice([None, 55.0]) if above is not None else None,
            clear_above=rng.choice([None, 25.0]) if below is not None else None,
        )  # fmt: skip
    return RateOfChangeRule(
        "r", "r", Severity.LOW, "power_kw", for_s=for_s, clear_for_s=clear_for_s,
        max_rise=rng.choice([None, 10.0]), max_fall=rng.choice([None, 5.0]) or 5.0,
        max_gap_s=rng.choice([60.0, 600.0, 3600.0]),
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_kept_findings_match_judge_on_the_window(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    rule = _rule(rng)
    watch = Watch(DEFINITION, rule, (METER,), {"M1": "power_kw"}, {"M1": ()})
    track = _Track(watch, METER, timedelta(seconds=rng.choice([600, 3600, 3 * 3600])))
    assert track.held is not None
    ts, level = START, 40.0
    seen: list[datetime] = []
    for _ in range(600):
        ts += timedelta(seconds=rng.choice([1, 5, 5, 5, 30, 120]) * rng.uniform(0.5, 1.5))
        if rng.random() < 0.01:
            ts += timedelta(hours=rng.uniform(0.5, 4))  # a silence, longer than some windows
        if rng.random() < 0.05:
            level = rng.choice([0.0, 10.0, 22.0, 40.0, 57.0, 58.0, 70.0, 90.0])
        value = level + rng.choice([0.0, rng.uniform(-2, 2)])
        at = ts
        if seen and rng.random() < 0.05:  # late, or delivered again
            at = rng.choice(seen[-20:]) if rng.random() < 0.5 else ts - timedelta(seconds=rng.uniform(1, 600))
        seen.append(at)
        track.add(at, value)
        assert track.finding(ts) == rule.judge(tuple(track.window), now=ts)

"""The false-alarm baseline: the shipped rules over the simulated quiet week.

One week of history (not the bench's three) is enough for every baseline hour to have comparable readings,
so the baseline rule is judged too. Nothing here waits on the wall clock: the week is simulated into memory
and replayed on a simulated clock, so a loaded machine makes the test slower, never wrong.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from bench.detection import Score, score, simulate, subjects_for
from rules.backtest import Replay
from rules.config import load_rules

pytestmark = pytest.mark.slow  # about half a minute; the rest of tests/rules runs in seconds


def test_quiet_week_raises_nothing() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        the_plan, store, truth = simulate("quiet-week", Path(tmp), timedelta(weeks=1))
    # The clock in UTC, as the stored readings are: comparing instants of two zones costs a utcoffset() call
    # per comparison, and the replay bisects every window at every step.
    replay = Replay(
        load_rules(),
        subjects_for(the_plan),
        store,
        start=the_plan.start.astimezone(UTC),
        end=the_plan.end.astimezone(UTC),
    )
    # batch: each rule judged over its devices at once, as the cycle runner does; the kinds that have no
    # batch form (baseline among them) are judged by their own `judge`. tests/rules/test_batch.py holds both
    # paths to the same findings.
    result = Score()
    score("quiet-week", replay.run(timedelta(minutes=15), batch=True), truth, result)
    assert result.quiet_false_alarms == 0, result.false_examples
    assert result.true_alarms == 0

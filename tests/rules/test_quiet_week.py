"""The false-alarm baseline: the shipped rules over the simulated quiet week.

One week of history (not the bench's three) keeps this under half a minute; it is enough for every
baseline hour to have comparable readings, so the baseline rule is judged too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.detection import run
from rules.config import load_rules

pytestmark = pytest.mark.slow  # about 3 minutes: see the report; the rest of tests/rules runs in seconds


def test_quiet_week_raises_nothing() -> None:
    result = run(
        load_rules(), step=timedelta(minutes=15), scenarios=["quiet-week"], history=timedelta(weeks=1)
    )
    assert result.quiet_false_alarms == 0, result.false_examples
    assert result.true_alarms == 0

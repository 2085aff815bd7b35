"""Waiting in tests: for a condition or an event, never for a stretch of wall-clock time.

A test that needs something to have happened (a row stored, a message delivered, an alarm raised) waits
until it has. The one deadline left is PATIENCE_S, a hang guard: far beyond what any slowness needs (a shared
2-core CI machine at load average 10-12 ran the suite about three times slower than a quiet one, and a single
wait there is seconds, not minutes), so a test that reaches it has found a thing that is not going to happen,
and the failure names it. A test must not assert that something happened within N seconds: that measures
speed, which belongs in bench/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Below pytest-timeout's per-test limit (pyproject.toml), so a missing event fails here, naming what it was.
PATIENCE_S = 300.0


def wait_for(probe: Callable[[], T | None], *, what: str, interval: float = 0.1) -> T:
    """Poll until probe() returns something truthy and return it; fail naming what never happened."""
    deadline = time.monotonic() + PATIENCE_S
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {PATIENCE_S:g} s (last: {last!r})")
        time.sleep(interval)

"""ISO 8601 durations as xAPI 1.0.3 sends them in `result.duration` (e.g. `PT1H30M`, `PT45M12.5S`, `P1DT2H`).

Years and months are refused: their length depends on the calendar, and no learning session lasts one.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)
_SECONDS = (None, None, 7 * 86400, 86400, 3600, 60, 1)  # per unit; None: calendar units


class DurationError(ValueError):
    """The text is not an ISO 8601 duration we can turn into seconds."""


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration into a timedelta; raise DurationError on anything else."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise DurationError(f"{text!r} is not an ISO 8601 duration such as PT1H30M")
    total = Decimal(0)
    for value, seconds in zip(match.groups(), _SECONDS, strict=True):
        if value is None:
            continue
        if seconds is None:
            raise DurationError(f"{text!r} uses years or months; give days, hours, minutes or seconds")
        total += Decimal(value.replace(",", ".")) * seconds
    return timedelta(seconds=float(total))


def format_hours(duration_s: int) -> str:
    """Seconds as hours for people, one decimal: 5400 -> '1.5'."""
    return f"{duration_s / 3600:.1f}"

"""ISO 8601 durations as xAPI results carry them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cityhall.training.durations import DurationError, format_hours, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H30M", 5400),
        ("PT45M12.5S", 2712.5),
        ("PT0.5H", 1800),
        ("PT2H", 7200),
        ("P1DT2H", 93600),
        ("P1W", 604800),
        ("PT90S", 90),
        ("PT1,5H", 5400),
        (" PT10M ", 600),
    ],
)
def test_durations_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "PT1H30", "PTH", "P1H", "PT-1H", "hello", "PT1.H"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(DurationError, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P1Y", "P2M", "P1Y2M3DT4H"])
def test_calendar_units_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(DurationError, match="years or months"):
        parse_duration(text)


def test_hours_for_people_have_one_decimal() -> None:
    assert format_hours(5400) == "1.5"
    assert format_hours(0) == "0.0"

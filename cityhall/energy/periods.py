"""Calendar periods in Asia/Taipei: reports are by the local day, ISO week, month and year."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")


class Period(StrEnum):
    """A reporting period; each starts at local midnight (weeks on Monday, as ISO 8601)."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def period_start(ts: datetime, period: Period) -> datetime:
    """The start, in Asia/Taipei, of the period that holds `ts` (timezone-aware)."""
    if ts.tzinfo is None:
        raise ValueError("period_start needs a timezone-aware datetime")
    local = ts.astimezone(TAIPEI)
    if period is Period.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_period(start: datetime, period: Period) -> datetime:
    """The start of the period after the one starting at `start`."""
    local = start.astimezone(TAIPEI)
    if period is Period.HOUR:
        return local + timedelta(hours=1)
    if period is Period.DAY:
        return local + timedelta(days=1)
    if period is Period.WEEK:
        return local + timedelta(days=7)
    if period is Period.MONTH:
        return local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1)
    return local.replace(year=local.year + 1)


def periods(since: datetime, until: datetime, period: Period) -> list[datetime]:
    """Starts of the periods that overlap [since, until), in order."""
    out = []
    start = period_start(since, period)
    while start < until:
        out.append(start)
        start = next_period(start, period)
    return out


def regroup(series: dict[datetime, float], period: Period) -> dict[datetime, float]:
    """Sum a bucketed series (bucket start -> amount) into periods (local period start -> amount)."""
    out: dict[datetime, float] = {}
    for ts, amount in series.items():
        key = period_start(ts, period)
        out[key] = out.get(key, 0.0) + amount
    return dict(sorted(out.items()))

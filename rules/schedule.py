"""Named schedules shared by rules: when a building is in use, in Asia/Taipei time, with Taiwan's holidays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

TAIPEI = ZoneInfo("Asia/Taipei")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=32)
def _taiwan_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("TW", years=year)


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Taiwan public holiday (the `holidays` library's TW calendar).

    The same calendar as the simulators' occupancy profiles; kept here so rules import no simulator code.
    """
    return day.weekday() < 5 and day not in _taiwan_holidays(day.year)


class DayType(StrEnum):
    """Which days a schedule period applies to."""

    ALL = "all"
    WORKING = "working"  # Monday to Friday, not a Taiwan public holiday
    NON_WORKING = "non_working"  # weekends and Taiwan public holidays
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    def includes(self, day: date) -> bool:
        """True when `day` (a local date) is of this type."""
        if self is DayType.ALL:
            return True
        if self is DayType.WORKING:
            return is_working_day(day)
        if self is DayType.NON_WORKING:
            return not is_working_day(day)
        return _WEEKDAYS[day.weekday()] == self.value


@dataclass(frozen=True, slots=True)
class Period:
    """On `days`, from `start` to `end` local time; `end` of 00:00 means midnight at the end of the day."""

    days: DayType
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        """True when a local time falls in this period (start inclusive, end exclusive)."""
        if not self.days.includes(local.date()):
            return False
        clock = local.time()
        end_of_day = self.end == time(0)
        return self.start <= clock and (end_of_day or clock < self.end)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A named set of periods in one time zone (Asia/Taipei unless stated)."""

    name: str
    periods: tuple[Period, ...]
    zone: ZoneInfo = TAIPEI

    def __hash__(self) -> int:
        """By name: the dataclass's own hash of every period costs more than the cached answer it finds."""
        return hash(self.name)

    def contains(self, ts: datetime) -> bool:
        """True when an aware instant falls in any period of the schedule."""
        return _contains(self, ts)


@lru_cache(maxsize=1 << 18)
def _contains(schedule: Schedule, ts: datetime) -> bool:
    """Cached: rules ask about the same reading times every cycle."""
    local = ts.astimezone(schedule.zone)
    return any(p.contains(local) for p in schedule.periods)

"""How busy a building is at a given moment, in Asia/Taipei time, with Taiwan's public holidays."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from cityhall.models import BuildingUse

TAIPEI = ZoneInfo("Asia/Taipei")
# A space is in use, and its air-conditioning runs when the weather asks for it, from this occupancy share.
IN_USE_SHARE = 0.2


@lru_cache(maxsize=16)
def _taiwan_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("TW", years=year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Taiwan public holiday (the `holidays` library's TW calendar)."""
    return day.weekday() < 5 and day not in _taiwan_holidays(day.year)


def _hour(local: datetime) -> float:
    return local.hour + local.minute / 60 + local.second / 3600


def occupancy(use: BuildingUse, ts: datetime) -> float:
    """Share of the building in use (0..1): offices by working hours with a lunch dip; dorms at night."""
    local = ts.astimezone(TAIPEI)
    hour = _hour(local)
    if use is BuildingUse.DORMITORY:
        if 18 <= hour < 23.5:
            return 0.9
        if hour >= 23.5 or hour < 6.5:
            return 0.6  # asleep: lights off, some air-conditioning
        if 6.5 <= hour < 8.5:
            return 0.7
        # Residents are at work on working days; the rooms stand empty with the air-conditioning off.
        return 0.15 if is_working_day(local.date()) else 0.6
    if not is_working_day(local.date()):
        return 0.03
    if 8 <= hour < 12 or 13.5 <= hour < 17.5:
        return 1.0
    if 12 <= hour < 13.5:
        return 0.55  # lunch: lights dimmed, staff away from desks
    if 7 <= hour < 8 or 17.5 <= hour < 19:
        return 0.3
    return 0.02


def water_use(use: BuildingUse, ts: datetime) -> float:
    """Share of peak water draw (0..1); exactly 0 when nobody draws water, so a leak shows as night flow."""
    local = ts.astimezone(TAIPEI)
    hour = _hour(local)
    if use is BuildingUse.DORMITORY:
        if 1 <= hour < 5:
            return 0.0
        if 6 <= hour < 8.5 or 19 <= hour < 23:
            return 1.0  # showers and laundry
        if 8.5 <= hour < 19:
            return 0.15 if is_working_day(local.date()) else 0.5
        return 0.3
    share = occupancy(use, ts)
    return share if share >= IN_USE_SHARE else 0.0

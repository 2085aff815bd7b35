"""Pure booking rules: opening hours, Taiwan holidays, quota periods and fees, in Asia/Taipei time.

Every refusal is an InvalidInputError whose `loc` names the request field to fix.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from cityhall.errors import InvalidInputError
from cityhall.models.venues import QuotaPeriod

TAIPEI = ZoneInfo("Asia/Taipei")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STARTS = ("body", "starts_at")
ENDS = ("body", "ends_at")


@cache
def _taiwan_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("TW", years=year)


def holiday_name(day: date) -> str | None:
    """The Taiwan public holiday on `day` (observed days included), or None."""
    name = _taiwan_holidays(day.year).get(day)
    return str(name) if name is not None else None


def parse_hhmm(text: str, *, loc: tuple[str | int, ...] = ("body", "opening_hours")) -> time:
    """A wall-clock time from "HH:MM"; "24:00" is not accepted (close at 23:59 instead)."""
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError) as err:
        raise InvalidInputError("invalid_time", f"{text!r} is not a time like 08:30", loc=loc) from err


def validate_opening_hours(hours: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]] | None:
    """Check a weekday -> [opens, closes] mapping (opens before closes) and return it normalised."""
    if hours is None:
        return None
    out: dict[str, list[str]] = {}
    for day, window in hours.items():
        loc: tuple[str | int, ...] = ("body", "opening_hours", day)
        if day not in WEEKDAYS:
            raise InvalidInputError(
                "invalid_weekday", f"{day!r} is not one of {', '.join(WEEKDAYS)}", loc=loc
            )
        if len(window) != 2:
            raise InvalidInputError(
                "invalid_window", "give [opens, closes], e.g. ['08:00', '22:00']", loc=loc
            )
        opens, closes = parse_hhmm(window[0], loc=loc), parse_hhmm(window[1], loc=loc)
        if closes <= opens:
            raise InvalidInputError("invalid_window", f"{day}: closing time must be after opening", loc=loc)
        out[day] = [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
    return out


def opening_window(hours: Mapping[str, Sequence[str]] | None, day: date) -> tuple[datetime, datetime] | None:
    """The day's opening window as aware Taipei datetimes; None when closed that weekday.

    With no opening hours at all (always open) the window is the whole day.
    """
    if hours is None:
        start = datetime.combine(day, time(0), TAIPEI)
        return start, start + timedelta(days=1)
    window = hours.get(WEEKDAYS[day.weekday()])
    if not window:
        return None
    return (
        datetime.combine(day, parse_hhmm(window[0]), TAIPEI),
        datetime.combine(day, parse_hhmm(window[1]), TAIPEI),
    )


def check_opening_hours(
    hours: Mapping[str, Sequence[str]] | None, starts_at: datetime, ends_at: datetime
) -> None:
    """Refuse a booking outside the resource's opening hours (it must fit one day's window)."""
    if hours is None:
        return
    local_start = starts_at.astimezone(TAIPEI)
    window = opening_window(hours, local_start.date())
    if window is None:
        raise InvalidInputError(
            "closed_day", f"closed on {local_start:%A} ({local_start:%Y-%m-%d})", loc=STARTS
        )
    opens, closes = window
    if starts_at < opens:
        raise InvalidInputError(
            "outside_opening_hours", f"opens at {opens:%H:%M} on {local_start:%Y-%m-%d}", loc=STARTS
        )
    if ends_at > closes:
        raise InvalidInputError(
            "outside_opening_hours", f"closes at {closes:%H:%M} on {local_start:%Y-%m-%d}", loc=ENDS
        )


def check_holidays(starts_at: datetime, ends_at: datetime) -> None:
    """Refuse a booking touching a Taiwan public holiday (for resources closed on holidays)."""
    day = starts_at.astimezone(TAIPEI).date()
    last = (ends_at - timedelta(microseconds=1)).astimezone(TAIPEI).date()
    while day <= last:
        name = holiday_name(day)
        if name is not None:
            raise InvalidInputError("closed_holiday", f"closed on {day} ({name})", loc=STARTS)
        day += timedelta(days=1)


def check_times(
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime,
    min_notice_minutes: int = 0,
    max_duration_minutes: int | None = None,
) -> None:
    """Refuse naive, reversed, past, too-short-notice or too-long bookings."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInputError("naive_datetime", "give times with an offset, e.g. +08:00", loc=STARTS)
    if ends_at <= starts_at:
        raise InvalidInputError("ends_before_start", "the booking must end after it starts", loc=ENDS)
    if starts_at < now:
        raise InvalidInputError("in_past", "the booking starts in the past", loc=STARTS)
    if starts_at < now + timedelta(minutes=min_notice_minutes):
        raise InvalidInputError(
            "short_notice", f"book at least {min_notice_minutes} minutes ahead", loc=STARTS
        )
    if max_duration_minutes is not None and ends_at - starts_at > timedelta(minutes=max_duration_minutes):
        raise InvalidInputError(
            "too_long", f"a booking lasts at most {max_duration_minutes} minutes", loc=ENDS
        )


def check_capacity(attendees: int, capacity_people: int) -> None:
    """Refuse more attendees than the resource holds."""
    if attendees > capacity_people:
        raise InvalidInputError(
            "over_capacity",
            f"{attendees} attendees, but the room holds {capacity_people}",
            loc=("body", "attendees"),
        )


def period_bounds(period: QuotaPeriod, at: datetime) -> tuple[datetime, datetime]:
    """The Taipei calendar day/week (Mon-Sun)/month/year containing `at`, as UTC [start, end)."""
    day = at.astimezone(TAIPEI).date()
    match period:
        case QuotaPeriod.DAY:
            first, after = day, day + timedelta(days=1)
        case QuotaPeriod.WEEK:
            first = day - timedelta(days=day.weekday())
            after = first + timedelta(days=7)
        case QuotaPeriod.MONTH:
            first = day.replace(day=1)
            after = (first + timedelta(days=32)).replace(day=1)
        case QuotaPeriod.YEAR:
            first, after = day.replace(month=1, day=1), day.replace(year=day.year + 1, month=1, day=1)
    return (
        datetime.combine(first, time(0), TAIPEI).astimezone(UTC),
        datetime.combine(after, time(0), TAIPEI).astimezone(UTC),
    )


def hours_between(starts_at: datetime, ends_at: datetime) -> float:
    """The length of a booking in hours."""
    return (ends_at - starts_at).total_seconds() / 3600


def booking_fee(fee_per_hour_twd: int, starts_at: datetime, ends_at: datetime) -> int:
    """The fee in NT$, charged per started half hour."""
    half_hours = math.ceil((ends_at - starts_at).total_seconds() / 1800)
    return math.ceil(fee_per_hour_twd * half_hours / 2)


def new_secret_key() -> tuple[str, str]:
    """A fresh URL-safe key and its SHA-256 (the only part stored)."""
    key = secrets.token_urlsafe(24)
    return key, key_digest(key)


def key_digest(key: str) -> str:
    """The SHA-256 under which a key is stored and looked up."""
    return hashlib.sha256(key.encode()).hexdigest()

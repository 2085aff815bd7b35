"""Recurring bookings: expanding an RFC 5545 RRULE (evaluated in Asia/Taipei wall time) into occurrences."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrule, rrulestr

from cityhall.errors import InvalidInputError
from cityhall.venues.rules import TAIPEI

MAX_OCCURRENCES = 200
RRULE_LOC = ("body", "rrule")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a series, in UTC; `recurrence_id` is its original start."""

    starts_at: datetime
    ends_at: datetime

    @property
    def recurrence_id(self) -> datetime:
        """The RECURRENCE-ID of this occurrence (its original start)."""
        return self.starts_at


def parse_series_rule(text: str, *, dtstart: datetime) -> rrule:
    """A bounded RRULE (COUNT or UNTIL required) from `dtstart`; 422 naming `rrule` otherwise."""
    body = text.removeprefix("RRULE:").strip()
    if "COUNT=" not in body.upper() and "UNTIL=" not in body.upper():
        raise InvalidInputError("unbounded_rrule", "the RRULE needs COUNT or UNTIL", loc=RRULE_LOC)
    try:
        rule = rrulestr(body, dtstart=dtstart.astimezone(TAIPEI))
    except (ValueError, TypeError) as err:
        raise InvalidInputError("invalid_rrule", f"not a valid RRULE: {err}", loc=RRULE_LOC) from err
    if not isinstance(rule, rrule):  # pragma: no cover - rrulestr without forceset returns an rrule
        raise InvalidInputError("invalid_rrule", "give a single RRULE", loc=RRULE_LOC)
    return rule


def expand(
    text: str, *, dtstart: datetime, duration: timedelta, exdates: Iterable[datetime] = ()
) -> list[Occurrence]:
    """The occurrences of a series, without the excluded original starts; at most MAX_OCCURRENCES."""
    rule = parse_series_rule(text, dtstart=dtstart)
    excluded = {d.astimezone(UTC) for d in exdates}
    out: list[Occurrence] = []
    for index, start in enumerate(rule):
        if index >= MAX_OCCURRENCES:
            raise InvalidInputError(
                "too_many_occurrences", f"a series has at most {MAX_OCCURRENCES} occurrences", loc=RRULE_LOC
            )
        start_utc = start.astimezone(UTC)
        if start_utc not in excluded:
            out.append(Occurrence(start_utc, start_utc + duration))
    if not out:
        raise InvalidInputError("empty_series", "the RRULE yields no occurrence", loc=RRULE_LOC)
    return out


def first_start(text: str, *, dtstart: datetime) -> datetime:
    """The first occurrence of the rule (excluded dates included), in UTC."""
    first = parse_series_rule(text, dtstart=dtstart).after(dtstart.astimezone(TAIPEI), inc=True)
    if first is None:
        raise InvalidInputError("empty_series", "the RRULE yields no occurrence", loc=RRULE_LOC)
    return first.astimezone(UTC)


def rrule_body(text: str) -> str:
    """The RRULE value without a leading "RRULE:", upper-cased, for storing and for iCalendar."""
    return text.removeprefix("RRULE:").strip().upper()

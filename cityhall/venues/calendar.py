"""iCalendar (RFC 5545) feeds of bookings, per resource (no personal data) and per booker.

Single bookings are VEVENTs; a series is one VEVENT with RRULE (Asia/Taipei, VTIMEZONE included) and EXDATEs
for occurrences not held, plus a VEVENT with RECURRENCE-ID for each occurrence that differs from the series
(moved, or in another status). SEQUENCE grows with every change; STATUS is TENTATIVE for applications
awaiting approval, CONFIRMED, or CANCELLED.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from cityhall.models import ACTIVE_BOOKING_STATUSES, Booking, BookingSeries, BookingStatus
from cityhall.venues.recurrence import parse_series_rule
from cityhall.venues.rules import TAIPEI

PRODID = "-//Tainan City Government Secretariat//CityHall Ops venues//EN"
UID_DOMAIN = "venues.cityhall.tainan.gov.tw"

ICAL_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.CHECKED_IN: "CONFIRMED",
}


def ical_status(status: BookingStatus) -> str:
    """The VEVENT STATUS of a booking status (released, rejected and cancelled ones are CANCELLED)."""
    return ICAL_STATUS.get(status, "CANCELLED")


def new_calendar(name: str) -> Calendar:
    """An empty VCALENDAR with VERSION, PRODID and a display name."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def _summary(booking: Booking, *, private: bool) -> str:
    if not private:
        return "Requested (awaiting approval)" if booking.status is BookingStatus.PENDING else "Booked"
    return booking.title


def _event(booking: Booking, *, private: bool, uid: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", booking.updated_at.astimezone(UTC))
    event.add("dtstart", booking.starts_at.astimezone(TAIPEI))
    event.add("dtend", booking.ends_at.astimezone(TAIPEI))
    event.add("summary", _summary(booking, private=private))
    event.add("location", booking.resource.name)
    event.add("status", ical_status(booking.status))
    event.add("transp", "OPAQUE")
    if private and booking.note:
        event.add("description", booking.note)
    return event


def booking_uid(booking: Booking) -> str:
    """The UID of a single booking's VEVENT."""
    return f"booking-{booking.id}@{UID_DOMAIN}"


def series_uid(series: BookingSeries) -> str:
    """The UID shared by a series' VEVENTs."""
    return f"series-{series.id}@{UID_DOMAIN}"


def single_event(booking: Booking, *, private: bool) -> Event:
    """A VEVENT for a booking outside any series."""
    event = _event(booking, private=private, uid=booking_uid(booking))
    event.add("sequence", booking.sequence)
    return event


def series_events(series: BookingSeries, bookings: Sequence[Booking], *, private: bool) -> list[Event]:
    """The master VEVENT of a series (RRULE, EXDATE) and one RECURRENCE-ID VEVENT per differing occurrence."""
    held = {
        b.recurrence_id: b
        for b in bookings
        if b.recurrence_id is not None and b.status in ACTIVE_BOOKING_STATUSES
    }
    if not held:
        return []
    first = min(held.values(), key=lambda b: b.starts_at)
    duration = timedelta(minutes=series.duration_minutes)
    # Both counters only grow, so their sum grows on every change of the series or of an occurrence.
    sequence = series.sequence + max(b.sequence for b in bookings)
    master = Event()
    master.add("uid", series_uid(series))
    master.add("dtstamp", max([series.updated_at, *(b.updated_at for b in bookings)]).astimezone(UTC))
    master.add("dtstart", series.dtstart.astimezone(TAIPEI))
    master.add("duration", duration)
    master.add("summary", series.title if private else _summary(first, private=False))
    master.add("location", first.resource.name)
    master.add("status", ical_status(first.status))
    master.add("transp", "OPAQUE")
    master.add("rrule", _rrule_dict(series.rrule))
    master.add("sequence", sequence)
    rule = parse_series_rule(series.rrule, dtstart=series.dtstart)
    not_held = [o for o in rule if o.astimezone(UTC) not in held]
    if not_held:
        master.add("exdate", not_held)
    events = [master]
    for recurrence_id, booking in sorted(held.items()):
        moved = booking.starts_at != recurrence_id or booking.ends_at - booking.starts_at != duration
        if moved or booking.status is not first.status:
            override = _event(booking, private=private, uid=series_uid(series))
            override.add("recurrence-id", recurrence_id.astimezone(TAIPEI))
            override.add("sequence", sequence)
            events.append(override)
    return events


def _rrule_dict(body: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for part in body.split(";"):
        key, _, value = part.partition("=")
        out[key.lower()].extend(value.split(","))
    return dict(out)


def feed(name: str, bookings: Iterable[Booking], *, private: bool) -> bytes:
    """A whole VCALENDAR: single bookings as VEVENTs, series grouped; VTIMEZONE for Asia/Taipei added."""
    cal = new_calendar(name)
    by_series: dict[int, list[Booking]] = defaultdict(list)
    series_of: dict[int, BookingSeries] = {}
    for booking in bookings:
        if booking.series is not None:
            by_series[booking.series.id].append(booking)
            series_of[booking.series.id] = booking.series
        else:
            cal.add_component(single_event(booking, private=private))
    for series_id, members in sorted(by_series.items()):
        for event in series_events(series_of[series_id], members, private=private):
            cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def feed_window(now: datetime) -> tuple[datetime, datetime]:
    """The bookings a feed carries: from 90 days ago to a year ahead."""
    return now - timedelta(days=90), now + timedelta(days=366)

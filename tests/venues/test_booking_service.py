"""The booking service on SQLite and PostgreSQL: buffers, the database's own overlap guarantee, every
refusal with the field to fix, quotas, recurring series, approval, cancellation, check-in and no-shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.errors import ConflictError, DomainError, InvalidInputError
from cityhall.models import (
    Blackout,
    Booking,
    BookingSeries,
    BookingStatus,
    Quota,
    QuotaPeriod,
    QuotaScope,
    VenueResource,
)
from cityhall.venues import booking as svc
from cityhall.venues.rules import holiday_name
from cityhall.venues.upkeep import run_venue_cycle
from tests.venues.conftest import MakeResource, at


def staff(people: dict[str, int], name: str = "sam", department: str = "Secretariat") -> svc.Booker:
    """A staff booker."""
    return svc.Booker(actor=f"user:{name}", user_id=people[name], department=department)


def book(
    factory: sessionmaker[Session],
    resource_id: int,
    booker: svc.Booker,
    starts: datetime,
    ends: datetime,
    *,
    attendees: int = 10,
    now: datetime | None = None,
) -> Booking:
    """Book in its own transaction, as a request would."""
    with transaction(factory) as session:
        resource = session.get(VenueResource, resource_id)
        assert resource is not None
        return svc.create_booking(
            session,
            resource=resource,
            booker=booker,
            request=svc.SlotRequest("Meeting", starts, ends, attendees),
            now=now,
        )


def refusal(
    factory: sessionmaker[Session],
    resource_id: int,
    booker: svc.Booker,
    starts: datetime,
    ends: datetime,
    *,
    attendees: int = 10,
) -> DomainError:
    """The error a booking attempt raises."""
    with pytest.raises(DomainError) as info:
        book(factory, resource_id, booker, starts, ends, attendees=attendees)
    return info.value


def test_buffer_keeps_bookings_apart_both_ways(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(buffer_minutes=30)
    first = book(session_factory, hall, staff(people), at(day, 10), at(day, 12))
    assert first.status is BookingStatus.CONFIRMED  # staff bookings need no approval
    assert first.block_until == at(day, 12, 30).astimezone(UTC)

    after = refusal(session_factory, hall, staff(people), at(day, 12, 15), at(day, 13))
    assert isinstance(after, svc.SlotTakenError)
    assert after.booking_id == first.id
    assert f"booking {first.id}" in after.message
    assert "30 minutes' buffer" in after.message
    before = refusal(session_factory, hall, staff(people), at(day, 8), at(day, 9, 45))
    assert isinstance(before, svc.SlotTakenError)

    assert book(session_factory, hall, staff(people), at(day, 12, 30), at(day, 13)).id
    assert book(session_factory, hall, staff(people), at(day, 8), at(day, 9, 30)).id


def test_database_refuses_overlaps_that_bypass_the_service(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    """The exclusion constraint (PostgreSQL) or trigger (SQLite) holds even for code that skips the check."""
    hall = make_resource()

    def row(starts: datetime, ends: datetime, status: BookingStatus) -> Booking:
        return Booking(
            resource_id=hall,
            status=status,
            title="raw",
            attendees=1,
            user_id=people["sam"],
            starts_at=starts,
            ends_at=ends,
            block_until=ends,
            created_by="test",
        )

    with transaction(session_factory) as session:
        session.add(row(at(day, 10), at(day, 12), BookingStatus.CONFIRMED))
        session.add(row(at(day, 11), at(day, 13), BookingStatus.CANCELLED))  # inactive rows never block
    with (
        pytest.raises(IntegrityError, match="ex_venue_bookings_no_overlap"),
        transaction(session_factory) as session,
    ):
        session.add(row(at(day, 11), at(day, 13), BookingStatus.PENDING))
    with transaction(session_factory) as session:
        session.add(row(at(day, 12), at(day, 13), BookingStatus.PENDING))  # touching ends do not overlap
    with pytest.raises(IntegrityError):
        revive_cancelled(session_factory)  # the update trigger / constraint guards status changes too


def revive_cancelled(factory: sessionmaker[Session]) -> None:
    """Set the cancelled booking back to confirmed, over a live booking."""
    with transaction(factory) as session:
        cancelled = session.query(Booking).filter_by(status=BookingStatus.CANCELLED).one()
        cancelled.status = BookingStatus.CONFIRMED


def test_each_refusal_names_its_field(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(capacity_people=20, max_duration_minutes=240, min_notice_minutes=60)
    me = staff(people)
    cases = [
        ((at(day, 10), at(day, 9)), {}, "ends_before_start", "ends_at"),
        ((at(day - timedelta(weeks=10), 10), at(day - timedelta(weeks=10), 11)), {}, "in_past", "starts_at"),
        ((at(day, 7), at(day, 9)), {}, "outside_opening_hours", "starts_at"),
        ((at(day, 21), at(day, 23)), {}, "outside_opening_hours", "ends_at"),
        ((at(day, 9), at(day, 15)), {}, "too_long", "ends_at"),
        ((at(day, 9), at(day, 10)), {"attendees": 21}, "over_capacity", "attendees"),
    ]
    for (starts, ends), kw, code, field in cases:
        err = refusal(session_factory, hall, me, starts, ends, **kw)
        assert (err.code, err.loc) == (code, ("body", field)), code
    sunday = day + timedelta(days=5)
    assert refusal(session_factory, hall, me, at(sunday, 10), at(sunday, 11)).code == "closed_day"
    soon = datetime.now(UTC) + timedelta(minutes=30)
    assert (
        refusal(
            session_factory,
            make_resource(opening_hours=None, min_notice_minutes=60),
            me,
            soon,
            soon + timedelta(hours=1),
        ).code
        == "short_notice"
    )


def test_holidays_and_blackouts_close_the_venue(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(opening_hours=None)
    national_day = date(day.year + 1, 10, 10)
    assert holiday_name(national_day) is not None
    err = refusal(session_factory, hall, staff(people), at(national_day, 10), at(national_day, 12))
    assert err.code == "closed_holiday"
    assert "National Day" in err.message
    open_anyway = make_resource(opening_hours=None, closed_on_holidays=False)
    assert book(session_factory, open_anyway, staff(people), at(national_day, 10), at(national_day, 12)).id

    with transaction(session_factory) as session:
        session.add(
            Blackout(
                resource_id=None,
                starts_at=at(day, 0),
                ends_at=at(day, 23, 59),
                reason="fire drill",
                created_by="t",
            )
        )
    err = refusal(session_factory, hall, staff(people), at(day, 10), at(day, 11))
    assert (err.code, err.loc) == ("blackout", ("body", "starts_at"))
    assert "fire drill" in err.message


def test_quotas_per_person_and_per_department(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    room = make_resource(buffer_minutes=0)
    with transaction(session_factory) as session:
        session.add(Quota(resource_id=room, scope=QuotaScope.PERSON, period=QuotaPeriod.WEEK, max_hours=3))
        session.add(
            Quota(resource_id=None, scope=QuotaScope.DEPARTMENT, period=QuotaPeriod.DAY, max_bookings=3)
        )
    sam, sue = staff(people, "sam"), staff(people, "sue")
    book(session_factory, room, sam, at(day, 9), at(day, 11))
    err = refusal(session_factory, room, sam, at(day, 11), at(day, 13))
    assert (err.code, err.loc) == ("over_quota", ("body", "ends_at"))
    assert "3 hours per week" in err.message
    book(session_factory, room, sam, at(day, 11), at(day, 12))  # exactly the quota
    book(session_factory, room, sue, at(day, 13), at(day, 14))
    err = refusal(session_factory, room, sue, at(day, 15), at(day, 16))  # the department's 4th today
    assert (err.code, err.loc) == ("over_quota", ("body", "starts_at"))
    assert "department Secretariat" in err.message
    other_department = staff(people, "sue", department="Archives")
    assert book(session_factory, room, other_department, at(day, 15), at(day, 16)).id


def series(
    factory: sessionmaker[Session], resource_id: int, booker: svc.Booker, first: datetime, **kw: object
) -> svc.SeriesResult:
    """Book a weekly series of four two-hour meetings."""
    with transaction(factory) as session:
        resource = session.get(VenueResource, resource_id)
        assert resource is not None
        return svc.create_series(
            session,
            resource=resource,
            booker=booker,
            title="Weekly choir",
            attendees=30,
            rrule=str(kw.pop("rrule", "FREQ=WEEKLY;COUNT=4")),
            dtstart=first,
            duration_minutes=120,
            **kw,  # type: ignore[arg-type]
        )


def test_series_with_exceptions_and_free_dates_only(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(closed_on_holidays=False)
    taken = book(
        session_factory,
        hall,
        staff(people, "sue"),
        at(day + timedelta(weeks=2), 19),
        at(day + timedelta(weeks=2), 20),
    )
    with pytest.raises(svc.SlotTakenError) as info:
        series(session_factory, hall, staff(people), at(day, 18))
    assert info.value.booking_id == taken.id
    assert info.value.message.startswith(f"{day + timedelta(weeks=2)}:")

    result = series(
        session_factory,
        hall,
        staff(people),
        at(day, 18),
        exdates=[at(day + timedelta(weeks=1), 18)],
        free_dates_only=True,
    )
    assert [b.starts_at for b in result.bookings] == [at(day, 18), at(day + timedelta(weeks=3), 18)]
    assert [(s.starts_at, s.code) for s in result.skipped] == [
        (at(day + timedelta(weeks=2), 18), "slot_taken")
    ]
    assert all(b.recurrence_id == b.starts_at for b in result.bookings)
    assert result.series.exdates == [at(day + timedelta(weeks=1), 18).astimezone(UTC).isoformat()]


def test_unbounded_or_invalid_rrules_are_refused(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource()
    for rule, code in (("FREQ=WEEKLY", "unbounded_rrule"), ("FREQ=SOMETIMES;COUNT=2", "invalid_rrule")):
        with pytest.raises(InvalidInputError) as info:
            series(session_factory, hall, staff(people), at(day, 18), rrule=rule)
        assert (info.value.code, info.value.loc) == (code, ("body", "rrule"))


def test_citizen_application_waits_for_approval(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource()
    with transaction(session_factory) as session:
        new = svc.create_applicant(session, name="Lin Mei", email="mei@example.tw", phone="0912345678")
        citizen = svc.Booker(actor="citizen:mei@example.tw", applicant_id=new.applicant.id)
    application = book(session_factory, hall, citizen, at(day, 14), at(day, 16))
    assert application.status is BookingStatus.PENDING
    assert application.fee_twd == 2400
    tentative = refusal(session_factory, hall, staff(people), at(day, 15), at(day, 17))
    assert "tentatively booked" in tentative.message  # a pending application holds its slot

    with transaction(session_factory) as session:
        pending = session.get(Booking, application.id)
        assert pending is not None
        with pytest.raises(InvalidInputError, match="reason"):
            svc.decide(session, booking=pending, approve=False, actor="user:fiona")
        svc.decide(session, booking=pending, approve=True, actor="user:fiona")
        assert (pending.status, pending.sequence, pending.decided_by) == (
            BookingStatus.CONFIRMED,
            1,
            "user:fiona",
        )
        with pytest.raises(ConflictError, match="not pending"):
            svc.decide(session, booking=pending, approve=True, actor="user:fiona")
        assert svc.applicant_by_key(session, new.key) is not None
        assert svc.applicant_by_key(session, new.feed_key) is None  # the feed key opens nothing else


def test_cancelling_an_occurrence_frees_it_and_becomes_an_exdate(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(closed_on_holidays=False)
    result = series(session_factory, hall, staff(people), at(day, 18))
    second = result.bookings[1]
    with transaction(session_factory) as session:
        booking = session.get(Booking, second.id)
        assert booking is not None
        svc.cancel(session, booking=booking, actor="user:sam")
        with pytest.raises(ConflictError):
            svc.cancel(session, booking=booking, actor="user:sam")
    with transaction(session_factory) as session:
        saved = session.get(BookingSeries, result.series.id)
        assert saved is not None
        assert saved.exdates == [second.starts_at.isoformat()]
        assert saved.sequence == 1
    assert book(session_factory, hall, staff(people, "sue"), second.starts_at, second.ends_at).id


def test_check_in_window_and_no_show_release(
    session_factory: sessionmaker[Session], people: dict[str, int], make_resource: MakeResource, day: date
) -> None:
    room = make_resource(check_in_required=True, check_in_grace_minutes=15, requires_approval=False)
    kept = book(session_factory, room, staff(people), at(day, 9), at(day, 10))
    missed = book(session_factory, room, staff(people, "sue"), at(day, 10, 30), at(day, 11, 30))
    with transaction(session_factory) as session:
        booking = session.get(Booking, kept.id)
        assert booking is not None
        with pytest.raises(ConflictError, match="check-in opens at"):
            svc.check_in(session, booking=booking, actor="user:sam", now=at(day, 8))
        svc.check_in(session, booking=booking, actor="user:sam", now=at(day, 8, 50))
    with transaction(session_factory) as session:
        assert svc.release_no_shows(session, now=at(day, 10, 40)) == []  # still within the grace period
        released = svc.release_no_shows(session, now=at(day, 10, 46))
        assert [b.id for b in released] == [missed.id]
        assert released[0].status is BookingStatus.NO_SHOW
    # The released slot can be booked again at once.
    assert book(
        session_factory, room, staff(people, "eric"), at(day, 11), at(day, 11, 30), now=at(day, 10, 50)
    ).id
    with transaction(session_factory) as session:
        statuses = {b.id: b.status for b in session.query(Booking).all()}
    assert statuses[kept.id] is BookingStatus.CHECKED_IN


def test_the_housekeeping_pass_expires_undecided_applications(
    session_factory: sessionmaker[Session], make_resource: MakeResource, day: date
) -> None:
    hall = make_resource()
    with transaction(session_factory) as session:
        new = svc.create_applicant(session, name="Lin Mei", email="mei@example.tw", phone="0912345678")
        citizen = svc.Booker(actor="citizen:1", applicant_id=new.applicant.id)
    pending = book(session_factory, hall, citizen, at(day, 14), at(day, 16))
    assert run_venue_cycle(session_factory, now=at(day, 13)) == []
    assert run_venue_cycle(session_factory, now=at(day, 14)) == [pending.id]
    with transaction(session_factory) as session:
        expired = session.get(Booking, pending.id)
        assert expired is not None
        assert (expired.status, expired.decision_note) == (
            BookingStatus.REJECTED,
            "not decided before the booking began",
        )

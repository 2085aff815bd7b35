"""Enrolment with a waiting list on SQLite and PostgreSQL: seats first come first served, the queue in
order, a freed seat promoting the head of the queue, and every change in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import AuditEntry, Course, CourseCategory, Delivery, Enrolment, EnrolmentStatus
from cityhall.training import catalogue
from tests.training.conftest import ACTOR, Courses, MakeSession, future, past


def _enrol(factory: sessionmaker[Session], session_id: int, user_id: int) -> EnrolmentStatus:
    with transaction(factory) as session:
        return catalogue.enrol(session, training_session_id=session_id, user_id=user_id, actor=ACTOR).status


def _statuses(factory: sessionmaker[Session], session_id: int) -> dict[int, EnrolmentStatus]:
    with factory() as session:
        rows = session.scalars(select(Enrolment).where(Enrolment.session_id == session_id))
        return {row.user_id: row.status for row in rows}


def test_seats_then_waiting_list_then_promotion_in_order(
    session_factory: sessionmaker[Session], staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    sid = make_session(courses.fire_safety, future(10), capacity=2)
    order = ["sam", "sue", "chen", "eric"]
    got = [_enrol(session_factory, sid, staff[name]) for name in order]
    assert got == [
        EnrolmentStatus.ENROLLED,
        EnrolmentStatus.ENROLLED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.WAITLISTED,
    ]
    assert _enrol(session_factory, sid, staff["chen"]) is EnrolmentStatus.WAITLISTED  # twice: no-op

    with transaction(session_factory) as session:
        promoted = catalogue.cancel_enrolment(
            session, training_session_id=sid, user_id=staff["sam"], actor=ACTOR
        )
        assert [e.user_id for e in promoted] == [staff["chen"]]  # the head of the queue, not eric
    statuses = _statuses(session_factory, sid)
    assert statuses[staff["sam"]] is EnrolmentStatus.CANCELLED
    assert statuses[staff["chen"]] is EnrolmentStatus.ENROLLED
    assert statuses[staff["eric"]] is EnrolmentStatus.WAITLISTED

    # sam comes back: the session is full, so sam queues behind eric
    assert _enrol(session_factory, sid, staff["sam"]) is EnrolmentStatus.WAITLISTED
    with transaction(session_factory) as session:
        queue = [e.user_id for e in catalogue.waiting_list(session, sid)]
    assert queue == [staff["eric"], staff["sam"]]

    # two more seats: both queued people get one
    with transaction(session_factory) as session:
        row = catalogue.get_session(session, sid)
        promoted = catalogue.change_capacity(session, row=row, capacity=4, actor=ACTOR)
        assert sorted(e.user_id for e in promoted) == sorted([staff["eric"], staff["sam"]])
    with session_factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "training_enrolment")
        ).all()
        assert sorted(set(actions)) == ["cancel", "create", "promote", "re-enrol"]
        assert catalogue.seats_taken(session, sid) == 4


def test_capacity_below_the_seats_taken_is_refused(
    session_factory: sessionmaker[Session], staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    sid = make_session(courses.fire_safety, future(10), capacity=2)
    _enrol(session_factory, sid, staff["sam"])
    _enrol(session_factory, sid, staff["sue"])
    with transaction(session_factory) as session, pytest.raises(ConflictError) as err:
        catalogue.change_capacity(session, row=catalogue.get_session(session, sid), capacity=1, actor=ACTOR)
    assert err.value.loc == ("body", "capacity")


def test_started_or_cancelled_sessions_take_no_enrolment(
    session_factory: sessionmaker[Session], staff: dict[str, int], courses: Courses, make_session: MakeSession
) -> None:
    started = make_session(courses.fire_safety, past(1))
    with pytest.raises(ConflictError, match="has started"):
        _enrol(session_factory, started, staff["sam"])
    later = make_session(courses.fire_safety, future(3))
    with transaction(session_factory) as session:
        catalogue.cancel_session(session, row=catalogue.get_session(session, later), actor=ACTOR)
    with pytest.raises(ConflictError, match="cancelled"):
        _enrol(session_factory, later, staff["sam"])
    with pytest.raises(NotFoundError):
        _enrol(session_factory, 9999, staff["sam"])
    with pytest.raises(InvalidInputError) as err:
        _enrol(session_factory, make_session(courses.fire_safety, future(4)), 9999)
    assert err.value.loc == ("body", "user_id")
    with transaction(session_factory) as session, pytest.raises(NotFoundError, match="not enrolled"):
        catalogue.cancel_enrolment(session, training_session_id=later, user_id=staff["sam"], actor=ACTOR)


def test_session_and_course_input_is_checked_field_by_field(
    session_factory: sessionmaker[Session], courses: Courses, make_session: MakeSession
) -> None:
    with pytest.raises(InvalidInputError) as err:
        make_session(courses.fire_safety, future(2), hours=2, credit_hours=2.5)
    assert err.value.loc == ("body", "credit_hours")
    with pytest.raises(InvalidInputError) as err:
        make_session(courses.fire_safety, future(2), hours=0)
    assert err.value.loc == ("body", "ends_at")
    with transaction(session_factory) as session, pytest.raises(ConflictError) as conflict:
        catalogue.create_course(
            session,
            code="fire-safety",
            title="Again",
            category=CourseCategory.SAFETY,
            delivery=Delivery.ON_SITE,
            actor=ACTOR,
        )
    assert conflict.value.loc == ("body", "code")
    with transaction(session_factory) as session, pytest.raises(InvalidInputError) as err:
        catalogue.create_course(
            session,
            code="half",
            title="Half",
            category=CourseCategory.GENERAL,
            delivery=Delivery.BLENDED,
            digital_share_pct=0,
            actor=ACTOR,
        )
    assert err.value.loc == ("body", "digital_share_pct")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Course)) == 4

"""Fixtures for the training tests: the API fixtures of tests/api (an app on SQLite and PostgreSQL, people,
tokens), staff profiles in two departments, and a small course catalogue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.models import ApiKey, CourseCategory, Delivery, Role, TrainingDuty
from cityhall.security import new_api_key
from cityhall.training import catalogue
from tests.api import conftest as api_fixtures

# The API tests' fixtures, shared: an app on a fresh database (SQLite, then PostgreSQL), people and tokens.
settings = api_fixtures.settings
session_factory = api_fixtures.session_factory
password_hash = api_fixtures.password_hash
people = api_fixtures.people
app = api_fixtures.app
client = api_fixtures.client
auth_for = api_fixtures.auth_for

ACTOR = "user:test"
# username -> (department, joined on, duty); ada (admin) has no profile, audrey is the training officer.
PROFILES: dict[str, tuple[str, date, TrainingDuty]] = {
    "sam": ("general-affairs", date(2015, 3, 1), TrainingDuty.MEMBER),
    "sue": ("general-affairs", date(2026, 7, 1), TrainingDuty.MEMBER),  # joined mid-year
    "fiona": ("general-affairs", date(2012, 1, 1), TrainingDuty.DEPARTMENT_MANAGER),
    "chen": ("procurement", date(2018, 9, 1), TrainingDuty.MEMBER),
    "wang": ("procurement", date(2019, 2, 1), TrainingDuty.DEPARTMENT_MANAGER),
    "eric": ("archives", date(2010, 5, 1), TrainingDuty.MEMBER),
    "audrey": ("special-affairs", date(2011, 1, 1), TrainingDuty.TRAINING_OFFICER),
}


@pytest.fixture
def staff(session_factory: sessionmaker[Session], people: dict[str, int]) -> dict[str, int]:
    """Training profiles for everyone in PROFILES; returns username -> user id (all people)."""
    with transaction(session_factory) as session:
        for name, (department, joined_on, duty) in PROFILES.items():
            catalogue.set_profile(
                session,
                user_id=people[name],
                department_code=department,
                joined_on=joined_on,
                left_on=None,
                duty=duty,
                actor=ACTOR,
            )
    return people


@dataclass(frozen=True, slots=True)
class Courses:
    """Ids of the catalogue's courses."""

    fire_safety: int  # on-site, certificate valid 24 months
    ethics_online: int  # digital, xAPI activity
    procurement_basic: int  # blended 25 % digital, licence valid 36 months
    records_visit: int  # site visit, no certificate


XAPI_ETHICS = "https://elearning.example.gov.tw/courses/ethics-2026"


@pytest.fixture
def courses(session_factory: sessionmaker[Session]) -> Courses:
    """Four courses, one of each delivery plus a site visit."""
    with transaction(session_factory) as session:

        def add(code: str, category: CourseCategory, delivery: Delivery, **kw: object) -> int:
            return catalogue.create_course(
                session,
                code=code,
                title=code.replace("-", " ").title(),
                category=category,
                delivery=delivery,
                actor=ACTOR,
                **kw,  # type: ignore[arg-type]
            ).id

        return Courses(
            fire_safety=add(
                "fire-safety",
                CourseCategory.SAFETY,
                Delivery.ON_SITE,
                issues_certificate=True,
                certificate_valid_months=24,
            ),
            ethics_online=add(
                "ethics-online", CourseCategory.GENERAL, Delivery.DIGITAL, xapi_activity_id=XAPI_ETHICS
            ),
            procurement_basic=add(
                "gpa-basic",
                CourseCategory.PROCUREMENT_BASIC,
                Delivery.BLENDED,
                digital_share_pct=25,
                issues_certificate=True,
                certificate_valid_months=36,
            ),
            records_visit=add("records-visit", CourseCategory.SITE_VISIT, Delivery.ON_SITE),
        )


MakeSession = Callable[..., int]


@pytest.fixture
def make_session(session_factory: sessionmaker[Session]) -> MakeSession:
    """Schedule a session of a course at `starts_at` (aware) for `hours` hours; returns its id."""

    def make(
        course_id: int,
        starts_at: datetime,
        *,
        hours: float = 3.0,
        capacity: int = 30,
        credit_hours: float | None = None,
    ) -> int:
        with transaction(session_factory) as session:
            return catalogue.create_session(
                session,
                course=catalogue.get_course(session, course_id),
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                place="Yonghua Civic Center, room 301",
                capacity=capacity,
                instructor="Lin Instructor",
                credit_hours=credit_hours,
                actor=ACTOR,
            ).id

    return make


def past(days: int, hour: int = 1) -> datetime:
    """An aware UTC time `days` days ago (09:00 Taipei is 01:00 UTC)."""
    today = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


def future(days: int, hour: int = 1) -> datetime:
    """An aware UTC time `days` days ahead."""
    return past(-days, hour)


@pytest.fixture
def elearning_key(session_factory: sessionmaker[Session]) -> dict[str, str]:
    """X-API-Key headers of the e-learning platform (a `service` API key)."""
    key, prefix, digest = new_api_key()
    with transaction(session_factory) as session:
        session.add(ApiKey(name="elearning", prefix=prefix, key_sha256=digest, role=Role.SERVICE))
    return {"X-API-Key": key}


def statement(
    *,
    email: str,
    activity: str,
    duration: str | None = "PT1H",
    verb: str = "completed",
    timestamp: str = "2026-04-02T10:00:00+08:00",
    statement_id: str | None = None,
) -> dict[str, object]:
    """An xAPI 1.0.3 statement as an e-learning platform sends it."""
    body: dict[str, object] = {
        "actor": {"objectType": "Agent", "name": email.split("@", maxsplit=1)[0], "mbox": f"mailto:{email}"},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity},
        "timestamp": timestamp,
        "version": "1.0.3",
    }
    if duration is not None:
        body["result"] = {"completion": True, "success": True, "duration": duration}
    if statement_id is not None:
        body["id"] = statement_id
    return body

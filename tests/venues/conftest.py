"""Fixtures for the venue tests: the API fixtures of tests/api (app on SQLite and PostgreSQL, people,
tokens) plus civic-center venues, a dormitory room and a future working day to book on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction, utcnow
from cityhall.models import Audience, ResourceKind, VenueResource
from cityhall.venues.rules import TAIPEI, holiday_name
from tests.api import conftest as api_fixtures

# The API tests' fixtures, shared: an app on a fresh database (SQLite, then PostgreSQL), people and tokens.
settings = api_fixtures.settings
session_factory = api_fixtures.session_factory
password_hash = api_fixtures.password_hash
people = api_fixtures.people
app = api_fixtures.app
client = api_fixtures.client
auth_for = api_fixtures.auth_for
assets = api_fixtures.assets

OFFICE_HOURS = {day: ["08:00", "22:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}


def working_day(weeks_ahead: int = 3) -> date:
    """A Tuesday some weeks from today that is not a Taiwan public holiday."""
    day = utcnow().astimezone(TAIPEI).date() + timedelta(weeks=weeks_ahead)
    day += timedelta(days=(1 - day.weekday()) % 7)
    while holiday_name(day) is not None:
        day += timedelta(days=7)
    return day


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """An aware Taipei datetime on `day`."""
    return datetime.combine(day, time(hh, mm), TAIPEI)


@pytest.fixture
def day() -> date:
    """A bookable future working day."""
    return working_day()


MakeResource = Callable[..., int]


@pytest.fixture
def make_resource(session_factory: sessionmaker[Session]) -> MakeResource:
    """Create a resource (defaults: a public hall for 100 with a 30-minute buffer); returns its id."""
    counter = iter(range(1, 1000))

    def make(**overrides: object) -> int:
        fields: dict[str, object] = {
            "code": f"R{next(counter)}",
            "name": "Yonghua Hall",
            "kind": ResourceKind.HALL,
            "audience": Audience.PUBLIC,
            "capacity_people": 100,
            "equipment": ["projector", "microphones"],
            "fee_per_hour_twd": 1200,
            "opening_hours": OFFICE_HOURS,
            "buffer_minutes": 30,
            "requires_approval": True,
            "closed_on_holidays": True,
        }
        fields.update(overrides)
        with transaction(session_factory) as session:
            resource = VenueResource(**fields)
            session.add(resource)
            session.flush()
            return resource.id

    return make

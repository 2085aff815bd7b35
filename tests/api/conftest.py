"""Fixtures for the API tests: an app on a real database (SQLite file and PostgreSQL), people and assets.

`db_url` comes from tests/conftest.py (parametrised over SQLite and a fresh PostgreSQL database); the
schema is created with `Base.metadata.create_all` because migrations are tested elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

import cityhall.models  # noqa: F401 - registers every table on Base.metadata
from api.main import create_app
from cityhall.db import Base, make_engine, make_sessionmaker, transaction, utcnow
from cityhall.models import (
    Building,
    BuildingUse,
    Device,
    DeviceKind,
    Floor,
    Site,
    Space,
    SpaceKind,
    User,
)
from cityhall.security import create_access_token, hash_password
from cityhall.settings import Settings
from tests.api.api_testdata import JWT_SECRET, PASSWORD, PEOPLE, AssetIds, AuthFor, Headers


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash of PASSWORD shared by every test user (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings for the app under test, ignoring any .env file on the machine."""
    return Settings(
        _env_file=None,
        database_url=db_url,
        jwt_secret=SecretStr(JWT_SECRET),
        access_token_minutes=15,
    )


@pytest.fixture
def session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory on an empty database with the schema created."""
    engine = make_engine(settings.database_url)
    Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def people(session_factory: sessionmaker[Session], password_hash: str) -> dict[str, int]:
    """One active user per name in PEOPLE; returns username -> id."""
    with transaction(session_factory) as session:
        users = [
            User(
                username=name,
                full_name=name.title(),
                email=f"{name}@tainan.gov.tw",
                role=role,
                password_hash=password_hash,
                created_at=utcnow(),
            )
            for name, role in PEOPLE.items()
        ]
        session.add_all(users)
        session.flush()
        return {user.username: user.id for user in users}


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    """The application under test."""
    return create_app(settings, session_factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def auth_for(people: dict[str, int]) -> AuthFor:
    """Bearer headers for a test user, minted directly (the token flow itself is tested in test_api_auth)."""

    def headers(username: str) -> Headers:
        token = create_access_token(
            subject=str(people[username]), role=PEOPLE[username].value, secret=JWT_SECRET, minutes=5
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def assets(session_factory: sessionmaker[Session]) -> AssetIds:
    """One site with a civic center (a meter and a climate sensor) and a dormitory (a meter)."""
    with transaction(session_factory) as session:
        site = Site(code="YH", name="Yonghua Civic Center", address="No. 6, Yonghua Rd Sec 2")
        civic = Building(
            site=site,
            code="YH-A",
            name="Civic Center",
            use=BuildingUse.CIVIC_CENTER,
            gross_floor_area_m2=12000.0,
            year_built=2000,
        )
        dorm = Building(
            site=site,
            code="YH-D",
            name="Staff Dormitory",
            use=BuildingUse.DORMITORY,
            gross_floor_area_m2=3000.0,
        )
        civic_floor = Floor(building=civic, level=1, name="1F", area_m2=2500.0)
        civic_basement = Floor(building=civic, level=-1, name="B1", area_m2=2000.0)
        dorm_floor = Floor(building=dorm, level=1, name="1F", area_m2=800.0)
        office = Space(
            floor=civic_floor,
            code="YH-A-101",
            name="Secretariat office",
            kind=SpaceKind.OFFICE,
            area_m2=300.0,
            capacity_people=40,
        )
        plant = Space(
            floor=civic_basement, code="YH-A-B01", name="Plant room", kind=SpaceKind.PLANT_ROOM, area_m2=200.0
        )
        room = Space(
            floor=dorm_floor,
            code="YH-D-101",
            name="Room 101",
            kind=SpaceKind.DORMITORY_ROOM,
            area_m2=25.0,
            capacity_people=2,
        )
        civic_meter = Device(
            space=plant,
            code="yh-a-main",
            name="Civic main meter",
            kind=DeviceKind.ELECTRICITY_METER,
            quantities=["power_kw", "energy_kwh"],
            serves="whole building",
        )
        climate = Device(
            space=office,
            code="yh-a-101-climate",
            name="Office climate",
            kind=DeviceKind.CLIMATE_SENSOR,
            quantities=["temperature_c", "humidity_pct"],
        )
        dorm_meter = Device(
            space=room,
            code="yh-d-101-meter",
            name="Room 101 meter",
            kind=DeviceKind.ELECTRICITY_METER,
            quantities=["power_kw", "energy_kwh"],
        )
        session.add_all([site, office, plant, room, civic_meter, climate, dorm_meter])
        session.flush()
        return AssetIds(
            site_id=site.id,
            civic_id=civic.id,
            dorm_id=dorm.id,
            civic_floor_id=civic_floor.id,
            civic_office_id=office.id,
            dorm_room_id=room.id,
            civic_meter_id=civic_meter.id,
            civic_climate_id=climate.id,
            dorm_meter_id=dorm_meter.id,
        )

"""Fixtures the collector tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import Base, make_engine, make_sessionmaker, transaction


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on an empty database (SQLite, then PostgreSQL) holding the shipped seed register."""
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
    yield sessions
    engine.dispose()

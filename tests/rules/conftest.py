"""Fixtures the rules tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from cityhall.db import make_engine
from cityhall.migrate import upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A database migrated to the head revision (SQLite, then PostgreSQL)."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()

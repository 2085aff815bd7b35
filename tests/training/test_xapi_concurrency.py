"""Two e-learning platforms (or one retrying) post the same statement at the same moment, on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import Base, make_engine, make_sessionmaker, transaction
from cityhall.models import Role, TrainingCredit, User, XapiStatement
from cityhall.training import xapi
from cityhall.training.xapi import StatementOutcome
from tests import servers
from tests.training.conftest import statement
from tests.waiting import PATIENCE_S, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_factory() -> Iterator[sessionmaker[Session]]:
    """A fresh PostgreSQL database with the schema and one learner."""
    if servers.postgres_url() is None:
        servers.require_service("PostgreSQL", "no server answers on 127.0.0.1:5432")
    url = servers.fresh_postgres_database("cityhall_test")
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        session.add(
            User(
                username="sam", full_name="Sam", email="sam@tainan.gov.tw", role=Role.STAFF, password_hash="x"
            )
        )
    yield factory
    engine.dispose()
    servers.drop_postgres_database(url)


def test_a_simultaneous_duplicate_is_a_replay_not_an_error(pg_factory: sessionmaker[Session]) -> None:
    body = statement(email="sam@tainan.gov.tw", activity="https://elearning.example/fire-safety")
    first, second = pg_factory(), pg_factory()
    stored = xapi.intake(first, [body], received_from="service:elearning")  # inserted, not yet committed
    late: dict[str, list[StatementOutcome]] = {}
    thread = threading.Thread(
        target=lambda: late.update(out=xapi.intake(second, [body], received_from="service:lms"))
    )
    thread.start()

    def waiting_on_a_lock() -> bool:
        with pg_factory() as session:
            waiting = session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return bool(waiting)

    wait_for(waiting_on_a_lock, what="the second insert to wait on the first transaction's row")
    assert thread.is_alive()
    first.commit()
    thread.join(PATIENCE_S)
    assert not thread.is_alive()
    second.commit()
    assert [(o.stored, o.credited_s) for o in stored] == [(True, 3600)]
    assert [(o.stored, o.credited_s) for o in late["out"]] == [(False, 0)]
    with pg_factory() as session:
        assert session.scalar(select(func.count()).select_from(XapiStatement)) == 1
        assert session.scalar(select(func.sum(TrainingCredit.duration_s))) == 3600
    first.close()
    second.close()

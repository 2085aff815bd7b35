"""Migration 0007 creates the conservation tables on top of 0008 and its downgrade removes exactly them."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from cityhall.db import make_engine
from cityhall.migrate import alembic_config, upgrade

TABLES = {
    "committee_actions",
    "committee_meetings",
    "conservation_entries",
    "conservation_programme_measures",
    "conservation_programme_reviews",
    "conservation_programme_targets",
    "conservation_programmes",
    "conservation_targets",
}


def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0007")
    assert set(inspect(engine).get_table_names()) >= TABLES
    cfg = alembic_config(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    left = set(inspect(engine).get_table_names())
    assert not TABLES & left
    assert "training_courses" in left  # 0008's tables stay
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()

"""Liveness checks of the API's dependencies."""

from __future__ import annotations

import structlog
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import cityhall
from api.health.schemas import HealthRead

log = structlog.get_logger(__name__)


def check(*, session_factory: sessionmaker[Session]) -> HealthRead:
    """Run `SELECT 1` on the database; degraded when it fails."""
    checks: dict[str, str] = {}
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as err:
        log.warning("health_check_failed", check="database", error=str(err))
        checks["database"] = "error"
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    return HealthRead(status=status, checks=checks, version=cityhall.__version__)

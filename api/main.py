"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import cityhall
from api.alarms.health.pages import router as alarm_health_pages_router
from api.alarms.health.router import router as alarm_health_router
from api.alarms.router import router as alarms_router
from api.assets.router import router as assets_router
from api.audit.router import router as audit_router
from api.auth.router import router as auth_router
from api.collector.router import router as collector_router
from api.conservation.router import router as conservation_router
from api.crews.router import router as crews_router
from api.crews.router import schedules_router
from api.docs.router import router as docs_router
from api.dorms.router import router as dorms_router
from api.exceptions import install_error_handlers
from api.health.metrics import RequestObserver
from api.health.router import router as health_router
from api.reports.router import router as reports_router
from api.rules.router import router as rules_router
from api.tickets.router import router as tickets_router
from api.training.pages import pages_router as training_pages_router
from api.training.router import router as training_router
from api.users.router import router as users_router
from api.venues.router import router as venues_router
from api.web.router import router as web_router
from cityhall.db import make_engine, make_sessionmaker
from cityhall.settings import Settings


def create_app(settings: Settings, session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the API; without a session factory, connect to `settings.database_url` (and dispose on exit)."""
    owned_engine: Engine | None = None
    if session_factory is None:
        owned_engine = make_engine(settings.database_url)
        session_factory = make_sessionmaker(owned_engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned_engine is not None:
            owned_engine.dispose()

    app = FastAPI(
        title="CityHall Ops API",
        version=cityhall.__version__,
        description="Facilities and energy management for the Secretariat of the Tainan City Government.",
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a CDN; docs_router serves packaged copies.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = owned_engine if owned_engine is not None else session_factory.kw.get("bind")
    app.state.session_factory = session_factory

    install_error_handlers(app)
    app.add_middleware(RequestObserver)
    for router in (
        health_router,
        auth_router,
        users_router,
        assets_router,
        alarm_health_router,  # before alarms_router: /alarms/health is not an /alarms/{alarm_id}
        alarms_router,
        rules_router,
        tickets_router,
        crews_router,
        schedules_router,
        collector_router,
        audit_router,
        venues_router,
        dorms_router,
        training_router,
        training_pages_router,
        conservation_router,
        reports_router,
        web_router,
        alarm_health_pages_router,
        docs_router,
    ):
        app.include_router(router)
    return app

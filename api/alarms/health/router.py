"""GET /alarms/health: the alarm system's health over a period, as ANSI/ISA-18.2 and EEMUA 191 measure it,
and its lists page by page. Read by everyone who reads alarms.

Every route takes the same period: `week` (an ISO week, 2026-W49, Asia/Taipei), or `since` and `until`
(ISO 8601 with an offset; until defaults to now), or nothing for the last full week; `site` narrows it to
one site; `chatter_window_s` sets the chattering window (60 s by default)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy.orm import Session

from api.alarms.dependencies import Reader
from api.alarms.health import service
from api.alarms.health.schemas import (
    BadActorRead,
    ChatteringRead,
    FleetingRead,
    FloodRead,
    HealthRead,
    IntervalRead,
    ShelvedRead,
    StaleRead,
)
from api.deps import SessionDep
from api.pagination import Page, PageDep, PageParams, paginate_list
from cityhall.alarm_health import AlarmHealth, IntervalCount
from cityhall.db import utcnow

router = APIRouter(prefix="/alarms/health", tags=["alarm health"])
T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class HealthQuery:
    """The report asked for: the period, the scope and the chattering window."""

    week: str | None
    since: datetime | None
    until: datetime | None
    site: str | None
    chatter_window_s: int

    def assess(self, session: Session, *, breakdown: bool) -> AlarmHealth:
        """Assess it; 422 naming the query field that is wrong."""
        return service.assess(
            session,
            week=self.week,
            since=self.since,
            until=self.until,
            site=self.site,
            chatter_window_s=self.chatter_window_s,
            breakdown=breakdown,
        )


def health_query(
    *,
    week: Annotated[
        str | None, Query(description="ISO week in Asia/Taipei, e.g. 2026-W49 (instead of since/until)")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="Start, ISO 8601 with an offset")] = None,
    until: Annotated[AwareDatetime | None, Query(description="End (exclusive); default now")] = None,
    site: Annotated[str | None, Query(description="Only this site (its code)", max_length=32)] = None,
    chatter_window_s: Annotated[
        int, Query(ge=1, le=3600, description="Chattering: 3 raises of a pair within this many seconds")
    ] = service.DEFAULT_CHATTER_WINDOW_S,
) -> HealthQuery:
    """The query parameters every route of the report shares."""
    return HealthQuery(week, since, until, site, chatter_window_s)


HealthQueryDep = Annotated[HealthQuery, Depends(health_query)]


def assessed(query: HealthQueryDep, session: SessionDep) -> AlarmHealth:
    """The scope's assessment, without each site's (the lists need only the scope)."""
    return query.assess(session, breakdown=False)


Assessed = Annotated[AlarmHealth, Depends(assessed)]


def _page(items: Sequence[Any], page: PageParams, schema: type[T]) -> Page[T]:
    to_item: Callable[[Any], T] = schema.model_validate
    return paginate_list(items, page, to_item)


@router.get("", response_model=HealthRead)
def alarm_health(_who: Reader, query: HealthQueryDep, session: SessionDep) -> HealthRead:
    """Figures with units, benchmarks and verdicts for the scope and each site, alarms per day, the priority
    distribution, the top 10 bad actors with their actions, and links to every list."""
    return service.health_read(session, query.assess(session, breakdown=True))


@router.get("/bad-actors", response_model=Page[BadActorRead])
def bad_actors(_who: Reader, health: Assessed, session: SessionDep, page: PageDep) -> Page[BadActorRead]:
    """Every (rule, device) pair by alarms, with its share, the shelf in force and its actions."""
    now = utcnow()
    return paginate_list(
        health.scope.tally.bad_actors, page, lambda b: service.bad_actor_read(session, b, now=now)
    )


@router.get("/floods", response_model=Page[FloodRead])
def floods(_who: Reader, health: Assessed, page: PageDep) -> Page[FloodRead]:
    """Flood episodes in time order, with their top contributors."""
    return _page(health.scope.tally.floods, page, FloodRead)


@router.get("/chattering", response_model=Page[ChatteringRead])
def chattering(_who: Reader, health: Assessed, page: PageDep) -> Page[ChatteringRead]:
    """Chattering pairs, the most chattering alarms first."""
    return _page(health.scope.tally.chattering, page, ChatteringRead)


@router.get("/fleeting", response_model=Page[FleetingRead])
def fleeting(_who: Reader, health: Assessed, page: PageDep) -> Page[FleetingRead]:
    """Fleeting alarms in raise order."""
    return _page(health.scope.tally.fleeting, page, FleetingRead)


@router.get("/stale", response_model=Page[StaleRead])
def stale(_who: Reader, health: Assessed, page: PageDep) -> Page[StaleRead]:
    """Stale alarms, the longest active first."""
    return _page(health.scope.tally.stale, page, StaleRead)


@router.get("/shelves", response_model=Page[ShelvedRead])
def shelves(_who: Reader, health: Assessed, page: PageDep) -> Page[ShelvedRead]:
    """Shelves in force in the period, the longest first."""
    return _page(health.scope.tally.shelves, page, ShelvedRead)


@router.get("/intervals", response_model=Page[IntervalRead])
def intervals(_who: Reader, health: Assessed, page: PageDep) -> Page[IntervalRead]:
    """The 10-minute intervals with alarms, in time order; `flood` marks those above the flood level."""
    above = health.limits.flood_above

    def read(interval: IntervalCount) -> IntervalRead:
        return IntervalRead(start=interval.start, alarms=interval.alarms, flood=interval.alarms > above)

    return paginate_list(health.scope.tally.per_interval, page, read)

"""The venues' share of the periodic housekeeping pass."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction, utcnow
from cityhall.venues.booking import release_no_shows
from cityhall.venues.dorms import generate_cleaning_tasks, release_repaired_rooms

log = structlog.get_logger(__name__)


def run_venue_cycle(session_factory: sessionmaker[Session], *, now: datetime | None = None) -> list[int]:
    """Release no-shows and expire undecided applications, open due dormitory cleaning tasks and end the
    booking block of rooms whose repair is done; returns the ids of the bookings changed."""
    at = now or utcnow()
    with transaction(session_factory) as session:
        released = [b.id for b in release_no_shows(session, now=at)]
    if released:
        log.info("venue_bookings_released", booking_ids=released)
    with transaction(session_factory) as session:
        tasks = [t.id for t in generate_cleaning_tasks(session, now=at)]
        repaired = release_repaired_rooms(session, now=at)
    if tasks or repaired:
        log.info("dorm_upkeep", cleaning_task_ids=tasks, repaired_ticket_ids=repaired)
    return released

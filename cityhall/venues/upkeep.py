"""The venues' share of the periodic housekeeping pass."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.venues.booking import release_no_shows

log = structlog.get_logger(__name__)


def run_venue_cycle(session_factory: sessionmaker[Session], *, now: datetime | None = None) -> list[int]:
    """Release no-shows and expire undecided applications; returns the ids of the bookings changed."""
    with transaction(session_factory) as session:
        released = [b.id for b in release_no_shows(session, now=now)]
    if released:
        log.info("venue_bookings_released", booking_ids=released)
    return released

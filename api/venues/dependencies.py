"""Dependencies for the venue routes: bookings and resources by id, the citizen's key, a rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from api.deps import SessionDep
from api.exceptions import NotAuthenticatedError
from cityhall.errors import DomainError
from cityhall.models import Booking, VenueApplicant, VenueResource
from cityhall.venues import booking as booking_service


def valid_booking_id(booking_id: int, session: SessionDep) -> Booking:
    """The booking in the path, or 404."""
    return booking_service.get_booking(session, booking_id)


def valid_resource_id(resource_id: int, session: SessionDep) -> VenueResource:
    """The active resource in the path, or 404."""
    return booking_service.get_resource(session, resource_id)


ValidBooking = Annotated[Booking, Depends(valid_booking_id)]
ValidResource = Annotated[VenueResource, Depends(valid_resource_id)]

applicant_key_scheme = APIKeyHeader(name="X-Applicant-Key", scheme_name="ApplicantKey", auto_error=False)


def current_applicant(
    session: SessionDep, key: Annotated[str | None, Depends(applicant_key_scheme)]
) -> VenueApplicant:
    """The citizen holding the key in X-Applicant-Key; 401 without a valid key."""
    applicant = booking_service.applicant_by_key(session, key) if key else None
    if applicant is None:
        raise NotAuthenticatedError("invalid_applicant_key", "send the key you were given as X-Applicant-Key")
    return applicant


def optional_applicant(
    session: SessionDep, key: Annotated[str | None, Depends(applicant_key_scheme)]
) -> VenueApplicant | None:
    """The returning citizen, when a valid X-Applicant-Key is sent."""
    return current_applicant(session, key) if key else None


CurrentApplicant = Annotated[VenueApplicant, Depends(current_applicant)]
OptionalApplicant = Annotated[VenueApplicant | None, Depends(optional_applicant)]


class TooManyRequestsError(DomainError):
    """A public form was sent too often from one address."""

    status_code = 429


@dataclass
class RateLimit:
    """At most `limit` calls per `window_s` seconds per client address (in this process)."""

    limit: int
    window_s: float
    _calls: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> None:
        """Count this call; 429 when the address is over its limit."""
        client = request.client.host if request.client else "unknown"
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(client, deque())
            while calls and calls[0] <= now - self.window_s:
                calls.popleft()
            if len(calls) >= self.limit:
                raise TooManyRequestsError(
                    "too_many_requests",
                    f"at most {self.limit} applications per {self.window_s / 60:g} minutes",
                )
            calls.append(now)

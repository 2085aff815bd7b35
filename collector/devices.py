"""Which devices exist and where they are: the asset tags every reading is written with."""

from __future__ import annotations

import threading
import time

import structlog
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cityhall.models import Building, Device, Floor, Site, Space

log = structlog.get_logger(__name__)


class DeviceDirectory:
    """A cached map device code -> asset tags, reloaded periodically and when an unknown code shows up."""

    def __init__(
        self, session_factory: sessionmaker[Session], *, refresh_s: float = 60.0, retry_s: float = 5.0
    ) -> None:
        self._factory = session_factory
        self._refresh_s = refresh_s
        self._retry_s = retry_s
        self._tags: dict[str, dict[str, str]] = {}
        self._quantities: dict[str, frozenset[str]] = {}
        self._loaded_at = float("-inf")
        self._retry_at = float("-inf")  # after a failed reload, none before this (time.monotonic)
        self._lock = threading.Lock()

    def reload(self) -> None:
        """Read active devices with their space, building and site codes."""
        stmt = (
            select(Device.code, Device.kind, Device.quantities, Space.code, Building.code, Site.code)
            .join(Space, Device.space_id == Space.id)
            .join(Floor, Space.floor_id == Floor.id)
            .join(Building, Floor.building_id == Building.id)
            .join(Site, Building.site_id == Site.id)
            .where(Device.is_active.is_(True))
        )
        tags: dict[str, dict[str, str]] = {}
        quantities: dict[str, frozenset[str]] = {}
        with self._factory() as session:
            for code, kind, qs, space, building, site in session.execute(stmt):
                tags[code] = {"kind": kind.value, "space": space, "building": building, "site": site}
                quantities[code] = frozenset(qs)
        with self._lock:
            self._tags, self._quantities, self._loaded_at = tags, quantities, time.monotonic()

    def _maybe_reload(self, *, force: bool) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            return
        age = now - self._loaded_at
        # An unknown code forces a reload, but at most every 5 s so a flood of unknown devices stays cheap.
        if age > self._refresh_s or (force and age > 5.0):
            try:
                self.reload()
            except SQLAlchemyError as err:
                # The database is down: keep the devices we know (an unknown one is quarantined, and replayed
                # once it is known) rather than fail the batch; try again after retry_s, not on every message.
                self._retry_at = now + self._retry_s
                log.warning("device_reload_failed", error=str(err), known_devices=len(self._tags))

    def lookup(self, code: str) -> dict[str, str] | None:
        """Tags of a known device, or None."""
        self._maybe_reload(force=False)
        if code not in self._tags:
            self._maybe_reload(force=True)
        return self._tags.get(code)

    def quantities(self, code: str) -> frozenset[str] | None:
        """What a known device is registered as measuring, or None for an unknown code (which forces a
        reload, at most every 5 s)."""
        found = self._quantities.get(code)
        if found is None:
            self.lookup(code)
            found = self._quantities.get(code)
        elif time.monotonic() - self._loaded_at > self._refresh_s:
            self._maybe_reload(force=False)
            found = self._quantities.get(code)
        return found

    def current_quantities(self) -> dict[str, frozenset[str]]:
        """The map device code -> quantities, reloaded first if it is older than the refresh interval: for
        checking a whole batch with one clock read (an unknown code still goes through `quantities`)."""
        if time.monotonic() - self._loaded_at > self._refresh_s:
            self._maybe_reload(force=False)
        return self._quantities

    def measures(self, code: str, quantity: str) -> bool:
        """True when the device is registered as measuring this quantity."""
        return quantity in self._quantities.get(code, frozenset())

    def tags(self) -> dict[str, dict[str, str]]:
        """The current map (a snapshot)."""
        return self._tags

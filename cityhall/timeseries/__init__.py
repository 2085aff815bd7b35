"""Reading stores: InfluxDB through its v1 HTTP API in production, a SQL table in the embedded default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from cityhall.contract import Reading
from cityhall.db import make_engine
from cityhall.settings import Settings

# Tag values every reading carries so dashboards can group without joins: device -> {site, building, ...}.
DeviceTags = Mapping[str, str]
Series = dict[str, list[tuple[datetime, float]]]


class StoreUnavailableError(Exception):
    """The store could not be reached or refused service; the caller keeps the readings and retries."""


class ReadingStore(Protocol):
    """Where readings are kept; writes are idempotent on (device, quantity, timestamp)."""

    def write(self, readings: Sequence[Reading], tags: Mapping[str, DeviceTags]) -> None:
        """Durably store readings, or raise StoreUnavailableError having stored none or some (idempotent)."""

    def window(
        self, *, quantity: str, since: datetime, until: datetime, devices: Sequence[str] | None = None
    ) -> Series:
        """Readings of one quantity in [since, until], per device, oldest first."""

    def close(self) -> None:
        """Release connections."""


def make_store(settings: Settings) -> ReadingStore:
    """The store the settings ask for: InfluxDB when CITYHALL_INFLUX_URL is set, else the SQL table."""
    # Imported here because both adapters import this module for the protocol and the error type.
    from cityhall.timeseries.influx import InfluxStore  # noqa: PLC0415
    from cityhall.timeseries.sql import SqlStore  # noqa: PLC0415

    if settings.influx_url:
        return InfluxStore.from_settings(settings)
    return SqlStore(make_engine(settings.database_url))

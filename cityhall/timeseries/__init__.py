"""Reading stores: InfluxDB through its v1 HTTP API in production, a SQL table in the embedded default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from cityhall.contract import Reading
from cityhall.db import make_engine
from cityhall.settings import Settings

# Tag values every reading carries so dashboards can group without joins: device -> {site, building, ...}.
DeviceTags = Mapping[str, str]
Series = dict[str, list[tuple[datetime, float]]]
Point = tuple[datetime, float]
# Buckets of a day (and of any length that does not divide 8 hours) start at this zone's local midnight: the
# energy committee's days are Tainan's. Asia/Taipei has kept UTC+8 all year since 1980.
BUCKET_ZONE = ZoneInfo("Asia/Taipei")


class StoreUnavailableError(Exception):
    """The store could not be reached or refused service; the caller keeps the readings and retries."""


@dataclass(frozen=True, slots=True)
class BucketStats:
    """One device's first, last, lowest and highest reading in one time bucket."""

    start: datetime
    first: float
    last: float
    low: float
    high: float


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


class AggregatingStore(ReadingStore, Protocol):
    """A reading store that also sums readings up per device and time bucket, in the store, so a year of
    15-minute readings reaches Python as one row per device and day (committee reports, EnPIs, progress).

    Buckets are `bucket` long and start at Asia/Taipei midnight plus whole buckets (`bucket` divides a day);
    a bucket is keyed by its start (UTC). Empty buckets are left out. Windows are [since, until).
    """

    def bucket_stats(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, list[BucketStats]]:
        """Per device, each bucket's first, last, lowest and highest reading, oldest bucket first."""

    def bucket_means(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, dict[datetime, float]]:
        """Per device, each bucket's mean reading."""

    def peak_bucket_means(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, float]:
        """Per device, the highest of its bucket means (e.g. the peak 15-minute demand)."""

    def last_readings(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, Point]:
        """Per device, its last reading in [since, until) with its time."""


def make_store(settings: Settings) -> AggregatingStore:
    """The store the settings ask for: InfluxDB when CITYHALL_INFLUX_URL is set, else the SQL table."""
    # Imported here because both adapters import this module for the protocol and the error type.
    from cityhall.timeseries.influx import InfluxStore  # noqa: PLC0415
    from cityhall.timeseries.sql import SqlStore  # noqa: PLC0415

    if settings.influx_url:
        return InfluxStore.from_settings(settings)
    return SqlStore(make_engine(settings.database_url))

"""Consumption per meter and bucket (hour or local day) from cumulative registers in the reading store.

One aggregate read per batch of meters gives each bucket's first, last, min and max register reading
(`AggregatingStore.bucket_stats`: InfluxDB or the SQL table groups them). A bucket whose readings run
straight up (first = min, last = max, first >= the previous bucket's last) used exactly `last - previous
last`. Only the buckets that do not (a reset, a rollover, a spike, a replacement) are read reading by reading
and settled by `cityhall.energy.registers.increments`. A year of daily figures for hundreds of meters is then
one pass over the store's aggregates, not millions of points through Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cityhall.energy.periods import TAIPEI
from cityhall.energy.registers import Point, RegisterEvent, increments
from cityhall.timeseries import AggregatingStore, BucketStats

# A reading this long before the window still counts as the register's start (a meter offline for longer loses
# the gap's consumption from this window, never doubles it).
LOOKBACK = timedelta(days=31)
_DEVICES_PER_QUERY = 100


class Resolution(StrEnum):
    """The bucket consumption is computed in; longer periods are sums of local days."""

    HOUR = "1h"
    DAY = "1d"

    @property
    def step(self) -> timedelta:
        """The bucket's length."""
        return timedelta(hours=1) if self is Resolution.HOUR else timedelta(days=1)


@dataclass(slots=True)
class MeterSeries:
    """Consumption of meters per bucket (bucket start, UTC -> amount in the register's unit)."""

    by_meter: dict[str, dict[datetime, float]]
    events: list[RegisterEvent]


def _check_aligned(ts: datetime, resolution: Resolution) -> None:
    local = ts.astimezone(TAIPEI)
    if local.minute or local.second or local.microsecond or (resolution is Resolution.DAY and local.hour):
        raise ValueError(f"{ts.isoformat()} is not on a {resolution} boundary in Asia/Taipei")


@dataclass(frozen=True, slots=True)
class _Window:
    """One measurement over [since, until) in buckets of `resolution`."""

    store: AggregatingStore
    measurement: str
    since: datetime
    until: datetime
    resolution: Resolution


def meter_series(
    store: AggregatingStore,
    *,
    measurement: str,
    devices: Sequence[str],
    since: datetime,
    until: datetime,
    resolution: Resolution,
) -> MeterSeries:
    """Consumption per meter and bucket in [since, until); `since`, `until` on bucket boundaries."""
    _check_aligned(since, resolution)
    _check_aligned(until, resolution)
    window = _Window(store, measurement, since, until, resolution)
    out = MeterSeries({}, [])
    for i in range(0, len(devices), _DEVICES_PER_QUERY):
        batch = list(devices[i : i + _DEVICES_PER_QUERY])
        stats = _bucket_stats(window, batch)
        before = _last_before(window, batch)
        for device in batch:
            amounts, events = _settle(window, device, stats.get(device, []), before.get(device))
            out.by_meter[device] = amounts
            out.events += events
    return out


def _bucket_stats(w: _Window, devices: list[str]) -> dict[str, list[BucketStats]]:
    return w.store.bucket_stats(
        quantity=w.measurement, devices=devices, since=w.since, until=w.until, bucket=w.resolution.step
    )


def _last_before(w: _Window, devices: list[str]) -> dict[str, Point]:
    """The last register reading before the window per device (within LOOKBACK), with its time."""
    return w.store.last_readings(
        quantity=w.measurement, devices=devices, since=w.since - LOOKBACK, until=w.since
    )


def _dirty(buckets: list[BucketStats], before: Point | None) -> list[bool]:
    """Which buckets cannot be settled from their aggregates alone."""
    dirty = [False] * len(buckets)
    reference = before[1] if before else None
    for i, b in enumerate(buckets):
        inside = b.low < b.first or b.high > b.last
        falls = reference is not None and b.first < reference
        if inside or falls:
            dirty[i] = True
        if falls and i > 0:
            dirty[i - 1] = True  # the previous bucket's last reading may be the spike
        reference = b.last
    return dirty


def _settle(
    w: _Window, device: str, buckets: list[BucketStats], before: Point | None
) -> tuple[dict[datetime, float], list[RegisterEvent]]:
    """Each bucket's consumption: from aggregates where they suffice, from the readings where not."""
    dirty = _dirty(buckets, before)
    amounts: dict[datetime, float] = {}
    reference = before[1] if before else None
    for b, is_dirty in zip(buckets, dirty, strict=True):
        if not is_dirty:
            amounts[b.start] = b.last - (b.first if reference is None else reference)
        reference = b.last
    events: list[RegisterEvent] = []
    step = w.resolution.step
    for first, last in _runs(dirty):
        start = buckets[first - 1].start if first > 0 else (before[0] if before else buckets[first].start)
        end = buckets[last + 1].start + step if last + 1 < len(buckets) else w.until
        steps, found = increments(device, _readings(w, device, start, end))
        run = buckets[first : last + 1]
        run_start, run_end = run[0].start, run[-1].start + step
        for b in run:
            amounts[b.start] = 0.0
        for ts, amount in steps:
            if run_start <= ts < run_end:
                amounts[_bucket_of(ts, run)] += amount
        events += [e for e in found if run_start <= e.ts < run_end]
    return dict(sorted(amounts.items())), events


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    runs: list[tuple[int, int]] = []
    for i, flag in enumerate(flags):
        if flag and runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        elif flag:
            runs.append((i, i))
    return runs


def _bucket_of(ts: datetime, buckets: list[BucketStats]) -> datetime:
    """The start of the last bucket that starts at or before `ts`."""
    key = buckets[0].start
    for b in buckets:
        if b.start > ts:
            break
        key = b.start
    return key


def _readings(w: _Window, device: str, start: datetime, end: datetime) -> list[Point]:
    """Register readings of one device in [start, end), oldest first."""
    series = w.store.window(quantity=w.measurement, since=start, until=end, devices=[device])
    return [(ts, value) for ts, value in series.get(device, []) if ts < end]

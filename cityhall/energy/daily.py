"""Daily register rollups: the last reading of every register per Asia/Taipei day, kept beside the readings.

A year-long dashboard (four-areas progress: this year so far, and the same range a year earlier) would read
every 15-minute register reading of every main meter for a year to find one number per meter and day. The
rollup keeps that number: measurement `<quantity>_daily` (`energy_kwh_daily`, `volume_m3_daily`), the same
tags as the readings, field `value` = the day's last register reading, time = the day's local midnight. So
`non_negative_difference(last("value")) ... GROUP BY time(1d), "device" tz('Asia/Taipei')` gives the same
daily consumption on the rollup as on the readings, from 1/96th of the points.

Written by us rather than by an InfluxDB continuous query: production runs InfluxDB 2.7 through its v1 API,
which has neither continuous queries nor `SELECT ... INTO`. The housekeeping loop re-rolls the last few
days every pass (readings drained late from the collector's spool land in them), and
`cityhall energy rollup --since` rebuilds any range (after an import or a long outage). Writing a day again
overwrites its point (same series and time), so a re-roll is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

from cityhall.energy.periods import TAIPEI
from cityhall.timeseries.influx import InfluxStore, quote_ident, quote_str, rfc3339
from cityhall.timeseries.lineprotocol import epoch_ns, tag_string

# The cumulative registers (cityhall.contract.QUANTITIES with cumulative=True) and their rollups.
REGISTERS = ("energy_kwh", "volume_m3")
SUFFIX = "_daily"
CHUNK_DAYS = 31  # one query per register and month: a month of 500 meters is 15,500 rows


def rollup_name(quantity: str) -> str:
    """The daily rollup's measurement for a register quantity."""
    return quantity + SUFFIX


def local_midnight(day: date) -> datetime:
    """The instant an Asia/Taipei day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=TAIPEI)


def _chunks(since: date, until: date) -> Iterator[tuple[date, date]]:
    start = since
    while start < until:
        end = min(start + timedelta(days=CHUNK_DAYS), until)
        yield start, end
        start = end


def daily_lines(store: InfluxStore, quantity: str, since: date, until: date) -> list[str]:
    """Line protocol for the rollup of one register over the local days [since, until)."""
    q = (
        f'SELECT last("value") AS "value" FROM {quote_ident(quantity)} '  # noqa: S608 - quoted literals
        f"WHERE time >= {quote_str(rfc3339(local_midnight(since)))} "
        f"AND time < {quote_str(rfc3339(local_midnight(until)))} "
        "GROUP BY time(1d), * fill(none) tz('Asia/Taipei')"
    )
    measurement = rollup_name(quantity)
    lines = []
    for series in store.query(q):
        tags = dict(series.get("tags", {}))
        device = tags.pop("device", "")
        if not device:
            continue  # a reading without a device tag is not a register we know
        tag_set = tag_string(device, tags)
        for t, value in series["values"]:
            at = datetime.fromtimestamp(t / 1000, UTC)
            lines.append(f"{measurement},{tag_set} value={float(value)!r} {epoch_ns(at)}")
    return lines


def rollup_registers(
    store: InfluxStore,
    *,
    since: date,
    until: date,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the daily rollup of every register for the local days [since, until); returns points written.

    `progress`, if given, is called with the number of days done after each chunk of each register.
    """
    written = 0
    for quantity in REGISTERS:
        for start, end in _chunks(since, until):
            lines = daily_lines(store, quantity, start, end)
            if lines:
                store.write_lines(("\n".join(lines) + "\n").encode())
            written += len(lines)
            if progress is not None:
                progress((end - start).days)
    return written


def recent_days(now: datetime, days: int) -> tuple[date, date]:
    """The local days a housekeeping pass re-rolls: the last `days` days up to and including today."""
    today = now.astimezone(TAIPEI).date()
    return today - timedelta(days=days - 1), today + timedelta(days=1)

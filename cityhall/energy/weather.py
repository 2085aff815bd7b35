"""Outdoor temperature for normalisation: hourly means from an outdoor sensor, and cooling degree-days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from cityhall.energy.periods import TAIPEI
from cityhall.timeseries import AggregatingStore

# Tainan buildings start to need cooling above about 24 degC daily mean (the simulator's balance point too);
# the committee can choose another base, and the baseline model searches its own.
CDD_BASE_C = 24.0


def hourly_temperature(
    store: AggregatingStore, device: str, *, since: datetime, until: datetime
) -> dict[datetime, float]:
    """Hourly mean `temperature_c` (degC) of an outdoor sensor in [since, until), keyed by hour start."""
    means = store.bucket_means(
        quantity="temperature_c", devices=[device], since=since, until=until, bucket=timedelta(hours=1)
    )
    return means.get(device, {})


def daily_mean_temperature(hourly_c: Mapping[datetime, float]) -> dict[datetime, float]:
    """Mean degC per Asia/Taipei day (keyed by local midnight) of hourly temperatures."""
    sums: dict[datetime, list[float]] = {}
    for ts, value in hourly_c.items():
        day = ts.astimezone(TAIPEI).replace(hour=0, minute=0, second=0, microsecond=0)
        sums.setdefault(day, []).append(value)
    return {day: sum(values) / len(values) for day, values in sorted(sums.items())}


def cooling_degree_days(hourly_c: Mapping[datetime, float], *, base_c: float = CDD_BASE_C) -> float:
    """Cooling degree-days (degC x day): the sum over local days of max(0, daily mean - base)."""
    return sum(max(0.0, mean - base_c) for mean in daily_mean_temperature(hourly_c).values())

"""A seeded, synthetic Tainan weather series: outdoor temperature and humidity by the hour.

Synthetic, not observed: monthly normals shaped on Central Weather Administration climate tables for Tainan
(January daily mean about 18 degC, July about 29 degC), a diurnal swing of about 7 degC peaking mid-afternoon,
relative humidity 70-80 %, plus a seeded day-to-day anomaly so that two days are never quite alike.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime

from simulators.profiles import TAIPEI

ANNUAL_MEAN_C = 23.5
ANNUAL_AMPLITUDE_C = 5.5  # January mean 18 degC, July mean 29 degC
COLDEST_DAY_OF_YEAR = 15
DIURNAL_HALF_SWING_C = 3.5  # about 7 degC between 05:00 and 14:00
WARMEST_HOUR = 14.0
DAILY_ANOMALY_SD_C = 1.2
MEAN_HUMIDITY_PCT = 75.0
# Cooling load starts when the outdoor air is warmer than this, and is full this many degrees above it.
COOLING_BALANCE_POINT_C = 24.0
COOLING_FULL_LOAD_SPAN_C = 8.0


@dataclass(frozen=True, slots=True)
class Outdoor:
    """Outdoor conditions at one instant."""

    temperature_c: float
    humidity_pct: float
    cloud_share: float  # 0 clear .. 1 overcast, for solar output

    @property
    def cooling_share(self) -> float:
        """0..1 share of the design cooling load that this outdoor temperature asks for."""
        excess_c = self.temperature_c - COOLING_BALANCE_POINT_C
        return min(1.0, max(0.0, excess_c / COOLING_FULL_LOAD_SPAN_C))


@dataclass(slots=True)
class TainanWeather:
    """Deterministic for a seed: the same instant always gets the same weather, in any order of asking."""

    seed: int
    _days: dict[date, tuple[float, float]] = field(default_factory=dict)

    def _day(self, day: date) -> tuple[float, float]:
        """(temperature anomaly degC, cloud share) of one local day, from a per-day seeded draw."""
        found = self._days.get(day)
        if found is None:
            rng = random.Random(f"weather:{self.seed}:{day.isoformat()}")  # noqa: S311 - simulation, not security
            found = (rng.gauss(0.0, DAILY_ANOMALY_SD_C), min(1.0, max(0.0, rng.betavariate(2, 3))))
            self._days[day] = found
        return found

    def at(self, ts: datetime) -> Outdoor:
        """Outdoor conditions at `ts` (timezone-aware)."""
        local = ts.astimezone(TAIPEI)
        anomaly_c, cloud = self._day(local.date())
        day_of_year = local.timetuple().tm_yday
        seasonal_c = ANNUAL_MEAN_C - ANNUAL_AMPLITUDE_C * math.cos(
            2 * math.pi * (day_of_year - COLDEST_DAY_OF_YEAR) / 365.25
        )
        hour = local.hour + local.minute / 60
        diurnal = math.cos(2 * math.pi * (hour - WARMEST_HOUR) / 24)  # +1 at the warmest hour
        temperature_c = seasonal_c + anomaly_c + DIURNAL_HALF_SWING_C * diurnal * (1 - 0.4 * cloud)
        # Relative humidity falls as the air warms through the day and rises with cloud.
        humidity_pct = MEAN_HUMIDITY_PCT - 8.0 * diurnal + 8.0 * (cloud - 0.4)
        return Outdoor(round(temperature_c, 2), round(min(98.0, max(45.0, humidity_pct)), 1), cloud)

"""How real buildings and their people behave beyond the base profiles; opt-in per scenario (`realism:`).

The base models (simulators/devices.py) are what the rules were first tuned on: every room reads its driving
value plus white noise, dormitories draw no water at night, doors never open. A scenario's `realism:` block
switches on, part by part, what real buildings do instead (docs/simulators.md lists every parameter):

- `climate`: rooms have thermal mass. The air follows its driving value (the set-point while cooled, the
  free-running value otherwise) with a first-order lag, and the sensor adds a little noise of its own, so a
  sensor that rounds to 0.1 degC repeats itself in a steady room.
- `dormitory`: only a share of the rooms is lived in; on some evenings the residents are home with the
  air-conditioning off and the closed room runs warm; at night toilets and taps draw water in short bursts.
- `lighting`: common lighting is partly on during the day on weekends and holidays; timers (facade, security
  lighting) add their load at set hours.
- `contacts`: people open and close doors and windows, the more often the busier the building.

The determinism contract of simulators/devices.py holds: the new randomness comes from a second stream per
device (seeded from the scenario seed and the device code), drawn the same way whatever the faults do; the
choices a room's devices share (who lives there, an evening without air-conditioning) come from draws seeded
by the room and the day. No device's data depends on which other devices are simulated.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_LITRES_PER_M3 = 1000.0
_S_PER_H = 3600.0

DayType = Literal["all", "working", "non_working"]


def parse_hours(value: object) -> tuple[float, float]:
    """`18:00-22:00` as local hours (18.0, 22.0); an end before the start runs past midnight."""
    if isinstance(value, tuple):
        return value  # a default, already parsed
    found = _HOURS.match(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError("hours such as 18:00-22:00 (local time; 22:00-06:00 runs past midnight)")
    from_h, from_m, to_h, to_m = (int(g) for g in found.groups())
    if from_m > 59 or to_m > 59 or from_h + from_m / 60 > 24 or to_h + to_m / 60 > 24:
        raise ValueError("hours run from 00:00 to 24:00")
    start, end = from_h + from_m / 60, to_h + to_m / 60
    if start % 24 == end % 24:
        raise ValueError("the hours must not be empty")
    return start, end


Hours = Annotated[tuple[float, float], BeforeValidator(parse_hours)]


def in_hours(hour: float, hours: tuple[float, float]) -> bool:
    """Whether the local `hour` (0..24) is inside `hours` (start inclusive, end exclusive)."""
    start, end = hours
    return start <= hour < end if start < end else hour >= start or hour < end


def on_day(days: DayType, working_day: bool) -> bool:
    """Whether a rule for `days` applies on a working (or non-working) day."""
    return days == "all" or (days == "working") == working_day


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClimateLag(_Spec):
    """Rooms with thermal mass, and sensors with a little noise of their own."""

    temperature_lag_min: float = Field(40.0, gt=0, le=1440)
    humidity_lag_min: float = Field(30.0, gt=0, le=1440)
    co2_lag_min: float = Field(20.0, gt=0, le=1440)
    temperature_noise_c: float = Field(0.02, ge=0, le=1)
    humidity_noise_pct: float = Field(0.2, ge=0, le=5)
    co2_noise_ppm: float = Field(5.0, ge=0, le=100)


class DormitoryLife(_Spec):
    """Who lives in the dormitory, how they cool their rooms, and the water they draw at night."""

    bed_share: float = Field(0.9, ge=0, le=1)
    ac_off_evening_share: float = Field(0.25, ge=0, le=1)
    evening_hours: Hours = (18.0, 23.5)
    room_gain_c: float = Field(2.5, ge=0, le=10)
    free_running_cap_c: float = Field(34.0, ge=25, le=45)
    night_draws_per_resident_h: float = Field(0.15, ge=0, le=10)
    draw_litres: float = Field(6.0, gt=0, le=200)
    draw_seconds: float = Field(60.0, ge=1, le=3600)


class LightingTimer(_Spec):
    """A lighting circuit on a timer: `share` of the meter's rated load during `hours` on `days`."""

    devices: tuple[str, ...] = Field(min_length=1)
    hours: Hours
    share: float = Field(gt=0, le=1)
    days: DayType = "all"


class Lighting(_Spec):
    """Common lighting on non-working days, and lighting timers."""

    non_working_day_share: float = Field(0.35, ge=0, le=1)
    non_working_day_hours: Hours = (8.0, 18.0)
    timers: tuple[LightingTimer, ...] = ()


class ContactUse(_Spec):
    """Doors and windows opened by people: openings per hour at full occupancy, each a few seconds long."""

    openings_per_h: float = Field(4.0, ge=0, le=3600)
    by_device: dict[str, Annotated[float, Field(ge=0, le=3600)]] = {}
    open_seconds: tuple[Annotated[float, Field(gt=0, le=3600)], Annotated[float, Field(gt=0, le=3600)]] = (
        5.0,
        40.0,
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.open_seconds[0] > self.open_seconds[1]:
            raise ValueError("open_seconds is [shortest, longest]")
        return self


class RealismSpec(_Spec):
    """A scenario's `realism:` block: each part is on when it is given (`{}` takes its defaults)."""

    climate: ClimateLag | None = None
    dormitory: DormitoryLife | None = None
    lighting: Lighting | None = None
    contacts: ContactUse | None = None


def _draw(key: str) -> float:
    """A uniform draw of its own for `key` (a room, a room's day): the same whatever else is simulated."""
    return random.Random(key).random()  # noqa: S311 - simulation, not security


@dataclass(slots=True)
class Realism:
    """A scenario's realism with its seed: the choices that every device of a room shares."""

    spec: RealismSpec
    seed: int
    _lived_in: dict[str, bool] = field(default_factory=dict)
    _evening_off: dict[tuple[str, int], bool] = field(default_factory=dict)

    def lived_in(self, space: str) -> bool:
        """Whether residents live in this dormitory room during the run (`bed_share` of the rooms)."""
        found = self._lived_in.get(space)
        if found is None:
            dorm = self.spec.dormitory
            found = dorm is None or _draw(f"{self.seed}:room:{space}") < dorm.bed_share
            self._lived_in[space] = found
        return found

    def evening_off(self, space: str, local: datetime) -> bool:
        """Whether the residents of this room are home this evening with the air-conditioning off."""
        dorm = self.spec.dormitory
        if dorm is None or not in_hours(local.hour + local.minute / 60, dorm.evening_hours):
            return False
        # An evening that runs past midnight belongs to the day it started on.
        day = local.date() if local.hour >= dorm.evening_hours[0] else (local - timedelta(days=1)).date()
        key = (space, day.toordinal())
        found = self._evening_off.get(key)
        if found is None:
            found = _draw(f"{self.seed}:evening:{space}:{key[1]}") < dorm.ac_off_evening_share
            self._evening_off[key] = found
        return found

    def room_cools(self, space: str, local: datetime) -> bool:
        """Whether a dormitory room's residents run its air-conditioning now, when the weather asks for it."""
        return self.lived_in(space) and not self.evening_off(space, local)


@dataclass(slots=True)
class DevicePhysics:
    """What one device carries from sample to sample under realism: its room's air, water draws under way,
    and its own second random stream."""

    realism: Realism
    rng: random.Random
    dorm_room: bool = False  # a dormitory room's device: its residents decide the cooling
    lit_on_days_off: bool = False  # a civic building's lighting meter: common lighting on non-working days
    timers: tuple[LightingTimer, ...] = ()
    draws_per_h: float = 0.0  # a dormitory mains meter: night draws per hour (residents x rate)
    openings_per_h: float = 0.0  # a door or window: openings per hour at full occupancy
    air: tuple[float, float, float] | None = None  # the room's temperature, humidity and CO2
    draws: list[tuple[float, float, float]] = field(default_factory=list)  # (start s, end s, m3/s)

    def breathe(self, target: tuple[float, float, float], dt_s: float) -> tuple[float, float, float]:
        """The sensor's temperature, humidity and CO2: the room's air moved towards `target` over `dt_s`
        with its lags, plus the sensor's noise (three draws every sample)."""
        climate = self.realism.spec.climate
        if climate is None:  # pragma: no cover - only bound with a climate block
            return target
        air = self.air
        if air is None:
            air = target
        else:
            air = (
                _lagged(air[0], target[0], dt_s, climate.temperature_lag_min),
                _lagged(air[1], target[1], dt_s, climate.humidity_lag_min),
                _lagged(air[2], target[2], dt_s, climate.co2_lag_min),
            )
        self.air = air
        gauss = self.rng.gauss
        return (
            air[0] + gauss(0.0, 1.0) * climate.temperature_noise_c,
            air[1] + gauss(0.0, 1.0) * climate.humidity_noise_pct,
            air[2] + gauss(0.0, 1.0) * climate.co2_noise_ppm,
        )

    def night_water(self, t_s: float, dt_s: float, *, quiet: bool) -> tuple[float, float]:
        """(flow now in m3/h, volume drawn over the last `dt_s` in m3) of toilets and taps at night.

        While the building is `quiet` (its base water use is 0), draws start as a Poisson process of
        `draws_per_h`; each lasts about `draw_seconds` and draws about `draw_litres`. Between draws the flow
        is exactly 0; the volume counts every draw in full, whenever the samples fall."""
        dorm = self.realism.spec.dormitory
        if dorm is not None and quiet and dt_s > 0:
            rng = self.rng
            for _ in range(_poisson(rng, self.draws_per_h * dt_s / _S_PER_H)):
                start = t_s - dt_s * rng.random()
                seconds = dorm.draw_seconds * rng.uniform(0.75, 1.25)
                litres = dorm.draw_litres * rng.uniform(0.5, 1.5)
                self.draws.append((start, start + seconds, litres / _LITRES_PER_M3 / seconds))
        if not self.draws:
            return 0.0, 0.0
        since = t_s - dt_s
        volume = 0.0
        flow = 0.0
        for start, end, m3_per_s in self.draws:
            volume += m3_per_s * max(0.0, min(end, t_s) - max(start, since))
            if start <= t_s < end:
                flow += m3_per_s * _S_PER_H
        self.draws = [d for d in self.draws if d[1] > t_s]
        return flow, volume

    def openings(
        self, ts: datetime, dt_s: float, occupancy: float
    ) -> list[tuple[datetime, dict[str, float]]]:
        """A door's or window's openings since the last sample, as (time, values) messages in time order.

        Each opening starts and ends between two samples (so a sample always finds the contact at rest). They
        do not depend on faults: the engine leaves out those within a fault's interval (a door held open)."""
        contacts = self.realism.spec.contacts
        if contacts is None or dt_s <= 0:
            return []
        rng = self.rng
        shortest, longest = contacts.open_seconds
        spans = []
        for _ in range(_poisson(rng, self.openings_per_h * occupancy * dt_s / _S_PER_H)):
            seconds = min(rng.uniform(shortest, longest), dt_s / 2)
            opens = seconds + rng.random() * (dt_s - seconds)  # seconds before `ts`; it closes before `ts`
            spans.append((round(opens, 3), round(opens - seconds, 3)))
        if not spans:
            return []
        spans.sort(reverse=True)
        out: list[tuple[datetime, dict[str, float]]] = []
        closes_at = math.inf
        for opens, closes in spans:
            if out and opens >= closes_at:  # overlaps the opening before: the door was already open
                closes_at = min(closes_at, closes)
                out[-1] = (ts - timedelta(seconds=closes_at), {"open_state": 0.0})
                continue
            out.append((ts - timedelta(seconds=opens), {"open_state": 1.0}))
            out.append((ts - timedelta(seconds=closes), {"open_state": 0.0}))
            closes_at = closes
        return out

    def lighting_share(self, share: float, hour: float, working_day: bool) -> float:
        """A lighting meter's share of its rated load with common lighting on days off, plus its timers."""
        lighting = self.realism.spec.lighting
        if lighting is None:
            return share
        if self.lit_on_days_off and not working_day and in_hours(hour, lighting.non_working_day_hours):
            share = max(share, lighting.non_working_day_share)
        for timer in self.timers:
            if on_day(timer.days, working_day) and in_hours(hour, timer.hours):
                share += timer.share
        return share


def _lagged(current: float, target: float, dt_s: float, lag_min: float) -> float:
    """First order: `current` moved towards `target` over `dt_s` with time constant `lag_min`."""
    return target + (current - target) * math.exp(-dt_s / (lag_min * 60.0))


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's product of uniforms: means here are small)."""
    if mean <= 0:
        return 0
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count

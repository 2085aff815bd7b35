"""Value models per device kind: what each device reads at one moment, and the registers it carries.

Every model draws exactly two random numbers per sample, whatever its state, so that a fault that changes a
device's state never shifts its random stream: a faulty run and a fault-free run with the same seed differ
only where the fault acts (tests/simulators rely on this to check each fault's interval exactly). A scenario's
`realism:` (simulators/realism.py) draws from a second stream per device, under the same contract.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cityhall.contract import PayloadFormat
from cityhall.models import BuildingUse, DeviceKind, SpaceKind
from cityhall.reporting import Reporting, ReportingSpec
from simulators.profiles import IN_USE_SHARE, TAIPEI, is_working_day, occupancy, water_use
from simulators.realism import DevicePhysics
from simulators.weather import Outdoor, TainanWeather

# Peak electrical intensity by building use (W/m2): Taiwanese office buildings peak around 25-35 W/m2.
PEAK_W_PER_M2 = {BuildingUse.CIVIC_CENTER: 28.0, BuildingUse.OFFICE: 28.0, BuildingUse.DORMITORY: 20.0}
BASELOAD_SHARE = 0.18  # servers, lifts, emergency lighting and ventilation never switch off
MAIN_COOLING_SHARE = 0.3  # share of a main meter's peak that the chillers add on the hottest afternoons
HVAC_KW_PER_M2 = 0.012
LIGHTING_KW_PER_M2 = 0.010
LIGHTING_NIGHT_SHARE = 0.08  # emergency and security lighting
PLUG_KW_PER_M2 = 0.015
GENERAL_KW_PER_M2 = 0.02
AC_KW_PER_M2 = 0.05
SOLAR_KW_PER_M2 = 0.15
GENERATOR_KW = 250.0
GENERATOR_TEST_LOAD_SHARE = 0.3
WATER_M3H_PER_M2 = 0.00015
HEATER_FUEL_M3H_PER_M2 = 0.00001
GENERATOR_FUEL_M3H = 0.06
SETPOINT_C = 26.0  # Executive Yuan guidance for government offices: 26-28 degC
# Split units and air-handling units start cooling when it is warmer than this outside and someone is in.
AC_OUTDOOR_ON_C = 22.0
FREE_RUNNING_CAP_C = 29.5  # thermal mass and ventilation keep closed rooms below this
OUTDOOR_CO2_PPM = 420.0
OCCUPIED_CO2_RISE_PPM = 700.0
NOISE_SD = 0.03  # +-3 % multiplicative noise on every rate
HOURS_PER_YEAR = 8760.0


class MeterRole(StrEnum):
    """What an electricity, water or fuel meter measures, read from the register's `serves` text."""

    MAIN = "main"
    HVAC = "hvac"
    LIGHTING = "lighting"
    PLUG = "plug"
    GENERATOR = "generator"
    WATER_HEATER = "water_heater"
    GENERAL = "general"


def meter_role(serves: str) -> MeterRole:
    """The role of a meter from what it `serves` (e.g. `whole building`, `HVAC chillers`, `lighting`)."""
    text = serves.lower()
    rules = (
        ("whole building", MeterRole.MAIN),
        ("generator", MeterRole.GENERATOR),
        ("water heater", MeterRole.WATER_HEATER),
        ("hvac", MeterRole.HVAC),
        ("chiller", MeterRole.HVAC),
        ("power and", MeterRole.PLUG),
        ("sockets", MeterRole.PLUG),
        ("rooms and", MeterRole.PLUG),
        ("lighting", MeterRole.LIGHTING),
    )
    return next((role for needle, role in rules if needle in text), MeterRole.GENERAL)


@dataclass(frozen=True, slots=True)
class Moment:
    """Everything about one instant that every device shares: computed once per tick, not per device."""

    ts: datetime
    occupancy: dict[BuildingUse, float]
    water_use: dict[BuildingUse, float]
    outdoor: Outdoor
    sun_share: float
    generator_test: bool
    local: datetime  # Asia/Taipei
    hour: float  # local hour of day, 0..24
    working_day: bool

    @classmethod
    def at(cls, ts: datetime, weather: TainanWeather) -> Moment:
        """The shared state at `ts`."""
        local = ts.astimezone(TAIPEI)
        hour = local.hour + local.minute / 60
        outdoor = weather.at(ts)
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 12)) * (1 - 0.7 * outdoor.cloud_share)
        working_day = is_working_day(local.date())
        # Standby generators run a 30-minute load test on the first working Monday morning of the month.
        test = local.day <= 7 and local.weekday() == 0 and 10 <= hour < 10.5 and working_day
        return cls(
            ts=ts,
            occupancy={use: occupancy(use, ts) for use in BuildingUse},
            water_use={use: water_use(use, ts) for use in BuildingUse},
            outdoor=outdoor,
            sun_share=sun,
            generator_test=test,
            local=local,
            hour=hour,
            working_day=working_day,
        )

    def cooling(self, use: BuildingUse) -> bool:
        """Whether air-conditioning in a building of this use runs now (occupied and warm outside)."""
        return self.occupancy[use] >= IN_USE_SHARE and self.outdoor.temperature_c >= AC_OUTDOOR_ON_C


@dataclass(slots=True)
class Overrides:
    """What active faults change in one sample before the registers integrate (rates and states)."""

    rate_scale: float = 1.0
    rate_add: float = 0.0  # kW on a power meter, m3/h on a flow meter
    force_on: bool = False
    force_open: bool = False
    lighting_share: float | None = None
    temperature_c: float | None = None
    room_cooled: bool = False  # an air-conditioner in the room is forced on: the room cools with it


@dataclass(slots=True)
class SimulatedDevice:
    """One device: where it is, how big it is, and the registers it carries from sample to sample."""

    code: str
    kind: DeviceKind
    site: str
    building: str
    space: str
    use: BuildingUse
    served_area_m2: float
    capacity_people: int
    rng: random.Random
    role: MeterRole = MeterRole.GENERAL
    space_has_ac: bool = False
    space_kind: SpaceKind | None = None
    building_beds: int = 0  # a dormitory building's beds (its rooms' capacity)
    payload_format: PayloadFormat = PayloadFormat.NATIVE
    register_reporting: ReportingSpec = field(default_factory=ReportingSpec)  # the register's own word
    # Its effective reporting (cityhall.reporting); what goes on the wire follows it when the scenario asks.
    reporting: Reporting = field(default_factory=Reporting)
    physics: DevicePhysics | None = None  # a scenario's realism (simulators/realism.py), bound by its plan
    # Messages between the last sample and this one, with their own times (a door opened and closed).
    events: list[tuple[datetime, dict[str, float]]] = field(default_factory=list)
    energy_kwh: float = 0.0
    volume_m3: float = 0.0
    last_ts: datetime | None = field(default=None)

    @property
    def tags(self) -> dict[str, str]:
        """The asset tags a stored reading of this device carries."""
        return {"kind": self.kind.value, "space": self.space, "building": self.building, "site": self.site}

    def cooling(self, m: Moment) -> bool:
        """Whether the air-conditioning of this device's space runs now: the building is in use and it is warm
        outside; with a scenario's dormitory realism, only where the residents run it."""
        if not m.cooling(self.use):
            return False
        physics = self.physics
        if physics is None or not physics.dorm_room:
            return True
        return physics.realism.room_cools(self.space, m.local)

    def rated_rate(self) -> float:
        """Rated power (kW) of a meter, AC or inverter, or rated flow (m3/h) of a water or fuel meter."""
        area = self.served_area_m2
        match self.kind:
            case DeviceKind.ELECTRICITY_METER:
                per_m2 = {
                    MeterRole.MAIN: PEAK_W_PER_M2[self.use] / 1000,
                    MeterRole.HVAC: HVAC_KW_PER_M2,
                    MeterRole.LIGHTING: LIGHTING_KW_PER_M2,
                    MeterRole.PLUG: PLUG_KW_PER_M2,
                }.get(self.role, GENERAL_KW_PER_M2)
                return GENERATOR_KW if self.role is MeterRole.GENERATOR else per_m2 * area
            case DeviceKind.AIR_CONDITIONER:
                return AC_KW_PER_M2 * area
            case DeviceKind.SOLAR_INVERTER:
                return SOLAR_KW_PER_M2 * area
            case DeviceKind.WATER_METER:
                return WATER_M3H_PER_M2 * area
            case DeviceKind.FUEL_METER:
                return (
                    GENERATOR_FUEL_M3H if self.role is MeterRole.GENERATOR else HEATER_FUEL_M3H_PER_M2 * area
                )
        return 0.0

    def start_registers(self) -> None:
        """Give the registers a plausible reading for a meter some years in service."""
        years = 1 + (sum(self.code.encode()) % 7)
        if self.kind in {DeviceKind.ELECTRICITY_METER, DeviceKind.SOLAR_INVERTER}:
            self.energy_kwh = round(self.rated_rate() * HOURS_PER_YEAR * 0.3 * years, 3)
        elif self.kind in {DeviceKind.WATER_METER, DeviceKind.FUEL_METER}:
            self.volume_m3 = round(self.rated_rate() * HOURS_PER_YEAR * 0.2 * years, 4)

    def _power_kw(self, m: Moment, noise: float, o: Overrides | None) -> float:
        occ = m.occupancy[self.use]
        rated = self.rated_rate()
        match self.role:
            case MeterRole.MAIN:
                cooling = MAIN_COOLING_SHARE * m.outdoor.cooling_share if m.cooling(self.use) else 0.0
                share = BASELOAD_SHARE + (1 - BASELOAD_SHARE) * occ + cooling
            case MeterRole.HVAC:
                share = 0.1 + 0.9 * m.outdoor.cooling_share if m.cooling(self.use) else 0.03
            case MeterRole.LIGHTING:
                share = LIGHTING_NIGHT_SHARE + (1 - LIGHTING_NIGHT_SHARE) * min(1.0, occ / 0.8)
                if o is not None and o.lighting_share is not None:
                    share = max(share, o.lighting_share)
            case MeterRole.GENERATOR:
                share = GENERATOR_TEST_LOAD_SHARE if m.generator_test else 0.0
            case _:
                share = 0.2 + 0.8 * occ
        if self.physics is not None:
            share = self.physics.lighting_share(share, m.hour, m.working_day)
        kw = rated * share * noise
        if o is not None:
            kw = kw * o.rate_scale + o.rate_add
        return max(0.0, kw)

    def _flow_m3h(self, m: Moment, noise: float, o: Overrides | None) -> float:
        if self.role is MeterRole.GENERATOR:
            share = 1.0 if m.generator_test else 0.0
        else:
            share = m.water_use[self.use]
        flow = self.rated_rate() * share * noise
        if o is not None:
            flow = flow * o.rate_scale + o.rate_add
        return max(0.0, flow)

    def sample(self, m: Moment, o: Overrides | None = None) -> dict[str, float]:
        """Values at `m.ts` in catalogue units (quantity keys carry the unit); registers integrate rates."""
        noise = self.rng.gauss(1.0, NOISE_SD)
        jitter = self.rng.gauss(0.0, 1.0)
        hours = 0.0 if self.last_ts is None else max(0.0, (m.ts - self.last_ts).total_seconds() / 3600)
        self.last_ts = m.ts
        occ = m.occupancy[self.use]
        match self.kind:
            case DeviceKind.ELECTRICITY_METER:
                kw = self._power_kw(m, noise, o)
                self.energy_kwh += kw * hours
                return {"power_kw": round(kw, 3), "energy_kwh": round(self.energy_kwh, 3)}
            case DeviceKind.SOLAR_INVERTER:
                kw = self.rated_rate() * m.sun_share * noise
                self.energy_kwh += kw * hours
                return {"power_kw": round(kw, 3), "energy_kwh": round(self.energy_kwh, 3)}
            case DeviceKind.WATER_METER | DeviceKind.FUEL_METER:
                flow = self._flow_m3h(m, noise, o)
                self.volume_m3 += flow * hours
                if self.physics is not None and self.physics.draws_per_h:
                    quiet = m.water_use[self.use] == 0
                    draw_m3h, drawn_m3 = self.physics.night_water(m.ts.timestamp(), hours * 3600, quiet=quiet)
                    flow += draw_m3h
                    self.volume_m3 += drawn_m3
                return {"volume_m3": round(self.volume_m3, 4), "flow_m3h": round(flow, 4)}
            case DeviceKind.CLIMATE_SENSOR:
                return self._climate(m, o, occ=occ, noise=noise, jitter=jitter, hours=hours)
            case DeviceKind.OCCUPANCY_SENSOR:
                return {"occupancy_count": float(round(self.capacity_people * occ * noise))}
            case DeviceKind.AIR_CONDITIONER:
                on = self.cooling(m) or (o is not None and o.force_on)
                kw = self.rated_rate() * (0.35 + 0.65 * m.outdoor.cooling_share) * noise if on else 0.0
                return {"on_state": float(on), "setpoint_c": SETPOINT_C, "power_kw": round(kw, 3)}
            case DeviceKind.CONTACT_SENSOR:
                held_open = o is not None and o.force_open
                if self.physics is not None and self.physics.openings_per_h:
                    self.events = self.physics.openings(m.ts, hours * 3600, occ)
                return {"open_state": 1.0 if held_open else 0.0}
        raise ValueError(f"no value model for device kind {self.kind}")  # pragma: no cover - enum exhaustive

    def _climate(
        self, m: Moment, o: Overrides | None, *, occ: float, noise: float, jitter: float, hours: float
    ) -> dict[str, float]:
        if self.physics is not None and self.physics.realism.spec.climate is not None:
            return self._room_air(m, o, self.physics, occ=occ, jitter=jitter, hours=hours)
        outdoor = m.outdoor
        if self.space_has_ac and (m.cooling(self.use) or (o is not None and o.room_cooled)):
            temperature_c = SETPOINT_C + 0.5 + 0.3 * jitter
            humidity_pct = 58.0 + 2.0 * jitter
        else:
            free_c = min(FREE_RUNNING_CAP_C, 0.45 * outdoor.temperature_c + 15.0 + occ)
            temperature_c = free_c + 0.2 * jitter
            humidity_pct = outdoor.humidity_pct - 5.0 + 2.0 * jitter
        if o is not None and o.temperature_c is not None:
            temperature_c = o.temperature_c + 0.2 * abs(jitter)
        co2 = OUTDOOR_CO2_PPM + OCCUPIED_CO2_RISE_PPM * occ * noise
        return {
            "temperature_c": round(temperature_c, 2),
            "humidity_pct": round(min(100.0, max(0.0, humidity_pct)), 1),
            "co2_ppm": round(co2, 0),
        }

    def _room_air(
        self,
        m: Moment,
        o: Overrides | None,
        physics: DevicePhysics,
        *,
        occ: float,
        jitter: float,
        hours: float,
    ) -> dict[str, float]:
        """Climate with thermal lag and sensor noise (a scenario's `realism.climate`)."""
        dorm = physics.realism.spec.dormitory
        in_dorm_room = physics.dorm_room and dorm is not None
        if in_dorm_room and not physics.realism.lived_in(self.space):
            occ = 0.0
        if self.space_has_ac and (self.cooling(m) or (o is not None and o.room_cooled)):
            target_c, target_rh = SETPOINT_C + 0.5, 58.0  # the thermostat holds the room
        else:
            free_c = 0.45 * m.outdoor.temperature_c + 15.0 + occ
            cap_c = FREE_RUNNING_CAP_C
            if in_dorm_room and dorm is not None:
                # A small closed room with its residents in and the air-conditioning off runs warm.
                free_c += dorm.room_gain_c if occ >= IN_USE_SHARE else 0.0
                cap_c = dorm.free_running_cap_c
            target_c, target_rh = min(cap_c, free_c), m.outdoor.humidity_pct - 5.0
        temperature_c, humidity_pct, co2 = physics.breathe(
            (target_c, target_rh, OUTDOOR_CO2_PPM + OCCUPIED_CO2_RISE_PPM * occ), hours * 3600
        )
        if o is not None and o.temperature_c is not None:
            # The fault acts on the reading only: the room underneath carries on, so it ends with the fault.
            temperature_c = o.temperature_c + 0.2 * abs(jitter)
        return {
            "temperature_c": round(temperature_c, 2),
            "humidity_pct": round(min(100.0, max(0.0, humidity_pct)), 1),
            "co2_ppm": round(max(0.0, co2), 0),
        }

"""Value models per device kind; cumulative registers integrate their rate so they only count up."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from cityhall.models import BuildingUse, DeviceKind
from simulators.profiles import TAIPEI, occupancy

# Peak electrical intensity by building use (W/m2): Taiwanese office buildings peak around 25-35 W/m2.
PEAK_W_PER_M2 = {BuildingUse.CIVIC_CENTER: 28.0, BuildingUse.OFFICE: 28.0, BuildingUse.DORMITORY: 20.0}
BASELOAD_SHARE = 0.18  # servers, lifts, emergency lighting and ventilation never switch off


@dataclass(slots=True)
class SimulatedDevice:
    """One device and the state its registers carry from sample to sample."""

    code: str
    kind: DeviceKind
    use: BuildingUse
    served_area_m2: float
    capacity_people: int
    rng: random.Random
    extra_kw: float = 0.0  # set by fault injection
    energy_kwh: float = field(default=0.0)
    volume_m3: float = field(default=0.0)
    last_ts: datetime | None = None

    def sample(self, ts: datetime) -> dict[str, float]:
        """Values at `ts` in catalogue units (quantity keys carry the unit)."""
        occ = occupancy(self.use, ts)
        hours = 0.0 if self.last_ts is None else max(0.0, (ts - self.last_ts).total_seconds() / 3600)
        self.last_ts = ts
        noise = self.rng.gauss(1.0, 0.03)
        match self.kind:
            case DeviceKind.ELECTRICITY_METER:
                peak_kw = PEAK_W_PER_M2[self.use] * self.served_area_m2 / 1000
                kw = max(0.0, peak_kw * (BASELOAD_SHARE + (1 - BASELOAD_SHARE) * occ) * noise + self.extra_kw)
                self.energy_kwh += kw * hours
                return {"power_kw": round(kw, 3), "energy_kwh": round(self.energy_kwh, 3)}
            case DeviceKind.SOLAR_INVERTER:
                local = ts.astimezone(TAIPEI)
                sun = max(0.0, math.sin(math.pi * (local.hour + local.minute / 60 - 6) / 12))
                kw = self.served_area_m2 * 0.15 * sun * max(0.0, self.rng.gauss(0.85, 0.1))
                self.energy_kwh += kw * hours
                return {"power_kw": round(kw, 3), "energy_kwh": round(self.energy_kwh, 3)}
            case DeviceKind.WATER_METER | DeviceKind.FUEL_METER:
                scale = 0.002 if self.kind is DeviceKind.WATER_METER else 0.0002
                flow = max(0.0, self.served_area_m2 * scale * occ * noise)
                self.volume_m3 += flow * hours
                return {"volume_m3": round(self.volume_m3, 4), "flow_m3h": round(flow, 4)}
            case DeviceKind.CLIMATE_SENSOR:
                cooled = occ > 0.2
                temp = (25.5 if cooled else 29.0) + self.rng.gauss(0, 0.3)
                co2 = 420 + 700 * occ * noise
                return {
                    "temperature_c": round(temp, 2),
                    "humidity_pct": round(min(100.0, 60 + self.rng.gauss(0, 3)), 1),
                    "co2_ppm": round(co2, 0),
                }
            case DeviceKind.OCCUPANCY_SENSOR:
                return {"occupancy_count": float(round(self.capacity_people * occ * noise))}
            case DeviceKind.AIR_CONDITIONER:
                on = occ > 0.2
                kw = (self.served_area_m2 * 0.12 * noise) if on else 0.0
                return {"on_state": float(on), "setpoint_c": 26.0, "power_kw": round(kw, 3)}
            case DeviceKind.CONTACT_SENSOR:
                return {"open_state": 0.0}
        raise ValueError(f"no value model for device kind {self.kind}")  # pragma: no cover - enum exhaustive

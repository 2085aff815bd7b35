"""How a device reports: the register's reporting semantics, read by the rules and the simulators alike.

A rule that knows how a device reports can tell a fault from a habit (issue 15). A sensor that rounds to
0.1 degC repeats itself in a quiet room for an hour without being stuck; a door contact that reports on change
and sends a heartbeat every 15 minutes is silent for 15 minutes without being offline, however many openings
came just before.

Each device's reporting is its kind's defaults, overlaid by its payload family's (what the firmware does out
of the box: Tasmota's TelePeriod and TempRes, say), overlaid by what the register says of that device
(`Device.reporting`, from the asset import or the API). docs/assets.md lists the defaults with their sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from cityhall.contract import QUANTITIES, PayloadFormat
from cityhall.models.assets import Device, DeviceKind

# The longest declared interval: a heartbeat rarer than daily cannot tell a dead device from a quiet one.
MAX_INTERVAL_S = 86_400.0


class ReportingMode(StrEnum):
    """When a device sends a message."""

    PERIODIC = "periodic"  # every `interval_s`, whatever the values
    ON_CHANGE = "on_change"  # when a value changes, and a heartbeat at least every `interval_s`


class FlowSemantics(StrEnum):
    """What a power or flow reading stands for."""

    INSTANTANEOUS = "instantaneous"  # the rate at the moment of the reading
    INTERVAL_MEAN = "interval_mean"  # the mean rate since the previous reading (a register's difference)


@dataclass(frozen=True, slots=True)
class Reporting:
    """A device's effective reporting semantics."""

    mode: ReportingMode = ReportingMode.PERIODIC
    # PERIODIC: the period; ON_CHANGE: the heartbeat, the longest silence of a healthy device. None when not
    # declared: the offline rule then learns it from the device's gaps.
    interval_s: float | None = None
    # quantity -> the smallest step the device reports it in (0.1 for a sensor that rounds to 0.1 degC);
    # missing or 0: as fine as a float, so two equal readings mean the value did not move at all.
    resolution: Mapping[str, float] = field(default_factory=dict, hash=False)
    flow: FlowSemantics = FlowSemantics.INSTANTANEOUS

    def step(self, quantity: str) -> float:
        """The reporting step of `quantity` (0.0 when continuous)."""
        return self.resolution.get(quantity, 0.0)

    def quantise(self, quantity: str, value: float) -> float:
        """`value` as the device reports it: rounded to its step (half away from zero), else unchanged."""
        step = self.step(quantity)
        if step <= 0:
            return value
        steps = math.floor(abs(value) / step + 0.5)
        # Rounded again to the step's decimals, so 0.1 * 263 reads 26.3 and not 26.300000000000001.
        decimals = max(0, -math.floor(math.log10(step))) + 3
        return math.copysign(round(steps * step, decimals), value) if steps else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the API and the docs show it)."""
        return {
            "mode": self.mode.value,
            "interval_s": self.interval_s,
            "resolution": dict(sorted(self.resolution.items())),
            "flow": self.flow.value,
        }


Resolution = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class ReportingSpec(BaseModel):
    """What the register says of one device's reporting; every field optional, the rest from the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: ReportingMode | None = None
    interval_s: Annotated[float, Field(ge=1, le=MAX_INTERVAL_S, allow_inf_nan=False)] | None = None
    resolution: dict[str, Resolution] = Field(default_factory=dict)
    flow: FlowSemantics | None = None

    def unknown_quantities(self, quantities: tuple[str, ...]) -> list[str]:
        """Resolution keys the device does not measure."""
        return sorted(set(self.resolution) - set(quantities))

    def stored(self) -> dict[str, Any]:
        """The override as the register's JSON column keeps it (only what was said)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def _metered(power: float, energy: float) -> dict[str, float]:
    return {"power_kw": power, "energy_kwh": energy}


# Out of the box, by device kind, for our native JSON: meters and sensors sample periodically, at whatever
# resolution the gateway sends (continuous); contacts, occupancy counters and air-conditioner states are sent
# when they change. Intervals are not declared: a native gateway reports as configured, and the offline rule
# learns it.
KIND_DEFAULTS: dict[DeviceKind, Reporting] = {
    DeviceKind.ELECTRICITY_METER: Reporting(),
    DeviceKind.WATER_METER: Reporting(),
    DeviceKind.FUEL_METER: Reporting(),
    DeviceKind.SOLAR_INVERTER: Reporting(),
    DeviceKind.CLIMATE_SENSOR: Reporting(),
    DeviceKind.OCCUPANCY_SENSOR: Reporting(ReportingMode.ON_CHANGE),
    DeviceKind.AIR_CONDITIONER: Reporting(ReportingMode.ON_CHANGE),
    DeviceKind.CONTACT_SENSOR: Reporting(ReportingMode.ON_CHANGE),
}

# What a payload family's firmware does with its factory settings, over the kind's defaults.
# Tasmota: telemetry every TelePeriod (300 s); TempRes 1 and HumRes 1 (one decimal); WattRes 0 (whole watts,
# 0.001 kW); EnergyRes 3 (0.001 kWh); an SCD30's CO2 in whole ppm.
# Shelly Gen2 (Pro 3EM): NotifyStatus when a value changes; power in W and energy in Wh with two decimals.
FAMILY_DEFAULTS: dict[PayloadFormat, ReportingSpec] = {
    PayloadFormat.NATIVE: ReportingSpec(),
    PayloadFormat.TASMOTA: ReportingSpec(
        mode=ReportingMode.PERIODIC,
        interval_s=300,
        resolution={"temperature_c": 0.1, "humidity_pct": 0.1, "co2_ppm": 1.0} | _metered(0.001, 0.001),
    ),
    PayloadFormat.SHELLY_GEN2: ReportingSpec(
        mode=ReportingMode.ON_CHANGE, resolution=_metered(0.00001, 0.00001)
    ),
}


def overlay(base: Reporting, spec: ReportingSpec, quantities: tuple[str, ...] | None = None) -> Reporting:
    """`base` with what `spec` says laid over it (resolutions only for `quantities`, when given)."""
    resolution = {q: step for q, step in spec.resolution.items() if quantities is None or q in quantities}
    return replace(
        base,
        mode=spec.mode or base.mode,
        interval_s=spec.interval_s if spec.interval_s is not None else base.interval_s,
        resolution={**base.resolution, **resolution},
        flow=spec.flow or base.flow,
    )


def effective(
    kind: DeviceKind,
    payload: PayloadFormat = PayloadFormat.NATIVE,
    override: Mapping[str, Any] | ReportingSpec | None = None,
    quantities: tuple[str, ...] | None = None,
) -> Reporting:
    """A device's reporting: its kind's defaults, its family's, then the register's own word.

    `override` is `Device.reporting` as stored (a mapping) or a validated spec; `quantities` limits the
    family's resolutions to what the device measures."""
    spec = override if isinstance(override, ReportingSpec) else ReportingSpec.model_validate(override or {})
    return overlay(overlay(KIND_DEFAULTS[kind], FAMILY_DEFAULTS[payload], quantities), spec, quantities)


def of_device(device: Device) -> Reporting:
    """A registered device's effective reporting."""
    return effective(device.kind, device.payload_format, device.reporting, tuple(device.quantities))


def _check_catalogue() -> None:
    """Fail at import if a default names a quantity the catalogue does not know."""
    named = {q for spec in FAMILY_DEFAULTS.values() for q in spec.resolution}
    named |= {q for rep in KIND_DEFAULTS.values() for q in rep.resolution}
    unknown = named - QUANTITIES.keys()
    if unknown or set(DeviceKind) - KIND_DEFAULTS.keys():
        raise RuntimeError(f"reporting defaults out of step: {sorted(unknown)}")


_check_catalogue()

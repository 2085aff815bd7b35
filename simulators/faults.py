"""The fault catalogue: each kind with its parameters, the devices it applies to, and what it does to data.

A fault acts on the samples whose time is in [start, end) and nowhere else, except the register faults,
whose new register carries on after the event. The ground truth (`Fault.truth`) is what the rules engine is
scored against; docs/simulators.md documents it.

Not everything in the catalogue is a fault. Real buildings also have planned work (a meter swapped: silent
for a while, then a new register) and harmless events (a single reading that jumps and comes straight back).
They are labelled too, with their category, so that an alarm on them can be counted as the false alarm it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cityhall.contract import QUANTITIES
from cityhall.models import DeviceKind
from simulators.devices import Moment, Overrides, SimulatedDevice
from simulators.profiles import IN_USE_SHARE


class FaultKind(StrEnum):
    """Every fault the simulators can inject."""

    AC_LEFT_ON = "ac_left_on"
    LIGHTS_LEFT_ON = "lights_left_on"
    WATER_LEAK = "water_leak"
    FLATLINE = "flatline"
    METER_OFFLINE = "meter_offline"
    SPIKE = "spike"
    REGISTER_RESET = "register_reset"
    REGISTER_ROLLOVER = "register_rollover"
    DRIFT = "drift"
    DOOR_OPEN_WHILE_COOLING = "door_open_while_cooling"
    ABNORMAL_CONSUMPTION = "abnormal_consumption"
    COMFORT_BREACH = "comfort_breach"
    HUNG_DEVICE = "hung_device"
    DEAD_DEVICE = "dead_device"
    METER_SWAP = "meter_swap"
    GLITCH = "glitch"


class Category(StrEnum):
    """What a labelled happening is to the people who run the building."""

    FAULT = "fault"  # something to fix: an alarm should say so
    PLANNED = "planned"  # planned work (a meter swap): an alarm on it is a false alarm
    EVENT = "event"  # a normal, harmless event (a one-reading glitch): an alarm on it is a false alarm


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(_Params):
    """A fault kind without parameters."""


class LightsLeftOnParams(_Params):
    """Lighting stays at this share of its rated load after hours."""

    share_pct: float = Field(90.0, gt=0, le=100)


class WaterLeakParams(_Params):
    """A leak adds this flow, day and night."""

    flow_m3h: float = Field(0.25, gt=0, le=100)


class SpikeParams(_Params):
    """One sample of `quantity` is off by `delta`, in the quantity's unit (clamped to its accepted range)."""

    quantity: str
    delta: float

    @model_validator(mode="after")
    def _nonzero(self) -> Self:
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class DriftParams(_Params):
    """`quantity` reads high (or low) by an offset growing `drift_per_day`, in the quantity's unit per day."""

    quantity: str = "temperature_c"
    drift_per_day: float

    @model_validator(mode="after")
    def _nonzero(self) -> Self:
        if self.drift_per_day == 0:
            raise ValueError("drift_per_day must not be 0")
        return self


class RolloverParams(_Params):
    """The register wraps to 0 when it passes its maximum: kWh for energy registers, m3 for volume."""

    register_max_kwh: float | None = Field(None, gt=0)
    register_max_m3: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_maximum(self) -> Self:
        if (self.register_max_kwh is None) == (self.register_max_m3 is None):
            raise ValueError("give exactly one of register_max_kwh or register_max_m3")
        return self

    @property
    def register_max(self) -> float:
        """The maximum in the register's own unit."""
        return (
            self.register_max_kwh if self.register_max_kwh is not None else float(self.register_max_m3 or 0)
        )


class AbnormalConsumptionParams(_Params):
    """Consumption above normal: by a percentage, or by a fixed step in kW."""

    increase_pct: float | None = Field(None, gt=0, le=1000)
    step_kw: float | None = Field(None, gt=0, le=10_000)

    @model_validator(mode="after")
    def _one_magnitude(self) -> Self:
        if (self.increase_pct is None) == (self.step_kw is None):
            raise ValueError("give exactly one of increase_pct or step_kw")
        return self


class ComfortBreachParams(_Params):
    """The space reads `excess_c` above the comfort limit `limit_c` while people are in it."""

    limit_c: float = Field(28.0, ge=20, le=40)
    excess_c: float = Field(2.5, gt=0, le=15)


class MeterSwapParams(_Params):
    """The new meter's register starts from `new_reading`, in the register's unit (kWh or m3)."""

    new_reading: float = Field(0.0, ge=0, le=1e9)


METERS = frozenset({DeviceKind.ELECTRICITY_METER, DeviceKind.WATER_METER, DeviceKind.FUEL_METER})
REGISTERS = frozenset({*METERS, DeviceKind.SOLAR_INVERTER})


@dataclass(frozen=True, slots=True)
class FaultKindInfo:
    """One catalogue entry: devices it applies to, its parameters, and when it can be seen at all."""

    kind: FaultKind
    device_kinds: frozenset[DeviceKind]
    params: type[_Params]
    summary: str
    # Whether the fault is an event at one sample (end = start + step) rather than an interval.
    instant: bool = False
    # A condition every sample in the interval must meet, or the fault would not show (None: any time).
    window: Callable[[Moment, SimulatedDevice], bool] | None = None
    window_text: str = ""
    # The rule kind (rules/defaults.yaml) that should raise an alarm on it; None for planned work and events.
    rule_kind: str | None = None
    category: Category = Category.FAULT
    # For planned work and events: the rule kinds whose alarm on it would be a false alarm.
    would_trip: tuple[str, ...] = ()
    # `end` may be left out (True), or must be (None): the fault then lasts to the end of the run.
    to_run_end: bool | None = False


def _after_hours(m: Moment, d: SimulatedDevice) -> bool:
    return not d.cooling(m) if d.kind is DeviceKind.AIR_CONDITIONER else m.occupancy[d.use] < IN_USE_SHARE


CATALOGUE: dict[FaultKind, FaultKindInfo] = {
    info.kind: info
    for info in (
        FaultKindInfo(
            FaultKind.AC_LEFT_ON,
            frozenset({DeviceKind.AIR_CONDITIONER}),
            NoParams,
            "air-conditioner on (on_state=1, drawing power) when it would be off",
            window=_after_hours,
            window_text="the air-conditioner would be off (nobody in, or cool outside)",
            rule_kind="after_hours",
        ),
        FaultKindInfo(
            FaultKind.LIGHTS_LEFT_ON,
            frozenset({DeviceKind.ELECTRICITY_METER}),
            LightsLeftOnParams,
            "a lighting meter stays near its daytime load after hours",
            window=_after_hours,
            window_text="the building is out of hours",
            rule_kind="after_hours",
        ),
        FaultKindInfo(
            FaultKind.WATER_LEAK,
            frozenset({DeviceKind.WATER_METER}),
            WaterLeakParams,
            "constant extra flow, so the flow never reaches zero at night",
            rule_kind="leak",
        ),
        FaultKindInfo(
            FaultKind.FLATLINE,
            frozenset({DeviceKind.ELECTRICITY_METER, DeviceKind.CLIMATE_SENSOR}),
            NoParams,
            "the device repeats its last good reading",
            rule_kind="flatline",
        ),
        FaultKindInfo(
            FaultKind.METER_OFFLINE,
            frozenset(DeviceKind),
            NoParams,
            "no messages at all",
            rule_kind="offline",
        ),
        FaultKindInfo(
            FaultKind.SPIKE,
            frozenset(DeviceKind) - {DeviceKind.CONTACT_SENSOR},
            SpikeParams,
            "one sample off by `delta`",
            instant=True,
            rule_kind="rate_of_change",
        ),
        FaultKindInfo(
            FaultKind.REGISTER_RESET,
            REGISTERS,
            NoParams,
            "the register restarts from 0 (reset or meter replaced) and counts up from there",
            instant=True,
            rule_kind="rate_of_change",
        ),
        FaultKindInfo(
            FaultKind.REGISTER_ROLLOVER,
            frozenset({DeviceKind.ELECTRICITY_METER}),
            RolloverParams,
            "the register passes its maximum and wraps to near 0",
            instant=True,
            rule_kind="rate_of_change",
        ),
        FaultKindInfo(
            FaultKind.DRIFT,
            frozenset({DeviceKind.CLIMATE_SENSOR}),
            DriftParams,
            "a reading offset growing linearly in time (to the end of the run when `end` is left out)",
            rule_kind="drift",  # against its neighbours (rules.kinds.DriftRule)
            to_run_end=True,
        ),
        FaultKindInfo(
            FaultKind.DOOR_OPEN_WHILE_COOLING,
            frozenset({DeviceKind.CONTACT_SENSOR}),
            NoParams,
            "door or window open (open_state=1) while the space's air-conditioner cools",
            window=lambda m, d: d.space_has_ac and d.cooling(m),
            window_text="the space's air-conditioner is cooling",
            rule_kind="open_while_cooling",
        ),
        FaultKindInfo(
            FaultKind.ABNORMAL_CONSUMPTION,
            frozenset({DeviceKind.ELECTRICITY_METER}),
            AbnormalConsumptionParams,
            "power above normal by `increase_pct` % or by `step_kw`",
            rule_kind="baseline",
        ),
        FaultKindInfo(
            FaultKind.COMFORT_BREACH,
            frozenset({DeviceKind.CLIMATE_SENSOR}),
            ComfortBreachParams,
            "temperature above `limit_c` while the space is occupied",
            window=lambda m, d: m.occupancy[d.use] >= IN_USE_SHARE,
            window_text="the space is occupied",
            rule_kind="comfort",
        ),
        FaultKindInfo(
            FaultKind.HUNG_DEVICE,
            frozenset(DeviceKind),
            NoParams,
            "the device repeats its last message unchanged, time stamp and all, at its usual rhythm",
            # The store gets no new reading (each repeat rewrites the same instant): silent, to the store.
            rule_kind="offline",
        ),
        FaultKindInfo(
            FaultKind.DEAD_DEVICE,
            frozenset(DeviceKind),
            NoParams,
            "no messages from `start` to the end of the run",
            rule_kind="offline",
            to_run_end=None,
        ),
        FaultKindInfo(
            FaultKind.METER_SWAP,
            REGISTERS,
            MeterSwapParams,
            "planned: silent while the meter is swapped, then the new register counts from `new_reading`",
            category=Category.PLANNED,
            would_trip=("offline", "rate_of_change"),
        ),
        FaultKindInfo(
            FaultKind.GLITCH,
            frozenset(DeviceKind) - {DeviceKind.CONTACT_SENSOR},
            SpikeParams,
            "a harmless event: one reading off by `delta`, the next one back to normal",
            instant=True,
            category=Category.EVENT,
            would_trip=("rate_of_change",),
        ),
    )
}


def signature_quantities(kind: FaultKind, params: _Params, device_kind: DeviceKind) -> tuple[str, ...]:
    """The quantities in which the fault shows (what a detector should look at)."""
    match kind:
        case FaultKind.AC_LEFT_ON:
            return ("on_state", "power_kw")
        case FaultKind.LIGHTS_LEFT_ON | FaultKind.ABNORMAL_CONSUMPTION:
            return ("power_kw",)
        case FaultKind.WATER_LEAK:
            return ("flow_m3h",)
        case FaultKind.SPIKE | FaultKind.GLITCH:
            params = _as(params, SpikeParams)
            return (params.quantity,)
        case FaultKind.DRIFT:
            params = _as(params, DriftParams)
            return (params.quantity,)
        case FaultKind.REGISTER_RESET | FaultKind.REGISTER_ROLLOVER:
            return (
                ("energy_kwh",)
                if device_kind in {DeviceKind.ELECTRICITY_METER, DeviceKind.SOLAR_INVERTER}
                else ("volume_m3",)
            )
        case FaultKind.DOOR_OPEN_WHILE_COOLING:
            return ("open_state",)
        case FaultKind.COMFORT_BREACH:
            return ("temperature_c",)
        case (
            FaultKind.FLATLINE
            | FaultKind.METER_OFFLINE
            | FaultKind.HUNG_DEVICE
            | FaultKind.DEAD_DEVICE
            | FaultKind.METER_SWAP
        ):
            from cityhall.assets import DEVICE_QUANTITIES  # noqa: PLC0415 - keeps the asset import off the hot path

            return DEVICE_QUANTITIES[device_kind]
    raise ValueError(kind)  # pragma: no cover - enum exhaustive


def utc_iso(ts: datetime) -> str:
    """`2026-07-14T10:00:00Z`: the form ground truth and logs use."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class Fault:
    """One injected fault, validated and placed on the sample grid, with the state it keeps while acting."""

    id: str
    kind: FaultKind
    device: SimulatedDevice
    start: datetime
    end: datetime  # exclusive; start + one step for an instant fault
    params: _Params
    line: int = 0
    _stuck: dict[str, float] | None = field(default=None, repr=False)
    _register_offset: float = 0.0
    _last_reported: dict[str, float] | None = field(default=None, repr=False)

    @property
    def index(self) -> int:
        """Position of the fault in the scenario's `faults` list."""
        return int(self.id.removeprefix("f")) - 1

    def active(self, ts: datetime) -> bool:
        """True while the fault acts on samples at `ts`."""
        return self.start <= ts < self.end

    def hangs(self, ts: datetime) -> bool:
        """True while a hung device repeats its last message instead of sending what it samples."""
        return self.kind is FaultKind.HUNG_DEVICE and self.start <= ts < self.end

    def truth(self, *, scenario: str, run_id: str) -> dict[str, Any]:
        """The ground-truth record: what, where, when (UTC, end exclusive), with which parameters, whether
        it is a fault at all (`category`), and the rule kind that should catch it."""
        info = CATALOGUE[self.kind]
        return {
            "fault_id": self.id,
            "kind": self.kind.value,
            "category": info.category.value,
            "rule_kind": info.rule_kind,
            "would_trip": list(info.would_trip),
            "device": self.device.code,
            "device_kind": self.device.kind.value,
            "space": self.device.space,
            "building": self.device.building,
            "start": utc_iso(self.start),
            "end": utc_iso(self.end),
            "quantities": list(signature_quantities(self.kind, self.params, self.device.kind)),
            "parameters": self.params.model_dump(exclude_none=True),
            "scenario": scenario,
            "run_id": run_id,
            "line": self.line,
        }

    def override(self, o: Overrides, ts: datetime) -> None:
        """Change rates or states before the registers integrate (only while active)."""
        params = self.params
        match self.kind:
            case FaultKind.AC_LEFT_ON:
                o.force_on = True
            case FaultKind.LIGHTS_LEFT_ON:
                params = _as(params, LightsLeftOnParams)
                o.lighting_share = params.share_pct / 100
            case FaultKind.WATER_LEAK:
                params = _as(params, WaterLeakParams)
                o.rate_add += params.flow_m3h
            case FaultKind.ABNORMAL_CONSUMPTION:
                params = _as(params, AbnormalConsumptionParams)
                o.rate_scale *= 1 + (params.increase_pct or 0.0) / 100
                o.rate_add += params.step_kw or 0.0
            case FaultKind.DOOR_OPEN_WHILE_COOLING:
                o.force_open = True
            case FaultKind.COMFORT_BREACH:
                params = _as(params, ComfortBreachParams)
                o.temperature_c = params.limit_c + params.excess_c
            case _:
                pass

    @property
    def changes_rates(self) -> bool:
        """Whether the fault acts through `override` (before integration) rather than on the output."""
        return self.kind in _RATE_FAULTS

    def reported(self, values: dict[str, float], ts: datetime, step: timedelta) -> dict[str, float] | None:
        """What the device reports given the true `values` (None: nothing is sent); called every sample."""
        if self.kind in _REGISTER_FAULTS:
            return self._register(values, ts)
        if self.kind is FaultKind.METER_SWAP:
            return self._swap(values, ts)
        if not self.active(ts):
            self._last_reported = values
            return values
        match self.kind:
            case FaultKind.METER_OFFLINE | FaultKind.DEAD_DEVICE:
                return None
            case FaultKind.FLATLINE:
                if self._stuck is None:
                    self._stuck = dict(self._last_reported or values)
                return dict(self._stuck)
            case FaultKind.SPIKE | FaultKind.GLITCH:
                spike = _as(self.params, SpikeParams)
                return _shifted(values, spike.quantity, spike.delta)
            case FaultKind.DRIFT:
                drift = _as(self.params, DriftParams)
                # One step in at the first sample, so the fault shows from its very first sample.
                days = (ts - self.start + step).total_seconds() / 86_400
                return _shifted(values, drift.quantity, drift.drift_per_day * days)
            case _:
                return values

    def _register(self, values: dict[str, float], ts: datetime) -> dict[str, float]:
        key = "energy_kwh" if "energy_kwh" in values else "volume_m3"
        if self.kind is FaultKind.REGISTER_RESET:
            if ts >= self.start and not self._register_offset:
                # The new register starts at 0 at the sample before the event: the first new value is small.
                previous = (self._last_reported or values)[key]
                self._register_offset = previous
            if ts < self.start:
                self._last_reported = values
                return values
            return {**values, key: round(max(0.0, values[key] - self._register_offset), 4)}
        params = _as(self.params, RolloverParams)
        wrapped = (values[key] + self._register_offset) % params.register_max
        return {**values, key: round(wrapped, 4)}

    def _swap(self, values: dict[str, float], ts: datetime) -> dict[str, float] | None:
        """Silent while the meter is swapped; then the new register: `new_reading` plus what it counted."""
        if ts < self.start:
            return values
        key = "energy_kwh" if "energy_kwh" in values else "volume_m3"
        if self.active(ts):
            # The old register's last count under the new meter's start: the new one counts from the end.
            self._register_offset = values[key] - _as(self.params, MeterSwapParams).new_reading
            return None
        return {**values, key: round(max(0.0, values[key] - self._register_offset), 4)}

    def set_rollover_offset(self, offset: float) -> None:
        """Shift the register so that it passes its maximum exactly at the fault's start (see engine)."""
        self._register_offset = offset


_RATE_FAULTS = frozenset(
    {
        FaultKind.AC_LEFT_ON,
        FaultKind.LIGHTS_LEFT_ON,
        FaultKind.WATER_LEAK,
        FaultKind.ABNORMAL_CONSUMPTION,
        FaultKind.DOOR_OPEN_WHILE_COOLING,
        FaultKind.COMFORT_BREACH,
    }
)
_REGISTER_FAULTS = frozenset({FaultKind.REGISTER_RESET, FaultKind.REGISTER_ROLLOVER})


P = TypeVar("P", bound=_Params)


def _as(params: _Params, kind: type[P]) -> P:
    """The parameters as the model their fault kind validated them with."""
    if not isinstance(params, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(params).__name__}")
    return params


def _shifted(values: dict[str, float], key: str, delta: float) -> dict[str, float]:
    quantity = QUANTITIES[key]
    shifted = min(quantity.maximum, max(quantity.minimum, values[key] + delta))
    return {**values, key: round(shifted, 4)}

"""The pure simulation: devices, a seeded weather series and faults in; (time, device, values) out. No I/O.

Every device is sampled at every step (its registers integrate every step). What it sends is every sample,
unless the simulation is asked to `report` as the devices do (simulators/emission.py): then each device's
effective reporting thins and rounds what goes out. Every mode (live, fast, backfill) reads the same ticks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cityhall.models import DeviceKind
from simulators.devices import Moment, Overrides, SimulatedDevice
from simulators.emission import EVERY_STEP, Emitter, Sample, Stamped
from simulators.faults import Fault, FaultKind, RolloverParams
from simulators.weather import TainanWeather


class SimulationError(ValueError):
    """A simulation that cannot run as asked (e.g. a register maximum below the energy it must hold)."""


__all__ = ["Sample", "Simulation", "SimulationError", "Stamped", "Tick"]


@dataclass(frozen=True, slots=True)
class Tick:
    """Every message of one instant on the simulated clock.

    `samples` are stamped with the instant `ts`; `stamped` carry a time of their own, at or before `ts` (a
    door opened between two steps, a heartbeat between them, a hung device repeating an old message): they
    happened since the previous instant, or, for a hung device, repeat an earlier one."""

    ts: datetime
    samples: list[Sample]
    stamped: list[Stamped] = field(default_factory=list)


class Simulation:
    """Steps a simulated clock from `start` by `step`, producing each device's reading set per instant."""

    def __init__(
        self,
        devices: Sequence[SimulatedDevice],
        *,
        start: datetime,
        step: timedelta,
        weather: TainanWeather,
        faults: Sequence[Fault] = (),
        report: bool = False,
    ) -> None:
        """`report`: devices send as their reporting says (simulators/emission.py), not every sample."""
        if start.tzinfo is None:
            raise SimulationError("start needs a timezone")
        if step <= timedelta(0):
            raise SimulationError("step must be positive")
        self.devices = list(devices)
        self.start = start
        self.step = step
        self.weather = weather
        self.faults = list(faults)
        self._index = 0
        self._by_device: dict[str, list[Fault]] = {}
        for fault in self.faults:
            self._by_device.setdefault(fault.device.code, []).append(fault)
        for fault in self.faults:
            if fault.kind is FaultKind.REGISTER_ROLLOVER:
                self._place_rollover(fault)
        # An air-conditioner left on cools its room: the room's climate sensors read it (not only its meter).
        self._cooled_by: dict[str, list[Fault]] = {}
        for fault in self.faults:
            if fault.kind is FaultKind.AC_LEFT_ON:
                for d in self.devices:
                    if d.kind is DeviceKind.CLIMATE_SENSOR and (d.building, d.space) == (
                        fault.device.building,
                        fault.device.space,
                    ):
                        self._cooled_by.setdefault(d.code, []).append(fault)
        # Devices without an emitter send every sample as it is: the hot path of the load generator.
        step_s = step.total_seconds()
        self._emitters = {
            d.code: Emitter(d, d.reporting if report else EVERY_STEP, step_s=step_s)
            for d in self.devices
            if report or d.code in self._by_device or d.code in self._cooled_by
        }

    def moment(self, ts: datetime) -> Moment:
        """The shared state (occupancy, weather) at `ts`."""
        return Moment.at(ts, self.weather)

    def time_of(self, index: int) -> datetime:
        """The instant of sample number `index` (0 = start)."""
        return self.start + index * self.step

    def tick(self) -> Tick:
        """The next instant's messages; devices that send nothing then (offline, not due) are left out."""
        ts = self.time_of(self._index)
        self._index += 1
        moment = self.moment(ts)
        samples: list[Sample] = []
        stamped: list[Stamped] = []
        append = samples.append
        by_device = self._by_device
        emitters = self._emitters
        t_s = ts.timestamp()
        for device in self.devices:
            emitter = emitters.get(device.code)
            if emitter is None:
                append((device, device.sample(moment)))
                continue
            faults = by_device.get(device.code)
            cooled = self._cooled(device.code, ts)
            if faults is None:
                emitter.offer(
                    ts,
                    t_s,
                    device.sample(moment, cooled),
                    events=device.events,
                    samples=samples,
                    stamped=stamped,
                )
                continue
            reported = self._faulty_sample(device, faults, moment, cooled)
            events = device.events
            if events:  # a fault acts on [start, end) exactly: what happened before it is still sent
                events = [e for e in events if not any(f.start <= e[0] < f.end for f in faults)]
            hung = any(f.hangs(ts) for f in faults)
            emitter.offer(ts, t_s, reported, events=events, hung=hung, samples=samples, stamped=stamped)
        return Tick(ts, samples, stamped)

    def _cooled(self, code: str, ts: datetime) -> Overrides | None:
        """The room of climate sensor `code` cooled by an air-conditioner left on, or None."""
        faults = self._cooled_by.get(code)
        if faults is None or not any(f.active(ts) for f in faults):
            return None
        return Overrides(room_cooled=True)

    def _faulty_sample(
        self, device: SimulatedDevice, faults: list[Fault], moment: Moment, overrides: Overrides | None = None
    ) -> dict[str, float] | None:
        ts = moment.ts
        for fault in faults:
            if fault.changes_rates and fault.active(ts):
                overrides = overrides or Overrides()
                fault.override(overrides, ts)
        reported: dict[str, float] | None = device.sample(moment, overrides)
        for fault in faults:
            if reported is None:
                break
            reported = fault.reported(reported, ts, self.step)
        return reported

    def ticks(self, until: datetime) -> Iterator[Tick]:
        """Every instant from the current one up to, not including, `until`."""
        while self.time_of(self._index) < until:
            yield self.tick()

    def count_until(self, until: datetime) -> int:
        """How many instants remain before `until`."""
        remaining = until - self.time_of(self._index)
        return max(0, -(-remaining // self.step))

    def _place_rollover(self, fault: Fault) -> None:
        """Shift the register so that it passes its maximum between the sample before `start` and `start`.

        The register's path depends on the device's own random stream and on its other faults, so it is
        found by running a copy of just this device (with its other faults) up to the event.
        """
        if not isinstance(fault.params, RolloverParams):
            raise TypeError(f"{fault.id} is not a rollover")
        register_max = fault.params.register_max
        device = copy.deepcopy(fault.device)
        others = [copy.deepcopy(f) for f in self._by_device[fault.device.code] if f is not fault]
        for other in others:
            other.device = device
        probe = Simulation([device], start=self.start, step=self.step, weather=self.weather, faults=others)
        key = "energy_kwh"
        first = previous = current = None
        while probe.time_of(probe._index) <= fault.start:
            tick = probe.tick()
            if tick.samples:
                value = tick.samples[0][1][key]
                first = value if first is None else first
                previous, current = current, value
        if previous is None or current is None or first is None or current <= previous:
            raise SimulationError(
                f"{fault.kind} on {device.code}: the register must count up at {fault.start.isoformat()}"
            )
        offset = register_max - (previous + current) / 2
        if first + offset < 0:
            raise SimulationError(
                f"{fault.kind} on {device.code}: register_max {register_max} is smaller than the "
                f"{current - first:.1f} the register counts before the rollover"
            )
        fault.set_rollover_offset(offset)

"""Live publishing of every registered device (the demo's simulator), with the demo's fault shorthand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import PayloadFormat
from cityhall.settings import Settings
from simulators.devices import SimulatedDevice
from simulators.engine import Simulation
from simulators.faults import AbnormalConsumptionParams, FaultKind
from simulators.faults import Fault as CatalogueFault
from simulators.fleet import records_from_register, simulated
from simulators.modes import Encoder, LiveRun
from simulators.scenario import ScenarioError
from simulators.weather import TainanWeather

__all__ = ["Fault", "Publisher", "ScenarioError"]
DEFAULT_SEED = 2015
# Open-ended shorthand faults last until the run stops; a century stands in for "never ends".
_OPEN_END = timedelta(days=36_500)


@dataclass(frozen=True, slots=True)
class Fault:
    """The demo's shorthand `demand_step:DEVICE:KW[:START_S[:END_S]]`: abnormal consumption of +KW kW."""

    kind: str
    device: str
    start_s: float
    end_s: float | None
    magnitude: float

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse `demand_step:DEVICE:KW[:START_S[:END_S]]` (seconds after the simulator starts)."""
        parts = spec.split(":")
        if len(parts) < 3 or parts[0] != "demand_step":
            raise ScenarioError(f"fault {spec!r}: expected demand_step:DEVICE:KW[:START_S[:END_S]]")
        try:
            magnitude = float(parts[2])
            start = float(parts[3]) if len(parts) > 3 else 0.0
            end = float(parts[4]) if len(parts) > 4 else None
        except ValueError as err:
            raise ScenarioError(f"fault {spec!r}: KW, START_S and END_S must be numbers") from err
        if end is not None and end <= start:
            raise ScenarioError(f"fault {spec!r}: END_S must be after START_S")
        if magnitude <= 0:
            raise ScenarioError(f"fault {spec!r}: KW must be positive")
        return cls(parts[0], parts[1], start, end, magnitude)

    def to_catalogue(
        self, device: SimulatedDevice, *, start: datetime, step: timedelta, index: int
    ) -> CatalogueFault:
        """The catalogue's abnormal consumption (step_kw), snapped onto the run's sample grid."""

        def snapped(seconds: float) -> datetime:
            return start + step * -(-timedelta(seconds=seconds) // step)

        end = start + _OPEN_END if self.end_s is None else snapped(self.end_s)
        return CatalogueFault(
            f"f{index + 1:03d}",
            FaultKind.ABNORMAL_CONSUMPTION,
            device,
            snapped(self.start_s),
            end,
            AbnormalConsumptionParams(step_kw=self.magnitude),
        )


class Publisher:
    """Publishes every active registered device each `interval_s` of wall-clock time (live mode)."""

    def __init__(
        self,
        settings: Settings,
        *,
        session_factory: sessionmaker[Session],
        interval_s: float,
        faults: list[Fault] | None = None,
        client_id: str = "cityhall-simulator",
        seed: int = DEFAULT_SEED,
        devices: list[SimulatedDevice] | None = None,
    ) -> None:
        """`devices`: carry on these simulated devices (their registers, e.g. after a backfill of their
        history) instead of fresh ones for every active device in the register."""
        if devices is None:
            with session_factory() as session:
                devices = simulated(records_from_register(session), seed=seed)
        self.devices = devices
        by_code = {d.code: d for d in self.devices}
        step = timedelta(seconds=interval_s)
        start = datetime.now(UTC)
        catalogue = []
        for i, fault in enumerate(faults or []):
            device = by_code.get(fault.device)
            if device is None:
                raise ScenarioError(f"fault on {fault.device!r}: no such active device in the asset register")
            catalogue.append(fault.to_catalogue(device, start=start, step=step, index=i))
        sim = Simulation(self.devices, start=start, step=step, weather=TainanWeather(seed), faults=catalogue)
        formats = dict.fromkeys(by_code, PayloadFormat.NATIVE)
        self._live = LiveRun(settings, sim, Encoder(formats, settings.mqtt_topic_prefix), client_id=client_id)

    @property
    def published(self) -> int:
        """Messages published so far."""
        return self._live.published

    def run(self, *, duration_s: float | None = None) -> None:
        """Connect and publish on the wall clock until stop() or `duration_s` has passed."""
        until = None if duration_s is None else self._live.sim.start + timedelta(seconds=duration_s)
        self._live.run(until=until)

    def stop(self) -> None:
        """End run() after the current tick."""
        self._live.stop()

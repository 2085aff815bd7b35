"""Publishing simulated readings for the registered devices over MQTT, with optional injected faults."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from cityhall.contract import encode_native, readings_topic
from cityhall.models import Building, Device, Floor, Space
from cityhall.mqtt import connect, make_client
from cityhall.settings import Settings
from simulators.devices import SimulatedDevice

log = structlog.get_logger(__name__)


class ScenarioError(ValueError):
    """A fault or scenario that names something that does not exist, or is inconsistent."""


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected fault with its ground truth: kind, device, interval after start, magnitude."""

    kind: str  # "demand_step": extra load of `magnitude` kW on an electricity meter
    device: str
    start_s: float
    end_s: float | None
    magnitude: float

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse `demand_step:DEVICE:KW[:START_S[:END_S]]`."""
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
        return cls(parts[0], parts[1], start, end, magnitude)

    def active(self, elapsed_s: float) -> bool:
        """True while the fault is injected."""
        return elapsed_s >= self.start_s and (self.end_s is None or elapsed_s < self.end_s)


def load_devices(session: Session, *, seed: int = 2015) -> list[SimulatedDevice]:
    """One simulated device per active registered device, sized by the area it serves."""
    stmt = (
        select(Device)
        .options(joinedload(Device.space).joinedload(Space.floor).joinedload(Floor.building))
        .where(Device.is_active.is_(True))
        .order_by(Device.code)
    )
    out = []
    for device in session.scalars(stmt):
        space: Space = device.space
        building: Building = space.floor.building
        whole = "whole" in device.serves.lower()
        area = building.gross_floor_area_m2 if whole else space.floor.area_m2
        if device.kind.value in {"air_conditioner", "climate_sensor", "occupancy_sensor"}:
            area = space.area_m2
        out.append(
            SimulatedDevice(
                code=device.code,
                kind=device.kind,
                use=building.use,
                served_area_m2=area,
                capacity_people=space.capacity_people or max(1, int(space.area_m2 / 10)),
                rng=random.Random(f"{seed}:{device.code}"),  # noqa: S311 - simulation, not security
            )
        )
    return out


class Publisher:
    """Publishes every device's readings each `interval_s` of wall-clock time (live mode)."""

    def __init__(
        self,
        settings: Settings,
        *,
        session_factory: sessionmaker[Session],
        interval_s: float,
        faults: list[Fault] | None = None,
        client_id: str = "cityhall-simulator",
    ) -> None:
        self.settings = settings
        self.interval_s = interval_s
        with session_factory() as session:
            self.devices = load_devices(session)
        codes = {d.code for d in self.devices}
        self.faults = faults or []
        for fault in self.faults:
            if fault.device not in codes:
                raise ScenarioError(f"fault on {fault.device!r}: no such active device in the asset register")
        self.published = 0
        self._client: mqtt.Client = make_client(settings, client_id)
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._client.on_connect = lambda *_a: self._connected.set()

    def publish_tick(self, ts: datetime, elapsed_s: float) -> int:
        """Publish one reading set for every device at `ts`; returns the number of messages."""
        by_code = {d.code: d for d in self.devices}
        for device in self.devices:
            device.extra_kw = 0.0
        for fault in self.faults:
            if fault.active(elapsed_s):
                by_code[fault.device].extra_kw += fault.magnitude
        prefix = self.settings.mqtt_topic_prefix
        for device in self.devices:
            payload = encode_native(device.code, ts, device.sample(ts))
            self._client.publish(readings_topic(prefix, device.code), payload, qos=1)
        self.published += len(self.devices)
        return len(self.devices)

    def run(self, *, duration_s: float | None = None) -> None:
        """Connect and publish on the wall clock until stop() or `duration_s` has passed."""
        connect(self._client, self.settings)
        self._client.loop_start()
        if not self._connected.wait(30):
            self._client.loop_stop()
            raise ConnectionError(f"no MQTT broker at {self.settings.mqtt_host}:{self.settings.mqtt_port}")
        started = time.monotonic()
        log.info(
            "simulator_started",
            devices=len(self.devices),
            interval_s=self.interval_s,
            faults=len(self.faults),
        )
        try:
            while not self._stop.is_set():
                elapsed = time.monotonic() - started
                if duration_s is not None and elapsed >= duration_s:
                    break
                self.publish_tick(datetime.now(UTC), elapsed)
                next_at = started + (int(elapsed / self.interval_s) + 1) * self.interval_s
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    def stop(self) -> None:
        """End run() after the current tick."""
        self._stop.set()

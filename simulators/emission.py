"""What a simulated device sends, and when: its reporting (cityhall.reporting) applied to its samples.

The simulation samples every device at every step; a real device does not send every sample. An `Emitter`
stands between the two for one device. It rounds the values to the device's resolution, and lets a message
through when the device would send one:

- periodic: when the device's period comes round. Periods run on a grid of `interval_s` with a phase of the
  device's own (from its code), so a fleet does not send all at once. Without a declared period, or with one
  shorter than the step, it sends at every step (the simulation has no values between steps).
- on change: when a rounded value differs from the device's last message; otherwise a heartbeat
  `interval_s` after its last message, stamped at that moment even when it falls between two steps (the
  heartbeat repeats the last message's values). Events between steps (a door opened and closed) are sent at
  their own times.
- interval mean (`flow: interval_mean`): the power or flow it sends is its register's mean rate since its
  last sample message, not the rate at that moment (a pulse meter's reading).
- after a silence (the start of the run, an outage): at once, as a device does when it reconnects.
- hung (a fault): its last message again, unchanged, time stamp included, at its usual rhythm; once it
  recovers, a fresh message at once.

An emitter keeps only its own device's state, so a device's messages never depend on other devices; the
engine applies it the same way for every mode (live, fast, backfill).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from cityhall.reporting import FlowSemantics, Reporting, ReportingMode
from simulators.devices import SimulatedDevice

# A message sent at a time of its own rather than at the step's instant.
Stamped = tuple[SimulatedDevice, dict[str, float], datetime]
Sample = tuple[SimulatedDevice, dict[str, float]]
# The wire before issue 15: every step, at the simulation's own precision.
EVERY_STEP = Reporting()
# Each rate with the register it is the derivative of (per hour).
RATE_REGISTERS = (("power_kw", "energy_kwh"), ("flow_m3h", "volume_m3"))
_S_PER_H = 3600.0


def phase_s(code: str, interval_s: float) -> float:
    """Where in its period a periodic device sends (seconds after each multiple of the period)."""
    return float(zlib.crc32(code.encode()) % max(1, int(interval_s)))


def period_due(t_s: float, *, step_s: float, interval_s: float | None, phase: float) -> bool:
    """Whether a periodic device sends at the step at `t_s` (seconds since the epoch): a point of its period
    grid falls in (t - step, t]; every step without a period, or with one no longer than the step."""
    if interval_s is None or interval_s <= step_s:
        return True
    return math.floor((t_s - phase) / interval_s) != math.floor((t_s - step_s - phase) / interval_s)


class Emitter:
    """One device's transmitter: decides which of its samples and events go on the wire, rounded."""

    __slots__ = (
        "_device",
        "_heartbeat_s",
        "_hung",
        "_last",
        "_last_s",
        "_last_stamp",
        "_mean",
        "_on_change",
        "_period_s",
        "_phase",
        "_reporting",
        "_rounded",
        "_silent",
        "_since",
        "_step_s",
    )

    def __init__(self, device: SimulatedDevice, reporting: Reporting, *, step_s: float) -> None:
        self._device = device
        self._reporting = reporting
        self._on_change = reporting.mode is ReportingMode.ON_CHANGE
        self._heartbeat_s = reporting.interval_s if self._on_change else None
        self._period_s = None if self._on_change else reporting.interval_s
        self._phase = phase_s(device.code, reporting.interval_s or 1.0)
        self._step_s = step_s
        self._rounded = tuple(q for q, step in reporting.resolution.items() if step > 0)
        self._last: dict[str, float] | None = None  # the last message's values
        self._last_stamp: datetime | None = None  # ... and its time stamp
        self._last_s = 0.0  # when the last message went out (seconds since the epoch)
        self._silent = True
        self._hung = False
        self._mean = reporting.flow is FlowSemantics.INTERVAL_MEAN
        # When the last sample message went out and its registers, unrounded (for interval means).
        self._since: tuple[float, dict[str, float]] | None = None

    def _means(self, values: dict[str, float], t_s: float) -> dict[str, float]:
        """`values` with each rate replaced by its register's mean rate since the last sample message."""
        since = self._since
        if since is None or t_s <= since[0]:
            return values  # nothing to take a mean over yet: the rate at the instant
        out = dict(values)
        hours = (t_s - since[0]) / _S_PER_H
        for rate, register in RATE_REGISTERS:
            # A register that went back (reset, rollover) has no mean to give: the rate at the instant.
            if rate in values and register in since[1] and values[register] >= since[1][register]:
                out[rate] = round((values[register] - since[1][register]) / hours, 4)
        return out

    def _quantised(self, values: dict[str, float]) -> dict[str, float]:
        if not self._rounded:
            return values
        out = dict(values)
        quantise = self._reporting.quantise
        for quantity in self._rounded:
            if quantity in out:
                out[quantity] = quantise(quantity, out[quantity])
        return out

    def offer(
        self,
        ts: datetime,
        t_s: float,
        values: dict[str, float] | None,
        *,
        events: Sequence[tuple[datetime, dict[str, float]]] = (),
        hung: bool = False,
        samples: list[Sample],
        stamped: list[Stamped],
    ) -> None:
        """Take the device's sample at `ts` (None: it sends nothing, e.g. offline) and the events since its
        last sample; append what it sends to `samples` (at `ts`) and `stamped` (at a time of their own)."""
        if self._on_change and not (self._silent or self._hung):
            # Events since the last sample, before whatever the device does at this one (fall silent, hang).
            for at, event in events:
                at_s = t_s - (ts - at).total_seconds()
                self._heartbeats(ts, t_s, at_s, stamped)
                sent = self._quantised(event)
                if sent != self._last:
                    self._last, self._last_stamp, self._last_s = sent, at, at_s
                    stamped.append((self._device, sent, at))
        if values is None:
            self._silent = True
            return
        if hung:
            self._hung = True
            self._repeat(ts, t_s, stamped)
            return
        measured = values
        if self._mean:
            values = self._means(values, t_s)
        rounded = self._quantised(values)
        if self._silent or self._hung or self._last is None:
            self._silent = self._hung = False
            self._send(rounded, ts, t_s, samples, measured)
            return
        if not self._on_change:
            if period_due(t_s, step_s=self._step_s, interval_s=self._period_s, phase=self._phase):
                self._send(rounded, ts, t_s, samples, measured)
            return
        self._heartbeats(ts, t_s, t_s, stamped)
        heartbeat_s = self._heartbeat_s
        if rounded != self._last or (heartbeat_s is not None and self._last_s + heartbeat_s <= t_s):
            self._send(rounded, ts, t_s, samples, measured)

    def _send(
        self,
        values: dict[str, float],
        ts: datetime,
        t_s: float,
        samples: list[Sample],
        measured: dict[str, float],
    ) -> None:
        self._last, self._last_stamp, self._last_s = values, ts, t_s
        samples.append((self._device, values))
        if self._mean:
            self._since = (t_s, {r: measured[r] for _, r in RATE_REGISTERS if r in measured})

    def _heartbeats(self, ts: datetime, t_s: float, until_s: float, stamped: list[Stamped]) -> None:
        """Heartbeats due before `until_s`, each the last message's values at its own time."""
        heartbeat_s, last = self._heartbeat_s, self._last
        if heartbeat_s is None or last is None:
            return
        while self._last_s + heartbeat_s < until_s:
            self._last_s += heartbeat_s
            self._last_stamp = ts - timedelta(seconds=t_s - self._last_s)
            stamped.append((self._device, last, self._last_stamp))

    def _repeat(self, ts: datetime, t_s: float, stamped: list[Stamped]) -> None:
        """A hung device's last message again, time stamp and all, when it would send."""
        last, stamp = self._last, self._last_stamp
        if last is None or stamp is None:
            return
        if self._on_change:
            heartbeat_s = self._heartbeat_s
            while heartbeat_s is not None and self._last_s + heartbeat_s <= t_s:
                self._last_s += heartbeat_s
                stamped.append((self._device, last, stamp))
        elif period_due(t_s, step_s=self._step_s, interval_s=self._period_s, phase=self._phase):
            self._last_s = t_s
            stamped.append((self._device, last, stamp))

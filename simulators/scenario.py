"""Scenario files: which buildings and devices, which faults when, in which payload format; all checked first.

A scenario is validated in full before anything is simulated or published: every problem is reported with
the file, the line and the field (docs/simulators.md shows the format).
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from cityhall.assets import DEVICE_QUANTITIES, YamlSource
from cityhall.contract import QUANTITIES, PayloadFormat
from cityhall.models import BuildingUse, DeviceKind, SpaceKind
from cityhall.reporting import MAX_INTERVAL_S, FlowSemantics, ReportingMode, ReportingSpec, effective, overlay
from simulators.devices import MeterRole, Moment, SimulatedDevice
from simulators.emission import RATE_REGISTERS, period_due, phase_s
from simulators.engine import Simulation
from simulators.faults import CATALOGUE, DriftParams, Fault, FaultKind, SpikeParams
from simulators.fleet import ScaleSpec
from simulators.formats import SUPPORTED_QUANTITIES
from simulators.realism import DevicePhysics, Realism, RealismSpec
from simulators.weather import TainanWeather

SCENARIO_DIR = Path(__file__).parent / "scenarios"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_MAX_REPORTED = 50

Loc = tuple[str | int, ...]


class ScenarioError(ValueError):
    """A scenario that cannot run; the message names the file, the line and the field of each problem."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


def parse_duration(value: object) -> timedelta:
    """`15m`, `1h30m`, `7d`, `30s` (or a number of seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    found = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not found or not any(found.groups()):
        raise ValueError("a duration such as 15m, 1h30m, 7d or 30s")
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _when(value: object) -> datetime | timedelta:
    if isinstance(value, datetime):
        return value
    return parse_duration(value)


When = Annotated[datetime | timedelta, BeforeValidator(_when)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FormatsSpec(_Spec):
    """Payload format per device kind, and per device (a device entry wins)."""

    by_kind: dict[DeviceKind, PayloadFormat] = {}
    by_device: dict[str, PayloadFormat] = {}


class ReportingBlock(_Spec):
    """How the devices report on the wire: their register's reporting, with this scenario's word over it per
    device kind and per device (a device entry wins). Without the block, every device sends every step."""

    # The heartbeat of an on-change device whose reporting declares none.
    heartbeat_s: Annotated[float, Field(ge=1, le=MAX_INTERVAL_S)] = 900.0
    by_kind: dict[DeviceKind, ReportingSpec] = {}
    by_device: dict[str, ReportingSpec] = {}


class FaultSpec(_Spec):
    """One fault as written: kind, device, when (offset from the run start, or a time with offset)."""

    kind: FaultKind
    device: str
    start: When
    end: When | None = None
    params: dict[str, Any] = {}


class ScenarioSpec(_Spec):
    """A whole scenario file."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    description: str = ""
    seed: int
    start: datetime
    duration: Duration
    step: Duration
    buildings: tuple[str, ...] | None = None
    device_kinds: tuple[DeviceKind, ...] | None = None
    scale: ScaleSpec | None = None
    formats: FormatsSpec = FormatsSpec()
    reporting: ReportingBlock | None = None
    realism: RealismSpec | None = None
    faults: tuple[FaultSpec, ...] = ()

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-07-13T00:00:00+08:00")
        return value

    @field_validator("step", "duration")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0 s")
        return value


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded scenario file: the checked spec and where each field is in the file."""

    spec: ScenarioSpec
    path: Path
    source: YamlSource | None = None

    def where(self, loc: Loc) -> str:
        """`line N, field.path` for a place in the file."""
        if self.source is None:
            return ".".join(str(p) for p in loc)
        return str(self.source.where(loc))

    def error(self, problems: Sequence[str]) -> ScenarioError:
        """The error listing `problems` in file order."""
        return scenario_error(self.path, problems)


def _line_of(problem: str) -> int:
    found = re.match(r"line (\d+)", problem)
    return int(found.group(1)) if found else 0


def scenario_error(path: Path, problems: Sequence[str]) -> ScenarioError:
    """A ScenarioError listing `problems` in file order, at most 50 of them."""
    ordered = sorted(problems, key=_line_of)
    shown = ordered[:_MAX_REPORTED]
    if len(ordered) > _MAX_REPORTED:
        shown.append(f"... and {len(ordered) - _MAX_REPORTED} more")
    noun = "problem" if len(ordered) == 1 else "problems"
    text = f"{path}: {len(ordered)} {noun} in the scenario:\n" + "\n".join(f"  {p}" for p in shown)
    return ScenarioError(text, ordered)


def _problems(err: ValidationError, where: Any, prefix: Loc = ()) -> list[str]:
    out = []
    for item in err.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        given = item.get("input")
        if isinstance(given, str | int | float) and not isinstance(given, bool) and len(str(given)) <= 60:
            message += f" (got {given!r})"
        out.append(f"{where((*prefix, *item['loc']))}: {message}")
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file's shape; raise ScenarioError naming the line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read the file: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        raise ScenarioError(f"{path}: YAML syntax error: {err}") from err
    if root is None:
        raise ScenarioError(f"{path}: the file is empty")
    source = YamlSource(root)
    where = source.where
    earlier = [
        f"line {line}, {'.'.join(map(str, loc))}: key given twice" for loc, line in source.duplicate_keys
    ]
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as err:
        raise scenario_error(path, [*earlier, *_problems(err, where)]) from err
    scenario = Scenario(spec, path, source)
    if earlier:
        raise scenario.error(earlier)
    return scenario


@dataclass(slots=True)
class Plan:
    """A scenario bound to its devices: ready to simulate; every check has passed."""

    scenario: Scenario
    devices: list[SimulatedDevice]
    faults: list[Fault]
    formats: dict[str, PayloadFormat]
    start: datetime
    end: datetime

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.spec.name

    def simulation(self) -> Simulation:
        """The simulation of this plan (use it once: it carries the devices' registers forward)."""
        spec = self.scenario.spec
        return Simulation(
            self.devices,
            start=self.start,
            step=spec.step,
            weather=TainanWeather(spec.seed),
            faults=self.faults,
            report=spec.reporting is not None,
        )


def plan(scenario: Scenario, devices: Sequence[SimulatedDevice], *, start: datetime | None = None) -> Plan:
    """Bind a scenario to its devices and check everything that needs them; raise ScenarioError.

    `devices` are fresh simulated devices (from the register or synthesized); `start` overrides the file's.
    """
    spec = scenario.spec
    where = scenario.where
    run_start = start or spec.start
    end = run_start + spec.duration
    wanted = [
        d
        for d in devices
        if (spec.buildings is None or d.building in spec.buildings)
        and (spec.device_kinds is None or d.kind in spec.device_kinds)
    ]
    by_code = {d.code: d for d in wanted}
    problems: list[str] = []
    known_buildings = {d.building for d in devices}
    for i, building in enumerate(spec.buildings or ()):
        if building not in known_buildings:
            problems.append(f"{where(('buildings', i))}: unknown building {building!r}")
    formats = _formats(scenario, wanted, problems)
    _reporting(scenario, wanted, formats, problems)
    if spec.realism is not None:
        _realism(scenario, spec.realism, wanted, problems)
    check = _Checking(scenario, by_code, run_start, end, TainanWeather(spec.seed))
    faults: list[Fault] = []
    for i, entry in enumerate(spec.faults):
        fault = _fault(check, i, entry, problems)
        if fault is not None:
            faults.append(fault)
    if spec.reporting is not None:
        _onto_messages(check, faults, problems)
    _overlaps(scenario, faults, problems)
    if problems:
        raise scenario.error(problems)
    return Plan(scenario, wanted, faults, formats, run_start, end)


def _formats(
    scenario: Scenario, devices: list[SimulatedDevice], problems: list[str]
) -> dict[str, PayloadFormat]:
    spec = scenario.spec.formats
    codes = {d.code for d in devices}
    for code in spec.by_device:
        if code not in codes:
            problems.append(f"{scenario.where(('formats', 'by_device', code))}: unknown device {code!r}")
    out = {}
    for d in devices:
        fmt = spec.by_device.get(d.code, spec.by_kind.get(d.kind, d.payload_format))
        missing = set(DEVICE_QUANTITIES[d.kind]) - SUPPORTED_QUANTITIES[fmt]
        if missing:
            loc: Loc = ("formats",)
            if d.code in spec.by_device:
                loc = ("formats", "by_device", d.code)
            elif d.kind in spec.by_kind:
                loc = ("formats", "by_kind", d.kind.value)
            said = "" if len(loc) > 1 else " (the register's payload_format; give the device another here)"
            problems.append(
                f"{scenario.where(loc)}: {fmt} cannot carry {', '.join(sorted(missing))} of {d.kind} {d.code}"
                + said
            )
        out[d.code] = fmt
    return out


def _reporting(
    scenario: Scenario, devices: list[SimulatedDevice], formats: dict[str, PayloadFormat], problems: list[str]
) -> None:
    """Give each device its effective reporting: kind, payload family, register, then this scenario's word."""
    block = scenario.spec.reporting or ReportingBlock()
    by_code = {d.code: d for d in devices}
    for kind, kind_spec in block.by_kind.items():
        _resolution_problems(scenario, ("reporting", "by_kind", kind.value), kind_spec, kind, problems)
    for code, device_spec in block.by_device.items():
        device = by_code.get(code)
        if device is None:
            problems.append(f"{scenario.where(('reporting', 'by_device', code))}: unknown device {code!r}")
        else:
            _resolution_problems(
                scenario, ("reporting", "by_device", code), device_spec, device.kind, problems
            )
    for d in devices:
        quantities = DEVICE_QUANTITIES[d.kind]
        reporting = effective(d.kind, formats[d.code], d.register_reporting, quantities)
        for said in (block.by_kind.get(d.kind), block.by_device.get(d.code)):
            if said is not None:
                reporting = overlay(reporting, said, quantities)
        if reporting.mode is ReportingMode.ON_CHANGE and reporting.interval_s is None:
            reporting = replace(reporting, interval_s=block.heartbeat_s)
        d.reporting = reporting


def _resolution_problems(
    scenario: Scenario, here: Loc, said: ReportingSpec, kind: DeviceKind, problems: list[str]
) -> None:
    measured = DEVICE_QUANTITIES[kind]
    for quantity in said.unknown_quantities(measured):
        problems.append(
            f"{scenario.where((*here, 'resolution', quantity))}: a {kind} does not measure {quantity}; "
            f"it measures {', '.join(measured)}"
        )


def _realism(
    scenario: Scenario, spec: RealismSpec, devices: list[SimulatedDevice], problems: list[str]
) -> None:
    """Check the devices a realism block names, then give every device its physics."""
    by_code = {d.code: d for d in devices}

    def named(loc: Loc, code: str, kind: DeviceKind) -> None:
        device = by_code.get(code)
        if device is None:
            problems.append(f"{scenario.where(loc)}: unknown device {code!r}")
        elif device.kind is not kind:
            problems.append(f"{scenario.where(loc)}: {device.code} is a {device.kind}; expected a {kind}")

    timers = spec.lighting.timers if spec.lighting is not None else ()
    for i, timer in enumerate(timers):
        for j, code in enumerate(timer.devices):
            named(("realism", "lighting", "timers", i, "devices", j), code, DeviceKind.ELECTRICITY_METER)
    rates = spec.contacts.by_device if spec.contacts is not None else {}
    for code in rates:
        named(("realism", "contacts", "by_device", code), code, DeviceKind.CONTACT_SENSOR)
    realism = Realism(spec, scenario.spec.seed)
    dorm, contacts = spec.dormitory, spec.contacts
    for d in devices:
        is_meter = d.kind is DeviceKind.ELECTRICITY_METER
        draws_water = (
            dorm is not None
            and d.kind is DeviceKind.WATER_METER
            and d.use is BuildingUse.DORMITORY
            and d.role is not MeterRole.WATER_HEATER
        )
        d.physics = DevicePhysics(
            realism,
            random.Random(f"{scenario.spec.seed}:{d.code}:realism"),  # noqa: S311 - simulation, not security
            dorm_room=d.space_kind is SpaceKind.DORMITORY_ROOM,
            lit_on_days_off=is_meter and d.role is MeterRole.LIGHTING and d.use is not BuildingUse.DORMITORY,
            timers=tuple(t for t in timers if d.code in t.devices),
            draws_per_h=(
                d.building_beds * dorm.bed_share * dorm.night_draws_per_resident_h
                if draws_water and dorm is not None
                else 0.0
            ),
            openings_per_h=(
                rates.get(d.code, contacts.openings_per_h)
                if contacts is not None and d.kind is DeviceKind.CONTACT_SENSOR
                else 0.0
            ),
        )


@dataclass(frozen=True, slots=True)
class _Checking:
    """What every fault check needs: the scenario, its devices, its run interval and weather."""

    scenario: Scenario
    by_code: dict[str, SimulatedDevice]
    run_start: datetime
    run_end: datetime
    weather: TainanWeather

    def instant(self, value: datetime | timedelta) -> datetime:
        """A fault time as an instant: offsets count from the run's start."""
        return self.run_start + value if isinstance(value, timedelta) else value


def _fault(check: _Checking, i: int, entry: FaultSpec, problems: list[str]) -> Fault | None:
    where = check.scenario.where
    here: Loc = ("faults", i)
    info = CATALOGUE[entry.kind]
    found = len(problems)
    device = check.by_code.get(entry.device)
    if device is None:
        problems.append(
            f"{where((*here, 'device'))}: unknown device {entry.device!r} (not in this scenario's devices)"
        )
    elif device.kind not in info.device_kinds:
        kinds = ", ".join(sorted(k.value for k in info.device_kinds))
        problems.append(
            f"{where((*here, 'device'))}: {entry.kind} needs a {kinds}; {device.code} is a {device.kind}"
        )
    try:
        params = info.params.model_validate(entry.params)
    except ValidationError as err:
        problems.extend(_problems(err, where, (*here, "params")))
        params = None
    interval = _interval(check, here, entry, problems)
    if device is None or params is None or interval is None or len(problems) > found:
        return None
    problem = (
        _quantity_problem(device, params)
        or _mean_rate_problem(check, device, params)
        or _window_problem(check, entry, device, *interval)
    )
    if problem:
        problems.append(f"{where((*here, problem[0]))}: {problem[1]}")
        return None
    start, end = interval
    return Fault(f"f{i + 1:03d}", entry.kind, device, start, end, params, line=_line(check.scenario, here))


def _interval(
    check: _Checking, here: Loc, entry: FaultSpec, problems: list[str]
) -> tuple[datetime, datetime] | None:
    """The fault's [start, end) on the sample grid, or None with the problems added."""
    where = check.scenario.where
    step = check.scenario.spec.step
    info = CATALOGUE[entry.kind]
    start = check.instant(entry.start)
    if info.instant:
        end = start + step
        if entry.end is not None and check.instant(entry.end) != end:
            problems.append(f"{where((*here, 'end'))}: {entry.kind} is one sample long; leave `end` out")
    elif entry.end is None:
        if info.to_run_end is False:
            problems.append(f"{where(here)}: `end` is required for {entry.kind}")
            return None
        end = check.run_end
    elif info.to_run_end is None:
        problems.append(f"{where((*here, 'end'))}: {entry.kind} lasts to the end of the run; leave `end` out")
        return None
    else:
        end = check.instant(entry.end)
    found = len(problems)
    if (start - check.run_start) % step or (end - check.run_start) % step:
        problems.append(f"{where((*here, 'start'))}: start and end must fall on the run's {step} sample grid")
    if not check.run_start <= start < end <= check.run_end:
        problems.append(
            f"{where((*here, 'start'))}: the interval {start.isoformat()} .. {end.isoformat()} must be "
            f"non-empty and inside the run {check.run_start.isoformat()} .. {check.run_end.isoformat()}"
        )
    if entry.kind is FaultKind.FLATLINE and start == check.run_start:
        problems.append(f"{where((*here, 'start'))}: a flat-line repeats the sample before it; start later")
    return (start, end) if len(problems) == found else None


def _quantity_problem(device: SimulatedDevice, params: object) -> tuple[str, str] | None:
    if not isinstance(params, SpikeParams | DriftParams):
        return None
    allowed = [q for q in DEVICE_QUANTITIES[device.kind] if not QUANTITIES[q].cumulative]
    if params.quantity in allowed:
        return None
    return "params.quantity", (
        f"{device.code} reports {', '.join(allowed)}; registers cannot spike or drift "
        f"(got {params.quantity!r})"
    )


def _mean_rate_problem(check: _Checking, device: SimulatedDevice, params: object) -> tuple[str, str] | None:
    """A device that sends its register's mean rate recomputes the rate: a one-sample offset cannot show."""
    if check.scenario.spec.reporting is None or device.reporting.flow is not FlowSemantics.INTERVAL_MEAN:
        return None
    registers = dict(RATE_REGISTERS)
    if not isinstance(params, SpikeParams) or params.quantity not in registers:
        return None
    return "params.quantity", (
        f"{device.code} sends {params.quantity} as the mean of {registers[params.quantity]} since its last "
        f"message (flow: interval_mean), so one sample of it cannot be off"
    )


def _window_problem(
    check: _Checking, entry: FaultSpec, device: SimulatedDevice, start: datetime, end: datetime
) -> tuple[str, str] | None:
    """A fault that needs a condition (after hours, cooling, occupied) must have it at every sample."""
    info = CATALOGUE[entry.kind]
    if info.window is None:
        return None
    ts = start
    while ts < end:
        if not info.window(Moment.at(ts, check.weather), device):
            return "start", (
                f"{entry.kind} needs {info.window_text} over the whole interval; not so at {ts.isoformat()}"
            )
        ts += check.scenario.spec.step
    return None


def _onto_messages(check: _Checking, faults: list[Fault], problems: list[str]) -> None:
    """Move each one-sample fault on a device that sends every few steps onto its first message from the
    fault's start, so that it shows; the ground truth then names that message's time."""
    step = check.scenario.spec.step
    step_s = step.total_seconds()
    for fault in faults:
        reporting = fault.device.reporting
        interval_s = reporting.interval_s
        if (
            not CATALOGUE[fault.kind].instant
            or reporting.mode is not ReportingMode.PERIODIC
            or not interval_s
        ):
            continue
        phase = phase_s(fault.device.code, interval_s)
        ts = fault.start
        while ts < check.run_end and not (
            ts == check.run_start
            or period_due(ts.timestamp(), step_s=step_s, interval_s=interval_s, phase=phase)
        ):
            ts += step
        if ts >= check.run_end:
            problems.append(
                f"line {fault.line}, faults[{fault.index}].start: {fault.device.code} sends no message "
                f"between {fault.start.isoformat()} and the end of the run"
            )
            continue
        fault.start, fault.end = ts, ts + step


def _line(scenario: Scenario, loc: Loc) -> int:
    return _line_of(scenario.where(loc))


def _overlaps(scenario: Scenario, faults: list[Fault], problems: list[str]) -> None:
    """Two faults on one device at once would blur each other's ground truth; registers change once."""
    by_device: dict[str, list[Fault]] = {}
    for fault in faults:
        by_device.setdefault(fault.device.code, []).append(fault)
    for items in by_device.values():
        items.sort(key=lambda f: f.start)
        for earlier, later in itertools.pairwise(items):
            if later.start < earlier.end:
                problems.append(
                    f"line {later.line}, faults[{later.index}]: overlaps {earlier.kind} {earlier.id} "
                    f"(line {earlier.line}) on {later.device.code}"
                )
        registers = [f for f in items if f.kind in _REGISTER_KINDS]
        if len(registers) > 1:
            problems.append(
                f"line {registers[1].line}, faults[{registers[1].index}]: one register fault per device"
            )


_REGISTER_KINDS = frozenset({FaultKind.REGISTER_RESET, FaultKind.REGISTER_ROLLOVER, FaultKind.METER_SWAP})


def scenario_files() -> list[Path]:
    """The shipped standard scenarios."""
    return sorted(SCENARIO_DIR.glob("*.yaml"))

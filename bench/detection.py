"""Benchmark: detection quality of the shipped rules on the simulators' standard scenarios.

Run from the repository root:  .venv/bin/python -m bench.detection [--step-seconds 60] [--out FILE]
For each scenario: three fault-free weeks of the same devices (the baseline rules need history), then the
scenario itself, are simulated into an in-memory reading store; its ground truth JSONL is written and read
back; the rules are replayed over the scenario on a simulated clock (rules.backtest.Replay, no alarms
written); and every alarm is scored against the ground truth: recall and median time to detect per fault
kind, precision overall and false alarms per rule. Prints Markdown for docs/rules.md.
"""

from __future__ import annotations

import argparse
import bisect
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cityhall.assets import DEVICE_QUANTITIES, load_yaml, seed_path
from cityhall.contract import Reading
from cityhall.reporting import effective
from cityhall.timeseries import DeviceTags, Series
from rules.backtest import Replay
from rules.config import RuleDefinition, load_rules
from rules.engine import Subject
from rules.evaluation import Episode
from simulators.engine import Simulation
from simulators.fleet import records_from_document, simulated
from simulators.modes import write_truth
from simulators.scenario import SCENARIO_DIR, Plan, load_scenario, plan
from simulators.weather import TainanWeather

SCENARIOS = ("quiet-week", "office-after-hours", "meters-and-sensors", "dormitory-devices")
HISTORY = timedelta(weeks=3)
# A finding raised up to this long after a fault ends still counts (short faults such as a spike).
LATE = timedelta(hours=1)


class MemoryStore:
    """A reading store in a dict: enough for replays of simulated history (no persistence)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, list[tuple[datetime, float]]]] = {}

    def write(self, readings: Sequence[Reading], tags: Mapping[str, DeviceTags]) -> None:
        """Append readings (callers write in time order: windows are bisected)."""
        for r in readings:
            self.data.setdefault(r.quantity, {}).setdefault(r.device, []).append((r.ts, r.value))

    def put(self, readings: Sequence[Reading]) -> None:
        """Readings that may come out of time order: each in its place; one already there is kept (the
        reading store's upsert on (device, quantity, time))."""
        for r in readings:
            points = self.data.setdefault(r.quantity, {}).setdefault(r.device, [])
            i = bisect.bisect_left(points, (r.ts,))
            if i < len(points) and points[i][0] == r.ts:
                continue
            points.insert(i, (r.ts, r.value))

    def window(
        self, *, quantity: str, since: datetime, until: datetime, devices: Sequence[str] | None = None
    ) -> Series:
        """Readings of one quantity per device in [since, until]."""
        out: Series = {}
        for code, points in self.data.get(quantity, {}).items():
            if devices is None or code in devices:
                lo = bisect.bisect_left(points, (since,))
                hi = bisect.bisect_right(points, (until, float("inf")))
                if hi > lo:
                    out[code] = points[lo:hi]
        return out

    def close(self) -> None:
        """Nothing to release."""


def _feed(sim: Simulation, until: datetime, store: MemoryStore) -> None:
    """Write what the devices send; messages with a time of their own (a door opened between steps, a
    heartbeat) are put in their place, and a repeated reading (a hung device resending) changes nothing."""
    for tick in sim.ticks(until):
        ts = tick.ts.astimezone(UTC)
        store.write([Reading(d.code, k, ts, v) for d, values in tick.samples for k, v in values.items()], {})
        for device, values, at in tick.stamped:
            store.put([Reading(device.code, k, at.astimezone(UTC), v) for k, v in values.items()])


def simulate(
    name: str, out_dir: Path, history: timedelta = HISTORY
) -> tuple[Plan, MemoryStore, list[dict[str, object]]]:
    """History plus scenario in a memory store, and the ground truth read back from its JSONL file."""
    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    records = records_from_document(load_yaml(seed_path()))
    the_plan = plan(scenario, simulated(records, seed=scenario.spec.seed))
    store = MemoryStore()
    # The scenario's own devices run the fault-free history first, so their registers carry on into it.
    past = Simulation(
        the_plan.devices,
        start=the_plan.start - history,
        step=scenario.spec.step,
        weather=TainanWeather(scenario.spec.seed),
        report=scenario.spec.reporting is not None,  # the history thinned as the scenario is
    )
    _feed(past, the_plan.start, store)
    _feed(the_plan.simulation(), the_plan.end, store)
    truth_path = write_truth(the_plan, out_dir, "bench")
    truth = [json.loads(line) for line in truth_path.read_text(encoding="utf-8").splitlines() if line]
    return the_plan, store, truth


def subjects_for(the_plan: Plan, *, declared: bool = False) -> list[Subject]:
    """The plan's devices as rules see them, from the seed register: with nothing declared of how they report
    (its kind's defaults, as the runner gives a device whose register entry says nothing; the rules then go
    by what they see), or, `declared`, with each device's reporting as the scenario has it (a register that
    says how every device reports)."""
    codes = {d.code for d in the_plan.devices}
    reporting = {
        d.code: d.reporting if declared else effective(d.kind, quantities=DEVICE_QUANTITIES[d.kind])
        for d in the_plan.devices
    }
    out = []
    for _site, building, _floor, space, device in load_yaml(seed_path()).devices():
        if device.code in codes:
            quantities = DEVICE_QUANTITIES[device.kind]
            out.append(
                Subject(
                    device.code,
                    device.kind.value,
                    building.code,
                    space.code,
                    space.kind.value,
                    device.serves,
                    quantities,
                    reporting[device.code],
                )
            )
    return out


@dataclass(slots=True)
class Score:
    """Ground truth against what fired."""

    faults: dict[str, int] = field(default_factory=dict)  # fault kind -> count
    detected: dict[str, int] = field(default_factory=dict)
    delays_s: dict[str, list[float]] = field(default_factory=dict)
    by_rules: dict[str, set[str]] = field(default_factory=dict)
    true_alarms: int = 0
    shelved: int = 0  # alarms on planned work, which the maintenance schedule shelves
    device_days: float = 0.0  # devices x days scored
    false_alarms: dict[str, int] = field(default_factory=dict)  # rule -> count
    quiet_false_alarms: int = 0
    missed: list[str] = field(default_factory=list)
    false_examples: list[str] = field(default_factory=list)


def _when(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _matches(episode: Episode, fault: Mapping[str, object]) -> bool:
    start, end = _when(fault["start"]), _when(fault["end"])
    where = episode.device == fault["device"] or (
        fault["kind"] == "meter_offline"
        and episode.building == fault["building"]
        and "silent" in episode.message
    )
    return where and start <= episode.raised_at <= end + LATE


def score(
    scenario: str, episodes: Sequence[Episode], truth: Sequence[Mapping[str, object]], into: Score
) -> None:
    """Add one scenario's results to the score."""
    matched: set[int] = set()
    # Planned work (a meter swap) and harmless events (a glitch) are no faults: an alarm on them is false.
    for fault in (t for t in truth if t.get("category", "fault") == "fault"):
        kind = str(fault["kind"])
        into.faults[kind] = into.faults.get(kind, 0) + 1
        hits = [i for i, e in enumerate(episodes) if _matches(e, fault)]
        matched.update(hits)
        if not hits:
            into.missed.append(f"{scenario}: {kind} on {fault['device']} at {fault['start']}")
            continue
        into.detected[kind] = into.detected.get(kind, 0) + 1
        first = min(episodes[i].raised_at for i in hits)
        into.delays_s.setdefault(kind, []).append((first - _when(fault["start"])).total_seconds())
        into.by_rules.setdefault(kind, set()).update(episodes[i].rule for i in hits)
    # Planned work is on the maintenance schedule, whose `shelve_minutes` shelve the device's alarms over it
    # (docs/maintenance.md): an alarm it would have shelved is counted apart, neither true nor false.
    planned = [t for t in truth if t.get("category") == "planned"]
    for i, e in enumerate(episodes):
        if i in matched:
            into.true_alarms += 1
            continue
        if any(
            e.device == t["device"] and _when(t["start"]) <= e.raised_at <= _when(t["end"]) for t in planned
        ):
            into.shelved += 1
            continue
        into.false_alarms[e.rule] = into.false_alarms.get(e.rule, 0) + 1
        into.false_examples.append(f"{scenario}: {e.rule} on {e.device} at {e.raised_at.isoformat()}")
        if scenario == "quiet-week":
            into.quiet_false_alarms += 1


def _minutes(values: Sequence[float]) -> str:
    return f"{statistics.median(values) / 60:.0f}" if values else "-"


def report(result: Score, *, step_s: float, seconds: float, options: str = "") -> str:
    """The Markdown table for docs/rules.md (`options`: the command's other options, as given)."""
    lines = [
        f"Command: `.venv/bin/python -m bench.detection --step-seconds {step_s:g}{options}`; "
        f"{datetime.now(UTC).date().isoformat()}; {platform.machine()} {platform.system()}, "
        f"Python {platform.python_version()}; {seconds:.0f} s.",
        "",
        "| fault kind | faults | detected | recall | median time to detect (min) | rules that fired |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind in sorted(result.faults):
        n, hit = result.faults[kind], result.detected.get(kind, 0)
        rules = ", ".join(f"`{r}`" for r in sorted(result.by_rules.get(kind, ())))
        lines.append(
            f"| {kind} | {n} | {hit} | {hit / n:.0%} | {_minutes(result.delays_s.get(kind, []))} | {rules} |"
        )
    total = sum(result.faults.values())
    hit = sum(result.detected.values())
    alarms = result.true_alarms + sum(result.false_alarms.values())
    precision = result.true_alarms / alarms if alarms else 1.0
    everything = [d for v in result.delays_s.values() for d in v]
    lines += [
        f"| **overall** | {total} | {hit} | **{hit / total:.0%}** | {_minutes(everything)} | |",
        "",
        f"Alarms: {alarms}, of which {result.true_alarms} match a fault: precision **{precision:.0%}**. "
        f"False alarms in the quiet week: **{result.quiet_false_alarms}**. Alarms on planned work, shelved "
        f"by its maintenance schedule: {result.shelved}. False alarms per 100 device-days: "
        f"**{100 * sum(result.false_alarms.values()) / max(result.device_days, 1):.2f}** "
        f"({result.device_days:,.0f} device-days).",
    ]
    if result.false_alarms:
        lines.append(
            "False alarms by rule: " + ", ".join(f"`{k}` {v}" for k, v in sorted(result.false_alarms.items()))
        )
    for text in result.missed:
        lines.append(f"- missed: {text}")
    for text in result.false_examples[:20]:
        lines.append(f"- false alarm: {text}")
    return "\n".join(lines)


def run(
    definitions: Sequence[RuleDefinition],
    *,
    step: timedelta,
    scenarios: Sequence[str] = SCENARIOS,
    history: timedelta = HISTORY,
    declared: bool = False,
) -> Score:
    """Simulate, replay and score every scenario (`declared`: see `subjects_for`)."""
    result = Score()
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenarios:
            the_plan, store, truth = simulate(name, Path(tmp), history)
            replay = Replay(
                definitions,
                subjects_for(the_plan, declared=declared),
                store,
                start=the_plan.start,
                end=the_plan.end,
            )
            score(name, replay.run(step), truth, result)
            result.device_days += len(the_plan.devices) * (the_plan.end - the_plan.start) / timedelta(days=1)
    return result


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-seconds", type=float, default=60.0)
    parser.add_argument("--rules", type=Path, default=None)
    parser.add_argument("--scenario", action="append", default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--declared", action="store_true", help="the register says how each device reports (default: nothing)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(
        load_rules(args.rules),
        step=timedelta(seconds=args.step_seconds),
        scenarios=args.scenario or SCENARIOS,
        declared=args.declared,
    )
    options = "".join(f" --scenario {name}" for name in args.scenario or ()) + (" --declared" * args.declared)
    text = report(result, step_s=args.step_seconds, seconds=time.perf_counter() - started, options=options)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

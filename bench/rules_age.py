"""Benchmark: what the rules engine costs as the demo ages, by rule kind (issue 14, item 8).

Run from the repository root:  .venv/bin/python -m bench.rules_age [--ages 10,60,120,240] [--step-seconds 5]
The demo's own fleet (the seed's devices, the simulators' readings every `--step-seconds`) and the shipped
rules, without the broker, the collector or the API: readings go into an in-memory store as the simulated
clock runs from `max(ages)` minutes ago, the cycle runner (`RulesRunner.run_once`, instant kinds left to the
live evaluator, as in the demo) runs every 5 simulated minutes to keep its cache warm, and the live evaluator
(`LiveState.feed`) takes every tick. At each age: three cycles, each after one more tick, are timed (process
CPU time, so the reader threads count), the fastest is printed with the CPU time of each rule kind's judgement
in it, then the live evaluator's CPU time for one tick, then what the cycle runner's window cache holds:
readings kept one by one, quarter-hour cells (`rules.summary`) and an estimate of their bytes (a tuple and a
float per reading, the numpy columns and cells as allocated, a datetime per distinct instant).
`bench/demo_soak.py` measures the whole demo; this says which rule kind, and which part of the cache, grows
with the age of its windows, and runs days of the fleet in minutes (`--step-seconds 60`). Run against an older
checkout by starting it from that checkout's root (`cd OLD && .venv/bin/python /path/to/bench/rules_age.py`).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.detection import MemoryStore
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.contract import Reading
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.migrate import upgrade
from rules.config import load_rules
from rules.evaluation import Watch, bind
from rules.live import INSTANT_KINDS, LiveState
from rules.runner import RulesRunner, WindowCache, subjects
from simulators.engine import Simulation
from simulators.fleet import records_from_document, simulated
from simulators.weather import TainanWeather


def cache_size(cache: WindowCache) -> tuple[int, int, float]:
    """(readings kept, cells kept, estimated MB) of a window cache."""
    readings = sum(len(w) for held in cache.series.values() for w in held.values())
    instants = {ts for held in cache.series.values() for w in held.values() for ts, _ in w}
    columns = sum(c.t.nbytes + c.v.nbytes for cols in cache.columns.values() for c in cols.values())
    sealed = getattr(cache, "sealed", {})  # older checkouts keep no cells
    cells = sum(len(c) for per in sealed.values() for c in per.values())
    every = [c for per in sealed.values() for c in per.values()]
    cell_bytes = sum(c.start.nbytes + c.n.nbytes + c.total.nbytes + c.m2.nbytes for c in every)
    tuples_and_floats = readings * (sys.getsizeof((0, 0.0)) + sys.getsizeof(0.0) + 8)  # + the list's pointer
    total = tuples_and_floats + 48 * len(instants) + columns + cell_bytes
    return readings, cells, total / 2**20


class TimedRunner(RulesRunner):
    """The cycle runner, with each rule kind's judging time added up."""

    by_kind: collections.defaultdict[str, float]  # kind -> CPU seconds

    def _judge(self, watch: Watch, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return super()._judge(watch, **kwargs)
        finally:
            self.by_kind[watch.definition.kind] += time.process_time() - started


def measure(runner: TimedRunner, live: LiveState, tick: Callable[[], tuple[datetime, list[Reading]]]) -> str:
    """The table's row after the age: the fastest of three cycles (each after one more tick) by rule kind,
    the live evaluator on one tick, and what the cache holds."""
    best, kinds = float("inf"), dict[str, float]()
    readings: list[Reading] = []
    for _ in range(3):
        ts, readings = tick()
        runner.by_kind.clear()
        started = time.process_time()
        runner.run_once(ts + timedelta(seconds=1))
        took = time.process_time() - started
        if took < best:
            best, kinds = took, dict(runner.by_kind)
    started = time.process_time()
    live.feed(readings)
    live_s = time.process_time() - started
    shares = ", ".join(f"{k} {v * 1000:.0f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    return (
        f"{best * 1000:.0f} | {shares} | {live_s * 1000:.1f} ({len(readings)} readings) "
        "| {:,}, {:,}, {:.1f} |".format(*cache_size(runner.cache))
    )


def main() -> None:
    """Parse arguments, run the fleet to each age, print the costs."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ages", default="10,60,120,240", help="minutes of history, comma-separated")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="the simulators' interval (demo: 5)")
    args = parser.parse_args()
    ages = sorted(int(a) for a in args.ages.split(","))

    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='rules-age-')}/register.db")
    upgrade(engine)
    factory = make_sessionmaker(engine)
    document = load_yaml(seed_path())
    with transaction(factory) as session:
        import_assets(session, document, actor="bench")
    with factory() as session:
        everyone = [s for s, _ in subjects(session).values()]
    definitions = load_rules()
    store = MemoryStore()
    runner = TimedRunner(
        book=definitions,
        store=store,
        session_factory=factory,
        lookback=timedelta(minutes=60),
        interval_s=5,
        skip_kinds=INSTANT_KINDS,
    )
    runner.by_kind = collections.defaultdict(float)
    instant = [bind(d, everyone) for d in definitions if d.enabled and d.kind in INSTANT_KINDS]
    live = LiveState([w for w in instant if w.subjects])
    step = timedelta(seconds=args.step_seconds)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=ages[-1] + 1)
    devices = simulated(records_from_document(document), seed=1)
    sim = Simulation(devices, start=start, step=step, weather=TainanWeather(1))

    def tick() -> tuple[datetime, list[Reading]]:
        t = sim.tick()
        readings = [Reading(d.code, k, t.ts, v) for d, values in t.samples for k, v in values.items()]
        store.write(readings, {})
        return t.ts, readings

    print(f"{len(devices)} devices, a reading set every {args.step_seconds:g} s; CPU ms (process time)")
    print("| age | cycle | by rule kind | live evaluator, one tick | cache: readings, cells, MB (est.) |")
    print("| ---: | ---: | --- | ---: | ---: |")
    cycled = start
    for age in ages:
        while sim.time_of(sim._index) < start + timedelta(minutes=age):
            ts, readings = tick()
            live.feed(readings)
            if ts - cycled >= timedelta(minutes=5):  # whatever the step and the start's seconds
                runner.run_once(ts + timedelta(seconds=1))
                cycled = ts
        print(f"| {age} min | " + measure(runner, live, tick), flush=True)
    runner.close()


if __name__ == "__main__":
    main()

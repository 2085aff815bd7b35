"""Issue 5's rules-engine benchmarks, against real servers started for the run.

    .venv/bin/python -m bench.rules_perf cycle    [--devices 10000] [--cycles 5]
    .venv/bin/python -m bench.rules_perf latency  [--devices 5000] [--seconds 60] [--breaches 300]

`cycle` (`[--live] [--judge both|batch|device]`): 10,000 electricity meters, 10 rules each (100,000
rule x device pairs: four thresholds, two rates of change, two flat lines, offline and after-hours),
12 hours of 5-minute history in a throwaway
InfluxDB and the register in a fresh PostgreSQL database. The cycle runner evaluates every rule itself (with
`--live`, as deployed, only the four windowed ones: the live evaluator judges the others on each reading),
and each cycle is timed end to end (store reads, judging, database): the first, cold cycle;
steady cycles where one device in ten has a new reading (5-minute meters, 30-second cycle); and cycles where
every device has one. Target: one second per cycle. By default two runners take the same cycles in turn,
one judging device by device with each kind's `judge` (the engine before rules.batch) and one judging each
rule over all devices at once, and the bench stops if their reports differ.

`latency`: a throwaway Mosquitto, a fresh PostgreSQL database, `--devices` meters each publishing one native
reading a second (QoS 1, paced per second: devices x 1 readings/s), and the live evaluator with a threshold
rule (power above 100 kW). At random moments `--breaches` distinct meters read 150 kW; latency is from the
publish of that reading to the ticket's creation (`tickets.created_at`, same clock). Target: p95 < 2 s at
5,000 readings/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from cityhall.contract import decode_native, encode_native, readings_subscription, readings_topic  # noqa: E402
from cityhall.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from cityhall.migrate import upgrade  # noqa: E402
from cityhall.models import Building, BuildingUse, Device, DeviceKind, Floor, Site, Space, SpaceKind, Ticket  # noqa: E402
from cityhall.settings import Settings  # noqa: E402
from rules.config import RuleDefinition, parse_rules  # noqa: E402
from simulators.wire import BatchPublisher  # noqa: E402
from tests import servers  # noqa: E402

if TYPE_CHECKING:
    from cityhall.timeseries.influx import InfluxStore
    from rules.runner import RulesRunner

PER_BUILDING = 100
TARGETS = {"device_kinds": ["electricity_meter"]}
STEP = timedelta(minutes=5)


def build_register(factory: sessionmaker[Session], devices: int) -> list[str]:
    """`devices` electricity meters, 100 per building, 10 per space; returns their codes."""
    codes: list[str] = []
    with transaction(factory) as session:
        site = Site(code="BENCH", name="Benchmark site")
        for b in range(devices // PER_BUILDING):
            building = Building(
                site=site,
                code=f"B{b:03d}",
                name=f"Building {b}",
                use=BuildingUse.OFFICE,
                gross_floor_area_m2=5000,
            )
            floor = Floor(building=building, level=1, name="1F", area_m2=5000)
            for s in range(PER_BUILDING // 10):
                space = Space(
                    floor=floor,
                    code=f"B{b:03d}-S{s:02d}",
                    name=f"Space {s}",
                    kind=SpaceKind.OFFICE,
                    area_m2=100,
                )
                for d in range(10):
                    code = f"B{b:03d}-S{s:02d}-M{d}"
                    codes.append(code)
                    session.add(
                        Device(
                            space=space,
                            code=code,
                            name=f"Meter {code}",
                            kind=DeviceKind.ELECTRICITY_METER,
                            quantities=["power_kw", "energy_kwh"],
                            serves="whole building",
                        )
                    )
            session.add(building)
    return codes


def ten_rules() -> list[RuleDefinition]:
    """Ten rules that every meter matches."""

    def rule(key: str, kind: str, **fields: object) -> dict[str, object]:
        return {"key": key, "name": f"Bench {key}", "kind": kind, "targets": TARGETS, **fields}

    return parse_rules(
        {
            "schedules": {"office-hours": {"days": "working", "from": "08:00", "to": "17:30"}},
            "rules": [
                rule("demand-high", "threshold", above=900, for_seconds=600, clear_for_seconds=600),
                rule("demand-critical", "threshold", above=1500, for_seconds=0),
                rule("demand-stopped", "threshold", below=0.5, for_seconds=1800),
                rule("energy-huge", "threshold", quantity="energy_kwh", above=9e8, for_seconds=0),
                rule("demand-spike", "rate_of_change", max_rise=800, max_fall=800),
                rule("register-back", "rate_of_change", quantity="energy_kwh", max_fall=1),
                rule("demand-flat", "flatline", samples=6, epsilon=1e-6, for_seconds=2700),
                rule(
                    "register-flat",
                    "flatline",
                    quantity="energy_kwh",
                    samples=6,
                    epsilon=1e-6,
                    for_seconds=2700,
                ),
                rule("silent", "offline", missed_intervals=2, grace_seconds=60),
                rule("after-hours", "after_hours", schedule="office-hours", above_pct=150, baseline_days=0.5),
            ],
        }
    )


def lines_at(codes: list[str], ts: datetime, rng: random.Random) -> bytes:
    """Line protocol for one reading of each meter (power and a rising register)."""
    ns = int(ts.timestamp()) * 10**9
    hour = ts.timestamp() / 3600
    out = []
    for code in codes:
        power = 200 + 100 * rng.random()
        start = 1000 + zlib.crc32(code.encode()) % 1000  # each register its own, always rising
        out.append(f"power_kw,device={code} value={power:.3f} {ns}")
        out.append(f"energy_kwh,device={code} value={start + hour * 250:.3f} {ns}")
    return "\n".join(out).encode()


def bench_cycle(args: argparse.Namespace) -> None:
    """Time runner cycles over 10,000 devices x 10 rules."""
    from cityhall.timeseries.influx import InfluxStore  # noqa: PLC0415
    from rules.evaluation import bind  # noqa: PLC0415
    from rules.live import INSTANT_KINDS  # noqa: PLC0415
    from rules.runner import RulesRunner, subjects  # noqa: PLC0415

    rng = random.Random(1)  # noqa: S311 - a benchmark's load, not a secret
    with servers.InfluxServer() as influx, fresh_database() as url:
        influx.create_database("bench")
        engine = make_engine(url)
        upgrade(engine)
        factory = make_sessionmaker(engine)
        codes = build_register(factory, args.devices)
        settings = Settings(influx_url=influx.url, influx_database="bench", database_url=url)
        store = InfluxStore.from_settings(settings)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        history = [now - STEP * k for k in range(int(timedelta(hours=12) / STEP), 0, -1)]
        started = time.perf_counter()
        for ts in history:
            store.write_lines(lines_at(codes, ts, rng))
        print(f"history: {len(history) * len(codes) * 2:,} points in {time.perf_counter() - started:.1f} s")
        definitions = ten_rules()
        skip = INSTANT_KINDS if args.live else frozenset()
        # "device": the kinds' pure judge device by device, one store query at a time (the engine before
        # the batch judge); "batch": rules.batch over all devices at once, quantities read in parallel.
        runners = {
            name: RulesRunner(
                book=definitions,
                store=store,
                session_factory=factory,
                lookback=timedelta(minutes=30),
                interval_s=30,
                skip_kinds=skip,
                batch=name == "batch",
                readers=4 if name == "batch" else 1,
            )
            for name in (["device", "batch"] if args.judge == "both" else [args.judge])
        }
        with factory() as session:
            everyone = [subject for subject, _ in subjects(session).values()]
        kinds = next(iter(runners.values())).kinds
        pairs = sum(len(bind(d, everyone).subjects) for d in definitions if d.kind in kinds)
        results = _drive(runners, store, codes, now=now, rng=rng, cycles=args.cycles)
        for runner in runners.values():
            runner.close()
        store.close()
        engine.dispose()
    machine = f"{platform.node()}, {platform.machine()}"
    print(f"\n{args.devices:,} devices, {pairs:,} rule x device pairs; {machine}; live={args.live}")
    print(f"load average at the end: {os.getloadavg()}")
    print("| cycle | judge | median (s) | median CPU (s) | runs | vs the 1 s target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (name, judge), times in results.items():
        median = statistics.median(t for t, _ in times)
        cpu = statistics.median(c for _, c in times)
        print(f"| {name} | {judge} | {median:.3f} | {cpu:.3f} | {len(times)} | {median / 1.0:.2f}x |")


def _drive(
    runners: dict[str, RulesRunner],
    store: InfluxStore,
    codes: list[str],
    *,
    now: datetime,
    rng: random.Random,
    cycles: int,
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """The cold cycle, `cycles` steady ones and `cycles` with every device; (cycle, judge) -> (seconds, CPU
    seconds of this process, the store client's threads included)."""
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def timed(name: str, at: datetime) -> None:
        reports = {}
        for judge, runner in runners.items():
            t0, cpu0 = time.perf_counter(), time.process_time()
            report = runner.run_once(at)
            took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            results.setdefault((name, judge), []).append((took, cpu))
            reports[judge] = (report.evaluated, sorted(report.raised), sorted(report.cleared))
            raised = dict(Counter(key for key, _ in report.raised))
            print(
                f"{name} [{judge}]: {took:.3f} s ({cpu:.3f} s CPU), {report.evaluated:,} evaluated, "
                f"raised {raised}; load {os.getloadavg()[0]:.1f}"
            )
        if len({repr(r) for r in reports.values()}) > 1:
            raise SystemExit(f"the judges disagree: {reports}")

    timed("cold (first cycle: 12 h of history)", now)
    clock = now
    for _ in range(cycles):  # one device in ten has a new reading
        clock += timedelta(seconds=30)
        share = codes[: len(codes) // 10]
        rng.shuffle(codes)
        store.write_lines(lines_at(share, clock, rng))
        timed("steady (10 % of devices with a new reading)", clock)
    for _ in range(cycles):  # every device has one
        clock += STEP
        store.write_lines(lines_at(codes, clock, rng))
        timed("all devices with a new reading", clock)
    return results


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database on the local server, dropped afterwards."""
    if servers.postgres_url() is None:
        raise SystemExit("PostgreSQL is needed on 127.0.0.1:5432 (trust auth)")
    url = servers.fresh_postgres_database("cityhall_bench")
    try:
        yield url
    finally:
        servers.drop_postgres_database(url)


def bench_latency(args: argparse.Namespace) -> None:
    """Reading-to-ticket latency of the live evaluator at `devices` readings/s."""
    from rules.live import LiveEvaluator  # noqa: PLC0415

    rng = random.Random(2)  # noqa: S311 - a benchmark's load, not a secret
    rules = parse_rules(
        {
            "rules": [
                {
                    "key": "demand-over",
                    "name": "Demand over 100 kW",
                    "kind": "threshold",
                    "above": 100,
                    "for_seconds": 0,
                    "severity": "high",
                    "targets": TARGETS,
                }
            ]
        }
    )
    with servers.MosquittoServer() as broker, fresh_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        factory = make_sessionmaker(engine)
        codes = build_register(factory, args.devices)
        settings = Settings(database_url=url, mqtt_host=broker.host, mqtt_port=broker.port)
        live = LiveEvaluator(
            settings,
            book=rules,
            session_factory=factory,
            decode=lambda _topic, payload: decode_native(payload),
            subscriptions=[readings_subscription(settings.mqtt_topic_prefix)],
        )
        live.start()
        if not live.wait_connected(10):
            raise SystemExit("the live evaluator did not connect")
        publisher = BatchPublisher(broker.host, broker.port, client_id="bench-latency", qos=1)
        publisher.connect()
        victims = rng.sample(codes, args.breaches)
        breach_at, sent, elapsed = _publish(
            publisher, prefix=settings.mqtt_topic_prefix, codes=codes, victims=victims, args=args, rng=rng
        )
        publisher.flush()
        deadline = time.time() + 30
        while time.time() < deadline:
            with factory() as session:
                if (session.scalar(select(func.count()).select_from(Ticket)) or 0) >= len(breach_at):
                    break
            time.sleep(0.5)
        latencies = []
        with factory() as session:
            rows = session.execute(
                select(Device.code, Ticket.created_at).join(Ticket, Ticket.device_id == Device.id)
            )
            for code, created in rows:
                latencies.append(created.timestamp() - breach_at[code])
        publisher.close()
        live.stop()
        engine.dispose()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    p50, p95 = statistics.median(latencies), cuts[94]
    rate = sent / elapsed
    print(f"\n{args.devices:,} meters, {rate:,.0f} readings/s for {elapsed:.0f} s; {platform.node()}")
    print(f"tickets: {len(latencies)} of {len(breach_at)} breaches")
    print("| p50 (s) | p95 (s) | max (s) | p95 vs the 2 s target |\n| --- | --- | --- | --- |")
    print(f"| {p50:.3f} | {p95:.3f} | {max(latencies):.3f} | {p95 / 2:.2f}x |")


def _publish(
    publisher: BatchPublisher,
    *,
    prefix: str,
    codes: list[str],
    victims: list[str],
    args: argparse.Namespace,
    rng: random.Random,
) -> tuple[dict[str, float], int, float]:
    """One reading per meter per second; victims read 150 kW once, at a random moment.

    Returns each victim's publish time (wall clock), the readings sent and the seconds taken.
    """
    topics = {code: readings_topic(prefix, code).encode() for code in codes}
    schedule = sorted(rng.uniform(2, args.seconds - 2) for _ in victims)
    breach_at: dict[str, float] = {}
    sent = 0
    t0 = time.time()
    for second in range(args.seconds):
        due = {v for v, at in zip(victims, schedule, strict=True) if second <= at < second + 1}
        now = datetime.now(UTC)
        normal = [
            (topics[c], encode_native(c, now, {"power_kw": 40.0 + rng.random()}))
            for c in codes
            if c not in due
        ]
        publisher.publish_many(normal)
        stamp = time.time()
        publisher.publish_many([(topics[v], encode_native(v, now, {"power_kw": 150.0})) for v in due])
        breach_at.update(dict.fromkeys(due, stamp))
        sent += len(codes)
        publisher.keep_alive()
        time.sleep(max(0.0, t0 + second + 1 - time.time()))
    return breach_at, sent, time.time() - t0


def main() -> None:
    """Parse the sub-command and run it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    cycle = sub.add_parser("cycle")
    cycle.add_argument("--devices", type=int, default=10_000)
    cycle.add_argument("--cycles", type=int, default=5)
    cycle.add_argument(
        "--live",
        action="store_true",
        help="as deployed: thresholds and rates of change are the live evaluator's",
    )
    cycle.add_argument(
        "--judge",
        choices=["both", "batch", "device"],
        default="both",
        help="batch (rules.batch), device (each kind's judge, device by device), or both on the same cycles",
    )
    latency = sub.add_parser("latency")
    latency.add_argument("--devices", type=int, default=5_000)
    latency.add_argument("--seconds", type=int, default=60)
    latency.add_argument("--breaches", type=int, default=300)
    args = parser.parse_args()
    bench_cycle(args) if args.what == "cycle" else bench_latency(args)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()

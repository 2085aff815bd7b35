"""Benchmark: fast mode of 10,000 simulated devices into a throwaway local Mosquitto, QoS 0 and QoS 1.

Run from the repository root:  .venv/bin/python -m bench.simulate [--runs 5] [--scenario PATH]
A `mosquitto_sub -t 'cityhall/#' -q 1` consumes everything, as a collector would. Prints the median
messages per second of each QoS and the ratio to the 20,000 msg/s target, as Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from cityhall.settings import Settings
from simulators.fleet import records_synthesized, simulated
from simulators.modes import fast_publisher, run_fast
from simulators.scenario import SCENARIO_DIR, load_scenario, plan
from tests.servers import MosquittoServer

TARGET_MSG_PER_S = 20_000
QOS_LEVELS = (0, 1)


def machine() -> str:
    """nproc, CPU model and Python version, for the record."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}"


def one_run(broker: MosquittoServer, scenario: Path, qos: int, max_inflight: int) -> float:
    """Messages per second of one fast run (QoS 1: until the last PUBACK)."""
    loaded = load_scenario(scenario)
    if loaded.spec.scale is None:
        raise SystemExit(f"{scenario}: the benchmark needs a scenario with a scale: section")
    the_plan = plan(loaded, simulated(records_synthesized(loaded.spec.scale), seed=loaded.spec.seed))
    settings = Settings(mqtt_host=broker.host, mqtt_port=broker.port, mqtt_protocol="3.1.1")
    publisher = fast_publisher(settings, qos=qos, max_inflight=max_inflight, client_id=f"bench-qos{qos}")
    try:
        stats = run_fast(the_plan, publisher, prefix=settings.mqtt_topic_prefix, show_progress=False)
    finally:
        publisher.close()
    return stats.messages_per_s


def main() -> None:
    """Run the benchmark and print a Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", type=Path, default=SCENARIO_DIR / "scale-10k.yaml")
    parser.add_argument("--max-inflight", type=int, default=2000)
    args = parser.parse_args()
    sub_binary = shutil.which("mosquitto_sub")
    if sub_binary is None:
        raise SystemExit("mosquitto_sub not found; run scripts/install-system-deps.sh")
    results: dict[int, list[float]] = {qos: [] for qos in QOS_LEVELS}
    with MosquittoServer() as broker:
        consumer = subprocess.Popen(
            [sub_binary, "-h", broker.host, "-p", str(broker.port), "-t", "cityhall/#", "-q", "1"],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)  # let the subscription settle before the first message
            for run in range(args.runs):
                for qos in QOS_LEVELS:
                    rate = one_run(broker, args.scenario, qos, args.max_inflight)
                    results[qos].append(rate)
                    print(f"run {run + 1} qos {qos}: {rate:,.0f} msg/s", flush=True)
        finally:
            consumer.terminate()
            consumer.wait(10)
    print()
    print(f"- date: {datetime.now(UTC).strftime('%a %b %d %H:%M:%S UTC %Y')}")
    print(f"- machine: {machine()}")
    print(f"- scenario: {args.scenario.name}, {args.runs} runs per QoS, max in-flight {args.max_inflight}")
    print()
    print("| QoS | median msg/s | runs (msg/s) | ratio to 20,000 |")
    print("| --- | --- | --- | --- |")
    for qos in QOS_LEVELS:
        median = statistics.median(results[qos])
        runs = ", ".join(f"{r:,.0f}" for r in results[qos])
        print(f"| {qos} | {median:,.0f} | {runs} | {median / TARGET_MSG_PER_S:.2f} |")


if __name__ == "__main__":
    main()

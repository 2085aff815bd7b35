"""Benchmark: the window cache's re-read of the late horizon, peak memory and time by span length.

Run from the repository root:  .venv/bin/python -m bench.cache_read [--devices 134] [--hours 6]
                                   [--chunks 120,30,120,30,15,60]
Writes `--hours` of 5-second power_kw readings for `--devices` devices (the demo's power meters and
air-conditioners) into a temporary SQLite readings table, then, for each chunk length in turn and in a fresh
process each (so one read's freed memory does not hide the next one's), reads them into a `WindowCache` as its
hourly re-read of the late horizon does, and prints the time, the process's peak RSS and its RSS before the
read. What the cache keeps is the same whatever the chunk; the peak above it is what a read holds while it
merges. Linux (peak RSS from getrusage). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cityhall.contract import Reading
from cityhall.db import make_engine
from cityhall.migrate import upgrade
from cityhall.timeseries.sql import SqlStore
from rules.runner import WindowCache

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
STEP = timedelta(seconds=5)


def _codes(devices: int) -> list[str]:
    return [f"D{i:04d}" for i in range(devices)]


def fill(db: Path, devices: int, hours: float) -> None:
    """Write the readings (values varying by device, as meters do)."""
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    store = SqlStore(engine)
    codes = _codes(devices)
    t = NOW - timedelta(hours=hours)
    batch: list[Reading] = []
    while t < NOW:
        batch.extend(Reading(code, "power_kw", t, 1.0 + i % 7) for i, code in enumerate(codes))
        t += STEP
        if len(batch) > 50_000:
            store.write(batch, {})
            batch = []
    store.write(batch, {})


def read(db: Path, devices: int, hours: float, chunk_min: int) -> str:
    """One read of every series into a new cache; a table row."""
    store = SqlStore(make_engine(f"sqlite:///{db}"))
    cache = WindowCache(store, chunk=timedelta(minutes=chunk_min), readers=4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    cache.refresh_many({"power_kw": (set(_codes(devices)), NOW - timedelta(hours=hours))}, NOW)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kept = sum(len(w) for w in cache.series["power_kw"].values())
    return f"| {chunk_min} min | {took:.1f} s | {peak:.0f} MB | {before:.0f} MB | {kept:,} |"


def main() -> None:
    """Fill once, then read once per chunk length, each in its own process."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=134)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--chunks", default="120,30,120,30,15,60", help="minutes, comma-separated")
    parser.add_argument("--read", type=Path, default=None, help=argparse.SUPPRESS)  # the child's job
    parser.add_argument("--chunk", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read is not None:
        print(read(args.read, args.devices, args.hours, args.chunk), flush=True)
        return
    with tempfile.TemporaryDirectory(prefix="cache-read-") as tmp:
        db = Path(tmp) / "readings.db"
        fill(db, args.devices, args.hours)
        print(f"{args.devices} devices x {args.hours:g} h of 5-s readings; one process per read")
        print("| chunk | read | peak RSS | RSS before the read | readings kept |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for chunk in (int(c) for c in args.chunks.split(",")):
            command = [sys.executable, "-m", "bench.cache_read", "--read", str(db), "--chunk", str(chunk)]
            command += ["--devices", str(args.devices), "--hours", str(args.hours)]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()

"""The InfluxDB write client on the collector's hot path: httpx (old) against the standard library's
http.client as cityhall.timeseries.influx now posts /write, one and two connections, against a throwaway
InfluxDB from the tests' servers module. Measures readings/s and the client's own CPU per reading.

    .venv/bin/python bench/influx_write.py [--repeats 5] [--readings 200000] [--batch 500]

Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityhall.contract import Reading
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.lineprotocol import encode
from tests import servers

DEVICES = [f"YH-A-{floor}F-EM-{n:02d}" for floor in range(1, 11) for n in range(1, 6)]
TAGS = {d: {"building": "YH-A", "site": "YH", "kind": "electricity_meter"} for d in DEVICES}


def bodies(total: int, batch: int) -> list[bytes]:
    """Line-protocol bodies of `batch` power readings each, distinct instants, 50 meters."""
    base = datetime.now(UTC) - timedelta(days=1)
    readings = [
        Reading(DEVICES[i % 50], "power_kw", base + timedelta(milliseconds=i), float(i % 1000))
        for i in range(total)
    ]
    return [encode(readings[i : i + batch], TAGS) for i in range(0, total, batch)]


def httpx_poster(url: str, db: str) -> Callable[[bytes], None]:
    """InfluxStore.write_lines as it was: one shared httpx.Client."""
    client = httpx.Client(base_url=url, timeout=10)

    def post(body: bytes) -> None:
        resp = client.post("/write", params={"db": db, "precision": "ns"}, content=body)
        if resp.status_code != 204:
            raise SystemExit(f"httpx write: {resp.status_code}")

    return post


def store_poster(url: str, db: str) -> Callable[[bytes], None]:
    """InfluxStore.write_lines now (http.client, a connection per thread)."""
    return InfluxStore(url, db).write_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    payloads = bodies(args.readings, args.batch)
    contenders = [
        ("httpx (old), 1 connection", httpx_poster, 1),
        ("http.client (new), 1 connection", store_poster, 1),
        ("httpx (old), 2 connections", httpx_poster, 2),
        ("http.client (new), 2 connections", store_poster, 2),
    ]
    rates: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
    with servers.InfluxServer() as influx:
        for rep in range(args.repeats):
            order = contenders if rep % 2 == 0 else contenders[::-1]  # load from others hits both
            for name, make, threads in order:
                db = f"w{rep}_{len(rates[name])}_{threads}_{'hc' if make is store_poster else 'hx'}"
                influx.create_database(db)
                post = make(influx.url, db)
                cpu0, t0 = time.process_time(), time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(post, payloads))
                elapsed, used = time.perf_counter() - t0, time.process_time() - cpu0
                count = influx.query('SELECT count("value") FROM "power_kw"', db)
                stored = count["results"][0]["series"][0]["values"][0][1]
                if stored != args.readings:
                    raise SystemExit(f"{name}: {stored} of {args.readings} readings stored")
                rates[name].append(args.readings / elapsed)
                cpu[name].append(used / args.readings * 1e6)
    date = subprocess.run(["date", "-u"], capture_output=True, text=True, check=True).stdout.strip()
    print(
        f"- command: `.venv/bin/python bench/influx_write.py --repeats {args.repeats} "
        f"--readings {args.readings} --batch {args.batch}`"
    )
    print(f"- date: {date}; machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print()
    print("| client | readings/s, median | client CPU µs a reading, median |")
    print("| --- | ---: | ---: |")
    for name, _, _ in contenders:
        print(f"| {name} | {statistics.median(rates[name]):,.0f} | {statistics.median(cpu[name]):.2f} |")


if __name__ == "__main__":
    main()

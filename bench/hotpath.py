"""The collector's hot path, old against new in the same run: native decode (the pydantic model against
plain json.loads with the same checks, a fast path that was tried and dropped: see docs/benchmarks.md),
line-protocol tags (escaped per reading vs once per device per batch), and the hand-off between
paho's thread and the writer (queue.Queue vs a deque drained in bulk).

    .venv/bin/python bench/hotpath.py [--repeats 5] [--messages 50000]

Prints a Markdown table of medians (microseconds per message) and the ratio old / new.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cityhall.contract import DEVICE_CODE_RE, QUANTITIES, Reading, decode_native, encode_native
from cityhall.timeseries.lineprotocol import _MEASUREMENT, encode, epoch_ns, tag_string

DEVICES = [f"YH-A-{floor}F-EM-{n:02d}" for floor in range(1, 11) for n in range(1, 6)]
TAGS = {
    d: {"building": "YH-A", "site": "YH", "kind": "electricity_meter", "space": d[:7] + "PLANT"}
    for d in DEVICES
}


def payloads(n: int) -> list[bytes]:
    """n native payloads over 50 devices, one power reading each."""
    base = datetime.now(UTC) - timedelta(days=2)  # every timestamp in the past
    return [
        encode_native(DEVICES[i % 50], base + timedelta(seconds=i), {"power_kw": 40.0 + i % 100})
        for i in range(n)
    ]


def decode_json(raw: bytes) -> list[Reading]:
    """The hand-written alternative to the pydantic model: json.loads plus the contract's checks."""
    doc = json.loads(raw)
    if doc.keys() != {"device", "ts", "values"} or not DEVICE_CODE_RE.match(doc["device"]):
        raise ValueError("bad payload")
    ts = datetime.fromisoformat(doc["ts"]).astimezone(UTC)
    out = []
    for key, value in doc["values"].items():
        quantity = QUANTITIES[key]
        if type(value) not in (int, float) or not quantity.minimum <= value <= quantity.maximum:
            raise ValueError(key)
        out.append(Reading(doc["device"], key, ts, float(value)))
    return out


def encode_per_reading(readings: list[Reading]) -> bytes:
    """Line protocol with every reading's tags escaped and sorted again (the old encode)."""
    lines = []
    for r in readings:
        tag_set = tag_string(r.device, TAGS[r.device])
        lines.append(f"{r.quantity.translate(_MEASUREMENT)},{tag_set} value={r.value!r} {epoch_ns(r.ts)}")
    return ("\n".join(lines) + "\n").encode()


def handoff_queue(items: list[bytes]) -> None:
    """Producer thread puts one by one; consumer gets one by one (the old inbox)."""
    q: queue.Queue[bytes] = queue.Queue()
    done = threading.Event()

    def consume() -> None:
        for _ in range(len(items)):
            q.get(timeout=5)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    for item in items:
        q.put(item)
    done.wait(60)
    t.join()


def handoff_deque(items: list[bytes]) -> None:
    """Producer appends and sets an event; consumer drains in bulk (the new inbox)."""
    inbox: deque[bytes] = deque()
    mail = threading.Event()
    got = 0

    def consume() -> None:
        nonlocal got
        while got < len(items):
            mail.clear()
            if not inbox:
                mail.wait(0.02)
            while inbox:
                inbox.popleft()
                got += 1

    t = threading.Thread(target=consume)
    t.start()
    for item in items:
        inbox.append(item)
        mail.set()
    t.join(60)


def per_message_us(fn: Callable[[], object], n: int, repeats: int) -> tuple[float, list[float]]:
    """Median microseconds per message over repeats."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(runs), runs


def main() -> None:
    """Run every pair and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    n, r = args.messages, args.repeats
    raws = payloads(n)
    readings = [x for raw in raws for x in decode_native(raw)]
    # Old and new must produce the same output, or the comparison means nothing.
    if [decode_json(raw) for raw in raws[:1000]] != [decode_native(raw) for raw in raws[:1000]]:
        raise SystemExit("decoders disagree")
    if encode_per_reading(readings[:1000]) != encode(readings[:1000], TAGS):
        raise SystemExit("encoders disagree")
    pairs = [
        (
            "native decode: json.loads + checks (old) vs the pydantic model (new, shipped)",
            lambda: [decode_json(x) for x in raws],
            lambda: [decode_native(x) for x in raws],
        ),
        (
            "line protocol, batches of 500",
            lambda: [encode_per_reading(readings[i : i + 500]) for i in range(0, n, 500)],
            lambda: [encode(readings[i : i + 500], TAGS) for i in range(0, n, 500)],
        ),
        ("thread hand-off", lambda: handoff_queue(raws), lambda: handoff_deque(raws)),
    ]
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    date = subprocess.run(["date", "-u"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"- command: `.venv/bin/python bench/hotpath.py --repeats {r} --messages {n}`")
    print(f"- date: {date}; machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}")
    print()
    print("| step | old (µs/msg) | new (µs/msg) | old / new |")
    print("| --- | ---: | ---: | ---: |")
    for name, old, new in pairs:
        old_us, _ = per_message_us(old, n, r)
        new_us, _ = per_message_us(new, n, r)
        print(f"| {name} | {old_us:.2f} | {new_us:.2f} | {old_us / new_us:.2f} |")


if __name__ == "__main__":
    main()

"""Benchmark: the demo's CPU and memory over hours, to show they reach a plateau (issue 14, item 8).

Run from the repository root:  .venv/bin/python -m bench.demo_soak [--minutes 120] [--every 60]
                                   [--repo DIR] [--out FILE]
Starts the real `cityhall demo` (its defaults: 5-second simulators, 5-second rules cycle, live evaluator,
housekeeping, API) as a subprocess on a free port with a temporary data directory, waits for /health, then
every `--every` seconds samples the process's CPU time (utime + stime from /proc/PID/stat, its children
included), its resident memory (VmRSS) and the machine's load average. Prints one row per sample (minute,
CPU % of one core over the interval, RSS MB, 1-minute load) as it goes, appends it to a CSV under
bench/results/, and at the end (or on Ctrl-C / SIGTERM) prints a summary: the CPU and RSS medians of the
first ten minutes against the last ten and their ratio, and the slope of RSS over the second half.

`--summary FILE` prints the summary of a CSV, also of a run still going. `--aged-hours H` first gives the
demo's database H hours of every device's 5-s readings up to now (`cityhall simulate --mode backfill`) and
starts the demo on it (`--keep`): its rule windows start full, as in a demo H hours old, so two hours of
sampling show whether it has reached its plateau without waiting H hours first.
`--repo` runs the demo of another checkout (its own .venv), e.g. a `git worktree` of an older commit, so
before and after are measured by the same script. Linux only (/proc). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
TICK_S = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the demo process."""

    minute: float  # since the demo answered /health
    cpu_pct: float  # of one core, over the interval since the previous sample
    rss_mb: float
    load_1m: float
    load_5m: float
    load_15m: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the demo runs in threads, but a broker could fork)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, ()))
    return out


def _cpu_s(pids: Sequence[int]) -> float:
    """utime + stime of the processes, in seconds (the comm field may hold spaces: split after ')')."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5), counted from pid = 1
    return total / TICK_S


def _rss_mb(pids: Sequence[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
    return total * PAGE_MB


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the demo exited with {proc.returncode} before answering /health")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the demo did not answer /health within {timeout_s:g} s")


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _slope_per_hour(samples: Sequence[Sample]) -> float:
    """Least-squares slope of RSS against time, MB per hour."""
    if len(samples) < 2:
        return float("nan")
    xs = [s.minute / 60 for s in samples]
    ys = [s.rss_mb for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else float("nan")


def summary(samples: Sequence[Sample]) -> str:
    """First ten minutes against the last ten, and the RSS slope over the second half."""
    if not samples:
        return "no samples"
    end = samples[-1].minute
    first = [s for s in samples if s.minute <= 10]
    last = [s for s in samples if s.minute > end - 10]
    half = [s for s in samples if s.minute >= end / 2]
    cpu0, cpu1 = _median([s.cpu_pct for s in first]), _median([s.cpu_pct for s in last])
    rss0, rss1 = _median([s.rss_mb for s in first]), _median([s.rss_mb for s in last])
    loads = [s.load_1m for s in samples]
    return "\n".join(
        [
            f"samples {len(samples)} over {end:.1f} min",
            "| | first 10 min (median) | last 10 min (median) | last / first |",
            "| --- | ---: | ---: | ---: |",
            f"| CPU, % of a core | {cpu0:.1f} | {cpu1:.1f} | {cpu1 / cpu0:.2f} |",
            f"| RSS, MB | {rss0:.0f} | {rss1:.0f} | {rss1 / rss0:.2f} |",
            f"RSS slope over the second half ({end / 2:.0f}-{end:.0f} min): "
            f"{_slope_per_hour(half):+.1f} MB/hour",
            f"load average (1 min) during the run: median {_median(loads):.2f}, max {max(loads):.2f}",
        ]
    )


def _sample(pid: int, start: float, prev_t: float, prev_cpu: float) -> tuple[Sample, float, float]:
    """One sample of the process tree; with the clock and CPU reading the next interval starts from."""
    pids = _tree(pid)
    now_t, cpu = time.monotonic(), _cpu_s(pids)
    load = os.getloadavg()
    s = Sample(
        minute=(now_t - start) / 60,
        cpu_pct=100 * (cpu - prev_cpu) / (now_t - prev_t),
        rss_mb=_rss_mb(pids),
        load_1m=load[0],
        load_5m=load[1],
        load_15m=load[2],
    )
    return s, now_t, cpu


def read_csv(path: Path) -> list[Sample]:
    """The samples of an earlier run (one that is still going, too)."""
    with path.open(newline="") as f:
        return [Sample(*(float(row[k]) for k in row)) for row in csv.DictReader(f)]


def _start(
    python: Path, repo: Path, port: int, data_dir: Path, log_path: Path, *, keep: bool
) -> subprocess.Popen[bytes]:
    argv = [str(python), "-m", "cityhall", "demo", "--port", str(port), "--data-dir", str(data_dir)]
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [*argv, "--keep"] if keep else argv, cwd=repo, stdout=log_file, stderr=subprocess.STDOUT
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # the demo's own way to stop
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def age(python: Path, repo: Path, data_dir: Path, hours: float, log_path: Path) -> None:
    """Give the demo in `data_dir` `hours` of every device's readings at its 5-s rate, up to now: the demo
    then starts with its rule windows full (a demo that has run that long), not empty. The demo is started
    once to lay out its database, then `cityhall simulate --mode backfill` writes the readings."""
    port = _free_port()
    proc = _start(python, repo, port, data_dir, log_path, keep=False)
    try:
        _wait_healthy(port, proc, 180)
    finally:
        _stop(proc)
    start = datetime.now(UTC) - timedelta(hours=hours)
    scenario = data_dir / "aged.yaml"
    scenario.write_text(
        f"name: soak-aged\nseed: 20\nstart: {start.isoformat(timespec='seconds')}\n"
        f"duration: {hours * 3600:.0f}s\nstep: 5s\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "CITYHALL_DATABASE_URL": f"sqlite:///{data_dir / 'demo.db'}",
        "CITYHALL_INFLUX_URL": "",
    }
    began = time.monotonic()
    argv = [str(python), "-m", "cityhall", "simulate", "--scenario", str(scenario), "--mode", "backfill"]
    with log_path.open("ab") as log_file:
        subprocess.run([*argv, "--no-progress", "--out-dir", str(data_dir)], cwd=repo, env=env,
                       stdout=log_file, stderr=subprocess.STDOUT, check=True)  # fmt: skip
    print(f"aged: {hours:g} h of readings up to now written in {time.monotonic() - began:.0f} s", flush=True)


def soak(*, repo: Path, minutes: float, every_s: float, out: Path, aged_hours: float = 0.0) -> list[Sample]:
    """Run the demo of `repo` for `minutes`, sampling every `every_s`; the samples (also in `out`).
    `aged_hours`: start it with that much history of every device (`age`)."""
    python = repo / ".venv" / "bin" / "python"
    port = _free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="soak-demo-"))
    log_path = data_dir / "demo.log"
    print(f"demo of {repo} on port {port}, data {data_dir}, log {log_path}, CSV {out}", flush=True)
    if aged_hours:
        age(python, repo, data_dir, aged_hours, log_path)
    proc = _start(python, repo, port, data_dir, log_path, keep=bool(aged_hours))
    samples: list[Sample] = []
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        _wait_healthy(port, proc, 180)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["minute", "cpu_pct", "rss_mb", "load_1m", "load_5m", "load_15m"])
            print("| minute | CPU % of a core | RSS MB | load 1/5/15 min |", flush=True)
            print("| ---: | ---: | ---: | --- |", flush=True)
            start = prev_t = time.monotonic()
            prev_cpu = _cpu_s(_tree(proc.pid))
            while not stopping and time.monotonic() - start < minutes * 60:
                wake = start + (len(samples) + 1) * every_s
                while not stopping and time.monotonic() < wake:
                    time.sleep(min(1.0, max(0.0, wake - time.monotonic())))
                if stopping:
                    break
                if proc.poll() is not None:
                    print(f"the demo exited with {proc.returncode}; see {log_path}", flush=True)
                    break
                s, prev_t, prev_cpu = _sample(proc.pid, start, prev_t, prev_cpu)
                samples.append(s)
                row = [f"{s.minute:.1f}", f"{s.cpu_pct:.1f}", f"{s.rss_mb:.0f}"]
                loads = [f"{s.load_1m:.2f}", f"{s.load_5m:.2f}", f"{s.load_15m:.2f}"]
                writer.writerow([*row, *loads])
                f.flush()
                print(f"| {' | '.join(row)} | {' / '.join(loads)} |", flush=True)
    finally:
        _stop(proc)
    return samples


def main() -> None:
    """Parse arguments, soak, print the summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=120.0, help="how long to sample (default 120)")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose demo runs (its .venv)")
    parser.add_argument("--out", type=Path, help="CSV (default bench/results/demo_soak-<UTC time>.csv)")
    parser.add_argument("--summary", type=Path, help="only print the summary of an earlier run's CSV")
    parser.add_argument(
        "--aged-hours", type=float, default=0.0, help="start with this many hours of every device's readings"
    )
    args = parser.parse_args()
    if args.summary:
        print(summary(read_csv(args.summary)))
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    out = args.out or ROOT / "bench" / "results" / f"demo_soak-{stamp}.csv"
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    print(f"{datetime.now(UTC).isoformat(timespec='seconds')}  {os.cpu_count()} CPUs ({cpu}), "
          f"Python {platform.python_version()}, load {os.getloadavg()}", flush=True)  # fmt: skip
    samples = soak(
        repo=args.repo.resolve(),
        minutes=args.minutes,
        every_s=args.every,
        out=out,
        aged_hours=args.aged_hours,
    )
    print(summary(samples), flush=True)
    sys.exit(0 if samples else 1)


if __name__ == "__main__":
    main()

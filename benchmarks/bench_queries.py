"""perflab's query digest against pgBadger, on the same PostgreSQL log, in the same run.

The log is volume built from the real sample (``data/sample/queries/postgresql.log``,
written by PostgreSQL 15 on this machine): its lines are repeated with the times
shifted, the process ids moved and every number in the statements and parameters
redrawn (seeded), so patterns repeat the way a production log's do while literals vary.

Printed:

* **agreement** — per normalised query, pgBadger's count and total duration against
  perflab's calls and total for the same pattern (pgBadger's normalised text is
  fingerprinted by perflab); patterns both tools group the same way must agree;
* **CPU time** — pgBadger (``-j 1``, JSON output) against ``perflab.queries.digest``
  (parse + fingerprint + pattern table), each the median of ``--runs`` runs, user +
  system time of the whole process (perflab's interpreter start and imports
  included); the target is ≥ 10× less CPU for perflab;
* **lines per second on one core** — ``digest`` with ``POLARS_MAX_THREADS=1``: wall
  time of the digest call; the target is ≥ 65,000;
* **memory** — peak RSS of ``digest`` on the log and on a log ``--memory-factor``
  times larger (the flat-memory claim: a 1 GB log analyses without holding it).

Run: ``.venv/bin/python benchmarks/bench_queries.py [--lines 1000000] [--runs 3]
[--memory-factor 8]``. Needs the Debian package ``pgbadger``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "queries" / "postgresql.log"
PREFIX = "%m [%p] %q%u@%d app=%a "
STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}) UTC \[(\d+)\]")
NUMBER = re.compile(r"(?<![\w$.])\d+(?![\w.])")


def build_log(path: Path, lines: int, seed: int = 11) -> int:
    """Write about ``lines`` lines of log built from the sample; return the count."""
    template = SAMPLE.read_text().splitlines()
    # drop the lines written with the other prefix after the reload (no milliseconds)
    other = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC \[")
    template = [ln for ln in template if not other.match(ln)]
    rng = random.Random(seed)
    start = datetime(2026, 12, 1)
    span = timedelta(seconds=30)
    written = 0
    rep = 0
    with open(path, "w") as out:
        while written < lines:
            shift = span * rep
            pid_shift = 100_000 * (rep % 40)
            for ln in template:
                m = STAMP.match(ln)
                if m:
                    t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
                    t = start + shift + (t - t.replace(hour=0, minute=0, second=0, microsecond=0))
                    ms, pid = t.microsecond // 1000, int(m.group(2)) + pid_shift
                    head = f"{t:%Y-%m-%d %H:%M:%S}.{ms:03d} UTC [{pid}]"
                    rest = ln[m.end() :]
                    if "statement: " in rest or "execute " in rest or "parameters: " in rest:
                        cut = rest.find(": ", rest.find("LOG:  ") + 6) if "LOG:  " in rest else 0
                        rest = rest[:cut] + NUMBER.sub(
                            lambda _: str(rng.randint(1, 99999)), rest[cut:]
                        )
                    out.write(head + rest + "\n")
                else:
                    out.write(ln + "\n")
                written += 1
            rep += 1
    return written


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(cpu seconds, wall seconds, peak RSS MiB, stdout) of one child process.

    The child's own resource use (``wait4``): ``RUSAGE_CHILDREN``'s peak RSS is the
    largest of every child so far, not this one's.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{stderr[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return cpu, wall, usage.ru_maxrss / 1024, stdout


DIGEST = """
import json, sys, time
from perflab.queries import digest
t0 = time.process_time(); w0 = time.perf_counter()
d = digest(sys.argv[1], prefix=sys.argv[2])
cpu = time.process_time() - t0; wall = time.perf_counter() - w0
rows = d.patterns.select("query", "calls", "total_ms").rows()
print(json.dumps({"cpu": cpu, "wall": wall, "statements": d.statements, "patterns": rows}))
"""


def perflab(log: Path, *, threads: int | None = None) -> tuple[float, float, float, dict]:
    env = dict(os.environ)
    if threads is not None:
        env["POLARS_MAX_THREADS"] = str(threads)
        env["NUMBA_NUM_THREADS"] = str(threads)
    cpu, wall, rss, out = run_child([sys.executable, "-c", DIGEST, str(log), PREFIX], env)
    return cpu, wall, rss, json.loads(out)


def pgbadger(log: Path, out: Path) -> tuple[float, float, float, dict]:
    cmd = ["pgbadger", "-j", "1", "--prefix", PREFIX, "-x", "json", "-o", str(out), "--quiet",
           str(log)]  # fmt: skip
    cpu, wall, rss, _ = run_child(cmd)
    return cpu, wall, rss, json.loads(out.read_text())


def agreement(perf: dict, badger: dict) -> tuple[int, int, int, float, int]:
    """(patterns compared, calls agreeing, total within 1 %, share of calls covered, …)."""
    from perflab.queries import fingerprint

    ours: dict[str, tuple[int, float]] = {}
    table = fingerprint([q for q, _, _ in perf["patterns"]])
    for (_, calls, total), fp in zip(perf["patterns"], table["fingerprint"], strict=True):
        ours[fp] = (calls, total or 0.0)
    theirs: dict[str, list[tuple[int, float]]] = {}
    info = badger.get("normalyzed_info", {})
    entries = [(q, v) for db in info.values() for q, v in db.items()]
    fps = fingerprint([q for q, _ in entries])["fingerprint"].to_list()
    for (_, v), fp in zip(entries, fps, strict=True):
        theirs.setdefault(fp, []).append((int(v["count"]), float(v["duration"])))
    compared = calls_ok = total_ok = 0
    covered = 0
    for fp, rows in theirs.items():
        if len(rows) != 1 or fp not in ours:
            continue  # grouped differently by the two tools
        compared += 1
        count, dur = rows[0]
        calls, total = ours[fp]
        if count == calls:
            calls_ok += 1
            covered += calls
        if abs(total - dur) <= 0.01 * max(dur, 1e-9):
            total_ok += 1
    all_calls = sum(c for c, _ in ours.values())
    return compared, calls_ok, total_ok, covered / max(all_calls, 1), len(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-factor", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("pgbadger") is None:
        sys.exit("pgbadger is not installed (Debian: apt install pgbadger)")
    with tempfile.TemporaryDirectory(prefix="bench-queries-") as tmp:
        log = Path(tmp) / "postgresql.log"
        n = build_log(log, args.lines)
        size = log.stat().st_size
        print(f"input: {n:,} lines, {size / 1e6:,.0f} MB, built from the real sample (seeded)")

        badger, ours = [], []
        for _ in range(args.runs):  # interleaved; both on one core
            badger.append(pgbadger(log, Path(tmp) / "pgbadger.json"))
            ours.append(perflab(log, threads=1))
        b_cpu = statistics.median(r[0] for r in badger)
        p_cpu = statistics.median(r[0] for r in ours)
        p_inner = statistics.median(r[3]["cpu"] for r in ours)
        print(f"{'':34}{'CPU s (median)':>16}{'wall s':>10}")
        b_wall = statistics.median(r[1] for r in badger)
        print(f"{'pgBadger -j 1 (JSON)':34}{b_cpu:16.2f}{b_wall:10.2f}")
        p_wall = statistics.median(r[1] for r in ours)
        print(f"{'perflab digest, 1 thread (process)':34}{p_cpu:16.2f}{p_wall:10.2f}")
        print(f"{'perflab digest, 1 thread (call)':34}{p_inner:16.2f}")
        print(f"CPU ratio pgBadger / perflab:      {b_cpu / p_cpu:6.1f}x  "
              "(whole process; target >= 10x)")  # fmt: skip
        print(f"                                   {b_cpu / p_inner:6.1f}x  (digest call)")

        compared, calls_ok, total_ok, covered, theirs = agreement(ours[0][3], badger[0][3])
        print(
            f"agreement: {compared} patterns grouped alike by both ({theirs} pgBadger entries); "
            f"calls equal in {calls_ok}, total time within 1 % in {total_ok}; "
            f"they hold {covered:.1%} of perflab's calls"
        )

        wall1 = statistics.median(r[3]["wall"] for r in ours)
        multi = [perflab(log) for _ in range(args.runs)]
        print(
            f"perflab digest, all cores: {statistics.median(r[1] for r in multi):.2f} s wall, "
            f"{statistics.median(r[0] for r in multi):.2f} s CPU"
        )
        print(f"one core (POLARS_MAX_THREADS=1): {n / wall1:,.0f} lines/s "
              f"({wall1:.2f} s for the digest call; target >= 65,000)")  # fmt: skip

        big = Path(tmp) / "big.log"
        with open(big, "wb") as out:
            for _ in range(args.memory_factor):
                with open(log, "rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        rss_small = statistics.median(perflab(log)[2] for _ in range(2))
        _, wall_big, rss_big, res = perflab(big)
        print(
            f"memory: peak RSS {rss_small:,.0f} MiB on {size / 1e6:,.0f} MB, {rss_big:,.0f} MiB "
            f"on {big.stat().st_size / 1e9:,.2f} GB ({res['statements']:,} statements, "
            f"{wall_big:.1f} s); ratio {rss_big / rss_small:.2f} for {args.memory_factor}x the log"
        )


if __name__ == "__main__":
    main()

"""What ``MemorySampler`` costs: the slowdown of the process sampled, and one sample.

Overhead. A fixed pure-Python CPU-bound loop runs ROUNDS times without a sampler and
with one sampling this process every 0.1 s and every 0.01 s (full info every 5 s, the
default, and every sample, the worst case); the variants are interleaved round by
round, in a rotating order, so drift hits all alike. A round's figure is the loop's
wall time (the sampler is started before and stopped after it); the median of the
rounds is reported with its overhead against no sampler. The in-process sampler
competes for the GIL, so this is the cost a service pays for sampling itself. The
same loop is then run in a child process sampled by pid from here, the other way of
using the sampler, whose cost to the child is only CPU contention.

Why an in-process sampler can cost far more than its own CPU time: each psutil read
opens, reads and closes a /proc file, and every one of those system calls releases
the GIL; getting it back from a CPU-bound thread takes a forced switch (up to the
5 ms switch interval), so one sample is some twenty GIL hand-offs. On a machine
whose cores are busy, every hand-off also waits for the scheduler. The load average
is printed so the figures can be read against it.

Per-sample cost. ``MemorySampler.sample()`` called SAMPLES times, median of RUNS
runs, without and with ``memory_full_info``; the peer is the same psutil reads written
by hand (``memory_info``, ``num_fds``, ``num_threads``, ``virtual_memory``) with no
buffer, which is what a user would otherwise write.

Run: ``.venv/bin/python benchmarks/bench_memory_sampler.py [--loop N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import psutil

from perflab.memory.live import MemorySampler

LOOP_CODE = """
def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
"""
namespace: dict[str, object] = {}
exec(LOOP_CODE, namespace)
work: Callable[[int], int] = namespace["work"]  # type: ignore[assignment]

CHILD = LOOP_CODE + textwrap.dedent(
    """
    import sys, time
    n = int(sys.argv[1])
    print("ready", flush=True)
    for line in sys.stdin:
        t0 = time.perf_counter()
        work(n)
        print(time.perf_counter() - t0, flush=True)
    """
)

VARIANTS: list[tuple[str, dict[str, float | None] | None]] = [
    ("no sampler", None),
    ("interval 0.1 s", {"interval": 0.1, "full_interval": 5.0}),
    ("interval 0.01 s", {"interval": 0.01, "full_interval": 5.0}),
    ("interval 0.1 s, full every sample", {"interval": 0.1, "full_interval": 0.1}),
    ("interval 0.01 s, full every sample", {"interval": 0.01, "full_interval": 0.01}),
]


def in_process(loop: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median loop seconds and median samples taken per round, for each variant."""
    times: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
    taken: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
    for r in range(rounds):
        order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
        for name, kwargs in order:
            sampler = MemorySampler(**kwargs) if kwargs is not None else None  # type: ignore[arg-type]
            if sampler is not None:
                sampler.start()
            t0 = time.perf_counter()
            work(loop)
            times[name].append(time.perf_counter() - t0)
            if sampler is not None:
                sampler.stop()
                taken[name].append(sampler.to_frame().get_column("timestamp").n_unique())
            else:
                taken[name].append(0)
    return {n: (statistics.median(times[n]), statistics.median(taken[n])) for n in times}


def by_pid(loop: int, rounds: int) -> dict[str, float]:
    """Median loop seconds in a child, unsampled and sampled by pid every 0.01 s."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(loop)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdout.readline()
    times: dict[str, list[float]] = {"no sampler": [], "sampled by pid every 0.01 s": []}
    try:
        for r in range(rounds):
            names = list(times) if r % 2 == 0 else list(reversed(times))
            for name in names:
                sampler = None
                if name != "no sampler":
                    sampler = MemorySampler(child.pid, interval=0.01).start()
                child.stdin.write("go\n")
                child.stdin.flush()
                times[name].append(float(child.stdout.readline()))
                if sampler is not None:
                    sampler.stop()
    finally:
        child.kill()
        child.wait(10)
    return {n: statistics.median(v) for n, v in times.items()}


def per_call_us(step: Callable[[], object], calls: int, runs: int) -> float:
    """Median over ``runs`` of microseconds per call."""
    results = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            step()
        results.append((time.perf_counter_ns() - t0) / calls / 1000)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", type=int, default=10_000_000, help="iterations per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    results = in_process(args.loop, args.rounds)
    base = results["no sampler"][0]
    print(f"in-process sampler: {args.rounds} rounds of a {args.loop:,}-iteration loop")
    print(f"{'variant':38} {'median s':>9} {'samples':>8} {'overhead':>9}")
    for name, (secs, taken) in results.items():
        print(f"{name:38} {secs:9.4f} {taken:8.0f} {100 * (secs / base - 1):8.2f}%")

    child = by_pid(args.loop, args.rounds)
    cbase = child["no sampler"]
    print(f"\nchild process sampled by pid: {args.rounds} rounds")
    for name, secs in child.items():
        print(f"{name:38} {secs:9.4f} {'':8} {100 * (secs / cbase - 1):8.2f}%")

    me = psutil.Process()

    def by_hand() -> None:
        with me.oneshot():
            me.memory_info()
            me.num_fds()
            me.num_threads()
        psutil.virtual_memory()

    cheap = MemorySampler(max_samples=10_000_000, full_interval=5.0)
    full = MemorySampler(max_samples=10_000_000, full_interval=5.0)
    rows = [
        (
            "sample() (rss, vms, fds, threads, system)",
            per_call_us(cheap.sample, args.samples, args.runs),
        ),
        (
            "sample(full=True) (+ uss, pss, swap)",
            per_call_us(lambda: full.sample(full=True), args.samples // 10, args.runs),
        ),
        ("peer: the same psutil reads by hand", per_call_us(by_hand, args.samples, args.runs)),
    ]
    peer = rows[-1][1]
    rss_mib = me.memory_info().rss / 2**20
    print(f"\nper sample of this process (rss {rss_mib:.0f} MiB), median of {args.runs} runs")
    for name, us in rows:
        print(f"{name:44} {us:8.1f} us   x{us / peer:4.2f} of the peer")
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()

"""Cost of one ``Monitor.record_metric`` call against prometheus_client's Histogram.

Target (issue): at most 2 µs per call, median. Each variant runs RUNS times over CALLS
calls in this process; a run's figure is its wall time divided by CALLS (the loop's
own overhead, printed separately, is included everywhere alike), and the median of
the runs is reported. The peer is what a Python service would otherwise call on
its hot path: ``Histogram.observe`` and, with labels, ``Histogram.labels(...).observe``.

The default ``Monitor()`` spills to Parquet every 100,000 samples, so its figure
includes two spills per run, amortised; ``max_samples`` above CALLS shows the
in-memory cost alone.

Run: ``.venv/bin/python benchmarks/bench_monitoring_record.py [--calls N] [--runs R]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Histogram

from perflab.monitoring.monitor import Monitor

TARGET_NS = 2_000


def per_call_ns(make: Callable[[], Callable[[int], None]], calls: int, runs: int) -> float:
    """Median over ``runs`` of ns per call; ``make`` builds a fresh subject per run."""
    results = []
    for _ in range(runs):
        step = make()
        t0 = time.perf_counter_ns()
        for i in range(calls):
            step(i)
        results.append((time.perf_counter_ns() - t0) / calls)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    spill_root = tempfile.mkdtemp(prefix="bench-monitor-")
    tags = {"route": "/api/users", "method": "GET"}

    def monitor_plain(max_samples: int) -> Callable[[], Callable[[int], None]]:
        def make() -> Callable[[int], None]:
            record = Monitor(max_samples, spill_dir=spill_root).record_metric
            return lambda i: record("http_request_duration", 1.5, "ms")

        return make

    def monitor_tagged() -> Callable[[int], None]:
        record = Monitor(args.calls + 1).record_metric
        return lambda i: record("http_request_duration", 1.5, "ms", tags=tags)

    def prom_plain() -> Callable[[int], None]:
        hist = Histogram("http_request_duration_seconds", "d", registry=CollectorRegistry())
        observe = hist.observe
        return lambda i: observe(0.0015)

    def prom_labelled() -> Callable[[int], None]:
        hist = Histogram(
            "http_request_duration_seconds",
            "d",
            labelnames=("route", "method"),
            registry=CollectorRegistry(),
        )
        labels = hist.labels
        return lambda i: labels(**tags).observe(0.0015)

    def empty() -> Callable[[int], None]:
        return lambda i: None

    loop = per_call_ns(empty, args.calls, args.runs)
    rows = [
        (
            "record_metric, no tags (in memory)",
            per_call_ns(monitor_plain(args.calls + 1), args.calls, args.runs),
            "Histogram.observe",
            per_call_ns(prom_plain, args.calls, args.runs),
        ),
        (
            "record_metric, no tags (default, spills)",
            per_call_ns(monitor_plain(100_000), args.calls, args.runs),
            "Histogram.observe",
            None,
        ),
        (
            "record_metric, 2 tags (in memory)",
            per_call_ns(monitor_tagged, args.calls, args.runs),
            "Histogram.labels(2).observe",
            per_call_ns(prom_labelled, args.calls, args.runs),
        ),
    ]
    shutil.rmtree(spill_root, ignore_errors=True)
    prom_plain_ns = rows[0][3]
    print(f"{args.runs} runs x {args.calls:,} calls; median ns per call (loop overhead {loop:.0f})")
    print(f"{'perflab':42} {'ns':>6}   {'peer':28} {'ns':>6}  ratio  <=2us")
    for ours_name, ours, peer_name, peer in rows:
        peer = prom_plain_ns if peer is None else peer
        ok = "yes" if ours <= TARGET_NS else "NO"
        print(f"{ours_name:42} {ours:6.0f}   {peer_name:28} {peer:6.0f}  {ours / peer:5.2f}  {ok}")


if __name__ == "__main__":
    main()

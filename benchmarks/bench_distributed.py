"""A big access-log analysis on a Dask LocalCluster of 1 and then 2 workers, against the ideal.

The log is generated (seeded, into a temporary directory) by the shop's day generator
(:func:`perflab.api.samples.day_log`, the nginx format of
``data/sample/api/log_format.txt``): ``--lines`` lines (default 1,000,000, about
340 MB). The analysis is :func:`perflab.api.summary.summarize_access_logs` — the file
cut into byte ranges at line starts (``--parts`` of them), each parsed by
``read_nginx_log`` on a worker and cut to the route table's columns, then
``endpoints`` over all of them on the client.

Timed, ``--rounds`` times each, medians printed (wall time of the call; the cluster
started and warmed up by one untimed call before, so worker start, imports and numba's
cache load are not counted):

* **no client** — the same call with ``client=None``: the parts parsed one after the
  other in this process (the single-machine figure);
* **1 worker** — a ``LocalCluster(n_workers=1, threads_per_worker=1)``;
* **2 workers** — ``n_workers=2``.

Every process runs with ``POLARS_MAX_THREADS=1`` and ``NUMBA_NUM_THREADS=1``, so a
worker is one core and the ideal speed-up from 1 to 2 workers is 2.0. Printed: the
three times, lines per second, the speed-up 1 → 2 workers against the ideal 2.0 (and
the efficiency), the machine's cores and its load average before and after (other work
competing for the CPU slows every figure, the 2-worker one most), and a cross-check
that all three runs gave the same table as ``endpoints(read_nginx_log(log))``.

Run: ``.venv/bin/python benchmarks/bench_distributed.py [--lines 1000000] [--rounds 3]
[--parts 8]``. Needs the ``distributed`` extra.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # one core per worker, and here
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import functools
import tempfile
import time
from pathlib import Path
from typing import Any

from _timing import median_and_result

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parts", type=int, default=8, help="byte-range parts of the log")
    args = ap.parse_args()

    import distributed
    from polars.testing import assert_frame_equal

    from perflab.api import endpoints, read_nginx_log
    from perflab.api.samples import day_log
    from perflab.api.summary import summarize_access_logs

    fmt = (ROOT / "data/sample/api/log_format.txt").read_text()
    with tempfile.TemporaryDirectory(prefix="perflab-bench-dist-") as tmp:
        log = Path(tmp) / "access.log"
        t = time.perf_counter()
        log.write_bytes(day_log(lines=args.lines, seed=11))
        size = log.stat().st_size
        part_bytes = -(-size // args.parts)
        print(
            f"input: {args.lines:,} lines, {size / 1e6:,.0f} MB of nginx access log "
            f"(generated, seed 11, in {time.perf_counter() - t:.1f} s); "
            f"{args.parts} byte-range parts of {part_bytes / 1e6:,.1f} MB"
        )
        print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")

        def run(client: Any) -> Any:
            return summarize_access_logs(
                str(log), log_format=fmt, client=client, part_bytes=part_bytes
            )

        reference = endpoints(read_nginx_log(log, fmt))
        run(None)  # warm: imports, numba's cache
        local, table = median_and_result(lambda: run(None), args.rounds)
        assert_frame_equal(table, reference)
        figures = {}
        for n in (1, 2):
            with (
                distributed.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                run(client)  # warm the workers
                figures[n], table = median_and_result(functools.partial(run, client), args.rounds)
                assert_frame_equal(table, reference)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print()
        print(f"{'':30}{'wall s (median)':>16}{'lines/s':>14}")
        rows = [("no client (this process)", local), ("1 worker", figures[1])]
        rows.append(("2 workers", figures[2]))
        for name, secs in rows:
            print(f"{name:30}{secs:16.2f}{args.lines / secs:14,.0f}")
        speedup = figures[1] / figures[2]
        print()
        print(
            f"speed-up 1 -> 2 workers: {speedup:.2f}x   ideal: 2.00x   "
            f"efficiency: {speedup / 2:.0%}"
        )
        print(f"2 workers against no client: {local / figures[2]:.2f}x")
        print("cross-check: all runs equal endpoints(read_nginx_log(log)) exactly: yes")


if __name__ == "__main__":
    main()

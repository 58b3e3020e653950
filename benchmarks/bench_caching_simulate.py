"""perflab's cache simulator against libCacheSim, on the same trace, in the same run.

Input: a Zipf(1.0) trace of ``--requests`` (10 million) requests over ``--objects``
(1 million) objects, seeded (:func:`perflab.caching.synth.zipf_trace`), written once
as libCacheSim's oracleGeneral file so both tools replay the very same requests.

Printed, each the median of ``--runs`` runs:

* **replay** — requests per second of one policy at one size (10 % of the objects),
  perflab (numba replay of the prepared trace) beside libCacheSim's Python package
  (``process_trace`` over the file; its hash table tuned: ``hashpower`` sized to the
  objects, 2^20 + 1), with both hit ratios. Targets: ≥ 10 M/s for FIFO, LRU, CLOCK and
  SIEVE, ≥ 3 M/s for S3-FIFO, ARC and W-TinyLFU, and at least libCacheSim's speed.
* **exact LRU curve** — requests per second of the stack-distance pass that gives the
  miss ratio at every size (target ≥ 4 M/s); the peer is libCacheSim replaying LRU at
  the 16 sizes a user would otherwise run one by one.
* **SHARDS** — requests per second of the sampled LRU curve (rate 0.001; target
  ≥ 100 M/s), with its largest gap to the exact curve.
* **read + prepare** — reading the oracleGeneral file and the key remapping, which
  both tools pay once per trace (libCacheSim's reading is inside its replay).

The first perflab call of each kernel compiles it (numba, cached on disk): one warm-up
run on a small trace comes first and is not timed.

Run: ``.venv/bin/python benchmarks/bench_caching_simulate.py [--requests N]
[--objects M] [--runs 3] [--policies lru,sieve]``. Needs ``pip install libcachesim``
(GPL; a benchmark dependency only).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import median_and_result

from perflab.caching import miss_ratio_curve, prepare, read_oracle_general, write_oracle_general
from perflab.caching.curve import stack_distances
from perflab.caching.simulation import default_sizes, run_one
from perflab.caching.synth import zipf_trace

POLICIES = ["fifo", "lru", "clock", "sieve", "lfu", "s3fifo", "arc", "2q", "wtinylfu"]
TARGET = {"fifo": 10, "lru": 10, "clock": 10, "sieve": 10, "s3fifo": 3, "arc": 3, "wtinylfu": 3}


def libcachesim_run(path: Path, policy: str, size: int) -> tuple[float, float]:
    """(seconds, hit ratio) of libCacheSim replaying the file."""
    import libcachesim as lcs

    cls = {
        "fifo": lcs.FIFO,
        "lru": lcs.LRU,
        "clock": lcs.Clock,
        "sieve": lcs.Sieve,
        "lfu": lcs.LFU,
        "s3fifo": lcs.S3FIFO,
        "arc": lcs.ARC,
        "2q": lcs.TwoQ,
        "wtinylfu": lcs.WTinyLFU,
    }[policy]
    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    cache = cls(size, hashpower=21)
    t0 = time.perf_counter()
    miss, _ = cache.process_trace(reader)
    return time.perf_counter() - t0, 1 - miss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--policies", default=",".join(POLICIES))
    args = parser.parse_args()
    n = args.requests
    policies = [p for p in args.policies.split(",") if p]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zipf.oracleGeneral"
        t0 = time.perf_counter()
        write_oracle_general(zipf_trace(n, args.objects, 1.0, seed=0), path)
        print(
            f"trace: {n:,} requests over {args.objects:,} objects, Zipf(1.0) "
            f"({time.perf_counter() - t0:.1f} s to make)"
        )

        # warm-up: compile every kernel on a small trace
        small = prepare(zipf_trace(20_000, 2_000, seed=1))
        for policy in policies:
            run_one(small, policy, 100)
        stack_distances(small)
        miss_ratio_curve(small, method="shards", rate=0.1)

        t_read, trace = median_and_result(lambda: read_oracle_general(path), args.runs)
        t_prep, p = median_and_result(lambda: prepare(trace), args.runs)
        print(
            f"read oracleGeneral {t_read:.2f} s, prepare {t_prep:.2f} s "
            f"({n / (t_read + t_prep) / 1e6:.1f} M requests/s)\n"
        )

        size = args.objects // 10
        print(f"replay at {size:,} objects (10 %), M requests/s (median of {args.runs}):")
        print(
            f"{'policy':10}{'perflab':>10}{'libCacheSim':>13}{'ratio':>8}{'target':>8}"
            f"{'hit ratio (ours / theirs)':>30}"
        )
        for policy in policies:
            ours_t, c = median_and_result(lambda pol=policy: run_one(p, pol, size), args.runs)
            lcs = [libcachesim_run(path, policy, size) for _ in range(args.runs)]
            theirs_t = statistics.median(t for t, _ in lcs)
            target = f"≥{TARGET[policy]}" if policy in TARGET else ""
            print(
                f"{policy:10}{n / ours_t / 1e6:10.1f}{n / theirs_t / 1e6:13.1f}"
                f"{theirs_t / ours_t:7.1f}×{target:>8}"
                f"{c[1] / c[0]:>18.4f} / {lcs[0][1]:.4f}"
            )

        t_mrc, _ = median_and_result(lambda: stack_distances(p), args.runs)
        sizes = default_sizes(p.n_obj)
        t_lcs16 = sum(libcachesim_run(path, "lru", s)[0] for s in sizes)
        print(
            f"\nexact LRU curve (every size): {n / t_mrc / 1e6:.1f} M requests/s "
            f"({t_mrc:.2f} s; target ≥ 4); libCacheSim LRU at {len(sizes)} sizes: "
            f"{t_lcs16:.1f} s ({t_lcs16 / t_mrc:.0f}×)"
        )

        grid = np.array(sizes)
        exact = miss_ratio_curve(p, sizes=grid)
        t_sh, sh = median_and_result(
            lambda: miss_ratio_curve(p, method="shards", rate=0.001, sizes=grid), args.runs
        )
        gap = (sh["miss_ratio"] - exact["miss_ratio"]).abs().max()
        print(
            f"SHARDS (rate 0.001): {n / t_sh / 1e6:.0f} M requests/s ({t_sh:.3f} s; "
            f"target ≥ 100); largest gap to exact {gap:.4f}, stated error ≤ "
            f"{sh['error'].max():.4f}"
        )


if __name__ == "__main__":
    main()

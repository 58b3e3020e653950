"""perflab.monitoring.summarize against pandas and hand-written polars.

Input: 10 million samples across 100 metric names (seeded; lognormal latencies in ms,
one day of timestamps), as a canonical ``METRICS`` frame — the name is a String column,
as every perflab reader produces it.

Peers, each producing the same summary per name (unit, count, mean, min, max, std,
p50, p90, p95, p99, p999, linear interpolation):

* hand polars (String)      — one lazy ``group_by("name").agg(...)``
* hand polars (Categorical) — the same, grouping on ``name`` cast to Categorical
  (the cast is part of the timing: the frame holds strings)
* pandas (str) / pandas (category) — ``groupby().agg`` + ``groupby().quantile``

The best hand polars and the best pandas are the reference. Targets: summarize
≥ 5× faster than pandas, ≤ 1.2× the time of the best hand polars.

Second part, ``compare_windows`` at the size of the sample day: 6 groups of 17 000
baseline and 17 000 current samples. Above ``max_boot_samples`` it takes its
intervals from normal theory; the peer is what a user would otherwise write,
``scipy.stats.bootstrap`` (percentile, 2 000 resamples) of the ratio of means and
of p95s per group, plus ``scipy.stats.mannwhitneyu``. Target: well under a second.

Run: ``.venv/bin/python benchmarks/bench_monitoring_summarize.py [--rows N] [--names K]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import scipy.stats
from _timing import timings

from perflab.monitoring.compare import compare_windows
from perflab.monitoring.summarize import summarize

QS = (0.5, 0.9, 0.95, 0.99, 0.999)
NAMES = ("p50", "p90", "p95", "p99", "p999")


def make_frame(rows: int, names: int, seed: int = 0) -> pl.DataFrame:
    """A METRICS frame: lognormal latencies, a per-name median between e^1 and e^5 ms."""
    rng = np.random.default_rng(seed)
    which = rng.integers(0, names, rows)
    mu = rng.uniform(1.0, 5.0, names)[which]
    start = np.datetime64("2026-01-01T00:00:00", "us")
    offsets = np.sort(rng.integers(0, 86_400 * 10**6, rows)).astype("timedelta64[us]")
    return pl.DataFrame(
        {
            "name": "metric_" + pl.Series(which, dtype=pl.UInt32).cast(pl.String).str.zfill(3),
            "value": rng.lognormal(mu, 0.6),
            "unit": pl.repeat("ms", rows, eager=True),
            "timestamp": pl.Series(start + offsets).dt.replace_time_zone("UTC"),
        }
    )


def hand_polars(df: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    v = pl.col("value")
    return (
        df.lazy()
        .group_by(key)
        .agg(
            pl.col("unit").first(),
            pl.len().alias("count"),
            v.mean().alias("mean"),
            v.min().alias("min"),
            v.max().alias("max"),
            v.std().alias("std"),
            *[
                v.quantile(q, interpolation="linear").alias(n)
                for q, n in zip(QS, NAMES, strict=True)
            ],
        )
        .collect()
    )


def pandas_summary(pdf: pd.DataFrame) -> pd.DataFrame:
    g = pdf.groupby("name", observed=True, sort=True)
    stats = g.agg(
        unit=("unit", "first"),
        count=("value", "count"),
        mean=("value", "mean"),
        min=("value", "min"),
        max=("value", "max"),
        std=("value", "std"),
    )
    quantiles = g["value"].quantile(np.asarray(QS)).unstack()
    quantiles.columns = list(NAMES)
    return stats.join(quantiles)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    t = timings(fn, runs)
    return t.median, t.times, t.result


def compare_frames(groups: int = 6, n: int = 17_000) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Baseline and current METRICS frames: ``groups`` names, ``n`` samples each side."""
    rng = np.random.default_rng(1)
    names = np.repeat([f"metric_{i}" for i in range(groups)], n)
    start = np.datetime64("2026-01-01T00:00:00", "us")

    def side(scale: float) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "name": names,
                "value": rng.lognormal(4.0, 0.5, names.size) * scale,
                "unit": "ms",
                "timestamp": pl.Series(np.full(names.size, start)).dt.replace_time_zone("UTC"),
            }
        )

    return side(1.0), side(1.03)


def _ratio_of_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(y, axis=axis) / np.mean(x, axis=axis)


def _ratio_of_p95s(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.quantile(y, 0.95, axis=axis) / np.quantile(x, 0.95, axis=axis)


def scipy_compare(base: pl.DataFrame, cur: pl.DataFrame) -> list[tuple[Any, ...]]:
    """The peer: per group, scipy's percentile bootstrap of both ratios and its U test."""
    out = []
    base_parts = base.partition_by("name", as_dict=True)
    for key, frame in cur.partition_by("name", as_dict=True).items():
        b = base_parts[key].get_column("value").to_numpy()
        c = frame.get_column("value").to_numpy()
        cis = [
            scipy.stats.bootstrap(
                (b, c),
                statistic,
                n_resamples=2000,
                method="percentile",
                vectorized=True,
                batch=100,
                rng=np.random.default_rng(0),
            ).confidence_interval
            for statistic in (_ratio_of_means, _ratio_of_p95s)
        ]
        out.append((key, *cis, scipy.stats.mannwhitneyu(b, c).pvalue))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--polars-runs", type=int, default=5)
    parser.add_argument("--pandas-runs", type=int, default=3)
    args = parser.parse_args()

    df = make_frame(args.rows, args.names)
    print(
        f"input: {df.height:,} samples, {df['name'].n_unique()} names, polars {pl.__version__}, "
        f"pandas {pd.__version__}, {os.cpu_count()} CPUs"
    )
    pdf_str = df.select("name", "value", "unit").to_pandas()
    pdf_cat = pdf_str.astype({"name": "category"})

    t0 = time.perf_counter()
    summarize(df)
    print(
        f"first summarize call (loads — or, after a code change, compiles — the numba "
        f"kernels): {time.perf_counter() - t0:.2f} s; not counted below"
    )
    runs = {}
    runs["summarize"] = timed(lambda: summarize(df), args.polars_runs)
    runs["hand polars (String)"] = timed(lambda: hand_polars(df, pl.col("name")), args.polars_runs)
    runs["hand polars (Categorical)"] = timed(
        lambda: hand_polars(df, pl.col("name").cast(pl.Categorical)), args.polars_runs
    )
    runs["pandas (str)"] = timed(lambda: pandas_summary(pdf_str), args.pandas_runs)
    runs["pandas (category)"] = timed(lambda: pandas_summary(pdf_cat), args.pandas_runs)

    # Same numbers? summarize against pandas, per name.
    ours = runs["summarize"][2].sort("name")
    theirs = runs["pandas (str)"][2].sort_index()
    for col in ("mean", "std", *NAMES):
        diff = np.max(np.abs(ours[col].to_numpy() - theirs[col].to_numpy()))
        assert diff <= 1e-9 * max(1.0, float(np.max(np.abs(theirs[col].to_numpy())))), col

    print(f"{'':28s}{'median s':>10s}   runs")
    for label, (med, times, _) in runs.items():
        print(f"{label:28s}{med:10.3f}   " + " ".join(f"{t:.3f}" for t in times))
    best_hand = min(runs["hand polars (String)"][0], runs["hand polars (Categorical)"][0])
    best_pandas = min(runs["pandas (str)"][0], runs["pandas (category)"][0])
    ours_t = runs["summarize"][0]
    print(f"summarize vs best pandas:      {best_pandas / ours_t:5.1f}× faster  (target ≥ 5×)")
    print(f"summarize / best hand polars:  {ours_t / best_hand:5.2f}×          (target ≤ 1.2×)")
    print("results agree with pandas (mean, std, percentiles)")

    base, cur = compare_frames()
    groups = base["name"].n_unique()
    print(
        f"\ncompare_windows: {groups} groups × {base.height // groups:,} + "
        f"{cur.height // groups:,} samples"
    )
    ours = timed(lambda: compare_windows(None, baseline=base, current=cur), args.polars_runs)
    peer = timed(lambda: scipy_compare(base, cur), 1)
    print(f"{'compare_windows':28s}{ours[0]:10.3f}   " + " ".join(f"{t:.3f}" for t in ours[1]))
    print(
        f"{'scipy bootstrap + U test':28s}{peer[0]:10.3f}   "
        + " ".join(f"{t:.3f}" for t in peer[1])
    )
    print(
        f"compare_windows vs scipy:      {peer[0] / ours[0]:5.0f}× faster  (target: well under 1 s)"
    )
    rows = {r["name"]: r for r in ours[2].iter_rows(named=True)}
    gap = 0.0
    for (name,), mean_ci, p95_ci, _ in peer[2]:
        for stat, ci in (("mean", mean_ci), ("p95", p95_ci)):
            low, high = rows[name][f"{stat}_change_ci_low"], rows[name][f"{stat}_change_ci_high"]
            gap = max(gap, abs(low - (ci.low - 1) * 100), abs(high - (ci.high - 1) * 100))
    print(f"interval bounds differ from scipy's bootstrap by at most {gap:.2f} percentage points")


if __name__ == "__main__":
    main()

"""Leak verdicts on seeded sawtooth series, cross-checked against scipy and textbook MK."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from perflab.memory.leaks import LEAKS, heap_trend, leak_check, mann_kendall, troughs

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def sawtooth(
    slope_mb_h: float,
    *,
    hours: float = 6.0,
    step_s: float = 10.0,
    period_s: float = 300.0,
    seed: int = 0,
    series: str = "heap_used",
) -> pl.DataFrame:
    """A heap that climbs 40 MB per 5-minute cycle and drops to a floor rising at
    ``slope_mb_h``; the floor varies ±3 MB per cycle, each sample ±1 MB."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, hours * 3600, step_s)
    cycle = (t // period_s).astype(int)
    floor = 200e6 + slope_mb_h * 1e6 * t / 3600 + rng.normal(0, 3e6, cycle.max() + 1)[cycle]
    value = floor + 40e6 * (t % period_s) / period_s + rng.normal(0, 1e6, t.size)
    stamps = [T0 + timedelta(seconds=float(x)) for x in t]
    return pl.DataFrame({"timestamp": stamps, "series": series, "value": value})


def mk_textbook(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mann–Kendall straight from the formula (Gilbert 1987): S over all pairs,
    tie-corrected variance, continuity correction, two-sided normal p."""
    n = len(y)
    s = sum(
        np.sign(x[j] - x[i]) * np.sign(y[j] - y[i]) for i in range(n - 1) for j in range(i + 1, n)
    )
    _, t = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(k * (k - 1) * (2 * k + 5) for k in t)) / 18
    z = (s - np.sign(s)) / math.sqrt(var) if s else 0.0
    return float(s), 2 * (1 - stats.norm.cdf(abs(z)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leak_is_found(seed: int) -> None:
    row = leak_check(sawtooth(50.0, seed=seed), limit_bytes=2e9).row(0, named=True)
    assert row["verdict"] == "leak", row["reason"]
    assert row["ci_low"] < 50.0 < row["ci_high"]
    assert row["p_value"] < 1e-6
    # limit 2 GB, level ≈ 200 + 300 MB: about (2000 − 500) / 50 = 30 h to go
    assert row["hours_to_limit"] == pytest.approx(30.0, rel=0.1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_steady_sawtooth_is_no_leak(seed: int) -> None:
    row = leak_check(sawtooth(0.0, seed=seed), limit_bytes=2e9).row(0, named=True)
    assert row["verdict"] == "no_leak", row["reason"]
    assert row["ci_low"] <= 0.0 <= row["ci_high"] or row["ci_high"] < 1.0


def test_short_series_is_inconclusive() -> None:
    row = leak_check(sawtooth(50.0, hours=0.1)).row(0, named=True)
    assert row["verdict"] == "inconclusive"
    few = sawtooth(50.0).head(12)
    assert leak_check(few).row(0, named=True)["verdict"] == "inconclusive"


def test_slope_and_interval_match_scipy_theilslopes() -> None:
    s = sawtooth(20.0, seed=3)
    tr = troughs(s)
    row = leak_check(s, warmup=0).row(0, named=True)
    hours = (tr["time_s"].to_numpy() - tr["time_s"][0]) / 3600
    ref = stats.theilslopes(tr["value"].to_numpy() / 1e6, hours, 0.95, method="separate")
    assert row["points"] == tr.height == 24
    assert row["slope_mb_per_hour"] == pytest.approx(ref.slope)
    assert row["ci_low"] == pytest.approx(ref.low_slope)
    assert row["ci_high"] == pytest.approx(ref.high_slope)
    tau = stats.kendalltau(hours, tr["value"].to_numpy()).statistic
    assert row["tau"] == pytest.approx(tau)


def test_mann_kendall_matches_the_textbook_formula_with_ties() -> None:
    x = np.arange(12.0)
    y = np.array([3.0, 4.0, 4.0, 2.0, 5.0, 6.0, 6.0, 6.0, 5.0, 8.0, 7.0, 9.0])
    s, _, p = mann_kendall(x, y)
    s_ref, p_ref = mk_textbook(x, y)
    assert s == s_ref
    assert p == pytest.approx(p_ref, rel=1e-9)
    rng = np.random.default_rng(5)
    y2 = rng.normal(size=30)
    assert mann_kendall(x=np.arange(30.0), y=y2)[2] == pytest.approx(
        mk_textbook(np.arange(30.0), y2)[1], rel=1e-9
    )


def test_gc_aligned_troughs_and_heap_after_gc() -> None:
    s = sawtooth(50.0, hours=2.0)
    # a mark-compact at the end of each 5-minute cycle, 20 ms long
    ends = np.arange(300.0, 7200.0, 300.0) - 10.0
    ev = pl.DataFrame(
        {
            "elapsed_s": ends,
            "timestamp": [T0 + timedelta(seconds=float(x)) for x in ends],
            "kind": "mark-compact",
            "pause_ms": 20.0,
            "after_bytes": 150e6 + 50e6 * ends / 3600,
        }
    )
    tr = troughs(s, gc_events=ev)
    assert set(tr["method"]) == {"gc", "gc_after"}
    gc = tr.filter(pl.col("method") == "gc")
    assert gc.height == ends.size
    # the sample right after each GC is at the cycle's start: the floor
    assert (gc["time_s"].to_numpy() % 300 == 0).all()
    out = leak_check(s, gc_events=ev)
    assert set(out["series"]) == {"heap_used", "heap_after_gc"}
    assert (out["verdict"] == "leak").all()
    after = out.filter(pl.col("series") == "heap_after_gc").row(0, named=True)
    assert after["slope_mb_per_hour"] == pytest.approx(50.0)


def test_too_few_major_collections_widen_the_windows_to_a_whole_cycle() -> None:
    """A steady V8 heap over 15 s: promoted garbage fills the old space between
    Mark-Compacts 3.75 s apart, so the minimum of any shorter window climbs with it.
    Four collections are too few for GC-aligned troughs: the window minima must span
    whole cycles, and the verdict is not a leak (the CI failure this guards)."""
    t = np.arange(0.0, 15.0, 0.1)
    value = 4e6 + 16e6 * (t % 3.75) / 3.75
    s = pl.DataFrame(
        {
            "timestamp": [T0 + timedelta(seconds=float(x)) for x in t],
            "series": "heap_used",
            "value": value,
        }
    )
    scav = np.arange(0.05, 15.0, 0.2)
    major = np.arange(3.74, 15.0, 3.75)
    at = np.concatenate([scav, major])
    ev = pl.DataFrame(
        {
            "elapsed_s": at,
            "timestamp": [T0 + timedelta(seconds=float(x)) for x in at],
            "kind": ["scavenge"] * scav.size + ["mark-compact"] * major.size,
            "pause_ms": 1.0,
        }
    )
    assert leak_check(s, min_span_hours=0)["verdict"].item() == "leak"  # blind to GC
    tr = troughs(s, gc_events=ev, min_gc_troughs=10)
    assert set(tr["method"]) == {"window_min"}
    assert np.diff(tr["time_s"].to_numpy()).min() >= 3.7 - 1e-9
    assert leak_check(s, gc_events=ev, min_span_hours=0)["verdict"].item() != "leak"
    # CPython's collections say nothing of its floors: its windows stay the default
    py = ev.with_columns(pl.col("kind").replace({"scavenge": "gen0", "mark-compact": "gen2"}))
    assert troughs(s, gc_events=py, min_gc_troughs=10).height == troughs(s).height


def test_per_pid_series_kept_apart_and_pandas_accepted() -> None:
    a = sawtooth(50.0).with_columns(pid=pl.lit(1, pl.Int64))
    b = sawtooth(0.0, seed=4).with_columns(pid=pl.lit(2, pl.Int64))
    c = sawtooth(0.0, seed=5, series="rss").with_columns(pid=pl.lit(1, pl.Int64))
    both = pl.concat([a, b, c])
    out = leak_check(both.to_pandas())
    got = {(r["pid"], r["series"]): r["verdict"] for r in out.iter_rows(named=True)}
    assert got == {(1, "heap_used"): "leak", (2, "heap_used"): "no_leak", (1, "rss"): "no_leak"}
    # counts are not judged as bytes
    threads = sawtooth(0.0).with_columns(series=pl.lit("threads"))
    assert leak_check(threads).height == 0


def test_empty_input() -> None:
    empty = pl.DataFrame(
        schema={"timestamp": pl.Datetime("us", "UTC"), "series": pl.String, "value": pl.Float64}
    )
    assert leak_check(empty).columns == LEAKS.names
    assert leak_check([]).height == 0
    assert troughs(empty).height == 0
    assert heap_trend(empty).height == 0


def test_heap_trend_finds_a_leak_that_starts_mid_run() -> None:
    flat = sawtooth(0.0, hours=4.0, seed=6)
    rising = sawtooth(60.0, hours=4.0, seed=7).with_columns(
        pl.col("timestamp") + timedelta(hours=4), pl.col("value")
    )
    s = pl.concat([flat, rising.with_columns(pl.col("value") + 0.0)])
    seg = heap_trend(s, window=60)  # 10-minute windows, 48 troughs
    assert seg.height == 2
    first, second = seg.rows(named=True)
    assert abs(first["end_s"] - (T0.timestamp() + 4 * 3600)) < 3600
    assert first["ci_low"] <= 0 <= first["ci_high"]
    assert second["slope_mb_per_hour"] == pytest.approx(60.0, rel=0.2)


def test_warm_up_growth_of_a_real_steady_process_is_no_leak() -> None:
    # data/sample/memory: Node.js with a bounded cache, 60 s; its RSS grows for ~10 s
    # while V8 and the allocator warm up, then holds. Judged from its start, the first
    # 25 s read as a leak; with the first fifth left out, nothing does.
    from perflab.memory import read_memory_usage

    root = Path(__file__).resolve().parents[2] / "data" / "sample" / "memory"
    steady = read_memory_usage(root / "steady.memory.jsonl.gz")
    first = steady.filter(pl.col("timestamp") < steady["timestamp"].min() + timedelta(seconds=25))
    leak = read_memory_usage(root / "leak.memory.jsonl.gz")
    verdict = {
        name: dict(leak_check(s, min_span_hours=0, **kw).select("series", "verdict").rows())
        for name, s, kw in [
            ("steady", steady, {}),
            ("first 25 s", first, {}),
            ("first 25 s from start", first, {"warmup": 0}),
            ("leak", leak, {}),
        ]
    }
    assert "leak" not in verdict["steady"].values()
    assert "leak" not in verdict["first 25 s"].values()
    assert verdict["first 25 s from start"]["rss"] == "leak"
    assert verdict["leak"]["heap_used"] == verdict["leak"]["rss"] == "leak"

"""The caching charts: what a reader would see is in the spec."""

from __future__ import annotations

import polars as pl

from perflab.caching import describe_trace, miss_ratio_curve, popularity, simulate
from perflab.caching.charts import (
    curve_chart,
    level_bars,
    policy_bars,
    popularity_chart,
    profile_table,
    stats_bars,
)
from tests.caching.reference import zipf


def _layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def test_curve_chart_draws_belady_dashed_and_marks_the_sizes():
    sim = simulate(zipf(5_000, 500, seed=1), ["lru", "sieve", "belady"], [10, 50, 200])
    spec = curve_chart(sim, current_size=50, recommended_size=200).to_dict()
    marks = [layer["mark"] for layer in spec["layer"]]
    dashed = [m for m in marks if isinstance(m, dict) and m.get("strokeDash")]
    assert any(m.get("color") == "black" for m in dashed)  # the bound
    assert any(m.get("type") == "rule" for m in marks if isinstance(m, dict))
    # Belady is not in the legend's policies; the others are
    lines = next(
        layer for layer in spec["layer"] if layer["encoding"].get("color", {}).get("scale")
    )
    assert lines["encoding"]["color"]["scale"]["domain"] == ["lru", "sieve"]


def test_sampled_curve_gets_an_error_band():
    t = zipf(50_000, 20_000, 0.8, seed=2)
    curves = pl.concat(
        [miss_ratio_curve(t, points=20), miss_ratio_curve(t, method="shards", rate=0.2, points=20)]
    )
    marks = [layer["mark"]["type"] for layer in _layers(curve_chart(curves, color="method"))]
    assert marks[0] == "area"


def test_policy_bars_rank_best_first_with_the_bound_grey():
    sim = simulate(zipf(5_000, 500, seed=1), ["lru", "sieve", "belady"], [50])
    spec = policy_bars(sim, 50).to_dict()
    order = spec["layer"][0]["encoding"]["y"]["sort"]
    assert order[0] == "belady" and set(order) == {"lru", "sieve", "belady"}
    assert "50 objects" in spec["title"]


def test_popularity_chart_thins_a_long_table_and_names_the_exponent():
    table, alpha = popularity(zipf(100_000, 20_000, 1.0, seed=3))
    chart = popularity_chart(table, alpha, points=300)
    spec = chart.to_dict()
    data = next(iter(spec["datasets"].values()))
    assert len(data) <= 300 and data[0]["rank"] == 1 and data[-1]["rank"] == table.height
    assert "Zipf exponent" in spec["title"]


def test_level_and_stats_bars_and_the_profile_table():
    split = pl.DataFrame(
        {"strategy": ["p", "s"], "l1_hits": [5, 1], "l2_hits": [3, 0], "misses": [2, 9]}
    )
    assert level_bars(split).to_dict()["encoding"]["x"]["stack"] == "normalize"
    stats = pl.DataFrame(
        {"strategy": ["p"], "level": ["l1"], "hits": [5], "misses": [3], "evictions_ttl": [1]}
    )
    assert stats_bars(stats).to_dict()["mark"]["type"] == "bar"
    rows = dict(profile_table(describe_trace(zipf(1_000, 100, seed=4, mean_size=3000))).rows())
    assert rows["gets"] == "1,000"
    assert rows["working set"].endswith("KiB")
    assert rows["objects read at most once"].endswith("%")

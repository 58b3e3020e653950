"""Caching rules: each fires on a small input and stays quiet on a good one."""

from __future__ import annotations

import polars as pl
import pytest

from perflab.caching import miss_ratio_curve, simulate
from perflab.caching.profile import describe_trace, popularity
from perflab.caching.rules import (
    policy_findings,
    size_findings,
    stats_findings,
    top_recommendations,
    trace_findings,
)
from perflab.recommend import RECOMMENDATIONS
from tests.caching.reference import zipf

CURVE = {
    "size": [10, 20, 40, 80, 160],
    "miss_ratio": [0.6, 0.4, 0.2, 0.195, 0.194],
    "policy": ["lru"] * 5,
    "unit": ["objects"] * 5,
}


def test_better_policy_fires_when_another_policy_hits_more():
    sim = simulate(zipf(20_000, 2_000, 0.9, seed=3), ["lru", "s3fifo", "belady"], [100])
    recs = policy_findings(sim, "lru", 100)
    assert [r.rule for r in recs] == ["caching.better-policy"]
    assert recs[0].subject == "lru → s3fifo"  # Belady is a bound, never a recommendation
    assert recs[0].impact > 10


def test_better_policy_is_quiet_for_the_best_policy():
    sim = {
        "policy": ["lru", "fifo"],
        "size": [100, 100],
        "requests": [1000, 1000],
        "hits": [600, 595],
    }
    assert policy_findings(sim, "lru", 100) == []
    assert policy_findings(sim, "fifo", 100) == []  # half a point is not worth a change


def test_undersized_names_the_size_that_reaches_the_target():
    (rec,) = size_findings(CURVE, 10, 0.75)
    assert rec.rule == "caching.undersized"
    assert "40 objects" in rec.action
    assert rec.impact == pytest.approx(350)


def test_unreachable_target_says_why():
    (rec,) = size_findings(CURVE, 10, 0.95, compulsory_miss_ratio=0.18)
    assert rec.rule == "caching.unreachable-target"
    assert "18.0%" in rec.finding


def test_oversized_fires_past_the_knee_and_not_before():
    assert [r.rule for r in size_findings(CURVE, 160, 0.75)] == ["caching.oversized"]
    assert size_findings(CURVE, 40, 0.75) == []  # halving to 20 costs 20 points


def test_one_hit_wonders():
    t = zipf(5_000, 50_000, 0.6, seed=2)
    profile = describe_trace(t)
    assert profile["one_hit_share"] > 0.5
    assert [r.rule for r in trace_findings(profile, "lru")] == ["caching.one-hit-wonders"]
    assert trace_findings(profile, "s3fifo") == []
    assert trace_findings({"one_hit_share": 0.1, "objects": 5}, "lru") == []


def test_stats_rules_fire_and_stay_quiet():
    bad = {
        "strategy": ["pages", "pages"],
        "level": ["l1", "l2"],
        "policy": ["lru", None],
        "hits": [30, 0],
        "misses": [170, 170],
        "evictions_ttl": [80, 0],
        "errors": [0, 12],
    }
    rules = sorted(r.rule for r in stats_findings(bad))
    # the L2 row's ratio is not judged: it only sees the L1's misses
    assert rules == ["caching.l2-errors", "caching.low-hit-ratio", "caching.ttl-expiry"]
    good = {
        "strategy": ["pages"],
        "level": ["l1"],
        "policy": ["lru"],
        "hits": [900],
        "misses": [100],
        "evictions_ttl": [5],
        "errors": [0],
    }
    assert stats_findings(good) == []
    few = {
        "strategy": ["x"],
        "level": ["l1"],
        "policy": ["lru"],
        "hits": [1],
        "misses": [20],
        "evictions_ttl": [0],
        "errors": [0],
    }
    assert stats_findings(few) == []  # too few gets to judge


def test_top_recommendations_ranks_everything_in_the_shared_schema():
    t = zipf(30_000, 3_000, 0.9, seed=8)
    sim = simulate(t, ["lru", "sieve", "s3fifo"], [30, 300])
    curve = miss_ratio_curve(t)
    out = top_recommendations(
        simulation=sim,
        curve=curve,
        profile=describe_trace(t),
        current_size=30,
        target_hit_ratio=0.6,
    )
    assert out.columns == RECOMMENDATIONS.names
    assert {"caching.better-policy", "caching.undersized"} <= set(out["rule"])
    assert out["severity"][0] == "high"
    assert top_recommendations(simulation=sim, current_size=30, n=1).height == 1


def test_describe_and_popularity():
    t = zipf(50_000, 5_000, 1.0, seed=9)
    d = describe_trace(t)
    assert d["gets"] == 50_000 and d["objects"] == t["key"].n_unique()
    assert d["compulsory_miss_ratio"] == pytest.approx(d["objects"] / d["gets"])
    table, alpha = popularity(t)
    assert table["requests"].is_sorted(descending=True)
    assert table["cumulative_share"][-1] == pytest.approx(1.0)
    assert 0.8 < alpha < 1.2  # the generator's exponent, recovered
    empty = pl.DataFrame(schema={"timestamp": pl.Float64, "key": pl.Int64, "size": pl.Int64})
    assert popularity(empty)[0].is_empty()


def test_better_policy_recommends_what_the_runtime_cache_runs():
    sim = {
        "policy": ["lru", "wtinylfu", "s3fifo"],
        "size": [100] * 3,
        "requests": [1000] * 3,
        "hits": [500, 600, 560],
    }
    (rec,) = policy_findings(sim, "lru", 100)
    assert rec.subject == "lru → s3fifo"
    assert "wtinylfu" in rec.finding  # the better one it cannot run, as context


def test_size_rules_read_the_current_size_itself_and_never_say_shrink_to_grow():
    curve = {
        "size": [100, 200, 400, 800],
        "miss_ratio": [0.5, 0.3, 0.45, 0.2],
        "unit": ["objects"] * 4,
    }
    (rec,) = size_findings(curve, 400, 0.6)
    assert rec.rule == "caching.undersized" and "800 objects" in rec.action  # not 200
    # between two points, the hit ratio at the size itself (log interpolation: 60 %)
    assert size_findings({"size": [100, 400], "miss_ratio": [0.5, 0.3]}, 200, 0.6) == []
    (low,) = size_findings({"size": [100, 400], "miss_ratio": [0.5, 0.3]}, 200, 0.61)
    assert low.impact == pytest.approx(10.0)


def test_ttl_expiry_never_claims_more_than_the_misses():
    stats = {
        "strategy": ["w"],
        "level": ["l1"],
        "policy": ["lru"],
        "hits": [900],
        "misses": [100],
        "evictions_ttl": [300],
        "errors": [0],
    }
    (rec,) = [r for r in stats_findings(stats) if r.rule == "caching.ttl-expiry"]
    assert "up to 100%" in rec.finding and "300 entries expired" in rec.finding
    assert rec.impact <= 100


def test_one_hit_wonders_is_quiet_for_sieve():
    assert trace_findings({"one_hit_share": 0.8, "objects": 10}, "sieve") == []

"""Hit ratios, offload and two CDNs side by side: numbers a user can count by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from perflab.cdn.offload import HIT_RATIO, add_prefix, compare_providers, hit_ratio
from perflab.errors import SchemaError


def _cdn(n: int = 2000, seed: int = 2) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 11, 30, tzinfo=UTC)
    hit = rng.random(n) < 0.8
    return pl.DataFrame(
        {
            "time": [t0 + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 86_400, n))],
            "provider": rng.choice(["cloudfront", "cloudflare"], n),
            "country": rng.choice(["US", "DE", "JP"], n),
            "path": rng.choice(["/images/a.jpg", "/_next/static/x.js", "/api/cart"], n),
            "bytes": rng.integers(100, 100_000, n),
            "cache_hit": hit,
            "ttfb_ms": np.where(hit, rng.gamma(2, 5, n), rng.gamma(2, 60, n)),
        }
    )


def test_ratios_by_hand() -> None:
    df = _cdn()
    row = hit_ratio(df).row(0, named=True)
    hits = df.filter("cache_hit")
    assert row["requests"] == df.height and row["hits"] == hits.height
    assert row["hit_ratio"] == pytest.approx(hits.height / df.height)
    assert row["byte_hit_ratio"] == pytest.approx(hits["bytes"].sum() / df["bytes"].sum())
    assert row["origin_requests"] == df.height - hits.height
    assert row["origin_offload"] == pytest.approx(row["hit_ratio"])
    assert row["edge_p50_ms"] == pytest.approx(np.median(hits["ttfb_ms"].to_numpy()))
    misses = df.filter(~pl.col("cache_hit"))["ttfb_ms"].to_numpy()
    assert row["origin_p95_ms"] == pytest.approx(np.percentile(misses, 95))
    assert row["origin_p50_ms"] > row["edge_p50_ms"]


def test_groups_windows_and_prefixes() -> None:
    df = _cdn()
    by = hit_ratio(df, by=["provider", "country"])
    assert by.columns == ["provider", "country", *HIT_RATIO.columns]
    assert by["requests"].sum() == df.height and by.height == 6
    assert by["requests"].is_sorted(descending=True)
    hourly = hit_ratio(df, by="provider", every="1h")
    assert hourly["window_start"].n_unique() == 24 and hourly["requests"].sum() == df.height
    pre = hit_ratio(df, by="prefix")
    assert set(pre["prefix"]) == {"/images/", "/_next/", "/api/"}


def test_unknown_statuses_are_left_out_of_the_ratio() -> None:
    log = pl.DataFrame(
        {
            "path": ["/a"] * 5,
            "bytes": [10] * 5,
            "duration_ms": [1.0] * 5,
            "cache_status": ["HIT", "STALE", "MISS", "-", None],
        }
    )
    row = hit_ratio(log).row(0, named=True)
    assert (row["requests"], row["unknown"], row["hits"]) == (5, 2, 2)
    assert row["hit_ratio"] == pytest.approx(2 / 3)
    nothing = hit_ratio(log.with_columns(pl.lit(None, pl.String).alias("cache_status")))
    assert nothing["hit_ratio"][0] is None


def test_two_providers_side_by_side() -> None:
    df = _cdn()
    cmp = compare_providers(df, "country")
    assert cmp.height == 6 and set(cmp["provider"]) == {"cloudfront", "cloudflare"}
    de = df.filter(pl.col("country") == "DE", pl.col("provider") == "cloudflare")
    row = cmp.filter(pl.col("country") == "DE", pl.col("provider") == "cloudflare").row(
        0, named=True
    )
    assert row["hit_ratio"] == pytest.approx(de["cache_hit"].mean())
    assert row["ttfb_p99_ms"] == pytest.approx(np.percentile(de["ttfb_ms"].to_numpy(), 99))
    with pytest.raises(SchemaError, match="provider"):
        compare_providers(df.drop("provider"))


def test_prefix_depth_and_errors() -> None:
    f = pl.DataFrame({"path": ["/a/b/c.js", "/a/d"]})
    assert add_prefix(f, 2)["prefix"].to_list() == ["/a/b/", "/a/d"]
    with pytest.raises(SchemaError, match="cache_hit"):
        hit_ratio(f)
    with pytest.raises(SchemaError, match="nope"):
        hit_ratio(_cdn(), by="nope")


def test_providers_that_log_different_times_are_both_measured() -> None:
    # Fastly logs only the request time; CloudFront its time to first byte
    df = pl.DataFrame(
        {
            "provider": ["cloudfront", "cloudfront", "fastly", "fastly"],
            "country": ["DE"] * 4,
            "cache_hit": [True, False, True, False],
            "ttfb_ms": [5.0, 50.0, None, None],
            "duration_ms": [6.0, 60.0, 9.0, 90.0],
            "bytes": [1] * 4,
        }
    )
    by = hit_ratio(df, by="provider").sort("provider")
    assert by["edge_p50_ms"].to_list() == [5.0, 9.0]
    cmp = compare_providers(df).sort("provider")
    assert cmp["ttfb_p50_ms"].to_list() == [27.5, 49.5]


def test_an_access_log_dash_is_unknown_in_both_views() -> None:
    log = pl.DataFrame(
        {
            "provider": ["x"] * 4,
            "country": ["DE"] * 4,
            "path": ["/a"] * 4,
            "cache_status": ["HIT", "MISS", "-", "HIT"],
            "duration_ms": [1.0] * 4,
            "bytes": [1] * 4,
        }
    )
    assert hit_ratio(log)["hit_ratio"][0] == compare_providers(log)["hit_ratio"][0] == 2 / 3

"""CDN rules: each fires on a small bad input and stays quiet on a good one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from perflab.cdn.audit import PROBLEMS, audit_cache_headers
from perflab.cdn.rules import RULES, cache_findings
from perflab.recommend import RECOMMENDATIONS, rules

T0 = dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC)

GOOD = [
    {"path": "/_next/static/chunks/main-59c5c889f52620d6.js",
     "cache_control": "public, max-age=31536000, immutable"},
    {"path": "/img/hero.png", "etag": '"h"',
     "cache_control": "public, max-age=604800, stale-while-revalidate=2592000"},
    {"path": "/", "etag": '"i"',
     "cache_control": "public, max-age=0, s-maxage=60, stale-while-revalidate=86400"},
    {"path": "/api/cart", "etag": '"c"', "cache_control": "private, no-cache",
     "set_cookie": True},
]  # fmt: skip

# problem → responses that have it (and only it among the problems)
BAD: dict[str, list[dict[str, Any]]] = {
    "hashed-not-immutable": [
        {"path": "/static/js/main.8f3e2a1b.js", "etag": '"m"',
         "cache_control": "public, max-age=600"},
        {"path": "/static/css/main.4d2c1b0a.css", "etag": '"c"',
         "cache_control": "public, max-age=31536000"},
    ],
    "static-short-ttl": [
        {"path": "/img/short.png", "etag": '"a"', "cache_control": "public, max-age=3600"},
    ],
    "html-no-swr": [{"path": "/", "etag": '"i"', "cache_control": "no-cache"}],
    "no-store-static": [
        {"path": "/_next/static/css/9b3a2f1e0c4d5a6b.css", "cache_control": "no-store"}
    ],
    "cookie-on-cacheable": [
        {"path": "/img/cookie.png", "etag": '"a"', "set_cookie": True,
         "cache_control": "public, max-age=604800, stale-while-revalidate=2592000"},
    ],
    "missing-validators": [
        {"path": "/img/no-etag.png",
         "cache_control": "public, max-age=604800, stale-while-revalidate=2592000"},
    ],
    "no-cache-headers": [{"path": "/api/items/1", "etag": '"x"'}],
}  # fmt: skip


def requests(rows: list[dict[str, Any]], repeat: int = 10) -> pl.DataFrame:
    """Each response ``repeat`` times, one request a minute, 5 kB each."""
    full = []
    for k in range(repeat):
        for i, row in enumerate(rows):
            full.append(
                {"time": T0 + dt.timedelta(minutes=k * len(rows) + i), "method": "GET",
                 "status": 200, "host": "shop.example", "bytes": 5000,
                 "cache_control": None, "expires": None, "etag": None,
                 "last_modified": None, "vary": None, "set_cookie": False, **row}
            )  # fmt: skip
    return pl.DataFrame(full)


def findings(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return cache_findings(audit_cache_headers(requests(rows)))


def test_every_audit_problem_is_a_registered_cdn_rule() -> None:
    assert set(RULES) == set(PROBLEMS)
    registered = {r.id for r in rules("cdn")}
    assert {f"cdn.{p}" for p in PROBLEMS} <= registered
    assert all(RULES[p].id == f"cdn.{p}" for p in PROBLEMS)


def test_quiet_on_a_good_site() -> None:
    recs = findings(GOOD)
    assert recs.is_empty()
    assert recs.columns == RECOMMENDATIONS.names


@pytest.mark.parametrize("problem", list(BAD))
def test_each_rule_fires_on_its_bad_input(problem: str) -> None:
    recs = findings(GOOD + BAD[problem])
    assert recs.get_column("rule").to_list() == [f"cdn.{problem}"]
    rec = recs.row(0, named=True)
    assert rec["domain"] == "cdn" and rec["severity"] == RULES[problem].severity
    assert all(rec[k] for k in ("subject", "finding", "action", "evidence"))
    assert all(row["path"] in rec["evidence"] for row in BAD[problem])


def test_one_recommendation_per_problem_with_the_worst_assets_first() -> None:
    rows = [
        {
            "path": f"/static/js/chunk{i}.{i:x}8f3e2a1b.js",
            "etag": '"x"',
            "cache_control": "public, max-age=60",
        }
        for i in range(8)
    ]
    # the busiest asset gains most from the fix: it is named first
    busy = requests(rows[:1], repeat=30)
    audit = audit_cache_headers(pl.concat([requests(rows, repeat=2), busy]))
    recs = cache_findings(audit, worst=3)
    assert recs.height == 1
    rec = recs.row(0, named=True)
    assert rec["subject"] == "8 assets (hashed)"
    assert rec["evidence"].startswith(rows[0]["path"])
    assert "and 5 more assets" in rec["evidence"]
    gained = (
        audit.select(
            (pl.col("expected_hit_ratio_recommended") - pl.col("expected_hit_ratio"))
            * pl.col("requests")
        )
        .sum()
        .item()
    )
    assert rec["impact"] == pytest.approx(gained) and rec["impact_unit"] == "requests"
    assert rec["impact"] > 0


def test_impact_units() -> None:
    recs = findings(GOOD + BAD["missing-validators"])
    rec = recs.row(0, named=True)
    assert (rec["impact"], rec["impact_unit"]) == (10 * 5000, "bytes")
    cookie = findings(GOOD + BAD["cookie-on-cacheable"]).row(0, named=True)
    assert (cookie["impact"], cookie["impact_unit"]) == (10, "requests")


def test_ranked_by_severity() -> None:
    every = [row for rows in BAD.values() for row in rows]
    recs = findings(GOOD + every)
    order = ["critical", "high", "medium", "low", "info"]
    severities = recs.get_column("severity").to_list()
    assert severities == sorted(severities, key=order.index)
    assert set(recs.get_column("rule")) == {f"cdn.{p}" for p in PROBLEMS}


def test_an_empty_audit_gives_no_recommendation() -> None:
    assert cache_findings(audit_cache_headers(requests(GOOD))).is_empty()
    assert cache_findings(pl.DataFrame()).is_empty()


# ------------------------------------------------------------------ hit-ratio rules


def _traffic(n: int = 6000, seed: int = 4, **over: object) -> pl.DataFrame:
    from datetime import UTC, datetime, timedelta

    import numpy as np

    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 11, 30, tzinfo=UTC)
    seconds = np.sort(rng.integers(0, 86_400, n))
    base = {
        "time": [t0 + timedelta(seconds=int(s)) for s in seconds],
        "provider": rng.choice(["cloudfront", "cloudflare"], n),
        "country": rng.choice(["US", "DE"], n),
        "path": rng.choice(["/_next/static/a.js", "/images/b.jpg"], n),
        "content_type": None,
        "bytes": rng.integers(1000, 9000, n),
        "cache_hit": rng.random(n) < 0.95,
        "ttfb_ms": rng.gamma(2, 10, n),
    }
    base.update(over)
    return pl.DataFrame(base)


def test_offload_rules_stay_quiet_on_a_healthy_day() -> None:
    from perflab.cdn.rules import offload_findings

    assert offload_findings(_traffic()).height == 0


def test_low_hit_ratio_names_the_prefix() -> None:
    from perflab.cdn.rules import offload_findings

    df = _traffic()
    images = pl.col("path").str.starts_with("/images/")
    df = df.with_columns(
        pl.when(images)
        .then(pl.col("cache_hit") & (pl.col("bytes") < 4000))
        .otherwise(pl.col("cache_hit"))
        .alias("cache_hit")
    )
    out = offload_findings(df)
    assert out["rule"].to_list() == ["cdn.low-hit-ratio"]
    assert "/images/" in out["subject"][0]
    # API responses are not static: a low hit ratio there is not this rule's business
    api = _traffic(path=["/api/cart"] * 6000, cache_hit=[False] * 6000)
    assert "cdn.low-hit-ratio" not in offload_findings(api)["rule"].to_list()


def test_a_purge_shows_as_a_drop_with_its_time() -> None:
    from perflab.cdn.rules import offload_findings

    df = _traffic(20_000)
    purge = (
        (pl.col("provider") == "cloudflare")
        & (pl.col("time").dt.hour() == 14)
        & (pl.col("time").dt.minute() < 30)
    )
    df = df.with_columns(
        pl.when(purge).then(False).otherwise(pl.col("cache_hit")).alias("cache_hit")
    )
    out = offload_findings(df).filter(pl.col("rule") == "cdn.hit-ratio-drop")
    assert out.height == 1
    assert out["subject"][0].startswith("cloudflare from 2026-11-30 14:00")
    assert out["impact"][0] > 0


def test_a_slow_provider_in_one_country() -> None:
    from perflab.cdn.rules import offload_findings

    df = _traffic()
    slow = (pl.col("provider") == "cloudfront") & (pl.col("country") == "DE")
    df = df.with_columns(
        pl.when(slow).then(pl.col("ttfb_ms") * 3).otherwise(pl.col("ttfb_ms")).alias("ttfb_ms")
    )
    out = offload_findings(df).filter(pl.col("rule") == "cdn.provider-gap")
    assert out["subject"].to_list() == ["country DE"]
    assert "cloudfront" in out["finding"][0]

"""The generated API samples: a day of nginx log and a Next.js routes manifest."""

from __future__ import annotations

import gzip
import json
import re
from datetime import time
from pathlib import Path

import polars as pl
import pytest

from perflab.api import findings, load_routes_manifest, read_nginx_log, template_routes
from perflab.api.samples import (
    BUILD_ID,
    DAY_LINES,
    DAY_LOG,
    ROUTES_MANIFEST,
    day_log,
    routes_manifest,
    write_samples,
)
from perflab.errors import ParameterError
from tests.warned import no_warning

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "api"
FORMAT = (SAMPLE / "log_format.txt").read_text()
SMALL = 30_000  # enough requests per hour for the planted problems to show
PLANTED = {
    ("api.slow-server-response", "GET /api/search", "high"),
    ("api.server-errors", "GET /api/recommendations", "high"),
    ("api.uncompressed-text", "GET /api/products/{id}", "high"),
    ("api.oversized-json", "GET /api/users/{id}/orders", "medium"),
    ("api.payload-growth", "GET /api/users/{id}/orders", "low"),
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    path = tmp_path_factory.mktemp("api") / "day.log"
    path.write_bytes(day_log(lines=SMALL))
    return no_warning(read_nginx_log, path, FORMAT, errors="raise")


def test_same_bytes_every_call_and_real_captures_left_alone(tmp_path: Path) -> None:
    real = tmp_path / "a" / "api" / "access.log.gz"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"captured")
    a = write_samples(tmp_path / "a", lines=2_000)
    b = write_samples(tmp_path / "b", lines=2_000)
    assert [p.name for p in a] == [DAY_LOG, ROUTES_MANIFEST]
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()
    assert a[0].read_bytes()[4:8] == b"\0\0\0\0"  # gzip MTIME 0
    assert gzip.decompress(a[0].read_bytes()) == day_log(lines=2_000)
    assert real.read_bytes() == b"captured"
    assert sorted(p.name for p in real.parent.iterdir()) == ["access.log.gz", *[p.name for p in a]]
    assert day_log(lines=2_000, seed=1) != day_log(lines=2_000)


def test_too_few_lines() -> None:
    with pytest.raises(ParameterError):
        day_log(lines=0)
    assert day_log(lines=1).count(b"\n") == 1


def test_reads_back_in_the_real_format(small: pl.DataFrame) -> None:
    df = small
    assert df.height == SMALL
    assert df["time"].null_count() == 0 and df["status"].null_count() == 0
    day = df["time"].dt.date().unique().to_list()
    assert [str(d) for d in day] == ["2026-11-30"]
    assert df["time"].is_sorted()
    busiest = df.group_by(pl.col("time").dt.hour().alias("h")).len().sort("len")["h"][-1]
    assert 13 <= busiest <= 16
    assert set(df["protocol"].unique()) == {"HTTP/1.1", "HTTP/2.0"}
    assert set(df["host"].unique()) == {"shop.example.com", "203.0.113.10"}
    assert df["client"].str.extract(r"^(\d+\.\d+)\.").n_unique() >= 8
    # $request_time ≥ the sum of $upstream_response_time's list; headers 150–430 bytes
    # (nginx's own 404/502/504 pages have the smallest)
    timed = df.filter(pl.col("upstream_ms").is_not_null())
    assert (timed["duration_ms"] >= timed["upstream_ms"]).all()
    headers = df.filter(pl.col("status") != 499).select(pl.col("bytes_sent") - pl.col("bytes"))
    assert headers.to_series().is_between(140, 440).all()
    # gzip'd responses: body = what was sent, ratio = identity ÷ body
    gz = df.filter(pl.col("gzip_ratio").is_not_null())
    assert gz.height and gz["gzip_ratio"].min() > 1  # type: ignore[operator]


def test_upstream_lists_and_nginx_answers(small: pl.DataFrame) -> None:
    raw = day_log(lines=SMALL).decode().splitlines()
    lists = [line for line in raw if re.search(r" \d\.\d{3}, \d\.\d{3} ", line)]
    assert len(lists) >= 5  # retries on a second upstream entry, refused 502s
    hits = small.filter(pl.col("cache_status") == "HIT")
    assert hits["upstream_ms"].null_count() == hits.height  # served from cache: "-"
    icon = small.filter(pl.col("path") == "/favicon.ico")
    assert icon["cache_status"].null_count() == icon.height
    assert icon["upstream_ms"].null_count() == icon.height
    scans = small.filter(pl.col("path").is_in(["/.env", "/wp-login.php", "/.git/config"]))
    assert scans.height and (scans["status"] == 404).all()


def test_search_is_slow(small: pl.DataFrame) -> None:
    search = small.filter((pl.col("method") == "GET") & (pl.col("path") == "/api/search"))
    assert search["upstream_ms"].median() > 600  # type: ignore[operator]
    assert 1_500 < search["upstream_ms"].quantile(0.95) < 2_600  # type: ignore[operator]
    others = template_routes(small).filter(pl.col("route") != "/api/search")
    slowest = (
        others.filter(pl.col("status") < 500)
        .group_by("route")
        .agg(pl.col("upstream_ms").quantile(0.95))
    )
    assert slowest["upstream_ms"].max() < 600  # type: ignore[operator]


def test_recommendations_fail_in_a_burst(small: pl.DataFrame) -> None:
    recs = small.filter(pl.col("path") == "/api/recommendations").with_columns(
        failed=pl.col("status") >= 500,
        burst=pl.col("time").dt.time().is_between(time(14), time(14, 40), closed="left"),
    )
    assert set(recs.filter("failed")["status"].unique()) == {502, 504}
    inside = recs.filter("burst")["failed"].mean()
    outside = recs.filter(~pl.col("burst"))["failed"].mean()
    assert inside > 0.1 and outside < 0.04  # type: ignore[operator]
    assert 0.015 < recs["failed"].mean() < 0.05  # type: ignore[operator]
    others = small.filter(pl.col("path") != "/api/recommendations")
    assert (others["status"] >= 500).mean() < 0.01  # type: ignore[operator]


def test_catalog_json_is_sent_uncompressed(small: pl.DataFrame) -> None:
    products = small.filter(
        pl.col("path").str.starts_with("/api/products/"), pl.col("status") == 200
    )
    assert products["gzip_ratio"].null_count() == products.height
    assert products["bytes"].is_between(2_800, 6_200).all()
    assert set(products["content_type"].unique()) == {"application/vnd.api+json"}
    other_json = small.filter(
        pl.col("content_type").str.contains("json"),
        ~pl.col("path").str.starts_with("/api/products/"),
        pl.col("status") == 200,
        pl.col("bytes") >= 1_000,
    )
    assert other_json.height and other_json["gzip_ratio"].null_count() == 0


def test_orders_are_big_and_growing(small: pl.DataFrame) -> None:
    orders = small.filter(pl.col("path").str.ends_with("/orders"))
    assert orders["path"].str.contains(r"^/api/users/[0-9a-f-]{36}/orders$").all()
    assert 140_000 < orders["bytes"].quantile(0.95) < 240_000  # type: ignore[operator]
    hour = pl.col("time").dt.hour()
    early = orders.filter(hour < 8)["bytes"].median()
    late = orders.filter(hour >= 16)["bytes"].median()
    assert late / early > 1.12  # type: ignore[operator]


def test_cache_statuses(small: pl.DataFrame) -> None:
    static = small.filter(pl.col("path").str.contains(r"^/(_next/static|images)/"))
    assert 0.92 < (static["cache_status"] == "HIT").mean() < 0.98  # type: ignore[operator]
    pages = small.filter(pl.col("path").str.contains(r"^/(products|blog)/|^/$"))
    assert {"HIT", "MISS", "EXPIRED"} <= set(pages["cache_status"].drop_nulls())
    api = small.filter(pl.col("path").str.starts_with("/api/"))
    assert set(api["cache_status"].drop_nulls()) == {"BYPASS"}
    assert api["cache_status"].null_count() > 0


def test_findings_on_a_small_day(small: pl.DataFrame) -> None:
    fired = set(findings(small).select("rule", "subject", "severity").iter_rows())
    assert PLANTED - {("api.payload-growth", "GET /api/users/{id}/orders", "low")} <= fired


@pytest.mark.skipif(not (SAMPLE / DAY_LOG).exists(), reason="no written sample")
def test_written_sample_fires_the_planted_rules_and_nothing_else() -> None:
    df = no_warning(read_nginx_log, SAMPLE / DAY_LOG, FORMAT, errors="raise")
    assert df.height == DAY_LINES
    assert (SAMPLE / DAY_LOG).stat().st_size < 4_000_000
    fired = set(findings(df).select("rule", "subject", "severity").iter_rows())
    assert fired == PLANTED


def test_manifest_has_the_real_shape() -> None:
    m = routes_manifest()
    assert json.loads((SAMPLE / ROUTES_MANIFEST).read_text()) == m  # the written one is current
    assert m["version"] == 3 and m["basePath"] == "" and m["pages404"] is True
    assert set(m["rewrites"]) == {"beforeFiles", "afterFiles", "fallback"}
    assert [r["page"] for r in m["staticRoutes"]] == [
        "/",
        "/404",
        "/api/cart",
        "/api/search",
        "/cart",
    ]
    for entry in m["staticRoutes"] + m["dynamicRoutes"]:
        assert set(entry) == {"page", "regex", "routeKeys", "namedRegex"}
    product = next(r for r in m["dynamicRoutes"] if r["page"] == "/products/[slug]")
    assert product["routeKeys"] == {"nxtPslug": "nxtPslug"}
    assert re.match(product["regex"], "/products/blue-running-shoe-42")
    named = re.match(product["namedRegex"].replace("(?<", "(?P<"), "/products/blue-running-shoe-42")
    assert named and named["nxtPslug"] == "blue-running-shoe-42"
    data = next(r for r in m["dataRoutes"] if r["page"] == "/products/[slug]")
    assert re.match(data["dataRouteRegex"], f"/_next/data/{BUILD_ID}/products/blue-shoe-1.json")
    assert not re.match(data["dataRouteRegex"], f"/_next/data/{BUILD_ID}/products/a/b.json")


def test_manifest_templates_the_log(small: pl.DataFrame) -> None:
    pairs = load_routes_manifest(SAMPLE / ROUTES_MANIFEST)
    assert ("^/products/([^/]+?)(?:/)?$", "/products/{slug}") in pairs
    routes = set(template_routes(small, SAMPLE / ROUTES_MANIFEST)["route"].unique())
    assert {
        "/",
        "/cart",
        "/products/{slug}",
        "/blog/{slug}",
        "/_next/data/{build}/products/{slug}.json",
        "/api/search",
        "/api/cart",
        "/api/users/{id}/orders",
        "/api/products/{id}",  # not Next.js: by the segments' shapes
    } <= routes

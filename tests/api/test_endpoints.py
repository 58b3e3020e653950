"""The route table: counts, error rates and percentiles a user can check by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perflab.api import ENDPOINTS, endpoints, read_har, read_nginx_log
from perflab.errors import SchemaError

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "api"


def _requests(n: int = 3000, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    route = rng.integers(0, 3, n)
    return pl.DataFrame(
        {
            "method": np.where(route == 2, "POST", "GET"),
            "path": [
                f"/items/{i}" if r == 0 else "/" if r == 1 else "/cart"
                for r, i in zip(route, rng.integers(0, 10**5, n), strict=True)
            ],
            "status": rng.choice([200, 200, 200, 404, 502], n),
            "duration_ms": rng.lognormal(3, 1, n),
            "upstream_ms": rng.lognormal(2.5, 1, n),
            "bytes": rng.integers(100, 50_000, n),
        }
    )


def test_percentiles_and_rates_match_numpy() -> None:
    df = _requests()
    table = endpoints(df)
    assert table.columns == list(ENDPOINTS.columns)
    assert table["requests"].sum() == df.height
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["time_share"].sum() == pytest.approx(1.0)
    items = df.filter(pl.col("path").str.starts_with("/items/"))
    row = table.filter(pl.col("route") == "/items/{id}").row(0, named=True)
    d = items["duration_ms"].to_numpy()
    assert row["requests"] == items.height
    for q in (50, 95, 99):
        assert row[f"p{q}_ms"] == pytest.approx(np.percentile(d, q))
    assert row["max_ms"] == pytest.approx(d.max())
    assert row["size_p95_bytes"] == pytest.approx(np.percentile(items["bytes"].to_numpy(), 95))
    assert row["error_rate"] == pytest.approx((items["status"] >= 500).mean())
    assert row["client_error_rate"] == pytest.approx(items["status"].is_between(400, 499).mean())
    up = items["upstream_ms"].sum() / items["duration_ms"].sum()
    assert row["upstream_share"] == pytest.approx(up)
    # POST /cart is not cacheable; GET / with a 200 or 404 is
    cart = table.filter(pl.col("route") == "/cart").row(0, named=True)
    assert cart["method"] == "POST" and cart["cacheable_share"] == 0.0
    root = table.filter(pl.col("route") == "/").row(0, named=True)
    root_rows = df.filter(pl.col("path") == "/")
    assert root["cacheable_share"] == pytest.approx(root_rows["status"].is_in([200, 404]).mean())
    # the table is sorted by where the time goes
    assert table["time_share"].is_sorted(descending=True)


def test_the_kernel_path_gives_the_same_table() -> None:
    """A million rows take the numba kernels; a sample of them the polars path."""
    big = _requests(1_000_000, seed=9)
    small = big.head(200_000)
    t_big = endpoints(big).filter(pl.col("route") == "/").row(0, named=True)
    rows = big.filter(pl.col("path") == "/")["duration_ms"].to_numpy()
    assert t_big["p99_ms"] == pytest.approx(np.percentile(rows, 99))
    t_small = endpoints(small).filter(pl.col("route") == "/").row(0, named=True)
    rows_small = small.filter(pl.col("path") == "/")["duration_ms"].to_numpy()
    assert t_small["p99_ms"] == pytest.approx(np.percentile(rows_small, 99))


def test_compression_cache_hits_and_unknowns() -> None:
    df = pl.DataFrame(
        {
            "method": ["GET"] * 4,
            "path": ["/a"] * 4,
            "status": [200] * 4,
            "duration_ms": [1.0, 2.0, None, 4.0],
            "bytes": [10, None, 30, 40],
            "content_encoding": ["gzip", None, "br", "identity"],
            "cache_status": ["HIT", "MISS", "STALE", None],
        }
    )
    row = endpoints(df).row(0, named=True)
    assert row["compressed_share"] == 0.5
    assert row["hit_share"] == pytest.approx(2 / 3)  # the unlogged one counts in neither
    assert row["p50_ms"] == 2.0 and row["size_p50_bytes"] == 30.0
    # a log that says nothing about encoding or caching gives null, not 0
    bare = endpoints(df.drop("content_encoding", "cache_status")).row(0, named=True)
    assert bare["compressed_share"] is None and bare["hit_share"] is None


def test_cache_control_no_store_is_not_cacheable() -> None:
    df = pl.DataFrame(
        {
            "method": ["GET"] * 2,
            "path": ["/a"] * 2,
            "status": [200] * 2,
            "duration_ms": [1.0, 1.0],
            "sent_http_cache_control": ["no-store", "max-age=60"],
        }
    )
    assert endpoints(df)["cacheable_share"][0] == 0.5


def test_real_nginx_log_and_har() -> None:
    fmt = (SAMPLE / "log_format.txt").read_text()
    log = read_nginx_log(SAMPLE / "access.log.gz", fmt)
    table = endpoints(log)
    assert table["requests"].sum() == log.height
    routes = set(table["route"])
    assert "/api/items/{id}" in routes and "/api/users/{id}" in routes
    assert not any(r.startswith("/api/items/") and r[11:].isdigit() for r in routes)
    # nginx's gzip_ratio says which responses were compressed
    js = table.filter(pl.col("route").str.ends_with(".js")).row(0, named=True)
    assert 0 < js["compressed_share"] < 1
    har = endpoints(read_har(SAMPLE / "shop.har"))
    assert har["requests"].sum() > 10


def test_empty_and_missing_columns() -> None:
    empty = pl.DataFrame(
        schema={
            "method": pl.String,
            "path": pl.String,
            "status": pl.Int64,
            "duration_ms": pl.Float64,
        }
    )
    out = endpoints(empty)
    assert out.height == 0 and out.columns == list(ENDPOINTS.columns)
    with pytest.raises(SchemaError, match="duration_ms"):
        endpoints(pl.DataFrame({"method": ["GET"], "path": ["/"], "status": [200]}))

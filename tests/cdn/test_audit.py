"""The Cache-Control audit: each problem on a small bad input, none on a good one."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.api import read_har, read_nginx_log, template_routes
from perflab.cdn.audit import (
    AUDIT,
    LIGHTHOUSE_MIN_TTL_S,
    PROBLEMS,
    SUMMARY,
    audit_by_route,
    audit_cache_headers,
    header_summary,
)
from perflab.errors import ParameterError, SchemaError

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "api"
T0 = dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC)

# A well-configured site: every class with the headers it should have.
GOOD: list[dict[str, Any]] = [
    {"path": "/_next/static/chunks/main-59c5c889f52620d6.js",
     "cache_control": "public, max-age=31536000, immutable"},
    {"path": "/img/hero.png", "etag": '"h"',
     "cache_control": "public, max-age=604800, stale-while-revalidate=2592000"},
    {"path": "/js/legacy.js", "etag": '"l"',
     "cache_control": "public, max-age=86400, stale-while-revalidate=604800"},
    {"path": "/fonts/inter.woff2", "last_modified": "Tue, 03 Nov 2026 15:30:16 GMT",
     "cache_control": "public, max-age=31536000"},
    {"path": "/", "etag": '"i"',
     "cache_control": "public, max-age=0, s-maxage=60, stale-while-revalidate=86400"},
    {"path": "/account", "etag": '"a"', "cache_control": "private, no-cache",
     "set_cookie": True, "vary": "Cookie"},
    {"path": "/api/cart", "etag": '"c"', "cache_control": "private, no-cache",
     "set_cookie": True},
    {"path": "/robots.txt"},
]  # fmt: skip


def requests(rows: list[dict[str, Any]], *, every_s: float = 1.0) -> pl.DataFrame:
    """A HAR-like requests frame: GET 200s a second apart, unset headers null."""
    full = []
    for i, row in enumerate(rows):
        full.append(
            {
                "time": T0 + dt.timedelta(seconds=i * every_s),
                "method": "GET",
                "status": 200,
                "host": "shop.example",
                "bytes": 1000,
                "content_type": None,
                "cache_control": None,
                "expires": None,
                "etag": None,
                "last_modified": None,
                "vary": None,
                "set_cookie": False,
                **row,
            }
        )
    return pl.DataFrame(full, schema_overrides={"content_type": pl.String})


def problems(audit: pl.DataFrame) -> set[tuple[str, str]]:
    return set(audit.select("path", "problem").iter_rows())


def test_a_well_configured_site_has_no_problem() -> None:
    audit = audit_cache_headers(requests(GOOD))
    assert audit.is_empty()
    assert audit.columns == AUDIT.names


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"path": "/static/js/main.8f3e2a1b.js", "etag": '"x"',
          "cache_control": "public, max-age=31536000"}, "hashed-not-immutable"),
        ({"path": "/assets/index-BkU3xT9_.js", "etag": '"x"',
          "cache_control": "public, max-age=3600, immutable"}, "hashed-not-immutable"),
        ({"path": "/img/hero.png", "etag": '"x"', "cache_control": "public, max-age=86400"},
         "static-short-ttl"),
        ({"path": "/css/site.css", "etag": '"x"', "cache_control": None,
          "expires": "Thu, 03 Dec 2026 16:30:00 GMT"}, "static-short-ttl"),
        ({"path": "/js/app.js", "etag": '"x"',
          "cache_control": "public, max-age=60, stale-while-revalidate=30"},
         "static-short-ttl"),
        ({"path": "/", "etag": '"x"', "cache_control": "no-cache"}, "html-no-swr"),
        ({"path": "/", "etag": '"x"', "cache_control": "public, max-age=300"}, "html-no-swr"),
        ({"path": "/about", "etag": '"x"', "cache_control": "no-store"}, "html-no-swr"),
        ({"path": "/img/logo.svg", "etag": '"x"', "cache_control": "no-store"},
         "no-store-static"),
        ({"path": "/_next/static/css/9b3a2f1e0c4d5a6b.css",
          "cache_control": "no-store, max-age=31536000, immutable"}, "no-store-static"),
        ({"path": "/img/hero.png", "etag": '"x"', "set_cookie": True,
          "cache_control": "public, max-age=604800, stale-while-revalidate=2592000"},
         "cookie-on-cacheable"),
        ({"path": "/", "etag": '"x"', "vary": "Accept-Encoding, Cookie",
          "cache_control": "public, max-age=0, s-maxage=60, stale-while-revalidate=86400"},
         "cookie-on-cacheable"),
        ({"path": "/api/items/1", "etag": '"x"', "vary": "*",
          "cache_control": "public, s-maxage=60, stale-while-revalidate=60"},
         "cookie-on-cacheable"),
        ({"path": "/js/app.js",
          "cache_control": "public, max-age=86400, stale-while-revalidate=604800"},
         "missing-validators"),
        ({"path": "/api/items/1", "cache_control": "private, no-cache"}, "missing-validators"),
        ({"path": "/css/site.css", "etag": '"x"'}, "no-cache-headers"),
        ({"path": "/api/items/1", "etag": '"x"'}, "no-cache-headers"),
    ],
)  # fmt: skip
def test_each_problem_fires_on_a_bad_response(row: dict[str, Any], problem: str) -> None:
    audit = audit_cache_headers(requests([row]))
    assert (row["path"], problem) in problems(audit)
    hit = audit.filter(pl.col("problem") == problem).row(0, named=True)
    assert hit["message"] and hit["should_be"]


def test_each_problem_is_listed_in_the_documented_order() -> None:
    bad = [
        {"path": "/static/js/main.8f3e2a1b.js", "cache_control": "public, max-age=60"},
        {"path": "/img/a.png", "cache_control": "no-store"},
        {"path": "/", "cache_control": "no-cache", "etag": '"x"'},
        {"path": "/css/a.css"},
    ]
    found = audit_cache_headers(requests(bad)).get_column("problem").to_list()
    assert found == sorted(found, key=list(PROBLEMS).index)
    assert set(found) <= set(PROBLEMS)


def test_lighthouse_threshold_and_exemptions_for_static_files() -> None:
    assert LIGHTHOUSE_MIN_TTL_S == 2316 * 3600  # 0.925 between the 168 h and 8760 h deciles
    quiet = [
        {"path": "/img/a.png", "etag": '"x"', "cache_control": "public, max-age=8337600"},
        {"path": "/img/b.png", "etag": '"x"', "cache_control": "no-cache"},
        {"path": "/img/c.png", "etag": '"x"',
         "cache_control": "public, max-age=60, must-revalidate"},
        {"path": "/img/d.png", "etag": '"x"', "cache_control": "private, max-age=60"},
        {"path": "/img/e.png", "etag": '"x"',
         "cache_control": "public, max-age=60, stale-while-revalidate=86400"},
    ]  # fmt: skip
    assert audit_cache_headers(requests(quiet)).is_empty()
    short = audit_cache_headers(requests(quiet), min_static_ttl_s=10**9)
    assert ("/img/a.png", "static-short-ttl") in problems(short)


def test_html_private_or_personal_no_store_is_left_alone() -> None:
    rows = [
        {"path": "/account", "etag": '"x"', "cache_control": "private, max-age=0"},
        {"path": "/checkout", "etag": '"x"', "cache_control": "no-store", "set_cookie": True},
    ]
    assert audit_cache_headers(requests(rows)).is_empty()


def test_a_revalidated_asset_has_validators() -> None:
    row = {"path": "/js/app.js", "cache_control": "public, max-age=86400, "
           "stale-while-revalidate=604800"}  # fmt: skip
    df = requests([row, row]).with_columns(status=pl.Series([200, 304]))
    assert audit_cache_headers(df).is_empty()


def test_one_row_per_asset_with_its_most_frequent_headers() -> None:
    rows = [{"path": "/js/app.js", "etag": '"x"', "cache_control": "public, max-age=60"}] * 3
    rows += [{"path": "/js/app.js", "etag": '"x"', "cache_control": "no-store"}]
    rows += [{"path": "/js/app.js", "method": "POST"}, {"path": "/js/app.js", "status": 500}]
    audit = audit_cache_headers(requests(rows))
    row = audit.row(0, named=True)
    assert audit.height == 1
    assert (row["problem"], row["cache_control"]) == ("static-short-ttl", "public, max-age=60")
    assert (row["requests"], row["header_variants"], row["bytes"]) == (4, 2, 4000)


def test_expected_hit_ratio_follows_the_ttl_model() -> None:
    # 101 requests over 100 s: λ = 1.01 req/s; TTL 60 s → λT / (1 + λT)
    rows = [{"path": "/js/app.js", "etag": '"x"', "cache_control": "public, max-age=60"}] * 101
    row = audit_cache_headers(requests(rows)).row(0, named=True)
    lam = 101 / 100
    assert row["request_rate"] == pytest.approx(lam)
    assert row["expected_hit_ratio"] == pytest.approx(lam * 60 / (1 + lam * 60))
    assert row["recommended_ttl_s"] == 86400
    assert row["expected_hit_ratio_recommended"] == pytest.approx(lam * 86400 / (1 + lam * 86400))
    assert row["expected_hit_ratio_recommended"] > row["expected_hit_ratio"]


def test_request_rate_can_be_given() -> None:
    rows = [
        {"path": "/js/a.js", "cache_control": "public, max-age=100", "etag": '"x"'},
        {"path": "/js/b.js", "cache_control": "public, max-age=100", "etag": '"x"'},
    ]
    one = audit_cache_headers(requests(rows), request_rate=0.01)
    assert one.get_column("expected_hit_ratio").to_list() == pytest.approx([0.5, 0.5])
    per_path = audit_cache_headers(requests(rows), request_rate={"/js/a.js": 0.03})
    ratios = dict(per_path.select("path", "expected_hit_ratio").iter_rows())
    assert ratios["/js/a.js"] == pytest.approx(0.75)
    assert ratios["/js/b.js"] == pytest.approx(100 / 101)  # observed: 1 request in 1 s
    with pytest.raises(ParameterError, match="request_rate"):
        audit_cache_headers(requests(rows), request_rate=-1)


def test_no_time_span_means_no_rate() -> None:
    df = requests([{"path": "/js/a.js", "cache_control": "public, max-age=100"}]).drop("time")
    row = audit_cache_headers(df).row(0, named=True)
    assert row["request_rate"] is None and row["expected_hit_ratio"] is None


def test_har_entries_from_the_browser_cache_are_not_requests() -> None:
    rows = [{"path": "/js/a.js", "cache_control": "public, max-age=60", "etag": '"x"'}] * 3
    df = requests(rows).with_columns(from_cache=pl.Series([False, True, True]))
    assert audit_cache_headers(df).get_column("requests").to_list() == [1]


def test_nginx_header_columns_are_audited_too() -> None:
    df = pl.DataFrame(
        {
            "time": [T0, T0],
            "method": ["GET", "GET"],
            "path": ["/img/hero.png", "/img/hero.png"],
            "status": [200, 200],
            "sent_http_cache_control": ["public, max-age=86400", "public, max-age=86400"],
            "sent_http_etag": [None, None],
            "sent_http_last_modified": [None, None],
            "sent_http_set_cookie": ["sid=1; Path=/", None],
            "sent_http_vary": [None, None],
            "sent_http_expires": [None, None],
        }
    )
    found = problems(audit_cache_headers(df))
    assert found == {
        ("/img/hero.png", "static-short-ttl"),
        ("/img/hero.png", "cookie-on-cacheable"),
        ("/img/hero.png", "missing-validators"),
    }


def test_checks_without_their_columns_are_skipped_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    df = pl.DataFrame({"path": ["/img/a.png", "/css/b.css"],
                       "cache_control": ["no-store", None]})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="perflab.cdn.audit"):
        audit = audit_cache_headers(df)
    assert problems(audit) == {("/img/a.png", "no-store-static"),
                               ("/css/b.css", "no-cache-headers")}  # fmt: skip
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "missing-validators" in message and "cookie-on-cacheable" in message
    assert "$sent_http_etag" in message


def test_a_log_without_any_response_header_cannot_be_audited() -> None:
    log = read_nginx_log(SAMPLE / "access.log.gz", (SAMPLE / "log_format.txt").read_text())
    with pytest.raises(ParameterError, match=r"\$sent_http_cache_control"):
        audit_cache_headers(log)


def test_a_frame_without_path_is_refused() -> None:
    with pytest.raises(SchemaError, match="path"):
        audit_cache_headers({"cache_control": ["public"]})


def test_pandas_input_gives_the_same_audit() -> None:
    df = requests([{"path": "/img/a.png", "cache_control": "no-store"}])
    assert_frame_equal(audit_cache_headers(df.to_pandas()), audit_cache_headers(df))
    assert isinstance(df.to_pandas(), pd.DataFrame)


def test_the_recorded_shop_har() -> None:
    # headless Chromium loading a page served by nginx, loaded twice
    audit = audit_cache_headers(read_har(SAMPLE / "shop.har"))
    found = problems(audit)
    assert ("/static/app.3f9a1c.js", "hashed-not-immutable") in found
    assert ("/img/hero.png", "cookie-on-cacheable") in found  # public, max-age + Set-Cookie
    assert ("/img/hero.png", "missing-validators") in found
    assert ("/static/style.css", "no-cache-headers") in found
    assert ("/", "html-no-swr") in found  # no-cache HTML
    assert not any(p == "/api/cart" for p, _ in found)  # no-store, private: as it should
    assert not any(p == "/api/promo/today" for p, _ in found)  # a 404 is no asset
    html = audit.filter(pl.col("problem") == "html-no-swr").row(0, named=True)
    assert html["expected_hit_ratio"] == 0.0
    assert html["expected_hit_ratio_recommended"] > 0.5


def test_header_summary_per_class() -> None:
    summary = header_summary(requests(GOOD))
    assert summary.columns == SUMMARY.names
    by = {r["asset_class"]: r for r in summary.iter_rows(named=True)}
    assert by["html"]["assets"] == 2 and by["html"]["private_share"] == 0.5
    assert by["hashed"]["immutable_share"] == 1.0
    assert by["hashed"]["median_ttl_s"] == 31536000
    assert by["other"]["no_header_share"] == 1.0
    assert by["font"]["validator_share"] == 1.0
    assert summary.get_column("asset_class").to_list() == [
        "hashed", "static", "image", "font", "html", "api", "other"
    ]  # fmt: skip


def test_audit_by_route_folds_the_paths_of_a_route() -> None:
    # /api/items/1 … /api/items/8 on the recorded page share one handler and one fix
    audit = template_routes(audit_cache_headers(read_har(SAMPLE / "shop.har")))
    folded = audit_by_route(audit)
    assert folded.height == audit.select("route", "problem").unique().height
    assert folded["paths"].sum() == audit.height  # every audited path is counted once
    items = folded.filter(pl.col("route").str.contains("{id}", literal=True))
    assert items.height and (items["paths"] > 1).all()
    assert folded.columns == [*audit.columns, "paths"]


def test_audit_by_route_asks_for_routes() -> None:
    audit = audit_cache_headers(read_har(SAMPLE / "shop.har"))
    with pytest.raises(SchemaError, match="template_routes"):
        audit_by_route(audit)

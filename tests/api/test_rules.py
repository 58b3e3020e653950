"""API rules: each fires on a small bad input and stays quiet on a good one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perflab.api import findings, read_har

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "api"


def _frame(n: int = 100, **cols: object) -> pl.DataFrame:
    base: dict[str, object] = {
        "method": ["GET"] * n,
        "path": [f"/items/{i}" for i in range(n)],
        "status": [200] * n,
        "duration_ms": [20.0] * n,
        "bytes": [800] * n,
        "content_type": ["application/json"] * n,
        "content_encoding": ["gzip"] * n,
    }
    base.update(cols)
    return pl.DataFrame(base)


def _rules(df: pl.DataFrame, **kw: object) -> list[str]:
    return findings(df, **kw)["rule"].to_list()  # type: ignore[arg-type]


def test_a_healthy_route_has_no_findings() -> None:
    assert _rules(_frame()) == []


def test_server_errors_fire_and_turn_critical() -> None:
    some = _frame(200, status=[503] * 5 + [200] * 195)
    assert "api.server-errors" in _rules(some)
    out = findings(_frame(status=[503] * 10 + [200] * 90))
    row = out.filter(pl.col("rule") == "api.server-errors").row(0, named=True)
    assert row["severity"] == "critical" and row["impact"] == pytest.approx(10.0)
    # one error in a hundred is 1 % but too few to call
    assert "api.server-errors" not in _rules(_frame(status=[503] + [200] * 99))


def test_slow_server_response_over_600_ms() -> None:
    slow = _frame(duration_ms=[900.0] * 100)
    out = findings(slow).filter(pl.col("rule") == "api.slow-server-response")
    assert out["severity"].to_list() == ["high"]
    assert out["impact"][0] == pytest.approx(100 * 300 / 1000)  # seconds over 600 ms
    # only the tail is slow: medium
    tail = _frame(duration_ms=[20.0] * 90 + [2000.0] * 10)
    assert findings(tail).filter(pl.col("rule") == "api.slow-server-response")[
        "severity"
    ].to_list() == ["medium"]
    # upstream time is the server's time when it is logged
    fast_app = _frame(duration_ms=[900.0] * 100, upstream_ms=[10.0] * 100)
    assert "api.slow-server-response" not in _rules(fast_app)
    assert "api.slow-server-response" not in _rules(_frame(duration_ms=[599.0] * 100))


def test_uncompressed_text_uses_lighthouses_threshold() -> None:
    big = _frame(content_encoding=[None] * 99 + ["gzip"], bytes=[5_000] * 100)
    out = findings(big).filter(pl.col("rule") == "api.uncompressed-text")
    assert out.height == 1 and out["impact"][0] == pytest.approx(0.7 * 5_000 * 99)
    # a HAR records every header: no Content-Encoding at all means none was used
    har = _frame(content_encoding=[None] * 100, bytes=[5_000] * 100, transfer_bytes=[5_200] * 100)
    assert "api.uncompressed-text" in _rules(har)
    small = _frame(content_encoding=[None] * 100, bytes=[1_000] * 100)
    assert "api.uncompressed-text" not in _rules(small)
    images = _frame(
        content_encoding=[None] * 100, bytes=[50_000] * 100, content_type=["image/jpeg"] * 100
    )
    assert "api.uncompressed-text" not in _rules(images)
    # nginx's $gzip_ratio says compressed even without a Content-Encoding column
    ratio = _frame(bytes=[5_000] * 100, gzip_ratio=[3.2] * 100).drop("content_encoding")
    assert "api.uncompressed-text" not in _rules(ratio)
    unknown = _frame(bytes=[5_000] * 100).drop("content_encoding")
    assert "api.uncompressed-text" not in _rules(unknown)  # cannot tell: quiet


def test_oversized_json() -> None:
    assert "api.oversized-json" in _rules(_frame(bytes=[250_000] * 100))
    assert "api.oversized-json" not in _rules(_frame(bytes=[50_000] * 100))
    html = _frame(bytes=[250_000] * 100, content_type=["text/html"] * 100)
    assert "api.oversized-json" not in _rules(html)


def test_missing_caching_needs_the_headers() -> None:
    bare = _frame(cache_control=[None] * 100, etag=[None] * 100, last_modified=[None] * 100)
    assert "api.missing-caching" in _rules(bare)
    validated = bare.with_columns(pl.lit('"abc"').alias("etag"))
    assert "api.missing-caching" not in _rules(validated)
    assert "api.missing-caching" not in _rules(_frame())  # no header columns: cannot tell
    posts = bare.with_columns(pl.lit("POST").alias("method"))
    assert "api.missing-caching" not in _rules(posts)


def test_chatty_page_counts_api_calls_per_view() -> None:
    n = 14
    page = _frame(
        n,
        page=["page@1"] * n,
        page_title=["Shop"] * n,
        resource_type=["fetch"] * n,
        query=[None] * n,
    )
    out = findings(page).filter(pl.col("rule") == "api.chatty-page")
    assert out.height == 1 and out["impact"][0] == 4.0 and "Shop" in out["subject"][0]
    quiet = page.head(8)
    assert "api.chatty-page" not in _rules(quiet)
    repeated = quiet.with_columns(pl.lit("/items/1").alias("path"))
    assert "api.chatty-page" in _rules(repeated)


def test_payload_growth_needs_a_significant_trend() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    hours = 24
    times = [start + timedelta(hours=h, minutes=m) for h in range(hours) for m in range(0, 60, 6)]
    rng = np.random.default_rng(1)
    growing = [int(1000 * (1 + 0.02 * t.hour) + rng.integers(0, 30)) for t in times]
    n = len(times)
    df = _frame(n, time=times, bytes=growing)
    out = findings(df).filter(pl.col("rule") == "api.payload-growth")
    assert out.height == 1 and out["impact"][0] == pytest.approx(46, abs=8)
    flat = _frame(n, time=times, bytes=[int(1000 + rng.integers(0, 30)) for _ in times])
    assert "api.payload-growth" not in _rules(flat)


def test_real_har_shows_the_planted_problems() -> None:
    out = findings(read_har(SAMPLE / "shop.har"))
    assert {"api.chatty-page", "api.missing-caching"} <= set(out["rule"])


def test_only_and_empty() -> None:
    df = _frame(status=[503] * 10 + [200] * 90, duration_ms=[900.0] * 100)
    assert _rules(df, only=["api.server-errors"]) == ["api.server-errors"]
    assert findings(df.head(0)).height == 0


def test_logs_without_times_or_statuses_do_not_break_the_rules() -> None:
    import pandas as pd

    from perflab.api import read_apache_log

    # Apache's combined log has no request time: every latency is null
    apache = findings(read_apache_log(SAMPLE / "access_combined.log.gz"))
    assert "api.server-errors" in apache["rule"].to_list()
    # pandas makes a status column with a gap a float column
    gap = pd.DataFrame(
        {
            "method": ["GET"] * 3,
            "path": ["/a/1", "/a/2", "/a/3"],
            "status": [200, 500, None],
            "duration_ms": [1.0, 2.0, 3.0],
        }
    )
    assert findings(gap).height == 0
    # a HAR frame without page titles
    calls = _frame(14, page=["p1"] * 14, resource_type=["xhr"] * 14, query=[None] * 14)
    assert findings(calls).filter(pl.col("rule") == "api.chatty-page")["subject"][0] == "page p1"


def test_oversized_json_counts_only_the_bytes_over_the_bar() -> None:
    sizes = [50_000] * 90 + [300_000] * 10
    out = findings(_frame(bytes=sizes)).filter(pl.col("rule") == "api.oversized-json")
    assert out["impact"][0] == pytest.approx(10 * 200_000)

"""CDN timeline events: the sample day's 14:00 CloudFront purge, edge error bursts, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import perflab.cdn as cdn
from perflab.cdn.events import events
from perflab.errors import ParameterError, SchemaError
from perflab.events import EVENTS, as_events, events_frame
from perflab.timeline import likely_causes, timeline

SAMPLES = Path(__file__).resolve().parents[2] / "data/sample/cdn"
PURGE = datetime(2026, 11, 30, 14, tzinfo=UTC)


@pytest.fixture(scope="module")
def edge() -> pl.DataFrame:
    """The three sample providers' logs, as the notebook reads them."""
    frames = [
        cdn.read_cloudfront(SAMPLES / "cloudfront.log.gz"),
        cdn.read_cloudflare(SAMPLES / "cloudflare.jsonl.gz"),
        cdn.read_fastly(SAMPLES / "fastly.jsonl.gz"),
    ]
    return pl.concat(frames, how="diagonal_relaxed")


def test_the_planted_purge_is_the_one_event_of_the_day(edge: pl.DataFrame) -> None:
    ev = events(edge)
    assert EVENTS.validate(ev).height == 1
    row = ev.row(0, named=True)
    assert (row["time"], row["subject"], row["kind"]) == (PURGE, "cloudfront", "hit-ratio-drop")
    assert row["direction"] == "worse" and row["terms"] == ["cloudfront"]
    assert -0.9 < row["size"] < -0.3  # ~0.52 → well under 0.36 for a while
    # the figures in the evidence are those of perflab.cdn.hit_ratio's windows
    windows = cdn.hit_ratio(edge.filter(pl.col("provider") == "cloudfront"), every="10m")
    median = windows.filter(pl.col("requests") - pl.col("unknown") >= 50)["hit_ratio"].median()
    assert f"against the median window's {median:.2f}" in row["evidence"]
    lowest = windows.filter(pl.col("window_start") == PURGE)["hit_ratio"][0]
    assert f"lowest {lowest:.2f}" in row["evidence"] and lowest < 0.15


def test_it_agrees_with_the_hit_ratio_drop_rule(edge: pl.DataFrame) -> None:
    recs = cdn.top_recommendations(edge, every="10m")
    drops = recs.filter(pl.col("rule") == "cdn.hit-ratio-drop")
    assert drops["subject"].to_list() == ["cloudfront from 2026-11-30 14:00 UTC"]


def test_a_provider_without_incident_stays_quiet(edge: pl.DataFrame) -> None:
    for provider in ("cloudflare", "fastly"):
        assert events(edge.filter(pl.col("provider") == provider)).height == 0


def test_per_prefix_the_purge_shows_on_cloudfront_only(edge: pl.DataFrame) -> None:
    ev = events(edge, by=("provider", "prefix"))
    assert set(ev["kind"]) == {"hit-ratio-drop"}
    assert {t[0] for t in ev["terms"].to_list()} == {"cloudfront"}
    first = ev.filter(pl.col("subject") == "cloudfront /_next/").row(0, named=True)
    assert first["time"] == PURGE and first["terms"] == ["cloudfront", "/_next/"]


def test_an_origin_error_burst_at_the_edge_is_found(edge: pl.DataFrame) -> None:
    start = datetime(2026, 11, 30, 9, tzinfo=UTC)
    api = (
        (pl.col("provider") == "cloudflare")
        & pl.col("path").str.starts_with("/api/")
        & pl.col("time").is_between(start, start + timedelta(minutes=20), closed="left")
    )
    broken = edge.with_columns(
        pl.when(api & (pl.int_range(pl.len()) % 3 == 0))
        .then(503)
        .otherwise("status")
        .alias("status")
    )
    ev = events(broken, by=("provider", "prefix")).filter(pl.col("kind") == "error-burst")
    assert ev["subject"].to_list() == ["cloudflare /api/"]
    row = ev.row(0, named=True)
    assert row["time"] == start and "09:00–09:20" in row["evidence"] and "503×" in row["evidence"]
    assert 0.2 < row["size"] < 0.45 and row["unit"] == "share"
    # an API burst behind it at the same time links to it through the prefix's word
    api_burst = events_frame([{"time": start + timedelta(minutes=1), "domain": "api",
        "subject": "GET /api/cart", "kind": "error-burst", "size": 0.3, "unit": "share",
        "direction": "worse", "evidence": "x", "terms": ["/api/cart", "/api/"]}])  # fmt: skip
    causes = likely_causes(timeline(api_burst, ev), effects=("error-burst",))
    link = causes.filter(pl.col("effect_domain") == "api", pl.col("cause_domain") == "cdn")
    assert link["link"].to_list() == [0.8]


def test_an_access_log_without_provider_is_one_group() -> None:
    t0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
    n = 6000
    f = pl.DataFrame({
        "time": [t0 + timedelta(seconds=i) for i in range(n)],
        "path": "/a.js", "status": 200,
        "cache_status": ["MISS" if (3600 <= i < 4200) or i % 10 == 0 else "HIT" for i in range(n)],
    })  # fmt: skip
    ev = events(f)
    assert ev["subject"].to_list() == ["all traffic"] and ev["time"][0] == t0 + timedelta(hours=1)
    assert as_events(ev).equals(ev)


def test_wrong_input_is_refused(edge: pl.DataFrame) -> None:
    with pytest.raises(SchemaError, match="cache_hit"):
        events(pl.DataFrame({"time": [PURGE], "status": [200], "path": ["/"]}))
    with pytest.raises(SchemaError, match="status"):
        events(edge.drop("status"))
    with pytest.raises(SchemaError, match="nope"):
        events(edge.head(10), by=("nope",))
    with pytest.raises(ParameterError, match="drop_points"):
        events(edge.head(10), drop_points=15)

"""API timeline events: the sample day's 14:00 recommendations burst, latency steps, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import perflab.api as api
from perflab.api.events import error_bursts, events
from perflab.errors import ParameterError, SchemaError
from perflab.events import EVENTS, as_events, events_frame
from perflab.timeline import likely_causes, timeline

SAMPLES = Path(__file__).resolve().parents[2] / "data/sample/api"
DAY = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def day() -> pl.DataFrame:
    """The sample day (150,000 requests), routes templated from its manifest."""
    fmt = (SAMPLES / "log_format.txt").read_text()
    requests = api.read_nginx_log(SAMPLES / "day.log.gz", fmt)
    return api.template_routes(requests, SAMPLES / "routes-manifest.json")


def test_the_planted_recommendations_outage_is_the_one_error_burst(day: pl.DataFrame) -> None:
    ev = events(day)
    assert EVENTS.validate(ev).height == ev.height
    bursts = ev.filter(pl.col("kind") == "error-burst")
    assert bursts["subject"].to_list() == ["GET /api/recommendations"]
    row = bursts.row(0, named=True)
    assert row["time"] == DAY + timedelta(hours=14)  # 20 % of 502/504 from 14:00 to 14:40
    assert "14:00–14:40" in row["evidence"]
    assert 0.12 < row["size"] < 0.25 and row["unit"] == "share"  # ~20 % over ~2 %
    assert row["direction"] == "worse" and row["terms"] == ["/api/recommendations"]
    # no latency step is planted in the sample day: the slow search is slow all day
    assert ev.filter(pl.col("kind") == "step").height == 0


def test_burst_counts_match_a_direct_count_of_the_log(day: pl.DataFrame) -> None:
    b = error_bursts(day, ["method", "route"]).row(0, named=True)
    span = day.filter(
        pl.col("route") == "/api/recommendations",
        pl.col("method") == "GET",
        pl.col("time") >= b["start"],
        pl.col("time") < b["end"],
        pl.col("status").is_not_null(),
    )
    errors = span.filter(pl.col("status") >= 500)
    assert (b["requests"], b["errors"]) == (span.height, errors.height)
    statuses = errors["status"].value_counts()
    assert set(statuses["status"]) == {502, 504}
    for s, c in statuses.iter_rows():
        assert f"{s}×{c}" in b["statuses"]
    rest = day.filter(
        pl.col("route") == "/api/recommendations",
        pl.col("method") == "GET",
        ~((pl.col("time") >= b["start"]) & (pl.col("time") < b["end"])),
        pl.col("status").is_not_null(),
    )
    assert b["baseline"] == pytest.approx((rest["status"] >= 500).mean())


def test_a_latency_step_planted_in_the_real_day_is_found_at_its_time(day: pl.DataFrame) -> None:
    at = DAY + timedelta(hours=16)
    search = (pl.col("route") == "/api/search") & (pl.col("time") >= at)
    slower = day.with_columns(
        pl.when(search)
        .then(pl.col("upstream_ms") * 1.5)
        .otherwise("upstream_ms")
        .alias("upstream_ms")
    )
    steps = events(slower).filter(pl.col("kind") == "step")
    assert steps["subject"].to_list() == ["GET /api/search"]
    row = steps.row(0, named=True)
    assert row["time"] == at
    assert 0.35 < row["size"] < 0.65 and row["direction"] == "worse"
    assert row["evidence"].startswith("p95 upstream time ")


def clean_day(seed: int, routes: int = 12, rate: float = 0.02, n: int = 100_000) -> pl.DataFrame:
    """A day of requests with a steady 5xx rate and steady latency on every route."""
    rng = np.random.default_rng(seed)
    us = np.sort(rng.integers(0, 86_400_000_000, n))
    return pl.DataFrame(
        {
            "time": pl.Series(us).cast(pl.Datetime("us")).dt.offset_by("20787d"),
            "method": "GET",
            "route": pl.Series(rng.integers(0, routes, n)).cast(pl.String),
            "status": np.where(rng.random(n) < rate, 502, 200),
            "duration_ms": rng.lognormal(np.log(80), 0.5, n),
        }
    ).with_columns(
        pl.col("time").dt.replace_time_zone("UTC"), ("/api/r" + pl.col("route")).alias("route")
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_steady_day_stays_quiet(seed: int) -> None:
    assert events(clean_day(seed)).height == 0


def test_a_route_without_errors_bursts_at_a_handful(seed: int = 4) -> None:
    f = clean_day(seed, routes=3, rate=0.0)
    late = (pl.col("route") == "/api/r1") & pl.col("time").is_between(
        DAY + timedelta(hours=9), DAY + timedelta(hours=9, minutes=10), closed="left"
    )
    f = f.with_columns(
        pl.when(late & (pl.int_range(pl.len()) % 4 == 0))
        .then(503)
        .otherwise("status")
        .alias("status")
    )
    ev = events(f, steps=False)
    assert ev["subject"].to_list() == ["GET /api/r1"]
    assert ev["time"][0] == DAY + timedelta(hours=9)
    assert "against 0.0% the rest of the time" in ev["evidence"][0]


def test_upstreams_link_a_burst_to_the_backend_that_went_down() -> None:
    f = clean_day(5, routes=2, rate=0.0).with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == 0)
        .then(pl.lit("10.0.0.2:8080"))
        .otherwise(pl.lit("10.0.0.3:8080"))
        .alias("upstream_addr")
    )
    down = (pl.col("upstream_addr") == "10.0.0.3:8080") & pl.col("time").is_between(
        DAY + timedelta(hours=14), DAY + timedelta(hours=14, minutes=8)
    )
    f = f.with_columns(pl.when(down).then(502).otherwise("status").alias("status"))
    ev = events(f)
    assert ev["kind"].to_list() == ["error-burst", "error-burst"]  # both routes
    assert all(t.to_list()[1:] == ["10.0.0.3:8080"] for t in ev["terms"])
    backend = events_frame([{
        "time": DAY + timedelta(hours=13, minutes=59, seconds=50), "domain": "balancing",
        "subject": "backend app3", "kind": "outage", "size": 0.5, "unit": "share",
        "direction": "worse", "evidence": "app3 down",
        "terms": ["app3", "10.0.0.3:8080"]}])  # fmt: skip
    unrelated = events_frame([{
        "time": DAY + timedelta(hours=13, minutes=59), "domain": "cdn", "subject": "fastly",
        "kind": "hit-ratio-drop", "size": -0.5, "direction": "worse", "evidence": "x",
        "terms": ["fastly"]}])  # fmt: skip
    causes = likely_causes(timeline(ev, backend, unrelated))
    top = causes.filter(pl.col("rank") == 1)
    assert top.height == 2 and set(top["cause_subject"]) == {"backend app3"}
    assert set(top["link"]) == {0.8}  # shared term: the upstream address


def test_routes_are_templated_when_the_frame_has_none(day: pl.DataFrame) -> None:
    raw = day.drop("route").filter(pl.col("path").str.starts_with("/api/recommendations"))
    ev = events(raw, steps=False)
    assert ev["subject"].to_list() == ["GET /api/recommendations"]


def test_the_events_are_a_valid_events_frame(day: pl.DataFrame) -> None:
    ev = events(day)
    assert as_events(ev).equals(ev)
    assert events(day.head(0)).height == 0


def test_wrong_input_is_refused() -> None:
    with pytest.raises(SchemaError, match="status"):
        events(pl.DataFrame({"time": [DAY], "method": ["GET"], "route": ["/"]}))
    with pytest.raises(SchemaError, match="route"):
        events(pl.DataFrame({"time": [DAY], "method": ["GET"], "status": [200]}))
    f = clean_day(1, routes=1, n=10)
    with pytest.raises(ParameterError, match="alpha"):
        events(f, alpha=2.0)
    with pytest.raises(ParameterError, match="min_change"):
        events(f, min_change=0)
    with pytest.raises(ParameterError, match="every"):
        events(f, every="-5m")

"""Caching timeline events: the sitemap crawl of the real recording is a hit-ratio drop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from perflab.caching import read_accesses
from perflab.caching.events import events, hit_ratio_windows
from perflab.caching.profile import level_split
from perflab.errors import ParameterError, SchemaError
from perflab.events import EVENTS, as_events, events_frame
from perflab.timeline import likely_causes

RECORDED = Path(__file__).resolve().parents[2] / "data" / "sample" / "caching" / "recorded.csv.gz"


@pytest.fixture(scope="module")
def accesses() -> pl.DataFrame:
    return read_accesses(RECORDED)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_the_crawl_at_half_time_is_the_product_caches_drop(accesses: pl.DataFrame) -> None:
    t0 = accesses["timestamp"].min()
    # the crawl: the second in which the product cache got most gets, by far
    per_s = (
        accesses.filter(
            pl.col("op") == "get", pl.col("level") == "l1", pl.col("strategy") == "product"
        )
        .group_by(((pl.col("timestamp") - t0) // 1).alias("s"))
        .len()
        .sort("len", descending=True)
    )
    crawl = t0 + per_s["s"][0]
    assert 40 <= crawl - t0 <= 50  # "at half time" of 90 s (data/README.md)
    ev = events(accesses)  # about twenty windows: 5 s each
    EVENTS.validate(ev)
    assert as_events(ev).equals(ev)
    product = ev.filter(pl.col("subject") == "product").row(0, named=True)
    assert product["time"] <= at(crawl) < product["time"] + timedelta(seconds=5)
    assert (product["domain"], product["kind"], product["direction"]) == (
        "caching", "hit-ratio-drop", "worse")  # fmt: skip
    assert product["terms"] == ["product"] and product["unit"] == "ratio"
    assert "over one 5s window" in product["evidence"]
    # cross-check the size with level_split (the notebook's own count) on the same rows
    t = product["time"].timestamp()
    window = level_split(accesses.filter(pl.col("timestamp").is_between(t, t + 5, closed="left")))
    during = window.filter(pl.col("strategy") == "product").row(0, named=True)
    before = level_split(accesses.filter(pl.col("timestamp").is_between(t - 30, t, closed="left")))
    base = before.filter(pl.col("strategy") == "product").row(0, named=True)
    ratio, ref = 1 - during["miss_share"], 1 - base["miss_share"]
    assert product["size"] == pytest.approx(ratio / ref - 1, abs=0.005)
    assert f"{during['gets']:,} gets, {during['misses']:,} missed" in product["evidence"]
    assert product["size"] < -0.2


def test_at_l1_the_crawl_is_the_deepest_product_drop(accesses: pl.DataFrame) -> None:
    ev = events(accesses, level="l1", every="5s").filter(pl.col("subject") == "product")
    assert ev.height == 1
    assert ev["size"][0] < -0.6  # 57 % → 17 %
    assert "L1 hit ratio" in ev["evidence"][0]


def test_the_steady_first_forty_seconds_stay_quiet(accesses: pl.DataFrame) -> None:
    t0 = accesses["timestamp"].min()
    calm = accesses.filter(pl.col("timestamp") < t0 + 40)
    assert events(calm, every="5s").height == 0
    assert events(calm.clear()).height == 0


def test_small_or_insignificant_dips_are_not_drops(accesses: pl.DataFrame) -> None:
    assert events(accesses, every="5s", min_drop=0.5).height == 0
    assert events(accesses, every="5s", min_gets=5000).height == 0


def test_windows_count_gets_and_hits_per_strategy(accesses: pl.DataFrame) -> None:
    w = hit_ratio_windows(accesses, every="30s")
    assert w.columns == ["strategy", "window_start", "gets", "hits", "hit_ratio"]
    whole = level_split(accesses).filter(pl.col("strategy") != "(all)")
    got = w.group_by("strategy").agg(pl.col("gets").sum(), pl.col("hits").sum()).sort("strategy")
    assert got["gets"].to_list() == whole["gets"].to_list()
    assert got["hits"].to_list() == (whole["l1_hits"] + whole["l2_hits"]).to_list()
    one = hit_ratio_windows(accesses, every="30s", by=None)
    assert one.columns == ["window_start", "gets", "hits", "hit_ratio"]
    assert one["gets"].sum() == whole["gets"].sum()


def test_relative_timestamps_need_an_origin(accesses: pl.DataFrame) -> None:
    t0 = accesses["timestamp"].min()
    rel = accesses.with_columns(pl.col("timestamp") - t0)
    with pytest.raises(ParameterError, match="origin"):
        events(rel)
    origin = datetime(2026, 3, 2, 14, tzinfo=UTC)
    ev = events(rel, origin=origin, every="5s").filter(pl.col("subject") == "product")
    assert origin + timedelta(seconds=40) <= ev["time"][0] <= origin + timedelta(seconds=50)


def test_wrong_input_is_refused_clearly(accesses: pl.DataFrame) -> None:
    with pytest.raises(SchemaError, match="result"):
        events(accesses.drop("result"))
    with pytest.raises(ParameterError, match="min_drop"):
        events(accesses, min_drop=0)
    with pytest.raises(ParameterError, match="baseline"):
        events(accesses, baseline=1)
    with pytest.raises(ParameterError, match="level"):
        events(accesses, level="l3")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="every"):
        events(accesses, every="soon")
    with pytest.raises(ParameterError, match="by="):
        events(accesses, by="tenant")


def test_a_route_step_at_the_crawl_points_at_the_product_cache(accesses: pl.DataFrame) -> None:
    ev = events(accesses, terms={"product": ["/products"], "session": ["/account"]})
    crawl = ev.filter(pl.col("subject") == "product")["time"][0]
    step = events_frame([{"time": crawl + timedelta(seconds=2), "domain": "monitoring",
                          "subject": "latency route=/products", "kind": "step", "size": 0.8,
                          "direction": "worse", "evidence": "p95 40 → 72 ms",
                          "terms": ["latency", "/products"]}])  # fmt: skip
    causes = likely_causes(pl.concat([ev, step]))
    top = causes.filter(pl.col("rank") == 1).row(0, named=True)
    assert (top["cause_domain"], top["cause_subject"]) == ("caching", "product")
    assert "shares products" in causes.filter(pl.col("rank") == 1)["reason"][0]
    # the session cache's drop 20 s later is a candidate too, but linked by timing only
    session = causes.filter(pl.col("cause_subject") == "session").row(0, named=True)
    assert session["link"] == 0.4 and session["rank"] > 1

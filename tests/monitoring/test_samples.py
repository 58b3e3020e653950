"""The committed sample is what the generator writes, and it tells the story it claims."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from perflab.monitoring.samples import SAMPLE_START, latency_samples, write_samples

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "monitoring" / "latency.parquet"


def test_committed_sample_matches_the_generator():
    assert_frame_equal(pl.read_parquet(SAMPLE), latency_samples())


def test_generator_is_deterministic_and_seeded(tmp_path):
    assert_frame_equal(latency_samples(seed=3, hours=2), latency_samples(seed=3, hours=2))
    assert not latency_samples(seed=3, hours=2).equals(latency_samples(seed=4, hours=2))
    (path,) = write_samples(tmp_path)
    assert_frame_equal(pl.read_parquet(path), latency_samples())


def test_story_search_slows_after_deploy_and_cart_has_a_tail():
    df = latency_samples()
    http = df.filter(pl.col("name") == "http.server.duration")
    deploy = SAMPLE_START.replace(hour=16)
    search = http.filter(pl.col("route") == "/api/search")
    before = search.filter(pl.col("timestamp").is_between(deploy.replace(hour=8), deploy, "left"))
    after = search.filter(pl.col("timestamp") >= deploy)
    ratio = after.get_column("value").median() / before.get_column("value").median()
    assert 1.2 < ratio < 1.5
    cart = http.filter(pl.col("route") == "/api/cart").get_column("value")
    assert cart.quantile(0.99) / cart.median() > 5
    rss = df.filter(pl.col("name") == "process.memory.rss")
    growth = rss.group_by("host").agg(pl.col("value").last() - pl.col("value").first())
    leak = dict(growth.iter_rows())
    assert leak["web-2"] > 150e6 and abs(leak["web-1"]) < 40e6

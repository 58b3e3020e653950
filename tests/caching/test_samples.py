"""The committed caching samples: the generated one equals its generator, the recorded
one reads back into the frames the notebook uses."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from perflab.caching import (
    STATS,
    describe_trace,
    level_split,
    read_accesses,
    read_trace,
    simulate,
)
from perflab.caching.samples import ZIPF_SCAN, write_samples

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "caching"


def test_committed_synthetic_trace_equals_the_generator(tmp_path: Path):
    (written,) = write_samples(tmp_path)
    assert written.read_bytes() == (SAMPLE / ZIPF_SCAN).read_bytes()


def test_the_scan_is_what_separates_the_policies():
    trace = read_trace(SAMPLE / ZIPF_SCAN)
    out = simulate(trace, ["lru", "fifo", "s3fifo", "sieve", "belady"], [1_000])
    hit = dict(zip(out["policy"], out["hit_ratio"], strict=True))
    # scan-resistant policies keep the hot set; LRU and FIFO flush it
    assert min(hit["s3fifo"], hit["sieve"]) > max(hit["lru"], hit["fifo"]) + 0.04
    assert hit["belady"] > hit["s3fifo"]


def test_recorded_sample_reads_as_requests_and_as_accesses():
    trace = read_trace(SAMPLE / "recorded.csv.gz")
    accesses = read_accesses(SAMPLE / "recorded.csv.gz")
    l1 = accesses.filter(pl.col("level") == "l1")
    assert trace.height == l1.height  # the application's requests are the l1 rows
    profile = describe_trace(trace)
    assert profile["sets"] > 0 and profile["deletes"] > 0 and profile["ttl_share"] > 0
    split = level_split(accesses)
    everything = split.filter(pl.col("strategy") == "(all)").row(0, named=True)
    assert everything["l2_hits"] > 0  # Redis answered some L1 misses
    assert (
        everything["l1_hits"] + everything["l2_hits"] + everything["misses"] == everything["gets"]
    )


def test_recorded_stats_match_the_recording():
    stats = pl.read_csv(SAMPLE / "stats.csv")
    assert set(STATS.names) <= set(stats.columns)
    split = level_split(read_accesses(SAMPLE / "recorded.csv.gz"))
    for strategy in ("product", "search", "session"):
        l1 = stats.filter(pl.col("strategy") == strategy, pl.col("level") == "l1").row(
            0, named=True
        )
        row = split.filter(pl.col("strategy") == strategy).row(0, named=True)
        assert l1["hits"] == row["l1_hits"]
        assert l1["hits"] + l1["misses"] == row["gets"]

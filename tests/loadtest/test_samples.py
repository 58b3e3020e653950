"""The committed load-test samples: the generated history equals its generator, and the
recorded runs tell the story the notebook tells."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from perflab.loadtest import REQUESTS, compare, run_changes
from perflab.loadtest.samples import HISTORY, write_samples

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "loadtest"


def test_committed_history_equals_the_generator(tmp_path: Path):
    (written,) = write_samples(tmp_path)
    assert written.read_bytes() == (SAMPLE / HISTORY).read_bytes()


def test_the_history_holds_the_release_and_the_incident():
    changes = run_changes(pl.read_csv(SAMPLE / HISTORY, try_parse_dates=True))
    p95 = changes.filter(pl.col("metric") == "p95_ms")
    assert p95["run"].to_list() == ["nightly-29"] and p95["direction"].to_list() == ["worse"]
    errors = changes.filter(pl.col("metric") == "error_rate")
    assert errors["run"].to_list() == ["nightly-13", "nightly-16"]


def read(name: str) -> pl.DataFrame:
    return REQUESTS.validate(pl.read_parquet(SAMPLE / f"{name}.parquet"))


def test_recorded_runs_show_the_stall_only_with_the_open_model():
    base, cand, closed = read("baseline"), read("candidate"), read("candidate-closed")
    assert base.height == cand.height == 8000  # 400/s for 20 s, warm-up excluded
    p99 = {n: f["latency_ms"].quantile(0.99) for n, f in [("b", base), ("c", cand), ("cc", closed)]}
    assert p99["c"] > 50  # the 150 ms stalls, seen by the open model …
    assert p99["b"] < 20 and p99["cc"] < 20  # … but not by the closed one
    # with 8 connections stuck in a stall, requests waited for one: corrected ≫ service
    assert cand["latency_ms"].quantile(0.99) > 3 * cand["service_ms"].quantile(0.99)
    verdicts = dict(compare(base, cand).select("metric", "verdict").iter_rows())
    assert verdicts["p50"] == verdicts["p99"] == "slower"

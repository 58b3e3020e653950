"""run_changes(): the run at which a metric's level moved, and whether for the worse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.loadtest.history import run_changes


def history(n: int = 30, step_at: int = 18, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    p95 = rng.normal(200, 4, n) + np.where(np.arange(n) >= step_at, 60, 0)
    rps = rng.normal(500, 5, n) + np.where(np.arange(n) >= step_at, -100, 0)
    return pl.DataFrame(
        {
            "run": [f"build-{i}" for i in range(n)],
            "time": [t0 + timedelta(days=i) for i in range(n)],
            "p95_ms": p95,
            "rps": rps,
            "error_rate": np.full(n, 0.001),
        }
    )


def test_a_slowdown_is_found_at_the_run_that_caused_it():
    shuffled = history().sample(fraction=1.0, shuffle=True, seed=1)  # ordered by time inside
    got = run_changes(shuffled)
    assert got.columns == [
        "metric",
        "run",
        "time",
        "index",
        "before",
        "after",
        "change",
        "direction",
    ]
    assert got.select("metric", "run", "direction").rows() == [
        ("p95_ms", "build-18", "worse"),
        ("rps", "build-18", "worse"),  # fewer requests per second is worse
    ]
    p95 = got.row(0, named=True)
    assert p95["before"] == pytest.approx(200, abs=4) and p95["after"] == pytest.approx(260, abs=4)
    assert p95["change"] == pytest.approx(0.30, abs=0.03)
    assert p95["time"] == datetime(2026, 1, 19, tzinfo=UTC)


def test_an_improvement_is_better_and_a_steady_history_has_no_changes():
    better = history().with_columns(p95_ms=400 - pl.col("p95_ms"))
    assert run_changes(better, metrics=["p95_ms"])["direction"].to_list() == ["better"]
    steady = history(step_at=100)
    got = run_changes(steady)
    assert got.height == 0 and got.columns[:2] == ["metric", "run"]


def test_whole_summaries_stacked_use_the_all_row_and_null_runs_are_skipped():
    h = history()
    stacked = pl.concat(
        [
            h.with_columns(name=pl.lit("all")),
            h.with_columns(name=pl.lit("/slow"), p95_ms=pl.lit(5000.0)),
        ]
    )
    stacked = stacked.with_columns(
        rps=pl.when(pl.col("run") == "build-3").then(None).otherwise(pl.col("rps"))
    )
    got = run_changes(stacked, metrics=["p95_ms", "rps"], order="run")
    assert got.filter(metric="p95_ms")["before"][0] < 300


def test_missing_columns_and_bad_options_are_named():
    with pytest.raises(SchemaError, match="'time'"):
        run_changes(history().drop("time"))
    assert run_changes(history().drop("time"), order="input").height == 2
    with pytest.raises(ParameterError, match="order"):
        run_changes(history(), order="size")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="'p999_ms'"):
        run_changes(history(), metrics=["p999_ms"])

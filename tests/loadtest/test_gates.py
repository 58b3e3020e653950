"""gate(): thresholds and a baseline turned into pass/fail with a reason a CI log can show."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.loadtest.aggregate import summary
from perflab.loadtest.gates import GateResult, gate


def run(n: int = 4000, seed: int = 0, scale: float = 1.0, error_rate: float = 0.0):
    rng = np.random.default_rng(seed)
    failed = rng.random(n) < error_rate
    return pl.DataFrame(
        {
            "start": np.arange(n) / 100.0,
            "latency_ms": rng.lognormal(np.log(80), 0.4, n) * scale,
            "error": pl.Series(np.where(failed, "http 500", "")).replace("", None),
            "name": "/api",
        }
    )


def test_a_run_within_every_threshold_passes_and_says_with_which_figures():
    df = run()
    p95 = float(np.percentile(df["latency_ms"], 95))
    result = gate(df, p95_ms=400, p99_ms=500, error_rate=0.01, rps=50)
    assert isinstance(result, GateResult) and result.passed and bool(result)
    assert result.reasons == []
    assert result.reason.startswith(f"p95 {p95:.1f} ms ≤ 400 ms, p99 ")
    assert "error rate 0 % ≤ 1.00 %" in result.reason and "rps 99.8 ≥ 50" in result.reason
    assert result.summary["name"].to_list() == ["all", "/api"] and result.comparison is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"p95_ms": 50}, "p95 "),
        ({"p99_ms": 50}, "p99 "),
        ({"error_rate": 0.001}, "error rate 2."),
        ({"rps": 500}, "rps 99.8 < 500"),
    ],
)
def test_each_breached_threshold_fails_with_its_reason(options, expected):
    result = gate(run(error_rate=0.02), **options)
    assert not result.passed and len(result.reasons) == 1
    assert result.reason.startswith(expected) and (" > " in result.reason or " < " in result.reason)


def test_a_regression_against_the_baseline_fails_and_an_equal_run_passes():
    slower = gate(run(seed=2, scale=1.25), baseline=run(seed=1))
    assert not slower.passed
    assert any(r.startswith("p95 slower than the baseline: +") for r in slower.reasons)
    assert "CI +" in slower.reason
    assert slower.comparison is not None and "slower" in slower.comparison["verdict"].to_list()
    same = gate(run(seed=3), baseline=run(seed=1), p95_ms=1000)
    assert same.passed, same.reason
    assert "no metric slower than the baseline (" in same.reason


def test_new_errors_against_a_clean_baseline_fail():
    result = gate(run(seed=2, error_rate=0.03), baseline=run(seed=1))
    assert not result.passed
    assert "error_rate worse than the baseline: +∞" in result.reason


def test_unknown_figures_and_empty_runs_fail():
    timeless = run().drop("start")
    assert "rps unknown" in gate(timeless, rps=10).reason
    no_responses = run(10).with_columns(latency_ms=None, error=pl.lit("connection refused"))
    assert "p95 unknown" in gate(no_responses, p95_ms=100).reason
    empty = gate(run().clear(), p95_ms=100)
    assert not empty.passed and empty.reason == "no requests in the results"


def test_summary_frames_are_gated_on_their_figures():
    table = summary(run())
    assert gate(table, p95_ms=1000).passed
    assert not gate(table, p95_ms=10).passed
    # two summaries: no spread to judge a regression by, so the baseline fails nothing
    assert gate(summary(run(scale=3.0)), baseline=table).passed


def test_nothing_to_check_and_bad_thresholds_are_usage_errors():
    with pytest.raises(ParameterError, match="nothing to check"):
        gate(run())
    with pytest.raises(ParameterError, match="non-negative"):
        gate(run(), p95_ms=-1)
    with pytest.raises(ParameterError, match="fraction"):
        gate(run(), error_rate=5)

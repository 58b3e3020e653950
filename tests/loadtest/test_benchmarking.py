"""benchmark(): interleaved timing of two alternatives, and the verdict on them."""

from __future__ import annotations

import time

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.loadtest.benchmarking import BenchmarkResult, benchmark
from perflab.loadtest.schema import REQUESTS


def test_a_function_twice_as_slow_is_called_slower():
    result = benchmark(lambda: time.sleep(0.002), lambda: time.sleep(0.004), runs=20, warmup=1)
    got = result.compare()
    verdicts = dict(zip(got["metric"], got["verdict"], strict=True))
    assert verdicts["mean"] == verdicts["p50"] == "slower"
    assert verdicts["error_rate"] == "equivalent"
    mean = got.filter(metric="mean").row(0, named=True)
    assert mean["baseline"] >= 2.0 and mean["candidate"] >= 4.0
    assert 0.3 < mean["change"] < 1.5  # about +100 %, with the sleeps' overshoot


def test_commands_are_timed_and_the_runs_alternate_in_order():
    result = benchmark("true", ["sleep", "0.01"], runs=6, warmup=1, names=("true", "sleep"))
    base, cand = result  # unpacks like a tuple
    assert isinstance(result, BenchmarkResult) and result.names == ("true", "sleep")
    for frame in (base, cand):
        assert frame.columns == REQUESTS.names and frame.height == 6
        assert frame["error"].null_count() == 6
    assert (cand["latency_ms"] >= 10.0).all()
    assert cand["latency_ms"].median() > base["latency_ms"].median()
    # AB, BA, AB …: the candidate runs first in every other round
    order = result.frame.get_column("name").to_list()
    assert order[:4] == ["true", "sleep", "sleep", "true"]
    assert result.frame["start"].is_sorted() and base["start"][0] == pytest.approx(0.0, abs=0.05)


def test_failures_are_recorded_not_raised():
    calls = iter(range(100))

    def flaky() -> None:
        if next(calls) % 2:
            raise ValueError("boom")

    result = benchmark(flaky, ["sh", "-c", "exit 3"], runs=4, warmup=0)
    assert result.baseline["error"].drop_nulls().to_list() == ["ValueError: boom"] * 2
    assert result.candidate["error"].to_list() == ["exit status 3"] * 4
    assert result.candidate["latency_ms"].null_count() == 0  # it did finish


def test_a_command_past_its_timeout_is_killed_and_has_no_latency():
    t0 = time.perf_counter()
    result = benchmark("true", "sleep 5", runs=1, warmup=0, timeout=0.2)
    assert time.perf_counter() - t0 < 3
    row = result.candidate.row(0, named=True)
    assert row["latency_ms"] is None and row["error"] == "timeout after 0.2 s"


def test_setup_runs_before_every_run_untimed():
    seen: list[str] = []
    benchmark(
        lambda: seen.append("a"),
        lambda: seen.append("b"),
        runs=2,
        warmup=1,
        setup=lambda: seen.append("setup"),
    )
    assert seen == ["setup", "a", "setup", "b"] * 2 + ["setup", "b", "setup", "a"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"runs": 0}, "runs must be"),
        ({"names": ("x", "x")}, "two different names"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ParameterError, match=message):
        benchmark("true", "true", **options)
    with pytest.raises(ParameterError, match="empty command"):
        benchmark("", "true")
    with pytest.raises(ParameterError, match="callable, a shell command"):
        benchmark(42, "true")  # type: ignore[arg-type]


def test_the_frame_is_ready_for_summary():
    from perflab.loadtest.aggregate import summary

    result = benchmark(lambda: None, lambda: None, runs=5, warmup=0, names=("x", "y"))
    got = summary(result.frame)
    assert got["name"].to_list() == ["all", "x", "y"] and got["requests"].to_list() == [10, 5, 5]
    assert isinstance(got, pl.DataFrame)


def test_a_timed_out_shell_leaves_no_child_behind(tmp_path):
    marker = tmp_path / "late"
    benchmark("true", f"sleep 0.2; touch {marker}", runs=1, warmup=0, timeout=0.1)
    time.sleep(0.4)  # a surviving shell would have touched it 0.1 s ago
    assert not marker.exists()

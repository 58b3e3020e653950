"""summary() and timeline(): the figures a load-test report prints, checked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab import kernels
from perflab.errors import ParameterError, SchemaError
from perflab.loadtest.aggregate import summary, timeline
from perflab.loadtest.schema import REQUESTS, SUMMARY, TIMELINE


def requests(n: int = 1000, seed: int = 0, names=("/a", "/b"), rate: float = 100.0):
    rng = np.random.default_rng(seed)
    failed = rng.random(n) < 0.05
    return REQUESTS.build(
        {
            "start": i / rate,
            "sent": i / rate,
            "latency_ms": float(rng.lognormal(3, 0.5)),
            "service_ms": float(rng.lognormal(2.8, 0.5)),
            "status": 503 if failed[i] else 200,
            "bytes": 1000,
            "error": "http 503" if failed[i] else None,
            "name": names[i % len(names)],
        }
        for i in range(n)
    )


def test_summary_numbers_match_numpy_with_all_row_first():
    df = requests()
    got = summary(df)
    assert got.columns == SUMMARY.names
    assert got.get_column("name").to_list() == ["all", "/a", "/b"]
    for name, part in [("all", df), ("/a", df.filter(name="/a")), ("/b", df.filter(name="/b"))]:
        row = got.filter(pl.col("name") == name).row(0, named=True)
        lat = part.get_column("latency_ms").to_numpy()
        svc = part.get_column("service_ms").to_numpy()
        assert row["requests"] == part.height
        assert row["errors"] == part.get_column("error").is_not_null().sum()
        assert row["error_rate"] == pytest.approx(row["errors"] / part.height)
        for q in (50, 90, 95, 99):
            assert row[f"p{q}_ms"] == pytest.approx(np.percentile(lat, q), rel=1e-12)
        for q in (50, 95, 99):
            assert row[f"service_p{q}_ms"] == pytest.approx(np.percentile(svc, q), rel=1e-12)
        assert row["mean_ms"] == pytest.approx(lat.mean())
        assert (row["min_ms"], row["max_ms"]) == (lat.min(), lat.max())
        assert row["bytes"] == 1000 * part.height
    # the whole test's span in every row, so the names' rps add up to the total
    end = (df["start"] + df["latency_ms"] / 1000).max()
    assert got.get_column("duration_s").unique().to_list() == [pytest.approx(end)]
    assert got["rps"][1] + got["rps"][2] == pytest.approx(got["rps"][0])


def test_failed_requests_with_a_time_count_in_percentiles_those_without_do_not():
    df = pl.DataFrame(
        {
            "start": [0.0, 1.0, 2.0, 3.0],
            "latency_ms": [10.0, 20.0, 30_000.0, None],  # a timeout that was timed; a refusal
            "error": [None, None, "timeout", "connection refused"],
            "name": "/x",
        }
    )
    row = summary(df, by=None).row(0, named=True)
    assert (row["requests"], row["errors"], row["error_rate"]) == (4, 2, 0.5)
    assert row["max_ms"] == 30_000.0 and row["p50_ms"] == 20.0
    assert row["duration_s"] == pytest.approx(32.0)  # the timeout ended at 2 + 30 s
    assert row["bytes"] is None and row["service_p95_ms"] is None  # unknown, not 0


def test_tools_without_times_give_null_duration_and_rps():
    df = pl.DataFrame({"latency_ms": [5.0, 6.0, 7.0], "name": "cmd"})
    row = summary(df, by=None).row(0, named=True)
    assert row["duration_s"] is None and row["rps"] is None and row["p50_ms"] == 6.0


def test_by_none_gives_only_the_all_row_and_empty_input_an_empty_frame():
    assert summary(requests(50), by=None).get_column("name").to_list() == ["all"]
    assert_frame_equal(summary(REQUESTS.empty()), SUMMARY.empty())
    with pytest.raises(ParameterError, match="by must be 'name' or None"):
        summary(requests(5), by="status")


def test_a_summary_frame_comes_back_validated_and_a_parquet_path_works(tmp_path: Path):
    df = requests(300)
    path = tmp_path / "run.parquet"
    df.write_parquet(path)
    got = summary(path)
    assert_frame_equal(got, summary(df))
    assert_frame_equal(summary(got), got)
    csv = tmp_path / "run.csv"
    df.write_csv(csv)
    assert_frame_equal(summary(csv), got)


def test_a_frame_that_is_neither_names_the_missing_column():
    with pytest.raises(SchemaError, match="latency_ms"):
        summary(pl.DataFrame({"start": [1.0], "duration": [3.0]}))


def test_kernel_and_polars_paths_agree(monkeypatch: pytest.MonkeyPatch):
    if not kernels.available():
        pytest.skip("numba not installed")
    df = requests(3000, names=("/a", "/b", "/c"))
    monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 10**12)
    slow = summary(df)
    monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 1)
    assert_frame_equal(summary(df), slow, rel_tol=1e-12)


def test_timeline_shows_a_stall_as_windows_of_zero_requests():
    df = pl.concat(
        [requests(300, rate=100.0), requests(200, rate=100.0).with_columns(pl.col("start") + 10.0)]
    )  # requests in [0, 3) s and [10, 12) s, nothing between
    got = timeline(df)
    assert got.columns == TIMELINE.names
    assert got.get_column("second").to_list() == [float(s) for s in range(12)]
    assert got.get_column("requests").to_list() == [100, 100, 100, *[0] * 7, 100, 100]
    stalled = got.filter(pl.col("requests") == 0)
    assert stalled.get_column("rps").to_list() == [0.0] * 7
    assert stalled.get_column("p95_ms").null_count() == 7
    first = df.filter(pl.col("start") < 1.0)
    assert got["p95_ms"][0] == pytest.approx(np.percentile(first["latency_ms"].to_numpy(), 95))
    assert got["errors"].sum() == df["error"].is_not_null().sum()


def test_timeline_by_name_gives_every_name_every_window():
    df = requests(400, names=("/a", "/b"), rate=100.0).filter(
        (pl.col("name") == "/a") | (pl.col("start") < 2.0)  # /b stops after 2 s
    )
    got = timeline(df, window=0.5, by="name")
    assert set(got.get_column("name")) == {"/a", "/b"}
    b = got.filter(pl.col("name") == "/b")
    assert b.height == 8 and b.get_column("requests").to_list() == [25] * 4 + [0] * 4
    assert b.get_column("rps").to_list()[:4] == [50.0] * 4


def test_timeline_without_times_is_empty_and_bad_windows_are_refused():
    assert timeline(pl.DataFrame({"latency_ms": [1.0]})).height == 0
    with pytest.raises(ParameterError, match="window"):
        timeline(requests(10), window=0)
    with pytest.raises(ParameterError, match="windows"):
        timeline(pl.DataFrame({"start": [0.0, 1.7e9], "latency_ms": [1.0, 2.0]}), window=1e-3)


def test_per_name_summaries_get_an_all_row_that_gates_and_compares():
    from pathlib import Path

    from perflab.loadtest import compare, gate, read_pytest_benchmark

    saved = Path(__file__).parents[2] / "data/sample/loadtest/tools/pytest_benchmark_saved.json"
    saved = read_pytest_benchmark(saved)
    table = summary(saved)
    assert table["name"][0] == "all" and table.height == 4  # "all" + three benchmarks
    total = table.row(0, named=True)
    assert total["requests"] == table["requests"][1:].sum()
    assert total["p50_ms"] is None  # no percentile of the whole from per-name ones
    assert gate(saved, error_rate=0.5).passed
    got = compare(saved, saved)
    assert got.filter(metric="mean")["change"].to_list() == [0.0]


def test_failures_nan_and_unnamed_requests():
    df = pl.DataFrame(
        {
            "start": [0.0, 0.1, 0.2, 0.3],
            "latency_ms": [1.0, float("nan"), 3.0, -1.0],
            "status": [200, 500, 200, 200],
        }
    )
    out = summary(df)
    assert out.height == 1  # no null-name row beside "all"
    row = out.row(0, named=True)
    assert row["errors"] == 1  # a 500 fails even where no error column says so
    assert row["p99_ms"] == pytest.approx(3.0, abs=0.05)  # NaN and negative are no latency
    assert row["min_ms"] == 1.0

import time

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.pooling import PoolError, benchmark_pool, with_model
from perflab.pooling.bench import BENCH_COLUMNS

from .conftest import DSN, SAMPLES, live


@live
def test_a_closed_loop_run_per_pool_size():
    out = benchmark_pool(DSN, [1, 4], 4, "SELECT pg_sleep(0.01)", duration_s=None, requests=40)
    assert list(out.schema) == list(BENCH_COLUMNS)
    assert out["size"].to_list() == [1, 4] and out["requests"].to_list() == [40, 40]
    assert out["errors"].to_list() == [0, 0]
    one, four = out.row(0, named=True), out.row(1, named=True)
    # four clients on one connection queue behind each other (for the other three's
    # 10 ms sleeps); on four they do not
    assert one["wait_p99_ms"] > 10 and one["wait_probability"] > 0.5
    assert four["wait_mean_ms"] < one["wait_mean_ms"] / 3
    assert four["throughput_rps"] > one["throughput_rps"]
    assert one["latency_p50_ms"] >= 10


@live
def test_an_open_loop_run_returns_its_events():
    out, events = benchmark_pool(
        DSN, [2], 8, "SELECT 1", duration_s=0.5, arrival_rate=100, return_events=True
    )
    assert out["mode"][0] == "open" and out["ok"][0] == events.height > 20
    assert set(events["pool"]) == {"size-2"}


@live
def test_a_refused_dsn_fails_within_the_timeout(closed_port):
    start = time.monotonic()
    with pytest.raises(PoolError, match=f"127.0.0.1:{closed_port}/test"):
        benchmark_pool(f"postgresql://postgres@127.0.0.1:{closed_port}/test", [2], 2, timeout_s=1.0)
    assert time.monotonic() - start < 4.5  # the 1 s timeout (the default is 5 s)


@live
def test_a_run_must_end():
    with pytest.raises(ParameterError, match="must end"):
        benchmark_pool(DSN, [1], 1, duration_s=None, requests=None)


def test_the_captured_benchmark_beside_erlang_c():
    side = with_model(pl.read_csv(SAMPLES / "bench.csv"))
    assert side["size"].to_list() == [4, 5, 6, 7, 8, 10, 12] and set(side["errors"]) == {0}
    # more connections, fewer waits: in the measurement and in the model
    assert side["wait_probability"].is_sorted(descending=True)
    assert side["erlang_wait_probability"].is_sorted(descending=True)
    gap = (side["wait_probability"] - side["erlang_wait_probability"]).abs()
    assert gap.max() < 0.15

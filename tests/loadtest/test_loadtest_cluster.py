"""Distributed load generation: ``run(..., cluster=client)`` on a local Dask cluster.

A LocalCluster of two worker processes (127.0.0.1) drives an HTTP server that this
test runs in a thread and that counts what it is sent, so the test can check the
results against what the server saw.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from perflab.loadtest import (
    REQUESTS,
    compare,
    gate,
    histogram_of,
    run,
    run_cluster,
    summary,
)
from perflab.loadtest.events import events
from perflab.loadtest.generator import TargetUnreachableError

distributed = pytest.importorskip("distributed")

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class CountingServer:
    """HTTP/1.1 keep-alive server on 127.0.0.1 in a thread; counts the requests it gets."""

    def __init__(self) -> None:
        self.count = 0
        self.peers: set[int] = set()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(started,), daemon=True)
        self._thread.start()
        started.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=256)
        )
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        try:
            while data := await reader.read(65536):
                buf += data
                n = buf.count(b"\r\n\r\n")  # GET requests: a head, no body
                if n:
                    buf = buf[buf.rindex(b"\r\n\r\n") + 4 :]
                    with self._lock:
                        self.count += n
                    writer.write(_OK * n)
        except ConnectionError:
            pass
        finally:
            writer.close()

    def reset(self) -> int:
        with self._lock:
            n, self.count = self.count, 0
        return n

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture(scope="module")
def server():
    s = CountingServer()
    yield s
    s.close()


def _workers(client) -> list[str]:
    return sorted(client.scheduler_info(n_workers=-1)["workers"])


def test_uniform_arrivals_split_one_evenly_spaced_schedule(client, server):
    server.reset()
    rate, duration = 200.0, 1.5
    result = run_cluster(client, server.url, rate=rate, duration=duration)
    df = result.requests
    # evenly spaced arrivals: the schedule holds exactly rate × duration requests
    assert df.height == round(rate * duration)
    assert df.filter(pl.col("error").is_not_null()).height == 0
    # both workers sent, half each (slot w sends arrivals w, w + 2, …)
    per = df.group_by("worker").len().sort("worker")
    assert per["worker"].to_list() == _workers(client)
    assert per["len"].to_list() == [150, 150]
    # the merged schedule is evenly spaced, alternating workers; a request the engine
    # sends early (≤ 0.5 ms, its _EARLY) starts when sent, so gaps are 1/rate ± 0.5 ms
    assert df["start"].is_sorted()
    gaps = df["start"].diff().drop_nulls().to_numpy()
    assert np.all(np.abs(gaps - 1 / rate) <= 0.0005 + 1e-9)
    assert (df["worker"] != df["worker"].shift(1)).drop_nulls().all()
    # the server saw every request the results report, no more
    assert server.reset() == df.height
    assert result.workers["requests"].sum() == df.height
    assert result.workers["reached"].all()
    # one machine, one clock: the measured offset is 0 to within its stated uncertainty
    workers = result.workers
    assert (workers["clock_offset_ms"].abs() <= workers["clock_error_ms"]).all()


def test_poisson_arrivals_superpose_to_the_shared_rate(client, server):
    server.reset()
    rate, duration = 400.0, 2.0
    result = run_cluster(client, server.url, rate=rate, duration=duration, arrivals="poisson")
    df = result.requests
    # N ~ Poisson(rate × duration) for the whole and Poisson(rate × duration / 2) per
    # worker: 4.5 σ either way is missed by chance once in ~150,000 runs
    expected = rate * duration
    assert abs(df.height - expected) <= 4.5 * math.sqrt(expected)
    for n in df.group_by("worker").len()["len"]:
        assert abs(n - expected / 2) <= 4.5 * math.sqrt(expected / 2)
    assert df["worker"].n_unique() == 2
    # a superposition of Poisson processes is Poisson: counts per 50 ms window have
    # variance ≈ mean (index of dispersion ~ χ²(k − 1)), unlike a regular split
    counts = np.bincount((df["start"].to_numpy() / 0.05).astype(int), minlength=40)[:40]
    dispersion = ((counts - counts.mean()) ** 2).sum() / counts.mean()
    assert stats.chi2.ppf(0.0001, 39) <= dispersion <= stats.chi2.ppf(0.9999, 39)
    assert server.reset() == df.height


def test_merged_histogram_is_the_histogram_of_the_merged_requests(client, server):
    result = run_cluster(client, server.url + "/item", rate=150, duration=1.0, seed=3)
    df = result.requests
    reference = histogram_of(df)
    assert np.array_equal(result.histogram.counts, reference.counts)
    assert (result.histogram.min, result.histogram.max) == (reference.min, reference.max)
    assert result.histogram.count == df.filter(pl.col("status").is_not_null()).height
    by_worker = [histogram_of(df.filter(pl.col("worker") == w)) for w in _workers(client)]
    for w, h in zip(_workers(client), by_worker, strict=True):
        assert np.array_equal(result.histograms[w].counts, h.counts)
    # quantiles read from the merged histogram are within its accuracy of the exact ones
    exact = df["latency_ms"].quantile(0.95, interpolation="lower")
    assert abs(result.histogram.quantile(0.95) / exact - 1) <= result.histogram.accuracy


def test_run_with_cluster_is_usable_like_a_one_machine_run(client, server, tmp_path):
    out = tmp_path / "run.parquet"
    df = run(server.url, rate=100, duration=1.0, cluster=client, out=out)
    assert isinstance(df, pl.DataFrame)
    assert set(REQUESTS.columns) <= set(df.columns) and "worker" in df.columns
    assert_frame_equal(pl.read_parquet(out), df)
    total = summary(df).filter(pl.col("name") == "all")
    assert total["requests"].item() == 100 and total["errors"].item() == 0
    assert gate(df, error_rate=0.01).passed
    again = run(server.url, rate=100, duration=1.0, cluster=client.scheduler.address)
    assert again.height == 100 and again["worker"].n_unique() == 2
    comparison = compare(df, again)
    assert set(comparison["verdict"]) <= {"faster", "slower", "equivalent", "inconclusive"}
    assert events(comparison, at="2026-01-01T00:00:00Z").columns


def test_closed_model_splits_the_users(client, server):
    server.reset()
    result = run_cluster(client, server.url, users=4, duration=0.5, think_time=0.05)
    df = result.requests
    assert df["worker"].n_unique() == 2 and df.height > 0
    assert server.reset() == df.height


def test_a_dead_target_is_refused_as_on_one_machine_not_a_hang(client):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(TargetUnreachableError, match="from any of the 2 Dask worker"):
        run_cluster(client, f"http://127.0.0.1:{port}", rate=100, duration=1.0)
    with pytest.raises(TargetUnreachableError, match="connection refused"):
        run(f"http://127.0.0.1:{port}", rate=100, duration=1.0, cluster=client)
    assert time.monotonic() - started < 60
    # the cluster is still usable afterwards
    assert client.run(lambda: 1)


def test_too_few_connections_for_the_generators_is_a_clear_error(client, server):
    from perflab.errors import ParameterError

    with pytest.raises(ParameterError, match="2 load generators"):
        run_cluster(client, server.url, users=1, duration=0.5)


def _executing(dask_worker) -> int:
    return int(dask_worker.state.executing_count)


def test_a_run_called_off_stops_the_load_on_every_node(client, server):
    """Cancelling a Dask task does not stop it: the client tells the nodes to stop."""
    import concurrent.futures

    server.reset()
    duration = 30.0

    def call_off() -> None:
        while server.count < 100:  # every node has started sending (or soon will)
            time.sleep(0.01)
        nodes = [k for k in list(client.futures) if str(k).startswith("perflab-loadtest-")]
        client.cancel([distributed.Future(k, client) for k in nodes])  # as a failed node does

    caller = threading.Thread(target=call_off, daemon=True)
    caller.start()
    with pytest.raises(concurrent.futures.CancelledError):
        run_cluster(client, server.url, rate=400, duration=duration)
    caller.join(10)
    called_off = time.monotonic()
    # the nodes' tasks end on the workers well before the test's 30 s would have
    while any(client.run(_executing).values()):
        assert time.monotonic() - called_off < duration / 2, "the nodes are still sending"
        time.sleep(0.05)
    sent = server.count
    time.sleep(1.0)
    assert server.count == sent  # nothing more reaches the server
    assert sent < 400 * duration / 4

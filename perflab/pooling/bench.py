"""``benchmark_pool``: a bounded real workload against PostgreSQL, one run per pool size.

For each size an :class:`~perflab.pooling.InstrumentedPool` is opened warm
(``min_size = max_size = size``, so the model's assumption — every connection open —
holds) and driven by ``concurrency`` threads running ``query``, either

* **closed loop** (default): each thread sends its next query as soon as the last one
  returned — the throughput a pool size allows; or
* **open loop** (``arrival_rate``): queries arrive at random (Poisson) at the given rate
  whatever the pool does, each timed from when it *should* have started — the setting
  Erlang C describes, so :func:`~perflab.pooling.erlang_table`'s waits and the measured
  ones can be put side by side.

A run stops after ``duration_s`` or ``requests``, whichever comes first; every call has
a timeout. Nothing is written to the database unless ``query`` writes.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import polars as pl

from perflab.errors import ParameterError, positive_int
from perflab.pooling.pool import InstrumentedPool
from perflab.stats import quantile_exprs

__all__ = ["BENCH_COLUMNS", "benchmark_pool", "with_model"]

logger = logging.getLogger(__name__)

BENCH_COLUMNS: dict[str, Any] = {
    "size": pl.Int64,
    "concurrency": pl.Int64,
    "mode": pl.String,
    "arrival_rate": pl.Float64,
    "requests": pl.Int64,
    "ok": pl.Int64,
    "errors": pl.Int64,
    "duration_s": pl.Float64,
    "throughput_rps": pl.Float64,
    "latency_p50_ms": pl.Float64,
    "latency_p95_ms": pl.Float64,
    "latency_p99_ms": pl.Float64,
    "wait_probability": pl.Float64,
    "wait_mean_ms": pl.Float64,
    "wait_p95_ms": pl.Float64,
    "wait_p99_ms": pl.Float64,
    "hold_mean_ms": pl.Float64,
}
"""Columns of :func:`benchmark_pool`."""


def benchmark_pool(
    dsn: str,
    sizes: Iterable[int] = (2, 5, 10, 20),
    concurrency: int = 16,
    query: str = "SELECT pg_sleep(0.005)",
    *,
    duration_s: float | None = 2.0,
    requests: int | None = None,
    arrival_rate: float | None = None,
    timeout_s: float = 5.0,
    waited_ms: float = 1.0,
    seed: int = 0,
    return_events: bool = False,
) -> pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame]:
    """Throughput and latency percentiles of ``query`` through pools of each size.

    Parameters
    ----------
    dsn : str
        The server (never logged or shown; errors name host, port and database).
    sizes : iterable of int
        Pool sizes to try, each a fresh warm pool.
    concurrency : int
        Client threads (closed loop), or the most queries in flight (open loop).
    query : str
        The statement each request runs (one connection, one transaction).
    duration_s, requests : float, int, optional
        Stop each run after this long, or this many requests (at least one of them).
    arrival_rate : float, optional
        Queries per second arriving at random (open loop); None: closed loop.
    timeout_s : float
        Open timeout of each pool and acquire timeout of each request.
    waited_ms : float
        An acquire wait above this counts in ``wait_probability``.
    seed : int
        Seed of the open loop's arrival times.
    return_events : bool
        Also return every acquire (:data:`~perflab.pooling.schema.ACQUIRES`, with a
        ``size`` of the run in ``pool`` = ``"size-N"``).

    Returns
    -------
    polars.DataFrame or (polars.DataFrame, polars.DataFrame)
        One row per size (:data:`BENCH_COLUMNS`): requests, ok, errors (timeouts
        included), throughput of completed requests per second, end-to-end latency
        percentiles (acquire + query; from the scheduled start in open loop), the
        acquire wait (share that waited, mean, p95, p99) and the mean hold.

    Raises
    ------
    PoolError
        The server refuses or does not answer within ``timeout_s``.

    Examples
    --------
    >>> benchmark_pool("postgresql://postgres@127.0.0.1:5432/test", [1], 2,
    ...                duration_s=None, requests=None)
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: give duration_s or requests (or both): a run must end
    """
    if duration_s is None and requests is None:
        raise ParameterError("give duration_s or requests (or both): a run must end")
    if duration_s is not None and not (duration_s > 0 and math.isfinite(duration_s)):
        raise ParameterError(f"duration_s must be positive, not {duration_s!r}")
    limit = None if requests is None else positive_int("requests", requests)
    workers = positive_int("concurrency", concurrency)
    if arrival_rate is not None and not (arrival_rate > 0 and math.isfinite(arrival_rate)):
        raise ParameterError(f"arrival_rate must be positive, not {arrival_rate!r}")
    if not timeout_s > 0:
        raise ParameterError(f"timeout_s must be positive, not {timeout_s!r}")
    wanted = sorted({positive_int("size", s) for s in sizes})
    if not wanted:
        raise ParameterError("sizes is empty")
    rows, events = [], []
    for size in wanted:
        pool = InstrumentedPool(
            dsn,
            min_size=size,
            max_size=size,
            max_waiting=0,
            timeout_s=timeout_s,
            open_timeout_s=timeout_s,
            name=f"size-{size}",
        )
        try:
            if arrival_rate is None:
                lat, errors, took = _closed(pool, workers, query, duration_s, limit, timeout_s)
            else:
                lat, errors, took = _open(
                    pool, workers, query, duration_s, limit, arrival_rate, timeout_s, seed
                )
        finally:
            pool.close()
        ev = pool.events()
        rows.append(_row(size, workers, arrival_rate, lat, errors, took, ev, waited_ms))
        events.append(ev)
        logger.info("pool size %d: %d requests in %.2f s", size, len(lat) + errors, took)
    result = pl.DataFrame(rows, schema=BENCH_COLUMNS, orient="row")
    if return_events:
        return result, pl.concat(events, how="diagonal_relaxed")
    return result


def _closed(
    pool: InstrumentedPool,
    workers: int,
    query: str,
    duration_s: float | None,
    limit: int | None,
    timeout_s: float,
) -> tuple[list[float], int, float]:
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    left = [limit if limit is not None else -1]
    start = time.monotonic()
    deadline = start + duration_s if duration_s is not None else math.inf

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            t0 = time.monotonic()
            try:
                with pool.connection(timeout_s) as conn:
                    conn.execute(query)
            except Exception:
                with lock:
                    errors[0] += 1
                continue
            t1 = time.monotonic()
            with lock:
                latencies.append((t1 - t0) * 1e3)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.monotonic() - start


def _open(
    pool: InstrumentedPool,
    workers: int,
    query: str,
    duration_s: float | None,
    limit: int | None,
    rate: float,
    timeout_s: float,
    seed: int,
) -> tuple[list[float], int, float]:
    rng = np.random.default_rng(seed)
    n = limit if limit is not None else int(rate * float(duration_s or 0) * 1.2) + 10
    offsets = np.cumsum(rng.exponential(1.0 / rate, n))
    if duration_s is not None:
        offsets = offsets[offsets < duration_s]
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]

    def one(due: float) -> None:
        try:
            with pool.connection(timeout_s) as conn:
                conn.execute(query)
        except Exception:
            with lock:
                errors[0] += 1
            return
        done = time.monotonic()
        with lock:
            latencies.append((done - due) * 1e3)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perflab-bench") as ex:
        for off in offsets:
            due = start + float(off)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ex.submit(one, due)
    return latencies, errors[0], time.monotonic() - start


def _row(
    size: int,
    workers: int,
    rate: float | None,
    lat: list[float],
    errors: int,
    took: float,
    ev: pl.DataFrame,
    waited_ms: float,
) -> dict[str, Any]:
    arr = pl.DataFrame({"v": lat}, schema={"v": pl.Float64})
    p50, p95, p99 = (
        arr.select(quantile_exprs("v", (0.5, 0.95, 0.99))).row(0) if lat else (None,) * 3
    )
    ok = ev.filter(pl.col("outcome") == "ok")
    waits = ev.filter(pl.col("outcome").is_in(["ok", "timeout"]))["wait_ms"]
    w95, w99 = (
        pl.DataFrame({"w": waits}).select(quantile_exprs("w", (0.95, 0.99))).row(0)
        if waits.len()
        else (None, None)
    )
    return {
        "size": size,
        "concurrency": workers,
        "mode": "closed" if rate is None else "open",
        "arrival_rate": rate,
        "requests": len(lat) + errors,
        "ok": len(lat),
        "errors": errors,
        "duration_s": took,
        "throughput_rps": len(lat) / took if took > 0 else None,
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
        "latency_p99_ms": p99,
        "wait_probability": float(cast(float, (waits > waited_ms).mean()) or 0.0)
        if waits.len()
        else None,
        "wait_mean_ms": float(cast(float, waits.mean()) or 0.0) if waits.len() else None,
        "wait_p95_ms": w95,
        "wait_p99_ms": w99,
        "hold_mean_ms": float(cast(float, ok["hold_ms"].mean()) or 0.0) if ok.height else None,
    }


def with_model(bench: pl.DataFrame | Any) -> pl.DataFrame:
    """:func:`benchmark_pool` results with Erlang C's prediction beside each measurement.

    Open-loop rows only (a closed loop has no arrival rate to model): Erlang C from the
    run's own arrival rate and measured mean hold.

    Returns
    -------
    polars.DataFrame
        The open-loop rows, plus ``erlang_wait_probability``, ``erlang_wait_mean_ms``,
        ``erlang_wait_p95_ms`` and ``erlang_wait_p99_ms``.

    Examples
    --------
    >>> b = pl.DataFrame({"size": [6], "mode": ["open"], "arrival_rate": [400.0],
    ...                   "hold_mean_ms": [10.0], "wait_p99_ms": [15.0]})
    >>> round(with_model(b)["erlang_wait_p99_ms"][0], 1)
    16.7
    """
    from perflab.frames import as_frame
    from perflab.pooling.erlang import erlang_c, mean_wait_ms, wait_percentile_ms

    df = as_frame(bench).filter(pl.col("mode") == "open")
    rows = df.select("size", "arrival_rate", "hold_mean_ms").rows()

    def each(fn: Any) -> pl.Series:
        return pl.Series([fn(int(c), float(r), float(h)) for c, r, h in rows], dtype=pl.Float64)

    return df.with_columns(
        each(lambda c, r, h: erlang_c(c, r * h / 1000.0)).alias("erlang_wait_probability"),
        each(mean_wait_ms).alias("erlang_wait_mean_ms"),
        each(lambda c, r, h: wait_percentile_ms(c, r, h, 0.95)).alias("erlang_wait_p95_ms"),
        each(lambda c, r, h: wait_percentile_ms(c, r, h, 0.99)).alias("erlang_wait_p99_ms"),
    )

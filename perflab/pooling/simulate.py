"""Replay an acquire/hold trace against a pool of a given size: the what-if curve.

The pool is a FIFO queue in front of ``size`` connections, as psycopg_pool serves its
waiters (first come, first served). Requests arrive when the trace says and hold a
connection as long as the trace says; the simulation decides only how long each one
waits. With FIFO service a request starts when it arrives, if a connection is free,
or else when the earliest connection is given back after every request ahead of it
has been served: so one pass over the requests in arrival order, with a min-heap of
the times each connection becomes free, gives every wait exactly (a discrete-event
simulation whose events need no global calendar). Options as the pool has them: a
request that would wait longer than ``timeout_ms`` gives up then and holds nothing
(``timeout``); one that finds ``max_waiting`` requests already waiting is turned away
(``rejected``).

Assumptions, said once: the pool holds ``size`` open connections all the time (the
cost of opening one, a few ms, is not modelled: a warmed pool at its ``max_size``),
and holds do not depend on the pool size (no contention in the database itself:
past its cores, a bigger pool makes each query slower, which the benchmark shows and
the model does not).

Why hand-written: the loop is a numba kernel (a few million requests a second, one
core), where a SimPy model of the same queue runs about 100 times slower
(``benchmarks/bench_pooling.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal, cast

import numba as nb
import numpy as np
import polars as pl

from perflab.errors import InputError, ParameterError, positive_int
from perflab.frames import FrameLike, as_frame
from perflab.stats import quantile_exprs

__all__ = ["WHAT_IF_COLUMNS", "poisson_trace", "replay", "what_if"]

_OUTCOMES = ("ok", "timeout", "rejected")
_ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)

WHAT_IF_COLUMNS: dict[str, pl.DataType] = {
    "size": pl.Int64(),
    "requests": pl.Int64(),
    "served": pl.Int64(),
    "timeouts": pl.Int64(),
    "rejected": pl.Int64(),
    "utilization": pl.Float64(),
    "wait_probability": pl.Float64(),
    "mean_wait_ms": pl.Float64(),
    "p50_wait_ms": pl.Float64(),
    "p95_wait_ms": pl.Float64(),
    "p99_wait_ms": pl.Float64(),
    "source": pl.String(),
}
"""Columns of :func:`what_if` (and, but the counts, of :func:`~perflab.pooling.erlang_table`)."""


@nb.njit(cache=True, nogil=True)
def _sift_down(heap: np.ndarray, n: int, i: int) -> None:  # pragma: no cover - numba
    x = heap[i]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= x:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = x


@nb.njit(cache=True, nogil=True)
def _push(heap: np.ndarray, n: int, x: float) -> None:  # pragma: no cover - numba
    i = n
    while i > 0:
        parent = (i - 1) // 2
        if heap[parent] <= x:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = x


@nb.njit(cache=True, nogil=True)
def _fifo(
    arrive: np.ndarray, hold: np.ndarray, size: int, timeout: float, max_waiting: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """Waits and outcomes (0 ok, 1 timeout, 2 rejected) of requests sorted by arrival."""
    n = arrive.size
    free = np.full(size, -np.inf)  # when each connection is next free (a min-heap)
    queue = np.empty(max(n, 1))  # when each waiting request leaves the queue (a min-heap)
    q = 0
    wait = np.zeros(n)
    outcome = np.zeros(n, dtype=np.int8)
    for i in range(n):
        a = arrive[i]
        while q > 0 and queue[0] <= a:
            q -= 1
            queue[0] = queue[q]
            _sift_down(queue, q, 0)
        first = free[0]
        if first > a:
            if max_waiting > 0 and q >= max_waiting:
                outcome[i] = 2
                continue
            w = first - a
            if timeout >= 0 and w > timeout:
                outcome[i] = 1
                wait[i] = timeout
                _push(queue, q, a + timeout)
                q += 1
                continue
            wait[i] = w
            _push(queue, q, first)
            q += 1
            free[0] = first + hold[i]
        else:
            free[0] = a + hold[i]
        _sift_down(free, size, 0)
    return wait, outcome


def _trace(trace: FrameLike, unserved: str) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """The trace sorted by arrival; arrival times (ms from the first) and holds (ms)."""
    if unserved not in ("mean", "drop"):
        raise ParameterError(f"unserved must be 'mean' or 'drop', not {unserved!r}")
    df = as_frame(trace)
    missing = [c for c in ("start", "hold_ms") if c not in df.columns]
    if missing:
        from perflab.errors import SchemaError

        raise SchemaError("pool acquires", missing=missing)
    if df.is_empty():
        return df, np.empty(0), np.empty(0)
    df = df.with_row_index("_row")
    start = df["start"]
    if start.dtype.is_numeric():
        t = start.cast(pl.Float64) * 1000.0  # seconds
    elif isinstance(start.dtype, pl.Datetime):
        t = start.dt.epoch("us").cast(pl.Float64) / 1000.0
    elif start.dtype == pl.String:
        t = start.str.to_datetime(time_zone="UTC").dt.epoch("us").cast(pl.Float64) / 1000.0
    else:
        raise InputError("trace", None, f"start must be a time or seconds, not {start.dtype}")
    df = df.with_columns(t.alias("_t_ms"), pl.col("hold_ms").cast(pl.Float64))
    _check(df, "_t_ms", "start", allow_null=False)
    _check(df, "hold_ms", "hold_ms", allow_null=True)
    if "wait_ms" in df.columns:
        _check(df.with_columns(pl.col("wait_ms").cast(pl.Float64)), "wait_ms", "wait_ms", True)
    served = df["hold_ms"].drop_nulls()
    if df["hold_ms"].null_count():
        if unserved == "drop" or served.is_empty():
            df = df.filter(pl.col("hold_ms").is_not_null())
        else:
            df = df.with_columns(
                pl.col("hold_ms").fill_null(float(cast(float, served.mean()) or 0.0))
            )
    df = df.sort("_t_ms", "_row")
    arrive = df["_t_ms"].to_numpy() - (df["_t_ms"][0] if df.height else 0.0)
    return (
        df,
        np.ascontiguousarray(arrive, dtype=np.float64),
        df["hold_ms"].to_numpy().astype(np.float64),
    )


def _check(df: pl.DataFrame, col: str, name: str, allow_null: bool) -> None:
    s = df[col]
    bad = (~s.is_finite()) | (s < 0)
    if not allow_null:
        bad = bad | s.is_null()
    bad = bad.fill_null(False)
    if bad.any():
        idx = int(bad.arg_max() or 0)
        row = int(df["_row"][idx]) + 1
        value = s[idx]
        raise InputError(
            "trace",
            row,
            f"{name} must be a finite, non-negative number, not {value!r} "
            f"({int(bad.sum())} such row(s); the line is the row, 1-based)",
        )


def _limits(timeout_ms: float | None, max_waiting: int | None) -> tuple[float, int]:
    if timeout_ms is not None and (not math.isfinite(timeout_ms) or timeout_ms < 0):
        raise ParameterError(f"timeout_ms must be ≥ 0, not {timeout_ms!r}")
    if max_waiting is not None and (
        isinstance(max_waiting, bool) or not isinstance(max_waiting, int) or max_waiting < 0
    ):
        raise ParameterError(f"max_waiting must be a non-negative integer, not {max_waiting!r}")
    return (-1.0 if timeout_ms is None else float(timeout_ms)), (max_waiting or 0)


def replay(
    trace: FrameLike,
    size: int,
    *,
    timeout_ms: float | None = None,
    max_waiting: int | None = None,
    unserved: Literal["mean", "drop"] = "mean",
) -> pl.DataFrame:
    """Each request of ``trace`` served by a pool of ``size`` connections.

    Parameters
    ----------
    trace : frame-like
        :data:`~perflab.pooling.schema.ACQUIRES` (at least ``start`` — a time, or
        seconds as a number — and ``hold_ms``), in any order: it is sorted by
        ``start``. A request the real pool never served (a timeout, a rejection:
        ``hold_ms`` null) still wanted a connection: by default it holds one for the
        trace's mean hold (``unserved="drop"`` leaves it out).
    size : int
        Connections in the pool.
    timeout_ms : float, optional
        Longest wait before giving up (None: wait as long as it takes).
    max_waiting : int, optional
        Requests allowed to wait; one more is rejected (None or 0: unbounded).
    unserved : {"mean", "drop"}
        What unserved requests hold.

    Returns
    -------
    polars.DataFrame
        The trace's rows in arrival order, with ``arrival_ms`` (from the first
        request), ``hold_ms`` (as replayed), ``sim_wait_ms`` and ``sim_outcome``
        (``ok``, ``timeout``, ``rejected``).

    Raises
    ------
    InputError
        A negative, infinite or missing time or duration (``line`` is the row).

    Examples
    --------
    >>> t = pl.DataFrame({"start": [0.0, 0.0, 0.0], "hold_ms": [10.0, 10.0, 10.0]})
    >>> replay(t, 2)["sim_wait_ms"].to_list()
    [0.0, 0.0, 10.0]
    """
    n = positive_int("size", size)
    timeout, waiting = _limits(timeout_ms, max_waiting)
    df, arrive, hold = _trace(trace, unserved)
    wait, outcome = _fifo(arrive, hold, n, timeout, waiting)
    return df.drop("_row", "_t_ms").with_columns(
        pl.Series("arrival_ms", arrive),
        pl.Series("sim_wait_ms", wait),
        pl.Series("sim_outcome", np.asarray(_OUTCOMES)[outcome], dtype=pl.String),
    )


def what_if(
    trace: FrameLike,
    sizes: Iterable[int],
    *,
    timeout_ms: float | None = None,
    max_waiting: int | None = None,
    unserved: Literal["mean", "drop"] = "mean",
) -> pl.DataFrame:
    """Pool size against acquire wait: :func:`replay` of ``trace`` for each size.

    Parameters
    ----------
    trace : frame-like
        As for :func:`replay`.
    sizes : iterable of int
        Pool sizes to try.
    timeout_ms, max_waiting, unserved
        As for :func:`replay`.

    Returns
    -------
    polars.DataFrame
        One row per size (:data:`WHAT_IF_COLUMNS`): ``requests``, ``served``,
        ``timeouts``, ``rejected``; ``utilization`` (connection time used over
        ``size`` × the trace's span); ``wait_probability`` (share of requests that
        waited at all); ``mean_wait_ms``, ``p50_wait_ms``, ``p95_wait_ms``,
        ``p99_wait_ms`` over every request that was not rejected (a timeout counts
        its whole wait); ``source`` = ``"simulation"``.

    Examples
    --------
    >>> t = poisson_trace(100.0, 10.0, n=20_000, seed=1)
    >>> curve = what_if(t, [1, 2, 3])
    >>> curve["p99_wait_ms"].to_list()[0] > curve["p99_wait_ms"].to_list()[2]
    True
    """
    timeout, waiting = _limits(timeout_ms, max_waiting)
    wanted = sorted({positive_int("size", s) for s in sizes})
    _, arrive, hold = _trace(trace, unserved)
    rows = []
    span = float(max((arrive + hold).max() - arrive.min(), 1e-9)) if arrive.size else 0.0
    for c in wanted:
        wait, outcome = _fifo(arrive, hold, c, timeout, waiting)
        ok = outcome == 0
        kept = wait[outcome != 2]
        stats = (
            pl.DataFrame({"w": kept}).select(quantile_exprs("w", (0.5, 0.95, 0.99))).row(0)
            if kept.size
            else (None, None, None)
        )
        rows.append(
            {
                "size": c,
                "requests": int(arrive.size),
                "served": int(ok.sum()),
                "timeouts": int((outcome == 1).sum()),
                "rejected": int((outcome == 2).sum()),
                "utilization": float(hold[ok].sum() / (c * span)) if span else None,
                "wait_probability": float((kept > 0).mean()) if kept.size else None,
                "mean_wait_ms": float(kept.mean()) if kept.size else None,
                "p50_wait_ms": stats[0],
                "p95_wait_ms": stats[1],
                "p99_wait_ms": stats[2],
                "source": "simulation",
            }
        )
    return (
        pl.DataFrame(rows, schema=WHAT_IF_COLUMNS, orient="row")
        if rows
        else pl.DataFrame(schema=WHAT_IF_COLUMNS)
    )


def poisson_trace(
    arrival_rate: float,
    hold_ms: float,
    *,
    n: int = 100_000,
    seed: int = 0,
    hold: Literal["exponential", "constant"] = "exponential",
) -> pl.DataFrame:
    """A synthetic trace: Poisson arrivals at ``arrival_rate``/s, holds of mean ``hold_ms``.

    The input of M/M/c (exponential holds), under which :func:`what_if` and Erlang C
    must agree; or M/D/c (``hold="constant"``).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.pooling.schema.ACQUIRES` columns (``wait_ms`` null, ``outcome``
        ``ok``), starting 2026-01-01 UTC.

    Examples
    --------
    >>> poisson_trace(10.0, 5.0, n=3).columns
    ['start', 'wait_ms', 'hold_ms', 'outcome']
    """
    count = positive_int("n", n)
    if not arrival_rate > 0 or not hold_ms > 0:
        raise ParameterError("arrival_rate and hold_ms must be positive")
    if hold not in ("exponential", "constant"):
        raise ParameterError(f"hold must be 'exponential' or 'constant', not {hold!r}")
    rng = np.random.default_rng(seed)
    t_us = np.cumsum(rng.exponential(1e6 / arrival_rate, count)).astype(np.int64)
    holds = rng.exponential(hold_ms, count) if hold == "exponential" else np.full(count, hold_ms)
    origin = int(_ORIGIN.timestamp() * 1e6)
    return pl.DataFrame(
        {
            "start": pl.Series(t_us + origin).cast(pl.Datetime("us", "UTC")),
            "wait_ms": pl.Series([None] * count, dtype=pl.Float64),
            "hold_ms": holds.astype(np.float64),
            "outcome": pl.Series(["ok"] * count, dtype=pl.String),
        }
    )

"""``recommend_size``: a pool size for a recorded peak, from Erlang C and from replay.

Erlang C sizes the pool from two numbers — the arrival rate and the mean hold —
assuming Poisson arrivals and exponential holds. Real peaks are burstier (arrivals
bunch up as a burst starts) and holds can be steadier or heavier-tailed, so the size
is checked by replaying the recorded requests (:func:`~perflab.pooling.what_if`) at
each candidate size: the recommendation is the larger of the two smallest sizes that
meet the target, so it holds for the model and for the load that really came.
"""

from __future__ import annotations

import math
from typing import cast

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.pooling.erlang import size_recommendation
from perflab.pooling.simulate import what_if

__all__ = ["SIZING_COLUMNS", "recommend_size", "recorded_vs_replayed"]

SIZING_COLUMNS = {
    "requests": pl.Int64,
    "arrival_rate": pl.Float64,
    "hold_mean_ms": pl.Float64,
    "offered_load": pl.Float64,
    "target_p99_wait_ms": pl.Float64,
    "erlang_size": pl.Int64,
    "replay_size": pl.Int64,
    "recommended": pl.Int64,
    "erlang_p99_wait_ms": pl.Float64,
    "erlang_wait_probability": pl.Float64,
    "replay_p99_wait_ms": pl.Float64,
    "replay_wait_probability": pl.Float64,
    "utilization": pl.Float64,
}
"""Columns of :func:`recommend_size`."""


def recommend_size(
    trace: FrameLike,
    target_p99_wait_ms: float,
    *,
    timeout_ms: float | None = None,
    max_waiting: int | None = None,
    max_size: int = 1000,
) -> pl.DataFrame:
    """The smallest pool size meeting a p99 acquire-wait target, by Erlang C and by replay.

    Parameters
    ----------
    trace : frame-like
        The acquires to size for (:data:`~perflab.pooling.schema.ACQUIRES`), usually
        the busiest stretch (:func:`~perflab.pooling.peak_window`).
    target_p99_wait_ms : float
        The p99 acquire wait allowed, ms.
    timeout_ms, max_waiting : optional
        The pool's acquire timeout and queue bound, for the replay; a size whose replay
        times out or rejects requests does not meet the target.
    max_size : int
        Largest size tried.

    Returns
    -------
    polars.DataFrame
        One row (:data:`SIZING_COLUMNS`): the trace's rate, mean hold and offered load;
        ``erlang_size`` and ``replay_size`` (null when no size up to ``max_size``
        meets it), ``recommended`` (the larger), and at the recommended size Erlang
        C's p99 wait and wait probability, the replay's, and the utilization.

    Examples
    --------
    >>> from perflab.pooling.simulate import poisson_trace
    >>> r = recommend_size(poisson_trace(400.0, 10.0, n=20_000, seed=2), 5.0)
    >>> r.select("erlang_size", "recommended").row(0)[0] <= r["recommended"][0]
    True
    """
    if not (math.isfinite(target_p99_wait_ms) and target_p99_wait_ms >= 0):
        raise ParameterError(f"target_p99_wait_ms must be ≥ 0, not {target_p99_wait_ms!r}")
    df = as_frame(trace)
    if df.is_empty():
        raise ParameterError("the trace is empty: nothing to size for")
    n = df.height
    spread = df.select(pl.col("start").max() - pl.col("start").min()).to_series()
    if spread.dtype.is_numeric():
        span_s = float(spread.cast(pl.Float64)[0])  # seconds
    else:
        span_s = float(spread.dt.total_microseconds()[0]) / 1e6
    held = df["hold_ms"].drop_nulls()
    if held.is_empty():
        raise ParameterError("no request of the trace holds a connection (hold_ms all null)")
    hold = float(cast(float, held.mean()))
    rate = n / max(span_s, 1e-6)
    erl = size_recommendation(rate, hold, target_p99_wait_ms, max_size=max_size)
    replay_size = None
    lo = max(1, math.floor(rate * hold / 1000.0))
    for c in range(lo, max_size + 1, 1):
        row = what_if(df, [c], timeout_ms=timeout_ms, max_waiting=max_waiting).row(0, named=True)
        if (
            row["timeouts"] == 0
            and row["rejected"] == 0
            and (row["p99_wait_ms"] or 0) <= target_p99_wait_ms
        ):
            replay_size = c
            break
    recommended = max(erl.size, replay_size or erl.size)
    best = what_if(df, [recommended], timeout_ms=timeout_ms, max_waiting=max_waiting).row(
        0, named=True
    )
    row = {
        "requests": n,
        "arrival_rate": rate,
        "hold_mean_ms": hold,
        "offered_load": rate * hold / 1000.0,
        "target_p99_wait_ms": float(target_p99_wait_ms),
        "erlang_size": erl.size if erl.met else None,
        "replay_size": replay_size,
        "recommended": recommended,
        "erlang_p99_wait_ms": _at(rate, hold, recommended, "p99"),
        "erlang_wait_probability": _at(rate, hold, recommended, "prob"),
        "replay_p99_wait_ms": best["p99_wait_ms"],
        "replay_wait_probability": best["wait_probability"],
        "utilization": rate * hold / 1000.0 / recommended,
    }
    return pl.DataFrame([row], schema=SIZING_COLUMNS, orient="row")


def _at(rate: float, hold: float, size: int, what: str) -> float:
    from perflab.pooling.erlang import erlang_c, wait_percentile_ms

    if what == "p99":
        return wait_percentile_ms(size, rate, hold, 0.99)
    return erlang_c(size, rate * hold / 1000.0)


def recorded_vs_replayed(
    events: FrameLike,
    max_size: int,
    *,
    timeout_ms: float | None = None,
    max_waiting: int | None = None,
) -> pl.DataFrame:
    """What the pool did beside the replay of its own trace at the size it ran with.

    The check to read before trusting a what-if curve: the replay
    (:func:`~perflab.pooling.what_if`) of the recorded acquires at the pool's own
    ``max_size``, timeout and queue bound should give back the rejections, timeouts
    and wait percentiles that were recorded.

    Parameters
    ----------
    events : frame-like
        :data:`~perflab.pooling.schema.ACQUIRES` of one pool.
    max_size : int
        The pool's ``max_size`` when the events were recorded.
    timeout_ms, max_waiting : optional
        Its acquire timeout and wait-queue bound (None: none).

    Returns
    -------
    polars.DataFrame
        One row per measure (``rejected``, ``timeouts``, ``p95 wait (ms)``,
        ``p99 wait (ms)``), columns ``recorded`` and ``replayed``.

    Examples
    --------
    >>> from perflab.pooling import poisson_trace
    >>> t = poisson_trace(300.0, 10.0, n=2000, seed=1)
    >>> recorded_vs_replayed(t, 3)["measure"].to_list()[:2]
    ['rejected', 'timeouts']
    """
    from perflab.pooling.usage import acquire_summary

    df = as_frame(events)
    got = what_if(df, [max_size], timeout_ms=timeout_ms, max_waiting=max_waiting).row(0, named=True)
    if "wait_ms" in df.columns and "outcome" in df.columns:
        rec = acquire_summary(df, max_size=max_size).row(0, named=True)
        recorded = [rec["rejected"], rec["timeouts"], rec["wait_p95_ms"], rec["wait_p99_ms"]]
    else:  # a synthetic trace: nothing was recorded
        recorded = [None] * 4
    return pl.DataFrame(
        {
            "measure": ["rejected", "timeouts", "p95 wait (ms)", "p99 wait (ms)"],
            "recorded": [None if v is None else float(v) for v in recorded],
            "replayed": [
                float(got["rejected"]),
                float(got["timeouts"]),
                got["p95_wait_ms"],
                got["p99_wait_ms"],
            ],
        },
        schema={"measure": pl.String, "recorded": pl.Float64, "replayed": pl.Float64},
    )

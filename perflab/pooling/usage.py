"""What a pool's acquires say: utilization, waits, saturation, timeouts, the ceiling.

Every function takes :data:`~perflab.pooling.schema.ACQUIRES` (from
:meth:`~perflab.pooling.InstrumentedPool.events` or a reader) and returns a frame:

* :func:`acquire_summary` — per pool: counts by outcome, acquire-wait percentiles,
  hold times, the arrival rate and offered load (the inputs of Erlang C), peak and
  mean connections in use, utilization;
* :func:`pool_timeline` — per time bucket: connections in use (time-weighted mean and
  peak), requests waiting, acquires, timeouts;
* :func:`saturation_periods` — the spans during which requests queued for a connection;
* :func:`database_ceiling` — ``instances × max_size`` against the server's
  ``max_connections`` (read live, or given).

A connection is *in use* from the moment a request got it (``start + wait_ms``) until
it went back (``+ hold_ms``); a request is *waiting* from ``start`` for ``wait_ms``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, cast

import polars as pl

from perflab.errors import ParameterError, positive_int
from perflab.frames import FrameLike, as_frame
from perflab.pooling.schema import ACQUIRES
from perflab.stats import quantile_exprs
from perflab.times import duration

__all__ = [
    "CEILING",
    "SUMMARY_COLUMNS",
    "acquire_summary",
    "database_ceiling",
    "peak_window",
    "pool_timeline",
    "saturation_periods",
]

_US = 1_000.0  # µs per ms

SUMMARY_COLUMNS = [
    "acquires", "ok", "timeouts", "rejected", "errors", "failed_pct", "waited_pct",
    "wait_p50_ms", "wait_p95_ms", "wait_p99_ms", "wait_max_ms", "hold_mean_ms",
    "hold_p50_ms", "hold_p99_ms", "span_s", "arrival_rate", "offered_load",
    "in_use_mean", "in_use_peak", "max_size", "utilization_pct",
]  # fmt: skip
"""Columns of :func:`acquire_summary` after the ``by`` keys."""


def _events(events: FrameLike) -> pl.DataFrame:
    df = as_frame(events, ACQUIRES)
    for col in ("wait_ms", "hold_ms"):
        bad = df.filter(pl.col(col) < 0)
        if bad.height:
            raise ParameterError(
                f"{col} holds {bad.height} negative value(s) (first {bad[col][0]!r}): "
                "durations cannot be negative"
            )
    unknown = set(df["outcome"].drop_nulls().unique().to_list()) - {
        "ok",
        "timeout",
        "rejected",
        "error",
    }
    if unknown:
        raise ParameterError(
            f"unknown outcome(s) {sorted(unknown)}: expected ok, timeout, rejected, error"
        )
    return df


def _keys(df: pl.DataFrame, by: str | list[str] | None) -> list[str]:
    if by is None:
        return ["pool"] if "pool" in df.columns else []
    cols = [by] if isinstance(by, str) else list(by)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        from perflab.errors import SchemaError

        raise SchemaError("pool acquires", missing=missing)
    return cols


def acquire_summary(
    events: FrameLike,
    *,
    by: str | list[str] | None = None,
    max_size: int | None = None,
    waited_ms: float = 1.0,
) -> pl.DataFrame:
    """One row per pool: how often and how long requests waited, and how busy it was.

    Parameters
    ----------
    events : frame-like
        :data:`~perflab.pooling.schema.ACQUIRES`.
    by : str or list of str, optional
        Group columns (default ``pool`` when present, else one row).
    max_size : int, optional
        The pool's ``max_size``; default: the largest ``size`` the events saw.
    waited_ms : float
        A wait longer than this counts as waited (``waited_pct``): handing over an
        idle connection takes some microseconds, not a wait.

    Returns
    -------
    polars.DataFrame
        The keys, then :data:`SUMMARY_COLUMNS`: counts by outcome, ``failed_pct``
        (timeouts + rejected + errors over acquires, %), ``waited_pct``; wait
        percentiles over acquires that ended (ok or timeout); hold mean/p50/p99 of
        the served ones; ``span_s`` (first request to last release), ``arrival_rate``
        (acquires per second), ``offered_load`` (arrival rate × mean hold: Erlangs,
        connections busy on average), ``in_use_mean`` (connection-seconds held per
        second), ``in_use_peak``, ``max_size`` and ``utilization_pct``
        (``in_use_mean / max_size``).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ev = pl.DataFrame({"start": [t, t], "wait_ms": [0.0, 10.0], "hold_ms": [10.0, 10.0],
    ...                    "outcome": ["ok", "ok"]})
    >>> acquire_summary(ev, max_size=1).select("acquires", "waited_pct", "in_use_peak").row(0)
    (2, 50.0, 1)
    """
    df = _events(events)
    keys = _keys(df, by)
    if df.is_empty():
        schema = {**{k: df.schema[k] for k in keys}, **_SUMMARY_SCHEMA}
        return pl.DataFrame(schema=schema)
    df = _intervals(df)
    peak = _peaks(df, keys)
    ended = pl.col("outcome").is_in(["ok", "timeout"])
    served = pl.col("outcome") == "ok"
    size_expr = (
        pl.lit(max_size, pl.Int64)
        if max_size is not None
        else (pl.col("size").max() if "size" in df.columns else pl.lit(None, pl.Int64))
    )
    agg = [
        pl.len().alias("acquires"),
        served.sum().alias("ok"),
        (pl.col("outcome") == "timeout").sum().alias("timeouts"),
        (pl.col("outcome") == "rejected").sum().alias("rejected"),
        (pl.col("outcome") == "error").sum().alias("errors"),
        ((~served).mean() * 100).alias("failed_pct"),
        ((pl.col("wait_ms") > waited_ms).mean() * 100).alias("waited_pct"),
        *quantile_exprs(pl.col("wait_ms").filter(ended), (0.5, 0.95, 0.99), prefix="wait_p"),
        pl.col("wait_ms").max().alias("wait_max_ms"),
        pl.col("hold_ms").filter(served).mean().alias("hold_mean_ms"),
        *quantile_exprs(pl.col("hold_ms").filter(served), (0.5, 0.99), prefix="hold_p"),
        ((pl.max_horizontal(pl.col("_end").max(), pl.col("_t").max()) - pl.col("_t").min()) / 1e6)
        .clip(lower_bound=1e-6)
        .alias("span_s"),
        (pl.col("hold_ms").filter(served).sum() / 1000.0).alias("_busy_s"),
        size_expr.cast(pl.Int64).alias("max_size"),
    ]
    out = df.group_by(keys, maintain_order=True).agg(agg) if keys else df.select(agg)
    out = out.rename({c: f"{c}_ms" for c in out.columns if c.startswith(("wait_p", "hold_p"))})
    out = out.with_columns(
        (pl.col("acquires") / pl.col("span_s")).alias("arrival_rate"),
        (pl.col("_busy_s") / pl.col("span_s")).alias("in_use_mean"),
    ).with_columns(
        (pl.col("arrival_rate") * pl.col("hold_mean_ms") / 1000.0).alias("offered_load"),
        (pl.col("in_use_mean") / pl.col("max_size") * 100).alias("utilization_pct"),
    )
    out = (
        out.join(peak, on=keys, how="left")
        if keys
        else out.with_columns(pl.lit(peak["in_use_peak"][0]).alias("in_use_peak"))
    )
    return out.select(*keys, *SUMMARY_COLUMNS).cast(_SUMMARY_SCHEMA)  # type: ignore[arg-type]


_SUMMARY_SCHEMA: dict[str, Any] = {
    c: (
        pl.Int64
        if c in ("acquires", "ok", "timeouts", "rejected", "errors", "in_use_peak", "max_size")
        else pl.Float64
    )
    for c in SUMMARY_COLUMNS
}


def _intervals(df: pl.DataFrame) -> pl.DataFrame:
    """``_t`` (request, µs), ``_got`` (handed over), ``_end`` (given back; null if never)."""
    t = pl.col("start").dt.epoch("us")
    got = t + (pl.col("wait_ms").fill_null(0.0) * _US).cast(pl.Int64)
    return df.with_columns(
        t.alias("_t"),
        got.alias("_got"),
        pl.when(pl.col("outcome") == "ok")
        .then(got + (pl.col("hold_ms").fill_null(0.0) * _US).cast(pl.Int64))
        .otherwise(None)
        .alias("_end"),
    )


def _steps(df: pl.DataFrame, keys: list[str], up: str, down: str) -> pl.DataFrame:
    """A level over time per group: +1 at ``up``, −1 at ``down`` (rows with both)."""
    rows = df.filter(pl.col(down).is_not_null() & (pl.col(down) > pl.col(up)))
    ev = pl.concat(
        [
            rows.select(*keys, pl.col(up).alias("_at"), pl.lit(1, pl.Int64).alias("_d")),
            rows.select(*keys, pl.col(down).alias("_at"), pl.lit(-1, pl.Int64).alias("_d")),
        ]
    ).sort([*keys, "_at", "_d"])  # at a tie, releases first: a hand-over is not an overlap
    level = pl.col("_d").cum_sum()
    return ev.with_columns(level.over(keys) if keys else level).rename({"_d": "_level"})


def _peaks(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    st = _steps(df, keys, "_got", "_end")
    if keys:
        return st.group_by(keys).agg(pl.col("_level").max().fill_null(0).alias("in_use_peak"))
    return pl.DataFrame({"in_use_peak": [int(cast(int, st["_level"].max()) or 0)]})


def pool_timeline(
    events: FrameLike,
    *,
    every: str = "1s",
    by: str | list[str] | None = None,
    waited_ms: float = 1.0,
) -> pl.DataFrame:
    """Connections in use and requests waiting, per time bucket.

    Parameters
    ----------
    events : frame-like
        :data:`~perflab.pooling.schema.ACQUIRES`.
    every : str
        Bucket width (polars duration: ``"100ms"``, ``"1s"``, ``"1m"``).
    by : str or list of str, optional
        Group columns (default ``pool`` when present).
    waited_ms : float
        Only waits longer than this count as waiting (handing over an idle
        connection takes microseconds).

    Returns
    -------
    polars.DataFrame
        Keys, ``timestamp`` (bucket start), ``in_use_mean`` (time-weighted),
        ``in_use_max``, ``waiting_mean``, ``waiting_max``, ``acquires`` (requests
        made in the bucket), ``timeouts``, ``rejected``, ``wait_p99_ms``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ev = pl.DataFrame({"start": [t, t], "wait_ms": [0.0, 500.0],
    ...                    "hold_ms": [500.0, 500.0], "outcome": ["ok", "ok"]})
    >>> pool_timeline(ev).select("in_use_mean", "in_use_max", "waiting_mean").row(0)
    (1.0, 1, 0.5)
    """
    every = duration(every)
    df = _events(events)
    keys = _keys(df, by)
    schema: dict[str, Any] = {
        **{k: df.schema[k] for k in keys},
        "timestamp": pl.Datetime("us", "UTC"),
        "in_use_mean": pl.Float64,
        "in_use_max": pl.Int64,
        "waiting_mean": pl.Float64,
        "waiting_max": pl.Int64,
        "acquires": pl.UInt32,
        "timeouts": pl.UInt32,
        "rejected": pl.UInt32,
        "wait_p99_ms": pl.Float64,
    }
    if df.is_empty():
        return pl.DataFrame(schema=schema)
    df = _intervals(df).with_columns(
        pl.when(pl.col("wait_ms").fill_null(0) > waited_ms)
        .then(pl.col("_got"))
        .otherwise(None)
        .alias("_left")
    )
    busy = _level_by_bucket(_steps(df, keys, "_got", "_end"), keys, every, "in_use")
    wait = _level_by_bucket(_steps(df, keys, "_t", "_left"), keys, every, "waiting")
    counts = (
        df.with_columns(pl.col("start").dt.truncate(every).alias("timestamp"))
        .group_by([*keys, "timestamp"])
        .agg(
            pl.len().alias("acquires"),
            (pl.col("outcome") == "timeout").sum().alias("timeouts"),
            (pl.col("outcome") == "rejected").sum().alias("rejected"),
            pl.col("wait_ms").quantile(0.99, "linear").alias("wait_p99_ms"),
        )
    )
    on = [*keys, "timestamp"]
    out = busy.join(wait, on=on, how="full", coalesce=True).join(
        counts, on=on, how="full", coalesce=True
    )
    return (
        out.with_columns(
            pl.col("in_use_mean", "waiting_mean").fill_null(0.0),
            pl.col("in_use_max", "waiting_max").fill_null(0),
            pl.col("acquires", "timeouts", "rejected").fill_null(0),
        )
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
        .sort(on)
    )


def _level_by_bucket(st: pl.DataFrame, keys: list[str], every: str, name: str) -> pl.DataFrame:
    """Time-weighted mean and max of a step level per bucket."""
    cols = [*keys, "timestamp", f"{name}_mean", f"{name}_max"]
    if st.is_empty():
        return pl.DataFrame(
            schema={
                **{k: st.schema[k] for k in keys},
                "timestamp": pl.Datetime("us", "UTC"),
                f"{name}_mean": pl.Float64,
                f"{name}_max": pl.Int64,
            }
        )
    at = pl.col("_at").cast(pl.Datetime("us", "UTC"))
    st = st.with_columns(at.dt.truncate(every).alias("timestamp"))
    # boundaries: each bucket from its start holds the level the previous step left
    lo, hi = st["timestamp"].min(), st["_at"].max()
    grid = pl.datetime_range(
        cast(datetime, lo), pl.lit(hi).cast(pl.Datetime("us", "UTC")), every, eager=True
    )
    groups = st.select(keys).unique() if keys else pl.DataFrame({"_one": [1]})
    marks = groups.join(pl.DataFrame({"timestamp": grid}), how="cross")
    marks = (
        marks.with_columns(
            pl.col("timestamp").dt.epoch("us").alias("_at"), pl.lit(None, pl.Int64).alias("_level")
        ).select([*keys, "_at", "_level", "timestamp"])
        if keys
        else marks.with_columns(
            pl.col("timestamp").dt.epoch("us").alias("_at"), pl.lit(None, pl.Int64).alias("_level")
        ).select(["_at", "_level", "timestamp"])
    )
    allp = pl.concat([st.select(marks.columns), marks]).sort([*keys, "_at"])
    fill = pl.col("_level").forward_fill().fill_null(0)
    nxt = pl.col("_at").shift(-1)
    allp = allp.with_columns(fill.over(keys) if keys else fill)
    allp = allp.with_columns(
        ((nxt.over(keys) if keys else nxt) - pl.col("_at")).fill_null(0).alias("_dur")
    )
    width = pl.col("timestamp").dt.offset_by(every).dt.epoch("us") - pl.col("timestamp").dt.epoch(
        "us"
    )
    return (
        allp.group_by([*keys, "timestamp"])
        .agg(
            ((pl.col("_level") * pl.col("_dur")).sum() / width.first()).alias(f"{name}_mean"),
            pl.col("_level").max().alias(f"{name}_max"),
        )
        .select(cols)
    )


def saturation_periods(
    events: FrameLike,
    *,
    min_duration_ms: float = 0.0,
    by: str | list[str] | None = None,
    waited_ms: float = 1.0,
) -> pl.DataFrame:
    """The spans during which requests queued for a connection (the pool was exhausted).

    Parameters
    ----------
    events : frame-like
        :data:`~perflab.pooling.schema.ACQUIRES`.
    min_duration_ms : float
        Shorter spans are left out.
    by : str or list of str, optional
        Group columns (default ``pool`` when present).
    waited_ms : float
        Only requests that waited longer than this queued (handing over an idle
        connection takes microseconds).

    Returns
    -------
    polars.DataFrame
        Keys, ``start``, ``end``, ``duration_ms``, ``waiters`` (requests that waited
        in it), ``max_wait_ms``, ``timeouts``, ``rejected``; longest first.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ev = pl.DataFrame({"start": [t, t], "wait_ms": [0.0, 40.0],
    ...                    "hold_ms": [40.0, 5.0], "outcome": ["ok", "ok"]})
    >>> saturation_periods(ev).select("duration_ms", "waiters").row(0)
    (40.0, 1)
    """
    df = _events(events)
    keys = _keys(df, by)
    schema: dict[str, Any] = {
        **{k: df.schema[k] for k in keys},
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
        "duration_ms": pl.Float64,
        "waiters": pl.UInt32,
        "max_wait_ms": pl.Float64,
        "timeouts": pl.UInt32,
        "rejected": pl.UInt32,
    }
    queued = df.filter(
        (pl.col("wait_ms").fill_null(0) > waited_ms) | (pl.col("outcome") == "rejected")
    )
    if queued.is_empty():
        return pl.DataFrame(schema=schema)
    s = pl.col("start").dt.epoch("us")
    queued = queued.with_columns(
        s.alias("_s"), (s + (pl.col("wait_ms").fill_null(0) * _US).cast(pl.Int64)).alias("_e")
    ).sort([*keys, "_s"])
    prev_end = pl.col("_e").cum_max().shift(1)
    new = (pl.col("_s") > (prev_end.over(keys) if keys else prev_end)).fill_null(True)
    queued = queued.with_columns(new.cast(pl.Int64).alias("_new"))
    gid = pl.col("_new").cum_sum()
    queued = queued.with_columns((gid.over(keys) if keys else gid).alias("_gid"))
    out = (
        queued.group_by([*keys, "_gid"])
        .agg(
            pl.col("_s").min().alias("_s"),
            pl.col("_e").max().alias("_e"),
            (pl.col("wait_ms").fill_null(0) > waited_ms).sum().alias("waiters"),
            pl.col("wait_ms").max().alias("max_wait_ms"),
            (pl.col("outcome") == "timeout").sum().alias("timeouts"),
            (pl.col("outcome") == "rejected").sum().alias("rejected"),
        )
        .with_columns(
            pl.col("_s").cast(pl.Datetime("us", "UTC")).alias("start"),
            pl.col("_e").cast(pl.Datetime("us", "UTC")).alias("end"),
            ((pl.col("_e") - pl.col("_s")) / _US).alias("duration_ms"),
        )
        .filter(pl.col("duration_ms") >= min_duration_ms)
        .sort("duration_ms", descending=True)
    )
    return out.select(list(schema)).cast(schema)  # type: ignore[arg-type]


CEILING: dict[str, Any] = {
    "instances": pl.Int64,
    "max_size": pl.Int64,
    "pool_total": pl.Int64,
    "max_connections": pl.Int64,
    "reserved": pl.Int64,
    "other": pl.Int64,
    "available": pl.Int64,
    "headroom": pl.Int64,
    "exceeded": pl.Boolean,
    "connected_now": pl.Int64,
}
"""Columns of :func:`database_ceiling`."""


def database_ceiling(
    instances: int,
    max_size: int,
    *,
    max_connections: int | None = None,
    dsn: str | None = None,
    reserved: int | None = None,
    other: int = 0,
    timeout_s: float = 5.0,
) -> pl.DataFrame:
    """Can every instance's pool open ``max_size`` connections at once?

    The server accepts ``max_connections`` connections, of which
    ``superuser_reserved_connections`` (``reserved``) are kept for superusers; ``other``
    are taken by clients outside these pools (migrations, cron jobs, a console). If
    ``instances × max_size`` exceeds what is left, a burst that grows every pool to its
    maximum meets ``FATAL: sorry, too many clients already`` instead of a wait.

    Parameters
    ----------
    instances : int
        Application instances (processes) that each hold a pool.
    max_size : int
        Each pool's ``max_size``.
    max_connections : int, optional
        The server's ``max_connections``; read with ``SHOW`` from ``dsn`` when None.
    dsn : str, optional
        A server to read ``max_connections``, ``superuser_reserved_connections`` and
        the connections open now from (never shown in messages).
    reserved : int, optional
        Reserved connections (default: read from ``dsn``, else 3, PostgreSQL's default).
    other : int
        Connections taken by other clients.
    timeout_s : float
        Connect and statement timeout of the live read.

    Returns
    -------
    polars.DataFrame
        One row (:data:`CEILING`): ``pool_total`` (instances × max_size),
        ``available`` (max_connections − reserved − other), ``headroom``
        (available − pool_total; negative when exceeded), ``exceeded``,
        ``connected_now`` (client backends open now; null without ``dsn``).

    Raises
    ------
    PoolError
        ``dsn`` refuses or times out (host:port/db named, never the password).

    Examples
    --------
    >>> c = database_ceiling(6, 20, max_connections=100)
    >>> c.select("pool_total", "headroom", "exceeded").row(0)
    (120, -23, True)
    """
    n, size = positive_int("instances", instances), positive_int("max_size", max_size)
    now = None
    if max_connections is None or (dsn is not None and reserved is None):
        if dsn is None:
            raise ParameterError("give max_connections, or a dsn to read it from")
        live = _server_limits(dsn, timeout_s)
        max_connections = (
            max_connections if max_connections is not None else live["max_connections"]
        )
        reserved = reserved if reserved is not None else live["reserved"]
        now = live["connected_now"]
    elif dsn is not None:
        now = _server_limits(dsn, timeout_s)["connected_now"]
    mc = positive_int("max_connections", max_connections)
    res = 3 if reserved is None else int(reserved)
    if res < 0 or other < 0:
        raise ParameterError("reserved and other must be ≥ 0")
    available = mc - res - int(other)
    total = n * size
    row = {
        "instances": n,
        "max_size": size,
        "pool_total": total,
        "max_connections": mc,
        "reserved": res,
        "other": int(other),
        "available": available,
        "headroom": available - total,
        "exceeded": total > available,
        "connected_now": now,
    }
    return pl.DataFrame([row], schema=CEILING, orient="row")


def _server_limits(dsn: str, timeout_s: float) -> dict[str, int]:
    import psycopg

    from perflab.pooling.pool import PoolError, where

    if not timeout_s > 0 or not math.isfinite(timeout_s):
        raise ParameterError(f"timeout_s must be positive, not {timeout_s!r}")
    try:
        with psycopg.connect(
            dsn,
            connect_timeout=max(1, round(timeout_s)),
            options=f"-c statement_timeout={int(timeout_s * 1000)}",
            autocommit=True,
        ) as conn:
            mc = conn.execute("SHOW max_connections").fetchone()
            rs = conn.execute("SHOW superuser_reserved_connections").fetchone()
            cn = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            ).fetchone()
    except psycopg.Error as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise PoolError(f"cannot read the limits of {where(dsn)}: {reason}") from None
    assert mc is not None and rs is not None and cn is not None
    return {"max_connections": int(mc[0]), "reserved": int(rs[0]), "connected_now": int(cn[0])}


def peak_window(events: FrameLike, *, width: str = "4s", step: str = "1s") -> pl.DataFrame:
    """The acquires of the busiest ``width`` of the capture: the load to size a pool for.

    Windows start every ``step``; the one with the most requests wins (the earliest on
    a tie).

    Parameters
    ----------
    events : frame-like
        :data:`~perflab.pooling.schema.ACQUIRES`.
    width, step : str
        Window length and the grid its start moves on (polars durations).

    Returns
    -------
    polars.DataFrame
        The rows of ``events`` whose ``start`` falls in that window, sorted by start.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> starts = [t, t + timedelta(seconds=5), t + timedelta(seconds=5.5)]
    >>> ev = pl.DataFrame({"start": starts, "wait_ms": [0.0] * 3, "hold_ms": [1.0] * 3,
    ...                    "outcome": ["ok"] * 3})
    >>> peak_window(ev, width="2s").height
    2
    """
    width, step = duration(width, what="width"), duration(step, what="step")
    df = _events(events).sort("start")
    if df.is_empty():
        return df
    lo = df["start"].min()
    hi = cast(datetime, df["start"].max())
    grid = pl.Series(
        pl.datetime_range(cast(datetime, lo), hi, step, eager=True, time_zone="UTC")
    ).dt.truncate(step)
    best, best_n = grid[0], -1
    starts = df["start"]
    for g in grid:
        end = pl.Series([g]).dt.offset_by(width)[0]
        n = int(((starts >= g) & (starts < end)).sum())
        if n > best_n:
            best, best_n = g, n
    end = pl.Series([best]).dt.offset_by(width)[0]
    return df.filter((pl.col("start") >= best) & (pl.col("start") < end))

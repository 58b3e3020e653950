"""What only a log can show: N+1 loops, temp-file producers, lock waits, error rates.

A statistics view (``pg_stat_statements``, PgHero) sums calls; a log keeps their order,
so it shows a session running the same statement forty times in a row (an N+1 loop in
the application), which statement it waited on a lock for, which produced a temp
file, and which failed.

* :func:`detect_n_plus_one` — runs of one fingerprint in one session: consecutive
  (transaction control such as ``BEGIN``/``COMMIT``/``SAVEPOINT`` does not break a run),
  each within ``max_gap_ms`` of the previous one, at least ``min_burst`` long
  (``SET @v = …``, which feeds MySQL's ``EXECUTE … USING @v``, does not break one either). The
  statement the session ran just before the run is its likely source (the query
  whose rows the loop walks).
* :func:`temp_file_producers`, :func:`lock_waits`, :func:`error_rates` — the events of
  :class:`~perflab.queries.read.PostgresLog` by the fingerprint of the statement
  they name.
"""

from __future__ import annotations

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.queries.fingerprint import with_fingerprints
from perflab.queries.patterns import statements_frame
from perflab.queries.schema import EVENTS, N_PLUS_ONE

__all__ = ["detect_n_plus_one", "error_rates", "lock_waits", "temp_file_producers"]

# statements that do not break a run: transaction control, and the user-variable
# assignments that feed MySQL's SQL-level EXECUTE … USING @v
_TX_CONTROL = (
    r"(?i)^\s*(?:begin|start transaction|commit|rollback|end|savepoint|release)\b|^\s*set\s+@"
)


def detect_n_plus_one(
    df: FrameLike,
    *,
    min_burst: int = 10,
    max_gap_ms: float = 1000.0,
    dialect: str | None = None,
) -> pl.DataFrame:
    """Bursts of one statement pattern repeated by one session: the N+1 pattern.

    Parameters
    ----------
    df : frame-like
        A ``STATEMENTS`` frame in log order (a reader's output; concatenate several
        logs in time order).
    min_burst : int
        Fewest repetitions in a row that count as a burst.
    max_gap_ms : float
        Longest pause between two repetitions within a burst.
    dialect : str, optional
        For fingerprinting, when the frame has no fingerprints yet.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.queries.schema.N_PLUS_ONE`, the largest bursts first.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rows = [{"timestamp": t0, "pid": 7, "query": "SELECT id FROM orders WHERE user_id = 3",
    ...          "duration_ms": 1.0}] + [
    ...     {"timestamp": t0 + timedelta(milliseconds=i + 1), "pid": 7, "duration_ms": 0.5,
    ...      "query": f"SELECT * FROM items WHERE order_id = {i}"} for i in range(12)]
    >>> b = detect_n_plus_one(rows)
    >>> b.select("burst_size", "query", "parent_query").row(0)
    (12, 'SELECT * FROM items WHERE order_id = ?', 'SELECT id FROM orders WHERE user_id = ?')
    """
    if min_burst < 2:
        raise ParameterError(f"min_burst must be at least 2, not {min_burst}")
    if not max_gap_ms >= 0:
        raise ParameterError(f"max_gap_ms must be non-negative, not {max_gap_ms}")
    frame = statements_frame(df, dialect=dialect)
    frame = frame.filter(
        (pl.col("protocol") != "aggregate") & ~pl.col("query").str.contains(_TX_CONTROL)
    )
    if frame.height == 0:
        return N_PLUS_ONE.empty()
    key = pl.coalesce(pl.col("session"), pl.col("pid").cast(pl.String)).fill_null("?")
    # log order is execution order within a session (MySQL times are whole seconds plus
    # the query time, so they do not order a session's statements)
    frame = frame.with_row_index("_order").with_columns(key.alias("_key"))
    frame = frame.sort(["_key", "_order"])
    gap_ms = (pl.col("timestamp") - pl.col("timestamp").shift(1)).dt.total_microseconds() / 1000.0
    new_run = (
        (pl.col("fingerprint") != pl.col("fingerprint").shift(1))
        | (pl.col("_key") != pl.col("_key").shift(1))
        | (gap_ms.fill_null(0.0) > max_gap_ms)
    ).fill_null(True)
    frame = frame.with_columns(
        new_run.cum_sum().alias("_run"),
        pl.col("fingerprint").shift(1).alias("_prev_fp"),
        pl.col("pattern").shift(1).alias("_prev_q"),
        (pl.col("_key") == pl.col("_key").shift(1)).fill_null(False).alias("_same"),
    )
    runs = (
        frame.group_by("_run")
        .agg(
            pl.col("fingerprint").first(),
            pl.col("pid").first(),
            pl.col("session").first(),
            pl.len().cast(pl.Int64).alias("burst_size"),
            pl.col("timestamp").min().alias("start"),
            pl.col("timestamp").max().alias("end"),
            pl.col("duration_ms").sum().alias("total_ms"),
            pl.col("pattern").first().alias("query"),
            pl.when(pl.col("_same").first())
            .then(pl.col("_prev_fp").first())
            .alias("parent_fingerprint"),
            pl.when(pl.col("_same").first()).then(pl.col("_prev_q").first()).alias("parent_query"),
            pl.col("application").first(),
        )
        .filter(pl.col("burst_size") >= min_burst)
        .sort(["burst_size", "total_ms"], descending=True)
    )
    return runs.select(N_PLUS_ONE.names).cast(pl.Schema(N_PLUS_ONE.dtypes()))


def _events(events: FrameLike, dialect: str) -> pl.DataFrame:
    frame = EVENTS.conform(as_frame(events), required=("kind",))
    if "fingerprint" in frame.columns:
        return frame
    return with_fingerprints(frame, dialect=dialect).rename({"pattern": "statement_pattern"})


def temp_file_producers(events: FrameLike, *, dialect: str = "postgres") -> pl.DataFrame:
    """Per statement pattern: temp files written, their total and largest size.

    Returns
    -------
    polars.DataFrame
        ``fingerprint, query, temp_files, total_bytes, max_bytes, sample`` — the
        most bytes first; files whose statement the log did not name are grouped
        under a null fingerprint.

    Examples
    --------
    >>> e = [{"kind": "temp_file", "size_bytes": 2_000_000, "query": "SELECT * FROM t ORDER BY 1"}]
    >>> temp_file_producers(e).select("temp_files", "total_bytes").row(0)
    (1, 2000000)
    """
    frame = _events(events, dialect).filter(pl.col("kind") == "temp_file")
    return (
        frame.group_by("fingerprint")
        .agg(
            pl.col("statement_pattern").first().alias("query"),
            pl.len().cast(pl.Int64).alias("temp_files"),
            pl.col("size_bytes").sum().alias("total_bytes"),
            pl.col("size_bytes").max().alias("max_bytes"),
            pl.col("query").first().alias("sample"),
        )
        .sort("total_bytes", descending=True, nulls_last=True)
    )


def lock_waits(events: FrameLike, *, dialect: str = "postgres") -> pl.DataFrame:
    """Per statement pattern: lock waits logged (``log_lock_waits``) and deadlocks.

    A wait is counted once, by its longest report (``still waiting`` after
    ``deadlock_timeout``, then ``acquired`` with the full wait); the next ``still
    waiting`` of the same process on the same lock is another wait.

    Returns
    -------
    polars.DataFrame
        ``fingerprint, query, waits, deadlocks, total_wait_ms, max_wait_ms, locks``
        (the lock kinds waited for), the most waiting first.

    Examples
    --------
    >>> e = [{"kind": "lock_wait", "pid": 7, "duration_ms": 200.0, "object": "ShareLock on "
    ...       "transaction 9", "query": "UPDATE t SET x = 1 WHERE id = 1"},
    ...      {"kind": "lock_acquired", "pid": 7, "duration_ms": 700.0, "object": "ShareLock on "
    ...       "transaction 9", "query": "UPDATE t SET x = 1 WHERE id = 1"}]
    >>> lock_waits(e).select("waits", "total_wait_ms").row(0)
    (1, 700.0)
    """
    frame = _events(events, dialect).filter(
        pl.col("kind").is_in(["lock_wait", "lock_acquired", "deadlock"])
    )
    # one wait = a "still waiting" report and the reports after it (acquired, deadlock)
    # of the same process on the same lock, until the next "still waiting"
    episodes = frame.filter(pl.col("kind") != "deadlock").with_columns(
        (pl.col("kind") == "lock_wait").cast(pl.Int64).cum_sum().over("pid", "object").alias("_w")
    )
    waits = (
        episodes.group_by("fingerprint", "pid", "object", "_w")
        .agg(
            pl.col("duration_ms").max().alias("wait_ms"),
            pl.col("statement_pattern").first(),
            pl.col("object").str.extract(r"^(\w+)", 1).first().alias("lock"),
        )
        .group_by("fingerprint")
        .agg(
            pl.col("statement_pattern").first().alias("query"),
            pl.len().cast(pl.Int64).alias("waits"),
            pl.col("wait_ms").sum().alias("total_wait_ms"),
            pl.col("wait_ms").max().alias("max_wait_ms"),
            pl.col("lock").drop_nulls().unique().sort().alias("locks"),
        )
    )
    deadlocks = (
        frame.filter(pl.col("kind") == "deadlock")
        .group_by("fingerprint")
        .agg(
            pl.col("statement_pattern").first().alias("_q"),
            pl.len().cast(pl.Int64).alias("deadlocks"),
        )
    )
    out = waits.join(deadlocks, on="fingerprint", how="full", coalesce=True, nulls_equal=True)
    return (
        out.with_columns(
            pl.coalesce("query", "_q").alias("query"),
            pl.col("waits").fill_null(0),
            pl.col("deadlocks").fill_null(0),
            pl.col("total_wait_ms").fill_null(0.0),
        )
        .select(
            "fingerprint", "query", "waits", "deadlocks", "total_wait_ms", "max_wait_ms", "locks"
        )
        .sort(["total_wait_ms", "deadlocks"], descending=True)
    )


def error_rates(
    events: FrameLike, patterns: FrameLike | None = None, *, dialect: str = "postgres"
) -> pl.DataFrame:
    """Per statement pattern: errors, the error seen, and the share of calls that failed.

    Parameters
    ----------
    events : frame-like
        ``EVENTS``; ``error``, ``fatal`` and ``deadlock`` rows count.
    patterns : frame-like, optional
        :func:`~perflab.queries.query_patterns` output, for the rate: a failed
        statement has no ``duration`` line, so rate = errors / (errors + calls).

    Returns
    -------
    polars.DataFrame
        ``fingerprint, query, errors, sqlstate, message, calls, error_rate``, the most
        errors first.

    Examples
    --------
    >>> e = [{"kind": "error", "message": "division by zero", "query": "SELECT 1/0"}]
    >>> error_rates(e).select("errors", "message").row(0)
    (1, 'division by zero')
    """
    frame = _events(events, dialect).filter(pl.col("kind").is_in(["error", "fatal", "deadlock"]))
    out = frame.group_by("fingerprint").agg(
        pl.col("statement_pattern").first().alias("query"),
        pl.len().cast(pl.Int64).alias("errors"),
        pl.col("sqlstate").drop_nulls().first(),
        pl.col("message").first(),
    )
    if patterns is not None:
        p = as_frame(patterns).select("fingerprint", "calls")
        out = out.join(p, on="fingerprint", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("calls"))
    return out.with_columns(
        (pl.col("errors") / (pl.col("errors") + pl.col("calls").fill_null(0))).alias("error_rate")
    ).sort(["errors", "fingerprint"], descending=[True, False], nulls_last=True)

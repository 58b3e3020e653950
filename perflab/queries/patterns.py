"""The workload by pattern: where the database time goes, and the slowest statements.

:func:`query_patterns` is pgBadger's and pt-query-digest's report table as a frame —
per fingerprint: calls, total time and its share, mean/p50/p95/p99/max, parse+bind
time, rows, first/last seen, who ran it, and the slowest execution with its literals.
Percentiles come from :func:`perflab.groupstats.group_stats` (linear, type 7), over
the statements that carry a duration; ``pg_stat_statements`` rows (``protocol ==
"aggregate"``) add their calls and total time but have no per-call durations, so a
pattern known only from them has null percentiles and its mean is total / calls.
"""

from __future__ import annotations

import logging

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.groupstats import group_stats
from perflab.queries.fingerprint import with_fingerprints
from perflab.queries.schema import PATTERNS, SLOW, STATEMENTS

__all__ = ["detect_slow_queries", "query_patterns", "statement_durations", "statements_frame"]

logger = logging.getLogger(__name__)

_QS = (0.5, 0.95, 0.99)


def statements_frame(df: FrameLike, *, dialect: str | None = None) -> pl.DataFrame:
    """``df`` as a validated ``STATEMENTS`` frame with fingerprints.

    ``query`` and ``duration_ms`` are required; other columns a frame lacks are added
    (``calls`` 1, ``protocol`` ``"simple"``, the rest null). Fingerprints already
    present are kept; otherwise they are computed, in the
    dialect given or guessed (MySQL when the frame has ``rows_examined`` values and no
    ``parameters``, else PostgreSQL).

    Examples
    --------
    >>> f = statements_frame([{"query": "SELECT 1", "duration_ms": 2.0}])
    >>> f.select("query", "fingerprint", "calls").row(0)
    ('SELECT 1', 'c148796e1220075a', 1)
    """
    raw = as_frame(df)
    if raw.width == 0:
        raw = STATEMENTS.empty()
    frame = STATEMENTS.conform(
        raw,
        required=("query", "duration_ms"),
        defaults={"calls": 1, "protocol": "simple"},
    )
    if "fingerprint" in frame.columns and "pattern" in frame.columns:
        return frame
    return with_fingerprints(frame, dialect=dialect or _guess_dialect(frame))


def _guess_dialect(frame: pl.DataFrame) -> str:
    mysql = frame.get_column("rows_examined").null_count() < frame.height
    return (
        "mysql"
        if mysql and frame.get_column("parameters").null_count() == frame.height
        else ("postgres")
    )


def query_patterns(df: FrameLike, *, dialect: str | None = None) -> pl.DataFrame:
    """Per fingerprint, what the workload spends: calls, time, percentiles, who, samples.

    Parameters
    ----------
    df : frame-like
        A ``STATEMENTS`` frame (any reader's output; fingerprints are added if absent).
    dialect : {"postgres", "mysql"}, optional
        For fingerprinting; guessed from the frame when not given.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.queries.schema.PATTERNS`, one row per fingerprint, the most
        time first. ``share_pct`` is the pattern's share of the total time of all
        patterns; ``sample`` is the slowest execution as logged (with its
        ``sample_parameters`` for the extended protocol).

    Examples
    --------
    >>> rows = [{"query": f"SELECT name FROM users WHERE id = {i}", "duration_ms": float(i)}
    ...         for i in range(1, 5)] + [{"query": "SELECT 1", "duration_ms": 10.0}]
    >>> query_patterns(rows).select("query", "calls", "total_ms", "share_pct", "p95_ms")
    shape: (2, 5)
    ┌─────────────────────────────────┬───────┬──────────┬───────────┬────────┐
    │ query                           ┆ calls ┆ total_ms ┆ share_pct ┆ p95_ms │
    │ ---                             ┆ ---   ┆ ---      ┆ ---       ┆ ---    │
    │ str                             ┆ i64   ┆ f64      ┆ f64       ┆ f64    │
    ╞═════════════════════════════════╪═══════╪══════════╪═══════════╪════════╡
    │ SELECT name FROM users WHERE i… ┆ 4     ┆ 10.0     ┆ 50.0      ┆ 3.85   │
    │ SELECT ?                        ┆ 1     ┆ 10.0     ┆ 50.0      ┆ 10.0   │
    └─────────────────────────────────┴───────┴──────────┴───────────┴────────┘
    """
    frame = statements_frame(df, dialect=dialect)
    if frame.height == 0:
        return PATTERNS.empty()
    timed = frame.filter(
        pl.col("duration_ms").is_not_null()
        & pl.col("duration_ms").is_finite()
        & (pl.col("protocol") != "aggregate")
    )
    stats = group_stats(
        timed.select("fingerprint", "duration_ms"),
        ["fingerprint"],
        value="duration_ms",
        quantiles=_QS,
    ).select(
        "fingerprint",
        pl.col("p50").alias("p50_ms"),
        pl.col("p95").alias("p95_ms"),
        pl.col("p99").alias("p99_ms"),
    )
    by_fp = frame.group_by("fingerprint").agg(
        pl.col("pattern").first().alias("query"),
        pl.col("calls").fill_null(1).sum().alias("calls"),
        pl.col("duration_ms").sum().alias("total_ms"),
        pl.col("duration_ms").is_not_null().any().alias("_timed"),
        _max_ms(frame).alias("max_ms"),
        pl.col("prepare_ms").sum().alias("prepare_ms"),
        pl.when(pl.col("rows").is_not_null().any()).then(pl.col("rows").sum()).alias("rows"),
        pl.col("timestamp").min().alias("first_seen"),
        pl.col("timestamp").max().alias("last_seen"),
        *(_names(c).alias(f"{c}s") for c in ("database", "user", "application")),
        # the slowest single execution (a pg_stat_statements total is not one)
        pl.col("query").sort_by(_per_call().fill_null(-1.0)).last().alias("sample"),
        pl.col("parameters").sort_by(_per_call().fill_null(-1.0)).last().alias("sample_parameters"),
        _per_call().max().alias("sample_ms"),
        pl.col("parsed").first().alias("parsed"),
    )
    grand = by_fp.get_column("total_ms").sum()
    out = (
        by_fp.join(stats, on="fingerprint", how="left")
        .with_columns(
            pl.when(pl.col("_timed")).then(pl.col("total_ms")).alias("total_ms"),
        )
        .with_columns(
            (pl.col("total_ms") / pl.col("calls")).alias("mean_ms"),
            (pl.col("total_ms") / grand * 100.0 if grand else pl.lit(None, pl.Float64)).alias(
                "share_pct"
            ),
        )
        .sort(["total_ms", "calls", "fingerprint"], descending=[True, True, False], nulls_last=True)
    )
    return out.select(PATTERNS.names).cast(pl.Schema(PATTERNS.dtypes()))


def _per_call() -> pl.Expr:
    """The duration of one execution (null for a pg_stat_statements total)."""
    return pl.when(pl.col("protocol") != "aggregate").then(pl.col("duration_ms"))


def _max_ms(frame: pl.DataFrame) -> pl.Expr:
    """The largest single execution: of the log, else pg_stat_statements' ``max_ms``."""
    logged = _per_call().max()
    if "max_ms" in frame.columns:
        view = pl.when(pl.col("protocol") == "aggregate").then(pl.col("max_ms")).max()
        return pl.max_horizontal(logged, view)
    return logged


def _names(column: str) -> pl.Expr:
    return pl.col(column).drop_nulls().unique().sort()


def detect_slow_queries(
    df: FrameLike, threshold_ms: float = 1000.0, *, dialect: str | None = None
) -> pl.DataFrame:
    """Statements that took at least ``threshold_ms``, slowest first.

    The seed's ``detectSlowQuery``: every execution over the threshold, with its
    fingerprint, so a slow outlier of a fast pattern is seen as well as the always
    slow ones.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.queries.schema.SLOW`.

    Examples
    --------
    >>> rows = [{"query": "SELECT pg_sleep(2)", "duration_ms": 2001.0},
    ...         {"query": "SELECT 1", "duration_ms": 0.1}]
    >>> detect_slow_queries(rows, 500)["duration_ms"].to_list()
    [2001.0]
    """
    if not threshold_ms >= 0:
        raise ParameterError(f"threshold_ms must be a non-negative number, not {threshold_ms}")
    frame = statements_frame(df, dialect=dialect)
    slow = frame.filter(
        (pl.col("duration_ms") >= threshold_ms) & (pl.col("protocol") != "aggregate")
    ).sort("duration_ms", descending=True)
    return slow.select(SLOW.names).cast(pl.Schema(SLOW.dtypes()))


def statement_durations(
    statements: FrameLike,
    patterns: FrameLike,
    *,
    top: int = 50,
    per_pattern: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """The raw durations of the costliest patterns, for testing them between two runs.

    What 02-queries keeps with a run so that ``perflab compare`` can test each pattern
    (:func:`perflab.report.compare.compare_query_patterns`): the statements of the
    ``top`` patterns by total time, at most ``per_pattern`` of each (a seeded random
    sample, so a run's frame stays small whatever the log's size).

    Parameters
    ----------
    statements : frame-like
        :func:`statements_frame` of the log (``fingerprint``, ``pattern``,
        ``timestamp``, ``duration_ms``).
    patterns : frame-like
        :func:`query_patterns` of the same statements, costliest first.
    top, per_pattern : int
        How many patterns, and at most how many statements of each.
    seed : int
        Seed of the sample.

    Returns
    -------
    polars.DataFrame
        ``fingerprint, pattern, timestamp, duration_ms``; statements without a
        duration are left out.

    Examples
    --------
    >>> s = pl.DataFrame({"fingerprint": ["a"] * 3 + ["b"], "pattern": ["A"] * 3 + ["B"],
    ...     "timestamp": [None] * 4, "duration_ms": [1.0, 2.0, 3.0, 9.0]})
    >>> p = pl.DataFrame({"fingerprint": ["b", "a"]})
    >>> statement_durations(s, p, top=1).get_column("duration_ms").to_list()
    [9.0]
    >>> statement_durations(s, p, per_pattern=2).height
    3
    """
    for name, value in (("top", top), ("per_pattern", per_pattern)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ParameterError(f"{name} must be a positive integer, not {value!r}")
    costliest = as_frame(patterns).head(top).get_column("fingerprint").implode()
    return (
        as_frame(statements)
        .filter(pl.col("fingerprint").is_in(costliest) & pl.col("duration_ms").is_not_null())
        .filter(pl.int_range(pl.len()).shuffle(seed=seed).over("fingerprint") < per_pattern)
        .select("fingerprint", "pattern", "timestamp", "duration_ms")
    )

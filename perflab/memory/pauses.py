"""Garbage-collection pause statistics: how often, how long, and what share of the run.

:func:`gc_pauses` summarises :data:`~perflab.memory.schema.GC_EVENTS` per kind of
collection (V8 ``scavenge`` / ``mark-compact`` …, CPython ``gen0`` … ``gen2``) plus one
``all`` row. Percentiles are perflab's one method (linear interpolation, numpy's
default; see :mod:`perflab.stats`).

Wall time, the denominator of the pause share, is ``wall_s`` when given, else the span
the events cover: from the start of the first collection to the end of the last one
(``elapsed_s``, or ``timestamp`` when ``elapsed_s`` is null, plus the last pause). That
span leaves out the time before the first and after the last collection, so the share
it gives is an upper bound — pass ``wall_s`` (the run's length) when it is known. With
very few events the span is short and the share is not meaningful; the ``events`` and
``wall_s`` columns say what it rests on.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, Schema, as_frame
from perflab.memory.schema import GC_EVENTS
from perflab.stats import quantile_exprs

__all__ = ["PAUSES", "gc_pauses"]

PAUSES = Schema(
    "gc pauses",
    {
        "kind": pl.String,
        "count": pl.Int64,
        "total_ms": pl.Float64,
        "mean_ms": pl.Float64,
        "p50_ms": pl.Float64,
        "p95_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "max_ms": pl.Float64,
        "wall_s": pl.Float64,
        "pause_share_pct": pl.Float64,
        "freed_bytes": pl.Float64,
        "mutator_util_mean": pl.Float64,
    },
)
"""Output of :func:`gc_pauses`, one row per group and one ``all`` row.

=================  =====  ======================================================
column             dtype  meaning
=================  =====  ======================================================
kind               str    the kind of collection, or ``all``
count              i64    collections
total_ms           f64    summed pause, ms
mean_ms            f64    mean pause, ms
p50_ms … p99_ms    f64    pause percentiles (linear interpolation), ms
max_ms             f64    longest pause, ms
wall_s             f64    the wall time the share is taken of, s
pause_share_pct    f64    ``total_ms / (1000 · wall_s) · 100``; null without wall
freed_bytes        f64    Σ (before − after) over the collections where both are
                          known; null when never known
mutator_util_mean  f64    mean of V8's mutator utilisation where known; else null
=================  =====  ======================================================

With ``by`` other than ``"kind"`` the group columns come first (``kind`` is kept
when it is one of them).
"""

_IN = GC_EVENTS.subset("kind", "pause_ms")
_OPTIONAL = ("elapsed_s", "timestamp", "before_bytes", "after_bytes", "mutator_util")


def _wall_s(df: pl.DataFrame) -> float | None:
    """The span from the first collection's start to the last one's end, in seconds."""
    pause_s = pl.col("pause_ms").fill_null(0.0) / 1000.0
    if df["elapsed_s"].null_count() < df.height:
        span = df.select(
            ((pl.col("elapsed_s") + pause_s).max() - pl.col("elapsed_s").min()).alias("s")
        ).item()
        return None if span is None else float(span)
    if df["timestamp"].null_count() < df.height:
        start = pl.col("timestamp").min()
        end = (pl.col("timestamp") + pl.duration(microseconds=pause_s * 1e6)).max()
        span = df.select(((end - start).dt.total_microseconds() / 1e6).alias("s")).item()
        return None if span is None else float(span)
    return None


def gc_pauses(
    events: FrameLike, *, by: str | Sequence[str] = "kind", wall_s: float | None = None
) -> pl.DataFrame:
    """Pause statistics of garbage collections per kind, and for all of them.

    Parameters
    ----------
    events : frame-like
        :data:`~perflab.memory.schema.GC_EVENTS`; only ``kind`` and ``pause_ms`` are
        required (``elapsed_s``/``timestamp`` give the wall time, ``before_bytes`` and
        ``after_bytes`` the freed bytes, ``mutator_util`` the utilisation). pandas is
        accepted.
    by : str or sequence of str
        Group columns (default ``"kind"``); an ``all`` row is added whose string group
        columns read ``"all"`` (others null).
    wall_s : float, optional
        The run's wall time in seconds. Default: the span of the events (first
        collection's start to the last one's end), an upper bound of the share.

    Returns
    -------
    polars.DataFrame
        :data:`PAUSES`; groups by total pause, longest first, then the ``all`` row.
        Empty input gives an empty frame with these columns.

    Examples
    --------
    >>> ev = pl.DataFrame({"elapsed_s": [1.0, 2.0, 3.0, 9.9], "kind": ["scavenge",
    ...     "scavenge", "scavenge", "mark-compact"], "pause_ms": [2.0, 4.0, 3.0, 100.0]})
    >>> gc_pauses(ev).select("kind", "count", "total_ms", "max_ms",
    ...     pl.col("pause_share_pct").round(1))
    shape: (3, 5)
    ┌──────────────┬───────┬──────────┬────────┬─────────────────┐
    │ kind         ┆ count ┆ total_ms ┆ max_ms ┆ pause_share_pct │
    │ ---          ┆ ---   ┆ ---      ┆ ---    ┆ ---             │
    │ str          ┆ i64   ┆ f64      ┆ f64    ┆ f64             │
    ╞══════════════╪═══════╪══════════╪════════╪═════════════════╡
    │ mark-compact ┆ 1     ┆ 100.0    ┆ 100.0  ┆ 1.1             │
    │ scavenge     ┆ 3     ┆ 9.0      ┆ 4.0    ┆ 0.1             │
    │ all          ┆ 4     ┆ 109.0    ┆ 100.0  ┆ 1.2             │
    └──────────────┴───────┴──────────┴────────┴─────────────────┘
    """
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ParameterError("by needs at least one column")
    if wall_s is not None and not wall_s > 0:
        raise ParameterError(f"wall_s must be positive, not {wall_s}")
    df = as_frame(events, _IN)
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise ParameterError(f"gc events have no column(s) {missing} to group by")
    df = df.with_columns(
        pl.lit(None, GC_EVENTS.columns[c]).alias(c) for c in _OPTIONAL if c not in df.columns
    )
    df = GC_EVENTS.subset("kind", "pause_ms", *_OPTIONAL).validate(df)
    key_types = {k: df.schema[k] for k in keys}
    columns = [*keys, *(c for c in PAUSES.names if c not in keys)]
    dtypes = {**PAUSES.columns, **key_types}
    if df.height == 0:
        return pl.DataFrame(schema={c: dtypes[c] for c in columns})
    wall = float(wall_s) if wall_s is not None else _wall_s(df)
    freed = pl.col("before_bytes") - pl.col("after_bytes")
    aggs = [
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("pause_ms").sum().alias("total_ms"),
        pl.col("pause_ms").mean().alias("mean_ms"),
        *quantile_exprs("pause_ms", (0.5, 0.95, 0.99)),
        pl.col("pause_ms").max().alias("max_ms"),
        pl.when(freed.is_not_null().any()).then(freed.sum()).alias("freed_bytes"),
        pl.col("mutator_util").mean().alias("mutator_util_mean"),
    ]
    groups = (
        df.group_by(keys)
        .agg(aggs)
        .sort(["total_ms", *keys], descending=[True] + [False] * len(keys), nulls_last=True)
    )
    total = df.select(aggs).with_columns(
        (pl.lit("all") if key_types[k] == pl.String else pl.lit(None, key_types[k])).alias(k)
        for k in keys
    )
    out = pl.concat([groups, total.select(groups.columns)])
    out = out.rename({f"p{q}": f"p{q}_ms" for q in (50, 95, 99)}).with_columns(
        pl.lit(wall, pl.Float64).alias("wall_s"),
        (pl.col("total_ms") / (10.0 * wall) if wall else pl.lit(None, pl.Float64)).alias(
            "pause_share_pct"
        ),
    )
    if "kind" not in keys:
        is_all = pl.int_range(pl.len()) == pl.len() - 1
        out = out.with_columns(pl.when(is_all).then(pl.lit("all")).alias("kind"))
    return out.select(columns).cast({c: dtypes[c] for c in columns})

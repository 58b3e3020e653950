"""The queries notebook's charts: where the database time goes, and when.

They build on the shared theme and helpers of :mod:`perflab.charts`; each takes an
analysed frame (patterns, statements by window, bursts), never raw log lines.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from perflab.charts import PALETTE
from perflab.frames import FrameLike, as_frame
from perflab.times import duration

__all__ = ["calls_over_time", "label_patterns", "pattern_map", "time_by_pattern"]


def label_patterns(df: pl.DataFrame, *, width: int = 60) -> pl.DataFrame:
    """Add ``label``: the pattern cut to ``width`` characters, with its fingerprint's start.

    Examples
    --------
    >>> label_patterns(pl.DataFrame({"fingerprint": ["0123456789abcdef"],
    ...     "query": ["SELECT a FROM t"]}))["label"][0]
    'SELECT a FROM t  [0123]'
    """
    q = pl.col("query").fill_null("").str.replace_all(r"\s+", " ")
    short = pl.when(q.str.len_chars() > width).then(q.str.slice(0, width - 1) + "…").otherwise(q)
    return df.with_columns(
        pl.concat_str(
            [short, pl.lit("  ["), pl.col("fingerprint").str.slice(0, 4), pl.lit("]")]
        ).alias("label")
    )


def time_by_pattern(
    patterns: FrameLike, *, top: int = 15, title: str = "Where the time goes"
) -> alt.Chart:
    """Horizontal bars of total time per pattern (the ``top`` patterns), share in the tooltip.

    Parameters
    ----------
    patterns : frame-like
        :func:`~perflab.queries.query_patterns` output.

    Examples
    --------
    >>> p = pl.DataFrame({"fingerprint": ["a1", "b2"], "query": ["SELECT 1", "SELECT 2"],
    ...     "total_ms": [90.0, 10.0], "share_pct": [90.0, 10.0], "calls": [3, 1],
    ...     "mean_ms": [30.0, 10.0], "p95_ms": [40.0, 10.0]})
    >>> time_by_pattern(p).to_dict()["mark"]["type"]
    'bar'
    """
    df = label_patterns(
        as_frame(patterns)
        .filter(pl.col("total_ms").is_not_null())
        .sort("total_ms", descending=True)
        .head(top)
    ).select("label", "fingerprint", "query", "total_ms", "share_pct", "calls", "mean_ms", "p95_ms")
    order = df.get_column("label").to_list()
    return (
        alt.Chart(df)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("total_ms:Q", title="total time (ms)"),
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=420)),
            tooltip=[
                alt.Tooltip("query:N", title="pattern"),
                alt.Tooltip("fingerprint:N"),
                alt.Tooltip("total_ms:Q", title="total ms", format=",.1f"),
                alt.Tooltip("share_pct:Q", title="share %", format=".1f"),
                alt.Tooltip("calls:Q", format=","),
                alt.Tooltip("mean_ms:Q", title="mean ms", format=",.2f"),
                alt.Tooltip("p95_ms:Q", title="p95 ms", format=",.2f"),
            ],
        )
        .properties(width=520, height=max(120, 22 * df.height), title=title)
    )


def pattern_map(patterns: FrameLike, *, title: str = "Calls against time per call") -> alt.Chart:
    """Each pattern as a bubble: calls (x, log) against mean time (y, log), sized by total.

    Frequent-and-cheap patterns sit bottom right, rare-and-slow ones top left; the big
    bubbles are where the time goes whichever corner they are in.

    Examples
    --------
    >>> p = pl.DataFrame({"fingerprint": ["a1"], "query": ["SELECT 1"], "total_ms": [9.0],
    ...     "share_pct": [100.0], "calls": [3], "mean_ms": [3.0], "p95_ms": [4.0]})
    >>> pattern_map(p).to_dict()["encoding"]["x"]["scale"]["type"]
    'log'
    """
    df = label_patterns(
        as_frame(patterns).filter(
            pl.col("total_ms").is_not_null() & (pl.col("mean_ms") > 0) & (pl.col("calls") > 0)
        )
    ).select("label", "query", "fingerprint", "calls", "mean_ms", "total_ms", "share_pct")
    return (
        alt.Chart(df)
        .mark_circle(opacity=0.6, color=PALETTE[1], stroke="#111827", strokeWidth=0.5)
        .encode(
            x=alt.X("calls:Q", scale=alt.Scale(type="log"), title="calls (log scale)"),
            y=alt.Y("mean_ms:Q", scale=alt.Scale(type="log"), title="mean time per call (ms, log)"),
            size=alt.Size("total_ms:Q", title="total ms", scale=alt.Scale(range=[20, 1600])),
            tooltip=[
                alt.Tooltip("query:N", title="pattern"),
                alt.Tooltip("calls:Q", format=","),
                alt.Tooltip("mean_ms:Q", title="mean ms", format=",.2f"),
                alt.Tooltip("total_ms:Q", title="total ms", format=",.1f"),
                alt.Tooltip("share_pct:Q", title="share %", format=".1f"),
            ],
        )
        .properties(width=560, height=320, title=title)
        .interactive()
    )


def calls_over_time(
    statements: FrameLike,
    patterns: FrameLike,
    *,
    every: str = "1m",
    top: int = 6,
    title: str = "Statements over time, by pattern",
) -> alt.Chart:
    """Calls per window of the ``top`` patterns (by total time), the rest as "other".

    Parameters
    ----------
    statements : frame-like
        Statements with ``timestamp`` and ``fingerprint`` (for example
        :func:`~perflab.queries.statements_frame` output).
    patterns : frame-like
        :func:`~perflab.queries.query_patterns` output, for the top patterns.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> s = pl.DataFrame({"timestamp": [datetime(2026, 1, 1, tzinfo=UTC)],
    ...     "fingerprint": ["a1"], "calls": [1]})
    >>> p = pl.DataFrame({"fingerprint": ["a1"], "query": ["SELECT 1"], "total_ms": [1.0]})
    >>> calls_over_time(s, p).to_dict()["mark"]["type"]
    'area'
    """
    step = duration(every)
    ranked = as_frame(patterns).sort("total_ms", descending=True, nulls_last=True)
    top_fp = label_patterns(ranked.head(top), width=48).select("fingerprint", "label")
    frame = as_frame(statements)
    if "calls" not in frame.columns:
        frame = frame.with_columns(pl.lit(1, pl.Int64).alias("calls"))
    frame = (
        frame.filter(pl.col("timestamp").is_not_null())
        .join(top_fp, on="fingerprint", how="left")
        .with_columns(pl.col("label").fill_null("other"))
        .group_by(pl.col("timestamp").dt.truncate(step).alias("window"), "label")
        .agg(pl.col("calls").fill_null(1).sum().alias("calls"))
        .sort("window", "label")
    )
    return (
        alt.Chart(frame)
        .mark_area(interpolate="step-after", opacity=0.85)
        .encode(
            x=alt.X("window:T", title=None),
            y=alt.Y("calls:Q", stack=True, title=f"calls per {every}"),
            color=alt.Color(
                "label:N", title=None, legend=alt.Legend(orient="bottom", columns=1, labelLimit=500)
            ),
            tooltip=[
                alt.Tooltip("window:T", format="%H:%M:%S"),
                "label:N",
                alt.Tooltip("calls:Q", format=","),
            ],
        )
        .properties(width=640, height=220, title=title)
        .add_params(alt.selection_interval(bind="scales", encodings=["x"]))
    )

"""The pooling notebook's charts: the pool over time, and the what-if curve.

They build on the shared theme of :mod:`perflab.charts`; each takes an analysis's
output, never a file. Wait distributions use :func:`perflab.charts.distribution`.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from perflab.charts import PALETTE
from perflab.frames import FrameLike, as_frame

__all__ = ["SOURCE_COLORS", "pool_over_time", "what_if_chart"]

SOURCE_COLORS = {"erlang_c": PALETTE[0], "simulation": PALETTE[1], "measured": PALETTE[3]}
"""The colour of each curve of :func:`what_if_chart`."""


def pool_over_time(
    timeline: FrameLike, *, max_size: int | None = None, title: str = "The pool over time"
) -> alt.LayerChart | alt.FacetChart:
    """Connections in use (mean and peak per bucket) and requests waiting, over time.

    Parameters
    ----------
    timeline : frame-like
        :func:`~perflab.pooling.pool_timeline` output.
    max_size : int, optional
        Draws the pool's ``max_size`` as a dashed line.
    title : str
        The chart's title.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> tl = pl.DataFrame({"timestamp": [datetime(2026, 1, 1, tzinfo=UTC)],
    ...     "in_use_mean": [1.5], "in_use_max": [3], "waiting_max": [2]})
    >>> pool_over_time(tl, max_size=4).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    df = as_frame(timeline)
    long = df.select(
        "timestamp",
        pl.col("in_use_mean").alias("in use (mean)"),
        pl.col("in_use_max").cast(pl.Float64).alias("in use (peak)"),
        pl.col("waiting_max").cast(pl.Float64).alias("waiting (peak)"),
    ).unpivot(index="timestamp", variable_name="series", value_name="connections")
    x = alt.X("timestamp:T", title=None, axis=alt.Axis(format="%H:%M:%S"))
    layers: list[alt.Chart] = [
        alt.Chart(long)
        .mark_line(interpolate="step-after", strokeWidth=1.5)
        .encode(
            x=x,
            y=alt.Y("connections:Q", title="connections / requests"),
            color=alt.Color("series:N", title=None, scale=alt.Scale(range=PALETTE[:3])),
            tooltip=[
                alt.Tooltip("timestamp:T", format="%H:%M:%S"),
                alt.Tooltip("series:N"),
                alt.Tooltip("connections:Q", format=",.2f"),
            ],
        )
    ]
    if max_size is not None:
        layers.append(
            alt.Chart(pl.DataFrame({"max_size": [float(max_size)]}))
            .mark_rule(strokeDash=[4, 3], color="#6b7280")
            .encode(y="max_size:Q", tooltip=[alt.Tooltip("max_size:Q", title="max_size")])
        )
    return alt.layer(*layers).properties(width=640, height=230, title=title)


def what_if_chart(
    curves: FrameLike,
    *,
    measured: FrameLike | None = None,
    value: str = "p99_wait_ms",
    target_ms: float | None = None,
    current_size: int | None = None,
    title: str = "Pool size against p99 acquire wait",
) -> alt.LayerChart | alt.FacetChart:
    """The what-if curve: a line per ``source`` (Erlang C, simulation), measured points.

    Parameters
    ----------
    curves : frame-like
        Rows of :func:`~perflab.pooling.erlang_table` and/or
        :func:`~perflab.pooling.what_if` (``size``, ``value``, ``source``).
    measured : frame-like, optional
        :func:`~perflab.pooling.benchmark_pool` output: its ``wait_p99_ms`` (or the
        column named like ``value`` with ``p99_wait_ms`` → ``wait_p99_ms``) as points.
    value : str
        The curve's column (``p99_wait_ms``, ``p95_wait_ms``, ``mean_wait_ms``).
    target_ms : float, optional
        A dashed line at the target wait.
    current_size : int, optional
        A vertical rule at the pool's present size.
    title : str
        The chart's title.

    Examples
    --------
    >>> c = pl.DataFrame({"size": [4, 5], "p99_wait_ms": [40.0, 10.0],
    ...                   "source": ["erlang_c"] * 2})
    >>> what_if_chart(c, target_ms=10).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    df = as_frame(curves).select("size", pl.col(value).cast(pl.Float64).alias("wait_ms"), "source")
    if measured is not None:
        m = as_frame(measured)
        col = value if value in m.columns else "wait_" + value.replace("_wait_ms", "_ms")
        if col == "wait_mean_ms" or value == "mean_wait_ms":
            col = "wait_mean_ms"
        df = pl.concat(
            [
                df,
                m.select(
                    "size",
                    pl.col(col).cast(pl.Float64).alias("wait_ms"),
                    pl.lit("measured").alias("source"),
                ),
            ]
        )
    df = df.filter(pl.col("wait_ms").is_finite())
    color = alt.Color(
        "source:N",
        title=None,
        scale=alt.Scale(domain=list(SOURCE_COLORS), range=list(SOURCE_COLORS.values())),
    )
    y = alt.Y("wait_ms:Q", title=value.replace("_", " "), scale=alt.Scale(type="symlog"))
    tooltip = [
        alt.Tooltip("source:N"),
        alt.Tooltip("size:Q"),
        alt.Tooltip("wait_ms:Q", format=",.2f"),
    ]
    lines = (
        alt.Chart(df.filter(pl.col("source") != "measured"))
        .mark_line(point=True, strokeWidth=1.8)
        .encode(
            x=alt.X("size:Q", title="pool size (connections)"), y=y, color=color, tooltip=tooltip
        )
    )
    layers: list[alt.Chart] = [lines]
    pts = df.filter(pl.col("source") == "measured")
    if pts.height:
        layers.append(
            alt.Chart(pts)
            .mark_point(size=90, filled=True, shape="diamond")
            .encode(x="size:Q", y=y, color=color, tooltip=tooltip)
        )
    if target_ms is not None:
        layers.append(
            alt.Chart(pl.DataFrame({"target": [float(target_ms)]}))
            .mark_rule(strokeDash=[4, 3], color="#16a34a")
            .encode(y="target:Q", tooltip=[alt.Tooltip("target:Q", title="target (ms)")])
        )
    if current_size is not None:
        layers.append(
            alt.Chart(pl.DataFrame({"size": [current_size]}))
            .mark_rule(color="#6b7280")
            .encode(x="size:Q", tooltip=[alt.Tooltip("size:Q", title="current max_size")])
        )
    return alt.layer(*layers).properties(width=560, height=280, title=title)

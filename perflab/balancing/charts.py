"""The balancing notebook's charts, on the shared theme of :mod:`perflab.charts`.

Each takes a frame (a trace, a simulation summary or its per-backend load), never a file.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from perflab.balancing.schema import LOAD, RESULTS, TRACE
from perflab.frames import FrameLike, as_frame

__all__ = ["backend_load", "strategy_latency", "traffic_over_time"]


def traffic_over_time(trace: FrameLike, *, bucket_s: float = 1.0) -> alt.VConcatChart:
    """Requests per second and p95 service time per backend, over the trace.

    Examples
    --------
    >>> tr = pl.DataFrame({"time_s": [0.0, 0.5, 1.2], "service_ms": [4.0, 5.0, 9.0],
    ...                    "backend": ["a", "b", "a"]})
    >>> type(traffic_over_time(tr)).__name__
    'VConcatChart'
    """
    df = TRACE.conform(as_frame(trace), required=["time_s", "service_ms", "backend"])
    per = (
        df.filter(pl.col("backend").is_not_null())
        .with_columns(((pl.col("time_s") / bucket_s).floor() * bucket_s).alias("t"))
        .group_by("t", "backend")
        .agg(
            (pl.len() / bucket_s).alias("rps"),
            pl.col("service_ms").quantile(0.95, "linear").alias("p95_ms"),
        )
        .sort("t", "backend")
    )
    x = alt.X("t:Q", title="seconds into the trace")
    color = alt.Color("backend:N", title="backend")
    base = alt.Chart(per).mark_line(interpolate="step-after", strokeWidth=1.4)
    rps = base.encode(
        x=x, y=alt.Y("rps:Q", title="requests/s"), color=color,
        tooltip=["backend:N", "t:Q", alt.Tooltip("rps:Q", format=",.0f")],
    ).properties(title="Requests per second by backend", height=160)  # fmt: skip
    lat = base.encode(
        x=x, y=alt.Y("p95_ms:Q", title="p95 service (ms)"), color=color,
        tooltip=["backend:N", "t:Q", alt.Tooltip("p95_ms:Q", format=",.1f")],
    ).properties(title="p95 service time by backend", height=160)  # fmt: skip
    return alt.vconcat(rps, lat)


def strategy_latency(summary: FrameLike) -> alt.Chart:
    """p50, p95 and p99 latency per simulated strategy (log scale), best p99 first.

    Examples
    --------
    >>> s = pl.DataFrame({"strategy": ["a"], "p50_ms": [1.0], "p95_ms": [2.0],
    ...                   "p99_ms": [3.0], "failed": [0]})
    >>> type(strategy_latency(s)).__name__
    'Chart'
    """
    df = RESULTS.conform(as_frame(summary), required=["strategy", "p50_ms", "p95_ms", "p99_ms"])
    order = df.sort("p99_ms", nulls_last=True)["strategy"].to_list()
    long = df.unpivot(
        ["p50_ms", "p95_ms", "p99_ms"], index=["strategy", "failed"], variable_name="stat"
    ).with_columns(pl.col("stat").str.replace("_ms", ""))
    return (
        alt.Chart(long)
        .mark_point(filled=True, size=70)
        .encode(
            y=alt.Y("strategy:N", sort=order, title=None),
            x=alt.X("value:Q", scale=alt.Scale(type="log"), title="latency (ms, log scale)"),
            color=alt.Color("stat:N", title=None, sort=["p50", "p95", "p99"]),
            tooltip=["strategy:N", "stat:N", alt.Tooltip("value:Q", format=",.1f"), "failed:Q"],
        )
        .properties(title="Simulated latency by strategy", height=28 * max(1, df.height))
    )


def backend_load(load: FrameLike) -> alt.Chart:
    """Share of the requests each backend got, per strategy (stacked bars).

    Examples
    --------
    >>> ld = pl.DataFrame({"strategy": ["p2c", "p2c"], "backend": ["a", "b"],
    ...                    "requests": [6, 4], "share_pct": [60.0, 40.0]})
    >>> type(backend_load(ld)).__name__
    'Chart'
    """
    df = LOAD.conform(as_frame(load), required=["strategy", "backend", "share_pct"])
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("strategy:N", title=None),
            x=alt.X("share_pct:Q", title="share of requests (%)", stack="zero"),
            color=alt.Color("backend:N", title="backend"),
            tooltip=[
                "strategy:N",
                "backend:N",
                alt.Tooltip("share_pct:Q", format=".1f"),
                "requests:Q",
                "failed:Q",
            ],
        )
        .properties(
            title="Where each strategy sent the requests",
            height=28 * max(1, df["strategy"].n_unique()),
        )
    )

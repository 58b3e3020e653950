"""The CDN notebook's charts: hit ratio over time and by group, edge vs origin, two CDNs.

They build on the shared theme of :mod:`perflab.charts`; each takes the output of
:func:`~perflab.cdn.hit_ratio` or :func:`~perflab.cdn.compare_providers`, never a log.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from perflab.charts import PALETTE
from perflab.frames import FrameLike, as_frame

__all__ = ["edge_vs_origin", "hit_ratio_bars", "hit_ratio_over_time", "provider_comparison"]


def hit_ratio_over_time(
    windows: FrameLike, *, color: str | None = "provider", title: str = "Hit ratio over time"
) -> alt.Chart:
    """Request hit ratio per window (``hit_ratio(df, by=…, every=…)``), a line per ``color``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> w = pl.DataFrame({"window_start": [datetime(2026, 1, 1, tzinfo=timezone.utc)],
    ...     "hit_ratio": [0.9], "byte_hit_ratio": [0.95], "requests": [10]})
    >>> hit_ratio_over_time(w, color=None).to_dict()["mark"]["type"]
    'line'
    """
    df = as_frame(windows)
    enc: dict[str, object] = {
        "x": alt.X("window_start:T", title=None),
        "y": alt.Y("hit_ratio:Q", title="request hit ratio", axis=alt.Axis(format="%")),
        "tooltip": [
            alt.Tooltip("window_start:T", title="from", format="%H:%M"),
            alt.Tooltip("hit_ratio:Q", format=".1%"),
            alt.Tooltip("byte_hit_ratio:Q", title="byte hit ratio", format=".1%"),
            alt.Tooltip("requests:Q", format=","),
        ],
    }
    if color is not None and color in df.columns:
        enc["color"] = alt.Color(f"{color}:N", title=None)
        enc["tooltip"] = [alt.Tooltip(f"{color}:N"), *enc["tooltip"]]  # type: ignore[misc]
    return (
        alt.Chart(df)
        .mark_line(point=False, strokeWidth=1.8)
        .encode(**enc)
        .properties(width=640, height=220, title=title)
        .interactive(bind_y=False)
    )


def hit_ratio_bars(
    groups: FrameLike, by: str, *, n: int = 20, title: str | None = None
) -> alt.LayerChart | alt.FacetChart:
    """Request and byte hit ratio of the ``n`` busiest groups (``hit_ratio(df, by)``).

    Examples
    --------
    >>> g = pl.DataFrame({"prefix": ["/a/"], "hit_ratio": [0.5], "byte_hit_ratio": [0.7],
    ...     "requests": [4], "bytes": [10]})
    >>> hit_ratio_bars(g, "prefix").to_dict()["layer"][0]["mark"]["type"]
    'bar'
    """
    df = as_frame(groups).sort("requests", descending=True).head(n)
    df = df.with_columns(pl.col(by).cast(pl.String).fill_null("(unknown)"))
    order = df[by].to_list()
    base = alt.Chart(df).encode(
        y=alt.Y(f"{by}:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        tooltip=[
            alt.Tooltip(f"{by}:N"),
            alt.Tooltip("requests:Q", format=","),
            alt.Tooltip("hit_ratio:Q", format=".1%"),
            alt.Tooltip("byte_hit_ratio:Q", title="byte hit ratio", format=".1%"),
            alt.Tooltip("bytes:Q", format=","),
        ],
    )
    bars = base.mark_bar(color=PALETTE[0]).encode(
        x=alt.X(
            "hit_ratio:Q",
            title="request hit ratio (bar) · byte hit ratio (tick)",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        )
    )
    ticks = base.mark_tick(color="#111827", thickness=2, size=16).encode(x="byte_hit_ratio:Q")
    text = base.mark_text(align="left", dx=3, fontSize=10).encode(
        x="hit_ratio:Q", text=alt.Text("hit_ratio:Q", format=".0%")
    )
    return alt.layer(bars, ticks, text).properties(
        width=480, height=max(100, 22 * df.height), title=title or f"Hit ratio by {by}"
    )


def edge_vs_origin(
    groups: FrameLike, by: str, *, n: int = 20, title: str | None = None
) -> alt.LayerChart | alt.FacetChart:
    """Median time to first byte of hits (the edge) and misses (edge + origin) per group.

    Examples
    --------
    >>> g = pl.DataFrame({"edge": ["FRA"], "edge_p50_ms": [8.0], "origin_p50_ms": [90.0],
    ...     "edge_p95_ms": [20.0], "origin_p95_ms": [300.0], "requests": [9]})
    >>> edge_vs_origin(g, "edge").to_dict()["layer"][0]["mark"]["type"]
    'rule'
    """
    df = (
        as_frame(groups)
        .filter(pl.col("edge_p50_ms").is_not_null() | pl.col("origin_p50_ms").is_not_null())
        .sort("requests", descending=True)
        .head(n)
        .with_columns(pl.col(by).cast(pl.String).fill_null("(unknown)"))
    )
    order = df[by].to_list()
    tooltip = [
        alt.Tooltip(f"{by}:N"),
        alt.Tooltip("requests:Q", format=","),
        alt.Tooltip("edge_p50_ms:Q", title="hit p50 ms", format=",.1f"),
        alt.Tooltip("edge_p95_ms:Q", title="hit p95 ms", format=",.1f"),
        alt.Tooltip("origin_p50_ms:Q", title="miss p50 ms", format=",.1f"),
        alt.Tooltip("origin_p95_ms:Q", title="miss p95 ms", format=",.1f"),
    ]
    base = alt.Chart(df).encode(
        y=alt.Y(f"{by}:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        tooltip=tooltip,
    )
    link = base.mark_rule(color="#9ca3af").encode(
        x=alt.X("edge_p50_ms:Q", title="median time to first byte (ms): hit ● miss ●"),
        x2="origin_p50_ms:Q",
    )
    hit = base.mark_point(filled=True, size=60, color=PALETTE[0]).encode(x="edge_p50_ms:Q")
    miss = base.mark_point(filled=True, size=60, color=PALETTE[1]).encode(x="origin_p50_ms:Q")
    return alt.layer(link, hit, miss).properties(
        width=480,
        height=max(100, 22 * df.height),
        title=title or f"What a miss costs, by {by} (blue: hit, orange: miss)",
    )


def provider_comparison(
    comparison: FrameLike, by: str = "country", *, n: int = 12
) -> alt.HConcatChart:
    """Two CDNs side by side per group: hit ratio, and TTFB p50 with p95 whiskers.

    Examples
    --------
    >>> c = pl.DataFrame({"country": ["DE", "DE"], "provider": ["a", "b"],
    ...     "requests": [5, 6], "hit_ratio": [0.9, 0.8], "byte_hit_ratio": [0.9, 0.8],
    ...     "ttfb_p50_ms": [10.0, 12.0], "ttfb_p95_ms": [40.0, 30.0],
    ...     "ttfb_p99_ms": [90.0, 80.0]})
    >>> len(provider_comparison(c).to_dict()["hconcat"])
    2
    """
    df = as_frame(comparison).with_columns(pl.col(by).cast(pl.String).fill_null("(unknown)"))
    top = (df.group_by(by).agg(pl.col("requests").sum()).sort("requests", descending=True).head(n))[
        by
    ].to_list()
    df = df.filter(pl.col(by).is_in(top))
    y = alt.Y(f"{by}:N", sort=top, title=None)
    tooltip = [
        alt.Tooltip(f"{by}:N"),
        alt.Tooltip("provider:N"),
        alt.Tooltip("requests:Q", format=","),
        alt.Tooltip("hit_ratio:Q", format=".1%"),
        alt.Tooltip("ttfb_p50_ms:Q", title="TTFB p50 ms", format=",.1f"),
        alt.Tooltip("ttfb_p95_ms:Q", title="TTFB p95 ms", format=",.1f"),
        alt.Tooltip("ttfb_p99_ms:Q", title="TTFB p99 ms", format=",.1f"),
    ]
    color = alt.Color("provider:N", title=None)
    hits = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=y,
            yOffset="provider:N",
            x=alt.X(
                "hit_ratio:Q",
                title="request hit ratio",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=color,
            tooltip=tooltip,
        )
        .properties(width=260, height=max(120, 30 * len(top)), title="Hit ratio")
    )
    base = alt.Chart(df).encode(y=y, yOffset="provider:N", color=color, tooltip=tooltip)
    whisker = base.mark_rule().encode(
        x=alt.X("ttfb_p50_ms:Q", title="TTFB ms: p50 ● to p95"), x2="ttfb_p95_ms:Q"
    )
    dot = base.mark_point(filled=True, size=50).encode(x="ttfb_p50_ms:Q")
    ttfb = alt.layer(whisker, dot).properties(
        width=300, height=max(120, 30 * len(top)), title="Time to first byte"
    )
    return alt.hconcat(hits, ttfb)

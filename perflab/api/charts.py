"""The API notebook's charts: the route table, latency and size by route, a HAR waterfall.

They build on the shared theme of :mod:`perflab.charts`; each takes an analysed frame
(the route table of :func:`~perflab.api.endpoints`, requests with a ``route`` column,
a compression table), never a file.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from perflab.charts import PALETTE
from perflab.frames import FrameLike, as_frame

__all__ = ["compression_bars", "route_latency", "route_sizes", "waterfall"]


def _label(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.concat_str(
            pl.col("method").fill_null("?"), pl.lit(" "), pl.col("route").fill_null("?")
        ).alias("endpoint")
    )


def _dots(
    df: pl.DataFrame, fields: tuple[str, str, str], axis: str, tooltip: list[Any], title: str
) -> alt.LayerChart | alt.FacetChart:
    """One row per endpoint on a log axis: a rule from the first field to the third, a
    dot at the first (the median), a thick tick at the second, a thin one at the third."""
    mid, high, top = fields
    scale = alt.Scale(type="log")
    y = alt.Y(
        "endpoint:N", sort=df["endpoint"].to_list(), title=None, axis=alt.Axis(labelLimit=320)
    )
    base = alt.Chart(df).encode(y=y, tooltip=tooltip)
    spread = base.mark_rule(color="#9ca3af").encode(
        x=alt.X(f"{mid}:Q", scale=scale, title=axis), x2=f"{top}:Q"
    )
    thick = base.mark_tick(color=PALETTE[1], thickness=3, size=14).encode(
        x=alt.X(f"{high}:Q", scale=scale)
    )
    thin = base.mark_tick(color="#111827", thickness=1, size=14).encode(
        x=alt.X(f"{top}:Q", scale=scale)
    )
    dot = base.mark_point(filled=True, color=PALETTE[0], size=60).encode(
        x=alt.X(f"{mid}:Q", scale=scale)
    )
    return alt.layer(spread, thick, thin, dot).properties(
        width=560, height=max(120, 22 * df.height), title=title
    )


def route_latency(
    table: FrameLike, *, n: int = 15, title: str = "Latency by route (p50 ● p95 ▮ p99 |)"
) -> alt.LayerChart | alt.FacetChart:
    """p50, p95 and p99 of the ``n`` routes that take the most server time, on a log axis.

    Examples
    --------
    >>> t = pl.DataFrame({"method": ["GET"], "route": ["/a"], "requests": [3],
    ...     "time_share": [1.0], "error_rate": [0.0], "p50_ms": [1.0], "p95_ms": [5.0],
    ...     "p99_ms": [9.0]})
    >>> route_latency(t).to_dict()["layer"][0]["mark"]["type"]
    'rule'
    """
    df = _label(as_frame(table).head(n)).filter(pl.col("p50_ms").is_not_null())
    df = df.with_columns(pl.col("p50_ms", "p95_ms", "p99_ms").clip(lower_bound=0.01))
    tooltip = [
        alt.Tooltip("endpoint:N"),
        alt.Tooltip("requests:Q", format=","),
        alt.Tooltip("time_share:Q", title="share of server time", format=".1%"),
        alt.Tooltip("error_rate:Q", title="5xx", format=".2%"),
        alt.Tooltip("p50_ms:Q", format=",.1f"),
        alt.Tooltip("p95_ms:Q", format=",.1f"),
        alt.Tooltip("p99_ms:Q", format=",.1f"),
    ]
    return _dots(df, ("p50_ms", "p95_ms", "p99_ms"), "ms (log scale)", tooltip, title)


def route_sizes(
    table: FrameLike, *, n: int = 15, title: str = "Response size by route (p50 ● p95 ▮ max |)"
) -> alt.LayerChart | alt.FacetChart:
    """Response size p50, p95 and maximum of the ``n`` heaviest routes (Σ bytes), log axis.

    Examples
    --------
    >>> t = pl.DataFrame({"method": ["GET"], "route": ["/a"], "requests": [3],
    ...     "total_bytes": [30], "size_p50_bytes": [10.0], "size_p95_bytes": [12.0],
    ...     "size_max_bytes": [14.0], "compressed_share": [None]})
    >>> route_sizes(t).to_dict()["layer"][0]["mark"]["type"]
    'rule'
    """
    df = (
        _label(as_frame(table))
        .filter(pl.col("size_p50_bytes").is_not_null())
        .sort("total_bytes", descending=True, nulls_last=True)
        .head(n)
        .with_columns(
            pl.col("size_p50_bytes", "size_p95_bytes", "size_max_bytes").clip(lower_bound=1)
        )
    )
    tooltip = [
        alt.Tooltip("endpoint:N"),
        alt.Tooltip("requests:Q", format=","),
        alt.Tooltip("total_bytes:Q", title="bytes in all", format=","),
        alt.Tooltip("size_p50_bytes:Q", title="p50 bytes", format=","),
        alt.Tooltip("size_p95_bytes:Q", title="p95 bytes", format=","),
        alt.Tooltip("size_max_bytes:Q", title="max bytes", format=","),
        alt.Tooltip("compressed_share:Q", title="compressed", format=".0%"),
    ]
    fields = ("size_p50_bytes", "size_p95_bytes", "size_max_bytes")
    return _dots(df, fields, "bytes (log scale)", tooltip, title)


def compression_bars(
    summary: FrameLike,
    *,
    served: str = "served_bytes",
    best: str = "best_bytes",
    by: str = "content_type",
    title: str = "Bytes served and bytes with the best encoding",
) -> alt.Chart:
    """Bytes as served against bytes with the best encoding, per content type.

    Examples
    --------
    >>> s = pl.DataFrame({"content_type": ["text/css"], "served_bytes": [100],
    ...                   "best_bytes": [20]})
    >>> compression_bars(s).to_dict()["mark"]["type"]
    'bar'
    """
    df = as_frame(summary).select(by, served, best)
    long = df.unpivot(index=by, variable_name="what", value_name="bytes").with_columns(
        pl.col("what").replace({served: "as served", best: "best encoding"})
    )
    order = df.sort(served, descending=True)[by].to_list()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", sort=order, title=None),
            yOffset=alt.YOffset("what:N"),
            x=alt.X("bytes:Q", title="bytes", axis=alt.Axis(format="~s")),
            color=alt.Color("what:N", title=None, scale=alt.Scale(range=["#9ca3af", PALETTE[0]])),
            tooltip=[
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip("what:N"),
                alt.Tooltip("bytes:Q", format=","),
            ],
        )
        .properties(width=520, height=max(100, 40 * df.height), title=title)
    )


def waterfall(
    requests: FrameLike, *, page: str | None = None, title: str | None = None, max_rows: int = 80
) -> alt.Chart:
    """A HAR page load as a waterfall: each request from its start to its end.

    Parameters
    ----------
    requests : frame-like
        :func:`~perflab.api.read_har` output (``time``, ``duration_ms``, ``path``;
        ``resource_type`` and ``page`` when present).
    page : str, optional
        The page (``pageref``) to draw; default the first one.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 12, 3, tzinfo=timezone.utc)
    >>> r = pl.DataFrame({"time": [t, t], "duration_ms": [10.0, 5.0], "path": ["/", "/a"],
    ...                   "method": ["GET", "GET"], "status": [200, 200]})
    >>> waterfall(r).to_dict()["mark"]["type"]
    'bar'
    """
    df = as_frame(requests)
    if "page" in df.columns and df["page"].is_not_null().any():
        page = page or df.filter(pl.col("page").is_not_null())["page"][0]
        df = df.filter(pl.col("page") == page)
    df = df.filter(pl.col("time").is_not_null()).sort("time").head(max_rows)
    if df.height == 0:
        return (
            alt.Chart(pl.DataFrame({"x": []}))
            .mark_bar()
            .properties(title=title or "No request with a start time to draw")
        )
    kind = "resource_type" if "resource_type" in df.columns else None
    df = df.select("time", "duration_ms", "path", "method", "status", *([kind] if kind else []))
    t0 = df["time"].min()
    df = (
        df.with_row_index("order")
        .with_columns(
            ((pl.col("time") - pl.lit(t0)).dt.total_microseconds() / 1000).alias("start_ms"),
            pl.concat_str(pl.col("order").cast(pl.String), pl.lit(" "), pl.col("path")).alias(
                "request"
            ),
        )
        .with_columns((pl.col("start_ms") + pl.col("duration_ms").fill_null(0)).alias("end_ms"))
    )
    color = alt.Color(f"{kind}:N", title=None) if kind is not None else alt.value(PALETTE[0])
    return (
        alt.Chart(df)
        .mark_bar(height=10)
        .encode(
            y=alt.Y(
                "request:N", sort=df["request"].to_list(), title=None, axis=alt.Axis(labelLimit=360)
            ),
            x=alt.X("start_ms:Q", title="ms since the first request"),
            x2="end_ms:Q",
            color=color,
            tooltip=[
                alt.Tooltip("method:N"),
                alt.Tooltip("path:N"),
                alt.Tooltip("status:Q"),
                alt.Tooltip("start_ms:Q", title="start (ms)", format=",.1f"),
                alt.Tooltip("duration_ms:Q", title="took (ms)", format=",.1f"),
            ],
        )
        .properties(
            width=560,
            height=max(120, 14 * df.height),
            title=title or f"Waterfall of {page or 'the recording'}",
        )
    )

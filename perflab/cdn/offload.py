"""Hit ratios and origin offload, by any dimension and over time; two CDNs side by side.

:func:`hit_ratio` takes the frame of a CDN reader (:data:`~perflab.cdn.schema.CDN_REQUESTS`,
with its ``cache_hit`` column) or of any access log with a ``cache_status`` (nginx's
``$upstream_cache_status``: ``HIT``, ``STALE``, ``UPDATING``, ``REVALIDATED`` count as
hits, see :func:`perflab.api.route_table.is_hit`). Its columns (:data:`HIT_RATIO`):

===================  ======  ============================================================
column               dtype   meaning
===================  ======  ============================================================
*by…*, window_start          the groups asked for (``window_start`` with ``every``)
requests             u32     requests in the group
unknown              u32     requests whose cache status is not known (not counted in
                             the ratios: a ``Redirect``, an edge error, ``-``)
hits                 u32     requests served from the edge's cache
hit_ratio            f64     hits / requests with a known status (the *request* hit
                             ratio)
bytes                i64     bytes sent to clients
byte_hit_ratio       f64     bytes of hits / bytes of requests with a known status
origin_requests      u32     requests the edge sent on to the origin (the misses)
origin_offload       f64     1 − origin_requests / requests with a known status — the
                             share of the traffic the origin did not see (equal to
                             ``hit_ratio``; kept under the name CDN dashboards use)
edge_p50_ms,         f64     time to first byte of hits (``ttfb_ms``, else — row by row
edge_p95_ms                  — ``duration_ms``): what the edge alone costs
origin_p50_ms,       f64     the same for misses: the edge plus the trip to the origin
origin_p95_ms
===================  ======  ============================================================

``by`` may name any column, and two computed ones: ``"prefix"`` (the path's first
segment, ``/images/…`` → ``/images/``; ``prefix_depth`` segments) and ``"hour"``.
:func:`compare_providers` puts providers side by side per region (or any ``by``): hit
ratio and TTFB p50/p95/p99 of each.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from perflab.api.route_table import is_hit
from perflab.errors import ParameterError, SchemaError
from perflab.frames import FrameLike, Schema, as_frame

__all__ = [
    "COMPARISON",
    "HIT_RATIO",
    "add_prefix",
    "compare_providers",
    "hit_ratio",
    "prepare_groups",
]

HIT_RATIO = Schema(
    "cdn hit ratio",
    {
        "requests": pl.UInt32,
        "unknown": pl.UInt32,
        "hits": pl.UInt32,
        "hit_ratio": pl.Float64,
        "bytes": pl.Int64,
        "byte_hit_ratio": pl.Float64,
        "origin_requests": pl.UInt32,
        "origin_offload": pl.Float64,
        "edge_p50_ms": pl.Float64,
        "edge_p95_ms": pl.Float64,
        "origin_p50_ms": pl.Float64,
        "origin_p95_ms": pl.Float64,
    },
)
"""The statistic columns of :func:`hit_ratio` (after the groups)."""

COMPARISON = Schema(
    "cdn comparison",
    {
        "provider": pl.String,
        "requests": pl.UInt32,
        "hit_ratio": pl.Float64,
        "byte_hit_ratio": pl.Float64,
        "ttfb_p50_ms": pl.Float64,
        "ttfb_p95_ms": pl.Float64,
        "ttfb_p99_ms": pl.Float64,
    },
)
"""The columns of :func:`compare_providers` after its groups."""


def _hit_expr(frame: pl.DataFrame) -> pl.Expr:
    """Per request: a hit, a miss, or null (unknown: an access log's ``-``, a redirect)."""
    if "cache_hit" in frame.columns:
        return pl.col("cache_hit").cast(pl.Boolean)
    if "cache_status" in frame.columns:
        status = pl.col("cache_status").cast(pl.String)
        # an access log's "-" (not proxied, not cacheable) is not a miss: unknown
        return pl.when(status.is_in(["-", ""])).then(None).otherwise(is_hit(frame))
    raise SchemaError(
        "hit ratios need a cache_hit column (CDN readers) or a cache_status column "
        f"(an access log with $upstream_cache_status); the frame has {frame.columns}"
    )


def _latency(frame: pl.DataFrame) -> pl.Expr:
    """Per request: ``ttfb_ms``, else ``duration_ms`` (row by row: providers mixed in one
    frame log different ones)."""
    cols = [pl.col(c).cast(pl.Float64) for c in ("ttfb_ms", "duration_ms") if c in frame.columns]
    return pl.coalesce(cols) if cols else pl.lit(None, pl.Float64)


def add_prefix(df: FrameLike, depth: int = 1) -> pl.DataFrame:
    """Add ``prefix``: the first ``depth`` segments of ``path``, with a slash after.

    Examples
    --------
    >>> f = pl.DataFrame({"path": ["/images/a.png", "/", "/api/v1/x", "/robots.txt"]})
    >>> add_prefix(f)["prefix"].to_list()
    ['/images/', '/', '/api/', '/robots.txt']
    >>> add_prefix(f, 2)["prefix"].to_list()
    ['/images/a.png', '/', '/api/v1/', '/robots.txt']
    """
    if depth < 1:
        raise ParameterError(f"depth must be ≥ 1, not {depth}")
    frame = as_frame(df)
    pattern = r"^(/(?:[^/]*/){0," + str(depth - 1) + r"}[^/]*/?)"
    return frame.with_columns(pl.col("path").str.extract(pattern, 1).alias("prefix"))


def prepare_groups(frame: pl.DataFrame, by: Sequence[str], prefix_depth: int) -> pl.DataFrame:
    """Add the computed group columns ``by`` asks for (``prefix``, ``hour``); check the rest.

    Examples
    --------
    >>> prepare_groups(pl.DataFrame({"path": ["/a/b"]}), ["prefix"], 1)["prefix"][0]
    '/a/'
    """
    if "prefix" in by and "prefix" not in frame.columns:
        frame = add_prefix(frame, prefix_depth)
    if "hour" in by and "hour" not in frame.columns:
        frame = frame.with_columns(pl.col("time").dt.hour().alias("hour"))
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise SchemaError(f"no column {missing} to group by; the frame has {frame.columns}")
    return frame


def _by(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def hit_ratio(
    df: FrameLike,
    by: str | Sequence[str] | None = None,
    *,
    every: str | None = None,
    prefix_depth: int = 1,
) -> pl.DataFrame:
    """Request and byte hit ratio, origin offload and edge vs origin latency per group.

    Parameters
    ----------
    df : frame-like
        CDN requests (:data:`~perflab.cdn.schema.CDN_REQUESTS`) or access-log requests
        with ``cache_status``.
    by : str or sequence of str, optional
        Group columns: ``"edge"``, ``"country"``, ``"content_type"``, ``"provider"``,
        ``"prefix"``, ``"hour"`` or any column; none for one row over everything.
    every : str, optional
        A polars duration (``"15m"``, ``"1h"``): also split by time windows.
    prefix_depth : int
        Path segments in ``"prefix"``.

    Returns
    -------
    polars.DataFrame
        The groups, ``window_start`` with ``every``, then :data:`HIT_RATIO`; sorted by
        requests (descending) — by window first with ``every``.

    Examples
    --------
    >>> f = pl.DataFrame({"path": ["/a", "/a", "/b", "/b"], "bytes": [100, 100, 10, 10],
    ...     "cache_status": ["HIT", "HIT", "MISS", "-"],
    ...     "duration_ms": [5.0, 7.0, 80.0, 1.0]})
    >>> hit_ratio(f).select("requests", "unknown", "hit_ratio", "byte_hit_ratio",
    ...                     "edge_p50_ms", "origin_p50_ms").row(0)
    (4, 1, 0.6666666666666666, 0.9523809523809523, 6.0, 80.0)
    """
    frame = as_frame(df)
    keys = _by(by)
    frame = prepare_groups(frame, keys, prefix_depth)
    work = frame.with_columns(
        _hit_expr(frame).alias("_hit"),
        (pl.col("bytes") if "bytes" in frame.columns else pl.lit(None, pl.Int64))
        .cast(pl.Int64)
        .alias("_bytes"),
        _latency(frame).alias("_ms"),
    )
    if every is not None:
        if "time" not in work.columns:
            raise SchemaError("every= needs a time column")
        work = work.with_columns(pl.col("time").dt.truncate(every).alias("window_start"))
        keys = [*keys, "window_start"]
    known = pl.col("_hit").is_not_null()
    h = pl.col("_hit").fill_null(False)
    miss = known & ~h
    b = pl.col("_bytes").fill_null(0)
    aggs = [
        pl.len().cast(pl.UInt32).alias("requests"),
        (~known).sum().cast(pl.UInt32).alias("unknown"),
        h.sum().cast(pl.UInt32).alias("hits"),
        (h.sum() / known.sum()).alias("hit_ratio"),
        pl.col("_bytes").sum().cast(pl.Int64).alias("bytes"),
        ((b * h).sum() / (b * known).sum()).alias("byte_hit_ratio"),
        miss.sum().cast(pl.UInt32).alias("origin_requests"),
        (1 - miss.sum() / known.sum()).alias("origin_offload"),
        pl.col("_ms").filter(h).median().alias("edge_p50_ms"),
        pl.col("_ms").filter(h).quantile(0.95, interpolation="linear").alias("edge_p95_ms"),
        pl.col("_ms").filter(miss).median().alias("origin_p50_ms"),
        pl.col("_ms").filter(miss).quantile(0.95, interpolation="linear").alias("origin_p95_ms"),
    ]
    if keys:
        out = work.group_by(keys).agg(aggs)
        order = ["window_start", "requests"] if every is not None else ["requests"]
        desc = [False, True] if every is not None else [True]
        out = out.sort(order, descending=desc, nulls_last=True)
    else:
        out = work.select(aggs)
    ratio = ["hit_ratio", "byte_hit_ratio", "origin_offload"]
    out = out.with_columns(pl.col(c).fill_nan(None) for c in ratio)
    return out.select(*keys, *HIT_RATIO.columns)


def compare_providers(
    df: FrameLike,
    by: str | Sequence[str] = "country",
    *,
    provider: str = "provider",
    min_requests: int = 1,
) -> pl.DataFrame:
    """Two (or more) CDNs serving the same assets, side by side per region.

    Parameters
    ----------
    df : frame-like
        The providers' logs concatenated (``pl.concat([read_cloudfront(a),
        read_cloudflare(b)], how="diagonal_relaxed")``), with a ``provider`` column.
    by : str or sequence of str
        The regions: ``"country"`` (default), ``"edge"``, ``"prefix"``…
    provider : str
        The column that names the provider.
    min_requests : int
        Groups with fewer requests for some provider are left out.

    Returns
    -------
    polars.DataFrame
        *by…*, then :data:`COMPARISON` (one row per group and provider), groups by
        total requests (descending), providers by name. TTFB is ``ttfb_ms`` (else
        ``duration_ms``), over all requests, hits and misses.

    Examples
    --------
    >>> f = pl.DataFrame({"provider": ["a", "a", "b", "b"], "country": ["DE"] * 4,
    ...     "cache_hit": [True, False, True, True], "ttfb_ms": [10.0, 90.0, 20.0, 30.0],
    ...     "bytes": [1, 1, 1, 1]})
    >>> compare_providers(f).select("country", "provider", "hit_ratio", "ttfb_p50_ms").rows()
    [('DE', 'a', 0.5, 50.0), ('DE', 'b', 1.0, 25.0)]
    """
    frame = as_frame(df)
    keys = _by(by)
    if provider not in frame.columns:
        raise SchemaError(f"compare_providers needs a {provider!r} column")
    frame = prepare_groups(frame, keys, 1)
    frame = frame.filter(pl.col(provider).is_not_null())
    hit = _hit_expr(frame)
    known = hit.is_not_null()
    h = hit.fill_null(False)
    b = pl.col("bytes").cast(pl.Int64).fill_null(0) if "bytes" in frame.columns else pl.lit(0)
    ms = _latency(frame)
    out = frame.group_by([*keys, provider]).agg(
        pl.len().cast(pl.UInt32).alias("requests"),
        (h.sum() / known.sum()).alias("hit_ratio"),
        ((b * h).sum() / (b * known).sum()).alias("byte_hit_ratio"),
        ms.median().alias("ttfb_p50_ms"),
        ms.quantile(0.95, interpolation="linear").alias("ttfb_p95_ms"),
        ms.quantile(0.99, interpolation="linear").alias("ttfb_p99_ms"),
    )
    if min_requests > 1:
        small = out.filter(pl.col("requests") < min_requests).select(keys).unique()
        out = out.join(small, on=keys, how="anti", nulls_equal=True) if keys else out
    total = pl.col("requests").sum().over(keys) if keys else pl.col("requests").sum()
    return (
        out.with_columns(
            total.alias("_total"), pl.col("hit_ratio", "byte_hit_ratio").fill_nan(None)
        )
        .sort(["_total", *keys, provider], descending=[True] + [False] * (len(keys) + 1))
        .select(
            *keys, pl.col(provider).cast(pl.String).alias("provider"), *list(COMPARISON.columns)[1:]
        )
    )

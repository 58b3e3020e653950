"""The route table: per method and route, traffic, errors, latency, size, compression, caching.

:func:`endpoints` is the table GoAccess cannot give (it groups by literal URL and
reports only average and maximum time): per ``(method, route)`` — routes from
:func:`~perflab.api.template_routes`, applied first when the frame has no ``route``
column — these columns (:data:`ENDPOINTS`):

==================  ======  ===========================================================
column              dtype   meaning
==================  ======  ===========================================================
method, route       str     the group (``method`` null for malformed request lines)
requests            u32     requests
share               f64     share of all requests
time_share          f64     share of all server time (Σ ``duration_ms``): where the
                            server spends its time — the table is sorted by it
errors              u32     responses with a 5xx status
error_rate          f64     share of responses with a 5xx status (requests with no
                            status — HAR's blocked or aborted — count in neither part)
client_error_rate   f64     share with a 4xx status
mean_ms … max_ms    f64     ``duration_ms``: ``mean_ms``, ``p50_ms``, ``p95_ms``,
                            ``p99_ms``, ``max_ms`` (null when no duration is known)
upstream_p50_ms,    f64     ``upstream_ms`` percentiles (the application's share of the
upstream_p95_ms             time: nginx ``$upstream_response_time``, HAR wait)
upstream_share      f64     Σ upstream / Σ duration over the requests that have both:
                            near 1, the time is the application's; low, the proxy,
                            the network or a slow client (nginx's ``$request_time``
                            includes sending the response)
size_p50_bytes,     f64     ``bytes`` percentiles and maximum
size_p95_bytes,
size_max_bytes
total_bytes         i64     Σ ``bytes``
compressed_share    f64     share of responses with a ``Content-Encoding`` other than
                            ``identity`` (or, for nginx logs with ``$gzip_ratio``, a
                            ratio); null when the frame says nothing about encoding: no
                            response has one and the frame is not a HAR's (a log that
                            does not record the header looks the same as one where
                            nothing was compressed)
cacheable_share     f64     share a shared cache may store: ``GET``/``HEAD`` with a
                            status cacheable by default (RFC 9111 §4.2.2: 200, 203,
                            204, 206, 300, 301, 308, 404, 405, 410, 414, 501) and, when
                            ``Cache-Control`` is in the frame (``cache_control`` from a
                            HAR, ``sent_http_cache_control`` from nginx), without
                            ``no-store`` or ``private``
hit_share           f64     share served from a cache (``cache_status`` HIT, STALE,
                            UPDATING, REVALIDATED, REFRESHHIT, or HIT-…); null when no
                            cache status is logged
==================  ======  ===========================================================

Percentiles are linear (numpy's default; see :mod:`perflab.stats`); groups are found
with one hash table (:func:`perflab.kernels.factorize`) and a million requests or more
are summarised by the numba kernels of :mod:`perflab.groupstats`.
"""

from __future__ import annotations

import polars as pl

from perflab.api.routes import template_routes
from perflab.errors import SchemaError
from perflab.frames import FrameLike, Schema, as_frame
from perflab.groupstats import group_stats
from perflab.kernels import factorize

__all__ = [
    "CACHEABLE_STATUS",
    "ENDPOINTS",
    "HIT_STATUSES",
    "cache_control_column",
    "cacheable",
    "compressed",
    "endpoints",
    "is_hit",
]

CACHEABLE_STATUS = (200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501)
"""Statuses a cache may store without explicit freshness (RFC 9111 §4.2.2, RFC 9110 §15.1)."""

HIT_STATUSES = ("HIT", "STALE", "UPDATING", "REVALIDATED", "REFRESHHIT")
"""``cache_status`` values (upper-cased) that mean served from cache; ``HIT-*`` too."""

ENDPOINTS = Schema(
    "endpoints",
    {
        "method": pl.String,
        "route": pl.String,
        "requests": pl.UInt32,
        "share": pl.Float64,
        "time_share": pl.Float64,
        "errors": pl.UInt32,
        "error_rate": pl.Float64,
        "client_error_rate": pl.Float64,
        "mean_ms": pl.Float64,
        "p50_ms": pl.Float64,
        "p95_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "max_ms": pl.Float64,
        "upstream_p50_ms": pl.Float64,
        "upstream_p95_ms": pl.Float64,
        "upstream_share": pl.Float64,
        "size_p50_bytes": pl.Float64,
        "size_p95_bytes": pl.Float64,
        "size_max_bytes": pl.Float64,
        "total_bytes": pl.Int64,
        "compressed_share": pl.Float64,
        "cacheable_share": pl.Float64,
        "hit_share": pl.Float64,
    },
)
"""The columns of :func:`endpoints` (see the module docstring)."""

_NEEDED = ("method", "path", "status", "duration_ms")


def cache_control_column(frame: pl.DataFrame) -> str | None:
    """The frame's response ``Cache-Control`` column: ``cache_control`` (HAR) or
    ``sent_http_cache_control`` (nginx), or None.

    Examples
    --------
    >>> cache_control_column(pl.DataFrame({"sent_http_cache_control": ["no-store"]}))
    'sent_http_cache_control'
    """
    for name in ("cache_control", "sent_http_cache_control"):
        if name in frame.columns:
            return name
    return None


def compressed(frame: pl.DataFrame) -> pl.Expr:
    """Per request: was the response compressed? Null when the frame cannot tell.

    Examples
    --------
    >>> f = pl.DataFrame({"content_encoding": ["gzip", None, "identity"]})
    >>> f.select(compressed(f)).to_series().to_list()
    [True, False, False]
    """
    # a HAR records every response header: no Content-Encoding there means none
    known = "content_encoding" in frame.columns and (
        "transfer_bytes" in frame.columns
        or bool(frame.get_column("content_encoding").is_not_null().any())
    )
    enc = pl.col("content_encoding").cast(pl.String).str.to_lowercase()
    by_encoding = enc.is_not_null() & (enc != "identity")
    if "gzip_ratio" in frame.columns:
        ratio = pl.col("gzip_ratio").cast(pl.Float64, strict=False)
        by_ratio = ratio.is_not_null() & (ratio > 0)
        return (by_encoding | by_ratio) if known else by_ratio
    return by_encoding if known else pl.lit(None, pl.Boolean)


def cacheable(frame: pl.DataFrame) -> pl.Expr:
    """Per request: may a shared cache store the response? (See :data:`CACHEABLE_STATUS`.)

    Examples
    --------
    >>> f = pl.DataFrame({"method": ["GET", "POST", "GET"], "status": [200, 200, 200],
    ...                   "cache_control": [None, None, "private, max-age=60"]})
    >>> f.select(cacheable(f)).to_series().to_list()
    [True, False, False]
    """
    status = pl.col("status").cast(pl.Int64, strict=False)
    ok = pl.col("method").is_in(["GET", "HEAD"]) & status.is_in(CACHEABLE_STATUS)
    header = cache_control_column(frame)
    if header is not None:
        cc = pl.col(header).cast(pl.String).str.to_lowercase()
        ok = ok & ~cc.str.contains(r"(?:^|[,\s])(?:no-store|private)\b").fill_null(False)
    return ok.fill_null(False)


def is_hit(frame: pl.DataFrame) -> pl.Expr:
    """Per request: served from a cache, per ``cache_status``; null when not logged.

    Examples
    --------
    >>> f = pl.DataFrame({"cache_status": ["HIT", "MISS", None, "hit-stale"]})
    >>> f.select(is_hit(f)).to_series().to_list()
    [True, False, None, True]
    """
    if "cache_status" not in frame.columns:
        return pl.lit(None, pl.Boolean)
    s = pl.col("cache_status").cast(pl.String).str.to_uppercase()
    return s.is_in(HIT_STATUSES) | s.str.starts_with("HIT-")


def endpoints(df: FrameLike, *, manifest: object | None = None) -> pl.DataFrame:
    """Per method and route: requests, errors, latency and size percentiles, caching.

    Parameters
    ----------
    df : frame-like
        :data:`~perflab.api.schema.REQUESTS` (at least ``method, path, status,
        duration_ms``; ``bytes``, ``upstream_ms``, ``cache_status``,
        ``content_encoding`` and header columns are used when present). With a
        ``route`` column, its routes are taken as they are.
    manifest : optional
        A Next.js routes manifest for :func:`~perflab.api.template_routes` when the
        frame has no ``route`` column.

    Returns
    -------
    polars.DataFrame
        :data:`ENDPOINTS`, one row per ``(method, route)``, sorted by ``time_share``
        then ``requests`` (descending).

    Raises
    ------
    SchemaError
        A needed column is missing.

    Examples
    --------
    >>> df = pl.DataFrame({"method": ["GET"] * 3 + ["POST"],
    ...     "path": ["/u/1", "/u/2", "/u/3", "/u"], "status": [200, 200, 503, 201],
    ...     "duration_ms": [10.0, 20.0, 30.0, 5.0], "bytes": [100, 300, 200, 10]})
    >>> endpoints(df).select("method", "route", "requests", "error_rate", "p50_ms",
    ...                      "size_p50_bytes")
    shape: (2, 6)
    ┌────────┬─────────┬──────────┬────────────┬────────┬────────────────┐
    │ method ┆ route   ┆ requests ┆ error_rate ┆ p50_ms ┆ size_p50_bytes │
    │ ---    ┆ ---     ┆ ---      ┆ ---        ┆ ---    ┆ ---            │
    │ str    ┆ str     ┆ u32      ┆ f64        ┆ f64    ┆ f64            │
    ╞════════╪═════════╪══════════╪════════════╪════════╪════════════════╡
    │ GET    ┆ /u/{id} ┆ 3        ┆ 0.333333   ┆ 20.0   ┆ 200.0          │
    │ POST   ┆ /u      ┆ 1        ┆ 0.0        ┆ 5.0    ┆ 10.0           │
    └────────┴─────────┴──────────┴────────────┴────────┴────────────────┘
    """
    frame = as_frame(df)
    missing = [c for c in _NEEDED if c not in frame.columns]
    if missing:
        raise SchemaError(f"endpoints needs the columns {missing}; the frame has {frame.columns}")
    if "route" not in frame.columns:
        frame = template_routes(frame, manifest)  # type: ignore[arg-type]
    if frame.height == 0:
        return ENDPOINTS.empty()
    for name in ("bytes", "upstream_ms"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Float64).alias(name))
    codes, first = factorize(frame, [pl.col("method"), pl.col("route")])
    work = frame.select(
        pl.Series("_g", codes),
        pl.col("status").cast(pl.Int64, strict=False),
        pl.col("duration_ms").cast(pl.Float64),
        pl.col("upstream_ms").cast(pl.Float64),
        pl.col("bytes").cast(pl.Float64).alias("_bytes"),
        compressed(frame).alias("_compressed"),
        cacheable(frame).alias("_cacheable"),
        is_hit(frame).alias("_hit"),
    )
    status = pl.col("status")
    both = pl.col("duration_ms").is_not_null() & pl.col("upstream_ms").is_not_null()
    counts = work.group_by("_g").agg(
        pl.len().alias("requests"),
        pl.col("duration_ms").sum().alias("_time"),
        (status >= 500).sum().alias("errors"),
        ((status >= 400) & (status < 500)).sum().alias("_4xx"),
        status.is_not_null().sum().alias("_known"),
        pl.col("upstream_ms").filter(both).sum().alias("_up"),
        pl.col("duration_ms").filter(both).sum().alias("_down"),
        pl.col("_bytes").sum().cast(pl.Int64).alias("total_bytes"),
        pl.col("_compressed").mean().alias("compressed_share"),
        pl.col("_cacheable").mean().alias("cacheable_share"),
        pl.col("_hit").mean().alias("hit_share"),
    )
    latency = _stats(
        work,
        "duration_ms",
        (0.5, 0.95, 0.99),
        {"mean": "mean_ms", "p50": "p50_ms", "p95": "p95_ms", "p99": "p99_ms", "max": "max_ms"},
    )
    upstream = _stats(
        work, "upstream_ms", (0.5, 0.95), {"p50": "upstream_p50_ms", "p95": "upstream_p95_ms"}
    )
    size = _stats(
        work,
        "_bytes",
        (0.5, 0.95),
        {"p50": "size_p50_bytes", "p95": "size_p95_bytes", "max": "size_max_bytes"},
    )
    keys = frame.select("method", "route")[first].with_row_index("_g")
    total_time = work.get_column("duration_ms").sum() or 0.0
    out = (
        keys.with_columns(pl.col("_g").cast(pl.Int64))
        .join(counts, on="_g", how="left")
        .join(latency, on="_g", how="left")
        .join(upstream, on="_g", how="left")
        .join(size, on="_g", how="left")
        .with_columns(
            (pl.col("requests") / frame.height).alias("share"),
            (pl.col("_time") / total_time if total_time > 0 else pl.lit(None, pl.Float64)).alias(
                "time_share"
            ),
            pl.when(pl.col("_known") > 0)
            .then(pl.col("errors") / pl.col("_known"))
            .alias("error_rate"),
            pl.when(pl.col("_known") > 0)
            .then(pl.col("_4xx") / pl.col("_known"))
            .alias("client_error_rate"),
            pl.when(pl.col("_down") > 0)
            .then(pl.col("_up") / pl.col("_down"))
            .alias("upstream_share"),
        )
        .sort(["time_share", "requests"], descending=True, nulls_last=True)
    )
    return ENDPOINTS.validate(
        out.select(list(ENDPOINTS.columns)).with_columns(pl.col("requests").cast(pl.UInt32))
    )


def _stats(
    work: pl.DataFrame, value: str, qs: tuple[float, ...], names: dict[str, str]
) -> pl.DataFrame:
    """Grouped statistics of one column (its nulls dropped), renamed; keyed by ``_g``."""
    rows = work.select("_g", value).filter(pl.col(value).is_not_null() & pl.col(value).is_not_nan())
    stats = group_stats(rows, ["_g"], value=value, quantiles=qs)
    return stats.select(
        pl.col("_g").cast(pl.Int64), *(pl.col(k).alias(v) for k, v in names.items())
    )

"""API rules: a day of requests (and a HAR's page views) to ranked, evidenced fixes.

===============================  ========  ==================================================
rule                             severity  fires when (default thresholds, and their basis)
===============================  ========  ==================================================
``api.server-errors``            high      a route answers ≥ 1 % of its requests with a 5xx
                                           (and ≥ 5 of them); **critical** at ≥ 5 %
``api.slow-server-response``     high      a route's median server time is over 600 ms
                                           (Lighthouse's ``server-response-time`` audit
                                           fails a document whose server response takes
                                           over 600 ms); **medium** when only its p95 is.
                                           Server time is ``upstream_ms`` where logged,
                                           else ``duration_ms``
``api.uncompressed-text``        high      text responses (HTML, CSS, JavaScript, JSON, XML,
                                           SVG, plain text) of ≥ 1,400 bytes sent without
                                           ``Content-Encoding`` — Lighthouse's
                                           ``uses-text-compression`` ignores smaller ones
                                           (1,400 bytes: about one TCP packet)
``api.oversized-json``           medium    a JSON route's p95 response is over 100 KB: past
                                           ~14 KB (the TCP initial window) every doubling
                                           costs a round trip, and a client parses it all
                                           on its main thread — paginate or select fields
``api.missing-caching``          medium    cacheable ``GET`` 2xx responses of a route carry
                                           neither ``Cache-Control``/``Expires`` nor a
                                           validator (``ETag``/``Last-Modified``): every
                                           repeat is a full download (needs the header
                                           columns of a HAR, or ``$sent_http_*`` in the log)
``api.chatty-page``              medium    a page view (HAR) makes more than 10 API calls
                                           (``fetch``/``xhr``), or calls one URL twice:
                                           HTTP/1.1 browsers open 6 connections per host,
                                           so the rest queue, and each is a round trip
``api.payload-growth``           low       a route's hourly median payload grows by ≥ 10 %
                                           over the data's span, with Theil–Sen's 95 %
                                           interval above zero (≥ 6 hours with ≥ 5
                                           requests each)
===============================  ========  ==================================================

Impacts: waiting above 600 ms summed over a route's requests (``s``); bytes a
compression would save (``bytes``: 70 % of the uncompressed text, gzip's typical
saving); bytes over 100 KB summed over a route's JSON responses (``bytes``); the share
of requests failing (``%``); requests that could have been revalidated or cached
(``requests``); calls per page view over the threshold (``calls``); growth over the
span (``%``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from perflab.api.route_table import cache_control_column, cacheable, compressed, endpoints
from perflab.api.routes import template_routes
from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.recommend import Recommendation, rule, to_frame
from perflab.stats import theil_sen

__all__ = [
    "CHATTY_PAGE",
    "MISSING_CACHING",
    "OVERSIZED_JSON",
    "PAYLOAD_GROWTH",
    "SERVER_ERRORS",
    "SLOW_SERVER_RESPONSE",
    "TEXT_TYPES",
    "UNCOMPRESSED_TEXT",
    "findings",
]

SERVER_ERRORS = rule("api.server-errors", "high", "a route fails with server errors")
SLOW_SERVER_RESPONSE = rule("api.slow-server-response", "high", "the server answers slowly")
UNCOMPRESSED_TEXT = rule("api.uncompressed-text", "high", "text responses are sent uncompressed")
OVERSIZED_JSON = rule("api.oversized-json", "medium", "JSON responses are too big")
MISSING_CACHING = rule(
    "api.missing-caching", "medium", "cacheable responses have no caching headers"
)
CHATTY_PAGE = rule("api.chatty-page", "medium", "a page makes too many API calls")
PAYLOAD_GROWTH = rule("api.payload-growth", "low", "a route's responses keep growing")

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/ecmascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/ld+json",
    "application/manifest+json",
    "image/svg+xml",
    "+json",
    "+xml",
)
"""Content types that compress well (prefixes, or ``+json``/``+xml`` suffixes)."""

_GZIP_SAVING = 0.7  # gzip removes about 70 % of typical text (see compression_savings)
_MIN_ERRORS = 5
_MIN_GROWTH_WINDOWS = 6
_MIN_WINDOW_REQUESTS = 5
_EVIDENCE_ROUTES = 5


def _text(col: str = "content_type") -> pl.Expr:
    ct = pl.col(col).cast(pl.String).str.to_lowercase()
    starts = [p for p in TEXT_TYPES if not p.startswith("+")]
    ends = [p for p in TEXT_TYPES if p.startswith("+")]
    expr = pl.any_horizontal(*(ct.str.starts_with(p) for p in starts)) | pl.any_horizontal(
        *(ct.str.ends_with(p) for p in ends)
    )
    return expr.fill_null(False)


def _subject(method: str | None, route: str | None) -> str:
    return f"{method or '?'} {route or '?'}"


def _bytes(v: float) -> str:
    for unit, size in (("MB", 1e6), ("KB", 1e3)):
        if v >= size:
            return f"{v / size:,.1f} {unit}"
    return f"{v:,.0f} bytes"


def _server_errors(table: pl.DataFrame, rate: float, critical: float) -> list[Recommendation]:
    recs = []
    rows = table.filter((pl.col("error_rate") >= rate) & (pl.col("errors") >= _MIN_ERRORS))
    for r in rows.iter_rows(named=True):
        p95 = f"; p95 {r['p95_ms']:,.0f} ms" if r["p95_ms"] is not None else ""
        recs.append(
            Recommendation.of(
                SERVER_ERRORS,
                subject=_subject(r["method"], r["route"]),
                finding=f"{r['error_rate']:.1%} of {r['requests']:,} requests got a 5xx",
                action="look up these failures in the application log for this route; "
                "retries, timeouts and the dependency they call are the usual suspects",
                evidence=f"{r['errors']:,} server errors{p95}",
                impact=100 * r["error_rate"],
                impact_unit="%",
                severity="critical" if r["error_rate"] >= critical else None,
                score=100 * r["error_rate"] * np.log10(r["requests"] + 1),
            )
        )
    return recs


def _slow(frame: pl.DataFrame, table: pl.DataFrame, slow_ms: float) -> list[Recommendation]:
    server = "upstream_ms" if frame.get_column("upstream_ms").is_not_null().any() else "duration_ms"
    over = (
        frame.filter(pl.col(server) > slow_ms)
        .group_by("method", "route")
        .agg(((pl.col(server) - slow_ms).sum() / 1000).alias("_over_s"))
    )
    stats = frame.group_by("method", "route").agg(
        pl.col(server).median().alias("_p50"),
        pl.col(server).quantile(0.95, interpolation="linear").alias("_p95"),
    )
    rows = (
        stats.filter(pl.col("_p95") > slow_ms)
        .join(over, on=["method", "route"], how="left", nulls_equal=True)
        .join(
            table.select("method", "route", "requests"),
            on=["method", "route"],
            how="left",
            nulls_equal=True,
        )
    )
    recs = []
    for r in rows.iter_rows(named=True):
        median_slow = r["_p50"] > slow_ms
        what = "median" if median_slow else "p95"
        recs.append(
            Recommendation.of(
                SLOW_SERVER_RESPONSE,
                subject=_subject(r["method"], r["route"]),
                finding=f"the {what} server time is "
                f"{r['_p50'] if median_slow else r['_p95']:,.0f} ms (over {slow_ms:,.0f} ms)",
                action="profile the handler: slow queries (see the queries notebook), "
                "calls in series that could run in parallel, missing caching of its result",
                evidence=f"{r['requests']:,} requests; p50 {r['_p50']:,.0f} ms, "
                f"p95 {r['_p95']:,.0f} ms ({server})",
                impact=r["_over_s"] or 0.0,
                impact_unit="s",
                severity=None if median_slow else "medium",
            )
        )
    return recs


def _uncompressed(frame: pl.DataFrame, min_bytes: int) -> list[Recommendation]:
    if "content_type" not in frame.columns:
        return []
    flag = compressed(frame)
    rows = (
        frame.with_columns(flag.alias("_c"))
        .filter(
            pl.col("_c").is_not_null()
            & ~pl.col("_c")
            & _text()
            & (pl.col("bytes") >= min_bytes)
            & pl.col("status").is_between(200, 299)
        )
        .group_by("method", "route")
        .agg(
            pl.len().alias("n"),
            pl.col("bytes").sum().alias("sent"),
            pl.col("content_type").mode().first().alias("type"),
        )
    )
    recs = []
    for r in rows.iter_rows(named=True):
        saving = r["sent"] * _GZIP_SAVING
        recs.append(
            Recommendation.of(
                UNCOMPRESSED_TEXT,
                subject=_subject(r["method"], r["route"]),
                finding=f"{r['n']:,} {r['type']} responses of ≥ {min_bytes:,} bytes were "
                "sent without compression",
                action=f"enable compression for {r['type']} (nginx: gzip on; gzip_types "
                f"{r['type']}; brotli where available); see compression_savings for "
                "measured sizes",
                evidence=f"{_bytes(r['sent'])} sent uncompressed; gzip typically saves "
                f"{_GZIP_SAVING:.0%} of text",
                impact=saving,
                impact_unit="bytes",
            )
        )
    return recs


def _oversized(table: pl.DataFrame, frame: pl.DataFrame, max_bytes: float) -> list[Recommendation]:
    if "content_type" not in frame.columns:
        return []
    json_rows = frame.filter(
        pl.col("content_type").cast(pl.String).str.to_lowercase().str.contains("json")
    )
    excess = json_rows.group_by("method", "route").agg(
        (pl.col("bytes") - max_bytes).clip(lower_bound=0).sum().alias("_excess")
    )
    rows = table.join(excess, on=["method", "route"], how="inner", nulls_equal=True).filter(
        pl.col("size_p95_bytes") > max_bytes
    )
    recs = []
    for r in rows.iter_rows(named=True):
        recs.append(
            Recommendation.of(
                OVERSIZED_JSON,
                subject=_subject(r["method"], r["route"]),
                finding=f"p95 response {_bytes(r['size_p95_bytes'])} "
                f"(largest {_bytes(r['size_max_bytes'])})",
                action="paginate, let clients select fields, and drop what the page does not "
                "render; compress it if it is not",
                evidence=f"{r['requests']:,} requests, {_bytes(r['total_bytes'] or 0)} in all; "
                f"{_bytes(r['_excess'])} of it over {_bytes(max_bytes)} per response",
                impact=float(r["_excess"]),
                impact_unit="bytes",
            )
        )
    return recs


def _missing_caching(frame: pl.DataFrame) -> list[Recommendation]:
    cc = cache_control_column(frame)
    etag = next((c for c in ("etag", "sent_http_etag") if c in frame.columns), None)
    lm = next((c for c in ("last_modified", "sent_http_last_modified") if c in frame.columns), None)
    if cc is None or (etag is None and lm is None):
        return []
    expires = next((c for c in ("expires", "sent_http_expires") if c in frame.columns), None)
    bare = pl.col(cc).cast(pl.String).is_null()
    for v in (expires, etag, lm):
        if v is not None:
            bare = bare & pl.col(v).cast(pl.String).is_null()
    rows = (
        frame.filter(
            cacheable(frame) & (pl.col("method") == "GET") & pl.col("status").is_between(200, 299)
        )
        .group_by("method", "route")
        .agg(pl.len().alias("n"), bare.sum().alias("bare"))
        .filter(pl.col("bare") > 0)
    )
    recs = []
    for r in rows.iter_rows(named=True):
        recs.append(
            Recommendation.of(
                MISSING_CACHING,
                subject=_subject(r["method"], r["route"]),
                finding=f"{r['bare']:,} of {r['n']:,} cacheable GET responses have no "
                "Cache-Control, Expires, ETag or Last-Modified",
                action="send Cache-Control (see the CDN notebook's cache_policy) and an ETag, "
                "so repeats are served from cache or revalidated with a 304",
                evidence=f"route {r['route']}; response headers from the {cc} column",
                impact=float(r["bare"]),
                impact_unit="requests",
            )
        )
    return recs


def _chatty(frame: pl.DataFrame, max_calls: int) -> list[Recommendation]:
    if "page" not in frame.columns or "resource_type" not in frame.columns:
        return []
    api = frame.filter(
        pl.col("resource_type").is_in(["fetch", "xhr"]) & pl.col("page").is_not_null()
    )
    url = pl.concat_str(pl.col("path"), pl.lit("?"), pl.col("query").fill_null(""))
    per_page = api.group_by("page").agg(
        pl.len().alias("calls"),
        (pl.len() - url.n_unique()).alias("repeats"),
        pl.col("route").value_counts(sort=True).head(3).alias("top"),
        (
            pl.col("page_title").first() if "page_title" in api.columns else pl.lit(None, pl.String)
        ).alias("title"),
    )
    recs = []
    for r in per_page.filter((pl.col("calls") > max_calls) | (pl.col("repeats") > 0)).iter_rows(
        named=True
    ):
        top = ", ".join(f"{t['route']} ×{t['count']}" for t in r["top"])
        over = max(0, r["calls"] - max_calls)
        recs.append(
            Recommendation.of(
                CHATTY_PAGE,
                subject=f"page {r['page']}" + (f" ({r['title']})" if r["title"] else ""),
                finding=f"{r['calls']} API calls in one page view"
                + (
                    f", {r['repeats']} of them repeats of a URL already fetched"
                    if r["repeats"]
                    else ""
                ),
                action="batch the calls into one endpoint (or a GraphQL/BFF query), "
                "deduplicate repeated fetches, and fetch on the server where you render",
                evidence=f"most called: {top}",
                impact=float(over + r["repeats"]),
                impact_unit="calls",
            )
        )
    return recs


def _growth(frame: pl.DataFrame, min_growth: float, every: str) -> list[Recommendation]:
    if "time" not in frame.columns or frame.get_column("time").is_null().all():
        return []
    hourly = (
        frame.filter(pl.col("bytes").is_not_null() & pl.col("time").is_not_null())
        .group_by("method", "route", pl.col("time").dt.truncate(every).alias("w"))
        .agg(pl.len().alias("n"), pl.col("bytes").median().alias("size"))
        .filter(pl.col("n") >= _MIN_WINDOW_REQUESTS)
        .sort("w")
    )
    recs = []
    for (method, route), g in hourly.group_by("method", "route"):
        if g.height < _MIN_GROWTH_WINDOWS:
            continue
        x = (g.get_column("w").dt.epoch("s") / 3600).to_numpy().astype(float)
        y = g.get_column("size").to_numpy().astype(float)
        if np.all(y == y[0]):
            continue
        ts = theil_sen(x, y)
        start = ts.intercept + ts.slope * x[0]
        end = ts.intercept + ts.slope * x[-1]
        if not (start > 0 and ts.low_slope > 0):
            continue
        growth = end / start - 1
        if growth < min_growth:
            continue
        recs.append(
            Recommendation.of(
                PAYLOAD_GROWTH,
                subject=_subject(
                    method if isinstance(method, str) else None,
                    route if isinstance(route, str) else None,
                ),
                finding=f"median response grew {growth:.0%} over {x[-1] - x[0]:,.0f} hours "
                f"({_bytes(start)} → {_bytes(end)})",
                action="find what the responses gained (new fields, unbounded lists); "
                "cap list sizes and paginate before it becomes slow",
                evidence=f"Theil–Sen slope {ts.slope:,.0f} bytes/hour "
                f"(95 % CI {ts.low_slope:,.0f} to {ts.high_slope:,.0f}), {g.height} windows",
                impact=100 * growth,
                impact_unit="%",
            )
        )
    return recs


def findings(
    df: FrameLike,
    *,
    manifest: object | None = None,
    slow_ms: float = 600.0,
    error_rate: float = 0.01,
    critical_error_rate: float = 0.05,
    min_compress_bytes: int = 1_400,
    max_json_bytes: float = 100_000,
    max_page_calls: int = 10,
    min_growth: float = 0.10,
    growth_every: str = "1h",
    only: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every API rule that fires on these requests, in the shared schema, ranked.

    Parameters
    ----------
    df : frame-like
        :data:`~perflab.api.schema.REQUESTS` — an access log, a HAR (page and header
        columns make ``api.chatty-page`` and ``api.missing-caching`` possible), or
        both concatenated. Routes are templated first when there is no ``route``.
    manifest : optional
        A Next.js routes manifest for the templating.
    slow_ms, error_rate, critical_error_rate, min_compress_bytes, max_json_bytes,
    max_page_calls, min_growth, growth_every
        The thresholds of the module docstring's table.
    only : sequence of str, optional
        Rule ids to run (default: all).

    Returns
    -------
    polars.DataFrame
        :data:`perflab.recommend.RECOMMENDATIONS`, ranked. A rule whose columns the
        frame lacks stays quiet.

    Examples
    --------
    >>> df = pl.DataFrame({"method": ["GET"] * 20, "path": [f"/r/{i}" for i in range(20)],
    ...     "status": [500] * 6 + [200] * 14, "duration_ms": [900.0] * 20,
    ...     "bytes": [100] * 20})
    >>> for row in findings(df).select("rule", "subject", "severity").rows():
    ...     print(row)
    ('api.server-errors', 'GET /r/{id}', 'critical')
    ('api.slow-server-response', 'GET /r/{id}', 'high')
    """
    if min_compress_bytes < 0 or max_json_bytes <= 0 or max_page_calls < 0 or slow_ms <= 0:
        raise ParameterError("thresholds must be positive")
    frame = as_frame(df)
    if "route" not in frame.columns:
        frame = template_routes(frame, manifest)  # type: ignore[arg-type]
    for name, dtype in (("bytes", pl.Int64), ("upstream_ms", pl.Float64), ("query", pl.String)):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(name))
    if frame.height == 0:
        return to_frame([])
    table = endpoints(frame)
    wanted = set(only) if only is not None else None

    def on(r: object) -> bool:
        return wanted is None or getattr(r, "id", None) in wanted

    recs: list[Recommendation] = []
    if on(SERVER_ERRORS):
        recs += _server_errors(table, error_rate, critical_error_rate)
    if on(SLOW_SERVER_RESPONSE):
        recs += _slow(frame, table, slow_ms)
    if on(UNCOMPRESSED_TEXT):
        recs += _uncompressed(frame, min_compress_bytes)
    if on(OVERSIZED_JSON):
        recs += _oversized(table, frame, max_json_bytes)
    if on(MISSING_CACHING):
        recs += _missing_caching(frame)
    if on(CHATTY_PAGE):
        recs += _chatty(frame, max_page_calls)
    if on(PAYLOAD_GROWTH):
        recs += _growth(frame, min_growth, growth_every)
    return to_frame(recs)

"""CDN rules: the Cache-Control audit (and the hit ratios) to ranked recommendations.

Each problem of :func:`~perflab.cdn.audit_cache_headers` is a rule ``cdn.<problem>``;
:func:`cache_findings` gives one recommendation per problem found, aggregated over the
assets that have it, its evidence naming the worst few.

=============================  ========  ====================================================
rule                           severity  fires when (thresholds: :mod:`perflab.cdn.audit`)
=============================  ========  ====================================================
``cdn.cookie-on-cacheable``    high      ``Set-Cookie`` or ``Vary: Cookie``/``*`` on a
                               response a shared cache may store
``cdn.no-store-static``        high      ``no-store`` on a hashed/static/image/font file
``cdn.hashed-not-immutable``   medium    a content-hashed file without ``immutable`` or a
                               year's ``max-age``
``cdn.no-cache-headers``       medium    neither ``Cache-Control`` nor ``Expires``
``cdn.static-short-ttl``       low       an unhashed static file's TTL under Lighthouse's
                               ``uses-long-cache-ttl`` bar (≈ 96.5 days)
``cdn.html-no-swr``            low       HTML without ``stale-while-revalidate`` (or
                               ``no-store`` where ``no-cache`` + ETag would do)
``cdn.missing-validators``     low       a 2xx GET with neither ETag nor Last-Modified
``cdn.hit-ratio-drop``         high      the hit ratio of ``every`` windows (10 min) falls
                                         ``drop_points`` (15 points) or more under the
                                         day's median, in windows of ≥ 50 requests: a
                                         purge, a deploy that renamed every asset, an edge
                                         outage — with its start, end and the origin
                                         requests it cost
``cdn.low-hit-ratio``          medium    static content (images, scripts, styles, fonts,
                                         media: by content type, else extension) under one
                                         path prefix hits under ``target_hit_ratio`` (90 %),
                                         with ≥ 1 % of the requests
``cdn.provider-gap``           medium    with two providers, one's TTFB p95 in a region is ≥
                                         ``gap_ratio`` (1.5) × the other's, ≥ 100 requests
                                         each: steer that region to the faster one
=============================  ========  ====================================================

:func:`cache_findings` takes the audit; :func:`offload_findings` the requests (the last
three rules); :func:`top_recommendations` both.

Impacts: for the lifetime rules (``hashed-not-immutable``, ``static-short-ttl``,
``html-no-swr``, ``no-store-static``, ``no-cache-headers``) the requests that would
become cache hits with the recommended policy, ``Σ requests × (expected hit ratio
recommended − now)`` (``requests``; an asset whose lifetime is heuristic today does not
count, and the impact is null when no asset has a known rate and lifetime — the requests
concerned rank it then); for ``cookie-on-cacheable`` the requests to the
responses concerned (``requests``); for ``missing-validators`` the body bytes of those
responses, what revalidation would download again (``bytes``). For the hit-ratio rules
the origin requests above the target (``low-hit-ratio``) or above the day's median miss
ratio (``hit-ratio-drop``), and the p95 gap in ms (``provider-gap``).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from perflab.cdn.audit import AUDIT, PROBLEMS
from perflab.cdn.offload import compare_providers, hit_ratio, prepare_groups
from perflab.errors import ParameterError, SchemaError
from perflab.frames import FrameLike, as_frame
from perflab.recommend import Recommendation, Rule, rule, to_frame

__all__ = [
    "COOKIE_ON_CACHEABLE",
    "HASHED_NOT_IMMUTABLE",
    "HIT_RATIO_DROP",
    "HTML_NO_SWR",
    "LOW_HIT_RATIO",
    "MISSING_VALIDATORS",
    "NO_CACHE_HEADERS",
    "NO_STORE_STATIC",
    "PROVIDER_GAP",
    "RULES",
    "STATIC_SHORT_TTL",
    "cache_findings",
    "offload_findings",
    "top_recommendations",
]

HASHED_NOT_IMMUTABLE = rule(
    "cdn.hashed-not-immutable", "medium", "a content-hashed file is not cached for good"
)
STATIC_SHORT_TTL = rule("cdn.static-short-ttl", "low", "a static file's cache lifetime is short")
HTML_NO_SWR = rule("cdn.html-no-swr", "low", "HTML is fetched from the origin on every expiry")
NO_STORE_STATIC = rule("cdn.no-store-static", "high", "a static file may not be stored at all")
COOKIE_ON_CACHEABLE = rule(
    "cdn.cookie-on-cacheable", "high", "a cookie on a response a CDN may cache"
)
MISSING_VALIDATORS = rule(
    "cdn.missing-validators", "low", "no ETag or Last-Modified to revalidate with"
)
NO_CACHE_HEADERS = rule(
    "cdn.no-cache-headers", "medium", "no Cache-Control or Expires: heuristic caching"
)

RULES: dict[str, Rule] = {
    "hashed-not-immutable": HASHED_NOT_IMMUTABLE,
    "static-short-ttl": STATIC_SHORT_TTL,
    "html-no-swr": HTML_NO_SWR,
    "no-store-static": NO_STORE_STATIC,
    "cookie-on-cacheable": COOKIE_ON_CACHEABLE,
    "missing-validators": MISSING_VALIDATORS,
    "no-cache-headers": NO_CACHE_HEADERS,
}
"""Audit problem id → its rule."""

_ACTIONS = {
    "hashed-not-immutable": (
        "Serve content-hashed files with `Cache-Control: public, max-age=31536000, "
        "immutable`: their URL changes with their content"
    ),
    "static-short-ttl": (
        "Cache unhashed static files longer, with stale-while-revalidate to refresh them "
        "in the background — or put a content hash in their names and make them immutable"
    ),
    "html-no-swr": (
        "Let the CDN keep HTML briefly and refresh it in the background: `public, "
        "max-age=0, s-maxage=60, stale-while-revalidate=86400` with an ETag (keep "
        "`private` for personal pages)"
    ),
    "no-store-static": (
        "Drop `no-store` from static files: a file the same for everyone can be cached"
    ),
    "cookie-on-cacheable": (
        "Do not set cookies on cacheable responses (set them on the HTML or API response "
        "that needs them, marked `private`), and vary on Accept-Encoding, not Cookie"
    ),
    "missing-validators": (
        "Send an ETag (nginx `etag on;`, or your framework's) or Last-Modified so a stale "
        "copy is revalidated with a 304 instead of downloaded again"
    ),
    "no-cache-headers": (
        "Send an explicit Cache-Control on every response: without one browsers guess "
        "and a CDN applies its default TTL"
    ),
}
_LIFETIME = {
    "hashed-not-immutable",
    "static-short-ttl",
    "html-no-swr",
    "no-store-static",
    "no-cache-headers",
}
_AUDIT_IN = AUDIT.subset("path", "asset_class", "requests", "problem", "message", "should_be")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _one(problem: str, rows: pl.DataFrame, worst: int) -> Recommendation:
    requests = int(rows.get_column("requests").fill_null(0).sum())
    impact: float | None
    if problem == "missing-validators":
        weight = pl.col("bytes").fill_null(0).cast(pl.Float64)
        unit = "bytes"
    elif problem == "cookie-on-cacheable":
        weight = pl.col("requests").fill_null(0).cast(pl.Float64)
        unit = "requests"
    else:  # requests that would become hits with the recommended TTL
        weight = (pl.col("expected_hit_ratio_recommended") - pl.col("expected_hit_ratio")).clip(
            lower_bound=0.0
        ) * pl.col("requests").fill_null(0)
        unit = "requests"
    rows = rows.with_columns(weight.alias("_weight"))
    known = rows.get_column("_weight").drop_nulls()
    impact = float(known.sum()) if known.len() else None
    top = rows.sort(
        ["_weight", "requests", "path"], descending=[True, True, False], nulls_last=True
    )
    several_hosts = rows.get_column("host").n_unique() > 1
    named = [
        (f"{r['host']}{r['path']}" if several_hosts and r.get("host") else r["path"], r)
        for r in top.head(worst).iter_rows(named=True)
    ]
    evidence = "; ".join(_evidence(problem, name, r) for name, r in named)
    if rows.height > worst:
        evidence += f"; and {_count(rows.height - worst, 'more asset')}"
    if problem in _LIFETIME and impact is not None and impact >= 0.5:
        evidence += f"; ≈ {impact:,.0f} more cache hits with the recommended policy"
    classes = sorted(set(rows.get_column("asset_class").drop_nulls().to_list()))
    if rows.height == 1:
        subject, finding = named[0][0], str(top.get_column("message")[0])
    else:
        subject = f"{_count(rows.height, 'asset')} ({', '.join(classes)})"
        finding = f"{_count(rows.height, 'asset')} ({_count(requests, 'request')}): "
        finding += PROBLEMS[problem]
    fixes = (
        rows.select("asset_class", "should_be").unique().sort("asset_class").iter_rows()
        if problem in _LIFETIME
        else []
    )
    should = "; ".join(
        f"{cls}: {value}" if len(classes) > 1 else str(value) for cls, value in fixes if value
    )
    return Recommendation.of(
        RULES[problem],
        subject=subject,
        finding=finding,
        action=_ACTIONS[problem]
        + (f" — {should}" if should else "")
        + "; perflab.cdn.cache_policy() writes the configuration",
        evidence=evidence,
        impact=impact,
        impact_unit=unit,
        score=impact if impact is not None else float(requests),
    )


def _pct(share: float | None) -> str:
    if share is None:
        return "unknown (heuristic lifetime)"
    return f"{share:.1%}" if 0.995 <= share < 1 or 0 < share < 0.005 else f"{share:.0%}"


def _evidence(problem: str, name: str, r: dict[str, Any]) -> str:
    parts = [_count(int(r.get("requests") or 0), "request")]
    if problem == "missing-validators":
        if r.get("bytes") is not None:
            parts.append(f"{int(r['bytes']):,} bytes")
    elif problem == "cookie-on-cacheable":
        parts.insert(0, f"`{r['cache_control']}`" if r.get("cache_control") else "no Cache-Control")
        if r.get("set_cookie"):
            parts.append("Set-Cookie")
        if r.get("vary"):
            parts.append(f"Vary: {r['vary']}")
    else:
        parts.insert(0, f"`{r['cache_control']}`" if r.get("cache_control") else "no Cache-Control")
        hit, rec = r.get("expected_hit_ratio"), r.get("expected_hit_ratio_recommended")
        if rec is not None:
            parts.append(f"hit ratio {_pct(hit)} → {_pct(rec)}")
    return f"{name} ({', '.join(parts)})"


def cache_findings(audit: FrameLike, *, worst: int = 5) -> pl.DataFrame:
    """Recommendations from a Cache-Control audit: one per problem found.

    Parameters
    ----------
    audit : frame-like
        :func:`~perflab.cdn.audit_cache_headers` output (at least ``path``,
        ``asset_class``, ``requests``, ``problem``, ``message``, ``should_be``; the
        hit-ratio and ``bytes`` columns feed the impact when present).
    worst : int
        How many assets the evidence names (the ones the fix helps most first).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.recommend.RECOMMENDATIONS`, ranked; empty when the audit
        found nothing. Rules and impacts as in this module's table.

    Raises
    ------
    SchemaError
        A required audit column is missing.

    Examples
    --------
    >>> import datetime as dt
    >>> from perflab.cdn.audit import audit_cache_headers
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> requests = pl.DataFrame({
    ...     "time": [t0 + dt.timedelta(seconds=s) for s in range(0, 1000, 10)],
    ...     "method": "GET", "path": "/static/js/main.8f3e2a1b.js", "status": 200,
    ...     "bytes": 50_000, "cache_control": "public, max-age=60", "etag": '"x"'})
    >>> recs = cache_findings(audit_cache_headers(requests))
    >>> recs.select("rule", "severity", "impact_unit").row(0)
    ('cdn.hashed-not-immutable', 'medium', 'requests')
    >>> round(recs.get_column("impact")[0])  # of 100 requests, 86 hit now, ~100 then
    14
    """
    frame = as_frame(audit)
    frame = _AUDIT_IN.validate(frame) if frame.height or frame.width else AUDIT.empty()
    frame = AUDIT.conform(frame)
    recs = []
    for problem in PROBLEMS:
        rows = frame.filter(pl.col("problem") == problem)
        if rows.height:
            recs.append(_one(problem, rows, max(1, int(worst))))
    return to_frame(recs)


LOW_HIT_RATIO = rule("cdn.low-hit-ratio", "medium", "static content misses the edge cache")
HIT_RATIO_DROP = rule("cdn.hit-ratio-drop", "high", "the hit ratio fell for a while")
PROVIDER_GAP = rule("cdn.provider-gap", "medium", "one CDN is much slower in a region")

_STATIC_TYPES = ("image/", "text/css", "javascript", "font/", "video/", "audio/")
_STATIC_EXT = r"\.(?:js|mjs|css|png|jpe?g|gif|webp|avif|svg|ico|woff2?|ttf|otf|mp4|webm)$"
_MIN_SHARE = 0.01
_MIN_WINDOW = 50
_MIN_GAP_REQUESTS = 100


def _static(frame: pl.DataFrame) -> pl.Expr:
    by_ext = pl.col("path").str.to_lowercase().str.contains(_STATIC_EXT).fill_null(False)
    if "content_type" not in frame.columns:
        return by_ext
    ct = pl.col("content_type").cast(pl.String).str.to_lowercase()
    by_type = pl.any_horizontal(*(ct.str.contains(t, literal=True) for t in _STATIC_TYPES))
    return pl.when(ct.is_null()).then(by_ext).otherwise(by_type.fill_null(False))


def _low_hit_ratio(frame: pl.DataFrame, target: float) -> list[Recommendation]:
    static = frame.filter(_static(frame))
    if static.height == 0:
        return []
    table = hit_ratio(static, by="prefix")
    total = frame.height
    recs = []
    rows = table.filter((pl.col("hit_ratio") < target) & (pl.col("requests") >= _MIN_SHARE * total))
    for r in rows.iter_rows(named=True):
        known = r["requests"] - r["unknown"]
        avoidable = r["origin_requests"] - (1 - target) * known
        recs.append(
            Recommendation.of(
                LOW_HIT_RATIO,
                subject=f"static files under {r['prefix']}",
                finding=f"hit ratio {r['hit_ratio']:.0%} (byte hit ratio "
                f"{(r['byte_hit_ratio'] or 0):.0%}) on {r['requests']:,} requests",
                action="give them a long TTL (content-hashed names: max-age=31536000, "
                "immutable), keep query strings and cookies out of the cache key, and "
                "drop Vary headers other than Accept-Encoding; see audit_cache_headers",
                evidence=f"{r['origin_requests']:,} went to the origin; misses took "
                f"{(r['origin_p50_ms'] or 0):,.0f} ms at the median against "
                f"{(r['edge_p50_ms'] or 0):,.0f} ms for hits",
                impact=max(0.0, avoidable),
                impact_unit="origin requests",
            )
        )
    return recs


def _drops(frame: pl.DataFrame, every: str, points: float) -> list[Recommendation]:
    if "time" not in frame.columns or frame.get_column("time").is_null().all():
        return []
    by = ["provider"] if "provider" in frame.columns else []
    windows = hit_ratio(frame.filter(pl.col("time").is_not_null()), by=by or None, every=every)
    recs = []
    groups = windows.partition_by(by, as_dict=True) if by else {("all",): windows}
    for key, g in groups.items():
        g = g.sort("window_start")
        middle = g.filter(pl.col("requests") >= _MIN_WINDOW)["hit_ratio"].median()
        if not isinstance(middle, float):
            continue
        median = middle
        low = (
            (pl.col("hit_ratio") <= median - points) & (pl.col("requests") >= _MIN_WINDOW)
        ).fill_null(False)
        g = g.with_columns(low.alias("_low"))
        episode = (pl.col("_low") != pl.col("_low").shift(1)).fill_null(True).cum_sum()
        g = g.with_columns(episode.alias("_ep"))
        for ep in g.filter("_low").partition_by("_ep"):
            start, end = ep["window_start"].to_list()[0], ep["window_start"].to_list()[-1]
            worst = float(ep["hit_ratio"].min())  # type: ignore[arg-type]
            known = int((ep["requests"] - ep["unknown"]).sum())
            extra = int(ep["origin_requests"].sum()) - (1 - median) * known
            who = key[0] if by else "all traffic"
            recs.append(
                Recommendation.of(
                    HIT_RATIO_DROP,
                    subject=f"{who} from {start:%Y-%m-%d %H:%M} UTC",
                    finding=f"hit ratio fell to {worst:.0%} (the day's median is "
                    f"{median:.0%}) from {start:%H:%M} to the window starting {end:%H:%M}",
                    action="check what happened then: a purge (purge by tag or path, not "
                    "everything), a deploy that renamed every asset, an origin shield "
                    "outage; warm the cache or stagger purges",
                    evidence=f"{ep.height} window(s) of {every}; {ep['requests'].sum():,} "
                    "requests in them",
                    impact=max(0.0, float(extra)),
                    impact_unit="origin requests",
                )
            )
    return recs


def _gaps(frame: pl.DataFrame, by: str, ratio: float) -> list[Recommendation]:
    if "provider" not in frame.columns:
        return []
    frame = frame.filter(pl.col("provider").is_not_null())
    if frame["provider"].n_unique() < 2:
        return []
    try:
        frame = prepare_groups(frame, [by], 1)
    except SchemaError:
        return []
    cmp = compare_providers(frame, by, min_requests=_MIN_GAP_REQUESTS)
    recs = []
    for (region,), g in cmp.group_by(by):
        g = g.filter(pl.col("ttfb_p95_ms").is_not_null()).sort("ttfb_p95_ms")
        if g.height < 2:
            continue
        fast, slow = g.row(0, named=True), g.row(-1, named=True)
        if slow["ttfb_p95_ms"] < ratio * fast["ttfb_p95_ms"]:
            continue
        recs.append(
            Recommendation.of(
                PROVIDER_GAP,
                subject=f"{by} {region}",
                finding=f"{slow['provider']} answers in {slow['ttfb_p95_ms']:,.0f} ms at p95 "
                f"there, {fast['provider']} in {fast['ttfb_p95_ms']:,.0f} ms",
                action=f"steer {region} to {fast['provider']} (DNS or traffic-manager "
                f"weights) or find why {slow['provider']} is slow there (its hit ratio "
                f"{(slow['hit_ratio'] or 0):.0%} against {(fast['hit_ratio'] or 0):.0%})",
                evidence=f"{slow['requests']:,} and {fast['requests']:,} requests; p50 "
                f"{slow['ttfb_p50_ms']:,.0f} vs {fast['ttfb_p50_ms']:,.0f} ms",
                impact=slow["ttfb_p95_ms"] - fast["ttfb_p95_ms"],
                impact_unit="ms",
            )
        )
    return recs


def offload_findings(
    df: FrameLike,
    *,
    target_hit_ratio: float = 0.9,
    every: str = "10m",
    drop_points: float = 0.15,
    compare_by: str = "country",
    gap_ratio: float = 1.5,
) -> pl.DataFrame:
    """The hit-ratio rules on CDN (or access-log) requests, in the shared schema, ranked.

    Parameters
    ----------
    df : frame-like
        :data:`~perflab.cdn.schema.CDN_REQUESTS` (several providers concatenated for
        ``cdn.provider-gap``) or an access log with ``cache_status``.
    target_hit_ratio, every, drop_points, compare_by, gap_ratio
        The thresholds of the table above.

    Returns
    -------
    polars.DataFrame
        :data:`perflab.recommend.RECOMMENDATIONS`.

    Examples
    --------
    >>> f = pl.DataFrame({"path": ["/i/a.png"] * 10, "cache_hit": [True] * 5 + [False] * 5,
    ...     "bytes": [1] * 10, "ttfb_ms": [1.0] * 10})
    >>> offload_findings(f)["rule"].to_list()
    ['cdn.low-hit-ratio']
    """
    if not 0 < target_hit_ratio <= 1 or not 0 < drop_points < 1 or gap_ratio <= 1:
        raise ParameterError("target_hit_ratio in (0, 1], drop_points in (0, 1), gap_ratio > 1")
    frame = as_frame(df)
    if frame.height == 0:
        return to_frame([])
    recs = _low_hit_ratio(frame, target_hit_ratio)
    recs += _drops(frame, every, drop_points)
    recs += _gaps(frame, compare_by, gap_ratio)
    return to_frame(recs)


def top_recommendations(
    requests: FrameLike | None = None,
    *,
    audit: FrameLike | None = None,
    n: int | None = None,
    **thresholds: Any,
) -> pl.DataFrame:
    """Every CDN rule that fires, on the requests and on a header audit, ranked.

    Parameters
    ----------
    requests : frame-like, optional
        CDN or access-log requests for :func:`offload_findings`.
    audit : frame-like, optional
        :func:`~perflab.cdn.audit_cache_headers` output for :func:`cache_findings`.
    n : int, optional
        Keep the top ``n``.
    **thresholds
        Passed to :func:`offload_findings`.

    Returns
    -------
    polars.DataFrame
        :data:`perflab.recommend.RECOMMENDATIONS`, ranked.

    Examples
    --------
    >>> top_recommendations().height
    0
    """
    from perflab.recommend import rank

    parts = []
    if requests is not None:
        parts.append(offload_findings(requests, **thresholds))
    if audit is not None:
        parts.append(cache_findings(audit))
    out = rank(pl.concat(parts)) if parts else to_frame([])
    return out.head(n) if n is not None else out

"""The Cache-Control audit: every asset's caching headers against what its class needs.

:func:`audit_cache_headers` reads the response headers a HAR or an access log carries
and gives one row per (asset, problem); :func:`header_summary` the picture per asset
class. :mod:`perflab.cdn.rules` turns the audit into ranked recommendations and
:func:`perflab.cdn.cache_policy` writes the fix as configuration.

The problems (ids are stable; ``cdn.<id>`` is the rule)
-------------------------------------------------------
=========================  ===================================================================
problem                    fires for
=========================  ===================================================================
``hashed-not-immutable``   a content-hashed file (:func:`~perflab.cdn.headers.asset_class`)
                           without ``immutable`` or with ``max-age`` under a year
                           (31,536,000 s). Its URL changes with its content, so it can be
                           cached for good; without ``immutable`` browsers revalidate it on
                           every reload (RFC 8246; web.dev "Love your cache")
``static-short-ttl``       an unhashed script, style, image, font or media file whose
                           browser TTL (``max-age``, else ``Expires − Date``) is under
                           ``min_static_ttl_s`` — by default 8,337,600 s (2,316 h ≈ 96.5
                           days), the TTL at which Lighthouse's ``uses-long-cache-ttl``
                           stops flagging an asset (its cache-hit probability, interpolated
                           from Chrome's revisit-age deciles, passes 0.925). As Lighthouse
                           does, responses with ``no-cache``, ``no-store``, ``private`` or
                           ``must-revalidate`` are left alone (a deliberate choice), and so
                           are those with a ``stale-while-revalidate`` of a day or more
                           (Lighthouse skips any ``stale-while-revalidate``: a minute of it
                           does not make a short TTL long)
``html-no-swr``            an HTML response that is not ``private`` and has no
                           ``stale-while-revalidate`` (RFC 5861): each expiry makes a user
                           wait for the origin; or one with ``no-store`` and no
                           ``Set-Cookie`` where ``no-cache`` with an ETag would revalidate
                           for a 304 instead of a full download
``no-store-static``        ``no-store`` on a hashed, static, image or font file: nothing
                           may keep it, every view downloads it again
``cookie-on-cacheable``    ``Set-Cookie``, or ``Vary: Cookie``/``Vary: *``, on a response a
                           shared cache may store (shared TTL > 0: ``s-maxage``/``max-age``/
                           ``Expires`` without ``private``/``no-store``/``no-cache``). A CDN
                           either refuses to cache it or — worse — hands one user's cookie
                           to the next (MDN "Cache-Control"; RFC 9111 §3, §4.1)
``missing-validators``     a GET answered 2xx with neither ``ETag`` nor ``Last-Modified``
                           and never a 304: once stale, revalidation costs a full download
                           (RFC 9111 §4.3). Immutable hashed files and ``no-store``
                           responses are exempt
``no-cache-headers``       a response of any class but ``other`` with no ``Cache-Control``
                           and no ``Expires``: browsers fall back to heuristic freshness
                           (RFC 9111 §4.2.2: 10 % of the time since ``Last-Modified``) and
                           CDNs to their default TTL (CloudFront: 24 h)
=========================  ===================================================================

What the fix buys: the expected hit ratio of a TTL cache
--------------------------------------------------------
Requests for one object arriving as a Poisson process of rate λ, a cache that keeps the
object ``T`` seconds after a miss serves ``λT`` hits for each miss, so its hit ratio is
``λT / (1 + λT)`` (Jung, Berger and Balakrishnan, "Modeling TTL-based Internet Caches",
IEEE INFOCOM 2003). ``expected_hit_ratio`` uses the asset's shared-cache TTL
(``ttl_s``, 0 when it may not be cached; null when the TTL is heuristic) and
``expected_hit_ratio_recommended`` the TTL of the recommended policy for its class
(:data:`perflab.cdn.policy.RECOMMENDED`); λ is the asset's requests over the time the
frame spans, or ``request_rate``. The model counts what one cache sees: a HAR of one
page load spans seconds, so give ``request_rate`` (requests per second) from your
traffic there.

Missing header columns
----------------------
The audit checks what the frame allows and names what it could not: each check needs
its columns (``Cache-Control`` for the TTL checks, ``ETag`` and ``Last-Modified`` for
``missing-validators``, ``Set-Cookie`` or ``Vary`` for ``cookie-on-cacheable``), and a
check without them is skipped with one log warning naming the check and the columns
(and, for nginx, the ``$sent_http_…`` variables that would log them). A frame with no
response-header column at all raises :class:`~perflab.errors.ParameterError`: an empty
audit would read as "all good".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import polars as pl

from perflab.cdn.headers import (
    ASSET_CLASSES,
    ONE_YEAR_S,
    asset_class,
    cache_directives,
    header_column,
)
from perflab.cdn.policy import RECOMMENDED, ClassPolicy
from perflab.errors import ParameterError, SchemaError
from perflab.frames import UTC_DATETIME, FrameLike, Schema, as_frame

__all__ = [
    "AUDIT",
    "LIGHTHOUSE_MIN_TTL_S",
    "PROBLEMS",
    "SUMMARY",
    "audit_by_route",
    "audit_cache_headers",
    "expected_hit_ratio",
    "header_summary",
]

logger = logging.getLogger(__name__)

LIGHTHOUSE_MIN_TTL_S = 2316 * 3600
"""8,337,600 s: below this TTL Lighthouse's ``uses-long-cache-ttl`` flags a static asset
(cache-hit probability ≤ 0.925, linear between Chrome's 168 h and 8,760 h deciles)."""

PROBLEMS: dict[str, str] = {
    "hashed-not-immutable": "a content-hashed file is not cached for good",
    "static-short-ttl": "a static file's cache lifetime is short",
    "html-no-swr": "HTML is fetched from the origin on every expiry",
    "no-store-static": "a static file may not be stored at all",
    "cookie-on-cacheable": "a cookie on a response a CDN may cache",
    "missing-validators": "no ETag or Last-Modified to revalidate with",
    "no-cache-headers": "no Cache-Control or Expires: heuristic caching",
}
"""Problem id → what it means, in the order the audit lists them."""

AUDIT = Schema(
    "cache-header audit",
    {
        "method": pl.String,
        "host": pl.String,
        "path": pl.String,
        "asset_class": pl.String,
        "status": pl.Int64,
        "content_type": pl.String,
        "requests": pl.Int64,
        "bytes": pl.Int64,
        "cache_control": pl.String,
        "expires": pl.String,
        "etag": pl.String,
        "last_modified": pl.String,
        "vary": pl.String,
        "set_cookie": pl.Boolean,
        "header_variants": pl.Int64,
        "ttl_s": pl.Int64,
        "browser_ttl_s": pl.Int64,
        "problem": pl.String,
        "message": pl.String,
        "should_be": pl.String,
        "request_rate": pl.Float64,
        "expected_hit_ratio": pl.Float64,
        "recommended_ttl_s": pl.Int64,
        "expected_hit_ratio_recommended": pl.Float64,
    },
)
"""Columns of :func:`audit_cache_headers` (see its Returns)."""

SUMMARY = Schema(
    "cache-header summary",
    {
        "asset_class": pl.String,
        "assets": pl.Int64,
        "requests": pl.Int64,
        "no_header_share": pl.Float64,
        "public_share": pl.Float64,
        "private_share": pl.Float64,
        "no_store_share": pl.Float64,
        "no_cache_share": pl.Float64,
        "max_age_share": pl.Float64,
        "s_maxage_share": pl.Float64,
        "swr_share": pl.Float64,
        "immutable_share": pl.Float64,
        "validator_share": pl.Float64,
        "median_ttl_s": pl.Float64,
    },
)
"""Columns of :func:`header_summary`."""

_HEADERS = ("cache_control", "expires", "etag", "last_modified", "vary", "set_cookie")
_NGINX_VARS = {h: f"$sent_http_{h}" for h in _HEADERS}
_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    # problem → alternatives of column sets; the check runs when one set is present
    "hashed-not-immutable": (("cache_control",),),
    "static-short-ttl": (("cache_control",),),
    "html-no-swr": (("cache_control",),),
    "no-store-static": (("cache_control",),),
    "cookie-on-cacheable": (("cache_control", "set_cookie"), ("cache_control", "vary")),
    "missing-validators": (("etag", "last_modified"),),
    "no-cache-headers": (("cache_control",),),
}
_STATIC_CLASSES = ("static", "image", "font")
_STORED_CLASSES = ("hashed", "static", "image", "font")


def expected_hit_ratio(rate: pl.Expr, ttl_s: pl.Expr) -> pl.Expr:
    """``λT / (1 + λT)``: the hit ratio of a TTL cache under Poisson requests.

    Jung, Berger and Balakrishnan (INFOCOM 2003): each miss starts a TTL of ``T``
    seconds during which ``λT`` requests hit. Null when either input is null.

    Examples
    --------
    >>> pl.select(expected_hit_ratio(pl.lit(0.1), pl.lit(90))).item()
    0.9
    """
    lt = rate * ttl_s.cast(pl.Float64)
    return lt / (1.0 + lt)


def _frame_span_s(frame: pl.DataFrame) -> float | None:
    if "time" not in frame.columns or not isinstance(frame.schema["time"], pl.Datetime):
        return None
    t = frame.get_column("time").drop_nulls()
    if t.len() < 2:
        return None
    span = (t.max() - t.min()).total_seconds()  # type: ignore[operator,union-attr]
    return float(span) if span > 0 else None


def _checks(available: set[str]) -> tuple[set[str], dict[str, list[str]]]:
    """(problems that can run, problem → the columns it misses)."""
    runnable, skipped = set(), {}
    for problem, alternatives in _NEEDS.items():
        if any(all(c in available for c in alt) for alt in alternatives):
            runnable.add(problem)
        else:
            skipped[problem] = sorted({c for alt in alternatives for c in alt} - available)
    return runnable, skipped


def _standardise(frame: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
    """Copy each header column found to its HAR name; set_cookie as a boolean."""
    available, cols = set(), []
    for h in _HEADERS:
        name = header_column(frame, h)
        if name is None:
            continue
        available.add(h)
        col = pl.col(name)
        if h == "set_cookie":
            if frame.schema[name] != pl.Boolean:
                text = col.cast(pl.String).str.strip_chars()
                col = text.is_not_null() & (text != "") & (text != "-")
            cols.append(col.alias(h))
        else:
            cols.append(col.cast(pl.String).alias(h))
    return frame.with_columns(cols), available


def _human(seconds: pl.Expr) -> pl.Expr:
    s = seconds.cast(pl.Float64)
    return (
        pl.when(s.is_null())
        .then(pl.lit("no lifetime"))
        .when(s >= 86400 * 365)
        .then(pl.format("{} y", (s / (86400 * 365)).round(1)))
        .when(s >= 86400)
        .then(pl.format("{} d", (s / 86400).round(1)))
        .when(s >= 3600)
        .then(pl.format("{} h", (s / 3600).round(1)))
        .otherwise(pl.format("{} s", s.cast(pl.Int64)))
    )


def _prepare(df: FrameLike) -> tuple[pl.DataFrame, set[str], float | None]:
    """The audited rows (GET/HEAD, 2xx/304) with standard header columns and classes;
    the header columns found; the time the whole frame spans (s)."""
    frame = as_frame(df)
    if "path" not in frame.columns:
        raise SchemaError("requests", missing=["path"])
    frame, available = _standardise(frame)
    span = _frame_span_s(frame)
    if "method" in frame.columns:
        method = pl.col("method").cast(pl.String).str.to_uppercase()
        frame = frame.with_columns(method).filter(method.is_in(["GET", "HEAD"]))
    else:
        frame = frame.with_columns(pl.lit("GET").alias("method"))
    if "status" in frame.columns:
        frame = frame.filter(pl.col("status").is_between(200, 299) | (pl.col("status") == 304))
    else:
        frame = frame.with_columns(pl.lit(None, pl.Int64).alias("status"))
    if "asset_class" not in frame.columns:
        frame = asset_class(frame).drop("hash_token")
    date = header_column(frame, "date")
    defaults = {
        "host": pl.lit(None, pl.String),
        "time": pl.lit(None, UTC_DATETIME),
        "bytes": pl.lit(None, pl.Int64),
        "content_type": pl.lit(None, pl.String),
        "from_cache": pl.lit(False),
        "date": pl.col(date).cast(pl.String) if date else pl.lit(None, pl.String),
    }
    frame = frame.with_columns(e.alias(c) for c, e in defaults.items() if c not in frame.columns)
    return frame, available, span


def _assets(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One row per asset: its most frequent header combination, counts and flags."""
    hdr = [h for h in _HEADERS if h in frame.columns and h != "set_cookie"]
    frame = frame.with_row_index("_row")
    combos = (
        frame.group_by([*keys, *hdr])
        .agg(
            pl.len().alias("_n"),
            pl.col("_row").max().alias("_last"),
            pl.col("time").min(),
            pl.col("date").drop_nulls().first(),
        )
        .sort(["_n", "_last"], descending=True)
    )
    variants = combos.group_by(keys).agg(pl.len().cast(pl.Int64).alias("header_variants"))
    rep = combos.group_by(keys, maintain_order=True).first().drop("_n", "_last")
    status = pl.col("status")
    ok = status.is_between(200, 299)
    stats = frame.group_by(keys).agg(
        (~pl.col("from_cache").fill_null(False)).sum().cast(pl.Int64).alias("requests"),
        pl.col("bytes").sum().cast(pl.Int64),
        status.filter(ok).mode().sort().first().alias("status"),
        (status == 304).any().alias("_revalidated"),
        ok.fill_null(True).any().alias("_ok"),
        pl.col("asset_class").mode().sort().first(),
        pl.col("content_type").drop_nulls().mode().sort().first(),
        pl.col("set_cookie").fill_null(False).any()
        if "set_cookie" in frame.columns
        else pl.lit(None, pl.Boolean).alias("set_cookie"),
    )
    out = rep.join(stats, on=keys, how="left", nulls_equal=True).join(
        variants, on=keys, how="left", nulls_equal=True
    )
    return out.with_columns(
        pl.lit(None, pl.String).alias(h) for h in _HEADERS if h not in out.columns
    )


def _problem_rows(
    assets: pl.DataFrame,
    runnable: set[str],
    recommended: Mapping[str, ClassPolicy],
    min_static_ttl_s: int,
) -> pl.DataFrame:
    cls = pl.col("asset_class")
    cc = pl.col("cache_control")
    has_cc = cc.is_not_null() & (cc.str.strip_chars() != "")
    no_store = pl.col("no_store").fill_null(False)
    no_cache = pl.col("no_cache").fill_null(False)
    private = pl.col("private").fill_null(False)
    immutable = pl.col("immutable").fill_null(False)
    max_age = pl.col("max_age_s")
    swr = pl.col("swr_s")
    ok = pl.col("_ok").fill_null(False)
    is_get = pl.col("method").fill_null("GET") == "GET"
    cookie = pl.col("set_cookie").fill_null(False)
    vary = pl.col("vary").str.to_lowercase()
    vary_cookie = vary.str.contains(r"(?:^|,)\s*(?:cookie|\*)\s*(?:,|$)").fill_null(False)
    shared = pl.col("ttl_s").fill_null(0) > 0
    rec_cc = cls.replace_strict(
        {k: v.cache_control for k, v in recommended.items()}, default=None, return_dtype=pl.String
    )
    quoted = pl.format("`{}`", cc)
    conditions: dict[str, tuple[pl.Expr, pl.Expr, pl.Expr]] = {
        "hashed-not-immutable": (
            (cls == "hashed") & ~no_store & (~immutable | max_age.fill_null(0).lt(ONE_YEAR_S)),
            pl.when(~has_cc)
            .then(pl.lit("content-hashed file served without Cache-Control"))
            .otherwise(
                pl.concat_str(
                    [
                        pl.lit("content-hashed file served with "),
                        quoted,
                        pl.when(max_age.fill_null(0) < ONE_YEAR_S).then(
                            pl.format(": max-age {} is under a year", _human(max_age))
                        ),
                        pl.when(~immutable).then(
                            pl.lit(", no `immutable`: browsers revalidate it on reload")
                        ),
                    ],
                    ignore_nulls=True,
                )
            ),
            pl.lit("Cache-Control: ") + rec_cc,
        ),
        "static-short-ttl": (
            cls.is_in(_STATIC_CLASSES)
            & (has_cc | pl.col("expires").is_not_null())
            & ~no_store
            & ~no_cache
            & ~private
            & ~pl.col("must_revalidate").fill_null(False)
            & ~(swr.fill_null(0) >= 86400)
            & pl.col("browser_ttl_s").fill_null(0).lt(min_static_ttl_s),
            pl.format(
                "{} file cached for {} (from {}): under the {} Lighthouse's uses-long-cache-ttl "
                "expects",
                cls,
                _human(pl.col("browser_ttl_s")),
                pl.when(has_cc).then(quoted).otherwise(pl.format("Expires {}", pl.col("expires"))),
                _human(pl.lit(min_static_ttl_s)),
            ),
            pl.lit("Cache-Control: ") + rec_cc,
        ),
        "html-no-swr": (
            (cls == "html")
            & ok
            & has_cc
            & ~private
            & ((no_store & ~cookie) | (~no_store & swr.is_null())),
            pl.when(no_store)
            .then(
                pl.format(
                    "HTML served with {}: every view downloads it in full; with no-cache and "
                    "an ETag a repeat view costs a 304",
                    quoted,
                )
            )
            .otherwise(
                pl.format(
                    "HTML served with {} and no stale-while-revalidate: when it expires, users "
                    "wait for the origin",
                    quoted,
                )
            ),
            pl.lit("Cache-Control: ") + rec_cc + pl.lit("; plus an ETag"),
        ),
        "no-store-static": (
            cls.is_in(_STORED_CLASSES) & no_store,
            pl.format("{} file served with {}: no cache may keep it", cls, quoted),
            pl.lit("Cache-Control: ") + rec_cc,
        ),
        "cookie-on-cacheable": (
            shared & (cookie | vary_cookie),
            pl.concat_str(
                [
                    pl.format("response a shared cache may keep for {}", _human(pl.col("ttl_s"))),
                    pl.when(cookie).then(pl.lit(" sets a cookie (Set-Cookie)")),
                    pl.when(cookie & vary_cookie).then(pl.lit(" and")),
                    pl.when(vary_cookie).then(pl.format(" varies on `Vary: {}`", pl.col("vary"))),
                    pl.lit(": a CDN will not cache it, or will hand one user's cookie to others"),
                ],
                ignore_nulls=True,
            ),
            pl.when(cls.is_in(["html", "api"]))
            .then(pl.lit("Cache-Control: private (it is personal), or no Set-Cookie/Vary: Cookie"))
            .otherwise(pl.lit("no Set-Cookie and no Vary: Cookie on this file")),
        ),
        "missing-validators": (
            (cls != "other")
            & is_get
            & ok
            & ~no_store
            & ~((cls == "hashed") & immutable)
            & pl.col("etag").is_null()
            & pl.col("last_modified").is_null()
            & ~pl.col("_revalidated").fill_null(False),
            pl.format(
                "{} response with neither ETag nor Last-Modified: once stale it is downloaded "
                "again in full",
                cls,
            ),
            pl.lit("ETag (nginx: etag on;) or Last-Modified"),
        ),
        "no-cache-headers": (
            (cls != "other") & ~has_cc & pl.col("expires").is_null(),
            pl.when(cls == "api")
            .then(
                pl.lit(
                    "API response without Cache-Control or Expires: browsers guess, and a CDN "
                    "may cache it for its default TTL (CloudFront: 24 h)"
                )
            )
            .otherwise(
                pl.format(
                    "{} response without Cache-Control or Expires: caches guess its lifetime "
                    "(heuristic freshness)",
                    cls,
                )
            ),
            pl.lit("Cache-Control: ") + rec_cc,
        ),
    }
    parts = []
    for problem in PROBLEMS:
        if problem not in runnable:
            continue
        when, message, should = conditions[problem]
        parts.append(
            assets.filter(when.fill_null(False)).with_columns(
                pl.lit(problem).alias("problem"),
                message.alias("message"),
                should.alias("should_be"),
            )
        )
    if not parts:
        return assets.clear().with_columns(
            pl.lit(None, pl.String).alias(c) for c in ("problem", "message", "should_be")
        )
    return pl.concat(parts, how="vertical_relaxed")


def audit_cache_headers(
    df: FrameLike,
    *,
    request_rate: float | Mapping[str, float] | None = None,
    min_static_ttl_s: int = LIGHTHOUSE_MIN_TTL_S,
    recommended: Mapping[str, ClassPolicy] | None = None,
) -> pl.DataFrame:
    """Audit the caching headers of every asset in a requests frame.

    Parameters
    ----------
    df : frame-like
        :data:`~perflab.api.REQUESTS` rows (``read_har``, ``read_nginx_log`` …) with
        ``path`` and response-header columns: ``cache_control``, ``expires``,
        ``etag``, ``last_modified``, ``vary`` (text) and ``set_cookie`` (bool) as
        :func:`~perflab.api.read_har` gives them, or ``sent_http_cache_control`` …
        (``sent_http_set_cookie`` as text) from an nginx ``log_format`` with
        ``$sent_http_cache_control`` and the like. ``method``, ``status``, ``host``,
        ``time``, ``bytes``, ``content_type`` and HAR's ``from_cache`` are used when
        present; an ``asset_class`` column is kept, else computed.
    request_rate : float or mapping of str to float, optional
        Requests per second each asset receives, for the expected hit ratios: one
        number for all, or path → rate (paths not in it use the observed rate).
        Default: the asset's requests over the time the frame spans.
    min_static_ttl_s : int
        ``static-short-ttl`` threshold (default :data:`LIGHTHOUSE_MIN_TTL_S`).
    recommended : mapping, optional
        Asset class → :class:`~perflab.cdn.policy.ClassPolicy`; default
        :data:`~perflab.cdn.policy.RECOMMENDED`.

    Returns
    -------
    polars.DataFrame
        :data:`AUDIT`, one row per (asset, problem), ordered by problem (as in
        :data:`PROBLEMS`) then requests. An asset is a distinct ``method, host, path``
        among GET/HEAD requests answered 2xx or 304; its headers are those of its most
        frequent combination (``header_variants`` says how many it had; ``set_cookie``
        is true when any response set one). ``requests`` leaves out HAR entries served
        from the browser cache; ``bytes`` sums the body bytes. ``ttl_s`` and
        ``browser_ttl_s`` are the shared-cache and browser TTLs
        (:func:`~perflab.cdn.headers.cache_directives`), ``message`` says what is
        wrong with the figures, ``should_be`` what the header should say.
        ``request_rate`` (req/s), ``expected_hit_ratio`` (now),
        ``recommended_ttl_s`` and ``expected_hit_ratio_recommended`` (with the
        recommended policy) show what the fix buys.

    Raises
    ------
    ParameterError
        The frame has no response-header column at all (it names the columns and the
        nginx variables that log them), or ``request_rate`` is negative.
    SchemaError
        No ``path`` column.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> df = pl.DataFrame({
    ...     "time": [t0, t0 + dt.timedelta(seconds=100)], "method": ["GET", "GET"],
    ...     "path": ["/static/js/main.8f3e2a1b.js", "/index.html"], "status": [200, 200],
    ...     "cache_control": ["public, max-age=3600", "no-store"],
    ...     "etag": ['"a"', '"b"'], "last_modified": [None, None]})
    >>> audit = audit_cache_headers(df)
    >>> audit.select("path", "problem", "ttl_s", "expected_hit_ratio_recommended")
    shape: (2, 4)
    ┌─────────────────────────────┬──────────────────────┬───────┬────────────────────────────────┐
    │ path                        ┆ problem              ┆ ttl_s ┆ expected_hit_ratio_recommended │
    │ ---                         ┆ ---                  ┆ ---   ┆ ---                            │
    │ str                         ┆ str                  ┆ i64   ┆ f64                            │
    ╞═════════════════════════════╪══════════════════════╪═══════╪════════════════════════════════╡
    │ /static/js/main.8f3e2a1b.js ┆ hashed-not-immutable ┆ 3600  ┆ 0.999997                       │
    │ /index.html                 ┆ html-no-swr          ┆ 0     ┆ 0.375                          │
    └─────────────────────────────┴──────────────────────┴───────┴────────────────────────────────┘
    >>> audit.get_column("should_be")[0]
    'Cache-Control: public, max-age=31536000, immutable'
    """
    policies = dict(RECOMMENDED if recommended is None else recommended)
    frame, available, span = _prepare(df)
    if not available:
        raise ParameterError(
            "no response-header column to audit: the frame needs one of "
            + ", ".join(f"{h} (nginx {_NGINX_VARS[h]})" for h in _HEADERS)
            + " — a HAR (read_har) has them; for nginx add those variables to log_format"
        )
    runnable, skipped = _checks(available)
    if skipped:
        logger.warning(
            "cache audit: skipped %s — the frame has no %s column(s) (nginx: log %s)",
            ", ".join(sorted(skipped)),
            ", ".join(sorted({c for cols in skipped.values() for c in cols})),
            ", ".join(sorted({_NGINX_VARS[c] for cols in skipped.values() for c in cols})),
        )
    if isinstance(request_rate, int | float) and request_rate < 0:
        raise ParameterError(f"request_rate must be ≥ 0 requests per second, got {request_rate}")

    keys = ["method", "host", "path"]
    assets = _assets(frame, keys)
    assets = cache_directives(assets)
    assets = _with_rates(assets, request_rate, span, policies)
    found = _problem_rows(assets, runnable, policies, min_static_ttl_s)
    order = {p: i for i, p in enumerate(PROBLEMS)}
    found = found.with_columns(
        pl.col("problem").replace_strict(order, default=len(order)).alias("_order")
    ).sort(["_order", "requests", "path"], descending=[False, True, False], nulls_last=True)
    return AUDIT.conform(found).select(AUDIT.names)


def _with_rates(
    assets: pl.DataFrame,
    request_rate: float | Mapping[str, float] | None,
    span: float | None,
    policies: Mapping[str, ClassPolicy],
) -> pl.DataFrame:
    observed = pl.col("requests").cast(pl.Float64) / span if span else pl.lit(None, pl.Float64)
    if request_rate is None:
        rate = observed
    elif isinstance(request_rate, Mapping):
        if any(v < 0 for v in request_rate.values()):
            raise ParameterError("request_rate values must be ≥ 0 requests per second")
        given = pl.col("path").replace_strict(
            {str(k): float(v) for k, v in request_rate.items()},
            default=None,
            return_dtype=pl.Float64,
        )
        rate = pl.coalesce(given, observed)
    else:
        rate = pl.lit(float(request_rate))
    rec_ttl = pl.col("asset_class").replace_strict(
        {k: v.ttl_s for k, v in policies.items()}, default=None, return_dtype=pl.Int64
    )
    return assets.with_columns(
        rate.alias("request_rate"), rec_ttl.alias("recommended_ttl_s")
    ).with_columns(
        expected_hit_ratio(pl.col("request_rate"), pl.col("ttl_s")).alias("expected_hit_ratio"),
        expected_hit_ratio(pl.col("request_rate"), pl.col("recommended_ttl_s")).alias(
            "expected_hit_ratio_recommended"
        ),
    )


def header_summary(df: FrameLike) -> pl.DataFrame:
    """Caching headers per asset class: how many assets use each directive.

    Parameters
    ----------
    df : frame-like
        A requests frame with response-header columns, as for
        :func:`audit_cache_headers` (the same assets: GET/HEAD, 2xx/304, one header
        combination per asset).

    Returns
    -------
    polars.DataFrame
        :data:`SUMMARY`: per ``asset_class`` the number of ``assets`` and their
        ``requests``; the share of assets with no Cache-Control
        (``no_header_share``), with ``public``, ``private``, ``no-store``,
        ``no-cache``, ``max-age``, ``s-maxage``, ``stale-while-revalidate``,
        ``immutable``, with an ETag or Last-Modified (``validator_share``, null when
        neither is logged); and the median shared-cache TTL (``median_ttl_s``, of the
        assets that have one). Classes in :data:`~perflab.cdn.headers.ASSET_CLASSES`
        order.

    Examples
    --------
    >>> df = {"path": ["/a.js", "/b.js", "/"], "status": [200, 200, 200],
    ...       "cache_control": ["public, max-age=60", None, "no-cache"]}
    >>> header_summary(df).select("asset_class", "assets", "no_header_share", "median_ttl_s")
    shape: (2, 4)
    ┌─────────────┬────────┬─────────────────┬──────────────┐
    │ asset_class ┆ assets ┆ no_header_share ┆ median_ttl_s │
    │ ---         ┆ ---    ┆ ---             ┆ ---          │
    │ str         ┆ i64    ┆ f64             ┆ f64          │
    ╞═════════════╪════════╪═════════════════╪══════════════╡
    │ static      ┆ 2      ┆ 0.5             ┆ 60.0         │
    │ html        ┆ 1      ┆ 0.0             ┆ 0.0          │
    └─────────────┴────────┴─────────────────┴──────────────┘
    """
    frame, available, _ = _prepare(df)
    assets = cache_directives(_assets(frame, ["method", "host", "path"]))
    cc = pl.col("cache_control")
    has_cc = cc.is_not_null() & (cc.str.strip_chars() != "")

    def share(flag: pl.Expr) -> pl.Expr:
        return flag.fill_null(False).cast(pl.Float64).mean()

    validators: Any = (
        share(pl.col("etag").is_not_null() | pl.col("last_modified").is_not_null())
        if {"etag", "last_modified"} & available
        else pl.lit(None, pl.Float64)
    )
    out = assets.group_by("asset_class").agg(
        pl.len().cast(pl.Int64).alias("assets"),
        pl.col("requests").sum().cast(pl.Int64).alias("requests"),
        share(~has_cc).alias("no_header_share"),
        share(pl.col("public")).alias("public_share"),
        share(pl.col("private")).alias("private_share"),
        share(pl.col("no_store")).alias("no_store_share"),
        share(pl.col("no_cache")).alias("no_cache_share"),
        share(pl.col("max_age_s").is_not_null()).alias("max_age_share"),
        share(pl.col("s_maxage_s").is_not_null()).alias("s_maxage_share"),
        share(pl.col("swr_s").is_not_null()).alias("swr_share"),
        share(pl.col("immutable")).alias("immutable_share"),
        validators.alias("validator_share"),
        pl.col("ttl_s").cast(pl.Float64).median().alias("median_ttl_s"),
    )
    order = {c: i for i, c in enumerate(ASSET_CLASSES)}
    out = out.sort(pl.col("asset_class").replace_strict(order, default=len(order)))
    return SUMMARY.conform(out).select(SUMMARY.names)


def audit_by_route(audit: FrameLike, *, route: str = "route") -> pl.DataFrame:
    """One row per route and problem: the paths of a route share their headers.

    ``/api/items/1`` … ``/api/items/8`` are answered by one handler, so one fix; the
    audit lists each path. Template the paths first (``perflab.api.template_routes``
    adds a ``route`` column), then this keeps each route's first row per problem, in
    the audit's order, and counts the paths it stands for.

    Parameters
    ----------
    audit : frame-like
        The output of :func:`audit_cache_headers` with a route column.
    route : str, default "route"
        The column that names the route.

    Returns
    -------
    polars.DataFrame
        The audit's columns and ``paths`` (how many rows of the audit share the route
        and problem), one row per route and problem.

    Raises
    ------
    SchemaError
        When ``route`` or ``problem`` is not a column.

    Examples
    --------
    >>> audit = pl.DataFrame({"path": ["/i/1", "/i/2", "/"], "route": ["/i/{id}"] * 2 + ["/"],
    ...                       "problem": ["no-cache-control"] * 3})
    >>> audit_by_route(audit).select("route", "paths").rows()
    [('/i/{id}', 2), ('/', 1)]
    """
    df = as_frame(audit)
    missing = {route, "problem"} - set(df.columns)
    if missing:
        raise SchemaError(
            "audit",
            missing=sorted(missing),
            detail="template the audit's paths first: perflab.api.template_routes(audit)",
        )
    return df.with_columns(pl.len().over(route, "problem").alias("paths")).unique(
        subset=[route, "problem"], keep="first", maintain_order=True
    )

"""Cloudflare Logpush and Fastly JSON logs → CDN_REQUESTS (private).

See :func:`perflab.cdn.read.read_cloudflare` and :func:`perflab.cdn.read.read_fastly`
for the mappings. Both files are JSON lines read whole by
:func:`perflab.sources.load_ndjson` (every field as text; nested objects as their JSON
text), then converted column by column.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import polars as pl

from perflab.cdn._common import (
    Checks,
    coalesce,
    country_code,
    finish,
    hit_from,
    nulls,
    parse_time,
    strip_params,
    to_int,
)
from perflab.cdn.schema import CDN_REQUESTS
from perflab.errors import ErrorMode, InputError, ParameterError
from perflab.sources import PathLike, Source, load_ndjson
from perflab.urls import split_uri

__all__ = [
    "CLOUDFLARE_HIT",
    "CLOUDFLARE_MISS",
    "FASTLY_KEYS",
    "HEADER_COLUMNS",
    "read_cloudflare",
    "read_fastly",
]

CLOUDFLARE_HIT = {"hit", "stale", "updating", "revalidated", "stream_hit"}
CLOUDFLARE_MISS = {"miss", "expired", "bypass", "dynamic", "ignored"}

HEADER_COLUMNS = {
    "cache-control": "cache_control",
    "etag": "etag",
    "last-modified": "last_modified",
    "expires": "expires",
    "age": "age",
    "vary": "vary",
    "content-encoding": "content_encoding",
}
"""Response header (lower case) → the extra column it fills (as :func:`read_har` names
them); ``set-cookie`` becomes the boolean ``set_cookie``."""

# Cloudflare field → (extra column, kind); kind "int" or "text" or "bool"
_CF_EXTRA: dict[str, tuple[str, str]] = {
    "RayID": ("request_id", "text"),
    "ClientRequestProtocol": ("protocol", "text"),
    "ClientRequestScheme": ("scheme", "text"),
    "ClientRequestBytes": ("request_length", "int"),
    "EdgeResponseBodyBytes": ("body_bytes", "int"),
    "CacheResponseBytes": ("cache_response_bytes", "int"),
    "OriginResponseBytes": ("origin_bytes", "int"),
    "CacheTieredFill": ("tiered_fill", "bool"),
    "ClientCity": ("city", "text"),
    "ClientASN": ("asn", "int"),
    "EdgeResponseCompressionRatio": ("compression_ratio", "float"),
}
_CF_USED = {
    "EdgeStartTimestamp",
    "EdgeEndTimestamp",
    "ClientRequestMethod",
    "ClientRequestURI",
    "ClientRequestPath",
    "EdgeResponseStatus",
    "EdgeResponseBytes",
    "OriginResponseDurationMs",
    "OriginResponseTime",
    "OriginResponseStatus",
    "CacheCacheStatus",
    "EdgeResponseContentType",
    "ClientRequestHost",
    "ClientIP",
    "ClientRequestUserAgent",
    "ClientRequestReferer",
    "EdgeColoCode",
    "ClientCountry",
    "EdgeTimeToFirstByteMs",
    "ResponseHeaders",
    "OriginResponseHTTPExpires",
    "OriginResponseHTTPLastModified",
}
_CF_SIGNS = ("EdgeStartTimestamp", "ClientRequestURI", "ClientRequestHost", "RayID", "EdgeColoCode")


def read_cloudflare(path: PathLike, errors: ErrorMode) -> pl.DataFrame:
    """Read a Logpush ``http_requests`` file (see :func:`perflab.cdn.read.read_cloudflare`)."""
    src = Source(path, errors)
    if src.is_blank():
        return CDN_REQUESTS.empty()
    raw, where = load_ndjson(src)
    if raw.height == 0:
        return finish([], src, "no JSON object in the file")
    if not any(k in raw.columns for k in _CF_SIGNS):
        raise InputError(
            src.name,
            None,
            f"no Cloudflare http_requests field ({', '.join(_CF_SIGNS)}): "
            "not a Logpush http_requests file",
        )
    raw = raw.with_columns(pl.col(c).replace("", None) for c in raw.columns)
    checks = Checks()
    n = raw.height

    def field(name: str) -> pl.Series:
        if name in raw.columns:
            return raw[name]
        return pl.Series(name, [None] * n, dtype=pl.String)

    cols: dict[str, pl.Series] = {}
    start_text = field("EdgeStartTimestamp")
    start, start_fine = parse_time(start_text)
    checks.add(
        start.is_null() & start_text.is_not_null(),
        _expected("EdgeStartTimestamp", "an RFC 3339 time or a Unix timestamp", start_text),
    )
    cols["time"] = start
    cols["method"] = field("ClientRequestMethod")
    if "ClientRequestURI" in raw.columns:
        parts = _split(raw["ClientRequestURI"])
        cols["path"] = coalesce(parts["p"], field("ClientRequestPath"))
        cols["query"] = nulls(parts["q"])
    else:
        cols["path"] = field("ClientRequestPath")
    status_text = field("EdgeResponseStatus")
    status = to_int(status_text)
    checks.add(
        status.is_null() & status_text.is_not_null(),
        _expected("EdgeResponseStatus", "an integer", status_text),
    )
    cols["status"] = status.set((status == 0).fill_null(False), None)
    cols["bytes"] = coalesce(
        to_int(field("EdgeResponseBytes")), to_int(field("EdgeResponseBodyBytes"))
    )
    end, end_fine = parse_time(field("EdgeEndTimestamp"))
    duration = (end.dt.epoch("us") - start.dt.epoch("us")).cast(pl.Float64) / 1000.0
    cols["duration_ms"] = duration.set(~(start_fine & end_fine), None)
    origin_status = to_int(field("OriginResponseStatus"))
    origin = coalesce(
        field("OriginResponseDurationMs").cast(pl.Float64, strict=False),
        field("OriginResponseTime").cast(pl.Float64, strict=False) / 1e6,
    )
    cache_status = field("CacheCacheStatus")
    hit = hit_from(cache_status, CLOUDFLARE_HIT, CLOUDFLARE_MISS)
    no_origin = (origin_status == 0).fill_null(False) | (
        (origin == 0).fill_null(False) & hit.fill_null(False)
    )
    origin = origin.set(no_origin, None)
    cols["upstream_ms"] = origin
    cols["cache_status"] = cache_status
    cols["content_type"] = strip_params(field("EdgeResponseContentType"))
    cols["host"] = field("ClientRequestHost")
    cols["client"] = field("ClientIP")
    cols["user_agent"] = field("ClientRequestUserAgent")
    cols["referer"] = field("ClientRequestReferer")
    cols["provider"] = pl.Series(["cloudflare"] * n, dtype=pl.String)
    cols["edge"] = field("EdgeColoCode").str.to_uppercase()
    cols["country"] = country_code(field("ClientCountry"))
    cols["ttfb_ms"] = field("EdgeTimeToFirstByteMs").cast(pl.Float64, strict=False)
    cols["origin_ms"] = origin
    cols["cache_hit"] = hit
    cols["origin_status"] = origin_status.set((origin_status == 0).fill_null(False), None)
    headers = _headers(field("ResponseHeaders"))
    for column, values in headers.items():
        cols[column] = values
    if "expires" not in cols and "OriginResponseHTTPExpires" in raw.columns:
        cols["expires"] = raw["OriginResponseHTTPExpires"]
    if "last_modified" not in cols and "OriginResponseHTTPLastModified" in raw.columns:
        cols["last_modified"] = raw["OriginResponseHTTPLastModified"]
    if "content_encoding" in cols:
        cols["content_encoding"] = cols.pop("content_encoding")
    for name in raw.columns:
        if name in _CF_USED:
            continue
        column, kind = _CF_EXTRA.get(name, (name, "text"))
        cols.setdefault(column, _typed(raw[name], kind))
    frame = pl.DataFrame({k: v.alias(k) for k, v in cols.items()})
    frame = checks.drop(frame, src, where)
    return finish([frame], src, "no request in the file")


def _split(uri: pl.Series) -> pl.DataFrame:
    """URIs (or full URLs) → columns ``p`` (path) and ``q`` (query, without ``?``)."""
    frame = pl.DataFrame({"u": uri}).select(
        pl.col("u").str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", "")
    )
    path, query = split_uri(pl.col("u"))
    return frame.select(path.alias("p"), query.alias("q"))


def _headers(objects: pl.Series) -> dict[str, pl.Series]:
    """Cloudflare's ``ResponseHeaders`` custom field (a JSON object) → header columns."""
    present = objects.drop_nulls()
    if present.len() == 0:
        return {}
    rows = [_lower_keys(v) for v in objects.to_list()]
    out: dict[str, pl.Series] = {}
    for header, column in HEADER_COLUMNS.items():
        values = [r.get(header) if r else None for r in rows]
        if any(v is not None for v in values):
            out[column] = pl.Series(values, dtype=pl.String)
    cookies = [None if r is None else "set-cookie" in r for r in rows]
    if any(cookies):
        out["set_cookie"] = pl.Series(cookies, dtype=pl.Boolean)
    return out


def _lower_keys(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return {str(k).lower(): str(v) for k, v in obj.items() if v is not None}


def _typed(values: pl.Series, kind: str) -> pl.Series:
    if kind == "int":
        return to_int(values)
    if kind == "float":
        return values.cast(pl.Float64, strict=False)
    if kind == "bool":
        return values.str.to_lowercase().replace_strict(
            {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
        )
    return values


def _expected(name: str, what: str, text: pl.Series) -> Callable[[int], str]:
    def why(i: int) -> str:
        return f"{name}: expected {what}, found {text[i]!r}"

    return why


# ---------------------------------------------------------------------------------------
# Fastly

FASTLY_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    # column → ((key, unit or form), …): the first present wins
    "time": (
        ("timestamp", "time"),
        ("time_start", "time"),
        ("start_time", "time"),
        ("time", "time"),
    ),
    "time_end": (("time_end", "time"), ("end_time", "time")),
    "method": (("request_method", "text"), ("method", "text"), ("request", "text")),
    "uri": (("url", "text"), ("request_url", "text"), ("uri", "text"), ("path", "text")),
    "status": (("response_status", "int"), ("status", "int"), ("status_code", "int")),
    "bytes": (
        ("response_bytes", "int"),
        ("resp_bytes_written", "int"),
        ("bytes_written", "int"),
        ("response_body_size", "int"),
        ("response_body_bytes", "int"),
        ("body_bytes_written", "int"),
    ),
    "body_bytes": (
        ("response_body_size", "int"),
        ("response_body_bytes", "int"),
        ("body_bytes_written", "int"),
    ),
    "duration_ms": (("time_elapsed", "us"), ("elapsed_usec", "us"), ("duration_ms", "ms")),
    "ttfb_ms": (("time_to_first_byte", "s"), ("ttfb", "s"), ("ttfb_ms", "ms")),
    "origin_ms": (("origin_ms", "ms"), ("origin_time_ms", "ms")),
    "cache_status": (
        ("cache_status", "text"),
        ("response_state", "text"),
        ("fastly_state", "text"),
        ("state", "text"),
    ),
    "is_cache_hit": (("is_cache_hit", "bool"), ("cache_hit", "bool")),
    "content_type": (
        ("content_type", "text"),
        ("response_content_type", "text"),
        ("resp_content_type", "text"),
    ),
    "content_encoding": (("content_encoding", "text"), ("response_content_encoding", "text")),
    "host": (("host", "text"), ("request_host", "text")),
    "client": (("client_ip", "text"), ("ip", "text"), ("remote_addr", "text")),
    "user_agent": (("request_user_agent", "text"), ("user_agent", "text")),
    "referer": (("request_referer", "text"), ("referer", "text")),
    "edge": (
        ("pop", "text"),
        ("fastly_pop", "text"),
        ("server_datacenter", "text"),
        ("datacenter", "text"),
    ),
    "server": (("fastly_server", "text"), ("server_identity", "text"), ("server", "text")),
    "country": (
        ("geo_country_code", "text"),
        ("client_country_code", "text"),
        ("country_code", "text"),
        ("geo_country", "text"),
        ("client_country", "text"),
        ("country", "text"),
    ),
    "city": (("geo_city", "text"), ("client_city", "text"), ("city", "text")),
    "protocol": (("request_protocol", "text"), ("protocol", "text")),
}
"""Column → the keys a Fastly JSON line may hold it in, with their unit."""

_TO_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
_FASTLY_HIT_FALSE = ("HITPASS", "MISS", "PASS", "ERROR", "PIPE")


def read_fastly(
    path: PathLike, errors: ErrorMode, mapping: Mapping[str, str] | None
) -> pl.DataFrame:
    """Read Fastly JSON lines (see :func:`perflab.cdn.read.read_fastly`)."""
    given = dict(mapping or {})
    allowed = set(CDN_REQUESTS.columns) - {"provider", "upstream_ms"} | {"body_bytes", "city"}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ParameterError(
            f"mapping: {unknown} are not columns read_fastly fills ({sorted(allowed)})"
        )
    src = Source(path, errors)
    if src.is_blank():
        return CDN_REQUESTS.empty()
    raw, where = load_ndjson(src)
    if raw.height == 0:
        return finish([], src, "no JSON object in the file")
    missing = sorted(k for k in given.values() if k not in raw.columns)
    if missing:
        raise ParameterError(f"mapping: key(s) {missing} are not in {src.name}")
    raw = raw.with_columns(pl.col(c).replace(["", "-", "(null)"], None) for c in raw.columns)
    n = raw.height
    used: set[str] = set()

    def find(column: str) -> tuple[pl.Series, str] | None:
        if column in given:
            used.add(given[column])
            unit = "ms" if column.endswith("_ms") else "time" if column == "time" else "text"
            return raw[given[column]], unit
        for key, unit in FASTLY_KEYS.get(column, ()):
            if key in raw.columns:
                used.add(key)
                return raw[key], unit
        return None

    def text(column: str) -> pl.Series:
        got = find(column)
        return got[0] if got else pl.Series(column, [None] * n, dtype=pl.String)

    def ms(column: str) -> pl.Series | None:
        got = find(column)
        if got is None:
            return None
        values, unit = got
        return (values.cast(pl.Float64, strict=False) * _TO_MS.get(unit, 1.0)).round(3)

    checks = Checks()
    cols: dict[str, pl.Series] = {}
    got_time = find("time")
    if got_time is not None:
        start, _ = parse_time(got_time[0])
        checks.add(
            start.is_null() & got_time[0].is_not_null(),
            _expected("timestamp", "an ISO 8601 time or a Unix timestamp", got_time[0]),
        )
        cols["time"] = start
    cols["method"] = text("method").str.extract(r"^\s*(\S+)", 1)
    if "path" in given:
        uri = raw[given["path"]]
        used.add(given["path"])
    else:
        uri = text("uri")
    parts = _split(uri)
    cols["path"] = parts["p"]
    cols["query"] = nulls(text("query")) if "query" in given else nulls(parts["q"])
    status_text = text("status")
    status = to_int(status_text)
    checks.add(
        status.is_null() & status_text.is_not_null(),
        _expected("response_status", "an integer", status_text),
    )
    cols["status"] = status
    cols["bytes"] = to_int(text("bytes"))
    duration = ms("duration_ms")
    if duration is None and got_time is not None and find("time_end") is not None:
        t0, fine0 = parse_time(got_time[0])
        t1, fine1 = parse_time(text("time_end"))
        d = (t1.dt.epoch("us") - t0.dt.epoch("us")).cast(pl.Float64) / 1000.0
        duration = d.set(~(fine0 & fine1), None)
    if duration is not None:
        cols["duration_ms"] = duration
    origin = ms("origin_ms")
    if origin is not None:
        cols["upstream_ms"] = origin
    state = text("cache_status").str.to_uppercase()
    cols["cache_status"] = state
    cols["content_type"] = strip_params(text("content_type"))
    cols["content_encoding"] = text("content_encoding")
    cols["host"] = text("host")
    cols["client"] = text("client")
    cols["user_agent"] = text("user_agent")
    cols["referer"] = text("referer")
    cols["provider"] = pl.Series(["fastly"] * n, dtype=pl.String)
    server = text("server")
    pop_from_server = server.str.extract(r"-([A-Za-z]{3})$", 1)
    cols["edge"] = coalesce(text("edge"), pop_from_server).str.to_uppercase()
    cols["country"] = country_code(text("country"))
    ttfb = ms("ttfb_ms")
    if ttfb is not None:
        cols["ttfb_ms"] = ttfb
    if origin is not None:
        cols["origin_ms"] = origin
    flag = find("cache_hit") if "cache_hit" in given else find("is_cache_hit")
    flag_hit = (
        flag[0]
        .str.to_lowercase()
        .replace_strict(
            {"true": True, "1": True, "false": False, "0": False},
            default=None,
            return_dtype=pl.Boolean,
        )
        if flag
        else pl.Series([None] * n, dtype=pl.Boolean)
    )
    if "cache_hit" in given:
        cols["cache_hit"] = flag_hit
    else:
        cols["cache_hit"] = coalesce(_fastly_hit(state), flag_hit)
    body = find("body_bytes")
    if body is not None:
        cols["body_bytes"] = to_int(body[0])
    for extra in ("city", "protocol"):
        got = find(extra)
        if got is not None:
            cols[extra] = got[0]
    if server.null_count() < n:
        cols["fastly_server"] = server
    for name in raw.columns:
        if name not in used and name not in cols:
            cols[name] = raw[name]
    frame = pl.DataFrame({k: v.alias(k) for k, v in cols.items()})
    frame = checks.drop(frame, src, where)
    return finish([frame], src, "no request in the file")


def _fastly_hit(state: pl.Series) -> pl.Series:
    """``fastly_info.state`` → cache hit (see the table in :mod:`perflab.cdn.schema`)."""
    frame = pl.DataFrame({"s": state})
    s = pl.col("s")
    out = frame.select(
        pl.when(s.str.starts_with("HIT-SYNTH"))
        .then(None)
        .when(pl.any_horizontal(s.str.starts_with(p) for p in _FASTLY_HIT_FALSE))
        .then(False)
        .when(s.str.starts_with("HIT"))
        .then(True)
        .otherwise(None)
    )
    return out.to_series().cast(pl.Boolean)

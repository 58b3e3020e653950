"""Read HAR 1.2 files (browser network recordings) into the REQUESTS frame.

:func:`read_har` gives one :data:`~perflab.api.schema.REQUESTS` row per
``log.entries[]``; :func:`read_har_pages` one :data:`PAGES` row per ``log.pages[]``.
``.har.gz`` (any gzip file) and a leading BOM are read transparently.

How the HAR fields map
----------------------
=================  ================================================================
column             from the entry
=================  ================================================================
time               ``startedDateTime`` (ISO 8601 with its offset → UTC; no offset:
                   UTC)
method             ``request.method``
path, query        ``request.url`` (query without ``?``, null when none; both kept
                   verbatim — percent-escapes and ``<script>`` alike: escaping is
                   the HTML report's job)
host               the URL's host (with its port, as a ``Host`` header has it)
status             ``response.status``; ``0`` or ``-1`` → null (no response:
                   blocked, aborted, failed)
bytes              ``response.bodySize``: body bytes received (compressed, as
                   nginx's ``$body_bytes_sent``); negative or ``-1`` → null
                   (Chromium writes a negative size for a response from its cache)
duration_ms        ``time``
upstream_ms        ``timings.wait`` (time to first byte); ``-1`` → null
cache_status       response header ``X-Cache``, else ``CF-Cache-Status``, else
                   ``X-Vercel-Cache``, else ``X-Nextjs-Cache``
content_type       ``response.content.mimeType`` without parameters (else the
                   ``Content-Type`` header); Playwright's ``x-unknown`` → null
content_encoding   response header ``Content-Encoding``
client             null (a HAR does not say)
user_agent,        request headers ``User-Agent`` and ``Referer``
referer
=================  ================================================================

Extra columns, in this order after the canonical ones:

==================  ===========  ========================================================
column              dtype        from the entry
==================  ===========  ========================================================
error               str          ``response._error`` or ``_failureText`` (Playwright:
                                 ``net::ERR_ABORTED``) or ``"no response"`` when status
                                 is null; null for a response
content_bytes       i64          ``response.content.size``: the decoded body size (the
                                 payload, uncompressed); null when negative
transfer_bytes      i64          ``response._transferSize`` (headers and body on the
                                 wire) when ≥ 0, else ``headersSize + bodySize`` when
                                 both are ≥ 0, else null
from_cache          bool         served by the browser cache: ``_transferSize == 0``,
                                 or ``response._fromCache`` or the entry's ``cache``
                                 not empty
revalidated         bool         a conditional request (``If-None-Match`` or
                                 ``If-Modified-Since``) answered without a body — a
                                 304 that Chromium records as 200 with ``bodySize: 0``
page                str          ``pageref``
page_title          str          the title of that page in ``log.pages``
resource_type       str          ``_resourceType`` (``document``, ``script``, ``fetch`` …)
protocol            str          ``response.httpVersion`` (``HTTP/1.1``, ``h2``, ``h3``)
server_ip           str          ``serverIPAddress``
connection          str          ``connection`` (the connection id)
dns_ms … blocked_ms f64          ``timings.dns``, ``connect``, ``ssl``, ``send``,
                                 ``receive``, ``blocked`` as ``dns_ms``, ``connect_ms``,
                                 ``ssl_ms``, ``send_ms``, ``receive_ms``, ``blocked_ms``;
                                 ``-1`` (not applicable: a reused connection) → null
cache_control,      str          response headers ``Cache-Control``, ``ETag``,
etag,                            ``Last-Modified``, ``Expires``, ``Age``, ``Vary``, as
last_modified,                   text
expires, age, vary
set_cookie          bool         the response has a ``Set-Cookie`` header
body                binary       only with ``bodies=True``: ``content.text`` as bytes —
                                 base64-decoded when ``content.encoding`` is
                                 ``"base64"`` (binaries), UTF-8 otherwise; null when the
                                 HAR holds no body
==================  ===========  ========================================================

Header names are matched without regard to case (HTTP/2 sends them in lower case,
HTTP/1.1 servers as they like); a header sent more than once has its values joined
with ``", "`` (as RFC 9110 allows for list-valued fields).

Bad input
---------
A file that is not JSON raises :class:`~perflab.errors.InputError` naming the line
(and column) where parsing failed; a HAR cut short says ``truncated`` and names the
line it stops on; a JSON document without ``log.entries`` is "not a HAR". These raise
with either ``errors`` mode: nothing can be read around them. An entry that cannot be
used (no ``request.url``, an unreadable ``startedDateTime``, a body whose base64 does
not decode) raises naming its index (``log.entries[3]``); with ``errors="skip"`` such
entries are dropped and one warning gives their count and the first ones. An empty
``entries`` list gives an empty frame with every column above (and a warning); an
empty file, an empty frame without a warning.

The whole document is parsed with :func:`perflab.sources.load_json` (HAR files are rarely over
100 MB) and each entry is visited once, into per-column lists that become one polars
frame.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from perflab.api.schema import REQUESTS
from perflab.errors import ErrorMode, InputError
from perflab.frames import UTC_DATETIME, Schema
from perflab.sources import PathLike, Source, load_json

__all__ = ["EXTRA", "PAGES", "read_har", "read_har_pages"]

_TIMINGS = ("dns", "connect", "ssl", "send", "receive", "blocked")
_HEADER_COLUMNS = {
    "cache_control": "cache-control",
    "etag": "etag",
    "last_modified": "last-modified",
    "expires": "expires",
    "age": "age",
    "vary": "vary",
}
_CACHE_HEADERS = ("x-cache", "cf-cache-status", "x-vercel-cache", "x-nextjs-cache")
_RESPONSE_HEADERS = frozenset(
    [*_CACHE_HEADERS, *_HEADER_COLUMNS.values(), "content-encoding", "content-type", "set-cookie"]
)
_REQUEST_HEADERS = frozenset(["user-agent", "referer", "if-none-match", "if-modified-since"])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

EXTRA: dict[str, Any] = {
    "error": pl.String,
    "content_bytes": pl.Int64,
    "transfer_bytes": pl.Int64,
    "from_cache": pl.Boolean,
    "revalidated": pl.Boolean,
    "page": pl.String,
    "page_title": pl.String,
    "resource_type": pl.String,
    "protocol": pl.String,
    "server_ip": pl.String,
    "connection": pl.String,
    **{f"{t}_ms": pl.Float64 for t in _TIMINGS},
    **dict.fromkeys(_HEADER_COLUMNS, pl.String),
    "set_cookie": pl.Boolean,
}
"""The extra columns of :func:`read_har` after the REQUESTS ones (``body`` aside)."""

PAGES = Schema(
    "har pages",
    {
        "page": pl.String,
        "title": pl.String,
        "time": UTC_DATETIME,
        "on_content_load_ms": pl.Float64,
        "on_load_ms": pl.Float64,
        "entries": pl.Int64,
    },
    extra=False,
)
"""One row per ``log.pages[]``: ``page`` (its id, the entries' ``page``), ``title``,
``time`` (``startedDateTime``, UTC), ``on_content_load_ms`` and ``on_load_ms``
(``pageTimings``; ``-1`` → null) and ``entries`` (how many entries name the page)."""


def read_har(path: PathLike, *, errors: ErrorMode = "raise", bodies: bool = False) -> pl.DataFrame:
    """Read a HAR 1.2 file: one REQUESTS row per ``log.entries[]``.

    Parameters
    ----------
    path : str or PathLike
        The ``.har`` file (gzip-compressed too, whatever its name).
    errors : {"raise", "skip"}
        What to do with an entry that cannot be read (see the module docstring).
    bodies : bool
        Add a ``body`` column (binary) with each response body, base64 decoded.

    Returns
    -------
    polars.DataFrame
        The :data:`~perflab.api.schema.REQUESTS` columns, then :data:`EXTRA` (and
        ``body``), in the file's order.

    Raises
    ------
    InputError
        Not JSON, truncated, not a HAR, or (``errors="raise"``) an unreadable entry.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> har = {"log": {"version": "1.2", "pages": [], "entries": [
    ...     {"startedDateTime": "2026-01-02T10:00:00.250+01:00", "time": 12.5,
    ...      "request": {"method": "GET", "url": "https://shop.test/api/items?id=3",
    ...                  "headers": [{"name": "user-agent", "value": "demo"}]},
    ...      "response": {"status": 200, "bodySize": 120, "headersSize": 80,
    ...                   "headers": [{"name": "X-Cache", "value": "HIT"}],
    ...                   "content": {"size": 400, "mimeType": "application/json"}},
    ...      "timings": {"dns": -1, "wait": 9.0, "receive": 1.5}},
    ...     {"startedDateTime": "2026-01-02T09:00:01Z", "time": 3,
    ...      "request": {"method": "GET", "url": "https://shop.test/app.js"},
    ...      "response": {"status": 0, "bodySize": -1, "headers": [],
    ...                   "content": {"size": -1, "mimeType": ""}, "_error": "net::ERR_BLOCKED"},
    ...      "timings": {"wait": -1}}]}}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "demo.har"
    >>> _ = p.write_text(json.dumps(har))
    >>> df = read_har(p)
    >>> df.select("time", "path", "query", "status", "bytes", "upstream_ms")
    shape: (2, 6)
    ┌─────────────────────────────┬────────────┬───────┬────────┬───────┬─────────────┐
    │ time                        ┆ path       ┆ query ┆ status ┆ bytes ┆ upstream_ms │
    │ ---                         ┆ ---        ┆ ---   ┆ ---    ┆ ---   ┆ ---         │
    │ datetime[μs, UTC]           ┆ str        ┆ str   ┆ i64    ┆ i64   ┆ f64         │
    ╞═════════════════════════════╪════════════╪═══════╪════════╪═══════╪═════════════╡
    │ 2026-01-02 09:00:00.250 UTC ┆ /api/items ┆ id=3  ┆ 200    ┆ 120   ┆ 9.0         │
    │ 2026-01-02 09:00:01 UTC     ┆ /app.js    ┆ null  ┆ null   ┆ null  ┆ null        │
    └─────────────────────────────┴────────────┴───────┴────────┴───────┴─────────────┘
    >>> df.select("cache_status", "error", "content_bytes", "transfer_bytes", "dns_ms").rows()
    [('HIT', None, 400, 200, None), (None, 'net::ERR_BLOCKED', None, None, None)]
    """
    src = Source(path, errors)
    log = _load(src)
    if log is None:
        return _empty(bodies)
    titles = _titles(log)
    cols: dict[str, list[Any]] = {c: [] for c in (*REQUESTS.names, *EXTRA)}
    if bodies:
        cols["body"] = []
    rejected: list[str] = []
    for i, entry in enumerate(log["entries"]):
        try:
            row = _entry(entry, titles, bodies)
        except _BadEntryError as exc:
            reason = f"log.entries[{i}]: {exc}"
            if errors == "raise":
                raise InputError(src.name, None, reason) from None
            rejected.append(reason)
            continue
        for name, value in row.items():
            cols[name].append(value)
    if rejected:
        n = len(rejected)
        src.warn(
            f"skipped {n} unreadable HAR entr{'y' if n == 1 else 'ies'}; first: "
            + "; ".join(rejected[:3])
        )
    frame = _frame(cols, bodies)
    return src.finish(frame, "log.entries is empty", what="requests")


def read_har_pages(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read the pages of a HAR file: one :data:`PAGES` row per ``log.pages[]``.

    Parameters
    ----------
    path : str or PathLike
        The ``.har`` file (gzip-compressed too).
    errors : {"raise", "skip"}
        A page without an ``id`` or with an unreadable ``startedDateTime`` raises,
        or with ``"skip"`` is dropped with a warning.

    Returns
    -------
    polars.DataFrame
        :data:`PAGES`: ``page, title, time, on_content_load_ms, on_load_ms, entries``.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> har = {"log": {"pages": [{"id": "page_1", "title": "Shop",
    ...     "startedDateTime": "2026-01-02T09:00:00Z",
    ...     "pageTimings": {"onContentLoad": 420, "onLoad": -1}}],
    ...     "entries": [{"pageref": "page_1", "startedDateTime": "2026-01-02T09:00:00Z",
    ...                  "request": {"url": "https://shop.test/"}, "response": {}}]}}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pages.har"
    >>> _ = p.write_text(json.dumps(har))
    >>> read_har_pages(p)
    shape: (1, 6)
    ┌────────┬───────┬─────────────────────────┬────────────────────┬────────────┬─────────┐
    │ page   ┆ title ┆ time                    ┆ on_content_load_ms ┆ on_load_ms ┆ entries │
    │ ---    ┆ ---   ┆ ---                     ┆ ---                ┆ ---        ┆ ---     │
    │ str    ┆ str   ┆ datetime[μs, UTC]       ┆ f64                ┆ f64        ┆ i64     │
    ╞════════╪═══════╪═════════════════════════╪════════════════════╪════════════╪═════════╡
    │ page_1 ┆ Shop  ┆ 2026-01-02 09:00:00 UTC ┆ 420.0              ┆ null       ┆ 1       │
    └────────┴───────┴─────────────────────────┴────────────────────┴────────────┴─────────┘
    """
    src = Source(path, errors)
    log = _load(src)
    if log is None:
        return PAGES.empty()
    counts: dict[str, int] = {}
    for entry in log["entries"]:
        ref = entry.get("pageref") if isinstance(entry, dict) else None
        if isinstance(ref, str):
            counts[ref] = counts.get(ref, 0) + 1
    cols: dict[str, list[Any]] = {c: [] for c in PAGES.names}
    rejected: list[str] = []
    for i, page in enumerate(_pages(log)):
        try:
            if not isinstance(page, dict) or not isinstance(page.get("id"), str):
                raise _BadEntryError("no id")
            timings = page.get("pageTimings")
            timings = timings if isinstance(timings, dict) else {}
            cols["page"].append(page["id"])
            cols["title"].append(_text(page.get("title")))
            cols["time"].append(_micros(page.get("startedDateTime")))
            cols["on_content_load_ms"].append(_ms(timings.get("onContentLoad")))
            cols["on_load_ms"].append(_ms(timings.get("onLoad")))
            cols["entries"].append(counts.get(page["id"], 0))
        except _BadEntryError as exc:
            for c in PAGES.names:  # undo a half-appended row
                del cols[c][len(cols["entries"]) :]
            reason = f"log.pages[{i}]: {exc}"
            if errors == "raise":
                raise InputError(src.name, None, reason) from None
            rejected.append(reason)
    if rejected:
        n = len(rejected)
        src.warn(f"skipped {n} unreadable HAR page(s); first: " + "; ".join(rejected[:3]))
    frame = pl.DataFrame(
        {c: cols[c] for c in PAGES.names},
        schema={**PAGES.columns, "time": pl.Int64},
    ).with_columns(pl.col("time").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    src.bad.finish()
    return frame


# ---------------------------------------------------------------------------------------
# the document


class _BadEntryError(Exception):
    """An entry (or page) that cannot be read; the message says why."""


def _load(src: Source) -> dict[str, Any] | None:
    """``log`` of the HAR in ``src`` (None for a blank file); InputError when unreadable."""
    text = src.text()
    if not text.strip():
        src.bad.finish()
        return None
    doc = load_json(src)
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise InputError(
            src.name, None, 'not a HAR: no log.entries (expected {"log": {"entries": [...]}})'
        )
    return log


def _pages(log: dict[str, Any]) -> list[Any]:
    pages = log.get("pages")
    return pages if isinstance(pages, list) else []


def _titles(log: dict[str, Any]) -> dict[str, str | None]:
    """Page id → title."""
    return {
        p["id"]: _text(p.get("title"))
        for p in _pages(log)
        if isinstance(p, dict) and isinstance(p.get("id"), str)
    }


def _empty(bodies: bool) -> pl.DataFrame:
    schema = {**REQUESTS.columns, **EXTRA, **({"body": pl.Binary} if bodies else {})}
    return pl.DataFrame(schema=schema)


def _frame(cols: dict[str, list[Any]], bodies: bool) -> pl.DataFrame:
    schema = {**REQUESTS.columns, **EXTRA, **({"body": pl.Binary} if bodies else {})}
    frame = pl.DataFrame(cols, schema={**schema, "time": pl.Int64})
    return frame.with_columns(pl.col("time").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


# ---------------------------------------------------------------------------------------
# one entry


def _entry(entry: Any, titles: dict[str, str | None], bodies: bool) -> dict[str, Any]:
    """The row of one entry: column → value (time as epoch microseconds)."""
    if not isinstance(entry, dict):
        raise _BadEntryError(f"not an object ({type(entry).__name__})")
    request = entry.get("request")
    url = request.get("url") if isinstance(request, dict) else None
    if not isinstance(url, str) or not url:
        raise _BadEntryError("no request.url")
    assert isinstance(request, dict)
    response = _obj(entry.get("response"))
    content = _obj(response.get("content"))
    timings = _obj(entry.get("timings"))
    req_h = _headers(request.get("headers"), _REQUEST_HEADERS)
    res_h = _headers(response.get("headers"), _RESPONSE_HEADERS)

    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _BadEntryError(f"request.url {url!r} is not a URL ({exc})") from None
    status = _int(response.get("status"))
    if status is not None and status <= 0:
        status = None
    body_size = _int(response.get("bodySize"))
    headers_size = _int(response.get("headersSize"))
    transfer = _int(response.get("_transferSize"))
    error = response.get("_error") or response.get("_failureText")
    page = _text(entry.get("pageref"))
    mime = _text(content.get("mimeType")) or res_h.get("content-type")
    if mime is not None:
        mime = mime.split(";", 1)[0].strip().lower() or None
    cache_status = next((res_h[h] for h in _CACHE_HEADERS if h in res_h), None)
    conditional = "if-none-match" in req_h or "if-modified-since" in req_h

    row: dict[str, Any] = {
        "time": _micros(entry.get("startedDateTime")),
        "method": _text(request.get("method")),
        "path": parts.path or "/",
        "query": parts.query or None,
        "status": status,
        "bytes": _size(body_size),
        "duration_ms": _ms(entry.get("time")),
        "upstream_ms": _ms(timings.get("wait")),
        "cache_status": cache_status,
        "content_type": None if mime == "x-unknown" else mime,
        "content_encoding": res_h.get("content-encoding"),
        "host": parts.netloc.rsplit("@", 1)[-1] or None,
        "client": None,
        "user_agent": _dash(req_h.get("user-agent")),
        "referer": _dash(req_h.get("referer")),
        "error": str(error) if error else (None if status is not None else "no response"),
        "content_bytes": _size(_int(content.get("size"))),
        "transfer_bytes": _transfer(transfer, headers_size, body_size),
        "from_cache": transfer == 0 or bool(response.get("_fromCache")) or bool(entry.get("cache")),
        "revalidated": conditional and body_size == 0 and status in (200, 304),
        "page": page,
        "page_title": titles.get(page) if page is not None else None,
        "resource_type": _text(entry.get("_resourceType")),
        "protocol": _text(response.get("httpVersion")),
        "server_ip": _text(entry.get("serverIPAddress")),
        "connection": _text(entry.get("connection")),
    }
    for t in _TIMINGS:
        row[f"{t}_ms"] = _ms(timings.get(t))
    for column, header in _HEADER_COLUMNS.items():
        row[column] = res_h.get(header)
    row["set_cookie"] = "set-cookie" in res_h
    if bodies:
        row["body"] = _body(content)
    return row


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _headers(items: Any, wanted: frozenset[str]) -> dict[str, str]:
    """The ``wanted`` headers of a HAR header list: lower-case name → values joined."""
    out: dict[str, str] = {}
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        if not isinstance(name, str):
            continue
        key = name.strip().lower()
        if key not in wanted:
            continue
        value = item.get("value")
        value = "" if value is None else str(value).strip()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _dash(value: str | None) -> str | None:
    return None if value in (None, "", "-") else value


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _size(value: int | None) -> int | None:
    return value if value is not None and value >= 0 else None


def _transfer(transfer: int | None, headers: int | None, body: int | None) -> int | None:
    """``_transferSize`` when known, else ``headersSize + bodySize`` when both are."""
    if transfer is not None and transfer >= 0:
        return transfer
    if headers is not None and body is not None and headers >= 0 and body >= 0:
        return headers + body
    return None


def _ms(value: Any) -> float | None:
    """A HAR time in ms; ``-1`` (and any negative: not applicable) → None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _micros(value: Any) -> int | None:
    """An ISO 8601 time → epoch microseconds (UTC); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _BadEntryError(f"startedDateTime {value!r} is not a time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _BadEntryError(f"startedDateTime {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _body(content: dict[str, Any]) -> bytes | None:
    text = content.get("text")
    if not isinstance(text, str):
        return None
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _BadEntryError(f"response.content.text is not valid base64 ({exc})") from None
    return text.encode("utf-8", "surrogatepass")

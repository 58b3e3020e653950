"""Cache-Control parsing and asset classification, shared by the audit and the policies.

Three things live here:

* :func:`parse_cache_control` — one header value to a ``dict`` of directives (for a
  person or a test), and :func:`cache_directives` — the same parse over a whole frame
  as polars expressions, adding one column per directive and the TTLs a cache derives
  from them;
* :func:`asset_class` — what kind of asset each row is (``hashed``, ``static``,
  ``image``, ``font``, ``html``, ``api``, ``other``), the key to what its headers
  should be;
* :func:`header_column` — where a response header is in a frame: HAR frames name it
  ``cache_control`` (:func:`perflab.api.read_har`), nginx logs ``sent_http_cache_control``
  (``$sent_http_cache_control``), Apache logs with ``%{Cache-Control}o`` likewise.

How a directive is read (RFC 9111 §5.2, MDN "Cache-Control")
------------------------------------------------------------
* Directive names are case-insensitive; values may be quoted (``max-age="60"``).
* A directive given twice counts once, its **first** value (RFC 9111 §4.2.1 allows a
  cache to use the first value); a bare flag counts wherever it appears. The same
  holds across several header lines joined with ``", "`` (what the readers do).
* A delta-seconds value over 2³¹ is capped at 2147483648 (RFC 9111 §1.2.2); a value
  that is not a number (``max-age=abc``, ``max-age=-1``, ``max-age=60;public``) is
  ignored, as if the directive were absent.
* ``no-cache`` and ``private`` with a field list (``no-cache="Set-Cookie"``) only
  restrict those fields (RFC 9111 §5.2.2.4, §5.2.2.7): they do not count as the plain
  directive.
* Anything else that does not parse is skipped; parsing never raises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame

__all__ = [
    "ASSET_CLASSES",
    "DELTA_SECONDS_MAX",
    "DIRECTIVE_COLUMNS",
    "HASHED_PREFIXES",
    "ONE_YEAR_S",
    "asset_class",
    "cache_directives",
    "directive_exprs",
    "hash_token",
    "header_column",
    "parse_cache_control",
]

ONE_YEAR_S = 31_536_000
"""365 days: the ``max-age`` of a content-hashed asset (web.dev, "Love your cache")."""

DELTA_SECONDS_MAX = 2_147_483_648
"""RFC 9111 §1.2.2: a cache reads a larger delta-seconds value as this."""

ASSET_CLASSES: tuple[str, ...] = ("hashed", "static", "image", "font", "html", "api", "other")
"""The values of ``asset_class``, in the order of :func:`asset_class`'s precedence table."""

HASHED_PREFIXES: tuple[str, ...] = ("/_next/static/",)
"""Path prefixes whose every file is content-addressed: Next.js serves ``/_next/static/``
with ``public, max-age=31536000, immutable`` itself (build id or content hash in the
path)."""

DIRECTIVE_COLUMNS: dict[str, Any] = {
    "max_age_s": pl.Int64,
    "s_maxage_s": pl.Int64,
    "swr_s": pl.Int64,
    "sie_s": pl.Int64,
    "immutable": pl.Boolean,
    "no_store": pl.Boolean,
    "no_cache": pl.Boolean,
    "private": pl.Boolean,
    "public": pl.Boolean,
    "must_revalidate": pl.Boolean,
    "expires_s": pl.Int64,
    "browser_ttl_s": pl.Int64,
    "ttl_s": pl.Int64,
}
"""Columns :func:`cache_directives` adds, with their dtypes."""

_NUMERIC = {
    "max_age_s": "max-age",
    "s_maxage_s": "s-maxage",
    "swr_s": "stale-while-revalidate",
    "sie_s": "stale-if-error",
}
_FLAGS = {
    "immutable": "immutable",
    "no_store": "no-store",
    "no_cache": "no-cache",
    "private": "private",
    "public": "public",
    "must_revalidate": "must-revalidate",
}
_NUMERIC_DIRECTIVES = frozenset(_NUMERIC.values()) | {"min-fresh", "max-stale"}
_VALUE_REQUIRED = frozenset(_NUMERIC.values()) | {"min-fresh"}  # max-stale may go bare

# --------------------------------------------------------------------------- one value


def _split_directives(value: str) -> list[str]:
    """Split on commas that are not inside a quoted string."""
    parts, buf, quoted, escaped = [], [], False, False
    for ch in value:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            buf.append(ch)
            escaped = True
        elif ch == '"':
            buf.append(ch)
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _delta_seconds(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    return min(int(text), DELTA_SECONDS_MAX)


def parse_cache_control(value: str | None) -> dict[str, Any]:
    """Parse one ``Cache-Control`` value into its directives.

    Parameters
    ----------
    value : str or None
        The header value, or several header lines joined with ``", "``.

    Returns
    -------
    dict
        Directive name (lower case) → ``True`` for a directive without a value, an
        ``int`` for the delta-seconds ones (``max-age``, ``s-maxage``,
        ``stale-while-revalidate``, ``stale-if-error``, ``min-fresh``,
        ``max-stale``), the unquoted text otherwise (``no-cache="Set-Cookie"`` →
        ``{"no-cache": "Set-Cookie"}``). The first value of a directive wins, and a
        bare directive counts wherever it appears (``public=0, public`` is public); a
        delta-seconds directive without a number (``max-age=abc``, a bare
        ``max-age``) is dropped; garbage is skipped.

    Examples
    --------
    >>> parse_cache_control('Public, MAX-AGE="600", max-age=5, immutable')
    {'public': True, 'max-age': 600, 'immutable': True}
    >>> parse_cache_control('no-cache="Set-Cookie, Set-Cookie2", s-maxage=99999999999')
    {'no-cache': 'Set-Cookie, Set-Cookie2', 's-maxage': 2147483648}
    >>> parse_cache_control(None), parse_cache_control(",,max-age=abc;=")
    ({}, {})
    """
    out: dict[str, Any] = {}
    if not value:
        return out
    for part in _split_directives(value):
        name, sep, raw = part.partition("=")
        name = name.strip().lower()
        if not name or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9a-z-]+", name):
            continue
        if not sep:  # a bare directive counts wherever it is (no-cache="x", no-cache)
            if name not in _VALUE_REQUIRED:
                out[name] = True
            continue
        if name in out:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if name in _NUMERIC_DIRECTIVES:
            seconds = _delta_seconds(raw)
            if seconds is not None:
                out[name] = seconds
        else:
            out[name] = raw
    return out


# --------------------------------------------------------------------------- vectorised


def _normalised(cc: pl.Expr) -> pl.Expr:
    """Lower case, numeric quotes dropped, other quoted text blanked, ``,`` around."""
    s = cc.str.to_lowercase()
    s = s.str.replace_all(r'=\s*"\s*([0-9]+)\s*"', "=${1}")
    s = s.str.replace_all(r'"(?:[^"\\]|\\.)*(?:"|$)', '""')
    return pl.concat_str([pl.lit(","), s, pl.lit(",")])


def directive_exprs(cache_control: str | pl.Expr) -> dict[str, pl.Expr]:
    """Polars expressions reading the directives of a ``Cache-Control`` column.

    The same reading as :func:`parse_cache_control`, over whole columns: delta-seconds
    directives as ``Int64`` (null when absent or not a number), flags as ``Boolean``
    (null when the header itself is null). Qualified ``no-cache="…"``/``private="…"``
    are not the flags.

    Parameters
    ----------
    cache_control : str or polars.Expr
        The column (name or expression) holding the header values.

    Returns
    -------
    dict of str to polars.Expr
        ``max_age_s``, ``s_maxage_s``, ``swr_s``, ``sie_s``, ``immutable``,
        ``no_store``, ``no_cache``, ``private``, ``public``, ``must_revalidate``, each
        aliased to its key.

    Examples
    --------
    >>> df = pl.DataFrame({"cc": ["public, max-age=60", 'No-Cache="set-cookie"', None]})
    >>> e = directive_exprs("cc")
    >>> df.select(e["max_age_s"], e["public"], e["no_cache"]).rows()
    [(60, True, False), (None, False, False), (None, None, None)]
    """
    col = pl.col(cache_control) if isinstance(cache_control, str) else cache_control
    s = _normalised(col)
    out: dict[str, pl.Expr] = {}
    for column, name in _NUMERIC.items():
        digits = s.str.extract(rf",\s*{re.escape(name)}\s*=\s*([0-9]+)\s*,", 1)
        value = (
            pl.when(digits.str.len_chars() > 10)
            .then(pl.lit(DELTA_SECONDS_MAX, pl.Int64))
            .otherwise(digits.cast(pl.Int64, strict=False).clip(upper_bound=DELTA_SECONDS_MAX))
        )
        out[column] = value.alias(column)
    for column, name in _FLAGS.items():
        out[column] = s.str.contains(rf",\s*{re.escape(name)}\s*,").alias(column)
    return out


_HTTP_DATE_FORMATS = (
    "%a, %d %b %Y %H:%M:%S GMT",  # IMF-fixdate (RFC 9110 §5.6.7)
    "%A, %d-%b-%y %H:%M:%S GMT",  # obsolete RFC 850
    "%a %b %e %H:%M:%S %Y",  # obsolete asctime
)


def _http_date(expr: pl.Expr) -> pl.Expr:
    s = expr.str.strip_chars()
    parsed = [s.str.strptime(pl.Datetime("us"), f, strict=False) for f in _HTTP_DATE_FORMATS]
    return pl.coalesce(parsed).dt.replace_time_zone("UTC")


_ALIASES = ("{}", "sent_http_{}", "http_{}_sent")


def header_column(df: pl.DataFrame | pl.LazyFrame, header: str) -> str | None:
    """The column holding response header ``header`` in ``df``, or None.

    Looks for the HAR reader's name (``cache_control``) and the nginx/Apache one
    (``sent_http_cache_control``), in that order.

    Parameters
    ----------
    df : polars.DataFrame or LazyFrame
        A requests frame.
    header : str
        The header, as written in HTTP (``Cache-Control``) or as a column stem
        (``cache_control``).

    Examples
    --------
    >>> header_column(pl.DataFrame({"sent_http_etag": ["x"]}), "ETag")
    'sent_http_etag'
    >>> header_column(pl.DataFrame({"path": ["/"]}), "Cache-Control") is None
    True
    """
    stem = header.strip().lower().replace("-", "_")
    names = df.collect_schema().names() if isinstance(df, pl.LazyFrame) else df.columns
    for pattern in _ALIASES:
        if pattern.format(stem) in names:
            return pattern.format(stem)
    return None


def cache_directives(df: FrameLike) -> pl.DataFrame:
    """Add the Cache-Control directives and the TTLs they give to a requests frame.

    Parameters
    ----------
    df : frame-like
        Rows with a ``Cache-Control`` column (``cache_control`` or
        ``sent_http_cache_control``; without one every directive is null) and,
        optionally, ``Expires`` (``expires``/``sent_http_expires``), ``Date``
        (``date``/``sent_http_date``) and the request ``time``.

    Returns
    -------
    polars.DataFrame
        ``df`` with :data:`DIRECTIVE_COLUMNS` added (replacing columns of those
        names):

        ===============  =====  ==================================================
        column           dtype  meaning
        ===============  =====  ==================================================
        max_age_s …      i64    ``max-age``, ``s-maxage``, ``stale-while-
                                revalidate`` (``swr_s``), ``stale-if-error``
                                (``sie_s``) in seconds; null when absent
        immutable …      bool   the flags ``immutable``, ``no-store``, ``no-cache``,
                                ``private``, ``public``, ``must-revalidate``; null
                                when there is no Cache-Control
        expires_s        i64    ``Expires − Date`` (else ``Expires − time``), 0 when
                                in the past or invalid (``Expires: 0`` means
                                already expired, RFC 9111 §5.3); null without
                                ``Expires`` or without a reference time
        browser_ttl_s    i64    freshness lifetime for a browser: 0 with
                                ``no-store``/``no-cache``, else ``max-age``, else
                                ``expires_s``; null = heuristic freshness
        ttl_s            i64    freshness lifetime for a shared cache (CDN): 0 with
                                ``no-store``/``no-cache``/``private``, else
                                ``s-maxage``, else ``max-age``, else
                                ``expires_s``; null = heuristic (RFC 9111 §4.2.2)
        ===============  =====  ==================================================

    Examples
    --------
    >>> df = pl.DataFrame({"cache_control": ["public, max-age=600, s-maxage=60",
    ...                                      "private, max-age=600", None]})
    >>> cache_directives(df).select("max_age_s", "private", "browser_ttl_s", "ttl_s")
    shape: (3, 4)
    ┌───────────┬─────────┬───────────────┬───────┐
    │ max_age_s ┆ private ┆ browser_ttl_s ┆ ttl_s │
    │ ---       ┆ ---     ┆ ---           ┆ ---   │
    │ i64       ┆ bool    ┆ i64           ┆ i64   │
    ╞═══════════╪═════════╪═══════════════╪═══════╡
    │ 600       ┆ false   ┆ 600           ┆ 60    │
    │ 600       ┆ true    ┆ 600           ┆ 0     │
    │ null      ┆ null    ┆ null          ┆ null  │
    └───────────┴─────────┴───────────────┴───────┘
    """
    frame = as_frame(df)
    cc_col = header_column(frame, "cache_control")
    cc = pl.col(cc_col).cast(pl.String) if cc_col else pl.lit(None, pl.String)
    d = directive_exprs(cc)
    frame = frame.with_columns(d.values())

    expires_col = header_column(frame, "expires")
    date_col = header_column(frame, "date")
    if expires_col is None:
        expires_s = pl.lit(None, pl.Int64)
    else:
        expires = pl.col(expires_col).cast(pl.String)
        if date_col is not None:
            ref = pl.coalesce(_http_date(pl.col(date_col).cast(pl.String)), _reference_time(frame))
        else:
            ref = _reference_time(frame)
        delta = (_http_date(expires) - ref).dt.total_seconds().cast(pl.Int64)
        expires_s = (
            pl.when(expires.is_null())
            .then(None)
            .when(_http_date(expires).is_null())
            .then(0)
            .otherwise(delta.clip(lower_bound=0))
        )
    frame = frame.with_columns(expires_s.cast(pl.Int64).alias("expires_s"))
    no = pl.col("no_store").fill_null(False) | pl.col("no_cache").fill_null(False)
    browser = (
        pl.when(no)
        .then(0)
        .otherwise(pl.coalesce("max_age_s", "expires_s"))
        .cast(pl.Int64)
        .alias("browser_ttl_s")
    )
    shared = (
        pl.when(no | pl.col("private").fill_null(False))
        .then(0)
        .otherwise(pl.coalesce("s_maxage_s", "max_age_s", "expires_s"))
        .cast(pl.Int64)
        .alias("ttl_s")
    )
    return frame.with_columns(browser, shared)


def _reference_time(frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema.get("time")
    if isinstance(dtype, pl.Datetime):
        t = pl.col("time")
        if dtype.time_zone is None:
            t = t.dt.replace_time_zone("UTC")
        return t.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return pl.lit(None, pl.Datetime("us", "UTC"))


# --------------------------------------------------------------------------- classes

_FONT_EXT = ("woff", "woff2", "ttf", "otf", "eot")
_IMAGE_EXT = (
    "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico", "bmp", "tif", "tiff",
    "apng", "jxl", "heic", "heif", "cur",
)  # fmt: skip
_STATIC_EXT = (
    "js", "mjs", "cjs", "css", "map", "wasm", "mp4", "webm", "ogv", "mp3", "ogg", "oga",
    "wav", "flac", "m4a", "m4v", "mov", "aac", "opus",
)  # fmt: skip
_HTML_EXT = ("html", "htm")
_HASHABLE_EXT = _FONT_EXT + _IMAGE_EXT + _STATIC_EXT

_SUFFIX = r"(?:\.(?:chunk|min|bundle|module|esm|legacy|iife))?\.[A-Za-z0-9]{1,8}$"
# hex digests: webpack/CRA/Angular/Parcel `name.<hash>.ext`, `name-<hash>.ext`
_HEX = re.compile(rf"(?:^|[.\-_~])([0-9a-f]{{8,64}}){_SUFFIX}")
# short hex after a dot (webpack `[contenthash:6]`)
_HEX_SHORT = re.compile(rf"\.([0-9a-f]{{6,7}}){_SUFFIX}")
# Rollup/Vite ≥ 5: `name-<8 base64url chars>.ext`
_B64 = re.compile(r"-([A-Za-z0-9_-]{8})\.[A-Za-z0-9]{1,8}$")


def _token_ok_hex(token: pl.Expr) -> pl.Expr:
    return token.str.contains("[0-9]") & token.str.contains("[a-f]")


def _token_ok_b64(token: pl.Expr) -> pl.Expr:
    return (
        token.str.contains("[A-Z]")
        & token.str.contains("[a-z]")
        & (token.str.contains(r"[0-9_\-]") | (token.str.count_matches("[A-Z]") >= 3))
    )


def _hash_token_expr(name: pl.Expr) -> pl.Expr:
    hex_long = name.str.extract(_HEX.pattern, 1)
    hex_short = name.str.extract(_HEX_SHORT.pattern, 1)
    b64 = name.str.extract(_B64.pattern, 1)
    return pl.coalesce(
        pl.when(_token_ok_hex(hex_long)).then(hex_long),
        pl.when(_token_ok_hex(hex_short)).then(hex_short),
        pl.when(_token_ok_b64(b64)).then(b64),
    )


def hash_token(path: str) -> str | None:
    """The content hash in the file name of ``path``, or None.

    Recognised: a hex digest of 8–64 characters after ``.``, ``-``, ``_`` or ``~``
    (webpack ``[contenthash]``, Create React App, Angular, Parcel, Gatsby), 6–7 hex
    characters after a dot (``[contenthash:6]``), or Rollup/Vite's 8 base64url
    characters after ``-``. A hex token needs a digit and a letter (``20240101`` is
    a date, ``deadbeef`` a word); a base64url one needs both cases and a digit,
    ``_``, ``-`` or three capitals (``-Settings.js`` is a name, ``-BkU3xT9_.js`` a
    hash). ``.chunk``/``.min``/``.bundle`` before the extension are allowed.

    Examples
    --------
    >>> hash_token("/static/js/787.3c5e9a1f.chunk.js"), hash_token("/assets/index-BkU3xT9_.js")
    ('3c5e9a1f', 'BkU3xT9_')
    >>> hash_token("/js/app-settings.js") is None, hash_token("/report-20240101.pdf") is None
    (True, True)
    """
    frame = pl.DataFrame({"name": [path.rsplit("/", 1)[-1]]}, schema={"name": pl.String})
    token: str | None = frame.select(_hash_token_expr(pl.col("name"))).item()
    return token


def _ext_in(ext: pl.Expr, exts: Sequence[str]) -> pl.Expr:
    return ext.is_in(list(exts)).fill_null(False)


def asset_class(df: FrameLike, *, hashed_prefixes: Sequence[str] = HASHED_PREFIXES) -> pl.DataFrame:
    """Classify each request's asset: what its caching headers should look like.

    Parameters
    ----------
    df : frame-like
        Rows with a ``path``; ``content_type`` (without parameters) is used when
        present.
    hashed_prefixes : sequence of str
        Path prefixes whose files are all content-addressed (default
        ``("/_next/static/",)``; add ``"/_nuxt/"`` or your own build folder).

    Returns
    -------
    polars.DataFrame
        ``df`` with a ``asset_class`` column (str) and ``hash_token`` (the content
        hash found in the file name, else null). The first matching line wins:

        ====  =========  ===========================================================
        step  class      when
        ====  =========  ===========================================================
        1     hashed     the path starts with a ``hashed_prefixes`` entry, or the
                         file name carries a content hash (:func:`hash_token`) and
                         has a script, style, font, image or media extension
        2     (by type)  ``Content-Type``: ``text/html``/XHTML → html; JSON
                         (``application/json``, ``…+json``) → api; ``font/*``,
                         ``application/font-*``, ``x-font-*``, ``vnd.ms-fontobject``
                         → font; ``image/*`` → image; CSS, JavaScript, WASM,
                         ``video/*``, ``audio/*`` → static
        3     (by ext.)  ``.html``/``.htm`` → html; ``.json`` → api; ``.woff2`` …
                         → font; ``.png``, ``.svg`` … → image; ``.js``, ``.css``,
                         ``.map``, ``.wasm``, media → static
        4     api        the path is ``/api``, ``/graphql`` or under ``/api/``
        5     html       the last segment has no extension (``/``, ``/shop/shoes``)
                         and no content type says otherwise
        6     other      anything else (``/robots.txt``, a ``text/plain`` page)
        ====  =========  ===========================================================

    Raises
    ------
    SchemaError
        ``df`` has no ``path`` column.

    Examples
    --------
    >>> paths = ["/_next/static/chunks/app-3f9a8b7c1d2e.js", "/assets/index-BkU3xT9_.js",
    ...          "/static/css/main.4d2c1b0a.css", "/favicon.ico", "/fonts/inter.woff2",
    ...          "/js/app.js", "/", "/api/items/1", "/robots.txt"]
    >>> asset_class({"path": paths}).get_column("asset_class").to_list()
    ['hashed', 'hashed', 'hashed', 'image', 'font', 'static', 'html', 'api', 'other']
    """
    frame = as_frame(df)
    if "path" not in frame.columns:
        from perflab.errors import SchemaError

        raise SchemaError("assets", missing=["path"])
    if isinstance(hashed_prefixes, str):
        raise ParameterError("hashed_prefixes must be a sequence of prefixes, not one string")
    path = pl.col("path").cast(pl.String).fill_null("")
    name = path.str.extract(r"([^/]*)$", 1)
    ext = name.str.extract(r"\.([A-Za-z0-9]{1,8})$", 1).str.to_lowercase()
    if "content_type" in frame.columns:
        ct = (
            pl.col("content_type")
            .cast(pl.String)
            .str.split(";")
            .list.first()
            .str.strip_chars()
            .str.to_lowercase()
        )
    else:
        ct = pl.lit(None, pl.String)
    token = _hash_token_expr(name)
    under = pl.lit(False)
    for prefix in hashed_prefixes:
        under = under | path.str.starts_with(prefix)
    hashed = under | (token.is_not_null() & _ext_in(ext, _HASHABLE_EXT))
    ct_html = ct.is_in(["text/html", "application/xhtml+xml"])
    ct_api = ct.str.contains(r"^application/(?:[a-z0-9.\-]+\+)?json$") | (ct == "text/x-json")
    ct_font = ct.str.contains(r"^(?:font/|application/(?:x-)?font|application/vnd\.ms-fontobject)")
    ct_image = ct.str.starts_with("image/")
    ct_static = ct.str.contains(
        r"^(?:text/css|(?:text|application)/(?:x-)?(?:javascript|ecmascript)|"
        r"application/wasm|video/|audio/)"
    )
    api_path = (path == "/api") | (path == "/graphql") | path.str.starts_with("/api/")
    cls = (
        pl.when(hashed)
        .then(pl.lit("hashed"))
        .when(ct_html.fill_null(False))
        .then(pl.lit("html"))
        .when(ct_api.fill_null(False))
        .then(pl.lit("api"))
        .when(ct_font.fill_null(False))
        .then(pl.lit("font"))
        .when(ct_image.fill_null(False))
        .then(pl.lit("image"))
        .when(ct_static.fill_null(False))
        .then(pl.lit("static"))
        .when(_ext_in(ext, _HTML_EXT))
        .then(pl.lit("html"))
        .when(_ext_in(ext, ("json",)))
        .then(pl.lit("api"))
        .when(_ext_in(ext, _FONT_EXT))
        .then(pl.lit("font"))
        .when(_ext_in(ext, _IMAGE_EXT))
        .then(pl.lit("image"))
        .when(_ext_in(ext, _STATIC_EXT))
        .then(pl.lit("static"))
        .when(api_path)
        .then(pl.lit("api"))
        .when(ext.is_null() & ct.is_null())
        .then(pl.lit("html"))
        .otherwise(pl.lit("other"))
    )
    return frame.with_columns(
        cls.alias("asset_class"), pl.when(hashed).then(token).alias("hash_token")
    )

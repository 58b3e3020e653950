"""Compression savings per response, measured: real gzip, brotli and zstd on the bodies.

:func:`compression_savings` takes a :data:`~perflab.api.schema.REQUESTS` frame and gives
one row per request: what its body cost on the wire, what gzip, brotli and zstd make of
it, the best choice and the saving. Where the frame holds the response body (the
``body`` column of :func:`~perflab.api.har.read_har` with ``bodies=True``) the body is
compressed for real and the encode time measured; where it does not (access logs, a
HAR saved without content) the sizes are estimated from the MIME type with the table
:data:`MIME_RATIOS`. :func:`compression_summary` adds the rows up per content type.

Output columns
--------------
==================  =======  ===============================================================
column              dtype    meaning
==================  =======  ===============================================================
method, host,       str/i64  the request, as in the input (``route`` too when the input
path, query,                 has one, after ``path``)
status
content_type        str      ``Content-Type`` without parameters
content_encoding    str      the encoding it was served with (lower case); null when
                             none; ``gzip`` when an nginx log's ``gzip_ratio`` says so
served_bytes        i64      body bytes on the wire, as served (see below)
identity_bytes      i64      the decoded body size (see below)
<enc>_bytes         i64      the body encoded with ``<enc>`` at its level (one pair of
<enc>_ms            f64      columns per requested encoding, in order); ``_ms`` is the
                             median encode time of ``repeat`` runs in milliseconds, null
                             when estimated
<enc>_static_bytes  i64      only with ``static=True``: the size at the maximum level
                             (:data:`STATIC_LEVELS`), measured bodies only
best_encoding       str      the smallest of ``identity``, the encodings, and the response
                             as served (then its own encoding, or ``identity``)
best_bytes          i64      its size
saving_bytes        i64      ``served_bytes - best_bytes`` (≥ 0: nothing beats what is
                             already served means a saving of 0)
saving_pct          f64      ``saving_bytes`` as a percentage of ``served_bytes`` (2
                             decimals)
compressible        bool     false for formats that are compressed already (images other
                             than SVG and icons, WOFF/WOFF2, video, audio, archives, PDF,
                             or a body starting with such a format's magic bytes, a gzip
                             or zstd stream included); null when neither a body nor a
                             known MIME type says
worth_it            bool     compressing it passes Lighthouse's bar (below)
method_used         str      ``"measured"`` (the body was compressed), ``"estimated"``
                             (from the MIME type), null when nothing is known of the size
                             or the type
==================  =======  ===============================================================

A response that is not compressible keeps its row with ``best_encoding`` as served,
``saving_bytes`` 0 and ``worth_it`` false.

Sizes
-----
``identity_bytes`` is, first found: the body's length; HAR ``content_bytes``
(``content.size``); ``bytes`` when the response was served without an encoding; ``bytes
× gzip_ratio`` (nginx's ``$gzip_ratio`` is original ÷ compressed); ``bytes`` divided by
the :data:`MIME_RATIOS` ratio of the encoding it was served with.

``served_bytes`` is ``bytes`` (HAR ``bodySize``, nginx ``$body_bytes_sent``: compressed
when compression was on). When that is null — Chromium records a response from its
cache with a negative size — it is ``identity_bytes`` for a response served without an
encoding, our measurement at that encoding for one served with a requested encoding,
else ``transfer_bytes`` (headers included, so a little high) when above 0. A response
from the browser cache therefore counts with the size it has when it is fetched. A 304
(HAR ``bodySize`` 0) has nothing to save.

A HAR's ``content.text`` is the *decoded* body even when the response was served
``gzip`` or ``br``, so compressing it measures what the server could send; the saving of
a response served gzip is then what brotli or zstd gain over the gzip it was sent with.

Levels
------
On-the-fly defaults (:data:`DEFAULT_LEVELS`), overridable with ``levels=``:

- **gzip 6** — zlib's default, what Apache mod_deflate uses unless told otherwise and a
  common ``gzip_comp_level`` in nginx configurations (nginx's own default is 1, about 2 %
  larger on the sample's script, for half the time). ``deflate`` (the zlib format) uses the same.
- **br 5** — the usual on-the-fly compromise (4–6; ngx_brotli's ``brotli_comp_level``
  defaults to 6). Level 11 is for pre-compressed static files: on this machine it is
  about 60× slower than 5 on a 22 KB script, for 7 % fewer bytes.
- **zstd 3** — zstd's own default level.

``static=True`` adds ``<enc>_static_bytes`` at :data:`STATIC_LEVELS` (gzip 9, br 11,
zstd 19), what ``gzip_static``/``brotli_static`` serve from files compressed at build
time. It is off by default because brotli 11 costs about 1 ms per KB: a HAR with a few
megabytes of scripts would take seconds. Static sizes are measured only, and only for
compressible bodies; they do not enter ``best_*``.

Encode times are wall-clock medians over ``repeat`` runs (:func:`time.perf_counter_ns`)
on this machine, one core, through the Python bindings of zlib, brotli and libzstd —
comparable between encodings, not a promise of a server's speed. An already compressed
body is encoded once (its size is the finding, not its time). Identical bodies (a HAR
often holds the same script twice) are compressed once.

Lighthouse's bar (``worth_it``)
-------------------------------
Lighthouse's ``uses-text-compression`` audit reports a response when gzip saves at least
1,400 bytes (``IGNORE_THRESHOLD_IN_BYTES``) *and* either at least 5 % of it
(``IGNORE_THRESHOLD_IN_PERCENT = 0.05``) or at least 20,000 bytes; smaller savings are
not worth the change. ``worth_it`` applies the same test to ``saving_bytes`` and
``saving_pct`` (``min_bytes=1400``, ``min_pct=5.0``), and is false for responses that are
not compressible. Two differences, both on purpose: Lighthouse looks only at responses
served without compression and only at gzip, with the percentage of the decoded size;
here the saving is that of the best encoding over what was actually served (brotli over
gzip counts), as a percentage of the served size.

Estimates
---------
:data:`MIME_RATIOS` gives the typical compressed ÷ identity size per MIME family at the
default levels. The text ratios are the median per file of our own measurement on real
files of 1 KB to 2 MB found on a Debian machine with perflab's environment (up to 200
files per type from ``site-packages`` — Jupyter, nbconvert, altair, botocore's JSON —
and ``/usr/share/{javascript,fonts,doc,icons,xml}``): HTML 200 files, JavaScript 200,
JSON 200, SVG 200, XML 200, plain text 200, CSV 30, CSS 17, TrueType fonts 25, icons 8.
Small responses compress worse than these files (headers of the format weigh more), so
an estimate for a 500-byte JSON response is optimistic. WebAssembly had no corpus
here: its row is an assumption (compiled code compresses a little worse than minified
JavaScript) and says so. Formats that are compressed already have ratio 1. An estimate
is ``ratio × identity_bytes`` plus the bytes the format adds around a short body (gzip
20, deflate 8, brotli 4, zstd 9), so a 15-byte body is not estimated to shrink to 2.
The test suite checks the JSON estimate against a real measurement.

Speed: everything but the compression itself is polars expressions, so an access log
of millions of rows is estimated in about a second; bodies larger than
``max_body_bytes`` are estimated rather than compressed.
"""

from __future__ import annotations

import logging
import statistics
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import brotli
import polars as pl
import zstandard

from perflab.api.schema import REQUESTS
from perflab.errors import ParameterError, SchemaError
from perflab.frames import FrameLike, Schema, as_frame

__all__ = [
    "DEFAULT_LEVELS",
    "ENCODINGS",
    "MIME_RATIOS",
    "STATIC_LEVELS",
    "SUMMARY",
    "compression_candidates",
    "compression_savings",
    "compression_summary",
]

logger = logging.getLogger(__name__)

ENCODINGS = ("gzip", "deflate", "br", "zstd")
"""The content codings :func:`compression_savings` can measure."""

DEFAULT_LEVELS: Mapping[str, int] = {"gzip": 6, "deflate": 6, "br": 5, "zstd": 3}
"""On-the-fly compression level per encoding (see the module docstring for why)."""

STATIC_LEVELS: Mapping[str, int] = {"gzip": 9, "deflate": 9, "br": 11, "zstd": 19}
"""Pre-compression (build time) level per encoding, for ``static=True``."""

_LEVEL_RANGE = {"gzip": (0, 9), "deflate": (0, 9), "br": (0, 11), "zstd": (-7, 22)}

# Lighthouse uses-text-compression (core/audits/byte-efficiency/uses-text-compression.js).
_LH_MIN_BYTES = 1400
_LH_MIN_PCT = 5.0
_LH_ANY_PCT_BYTES = 20_000

_COMPRESSED = "compressed"

# Bytes an encoder adds around a short body (gzip's header and trailer, zlib's, brotli's
# stream and meta-block headers, zstd's frame and block headers): the part of an
# estimate that does not scale with the body.
_FRAMING = {"gzip": 20, "deflate": 8, "br": 4, "zstd": 9}

# family: (gzip, br, zstd, basis of the ratios, MIME types — "*" a wildcard part)
_FAMILIES: dict[str, tuple[float, float, float, str, str]] = {
    "html": (0.25, 0.22, 0.27, "200 files", "text/html application/xhtml+xml"),
    "css": (0.24, 0.23, 0.27, "17 files", "text/css"),
    "javascript": (
        0.35, 0.34, 0.37, "200 files",
        "application/javascript text/javascript application/x-javascript "
        "application/ecmascript text/ecmascript",
    ),
    "json": (
        0.16, 0.14, 0.17, "200 files",
        "application/json text/json application/x-ndjson *+json",
    ),
    "svg": (0.42, 0.38, 0.43, "200 files", "image/svg+xml"),
    "xml": (0.31, 0.28, 0.32, "200 files", "application/xml text/xml *+xml"),
    "csv": (0.35, 0.32, 0.32, "30 files", "text/csv"),
    "text": (0.48, 0.44, 0.48, "200 files", "text/plain text/markdown application/yaml text/*"),
    "font": (
        0.54, 0.48, 0.55, "25 files",
        "font/ttf font/otf font/sfnt font/collection font/* application/x-font-ttf "
        "application/x-font-otf application/font-sfnt application/vnd.ms-fontobject",
    ),
    "icon": (0.16, 0.16, 0.20, "8 files", "image/x-icon image/vnd.microsoft.icon image/bmp"),
    "wasm": (0.40, 0.36, 0.40, "assumed, not measured", "application/wasm"),
    _COMPRESSED: (
        1.0, 1.0, 1.0, "compressed already",
        "image/* video/* audio/* font/woff font/woff2 application/font-woff "
        "application/font-woff2 application/x-font-woff application/zip application/gzip "
        "application/x-gzip application/zstd application/x-bzip2 application/x-xz "
        "application/x-7z-compressed application/vnd.rar application/x-rar-compressed "
        "application/pdf application/ogg",
    ),
}  # fmt: skip

MIME_RATIOS = pl.DataFrame(
    [
        (fam, mimes.split(), g, b, z, fam != _COMPRESSED, basis)
        for fam, (g, b, z, basis, mimes) in _FAMILIES.items()
    ],
    schema={
        "family": pl.String,
        "mime_types": pl.List(pl.String),
        "gzip": pl.Float64,
        "br": pl.Float64,
        "zstd": pl.Float64,
        "compressible": pl.Boolean,
        "basis": pl.String,
    },
    orient="row",
)
"""Typical compressed ÷ identity size per MIME family at the default levels (``deflate``
uses the ``gzip`` ratio); ``basis`` says how many files the median came from. A MIME
type not listed (``application/octet-stream``, ``application/x-protobuf`` …) gets no
estimate."""

_EXACT = {m: fam for fam, spec in _FAMILIES.items() for m in spec[4].split() if "*" not in m}
_RATIO = {
    enc: {fam: spec[i] for fam, spec in _FAMILIES.items()}
    for enc, i in (("gzip", 0), ("deflate", 0), ("br", 1), ("zstd", 2))
}
_FAMILY_COMPRESSIBLE = {fam: fam != _COMPRESSED for fam in _FAMILIES}

# Magic bytes of formats that are compressed already: (offset, prefix).
_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\x1f\x8b"),  # gzip
    (0, b"\x28\xb5\x2f\xfd"),  # zstd
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"GIF8"),
    (0, b"wOF2"),
    (0, b"wOFF"),
    (0, b"PK\x03\x04"),  # zip (and docx, jar …)
    (0, b"\xfd7zXZ\x00"),
    (0, b"7z\xbc\xaf\x27\x1c"),
    (0, b"OggS"),
    (0, b"fLaC"),
    (0, b"\x1a\x45\xdf\xa3"),  # webm, mkv
    (8, b"WEBP"),  # RIFF....WEBP
    (4, b"ftyp"),  # mp4, avif, heic
)

_OPTIONAL = Schema(
    "http requests",
    {},
    optional={
        "body": pl.Binary,
        "content_bytes": pl.Int64,
        "transfer_bytes": pl.Int64,
        "gzip_ratio": pl.Float64,
        "route": pl.String,
    },
    extra=True,
)

_SAVINGS_INPUT = Schema(
    "compression savings",
    {
        "content_type": pl.String,
        "served_bytes": pl.Int64,
        "identity_bytes": pl.Int64,
        "best_bytes": pl.Int64,
        "saving_bytes": pl.Int64,
        "compressible": pl.Boolean,
        "worth_it": pl.Boolean,
        "method_used": pl.String,
    },
    extra=True,
)

SUMMARY = Schema(
    "compression summary",
    {
        "content_type": pl.String,
        "responses": pl.UInt32,
        "measured": pl.UInt32,
        "estimated": pl.UInt32,
        "compressible": pl.UInt32,
        "worth_it": pl.UInt32,
        "served_bytes": pl.Int64,
        "identity_bytes": pl.Int64,
        "best_bytes": pl.Int64,
        "saving_bytes": pl.Int64,
        "saving_pct": pl.Float64,
    },
    extra=False,
)
"""What :func:`compression_summary` returns, one row per content type."""


def compression_savings(
    df: FrameLike,
    *,
    encodings: Sequence[str] = ("gzip", "br", "zstd"),
    levels: Mapping[str, int] | None = None,
    min_bytes: int = _LH_MIN_BYTES,
    min_pct: float = _LH_MIN_PCT,
    repeat: int = 3,
    max_body_bytes: int | None = 8 * 2**20,
    static: bool = False,
) -> pl.DataFrame:
    """What each response would weigh with gzip, brotli and zstd: measured on its body.

    Parameters
    ----------
    df : frame-like
        A :data:`~perflab.api.schema.REQUESTS` frame (anything
        :func:`~perflab.frames.as_frame` takes). Used when present: ``body`` (binary,
        from ``read_har(path, bodies=True)``), ``content_bytes``, ``transfer_bytes``,
        ``gzip_ratio`` and ``route``; missing REQUESTS columns count as null.
    encodings : sequence of {"gzip", "deflate", "br", "zstd"}
        The encodings to try, in the order of their output columns.
    levels : mapping of str to int, optional
        Levels that replace :data:`DEFAULT_LEVELS` (gzip 6, br 5, zstd 3), for
        example ``{"gzip": 1}`` for nginx's default.
    min_bytes : int
        The least ``saving_bytes`` that makes ``worth_it`` (Lighthouse: 1,400).
    min_pct : float
        The least ``saving_pct`` that makes ``worth_it`` when the saving is under
        20,000 bytes (Lighthouse: 5).
    repeat : int
        Encode runs per body; the time reported is their median.
    max_body_bytes : int or None
        Bodies larger than this are estimated, not compressed (None: no limit).
    static : bool
        Add ``<enc>_static_bytes`` at :data:`STATIC_LEVELS` (slow: brotli 11).

    Returns
    -------
    polars.DataFrame
        One row per input row, in order, with the columns of the module docstring.

    Raises
    ------
    ParameterError
        An unknown encoding, a level out of range, ``repeat`` under 1, or a negative
        threshold.
    SchemaError
        A column that cannot be cast to its REQUESTS dtype.

    Examples
    --------
    >>> import json
    >>> items = [{"id": i, "name": f"item {i}", "price": 9.99, "tags": ["new"]}
    ...          for i in range(200)]
    >>> body = json.dumps(items).encode()
    >>> reqs = pl.DataFrame({
    ...     "method": ["GET", "GET", "GET"],
    ...     "path": ["/api/items", "/logo.png", "/app.js"],
    ...     "content_type": ["application/json", "image/png", "application/javascript"],
    ...     "bytes": [len(body), 5000, 40000],
    ...     "body": [body, b"\\x89PNG\\r\\n\\x1a\\n" + bytes(4992), None]})
    >>> out = compression_savings(reqs)
    >>> out.select("path", "identity_bytes", "best_encoding", "compressible", "worth_it",
    ...            "method_used")
    shape: (3, 6)
    ┌────────────┬────────────────┬───────────────┬──────────────┬──────────┬─────────────┐
    │ path       ┆ identity_bytes ┆ best_encoding ┆ compressible ┆ worth_it ┆ method_used │
    │ ---        ┆ ---            ┆ ---           ┆ ---          ┆ ---      ┆ ---         │
    │ str        ┆ i64            ┆ str           ┆ bool         ┆ bool     ┆ str         │
    ╞════════════╪════════════════╪═══════════════╪══════════════╪══════════╪═════════════╡
    │ /api/items ┆ 12780          ┆ br            ┆ true         ┆ true     ┆ measured    │
    │ /logo.png  ┆ 5000           ┆ identity      ┆ false        ┆ false    ┆ measured    │
    │ /app.js    ┆ 40000          ┆ br            ┆ true         ┆ true     ┆ estimated   │
    └────────────┴────────────────┴───────────────┴──────────────┴──────────┴─────────────┘
    >>> out.filter(pl.col("method_used") == "estimated").select(
    ...     "gzip_bytes", "br_bytes", "zstd_bytes", "saving_bytes", "saving_pct").row(0)
    (14020, 13604, 14809, 26396, 65.99)
    >>> out["saving_pct"][0] > 90
    True
    """
    encs = _check_encodings(encodings)
    lv = _check_levels(encs, levels)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ParameterError(f"repeat must be an integer ≥ 1, not {repeat!r}")
    if min_bytes < 0 or min_pct < 0:
        raise ParameterError("min_bytes and min_pct must not be negative")
    if max_body_bytes is not None and max_body_bytes < 0:
        raise ParameterError(f"max_body_bytes must be ≥ 0 or None, not {max_body_bytes!r}")

    frame = as_frame(df)
    if frame.width == 0:
        frame = REQUESTS.empty()
    frame = _OPTIONAL.validate(REQUESTS.conform(frame))
    has_route = "route" in frame.columns
    for col, dtype in _OPTIONAL.optional.items():
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(col))

    frame = frame.with_row_index("_row").with_columns(_family_expr(frame))
    started = time.perf_counter()
    measured = _measure(frame, encs, lv, repeat, max_body_bytes, static)
    if measured.height:
        logger.debug(
            "compressed %d bodies with %s in %.2f s",
            measured.height,
            ", ".join(encs),
            time.perf_counter() - started,
        )
    frame = frame.join(measured, on="_row", how="left")
    out = _assemble(frame, encs, static, min_bytes, min_pct)
    keys = ["method", "host", "path", *(["route"] if has_route else []), "query", "status"]
    cols = [*keys, "content_type", "content_encoding", "served_bytes", "identity_bytes"]
    for enc in encs:
        cols += [f"{enc}_bytes", f"{enc}_ms"]
    if static:
        cols += [f"{enc}_static_bytes" for enc in encs]
    cols += [
        "best_encoding",
        "best_bytes",
        "saving_bytes",
        "saving_pct",
        "compressible",
        "worth_it",
        "method_used",
    ]
    return out.select(cols)


def compression_summary(savings: FrameLike) -> pl.DataFrame:
    """Add :func:`compression_savings` up per content type.

    Parameters
    ----------
    savings : frame-like
        The output of :func:`compression_savings` (at least ``content_type``,
        ``served_bytes``, ``identity_bytes``, ``best_bytes``, ``saving_bytes``,
        ``compressible``, ``worth_it``, ``method_used``).

    Returns
    -------
    polars.DataFrame
        :data:`SUMMARY`: ``content_type`` (null for responses without one),
        ``responses``, ``measured`` and ``estimated`` (how their sizes were found),
        ``compressible`` and ``worth_it`` (counts), then ``served_bytes``,
        ``identity_bytes``, ``best_bytes`` and ``saving_bytes`` summed over the
        responses whose saving is known, and ``saving_pct`` (of ``served_bytes``),
        largest saving first.

    Examples
    --------
    >>> rows = pl.DataFrame({
    ...     "content_type": ["application/json", "application/json", "image/png"],
    ...     "content_bytes": [50_000, 10_000, 8_000], "bytes": [50_000, 10_000, 8_000]})
    >>> compression_summary(compression_savings(rows)).select(
    ...     "content_type", "responses", "served_bytes", "saving_bytes", "saving_pct")
    shape: (2, 5)
    ┌──────────────────┬───────────┬──────────────┬──────────────┬────────────┐
    │ content_type     ┆ responses ┆ served_bytes ┆ saving_bytes ┆ saving_pct │
    │ ---              ┆ ---       ┆ ---          ┆ ---          ┆ ---        │
    │ str              ┆ u32       ┆ i64          ┆ i64          ┆ f64        │
    ╞══════════════════╪═══════════╪══════════════╪══════════════╪════════════╡
    │ application/json ┆ 2         ┆ 60000        ┆ 51592        ┆ 85.99      │
    │ image/png        ┆ 1         ┆ 8000         ┆ 0            ┆ 0.0        │
    └──────────────────┴───────────┴──────────────┴──────────────┴────────────┘
    """
    df = as_frame(savings, _SAVINGS_INPUT)
    known = pl.col("saving_bytes").is_not_null() & pl.col("served_bytes").is_not_null()

    def total(col: str) -> pl.Expr:
        summed = pl.col(col).filter(known).sum().cast(pl.Int64)
        return pl.when(known.any()).then(summed).otherwise(None).alias(col)

    table = (
        df.group_by("content_type")
        .agg(
            pl.len().alias("responses"),
            (pl.col("method_used") == "measured").sum().alias("measured"),
            (pl.col("method_used") == "estimated").sum().alias("estimated"),
            pl.col("compressible").sum().alias("compressible"),
            pl.col("worth_it").sum().alias("worth_it"),
            total("served_bytes"),
            total("identity_bytes"),
            total("best_bytes"),
            total("saving_bytes"),
        )
        .with_columns(
            pl.when(pl.col("served_bytes") > 0)
            .then((pl.col("saving_bytes") / pl.col("served_bytes") * 100).round(2))
            .when(pl.col("served_bytes") == 0)
            .then(0.0)
            .alias("saving_pct")
        )
        .sort(["saving_bytes", "content_type"], descending=[True, False], nulls_last=True)
    )
    return SUMMARY.validate(table.select(SUMMARY.names))


def compression_candidates(savings: FrameLike) -> pl.DataFrame:
    """The compressible responses of :func:`compression_savings`, each URL once.

    A page load or a day of logs fetches the same URL many times; a fix is made once
    per URL and encoding, so the list keeps the first response of each ``host``,
    ``path``, ``query`` and ``content_encoding`` (the columns present), drops what is
    already compressed or not compressible, and puts the biggest saving first.

    Parameters
    ----------
    savings : frame-like
        The output of :func:`compression_savings` (at least ``path``, ``compressible``
        and ``saving_bytes``).

    Returns
    -------
    polars.DataFrame
        The rows of ``savings`` (all its columns) whose ``compressible`` is true, one
        per URL and served encoding, sorted by ``saving_bytes`` descending (unknown
        savings last), then by path.

    Examples
    --------
    >>> rows = pl.DataFrame({
    ...     "path": ["/a.json", "/a.json", "/b.png", "/c.css"],
    ...     "content_type": ["application/json", "application/json", "image/png", "text/css"],
    ...     "content_bytes": [50_000, 50_000, 8_000, 3_000],
    ...     "bytes": [50_000, 50_000, 8_000, 3_000]})
    >>> compression_candidates(compression_savings(rows))["path"].to_list()
    ['/a.json', '/c.css']
    """
    df = as_frame(savings)
    missing = {"path", "compressible", "saving_bytes"} - set(df.columns)
    if missing:
        raise SchemaError(
            "savings",
            missing=sorted(missing),
            detail="compression_candidates takes the output of compression_savings",
        )
    keys = [c for c in ("host", "path", "query", "content_encoding") if c in df.columns]
    return (
        df.filter(pl.col("compressible").fill_null(False))
        .unique(subset=keys, keep="first", maintain_order=True)
        .sort(["saving_bytes", "path"], descending=[True, False], nulls_last=True)
    )


def _check_encodings(encodings: Sequence[str]) -> list[str]:
    if isinstance(encodings, str):
        encodings = [encodings]
    encs: list[str] = []
    for enc in encodings:
        name = str(enc).strip().lower()
        if name not in ENCODINGS:
            raise ParameterError(f"unknown encoding {enc!r}: expected one of {list(ENCODINGS)}")
        if name not in encs:
            encs.append(name)
    if not encs:
        raise ParameterError("encodings is empty: name at least one of gzip, br, zstd")
    return encs


def _check_levels(encs: Sequence[str], levels: Mapping[str, int] | None) -> dict[str, int]:
    chosen = {e: DEFAULT_LEVELS[e] for e in encs}
    for enc, level in (levels or {}).items():
        name = str(enc).strip().lower()
        if name not in ENCODINGS:
            raise ParameterError(f"levels: unknown encoding {enc!r}")
        lo, hi = _LEVEL_RANGE[name]
        if isinstance(level, bool) or not isinstance(level, int) or not lo <= level <= hi:
            raise ParameterError(
                f"levels: {name} level must be an integer {lo}…{hi}, not {level!r}"
            )
        if name in chosen:
            chosen[name] = level
    return chosen


def _family(mime: str) -> str | None:
    """The :data:`MIME_RATIOS` family of a lower-case MIME type without parameters."""
    if mime in _EXACT:
        return _EXACT[mime]
    if mime.endswith("+json"):
        return "json"
    if mime.endswith("+xml"):
        return "xml"
    major = mime.split("/", 1)[0]
    if major == "text":
        return "text"
    if major in ("image", "video", "audio"):
        return _COMPRESSED
    if major == "font":
        return "font"
    return None


def _family_expr(frame: pl.DataFrame) -> list[pl.Expr]:
    mime = pl.col("content_type").str.split(";").list.first().str.strip_chars().str.to_lowercase()
    kinds = frame.select(mime.unique()).to_series().drop_nulls().to_list()
    families = {m: _family(m) for m in kinds}
    return [mime.replace_strict(families, default=None, return_dtype=pl.String).alias("_family")]


def _encoder(enc: str, level: int) -> Callable[[bytes], bytes]:
    if enc == "gzip":
        return lambda b: zlib.compress(b, level, wbits=31)
    if enc == "deflate":
        return lambda b: zlib.compress(b, level)
    if enc == "br":
        return lambda b: brotli.compress(b, quality=level)
    compressor = zstandard.ZstdCompressor(level=level)
    return compressor.compress


def _packed(body: bytes) -> bool:
    """Whether ``body`` starts like a format that is compressed already."""
    return any(body[off : off + len(magic)] == magic for off, magic in _MAGIC)


def _measure(
    frame: pl.DataFrame,
    encs: Sequence[str],
    levels: Mapping[str, int],
    repeat: int,
    max_body_bytes: int | None,
    static: bool,
) -> pl.DataFrame:
    """One row per body: ``_row``, ``_packed``, ``_measured`` and the measured columns."""
    schema: dict[str, Any] = {"_row": pl.UInt32, "_packed": pl.Boolean, "_measured": pl.Boolean}
    for enc in encs:
        schema[f"_m_{enc}"] = pl.Int64
        schema[f"{enc}_ms"] = pl.Float64
        if static:
            schema[f"{enc}_static_bytes"] = pl.Int64
    bodies = frame.filter(pl.col("body").is_not_null()).select("_row", "body", "_family")
    if not bodies.height:
        return pl.DataFrame(schema=schema)
    fast = {e: _encoder(e, levels[e]) for e in encs}
    slow = {e: _encoder(e, STATIC_LEVELS[e]) for e in encs} if static else {}
    cols: dict[str, list[Any]] = {c: [] for c in schema}
    done: dict[tuple[bytes, bool], list[Any]] = {}
    for row, body, family in bodies.iter_rows():
        packed = _packed(body)
        cols["_row"].append(row)
        cols["_packed"].append(packed)
        measure = max_body_bytes is None or len(body) <= max_body_bytes
        cols["_measured"].append(measure)
        if not measure:
            for c in list(schema)[3:]:
                cols[c].append(None)
            continue
        compressible = not packed and _FAMILY_COMPRESSIBLE.get(family, True)
        key = (body, compressible)
        if key not in done:
            values: list[Any] = []
            for enc in encs:
                size, ms = _run(fast[enc], body, repeat if compressible else 1)
                values += [size, ms]
                if static:
                    values.append(len(slow[enc](body)) if compressible else None)
            done[key] = values
        for c, v in zip(list(schema)[3:], done[key], strict=True):
            cols[c].append(v)
    return pl.DataFrame(cols, schema=schema)


def _run(encode: Callable[[bytes], bytes], body: bytes, repeat: int) -> tuple[int, float]:
    """Encoded size and median encode time (ms) of ``repeat`` runs."""
    times = []
    size = 0
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        out = encode(body)
        times.append(time.perf_counter_ns() - t0)
        size = len(out)
    return size, statistics.median(times) / 1e6


def _assemble(
    frame: pl.DataFrame, encs: Sequence[str], static: bool, min_bytes: int, min_pct: float
) -> pl.DataFrame:
    """The savings columns from the conformed frame joined with the measurements."""
    enc = pl.col("content_encoding").str.strip_chars().str.to_lowercase()
    gz_ratio = pl.col("gzip_ratio")
    served_enc = (
        pl.when(enc.is_in(["", "identity", "none"]))
        .then(None)
        .when(enc.is_null() & (gz_ratio > 0))
        .then(pl.lit("gzip"))
        .otherwise(enc)
    )
    frame = frame.with_columns(
        served_enc.alias("content_encoding"),
        pl.col("_measured").fill_null(False),
        pl.col("_packed").fill_null(False),
    )
    fam = pl.col("_family")
    ratio = {
        e: fam.replace_strict(_RATIO[e], default=None, return_dtype=pl.Float64) for e in ENCODINGS
    }
    served_enc = pl.col("content_encoding")
    sent = pl.col("bytes")
    identity = pl.coalesce(
        pl.col("body").bin.size().cast(pl.Int64),
        pl.col("content_bytes"),
        pl.when(served_enc.is_null()).then(sent),
        pl.when((served_enc == "gzip") & (gz_ratio > 0)).then((sent * gz_ratio).round()),
        *(pl.when(served_enc == e).then(sent / ratio[e]).round() for e in ENCODINGS),
    ).cast(pl.Int64)
    frame = frame.with_columns(identity.alias("identity_bytes"))
    identity = pl.col("identity_bytes")
    measured = pl.col("_measured")
    frame = frame.with_columns(
        pl.when(measured)
        .then(pl.col(f"_m_{e}"))
        .otherwise((identity * ratio[e]).round().cast(pl.Int64) + _FRAMING[e])
        .alias(f"{e}_bytes")
        for e in encs
    )
    compressible = (
        pl.when(pl.col("_packed"))
        .then(False)
        .when(fam.is_not_null())
        .then(fam.replace_strict(_FAMILY_COMPRESSIBLE, default=None, return_dtype=pl.Boolean))
        .when(measured)
        .then(True)
        .otherwise(None)
    )
    served = pl.coalesce(
        sent,
        pl.when(served_enc.is_null()).then(identity),
        *(pl.when(served_enc == e).then(pl.col(f"{e}_bytes")) for e in encs),
        pl.when(pl.col("transfer_bytes") > 0).then(pl.col("transfer_bytes")),
    )
    frame = frame.with_columns(
        compressible.alias("compressible"), served.cast(pl.Int64).alias("served_bytes")
    )
    compressible = pl.col("compressible")
    served = pl.col("served_bytes")
    as_served = pl.coalesce(served_enc, pl.lit("identity"))
    candidates = [("identity", identity), *((e, pl.col(f"{e}_bytes")) for e in encs)]
    smallest = pl.min_horizontal(c for _, c in candidates)
    # What is served already is the best when nothing we try beats it.
    smallest_enc: Any = pl.when(served <= smallest).then(as_served)
    for name, col in candidates:
        smallest_enc = smallest_enc.when(col == smallest).then(pl.lit(name))
    keep = ~compressible | (served <= smallest)
    frame = frame.with_columns(
        pl.when(compressible.is_null() | identity.is_null())
        .then(None)
        .when(keep)
        .then(pl.coalesce(served, identity))
        .otherwise(smallest)
        .alias("best_bytes"),
        pl.when(compressible.is_null() | identity.is_null())
        .then(None)
        .when(~compressible)
        .then(as_served)
        .otherwise(smallest_enc.otherwise(None))
        .alias("best_encoding"),
    )
    saving = (
        pl.when(compressible == False)  # noqa: E712 (null stays null)
        .then(pl.lit(0, pl.Int64))
        .otherwise((served - pl.col("best_bytes")).clip(lower_bound=0))
    )
    frame = frame.with_columns(saving.alias("saving_bytes"))
    saving = pl.col("saving_bytes")
    pct = (
        pl.when(saving.is_null())
        .then(None)
        .when(served > 0)
        .then(saving / served * 100)
        .otherwise(0.0)
    )
    frame = frame.with_columns(pct.cast(pl.Float64).round(2).alias("saving_pct"))
    worth = (
        compressible.fill_null(False)
        & (saving >= min_bytes)
        & ((saving >= _LH_ANY_PCT_BYTES) | (pl.col("saving_pct") >= min_pct))
    ).fill_null(False)
    method = (
        pl.when(measured)
        .then(pl.lit("measured"))
        .when(identity.is_not_null() & fam.is_not_null())
        .then(pl.lit("estimated"))
        .otherwise(None)
    )
    return frame.with_columns(worth.alias("worth_it"), method.alias("method_used"))

"""Read CDN logs into the canonical :data:`~perflab.cdn.schema.CDN_REQUESTS` frame.

==========================  =============================================================
reader                      reads
==========================  =============================================================
:func:`read_cloudfront`     Amazon CloudFront standard logs (access logs, legacy and v2
                            "W3C" output): ``#Version``/``#Fields`` headers, tab-separated
:func:`read_cloudflare`     Cloudflare Logpush, dataset ``http_requests``, as JSON lines
                            (any choice of fields, any ``timestamp_format``)
:func:`read_fastly`         Fastly real-time log streaming in JSON: the keys of Fastly's
                            documented JSON example and common variations, or your own
                            (``mapping=``)
==========================  =============================================================

Every reader takes plain or gzip files (recognised by their bytes, whatever the name),
returns the API domain's request columns first (so every :mod:`perflab.api` analysis
takes a CDN frame) and the CDN columns after (``provider``, ``edge``, ``country``,
``ttfb_ms``, ``origin_ms``, ``cache_hit``), then the extra fields of the log.

Bad input: a line that cannot be read raises :class:`~perflab.errors.InputError`
naming the file, the line and what was expected (CloudFront: a line whose field count
differs from its ``#Fields`` line, a bad date, data before any ``#Fields``; JSON: a line
that is not a JSON object, a time that is not a time). ``errors="skip"`` drops such
lines and warns once with their count and the first ones. A gzip file cut short raises
naming the line it stops in (``errors="skip"`` reads the lines before it). An empty
file gives ``CDN_REQUESTS.empty()``.

Speed: CloudFront logs are read in blocks of lines, split on tabs and converted over
whole columns with polars; JSON lines are parsed by polars' NDJSON reader. The only
per-value Python is percent-decoding, run once per *distinct* encoded value.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from perflab.cdn import _cloudfront, _jsonlogs
from perflab.errors import ErrorMode
from perflab.sources import PathLike

__all__ = ["read_cloudflare", "read_cloudfront", "read_fastly"]


def read_cloudfront(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read a CloudFront standard log (the access logs CloudFront writes to S3).

    The file is W3C extended format: ``#Version: 1.0`` and ``#Fields: date time …``
    header lines, then one tab-separated line per request, ``-`` for "no value". The
    ``#Fields`` line says which fields the lines hold and in what order; another
    ``#Fields`` line further down (concatenated hourly files, a distribution whose
    logging changed) takes over from there. The 33 fields of the legacy format and the
    v2 additions (``origin-fbl``, ``origin-lbl``, ``asn``, ``c-country``,
    ``cache-behavior-path-pattern``) are known; others are kept as text.

    Parameters
    ----------
    path : str or PathLike
        The log, plain or gzip (CloudFront delivers ``….gz`` files; several can be
        concatenated, headers and all).
    errors : {"raise", "skip"}
        What to do with a line that cannot be read.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.cdn.schema.CDN_REQUESTS`, ``provider`` ``"cloudfront"``:

        =============================  ======================================================
        field                          column
        =============================  ======================================================
        ``date`` + ``time``            ``time`` (UTC), as logged: when the edge finished
                                       responding, to the second (CloudFront logs no
                                       start time; subtracting ``time-taken`` from a
                                       time cut to the second would only move the error)
        ``cs-method``                  ``method``
        ``cs-uri-stem``                ``path`` (CloudFront's own percent-encoding undone:
                                       ``%2520`` → ``%20``, the path as the viewer sent it)
        ``cs-uri-query``               ``query`` (likewise decoded once)
        ``sc-status``                  ``status`` (``000``, a viewer that hung up: null)
        ``sc-bytes``                   ``bytes``: **all** bytes sent to the viewer,
                                       headers included, not the body alone
        ``time-taken`` (s)             ``duration_ms``
        ``time-to-first-byte`` (s)     ``ttfb_ms``
        ``origin-fbl`` (s, v2)         ``origin_ms`` and ``upstream_ms``
        ``x-edge-result-type``         ``cache_status`` (``Hit``, ``RefreshHit``, ``Miss``,
                                       ``Error``, ``Redirect`` …, verbatim)
        ``x-edge-response-result-      ``cache_hit``, from it when logged, else from
        type``                         ``x-edge-result-type`` (see
                                       :mod:`perflab.cdn.schema`)
        ``sc-content-type``            ``content_type`` (parameters dropped)
        ``x-host-header``              ``host`` (the viewer's ``Host``; else ``cs(Host)``)
        ``c-ip``                       ``client``
        ``cs(User-Agent)``             ``user_agent`` (percent-decoded: ``%20`` → space)
        ``cs(Referer)``                ``referer`` (percent-decoded)
        ``x-edge-location``            ``edge`` (``IAD89-C1``)
        ``c-country`` (v2)             ``country``; without it, the country of the
                                       edge's airport code (``IAD`` → ``US``) from a
                                       built-in table of CDN cities: **the edge's
                                       country, not the viewer's**; null for a code not
                                       in the table
        =============================  ======================================================

        Extra columns: ``cs(Host)`` → ``distribution_host``, ``cs(Cookie)`` → ``cookie``
        (decoded), ``x-edge-request-id`` → ``request_id``, ``cs-protocol`` → ``scheme``,
        ``cs-protocol-version`` → ``protocol``, ``x-edge-response-result-type`` →
        ``response_result_type``, ``x-edge-detailed-result-type`` →
        ``detailed_result_type``, ``origin-lbl`` → ``origin_last_byte_ms``, and the
        integers ``cs-bytes`` → ``request_length``, ``sc-content-len`` →
        ``content_length`` (the ``Content-Length`` header: the body size when sent),
        ``sc-range-start``/``sc-range-end`` → ``range_start``/``range_end``,
        ``c-port`` → ``client_port``, ``asn``. Any other field is text named by its
        field name in snake case (``x-forwarded-for`` → ``x_forwarded_for``). Lines
        without tabs (a copy whose tabs became spaces) are split on spaces.

    Raises
    ------
    InputError
        A line with another number of fields than its ``#Fields`` line names, a date or
        number that does not parse, data before any ``#Fields`` line (file, line,
        reason); a gzip file cut short.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "E2EXAMPLE.2026-11-30-14.log"
    >>> _ = p.write_text(
    ...     "#Version: 1.0\\n#Fields: date time x-edge-location sc-bytes c-ip cs-method "
    ...     "cs-uri-stem sc-status cs(User-Agent) x-edge-result-type time-taken\\n"
    ...     "2026-11-30\\t14:00:01\\tFRA56-P3\\t4821\\t192.0.2.1\\tGET\\t/app.js\\t200\\t"
    ...     "Mozilla/5.0%20(X11)\\tHit\\t0.004\\n")
    >>> read_cloudfront(p).select("path", "bytes", "user_agent", "edge", "country",
    ...                           "cache_hit", "duration_ms")
    shape: (1, 7)
    ┌─────────┬───────┬───────────────────┬──────────┬─────────┬───────────┬─────────────┐
    │ path    ┆ bytes ┆ user_agent        ┆ edge     ┆ country ┆ cache_hit ┆ duration_ms │
    │ ---     ┆ ---   ┆ ---               ┆ ---      ┆ ---     ┆ ---       ┆ ---         │
    │ str     ┆ i64   ┆ str               ┆ str      ┆ str     ┆ bool      ┆ f64         │
    ╞═════════╪═══════╪═══════════════════╪══════════╪═════════╪═══════════╪═════════════╡
    │ /app.js ┆ 4821  ┆ Mozilla/5.0 (X11) ┆ FRA56-P3 ┆ DE      ┆ true      ┆ 4.0         │
    └─────────┴───────┴───────────────────┴──────────┴─────────┴───────────┴─────────────┘
    """
    return _cloudfront.read(path, errors)


def read_cloudflare(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read a Cloudflare Logpush ``http_requests`` file (JSON lines, plain or gzip).

    Logpush lets you choose the fields, so any of them may be absent: an absent field
    gives a null column. Timestamps may be in any ``timestamp_format``: ``unixnano``
    (the API's default; integers beyond 2**53 are read exactly), ``unix`` (seconds) or
    ``rfc3339`` (the dashboard's default), with or without fractions of a second.

    Parameters
    ----------
    path : str or PathLike
        The Logpush file (``….log.gz`` as pushed to a bucket), or a copy unzipped.
    errors : {"raise", "skip"}
        What to do with a line that is not a JSON object, or whose timestamp or status
        is not one.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.cdn.schema.CDN_REQUESTS`, ``provider`` ``"cloudflare"``:

        ================================  ===================================================
        field                             column
        ================================  ===================================================
        ``EdgeStartTimestamp``            ``time``
        ``EdgeEndTimestamp``              ``duration_ms`` = end − start; null when either
                                          is in whole seconds (``unix``, ``rfc3339``
                                          without fractions): too coarse to mean anything
        ``ClientRequestMethod``           ``method``
        ``ClientRequestURI``              ``path`` and ``query`` (as the viewer sent them,
                                          not decoded); ``ClientRequestPath`` when no URI
        ``EdgeResponseStatus``            ``status``
        ``EdgeResponseBytes``             ``bytes`` (all bytes to the viewer, headers
                                          included); ``EdgeResponseBodyBytes`` when absent
        ``EdgeTimeToFirstByteMs``         ``ttfb_ms``
        ``OriginResponseDurationMs``      ``origin_ms`` and ``upstream_ms``; else the
                                          deprecated ``OriginResponseTime`` (**ns**) / 1e6.
                                          Null when ``OriginResponseStatus`` is 0 (the
                                          origin never answered) and for a 0 on a cache hit
        ``CacheCacheStatus``              ``cache_status`` (verbatim, lower case as
                                          Cloudflare writes it) and ``cache_hit``
        ``EdgeResponseContentType``       ``content_type`` (parameters dropped)
        ``ClientRequestHost``             ``host``
        ``ClientIP``                      ``client``
        ``ClientRequestUserAgent``        ``user_agent``
        ``ClientRequestReferer``          ``referer``
        ``EdgeColoCode``                  ``edge`` (IATA code of the data center: ``FRA``)
        ``ClientCountry``                 ``country``, upper-cased (Cloudflare writes
                                          ``us``); ``xx`` (unknown) → null; ``t1`` (Tor)
                                          stays ``T1``
        ================================  ===================================================

        Extra columns: ``OriginResponseStatus`` → ``origin_status`` (i64, 0 → null),
        ``RayID`` → ``request_id``, ``ClientRequestProtocol`` → ``protocol``,
        ``ClientRequestScheme`` → ``scheme``, ``ClientCity`` → ``city``, the integers
        ``ClientRequestBytes`` → ``request_length``, ``EdgeResponseBodyBytes`` →
        ``body_bytes``, ``CacheResponseBytes`` → ``cache_response_bytes``,
        ``OriginResponseBytes`` → ``origin_bytes``, ``ClientASN`` → ``asn``;
        ``CacheTieredFill`` → ``tiered_fill`` (bool); ``EdgeResponseCompressionRatio``
        → ``compression_ratio`` (f64). The ``ResponseHeaders`` custom field (an object)
        fills ``cache_control``, ``etag``, ``last_modified``, ``expires``, ``age``,
        ``vary``, ``content_encoding`` (header names in any case) and ``set_cookie``
        (bool) — the names :func:`perflab.api.read_har` uses; without it,
        ``OriginResponseHTTPExpires`` / ``OriginResponseHTTPLastModified`` fill
        ``expires`` / ``last_modified``. Every other field is kept as text under its
        own name (nested objects and arrays as their JSON text).

    Raises
    ------
    InputError
        A line that is not a JSON object (its line number), an unreadable
        ``EdgeStartTimestamp`` or ``EdgeResponseStatus``, a file with none of the
        ``http_requests`` fields, a gzip file cut short.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "20261130T140000Z_20261130T140500Z.log"
    >>> _ = p.write_text(
    ...     '{"EdgeStartTimestamp":"2026-11-30T14:00:00Z","ClientRequestURI":"/a.js?v=2",'
    ...     '"EdgeResponseStatus":200,"EdgeResponseBytes":1234,"CacheCacheStatus":"hit",'
    ...     '"EdgeColoCode":"FRA","ClientCountry":"de","EdgeTimeToFirstByteMs":12}\\n')
    >>> read_cloudflare(p).select("path", "query", "edge", "country", "ttfb_ms", "cache_hit")
    shape: (1, 6)
    ┌───────┬───────┬──────┬─────────┬─────────┬───────────┐
    │ path  ┆ query ┆ edge ┆ country ┆ ttfb_ms ┆ cache_hit │
    │ ---   ┆ ---   ┆ ---  ┆ ---     ┆ ---     ┆ ---       │
    │ str   ┆ str   ┆ str  ┆ str     ┆ f64     ┆ bool      │
    ╞═══════╪═══════╪══════╪═════════╪═════════╪═══════════╡
    │ /a.js ┆ v=2   ┆ FRA  ┆ DE      ┆ 12.0    ┆ true      │
    └───────┴───────┴──────┴─────────┴─────────┴───────────┘
    """
    return _jsonlogs.read_cloudflare(path, errors)


def read_fastly(
    path: PathLike,
    *,
    mapping: Mapping[str, str] | None = None,
    errors: ErrorMode = "raise",
) -> pl.DataFrame:
    """Read Fastly real-time log streaming output in JSON (one object per line).

    Fastly has no fixed log format: each logging endpoint has a format string of VCL
    variables that you write. This reader knows the keys of the JSON example in
    Fastly's logging documentation and their common variations (below); for your own
    keys, pass ``mapping``. Keys are matched exactly (Fastly writes what you wrote).

    ====================  ===================================================================
    column                keys recognised, the first present wins (unit)
    ====================  ===================================================================
    time                  ``timestamp`` (``strftime(… "%Y-%m-%dT%H:%M:%S%z", time.start)``:
                          ``+0000`` offsets, ``Z``, ``UTC``/``GMT`` suffixes, or epoch
                          numbers: s, ms, µs or ns by size), ``time_start``,
                          ``start_time``, ``time``
    method                ``request_method``, ``method``, ``request`` (its first word)
    path, query           ``url`` (``req.url``: path and query), ``request_url``, ``uri``,
                          ``path``; a full URL keeps its path
    status                ``response_status``, ``status``, ``status_code``
    bytes                 ``response_bytes`` / ``resp_bytes_written`` / ``bytes_written``
                          (``resp.bytes_written``: headers included) else
                          ``response_body_size`` / ``response_body_bytes`` /
                          ``body_bytes_written`` (``resp.body_bytes_written``: the body)
    duration_ms           ``time_elapsed`` / ``elapsed_usec`` (**µs**,
                          ``time.elapsed.usec``), ``duration_ms`` (ms); else
                          ``time_end`` − ``time_start`` when both are finer than seconds
    ttfb_ms               ``time_to_first_byte`` / ``ttfb`` (**s**, ``time.to_first_byte``),
                          ``ttfb_ms`` (ms)
    origin_ms             ``origin_ms``, ``origin_time_ms`` (ms); Fastly has no standard
                          variable for it, so it is usually null
    cache_status          ``cache_status``, ``response_state``, ``fastly_state``, ``state``
                          (``fastly_info.state``: ``HIT``, ``MISS``, ``PASS``,
                          ``HIT-STALE`` …), upper-cased
    cache_hit             from ``cache_status`` (see :mod:`perflab.cdn.schema`); else
                          ``is_cache_hit`` / ``cache_hit`` (true/false)
    content_type          ``content_type``, ``response_content_type``, ``resp_content_type``
    content_encoding      ``content_encoding``, ``response_content_encoding``
    host                  ``host``, ``request_host``
    client                ``client_ip``, ``ip``, ``remote_addr``
    user_agent, referer   ``request_user_agent``/``user_agent``,
                          ``request_referer``/``referer``
    edge                  ``pop``, ``fastly_pop``, ``server_datacenter``, ``datacenter``
                          (``server.datacenter``: ``LHR``); else the POP that ends
                          ``fastly_server``/``server_identity`` (``cache-lhr7345-LHR``)
    country               ``geo_country_code``, ``client_country_code``, ``country_code``
                          (alpha-2, or alpha-3 ``client.geo.country_code3``), else
                          ``geo_country``/``client_country``/``country`` — which in
                          Fastly's example is ``client.geo.country_name`` (``United
                          Kingdom``), turned into ``GB`` by a built-in table of about 110
                          countries (null for a name not in it)
    ====================  ===================================================================

    Extra columns: ``body_bytes`` (the body size, when logged), ``city`` (``geo_city``,
    ``client_city``), ``protocol`` (``request_protocol``), ``fastly_server``; every other
    key is kept as text under its own name. ``""``, ``"-"`` and ``"(null)"`` (what VCL
    writes for a missing string) are null.

    Parameters
    ----------
    path : str or PathLike
        The log (plain or gzip).
    mapping : mapping of str to str, optional
        CDN_REQUESTS column → the key that holds it, overriding the table above. The
        value must be in the column's unit: ms for ``duration_ms``, ``ttfb_ms``,
        ``origin_ms``; bytes; a time (text or epoch) for ``time``; a path or URI for
        ``path``; ``true``/``false`` (or 1/0) for ``cache_hit``, which then replaces
        the verdict drawn from ``cache_status``. ``body_bytes`` and ``city`` may be
        mapped too.
    errors : {"raise", "skip"}
        What to do with a line that is not a JSON object, or whose time or status is
        not one.

    Raises
    ------
    ParameterError
        ``mapping`` names a column this reader does not fill, or a key not in the file.
    InputError
        A line that is not a JSON object (its line number), an unreadable time or
        status, a gzip file cut short.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "fastly.log"
    >>> _ = p.write_text(
    ...     '{"timestamp":"2026-11-30T14:00:00+0000","client_ip":"192.0.2.7",'
    ...     '"geo_country":"United Kingdom","url":"/a.css","response_status":200,'
    ...     '"response_body_size":900,"response_state":"HIT-STALE",'
    ...     '"fastly_server":"cache-lhr7345-LHR","time_elapsed":1250}\\n')
    >>> read_fastly(p).select("path", "edge", "country", "duration_ms", "cache_hit")
    shape: (1, 5)
    ┌────────┬──────┬─────────┬─────────────┬───────────┐
    │ path   ┆ edge ┆ country ┆ duration_ms ┆ cache_hit │
    │ ---    ┆ ---  ┆ ---     ┆ ---         ┆ ---       │
    │ str    ┆ str  ┆ str     ┆ f64         ┆ bool      │
    ╞════════╪══════╪═════════╪═════════════╪═══════════╡
    │ /a.css ┆ LHR  ┆ GB      ┆ 1.25        ┆ true      │
    └────────┴──────┴─────────┴─────────────┴───────────┘
    """
    return _jsonlogs.read_fastly(path, errors, mapping)

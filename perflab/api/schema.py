"""Canonical frames of the API domain, each declared once as a ``Schema``.

``REQUESTS`` — one row per HTTP request, what every reader returns (nginx and Apache
access logs, JSON-lines logs, HAR files) and every analysis takes:

=================  =====================  ==================================================
column             dtype                  meaning
=================  =====================  ==================================================
time               datetime[μs, UTC]      when the request started (nginx ``$time_local``,
                                          ``$time_iso8601`` or ``$msec``; Apache ``%t``; HAR
                                          ``startedDateTime``); null when the log has none
method             str                    ``GET``, ``POST`` …; null for a malformed request
                                          line (nginx logs those as ``"-"`` or garbage)
path               str                    the path, without the query string
query              str                    the query string without ``?``; null when none
status             i64                    HTTP status; null when unknown (HAR ``0``: no
                                          response, blocked or aborted)
bytes              i64                    response body bytes sent (``$body_bytes_sent``,
                                          ``%B``/``%b``, HAR ``bodySize``/``_transferSize``);
                                          null when unknown (``-``, ``-1`` or negative)
duration_ms        f64                    total time of the request, ms (``$request_time``,
                                          Apache ``%D``/``%T``, HAR ``time``); null if unknown
upstream_ms        f64                    time the upstream (application) took, ms: the sum
                                          of ``$upstream_response_time``'s list; HAR
                                          ``timings.wait`` (time to first byte); null if none
cache_status       str                    ``HIT``, ``MISS``, ``EXPIRED``, ``BYPASS`` … as the
                                          server or CDN says (``$upstream_cache_status``);
                                          null when not logged
content_type       str                    response ``Content-Type`` without parameters
                                          (``application/json``); null when not logged
content_encoding   str                    response ``Content-Encoding`` (``gzip``, ``br``);
                                          null when none or not logged
host               str                    the ``Host`` the request was for; null if unknown
client             str                    the client address (``$remote_addr``, ``%h``)
user_agent         str                    ``User-Agent``; null when absent or ``-``
referer            str                    ``Referer``; null when absent or ``-``
=================  =====================  ==================================================

Every other field a log format or HAR carries (``$gzip_ratio``, ``$bytes_sent``,
``$request_length``, ``$upstream_addr``, HAR's ``pageref``, request and response
headers …) is kept as an extra column named after it (``gzip_ratio``,
``bytes_sent``, ``request_length``, ``upstream_addr``, ``page`` …), typed by what it
holds: the readers document theirs. ``-`` (nginx's and Apache's "no value") is null
everywhere.
"""

from __future__ import annotations

import polars as pl

from perflab.frames import UTC_DATETIME, Schema

__all__ = ["REQUESTS"]

REQUESTS = Schema(
    "http requests",
    {
        "time": UTC_DATETIME,
        "method": pl.String,
        "path": pl.String,
        "query": pl.String,
        "status": pl.Int64,
        "bytes": pl.Int64,
        "duration_ms": pl.Float64,
        "upstream_ms": pl.Float64,
        "cache_status": pl.String,
        "content_type": pl.String,
        "content_encoding": pl.String,
        "host": pl.String,
        "client": pl.String,
        "user_agent": pl.String,
        "referer": pl.String,
    },
    extra=True,
)

"""Canonical frame of the CDN domain, declared once as a ``Schema``.

``CDN_REQUESTS`` — one row per request an edge served, what every CDN reader returns
(:func:`~perflab.cdn.read.read_cloudfront`, :func:`~perflab.cdn.read.read_cloudflare`,
:func:`~perflab.cdn.read.read_fastly`). Its first columns are those of
:data:`perflab.api.schema.REQUESTS`, in the same order and with the same meaning, so
every API analysis takes a CDN frame; the CDN columns follow:

=================  =====================  ==================================================
column             dtype                  meaning
=================  =====================  ==================================================
time               datetime[μs, UTC]      when the edge received the request (CloudFront:
                                          when it finished responding, to the second, the
                                          only time its logs give)
method             str                    ``GET``, ``POST`` …
path               str                    the path, without the query string
query              str                    the query string without ``?``; null when none
status             i64                    HTTP status the edge sent; null when none (a
                                          viewer that hung up: CloudFront ``000``)
bytes              i64                    bytes the edge sent to the viewer. **Headers
                                          included** where the log has that total
                                          (CloudFront ``sc-bytes``, Cloudflare
                                          ``EdgeResponseBytes``, Fastly
                                          ``resp.bytes_written``); the body alone where it
                                          has only that (Fastly ``resp.body_bytes_written``).
                                          The body size, when logged, is the extra column
                                          ``body_bytes`` (CloudFront: ``content_length``)
duration_ms        f64                    time from request received to the last byte sent
upstream_ms        f64                    the same value as ``origin_ms`` (what the API
                                          analyses read as the upstream's time)
cache_status       str                    the provider's own verdict, verbatim: CloudFront
                                          ``x-edge-result-type`` (``Hit``, ``RefreshHit``,
                                          ``Miss`` …), Cloudflare ``CacheCacheStatus``
                                          (``hit``, ``miss``, ``dynamic`` …), Fastly
                                          ``fastly_info.state`` (``HIT``, ``MISS``,
                                          ``PASS``, ``HIT-STALE`` …)
content_type       str                    response ``Content-Type`` without parameters
content_encoding   str                    response ``Content-Encoding``; null when not logged
                                          (CloudFront standard logs never log it)
host               str                    the ``Host`` the viewer asked for
client             str                    the viewer's IP address
user_agent         str                    ``User-Agent`` (CloudFront's percent-encoding
                                          decoded); null when absent
referer            str                    ``Referer``; null when absent
provider           str                    ``"cloudfront"``, ``"cloudflare"`` or ``"fastly"``
edge               str                    the edge location that served the request:
                                          CloudFront ``x-edge-location`` (``IAD89-C1``),
                                          Cloudflare ``EdgeColoCode`` (``FRA``), Fastly POP
                                          (``LHR``)
country            str                    ISO 3166-1 alpha-2 country, upper case; null when
                                          unknown. The **viewer's** country where the log
                                          has it (Cloudflare ``ClientCountry``, CloudFront
                                          v2 ``c-country``, Fastly ``geo_country…``); for
                                          CloudFront logs without ``c-country``, the
                                          **edge's** country, from its airport code
ttfb_ms            f64                    time to first byte measured at the edge: request
                                          received → first response byte written
origin_ms          f64                    time the origin took, when the log says so
                                          (CloudFront v2 ``origin-fbl``, Cloudflare
                                          ``OriginResponseDurationMs``); null otherwise and
                                          on requests the origin never saw
cache_hit          bool                   the edge answered from its cache without fetching
                                          the body from the origin; null when the question
                                          does not apply (a redirect, a synthetic answer)
=================  =====================  ==================================================

``cache_hit`` per provider (values compared without regard to case):

==========  =========  ==================================================================
provider    cache_hit  cache_status
==========  =========  ==================================================================
CloudFront  True       ``Hit``; ``RefreshHit`` (revalidated with the origin, which
                       answered 304: no body fetched); ``OriginShieldHit``
CloudFront  False      ``Miss``, ``Error``, ``LimitExceeded``, ``CapacityExceeded``
CloudFront  null       ``Redirect`` and anything else
Cloudflare  True       ``hit``, ``stale``, ``updating``, ``revalidated``, ``stream_hit``
Cloudflare  False      ``miss``, ``expired``, ``bypass``, ``dynamic``, ``ignored``
Cloudflare  null       ``none``, ``unknown``, ``deferred`` and anything else
Fastly      True       ``HIT`` and its variants: ``HIT-STALE``, ``HIT-WAIT``,
                       ``HIT-CLUSTER`` …
Fastly      False      ``MISS…``, ``PASS…``, ``HITPASS`` (a hit on a hit-for-pass
                       object: the origin answers), ``ERROR``, ``PIPE``
Fastly      null       ``HIT-SYNTH`` (a synthetic answer, no cache involved) and
                       anything else
==========  =========  ==================================================================

CloudFront's verdict is taken from ``x-edge-response-result-type`` (how the edge
answered before the last byte left) when the log has it, else from
``x-edge-result-type``: a cache hit whose viewer hung up mid-transfer is ``Error`` in
the second and still ``Hit`` in the first.

Every other field a log carries is kept as an extra column; the readers document
their names and types (``content_length``, ``protocol``, ``request_id``,
``origin_status`` …).
"""

from __future__ import annotations

import polars as pl

from perflab.api.schema import REQUESTS
from perflab.frames import Schema

__all__ = ["CDN_REQUESTS", "PROVIDERS"]

PROVIDERS = ("cloudfront", "cloudflare", "fastly")
"""The values of the ``provider`` column."""

CDN_REQUESTS = Schema(
    "cdn requests",
    {
        **REQUESTS.columns,
        "provider": pl.String,
        "edge": pl.String,
        "country": pl.String,
        "ttfb_ms": pl.Float64,
        "origin_ms": pl.Float64,
        "cache_hit": pl.Boolean,
    },
    extra=True,
)

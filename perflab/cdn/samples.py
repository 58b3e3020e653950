"""The generated CDN samples: ``data/sample/cdn/{cloudfront.log.gz, cloudflare.jsonl.gz,
fastly.jsonl.gz}``.

One web shop, ``shop.example.com`` (a Next.js site whose origin sits in us-east-1),
served by CloudFront and Cloudflare side by side for one day, 2026-11-30 (UTC), and by
Fastly for a small share of it. Everything is seeded: the same call writes the same
bytes (gzip with ``mtime=0``).

What the site holds (one catalogue for every provider), and its ``Cache-Control``:

* hashed static assets — 36 JS chunks ``/_next/static/chunks/<name>-<hash>.js``, 4 CSS
  files ``/_next/static/css/<hash>.css``, 4 fonts ``/_next/static/media/<name>.<hash>
  .woff2``: ``public, max-age=31536000, immutable`` (a year at the edge);
* 284 images — ``/images/products/<slug>-<640|1080>.webp``, ``/images/blog/<slug>.jpg``,
  ``/images/hero-<n>.avif``: ``public, max-age=60`` (**the misconfigured prefix**);
* 161 HTML pages — ``/``, ``/products/<slug>`` (120), ``/blog/<slug>`` (40):
  ``public, max-age=0, s-maxage=300`` (5 minutes at the edge, no
  ``stale-while-revalidate``);
* product JSON ``/api/products/<id>`` (120): ``public, max-age=0, s-maxage=60``;
* the cart ``/api/cart`` (GET and POST): ``private, no-store`` with a ``Set-Cookie``,
  never cached;
* ``/favicon.ico`` (a day), and probes for ``/wp-login.php``, ``/.env``,
  ``/xmlrpc.php`` that the origin answers 404.

How requests are drawn: a request mix by kind (JS 30 %, images 28 %, HTML 14 %,
product JSON 12 %, CSS 6 %, cart 4 %, fonts 4 %, favicon 1.5 %, probes 0.5 %), Zipf
popularity (s = 1.1) within each kind, and five viewer regions — North America 40 %,
Europe 36 %, Asia-Pacific 15 %, South America 5 %, India 4 % — each with a diurnal curve
peaking at 20:30 local time (plus a lunchtime bump), so the busiest UTC hours are the
European and American evenings. Viewers are a fixed pool of addresses from the
documentation ranges (``192.0.2.0/24``, ``198.51.100.0/24``, ``203.0.113.0/24``,
``2001:db8::/32``) with real-world user agents. Each request goes to an edge of its
provider in the viewer's country.

Every edge keeps its own cache and the reader sees what it would: a request is a hit
while the object it holds is younger than its TTL, a miss otherwise (the object is then
fetched). Expired HTML and product JSON are revalidated with the origin, which answers
``304`` for 60 % of them (CloudFront ``RefreshHit``, Cloudflare ``revalidated``: hits);
the image service sends no validators, so an expired image is always a full miss.
Caches are warmed by simulating the six hours before midnight.

What is planted:

* **A purge on CloudFront at 14:00 UTC** (an invalidation of ``/*``): every CloudFront
  edge drops everything. Its hit ratio falls from about 0.53 to under 0.1 in the first
  ten minutes, is back to about 0.35 by 14:50 and climbs over the afternoon as the long
  tail of rarely requested objects is fetched again (0.15 over 14:00–14:30 against
  0.51 for the rest of the day). The origin, shared by both providers, answers up to
  1.8× slower while it absorbs the refill (decaying with a 15-minute time constant), so
  Cloudflare's misses are slower then too.
* **The misconfigured prefix** ``/images/``: its 60 s TTL gives it a hit ratio under
  5 % against over 90 % for the hashed ``/_next/static/`` assets, and makes it the
  largest source of origin traffic.
* **Provider differences.** Cloudflare serves Europe from one data center per country
  (``FRA``, ``LHR``, ``CDG`` …) where CloudFront spreads it over 2–4 edge locations
  per country (``FRA56-P3``, ``FRA56-P5``, ``FRA60-P1``, ``MUC50-P2``): each Cloudflare
  cache sees more traffic, so Cloudflare's European hit ratio is higher (about 0.58
  against 0.49). CloudFront's
  edges answer faster in North America (median time to first byte on a hit about
  3 ms against 7 ms), Cloudflare's in Europe (4 ms against 6 ms).
* **Origin latency**: a miss pays the network to us-east-1 (about 18 ms from North
  America, 85 ms from Europe, 160 ms from Asia-Pacific) plus the origin's work (8 ms
  for a static file, 45 ms for an image, 140 ms for a page, 60 ms for product JSON,
  160 ms for the cart), lognormal; a hit pays none of it.
* **The Cache-Control audit's findings** (in Cloudflare's ``ResponseHeaders``): the
  60 s ``max-age`` on images, which also carry no validator (neither ``ETag`` nor
  ``Last-Modified``), and HTML without ``stale-while-revalidate``; the cart's
  ``Set-Cookie`` is on a ``no-store`` response, as it should be.
* Noise that real logs have: 0.4 % of API requests fail with 502/504 after 1–3 s,
  probes for ``/wp-login.php`` and friends get 404s, 8 % of page and image requests
  are browser revalidations answered ``304``, some ``HEAD`` requests, UTM query strings,
  Googlebot among the user agents.

The numbers above are those of the files at full size; ``write_samples(dest,
scale=…)`` writes smaller ones with the same site and the same planted events (the
smaller, the fewer requests each edge sees, so the lower every hit ratio).

The files, in each provider's real format:

* ``cloudfront.log.gz`` — a CloudFront standard log with the 33 legacy fields, as
  24 hourly files concatenated (a ``#Version``/``#Fields`` header at each hour),
  tab-separated, ``-`` for no value, user agents and content types percent-encoded
  (``%20``), request IDs in CloudFront's 56-character form, ``time`` when the response
  finished.
* ``cloudflare.jsonl.gz`` — a Logpush ``http_requests`` job, fields in alphabetical
  order, ``timestamp_format`` ``unixnano`` (the API's default), ``ClientCountry`` in
  lower case, and the ``ResponseHeaders`` custom field holding ``cache-control``,
  ``etag`` (pages and product JSON), ``last-modified`` (static files) and
  ``set-cookie`` (cart) so the Cache-Control audit can run from the log.
* ``fastly.jsonl.gz`` — about a tenth of the volume through Fastly, in the JSON format of
  Fastly's logging documentation (``timestamp`` with a ``+0000`` offset,
  ``geo_country`` as a country *name*, ``response_state`` from ``fastly_info.state``,
  ``response_body_size``, ``fastly_server`` ``cache-lhr7345-LHR``) plus
  ``time_elapsed`` (µs) and ``content_type``. Fastly has no purge.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from perflab.cdn._cloudfront import STANDARD_FIELDS
from perflab.cdn._geo import COUNTRIES
from perflab.frames import write_atomic

__all__ = [
    "DAY",
    "FILES",
    "HOST",
    "MISCONFIGURED_PREFIX",
    "PURGED_PROVIDER",
    "PURGE_AT",
    "REQUESTS_PER_DAY",
    "write_samples",
]

DAY = datetime(2026, 11, 30, tzinfo=UTC)
"""The day the samples cover (UTC)."""
PURGE_AT = DAY + timedelta(hours=14)
"""When CloudFront's caches are purged."""
PURGED_PROVIDER = "cloudfront"
MISCONFIGURED_PREFIX = "/images/"
HOST = "shop.example.com"
REQUESTS_PER_DAY = {"cloudfront": 60_000, "cloudflare": 60_000, "fastly": 9_000}
"""Requests per provider in the day (at ``scale=1``)."""
FILES = {
    "cloudfront": "cloudfront.log.gz",
    "cloudflare": "cloudflare.jsonl.gz",
    "fastly": "fastly.jsonl.gz",
}
_SEEDS = {"cloudfront": 101, "cloudflare": 202, "fastly": 303}
_WARMUP = timedelta(hours=6)
_UA_SAFE = "!#$&'()*+,/:;=?@[]~"  # CloudFront encodes spaces, quotes, % and non-ASCII
_DISTRIBUTION = "d111111abcdef8.cloudfront.net"
_DEPLOYED = "Tue, 24 Nov 2026 09:12:44 GMT"  # Last-Modified of the deployed static files

# --------------------------------------------------------------------------- the site


@dataclass(frozen=True)
class _Kind:
    share: float  # of requests
    ttl: float  # edge TTL, s (0: never cached)
    revalidate: float  # share of expired objects the origin answers 304
    origin_ms: float  # origin work, median ms
    content_type: str
    cache_control: str


_KINDS: dict[str, _Kind] = {
    "js": _Kind(
        0.30, 31_536_000, 0, 8, "application/javascript", "public, max-age=31536000, immutable"
    ),
    "css": _Kind(
        0.06, 31_536_000, 0, 8, "text/css; charset=utf-8", "public, max-age=31536000, immutable"
    ),
    "font": _Kind(0.04, 31_536_000, 0, 8, "font/woff2", "public, max-age=31536000, immutable"),
    "image": _Kind(0.28, 60, 0, 45, "image/webp", "public, max-age=60"),
    "html": _Kind(
        0.14, 300, 0.6, 140, "text/html; charset=utf-8", "public, max-age=0, s-maxage=300"
    ),
    "api": _Kind(0.12, 60, 0.6, 60, "application/json", "public, max-age=0, s-maxage=60"),
    "cart": _Kind(0.04, 0, 0, 160, "application/json", "private, no-store"),
    "favicon": _Kind(0.015, 86_400, 0, 5, "image/x-icon", "public, max-age=86400"),
    "probe": _Kind(
        0.005, 0, 0, 30, "text/html; charset=utf-8", "private, no-cache, no-store, max-age=0"
    ),
}

_ADJ = [
    "linen",
    "oak",
    "walnut",
    "wool",
    "copper",
    "canvas",
    "ceramic",
    "velvet",
    "cedar",
    "marble",
    "bamboo",
    "leather",
    "cotton",
    "slate",
    "amber",
    "ivory",
]
_NOUN = [
    "shirt",
    "lamp",
    "table",
    "chair",
    "mug",
    "throw",
    "vase",
    "rug",
    "tote",
    "clock",
    "shelf",
    "bowl",
    "stool",
    "desk",
    "blanket",
    "cushion",
]
_CHUNKS = [
    "webpack",
    "framework",
    "main",
    "main-app",
    "polyfills",
    "pages/_app",
    "pages/index",
    "pages/products/[slug]",
    "pages/blog/[slug]",
    "pages/cart",
    *(f"{n}" for n in range(26)),
]


@dataclass(frozen=True)
class _Asset:
    path: str
    kind: str
    size: int  # body bytes (as sent: compressed where the type compresses)
    content_type: str


def _catalogue(rng: np.random.Generator) -> dict[str, list[_Asset]]:
    """The site's assets by kind, most popular first."""

    def hexes(n: int, width: int) -> list[str]:
        return [bytes(rng.integers(0, 256, width // 2, dtype=np.uint8)).hex() for _ in range(n)]

    def sizes(n: int, median: float, sd: float) -> list[int]:
        return [int(v) for v in np.round(median * np.exp(rng.normal(0, sd, n)))]

    slugs = [f"{a}-{b}" for a in _ADJ for b in _NOUN]
    order = rng.permutation(len(slugs))
    products = [slugs[i] for i in order[:120]]
    posts = [f"how-to-style-a-{slugs[i]}" for i in order[120:160]]
    cat: dict[str, list[_Asset]] = {}
    js = _KINDS["js"].content_type
    cat["js"] = [
        _Asset(f"/_next/static/chunks/{name}-{h}.js", "js", s, js)
        for name, h, s in zip(_CHUNKS, hexes(36, 16), sizes(36, 28_000, 0.9), strict=True)
    ]
    cat["css"] = [
        _Asset(f"/_next/static/css/{h}.css", "css", s, _KINDS["css"].content_type)
        for h, s in zip(hexes(4, 16), sizes(4, 24_000, 0.5), strict=True)
    ]
    cat["font"] = [
        _Asset(f"/_next/static/media/{name}.{h}.woff2", "font", s, "font/woff2")
        for name, h, s in zip(
            ("inter-latin", "inter-latin-ext", "lora-latin", "lora-italic"),
            hexes(4, 8),
            sizes(4, 32_000, 0.2),
            strict=True,
        )
    ]
    images = [
        _Asset(f"/images/hero-{i}.avif", "image", s, "image/avif")
        for i, s in zip(range(1, 5), sizes(4, 180_000, 0.3), strict=True)
    ]
    for slug, s in zip(products, sizes(120, 60_000, 0.5), strict=True):
        images.append(_Asset(f"/images/products/{slug}-640.webp", "image", s, "image/webp"))
        images.append(
            _Asset(f"/images/products/{slug}-1080.webp", "image", int(s * 2.3), "image/webp")
        )
    images += [
        _Asset(f"/images/blog/{slug}.jpg", "image", s, "image/jpeg")
        for slug, s in zip(posts, sizes(40, 140_000, 0.4), strict=True)
    ]
    cat["image"] = [images[i] for i in rng.permutation(len(images))]
    html = _KINDS["html"].content_type
    pages = [_Asset("/", "html", 38_000, html)]
    pages += [
        _Asset(f"/products/{slug}", "html", s, html)
        for slug, s in zip(products, sizes(120, 42_000, 0.2), strict=True)
    ]
    pages += [
        _Asset(f"/blog/{slug}", "html", s, html)
        for slug, s in zip(posts, sizes(40, 55_000, 0.3), strict=True)
    ]
    cat["html"] = [pages[0], *(pages[1:][i] for i in rng.permutation(len(pages) - 1))]
    ids = rng.choice(np.arange(1000, 9999), 120, replace=False)
    cat["api"] = [
        _Asset(f"/api/products/{i}", "api", s, "application/json")
        for i, s in zip(ids, sizes(120, 2_400, 0.3), strict=True)
    ]
    cat["cart"] = [_Asset("/api/cart", "cart", 1_100, "application/json")]
    cat["favicon"] = [_Asset("/favicon.ico", "favicon", 4_286, "image/x-icon")]
    cat["probe"] = [
        _Asset(p, "probe", 5_120, _KINDS["probe"].content_type)
        for p in ("/wp-login.php", "/.env", "/xmlrpc.php")
    ]
    return cat


# --------------------------------------------------------------------------- viewers

# region → (UTC offset, share, {country: share}, hit TTFB median per provider, ms to origin)
_REGIONS: dict[str, tuple[float, float, dict[str, float], dict[str, float], float]] = {
    "NA": (
        -6,
        0.40,
        {"US": 0.87, "CA": 0.13},
        {"cloudfront": 3, "cloudflare": 7, "fastly": 5},
        18,
    ),
    "EU": (
        1,
        0.36,
        {"DE": 0.26, "GB": 0.24, "FR": 0.16, "NL": 0.10, "ES": 0.08, "IT": 0.07, "PL": 0.05,
         "SE": 0.04},
        {"cloudfront": 6, "cloudflare": 4, "fastly": 5},
        85,
    ),
    "APAC": (
        9,
        0.15,
        {"JP": 0.45, "AU": 0.25, "SG": 0.20, "KR": 0.10},
        {"cloudfront": 7, "cloudflare": 7, "fastly": 8},
        160,
    ),
    "SA": (
        -3,
        0.05,
        {"BR": 0.8, "AR": 0.2},
        {"cloudfront": 9, "cloudflare": 10, "fastly": 11},
        120,
    ),
    "IN": (
        5.5,
        0.04,
        {"IN": 1.0},
        {"cloudfront": 8, "cloudflare": 9, "fastly": 10},
        190,
    ),
}  # fmt: skip

_EDGES: dict[str, dict[str, str]] = {
    "cloudfront": {
        "US": "IAD89-C1 IAD89-C3 JFK50-C1 ORD58-P4 DFW56-P1 ATL59-C1 SFO53-P7 LAX50-C1 SEA19-C2",
        "CA": "YUL62-C1 YTO50-C1",
        "DE": "FRA56-P3 FRA56-P5 FRA60-P1 MUC50-P2",
        "GB": "LHR61-P4 LHR50-C1 MAN51-C1",
        "FR": "CDG52-P2 CDG55-P1 MRS52-C2",
        "NL": "AMS58-P1 AMS1-C1",
        "ES": "MAD53-C1 BCN50-C1",
        "IT": "MXP63-C1 FCO50-C1",
        "PL": "WAW51-P1",
        "SE": "ARN56-C1",
        "JP": "NRT57-P2 NRT20-C4 KIX56-C1",
        "SG": "SIN2-C1",
        "AU": "SYD62-P1 MEL50-C2",
        "KR": "ICN57-P1",
        "BR": "GRU3-C1 GIG51-C1",
        "AR": "EZE50-C1",
        "IN": "BOM78-P1 DEL51-C1 MAA51-C1",
    },
    "cloudflare": {
        "US": "IAD EWR ORD DFW ATL MIA SJC LAX SEA",
        "CA": "YYZ YUL",
        "DE": "FRA",
        "GB": "LHR",
        "FR": "CDG",
        "NL": "AMS",
        "ES": "MAD",
        "IT": "MXP",
        "PL": "WAW",
        "SE": "ARN",
        "JP": "NRT KIX",
        "SG": "SIN",
        "AU": "SYD MEL",
        "KR": "ICN",
        "BR": "GRU",
        "AR": "EZE",
        "IN": "BOM DEL MAA",
    },
    "fastly": {
        "US": "IAD JFK ORD DFW SJC LAX",
        "CA": "YYZ",
        "DE": "FRA",
        "GB": "LHR LCY",
        "FR": "CDG",
        "NL": "AMS",
        "ES": "MAD",
        "IT": "MXP",
        "PL": "WAW",
        "SE": "ARN",
        "JP": "NRT",
        "SG": "QPG",
        "AU": "SYD",
        "KR": "NRT",
        "BR": "GRU",
        "AR": "EZE",
        "IN": "BOM",
    },
}

_CITIES = {
    "US": ("Ashburn", "New York", "Chicago", "Dallas", "San Jose"),
    "CA": ("Toronto", "Montreal"),
    "DE": ("Berlin", "Frankfurt am Main", "Munich"),
    "GB": ("London", "Manchester"),
    "FR": ("Paris", "Lyon"),
    "NL": ("Amsterdam",),
    "ES": ("Madrid", "Barcelona"),
    "IT": ("Milan", "Rome"),
    "PL": ("Warsaw",),
    "SE": ("Stockholm",),
    "JP": ("Tokyo", "Osaka"),
    "SG": ("Singapore",),
    "AU": ("Sydney", "Melbourne"),
    "KR": ("Seoul",),
    "BR": ("Sao Paulo", "Rio de Janeiro"),
    "AR": ("Buenos Aires",),
    "IN": ("Mumbai", "Delhi", "Chennai"),
}

_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)
_AGENT_SHARE = (0.38, 0.22, 0.18, 0.1, 0.05, 0.05, 0.02)


def _curve(local_hour: np.ndarray) -> np.ndarray:
    """Relative traffic by local hour: an evening peak at 20:30 and a lunchtime bump."""
    evening = ((1 + np.cos(2 * np.pi * (local_hour - 20.5) / 24)) / 2) ** 1.5
    lunch = 0.25 * np.exp(-(((local_hour - 12.5) / 1.5) ** 2))
    return 0.12 + 0.88 * evening + lunch


# --------------------------------------------------------------------------- simulation


@dataclass
class _Requests:
    """The simulated requests of one provider (arrays, one entry per request)."""

    start_us: np.ndarray
    region: list[str]
    country: list[str]
    edge: list[str]
    viewer: np.ndarray
    asset: list[_Asset]
    method: list[str]
    query: list[str | None]
    status: np.ndarray
    outcome: list[str]  # hit, refresh, miss, expired, pass, error
    body: np.ndarray
    ttfb_ms: np.ndarray
    origin_ms: np.ndarray  # nan when the origin was not asked
    duration_ms: np.ndarray
    referer: list[str | None]


@dataclass(frozen=True)
class _Viewers:
    ip: list[str]
    agent: list[str]
    by_country: dict[str, np.ndarray]


def _viewers(rng: np.random.Generator) -> _Viewers:
    ips: list[str] = []
    by_country: dict[str, list[int]] = {}
    v4 = ("192.0.2", "198.51.100", "203.0.113")
    for r, (_, share, countries, _, _) in enumerate(_REGIONS.values()):
        for c, cshare in countries.items():
            n = max(8, int(2000 * share * cshare))
            for _ in range(n):
                if rng.random() < 0.6:
                    ip = f"{v4[rng.integers(3)]}.{rng.integers(1, 255)}"
                else:
                    ip = f"2001:db8:{r + 1:x}{rng.integers(0, 64):02x}::{rng.integers(1, 4096):x}"
                by_country.setdefault(c, []).append(len(ips))
                ips.append(ip)
    agents = [_AGENTS[i] for i in rng.choice(len(_AGENTS), len(ips), p=_AGENT_SHARE)]
    return _Viewers(ips, agents, {c: np.array(v) for c, v in by_country.items()})


def _zipf_weights(n: int, s: float = 1.1) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _simulate(
    provider: str, per_day: int, seed: int, cat: dict[str, list[_Asset]], viewers: _Viewers
) -> _Requests:
    rng = np.random.default_rng(seed)
    t0 = DAY - _WARMUP
    minutes = int((timedelta(hours=24) + _WARMUP) / timedelta(minutes=1))
    utc_hour = (np.arange(minutes) / 60.0 - _WARMUP.total_seconds() / 3600) % 24
    names = list(_REGIONS)
    weights = np.stack(
        [_REGIONS[r][1] * _curve((utc_hour + _REGIONS[r][0]) % 24) for r in names]
    )  # region × minute
    in_day = np.arange(minutes) >= _WARMUP.total_seconds() / 60
    total = round(per_day * weights.sum() / weights[:, in_day].sum())
    cells = rng.choice(weights.size, total, p=(weights / weights.sum()).ravel())
    reg_idx, minute = np.divmod(cells, minutes)
    start_us = (
        int(t0.timestamp() * 1e6)
        + minute.astype(np.int64) * 60_000_000
        + rng.integers(0, 60_000_000, total)
    )
    order = np.argsort(start_us, kind="stable")
    start_us, reg_idx = start_us[order], reg_idx[order]
    region = [names[i] for i in reg_idx]
    country_arr = np.empty(total, dtype=object)
    for r_i, r in enumerate(names):
        rows = np.flatnonzero(reg_idx == r_i)
        cs = _REGIONS[r][2]
        drawn = rng.choice(len(cs), rows.size, p=list(cs.values()))
        country_arr[rows] = np.array(list(cs), dtype=object)[drawn]
    country: list[str] = country_arr.tolist()
    edge_arr = np.empty(total, dtype=object)
    viewer = np.zeros(total, dtype=np.int64)
    for c, options_text in _EDGES[provider].items():
        rows = np.flatnonzero(country_arr == c)
        options = options_text.split()
        w = 1.0 / np.arange(1, len(options) + 1)
        edge_arr[rows] = np.array(options, dtype=object)[
            rng.choice(len(options), rows.size, p=w / w.sum())
        ]
        pool = viewers.by_country[c]
        viewer[rows] = pool[rng.choice(pool.size, rows.size, p=_zipf_weights(pool.size, 0.6))]
    edge: list[str] = edge_arr.tolist()
    kinds = list(_KINDS)
    kind_idx = rng.choice(len(kinds), total, p=[_KINDS[k].share for k in kinds])
    asset: list[_Asset] = []
    zipf = {k: _zipf_weights(len(cat[k])) for k in kinds}
    picks = {k: iter(rng.choice(len(cat[k]), total, p=zipf[k])) for k in kinds}
    for ki in kind_idx:
        k = kinds[ki]
        asset.append(cat[k][next(picks[k])])
    # methods, queries, viewer revalidations, failures
    u = rng.random((6, total))
    method = []
    query: list[str | None] = []
    status = np.full(total, 200, dtype=np.int64)
    for i, a in enumerate(asset):
        m = "GET"
        q = None
        if a.kind == "cart" and u[0, i] < 0.35:
            m = "POST"
        elif a.kind == "html" and u[0, i] < 0.004:
            m = "HEAD"
        if a.kind == "html" and u[1, i] < 0.12:
            q = ("utm_source=newsletter&utm_medium=email", "utm_source=google&utm_medium=cpc",
                 "ref=instagram")[int(u[2, i] * 3)]  # fmt: skip
        elif a.kind == "api" and u[1, i] < 0.2:
            q = "fields=price,stock"
        if a.kind == "probe":
            status[i] = 404
        elif a.kind in ("api", "cart") and u[3, i] < 0.004:
            status[i] = 502 if u[4, i] < 0.7 else 504
        elif a.kind in ("html", "image") and m == "GET" and u[3, i] < 0.08:
            status[i] = 304
        method.append(m)
        query.append(q)
    # the caches
    purge_us = int(PURGE_AT.timestamp() * 1e6) if provider == PURGED_PROVIDER else None
    fill: dict[tuple[str, str], int] = {}
    outcome: list[str] = []
    reval_draw = rng.random(total)
    for i in range(total):
        a = asset[i]
        kind = _KINDS[a.kind]
        t = int(start_us[i])
        if status[i] >= 500:
            outcome.append("error")
            continue
        if kind.ttl == 0:
            outcome.append("error" if a.kind == "probe" else "pass")
            continue
        key = (edge[i], a.path)
        last = fill.get(key)
        if last is not None and purge_us is not None and last < purge_us <= t:
            del fill[key]
            last = None
        if last is not None and t - last < kind.ttl * 1e6:
            outcome.append("hit")
        elif last is not None and reval_draw[i] < kind.revalidate:
            outcome.append("refresh")
            fill[key] = t
        else:
            outcome.append("miss" if last is None else "expired")
            fill[key] = t
    # latency
    went = np.array([o != "hit" for o in outcome])
    base = np.array([_REGIONS[r][3][provider] for r in region], dtype=float)
    edge_ms = base * np.exp(rng.normal(0, 0.45, total))
    net = np.array([_REGIONS[r][4] for r in region], dtype=float)
    work = np.array([_KINDS[a.kind].origin_ms for a in asset], dtype=float)
    work = np.where(np.array([o == "refresh" for o in outcome]), work * 0.3, work)
    since = (start_us - int(PURGE_AT.timestamp() * 1e6)) / 60e6  # minutes after the purge
    load = 1 + 0.8 * np.where(since >= 0, np.exp(-np.maximum(since, 0) / 15), 0)
    origin = net * np.exp(rng.normal(0, 0.25, total)) + work * np.exp(rng.normal(0, 0.5, total))
    origin = origin * load
    failed = status >= 500
    origin = np.where(failed, rng.uniform(1000, 3000, total), origin)
    origin_ms = np.where(went, origin, np.nan)
    ttfb = edge_ms + np.where(went, origin, 0.0)
    body = np.array([a.size for a in asset], dtype=np.int64)
    body = np.where((status == 304) | (np.array(method) == "HEAD"), 0, body)
    body = np.where(failed, 0, body)
    body = np.where(status == 502, 0, body)
    mbit = 20 * np.exp(rng.normal(0, 0.7, total))
    rtt = net * 0 + base * 2
    duration = ttfb + body * 8 / (mbit * 1000) + np.where(body > 14_000, rtt, 0)
    pages = cat["html"]
    from_page = rng.choice(len(pages), total, p=_zipf_weights(len(pages)))
    referer: list[str | None] = []
    for i, a in enumerate(asset):
        x = u[5, i]
        if a.kind == "probe" or (a.kind == "html" and x < 0.4):
            referer.append(None)
        elif a.kind == "html" and x < 0.75:
            referer.append("https://www.google.com/")
        else:
            referer.append(f"https://{HOST}{pages[from_page[i]].path}")
    keep = start_us >= int(DAY.timestamp() * 1e6)
    idx = np.flatnonzero(keep)

    def take(values: list[Any]) -> list[Any]:
        return [values[i] for i in idx]

    return _Requests(
        start_us=start_us[idx],
        region=take(region),
        country=take(country),
        edge=take(edge),
        viewer=viewer[idx],
        asset=take(asset),
        method=take(method),
        query=take(query),
        status=status[idx],
        outcome=take(outcome),
        body=body[idx],
        ttfb_ms=ttfb[idx],
        origin_ms=origin_ms[idx],
        duration_ms=duration[idx],
        referer=take(referer),
    )


# --------------------------------------------------------------------------- writers


def _header_bytes(a: _Asset, status: int) -> int:
    return (
        310
        + len(_KINDS[a.kind].cache_control)
        + (120 if status == 200 else 0)
        + (90 if a.kind == "cart" else 0)
    )


def _cloudfront(req: _Requests, viewers: _Viewers, rng: np.random.Generator) -> bytes:
    result = {
        "hit": "Hit",
        "refresh": "RefreshHit",
        "miss": "Miss",
        "expired": "Miss",
        "pass": "Miss",
        "error": "Error",
    }
    head = "#Version: 1.0\n#Fields: " + " ".join(STANDARD_FIELDS) + "\n"
    prefixes = [bytes(rng.integers(0, 256, 30, dtype=np.uint8)) for _ in range(25)]
    tails = [bytes(rng.integers(0, 256, 10, dtype=np.uint8)) for _ in range(37)]
    out: list[str] = []
    encoded: dict[str, str] = {}
    hour = -1
    protos = ("HTTP/2.0", "HTTP/2.0", "HTTP/2.0", "HTTP/1.1", "HTTP/3.0")
    pick = rng.integers(0, len(protos), len(req.start_us))
    ports = rng.integers(1024, 65535, len(viewers.ip))  # one connection per viewer
    for i in range(len(req.start_us)):
        start = int(req.start_us[i])
        end = start + round(req.duration_ms[i] * 1000)
        stamp = datetime.fromtimestamp(end // 1_000_000, UTC)
        h = int((start - int(DAY.timestamp() * 1e6)) // 3_600_000_000)
        if h != hour:
            out.append(head)
            hour = h
        a = req.asset[i]
        status = int(req.status[i])
        outcome = req.outcome[i]
        rtype = result[outcome]
        rid = base64.b64encode(
            prefixes[max(h, 0)] + (i % 65536).to_bytes(2, "big") + tails[i % 37], b"_-"
        )
        agent = viewers.agent[req.viewer[i]]
        ua = encoded.get(agent) or encoded.setdefault(agent, quote(agent, safe=_UA_SAFE))
        ref = req.referer[i]
        q = req.query[i]
        ctype = encoded.get(a.content_type) or encoded.setdefault(
            a.content_type, quote(a.content_type, safe="/;=+-.")
        )
        clen = "-" if a.kind == "html" or req.body[i] == 0 else str(int(req.body[i]))
        sc_bytes = int(req.body[i]) + _header_bytes(a, status)
        fields = (
            stamp.strftime("%Y-%m-%d"),
            stamp.strftime("%H:%M:%S"),
            req.edge[i],
            str(sc_bytes),
            viewers.ip[req.viewer[i]],
            req.method[i],
            _DISTRIBUTION,
            a.path,
            str(status),
            ref.replace("%", "%25") if ref else "-",
            ua,
            q.replace("%", "%25") if q else "-",
            "-",
            rtype,
            rid.decode(),
            HOST,
            "https",
            str(180 + len(a.path) + len(agent) + len(ref or "") + len(q or "")),
            f"{req.duration_ms[i] / 1000:.3f}",
            "-",
            "TLSv1.3",
            "TLS_AES_128_GCM_SHA256",
            rtype,
            protos[pick[i]],
            "-",
            "-",
            str(int(ports[req.viewer[i]])),
            f"{req.ttfb_ms[i] / 1000:.3f}",
            rtype,
            ctype,
            clen,
            "-",
            "-",
        )
        out.append("\t".join(fields) + "\n")
    return "".join(out).encode()


def _cloudflare(req: _Requests, viewers: _Viewers, rng: np.random.Generator) -> bytes:
    status_of = {
        "hit": "hit",
        "refresh": "revalidated",
        "miss": "miss",
        "expired": "expired",
        "pass": "dynamic",
    }
    ray_base = int(rng.integers(0x8E00_0000_0000_0000, 0x8EFF_0000_0000_0000, dtype=np.uint64))
    protos = ("HTTP/2", "HTTP/2", "HTTP/2", "HTTP/1.1", "HTTP/3")
    pick = rng.integers(0, len(protos), len(req.start_us))
    etags: dict[str, str] = {}
    out: list[str] = []
    for i in range(len(req.start_us)):
        a = req.asset[i]
        status = int(req.status[i])
        outcome = req.outcome[i]
        if outcome == "error":
            cache = "dynamic" if a.kind in ("probe", "cart") else "miss"
        else:
            cache = status_of[outcome]
        start_ns = int(req.start_us[i]) // 1000 * 1_000_000  # ms precision, in ns
        end_ns = start_ns + round(req.duration_ms[i]) * 1_000_000
        went = outcome != "hit"
        headers: dict[str, str] = {"cache-control": _KINDS[a.kind].cache_control}
        if a.kind in ("html", "api"):
            etags.setdefault(a.path, f'W/"{zlib.crc32(a.path.encode()):08x}"')
            headers["etag"] = etags[a.path]
        elif a.kind in ("js", "css", "font", "favicon"):
            headers["last-modified"] = _DEPLOYED
        if a.kind == "cart":
            headers["set-cookie"] = "cart=…; Path=/; HttpOnly; Secure; SameSite=Lax"
        body = int(req.body[i])
        q = req.query[i]
        record = {
            "CacheCacheStatus": cache,
            "ClientCountry": req.country[i].lower(),
            "ClientIP": viewers.ip[req.viewer[i]],
            "ClientRequestHost": HOST,
            "ClientRequestMethod": req.method[i],
            "ClientRequestProtocol": protos[pick[i]],
            "ClientRequestReferer": req.referer[i] or "",
            "ClientRequestURI": a.path + (f"?{q}" if q else ""),
            "ClientRequestUserAgent": viewers.agent[req.viewer[i]],
            "EdgeColoCode": req.edge[i],
            "EdgeEndTimestamp": end_ns,
            "EdgeResponseBytes": body + _header_bytes(a, status),
            "EdgeResponseContentType": a.content_type,
            "EdgeResponseStatus": status,
            "EdgeStartTimestamp": start_ns,
            "EdgeTimeToFirstByteMs": round(req.ttfb_ms[i]),
            "OriginResponseDurationMs": round(req.origin_ms[i]) if went else 0,
            "OriginResponseStatus": (
                0 if not went else 304 if outcome == "refresh" else status if status != 304
                else 200
            ),
            "RayID": f"{ray_base + i * 3:016x}"[:16],
            "ResponseHeaders": headers,
        }  # fmt: skip
        out.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
    return "".join(out).encode()


def _fastly(req: _Requests, viewers: _Viewers, rng: np.random.Generator) -> bytes:
    state_of = {
        "hit": "HIT",
        "refresh": "MISS",
        "miss": "MISS",
        "expired": "MISS",
        "pass": "PASS",
        "error": "MISS",
    }
    nodes = {e: int(rng.integers(1000, 9999)) for e in sorted(set(req.edge))}
    out: list[str] = []
    reasons = {200: "OK", 304: "Not Modified", 404: "Not Found", 502: "Bad Gateway",
               504: "Gateway Timeout"}  # fmt: skip
    for i in range(len(req.start_us)):
        a = req.asset[i]
        status = int(req.status[i])
        start = datetime.fromtimestamp(int(req.start_us[i]) // 1_000_000, UTC)
        c = req.country[i]
        q = req.query[i]
        pop = req.edge[i]
        cities = _CITIES[c]
        record = {
            "timestamp": start.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "client_ip": viewers.ip[req.viewer[i]],
            "geo_country": COUNTRIES[c][1],
            "geo_city": cities[int(req.viewer[i]) % len(cities)],
            "host": HOST,
            "url": a.path + (f"?{q}" if q else ""),
            "request_method": req.method[i],
            "request_protocol": "HTTP/2",
            "request_referer": req.referer[i] or "",
            "request_user_agent": viewers.agent[req.viewer[i]],
            "response_state": state_of[req.outcome[i]],
            "response_status": status,
            "response_reason": reasons[status],
            "response_body_size": int(req.body[i]),
            "fastly_server": f"cache-{pop.lower()}{nodes[pop]}-{pop}",
            "fastly_is_edge": True,
            "time_elapsed": round(req.duration_ms[i] * 1000),
            "content_type": a.content_type,
        }
        out.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
    return "".join(out).encode()


_WRITERS = {"cloudfront": _cloudfront, "cloudflare": _cloudflare, "fastly": _fastly}


def write_samples(dest: str | Path, *, scale: float = 1.0) -> list[Path]:
    """Write the generated CDN samples under ``dest/cdn/``; return their paths.

    Parameters
    ----------
    dest : str or Path
        The sample folder (``data/sample``); ``cdn/`` is created under it. Files are
        written atomically, replacing earlier generated ones.
    scale : float
        Multiplies the request counts (:data:`REQUESTS_PER_DAY`); tests use a small
        one. The site, the purge and the misconfiguration stay whatever the scale.

    Returns
    -------
    list of Path
        ``cloudfront.log.gz``, ``cloudflare.jsonl.gz``, ``fastly.jsonl.gz`` (see the
        module docstring for what they hold and what is planted in them).

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_samples(tempfile.mkdtemp(), scale=0.02)]
    ['cloudfront.log.gz', 'cloudflare.jsonl.gz', 'fastly.jsonl.gz']
    """
    out = Path(dest) / "cdn"
    cat = _catalogue(np.random.default_rng(7))
    viewers = _viewers(np.random.default_rng(8))
    paths = []
    for provider, name in FILES.items():
        per_day = max(200, round(REQUESTS_PER_DAY[provider] * scale))
        req = _simulate(provider, per_day, _SEEDS[provider], cat, viewers)
        data = _WRITERS[provider](req, viewers, np.random.default_rng(_SEEDS[provider] + 1))
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        paths.append(write_atomic(out / name, packed))
    return paths

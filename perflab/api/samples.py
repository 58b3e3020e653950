"""The generated API samples: a day of a shop's nginx log, and its Next.js routes manifest.

``data/sample/api/access.log.gz`` and its siblings are real captures (see
``data/README.md``) and are left alone. What is generated here, seeded so the same
call always writes the same bytes:

``day.log.gz`` — :func:`day_log`
    A day of traffic (2026-11-30 00:00 → 24:00 UTC, 150,000 lines, gzip -9) of
    ``shop.example.com``, a Next.js 15 shop (pages router) behind nginx with
    ``proxy_cache`` and ``gzip on`` (``gzip_min_length 1000``), written in exactly the
    format of ``log_format.txt`` (``$request_time``, ``$upstream_response_time``,
    ``$upstream_cache_status``, ``$bytes_sent``, ``$gzip_ratio``,
    ``"$sent_http_content_type"``, ``$host``). Traffic follows a diurnal curve (least
    at 03:00, most at 15:00, about 9 × the night). Browser visits (HTTP/2, seven
    Chrome/Safari/Firefox/Edge desktop and mobile user agents, client addresses from
    eight /16s) start on a page and go on with pages, ``/_next/data`` fetches, API
    calls and static files, a few seconds apart; crawlers (Googlebot, bingbot,
    AhrefsBot) walk the product long tail all day; a few scanners try ``/.env``,
    ``/wp-login.php`` … (404: nginx's own page for dot-files, Next.js's otherwise);
    an uptime monitor sends ``HEAD /`` every minute. Popularity is Zipf (1,000 product
    slugs like ``blue-running-shoe-42``, 5,000 product ids, 60 blog posts, search
    terms, images); server times are lognormal per route; ``$request_time`` adds the
    time to send what does not fit the socket buffer.

    ============================  ==========================================================
    requests                      what they are
    ============================  ==========================================================
    ``/``, ``/products/{slug}``,  HTML, gzip, ``text/html; charset=utf-8``; cache ``HIT``
    ``/blog/{slug}``              (about half; upstream ``-``), ``MISS``, ``EXPIRED``,
                                  ``STALE``, ``UPDATING``; a few 304s, 404s (products
                                  gone), 500s (0.1 %)
    ``/cart``                     HTML, ``BYPASS`` (session cookie)
    ``/_next/data/<build>/…``     ``products/{slug}.json``, cached like the pages
    ``/api/products/{id}``        the catalog service (not Next.js), ``-`` cache
    ``/api/search?q=…``,          Next.js API routes, JSON gzip (``application/json;
    ``/api/cart`` (GET, POST),    charset=utf-8``; the cart's replies are under
    ``/api/users/{uuid}/orders``  ``gzip_min_length``); ``-`` or ``BYPASS`` (cart, orders)
    ``/api/recommendations``      a separate service with two upstream servers
    ``/_next/static/…``, images   hashed chunks, CSS, ``/images/*.webp|jpg|png``: about
                                  95 % ``HIT``; JavaScript and CSS gzip, images not
    ``/favicon.ico``              served by nginx from disk (cache and upstream ``-``)
    ============================  ==========================================================

    Upstream lists: 0.3 % of API calls are retried on a second upstream entry after a
    connection error (``0.004, 0.061``); 502s of the recommendations service list both
    of its servers (``0.001, 0.000``). Slow searches abandoned by the client end as
    ``499`` with no body and no content type.

    **Planted problems** — what :func:`perflab.api.findings` finds on it:

    1. ``GET /api/search`` is slow: server time median about 750 ms, p95 about 2 s
       (lognormal, σ 0.6) → ``api.slow-server-response`` (high). Every other route's
       p95 is under 600 ms.
    2. ``GET /api/recommendations`` fails: 20 % of its requests that start between
       14:00 and 14:40 are 502 (upstream refused or closed) or 504 (its 5 s
       ``proxy_read_timeout``), on top of a background of 2 % all day — about 3 % of
       the day's requests → ``api.server-errors`` (high). Other routes stay under 1 %.
    3. ``GET /api/products/{id}`` answers ``application/vnd.api+json`` (JSON:API),
       which the ``gzip_types`` list misses: 3–6 KB sent uncompressed (``$gzip_ratio``
       ``-``) → ``api.uncompressed-text`` (high). All other JSON of 1,000 bytes or
       more is gzip'd.
    4. ``GET /api/users/{uuid}/orders`` returns every order, unpaginated: p95 of
       ``$body_bytes_sent`` (gzip'd, ratio 6–7.5) about 180 KB → ``api.oversized-json``
       (medium); and its median grows linearly by 30 % from 00:00 to 24:00 (about
       80 → 104 KB, with 3 % hour-to-hour noise) → ``api.payload-growth`` (low).
    5. Static JavaScript, CSS and images are about 95 % ``HIT``; HTML pages mix
       ``HIT``, ``MISS`` and ``EXPIRED``; the API is ``-`` or ``BYPASS`` — for the cache
       hit ratios of :func:`perflab.api.endpoints`.

    On the written file (seed 9) :func:`~perflab.api.findings` gives exactly these
    five: search median 755 ms, p95 2,026 ms; recommendations 3.0 % 5xx of 6,500
    (about 20 % from 14:00 to 14:40); 11,143 catalog responses (50.5 MB) uncompressed;
    orders p95 184 KB, median grown 27 % (Theil–Sen over 24 hourly medians). Smaller
    logs (``lines=``) show the first four from a few tens of thousands of lines; the
    growth needs about 100,000 to stand out of the night hours' noise.

``routes-manifest.json`` — :func:`routes_manifest`
    The ``.next/routes-manifest.json`` that ``next build`` (15, pages router) would
    write for this shop, in the shape of real ones: version 3, the internal
    trailing-slash redirect, ``staticRoutes`` (``/``, ``/404``, ``/api/cart``,
    ``/api/search``, ``/cart``), ``dynamicRoutes`` (``/api/users/[id]/orders``,
    ``/blog/[slug]``, ``/products/[slug]``) with ``regex``, ``routeKeys`` and
    ``namedRegex``, ``dataRoutes`` (``/``, ``/blog/[slug]``, ``/products/[slug]``) with
    ``dataRouteRegex`` (the build id written in) and ``namedDataRouteRegex``, ``rsc``
    and ``rewriteHeaders``. ``/api/products/{id}`` and ``/api/recommendations`` are
    other services, so they are not in it.
"""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from perflab.frames import write_atomic

__all__ = [
    "BUILD_ID",
    "DAY_LINES",
    "DAY_LOG",
    "HOST",
    "ROUTES_MANIFEST",
    "day_log",
    "routes_manifest",
    "write_samples",
]

DAY_LOG = "day.log.gz"
"""File name of the generated day of traffic under ``data/sample/api/``."""
ROUTES_MANIFEST = "routes-manifest.json"
"""File name of the generated Next.js routes manifest under ``data/sample/api/``."""
DAY_LINES = 150_000
"""Lines in the written ``day.log.gz``."""
HOST = "shop.example.com"
"""The shop's host name (``$host``)."""
BUILD_ID = "q7Lw2XbN9pRkT4vYc8JmZ"
"""The Next.js build id in ``/_next/data/<build>/…`` and ``/_next/static/<build>/…``."""

_DAY = 86_400
_BURST = (14 * 3600, 14 * 3600 + 40 * 60 - 6)  # starts; a 5 s 504 still ends before 14:40
_BURST_RATE = 0.20
_BACKGROUND_ERRORS = 0.02
_SEARCH_MS = (750.0, 0.6)  # median, σ of the lognormal
_ORDERS_BYTES = 80_000.0  # median gzip'd body at 00:00; × 1.3 at 24:00
_ORDERS_GROWTH = 0.30

# browser visits: (user agent, weight, mobile)
_BROWSERS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36",
        0.30,
        False,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36",
        0.10,
        False,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/27.1 Safari/605.1.15",
        0.08,
        False,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/27.1 Mobile/15E148 Safari/604.1",
        0.22,
        True,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Mobile Safari/537.36",
        0.18,
        True,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:158.0) Gecko/20100101 Firefox/158.0",
        0.06,
        False,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0",
        0.06,
        False,
    ),
)
_BROADBAND = ("81.2", "86.151", "109.150", "2.24", "78.86")
_MOBILE = ("172.58", "92.40", "148.252")
# crawlers: (user agent, weight, address prefix /24)
_BOTS = (
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 0.6, "66.249.66"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 0.25, "157.55.39"),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 0.15, "54.36.148"),
)
_SCANNER_UAS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/81.0.4044.129 Safari/537.36",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
)
_SCANNER_NETS = ("45.148.10", "185.224.128", "193.41.206")
_SCANNER_PATHS = (
    "/.env",
    "/.git/config",
    "/.aws/credentials",
    "/admin/.env",
    "/wp-login.php",
    "/xmlrpc.php",
    "/wp-admin/setup-config.php",
    "/phpmyadmin/index.php",
    "/config.json",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/server-status",
    "/actuator/env",
)
_SERVER_ADDR = "203.0.113.10"
_MONITOR = (
    "216.144.250.150",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
)
_REFERRERS = (
    ("-", 0.45),
    ("https://www.google.com/", 0.40),
    ("https://www.bing.com/", 0.05),
    ("https://l.facebook.com/", 0.05),
    ("https://duckduckgo.com/", 0.05),
)


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


_COLORS = _words(
    "blue black white red green grey navy olive orange yellow pink purple teal sand "
    "charcoal coral mint burgundy ivory khaki"
)
_PRODUCTS = _words(
    "running-shoe trail-shoe rain-jacket wool-sock yoga-mat hiking-boot down-vest "
    "fleece-hoodie sports-bra trail-short base-layer beanie water-bottle daypack "
    "running-cap windbreaker leggings tank-top gym-bag sandal"
)
_TOPICS = _words(
    "running-shoes trail-running winter-layers rain-gear hiking-boots yoga-mats "
    "merino-wool base-layers daypacks marathon-training recovery-days sock-fit"
)
_BLOG_TEMPLATES = (
    "how-to-choose-{t}",
    "a-beginners-guide-to-{t}",
    "what-we-learned-about-{t}",
    "the-complete-{t}-care-guide",
    "five-myths-about-{t}",
)
_SEARCH_TERMS = _words(
    "running shoes|rain jacket|trail|wool socks|yoga mat|hiking boots|vest|hoodie|"
    "gift card|sale|waterproof|kids|size 44|blue|black running shoe|cr%C3%A8me|"
    "marathon|base layer|beanie|backpack|water bottle|leggings|windbreaker|sandals",
    "|",
)

# route classes, and their share of the requests of a visit after its first page
_CLASSES = (
    ("home", 0.035),
    ("product", 0.085),
    ("blog", 0.02),
    ("cart", 0.015),
    ("data", 0.065),
    ("api_products", 0.085),
    ("api_search", 0.045),
    ("api_cart_get", 0.03),
    ("api_cart_post", 0.015),
    ("api_recs", 0.05),
    ("api_orders", 0.03),
    ("js", 0.285),
    ("build", 0.02),
    ("css", 0.05),
    ("img", 0.155),
    ("favicon", 0.015),
)
_NAMES = [c for c, _ in _CLASSES] + ["scan", "monitor"]
_CODE = {name: i for i, name in enumerate(_NAMES)}
_FIRST_PAGE = (("home", 0.35), ("product", 0.45), ("blog", 0.15), ("cart", 0.05))

_HTML = "text/html; charset=utf-8"
_NEXT_JSON = "application/json; charset=utf-8"


def _p(weights: Any) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _zipf(n: int, s: float, rng: np.random.Generator) -> np.ndarray:
    """Zipf probabilities over n items, in a shuffled order (popularity ≠ index)."""
    p = _p(1.0 / np.arange(1, n + 1) ** s)
    return p[rng.permutation(n)]


def _hex(rng: np.random.Generator, n: int = 16) -> str:
    return rng.bytes(n // 2 + 1).hex()[:n]


def _diurnal(seconds: np.ndarray) -> np.ndarray:
    """Relative request rate at these seconds of the day: least at 03:00, most at 15:00."""
    h = seconds / 3600.0
    return 0.12 + ((1 - np.cos(2 * np.pi * (h - 3) / 24)) / 2) ** 1.6


class _Catalog:
    """The shop's fixed things: slugs, posts, ids, files and their sizes (seeded)."""

    def __init__(self, rng: np.random.Generator) -> None:
        slugs: list[str] = []
        seen: set[str] = set()
        while len(slugs) < 1000:
            s = (
                f"{_COLORS[rng.integers(len(_COLORS))]}-{_PRODUCTS[rng.integers(len(_PRODUCTS))]}"
                f"-{rng.integers(1, 100)}"
            )
            if s not in seen:
                seen.add(s)
                slugs.append(s)
        self.slugs = slugs
        self.slug_p = _zipf(len(slugs), 1.05, rng)
        self.slug_html = rng.uniform(42_000, 96_000, len(slugs))  # raw HTML bytes
        self.slug_json = rng.uniform(5_000, 14_000, len(slugs))  # raw __NEXT_DATA__ bytes
        self.posts = [t.format(t=topic) for t in _BLOG_TEMPLATES for topic in _TOPICS][:60]
        self.post_p = _zipf(len(self.posts), 1.0, rng)
        self.post_html = rng.uniform(28_000, 64_000, len(self.posts))
        self.ids = 5000
        self.id_p = _zipf(self.ids, 1.1, rng)
        self.id_bytes = rng.uniform(3_000, 6_000, self.ids)
        self.terms_p = _zipf(len(_SEARCH_TERMS), 0.9, rng)
        # JavaScript chunks: (path, raw bytes, gzip ratio, weight)
        pages = ("pages/_app", "pages/index", "pages/products/%5Bslug%5D", "pages/blog/%5Bslug%5D")
        names = ("webpack", "framework", "main", *pages, "pages/cart", "8541", "2972", "4193")
        raw: tuple[int, ...] = (3_900, 139_800, 118_400, 212_300, 28_100, 46_700, 21_400)
        raw += (17_200, 64_900, 31_300, 12_100)
        weight = (0.12, 0.12, 0.12, 0.12, 0.08, 0.12, 0.04, 0.04, 0.1, 0.08, 0.06)
        self.js: list[tuple[str, float, float, float]] = [
            (f"/_next/static/chunks/{n}-{_hex(rng)}.js", r, rng.uniform(2.9, 3.7), w)
            for n, r, w in zip(names, raw, weight, strict=True)
        ]
        self.js += [
            (f"/_next/static/{BUILD_ID}/_buildManifest.js", 1_930, 2.45, 0.5),
            (f"/_next/static/{BUILD_ID}/_ssgManifest.js", 77, 1.0, 0.5),
        ]
        self.css: list[tuple[str, float, float, float]] = [
            (f"/_next/static/css/{_hex(rng)}.css", 46_200, 5.9, 0.7),
            (f"/_next/static/css/{_hex(rng)}.css", 7_800, 4.1, 0.3),
        ]
        images = [
            (f"/images/hero-{n}.webp", rng.uniform(90e3, 160e3), 3.0)
            for n in ("winter-sale", "new-arrivals", "trail-season")
        ]
        images += [
            (f"/images/{n}.png", rng.uniform(2e3, 12e3), 2.0)
            for n in ("logo", "logo-dark", "icon-cart", "icon-account")
        ]
        cats = ["running", "hiking", "yoga", "outerwear", "socks", "accessories", "kids", "sale"]
        images += [(f"/images/category-{c}.jpg", rng.uniform(60e3, 220e3), 1.5) for c in cats]
        top = np.argsort(-self.slug_p)[:300]
        images += [
            (f"/images/{slugs[i]}.webp", rng.uniform(14e3, 40e3), 60 * self.slug_p[i]) for i in top
        ]
        self.images = images
        self.users = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(4000)]


def _visits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Browser requests: (visit number, start second) of n requests, in visits."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    sizes: list[np.ndarray] = []
    total = 0
    while total < n:
        s = 1 + rng.geometric(1 / 11, size=max(16, (n - total) // 10))
        sizes.append(s)
        total += int(s.sum())
    size = np.concatenate(sizes)
    ends = np.cumsum(size)
    k = int(np.searchsorted(ends, n)) + 1
    size = size[:k]
    size[-1] -= int(ends[k - 1] - n)
    grid = np.arange(_DAY)
    starts = rng.choice(_DAY, size=k, p=_p(_diurnal(grid))) + rng.random(k)
    visit = np.repeat(np.arange(k), size)
    gaps = rng.exponential(7.0, n)
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    gaps[first] = 0.0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[first], size)
    return visit, starts[visit] + offset


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(rng.normal(0.0, sigma, n))


class _Day:
    """One generated day: a column per log field, filled route family by route family.

    The methods run in a fixed order (``__init__`` calls them) and draw from one
    generator, so a seed gives the same bytes.
    """

    def __init__(self, lines: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.cat = _Catalog(rng)
        self.n = lines
        self._who_and_when()
        self._columns()
        self._pages()
        self._referers()
        self._next_data()
        self._catalog_api()
        self._search()
        self._cart()
        self._recommendations()
        self._orders()
        js = "application/javascript; charset=UTF-8"
        self._files("js", self.cat.js[:-2], js)
        self._files("build", self.cat.js[-2:], js)
        self._files("css", self.cat.css, "text/css; charset=UTF-8")
        self._images()
        self._noise()
        self._outcomes()
        self._times()

    # who asks, and when ---------------------------------------------------------------
    def _who_and_when(self) -> None:
        rng, cat, lines = self.rng, self.cat, self.n
        n_monitor = max(1, round(lines * 0.0096))
        n_scan = max(1, round(lines * 0.005)) if lines >= 200 else 0
        n_bot = round(lines * 0.03)
        n_browser = lines - n_monitor - n_scan - n_bot
        visit, t_browser = _visits(n_browser, rng)
        n_visits = int(visit.max()) + 1 if n_browser else 0
        first = np.ones(n_browser, dtype=bool)
        first[1:] = visit[1:] != visit[:-1]

        visitors = max(20, int(n_visits * 0.7))
        v_ua = rng.choice(len(_BROWSERS), size=visitors, p=_p([w for _, w, _ in _BROWSERS]))
        v_mobile = np.array([_BROWSERS[u][2] for u in v_ua])
        v_net = np.where(v_mobile, rng.choice(_MOBILE, visitors), rng.choice(_BROADBAND, visitors))
        octets = zip(rng.integers(0, 256, visitors), rng.integers(1, 255, visitors), strict=True)
        v_ip = np.array(
            [f"{net}.{a}.{b}" for net, (a, b) in zip(v_net, octets, strict=True)], dtype=object
        )
        v_user = rng.integers(0, len(cat.users), visitors)
        who = rng.choice(visitors, size=n_visits, p=_p(1 / (np.arange(visitors) + 5) ** 0.9))
        first_page = [_CODE[c] for c, _ in _FIRST_PAGE]
        then = [_CODE[c] for c, _ in _CLASSES]
        cls_browser = np.where(
            first,
            rng.choice(first_page, n_browser, p=_p([w for _, w in _FIRST_PAGE])),
            rng.choice(then, n_browser, p=_p([w for _, w in _CLASSES])),
        )

        bot_kind = rng.choice(len(_BOTS), n_bot, p=_p([w for _, w, _ in _BOTS]))
        t_bot = rng.uniform(0, _DAY, n_bot)
        crawled = [_CODE["product"], _CODE["blog"], _CODE["home"], _CODE["img"]]
        cls_bot = rng.choice(crawled, n_bot, p=[0.7, 0.15, 0.05, 0.1])

        bursts = max(1, round(n_scan / 18)) if n_scan else 0
        burst_of = np.sort(rng.integers(0, bursts, n_scan)) if n_scan else np.zeros(0, int)
        burst_t = rng.uniform(0, _DAY - 120, max(bursts, 1))
        t_scan = burst_t[burst_of] + rng.uniform(0, 60, n_scan)
        scan_ip = [
            f"{rng.choice(_SCANNER_NETS)}.{rng.integers(1, 255)}" for _ in range(max(bursts, 1))
        ]
        scan_ua = rng.integers(0, len(_SCANNER_UAS), max(bursts, 1))
        scan_host = rng.random(max(bursts, 1)) < 0.5

        t_monitor = (np.arange(n_monitor) + 0.5) * _DAY / n_monitor
        t_monitor += rng.uniform(0, 0.3, n_monitor)

        n = lines
        self.start = np.concatenate([t_browser, t_bot, t_scan, t_monitor])
        self.cls = np.concatenate(
            [
                cls_browser,
                cls_bot,
                np.full(n_scan, _CODE["scan"]),
                np.full(n_monitor, _CODE["monitor"]),
            ]
        )
        self.is_bot = np.zeros(n, dtype=bool)
        self.is_bot[n_browser : n_browser + n_bot] = True
        self.n_browser, self.visit, self.first = n_browser, visit, first
        self.mobile = np.zeros(n, dtype=bool)
        self.ip = np.empty(n, dtype=object)
        self.ua = np.empty(n, dtype=object)
        self.host = np.full(n, HOST, dtype=object)
        self.proto = np.full(n, "HTTP/1.1", dtype=object)
        self.user = np.zeros(n, dtype=int)
        if n_browser:
            vis = who[visit]
            self.mobile[:n_browser] = v_mobile[vis]
            self.ip[:n_browser] = v_ip[vis]
            self.ua[:n_browser] = np.array([b[0] for b in _BROWSERS], dtype=object)[v_ua[vis]]
            self.proto[:n_browser] = "HTTP/2.0"
            self.user[:n_browser] = v_user[vis]
        b = slice(n_browser, n_browser + n_bot)
        self.ip[b] = [f"{_BOTS[k][2]}.{rng.integers(1, 255)}" for k in bot_kind]
        self.ua[b] = [_BOTS[k][0] for k in bot_kind]
        s = slice(n_browser + n_bot, n_browser + n_bot + n_scan)
        self.ip[s] = [scan_ip[k] for k in burst_of]
        self.ua[s] = [_SCANNER_UAS[scan_ua[k]] for k in burst_of]
        self.host[s] = [_SERVER_ADDR if scan_host[k] else HOST for k in burst_of]
        self.ip[n - n_monitor :] = _MONITOR[0]
        self.ua[n - n_monitor :] = _MONITOR[1]

    def _columns(self) -> None:
        n = self.n
        self.method = np.full(n, "GET", dtype=object)
        self.uri = np.empty(n, dtype=object)
        self.referer = np.full(n, "-", dtype=object)
        self.status = np.full(n, 200)
        self.raw = np.zeros(n)  # body bytes before gzip
        self.ratio = np.ones(n)  # gzip ratio, if gzip'd
        self.zipped = np.zeros(n, dtype=bool)  # text that nginx gzips (if ≥ 1000 bytes)
        self.upstream = np.full(n, np.nan)  # ms; NaN: no upstream asked
        self.cache = np.full(n, "-", dtype=object)
        self.ctype = np.full(n, "-", dtype=object)
        self.header = np.full(n, 238)  # response header bytes, less Content-Length's digits
        self.landing = np.full(n, "/", dtype=object)

    def _pick(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.cls == _CODE[name])

    def _page_cache(self, m: int, bots: np.ndarray) -> np.ndarray:
        states = np.array(["HIT", "MISS", "EXPIRED", "STALE", "UPDATING"], dtype=object)
        people = self.rng.choice(5, m, p=[0.5, 0.3, 0.15, 0.03, 0.02])
        crawl = self.rng.choice(5, m, p=[0.2, 0.65, 0.15, 0.0, 0.0])
        return states[np.where(bots, crawl, people)]

    def _json(self, idx: np.ndarray, ctype: str = _NEXT_JSON) -> None:
        self.ctype[idx] = ctype
        self.zipped[idx] = True

    # what they ask for --------------------------------------------------------------------
    def _pages(self) -> None:
        rng, cat = self.rng, self.cat
        for name in ("home", "product", "blog", "cart"):
            idx = self._pick(name)
            m = len(idx)
            if name == "home":
                self.uri[idx] = "/"
                self.raw[idx] = 68_000 * np.exp(rng.normal(0, 0.03, m))
                self.ratio[idx] = rng.uniform(5.0, 5.4, m)
                med = 95.0
            elif name == "product":
                k = np.where(
                    self.is_bot[idx],
                    rng.integers(0, len(cat.slugs), m),
                    rng.choice(len(cat.slugs), m, p=cat.slug_p),
                )
                color = rng.random(m) < 0.05
                self.uri[idx] = [
                    f"/products/{cat.slugs[j]}" + (f"?color={_COLORS[j % 20]}" if c else "")
                    for j, c in zip(k, color, strict=True)
                ]
                self.raw[idx] = cat.slug_html[k] * np.exp(rng.normal(0, 0.02, m))
                self.ratio[idx] = rng.uniform(4.6, 5.4, m)
                med = 140.0
            elif name == "blog":
                k = rng.choice(len(cat.posts), m, p=cat.post_p)
                self.uri[idx] = [f"/blog/{cat.posts[j]}" for j in k]
                self.raw[idx] = cat.post_html[k]
                self.ratio[idx] = rng.uniform(3.6, 4.1, m)
                med = 60.0
            else:
                self.uri[idx] = "/cart"
                self.raw[idx] = 25_000 * np.exp(rng.normal(0, 0.1, m))
                self.ratio[idx] = rng.uniform(4.5, 5.0, m)
                med = 70.0
            self.landing[idx] = self.uri[idx]
            self.ctype[idx] = _HTML
            self.zipped[idx] = True
            self.header[idx] = 322 if name == "cart" else 305
            self.cache[idx] = "BYPASS" if name == "cart" else self._page_cache(m, self.is_bot[idx])
            self.upstream[idx] = _lognormal(rng, med, 0.5, m)

    def _referers(self) -> None:
        """A visit starts from a search engine (or nothing); the rest come from its page."""
        nb = self.n_browser
        if not nb:
            return
        land = self.landing[np.flatnonzero(self.first)][self.visit]
        outside = [r for r, _ in _REFERRERS]
        self.referer[:nb] = np.where(
            self.first,
            self.rng.choice(outside, nb, p=_p([w for _, w in _REFERRERS])),
            np.char.add(f"https://{HOST}", np.asarray(land, dtype=str)).astype(object),
        )

    def _next_data(self) -> None:
        rng, cat = self.rng, self.cat
        idx = self._pick("data")
        m = len(idx)
        k = rng.choice(len(cat.slugs), m, p=cat.slug_p)
        self.uri[idx] = [f"/_next/data/{BUILD_ID}/products/{cat.slugs[j]}.json" for j in k]
        self.raw[idx] = cat.slug_json[k] * np.exp(rng.normal(0, 0.02, m))
        self.ratio[idx] = rng.uniform(4.2, 4.9, m)
        self._json(idx, "application/json")
        self.cache[idx] = self._page_cache(m, np.zeros(m, dtype=bool))
        self.upstream[idx] = _lognormal(rng, 110.0, 0.5, m)

    def _catalog_api(self) -> None:
        """Planted problem 3: JSON:API that ``gzip_types`` misses."""
        rng, cat = self.rng, self.cat
        idx = self._pick("api_products")
        m = len(idx)
        k = rng.choice(cat.ids, m, p=cat.id_p)
        self.uri[idx] = [f"/api/products/{j + 1}" for j in k]
        self.raw[idx] = cat.id_bytes[k] + rng.normal(0, 30, m)
        self.ctype[idx] = "application/vnd.api+json"  # never zipped
        self.upstream[idx] = _lognormal(rng, 38.0, 0.55, m)
        gone = idx[rng.random(m) < 0.01]
        self.status[gone] = 404
        self.raw[gone] = 96

    def _search(self) -> None:
        """Planted problem 1: slow; the slowest are abandoned by the client (499)."""
        rng, cat = self.rng, self.cat
        idx = self._pick("api_search")
        m = len(idx)
        terms = rng.choice(len(_SEARCH_TERMS), m, p=cat.terms_p)
        page = np.where(rng.random(m) < 0.15, rng.integers(2, 5, m), 1)
        self.uri[idx] = [
            f"/api/search?q={_SEARCH_TERMS[t].replace(' ', '+')}" + (f"&page={p}" if p > 1 else "")
            for t, p in zip(terms, page, strict=True)
        ]
        self.raw[idx] = _lognormal(rng, 9_000.0, 0.4, m)
        self.ratio[idx] = rng.uniform(5.0, 6.0, m)
        self._json(idx)
        self.upstream[idx] = np.minimum(_lognormal(rng, *_SEARCH_MS, m), 9_500.0)
        gave_up = idx[(self.upstream[idx] > 3_000) & (rng.random(m) < 0.5)]
        self.status[gave_up] = 499
        self.raw[gave_up] = 0
        self.ctype[gave_up] = "-"

    def _cart(self) -> None:
        for name, verb in (("api_cart_get", "GET"), ("api_cart_post", "POST")):
            idx = self._pick(name)
            m = len(idx)
            self.method[idx] = verb
            self.uri[idx] = "/api/cart"
            low, high = (150, 950) if verb == "GET" else (200, 600)
            self.raw[idx] = self.rng.uniform(low, high, m)  # under gzip_min_length
            self._json(idx)
            self.cache[idx] = "BYPASS"
            self.upstream[idx] = _lognormal(self.rng, 25.0 if verb == "GET" else 45.0, 0.5, m)

    def _recommendations(self) -> None:
        """Planted problem 2: 502/504 all day, and a burst from 14:00 to 14:40."""
        rng, cat = self.rng, self.cat
        idx = self._pick("api_recs")
        m = len(idx)
        k = rng.choice(len(cat.slugs), m, p=cat.slug_p)
        self.uri[idx] = [f"/api/recommendations?product={cat.slugs[j]}&limit=8" for j in k]
        self.raw[idx] = _lognormal(rng, 7_000.0, 0.25, m)
        self.ratio[idx] = rng.uniform(4.6, 5.4, m)
        self._json(idx)
        self.upstream[idx] = _lognormal(rng, 85.0, 0.45, m)
        t = self.start[idx]
        in_burst = (t >= _BURST[0]) & (t < _BURST[1])
        failed = rng.random(m) < np.where(in_burst, _BURST_RATE, _BACKGROUND_ERRORS)
        timeout = failed & (rng.random(m) < 0.55)
        refused = failed & ~timeout
        self.status[idx[timeout]] = 504
        self.status[idx[refused]] = 502
        self.upstream[idx[timeout]] = 5_000 + rng.integers(0, 3, int(timeout.sum()))
        self.upstream[idx[refused]] = rng.integers(0, 2, int(refused.sum()))

    def _orders(self) -> None:
        """Planted problem 4: big, unpaginated, and growing through the day."""
        rng, cat = self.rng, self.cat
        idx = self._pick("api_orders")
        m = len(idx)
        self.uri[idx] = [f"/api/users/{cat.users[u]}/orders" for u in self.user[idx]]
        t = self.start[idx]
        hour = (t // 3600).astype(int).clip(0, 23)
        noise = np.exp(rng.normal(0, 0.03, 24))
        level = _ORDERS_BYTES * (1 + _ORDERS_GROWTH * t / _DAY) * noise[hour]
        body = level * np.exp(rng.normal(0, 0.4, m))  # gzip'd
        self.ratio[idx] = rng.uniform(6.0, 7.5, m)
        self.raw[idx] = body * self.ratio[idx]
        self._json(idx)
        self.cache[idx] = "BYPASS"
        self.upstream[idx] = _lognormal(rng, 150.0, 0.45, m) * (body / 60_000) ** 0.2

    def _files(self, name: str, table: list[tuple[str, float, float, float]], ctype: str) -> None:
        """Hashed JavaScript and CSS: proxy-cached, nearly always a HIT."""
        idx = self._pick(name)
        m = len(idx)
        k = self.rng.choice(len(table), m, p=_p([w for *_, w in table]))
        self.uri[idx] = [table[j][0] for j in k]
        self.raw[idx] = [table[j][1] for j in k]
        self.ratio[idx] = [table[j][2] for j in k]
        self.ctype[idx] = ctype
        self.zipped[idx] = True
        self.header[idx] = 391
        self.cache[idx] = np.where(self.rng.random(m) < 0.955, "HIT", "MISS")
        self.upstream[idx] = _lognormal(self.rng, 4.0, 0.6, m)

    def _images(self) -> None:
        rng, images = self.rng, self.cat.images
        idx = self._pick("img")
        m = len(idx)
        k = rng.choice(len(images), m, p=_p([w for *_, w in images]))
        self.uri[idx] = [images[j][0] for j in k]
        self.raw[idx] = [images[j][1] for j in k]
        ext = np.array([images[j][0].rsplit(".", 1)[1] for j in k], dtype=str)
        types = np.select([ext == "webp", ext == "png"], ["image/webp", "image/png"], "image/jpeg")
        self.ctype[idx] = types.astype(object)
        self.header[idx] = 344
        states = np.array(["HIT", "MISS", "EXPIRED"], dtype=object)
        self.cache[idx] = rng.choice(states, m, p=[0.94, 0.04, 0.02])
        self.upstream[idx] = _lognormal(rng, 6.0, 0.6, m)

        idx = self._pick("favicon")  # nginx serves it from disk
        self.uri[idx] = "/favicon.ico"
        self.raw[idx] = 15_086
        self.ctype[idx] = "image/x-icon"
        self.header[idx] = 231

    def _noise(self) -> None:
        """Scanners (404s) and the uptime monitor's ``HEAD /``."""
        rng = self.rng
        idx = self._pick("scan")
        m = len(idx)
        paths = np.array(_SCANNER_PATHS, dtype=object)[rng.choice(len(_SCANNER_PATHS), m)]
        self.uri[idx] = paths
        post = (paths == "/wp-login.php") & (rng.random(m) < 0.5)
        self.method[idx] = np.where(post, "POST", "GET").astype(object)
        self.status[idx] = 404
        # dot-files: nginx's own 404 page (location ~ /\. { return 404; }); else Next.js's
        dot = np.array(["/." in p for p in paths], dtype=bool)
        self.raw[idx] = np.where(dot, 153, 2_380)
        self.ratio[idx] = 2.4
        self.ctype[idx] = np.where(dot, "text/html", _HTML).astype(object)
        self.zipped[idx] = ~dot
        self.header[idx] = np.where(dot, 148, 296)
        self.cache[idx] = np.where(dot, "-", "MISS").astype(object)
        self.upstream[idx] = np.where(dot, np.nan, _lognormal(rng, 18.0, 0.5, m))

        idx = self._pick("monitor")
        self.method[idx] = "HEAD"
        self.uri[idx] = "/"
        self.ctype[idx] = _HTML
        self.cache[idx] = "HIT"

    # what they get ------------------------------------------------------------------------
    def _outcomes(self) -> None:
        """Cache hits, revalidations (304), missing pages, failures; bodies and bytes."""
        rng, n, cls, status, raw = self.rng, self.n, self.cls, self.status, self.raw
        served = np.isin(self.cache, ["HIT", "STALE", "UPDATING"])
        self.upstream[served] = np.nan
        html_pages = np.isin(cls, [_CODE[c] for c in ("home", "product", "blog")])
        revalidated = (
            (html_pages & served & (rng.random(n) < 0.03))
            | ((cls == _CODE["img"]) & (rng.random(n) < 0.04))
            | ((cls == _CODE["favicon"]) & (rng.random(n) < 0.12))
        )
        status[revalidated] = 304
        missing = (cls == _CODE["product"]) & ~served & (rng.random(n) < 0.006)
        status[missing] = 404
        raw[missing] = 2_380
        broken = html_pages & ~served & (status == 200) & (rng.random(n) < 0.001)
        status[broken] = 500
        raw[broken] = 2_150
        missing = (cls == _CODE["data"]) & ~served & (rng.random(n) < 0.003)
        status[missing] = 404
        raw[missing] = 23

        raw[(status == 304) | (self.method == "HEAD") | (status == 499)] = 0
        gz = self.zipped & (raw >= 1000) & np.isin(status, [200, 404, 500])
        ratio = np.where(gz, self.ratio, 1.0)
        body = np.where(gz, np.ceil(raw / ratio), np.round(raw)).astype(np.int64)
        errors = (status == 502) | (status == 504)  # nginx's own error pages
        body[errors] = np.where(status[errors] == 502, 157, 167)
        raw[errors] = body[errors]
        self.ctype[errors] = "text/html"
        self.header[errors] = 148
        self.header[status == 304] = 196
        gz &= ~errors
        # gzip adds Content-Encoding and Vary and drops Content-Length (chunked)
        digits = np.char.str_len(body.astype(str)).astype(np.int64)
        sent = body + self.header + np.where(gz, 41, digits)
        sent[status == 304] = self.header[status == 304]
        sent[status == 499] = 0
        self.body, self.bytes_sent, self.gz = body, sent, gz

    def _times(self) -> None:
        """Upstream times (with retries), request times, and when each line was written."""
        rng, n, status = self.rng, self.n, self.status
        asked = ~np.isnan(self.upstream)
        up_ms = np.where(asked, np.round(self.upstream), 0).astype(np.int64)
        # a connection error on the first upstream entry, then the next one answers
        retry = asked & np.isin(self.cls, [_CODE[c] for c in _NAMES if c.startswith("api")])
        retry &= (status < 500) & (rng.random(n) < 0.003)
        first_try = rng.integers(1, 30, n)
        up_ms[retry] += first_try[retry]
        both_refused = (status == 502) & (up_ms == 0)  # both servers of the service refused
        up_ms[both_refused] = 1
        socket = np.maximum(self.body - 64_000, 0)  # what the socket buffer cannot take
        rate = np.where(self.mobile, 1_500.0, 6_000.0)  # bytes per ms
        rt_ms = up_ms + np.round(socket / rate).astype(np.int64) + rng.integers(0, 2, n)
        rt_ms[status == 499] = up_ms[status == 499]
        self.rt_ms = rt_ms
        self.end = np.minimum(self.start + rt_ms / 1000.0, _DAY - 0.001)
        text = np.full(n, "-", dtype=object)
        for i in np.flatnonzero(asked):
            u = up_ms[i]
            if retry[i]:
                text[i] = f"{first_try[i] / 1000:.3f}, {(u - first_try[i]) / 1000:.3f}"
            elif both_refused[i]:
                text[i] = "0.001, 0.000"
            else:
                text[i] = f"{u / 1000:.3f}"
        self.upstream_text = text

    def text(self) -> bytes:
        """The lines, in the order nginx wrote them (when each request ended)."""
        gzip_text = np.full(self.n, "-", dtype=object)
        gzip_text[self.gz] = [f"{r:.2f}" for r in self.raw[self.gz] / self.body[self.gz]]
        sec = self.end.astype(np.int64)
        out = []
        for i in np.argsort(self.end, kind="stable"):
            t, rt = sec[i], self.rt_ms[i]
            out.append(
                f"{self.ip[i]} - - [30/Nov/2026:{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d} "
                f'+0000] "{self.method[i]} {self.uri[i]} {self.proto[i]}" {self.status[i]} '
                f'{self.body[i]} "{self.referer[i]}" "{self.ua[i]}" {rt // 1000}.{rt % 1000:03d} '
                f"{self.upstream_text[i]} {self.cache[i]} {self.bytes_sent[i]} {gzip_text[i]} "
                f'"{self.ctype[i]}" {self.host[i]}\n'
            )
        return "".join(out).encode()


def day_log(lines: int = DAY_LINES, seed: int = 9) -> bytes:
    """A seeded day of nginx access log for the shop (see the module docstring).

    Parameters
    ----------
    lines : int
        Lines in the log; the shares, the diurnal curve and the planted problems do
        not depend on it (give at least a few thousand for them to show).
    seed : int
        Seed: the same arguments give the same bytes.

    Returns
    -------
    bytes
        The log, uncompressed, UTF-8, one request a line in the order nginx writes
        them (by the time each ended), in the format of
        ``data/sample/api/log_format.txt``.

    Examples
    --------
    >>> log = day_log(lines=300)
    >>> log == day_log(lines=300), log.count(b"\\n")
    (True, 300)
    >>> all(b" [30/Nov/2026:" in line for line in log.splitlines())
    True
    """
    if lines < 1:
        from perflab.errors import ParameterError

        raise ParameterError(f"lines must be ≥ 1, not {lines}")
    return _Day(lines, np.random.default_rng(seed)).text()


def _route(page: str, keys: list[str], data: bool = False) -> dict[str, Any]:
    """One manifest entry the way ``next build`` writes it (pages router, Next.js 15)."""
    parts, named = [], []
    for seg in page.strip("/").split("/"):
        if seg.startswith("[") and seg.endswith("]"):
            parts.append("([^/]+?)")
            named.append(f"(?<nxtP{seg[1:-1]}>[^/]+?)")
        else:
            esc = seg.replace("-", "\\-")
            parts.append(esc)
            named.append(esc)
    path = "/" + "/".join(parts) if page != "/" else "/"
    npath = "/" + "/".join(named) if page != "/" else "/"
    route_keys = {f"nxtP{k}": f"nxtP{k}" for k in keys}
    if not data:
        return {
            "page": page,
            "regex": f"^{path}(?:/)?$",
            "routeKeys": route_keys,
            "namedRegex": f"^{npath}(?:/)?$",
        }
    base = f"^/_next/data/{BUILD_ID}"
    if not keys:
        return {"page": page, "dataRouteRegex": f"{base}{'/index' if page == '/' else path}.json$"}
    return {
        "page": page,
        "routeKeys": route_keys,
        "dataRouteRegex": f"{base}{path}\\.json$",
        "namedDataRouteRegex": f"{base}{npath}\\.json$",
    }


def routes_manifest() -> dict[str, Any]:
    """The shop's ``.next/routes-manifest.json`` (see the module docstring).

    Returns
    -------
    dict
        The manifest as ``next build`` writes it: ``version`` 3, ``staticRoutes``,
        ``dynamicRoutes`` and ``dataRoutes`` in Next.js's order, ``rsc`` and the rest.

    Examples
    --------
    >>> m = routes_manifest()
    >>> [r["page"] for r in m["dynamicRoutes"]]
    ['/api/users/[id]/orders', '/blog/[slug]', '/products/[slug]']
    >>> m["dynamicRoutes"][2]["regex"], m["dynamicRoutes"][2]["namedRegex"]
    ('^/products/([^/]+?)(?:/)?$', '^/products/(?<nxtPslug>[^/]+?)(?:/)?$')
    """
    return {
        "version": 3,
        "pages404": True,
        "caseSensitive": False,
        "basePath": "",
        "redirects": [
            {
                "source": "/:path+/",
                "destination": "/:path+",
                "internal": True,
                "statusCode": 308,
                "regex": "^(?:/((?:[^/]+?)(?:/(?:[^/]+?))*))/$",
            }
        ],
        "headers": [],
        "rewrites": {"beforeFiles": [], "afterFiles": [], "fallback": []},
        "dynamicRoutes": [
            _route("/api/users/[id]/orders", ["id"]),
            _route("/blog/[slug]", ["slug"]),
            _route("/products/[slug]", ["slug"]),
        ],
        "staticRoutes": [_route(p, []) for p in ("/", "/404", "/api/cart", "/api/search", "/cart")],
        "dataRoutes": [
            _route("/", [], data=True),
            _route("/blog/[slug]", ["slug"], data=True),
            _route("/products/[slug]", ["slug"], data=True),
        ],
        "rsc": {
            "header": "rsc",
            "varyHeader": "rsc, next-router-state-tree, next-router-prefetch, "
            "next-router-segment-prefetch",
            "prefetchHeader": "next-router-prefetch",
            "didPostponeHeader": "x-nextjs-postponed",
            "contentTypeHeader": "text/x-component",
            "suffix": ".rsc",
            "prefetchSuffix": ".prefetch.rsc",
            "prefetchSegmentHeader": "next-router-segment-prefetch",
            "prefetchSegmentSuffix": ".segment.rsc",
            "prefetchSegmentDirSuffix": ".segments",
        },
        "rewriteHeaders": {
            "pathHeader": "x-nextjs-rewritten-path",
            "queryHeader": "x-nextjs-rewritten-query",
        },
    }


def write_samples(dest: str | Path, *, lines: int = DAY_LINES) -> list[Path]:
    """Write the generated API samples under ``dest/api/``; return their paths.

    Parameters
    ----------
    dest : str or Path
        The sample folder (``data/sample``); ``api/`` is created under it. Files are
        written atomically, replacing earlier generated ones; the real captures
        beside them are not touched.
    lines : int
        Lines of ``day.log.gz`` (default :data:`DAY_LINES`; tests make small ones).

    Returns
    -------
    list of Path
        ``dest/api/day.log.gz`` (:func:`day_log`, gzip -9 with no name and time 0,
        so the same bytes every call) and ``dest/api/routes-manifest.json``
        (:func:`routes_manifest`, indented like ``next build`` 15 writes it).

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_samples(tempfile.mkdtemp(), lines=200)]
    ['day.log.gz', 'routes-manifest.json']
    """
    out = Path(dest) / "api"
    log = gzip.compress(day_log(lines), compresslevel=9, mtime=0)
    manifest = json.dumps(routes_manifest(), indent=2, ensure_ascii=False) + "\n"
    return [write_atomic(out / DAY_LOG, log), write_atomic(out / ROUTES_MANIFEST, manifest)]

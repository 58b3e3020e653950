"""perflab's access-log pipeline against GoAccess, on the same nginx log, in the same run.

The log is generated (seeded, into a temporary directory): ``--lines`` lines (default
1,000,000) of one day of API and web traffic in the nginx format :data:`LOG_FORMAT`
(``combined`` plus ``$request_time``, the quoted ``$upstream_response_time`` list and
``$upstream_cache_status``). Paths come from :data:`ROUTES` — 50 route templates with
integer ids, UUIDs, hex hashes and slugs, picked with Zipf popularity — with per-route
log-normal latencies, statuses, sizes, realistic user agents and referers, a diurnal
arrival curve, cache hits without an upstream, a few retried upstreams
(``"0.004, 0.011"``) and the odd lines real logs hold (TLS handshakes on the HTTP port
written as ``\\x16\\x03…``, ``"-"`` requests of timed-out connections, escaped quotes).

Timed, ``--rounds`` times each, the tools taking turns, medians printed:

* **perflab** — ``read_nginx_log`` → ``template_routes`` → ``endpoints`` (requests,
  error rate, p50/p95/p99 per method and route) in a child process, on one core
  (``taskset -c 0``, ``POLARS_MAX_THREADS=1``, ``NUMBA_NUM_THREADS=1``) and with all
  cores; the figure is the time of the three calls, after a first call on 20,000
  lines (numba's and polars' one-time start, ~1 s); the whole process (interpreter,
  imports, that first call) is printed beside it, and the same calls run again in the
  same process (memory pages already touched: a first touch is dear in a VM). Were
  ``template_routes`` or ``endpoints`` missing, a stand-in (ids, UUIDs and hashes
  replaced by ``{id}`` with one regex, then a group-by with the same statistics) would
  be timed, and said so;
* **GoAccess** — ``goaccess --log-format=… -o report.json`` on one core (``taskset -c
  0``; GoAccess 1.7 parses on one thread and has no ``--jobs``): its default panels, as
  a user runs it, and
  a lean run with every panel but requests, static requests, not-found and status codes
  ignored (``--ignore-panel``), which is the least work it can do and still report
  per-URL times. Both process the same file, with ``%T`` so they compute their
  average/maximum times per URL.

Printed: lines per second for each, the ratios (against both GoAccess runs), and
whether the issue's targets (≥ 500,000 lines/s on one core; ≥ 10× GoAccess) are met;
how much other work competed for the CPU meanwhile (every figure, both tools', slows
with it); then a cross-check that both did the same work — total requests,
2xx/3xx/4xx/5xx counts, and for the busiest URLs of GoAccess's requests panel its hits,
total, average and maximum time against perflab's count, sum, mean and maximum of
``duration_ms`` for the same method, path and query (GoAccess decodes ``%XX`` in URLs
and reads ``%T`` through a float, so its times may be 1 µs short).

Run: ``.venv/bin/python benchmarks/bench_api.py [--lines 1000000] [--rounds 5]
[--keep DIR]``. Needs the Debian package ``goaccess`` (skipped with a message when it
is missing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import numpy as np

LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time "$upstream_response_time" '
    '"$upstream_cache_status"'
)
"""The nginx ``log_format`` of the generated log."""

GOACCESS_FORMAT = '%h - %e [%d:%t %^] "%r" %s %b "%R" "%u" %T "%^" "%^"'
"""The same format in GoAccess's words (upstream time and cache status skipped)."""

LEAN_PANELS = ("REQUESTS", "REQUESTS_STATIC", "NOT_FOUND", "STATUS_CODES")
ALL_PANELS = (
    "VISITORS", "REQUESTS", "REQUESTS_STATIC", "NOT_FOUND", "HOSTS", "OS", "BROWSERS",
    "VISIT_TIMES", "VIRTUAL_HOSTS", "REFERRERS", "REFERRING_SITES", "KEYPHRASES",
    "STATUS_CODES", "REMOTE_USER", "CACHE_STATUS", "GEO_LOCATION", "MIME_TYPE", "TLS_TYPE",
)  # fmt: skip

# (method, template, median ms, share of 5xx) — {id} int, {uuid}, {hash}, {slug}, {sha}
ROUTES: list[tuple[str, str, float, float]] = [
    ("GET", "/api/v1/products/{id}", 18, 0.002),
    ("GET", "/api/v1/products", 35, 0.002),
    ("GET", "/", 12, 0.0005),
    ("GET", "/static/js/app.{hash}.js", 1.5, 0.0),
    ("GET", "/api/v1/users/{id}", 14, 0.001),
    ("GET", "/static/css/main.{hash}.css", 1.2, 0.0),
    ("GET", "/api/v1/search", 120, 0.006),
    ("GET", "/products/{slug}", 45, 0.001),
    ("GET", "/api/v1/cart/{uuid}", 22, 0.002),
    ("POST", "/api/v1/cart/{uuid}/items", 48, 0.004),
    ("GET", "/images/{sha}.webp", 2.0, 0.0),
    ("GET", "/api/v1/users/{id}/orders", 65, 0.003),
    ("GET", "/api/v1/orders/{uuid}", 30, 0.002),
    ("GET", "/health", 0.8, 0.0),
    ("POST", "/api/v1/events", 6, 0.001),
    ("GET", "/api/v1/categories/{id}/products", 55, 0.002),
    ("GET", "/category/{slug}", 60, 0.001),
    ("POST", "/api/v1/auth/login", 180, 0.003),
    ("GET", "/api/v1/recommendations/{id}", 240, 0.01),
    ("GET", "/api/v1/reviews/{id}", 26, 0.002),
    ("PUT", "/api/v1/cart/{uuid}/items/{id}", 40, 0.004),
    ("DELETE", "/api/v1/cart/{uuid}/items/{id}", 32, 0.003),
    ("GET", "/api/v2/inventory/{id}", 9, 0.001),
    ("GET", "/favicon.ico", 0.5, 0.0),
    ("POST", "/api/v1/orders", 420, 0.012),
    ("GET", "/api/v1/orders/{uuid}/status", 16, 0.001),
    ("GET", "/static/fonts/inter.{hash}.woff2", 1.0, 0.0),
    ("GET", "/blog/{slug}", 70, 0.001),
    ("GET", "/api/v1/users/{id}/wishlist", 28, 0.002),
    ("POST", "/api/v1/users/{id}/wishlist", 36, 0.003),
    ("GET", "/api/v1/stores/{id}/availability", 85, 0.004),
    ("GET", "/api/v1/shipping/quote", 150, 0.008),
    ("POST", "/api/v1/payments/{uuid}/confirm", 650, 0.02),
    ("GET", "/api/v1/payments/{uuid}", 45, 0.003),
    ("GET", "/robots.txt", 0.5, 0.0),
    ("GET", "/sitemap.xml", 90, 0.0),
    ("PATCH", "/api/v1/users/{id}", 38, 0.002),
    ("GET", "/api/v1/users/{id}/addresses", 20, 0.001),
    ("POST", "/api/v1/users/{id}/addresses", 42, 0.003),
    ("GET", "/api/v1/coupons/{slug}", 12, 0.001),
    ("GET", "/api/v1/products/{id}/related", 130, 0.005),
    ("GET", "/api/v1/products/{id}/images/{id}", 8, 0.001),
    ("GET", "/downloads/invoice-{id}.pdf", 210, 0.004),
    ("POST", "/api/v1/newsletter", 25, 0.002),
    ("GET", "/api/v1/feature-flags", 4, 0.0005),
    ("GET", "/api/internal/metrics", 3, 0.0),
    ("POST", "/graphql", 95, 0.006),
    ("GET", "/api/v1/exports/{uuid}", 1800, 0.03),
    ("GET", "/account/orders/{id}", 55, 0.001),
    ("OPTIONS", "/api/v1/products", 0.6, 0.0),
]
QUERIES = {
    "/api/v1/products": ["page={n}", "page={n}&sort=price", "category={n}&page=1"],
    "/api/v1/search": ["q=shoes", "q=red+dress&page={n}", "q=%E2%9C%93+tick", "q=usb-c+cable"],
    "/api/v1/shipping/quote": ["zip=10{n}&country=US", "zip=75{n}&country=FR"],
    "/api/v1/categories/{id}/products": ["page={n}", ""],
}
SLUGS = [
    "running-shoes", "red-summer-dress", "usb-c-cable-2m", "winter-sale", "how-we-ship",
    "black-friday-2026", "organic-coffee-beans", "wireless-earbuds-pro", "yoga-mat",
    "kids-backpack", "spring-collection", "gift-ideas-for-him", "standing-desk",
]  # fmt: skip
AGENTS = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        30,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Safari/605.1.15",
        14,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        18,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.81 Mobile Safari/537.36",
        12,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 5),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
        6,
    ),
    ("okhttp/4.12.0", 5),
    ("MyShopApp/5.2.1 (iPhone; iOS 18.1; Scale/3.00)", 4),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 2),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 1),
    ("curl/8.5.0", 1),
    ("python-requests/2.32.3", 1),
    ("Prometheus/2.53.0", 1),
    ("-", 0.5),
]
REFERERS = [
    ("-", 40),
    ("https://shop.example.com/", 25),
    ("https://shop.example.com/products/running-shoes", 10),
    ("https://www.google.com/", 15),
    ("https://shop.example.com/cart", 6),
    ("https://t.co/Xk3a9Q", 2),
    ("android-app://com.google.android.gm/", 2),
]
ODD = [  # (request, status, bytes, request_time, upstream, cache)
    ("\\x16\\x03\\x01\\x00\\xF4\\x01\\x00\\x00\\xF0\\x03\\x03", 400, 157, "0.001", "-", "-"),
    ("-", 408, 0, "60.000", "-", "-"),
    ("GET /api/v1/products/12\\x22%20OR%201=1 HTTP/1.1", 400, 150, "0.000", "-", "-"),
]
STATUS_OK = {"GET": 200, "POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204, "OPTIONS": 204}


def _pick(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def build_log(path: Path, lines: int, seed: int = 8) -> int:
    """Write ``lines`` lines of one day of traffic in :data:`LOG_FORMAT`; return the count."""
    rng = np.random.default_rng(seed)
    n = lines
    # arrivals: a diurnal curve over one day, sorted
    sec = np.sort((rng.beta(2.2, 1.8, n) * 0.8 + rng.random(n) * 0.2) * 86_400).astype(np.int64)
    day = datetime(2026, 12, 3, tzinfo=UTC)
    stamps = [
        (day + timedelta(seconds=int(s))).strftime("%d/%b/%Y:%H:%M:%S +0000") for s in range(86_400)
    ]
    route = _pick(rng, [1.0 / (k + 1) ** 1.1 for k in range(len(ROUTES))], n)
    ips = [
        f"{a}.{b}.{c}.{d}"
        for a, b, c, d in rng.integers([1, 0, 0, 1], [224, 256, 256, 255], (20_000, 4))
    ]
    client = rng.zipf(1.3, n) % len(ips)
    agent = _pick(rng, [w for _, w in AGENTS], n)
    referer = _pick(rng, [w for _, w in REFERERS], n)
    ids = rng.zipf(1.2, n) % 5_000_000
    ids2 = rng.integers(1, 50_000, n)
    uuid_pool = [
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}".format(*row)
        for row in zip(
            rng.integers(0, 2**32, 50_000).tolist(),
            rng.integers(0, 2**16, 50_000).tolist(),
            rng.integers(0, 2**12, 50_000).tolist(),
            (rng.integers(0, 2**14, 50_000) | 0x8000).tolist(),
            rng.integers(0, 2**48, 50_000).tolist(),
            strict=True,
        )
    ]
    uuid = rng.integers(0, len(uuid_pool), n)
    hashes = [f"{h:08x}" for h in rng.integers(0, 2**32, 40).tolist()]
    shas = [f"{a:016x}{b:016x}{c:08x}" for a, b, c in rng.integers(0, 2**62, (3_000, 3))]
    hash_i = rng.integers(0, len(hashes), n)
    sha_i = rng.zipf(1.4, n) % len(shas)
    slug = rng.integers(0, len(SLUGS), n)
    qpick = rng.integers(0, 1000, n)
    median = np.array([r[2] for r in ROUTES])[route]
    dur = median * np.exp(rng.normal(0.0, 0.7, n))
    dur = np.where(rng.random(n) < 0.004, dur * rng.uniform(8, 40, n), dur)  # slow tail
    u = rng.random(n)
    err5 = np.array([r[3] for r in ROUTES])[route]
    status_roll = rng.random(n)
    cache_roll = rng.random(n)
    retry = rng.random(n) < 0.003
    size = (np.exp(rng.normal(7.5, 1.2, n))).astype(np.int64)
    odd = rng.random(n) < 0.0004  # TLS on the HTTP port, timeouts: what real logs hold
    out: list[str] = []
    write = out.append
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            method, tpl, _, _ = ROUTES[route[i]]
            p = tpl
            if "{" in p:
                p = p.replace("{uuid}", uuid_pool[uuid[i]], 1)
                p = p.replace("{id}", str(ids[i] + 1), 1).replace("{id}", str(ids2[i]), 1)
                p = p.replace("{hash}", hashes[hash_i[i]]).replace("{sha}", shas[sha_i[i]])
                p = p.replace("{slug}", SLUGS[slug[i]])
            qs = QUERIES.get(tpl)
            if qs:
                q = qs[qpick[i] % len(qs)].replace("{n}", str(qpick[i] % 40 + 1))
                if q:
                    p = f"{p}?{q}"
            r = status_roll[i]
            if r < err5[i]:
                status = (500, 502, 503, 504)[qpick[i] % 4]
            elif r < err5[i] + 0.012:
                status = 404
            elif r < err5[i] + 0.022:
                status = (400, 401, 403, 429)[qpick[i] % 4]
            elif r < err5[i] + 0.03 and method == "GET":
                status = 304
            elif r < err5[i] + 0.032 and method == "GET":
                status = 301
            else:
                status = STATUS_OK[method]
            body = 0 if status in (204, 304) else int(size[i])
            static = tpl.startswith(("/static/", "/images/", "/favicon", "/robots"))
            c = cache_roll[i]
            if status >= 400:
                cache = "-" if method != "GET" or static else "MISS"
            elif static or method != "GET" or tpl.startswith(("/health", "/api/internal")):
                cache = "-" if method != "GET" else ("HIT" if c < 0.9 else "MISS")
            else:
                cache = (
                    "HIT"
                    if c < 0.35
                    else "MISS"
                    if c < 0.85
                    else "BYPASS"
                    if c < 0.95
                    else "EXPIRED"
                )
            t = dur[i] / 1000.0
            if cache == "HIT":
                t = min(t, 0.002 + u[i] * 0.003)
                ups = "-"
            elif retry[i]:
                ups = f"{t * 0.4:.3f}, {t * 0.55:.3f}"
            else:
                ups = f"{t * 0.93:.3f}"
            if odd[i]:
                request, status, body, t, ups, cache = ODD[qpick[i] % len(ODD)]
                write(
                    f'{ips[client[i]]} - - [{stamps[sec[i]]}] "{request}" {status} {body} "-" '
                    f'"-" {t} "{ups}" "{cache}"\n'
                )
                continue
            write(
                f'{ips[client[i]]} - - [{stamps[sec[i]]}] "{method} {p} HTTP/1.1" {status} '
                f'{body} "{REFERERS[referer[i]][0]}" "{AGENTS[agent[i]][0]}" {t:.3f} '
                f'"{ups}" "{cache}"\n'
            )
            if len(out) >= 50_000:
                fh.write("".join(out))
                out.clear()
        fh.write("".join(out))
    return n


# --------------------------------------------------------------------------- the runs

PERFLAB = r"""
import json, sys, time
t_import = time.perf_counter()
import polars as pl
from perflab.api import read_nginx_log
try:
    from perflab.api import endpoints, template_routes
    stand_in = False
except ImportError:  # not there yet: a crude stand-in with the same statistics
    stand_in = True
log, warm, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
imports = time.perf_counter() - t_import


def summarise(df):
    if not stand_in:
        t0 = time.perf_counter()
        routed = template_routes(df)
        t1 = time.perf_counter()
        table = endpoints(routed)
        return table, t1 - t0, time.perf_counter() - t1
    t0 = time.perf_counter()
    ids = r"/(?:[0-9]+|[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{8,})(?:\.|/|$)"
    routed = df.with_columns(route=pl.col("path").str.replace_all(ids, "/{id}/"))
    t1 = time.perf_counter()
    table = routed.group_by("method", "route").agg(
        requests=pl.len(),
        error_rate=(pl.col("status") >= 500).mean(),
        p50_ms=pl.col("duration_ms").quantile(0.5),
        p95_ms=pl.col("duration_ms").quantile(0.95),
        p99_ms=pl.col("duration_ms").quantile(0.99),
        size_p50_bytes=pl.col("bytes").median(),
    )
    return table, t1 - t0, time.perf_counter() - t1


w0 = time.perf_counter()
summarise(read_nginx_log(warm, fmt))  # the first call: numba's start, polars' pools
warmup = time.perf_counter() - w0
c0, t0 = time.process_time(), time.perf_counter()
df = read_nginx_log(log, fmt)
read = time.perf_counter() - t0
table, template, stats = summarise(df)
rows, routes = df.height, table.height
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
del df, table
t1 = time.perf_counter()
summarise(read_nginx_log(log, fmt))  # again: memory the first run touched is reused
again = time.perf_counter() - t1
print(json.dumps({"rows": rows, "routes": routes, "read": read, "template": template,
                  "endpoints": stats, "wall": wall, "cpu": cpu, "imports": imports,
                  "warmup": warmup, "again": again, "stand_in": stand_in}))
"""


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one child process (its own ``wait4``)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{stderr[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, stdout


def contention() -> tuple[float, int]:
    """(seconds tasks waited for a CPU, stolen CPU ticks) so far on this machine.

    From ``/proc/pressure/cpu`` ("some" stall) and ``/proc/stat`` (steal); zeros where
    they are missing. Other work on the machine, or a VM host running its other guests
    on our cores, slows every figure here — perflab's and GoAccess's alike.
    """
    waited, stolen = 0.0, 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        some = Path("/proc/pressure/cpu").read_text().split("\n")[0]
        waited = int(some.rsplit("total=", 1)[1]) / 1e6
    with contextlib.suppress(OSError, ValueError, IndexError):
        stolen = int(Path("/proc/stat").read_text().split("\n")[0].split()[8])
    return waited, stolen


def pinned(cmd: list[str]) -> list[str]:
    """``cmd`` on core 0 (``taskset -c 0``) when taskset is there."""
    return ["taskset", "-c", "0", *cmd] if shutil.which("taskset") else cmd


def perflab(log: Path, warm: Path, *, one_core: bool) -> dict[str, float]:
    env = dict(os.environ)
    cmd = [sys.executable, "-c", PERFLAB, str(log), str(warm), LOG_FORMAT]
    if one_core:
        env.update(POLARS_MAX_THREADS="1", NUMBA_NUM_THREADS="1")
        cmd = pinned(cmd)
    wall, cpu, out = run_child(cmd, env)
    res = json.loads(out)
    res.update(process_wall=wall, process_cpu=cpu)
    return res


def goaccess(log: Path, out: Path, *, lean: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of GoAccess writing its JSON report of ``log``, on core 0."""
    cmd = ["goaccess", str(log), f"--log-format={GOACCESS_FORMAT}", "--date-format=%d/%b/%Y",
           "--time-format=%H:%M:%S", "--no-global-config", "--no-progress",
           "--no-parsing-spinner", "-o", str(out)]  # fmt: skip
    if lean:
        cmd += [f"--ignore-panel={p}" for p in ALL_PANELS if p not in LEAN_PANELS]
    wall, cpu, _ = run_child(pinned(cmd))
    return wall, cpu


# --------------------------------------------------------------------------- agreement


def cross_check(log: Path, report: dict, top: int) -> list[str]:
    """Lines comparing GoAccess's report with perflab's frame of the same log."""
    import polars as pl

    from perflab.api import read_nginx_log

    df = read_nginx_log(log, LOG_FORMAT)
    general = report["general"]
    out = [
        f"{'':34}{'GoAccess':>14}{'perflab':>14}",
        f"{'requests (lines)':34}{general['total_requests']:>14,}{df.height:>14,}",
        f"{'  valid (GoAccess) / with a method':34}{general['valid_requests']:>14,}"
        f"{df['method'].drop_nulls().len():>14,}   (GoAccess counts '-' and TLS probes valid)",
    ]
    theirs = {row["data"][:3]: row["hits"]["count"] for row in report["status_codes"]["data"]}
    ours = df.group_by((pl.col("status") // 100).alias("c")).len().rows()
    ours_by = {f"{c}xx": n for c, n in ours}
    for klass in ("2xx", "3xx", "4xx", "5xx"):
        out.append(f"{'  ' + klass:34}{theirs.get(klass, 0):>14,}{ours_by.get(klass, 0):>14,}")
    # GoAccess's requests panel: per method and URL (query included), 404s aside
    url = pl.concat_str(
        pl.col("path"),
        pl.when(pl.col("query").is_not_null()).then("?" + pl.col("query")),
        ignore_nulls=True,
    )
    per_url = (
        df.filter(pl.col("status") != 404)
        .group_by(pl.col("method"), url.alias("url"))
        .agg(
            hits=pl.len(),
            cum_us=(pl.col("duration_ms") * 1000).round().sum(),
            avg_us=(pl.col("duration_ms") * 1000).mean(),
            max_us=(pl.col("duration_ms") * 1000).max(),
        )
    )
    # GoAccess decodes %XX in URLs, and reads %T through a float (a µs may be lost)
    lookup = {(m, unquote(u)): (h, c, a, x) for m, u, h, c, a, x in per_url.rows()}
    agree = 0
    rows = report["requests"]["data"][:top]
    for item in rows:
        h, c, a, x = lookup.get((item["method"], item["data"]), (0, 0, 0.0, 0.0))
        same = (
            h == item["hits"]["count"]
            and abs(c - item["cumts"]) <= h
            and abs(a - item["avgts"]) <= 1
            and abs(x - item["maxts"]) <= 1
        )
        agree += same
    first = rows[0]
    h, _, a, x = lookup.get((first["method"], first["data"]), (0, 0, 0.0, 0.0))
    out.append(
        f"busiest URL {first['method']} {first['data']}: hits {first['hits']['count']:,} vs "
        f"{h:,}; avg {first['avgts'] / 1000:.3f} ms vs mean {a / 1000:.3f} ms; max "
        f"{first['maxts'] / 1000:.1f} vs {x / 1000:.1f} ms"
    )
    out.append(
        f"top {len(rows)} URLs of GoAccess's requests panel: hits, total, average and maximum "
        f"time equal in {agree} of {len(rows)}"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=50, help="URLs cross-checked")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the log in this folder")
    args = parser.parse_args()
    have_goaccess = shutil.which("goaccess") is not None
    if not have_goaccess:
        print("GoAccess is not installed (Debian: apt-get install goaccess): perflab only")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"access-{args.lines}.log"
        if not log.exists():
            t0 = time.perf_counter()
            build_log(log, args.lines)
            print(f"built {log.name} in {time.perf_counter() - t0:.1f} s")
        warm = Path(tmp) / "warm.log"
        with open(log, "rb") as src:
            warm.write_bytes(b"".join(src.readline() for _ in range(20_000)))
        n = args.lines
        print(f"input: {n:,} lines, {log.stat().st_size / 1e6:,.0f} MB, one day, "
              f"{len(ROUTES)} route templates (seeded)")  # fmt: skip

        one, multi, full, lean = [], [], [], []
        busy, started = contention(), time.perf_counter()
        for _ in range(args.rounds):  # the tools take turns
            one.append(perflab(log, warm, one_core=True))
            multi.append(perflab(log, warm, one_core=False))
            if have_goaccess:
                full.append(goaccess(log, Path(tmp) / "report.json", lean=False))
                lean.append(goaccess(log, Path(tmp) / "lean.json", lean=True))
        med = statistics.median
        waited, stolen = (b - a for a, b in zip(busy, contention(), strict=True))
        elapsed = time.perf_counter() - started
        if one[0]["stand_in"]:
            print("NOTE: template_routes/endpoints not found: timed a stand-in "
                  "(regex templating + polars group_by with p50/p95/p99)")  # fmt: skip
        ticks = os.sysconf("SC_CLK_TCK") * elapsed * (os.cpu_count() or 1)
        print(f"\nmedians of {args.rounds} rounds; seconds of wall time. Other work: tasks "
              f"waited for a CPU {waited / elapsed:.0%} of the time, the VM host took "
              f"{stolen / ticks:.0%} of the CPU (if high: rerun on an idle machine)")  # fmt: skip
        head = f"{'':44}{'read':>7}{'template':>9}{'endpts':>8}{'total':>8}{'lines/s':>12}"
        print(head)
        for label, runs in (("perflab, one core (taskset, 1 thread)", one),
                            ("perflab, all cores", multi)):  # fmt: skip
            total = med(r["wall"] for r in runs)
            print(f"{label:44}{med(r['read'] for r in runs):7.2f}"
                  f"{med(r['template'] for r in runs):9.2f}{med(r['endpoints'] for r in runs):8.2f}"
                  f"{total:8.2f}{n / total:12,.0f}")  # fmt: skip
        p1 = med(r["wall"] for r in one)
        proc1 = med(r["process_wall"] - r["again"] for r in one)
        print(f"{'  one core, whole process':44}{'':32}{proc1:8.2f}{n / proc1:12,.0f}"
              f"   (imports {med(r['imports'] for r in one):.2f} s, first call on 20k lines "
              f"{med(r['warmup'] for r in one):.2f} s: numba's start)")  # fmt: skip
        again = med(r["again"] for r in one)
        print(
            f"{'  one core, the same calls again':44}{'':24}{again:8.2f}{n / again:12,.0f}"
            f"   (the first run's memory reused: in a VM a first touch of a page is dear)"
        )
        print(f"  routes found: {one[0]['routes']}; rows: {one[0]['rows']:,}")
        target = n / p1 >= 500_000
        print(f"target ≥ 500,000 lines/s on one core: {n / p1:,.0f} — "
              f"{'met' if target else 'NOT met'}")  # fmt: skip
        if not have_goaccess:
            return
        for label, runs in (("GoAccess 1.x, default panels (core 0)", full),
                            ("GoAccess, lean: requests+static+404+status", lean)):  # fmt: skip
            w = med(r[0] for r in runs)
            c = med(r[1] for r in runs)
            print(f"{label:44}{'':24}{w:8.2f}{n / w:12,.0f}   (CPU {c:.2f} s)")
        g_full = med(r[0] for r in full)
        g_lean = med(r[0] for r in lean)
        verdict = {True: "met", False: "NOT met"}
        print(f"\nratio perflab (one core) / GoAccess: {g_full / p1:5.1f}x against its default "
              f"run ({verdict[g_full / p1 >= 10]}), {g_lean / p1:5.1f}x against the lean run "
              f"({verdict[g_lean / p1 >= 10]}); target ≥ 10x")  # fmt: skip
        print(f"  whole processes (perflab's interpreter, imports and numba's start included): "
              f"{g_full / proc1:5.1f}x / {g_lean / proc1:5.1f}x")  # fmt: skip
        print("\nagreement (the same work done):")
        report = json.loads((Path(tmp) / "report.json").read_text())
        for line in cross_check(log, report, args.top):
            print("  " + line)


if __name__ == "__main__":
    main()

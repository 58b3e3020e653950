"""Record the HAR sample: headless Chromium loading a small shop page twice.

Run by hand (about 10 seconds; needs Playwright for Python, which is *not* a perflab
dependency — ``.venv/bin/pip install playwright``; no ``playwright install``: the
system Chromium at ``/usr/bin/chromium`` is driven instead of a downloaded one):

    .venv/bin/python data/make/api_har.py [--chromium /usr/bin/chromium]

Writes ``data/sample/api/shop.har`` (``record_har_content="embed"``: bodies inside the
HAR, binaries as base64). The page is served by this script from Python's
``http.server`` on a free port of 127.0.0.1:

* ``/`` — the shop's HTML, gzip, ``Cache-Control: no-cache`` + ``ETag`` (the second
  load revalidates it: a 304 that Chromium records as 200 with ``bodySize: 0``);
* ``/static/app.3f9a1c.js`` — a hashed bundle, gzip, ``max-age=31536000`` but no
  ``immutable`` (the second load takes it from the browser cache);
* ``/static/style.css`` — ``ETag`` and ``Last-Modified`` only, no ``Cache-Control``
  and no compression;
* ``/img/hero.png`` — a real PNG (Pillow is not needed: written with zlib), public
  for a day and with a ``Set-Cookie`` (a cacheable response that sets a cookie);
* ``/api/items/1`` … ``/api/items/8`` — eight ``fetch()`` calls per page view (a
  chatty page), JSON without caching headers; odd ids gzip, even ids uncompressed;
  ``X-Cache: MISS`` sent twice on some (duplicate header), ``x-cache`` in lower case
  on others;
* ``/api/cart`` — JSON, ``Cache-Control: no-store``, ``Cache-Control`` sent twice;
* ``/api/promo/today`` — 404 (so is any other path);
* ``/api/recommendations`` — the server waits 2 s and the page aborts the
  ``fetch()`` after 150 ms (an aborted request, no response);
* ``/api/search?q=<script>…`` — a query string that an HTML report must escape.

The second page view opens the same URL in a new tab of the same browser context, so
it is served partly from the browser's cache (``_transferSize: 0``, negative
``bodySize``, ``timings.wait: -1``) and revalidates the HTML. Playwright writes one
HAR page per tab, the status ``-1`` with ``_failureText`` for the aborted request,
``_resourceType`` on every entry and no ``connection``. Times are those of the recording run.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import struct
import threading
import time
import zlib
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(__file__).parents[1] / "sample" / "api" / "shop.har"

HTML = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Corner Shop — perflab sample</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.3f9a1c.js" defer></script>
</head><body>
<header><h1>Corner Shop</h1><img src="/img/hero.png" alt="hero" width="320" height="120"></header>
<main id="items"></main><aside id="cart"></aside>
"""
    + "\n".join(
        f"<p class='blurb'>Handpicked item number {i}: sturdy, well made and shipped in a day.</p>"
        for i in range(40)
    )
    + "\n</body></html>\n"
)

JS = (
    "// app.3f9a1c.js — the shop's bundle\n"
    "const ids = [1, 2, 3, 4, 5, 6, 7, 8];\n"
    "async function load() {\n"
    "  const get = i => fetch('/api/items/' + i).then(r => r.json());\n"
    "  const items = await Promise.all(ids.map(get));\n"
    "  document.getElementById('items').textContent = items.map(x => x.name).join(', ');\n"
    "  const cart = await fetch('/api/cart').then(r => r.json());\n"
    "  document.getElementById('cart').textContent = cart.count + ' in cart';\n"
    "  await fetch('/api/search?q=<script>alert(1)</script>').catch(() => null);\n"
    "  await fetch('/api/promo/today').catch(() => null);\n"
    "  const ctl = new AbortController();\n"
    "  setTimeout(() => ctl.abort(), 150);\n"
    "  await fetch('/api/recommendations', {signal: ctl.signal}).catch(() => null);\n"
    "  document.title += ' (ready)';\n"
    "}\n"
    "load();\n"
    + "".join(
        f"function helper{i}(a, b) {{ return (a * {i} + b) % 97; /* padding {i} */ }}\n"
        for i in range(300)
    )
)

CSS = "".join(
    f".c{i} {{ margin: {i % 7}px; padding: {i % 5}px; color: #{i * 2654435761 % 0xFFFFFF:06x}; }}\n"
    for i in range(120)
)


def png(width: int = 320, height: int = 120) -> bytes:
    """A real RGB PNG (a gradient), written with zlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"
        + bytes(
            v for x in range(width) for v in (x * 255 // width, y * 255 // height, (x ^ y) & 0xFF)
        )
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


PNG = png()
STARTED = formatdate(time.time() - 86400 * 30, usegmt=True)


def item(i: int) -> bytes:
    doc = {
        "id": i,
        "name": f"Item {i}",
        "price_cents": 199 * i,
        "tags": ["sample", "shop", f"tag{i}"],
        "description": " ".join(["A dependable thing you will use every day."] * 12),
    }
    return json.dumps(doc).encode()


class Handler(BaseHTTPRequestHandler):
    """The shop's routes (see the module docstring)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
        *,
        compress: bool = False,
        etag: bool = False,
    ) -> None:
        tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if etag and self.headers.get("If-None-Match") == tag:
            self.send_response(304)
            self.send_header("ETag", tag)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if compress and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, 6)
            headers = [*headers, ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", tag)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self.send(
                200,
                HTML.encode(),
                "text/html; charset=utf-8",
                [("Cache-Control", "no-cache")],
                compress=True,
                etag=True,
            )
        elif path == "/static/app.3f9a1c.js":
            self.send(
                200,
                JS.encode(),
                "application/javascript; charset=utf-8",
                [("Cache-Control", "public, max-age=31536000")],
                compress=True,
                etag=True,
            )
        elif path == "/static/style.css":
            self.send(200, CSS.encode(), "text/css", [("Last-Modified", STARTED)], etag=True)
        elif path == "/img/hero.png":
            self.send(
                200,
                PNG,
                "image/png",
                [
                    ("Cache-Control", "public, max-age=86400"),
                    ("Set-Cookie", "visitor=a1b2c3; Path=/; HttpOnly"),
                    ("Expires", formatdate(time.time() + 86400, usegmt=True)),
                ],
            )
        elif path.startswith("/api/items/"):
            i = int(path.rsplit("/", 1)[1])
            cache = (
                [("X-Cache", "MISS"), ("X-Cache", "MISS from edge-2")]
                if i % 3 == 0
                else [("x-cache", "MISS")]
            )
            self.send(200, item(i), "application/json", cache, compress=bool(i % 2))
        elif path == "/api/cart":
            self.send(
                200,
                json.dumps({"count": 2, "items": [3, 5]}).encode(),
                "application/json; charset=utf-8",
                [("Cache-Control", "no-store"), ("Cache-Control", "private")],
            )
        elif path == "/api/search":
            self.send(200, b'{"results": []}', "application/json")
        elif path == "/api/recommendations":
            time.sleep(2.0)
            with contextlib.suppress(OSError):  # the page has aborted by now
                self.send(200, b"[]", "application/json")
        else:
            self.send(404, b'{"error": "not found"}', "application/json")


def record(chromium: str, out: Path) -> None:
    """Serve the shop, load it twice in headless Chromium, save the HAR to ``out``."""
    from playwright.sync_api import sync_playwright

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            context = browser.new_context(record_har_path=str(tmp), record_har_content="embed")
            for _ in range(2):  # one HAR page per view: a new tab, the same cache
                page = context.new_page()
                page.goto(url, wait_until="load")
                page.wait_for_function("document.title.endsWith('(ready)')", timeout=10_000)
                page.wait_for_timeout(300)
                page.close()
            context.close()
            browser.close()
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    record(args.chromium, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

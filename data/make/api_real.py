"""Record the API sample: real nginx access logs of real traffic through a caching proxy.

Run by hand, as a user allowed to start nginx (about 30 seconds):

    .venv/bin/python data/make/api_real.py [--rate 200] [--seconds 15]

It starts perflab's sample server (``perflab.loadtest.sample_server``) on 127.0.0.1 and,
in front of it, Debian's nginx (``/usr/sbin/nginx``, a child process with its own
``-c``/``-p`` in a temporary directory, ``daemon off``, 127.0.0.1 only) as a reverse
proxy with ``proxy_cache`` and ``gzip on`` for JSON and JavaScript. Then
``perflab.loadtest.run`` drives a seeded mix through nginx:

* ``GET /api/items/N`` (N in 1..500; JSON after a delay, cached 2 s),
* ``GET /api/users/<uuid>`` (the sample server answers 404, cached 1 s),
* ``GET /static/app.<hash>.js`` (20 KiB, cached an hour, gzipped),
* ``GET /`` (not cached), ``GET /flaky`` (503s; nginx retries on a second upstream
  entry, so ``$upstream_response_time`` is a list ``"0.001, 0.000"``),
* ``GET /search?q=…`` (404 upstream, then an internal redirect to ``/``: the times
  of both are logged with `` : ``), one of them with ``<script>`` in the query,
* some requests with a ``Referer`` and a ``User-Agent`` holding ``"`` and ``é``
  (nginx writes ``\\x22`` and ``\\xC3\\xA9``).

nginx writes three logs of the same requests: the ``log_format`` in
``data/sample/api/log_format.txt`` (``access.log.gz``), nginx's predefined
``combined`` (``access_combined.log.gz``, Apache's combined format) and a JSON-lines
format with ``escape=json`` (``access.jsonl.gz``, its format in
``log_format_json.txt``). The timing is the machine's own, so a re-run differs.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from perflab.loadtest import Request, Scenario, run
from perflab.loadtest.sample_server import SampleServer

OUT = Path(__file__).parents[1] / "sample" / "api"
NGINX = "/usr/sbin/nginx"

LOG_FORMAT = (
    "log_format perflab '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
    '                   \'$status $body_bytes_sent "$http_referer" "$http_user_agent" \'\n'
    "                   '$request_time $upstream_response_time $upstream_cache_status '\n"
    "                   '$bytes_sent $gzip_ratio \"$sent_http_content_type\" $host';"
)
LOG_FORMAT_JSON = (
    'log_format perflab_json escape=json \'{"time":"$time_iso8601",\'\n'
    '    \'"remote_addr":"$remote_addr","request_method":"$request_method",\'\n'
    '    \'"request_uri":"$request_uri","status":$status,\'\n'
    '    \'"body_bytes_sent":$body_bytes_sent,"request_time":$request_time,\'\n'
    '    \'"upstream_response_time":"$upstream_response_time",\'\n'
    '    \'"upstream_cache_status":"$upstream_cache_status",\'\n'
    '    \'"content_type":"$sent_http_content_type",\'\n'
    '    \'"content_encoding":"$sent_http_content_encoding",\'\n'
    '    \'"host":"$host","http_user_agent":"$http_user_agent",\'\n'
    '    \'"http_referer":"$http_referer"}\';'
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(tmp: Path, port: int, upstream: int) -> str:
    """The nginx configuration: proxy_cache and gzip in front of the sample server."""
    return f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    types {{ application/json json; application/javascript js; text/html html; }}
    default_type application/octet-stream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    {LOG_FORMAT}
    {LOG_FORMAT_JSON}
    access_log {tmp}/access.log perflab;
    access_log {tmp}/access_combined.log combined;
    access_log {tmp}/access.jsonl perflab_json;
    proxy_cache_path {tmp}/cache levels=1:2 keys_zone=api:10m max_size=64m inactive=10m
                     use_temp_path=off;
    upstream app {{ server 127.0.0.1:{upstream}; keepalive 8; }}
    upstream app_twice {{ server 127.0.0.1:{upstream} max_fails=0;
                          server 127.0.0.1:{upstream} max_fails=0; }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        gzip on;
        gzip_types application/json application/javascript;
        gzip_min_length 100;
        gzip_proxied any;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / {{
            proxy_pass http://app;
        }}
        location /api/ {{
            proxy_pass http://app;
            proxy_cache api;
            proxy_cache_valid 200 2s;
            proxy_cache_valid 404 1s;
        }}
        location /static/ {{
            proxy_pass http://app;
            proxy_cache api;
            proxy_cache_valid 200 1h;
        }}
        location /flaky {{
            proxy_pass http://app_twice;
            proxy_next_upstream error timeout http_503;
        }}
        location /search {{
            proxy_pass http://app;
            proxy_intercept_errors on;
            error_page 404 = @home;
        }}
        location @home {{
            rewrite ^ / break;
            proxy_pass http://app;
        }}
    }}
}}
"""


def scenario(seed: int = 3) -> Scenario:
    """The traffic mix (ids and user uuids seeded)."""
    rng = random.Random(seed)
    users = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(40)]
    odd_ua = {"User-Agent": 'Mozilla/5.0 (X11) "quoted" caf\u00e9', "Referer": "http://localhost/"}
    steps = [Request(f"/api/items/{i}", weight=0.45 / 500) for i in range(1, 501)]
    steps += [Request(f"/api/users/{u}", weight=0.1 / 40) for u in users]
    steps += [
        Request("/static/app.3f9a1c2e.js", weight=0.12),
        Request("/static/app.3f9a1c2e.js", headers={"Accept-Encoding": "gzip"}, weight=0.08),
        Request("/api/items/7", headers={"Accept-Encoding": "gzip", **odd_ua}, weight=0.05),
        Request("/", weight=0.08),
        Request("/flaky", weight=0.05),
        Request("/search?q=shoes&page=2", weight=0.03),
        Request("/search?q=<script>alert(1)</script>", weight=0.005),
        Request("/api/items/9", method="POST", body='{"n": 1}', weight=0.03),
    ]
    return Scenario(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="perflab-nginx-") as d,
        SampleServer(delay_ms=3.0, flaky_share=0.3, seed=5) as server,
    ):
        tmp = Path(d)
        tmp.chmod(0o755)  # nginx's workers (user nobody) write the cache and temp files
        port = free_port()
        upstream = int(server.url.rsplit(":", 1)[1].split("/")[0])
        (tmp / "nginx.conf").write_text(config(tmp, port, upstream))
        proc = subprocess.Popen([NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)])
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((tmp / "error.log").read_text()) from None
                    time.sleep(0.05)
            frame = run(
                f"http://127.0.0.1:{port}",
                rate=args.rate,
                duration=args.seconds,
                scenario=scenario(),
                workers=1,
                connections=8,
                seed=11,
            )
        finally:
            proc.terminate()
            proc.wait(10)
        for name, out in [
            ("access.log", "access.log.gz"),
            ("access_combined.log", "access_combined.log.gz"),
            ("access.jsonl", "access.jsonl.gz"),
        ]:
            with open(tmp / name, "rb") as src, gzip.GzipFile(OUT / out, "wb", mtime=0) as dst:
                shutil.copyfileobj(src, dst)
    (OUT / "log_format.txt").write_text(LOG_FORMAT + "\n")
    (OUT / "log_format_json.txt").write_text(LOG_FORMAT_JSON + "\n")
    print(f"{frame.height} requests through nginx on port {port} -> {OUT}")


if __name__ == "__main__":
    main()

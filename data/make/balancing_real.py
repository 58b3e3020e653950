"""Regenerate the real load-balancer logs in ``data/sample/balancing/``.

Nothing here hand-writes a log line: nginx (1.22) and HAProxy (2.6) write every byte,
as load balancers in front of three small Python backends on 127.0.0.1 of different
speeds, driven by :func:`perflab.loadtest.run` (Poisson arrivals, a bounded rate).

The backends (one process each, ``python -c`` of :data:`BACKEND`): ``fast`` (mean
service 4 ms, 4 concurrent), ``medium`` (8 ms, 2 concurrent), ``flaky`` (6 ms, 2
concurrent) — service times exponential, seeded; each answer says how long it worked
in an ``X-Service-Ms`` header, logged as ``$upstream_http_x_service_ms``, so the log
carries the service demand apart from the time queued inside the backend.
``medium`` slows down ×4 from ``--slow-at`` seconds; ``flaky`` is killed at
``--fail-at`` and restarted
``--down-for`` seconds later (connections refused meanwhile: nginx retries on the next
server, ``$upstream_addr`` lists both).

Clients: each request carries ``X-Forwarded-For: 10.x.y.z`` from a pool of 300
addresses, which nginx's realip module turns into ``$remote_addr`` (so ``ip_hash`` and
stickiness have clients to work with).

Usage (from the repository root)::

    .venv/bin/python data/make/balancing_real.py [--rate 150] [--seconds 24]

Writes ``nginx-upstream.log.gz`` (``log_format`` in ``nginx_log_format.txt``) and
``haproxy-httplog.log.gz`` (HAProxy's default ``option httplog``, ``log stdout format
raw``; a short run of its own over the same backends) and ``backends.json`` (each
backend's name, address, servers, mean service time, and when it slowed down or failed,
in seconds from the start of the load).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perflab.loadtest import Request, Scenario, run

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "sample" / "balancing"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

LOG_FORMAT = (
    'log_format upstream \'$remote_addr [$msec] "$request" $status $body_bytes_sent '
    '$request_time "$upstream_addr" "$upstream_status" "$upstream_response_time" '
    '"$upstream_connect_time" "$upstream_http_x_service_ms"\';'
)

BACKEND = r"""
import random, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, mean_ms, slots, slow_at, factor, seed = (int(sys.argv[1]), float(sys.argv[2]),
    int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
gate, rng, lock = threading.Semaphore(slots), random.Random(seed), threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait 40 ms for a delayed ACK
    def do_GET(self):
        with lock:
            d = rng.expovariate(1000.0 / mean_ms)
        d *= factor if time.time() >= slow_at else 1.0
        with gate:
            time.sleep(d)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("X-Service-Ms", f"{d * 1000:.3f}")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    """Wait until ``port`` accepts connections (or ``proc`` died)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on port {port}") from None
            time.sleep(0.05)


def backend(port: int, mean_ms: float, slots: int, slow_at: float, factor: float, seed: int):
    """Start one backend process and wait for it."""
    args = [str(port), str(mean_ms), str(slots), str(slow_at), str(factor), str(seed)]
    proc = subprocess.Popen([sys.executable, "-c", BACKEND, *args])
    wait_port(port, proc, "backend")
    return proc


def nginx_config(tmp: Path, port: int, ports: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in ports)
    return f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    {LOG_FORMAT}
    access_log {tmp}/access.log upstream;
    upstream app {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_next_upstream error timeout;
        proxy_connect_timeout 1s;
        location / {{ proxy_pass http://app; }}
    }}
}}
"""


def haproxy_config(port: int, ports: list[int]) -> str:
    names = ["fast", "medium", "flaky"]
    servers = "\n".join(
        f"    server {n} 127.0.0.1:{p} check inter 500" for n, p in zip(names, ports, strict=True)
    )
    return f"""
global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 1
    option redispatch
frontend fe_http
    bind 127.0.0.1:{port}
    default_backend be_app
backend be_app
    balance roundrobin
{servers}
"""


def scenario(seed: int = 7) -> Scenario:
    """Requests over 40 paths from 300 client addresses."""
    rng = random.Random(seed)
    steps = []
    for i in range(300):
        ip = f"10.{rng.randrange(1, 5)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        steps.append(Request(f"/api/items/{i % 40}", headers={"X-Forwarded-For": ip}))
    return Scenario(steps)


def _gzip(src: Path, dest: Path) -> None:
    with open(src, "rb") as fh, gzip.GzipFile(dest, "wb", mtime=0) as gz:
        shutil.copyfileobj(fh, gz)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--seconds", type=float, default=24.0)
    parser.add_argument("--slow-at", type=float, default=8.0)
    parser.add_argument("--fail-at", type=float, default=14.0)
    parser.add_argument("--down-for", type=float, default=5.0)
    parser.add_argument("--haproxy-seconds", type=float, default=4.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(3)]
    t0 = time.time() + 1.0
    procs = [
        backend(ports[0], 4.0, 4, 1e18, 1.0, 1),
        backend(ports[1], 8.0, 2, t0 + args.slow_at, 4.0, 2),
        backend(ports[2], 6.0, 2, 1e18, 1.0, 3),
    ]
    with tempfile.TemporaryDirectory(prefix="perflab-lb-") as d:
        tmp = Path(d)
        tmp.chmod(0o755)
        port = free_port()
        (tmp / "nginx.conf").write_text(nginx_config(tmp, port, ports))
        nginx = subprocess.Popen([NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)])
        try:
            wait_port(port, nginx, "nginx")
            time.sleep(max(0.0, t0 - time.time()))
            import threading

            def chaos() -> None:
                time.sleep(args.fail_at)
                procs[2].kill()
                procs[2].wait()
                time.sleep(args.down_for)
                procs[2] = backend(ports[2], 6.0, 2, 1e18, 1.0, 4)

            threading.Thread(target=chaos, daemon=True).start()
            frame = run(
                f"http://127.0.0.1:{port}",
                rate=args.rate,
                duration=args.seconds,
                scenario=scenario(),
                arrivals="poisson",
                workers=1,
                connections=64,
                seed=11,
            )
        finally:
            nginx.terminate()
            nginx.wait(10)
        _gzip(tmp / "access.log", OUT / "nginx-upstream.log.gz")
        print(f"nginx: {frame.height} requests -> {OUT / 'nginx-upstream.log.gz'}")
        # HAProxy: a short run over the same (now all healthy, medium still slow) backends
        hport = free_port()
        (tmp / "haproxy.cfg").write_text(haproxy_config(hport, ports))
        with open(tmp / "haproxy.log", "wb") as log:
            hap = subprocess.Popen([HAPROXY, "-f", str(tmp / "haproxy.cfg")], stdout=log)
            try:
                wait_port(hport, hap, "haproxy")
                frame = run(
                    f"http://127.0.0.1:{hport}",
                    rate=50.0,
                    duration=args.haproxy_seconds,
                    scenario=scenario(),
                    arrivals="poisson",
                    workers=1,
                    connections=16,
                    seed=12,
                )
            finally:
                hap.terminate()
                hap.wait(10)
        _gzip(tmp / "haproxy.log", OUT / "haproxy-httplog.log.gz")
        print(f"haproxy: {frame.height} requests -> {OUT / 'haproxy-httplog.log.gz'}")
    for p in procs:
        p.terminate()
        p.wait(10)
    (OUT / "nginx_log_format.txt").write_text(LOG_FORMAT + "\n")
    setup = [
        {"name": "fast", "address": f"127.0.0.1:{ports[0]}", "servers": 4, "mean_ms": 4.0},
        {"name": "medium", "address": f"127.0.0.1:{ports[1]}", "servers": 2, "mean_ms": 8.0,
         "slow_at_s": args.slow_at, "slow_factor": 4.0},
        {"name": "flaky", "address": f"127.0.0.1:{ports[2]}", "servers": 2, "mean_ms": 6.0,
         "fail_at_s": args.fail_at, "recover_at_s": args.fail_at + args.down_for},
    ]  # fmt: skip
    (OUT / "backends.json").write_text(json.dumps(setup, indent=1) + "\n")


if __name__ == "__main__":
    main()

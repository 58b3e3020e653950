"""Regenerate the real-format monitoring samples in ``data/sample/monitoring/``.

Every sample is written by the real software, run on this machine; nothing here
hand-writes a format. See ``data/README.md`` for what each file is.

Usage (from the repository root, with the dev extras installed)::

    .venv/bin/python data/make/monitoring_real.py exposition
    .venv/bin/python data/make/monitoring_real.py otlp
    .venv/bin/python data/make/monitoring_real.py prometheus --seconds 150

``exposition``
    A prometheus_client registry (Histogram, Counter, Gauge, Summary, Info with label
    values that need escaping, plus the process/platform collectors) fed with seeded
    simulated traffic; ``generate_latest()`` → ``exposition.prom``.
``otlp``
    opentelemetry-sdk instruments (histogram, exponential histogram, counter,
    up-down counter, observable gauge) read by an ``InMemoryMetricReader``, encoded by
    ``opentelemetry.exporter.otlp.proto.common``'s metrics encoder to the protobuf
    request and turned into OTLP/JSON by ``google.protobuf.json_format`` →
    ``otlp_metrics.json`` (one request, indented) and ``otlp_metrics.jsonl`` (two
    collections, one request per line, as the collector's file exporter writes).
``prometheus``
    Needs Debian's ``prometheus`` and ``prometheus-node-exporter`` packages. Runs a
    prometheus_client exporter with a latency change half-way, a Prometheus server
    scraping it every second and a node_exporter, all on 127.0.0.1, for ``--seconds``;
    then saves the HTTP API answers (``query_range``, ``query`` and one error) and a
    node_exporter scrape. Everything started is stopped before the command returns.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "sample" / "monitoring"
TEST_DATA = ROOT / "tests" / "monitoring" / "data"

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Label values that the text format must escape: a backslash, a double quote, a newline.
NOTE = 'built in C:\\ci\\app by "nightly"\nsecond line'


def _registry(with_process: bool = True):  # type: ignore[no-untyped-def]
    from prometheus_client import (
        CollectorRegistry,
        Counter,
        Gauge,
        Histogram,
        Info,
        PlatformCollector,
        ProcessCollector,
        Summary,
    )

    reg = CollectorRegistry()
    if with_process:
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
    m = {
        "latency": Histogram(
            "http_request_duration_seconds",
            "Time spent serving an HTTP request.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=reg,
        ),
        "requests": Counter(
            "http_requests",
            "HTTP requests served.",
            ["method", "route", "status"],
            registry=reg,
        ),
        "sent": Counter(
            "http_response_size_bytes",
            "Bytes sent in response bodies.",
            ["route"],
            registry=reg,
        ),
        "inflight": Gauge("http_requests_in_flight", "Requests being served now.", registry=reg),
        "db": Summary(
            "db_query_duration_seconds",
            "Time spent in database queries.",
            ["table"],
            registry=reg,
        ),
        "info": Info("app_build", "Build of the running app.", registry=reg),
    }
    m["info"].info({"version": "1.4.2", "note": NOTE, "path": "/srv/app"})
    return reg, m


def _serve_one(m: dict, rng: random.Random, route: str, median: float) -> None:  # type: ignore[type-arg]
    latency = rng.lognormvariate(0.0, 0.6) * median
    status = "500" if rng.random() < 0.02 else "200"
    m["latency"].labels("GET", route).observe(latency)
    m["requests"].labels("GET", route, status).inc()
    m["sent"].labels(route).inc(rng.randint(200, 40_000))
    m["db"].labels("orders" if route == "/checkout" else "items").observe(latency * 0.4)


def exposition() -> None:
    """prometheus_client → data/sample/monitoring/exposition.prom."""
    from prometheus_client import generate_latest

    reg, m = _registry()
    rng = random.Random(20240501)
    for _ in range(1500):
        _serve_one(m, rng, "/api/items", 0.04)
    for _ in range(500):
        _serve_one(m, rng, "/checkout", 0.12)
    m["inflight"].set(3)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "exposition.prom").write_bytes(generate_latest(reg))
    print("wrote", OUT / "exposition.prom")


def _to_otlp_json(request, *, indent: int | None) -> str:  # type: ignore[no-untyped-def]
    """OTLP/JSON of a protobuf request: camelCase keys, int64 as strings, integer enums,
    hex trace/span ids (the two places where OTLP/JSON departs from protobuf's mapping)."""
    from google.protobuf.json_format import MessageToDict

    doc = MessageToDict(request, use_integers_for_enums=True)

    def hexify(node: object) -> None:
        if isinstance(node, dict):
            for key in ("traceId", "spanId"):
                if isinstance(node.get(key), str):
                    node[key] = base64.b64decode(node[key]).hex()
            for value in node.values():
                hexify(value)
        elif isinstance(node, list):
            for value in node:
                hexify(value)

    hexify(doc)
    return json.dumps(doc, indent=indent, separators=None if indent else (",", ":"))


def otlp() -> None:
    """opentelemetry-sdk → otlp_metrics.json and otlp_metrics.jsonl."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
    from opentelemetry.sdk.resources import Resource

    reader = InMemoryMetricReader()
    resource = Resource.create(
        {"service.name": "checkout", "service.version": "1.4.2", "deployment.environment": "lab"}
    )
    provider = MeterProvider(
        resource=resource,
        metric_readers=[reader],
        views=[
            View(
                instrument_name="db.client.operation.duration",
                aggregation=ExponentialBucketHistogramAggregation(max_size=40),
            )
        ],
    )
    meter = provider.get_meter("perflab.samples", "0.1.0")
    duration = meter.create_histogram(
        "http.server.request.duration",
        unit="s",
        description="Duration of HTTP server requests.",
        explicit_bucket_boundaries_advisory=[*BUCKETS, 5.0, 10.0],
    )
    db = meter.create_histogram(
        "db.client.operation.duration", unit="ms", description="Duration of database operations."
    )
    requests = meter.create_counter(
        "http.server.requests", unit="{request}", description="HTTP requests served."
    )
    active = meter.create_up_down_counter(
        "http.server.active_requests", unit="{request}", description="Requests in flight."
    )
    memory = {"value": 52_428_800}

    def observe_memory(options: CallbackOptions) -> list[Observation]:
        return [Observation(memory["value"], {"process.memory.type": "rss"})]

    meter.create_observable_gauge(
        "process.memory.usage", [observe_memory], unit="By", description="Process memory."
    )
    rng = random.Random(7)
    routes = {"/api/items": 0.04, "/checkout": 0.12}
    lines = []
    for cycle in range(2):
        for _ in range(400):
            route = rng.choice(list(routes))
            latency = rng.lognormvariate(0.0, 0.6) * routes[route] * (1 + cycle)
            status = 500 if rng.random() < 0.03 else 200
            attrs = {"http.request.method": "GET", "http.route": route}
            duration.record(latency, {**attrs, "http.response.status_code": status})
            requests.add(1, {**attrs, "cache.hit": rng.random() < 0.3})
            db.record(latency * 400, {"db.system": "postgresql"})
            active.add(1)
            active.add(-1)
        active.add(2)
        memory["value"] += 1_048_576 * (cycle + 1)
        data = reader.get_metrics_data()
        request = encode_metrics(data)
        if cycle == 0:
            (OUT / "otlp_metrics.json").write_text(_to_otlp_json(request, indent=2) + "\n")
        lines.append(_to_otlp_json(request, indent=None))
        time.sleep(0.05)
    (OUT / "otlp_metrics.jsonl").write_text("\n".join(lines) + "\n")
    provider.shutdown()
    print("wrote", OUT / "otlp_metrics.json", "and", OUT / "otlp_metrics.jsonl")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 10.0) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:  # Prometheus answers errors with a JSON body
        return bytes(exc.read())


def _wait_for(url: str, deadline: float) -> None:
    while time.time() < deadline:
        try:
            _get(url, timeout=1.0)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {url}")


def prometheus(seconds: int) -> None:
    """Run exporter + Prometheus + node_exporter on 127.0.0.1 and save API answers."""
    from prometheus_client import start_http_server

    prom_bin = shutil.which("prometheus")
    node_bin = shutil.which("prometheus-node-exporter")
    if not prom_bin or not node_bin:
        raise SystemExit("needs Debian's prometheus and prometheus-node-exporter packages")
    app_port, prom_port, node_port = _free_port(), _free_port(), _free_port()
    reg, m = _registry(with_process=False)
    server, server_thread = start_http_server(app_port, addr="127.0.0.1", registry=reg)
    stop = threading.Event()
    t_start = time.time()

    def traffic() -> None:
        rng = random.Random(11)
        while not stop.is_set():
            elapsed = time.time() - t_start
            slow = elapsed > seconds / 2  # the visible change: /checkout gets 3x slower
            for _ in range(2):
                _serve_one(m, rng, "/api/items", 0.04)
            _serve_one(m, rng, "/checkout", 0.36 if slow else 0.12)
            if elapsed < 40:  # /export goes idle: histogram_quantile then yields NaN
                _serve_one(m, rng, "/export", 0.6)
            m["inflight"].set(rng.randint(0, 8))
            time.sleep(0.02)

    procs: list[subprocess.Popen[bytes]] = []
    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "prometheus.yml"
            cfg.write_text(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: app\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{app_port}']\n"
            )
            procs.append(
                subprocess.Popen(
                    [
                        prom_bin,
                        f"--config.file={cfg}",
                        f"--storage.tsdb.path={tmp}/tsdb",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                        "--log.level=warn",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            procs.append(
                subprocess.Popen(
                    [
                        node_bin,
                        f"--web.listen-address=127.0.0.1:{node_port}",
                        "--collector.disable-defaults",
                        "--collector.cpu",
                        "--collector.loadavg",
                        "--collector.meminfo",
                        "--collector.netdev",
                        "--collector.uname",
                        "--collector.time",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            base = f"http://127.0.0.1:{prom_port}"
            _wait_for(f"{base}/-/ready", time.time() + 30)
            _wait_for(f"http://127.0.0.1:{node_port}/metrics", time.time() + 30)
            (OUT / "node_exporter.prom").write_bytes(_get(f"http://127.0.0.1:{node_port}/metrics"))
            start = time.time()
            time.sleep(seconds)
            end = time.time()

            def api(path: str, **params: object) -> bytes:
                return _get(f"{base}/api/v1/{path}?{urllib.parse.urlencode(params)}")

            q95 = (
                "histogram_quantile(0.95, sum by (le, route) "
                "(rate(http_request_duration_seconds_bucket[30s])))"
            )
            (OUT / "prometheus_query_range.json").write_bytes(
                api("query_range", query=q95, start=f"{start:.3f}", end=f"{end:.3f}", step="2")
            )
            (OUT / "prometheus_query_range_raw.json").write_bytes(
                api(
                    "query_range",
                    query='http_request_duration_seconds_bucket{route="/checkout"}',
                    start=f"{start:.3f}",
                    end=f"{end:.3f}",
                    step="5",
                )
            )
            (OUT / "prometheus_query.json").write_bytes(
                api("query", query="http_requests_total", time=f"{end:.3f}")
            )
            TEST_DATA.mkdir(parents=True, exist_ok=True)
            (TEST_DATA / "prometheus_error.json").write_bytes(
                api("query", query="rate(http_requests_total[5m")
            )
            print(f"captured {end - start:.0f} s from Prometheus on 127.0.0.1:{prom_port}")
    finally:
        stop.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        server.shutdown()
        server_thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["exposition", "otlp", "prometheus", "all"])
    parser.add_argument("--seconds", type=int, default=150, help="prometheus capture length")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.what in ("exposition", "all"):
        exposition()
    if args.what in ("otlp", "all"):
        otlp()
    if args.what in ("prometheus", "all"):
        prometheus(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

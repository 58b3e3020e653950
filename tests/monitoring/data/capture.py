"""Write the real-tool fixtures of this folder (see README.md here).

    .venv/bin/python tests/monitoring/data/capture.py openmetrics   # prometheus_client
    .venv/bin/python tests/monitoring/data/capture.py promtool      # Debian prometheus

``promtool`` starts Debian's ``prometheus`` on 127.0.0.1 scraping itself every second
(in a temporary directory), waits ``--seconds``, then saves what ``promtool query
instant|range -o json`` prints and the HTTP API's answer to a query matching nothing.
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
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def openmetrics() -> None:
    """OpenMetrics text with exemplars and a float-second timestamp, from prometheus_client,
    and the same registry in the 0.0.4 text format."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
    from prometheus_client import generate_latest as generate_text
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.openmetrics.exposition import generate_latest

    class LastRun:
        """A gauge with its own sample timestamp (a batch job's last run)."""

        def collect(self):  # type: ignore[no-untyped-def]
            family = GaugeMetricFamily("batch_duration_seconds", "Last run.", labels=["job"])
            family.add_metric(["nightly"], 12.5, timestamp=1711845000.25)
            yield family

    rng = random.Random(5)
    registry = CollectorRegistry()
    latency = Histogram(
        "http_request_duration_seconds",
        "Request latency.",
        ["route"],
        buckets=(0.05, 0.1, 0.25, 0.5, 1.0),
        registry=registry,
    )
    requests = Counter("http_requests", "Requests.", ["route"], registry=registry)
    queue = Gauge("work_queue_depth", "Jobs waiting.", registry=registry)
    for i in range(200):
        route = rng.choice(["/api/items", "/checkout"])
        value = rng.lognormvariate(-2.3, 0.6)
        trace = {"trace_id": f"{rng.getrandbits(64):016x}"}
        latency.labels(route).observe(value, exemplar=trace if i % 50 == 0 else None)
        requests.labels(route).inc(exemplar=trace if i % 70 == 0 else None)
    queue.set(7)
    registry.register(LastRun())
    text = generate_latest(registry)
    # The same registry in the 0.0.4 text format (timestamps in milliseconds there).
    (HERE / "openmetrics_exemplars.prom").write_bytes(generate_text(registry))
    (HERE / "openmetrics_exemplars.txt").write_bytes(text)
    (HERE / "openmetrics_exemplars.txt.gz").write_bytes(gzip.compress(text, mtime=0))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def promtool(seconds: int) -> None:
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if not (prom and tool):
        raise SystemExit("needs Debian's prometheus package (prometheus, promtool)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        )
        proc = subprocess.Popen(
            [
                prom,
                f"--config.file={cfg}",
                f"--storage.tsdb.path={tmp}/tsdb",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(seconds)
            end = int(time.time())

            def query(*args: str) -> bytes:
                return subprocess.run(
                    [tool, "query", *args], check=True, capture_output=True, timeout=30
                ).stdout

            (HERE / "promtool_range.json").write_bytes(
                query(
                    "range",
                    "-o",
                    "json",
                    f"--start={end - seconds + 4}",
                    f"--end={end}",
                    "--step=2s",
                    url,
                    'rate(prometheus_http_requests_total{handler="/metrics"}[5s])',
                )
            )
            (HERE / "promtool_instant.json").write_bytes(query("instant", "-o", "json", url, "up"))
            (HERE / "promtool_no_match.json").write_bytes(
                query("instant", "-o", "json", url, "no_such_metric")
            )
            with urllib.request.urlopen(
                f"{url}/api/v1/query?query=no_such_metric", timeout=10
            ) as resp:
                (HERE / "prometheus_no_match.json").write_bytes(resp.read())
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["openmetrics", "promtool"])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    if args.what == "openmetrics":
        openmetrics()
    else:
        promtool(args.seconds)


if __name__ == "__main__":
    main()

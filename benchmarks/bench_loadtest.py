"""Load generator efficiency: perflab's ``run`` against wrk and Locust's ``FastHttpUser``.

Every tool drives the same nginx (one worker process, ``return 200 "ok"``, started by
this script on 127.0.0.1 with a temporary configuration) from one client core for
SECONDS, ROUNDS times, the tools taking turns. Each round reports:

* **wrk** — ``wrk -t1 -c32``: the closed-model C tool; CPU time from the kernel's
  accounting of the finished child (``RUSAGE_CHILDREN``);
* **perflab closed** — ``run(url, users=32, workers=1)``: the same closed model in
  one worker process; CPU time as the worker measured it from the start of the test
  (its interpreter start and imports, about 0.8 s, are reported beside it);
* **perflab open** — ``run(url, rate=RATE, connections=64, workers=1)``: the open
  model at a fixed arrival rate, latencies corrected;
* **locust** — ``locust --headless -u 32`` with a ``FastHttpUser`` and no wait
  time, one process; CPU time of the finished child.

The figure of merit is requests per client CPU-second; wall requests/s is printed
too. Medians of the rounds; the issue's targets are ≥ 50 000 requests per CPU-second
and ≥ half of wrk's efficiency, and ≥ 10 × Locust. ``--soak SECONDS`` instead runs
the open model for that long at RATE and prints the worker's resident memory every
10 % of the run: flat means the results stream to disk as they should.

Needs nginx and wrk (``apt-get install nginx wrk``) and Locust (``pip install
locust``). Run: ``.venv/bin/python benchmarks/bench_loadtest.py [--seconds 10]
[--rounds 3] [--rate 30000] [--soak 600]``
"""

from __future__ import annotations

import argparse
import logging
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from perflab.loadtest import run

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
"""

LOCUSTFILE = """
from locust import FastHttpUser, task

class Bench(FastHttpUser):
    @task
    def root(self):
        self.client.get("/")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def nginx() -> Iterator[str]:
    """nginx on a free 127.0.0.1 port, for the duration of the block."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(exe).exists():
        sys.exit("nginx is needed: apt-get install nginx")
    folder = Path(tempfile.mkdtemp(prefix="perflab-bench-nginx-"))
    port = free_port()
    (folder / "nginx.conf").write_text(NGINX_CONF.format(dir=folder, port=port))
    proc = subprocess.Popen([exe, "-c", str(folder / "nginx.conf"), "-p", str(folder)])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_wrk(url: str, seconds: float) -> tuple[float, float]:
    """(requests/s, requests per CPU-second) of wrk."""
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    cpu = child_cpu()
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds:g}s", url], capture_output=True, text=True, check=True
    ).stdout
    used = child_cpu() - cpu
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return total / seconds, total / used


class CpuLog(logging.Handler):
    """Collects the CPU seconds each worker reports at its end."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.cpu: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "CPU seconds" in record.getMessage():
            self.cpu.append(float(record.args[2]))  # type: ignore[index]


def bench_perflab(url: str, seconds: float, **kwargs: object) -> tuple[float, float, float]:
    """(requests/s, requests per CPU-second during the test, whole-process CPU s)."""
    log = logging.getLogger("perflab.loadtest.generator")
    handler = CpuLog()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    cpu = child_cpu()
    try:
        df = run(url, duration=seconds, workers=1, progress=False, **kwargs)  # type: ignore[arg-type]
    finally:
        log.removeHandler(handler)
    whole = child_cpu() - cpu
    ok = df.filter(df["error"].is_null()).height
    return ok / seconds, ok / sum(handler.cpu), whole


def bench_locust(url: str, seconds: float) -> tuple[float, float]:
    """(requests/s, requests per CPU-second) of Locust's FastHttpUser, one process."""
    folder = Path(tempfile.mkdtemp(prefix="perflab-bench-locust-"))
    (folder / "locustfile.py").write_text(textwrap.dedent(LOCUSTFILE))
    exe = Path(sys.executable).with_name("locust")
    if not exe.exists():
        sys.exit("Locust is needed: pip install locust")
    cpu = child_cpu()
    subprocess.run(
        [
            str(exe),
            "-f",
            str(folder / "locustfile.py"),
            "--headless",
            "-u",
            "32",
            "-r",
            "1000",
            "-t",
            f"{seconds:g}s",
            "--host",
            url.rstrip("/"),
            "--csv",
            str(folder / "r"),
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        capture_output=True,
        check=False,
        cwd=folder,
    )
    used = child_cpu() - cpu
    stats = (folder / "r_stats.csv").read_text().splitlines()
    header = stats[0].split(",")
    total_row = next(line for line in stats if ",Aggregated," in line).split(",")
    total = int(total_row[header.index("Request Count")])
    shutil.rmtree(folder, ignore_errors=True)
    return total / seconds, total / used


def soak(url: str, seconds: float, rate: float) -> None:
    """Run the open model for ``seconds`` and print the worker's RSS as it goes."""
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def watch() -> None:
        me = psutil.Process()
        t0 = time.monotonic()
        while not stop.is_set():
            for child in me.children():
                try:
                    if "perflab.loadtest._engine" in " ".join(child.cmdline()):
                        samples.append((time.monotonic() - t0, child.memory_info().rss / 2**20))
                except psutil.Error:
                    pass
            stop.wait(1.0)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    df = run(url, rate=rate, duration=seconds, workers=1, connections=64, progress=False)
    stop.set()
    thread.join()
    print(f"soak: {df.height:,} requests in {seconds:g} s at {rate:g}/s")
    print("  seconds  worker RSS (MiB)")
    step = max(len(samples) // 10, 1)
    for t, rss in samples[::step] + samples[-1:]:
        print(f"  {t:7.0f}  {rss:8.1f}")
    if len(samples) > 20:
        early = statistics.median(r for _, r in samples[len(samples) // 10 : len(samples) // 5])
        late = statistics.median(r for _, r in samples[-len(samples) // 10 :])
        print(f"  growth from 10-20 % to the last 10 % of the run: {late - early:+.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=30_000.0)
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of a memory soak")
    args = parser.parse_args()
    with nginx() as url:
        if args.soak:
            soak(url, args.soak, args.rate)
            return
        rows: dict[str, list[tuple[float, float]]] = {
            "wrk": [],
            "perflab closed": [],
            "perflab open": [],
            "locust": [],
        }
        start_cost = []
        for r in range(args.rounds):
            rows["wrk"].append(bench_wrk(url, args.seconds))
            rps, eff, whole = bench_perflab(url, args.seconds, users=32)
            rows["perflab closed"].append((rps, eff))
            start_cost.append(whole - rps * args.seconds / eff)
            rps, eff, _ = bench_perflab(url, args.seconds, rate=args.rate, connections=64)
            rows["perflab open"].append((rps, eff))
            rows["locust"].append(bench_locust(url, args.seconds))
            print(
                f"round {r + 1}: "
                + ", ".join(f"{k} {v[-1][1]:,.0f}/CPU-s" for k, v in rows.items())
            )
        med = {
            k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v))
            for k, v in rows.items()
        }
        print(f"\nmedians of {args.rounds} rounds, {args.seconds:g} s each, one client core:")
        print(f"  {'tool':16} {'wall req/s':>12} {'req/CPU-s':>12}")
        for k, (rps, eff) in med.items():
            print(f"  {k:16} {rps:12,.0f} {eff:12,.0f}")
        wrk, closed, opened, locust = (med[k][1] for k in rows)
        print(f"\nperflab closed / wrk efficiency: {closed / wrk:.2f} (target ≥ 0.5)")
        print(f"perflab open ({args.rate:,.0f}/s) / wrk efficiency: {opened / wrk:.2f}")
        print(f"perflab closed / locust FastHttpUser: {closed / locust:.1f}× (target ≥ 10×)")
        start = statistics.median(start_cost)
        print(f"perflab worker start-up (interpreter, imports): {start:.2f} CPU s")


if __name__ == "__main__":
    main()

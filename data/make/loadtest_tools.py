"""Record the load-test tool samples: run the real tools against a local nginx.

Run by hand as root on Debian (it takes about a minute; not part of CI):

    apt-get install -y hey apache2-utils wrk hyperfine nginx jmeter curl git
    .venv/bin/pip install locust pytest-benchmark asv
    .venv/bin/python data/make/loadtest_tools.py [--only hey,ab,...]

Writes ``data/sample/loadtest/tools/`` (see ``data/README.md``, section "loadtest tool
outputs"). The target is an nginx started here with a temporary config, bound to a
free port on 127.0.0.1, serving:

* ``/`` — a 612-byte ``index.html``;
* ``/big.bin`` — 256 KiB, sent at 4 MB/s after the first 64 KiB (``limit_rate``), so
  its requests take ~50 ms;
* ``/api`` — a 90-byte JSON document, except that about 5 % of the requests (chosen
  by nginx's ``split_clients`` over ``$request_id``) get ``503``;
* ``/fail`` — always ``503``; anything else — ``404``.

The commands, exactly as run, are in :data:`COMMANDS` (``{url}`` is the server's base
URL, ``{out}`` the output folder, ``{tmp}`` a scratch folder). k6 and vegeta are not
run: neither is packaged for Debian and the Go module proxy is not reachable here, so
their samples are written from their source (see the README); this script does not
touch them. Timing is the machine's own, so a re-run differs in its numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from perflab.loadtest.read import WRK_DONE_LUA

OUT = Path(__file__).parents[1] / "sample" / "loadtest" / "tools"
VENV_BIN = Path(sys.executable).parent

NGINX_CONF = """\
worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    split_clients "${{request_id}}" $api_fails {{
        5%  fail;
        *   ok;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location = / {{ index index.html; }}
        location = /big.bin {{ limit_rate_after 64k; limit_rate 4m; }}
        location = /api {{
            default_type application/json;
            if ($api_fails = fail) {{ return 503; }}
            try_files /api.json =404;
        }}
        location = /fail {{ return 503; }}
    }}
}}
"""

LOCUSTFILE = """\
from locust import HttpUser, between, task


class Shopper(HttpUser):
    wait_time = between(0.005, 0.02)

    @task(5)
    def index(self):
        self.client.get("/")

    @task(3)
    def api(self):
        self.client.get("/api")

    @task(2)
    def big(self):
        self.client.get("/big.bin")

    @task(1)
    def missing(self):
        self.client.get("/missing")
"""

BENCH_TEST = """\
import json


def test_sort(benchmark):
    data = list(range(2000, 0, -1))
    benchmark(sorted, data)


def test_json_dumps(benchmark):
    doc = {"items": [{"id": i, "name": f"item {i}"} for i in range(200)]}
    benchmark(json.dumps, doc)


def test_str_join(benchmark):
    parts = [str(i) for i in range(500)]
    benchmark.pedantic("".join, args=(parts,), rounds=40, iterations=10)
"""

ASV_BENCH = """\
import json


class Suite:
    def setup(self):
        self.data = list(range(5000, 0, -1))

    def time_sort(self):
        sorted(self.data)

    def track_len(self):
        return len(self.data)


def time_json_dumps(n):
    json.dumps(list(range(n)))


time_json_dumps.params = [100, 1000]
time_json_dumps.param_names = ["n"]


def peakmem_list():
    [0] * 100000
"""

JMX = """\
<?xml version="1.0" encoding="UTF-8"?>
<jmeterTestPlan version="1.2" properties="2.8" jmeter="2.13">
  <hashTree>
    <TestPlan guiclass="TestPlanGui" testclass="TestPlan" testname="perflab sample">
      <elementProp name="TestPlan.user_defined_variables" elementType="Arguments">
        <collectionProp name="Arguments.arguments"/>
      </elementProp>
      <boolProp name="TestPlan.functional_mode">false</boolProp>
      <boolProp name="TestPlan.serialize_threadgroups">false</boolProp>
    </TestPlan>
    <hashTree>
      {groups}
    </hashTree>
  </hashTree>
</jmeterTestPlan>
"""

JMX_GROUP = """\
<ThreadGroup guiclass="ThreadGroupGui" testclass="ThreadGroup" testname="{name}">
  <stringProp name="ThreadGroup.on_sample_error">continue</stringProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController">
    <boolProp name="LoopController.continue_forever">false</boolProp>
    <stringProp name="LoopController.loops">{loops}</stringProp>
  </elementProp>
  <stringProp name="ThreadGroup.num_threads">{threads}</stringProp>
  <stringProp name="ThreadGroup.ramp_time">1</stringProp>
  <boolProp name="ThreadGroup.scheduler">false</boolProp>
</ThreadGroup>
<hashTree>
  {samplers}
</hashTree>
"""

JMX_SAMPLER = """\
<HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="{label}">
  <elementProp name="HTTPsampler.Arguments" elementType="Arguments">
    <collectionProp name="Arguments.arguments"/>
  </elementProp>
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">{port}</stringProp>
  <stringProp name="HTTPSampler.protocol">http</stringProp>
  <stringProp name="HTTPSampler.path">{path}</stringProp>
  <stringProp name="HTTPSampler.method">GET</stringProp>
  <boolProp name="HTTPSampler.follow_redirects">true</boolProp>
  <boolProp name="HTTPSampler.use_keepalive">true</boolProp>
  <stringProp name="HTTPSampler.connect_timeout">2000</stringProp>
  <stringProp name="HTTPSampler.response_timeout">5000</stringProp>
</HTTPSamplerProxy>
<hashTree/>
"""

COMMANDS = {
    "hey": "hey -n 2000 -c 20 -o csv {url}/api > {tmp}/hey.csv",
    "ab": "ab -n 2000 -c 10 -g {out}/ab.tsv -e {out}/ab.csv {url}/api > {out}/ab.txt",
    "wrk": "wrk -t2 -c10 -d2s --latency {url}/api > {out}/wrk_latency.txt",
    "wrk_done": "wrk -t2 -c10 -d2s --latency -s {tmp}/perflab_done.lua {url}/api"
    " > {out}/wrk_done.txt",
    "hyperfine": "hyperfine --warmup 2 --runs 15 --ignore-failure --export-json"
    " {out}/hyperfine.json -n index 'curl -s -o /dev/null {url}/'"
    " -n big 'curl -s -o /dev/null {url}/big.bin' -n fail 'curl -sf -o /dev/null {url}/fail'"
    " > {out}/hyperfine.txt",
    "locust": "{venv}/locust -f {tmp}/locustfile.py --headless -u 10 -r 10 -t 6s"
    " --host {url} --csv {out}/locust --csv-full-history --only-summary 2> {out}/locust.txt",
    "jmeter": "jmeter -n -t {tmp}/plan.jmx -l {tmp}/jmeter.jtl -j {tmp}/jmeter.log"
    " -Jjmeter.save.saveservice.output_format=csv > {tmp}/jmeter.out",
    "pytest_benchmark": "cd {tmp}/bench && {venv}/python -m pytest -q -p no:cacheprovider"
    " -c /dev/null --benchmark-max-time=0.01 --benchmark-min-rounds=20"
    " --benchmark-json={out}/pytest_benchmark.json test_bench.py",
    "pytest_benchmark_saved": "cd {tmp}/bench && {venv}/python -m pytest -q -p no:cacheprovider"
    " -c /dev/null --benchmark-max-time=0.01 --benchmark-min-rounds=20"
    " --benchmark-storage=file://{tmp}/store --benchmark-save=saved test_bench.py",
    "asv": "cd {tmp}/asvproj && {venv}/asv run --python=same --machine perflab-sample"
    " --set-commit-hash $(git rev-parse HEAD) --show-stderr",
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (closed again; a race is unlikely here)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_nginx(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start nginx on a free port serving the sample site; its base URL."""
    www = tmp / "www"
    www.mkdir()
    (www / "index.html").write_text("<!doctype html><title>perflab</title>" + "x" * 574)
    (www / "big.bin").write_bytes(bytes(range(256)) * 1024)
    (www / "api.json").write_text(json.dumps({"items": [1, 2, 3], "next": None}).ljust(90))
    os.chmod(tmp, 0o755)  # nginx's workers run as nobody
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("nginx did not start: " + (tmp / "error.log").read_text())


def run(name: str, **fmt: str) -> None:
    """Run one of :data:`COMMANDS` through the shell, failing loudly."""
    cmd = COMMANDS[name].format(**fmt)
    print("+", cmd, flush=True)
    subprocess.run(cmd, shell=True, check=True)


def prepare(tmp: Path, port: str) -> None:
    """Write the scratch files the tools need (Lua script, locustfile, plans…)."""
    (tmp / "perflab_done.lua").write_text(WRK_DONE_LUA)
    (tmp / "locustfile.py").write_text(LOCUSTFILE)
    main = JMX_GROUP.format(
        name="shoppers",
        threads=5,
        loops=60,
        samplers="".join(
            JMX_SAMPLER.format(label=label, port=port, path=path)
            for label, path in (("home", "/"), ("api", "/api"), ("download", "/big.bin"))
        ),
    )
    refused = JMX_GROUP.format(
        name="refused",
        threads=1,
        loops=3,
        samplers=JMX_SAMPLER.format(label="closed port", port="1", path="/"),
    )
    (tmp / "plan.jmx").write_text(JMX.format(groups=main + refused))
    bench = tmp / "bench"
    bench.mkdir()
    (bench / "test_bench.py").write_text(BENCH_TEST)
    proj = tmp / "asvproj"
    (proj / "benchmarks").mkdir(parents=True)
    (proj / "benchmarks" / "__init__.py").write_text("")
    (proj / "benchmarks" / "bench.py").write_text(ASV_BENCH)
    (proj / "asv.conf.json").write_text(
        json.dumps(
            {
                "version": 1,
                "project": "demo",
                "project_url": "https://example.org/",
                "repo": ".",
                "environment_type": "existing",
                "benchmark_dir": "benchmarks",
                "results_dir": "results",
                "html_dir": "html",
            }
        )
    )
    git = ["git", "-C", str(proj), "-c", "user.name=perflab", "-c", "user.email=p@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "demo"], check=True)
    subprocess.run(
        [str(VENV_BIN / "asv"), "machine", "--yes", "--machine", "perflab-sample"],
        cwd=proj,
        check=True,
        stdout=subprocess.DEVNULL,
    )


JTL_HEADER = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "failureMessage",
    "bytes",
    "sentBytes",
    "grpThreads",
    "allThreads",
    "URL",
    "Latency",
    "IdleTime",
    "Connect",
]
"""JMeter 5's default CSV columns (``jmeter.save.saveservice.*`` defaults, header on)."""

REFUSED_TRACE = (
    "java.net.ConnectException: Connection refused (Connection refused)\n"
    "\tat java.net.PlainSocketImpl.socketConnect(Native Method)\n"
    "\tat org.apache.http.conn.scheme.PlainSocketFactory.connectSocket("
    "PlainSocketFactory.java:121)\n"
)


def emulate_jmeter(url: str, dest: Path) -> None:
    """Make the JMeter plan's requests with http.client and write them as a JTL CSV.

    Thread group ``shoppers``: 5 threads (started 0.2 s apart: ramp-up 1 s), each
    looping 60 times over the samplers ``home`` (``/``), ``api`` (``/api``) and
    ``download`` (``/big.bin``) on one keep-alive connection; thread group ``refused``:
    1 thread, 3 loops of ``closed port`` (``http://127.0.0.1:1/``). Each row is what
    JMeter's HTTP sampler records: start (ms epoch), elapsed to the last byte,
    ``Latency`` to the response headers, ``Connect`` (0 on a reused connection),
    bytes with headers, ``success=false`` for a 4xx/5xx or a connection error (whose
    ``responseCode``/``responseMessage`` are JMeter's "Non HTTP response" texts).
    """
    import csv
    import http.client
    import threading

    host, port = url.removeprefix("http://").split(":")
    rows: list[list[object]] = []
    lock = threading.Lock()
    active = {"shoppers": 0, "refused": 0}

    def record(row: list[object]) -> None:
        with lock:
            rows.append(row)

    def shopper(n: int) -> None:
        time.sleep(0.2 * n)
        with lock:
            active["shoppers"] += 1
        conn: http.client.HTTPConnection | None = None
        name = f"shoppers 1-{n + 1}"
        for _ in range(60):
            for label, path in (("home", "/"), ("api", "/api"), ("download", "/big.bin")):
                t0 = time.time()
                p0 = time.perf_counter()
                connect = 0
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=5)
                    conn.connect()
                    connect = round((time.perf_counter() - p0) * 1000)
                request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
                conn.request("GET", path, headers={"Connection": "keep-alive"})
                resp = conn.getresponse()
                latency = round((time.perf_counter() - p0) * 1000)
                body = resp.read()
                elapsed = round((time.perf_counter() - p0) * 1000)
                head = sum(len(k) + len(v) + 4 for k, v in resp.getheaders()) + 17
                ctype = resp.getheader("Content-Type", "")
                ok = resp.status < 400
                with lock:
                    threads = dict(active)
                record(
                    [
                        int(t0 * 1000),
                        elapsed,
                        label,
                        resp.status,
                        resp.reason,
                        name,
                        "text" if ("text" in ctype or "json" in ctype) else "bin",
                        "true" if ok else "false",
                        "",
                        len(body) + head,
                        len(request),
                        threads["shoppers"],
                        sum(threads.values()),
                        f"{url}{path}",
                        latency,
                        0,
                        connect,
                    ]
                )
        if conn is not None:
            conn.close()
        with lock:
            active["shoppers"] -= 1

    def refused() -> None:
        time.sleep(0.5)
        with lock:
            active["refused"] += 1
        for _ in range(3):
            t0 = time.time()
            p0 = time.perf_counter()
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", 1), timeout=2).close()
            elapsed = round((time.perf_counter() - p0) * 1000)
            with lock:
                threads = dict(active)
            record(
                [
                    int(t0 * 1000),
                    elapsed,
                    "closed port",
                    "Non HTTP response code: java.net.ConnectException",
                    "Non HTTP response message: Connection refused (Connection refused)",
                    "refused 2-1",
                    "text",
                    "false",
                    "",
                    len(REFUSED_TRACE),
                    0,
                    threads["refused"],
                    sum(threads.values()),
                    "http://127.0.0.1:1/",
                    0,
                    0,
                    elapsed,
                ]
            )
            time.sleep(0.3)
        with lock:
            active["refused"] -= 1

    workers = [threading.Thread(target=shopper, args=(n,)) for n in range(5)]
    workers.append(threading.Thread(target=refused))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    rows.sort(key=lambda r: int(str(r[0])) + int(str(r[1])))  # JMeter writes a sample when it ends
    with open(dest, "w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(JTL_HEADER)
        out.writerows(rows)


def go_time(t: float | int) -> str:
    """Go's ``time.Time`` JSON (RFC 3339, nanoseconds with trailing zeros trimmed, UTC).

    ``t`` is epoch seconds (float) or epoch nanoseconds (int).
    """
    total = t if isinstance(t, int) else round(t * 1e9)
    whole, ns = divmod(total, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    frac = f"{ns:09d}".rstrip("0")
    return f"{stamp}.{frac}Z" if frac else f"{stamp}Z"


def timed_get(url: str) -> dict[str, object]:
    """One GET on a new connection: times, status, headers, body or the error."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    t0 = time.time()
    p0 = time.perf_counter()
    out: dict[str, object] = {"start": t0, "url": url}
    try:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        conn.connect()
        p1 = time.perf_counter()
        conn.request("GET", parts.path or "/")
        p2 = time.perf_counter()
        resp = conn.getresponse()
        p3 = time.perf_counter()
        body = resp.read()
        p4 = time.perf_counter()
        conn.close()
        out.update(
            status=resp.status,
            reason=resp.reason,
            headers=resp.getheaders(),
            body=body,
            connecting=p1 - p0,
            sending=p2 - p1,
            waiting=p3 - p2,
            receiving=p4 - p3,
            end=t0 + (p4 - p0),
        )
    except OSError as exc:
        end = time.perf_counter()
        out.update(status=0, error=exc, connecting=end - p0, end=t0 + (end - p0))
    return out


def emulate_k6(url: str, out: Path, summary: Path) -> None:
    """Write k6's ``--out json`` and ``--summary-export`` for real requests made here.

    The script emulated (k6 is not installable here): ``vus: 2, iterations: 10``
    (shared-iterations), each iteration ``http.get`` of ``/``, ``/api`` and
    ``/missing``, and, in the last iteration of each VU, of a closed port
    (``http://127.0.0.1:1/``); thresholds ``http_req_duration: ["p(95)<500"]``.
    Written as k6 v0.5x writes them (output/json/wrapper.go, lib/netext/httpext/
    transport.go and tracer.go): a ``Metric`` line before a metric's first point;
    per request the points ``http_reqs, http_req_duration, http_req_blocked,
    http_req_connecting, http_req_tls_handshaking, http_req_sending,
    http_req_waiting, http_req_receiving, http_req_failed``, all stamped with the
    request's end time and the same tags; per iteration ``data_sent,
    data_received, iteration_duration, iterations``; ``vus``/``vus_max`` each second.
    """
    import threading

    import numpy as np

    kinds = {
        "vus": ("gauge", "default"),
        "vus_max": ("gauge", "default"),
        "http_reqs": ("counter", "default"),
        "http_req_duration": ("trend", "time"),
        "http_req_blocked": ("trend", "time"),
        "http_req_connecting": ("trend", "time"),
        "http_req_tls_handshaking": ("trend", "time"),
        "http_req_sending": ("trend", "time"),
        "http_req_waiting": ("trend", "time"),
        "http_req_receiving": ("trend", "time"),
        "http_req_failed": ("rate", "default"),
        "data_sent": ("counter", "data"),
        "data_received": ("counter", "data"),
        "iteration_duration": ("trend", "time"),
        "iterations": ("counter", "default"),
    }
    lines: list[str] = []
    seen: set[str] = set()
    lock = threading.Lock()
    durations: list[float] = []
    failed: list[int] = []
    traffic = {"sent": 0, "received": 0}

    def emit(metric: str, t: float, value: float, tags: dict[str, str]) -> None:
        if metric not in seen:
            seen.add(metric)
            kind, contains = kinds[metric]
            thresholds = ["p(95)<500"] if metric == "http_req_duration" else []
            lines.append(
                json.dumps(
                    {
                        "type": "Metric",
                        "data": {
                            "name": metric,
                            "type": kind,
                            "contains": contains,
                            "thresholds": thresholds,
                            "submetrics": None,
                        },
                        "metric": metric,
                    },
                    separators=(",", ":"),
                )
            )
        point = {
            "metric": metric,
            "type": "Point",
            "data": {"time": go_time(t), "value": value, "tags": dict(sorted(tags.items()))},
        }
        lines.append(json.dumps(point, separators=(",", ":")))

    def ms(seconds: float) -> float:
        return round(seconds * 1000, 6)

    base = {"group": "", "scenario": "default"}
    counter = {"left": 10}
    t_start = time.time()

    def vu() -> None:
        while True:
            with lock:
                if counter["left"] == 0:
                    return
                counter["left"] -= 1
                last = counter["left"] < 2
            it0 = time.time()
            p0 = time.perf_counter()
            sent = received = 0
            paths = [f"{url}/", f"{url}/api", f"{url}/missing"]
            if last:
                paths.append("http://127.0.0.1:1/")
            for target in paths:
                r = timed_get(target)
                tags = {**base, "method": "GET", "name": target, "url": target}
                status = int(r["status"])  # type: ignore[call-overload]
                if status:
                    tags.update(status=str(status), proto="HTTP/1.1")
                    if status >= 400:
                        tags["error_code"] = str(1000 + status)
                    body = r["body"]
                    head = sum(len(k) + len(v) + 4 for k, v in r["headers"])  # type: ignore[attr-defined,misc]
                    received += len(body) + head + 17  # type: ignore[arg-type]
                    parts = [r["sending"], r["waiting"], r["receiving"]]
                else:
                    tags.update(
                        status="0",
                        error="dial: connection refused",
                        error_code="1212",
                    )
                    parts = [0.0, 0.0, 0.0]
                ok = 200 <= status < 400
                tags["expected_response"] = "true" if ok else "false"
                sent += 70 + len(target)
                duration = ms(sum(parts))  # type: ignore[arg-type]
                end = float(r["end"])  # type: ignore[arg-type]
                connecting = ms(float(r["connecting"]))  # type: ignore[arg-type]
                with lock:
                    durations.append(duration)
                    failed.append(0 if ok else 1)
                    emit("http_reqs", end, 1, tags)
                    emit("http_req_duration", end, duration, tags)
                    emit("http_req_blocked", end, connecting, tags)
                    emit("http_req_connecting", end, connecting, tags)
                    emit("http_req_tls_handshaking", end, 0, tags)
                    emit("http_req_sending", end, ms(parts[0]), tags)  # type: ignore[arg-type]
                    emit("http_req_waiting", end, ms(parts[1]), tags)  # type: ignore[arg-type]
                    emit("http_req_receiving", end, ms(parts[2]), tags)  # type: ignore[arg-type]
                    emit("http_req_failed", end, 0 if ok else 1, tags)
                time.sleep(0.05)
            it_end = it0 + (time.perf_counter() - p0)
            with lock:
                traffic["sent"] += sent
                traffic["received"] += received
                emit("data_sent", it_end, sent, base)
                emit("data_received", it_end, received, base)
                emit("iteration_duration", it_end, ms(it_end - it0), base)
                emit("iterations", it_end, 1, base)

    with lock:
        emit("vus", t_start, 2, {})
        emit("vus_max", t_start, 2, {})
    threads = [threading.Thread(target=vu) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t_end = time.time()
    with lock:
        emit("vus", t_end, 0, {})
    with (
        open(out, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(("\n".join(lines) + "\n").encode())
    d = np.array(durations)
    run_s = t_end - t_start
    n_failed = int(sum(failed))
    summary.write_text(
        json.dumps(
            {
                "root_group": {
                    "name": "",
                    "path": "",
                    "id": "d41d8cd98f00b204e9800998ecf8427e",
                    "groups": {},
                    "checks": {},
                },
                "metrics": {
                    "http_req_duration": {
                        "avg": float(d.mean()),
                        "min": float(d.min()),
                        "med": float(np.percentile(d, 50)),
                        "max": float(d.max()),
                        "p(90)": float(np.percentile(d, 90)),
                        "p(95)": float(np.percentile(d, 95)),
                        "thresholds": {"p(95)<500": False},
                    },
                    "http_req_failed": {
                        "passes": n_failed,
                        "fails": len(failed) - n_failed,
                        "value": n_failed / len(failed),
                    },
                    "http_reqs": {"count": len(d), "rate": len(d) / run_s},
                    "data_received": {
                        "count": traffic["received"],
                        "rate": traffic["received"] / run_s,
                    },
                    "data_sent": {"count": traffic["sent"], "rate": traffic["sent"] / run_s},
                    "iterations": {"count": 10, "rate": 10 / run_s},
                    "vus": {"value": 0, "min": 0, "max": 2},
                    "vus_max": {"value": 2, "min": 2, "max": 2},
                },
            },
            indent=4,
        )
        + "\n"
    )


def emulate_vegeta(url: str, out_json: Path, out_csv: Path) -> None:
    """Write ``vegeta encode`` (JSON) and ``vegeta encode --to csv`` for real requests.

    The attack emulated (vegeta is not installable here): ``vegeta attack -name
    perflab-sample -rate 100/s -duration 2s`` over the targets ``GET /``, ``GET
    /api``, ``GET /missing`` (round robin), plus two hits of a closed port at the
    end. Fields as vegeta v12.11 lib/results.go writes them: JSON ``attack, seq,
    code, timestamp (RFC 3339 nano), latency (ns), bytes_out, bytes_in, error, body
    (base64), method, url, headers``; CSV without header ``timestamp (unix ns), code,
    latency (ns), bytes_out, bytes_in, error, body (base64), attack, seq, method, url,
    headers (base64 of the wire format)``. A status outside 200–399 sets ``error`` to
    the status line (``"503 Service Unavailable"``), as vegeta's ``hit`` does.
    """
    import base64
    import csv
    import io

    targets = [f"{url}/", f"{url}/api", f"{url}/missing"]
    results: list[dict[str, object]] = []
    began = time.perf_counter()
    for i in range(200):
        due = began + i / 100
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        results.append(timed_get(targets[i % 3]))
    results += [timed_get("http://127.0.0.1:1/") for _ in range(2)]
    rows: list[str] = []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for seq, r in enumerate(results):
        status = int(r["status"])  # type: ignore[call-overload]
        latency = round((float(r["end"]) - float(r["start"])) * 1e9)  # type: ignore[arg-type]
        start_ns = round(float(r["start"]) * 1e9)  # type: ignore[arg-type]
        body = r.get("body", b"")
        if status:
            error = f"{status} {r['reason']}" if not 200 <= status < 400 else ""
            headers: dict[str, list[str]] = {}
            for k, v in r["headers"]:  # type: ignore[attr-defined]
                headers.setdefault("-".join(w.capitalize() for w in k.split("-")), []).append(v)
        else:
            host = str(r["url"]).removeprefix("http://").rstrip("/")
            error = f'Get "{r["url"]}": dial tcp {host}: connect: connection refused'
            headers = {}
        doc = {
            "attack": "perflab-sample",
            "seq": seq,
            "code": status,
            "timestamp": go_time(start_ns),
            "latency": latency,
            "bytes_out": 0,
            "bytes_in": len(body),  # type: ignore[arg-type]
            "error": error,
            "body": base64.b64encode(body).decode(),  # type: ignore[arg-type]
            "method": "GET",
            "url": r["url"],
            "headers": headers or None,
        }
        rows.append(json.dumps(doc, separators=(",", ":")))
        wire = "".join(f"{k}: {v}\r\n" for k, vs in sorted(headers.items()) for v in vs)
        writer.writerow(
            [
                start_ns,
                status,
                latency,
                0,
                len(body),  # type: ignore[arg-type]
                error,
                base64.b64encode(body).decode(),  # type: ignore[arg-type]
                "perflab-sample",
                seq,
                "GET",
                r["url"],
                base64.b64encode(wire.encode()).decode(),
            ]
        )
    out_json.write_text("\n".join(rows) + "\n")
    with (
        open(out_csv, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(buf.getvalue().encode())


def gzip_to(src: Path, dest: Path) -> None:
    """gzip -9 ``src`` into ``dest`` (no name or time in the header: stable bytes)."""
    with (
        open(src, "rb") as fh,
        open(dest, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        shutil.copyfileobj(fh, gz)


def asv_results(tmp: Path, dest: Path) -> None:
    """Copy the one results file of the asv run to ``dest`` (then remove it)."""
    (found,) = [
        p
        for p in (tmp / "asvproj" / "results" / "perflab-sample").glob("*.json")
        if p.name != "machine.json"
    ]
    shutil.copyfile(found, dest)
    found.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated tools (default: all)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perflab-loadtest-") as name:
        tmp = Path(name)
        nginx, url = start_nginx(tmp)
        try:
            port = url.rsplit(":", 1)[1]
            prepare(tmp, port)
            fmt = {"url": url, "out": str(OUT), "tmp": str(tmp), "venv": str(VENV_BIN)}

            def want(tool: str) -> bool:
                return only is None or tool in only

            if want("hey"):
                run("hey", **fmt)
                gzip_to(tmp / "hey.csv", OUT / "hey.csv.gz")
            if want("ab"):
                run("ab", **fmt)
            if want("wrk"):
                run("wrk", **fmt)
                run("wrk_done", **fmt)
            if want("hyperfine"):
                run("hyperfine", **fmt)
            if want("locust"):
                for old in OUT.glob("locust_*.csv"):
                    old.unlink()
                subprocess.run(
                    COMMANDS["locust"].format(**fmt), shell=True, check=False
                )  # exits 1 when any request failed, which ours do on purpose
                (OUT / "locust_exceptions.csv").unlink(missing_ok=True)
            if want("jmeter"):
                # Debian's JMeter 2.13 cannot load any plan under the JDK here (XStream
                # ForbiddenClassException: org.apache.jmeter.save.ScriptWrapper), so the
                # plan's requests are made here and written in JMeter's CSV layout.
                ok = subprocess.run(COMMANDS["jmeter"].format(**fmt), shell=True).returncode
                if ok == 0 and (tmp / "jmeter.jtl").is_file():
                    gzip_to(tmp / "jmeter.jtl", OUT / "jmeter.jtl.gz")
                else:
                    emulate_jmeter(url, tmp / "jmeter.jtl")
                    gzip_to(tmp / "jmeter.jtl", OUT / "jmeter.jtl.gz")
            if want("k6"):
                emulate_k6(url, OUT / "k6.json.gz", OUT / "k6_summary.json")
            if want("vegeta"):
                emulate_vegeta(url, OUT / "vegeta.json", OUT / "vegeta.csv.gz")
            if want("pytest_benchmark"):
                run("pytest_benchmark", **fmt)
                run("pytest_benchmark_saved", **fmt)
                (saved,) = (tmp / "store").glob("*/0001_saved.json")
                shutil.copyfile(saved, OUT / "pytest_benchmark_saved.json")
            if want("asv"):
                run("asv", **fmt)
                asv_results(tmp, OUT / "asv.json")
                print("+", COMMANDS["asv"].format(**fmt) + " --record-samples", flush=True)
                subprocess.run(
                    COMMANDS["asv"].format(**fmt) + " --record-samples", shell=True, check=True
                )
                asv_results(tmp, OUT / "asv_samples.json")
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

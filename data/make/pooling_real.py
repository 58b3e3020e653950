"""Capture data/sample/pooling/ from real runs against the machine's PostgreSQL.

    .venv/bin/python data/make/pooling_real.py [--dsn postgresql://postgres@127.0.0.1:5432/test]

Writes, under ``data/sample/pooling/``:

``app.acquires.jsonl.gz``
    every acquire of an :class:`perflab.pooling.InstrumentedPool` (``min_size=2,
    max_size=4, max_waiting=16, timeout_s=0.25``) serving an open-loop workload:
    Poisson arrivals at 150/s for 8 s, a burst at 420/s for 4 s, 150/s for 8 s; each
    request runs ``SELECT pg_sleep(-ln(1.0 - random()) * 0.008)`` (exponential holds
    of mean 8 ms plus the round trip) — :meth:`InstrumentedPool.events` as JSON lines.
``app.get_stats.jsonl``
    psycopg_pool's own ``pool.get_stats()`` logged every 0.5 s by a thread, one JSON
    object per line with ``time`` (epoch seconds) and ``pool`` added: what an
    application would log.
``bench.csv``
    :func:`perflab.pooling.benchmark_pool` at the burst's rate (420/s, open loop,
    64 in flight, 4 s per size) for sizes 4, 5, 6, 7, 8, 10, 12.
``pgbouncer.pools.txt``, ``pgbouncer.pools.csv``, ``pgbouncer.stats.txt``, ``pgbouncer.stats.csv``
    PgBouncer's ``SHOW POOLS`` (psql's aligned output under ``\\watch 0.5``, and
    ``psql --csv``) and ``SHOW STATS`` (``psql -A``, unaligned, and ``--csv``) while 12
    clients ran the same query through a transaction pool of 4 server connections
    (skipped when ``pgbouncer`` is not installed; Debian: ``apt-get install pgbouncer``).
``provenance.json``
    tool versions and the parameters above.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from perflab.frames import write_atomic  # noqa: E402
from perflab.pooling.bench import benchmark_pool  # noqa: E402
from perflab.pooling.pool import InstrumentedPool  # noqa: E402

QUERY = "SELECT pg_sleep(-ln(1.0 - random()) * 0.008)"
PHASES = [(8.0, 150.0), (4.0, 420.0), (8.0, 150.0)]
BENCH_SIZES = [4, 5, 6, 7, 8, 10, 12]
BENCH_RATE = 420.0


def capture_app(dsn: str, out: Path, seed: int = 7) -> dict[str, object]:
    pool = InstrumentedPool(
        dsn, min_size=2, max_size=4, max_waiting=16, timeout_s=0.25, name="app",
        stats_interval_s=0.5,
    )  # fmt: skip
    lines: list[str] = []
    stop = threading.Event()

    def log_stats() -> None:  # what an application does: log get_stats() now and then
        while not stop.is_set():
            lines.append(json.dumps({"time": time.time(), "pool": "app", **pool.pool.get_stats()}))
            stop.wait(0.5)

    def one() -> None:
        try:
            with pool.connection() as conn:
                conn.execute(QUERY)
        except Exception:
            pass  # recorded by the pool: timeouts and rejections are the point

    rng = np.random.default_rng(seed)
    offsets, base = [], 0.0
    for seconds, rate in PHASES:
        t = np.cumsum(rng.exponential(1.0 / rate, int(rate * seconds * 1.3)))
        offsets.extend(base + t[t < seconds])
        base += seconds
    sampler = threading.Thread(target=log_stats, daemon=True)
    sampler.start()
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=64) as ex:
        for off in offsets:
            delay = start + off - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ex.submit(one)
    time.sleep(0.6)
    stop.set()
    sampler.join()
    pool.close()
    events = pool.events().sort("start")
    buf = events.write_ndjson()
    write_atomic(out / "app.acquires.jsonl.gz", gzip.compress(buf.encode(), mtime=0))
    write_atomic(out / "app.get_stats.jsonl", "\n".join(lines) + "\n")
    return {"requests": len(offsets), "summary": pool.summary()}


def capture_bench(dsn: str, out: Path) -> None:
    result = benchmark_pool(
        dsn, BENCH_SIZES, 64, QUERY, duration_s=4.0, arrival_rate=BENCH_RATE, timeout_s=5.0
    )
    assert not isinstance(result, tuple)
    write_atomic(out / "bench.csv", result.write_csv())


PGB_INI = """[databases]
test = host=127.0.0.1 port=5432 dbname=test

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
auth_type = trust
auth_file = {dir}/userlist.txt
admin_users = postgres
stats_users = postgres
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
stats_period = 5
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
unix_socket_dir =
"""


def capture_pgbouncer(out: Path, port: int = 6439) -> str | None:
    exe = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if exe is None:
        print("pgbouncer not installed: PgBouncer captures skipped", file=sys.stderr)
        return None
    import psycopg

    work = Path(tempfile.mkdtemp(prefix="perflab-pgbouncer-"))
    (work / "pgbouncer.ini").write_text(PGB_INI.format(port=port, dir=work))
    (work / "userlist.txt").write_text('"postgres" ""\n')
    cmd = [exe, "-d", str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        shutil.chown(work, "postgres")
        for f in work.iterdir():
            shutil.chown(f, "postgres")
        cmd[1:1] = ["-u", "postgres"]
    subprocess.run(cmd, check=True, timeout=10)
    pid = None
    try:
        for _ in range(50):
            if (work / "pgbouncer.pid").exists():
                pid = int((work / "pgbouncer.pid").read_text().strip())
                break
            time.sleep(0.1)
        dsn = f"postgresql://postgres@127.0.0.1:{port}/test"
        stop = threading.Event()

        def client() -> None:
            with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as conn:
                while not stop.is_set():
                    conn.execute(QUERY.replace("0.008", "0.02"))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(12)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        psql = ["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "pgbouncer"]
        env = {**os.environ, "TZ": "UTC", "LC_ALL": "C"}
        watch = _watch(psql, env, 3.2)
        write_atomic(out / "pgbouncer.pools.txt", watch)
        pools_csv = subprocess.run([*psql, "--csv", "-c", "SHOW POOLS"], capture_output=True,
                                   text=True, env=env, timeout=10, check=True).stdout  # fmt: skip
        write_atomic(out / "pgbouncer.pools.csv", pools_csv)
        time.sleep(5.5)  # one stats period, so the averages are filled in
        stats_txt = subprocess.run([*psql, "-A", "-c", "SHOW STATS"], capture_output=True,
                                   text=True, env=env, timeout=10, check=True).stdout  # fmt: skip
        write_atomic(out / "pgbouncer.stats.txt", stats_txt)
        stats_csv = subprocess.run([*psql, "--csv", "-c", "SHOW STATS"], capture_output=True,
                                   text=True, env=env, timeout=10, check=True).stdout  # fmt: skip
        write_atomic(out / "pgbouncer.stats.csv", stats_csv)
        stop.set()
        for t in threads:
            t.join(timeout=5)
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        return version.splitlines()[0] if version else "pgbouncer"
    finally:
        if pid is not None:
            os.kill(pid, 15)  # the pgbouncer this script started
        shutil.rmtree(work, ignore_errors=True)


def _watch(psql: list[str], env: dict[str, str], seconds: float) -> str:
    """psql's ``\\watch 0.5`` output for ``seconds`` (psql 15 has no iteration count)."""
    proc = subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("SHOW POOLS \\watch 0.5\n")
    proc.stdin.flush()
    time.sleep(seconds)
    proc.terminate()
    text, _ = proc.communicate(timeout=10)
    # keep whole blocks only: the last one may be cut by the terminate
    cut = text.rfind(" rows)\n")
    return text[: cut + len(" rows)\n") + 1] if cut >= 0 else text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--dsn",
        default=os.environ.get("PERFLAB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "sample" / "pooling")
    ap.add_argument("--no-pgbouncer", action="store_true")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    import psycopg
    import psycopg_pool

    with psycopg.connect(args.dsn) as conn:
        row = conn.execute("SELECT version(), current_setting('max_connections')").fetchone()
    assert row is not None
    app = capture_app(args.dsn, args.out)
    capture_bench(args.dsn, args.out)
    pgb = None if args.no_pgbouncer else capture_pgbouncer(args.out)
    psql_version = subprocess.run(
        ["psql", "--version"], capture_output=True, text=True
    ).stdout.strip()
    provenance = {
        "captured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "postgresql": row[0],
        "max_connections": int(row[1]),
        "psycopg": psycopg.__version__,
        "psycopg_pool": psycopg_pool.__version__,
        "pgbouncer": pgb,
        "psql": psql_version,
        "query": QUERY,
        "app_pool": {"min_size": 2, "max_size": 4, "max_waiting": 16, "timeout_s": 0.25},
        "app_phases": [{"seconds": s, "rate_per_s": r} for s, r in PHASES],
        "app": app,
        "bench": {
            "sizes": BENCH_SIZES,
            "arrival_rate": BENCH_RATE,
            "in_flight": 64,
            "seconds": 4.0,
        },
    }
    write_atomic(args.out / "provenance.json", json.dumps(provenance, indent=2, default=str) + "\n")
    for p in sorted(args.out.iterdir()):
        print(f"{p.stat().st_size:>9,}  {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

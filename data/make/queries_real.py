"""Regenerate the real query-log samples in ``data/sample/queries/``.

Everything here is written by the real servers, run on this machine; nothing
hand-writes a log line. See ``data/README.md`` for what each file holds.

Usage (from the repository root, with the dev extras installed)::

    .venv/bin/python data/make/queries_real.py postgres   # needs PostgreSQL 15 binaries
    .venv/bin/python data/make/queries_real.py mariadb    # needs mariadbd

``postgres``
    ``initdb`` a private cluster in a temporary folder (run as the ``postgres`` OS user
    when started as root), start it on 127.0.0.1:5433 with every statement logged to
    stderr, csvlog and jsonlog at once (``log_min_duration_statement = 0``, lock
    waits, temp files, checkpoints, autovacuum, connections) and
    ``pg_stat_statements`` preloaded; create a small shop schema, run a bounded,
    seeded workload of known good queries and known anti-patterns through psycopg
    (simple and extended protocol, named prepared statements), psql and two racing
    sessions (a lock wait and a deadlock); then keep the logs, a
    ``pg_stat_statements`` CSV, ``pg_dump --schema-only`` and a few
    ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` plans. A second, shorter phase logs with
    pgBadger's recommended prefix to ``postgresql-pgbadger-prefix.log``. The cluster is
    stopped and removed before the command returns.
``mariadb``
    ``mariadb-install-db`` a private datadir, start ``mariadbd`` on 127.0.0.1:3307 with
    the slow query log on for every statement (``long_query_time = 0``,
    ``log_slow_verbosity = query_plan,explain``), run the same kind of workload
    through PyMySQL (text protocol, ``PREPARE``/``EXECUTE`` and binary-protocol
    prepared statements), keep ``mariadb-slow.log`` and stop the server.

The workload is the one the tests rely on: every anti-pattern it plants is listed in
``PLANTED`` with the rule that must flag it, and ``GOOD`` lists queries that must not
be flagged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "sample" / "queries"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 5433
MY_PORT = 3307

PREFIX = "%m [%p] %q%u@%d app=%a "
PGBADGER_PREFIX = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "

SCHEMA = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text,
    country text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE products (
    id serial PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    title text NOT NULL,
    category text,
    price numeric(10, 2) NOT NULL
);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    total numeric(10, 2) NOT NULL
);
CREATE TABLE order_items (
    id serial PRIMARY KEY,
    order_id integer NOT NULL REFERENCES orders,
    product_id integer NOT NULL REFERENCES products,
    qty integer NOT NULL,
    price numeric(10, 2) NOT NULL
);
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    user_id integer,
    kind text NOT NULL,
    payload jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE settings (key text PRIMARY KEY, value text);
CREATE INDEX products_category_idx ON products (category);
"""

SEED = """
INSERT INTO users (email, name, country, created_at)
SELECT 'user' || g || '@example.com', 'User ' || g,
       (ARRAY['NL','DE','FR','US','GB','ES'])[1 + g % 6],
       timestamptz '2026-01-01' + g * interval '37 minutes'
FROM generate_series(1, 5000) g;
INSERT INTO products (sku, title, category, price)
SELECT 'SKU-' || lpad(g::text, 5, '0'),
       (ARRAY['phone','laptop','cable','case','charger'])[1 + g % 5] || ' model ' || g,
       (ARRAY['mobile','computers','accessories'])[1 + g % 3],
       round((5 + (g * 7919 % 995))::numeric, 2)
FROM generate_series(1, 500) g;
INSERT INTO orders (user_id, status, created_at, total)
SELECT 1 + (g * 7 % 5000), (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4],
       timestamptz '2026-06-01' + g * interval '5 minutes', round((g % 400 + 9.99)::numeric, 2)
FROM generate_series(1, 50000) g;
INSERT INTO order_items (order_id, product_id, qty, price)
SELECT 1 + (g % 50000), 1 + (g * 13 % 500), 1 + g % 3, round((g % 90 + 4.5)::numeric, 2)
FROM generate_series(1, 150000) g;
INSERT INTO events (user_id, kind, payload, created_at)
SELECT 1 + g % 5000, (ARRAY['view','click','cart','buy'])[1 + g % 4],
       jsonb_build_object('n', g), timestamptz '2026-06-01' + g * interval '1 minute'
FROM generate_series(1, 30000) g;
INSERT INTO settings VALUES ('theme', 'light'), ('currency', 'EUR'), ('banner', 'none');
ANALYZE;
"""

# Planted anti-patterns: (label, rule that must flag it, SQL run with literals).
PLANTED: list[tuple[str, str, str]] = [
    ("select star", "queries.select-star", "SELECT * FROM orders WHERE id = 4242"),
    (
        "function on column",
        "queries.function-on-column",
        "SELECT id, name FROM users WHERE lower(email) = lower('User77@Example.com')",
    ),
    (
        "cast on column",
        "queries.function-on-column",
        "SELECT id, total FROM orders WHERE created_at::date = '2026-06-10'",
    ),
    (
        "leading wildcard",
        "queries.leading-wildcard",
        "SELECT id, title FROM products WHERE title LIKE '%phone%'",
    ),
    (
        "large offset",
        "queries.large-offset",
        "SELECT id, total FROM orders ORDER BY id LIMIT 20 OFFSET 40000",
    ),
    (
        "not in subquery",
        "queries.not-in-subquery",
        "SELECT count(*) FROM users WHERE id NOT IN (SELECT user_id FROM orders WHERE status = 'cancelled')",
    ),
    ("update without where", "queries.update-without-where", "UPDATE settings SET value = 'x'"),
    (
        "delete without where",
        "queries.delete-without-where",
        "DELETE FROM scratch",
    ),
    (
        "order by random",
        "queries.order-by-random",
        "SELECT id, title FROM products ORDER BY random() LIMIT 5",
    ),
    (
        "huge in list",
        "queries.huge-in-list",
        "SELECT id, sku FROM products WHERE id IN ("
        + ", ".join(str(i) for i in range(1, 301))
        + ")",
    ),
    (
        "or chain",
        "queries.huge-in-list",
        "SELECT count(*) FROM orders WHERE "
        + " OR ".join(f"user_id = {i}" for i in range(100, 124)),
    ),
    (
        "limit without order",
        "queries.limit-without-order",
        "SELECT id, email FROM users WHERE country = 'NL' LIMIT 10",
    ),
    (
        "correlated subquery",
        "queries.correlated-subquery",
        "SELECT u.id, (SELECT count(*) FROM orders o WHERE o.user_id = u.id) AS n "
        "FROM users u WHERE u.country = 'ES' AND u.id < 300",
    ),
    (
        "join without condition",
        "queries.cartesian-join",
        "SELECT count(*) FROM users, products WHERE products.price > 990",
    ),
    (
        "implicit conversion",
        "queries.implicit-conversion",
        "SELECT id, status FROM orders WHERE id = 4242.0",
    ),
]

# Good queries: indexed, bounded, explicit columns — no rule may flag them.
GOOD: list[str] = [
    "SELECT id, email, name FROM users WHERE id = %s",
    "SELECT title, price FROM products WHERE sku = %s",
    "SELECT id, title, price FROM products WHERE category = %s ORDER BY id LIMIT 20",
    "UPDATE orders SET status = %s WHERE id = %s",
    "INSERT INTO events (user_id, kind, payload) VALUES (%s, %s, %s)",
]


def _log(msg: str) -> None:
    print(f"queries_real: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# PostgreSQL


def _as_postgres() -> dict[str, object]:
    """subprocess kwargs that run a command as the postgres OS user when we are root."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam("postgres")

    def demote() -> None:
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    return {"preexec_fn": demote, "env": {**os.environ, "HOME": pw.pw_dir}}


@contextlib.contextmanager
def postgres_cluster(root: Path) -> Iterator[Path]:
    """A private PostgreSQL 15 cluster on 127.0.0.1:PG_PORT; yields its log directory."""
    data, logs, sock = root / "data", root / "log", root / "sock"
    for d in (root, logs, sock):
        d.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for d in (root, logs, sock):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    kw = _as_postgres()
    subprocess.run(
        [PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--locale=C.UTF-8"],
        check=True, capture_output=True, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    conf = f"""
listen_addresses = '127.0.0.1'
port = {PG_PORT}
unix_socket_directories = '{sock}'
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = '{logs}'
log_filename = 'postgresql.log'
log_rotation_age = 0
log_rotation_size = 0
log_line_prefix = '{PREFIX}'
log_timezone = 'UTC'
timezone = 'UTC'
log_min_duration_statement = 0
log_lock_waits = on
deadlock_timeout = '200ms'
log_temp_files = 0
log_checkpoints = on
log_autovacuum_min_duration = 0
autovacuum_naptime = '1s'
log_connections = on
log_disconnections = on
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = 'top'
compute_query_id = on
work_mem = '64kB'
max_parallel_workers = 0
max_parallel_workers_per_gather = 2
"""
    with open(data / "postgresql.conf", "a") as fh:
        fh.write(conf)
    subprocess.run(
        [PG_BIN / "pg_ctl", "-D", data, "-l", root / "startup.log", "-w", "start"],
        check=True, capture_output=True, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    try:
        yield logs
    finally:
        subprocess.run(
            [PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
            check=False, capture_output=True, **kw,  # type: ignore[arg-type]
        )  # fmt: skip


def _connect(app: str, **kwargs: object):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=PG_PORT, user="postgres", dbname="shop", application_name=app,
        autocommit=True, **kwargs,
    )  # fmt: skip


def _psql(sql: str, *, db: str = "shop") -> str:
    env = {**os.environ, "PGAPPNAME": "psql"}
    out = subprocess.run(
        [PG_BIN / "psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", db,
         "-X", "-q", "-A", "-t", "-c", sql],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    return out.stdout


def postgres_workload(rng: random.Random) -> None:
    """The bounded workload: schema, seed, good queries, anti-patterns, races, errors."""
    import psycopg
    from psycopg import ClientCursor

    _psql("CREATE DATABASE shop", db="postgres")
    with _connect("shop-migrate") as conn:
        conn.execute(SCHEMA)
        conn.execute(SEED)
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("CREATE TABLE scratch AS SELECT g AS id FROM generate_series(1, 50) g")

    # The web app: extended protocol with parameters ($1 …); after 5 executions psycopg
    # prepares a named statement (_pg3_N), so parse/bind/execute lines of both kinds.
    with _connect("shop-web") as web:
        for _ in range(40):
            web.execute(GOOD[0], (rng.randint(1, 5000),))
            web.execute(GOOD[1], (f"SKU-{rng.randint(1, 500):05d}",))
            web.execute(GOOD[2], (rng.choice(["mobile", "computers", "accessories"]),))
        for _ in range(15):
            web.execute(GOOD[3], (rng.choice(["paid", "shipped"]), rng.randint(1, 50000)))
            web.execute(
                GOOD[4],
                (rng.randint(1, 5000), "view", json.dumps({"page": rng.randint(1, 9)})),
            )

    # A reporting tool that inlines literals (simple protocol): the literal twins of the
    # web app's parameterised queries, and every planted anti-pattern.
    with _connect("shop-reports", cursor_factory=ClientCursor) as rep:
        for _ in range(8):  # fewer than an N+1 burst: a short loop of literal twins
            rep.execute(GOOD[0], (rng.randint(1, 5000),))
        for _label, _rule, sql in PLANTED:
            for _ in range(3):
                rep.execute(sql)
        # temp-file producers: sorts and hashes larger than work_mem (64kB)
        rep.execute(
            "SELECT user_id, count(*), sum(total) FROM orders GROUP BY user_id ORDER BY 3 DESC"
        )
        rep.execute("SELECT order_id, product_id, price FROM order_items ORDER BY price DESC, id")
        rep.execute("SELECT DISTINCT payload FROM events")

    # The worker: an N+1 — one query for a user's orders, then one per order for its items.
    with _connect("shop-worker") as worker, worker.cursor() as cur:
        for user in rng.sample(range(1, 5000), 4):
            cur.execute(
                "SELECT id FROM orders WHERE user_id = %s ORDER BY created_at DESC LIMIT 25",
                (user,),
            )
            order_ids = [r[0] for r in cur.fetchall()]
            for oid in order_ids or list(range(1, 11)):
                cur.execute(
                    "SELECT product_id, qty, price FROM order_items WHERE order_id = %s", (oid,)
                )
        # a loop over many users that is *not* an N+1 burst: spread out, one each
        for user in rng.sample(range(1, 5000), 5):
            cur.execute(GOOD[0], (user,))
            time.sleep(0.05)

    _lock_wait_and_deadlock()

    # errors: a syntax error, a unique violation, a division by zero
    with _connect("shop-web") as web:
        for sql, args in (
            ("SELEC id FROM users", None),
            ("INSERT INTO users (email, name) VALUES (%s, %s)", ("user1@example.com", "dup")),
            ("SELECT total / 0 FROM orders WHERE id = %s", (7,)),
        ):
            with contextlib.suppress(psycopg.Error):
                web.execute(sql, args)

    # psql ad hoc, a multi-line statement, a checkpoint, and bulk changes for autovacuum
    _psql(
        "SELECT u.country,\n       count(*) AS orders\nFROM orders o\n"
        "JOIN users u ON u.id = o.user_id\nGROUP BY u.country\nORDER BY 2 DESC"
    )
    with _connect("shop-maintenance") as m:
        m.execute("UPDATE events SET kind = 'seen' WHERE id % 3 = 0")
        m.execute("DELETE FROM events WHERE id % 5 = 0")
        m.execute("CHECKPOINT")
    time.sleep(4)  # autovacuum_naptime = 1s: let it vacuum and analyze events


def _lock_wait_and_deadlock() -> None:
    """Two sessions: B waits for A's row lock (logged after deadlock_timeout), then a deadlock."""
    a, b = _connect("shop-web"), _connect("shop-worker")
    try:
        a.execute("BEGIN")
        a.execute("UPDATE orders SET status = 'paid' WHERE id = 1")
        t = threading.Thread(
            target=b.execute, args=("UPDATE orders SET status = 'shipped' WHERE id = 1",)
        )
        t.start()
        time.sleep(0.7)  # > deadlock_timeout: "still waiting" is logged
        a.execute("COMMIT")
        t.join()

        errors: list[BaseException] = []

        def cross(conn, first: int, second: int) -> None:  # type: ignore[no-untyped-def]
            try:
                conn.execute("BEGIN")
                conn.execute("UPDATE orders SET total = total + 1 WHERE id = %s", (first,))
                time.sleep(0.3)
                conn.execute("UPDATE orders SET total = total + 1 WHERE id = %s", (second,))
                conn.execute("COMMIT")
            except Exception as exc:
                errors.append(exc)
                conn.execute("ROLLBACK")

        threads = [
            threading.Thread(target=cross, args=(a, 2, 3)),
            threading.Thread(target=cross, args=(b, 3, 2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not errors:
            _log("warning: no deadlock happened")
    finally:
        a.close()
        b.close()


EXPLAINS: dict[str, tuple[str, str]] = {
    # name: (setting to apply first, query)
    "seq_scan_filter": ("", "SELECT id, total FROM orders WHERE user_id = 42"),
    "sort_spill": ("", "SELECT order_id, price FROM order_items ORDER BY price DESC, id"),
    "hash_agg_spill": (
        "",
        "SELECT user_id, count(*), sum(total) FROM orders GROUP BY user_id ORDER BY 3 DESC",
    ),
    "misestimate": ("", "SELECT count(*) FROM orders WHERE id % 2 = 0"),
    "nested_loop": (
        "SET enable_hashjoin = off; SET enable_mergejoin = off;",
        "SELECT o.id, i.qty FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.status = 'new' AND o.total > 300",
    ),
    "index_only_heap_fetches": (
        "CREATE INDEX IF NOT EXISTS events_kind_idx ON events (kind);",
        "SELECT kind, count(*) FROM events WHERE kind = 'seen' GROUP BY kind",
    ),
    "workers_not_launched": (
        "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
        "SET min_parallel_table_scan_size = 0;",
        "SELECT status, count(*) FROM orders GROUP BY status",
    ),
    "good_index_scan": ("", "SELECT id, email, name FROM users WHERE id = 42"),
}


def save_postgres_extras(out: Path) -> None:
    """pg_stat_statements as CSV, the schema, and EXPLAIN plans."""
    with _connect("perflab-capture") as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY (SELECT * FROM pg_stat_statements ORDER BY total_exec_time DESC) "
                "TO STDOUT WITH (FORMAT csv, HEADER)"
            ) as copy,
        ):
            data = b"".join(bytes(chunk) for chunk in copy)
        (out / "pg_stat_statements.csv").write_bytes(data)
        plans = {}
        for name, (setting, sql) in EXPLAINS.items():
            if setting:
                conn.execute(setting)
            if name == "index_only_heap_fetches":
                conn.execute("UPDATE events SET kind = 'seen' WHERE id % 7 = 0")
            row = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}").fetchone()
            plans[name] = {"query": sql, "plan": row[0]}
            conn.execute("RESET ALL")
        (out / "explain").mkdir(exist_ok=True)
        for name, doc in plans.items():
            (out / "explain" / f"{name}.json").write_text(json.dumps(doc["plan"], indent=2) + "\n")
        (out / "explain" / "queries.json").write_text(
            json.dumps({k: v["query"] for k, v in plans.items()}, indent=2) + "\n"
        )
    dump = subprocess.run(
        [PG_BIN / "pg_dump", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres",
         "--schema-only", "--no-owner", "shop"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (out / "schema.sql").write_text(dump.stdout)


def pgbadger_prefix_phase(rng: random.Random, logs: Path) -> None:
    """Switch to pgBadger's recommended prefix in a new file, and run a short workload."""
    with _connect("perflab-capture") as conn:
        conn.execute(f"ALTER SYSTEM SET log_line_prefix = '{PGBADGER_PREFIX}'")
        conn.execute("ALTER SYSTEM SET log_filename = 'postgresql-pgbadger-prefix.log'")
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        conn.execute("SELECT pg_rotate_logfile()")
        time.sleep(0.5)
    with _connect("shop-web") as web:
        for _ in range(20):
            web.execute(GOOD[0], (rng.randint(1, 5000),))
        web.execute("SELECT * FROM orders WHERE id = 77")
        with contextlib.suppress(Exception):
            web.execute("SELECT missing_column FROM users")
    time.sleep(0.5)


def postgres(seed: int) -> None:
    rng = random.Random(seed)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perflab-pg-") as tmp:
        os.chmod(tmp, 0o755)
        root = Path(tmp) / "pg"
        with postgres_cluster(root) as logs:
            _log("cluster up; running the workload")
            postgres_workload(rng)
            save_postgres_extras(OUT)
            pgbadger_prefix_phase(rng, logs)
        for name in ("postgresql.log", "postgresql.csv", "postgresql.json",
                     "postgresql-pgbadger-prefix.log"):  # fmt: skip
            shutil.copyfile(logs / name, OUT / name)
            _log(f"kept {name}: {(OUT / name).stat().st_size:,} bytes")


# ---------------------------------------------------------------------------------------
# MariaDB


@contextlib.contextmanager
def mariadb_server(root: Path) -> Iterator[Path]:
    """A private mariadbd on 127.0.0.1:MY_PORT logging every statement; yields the slow log."""
    data, sock, slow = root / "data", root / "mysqld.sock", root / "mariadb-slow.log"
    data.mkdir(parents=True)
    subprocess.run(
        ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root", "--auth-root-authentication-method=normal",
         "--skip-test-db"],
        check=True, capture_output=True,
    )  # fmt: skip
    proc = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", "--user=root",
         f"--socket={sock}", f"--port={MY_PORT}", "--bind-address=127.0.0.1",
         f"--pid-file={root / 'mariadbd.pid'}", "--skip-log-bin",
         "--slow-query-log=1", f"--slow-query-log-file={slow}", "--long-query-time=0",
         "--log-slow-verbosity=query_plan,explain", "--log-output=FILE",
         "--innodb-buffer-pool-size=64M"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import pymysql

    deadline = time.monotonic() + 30
    while True:
        try:
            pymysql.connect(host="127.0.0.1", port=MY_PORT, user="root").close()
            break
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("mariadbd did not start") from None
            time.sleep(0.2)
    try:
        yield slow
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


MY_SCHEMA = [
    "CREATE DATABASE shop",
    "USE shop",
    """CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL
       UNIQUE, name VARCHAR(80), country CHAR(2), phone VARCHAR(20), created_at DATETIME)""",
    """CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL,
       status VARCHAR(12) NOT NULL, created_at DATETIME NOT NULL, total DECIMAL(10,2))""",
    """CREATE TABLE order_items (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL,
       product_id INT NOT NULL, qty INT NOT NULL, price DECIMAL(10,2))""",
]


def mariadb_workload(rng: random.Random) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=MY_PORT, user="root", autocommit=True)
    cur = conn.cursor()
    for sql in MY_SCHEMA:
        cur.execute(sql)
    cur.execute(
        "INSERT INTO users (email, name, country, phone, created_at) "
        "SELECT CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), "
        "ELT(1 + seq % 4, 'NL', 'DE', 'FR', 'US'), CONCAT('06', LPAD(seq, 8, '0')), "
        "'2026-01-01' + INTERVAL seq HOUR FROM seq_1_to_3000"
    )
    cur.execute(
        "INSERT INTO orders (user_id, status, created_at, total) "
        "SELECT 1 + seq % 3000, ELT(1 + seq % 3, 'new', 'paid', 'shipped'), "
        "'2026-06-01' + INTERVAL seq MINUTE, seq % 300 + 9.99 FROM seq_1_to_30000"
    )
    cur.execute(
        "INSERT INTO order_items (order_id, product_id, qty, price) "
        "SELECT 1 + seq % 30000, 1 + seq % 400, 1 + seq % 3, seq % 90 + 4.5 "
        "FROM seq_1_to_60000"
    )
    for _ in range(20):
        cur.execute("SELECT id, email, name FROM users WHERE id = %s", (rng.randint(1, 3000),))
    # anti-patterns: full scans, a function on a column, implicit conversion of a varchar
    cur.execute("SELECT * FROM orders WHERE user_id = 42")
    cur.execute("SELECT id FROM users WHERE lower(email) = 'user7@example.com'")
    cur.execute("SELECT id, name FROM users WHERE phone = 600000123")
    cur.execute("SELECT id, total FROM orders ORDER BY created_at LIMIT 20 OFFSET 20000")
    cur.execute(
        "SELECT id FROM orders WHERE id IN (" + ",".join(str(i) for i in range(1, 201)) + ")"
    )
    cur.execute(
        "SELECT user_id, COUNT(*), SUM(total) FROM orders GROUP BY user_id ORDER BY 3 DESC"
    )
    # SQL prepared statements: logged expanded, with the values inlined
    cur.execute("PREPARE items FROM 'SELECT product_id, qty FROM order_items WHERE order_id = ?'")
    for oid in range(100, 130):
        cur.execute(f"SET @o = {oid}")
        cur.execute("EXECUTE items USING @o")
    cur.execute("DEALLOCATE PREPARE items")
    # a multi-line statement, and an error
    cur.execute("SELECT u.country,\n  COUNT(*) AS n\nFROM orders o\nJOIN users u ON u.id = "
                "o.user_id\nGROUP BY u.country")  # fmt: skip
    with contextlib.suppress(pymysql.err.MySQLError):
        cur.execute("SELEC 1")
    conn.close()


def mariadb(seed: int) -> None:
    rng = random.Random(seed)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perflab-my-") as tmp:
        with mariadb_server(Path(tmp)) as slow:
            _log("mariadbd up; running the workload")
            mariadb_workload(rng)
            time.sleep(0.5)
        shutil.copyfile(slow, OUT / "mariadb-slow.log")
        _log(f"kept mariadb-slow.log: {(OUT / 'mariadb-slow.log').stat().st_size:,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["postgres", "mariadb"])
    parser.add_argument("--seed", type=int, default=43)
    args = parser.parse_args()
    if args.what == "postgres":
        postgres(args.seed)
    else:
        mariadb(args.seed)


if __name__ == "__main__":
    main()

"""perflab.queries.live against the real PostgreSQL of this machine.

The server is the one the README and CI start: 127.0.0.1:5432, user ``postgres``, trust
authentication, database ``test`` (override with ``PERFLAB_TEST_PG_DSN``). A fixture
creates tables with a random prefix in ``public`` — the index advisor writes
unqualified table names, so HypoPG must find them on the default ``search_path`` —
fills them with ``generate_series`` and drops them afterwards. Every test checks that
perflab left the data as it found it.

Skipped, with the reason: the whole module when the server cannot be reached; the
HypoPG tests when ``CREATE EXTENSION hypopg`` is not possible (CI installs the Debian
package ``postgresql-15-hypopg``); the ``pg_stat_statements`` snapshot when the module
is not in ``shared_preload_libraries`` (CI preloads it).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.queries import explain_findings, query_patterns, recommend_indexes
from perflab.queries.live import (
    LiveError,
    existing_indexes,
    explain,
    snapshot_pg_stat_statements,
    table_columns,
    validate_indexes,
)

DSN = os.environ.get("PERFLAB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
ROWS = 100_000

psycopg = pytest.importorskip("psycopg")


def _reachable() -> str | None:
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


_WHY = _reachable()
pytestmark = pytest.mark.skipif(
    _WHY is not None, reason=f"no PostgreSQL at 127.0.0.1:5432/test ({_WHY})"
)


def query(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(DSN, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


@dataclass(frozen=True)
class Shop:
    """The fixture's objects: ``orders`` (100,000 rows; no index on ``user_id`` or
    ``status``), ``users`` (5,000 rows), a sequence, and a function that writes."""

    prefix: str

    @property
    def orders(self) -> str:
        return f"{self.prefix}_orders"

    @property
    def users(self) -> str:
        return f"{self.prefix}_users"

    @property
    def seq(self) -> str:
        return f"{self.prefix}_seq"

    def state(self) -> tuple[Any, ...]:
        """What a statement could change in the fixture: rows, sums, indexes, relations."""
        (counts,) = query(
            f"SELECT (SELECT count(*) FROM {self.orders}), (SELECT sum(total) FROM {self.orders}),"
            f" (SELECT count(*) FILTER (WHERE status = 'new') FROM {self.orders}),"
            f" (SELECT count(*) FROM {self.users}),"
            f" (SELECT string_agg(email || country, ',' ORDER BY id) FROM {self.users}),"
            f" (SELECT last_value FROM {self.seq})"
        )
        relations = query(
            "SELECT relname, relkind FROM pg_class WHERE relname LIKE %s ORDER BY 1",
            (f"{self.prefix}%",),
        )
        return counts, tuple(relations)


def extensions() -> set[str]:
    return {name for (name,) in query("SELECT extname FROM pg_extension")}


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    s = Shop("perflab_t_" + uuid.uuid4().hex[:10])
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {s.users} (id integer PRIMARY KEY, email text NOT NULL UNIQUE,"
            " country text, created_at timestamptz NOT NULL)"
        )
        conn.execute(
            f"CREATE TABLE {s.orders} (id integer PRIMARY KEY, user_id integer NOT NULL,"
            " status text NOT NULL, total numeric(10, 2) NOT NULL,"
            " created_at timestamptz NOT NULL)"
        )
        conn.execute(f"CREATE SEQUENCE {s.seq}")
        conn.execute(
            f"CREATE FUNCTION {s.prefix}_touch() RETURNS integer LANGUAGE sql VOLATILE AS "
            f"$$ UPDATE {s.users} SET country = 'XX' WHERE id <= 10 RETURNING 1 $$"
        )
        conn.execute(
            f"INSERT INTO {s.users} SELECT g, 'user' || g || '@example.com',"
            " (ARRAY['NL','DE','FR'])[1 + g % 3], timestamptz '2026-01-01' + g * interval '1 h'"
            " FROM generate_series(1, 5000) g"
        )
        conn.execute(
            f"INSERT INTO {s.orders} SELECT g, 1 + g % 5000,"
            " (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4], (g % 400) + 9.99,"
            f" timestamptz '2026-06-01' + g * interval '1 minute'"
            f" FROM generate_series(1, {ROWS}) g"
        )
        conn.execute(f"CREATE INDEX {s.prefix}_orders_created ON {s.orders} (created_at, status)")
        conn.execute(f"CREATE INDEX {s.prefix}_users_lower ON {s.users} (lower(email))")
        conn.execute(f"ANALYZE {s.orders}")
        conn.execute(f"ANALYZE {s.users}")
    try:
        yield s
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {s.orders}, {s.users}, {s.prefix}_copy")
            conn.execute(f"DROP FUNCTION IF EXISTS {s.prefix}_touch()")
            conn.execute(f"DROP SEQUENCE IF EXISTS {s.seq}")


@pytest.fixture
def unchanged(shop: Shop) -> Iterator[None]:
    """The test must leave the database exactly as it found it."""
    before = shop.state()
    yield
    assert shop.state() == before


# ---------------------------------------------------------------------------------------
# explain


def test_explain_without_analyze_returns_the_plan_only(shop, unchanged):
    plan = explain(DSN, f"SELECT id, total FROM {shop.orders} WHERE user_id = 42")
    assert isinstance(plan, list) and len(plan) == 1
    root = plan[0]["Plan"]
    assert root["Node Type"] in ("Seq Scan", "Gather")
    assert "Total Cost" in root and "Plan Rows" in root
    assert "Actual Rows" not in root and "Execution Time" not in plan[0]  # not executed


def test_explain_analyze_of_a_select_returns_actual_rows(shop, unchanged):
    plan = explain(DSN, f"SELECT id, total FROM {shop.orders} WHERE user_id = 42", analyze=True)
    doc = plan[0]
    assert doc["Execution Time"] > 0
    assert doc["Plan"]["Actual Loops"] == 1
    assert doc["Plan"]["Actual Rows"] == ROWS // 5000  # user 42 has one order in 5,000
    assert "Shared Hit Blocks" in doc["Plan"]  # BUFFERS
    # the plan is what explain_findings reads: the filter throws 99.98 % of the rows away
    found = explain_findings(plan)
    assert "queries.plan-seq-scan-filter" in found.get_column("rule").to_list()


def test_explain_takes_parameters(shop, unchanged):
    plan = explain(
        DSN, f"SELECT id FROM {shop.orders} WHERE user_id = $1", params=[7], analyze=True
    )
    assert plan[0]["Plan"]["Actual Rows"] * plan[0]["Plan"]["Actual Loops"] >= 1


def test_explain_takes_dollar_parameters_as_documented(shop, unchanged):
    plan = explain(DSN, f"SELECT id FROM {shop.orders} WHERE user_id = $1", params=[7])
    assert plan[0]["Plan"]["Node Type"]


def test_dollar_parameters_bind_by_number_in_any_order_and_repeat(shop, unchanged):
    sql = f"SELECT id FROM {shop.users} WHERE email = $2 AND (id = $1 OR id = $1 + 5000)"
    plan = explain(DSN, sql, params=[42, "user42@example.com"], analyze=True)
    assert plan[0]["Plan"]["Actual Rows"] == 1


@pytest.mark.parametrize("params", [None, [1]], ids=["no-params", "params"])
def test_a_percent_sign_in_the_sql_is_literal(shop, unchanged, params):
    sql = f"SELECT id FROM {shop.users} WHERE email LIKE 'user1@%'"
    if params:
        sql += " AND id >= $1"
    plan = explain(DSN, sql, params=params, analyze=True)
    assert plan[0]["Plan"]["Actual Rows"] == 1  # user1@example.com only: % is LIKE's


def test_a_parameter_number_beyond_the_values_is_a_parameter_error(shop, unchanged):
    with pytest.raises(ParameterError, match=r"\$2"):
        explain(DSN, f"SELECT id FROM {shop.users} WHERE id = $2", params=[1])


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {orders} SET status = 'gone'",
        "DELETE FROM {orders} WHERE id <= 100",
        "INSERT INTO {users} (id, email, created_at) VALUES (999999, 'x@y', now())",
        "WITH d AS (DELETE FROM {orders} WHERE id <= 100 RETURNING id) SELECT count(*) FROM d",
        "WITH u AS (UPDATE {orders} SET total = 0 RETURNING id) SELECT id FROM u",
        "SELECT id, total INTO {prefix}_copy FROM {orders}",
        "TRUNCATE {orders}",
    ],
    ids=["update", "delete", "insert", "cte-delete", "cte-update", "select-into", "trunc"],
)
def test_explain_analyze_refuses_anything_but_a_select(shop, unchanged, sql):
    sql = sql.format(orders=shop.orders, users=shop.users, prefix=shop.prefix)
    with pytest.raises(ParameterError, match="only for a single SELECT"):
        explain(DSN, sql, analyze=True)


@pytest.mark.parametrize("analyze", [True, False], ids=["analyze", "plan-only"])
@pytest.mark.parametrize(
    "sql",
    ["SELECT 1; DELETE FROM {orders}", "SELECT 1; SELECT 2;"],
    ids=["select-then-delete", "two-selects"],
)
def test_explain_refuses_several_statements(shop, unchanged, sql, analyze):
    with pytest.raises(ParameterError, match="one statement at a time"):
        explain(DSN, sql.format(orders=shop.orders), analyze=analyze)


def test_a_trailing_semicolon_is_still_one_statement(shop, unchanged):
    plan = explain(DSN, f"SELECT id FROM {shop.users} WHERE id = 1;", analyze=True)
    assert plan[0]["Plan"]["Actual Rows"] == 1


def test_explain_without_analyze_never_runs_an_update(shop, unchanged):
    plan = explain(DSN, f"UPDATE {shop.orders} SET status = 'gone', total = 0")
    assert plan[0]["Plan"]["Node Type"] == "ModifyTable"
    assert plan[0]["Plan"]["Operation"] == "Update"
    assert query(f"SELECT count(*) FROM {shop.orders} WHERE status = 'gone'") == [(0,)]


def test_explain_analyze_of_a_select_that_writes_through_a_function_is_rolled_back(shop, unchanged):
    # the SQL is a single SELECT, so it is run; the function it calls updates 10 rows,
    # and the rolled-back transaction undoes that
    plan = explain(DSN, f"SELECT {shop.prefix}_touch()", analyze=True)
    assert plan[0]["Plan"]["Actual Rows"] == 1
    assert query(f"SELECT count(*) FROM {shop.users} WHERE country = 'XX'") == [(0,)]


def test_explain_of_several_statements_changes_no_data(shop):
    sql = f"SELECT 1; COMMIT; INSERT INTO {shop.users} VALUES (-1, 'x@y', 'NL', now())"
    try:
        with pytest.raises(ParameterError, match="one statement at a time"):
            explain(DSN, sql)
        assert query(f"SELECT count(*) FROM {shop.users} WHERE id = -1") == [(0,)]
    finally:
        query(f"DELETE FROM {shop.users} WHERE id = -1 RETURNING id")


@contextlib.contextmanager
def sequence_kept(shop: Shop) -> Iterator[None]:
    """Assert the fixture's sequence did not move; put it back if it did."""
    ((last, called),) = before = query(f"SELECT last_value, is_called FROM {shop.seq}")
    try:
        yield
        assert query(f"SELECT last_value, is_called FROM {shop.seq}") == before
    finally:
        query("SELECT setval(%s, %s, %s)", (shop.seq, last, called))


@pytest.mark.parametrize(
    "call",
    [
        pytest.param("nextval('{seq}')", id="nextval"),
        pytest.param("NEXTVAL ('{seq}')", id="nextval-upper-case"),
        pytest.param("pg_catalog.nextval('{seq}')", id="nextval-qualified"),
        pytest.param("setval('{seq}', 500)", id="setval"),
        pytest.param("pg_notify('perflab', 'x')", id="pg_notify"),
        pytest.param("dblink('dbname=test', 'SELECT 1')", id="dblink"),
        pytest.param(
            """"nextval"('{seq}')""",
            id="nextval-quoted-name",
        ),
        pytest.param(
            "nextval/**/('{seq}')",
            id="nextval-comment-before-paren",
        ),
    ],
)
def test_explain_analyze_refuses_functions_a_rollback_does_not_undo(shop, call):
    sql = "SELECT " + call.format(seq=shop.seq)
    with sequence_kept(shop), pytest.raises(ParameterError, match="only for a single SELECT"):
        explain(DSN, sql, analyze=True)


def test_explain_without_analyze_of_nextval_gives_the_plan(shop, unchanged):
    plan = explain(DSN, f"SELECT nextval('{shop.seq}')")
    assert plan[0]["Plan"]["Node Type"] == "Result"


def test_a_statement_over_its_timeout_is_a_live_error(unchanged):
    start = time.monotonic()
    with pytest.raises(LiveError, match="statement timeout"):
        explain(DSN, "SELECT pg_sleep(10)", analyze=True, timeout_s=0.5)
    assert time.monotonic() - start < 5


def test_sql_the_server_rejects_is_a_live_error_naming_the_server(shop, unchanged):
    with pytest.raises(LiveError, match=re.escape("127.0.0.1:5432/test")) as info:
        explain(DSN, f"SELECT no_such_column FROM {shop.orders}")
    assert "no_such_column" in str(info.value)


# ---------------------------------------------------------------------------------------
# catalog: indexes and columns


def test_existing_indexes_of_the_fixture(shop, unchanged):
    mine = {
        (i.table, i.columns, i.kind)
        for i in existing_indexes(DSN)
        if i.table in (shop.orders, shop.users)
    }
    assert mine == {
        (shop.orders, ("id",), "btree"),  # the primary key
        (shop.orders, ("created_at", "status"), "btree"),  # in index order
        (shop.users, ("id",), "btree"),
        (shop.users, ("email",), "btree"),  # UNIQUE
        (shop.users, ("lower(email)",), "btree"),  # an expression index, by its expression
    }
    defs = {i.definition for i in existing_indexes(DSN) if i.table == shop.orders}
    assert any(d.startswith("CREATE UNIQUE INDEX") for d in defs)


def test_existing_indexes_of_another_schema_are_not_listed(shop, unchanged):
    assert all(
        i.table not in (shop.orders, shop.users) for i in existing_indexes(DSN, schema="pg_catalog")
    )


def test_table_columns_of_the_fixture(shop, unchanged):
    cols = table_columns(DSN)
    assert cols[shop.orders] == {
        "id": "integer",
        "user_id": "integer",
        "status": "text",
        "total": "numeric",
        "created_at": "timestamp with time zone",
    }
    assert list(cols[shop.users]) == ["id", "email", "country", "created_at"]  # table order


def test_existing_indexes_feed_the_advisor(shop, unchanged):
    patterns = query_patterns(
        [
            {
                "query": f"SELECT id FROM {shop.orders} WHERE created_at > '2026-07-01'",
                "duration_ms": 5.0,
            },
            {
                "query": f"SELECT id FROM {shop.users} WHERE email = 'user7@example.com'",
                "duration_ms": 5.0,
            },
        ]
    )
    assert recommend_indexes(patterns).height == 2
    assert recommend_indexes(patterns, existing=existing_indexes(DSN)).height == 0


# ---------------------------------------------------------------------------------------
# HypoPG


def _hypopg_missing() -> str | None:
    if _WHY is not None:
        return _WHY
    try:
        with psycopg.connect(DSN) as conn:  # a transaction, rolled back on close
            conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
            conn.rollback()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


_NO_HYPOPG = _hypopg_missing()
needs_hypopg = pytest.mark.skipif(
    _NO_HYPOPG is not None,
    reason=f"CREATE EXTENSION hypopg is not possible here ({_NO_HYPOPG}); "
    "install the Debian package postgresql-15-hypopg",
)


@pytest.fixture(scope="module")
def workload(shop) -> pl.DataFrame:
    return query_patterns(
        [
            # selective: 20 rows of 100,000 — an index on user_id is worth it
            {
                "query": f"SELECT id, total FROM {shop.orders} WHERE user_id = 42",
                "duration_ms": 30.0,
            },
            {
                "query": f"SELECT id, total FROM {shop.orders} WHERE user_id = 4242",
                "duration_ms": 28.0,
            },
            # not selective: a quarter of the table — no index beats the scan
            {
                "query": f"SELECT count(*) FROM {shop.orders} WHERE status = 'paid'",
                "duration_ms": 20.0,
            },
        ]
    )


@needs_hypopg
def test_hypopg_validates_a_useful_index_and_rejects_a_useless_one(shop, workload, unchanged):
    cands = recommend_indexes(workload)
    checked = validate_indexes(DSN, cands, workload)
    by_col = {r["columns"][0]: r for r in checked.iter_rows(named=True)}
    assert set(by_col) == {"user_id", "status"}
    useful, useless = by_col["user_id"], by_col["status"]
    assert useful["validated"] == "yes"
    assert useful["cost_after"] < 0.3 * useful["cost_before"]
    assert useful["cost_before"] > 0
    assert useless["validated"] == "no"
    assert useless["cost_after"] >= 0.7 * useless["cost_before"]
    # the candidates come back with their own columns untouched
    assert checked.drop("cost_before", "cost_after", "validated").equals(
        cands.drop("cost_before", "cost_after", "validated")
    )


@needs_hypopg
def test_hypopg_leaves_no_index_and_no_extension_behind(shop, workload):
    had_hypopg = "hypopg" in extensions()
    indexes = query("SELECT count(*) FROM pg_indexes WHERE tablename LIKE %s", (f"{shop.prefix}%",))
    before = shop.state()
    validate_indexes(DSN, recommend_indexes(workload), workload)
    assert shop.state() == before
    assert (
        query("SELECT count(*) FROM pg_indexes WHERE tablename LIKE %s", (f"{shop.prefix}%",))
        == indexes
    )
    assert ("hypopg" in extensions()) == had_hypopg


@needs_hypopg
def test_hypopg_leaves_a_candidate_it_cannot_plan_unvalidated(shop, unchanged):
    patterns = query_patterns(
        [{"query": f"SELECT id FROM {shop.orders} WHERE user_id = $1", "duration_ms": 9.0}]
    )
    checked = validate_indexes(DSN, recommend_indexes(patterns), patterns)
    assert checked.get_column("validated").to_list() == [None]


# ---------------------------------------------------------------------------------------
# pg_stat_statements


def _preloaded() -> bool:
    if _WHY is not None:
        return False
    (libs,) = query("SHOW shared_preload_libraries")[0]
    return "pg_stat_statements" in libs


@pytest.mark.skipif(
    not _preloaded(),
    reason="pg_stat_statements is not in shared_preload_libraries of this server (CI preloads it)",
)
def test_snapshot_of_pg_stat_statements(shop):
    created = not query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if created:
        query("CREATE EXTENSION pg_stat_statements")
    try:
        marker = f"SELECT count(*) FROM {shop.users} WHERE country = 'NL'"
        for _ in range(3):
            query(marker)
        snap = snapshot_pg_stat_statements(DSN)
        assert set(snap.get_column("protocol")) == {"aggregate"}
        mine = snap.filter(pl.col("query").str.contains(shop.users, literal=True))
        assert mine.height >= 1
        assert mine.get_column("calls").sum() >= 3
        assert set(mine.get_column("database")) == {"test"}
    finally:
        if created:
            query("DROP EXTENSION pg_stat_statements")


def test_snapshot_without_the_extension_is_a_live_error(unchanged):
    # a database of its own, where the extension is surely not created
    name = f"perflab_noext_{os.getpid()}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        other = psycopg.conninfo.make_conninfo(DSN, dbname=name)
        with pytest.raises(LiveError, match="pg_stat_statements"):
            snapshot_pg_stat_statements(other)
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


# ---------------------------------------------------------------------------------------
# an unreachable server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("form", ["uri", "keywords"])
@pytest.mark.parametrize(
    "call",
    [
        lambda dsn: explain(dsn, "SELECT 1"),
        lambda dsn: existing_indexes(dsn),
        lambda dsn: table_columns(dsn),
        lambda dsn: snapshot_pg_stat_statements(dsn, timeout_s=2),
    ],
    ids=["explain", "existing_indexes", "table_columns", "snapshot"],
)
def test_an_unreachable_server_is_a_live_error_without_the_password(call, form):
    secret = "s3cr3t-" + uuid.uuid4().hex[:8]
    port = closed_port()
    dsn = (
        f"postgresql://perflab:{secret}@127.0.0.1:{port}/test"
        if form == "uri"
        else f"host=127.0.0.1 port={port} dbname=test user=perflab password={secret}"
    )
    start = time.monotonic()
    with pytest.raises(LiveError) as info:
        call(dsn)
    assert time.monotonic() - start < 12  # the connect timeout, not a hang
    text = f"{info.value!s} {info.value!r} {info.value.__cause__!r} {info.value.__context__!r}"
    assert secret not in text
    assert f"127.0.0.1:{port}/test" in str(info.value)
    assert info.value.__cause__ is None  # psycopg's error (with the DSN) is not chained

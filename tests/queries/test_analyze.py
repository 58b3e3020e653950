"""The SQL rules (perflab.queries.analyze).

The real workload (data/make/queries_real.py) planted one statement per anti-pattern
(``PLANTED``: label, rule, SQL) and ran known good queries (``GOOD``): every planted
statement must be flagged by its rule, in isolation and in the real log, and no good
query — as it appears in the log, with its parameters or literals — by any rule.
Then one test per rule that it fires, and one that it stays quiet on a close good
variant.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.queries import (
    FINDINGS,
    analyze_queries,
    analyze_query,
    fingerprint,
    query_patterns,
    read_mysql_slow_log,
    read_postgres,
    schema_from_sql,
    with_fingerprints,
)
from perflab.queries.analyze import RULES, schema_from_statements

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]


def _load_workload() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "queries_real", ROOT / "data" / "make" / "queries_real.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORKLOAD = _load_workload()
PLANTED: list[tuple[str, str, str]] = WORKLOAD.PLANTED
GOOD: list[str] = WORKLOAD.GOOD


def as_dollar_params(sql: str) -> str:
    """psycopg's ``%s`` placeholders as the server logs them (``$1``, ``$2`` …)."""
    n = 0

    def repl(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    return re.sub("%s", repl, sql)


def inline(query: str, parameters: str | None) -> str:
    """The statement with its logged ``$n = 'value'`` parameters put in (a literal twin)."""
    if not parameters:
        return query
    values = dict(re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", parameters))
    return re.sub(r"\$(\d+)", lambda m: values[m.group(1)], query)


def rules(sql: str, dialect: str = "postgres", **options: object) -> list[str]:
    return [f.rule for f in analyze_query(sql, dialect, **options)]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def statements() -> pl.DataFrame:
    return read_postgres(SAMPLES / "postgresql.log", prefix=PREFIXES).statements


@pytest.fixture(scope="module")
def pg_schema() -> dict[str, dict[str, str]]:
    return schema_from_sql((SAMPLES / "schema.sql").read_text())


@pytest.fixture(scope="module")
def patterns(statements: pl.DataFrame) -> pl.DataFrame:
    return query_patterns(statements)


@pytest.fixture(scope="module")
def good_rows(statements: pl.DataFrame) -> pl.DataFrame:
    """Every distinct logged execution of a GOOD query (parameterised or literal)."""
    fps = [fingerprint(as_dollar_params(g)) for g in GOOD]
    rows = (
        with_fingerprints(statements)
        .filter(pl.col("fingerprint").is_in(fps))
        .select("fingerprint", "query", "parameters", "protocol")
        .unique()
    )
    assert set(rows["fingerprint"]) == set(fps)  # every GOOD query is in the log
    return rows


# --------------------------------------------------------------------------- the workload


@pytest.mark.parametrize(("label", "rule", "sql"), PLANTED, ids=[p[0] for p in PLANTED])
def test_every_planted_statement_is_flagged_by_its_rule(
    label: str, rule: str, sql: str, pg_schema: dict[str, dict[str, str]]
) -> None:
    assert rule in rules(sql), label
    assert rule in rules(sql, schema=pg_schema), label


def test_good_queries_as_logged_are_flagged_by_no_rule(
    good_rows: pl.DataFrame, pg_schema: dict[str, dict[str, str]]
) -> None:
    assert set(good_rows["protocol"]) >= {"simple", "extended", "prepared"}
    for query, parameters in good_rows.select("query", "parameters").iter_rows():
        for sql in (query, inline(query, parameters)):
            assert analyze_query(sql) == [], sql
            assert analyze_query(sql, schema=pg_schema) == [], sql


def test_real_log_flags_each_planted_pattern_and_no_good_one(
    patterns: pl.DataFrame, pg_schema: dict[str, dict[str, str]]
) -> None:
    for schema in (None, pg_schema):
        findings = analyze_queries(patterns, schema=schema)
        flagged = set(findings.select("fingerprint", "rule").iter_rows())
        for label, rule, sql in PLANTED:
            fid = fingerprint(sql)
            assert fid in patterns["fingerprint"].to_list(), label
            assert (fid, rule) in flagged, label
        good = {fingerprint(as_dollar_params(g)) for g in GOOD}
        assert not good & set(findings["fingerprint"])


def test_real_log_findings_frame(patterns: pl.DataFrame) -> None:
    findings = analyze_queries(patterns)
    assert findings.schema == pl.Schema(FINDINGS.dtypes())
    totals = findings["total_ms"].to_list()
    assert totals == sorted(totals, reverse=True)
    assert set(findings["rule"]) <= set(RULES)
    assert (findings["severity"] == findings["rule"].replace_strict(RULES)).all()
    assert (findings["finding"].str.len_chars() > 0).all()
    assert (findings["action"].str.len_chars() > 0).all()
    assert (findings["evidence"].str.len_chars() > 0).all()
    # what a finding says was seen comes from the sample, with its literals
    offset = findings.filter(pl.col("rule") == "queries.large-offset").row(0, named=True)
    assert offset["evidence"] == "OFFSET 40000"
    calls = dict(patterns.select("fingerprint", "calls").iter_rows())
    for fid, n in findings.select("fingerprint", "calls").iter_rows():
        assert calls[fid] == n


# --------------------------------------------------------------------------- rule by rule

FIRES = [
    ("queries.select-star", "SELECT * FROM orders WHERE id = 1"),
    ("queries.select-star", "SELECT o.* FROM orders o JOIN users u ON u.id = o.user_id"),
    ("queries.function-on-column", "SELECT id FROM users WHERE lower(email) = 'a@b.c'"),
    ("queries.function-on-column", "SELECT id FROM orders WHERE date(created_at) = '2026-06-10'"),
    ("queries.leading-wildcard", "SELECT id FROM products WHERE title LIKE '%phone'"),
    ("queries.leading-wildcard", "SELECT id FROM products WHERE title ILIKE '_hone%'"),
    ("queries.large-offset", "SELECT id FROM orders ORDER BY id LIMIT 20 OFFSET 1000"),
    ("queries.not-in-subquery", "SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM t)"),
    ("queries.update-without-where", "UPDATE settings SET value = 'x'"),
    ("queries.delete-without-where", "DELETE FROM scratch"),
    ("queries.order-by-random", "SELECT id FROM products ORDER BY random() LIMIT 5"),
    (
        "queries.huge-in-list",
        "SELECT id FROM users WHERE id IN (" + ", ".join(map(str, range(100))) + ")",
    ),
    (
        "queries.huge-in-list",
        "SELECT id FROM users WHERE " + " OR ".join(f"id = {i}" for i in range(10)),
    ),
    ("queries.limit-without-order", "SELECT id FROM users WHERE country = 'NL' LIMIT 10"),
    (
        "queries.correlated-subquery",
        "SELECT u.id, (SELECT max(o.total) FROM orders o WHERE o.user_id = u.id) FROM users u",
    ),
    ("queries.cartesian-join", "SELECT count(*) FROM users, products WHERE products.price > 9"),
    ("queries.implicit-conversion", "SELECT id FROM orders WHERE user_id = 42.0"),
    ("queries.implicit-conversion", "SELECT id FROM orders WHERE 42.0 = id"),
    ("queries.implicit-conversion", "SELECT id FROM orders WHERE id IN (1.5, 2)"),
]

QUIET = [
    (
        "queries.select-star",
        "SELECT id FROM users u WHERE EXISTS (SELECT * FROM orders o WHERE o.user_id = u.id)",
    ),
    ("queries.select-star", "SELECT count(*) FROM orders"),
    ("queries.function-on-column", "SELECT id FROM users WHERE email = lower('A@B.C')"),
    (
        "queries.function-on-column",
        "SELECT id FROM orders WHERE created_at >= '2026-06-10' AND created_at < '2026-06-11'",
    ),
    ("queries.function-on-column", "SELECT lower(email) FROM users WHERE id = 1"),
    ("queries.leading-wildcard", "SELECT id FROM products WHERE title LIKE 'abc%'"),
    ("queries.leading-wildcard", "SELECT id FROM products WHERE title LIKE $1"),
    ("queries.large-offset", "SELECT id FROM orders ORDER BY id LIMIT 20 OFFSET 10"),
    ("queries.large-offset", "SELECT id FROM orders ORDER BY id LIMIT 20 OFFSET 999"),
    ("queries.not-in-subquery", "SELECT id FROM users WHERE id NOT IN (1, 2)"),
    (
        "queries.not-in-subquery",
        "SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)",
    ),
    ("queries.update-without-where", "UPDATE settings SET value = 'x' WHERE key = 'theme'"),
    ("queries.delete-without-where", "DELETE FROM scratch WHERE id = 3"),
    ("queries.order-by-random", "SELECT id FROM products ORDER BY id LIMIT 5"),
    ("queries.order-by-random", "SELECT id, random() AS r FROM products ORDER BY id LIMIT 5"),
    (
        "queries.huge-in-list",
        "SELECT id FROM users WHERE id IN (" + ", ".join(map(str, range(99))) + ")",
    ),
    (
        "queries.huge-in-list",
        "SELECT id FROM users WHERE " + " OR ".join(f"id = {i}" for i in range(9)),
    ),
    (
        "queries.huge-in-list",
        "SELECT id FROM users WHERE " + " OR ".join(f"c{i} = {i}" for i in range(12)),
    ),
    ("queries.limit-without-order", "SELECT id FROM users WHERE email = 'a@b.c' LIMIT 1"),
    ("queries.limit-without-order", "SELECT id FROM users ORDER BY id LIMIT 10"),
    (
        "queries.limit-without-order",
        "SELECT id FROM users WHERE id IN (SELECT user_id FROM orders LIMIT 10)",
    ),
    ("queries.correlated-subquery", "SELECT id, (SELECT max(total) FROM orders) FROM users"),
    (
        "queries.cartesian-join",
        "SELECT u.id, o.id FROM users u JOIN orders o ON o.user_id = u.id",
    ),
    ("queries.cartesian-join", "SELECT u.id, p.id FROM users u CROSS JOIN products p"),
    ("queries.cartesian-join", "SELECT u.id FROM users u, orders o WHERE o.user_id = u.id"),
    ("queries.cartesian-join", "SELECT u.id FROM users u JOIN orders o USING (id)"),
    ("queries.implicit-conversion", "SELECT id FROM orders WHERE user_id = 42"),
    ("queries.implicit-conversion", "SELECT id FROM orders WHERE total = 42.5"),
    ("queries.implicit-conversion", "SELECT id FROM orders WHERE id = $1"),
]


@pytest.mark.parametrize(("rule", "sql"), FIRES)
def test_rule_fires(rule: str, sql: str) -> None:
    found = [f for f in analyze_query(sql) if f.rule == rule]
    assert found, sql
    for f in found:
        assert f.severity == RULES[rule]
        assert f.finding and f.action and f.evidence


@pytest.mark.parametrize(("rule", "sql"), QUIET)
def test_rule_stays_quiet_on_a_close_good_variant(rule: str, sql: str) -> None:
    assert analyze_query(sql) == [], sql


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    tested = {r for r, _ in FIRES} | {"queries.unparsed"}
    assert tested == set(RULES)
    assert {r for r, _ in QUIET} | {"queries.unparsed"} == set(RULES)


def test_thresholds_are_parameters() -> None:
    assert "queries.large-offset" in rules(
        "SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 60", large_offset=50
    )
    assert "queries.huge-in-list" in rules("SELECT id FROM t WHERE id IN (1, 2, 3)", in_list=3)
    assert "queries.huge-in-list" in rules(
        "SELECT id FROM t WHERE id = 1 OR id = 2 OR id = 3", or_chain=3
    )
    assert rules("SELECT id FROM t WHERE id IN (1, 2, 3)", in_list=4) == []


def test_mysql_order_by_rand_and_limit_offset_syntax() -> None:
    assert rules("SELECT id FROM products ORDER BY RAND() LIMIT 5", "mysql") == [
        "queries.order-by-random"
    ]
    assert rules("SELECT id FROM orders ORDER BY id LIMIT 20000, 20", "mysql") == [
        "queries.large-offset"
    ]


def test_leading_wildcard_fix_depends_on_the_dialect() -> None:
    sql = "SELECT id FROM products WHERE title LIKE '%phone%'"
    (pg,) = analyze_query(sql, "postgres")
    (my,) = analyze_query(sql, "mysql")
    assert "gin_trgm_ops" in pg.action
    assert "FULLTEXT" in my.action


def test_implicit_self_join_with_a_condition_is_not_cartesian() -> None:
    assert rules("SELECT a.id FROM emp a, emp b WHERE a.manager_id = b.id") == []


def test_a_self_join_without_a_condition_between_its_sides_is_cartesian() -> None:
    assert rules("SELECT a.id FROM emp a, emp b") == ["queries.cartesian-join"]
    assert rules("SELECT a.id FROM emp a, emp b WHERE a.id = 1 AND b.id = 2") == [
        "queries.cartesian-join"
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM pg_catalog.pg_class",
        "SELECT * FROM pg_class c, pg_namespace n",  # no condition: still not judged
        "SELECT * FROM information_schema.columns WHERE column_name LIKE '%x'",
        "SELECT relname FROM pg_class ORDER BY random()",
        "SELECT * FROM pg_stat_activity",
        pytest.param(
            "WITH c AS (SELECT * FROM pg_class) SELECT * FROM c",
            id="through-a-cte",
        ),
    ],
)
def test_statements_that_read_only_system_catalogs_are_not_judged(sql: str) -> None:
    assert rules(sql) == []


def test_a_statement_that_reads_a_catalog_and_an_application_table_is_judged() -> None:
    assert rules("SELECT * FROM pg_class c JOIN users u ON u.name = c.relname") == [
        "queries.select-star"
    ]


# --------------------------------------------------------------------------- implicit conversion


def test_implicit_conversion_with_a_postgres_schema(pg_schema: dict[str, dict[str, str]]) -> None:
    assert rules("SELECT id FROM orders WHERE status = 3") == []  # no schema: cannot tell
    assert rules("SELECT id FROM orders WHERE status = 3", schema=pg_schema) == [
        "queries.implicit-conversion"
    ]
    assert rules("SELECT id FROM orders WHERE status = '3'", schema=pg_schema) == []
    assert rules("SELECT id FROM orders WHERE total = 4.5", schema=pg_schema) == []
    assert rules("SELECT id FROM orders WHERE id = 42", schema=pg_schema) == []
    assert rules(
        "SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id WHERE o.status = 7",
        schema=pg_schema,
    ) == ["queries.implicit-conversion"]
    (f,) = analyze_query("SELECT id FROM orders WHERE id = 4242.0", schema=pg_schema)
    assert "4242" in f.action and "orders.id" in f.finding


def test_mysql_varchar_compared_with_a_number_needs_the_logged_schema() -> None:
    s = read_mysql_slow_log(SAMPLES / "mariadb-slow.log")
    schema = schema_from_statements(s, dialect="mysql")
    assert schema["users"]["phone"] == "VARCHAR(20)"
    sql = "SELECT id, name FROM users WHERE phone = 600000123"
    assert sql in s["query"].to_list()  # the workload ran it
    assert rules(sql, "mysql") == []
    assert rules(sql, "mysql", schema=schema) == ["queries.implicit-conversion"]
    assert (
        rules("SELECT id, name FROM users WHERE phone = '600000123'", "mysql", schema=schema) == []
    )
    findings = analyze_queries(query_patterns(s), dialect="mysql", schema=schema)
    hit = findings.filter(pl.col("rule") == "queries.implicit-conversion")
    assert hit["evidence"].to_list() == ["phone = 600000123"]
    assert (
        "queries.implicit-conversion"
        not in analyze_queries(query_patterns(s), dialect="mysql")["rule"].to_list()
    )


# --------------------------------------------------------------------------- unparsed & input


def test_unparsable_sql_gives_one_unparsed_finding() -> None:
    found = analyze_query("SELEC id FROM users WHERE id = 1")
    assert [(f.rule, f.severity) for f in found] == [("queries.unparsed", "info")]
    assert found[0].evidence == "SELEC id FROM users WHERE id = 1"


def test_unparsed_patterns_are_reported_once_each_in_the_frame() -> None:
    p = [
        {"fingerprint": "a", "query": "selec ?", "sample": "SELEC 1", "total_ms": 1.0},
        {"fingerprint": "b", "query": "SELECT * FROM t", "total_ms": 5.0},
    ]
    f = analyze_queries(p)
    assert f.select("fingerprint", "rule").rows() == [
        ("b", "queries.select-star"),
        ("a", "queries.unparsed"),
    ]


def test_analyze_queries_needs_fingerprint_and_query() -> None:
    with pytest.raises(SchemaError, match="fingerprint"):
        analyze_queries([{"query": "SELECT 1"}])


def test_analyze_query_unknown_dialect() -> None:
    with pytest.raises(ParameterError):
        analyze_query("SELECT 1", "oracle")


# --------------------------------------------------------------------------- schema_from_sql


def test_schema_from_the_real_pg_dump(pg_schema: dict[str, dict[str, str]]) -> None:
    assert set(pg_schema) == {
        "users",
        "products",
        "orders",
        "order_items",
        "events",
        "settings",
        "scratch",
    }
    assert pg_schema["orders"] == {
        "id": "INT",
        "user_id": "INT",
        "status": "TEXT",
        "created_at": "TIMESTAMPTZ",
        "total": "DECIMAL(10, 2)",
    }
    assert pg_schema["events"]["id"] == "BIGINT"
    assert pg_schema["events"]["payload"] == "JSONB"
    assert pg_schema["settings"] == {"key": "TEXT", "value": "TEXT"}


def test_schema_from_sql_skips_what_is_not_a_table() -> None:
    sql = (
        "CREATE INDEX i ON t (a); CREATE VIEW v AS SELECT 1; garbage here;\n"
        "CREATE TABLE app.t (a integer, b varchar(3));"
    )
    assert schema_from_sql(sql) == {"t": {"a": "INT", "b": "VARCHAR(3)"}}
    assert schema_from_sql("") == {}

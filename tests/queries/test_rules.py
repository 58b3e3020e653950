"""The query rules: stable ids, each workload rule on a bad and a good small input, and
:func:`~perflab.queries.top_recommendations` on the real PostgreSQL and MariaDB logs.

Small inputs are built with the canonical schemas (:mod:`perflab.queries.schema`), so a
rule sees frames shaped exactly like the ones the analyses hand it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from perflab.queries import (
    EVENTS,
    INDEX_CANDIDATES,
    N_PLUS_ONE,
    PATTERNS,
    STATEMENTS,
    PostgresLog,
    detect_n_plus_one,
    error_rates,
    existing_indexes_from_sql,
    lock_waits,
    query_patterns,
    read_log,
    read_postgres,
    recommend_indexes,
    schema_from_sql,
    temp_file_producers,
    top_recommendations,
)
from perflab.queries import rules as qrules
from perflab.queries.analyze import RULES as SQL_RULES
from perflab.queries.explain import PLAN_RULES
from perflab.recommend import RECOMMENDATIONS, SEVERITIES, rules

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)

# The ids are part of perflab's interface (reports, baselines and suppressions name
# them): renaming one, or changing its default severity, must be a deliberate change.
STABLE_IDS = {
    "queries.cartesian-join": "high",
    "queries.correlated-subquery": "medium",
    "queries.deadlock": "critical",
    "queries.delete-without-where": "critical",
    "queries.error-rate": "high",
    "queries.function-on-column": "high",
    "queries.hot-pattern": "medium",
    "queries.huge-in-list": "medium",
    "queries.implicit-conversion": "high",
    "queries.large-offset": "medium",
    "queries.leading-wildcard": "high",
    "queries.limit-without-order": "low",
    "queries.lock-waits": "high",
    "queries.missing-index": "high",
    "queries.n-plus-one": "high",
    "queries.not-in-subquery": "high",
    "queries.order-by-random": "medium",
    "queries.plan-hash-spill": "high",
    "queries.plan-heap-fetches": "medium",
    "queries.plan-hot-node": "info",
    "queries.plan-misestimate": "medium",
    "queries.plan-nested-loop": "high",
    "queries.plan-seq-scan-filter": "high",
    "queries.plan-sort-spill": "high",
    "queries.plan-workers": "medium",
    "queries.select-star": "medium",
    "queries.temp-files": "medium",
    "queries.unparsed": "info",
    "queries.update-without-where": "critical",
}
WORKLOAD_RULES = (
    "queries.hot-pattern",
    "queries.n-plus-one",
    "queries.missing-index",
    "queries.temp-files",
    "queries.lock-waits",
    "queries.deadlock",
    "queries.error-rate",
)


def ids(recs: list[Any]) -> list[str]:
    return [r.rule for r in recs]


# ---------------------------------------------------------------------------------------
# stable ids


def test_every_queries_rule_has_its_stable_id_and_severity():
    assert {r.id: r.severity for r in rules("queries")} == STABLE_IDS


def test_rule_ids_are_well_formed_and_titled():
    for r in rules("queries"):
        assert re.fullmatch(r"queries\.[a-z0-9]+(-[a-z0-9]+)*", r.id), r.id
        assert r.domain == "queries"
        assert r.severity in SEVERITIES
        assert r.title and r.title == r.title.strip()


def test_the_sql_and_plan_rules_are_registered_with_their_analyses_severities():
    registered = {r.id: r.severity for r in rules("queries")}
    for rid, sev in {**SQL_RULES, **PLAN_RULES}.items():
        assert registered[rid] == sev


def test_the_module_docstring_lists_every_workload_rule():
    doc = qrules.__doc__ or ""
    for rid in WORKLOAD_RULES:
        assert f"``{rid}``" in doc
        assert STABLE_IDS[rid] in doc.split(f"``{rid}``", 1)[1].split("\n", 1)[0]


# ---------------------------------------------------------------------------------------
# small inputs, built with the schemas


def patterns_frame(*rows: dict[str, Any]) -> pl.DataFrame:
    return PATTERNS.build(
        [
            {
                "calls": 10,
                "mean_ms": r.get("total_ms", 10.0) / r.get("calls", 10),
                "p95_ms": r.get("total_ms", 10.0) / r.get("calls", 10) * 1.5,
                **r,
            }
            for r in rows
        ]
    )


def statements(*queries: tuple[str, int], gap_ms: float = 2.0, pid: int = 4242) -> pl.DataFrame:
    """STATEMENTS of one session running ``query`` ``n`` times for each (query, n)."""
    rows = []
    t = T0
    for query, n in queries:
        for i in range(n):
            rows.append(
                {
                    "timestamp": t,
                    "pid": pid,
                    "session": str(pid),
                    "user": "app",
                    "database": "shop",
                    "application": "worker",
                    "duration_ms": 0.8,
                    "query": query.replace("{i}", str(i + 1)),
                    "protocol": "simple",
                    "calls": 1,
                    "line": len(rows) + 1,
                }
            )
            t += timedelta(milliseconds=gap_ms)
    return STATEMENTS.build(rows)


def event(kind: str, query: str, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": T0,
        "pid": 77,
        "user": "app",
        "database": "shop",
        "kind": kind,
        "severity": "LOG",
        "query": query,
        **extra,
    }


# hot-pattern


def test_hot_pattern_fires_on_a_pattern_with_most_of_the_time():
    p = patterns_frame(
        {"fingerprint": "a1", "query": "SELECT ? FROM t", "total_ms": 600.0, "share_pct": 60.0},
        {"fingerprint": "b2", "query": "SELECT ? FROM u", "total_ms": 400.0, "share_pct": 40.0},
    )
    (rec,) = [r for r in qrules.hot_patterns(p) if r.subject.startswith("a1")]
    assert rec.rule == "queries.hot-pattern" and rec.severity == "medium"
    assert rec.impact == 600.0 and rec.impact_unit == "ms"
    assert "60 %" in rec.finding


def test_hot_pattern_stays_quiet_when_the_time_is_spread():
    p = patterns_frame(
        *(
            {
                "fingerprint": f"f{i}",
                "query": f"SELECT ? FROM t{i}",
                "total_ms": 10.0,
                "share_pct": 100 / 6,
            }
            for i in range(6)
        )
    )
    assert qrules.hot_patterns(p) == []
    assert ids(qrules.hot_patterns(p, min_share_pct=10.0)) == ["queries.hot-pattern"] * 6


# n-plus-one


N1_PARENT = "SELECT id FROM orders WHERE user_id = 7 ORDER BY created_at DESC LIMIT 25"
N1_CHILD = "SELECT product_id, qty FROM order_items WHERE order_id = {i}"


def test_n_plus_one_fires_on_a_loop_of_one_query_per_row():
    bursts = detect_n_plus_one(statements((N1_PARENT, 1), (N1_CHILD, 12)))
    assert bursts.schema == pl.Schema(N_PLUS_ONE.dtypes())
    (rec,) = qrules.n_plus_one_findings(bursts)
    assert rec.rule == "queries.n-plus-one" and rec.severity == "high"
    assert "12 times in a row" in rec.finding
    assert "SELECT id FROM orders WHERE user_id = ?" in rec.finding  # the loop's source
    assert rec.impact == pytest.approx(12 * 0.8) and rec.impact_unit == "ms"  # time in the loop


def test_n_plus_one_stays_quiet_on_short_runs_and_interleaved_queries():
    short = statements((N1_PARENT, 1), (N1_CHILD, 9))
    assert qrules.n_plus_one_findings(detect_n_plus_one(short)) == []
    # the same 12 lookups, but each after its own parent query: no run of one pattern
    interleaved = statements(*[(N1_PARENT, 1), (N1_CHILD, 1)] * 12)
    assert qrules.n_plus_one_findings(detect_n_plus_one(interleaved)) == []
    # 12 lookups a second apart are not one loop
    slow = statements((N1_CHILD, 12), gap_ms=1500.0)
    assert qrules.n_plus_one_findings(detect_n_plus_one(slow)) == []
    assert qrules.n_plus_one_findings(N_PLUS_ONE.empty()) == []


# missing-index


def candidates_frame(total_ms: float, validated: str | None = None) -> pl.DataFrame:
    return INDEX_CANDIDATES.build(
        [
            {
                "table": "orders",
                "columns": ["user_id"],
                "kind": "btree",
                "definition": "CREATE INDEX CONCURRENTLY ON orders (user_id);",
                "patterns": 2,
                "calls": 40,
                "total_ms": total_ms,
                "fingerprints": ["a1", "b2"],
                "reason": "equality on user_id",
                "cost_before": 3970.0 if validated else None,
                "cost_after": 145.0 if validated else None,
                "validated": validated,
            }
        ]
    )


def test_missing_index_fires_on_a_candidate_serving_slow_patterns():
    (rec,) = qrules.index_findings(candidates_frame(900.0))
    assert rec.rule == "queries.missing-index" and rec.severity == "high"
    assert rec.subject == "orders (user_id)"
    assert rec.action == "CREATE INDEX CONCURRENTLY ON orders (user_id);"
    assert rec.impact == 900.0


def test_missing_index_shows_the_hypopg_costs_of_a_validated_candidate():
    (rec,) = qrules.index_findings(candidates_frame(900.0, validated="yes"))
    assert "HypoPG" in rec.evidence and "3,970 → 145" in rec.evidence


def test_missing_index_stays_quiet_on_cheap_or_rejected_candidates():
    assert qrules.index_findings(candidates_frame(10.0)) == []
    assert qrules.index_findings(candidates_frame(900.0, validated="no")) == []
    assert qrules.index_findings(INDEX_CANDIDATES.empty()) == []


# temp-files


SORT = "SELECT order_id, price FROM order_items ORDER BY price DESC, id"


def test_temp_files_fires_on_a_statement_that_spills():
    ev = EVENTS.build(
        [
            event("temp_file", SORT, size_bytes=4_571_136, object="base/pgsql_tmp/t.0"),
            event("temp_file", SORT, size_bytes=1_000_000, object="base/pgsql_tmp/t.1"),
        ]
    )
    (rec,) = qrules.temp_file_findings(temp_file_producers(ev))
    assert rec.rule == "queries.temp-files" and rec.severity == "medium"
    assert rec.impact == 5_571_136 and rec.impact_unit == "bytes"
    assert "2 temp file(s)" in rec.finding
    assert "work_mem = '10MB'" in rec.action  # about twice the largest file


def test_temp_files_stay_quiet_without_temp_files():
    ev = EVENTS.build([event("checkpoint", ""), event("error", "SELEC 1", message="syntax")])
    assert qrules.temp_file_findings(temp_file_producers(ev)) == []


# lock-waits and deadlock


WAITER = "UPDATE orders SET status = 'shipped' WHERE id = 1"
VICTIM = "UPDATE orders SET total = total + 1 WHERE id = 3"
LOCK = "ShareLock on transaction 780"


def test_lock_waits_fires_once_per_wait_with_its_longest_report():
    ev = EVENTS.build(
        [
            event("lock_wait", WAITER, duration_ms=200.1, object=LOCK),
            event("lock_acquired", WAITER, duration_ms=700.5, object=LOCK),
        ]
    )
    recs = qrules.lock_findings(lock_waits(ev))
    assert ids(recs) == ["queries.lock-waits"]
    (rec,) = recs
    assert rec.severity == "high" and rec.impact == 700.5
    assert "Waited 1 time(s) for ShareLock" in rec.finding


def test_deadlock_fires_on_a_deadlock_victim():
    ev = EVENTS.build(
        [event("deadlock", VICTIM, severity="ERROR", sqlstate="40P01", message="deadlock detected")]
    )
    recs = qrules.lock_findings(lock_waits(ev))
    assert ids(recs) == ["queries.deadlock"]
    assert recs[0].severity == "critical" and recs[0].impact == 1.0
    assert "40P01" in recs[0].action


def test_lock_rules_stay_quiet_without_waits_or_deadlocks():
    ev = EVENTS.build([event("temp_file", SORT, size_bytes=10), event("checkpoint", "")])
    assert qrules.lock_findings(lock_waits(ev)) == []


# error-rate


def test_error_rate_fires_on_a_failing_pattern_with_its_rate():
    ins = "INSERT INTO users (email, name) VALUES ('{i}@x', 'dup')"
    ev = EVENTS.build(
        [
            event(
                "error",
                ins.replace("{i}", str(i)),
                severity="ERROR",
                sqlstate="23505",
                message='duplicate key value violates unique constraint "users_email_key"',
            )
            for i in range(3)
        ]
    )
    p = query_patterns(statements((ins, 97)))
    (rec,) = qrules.error_findings(error_rates(ev, p))
    assert rec.rule == "queries.error-rate" and rec.severity == "high"
    assert rec.impact == 3.0 and rec.impact_unit == "errors"
    assert "3% of its executions" in rec.finding
    assert "SQLSTATE 23505" in rec.evidence and "97 successful calls" in rec.evidence


def test_error_rate_stays_quiet_without_errors_and_leaves_deadlocks_to_their_rule():
    quiet = EVENTS.build([event("temp_file", SORT, size_bytes=10)])
    assert qrules.error_findings(error_rates(quiet)) == []
    deadlock = EVENTS.build([event("deadlock", VICTIM, message="deadlock detected")])
    assert qrules.error_findings(error_rates(deadlock)) == []


# the workload rules through top_recommendations


def test_top_recommendations_of_a_good_workload_is_empty():
    good = [f"SELECT id, name FROM t{k} WHERE id = {{i}}" for k in range(6)]
    df = statements(*[(q, 3) for q in good])
    out = top_recommendations(df, None, events=EVENTS.empty())
    assert out.height == 0
    assert out.schema == pl.Schema(RECOMMENDATIONS.dtypes())


def test_top_recommendations_runs_each_workload_rule_on_its_input():
    df = statements((N1_PARENT, 1), (N1_CHILD, 12))
    ev = EVENTS.build(
        [
            event("temp_file", SORT, size_bytes=2_000_000),
            event("lock_acquired", WAITER, duration_ms=300.0, object=LOCK),
            event("deadlock", VICTIM, message="deadlock detected"),
            event("error", "SELECT total / 0 FROM orders WHERE id = 7", message="division by zero"),
        ]
    )
    out = top_recommendations(df, None, events=ev, index_min_ms=1.0)
    assert set(WORKLOAD_RULES) <= set(out.get_column("rule"))


# ---------------------------------------------------------------------------------------
# the real PostgreSQL log


@pytest.fixture(scope="module")
def pg_log() -> PostgresLog:
    return read_postgres(SAMPLES / "postgresql.log", prefix=PREFIXES)


@pytest.fixture(scope="module")
def pg_recs(pg_log) -> pl.DataFrame:
    sql = (SAMPLES / "schema.sql").read_text()
    plans = {p.stem: p for p in (SAMPLES / "explain").glob("*.json") if p.stem != "queries"}
    return top_recommendations(
        pg_log,
        None,
        schema=schema_from_sql(sql),
        existing_indexes=existing_indexes_from_sql(sql),
        plans=plans,
    )


def has(recs: pl.DataFrame, rule: str, subject: str) -> dict[str, Any]:
    rows = recs.filter(
        (pl.col("rule") == rule) & pl.col("subject").str.contains(subject, literal=True)
    )
    assert rows.height >= 1, f"{rule} on {subject!r} not in\n{recs.select('rule', 'subject')}"
    return rows.row(0, named=True)


def test_the_real_log_starts_with_the_critical_findings(pg_recs):
    first = pg_recs.head(3)
    assert set(first.get_column("severity")) == {"critical"}
    assert set(first.get_column("rule")) == {
        "queries.update-without-where",
        "queries.delete-without-where",
        "queries.deadlock",
    }
    assert pg_recs.filter(pl.col("severity") == "critical").height == 3
    has(pg_recs, "queries.update-without-where", "UPDATE settings SET value = ?")
    has(pg_recs, "queries.delete-without-where", "DELETE FROM scratch")
    has(pg_recs, "queries.deadlock", "UPDATE orders SET total = total + ? WHERE id = ?")


def test_candidates_rejected_by_a_validation_are_not_recommended(pg_log):
    sql = (SAMPLES / "schema.sql").read_text()
    existing = existing_indexes_from_sql(sql)
    patterns = query_patterns(pg_log.statements)
    candidates = recommend_indexes(patterns, existing=existing)
    assert candidates.height >= 2
    # what live.validate_indexes returns: the first kept by HypoPG, the others rejected
    validated = candidates.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("yes"))
        .otherwise(pl.lit("no"))
        .alias("validated")
    )
    plain = top_recommendations(pg_log, None, existing_indexes=existing)
    checked = top_recommendations(
        pg_log, None, existing_indexes=existing, index_candidates=validated
    )
    subject = f"{candidates['table'][0]} ({', '.join(candidates['columns'][0])})"
    assert plain.filter(pl.col("rule") == "queries.missing-index").height >= 2
    kept = checked.filter(pl.col("rule") == "queries.missing-index")
    assert kept.get_column("subject").to_list() == [subject]


def test_the_real_log_is_ranked_by_severity_then_score(pg_recs):
    order = {s: i for i, s in enumerate(SEVERITIES)}
    keys = [(order[s], -sc) for s, sc in zip(pg_recs["severity"], pg_recs["score"], strict=True)]
    assert keys == sorted(keys)


def test_the_real_log_finds_the_planted_workload_problems(pg_recs):
    n1 = has(pg_recs, "queries.n-plus-one", "FROM order_items WHERE order_id = ?")
    assert n1["severity"] == "high" and "4 burst(s), 40 statements" in n1["evidence"]
    waits = pg_recs.filter(pl.col("rule") == "queries.lock-waits")
    assert waits.height == 2  # the plain lock wait, and the wait before the deadlock
    w = has(pg_recs, "queries.lock-waits", "UPDATE orders SET status = ? WHERE id = ?")
    assert w["impact"] == pytest.approx(700.5, abs=1.0)  # waited for a 0.7 s transaction
    idx = has(pg_recs, "queries.missing-index", "order_items (order_id)")
    assert idx["action"] == "CREATE INDEX CONCURRENTLY ON order_items (order_id);"
    has(pg_recs, "queries.temp-files", "FROM order_items ORDER BY price DESC")
    has(pg_recs, "queries.hot-pattern", "NOT id IN (SELECT user_id FROM orders")
    errors = pg_recs.filter(pl.col("rule") == "queries.error-rate")
    assert errors.height == 3  # syntax error, duplicate key, division by zero
    assert not errors.get_column("finding").str.contains("deadlock").any()


def test_the_real_log_finds_the_planted_sql_problems(pg_recs):
    planted = {
        "queries.select-star": "SELECT * FROM orders WHERE id = ?",
        "queries.function-on-column": "LOWER(email) = LOWER(?)",
        "queries.leading-wildcard": "WHERE title LIKE ?",
        "queries.large-offset": "LIMIT ? OFFSET ?",
        "queries.not-in-subquery": "NOT id IN (SELECT user_id FROM orders",
        "queries.order-by-random": "ORDER BY RANDOM()",
        "queries.huge-in-list": "WHERE id IN (?)",
        "queries.limit-without-order": "WHERE country = ? LIMIT ?",
        "queries.correlated-subquery": "(SELECT COUNT(*) FROM orders AS o WHERE o.user_id = u.id)",
        "queries.cartesian-join": "FROM users, products",
        "queries.implicit-conversion": "SELECT id, status FROM orders WHERE id = ?",
    }
    for rule, subject in planted.items():
        has(pg_recs, rule, subject)


def test_the_real_log_good_queries_are_not_flagged(pg_recs):
    good = [
        "SELECT id, email, name FROM users WHERE id = ?",
        "SELECT title, price FROM products WHERE sku = ?",
        "UPDATE orders SET status = ? WHERE id = ?",
        "INSERT INTO events (user_id, kind, payload) VALUES (?, ?, ?)",
    ]
    sql = pg_recs.filter(pl.col("rule").is_in(list(SQL_RULES)))
    for q in good:
        assert not sql.get_column("subject").str.ends_with(q).any(), q


def test_the_real_plans_are_named_in_their_findings(pg_recs):
    plan_recs = pg_recs.filter(pl.col("rule").is_in(list(PLAN_RULES)))
    subjects = plan_recs.get_column("subject").to_list()
    assert any(s.startswith("seq_scan_filter: Seq Scan on orders") for s in subjects)
    assert any(s.startswith("nested_loop: Nested Loop") for s in subjects)
    assert any(s.startswith("workers_not_launched: ") for s in subjects)
    assert not any(s.startswith("good_index_scan:") for s in subjects)
    assert "info" not in plan_recs.get_column("severity").to_list()  # hot nodes left out


def test_n_limits_the_rows_to_the_most_urgent(pg_log, pg_recs):
    five = top_recommendations(
        pg_log,
        5,
        schema=schema_from_sql((SAMPLES / "schema.sql").read_text()),
        existing_indexes=existing_indexes_from_sql((SAMPLES / "schema.sql").read_text()),
        plans={p.stem: p for p in (SAMPLES / "explain").glob("*.json") if p.stem != "queries"},
    )
    assert five.height == 5
    assert five.equals(pg_recs.head(5))
    assert top_recommendations(pg_log, 1).height == 1
    assert top_recommendations(pg_log, 0).height == 0


def test_the_frame_has_exactly_the_shared_recommendation_columns(pg_recs):
    assert pg_recs.columns == RECOMMENDATIONS.names
    assert pg_recs.schema == pl.Schema(RECOMMENDATIONS.dtypes())
    assert set(pg_recs.get_column("domain")) == {"queries"}
    assert set(pg_recs.get_column("rule")) <= set(STABLE_IDS)
    for col in ("subject", "finding", "action", "evidence"):
        assert pg_recs.get_column(col).null_count() == 0
        assert (pg_recs.get_column(col).str.len_chars() > 0).all()


def test_statements_and_events_give_what_the_postgres_log_gives(pg_log):
    as_log = top_recommendations(pg_log, None)
    as_frames = top_recommendations(pg_log.statements, None, events=pg_log.events)
    assert as_log.equals(as_frames)
    without_events = top_recommendations(pg_log.statements, None)
    assert "queries.deadlock" not in without_events.get_column("rule").to_list()


# ---------------------------------------------------------------------------------------
# the real MariaDB slow log


@pytest.fixture(scope="module")
def my_log() -> PostgresLog:
    return read_log(SAMPLES / "mariadb-slow.log")


def test_mariadb_implicit_conversion_is_found_from_the_logs_create_tables(my_log):
    recs = top_recommendations(my_log, None)
    row = has(recs, "queries.implicit-conversion", "FROM users WHERE phone = ?")
    assert "VARCHAR(20)" in row["finding"]
    # the column type comes from the CREATE TABLE the log holds: without it, no finding
    blind = top_recommendations(my_log, None, schema={})
    assert "queries.implicit-conversion" not in blind.get_column("rule").to_list()


def test_mariadb_n_plus_one_of_the_prepared_statement_loop(my_log):
    recs = top_recommendations(my_log, None)
    row = has(
        recs, "queries.n-plus-one", "SELECT product_id, qty FROM order_items WHERE order_id = ?"
    )
    assert "30 times in a row" in row["finding"]
    assert "ALTER TABLE order_items ADD INDEX (order_id);" in recs.get_column("action").to_list()


def test_mariadb_recommendations_have_the_shared_columns(my_log):
    recs = top_recommendations(my_log, 3)
    assert recs.height == 3
    assert recs.schema == pl.Schema(RECOMMENDATIONS.dtypes())

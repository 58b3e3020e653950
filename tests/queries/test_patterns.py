"""The pattern table and the slow statements (perflab.queries.patterns).

Every figure of ``query_patterns`` is recomputed here straight from the statements
with polars and numpy (``np.quantile(method="linear")``), on the real PostgreSQL log.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.queries import (
    PATTERNS,
    SLOW,
    STATEMENTS,
    detect_slow_queries,
    fingerprint,
    query_patterns,
    read_mysql_slow_log,
    read_pg_stat_statements,
    read_postgres,
    statements_frame,
    with_fingerprints,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]
GOOD_0 = "SELECT id, email, name FROM users WHERE id = $1"


@pytest.fixture(scope="module")
def statements() -> pl.DataFrame:
    return read_postgres(SAMPLES / "postgresql.log", prefix=PREFIXES).statements


@pytest.fixture(scope="module")
def pgss() -> pl.DataFrame:
    return read_pg_stat_statements(SAMPLES / "pg_stat_statements.csv")


@pytest.fixture(scope="module")
def patterns(statements: pl.DataFrame) -> pl.DataFrame:
    return query_patterns(statements)


def close(a: float | None, b: float | None, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


# --------------------------------------------------------------------------- the real log


def test_schema_and_one_row_per_fingerprint(
    statements: pl.DataFrame, patterns: pl.DataFrame
) -> None:
    assert patterns.schema == pl.Schema(PATTERNS.dtypes())
    assert patterns["fingerprint"].is_unique().all()
    expected = with_fingerprints(statements)["fingerprint"].n_unique()
    assert patterns.height == expected
    assert patterns["calls"].sum() == statements.height


def test_every_figure_matches_a_direct_computation(
    statements: pl.DataFrame, patterns: pl.DataFrame
) -> None:
    fps = with_fingerprints(statements)
    grand = fps["duration_ms"].sum()
    by_fp = {r["fingerprint"]: r for r in patterns.iter_rows(named=True)}
    for (fid,), group in fps.group_by("fingerprint"):
        row = by_fp[fid]
        d = group["duration_ms"].drop_nulls().to_numpy()
        assert row["calls"] == group.height
        assert close(row["total_ms"], float(d.sum()))
        assert close(row["mean_ms"], float(d.sum()) / group.height)
        for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
            assert close(row[col], float(np.quantile(d, q, method="linear"))), (fid, col)
        assert row["max_ms"] == d.max()
        assert close(row["share_pct"], float(d.sum()) / grand * 100)
        assert row["first_seen"] == group["timestamp"].min()
        assert row["last_seen"] == group["timestamp"].max()
        for col in ("user", "database", "application"):
            assert row[f"{col}s"] == sorted(group[col].drop_nulls().unique().to_list())
        slowest = group.filter(pl.col("duration_ms") == d.max())
        assert row["sample"] in slowest["query"].to_list()
        assert row["sample_ms"] == d.max()
        assert row["query"] == group["pattern"][0]
        assert row["parsed"] == group["parsed"][0]


def test_share_sums_to_100_and_the_most_time_comes_first(patterns: pl.DataFrame) -> None:
    assert math.isclose(patterns["share_pct"].sum(), 100.0, rel_tol=1e-9)
    totals = patterns["total_ms"].to_list()
    assert totals == sorted(totals, reverse=True)
    top = patterns.row(0, named=True)
    assert top["query"].startswith("SELECT COUNT(*) FROM users WHERE NOT id IN")  # NOT IN planted


def test_prepared_and_literal_twins_are_one_row_with_every_app(patterns: pl.DataFrame) -> None:
    row = patterns.filter(pl.col("fingerprint") == fingerprint(GOOD_0)).row(0, named=True)
    # 40 web (extended/prepared) + 8 reports (literals) + 5 worker
    assert row["calls"] == 53
    assert row["applications"] == ["shop-reports", "shop-web", "shop-worker"]
    assert row["query"] == "SELECT id, email, name FROM users WHERE id = ?"


def test_extended_protocol_sample_keeps_its_parameters(patterns: pl.DataFrame) -> None:
    row = patterns.filter(
        pl.col("query") == "SELECT product_id, qty, price FROM order_items WHERE order_id = ?"
    ).row(0, named=True)
    assert row["calls"] == 40
    assert row["sample"].endswith("order_id = $1")
    assert row["sample_parameters"].startswith("$1 = '")
    assert row["prepare_ms"] is not None and row["prepare_ms"] > 0


# --------------------------------------------------------------------------- pg_stat_statements


def test_pg_stat_statements_rows_give_calls_and_totals_without_percentiles(
    pgss: pl.DataFrame,
) -> None:
    p = query_patterns(pgss)
    fps = with_fingerprints(pgss)
    assert p["calls"].sum() == pgss["calls"].sum()
    assert close(p["total_ms"].sum(), pgss["duration_ms"].sum())
    for (fid,), group in fps.group_by("fingerprint"):
        row = p.filter(pl.col("fingerprint") == fid).row(0, named=True)
        assert row["calls"] == group["calls"].sum()
        assert close(row["total_ms"], group["duration_ms"].sum())
        assert close(row["mean_ms"], group["duration_ms"].sum() / group["calls"].sum())
        assert row["p50_ms"] is None and row["p95_ms"] is None and row["p99_ms"] is None
        assert row["first_seen"] is None and row["last_seen"] is None
    assert math.isclose(p["share_pct"].sum(), 100.0, rel_tol=1e-9)


def test_pg_stat_statements_and_log_mixed(statements: pl.DataFrame, pgss: pl.DataFrame) -> None:
    both = pl.concat([statements, pgss], how="diagonal_relaxed")
    mixed = query_patterns(both)
    log_only = query_patterns(statements)
    agg_only = query_patterns(pgss)
    fid = fingerprint(GOOD_0)
    m, lg, ag = (
        f.filter(pl.col("fingerprint") == fid).row(0, named=True)
        for f in (mixed, log_only, agg_only)
    )
    assert m["calls"] == lg["calls"] + ag["calls"]
    assert close(m["total_ms"], lg["total_ms"] + ag["total_ms"])
    assert close(m["mean_ms"], m["total_ms"] / m["calls"])
    for col in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "first_seen", "last_seen"):
        assert m[col] == lg[col], col  # only the log has single executions
    assert m["sample"] == lg["sample"]
    # a pattern only pg_stat_statements saw is still in the table
    only_agg = set(agg_only["fingerprint"]) - set(log_only["fingerprint"])
    assert only_agg and only_agg <= set(mixed["fingerprint"])
    assert set(log_only["fingerprint"]) <= set(mixed["fingerprint"])
    assert mixed["calls"].sum() == statements.height + pgss["calls"].sum()


def test_sample_is_an_execution_not_a_pg_stat_statements_total() -> None:
    rows = [
        {"query": "SELECT a FROM t WHERE id = 1", "duration_ms": 5.0},
        {
            "query": "SELECT a FROM t WHERE id = $1",
            "duration_ms": 300.0,
            "calls": 100,
            "protocol": "aggregate",
        },
    ]
    row = query_patterns(rows).row(0, named=True)
    assert row["max_ms"] == 5.0
    assert (row["sample"], row["sample_ms"]) == ("SELECT a FROM t WHERE id = 1", 5.0)


def test_max_of_a_pg_stat_statements_pattern_comes_from_the_view(pgss: pl.DataFrame) -> None:
    p = query_patterns(pgss)
    row = p.filter(pl.col("fingerprint") == fingerprint(GOOD_0)).row(0, named=True)
    view = pgss.filter(pl.col("query") == GOOD_0)
    assert row["max_ms"] == view["max_ms"].max()


# --------------------------------------------------------------------------- statements_frame


def test_statements_frame_fills_the_missing_columns() -> None:
    f = statements_frame([{"query": "SELECT name FROM users WHERE id = 7", "duration_ms": 2.5}])
    assert set(STATEMENTS.names) <= set(f.columns)
    assert {"fingerprint", "pattern", "parsed"} <= set(f.columns)
    row = f.row(0, named=True)
    assert row["calls"] == 1
    assert row["protocol"] == "simple"
    for col in ("timestamp", "pid", "user", "parameters", "rows", "line", "session"):
        assert row[col] is None
    assert row["pattern"] == "SELECT name FROM users WHERE id = ?"
    for col, dtype in STATEMENTS.dtypes().items():
        assert f.schema[col] == dtype, col


def test_statements_frame_keeps_given_fingerprints_and_fills_null_calls() -> None:
    rows = [
        {
            "query": "SELECT 1",
            "duration_ms": 1.0,
            "calls": None,
            "fingerprint": "mine",
            "pattern": "p",
        }
    ]
    f = statements_frame(rows)
    assert f.select("fingerprint", "pattern", "calls").row(0) == ("mine", "p", 1)


def test_statements_frame_needs_query_and_duration() -> None:
    with pytest.raises(SchemaError, match="duration_ms"):
        statements_frame([{"query": "SELECT 1"}])


def test_statements_frame_guesses_mysql_from_rows_examined() -> None:
    q = 'SELECT a FROM t WHERE b = "x"'  # a string in MySQL, an identifier in PostgreSQL
    mysql = statements_frame([{"query": q, "duration_ms": 1.0, "rows_examined": 10}])
    pg = statements_frame([{"query": q, "duration_ms": 1.0}])
    assert mysql["pattern"][0] == "SELECT a FROM t WHERE b = ?"
    assert pg["pattern"][0] != mysql["pattern"][0]
    forced = statements_frame([{"query": q, "duration_ms": 1.0}], dialect="mysql")
    assert forced["pattern"][0] == mysql["pattern"][0]


def test_mysql_slow_log_patterns() -> None:
    s = read_mysql_slow_log(SAMPLES / "mariadb-slow.log")
    p = query_patterns(s)
    assert p["calls"].sum() == s.height
    loop = p.filter(
        pl.col("query") == "SELECT product_id, qty FROM order_items WHERE order_id = ?"
    ).row(0, named=True)
    assert loop["calls"] == 30
    assert loop["databases"] == ["shop"]


# --------------------------------------------------------------------------- slow statements


def test_detect_slow_queries_threshold_and_order(statements: pl.DataFrame) -> None:
    threshold = 100.0
    slow = detect_slow_queries(statements, threshold)
    assert slow.schema == pl.Schema(SLOW.dtypes())
    expected = statements.filter(pl.col("duration_ms") >= threshold)
    assert slow.height == expected.height > 0
    d = slow["duration_ms"].to_list()
    assert d == sorted(d, reverse=True)
    assert min(d) >= threshold
    assert sorted(slow["line"].to_list()) == sorted(expected["line"].to_list())
    assert slow["fingerprint"].null_count() == 0


def test_detect_slow_queries_threshold_is_inclusive() -> None:
    rows = [{"query": f"SELECT {i}", "duration_ms": float(i)} for i in (5, 10, 15)]
    assert detect_slow_queries(rows, 10.0)["duration_ms"].to_list() == [15.0, 10.0]
    assert detect_slow_queries(rows, 0.0).height == 3
    assert detect_slow_queries(rows, 15.5).height == 0


def test_detect_slow_queries_ignores_pg_stat_statements_totals(
    statements: pl.DataFrame, pgss: pl.DataFrame
) -> None:
    both = pl.concat([statements, pgss], how="diagonal_relaxed")
    assert detect_slow_queries(both, 500.0).height == detect_slow_queries(statements, 500.0).height


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_detect_slow_queries_bad_threshold(bad: float) -> None:
    with pytest.raises(ParameterError):
        detect_slow_queries([{"query": "SELECT 1", "duration_ms": 1.0}], bad)


# --------------------------------------------------------------------------- empty


def test_empty_statements_give_an_empty_patterns_frame() -> None:
    p = query_patterns(STATEMENTS.empty())
    assert p.height == 0
    assert p.schema == PATTERNS.empty().schema
    slow = detect_slow_queries(STATEMENTS.empty())
    assert slow.height == 0 and slow.schema == SLOW.empty().schema


def test_empty_list_gives_an_empty_patterns_frame() -> None:
    assert query_patterns([]).schema == PATTERNS.empty().schema


def test_statements_without_durations_are_counted_but_not_timed() -> None:
    rows = [
        {"query": "SELECT a FROM t WHERE id = 1", "duration_ms": None},
        {"query": "SELECT a FROM t WHERE id = 2", "duration_ms": None},
    ]
    row = query_patterns(rows).row(0, named=True)
    assert row["calls"] == 2
    assert row["total_ms"] is None and row["p50_ms"] is None and row["max_ms"] is None

"""What only a log shows (perflab.queries.workload): N+1 bursts, temp files, lock waits,
errors — on the real PostgreSQL and MariaDB logs, and on small made-up sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.queries import (
    N_PLUS_ONE,
    STATEMENTS,
    detect_n_plus_one,
    error_rates,
    fingerprint,
    lock_waits,
    query_patterns,
    read_mysql_slow_log,
    read_postgres,
    temp_file_producers,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]
T0 = datetime(2026, 1, 1, tzinfo=UTC)

ITEMS = "SELECT product_id, qty, price FROM order_items WHERE order_id = $1"
ORDERS = "SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at DESC LIMIT 25"
USER = "SELECT id, email, name FROM users WHERE id = $1"


@pytest.fixture(scope="module")
def log() -> Any:
    return read_postgres(SAMPLES / "postgresql.log", prefix=PREFIXES)


def session(
    queries: list[str],
    *,
    sid: str | None = "s1",
    pid: int = 7,
    start_ms: float = 0.0,
    gap_ms: float = 2.0,
    duration_ms: float = 0.5,
) -> list[dict[str, Any]]:
    """Statements one session ran, ``gap_ms`` apart."""
    return [
        {
            "timestamp": T0 + timedelta(milliseconds=start_ms + i * gap_ms),
            "pid": pid,
            "session": sid,
            "query": q,
            "duration_ms": duration_ms,
        }
        for i, q in enumerate(queries)
    ]


def loop(n: int, first: int = 1) -> list[str]:
    return [f"SELECT * FROM items WHERE order_id = {first + i}" for i in range(n)]


PARENT = "SELECT id FROM orders WHERE user_id = 3"


# --------------------------------------------------------------------------- real logs


def test_real_log_worker_bursts_with_their_parent(log: Any) -> None:
    bursts = detect_n_plus_one(log.statements)
    assert bursts.schema == pl.Schema(N_PLUS_ONE.dtypes())
    assert bursts.height == 4  # four users, ten orders each
    assert set(bursts["fingerprint"]) == {fingerprint(ITEMS)}
    assert set(bursts["parent_fingerprint"]) == {fingerprint(ORDERS)}
    assert bursts["burst_size"].to_list() == [10, 10, 10, 10]
    assert set(bursts["application"]) == {"shop-worker"}
    assert bursts["parent_query"][0] == (
        "SELECT id FROM orders WHERE user_id = ? ORDER BY created_at DESC LIMIT ?"
    )
    assert bursts["query"][0] == "SELECT product_id, qty, price FROM order_items WHERE order_id = ?"
    # each burst's time is the sum of its statements
    items = log.statements.filter(pl.col("query") == ITEMS)
    for row in bursts.iter_rows(named=True):
        inside = items.filter(pl.col("timestamp").is_between(row["start"], row["end"]))
        assert inside.height == row["burst_size"]
        assert row["total_ms"] == pytest.approx(inside["duration_ms"].sum())
    totals = bursts["total_ms"].to_list()
    assert totals == sorted(totals, reverse=True)


def test_real_log_web_app_interleaved_queries_are_no_burst(log: Any) -> None:
    for min_burst in (10, 2):
        bursts = detect_n_plus_one(log.statements, min_burst=min_burst)
        assert "shop-web" not in bursts["application"].to_list()


def test_real_log_min_burst_and_max_gap(log: Any) -> None:
    s = log.statements
    # the report tool's 8 literal twins in a row: under the default 10, a burst at 8
    assert "shop-reports" not in detect_n_plus_one(s)["application"].to_list()
    reports = detect_n_plus_one(s, min_burst=8).filter(pl.col("application") == "shop-reports")
    assert reports.select("burst_size", "fingerprint").rows() == [(8, fingerprint(USER))]
    # the worker's five lookups 50 ms apart: a burst at 5, broken by max_gap_ms=10
    spread = detect_n_plus_one(s, min_burst=5).filter(
        (pl.col("application") == "shop-worker") & (pl.col("fingerprint") == fingerprint(USER))
    )
    assert spread["burst_size"].to_list() == [5]
    assert spread["parent_fingerprint"].to_list() == [fingerprint(ITEMS)]
    tight = detect_n_plus_one(s, min_burst=5, max_gap_ms=10.0)
    assert (
        fingerprint(USER)
        not in tight.filter(pl.col("application") == "shop-worker")["fingerprint"].to_list()
    )
    assert tight.filter(pl.col("fingerprint") == fingerprint(ITEMS)).height == 4


def test_real_mariadb_set_and_execute_loop_is_one_burst() -> None:
    s = read_mysql_slow_log(SAMPLES / "mariadb-slow.log")
    items = "SELECT product_id, qty FROM order_items WHERE order_id = ?"
    bursts = detect_n_plus_one(s)
    loop_rows = bursts.filter(pl.col("query") == items)
    # SET @o = n; EXECUTE items USING @o — thirty times, logged expanded
    assert loop_rows["burst_size"].to_list() == [30]
    assert loop_rows["parent_query"][0].lower().startswith("prepare items")
    assert loop_rows.row(0, named=True)["pid"] == 4


# --------------------------------------------------------------------------- made-up sessions


def test_a_loop_after_its_parent_is_a_burst() -> None:
    rows = session([PARENT, *loop(12)])
    (b,) = detect_n_plus_one(rows).iter_rows(named=True)
    assert b["burst_size"] == 12
    assert b["query"] == "SELECT * FROM items WHERE order_id = ?"
    assert b["parent_query"] == "SELECT id FROM orders WHERE user_id = ?"
    assert b["parent_fingerprint"] == fingerprint(PARENT)
    assert b["session"] == "s1" and b["pid"] == 7
    assert b["total_ms"] == pytest.approx(12 * 0.5)
    assert b["start"] == T0 + timedelta(milliseconds=2)
    assert b["end"] == T0 + timedelta(milliseconds=24)


def test_min_burst_threshold() -> None:
    rows = session([PARENT, *loop(9)])
    assert detect_n_plus_one(rows).height == 0
    assert detect_n_plus_one(rows, min_burst=9)["burst_size"].to_list() == [9]
    assert detect_n_plus_one(rows, min_burst=2)["burst_size"].to_list() == [9]


def test_max_gap_threshold_splits_a_run() -> None:
    rows = session(loop(12), gap_ms=2.0) + session(loop(12, 100), start_ms=5000.0, gap_ms=2.0)
    assert detect_n_plus_one(rows)["burst_size"].to_list() == [12, 12]
    assert detect_n_plus_one(rows, max_gap_ms=10_000.0)["burst_size"].to_list() == [24]
    slow = session(loop(12), gap_ms=300.0)
    assert detect_n_plus_one(slow, max_gap_ms=300.0)["burst_size"].to_list() == [12]
    assert detect_n_plus_one(slow, max_gap_ms=299.0).height == 0


def test_a_different_statement_ends_a_run() -> None:
    rows = session([*loop(6), "SELECT 1", *loop(6, 50)])
    assert detect_n_plus_one(rows, min_burst=6)["burst_size"].to_list() == [6, 6]
    assert detect_n_plus_one(rows, min_burst=7).height == 0


def test_transaction_control_inside_a_burst_does_not_break_it() -> None:
    queries = [PARENT, "BEGIN"]
    for q in loop(12):
        queries += [q, "SAVEPOINT s", "RELEASE SAVEPOINT s"]
    queries += ["COMMIT", "START TRANSACTION", *loop(3, 900), "ROLLBACK", "end"]
    (b,) = detect_n_plus_one(queries_frame := session(queries)).iter_rows(named=True)
    assert b["burst_size"] == 15
    assert b["parent_fingerprint"] == fingerprint(PARENT)  # not BEGIN
    assert len(queries_frame) == len(queries)


def test_two_interleaved_sessions_are_kept_apart() -> None:
    a = session([PARENT, *loop(12)], sid="a", pid=1, gap_ms=2.0)
    b = session(["SELECT id FROM users WHERE id = 9", *loop(11, 500)], sid="b", pid=2,
                start_ms=1.0, gap_ms=2.0)  # fmt: skip
    rows = sorted(a + b, key=lambda r: r["timestamp"])  # log order interleaves them
    bursts = detect_n_plus_one(rows)
    assert bursts.select("session", "burst_size").rows() == [("a", 12), ("b", 11)]
    parents = dict(bursts.select("session", "parent_query").iter_rows())
    assert parents == {
        "a": "SELECT id FROM orders WHERE user_id = ?",
        "b": "SELECT id FROM users WHERE id = ?",
    }


def test_sessions_fall_back_to_the_pid() -> None:
    rows = session(loop(6), sid=None, pid=1) + session(loop(6), sid=None, pid=2, start_ms=1)
    rows.sort(key=lambda r: r["timestamp"])
    assert detect_n_plus_one(rows, min_burst=6)["pid"].sort().to_list() == [1, 2]


def test_mysql_user_variables_do_not_break_a_run() -> None:
    queries = []
    for i in range(12):
        queries += [f"SET @o = {i}", f"SELECT product_id FROM order_items WHERE order_id = {i}"]
    bursts = detect_n_plus_one(session(queries), dialect="mysql")
    assert bursts["burst_size"].to_list() == [12]


@pytest.mark.parametrize(
    "options",
    [{"min_burst": 1}, {"min_burst": 0}, {"max_gap_ms": -1.0}, {"max_gap_ms": float("nan")}],
)
def test_bad_parameters(options: dict[str, Any]) -> None:
    with pytest.raises(ParameterError):
        detect_n_plus_one(session(loop(12)), **options)


def test_no_statements_give_an_empty_frame() -> None:
    out = detect_n_plus_one(STATEMENTS.empty())
    assert out.height == 0 and out.schema == pl.Schema(N_PLUS_ONE.dtypes())
    only_tx = detect_n_plus_one(session(["BEGIN", "COMMIT"]))
    assert only_tx.height == 0 and only_tx.schema == pl.Schema(N_PLUS_ONE.dtypes())


# --------------------------------------------------------------------------- events


def test_temp_file_producers_on_the_real_log(log: Any) -> None:
    temp = log.events.filter(pl.col("kind") == "temp_file")
    out = temp_file_producers(log.events)
    assert out["temp_files"].sum() == temp.height
    assert out["total_bytes"].sum() == temp["size_bytes"].sum()
    totals = out["total_bytes"].to_list()
    assert totals == sorted(totals, reverse=True)
    sort = out.filter(
        pl.col("fingerprint")
        == fingerprint(
            "SELECT order_id, product_id, price FROM order_items ORDER BY price DESC, id"
        )
    ).row(0, named=True)
    assert sort["temp_files"] == 1
    assert sort["total_bytes"] == sort["max_bytes"]
    assert sort["total_bytes"] > 1_000_000
    group_by = out.filter(pl.col("query").str.starts_with("SELECT user_id, COUNT(*)")).row(
        0, named=True
    )
    assert group_by["temp_files"] == 2
    assert group_by["total_bytes"] == 1294336


def test_lock_waits_on_the_real_log(log: Any) -> None:
    out = lock_waits(log.events)
    rows = {r["query"]: r for r in out.iter_rows(named=True)}
    # B waited for A's row lock: "still waiting" after 200 ms, then "acquired" after 700 ms
    status = rows["UPDATE orders SET status = ? WHERE id = ?"]
    assert (status["waits"], status["deadlocks"]) == (1, 0)
    assert status["total_wait_ms"] == status["max_wait_ms"] == 700.499
    assert status["locks"] == ["ShareLock"]
    # the crossed updates: one wait that ended in the deadlock
    total = rows["UPDATE orders SET total = total + ? WHERE id = ?"]
    assert (total["waits"], total["deadlocks"]) == (1, 1)
    assert total["total_wait_ms"] == 200.194
    assert out["query"].to_list()[0] == "UPDATE orders SET status = ? WHERE id = ?"


def test_a_wait_is_counted_once_by_its_longest_report() -> None:
    obj = "ShareLock on transaction 9"
    q = "UPDATE t SET x = 1 WHERE id = 1"
    events = [
        {"kind": "lock_wait", "pid": 7, "duration_ms": 200.0, "object": obj, "query": q},
        {"kind": "lock_acquired", "pid": 7, "duration_ms": 700.0, "object": obj, "query": q},
        {"kind": "lock_wait", "pid": 8, "duration_ms": 250.0, "object": obj, "query": q},
        {"kind": "deadlock", "pid": 8, "query": q},
    ]
    (row,) = lock_waits(events).iter_rows(named=True)
    assert (row["waits"], row["deadlocks"]) == (2, 1)
    assert row["total_wait_ms"] == 950.0
    assert row["max_wait_ms"] == 700.0


def test_two_waits_of_one_process_for_the_same_relation_are_two_waits() -> None:
    obj = "AccessExclusiveLock on relation 16400 of database 16384"
    q = "ALTER TABLE orders ADD COLUMN x int"
    events = [
        {"kind": "lock_wait", "pid": 7, "duration_ms": 200.0, "object": obj, "query": q},
        {"kind": "lock_acquired", "pid": 7, "duration_ms": 500.0, "object": obj, "query": q},
        {"kind": "lock_wait", "pid": 7, "duration_ms": 200.0, "object": obj, "query": q},
        {"kind": "lock_acquired", "pid": 7, "duration_ms": 800.0, "object": obj, "query": q},
    ]
    (row,) = lock_waits(events).iter_rows(named=True)
    assert (row["waits"], row["total_wait_ms"]) == (2, 1300.0)


def test_error_rates_on_the_real_log(log: Any) -> None:
    patterns = query_patterns(log.statements)
    out = error_rates(log.events, patterns)
    assert out["errors"].sum() == 4  # a syntax error, a unique violation, 1/0, a deadlock
    rows = {r["query"]: r for r in out.iter_rows(named=True)}
    dead = rows["UPDATE orders SET total = total + ? WHERE id = ?"]
    assert dead["message"] == "deadlock detected"
    calls = patterns.filter(pl.col("fingerprint") == dead["fingerprint"])["calls"].item()
    assert dead["calls"] == calls == 3
    assert dead["error_rate"] == pytest.approx(1 / (1 + calls))
    dup = rows["INSERT INTO users (email, name) VALUES (?, ?)"]
    assert dup["message"].startswith("duplicate key value violates unique constraint")
    assert (dup["calls"], dup["error_rate"]) == (None, 1.0)  # it never succeeded
    assert rows["SELECT total / ? FROM orders WHERE id = ?"]["message"] == "division by zero"
    assert rows["selec id from users"]["message"].startswith("syntax error")
    without = error_rates(log.events)
    assert without["calls"].null_count() == without.height
    assert (without["error_rate"] == 1.0).all()


def test_error_rates_carry_the_sqlstate_of_the_csvlog() -> None:
    events = read_postgres(SAMPLES / "postgresql.csv").events
    states = dict(error_rates(events).select("message", "sqlstate").iter_rows())
    assert states["deadlock detected"] == "40P01"
    assert states["division by zero"] == "22012"


def test_events_need_a_kind() -> None:
    from perflab.errors import SchemaError

    with pytest.raises(SchemaError, match="kind"):
        lock_waits([{"query": "SELECT 1"}])

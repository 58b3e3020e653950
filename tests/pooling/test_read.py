"""Readers on the real captures in data/sample/pooling and on broken copies of them."""

import gzip
import json
import warnings

import polars as pl
import pytest

from perflab.errors import InputError, InputWarning
from perflab.pooling import (
    ACQUIRES,
    HIKARI,
    PGBOUNCER_POOLS,
    PGBOUNCER_STATS,
    POOL_STATS,
    listen_sqlalchemy,
    read_acquires,
    read_hikari,
    read_pgbouncer_pools,
    read_pgbouncer_stats,
    read_pool_stats,
    read_sqlalchemy_events,
)

from .conftest import DSN, SAMPLES, live


def test_the_captured_acquires():
    ev = read_acquires(SAMPLES / "app.acquires.jsonl.gz")
    assert ACQUIRES.validate(ev).height > 3000
    assert set(ev["outcome"]) <= {"ok", "rejected", "timeout"}
    assert (ev["outcome"] == "rejected").sum() > 0
    assert ev.filter(pl.col("outcome") == "ok")["hold_ms"].null_count() == 0


def test_acquires_with_bad_rows(tmp_path):
    good = {"start": "2026-01-01T00:00:00Z", "wait_ms": 1.0, "hold_ms": 2.0, "outcome": "ok"}
    lines = [good, {**good, "hold_ms": -5.0}, {**good, "outcome": "maybe"}, good]
    p = tmp_path / "a.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(InputError) as info:
        read_acquires(p)
    assert info.value.line == 2 and "non-negative" in info.value.reason
    with pytest.warns(UserWarning, match="skipped 2 unreadable"):
        assert read_acquires(p, errors="skip").height == 2


def test_empty_and_truncated_acquires(tmp_path):
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    assert read_acquires(empty).equals(ACQUIRES.empty())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes((SAMPLES / "app.acquires.jsonl.gz").read_bytes()[:5000])
    with pytest.raises(InputError, match="truncated"):
        read_acquires(cut)


def test_psycopg_pool_get_stats_log():
    st = read_pool_stats(SAMPLES / "app.get_stats.jsonl")
    assert POOL_STATS.validate(st).height > 20
    assert st["timestamp"].is_sorted() and set(st["pool"]) == {"app"}
    # counters only grow; the first snapshot had no request yet (psycopg left it out)
    assert st["requests_num"].is_sorted() and st["requests_num"][0] == 0
    assert st["requests_errors"][-1] > 0 and st["pool_max"][0] == 4


def test_get_stats_log_with_a_broken_line(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"time": 1767225600, "pool_size": 3}\n{"time": 1767225601, "pool_size": \n')
    with pytest.raises(InputError) as info:
        read_pool_stats(p)
    assert info.value.line == 2
    p.write_text('{"pool_size": 3}\n')
    with pytest.raises(InputError, match="no time key"):
        read_pool_stats(p)


@pytest.mark.parametrize("name", ["pgbouncer.pools.txt", "pgbouncer.pools.csv"])
def test_pgbouncer_show_pools(name):
    pools = read_pgbouncer_pools(SAMPLES / name)
    assert PGBOUNCER_POOLS.validate(pools).height >= 2
    test = pools.filter(pl.col("database") == "test")
    assert set(test["pool_mode"]) == {"transaction"} and test["sv_active"].max() == 4
    assert test["cl_waiting"].min() > 0 and test["maxwait_s"].max() > 0
    if name.endswith(".txt"):  # psql's \watch titles carry the time
        assert test["captured_at"].null_count() == 0 and test["captured_at"].n_unique() > 1
    else:
        assert test["captured_at"].null_count() == test.height


def test_pgbouncer_show_stats_unaligned_and_csv_agree():
    a = read_pgbouncer_stats(SAMPLES / "pgbouncer.stats.txt")
    b = read_pgbouncer_stats(SAMPLES / "pgbouncer.stats.csv")
    assert PGBOUNCER_STATS.validate(a).height == 2
    cols = ["database", "total_xact_count", "total_wait_time_us"]
    assert a.select(cols).filter(pl.col("database") == "test")["total_xact_count"][0] > 100
    assert b.select(cols)["database"].to_list() == a.select(cols)["database"].to_list()


def test_a_pgbouncer_capture_cut_short(tmp_path):
    text = (SAMPLES / "pgbouncer.pools.txt").read_text().split("\n")
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(text[:6]))  # the first table without its "(2 rows)"
    with pytest.raises(InputError, match="cut short"):
        read_pgbouncer_pools(cut)
    wide = tmp_path / "wide.txt"
    wide.write_text("database|user|cl_active|cl_waiting\ntest|app|1|0|9\n(1 row)\n")
    with pytest.raises(InputError) as info:
        read_pgbouncer_pools(wide)
    assert info.value.line == 2 and "fields" in info.value.reason


def test_empty_pgbouncer_capture(tmp_path):
    p = tmp_path / "e.txt"
    p.write_text("\n")
    assert read_pgbouncer_pools(p).equals(PGBOUNCER_POOLS.empty())
    assert read_pgbouncer_stats(p).equals(PGBOUNCER_STATS.empty())


# Micrometer (Spring Boot /actuator/prometheus) writes HikariCP's meters like this:
# a trailing comma in the label block, summaries as _count/_sum plus a _max gauge.
MICROMETER = """\
# HELP hikaricp_connections_active Active connections
# TYPE hikaricp_connections_active gauge
hikaricp_connections_active{pool="HikariPool-1",} 7.0
# HELP hikaricp_connections_idle Idle connections
# TYPE hikaricp_connections_idle gauge
hikaricp_connections_idle{pool="HikariPool-1",} 3.0
# HELP hikaricp_connections_pending Pending threads
# TYPE hikaricp_connections_pending gauge
hikaricp_connections_pending{pool="HikariPool-1",} 2.0
# HELP hikaricp_connections_max Max connections
# TYPE hikaricp_connections_max gauge
hikaricp_connections_max{pool="HikariPool-1",} 10.0
# HELP hikaricp_connections_timeout_total Connection timeout total count
# TYPE hikaricp_connections_timeout_total counter
hikaricp_connections_timeout_total{pool="HikariPool-1",} 4.0
# HELP hikaricp_connections_acquire_seconds Connection acquire time
# TYPE hikaricp_connections_acquire_seconds summary
hikaricp_connections_acquire_seconds_count{pool="HikariPool-1",} 1200.0
hikaricp_connections_acquire_seconds_sum{pool="HikariPool-1",} 3.6
# HELP hikaricp_connections_acquire_seconds_max Connection acquire time
# TYPE hikaricp_connections_acquire_seconds_max gauge
hikaricp_connections_acquire_seconds_max{pool="HikariPool-1",} 0.25
"""

# HikariCP's own PrometheusMetricsTracker (simpleclient) names.
TRACKER = """\
# TYPE hikaricp_active_connections gauge
hikaricp_active_connections{pool="orders"} 5.0
# TYPE hikaricp_pending_threads gauge
hikaricp_pending_threads{pool="orders"} 1.0
# TYPE hikaricp_connection_acquired_nanos summary
hikaricp_connection_acquired_nanos_count{pool="orders"} 10.0
hikaricp_connection_acquired_nanos_sum{pool="orders"} 5.0E7
"""


def test_hikari_micrometer_and_tracker_names(tmp_path):
    p = tmp_path / "scrape.prom"
    p.write_text(MICROMETER + TRACKER + "jvm_threads_live_threads 42.0\n")
    h = read_hikari(p, at="2026-01-01T00:00:00Z")
    assert HIKARI.validate(h)["pool"].to_list() == ["HikariPool-1", "orders"]
    one = h.row(0, named=True)
    assert (one["active"], one["pending"], one["max"], one["timeouts"]) == (7.0, 2.0, 10.0, 4.0)
    assert one["acquire_sum_s"] / one["acquire_count"] == pytest.approx(0.003)
    assert h.row(1, named=True)["acquire_sum_s"] == pytest.approx(0.05)  # ns → s


def test_hikari_bad_and_empty(tmp_path):
    p = tmp_path / "bad.prom"
    p.write_text('hikaricp_connections_active{pool="x"} lots\n')
    with pytest.raises(InputError):
        read_hikari(p)
    e = tmp_path / "e.prom"
    e.write_text("")
    assert read_hikari(e).equals(HIKARI.empty())
    # a scrape of the wrong endpoint is no pool at all, and says so rather than nothing
    other = tmp_path / "node.prom"
    other.write_text("# TYPE jvm_threads_live_threads gauge\njvm_threads_live_threads 42.0\n")
    with pytest.warns(InputWarning, match="no HikariCP pool: 1 sample"):
        assert read_hikari(other).equals(HIKARI.empty())


@live
def test_the_sqlalchemy_listener_on_a_real_engine(tmp_path):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(
        DSN.replace("postgresql://", "postgresql+psycopg://"), pool_size=2, max_overflow=0
    )
    path = tmp_path / "sa.jsonl"
    with listen_sqlalchemy(engine, path, name="db"):
        for _ in range(3):
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT pg_sleep(0.02)"))
    engine.dispose()
    kinds = [json.loads(x)["event"] for x in path.read_text().splitlines()]
    assert kinds.count("checkout") == 3 and kinds.count("checkin") == 3 and "connect" in kinds
    ev = read_sqlalchemy_events(path)
    assert ev.height == 3 and ev["hold_ms"].min() >= 15 and ev["wait_ms"].null_count() == 3
    assert set(ev["pool"]) == {"db"} and ev["size"].to_list() == [2, 2, 2]


def test_sqlalchemy_events_out_of_order(tmp_path):
    p = tmp_path / "sa.jsonl"
    rows = [
        {"ts": 10.0, "event": "checkin", "pool": "db", "conn": 1},
        {"ts": 5.0, "event": "checkout", "pool": "db", "conn": 1},
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = read_sqlalchemy_events(p)
    assert ev["hold_ms"].to_list() == [None]  # its checkin came before it: not its own


def test_gzip_of_get_stats(tmp_path):
    p = tmp_path / "s.jsonl.gz"
    p.write_bytes(gzip.compress((SAMPLES / "app.get_stats.jsonl").read_bytes()))
    assert read_pool_stats(p).height == read_pool_stats(SAMPLES / "app.get_stats.jsonl").height

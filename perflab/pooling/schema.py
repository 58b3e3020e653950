"""Canonical frames of the pooling domain, each declared once as a ``Schema``.

``ACQUIRES`` — one row per request for a connection: what
:meth:`~perflab.pooling.InstrumentedPool.events` returns, what
:func:`~perflab.pooling.read_sqlalchemy_events` builds from SQLAlchemy's pool events,
and the trace :func:`~perflab.pooling.replay` and :func:`~perflab.pooling.what_if`
replay.

=========  =====================  =====================================================
column     dtype                  meaning
=========  =====================  =====================================================
start      datetime[μs, UTC]      when the connection was asked for
wait_ms    f64                    time until the pool handed one over (or gave up), ms;
                                  null when the source does not know it (SQLAlchemy)
hold_ms    f64                    time the connection was held before it went back,
                                  ms; null when none was handed over
outcome    str                    ``ok``, ``timeout`` (the wait ran out), ``rejected``
                                  (the wait queue was full) or ``error`` (anything
                                  else: a broken connection, the pool closed)
=========  =====================  =====================================================

Optional: ``pool`` (str, the pool's name), ``error`` (str, the exception's first line),
``size`` (i64, connections open — or being opened — when the request came),
``in_use`` (i64, connections lent out right after it was served), ``waiting`` (i64,
requests in the queue when it came).

``POOL_STATS`` — snapshots of a pool's counters over time: psycopg_pool's
``get_stats()`` (:meth:`InstrumentedPool.stats`, :func:`~perflab.pooling.read_pool_stats`).
The counters are psycopg_pool's own names; its ``get_stats()`` leaves a counter out
until it is non-zero, so a missing counter reads 0 here.

====================  =================  ==============================================
column                dtype              meaning
====================  =================  ==============================================
timestamp             datetime[μs, UTC]  when the snapshot was taken
pool                  str                the pool's name
pool_min, pool_max    i64                configured bounds
pool_size             i64                connections open or being opened
pool_available        i64                idle connections in the pool
requests_waiting      i64                clients in the wait queue
requests_num          i64                requests so far (counter)
requests_queued       i64                requests that had to wait (counter)
requests_wait_ms      i64                total time requests waited, ms (counter)
requests_errors       i64                timeouts, rejections, errors (counter)
usage_ms              i64                total time connections were lent, ms (counter)
returns_bad           i64                connections returned broken (counter)
connections_num       i64                connection attempts (counter)
connections_ms        i64                total time spent connecting, ms (counter)
connections_errors    i64                failed connection attempts (counter)
connections_lost      i64                connections found broken (counter)
====================  =================  ==============================================

``PGBOUNCER_POOLS`` — PgBouncer's ``SHOW POOLS``, one row per (database, user) and
capture: ``captured_at`` (datetime, null when the capture has no time), ``database``,
``user``, ``cl_active``, ``cl_waiting``, ``sv_active``, ``sv_idle``, ``sv_used``,
``sv_tested``, ``sv_login`` (i64), ``maxwait_s`` (f64: PgBouncer's ``maxwait`` plus
``maxwait_us``, the age of the oldest waiting client), ``pool_mode`` (str); other
columns of the PgBouncer version are kept as they are.

``PGBOUNCER_STATS`` — PgBouncer's ``SHOW STATS``, one row per database and capture:
``captured_at``, ``database``, the counters ``total_xact_count``,
``total_query_count``, ``total_received``, ``total_sent`` (bytes),
``total_xact_time_us``, ``total_query_time_us``, ``total_wait_time_us`` (PgBouncer's
``*_time`` columns are microseconds; the unit is put in the name) and the per-second
averages of the last stats period ``avg_xact_count``, ``avg_query_count``,
``avg_recv``, ``avg_sent``, ``avg_xact_time_us``, ``avg_query_time_us``,
``avg_wait_time_us``.

``HIKARI`` — HikariCP's metrics, one row per pool and scrape: ``timestamp``, ``pool``,
``active``, ``idle``, ``pending``, ``total``, ``max``, ``min`` (f64 gauges),
``timeouts`` (counter), ``acquire_count``, ``acquire_sum_s``, ``acquire_max_s``,
``usage_count``, ``usage_sum_s``, ``usage_max_s``, ``creation_count``,
``creation_sum_s``, ``creation_max_s`` (f64; null when the scrape lacks them).
"""

from __future__ import annotations

import polars as pl

from perflab.frames import UTC_DATETIME, Schema

__all__ = [
    "ACQUIRES",
    "HIKARI",
    "OUTCOMES",
    "PGBOUNCER_POOLS",
    "PGBOUNCER_STATS",
    "POOL_STATS",
    "STAT_COUNTERS",
]

OUTCOMES: tuple[str, ...] = ("ok", "timeout", "rejected", "error")
"""The outcomes of an acquire."""

ACQUIRES = Schema(
    "pool acquires",
    {
        "start": UTC_DATETIME,
        "wait_ms": pl.Float64,
        "hold_ms": pl.Float64,
        "outcome": pl.String,
    },
    optional={
        "pool": pl.String,
        "error": pl.String,
        "size": pl.Int64,
        "in_use": pl.Int64,
        "waiting": pl.Int64,
    },
)

STAT_COUNTERS: tuple[str, ...] = (
    "pool_min",
    "pool_max",
    "pool_size",
    "pool_available",
    "requests_waiting",
    "requests_num",
    "requests_queued",
    "requests_wait_ms",
    "requests_errors",
    "usage_ms",
    "returns_bad",
    "connections_num",
    "connections_ms",
    "connections_errors",
    "connections_lost",
)
"""psycopg_pool's ``get_stats()`` keys (measures and counters), in schema order."""

POOL_STATS = Schema(
    "pool stats",
    {"timestamp": UTC_DATETIME, "pool": pl.String, **dict.fromkeys(STAT_COUNTERS, pl.Int64)},
)

PGBOUNCER_POOLS = Schema(
    "pgbouncer pools",
    {
        "captured_at": UTC_DATETIME,
        "database": pl.String,
        "user": pl.String,
        "cl_active": pl.Int64,
        "cl_waiting": pl.Int64,
        "sv_active": pl.Int64,
        "sv_idle": pl.Int64,
        "sv_used": pl.Int64,
        "sv_tested": pl.Int64,
        "sv_login": pl.Int64,
        "maxwait_s": pl.Float64,
        "pool_mode": pl.String,
    },
)

PGBOUNCER_STATS = Schema(
    "pgbouncer stats",
    {
        "captured_at": UTC_DATETIME,
        "database": pl.String,
        **dict.fromkeys(
            [
                "total_xact_count",
                "total_query_count",
                "total_received",
                "total_sent",
                "total_xact_time_us",
                "total_query_time_us",
                "total_wait_time_us",
                "avg_xact_count",
                "avg_query_count",
                "avg_recv",
                "avg_sent",
                "avg_xact_time_us",
                "avg_query_time_us",
                "avg_wait_time_us",
            ],
            pl.Int64,
        ),
    },
)

HIKARI = Schema(
    "hikaricp metrics",
    {
        "timestamp": UTC_DATETIME,
        "pool": pl.String,
        **dict.fromkeys(
            [
                "active",
                "idle",
                "pending",
                "total",
                "max",
                "min",
                "timeouts",
                "acquire_count",
                "acquire_sum_s",
                "acquire_max_s",
                "usage_count",
                "usage_sum_s",
                "usage_max_s",
                "creation_count",
                "creation_sum_s",
                "creation_max_s",
            ],
            pl.Float64,
        ),
    },
)

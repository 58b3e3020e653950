"""Connection pooling: an instrumented pool, readers, Erlang C sizing and what-if replay.

Live: :class:`InstrumentedPool` (and :class:`AsyncInstrumentedPool`) is psycopg_pool's
pool with every acquire recorded — wait, hold, timeouts, rejections, errors, the
pool's size over time — as frames; :func:`default_pool` is the process-wide one.
:func:`benchmark_pool` drives a real workload through pools of several sizes.
Readers: :func:`read_acquires`, psycopg_pool ``get_stats()`` logs
(:func:`read_pool_stats`), PgBouncer ``SHOW POOLS``/``SHOW STATS``
(:func:`read_pgbouncer_pools`, :func:`read_pgbouncer_stats`), HikariCP's Prometheus
metrics (:func:`read_hikari`), SQLAlchemy pool events (:func:`listen_sqlalchemy`
writes them, :func:`read_sqlalchemy_events` reads them). Models: :func:`erlang_c`,
:func:`size_recommendation`, :func:`erlang_table`; :func:`replay` and :func:`what_if`
simulate a trace against other pool sizes. Analyses: :func:`acquire_summary`,
:func:`pool_timeline`, :func:`saturation_periods`, :func:`database_ceiling`,
:func:`findings`. Frames are declared in :mod:`perflab.pooling.schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.lazy import exports as _exports
from perflab.pooling.schema import ACQUIRES, HIKARI, PGBOUNCER_POOLS, PGBOUNCER_STATS, POOL_STATS

if TYPE_CHECKING:
    from perflab.pooling.bench import benchmark_pool, with_model
    from perflab.pooling.erlang import (
        SizeRecommendation,
        erlang_b,
        erlang_c,
        erlang_table,
        mean_wait_ms,
        size_recommendation,
        wait_exceeds,
        wait_percentile_ms,
    )
    from perflab.pooling.listen import listen_sqlalchemy
    from perflab.pooling.pool import (
        AsyncInstrumentedPool,
        InstrumentedPool,
        PoolError,
        close_default_pool,
        default_pool,
    )
    from perflab.pooling.read import (
        read_acquires,
        read_hikari,
        read_pgbouncer_pools,
        read_pgbouncer_stats,
        read_pool_stats,
        read_sqlalchemy_events,
    )
    from perflab.pooling.rules import findings
    from perflab.pooling.simulate import poisson_trace, replay, what_if
    from perflab.pooling.sizing import recommend_size, recorded_vs_replayed
    from perflab.pooling.usage import (
        acquire_summary,
        database_ceiling,
        peak_window,
        pool_timeline,
        saturation_periods,
    )

# name → the module that defines it, imported on first use.
_HOME = {
    "AsyncInstrumentedPool": "pool",
    "InstrumentedPool": "pool",
    "PoolError": "pool",
    "SizeRecommendation": "erlang",
    "acquire_summary": "usage",
    "benchmark_pool": "bench",
    "close_default_pool": "pool",
    "database_ceiling": "usage",
    "default_pool": "pool",
    "erlang_b": "erlang",
    "erlang_c": "erlang",
    "erlang_table": "erlang",
    "findings": "rules",
    "listen_sqlalchemy": "listen",
    "mean_wait_ms": "erlang",
    "peak_window": "usage",
    "poisson_trace": "simulate",
    "pool_timeline": "usage",
    "read_acquires": "read",
    "read_hikari": "read",
    "read_pgbouncer_pools": "read",
    "read_pgbouncer_stats": "read",
    "read_pool_stats": "read",
    "read_sqlalchemy_events": "read",
    "recommend_size": "sizing",
    "recorded_vs_replayed": "sizing",
    "replay": "simulate",
    "saturation_periods": "usage",
    "size_recommendation": "erlang",
    "wait_exceeds": "erlang",
    "wait_percentile_ms": "erlang",
    "what_if": "simulate",
    "with_model": "bench",
}

__all__ = [
    "ACQUIRES",
    "HIKARI",
    "PGBOUNCER_POOLS",
    "PGBOUNCER_STATS",
    "POOL_STATS",
    "AsyncInstrumentedPool",
    "InstrumentedPool",
    "PoolError",
    "SizeRecommendation",
    "acquire_summary",
    "benchmark_pool",
    "close_default_pool",
    "database_ceiling",
    "default_pool",
    "erlang_b",
    "erlang_c",
    "erlang_table",
    "findings",
    "listen_sqlalchemy",
    "mean_wait_ms",
    "peak_window",
    "poisson_trace",
    "pool_timeline",
    "read_acquires",
    "read_hikari",
    "read_pgbouncer_pools",
    "read_pgbouncer_stats",
    "read_pool_stats",
    "read_sqlalchemy_events",
    "recommend_size",
    "recorded_vs_replayed",
    "replay",
    "saturation_periods",
    "size_recommendation",
    "wait_exceeds",
    "wait_percentile_ms",
    "what_if",
    "with_model",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

"""Query optimization: database logs to ranked, validated query fixes.

Readers (:func:`read_postgres_log`, :func:`read_postgres_csvlog`,
:func:`read_postgres_jsonlog`, :func:`read_postgres`, :func:`read_mysql_slow_log`,
:func:`read_pg_stat_statements`) give the canonical statement frame (:data:`STATEMENTS`)
and, for PostgreSQL, its events (:data:`EVENTS`). :func:`fingerprint` groups statements
into patterns; :func:`query_patterns` is the workload table; :func:`analyze_queries`,
:func:`detect_n_plus_one`, :func:`explain_findings` and :func:`recommend_indexes` find
what to fix; :func:`top_recommendations` ranks it all. :func:`digest` builds the pattern
table of a log of any size in flat memory. :mod:`perflab.queries.live` talks to a
running PostgreSQL (``pg_stat_statements``, EXPLAIN, HypoPG). Every frame's columns are
in :mod:`perflab.queries.schema`; the notebook's charts in :mod:`perflab.queries.charts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.lazy import exports

# What reading and digesting a log needs is imported now (``digest`` and
# ``fingerprint`` are also the names of their modules: imported later, the module would
# shadow the function); the analyses are imported on first use, so that a script that
# only digests a log does not pay for them, numpy and the rules (0.4 s a process).
from perflab.queries.digest import Digest, digest
from perflab.queries.fingerprint import fingerprint, with_fingerprints
from perflab.queries.read import (
    PostgresLog,
    iter_postgres,
    read_log,
    read_mysql_slow_log,
    read_pg_stat_statements,
    read_postgres,
    read_postgres_csvlog,
    read_postgres_jsonlog,
    read_postgres_log,
    sniff_format,
)
from perflab.queries.schema import (
    EVENTS,
    FINDINGS,
    INDEX_CANDIDATES,
    N_PLUS_ONE,
    PATTERNS,
    PLAN_FINDINGS,
    SLOW,
    STATEMENTS,
)

if TYPE_CHECKING:
    from perflab.queries.analyze import (
        analyze_queries,
        analyze_query,
        schema_from_sql,
        schema_from_statements,
    )
    from perflab.queries.explain import explain_findings, explain_plans, load_plan
    from perflab.queries.indexes import Index, existing_indexes_from_sql, recommend_indexes
    from perflab.queries.patterns import (
        detect_slow_queries,
        query_patterns,
        statement_durations,
        statements_frame,
    )
    from perflab.queries.rules import top_recommendations
    from perflab.queries.workload import (
        detect_n_plus_one,
        error_rates,
        lock_waits,
        temp_file_producers,
    )

# name → the module that defines it, imported on first use
_HOME = {
    "Index": "indexes",
    "analyze_queries": "analyze",
    "analyze_query": "analyze",
    "detect_n_plus_one": "workload",
    "detect_slow_queries": "patterns",
    "error_rates": "workload",
    "existing_indexes_from_sql": "indexes",
    "explain_findings": "explain",
    "explain_plans": "explain",
    "load_plan": "explain",
    "lock_waits": "workload",
    "query_patterns": "patterns",
    "recommend_indexes": "indexes",
    "schema_from_sql": "analyze",
    "schema_from_statements": "analyze",
    "statement_durations": "patterns",
    "statements_frame": "patterns",
    "temp_file_producers": "workload",
    "top_recommendations": "rules",
}


__all__ = [
    "EVENTS",
    "FINDINGS",
    "INDEX_CANDIDATES",
    "N_PLUS_ONE",
    "PATTERNS",
    "PLAN_FINDINGS",
    "SLOW",
    "STATEMENTS",
    "Digest",
    "Index",
    "PostgresLog",
    "analyze_queries",
    "analyze_query",
    "detect_n_plus_one",
    "detect_slow_queries",
    "digest",
    "error_rates",
    "existing_indexes_from_sql",
    "explain_findings",
    "explain_plans",
    "fingerprint",
    "iter_postgres",
    "load_plan",
    "lock_waits",
    "query_patterns",
    "read_log",
    "read_mysql_slow_log",
    "read_pg_stat_statements",
    "read_postgres",
    "read_postgres_csvlog",
    "read_postgres_jsonlog",
    "read_postgres_log",
    "recommend_indexes",
    "schema_from_sql",
    "schema_from_statements",
    "sniff_format",
    "statement_durations",
    "statements_frame",
    "temp_file_producers",
    "top_recommendations",
    "with_fingerprints",
]

__getattr__, __dir__ = exports(__name__, _HOME, __all__)

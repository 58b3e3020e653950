"""Canonical frames of the queries domain, each declared once as a ``Schema``.

``STATEMENTS`` — one row per executed statement, what every reader returns:

================  =====================  =============================================
column            dtype                  meaning
================  =====================  =============================================
timestamp         datetime[μs, UTC]      when the statement ended (the log line's time)
pid               i64                    server process (PostgreSQL) or thread id (MySQL)
user              str                    database role / user
database          str                    database (schema for MySQL)
application       str                    ``application_name`` (PostgreSQL)
client            str                    client host
session           str                    session id (``%c``) or ``pid`` when unknown
duration_ms       f64                    execution time; null when the log has none
query             str                    the statement text as logged
protocol          str                    ``simple``, ``extended`` (unnamed), ``prepared``
                                         (named) or ``aggregate`` (pg_stat_statements)
statement_name    str                    prepared statement name (``_pg3_0``, ``S_1``)
parameters        str                    ``DETAIL: parameters:`` of an extended execute
prepare_ms        f64                    parse + bind time folded into this execute
calls             i64                    1 per log line; pg_stat_statements' ``calls``
rows              i64                    rows returned or affected, where known
rows_examined     i64                    MySQL ``Rows_examined``
lock_ms           f64                    MySQL ``Lock_time``
query_id          i64                    PostgreSQL query id (``%Q``, csv/jsonlog)
line              i64                    line of the source the statement came from
================  =====================  =============================================

What perflab counts: a statement is one execution. For the extended protocol
PostgreSQL logs ``parse``, ``bind`` and ``execute`` with a duration each; like pgBadger,
perflab counts the ``execute`` (its duration is ``duration_ms``) and folds the
``parse`` and ``bind`` durations of the same session before it into ``prepare_ms``,
so calls and time agree with pgBadger's while protocol overhead stays visible.

``EVENTS`` — everything else a log reports, one row per event: ``kind`` is one of
``error``, ``fatal``, ``panic``, ``warning``, ``lock_wait`` (still waiting),
``lock_acquired``, ``deadlock``, ``temp_file``, ``checkpoint``, ``autovacuum``,
``autoanalyze``, ``connection``, ``disconnection``.

The analyses' frames: :data:`PATTERNS` (``query_patterns``), :data:`SLOW`
(``detect_slow_queries``), :data:`FINDINGS` (``analyze_queries``),
:data:`N_PLUS_ONE` (``detect_n_plus_one``), :data:`PLAN_FINDINGS`
(``explain_findings``), :data:`INDEX_CANDIDATES` (``recommend_indexes``).
"""

from __future__ import annotations

import polars as pl

from perflab.frames import UTC_DATETIME, Schema

__all__ = [
    "EVENTS",
    "EVENT_KINDS",
    "FINDINGS",
    "INDEX_CANDIDATES",
    "N_PLUS_ONE",
    "PATTERNS",
    "PLAN_FINDINGS",
    "SLOW",
    "STATEMENTS",
]

_WHO = {
    "timestamp": UTC_DATETIME,
    "pid": pl.Int64,
    "user": pl.String,
    "database": pl.String,
    "application": pl.String,
    "client": pl.String,
    "session": pl.String,
}

STATEMENTS = Schema(
    "statements",
    {
        **_WHO,
        "duration_ms": pl.Float64,
        "query": pl.String,
        "protocol": pl.String,
        "statement_name": pl.String,
        "parameters": pl.String,
        "prepare_ms": pl.Float64,
        "calls": pl.Int64,
        "rows": pl.Int64,
        "rows_examined": pl.Int64,
        "lock_ms": pl.Float64,
        "query_id": pl.Int64,
        "line": pl.Int64,
    },
)
"""One row per executed statement (see the module docstring)."""

EVENT_KINDS: tuple[str, ...] = (
    "error",
    "fatal",
    "panic",
    "warning",
    "lock_wait",
    "lock_acquired",
    "deadlock",
    "temp_file",
    "checkpoint",
    "autovacuum",
    "autoanalyze",
    "connection",
    "disconnection",
)
"""The kinds of :data:`EVENTS` rows."""

EVENTS = Schema(
    "events",
    {
        **_WHO,
        "kind": pl.String,
        "severity": pl.String,
        "sqlstate": pl.String,
        "message": pl.String,
        "detail": pl.String,
        "query": pl.String,
        "object": pl.String,
        "duration_ms": pl.Float64,
        "size_bytes": pl.Int64,
        "line": pl.Int64,
    },
)
"""One row per non-statement event: ``object`` is the lock (``ShareLock on transaction
780``), table (``shop.public.orders``) or temp file path; ``duration_ms`` the wait,
checkpoint, vacuum or session time; ``size_bytes`` a temp file's size; ``query`` the
statement involved (``STATEMENT:``)."""

PATTERNS = Schema(
    "patterns",
    {
        "fingerprint": pl.String,
        "query": pl.String,
        "calls": pl.Int64,
        "total_ms": pl.Float64,
        "share_pct": pl.Float64,
        "mean_ms": pl.Float64,
        "p50_ms": pl.Float64,
        "p95_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "max_ms": pl.Float64,
        "prepare_ms": pl.Float64,
        "rows": pl.Int64,
        "first_seen": UTC_DATETIME,
        "last_seen": UTC_DATETIME,
        "databases": pl.List(pl.String),
        "users": pl.List(pl.String),
        "applications": pl.List(pl.String),
        "sample": pl.String,
        "sample_parameters": pl.String,
        "sample_ms": pl.Float64,
        "parsed": pl.Boolean,
    },
)
"""Per fingerprint: calls, time (total, share of all time, mean, p50/p95/p99, max, in
ms), parse/bind time, rows, first/last seen, who ran it, and one sample with its
literals (the slowest execution). ``query`` is the normalised pattern; ``parsed`` says
whether sqlglot could parse it (an unparsed pattern is still counted)."""

SLOW = Schema(
    "slow statements",
    {
        "timestamp": UTC_DATETIME,
        "fingerprint": pl.String,
        "duration_ms": pl.Float64,
        "query": pl.String,
        "parameters": pl.String,
        "user": pl.String,
        "database": pl.String,
        "application": pl.String,
        "pid": pl.Int64,
        "line": pl.Int64,
    },
)
"""Statements slower than a threshold, slowest first."""

FINDINGS = Schema(
    "query findings",
    {
        "fingerprint": pl.String,
        "rule": pl.String,
        "severity": pl.String,
        "finding": pl.String,
        "action": pl.String,
        "evidence": pl.String,
        "total_ms": pl.Float64,
        "calls": pl.Int64,
        "query": pl.String,
    },
)
"""One row per (pattern, rule) that fires: what was seen in the SQL, the concrete fix,
and the pattern's total time (what fixing it could save at most)."""

N_PLUS_ONE = Schema(
    "n+1 bursts",
    {
        "fingerprint": pl.String,
        "pid": pl.Int64,
        "session": pl.String,
        "burst_size": pl.Int64,
        "start": UTC_DATETIME,
        "end": UTC_DATETIME,
        "total_ms": pl.Float64,
        "query": pl.String,
        "parent_fingerprint": pl.String,
        "parent_query": pl.String,
        "application": pl.String,
    },
)
"""One row per burst: the same pattern run ``burst_size`` times in a row by one
session, and the statement that ran just before the burst (the likely loop's source)."""

PLAN_FINDINGS = Schema(
    "plan findings",
    {
        "rule": pl.String,
        "severity": pl.String,
        "node": pl.String,
        "relation": pl.String,
        "finding": pl.String,
        "action": pl.String,
        "evidence": pl.String,
        "node_ms": pl.Float64,
        "share_pct": pl.Float64,
        "path": pl.String,
    },
)
"""One row per finding in an EXPLAIN plan; ``path`` locates the node
(``Plan → Plans[0] → Plans[1]``), ``node_ms`` is its own (exclusive) time when
ANALYZE was on."""

INDEX_CANDIDATES = Schema(
    "index candidates",
    {
        "table": pl.String,
        "columns": pl.List(pl.String),
        "kind": pl.String,
        "definition": pl.String,
        "patterns": pl.Int64,
        "calls": pl.Int64,
        "total_ms": pl.Float64,
        "fingerprints": pl.List(pl.String),
        "reason": pl.String,
        "cost_before": pl.Float64,
        "cost_after": pl.Float64,
        "validated": pl.String,
    },
)
"""Candidate indexes ranked by the time of the patterns they serve; ``kind`` is
``btree``, ``expression`` or ``trigram``; the cost columns and ``validated``
(``yes``/``no``/null) are filled by HypoPG validation against a live server."""

"""Query rules: the analyses' findings as ranked recommendations in the shared schema.

Every SQL rule of :mod:`perflab.queries.analyze`, every plan rule of
:mod:`perflab.queries.explain`, and the workload rules below, each with a stable id:

===========================  ========  ====================================================
rule                         severity  fires when
===========================  ========  ====================================================
``queries.hot-pattern``      medium    one pattern takes ≥ ``hot_share_pct`` (20 %) of all
                                       statement time
``queries.n-plus-one``       high      a session runs one pattern ≥ ``min_burst`` times in a
                                       row (:func:`~perflab.queries.detect_n_plus_one`)
``queries.missing-index``    high      an index candidate serves patterns with
                                       ≥ ``index_min_ms`` of time (validated, when a server
                                       was asked, by HypoPG)
``queries.temp-files``       medium    a pattern writes temp files (sorts, hashes that do
                                       not fit in ``work_mem``)
``queries.lock-waits``       high      statements of a pattern waited for locks
``queries.deadlock``         critical  a statement of the pattern was a deadlock victim
``queries.error-rate``       high      statements of a pattern fail (errors logged)
===========================  ========  ====================================================

The impact of a finding is what the pattern costs — its total time in ms (an upper
bound of what the fix saves), the bytes spilled, the time waited — so the findings of
one severity rank by what they cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from perflab.frames import FrameLike, as_frame
from perflab.queries.analyze import RULES as SQL_RULES
from perflab.queries.analyze import Schema, analyze_queries, schema_from_statements
from perflab.queries.explain import PLAN_RULES, Plan, explain_plans
from perflab.queries.indexes import Index, recommend_indexes
from perflab.queries.patterns import query_patterns, statements_frame
from perflab.queries.read import PostgresLog
from perflab.queries.schema import FINDINGS, INDEX_CANDIDATES, N_PLUS_ONE, PATTERNS, PLAN_FINDINGS
from perflab.queries.workload import (
    detect_n_plus_one,
    error_rates,
    lock_waits,
    temp_file_producers,
)
from perflab.recommend import Recommendation, Rule, rule, to_frame

__all__ = [
    "HOT_PATTERN",
    "MISSING_INDEX",
    "N_PLUS_ONE_RULE",
    "error_findings",
    "hot_patterns",
    "index_findings",
    "lock_findings",
    "n_plus_one_findings",
    "plan_findings",
    "sql_findings",
    "temp_file_findings",
    "top_recommendations",
]

_TITLES = {
    "queries.select-star": "SELECT * reads and sends every column",
    "queries.function-on-column": "a function of a column in a condition defeats its index",
    "queries.leading-wildcard": "LIKE with a leading wildcard scans every row",
    "queries.large-offset": "a large OFFSET reads the rows it skips",
    "queries.not-in-subquery": "NOT IN (subquery) blocks anti-joins and mishandles NULL",
    "queries.update-without-where": "UPDATE without WHERE changes every row",
    "queries.delete-without-where": "DELETE without WHERE removes every row",
    "queries.order-by-random": "ORDER BY random() sorts everything to pick a few",
    "queries.huge-in-list": "a huge IN list or OR chain",
    "queries.limit-without-order": "LIMIT without ORDER BY gives arbitrary rows",
    "queries.correlated-subquery": "a subquery in the select list runs once per row",
    "queries.cartesian-join": "tables joined without a condition",
    "queries.implicit-conversion": "a value of another type defeats the column's index",
    "queries.unparsed": "SQL the analyser could not parse",
    "queries.plan-seq-scan-filter": "a sequential scan throws most rows away",
    "queries.plan-misestimate": "row estimates far from the actual rows",
    "queries.plan-sort-spill": "a sort spilled to disk",
    "queries.plan-hash-spill": "a hash spilled to disk",
    "queries.plan-nested-loop": "a nested loop over a large inner side",
    "queries.plan-heap-fetches": "an index-only scan still reads the heap",
    "queries.plan-workers": "fewer parallel workers than planned",
    "queries.plan-hot-node": "one plan node has most of the time",
}
RULE_OF: dict[str, Rule] = {
    rid: rule(rid, sev, _TITLES[rid])  # type: ignore[arg-type]
    for rid, sev in {**SQL_RULES, **PLAN_RULES}.items()
}
"""The SQL and plan rules, registered."""

HOT_PATTERN = rule("queries.hot-pattern", "medium", "one pattern takes much of the database time")
N_PLUS_ONE_RULE = rule("queries.n-plus-one", "high", "one statement repeated in a loop (N+1)")
MISSING_INDEX = rule("queries.missing-index", "high", "an index would serve slow patterns")
TEMP_FILES = rule("queries.temp-files", "medium", "statements spill to temporary files")
LOCK_WAITS = rule("queries.lock-waits", "high", "statements wait for locks")
DEADLOCK = rule("queries.deadlock", "critical", "statements end in deadlocks")
ERROR_RATE = rule("queries.error-rate", "high", "statements of a pattern fail")


def _subject(fingerprint: Any, query: Any) -> str:
    text = " ".join(str(query or "").split())
    return f"{fingerprint or '-'} {text[:90] + '…' if len(text) > 90 else text}"


def _ms(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v / 1000:,.1f} s" if v >= 10_000 else f"{v:,.1f} ms"


def sql_findings(
    findings: FrameLike, *, include_unparsed_share: float = 10.0, patterns: FrameLike | None = None
) -> list[Recommendation]:
    """Recommendations from :func:`~perflab.queries.analyze_queries` output.

    ``queries.unparsed`` is reported only for patterns with at least
    ``include_unparsed_share`` % of the time (when ``patterns`` gives the shares).

    Examples
    --------
    >>> f = [{"fingerprint": "a1", "rule": "queries.select-star", "severity": "medium",
    ...       "finding": "…", "action": "…", "evidence": "*", "total_ms": 90.0, "calls": 9,
    ...       "query": "SELECT * FROM t"}]
    >>> [r.rule for r in sql_findings(f)]
    ['queries.select-star']
    """
    df = as_frame(
        findings,
        FINDINGS.subset(
            "fingerprint", "rule", "severity", "finding", "action", "evidence", "total_ms", "query"
        ),
    )
    heavy: set[str] | None = None
    if patterns is not None:
        p = as_frame(patterns, PATTERNS.subset("fingerprint", "share_pct"))
        heavy = set(
            p.filter(pl.col("share_pct") >= include_unparsed_share).get_column("fingerprint")
        )
    out = []
    for r in df.iter_rows(named=True):
        if r["rule"] == "queries.unparsed" and (heavy is None or r["fingerprint"] not in heavy):
            continue
        rule_ = RULE_OF.get(r["rule"])
        if rule_ is None:
            continue
        out.append(
            Recommendation.of(
                rule_,
                subject=_subject(r["fingerprint"], r["query"]),
                severity=r["severity"],
                finding=r["finding"],
                action=r["action"],
                evidence=f"{r['evidence']}; pattern total {_ms(r['total_ms'])}"
                + (f" over {r['calls']:,} calls" if r.get("calls") else ""),
                impact=r["total_ms"],
                impact_unit="ms",
            )
        )
    return out


def hot_patterns(patterns: FrameLike, *, min_share_pct: float = 20.0) -> list[Recommendation]:
    """The patterns that take ≥ ``min_share_pct`` of all statement time.

    Examples
    --------
    >>> p = [{"fingerprint": "f", "query": "SELECT …", "calls": 3, "total_ms": 900.0,
    ...       "share_pct": 60.0, "mean_ms": 300.0, "p95_ms": 350.0}]
    >>> hot_patterns(p)[0].impact
    900.0
    """
    df = as_frame(
        patterns,
        PATTERNS.subset(
            "fingerprint", "query", "calls", "total_ms", "share_pct", "mean_ms", "p95_ms"
        ),
    )
    out = []
    for r in df.filter(pl.col("share_pct") >= min_share_pct).iter_rows(named=True):
        out.append(
            Recommendation.of(
                HOT_PATTERN,
                subject=_subject(r["fingerprint"], r["query"]),
                finding=f"This pattern takes {r['share_pct']:.0f} % of all statement time "
                f"({_ms(r['total_ms'])} over {r['calls']:,} calls).",
                action="Tune this one first: EXPLAIN (ANALYZE, BUFFERS) its slowest sample, "
                "apply the SQL and index findings for it, or cache its result if it is read "
                "far more often than its data changes.",
                evidence=f"mean {_ms(r['mean_ms'])}, p95 {_ms(r['p95_ms'])}, calls {r['calls']:,}",
                impact=r["total_ms"],
                impact_unit="ms",
            )
        )
    return out


def n_plus_one_findings(bursts: FrameLike) -> list[Recommendation]:
    """One recommendation per fingerprint that runs in N+1 bursts.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> b = [{"fingerprint": "f", "pid": 1, "burst_size": 25, "total_ms": 40.0,
    ...       "query": "SELECT … WHERE order_id = ?", "parent_query": "SELECT id FROM orders …",
    ...       "start": datetime(2026, 1, 1, tzinfo=UTC), "end": datetime(2026, 1, 1, tzinfo=UTC)}]
    >>> n_plus_one_findings(b)[0].rule
    'queries.n-plus-one'
    """
    df = as_frame(
        bursts, N_PLUS_ONE.subset("fingerprint", "burst_size", "total_ms", "query", "parent_query")
    )
    if df.height == 0:
        return []
    by_fp = df.group_by("fingerprint").agg(
        pl.col("query").first(),
        pl.len().alias("bursts"),
        pl.col("burst_size").sum().alias("calls"),
        pl.col("burst_size").max().alias("largest"),
        pl.col("total_ms").sum(),
        pl.col("parent_query").drop_nulls().first(),
    )
    out = []
    for r in by_fp.sort("total_ms", descending=True).iter_rows(named=True):
        parent = (
            f" after “{' '.join(str(r['parent_query']).split())[:100]}”"
            if r["parent_query"]
            else ""
        )
        out.append(
            Recommendation.of(
                N_PLUS_ONE_RULE,
                subject=_subject(r["fingerprint"], r["query"]),
                finding=f"Run {r['largest']} times in a row by one session{parent}: a loop in "
                "the application issues one query per row of the query before it.",
                action="Fetch the rows in one query: WHERE key = ANY($1) with the list of keys "
                "(or a JOIN with the parent query); in an ORM, load the relation eagerly "
                "(select_related/prefetch_related, includes, JOIN FETCH, joinedload).",
                evidence=f"{r['bursts']} burst(s), {r['calls']} statements, "
                f"{_ms(r['total_ms'])} in the bursts",
                impact=r["total_ms"],
                impact_unit="ms",
            )
        )
    return out


def index_findings(
    candidates: FrameLike, *, min_total_ms: float = 50.0, top: int = 10
) -> list[Recommendation]:
    """The best index candidates (validated ones only, when a validation ran).

    Examples
    --------
    >>> c = [{"table": "orders", "columns": ["user_id"], "kind": "btree",
    ...       "definition": "CREATE INDEX CONCURRENTLY ON orders (user_id);", "patterns": 2,
    ...       "calls": 40, "total_ms": 900.0, "fingerprints": ["a", "b"],
    ...       "reason": "equality on user_id", "validated": None}]
    >>> index_findings(c)[0].action
    'CREATE INDEX CONCURRENTLY ON orders (user_id);'
    """
    df = as_frame(
        candidates,
        INDEX_CANDIDATES.subset(
            "table", "columns", "kind", "definition", "patterns", "calls", "total_ms", "reason"
        ),
    )
    if "validated" in df.columns and df.get_column("validated").is_not_null().any():
        df = df.filter(pl.col("validated") == "yes")
    df = df.filter(pl.col("total_ms") >= min_total_ms).head(top)
    out = []
    for r in df.iter_rows(named=True):
        checked = ""
        if r.get("cost_before") is not None and r.get("cost_after") is not None:
            checked = f"; HypoPG: estimated cost {r['cost_before']:,.0f} → {r['cost_after']:,.0f}"
        out.append(
            Recommendation.of(
                MISSING_INDEX,
                subject=f"{r['table']} ({', '.join(r['columns'])})",
                finding=f"A {r['kind']} index on {r['table']} ({', '.join(r['columns'])}) "
                f"would serve {r['patterns']} pattern(s) that took {_ms(r['total_ms'])} "
                f"over {r['calls']:,} calls ({r['reason']}).",
                action=r["definition"],
                evidence=f"{r['reason']}{checked}",
                impact=r["total_ms"],
                impact_unit="ms",
            )
        )
    return out


def temp_file_findings(temp: FrameLike, *, min_bytes: int = 1) -> list[Recommendation]:
    """Patterns that write temp files, by bytes written.

    Examples
    --------
    >>> t = [{"fingerprint": "f", "query": "SELECT … ORDER BY x", "temp_files": 2,
    ...       "total_bytes": 4_000_000, "max_bytes": 3_000_000}]
    >>> temp_file_findings(t)[0].impact_unit
    'bytes'
    """
    df = as_frame(temp).filter(pl.col("total_bytes") >= min_bytes)
    out = []
    for r in df.iter_rows(named=True):
        need = -(-int(r["max_bytes"] or 0) // (1 << 20)) * 2 or 4
        out.append(
            Recommendation.of(
                TEMP_FILES,
                subject=_subject(r["fingerprint"], r["query"]),
                finding=f"Wrote {r['temp_files']} temp file(s), {r['total_bytes']:,} bytes in "
                "all: a sort or hash did not fit in work_mem and went to disk.",
                action=f"Raise work_mem for this query (SET LOCAL work_mem = '{need}MB' — about "
                "twice the largest file), or give the sort an index / filter earlier.",
                evidence=f"largest file {r['max_bytes']:,} bytes",
                impact=float(r["total_bytes"]),
                impact_unit="bytes",
            )
        )
    return out


def lock_findings(locks: FrameLike) -> list[Recommendation]:
    """Lock waits and deadlocks by pattern.

    Examples
    --------
    >>> w = [{"fingerprint": "f", "query": "UPDATE t …", "waits": 2, "deadlocks": 1,
    ...       "total_wait_ms": 400.0, "max_wait_ms": 300.0, "locks": ["ShareLock"]}]
    >>> [r.rule for r in lock_findings(w)]
    ['queries.deadlock', 'queries.lock-waits']
    """
    df = as_frame(locks)
    out = []
    for r in df.iter_rows(named=True):
        locks_ = ", ".join(r.get("locks") or []) or "locks"
        if r["deadlocks"]:
            out.append(
                Recommendation.of(
                    DEADLOCK,
                    subject=_subject(r["fingerprint"], r["query"]),
                    finding=f"{r['deadlocks']} deadlock(s): this statement and another one "
                    "each held a row the other needed; PostgreSQL cancelled one of them.",
                    action="Take row locks in one order everywhere (sort the ids before "
                    "updating several rows), keep transactions short, and retry a "
                    "transaction that fails with SQLSTATE 40P01.",
                    evidence=f"{r['deadlocks']} deadlock(s) with {locks_}",
                    impact=float(r["deadlocks"]),
                    impact_unit="deadlocks",
                )
            )
        if r["waits"]:
            out.append(
                Recommendation.of(
                    LOCK_WAITS,
                    subject=_subject(r["fingerprint"], r["query"]),
                    finding=f"Waited {r['waits']} time(s) for {locks_}, "
                    f"{_ms(r['total_wait_ms'])} in all (longest {_ms(r['max_wait_ms'])}).",
                    action="Find the transaction holding the lock (the log's 'Process holding "
                    "the lock'), shorten it, and update hot rows less often (batch counters, "
                    "SKIP LOCKED for queues).",
                    evidence=f"{r['waits']} wait(s) ≥ deadlock_timeout",
                    impact=r["total_wait_ms"],
                    impact_unit="ms",
                )
            )
    return out


def error_findings(errors: FrameLike, *, min_errors: int = 1) -> list[Recommendation]:
    """Patterns whose statements fail.

    Examples
    --------
    >>> e = [{"fingerprint": "f", "query": "INSERT …", "errors": 3, "sqlstate": "23505",
    ...       "message": "duplicate key", "calls": 97, "error_rate": 0.03}]
    >>> error_findings(e)[0].evidence
    'duplicate key (SQLSTATE 23505); 3 errors, 97 successful calls'
    """
    df = as_frame(errors).filter(
        (pl.col("errors") >= min_errors) & (pl.col("message") != "deadlock detected")
    )
    out = []
    for r in df.iter_rows(named=True):
        rate = r.get("error_rate")
        state = f" (SQLSTATE {r['sqlstate']})" if r.get("sqlstate") else ""
        out.append(
            Recommendation.of(
                ERROR_RATE,
                subject=_subject(r["fingerprint"], r["query"]),
                finding=f"{r['errors']} statement(s) failed"
                + (f", {rate:.0%} of its executions" if rate is not None else "")
                + f": {r['message']}.",
                action="Fix the cause in the application (a failed statement still costs a "
                "round trip and aborts its transaction); check it before sending, or handle "
                "the expected conflict with INSERT … ON CONFLICT.",
                evidence=f"{r['message']}{state}; {r['errors']} errors, "
                f"{r['calls'] or 0} successful calls",
                impact=float(r["errors"]),
                impact_unit="errors",
                score=(rate or 0.0) * 100,
            )
        )
    return out


def plan_findings(findings: FrameLike, *, include_info: bool = False) -> list[Recommendation]:
    """Recommendations from :func:`~perflab.queries.explain_findings` output.

    Examples
    --------
    >>> f = [{"rule": "queries.plan-sort-spill", "severity": "high", "node": "Sort",
    ...       "relation": None, "finding": "…", "action": "…", "evidence": "…",
    ...       "node_ms": 80.0, "share_pct": 86.0, "path": "Plan"}]
    >>> plan_findings(f)[0].impact
    80.0
    """
    df = as_frame(
        findings,
        PLAN_FINDINGS.subset(
            "rule", "severity", "node", "finding", "action", "evidence", "node_ms"
        ),
    )
    out = []
    for r in df.iter_rows(named=True):
        if r["severity"] == "info" and not include_info:
            continue
        plan = f"{r['plan']}: " if r.get("plan") else ""
        out.append(
            Recommendation.of(
                RULE_OF[r["rule"]],
                subject=f"{plan}{r['node']}",
                severity=r["severity"],
                finding=r["finding"],
                action=r["action"],
                evidence=r["evidence"],
                impact=r["node_ms"],
                impact_unit="ms",
            )
        )
    return out


def top_recommendations(
    df: FrameLike | PostgresLog,
    n: int | None = 5,
    *,
    events: FrameLike | None = None,
    plans: Iterable[Plan] | dict[str, Plan] | str | os.PathLike[str] | None = None,
    dialect: str | None = None,
    schema: Schema | None = None,
    existing_indexes: Sequence[Index] | None = None,
    tables_known: Iterable[str] | None = None,
    index_candidates: FrameLike | None = None,
    min_burst: int = 10,
    hot_share_pct: float = 20.0,
    index_min_ms: float = 50.0,
) -> pl.DataFrame:
    """Every query rule on a workload, ranked: the seed's ``getTopRecommendations``.

    Parameters
    ----------
    df : frame-like or PostgresLog
        The statements (a reader's output), or a :class:`~perflab.queries.PostgresLog`
        (its events are then used too).
    n : int, optional
        Keep the ``n`` most urgent (None: all).
    events : frame-like, optional
        ``EVENTS`` of the same log, for temp files, lock waits, deadlocks and errors.
    plans : iterable or dict of plans, or a folder, optional
        ``EXPLAIN (FORMAT JSON)`` plans to check too (by name when a dict; a folder's
        ``*.json`` plans by file name).
    dialect, schema, existing_indexes, tables_known
        For the SQL rules and the index advisor (see :func:`analyze_queries`,
        :func:`recommend_indexes`). Without ``schema``, the ``CREATE TABLE`` statements
        the log holds give the column types.
    index_candidates : frame-like, optional
        ``INDEX_CANDIDATES`` already made — those
        :func:`~perflab.queries.live.validate_indexes` checked with HypoPG, so that a
        candidate it rejected is not recommended; default: :func:`recommend_indexes`.
    min_burst, hot_share_pct, index_min_ms
        Thresholds of the N+1, hot-pattern and missing-index rules.

    Returns
    -------
    polars.DataFrame
        The shared recommendation frame (:data:`perflab.recommend.RECOMMENDATIONS`).

    Examples
    --------
    >>> rows = [{"query": "UPDATE settings SET value = 'x'", "duration_ms": 1.0}]
    >>> top_recommendations(rows).select("rule", "severity").row(0)
    ('queries.update-without-where', 'critical')
    """
    if isinstance(df, PostgresLog):
        events = df.events if events is None else events
        df = df.statements
    statements = statements_frame(df, dialect=dialect)
    dialect = dialect or _dialect_of(statements)
    if schema is None:
        schema = schema_from_statements(statements, dialect=dialect) or None
    patterns = query_patterns(statements, dialect=dialect)
    recs: list[Recommendation] = []
    recs += hot_patterns(patterns, min_share_pct=hot_share_pct)
    recs += sql_findings(
        analyze_queries(patterns, dialect=dialect, schema=schema), patterns=patterns
    )
    recs += n_plus_one_findings(detect_n_plus_one(statements, min_burst=min_burst))
    candidates = (
        recommend_indexes(
            patterns, dialect=dialect, existing=existing_indexes, tables_known=tables_known
        )
        if index_candidates is None
        else index_candidates
    )
    recs += index_findings(candidates, min_total_ms=index_min_ms)
    if events is not None:
        ev = as_frame(events)
        recs += temp_file_findings(temp_file_producers(ev, dialect=dialect))
        recs += lock_findings(lock_waits(ev, dialect=dialect))
        recs += error_findings(error_rates(ev, patterns, dialect=dialect))
    if plans is not None:
        if isinstance(plans, str | os.PathLike | dict):
            recs += plan_findings(explain_plans(plans))
        else:
            recs += plan_findings(explain_plans({str(i): p for i, p in enumerate(plans)}))
    frame = to_frame(recs)
    return frame.head(n) if n is not None else frame


def _dialect_of(statements: pl.DataFrame) -> str:
    from perflab.queries.patterns import _guess_dialect

    return _guess_dialect(statements)

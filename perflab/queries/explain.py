"""Checks of a PostgreSQL plan: ``EXPLAIN (FORMAT JSON)``, with or without ANALYZE.

Each node of the plan tree is visited; times are a node's own (exclusive) time —
``Actual Total Time × Actual Loops`` minus its children's, divided below a Gather by
the processes that ran the loops at once (the workers launched and the leader) — so
the node that does the work is named, not its parents. Checks that need actual rows
or times run only when the plan has them (ANALYZE):

=================================  ========  ==============================================
rule                               severity  fires when
=================================  ========  ==============================================
``queries.plan-seq-scan-filter``   high      a Seq Scan's filter removes ≥ 90 % of the rows
                                             it reads, and ≥ ``min_rows`` of them
``queries.plan-misestimate``       medium    actual rows differ from the estimate by ≥ 10×
                                             (high at 100×, critical at 1000×)
``queries.plan-sort-spill``        high      a Sort ran on disk (external sort)
``queries.plan-hash-spill``        high      a Hash or HashAggregate needed several batches
                                             or disk
``queries.plan-nested-loop``       high      a Nested Loop ran its inner side ≥ ``min_loops``
                                             times over a scan that is not an index lookup
``queries.plan-heap-fetches``      medium    an Index Only Scan fetched heap pages for
                                             ≥ 10 % of its rows (visibility map stale)
``queries.plan-workers``           medium    fewer parallel workers launched than planned
``queries.plan-hot-node``          info      one node has ≥ 50 % of the execution time
=================================  ========  ==============================================
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from perflab.errors import InputError
from perflab.queries.schema import PLAN_FINDINGS

__all__ = ["PLAN_RULES", "explain_findings", "explain_plans", "load_plan", "plan_nodes"]

logger = logging.getLogger(__name__)

PLAN_RULES: dict[str, str] = {
    "queries.plan-seq-scan-filter": "high",
    "queries.plan-misestimate": "medium",
    "queries.plan-sort-spill": "high",
    "queries.plan-hash-spill": "high",
    "queries.plan-nested-loop": "high",
    "queries.plan-heap-fetches": "medium",
    "queries.plan-workers": "medium",
    "queries.plan-hot-node": "info",
}
"""Plan rules and their default severities."""

Plan = Mapping[str, Any] | list[Any] | str | os.PathLike[str]


def load_plan(plan: Plan) -> dict[str, Any]:
    """The top-level object of a JSON plan: ``{"Plan": …, "Execution Time": …}``.

    Accepts what ``EXPLAIN (FORMAT JSON)`` returns (a one-element list), that element,
    the JSON text, or a path to a ``.json`` file.

    Raises
    ------
    InputError
        Not JSON, or no ``Plan`` in it.

    Examples
    --------
    >>> load_plan('[{"Plan": {"Node Type": "Result"}}]')["Plan"]["Node Type"]
    'Result'
    """
    source = "plan"
    doc: Any = plan
    if isinstance(plan, os.PathLike) or (
        isinstance(plan, str) and not plan.lstrip().startswith(("[", "{"))
    ):
        path = Path(plan)
        source = str(path)
        if not path.is_file():
            raise InputError(source, None, "no such file")
        plan = path.read_text()
        doc = plan
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise InputError(source, getattr(exc, "lineno", None), f"not JSON: {exc}") from None
    if isinstance(doc, list):
        if len(doc) != 1:
            raise InputError(source, None, f"expected one plan, found a list of {len(doc)}")
        doc = doc[0]
    if not isinstance(doc, Mapping) or not isinstance(doc.get("Plan"), Mapping):
        raise InputError(
            source, None, "not an EXPLAIN (FORMAT JSON) plan: no top-level 'Plan' object"
        )
    return dict(doc)


def plan_nodes(plan: Plan) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node with its path (``Plan → Plans[0] → …``), depth first."""
    root = _annotate(load_plan(plan)["Plan"], 1)

    def walk(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        yield path, dict(node)
        for i, child in enumerate(node.get("Plans") or []):
            yield from walk(child, f"{path} → Plans[{i}]")

    yield from walk(root, "Plan")


def _annotate(node: Mapping[str, Any], processes: int) -> dict[str, Any]:
    """A copy of the tree where each node knows how many processes ran it at once: below
    a Gather, the workers launched and the leader. Their loops run in parallel, so a
    node's wall time is time × loops / processes, not time × loops."""
    out = dict(node)
    out["_processes"] = processes
    if out.get("Node Type") in ("Gather", "Gather Merge"):
        launched = out.get("Workers Launched", out.get("Workers Planned", 0)) or 0
        processes = int(launched) + 1
    out["Plans"] = [_annotate(c, processes) for c in node.get("Plans") or []]
    return out


def _total_ms(node: Mapping[str, Any]) -> float | None:
    t = node.get("Actual Total Time")
    if t is None:
        return None
    loops = max(1, int(node.get("Actual Loops") or 1))
    processes = max(1, min(int(node.get("_processes") or 1), loops))
    return float(t) * loops / processes


def _self_ms(node: Mapping[str, Any]) -> float | None:
    total = _total_ms(node)
    if total is None:
        return None
    children = sum(_total_ms(c) or 0.0 for c in node.get("Plans") or [])
    return max(0.0, total - children)


def _actual_rows(node: Mapping[str, Any]) -> float:
    return float(node.get("Actual Rows") or 0) * max(1, int(node.get("Actual Loops") or 1))


def _describe(node: Mapping[str, Any]) -> str:
    rel = node.get("Relation Name")
    idx = node.get("Index Name")
    text = node.get("Node Type", "?")
    if rel:
        text += f" on {rel}"
    if idx:
        text += f" using {idx}"
    return text


def explain_findings(
    plan: Plan,
    *,
    min_rows: int = 1000,
    min_loops: int = 1000,
    misestimate: float = 10.0,
) -> pl.DataFrame:
    """What a PostgreSQL plan shows that should change (see the module docstring).

    Parameters
    ----------
    plan : list, dict, str or PathLike
        ``EXPLAIN (FORMAT JSON)`` output — with ``ANALYZE`` for the checks on actual
        rows and times — as returned, as JSON text, or a file.
    min_rows : int
        Fewest rows a filter must remove before a Seq Scan is flagged.
    min_loops : int
        Fewest inner loops of a Nested Loop that are flagged.
    misestimate : float
        Smallest ratio of actual to estimated rows (either way) that is flagged.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.queries.schema.PLAN_FINDINGS`, the node with most time first.

    Examples
    --------
    >>> plan = [{"Plan": {"Node Type": "Seq Scan", "Relation Name": "orders",
    ...   "Filter": "(user_id = 42)", "Plan Rows": 10, "Actual Rows": 9, "Actual Loops": 1,
    ...   "Actual Total Time": 4.2, "Rows Removed by Filter": 49991}, "Execution Time": 4.3}]
    >>> explain_findings(plan).select("rule", "relation").row(0)
    ('queries.plan-seq-scan-filter', 'orders')
    """
    doc = load_plan(plan)
    doc["Plan"] = _annotate(doc["Plan"], 1)
    execution = doc.get("Execution Time")
    exec_ms = float(execution) if execution is not None else None
    rows: list[dict[str, Any]] = []
    for path, node in plan_nodes(doc):
        rows += _node_findings(node, path, exec_ms, min_rows, min_loops, misestimate)
    out = PLAN_FINDINGS.build(rows)
    return out.sort("node_ms", descending=True, nulls_last=True, maintain_order=True)


def _row(
    rule: str,
    node: Mapping[str, Any],
    path: str,
    exec_ms: float | None,
    *,
    finding: str,
    action: str,
    evidence: str,
    severity: str | None = None,
) -> dict[str, Any]:
    own = _self_ms(node)
    return {
        "rule": rule,
        "severity": severity or PLAN_RULES[rule],
        "node": _describe(node),
        "relation": node.get("Relation Name"),
        "finding": finding,
        "action": action,
        "evidence": evidence,
        "node_ms": own,
        "share_pct": own / exec_ms * 100.0 if own is not None and exec_ms else None,
        "path": path,
    }


def _node_findings(
    node: Mapping[str, Any],
    path: str,
    exec_ms: float | None,
    min_rows: int,
    min_loops: int,
    ratio: float,
) -> list[dict[str, Any]]:
    out = []
    kind = node.get("Node Type", "")
    analyzed = node.get("Actual Loops") is not None
    rel = node.get("Relation Name") or "the table"
    if kind == "Seq Scan" and analyzed:
        removed = float(node.get("Rows Removed by Filter") or 0) * max(
            1, int(node.get("Actual Loops") or 1)
        )
        kept = _actual_rows(node)
        if removed >= min_rows and removed / max(removed + kept, 1) >= 0.9:
            out.append(
                _row(
                    "queries.plan-seq-scan-filter",
                    node,
                    path,
                    exec_ms,
                    finding=f"A sequential scan of {rel} reads {removed + kept:,.0f} rows to "
                    f"keep {kept:,.0f} ({removed / (removed + kept):.1%} thrown away).",
                    action=f"Index the filter's columns on {rel} (filter: "
                    f"{node.get('Filter', '?')}) — see recommend_indexes() — and check it "
                    "with HypoPG before creating it.",
                    evidence=f"Rows Removed by Filter {removed:,.0f}, Actual Rows "
                    f"{kept:,.0f}, Filter {node.get('Filter', '?')}",
                )
            )
    if analyzed and node.get("Plan Rows") is not None:
        # per loop, as PostgreSQL estimates (never below one row); volume over all loops
        loops = max(1, int(node.get("Actual Loops") or 1))
        est, act = float(node["Plan Rows"]), float(node.get("Actual Rows") or 0)
        hi, lo = max(est, act, 1.0), max(min(est, act), 1.0)
        factor = hi / lo
        if factor >= ratio and hi * loops >= 100:
            sev = "critical" if factor >= 1000 else "high" if factor >= 100 else None
            way = "more" if act > est else "fewer"
            out.append(
                _row(
                    "queries.plan-misestimate",
                    node,
                    path,
                    exec_ms,
                    severity=sev,
                    finding=f"{_describe(node)} returned {factor:,.0f}× {way} rows than "
                    f"estimated ({act:,.0f} against {est:,.0f} per loop): the plan around it "
                    "was chosen for the wrong size.",
                    action=f"ANALYZE {rel}; if the columns of the condition are correlated, "
                    "CREATE STATISTICS (dependencies, ndistinct, mcv) on them; raise the "
                    "column's statistics target for skewed values.",
                    evidence=f"Plan Rows {node['Plan Rows']}, Actual Rows "
                    f"{node.get('Actual Rows')}, Actual Loops {node.get('Actual Loops')}",
                )
            )
    if kind in ("Sort", "Incremental Sort") and (
        node.get("Sort Space Type") == "Disk" or "external" in str(node.get("Sort Method", ""))
    ):
        used = node.get("Sort Space Used")
        out.append(
            _row(
                "queries.plan-sort-spill",
                node,
                path,
                exec_ms,
                finding=f"The sort spilled to disk ({node.get('Sort Method')}, {used} kB).",
                action=f"Give this query more work_mem (SET LOCAL work_mem = '{_mem(used)}'), "
                f"or serve the order from an index on ({_keys(node.get('Sort Key'))}).",
                evidence=f"Sort Method {node.get('Sort Method')}, Sort Space Used {used} kB, "
                f"Sort Key {_keys(node.get('Sort Key'))}",
            )
        )
    batches = max(int(node.get("Hash Batches") or 1), int(node.get("HashAgg Batches") or 1))
    disk = int(node.get("Disk Usage") or 0)
    if kind in ("Hash", "Aggregate") and (batches > 1 or disk > 0):
        out.append(
            _row(
                "queries.plan-hash-spill",
                node,
                path,
                exec_ms,
                finding=f"{kind} ran in {batches} batches ({disk:,} kB on disk): the hash "
                "table did not fit in work_mem.",
                action="Raise work_mem (or hash_mem_multiplier) for this query, or shrink "
                "the input: filter or aggregate earlier.",
                evidence=f"Batches {batches}, Disk Usage {disk} kB, Peak Memory Usage "
                f"{node.get('Peak Memory Usage')} kB",
            )
        )
    if kind == "Nested Loop" and analyzed and len(node.get("Plans") or []) == 2:
        inner = node["Plans"][1]
        loops = int(inner.get("Actual Loops") or 0)
        lookup = inner.get("Node Type") in ("Index Scan", "Index Only Scan", "Memoize") and (
            float(inner.get("Actual Rows") or 0) <= 100
        )
        nl_ms, inner_ms = _total_ms(node) or 0.0, _total_ms(inner) or 0.0
        lookup = lookup and not (nl_ms > 0 and inner_ms / nl_ms >= 0.5)
        target = inner.get("Relation Name") or "the inner side"
        if loops >= min_loops and not lookup:
            out.append(
                _row(
                    "queries.plan-nested-loop",
                    node,
                    path,
                    exec_ms,
                    finding=f"A nested loop ran {_describe(inner)} {loops:,} times.",
                    action=f"Index the join key of {target} so each loop is a lookup, or "
                    "let a hash join run (the row estimate that chose this loop may be "
                    "wrong — see misestimates).",
                    evidence=f"inner {_describe(inner)}: Actual Loops {loops:,}, Actual Rows "
                    f"{inner.get('Actual Rows')} per loop",
                )
            )
    if kind == "Index Only Scan" and analyzed:
        fetches = float(node.get("Heap Fetches") or 0)
        rows_ = _actual_rows(node)
        if fetches > 0 and fetches >= 0.1 * max(rows_, 1):
            out.append(
                _row(
                    "queries.plan-heap-fetches",
                    node,
                    path,
                    exec_ms,
                    finding=f"The index-only scan still read {fetches:,.0f} heap pages for "
                    f"{rows_:,.0f} rows: the visibility map is behind.",
                    action=f"VACUUM {rel} (and let autovacuum run more often on it: lower "
                    "autovacuum_vacuum_scale_factor for the table).",
                    evidence=f"Heap Fetches {fetches:,.0f}, Actual Rows {rows_:,.0f}",
                )
            )
    planned, launched = node.get("Workers Planned"), node.get("Workers Launched")
    if planned is not None and launched is not None and int(launched) < int(planned):
        out.append(
            _row(
                "queries.plan-workers",
                node,
                path,
                exec_ms,
                finding=f"{planned} parallel workers were planned, {launched} launched: the "
                "query ran with less parallelism than its plan assumed.",
                action="Raise max_parallel_workers / max_worker_processes, or lower "
                "max_parallel_workers_per_gather so plans expect what the server gives.",
                evidence=f"Workers Planned {planned}, Workers Launched {launched}",
            )
        )
    own = _self_ms(node)
    if own is not None and exec_ms and own / exec_ms >= 0.5 and exec_ms >= 1.0:
        out.append(
            _row(
                "queries.plan-hot-node",
                node,
                path,
                exec_ms,
                finding=f"{_describe(node)} takes {own / exec_ms:.0%} of the execution time.",
                action="Start here: this node is where the time goes.",
                evidence=f"{own:,.1f} ms of {exec_ms:,.1f} ms",
            )
        )
    return out


def _keys(keys: Any) -> str:
    """A plan's key list as text: ``price DESC, id``."""
    if isinstance(keys, list):
        return ", ".join(str(k) for k in keys)
    return str(keys)


def _mem(used_kb: Any) -> str:
    try:
        need = int(used_kb) * 2
    except (TypeError, ValueError):
        return "64MB"
    mb = max(4, -(-need // 1024))
    return f"{mb}MB"


def explain_plans(
    plans: Mapping[str, Plan] | str | os.PathLike[str], **options: Any
) -> pl.DataFrame:
    """:func:`explain_findings` of several plans, with a ``plan`` column naming each.

    Parameters
    ----------
    plans : mapping of name to plan, or a folder
        Plans by name, or a folder whose ``*.json`` files are plans (files that are
        not plans are left out, with a log message).
    **options
        Passed to :func:`explain_findings`.

    Returns
    -------
    polars.DataFrame
        ``plan`` then the :data:`~perflab.queries.schema.PLAN_FINDINGS` columns.

    Examples
    --------
    >>> explain_plans({}).columns[:2]
    ['plan', 'rule']
    """
    if isinstance(plans, str | os.PathLike):
        folder = Path(plans)
        if not folder.is_dir():
            raise InputError(str(folder), None, "no such folder")
        named: dict[str, Plan] = {}
        for path in sorted(folder.glob("*.json")):
            try:
                named[path.stem] = load_plan(path)
            except InputError as exc:
                logger.info("%s is not a plan: %s", path, exc)
        plans = named
    parts = [
        explain_findings(p, **options).with_columns(pl.lit(str(name)).alias("plan"))
        for name, p in plans.items()
    ]
    empty = PLAN_FINDINGS.empty().with_columns(pl.lit(None, pl.String).alias("plan"))
    out = pl.concat(parts) if parts else empty
    return out.select("plan", *PLAN_FINDINGS.names)

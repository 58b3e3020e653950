"""Candidate indexes from the workload, ranked by the time of the queries they serve.

For every pattern (its slowest sample with literals, parsed by sqlglot), each table it
filters gets one candidate, built the way a B-tree serves a query best: the columns
compared for **equality** first (``=``, ``IN``, join keys on the inner side), then
**one range** column (``<``, ``BETWEEN``, ``LIKE 'abc%'``), then, when there is no
range, the **ORDER BY** columns of that table (so the index also returns rows in
order and a ``LIMIT`` stops early). Conditions no B-tree can serve get their own kind:

* ``expression`` — a function or cast of a column (``lower(email) = …``): an index on
  the expression, ``CREATE INDEX ON users ((lower(email)))``;
* ``trigram`` — ``LIKE``/``ILIKE '%…'`` (PostgreSQL): ``USING gin (col gin_trgm_ops)``.

Candidates are skipped when an existing index already starts with the same columns
(from :func:`existing_indexes_from_sql` over a ``pg_dump --schema-only``, or a live
server); without that list, a candidate on the column ``id`` alone is assumed to be
the primary key and skipped. A candidate whose columns start a longer candidate's on
the same table is folded into it (one index serves both). The same candidate from
several patterns is one row with their calls and time summed: the ranking is by
``total_ms``, the time spent in the queries the index could speed up (an upper bound
of the saving). Validate the top ones with HypoPG
(:func:`perflab.queries.live.validate_indexes`) before creating them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl
from sqlglot import exp

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.queries import _sql
from perflab.queries.schema import INDEX_CANDIDATES

__all__ = ["Index", "existing_indexes_from_sql", "recommend_indexes"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Index:
    """An index that exists (or is proposed): its table, columns and kind."""

    table: str
    columns: tuple[str, ...]
    kind: str = "btree"
    definition: str = ""


@dataclass
class _Acc:
    index: Index
    reason: str
    fingerprints: list[str] = field(default_factory=list)
    calls: int = 0
    total_ms: float = 0.0


def recommend_indexes(
    patterns: FrameLike,
    *,
    dialect: str = "postgres",
    existing: Iterable[Index] | None = None,
    min_total_ms: float = 0.0,
    max_columns: int = 4,
    tables_known: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Indexes that would serve the workload, the most time first.

    Parameters
    ----------
    patterns : frame-like
        :func:`~perflab.queries.query_patterns` output (``fingerprint, query, sample,
        calls, total_ms``).
    dialect : {"postgres", "mysql"}
        Parses the SQL and writes the ``definition``.
    existing : iterable of Index, optional
        Indexes already there (:func:`existing_indexes_from_sql`, or
        :func:`perflab.queries.live.existing_indexes`); a candidate whose columns an
        existing index starts with is left out.
    min_total_ms : float
        Ignore patterns with less total time than this.
    max_columns : int
        Longest candidate.
    tables_known : iterable of str, optional
        The application's tables (for example the keys of
        :func:`~perflab.queries.analyze.schema_from_sql`); candidates on other tables
        are left out. System catalogs (``pg_*``, ``information_schema``) always are.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.queries.schema.INDEX_CANDIDATES` (the HypoPG columns null).

    Examples
    --------
    >>> p = [{"fingerprint": "f1", "query": "…", "calls": 40, "total_ms": 800.0,
    ...       "sample": "SELECT id FROM orders WHERE user_id = 42 ORDER BY created_at DESC"}]
    >>> c = recommend_indexes(p)
    >>> c["columns"][0].to_list(), c["definition"][0]
    (['user_id', 'created_at'], 'CREATE INDEX CONCURRENTLY ON orders (user_id, created_at);')
    """
    if dialect not in ("postgres", "mysql"):
        raise ParameterError(f"dialect must be 'postgres' or 'mysql', not {dialect!r}")
    frame = as_frame(patterns)
    for col, dtype in (("sample", pl.String), ("calls", pl.Int64), ("total_ms", pl.Float64)):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(col))
    have = list(existing) if existing is not None else None
    tables = {t.lower() for t in tables_known} if tables_known is not None else None
    acc: dict[tuple[str, tuple[str, ...], str], _Acc] = {}
    for r in frame.iter_rows(named=True):
        if (r["total_ms"] or 0.0) < min_total_ms:
            continue
        sql = r["sample"] or r["query"]
        trees = _sql.parse(sql, dialect) if sql else None
        for tree in trees or ():
            if _sql.catalog_only(tree):
                continue  # a tool's catalog query: no index of the application's to add
            for idx, reason in _candidates(tree, dialect, max_columns):
                if _covered(idx, have) or _system(idx.table, tables):
                    continue
                key = (idx.table, idx.columns, idx.kind)
                a = acc.setdefault(key, _Acc(idx, reason))
                if r["fingerprint"] not in a.fingerprints:
                    a.fingerprints.append(r["fingerprint"])
                    a.calls += r["calls"] or 0
                    a.total_ms += r["total_ms"] or 0.0
    _fold_prefixes(acc)
    rows = [
        {
            "table": a.index.table,
            "columns": list(a.index.columns),
            "kind": a.index.kind,
            "definition": a.index.definition,
            "patterns": len(a.fingerprints),
            "calls": a.calls,
            "total_ms": a.total_ms,
            "fingerprints": a.fingerprints,
            "reason": a.reason,
        }
        for a in acc.values()
    ]
    out = INDEX_CANDIDATES.build(rows)
    return out.sort(["total_ms", "table"], descending=[True, False], nulls_last=True)


def _fold_prefixes(acc: dict[tuple[str, tuple[str, ...], str], _Acc]) -> None:
    """Fold a B-tree candidate into a longer one on the same table that starts with its
    columns: that index serves both (its patterns, calls and time are added)."""
    btrees = sorted((k for k in acc if k[2] == "btree"), key=lambda k: len(k[1]), reverse=True)
    for key in sorted(btrees, key=lambda k: len(k[1])):
        longer = [
            k
            for k in btrees
            if k != key
            and k in acc
            and k[0] == key[0]
            and len(k[1]) > len(key[1])
            and k[1][: len(key[1])] == key[1]
        ]
        if not longer:
            continue
        target = acc[longer[0]]
        folded = acc.pop(key)
        for fp in folded.fingerprints:
            if fp not in target.fingerprints:
                target.fingerprints.append(fp)
        target.calls += folded.calls
        target.total_ms += folded.total_ms
        target.reason = f"{target.reason}; also {folded.reason}"


def _candidates(tree: exp.Expression, dialect: str, max_columns: int) -> list[tuple[Index, str]]:
    out: list[tuple[Index, str]] = []
    for sel in _sql.selects(tree):
        tables = _sql.from_tables(sel)
        preds = _sql.predicates(sel)
        order = _order_columns(sel, tables)
        by_table: dict[str, list[_sql.Predicate]] = {}
        for p in preds:
            by_table.setdefault(p.table, []).append(p)
        for table, ps in by_table.items():
            eq = _unique(p.column for p in ps if p.kind in ("eq", "in"))
            joins = _unique(p.column for p in ps if p.kind == "join" and p.column not in eq)
            rng = _unique(
                p.column for p in ps if p.kind in ("range", "prefix") and p.column not in eq
            )
            cols = [*eq, *joins]
            why = []
            if eq:
                why.append("equality on " + ", ".join(eq))
            if joins:
                why.append("join on " + ", ".join(joins))
            if rng:
                cols.append(rng[0])
                why.append(f"range on {rng[0]}")
            elif order.get(table):
                extra = [c for c in order[table] if c not in cols]
                if extra:
                    cols += extra
                    why.append("order by " + ", ".join(extra))
            cols = cols[:max_columns]
            if cols and (eq or joins or rng):
                out.append((_btree(table, cols, dialect), "; ".join(why)))
            for p in ps:
                if p.kind == "function":
                    node = next(
                        (
                            n
                            for n in (p.node.this, getattr(p.node, "expression", None))
                            if n is not None
                            and not isinstance(n, exp.Column)
                            and list(n.find_all(exp.Column))
                        ),
                        None,
                    )
                    if node is not None:
                        expr = _unqualified(node).sql(dialect=dialect)
                        out.append(
                            (
                                Index(
                                    table,
                                    (expr,),
                                    "expression",
                                    _definition(table, [f"({expr})"], dialect),
                                ),
                                f"condition on {expr}",
                            )
                        )
                if p.kind == "pattern" and dialect == "postgres":
                    out.append(
                        (
                            Index(
                                table,
                                (p.column,),
                                "trigram",
                                "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX "
                                f"CONCURRENTLY ON {table} USING gin ({p.column} gin_trgm_ops);",
                            ),
                            f"LIKE with a leading wildcard on {p.column}",
                        )
                    )
    return out


def _system(table: str, known: set[str] | None) -> bool:
    """A system catalog, or a table outside the application's (when they are known)."""
    name = table.lower()
    if name.startswith("pg_") or name in ("information_schema", "sqlite_master"):
        return True
    return known is not None and name not in known


def _unqualified(node: exp.Expression) -> exp.Expression:
    copy = node.copy()
    for col in copy.find_all(exp.Column):
        col.set("table", None)
    return copy


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _order_columns(sel: exp.Select, tables: Mapping[str, str]) -> dict[str, list[str]]:
    order = sel.args.get("order")
    out: dict[str, list[str]] = {}
    if order is None:
        return out
    for o in order.expressions:
        col = o.this
        if isinstance(col, exp.Column) and (t := _sql.column_table(col, dict(tables))):
            out.setdefault(t, []).append(col.name)
        else:
            break  # an expression in the sort: the rest cannot come from the index
    return out


def _btree(table: str, cols: Sequence[str], dialect: str) -> Index:
    return Index(table, tuple(cols), "btree", _definition(table, list(cols), dialect))


def _definition(table: str, cols: Sequence[str], dialect: str) -> str:
    if dialect == "mysql":
        return f"ALTER TABLE {table} ADD INDEX ({', '.join(cols)});"
    return f"CREATE INDEX CONCURRENTLY ON {table} ({', '.join(cols)});"


def _covered(idx: Index, existing: list[Index] | None) -> bool:
    if existing is None:
        return idx.kind == "btree" and idx.columns == ("id",)
    for e in existing:
        if e.table.lower() != idx.table.lower():
            continue
        if idx.kind == "btree" and e.kind not in ("btree", "expression"):
            continue
        if idx.kind != "btree" and e.kind != idx.kind:
            continue
        have = tuple(_norm(c) for c in e.columns)
        want = tuple(_norm(c) for c in idx.columns)
        if have[: len(want)] == want:
            return True
    return False


def _norm(column: str) -> str:
    """A column or expression as compared between indexes: lower case, no spaces."""
    return "".join(column.lower().split())


def existing_indexes_from_sql(sql: str, dialect: str = "postgres") -> list[Index]:
    """Indexes declared in DDL: primary keys, UNIQUE constraints and ``CREATE INDEX``.

    Reads a ``pg_dump --schema-only`` (``ALTER TABLE ONLY … ADD CONSTRAINT … PRIMARY
    KEY (…)``, ``CREATE [UNIQUE] INDEX … ON … USING btree (…)``) or ``CREATE TABLE``
    statements with inline keys. An index on an expression is of kind ``expression``
    (its columns hold the expression's text), one with a ``gin_trgm_ops`` column of kind
    ``trigram``. A partial index (``… WHERE …``) counts as one on its columns.

    Examples
    --------
    >>> ddl = "CREATE TABLE t (id int PRIMARY KEY, a int); CREATE INDEX t_a ON t (a, id);"
    >>> [(i.table, i.columns) for i in existing_indexes_from_sql(ddl)]
    [('t', ('id',)), ('t', ('a', 'id'))]
    """
    import sqlglot
    from sqlglot.errors import ErrorLevel

    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        trees = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.IGNORE)
    finally:
        log.setLevel(level)
    out: list[Index] = []
    for tree in trees:
        if tree is None:
            continue
        if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "INDEX":
            idx = tree.this
            table = idx.args.get("table")
            params = idx.args.get("params")
            cols_src = params.args.get("columns") if params is not None else None
            cols = [c.this if isinstance(c, exp.Ordered) else c for c in (cols_src or [])]
            trigram = any(
                isinstance(c, exp.Opclass) and "trgm" in c.expression.sql().lower() for c in cols
            )
            cols = [c.this if isinstance(c, exp.Opclass) else c for c in cols]
            cols = [c.this if isinstance(c, exp.Paren) else c for c in cols]
            expression = any(not isinstance(c, exp.Column) for c in cols)
            names = tuple(
                c.name if isinstance(c, exp.Column) else _unqualified(c).sql(dialect=dialect)
                for c in cols
            )
            kind = "trigram" if trigram else "expression" if expression else "btree"
            if isinstance(table, exp.Table) and names:
                out.append(Index(table.name, names, kind, tree.sql(dialect=dialect)))
        elif isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "TABLE":
            schema = tree.this
            table = schema.this if isinstance(schema, exp.Schema) else None
            if not isinstance(table, exp.Table):
                continue
            for c in schema.expressions:
                if isinstance(c, exp.ColumnDef) and any(
                    isinstance(
                        k.args.get("kind"),
                        exp.PrimaryKeyColumnConstraint | exp.UniqueColumnConstraint,
                    )
                    for k in c.constraints
                ):
                    out.append(Index(table.name, (c.name,), "btree", ""))
                if isinstance(c, exp.PrimaryKey | exp.UniqueColumnConstraint):
                    names = tuple(x.name for x in c.find_all(exp.Column, exp.Identifier))
                    if names:
                        out.append(Index(table.name, names, "btree", ""))
        elif isinstance(tree, exp.Alter):
            table = tree.this
            for action in tree.args.get("actions") or []:
                for con in action.find_all(exp.PrimaryKey, exp.UniqueColumnConstraint):
                    names = tuple(dict.fromkeys(x.name for x in con.find_all(exp.Identifier)))
                    if isinstance(table, exp.Table) and names:
                        out.append(Index(table.name, names, "btree", ""))
    return out

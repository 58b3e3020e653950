"""What is wrong with a query's SQL, and the concrete fix — sqlglot rules with stable ids.

Each rule reads the parsed statement (the slowest logged execution of a pattern, with
its literals, so ``LIKE '%x'`` and ``OFFSET 40000`` are seen; the normalised pattern
when there is no sample) and, when it fires, says what it saw and what to do:

===============================  ========  ===============================================
rule                             severity  fires on
===============================  ========  ===============================================
``queries.select-star``          medium    ``SELECT *`` / ``t.*`` in a query's result
``queries.function-on-column``   high      a function or cast of a column compared in
                                           WHERE/ON (``lower(email) = …``,
                                           ``created_at::date = …``): no plain index helps
``queries.leading-wildcard``     high      ``LIKE``/``ILIKE`` with a pattern starting ``%``/``_``
``queries.large-offset``         medium    ``OFFSET`` ≥ ``large_offset`` (1,000)
``queries.not-in-subquery``      high      ``NOT IN (SELECT …)``
``queries.update-without-where`` critical ``UPDATE`` with no WHERE
``queries.delete-without-where`` critical ``DELETE`` with no WHERE
``queries.order-by-random``      medium    ``ORDER BY random()``/``rand()``
``queries.huge-in-list``         medium    ``IN`` with ≥ ``in_list`` (100) values, or ≥
                                           ``or_chain`` (10) ``OR``-ed equalities on one column
``queries.limit-without-order``  low       ``LIMIT n`` (n > 1) or ``OFFSET`` with no ORDER BY
``queries.correlated-subquery``  medium    a subquery in the select list that refers to an
                                           outer table (run once per row)
``queries.cartesian-join``       high      two tables joined with no condition between them
``queries.implicit-conversion``  high      a column compared with a value of another type
                                           (an integer column with ``4242.0``, a text column
                                           with a number): the index on it is not used
``queries.unparsed``             info      sqlglot could not parse the SQL (still counted)
===============================  ========  ===============================================

Statements that read only the system catalogs (``pg_catalog``, ``information_schema``,
``pg_*`` tables — what ``pg_dump``, drivers and monitoring agents run) are not judged:
their SQL is not the application's to change.

Implicit conversion is judged from column types when ``schema=`` is given (from
:func:`schema_from_sql` over a ``pg_dump --schema-only`` or the ``CREATE TABLE``
statements of a log, or from a live server); without it only the unambiguous case
is flagged: a column named ``id`` or ``…_id`` compared with a decimal literal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import polars as pl
from sqlglot import exp

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.queries import _sql
from perflab.queries.schema import FINDINGS

__all__ = [
    "RULES",
    "QueryFinding",
    "Schema",
    "analyze_queries",
    "analyze_query",
    "schema_from_sql",
    "schema_from_statements",
]

logger = logging.getLogger(__name__)

Schema = Mapping[str, Mapping[str, str]]
"""table → column → SQL type name (``integer``, ``text``, ``numeric(10,2)`` …)."""

RULES: dict[str, str] = {
    "queries.select-star": "medium",
    "queries.function-on-column": "high",
    "queries.leading-wildcard": "high",
    "queries.large-offset": "medium",
    "queries.not-in-subquery": "high",
    "queries.update-without-where": "critical",
    "queries.delete-without-where": "critical",
    "queries.order-by-random": "medium",
    "queries.huge-in-list": "medium",
    "queries.limit-without-order": "low",
    "queries.correlated-subquery": "medium",
    "queries.cartesian-join": "high",
    "queries.implicit-conversion": "high",
    "queries.unparsed": "info",
}
"""The SQL rules' ids and default severities (the table in the module docstring)."""

_INT_TYPES = re.compile(
    r"\b(?:tiny|small|medium|big)?int(?:eger|\d)?\b|\b(?:small|big)?serial\d?\b"
)
_TEXT_TYPES = re.compile(
    r"\b(?:char|character|varchar|nchar|nvarchar|text|tinytext|mediumtext|longtext|string|"
    r"citext|uuid|enum)\b"
)


@dataclass(frozen=True)
class QueryFinding:
    """One rule that fired on one statement."""

    rule: str
    severity: str
    finding: str
    action: str
    evidence: str


def analyze_query(
    sql: str,
    dialect: str = "postgres",
    *,
    schema: Schema | None = None,
    large_offset: int = 1000,
    in_list: int = 100,
    or_chain: int = 10,
) -> list[QueryFinding]:
    """The rules that fire on one statement (see the module docstring).

    Parameters
    ----------
    sql : str
        One statement, preferably with its literals (a logged execution).
    dialect : {"postgres", "mysql"}
        How to parse it.
    schema : mapping, optional
        table → column → type, for the implicit-conversion rule.
    large_offset, in_list, or_chain : int
        Thresholds of the offset, IN-list and OR-chain rules.

    Returns
    -------
    list of QueryFinding
        Empty when nothing fires; one ``queries.unparsed`` finding when sqlglot
        cannot parse the SQL.

    Examples
    --------
    >>> [f.rule for f in analyze_query("SELECT * FROM users WHERE lower(email) = 'a@b.c'")]
    ['queries.select-star', 'queries.function-on-column']
    >>> analyze_query("SELECT id, name FROM users WHERE id = 42")
    []
    """
    if dialect not in ("postgres", "mysql"):
        raise ParameterError(f"dialect must be 'postgres' or 'mysql', not {dialect!r}")
    trees = _sql.parse(sql, dialect)
    if trees is None:
        return [
            _finding(
                "queries.unparsed",
                "sqlglot could not parse this statement, so no SQL rule looked at it "
                "(it is still counted in the workload).",
                "Nothing to fix in the query; read it by eye, or EXPLAIN it.",
                sql[:200],
            )
        ]
    found: list[QueryFinding] = []
    for tree in trees:
        if _sql.catalog_only(tree):
            continue  # a tool's query of the system catalogs: not the application's to fix
        found += _check_tree(tree, dialect, schema, large_offset, in_list, or_chain)
    seen: set[tuple[str, str]] = set()
    unique = []
    for f in found:
        if (f.rule, f.evidence) not in seen:
            seen.add((f.rule, f.evidence))
            unique.append(f)
    return unique


def _check_tree(
    tree: exp.Expression,
    dialect: str,
    schema: Schema | None,
    large_offset: int,
    in_list: int,
    or_chain: int,
) -> list[QueryFinding]:
    found: list[QueryFinding] = []
    for check in (
        _select_star,
        _functions_on_columns,
        _leading_wildcards,
        _not_in_subquery,
        _without_where,
        _order_by_random,
        _correlated_subqueries,
        _cartesian_joins,
    ):
        found += check(tree, dialect)
    found += _large_offset(tree, large_offset)
    found += _huge_lists(tree, in_list, or_chain)
    found += _limit_without_order(tree)
    found += _implicit_conversions(tree, schema)
    return found


def _finding(rule: str, finding: str, action: str, evidence: str) -> QueryFinding:
    return QueryFinding(rule, RULES[rule], finding, action, evidence)


def _sql_of(node: exp.Expression, dialect: str = "postgres") -> str:
    text = node.sql(dialect=dialect)
    return text if len(text) <= 160 else text[:157] + "..."


# --------------------------------------------------------------------------- the rules


def _select_star(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for sel in _sql.selects(tree):
        if isinstance(sel.parent, exp.Exists) or sel.find_ancestor(exp.Exists):
            continue
        stars = [
            e
            for e in sel.expressions
            if isinstance(e, exp.Star)
            or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        ]
        if stars:
            tables = ", ".join(sorted(set(_sql.from_tables(sel).values()))) or "the source"
            out.append(
                _finding(
                    "queries.select-star",
                    f"SELECT * returns every column of {tables}, needed or not.",
                    "List the columns the caller uses: fewer bytes read and sent, and an "
                    "index-only scan becomes possible; the query also stops changing "
                    "when a column is added.",
                    _sql_of(stars[0], dialect) + " in " + _sql_of(sel, dialect),
                )
            )
    return out


def _functions_on_columns(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for sel in _sql.selects(tree):
        for p in _sql.predicates(sel):
            if p.kind != "function":
                continue
            wrapped = next(
                (
                    n
                    for n in (p.node.this, getattr(p.node, "expression", None))
                    if n is not None
                    and not isinstance(n, exp.Column)
                    and list(n.find_all(exp.Column))
                ),
                p.node.this,
            )
            expr = _sql_of(wrapped, dialect)
            fix = _function_fix(wrapped, p, dialect)
            out.append(
                _finding(
                    "queries.function-on-column",
                    f"{expr} is compared in the condition: an index on {p.table}.{p.column} "
                    "cannot be used, every row is computed.",
                    fix,
                    _sql_of(p.node, dialect),
                )
            )
    return out


def _function_fix(wrapped: exp.Expression, p: _sql.Predicate, dialect: str) -> str:
    if isinstance(wrapped, exp.Cast) and wrapped.to.is_type("date"):
        return (
            f"Compare the column itself with a range: {p.column} >= DATE 'd' AND "
            f"{p.column} < DATE 'd' + 1 — the existing index on {p.column} then works."
        )
    if isinstance(wrapped, exp.Lower | exp.Upper):
        idx = (
            f"CREATE INDEX ON {p.table} (({_sql_of(wrapped, dialect)}))"
            if dialect == "postgres"
            else f"ALTER TABLE {p.table} ADD INDEX (({_sql_of(wrapped, dialect)}))"
        )
        return f"Store {p.column} normalised (or use citext), or index the expression: {idx}."
    return (
        f"Rewrite the condition on the bare column {p.column}, or index the expression: "
        f"CREATE INDEX ON {p.table} (({_sql_of(wrapped, dialect)}))."
    )


def _leading_wildcards(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for found in tree.find_all(exp.Like, exp.ILike):
        node = cast(exp.Expression, found)
        pat = node.expression
        if isinstance(pat, exp.Literal) and pat.is_string and pat.this[:1] in ("%", "_"):
            col: exp.Expression = node.this
            name = col.name if isinstance(col, exp.Column) else _sql_of(col, dialect)
            fix = (
                f"A B-tree index cannot serve a pattern that starts with a wildcard. Use a "
                f"trigram index: CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX ON "
                f"<table> USING gin ({name} gin_trgm_ops); or full-text search for words."
                if dialect == "postgres"
                else "A B-tree index cannot serve a pattern that starts with a wildcard: "
                f"use a FULLTEXT index on {name} with MATCH … AGAINST."
            )
            out.append(
                _finding(
                    "queries.leading-wildcard",
                    f"{_sql_of(node, dialect)} starts with a wildcard: every row is scanned.",
                    fix,
                    _sql_of(node, dialect),
                )
            )
    return out


def _int_of(node: exp.Expression | None) -> int | None:
    if node is None:
        return None
    if isinstance(node, exp.Limit | exp.Offset):
        node = node.expression
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return int(float(node.this))
        except ValueError:
            return None
    return None


def _large_offset(tree: exp.Expression, threshold: int) -> list[QueryFinding]:
    out = []
    for sel in _sql.selects(tree):
        n = _int_of(sel.args.get("offset"))
        if n is not None and n >= threshold:
            order = sel.args.get("order")
            key = _sql_of(order.expressions[0].this) if order else "the sort key"
            out.append(
                _finding(
                    "queries.large-offset",
                    f"OFFSET {n:,} reads and throws away {n:,} rows before returning any; "
                    "the cost grows with the page number.",
                    f"Use keyset pagination: remember the last {key} of the page and ask "
                    f"for WHERE {key} > :last ORDER BY {key} LIMIT n (an index on {key} "
                    "makes every page as cheap as the first).",
                    f"OFFSET {n}",
                )
            )
    return out


def _not_in_subquery(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for node in tree.find_all(exp.Not):
        inner = node.this
        if isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.In) and inner.args.get("query") is not None:
            out.append(
                _finding(
                    "queries.not-in-subquery",
                    "NOT IN (SELECT …) cannot become an anti-join, and returns no row at "
                    "all if the subquery yields a NULL.",
                    "Rewrite as NOT EXISTS (SELECT 1 FROM … WHERE inner.col = outer.col): "
                    "the planner can then use a hash or merge anti-join, and NULLs behave.",
                    _sql_of(node, dialect),
                )
            )
    return out


def _without_where(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for node in tree.find_all(exp.Update, exp.Delete):
        if node.args.get("where") is not None:
            continue
        table = node.this.name if isinstance(node.this, exp.Table) else _sql_of(node.this)
        verb = "UPDATE" if isinstance(node, exp.Update) else "DELETE"
        rule = f"queries.{verb.lower()}-without-where"
        out.append(
            _finding(
                rule,
                f"{verb} without WHERE touches every row of {table}, in one transaction "
                "that locks them all.",
                "Add the WHERE the change was meant for. If every row is meant: "
                + (
                    f"TRUNCATE {table} (instant, no dead rows)"
                    if verb == "DELETE"
                    else "batch it by key ranges to keep transactions and locks short"
                )
                + ".",
                _sql_of(node, dialect),
            )
        )
    return out


def _order_by_random(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for order in tree.find_all(exp.Order):
        if any(isinstance(o.this, exp.Rand) for o in order.expressions):
            out.append(
                _finding(
                    "queries.order-by-random",
                    "ORDER BY random() sorts the whole result to pick a few rows.",
                    "Sample instead: TABLESAMPLE SYSTEM_ROWS(n) (tsm_system_rows), a random "
                    "key range (WHERE id >= random id ORDER BY id LIMIT n), or pick random "
                    "ids in the application.",
                    _sql_of(order, dialect),
                )
            )
    return out


def _huge_lists(tree: exp.Expression, in_list: int, or_chain: int) -> list[QueryFinding]:
    out = []
    for node in tree.find_all(exp.In):
        n = len(node.expressions)
        if n >= in_list:
            out.append(
                _finding(
                    "queries.huge-in-list",
                    f"IN list of {n:,} values: parsed and planned for every call, and each "
                    "length is a different statement for caches and statistics.",
                    "Pass one array parameter (col = ANY($1::int[])) or join against a "
                    "VALUES list / temporary table.",
                    f"{_sql_of(node.this)} IN ({n} values)",
                )
            )
    for chain in tree.find_all(exp.Or):
        if isinstance(chain.parent, exp.Or):
            continue  # judge the whole chain once, from its top
        cols = []
        for part in chain.flatten():
            if isinstance(part, exp.EQ) and isinstance(part.this, exp.Column):
                cols.append(part.this.sql())
        if cols:
            top = max(set(cols), key=cols.count)
            k = cols.count(top)
            if k >= or_chain:
                out.append(
                    _finding(
                        "queries.huge-in-list",
                        f"{k} OR-ed equalities on {top}: the planner may fall back to a "
                        "scan, and the statement changes with every length.",
                        f"Write {top} = ANY($1) (or IN (…)) with one array parameter.",
                        f"{top} = … OR … ({k} times)",
                    )
                )
    return out


def _limit_without_order(tree: exp.Expression) -> list[QueryFinding]:
    out = []
    for sel in _sql.selects(tree):
        if sel.args.get("order") is not None or sel.find_ancestor(exp.Exists, exp.In):
            continue
        n = _int_of(sel.args.get("limit"))
        if sel.args.get("offset") is not None or (n is not None and n > 1):
            out.append(
                _finding(
                    "queries.limit-without-order",
                    "LIMIT without ORDER BY returns whichever rows come first: the result "
                    "can change between runs, plans and versions.",
                    "Add an ORDER BY on a unique key (or say in a comment why any rows do).",
                    _sql_of(sel)[:120],
                )
            )
    return out


def _correlated_subqueries(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for sel in _sql.selects(tree):
        outer = _sql.from_tables(sel)
        for item in sel.expressions:
            for sub in item.find_all(exp.Subquery):
                inner_sel = sub.this
                if not isinstance(inner_sel, exp.Select):
                    continue
                inner = _sql.from_tables(inner_sel)
                refs = {
                    c.table
                    for c in inner_sel.find_all(exp.Column)
                    if c.table and c.table not in inner and c.table in outer
                }
                if refs:
                    out.append(
                        _finding(
                            "queries.correlated-subquery",
                            "A subquery in the select list refers to the outer "
                            f"{', '.join(sorted(refs))}: it runs once per outer row.",
                            "Join once and aggregate instead (LEFT JOIN (SELECT key, "
                            "count(*) … GROUP BY key) s ON …), or use a LATERAL join; "
                            "index the inner table on the correlated column.",
                            _sql_of(sub, dialect),
                        )
                    )
    return out


def _cartesian_joins(tree: exp.Expression, dialect: str) -> list[QueryFinding]:
    out = []
    for sel in _sql.selects(tree):
        tables = _sql.from_tables(sel)
        joins = sel.args.get("joins") or []
        if not joins:
            continue
        unconditioned = [
            j
            for j in joins
            if j.args.get("on") is None
            and not j.args.get("using")
            and (j.args.get("kind") or "").upper() != "CROSS"
            and isinstance(j.this, exp.Table)
        ]
        if not unconditioned:
            continue
        # links by alias, so a self-join (emp a, emp b WHERE a.boss = b.id) is linked
        only = next(iter(tables)) if len(tables) == 1 else None
        linked: set[frozenset[str]] = set()
        for c in _sql.conjuncts(sel.args.get("where")):
            if (
                isinstance(c, exp.EQ)
                and isinstance(c.this, exp.Column)
                and isinstance(c.expression, exp.Column)
            ):
                a = c.this.table or only
                b = c.expression.table or only
                if a and b and a != b:
                    linked.add(frozenset((a, b)))
                elif a or b:  # one side unqualified: of one of the other tables
                    linked.add(frozenset((a or b or "",)))
        src = sel.args.get("from") or sel.args.get("from_")
        first = (
            src.this.name if isinstance(src, exp.From) and isinstance(src.this, exp.Table) else None
        )
        for j in unconditioned:
            name = j.this.name
            alias = j.this.alias_or_name
            if not any(alias in pair for pair in linked):
                out.append(
                    _finding(
                        "queries.cartesian-join",
                        f"{name} is joined{f' to {first}' if first else ''} with no "
                        "condition between them: every row pairs with every row.",
                        "Add the join condition (JOIN … ON a.key = b.key); if the cross "
                        "product is meant, say so with CROSS JOIN and keep both sides small.",
                        _sql_of(sel)[:120],
                    )
                )
    return out


def _type_class(sql_type: str) -> str | None:
    t = sql_type.lower()
    if _INT_TYPES.search(t):
        return "integer"
    if re.search(r"\b(?:numeric|decimal|real|double|float\d*|money)\b", t):
        return "decimal"
    if _TEXT_TYPES.search(t):
        return "text"
    return None


def _literal_class(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Neg):
        node = node.this
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return "text"
    return "decimal" if any(ch in node.this for ch in ".eE") else "integer"


def _implicit_conversions(tree: exp.Expression, schema: Schema | None) -> list[QueryFinding]:
    out = []
    lowered = {
        t.lower(): {c.lower(): v for c, v in cols.items()} for t, cols in (schema or {}).items()
    }
    for sel in _sql.selects(tree):
        for p in _sql.predicates(sel):
            if p.kind not in ("eq", "range", "in"):
                continue
            col_node = p.node.this
            values = p.node.expressions if p.kind == "in" else [p.node.expression]
            if not isinstance(col_node, exp.Column):
                col_node, values = p.node.expression, [p.node.this]
            col_type = lowered.get(p.table.lower(), {}).get(p.column.lower())
            col_class = _type_class(col_type) if col_type else None
            for v in values:
                lit = _literal_class(v)
                if lit is None:
                    continue
                clash = None
                if col_class == "integer" and lit == "decimal":
                    clash = f"{p.table}.{p.column} is {col_type}, the value {v.sql()} is numeric"
                elif col_class == "text" and lit in ("integer", "decimal"):
                    clash = f"{p.table}.{p.column} is {col_type}, the value {v.sql()} is a number"
                elif (
                    col_class is None
                    and lit == "decimal"
                    and (p.column.lower() == "id" or p.column.lower().endswith("_id"))
                ):
                    clash = f"{p.column} looks like an integer key, the value {v.sql()} is numeric"
                if clash:
                    out.append(
                        _finding(
                            "queries.implicit-conversion",
                            f"{clash}: the column is converted for every row and its index "
                            "is not used.",
                            f"Pass the value in the column's own type ({p.column} = "
                            f"{_fixed_value(v, col_class)}), and fix the type at its source "
                            "(the ORM field or the bound parameter).",
                            _sql_of(p.node),
                        )
                    )
    return out


def _fixed_value(v: exp.Expression, col_class: str | None) -> str:
    text = v.sql()
    if col_class == "text":
        return f"'{text}'"
    try:
        return str(int(float(text)))
    except ValueError:
        return text


# --------------------------------------------------------------------------- patterns


def analyze_queries(
    patterns: FrameLike,
    *,
    dialect: str = "postgres",
    schema: Schema | None = None,
    large_offset: int = 1000,
    in_list: int = 100,
    or_chain: int = 10,
) -> pl.DataFrame:
    """Run the SQL rules on every pattern's sample (or pattern) and list what fires.

    Parameters
    ----------
    patterns : frame-like
        :func:`~perflab.queries.query_patterns` output (``fingerprint, query, calls,
        total_ms, sample``), or any frame with ``fingerprint`` and ``query``.
    dialect, schema, large_offset, in_list, or_chain
        As in :func:`analyze_query`.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.queries.schema.FINDINGS`, the patterns with the most time
        first; a pattern sqlglot cannot parse gets one ``queries.unparsed`` row.

    Examples
    --------
    >>> p = [{"fingerprint": "a1", "query": "SELECT * FROM t WHERE id = ?",
    ...       "sample": "SELECT * FROM t WHERE id = 3", "calls": 9, "total_ms": 90.0}]
    >>> analyze_queries(p).select("fingerprint", "rule", "severity").row(0)
    ('a1', 'queries.select-star', 'medium')
    """
    frame = as_frame(patterns)
    missing = [c for c in ("fingerprint", "query") if c not in frame.columns]
    if missing:
        from perflab.errors import SchemaError

        raise SchemaError("patterns", missing=missing)
    for col, dtype in (("sample", pl.String), ("calls", pl.Int64), ("total_ms", pl.Float64)):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(col))
    rows = []
    for r in frame.iter_rows(named=True):
        sql = r["sample"] or r["query"]
        if not sql:
            continue
        for f in analyze_query(
            sql,
            dialect,
            schema=schema,
            large_offset=large_offset,
            in_list=in_list,
            or_chain=or_chain,
        ):
            rows.append(
                {
                    "fingerprint": r["fingerprint"],
                    "rule": f.rule,
                    "severity": f.severity,
                    "finding": f.finding,
                    "action": f.action,
                    "evidence": f.evidence,
                    "total_ms": r["total_ms"],
                    "calls": r["calls"],
                    "query": r["query"],
                }
            )
    out = FINDINGS.build(rows)
    return out.sort("total_ms", descending=True, nulls_last=True, maintain_order=True)


def schema_from_statements(
    df: FrameLike, *, dialect: str = "postgres"
) -> dict[str, dict[str, str]]:
    """Column types from the ``CREATE TABLE`` statements a log holds (see :func:`schema_from_sql`).

    Examples
    --------
    >>> schema_from_statements([{"query": "CREATE TABLE t (id int, phone varchar(20))"}])
    {'t': {'id': 'INT', 'phone': 'VARCHAR(20)'}}
    """
    frame = as_frame(df)
    if frame.height == 0 or "query" not in frame.columns:
        return {}
    ddl = (
        frame.filter(pl.col("query").str.contains(r"(?i)^\s*create\s+table"))
        .get_column("query")
        .unique(maintain_order=True)
        .to_list()
    )
    return schema_from_sql(";\n".join(ddl), dialect) if ddl else {}


def schema_from_sql(sql: str, dialect: str = "postgres") -> dict[str, dict[str, str]]:
    """table → column → type from ``CREATE TABLE`` statements (a ``pg_dump`` or a log).

    Statements sqlglot cannot parse are skipped. Table names are given without their
    schema (``public.orders`` → ``orders``).

    Examples
    --------
    >>> schema_from_sql("CREATE TABLE public.t (id integer NOT NULL, name text);")
    {'t': {'id': 'INT', 'name': 'TEXT'}}
    """
    import sqlglot
    from sqlglot.errors import ErrorLevel

    out: dict[str, dict[str, str]] = {}
    logger_ = logging.getLogger("sqlglot")
    level = logger_.level
    logger_.setLevel(logging.ERROR)
    try:
        trees = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.IGNORE)
    finally:
        logger_.setLevel(level)
    for tree in trees:
        if not isinstance(tree, exp.Create) or (tree.args.get("kind") or "").upper() != "TABLE":
            continue
        target = tree.this
        table = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(table, exp.Table):
            continue
        cols = {}
        for c in target.expressions if isinstance(target, exp.Schema) else []:
            if isinstance(c, exp.ColumnDef) and c.args.get("kind") is not None:
                cols[c.name] = c.args["kind"].sql(dialect=dialect)
        if cols:
            out[table.name] = cols
    return out

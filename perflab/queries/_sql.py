"""Small helpers over sqlglot trees, shared by the SQL rules and the index advisor.

sqlglot parses; these functions answer the questions the rules ask of a parsed
statement: which tables a SELECT reads and under which aliases, which predicates
constrain which columns and how (equality, range, pattern, function of a column),
what a query orders by. A column without a table qualifier is given to the single
table of its SELECT, or left unresolved when there are several.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from sqlglot import exp

__all__ = [
    "Predicate",
    "catalog_only",
    "column_table",
    "conjuncts",
    "from_tables",
    "parse",
    "predicates",
    "selects",
]

_COMPARE = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


@functools.lru_cache(maxsize=50_000)
def parse(sql: str, dialect: str) -> tuple[exp.Expression, ...] | None:
    """The trees of the statements in ``sql``, or None when sqlglot cannot parse it.

    A statement sqlglot only keeps as an opaque ``Command`` (``EXPLAIN …``,
    ``ALTER SYSTEM …``) counts as unparsed. The warnings sqlglot logs about such
    syntax are silenced: the caller reports the SQL as unparsed instead.
    """
    import sqlglot
    from sqlglot.errors import ErrorLevel

    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        trees = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE)
    except Exception:  # any sqlglot failure is "unparsed"
        return None
    finally:
        logger.setLevel(level)
    kept = tuple(cast(exp.Expression, t) for t in trees if t is not None)
    if not kept or any(isinstance(t, exp.Command) for t in kept):
        return None
    return kept


_CATALOGS = ("pg_catalog", "information_schema")


def catalog_only(tree: exp.Expression) -> bool:
    """True when every table the statement names is a system catalog (or there are none
    and it calls catalog functions only): ``pg_*``, ``pg_catalog.*``,
    ``information_schema.*``."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    # a CTE's name read as a table is the CTE: its own tables decide
    named = [t for t in tree.find_all(exp.Table) if t.name and (t.db or t.name.lower() not in ctes)]
    if not named:
        return False
    return all(t.db.lower() in _CATALOGS or t.name.lower().startswith("pg_") for t in named)


def selects(tree: exp.Expression) -> Iterator[exp.Select]:
    """Every SELECT in the tree, outermost first."""
    yield from tree.find_all(exp.Select, bfs=True)


def _from(select: exp.Select) -> exp.From | None:
    node = select.args.get("from") or select.args.get("from_")
    return node if isinstance(node, exp.From) else None


def from_tables(select: exp.Select) -> dict[str, str]:
    """alias (or name) → table name, for the tables this SELECT reads directly."""
    out: dict[str, str] = {}
    sources: list[exp.Expression] = []
    src = _from(select)
    if src is not None:
        sources.append(src.this)
    sources += [j.this for j in select.args.get("joins") or []]
    for s in sources:
        if isinstance(s, exp.Table) and s.name:
            out[s.alias_or_name] = s.name
    return out


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed parts of a condition."""
    if node is None:
        return []
    if isinstance(node, exp.Where):
        node = node.this
    if isinstance(node, exp.Paren):
        return conjuncts(node.this)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def column_table(col: exp.Column, tables: dict[str, str]) -> str | None:
    """The table a column belongs to in a SELECT with ``tables`` (alias → name)."""
    if col.table:
        return tables.get(col.table)
    if len(set(tables.values())) == 1:
        return next(iter(tables.values()))
    return None


@dataclass(frozen=True)
class Predicate:
    """One constraint on a column: ``kind`` is ``eq``, ``range``, ``prefix`` (LIKE 'x%'),
    ``pattern`` (LIKE '%x'), ``join`` (equal to another table's column), ``function``
    (a function or cast of the column is compared) or ``in``."""

    table: str
    column: str
    kind: str
    node: exp.Expression


def _value(node: exp.Expression) -> bool:
    """A value known when the query runs: a literal, a placeholder, a parameter, or an
    expression of those (``lower('X')``, ``now() - interval '1 day'``, ``ANY($1)``)."""
    if isinstance(node, exp.Column | exp.Select | exp.Subquery | exp.Star):
        return False
    return not any(isinstance(n, exp.Column | exp.Select) for n in node.find_all(exp.Expression))


def _wrapped_column(node: exp.Expression) -> exp.Column | None:
    """The column inside a function or cast of one column (``lower(email)``)."""
    if isinstance(node, exp.Column):
        return None
    if isinstance(node, exp.Cast | exp.Func) and not isinstance(node, exp.AggFunc):
        cols = list(node.find_all(exp.Column))
        if len(cols) == 1 and not list(node.find_all(exp.Select)):
            return cols[0]
    return None


def predicates(select: exp.Select) -> list[Predicate]:
    """The column constraints of a SELECT's WHERE and JOIN … ON conditions."""
    tables = from_tables(select)
    conds = conjuncts(select.args.get("where"))
    for join in select.args.get("joins") or []:
        conds += conjuncts(join.args.get("on"))
    out: list[Predicate] = []
    for c in conds:
        out += _predicate(c, tables)
    return out


def _predicate(c: exp.Expression, tables: dict[str, str]) -> list[Predicate]:
    if isinstance(c, exp.Not):
        return []
    if isinstance(c, exp.In):
        col = c.this
        if (
            isinstance(col, exp.Column)
            and (t := column_table(col, tables))
            and not c.args.get("query")
        ):
            return [Predicate(t, col.name, "in", c)]
        return []
    if isinstance(c, exp.Like | exp.ILike):
        col, pat = c.this, c.expression
        if isinstance(col, exp.Column) and (t := column_table(col, tables)):
            if isinstance(pat, exp.Literal) and pat.is_string:
                kind = "pattern" if pat.this[:1] in ("%", "_") else "prefix"
                return [Predicate(t, col.name, kind, c)]
            return [Predicate(t, col.name, "prefix", c)]
        inner = _wrapped_column(col)
        if inner is not None and (t := column_table(inner, tables)):
            return [Predicate(t, inner.name, "function", c)]
        return []
    if isinstance(c, exp.Between):
        col = c.this
        if isinstance(col, exp.Column) and (t := column_table(col, tables)):
            return [Predicate(t, col.name, "range", c)]
        inner = _wrapped_column(col)
        if inner is not None and (t := column_table(inner, tables)):
            return [Predicate(t, inner.name, "function", c)]
        return []
    if isinstance(c, _COMPARE):
        left, right = c.this, c.expression
        out = []
        for a, b in ((left, right), (right, left)):
            if isinstance(a, exp.Column) and (t := column_table(a, tables)):
                if isinstance(b, exp.Column):
                    other = column_table(b, tables)
                    if other is not None and other != t and isinstance(c, exp.EQ):
                        out.append(Predicate(t, a.name, "join", c))
                elif _value(b):
                    kind = "eq" if isinstance(c, exp.EQ) else "range"
                    if isinstance(c, exp.NEQ):
                        continue
                    out.append(Predicate(t, a.name, kind, c))
            inner = _wrapped_column(a)
            if inner is not None and _value(b) and (t := column_table(inner, tables)):
                out.append(Predicate(t, inner.name, "function", c))
        return out
    return []

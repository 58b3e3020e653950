"""Fingerprints: one pattern, and one stable 64-bit id, per query shape.

Two steps, and why:

1. **Pre-normalisation in polars** (:func:`normalize_expr`), over whole columns and
   only once per distinct query text: comments dropped, string/dollar-quoted/numeric
   literals and ``$n`` parameters → ``?``, lower case, white space collapsed, and lists
   collapsed — ``IN (?, ?, …)`` → ``IN (?)``, ``VALUES (…), (…)`` → one tuple,
   ``ARRAY[?, …]`` → ``ARRAY[?]`` — so a prepared statement (``$1``) and its literal
   twin (``42``), and IN-lists of any length, give the same text.
2. **Canonical SQL by sqlglot** (:func:`canonical`), once per distinct pre-normalised
   text (cached): parsed and written back, so spacing, keyword case, quoting and
   ``x::date`` vs ``CAST(x AS date)`` no longer tell two patterns apart. SQL that
   sqlglot cannot parse keeps its pre-normalised text as its pattern (and
   ``parsed = False``): it is still counted.

The id is the first 8 bytes of BLAKE2b over the pattern, as 16 hex digits — stable
across runs, machines and versions of polars (whose own hash is not).

Where this differs from the peers: pgBadger lower-cases and replaces literals but
does not merge a ``$1`` query with its literal twin in every case (its issue #405);
pt-query-digest collapses ``IN`` lists to ``in(?+)`` and drops ``LIMIT``'s offset. Here
``LIMIT ? OFFSET ?`` keeps both placeholders (a large offset is a finding, not noise).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Sequence
from typing import overload

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame

__all__ = ["DIALECTS", "canonical", "fingerprint", "normalize_expr", "with_fingerprints"]

logger = logging.getLogger(__name__)

DIALECTS = ("postgres", "mysql")
"""SQL dialects understood (sqlglot's names)."""

# Literals, by dialect: E'' strings take backslash escapes, standard ones do not; a
# dollar-quoted body is one literal whatever it holds.
_STRING = {
    "postgres": (
        r"[Ee]'(?:[^'\\]|\\.|'')*'|(?:[BbXxNn]|[Uu]&)?'(?:[^']|'')*'"
        r"|\$([A-Za-z_][A-Za-z_0-9]*)?\$(?s:.*?)\$([A-Za-z_][A-Za-z_0-9]*)?\$"
    ),
    "mysql": r"(?:_[a-z0-9]+)?'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"",
}
_COMMENT = {
    "postgres": r"(?s:/\*.*?\*/)|--[^\n]*",
    "mysql": r"(?s:/\*.*?\*/)|--[^\n]*|#[^\n]*",
}


def normalize_expr(query: pl.Expr, *, dialect: str = "postgres") -> pl.Expr:
    """The pre-normalisation of a query column, as a polars expression.

    Examples
    --------
    >>> q = pl.Series(["SELECT * FROM t WHERE id IN (1, 2, 3) AND n = 'x' -- hi"])
    >>> pl.select(normalize_expr(pl.lit(q))).item()
    'select * from t where id in (?) and n = ?'
    """
    if dialect not in DIALECTS:
        raise ParameterError(f"dialect must be one of {DIALECTS}, not {dialect!r}")
    # Comments and literals in one scan, so that a quote inside a comment, or a comment
    # marker inside a string, is what it is: the leftmost match wins. Comments go,
    # literals are kept (the replacement is the literal group, empty for a comment)…
    q = query.str.replace_all(f"(?:{_COMMENT[dialect]})|(?P<lit>{_STRING[dialect]})", " ${lit} ")
    # …then, with no comment left, literals become ?.
    q = q.str.replace_all(_STRING[dialect], "?")
    if dialect == "postgres":
        q = q.str.replace_all(r"\$\d+", "?")
    q = q.str.replace_all(r"(?i)\b0x[0-9a-f]+\b", "?")
    q = q.str.replace_all(r"(?:\b\d+(?:\.\d*)?|\B\.\d+)(?:[eE][+-]?\d+)?", "?")
    q = q.str.replace_all(r"([=(,<>]) ?- ?\?", "$1 ?")  # -1 and 1 are one value
    # runs of blanks, and any blank other than a space, become one space
    q = q.str.to_lowercase().str.replace_all(r"\s\s+|[^\S ]", " ").str.strip_chars(" ;")
    # the blanks round a literal (and any before a comma or inside brackets) are not
    # part of the pattern: f( ? , ?) is f(?, ?)
    q = q.str.replace_all(r"([(\[]) | ([)\],])", "$1$2")
    q = q.str.replace_all(r"\bin ?\( ?\?(?: ?, ?\?)* ?\)", "in (?)")
    q = q.str.replace_all(r"\barray ?\[ ?\?(?: ?, ?\?)* ?\]", "array[?]")
    q = q.str.replace_all(r"\bvalues ?(\([^()]*\))(?: ?, ?\([^()]*\))+", "values $1")
    return q


@functools.lru_cache(maxsize=200_000)
def canonical(text: str, dialect: str = "postgres") -> tuple[str, bool]:
    """sqlglot's canonical form of a pre-normalised query, and whether it parsed.

    Examples
    --------
    >>> canonical("select id from users where id=?")
    ('SELECT id FROM users WHERE id = ?', True)
    >>> canonical("this is not sql at all")[1]
    False
    """
    from perflab.queries._sql import parse

    # sqlglot does not parse "?::date" (a placeholder cast): values are parsed as an
    # identifier of their own and written back as ?
    marked = _PLACEHOLDER.sub(f" {_MARK} ", text) if "?" in text else text
    trees = parse(marked, dialect)
    if trees is None:
        return text, False
    try:
        parts = [t.sql(dialect=dialect) for t in trees]
    except Exception:  # a tree sqlglot cannot write back: keep the text
        return text, False
    if any(not p for p in parts):
        return text, False
    return "; ".join(parts).replace(_MARK, "?"), True


_MARK = "perflab_value_"
_PLACEHOLDER = re.compile(r"\?")


def _id(pattern: str) -> str:
    return hashlib.blake2b(pattern.encode(), digest_size=8).hexdigest()


@overload
def fingerprint(queries: str, *, dialect: str = ...) -> str: ...  # type: ignore[overload-overlap]
@overload
def fingerprint(queries: Sequence[str] | pl.Series, *, dialect: str = ...) -> pl.DataFrame: ...


def fingerprint(
    queries: str | Sequence[str] | pl.Series, *, dialect: str = "postgres"
) -> str | pl.DataFrame:
    """The fingerprint of a query, or the fingerprints of many.

    Parameters
    ----------
    queries : str, sequence of str or polars.Series
        One query, or many.
    dialect : {"postgres", "mysql"}
        How strings, comments and casts are written.

    Returns
    -------
    str or polars.DataFrame
        For one query, its 16-hex-digit id. For many: ``query`` (as given),
        ``fingerprint``, ``pattern`` (canonical SQL with ``?`` for values) and
        ``parsed`` (whether sqlglot parsed it), one row per query.

    Examples
    --------
    >>> fingerprint("SELECT id FROM users WHERE id = $1") == fingerprint(
    ...     "select id  from users where id=42")
    True
    >>> fingerprint(["SELECT 1 FROM t WHERE x IN (1,2)", "select 1 from t where x in (7)"])[
    ...     "pattern"].to_list()
    ['SELECT ? FROM t WHERE x IN (?)', 'SELECT ? FROM t WHERE x IN (?)']
    """
    if isinstance(queries, str):
        return str(_table(pl.Series("query", [queries]), dialect).get_column("fingerprint")[0])
    series = queries if isinstance(queries, pl.Series) else pl.Series("query", list(queries))
    return _table(series.cast(pl.String).alias("query"), dialect)


def _table(queries: pl.Series, dialect: str) -> pl.DataFrame:
    """query → fingerprint, pattern, parsed (one row per input row)."""
    frame = queries.to_frame("query")
    distinct = frame.unique("query").with_columns(
        normalize_expr(pl.col("query"), dialect=dialect).alias("_pre")
    )
    pres = distinct.get_column("_pre").unique().drop_nulls().to_list()
    rows = [(p, *canonical(p, dialect)) for p in pres]
    mapping = pl.DataFrame(
        {
            "_pre": [r[0] for r in rows],
            "pattern": [r[1] for r in rows],
            "parsed": [r[2] for r in rows],
            "fingerprint": [_id(r[1]) for r in rows],
        },
        schema={
            "_pre": pl.String,
            "pattern": pl.String,
            "parsed": pl.Boolean,
            "fingerprint": pl.String,
        },
    )
    table = distinct.join(mapping, on="_pre", how="left").drop("_pre")
    out = frame.join(table, on="query", how="left", maintain_order="left", nulls_equal=True)
    return out.select("query", "fingerprint", "pattern", "parsed")


def with_fingerprints(
    df: FrameLike, *, column: str = "query", dialect: str = "postgres"
) -> pl.DataFrame:
    """``df`` with ``fingerprint``, ``pattern`` and ``parsed`` columns for its queries.

    Distinct query texts are normalised once, and sqlglot runs once per distinct
    pre-normalised text, whatever the number of rows.

    Examples
    --------
    >>> with_fingerprints([{"query": "SELECT 1"}, {"query": "SELECT 2"}])["fingerprint"].n_unique()
    1
    """
    frame = as_frame(df)
    if column not in frame.columns:
        from perflab.errors import SchemaError

        raise SchemaError("statements", missing=[column])
    table = _table(frame.get_column(column).cast(pl.String), dialect)
    drop = [c for c in ("fingerprint", "pattern", "parsed") if c in frame.columns]
    return pl.concat([frame.drop(drop), table.drop("query")], how="horizontal")

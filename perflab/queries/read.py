"""Read database logs and statistics into the canonical statement frame.

==============================  =========================================================
reader                          reads
==============================  =========================================================
:func:`read_postgres_log`       PostgreSQL stderr logs, any ``log_line_prefix``
:func:`read_postgres_csvlog`    PostgreSQL csvlog (9.0 – 12: 23 columns, 13: 24, 14+: 26)
:func:`read_postgres_jsonlog`   PostgreSQL jsonlog (15+)
:func:`read_postgres`           any of the three, statements *and* events
                                (:class:`PostgresLog`)
:func:`read_mysql_slow_log`     MySQL 5.7/8 and MariaDB slow query logs
:func:`read_pg_stat_statements` a ``pg_stat_statements`` export (CSV, Parquet, JSON lines)
==============================  =========================================================

Every reader takes plain or gzip-compressed files (recognised by their bytes),
returns a :data:`~perflab.queries.schema.STATEMENTS` frame, and reports a line it
cannot read with an :class:`~perflab.errors.InputError` naming the file and the line
(``errors="skip"`` keeps going and warns once with the count and the first
examples). An empty file gives an empty frame of the right columns; a file with
content but no statement gives an empty frame and a warning saying why. Logs are read
in blocks, so memory does not grow with the file beyond the frame returned;
:func:`perflab.queries.digest` goes further and keeps only the pattern table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from perflab.errors import ErrorMode, InputError, SchemaError
from perflab.queries import _mysql, _pgstderr, _pgstructured
from perflab.queries._pgevents import classify, empty_entries, split_pending
from perflab.queries.schema import EVENTS, STATEMENTS
from perflab.sources import PathLike, Source, Where, load_csv, no_line, parse_numbers

__all__ = [
    "PostgresLog",
    "iter_postgres",
    "read_log",
    "read_mysql_slow_log",
    "read_pg_stat_statements",
    "read_postgres",
    "read_postgres_csvlog",
    "read_postgres_jsonlog",
    "read_postgres_log",
    "sniff_format",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostgresLog:
    """What a PostgreSQL log holds: its statements and its other events.

    Attributes
    ----------
    statements : polars.DataFrame
        :data:`~perflab.queries.schema.STATEMENTS`.
    events : polars.DataFrame
        :data:`~perflab.queries.schema.EVENTS`: errors, lock waits, deadlocks, temp
        files, checkpoints, autovacuum, connections.
    """

    statements: pl.DataFrame
    events: pl.DataFrame

    def without(self, *, applications: Sequence[str] = ()) -> PostgresLog:
        """The log without the statements and events of these applications.

        For the tools that share a server with the application (``pg_dump``, a
        monitoring agent): their queries are real, but not the application's.

        Examples
        --------
        >>> log = PostgresLog(STATEMENTS.empty(), EVENTS.empty())
        >>> log.without(applications=["pg_dump"]).statements.height
        0
        """
        names = list(applications)
        if not names:
            return self
        keep = ~pl.col("application").is_in(names).fill_null(False)
        return PostgresLog(self.statements.filter(keep), self.events.filter(keep))


def iter_postgres(
    path: PathLike,
    *,
    format: str = "stderr",
    prefix: str | Sequence[str] | None = None,
    tz: str | None = None,
    errors: ErrorMode = "raise",
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """(statements, events) of a PostgreSQL log, block by block — for logs too big to hold.

    Parameters are those of :func:`read_postgres`. The caller must exhaust the
    iterator for the bad-line warning to be given.
    """
    src = Source(path, errors)
    if format == "stderr":
        entries = _pgstderr.iter_entries(src, prefix, tz=tz)
    elif format == "csvlog":
        entries = _pgstructured.iter_csv_entries(src, tz=tz)
    elif format == "jsonlog":
        entries = _pgstructured.iter_json_entries(src, tz=tz)
    else:
        raise InputError(
            src.name, None, f"format must be 'stderr', 'csvlog' or 'jsonlog', not {format!r}"
        )
    n = 0
    held = empty_entries()
    for block in entries:
        if held.height:
            block = pl.concat([held, block])
        block, held = split_pending(block)
        statements, events = classify(block)
        n += statements.height
        yield statements, events
    if held.height:  # open at the end of the log: what can be read of them
        statements, events = classify(held)
        n += statements.height
        yield statements, events
    src.bad.finish()
    if n == 0 and not (src.bad.count or src.is_blank()):
        src.warn(
            "no statements: the log holds no 'duration:'/'statement:' line — is "
            "log_min_duration_statement (or log_statement) set?"
        )


def read_postgres(
    path: PathLike,
    *,
    format: str | None = None,
    prefix: str | Sequence[str] | None = None,
    tz: str | None = None,
    errors: ErrorMode = "raise",
) -> PostgresLog:
    """Statements and events of a PostgreSQL log in any of its three formats.

    Parameters
    ----------
    path : str or PathLike
        The log file (plain or gzip).
    format : {"stderr", "csvlog", "jsonlog"}, optional
        Default: by suffix — ``.csv`` is csvlog, ``.json``/``.jsonl`` jsonlog, anything
        else stderr (``.log``, ``.gz`` of any of them).
    prefix : str or sequence of str, optional
        The server's ``log_line_prefix`` for a stderr log (``SHOW log_line_prefix;``),
        escapes as PostgreSQL writes them. Default: the first of the common prefixes
        that matches the log's first lines (and the other common ones for lines it does
        not match). A prefix that matches none of them is an
        :class:`~perflab.errors.InputError` on the spot, never an empty result. After a
        change of ``log_line_prefix`` on a reload a log holds lines of both: give both
        (``prefix=[old, new]``); each line is read with the first that matches it.
    tz : str, optional
        An IANA zone (``Europe/Amsterdam``) for a ``log_timezone`` whose abbreviation
        perflab does not know; UTC, offsets and the common abbreviations are read
        without it.
    errors : {"raise", "skip"}
        What a line that is not part of a message does.

    Returns
    -------
    PostgresLog

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "postgresql.log"
    >>> _ = p.write_text(
    ...     "2026-12-03 08:33:25.820 UTC [16120] app@shop LOG:  duration: 0.931 ms  "
    ...     "statement: SELECT id FROM users WHERE id = 1799\\n"
    ...     "2026-12-03 08:33:38.077 UTC [16819] app@shop ERROR:  syntax error at or near "
    ...     '"SELEC" at character 1\\n'
    ...     "2026-12-03 08:33:38.077 UTC [16819] app@shop STATEMENT:  SELEC id FROM users\\n")
    >>> log = read_postgres(p, prefix="%m [%p] %q%u@%d ")
    >>> log.statements.select("pid", "user", "database", "duration_ms", "query")
    shape: (1, 5)
    ┌───────┬──────┬──────────┬─────────────┬─────────────────────────────────┐
    │ pid   ┆ user ┆ database ┆ duration_ms ┆ query                           │
    │ ---   ┆ ---  ┆ ---      ┆ ---         ┆ ---                             │
    │ i64   ┆ str  ┆ str      ┆ f64         ┆ str                             │
    ╞═══════╪══════╪══════════╪═════════════╪═════════════════════════════════╡
    │ 16120 ┆ app  ┆ shop     ┆ 0.931       ┆ SELECT id FROM users WHERE id … │
    └───────┴──────┴──────────┴─────────────┴─────────────────────────────────┘
    >>> log.events.select("kind", "message", "query").row(0)
    ('error', 'syntax error at or near "SELEC" at character 1', 'SELEC id FROM users')
    """
    fmt = format or _format_of(path)
    parts = list(iter_postgres(path, format=fmt, prefix=prefix, tz=tz, errors=errors))
    statements = [s for s, _ in parts if s.height]
    events = [e for _, e in parts if e.height]
    return PostgresLog(
        statements=pl.concat(statements).sort("line") if statements else STATEMENTS.empty(),
        events=pl.concat(events).sort("line") if events else EVENTS.empty(),
    )


def read_log(
    path: PathLike,
    *,
    format: str | None = None,
    prefix: str | Sequence[str] | None = None,
    tz: str | None = None,
    errors: ErrorMode = "raise",
) -> PostgresLog:
    """Any supported log: PostgreSQL (stderr, csvlog, jsonlog) or a MySQL/MariaDB slow log.

    ``format`` is ``stderr``, ``csvlog``, ``jsonlog`` or ``mysql``; by default a file
    whose first line is a slow-log header (``# Time:``, ``# User@Host:``, a server
    banner) is MySQL, and the rest as :func:`read_postgres` decides. A slow log has no
    events: ``events`` is empty.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "slow.log"
    >>> _ = p.write_text("# User@Host: app[app] @ web [10.0.0.5]  Id: 4\\n"
    ...     "# Query_time: 0.5  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 9\\n"
    ...     "SET timestamp=1796286850;\\nSELECT 1;\\n")
    >>> read_log(p).statements.height
    1
    """
    fmt = format or sniff_format(path)
    if fmt == "mysql":
        return PostgresLog(read_mysql_slow_log(path, errors=errors), EVENTS.empty())
    return read_postgres(path, format=fmt, prefix=prefix, tz=tz, errors=errors)


def sniff_format(path: PathLike) -> str:
    """``mysql`` for a slow log (by its first line), else the PostgreSQL format by suffix."""
    head = Source(path, "raise").head(4096).removeprefix(b"\xef\xbb\xbf")
    first = head.split(b"\n", 1)[0]
    if first.startswith((b"# Time: ", b"# User@Host: ")) or b", Version: " in first:
        return "mysql"
    return _format_of(path)


def _format_of(path: PathLike) -> str:
    name = str(path).lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csvlog"
    if name.endswith((".json", ".jsonl")):
        return "jsonlog"
    return "stderr"


def read_postgres_log(
    path: PathLike,
    prefix: str | Sequence[str] | None = None,
    *,
    tz: str | None = None,
    errors: ErrorMode = "raise",
) -> pl.DataFrame:
    """Statements of a PostgreSQL stderr log (see :func:`read_postgres` for the options).

    Lines: ``duration: … statement:`` (simple protocol), ``duration: … parse/bind/execute
    <name>:`` with ``DETAIL: parameters:`` (extended protocol: the execute is the
    statement, parse and bind time go to ``prepare_ms``), ``statement:``/``execute``
    lines of ``log_statement`` with the bare ``duration:`` line that follows them,
    multi-line statements (continuation lines start with a tab).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pg.log"
    >>> _ = p.write_text(
    ...     "2026-12-03 08:33:25 UTC [7]: [1-1] user=app,db=shop,app=web,client=10.0.0.5 "
    ...     "LOG:  duration: 0.610 ms  parse <unnamed>: SELECT 1 WHERE $1 > 0\\n"
    ...     "2026-12-03 08:33:25 UTC [7]: [2-1] user=app,db=shop,app=web,client=10.0.0.5 "
    ...     "LOG:  duration: 0.063 ms  execute <unnamed>: SELECT 1 WHERE $1 > 0\\n"
    ...     "2026-12-03 08:33:25 UTC [7]: [3-1] user=app,db=shop,app=web,client=10.0.0.5 "
    ...     "DETAIL:  parameters: $1 = '5'\\n")
    >>> s = read_postgres_log(p)  # the prefix is recognised: pgBadger's
    >>> s.select("protocol", "duration_ms", "prepare_ms", "parameters", "client").row(0)
    ('extended', 0.063, 0.61, "$1 = '5'", '10.0.0.5')
    """
    log = read_postgres(path, format="stderr", prefix=prefix, tz=tz, errors=errors)
    return log.statements


def read_postgres_csvlog(
    path: PathLike, *, tz: str | None = None, errors: ErrorMode = "raise"
) -> pl.DataFrame:
    """Statements of a PostgreSQL csvlog file (see :func:`read_postgres`)."""
    return read_postgres(path, format="csvlog", tz=tz, errors=errors).statements


def read_postgres_jsonlog(
    path: PathLike, *, tz: str | None = None, errors: ErrorMode = "raise"
) -> pl.DataFrame:
    """Statements of a PostgreSQL jsonlog file (see :func:`read_postgres`)."""
    return read_postgres(path, format="jsonlog", tz=tz, errors=errors).statements


def read_mysql_slow_log(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Statements of a MySQL or MariaDB slow query log.

    The format and how each field is read are in :mod:`perflab.queries._mysql`; the
    frame has the ``STATEMENTS`` columns plus ``full_scan``, ``full_join``,
    ``tmp_table_on_disk``, ``filesort_on_disk``, ``merge_passes`` and ``bytes_sent``
    (MariaDB; null where the log does not say).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "slow.log"
    >>> _ = p.write_text(
    ...     "# Time: 2026-12-03T08:34:10.123456Z\\n"
    ...     "# User@Host: app[app] @ web-1 [10.0.0.5]  Id:    42\\n"
    ...     "# Query_time: 0.250000  Lock_time: 0.000010 Rows_sent: 1  Rows_examined: 3000\\n"
    ...     "use shop;\\nSET timestamp=1796286850;\\nSELECT id FROM users\\nWHERE phone = 600;\\n")
    >>> s = read_mysql_slow_log(p)
    >>> s.select("pid", "database", "duration_ms", "rows_examined", "query").row(0)
    (42, 'shop', 250.0, 3000, 'SELECT id FROM users\\nWHERE phone = 600')
    """
    src = Source(path, errors)
    parts = [f for f in _mysql.iter_slow_log(src) if f.height]
    frame = pl.concat(parts) if parts else _mysql._empty()
    return src.finish(frame, "no '# User@Host:' event in the file", what="statements")


def _record_lines(raw: pl.DataFrame, where: Where, *, csv: bool) -> pl.Series:
    """The line each record starts on: in a CSV, a quoted field may span lines."""
    if not csv or raw.height == 0:
        return pl.Series("line", [where(i) for i in range(raw.height)], dtype=pl.Int64)
    text = [c for c, t in raw.schema.items() if t == pl.String]
    newlines = raw.select(
        pl.sum_horizontal(pl.col(text).str.count_matches("\n").fill_null(0)).alias("n")
    ).get_column("n")
    return ((newlines + 1).cum_sum().shift(1, fill_value=0) + 2).cast(pl.Int64).alias("line")


# pg_stat_statements: PostgreSQL 13+ names, and the ≤ 12 ones they replaced
_PGSS = {
    "query": ("query",),
    "calls": ("calls",),
    "total_ms": ("total_exec_time", "total_time"),
    "min_ms": ("min_exec_time", "min_time"),
    "max_ms": ("max_exec_time", "max_time"),
    "mean_ms": ("mean_exec_time", "mean_time"),
    "stddev_ms": ("stddev_exec_time", "stddev_time"),
    "plan_ms": ("total_plan_time",),
    "rows": ("rows",),
    "query_id": ("queryid",),
    "user": ("rolname", "usename", "userid"),
    "database": ("datname", "dbid"),
    "shared_blks_hit": ("shared_blks_hit",),
    "shared_blks_read": ("shared_blks_read",),
    "temp_blks_written": ("temp_blks_written",),
}


def read_pg_stat_statements(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """A ``pg_stat_statements`` export as statements: one row per (user, db, query).

    Export with ``\\copy (SELECT * FROM pg_stat_statements) TO 'pgss.csv' CSV HEADER``
    (joining ``pg_roles``/``pg_database`` for names is optional: ``rolname``/``datname``
    are used when present, else the numeric ``userid``/``dbid``). Column names of
    PostgreSQL 13+ (``total_exec_time`` …) and of 12 and before (``total_time`` …) are
    both read. Rows have ``protocol = "aggregate"``, ``calls`` from the view and
    ``duration_ms`` = the total time of those calls; the view's ``mean_ms``,
    ``min_ms``, ``max_ms``, ``stddev_ms``, ``plan_ms`` and block counters are extra
    columns. There is no time of execution: ``timestamp`` is null.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pgss.csv"
    >>> _ = p.write_text("userid,dbid,queryid,query,calls,total_exec_time,rows\\n"
    ...     "10,16384,-4,SELECT id FROM users WHERE id = $1,40,12.5,40\\n")
    >>> read_pg_stat_statements(p).select("query", "calls", "duration_ms", "protocol").row(0)
    ('SELECT id FROM users WHERE id = $1', 40, 12.5, 'aggregate')
    """
    src = Source(path, errors)
    if src.is_blank():
        return STATEMENTS.empty()
    where: Where
    if src.suffix == ".parquet":
        raw = pl.read_parquet(src.handle()).cast(pl.String)
        where = no_line
    elif src.suffix in (".jsonl", ".ndjson", ".json"):
        from perflab.sources import load_ndjson

        raw, where = load_ndjson(src)
    else:
        raw, where = load_csv(src)
    cols: dict[str, str] = {}
    for name, options in _PGSS.items():
        found = next((c for c in options if c in raw.columns), None)
        if found is not None:
            cols[name] = found
    missing = [n for n in ("query", "calls", "total_ms") if n not in cols]
    if missing:
        wanted = [_PGSS[m][0] for m in missing]
        raise SchemaError(
            src.name,
            missing=wanted,
            detail="a pg_stat_statements export needs query, calls and total_exec_time "
            "(total_time before PostgreSQL 13)",
        )
    numbers = {
        n: parse_numbers(raw.get_column(c), what="pg_stat_statements")
        for n, c in cols.items()
        if n not in ("query", "user", "database")
    }
    bad = (
        numbers["calls"].is_null()
        | numbers["total_ms"].is_null()
        | raw.get_column(cols["query"]).is_null()
    )
    if bad.any():
        idx = bad.arg_true().to_list()
        for i in idx[: 1 if src.bad.mode == "raise" else 3]:
            src.bad.add(where(i), "a row without query, calls or total time")
        src.bad.more(len(idx) - min(len(idx), 3))
    n = raw.height

    def absent(dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
        return pl.Series([None] * n, dtype=dtype)

    def text(name: str) -> pl.Series:
        return raw.get_column(cols[name]) if name in cols else absent(pl.String)

    data: dict[str, Any] = {
        "timestamp": absent(STATEMENTS.columns["timestamp"]),
        "pid": absent(pl.Int64),
        "user": text("user"),
        "database": text("database"),
        "application": absent(pl.String),
        "client": absent(pl.String),
        "session": absent(pl.String),
        "duration_ms": numbers["total_ms"],
        "query": raw.get_column(cols["query"]),
        "protocol": pl.Series(["aggregate"] * n, dtype=pl.String),
        "statement_name": absent(pl.String),
        "parameters": absent(pl.String),
        "prepare_ms": numbers.get("plan_ms", absent(pl.Float64)),
        "calls": numbers["calls"],
        "rows": numbers.get("rows", absent(pl.Float64)),
        "rows_examined": absent(pl.Int64),
        "lock_ms": absent(pl.Float64),
        # ids are 64-bit: read them as integers, not through a float
        "query_id": (
            raw.get_column(cols["query_id"]).str.strip_chars().cast(pl.Int64, strict=False)
            if "query_id" in cols
            else absent(pl.Int64)
        ),
        "line": _record_lines(raw, where, csv=src.suffix in (".csv", ".tsv") and not src.bad.count),
    }
    for extra in (
        "min_ms",
        "max_ms",
        "mean_ms",
        "stddev_ms",
        "shared_blks_hit",
        "shared_blks_read",
        "temp_blks_written",
    ):
        if extra in numbers:
            data[extra] = numbers[extra]
    frame = pl.DataFrame(data)
    frame = frame.filter(~bad).with_columns(
        pl.col("calls").cast(pl.Int64),
        pl.col("rows").cast(pl.Int64),
        pl.col("query_id").cast(pl.Int64),
    )
    return src.finish(
        STATEMENTS.validate(frame), "the export has a header but no rows", what="statements"
    )

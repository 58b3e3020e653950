"""PostgreSQL log entries → statements and events, whatever the log's format.

The three log formats carry the same messages: stderr lines with a prefix, csvlog
records and jsonlog objects. Each reader turns its input into *entries* — one row per
primary message (``LOG``, ``ERROR`` …) with its ``DETAIL``, ``HINT``, ``CONTEXT`` and
``STATEMENT`` attached — and :func:`classify` turns entries into the ``STATEMENTS``
and ``EVENTS`` frames with vectorised polars expressions: the per-row work is a
handful of regex passes, never a Python loop over lines.

Entry columns (:data:`ENTRY`): ``line`` (i64), ``timestamp`` (datetime[μs, UTC]),
``pid`` (i64), ``user``, ``database``, ``application``, ``client``, ``session``,
``sqlstate`` (str), ``query_id`` (i64), ``level``, ``message``, ``detail``, ``hint``,
``context``, ``statement`` (str).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from perflab.frames import UTC_DATETIME
from perflab.queries.schema import EVENTS, STATEMENTS

__all__ = ["ENTRY", "classify", "empty_entries", "split_pending"]

_ENTRY: dict[str, Any] = {
    "line": pl.Int64,
    "timestamp": UTC_DATETIME,
    "pid": pl.Int64,
    "user": pl.String,
    "database": pl.String,
    "application": pl.String,
    "client": pl.String,
    "session": pl.String,
    "sqlstate": pl.String,
    "query_id": pl.Int64,
    "level": pl.String,
    "message": pl.String,
    "detail": pl.String,
    "hint": pl.String,
    "context": pl.String,
    "statement": pl.String,
}
ENTRY = pl.Schema(_ENTRY)

# The head of a statement's message, the statement text after it: "duration: 1.5 ms"
# alone (the duration of the text logged before it), with "  statement: ",
# "  parse|bind|execute <name>: ", or no duration and "statement: " / "execute <name>: "
# (log_statement).
_STATEMENT_HEAD = (
    r"^(?P<head>duration: (?P<ms>[0-9]+(?:\.[0-9]+)?) ms"
    r"(?:$|  (?P<phase>statement|execute|parse|bind)(?: (?P<name>[^:\n]*))?: )"
    r"|(?P<logged>statement|execute)(?: (?P<lname>[^:\n]*))?: )"
)
_LOCK = (
    r"^process \d+ (?P<what>still waiting|acquired|avoided deadlock|detected deadlock while "
    r"waiting)(?: for)? (?P<object>.+?) after (?P<ms>\d+(?:\.\d+)?) ms"
)
_TEMP = r'^temporary file: path "(?P<path>[^"]*)", size (?P<size>\d+)'
_VACUUM = r'^automatic (?P<what>(?:aggressive )?vacuum|analyze)[^"]* of table "(?P<table>[^"]+)"'
_ELAPSED = r"elapsed:? (?P<s>\d+(?:\.\d+)?) s"  # 9.6 wrote "elapsed 0.01 sec"
_CHECKPOINT = r"^(?:checkpoint|restartpoint) complete: .*?total=(?P<s>\d+(?:\.\d+)?) s"
_DISCONNECT = r"^disconnection: session time: (?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)"


_OPEN = r"^duration: \d+(?:\.\d+)? ms  (?:parse|bind) |^(?:statement|execute [^:]*): "
_CLOSE = r"^duration: "


def split_pending(entries: pl.DataFrame, *, tail: int = 5000) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(entries complete in themselves, entries waiting for the next block).

    A block of a log may end between a ``parse``/``bind`` and its ``execute``, or
    between a ``log_statement`` line and the bare ``duration:`` that completes it.
    Such open entries of a process — those after its last completing line, among
    the last ``tail`` entries — are held back and read with the next block, so the
    statement is whole whatever the block boundaries.

    Examples
    --------
    >>> e = empty_entries().vstack(pl.DataFrame({"line": [1, 2], "pid": [7, 7],
    ...     "level": ["LOG", "LOG"], "message": ["duration: 1 ms  statement: SELECT 1",
    ...     "duration: 0.2 ms  parse <unnamed>: SELECT $1"]}).select(
    ...     [pl.col(c).cast(t) if c in ("line", "pid", "level", "message") else
    ...      pl.lit(None, t).alias(c) for c, t in ENTRY.items()]))
    >>> done, held = split_pending(e)
    >>> done["line"].to_list(), held["line"].to_list()
    ([1], [2])
    """
    if entries.height == 0:
        return entries, entries
    start = max(0, entries.height - tail)
    recent = entries.slice(start).with_row_index("_i")
    msg, log = pl.col("message"), pl.col("level") == "LOG"
    opens = log & msg.str.contains(_OPEN)
    closes = log & msg.str.starts_with("duration: ") & ~msg.str.contains(_OPEN)
    key = pl.coalesce(pl.col("pid").cast(pl.String), pl.col("session"), pl.lit("?"))
    marked = recent.with_columns(
        key.alias("_k"),
        pl.when(closes).then(pl.col("_i")).alias("_close"),
        opens.alias("_open"),
    ).with_columns(pl.col("_close").max().over("_k").alias("_last_close"))
    held = marked.filter(
        pl.col("_open") & (pl.col("_last_close").is_null() | (pl.col("_i") > pl.col("_last_close")))
    )
    if held.height == 0:
        return entries, entries.clear()
    # everything of those processes from their first held entry on waits, in order
    first = held.group_by("_k").agg(pl.col("_i").min().alias("_from"))
    wait = (
        marked.join(first, on="_k", how="left")
        .select((pl.col("_from").is_not_null() & (pl.col("_i") >= pl.col("_from"))).alias("w"))
        .to_series()
    )
    keep = pl.concat([pl.Series([False] * start), wait]) if start else wait
    return entries.filter(~keep), entries.filter(keep)


def empty_entries() -> pl.DataFrame:
    """An entries frame with no rows."""
    return pl.DataFrame(schema=ENTRY)


def classify(entries: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Statements and events of an entries frame (rows in log order).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> e = empty_entries().vstack(pl.DataFrame({
    ...     "line": [1, 2], "timestamp": [datetime(2026, 1, 1, tzinfo=UTC)] * 2,
    ...     "pid": [7, 7], "level": ["LOG", "ERROR"],
    ...     "message": ["duration: 1.5 ms  statement: SELECT 1", "division by zero"],
    ...     "statement": [None, "SELECT 1/0"]}).select(
    ...     [pl.col(c).cast(t) if c in ("line", "timestamp", "pid", "level", "message",
    ...      "statement") else pl.lit(None, t).alias(c) for c, t in ENTRY.items()]))
    >>> s, ev = classify(e)
    >>> s["query"].to_list(), s["duration_ms"].to_list(), ev["kind"].to_list()
    (['SELECT 1'], [1.5], ['error'])
    """
    entries = entries.with_columns(  # the session id where known, else the process id
        pl.coalesce(pl.col("session"), pl.col("pid").cast(pl.String)).alias("session"),
        pl.when(pl.col("sqlstate") != "00000").then(pl.col("sqlstate")).alias("sqlstate"),
    )
    logs = entries.filter(pl.col("level") == "LOG")
    return _statements(logs), _events(entries)


# ---------------------------------------------------------------------------------------
# statements


def _statements(logs: pl.DataFrame) -> pl.DataFrame:
    # Short anchored patterns and literal splits only: capturing the statement text with
    # a regex would cost as much as all the rest.
    msg = pl.col("message")
    h = pl.col("h").struct
    rows = (
        logs.lazy()
        .with_columns(msg.str.extract_groups(_STATEMENT_HEAD).alias("h"))
        .filter(h.field("head").is_not_null())
        .with_columns(
            h.field("ms").cast(pl.Float64).alias("ms"),
            pl.coalesce(h.field("phase"), h.field("logged"), pl.lit("bare")).alias("phase"),
            pl.coalesce(h.field("name"), h.field("lname")).alias("name"),
            # the text is what follows the head (a bare duration has none)
            pl.when(h.field("head").str.ends_with(": "))
            .then(msg.str.slice(h.field("head").str.len_chars()))
            .alias("text"),
        )
        .drop("h")
        .collect()
    )
    if rows.height == 0:
        return STATEMENTS.empty()
    key = "pid" if rows.get_column("pid").null_count() < rows.height else "session"
    is_exec = (pl.col("phase") == "execute").cast(pl.Int64)
    rows = rows.with_row_index("_i").with_columns(
        # parse/bind of an execute share its count of executes seen before it
        (is_exec.cum_sum().over(key) - is_exec).alias("_g"),
        # a bare "duration: N ms" belongs to the last logged text of its process
        pl.when(pl.col("text").is_not_null())
        .then(pl.col("_i"))
        .forward_fill()
        .over(key)
        .alias("_owner"),
    )
    prep = (  # parse and bind of the same text, before the execute (not of a failed one)
        rows.filter(pl.col("phase").is_in(["parse", "bind"]))
        .group_by(key, "_g", "text")
        .agg(pl.col("ms").sum().alias("prepare_ms"), pl.lit("execute").alias("phase"))
    )
    bare = (
        rows.filter(pl.col("phase") == "bare")
        .group_by("_owner")
        .agg(pl.col("ms").sum().alias("_bare_ms"))
        .rename({"_owner": "_i"})
    )
    out = (
        rows.filter(pl.col("phase").is_in(["statement", "execute"]))
        .join(prep, on=[key, "_g", "text", "phase"], how="left", nulls_equal=True)
        .join(bare, on="_i", how="left")
        .with_columns(
            pl.coalesce("ms", "_bare_ms").alias("duration_ms"),
            pl.col("text").alias("query"),
            pl.when(pl.col("phase") == "statement")
            .then(pl.lit("simple"))
            .when(pl.col("name").is_null() | (pl.col("name") == "<unnamed>"))
            .then(pl.lit("extended"))
            .otherwise(pl.lit("prepared"))
            .alias("protocol"),
            pl.when(pl.col("name") != "<unnamed>").then(pl.col("name")).alias("statement_name"),
            pl.when(pl.col("detail").str.starts_with("parameters: "))
            .then(pl.col("detail").str.slice(len("parameters: ")))
            .alias("parameters"),
            pl.lit(1, pl.Int64).alias("calls"),
            pl.lit(None, pl.Int64).alias("rows"),
            pl.lit(None, pl.Int64).alias("rows_examined"),
            pl.lit(None, pl.Float64).alias("lock_ms"),
        )
        .sort("_i")
    )
    return out.select(STATEMENTS.names).cast(pl.Schema(STATEMENTS.dtypes()))


# ---------------------------------------------------------------------------------------
# events


def _events(entries: pl.DataFrame) -> pl.DataFrame:
    msg, level = pl.col("message"), pl.col("level")
    lock = msg.str.extract_groups(_LOCK)
    temp = msg.str.extract_groups(_TEMP)
    vac = msg.str.extract_groups(_VACUUM)
    disc = msg.str.extract_groups(_DISCONNECT)
    kind = (
        pl.when(level == "ERROR")
        .then(
            pl.when(msg == "deadlock detected").then(pl.lit("deadlock")).otherwise(pl.lit("error"))
        )
        .when(level == "FATAL")
        .then(pl.lit("fatal"))
        .when(level == "PANIC")
        .then(pl.lit("panic"))
        .when(level == "WARNING")
        .then(pl.lit("warning"))
        .when(level != "LOG")
        .then(None)
        .when(msg.str.starts_with("process "))
        .then(
            pl.when(lock.struct.field("what") == "acquired")
            .then(pl.lit("lock_acquired"))
            .when(lock.struct.field("what").is_not_null())
            .then(pl.lit("lock_wait"))
        )
        .when(msg.str.starts_with("temporary file: "))
        .then(pl.lit("temp_file"))
        .when(msg.str.contains(r"^(?:checkpoint|restartpoint) complete: "))
        .then(pl.lit("checkpoint"))
        .when(msg.str.starts_with("automatic "))
        .then(
            pl.when(vac.struct.field("what") == "analyze")
            .then(pl.lit("autoanalyze"))
            .when(vac.struct.field("what").is_not_null())
            .then(pl.lit("autovacuum"))
        )
        .when(msg.str.starts_with("connection authorized: "))
        .then(pl.lit("connection"))
        .when(msg.str.starts_with("disconnection: "))
        .then(pl.lit("disconnection"))
    )
    seconds_ms = (
        pl.coalesce(
            msg.str.extract(_CHECKPOINT, 1),
            msg.str.extract(_ELAPSED, 1),
        ).cast(pl.Float64)
        * 1000.0
    )
    session_ms = (
        disc.struct.field("h").cast(pl.Float64) * 3_600_000
        + disc.struct.field("m").cast(pl.Float64) * 60_000
        + disc.struct.field("s").cast(pl.Float64) * 1000
    )
    candidates = entries.filter(
        (pl.col("level") != "LOG") | ~pl.col("message").str.starts_with("duration: ")
    )
    out = (
        candidates.lazy()
        .with_columns(kind.alias("kind"))
        .filter(pl.col("kind").is_not_null())
        .with_columns(
            pl.col("level").alias("severity"),
            pl.coalesce(
                lock.struct.field("object"), temp.struct.field("path"), vac.struct.field("table")
            ).alias("object"),
            pl.when(pl.col("kind").is_in(["lock_wait", "lock_acquired"]))
            .then(lock.struct.field("ms").cast(pl.Float64))
            .when(pl.col("kind") == "disconnection")
            .then(session_ms)
            .otherwise(seconds_ms)
            .alias("duration_ms"),
            temp.struct.field("size").cast(pl.Int64).alias("size_bytes"),
            pl.col("statement").alias("query"),
        )
        .select(EVENTS.names)
        .collect()
    )
    return out.cast(pl.Schema(EVENTS.dtypes()))

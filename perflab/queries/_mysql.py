"""MySQL and MariaDB slow query logs → statements, streamed in blocks.

An event, as both servers write it::

    # Time: 2026-12-03T08:34:10.123456Z        (MySQL 8; MariaDB: "# Time: 261203  8:34:10";
                                                 not before every event)
    # User@Host: app[app] @ web-1 [10.0.0.5]  Id:    42
    # Thread_id: 42  Schema: shop  QC_hit: No   (MariaDB)
    # Query_time: 0.000123  Lock_time: 0.000010 Rows_sent: 1  Rows_examined: 3000
    # Rows_affected: 0  Bytes_sent: 55          (MariaDB)
    # Full_scan: Yes  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No
    # Filesort: No  Filesort_on_disk: No  Merge_passes: 0  Priority_queue: No
    # explain: …                                (MariaDB, log_slow_verbosity=explain)
    use shop;                                   (when the default database changed)
    SET timestamp=1796286850;
    SELECT … ;                                  (may span lines)

Server banners (``mysqld, Version: … started with:`` and the two lines after it) are
skipped. The statement is every line after ``SET timestamp=…;`` up to the next
header, without the ``;`` the server appends (a statement without it was cut short:
a bad line); ``# administrator command: …`` is the statement of an admin event.
``timestamp`` is when the statement ended: MySQL 8's ``# Time`` (microseconds, UTC)
when present, else ``SET timestamp`` (the start, whole seconds, UTC) plus ``Query_time`` — MariaDB's
``# Time`` is local time without a zone, so it is not used. ``database`` comes from ``Schema:`` or
the last ``use`` written before the event, by any thread (the server writes ``use`` when the
database differs from the last one it wrote). Prepared statements are logged with their values
inlined, so they fingerprint like any other statement.

The MariaDB flag lines become extra columns: ``full_scan``, ``full_join``,
``tmp_table_on_disk``, ``filesort_on_disk`` (bool) and ``merge_passes`` (i64) — note
that ``Filesort_on_disk`` may stay ``No`` while ``Merge_passes > 0``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import polars as pl

from perflab.frames import UTC_DATETIME
from perflab.queries.schema import STATEMENTS
from perflab.sources import Source

__all__ = ["EXTRA", "iter_slow_log"]

EXTRA = pl.Schema(
    {
        "full_scan": pl.Boolean,
        "full_join": pl.Boolean,
        "tmp_table_on_disk": pl.Boolean,
        "filesort_on_disk": pl.Boolean,
        "merge_passes": pl.Int64,
        "bytes_sent": pl.Int64,
    }
)
"""Columns the slow log adds to ``STATEMENTS``."""

_BLOCK = 8 << 20
_START = re.compile(rb"\n# (?:Time|User@Host): ")
_BANNER = r"^(?:\S+, Version: .* started with:|Tcp port: .*|Time\s+Id\s+Command\s+Argument)$"

_HEADER = {
    "user_host": (
        r"^# User@Host: (?P<user>[^\[\s]*)\[[^\]]*\] @ (?P<host>\S*) \[(?P<ip>[^\]]*)\]"
        r"(?:\s+Id:\s*(?P<id>\d+))?"
    ),
    "thread": r"^# Thread_id: (?P<tid>\d+)\s+Schema: (?P<schema>\S*)",
    "qtime": (
        r"^# Query_time: (?P<qt>[\d.]+)\s+Lock_time: (?P<lt>[\d.]+)\s+Rows_sent: (?P<rs>\d+)"
        r"\s+Rows_examined: (?P<re>\d+)"
    ),
}
_FLAG = {
    "full_scan": r"Full_scan: (Yes|No)",
    "full_join": r"Full_join: (Yes|No)",
    "tmp_table_on_disk": r"Tmp_table_on_disk: (Yes|No)",
    "filesort_on_disk": r"Filesort_on_disk: (Yes|No)",
    "merge_passes": r"Merge_passes: (\d+)",
    "bytes_sent": r"Bytes_sent: (\d+)",
    "rows_affected": r"Rows_affected: (\d+)",
}


def iter_slow_log(src: Source) -> Iterator[pl.DataFrame]:
    """Statements of a slow log, one frame per block of events."""
    if src.is_blank():
        return
    carry = b""
    line_no = 1
    last_db: list[str | None] = [None]  # the database in force at the end of a block
    for raw in src.chunks(_BLOCK):
        data = carry + raw
        cut = _last_start(data) if len(raw) >= _BLOCK else None
        if cut is None:
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        frame = _parse(block, line_no, src, last_db)
        line_no += block.count(b"\n")
        if frame.height:
            yield frame
    if carry.strip():
        frame = _parse(carry, line_no, src, last_db)
        if frame.height:
            yield frame


def _last_start(data: bytes) -> int | None:
    """Offset just after the newline before the last event's first header line."""
    starts = [m.start() + 1 for m in _START.finditer(data, max(0, len(data) - (1 << 20)))]
    while starts:
        cut = starts.pop()
        prev = data.rfind(b"\n", 0, cut - 1) + 1
        if data[prev : prev + 8] == b"# Time: " and data[cut : cut + 13] == b"# User@Host: ":
            cut = prev  # keep "# Time:" with the event it dates
        if cut > 0:
            return cut
    return None


def _parse(data: bytes, first_line: int, src: Source, last_db: list[str | None]) -> pl.DataFrame:
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = (
        pl.DataFrame({"raw": [text]})
        .select(pl.col("raw").str.split("\n"))
        .explode("raw")
        .with_row_index("idx")
        .with_columns(
            (pl.col("idx").cast(pl.Int64) + first_line).alias("line"),
            pl.col("raw").str.strip_suffix("\r"),
        )
    )
    raw = pl.col("raw")
    # an event starts at "# Time:", or at "# User@Host:" when no "# Time:" line is before it
    user_host = raw.str.starts_with("# User@Host: ")
    time_line = raw.str.starts_with("# Time: ")
    starts = time_line | (user_host & ~time_line.shift(1).fill_null(False))
    lines = lines.filter(~raw.str.contains(_BANNER)).with_columns(
        starts.cum_sum().alias("event"),
        raw.str.starts_with("SET timestamp=").alias("is_set"),
        # "# administrator command: Quit;" is the statement of an admin event
        (raw.str.starts_with("#") & ~raw.str.starts_with("# administrator command: ")).alias(
            "is_header"
        ),
    )
    # statement lines: after the event's SET timestamp line and not a header
    lines = lines.with_columns(
        pl.col("is_set").cast(pl.Int32).cum_sum().over("event").alias("after")
    )
    orphan = lines.filter(
        (pl.col("event") == 0) & (raw.str.strip_chars() != "") & ~pl.col("is_header")
    )
    if orphan.height:
        line, text0 = orphan.row(0)[2], orphan.row(0)[1]
        src.bad.add(line, f"a statement line before any '# User@Host:' header: {text0[:80]!r}")
        src.bad.more(orphan.height - 1)
    events = lines.filter(pl.col("event") > 0)
    if events.height == 0:
        return _empty()
    header = events.filter(pl.col("is_header"))
    heads = header.select(
        "event",
        "line",
        raw.str.extract_groups(_HEADER["user_host"]).alias("uh"),
        raw.str.extract_groups(_HEADER["thread"]).alias("th"),
        raw.str.extract_groups(_HEADER["qtime"]).alias("qt"),
        raw.str.extract(r"^# Time: (\d{4}-\d{2}-\d{2}T\S+)", 1).alias("iso"),
        *(raw.str.extract(rx, 1).alias(name) for name, rx in _FLAG.items()),
    ).unnest("uh", "th", "qt")
    fields = heads.group_by("event").agg(
        pl.col("line").min(),
        *(pl.col(c).drop_nulls().first() for c in heads.columns if c not in ("event", "line")),
    )
    meta = events.filter(~pl.col("is_header") & (pl.col("after") == 0))
    uses = (
        meta.select("event", raw.str.extract(r"^use `?([^`;]+)`?;$", 1).alias("use_db"))
        .drop_nulls()
        .group_by("event")
        .agg(pl.col("use_db").last())
    )
    stamps = (
        events.filter(pl.col("is_set"))
        .select("event", raw.str.extract(r"^SET timestamp=(\d+);", 1).cast(pl.Int64).alias("epoch"))
        .group_by("event")
        .agg(pl.col("epoch").last())
    )
    body = (
        events.filter(~pl.col("is_header") & (pl.col("after") > 0) & ~pl.col("is_set"))
        .group_by("event")
        .agg(raw.alias("query"))
        .with_columns(pl.col("query").list.join("\n"))
        .with_columns(pl.col("query").str.strip_chars_end())
        .with_columns(
            # the server ends every statement with ";": without it, the file was cut
            (~pl.col("query").str.ends_with(";")).alias("_cut"),
            pl.col("query").str.strip_suffix(";"),
        )
    )
    out = (
        fields.join(uses, on="event", how="left")
        .join(stamps, on="event", how="left")
        .join(body, on="event", how="left")
        .sort("event")
    )
    out = _check(out, src)
    if out.height == 0:
        return _empty()
    qt = pl.col("qt").cast(pl.Float64)
    pid = pl.coalesce(pl.col("tid"), pl.col("id")).cast(pl.Int64)
    start_us = pl.col("epoch") * 1_000_000
    iso = pl.col("iso").str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
    out = out.with_columns(
        pid.alias("pid"),
        pl.coalesce(iso, (start_us + (qt * 1e6).round(0).cast(pl.Int64)).cast(UTC_DATETIME)).alias(
            "timestamp"
        ),
        pl.when(pl.col("schema") != "").then(pl.col("schema")).alias("schema"),
    )
    out = _databases(out, last_db)
    yes = {"Yes": True, "No": False}
    return out.select(
        pl.col("timestamp"),
        pl.col("pid"),
        pl.col("user").replace("", None),
        pl.col("database"),
        pl.lit(None, pl.String).alias("application"),
        pl.coalesce(pl.col("ip").replace("", None), pl.col("host").replace("", None)).alias(
            "client"
        ),
        pl.col("pid").cast(pl.String).alias("session"),
        (qt * 1000.0).alias("duration_ms"),
        pl.col("query"),
        pl.lit("simple").alias("protocol"),
        pl.lit(None, pl.String).alias("statement_name"),
        pl.lit(None, pl.String).alias("parameters"),
        pl.lit(None, pl.Float64).alias("prepare_ms"),
        pl.lit(1, pl.Int64).alias("calls"),
        pl.coalesce(
            pl.col("rows_affected").cast(pl.Int64).replace(0, None), pl.col("rs").cast(pl.Int64)
        ).alias("rows"),
        pl.col("re").cast(pl.Int64).alias("rows_examined"),
        (pl.col("lt").cast(pl.Float64) * 1000.0).alias("lock_ms"),
        pl.lit(None, pl.Int64).alias("query_id"),
        pl.col("line"),
        *(pl.col(c).replace_strict(yes, default=None).alias(c) for c in list(EXTRA)[:4]),
        pl.col("merge_passes").cast(pl.Int64),
        pl.col("bytes_sent").cast(pl.Int64),
    ).cast(pl.Schema({**STATEMENTS.dtypes(), **EXTRA}))


def _check(out: pl.DataFrame, src: Source) -> pl.DataFrame:
    """Drop (and report) events without Query_time, statement or time."""
    no_query = pl.col("query").is_null() | (pl.col("query").str.strip_chars() == "")
    problems = [
        (pl.col("_cut").fill_null(False), "a statement cut short (no ';' at its end)"),
        (pl.col("qt").is_null(), "an event without a '# Query_time:' line"),
        (no_query, "an event without a statement"),
        (
            pl.col("epoch").is_null() & pl.col("iso").is_null(),
            "an event without 'SET timestamp=' or an ISO '# Time:'",
        ),
    ]
    for cond, why in problems:
        bad = out.select(cond).to_series().fill_null(False)
        if bad.any():
            lines = out.filter(bad).get_column("line")
            for line in lines.head(1 if src.bad.mode == "raise" else 3):
                src.bad.add(line, why)
            src.bad.more(lines.len() - min(lines.len(), 3))
            out = out.filter(~bad)
    return out


def _databases(out: pl.DataFrame, last_db: list[str | None]) -> pl.DataFrame:
    """``Schema:`` where written, else the last ``use`` written before the event.

    The server writes ``use db;`` when the database differs from the last one written
    to the log, by any thread (as pt-query-digest reads it), so a database is carried
    from event to event, across blocks, not per thread.
    """
    used = pl.col("use_db").forward_fill().fill_null(pl.lit(last_db[0], pl.String))
    out = out.with_columns(pl.coalesce("schema", used).alias("database"))
    written = out.get_column("use_db").drop_nulls()
    if written.len():
        last_db[0] = written[-1]
    return out


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=pl.Schema({**STATEMENTS.dtypes(), **EXTRA}))

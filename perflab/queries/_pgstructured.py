"""PostgreSQL csvlog and jsonlog → entries (see :mod:`perflab.queries._pgevents`).

**csvlog** has no header; its columns depend on the server version, and the count
tells which: 23 (PostgreSQL 9.0–12), 24 (13: ``backend_type``), 26 (14 and later:
``leader_pid``, ``query_id``). Fields are quoted CSV and may span lines; the line of
a record is counted from the newlines of the records before it. Another count is an
``InputError`` that says which counts are known.

**jsonlog** (PostgreSQL 15+) is one JSON object per line; absent keys are null, unknown
keys are ignored, so the logs of later versions read too.

Both are read in batches of rows, so memory is one batch plus what the caller keeps.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import polars as pl

from perflab.errors import InputError
from perflab.queries._pgevents import ENTRY
from perflab.queries._pgstderr import parse_stamps
from perflab.sources import NOT_UTF8, Source, first_line

__all__ = ["CSV_COLUMNS", "iter_csv_entries", "iter_json_entries"]

_CSV_26 = [
    "log_time",
    "user_name",
    "database_name",
    "process_id",
    "connection_from",
    "session_id",
    "session_line_num",
    "command_tag",
    "session_start_time",
    "virtual_transaction_id",
    "transaction_id",
    "error_severity",
    "sql_state_code",
    "message",
    "detail",
    "hint",
    "internal_query",
    "internal_query_pos",
    "context",
    "query",
    "query_pos",
    "location",
    "application_name",
    "backend_type",
    "leader_pid",
    "query_id",
]
CSV_COLUMNS: dict[int, list[str]] = {23: _CSV_26[:23], 24: _CSV_26[:24], 26: _CSV_26}
"""csvlog columns by their count: 23 (≤ 12), 24 (13), 26 (14+)."""

_BATCH_ROWS = 200_000

logger = logging.getLogger(__name__)

_JSON_FIELDS = {
    "timestamp": pl.String,
    "user": pl.String,
    "dbname": pl.String,
    "pid": pl.Int64,
    "remote_host": pl.String,
    "session_id": pl.String,
    "line_num": pl.Int64,
    "error_severity": pl.String,
    "state_code": pl.String,
    "message": pl.String,
    "detail": pl.String,
    "hint": pl.String,
    "internal_query": pl.String,
    "context": pl.String,
    "statement": pl.String,
    "cursor_position": pl.Int64,
    "application_name": pl.String,
    "backend_type": pl.String,
    "query_id": pl.Int64,
}


def iter_csv_entries(src: Source, *, tz: str | None = None) -> Iterator[pl.DataFrame]:
    """Entries of a csvlog file, one frame per batch of records."""
    if src.is_blank():
        return
    width = _csv_width(src)
    names = CSV_COLUMNS.get(width)
    if names is None:
        raise InputError(
            src.name,
            1,
            f"a csvlog record has {width} fields; PostgreSQL writes 23 (up to 12), 24 (13) or "
            "26 (14 and later): is this a csvlog file?",
        )
    scan = pl.scan_csv(
        src.handle(),
        has_header=False,
        new_columns=names,
        schema=dict.fromkeys(names, pl.String),
        encoding="utf8-lossy",
    )
    next_line = 1
    done = 0  # records yielded
    batches = scan.collect_batches(chunk_size=_BATCH_ROWS, engine="streaming")
    while True:
        try:
            raw = next(batches)
        except StopIteration:
            return
        except pl.exceptions.PolarsError as exc:
            # a record polars refuses (too many fields, a quote left open at a cut end):
            # the csv module reads the rest record by record and names the bad ones
            logger.info("%s: %s; reading record by record", src.name, first_line(exc))
            yield from _csv_slow(src, names, done, tz)
            return
        done += raw.height
        # each record starts one line after the previous one's last newline
        newlines = pl.sum_horizontal(pl.col(names).str.count_matches("\n").fill_null(0))
        raw = raw.with_columns(
            (pl.lit(next_line, pl.Int64) + (newlines + 1).cum_sum().shift(1, fill_value=0)).alias(
                "_line"
            ),
            (newlines + 1).alias("_span"),
        )
        next_line = int(raw.get_column("_line")[-1] + raw.get_column("_span")[-1])
        yield _from_csv(raw, src, tz)


def _csv_slow(src: Source, names: list[str], skip: int, tz: str | None) -> Iterator[pl.DataFrame]:
    """The records after the first ``skip``, read with the csv module (the error path)."""
    import csv

    text = src.data().decode("utf-8", errors="replace").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str | None]] = []
    lines: list[int] = []
    index = 0
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            src.bad.add(start, f"malformed csvlog record: {exc} (cut short?)")
            break
        here, start = start, reader.line_num + 1
        index += 1
        if index <= skip or not record:
            continue
        if len(record) != len(names):
            src.bad.add(here, f"{len(record)} fields where this csvlog has {len(names)}")
            continue
        rows.append([v if v != "" else None for v in record])
        lines.append(here)
        if len(rows) >= _BATCH_ROWS:
            yield _from_csv(_frame(rows, lines, names), src, tz)
            rows, lines = [], []
    if rows:
        yield _from_csv(_frame(rows, lines, names), src, tz)


def _frame(rows: list[list[str | None]], lines: list[int], names: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
    return frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64))


def _csv_width(src: Source) -> int:
    """Fields in the first record (quoted fields may span lines)."""
    import csv

    head = src.head(1 << 20).decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        row = next(csv.reader(io.StringIO(head, newline="")))
    except (StopIteration, csv.Error) as exc:
        raise InputError(src.name, 1, f"not csvlog: {exc}") from None
    return len(row)


def _from_csv(raw: pl.DataFrame, src: Source, tz: str | None) -> pl.DataFrame:
    cols = raw.columns

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, pl.String)

    host = col("connection_from").str.replace(r":\d+$", "")
    frame = raw.select(
        pl.col("_line").alias("line"),
        pl.col("log_time").alias("stamp"),
        col("process_id").cast(pl.Int64, strict=False).alias("pid"),
        col("user_name").alias("user"),
        col("database_name").alias("database"),
        col("application_name").alias("application"),
        host.alias("client"),
        col("session_id").alias("session"),
        col("sql_state_code").alias("sqlstate"),
        col("query_id").cast(pl.Int64, strict=False).alias("query_id"),
        col("error_severity").alias("level"),
        _with_position(col("message"), col("query_pos")),
        col("detail"),
        col("hint"),
        col("context"),
        pl.coalesce(col("query"), col("internal_query")).alias("statement"),
    )
    return _finish(frame, src, tz)


def iter_json_entries(src: Source, *, tz: str | None = None) -> Iterator[pl.DataFrame]:
    """Entries of a jsonlog file, one frame per batch of lines."""
    if src.is_blank():
        return
    line_no = 1
    carry = b""
    for chunk in src.chunks(32 << 20):
        data = carry + chunk
        nl = data.rfind(b"\n")
        whole, carry = (data[: nl + 1], data[nl + 1 :]) if nl >= 0 else (b"", data)
        frame = _json_block(whole, line_no, src, tz)
        line_no += whole.count(b"\n")
        if frame is not None:
            yield frame
    if carry.strip():
        frame = _json_block(carry, line_no, src, tz)
        if frame is not None:
            yield frame


def _json_block(data: bytes, first: int, src: Source, tz: str | None) -> pl.DataFrame | None:
    """Entries of whole jsonlog lines; fields of a wrong type are bad lines."""
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body, kept = _json_lines(lines, first, src)
    if not kept:
        return None
    text = dict.fromkeys(_JSON_FIELDS, pl.String)
    try:
        raw = pl.read_ndjson(io.BytesIO(body), schema=text, ignore_errors=True)
    except pl.exceptions.PolarsError as exc:
        raise InputError(src.name, first, f"cannot read as jsonlog: {first_line(exc)}") from None
    raw = raw.with_columns(pl.Series("_line", kept, dtype=pl.Int64))
    numbers = [c for c, t in _JSON_FIELDS.items() if t == pl.Int64]
    cast = raw.with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in numbers)
    wrong = pl.select(
        pl.any_horizontal(
            cast.get_column(c).is_null() & raw.get_column(c).is_not_null() for c in numbers
        )
    ).to_series()
    if wrong.any():
        rows = cast.filter(wrong)
        for line in rows.get_column("_line").head(1 if src.bad.mode == "raise" else 3):
            src.bad.add(line, "a field of the wrong type (a number expected)")
        src.bad.more(rows.height - min(rows.height, 3))
        cast = cast.filter(~wrong)
    return _from_json(cast, src, tz)


def _json_lines(lines: list[bytes], first: int, src: Source) -> tuple[bytes, list[int]]:
    """The lines that are JSON objects (others go through ``src.bad``), and their numbers."""
    import json

    good: list[bytes] = []
    kept: list[int] = []
    for i, ln in enumerate(lines):
        stripped = ln.strip()
        if not stripped:
            continue
        n = first + i
        if stripped[:1] == b"{" and stripped[-1:] == b"}":
            good.append(stripped)
            kept.append(n)
            continue
        try:
            json.loads(stripped)
            reason = "not a JSON object"
        except UnicodeDecodeError:
            reason = NOT_UTF8
        except ValueError as err:
            reason = f"not valid JSON: {err}"
        src.bad.add(n, reason)
    # objects that look whole may still be bad JSON: check them only if polars refuses
    body = b"\n".join(good)
    try:
        pl.read_ndjson(io.BytesIO(body), schema={"message": pl.String})
    except pl.exceptions.PolarsError:
        body, kept = _strict_json(good, kept, src)
    return body, kept


def _strict_json(good: list[bytes], kept: list[int], src: Source) -> tuple[bytes, list[int]]:
    import json

    ok_lines: list[bytes] = []
    ok_numbers: list[int] = []
    for ln, n in zip(good, kept, strict=True):
        try:
            if isinstance(json.loads(ln), dict):
                ok_lines.append(ln)
                ok_numbers.append(n)
                continue
            reason = "not a JSON object"
        except UnicodeDecodeError:
            reason = NOT_UTF8
        except ValueError as err:
            reason = f"not valid JSON: {err}"
        src.bad.add(n, reason)
    return b"\n".join(ok_lines), ok_numbers


def _from_json(raw: pl.DataFrame, src: Source, tz: str | None) -> pl.DataFrame:
    frame = raw.select(
        pl.col("_line").alias("line"),
        pl.col("timestamp").alias("stamp"),
        pl.col("pid"),
        pl.col("user"),
        pl.col("dbname").alias("database"),
        pl.col("application_name").alias("application"),
        pl.col("remote_host").alias("client"),
        pl.col("session_id").alias("session"),
        pl.col("state_code").alias("sqlstate"),
        pl.col("query_id"),
        pl.col("error_severity").alias("level"),
        _with_position(pl.col("message"), pl.col("cursor_position").cast(pl.String)),
        pl.col("detail"),
        pl.col("hint"),
        pl.col("context"),
        pl.coalesce("statement", "internal_query").alias("statement"),
    )
    return _finish(frame, src, tz)


def _with_position(message: pl.Expr, position: pl.Expr) -> pl.Expr:
    """The message as the stderr log writes it: with ``at character N`` appended."""
    return (
        pl.when(position.is_not_null() & (position != ""))
        .then(pl.concat_str([message, pl.lit(" at character "), position]))
        .otherwise(message)
    )


def _finish(frame: pl.DataFrame, src: Source, tz: str | None) -> pl.DataFrame:
    """Drop records without a severity or message (bad), parse times, cast to ENTRY."""
    bad = frame.get_column("level").is_null() | frame.get_column("message").is_null()
    if bad.any():
        rows = frame.filter(bad)
        for line in rows.get_column("line").head(1 if src.bad.mode == "raise" else 3):
            src.bad.add(line, "a record without error_severity or message")
        src.bad.more(rows.height - min(rows.height, 3))
        frame = frame.filter(~bad)
    stamps = parse_stamps(frame.get_column("stamp"), src, tz)
    empty = ["", "[unknown]"]
    return (
        frame.with_columns(
            stamps.alias("timestamp"),
            *(
                pl.when(pl.col(c).is_in(empty)).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("user", "database", "application", "client")
            ),
            pl.col("level").str.replace(r"^DEBUG\d$", "DEBUG"),
            pl.when(pl.col("query_id") == 0)
            .then(None)
            .otherwise(pl.col("query_id"))
            .alias("query_id"),
        )
        .select(list(ENTRY))
        .cast(ENTRY)
    )

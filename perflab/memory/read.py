"""Read memory evidence: Node.js GC traces, ``process.memoryUsage()`` samples, tables.

==============================  =================================  ===================
file                            reader                             frame
==============================  =================================  ===================
``node --trace-gc`` stdout      :func:`read_trace_gc`              ``GC_EVENTS``
``node --trace-gc-nvp`` stdout  :func:`read_trace_gc`              ``GC_EVENTS``
``process.memoryUsage()`` as    :func:`read_memory_usage`          ``SAMPLES``
JSON lines
CSV / Parquet, long or wide     :func:`read_samples`               ``SAMPLES``
==============================  =================================  ===================

Every reader takes gzip files as they are (``trace.log.gz``), a UTF-8 BOM and CRLF
line ends. A bad line raises :class:`~perflab.errors.InputError` naming the file and
its 1-based line (``errors="raise"``), or is skipped and counted in one
:class:`~perflab.errors.InputWarning` (``errors="skip"``). A file of zero bytes gives
an empty frame quietly; a file with content but no sample gives an empty frame and a
warning saying why.

Next.js's ``.next/trace`` (spans as JSON lines) is not read: which spans carry memory
tags differs between Next.js versions and could not be checked against a real capture
here.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from perflab.errors import ErrorMode, InputError
from perflab.memory import _tracegc
from perflab.memory.schema import GC_EVENTS, SAMPLES
from perflab.sources import (
    PathLike,
    Source,
    Where,
    drop_bad,
    drop_blank_rows,
    load_csv,
    load_ndjson,
    no_line,
    parse_numbers,
    read_lines,
)
from perflab.times import At, check_zone_mix, instant, parse_times

__all__ = ["read_memory_usage", "read_node", "read_samples", "read_trace_gc"]

_TIME_NAMES = ("timestamp", "time", "ts")
_USAGE = {
    "rss": "rss",
    "heapTotal": "heap_total",
    "heapUsed": "heap_used",
    "external": "external",
    "arrayBuffers": "array_buffers",
    "heap_total": "heap_total",
    "heap_used": "heap_used",
    "array_buffers": "array_buffers",
}
_RING = b"<--- Last few GCs --->"
_RING_END = "<--- JS stacktrace --->"


# ---------------------------------------------------------------------------------------
# --trace-gc


def read_trace_gc(
    path: PathLike, *, start: At | None = None, errors: ErrorMode = "raise"
) -> pl.DataFrame:
    """Read Node.js ``--trace-gc`` (or ``--trace-gc-nvp``) output into ``GC_EVENTS``.

    The file is what the process wrote to stdout: V8's lines mixed with the program's
    own output. Lines that are not V8's are skipped silently, and so is other V8 trace
    output (``--trace-gc-verbose``'s) and the "Last few GCs" that V8 repeats when it
    runs out of memory. Each line is read as ``--trace-gc`` or ``--trace-gc-nvp`` on
    its own (see :mod:`perflab.memory._tracegc` for every shape, Node 0.x to V8 13).

    Sizes are MB as V8 prints them (MiB, to 0.1) turned into bytes: ``before_bytes`` the
    first number, ``after_bytes`` the one after the arrow, ``committed_bytes`` the one in
    brackets after the arrow. ``pause_ms`` is the first pause number, ``reason`` the GC
    reason (the text before ``;``), ``mutator_util`` V8's *current mu*. ``--trace-gc-nvp``
    gives ``pause``, ``gc``, ``reduce_memory`` and ``total_size_before/after`` (newer
    V8's JSON: ``start/end_object_size``, ``end_memory_size``, ``reason``); its other
    columns are null.

    Parameters
    ----------
    path : str or PathLike
        The log, possibly gzip.
    start : datetime, str or number, optional
        When the process started (its isolate): ``timestamp`` is ``start`` plus
        ``elapsed_s``. Without it ``timestamp`` is null — the log has no wall time.
    errors : {"raise", "skip"}
        What to do with a line that starts like a trace-gc line but is cut short or
        malformed.

    Returns
    -------
    pl.DataFrame
        ``GC_EVENTS`` with ``pid``, in file order.

    Raises
    ------
    InputError
        A cut or malformed GC line (file and line) with ``errors="raise"``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "gc.log"
    >>> _ = p.write_text("listening on :3000\\n[7:0x5a1b2c0]  45 ms: Scavenge 2.3 (3.0) -> "
    ...     "1.9 (4.0) MB, 0.85 / 0.00 ms  (average mu = 1.000, current mu = 1.000) "
    ...     "allocation failure;\\n")
    >>> read_trace_gc(p).select("elapsed_s", "kind", "pause_ms", "reason").row(0)
    (0.045, 'scavenge', 0.85, 'allocation failure')
    """
    at = instant(start, what="start") if start is not None else None
    src = Source(path, errors)
    parts: list[pl.DataFrame] = []
    in_ring = False
    for first, lines, last in read_lines(src, 8 << 20):
        if in_ring or lines.str.contains(_RING.decode(), literal=True).any():
            lines, in_ring = _drop_ring(lines, in_ring)
        rows, bad, count = _tracegc.parse_block(lines, first, last)
        for line, why in bad:
            src.bad.add(line, why)
        src.bad.more(count - len(bad))
        parts.append(rows)
    frame = (
        pl.concat(parts, how="vertical_relaxed")
        if parts
        else pl.DataFrame(schema=_tracegc._COLUMNS)
    )
    if at is not None:
        ts = pl.lit(at).dt.cast_time_unit("us") + pl.duration(
            microseconds=(pl.col("elapsed_s") * 1e6).round(0).cast(pl.Int64)
        )
    else:
        ts = pl.lit(None, pl.Datetime("us", "UTC"))
    frame = frame.with_columns(
        ts.alias("timestamp"),
        pl.lit(None, pl.Int64).alias("collected"),
        pl.lit(None, pl.Int64).alias("uncollectable"),
    ).select(*GC_EVENTS.columns, "pid")
    return src.finish(GC_EVENTS.validate(frame), "no --trace-gc line in the file", what="GC events")


def _drop_ring(lines: pl.Series, inside: bool) -> tuple[pl.Series, bool]:
    """Blank out V8's "Last few GCs" (printed on OOM: repeats, cut at 256 bytes)."""
    text = lines.to_list()
    for i, ln in enumerate(text):
        if ln is None:
            continue
        if inside:
            if ln.startswith(_RING_END):
                inside = False
            text[i] = ""
        elif ln.startswith(_RING.decode()):
            inside = True
            text[i] = ""
    return pl.Series(lines.name, text, dtype=pl.String), inside


# ---------------------------------------------------------------------------------------
# process.memoryUsage()


def read_memory_usage(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read ``process.memoryUsage()`` samples (JSON lines) into ``SAMPLES``.

    One JSON object per line: ``rss``, ``heapTotal``, ``heapUsed``, ``external`` and
    ``arrayBuffers`` in bytes (as Node.js returns them; snake_case names are taken too)
    become the series ``rss``, ``heap_total``, ``heap_used``, ``external`` and
    ``array_buffers``; a field a line lacks (Node < 13.9 has no ``arrayBuffers``) is
    no sample. The time is one field named ``time``, ``timestamp`` or ``ts``: epoch
    numbers read by magnitude (so ``Date.now()`` milliseconds and seconds both work) or
    ISO-8601 strings (naive ones are UTC). A ``pid`` field, when present, is kept.
    Other fields are ignored. A script that writes one::

        setInterval(() => fs.appendFileSync("mem.jsonl",
            JSON.stringify({ time: Date.now(), ...process.memoryUsage() }) + "\\n"), 100);

    Parameters
    ----------
    path : str or PathLike
        The JSON lines, possibly gzip.
    errors : {"raise", "skip"}
        A line that is not a JSON object, has no readable time, no memory field or a
        value that is not a number.

    Returns
    -------
    pl.DataFrame
        ``SAMPLES`` (with ``pid`` when the file has it), sorted by time then series.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.jsonl"
    >>> _ = p.write_text('{"time": 1700000000000, "rss": 50000000, "heapUsed": 9000000}\\n')
    >>> read_memory_usage(p)["series"].to_list()
    ['heap_used', 'rss']
    """
    src = Source(path, errors)
    raw, where = load_ndjson(src)
    if raw.width == 0 or raw.height == 0:
        return src.finish(SAMPLES.empty(), "no JSON object in the file")
    time_col = _time_column(raw, src)
    fields = [f for f in _USAGE if f in raw.columns]
    if time_col is None:
        src.bad.add(where(0), "no time field (expected one of 'time', 'timestamp', 'ts')")
        return src.finish(SAMPLES.empty(), "no time field")
    if not fields:
        src.bad.add(where(0), "no process.memoryUsage() field (rss, heapTotal, heapUsed…)")
        return src.finish(SAMPLES.empty(), "no memory field")
    raw = raw.with_row_index("_row")
    ts, kind = parse_times(raw[time_col], what=time_col)
    check_zone_mix(kind, raw[time_col], src.name, where)
    values = {f: parse_numbers(raw[f], what=src.name) for f in fields}
    frame = pl.DataFrame({"_row": raw["_row"], "timestamp": ts, **values})
    if "pid" in raw.columns:
        frame = frame.with_columns(pid=raw["pid"].cast(pl.Int64, strict=False))
    bad_value = pl.any_horizontal(
        [values[f].is_null() & raw[f].is_not_null() for f in fields]
        + [values[f].is_nan() | values[f].is_infinite() for f in fields]
    )
    all_missing = pl.all_horizontal([raw[f].is_null() for f in fields])

    def why(i: int) -> str:
        row = raw.row(i, named=True)
        if ts[i] is None:
            return f"unreadable time {row[time_col]!r}" if row[time_col] else "no time"
        if all(row[f] is None for f in fields):
            return "no process.memoryUsage() field"
        bad = next(f for f in fields if row[f] is not None and not _finite(row[f]))
        return f"{bad!r} is not a number: {row[bad]!r}"

    mask = pl.select(ts.is_null() | bad_value | all_missing).to_series()
    frame = drop_bad(frame, mask, src.bad, where, why)
    ids = ["timestamp", "pid"] if "pid" in frame.columns else ["timestamp"]
    long = (
        frame.unpivot(index=["_row", *ids], on=fields, variable_name="field", value_name="value")
        .drop_nulls("value")
        .with_columns(series=pl.col("field").replace_strict(_USAGE, return_dtype=pl.String))
        .sort("_row", "series", maintain_order=True)
        .unique(["_row", "series"], keep="first", maintain_order=True)
        .select("timestamp", "series", "value", *ids[1:])
        .sort("timestamp", "series", maintain_order=True)
    )
    return src.finish(SAMPLES.validate(long), "no sample in the file")


def _finite(text: str) -> bool:
    try:
        x = float(text)
    except ValueError:
        return False
    return x == x and abs(x) != float("inf")


def _time_column(raw: pl.DataFrame, src: Source) -> str | None:
    found = [c for c in _TIME_NAMES if c in raw.columns]
    if len(found) > 1:
        raise InputError(
            src.name, None, f"several time fields {found}: keep one of 'time', 'timestamp', 'ts'"
        )
    return found[0] if found else None


# ---------------------------------------------------------------------------------------
# generic tables


def read_samples(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read memory samples from CSV (``.csv``, ``.tsv``) or Parquet into ``SAMPLES``.

    Long form: columns ``timestamp``, ``series`` and ``value`` (one row per
    measurement), plus ``pid`` and ``source`` when present. Wide form (no ``series``
    column): ``timestamp`` and one column per series (``rss``, ``heap_used``…), each
    non-empty cell one sample; ``pid`` and ``source`` columns are kept, not series.
    The time column may be called ``timestamp``, ``time`` or ``ts``; times are
    ISO-8601 (naive is UTC) or epoch numbers read by magnitude (s/ms/µs/ns). Values are
    bytes for sizes, counts otherwise, as :data:`~perflab.memory.SAMPLES` says.

    Parameters
    ----------
    path : str or PathLike
        The file, possibly gzip.
    errors : {"raise", "skip"}
        A row with an unreadable time, a value that is not a finite number, or (long
        form) no series.

    Returns
    -------
    pl.DataFrame
        ``SAMPLES``, sorted by time then series.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text("time,rss,heap_used\\n2024-05-01T10:00:00Z,5e7,9e6\\n")
    >>> read_samples(p).select("series", "value").rows()
    [('heap_used', 9000000.0), ('rss', 50000000.0)]
    """
    src = Source(path, errors)
    raw: pl.DataFrame
    where: Where
    if src.suffix == ".parquet":
        try:
            raw = pl.read_parquet(src.handle())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(src.name, None, f"cannot read as Parquet: {exc}") from None
        where = no_line
    elif src.suffix in (".csv", ".tsv", ".txt"):
        if src.is_blank():
            return src.finish(SAMPLES.empty(), "empty")
        raw, where = load_csv(src, "\t" if src.suffix == ".tsv" else ",")
        raw, where = drop_blank_rows(raw, where)
    else:
        raise InputError(
            src.name,
            None,
            f"unknown format {src.suffix or '(none)'!r}: expected .csv, .tsv or .parquet",
        )
    dup = {c for c in raw.columns if raw.columns.count(c) > 1}
    if dup:
        raise InputError(src.name, 1, f"column(s) named twice: {sorted(dup)}")
    time_col = _time_column(raw, src)
    if time_col is None:
        raise InputError(
            src.name,
            1 if where is not no_line else None,
            f"no time column (expected 'timestamp', 'time' or 'ts'); columns: {raw.columns}",
        )
    if raw.height == 0:
        return src.finish(SAMPLES.empty(), "a header without rows")
    ts, kind = parse_times(raw[time_col], what=time_col)
    check_zone_mix(kind, raw[time_col], src.name, where)
    keep = [c for c in ("pid", "source") if c in raw.columns]
    extra = [
        (
            pl.Series("pid", raw["pid"]).cast(pl.Int64, strict=False)
            if c == "pid"
            else raw[c].cast(pl.String)
        )
        for c in keep
    ]
    if "series" in raw.columns or "value" in raw.columns:
        missing = [c for c in ("series", "value") if c not in raw.columns]
        if missing:
            raise InputError(
                src.name,
                1 if where is not no_line else None,
                f"long form needs columns 'series' and 'value'; missing {missing}",
            )
        value = parse_numbers(raw["value"], what=src.name)
        series = raw["series"].cast(pl.String)
        frame = pl.DataFrame([ts, series.alias("series"), value.alias("value"), *extra])
        mask = pl.select(
            ts.is_null()
            | series.is_null()
            | (series.str.strip_chars() == "")
            | value.is_null()
            | value.is_nan()
            | value.is_infinite()
        ).to_series()

        def why(i: int) -> str:
            if ts[i] is None:
                return f"unreadable time {raw[time_col][i]!r}"
            if series[i] is None or not str(series[i]).strip():
                return "no series"
            return f"value is not a finite number: {raw['value'][i]!r}"

        frame = drop_bad(frame, mask, src.bad, where, why)
        out = frame.sort("timestamp", "series", maintain_order=True)
        return src.finish(SAMPLES.validate(out), "no sample in the file")
    columns = [c for c in raw.columns if c != time_col and c not in keep]
    if not columns:
        raise InputError(
            src.name,
            1 if where is not no_line else None,
            "no series column next to the time (wide form: one column per series)",
        )
    values = {c: parse_numbers(raw[c], what=src.name) for c in columns}
    bad_cell = pl.any_horizontal(
        [
            (values[c].is_null() & _present(raw[c])) | values[c].is_nan() | values[c].is_infinite()
            for c in columns
        ]
    )
    mask = pl.select(ts.is_null() | bad_cell).to_series()

    def why_wide(i: int) -> str:
        if ts[i] is None:
            return f"unreadable time {raw[time_col][i]!r}"
        col = next(
            c
            for c in columns
            if _present(raw[c][i : i + 1]).item()
            and (values[c][i] is None or not _finite(str(values[c][i])))
        )
        return f"column {col!r} is not a finite number: {raw[col][i]!r}"

    frame = pl.DataFrame([ts, *values.values(), *extra])
    frame = drop_bad(frame, mask, src.bad, where, why_wide)
    out = (
        frame.unpivot(
            index=["timestamp", *keep], on=columns, variable_name="series", value_name="value"
        )
        .drop_nulls("value")
        .sort("timestamp", "series", maintain_order=True)
        .select("timestamp", "series", "value", *keep)
    )
    return src.finish(SAMPLES.validate(out), "no sample in the file")


def _present(raw: pl.Series) -> pl.Series:
    """True where a cell holds something (not null, not blank text)."""
    if raw.dtype == pl.String:
        return raw.is_not_null() & (raw.str.strip_chars() != "")
    return raw.is_not_null()


def read_node(
    usage_path: PathLike,
    trace_gc_path: PathLike | None = None,
    *,
    source: str | None = None,
    errors: ErrorMode = "raise",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One Node.js process's evidence: its ``memoryUsage()`` samples and ``--trace-gc`` log.

    The trace's clock (milliseconds since the isolate started) is anchored at the
    first sample, so the collections line up with the samples on one time axis (a
    little late: the first sample comes after the script's modules loaded).

    Parameters
    ----------
    usage_path : path
        ``process.memoryUsage()`` JSON lines (:func:`read_memory_usage`).
    trace_gc_path : path, optional
        The same process's ``--trace-gc`` or ``--trace-gc-nvp`` output
        (:func:`read_trace_gc`); None: no GC events.
    source : str, optional
        The ``source`` column of both frames; default the usage file's name up to its
        first dot (``leak`` for ``leak.memory.jsonl.gz``).
    errors : {"raise", "skip"}
        Passed to both readers.

    Returns
    -------
    (polars.DataFrame, polars.DataFrame)
        :data:`~perflab.memory.schema.SAMPLES` and
        :data:`~perflab.memory.schema.GC_EVENTS`, each with ``source``.

    Examples
    --------
    >>> samples, events = read_node("data/sample/memory/leak.memory.jsonl.gz",
    ...                             "data/sample/memory/leak.trace-gc.log.gz")
    >>> samples["source"].unique().to_list(), events["timestamp"].null_count()
    (['leak'], 0)
    """
    from pathlib import Path

    name = source if source is not None else Path(usage_path).name.split(".")[0]
    tag = pl.lit(name, pl.String).alias("source")
    samples = read_memory_usage(usage_path, errors=errors).with_columns(tag)
    if trace_gc_path is None:
        return samples, GC_EVENTS.empty().with_columns(tag)
    start = samples["timestamp"].min() if samples.height else None
    anchor = start if isinstance(start, datetime) else None
    events = read_trace_gc(trace_gc_path, start=anchor, errors=errors).with_columns(tag)
    return samples, events

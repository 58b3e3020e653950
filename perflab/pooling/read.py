"""Readers for what connection pools in the wild expose.

* :func:`read_acquires` — acquire events (:data:`~perflab.pooling.schema.ACQUIRES`) saved
  as JSON lines, CSV or Parquet (``InstrumentedPool.events().write_ndjson()``), gzip or not.
* :func:`read_pool_stats` — psycopg_pool ``get_stats()`` snapshots logged as JSON lines,
  one object per line with a time key (``time``, ``timestamp`` or ``ts``: epoch seconds
  or ISO 8601) and optionally ``pool``. psycopg_pool leaves a counter out until it is
  non-zero: a missing counter reads 0.
* :func:`read_pgbouncer_pools` and :func:`read_pgbouncer_stats` — PgBouncer's ``SHOW
  POOLS`` / ``SHOW STATS`` as psql prints them: aligned (the default; under ``\\watch``
  each table follows a title line with the time, ``Thu Dec  3 23:16:22 2026 (every
  0.5s)``, in the client's time zone — ``tz=``), unaligned (``psql -A``, ``|``
  between fields) or CSV (``psql --csv``). Several tables may follow each other; each
  must end with psql's ``(N rows)`` footer (aligned and unaligned), and a table whose
  row count disagrees with its footer is a truncated capture.
* :func:`read_hikari` — HikariCP's metrics in the Prometheus text format, as Micrometer
  (Spring Boot's ``/actuator/prometheus``: ``hikaricp_connections_active``,
  ``…_idle``, ``…_pending``, ``…_timeout_total``, ``hikaricp_connections_acquire_seconds``
  …) or HikariCP's own ``PrometheusMetricsTracker`` (``hikaricp_active_connections``,
  ``hikaricp_connection_timeout_total``, ``hikaricp_connection_acquired_nanos`` …)
  write them; parsed by :func:`perflab.monitoring.read_prometheus`.
* :func:`read_sqlalchemy_events` — the JSON lines :func:`~perflab.pooling.listen_sqlalchemy`
  writes from SQLAlchemy's pool events, paired into acquires.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from perflab.errors import ErrorMode, InputError, warn_input
from perflab.frames import UTC_DATETIME
from perflab.pooling.schema import (
    ACQUIRES,
    HIKARI,
    PGBOUNCER_POOLS,
    PGBOUNCER_STATS,
    POOL_STATS,
    STAT_COUNTERS,
)
from perflab.sources import PathLike, Source, drop_bad, load_csv, load_ndjson, parse_numbers
from perflab.times import epoch_column_us, parse_times

__all__ = [
    "read_acquires",
    "read_hikari",
    "read_pgbouncer_pools",
    "read_pgbouncer_stats",
    "read_pool_stats",
    "read_sqlalchemy_events",
]


def _table(src: Source) -> tuple[pl.DataFrame, object]:
    if src.suffix in (".jsonl", ".ndjson", ".json"):
        return load_ndjson(src)
    if src.suffix == ".csv":
        return load_csv(src)
    if src.suffix == ".parquet":
        return pl.read_parquet(src.handle()).cast(pl.String), lambda i: None
    raise InputError(
        src.name, None, f"unknown file type {src.suffix!r}: expected .jsonl, .csv or .parquet"
    )


def _times(raw: pl.Series) -> pl.Series:
    nums = parse_numbers(raw) if raw.dtype == pl.String else None
    if nums is not None and nums.null_count() == raw.null_count():
        return epoch_column_us(nums).cast(UTC_DATETIME)
    ts, _ = parse_times(raw)
    return ts


def read_acquires(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Acquire events saved from :meth:`~perflab.pooling.InstrumentedPool.events`.

    Parameters
    ----------
    path : str or PathLike
        ``.jsonl``/``.ndjson``, ``.csv`` or ``.parquet``, gzip or not.
    errors : {"raise", "skip"}
        What to do with a row lacking a time, an outcome, or with a negative duration.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.pooling.schema.ACQUIRES` with the optional columns present.

    Raises
    ------
    InputError
        A missing column, an unreadable time or number, a negative duration, an
        unknown outcome (file and line named).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.jsonl"
    >>> _ = p.write_text('{"start": "2026-01-01T00:00:00Z", "wait_ms": 1.5, '
    ...                  '"hold_ms": 9.0, "outcome": "ok"}\\n')
    >>> read_acquires(p).select("wait_ms", "hold_ms", "outcome").row(0)
    (1.5, 9.0, 'ok')
    """
    src = Source(path, errors)
    if src.is_blank():
        return ACQUIRES.empty()
    raw, where = _table(src)
    if raw.is_empty():
        return src.finish(ACQUIRES.empty(), "no rows", what="acquires")
    missing = [c for c in ("start", "outcome") if c not in raw.columns]
    if missing:
        raise InputError(src.name, None, f"missing column(s) {missing}; expected {ACQUIRES.names}")
    loc = where if callable(where) else (lambda i: None)
    cols = {
        "start": _times(raw["start"]),
        "wait_ms": parse_numbers(raw["wait_ms"])
        if "wait_ms" in raw.columns
        else pl.Series([None] * raw.height, dtype=pl.Float64),
        "hold_ms": parse_numbers(raw["hold_ms"])
        if "hold_ms" in raw.columns
        else pl.Series([None] * raw.height, dtype=pl.Float64),
        "outcome": raw["outcome"],
    }
    df = pl.DataFrame(cols)
    for opt in ("pool", "error"):
        if opt in raw.columns:
            df = df.with_columns(raw[opt].alias(opt))
    for opt in ("size", "in_use", "waiting"):
        if opt in raw.columns:
            df = df.with_columns(parse_numbers(raw[opt]).cast(pl.Int64).alias(opt))
    bad_time = df["start"].is_null()
    bad_num = pl.Series([False] * df.height)
    for c in ("wait_ms", "hold_ms"):
        if c in raw.columns:
            bad_num = (
                bad_num
                | (df[c].is_null() & raw[c].is_not_null())
                | (df[c] < 0).fill_null(False)
                | ~df[c].is_finite().fill_null(True)
            )
    bad_out = ~df["outcome"].is_in(["ok", "timeout", "rejected", "error"]).fill_null(False)

    def why(i: int) -> str:
        if bad_time[i]:
            return f"start {raw['start'][i]!r} is not a time"
        if bad_out[i]:
            return f"outcome {raw['outcome'][i]!r} is not ok, timeout, rejected or error"
        return "wait_ms and hold_ms must be finite, non-negative numbers"

    df = drop_bad(df, bad_time | bad_num | bad_out, src.bad, loc, why)
    return src.finish(ACQUIRES.validate(df), "no acquires", what="acquires")


def read_pool_stats(
    path: PathLike, *, errors: ErrorMode = "raise", pool: str | None = None
) -> pl.DataFrame:
    """psycopg_pool ``get_stats()`` snapshots logged as JSON lines.

    Parameters
    ----------
    path : str or PathLike
        One JSON object per line: ``get_stats()``'s keys plus a time (``time``,
        ``timestamp`` or ``ts``; epoch seconds or ISO 8601) and optionally ``pool``.
    errors : {"raise", "skip"}
        What to do with a line that has no readable time or a non-integer counter.
    pool : str, optional
        The pool's name where the lines have none (default: the file's stem).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.pooling.schema.POOL_STATS`, sorted by time.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.jsonl"
    >>> _ = p.write_text('{"time": 1767225600.5, "pool_size": 4, "requests_num": 7}\\n')
    >>> read_pool_stats(p).select("pool", "pool_size", "requests_num", "requests_errors").row(0)
    ('s', 4, 7, 0)
    """
    src = Source(path, errors)
    if src.is_blank():
        return POOL_STATS.empty()
    raw, where = load_ndjson(src)
    if raw.is_empty():
        return src.finish(POOL_STATS.empty(), "no snapshots", what="snapshots")
    key = next((k for k in ("time", "timestamp", "ts") if k in raw.columns), None)
    if key is None:
        raise InputError(src.name, where(0), "no time key: expected 'time', 'timestamp' or 'ts'")
    ts = _times(raw[key])
    name = pool or src.stem
    names = raw["pool"].fill_null(name) if "pool" in raw.columns else pl.Series([name] * raw.height)
    cols: dict[str, pl.Series] = {"timestamp": ts, "pool": names.cast(pl.String)}
    bad = ts.is_null()
    for k in STAT_COUNTERS:
        if k in raw.columns:
            v = parse_numbers(raw[k])
            bad = bad | (v.is_null() & raw[k].is_not_null()) | (v < 0).fill_null(False)
            cols[k] = v.fill_null(0).cast(pl.Int64, strict=False)
        else:
            cols[k] = pl.Series([0] * raw.height, dtype=pl.Int64)
    df = pl.DataFrame(cols)
    df = drop_bad(
        df, bad, src.bad, where, lambda i: "no readable time, or a counter that is not a count"
    )
    return src.finish(POOL_STATS.validate(df).sort("timestamp"), "no snapshots", what="snapshots")


# --------------------------------------------------------------------------- psql tables

_TITLE = re.compile(
    r"^\s*(?P<when>[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4})"
    r"(?: \(every [\d.]+s\))?\s*$"
)
_DASHES = re.compile(r"^-+(\+-+)*$")
_FOOTER = re.compile(r"^\((\d+) rows?\)$")


def _psql_blocks(
    src: Source, tz: str
) -> list[tuple[datetime | None, list[str], list[tuple[int, list[str]]]]]:
    """The tables of a psql capture: (time, header, [(line, fields)])."""
    text = src.text()
    lines = text.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    if src.suffix == ".csv" or ("," in first and "|" not in first):
        return _csv_blocks(src, text)
    zone = ZoneInfo(tz)
    blocks = []
    when: datetime | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _TITLE.match(line)
        if m:
            when = datetime.strptime(" ".join(m["when"].split()), "%a %b %d %H:%M:%S %Y").replace(
                tzinfo=zone
            )
            i += 1
            continue
        if not line.strip():
            i += 1
            continue
        if "|" not in line:
            src.bad.add(i + 1, "expected a psql table header (fields separated by '|')")
            i += 1
            continue
        aligned = i + 1 < len(lines) and bool(_DASHES.match(lines[i + 1].strip()))
        header = [h.strip() for h in line.split("|")]
        i += 2 if aligned else 1
        rows: list[tuple[int, list[str]]] = []
        footer = None
        while i < len(lines):
            ln = lines[i]
            f = _FOOTER.match(ln.strip())
            if f:
                footer = int(f.group(1))
                i += 1
                break
            if not ln.strip():
                break
            fields = [v.strip() for v in ln.split("|")] if aligned else ln.split("|")
            if len(fields) != len(header):
                src.bad.add(i + 1, f"{len(fields)} fields where the header has {len(header)}")
            else:
                rows.append((i + 1, fields))
            i += 1
        if footer is None:
            src.bad.add(i, "table without psql's '(N rows)' footer: the capture is cut short")
        elif footer != len(rows) and not src.bad.count:
            src.bad.add(i, f"the footer says {footer} row(s), the table has {len(rows)}: truncated")
        blocks.append((when, header, rows))
        when = None
    return blocks


def _csv_blocks(
    src: Source, text: str
) -> list[tuple[datetime | None, list[str], list[tuple[int, list[str]]]]]:
    blocks: list[tuple[datetime | None, list[str], list[tuple[int, list[str]]]]] = []
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text))
    for fields in reader:
        n = reader.line_num
        if not fields:
            continue
        if header is None or fields == header:
            if header is not None:
                blocks.append((None, header, rows))
            header, rows = fields, []
            continue
        if len(fields) != len(header):
            src.bad.add(n, f"{len(fields)} fields where the header has {len(header)}")
            continue
        rows.append((n, fields))
    if header is not None:
        blocks.append((None, header, rows))
    return blocks


def _pgbouncer(
    path: PathLike, errors: ErrorMode, tz: str, want: str
) -> tuple[Source, pl.DataFrame]:
    src = Source(path, errors)
    if src.is_blank():
        return src, pl.DataFrame()
    frames = []
    for when, header, rows in _psql_blocks(src, tz):
        if "database" not in header or want not in header:
            raise InputError(
                src.name,
                None,
                f"not PgBouncer's SHOW {'POOLS' if want == 'cl_waiting' else 'STATS'}: "
                f"columns {header}",
            )
        data = {h: [r[1][k] for r in rows] for k, h in enumerate(header)}
        frame = pl.DataFrame(data, schema=dict.fromkeys(header, pl.String))
        frame = frame.with_columns(
            pl.lit(when, UTC_DATETIME).alias("captured_at"),
            pl.Series("_line", [r[0] for r in rows], dtype=pl.Int64),
        )
        frames.append(frame)
    df = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    return src, df


def _counts(src: Source, df: pl.DataFrame, skip: set[str]) -> pl.DataFrame:
    """Cast every column but ``skip`` to i64, reporting the first unreadable value."""
    casts = {}
    bad = pl.Series([False] * df.height)
    for c in df.columns:
        if c in skip or c.startswith("_") or c == "captured_at":
            continue
        v = df[c].str.strip_chars().cast(pl.Int64, strict=False)
        bad = bad | (v.is_null() & df[c].is_not_null())
        casts[c] = v
    df = df.with_columns(**casts)
    lines = df["_line"]
    return drop_bad(
        df, bad, src.bad, lambda i: int(lines[i]), lambda i: "a count that is not an integer"
    )


def read_pgbouncer_pools(
    path: PathLike, *, errors: ErrorMode = "raise", tz: str = "UTC"
) -> pl.DataFrame:
    """PgBouncer's ``SHOW POOLS`` captured with psql (aligned, ``-A`` or ``--csv``).

    Parameters
    ----------
    path : str or PathLike
        The capture; several tables (``\\watch``) may follow each other.
    errors : {"raise", "skip"}
        What to do with a row of the wrong width, a non-integer count, a table cut short.
    tz : str
        Time zone of psql's ``\\watch`` titles (the client's local time).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.pooling.schema.PGBOUNCER_POOLS` (with the version's other
        columns kept), in capture order.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pools.csv"
    >>> _ = p.write_text("database,user,cl_active,cl_waiting,sv_active,sv_idle,sv_used,"
    ...     "sv_tested,sv_login,maxwait,maxwait_us,pool_mode\\n"
    ...     "test,app,4,8,4,0,0,0,0,1,250000,transaction\\n")
    >>> read_pgbouncer_pools(p).select("cl_waiting", "maxwait_s").row(0)
    (8, 1.25)
    """
    src, df = _pgbouncer(path, errors, tz, "cl_waiting")
    if df.is_empty():
        return src.finish(PGBOUNCER_POOLS.empty(), "no pools", what="pools")
    df = _counts(src, df, {"database", "user", "pool_mode", "load_balance_hosts"})
    wait = (
        pl.col("maxwait").cast(pl.Float64) if "maxwait" in df.columns else pl.lit(None, pl.Float64)
    )
    if "maxwait_us" in df.columns:
        wait = wait + pl.col("maxwait_us").cast(pl.Float64) / 1e6
    df = df.with_columns(wait.alias("maxwait_s"))
    for c in PGBOUNCER_POOLS.names:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, PGBOUNCER_POOLS.columns[c]).alias(c))
    out = PGBOUNCER_POOLS.validate(df.drop("_line"))
    rest = [c for c in out.columns if c not in PGBOUNCER_POOLS.names]
    return src.finish(out.select(*PGBOUNCER_POOLS.names, *rest), "no pools", what="pools")


def read_pgbouncer_stats(
    path: PathLike, *, errors: ErrorMode = "raise", tz: str = "UTC"
) -> pl.DataFrame:
    """PgBouncer's ``SHOW STATS`` captured with psql (aligned, ``-A`` or ``--csv``).

    PgBouncer's ``*_time`` columns are microseconds and come out as ``*_time_us``.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.pooling.schema.PGBOUNCER_STATS` (other columns kept).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "stats.txt"
    >>> _ = p.write_text("database|total_xact_count|total_wait_time|avg_wait_time\\n"
    ...                  "test|1920|77529494|7862700\\n(1 row)\\n")
    >>> read_pgbouncer_stats(p).select("database", "total_wait_time_us").row(0)
    ('test', 77529494)
    """
    src, df = _pgbouncer(path, errors, tz, "total_xact_count")
    if df.is_empty():
        return src.finish(PGBOUNCER_STATS.empty(), "no databases", what="stats")
    df = _counts(src, df, {"database"})
    df = df.rename({c: f"{c}_us" for c in df.columns if c.endswith("_time")})
    for c in PGBOUNCER_STATS.names:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, PGBOUNCER_STATS.columns[c]).alias(c))
    out = PGBOUNCER_STATS.validate(df.drop("_line"))
    rest = [c for c in out.columns if c not in PGBOUNCER_STATS.names]
    return src.finish(out.select(*PGBOUNCER_STATS.names, *rest), "no databases", what="stats")


# --------------------------------------------------------------------------- HikariCP

_HIKARI = {
    # Micrometer (Spring Boot)
    "hikaricp_connections_active": "active",
    "hikaricp_connections_idle": "idle",
    "hikaricp_connections_pending": "pending",
    "hikaricp_connections": "total",
    "hikaricp_connections_max": "max",
    "hikaricp_connections_min": "min",
    "hikaricp_connections_timeout_total": "timeouts",
    "hikaricp_connections_acquire_seconds_count": "acquire_count",
    "hikaricp_connections_acquire_seconds_sum": "acquire_sum_s",
    "hikaricp_connections_acquire_seconds_max": "acquire_max_s",
    "hikaricp_connections_usage_seconds_count": "usage_count",
    "hikaricp_connections_usage_seconds_sum": "usage_sum_s",
    "hikaricp_connections_usage_seconds_max": "usage_max_s",
    "hikaricp_connections_creation_seconds_count": "creation_count",
    "hikaricp_connections_creation_seconds_sum": "creation_sum_s",
    "hikaricp_connections_creation_seconds_max": "creation_max_s",
    # HikariCP's own PrometheusMetricsTracker
    "hikaricp_active_connections": "active",
    "hikaricp_idle_connections": "idle",
    "hikaricp_pending_threads": "pending",
    "hikaricp_max_connections": "max",
    "hikaricp_min_connections": "min",
    "hikaricp_connection_timeout_total": "timeouts",
    "hikaricp_connection_acquired_nanos_count": "acquire_count",
    "hikaricp_connection_acquired_nanos_sum": "acquire_sum_s",
    "hikaricp_connection_usage_millis_count": "usage_count",
    "hikaricp_connection_usage_millis_sum": "usage_sum_s",
    "hikaricp_connection_creation_millis_count": "creation_count",
    "hikaricp_connection_creation_millis_sum": "creation_sum_s",
}
_SCALE = {
    "hikaricp_connection_acquired_nanos_sum": 1e-9,
    "hikaricp_connection_usage_millis_sum": 1e-3,
    "hikaricp_connection_creation_millis_sum": 1e-3,
}


def read_hikari(path: PathLike, *, errors: ErrorMode = "raise", at: object = None) -> pl.DataFrame:
    """HikariCP pool metrics from a Prometheus text scrape, one row per pool and scrape.

    Parameters
    ----------
    path : str or PathLike
        A scrape (``curl …/actuator/prometheus > scrape.prom``), or several appended.
    errors : {"raise", "skip"}
        Passed to :func:`perflab.monitoring.read_prometheus`.
    at : datetime, str or float, optional
        Time of samples without a timestamp (default: the file's modification time).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.pooling.schema.HIKARI`; times are seconds (HikariCP's own
        tracker's nanoseconds and milliseconds are converted).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.prom"
    >>> _ = p.write_text('hikaricp_connections_active{pool="HikariPool-1",} 3.0\\n'
    ...                  'hikaricp_connections_pending{pool="HikariPool-1",} 2.0\\n')
    >>> read_hikari(p, at=0).select("pool", "active", "pending").row(0)
    ('HikariPool-1', 3.0, 2.0)
    """
    from perflab.monitoring import read_prometheus

    samples = read_prometheus(path, errors=errors, at=at)  # type: ignore[arg-type]
    if samples.is_empty():
        return HIKARI.empty()
    df = samples.filter(pl.col("name").is_in(list(_HIKARI)))
    if "pool" in df.columns:
        df = df.filter(pl.col("pool").is_not_null())
    if df.is_empty() or "pool" not in df.columns:
        # a scrape of something else (the wrong endpoint, metrics not enabled): say so
        warn_input(
            str(path),
            f"no HikariCP pool: {samples.height} sample(s), none a hikaricp_* metric "
            "with a pool label",
        )
        return HIKARI.empty()
    df = df.with_columns(
        (pl.col("value") * pl.col("name").replace_strict(_SCALE, default=1.0)).alias("value"),
        pl.col("name").replace_strict(_HIKARI).alias("field"),
    )
    wide = df.pivot("field", index=["timestamp", "pool"], values="value", aggregate_function="sum")
    for c in HIKARI.names:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(c))
    return HIKARI.validate(wide).select(HIKARI.names).sort("timestamp", "pool")


# --------------------------------------------------------------------------- SQLAlchemy


def read_sqlalchemy_events(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Acquires from the JSON lines :func:`~perflab.pooling.listen_sqlalchemy` writes.

    Each ``checkout`` is paired with the next ``checkin`` of the same connection
    (``conn``) in the same pool: the hold. SQLAlchemy has no event before a checkout,
    so the acquire wait is unknown (``wait_ms`` null); a checkout that never came back
    before the file ends has a null hold. Other events (``connect``, ``close``,
    ``invalidate``, ``reset``…) are left out.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.pooling.schema.ACQUIRES` with ``pool``, ``size``
        (``pool.size()``) and ``in_use`` (``pool.checkedout()`` after the checkout).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sa.jsonl"
    >>> _ = p.write_text('{"ts": 1767225600.0, "event": "checkout", "pool": "db", "conn": 1, '
    ...     '"checked_out": 1, "size": 5, "overflow": -4}\\n'
    ...     '{"ts": 1767225600.25, "event": "checkin", "pool": "db", "conn": 1, '
    ...     '"checked_out": 0, "size": 5, "overflow": -4}\\n')
    >>> read_sqlalchemy_events(p).select("hold_ms", "in_use").row(0)
    (250.0, 1)
    """
    src = Source(path, errors)
    if src.is_blank():
        return ACQUIRES.empty()
    raw, where = load_ndjson(src)
    if raw.is_empty():
        return src.finish(ACQUIRES.empty(), "no events", what="events")
    missing = [c for c in ("ts", "event", "conn") if c not in raw.columns]
    if missing:
        raise InputError(
            src.name, where(0), f"missing key(s) {missing}: not listen_sqlalchemy's events"
        )
    ts = _times(raw["ts"])
    df = pl.DataFrame(
        {
            "ts": ts,
            "event": raw["event"],
            "pool": raw["pool"] if "pool" in raw.columns else pl.Series([src.stem] * raw.height),
            "conn": raw["conn"],
            "in_use": parse_numbers(raw["checked_out"]).cast(pl.Int64)
            if "checked_out" in raw.columns
            else pl.Series([None] * raw.height, dtype=pl.Int64),
            "size": parse_numbers(raw["size"]).cast(pl.Int64)
            if "size" in raw.columns
            else pl.Series([None] * raw.height, dtype=pl.Int64),
        }
    ).with_row_index("_row")
    df = drop_bad(df, df["ts"].is_null(), src.bad, where, lambda i: "ts is not a time")
    df = df.filter(pl.col("event").is_in(["checkout", "checkin"])).sort("_row")
    # the n-th checkin of a connection closes its n-th checkout
    df = df.with_columns(
        (pl.col("event") == "checkout").cast(pl.Int64).cum_sum().over("pool", "conn").alias("_n")
    )
    outs = df.filter(pl.col("event") == "checkout")
    ins = df.filter(pl.col("event") == "checkin").select(
        "pool", "conn", "_n", pl.col("ts").alias("_back")
    )
    pairs = outs.join(
        ins.unique(["pool", "conn", "_n"], keep="first"), on=["pool", "conn", "_n"], how="left"
    )
    neg = (pairs["_back"] < pairs["ts"]).fill_null(False)
    if neg.any():
        raise InputError(
            src.name, None, "a checkin before its checkout: the lines are out of order"
        )
    out = pairs.sort("_row").select(
        pl.col("ts").alias("start"),
        pl.lit(None, pl.Float64).alias("wait_ms"),
        ((pl.col("_back") - pl.col("ts")).dt.total_microseconds() / 1000.0).alias("hold_ms"),
        pl.lit("ok").alias("outcome"),
        pl.col("pool").cast(pl.String),
        pl.col("size"),
        pl.col("in_use"),
    )
    return src.finish(ACQUIRES.validate(out), "no checkouts", what="acquires")

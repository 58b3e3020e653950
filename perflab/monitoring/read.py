"""Read metric exports into the canonical ``METRICS`` frame.

Three families of evidence, one output (see :mod:`perflab.monitoring.schema`): ``name``,
``value`` (f64, finite), ``unit``, ``timestamp`` (datetime[μs, UTC]) and one String
column per tag key, in the order the source first shows them.

==========================  ===========================================================
file                        reader
==========================  ===========================================================
``.csv`` ``.tsv``           tabular (below)
``.parquet``                tabular
``.jsonl`` ``.ndjson``      tabular, or OTLP/JSON lines when the first line holds
                            ``resourceMetrics``
``.json``                   Prometheus HTTP API answer (``{"status": …, "data": …}``)
                            or OTLP/JSON (``{"resourceMetrics": […]}``), sniffed
``.prom`` ``.txt``          Prometheus text exposition format 0.0.4
==========================  ===========================================================

Tabular files
-------------
Columns ``name``, ``value``, ``unit``, ``timestamp`` are required (``unit`` may be absent
when ``unit=`` is given; ``unit=`` also fills empty cells). Every other column becomes a
String tag. Timestamps may be

* ISO-8601 strings with an offset (``Z``, ``+02:00``, ``+0200``), converted to UTC —
  rows may carry different offsets;
* ISO-8601 strings without an offset, **taken as UTC**. A column that mixes zoned and
  naive strings is ambiguous and raises :class:`~perflab.errors.InputError` in either
  ``errors`` mode (no single row is wrong on its own). ``T`` or a space may separate
  date and time; seconds and fractions are optional; a bare date means midnight UTC.
  Fractions finer than a microsecond are truncated;
* epoch numbers, each read by its magnitude: ``|x| < 1e11`` seconds, ``< 1e14``
  milliseconds, ``< 1e17`` microseconds, otherwise nanoseconds. Every instant from
  1973 to 5138 is unambiguous under this rule;
* native datetimes (Parquet): naive ones are UTC, zoned ones are converted; dates are
  midnight UTC.

A bad row (no name, a value that is not a number or is NaN/±inf, an unreadable
timestamp, no unit) raises :class:`~perflab.errors.InputError` naming the file and the
1-based line: for CSV the header is line 1 and each record one line (a quoted field
spanning lines shifts the count); for JSON lines it is the physical line; for Parquet
there is no line and the message says ``row N``. Blank lines are ignored. With
``errors="skip"`` bad rows are dropped and one :class:`~perflab.errors.InputWarning`
gives the count and the first examples. Checks are polars expressions over whole
columns; only the first few bad rows are ever formatted in Python.

Prometheus and OTLP
-------------------
See :func:`read_prometheus` and :func:`read_otlp`; the parsers live in ``_prom.py`` and
``_otlp.py``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from perflab.errors import BadLines, ErrorMode, InputError, SchemaError
from perflab.frames import UTC_DATETIME
from perflab.monitoring.schema import CORE_COLUMNS, METRICS

__all__ = ["read_metrics", "read_otlp", "read_prometheus"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
At = datetime | str | float | int | None

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TABULAR = {".csv", ".tsv", ".parquet", ".jsonl", ".ndjson"}
_TEXT = {".prom", ".txt"}

# (format, zoned) tried in order on the strings that earlier formats left unread.
_TIME_FORMATS: tuple[tuple[str, bool], ...] = (
    ("%Y-%m-%dT%H:%M:%S%.f%#z", True),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M:%S%.f%#z", True),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    ("%Y-%m-%dT%H:%M%#z", True),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d %H:%M%#z", True),
    ("%Y-%m-%d %H:%M", False),
    ("%Y-%m-%d", False),
)


# ---------------------------------------------------------------------------------------
# public API


def read_metrics(
    path: PathLike, *, errors: ErrorMode = "raise", unit: str | None = None
) -> pl.DataFrame:
    """Read any supported metric file into a ``METRICS`` frame, choosing by suffix.

    Parameters
    ----------
    path : str or PathLike
        A ``.csv``/``.tsv``/``.parquet``/``.jsonl``/``.ndjson`` table, a Prometheus
        ``.json`` API answer or ``.prom``/``.txt`` exposition, or an OTLP/JSON
        ``.json``/``.jsonl`` file (see the module docstring for the table).
    errors : {"raise", "skip"}
        ``"raise"``: the first bad row raises :class:`~perflab.errors.InputError` with
        the file and line. ``"skip"``: bad rows are dropped and one warning counts them.
    unit : str, optional
        Unit for samples whose source states none (an absent or empty ``unit`` column,
        a Prometheus name without a unit suffix, an OTLP metric with an empty unit).

    Returns
    -------
    polars.DataFrame
        ``name`` str, ``value`` f64, ``unit`` str, ``timestamp`` datetime[μs, UTC],
        then one String column per tag.

    Raises
    ------
    InputError
        Unknown suffix, unreadable file or, with ``errors="raise"``, a bad row.
    SchemaError
        A table lacks required columns.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text(
    ...     "name,value,unit,timestamp,route\\n"
    ...     "latency,12.5,ms,2024-05-01T10:00:00+02:00,/api\\n"
    ...     "latency,30,ms,2024-05-01T08:00:01Z,/cart\\n"
    ... )
    >>> read_metrics(p)
    shape: (2, 5)
    ┌─────────┬───────┬──────┬─────────────────────────┬───────┐
    │ name    ┆ value ┆ unit ┆ timestamp               ┆ route │
    │ ---     ┆ ---   ┆ ---  ┆ ---                     ┆ ---   │
    │ str     ┆ f64   ┆ str  ┆ datetime[μs, UTC]       ┆ str   │
    ╞═════════╪═══════╪══════╪═════════════════════════╪═══════╡
    │ latency ┆ 12.5  ┆ ms   ┆ 2024-05-01 08:00:00 UTC ┆ /api  │
    │ latency ┆ 30.0  ┆ ms   ┆ 2024-05-01 08:00:01 UTC ┆ /cart │
    └─────────┴───────┴──────┴─────────────────────────┴───────┘
    """
    p = Path(path)
    source = str(path)
    suffix = p.suffix.lower()
    if suffix not in _TABULAR | _TEXT | {".json"}:
        raise InputError(
            source,
            None,
            f"unknown file type {suffix!r}: expected .csv, .tsv, .parquet, .jsonl, "
            ".ndjson, .json, .prom or .txt",
        )
    _must_exist(p, source)
    if suffix in _TEXT:
        return read_prometheus(p, errors=errors, unit=unit)
    if suffix == ".json":
        if p.stat().st_size == 0:
            return _empty()
        head = _sniff_json(p, source)
        if head == "prometheus":
            return read_prometheus(p, errors=errors, unit=unit)
        return read_otlp(p, errors=errors, unit=unit)
    if suffix in (".jsonl", ".ndjson") and _first_line_is_otlp(p):
        return read_otlp(p, errors=errors, unit=unit)
    return _read_tabular(p, source, errors=errors, unit=unit)


def read_prometheus(
    path: PathLike,
    *,
    errors: ErrorMode = "raise",
    name: str | None = None,
    unit: str | None = None,
    at: At = None,
) -> pl.DataFrame:
    """Read a Prometheus HTTP API answer (JSON) or a text exposition scrape.

    **HTTP API JSON** — the body of ``/api/v1/query_range`` (``resultType`` matrix) or
    ``/api/v1/query`` (vector, scalar). Each series' labels become tags; the metric
    name is the ``__name__`` label, else ``name=``, else the file's stem (expressions
    such as ``rate()`` or ``histogram_quantile()`` drop ``__name__``). Sample times
    (float seconds) are rounded to the millisecond, Prometheus' resolution. An answer
    with ``"status": "error"`` raises :class:`~perflab.errors.InputError` carrying
    Prometheus' ``errorType`` and ``error`` in either mode.

    **Text exposition (0.0.4)** — as written by prometheus_client or node_exporter:
    ``# HELP``/``# TYPE`` lines, samples ``name{label="v",…} value [timestamp_ms]``,
    label escapes ``\\\\``, ``\\"`` and ``\\n``. Each sample keeps its own name
    (``…_bucket`` with an ``le`` tag, ``…_sum``, ``…_count``, summary samples with a
    ``quantile`` tag, ``…_created``). A sample without a timestamp gets ``at=`` (a
    datetime — naive means UTC —, an ISO string, or epoch seconds), or else the file's
    modification time: a scrape file is written when it is scraped.

    **Units** are inferred from the naming conventions: ``…_bucket``/``…_count`` are
    counts (``"1"``); ``…_created`` is epoch seconds (``"s"``); otherwise, after
    dropping ``_total``/``_sum``, a name ending ``_seconds`` is ``"s"``,
    ``_milliseconds`` ``"ms"``, ``_microseconds`` ``"us"``, ``_nanoseconds`` ``"ns"``,
    ``_bytes`` ``"bytes"`` (so ``node_cpu_seconds_total`` is in seconds and
    ``http_requests_total`` in ``"1"``). Any other name gets ``unit=`` or ``"1"``.

    **Special values** — ``"NaN"`` is what Prometheus returns for 0/0, e.g.
    ``histogram_quantile`` over a window without requests: such samples are gaps, not
    errors, and are dropped in both modes with one warning that counts them. ``+Inf``
    and ``-Inf`` cannot be stored (values must be finite): with ``errors="raise"``
    they raise, with ``"skip"`` they are dropped and counted.

    Labels named like a core column (``name``, ``value``, ``unit``, ``timestamp``) are
    renamed ``exported_<label>``, as Prometheus does for clashing target labels.

    Parameters
    ----------
    path : str or PathLike
        ``.json`` for the API, anything else for the text format.
    errors : {"raise", "skip"}
        What a bad sample does (see above).
    name : str, optional
        Metric name for API series without ``__name__``.
    unit : str, optional
        Unit for names without a recognised unit suffix (instead of ``"1"``).
    at : datetime, str or float, optional
        Time of exposition samples that carry no timestamp.

    Returns
    -------
    polars.DataFrame
        A ``METRICS`` frame.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scrape.prom"
    >>> _ = p.write_text(
    ...     "# TYPE http_requests_total counter\\n"
    ...     'http_requests_total{route="/api"} 1027\\n'
    ...     "# TYPE process_resident_memory_bytes gauge\\n"
    ...     "process_resident_memory_bytes 2.5e+07 1714550460000\\n"
    ... )
    >>> read_prometheus(p, at="2024-05-01T08:00:00Z")
    shape: (2, 5)
    ┌───────────────────────────────┬────────┬───────┬─────────────────────────┬───────┐
    │ name                          ┆ value  ┆ unit  ┆ timestamp               ┆ route │
    │ ---                           ┆ ---    ┆ ---   ┆ ---                     ┆ ---   │
    │ str                           ┆ f64    ┆ str   ┆ datetime[μs, UTC]       ┆ str   │
    ╞═══════════════════════════════╪════════╪═══════╪═════════════════════════╪═══════╡
    │ http_requests_total           ┆ 1027.0 ┆ 1     ┆ 2024-05-01 08:00:00 UTC ┆ /api  │
    │ process_resident_memory_bytes ┆ 2.5e7  ┆ bytes ┆ 2024-05-01 08:01:00 UTC ┆ null  │
    └───────────────────────────────┴────────┴───────┴─────────────────────────┴───────┘
    """
    from perflab.monitoring import _prom

    p = Path(path)
    source = str(path)
    _must_exist(p, source)
    if p.stat().st_size == 0:
        return _empty()
    if p.suffix.lower() == ".json":
        return _prom.read_api_json(p, source, errors=errors, name=name, unit=unit)
    return _prom.read_exposition(p, source, errors=errors, unit=unit, at=at)


def read_otlp(
    path: PathLike, *, errors: ErrorMode = "raise", unit: str | None = None
) -> pl.DataFrame:
    """Read OTLP/JSON metrics: one request document, or one request per line.

    The OTLP/HTTP JSON encoding and the OpenTelemetry Collector's file exporter (which
    writes one JSON object per line, whatever the file's suffix) are both read:
    ``resourceMetrics → scopeMetrics → metrics``.

    * **gauge** and **sum** points give one sample each (``asDouble``, or ``asInt``,
      which JSON carries as a string). Points flagged "no recorded value" are dropped.
    * **histogram** points give ``<name>_count``, ``<name>_sum``, ``<name>_min`` and
      ``<name>_max`` (those present) and cumulative ``<name>_bucket`` samples with an
      ``le`` tag — the explicit bounds, then ``"+Inf"`` holding the count — the way
      Prometheus exposes a histogram, so the two sources compare directly.
    * **exponentialHistogram** points are converted the same way: each bucket's upper
      bound ``base**(index+1)`` (``base = 2**2**-scale``), negative buckets and the
      zero bucket first, cumulative.
    * **summary** points give ``<name>`` with a ``quantile`` tag, ``_sum`` and ``_count``.

    Tags are the resource attributes (``service.name`` …) and then the point
    attributes; a point attribute wins over a resource attribute of the same key.
    Non-string attribute values are written as JSON (``true``, ``200``, ``0.5``).
    ``timeUnixNano`` becomes the timestamp (truncated to the microsecond). Units come
    from the metric's UCUM ``unit``: ``By`` → ``bytes`` (``KiBy`` → ``KiB`` …),
    annotations such as ``{request}`` → ``"1"``, empty → ``unit=`` or ``"1"``, others
    kept (``ms``, ``s``, ``1``). Counts (``_count``, ``_bucket``) are ``"1"``.

    A bad point (no value, a non-finite value, no time) raises
    :class:`~perflab.errors.InputError` with the line (JSON lines) or the JSON path
    (single document); ``errors="skip"`` drops it — or a whole unreadable line — and
    warns once.

    Parameters
    ----------
    path : str or PathLike
        ``.json`` or ``.jsonl``/``.ndjson``.
    errors : {"raise", "skip"}
        What a bad point does.
    unit : str, optional
        Unit for metrics whose ``unit`` field is empty (instead of ``"1"``).

    Returns
    -------
    polars.DataFrame
        A ``METRICS`` frame.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> point = {"timeUnixNano": "1714550400000000000", "asInt": "3",
    ...          "attributes": [{"key": "route", "value": {"stringValue": "/api"}}]}
    >>> doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
    ...     {"name": "http.server.active_requests", "unit": "{request}",
    ...      "sum": {"dataPoints": [point]}}]}]}]}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "otlp.json"
    >>> _ = p.write_text(json.dumps(doc))
    >>> read_otlp(p)
    shape: (1, 5)
    ┌─────────────────────────────┬───────┬──────┬─────────────────────────┬───────┐
    │ name                        ┆ value ┆ unit ┆ timestamp               ┆ route │
    │ ---                         ┆ ---   ┆ ---  ┆ ---                     ┆ ---   │
    │ str                         ┆ f64   ┆ str  ┆ datetime[μs, UTC]       ┆ str   │
    ╞═════════════════════════════╪═══════╪══════╪═════════════════════════╪═══════╡
    │ http.server.active_requests ┆ 3.0   ┆ 1    ┆ 2024-05-01 08:00:00 UTC ┆ /api  │
    └─────────────────────────────┴───────┴──────┴─────────────────────────┴───────┘
    """
    from perflab.monitoring import _otlp

    p = Path(path)
    source = str(path)
    _must_exist(p, source)
    if p.stat().st_size == 0:
        return _empty()
    return _otlp.read(p, source, errors=errors, unit=unit)


# ---------------------------------------------------------------------------------------
# helpers shared with _prom and _otlp


def _must_exist(p: Path, source: str) -> None:
    if not p.is_file():
        raise InputError(source, None, "no such file")


def _read_text(p: Path, source: str) -> str:
    data = p.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(source, line, "not UTF-8 text") from None


def _empty(tags: Sequence[str] = ()) -> pl.DataFrame:
    """An empty METRICS frame, with String tag columns."""
    return pl.DataFrame(schema={**METRICS.columns, **dict.fromkeys(tags, pl.String)})


def _finish(frame: pl.DataFrame, tags: Sequence[str]) -> pl.DataFrame:
    """Select the core columns then the tags, each with its canonical dtype."""
    return frame.select(
        pl.col("name").cast(pl.String),
        pl.col("value").cast(pl.Float64),
        pl.col("unit").cast(pl.String),
        pl.col("timestamp").cast(UTC_DATETIME),
        *[pl.col(t).cast(pl.String) for t in tags],
    )


def _tag_name(key: str) -> str:
    """A tag column name for a label/attribute key that may clash with a core column."""
    return f"exported_{key}" if key in CORE_COLUMNS else key


def _drop_bad(
    frame: pl.DataFrame,
    mask: pl.Series,
    bad: BadLines,
    where: Callable[[int], int | None],
    why: Callable[[int], str],
) -> pl.DataFrame:
    """Drop the rows where ``mask`` is true, reporting them through ``bad``.

    Only the first few bad rows are described (``where`` gives a row's line, ``why``
    its reason); in raise mode the first one raises.
    """
    mask = mask.fill_null(False)
    n = int(mask.sum())
    if not n:
        return frame
    shown = mask.arg_true().head(1 if bad.mode == "raise" else 3).to_list()
    for i in shown:
        line = where(i)
        reason = why(i) if line is not None else f"row {i + 1}: {why(i)}"
        bad.add(line, reason)
    bad.count += n - len(shown)
    return frame.filter(~mask)


def _to_us(at: At, source: str) -> int:
    """Epoch microseconds of an ``at=`` argument."""
    if isinstance(at, datetime):
        aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return (aware - _EPOCH) // timedelta(microseconds=1)
    if isinstance(at, int | float):
        return round(float(at) * 1_000_000)
    if isinstance(at, str):
        parsed, _ = _parse_time_strings(pl.Series([at]))
        if parsed.null_count():
            raise InputError(source, None, f"cannot read at={at!r} as an ISO-8601 time")
        return int(parsed.cast(pl.Int64).item())
    raise TypeError(f"at must be a datetime, an ISO string or epoch seconds, not {at!r}")


# ---------------------------------------------------------------------------------------
# timestamps and values


def _epoch_us(x: pl.Series) -> pl.Series:
    """Epoch numbers → Int64 microseconds, each by its magnitude (s/ms/us/ns)."""
    a = x.abs()
    if x.dtype.is_integer():
        x = x.cast(pl.Int64)
        out = (
            pl.select(
                pl.when(a < 10**11)
                .then(x * 1_000_000)
                .when(a < 10**14)
                .then(x * 1_000)
                .when(a < 10**17)
                .then(x)
                .otherwise(x // 1_000)
            )
            .to_series()
            .cast(pl.Int64)
        )
    else:
        x = x.cast(pl.Float64)
        scaled = pl.select(
            pl.when(x.is_nan() | x.is_infinite())
            .then(None)
            .when(a < 1e11)
            .then(x * 1e6)
            .when(a < 1e14)
            .then(x * 1e3)
            .when(a < 1e17)
            .then(x)
            .otherwise(x / 1e3)
        ).to_series()
        out = scaled.round(0).cast(pl.Int64, strict=False)
    return out.alias("timestamp")


def _parse_time_strings(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """ISO-8601 (or epoch-number) strings → (datetime[μs, UTC], kind).

    ``kind`` is 1 for a zoned string, 0 for a naive one, 2 for an epoch number and null
    where nothing could be read. Arrow's ISO cast is tried first (one fast pass for a
    clean column); otherwise epoch numbers, then each format, each only on the strings
    still unread.
    """
    fast = _arrow_iso(s)
    if fast is not None:
        return fast
    n = len(s)
    out = pl.Series("timestamp", [None] * n, dtype=UTC_DATETIME)
    kind = pl.Series("kind", [None] * n, dtype=pl.Int8)
    # Epoch numbers first: one cheap cast, and a column of them then skips the formats.
    stripped = s.str.strip_chars()
    us = _epoch_us(stripped.cast(pl.Int64, strict=False)).fill_null(
        _epoch_us(stripped.cast(pl.Float64, strict=False))
    )
    ok = us.is_not_null()
    if ok.all():
        return us.cast(UTC_DATETIME), pl.Series("kind", [2] * n, dtype=pl.Int8)
    if ok.any():
        hit = ok.arg_true()
        out = out.scatter(hit, us.filter(ok).cast(UTC_DATETIME))
        kind = kind.scatter(hit, pl.Series([2] * len(hit), dtype=pl.Int8))
    idx = (s.is_not_null() & ~ok).arg_true()
    sub = s.gather(idx)
    for fmt, zoned in _TIME_FORMATS:
        if not len(sub):
            break
        parsed = sub.str.to_datetime(fmt, time_unit="us", strict=False)
        tz = parsed.dt.convert_time_zone if zoned else parsed.dt.replace_time_zone
        parsed = tz("UTC")
        ok = parsed.is_not_null()
        if ok.any():
            hit = idx.filter(ok)
            out = out.scatter(hit, parsed.filter(ok))
            kind = kind.scatter(hit, pl.Series([int(zoned)] * len(hit), dtype=pl.Int8))
            idx, sub = idx.filter(~ok), sub.filter(~ok)
    return out, kind


def _arrow_iso(s: pl.Series) -> tuple[pl.Series, pl.Series] | None:
    """Fast path: Arrow's ISO-8601 cast, when every string is zoned or every one naive.

    Arrow refuses a naive string when casting to a zoned type and a zoned one when
    casting to a naive type, so success also proves the column is not mixed. It is an
    order of magnitude faster than a strptime format; any failure (a bad string,
    nanosecond fractions, mixed zones) falls back to the format-by-format path.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    first = s.drop_nulls().head(1)
    if not len(first) or not first.str.contains(r"^\d{4}-\d{2}-\d{2}").item():
        return None  # not ISO-looking: a failing Arrow cast can be slow, skip it
    zoned = bool(first.str.contains(r"(?:[Zz]|[+-]\d{2}:?\d{2})$").item())
    try:
        parsed = pc.cast(s.to_arrow(), pa.timestamp("us", "UTC" if zoned else None))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    out = pl.Series("timestamp", parsed)
    out = out if zoned else out.dt.replace_time_zone("UTC")
    kind = pl.select(pl.when(out.is_not_null()).then(pl.lit(int(zoned), pl.Int8))).to_series()
    return out.cast(UTC_DATETIME), kind.alias("kind")


def _parse_times(raw: pl.Series) -> tuple[pl.Series, pl.Series | None]:
    """Any timestamp column → (datetime[μs, UTC] with nulls where unreadable, kind)."""
    dt = raw.dtype
    if dt == pl.String:
        return _parse_time_strings(raw)
    if isinstance(dt, pl.Datetime):
        s = raw.dt.replace_time_zone("UTC") if dt.time_zone is None else raw
        return s.dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("timestamp"), None
    if dt == pl.Date:
        return raw.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("timestamp"), None
    if dt.is_numeric():
        return _epoch_us(raw).cast(UTC_DATETIME), None
    if dt == pl.Null:
        return pl.Series("timestamp", [None] * len(raw), dtype=UTC_DATETIME), None
    raise SchemaError("metrics", mistyped=[("timestamp", "datetime or ISO string", str(dt))])


def _parse_values(raw: pl.Series) -> pl.Series:
    """Any value column → Float64 (null where not a number)."""
    dt = raw.dtype
    if dt == pl.String:
        vals = raw.cast(pl.Float64, strict=False)
        retry = vals.is_null() & raw.is_not_null()
        if retry.any():
            idx = retry.arg_true()
            vals = vals.scatter(
                idx, raw.gather(idx).str.strip_chars().cast(pl.Float64, strict=False)
            )
        return vals.alias("value")
    if dt.is_numeric() or dt == pl.Null:
        return raw.cast(pl.Float64).alias("value")
    raise SchemaError("metrics", mistyped=[("value", "number", str(dt))])


def _check_zone_mix(
    kind: pl.Series | None, raw: pl.Series, source: str, where: Callable[[int], int | None]
) -> None:
    """Raise when a timestamp column mixes zoned and naive strings."""
    if kind is None:
        return
    zoned, naive = (kind == 1).fill_null(False), (kind == 0).fill_null(False)
    if not (zoned.any() and naive.any()):
        return
    first_z, first_n = int(zoned.arg_true()[0]), int(naive.arg_true()[0])
    i = max(first_z, first_n)
    line = where(i)
    where_txt = "" if line is not None else f"row {i + 1}: "
    raise InputError(
        source,
        line,
        f"{where_txt}timestamp column mixes zoned and naive times "
        f"({raw[first_z]!r} has an offset, {raw[first_n]!r} has none): "
        "give every time an offset, or none (naive times are read as UTC)",
    )


# ---------------------------------------------------------------------------------------
# tabular files


def _read_tabular(p: Path, source: str, *, errors: ErrorMode, unit: str | None) -> pl.DataFrame:
    bad = BadLines(source, errors)
    if p.stat().st_size == 0:
        return _empty()
    suffix = p.suffix.lower()
    where: Callable[[int], int | None]
    if suffix == ".parquet":
        try:
            raw = pl.read_parquet(p)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(source, None, f"cannot read as Parquet: {_first(exc)}") from None
        where = _no_line
    elif suffix in (".csv", ".tsv"):
        raw, where = _load_csv(p, source, "\t" if suffix == ".tsv" else ",", bad)
    else:
        raw, where = _load_ndjson(p, source, bad)
    if raw.width == 0:
        return _empty()
    required = ["name", "value", "timestamp"] + ([] if unit is not None else ["unit"])
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise SchemaError(source, missing=missing)
    tags = [c for c in raw.columns if c not in CORE_COLUMNS]
    if suffix != ".parquet" and raw.height:
        raw, where = _drop_blank(raw, where)
    if raw.height == 0:
        bad.finish()
        return _empty(tags)

    ts, kind = _parse_times(raw.get_column("timestamp"))
    _check_zone_mix(kind, raw.get_column("timestamp"), source, where)
    values = _parse_values(raw.get_column("value"))
    if "unit" in raw.columns:
        units = raw.get_column("unit").cast(pl.String)
        units = pl.select(pl.when(units != "").then(units)).to_series()
        if unit is not None:
            units = units.fill_null(unit)
    else:
        units = pl.Series("unit", [unit] * raw.height, dtype=pl.String)
    try:
        tag_cols = [raw.get_column(t).cast(pl.String) for t in tags]
    except pl.exceptions.PolarsError:
        kinds = [(t, "string", str(raw.schema[t])) for t in tags]
        raise SchemaError(source, mistyped=kinds) from None
    names = raw.get_column("name").cast(pl.String)
    frame = pl.DataFrame(
        [names.alias("name"), values, units.alias("unit"), ts.alias("timestamp"), *tag_cols]
    )
    mask = frame.select(
        pl.col("name").is_null()
        | (pl.col("name") == "")
        | pl.col("value").is_null()
        | pl.col("value").is_nan()
        | pl.col("value").is_infinite()
        | pl.col("timestamp").is_null()
        | pl.col("unit").is_null()
    ).to_series()

    def why(i: int) -> str:
        return _row_reason(raw, frame, i)

    frame = _drop_bad(frame, mask, bad, where, why)
    bad.finish()
    return frame


def _no_line(i: int) -> int | None:
    return None


def _drop_blank(
    raw: pl.DataFrame, where: Callable[[int], int | None]
) -> tuple[pl.DataFrame, Callable[[int], int | None]]:
    """Drop all-null rows (blank lines), keeping row → line numbering right."""
    blank = raw.select(pl.all_horizontal(pl.all().is_null())).to_series()
    if not blank.any():
        return raw, where
    rows = (~blank).arg_true()
    return raw.filter(~blank), lambda i: where(int(rows[i]))


def _row_reason(raw: pl.DataFrame, frame: pl.DataFrame, i: int) -> str:
    """Why row ``i`` is bad, quoting what the file holds."""
    got = frame.row(i, named=True)
    if got["name"] in (None, ""):
        return "missing metric name"
    v = raw.get_column("value")[i]
    if v is None:
        return "missing value"
    if got["value"] is None:
        return f"value {v!r} is not a number"
    if got["value"] != got["value"] or got["value"] in (float("inf"), float("-inf")):
        return f"value {v!r} is not finite (NaN and infinities are not samples)"
    t = raw.get_column("timestamp")[i]
    if t is None:
        return "missing timestamp"
    if got["timestamp"] is None:
        return f"cannot read timestamp {t!r}: expected ISO-8601 or an epoch number"
    return "missing unit (fill the unit column or pass unit=)"


def _first(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]


def _load_csv(
    p: Path, source: str, sep: str, bad: BadLines
) -> tuple[pl.DataFrame, Callable[[int], int | None]]:
    """Read every column as String; rows map to lines ``i + 2``."""
    try:
        raw = pl.read_csv(p, separator=sep, infer_schema=False, raise_if_empty=False)
        return raw, lambda i: i + 2
    except pl.exceptions.PolarsError as exc:
        first_error = _first(exc)
    # Error path only: find the offending lines with the csv module, then re-read the rest.
    data = p.read_bytes()
    problems = _csv_problems(data, sep)
    if not problems:
        raise InputError(source, None, f"cannot read as CSV: {first_error}")
    for line, reason in problems[: 1 if bad.mode == "raise" else 3]:
        bad.add(line, reason)
    bad.count += len(problems) - min(3, len(problems))
    skip = {line for line, _ in problems}
    lines = data.split(b"\n")
    kept = [i + 1 for i in range(len(lines)) if i + 1 not in skip]
    body = b"\n".join(lines[k - 1] for k in kept)
    try:
        raw = pl.read_csv(io.BytesIO(body), separator=sep, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(source, None, f"cannot read as CSV: {_first(exc)}") from None
    return raw, lambda i: kept[i + 1] if i + 1 < len(kept) else None


def _csv_problems(data: bytes, sep: str) -> list[tuple[int, str]]:
    """Lines whose field count differs from the header's, or that the csv module rejects."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    problems: list[tuple[int, str]] = []
    width = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((reader.line_num, f"malformed CSV: {exc}"))
            break
        if width is None:
            width = len(row)
        elif row and len(row) != width:
            problems.append((reader.line_num, f"{len(row)} fields where the header has {width}"))
    return problems


def _load_ndjson(
    p: Path, source: str, bad: BadLines
) -> tuple[pl.DataFrame, Callable[[int], int | None]]:
    """Read JSON lines with every field as String (numbers keep their JSON text)."""
    physical: list[int] = []

    def nonblank_lines() -> list[int]:
        if not physical:
            physical.extend(i + 1 for i, ln in enumerate(p.read_bytes().split(b"\n")) if ln.strip())
        return physical

    try:
        keys = pl.scan_ndjson(p, infer_schema_length=None).collect_schema().names()
        raw = pl.read_ndjson(p, schema=dict.fromkeys(keys, pl.String))
        return raw, lambda i: nonblank_lines()[i]
    except pl.exceptions.PolarsError as exc:
        first_error = _first(exc)
    # Error path only: find the lines that are not JSON objects.
    good: list[bytes] = []
    kept: list[int] = []
    for n, ln in enumerate(p.read_bytes().split(b"\n"), start=1):
        if not ln.strip():
            continue
        try:
            ok = isinstance(json.loads(ln, parse_constant=_reject_constant), dict)
            reason = "not a JSON object"
        except (ValueError, UnicodeDecodeError) as err:
            ok, reason = False, f"not valid JSON: {err}"
        if ok:
            good.append(ln)
            kept.append(n)
        else:
            bad.add(n, reason)
    body = b"\n".join(good)
    if not body:
        return pl.DataFrame(), lambda i: None
    try:
        keys = pl.scan_ndjson(io.BytesIO(body), infer_schema_length=None).collect_schema().names()
        raw = pl.read_ndjson(io.BytesIO(body), schema=dict.fromkeys(keys, pl.String))
    except pl.exceptions.PolarsError:
        raise InputError(source, None, f"cannot read as JSON lines: {first_error}") from None
    return raw, lambda i: kept[i]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------------------------------
# sniffing


def _sniff_json(p: Path, source: str) -> str:
    """``"prometheus"`` or ``"otlp"`` for a ``.json`` file, from its first keys."""
    with open(p, "rb") as fh:
        head = fh.read(65536).decode("utf-8", errors="replace")
    i_status, i_rm = head.find('"status"'), head.find('"resourceMetrics"')
    if i_rm >= 0 and (i_status < 0 or i_rm < i_status):
        return "otlp"
    if i_status >= 0:
        return "prometheus"
    raise InputError(
        source,
        None,
        "unrecognised JSON: expected a Prometheus API answer "
        '({"status": …, "data": …}) or OTLP/JSON ({"resourceMetrics": […]})',
    )


def _first_line_is_otlp(p: Path) -> bool:
    with open(p, "rb") as fh:
        for ln in fh:
            if ln.strip():
                return b'"resourceMetrics"' in ln[:4096]
    return False

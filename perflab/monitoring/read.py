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
``.json``                   OTLP/JSON (``{"resourceMetrics": […]}``) or, otherwise, a
                            Prometheus query result: the HTTP API answer, ``promtool
                            query … -o json``, or Grafana's inspector JSON (see
                            :func:`read_prometheus`)
``.prom`` ``.txt``          Prometheus text exposition 0.0.4, or OpenMetrics text
==========================  ===========================================================

Any of these may be gzip-compressed (``metrics.csv.gz``, ``dump.json.gz``): a file
whose first bytes are gzip's is gunzipped in memory whatever its name, and a ``.gz``
name is looked through for the format. Text may start with a UTF-8 BOM and use CRLF
line ends.

Tabular files
-------------
Columns ``name``, ``value``, ``unit``, ``timestamp`` are required (``unit`` may be absent
when ``unit=`` is given; ``unit=`` also fills empty cells). A table without a
``timestamp`` column may call it ``time`` or ``ts`` (one of them, not both; no other
name is guessed). Every other column becomes a String tag, exactly as the file writes
it (``01`` stays ``"01"``; a JSON number becomes its shortest text, ``1.10`` →
``"1.1"``: quote a tag in JSON to keep it exactly). A header naming a column
twice is an error. Timestamps may be

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
timestamp, no unit, a line that is not UTF-8 or has the wrong number of fields) raises
:class:`~perflab.errors.InputError` naming the file and the 1-based line: for CSV the
header is line 1 and each record one line (a quoted field spanning lines shifts the
count); for JSON lines it is the physical line; for Parquet there is no line and the
message says ``row N``. Blank lines are ignored.

Bad input, in every reader
--------------------------
With ``errors="skip"`` bad rows are dropped and one
:class:`~perflab.errors.InputWarning` gives the count and the first examples. A file of
zero bytes (or only blanks) gives an empty frame quietly; a file with content that
yields no sample (a header without rows, a query that matched no series, an OTLP
request without data points, a scrape of comments only) gives an empty frame **and**
an ``InputWarning`` saying why. The parsers live in ``_tabular.py``, ``_prom.py`` and
``_otlp.py``; the file plumbing they share with every domain is :mod:`perflab.sources`,
and time parsing :mod:`perflab.times`.
"""

from __future__ import annotations

import logging

import polars as pl

from perflab.errors import ErrorMode, InputError
from perflab.monitoring import _otlp, _prom
from perflab.monitoring._tabular import read_tabular
from perflab.sources import PathLike, Source
from perflab.times import At

__all__ = ["read_metrics", "read_otlp", "read_prometheus"]

logger = logging.getLogger(__name__)

_TABULAR = {".csv", ".tsv", ".parquet", ".jsonl", ".ndjson"}
_TEXT = {".prom", ".txt"}


def read_metrics(
    path: PathLike, *, errors: ErrorMode = "raise", unit: str | None = None
) -> pl.DataFrame:
    """Read any supported metric file into a ``METRICS`` frame, choosing by suffix.

    Parameters
    ----------
    path : str or PathLike
        A ``.csv``/``.tsv``/``.parquet``/``.jsonl``/``.ndjson`` table, a Prometheus
        ``.json`` query result or ``.prom``/``.txt`` exposition, or an OTLP/JSON
        ``.json``/``.jsonl`` file, each possibly gzipped (``.csv.gz``); see the module
        docstring for the table.
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
    src = Source(path, errors)
    if src.suffix not in _TABULAR | _TEXT | {".json"}:
        raise InputError(
            src.name,
            None,
            f"unknown file type {src.suffix!r}: expected .csv, .tsv, .parquet, .jsonl, "
            ".ndjson, .json, .prom or .txt (each may end in .gz)",
        )
    if src.suffix in _TEXT:
        return _prom.read_exposition(src, unit=unit, at=None)
    if src.suffix == ".json":
        if _looks_like_otlp(src):
            return _otlp.read(src, unit=unit)
        return _prom.read_json(src, name=None, unit=unit)
    if src.suffix in (".jsonl", ".ndjson") and _first_line_is_otlp(src):
        return _otlp.read(src, unit=unit)
    return read_tabular(src, unit=unit)


def read_prometheus(
    path: PathLike,
    *,
    errors: ErrorMode = "raise",
    name: str | None = None,
    unit: str | None = None,
    at: At | None = None,
) -> pl.DataFrame:
    """Read a Prometheus query result (JSON) or a text exposition scrape.

    **Query results (``.json``)** — each series' labels become tags; the metric name
    is the ``__name__`` label, else ``name=``, else the file's stem (expressions such
    as ``rate()`` or ``histogram_quantile()`` drop ``__name__``). Accepted shapes:

    * the HTTP API answer, ``{"status": "success", "data": {"resultType": …,
      "result": […]}}``, of ``/api/v1/query_range`` (matrix) or ``/api/v1/query``
      (vector, scalar). Sample times (float seconds) are rounded to the millisecond,
      Prometheus' resolution. ``"status": "error"`` raises
      :class:`~perflab.errors.InputError` carrying Prometheus' ``errorType`` and
      ``error`` in either mode;
    * ``promtool query range|instant … -o json``: the bare ``result`` list
      (``[{"metric": …, "values": […]}, …]``) or scalar (``[time, "value"]``);
    * Grafana's inspector: *JSON → DataFrame JSON (from query)* (a list of
      ``{"schema": …, "data": …}`` frames), *JSON → Panel data* (``{"series": […]}``),
      and *Query → response* (``{"results": {"A": {"frames": […]}}}``, alone or inside
      ``{"request": …, "response": …}``). Each number field is one series, its
      ``labels`` the tags; times are Grafana's epoch milliseconds. Annotation and
      exemplar frames are left out. Grafana's CSV download is not read: its columns
      are one per series and its times are in the browser's zone.

    Native histogram samples (``"histogram"``/``"histograms"``) are not read: they are
    bad samples (query ``histogram_quantile`` or the classic ``_bucket`` series instead).

    **Text exposition** — the Prometheus format 0.0.4 as written by prometheus_client
    or node_exporter, and OpenMetrics text: ``# HELP``/``# TYPE`` lines, samples
    ``name{label="v",…} value [timestamp]``, label escapes ``\\\\``, ``\\"`` and
    ``\\n``. A file with a ``# EOF`` line is OpenMetrics, whose timestamps are epoch
    **seconds** (``1711845000.25``); otherwise they are integer **milliseconds**.
    Exemplars after a sample (``… # {trace_id="…"} 0.67 1711845000.1``) are accepted
    and left out. Each sample keeps its own name (``…_bucket`` with an ``le`` tag,
    ``…_sum``, ``…_count``, summary samples with a ``quantile`` tag, ``…_created``). A
    sample without a timestamp gets ``at=`` (a datetime — naive means UTC —, an ISO
    string, or epoch seconds), or else the file's modification time: a scrape file is
    written when it is scraped.

    **Units** are inferred from the naming conventions: ``…_bucket``/``…_count`` are
    counts (``"1"``); ``…_created`` is epoch seconds (``"s"``); otherwise, after
    dropping ``_total``/``_sum``, a name ending ``_seconds`` is ``"s"``,
    ``_milliseconds`` ``"ms"``, ``_microseconds`` ``"us"``, ``_nanoseconds`` ``"ns"``,
    ``_bytes`` ``"bytes"`` (so ``node_cpu_seconds_total`` is in seconds and
    ``http_requests_total`` in ``"1"``). Any other name gets ``unit=`` or ``"1"``.

    **Special values** — ``"NaN"`` is what Prometheus returns for 0/0, e.g.
    ``histogram_quantile`` over a window without requests (Grafana writes such points,
    and the gaps of joined series, as ``null``): such samples are gaps, not errors, and
    are dropped in both modes with one warning that counts them. ``+Inf`` and ``-Inf``
    cannot be stored (values must be finite): with ``errors="raise"`` they raise, with
    ``"skip"`` they are dropped and counted.

    Labels named like a core column (``name``, ``value``, ``unit``, ``timestamp``) are
    renamed ``exported_<label>``, as Prometheus does for clashing target labels.

    Parameters
    ----------
    path : str or PathLike
        ``.json`` (or ``.json.gz``) for a query result, anything else for the text
        format.
    errors : {"raise", "skip"}
        What a bad sample does (see above).
    name : str, optional
        Metric name for series without ``__name__``.
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
    src = Source(path, errors)
    if src.suffix == ".json":
        return _prom.read_json(src, name=name, unit=unit)
    return _prom.read_exposition(src, unit=unit, at=at)


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
    warns once. A request without any data point (or with only "no recorded value"
    points) gives an empty frame and a warning saying so.

    Parameters
    ----------
    path : str or PathLike
        ``.json`` or ``.jsonl``/``.ndjson``, possibly gzipped.
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
    return _otlp.read(Source(path, errors), unit=unit)


# ---------------------------------------------------------------------------------------
# sniffing


def _looks_like_otlp(src: Source) -> bool:
    """Whether a ``.json`` file is OTLP rather than a Prometheus/Grafana query result.

    ``resourceMetrics`` names OTLP's top level; it must come before the first key of
    any Prometheus or Grafana shape, so a label value that happens to say
    ``resourceMetrics`` deep in a query result does not count.
    """
    head = src.head(65536).decode("utf-8", errors="replace")
    i_rm = head.find('"resourceMetrics"')
    if i_rm < 0:
        return False
    others = [head.find(k) for k in ('"status"', '"metric"', '"schema"', '"results"', '"series"')]
    return all(i < 0 or i_rm < i for i in others)


def _first_line_is_otlp(src: Source) -> bool:
    for ln in src.head(65536).split(b"\n"):
        if ln.strip():
            return b'"resourceMetrics"' in ln[:4096]
    return False

"""Read the results of load-testing and benchmarking tools into perflab's frames.

====================  ================================================  ===========
format                what it is                                        frame
====================  ================================================  ===========
``k6``                k6 ``--out json=FILE`` (one JSON object a line:   REQUESTS
                      ``Metric`` and ``Point``); also k6
                      ``--summary-export`` / ``handleSummary`` JSON     SUMMARY
``hey``               hey ``-o csv``                                    REQUESTS
``locust``            Locust ``--csv PREFIX``: ``PREFIX_stats.csv``     SUMMARY
``locust_history``    ``PREFIX_stats_history.csv``                      TIMELINE
``jmeter``            JMeter JTL in CSV, with its header line           REQUESTS
``wrk``               wrk's printed summary (with ``--latency``) or     SUMMARY
                      the JSON line of perflab's ``done()`` script
``vegeta``            ``vegeta encode`` (JSON lines) or ``vegeta        REQUESTS
                      encode --to csv``
``ab``                ApacheBench ``-g`` (gnuplot TSV);                 REQUESTS
                      ``-e`` (percentile CSV)                           SUMMARY
``hyperfine``         hyperfine ``--export-json``                       REQUESTS
``pytest_benchmark``  pytest-benchmark ``--benchmark-json`` or a        REQUESTS or
                      saved run                                         SUMMARY
``asv``               an asv results file (``results/<machine>/         REQUESTS or
                      <commit>-<env>.json``, asv ≥ 0.5)                 SUMMARY
====================  ================================================  ===========

:func:`read_results` reads any of them, choosing by content (``format=`` to say). Every
file may be gzip-compressed (recognised by its first bytes). The frames are
:data:`~perflab.loadtest.schema.REQUESTS`, :data:`~perflab.loadtest.schema.SUMMARY` and
:data:`~perflab.loadtest.schema.TIMELINE`.

Conventions
-----------
* **start** — seconds from the first request of the file. External tools record one
  time per request (when it was sent), so ``start`` is that time and ``sent`` and
  ``service_ms`` are null: none of these tools tells the intended send time of an open
  model apart from the actual one. Per-request frames are sorted by ``start``
  (stably: the file's order breaks ties).
* **error** — ``"http <status>"`` for a 4xx/5xx response, unless the tool decides what
  failed (JMeter's ``success``, k6's ``http_req_failed``/``expected_response``, whose
  verdicts are kept); the tool's own text for a request without a response
  (``"dial: connection refused"``…); null for a success.
* **name** — the tool's label for the request (k6 ``name`` tag, JMeter label, Locust
  name, vegeta URL, hyperfine command, benchmark name). hey and ab record no URL:
  their rows take ``name=`` (default null). The aggregate row of a SUMMARY is ``"all"``.
* **bytes** — as the tool counts them: JMeter's ``bytes`` (headers and body); vegeta's
  ``bytes_in`` (body); Locust's average content size × requests (bodies); wrk's and
  k6's bytes read (headers and body). hey and ab ``-g`` record none (null).

Bad input
---------
A row that cannot be read (a number that is not one, a missing field — a last line cut
short reads as one —, a JSON line that does not parse) raises
:class:`~perflab.errors.InputError` with the file and line; ``errors="skip"`` drops it
and warns once with the count and the first examples. A whole-document JSON format
(hyperfine, pytest-benchmark, asv, k6's summary) that does not parse raises in both
modes, naming the line where it fails (a file cut short fails at its end); an entry of
the wrong shape is named by its JSON path (``results[1]: …``). An empty file gives an
empty frame of the format's schema (REQUESTS for a format that can give either).

The wrk ``done()`` script
-------------------------
wrk writes no per-request data; its printed summary has percentiles only with
``--latency`` (50/75/90/99). :data:`WRK_DONE_LUA` is perflab's ``done()`` script: save it
as ``perflab_done.lua`` and run ``wrk --latency -s perflab_done.lua URL > wrk.txt``;
wrk then prints, after its summary, one JSON line (all times in microseconds)::

    {"tool":"wrk","requests":105384,"duration_us":2002012,"bytes":35311927,
     "errors":{"connect":0,"read":0,"write":0,"status":5355,"timeout":0},
     "latency_us":{"min":15,"max":4615,"mean":252.72,"stdev":383.19,
                   "percentiles":{"50":148,"90":491,"95":796,"99":2248,"99.9":3734}}}

:func:`read_wrk` prefers that line when the file has one (it has the minimum, p95 and
exact byte counts the printed summary lacks) and reads the printed summary otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from perflab.errors import ErrorMode, InputError, ParameterError, warn_input
from perflab.loadtest import _bench_formats, _http_tools, _k6, _locust, _wrk
from perflab.loadtest._read_common import open_source
from perflab.loadtest.schema import REQUESTS, SUMMARY, TIMELINE
from perflab.sources import PathLike, Source, load_json

logger = logging.getLogger(__name__)

__all__ = [
    "FORMATS",
    "WRK_DONE_LUA",
    "read_ab",
    "read_asv",
    "read_folder",
    "read_hey",
    "read_hyperfine",
    "read_jmeter",
    "read_k6",
    "read_locust",
    "read_locust_history",
    "read_pytest_benchmark",
    "read_results",
    "read_vegeta",
    "read_wrk",
    "sniff_format",
]

FORMATS: tuple[str, ...] = (
    "perflab",
    "k6",
    "hey",
    "locust",
    "locust_history",
    "jmeter",
    "wrk",
    "vegeta",
    "ab",
    "hyperfine",
    "pytest_benchmark",
    "asv",
)
"""The values of ``read_results(format=)``: ``perflab`` is a REQUESTS or SUMMARY frame
saved as Parquet or CSV (what :func:`perflab.loadtest.run` writes with ``out=``)."""

WRK_DONE_LUA = """\
-- perflab's wrk done() script: prints wrk's summary as one JSON line.
-- Use: wrk --latency -s perflab_done.lua http://host/path  (times in microseconds)
done = function(summary, latency, requests)
  local e = summary.errors
  local p = {}
  for _, q in ipairs({50, 90, 95, 99, 99.9}) do
    p[#p + 1] = string.format('"%s":%d', tostring(q), latency:percentile(q))
  end
  io.write(string.format(
    '{"tool":"wrk","requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"min":%d,"max":%d,"mean":%.2f,"stdev":%.2f,"percentiles":{%s}}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev, table.concat(p, ",")))
end
"""
"""perflab's wrk ``done()`` Lua script (see the module docstring)."""


# ---------------------------------------------------------------------------------------
# per-request formats


def read_k6(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read k6 results: ``--out json`` points, or the end-of-test summary JSON.

    Which of the two the file is, is told from its content.

    **Points** (``k6 run --out json=out.json``, ``.gz`` too): one REQUESTS row per
    ``http_req_duration`` point. k6 stamps all points of a request with its *end* time
    and the same tags; ``latency_ms`` is the duration (k6's ``http_req_duration``:
    sending + waiting + receiving, without DNS/connect), ``start`` the end time minus
    it, relative to the earliest start. ``status`` comes from the ``status`` tag (0,
    no response, → null); ``name`` from the ``name`` tag (k6 sets it to the URL unless
    the script names the request). A request failed when its ``http_req_failed``
    point (matched by time and tags) is 1 — else, for k6 before 0.31, when its
    ``expected_response`` tag is false or its status ≥ 400; ``error`` is then the
    ``error`` tag (``"dial: connection refused"``) or ``"http <status>"``. k6 counts
    bytes per iteration (``data_received``), not per request: ``bytes`` is null.
    Other metrics (checks, custom metrics, ``iteration_duration``…) are not read.

    **Summary** (``--summary-export=summary.json``, or ``JSON.stringify(data)`` in
    ``handleSummary``): one SUMMARY row ``all`` — ``requests``/``rps`` from
    ``http_reqs`` count and rate, ``errors``/``error_rate`` from ``http_req_failed``
    (passes, rate), the latencies from ``http_req_duration`` (avg, min, med, p(90),
    p(95), max, and p(99) when the test asked for it in ``summaryTrendStats``),
    ``duration_s`` from ``state.testRunDurationMs`` or count ÷ rate, ``bytes`` from
    ``data_received``.

    Parameters
    ----------
    path : str or PathLike
        The file.
    errors : {"raise", "skip"}
        What to do with a line that cannot be read (see the module docstring).

    Returns
    -------
    polars.DataFrame
        REQUESTS (points) or SUMMARY (summary).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "k6.json"
    >>> tags = ('"tags":{"expected_response":"%s","method":"GET","name":"http://h/",'
    ...         '"status":"%s","url":"http://h/"}')
    >>> pt = '{"metric":"%s","type":"Point","data":{"time":"%s","value":%s,' + tags + '}}'
    >>> _ = p.write_text("\\n".join([
    ...     pt % ("http_req_duration", "2026-01-01T00:00:00.010Z", 4.5, "true", 200),
    ...     pt % ("http_req_failed", "2026-01-01T00:00:00.010Z", 0, "true", 200),
    ...     pt % ("http_req_duration", "2026-01-01T00:00:00.020Z", 2.0, "false", 503),
    ...     pt % ("http_req_failed", "2026-01-01T00:00:00.020Z", 1, "false", 503)]))
    >>> read_k6(p).select("start", "latency_ms", "status", "error", "name")
    shape: (2, 5)
    ┌────────┬────────────┬────────┬──────────┬───────────┐
    │ start  ┆ latency_ms ┆ status ┆ error    ┆ name      │
    │ ---    ┆ ---        ┆ ---    ┆ ---      ┆ ---       │
    │ f64    ┆ f64        ┆ i64    ┆ str      ┆ str       │
    ╞════════╪════════════╪════════╪══════════╪═══════════╡
    │ 0.0    ┆ 4.5        ┆ 200    ┆ null     ┆ http://h/ │
    │ 0.0125 ┆ 2.0        ┆ 503    ┆ http 503 ┆ http://h/ │
    └────────┴────────────┴────────┴──────────┴───────────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return REQUESTS.empty()
    if _k6.is_points(src):
        return _k6.points(src)
    return _k6.summary(src, load_json(src))


def read_hey(
    path: PathLike, *, errors: ErrorMode = "raise", name: str | None = None
) -> pl.DataFrame:
    """Read hey's ``-o csv`` output: one REQUESTS row per response.

    Columns ``response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,
    status-code,offset``, times in seconds (4 decimals: 0.1 ms). ``start`` is
    ``offset`` (seconds from the start of the run to the request's start),
    ``latency_ms`` the response time; the phase columns are not kept. hey writes a row
    only for a request that got a response: requests that failed without one are
    counted only in its printed summary, so they are missing here. The CSV records no
    URL and no size: ``name`` is the ``name=`` argument for every row, ``bytes`` null.

    Parameters
    ----------
    path : str or PathLike
        The CSV file (hey writes it to stdout).
    errors : {"raise", "skip"}
        What to do with a row that cannot be read.
    name : str, optional
        The ``name`` of every row (the URL hey was given, say).

    Returns
    -------
    polars.DataFrame
        REQUESTS, one row per response, sorted by ``start``; ``sent``,
        ``service_ms`` and ``bytes`` null. An empty file gives an empty REQUESTS.

    Raises
    ------
    InputError
        The header lacks one of hey's columns, or a row cannot be read (with
        ``errors="raise"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "hey.csv"
    >>> _ = p.write_text("response-time,DNS+dialup,DNS,Request-write,Response-delay,"
    ...     "Response-read,status-code,offset\\n"
    ...     "0.0023,0.0001,0.0000,0.0003,0.0017,0.0001,200,0.0014\\n"
    ...     "0.0015,0.0001,0.0000,0.0001,0.0012,0.0000,503,0.0009\\n")
    >>> read_hey(p, name="/api").select("start", "latency_ms", "status", "error", "name")
    shape: (2, 5)
    ┌────────┬────────────┬────────┬──────────┬──────┐
    │ start  ┆ latency_ms ┆ status ┆ error    ┆ name │
    │ ---    ┆ ---        ┆ ---    ┆ ---      ┆ ---  │
    │ f64    ┆ f64        ┆ i64    ┆ str      ┆ str  │
    ╞════════╪════════════╪════════╪══════════╪══════╡
    │ 0.0009 ┆ 1.5        ┆ 503    ┆ http 503 ┆ /api │
    │ 0.0014 ┆ 2.3        ┆ 200    ┆ null     ┆ /api │
    └────────┴────────────┴────────┴──────────┴──────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return REQUESTS.empty()
    return _http_tools.hey_csv(src, name)


def read_jmeter(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read a JMeter results file (JTL) in CSV: one REQUESTS row per sample.

    JMeter's default columns are ``timeStamp,elapsed,label,responseCode,
    responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,
    grpThreads,allThreads,URL,Latency,IdleTime,Connect``; perflab needs the header line
    (JMeter writes it by default) and the columns ``timeStamp`` (epoch milliseconds,
    JMeter's default ``timestamp_format``), ``elapsed``, ``label``, ``responseCode``
    and ``success``. ``start`` is the sample's ``timeStamp`` (its start) relative to
    the earliest; ``latency_ms`` is ``elapsed`` (to the last byte; JMeter's own
    ``Latency`` column is the time to the first byte and is not kept); ``status`` the
    numeric ``responseCode`` (null for JMeter's "Non HTTP response code: …");
    ``bytes`` the ``bytes`` column (headers and body); ``name`` the ``label``.

    JMeter decides what failed (``success``): a successful sample has no ``error``
    even with a 4xx status. A failed one has its ``failureMessage`` (an assertion's),
    else for a non-HTTP failure the exception and its message (``"java.net.
    ConnectException: Connection refused"``), else ``"http <status>"``, else the
    ``responseMessage``. XML JTL files are not read (save as CSV:
    ``jmeter.save.saveservice.output_format=csv``).

    Parameters
    ----------
    path : str or PathLike
        The JTL file in CSV, with its header line (``.gz`` too).
    errors : {"raise", "skip"}
        What to do with a row that cannot be read (see the module docstring).

    Returns
    -------
    polars.DataFrame
        REQUESTS, one row per sample, sorted by ``start``; ``sent`` and
        ``service_ms`` null. An empty file gives an empty REQUESTS.

    Raises
    ------
    InputError
        A needed column is missing, or a row cannot be read (with
        ``errors="raise"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.jtl"
    >>> _ = p.write_text("timeStamp,elapsed,label,responseCode,responseMessage,success,"
    ...     "failureMessage,bytes\\n1700000000000,12,home,200,OK,true,,847\\n"
    ...     "1700000000250,3,api,503,Service Unavailable,false,,343\\n"
    ...     "1700000000300,1,api,Non HTTP response code: java.net.ConnectException,"
    ...     "Non HTTP response message: Connection refused,false,,2000\\n")
    >>> read_jmeter(p).select("start", "latency_ms", "status", "error", "name")
    shape: (3, 5)
    ┌───────┬────────────┬────────┬─────────────────────────────────┬──────┐
    │ start ┆ latency_ms ┆ status ┆ error                           ┆ name │
    │ ---   ┆ ---        ┆ ---    ┆ ---                             ┆ ---  │
    │ f64   ┆ f64        ┆ i64    ┆ str                             ┆ str  │
    ╞═══════╪════════════╪════════╪═════════════════════════════════╪══════╡
    │ 0.0   ┆ 12.0       ┆ 200    ┆ null                            ┆ home │
    │ 0.25  ┆ 3.0        ┆ 503    ┆ http 503                        ┆ api  │
    │ 0.3   ┆ 1.0        ┆ null   ┆ java.net.ConnectException: Con… ┆ api  │
    └───────┴────────────┴────────┴─────────────────────────────────┴──────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return REQUESTS.empty()
    return _http_tools.jmeter_csv(src)


def read_vegeta(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read vegeta results decoded by ``vegeta encode``: JSON lines or CSV.

    ``vegeta attack … | vegeta encode > results.json`` writes one JSON object a line
    (``attack, seq, code, timestamp`` (RFC 3339), ``latency`` (ns), ``bytes_out,
    bytes_in, error, body`` (base64), ``method, url, headers``); ``vegeta encode --to
    csv`` writes the same without a header: ``timestamp`` (unix ns), ``code, latency,
    bytes_out, bytes_in, error, body, attack, seq, method, url, headers`` (older
    vegetas write the first 6, 9 or 11 of these; all are read). ``start`` is the
    timestamp (when the hit began) relative to the earliest, ``latency_ms`` the
    latency, ``status`` the code (0, no response, → null), ``bytes`` ``bytes_in`` (the
    body), ``name`` the URL (null in CSV from before v12.8, which has none).
    vegeta's ``error`` for a status outside 200–399 is the status line (``"503
    Service Unavailable"``), read as ``"http 503"``; other errors are kept as vegeta
    wrote them. The binary gob output of ``vegeta attack`` is not read: run ``vegeta
    encode`` first.

    Parameters
    ----------
    path : str or PathLike
        ``vegeta encode`` output, JSON lines or CSV (``.gz`` too).
    errors : {"raise", "skip"}
        What to do with a line that cannot be read (see the module docstring).

    Returns
    -------
    polars.DataFrame
        REQUESTS, one row per hit, sorted by ``start``; ``sent`` and ``service_ms``
        null. An empty file gives an empty REQUESTS.

    Raises
    ------
    InputError
        A line that cannot be read (with ``errors="raise"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "results.csv"
    >>> _ = p.write_text("1700000000000000000,200,1500000,0,90,,,a,0,GET,http://h/api,\\n"
    ...                  "1700000000010000000,503,500000,0,0,503 Service Unavailable,,a,1,"
    ...                  "GET,http://h/api,\\n")
    >>> read_vegeta(p).select("start", "latency_ms", "status", "bytes", "error")
    shape: (2, 5)
    ┌───────┬────────────┬────────┬───────┬──────────┐
    │ start ┆ latency_ms ┆ status ┆ bytes ┆ error    │
    │ ---   ┆ ---        ┆ ---    ┆ ---   ┆ ---      │
    │ f64   ┆ f64        ┆ i64    ┆ i64   ┆ str      │
    ╞═══════╪════════════╪════════╪═══════╪══════════╡
    │ 0.0   ┆ 1.5        ┆ 200    ┆ 90    ┆ null     │
    │ 0.01  ┆ 0.5        ┆ 503    ┆ 0     ┆ http 503 │
    └───────┴────────────┴────────┴───────┴──────────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return REQUESTS.empty()
    return _http_tools.vegeta(src)


def read_ab(
    path: PathLike, *, errors: ErrorMode = "raise", name: str | None = None
) -> pl.DataFrame:
    """Read ApacheBench's ``-g`` (per-request TSV) or ``-e`` (percentile CSV) output.

    Which one is told from the header.

    **-g** (``starttime\\tseconds\\tctime\\tdtime\\tttime\\twait``): one REQUESTS row per
    request. ab writes them sorted by total time; perflab puts them back in the order
    they started, by the ``seconds`` column — but that column holds *whole seconds*
    (epoch), too coarse to time a test that often lasts under one, so ``start`` is null
    and :func:`~perflab.loadtest.summary` reports no duration or throughput for it (ab's
    printed summary has its "Requests per second"). ``latency_ms`` is ``ttime`` (whole
    milliseconds). ab records no
    status, size or URL per request (its non-2xx count is only in its printed
    summary): ``status``, ``bytes`` and ``error`` are null, ``name`` is ``name=`` —
    so the frame cannot show a failure, and its error rate (0 in
    :func:`~perflab.loadtest.summary`, and for ``perflab gate``) says nothing: read
    "Non-2xx responses" in ab's own output.

    **-e** (``Percentage served,Time in ms``, rows 0–100): one SUMMARY row (``name=``,
    default ``"all"``) with ``min_ms`` (row 0), ``p50_ms``, ``p90_ms``, ``p95_ms``,
    ``p99_ms`` and ``max_ms`` (row 100); ab takes the request at rank ⌊n·p/100 + ½⌋,
    without interpolation. The file has no counts: ``requests`` and the rest are null.

    Parameters
    ----------
    path : str or PathLike
        ab's ``-g`` or ``-e`` file.
    errors : {"raise", "skip"}
        What to do with a row that cannot be read (see the module docstring).
    name : str, optional
        The ``name`` of every row (``-g``; default null) or of the one row (``-e``;
        default ``"all"``).

    Returns
    -------
    polars.DataFrame
        REQUESTS for ``-g`` (one row per request, ``start`` null), SUMMARY for
        ``-e`` (one row). An empty file gives an empty REQUESTS.

    Raises
    ------
    InputError
        A row that cannot be read (with ``errors="raise"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ab.tsv"
    >>> _ = p.write_text("starttime\\tseconds\\tctime\\tdtime\\tttime\\twait\\n"
    ...     "Thu Dec 03 13:54:08 2026\\t1796306048\\t0\\t1\\t1\\t1\\n"
    ...     "Thu Dec 03 13:54:07 2026\\t1796306047\\t1\\t2\\t3\\t2\\n")
    >>> read_ab(p).select("start", "latency_ms", "status")
    shape: (2, 3)
    ┌───────┬────────────┬────────┐
    │ start ┆ latency_ms ┆ status │
    │ ---   ┆ ---        ┆ ---    │
    │ f64   ┆ f64        ┆ i64    │
    ╞═══════╪════════════╪════════╡
    │ null  ┆ 3.0        ┆ null   │
    │ null  ┆ 1.0        ┆ null   │
    └───────┴────────────┴────────┘
    """
    src = open_source(path, errors)
    head = _first_line(src)
    if src.is_blank():
        return REQUESTS.empty()
    if head.startswith("Percentage served"):
        return _http_tools.ab_percentiles(src, name or "all")
    return _http_tools.ab_gnuplot(src, name)


# ---------------------------------------------------------------------------------------
# aggregate formats


def read_locust(path_prefix: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read Locust's ``PREFIX_stats.csv`` into SUMMARY rows.

    ``locust --csv PREFIX`` writes ``PREFIX_stats.csv`` (one row per request type and
    name, then ``Aggregated``), ``PREFIX_stats_history.csv`` (see
    :func:`read_locust_history`), ``PREFIX_failures.csv`` and
    ``PREFIX_exceptions.csv``. Give the prefix or the stats file itself.

    One row per ``Type`` + ``Name``: ``name`` is Locust's ``Name`` (what its report
    shows: the path, or the name the locustfile gave), or ``"<Type> <Name>"`` for a
    Name that appears under several types (``GET /cart`` and ``POST /cart``); the
    ``Aggregated`` row is ``"all"``. ``requests``/``errors`` are ``Request Count`` and
    ``Failure Count``; ``rps`` ``Requests/s`` (over the whole run);
    ``duration_s`` requests ÷ rps; ``mean_ms``/``min_ms``/``max_ms`` the average,
    minimum and maximum response times; ``p50_ms``… the ``50%``, ``90%``, ``95%``,
    ``99%`` columns; ``bytes`` the average content size × requests (bodies).

    Locust's caveats travel with its numbers: its percentiles are computed from
    response times *rounded to 2 significant digits* (a 143 ms request counts as 140),
    and the file is a snapshot written every second and not rewritten at exit, so it
    misses the last fraction of a second of the run (the console summary counts more
    requests).

    Parameters
    ----------
    path_prefix : str or PathLike
        The ``--csv`` prefix (``run`` for ``run_stats.csv``, ``.gz`` too) or the
        stats file itself.
    errors : {"raise", "skip"}
        What to do with a row that cannot be read (see the module docstring).

    Returns
    -------
    polars.DataFrame
        SUMMARY, one row per name and ``"all"`` (the ``Aggregated`` row). An empty
        file gives an empty SUMMARY.

    Raises
    ------
    InputError
        No such file (neither the path nor ``PREFIX_stats.csv``), or a row that
        cannot be read (with ``errors="raise"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "run_stats.csv").write_text(
    ...     "Type,Name,Request Count,Failure Count,Median Response Time,"
    ...     "Average Response Time,Min Response Time,Max Response Time,"
    ...     "Average Content Size,Requests/s,Failures/s,50%,90%,95%,99%,100%\\n"
    ...     "GET,/,90,0,2,1.9,0.5,16,611.0,30.0,0.0,2,3,4,6,16\\n"
    ...     "GET,/api,10,2,2,1.8,0.6,5,93.0,3.3,0.7,2,3,3,5,5\\n"
    ...     ",Aggregated,100,2,2,1.9,0.5,16,559.2,33.3,0.7,2,3,4,6,16\\n")
    >>> read_locust(d / "run").select("name", "requests", "errors", "rps", "p95_ms")
    shape: (3, 5)
    ┌──────┬──────────┬────────┬──────┬────────┐
    │ name ┆ requests ┆ errors ┆ rps  ┆ p95_ms │
    │ ---  ┆ ---      ┆ ---    ┆ ---  ┆ ---    │
    │ str  ┆ i64      ┆ i64    ┆ f64  ┆ f64    │
    ╞══════╪══════════╪════════╪══════╪════════╡
    │ /    ┆ 90       ┆ 0      ┆ 30.0 ┆ 4.0    │
    │ /api ┆ 10       ┆ 2      ┆ 3.3  ┆ 3.0    │
    │ all  ┆ 100      ┆ 2      ┆ 33.3 ┆ 4.0    │
    └──────┴──────────┴────────┴──────┴────────┘
    """
    src = open_source(_locust.locate(path_prefix, "_stats.csv"), errors)
    if src.is_blank():
        return SUMMARY.empty()
    return _locust.stats(src)


def read_locust_history(path_prefix: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read Locust's ``PREFIX_stats_history.csv`` into a TIMELINE.

    Locust appends a row per name every second (``--csv-full-history``; otherwise only
    the ``Aggregated`` row, ``"all"``; names as in :func:`read_locust`). ``second`` is
    the row's ``Timestamp`` relative to the first; ``users`` the ``User Count``.
    ``requests`` and ``errors`` are the growth of ``Total Request Count`` and ``Total
    Failure Count`` since the name's previous row (its first row counts from the start)
    and ``rps`` is requests ÷ the seconds between the rows: Locust's own
    ``Requests/s``/``Failures/s`` columns are a smoothed current rate that stays 0 for
    the first seconds, and are not used. ``p50_ms``/``p95_ms``/``p99_ms`` are Locust's
    *current* percentiles — over a moving window of the last seconds (10 by default),
    from response times rounded to 2 significant digits — not the window's own;
    ``"N/A"`` (no request yet) is null. ``service_p95_ms`` is null.

    Parameters
    ----------
    path_prefix : str or PathLike
        The ``--csv`` prefix (``run`` for ``run_stats_history.csv``, ``.gz`` too) or
        the history file itself.
    errors : {"raise", "skip"}
        What to do with a row that cannot be read (see the module docstring).

    Returns
    -------
    polars.DataFrame
        TIMELINE with its optional ``users`` column: one row per name and second.
        An empty file gives an empty TIMELINE (with ``users``).

    Raises
    ------
    InputError
        No such file (neither the path nor ``PREFIX_stats_history.csv``), or a
        row that cannot be read (with ``errors="raise"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run_stats_history.csv"
    >>> _ = p.write_text("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%,"
    ...     "Total Request Count,Total Failure Count\\n"
    ...     "1700000000,0,,Aggregated,0,0,N/A,N/A,N/A,0,0\\n"
    ...     "1700000001,10,,Aggregated,0,0,2,40,42,473,45\\n"
    ...     "1700000002,10,,Aggregated,0,0,2,41,42,908,87\\n")
    >>> read_locust_history(p).select("second", "name", "requests", "rps", "errors", "users")
    shape: (3, 6)
    ┌────────┬──────┬──────────┬───────┬────────┬───────┐
    │ second ┆ name ┆ requests ┆ rps   ┆ errors ┆ users │
    │ ---    ┆ ---  ┆ ---      ┆ ---   ┆ ---    ┆ ---   │
    │ f64    ┆ str  ┆ i64      ┆ f64   ┆ i64    ┆ i64   │
    ╞════════╪══════╪══════════╪═══════╪════════╪═══════╡
    │ 0.0    ┆ all  ┆ 0        ┆ 0.0   ┆ 0      ┆ 0     │
    │ 1.0    ┆ all  ┆ 473      ┆ 473.0 ┆ 45     ┆ 10    │
    │ 2.0    ┆ all  ┆ 435      ┆ 435.0 ┆ 42     ┆ 10    │
    └────────┴──────┴──────────┴───────┴────────┴───────┘
    """
    src = open_source(_locust.locate(path_prefix, "_stats_history.csv"), errors)
    if src.is_blank():
        return TIMELINE.empty().with_columns(users=pl.lit(None, pl.Int64))
    return _locust.history(src)


def read_wrk(path: PathLike, *, errors: ErrorMode = "raise", name: str = "all") -> pl.DataFrame:
    """Read wrk's output into one SUMMARY row.

    With perflab's ``done()`` script (:data:`WRK_DONE_LUA`; see the module docstring)
    the JSON line it prints gives everything: ``requests``, ``duration_s``, ``bytes``,
    ``errors`` (connect + read + write + timeout + non-2xx/3xx "status" errors),
    ``rps`` (requests ÷ duration), ``mean_ms``, ``min_ms``, ``max_ms`` and ``p50``,
    ``p90``, ``p95``, ``p99`` (its p99.9 has no SUMMARY column).

    Without it, wrk's printed summary is read: ``N requests in Xs, Y read`` (``bytes``
    from wrk's rounded ``Y``: 36.66MB → 38,440,796), ``Requests/sec``, the ``Latency``
    line's average and maximum, the ``Latency Distribution`` block of ``--latency``
    (50 %, 75 %, 90 %, 99 %: no p95, and no minimum), ``Non-2xx or 3xx responses`` and
    ``Socket errors`` (their sum is ``errors``). Times are as wrk rounds them (two
    decimals in its unit).

    Parameters
    ----------
    path : str or PathLike
        wrk's stdout saved to a file (the done() JSON line alone also works).
    errors : {"raise", "skip"}
        ``"skip"`` ignores a done() JSON line that does not parse and reads the printed
        summary instead.
    name : str
        The row's name.

    Returns
    -------
    polars.DataFrame
        SUMMARY, one row named ``name``. An empty file gives an empty SUMMARY.

    Raises
    ------
    InputError
        Neither a done() JSON line nor wrk's printed summary is found.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "wrk.txt"
    >>> _ = p.write_text('''Running 2s test @ http://127.0.0.1:8080/api
    ...   2 threads and 10 connections
    ...   Thread Stats   Avg      Stdev     Max   +/- Stdev
    ...     Latency   247.26us  470.97us   9.36ms   95.20%
    ...     Req/Sec    28.12k     5.18k   46.61k    78.05%
    ...   Latency Distribution
    ...      50%  137.00us
    ...      75%  231.00us
    ...      90%  395.00us
    ...      99%    2.64ms
    ...   114744 requests in 2.10s, 36.66MB read
    ...   Non-2xx or 3xx responses: 5702
    ... Requests/sec:  54649.99
    ... Transfer/sec:     17.46MB
    ... ''')
    >>> read_wrk(p).select("requests", "errors", "rps", "mean_ms", "p50_ms", "p99_ms")
    shape: (1, 6)
    ┌──────────┬────────┬──────────┬─────────┬────────┬────────┐
    │ requests ┆ errors ┆ rps      ┆ mean_ms ┆ p50_ms ┆ p99_ms │
    │ ---      ┆ ---    ┆ ---      ┆ ---     ┆ ---    ┆ ---    │
    │ i64      ┆ i64    ┆ f64      ┆ f64     ┆ f64    ┆ f64    │
    ╞══════════╪════════╪══════════╪═════════╪════════╪════════╡
    │ 114744   ┆ 5702   ┆ 54649.99 ┆ 0.24726 ┆ 0.137  ┆ 2.64   │
    └──────────┴────────┴──────────┴─────────┴────────┴────────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return SUMMARY.empty()
    return _wrk.wrk(src, name)


# ---------------------------------------------------------------------------------------
# command and code benchmarks


def read_hyperfine(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read hyperfine's ``--export-json``: one REQUESTS row per timed run.

    ``name`` is the command (as hyperfine names it: the ``-n`` name when given, else
    the command line; with ``--parameter-scan`` each value is its own command);
    ``latency_ms`` the run's wall-clock time (``times``) × 1000. ``start``,
    ``status`` and ``bytes`` are null. A run whose ``exit_codes`` entry is not 0 (run
    with ``--ignore-failure``) has ``error`` ``"exit <code>"`` (``"killed by a
    signal"`` for hyperfine's null). Warm-up runs are not in the file.

    Parameters
    ----------
    path : str or PathLike
        The ``--export-json`` file.
    errors : {"raise", "skip"}
        What to do with an entry of the wrong shape: raise, or drop it and warn.

    Returns
    -------
    polars.DataFrame
        REQUESTS, one row per timed run, in the file's order. An empty file gives
        an empty REQUESTS.

    Raises
    ------
    InputError
        The file is not JSON (in both modes), or not this tool's document; an
        entry of the wrong shape with ``errors="raise"`` (named by its JSON path).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "hyperfine.json"
    >>> _ = p.write_text(json.dumps({"results": [
    ...     {"command": "index", "mean": 0.0097, "times": [0.0098, 0.0096], "exit_codes": [0, 0]},
    ...     {"command": "fail", "mean": 0.009, "times": [0.009], "exit_codes": [22]}]}))
    >>> read_hyperfine(p).select("name", "latency_ms", "error")
    shape: (3, 3)
    ┌───────┬────────────┬─────────┐
    │ name  ┆ latency_ms ┆ error   │
    │ ---   ┆ ---        ┆ ---     │
    │ str   ┆ f64        ┆ str     │
    ╞═══════╪════════════╪═════════╡
    │ index ┆ 9.8        ┆ null    │
    │ index ┆ 9.6        ┆ null    │
    │ fail  ┆ 9.0        ┆ exit 22 │
    └───────┴────────────┴─────────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return REQUESTS.empty()
    return _bench_formats.hyperfine(src, load_json(src))


def read_pytest_benchmark(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read pytest-benchmark JSON: per-round times when recorded, else summary rows.

    ``pytest --benchmark-json=FILE`` records every round's time in ``stats.data``
    (pytest-benchmark 4+; a saved run, ``--benchmark-save``/``autosave``, only with
    ``--benchmark-save-data``). When every benchmark has it, the result is REQUESTS:
    one row per round, ``latency_ms`` its time per iteration (pytest-benchmark divides
    a round by its iterations) × 1000, ``start``/``status``/``bytes`` null. Otherwise
    it is SUMMARY, one row per benchmark: ``requests`` = rounds, ``duration_s`` =
    total, ``rps`` = ops, ``mean_ms``, ``min_ms``, ``p50_ms`` (median), ``max_ms``;
    ``errors`` 0 (a benchmark that fails is not in the file).

    ``name`` is the benchmark's ``fullname`` (``tests/test_x.py::test_sort[100]``:
    unique across modules), its ``name`` when there is no ``fullname``.

    Parameters
    ----------
    path : str or PathLike
        The ``--benchmark-json`` file or a saved run (``.benchmarks/…/0001_x.json``).
    errors : {"raise", "skip"}
        What to do with an entry of the wrong shape: raise, or drop it and warn.

    Returns
    -------
    polars.DataFrame
        REQUESTS when every benchmark read has ``stats.data``, else SUMMARY (one row
        per benchmark). An empty file, or an empty ``benchmarks`` list, gives an
        empty REQUESTS.

    Raises
    ------
    InputError
        The file is not JSON (in both modes), or not this tool's document; an
        entry of the wrong shape with ``errors="raise"`` (named by its JSON path).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bench.json"
    >>> bench = {"name": "test_sort", "fullname": "t.py::test_sort", "stats": {
    ...     "min": 0.001, "max": 0.003, "mean": 0.002, "median": 0.002, "rounds": 3,
    ...     "total": 0.006, "ops": 500.0, "data": [0.001, 0.002, 0.003]}}
    >>> _ = p.write_text(json.dumps({"benchmarks": [bench]}))
    >>> read_pytest_benchmark(p).select("name", "latency_ms")
    shape: (3, 2)
    ┌─────────────────┬────────────┐
    │ name            ┆ latency_ms │
    │ ---             ┆ ---        │
    │ str             ┆ f64        │
    ╞═════════════════╪════════════╡
    │ t.py::test_sort ┆ 1.0        │
    │ t.py::test_sort ┆ 2.0        │
    │ t.py::test_sort ┆ 3.0        │
    └─────────────────┴────────────┘
    >>> del bench["stats"]["data"]
    >>> _ = p.write_text(json.dumps({"benchmarks": [bench]}))
    >>> read_pytest_benchmark(p).select("name", "requests", "rps", "p50_ms")
    shape: (1, 4)
    ┌─────────────────┬──────────┬───────┬────────┐
    │ name            ┆ requests ┆ rps   ┆ p50_ms │
    │ ---             ┆ ---      ┆ ---   ┆ ---    │
    │ str             ┆ i64      ┆ f64   ┆ f64    │
    ╞═════════════════╪══════════╪═══════╪════════╡
    │ t.py::test_sort ┆ 3        ┆ 500.0 ┆ 2.0    │
    └─────────────────┴──────────┴───────┴────────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return REQUESTS.empty()
    return _bench_formats.pytest_benchmark(src, load_json(src))


def read_asv(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read an asv results file: samples when recorded, else one SUMMARY row each.

    asv ≥ 0.5 stores a machine's results per commit and environment in
    ``results/<machine>/<commit>-<env>.json``: ``results`` maps each benchmark to a
    list whose fields ``result_columns`` names (``result, params, version, started_at,
    duration, stats_ci_99_a, stats_ci_99_b, stats_q_25, stats_q_75, stats_number,
    stats_repeat, samples, profile``; trailing empty ones omitted). Only timing
    benchmarks (``time_*``, ``timeraw_*``) are read; ``track_``/``mem_``/``peakmem_``
    ones hold no time and are skipped (logged). A parameterized benchmark gives one
    name per combination: ``module.time_x(100, 'a')`` (asv's ``repr`` of each value).

    When every benchmark has ``samples`` (``asv run --record-samples``) the result is
    REQUESTS: one row per sample, ``latency_ms`` = seconds × 1000 (asv's samples are
    per call). Otherwise SUMMARY: ``p50_ms`` is the ``result`` (asv reports the median
    of its samples), ``requests`` the number of samples (``stats_repeat``); asv's
    interquartile range and 99 % confidence interval have no SUMMARY column and are
    not kept. A benchmark that failed (a null result) is a row with ``error``
    ``"benchmark failed"`` (REQUESTS) or ``errors`` 1 (SUMMARY).

    Parameters
    ----------
    path : str or PathLike
        A results file (not ``benchmarks.json`` or ``machine.json``).
    errors : {"raise", "skip"}
        What to do with an entry of the wrong shape: raise, or drop it and warn.

    Returns
    -------
    polars.DataFrame
        REQUESTS when every timing benchmark that has a result has ``samples``
        (failed ones need none), else SUMMARY (one row per benchmark and parameter
        combination). An empty file, or one without timing benchmarks, gives an
        empty REQUESTS.

    Raises
    ------
    InputError
        The file is not JSON (in both modes), not an asv results file, or from
        asv < 0.5 (no ``result_columns``); an entry of the wrong shape with
        ``errors="raise"``.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "abc123-existing.json"
    >>> _ = p.write_text(json.dumps({"version": 2, "commit_hash": "abc123",
    ...     "result_columns": ["result", "params", "version", "started_at", "duration",
    ...         "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75",
    ...         "stats_number", "stats_repeat", "samples"],
    ...     "results": {
    ...         "bench.time_dumps": [[1.4e-05, 7.8e-05], [["100", "1000"]], "v", 0, 1.0,
    ...                              None, None, None, None, [786, 157], [10, 10]],
    ...         "bench.track_len": [[5000], [], "v", 0, 0.4]}}))
    >>> read_asv(p).select("name", "requests", "p50_ms")
    shape: (2, 3)
    ┌────────────────────────┬──────────┬────────┐
    │ name                   ┆ requests ┆ p50_ms │
    │ ---                    ┆ ---      ┆ ---    │
    │ str                    ┆ i64      ┆ f64    │
    ╞════════════════════════╪══════════╪════════╡
    │ bench.time_dumps(100)  ┆ 10       ┆ 0.014  │
    │ bench.time_dumps(1000) ┆ 10       ┆ 0.078  │
    └────────────────────────┴──────────┴────────┘
    """
    src = open_source(path, errors)
    if src.is_blank():
        return REQUESTS.empty()
    return _bench_formats.asv(src, load_json(src))


# ---------------------------------------------------------------------------------------
# any format


def read_results(
    path: PathLike, *, format: str | None = None, errors: ErrorMode = "raise"
) -> pl.DataFrame:
    """Read any supported result file, choosing the reader by its content.

    Parameters
    ----------
    path : str or PathLike
        The file (for Locust, the ``_stats.csv`` or ``_stats_history.csv`` file).
    format : str, optional
        One of :data:`FORMATS`; default: :func:`sniff_format`.
    errors : {"raise", "skip"}
        Passed to the reader.

    Returns
    -------
    polars.DataFrame
        What the format's reader returns (REQUESTS, SUMMARY or TIMELINE); for
        ``perflab``, the saved REQUESTS or SUMMARY frame.

    Raises
    ------
    InputError
        The content is none of the formats (the message lists what is recognised).
    ParameterError
        An unknown ``format``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> _ = p.write_text("Percentage served,Time in ms\\n0,0.2\\n50,0.6\\n100,5.6\\n")
    >>> sniff_format(p), read_results(p).select("name", "p50_ms", "max_ms").row(0)
    ('ab', ('all', 0.6, 5.6))
    """
    fmt = format if format is not None else sniff_format(path)
    if fmt not in FORMATS:
        raise ParameterError(f"format must be one of {', '.join(FORMATS)}; not {fmt!r}")
    if fmt == "perflab":
        from perflab.loadtest.aggregate import load_results

        return load_results(path, what=str(path))[1]
    reader = {
        "k6": read_k6,
        "hey": read_hey,
        "locust": read_locust,
        "locust_history": read_locust_history,
        "jmeter": read_jmeter,
        "wrk": read_wrk,
        "vegeta": read_vegeta,
        "ab": read_ab,
        "hyperfine": read_hyperfine,
        "pytest_benchmark": read_pytest_benchmark,
        "asv": read_asv,
    }[fmt]
    return reader(path, errors=errors)


_RECOGNISED = (
    "k6 --out json or --summary-export, hey -o csv, Locust *_stats.csv or "
    "*_stats_history.csv, JMeter CSV with header, wrk output, vegeta encode (JSON or "
    "CSV), ApacheBench -g or -e, hyperfine --export-json, pytest-benchmark JSON, "
    "asv results"
)


def sniff_format(path: PathLike) -> str:
    """The format :func:`read_results` would read ``path`` as (see :data:`FORMATS`).

    The first line decides for the text formats (their headers, wrk's ``Running …
    test @``, vegeta's CSV of a 19-digit nanosecond time and a status); a JSON line
    by its keys (k6's ``type``, vegeta's ``attack``/``latency``, wrk's ``latency_us``);
    a JSON document by its top-level keys (hyperfine's ``results`` list,
    pytest-benchmark's ``benchmarks``, asv's ``result_columns``, k6's ``metrics``).
    An empty file is ``hey`` (any per-request reader gives an empty REQUESTS). Before
    all that, a ``.parquet`` file, or a ``.csv``/``.tsv`` whose header has
    ``latency_ms`` (REQUESTS) or ``name`` and a SUMMARY metric column, is
    ``perflab`` (a frame perflab saved).

    Parameters
    ----------
    path : str or PathLike
        The file (``.gz`` too).

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InputError
        None of the formats, listing those recognised.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("Type,Name,Request Count,Failure Count\\n")
    >>> sniff_format(p)
    'locust'
    """
    if _perflab_frame(path):
        return "perflab"
    src = open_source(path, "raise")
    if src.is_blank():
        return "hey"
    first = _first_line(src)
    if first.startswith("{") or first.startswith("["):
        fmt = _sniff_json_line(first)
        if fmt is not None:
            return fmt
        return _sniff_json_doc(src)
    if first.startswith("response-time,DNS+dialup"):
        return "hey"
    if first.startswith("starttime\tseconds") or first.startswith("Percentage served"):
        return "ab"
    if first.startswith("Type,Name,Request Count"):
        return "locust"
    if first.startswith("Timestamp,User Count"):
        return "locust_history"
    if "timeStamp" in first and "elapsed" in first:
        return "jmeter"
    if _wrk.is_wrk(first):
        return "wrk"
    fields = first.split(",")
    if len(fields) >= 6 and fields[0].isdigit() and len(fields[0]) >= 18 and fields[1].isdigit():
        return "vegeta"
    raise InputError(src.name, 1, f"not a format perflab recognises ({_RECOGNISED})")


def _perflab_frame(path: PathLike) -> bool:
    """Whether ``path`` is a REQUESTS or SUMMARY frame saved as Parquet or CSV."""
    from perflab.loadtest.aggregate import _columns_of, _kind_of

    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return p.is_file()
    return p.is_file() and _kind_of(_columns_of(p) or []) is not None


def read_folder(
    folder: PathLike, *, names: Sequence[str] | None = None, errors: ErrorMode = "raise"
) -> dict[str, pl.DataFrame]:
    """Every result file in ``folder`` that :func:`read_results` recognises, by file name.

    Parameters
    ----------
    folder : str or PathLike
        A folder of result files of any of the tools (other files are passed over).
    names : sequence of str, optional
        Read only these files, in this order (a missing one is an error); default
        every file, sorted by name, that is a result file: the others are passed over
        (logged; a warning when none is a result file).
    errors : {"raise", "skip"}
        Passed to each reader.

    Returns
    -------
    dict of str to polars.DataFrame
        File name → what :func:`read_results` returns for it.

    Raises
    ------
    InputError
        A file named in ``names`` is missing or is not a result file; or a result
        file is malformed (with ``errors="raise"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ab.csv").write_text("Percentage served,Time in ms\\n50,0.6\\n100,5.6\\n")
    >>> _ = (d / "notes.txt").write_text("not a result file\\n")
    >>> list(read_folder(d))
    ['ab.csv']
    """
    base = Path(folder)
    if not base.is_dir():
        raise InputError(str(base), None, "no such folder")
    if names is not None:
        return {n: read_results(base / n, errors=errors) for n in names}
    found: dict[str, pl.DataFrame] = {}
    passed: list[str] = []
    for path in sorted(p for p in base.iterdir() if p.is_file()):
        try:
            fmt = sniff_format(path)
        except InputError:
            passed.append(path.name)  # not a result file: a log, a printed summary, notes
            continue
        found[path.name] = read_results(path, format=fmt, errors=errors)
    if passed and not found:
        warn_input(
            str(base),
            f"no result file perflab recognises ({_RECOGNISED}) among: "
            + ", ".join(passed[:5])
            + (" …" if len(passed) > 5 else ""),
        )
    elif passed:
        logger.info(
            "%s: passed over %d file(s) that are not result files: %s",
            base,
            len(passed),
            ", ".join(passed),
        )
    return found


def _first_line(src: Source) -> str:
    text = src.head(8192).decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    return text.split("\n", 1)[0].rstrip("\r")


def _sniff_json_line(line: str) -> str | None:
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if doc.get("type") in ("Point", "Metric"):
        return "k6"
    if {"code", "latency", "timestamp"} <= doc.keys():
        return "vegeta"
    if "latency_us" in doc and "requests" in doc:
        return "wrk"
    return None


def _sniff_json_doc(src: Source) -> str:
    doc = load_json(src)
    if isinstance(doc, dict):
        if isinstance(doc.get("results"), list):
            return "hyperfine"
        if isinstance(doc.get("benchmarks"), list):
            return "pytest_benchmark"
        if "result_columns" in doc or ("commit_hash" in doc and "results" in doc):
            return "asv"
        if isinstance(doc.get("metrics"), dict):
            return "k6"
    raise InputError(src.name, 1, f"JSON, but not a format perflab recognises ({_RECOGNISED})")

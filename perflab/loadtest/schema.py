"""Canonical frames of the load-testing domain, each declared once as a ``Schema``.

``REQUESTS`` — one row per request (or per timed run, for command benchmarks), what
:func:`perflab.loadtest.run` streams to Parquet and what every importer of a
per-request format returns:

============  ======  ===================================================================
column        dtype   meaning
============  ======  ===================================================================
start         f64     seconds from the start of the test (after any warm-up) at which
                      the request was *meant* to be sent — the arrival schedule of an
                      open model; the send time where the tool records only that; null
                      where the tool records no time at all (hyperfine, pytest-benchmark)
sent          f64     seconds from the start of the test at which it was actually sent;
                      null where the tool does not tell
latency_ms    f64     response time in ms, measured from ``start``: with an open model
                      this includes the time the request waited for a free connection
                      (corrected for coordinated omission); null when no response came
service_ms    f64     ms from ``sent`` to the end of the response (what the server and
                      network took); null where the tool does not separate the two
status        i64     HTTP status; null when there was no response (timeout, refused…)
bytes         i64     response bytes received (headers and body); null when unknown
error         str     why the request failed (``timeout``, ``connection refused``,
                      ``closed mid-response``, ``http 503``…); null when it succeeded
name          str     the request's label: scenario step, k6 ``name`` tag, Locust name,
                      JMeter label, hyperfine command, benchmark name; the URL otherwise
============  ======  ===================================================================

A request *failed* when ``error`` is not null or its ``status`` is 400 or more. Every
tool reports HTTP errors its own way; the importers set ``error`` to ``http <status>``
for a 4xx/5xx status unless the tool says otherwise (JMeter's ``success`` column, k6's
``expected_response`` tag).

``SUMMARY`` — one row per request ``name`` plus the ``"all"`` row, what
:func:`perflab.loadtest.summary` returns and what importers of aggregate-only formats
(Locust's ``*_stats.csv``, wrk's ``done()`` output, ApacheBench ``-e``, pytest-benchmark
without ``--benchmark-save-data``) return. Percentiles a tool did not report are null.

``TIMELINE`` — one row per time window (default one second) and name, what
:func:`perflab.loadtest.timeline` returns and what Locust's ``*_stats_history.csv``
reads into: throughput, errors and latency percentiles over time.

``COMPARISON`` — one row per metric, what :func:`perflab.loadtest.compare` returns:
the candidate's change against the baseline with its confidence interval, the tests
behind it, and a verdict among :data:`VERDICTS`.
"""

from __future__ import annotations

import polars as pl

from perflab.frames import Schema

__all__ = ["COMPARISON", "REQUESTS", "SUMMARY", "TIMELINE", "VERDICTS"]

VERDICTS: tuple[str, ...] = ("faster", "slower", "equivalent", "inconclusive")
"""The verdicts of :func:`perflab.loadtest.compare`. For throughput "faster" means more
requests per second; for the error rate it means fewer errors ("better")."""

REQUESTS = Schema(
    "load-test requests",
    {
        "start": pl.Float64,
        "sent": pl.Float64,
        "latency_ms": pl.Float64,
        "service_ms": pl.Float64,
        "status": pl.Int64,
        "bytes": pl.Int64,
        "error": pl.String,
        "name": pl.String,
    },
)

SUMMARY = Schema(
    "load-test summary",
    {
        "name": pl.String,
        "requests": pl.Int64,
        "errors": pl.Int64,
        "duration_s": pl.Float64,
        "rps": pl.Float64,
        "error_rate": pl.Float64,
        "mean_ms": pl.Float64,
        "min_ms": pl.Float64,
        "p50_ms": pl.Float64,
        "p90_ms": pl.Float64,
        "p95_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "max_ms": pl.Float64,
        "service_p50_ms": pl.Float64,
        "service_p95_ms": pl.Float64,
        "service_p99_ms": pl.Float64,
        "bytes": pl.Int64,
    },
)

TIMELINE = Schema(
    "load-test timeline",
    {
        "second": pl.Float64,
        "name": pl.String,
        "requests": pl.Int64,
        "rps": pl.Float64,
        "errors": pl.Int64,
        "p50_ms": pl.Float64,
        "p95_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "service_p95_ms": pl.Float64,
    },
    optional={"users": pl.Int64},
)

COMPARISON = Schema(
    "load-test comparison",
    {
        "metric": pl.String,
        "unit": pl.String,
        "baseline": pl.Float64,
        "candidate": pl.Float64,
        "change": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "p_adjusted": pl.Float64,
        "margin": pl.Float64,
        "verdict": pl.String,
    },
)

"""Canonical frames of the load-balancing domain, each declared once as a ``Schema``.

``TRACE`` — one row per request seen by a load balancer, sorted by arrival: what the
readers (:func:`~perflab.balancing.read_nginx`, :func:`~perflab.balancing.read_haproxy`)
and :func:`~perflab.balancing.generate_trace` return and
:func:`~perflab.balancing.simulate` replays.

===========  ====================  ======================================================
column       dtype                 meaning
===========  ====================  ======================================================
time_s       f64                   arrival, seconds since the first request of the trace
service_ms   f64                   service demand: what the upstream took, ms (nginx
                                   ``$upstream_response_time`` summed over its attempts;
                                   HAProxy ``Tr``); null when no upstream answered
client       str                   client address (``$remote_addr``, HAProxy ``%ci``);
                                   the key of ``ip_hash`` and of sessions
key          str                   the request's hash key for ``consistent_hash`` (the
                                   path); null falls back to ``client``
backend      str                   the upstream that served it (the last of nginx's
                                   ``$upstream_addr`` list; HAProxy's server name); null
                                   when none did
attempts     i64                   upstreams tried (nginx retries list several)
status       i64                   HTTP status sent to the client; null when unknown
latency_ms   f64                   total time at the balancer, ms; null when unknown
===========  ====================  ======================================================

``RESULTS`` — one row per simulated strategy (:func:`~perflab.balancing.simulate`):

==============  =====  ===============================================================
column          dtype  meaning
==============  =====  ===============================================================
strategy        str    the strategy's name
requests        i64    requests replayed
failed          i64    requests sent to a backend while it was down
p50_ms          f64    median latency (queueing + service) of the requests served, ms
p95_ms          f64    95th percentile, ms
p99_ms          f64    99th percentile, ms
mean_ms         f64    mean latency, ms
mean_wait_ms    f64    mean time queued before service, ms
imbalance       f64    requests of the busiest backend over the mean per backend
cv              f64    coefficient of variation of the requests per backend
sticky_pct      f64    of the requests whose client had been seen, the share (%) sent
                       to the same backend as that client's previous request
==============  =====  ===============================================================

``LOAD`` — one row per strategy and backend: ``strategy``, ``backend`` (str),
``requests``, ``failed`` (i64), ``share_pct`` (share of the requests, %),
``busy_pct`` (service time over the backend's capacity during the trace, %),
``p99_ms`` (f64, of its served requests).
"""

from __future__ import annotations

import polars as pl

from perflab.frames import Schema

__all__ = ["LOAD", "RESULTS", "TRACE"]

TRACE = Schema(
    "balancer trace",
    {
        "time_s": pl.Float64,
        "service_ms": pl.Float64,
        "client": pl.String,
        "key": pl.String,
        "backend": pl.String,
        "attempts": pl.Int64,
        "status": pl.Int64,
        "latency_ms": pl.Float64,
    },
    finite=("time_s",),
)

RESULTS = Schema(
    "balancing results",
    {
        "strategy": pl.String,
        "requests": pl.Int64,
        "failed": pl.Int64,
        "p50_ms": pl.Float64,
        "p95_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "mean_ms": pl.Float64,
        "mean_wait_ms": pl.Float64,
        "imbalance": pl.Float64,
        "cv": pl.Float64,
        "sticky_pct": pl.Float64,
    },
)

LOAD = Schema(
    "balancing load",
    {
        "strategy": pl.String,
        "backend": pl.String,
        "requests": pl.Int64,
        "failed": pl.Int64,
        "share_pct": pl.Float64,
        "busy_pct": pl.Float64,
        "p99_ms": pl.Float64,
    },
)

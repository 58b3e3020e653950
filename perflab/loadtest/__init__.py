"""Load testing: an honest load generator, every common result format, and verdicts.

:func:`run` drives an HTTP/1.1 target with an open model (a constant or ramping arrival
rate; latency counted from the *intended* send time, so a stalled server is not hidden
by coordinated omission) or a closed model (users with think time), one process per
core, every request streamed to Parquet as a :data:`REQUESTS` frame — or from the
workers of a Dask cluster at one shared rate (``cluster=``, :func:`run_cluster`), their
requests merged into one frame. Importers read
k6, Locust, JMeter, wrk, hey, vegeta, ApacheBench, hyperfine, pytest-benchmark and asv
results into the same frames; :func:`summary` and :func:`timeline` aggregate them;
:func:`compare` says whether a candidate run is faster, slower, equivalent or whether
the data cannot tell; :func:`benchmark` times two alternatives interleaved; and
``perflab gate`` turns thresholds and a baseline into a CI exit status. Every frame's
columns are in :mod:`perflab.loadtest.schema`; the notebook's charts in
:mod:`perflab.loadtest.charts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.lazy import exports as _exports
from perflab.loadtest.schema import COMPARISON, REQUESTS, SUMMARY, TIMELINE, VERDICTS

if TYPE_CHECKING:
    from perflab.loadtest._cluster import ClusterRun, histogram_of, run_cluster
    from perflab.loadtest.aggregate import describe_run, headline, summary, timeline
    from perflab.loadtest.benchmarking import BenchmarkResult, benchmark
    from perflab.loadtest.comparison import compare
    from perflab.loadtest.gates import GateResult, gate
    from perflab.loadtest.generator import TargetUnreachableError, run
    from perflab.loadtest.histogram import Histogram
    from perflab.loadtest.history import read_history, run_changes
    from perflab.loadtest.live import live_runs
    from perflab.loadtest.read import (
        read_ab,
        read_asv,
        read_folder,
        read_hey,
        read_hyperfine,
        read_jmeter,
        read_k6,
        read_locust,
        read_locust_history,
        read_pytest_benchmark,
        read_results,
        read_vegeta,
        read_wrk,
        sniff_format,
    )
    from perflab.loadtest.rules import top_recommendations
    from perflab.loadtest.scenario import Request, Scenario

# name → the module that defines it, imported on first use. No module is named like a
# public function (``summary`` lives in ``aggregate``, ``compare`` in ``comparison``):
# a submodule would shadow the function once imported.
_HOME = {
    "BenchmarkResult": "benchmarking",
    "ClusterRun": "_cluster",
    "GateResult": "gates",
    "Histogram": "histogram",
    "Request": "scenario",
    "Scenario": "scenario",
    "TargetUnreachableError": "generator",
    "benchmark": "benchmarking",
    "compare": "comparison",
    "describe_run": "aggregate",
    "gate": "gates",
    "headline": "aggregate",
    "histogram_of": "_cluster",
    "live_runs": "live",
    "read_ab": "read",
    "read_asv": "read",
    "read_hey": "read",
    "read_hyperfine": "read",
    "read_jmeter": "read",
    "read_k6": "read",
    "read_locust": "read",
    "read_locust_history": "read",
    "read_folder": "read",
    "read_history": "history",
    "read_pytest_benchmark": "read",
    "read_results": "read",
    "read_vegeta": "read",
    "read_wrk": "read",
    "run": "generator",
    "run_changes": "history",
    "run_cluster": "_cluster",
    "sniff_format": "read",
    "summary": "aggregate",
    "timeline": "aggregate",
    "top_recommendations": "rules",
}

__all__ = [
    "COMPARISON",
    "REQUESTS",
    "SUMMARY",
    "TIMELINE",
    "VERDICTS",
    "BenchmarkResult",
    "ClusterRun",
    "GateResult",
    "Histogram",
    "Request",
    "Scenario",
    "TargetUnreachableError",
    "benchmark",
    "compare",
    "describe_run",
    "gate",
    "headline",
    "histogram_of",
    "live_runs",
    "read_ab",
    "read_asv",
    "read_folder",
    "read_hey",
    "read_history",
    "read_hyperfine",
    "read_jmeter",
    "read_k6",
    "read_locust",
    "read_locust_history",
    "read_pytest_benchmark",
    "read_results",
    "read_vegeta",
    "read_wrk",
    "run",
    "run_changes",
    "run_cluster",
    "sniff_format",
    "summary",
    "timeline",
    "top_recommendations",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

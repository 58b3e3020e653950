"""Load balancing: a live balancer, a trace-driven simulator, log readers and rules.

Live: :class:`Balancer` picks backends in a request path (round robin, least
connections, nginx's smooth weighted round robin and ``ip_hash``, power of two
choices, a consistent-hash ring, peak EWMA), with active health checks
(:func:`http_probe`), passive outlier ejection with backoff, sticky sessions and slow
start. What-if: :func:`simulate` / :func:`run_simulation` replay a request trace
through each strategy over heterogeneous backends with a slowdown and an outage;
:func:`erlang_c` and :func:`mmc_wait` give the queueing theory it is checked against.
Readers: nginx access logs with upstream fields (:func:`read_nginx`) and HAProxy HTTP
logs (:func:`read_haproxy`). :func:`observed_load` says how the balancer spread the
traffic; :func:`findings` ranks what to change. Frames are in
:mod:`perflab.balancing.schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.balancing.schema import LOAD, RESULTS, TRACE
from perflab.lazy import exports as _exports

if TYPE_CHECKING:
    from perflab.balancing.balancer import STRATEGIES, Backend, Balancer, Pick, http_probe
    from perflab.balancing.read import observed_load, read_backends, read_haproxy, read_nginx
    from perflab.balancing.rules import findings
    from perflab.balancing.simulation import (
        SIM_STRATEGIES,
        Simulation,
        erlang_c,
        generate_trace,
        logged_vs_replayed,
        mmc_wait,
        outages_from_log,
        run_simulation,
        service_demand,
        simulate,
    )

# name → the module that defines it, imported on first use (numba compiles on first use).
# No module is named like a public function: it would shadow the function once imported.
_HOME = {
    "Backend": "balancer",
    "Balancer": "balancer",
    "Pick": "balancer",
    "SIM_STRATEGIES": "simulation",
    "STRATEGIES": "balancer",
    "Simulation": "simulation",
    "erlang_c": "simulation",
    "findings": "rules",
    "generate_trace": "simulation",
    "http_probe": "balancer",
    "logged_vs_replayed": "simulation",
    "mmc_wait": "simulation",
    "outages_from_log": "simulation",
    "observed_load": "read",
    "read_backends": "read",
    "read_haproxy": "read",
    "read_nginx": "read",
    "run_simulation": "simulation",
    "service_demand": "simulation",
    "simulate": "simulation",
}

__all__ = [
    "LOAD",
    "RESULTS",
    "SIM_STRATEGIES",
    "STRATEGIES",
    "TRACE",
    "Backend",
    "Balancer",
    "Pick",
    "Simulation",
    "erlang_c",
    "findings",
    "generate_trace",
    "http_probe",
    "logged_vs_replayed",
    "mmc_wait",
    "observed_load",
    "outages_from_log",
    "read_backends",
    "read_haproxy",
    "read_nginx",
    "run_simulation",
    "service_demand",
    "simulate",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

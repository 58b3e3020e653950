"""perflab's balancing simulator against a SimPy model of the same system; pick() cost.

Input: a seeded trace (:func:`perflab.balancing.generate_trace`) of ``--requests``
(1 million) Poisson arrivals at 1,800/s, exponential service of 1 ms, over three
backends (speeds 1.5, 1, 0.75; 1 server each), no failures.

Printed, each the median of ``--runs`` runs:

* **simulate** — simulated requests per second of :func:`perflab.balancing.simulate`
  per strategy (one core: numba's loop is sequential; the time includes preparing
  the trace and the summary), beside a SimPy model of the same system: one
  ``simpy.Resource`` per backend, a process per request choosing its backend with the
  same strategy (round robin, least connections, p2c), on ``--simpy-requests``
  (100,000) requests. Both mean latencies are printed, to show they model the same
  thing. Target: ≥ 1 M simulated requests/s for the simple strategies.
* **pick()** — median cost of :meth:`perflab.balancing.Balancer.pick` plus
  :meth:`~perflab.balancing.Balancer.release` in µs per strategy, beside ``next()`` on
  a plain :func:`itertools.cycle`.

The first perflab call compiles the kernel (numba, cached on disk): a warm-up run on
a small trace comes first and is not timed.

Run: ``.venv/bin/python benchmarks/bench_balancing.py [--requests N] [--runs 3]``.
Needs ``pip install simpy`` (a benchmark dependency only).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time

import numpy as np
from _timing import timings

from perflab.balancing import Backend, Balancer, generate_trace, simulate

BACKENDS = [Backend("a", speed=1.5), Backend("b"), Backend("c", speed=0.75)]


def simpy_model(t: np.ndarray, svc: np.ndarray, strategy: str, seed: int = 0) -> float:
    """The same system in SimPy; returns the mean latency in ms."""
    import simpy

    env = simpy.Environment()
    res = [simpy.Resource(env, capacity=b.servers) for b in BACKENDS]
    inflight = [0] * len(BACKENDS)
    rng = random.Random(seed)
    rr = itertools.count()
    lat: list[float] = []

    def choose() -> int:
        if strategy == "round_robin":
            return next(rr) % len(res)
        if strategy == "least_connections":
            start = next(rr) % len(res)
            order = [(start + k) % len(res) for k in range(len(res))]
            return min(order, key=lambda i: inflight[i])
        a, b = rng.sample(range(len(res)), 2)
        return a if inflight[a] <= inflight[b] else b

    def request(i: int, b: int):  # type: ignore[no-untyped-def]
        with res[b].request() as req:
            yield req
            yield env.timeout(svc[i] / BACKENDS[b].speed)
        inflight[b] -= 1
        lat.append(env.now - t[i])

    def source():  # type: ignore[no-untyped-def]
        for i in range(len(t)):
            yield env.timeout(t[i] - env.now)
            b = choose()
            inflight[b] += 1
            env.process(request(i, b))

    env.process(source())
    env.run()
    return 1000.0 * float(np.mean(lat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--simpy-requests", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    trace = generate_trace(args.requests, 1800.0, 1.0, seed=1)
    simulate(trace.head(1000), BACKENDS, "round_robin")  # compile (cached on disk)
    small = trace.head(args.simpy_requests)
    t, svc = small["time_s"].to_numpy(), small["service_ms"].to_numpy() / 1000.0
    print(f"simulate: {args.requests:,} requests, 3 backends; SimPy on {args.simpy_requests:,}")
    print(f"{'strategy':<18} {'perflab req/s':>14} {'SimPy req/s':>12} {'ratio':>7} "
          f"{'mean ms':>8} {'SimPy mean':>10}")  # fmt: skip
    for s in ("round_robin", "least_connections", "weighted", "ip_hash", "p2c",
              "consistent_hash", "peak_ewma"):  # fmt: skip
        opts = {"check_s": None, "eject_after": None}
        dt = timings(lambda s=s, o=opts: simulate(trace, BACKENDS, s, **o), args.runs).median
        mean = simulate(small, BACKENDS, s, **opts)["mean_ms"][0]
        rate = args.requests / dt
        if s in ("round_robin", "least_connections", "p2c"):
            t0 = time.perf_counter()
            sp_mean = simpy_model(t, svc, s)
            sp_rate = len(t) / (time.perf_counter() - t0)
            print(f"{s:<18} {rate:>14,.0f} {sp_rate:>12,.0f} {rate / sp_rate:>6.0f}× "
                  f"{mean:>8.3f} {sp_mean:>10.3f}")  # fmt: skip
        else:
            print(f"{s:<18} {rate:>14,.0f} {'':>12} {'':>7} {mean:>8.3f}")
    print("\npick() + release(), median µs over 20,000 (itertools.cycle: next() only)")
    n = 20_000
    cyc = itertools.cycle(["a", "b", "c"])
    base = []
    for _ in range(5):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            next(cyc)
        base.append((time.perf_counter_ns() - t0) / n / 1000)
    cyc_us = statistics.median(base)
    print(f"{'itertools.cycle':<18} {cyc_us:>8.3f} µs")
    clients = [f"10.0.{i % 200}.{i % 250}" for i in range(n)]
    for s in ("round_robin", "least_connections", "weighted", "ip_hash", "p2c",
              "consistent_hash", "peak_ewma"):  # fmt: skip
        lb = Balancer(["a", "b", "c"], s, seed=0)
        per = []
        for _ in range(5):
            t0 = time.perf_counter_ns()
            for c in clients:
                lb.release(lb.pick(client=c))
            per.append((time.perf_counter_ns() - t0) / n / 1000)
        us = statistics.median(per)
        print(f"{s:<18} {us:>8.3f} µs  ({us / cyc_us:,.0f}× cycle)")


if __name__ == "__main__":
    main()

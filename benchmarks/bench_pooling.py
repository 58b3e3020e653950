"""what_if (the numba FIFO pool replay) against a SimPy model of the same pool.

The input is an M/M/c trace (Poisson arrivals at 400/s, exponential holds of mean
10 ms) of ``--requests`` requests, replayed against a pool of 6 connections. The peer
is what a user would write with SimPy: a ``simpy.Resource`` of capacity 6 and a
process per request that waits for it and holds it. Both give the same waits (the
tests check equality); the figures printed are medians of ``--rounds`` runs and the
ratio. Then Erlang C's prediction against the simulation's for sizes 5 to 10.

    .venv/bin/python benchmarks/bench_pooling.py [--requests 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl
from _timing import timings

from perflab.pooling import erlang_table, poisson_trace, replay, what_if

RATE, HOLD, SIZE = 400.0, 10.0, 6


def simpy_waits(arrivals: np.ndarray, holds: np.ndarray, size: int) -> np.ndarray:
    import simpy

    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=size)
    waits = np.zeros(len(arrivals))

    def request(i: int):  # type: ignore[no-untyped-def]
        t = env.now
        with pool.request() as req:
            yield req
            waits[i] = env.now - t
            yield env.timeout(holds[i])

    def source():  # type: ignore[no-untyped-def]
        for i, a in enumerate(arrivals):
            yield env.timeout(a - env.now)
            env.process(request(i))

    env.process(source())
    env.run()
    return waits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--peer-requests", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    trace = poisson_trace(RATE, HOLD, n=args.requests, seed=1)
    what_if(trace.head(100), [SIZE])  # compile the kernel outside the timing
    ours = timings(lambda: what_if(trace, [SIZE]), args.rounds).median
    peer_trace = replay(trace.head(args.peer_requests), SIZE)
    arr, hold = peer_trace["arrival_ms"].to_numpy(), peer_trace["hold_ms"].to_numpy()
    peer = timings(lambda: simpy_waits(arr, hold, SIZE), max(1, args.rounds)).median
    ours_rate = args.requests / ours
    peer_rate = args.peer_requests / peer
    same = np.allclose(simpy_waits(arr, hold, SIZE), peer_trace["sim_wait_ms"].to_numpy())
    print(f"M/M/{SIZE} trace, {RATE:g}/s, hold {HOLD:g} ms (median of {args.rounds})")
    for name, n, took, rate in (
        ("perflab what_if", args.requests, ours, ours_rate),
        ("SimPy Resource", args.peer_requests, peer, peer_rate),
    ):
        print(f"  {name:<17} {n:>9,} requests  {took * 1e3:8.1f} ms  {rate / 1e6:6.3f} M/s")
    print(f"  ratio (requests/s) {ours_rate / peer_rate:,.0f}x; same waits: {same}")
    sizes = list(range(5, 11))
    sim = what_if(poisson_trace(RATE, HOLD, n=1_000_000, seed=2), sizes)
    model = erlang_table(RATE, HOLD, sizes)
    side = sim.select("size", "wait_probability", "mean_wait_ms", "p99_wait_ms").join(
        model.select(
            "size",
            pl.col("wait_probability").alias("erlang_wait_probability"),
            pl.col("mean_wait_ms").alias("erlang_mean_wait_ms"),
            pl.col("p99_wait_ms").alias("erlang_p99_wait_ms"),
        ),
        on="size",
    )
    print("\nErlang C against the simulation (1,000,000 requests, M/M/c at 400/s, 10 ms)")
    with pl.Config(tbl_rows=20, tbl_cols=10, tbl_width_chars=140, float_precision=3):
        print(side)


if __name__ == "__main__":
    main()

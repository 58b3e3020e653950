"""Record the load-test sample: two real runs of perflab's generator, baseline and candidate.

Run by hand (no service needed: it starts perflab's sample server on 127.0.0.1; about
45 seconds):

    .venv/bin/python data/make/loadtest_real.py [--rate 400] [--seconds 20]

Writes ``data/sample/loadtest/baseline.parquet`` and ``candidate.parquet``: every
request of an open-model test (``perflab.loadtest.run``, constant arrival rate, 2 s
warm-up excluded, one worker process, 8 connections) against the sample server
(``perflab.loadtest.sample_server``) in two builds —

* **baseline**: ``/api/items/N`` answers after a lognormal delay of median 2 ms;
* **candidate**: the same route 25 % slower (``slowdown=1.25``), and the whole server
  stops for 150 ms every 4 s — a stop-the-world pause that a closed-model tool hides.

``candidate-closed.parquet`` tests the candidate the way a closed-model tool (Locust,
wrk, JMeter) would: 4 users, each waiting 10 ms between a response and its next
request. It sends nothing while the server is stalled, so its percentiles miss the
requests the stall delayed — compare its p99 with the open-model run's.

The traffic is a weighted mix, seeded: 60 % ``GET /api/items/N`` (N among 50 ids,
named ``GET /api/items/{id}``), 20 % ``GET /static/app.js`` (20 KiB), 15 % ``GET /``,
5 % ``GET /flaky`` (503 for 5 % of them). The timing is the machine's own, so a re-run
differs in its bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perflab.loadtest import Request, Scenario, run
from perflab.loadtest.sample_server import SampleServer

OUT = Path(__file__).parents[1] / "sample" / "loadtest"


def scenario() -> Scenario:
    """The sample's traffic mix."""
    items = [
        Request(f"/api/items/{i}", weight=0.6 / 50, name="GET /api/items/{id}") for i in range(50)
    ]
    return Scenario(
        [
            *items,
            Request("/static/app.js", weight=0.2),
            Request("/", weight=0.15),
            Request("/flaky", weight=0.05),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    builds = {
        "baseline": {"seed": 1},
        "candidate": {"slowdown": 1.25, "stall_every": 4.0, "stall_ms": 150.0, "seed": 2},
    }
    for name, server_args in builds.items():
        with SampleServer(**server_args) as server:  # type: ignore[arg-type]
            frame = run(
                server.url,
                rate=args.rate,
                duration=args.seconds,
                warmup=2.0,
                scenario=scenario(),
                workers=1,
                connections=8,
                seed=7,
                out=OUT / f"{name}.parquet",
            )
        print(f"{name}: {frame.height} requests -> {OUT / (name + '.parquet')}")
    # the candidate again, as a closed-model tool would test it: 4 users, 10 ms think time
    with SampleServer(**builds["candidate"]) as server:  # type: ignore[arg-type]
        frame = run(
            server.url,
            users=4,
            think_time=0.01,
            duration=args.seconds,
            warmup=2.0,
            scenario=scenario(),
            workers=1,
            seed=7,
            out=OUT / "candidate-closed.parquet",
        )
    print(f"candidate-closed: {frame.height} requests")


if __name__ == "__main__":
    main()

"""The simulator against queueing theory, the balancer, and its own promises."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from perflab.balancing import (
    SIM_STRATEGIES,
    Backend,
    Balancer,
    erlang_c,
    generate_trace,
    mmc_wait,
    outages_from_log,
    run_simulation,
    service_demand,
    simulate,
)
from perflab.errors import InputError, ParameterError


def test_erlang_c_matches_known_values():
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = ρ
    # textbook: c = 10, a = 8 Erlangs → C ≈ 0.4092
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-4)
    assert erlang_c(2, 2.0) == 1.0  # saturated: every arrival waits
    with pytest.raises(ParameterError, match="queue grows"):
        mmc_wait(2, 2.0, 1.0)


def test_mm1_mean_wait_matches_theory():
    # λ = 500/s, service 1 ms: ρ = 0.5, Wq = ρ/(μ−λ) = 1 ms
    tr = generate_trace(400_000, 500.0, 1.0, seed=11)
    out = simulate(tr, ["a"], "round_robin", check_s=None, eject_after=None)
    assert out["mean_wait_ms"][0] == pytest.approx(mmc_wait(1, 500.0, 1000.0) * 1000, rel=0.06)
    assert out["mean_ms"][0] == pytest.approx(2.0, rel=0.05)


def test_mmc_mean_wait_matches_erlang_c():
    # one backend with 4 servers, a = 3 Erlangs: Wq = C(4, 3) / (4μ − λ)
    tr = generate_trace(400_000, 3000.0, 1.0, seed=12)
    out = simulate(tr, [Backend("a", servers=4)], "round_robin", check_s=None, eject_after=None)
    want = mmc_wait(4, 3000.0, 1000.0) * 1000
    assert out["mean_wait_ms"][0] == pytest.approx(want, rel=0.08)


def _max_load(strategy: str, n: int, seed: int) -> int:
    # balls into bins: n requests that never finish into n backends
    tr = pl.DataFrame({"time_s": np.arange(n) * 1e-6, "service_ms": np.full(n, 1e12)})
    sim = run_simulation(
        tr,
        [f"b{i}" for i in range(n)],
        strategy,
        check_s=None,
        eject_after=None,
        seed=seed,
        keep_requests=False,
    )
    return int(sim.load["requests"].max())


def test_power_of_two_choices_max_load():
    n = 5000
    p2c = np.mean([_max_load("p2c", n, s) for s in range(4)])
    rnd = np.mean([_max_load("random", n, s) for s in range(4)])
    # p2c: ln ln n / ln 2 + O(1) ≈ 3.1 + O(1); random: ln n / ln ln n ≈ 4.0 (and more)
    assert p2c <= math.log(math.log(n)) / math.log(2) + 1.5
    assert rnd >= math.log(n) / math.log(math.log(n))
    assert rnd - p2c >= 2


def test_simulated_consistent_hash_agrees_with_the_balancer():
    tr = generate_trace(3000, 100.0, 1.0, seed=3)
    names = ["a", "b", "c", "d"]
    sim = run_simulation(tr, names, "consistent_hash", check_s=None, eject_after=None)
    lb = Balancer(names, "consistent_hash")
    want = [lb.pick(key=k).backend for k in tr["key"]]
    assert sim.requests["backend"].to_list() == want


def test_simulated_ip_hash_agrees_with_the_balancer():
    tr = generate_trace(2000, 100.0, 1.0, seed=4)
    names = ["a", "b", "c"]
    sim = run_simulation(tr, names, "ip_hash", check_s=None, eject_after=None)
    lb = Balancer(names, "ip_hash")
    assert sim.requests["backend"].to_list() == [lb.pick(client=c).backend for c in tr["client"]]


def test_round_robin_and_weighted_spread_as_configured():
    tr = generate_trace(9000, 100.0, 1.0, seed=5)
    sim = run_simulation(tr, [Backend("a", 2), Backend("b", 1)], ["round_robin", "weighted"])
    keys = sim.load["strategy"] + "/" + sim.load["backend"]
    load = dict(zip(keys, sim.load["requests"], strict=True))
    assert load["round_robin/a"] == load["round_robin/b"] == 4500
    assert load["weighted/a"] == 6000 and load["weighted/b"] == 3000


def test_outage_fails_requests_until_checks_or_ejection_remove_the_backend():
    tr = generate_trace(60_000, 1000.0, 1.0, seed=6)  # 60 s
    bs = [Backend("a"), Backend("b"), Backend("c", fail_at_s=20.0, recover_at_s=40.0)]
    none = simulate(tr, bs, "round_robin", check_s=None, eject_after=None)
    checks = simulate(tr, bs, "round_robin", check_s=2.0, check_fall=3, eject_after=None)
    eject = simulate(tr, bs, "round_robin", check_s=None, eject_after=5)
    # without anything: a third of the 20 s of traffic fails
    assert none["failed"][0] == pytest.approx(20_000 / 3, rel=0.05)
    # three checks 2 s apart: about 4-6 s of its share, never more
    assert 1000 < checks["failed"][0] < 2200
    # ejection: 5 failures, then 1 per probation (1, 2, 4, 8 s …): a few dozen
    assert 5 <= eject["failed"][0] < 60


def test_slow_backend_hurts_round_robin_more_than_peak_ewma():
    tr = generate_trace(60_000, 1500.0, 1.0, seed=7)
    bs = [Backend("a"), Backend("b"), Backend("c", slow_at_s=10.0, slow_factor=5.0)]
    out = simulate(tr, bs, ["round_robin", "least_connections", "p2c", "peak_ewma"])
    p99 = dict(zip(out["strategy"], out["p99_ms"], strict=False))
    assert p99["peak_ewma"] < p99["round_robin"] / 3
    assert p99["least_connections"] < p99["round_robin"] / 3


def test_stickiness_is_kept_by_hashing_and_by_ttl():
    tr = generate_trace(20_000, 200.0, 1.0, clients=50, seed=8)
    out = simulate(tr, ["a", "b", "c"], ["round_robin", "ip_hash", "consistent_hash"])
    sticky = dict(zip(out["strategy"], out["sticky_pct"], strict=False))
    assert sticky["ip_hash"] == 100.0
    assert sticky["round_robin"] < 50.0
    ttl = simulate(tr, ["a", "b", "c"], "round_robin", sticky_ttl_s=60.0)
    assert ttl["sticky_pct"][0] == 100.0


def test_every_strategy_runs_and_reports_the_schema():
    tr = generate_trace(2000, 300.0, 2.0, seed=9)
    out = simulate(tr, [Backend("a", servers=2), "b"], list(SIM_STRATEGIES))
    assert out["strategy"].to_list() == list(SIM_STRATEGIES)
    assert out.select(pl.col("p50_ms") <= pl.col("p95_ms")).to_series().all()
    assert out.select(pl.col("p95_ms") <= pl.col("p99_ms")).to_series().all()
    assert (out["imbalance"] >= 1.0).all()


def test_service_demand_undoes_speed_and_slowdown():
    tr = pl.DataFrame(
        {"time_s": [0.0, 5.0, 6.0], "service_ms": [4.0, 40.0, 9.0], "backend": ["a", "a", None]}
    )
    bs = [Backend("a", speed=2.0, slow_at_s=1.0, slow_factor=4.0)]
    assert service_demand(tr, bs)["service_ms"].to_list() == [8.0, 20.0, 9.0]


def test_a_trace_naming_an_unknown_backend_is_refused():
    tr = pl.DataFrame(
        {"time_s": [0.0, 1.0, 2.0], "service_ms": [4.0, 4.0, 4.0], "backend": ["a", "zz", "zz"]}
    )
    with pytest.raises(InputError, match=r"trace:2: unknown backend 'zz' \(2 row\(s\)\)"):
        service_demand(tr, [Backend("a"), Backend("b")])


def test_empty_trace_gives_empty_results():
    out = simulate(pl.DataFrame({"time_s": [], "service_ms": []}), ["a"], "p2c")
    assert out["requests"].to_list() == [0] and out["p99_ms"][0] is None


def test_bad_traces_are_named():
    with pytest.raises(InputError, match=r":2: time_s goes back"):
        simulate(pl.DataFrame({"time_s": [1.0, 0.5], "service_ms": [1.0, 1.0]}), ["a"])
    with pytest.raises(InputError, match=":2: negative service_ms"):
        simulate(pl.DataFrame({"time_s": [0.0, 0.5], "service_ms": [1.0, -1.0]}), ["a"])
    with pytest.raises(ParameterError, match="at least one backend"):
        simulate(generate_trace(10, 1.0, 1.0), [])
    with pytest.raises(ParameterError, match="weight must be > 0"):
        simulate(generate_trace(10, 1.0, 1.0), [Backend("a", weight=-2)])
    with pytest.raises(ParameterError, match="unknown strategy"):
        simulate(generate_trace(10, 1.0, 1.0), ["a"], "fastest")


def test_same_mean_latency_as_a_simpy_model():
    simpy = pytest.importorskip("simpy")
    tr = generate_trace(5000, 1800.0, 1.0, seed=13)
    bs = [Backend("a", speed=1.5), Backend("b"), Backend("c", speed=0.75)]
    t, svc = tr["time_s"].to_numpy(), tr["service_ms"].to_numpy() / 1000.0
    env = simpy.Environment()
    res = [simpy.Resource(env, capacity=1) for _ in bs]
    lat: list[float] = []

    def request(i: int, b: int):  # type: ignore[no-untyped-def]
        with res[b].request() as req:
            yield req
            yield env.timeout(svc[i] / bs[b].speed)
        lat.append(env.now - t[i])

    def source():  # type: ignore[no-untyped-def]
        for i in range(len(t)):
            yield env.timeout(t[i] - env.now)
            env.process(request(i, i % 3))

    env.process(source())
    env.run()
    out = simulate(tr, bs, "round_robin", check_s=None, eject_after=None)
    assert out["mean_ms"][0] == pytest.approx(1000 * float(np.mean(lat)), rel=1e-9)


def test_fixed_ejection_keeps_a_dead_backend_out_for_the_same_time_each_time():
    # one request per ms for 10 s to two backends; b down from 1 s to 9 s
    tr = pl.DataFrame({"time_s": np.arange(10_000) / 1000.0, "service_ms": np.full(10_000, 0.1)})
    bs = [Backend("a"), Backend("b", fail_at_s=1.0, recover_at_s=9.0)]
    opts = {"check_s": None, "eject_after": 1, "eject_base_s": 2.0}
    fixed = simulate(tr, bs, "round_robin", eject_backoff=1.0, **opts)["failed"][0]
    doubling = simulate(tr, bs, "round_robin", **opts)["failed"][0]
    # nginx max_fails=1 fail_timeout=2s: one failure every 2 s of the 8 s outage
    assert fixed == 4
    # Envoy-like doubling: out 2 s, then 4 s, then 8 s — fewer tries, fewer failures
    assert doubling == 3
    with pytest.raises(ParameterError, match="eject_backoff"):
        simulate(tr, bs, "round_robin", eject_backoff=0.5)


def test_outage_timed_from_the_logs_failed_attempts():
    tr = pl.DataFrame(
        {
            "time_s": [0.0, 1.0, 2.0, 3.0, 6.0],
            "upstream_addr": ["h:1", "h:1, h:2", "h:2", "h:1 : h:2", "h:1"],
            "upstream_status": ["200", "502, 200", "200", "-, 200", "200"],
        }
    )
    bs = [
        Backend("a", address="h:1", fail_at_s=10.0, recover_at_s=12.0),
        Backend("b", address="h:2"),
    ]
    a, b = outages_from_log(tr, bs)
    assert (a.fail_at_s, a.recover_at_s) == (1.0, 6.0)
    assert b == bs[1]  # never failed: as given
    with pytest.raises(ParameterError, match="upstream_status"):
        outages_from_log(tr.drop("upstream_status"), bs)


def test_replaying_the_sample_as_nginx_was_set_gives_back_what_it_logged():
    # the bundled nginx run: round robin, max_fails=1 fail_timeout=2s, no active checks
    from pathlib import Path

    from perflab.balancing import logged_vs_replayed, read_backends, read_nginx

    sample = Path(__file__).parents[2] / "data" / "sample" / "balancing"
    backends = read_backends(sample / "backends.json")
    trace = read_nginx(
        sample / "nginx-upstream.log.gz",
        (sample / "nginx_log_format.txt").read_text(),
        names={b.address: b.name for b in backends if b.address},
        service_field="upstream_http_x_service_ms",
    )
    timed = outages_from_log(trace, backends)
    assert timed[2].fail_at_s == pytest.approx(13.06, abs=0.01)  # the first 502 on flaky
    nginx = {"check_s": None, "eject_after": 1, "eject_base_s": 2.0, "eject_backoff": 1.0}
    out = simulate(service_demand(trace, timed), timed, "round_robin", **nginx)
    both = logged_vs_replayed(trace, out, "round_robin")
    assert both["source"].to_list() == ["logged", "replayed"]
    assert 0.8 < both["p99_ratio"][1] < 1.25
    assert both["p95_ms"][1] == pytest.approx(both["p95_ms"][0], rel=0.25)
    # the planned times and Envoy-style doubling ejection are not what nginx did
    planned = simulate(service_demand(trace, backends), backends, "round_robin")
    assert planned["p99_ms"][0] > 1.5 * both["p99_ms"][0]

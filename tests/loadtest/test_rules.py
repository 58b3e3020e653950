"""Load-testing rules: each fires on a small input and stays quiet on a good one.

The runs are simulated: an open model (arrivals on a schedule) served over a pool of
connections, with the server's stalls, a warm-up, a slowed load generator or a
closed loop of users planted where a rule should see them.
"""

from __future__ import annotations

import heapq

import numpy as np
import polars as pl
import pytest

from perflab.loadtest import compare, summary, timeline
from perflab.loadtest.rules import (
    comparison_findings,
    request_findings,
    summary_findings,
    timeline_findings,
    top_recommendations,
)
from perflab.recommend import RECOMMENDATIONS, rules


def open_run(
    rate: float = 100.0,
    duration: float = 20.0,
    *,
    connections: int = 10,
    median_ms: float = 5.0,
    ramp_to: float | None = None,
    stall_every: float | None = None,
    stall_ms: float = 0.0,
    warmup_s: float = 0.0,
    warmup_factor: float = 1.0,
    send_lag_ms: float = 0.0,
    errors: float = 0.0,
    slowdown: float = 1.0,
    seed: int = 1,
) -> pl.DataFrame:
    """REQUESTS of an open-model run: arrivals at ``rate`` (or a ramp to ``ramp_to``),
    each sent on the first free connection; stalls hold every answer due in them."""
    rng = np.random.default_rng(seed)
    if ramp_to is None:
        start = np.sort(rng.uniform(0, duration, int(rate * duration)))
    else:
        t = np.linspace(0, duration, 20_001)
        cum = np.concatenate(
            [[0.0], np.cumsum(np.diff(t) * (rate + (ramp_to - rate) * t[1:] / duration))]
        )
        start = np.sort(np.interp(rng.uniform(0, cum[-1], int(cum[-1])), cum, t))
    n = start.size
    service = rng.lognormal(np.log(median_ms * slowdown), 0.5, n) / 1000
    service = np.where(start < warmup_s, service * warmup_factor, service)
    lag = rng.exponential(send_lag_ms / 1000, n) if send_lag_ms else np.zeros(n)
    free = [0.0] * connections
    sent, end = np.empty(n), np.empty(n)
    for i in range(n):
        s = max(start[i] + lag[i], heapq.heappop(free))
        e = s + service[i]
        if stall_every:
            at = np.floor(e / stall_every) * stall_every
            if at > 0 and e < at + stall_ms / 1000:
                e = at + stall_ms / 1000 + service[i]
        sent[i], end[i] = s, e
        heapq.heappush(free, e)
    failed = rng.random(n) < errors
    return pl.DataFrame(
        {
            "start": start,
            "sent": sent,
            "latency_ms": (end - start) * 1000,
            "service_ms": (end - sent) * 1000,
            "status": np.where(failed, 503, 200),
            "bytes": np.full(n, 320),
            "error": pl.Series([("http 503" if f else None) for f in failed], dtype=pl.String),
            "name": "GET /api/items",
        }
    )


def closed_run(
    users: int = 4, duration: float = 20.0, *, stall_every: float | None = None, seed: int = 1
) -> pl.DataFrame:
    """REQUESTS as a closed-loop tool records them: each user sends, waits, sends again;
    one clock (no ``sent``, no ``service_ms``), as hey, wrk or Locust give them."""
    rng = np.random.default_rng(seed)
    starts, latencies = [], []
    for _ in range(users):
        t = rng.uniform(0, 0.01)
        while t < duration:
            e = t + rng.lognormal(np.log(5.0), 0.5) / 1000
            if stall_every:
                at = np.floor(e / stall_every) * stall_every
                if at > 0 and e < at + 0.3:
                    e = at + 0.3 + 0.005
            starts.append(t)
            latencies.append((e - t) * 1000)
            t = e
    return pl.DataFrame({"start": starts, "latency_ms": latencies}).sort("start")


def fired(recs) -> list[str]:
    return sorted(r.rule for r in recs)


def test_every_rule_is_registered_under_the_domain():
    ids = {r.id for r in rules("loadtest")}
    assert ids == {
        "loadtest.slo-breach",
        "loadtest.error-rate",
        "loadtest.saturation",
        "loadtest.regression",
        "loadtest.client-lag",
        "loadtest.coordinated-omission",
        "loadtest.tail-latency",
        "loadtest.warm-up",
        "loadtest.inconclusive",
    }


def test_a_healthy_run_gets_no_finding():
    good = open_run(seed=3)
    out = top_recommendations(good, p95_ms=50, p99_ms=100)
    assert out.columns == RECOMMENDATIONS.names
    assert out.height == 0


# --------------------------------------------------------------------------- summary


def test_slo_breach_names_the_percentile_and_the_excess():
    s = {"name": ["all"], "requests": [1000], "p95_ms": [320.0], "p99_ms": [900.0]}
    (rec,) = summary_findings(s, p95_ms=300, p99_ms=500, tail_ratio=1e9)
    assert rec.rule == "loadtest.slo-breach" and rec.severity == "high"
    assert "p95 is 320 ms" in rec.finding and "p99 is 900 ms" in rec.finding
    assert rec.impact == pytest.approx(400)
    assert summary_findings(s, p95_ms=400, p99_ms=1000) == []
    assert summary_findings(s) == []  # no target, no SLO


def test_slo_breach_per_name_when_a_run_has_several():
    s = {
        "name": ["all", "GET /", "GET /slow"],
        "requests": [300, 200, 100],
        "p95_ms": [150.0, 20.0, 400.0],
    }
    (rec,) = summary_findings(s, p95_ms=200)
    assert rec.subject == "GET /slow"  # all requests together meet the target
    # when every request breaches, one finding names the routes, worst first
    s["p95_ms"] = [250.0, 220.0, 400.0]
    (rec,) = summary_findings(s, p95_ms=200)
    assert rec.subject == "all requests"
    assert rec.finding.endswith("by name: GET /slow (200.0 ms), GET / (20.0 ms)")


def test_error_rate_is_high_then_critical():
    def rate(errors: int) -> list[tuple[str, str]]:
        s = {"name": ["all"], "requests": [1000], "errors": [errors]}
        return [(r.rule, r.severity) for r in summary_findings(s)]

    assert rate(5) == []
    assert rate(20) == [("loadtest.error-rate", "high")]
    assert rate(80) == [("loadtest.error-rate", "critical")]
    errors = open_run(errors=0.08, seed=7)
    (rec,) = top_recommendations(errors).iter_rows(named=True)
    assert rec["rule"] == "loadtest.error-rate" and rec["severity"] == "critical"
    assert "of 2,000 requests failed" in rec["finding"]


def test_tail_latency_needs_a_tail_and_enough_requests():
    s = {"name": ["all"], "requests": [5000], "p50_ms": [10.0], "p99_ms": [150.0]}
    assert fired(summary_findings(s)) == ["loadtest.tail-latency"]
    assert summary_findings({**s, "p99_ms": [60.0]}) == []
    assert summary_findings({**s, "requests": [50]}) == []  # a p99 of 50 requests
    fast = {**s, "p50_ms": [0.2], "p99_ms": [3.0]}  # 15×, but 3 ms is no tail to chase
    assert summary_findings(fast) == []
    assert fired(summary_findings(fast, tail_min_ms=1)) == ["loadtest.tail-latency"]


def test_tail_latency_of_all_requests_needs_a_name_with_a_tail_of_its_own():
    rng = np.random.default_rng(5)

    def requests(name: str, n: int, ms: float, tail: float = 0.0) -> pl.DataFrame:
        lat = rng.normal(ms, ms / 10, n).clip(ms / 2)
        lat[: int(n * tail)] *= 100  # the slowest few, far off this name's median
        return pl.DataFrame({"start": rng.uniform(0, 20, n), "latency_ms": lat, "name": name})

    # a fast and a slow endpoint: the p99 of all is 40× their median, no name has a tail
    mix = pl.concat([requests("GET /health", 1200, 1.0), requests("POST /order", 800, 40.0)])
    s = summary(mix)
    row = s.filter(pl.col("name") == "all").row(0, named=True)
    assert row["p99_ms"] > 10 * row["p50_ms"]  # what fired before
    assert summary_findings(s) == []
    # one run of the same mix without names: the tail is all there is to see
    assert fired(summary_findings(summary(mix.drop("name")))) == ["loadtest.tail-latency"]
    # a real tail in one endpoint: one finding, for all requests, naming it
    tailed = pl.concat(
        [requests("GET /health", 1200, 1.0), requests("POST /order", 800, 40.0, tail=0.03)]
    )
    (rec,) = summary_findings(summary(tailed))
    assert rec.rule == "loadtest.tail-latency" and rec.subject == "all requests"
    assert "by name: POST /order" in rec.finding and "GET /health" not in rec.finding


def test_tail_latency_with_a_tail_in_one_name_only_is_that_name():
    s = {
        "name": ["all", "GET /", "GET /slow"],
        "requests": [3000, 2000, 1000],
        "p50_ms": [10.0, 5.0, 20.0],
        "p99_ms": [60.0, 9.0, 400.0],
    }
    (rec,) = summary_findings(s)  # all requests have no tail: the name fires on its own
    assert rec.rule == "loadtest.tail-latency" and rec.subject == "GET /slow"


def test_saturation_from_the_offered_rate():
    s = {"name": ["all"], "requests": [6000], "rps": [150.0]}
    (rec,) = summary_findings(s, offered_rps=200)
    assert rec.rule == "loadtest.saturation" and "150 req/s of the 200 req/s" in rec.finding
    assert rec.impact == pytest.approx(50)
    assert summary_findings({**s, "rps": [195.0]}, offered_rps=200) == []


def test_coordinated_omission_when_corrected_p99_dwarfs_the_service_p99():
    stalls = open_run(200, 30, connections=4, stall_every=5, stall_ms=200, seed=1)
    recs = summary_findings(summary(stalls))
    (co,) = [r for r in recs if r.rule == "loadtest.coordinated-omission"]
    assert "wrk, Locust" in co.finding and co.impact > 50
    # the same server without stalls: both measures agree
    assert "loadtest.coordinated-omission" not in fired(summary_findings(summary(open_run(seed=2))))


# --------------------------------------------------------------------------- requests


def test_saturation_gives_the_rate_where_it_broke():
    # one connection, ~5.7 ms per request: about 175 req/s; the rate ramps 100 → 400
    ramp = open_run(100, 20, connections=1, ramp_to=400, seed=4)
    (rec,) = [r for r in request_findings(ramp) if r.rule == "loadtest.saturation"]
    offered = float(rec.finding.split("at about ")[1].split(" req/s")[0])
    assert 130 <= offered <= 200
    best = float(rec.finding.split("at most ")[1].split(" req/s")[0])
    assert 160 <= best <= 200
    # the same pool at a rate it sustains
    assert "loadtest.saturation" not in fired(request_findings(open_run(100, 20, connections=1)))


def test_saturation_from_a_timeline_with_service_times():
    ramp = open_run(100, 20, connections=1, ramp_to=400, seed=4)
    recs = timeline_findings(timeline(ramp))
    assert "loadtest.saturation" in fired(recs)
    assert timeline_findings(timeline(open_run(seed=5))) == []


def test_client_lag_when_requests_leave_late_with_connections_free():
    lagging = open_run(100, 20, connections=50, send_lag_ms=30, seed=5)
    out = top_recommendations(lagging)
    assert "loadtest.client-lag" in set(out["rule"])
    # the generator's delay is not the server's omission, nor its saturation
    assert not {"loadtest.coordinated-omission", "loadtest.saturation"} & set(out["rule"])
    # late because every connection was busy: the server's fault, not the generator's
    queued = open_run(100, 20, connections=1, ramp_to=400, seed=4)
    assert "loadtest.client-lag" not in fired(request_findings(queued))


def test_closed_loop_pauses_are_coordinated_omission():
    stalled = closed_run(stall_every=5)
    (rec,) = request_findings(stalled)
    assert rec.rule == "loadtest.coordinated-omission"
    assert "stopped sending 3 time(s)" in rec.finding and "understates" in rec.finding
    assert request_findings(closed_run()) == []


def test_warm_up_says_how_long_to_leave_out():
    warm = open_run(100, 30, warmup_s=3, warmup_factor=4, seed=6)
    (rec,) = request_findings(warm)
    assert rec.rule == "loadtest.warm-up" and rec.severity == "low"
    assert "first 3 s" in rec.finding and "warmup=4" in rec.action
    # a test that is slow throughout is not warming up
    assert request_findings(open_run(100, 30, slowdown=4, seed=6)) == []


def test_request_rules_need_their_columns():
    tiny = pl.DataFrame({"latency_ms": [1.0, 2.0]})
    assert request_findings(tiny) == []
    assert top_recommendations(pl.DataFrame({"latency_ms": [1.0] * 20})).height == 0


# --------------------------------------------------------------------------- comparison


def test_regression_and_inconclusive_from_a_real_comparison():
    base = open_run(200, 20, seed=1)
    slow = open_run(200, 20, slowdown=1.3, seed=2)
    cmp = compare(base, slow, metrics=("p50", "p95"))
    assert set(cmp["verdict"]) == {"slower"}
    (rec,) = comparison_findings(cmp)
    assert rec.rule == "loadtest.regression" and rec.subject in (
        "latency (p50, p95)",
        "latency (p95, p50)",
    )
    assert rec.finding.count("beyond the ±5% margin") == 2  # each metric with its interval
    same = compare(base, open_run(200, 20, seed=3), metrics=("p50",))
    assert comparison_findings(same) == []


def test_inconclusive_estimates_the_requests_needed():
    row = {
        "metric": ["p95"],
        "unit": ["ms"],
        "baseline": [100.0],
        "candidate": [102.0],
        "change": [0.02],
        "ci_low": [-0.06],
        "ci_high": [0.10],
        "p_value": [0.5],
        "p_adjusted": [0.5],
        "margin": [0.05],
        "verdict": ["inconclusive"],
    }
    (rec,) = comparison_findings(row)
    # the half-width 8 % must shrink to 3 % (the room to the margin): (8/3)² ≈ 7×
    assert rec.rule == "loadtest.inconclusive" and rec.severity == "info"
    assert rec.impact == pytest.approx((0.08 / 0.03) ** 2)
    # rare events: +13 % of a 5 % margin with a wide interval needs ~100× the data
    (errors,) = comparison_findings(
        {**row, "change": [0.133], "ci_low": [-0.43], "ci_high": [1.27]}
    )
    assert 90 < errors.impact < 120
    on_the_margin = comparison_findings({**row, "change": [0.05]})
    assert "no number of requests" in on_the_margin[0].finding
    assert comparison_findings({**row, "verdict": ["equivalent"]}) == []


def test_top_recommendations_ranks_every_source_in_the_shared_schema():
    base = open_run(200, 20, seed=1)
    cand = open_run(200, 20, connections=4, stall_every=5, stall_ms=200, errors=0.03, seed=2)
    out = top_recommendations(cand, comparison=compare(base, cand), p95_ms=10)
    assert out.columns == RECOMMENDATIONS.names
    assert {"loadtest.slo-breach", "loadtest.error-rate", "loadtest.regression"} <= set(out["rule"])
    assert out["severity"][0] == "high"
    assert out.filter(pl.col("rule") == "loadtest.saturation").height <= 1  # no duplicates
    assert top_recommendations(cand, p95_ms=10, n=2).height == 2
    with pytest.raises(Exception, match="unknown threshold"):
        top_recommendations(cand, p96_ms=10)

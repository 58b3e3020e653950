"""Each rule fires on a small bad input and stays quiet on a good one."""

from __future__ import annotations

import polars as pl

from perflab.balancing.rules import (
    findings,
    imbalance,
    no_health_checks,
    slow_backend,
    strategy_change,
)


def obs(requests: list[int], p99: list[float]) -> pl.DataFrame:
    total = sum(requests)
    return pl.DataFrame(
        {
            "backend": [f"b{i}" for i in range(len(requests))],
            "requests": requests,
            "share_pct": [100 * r / total for r in requests],
            "p99_ms": p99,
        }
    )


def test_imbalance_fires_and_stays_quiet():
    (r,) = imbalance(obs([800, 100, 100], [10, 10, 10]))
    assert r.rule == "balancing.imbalance" and r.subject == "b0"
    assert round(r.impact) == 47  # 80 % against a fair 33 %
    assert imbalance(obs([340, 330, 330], [10, 10, 10])) == []


def test_slow_backend_fires_and_stays_quiet():
    (r,) = slow_backend(obs([100, 100, 100], [20, 25, 400]))
    assert r.subject == "b2" and r.impact == 377.5 and r.severity == "high"
    assert slow_backend(obs([100, 100, 100], [20, 25, 30])) == []
    assert slow_backend(obs([1000, 1000, 10], [20, 25, 400])) == []  # too little traffic


def test_strategy_change_fires_and_stays_quiet():
    s = pl.DataFrame(
        {
            "strategy": ["round_robin", "p2c", "peak_ewma"],
            "p99_ms": [200.0, 150.0, 40.0],
            "failed": [5, 5, 9],
        }
    )
    (r,) = strategy_change(s)  # peak_ewma fails more: p2c it is
    assert r.subject == "round_robin → p2c" and r.impact == 50.0 and r.severity == "medium"
    close = s.with_columns(pl.Series("p99_ms", [100.0, 95.0, 99.0]))
    assert strategy_change(close) == []


def test_no_health_checks_fires_and_stays_quiet():
    (r,) = no_health_checks(health_checks=False, outlier_ejection=False)
    assert r.rule == "balancing.no-health-checks" and r.impact is None
    assert no_health_checks(health_checks=False, outlier_ejection=True) == []


def test_findings_ranks_everything():
    tr = pl.DataFrame(
        {
            "time_s": [0.0, 0.1, 0.2, 0.3],
            "service_ms": [5.0, 6.0, 5.0, 900.0],
            "backend": ["a", "a", "b", "c"],
        }
    )
    s = pl.DataFrame(
        {"strategy": ["round_robin", "peak_ewma"], "p99_ms": [900.0, 50.0], "failed": [0, 0]}
    )
    got = findings(tr, s, health_checks=False, outlier_ejection=False)
    assert set(got["rule"]) == {
        "balancing.slow-backend",
        "balancing.strategy-change",
        "balancing.no-health-checks",
    }
    assert findings(tr.head(3).with_columns(pl.lit("a").alias("backend"))).height == 0

"""Memory rules: each fires on a planted problem and stays quiet on a healthy run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from perflab.memory.rules import findings
from perflab.recommend import RECOMMENDATIONS, rules

from .test_leaks import sawtooth

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _gc(n: int = 200, every_s: float = 10.0, pause_ms: float = 5.0, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * every_s
    return pl.DataFrame(
        {
            "elapsed_s": t,
            "timestamp": [T0 + timedelta(seconds=float(x)) for x in t],
            "kind": "scavenge",
            "pause_ms": rng.gamma(4.0, pause_ms / 4.0, n),
        }
    )


def _rules(df: pl.DataFrame) -> list[str]:
    return sorted(set(df["rule"].to_list()))


def test_rule_ids_are_registered() -> None:
    ids = {r.id for r in rules("memory")}
    assert {"memory.leak", "memory.gc-pressure", "memory.long-gc-pause", "memory.near-limit"} <= ids


def test_healthy_run_is_quiet() -> None:
    out = findings(sawtooth(0.0), _gc(), limit_bytes=2e9)
    assert out.height == 0
    assert out.columns == RECOMMENDATIONS.names


def test_leak_fires_with_impact_and_critical_near_the_limit() -> None:
    out = findings(sawtooth(50.0), limit_bytes=5e9)
    assert _rules(out) == ["memory.leak"]
    row = out.row(0, named=True)
    assert row["severity"] == "high" and row["impact_unit"] == "MB/h"
    assert 45 < row["impact"] < 55
    assert "Mann–Kendall" in row["evidence"] and "reaches its limit" in row["finding"]
    # a 1 GB limit is ~10 h away: critical, and near-limit stays quiet (500 MB < 85 %)
    out = findings(sawtooth(50.0), limit_bytes=1e9)
    assert out.filter(pl.col("rule") == "memory.leak")["severity"].item() == "critical"
    assert "memory.near-limit" not in out["rule"].to_list()


def test_gc_pressure_fires_on_a_large_pause_share() -> None:
    out = findings(gc_events=_gc(every_s=0.1, pause_ms=8.0))  # ~8 % of the time
    assert _rules(out) == ["memory.gc-pressure"]
    assert out["severity"].item() == "medium"
    assert 6 < out["impact"].item() < 10
    # the share falls below 5 % when the real run was longer than the events' span
    assert findings(gc_events=_gc(every_s=0.1, pause_ms=8.0), wall_s=100.0).height == 0


def test_long_gc_pause_fires_on_p99_over_100_ms() -> None:
    ev = pl.concat(
        [
            _gc(),
            _gc(20, every_s=100.0).with_columns(kind=pl.lit("mark-compact"), pause_ms=150.0),
        ]
    )
    out = findings(gc_events=ev)
    assert _rules(out) == ["memory.long-gc-pause"]
    row = out.row(0, named=True)
    assert row["subject"] == "mark-compact" and row["impact"] == 50.0


def test_near_limit_fires_on_the_last_value() -> None:
    s = sawtooth(0.0)
    # last value ≈ 240 MB (end of a cycle): 92 % of 260 MB is high, 99 % critical
    out = findings(s, limit_bytes={"heap_used": 260e6})
    assert _rules(out) == ["memory.near-limit"] and out["severity"].item() == "high"
    out = findings(s.with_columns(pl.col("value") * 0 + 250e6), limit_bytes={"heap_used": 260e6})
    assert _rules(out) == ["memory.near-limit"]
    assert out["severity"].item() == "critical"
    assert findings(s, limit_bytes={"rss": 260e6}).height == 0


def test_pandas_and_empty_inputs() -> None:
    out = findings(sawtooth(50.0).to_pandas(), _gc().to_pandas())
    assert _rules(out) == ["memory.leak"]
    assert findings().height == 0
    assert findings([], []).columns == RECOMMENDATIONS.names


def test_only_restricts_the_rules() -> None:
    out = findings(sawtooth(50.0), _gc(every_s=0.1, pause_ms=8.0), only=["memory.gc-pressure"])
    assert _rules(out) == ["memory.gc-pressure"]

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from perflab.pooling import findings, poisson_trace, read_acquires, replay
from perflab.recommend import RECOMMENDATIONS

from .conftest import SAMPLES

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def served(trace, size, **kw):
    """A trace as a pool of ``size`` would have recorded it."""
    out = replay(trace, size, **kw)
    return out.select(
        "start",
        pl.col("sim_wait_ms").alias("wait_ms"),
        pl.when(pl.col("sim_outcome") == "ok").then(pl.col("hold_ms")).alias("hold_ms"),
        pl.col("sim_outcome").alias("outcome"),
        pl.lit("app").alias("pool"),
        pl.lit(size, pl.Int64).alias("size"),
    )


def rules(frame):
    return RECOMMENDATIONS.validate(frame)["rule"].to_list()


def test_the_captured_pool_is_too_small_and_turns_requests_away():
    ev = read_acquires(SAMPLES / "app.acquires.jsonl.gz")
    f = findings(ev, max_size=4, timeout_ms=250, max_waiting=16)
    assert rules(f) == ["pooling.acquire-failures", "pooling.pool-too-small"]
    small = f.filter(pl.col("rule") == "pooling.pool-too-small").row(0, named=True)
    assert "Raise max_size to" in small["action"] and small["impact"] > 10


def test_a_well_sized_pool_is_quiet():
    ev = served(poisson_trace(300.0, 10.0, n=20_000, seed=1), 8)
    assert rules(findings(ev, max_size=8, instances=4, max_connections=100)) == []


def test_an_oversized_pool():
    ev = served(poisson_trace(50.0, 5.0, n=5_000, seed=2), 20)
    f = findings(ev, max_size=20)
    assert rules(f) == ["pooling.pool-oversized"] and f["impact"][0] >= 15


def test_timeouts_fire_and_are_critical_past_one_percent():
    ev = served(poisson_trace(500.0, 10.0, n=10_000, seed=3), 4, timeout_ms=20.0)
    f = findings(ev, max_size=4, only=["pooling.acquire-failures"])
    assert rules(f) == ["pooling.acquire-failures"] and f["severity"][0] == "critical"


def test_a_single_timeout_is_high_not_critical():
    starts = [T0 + timedelta(milliseconds=int(x)) for x in np.arange(0, 200_000, 100)]
    ev = pl.DataFrame(
        {
            "start": starts,
            "wait_ms": [0.0] * len(starts),
            "hold_ms": [5.0] * len(starts),
            "outcome": ["ok"] * len(starts),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit("timeout"))
        .otherwise("outcome")
        .alias("outcome"),
        pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise("hold_ms").alias("hold_ms"),
    )
    f = findings(ev, max_size=2, only=["pooling.acquire-failures"])
    assert f["severity"].to_list() == ["high"]


def test_the_database_ceiling():
    assert rules(findings(max_size=20, instances=6, max_connections=100)) == [
        "pooling.database-ceiling"
    ]
    assert rules(findings(max_size=20, instances=4, max_connections=100)) == []

"""GC pause statistics: percentiles as numpy's, the pause share, freed bytes, edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from perflab.memory.pauses import PAUSES, gc_pauses


def _events(n: int = 300, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(["scavenge", "mark-compact"], size=n, p=[0.8, 0.2])
    pause = np.where(kinds == "scavenge", rng.gamma(2.0, 1.5, n), rng.gamma(3.0, 20.0, n))
    before = rng.uniform(50e6, 80e6, n)
    return pl.DataFrame(
        {
            "elapsed_s": np.sort(rng.uniform(0, 600, n)),
            "kind": kinds,
            "pause_ms": pause,
            "before_bytes": before,
            "after_bytes": before - rng.uniform(1e6, 20e6, n),
            "mutator_util": rng.uniform(0.8, 1.0, n),
        }
    )


def test_percentiles_match_numpy_linear() -> None:
    ev = _events()
    out = gc_pauses(ev)
    assert out["kind"].to_list()[-1] == "all"
    for row in out.iter_rows(named=True):
        sel = ev if row["kind"] == "all" else ev.filter(pl.col("kind") == row["kind"])
        x = sel["pause_ms"].to_numpy()
        want = np.percentile(x, [50, 95, 99], method="linear")
        got = [row["p50_ms"], row["p95_ms"], row["p99_ms"]]
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert row["count"] == x.size
        assert row["max_ms"] == pytest.approx(x.max())
        assert row["mean_ms"] == pytest.approx(x.mean())
        freed = (sel["before_bytes"] - sel["after_bytes"]).sum()
        assert row["freed_bytes"] == pytest.approx(freed)
        assert row["mutator_util_mean"] == pytest.approx(sel["mutator_util"].mean())


def test_pause_share_from_span_and_from_wall() -> None:
    ev = pl.DataFrame(
        {"elapsed_s": [10.0, 20.0, 29.5], "kind": "gen0", "pause_ms": [100.0, 200.0, 500.0]}
    )
    out = gc_pauses(ev)
    # span: first start 10 s, last end 29.5 + 0.5 = 30 s → 20 s; 800 ms / 20 s = 4 %
    assert out.filter(pl.col("kind") == "all")["wall_s"].item() == pytest.approx(20.0)
    assert out.filter(pl.col("kind") == "all")["pause_share_pct"].item() == pytest.approx(4.0)
    assert gc_pauses(ev, wall_s=80.0)["pause_share_pct"][-1] == pytest.approx(1.0)


def test_timestamps_used_when_elapsed_missing() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    ev = pl.DataFrame(
        {
            "timestamp": [t0, t0 + timedelta(seconds=9)],
            "kind": ["gen2", "gen2"],
            "pause_ms": [500.0, 1000.0],
        }
    )
    row = gc_pauses(ev).row(-1, named=True)
    assert row["wall_s"] == pytest.approx(10.0)
    assert row["pause_share_pct"] == pytest.approx(15.0)
    assert row["freed_bytes"] is None and row["mutator_util_mean"] is None


def test_pandas_input_and_group_by_pid() -> None:
    ev = _events(50).with_columns(pl.Series("pid", [1, 2] * 25))
    a = gc_pauses(ev.to_pandas(), by=["pid", "kind"])
    assert a.columns[:2] == ["pid", "kind"]
    assert a["count"][-1] == 50 and a["kind"][-1] == "all"
    b = gc_pauses(ev, by="pid")
    assert b["kind"].to_list()[-1] == "all" and b["kind"].null_count() == 2


def test_empty_input_gives_the_columns() -> None:
    out = gc_pauses(pl.DataFrame(schema={"kind": pl.String, "pause_ms": pl.Float64}))
    assert out.height == 0 and out.columns == PAUSES.names
    assert gc_pauses([]).columns == PAUSES.names

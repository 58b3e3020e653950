"""Load-test timeline events: a real comparison's slower verdicts are regressions."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from perflab.errors import SchemaError
from perflab.loadtest import compare
from perflab.loadtest.events import events

AT = datetime(2026, 3, 2, 17, tzinfo=UTC)


def run(scale: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"start": np.arange(3000) / 100,
                         "latency_ms": rng.lognormal(4, 0.4, 3000) * scale})  # fmt: skip


def test_slower_verdicts_become_regressions() -> None:
    c = compare(run(1.0, 1), run(1.3, 2), metrics=("p50", "p95", "throughput"))
    ev = events(c, at=AT, subject="checkout scenario", terms=("/checkout",))
    slower = c.filter(pl.col("verdict") == "slower")
    assert ev.height == slower.height >= 2
    assert set(ev["kind"]) == {"regression"} and set(ev["direction"]) == {"worse"}
    assert ev["size"].to_list() == slower["change"].to_list()
    assert ev["time"].to_list() == [AT] * ev.height
    assert ev["evidence"][0].startswith("p50 ") and "p_adj" in ev["evidence"][0]
    assert ev["terms"][0].to_list() == ["/checkout"]


def test_an_equivalent_run_gives_no_event() -> None:
    c = compare(run(1.0, 1), run(1.0, 2), metrics=("p50", "throughput"))
    assert "slower" not in c["verdict"].to_list()
    assert events(c, at=AT).height == 0


def test_a_frame_that_is_no_comparison_is_refused() -> None:
    with pytest.raises(SchemaError, match="verdict"):
        events(pl.DataFrame({"metric": ["p95"]}), at=AT)

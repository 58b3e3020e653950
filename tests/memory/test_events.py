"""Memory timeline events: where a real heap trend turns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from perflab.errors import SchemaError
from perflab.memory import heap_trend
from perflab.memory.events import events

T0 = datetime(2026, 3, 2, 15, tzinfo=UTC)


def samples(rise_mb_per_min: float) -> pl.DataFrame:
    v = [1e8] * 30 + [1e8 + rise_mb_per_min * 1e6 * i for i in range(1, 31)]
    return pl.DataFrame({"timestamp": [T0 + timedelta(minutes=i) for i in range(60)],
                         "series": "rss", "value": v})  # fmt: skip


def test_a_leak_that_starts_mid_run_is_a_worse_turn() -> None:
    ev = events(heap_trend(samples(2.0), window=1))
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert row["time"] == T0 + timedelta(minutes=30)
    assert (row["kind"], row["direction"], row["unit"]) == ("trend-turn", "worse", "MB/h")
    assert row["size"] == pytest.approx(120.0)
    assert "0 → +120 MB/h" in row["evidence"]


def test_a_flat_heap_and_a_small_turn_give_nothing() -> None:
    flat = pl.DataFrame({"timestamp": [T0 + timedelta(minutes=i) for i in range(60)],
                         "series": "rss", "value": 1e8})  # fmt: skip
    assert events(heap_trend(flat, window=1)).height == 0
    assert events(heap_trend(samples(2.0), window=1), min_change_mb_per_hour=500).height == 0


def test_a_frame_that_is_no_heap_trend_is_refused() -> None:
    with pytest.raises(SchemaError, match="slope_mb_per_hour"):
        events(pl.DataFrame({"series": ["rss"], "segment": [0]}))

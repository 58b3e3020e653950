"""Monitoring's timeline events: the change points of a real trend become steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.monitoring import trend
from perflab.monitoring.events import events

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def day(step: float | None, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(0, 24 * 3600, 60)
    ms = rng.lognormal(np.log(100.0), 0.2, t.size)
    if step is not None:
        ms = np.where(t >= 16 * 3600, ms * step, ms)
    return pl.DataFrame({"name": "latency", "route": "/checkout", "unit": "ms", "value": ms,
                         "timestamp": [T0 + timedelta(seconds=int(s)) for s in t]})  # fmt: skip


def test_a_step_up_in_latency_is_a_worse_step_at_its_window() -> None:
    ev = events(trend(day(1.5), every="30m", by=("name", "route")))
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert row["time"] == T0 + timedelta(hours=16)
    assert (row["domain"], row["kind"], row["direction"]) == ("monitoring", "step", "worse")
    assert row["subject"] == "latency route=/checkout"
    assert row["size"] == pytest.approx(0.5, abs=0.1)
    assert row["evidence"].startswith("p95 ") and "ms" in row["evidence"]
    assert row["terms"] == ["latency", "/checkout"]


def test_which_way_is_worse_is_the_callers_to_say() -> None:
    tr = trend(day(0.6), every="30m", by=("name", "route"))
    assert events(tr)["direction"].to_list() == ["better"]
    assert events(tr, worse="down")["direction"].to_list() == ["worse"]
    with pytest.raises(ParameterError, match="worse"):
        events(tr, worse="sideways")  # type: ignore[arg-type]


def test_a_steady_day_has_no_steps_and_frames_work_too() -> None:
    tr = trend(day(None), every="30m", by=("name", "route"))
    assert events(tr).height == 0
    assert events(tr.change_points).height == 0


def test_a_frame_without_change_point_columns_is_refused() -> None:
    with pytest.raises(SchemaError, match="shift_pct"):
        events(pl.DataFrame({"name": ["x"], "window_start": [T0], "unit": ["ms"],
                             "before": [1.0], "after": [2.0]}))  # fmt: skip

"""Pooling timeline events: the real capture's burst is one saturation and one error burst."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.events import EVENTS, as_events, events_frame
from perflab.pooling import read_acquires, replay, saturation_periods
from perflab.pooling.events import events
from perflab.timeline import likely_causes

from .conftest import SAMPLES


@pytest.fixture(scope="module")
def acquires() -> pl.DataFrame:
    return read_acquires(SAMPLES / "app.acquires.jsonl.gz")


@pytest.fixture(scope="module")
def burst() -> tuple[float, float]:
    """When the 420/s phase ran, in seconds from the first acquire (provenance.json)."""
    phases = json.loads((SAMPLES / "provenance.json").read_text())["app_phases"]
    return phases[0]["seconds"], phases[0]["seconds"] + phases[1]["seconds"]


def test_the_burst_is_one_saturation_then_one_error_burst(acquires, burst) -> None:
    t0 = acquires["start"].min()
    ev = events(saturation_periods(acquires), acquires=acquires)
    EVENTS.validate(ev)
    assert as_events(ev).equals(ev)
    assert ev["kind"].to_list() == ["saturation", "error-burst"]
    sat, err = ev.row(0, named=True), ev.row(1, named=True)
    assert sat["subject"] == err["subject"] == "pool app"
    assert sat["terms"] == ["app"] and sat["direction"] == "worse"
    # the pool runs out as the 420/s phase starts and recovers as it ends
    assert t0 + timedelta(seconds=burst[0]) <= sat["time"] < t0 + timedelta(seconds=burst[0] + 0.6)
    assert (
        sat["unit"] == "s" and burst[1] - burst[0] - 0.5 <= sat["size"] <= burst[1] - burst[0] + 0.5
    )
    assert "82 rejected, 0 timed out" in sat["evidence"]
    # every rejection of the capture is in the burst; its share checked on the rows
    failed = acquires.filter(pl.col("outcome") != "ok")
    first, last = failed["start"].min(), failed["start"].max()
    made = acquires.filter(pl.col("start").is_between(first, last)).height
    assert err["time"] == first and err["unit"] == "share"
    assert err["size"] == pytest.approx(failed.height / made)
    assert f"{failed.height} of {made:,} acquires got no connection" in err["evidence"]
    assert "16 requests waiting" in err["evidence"]  # psycopg_pool's own message


def test_a_pool_big_enough_for_the_burst_stays_quiet(acquires) -> None:
    again = (
        replay(acquires, 12)
        .with_columns(
            pl.col("sim_wait_ms").alias("wait_ms"), pl.col("sim_outcome").alias("outcome")
        )
        .select("start", "wait_ms", "hold_ms", "outcome", "pool")
    )
    assert events(saturation_periods(again), acquires=again).height == 0
    # ordinary queueing before the burst is no saturation either
    calm = acquires.filter(pl.col("start") < acquires["start"].min() + timedelta(seconds=7))
    assert events(saturation_periods(calm), acquires=calm).height == 0


def test_the_gap_decides_what_is_one_incident(acquires) -> None:
    periods = saturation_periods(acquires)
    split = events(periods, gap=timedelta(microseconds=1), min_period_ms=50)
    assert split.height == periods.filter(pl.col("duration_ms") >= 50).height == 12
    assert events(periods, min_period_ms=10_000).height == 0
    assert events(periods, acquires=acquires, min_failures=100)["kind"].to_list() == ["saturation"]


def test_terms_and_an_unnamed_pool(acquires) -> None:
    periods = saturation_periods(acquires.drop("pool"))
    ev = events(periods, terms=("checkout", "shop"))
    assert ev["subject"].to_list() == ["pool"]
    assert ev["terms"].to_list() == [["checkout", "shop"]]


def test_wrong_input_is_refused_clearly(acquires) -> None:
    periods = saturation_periods(acquires)
    with pytest.raises(SchemaError, match="duration_ms"):
        events(periods.drop("duration_ms"))
    with pytest.raises(SchemaError, match="outcome"):
        events(periods, acquires=acquires.drop("outcome"))
    with pytest.raises(ParameterError, match="gap"):
        events(periods, gap="soon")
    with pytest.raises(ParameterError, match="min_failures"):
        events(periods, min_failures=0)


def test_a_checkout_latency_step_points_at_the_pool(acquires) -> None:
    ev = events(saturation_periods(acquires), acquires=acquires, terms=("checkout",))
    sat = ev.filter(pl.col("kind") == "saturation")["time"][0]
    step = events_frame([
        {"time": sat + timedelta(seconds=0.5), "domain": "monitoring", "subject": "/checkout",
         "kind": "step", "size": 0.6, "direction": "worse", "evidence": "p95 20 → 32 ms"},
        {"time": sat - timedelta(minutes=20), "domain": "queries", "subject": "SELECT …",
         "kind": "new-pattern", "size": 0.1, "unit": "share", "direction": "worse",
         "evidence": "an unrelated new pattern", "terms": ["orders"]},
    ])  # fmt: skip
    causes = likely_causes(pl.concat([ev, step], how="diagonal_relaxed"))
    mine = causes.filter(pl.col("effect_domain") == "monitoring").sort("rank")
    assert mine["cause_domain"].to_list()[:2] == ["pooling", "pooling"]
    assert set(mine["cause_kind"].to_list()[:2]) == {"saturation", "error-burst"}
    assert mine["link"][0] == 0.8 and mine["cause_domain"][-1] == "queries"

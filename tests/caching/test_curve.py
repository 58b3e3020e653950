"""miss_ratio_curve (exact, SHARDS, scaled), recommend_size, doubling_gain, find_knee."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflab.caching import CURVE, miss_ratio_curve, recommend_size, simulate
from perflab.caching.curve import doubling_gain, find_knee, stack_distances
from perflab.errors import ParameterError
from tests.caching.reference import zipf


@pytest.fixture(scope="module")
def trace() -> pl.DataFrame:
    return zipf(200_000, 20_000, 0.9, seed=11, mean_size=300)


@pytest.mark.parametrize("unit", ["objects", "bytes"])
def test_exact_lru_curve_equals_a_replay_at_every_size(trace, unit):
    small = trace.head(30_000)
    sizes = [1, 7, 50, 333, 2_000] if unit == "objects" else [400, 5_000, 80_000, 600_000]
    sizes = [s for s in sizes if s >= small["size"].max() or unit == "objects"]
    curve = miss_ratio_curve(small, unit=unit, sizes=sizes)
    sim = simulate(small, ["lru"], sizes, unit=unit).sort("size")
    assert curve["method"].unique().to_list() == ["exact"]
    assert curve["miss_ratio"].to_list() == pytest.approx(sim["miss_ratio"].to_list(), abs=1e-12)
    assert curve["byte_miss_ratio"].to_list() == pytest.approx(
        (1 - sim["byte_hit_ratio"]).to_list(), abs=1e-12
    )


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from(["get", "get", "set", "delete"])),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 12),
)
def test_exact_curve_equals_replay_with_sets_and_deletes(reqs, size):
    df = {
        "timestamp": [float(i) for i in range(len(reqs))],
        "key": [k for k, _ in reqs],
        "size": [1] * len(reqs),
        "op": [op for _, op in reqs],
    }
    sim = simulate(df, ["lru"], [size], workers=1)
    if sim.is_empty() or sim["requests"][0] == 0:
        return
    curve = miss_ratio_curve(df, sizes=[size])
    assert curve["miss_ratio"][0] == pytest.approx(sim["miss_ratio"][0], abs=1e-12)


def test_default_grid_is_every_size_for_a_small_working_set():
    t = zipf(5_000, 150, seed=3)
    curve = miss_ratio_curve(t)
    assert curve["size"].to_list() == list(range(1, t["key"].n_unique() + 1))
    assert curve["miss_ratio"].is_sorted(descending=True)  # LRU: inclusion
    assert curve.schema == pl.Schema(CURVE.dtypes())


def test_stack_distances_by_hand():
    t = {"timestamp": [0.0, 1, 2, 3, 4], "key": [0, 1, 2, 0, 1], "size": [10, 20, 30, 10, 20]}
    assert stack_distances(t).tolist() == [-1, -1, -1, 3, 3]
    assert stack_distances(t, "bytes").tolist() == [-1, -1, -1, 60, 60]


@pytest.fixture(scope="module")
def wide() -> pl.DataFrame:
    # many objects, so that a 10 % key sample still holds thousands of them
    return zipf(400_000, 100_000, 0.8, seed=12)


SAMPLED_SIZES = [500, 2_000, 10_000, 50_000]


@pytest.mark.parametrize("salt", [0, 1, 2])
def test_shards_is_within_its_stated_error_of_exact(wide, salt):
    exact = miss_ratio_curve(wide, sizes=SAMPLED_SIZES)
    est = miss_ratio_curve(wide, method="shards", rate=0.1, sizes=SAMPLED_SIZES, salt=salt)
    assert est["method"].unique().to_list() == ["shards"]
    gap = (est["miss_ratio"] - exact["miss_ratio"]).abs().to_numpy()
    err = est["error"].to_numpy()
    assert (err > 0).all()
    assert gap.max() < 0.06
    assert (gap < 4 * err + 0.005).all(), (gap, err)


@pytest.mark.parametrize("salt", [0, 1])
def test_scaled_simulation_is_within_its_stated_error_for_another_policy(wide, salt):
    exact = miss_ratio_curve(wide, "sieve", sizes=SAMPLED_SIZES, method="exact")
    est = miss_ratio_curve(wide, "sieve", method="scaled", rate=0.1, sizes=SAMPLED_SIZES, salt=salt)
    assert exact["method"][0] == "exact" and est["method"][0] == "scaled"
    gap = (est["miss_ratio"] - exact["miss_ratio"]).abs().to_numpy()
    assert (gap < 4 * est["error"].to_numpy() + 0.005).all()


def test_a_non_lru_exact_curve_is_simulate(trace):
    small = trace.head(20_000)
    curve = miss_ratio_curve(small, "s3fifo", sizes=[100, 1_000])
    sim = simulate(small, ["s3fifo"], [100, 1_000])
    assert curve["miss_ratio"].to_list() == sim["miss_ratio"].to_list()


def test_bad_arguments_are_refused(trace):
    with pytest.raises(ParameterError, match="SHARDS"):
        miss_ratio_curve(trace, "fifo", method="shards")
    with pytest.raises(ParameterError, match="unknown policy"):
        miss_ratio_curve(trace, "mru")
    with pytest.raises(ParameterError, match="sampling rate"):
        miss_ratio_curve(trace, method="shards", rate=0.0)
    with pytest.raises(ParameterError, match="positive"):
        miss_ratio_curve(trace, sizes=[0])


def test_empty_trace_gives_an_empty_curve():
    empty = pl.DataFrame(schema={"timestamp": pl.Float64, "key": pl.Int64, "size": pl.Int64})
    assert miss_ratio_curve(empty).is_empty()


CURVE_SMALL = {"size": [1, 2, 4, 8, 16], "miss_ratio": [0.9, 0.6, 0.4, 0.35, 0.34]}


def test_recommend_size_reads_the_smallest_size_that_reaches_the_target():
    assert recommend_size(CURVE_SMALL, 0.6) == 4
    assert recommend_size(CURVE_SMALL, 0.4) == 2
    assert recommend_size(CURVE_SMALL, 0.7) is None
    with pytest.raises(ParameterError):
        recommend_size(CURVE_SMALL, 0)


def test_recommend_size_on_a_simulation_needs_the_policy():
    sim = simulate(zipf(3_000, 200, seed=4), ["lru", "sieve"], [5, 20, 80])
    with pytest.raises(ParameterError, match="several policies"):
        recommend_size(sim, 0.5)
    lru = recommend_size(sim, 0.3, policy="lru")
    assert lru in (5, 20, 80)


def test_doubling_gain_and_knee():
    gains = doubling_gain(CURVE_SMALL)["gain"].to_list()
    assert gains[:4] == pytest.approx([30, 20, 5, 1])
    assert gains[4] is None
    assert find_knee(CURVE_SMALL) == 4
    assert find_knee({"size": [1, 2], "miss_ratio": [0.5, 0.4]}) is None
    flat = {"size": [1, 2, 4], "miss_ratio": [0.5, 0.5, 0.5]}
    assert find_knee(flat) is None


def test_knee_of_a_zipf_curve_is_inside_it(trace):
    curve = miss_ratio_curve(trace.head(50_000))
    knee = find_knee(curve)
    assert knee is not None and curve["size"].min() < knee < curve["size"].max()
    assert np.isfinite(curve["miss_ratio"].to_numpy()).all()


def test_sampled_curve_has_no_estimate_where_the_size_scales_below_one_object(wide):
    est = miss_ratio_curve(wide, method="shards", rate=0.01, sizes=[50, 5_000])
    assert est["miss_ratio"].to_list()[0] is None
    assert est["miss_ratio"].to_list()[1] is not None


def test_a_delete_breaks_inclusion_so_the_curve_replays():
    # 3 is evicted from a 4-object LRU by 4 before 0 is deleted; a stack would have
    # moved 3 up when 0 left, and counted the last get a hit
    df = {
        "timestamp": [float(i) for i in range(7)],
        "key": [3, 0, 1, 2, 4, 0, 3],
        "size": [1] * 7,
        "op": ["get"] * 5 + ["delete", "get"],
    }
    assert miss_ratio_curve(df, sizes=[4])["miss_ratio"][0] == 1.0
    assert simulate(df, ["lru"], [4])["miss_ratio"][0] == 1.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(1, 9)), min_size=1, max_size=50),
    st.integers(5, 40),
)
def test_byte_curve_equals_replay_when_objects_change_size(reqs, size):
    df = {
        "timestamp": [float(i) for i in range(len(reqs))],
        "key": [k for k, _ in reqs],
        "size": [s for _, s in reqs],
        "op": ["set" if i % 3 == 2 else "get" for i in range(len(reqs))],
    }
    sim = simulate(df, ["lru"], [size], unit="bytes", workers=1)
    if sim.is_empty() or sim["requests"][0] == 0:
        return
    curve = miss_ratio_curve(df, unit="bytes", sizes=[size])
    assert curve["miss_ratio"][0] == pytest.approx(sim["miss_ratio"][0], abs=1e-12)

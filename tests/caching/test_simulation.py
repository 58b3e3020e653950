"""simulate(): agreement with libCacheSim and a plain-Python replay, Belady's bound,
TTLs and operations, sizes, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflab.caching import SIMULATION, simulate
from perflab.caching.simulation import default_sizes, prepare
from perflab.errors import ParameterError, SchemaError
from tests.caching.reference import libcachesim_hit_ratio, replay_reference, write_oracle, zipf

EXACT = ["fifo", "lru", "lfu", "clock", "sieve", "s3fifo"]


@pytest.fixture(scope="module")
def unit_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    trace = zipf(60_000, 6_000, 0.9, seed=5)
    return trace, write_oracle(trace, tmp_path_factory.mktemp("lcs") / "unit.oracleGeneral")


@pytest.fixture(scope="module")
def sized_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    trace = zipf(60_000, 6_000, 1.0, seed=6, mean_size=400)
    return trace, write_oracle(trace, tmp_path_factory.mktemp("lcs") / "sized.oracleGeneral")


@pytest.mark.parametrize("policy", EXACT)
def test_object_capacity_agrees_with_libcachesim_to_four_decimals(unit_trace, policy):
    trace, path = unit_trace
    sizes = [20, 300, 2_000]
    ours = simulate(trace, [policy], sizes).sort("size")
    for size, hit_ratio in zip(sizes, ours["hit_ratio"], strict=True):
        theirs, _ = libcachesim_hit_ratio(path, policy, size)
        assert hit_ratio == pytest.approx(theirs, abs=5e-5), (policy, size)


@pytest.mark.parametrize("policy", ["fifo", "lru", "clock", "sieve"])
def test_byte_capacity_agrees_with_libcachesim(sized_trace, policy):
    trace, path = sized_trace
    for size in (50_000, 400_000):
        ours = simulate(trace, [policy], [size], unit="bytes").row(0, named=True)
        hit, byte_hit = libcachesim_hit_ratio(path, policy, size)
        assert ours["hit_ratio"] == pytest.approx(hit, abs=5e-5), (policy, size)
        assert ours["byte_hit_ratio"] == pytest.approx(byte_hit, abs=5e-5), (policy, size)


@st.composite
def traces(draw: st.DrawFn) -> list[tuple[float, int, int, float | None, str]]:
    n = draw(st.integers(0, 60))
    keys = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    rows = []
    t = 0.0
    for k in keys:
        t += draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
        size = draw(st.integers(1, 9))
        ttl = draw(st.sampled_from([None, None, 2.0, 5.0]))
        op = draw(st.sampled_from(["get", "get", "get", "set", "delete"]))
        rows.append((t, k, size, ttl, op))
    return rows


def _frame(rows: list[tuple[float, int, int, float | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "timestamp": pl.Float64,
            "key": pl.Int64,
            "size": pl.Int64,
            "ttl": pl.Float64,
            "op": pl.String,
        },
        orient="row",
    )


@settings(max_examples=150, deadline=None)
@given(traces(), st.sampled_from(["fifo", "lru"]), st.integers(1, 25), st.booleans())
def test_fifo_and_lru_equal_a_plain_python_replay_with_ttls_and_operations(
    rows, policy, cap, by_bytes
):
    df = _frame(rows)
    want = replay_reference(rows, policy, cap, by_bytes)
    got = simulate(df, [policy], [cap], unit="bytes" if by_bytes else "objects", workers=1)
    if not want["requests"]:
        assert got.is_empty() or got["requests"][0] == 0
        return
    got_row = got.row(0, named=True)
    assert {k: got_row[k] for k in want} == want


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from(["get"] * 4 + ["set", "delete"])),
        min_size=1,
        max_size=80,
    ),
    st.integers(1, 10),
    st.sampled_from(["miss", "set"]),
)
def test_belady_is_never_beaten_with_objects_of_one_size(reqs, cap, fill):
    trace = {
        "timestamp": [float(i) for i in range(len(reqs))],
        "key": [k for k, _ in reqs],
        "size": [1] * len(reqs),
        "op": [op for _, op in reqs],
    }
    policies = ["fifo", "lru", "lfu", "clock", "sieve", "s3fifo", "arc", "2q", "wtinylfu"]
    out = simulate(trace, [*policies, "redis-lru", "redis-lfu", "belady"], [cap], fill=fill)
    if out.is_empty():
        return
    hits = dict(zip(out["policy"], out["hits"], strict=True))
    assert all(hits["belady"] >= h for h in hits.values()), hits


def test_belady_bounds_every_policy_on_a_zipf_trace(unit_trace):
    out = simulate(
        unit_trace[0], ["fifo", "lru", "lfu", "clock", "sieve", "s3fifo", "belady"], [50, 500]
    )
    best = out.filter(pl.col("policy") == "belady").sort("size")["hit_ratio"].to_list()
    for size, bound in zip([50, 500], best, strict=True):
        others = out.filter((pl.col("size") == size) & (pl.col("policy") != "belady"))
        assert others["hit_ratio"].max() < bound


def test_result_frame_has_the_schema_and_sane_ratios(unit_trace):
    out = simulate(unit_trace[0], ["lru", "sieve"], [0.01, 0.1, 1000])
    assert out.schema == pl.Schema(SIMULATION.dtypes())
    ws = unit_trace[0]["key"].n_unique()  # a fraction is of the distinct objects
    want = [round(0.01 * ws), round(0.1 * ws), 1000]
    assert out["size"].to_list() == want + want
    assert ((out["hit_ratio"] + out["miss_ratio"]) - 1).abs().max() < 1e-12
    # a bigger LRU cache never hits less (inclusion)
    lru = out.filter(pl.col("policy") == "lru")["hit_ratio"].to_list()
    assert lru == sorted(lru)


def test_default_sizes_span_the_working_set():
    assert default_sizes(1_000_000)[0] == 1_000 and default_sizes(1_000_000)[-1] == 1_000_000
    assert default_sizes(0) == []


def test_string_keys_are_remapped():
    trace = {"timestamp": [0.0, 1, 2, 3], "key": ["a", "b", "a", "c"], "size": [5, 5, 5, 5]}
    out = simulate(trace, ["lru"], [2])
    assert out["hits"][0] == 1


def test_ttl_expiry_makes_a_miss_and_is_counted():
    trace = {
        "timestamp": [0.0, 1.0, 20.0],
        "key": [1, 1, 1],
        "size": [1, 1, 1],
        "ttl": [10.0, 10.0, 10.0],
        "op": ["get", "get", "get"],
    }
    row = simulate(trace, ["lru"], [5]).row(0, named=True)
    assert (row["hits"], row["expirations"]) == (1, 1)


def test_delete_removes_the_object():
    trace = {
        "timestamp": [0.0, 1, 2],
        "key": [1, 1, 1],
        "size": [1, 1, 1],
        "op": ["get", "delete", "get"],
    }
    for policy in ["fifo", "lru", "lfu", "clock", "sieve", "s3fifo", "belady"]:
        row = simulate(trace, [policy], [5]).row(0, named=True)
        assert (row["requests"], row["hits"]) == (2, 0), policy


def test_objects_larger_than_the_cache_are_never_admitted():
    trace = {"timestamp": [0.0, 1, 2, 3], "key": [1, 2, 1, 2], "size": [100, 5, 100, 5]}
    for policy in ["lru", "s3fifo", "belady"]:
        row = simulate(trace, [policy], [50], unit="bytes").row(0, named=True)
        assert row["too_large"] == 2, policy
        assert row["hits"] == 1, policy  # the small object still hits


def test_empty_trace_gives_an_empty_frame():
    out = simulate(
        pl.DataFrame(schema={"timestamp": pl.Float64, "key": pl.Int64, "size": pl.Int64}),
        ["lru"],
        [10],
    )
    assert out.is_empty() and out.schema == pl.Schema(SIMULATION.dtypes())


@pytest.mark.parametrize("size", [0, -5, 2.5])
def test_a_size_of_zero_or_less_is_refused(size):
    with pytest.raises(ParameterError, match="cache size"):
        simulate({"timestamp": [0.0], "key": [1], "size": [1]}, ["lru"], [size])


def test_unknown_policy_is_refused_with_the_known_ones():
    with pytest.raises(ParameterError, match="sieve"):
        simulate({"timestamp": [0.0], "key": [1], "size": [1]}, ["lrv"], [1])


def test_negative_sizes_are_refused_with_the_request():
    with pytest.raises(ParameterError, match="request 1 has a negative size"):
        simulate({"timestamp": [0.0, 1], "key": [1, 2], "size": [3, -1]}, ["lru"], [10])


def test_unsorted_timestamps_are_refused():
    with pytest.raises(ParameterError, match="timestamps go back at request 2"):
        simulate({"timestamp": [0.0, 5, 1], "key": [1, 2, 3], "size": [1, 1, 1]}, ["lru"], [10])


def test_missing_columns_name_them():
    with pytest.raises(SchemaError, match="size"):
        simulate({"timestamp": [0.0], "key": [1]}, ["lru"], [10])


def test_prepare_is_reusable_and_the_input_is_untouched():
    trace = zipf(2_000, 300, seed=2)
    before = trace.clone()
    p = prepare(trace)
    a = simulate(p, ["lru"], [50])
    b = simulate(trace, ["lru"], [50])
    assert a.equals(b)
    assert trace.equals(before)
    assert np.array_equal(p.keys, trace["key"].to_numpy())


def test_ttl_effect_shows_the_hits_expiry_costs():
    from perflab.caching import ttl_effect

    t = zipf(20_000, 1_000, seed=7).with_columns(pl.lit(3.0).alias("ttl"))  # 3 s at 1000/s
    out = ttl_effect(t, "lru", [50, 500])
    with_ttl = out.filter(pl.col("variant") == "with TTLs").sort("size")
    without = out.filter(pl.col("variant") == "without TTLs").sort("size")
    assert (with_ttl["hits"] < without["hits"]).all()
    assert with_ttl["expirations"].sum() > 0 and without["expirations"].sum() == 0
    assert ttl_effect(zipf(1_000, 100, seed=1), "lru", [10]).is_empty()  # no TTL, no rows


def test_fill_on_set_admits_nothing_on_a_miss():
    trace = {
        "timestamp": [0.0, 1, 2, 3, 4],
        "key": [1, 1, 1, 2, 2],
        "size": [1] * 5,
        "op": ["get", "get", "set", "get", "get"],
    }
    for policy in ["lru", "s3fifo", "arc", "belady"]:
        aside = simulate(trace, [policy], [5], fill="set").row(0, named=True)
        through = simulate(trace, [policy], [5]).row(0, named=True)
        # cache-aside: 1 misses twice until its set; 2 is never set, never cached
        assert (aside["requests"], aside["hits"]) == (4, 0), policy
        assert through["hits"] == 2, policy
    with pytest.raises(ParameterError, match="fill"):
        simulate(trace, ["lru"], [5], fill="read")


def test_zero_size_objects_hit_and_a_zero_byte_working_set_is_empty():
    t = {"timestamp": [0.0, 1, 2, 3], "key": [0, 1, 0, 1], "size": [0, 4, 0, 4]}
    from perflab.caching import miss_ratio_curve

    sim = simulate(t, ["lru"], [4], unit="bytes")
    curve = miss_ratio_curve(t, unit="bytes", sizes=[4])
    assert curve["miss_ratio"][0] == pytest.approx(sim["miss_ratio"][0])
    zero = {"timestamp": [0.0, 1], "key": [0, 0], "size": [0, 0]}
    assert simulate(zero, ["lru"], unit="bytes").is_empty()

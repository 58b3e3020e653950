"""kernel_group_stats on its own: group ids, the radix select, the hash table, the merge.

The kernels promise numpy's ``"linear"`` percentiles bit for bit, so quantiles are
compared with ``==`` (for floats other than zero that is bit equality; a zero may
differ from numpy's in its sign, which ``==`` ignores).
"""

from __future__ import annotations

import os

import numpy as np
import polars as pl
import pytest

from perflab import kernels
from perflab.kernels import kernel_group_stats

QS = np.array([0.0, 1e-6, 0.001, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1])


@pytest.fixture(autouse=True)
def _numba():
    if not kernels.available():
        pytest.skip("numba not installed")


def stats_of(frame, keys, values, qs=QS):
    return kernel_group_stats(frame, [pl.col(k) for k in keys], np.asarray(values, float), qs)


def numpy_row(v, qs=QS):
    """count, mean, min, max, std (ddof 1, NaN for one value), quantiles: by numpy."""
    with np.errstate(over="ignore"):  # the squares of ±1e300 overflow, here as in the kernel
        std = v.std(ddof=1) if v.size > 1 else np.nan
    return np.array([v.size, v.mean(), v.min(), v.max(), std, *np.quantile(v, qs)])


def assert_matches_numpy(row, v, qs=QS):
    exp = numpy_row(v, qs)
    assert row[[0, 2, 3]].tolist() == exp[[0, 2, 3]].tolist()  # count, min, max exact
    scale = float(np.abs(v).max())
    assert row[1] == pytest.approx(exp[1], rel=1e-12, abs=1e-15 * scale)
    assert row[4] == pytest.approx(exp[4], rel=1e-9, nan_ok=True)
    assert row[5:].tolist() == exp[5:].tolist()


def test_groups_are_numbered_in_order_of_first_appearance():
    f = pl.DataFrame({"k": ["c", "a", "c", None, "b", "a", None, ""]})
    values = [1.0, 10.0, 3.0, -4.0, 7.0, 20.0, -2.0, 0.5]
    first, stats = stats_of(f, ["k"], values, [0.5])
    assert first.tolist() == [0, 1, 3, 4, 7]  # c, a, null, b, ""
    assert stats[:, [0, 1, 5]].tolist() == [
        [2, 2.0, 2.0],
        [2, 15.0, 15.0],
        [2, -3.0, -3.0],
        [1, 7.0, 7.0],
        [1, 0.5, 0.5],
    ]
    assert np.isnan(stats[3:, 4]).all()  # std of a group of one


def test_several_key_columns_are_one_key_in_order():
    f = pl.DataFrame({"a": [1, 2, 1, None, 0, 1], "b": [2, 1, 2, 0, None, 2]})
    first, stats = stats_of(f, ["a", "b"], [1, 2, 3, 4, 5, 6], [0.5])
    assert first.tolist() == [0, 1, 3, 4]  # (1, 2) ≠ (2, 1); (null, 0) ≠ (0, null)
    assert stats[:, 0].tolist() == [3, 1, 1, 1]
    assert stats[0, 5] == 3.0


def test_no_key_is_one_group():
    f = pl.DataFrame({"k": ["a", "b", "c"]})
    first, stats = stats_of(f, [], [3.0, 1.0, 2.0], [0.0, 0.5, 1.0])
    assert first.tolist() == [0]
    assert stats.tolist() == [[3, 2.0, 1.0, 3.0, 1.0, 1.0, 2.0, 3.0]]


def test_radix_select_on_big_groups_equals_numpy_exactly():
    rng = np.random.default_rng(5)
    n = 20_000  # far above the 4096 values where the radix select takes over
    groups = {
        "latency": rng.lognormal(3, 1, n),
        "ties": rng.integers(-3, 4, n).astype(float),
        "zeros": rng.choice([-0.0, 0.0, -1.5, 2.5], n),
        "constant": np.full(n, 42.0),
        "negative": -rng.lognormal(0, 2, n),
        "huge range": rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-300, 300, n),
        "one bin": 1.0 + rng.integers(0, 50, n) * 1e-12,  # same top 16 bits
        "at the cut": rng.normal(0, 1, 4096),  # quickselect only
        "just above": rng.normal(0, 1, 4097),  # radix select
        "small": rng.normal(0, 1, 7),
    }
    names = np.concatenate([np.full(v.size, k) for k, v in groups.items()])
    values = np.concatenate(list(groups.values()))
    order = rng.permutation(values.size)
    f = pl.DataFrame({"name": names[order]})
    first, stats = stats_of(f, ["name"], values[order])
    assert sorted(f.get_column("name").gather(first).to_list()) == sorted(groups)
    for name, row in zip(f.get_column("name").gather(first), stats, strict=True):
        assert_matches_numpy(row, groups[name])


def test_the_values_array_is_left_alone():
    values = np.random.default_rng(1).normal(size=10_000)
    before = values.copy()
    stats_of(pl.DataFrame({"k": np.arange(10_000) % 3}), ["k"], values)
    assert np.array_equal(values, before)


@pytest.fixture
def eight_threads(monkeypatch):
    """Split the rows into 8 chunks, whatever the machine, and record the chunks."""
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 8)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    seen = []
    split = kernels._split

    def spy(total, parts):
        seen.append(split(total, parts))
        return seen[-1]

    monkeypatch.setattr(kernels, "_split", spy)
    return seen


def test_many_groups_across_many_chunks_merge_like_polars_group_by(eight_threads):
    rng = np.random.default_rng(9)
    n, n_groups = 60_000, 5_000  # more groups than the initial 1024-slot table holds
    codes = rng.integers(0, n_groups, n)
    f = pl.DataFrame(
        {
            "k": pl.Series(codes).replace(17, None),  # a null group too
            "s": pl.Series(codes % 7).cast(pl.String),
            "v": rng.normal(100, 30, n).round(1),
        }
    )
    values = f.get_column("v").to_numpy()
    first, stats = stats_of(f, ["k", "s"], values)
    assert len(eight_threads[0]) == 8

    expected = (
        f.with_row_index("row")
        .group_by("k", "s", maintain_order=True)
        .agg(pl.len().alias("count"), pl.col("row").first(), pl.col("v"))
    )
    assert len(first) == expected.height == n_groups
    assert first.tolist() == expected.get_column("row").to_list()
    assert stats[:, 0].tolist() == expected.get_column("count").to_list()
    for row, v in zip(stats, expected.get_column("v").to_list(), strict=True):
        assert_matches_numpy(row, np.array(v))


def test_one_chunk_and_eight_chunks_give_the_same_numbers(monkeypatch):
    rng = np.random.default_rng(2)
    f = pl.DataFrame({"k": rng.integers(0, 3_000, 50_000)})
    values = rng.lognormal(2, 1, 50_000)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 1)
    one = stats_of(f, ["k"], values)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 8)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    eight = stats_of(f, ["k"], values)
    assert np.array_equal(one[0], eight[0])
    assert np.array_equal(one[1], eight[1], equal_nan=True)


def test_an_empty_frame_has_no_groups():
    first, stats = stats_of(pl.DataFrame({"k": pl.Series([], dtype=pl.String)}), ["k"], [], QS)
    assert first.size == 0 and stats.shape == (0, 5 + QS.size)

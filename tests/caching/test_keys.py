"""Tests for perflab.caching.keys: dense ids against ``Series.unique(maintain_order=True)``."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflab.caching.keys import dense_keys, is_dense


def reference(s: pl.Series) -> list[int]:
    """The id of each key: its index among the distinct keys in order of appearance."""
    index = {v: i for i, v in enumerate(s.unique(maintain_order=True).to_list())}
    return [index[v] for v in s.to_list()]


few_ints = st.integers(-3, 3)
wide_ints = st.integers(-(2**63), 2**63 - 1)
hashes = st.integers(0, 2**64 - 1)
texts = st.text(max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.lists(few_ints, max_size=40).map(lambda v: pl.Series("key", v, dtype=pl.Int64)),
        st.lists(wide_ints, max_size=40).map(lambda v: pl.Series("key", v, dtype=pl.Int64)),
        st.lists(hashes, max_size=40).map(lambda v: pl.Series("key", v, dtype=pl.UInt64)),
        st.lists(st.integers(0, 255), max_size=40).map(lambda v: pl.Series("key", v, pl.UInt8)),
        st.lists(texts, max_size=40).map(lambda v: pl.Series("key", v, dtype=pl.String)),
        st.lists(st.one_of(st.none(), texts), max_size=40).map(
            lambda v: pl.Series("key", v, dtype=pl.String)
        ),
        st.lists(st.one_of(st.none(), few_ints), max_size=40).map(
            lambda v: pl.Series("key", v, dtype=pl.Int32)
        ),
    ),
    st.booleans(),
)
def test_dense_keys_match_the_reference(s: pl.Series, exact: bool) -> None:
    ids = dense_keys(s, exact=exact)
    assert ids.dtype == pl.Int64
    assert ids.name == "key"
    assert ids.to_list() == reference(s)
    assert is_dense(ids)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=30))
def test_is_dense_exactly_when_the_ids_are_already_dense(values: list[int]) -> None:
    s = pl.Series(values, dtype=pl.Int64)
    assert is_dense(s) == (s.to_list() == reference(s))


def test_is_dense_refuses_what_is_not_ids() -> None:
    assert is_dense(pl.Series([], dtype=pl.Int64))
    assert not is_dense(pl.Series([0, None, 1]))
    assert not is_dense(pl.Series(["0", "1"]))
    assert not is_dense(pl.Series([0.0, 1.0]))
    assert not is_dense(pl.Series([0, 2**64 - 1], dtype=pl.UInt64))
    assert not is_dense(pl.Series([0, -1]))


def test_an_empty_series_gives_empty_ids() -> None:
    out = dense_keys(pl.Series("k", [], dtype=pl.String))
    assert out.dtype == pl.Int64 and out.len() == 0 and out.name == "k"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda r, n: r.integers(0, n // 4, n), id="small-range"),
        pytest.param(lambda r, n: r.integers(0, n // 4, n) * 1_000_003, id="sparse"),
        pytest.param(
            lambda r, n: r.integers(0, n // 4, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15),
            id="uint64-hashes",
        ),
        pytest.param(lambda r, n: [f"k{x}" for x in r.integers(0, n // 4, n)], id="strings"),
    ],
)
def test_many_keys_agree_with_polars(make) -> None:  # type: ignore[no-untyped-def]
    """Tables that grow many times over, checked against a polars-only spelling."""
    s = pl.Series("key", make(np.random.default_rng(7), 200_000))
    first = pl.DataFrame({"key": s}).with_row_index("row").group_by("key").agg(pl.col("row").min())
    ranks = first.with_columns(pl.col("row").rank("ordinal").cast(pl.Int64).sub(1).alias("id"))
    want = pl.DataFrame({"key": s}).join(ranks, on="key", how="left", maintain_order="left")["id"]
    assert dense_keys(s).to_list() == want.to_list()

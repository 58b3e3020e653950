"""The mergeable histogram: quantiles within its accuracy of numpy's, merges exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflab.errors import ParameterError
from perflab.loadtest import Histogram


def exact_lower(values: np.ndarray, q: float) -> float:
    return float(np.sort(values)[math.floor(q * (values.size - 1))])


@pytest.mark.parametrize("q", [0.0, 0.5, 0.9, 0.99, 0.999, 1.0])
def test_quantiles_within_one_percent_of_numpy(q):
    values = np.random.default_rng(5).lognormal(1.0, 1.2, 100_000)
    h = Histogram()
    h.add(values)
    assert h.quantile(q) == pytest.approx(exact_lower(values, q), rel=0.01)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.001, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.lists(st.floats(0.001, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.floats(0, 1),
)
def test_merging_equals_adding_everything(a, b, q):
    one, two, both = Histogram(), Histogram(), Histogram()
    one.add(a)
    two.add(b)
    both.add(a + b)
    merged = one + two
    assert np.array_equal(merged.counts, both.counts)
    assert merged.quantile(q) == both.quantile(q)
    assert merged.quantile(q) == pytest.approx(exact_lower(np.array(a + b), q), rel=0.01)


def test_state_round_trip_and_edges():
    h = Histogram()
    assert math.isnan(h.quantile(0.5)) and h.count == 0
    h.add([np.nan, 0.0, 5e9])  # NaN ignored; out of range clamped to the end buckets
    assert h.count == 2 and h.max == 5e9 and h.min == 0.0
    again = Histogram.from_state(h.to_state())
    assert np.array_equal(again.counts, h.counts) and again.quantile(1.0) == h.quantile(1.0)
    with pytest.raises(ParameterError, match="merge"):
        h.merge(Histogram(accuracy=0.02))
    with pytest.raises(ParameterError):
        h.quantile(1.5)

import math

import pytest

from perflab.errors import ParameterError
from perflab.pooling import erlang_c, erlang_table, size_recommendation, wait_percentile_ms
from perflab.pooling.erlang import erlang_b, mean_wait_ms, wait_exceeds


def reference_erlang_c(c: int, a: float) -> float:
    """The textbook formula in log space (lgamma), an independent reference."""
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    top = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
    m = max([*logs, top])
    total = sum(math.exp(v - m) for v in logs) + math.exp(top - m)
    return math.exp(top - m) / total


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.0), (10, 7.3), (50, 45.0), (400, 390.0)])
def test_erlang_c_matches_the_textbook_formula(c, a):
    assert erlang_c(c, a) == pytest.approx(reference_erlang_c(c, a), rel=1e-9)


def test_erlang_c_is_stable_for_thousands_of_connections():
    # a^c / c! overflows a float for c = 5000; the recursion does not
    p = erlang_c(5000, 4950.0)
    assert 0 < p < 1
    assert p == pytest.approx(reference_erlang_c(5000, 4950.0), rel=1e-6)


def test_known_values_and_edges():
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(3, 5.0) == 1.0  # overloaded: everyone waits
    assert erlang_c(3, 0.0) == 0.0
    assert mean_wait_ms(2, 100.0, 10.0) == pytest.approx(10 / 3)
    assert mean_wait_ms(2, 300.0, 10.0) == math.inf
    assert wait_exceeds(2, 100.0, 10.0, 10.0) == pytest.approx(math.exp(-1) / 3)
    # the p99 is where P(W > t) = 1 %
    t = wait_percentile_ms(4, 300.0, 10.0, 0.99)
    assert wait_exceeds(4, 300.0, 10.0, t) == pytest.approx(0.01)


def test_more_connections_never_wait_longer():
    table = erlang_table(400.0, 10.0, range(5, 15))
    assert table["wait_probability"].is_sorted(descending=True)
    assert table["p99_wait_ms"].is_sorted(descending=True)


@pytest.mark.parametrize("target", [1.0, 5.0, 20.0])
def test_size_recommendation_is_the_smallest_size_meeting_a_p99_target(target):
    r = size_recommendation(400.0, 10.0, target)
    assert r.met and r.p99_wait_ms <= target
    assert wait_percentile_ms(r.size - 1, 400.0, 10.0, 0.99) > target
    assert r.offered_load == pytest.approx(4.0) and r.utilization == pytest.approx(4.0 / r.size)


def test_size_recommendation_for_a_wait_probability_and_a_mean():
    r = size_recommendation(400.0, 10.0, 0.05, kind="wait_probability")
    assert r.wait_probability <= 0.05 < erlang_c(r.size - 1, 4.0)
    m = size_recommendation(400.0, 10.0, 1.0, kind="mean_wait_ms")
    assert m.mean_wait_ms <= 1.0 < mean_wait_ms(m.size - 1, 400.0, 10.0)


def test_size_recommendation_rejects_nonsense():
    with pytest.raises(ParameterError, match="hold_ms"):
        size_recommendation(100.0, -5.0, 10.0)
    with pytest.raises(ParameterError, match="arrival_rate"):
        size_recommendation(-1.0, 5.0, 10.0)
    with pytest.raises(ParameterError, match="kind"):
        size_recommendation(100.0, 5.0, 10.0, kind="p99")
    with pytest.raises(ParameterError, match="servers"):
        erlang_c(0, 1.0)

"""perflab.stats against numpy and scipy, and on seeded simulations."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from perflab import stats
from perflab.errors import ParameterError
from perflab.stats import (
    bootstrap_ci,
    bootstrap_compare_ci,
    change_points,
    mann_whitney,
    percentiles,
    quantile_exprs,
    quantile_name,
    theil_sen,
)
from tests.strategies import finite_floats, samples

QS = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6)
NAMED_QS = st.lists(
    st.floats(0.0, 1.0).map(lambda q: round(q, 4)), min_size=1, max_size=6, unique=True
)


# ----------------------------------------------------------------------------- quantiles


@settings(deadline=None)
@given(samples(), QS)
def test_percentiles_match_numpy_linear(values, qs):
    expected = np.quantile(np.array(values), qs)  # numpy's default method, "linear"
    np.testing.assert_allclose(percentiles(values, qs), expected, rtol=1e-12, atol=1e-9)


@settings(deadline=None)
@given(samples(), NAMED_QS)
def test_polars_quantile_exprs_match_numpy(values, qs):
    got = pl.DataFrame({"v": values}).select(quantile_exprs("v", qs)).row(0)
    np.testing.assert_allclose(got, np.quantile(np.array(values), qs), rtol=1e-12, atol=1e-9)


@settings(deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), finite_floats()), min_size=1, max_size=60)
)
def test_quantile_exprs_per_group_match_numpy(rows):
    df = pl.DataFrame(rows, schema=["g", "v"], orient="row")
    got = df.group_by("g").agg(quantile_exprs("v", (0.5, 0.95, 0.999)))
    for g, *qs in got.iter_rows():
        values = df.filter(pl.col("g") == g).get_column("v").to_numpy()
        np.testing.assert_allclose(qs, np.quantile(values, [0.5, 0.95, 0.999]), atol=1e-9)


def test_single_element_and_ties():
    assert percentiles([7.0], (0.0, 0.5, 1.0)).tolist() == [7.0, 7.0, 7.0]
    assert percentiles([1, 1, 1, 2], (0.5, 0.9)).tolist() == pytest.approx([1.0, 1.7])


def test_quantile_names():
    assert [quantile_name(q) for q in (0.5, 0.95, 0.999, 0.005, 1.0)] == [
        "p50",
        "p95",
        "p999",
        "p05",
        "p100",
    ]
    assert [e.meta.output_name() for e in quantile_exprs("v", (0.9, 0.99))] == ["p90", "p99"]
    with pytest.raises(ParameterError, match="same name"):
        quantile_exprs("v", (0.5, 0.5))


@pytest.mark.parametrize(
    ("values", "qs"), [([], (0.5,)), ([1.0, float("nan")], (0.5,)), ([1.0], (1.5,))]
)
def test_percentiles_reject_bad_input(values, qs):
    with pytest.raises(ParameterError):
        percentiles(values, qs)


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_covers_true_mean_at_nominal_rate():
    rng = np.random.default_rng(42)
    trials = 200
    covered = 0
    for i in range(trials):
        sample = rng.normal(10.0, 2.0, 60)
        ci = bootstrap_ci(sample, "mean", n_boot=400, alpha=0.05, seed=i)
        covered += ci.low <= 10.0 <= ci.high
    assert 0.90 * trials <= covered <= 0.99 * trials


def test_bootstrap_ci_is_seeded_and_chunking_does_not_change_it(monkeypatch):
    x = np.random.default_rng(1).lognormal(3, 0.5, 300)
    a = bootstrap_ci(x, "p95", n_boot=300, seed=7)
    assert bootstrap_ci(x, "p95", n_boot=300, seed=7) == a
    assert bootstrap_ci(x, "p95", n_boot=300, seed=8) != a
    monkeypatch.setattr(stats, "_BOOT_CHUNK_ELEMENTS", 1000)  # 3 resamples per chunk
    assert bootstrap_ci(x, "p95", n_boot=300, seed=7) == a


def test_bootstrap_statistics_share_resamples():
    x = np.random.default_rng(2).normal(5, 1, 100)
    mean, median = bootstrap_ci(x, ("mean", "median"), n_boot=300)
    assert mean == bootstrap_ci(x, "mean", n_boot=300)
    assert median == bootstrap_ci(x, lambda a: np.median(a, axis=-1), n_boot=300)
    assert mean.estimate == pytest.approx(x.mean())


def test_bootstrap_compare_ci_finds_a_planted_ratio_and_difference():
    rng = np.random.default_rng(3)
    base, cur = rng.normal(100, 10, 400), rng.normal(130, 10, 400)
    ratio = bootstrap_compare_ci(base, cur, "mean", n_boot=500)
    assert ratio.low < 1.3 < ratio.high
    assert ratio.excludes(1.0)
    diff = bootstrap_compare_ci(base, cur, "mean", compare="difference", n_boot=500)
    assert diff.low < 30 < diff.high
    assert diff.estimate == pytest.approx(cur.mean() - base.mean())
    same = bootstrap_compare_ci(base, rng.normal(100, 10, 400), "p95", n_boot=500)
    assert same.low < 1.0 < same.high


def test_bootstrap_ratio_with_zero_baseline_is_undefined_not_infinite():
    ci = bootstrap_compare_ci([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], "mean", n_boot=50)
    assert np.isnan(ci.low) and np.isnan(ci.high)
    assert not ci.excludes(0.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"sample": []}, {"statistic": "average"}, {"n_boot": 0}, {"alpha": 1.5}],
)
def test_bootstrap_rejects_bad_input(kwargs):
    args = {"sample": [1.0, 2.0], "statistic": "mean", **kwargs}
    sample = args.pop("sample")
    with pytest.raises(ParameterError):
        bootstrap_ci(sample, **args)


# ----------------------------------------------------------------------------- Mann–Whitney


@settings(deadline=None)
@given(samples(max_size=30), samples(max_size=30))
def test_mann_whitney_matches_scipy(a, b):
    expected = scipy.stats.mannwhitneyu(a, b, alternative="two-sided")
    got = mann_whitney(a, b)
    assert got.u == expected.statistic
    if np.isnan(expected.pvalue):
        assert got.pvalue == 1.0
    else:
        assert got.pvalue == pytest.approx(expected.pvalue, rel=1e-12)


def test_mann_whitney_all_equal_is_not_significant():
    assert mann_whitney([3.0] * 10, [3.0] * 12).pvalue == 1.0


@pytest.mark.parametrize(("a", "b"), [([], [1.0]), ([1.0], []), ([np.nan], [1.0])])
def test_mann_whitney_rejects_empty_or_nan(a, b):
    with pytest.raises(ParameterError, match=r"empty|NaN"):
        mann_whitney(a, b)


# ----------------------------------------------------------------------------- Theil–Sen


@st.composite
def xy(draw, max_size=40):
    """x on a 0.001 grid (ties common), y finite with ties."""
    n = draw(st.integers(2, max_size))
    grid = st.integers(-20, 20).map(float) | st.integers(-(10**6), 10**6).map(lambda i: i / 1000)
    x = draw(st.lists(grid, min_size=n, max_size=n))
    y = draw(st.lists(finite_floats(1e3), min_size=n, max_size=n))
    return x, y


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@settings(max_examples=200, deadline=None)
@given(xy(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_theil_sen_matches_scipy(data, confidence):
    x, y = data
    if len(set(x)) < 2:
        with pytest.raises(ParameterError, match="equal"):
            theil_sen(x, y)
        return
    ours = theil_sen(x, y, confidence=confidence)
    ref = scipy.stats.theilslopes(y, x, confidence, method="separate")
    np.testing.assert_allclose(
        [ours.slope, ours.intercept, ours.low_slope, ours.high_slope],
        [ref.slope, ref.intercept, ref.low_slope, ref.high_slope],
        rtol=1e-9,
        atol=1e-9,
    )


def test_theil_sen_subsampled_pairs_approximate_scipy(monkeypatch):
    monkeypatch.setattr(stats, "_THEIL_SEN_EXACT_MAX_N", 100)
    monkeypatch.setattr(stats, "_THEIL_SEN_MAX_PAIRS", 40_000)
    rng = np.random.default_rng(5)
    x = np.arange(600) / 60.0
    y = 3.0 * x + rng.normal(0, 1, x.size)
    ours = theil_sen(x, y)
    ref = scipy.stats.theilslopes(y, x)
    width = ref.high_slope - ref.low_slope
    assert abs(ours.slope - ref.slope) < 0.1 * width
    assert abs(ours.low_slope - ref.low_slope) < 0.2 * width
    assert abs(ours.high_slope - ref.high_slope) < 0.2 * width
    assert theil_sen(x, y) == ours  # deterministic


@pytest.mark.parametrize(
    ("x", "y", "confidence"),
    [([1.0], [1.0], 0.95), ([1.0, 2.0], [1.0], 0.95), ([1, 2], [1, 2], 1.0), ([1, 1], [1, 2], 0.9)],
)
def test_theil_sen_rejects_bad_input(x, y, confidence):
    with pytest.raises(ParameterError):
        theil_sen(x, y, confidence=confidence)


# ----------------------------------------------------------------------------- change points


def test_change_points_find_a_planted_step():
    extra = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        series = np.r_[rng.normal(100, 5, 50), rng.normal(120, 5, 70)]
        found = change_points(series)
        assert any(abs(k - 50) <= 3 for k in found), (seed, found)
        extra += len(found) - 1
    assert extra <= 2  # a spurious second change is rare


def test_change_points_find_two_steps():
    rng = np.random.default_rng(11)
    series = np.r_[rng.normal(0, 1, 40), rng.normal(5, 1, 40), rng.normal(-3, 1, 40)]
    found = change_points(series)
    assert len(found) == 2
    assert abs(found[0] - 40) <= 2 and abs(found[1] - 80) <= 2


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("n", [30, 200, 1000])
def test_change_points_stay_quiet_on_stationary_noise(seed, n):
    rng = np.random.default_rng(1000 + seed)
    assert change_points(rng.normal(50, 3, n)) == []
    assert change_points(rng.lognormal(3, 0.3, n)) == []


def test_change_points_edge_cases():
    assert change_points([]) == []
    assert change_points([1.0, 2.0]) == []  # shorter than 2 · min_size
    assert change_points([4.0] * 50) == []  # constant
    assert change_points([0.0] * 10 + [5.0] * 10) == [10]  # noiseless step
    found = change_points([0.0] * 10 + [5.0] * 2 + [0.0] * 10, min_size=3)
    assert all(k >= 3 and 22 - k >= 3 for k in found)
    with pytest.raises(ParameterError):
        change_points([1.0] * 10, min_size=0)

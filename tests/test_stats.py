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
    normal_ratio_ci,
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


# ----------------------------------------------------------------------------- normal theory


def test_normal_ratio_ci_of_means_is_the_delta_method_on_the_log_scale():
    rng = np.random.default_rng(4)
    b, c = rng.gamma(2.0, 50.0, 3000), rng.gamma(2.0, 55.0, 2000)
    ci = normal_ratio_ci(b, c, "mean", alpha=0.1)
    se = np.sqrt(
        b.var(ddof=1) / (b.size * b.mean() ** 2) + c.var(ddof=1) / (c.size * c.mean() ** 2)
    )
    z = scipy.stats.norm.ppf(0.95)
    r = c.mean() / b.mean()
    assert (ci.estimate, ci.confidence) == (pytest.approx(r), pytest.approx(0.9))
    assert (ci.low, ci.high) == pytest.approx((r * np.exp(-z * se), r * np.exp(z * se)))


def test_normal_ratio_ci_of_a_quantile_has_the_asymptotic_width():
    # the sample p95 of N(0, 1) + 100 has sd sqrt(p(1-p)/n) / φ(z_p); the
    # order-statistic estimate must get the interval's width right without knowing φ
    rng = np.random.default_rng(5)
    n = 20_000
    b, c = rng.normal(100, 1, n), rng.normal(100, 1, n)
    q = scipy.stats.norm.ppf(0.95)
    sd = np.sqrt(0.95 * 0.05 / n) / scipy.stats.norm.pdf(q)
    p95 = 100 + q
    expected = 2 * 1.959964 * np.sqrt(2) * sd / p95  # log-scale width ≈ relative width
    ci = normal_ratio_ci(b, c, "p95")
    assert np.log(ci.high / ci.low) == pytest.approx(expected, rel=0.1)
    assert ci.estimate == pytest.approx(np.quantile(c, 0.95) / np.quantile(b, 0.95))


def test_normal_ratio_ci_covers_the_true_ratio_at_the_nominal_rate():
    rng = np.random.default_rng(6)
    trials, covered = 300, {"mean": 0, "p95": 0, "median": 0}
    for _ in range(trials):
        b = rng.lognormal(4.6, 0.5, 3000)
        c = rng.lognormal(4.6, 0.5, 3000) * 1.1  # mean, median and p95 all × 1.1
        for stat in covered:
            ci = normal_ratio_ci(b, c, stat)
            covered[stat] += ci.low <= 1.1 <= ci.high
    for stat, k in covered.items():
        assert 0.91 * trials <= k <= 0.99 * trials, (stat, k)


def test_normal_ratio_ci_undefined_cases():
    zero = normal_ratio_ci([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], "mean")
    assert np.isnan(zero.estimate) and np.isnan(zero.low) and not zero.excludes(1.0)
    one = normal_ratio_ci([5.0], [1.0, 2.0, 3.0], "mean")  # no spread from one value
    assert one.estimate == pytest.approx(0.4) and np.isnan(one.low) and np.isnan(one.high)
    signs = normal_ratio_ci(np.array([-1.0, -2.0, -3.0] * 50), np.array([1.0, 2.0, 3.0] * 50))
    assert signs.estimate == pytest.approx(-1.0)  # linear scale: the interval spans it
    assert signs.low < -1.0 < signs.high
    with pytest.raises(ParameterError, match="statistic"):
        normal_ratio_ci([1.0, 2.0], [1.0, 2.0], "average")
    with pytest.raises(ParameterError, match="alpha"):
        normal_ratio_ci([1.0, 2.0], [1.0, 2.0], alpha=0.0)


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


@pytest.mark.parametrize("n", [30, 300, 1440])
def test_change_points_find_an_episode_that_comes_back(n):
    # a single split of the series cannot isolate a short episode in its middle:
    # plain binary segmentation found this one in 0–3 % of series
    hits = 0
    for seed in range(20):
        series = np.random.default_rng(seed).normal(0, 1, n)
        start = n // 2 - 3
        series[start : start + 6] += 4.0
        found = change_points(series)
        hits += any(abs(k - start) <= 1 for k in found) and any(
            abs(k - start - 6) <= 1 for k in found
        )
    assert hits >= 18


def test_change_points_long_series_search_episodes_on_a_refined_grid(monkeypatch):
    rng = np.random.default_rng(8)
    series = rng.normal(0, 1, 600)
    series[200:206] += 5.0
    series[400:] += 1.5
    for exact_max in (1024, 64):  # every pair of ends; a grid of stride 10 > the episode
        monkeypatch.setattr(stats, "_EPISODE_EXACT_MAX", exact_max)
        found = change_points(series)
        assert len(found) == 3, found
        assert np.abs(np.array(found) - [200, 206, 400]).max() <= 1, found


def test_change_points_edge_cases():
    assert change_points([]) == []
    assert change_points([1.0, 2.0]) == []  # shorter than 2 · min_size
    assert change_points([4.0] * 50) == []  # constant
    assert change_points([0.0] * 10 + [5.0] * 10) == [10]  # noiseless step
    assert change_points([0.0] * 10 + [5.0] * 3 + [0.0] * 10) == [10, 13]  # noiseless episode
    # a 2-point episode with min_size 3: the nearest admissible segments, and no
    # split of the constant parts on rounding noise (that used to add a third cut)
    assert change_points([0.0] * 10 + [5.0] * 2 + [0.0] * 10, min_size=3) in ([9, 12], [10, 13])
    assert change_points([0.0] * 10 + [5.0] * 2 + [0.0] * 10, min_size=2) == [10, 12]
    assert change_points([1e9 + 0.1] * 10 + [1e9 + 0.2] * 10) == [10]  # tiny but exact
    with pytest.raises(ParameterError):
        change_points([1.0] * 10, min_size=0)

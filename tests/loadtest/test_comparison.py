"""compare(): planted changes are called, equal runs are not, and the numbers are scipy's."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import scipy.stats

from perflab.errors import ParameterError
from perflab.loadtest.aggregate import summary
from perflab.loadtest.comparison import _quantile_test, _verdict, compare
from perflab.loadtest.schema import COMPARISON, VERDICTS


def run(
    n: int = 3000,
    seed: int = 0,
    scale: float = 1.0,
    rate: float = 100.0,
    error_rate: float = 0.0,
    names: tuple[str, ...] = ("/a",),
) -> pl.DataFrame:
    """A closed-model-like run: Poisson arrivals at ``rate``, lognormal latencies."""
    rng = np.random.default_rng(seed)
    failed = rng.random(n) < error_rate
    return pl.DataFrame(
        {
            "start": np.cumsum(rng.exponential(1 / rate, n)),
            "latency_ms": rng.lognormal(np.log(80), 0.5, n) * scale,
            "error": pl.Series(np.where(failed, "http 500", "")).replace("", None),
            "name": pl.Series(np.resize(np.array(names), n)),
        }
    )


def verdicts(df: pl.DataFrame) -> dict[str, str]:
    return dict(zip(df["metric"], df["verdict"], strict=True))


def test_a_planted_10_percent_slowdown_is_slower_and_the_interval_covers_it():
    got = compare(run(20_000, 1), run(20_000, 2, scale=1.10))
    assert got.columns == COMPARISON.names
    v = verdicts(got)
    assert v["p50"] == v["p95"] == v["mean"] == "slower"
    assert v["throughput"] != "slower" and v["error_rate"] == "equivalent"  # no errors at all
    for row in got.filter(pl.col("metric").is_in(["p50", "p95", "p99", "mean"])).iter_rows(
        named=True
    ):
        assert row["ci_low"] < 0.10 < row["ci_high"], row
        assert row["unit"] == "ms" and row["margin"] == 0.05
        assert row["change"] == pytest.approx(row["candidate"] / row["baseline"] - 1)


def test_small_runs_use_the_bootstrap_and_still_see_a_30_percent_change():
    got = compare(run(400, 1), run(400, 2, scale=1.3), metrics=("p50", "mean"), n_boot=500)
    assert verdicts(got) == {"p50": "slower", "mean": "slower"}
    faster = compare(run(400, 1), run(400, 2, scale=0.7), metrics=("p50", "mean"), n_boot=500)
    assert verdicts(faster) == {"p50": "faster", "mean": "faster"}


def test_the_same_distribution_twice_is_never_called_at_a_rate_above_alpha():
    # 100 seeded pairs of runs from one distribution: a faster/slower verdict on any
    # metric of a pair is a false alarm (counted once per pair).
    # (measured: 1 % of pairs; the mean was shown equivalent in 80 %, the p50 in 60 %)
    false = 0
    equivalent = 0
    for seed in range(100):
        got = compare(run(2500, seed), run(2500, seed + 1000), metrics=("p50", "p95", "mean"))
        false += bool(set(got["verdict"]) & {"faster", "slower"})
        equivalent += "equivalent" in set(got["verdict"])
    assert false / 100 <= 0.05
    assert equivalent >= 50  # most pairs show the equivalence, not just "can't tell"


def test_the_same_distribution_twice_on_the_bootstrap_path():
    # Small runs: a difference is beyond the margin whenever Mann–Whitney finds one, so
    # the false-alarm rate is the test's own level, alpha (measured: 5.0 % of 200 pairs);
    # allow the binomial noise of 100 pairs (2 standard errors).
    false = 0
    for seed in range(100):
        got = compare(run(150, seed), run(150, seed + 1000), metrics=("p50", "mean"), n_boot=300)
        false += bool(set(got["verdict"]) & {"faster", "slower"})
    assert false / 100 <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 100)


def test_p_values_are_scipys_mann_whitney_and_the_adjustment_is_benjamini_hochberg():
    base, cand = run(500, 1, error_rate=0.05), run(500, 2, scale=1.05, error_rate=0.08)
    got = compare(base, cand, n_boot=300)
    expected = scipy.stats.mannwhitneyu(
        base["latency_ms"], cand["latency_ms"], alternative="two-sided"
    ).pvalue
    bulk = got.filter(pl.col("metric").is_in(["p50", "mean"]))
    assert bulk["p_value"].to_list() == [pytest.approx(expected)] * 2
    # the tail percentiles: Fisher's exact test on the requests above the pooled pNN
    for metric, q in (("p95", 0.95), ("p99", 0.99)):
        pooled = np.concatenate([base["latency_ms"].to_numpy(), cand["latency_ms"].to_numpy()])
        cut = np.quantile(pooled, q)
        kb, kc = int((base["latency_ms"] > cut).sum()), int((cand["latency_ms"] > cut).sum())
        tail = scipy.stats.fisher_exact([[kc, 500 - kc], [kb, 500 - kb]]).pvalue
        combined = min(1.0, 2 * min(tail, expected))
        assert got.filter(metric=metric)["p_value"][0] == pytest.approx(combined)
    kb, kc = base["error"].is_not_null().sum(), cand["error"].is_not_null().sum()
    fisher = scipy.stats.fisher_exact([[kc, 500 - kc], [kb, 500 - kb]]).pvalue
    assert got.filter(metric="error_rate")["p_value"][0] == pytest.approx(fisher)
    tested = got.drop_nulls("p_value")  # throughput: too few 1-second windows for a test
    assert tested.height == 5
    bh = scipy.stats.false_discovery_control(tested["p_value"].to_numpy(), method="bh")
    np.testing.assert_allclose(tested["p_adjusted"].to_numpy(), bh)


def test_fewer_requests_per_second_is_a_throughput_regression():
    got = compare(run(3000, 1, rate=100), run(2400, 2, rate=80), metrics=("throughput",))
    row = got.row(0, named=True)
    assert row["verdict"] == "slower" and row["unit"] == "req/s"
    assert row["baseline"] == pytest.approx(100, rel=0.05)
    assert row["ci_low"] < -0.2 < row["ci_high"]


def test_errors_appearing_from_none_are_worse_and_no_errors_on_both_sides_is_equivalent():
    got = compare(run(3000, 1), run(3000, 2, error_rate=0.02), metrics=("error_rate", "p50"))
    row = got.filter(metric="error_rate").row(0, named=True)
    assert row["verdict"] == "slower" and math.isinf(row["change"]) and row["ci_low"] > 0.05
    assert row["baseline"] == 0 and row["candidate"] == pytest.approx(0.02, abs=0.006)
    same = compare(run(100, 1), run(100, 2), metrics=("error_rate",))
    assert same["verdict"].to_list() == ["equivalent"]


def test_by_name_reports_each_name_and_finds_the_one_that_regressed():
    base = run(6000, 1, names=("/a", "/b"))
    cand = run(6000, 2, names=("/a", "/b"))
    cand = cand.with_columns(
        latency_ms=pl.when(pl.col("name") == "/b")
        .then(pl.col("latency_ms") * 1.5)
        .otherwise(pl.col("latency_ms"))
    )
    got = compare(base, cand, by="name", metrics=("p50", "p95"))
    assert got.columns == ["name", *COMPARISON.names]
    assert got.select("name", "metric", "verdict").rows() == [
        ("/a", "p50", got["verdict"][0]),
        ("/a", "p95", got["verdict"][1]),
        ("/b", "p50", "slower"),
        ("/b", "p95", "slower"),
    ]
    assert set(got["verdict"][:2]) <= {"equivalent", "inconclusive"}


def test_a_name_only_in_one_run_is_inconclusive_with_that_side_null():
    base = run(600, 1, names=("/a",))
    cand = run(600, 2, names=("/a", "/new"))
    got = compare(base, cand, by="name", metrics=("p50",), n_boot=200)
    new = got.filter(name="/new").row(0, named=True)
    assert new["baseline"] is None and new["candidate"] > 0 and new["verdict"] == "inconclusive"


def test_summaries_compare_values_without_intervals():
    base, cand = summary(run(2000, 1)), summary(run(2000, 2, scale=2.0))
    got = compare(base, cand)
    assert got.filter(pl.col("metric") != "error_rate")["verdict"].unique().to_list() == [
        "inconclusive"
    ]
    assert got.filter(metric="error_rate")["verdict"].to_list() == ["equivalent"]  # 0 = 0
    assert got["ci_low"].null_count() == got.height and got["p_value"].null_count() == got.height
    p95 = got.filter(metric="p95").row(0, named=True)
    assert p95["change"] == pytest.approx(1.0, abs=0.15)  # doubled, but no spread to judge by
    mixed = compare(run(2000, 1), cand)  # one side per request, one summary
    assert mixed.filter(metric="p95")["verdict"].to_list() == ["inconclusive"]


def test_runs_with_no_metric_in_common_are_refused_saying_what_is_missing():
    base = summary(run(200, 1))
    only_rps = base.with_columns(
        pl.col("^p\\d+_ms$", "mean_ms", "error_rate").cast(pl.Float64) * None
    )
    with pytest.raises(ParameterError, match=r"the candidate has throughput") as err:
        compare(base.with_columns(rps=None), only_rps)
    assert "share no metric" in str(err.value)
    with pytest.raises(ParameterError, match=r"no request name appears in both runs.*'/a'.*'/b'"):
        compare(run(100, 1, names=("/a",)), run(100, 2, names=("/b",)), by="name")
    timeless = run(100, 1).drop("start")
    with pytest.raises(ParameterError, match="the baseline has none of them"):
        compare(timeless, run(100, 2), metrics=("throughput",))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metrics": ("p95", "speed")}, "unknown metric"),
        ({"metrics": ()}, "metrics is empty"),
        ({"margin": -0.1}, "margin"),
        ({"alpha": 1.5}, "alpha"),
        ({"by": "status"}, "by must be"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ParameterError, match=message):
        compare(run(20, 1), run(20, 2), **options)


def test_an_empty_run_is_refused():
    with pytest.raises(ParameterError, match="candidate run has no requests"):
        compare(run(20, 1), run(20, 2).clear())


@pytest.mark.parametrize(
    ("change", "low", "high", "p", "metric", "expected"),
    [
        (0.12, 0.08, 0.16, 0.001, "p95", "slower"),
        (-0.12, -0.16, -0.08, 0.001, "p95", "faster"),
        (-0.12, -0.16, -0.08, 0.001, "throughput", "slower"),  # fewer requests: worse
        (0.12, 0.08, 0.16, 0.001, "error_rate", "slower"),
        (0.03, 0.01, 0.06, 0.001, "p95", "inconclusive"),  # real; may or may not matter
        (0.03, 0.01, 0.04, 0.001, "p95", "equivalent"),  # real but inside the margin
        (0.01, -0.02, 0.04, 0.4, "p95", "equivalent"),  # interval inside ±5 %
        (0.12, 0.08, 0.16, 0.2, "p95", "inconclusive"),  # Mann–Whitney not significant
        (0.06, -0.03, 0.15, 0.01, "p95", "inconclusive"),  # interval on both sides of 0
    ],
)
def test_verdict_rules(change, low, high, p, metric, expected):
    row = {"metric": metric, "baseline": 1.0, "candidate": 1.0 + change, "change": change}
    row.update(ci_low=low, ci_high=high, p_adjusted=p)
    assert _verdict(row, 0.05, 0.05) == expected
    assert expected in VERDICTS


def test_a_stall_in_the_tail_is_slower_on_p99_though_the_median_did_not_move():
    rng = np.random.default_rng(7)
    n = 5000
    base = pl.DataFrame({"start": np.arange(n) / 500, "latency_ms": rng.lognormal(1, 0.3, n)})
    slow = rng.lognormal(1, 0.3, n)
    slow[rng.random(n) < 0.03] += 150.0  # 3 % of the requests caught in a stall
    cand = base.with_columns(latency_ms=slow)
    got = dict(compare(base, cand).select("metric", "verdict").iter_rows())
    assert got["p99"] == "slower" and got["p95"] == "slower"
    assert got["p50"] != "slower"


def test_the_tail_test_keeps_its_level_on_whole_millisecond_data():
    """Ties everywhere (JMeter, ab, Locust round to ms): no more false alarms than alpha."""
    rng = np.random.default_rng(11)
    false = 0
    for _ in range(200):
        a, b = (np.round(rng.lognormal(1.5, 0.6, 800)) for _ in range(2))
        for q in (0.95, 0.99):
            false += _quantile_test(a, b, q) < 0.05
    assert false / 400 <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400)

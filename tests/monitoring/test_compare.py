"""compare_windows(): planted regressions are called, equal samples are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
import scipy.stats

from perflab.errors import ParameterError, SchemaError
from perflab.monitoring.compare import compare_windows
from perflab.monitoring.schema import COMPARISON
from perflab.stats import normal_ratio_ci

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def side(seed: int, n: int = 400, scale: float = 1.0, names=("api", "db"), start=T0, **tags):
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "name": np.repeat(names, n),
            "value": rng.lognormal(np.log(100), 0.5, n * len(names)) * scale,
            "unit": "ms",
            "timestamp": [
                start + timedelta(seconds=int(s)) for s in rng.integers(0, 3600, n * len(names))
            ],
            **tags,
        }
    )


def test_a_planted_30_percent_slowdown_is_slower():
    got = compare_windows(None, baseline=side(1), current=side(2, scale=1.3))
    assert got.get_column("verdict").to_list() == ["slower", "slower"]
    for row in got.iter_rows(named=True):
        assert row["mean_change_ci_low"] < 30 < row["mean_change_ci_high"]
        assert 20 < row["mean_change_pct"] < 40
        assert row["p95_change_pct"] > 10
        assert row["mw_pvalue"] < 1e-6


def test_a_planted_speedup_is_faster():
    got = compare_windows(None, baseline=side(1), current=side(2, scale=0.7))
    assert set(got.get_column("verdict")) == {"faster"}


@pytest.mark.parametrize("seed", range(5))
def test_two_samples_of_one_distribution_show_no_significant_change(seed):
    got = compare_windows(None, baseline=side(seed), current=side(seed + 50))
    assert set(got.get_column("verdict")) == {"no significant change"}


def test_statistics_match_numpy_and_scipy():
    base, cur = side(1, names=("api",)), side(2, scale=1.1, names=("api",))
    row = compare_windows(None, baseline=base, current=cur).row(0, named=True)
    b, c = base["value"].to_numpy(), cur["value"].to_numpy()
    assert row["n_baseline"] == b.size and row["n_current"] == c.size
    assert row["mean_baseline"] == pytest.approx(b.mean())
    assert row["p95_current"] == pytest.approx(np.quantile(c, 0.95))
    assert row["mean_change_pct"] == pytest.approx((c.mean() / b.mean() - 1) * 100)
    assert row["p95_change_pct"] == pytest.approx(
        (np.quantile(c, 0.95) / np.quantile(b, 0.95) - 1) * 100
    )
    ref = scipy.stats.mannwhitneyu(b, c, alternative="two-sided")
    assert row["mw_pvalue"] == pytest.approx(ref.pvalue)


def test_windows_are_half_open_utc_intervals_of_one_frame():
    df = pl.DataFrame(
        {
            "name": "api",
            "unit": "ms",
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
            "timestamp": [T0, T0 + timedelta(minutes=30), T0 + timedelta(hours=1),
                          T0 + timedelta(hours=1, minutes=30), T0 + timedelta(hours=2)],
        }
    )  # fmt: skip
    got = compare_windows(
        df,
        baseline=("2026-01-01T00:00:00Z", "2026-01-01T01:00:00+00:00"),
        current=(T0 + timedelta(hours=1), "2026-01-01T02:00"),  # naive ISO means UTC
        n_boot=50,
    ).row(0, named=True)
    assert (got["n_baseline"], got["n_current"]) == (2, 2)  # the row at 02:00 is out
    assert (got["mean_baseline"], got["mean_current"]) == (1.5, 3.5)
    # a non-UTC offset is converted: 02:00+01:00 is 01:00 UTC
    got = compare_windows(
        df,
        baseline=("2026-01-01T01:00+01:00", "2026-01-01T02:00+01:00"),
        current=(T0, T0 + timedelta(hours=3)),
        n_boot=50,
    ).row(0, named=True)
    assert (got["n_baseline"], got["n_current"]) == (2, 5)


def test_a_group_on_one_side_only_is_missing():
    got = compare_windows(None, baseline=side(1, names=("api", "old")), current=side(2))
    rows = {r["name"]: r for r in got.iter_rows(named=True)}
    assert rows["old"]["verdict"] == "missing"
    assert (rows["old"]["n_baseline"], rows["old"]["n_current"]) == (400, 0)
    assert rows["old"]["mean_current"] is None and rows["old"]["mean_baseline"] is not None
    assert rows["db"]["verdict"] == "missing" and rows["db"]["n_baseline"] == 0
    assert rows["api"]["verdict"] == "no significant change"


def test_grouping_by_tags_and_output_columns():
    base = pl.concat([side(1, route="/a"), side(2, route="/b")])
    cur = pl.concat([side(3, route="/a"), side(4, scale=1.5, route="/b")])
    got = compare_windows(None, baseline=base, current=cur, by=("name", "route"))
    assert got.columns == ["name", "route", *COMPARISON.names]
    assert dict(got.schema)["n_current"] == pl.UInt32
    verdicts = {(r["name"], r["route"]): r["verdict"] for r in got.iter_rows(named=True)}
    assert verdicts[("api", "/b")] == "slower" and verdicts[("api", "/a")] != "slower"


def test_results_are_seeded_and_do_not_depend_on_other_groups():
    base, cur = side(1), side(2, scale=1.05)
    a = compare_windows(None, baseline=base, current=cur, seed=3)
    assert a.equals(compare_windows(None, baseline=base, current=cur, seed=3))
    only_api = compare_windows(
        None,
        baseline=base.filter(pl.col("name") == "api"),
        current=cur.filter(pl.col("name") == "api"),
        seed=3,
    )
    assert only_api.row(0) == a.filter(pl.col("name") == "api").row(0)


def test_big_samples_get_normal_theory_intervals_as_wide_as_the_bootstrap():
    base, cur = side(5, n=3000, names=("api",)), side(6, n=3000, scale=1.03, names=("api",))
    boot = compare_windows(None, baseline=base, current=cur, max_boot_samples=10**6)
    normal = compare_windows(None, baseline=base, current=cur, max_boot_samples=2999)
    f, s = boot.row(0, named=True), normal.row(0, named=True)
    for stat in ("mean", "p95"):
        assert s[f"{stat}_change_pct"] == pytest.approx(f[f"{stat}_change_pct"])
        width_boot = f[f"{stat}_change_ci_high"] - f[f"{stat}_change_ci_low"]
        width_normal = s[f"{stat}_change_ci_high"] - s[f"{stat}_change_ci_low"]
        assert width_normal == pytest.approx(width_boot, rel=0.15), stat
        assert s[f"{stat}_change_ci_low"] < s[f"{stat}_change_pct"] < s[f"{stat}_change_ci_high"]
    # the normal-theory interval is perflab.stats.normal_ratio_ci, on every sample
    b, c = base["value"].to_numpy(), cur["value"].to_numpy()
    ci = normal_ratio_ci(b, c, "p95")
    assert s["p95_change_ci_low"] == pytest.approx((ci.low - 1) * 100)
    assert s["p95_change_ci_high"] == pytest.approx((ci.high - 1) * 100)


def test_the_bootstrap_is_seeded_and_normal_theory_needs_no_seed():
    small = {"baseline": side(1, n=300, names=("api",)), "current": side(2, n=300, names=("api",))}
    assert not compare_windows(None, **small, seed=1).equals(compare_windows(None, **small, seed=2))
    big = {"baseline": side(1, n=2500, names=("api",)), "current": side(2, n=2500, names=("api",))}
    assert compare_windows(None, **big, seed=1).equals(compare_windows(None, **big, seed=2))


def test_many_samples_per_group_stay_correct():
    # 6 groups of 17 000 + 17 000 samples (the sample day's size): a planted 5 %
    # slowdown in one group is called, the others are not (alpha 1 %: five null
    # groups at 5 % would give a false call one time in five)
    names = tuple(f"m{i}" for i in range(6))
    base = side(11, n=17_000, names=names)
    cur = side(12, n=17_000, names=names).with_columns(
        value=pl.when(pl.col("name") == "m3").then(pl.col("value") * 1.05).otherwise("value")
    )
    got = compare_windows(None, baseline=base, current=cur, alpha=0.01)
    verdicts = dict(got.select("name", "verdict").iter_rows())
    assert verdicts.pop("m3") == "slower"
    assert set(verdicts.values()) == {"no significant change"}


# ----------------------------------------------------------------------------- bad input


def test_a_time_window_needs_a_frame():
    with pytest.raises(ParameterError, match="no frame"):
        compare_windows(None, baseline=(T0, T0 + timedelta(hours=1)), current=side(1))


@pytest.mark.parametrize(
    "window", [("2026-01-01T02:00", "2026-01-01T01:00"), ("yesterday", "2026-01-01T01:00")]
)
def test_bad_windows_are_refused(window):
    with pytest.raises(ParameterError):
        compare_windows(side(1), baseline=window, current=(T0, T0 + timedelta(hours=1)))


def test_units_must_agree_between_the_sides():
    with pytest.raises(SchemaError, match="metric api has units ms and s"):
        compare_windows(
            None,
            baseline=side(1, names=("api",)),
            current=side(2, names=("api",)).with_columns(unit=pl.lit("s")),
        )


def test_nan_and_missing_columns_are_refused():
    bad = side(1).with_columns(value=pl.lit(float("nan")))
    with pytest.raises(SchemaError, match="NaN"):
        compare_windows(None, baseline=bad, current=side(2))
    with pytest.raises(SchemaError, match="'host'"):
        compare_windows(None, baseline=side(1), current=side(2), by=("name", "host"))


def test_empty_sides_give_an_empty_result_with_the_columns():
    got = compare_windows(side(1), baseline=(T0 - timedelta(days=2), T0 - timedelta(days=1)),
                          current=(T0 - timedelta(days=1), T0))  # fmt: skip
    assert got.height == 0
    assert got.columns == ["name", *COMPARISON.names]

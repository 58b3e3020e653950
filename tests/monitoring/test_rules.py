"""Each monitoring rule fires on a small bad input and stays quiet on a good one.

Inputs are built from the analyses' schemas (:mod:`perflab.monitoring.schema`), so a
rule is tested on frames shaped exactly like the ones the analyses hand it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl
import pytest

from perflab.errors import SchemaError
from perflab.monitoring import rules
from perflab.monitoring.schema import COMPARISON, SLO, SUMMARY, TREND_CHANGES, TREND_SLOPES
from perflab.recommend import RECOMMENDATIONS

BY = ("name", "route")
KEYS = {"name": pl.String, "route": pl.String}


def summary(p50: float, p99: float, count: int = 5000, unit: str = "ms") -> pl.DataFrame:
    return SUMMARY.build(
        [
            {
                "name": "lat",
                "route": "/x",
                "unit": unit,
                "count": count,
                "p50": p50,
                "p95": (p50 + p99) / 2,
                "p99": p99,
            }
        ],
        keys=KEYS,
    )


def slopes(verdict="flat", rel=0.0, slope=0.0, shift=0.0, unit="ms", route="/x") -> pl.DataFrame:
    return TREND_SLOPES.build(
        [
            {
                "name": "lat",
                "route": route,
                "unit": unit,
                "stat": "p95",
                "windows": 48,
                "slope_per_hour": slope,
                "ci_low": slope * 0.8,
                "ci_high": slope * 1.2,
                "level": 100.0,
                "relative_slope_pct_per_hour": rel,
                "verdict": verdict,
                "change_points": 1 if shift else 0,
                "shift_pct": shift,
                "last_change_at": datetime(2026, 11, 2, 16, tzinfo=UTC) if shift else None,
            }
        ],
        keys=KEYS,
    )


def slo(status: str, good=0.999, consumed=0.1, peak=0.5) -> pl.DataFrame:
    return SLO.build(
        [
            {
                "objective": "search p95 ≤ 250 ms",
                "name": "lat",
                "threshold": 250.0,
                "unit": "ms",
                "target": 0.95,
                "samples": 10_000,
                "good_fraction": good,
                "error_budget": 0.05,
                "budget_consumed": consumed,
                "burn_rate_peak": peak,
                "windows_breached": 0 if peak is None or peak <= 1 else 3,
                "status": status,
            }
        ]
    )


def comparison(verdict: str, unit: str = "ms") -> pl.DataFrame:
    return COMPARISON.build(
        [
            {
                "name": "lat",
                "route": "/x",
                "unit": unit,
                "verdict": verdict,
                "n_baseline": 900,
                "n_current": 950,
                "mean_baseline": 100.0,
                "mean_current": 135.0,
                "mean_change_pct": 35.0,
                "mean_change_ci_low": 30.0,
                "mean_change_ci_high": 40.0,
                "p95_baseline": 200.0,
                "p95_current": 270.0,
                "p95_change_pct": 35.0,
                "p95_change_ci_low": 28.0,
                "p95_change_ci_high": 42.0,
                "mw_pvalue": 1e-12,
            }
        ],
        keys=KEYS,
    )


def changes(*shifts: float, route: str | None = "/x") -> pl.DataFrame:
    return TREND_CHANGES.build(
        [
            {
                "name": "lat",
                "route": route,
                "unit": "ms",
                "window_start": datetime(2026, 11, 2, 10 + 3 * i, tzinfo=UTC),
                "before": 100.0,
                "after": 100.0 * (1 + s / 100),
                "shift_pct": s,
            }
            for i, s in enumerate(shifts)
        ],
        keys=KEYS,
    )


# ---------------------------------------------------------------------------------------
# monitoring.heavy-tail


def test_heavy_tail_fires_and_names_the_series():
    (r,) = rules.heavy_tails(summary(20, 400), by=BY)
    assert r.rule == "monitoring.heavy-tail" and r.subject == "lat route=/x"
    assert r.severity == "high"  # 20× is beyond twice the ratio
    assert r.impact == pytest.approx(400 - 5 * 20)
    assert "p99 is 20.0× the median" in r.finding


def test_heavy_tail_is_medium_just_above_the_ratio():
    (r,) = rules.heavy_tails(summary(20, 120), by=BY)
    assert r.severity == "medium" and r.impact == pytest.approx(120 - 5 * 20)


def test_heavy_tail_quiet_on_tight_distribution_small_samples_and_non_time_units():
    assert rules.heavy_tails(summary(20, 60)) == []
    assert rules.heavy_tails(summary(20, 400, count=50)) == []
    assert rules.heavy_tails(summary(20, 400, unit="bytes")) == []


# ---------------------------------------------------------------------------------------
# monitoring.rising-trend


def test_rising_trend_fires_with_projected_growth_and_leak_advice_for_bytes():
    (r,) = rules.rising_trends(slopes("rising", rel=2.0, slope=9e6, unit="bytes"), by=BY)
    assert r.rule == "monitoring.rising-trend" and r.impact == pytest.approx(9e6 * 24)
    assert "leak" in r.action
    (r,) = rules.rising_trends(slopes("rising", rel=2.0, slope=3.0), by=BY)
    assert "leak" not in r.action


def test_rising_trend_quiet_when_flat_or_negligible():
    assert rules.rising_trends(slopes("flat", rel=3.0, slope=1.0)) == []
    assert rules.rising_trends(slopes("rising", rel=0.1, slope=0.1)) == []
    assert rules.rising_trends(slopes("falling", rel=-3.0, slope=-3.0)) == []


def test_rising_trend_quiet_on_insufficient_data():
    no_slope = TREND_SLOPES.build(
        [{"name": "lat", "route": "/x", "unit": "ms", "stat": "p95", "windows": 2,
          "level": 100.0, "verdict": "insufficient data"}],
        keys=KEYS,
    )  # fmt: skip
    assert rules.rising_trends(no_slope, by=BY) == []


def test_rising_trend_explained_by_a_step_is_not_reported_twice():
    s = slopes("rising", rel=2.0, slope=3.0)
    assert rules.rising_trends(s, by=BY, explained=changes(35.0)) == []
    assert len(rules.rising_trends(s, by=BY, explained=changes(35.0, route="/y"))) == 1


# ---------------------------------------------------------------------------------------
# monitoring.step-change


def test_step_change_reports_the_largest_jump_per_series():
    (r,) = rules.step_changes(changes(-9.0, 35.0, 22.0), by=BY)
    assert r.rule == "monitoring.step-change" and "2026-11-02 13:00 UTC" in r.finding
    assert r.impact == pytest.approx(35.0)
    assert "100.0 ms before, 135.0 ms after" in r.evidence
    assert r.severity == "high"


def test_step_change_is_critical_at_three_times_the_threshold():
    (r,) = rules.step_changes(changes(65.0), by=BY)
    assert r.severity == "critical"


def test_step_change_quiet_below_threshold_and_on_drops():
    assert rules.step_changes(changes(8.0), by=BY) == []
    assert rules.step_changes(changes(-40.0), by=BY) == []  # got faster: not a problem
    assert rules.step_changes(changes(), by=BY) == []


# ---------------------------------------------------------------------------------------
# monitoring.slo-breach and monitoring.slo-burn


def test_slo_breach_fires_when_the_objective_is_missed():
    (r,) = rules.slo_findings(slo("breached", good=0.91, consumed=1.8, peak=4.0))
    assert (r.rule, r.severity) == ("monitoring.slo-breach", "critical")
    assert r.impact == pytest.approx(180.0) and r.impact_unit == "% of error budget"
    assert r.subject == "search p95 ≤ 250 ms"


def test_slo_breach_quiet_when_the_objective_holds():
    assert rules.slo_findings(slo("met")) == []
    (r,) = rules.slo_findings(slo("at risk", good=0.96, consumed=0.8, peak=2.5))
    assert r.rule != "monitoring.slo-breach"


def test_slo_burn_fires_when_met_but_burning():
    (r,) = rules.slo_findings(slo("at risk", good=0.96, consumed=0.8, peak=2.5))
    assert (r.rule, r.severity) == ("monitoring.slo-burn", "high")
    assert "2.5×" in r.finding and "80 %" in r.finding


def test_slo_burn_quiet_within_budget():
    assert rules.slo_findings(slo("met")) == []


def test_slo_rules_quiet_without_data_and_tolerate_no_judged_window():
    no_data = slo("no data", good=None, consumed=None, peak=None)
    assert rules.slo_findings(no_data) == []
    small = slo("at risk", good=0.96, consumed=0.8, peak=None)
    (r,) = rules.slo_findings(small)
    assert "n/a" in r.evidence


# ---------------------------------------------------------------------------------------
# monitoring.regression


def test_regression_fires_only_on_slower():
    (r,) = rules.regressions(comparison("slower"), by=BY)
    assert r.rule == "monitoring.regression" and r.impact == pytest.approx(35.0)
    assert "Mann–Whitney" in r.evidence
    for verdict in ("faster", "no significant change", "missing"):
        assert rules.regressions(comparison(verdict)) == []


def test_regression_ignores_byte_counts():
    assert rules.regressions(comparison("slower", unit="bytes")) == []


# ---------------------------------------------------------------------------------------
# every rule at once


def test_top_recommendations_ranks_across_rules():
    df = rules.top_recommendations(
        summary=summary(20, 400),
        slopes=slopes("rising", rel=2.0, slope=3.0, route="/z"),
        change_points=changes(35.0),
        slo=slo("breached", good=0.91, consumed=1.8, peak=4.0),
        comparison=comparison("slower"),
        by=BY,
    )
    assert df.columns == list(RECOMMENDATIONS.columns)
    assert df.item(0, "rule") == "monitoring.slo-breach"
    assert set(df.get_column("rule")) == {
        "monitoring.slo-breach",
        "monitoring.regression",
        "monitoring.step-change",
        "monitoring.rising-trend",
        "monitoring.heavy-tail",
    }
    assert rules.top_recommendations(summary=summary(20, 400), n=0).height == 0


def test_all_quiet_on_a_healthy_service():
    df = rules.top_recommendations(
        summary=summary(20, 50),
        slopes=slopes(),
        change_points=changes(3.0),
        slo=slo("met"),
        comparison=comparison("no significant change"),
        by=BY,
    )
    assert df.height == 0


def test_the_rules_take_the_analyses_empty_outputs():
    df = rules.top_recommendations(
        summary=SUMMARY.empty(KEYS),
        slopes=TREND_SLOPES.empty(KEYS),
        change_points=TREND_CHANGES.empty(KEYS),
        slo=SLO.empty(),
        comparison=COMPARISON.empty(KEYS),
        by=BY,
    )
    assert df.height == 0 and df.columns == list(RECOMMENDATIONS.columns)


# ---------------------------------------------------------------------------------------
# a missing column is named

# What each rule reads of its analysis: every one of these missing is a SchemaError.
READS: dict[str, tuple[Callable, Callable[[], pl.DataFrame], str, list[str]]] = {
    "heavy_tails": (
        rules.heavy_tails,
        lambda: summary(20, 400),
        SUMMARY.name,
        ["unit", "count", "p50", "p95", "p99"],
    ),
    "rising_trends": (
        rules.rising_trends,
        lambda: slopes("rising", rel=2.0, slope=3.0),
        TREND_SLOPES.name,
        [
            "unit",
            "stat",
            "windows",
            "slope_per_hour",
            "ci_low",
            "ci_high",
            "level",
            "relative_slope_pct_per_hour",
            "verdict",
        ],
    ),
    "step_changes": (
        rules.step_changes,
        lambda: changes(35.0),
        TREND_CHANGES.name,
        ["unit", "window_start", "before", "after", "shift_pct"],
    ),
    "slo_findings": (
        rules.slo_findings,
        lambda: slo("breached", good=0.91, consumed=1.8, peak=4.0),
        SLO.name,
        [
            "objective",
            "threshold",
            "unit",
            "target",
            "samples",
            "good_fraction",
            "budget_consumed",
            "burn_rate_peak",
            "windows_breached",
            "status",
        ],
    ),
    "regressions": (
        rules.regressions,
        lambda: comparison("slower"),
        COMPARISON.name,
        [
            "unit",
            "n_baseline",
            "n_current",
            "mean_baseline",
            "mean_current",
            "mean_change_pct",
            "mean_change_ci_low",
            "mean_change_ci_high",
            "p95_baseline",
            "p95_current",
            "p95_change_pct",
            "mw_pvalue",
            "verdict",
        ],
    ),
}


@pytest.mark.parametrize(
    ("rule", "column"), [(rule, col) for rule, spec in READS.items() for col in spec[3]]
)
def test_a_missing_column_is_a_schema_error_naming_it(rule, column):
    fn, bad_input, what, _ = READS[rule]
    with pytest.raises(SchemaError) as err:
        fn(bad_input().drop(column))
    assert err.value.missing == [column]
    assert err.value.what == what
    assert repr(column) in str(err.value)


@pytest.mark.parametrize("rule", list(READS))
def test_each_rule_runs_on_just_the_columns_it_reads(rule):
    fn, bad_input, _, reads = READS[rule]
    frame = bad_input()
    keep = [c for c in frame.columns if c in reads or c == "name"]
    assert len(fn(frame.select(keep))) == 1


def test_top_recommendations_names_a_missing_column_too():
    with pytest.raises(SchemaError) as err:
        rules.top_recommendations(change_points=changes(35.0).drop("shift_pct"), by=BY)
    assert err.value.missing == ["shift_pct"]


def test_a_mistyped_column_is_a_schema_error_naming_it():
    bad = summary(20, 400).with_columns(pl.lit("many").alias("count"))
    with pytest.raises(SchemaError) as err:
        rules.heavy_tails(bad)
    assert [c for c, _, _ in err.value.mistyped] == ["count"]

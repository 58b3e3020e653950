"""Each monitoring rule fires on a small bad input and stays quiet on a good one."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from perflab.monitoring import rules
from perflab.recommend import RECOMMENDATIONS


def summary(p50: float, p99: float, count: int = 5000, unit: str = "ms") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name": ["lat"],
            "route": ["/x"],
            "unit": [unit],
            "count": [count],
            "p50": [p50],
            "p95": [(p50 + p99) / 2],
            "p99": [p99],
        }
    )


def slopes(verdict="flat", rel=0.0, slope=0.0, shift=0.0, unit="ms") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name": ["lat"],
            "route": ["/x"],
            "unit": [unit],
            "stat": ["p95"],
            "windows": [48],
            "slope_per_hour": [slope],
            "ci_low": [slope * 0.8],
            "ci_high": [slope * 1.2],
            "level": [100.0],
            "relative_slope_pct_per_hour": [rel],
            "verdict": [verdict],
            "change_points": [1 if shift else 0],
            "shift_pct": [shift],
            "last_change_at": [datetime(2026, 11, 2, 16, tzinfo=UTC) if shift else None],
        }
    )


def slo(status: str, good=0.999, consumed=0.1, peak=0.5) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "objective": ["search p95 ≤ 250 ms"],
            "name": ["lat"],
            "threshold": [250.0],
            "unit": ["ms"],
            "target": [0.95],
            "samples": [10_000],
            "good_fraction": [good],
            "error_budget": [0.05],
            "budget_consumed": [consumed],
            "burn_rate_peak": [peak],
            "windows_breached": [0 if peak <= 1 else 3],
            "status": [status],
        }
    )


def comparison(verdict: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name": ["lat"],
            "route": ["/x"],
            "unit": ["ms"],
            "verdict": [verdict],
            "n_baseline": [900],
            "n_current": [950],
            "mean_baseline": [100.0],
            "mean_current": [135.0],
            "mean_change_pct": [35.0],
            "mean_change_ci_low": [30.0],
            "mean_change_ci_high": [40.0],
            "p95_baseline": [200.0],
            "p95_current": [270.0],
            "p95_change_pct": [35.0],
            "mw_pvalue": [1e-12],
        }
    )


BY = ("name", "route")


def test_heavy_tail_fires_and_names_the_series():
    (r,) = rules.heavy_tails(summary(20, 400), by=BY)
    assert r.rule == "monitoring.heavy-tail" and r.subject == "lat route=/x"
    assert r.severity == "high"  # 20× is beyond twice the ratio
    assert r.impact == pytest.approx(400 - 5 * 20)
    assert "p99 is 20.0× the median" in r.finding


def test_heavy_tail_quiet_on_tight_distribution_small_samples_and_non_time_units():
    assert rules.heavy_tails(summary(20, 60)) == []
    assert rules.heavy_tails(summary(20, 400, count=50)) == []
    assert rules.heavy_tails(summary(20, 400, unit="bytes")) == []


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


def changes(*shifts: float, route: str | None = "/x") -> pl.DataFrame:
    n = len(shifts)
    before = [100.0] * n
    return pl.DataFrame(
        {
            "name": ["lat"] * n,
            "route": [route] * n,
            "unit": ["ms"] * n,
            "window_start": [datetime(2026, 11, 2, 10 + 3 * i, tzinfo=UTC) for i in range(n)],
            "before": before,
            "after": [b * (1 + s / 100) for b, s in zip(before, shifts, strict=True)],
            "shift_pct": list(shifts),
        }
    )


def test_step_change_reports_the_largest_jump_per_series():
    (r,) = rules.step_changes(changes(-9.0, 35.0, 22.0), by=BY)
    assert r.rule == "monitoring.step-change" and "2026-11-02 13:00 UTC" in r.finding
    assert r.impact == pytest.approx(35.0)
    assert "100.0 ms before, 135.0 ms after" in r.evidence


def test_step_change_quiet_below_threshold_and_on_drops():
    assert rules.step_changes(changes(8.0), by=BY) == []
    assert rules.step_changes(changes(-40.0), by=BY) == []  # got faster: not a problem


def test_rising_trend_explained_by_a_step_is_not_reported_twice():
    s = slopes("rising", rel=2.0, slope=3.0)
    assert rules.rising_trends(s, by=BY, explained=changes(35.0)) == []
    assert len(rules.rising_trends(s, by=BY, explained=changes(35.0, route="/y"))) == 1


def test_slo_rules():
    (r,) = rules.slo_findings(slo("breached", good=0.91, consumed=1.8, peak=4.0))
    assert (r.rule, r.severity) == ("monitoring.slo-breach", "critical")
    assert r.impact == pytest.approx(180.0)
    (r,) = rules.slo_findings(slo("at risk", good=0.96, consumed=0.8, peak=2.5))
    assert (r.rule, r.severity) == ("monitoring.slo-burn", "high")
    assert rules.slo_findings(slo("met")) == []


def test_slo_rules_quiet_without_data_and_tolerate_no_judged_window():
    no_data = slo("no data").with_columns(
        pl.lit(None, dtype=pl.Float64).alias(c)
        for c in ("good_fraction", "budget_consumed", "burn_rate_peak")
    )
    assert rules.slo_findings(no_data) == []
    small = slo("at risk", good=0.96, consumed=0.8).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("burn_rate_peak")
    )
    (r,) = rules.slo_findings(small)
    assert "n/a" in r.evidence


def test_regression_ignores_byte_counts():
    assert rules.regressions(comparison("slower").with_columns(unit=pl.lit("bytes"))) == []


def test_regression_fires_only_on_slower():
    (r,) = rules.regressions(comparison("slower"), by=BY)
    assert r.rule == "monitoring.regression" and r.impact == pytest.approx(35.0)
    assert "Mann–Whitney" in r.evidence
    for verdict in ("faster", "no significant change", "missing"):
        assert rules.regressions(comparison(verdict)) == []


def test_top_recommendations_ranks_across_rules():
    df = rules.top_recommendations(
        summary=summary(20, 400),
        slopes=slopes("rising", rel=2.0, slope=3.0).with_columns(route=pl.lit("/z")),
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
        slo=slo("met"),
        comparison=comparison("no significant change"),
    )
    assert df.height == 0

"""Monitoring rules: analysed frames in, ranked recommendations out.

Each rule has a stable id (see :func:`perflab.recommend.rules`) and reads the output
of one analysis — :func:`~perflab.monitoring.summarize`,
:func:`~perflab.monitoring.trend`, :func:`~perflab.monitoring.slo_report`,
:func:`~perflab.monitoring.compare_windows` — never raw files.

=============================  ==========================================================
rule                           fires when
=============================  ==========================================================
``monitoring.slo-breach``      an objective's good fraction is below its target
``monitoring.slo-burn``        an objective is met overall but some window burns budget
                               faster than allowed (burn rate > 1) or ≥ 75 % is spent
``monitoring.regression``      the current window is significantly slower than baseline
``monitoring.step-change``     the series shifted by ≥ ``min_shift_pct`` at a change point
``monitoring.rising-trend``    the Theil–Sen slope is significantly positive and large
``monitoring.heavy-tail``      p99/p50 ≥ ``tail_ratio`` with enough samples to trust it
=============================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from perflab.frames import FrameLike, as_frame
from perflab.monitoring.schema import COMPARISON, SLO, SUMMARY, TREND_CHANGES, TREND_SLOPES
from perflab.recommend import Recommendation, rule, to_frame

__all__ = [
    "HEAVY_TAIL",
    "REGRESSION",
    "RISING_TREND",
    "SLO_BREACH",
    "SLO_BURN",
    "STEP_CHANGE",
    "heavy_tails",
    "regressions",
    "rising_trends",
    "slo_findings",
    "step_changes",
    "top_recommendations",
]

HEAVY_TAIL = rule("monitoring.heavy-tail", "medium", "p99 is many times the median")
RISING_TREND = rule("monitoring.rising-trend", "high", "a statistic rises steadily over time")
STEP_CHANGE = rule("monitoring.step-change", "high", "a sudden lasting shift in level")
SLO_BREACH = rule("monitoring.slo-breach", "critical", "an objective is missed")
SLO_BURN = rule("monitoring.slo-burn", "high", "error budget burning faster than allowed")
REGRESSION = rule("monitoring.regression", "high", "slower than the baseline window")

# What each rule reads of its analysis, checked (SchemaError naming what is missing).
_SUMMARY_IN = SUMMARY.subset("unit", "count", "p50", "p95", "p99")
_SLOPES_IN = TREND_SLOPES.subset(
    "unit", "stat", "windows", "slope_per_hour", "ci_low", "ci_high", "level",
    "relative_slope_pct_per_hour", "verdict",
)  # fmt: skip
_CHANGES_IN = TREND_CHANGES.subset("unit", "window_start", "before", "after", "shift_pct")
_SLO_IN = SLO.subset(
    "objective", "threshold", "unit", "target", "samples", "good_fraction",
    "budget_consumed", "burn_rate_peak", "windows_breached", "status",
)  # fmt: skip
_COMPARISON_IN = COMPARISON.subset(
    "unit", "n_baseline", "n_current", "mean_baseline", "mean_current", "mean_change_pct",
    "mean_change_ci_low", "mean_change_ci_high", "p95_baseline", "p95_current",
    "p95_change_pct", "mw_pvalue", "verdict",
)  # fmt: skip

_TIME_UNITS = {"ns", "us", "µs", "ms", "s", "min", "h"}


def _subject(row: dict[str, Any], by: Sequence[str]) -> str:
    parts = [str(row["name"])] if "name" in by and row.get("name") is not None else []
    parts += [f"{c}={row[c]}" for c in by if c != "name" and row.get(c) is not None]
    return " ".join(parts) or "all samples"


def _num(v: float, unit: str) -> str:
    if unit == "bytes":
        for size, suffix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if abs(v) >= size:
                return f"{v / size:,.1f} {suffix}"
        return f"{v:,.0f} B"
    return f"{v:,.1f} {unit}".rstrip()


def heavy_tails(
    summary: FrameLike,
    *,
    by: Sequence[str] = ("name",),
    tail_ratio: float = 5.0,
    min_count: int = 200,
) -> list[Recommendation]:
    """Series whose p99 is at least ``tail_ratio`` times their median.

    The impact is the time the slowest 1 % would save if the tail were cut to
    ``tail_ratio`` × p50 (``p99 − tail_ratio·p50``), so the series whose tail costs the
    most ranks first. Only time units are judged: a heavy tail of a byte count is not
    a latency problem.

    Parameters
    ----------
    summary : frame-like
        Output of :func:`perflab.monitoring.summarize` (``unit, count, p50, p95, p99``
        and the ``by`` columns).

    Examples
    --------
    >>> s = pl.DataFrame({"name": ["a"], "unit": ["ms"], "count": [1000], "p50": [10.0],
    ...     "p95": [40.0], "p99": [90.0]})
    >>> [r.rule for r in heavy_tails(s)]
    ['monitoring.heavy-tail']
    """
    df = as_frame(summary, _SUMMARY_IN).filter(
        pl.col("unit").is_in(list(_TIME_UNITS))
        & (pl.col("count") >= min_count)
        & (pl.col("p50") > 0)
        & (pl.col("p99") >= tail_ratio * pl.col("p50"))
    )
    out = []
    for row in df.iter_rows(named=True):
        ratio = row["p99"] / row["p50"]
        unit = row["unit"]
        out.append(
            Recommendation.of(
                HEAVY_TAIL,
                subject=_subject(row, by),
                severity="high" if ratio >= 2 * tail_ratio else None,
                finding=f"p99 is {ratio:.1f}× the median ({_num(row['p99'], unit)} against "
                f"{_num(row['p50'], unit)}): 1 % of requests wait far longer than the rest.",
                action="Trace the slowest requests (their timestamps cluster?) and look for "
                "lock waits, GC pauses, cold caches, retries or queueing behind a shared "
                "resource; add a timeout or hedge the request where the tail is external.",
                evidence=f"n={row['count']:,}, p50={_num(row['p50'], unit)}, "
                f"p95={_num(row['p95'], unit)}, p99={_num(row['p99'], unit)}",
                impact=row["p99"] - tail_ratio * row["p50"],
                impact_unit=unit,
            )
        )
    return out


def rising_trends(
    slopes: FrameLike,
    *,
    by: Sequence[str] = ("name",),
    min_pct_per_hour: float = 0.5,
    horizon_hours: float = 24.0,
    explained: FrameLike | None = None,
) -> list[Recommendation]:
    """Series whose statistic rises significantly (Theil–Sen CI above zero).

    The impact is how much the statistic grows over ``horizon_hours`` at that slope.
    A rise that a step explains (a series in ``explained``) is left to
    :func:`step_changes`, so one cause is not reported twice.

    Parameters
    ----------
    slopes : frame-like
        ``Trend.slopes`` from :func:`perflab.monitoring.trend` (``stat, unit,
        slope_per_hour, ci_low, ci_high, level, relative_slope_pct_per_hour, verdict``).
    explained : frame-like, optional
        Rows with the ``by`` columns of series already reported as a step change.

    Examples
    --------
    >>> s = pl.DataFrame({"name": ["rss"], "unit": ["bytes"], "stat": ["mean"],
    ...     "windows": [24], "slope_per_hour": [9e6], "ci_low": [8e6], "ci_high": [1e7],
    ...     "level": [4e8], "relative_slope_pct_per_hour": [2.2], "verdict": ["rising"]})
    >>> rising_trends(s)[0].impact
    216000000.0
    """
    df = as_frame(slopes, _SLOPES_IN).filter(
        (pl.col("verdict") == "rising")
        & (pl.col("relative_slope_pct_per_hour") >= min_pct_per_hour)
    )
    if explained is not None:
        keys = [c for c in by if c in df.columns]
        seen = as_frame(explained)
        if keys and seen.height:
            df = df.join(seen.select(keys).unique(), on=keys, how="anti", nulls_equal=True)
    out = []
    for row in df.iter_rows(named=True):
        unit = row.get("unit") or ""
        growth = row["slope_per_hour"] * horizon_hours
        leak = unit == "bytes"
        out.append(
            Recommendation.of(
                RISING_TREND,
                subject=_subject(row, by),
                finding=f"{row['stat']} rises by {_num(row['slope_per_hour'], unit)} per hour "
                f"({row['relative_slope_pct_per_hour']:.1f} %/h of its level): "
                f"+{_num(growth, unit)} over {horizon_hours:g} h at this rate.",
                action=(
                    "Memory that grows steadily is a leak until shown otherwise: compare heap "
                    "snapshots an hour apart and look at what keeps growing (caches without a "
                    "bound, listeners, sessions); cap the process or restart on a threshold "
                    "meanwhile."
                    if leak
                    else "Find what grows with time rather than with load: queue depth, table "
                    "or index bloat, an unbounded cache, connection churn. Plot it against "
                    "request rate to tell growth from load."
                ),
                evidence=f"Theil–Sen slope {_num(row['slope_per_hour'], unit)}/h, 95 % CI "
                f"[{_num(row['ci_low'], unit)}, {_num(row['ci_high'], unit)}] over "
                f"{row['windows']} windows; level {_num(row['level'], unit)}",
                impact=growth,
                impact_unit=unit,
                score=row["relative_slope_pct_per_hour"] * horizon_hours,
            )
        )
    return out


def step_changes(
    change_points: FrameLike,
    *,
    by: Sequence[str] = ("name",),
    min_shift_pct: float = 20.0,
    stat: str = "p95",
) -> list[Recommendation]:
    """Series whose level jumped up by ≥ ``min_shift_pct`` at a change point.

    The largest upward jump of each series is reported; its impact is the jump itself
    (``after − before``, in the metric's unit). Drops are not findings.

    Parameters
    ----------
    change_points : frame-like
        ``Trend.change_points`` from :func:`perflab.monitoring.trend` (the ``by``
        columns, ``unit, window_start, before, after, shift_pct``).
    stat : str
        The statistic the trend followed, for the wording.

    Examples
    --------
    >>> from datetime import datetime
    >>> c = pl.DataFrame({"name": ["a"], "unit": ["ms"], "before": [100.0], "after": [135.0],
    ...     "shift_pct": [35.0], "window_start": [datetime(2026, 11, 2, 16)]})
    >>> step_changes(c)[0].finding[:40]
    'p95 jumped by 35 % at 2026-11-02 16:00 U'
    """
    df = as_frame(change_points, _CHANGES_IN).filter(pl.col("shift_pct") >= min_shift_pct)
    keys = [c for c in by if c in df.columns]
    if keys and df.height:
        df = df.sort("shift_pct", descending=True).unique(subset=keys, keep="first")
    out = []
    for row in df.sort("shift_pct", descending=True).iter_rows(named=True):
        unit = row.get("unit") or ""
        when = row["window_start"].strftime("%Y-%m-%d %H:%M UTC")
        shift = row["shift_pct"]
        out.append(
            Recommendation.of(
                STEP_CHANGE,
                subject=_subject(row, by),
                severity="critical" if shift >= 3 * min_shift_pct else None,
                finding=f"{stat} jumped by {shift:.0f} % at {when} and stayed there.",
                action="Check what changed at that moment — a deploy, a config or schema "
                "change, a dependency, a traffic mix shift — and compare the windows "
                "before and after with compare_windows() to confirm; roll back if it was "
                "a release.",
                evidence=f"change point in the window starting {when}: {stat} "
                f"{_num(row['before'], unit)} before, {_num(row['after'], unit)} after",
                impact=row["after"] - row["before"],
                impact_unit=unit,
                score=shift,
            )
        )
    return out


def slo_findings(slo: FrameLike) -> list[Recommendation]:
    """Objectives that are breached or burning their error budget too fast.

    Parameters
    ----------
    slo : frame-like
        Output of :func:`perflab.monitoring.slo_report`.

    Examples
    --------
    >>> s = pl.DataFrame({"objective": ["search p99<300"], "name": ["x"],
    ...     "threshold": [300.0], "unit": ["ms"], "target": [0.99], "samples": [1000],
    ...     "good_fraction": [0.97], "error_budget": [0.01], "budget_consumed": [3.0],
    ...     "burn_rate_peak": [6.0], "windows_breached": [5], "status": ["breached"]})
    >>> [r.rule for r in slo_findings(s)]
    ['monitoring.slo-breach']
    """
    df = as_frame(slo, _SLO_IN).filter(pl.col("status").is_in(["breached", "at risk"]))
    out = []
    for row in df.iter_rows(named=True):
        breached = row["status"] == "breached"
        consumed = row["budget_consumed"] * 100
        peak = row["burn_rate_peak"]
        peak_text = f"{peak:.1f}×" if peak is not None else "n/a (no window large enough)"
        evidence = (
            f"{row['good_fraction']:.3%} of {row['samples']:,} samples ≤ "
            f"{_num(row['threshold'], row['unit'])} (target {row['target']:.2%}); "
            f"budget consumed {consumed:.0f} %; peak burn rate "
            f"{peak_text}; {row['windows_breached']} window(s) above 1×"
        )
        out.append(
            Recommendation.of(
                SLO_BREACH if breached else SLO_BURN,
                subject=str(row["objective"]),
                finding=(
                    f"The objective is missed: {row['good_fraction']:.2%} good against a "
                    f"target of {row['target']:.2%} ({consumed:.0f} % of the error budget)."
                    if breached
                    else f"The objective holds, but {consumed:.0f} % of the budget is spent "
                    f"and the worst window burned it at {peak_text} the sustainable rate."
                ),
                action="Find the windows with the highest burn rate and what they share "
                "(hour, host, route, release); fix the cause before the budget runs out, "
                "and freeze risky releases while it is negative.",
                evidence=evidence,
                impact=consumed,
                impact_unit="% of error budget",
            )
        )
    return out


def regressions(comparison: FrameLike, *, by: Sequence[str] = ("name",)) -> list[Recommendation]:
    """Latency series that :func:`~perflab.monitoring.compare_windows` calls ``slower``.

    Only time units are judged; a byte count that grew is a trend, not a slowdown.

    Examples
    --------
    >>> c = pl.DataFrame({"name": ["a"], "unit": ["ms"], "verdict": ["slower"],
    ...     "n_baseline": [500], "n_current": [500], "mean_baseline": [100.0],
    ...     "mean_current": [130.0], "mean_change_pct": [30.0], "mean_change_ci_low": [25.0],
    ...     "mean_change_ci_high": [35.0], "p95_baseline": [200.0], "p95_current": [260.0],
    ...     "p95_change_pct": [30.0], "mw_pvalue": [1e-9]})
    >>> regressions(c)[0].impact
    30.0
    """
    df = as_frame(comparison, _COMPARISON_IN).filter(
        (pl.col("verdict") == "slower") & pl.col("unit").is_in(list(_TIME_UNITS))
    )
    out = []
    for row in df.iter_rows(named=True):
        unit = row.get("unit") or ""
        out.append(
            Recommendation.of(
                REGRESSION,
                subject=_subject(row, by),
                finding=f"The mean is {row['mean_change_pct']:+.0f} % and p95 "
                f"{row['p95_change_pct']:+.0f} % against the baseline.",
                action="Bisect the changes between the two windows (deploys, config, data "
                "growth); profile the slow path in the current version.",
                evidence=f"mean {_num(row['mean_baseline'], unit)} → "
                f"{_num(row['mean_current'], unit)} (95 % CI of change "
                f"{row['mean_change_ci_low']:+.1f} % … {row['mean_change_ci_high']:+.1f} %), "
                f"p95 {_num(row['p95_baseline'], unit)} → {_num(row['p95_current'], unit)}; "
                f"Mann–Whitney p={row['mw_pvalue']:.2g}; n={row['n_baseline']:,}/"
                f"{row['n_current']:,}",
                impact=row["mean_current"] - row["mean_baseline"],
                impact_unit=unit,
                score=row["mean_change_pct"],
            )
        )
    return out


def top_recommendations(
    *,
    summary: FrameLike | None = None,
    slopes: FrameLike | None = None,
    change_points: FrameLike | None = None,
    slo: FrameLike | None = None,
    comparison: FrameLike | None = None,
    by: Sequence[str] = ("name",),
    n: int | None = None,
    tail_ratio: float = 5.0,
    min_shift_pct: float = 20.0,
    min_pct_per_hour: float = 0.5,
) -> pl.DataFrame:
    """Run every monitoring rule on the analyses given and rank the findings.

    Parameters
    ----------
    summary, slopes, change_points, slo, comparison : frame-like, optional
        Outputs of ``summarize``, ``trend(...).slopes``, ``trend(...).change_points``,
        ``slo_report`` and ``compare_windows``; rules whose input is absent are skipped.
    by : sequence of str
        The grouping columns used for those analyses (they name the subject).
    n : int, optional
        Keep only the ``n`` most urgent.

    Returns
    -------
    polars.DataFrame
        The shared recommendation frame (:data:`perflab.recommend.RECOMMENDATIONS`).

    Examples
    --------
    >>> top_recommendations().height
    0
    """
    recs: list[Recommendation] = []
    if slo is not None:
        recs += slo_findings(slo)
    if comparison is not None:
        recs += regressions(comparison, by=by)
    steps = None
    if change_points is not None:
        recs += step_changes(change_points, by=by, min_shift_pct=min_shift_pct)
        steps = as_frame(change_points, _CHANGES_IN).filter(pl.col("shift_pct") >= min_shift_pct)
    if slopes is not None:
        recs += rising_trends(slopes, by=by, min_pct_per_hour=min_pct_per_hour, explained=steps)
    if summary is not None:
        recs += heavy_tails(summary, by=by, tail_ratio=tail_ratio)
    frame = to_frame(recs)
    return frame.head(n) if n is not None else frame

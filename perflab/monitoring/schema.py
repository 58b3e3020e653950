"""Canonical frames of the monitoring domain, each declared once as a ``Schema``.

``METRICS`` — one row per sample, what every reader returns and every analysis takes:

==========  =====================  ===============================================
column      dtype                  meaning
==========  =====================  ===============================================
name        str                    metric name (``http_request_duration``)
value       f64                    the sample, in ``unit``
unit        str                    unit of ``value`` (``ms``, ``s``, ``bytes``, ``1``)
timestamp   datetime[μs, UTC]      when the sample was taken, in UTC
*tags*      str (any number)       one column per tag key (``route``, ``host`` …)
==========  =====================  ===============================================

Values must be finite. Tags are every column that is not one of the four above.

The analyses' frames start with the ``by`` columns the caller grouped by (their
dtypes are the input's), then the columns below:

* :data:`SUMMARY` — :func:`~perflab.monitoring.summarize` (``window_start`` first
  when windowed);
* :data:`TREND_WINDOWS`, :data:`TREND_SLOPES`, :data:`TREND_CHANGES` — the three
  frames of :func:`~perflab.monitoring.trend`;
* :data:`COMPARISON` — :func:`~perflab.monitoring.compare_windows`;
* :data:`SLO`, :data:`SLO_WINDOWS` — :func:`~perflab.monitoring.slo_report` and
  :func:`~perflab.monitoring.slo_windows` (no ``by`` columns).
"""

from __future__ import annotations

import polars as pl

from perflab.frames import UTC_DATETIME, Schema
from perflab.stats import DEFAULT_QUANTILES, quantile_name

__all__ = [
    "COMPARISON",
    "CORE_COLUMNS",
    "METRICS",
    "SLO",
    "SLO_WINDOWS",
    "SUMMARY",
    "TREND_CHANGES",
    "TREND_SLOPES",
    "TREND_WINDOWS",
    "tag_columns",
]

METRICS = Schema(
    "metrics",
    {"name": pl.String, "value": pl.Float64, "unit": pl.String, "timestamp": UTC_DATETIME},
    finite=("value",),
)

CORE_COLUMNS: tuple[str, ...] = tuple(METRICS.columns)
"""The four columns every metric frame has; the rest are tags."""

SUMMARY = Schema(
    "summary",
    {
        "unit": pl.String,
        "count": pl.UInt32,
        "mean": pl.Float64,
        "min": pl.Float64,
        "max": pl.Float64,
        "std": pl.Float64,
        **{quantile_name(q): pl.Float64 for q in DEFAULT_QUANTILES},
    },
    optional={"window_start": UTC_DATETIME},
)
"""Per group (and window): ``unit, count`` and ``mean … p999`` in ``unit``."""

TREND_WINDOWS = Schema(
    "trend windows",
    {
        "window_start": UTC_DATETIME,
        **SUMMARY.columns,
        "stat_value": pl.Float64,
        "fitted": pl.Float64,
        "segment_mean": pl.Float64,
    },
)
"""The per-window summary a trend follows: :data:`SUMMARY` per window, then the
followed statistic, the Theil–Sen line at the window (null with too few windows)
and the mean of the statistic over the window's segment between change points."""

TREND_SLOPES = Schema(
    "trend slopes",
    {
        "unit": pl.String,
        "stat": pl.String,
        "windows": pl.UInt32,
        "slope_per_hour": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "level": pl.Float64,
        "relative_slope_pct_per_hour": pl.Float64,
        "verdict": pl.String,
        "change_points": pl.UInt32,
        "last_change_at": UTC_DATETIME,
        "shift_pct": pl.Float64,
    },
)
"""One row per series: the slope per hour with its confidence interval, the level,
the verdict (``rising``, ``falling``, ``flat``, ``insufficient data``) and the last
change point."""

TREND_CHANGES = Schema(
    "change points",
    {
        "unit": pl.String,
        "window_start": UTC_DATETIME,
        "before": pl.Float64,
        "after": pl.Float64,
        "shift_pct": pl.Float64,
    },
)
"""One row per change point: the first window of the new level and the mean level
either side."""

COMPARISON = Schema(
    "comparison",
    {
        "unit": pl.String,
        "n_baseline": pl.UInt32,
        "n_current": pl.UInt32,
        "mean_baseline": pl.Float64,
        "mean_current": pl.Float64,
        "mean_change_pct": pl.Float64,
        "mean_change_ci_low": pl.Float64,
        "mean_change_ci_high": pl.Float64,
        "p95_baseline": pl.Float64,
        "p95_current": pl.Float64,
        "p95_change_pct": pl.Float64,
        "p95_change_ci_low": pl.Float64,
        "p95_change_ci_high": pl.Float64,
        "mw_pvalue": pl.Float64,
        "verdict": pl.String,
    },
)
"""Baseline against current per group: sizes, means and p95s, their change in % with
confidence intervals, the Mann–Whitney p-value and the verdict (``slower``,
``faster``, ``no significant change``, ``missing``)."""

SLO = Schema(
    "slo",
    {
        "objective": pl.String,
        "name": pl.String,
        "threshold": pl.Float64,
        "unit": pl.String,
        "target": pl.Float64,
        "samples": pl.UInt64,
        "good_fraction": pl.Float64,
        "error_budget": pl.Float64,
        "budget_consumed": pl.Float64,
        "burn_rate_peak": pl.Float64,
        "windows_breached": pl.UInt32,
        "status": pl.String,
    },
)
"""One row per objective (see :func:`~perflab.monitoring.slo_report`)."""

SLO_WINDOWS = Schema(
    "slo windows",
    {
        "objective": pl.String,
        "name": pl.String,
        "window_start": UTC_DATETIME,
        "samples": pl.UInt64,
        "bad": pl.UInt64,
        "bad_fraction": pl.Float64,
        "burn_rate": pl.Float64,
    },
)
"""One row per objective and window; ``burn_rate`` is null in windows with fewer
than ``min_samples`` samples."""


def tag_columns(df: pl.DataFrame) -> list[str]:
    """The tag columns of a metric frame: every column but the four core ones.

    Examples
    --------
    >>> tag_columns(pl.DataFrame({"name": [], "value": [], "route": []}))
    ['route']
    """
    return [c for c in df.columns if c not in CORE_COLUMNS]

"""The monitoring notebook's charts: latency bands, SLO burn, and change against a baseline.

They build on the shared theme and helpers of :mod:`perflab.charts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from perflab.charts import PALETTE, panel, series_label
from perflab.frames import FrameLike, as_frame

__all__ = ["compare_bars", "latency_bands", "slo_burn"]


def latency_bands(
    windows: FrameLike,
    *,
    by: Sequence[str] = ("name",),
    time: str = "window_start",
    unit: str = "ms",
    title: str = "Latency over time",
) -> alt.FacetChart:
    """Per-window p50 line inside a p50–p99 band with the p95 line, one panel per series.

    Parameters
    ----------
    windows : frame-like
        Output of :func:`perflab.monitoring.summarize` with ``every=`` set: columns
        ``window_start``, ``p50``, ``p95``, ``p99`` and the ``by`` columns.
    by : sequence of str
        Columns that name a series (one panel each).
    unit : str
        Unit of the values, for the axis title.

    Examples
    --------
    >>> from datetime import datetime
    >>> w = pl.DataFrame({"name": ["a", "a"], "p50": [1.0, 2], "p95": [2.0, 3],
    ...     "p99": [3.0, 5], "window_start": [datetime(2026, 1, 1), datetime(2026, 1, 2)]})
    >>> latency_bands(w).to_dict()["facet"]["field"]
    'series'
    """
    df = series_label(as_frame(windows), by).select("series", time, "p50", "p95", "p99")
    base = alt.Chart().encode(
        x=alt.X(f"{time}:T", title=None),
        tooltip=[
            alt.Tooltip("series:N"),
            alt.Tooltip(f"{time}:T", title="window", format="%H:%M %d %b"),
            alt.Tooltip("p50:Q", format=",.1f"),
            alt.Tooltip("p95:Q", format=",.1f"),
            alt.Tooltip("p99:Q", format=",.1f"),
        ],
    )
    band = base.mark_area(opacity=0.18, color=PALETTE[0]).encode(
        y=alt.Y("p50:Q", title=f"latency ({unit})"), y2="p99:Q"
    )
    lines = (
        base.transform_fold(["p50", "p95", "p99"], as_=["percentile", "value"])
        .mark_line(strokeWidth=1.6)
        .encode(
            y=alt.Y("value:Q", title=f"latency ({unit})"),
            color=alt.Color(
                "percentile:N",
                scale=alt.Scale(
                    domain=["p50", "p95", "p99"], range=[PALETTE[0], PALETTE[1], PALETTE[3]]
                ),
            ),
            strokeDash=alt.condition(
                "datum.percentile == 'p99'", alt.value([4, 3]), alt.value([1, 0])
            ),
        )
    )
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    layered = alt.layer(band, lines.add_params(zoom)).properties(width=640, height=160)
    return (
        layered.facet(facet=panel("series"), columns=1, data=df)
        .resolve_scale(y="independent")
        .properties(title=title)
    )


def slo_burn(
    windows: FrameLike,
    *,
    objective: str = "objective",
    time: str = "window_start",
    title: str = "Error-budget burn rate per window",
) -> alt.FacetChart:
    """Burn rate per window (1.0 spends the budget exactly), with the line at 1.

    One panel per objective; bars above 1 are red.

    Parameters
    ----------
    windows : frame-like
        Columns ``objective``, ``window_start`` and ``burn_rate``.

    Examples
    --------
    >>> from datetime import datetime
    >>> w = pl.DataFrame({"objective": ["x"], "window_start": [datetime(2026, 1, 1)],
    ...     "burn_rate": [2.0]})
    >>> len(slo_burn(w).to_dict()["spec"]["layer"])
    2
    """
    df = (
        as_frame(windows)
        .select(objective, time, "burn_rate")
        .with_columns(pl.lit(1.0).alias("budget"))
    )
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X(f"{time}:T", title=None),
            y=alt.Y("burn_rate:Q", title="burn rate (× budget)"),
            color=alt.condition(
                "datum.burn_rate > 1", alt.value(PALETTE[3]), alt.value(PALETTE[2])
            ),
            tooltip=[
                alt.Tooltip(f"{objective}:N"),
                alt.Tooltip(f"{time}:T", format="%H:%M %d %b"),
                alt.Tooltip("burn_rate:Q", format=".2f"),
            ],
        )
    )
    rule = alt.Chart().mark_rule(strokeDash=[4, 3], color="#111827").encode(y="mean(budget):Q")
    return (
        alt.layer(bars, rule)
        .properties(width=640, height=120)
        .facet(facet=panel(objective), columns=1, data=df)
        .properties(title=title)
    )


def compare_bars(
    comparison: FrameLike,
    *,
    by: Sequence[str] = ("name",),
    change: str = "mean_change_pct",
    low: str = "mean_change_ci_low",
    high: str = "mean_change_ci_high",
    title: str = "Change against baseline (with 95 % CI)",
) -> alt.LayerChart:
    """Horizontal bars of the relative change per series, with confidence intervals.

    Examples
    --------
    >>> c = pl.DataFrame({"name": ["a"], "mean_change_pct": [10.0],
    ...     "mean_change_ci_low": [5.0], "mean_change_ci_high": [15.0], "verdict": ["slower"]})
    >>> len(compare_bars(c).to_dict()["layer"])
    3
    """
    df = series_label(as_frame(comparison), by).select("series", change, low, high, "verdict")
    # An explicit order: a sort by "-x" would differ between the bar and the CI layers,
    # and Vega-Lite then falls back to sorting the names.
    order = df.sort(change, descending=True, nulls_last=True).get_column("series").to_list()
    y = alt.Y("series:N", title=None, sort=order)
    color = alt.Color(
        "verdict:N",
        scale=alt.Scale(
            domain=["slower", "faster", "no significant change", "missing"],
            range=[PALETTE[3], PALETTE[2], "#9ca3af", "#d1d5db"],
        ),
        title=None,
    )
    bars = (
        alt.Chart(df)
        .mark_bar(height=14)
        .encode(
            x=alt.X(f"{change}:Q", title="change (%)"),
            y=y,
            color=color,
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip(f"{change}:Q", format="+.1f"),
                alt.Tooltip(f"{low}:Q", format="+.1f"),
                alt.Tooltip(f"{high}:Q", format="+.1f"),
                alt.Tooltip("verdict:N"),
            ],
        )
    )
    ci = alt.Chart(df).mark_rule(color="#111827").encode(x=f"{low}:Q", x2=f"{high}:Q", y=y)
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="#6b7280").encode(x="x:Q")
    return alt.LayerChart(layer=[bars, ci, zero]).properties(width=560, title=title)

"""The memory notebook's charts: memory over time with GC events, and leak verdicts.

They build on the shared theme of :mod:`perflab.charts`; each takes a frame of
:mod:`perflab.memory.schema` or an analysis's output, never a file. Pause
distributions use :func:`perflab.charts.distribution` directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from perflab.frames import FrameLike, as_frame

__all__ = ["VERDICT_COLORS", "leak_slopes", "memory_over_time"]

VERDICT_COLORS = {"leak": "#dc2626", "inconclusive": "#9ca3af", "no_leak": "#16a34a"}
"""The colour of each :func:`~perflab.memory.leak_check` verdict."""

_MB = 1024 * 1024


def _one_panel(
    lines: pl.DataFrame, marks: pl.DataFrame | None, floor: pl.DataFrame | None, title: str
) -> alt.LayerChart:
    x = alt.X("timestamp:T", title=None, axis=alt.Axis(format="%H:%M:%S"))
    layers: list[alt.Chart] = [
        alt.Chart(lines)
        .mark_line(strokeWidth=1.4, interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("mb:Q", title="MiB"),
            color=alt.Color("series:N", title=None),
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("timestamp:T", format="%H:%M:%S"),
                alt.Tooltip("mb:Q", title="MiB", format=",.1f"),
            ],
        )
    ]
    if floor is not None and floor.height:
        layers.append(
            alt.Chart(floor)
            .mark_circle(size=26, color="#111827", opacity=0.8)
            .encode(
                x=x,
                y="mb:Q",
                tooltip=[
                    alt.Tooltip("series:N", title="trough of"),
                    alt.Tooltip("timestamp:T", format="%H:%M:%S"),
                    alt.Tooltip("mb:Q", title="MiB", format=",.1f"),
                ],
            )
        )
    if marks is not None and marks.height:
        layers.append(
            alt.Chart(marks)
            .mark_tick(orient="vertical", height=10, thickness=1, opacity=0.7)
            .encode(
                x=x,
                y=alt.value(222),  # a strip along the bottom of the 230-pixel panel
                color=alt.Color("kind:N", title="collection", scale=alt.Scale(scheme="greys")),
                tooltip=[
                    alt.Tooltip("kind:N"),
                    alt.Tooltip("timestamp:T", format="%H:%M:%S.%L"),
                    alt.Tooltip("pause_ms:Q", title="pause (ms)", format=",.2f"),
                ],
            )
        )
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(width=640, height=230, title=title)
    )


def memory_over_time(
    samples: FrameLike,
    *,
    series: Sequence[str] | None = ("rss", "heap_total", "heap_used", "external"),
    gc_events: FrameLike | None = None,
    troughs: FrameLike | None = None,
    by: str = "source",
    title: str = "Memory over time",
) -> alt.LayerChart | alt.VConcatChart:
    """Memory in MiB over time, a line per series, one panel per ``by`` value.

    Parameters
    ----------
    samples : frame-like
        :data:`~perflab.memory.SAMPLES` (``timestamp``, ``series``, ``value`` in bytes).
    series : sequence of str or None
        The series to draw (counts such as ``threads`` do not share a MiB axis); None
        draws every series present.
    gc_events : frame-like, optional
        :data:`~perflab.memory.GC_EVENTS`: a tick per collection along the bottom,
        shaded by kind (events without a ``timestamp`` are left out).
    troughs : frame-like, optional
        Points to mark on the lines, e.g. :func:`~perflab.memory.troughs`: the post-GC
        floor a leak verdict is drawn from (``timestamp``, ``series``, ``value``).
    by : str, default "source"
        Panels per value of this column when the samples have it (one process each).
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart or altair.VConcatChart
        One layered panel, or panels stacked when ``by`` has several values.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> s = pl.DataFrame({"timestamp": [t, t], "series": ["rss", "heap_used"],
    ...                   "value": [64e6, 20e6]})
    >>> memory_over_time(s).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    df = as_frame(samples)
    if series is not None:
        df = df.filter(pl.col("series").is_in(list(series)))
    df = df.with_columns((pl.col("value") / _MB).alias("mb"))
    gc = as_frame(gc_events) if gc_events is not None else None
    if gc is not None:
        gc = gc.filter(pl.col("timestamp").is_not_null())
    low = as_frame(troughs) if troughs is not None else None
    if low is not None:
        low = low.with_columns((pl.col("value") / _MB).alias("mb"))
        if series is not None and "series" in low.columns:
            low = low.filter(pl.col("series").is_in(list(series)))
    groups = df.get_column(by).unique(maintain_order=True).to_list() if by in df.columns else [None]
    if len(groups) <= 1:
        return _one_panel(df, gc, low, title)

    def part(frame: pl.DataFrame | None, value: object) -> pl.DataFrame | None:
        if frame is None or by not in frame.columns:
            return frame
        return frame.filter(pl.col(by) == value)

    panels = [
        _one_panel(df.filter(pl.col(by) == g), part(gc, g), part(low, g), f"{title}: {g}")
        for g in groups
    ]
    return alt.vconcat(*panels).resolve_scale(color="independent")


def leak_slopes(
    leaks: FrameLike, *, title: str = "Growth of the troughs"
) -> alt.LayerChart | alt.FacetChart:
    """Each series' trough slope (MiB/hour) with its 95 % interval, coloured by verdict.

    Parameters
    ----------
    leaks : frame-like
        :func:`~perflab.memory.leak_check`'s output (``series``, ``slope_mb_per_hour``,
        ``ci_low``, ``ci_high``, ``verdict``; ``source`` too when present).
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart or altair.FacetChart
        A dot per series on the slope axis, its interval as a rule, a line at zero.

    Examples
    --------
    >>> f = pl.DataFrame({"series": ["heap_used"], "slope_mb_per_hour": [30.0],
    ...     "ci_low": [20.0], "ci_high": [40.0], "verdict": ["leak"], "p_value": [0.001]})
    >>> leak_slopes(f).to_dict()["layer"][1]["mark"]["type"]
    'rule'
    """
    df = as_frame(leaks)
    parts = [pl.col(c).cast(pl.String) for c in ("source", "pid") if c in df.columns]
    df = df.with_columns(
        pl.concat_str([*parts, pl.col("series")], separator=" · ", ignore_nulls=True).alias("label")
    )
    y = alt.Y("label:N", title=None, sort=df["label"].to_list(), axis=alt.Axis(labelLimit=320))
    color = alt.Color(
        "verdict:N",
        title="verdict",
        scale=alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values())),
    )
    tooltip = [
        alt.Tooltip("label:N", title="series"),
        alt.Tooltip("verdict:N"),
        alt.Tooltip("slope_mb_per_hour:Q", title="MB/hour", format=",.2f"),
        alt.Tooltip("ci_low:Q", title="95 % CI from", format=",.2f"),
        alt.Tooltip("ci_high:Q", title="to", format=",.2f"),
    ]
    if "p_value" in df.columns:
        tooltip.append(alt.Tooltip("p_value:Q", title="Mann–Kendall p", format=".2g"))
    base = alt.Chart(df).encode(y=y, color=color, tooltip=tooltip)
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="#6b7280").encode(x="x:Q")
    spread = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title="trough slope (MB per hour)"), x2="ci_high:Q"
    )
    dots = base.mark_circle(size=90, opacity=1).encode(x="slope_mb_per_hour:Q")
    return alt.layer(zero, spread, dots).properties(
        width=560, height=max(60, 28 * df.height), title=title
    )

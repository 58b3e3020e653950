"""Charts of the overview notebook: headline trends, changes and the one timeline.

Each takes a frame made by :mod:`perflab.report.overview` or :mod:`perflab.timeline`
and returns an altair chart in the perflab theme (:mod:`perflab.charts`).
"""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import polars as pl

from perflab.charts import PALETTE
from perflab.frames import FrameLike, as_frame
from perflab.timeline import episodes

__all__ = ["changes_chart", "headline_trends", "timeline_chart"]

_VERDICT_COLOURS = {"worse": "#dc2626", "better": "#16a34a", "neutral": "#6b7280"}


def headline_trends(headlines: FrameLike, *, columns: int = 4) -> alt.FacetChart:
    """Small multiples: each headline figure's last values, the latest ringed.

    Parameters
    ----------
    headlines : frame-like
        :func:`perflab.report.overview.headlines` (``notebook, figure, label, unit,
        values, shift_verdict``).
    columns : int
        Panels per row.

    Examples
    --------
    >>> h = pl.DataFrame({"notebook": ["api"], "figure": ["p95_ms"], "label": ["p95"],
    ...     "unit": ["ms"], "values": [[1.0, 2.0, 3.0]], "shift_verdict": ["worse"]})
    >>> headline_trends(h).to_dict()["facet"]["field"]
    'panel'
    """
    frame = as_frame(headlines)
    long = (
        frame.with_columns(
            pl.concat_str(
                [
                    pl.col("notebook"),
                    pl.lit(" · "),
                    pl.coalesce("label", "figure"),
                    pl.when(pl.col("unit").fill_null("") != "")
                    .then(pl.concat_str([pl.lit(" ("), pl.col("unit"), pl.lit(")")]))
                    .otherwise(pl.lit("")),
                ]
            ).alias("panel"),
            pl.col("shift_verdict").fill_null("held").alias("level"),
        )
        .select("panel", "level", "values")
        .explode("values")
        .rename({"values": "value"})
        .with_columns(
            pl.int_range(pl.len()).over("panel").alias("run"),
            (pl.int_range(pl.len()).over("panel") == pl.len().over("panel") - 1).alias("latest"),
        )
    )
    colour = alt.Color(
        "level:N",
        title="level",
        scale=alt.Scale(
            domain=["worse", "better", "neutral", "held"],
            range=[*_VERDICT_COLOURS.values(), PALETTE[0]],
        ),
    )
    base = alt.Chart().encode(
        x=alt.X("run:Q", title=None, axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=colour,
        tooltip=[alt.Tooltip("value:Q", format=",.2f"), "run:Q"],
    )
    line = base.mark_line(point=alt.OverlayMarkDef(size=12))
    last = base.transform_filter("datum.latest").mark_point(size=70, filled=False)
    return (
        alt.layer(line, last)
        .properties(width=150, height=50)
        .facet(facet=alt.Facet("panel:N", title=None), columns=columns, data=long)
        .resolve_scale(y="independent")
        .properties(title="Headline figures over the last runs (the latest ringed)")
    )


def changes_chart(moved: FrameLike) -> alt.Chart:
    """The figures that moved since the previous run, as bars of their change in %.

    Parameters
    ----------
    moved : frame-like
        ``what_changed(...)["figures"]`` (``notebook, figure, label, change_pct,
        verdict``).

    Examples
    --------
    >>> m = pl.DataFrame({"notebook": ["api"], "figure": ["p95_ms"], "label": ["p95"],
    ...     "previous": [100.0], "value": [130.0], "change_pct": [30.0], "verdict": ["worse"]})
    >>> changes_chart(m).to_dict()["mark"]["type"]
    'bar'
    """
    frame = as_frame(moved).with_columns(
        pl.concat_str([pl.col("notebook"), pl.lit(" · "), pl.coalesce("label", "figure")]).alias(
            "what"
        )
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("change_pct:Q", title="change since the previous run (%)"),
            y=alt.Y("what:N", sort=None, title=None),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(domain=["worse", "better"], range=["#dc2626", "#16a34a"]),
            ),
            tooltip=[
                "what:N",
                alt.Tooltip("previous:Q", format=",.2f"),
                alt.Tooltip("value:Q", format=",.2f"),
                alt.Tooltip("change_pct:Q", format="+.1f"),
            ],
        )
        .properties(width=520, height=alt.Step(18), title="What moved since the previous run")
    )


def timeline_chart(
    events: FrameLike, *, gap: str | timedelta = "1h", max_episodes: int = 6
) -> alt.FacetChart:
    """Every domain's events on one time axis per episode, deploys and runs as rules.

    Events from different days are drawn as separate episodes
    (:func:`perflab.timeline.episodes`), each on its own time axis; a row per domain;
    the point's size is the event's size, its colour whether it is for the worse.

    Parameters
    ----------
    events : frame-like
        An :data:`~perflab.events.EVENTS` frame.
    gap : str or timedelta
        The longest quiet time inside an episode.
    max_episodes : int
        Draw at most this many episodes: those holding a regression (an event for the
        worse) or a deploy first, then those with the most events; the title says how
        many were left out.

    Examples
    --------
    >>> from datetime import datetime
    >>> from perflab.events import deploys, events_frame
    >>> ev = events_frame([{"time": datetime(2026, 3, 2, 16), "domain": "api",
    ...     "subject": "/checkout", "kind": "step", "size": 0.3, "evidence": "p95 ↑",
    ...     "direction": "worse"}])
    >>> spec = timeline_chart(pl.concat([ev, deploys([(datetime(2026, 3, 2, 15, 58), "v2")])],
    ...                                 how="diagonal_relaxed")).to_dict()
    >>> spec["facet"]["row"]["field"]
    'episode_label'
    """
    framed = episodes(events, gap=gap)
    marked = (pl.col("kind").is_in(["deploy", "run"]) | (pl.col("direction") == "worse")).any()
    ranked = (
        framed.group_by("episode")
        .agg(marked.alias("telling"), pl.len().alias("len"))
        .sort(["telling", "len", "episode"], descending=[True, True, False])
    )
    busiest = ranked.head(max_episodes).get_column("episode")
    hidden = ranked.height - busiest.len()
    title = "One timeline across domains (each episode on its own axis)"
    if hidden:
        title += (
            f"; {busiest.len()} of {ranked.height} episodes drawn, those with regressions"
            " or deploys and the most events first"
        )
    data = (
        framed.filter(pl.col("episode").is_in(busiest.implode()))
        .with_columns(
            pl.concat_str(
                [
                    pl.col("episode_start").dt.strftime("%Y-%m-%d %H:%M:%S"),
                    pl.lit(" – "),
                    pl.col("episode_end").dt.strftime("%H:%M:%S"),
                    pl.lit(" UTC"),
                ]
            ).alias("episode_label"),
            pl.col("size").abs().fill_null(0.0).clip(0.0, 1.0).alias("magnitude"),
            pl.col("direction").fill_null("—").alias("direction"),
            pl.col("time").dt.replace_time_zone(None).alias("time"),
        )
        .select(
            "episode_label",
            "time",
            "domain",
            "subject",
            "kind",
            "size",
            "magnitude",
            "direction",
            "evidence",
        )
    )
    markers = alt.datum.kind == "deploy"
    is_marker = (alt.datum.kind == "deploy") | (alt.datum.kind == "run")
    base = alt.Chart().encode(
        x=alt.X("time:T", title=None, axis=alt.Axis(format="%H:%M:%S", labelOverlap=True))
    )
    tooltip = [
        alt.Tooltip("time:T", format="%Y-%m-%d %H:%M:%S"),
        "domain:N",
        "kind:N",
        "subject:N",
        alt.Tooltip("size:Q", format="+.2f"),
        "evidence:N",
    ]
    points = (
        base.transform_filter(~is_marker)
        .mark_circle(opacity=0.75)
        .encode(
            y=alt.Y("domain:N", title=None),
            size=alt.Size("magnitude:Q", scale=alt.Scale(range=[30, 400]), legend=None),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(
                    domain=["worse", "better", "—"], range=["#dc2626", "#16a34a", "#6b7280"]
                ),
            ),
            tooltip=tooltip,
        )
    )
    rules = (
        base.transform_filter(is_marker)
        .mark_rule(strokeDash=[4, 3], strokeWidth=1.5)
        .encode(
            color=alt.condition(markers, alt.value("#111827"), alt.value(PALETTE[4])),
            tooltip=tooltip,
        )
    )
    return (
        alt.layer(rules, points)
        .properties(width=760, height=alt.Step(22))
        .facet(
            row=alt.Row(
                "episode_label:N",
                title=None,
                header=alt.Header(
                    labelAngle=0, labelAlign="left", labelAnchor="start", labelOrient="top"
                ),
            ),
            data=data,
        )
        .resolve_scale(x="independent", y="independent")
        .properties(title=title)
    )

"""The caching notebook's charts: miss-ratio curves, policies side by side, popularity.

They build on the shared theme of :mod:`perflab.charts`; each takes an analysed frame
(a simulation, a curve, a popularity table, live statistics), never a raw trace.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from perflab.charts import PALETTE
from perflab.frames import FrameLike, as_frame

__all__ = [
    "curve_chart",
    "level_bars",
    "policy_bars",
    "popularity_chart",
    "profile_table",
    "stats_bars",
]

_BOUND = "belady"


def _size_title(unit: str) -> str:
    return "cache size (bytes)" if unit == "bytes" else "cache size (objects)"


def curve_chart(
    curves: FrameLike,
    *,
    color: str = "policy",
    current_size: int | None = None,
    recommended_size: int | None = None,
    title: str = "Miss ratio by cache size",
) -> alt.LayerChart | alt.FacetChart:
    """Miss ratio against cache size (log axis), one line per ``color`` value.

    Belady's optimum, when present, is a dashed black line: no policy can go below it.
    A sampled curve (``error`` column) gets a band of ±2 standard errors. Vertical
    rules mark the ``current_size`` and the ``recommended_size``.

    Parameters
    ----------
    curves : frame-like
        :func:`~perflab.caching.simulate` or :func:`~perflab.caching.miss_ratio_curve`
        output (several curves concatenated): ``size``, ``miss_ratio`` and ``color``.

    Examples
    --------
    >>> c = pl.DataFrame({"policy": ["lru", "lru", "belady", "belady"], "size": [1, 2, 1, 2],
    ...     "miss_ratio": [0.5, 0.3, 0.4, 0.2], "unit": ["objects"] * 4})
    >>> [layer["mark"]["type"] for layer in curve_chart(c).to_dict()["layer"]]
    ['line', 'line']
    """
    df = as_frame(curves).filter(pl.col("miss_ratio").is_not_null())
    unit = df["unit"][0] if "unit" in df.columns and df.height else "objects"
    keep = list(dict.fromkeys(c for c in (color, "size", "miss_ratio", "error") if c in df.columns))
    df = df.select(keep).with_columns(pl.col(color).cast(pl.String))
    names = [n for n in df[color].unique(maintain_order=True).to_list() if n != _BOUND]
    x = alt.X("size:Q", scale=alt.Scale(type="log"), title=_size_title(unit))
    y = alt.Y("miss_ratio:Q", title="miss ratio", axis=alt.Axis(format="%"))
    tooltip = [
        alt.Tooltip(f"{color}:N"),
        alt.Tooltip("size:Q", format=","),
        alt.Tooltip("miss_ratio:Q", format=".2%"),
    ]
    # more lines than the palette has colours: a 20-colour scheme, so none share one
    scale = (
        alt.Scale(domain=names, range=PALETTE)
        if len(names) <= len(PALETTE)
        else alt.Scale(domain=names, scheme="tableau20")
    )
    # click a legend entry to pick a line out (shift-click for more)
    pick = alt.selection_point(fields=[color], bind="legend")
    lines = (
        alt.Chart(df.filter(pl.col(color) != _BOUND))
        .mark_line(point=alt.OverlayMarkDef(size=12) if df.height < 400 else False)
        .encode(
            x=x,
            y=y,
            color=alt.Color(f"{color}:N", scale=scale, title=None),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    layers: list[alt.Chart] = []
    if "error" in df.columns and df["error"].drop_nulls().gt(0).any():
        band = df.with_columns(
            (pl.col("miss_ratio") - 2 * pl.col("error")).clip(0, 1).alias("lo"),
            (pl.col("miss_ratio") + 2 * pl.col("error")).clip(0, 1).alias("hi"),
        ).filter(pl.col("error") > 0)
        layers.append(
            alt.Chart(band)
            .mark_area(opacity=0.15)
            .encode(
                x=x,
                y="lo:Q",
                y2="hi:Q",
                color=alt.Color(f"{color}:N", scale=scale),
            )
        )
    layers.append(lines)
    if (df[color] == _BOUND).any():
        layers.append(
            alt.Chart(df.filter(pl.col(color) == _BOUND))
            .mark_line(strokeDash=[6, 4], color="black")
            .encode(x=x, y=y, tooltip=tooltip)
        )
    for row, (at, label) in enumerate(((current_size, "today"), (recommended_size, "recommended"))):
        if at is None:
            continue
        mark = alt.Chart(pl.DataFrame({"size": [at], "label": [label]})).encode(x="size:Q")
        layers.append(mark.mark_rule(color="#6b7280", strokeDash=[2, 2]))
        # one label row each, so two rules close together do not print over each other
        layers.append(
            mark.mark_text(align="left", dx=4, color="#374151").encode(
                y=alt.value(8 + 14 * row), text="label:N"
            )
        )
    return alt.layer(*layers).properties(width=560, height=320, title=title)


def policy_bars(
    simulation: FrameLike, size: int, *, title: str | None = None
) -> alt.LayerChart | alt.FacetChart:
    """Hit ratio of each policy at the simulated size nearest ``size``, best first.

    Belady's bar is grey: it is the bound, not a choice.

    Examples
    --------
    >>> s = pl.DataFrame({"policy": ["lru", "sieve", "belady"], "size": [10] * 3,
    ...     "hit_ratio": [0.4, 0.5, 0.7], "byte_hit_ratio": [0.3, 0.4, 0.6],
    ...     "unit": ["objects"] * 3})
    >>> policy_bars(s, 10).to_dict()["layer"][0]["mark"]["type"]
    'bar'
    """
    df = as_frame(simulation)
    sizes = df["size"].unique().to_list()
    nearest = min(sizes, key=lambda s: abs(s - size))
    unit = df["unit"][0] if "unit" in df.columns else "objects"
    df = (
        df.filter(pl.col("size") == nearest)
        .select("policy", "hit_ratio", "byte_hit_ratio")
        .sort("hit_ratio", descending=True)
        .with_columns((pl.col("policy") == _BOUND).alias("bound"))
    )
    order = df["policy"].to_list()
    base = alt.Chart(df).encode(
        y=alt.Y("policy:N", sort=order, title=None),
        x=alt.X("hit_ratio:Q", title="hit ratio", axis=alt.Axis(format="%")),
    )
    bars = base.mark_bar().encode(
        color=alt.condition("datum.bound", alt.value("#9ca3af"), alt.value(PALETTE[0])),
        tooltip=[
            alt.Tooltip("policy:N"),
            alt.Tooltip("hit_ratio:Q", format=".2%"),
            alt.Tooltip("byte_hit_ratio:Q", title="byte hit ratio", format=".2%"),
        ],
    )
    text = base.mark_text(align="left", dx=3).encode(text=alt.Text("hit_ratio:Q", format=".1%"))
    what = f"{nearest:,} bytes" if unit == "bytes" else f"{nearest:,} objects"
    return alt.layer(bars, text).properties(
        width=480, height=max(120, 24 * df.height), title=title or f"Hit ratio at {what}"
    )


def popularity_chart(
    table: FrameLike, alpha: float | None = None, *, points: int = 400
) -> alt.Chart:
    """Requests per object against popularity rank, both on log axes.

    A straight line is a Zipf law; ``alpha`` (its fitted exponent) goes in the title.
    The table is thinned to ``points`` ranks spaced evenly in log (the first and the
    last kept), which is all a log axis can show.

    Examples
    --------
    >>> t = pl.DataFrame({"rank": [1, 2, 3], "requests": [30, 15, 10],
    ...     "share": [0.55, 0.27, 0.18], "cumulative_share": [0.55, 0.82, 1.0]})
    >>> popularity_chart(t, 1.0).to_dict()["mark"]["type"]
    'line'
    """
    df = as_frame(table)
    if df.height > points:
        keep = np.unique(np.geomspace(1, df.height, points).round().astype(np.int64) - 1)
        df = df[keep]
    fitted = f" — Zipf exponent ≈ {alpha:.2f}" if alpha is not None and alpha == alpha else ""
    return (
        alt.Chart(df)
        .mark_line(color=PALETTE[0])
        .encode(
            x=alt.X("rank:Q", scale=alt.Scale(type="log"), title="popularity rank"),
            y=alt.Y("requests:Q", scale=alt.Scale(type="log"), title="requests"),
            tooltip=[
                alt.Tooltip("rank:Q", format=","),
                alt.Tooltip("requests:Q", format=","),
                alt.Tooltip("cumulative_share:Q", title="top ranks' share", format=".1%"),
            ],
        )
        .properties(width=480, height=260, title=f"How skewed the traffic is{fitted}")
    )


def stats_bars(stats: FrameLike, *, title: str = "Live cache: what each get found") -> alt.Chart:
    """Hits, misses and expirations per strategy and level, as stacked bars.

    Examples
    --------
    >>> s = pl.DataFrame({"strategy": ["a"], "level": ["l1"], "hits": [5], "misses": [3],
    ...     "evictions_ttl": [1]})
    >>> stats_bars(s).to_dict()["mark"]["type"]
    'bar'
    """
    df = as_frame(stats)
    # evictions_ttl also counts expired entries no get found: at most all the misses
    ttl = (
        pl.min_horizontal(pl.col("evictions_ttl").fill_null(0), pl.col("misses"))
        if "evictions_ttl" in df.columns
        else pl.lit(0)
    )
    long = (
        df.with_columns(
            pl.concat_str([pl.col("strategy"), pl.lit(" · "), pl.col("level")]).alias("cache"),
            (pl.col("misses") - ttl).clip(0).alias("miss"),
            ttl.alias("expired"),
            pl.col("hits").alias("hit"),
        )
        .unpivot(index="cache", on=["hit", "miss", "expired"], variable_name="result")
        .rename({"value": "gets"})
    )
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("cache:N", title=None),
            x=alt.X("gets:Q", stack="normalize", title="share of gets", axis=alt.Axis(format="%")),
            color=alt.Color(
                "result:N",
                scale=alt.Scale(
                    domain=["hit", "miss", "expired"], range=[PALETTE[2], PALETTE[3], PALETTE[6]]
                ),
                title=None,
            ),
            tooltip=["cache:N", "result:N", alt.Tooltip("gets:Q", format=",")],
        )
        .properties(width=480, height=max(80, 28 * df.height), title=title)
    )


def level_bars(split: FrameLike, *, title: str = "Who answered each get") -> alt.Chart:
    """Share of gets answered by L1, by L2 (Redis) and by neither, per strategy.

    Parameters
    ----------
    split : frame-like
        :func:`perflab.caching.profile.level_split` output.

    Examples
    --------
    >>> s = pl.DataFrame({"strategy": ["p"], "l1_hits": [5], "l2_hits": [3], "misses": [2]})
    >>> level_bars(s).to_dict()["mark"]["type"]
    'bar'
    """
    df = as_frame(split).select("strategy", "l1_hits", "l2_hits", "misses")
    long = df.rename({"l1_hits": "L1", "l2_hits": "L2 (Redis)", "misses": "neither"}).unpivot(
        index="strategy", variable_name="answered by", value_name="gets"
    )
    order = ["L1", "L2 (Redis)", "neither"]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("strategy:N", title=None, sort=df["strategy"].to_list()),
            x=alt.X("gets:Q", stack="normalize", title="share of gets", axis=alt.Axis(format="%")),
            color=alt.Color(
                "answered by:N",
                scale=alt.Scale(domain=order, range=[PALETTE[2], PALETTE[0], PALETTE[3]]),
                sort=order,
            ),
            order=alt.Order("order:Q"),
            tooltip=["strategy:N", "answered by:N", alt.Tooltip("gets:Q", format=",")],
        )
        .transform_calculate(order="indexof(['L1', 'L2 (Redis)', 'neither'], datum['answered by'])")
        .properties(width=480, height=max(80, 28 * df.height), title=title)
    )


_PROFILE_LABELS = {
    "requests": ("requests (all operations)", "{:,.0f}"),
    "gets": ("gets", "{:,.0f}"),
    "sets": ("sets", "{:,.0f}"),
    "deletes": ("deletes", "{:,.0f}"),
    "objects": ("distinct objects", "{:,.0f}"),
    "working_set_bytes": ("working set", "bytes"),
    "mean_size_bytes": ("mean object size (per get)", "bytes"),
    "duration_s": ("duration", "{:,.1f} s"),
    "rate_per_s": ("requests per second", "{:,.1f}"),
    "one_hit_share": ("objects read at most once", "{:.1%}"),
    "compulsory_miss_ratio": ("first reads (no cache hits them)", "{:.1%}"),
    "ttl_share": ("requests with a TTL", "{:.1%}"),
}


def _bytes(v: float) -> str:
    for step, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if v >= step:
            return f"{v / step:,.1f} {name}"
    return f"{v:,.0f} B"


def profile_table(profile: dict[str, float | int]) -> pl.DataFrame:
    """:func:`perflab.caching.profile.describe_trace` as a two-column table to show.

    Examples
    --------
    >>> profile_table({"gets": 1200, "one_hit_share": 0.25}).rows()
    [('gets', '1,200'), ('objects read at most once', '25.0%')]
    """
    rows = []
    for key, value in profile.items():
        label, fmt = _PROFILE_LABELS.get(key, (key, "{}"))
        if value != value:  # NaN: not known for this trace
            text = "–"
        elif fmt == "bytes":
            text = _bytes(float(value))
        else:
            text = fmt.format(value)
        rows.append((label, text))
    return pl.DataFrame(rows, schema={"figure": pl.String, "value": pl.String}, orient="row")

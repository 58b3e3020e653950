"""The load-testing notebook's charts: throughput and latency over time, the latency
distribution, service against corrected latency, and a comparison's forest plot.

They build on the shared theme of :mod:`perflab.charts`. Each takes the frames of
:mod:`perflab.loadtest.schema` (anything :func:`~perflab.frames.as_frame` accepts) or,
to overlay several runs, a dict ``{label: frame}`` (or a frame with a ``run`` column);
runs are drawn in :data:`~perflab.charts.PALETTE` order. Everything is aggregated in
polars before it reaches a chart — a histogram of a million requests is ``bins`` rows
per run, a percentile curve about a hundred, a long timeline is coarsened to at most
``max_points`` windows — so reports stay small. Empty input draws a note, not an error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import polars as pl

from perflab.charts import PALETTE, Table, table
from perflab.frames import FrameLike, Schema, as_frame
from perflab.loadtest.schema import COMPARISON, REQUESTS, SUMMARY, TIMELINE
from perflab.stats import QUANTILE_METHOD

__all__ = [
    "VERDICT_COLORS",
    "comparison_chart",
    "history_chart",
    "latency_distribution",
    "latency_over_time",
    "service_vs_corrected",
    "summary_table",
    "throughput_chart",
    "tools_table",
]

VERDICT_COLORS: dict[str, str] = {
    "faster": PALETTE[2],
    "slower": PALETTE[3],
    "equivalent": "#9ca3af",
    "inconclusive": "#f59e0b",
}
"""The colour of each :data:`~perflab.loadtest.schema.VERDICTS` word in the charts."""

Drawn = alt.LayerChart | alt.FacetChart | alt.Chart
"""What the chart builders return (a note, for empty input, is a plain ``Chart``)."""

Runs = FrameLike | Mapping[str, FrameLike]
"""One frame, a frame with a ``run`` column, or ``{label: frame}`` for several runs."""

ALL = "all"
_WIDTH = 640
_FOREST_WIDTH = 520
_AXIS_LIMIT = 1.0  # the forest plot's axis stops at ±100 %
_SPECTRUM_LABELS = {1: "min", 2: "p50", 10: "p90", 100: "p99", 1000: "p99.9", 10000: "p99.99"}
_TAIL = ("p95_ms", "p99_ms", "service_p95_ms")  # kept by their max when windows merge


def _is_runs(data: object) -> bool:
    """Whether ``data`` is ``{label: frame}`` rather than a dict of columns."""
    if not isinstance(data, Mapping) or not data:
        return False
    return all(
        isinstance(v, pl.DataFrame | pl.LazyFrame | str | os.PathLike) or hasattr(v, "columns")
        for v in data.values()
    )


def _runs(data: Runs, schema: Schema) -> pl.DataFrame:
    """One frame with a ``run`` column (String) whatever form the runs came in."""
    if _is_runs(data):
        parts = [
            as_frame(frame, schema).with_columns(pl.lit(str(label)).alias("run"))
            for label, frame in data.items()
        ]
        return pl.concat(parts, how="diagonal_relaxed")
    df = as_frame(data, schema)
    if "run" in df.columns:
        return df.with_columns(pl.col("run").cast(pl.String).fill_null("–"))
    return df.with_columns(pl.lit("run").alias("run"))


def _run_scale(df: pl.DataFrame) -> alt.Scale:
    names = df["run"].unique(maintain_order=True).to_list()
    if len(names) <= len(PALETTE):
        return alt.Scale(domain=names, range=PALETTE[: len(names)])
    return alt.Scale(domain=names, scheme="tableau20")


def _empty(title: str, text: str, *, width: int = _WIDTH) -> alt.Chart:
    """A chart that only says why there is nothing to draw."""
    return (
        alt.Chart(pl.DataFrame({"text": [text]}))
        .mark_text(align="left", baseline="top", color="#6b7280", fontSize=13)
        .encode(text="text:N", x=alt.value(0), y=alt.value(8))
        .properties(width=width, height=40, title=title)
    )


def _overall(tl: pl.DataFrame) -> pl.DataFrame:
    """One row per run and window: the ``"all"`` rows, or the names merged.

    Without an ``"all"`` row, counts and rates are summed over the names and the
    percentiles are their request-weighted means (the tails: their maxima) — an
    approximation; give a timeline with ``"all"`` rows for the exact figures.
    """
    has_all = tl.filter(pl.col("name") == "all")["run"].unique()
    exact = tl.filter(pl.col("run").is_in(has_all.implode()) & (pl.col("name") == "all"))
    rest = tl.filter(~pl.col("run").is_in(has_all.implode()))
    if rest.height:
        rest = _merge(rest, ["run", "second"])
    return pl.concat([exact, rest], how="diagonal_relaxed").sort("run", "second")


def _merge(df: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    w = pl.col("requests").cast(pl.Float64)
    weight = w.filter(pl.col("p50_ms").is_not_null()).sum()
    return df.group_by(keys, maintain_order=True).agg(
        pl.col("requests").sum(),
        pl.col("errors").sum(),
        pl.col("rps").sum(),
        pl.when(weight > 0).then((pl.col("p50_ms") * w).sum() / weight).alias("p50_ms"),
        *[pl.col(c).max() for c in _TAIL],
    )


def _coarsen(df: pl.DataFrame, max_points: int) -> pl.DataFrame:
    """Merge neighbouring windows until each run has at most ``max_points`` of them."""
    runs = max(1, df["run"].n_unique())
    longest = int(df.group_by("run").len()["len"].max() or 0)  # type: ignore[arg-type]
    per_run = max(1, max_points // runs)
    if longest <= per_run:
        return df
    step = _window(df) * math.ceil(longest / per_run)
    merged = _merge(
        df.with_columns((pl.col("second") / step).floor().mul(step).alias("second")),
        ["run", "second"],
    )
    # the window is longer now: a rate is the requests over it, not a sum of rates
    return merged.with_columns((pl.col("requests") / step).alias("rps")).sort("run", "second")


def _window(df: pl.DataFrame) -> float:
    """The timeline's window length in seconds (the smallest step between windows)."""
    steps = df.sort("run", "second").select(pl.col("second").diff().over("run").alias("d"))["d"]
    positive = steps.filter(steps > 0)
    return float(positive.min()) if positive.len() else 1.0  # type: ignore[arg-type]


def _timeline(timeline: Runs, max_points: int) -> pl.DataFrame:
    tl = _runs(timeline, TIMELINE.subset("second", "name", "requests", "rps", "errors"))
    for col in ("p50_ms", *_TAIL):
        if col not in tl.columns:
            tl = tl.with_columns(pl.lit(None, pl.Float64).alias(col))
    tl = tl.filter(pl.col("second").is_not_null())
    if tl.is_empty():
        return tl
    tl = _overall(tl)
    return _coarsen(tl, max_points).with_columns(
        (pl.col("errors") * pl.col("rps") / pl.col("requests").clip(1)).alias("errors_per_s")
    )


def throughput_chart(
    timeline: Runs,
    *,
    max_points: int = 5_000,
    title: str = "Throughput over time",
) -> Drawn:
    """Requests per second over the test, with errors per second beneath.

    One run: the throughput line over a red area of errors per second. Several runs:
    one colour each, errors as a dashed line of the run's colour.

    Parameters
    ----------
    timeline : frame-like or dict of frame-like
        :data:`~perflab.loadtest.schema.TIMELINE` (``second``, ``name``, ``requests``,
        ``rps``, ``errors``): the ``"all"`` rows are drawn (the names summed when there
        is none). Several runs as ``{label: timeline}`` or a ``run`` column.
    max_points : int
        Windows per chart at most; a longer timeline is coarsened.
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart or altair.Chart
        The layered chart (errors, then the throughput line, zoomable on x); for an
        empty timeline, a ``Chart`` holding a note.

    Examples
    --------
    >>> t = pl.DataFrame({"second": [0.0, 1.0], "name": ["all"] * 2, "requests": [50, 60],
    ...     "rps": [50.0, 60.0], "errors": [0, 3]})
    >>> [layer["mark"]["type"] for layer in throughput_chart(t).to_dict()["layer"]]
    ['area', 'line']
    """
    df = _timeline(timeline, max_points)
    if df.is_empty():
        return _empty(title, "No request in the timeline: nothing to draw.")
    df = df.select("run", "second", "requests", "rps", "errors", "errors_per_s")
    several = df["run"].n_unique() > 1
    scale = _run_scale(df)
    x = alt.X("second:Q", title="seconds into the test")
    tooltip = [
        alt.Tooltip("run:N"),
        alt.Tooltip("second:Q", title="second", format=",.0f"),
        alt.Tooltip("rps:Q", title="requests/s", format=",.1f"),
        alt.Tooltip("errors_per_s:Q", title="errors/s", format=",.1f"),
        alt.Tooltip("requests:Q", format=","),
        alt.Tooltip("errors:Q", format=","),
    ]
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    base = alt.Chart(df).encode(x=x, tooltip=tooltip)
    line = base.mark_line(strokeWidth=1.6).encode(
        y=alt.Y("rps:Q", title="requests / s"),
        color=alt.Color("run:N", scale=scale, title=None, legend=alt.Legend() if several else None),
    )
    if several:
        errors = base.mark_line(strokeWidth=1.2, strokeDash=[4, 3]).encode(
            y="errors_per_s:Q", color=alt.Color("run:N", scale=scale)
        )
        layers = [line.add_params(zoom), errors]
    else:
        errors = base.mark_area(color=PALETTE[3], opacity=0.45).encode(y="errors_per_s:Q")
        layers = [errors, line.add_params(zoom)]
    subtitle = "errors / s: " + ("dashed" if several else "red area")
    return alt.layer(*layers).properties(
        width=_WIDTH, height=220, title=alt.TitleParams(title, subtitle=subtitle)
    )


def latency_over_time(
    timeline: Runs,
    *,
    percentiles: Sequence[str] = ("p50", "p95", "p99"),
    service: bool = True,
    log: bool = False,
    max_points: int = 5_000,
    title: str = "Latency over time",
) -> Drawn:
    """The latency percentiles of each window, with the service p95 dashed.

    One run: a colour per percentile and the service p95 (sent to answer, what a
    closed-loop tool would have reported) as a dashed grey line when the timeline has
    it. Several runs: a colour per run and a dash per percentile.

    Parameters
    ----------
    timeline : frame-like or dict of frame-like
        :data:`~perflab.loadtest.schema.TIMELINE` (``p50_ms``, ``p95_ms``, ``p99_ms``,
        ``service_p95_ms``), one or several runs.
    percentiles : sequence of str
        Which of ``p50``, ``p95``, ``p99`` to draw.
    service : bool
        Draw the service p95 too (one run only).
    log : bool
        A log latency axis, for runs whose stalls dwarf the median.
    max_points : int
        Windows per chart at most; a longer timeline is coarsened (a window's tail
        percentiles kept at their maximum).
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart or altair.Chart
        One layer of lines (zoomable on x); for a timeline without requests or
        without latency percentiles, a ``Chart`` holding a note.

    Examples
    --------
    >>> t = pl.DataFrame({"second": [0.0, 1.0], "name": ["all"] * 2, "requests": [5, 6],
    ...     "rps": [5.0, 6.0], "errors": [0, 0], "p50_ms": [2.0, 2.1], "p95_ms": [4.0, 9.0],
    ...     "p99_ms": [6.0, 30.0], "service_p95_ms": [4.0, 4.2]})
    >>> spec = latency_over_time(t).to_dict()
    >>> spec["layer"][0]["encoding"]["color"]["scale"]["domain"]
    ['p50', 'p95', 'p99', 'service p95']
    """
    df = _timeline(timeline, max_points)
    if df.is_empty():
        return _empty(title, "No request in the timeline: nothing to draw.")
    several = df["run"].n_unique() > 1
    cols = {f"{p}_ms": p for p in percentiles}
    if service and not several and df["service_p95_ms"].drop_nulls().len():
        cols["service_p95_ms"] = "service p95"
    long = (
        df.select("run", "second", "requests", *cols)
        .unpivot(index=["run", "second", "requests"], variable_name="percentile", value_name="ms")
        .with_columns(pl.col("percentile").replace_strict(cols))
        .filter(pl.col("ms").is_not_null())
    )
    if long.is_empty():
        return _empty(title, "The timeline holds no latency percentiles.")
    names = list(cols.values())
    dashes = {"p50": [1, 0], "p95": [6, 3], "p99": [2, 2], "service p95": [5, 4]}
    tooltip = [
        alt.Tooltip("run:N"),
        alt.Tooltip("second:Q", format=",.0f"),
        alt.Tooltip("percentile:N"),
        alt.Tooltip("ms:Q", title="latency (ms)", format=",.1f"),
        alt.Tooltip("requests:Q", format=","),
    ]
    y = alt.Y(
        "ms:Q",
        title="latency (ms" + (", log scale)" if log else ")"),
        scale=alt.Scale(type="log") if log else alt.Scale(zero=True),
    )
    dash = alt.StrokeDash(
        "percentile:N",
        scale=alt.Scale(domain=names, range=[dashes[n] for n in names]),
        title=None,
    )
    if several:
        color = alt.Color("run:N", scale=_run_scale(long), title=None)
        enc: dict[str, Any] = {"color": color, "strokeDash": dash, "detail": "run:N"}
    else:
        palette = {
            "p50": PALETTE[0],
            "p95": PALETTE[1],
            "p99": PALETTE[3],
            "service p95": "#6b7280",
        }
        color = alt.Color(
            "percentile:N",
            scale=alt.Scale(domain=names, range=[palette[n] for n in names]),
            title=None,
        )
        enc = {"color": color, "strokeDash": dash}
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    lines = (
        alt.Chart(long)
        .mark_line(strokeWidth=1.5)
        .encode(x=alt.X("second:Q", title="seconds into the test"), y=y, tooltip=tooltip, **enc)
        .add_params(zoom)
    )
    return alt.layer(lines).properties(width=_WIDTH, height=240, title=title)


def _requests(results: Runs, *columns: str) -> pl.DataFrame:
    """The runs' requests with ``columns``: ``latency_ms`` required, the others null
    when the tool does not record them."""
    df = _runs(results, REQUESTS.subset("latency_ms"))
    return df.with_columns(
        pl.lit(None, REQUESTS.columns[c]).alias(c) for c in columns if c not in df.columns
    )


def latency_distribution(
    results: Runs,
    *,
    value: str = "latency_ms",
    kind: str = "histogram",
    bins: int = 60,
    marks: Sequence[float] = (0.5, 0.95, 0.99),
    title: str = "Latency distribution",
) -> Drawn:
    """The requests' latency as a log-x histogram (or ECDF), percentiles marked.

    The histogram is binned in polars on log-spaced edges shared by every run, so the
    chart holds ``bins`` rows per run whatever the number of requests; failed requests
    (no latency) are left out. Requests of 0 ms (a tool's resolution is often 1 ms)
    cannot sit on a log axis: they go in a floor bin at the left edge (the ECDF starts
    there), so the shares add up to 100 %. Vertical rules mark the ``marks``
    percentiles of each run, of every latency as :func:`~perflab.loadtest.summary`
    computes them (a percentile of 0 ms is drawn at the floor).

    Parameters
    ----------
    results : frame-like or dict of frame-like
        :data:`~perflab.loadtest.schema.REQUESTS`, one or several runs.
    value : str
        ``latency_ms`` (corrected, from the intended start) or ``service_ms``.
    kind : {"histogram", "ecdf"}
        Share of requests per bin, or the share at or below each latency.
    bins : int
        Bins of the histogram (points of the ECDF: ``4 × bins``).
    marks : sequence of float
        Quantiles to mark with a rule.
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart or altair.Chart
        The curve (zoomable on x), and with ``marks`` a rule and a label per run and
        quantile; for input with no latency, a ``Chart`` holding a note.

    Raises
    ------
    ValueError
        ``kind`` is neither ``"histogram"`` nor ``"ecdf"``.

    Examples
    --------
    >>> r = pl.DataFrame({"latency_ms": [float(i % 50 + 1) for i in range(1000)]})
    >>> spec = latency_distribution(r, bins=20).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['area', 'rule', 'text']
    >>> sorted(len(rows) for rows in spec["datasets"].values())  # 3 marks, 20 bins + an end
    [3, 21]
    """
    if kind not in ("histogram", "ecdf"):
        raise ValueError(f"kind must be 'histogram' or 'ecdf', not {kind!r}")
    df = _requests(results, value).select("run", pl.col(value).alias("ms"))
    # every latency counts (a 0 ms request is a request): the marks and shares are of
    # all of them, as in summary(); the log axis shows those ≤ 0 in a floor bin
    df = df.filter(pl.col("ms").is_not_null() & pl.col("ms").is_not_nan())
    if df.is_empty():
        return _empty(title, "No request with a latency: nothing to draw.")
    scale = _run_scale(df)
    several = df["run"].n_unique() > 1
    color = alt.Color("run:N", scale=scale, title=None, legend=alt.Legend() if several else None)
    positive = df["ms"].filter((df["ms"] > 0) & df["ms"].is_finite())
    if positive.is_empty():  # nothing but 0 ms: an axis from 1 to 10 ms, the floor bin left
        lo, hi = 0.0, 1.0
    else:
        lo = math.log10(float(positive.min()))  # type: ignore[arg-type]
        hi = math.log10(float(positive.max()))  # type: ignore[arg-type]
    width = max(hi - lo, 1e-9) / bins
    floor_ms = 10 ** (lo - width)  # where the floor bin starts: latencies ≤ 0 are drawn there
    has_floor = bool((df["ms"] <= 0).any())
    x_title = f"{value} (log scale)"
    if kind == "histogram":
        data = (
            df.with_columns(
                pl.when(pl.col("ms") <= 0)
                .then(-1)
                .otherwise(
                    ((pl.col("ms").log10() - lo) / width).floor().clip(0, bins - 1).cast(pl.Int32)
                )
                .cast(pl.Int32)
                .alias("bin")
            )
            .group_by("run", "bin")
            .agg(pl.len().alias("requests"))
        )
        # every bin of every run, empty ones at zero, so a step never spans a gap
        first = -1 if has_floor else 0
        grid = df.select(pl.col("run").unique(maintain_order=True)).join(
            pl.DataFrame({"bin": pl.int_range(first, bins + 1, dtype=pl.Int32, eager=True)}),
            how="cross",
        )
        data = (
            grid.join(data, on=["run", "bin"], how="left")
            .with_columns(pl.col("requests").fill_null(0))
            .with_columns(
                (10 ** (lo + pl.col("bin") * width)).alias("from_ms"),
                (10 ** (lo + (pl.col("bin") + 1) * width)).alias("to_ms"),
                (pl.col("requests") / pl.col("requests").sum().over("run")).alias("share"),
            )
            .with_columns(
                pl.when(pl.col("bin") < 0)
                .then(pl.lit("≤ 0"))
                .otherwise(
                    pl.concat_str(
                        pl.col("from_ms").round_sig_figs(3).cast(pl.String),
                        pl.lit("–"),
                        pl.col("to_ms").round_sig_figs(3).cast(pl.String),
                    )
                )
                .alias("range_ms")
            )
            .sort("run", "bin")
        )  # the row of bin ``bins`` (always empty) closes the last step at its edge
        curve = (
            alt.Chart(data)
            .mark_area(interpolate="step-after", opacity=0.35 if several else 0.6, line=True)
            .encode(
                x=alt.X("from_ms:Q", scale=alt.Scale(type="log"), title=x_title),
                y=alt.Y(
                    "share:Q", axis=alt.Axis(format="%"), title="share of requests", stack=None
                ),
                color=color,
                tooltip=[
                    alt.Tooltip("run:N"),
                    alt.Tooltip("range_ms:N", title="latency (ms)"),
                    alt.Tooltip("requests:Q", format=","),
                    alt.Tooltip("share:Q", format=".2%"),
                ],
            )
        )
    else:
        qs = np.linspace(0.0, 1.0, 4 * bins + 1)
        data = (
            _quantile_frame(df, "ms", qs)
            .rename({"value": "ms"})
            .with_columns(pl.max_horizontal("ms", pl.lit(floor_ms)).alias("x_ms"))
        )
        curve = (
            alt.Chart(data)
            .mark_line(interpolate="step-after", strokeWidth=1.6)
            .encode(
                x=alt.X("x_ms:Q", scale=alt.Scale(type="log"), title=x_title),
                y=alt.Y("q:Q", axis=alt.Axis(format="%"), title="share of requests at or below"),
                color=color,
                tooltip=[
                    alt.Tooltip("run:N"),
                    alt.Tooltip("ms:Q", format=",.2f"),
                    alt.Tooltip("q:Q", title="share at or below", format=".1%"),
                ],
            )
        )
    layers: list[Any] = [curve.add_params(alt.selection_interval(bind="scales", encodings=["x"]))]
    if marks:
        runs = {r: i for i, r in enumerate(df["run"].unique(maintain_order=True).to_list())}
        pts = _quantile_frame(df, "ms", np.asarray(marks, dtype=float))
        pts = pts.with_columns(
            pl.max_horizontal("value", pl.lit(floor_ms)).alias("x_ms"),  # 0 ms: the floor
            pl.col("q").map_elements(_pct_label, return_dtype=pl.String).alias("label"),
            # one label row per run and mark, so close percentiles do not print over each other
            (
                4
                + 12
                * (
                    pl.col("run").replace_strict(runs, return_dtype=pl.Int64) * len(marks)
                    + pl.int_range(pl.len()).over("run")
                )
            ).alias("y_px"),
        ).with_columns(
            pl.concat_str(
                [pl.col("label"), pl.lit(" "), pl.col("value").round_sig_figs(3).cast(pl.String)]
            ).alias("text")
        )
        rule = (
            alt.Chart(pts)
            .mark_rule(strokeDash=[3, 3])
            .encode(
                x=alt.X("x_ms:Q"),
                color=alt.Color("run:N", scale=scale),
                tooltip=[
                    alt.Tooltip("run:N"),
                    alt.Tooltip("label:N", title="percentile"),
                    alt.Tooltip("value:Q", title="ms", format=",.2f"),
                ],
            )
        )
        text = (
            alt.Chart(pts)
            .mark_text(align="left", dx=3, fontSize=10, baseline="top")
            .encode(
                x="x_ms:Q",
                y=alt.Y("y_px:Q", scale=None),
                text="text:N",
                color=alt.Color("run:N", scale=scale),
            )
        )
        layers += [rule, text]
    notes = ["dotted rules: " + ", ".join(_pct_label(q) for q in marks)] if marks else []
    if has_floor:
        notes.append("the leftmost " + ("bin" if kind == "histogram" else "step") + ": ≤ 0 ms")
    subtitle = "; ".join(notes)
    return alt.layer(*layers).properties(
        width=_WIDTH, height=240, title=alt.TitleParams(title, subtitle=subtitle)
    )


def _pct_label(q: float) -> str:
    """``0.5`` → ``p50``, ``0.999`` → ``p99.9``."""
    return "p" + format(round(q * 100, 3), "g")


def _quantile_frame(df: pl.DataFrame, col: str, qs: np.ndarray) -> pl.DataFrame:
    """Per run, the ``qs`` quantiles of ``col`` (linear method): ``run, q, value``.

    One sort per run (numpy), however many quantiles.
    """
    parts = []
    for (run,), part in df.group_by("run", maintain_order=True):
        values = part[col].drop_nulls().to_numpy()
        if values.size == 0:
            continue
        parts.append(
            pl.DataFrame(
                {
                    "run": str(run),
                    "q": qs,
                    "value": np.quantile(values, qs, method=QUANTILE_METHOD),
                },
                schema={"run": pl.String, "q": pl.Float64, "value": pl.Float64},
            ).with_columns(pl.col("value").round_sig_figs(4))
        )
    if not parts:
        return pl.DataFrame(schema={"run": pl.String, "q": pl.Float64, "value": pl.Float64})
    return pl.concat(parts)


def _spectrum_qs(n: int, *, points_per_decade: int = 20, max_nines: int = 4) -> np.ndarray:
    """Quantiles spaced evenly in log(1/(1−q)), up to what ``n`` requests can show."""
    top = min(float(max_nines), math.log10(max(n, 2)))
    k = np.arange(int(top * points_per_decade) + 1) / points_per_decade
    # the named percentiles exactly (p50, p90, p99 …), and the deepest one n resolves
    named = [math.log10(2), *range(1, max_nines + 1)]
    k = np.unique(np.concatenate([k, [v for v in named if v <= top], [top]]))
    return 1.0 - 10.0 ** (-k)


def service_vs_corrected(
    results: Runs,
    *,
    max_nines: int = 4,
    title: str = "Service time against corrected latency",
) -> Drawn:
    """The percentile spectrum of the same requests' service and corrected latency.

    The x axis is ``1/(1−q)`` on a log scale, as in HdrHistogram's plots: the minimum
    sits at 1, p50 at 2, p90 at 10, p99 at 100 — each further nine one decade on — so
    the tail gets the room it deserves. The
    service time (``service_ms``, from the actual send) is what a closed-loop tool —
    wrk, Locust, JMeter, ab — reports; the corrected latency (``latency_ms``, from the
    intended start) also counts the wait of requests the stalled server held back.
    The shaded gap between the curves (one run) is what coordinated omission hides.

    The quantiles of each run start at the minimum (q = 0) and are evenly spaced on
    that axis, 20 per decade of ``1/(1−q)``, with p50, p90, p99, p99.9… added exactly;
    they stop at the deepest one the run's ``n`` requests support, ``q = 1 − 1/n``
    (p99.9 for 1,000 requests), and never beyond ``1 − 10^−max_nines``. Each is
    computed over the requests that have both times, with the linear method of
    :func:`~perflab.loadtest.summary`.

    Parameters
    ----------
    results : frame-like or dict of frame-like
        :data:`~perflab.loadtest.schema.REQUESTS` with ``latency_ms`` and
        ``service_ms``, one or several runs (a colour each, service dashed).
    max_nines : int
        The deepest percentile drawn: 4 for p99.99 (reached with 10,000 requests).
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart or altair.Chart
        The shaded gap (one run) and a line per measure (per run and measure for
        several runs); when no request has both times, a ``Chart`` holding a note.

    Examples
    --------
    >>> r = pl.DataFrame({"latency_ms": [float(i) for i in range(1, 1001)],
    ...                   "service_ms": [float(i) / 2 for i in range(1, 1001)]})
    >>> spec = service_vs_corrected(r).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['area', 'line']
    >>> spec["layer"][1]["encoding"]["x"]["scale"]["type"]
    'log'
    """
    df = _requests(results, "latency_ms", "service_ms").filter(
        pl.col("latency_ms").is_not_null() & pl.col("service_ms").is_not_null()
    )
    if df.is_empty():
        return _empty(
            title,
            "No request has both a service time and a corrected latency "
            "(the tool measured only from the send): nothing to compare.",
        )
    parts = []
    for (run,), part in df.group_by("run", maintain_order=True):
        qs = _spectrum_qs(part.height, max_nines=max_nines)
        parts.append(
            pl.DataFrame(
                {
                    "run": str(run),
                    "q": qs,
                    "x": 1.0 / (1.0 - qs),
                    "corrected": np.quantile(
                        part["latency_ms"].to_numpy(), qs, method=QUANTILE_METHOD
                    ),
                    "service": np.quantile(
                        part["service_ms"].to_numpy(), qs, method=QUANTILE_METHOD
                    ),
                }
            ).with_columns(pl.col("corrected", "service").round_sig_figs(4))
        )
    wide = pl.concat(parts).with_columns(
        pl.col("q").map_elements(_pct_label, return_dtype=pl.String).alias("percentile")
    )
    long = wide.unpivot(
        index=["run", "q", "x", "percentile"],
        on=["service", "corrected"],
        variable_name="measure",
        value_name="ms",
    ).with_columns(
        pl.col("measure").replace_strict(
            {"service": "service (from the send)", "corrected": "corrected (from the schedule)"}
        )
    )
    measures = ["corrected (from the schedule)", "service (from the send)"]
    deepest = float(wide["x"].max())  # type: ignore[arg-type]
    ticks = [v for v in _SPECTRUM_LABELS if v <= deepest * 1.0001]
    label = " : ".join(f"datum.value == {v} ? '{t}'" for v, t in _SPECTRUM_LABELS.items())
    x = alt.X(
        "x:Q",
        scale=alt.Scale(type="log"),
        title="percentile",
        axis=alt.Axis(values=ticks, labelExpr=f"{label} : ''", grid=True),
    )
    y = alt.Y("ms:Q", title="latency (ms, log scale)", scale=alt.Scale(type="log"))
    tooltip = [
        alt.Tooltip("run:N"),
        alt.Tooltip("percentile:N"),
        alt.Tooltip("measure:N"),
        alt.Tooltip("ms:Q", format=",.2f"),
    ]
    several = wide["run"].n_unique() > 1
    dash = alt.StrokeDash(
        "measure:N", scale=alt.Scale(domain=measures, range=[[1, 0], [5, 3]]), title=None
    )
    if several:
        enc: dict[str, Any] = {
            "color": alt.Color("run:N", scale=_run_scale(wide), title=None),
            "strokeDash": dash,
            "detail": "run:N",
        }
    else:
        enc = {
            "color": alt.Color(
                "measure:N", scale=alt.Scale(domain=measures, range=[PALETTE[3], PALETTE[0]])
            ),
            "strokeDash": dash,
        }
    lines = alt.Chart(long).mark_line(strokeWidth=1.8).encode(x=x, y=y, tooltip=tooltip, **enc)
    layers: list[Any] = [lines]
    if not several:
        gap = (
            alt.Chart(wide)
            .mark_area(color=PALETTE[3], opacity=0.12)
            .encode(x=x, y=alt.Y("service:Q", scale=alt.Scale(type="log")), y2="corrected:Q")
        )
        layers.insert(0, gap)
    return alt.layer(*layers).properties(
        width=_WIDTH,
        height=280,
        title=alt.TitleParams(
            title,
            subtitle="the gap is the waiting a closed-loop tool (wrk, Locust, ab) never records",
        ),
    )


def comparison_chart(
    comparison: FrameLike,
    *,
    title: str = "Candidate against baseline",
) -> Drawn:
    """A forest plot of :func:`perflab.loadtest.compare`: each metric's change and CI.

    One row per metric: a point at the change, a bar over its confidence interval,
    coloured by verdict (faster green, slower red, equivalent grey, inconclusive
    amber), over a shaded band of ±``margin`` — the changes too small to matter — and
    a rule at no change; each change is written right of the plot. ``change``,
    ``ci_low``, ``ci_high`` and ``margin`` are relative (0.1 = +10 %). The axis stops at
    ±100 %: a longer bar is cut at the edge. A change from a baseline of 0 (infinite)
    has only its label, "from 0".

    Parameters
    ----------
    comparison : frame-like
        :data:`~perflab.loadtest.schema.COMPARISON` (with a ``name`` column, from
        ``compare(by="name")``, each row is labelled ``name · metric``).
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart or altair.Chart
        The margin band, the zero rule, the intervals, the points and the labels;
        for an empty comparison, a ``Chart`` holding a note.

    Examples
    --------
    >>> c = pl.DataFrame({"metric": ["p95_ms", "rps"], "unit": ["ms", "1/s"],
    ...     "baseline": [10.0, 100.0], "candidate": [12.0, 99.0], "change": [0.2, -0.01],
    ...     "ci_low": [0.1, -0.03], "ci_high": [0.3, 0.01], "p_value": [0.001, 0.5],
    ...     "p_adjusted": [0.002, 0.5], "margin": [0.05, 0.05],
    ...     "verdict": ["slower", "equivalent"]})
    >>> [layer["mark"]["type"] for layer in comparison_chart(c).to_dict()["layer"]]
    ['rect', 'rule', 'rule', 'point', 'text']
    """
    df = as_frame(comparison, COMPARISON)
    if "name" in df.columns:  # compare(by="name"): one row per name and metric
        df = df.with_columns(
            pl.concat_str([pl.col("name").fill_null("–"), pl.lit(" · "), pl.col("metric")]).alias(
                "metric"
            )
        )
    if df.is_empty():
        return _empty(title, "No metric was compared.")
    order = df["metric"].to_list()
    finite = pl.col("change").is_finite()
    df = df.with_columns(
        pl.col("verdict").fill_null("inconclusive"),
        pl.col("margin").fill_null(0.0).abs(),
        # a change from a baseline of 0 is infinite: no place on the axis, only a label
        pl.when(finite)
        .then(pl.format("{}%", (pl.col("change") * 100).round(1)))
        .when(pl.col("change").is_infinite())
        .then(pl.lit("from 0"))
        .otherwise(pl.lit("–"))
        .str.replace(r"^(\d)", "+$1")
        .alias("label"),
        *[
            pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c)
            for c in ("change", "ci_low", "ci_high")
        ],
        pl.concat_str(
            [
                pl.col("baseline").round_sig_figs(4).cast(pl.String),
                pl.lit(" → "),
                pl.col("candidate").round_sig_figs(4).cast(pl.String),
                pl.lit(" "),
                pl.col("unit").fill_null(""),
            ]
        ).alias("values"),
    )
    y = alt.Y("metric:N", sort=order, title=None)
    color = alt.Color(
        "verdict:N",
        scale=alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values())),
        title=None,
    )
    tooltip = [
        alt.Tooltip("metric:N"),
        alt.Tooltip("values:N", title="baseline → candidate"),
        alt.Tooltip("change:Q", format="+.1%"),
        alt.Tooltip("ci_low:Q", title="CI low", format="+.1%"),
        alt.Tooltip("ci_high:Q", title="CI high", format="+.1%"),
        alt.Tooltip("margin:Q", title="± margin", format=".1%"),
        alt.Tooltip("p_adjusted:Q", title="p (adjusted)", format=".3g"),
        alt.Tooltip("verdict:N"),
    ]
    band = (
        alt.Chart(df)
        .transform_calculate(lo="-datum.margin")
        .mark_rect(color="#e5e7eb", opacity=0.7, clip=True)
        .encode(x="lo:Q", x2="margin:Q", y=y)
    )
    # the axis reaches ±100 % at most: a bar beyond is cut at the edge, its label says all
    values = pl.concat(
        [df["change"], df["ci_low"], df["ci_high"], df["margin"] * 1.5, -df["margin"] * 1.5]
    ).drop_nulls()
    lo = max(float(values.min()), -_AXIS_LIMIT)  # type: ignore[arg-type]
    hi = min(float(values.max()), _AXIS_LIMIT)  # type: ignore[arg-type]
    pad = 0.05 * max(hi - lo, 1e-6)
    x = alt.X(
        "ci_low:Q",
        title="change against the baseline",
        axis=alt.Axis(format="+%"),
        scale=alt.Scale(domain=[lo - pad, hi + pad], nice=False),
    )
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="#6b7280").encode(x="x:Q")
    ci = (
        alt.Chart(df)
        .mark_rule(strokeWidth=3, clip=True)
        .encode(
            x=x,
            x2="ci_high:Q",
            y=y,
            color=color,
            tooltip=tooltip,
        )
    )
    point = (
        alt.Chart(df)
        .mark_point(filled=True, size=70, shape="diamond", clip=True)
        .encode(x="change:Q", y=y, color=color, tooltip=tooltip)
    )
    label = (
        alt.Chart(df)
        .mark_text(align="left", dx=8, fontSize=11)
        .encode(x=alt.value(_FOREST_WIDTH), y=y, text="label:N", color=color, tooltip=tooltip)
    )
    return alt.layer(band, zero, ci, point, label).properties(
        width=_FOREST_WIDTH,
        height=max(60, 28 * df.height),
        title=alt.TitleParams(
            title, subtitle="bars: confidence interval · grey band: ± the margin that matters"
        ),
    )


_SUMMARY_COLUMNS = (
    "name",
    "requests",
    "errors",
    "error_rate",
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "service_p99_ms",
)


def summary_table(summary: FrameLike, *, caption: str = "", max_rows: int = 50) -> Table:
    """:data:`~perflab.loadtest.schema.SUMMARY` as the notebook's table.

    The columns a reader scans first (``"all"`` on top); the error rate in percent.

    Parameters
    ----------
    summary : frame-like
        :func:`perflab.loadtest.summary` output (``name`` required; absent columns
        are left out). Columns outside the schema (a ``run``, say) come first.
    caption : str
        The table's caption.
    max_rows : int
        Rows shown at most.

    Returns
    -------
    perflab.charts.Table
        The table (its frame as ``.df``), ``error_rate`` renamed ``error %``.

    Examples
    --------
    >>> s = pl.DataFrame({"name": ["GET /"], "requests": [10], "errors": [1],
    ...     "error_rate": [0.1], "rps": [5.0], "p50_ms": [2.0]})
    >>> summary_table(s).df.columns
    ['name', 'requests', 'errors', 'error %', 'rps', 'p50_ms']
    """
    df = as_frame(summary, SUMMARY.subset("name"))
    keep = [c for c in _SUMMARY_COLUMNS if c in df.columns]
    extra = [c for c in df.columns if c not in keep and c not in SUMMARY.names]
    df = df.select(*extra, *keep).sort(pl.col("name") != "all", maintain_order=True)
    if "error_rate" in df.columns:
        df = df.with_columns((pl.col("error_rate") * 100).alias("error_rate")).rename(
            {"error_rate": "error %"}
        )
    return table(df, caption=caption, max_rows=max_rows)


def _tool_row(label: str, frame: FrameLike) -> dict[str, Any]:
    from perflab.loadtest.aggregate import summary

    df = as_frame(frame)
    if "second" in df.columns and "latency_ms" not in df.columns:  # a timeline
        tl = TIMELINE.conform(df, required=["second", "name", "requests"])
        tl = tl.filter(pl.col("name") == ALL) if (tl["name"] == ALL).any() else tl
        total = int(tl["requests"].sum())
        return {
            "tool": label,
            "data": "timeline",
            "requests": total,
            # the mean rate over the windows (of the names, summed)
            "rps": tl.group_by("second").agg(pl.col("rps").sum())["rps"].mean(),
            "error_rate": tl["errors"].sum() / total if total else None,
        }
    per_request = "latency_ms" in df.columns
    row = summary(df, by=None).row(0, named=True) if df.height else {}
    if per_request:
        timed = df.filter(pl.col("latency_ms").is_not_null())
        corrected = (
            (
                "service_ms" in df.columns
                and timed.select(
                    (pl.col("latency_ms") - pl.col("service_ms").fill_null(pl.col("latency_ms")))
                    .abs()
                    .max()
                ).item()
            )
            or 0
        ) > 1e-6
        data = "per request" + (", corrected" if corrected else "")
    else:
        data = "summary"
    return {"tool": label, "data": data, **{k: row.get(k) for k in _TOOL_COLUMNS}}


_TOOL_COLUMNS = ("requests", "rps", "error_rate", "p50_ms", "p95_ms", "p99_ms", "max_ms")


def tools_table(results: Mapping[str, FrameLike], *, caption: str = "") -> Table:
    """What each tool's result file says, side by side: one row per tool.

    Each frame is what :func:`perflab.loadtest.read_results` returned: per-request
    results and summaries through :func:`perflab.loadtest.summary` (its ``"all"``
    row), a timeline (Locust's history) as its totals. ``data`` says what the tool
    recorded: ``per request`` (``corrected`` when its latency counts from the
    schedule, not the send), ``summary`` or ``timeline``.

    Parameters
    ----------
    results : mapping of str to frame-like
        Tool label → its REQUESTS, SUMMARY or TIMELINE frame (the output of
        :func:`perflab.loadtest.read_folder`, say).
    caption : str
        The table's caption.

    Returns
    -------
    perflab.charts.Table
        One row per tool, in the mapping's order: ``tool``, ``data``, ``requests``,
        ``rps``, ``error %``, ``p50_ms``, ``p95_ms``, ``p99_ms``, ``max_ms`` (null
        where the tool's data does not tell).

    Examples
    --------
    >>> t = tools_table({"hey": {"start": [0.0, 0.5, 1.0], "latency_ms": [2.0, 3.0, 9.0]},
    ...     "wrk": {"name": ["all"], "requests": [900], "p50_ms": [4.5]}})
    >>> t.df.select("tool", "data", "requests", "p50_ms").rows()
    [('hey', 'per request', 3, 3.0), ('wrk', 'summary', 900, 4.5)]
    """
    rows = [_tool_row(str(label), frame) for label, frame in results.items()]
    schema = {"tool": pl.String, "data": pl.String, **SUMMARY.dtypes()}
    df = (
        pl.DataFrame(
            rows, schema={c: schema[c] for c in ("tool", "data", *_TOOL_COLUMNS)}, orient="row"
        )
        if rows
        else pl.DataFrame(schema={c: schema[c] for c in ("tool", "data", *_TOOL_COLUMNS)})
    )
    df = df.with_columns((pl.col("error_rate") * 100).alias("error_rate")).rename(
        {"error_rate": "error %"}
    )
    return table(df, caption=caption)


def history_chart(
    history: FrameLike,
    changes: FrameLike | None = None,
    *,
    metrics: Sequence[str] = ("p95_ms", "p50_ms", "error_rate"),
    title: str = "Across runs: where the level changed",
) -> Drawn | alt.VConcatChart:
    """Metrics of a history of runs, one panel each, with the change points marked.

    Parameters
    ----------
    history : frame-like
        One row per run: ``run``, ``time`` (datetime or number) and metric columns —
        the input of :func:`perflab.loadtest.run_changes`.
    changes : frame-like, optional
        :func:`~perflab.loadtest.run_changes`' output: a rule at each change point,
        red when the shift is for the worse.
    metrics : sequence of str
        The columns to draw (those absent are skipped).
    title : str
        The title, over the first panel (the others are titled by their metric).

    Returns
    -------
    altair.VConcatChart or altair.Chart
        One panel per metric drawn, stacked; without rows, metric columns or a
        ``time`` column, a ``Chart`` holding a note.

    Examples
    --------
    >>> from perflab.loadtest.samples import history
    >>> len(history_chart(history()).to_dict()["vconcat"])  # one panel per metric
    3
    """
    df = as_frame(history)
    present = [m for m in metrics if m in df.columns]
    if df.is_empty() or not present or "time" not in df.columns:
        return _empty(title, "No history of runs to draw.")
    cp = as_frame(changes) if changes is not None else pl.DataFrame()
    panels = []
    for i, metric in enumerate(present):
        data = df.select("run", "time", pl.col(metric).cast(pl.Float64).alias("value"))
        base = alt.Chart(data).encode(
            x=alt.X("time", title=None),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            tooltip=["run", "time", alt.Tooltip("value:Q", format=",.4g")],
        )
        line = base.mark_line(color=PALETTE[0]) + base.mark_point(color=PALETTE[0], filled=True)
        layer: Any = line
        if not cp.is_empty() and "metric" in cp.columns:
            marks = cp.filter(pl.col("metric") == metric).select("run", "time", "direction")
            if marks.height:
                rules = (
                    alt.Chart(marks)
                    .mark_rule(strokeDash=[4, 3], strokeWidth=2)
                    .encode(
                        x="time",
                        color=alt.Color(
                            "direction:N",
                            scale=alt.Scale(
                                domain=["worse", "better"], range=[PALETTE[3], PALETTE[2]]
                            ),
                            title="change",
                        ),
                        tooltip=["run", "direction"],
                    )
                )
                layer = line + rules
        panels.append(layer.properties(width=_WIDTH, height=110, title=metric if i else title))
    return alt.vconcat(*panels)

"""The bundles notebook's charts: a treemap of where the bytes go, initial vs async per
entry, and a diff's changes.

Altair has no treemap mark, so :func:`treemap` lays the rectangles out in Python — the
squarified algorithm of Bruls, Huizing and van Wijk (2000): chunks side by side, the
packages inside each chunk, the modules inside each package — and draws them as
``mark_rect`` with ``x``/``x2``/``y``/``y2`` and tooltips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import altair as alt
import polars as pl

from perflab.charts import PALETTE

if TYPE_CHECKING:
    from perflab.bundles.diff import BundleDiff
    from perflab.bundles.model import Bundle

__all__ = ["STATUS_COLORS", "diff_bars", "initial_vs_async", "squarify", "treemap"]

STATUS_COLORS = {
    "added": "#dc2626",
    "grown": "#f97316",
    "unchanged": "#9ca3af",
    "shrunk": "#16a34a",
    "removed": "#2563eb",
}
"""The colour of each :class:`~perflab.bundles.diff.BundleDiff` status."""

Rect = tuple[float, float, float, float]


def _worst(row: Sequence[float], side: float) -> float:
    total = sum(row)
    if total <= 0 or side <= 0:
        return float("inf")
    return max(
        max(side * side * r / (total * total), (total * total) / (side * side * r)) for r in row
    )


def squarify(values: Sequence[float], x: float, y: float, w: float, h: float) -> list[Rect]:
    """Rectangles ``(x0, y0, x1, y1)`` tiling ``(x, y, w, h)`` with areas ∝ ``values``.

    ``values`` should be sorted biggest first (the squarified layout's assumption);
    zero and negative values get empty rectangles.

    Examples
    --------
    >>> [tuple(round(c, 1) for c in r) for r in squarify([6, 6, 4, 3, 2, 2, 1], 0, 0, 6, 4)][:2]
    [(0, 0, 3.0, 2.0), (0, 2.0, 3.0, 4.0)]
    """
    total = float(sum(v for v in values if v > 0))
    out: list[Rect] = [(x, y, x, y)] * len(values)
    if total <= 0 or w <= 0 or h <= 0:
        return out
    scale = w * h / total
    items = [(i, v * scale) for i, v in enumerate(values) if v > 0]
    while items:
        side = min(w, h)
        row = [items[0]]
        k = 1
        while k < len(items):
            trial = [*row, items[k]]
            if _worst([a for _, a in trial], side) > _worst([a for _, a in row], side):
                break
            row = trial
            k += 1
        items = items[k:]
        area = sum(a for _, a in row)
        if w >= h:  # a column on the left
            cw = area / h if h else 0.0
            cy = y
            for i, a in row:
                ch = a / cw if cw else 0.0
                out[i] = (x, cy, x + cw, cy + ch)
                cy += ch
            x, w = x + cw, w - cw
        else:  # a row along the top
            rh = area / w if w else 0.0
            cx = x
            for i, a in row:
                cw2 = a / rh if rh else 0.0
                out[i] = (cx, y, cx + cw2, y + rh)
                cx += cw2
            y, h = y + rh, h - rh
    return out


def treemap(
    bundle: Bundle,
    *,
    size: str = "size_bytes",
    top_packages: int = 8,
    max_modules: int = 400,
    width: int = 900,
    height: int = 480,
    title: str = "Where the bytes go: chunks → packages → modules",
) -> alt.LayerChart:
    """A treemap of the build: a block per chunk, a block per package inside it, a
    rectangle per module, coloured by package.

    Parameters
    ----------
    bundle : Bundle
        A read build.
    size : {"size_bytes", "gzip_bytes", "brotli_bytes"}
        The area (module compressed sizes are estimates).
    top_packages : int
        Packages with their own colour (the biggest); the rest are grey.
    max_modules : int
        Modules drawn one by one; the smaller ones of each package merge into one
        ``(N smaller modules)`` rectangle so the chart stays small.
    width, height : int
        Pixels.
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart
        Rectangles with tooltips (chunk, package, module, bytes) and labels on the
        biggest package blocks.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> treemap(Bundle.empty("webpack", "s.json")).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    from perflab.bundles.model import APP

    mods = bundle.modules().with_columns(pl.col("package").fill_null(APP))
    mods = mods.filter(pl.col(size) > 0)
    if mods.height > max_modules:
        cut = mods[size].sort(descending=True)[max_modules - 1]
        small = mods.filter(pl.col(size) < cut)
        merged = (
            small.group_by("chunk", "package")
            .agg(pl.col(size).sum(), pl.len().alias("_n"))
            .with_columns(pl.format("({} smaller modules)", pl.col("_n")).alias("module"))
        )
        mods = pl.concat(
            [
                mods.filter(pl.col(size) >= cut).select("chunk", "package", "module", size),
                merged.select("chunk", "package", "module", size),
            ]
        )
    sizes = mods.group_by("package").agg(pl.col(size).sum()).sort(size, descending=True)
    colored = sizes["package"].head(top_packages).to_list()
    rects: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    outlines: list[dict[str, object]] = []
    chunks = mods.group_by("chunk").agg(pl.col(size).sum()).sort(size, descending=True)
    for (cx0, cy0, cx1, cy1), chunk in zip(
        squarify(chunks[size].to_list(), 0, 0, width, height),
        chunks["chunk"].to_list(),
        strict=True,
    ):
        in_chunk = mods.filter(pl.col("chunk") == chunk)
        pk = in_chunk.group_by("package").agg(pl.col(size).sum()).sort(size, descending=True)
        for (px0, py0, px1, py1), package in zip(
            squarify(pk[size].to_list(), cx0, cy0, cx1 - cx0, cy1 - cy0),
            pk["package"].to_list(),
            strict=True,
        ):
            ms = in_chunk.filter(pl.col("package") == package).sort(size, descending=True)
            for (mx0, my0, mx1, my1), (module, value) in zip(
                squarify(ms[size].to_list(), px0, py0, px1 - px0, py1 - py0),
                ms.select("module", size).iter_rows(),
                strict=True,
            ):
                rects.append(
                    {
                        "x": mx0,
                        "x2": mx1,
                        "y": my0,
                        "y2": my1,
                        "chunk": chunk,
                        "package": package,
                        "module": module,
                        "bytes": value,
                        "color": package if package in colored else "other",
                    }
                )
            label = f"{package} · {chunk}"
            if (px1 - px0) > 6.5 * len(label) + 8 and (py1 - py0) > 16:
                labels.append({"x": px0 + 4, "y": py0 + 12, "text": label})
        outlines.append({"x": cx0, "x2": cx1, "y": cy0, "y2": cy1, "chunk": chunk})
    df = pl.DataFrame(
        rects,
        schema={
            "x": pl.Float64,
            "x2": pl.Float64,
            "y": pl.Float64,
            "y2": pl.Float64,
            "chunk": pl.String,
            "package": pl.String,
            "module": pl.String,
            "bytes": pl.Int64,
            "color": pl.String,
        },
    )
    domain = [*colored, "other"]
    palette = [*(PALETTE * 2)[: len(colored)], "#d1d5db"]
    noaxis = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    xs = alt.Scale(domain=[0, width], nice=False)
    ys = alt.Scale(domain=[0, height], nice=False, reverse=True)
    boxes = (
        alt.Chart(df)
        .mark_rect(stroke="#ffffff", strokeWidth=0.5)
        .encode(
            x=alt.X("x:Q", scale=xs, axis=noaxis),
            x2="x2:Q",
            y=alt.Y("y:Q", scale=ys, axis=noaxis),
            y2="y2:Q",
            color=alt.Color(
                "color:N", title="package", scale=alt.Scale(domain=domain, range=palette)
            ),
            tooltip=[
                alt.Tooltip("chunk:N"),
                alt.Tooltip("package:N"),
                alt.Tooltip("module:N"),
                alt.Tooltip("bytes:Q", title=size.replace("_", " "), format=","),
            ],
        )
    )
    text = (
        alt.Chart(
            pl.DataFrame(labels, schema={"x": pl.Float64, "y": pl.Float64, "text": pl.String})
        )
        .mark_text(align="left", baseline="middle", fontSize=10, color="#111827")
        .encode(
            x=alt.X("x:Q", scale=xs, axis=noaxis),
            y=alt.Y("y:Q", scale=ys, axis=noaxis),
            text="text:N",
        )
    )
    frame = (
        alt.Chart(
            pl.DataFrame(
                outlines,
                schema={
                    "x": pl.Float64,
                    "x2": pl.Float64,
                    "y": pl.Float64,
                    "y2": pl.Float64,
                    "chunk": pl.String,
                },
            )
        )
        .mark_rect(fillOpacity=0, stroke="#111827", strokeWidth=2)
        .encode(
            x=alt.X("x:Q", scale=xs, axis=noaxis),
            x2="x2:Q",
            y=alt.Y("y:Q", scale=ys, axis=noaxis),
            y2="y2:Q",
        )
    )
    chart = alt.LayerChart(layer=[boxes, frame, text])
    return chart.properties(width=width, height=height, title=title)


def initial_vs_async(bundle: Bundle, *, title: str = "Initial vs on-demand per entry") -> alt.Chart:
    """A stacked bar per entry: the chunks it loads at start, then those it loads on
    demand (``import()``), in gzip bytes (measured or estimated, see the tooltip).

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> initial_vs_async(Bundle.empty("webpack", "s.json")).to_dict()["mark"]["type"]
    'bar'
    """
    from perflab.bundles.budget import _sized

    sized, _ = _sized(bundle.chunk_frame.unique("chunk", keep="first"), "gzip")
    df = bundle.entrypoints.join(
        sized.select(
            "chunk",
            pl.col("bytes").alias("gzip_bytes"),
            "size_bytes",
            pl.col("_kind").alias("sizes"),
        ),
        on="chunk",
        how="left",
    ).with_columns(
        pl.when(pl.col("initial"))
        .then(pl.lit("initial"))
        .otherwise(pl.lit("on demand"))
        .alias("load")
    )
    return (
        alt.Chart(df)
        .mark_bar(stroke="#ffffff", strokeWidth=0.5)
        .encode(
            y=alt.Y("entry:N", title=None),
            x=alt.X("sum(gzip_bytes):Q", title="gzip bytes", stack="zero"),
            color=alt.Color(
                "load:N",
                title=None,
                scale=alt.Scale(domain=["initial", "on demand"], range=["#2563eb", "#93c5fd"]),
            ),
            order=alt.Order("load:N"),
            detail="chunk:N",
            tooltip=[
                alt.Tooltip("entry:N"),
                alt.Tooltip("chunk:N"),
                alt.Tooltip("load:N"),
                alt.Tooltip("gzip_bytes:Q", title="gzip bytes", format=","),
                alt.Tooltip("size_bytes:Q", title="raw bytes", format=","),
                alt.Tooltip("sizes:N", title="gzip size"),
            ],
        )
        .properties(width=640, height=max(60, 36 * df["entry"].n_unique()), title=title)
    )


def diff_bars(
    d: BundleDiff, *, by: str = "packages", top: int = 15, title: str | None = None
) -> alt.Chart:
    """The biggest changes between two builds, a bar per package (or chunk, entry),
    coloured by status.

    Examples
    --------
    >>> from perflab.bundles.diff import diff
    >>> from perflab.bundles.model import Bundle
    >>> e = Bundle.empty("webpack", "a.json")
    >>> diff_bars(diff(e, e)).to_dict()["mark"]["type"]
    'bar'
    """
    frame: pl.DataFrame = getattr(d, by)
    key = frame.columns[0]
    df = frame.filter(pl.col("status") != "unchanged").head(top).rename({key: "name"})
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("name:N", title=None, sort=df["name"].to_list()),
            x=alt.X("delta_gzip:Q", title="change, gzip bytes"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values())),
            ),
            tooltip=[
                alt.Tooltip("name:N", title=key),
                alt.Tooltip("status:N"),
                alt.Tooltip("before_gzip:Q", title="before (gzip)", format=","),
                alt.Tooltip("after_gzip:Q", title="after (gzip)", format=","),
                alt.Tooltip("delta_gzip:Q", title="change (gzip)", format="+,"),
                alt.Tooltip("delta_pct:Q", title="raw change %", format="+.1f"),
            ],
        )
        .properties(
            width=560, height=max(60, 24 * df.height), title=title or f"What changed, by {key}"
        )
    )

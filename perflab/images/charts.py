"""The images notebook's charts: savings by format, quality/size curves, responsive plans.

They build on the shared theme of :mod:`perflab.charts`; each takes an analysis's
frame (:func:`~perflab.images.optimize`, :func:`~perflab.images.tradeoff.tradeoff`,
:func:`~perflab.images.responsive_variants`), never a file.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from perflab.frames import FrameLike, as_frame
from perflab.images.schema import OPTIMIZED, VARIANTS
from perflab.images.tradeoff import TRADEOFF

__all__ = ["FORMAT_COLORS", "responsive_plan", "savings_by_format", "tradeoff_curve"]

FORMAT_COLORS = {
    "original": "#6b7280",
    "avif": "#16a34a",
    "webp": "#2563eb",
    "jpeg": "#f97316",
    "png": "#9333ea",
    "png8": "#db2777",
    "gif": "#ca8a04",
}
"""The colour of each format, the same in every image chart."""


def _scale(formats: list[str]) -> alt.Scale:
    return alt.Scale(domain=formats, range=[FORMAT_COLORS.get(f, "#0891b2") for f in formats])


def _name(path: pl.Expr) -> pl.Expr:
    return path.str.split("/").list.last()


def savings_by_format(
    optimized: FrameLike, *, title: str = "Total bytes if every image were served as…"
) -> alt.LayerChart:
    """Total bytes of the images in each format at the target quality, beside the originals.

    Per image and format the smallest candidate meeting the target counts; an image
    with no such candidate in a format counts at its original size there (it would
    stay as it is), so every bar covers the same images.

    Parameters
    ----------
    optimized : frame-like
        :func:`~perflab.images.optimize`'s :data:`~perflab.images.schema.OPTIMIZED`.
    title : str
        The chart's title.

    Examples
    --------
    >>> o = pl.DataFrame({"path": ["a.jpg", "a.jpg"], "format": ["webp", "avif"],
    ...     "bytes": [40_000, 30_000], "original_bytes": [100_000] * 2,
    ...     "meets_target": [True, True]})
    >>> savings_by_format(o).to_dict()["layer"][0]["mark"]["type"]
    'bar'
    """
    df = as_frame(optimized, OPTIMIZED.subset("path", "format", "bytes", "original_bytes"))
    if "error" in df.columns:
        df = df.filter(pl.col("error").is_null())
    ok = pl.col("meets_target").fill_null(False) if "meets_target" in df.columns else pl.lit(True)
    originals = df.group_by("path").agg(pl.col("original_bytes").first())
    formats = df["format"].unique(maintain_order=True).to_list()
    grid = originals.join(
        pl.DataFrame({"format": formats}, schema={"format": pl.String}), how="cross"
    )
    best = df.filter(ok).group_by("path", "format").agg(pl.col("bytes").min())
    per = (
        grid.join(best, on=["path", "format"], how="left")
        .with_columns(
            pl.min_horizontal(
                pl.col("bytes").fill_null(pl.col("original_bytes")), pl.col("original_bytes")
            ).alias("bytes")
        )
        .group_by("format")
        .agg(pl.col("bytes").sum(), pl.len().alias("images"))
    )
    total = int(originals["original_bytes"].sum() or 0)
    bars = pl.concat(
        [
            pl.DataFrame(
                {"format": ["original"], "bytes": [total], "images": [originals.height]},
                schema=per.schema,
            ),
            per.sort("bytes"),
        ]
    ).with_columns(
        (pl.col("bytes") / 1024).alias("kib"),
        (100 * (1 - pl.col("bytes") / max(total, 1))).alias("saved_pct"),
    )
    bars = bars.with_columns(
        pl.when(pl.col("format") == "original")
        .then(pl.lit(""))
        .otherwise(pl.format("{} % smaller", pl.col("saved_pct").round(0).cast(pl.Int64)))
        .alias("label")
    )
    order = bars["format"].to_list()
    base = alt.Chart(bars).encode(
        y=alt.Y("format:N", sort=order, title=None),
        x=alt.X("kib:Q", title="KiB for all images"),
    )
    chart = base.mark_bar().encode(
        color=alt.Color("format:N", scale=_scale(order), legend=None),
        tooltip=[
            alt.Tooltip("format:N"),
            alt.Tooltip("kib:Q", title="KiB", format=",.1f"),
            alt.Tooltip("saved_pct:Q", title="saved (%)", format=".1f"),
            alt.Tooltip("images:Q"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, color="#374151").encode(text="label:N")
    layered = alt.LayerChart(layer=[chart, labels])
    return layered.properties(width=560, height=28 * len(order), title=title)


def tradeoff_curve(
    curve: FrameLike, *, target: float | None = 0.95, title: str = "Quality against size"
) -> alt.LayerChart | alt.FacetChart:
    """SSIM against bytes per format across the quality ladder, one panel per image.

    Parameters
    ----------
    curve : frame-like
        :data:`~perflab.images.tradeoff.TRADEOFF` rows (one or several images).
    target : float, optional
        The SSIM target, drawn as a dashed rule.
    title : str
        The chart's title.

    Examples
    --------
    >>> t = pl.DataFrame({"path": ["a.jpg"] * 2, "format": ["webp"] * 2, "quality": [50, 80],
    ...     "bytes": [10_000, 20_000], "ssim": [0.93, 0.97]})
    >>> "layer" in tradeoff_curve(t).to_dict()
    True
    """
    df = as_frame(curve, TRADEOFF.subset("path", "format", "quality", "bytes", "ssim"))
    df = df.with_columns(
        (pl.col("bytes") / 1024).alias("kib"), _name(pl.col("path")).alias("image")
    )
    formats = df["format"].unique(maintain_order=True).to_list()
    x = alt.X("kib:Q", title="KiB")
    y = alt.Y("ssim:Q", title="SSIM", scale=alt.Scale(zero=False))
    color = alt.Color("format:N", scale=_scale(formats), title="format")
    tip = [
        alt.Tooltip("image:N"),
        alt.Tooltip("format:N"),
        alt.Tooltip("quality:Q"),
        alt.Tooltip("kib:Q", title="KiB", format=",.1f"),
        alt.Tooltip("ssim:Q", format=".4f"),
    ]
    line = (
        alt.Chart()
        .mark_line(point=True)
        .encode(x=x, y=y, color=color, tooltip=tip, order="quality:Q")
    )
    layers: list[alt.Chart] = [line]
    if target is not None:
        rule = (
            alt.Chart()
            .mark_rule(strokeDash=[4, 3], color="#111827")
            .encode(y=alt.datum(float(target)))
        )
        layers.append(rule)
    layer = alt.layer(*layers, data=df).properties(width=300, height=220)
    if df["image"].n_unique() > 1:
        return layer.facet(facet=alt.Facet("image:N", title=None), columns=2).properties(
            title=title
        )
    return layer.properties(title=title)


def responsive_plan(
    variants: FrameLike, *, title: str = "Responsive variants: bytes per width"
) -> alt.Chart:
    """Bytes of each variant against its width, a line per image and format.

    Parameters
    ----------
    variants : frame-like
        :data:`~perflab.images.schema.VARIANTS` (rows with an error are left out).
    title : str
        The chart's title.

    Examples
    --------
    >>> v = pl.DataFrame({"path": ["a.jpg"] * 2, "width": [640, 1080], "height": [427, 720],
    ...     "format": ["webp"] * 2, "bytes": [9000, 21000], "out_path": ["x", "y"],
    ...     "descriptor": ["640w", "1080w"]})
    >>> responsive_plan(v).to_dict()["mark"]["type"]
    'line'
    """
    df = as_frame(variants, VARIANTS)
    if "error" in df.columns:
        df = df.filter(pl.col("error").is_null())
    df = df.drop_nulls("bytes").with_columns(
        (pl.col("bytes") / 1024).alias("kib"),
        _name(pl.col("path")).alias("image"),
    )
    df = df.with_columns(pl.concat_str(["image", "format"], separator=" · ").alias("series"))
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("width:Q", title="variant width (px)"),
            y=alt.Y("kib:Q", title="KiB"),
            color=alt.Color("image:N", title="image"),
            strokeDash=alt.StrokeDash("format:N", title="format"),
            detail="series:N",
            tooltip=[
                alt.Tooltip("image:N"),
                alt.Tooltip("format:N"),
                alt.Tooltip("descriptor:N", title="srcset"),
                alt.Tooltip("height:Q"),
                alt.Tooltip("kib:Q", title="KiB", format=",.1f"),
            ],
        )
        .properties(width=640, height=260, title=title)
    )

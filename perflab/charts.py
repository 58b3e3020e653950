"""The one altair theme, escaped tables and notes, and chart builders every domain uses.

Every builder takes an analysed frame (aggregated already: a chart never embeds raw
samples, so reports stay small) and returns an altair chart that is interactive
where it helps (tooltips, zoom and pan on time axes). Importing this module
registers and enables the ``perflab`` theme and, inside a report run, the offline
renderer of :mod:`perflab.vega`.

Charts that only one domain draws live in that domain (``perflab/<domain>/charts.py``)
and build on :func:`panel`, :func:`series_label` and :data:`PALETTE` from here.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import polars as pl

from perflab.frames import FrameLike, as_frame

__all__ = [
    "PALETTE",
    "SEVERITY_COLORS",
    "Code",
    "Note",
    "Table",
    "code",
    "distribution",
    "note",
    "panel",
    "series_label",
    "table",
    "trend_lines",
]

PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04", "#db2777"]
SEVERITY_COLORS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#f59e0b",
    "low": "#2563eb",
    "info": "#6b7280",
}
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@alt.theme.register("perflab", enable=True)
def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": _FONT,
            "view": {"stroke": None, "continuousWidth": 640, "continuousHeight": 220},
            "range": {"category": PALETTE},
            "axis": {
                "labelColor": "#374151",
                "titleColor": "#111827",
                "gridColor": "#e5e7eb",
                "domainColor": "#9ca3af",
                "labelFontSize": 11,
                "titleFontSize": 12,
            },
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "top"},
            "title": {"fontSize": 14, "anchor": "start", "color": "#111827"},
            "header": {"labelFontSize": 12, "labelAnchor": "start"},
        }
    }


try:  # the offline renderer lives below the report pipeline, so reports draw offline
    from perflab import vega as _vega

    _vega.activate()
except ImportError:  # pragma: no cover - only while the package is partially installed
    pass


def panel(field: str) -> alt.Facet:
    """A facet header for ``field``: the series name above its panel, left-aligned.

    Examples
    --------
    >>> panel("series").to_dict()["field"]
    'series'
    """
    return alt.Facet(
        f"{field}:N",
        title=None,
        header=alt.Header(
            labelAngle=0,
            labelAlign="left",
            labelAnchor="start",
            labelOrient="top",
            labelFontWeight="bold",
            labelPadding=4,
        ),
    )


def series_label(df: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Add a ``series`` column joining the ``by`` columns (``name`` when empty).

    Examples
    --------
    >>> f = pl.DataFrame({"name": ["a"], "route": [None]})
    >>> series_label(f, ["name", "route"])["series"][0]
    'a · –'
    """
    cols = [c for c in by if c in df.columns] or ["name"]
    return df.with_columns(
        pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("–") for c in cols], separator=" · "
        ).alias("series")
    )


def distribution(
    samples: FrameLike,
    *,
    by: Sequence[str] = ("name",),
    value: str = "value",
    bins: int = 60,
    unit: str = "ms",
    title: str = "Distribution",
) -> alt.Chart:
    """Histogram of values on a log scale, one coloured outline per series.

    Binning happens here in polars (log-spaced edges), so only ``bins`` rows per
    series reach the chart whatever the number of samples.

    Examples
    --------
    >>> s = pl.DataFrame({"name": ["a"] * 100, "value": [float(i + 1) for i in range(100)]})
    >>> distribution(s, bins=10).to_dict()["mark"]["type"]
    'line'
    """
    df = series_label(as_frame(samples), by).filter(pl.col(value) > 0)
    if df.height == 0:
        return alt.Chart(pl.DataFrame({"x": []})).mark_line().properties(title=title)
    lo = math.log10(float(df.get_column(value).min()))  # type: ignore[arg-type]
    hi = math.log10(float(df.get_column(value).max()))  # type: ignore[arg-type]
    width = max(hi - lo, 1e-9) / bins
    hist = (
        df.with_columns(
            ((pl.col(value).log10() - lo) / width)
            .floor()
            .clip(0, bins - 1)
            .cast(pl.Int32)
            .alias("bin")
        )
        .group_by("series", "bin")
        .agg(pl.len().alias("count"))
        .with_columns(
            (10 ** (lo + (pl.col("bin") + 0.5) * width)).alias("center"),
            (pl.col("count") / pl.col("count").sum().over("series")).alias("share"),
        )
        .sort("series", "bin")
    )
    return (
        alt.Chart(hist)
        .mark_line(interpolate="step", strokeWidth=1.6)
        .encode(
            x=alt.X("center:Q", scale=alt.Scale(type="log"), title=f"{value} ({unit}, log scale)"),
            y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share of samples"),
            color=alt.Color("series:N", title=None),
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("center:Q", title=f"≈ {unit}", format=",.1f"),
                alt.Tooltip("count:Q", format=","),
                alt.Tooltip("share:Q", format=".2%"),
            ],
        )
        .properties(title=title, width=640, height=240)
        .interactive()
    )


def trend_lines(
    windows: FrameLike,
    fits: FrameLike,
    *,
    stat: str = "p95",
    by: Sequence[str] = ("name",),
    time: str = "window_start",
    unit: str = "ms",
    y_title: str | None = None,
    title: str = "Trend",
) -> alt.FacetChart:
    """The per-window statistic with its fitted Theil–Sen line, one panel per series.

    Parameters
    ----------
    windows : frame-like
        Per-window statistics: ``time``, ``stat`` and the ``by`` columns.
    fits : frame-like
        One row per series to draw: the ``by`` columns and ``verdict``, shown in the
        panel title; series of ``windows`` absent from ``fits`` are left out. When
        ``windows`` has ``fitted`` (the Theil–Sen line per window) or ``segment_mean``
        (the level between change points) columns, they are drawn over the points: a
        red line and a dashed step.

    Examples
    --------
    >>> from datetime import datetime
    >>> w = pl.DataFrame({"name": ["a", "a"], "p95": [1.0, 2.0], "fitted": [1.0, 2.0],
    ...     "window_start": [datetime(2026, 1, 1), datetime(2026, 1, 2)]})
    >>> f = pl.DataFrame({"name": ["a"], "verdict": ["rising"]})
    >>> trend_lines(w, f).to_dict()["facet"]["field"]
    'panel'
    """
    w = series_label(as_frame(windows), by)
    f = series_label(as_frame(fits), by).select("series", "verdict")
    df = w.join(f, on="series", how="inner").with_columns(
        pl.concat_str([pl.col("series"), pl.lit(" — "), pl.col("verdict").fill_null("?")]).alias(
            "panel"
        )
    )
    extra = [c for c in ("fitted", "segment_mean") if c in df.columns]
    df = df.select("panel", time, stat, *extra)
    base = alt.Chart().encode(x=alt.X(f"{time}:T", title=None))
    points = base.mark_line(
        point=alt.OverlayMarkDef(size=14), strokeWidth=1, color=PALETTE[0]
    ).encode(
        y=alt.Y(f"{stat}:Q", title=y_title or (f"{stat} ({unit})" if unit else stat)),
        tooltip=[
            alt.Tooltip(f"{time}:T", format="%H:%M %d %b"),
            alt.Tooltip(f"{stat}:Q", format=",.1f"),
        ],
    )
    layers: list[Any] = [points.add_params(alt.selection_interval(bind="scales", encodings=["x"]))]
    if "fitted" in df.columns:
        layers.append(base.mark_line(color=PALETTE[3], strokeWidth=2).encode(y="fitted:Q"))
    if "segment_mean" in df.columns:
        layers.append(
            base.mark_line(color="#111827", strokeDash=[5, 3], interpolate="step-after").encode(
                y="segment_mean:Q"
            )
        )
    return (
        alt.layer(*layers)
        .properties(width=640, height=140)
        .facet(facet=panel("panel"), columns=1, data=df)
        .resolve_scale(y="independent")
        .properties(title=title)
    )


class Table:
    """An HTML table whose every cell is escaped; notebooks display it directly.

    Made by :func:`table`.

    Examples
    --------
    >>> Table(pl.DataFrame({"a": [1.5]}))._repr_html_().count("<td")
    1
    """

    def __init__(
        self,
        df: pl.DataFrame,
        *,
        caption: str = "",
        max_rows: int = 50,
        max_chars: int = 300,
        links: Mapping[str, str] | None = None,
    ) -> None:
        self.df = df
        self.caption = caption
        self.max_rows = max_rows
        self.max_chars = max_chars
        self.links = dict(links or {})

    def _repr_html_(self) -> str:
        hidden = set(self.links.values())
        shown = [c for c in self.df.columns if c not in hidden]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in shown)
        rows = []
        for row in self.df.head(self.max_rows).iter_rows(named=True):
            cells = []
            for col, v in row.items():
                if col in hidden:
                    continue
                text = _fmt(v)
                href = row.get(self.links[col]) if col in self.links else None
                if isinstance(href, str) and _safe_href(href):
                    text = f'<a href="{html.escape(href)}">{html.escape(text)}</a>'
                elif col == "severity" and isinstance(v, str):
                    color = SEVERITY_COLORS.get(v, "#6b7280")
                    text = (
                        f'<span style="background:{color};color:#fff;border-radius:3px;'
                        f'padding:1px 6px">{html.escape(v)}</span>'
                    )
                elif len(text) > self.max_chars:
                    cut = text[: self.max_chars - 1].rstrip() + "…"
                    text = f'<span title="{html.escape(text)}">{html.escape(cut)}</span>'
                else:
                    text = html.escape(text)
                align = (
                    "right" if isinstance(v, int | float) and not isinstance(v, bool) else "left"
                )
                cells.append(f'<td style="text-align:{align}">{text}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        more = self.df.height - self.max_rows
        width = max(1, len(shown))
        foot = (
            f'<tfoot><tr><td colspan="{width}" style="text-align:left">… {more} more rows'
            "</td></tr></tfoot>"
            if more > 0
            else ""
        )
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (
            '<table class="perflab-table">'
            + cap
            + f"<thead><tr>{head}</tr></thead><tbody>"
            + "".join(rows)
            + "</tbody>"
            + foot
            + "</table>"
        )

    def __repr__(self) -> str:
        return repr(self.df)


_HREF_CHARS = re.compile(r"^[^\x00-\x20\x7f\\\"'<>]+$")


def _safe_href(href: object) -> bool:
    """A relative path in this site, or an http(s) URL: nothing a browser would run.

    Control characters, spaces and backslashes are refused outright (browsers strip
    or reinterpret them, so ``\x01javascript:`` would run), as are other schemes and
    scheme-relative ``//host`` links.
    """
    if not isinstance(href, str) or not _HREF_CHARS.match(href):
        return False
    from urllib.parse import urlsplit

    parts = urlsplit(href)
    if parts.scheme:
        return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    return not parts.netloc and not href.startswith("//")


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if abs(v) >= 1e6:
            return f"{v:,.0f}"
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.1f}"
    if isinstance(v, list):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def table(
    df: FrameLike,
    *,
    columns: Sequence[str] | None = None,
    caption: str = "",
    max_rows: int = 50,
    max_chars: int = 300,
    links: Mapping[str, str] | None = None,
) -> Table:
    """Display a frame as an escaped HTML table (severities shown as coloured badges).

    A cell longer than ``max_chars`` (a long SQL script, a stack trace) is cut with
    ``…``; its whole text is the cell's tooltip. ``links`` maps a shown column to a
    column holding a link for each of its cells (a relative path or an http(s) URL;
    anything else, ``javascript:`` included, stays plain text); the link column is
    not shown.

    Examples
    --------
    >>> t = table(pl.DataFrame({"subject": ["<script>"], "score": [1.5]}))
    >>> "<script>" in t._repr_html_(), "&lt;script&gt;" in t._repr_html_()
    (False, True)
    >>> t = table({"notebook": ["api", "x", "y"],
    ...            "page": ["api.html", "javascript:alert(1)", "\x01javascript:alert(1)"]},
    ...           links={"notebook": "page"})
    >>> html_ = t._repr_html_()
    >>> '<a href="api.html">api</a>' in html_, "javascript" in html_, "<th>page" in html_
    (True, False, False)
    """
    frame = as_frame(df)
    if columns is not None:
        keep = list(columns) + [c for c in (links or {}).values() if c not in columns]
        frame = frame.select(keep)
    return Table(frame, caption=caption, max_rows=max_rows, max_chars=max_chars, links=links)


class Note:
    """A short paragraph of escaped text; notebooks display it directly."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return f'<p class="perflab-note">{html.escape(self.text)}</p>'

    def __repr__(self) -> str:
        return self.text


def note(text: str) -> Note:
    """A sentence for the reader built from evidence (paths, names), shown escaped.

    Examples
    --------
    >>> note("read <b>x</b>")._repr_html_()
    '<p class="perflab-note">read &lt;b&gt;x&lt;/b&gt;</p>'
    """
    return Note(text)


class Code:
    """A block of generated text (a config file, a patch), escaped, in a monospace box."""

    def __init__(self, text: str, caption: str = "") -> None:
        self.text = text
        self.caption = caption

    def _repr_html_(self) -> str:
        cap = (
            f'<figcaption style="font-weight:600;margin:.4em 0">{html.escape(self.caption)}'
            "</figcaption>"
            if self.caption
            else ""
        )
        return (
            f'<figure class="perflab-code" style="margin:0 0 1em 0">{cap}'
            '<pre style="background:#f6f8fa;border:1px solid #e5e7eb;border-radius:4px;'
            'padding:.6em .8em;overflow:auto;max-height:32em;font-size:12px">'
            f"<code>{html.escape(self.text)}</code></pre></figure>"
        )

    def __repr__(self) -> str:
        return self.text


def code(text: str, caption: str = "") -> Code:
    """Show generated text (configuration to copy, a patch) escaped, as it is.

    Examples
    --------
    >>> "&lt;/script&gt;" in code("location ~ </script> {}", "nginx")._repr_html_()
    True
    """
    return Code(str(text), caption)

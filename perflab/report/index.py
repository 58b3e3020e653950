"""The run's dashboard, ``index.html``: one tile per notebook.

Each tile shows the notebook's status and duration, links to its page, its headline
figures and — from the second run on — their trend (an inline SVG sparkline drawn
here, no JavaScript) and the change against the previous run, coloured by whether the
figure got better or worse. Every string is escaped by the Jinja template
(``autoescape``); only the sparkline SVG, built from numbers, is inserted as markup.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import polars as pl

from perflab.report.store import HISTORY, changes, trends

if TYPE_CHECKING:
    import jinja2

__all__ = ["format_value", "render_index", "sparkline"]

_COLOURS = {"better": "#15803d", "worse": "#b91c1c"}
_NEUTRAL = "#4b5563"


def format_value(value: float | None, unit: str = "") -> str:
    """A figure as people read it: thousands separators, a few significant digits.

    Examples
    --------
    >>> format_value(1234567.0, "B"), format_value(231.456, "ms"), format_value(0.01234)
    ('1,234,567 B', '231.5 ms', '0.0123')
    """
    if value is None or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if value == int(value) and magnitude < 1e15:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:,.1f}"
    elif magnitude >= 1:
        text = f"{value:,.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip() if unit else text


def sparkline(
    values: Sequence[float], *, width: int = 120, height: int = 28, colour: str = _NEUTRAL
) -> str:
    """An inline SVG line of ``values`` (oldest first), the last point marked.

    Returns an empty string for fewer than two values.

    Examples
    --------
    >>> import re
    >>> svg = sparkline([3.0, 1.0, 2.0])
    >>> re.search(r'points="([^"]*)"', svg).group(1)
    '3.0,3.0 60.0,25.0 117.0,14.0'

    >>> sparkline([1.0])
    ''
    """
    points = [float(v) for v in values if math.isfinite(float(v))]
    if len(points) < 2:
        return ""
    pad = 3.0
    low, high = min(points), max(points)
    span = high - low
    step = (width - 2 * pad) / (len(points) - 1)

    def y(v: float) -> float:
        if span == 0:
            return height / 2
        return pad + (high - v) / span * (height - 2 * pad)

    coords = [(pad + i * step, y(v)) for i, v in enumerate(points)]
    path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
    last_x, last_y = coords[-1]
    title = html.escape(" → ".join(format_value(v) for v in points), quote=True)
    colour = html.escape(colour, quote=True)
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{title}"><title>{title}</title>'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{colour}"/></svg>'
    )


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    from perflab.report.render import TEMPLATES

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _when(iso: str) -> str:
    """``2026-11-27T21:51:09.92+00:00`` → ``2026-11-27 21:51:09 UTC``."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _change_text(row: Mapping[str, Any]) -> str:
    change = row["change"]
    if change is None:
        return ""
    if change == 0:
        return "no change"
    arrow = "▲" if change > 0 else "▼"
    pct = row["change_pct"]
    amount = f"{abs(pct):.1f} %" if pct is not None else format_value(abs(change), row["unit"])
    return f"{arrow} {amount} (was {format_value(row['previous'], row['unit'])})"


def render_index(manifest: Mapping[str, Any], history: pl.DataFrame | None = None) -> str:
    """The dashboard page of a run.

    Parameters
    ----------
    manifest : mapping
        The run's manifest (``run_id``, ``started_at``, ``duration_s`` and
        ``notebooks``: ``{name, status, duration_s, figures, parameters, error, html,
        ipynb}``).
    history : polars.DataFrame, optional
        The :data:`~perflab.report.store.HISTORY` frame including this run's rows;
        gives the trends and the change against the previous run.

    Returns
    -------
    str
        A standalone HTML page (inline CSS and SVG, no script).

    Examples
    --------
    >>> page = render_index({
    ...     "run_id": "20260101T000000Z", "started_at": "2026-01-01T00:00:00+00:00",
    ...     "duration_s": 3.2,
    ...     "notebooks": [{"name": "<b>x</b>", "status": "failed", "duration_s": 1.0,
    ...                    "figures": [], "parameters": {}, "error": "ValueError: <i>",
    ...                    "html": "x.html", "ipynb": "x.ipynb"}],
    ... })
    >>> "&lt;b&gt;x&lt;/b&gt;" in page, "<b>x</b>" in page, "ValueError: &lt;i&gt;" in page
    (True, False, True)
    """
    run_id = str(manifest.get("run_id", ""))
    frame = history if history is not None else HISTORY.empty()
    changed = changes(frame, run_id) if frame.height else None
    lines = trends(frame) if frame.height else None
    change_rows: dict[tuple[str, str], dict[str, Any]] = (
        {(r["notebook"], r["figure"]): r for r in changed.iter_rows(named=True)}
        if changed is not None
        else {}
    )
    trend_rows: dict[tuple[str, str], list[float]] = (
        {(r["notebook"], r["figure"]): r["values"] for r in lines.iter_rows(named=True)}
        if lines is not None
        else {}
    )
    previous_runs = (
        frame.filter(pl.col("run_id") != run_id)
        .unique("run_id")
        .sort("started_at", "run_id")
        .get_column("run_id")
        .to_list()
    )
    previous_run = previous_runs[-1] if previous_runs else None

    tiles = []
    counts = {"ok": 0, "failed": 0, "timeout": 0}
    for nb in manifest.get("notebooks", []):
        name = str(nb["name"])
        status = str(nb["status"])
        counts[status] = counts.get(status, 0) + 1
        figures = []
        for fig in nb.get("figures", []):
            key = (name, str(fig["name"]))
            row = change_rows.get(key)
            verdict = row["verdict"] if row else None
            colour = _COLOURS.get(verdict or "", _NEUTRAL)
            figures.append(
                {
                    "label": fig.get("label") or fig["name"],
                    "name": fig["name"],
                    "value": format_value(float(fig["value"]), str(fig.get("unit") or "")),
                    "change": _change_text(row) if row else "",
                    "verdict": verdict or "none",
                    "better": fig.get("better"),
                    "spark": sparkline(trend_rows.get(key, []), colour=colour),
                }
            )
        tiles.append(
            {
                "name": name,
                "status": status,
                "duration": f"{float(nb.get('duration_s') or 0):.1f} s",
                "html": quote(nb["html"]) if nb.get("html") else None,
                "ipynb": quote(nb["ipynb"]) if nb.get("ipynb") else None,
                "error": nb.get("error"),
                "parameters": (
                    json.dumps(nb.get("parameters"), indent=1, ensure_ascii=False, default=str)
                    if nb.get("parameters")
                    else None
                ),
                "figures": figures,
            }
        )

    from markupsafe import Markup

    for tile in tiles:
        for fig in tile["figures"]:
            fig["spark"] = Markup(fig["spark"])  # built from numbers and escaped text
    template = _environment().get_template("dashboard.html.j2")
    return template.render(
        run_id=run_id,
        started_at=_when(str(manifest.get("started_at", ""))),
        duration=f"{float(manifest.get('duration_s') or 0):.1f} s",
        counts=counts,
        tiles=tiles,
        previous_run=quote(previous_run) if previous_run else None,
        previous_run_name=previous_run,
    )

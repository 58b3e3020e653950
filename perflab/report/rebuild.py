"""Rebuild the dashboards from the history alone (``perflab index``).

The history (``<out>/history/*.parquet``) holds every run's headline figures, so the
dashboards can be drawn again without re-running anything — after a run directory was
copied in from CI, after a history file was deleted, or after perflab's templates
changed:

- :func:`render_runs` draws ``<out>/index.html``: every headline figure's latest
  value with its trend over the last runs, and every run, newest first, linking to
  its dashboard;
- :func:`rebuild` writes that page and re-renders run dashboards
  (:func:`perflab.report.index.render_index`) with the history up to each run. A run's
  ``manifest.json`` gives statuses and labels when it is there; otherwise the run's
  entry is made from its history rows (:func:`manifest_from_history`).
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl

from perflab.frames import write_atomic
from perflab.report.index import format_value, sparkline
from perflab.report.store import read_history, trends

__all__ = ["manifest_from_history", "rebuild", "render_runs"]

logger = logging.getLogger(__name__)


def manifest_from_history(history: pl.DataFrame, run_id: str) -> dict[str, Any]:
    """A run's manifest made from its history rows (every notebook counted ``ok``).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from perflab.report.store import run_frame
    >>> h = run_frame("r1", datetime(2026, 1, 1, tzinfo=UTC), {"monitoring": [
    ...     {"name": "p95_ms", "value": 240.0, "unit": "ms", "better": "lower"}]})
    >>> m = manifest_from_history(h, "r1")
    >>> m["started_at"], [(nb["name"], nb["html"]) for nb in m["notebooks"]]
    ('2026-01-01T00:00:00+00:00', [('monitoring', 'monitoring.html')])
    """
    rows = history.filter(pl.col("run_id") == run_id)
    started = rows.get_column("started_at")
    notebooks: dict[str, list[dict[str, Any]]] = {}
    for r in rows.iter_rows(named=True):
        notebooks.setdefault(r["notebook"], []).append(
            {
                "name": r["figure"],
                "value": r["value"],
                "unit": r["unit"],
                "better": r["better"],
                "label": None,
            }
        )
    return {
        "run_id": run_id,
        "started_at": started[0].isoformat() if started.len() else "",
        "duration_s": 0.0,
        "notebooks": [
            {
                "name": name,
                "status": "ok",
                "duration_s": 0.0,
                "figures": figs,
                "parameters": {},
                "error": None,
                "html": f"{name}.html",
                "ipynb": None,
            }
            for name, figs in notebooks.items()
        ],
    }


def render_runs(
    history: pl.DataFrame, *, last: int = 20, existing: Sequence[str] | None = None
) -> str:
    """The page of all runs: latest figures with their trend, and the list of runs.

    Parameters
    ----------
    history : polars.DataFrame
        The :data:`~perflab.report.store.HISTORY` frame.
    last : int
        Runs drawn in each trend line.
    existing : sequence of str, optional
        Run ids whose directory exists (only these are linked); default all.

    Returns
    -------
    str
        A standalone HTML page (inline CSS and SVG, no script).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from perflab.report.store import run_frame
    >>> h = pl.concat([run_frame(r, datetime(2026, 1, d, tzinfo=UTC), {"monitoring": [
    ...     {"name": "p95_ms", "value": v, "unit": "ms", "better": "lower"}]})
    ...     for r, d, v in (("r1", 1, 240.0), ("r2", 2, 250.0))])
    >>> page = render_runs(h)
    >>> '<a href="r2/index.html">r2</a>' in page, "250 ms" in page
    (True, True)
    """
    lines = trends(history, last=last)
    latest = (
        history.sort("started_at", "run_id")
        .group_by("notebook", "figure", maintain_order=True)
        .agg(pl.col("value", "unit", "run_id").last())
        .sort("notebook", "figure")
    )
    spark = {(r[0], r[1]): r[2] for r in lines.select("notebook", "figure", "values").iter_rows()}
    figure_rows = [
        f"<tr><td>{html.escape(nb)}</td><td>{html.escape(fig)}</td>"
        f"<td class=num>{html.escape(format_value(value, unit))}</td>"
        f"<td>{sparkline(spark.get((nb, fig), []))}</td><td>{html.escape(run)}</td></tr>"
        for nb, fig, value, unit, run in latest.iter_rows()
    ]
    runs = (
        history.group_by("run_id")
        .agg(
            pl.col("started_at").first(),
            pl.col("notebook").n_unique().alias("notebooks"),
            pl.len().alias("figures"),
        )
        .sort("started_at", "run_id", descending=True)
    )
    linked = None if existing is None else set(existing)
    run_rows = []
    for run_id, started, notebooks, figures in runs.iter_rows():
        name = html.escape(run_id)
        cell = (
            f'<a href="{html.escape(quote(run_id), quote=True)}/index.html">{name}</a>'
            if linked is None or run_id in linked
            else f"{name} (directory gone)"
        )
        when = started.strftime("%Y-%m-%d %H:%M:%S UTC") if started is not None else ""
        run_rows.append(
            f"<tr><td>{cell}</td><td>{when}</td><td class=num>{notebooks}</td>"
            f"<td class=num>{figures}</td></tr>"
        )
    style = (
        "body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#111827}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
        "th,td{border-bottom:1px solid #e5e7eb;padding:.25rem .6rem;text-align:left}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>perflab runs</title>'
        f"<style>{style}</style></head><body><h1>perflab runs</h1>"
        f"<p>{runs.height} run(s); trends over the last {last}.</p>"
        "<h2>Headline figures</h2><table><thead><tr><th>notebook</th><th>figure</th>"
        "<th>latest</th><th>trend</th><th>run</th></tr></thead>"
        f"<tbody>{''.join(figure_rows)}</tbody></table>"
        "<h2>Runs</h2><table><thead><tr><th>run</th><th>started</th><th>notebooks</th>"
        f"<th>figures</th></tr></thead><tbody>{''.join(run_rows)}</tbody></table>"
        "</body></html>\n"
    )


def _manifest(out: Path, history: pl.DataFrame, run_id: str) -> dict[str, Any]:
    path = out / run_id / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and isinstance(manifest.get("notebooks"), list):
            return manifest
        logger.warning("%s is not a run manifest; using the history", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        logger.warning("cannot read %s (%s); using the history", path, exc)
    return manifest_from_history(history, run_id)


def rebuild(
    out_dir: str | os.PathLike[str] = "reports",
    *,
    runs: Sequence[str] | str | None = None,
) -> list[Path]:
    """Re-render dashboards from the history under ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Reports directory.
    runs : sequence of str, "all" or None
        Run ids whose ``index.html`` to re-render (their directory must exist);
        ``"all"`` every run with a directory; ``None`` the latest run only.

    Returns
    -------
    list of Path
        The pages written: the runs' dashboards, then ``<out_dir>/index.html``.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> from perflab.report.store import append_run
    >>> out = Path(tempfile.mkdtemp())
    >>> _ = append_run(out, "r1", datetime(2026, 1, 1, tzinfo=UTC), {"monitoring": [
    ...     {"name": "p95_ms", "value": 240.0, "unit": "ms", "better": "lower"}]})
    >>> (out / "r1").mkdir()
    >>> [p.relative_to(out).as_posix() for p in rebuild(out)]
    ['r1/index.html', 'index.html']
    """
    from perflab.errors import ParameterError
    from perflab.report.index import render_index

    out = Path(out_dir)
    history = read_history(out)
    order = history.unique("run_id").sort("started_at", "run_id").get_column("run_id").to_list()
    existing = [r for r in order if (out / r).is_dir()]
    if runs is None:
        chosen = existing[-1:]
    elif runs == "all":
        chosen = existing
    else:
        missing = [r for r in runs if r not in existing]
        if missing:
            raise ParameterError(
                f"no run directory with history for {', '.join(map(repr, missing))} in {out}"
            )
        chosen = list(runs)
    written = []
    for run_id in chosen:
        position = order.index(run_id)
        upto = history.filter(pl.col("run_id").is_in(order[: position + 1]))
        page = render_index(_manifest(out, history, run_id), upto)
        written.append(write_atomic(out / run_id / "index.html", page))
    written.append(write_atomic(out / "index.html", render_runs(history, existing=existing)))
    return written

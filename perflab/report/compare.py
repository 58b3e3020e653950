"""Run against run: every headline figure side by side, and tests where raw data was kept.

:func:`compare_runs` puts the figures of run A (the baseline) and run B next to each
other with the change and its direction — ``better``/``worse`` by the figure's
``better`` field, ``neutral`` for a figure without one (the same rule as the index,
:func:`perflab.report.store.changes`).

Figures are single numbers, so a change between two runs can be noise. Where both
runs kept the raw data behind them, a significance verdict comes from the testing
code of the domain: a notebook that published (:func:`perflab.report.publish`)

- ``requests`` — a load test's REQUESTS frame — gets
  :func:`perflab.loadtest.compare` (bootstrap intervals, adjusted p-values,
  ``slower``/``faster``/``equivalent``/``inconclusive``);
- ``metrics`` — a METRICS frame — gets :func:`perflab.monitoring.compare_windows`
  (Mann–Whitney U and bootstrap intervals, ``slower``/``faster``/``no significant
  change``).

Runs keep no raw data by default (a run directory holds the pages, the executed
notebooks and the manifest), and the report says so rather than guess.
:func:`render_comparison` writes the HTML page: inline CSS, no script, every string
escaped.
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from perflab.report.export import FRAMES_DIR, load_run, resolve_run

__all__ = ["RAW_KINDS", "Comparison", "compare_runs", "render_comparison", "write_comparison"]

logger = logging.getLogger(__name__)

RAW_KINDS: dict[str, str] = {
    "requests": "perflab.loadtest.compare",
    "metrics": "perflab.monitoring.compare_windows",
}
"""Published frame names that get a significance test, and the function that runs it."""


@dataclass(frozen=True)
class Comparison:
    """Two runs compared.

    Attributes
    ----------
    run_a, run_b : str
        Run ids (A is the baseline).
    figures : polars.DataFrame
        ``notebook, figure, label, unit, better, value_a, value_b, change,
        change_pct, verdict`` — verdict ``better``, ``worse``, ``same``,
        ``neutral``, ``only in A`` or ``only in B``.
    tests : dict of str to polars.DataFrame
        ``"<notebook>/<frame>"`` → the domain's comparison frame.
    notes : list of str
        What could not be tested, and why.
    """

    run_a: str
    run_b: str
    figures: pl.DataFrame
    tests: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _started(manifest: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(manifest.get("started_at")))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _figures(a: dict[str, Any], b: dict[str, Any]) -> pl.DataFrame:
    from perflab.report.store import changes, run_frame

    def frame(manifest: dict[str, Any], run_id: str, when: datetime) -> pl.DataFrame:
        figs = {str(nb["name"]): nb.get("figures", []) for nb in manifest["notebooks"]}
        return run_frame(run_id, when, figs)

    labels = {
        (str(nb["name"]), str(fig["name"])): fig.get("label") or str(fig["name"])
        for manifest in (a, b)
        for nb in manifest["notebooks"]
        for fig in nb.get("figures", [])
    }
    # A is always "before" B here, whatever their start times: a synthetic two-run history.
    first = frame(a, "A", datetime(1970, 1, 1, tzinfo=UTC))
    second = frame(b, "B", datetime(1970, 1, 2, tzinfo=UTC))
    both = changes(pl.concat([first, second]), "B").rename(
        {"value": "value_b", "previous": "value_a"}
    )
    gone = first.join(second, on=["notebook", "figure"], how="anti").select(
        "notebook",
        "figure",
        pl.col("value").alias("value_a"),
        pl.lit(None, pl.Float64).alias("value_b"),
        "unit",
        "better",
    )
    out = pl.concat(
        [
            both.with_columns(
                pl.when(pl.col("value_a").is_null())
                .then(pl.lit("only in B"))
                .otherwise(pl.col("verdict"))
                .alias("verdict")
            ),
            gone.with_columns(
                pl.lit(None, pl.Float64).alias("change"),
                pl.lit(None, pl.Float64).alias("change_pct"),
                pl.lit("only in A").alias("verdict"),
            ),
        ],
        how="diagonal_relaxed",
    )
    label = pl.Series(
        "label",
        [labels.get((n, f), f) for n, f in out.select("notebook", "figure").iter_rows()],
        pl.String,
    )
    order = [str(nb["name"]) for nb in a["notebooks"]] + [str(nb["name"]) for nb in b["notebooks"]]
    rank = {name: i for i, name in reversed(list(enumerate(order)))}
    recorded = {key: i for i, key in enumerate(labels)}  # A's order, then B's new figures
    position = pl.Series(
        "_position",
        [recorded.get(key, len(recorded)) for key in out.select("notebook", "figure").iter_rows()],
        pl.Int64,
    )
    return (
        out.with_columns(label, position)
        .with_columns(pl.col("notebook").replace_strict(rank, default=len(order)).alias("_order"))
        .sort("_order", "_position")
        .select(
            "notebook",
            "figure",
            "label",
            "unit",
            "better",
            "value_a",
            "value_b",
            "change",
            "change_pct",
            "verdict",
        )
    )


def _test(kind: str, path_a: Path, path_b: Path) -> pl.DataFrame:
    if kind == "requests":
        from perflab.loadtest import compare

        return compare(pl.read_parquet(path_a), pl.read_parquet(path_b))
    from perflab.monitoring import compare_windows

    return compare_windows(None, baseline=pl.read_parquet(path_a), current=pl.read_parquet(path_b))


def compare_runs(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] = "reports",
) -> Comparison:
    """Compare run B with run A (the baseline).

    Parameters
    ----------
    run_a, run_b : str or path
        Run ids under ``out_dir`` or run directories.
    out_dir : path
        Reports directory holding the runs.

    Returns
    -------
    Comparison
        Figures side by side; significance tests where both runs published raw data
        (see the module docstring); notes on what was not tested.

    Examples
    --------
    >>> import json, tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> for run, p95 in (("a", 240.0), ("b", 300.0)):
    ...     (out / run).mkdir()
    ...     _ = (out / run / "manifest.json").write_text(json.dumps({"run_id": run,
    ...         "notebooks": [{"name": "monitoring", "status": "ok", "figures": [
    ...             {"name": "p95_ms", "value": p95, "unit": "ms", "better": "lower"}]}]}))
    >>> c = compare_runs("a", "b", out_dir=out)
    >>> c.figures.select("figure", "value_a", "value_b", "change_pct", "verdict").row(0)
    ('p95_ms', 240.0, 300.0, 25.0, 'worse')
    >>> c.notes[0].startswith("Neither run kept raw data")
    True
    """
    dir_a, dir_b = resolve_run(run_a, out_dir), resolve_run(run_b, out_dir)
    a, b = load_run(dir_a), load_run(dir_b)
    figures = _figures(a, b)
    tests: dict[str, pl.DataFrame] = {}
    notes: list[str] = []
    raw = {
        (p.parent.name, p.stem): p
        for p in (dir_a / FRAMES_DIR).glob("*/*.parquet")
        if p.stem in RAW_KINDS
    }
    raw_b = {
        (p.parent.name, p.stem): p
        for p in (dir_b / FRAMES_DIR).glob("*/*.parquet")
        if p.stem in RAW_KINDS
    }
    for key in sorted(raw.keys() | raw_b.keys()):
        notebook, kind = key
        if key not in raw or key not in raw_b:
            side = "A" if key in raw else "B"
            notes.append(f"{notebook}: only run {side} kept its {kind}; not tested.")
            continue
        try:
            tests[f"{notebook}/{kind}"] = _test(kind, raw[key], raw_b[key])
        except Exception as exc:  # one bad frame must not sink the comparison
            notes.append(f"{notebook}: {kind} could not be compared: {type(exc).__name__}: {exc}")
    if not raw and not raw_b:
        notes.append(
            "Neither run kept raw data, so the changes of the figures are not tested for "
            "significance. A notebook keeps it with perflab.report.publish('requests', "
            "frame) (load test) or publish('metrics', frame) (metrics)."
        )
    return Comparison(str(a["run_id"]), str(b["run_id"]), figures, tests, notes)


_COLOURS = {"better": "#15803d", "worse": "#b91c1c", "faster": "#15803d", "slower": "#b91c1c"}


def _fmt(value: Any, unit: str = "") -> str:
    from perflab.report.index import format_value

    if value is None:
        return "–"
    if isinstance(value, float):
        return format_value(value, unit)
    return str(value)


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = []
        for value in row:
            text = f"{value:.4g}" if isinstance(value, float) else _fmt(value)
            colour = _COLOURS.get(str(value))
            style = f' style="color:{colour};font-weight:600"' if colour else ""
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_comparison(comparison: Comparison) -> str:
    """The comparison as a standalone HTML page (inline CSS, no script).

    Examples
    --------
    >>> c = Comparison("a", "<b>", pl.DataFrame({"notebook": ["m"], "figure": ["p95"],
    ...     "label": ["p95"], "unit": ["ms"], "better": ["lower"], "value_a": [1.0],
    ...     "value_b": [2.0], "change": [1.0], "change_pct": [100.0], "verdict": ["worse"]}))
    >>> page = render_comparison(c)
    >>> "&lt;b&gt;" in page, "<b>" in page, "+100.0 %" in page
    (True, False, True)
    """
    a, b = html.escape(comparison.run_a), html.escape(comparison.run_b)
    counts = comparison.figures.get_column("verdict").value_counts(sort=True)
    summary = ", ".join(f"{n} {html.escape(str(v))}" for v, n in counts.iter_rows())
    rows = []
    for r in comparison.figures.iter_rows(named=True):
        colour = _COLOURS.get(r["verdict"] or "", "#4b5563")
        pct = (
            f"{r['change_pct']:+.1f} %"
            if r["change_pct"] is not None
            else _fmt(r["change"], r["unit"])
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(r['notebook'])}</td>"
            f'<td title="{html.escape(r["figure"], quote=True)}">{html.escape(r["label"])}</td>'
            f"<td class=num>{html.escape(_fmt(r['value_a'], r['unit']))}</td>"
            f"<td class=num>{html.escape(_fmt(r['value_b'], r['unit']))}</td>"
            f"<td class=num>{html.escape(pct)}</td>"
            f'<td style="color:{colour};font-weight:600">{html.escape(r["verdict"] or "")}</td>'
            "</tr>"
        )
    sections = [
        f"<h2>Headline figures</h2><p>{summary or 'no figures'}</p>"
        "<table><thead><tr><th>notebook</th><th>figure</th>"
        f"<th>A: {a}</th><th>B: {b}</th><th>change</th><th>direction</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    ]
    for name, frame in comparison.tests.items():
        sections.append(f"<h2>Significance: {html.escape(name)}</h2>{_table(frame)}")
    if comparison.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in comparison.notes)
        sections.insert(0, f'<ul class="notes">{items}</ul>')
    style = (
        "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111827}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
        "th,td{border-bottom:1px solid #e5e7eb;padding:.3rem .6rem;text-align:left}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    )
    title = f"perflab: {b} compared with {a}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body><h1>{title}</h1>"
        f"<p>A is the baseline; the change is B − A.</p>{''.join(sections)}</body></html>\n"
    )


def write_comparison(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    out_dir: str | os.PathLike[str] = "reports",
) -> Path:
    """Compare two runs and write the HTML page.

    Parameters
    ----------
    run_a, run_b : str or path
        As for :func:`compare_runs`.
    out : path, optional
        The file to write; default ``<out_dir>/compare/<A>_vs_<B>.html``.
    out_dir : path
        Reports directory holding the runs.

    Examples
    --------
    >>> import json, tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> for run in ("a", "b"):
    ...     (out / run).mkdir()
    ...     _ = (out / run / "manifest.json").write_text('{"notebooks": []}')
    >>> write_comparison("a", "b", out_dir=out).name
    'a_vs_b.html'
    """
    from perflab.frames import write_atomic

    comparison = compare_runs(run_a, run_b, out_dir=out_dir)
    target = (
        Path(out)
        if out is not None
        else Path(out_dir) / "compare" / f"{comparison.run_a}_vs_{comparison.run_b}.html"
    )
    return write_atomic(target, render_comparison(comparison))

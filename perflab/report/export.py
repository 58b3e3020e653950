"""Take a run out of perflab: its figures, recommendations and published frames.

A run keeps, in ``<out>/<run-id>/``:

- ``manifest.json`` — every notebook's status and headline figures;
- ``frames/<notebook>/<name>.parquet`` — the frames a notebook chose to publish with
  :func:`publish` (by convention its ranked findings as ``"recommendations"``, in the
  shared :data:`perflab.recommend.RECOMMENDATIONS` schema).

:func:`export` writes them as CSV, JSON, Parquet (one file per table), an Excel
workbook (one sheet per table; needs ``xlsxwriter``) or one Markdown page that fits a
pull-request comment or a chat message. :func:`single_html` bundles the index and
every report of the run into one self-contained HTML file for sending by e-mail:
each page is embedded whole as an ``<iframe srcdoc>`` (the pages already inline
their scripts and styles, so nothing is fetched), and the index's links jump to the
embedded pages.

Tables (``figures`` then ``recommendations``, then ``<notebook>.<name>`` for every
other published frame)::

    figures          run_id, notebook, status, figure, label, value, unit, better,
                     previous, change, change_pct, verdict   (change vs the previous run)
    recommendations  notebook + the RECOMMENDATIONS columns, ranked within each notebook
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl

from perflab.errors import InputError, ParameterError
from perflab.frames import FrameLike, as_frame, write_atomic

__all__ = [
    "FORMATS",
    "FRAMES_DIR",
    "export",
    "load_run",
    "markdown",
    "publish",
    "published",
    "resolve_run",
    "run_tables",
    "single_html",
]

logger = logging.getLogger(__name__)

Format = Literal["csv", "json", "parquet", "markdown", "xlsx"]
FORMATS: tuple[str, ...] = ("csv", "json", "parquet", "markdown", "xlsx")
"""Formats :func:`export` writes."""

FRAMES_DIR = "frames"
"""Directory of a run that holds ``<notebook>/<name>.parquet`` published frames."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_published: dict[str, pl.DataFrame] = {}
_lock = threading.Lock()

FIGURE_COLUMNS = {
    "run_id": pl.String,
    "notebook": pl.String,
    "status": pl.String,
    "figure": pl.String,
    "label": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
    "better": pl.String,
    "previous": pl.Float64,
    "change": pl.Float64,
    "change_pct": pl.Float64,
    "verdict": pl.String,
}


def publish(name: str, frame: FrameLike) -> Path | None:
    """Publish a notebook's frame so ``perflab export`` can hand it out.

    In a report run the frame is written to
    ``<run>/frames/<notebook>/<name>.parquet``; outside a run (JupyterLab) it is kept
    in :func:`published`. Call it with ``"recommendations"`` for the notebook's ranked
    findings (shared recommendation schema), and with any other name for a frame
    worth taking away (a summary table, per-route statistics).

    Parameters
    ----------
    name : str
        Letters, digits, ``_`` and ``-``; at most 64 characters.
    frame : frame-like
        Anything :func:`perflab.frames.as_frame` accepts.

    Returns
    -------
    Path or None
        The file written in a run, else ``None``.

    Examples
    --------
    >>> publish("summary", {"route": ["/a"], "p95_ms": [120.0]}) is None
    True
    >>> published()["summary"].columns
    ['route', 'p95_ms']
    """
    from perflab.report.figures import FIGURES_ENV

    if not isinstance(name, str) or not _NAME.match(name):
        raise ParameterError(
            f"publish: name must be letters, digits, '_' or '-' (at most 64), not {name!r}"
        )
    data = as_frame(frame)
    with _lock:
        _published[name] = data
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return None
    figures_file = Path(target)  # <run>/.<notebook>.figures.jsonl, set by the runner
    notebook = figures_file.name.removeprefix(".").removesuffix(".figures.jsonl")
    path = figures_file.parent / FRAMES_DIR / notebook / f"{name}.parquet"
    return write_atomic(path, data.write_parquet)


def published() -> dict[str, pl.DataFrame]:
    """Frames published by :func:`publish` in this process, by name.

    Examples
    --------
    >>> _ = publish("rows", [{"x": 1}])
    >>> published()["rows"].height
    1
    """
    with _lock:
        return dict(_published)


def resolve_run(
    run: str | os.PathLike[str] | None = None, out_dir: str | os.PathLike[str] = "reports"
) -> Path:
    """The directory of a run: a path to it, a run id under ``out_dir``, or the latest.

    Raises
    ------
    ParameterError
        When there is no such run (no ``manifest.json``).

    Examples
    --------
    >>> import tempfile
    >>> resolve_run("nope", tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: no run 'nope' ...
    """
    out = Path(out_dir)
    candidates = [out / "latest"] if run is None else [Path(run), out / str(run)]
    for candidate in candidates:
        if (candidate / "manifest.json").is_file():
            return candidate.resolve()
    what = "latest run" if run is None else f"run {str(run)!r}"
    known = sorted(p.parent.name for p in out.glob("*/manifest.json") if not p.parent.is_symlink())
    hint = f"; runs under {out}: {', '.join(known[-5:])}" if known else f"; no runs under {out}"
    raise ParameterError(f"no {what} (no manifest.json){hint}")


def load_run(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the run in ``run_dir``.

    Raises
    ------
    InputError
        When ``manifest.json`` is not valid JSON or not a mapping with notebooks.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "manifest.json").write_text('{"notebooks": []}')
    >>> load_run(d)["notebooks"]
    []
    """
    path = Path(run_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(str(path), exc.lineno, f"not valid JSON: {exc.msg}") from None
    except OSError as exc:
        raise ParameterError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("notebooks"), list):
        raise InputError(str(path), 1, "expected a JSON object with a 'notebooks' list")
    manifest.setdefault("run_id", Path(run_dir).name)
    return manifest


def _figures_table(run_dir: Path, manifest: Mapping[str, Any]) -> pl.DataFrame:
    from perflab.report.store import changes, read_history

    run_id = str(manifest.get("run_id", run_dir.name))
    rows = [
        {
            "run_id": run_id,
            "notebook": str(nb["name"]),
            "status": str(nb.get("status", "")),
            "figure": str(fig["name"]),
            "label": fig.get("label") or str(fig["name"]),
            "value": float(fig["value"]),
            "unit": str(fig.get("unit") or ""),
            "better": fig.get("better"),
        }
        for nb in manifest["notebooks"]
        for fig in nb.get("figures", [])
    ]
    base = {
        k: v
        for k, v in FIGURE_COLUMNS.items()
        if k in ("run_id", "notebook", "status", "figure", "label", "value", "unit", "better")
    }
    frame = pl.DataFrame(rows, schema=base)
    history = read_history(run_dir.parent)
    if history.filter(pl.col("run_id") == run_id).height:
        delta = changes(history, run_id).select(
            "notebook", "figure", "previous", "change", "change_pct", "verdict"
        )
        frame = frame.join(delta, on=["notebook", "figure"], how="left")
    else:
        frame = frame.with_columns(
            pl.lit(None, pl.Float64).alias("previous"),
            pl.lit(None, pl.Float64).alias("change"),
            pl.lit(None, pl.Float64).alias("change_pct"),
            pl.lit(None, pl.String).alias("verdict"),
        )
    return frame.select(list(FIGURE_COLUMNS))


def _read_frame(path: Path) -> pl.DataFrame | None:
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # a frame cut short must not stop the export of the rest
        logger.warning("skipped unreadable published frame %s: %s", path, exc)
        return None


def run_tables(run_dir: str | os.PathLike[str]) -> dict[str, pl.DataFrame]:
    """Every table of a run: ``figures``, ``recommendations``, ``<notebook>.<name>``.

    Parameters
    ----------
    run_dir : path
        A run directory (holding ``manifest.json``).

    Returns
    -------
    dict of str to polars.DataFrame
        ``figures`` and ``recommendations`` always (maybe empty); recommendations are
        ranked (:func:`perflab.recommend.rank`) within each notebook, notebooks in
        run order.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"run_id": "r1", "notebooks": [
    ...     {"name": "monitoring", "status": "ok", "figures": [
    ...         {"name": "p95_ms", "value": 240.0, "unit": "ms", "better": "lower"}]}]}))
    >>> tables = run_tables(d)
    >>> list(tables), tables["figures"].select("notebook", "figure", "value").row(0)
    (['figures', 'recommendations'], ('monitoring', 'p95_ms', 240.0))
    """
    from perflab.recommend import RECOMMENDATIONS, rank

    root = Path(run_dir)
    manifest = load_run(root)
    tables = {"figures": _figures_table(root, manifest)}
    recommendations: list[pl.DataFrame] = []
    others: dict[str, pl.DataFrame] = {}
    order = [str(nb["name"]) for nb in manifest["notebooks"]]
    found = sorted(
        (root / FRAMES_DIR).glob("*/*.parquet"),
        key=lambda p: (
            order.index(p.parent.name) if p.parent.name in order else len(order),
            p.parent.name,
            p.stem,
        ),
    )
    for path in found:
        if path.name.startswith("."):
            continue
        frame = _read_frame(path)
        if frame is None:
            continue
        notebook = path.parent.name
        if path.stem == "recommendations":
            try:
                ranked = rank(RECOMMENDATIONS.validate(frame))
            except Exception as exc:
                logger.warning("%s is not a recommendations frame: %s", path, exc)
                others[f"{notebook}.{path.stem}"] = frame
                continue
            recommendations.append(ranked.select(pl.lit(notebook).alias("notebook"), pl.all()))
        else:
            others[f"{notebook}.{path.stem}"] = frame
    empty = RECOMMENDATIONS.empty().select(pl.lit(None, pl.String).alias("notebook"), pl.all())
    tables["recommendations"] = pl.concat([empty, *recommendations], how="vertical_relaxed")
    tables.update(others)
    return tables


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns (lists, structs) as JSON text, for CSV and Excel."""
    nested = [
        name for name, dtype in frame.schema.items() if dtype.is_nested() or dtype == pl.Object
    ]
    if not nested:
        return frame
    return frame.with_columns(
        pl.Series(
            name,
            [
                json.dumps(v, default=str, ensure_ascii=False)
                for v in frame.get_column(name).to_list()
            ],
            pl.String,
        )
        for name in nested
    )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return (
        text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()
    )


def _md_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


_ARROWS = {"better": "✅ better", "worse": "❌ worse", "same": "same", "neutral": ""}


def markdown(run_dir: str | os.PathLike[str], *, top: int = 10) -> str:
    """The run as one Markdown page: figures with their change, the top findings.

    Fits a pull-request comment or a chat message (GitHub-flavoured tables; ``|``
    and line breaks inside cells are escaped).

    Parameters
    ----------
    run_dir : path
        A run directory.
    top : int
        Recommendations listed (by severity, then score); the rest are counted.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"run_id": "r1", "notebooks": [
    ...     {"name": "monitoring", "status": "ok", "figures": [
    ...         {"name": "p95_ms", "value": 240.0, "unit": "ms", "better": "lower"}]}]}))
    >>> print(markdown(d))  # doctest: +NORMALIZE_WHITESPACE
    ### perflab run r1
    1 notebook(s): 1 ok
    <BLANKLINE>
    | Notebook | Figure | Value | Change |
    |---|---|---|---|
    | monitoring | p95_ms | 240 ms |  |
    <BLANKLINE>
    No recommendations published.
    """
    from perflab.errors import positive_int
    from perflab.report.index import format_value

    top = positive_int("top", top)
    root = Path(run_dir)
    manifest = load_run(root)
    tables = run_tables(root)
    counts: dict[str, int] = {}
    for nb in manifest["notebooks"]:
        counts[str(nb.get("status"))] = counts.get(str(nb.get("status")), 0) + 1
    status = ", ".join(f"{n} {s}" for s, n in counts.items())
    lines = [
        f"### perflab run {_cell(manifest['run_id'])}",
        f"{len(manifest['notebooks'])} notebook(s): {status or 'none'}",
    ]
    failed = [nb for nb in manifest["notebooks"] if nb.get("status") != "ok"]
    for nb in failed:
        reason = (nb.get("error") or "no error message").splitlines()[0]
        lines.append(f"- **{_cell(nb['name'])}** {_cell(nb.get('status'))}: {_cell(reason)}")
    figures = tables["figures"]
    if figures.height:
        rows = []
        for r in figures.iter_rows(named=True):
            change = ""
            if r["change"] is not None:
                amount = (
                    f"{r['change_pct']:+.1f} %"
                    if r["change_pct"] is not None
                    else format_value(r["change"], r["unit"])
                )
                change = f"{amount} {_ARROWS.get(r['verdict'] or '', '')}".strip()
            rows.append([r["notebook"], r["label"], format_value(r["value"], r["unit"]), change])
        lines += ["", *_md_table(["Notebook", "Figure", "Value", "Change"], rows)]
    recs = tables["recommendations"]
    if recs.height:
        from perflab.recommend import SEVERITIES

        order = pl.col("severity").replace_strict(
            {sev: i for i, sev in enumerate(SEVERITIES)}, default=len(SEVERITIES)
        )
        ranked = recs.sort(order, pl.col("score"), descending=[False, True], nulls_last=True)
        rows = [
            [r["severity"], r["notebook"], r["subject"], r["finding"], r["action"]]
            for r in ranked.head(top).iter_rows(named=True)
        ]
        lines += [
            "",
            f"**Top recommendations** ({recs.height} in all)",
            "",
            *_md_table(["Severity", "Notebook", "Subject", "Finding", "Action"], rows),
        ]
        if recs.height > top:
            lines.append(f"\n… and {recs.height - top} more.")
    else:
        lines += ["", "No recommendations published."]
    return "\n".join(lines) + "\n"


def _file_name(table: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", table)


def _xlsx(tables: Mapping[str, pl.DataFrame]) -> bytes:
    try:
        import xlsxwriter
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ParameterError("the xlsx format needs xlsxwriter: pip install xlsxwriter") from exc
    buf = io.BytesIO()
    used: set[str] = set()
    with xlsxwriter.Workbook(buf, {"in_memory": True}) as book:
        for name, frame in tables.items():
            sheet = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
            while sheet in used:
                sheet = sheet[:28] + f"~{len(used)}"
            used.add(sheet)
            _flat(frame).write_excel(book, worksheet=sheet, autofit=True)
    return buf.getvalue()


def export(
    run: str | os.PathLike[str] | None = None,
    fmt: Format = "csv",
    *,
    out: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] = "reports",
) -> list[Path]:
    """Write a run's tables in ``fmt``.

    Parameters
    ----------
    run : str or path, optional
        A run id under ``out_dir``, a run directory, or ``None`` for the latest run.
    fmt : {"csv", "json", "parquet", "markdown", "xlsx"}
        ``csv``/``json``/``parquet``: one file per table, ``<table>.<ext>`` (JSON is
        an array of row objects); ``xlsx``: ``<run-id>.xlsx`` with one sheet per
        table; ``markdown``: ``<run-id>.md`` (see :func:`markdown`).
    out : path, optional
        Directory to write into; default ``<run>/export/``.
    out_dir : path
        Reports directory holding the runs.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"run_id": "r1", "notebooks": []}))
    >>> [p.name for p in export(d, "parquet")]
    ['figures.parquet', 'recommendations.parquet']
    """
    if fmt not in FORMATS:
        raise ParameterError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    root = resolve_run(run, out_dir)
    target = Path(out) if out is not None else root / "export"
    run_id = str(load_run(root)["run_id"])
    if fmt == "markdown":
        return [write_atomic(target / f"{run_id}.md", markdown(root))]
    tables = run_tables(root)
    if fmt == "xlsx":
        return [write_atomic(target / f"{run_id}.xlsx", _xlsx(tables))]
    written = []
    for name, frame in tables.items():
        path = target / f"{_file_name(name)}.{fmt}"
        if fmt == "csv":
            written.append(write_atomic(path, _flat(frame).write_csv))
        elif fmt == "json":
            written.append(write_atomic(path, frame.write_json(None).encode()))
        else:
            written.append(write_atomic(path, frame.write_parquet))
    return written


def _anchor(name: str) -> str:
    return "nb-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


def single_html(
    run: str | os.PathLike[str] | None = None, out_dir: str | os.PathLike[str] = "reports"
) -> str:
    """The run's index and every report in one self-contained HTML page.

    Each page is embedded whole in an ``<iframe srcdoc>`` (its styles and scripts
    cannot clash with the others'); the index's links to a report jump to its
    frame, links to other runs and to the ``.ipynb`` files are dropped. Nothing is
    fetched from the network: the pages already inline what they need.

    Parameters
    ----------
    run : str or path, optional
        As for :func:`export`.
    out_dir : path
        Reports directory holding the runs.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"run_id": "r1", "notebooks": [
    ...     {"name": "demo", "status": "ok", "figures": [], "html": "demo.html"}]}))
    >>> _ = (d / "index.html").write_text('<a href="demo.html">demo</a>')
    >>> _ = (d / "demo.html").write_text("<p>6 &times; 7 = 42</p>")
    >>> page = single_html(d)
    >>> 'srcdoc="&lt;p&gt;6 &amp;times; 7 = 42&lt;/p&gt;"' in page
    True
    """
    root = resolve_run(run, out_dir)
    manifest = load_run(root)
    run_id = str(manifest["run_id"])
    pages: list[tuple[str, str, str]] = []
    for nb in manifest["notebooks"]:
        name = str(nb["name"])
        page = root / str(nb.get("html") or "")
        if nb.get("html") and page.is_file():
            pages.append((name, _anchor(name), page.read_text(encoding="utf-8")))
    index_path = root / "index.html"
    index = index_path.read_text(encoding="utf-8") if index_path.is_file() else ""
    for name, anchor, _ in pages:
        from urllib.parse import quote

        for target in {f"{name}.html", quote(f"{name}.html")}:
            index = index.replace(
                f'href="{html.escape(target, quote=True)}"', f'href="#{anchor}" target="_top"'
            )
    index = re.sub(r'<a href="[^"#][^"]*">([^<]*)</a>', r"\1", index)  # other runs, .ipynb files
    title = html.escape(f"perflab run {run_id}")
    nav = " · ".join(f'<a href="#{a}">{html.escape(n)}</a>' for n, a, _ in pages)
    frames = [
        f'<section id="nb-index"><h2>Overview</h2>'
        f'<iframe title="index" srcdoc="{html.escape(index, quote=True)}"></iframe></section>'
    ]
    frames += [
        f'<section id="{a}"><h2>{html.escape(n)}</h2>'
        f'<iframe title="{html.escape(n, quote=True)}" '
        f'srcdoc="{html.escape(text, quote=True)}"></iframe></section>'
        for n, a, text in pages
    ]
    style = (
        "body{font-family:system-ui,sans-serif;margin:0 1rem}"
        "iframe{width:100%;height:90vh;border:1px solid #d1d5db}"
        "nav{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #e5e7eb}"
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body><h1>{title}</h1>"
        f'<nav><a href="#nb-index">overview</a> · {nav}</nav>{"".join(frames)}</body></html>\n'
    )

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
  change``);
- ``statement_durations`` — per-statement durations of a query log (``fingerprint``,
  ``duration_ms``, optionally ``pattern``; 02-queries publishes those of its 50
  costliest patterns) — gets :func:`perflab.loadtest.compare` per pattern present in
  both runs (:func:`compare_query_patterns`): a verdict per pattern, ``slower``,
  ``faster`` or ``no significant change``, with the change of the median and of p95,
  the interval and the adjusted p-value of the change that decided it.

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

from perflab.errors import ParameterError, SchemaError
from perflab.frames import FrameLike, Schema, as_frame
from perflab.report.export import FRAMES_DIR, load_run, resolve_run

__all__ = [
    "QUERY_DURATIONS",
    "QUERY_VERDICTS",
    "RAW_KINDS",
    "Comparison",
    "compare_query_patterns",
    "compare_runs",
    "render_comparison",
    "write_comparison",
]

logger = logging.getLogger(__name__)

RAW_KINDS: dict[str, str] = {
    "requests": "perflab.loadtest.compare",
    "metrics": "perflab.monitoring.compare_windows",
    "statement_durations": "perflab.loadtest.compare, per query pattern",
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


QUERY_DURATIONS = Schema(
    "query statement durations",
    {"fingerprint": pl.String, "pattern": pl.String, "duration_ms": pl.Float64},
)
"""The raw frame ``statement_durations``: one row per statement (other columns kept)."""

QUERY_VERDICTS: tuple[str, ...] = (
    "slower",
    "faster",
    "mixed",
    "no significant change",
    "too few to test",
)
"""Verdicts of :func:`compare_query_patterns`, in the order its rows are sorted."""

_QUERY_COLUMNS: dict[str, Any] = {
    "fingerprint": pl.String,
    "query": pl.String,
    "verdict": pl.String,
    "metric": pl.String,
    "change": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "p_adjusted": pl.Float64,
    "calls_a": pl.Int64,
    "calls_b": pl.Int64,
    "p50_a_ms": pl.Float64,
    "p50_b_ms": pl.Float64,
    "p95_a_ms": pl.Float64,
    "p95_b_ms": pl.Float64,
    "detail": pl.String,
}


def _durations(frame: FrameLike, what: str) -> pl.DataFrame:
    try:
        data = QUERY_DURATIONS.conform(as_frame(frame), required=["fingerprint", "duration_ms"])
    except SchemaError as exc:
        raise SchemaError(
            f"{what} ({exc.what})", missing=exc.missing, mistyped=exc.mistyped, detail=exc.detail
        ) from None
    return data.filter(pl.col("fingerprint").is_not_null() & pl.col("duration_ms").is_finite())


def compare_query_patterns(
    baseline: FrameLike,
    candidate: FrameLike,
    *,
    margin: float = 0.05,
    alpha: float = 0.05,
    min_statements: int = 5,
) -> pl.DataFrame:
    """Each query pattern of run B against run A: slower, faster or no significant change.

    The durations of the statements of every pattern (``fingerprint``) found in both
    runs go through :func:`perflab.loadtest.compare` (``by="name"``, metrics ``p50``
    and ``p95``): the median's change is tested with Mann–Whitney U, p95's also with
    the quantile test, the intervals of the ratios are bootstrapped (normal theory
    above 2,000 statements a side), and the p-values are adjusted together
    (Benjamini–Hochberg) over every pattern and both metrics, so a log of many
    patterns does not buy false alarms.

    Parameters
    ----------
    baseline, candidate : frame-like
        :data:`QUERY_DURATIONS` frames of run A and run B: ``fingerprint``,
        ``duration_ms`` and, optionally, ``pattern`` (the normalised query).
    margin : float
        The relative change that does not matter (0.05 = ±5 %): a significant change
        must be beyond it to be called slower or faster.
    alpha : float
        Significance level of the adjusted p-values; 1 − confidence of the intervals.
    min_statements : int
        Fewest statements a side for a pattern to be tested (at least 5: below that
        no interval is honest); patterns with fewer are listed ``too few to test``.

    Returns
    -------
    polars.DataFrame
        One row per pattern in both runs: ``fingerprint, query, verdict, metric,
        change, ci_low, ci_high, p_value, p_adjusted, calls_a, calls_b, p50_a_ms, p50_b_ms,
        p95_a_ms, p95_b_ms, detail``. ``verdict`` is ``slower`` (p50 or p95 called
        slower, neither faster), ``faster``, ``mixed`` (one of each), ``no significant
        change`` (neither called slower or faster: ``detail`` gives the test's own
        verdicts, ``equivalent`` or ``inconclusive``) or ``too few to test``.
        ``metric`` names the statistic whose change, interval (relative: 0.5 =
        50 % slower), p-value and adjusted p-value are shown: the one that decided the verdict,
        else p50. Sorted by verdict (:data:`QUERY_VERDICTS`), then p-value.

    Raises
    ------
    SchemaError
        A frame lacks ``fingerprint`` or ``duration_ms``.
    ParameterError
        No pattern is in both runs; a bad option.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> def log(scale):
    ...     return pl.DataFrame({"fingerprint": ["a"] * 200 + ["b"] * 200,
    ...         "duration_ms": np.r_[rng.lognormal(1, 0.3, 200) * scale,
    ...                              rng.lognormal(2, 0.3, 200)]})
    >>> r = compare_query_patterns(log(1.0), log(1.5))
    >>> r.select("fingerprint", "verdict", "metric", pl.col("change").round(1)).rows()
    [('a', 'slower', 'p50', 0.5), ('b', 'no significant change', 'p50', -0.0)]
    """
    from perflab.loadtest import compare
    from perflab.stats import QUANTILE_METHOD

    if not (isinstance(min_statements, int) and min_statements >= 5):
        raise ParameterError(
            f"min_statements must be an integer of at least 5, not {min_statements!r}"
        )
    a, b = _durations(baseline, "run A's statements"), _durations(candidate, "run B's statements")

    def stats(df: pl.DataFrame, side: str) -> pl.DataFrame:
        return df.group_by("fingerprint").agg(
            pl.col("pattern").drop_nulls().first().alias(f"query_{side}"),
            pl.len().cast(pl.Int64).alias(f"calls_{side}"),
            pl.col("duration_ms").median().alias(f"p50_{side}_ms"),
            pl.col("duration_ms").quantile(0.95, QUANTILE_METHOD).alias(f"p95_{side}_ms"),
        )

    both = stats(a, "a").join(stats(b, "b"), on="fingerprint", how="inner")
    if both.height == 0:
        raise ParameterError(
            f"no query pattern appears in both runs (A has {a['fingerprint'].n_unique()}, "
            f"B has {b['fingerprint'].n_unique()}): nothing to compare"
        )
    enough = (pl.col("calls_a") >= min_statements) & (pl.col("calls_b") >= min_statements)
    tested = both.filter(enough).get_column("fingerprint")
    results: dict[str, dict[str, dict[str, Any]]] = {}
    if tested.len():
        keep = pl.col("fingerprint").is_in(tested.implode())
        side_a, side_b = (
            df.filter(keep).select(
                pl.col("fingerprint").alias("name"), pl.col("duration_ms").alias("latency_ms")
            )
            for df in (a, b)
        )
        table = compare(
            side_a, side_b, metrics=("p50", "p95"), by="name", margin=margin, alpha=alpha
        )
        for r in table.iter_rows(named=True):
            results.setdefault(r["name"], {})[r["metric"]] = r
    rows = []
    for r in both.iter_rows(named=True):
        row = {k: r[k] for k in _QUERY_COLUMNS if k in r}
        row["query"] = r["query_b"] or r["query_a"]
        found = results.get(r["fingerprint"])
        if found is None:
            row.update(
                verdict="too few to test", detail=f"fewer than {min_statements} statements a side"
            )
            rows.append(row)
            continue
        verdicts = {m: found[m]["verdict"] for m in ("p50", "p95")}
        slower = [m for m, v in verdicts.items() if v == "slower"]
        faster = [m for m, v in verdicts.items() if v == "faster"]
        if slower and faster:
            verdict, metric = "mixed", "p50"
        elif slower or faster:
            verdict, metric = ("slower", slower[0]) if slower else ("faster", faster[0])
        else:
            verdict, metric = "no significant change", "p50"
        shown = found[metric]
        row.update(
            verdict=verdict,
            metric=metric,
            change=shown["change"],
            ci_low=shown["ci_low"],
            ci_high=shown["ci_high"],
            p_value=shown["p_value"],
            p_adjusted=shown["p_adjusted"],
            detail=", ".join(f"{m} {v}" for m, v in verdicts.items()),
        )
        rows.append(row)
    order = {v: i for i, v in enumerate(QUERY_VERDICTS)}
    return pl.DataFrame(rows, schema=_QUERY_COLUMNS).sort(
        pl.col("verdict").replace_strict(order, return_dtype=pl.Int64),
        pl.col("p_adjusted"),
        pl.col("calls_b"),
        descending=[False, False, True],
        nulls_last=True,
    )


def _test(kind: str, path_a: Path, path_b: Path) -> tuple[pl.DataFrame, list[str]]:
    """The domain's comparison of two published raw frames, and notes on what was left out."""
    if kind == "requests":
        from perflab.loadtest import compare

        return compare(pl.read_parquet(path_a), pl.read_parquet(path_b)), []
    if kind == "statement_durations":
        a, b = pl.read_parquet(path_a), pl.read_parquet(path_b)
        result = compare_query_patterns(a, b)
        notes = []
        for side, df, other in (("A", a, b), ("B", b, a)):
            if "fingerprint" in df.columns and "fingerprint" in other.columns:
                alone = df.get_column("fingerprint").drop_nulls().unique()
                n = alone.filter(~alone.is_in(other.get_column("fingerprint").implode())).len()
                if n:
                    notes.append(f"{n} query pattern(s) only in run {side}: not tested.")
        return result, notes
    from perflab.monitoring import compare_windows

    return compare_windows(
        None, baseline=pl.read_parquet(path_a), current=pl.read_parquet(path_b)
    ), []


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
            tests[f"{notebook}/{kind}"], left_out = _test(kind, raw[key], raw_b[key])
            notes += [f"{notebook}: {note}" for note in left_out]
        except Exception as exc:  # one bad frame must not sink the comparison
            notes.append(f"{notebook}: {kind} could not be compared: {type(exc).__name__}: {exc}")
    if not raw and not raw_b:
        notes.append(
            "Neither run kept raw data, so the changes of the figures are not tested for "
            "significance. A notebook keeps it with perflab.report.publish('requests', "
            "frame) (load test), publish('metrics', frame) (metrics) or "
            "publish('statement_durations', frame) (query log)."
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

"""The overview a lead reads first: one run across every domain, and how it moved.

:func:`load` gathers, for one run, what the domain notebooks left behind — their
headline figures (``manifest.json``) and the frames they published with
:func:`perflab.report.publish` (``recommendations`` and ``events``) — and the history
of earlier runs. From it:

- :func:`top_recommendations` — every domain's findings ranked together (severity
  first, then the domains taking turns, each in its own score order), each with the
  domain report that explains it;
- :func:`headlines` — every headline figure with its previous value, its last ``N``
  values and the run where its level last changed (:func:`perflab.report.trend`);
- :func:`what_changed` — since the previous run: figures that moved beyond a margin,
  findings that are new or gone, notebooks that started or stopped failing;
- the run's events on one axis (:attr:`Overview.events`), for
  :func:`perflab.timeline.likely_causes`.

It reads only the run directory and the history — the shapes every domain shares —
never a domain's internals. Inside a report run the overview notebook runs after the
others (its metadata says ``"perflab": {"after": "all"}``), and :func:`current_run`
finds their results in the run being written.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from perflab.errors import ParameterError, positive_int
from perflab.events import as_events, empty
from perflab.recommend import RECOMMENDATIONS, SEVERITIES, rank
from perflab.report.export import FRAMES_DIR, load_run, resolve_run
from perflab.report.figures import FIGURES_ENV
from perflab.report.store import HISTORY, changes, read_history, run_frame

__all__ = [
    "Overview",
    "current_run",
    "headlines",
    "load",
    "top_recommendations",
    "what_changed",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overview:
    """One run's results across domains, next to the history before it.

    Attributes
    ----------
    run_dir : Path
        The run's directory (a finished run, or the one being written).
    run_id : str
        Its id.
    started_at : datetime
        When it started (UTC).
    manifest : dict
        Its manifest (provisional while the run is being written).
    figures : polars.DataFrame
        This run's headline figures: ``notebook, figure, label, value, unit, better``.
    history : polars.DataFrame
        :data:`~perflab.report.store.HISTORY` of the earlier runs and this one.
    recommendations : polars.DataFrame
        Every notebook's published recommendations, ``notebook`` first, then the
        shared columns; unranked.
    events : polars.DataFrame
        Every notebook's published events (:data:`perflab.events.EVENTS`) in time order.
    previous_run : str or None
        The latest earlier run that ran any of this run's notebooks.
    previous_runs : dict of str to str
        For each notebook of this run, the latest earlier run that ran it, whatever
        its status (a batch may run some notebooks only: ``perflab run --only``).
    page_dir : Path
        Where the overview page is written (the run being written, in a report run;
        else the working directory): links to the domain reports are relative to it.
    """

    run_dir: Path
    run_id: str
    started_at: datetime
    manifest: dict[str, Any]
    figures: pl.DataFrame
    history: pl.DataFrame
    recommendations: pl.DataFrame
    events: pl.DataFrame
    previous_run: str | None
    previous_runs: dict[str, str]
    page_dir: Path = Path()

    @property
    def reports_dir(self) -> Path:
        """The reports directory the run belongs to."""
        return self.run_dir.parent

    def _link(self, html: object) -> str | None:
        """The path of a report of this run, relative to the overview page."""
        if not isinstance(html, str) or not html:
            return None
        target = os.path.relpath(self.run_dir / html, self.page_dir.resolve())
        return Path(target).as_posix()

    def notebooks(self) -> pl.DataFrame:
        """The domain notebooks of the run: ``notebook, status, report, seconds``.

        ``report`` is the notebook's page, relative to :attr:`page_dir`.
        """
        rows = [
            {
                "notebook": str(nb["name"]),
                "status": str(nb.get("status", "")),
                "report": self._link(nb.get("html")),
                "seconds": float(nb.get("duration_s") or 0.0),
            }
            for nb in self.manifest.get("notebooks", [])
        ]
        schema = {"notebook": pl.String, "status": pl.String, "report": pl.String}
        return pl.DataFrame(rows, schema={**schema, "seconds": pl.Float64})


def current_run(
    run: str | os.PathLike[str] | None = None, reports: str | os.PathLike[str] = "reports"
) -> Path:
    """The run to give an overview of.

    ``run`` (a run id under ``reports`` or a run directory) when given. Otherwise, in
    a report run, the run being written (found from ``PERFLAB_FIGURES``, which the
    runner points into it) when other notebooks of the batch wrote a provisional
    manifest there, else the latest earlier run with other notebooks' results (so
    ``perflab run --only reporting`` gives an overview of the last full batch);
    outside a run, the latest run under ``reports``.

    Raises
    ------
    ParameterError
        When there is no such run.

    Examples
    --------
    >>> import tempfile
    >>> current_run(None, tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: no latest run (no manifest.json); no runs under ...
    """
    if run not in (None, ""):
        return resolve_run(run, reports)
    target = os.environ.get(FIGURES_ENV)
    if target:
        here = Path(target).parent
        me = Path(target).name.removeprefix(".").removesuffix(".figures.jsonl")
        if _has_others(here, me):
            return here.resolve()
        for candidate in sorted(here.parent.glob("*/manifest.json"), reverse=True):
            run_dir = candidate.parent
            if not run_dir.is_symlink() and _has_others(run_dir, me):
                return run_dir.resolve()
        return resolve_run(None, here.parent)
    return resolve_run(None, reports)


def _has_others(run_dir: Path, me: str) -> bool:
    """Whether the run in ``run_dir`` holds results of notebooks other than ``me``."""
    if not (run_dir / "manifest.json").is_file():
        return False
    try:
        return any(str(nb.get("name")) != me for nb in load_run(run_dir)["notebooks"])
    except Exception:  # an unreadable manifest: not a run to read
        logger.warning("cannot read the manifest of %s", run_dir)
        return False


def _run_id(run_dir: Path, manifest: dict[str, Any]) -> str:
    name = str(manifest.get("run_id") or run_dir.name)
    if name.startswith(".") and name.endswith(".partial"):  # the run being written
        name = name[1:].removesuffix(".partial")
    return name


def _started(manifest: dict[str, Any]) -> datetime:
    text = manifest.get("started_at")
    if not text:
        return datetime.now(UTC)
    when = datetime.fromisoformat(str(text))
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _me() -> str | None:
    """The notebook this overview runs in, in a report run (not one of the domains)."""
    target = os.environ.get(FIGURES_ENV)
    return Path(target).name.removeprefix(".").removesuffix(".figures.jsonl") if target else None


def _runs(reports: Path) -> list[tuple[datetime, str, dict[str, Any]]]:
    """Every finished run's (start, id, manifest) under ``reports``, oldest first."""
    found = []
    for path in reports.glob("*/manifest.json"):
        run_dir = path.parent
        if run_dir.is_symlink() or run_dir.name.startswith("."):
            continue
        try:
            manifest = load_run(run_dir)
        except Exception:  # an unreadable manifest: not a run to compare with
            continue
        found.append((_started(manifest), _run_id(run_dir, manifest), manifest))
    return sorted(found, key=lambda r: (r[0], r[1]))


def _previous_runs(
    reports: Path, run_id: str, started: datetime, notebooks: set[str], past: pl.DataFrame
) -> dict[str, str]:
    """For each notebook, the latest earlier run that ran it (its manifest, else history)."""
    latest: dict[str, tuple[datetime, str]] = {}
    for when, rid, manifest in _runs(reports):
        if rid == run_id or (when, rid) >= (started, run_id):
            continue
        for nb in manifest["notebooks"]:
            if nb["name"] in notebooks:
                latest[str(nb["name"])] = (when, rid)
    # runs whose directory was cleaned away still have their figures in the history
    for book, when, rid in (
        past.filter(pl.col("notebook").is_in(list(notebooks)))
        .group_by("notebook")
        .agg(pl.col("started_at", "run_id").sort_by("started_at", "run_id").last())
        .iter_rows()
    ):
        if book not in latest or (when, rid) > latest[book]:
            latest[book] = (when, rid)
    return {book: rid for book, (_, rid) in latest.items()}


def _starts(reports: Path, past: pl.DataFrame, run_ids: set[str]) -> dict[str, datetime]:
    """When each of ``run_ids`` started (from the history, else its manifest)."""
    starts = dict(
        past.filter(pl.col("run_id").is_in(list(run_ids)))
        .group_by("run_id")
        .agg(pl.col("started_at").first())
        .iter_rows()
    )
    for when, rid, _ in _runs(reports) if len(starts) < len(run_ids) else []:
        if rid in run_ids:
            starts.setdefault(rid, when)
    return starts


def _published(run_dir: Path, name: str) -> list[tuple[str, pl.DataFrame]]:
    found = []
    for path in sorted((run_dir / FRAMES_DIR).glob(f"*/{name}.parquet")):
        try:
            found.append((path.parent.name, pl.read_parquet(path)))
        except Exception as exc:  # one unreadable frame must not hide the rest
            logger.warning("skipped unreadable published frame %s: %s", path, exc)
    return found


def load(
    run: str | os.PathLike[str] | None = None, reports: str | os.PathLike[str] = "reports"
) -> Overview:
    """Gather one run's figures, recommendations and events with the history.

    Parameters
    ----------
    run : str or path, optional
        As for :func:`current_run` (default: the run being written, else the latest).
    reports : path
        The reports directory (``perflab run --out``).

    Returns
    -------
    Overview

    Raises
    ------
    ParameterError
        When there is no such run.

    Examples
    --------
    >>> import json, tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"run_id": "r1",
    ...     "started_at": "2026-03-02T16:00:00+00:00", "notebooks": [{"name": "api",
    ...     "status": "ok", "figures": [{"name": "p95_ms", "value": 120, "unit": "ms",
    ...     "better": "lower"}]}]}))
    >>> o = load(d)
    >>> o.run_id, o.figures.select("notebook", "figure", "value").row(0), o.previous_run
    ('r1', ('api', 'p95_ms', 120.0), None)
    """
    run_dir = current_run(run, reports)
    manifest = load_run(run_dir)
    me = _me()
    manifest = {**manifest, "notebooks": [nb for nb in manifest["notebooks"] if nb["name"] != me]}
    run_id = _run_id(run_dir, manifest)
    started = _started(manifest)
    by_notebook = {str(nb["name"]): list(nb.get("figures") or []) for nb in manifest["notebooks"]}
    this = run_frame(run_id, started, by_notebook)
    labels = pl.DataFrame(
        [
            {"notebook": book, "figure": str(f["name"]), "label": f.get("label") or f["name"]}
            for book, figs in by_notebook.items()
            for f in figs
        ],
        schema={"notebook": pl.String, "figure": pl.String, "label": pl.String},
    )
    figures = this.join(labels, on=["notebook", "figure"], how="left").select(
        "notebook", "figure", "label", "value", "unit", "better"
    )
    past = read_history(run_dir.parent).filter(pl.col("run_id") != run_id)
    past = past.filter(pl.col("started_at") <= started)
    history = pl.concat([past, HISTORY.validate(this)], how="vertical").sort(
        "started_at", "run_id", "notebook", "figure"
    )
    previous_runs = _previous_runs(run_dir.parent, run_id, started, set(by_notebook), past)
    starts = _starts(run_dir.parent, past, set(previous_runs.values()))
    previous = max(starts, key=lambda r: (starts[r], r)) if starts else None

    recommendations = _recommendations(run_dir)
    evs = [
        as_events(frame)
        for book, frame in _published(run_dir, "events")
        if _valid(as_events, frame, book, "events")
    ]
    events = (
        pl.concat([empty(), *evs], how="diagonal_relaxed").sort("time", maintain_order=True)
        if evs
        else empty()
    )
    page = Path(os.environ[FIGURES_ENV]).parent if os.environ.get(FIGURES_ENV) else Path.cwd()
    return Overview(
        page_dir=page,
        run_dir=run_dir,
        run_id=run_id,
        started_at=started,
        manifest=manifest,
        figures=figures,
        history=history,
        recommendations=recommendations,
        events=events,
        previous_run=previous,
        previous_runs=previous_runs,
    )


def _recommendations(run_dir: Path, notebook: str | None = None) -> pl.DataFrame:
    """The recommendations the notebooks of a run published, ``notebook`` first."""
    found = [
        RECOMMENDATIONS.validate(frame).select(pl.lit(book).alias("notebook"), pl.all())
        for book, frame in _published(run_dir, "recommendations")
        if notebook in (None, book)
        and _valid(RECOMMENDATIONS.validate, frame, book, "recommendations")
    ]
    base = RECOMMENDATIONS.empty().select(pl.lit(None, pl.String).alias("notebook"), pl.all())
    return pl.concat([base, *found], how="vertical_relaxed")


def _valid(check: Any, frame: pl.DataFrame, notebook: str, name: str) -> bool:
    try:
        check(frame)
    except Exception as exc:
        logger.warning("%s's published %r is not in the shared shape: %s", notebook, name, exc)
        return False
    return True


def _report_link(overview: Overview) -> pl.DataFrame:
    return overview.notebooks().select("notebook", "report")


def top_recommendations(overview: Overview, n: int = 10) -> pl.DataFrame:
    """Every domain's findings ranked together, the first ``n``, with their report.

    The shared order of :func:`perflab.recommend.rank` — severity first, then score —
    holds within a domain, but scores are not comparable across domains (one domain
    scores in milliseconds saved, another in bytes or MB per hour). So across domains,
    within a severity, findings take turns: each domain's first finding of that
    severity (by its own score), then each domain's second, and so on; in a turn, the
    finding with the larger share of its domain's total score of that severity comes
    first. A lead sees the worst of every domain before the fourth of one.

    Returns
    -------
    polars.DataFrame
        ``rank, notebook, report`` then the shared recommendation columns; ``report``
        is the domain page (relative to the run directory) that explains the finding.

    Examples
    --------
    >>> import json, tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text('{"run_id": "r1", "notebooks": []}')
    >>> top_recommendations(load(d)).height
    0
    """
    n = positive_int("n", n)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    group = ["notebook", "_order"]
    score = pl.col("score").fill_nan(None).fill_null(0.0).clip(lower_bound=0.0)
    total = score.sum().over(group)
    recs = overview.recommendations
    each = [  # every notebook's findings in the shared order of perflab.recommend.rank
        rank(part.drop("notebook")).select(pl.lit(book).alias("notebook"), pl.all())
        for (book,), part in recs.partition_by(
            "notebook", as_dict=True, maintain_order=True
        ).items()
    ]
    ranked = (
        pl.concat([recs.head(0), *each], how="vertical_relaxed")
        .with_columns(pl.col("severity").replace_strict(order, default=len(order)).alias("_order"))
        .with_columns(
            pl.int_range(pl.len()).over(group).alias("_turn"),
            pl.when(total > 0).then(score / total).otherwise(0.0).alias("_share"),
        )
        .sort(
            ["_order", "_turn", "_share", "notebook"],
            descending=[False, False, True, False],
            maintain_order=True,
        )
        .drop("_order", "_turn", "_share")
        .head(n)
    )
    return (
        ranked.join(_report_link(overview), on="notebook", how="left", maintain_order="left")
        .with_row_index("rank", offset=1)
        .select("rank", "notebook", "report", pl.exclude("rank", "notebook", "report"))
    )


def headlines(overview: Overview, runs: int = 20, *, significance: float = 0.05) -> pl.DataFrame:
    """Every headline figure of the run, with its previous value and its trend.

    Parameters
    ----------
    overview : Overview
    runs : int
        How many of the latest runs (this one included) the trend looks at.
    significance : float
        Level of the change-point test (:func:`perflab.report.trend`).

    Returns
    -------
    polars.DataFrame
        ``notebook, figure, label, value, unit, better, previous, change_pct,
        verdict`` (vs the previous run that had the figure), ``values`` (the last
        ``runs`` values, oldest first), ``shift_run`` (the run where the level last
        changed significantly, null when it held), ``shift_pct`` and
        ``shift_verdict`` (``worse``/``better``/``neutral``).

    Examples
    --------
    >>> import json, tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"run_id": "r1", "notebooks": [
    ...     {"name": "api", "status": "ok", "figures": [{"name": "p95_ms", "value": 120,
    ...      "unit": "ms", "better": "lower"}]}]}))
    >>> headlines(load(d)).select("figure", "value", "previous", "values").row(0)
    ('p95_ms', 120.0, None, [120.0])
    """
    from perflab.report.trend import trend

    runs = positive_int("runs", runs)
    keys = ["notebook", "figure"]
    delta = changes(overview.history, overview.run_id).select(
        *keys, "previous", "change_pct", "verdict"
    )
    recent = (
        overview.history.sort("started_at", "run_id")
        .group_by(keys)
        .agg(pl.col("value").tail(runs).alias("values"))
    )
    shifts = []
    for notebook, figure in overview.figures.select(keys).iter_rows():
        found = trend(
            figure,
            runs=runs,
            notebook=notebook,
            history=overview.history,
            significance=significance,
        )
        if found.height:
            last = found.row(-1, named=True)
            shifts.append(
                {
                    "notebook": notebook,
                    "figure": figure,
                    "shift_run": last["run_id"],
                    "shift_pct": last["change_pct"],
                    "shift_verdict": last["verdict"],
                }
            )
    shift_schema = {
        "notebook": pl.String,
        "figure": pl.String,
        "shift_run": pl.String,
        "shift_pct": pl.Float64,
        "shift_verdict": pl.String,
    }
    return (
        overview.figures.join(delta, on=keys, how="left")
        .join(recent, on=keys, how="left")
        .join(pl.DataFrame(shifts, schema=shift_schema), on=keys, how="left")
    )


def what_changed(overview: Overview, *, margin: float = 0.05) -> dict[str, pl.DataFrame]:
    """What is different from the previous run.

    Parameters
    ----------
    overview : Overview
    margin : float
        A figure counts as moved when it changed by more than this fraction of its
        previous value (0.05 = 5 %) in a direction that matters (it has ``better``).

    Returns
    -------
    dict of str to polars.DataFrame
        ``"figures"``: the figures that moved (``notebook, figure, label, previous,
        value, change_pct, verdict``), worse first, the largest change first;
        ``"new"`` and ``"gone"``: findings (``notebook, severity, rule, subject,
        finding``) in this run and not the previous one, and the other way round —
        matched on notebook, rule and subject, each notebook against the latest earlier
        run that ran it (:attr:`Overview.previous_runs`); ``"status"``: notebooks whose
        status changed (``notebook, previous, status``); ``"not_compared"``: the
        notebooks whose findings could not be compared (``notebook, previous_run,
        why``: their first run, or the previous run's directory was cleaned away and
        only its figures remain in the history).

    Raises
    ------
    ParameterError
        ``margin`` is negative.

    Examples
    --------
    >>> import json, tempfile
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text('{"run_id": "r1", "notebooks": []}')
    >>> {k: v.height for k, v in what_changed(load(d)).items()}
    {'figures': 0, 'new': 0, 'gone': 0, 'status': 0, 'not_compared': 0}
    """
    if not margin >= 0:
        raise ParameterError(f"margin must be 0 or more, not {margin!r}")
    keys = ["notebook", "figure"]
    moved = (
        changes(overview.history, overview.run_id)
        .join(overview.figures.select(*keys, "label"), on=keys, how="left")
        .filter(
            pl.col("verdict").is_in(["better", "worse"])
            & (pl.col("change").abs() > margin * pl.col("previous").abs())
        )
        .with_columns(
            (pl.col("verdict") == "better").alias("_better"),
            pl.col("change_pct").abs().alias("_size"),
        )
        .sort(["_better", "_size"], descending=[False, True], nulls_last=True)
        .select(*keys, "label", "previous", "value", "change_pct", "verdict")
    )
    finding_cols = ["notebook", "severity", "rule", "subject", "finding"]
    match = ["notebook", "rule", "subject"]
    now = overview.recommendations.select(finding_cols)
    before = now.head(0)
    before_frames: list[pl.DataFrame] = []
    was: dict[str, str] = {}
    compared: list[str] = []
    unknown: list[dict[str, str | None]] = []
    for notebook in sorted(overview.notebooks().get_column("notebook")):
        run_id = overview.previous_runs.get(notebook)
        if run_id is None:
            unknown.append({"notebook": notebook, "previous_run": None, "why": "first run"})
            continue
        previous_dir = overview.reports_dir / run_id
        if not (previous_dir / "manifest.json").is_file():
            why = "its run directory is gone (only its figures are in the history)"
            unknown.append({"notebook": notebook, "previous_run": run_id, "why": why})
            continue
        compared.append(notebook)
        before_frames.append(_recommendations(previous_dir, notebook))
        for nb in load_run(previous_dir)["notebooks"]:
            if str(nb["name"]) == notebook:
                was[notebook] = str(nb.get("status"))
    if before_frames:
        before = pl.concat(before_frames, how="vertical_relaxed").select(finding_cols)
    now = now.filter(pl.col("notebook").is_in(compared))
    status = (
        overview.notebooks()
        .select(
            "notebook",
            pl.col("notebook")
            .replace_strict(was, default=None, return_dtype=pl.String)
            .alias("previous"),
            "status",
        )
        .filter(pl.col("previous").is_not_null() & (pl.col("previous") != pl.col("status")))
    )
    return {
        "figures": moved,
        "new": now.join(before, on=match, how="anti"),
        "gone": before.join(now, on=match, how="anti"),
        "status": status,
        "not_compared": pl.DataFrame(
            unknown, schema={"notebook": pl.String, "previous_run": pl.String, "why": pl.String}
        ),
    }

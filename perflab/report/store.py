"""The history of headline figures across runs, for trends and run-to-run change.

Each run writes one Parquet file, ``<out>/history/<run-id>.parquet``, atomically (a
reader sees the whole file or none of it); :func:`read_history` reads them back as one
polars frame. Nothing is ever rewritten, so concurrent runs cannot lose each other's
rows. A file that cannot be read (cut short by a crash, copied in from elsewhere, of
another schema) is skipped with one warning, so it never makes later runs fail.

History frame (:data:`HISTORY`)::

    run_id      str                  the run directory name
    started_at  datetime[us, UTC]    when the run started
    notebook    str                  notebook name (file stem without the NN- prefix)
    figure      str                  figure name
    value       f64
    unit        str
    better      str (nullable)       "lower", "higher" or null
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from perflab.frames import UTC_DATETIME, Schema, write_atomic

logger = logging.getLogger(__name__)

__all__ = [
    "HISTORY",
    "append_run",
    "changes",
    "history_dir",
    "read_history",
    "run_frame",
    "trends",
    "value_before",
]

HISTORY = Schema(
    "history",
    {
        "run_id": pl.String,
        "started_at": UTC_DATETIME,
        "notebook": pl.String,
        "figure": pl.String,
        "value": pl.Float64,
        "unit": pl.String,
        "better": pl.String,
    },
    extra=False,
    finite=("value",),
)


def history_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Where the history of runs under ``out_dir`` lives: ``<out_dir>/history``.

    Examples
    --------
    >>> history_dir("reports").as_posix()
    'reports/history'
    """
    return Path(out_dir) / "history"


def run_frame(
    run_id: str,
    started_at: datetime,
    figures: Mapping[str, Iterable[Mapping[str, Any]]],
) -> pl.DataFrame:
    """One run's figures as rows of the :data:`HISTORY` frame.

    Parameters
    ----------
    run_id : str
        The run's directory name.
    started_at : datetime
        Start of the run; naive datetimes are taken as UTC.
    figures : mapping of notebook name to figures
        Each figure a mapping with ``name``, ``value``, ``unit`` and ``better``. A
        figure recorded twice by one notebook keeps its last value.

    Examples
    --------
    >>> from datetime import UTC
    >>> figs = {"monitoring": [{"name": "p95_ms", "value": 240, "unit": "ms", "better": "lower"}]}
    >>> frame = run_frame("r1", datetime(2026, 1, 1, tzinfo=UTC), figs)
    >>> frame.select("notebook", "figure", "value")
    shape: (1, 3)
    ┌────────────┬────────┬───────┐
    │ notebook   ┆ figure ┆ value │
    │ ---        ┆ ---    ┆ ---   │
    │ str        ┆ str    ┆ f64   │
    ╞════════════╪════════╪═══════╡
    │ monitoring ┆ p95_ms ┆ 240.0 │
    └────────────┴────────┴───────┘
    """
    rows = [
        {
            "notebook": notebook,
            "figure": str(fig["name"]),
            "value": float(fig["value"]),
            "unit": str(fig.get("unit") or ""),
            "better": fig.get("better"),
        }
        for notebook, figs in figures.items()
        for fig in figs
    ]
    body = pl.DataFrame(
        rows,
        schema={
            "notebook": pl.String,
            "figure": pl.String,
            "value": pl.Float64,
            "unit": pl.String,
            "better": pl.String,
        },
    ).unique(["notebook", "figure"], keep="last", maintain_order=True)
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    else:
        started_at = started_at.astimezone(UTC)
    return HISTORY.validate(
        body.with_columns(
            pl.lit(run_id, pl.String).alias("run_id"),
            pl.lit(started_at, UTC_DATETIME).alias("started_at"),
        )
    )


def append_run(
    out_dir: str | os.PathLike[str],
    run_id: str,
    started_at: datetime,
    figures: Mapping[str, Iterable[Mapping[str, Any]]],
) -> Path:
    """Write one run's figures to the history, as ``history/<run_id>.parquet``.

    Parameters
    ----------
    out_dir : path
        The reports directory (the history goes under ``out_dir/history``).
    run_id, started_at, figures
        As for :func:`run_frame`.

    Returns
    -------
    Path
        The file written (also when the run recorded no figures).

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC
    >>> out = tempfile.mkdtemp()
    >>> figs = {"monitoring": [{"name": "p95_ms", "value": 240, "unit": "ms", "better": "lower"}]}
    >>> append_run(out, "20260101T000000Z", datetime(2026, 1, 1, tzinfo=UTC), figs).name
    '20260101T000000Z.parquet'
    >>> read_history(out).select("run_id", "notebook", "figure", "value")
    shape: (1, 4)
    ┌──────────────────┬────────────┬────────┬───────┐
    │ run_id           ┆ notebook   ┆ figure ┆ value │
    │ ---              ┆ ---        ┆ ---    ┆ ---   │
    │ str              ┆ str        ┆ str    ┆ f64   │
    ╞══════════════════╪════════════╪════════╪═══════╡
    │ 20260101T000000Z ┆ monitoring ┆ p95_ms ┆ 240.0 │
    └──────────────────┴────────────┴────────┴───────┘
    """
    buf = io.BytesIO()
    run_frame(run_id, started_at, figures).write_parquet(buf)
    return write_atomic(history_dir(out_dir) / f"{run_id}.parquet", buf.getvalue())


def read_history(out_dir: str | os.PathLike[str]) -> pl.DataFrame:
    """Every run's figures under ``out_dir``, oldest run first.

    Files that cannot be read as a history frame are left in place and skipped, with
    one warning naming them.

    Returns
    -------
    polars.DataFrame
        The :data:`HISTORY` columns, sorted by ``started_at``, ``run_id``,
        ``notebook``, ``figure``; an empty frame of that schema when there is no
        history yet.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> read_history(out).columns
    ['run_id', 'started_at', 'notebook', 'figure', 'value', 'unit', 'better']
    >>> _ = write_atomic(history_dir(out) / "cut.parquet", b"PAR1 cut short")
    >>> read_history(out).height
    0
    """
    files = sorted(p for p in history_dir(out_dir).glob("*.parquet") if not p.name.startswith("."))
    if not files:
        return HISTORY.empty()
    try:  # one call reads a thousand small files ten times faster than a loop
        whole = HISTORY.validate(pl.read_parquet(files))
    except Exception:  # a bad file: read them one by one to find and skip it
        return _read_each(out_dir, files)
    return whole.sort("started_at", "run_id", "notebook", "figure")


def _read_each(out_dir: str | os.PathLike[str], files: list[Path]) -> pl.DataFrame:
    """:func:`read_history` file by file, skipping (with a warning) what does not read."""
    frames: list[pl.DataFrame] = []
    skipped: list[str] = []
    for path in files:
        try:
            frames.append(HISTORY.validate(pl.read_parquet(path)))
        except Exception as exc:  # cut short, not Parquet, another schema: never fatal
            first = next(iter(str(exc).splitlines()), "")
            skipped.append(f"{path.name} ({type(exc).__name__}: {first})")
    if skipped:
        logger.warning(
            "skipped %d unreadable history file(s) in %s (move them away to silence this): %s",
            len(skipped),
            history_dir(out_dir),
            "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else ""),
        )
    if not frames:
        return HISTORY.empty()
    return pl.concat(frames, how="vertical").sort("started_at", "run_id", "notebook", "figure")


def value_before(
    history: pl.DataFrame, notebook: str, figure: str, *, before: str | None = None
) -> float | None:
    """The value of ``notebook``/``figure`` in the latest run before run ``before``.

    Parameters
    ----------
    history : polars.DataFrame
        As returned by :func:`read_history`.
    notebook, figure : str
        Which figure.
    before : str, optional
        A run id; runs that started at or after it are ignored. ``None`` gives the
        latest value of all.

    Returns
    -------
    float or None
        ``None`` when no earlier run recorded the figure.

    Examples
    --------
    >>> from datetime import UTC
    >>> h = pl.DataFrame({
    ...     "run_id": ["a", "b"], "notebook": ["m", "m"], "figure": ["p95", "p95"],
    ...     "value": [250.0, 240.0], "unit": ["ms", "ms"], "better": ["lower", "lower"],
    ...     "started_at": [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)],
    ... })
    >>> value_before(h, "m", "p95", before="b")
    250.0
    >>> value_before(h, "m", "p95", before="a") is None
    True
    """
    rows = history.filter((pl.col("notebook") == notebook) & (pl.col("figure") == figure))
    if before is not None:
        started = history.filter(pl.col("run_id") == before).get_column("started_at")
        if started.len():
            rows = rows.filter(
                (pl.col("started_at") < started[0])
                | ((pl.col("started_at") == started[0]) & (pl.col("run_id") < before))
            )
        else:
            rows = rows.filter(pl.col("run_id") < before)
    if rows.is_empty():
        return None
    return float(rows.sort("started_at", "run_id").get_column("value")[-1])


def changes(history: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """Each figure of run ``run_id`` next to its value in the previous run that had it.

    Returns
    -------
    polars.DataFrame
        ``notebook, figure, value, unit, better, previous (f64, null when new),
        change (value - previous), change_pct (100·change/|previous|, null when
        previous is 0 or null), verdict`` where verdict is ``"better"``, ``"worse"``,
        ``"same"``, ``"neutral"`` (no ``better`` direction) or null (no previous).

    Examples
    --------
    >>> from datetime import UTC
    >>> h = pl.DataFrame({
    ...     "run_id": ["a", "b", "a", "b"], "notebook": ["m"] * 4,
    ...     "figure": ["p95", "p95", "rps", "rps"], "value": [250.0, 200.0, 90.0, 80.0],
    ...     "unit": ["ms", "ms", "1/s", "1/s"], "better": ["lower", "lower", "higher", "higher"],
    ...     "started_at": [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 1, 2)],
    ... })
    >>> changes(h, "b").select("figure", "previous", "change_pct", "verdict")
    shape: (2, 4)
    ┌────────┬──────────┬────────────┬─────────┐
    │ figure ┆ previous ┆ change_pct ┆ verdict │
    │ ---    ┆ ---      ┆ ---        ┆ ---     │
    │ str    ┆ f64      ┆ f64        ┆ str     │
    ╞════════╪══════════╪════════════╪═════════╡
    │ p95    ┆ 250.0    ┆ -20.0      ┆ better  │
    │ rps    ┆ 90.0     ┆ -11.111111 ┆ worse   │
    └────────┴──────────┴────────────┴─────────┘
    """
    keys = ["notebook", "figure"]
    ordered = history.sort("started_at", "run_id").with_columns(
        pl.col("value").shift(1).over(keys).alias("previous")
    )
    change = pl.col("value") - pl.col("previous")
    return (
        ordered.filter(pl.col("run_id") == run_id)
        .with_columns(change.alias("change"))
        .with_columns(
            pl.when(pl.col("previous") != 0)
            .then(100.0 * pl.col("change") / pl.col("previous").abs())
            .otherwise(None)
            .alias("change_pct"),
            pl.when(pl.col("previous").is_null())
            .then(None)
            .when(pl.col("better").is_null())
            .then(pl.lit("neutral"))
            .when(pl.col("change") == 0)
            .then(pl.lit("same"))
            .when((pl.col("change") < 0) == (pl.col("better") == "lower"))
            .then(pl.lit("better"))
            .otherwise(pl.lit("worse"))
            .alias("verdict"),
        )
        .select(*keys, "value", "unit", "better", "previous", "change", "change_pct", "verdict")
        .sort(keys)
    )


def trends(history: pl.DataFrame, *, last: int = 20) -> pl.DataFrame:
    """The last ``last`` values of every figure, oldest first, one row per figure.

    Returns
    -------
    polars.DataFrame
        ``notebook, figure, values (list[f64]), run_ids (list[str])``.

    Examples
    --------
    >>> from datetime import UTC
    >>> h = pl.DataFrame({
    ...     "run_id": ["a", "b", "c"], "notebook": ["m"] * 3, "figure": ["p95"] * 3,
    ...     "value": [3.0, 2.0, 1.0], "unit": ["ms"] * 3, "better": ["lower"] * 3,
    ...     "started_at": [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)],
    ... })
    >>> trends(h, last=2).get_column("values").to_list()
    [[2.0, 1.0]]
    """
    keys = ["notebook", "figure"]
    return (
        history.sort("started_at", "run_id")
        .group_by(keys, maintain_order=True)
        .agg(
            pl.col("value").tail(last).alias("values"), pl.col("run_id").tail(last).alias("run_ids")
        )
        .sort(keys)
    )

"""Where a series of load-test runs changed level: the change points of each metric.

:func:`run_changes` takes one summary row per run (the ``"all"`` row of
:func:`~perflab.loadtest.summary`, with a run id and a time), puts the runs in order
and finds, per metric, the runs at which the level shifts, with
:func:`perflab.stats.change_points` (binary segmentation with an episode search: a
step, or a level that rises and comes back). Each change point is reported with the
medians of the segments before and after it — medians, so that one odd run inside a
segment does not move the level — and whether the shift is for the worse: higher is
worse for every metric except ``rps`` and ``requests`` (and any metric whose name
contains ``throughput``), where higher is better.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from perflab.errors import InputError, ParameterError, SchemaError
from perflab.frames import FrameLike, as_frame
from perflab.loadtest.aggregate import ALL
from perflab.stats import change_points

__all__ = ["DEFAULT_METRICS", "read_history", "run_changes"]

DEFAULT_METRICS: tuple[str, ...] = ("p50_ms", "p95_ms", "p99_ms", "rps", "error_rate")
"""The metrics :func:`run_changes` searches unless told otherwise (those present)."""

logger = logging.getLogger(__name__)

_HIGHER_IS_BETTER = ("rps", "requests")


def _higher_is_better(metric: str) -> bool:
    return metric in _HIGHER_IS_BETTER or "throughput" in metric


def _relative(before: float, after: float) -> float:
    if before == 0:
        return 0.0 if after == 0 else math.inf
    return abs(after / before - 1.0)


def _merge_small(
    values: np.ndarray, cuts: list[int], min_change: float
) -> tuple[list[int], list[float]]:
    """Drop the cut with the smallest shift below ``min_change`` until none is left;
    return the cuts and the medians of the segments between them."""
    cuts = list(cuts)
    while True:
        edges = [0, *cuts, values.size]
        medians = [float(np.median(values[a:b])) for a, b in itertools.pairwise(edges)]
        shifts = [_relative(medians[k], medians[k + 1]) for k in range(len(cuts))]
        if not shifts or min(shifts) >= min_change:
            return cuts, medians
        del cuts[int(np.argmin(shifts))]


def run_changes(
    history: FrameLike,
    *,
    metrics: Sequence[str] | None = None,
    order: Literal["time", "run", "input"] = "time",
    name: str | None = ALL,
    min_size: int = 3,
    penalty: float | None = None,
    min_change: float = 0.05,
) -> pl.DataFrame:
    """Change points of each metric over a history of runs.

    Parameters
    ----------
    history : frame-like
        One row per run: ``run`` (an id of any type), ``time`` (a datetime or a
        number; needed for ``order="time"``) and SUMMARY metric columns
        (``p95_ms``, ``rps``, ``error_rate`` …). With a ``name`` column (whole
        SUMMARY frames stacked), only the rows of ``name`` are used.
    metrics : sequence of str, optional
        The columns to search; default those of :data:`DEFAULT_METRICS` (``p50_ms``,
        ``p95_ms``, ``p99_ms``, ``rps``, ``error_rate``) that the history has. Runs
        where a metric is null are skipped for it.
    order : {"time", "run", "input"}
        Order of the runs: by ``time``, by ``run``, or as given.
    name : str or None
        Which summary row to follow when the history has a ``name`` column.
    min_size : int
        Fewest runs in a segment (see :func:`perflab.stats.change_points`).
    penalty : float, optional
        Passed to :func:`perflab.stats.change_points` (default ``3 · ln(runs)``).
    min_change : float
        Shifts of the median smaller than this (relative, 0.05 = 5 %) are dropped
        and their segments merged: over many runs, the segmentation also finds
        real but meaningless steps of a percent or two.

    Returns
    -------
    polars.DataFrame
        One row per change point: ``metric`` (str), ``run`` (the first run of the
        new level; the input's dtype), ``time`` (when there is a time column),
        ``index`` (i64, position of that run in the ordered non-null series),
        ``before`` and ``after`` (f64, the medians of the segments around it),
        ``change`` (f64, ``after / before − 1``; null when ``before`` is 0) and
        ``direction`` (``"worse"`` or ``"better"``); sorted by metric order then
        index. No change, no rows.

    Examples
    --------
    >>> runs = pl.DataFrame({"run": [f"r{i}" for i in range(12)], "time": range(12),
    ...     "p95_ms": [100.0, 102, 99, 101, 100, 98, 131, 129, 133, 130, 128, 132]})
    >>> run_changes(runs, metrics=["p95_ms"]).select("metric", "run", "before", "after",
    ...     pl.col("change").round(3), "direction")
    shape: (1, 6)
    ┌────────┬─────┬────────┬───────┬────────┬───────────┐
    │ metric ┆ run ┆ before ┆ after ┆ change ┆ direction │
    │ ---    ┆ --- ┆ ---    ┆ ---   ┆ ---    ┆ ---       │
    │ str    ┆ str ┆ f64    ┆ f64   ┆ f64    ┆ str       │
    ╞════════╪═════╪════════╪═══════╪════════╪═══════════╡
    │ p95_ms ┆ r6  ┆ 100.0  ┆ 130.5 ┆ 0.305  ┆ worse     │
    └────────┴─────┴────────┴───────┴────────┴───────────┘
    """
    df = as_frame(history)
    if metrics is None:
        metrics = [m for m in DEFAULT_METRICS if m in df.columns]
        if not metrics and df.width:
            raise SchemaError(
                "load-test history", detail=f"none of the columns {', '.join(DEFAULT_METRICS)}"
            )
    if isinstance(metrics, str):
        metrics = [metrics]
    metrics = list(metrics)
    if not metrics:
        raise ParameterError("metrics is empty: name at least one column, such as 'p95_ms'")
    if not min_change >= 0:
        raise ParameterError(f"min_change must be a relative change ≥ 0, not {min_change!r}")
    if order not in ("time", "run", "input"):
        raise ParameterError(f"order must be 'time', 'run' or 'input', not {order!r}")
    needed = ["run", *metrics, *(["time"] if order == "time" else [])]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise SchemaError("load-test history", missing=missing)
    if name is not None and "name" in df.columns:
        df = df.filter(pl.col("name") == name)
    if order != "input":
        df = df.sort(order, nulls_last=True, maintain_order=True)
    has_time = "time" in df.columns
    schema: dict[str, Any] = {
        "metric": pl.String,
        "run": df.schema["run"],
        **({"time": df.schema["time"]} if has_time else {}),
        "index": pl.Int64,
        "before": pl.Float64,
        "after": pl.Float64,
        "change": pl.Float64,
        "direction": pl.String,
    }
    rows = []
    for metric in metrics:
        try:
            series = df.select(
                "run", *(["time"] if has_time else []), v=pl.col(metric).cast(pl.Float64)
            ).filter(pl.col("v").is_not_null() & pl.col("v").is_finite())
        except pl.exceptions.PolarsError as exc:
            raise SchemaError("load-test history", detail=f"{metric!r} is not numeric") from exc
        values = series.get_column("v").to_numpy()
        cuts = change_points(values, min_size=min_size, penalty=penalty)
        cuts, medians = _merge_small(values, cuts, min_change)
        for k, cut in enumerate(cuts):
            before, after = medians[k], medians[k + 1]
            up = after > before
            rows.append(
                {
                    "metric": metric,
                    "run": series.get_column("run")[cut],
                    **({"time": series.get_column("time")[cut]} if has_time else {}),
                    "index": cut,
                    "before": before,
                    "after": after,
                    "change": after / before - 1.0 if before else None,
                    "direction": "better" if up == _higher_is_better(metric) else "worse",
                }
            )
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(rows, schema=schema, orient="row")


def read_history(path: str | os.PathLike[str]) -> pl.DataFrame:
    """A history of runs from a CSV or Parquet file, times parsed.

    Parameters
    ----------
    path : str or PathLike
        CSV (ISO-8601 times are parsed into datetimes) or Parquet: one row per run,
        with ``run``, ``time`` and metric columns (see :func:`run_changes`).

    Returns
    -------
    polars.DataFrame
        The runs, as the file has them.

    Raises
    ------
    InputError
        When the file is missing or cannot be read as CSV or Parquet.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.csv"
    >>> _ = p.write_text("run,time,p95_ms\\nn1,2026-10-01T02:00:00,48.5\\n")
    >>> read_history(p).dtypes[1]
    Datetime(time_unit='us', time_zone=None)
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(str(p), None, "no such file")
    try:
        if p.suffix.lower() == ".parquet":
            return pl.read_parquet(p)
        return pl.read_csv(p, try_parse_dates=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(str(p), None, f"not a CSV or Parquet history ({exc})") from None

"""Per-metric (and per-window) summary statistics of a ``METRICS`` frame.

The statistics are :func:`perflab.groupstats.group_stats` (numba kernels for big
frames, one polars ``group_by`` otherwise; the speed notes are in
:mod:`perflab.kernels`); this module checks the input, groups by series and keeps
each series' unit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from perflab.frames import FrameLike
from perflab.groupstats import group_stats
from perflab.monitoring.validate import check_units, metrics_frame, series_keys
from perflab.times import duration

__all__ = ["summarize", "summarize_frame"]

logger = logging.getLogger(__name__)


def summarize(
    df: FrameLike,
    *,
    by: str | Sequence[str] = ("name",),
    every: str | timedelta | None = None,
) -> pl.DataFrame:
    """Count, mean, spread and percentiles of every metric (per group, per window).

    Percentiles use linear interpolation between closest ranks — numpy's default
    ``"linear"``, Hyndman–Fan type 7 (see :mod:`perflab.stats`); a group of one has
    every percentile equal to its value. ``std`` is the sample standard deviation
    (ddof = 1, as pandas' ``std``; numpy's ``std`` defaults to ddof = 0), null for a
    group of one. Null tag values form a group of their own, sorted last.

    Parameters
    ----------
    df : frame-like
        A ``METRICS`` frame (``name, value, unit, timestamp`` and tag columns).
    by : str or sequence of str
        Grouping columns: ``name`` and/or tag columns. Unknown columns raise
        :class:`~perflab.errors.SchemaError`.
    every : str or timedelta, optional
        Also split each group into time windows of this length (a polars duration:
        ``"30s"``, ``"1m"``, ``"1h"``, ``"1d"``); windows start on multiples of
        ``every`` in UTC and hold ``[window_start, window_start + every)``. Windows
        without samples have no row.

    Returns
    -------
    polars.DataFrame
        One row per group (and window), sorted by the ``by`` columns and
        ``window_start``: the ``by`` columns, ``window_start`` (datetime[μs, UTC],
        only with ``every``), ``unit`` (str), ``count`` (u32), ``mean``, ``min``,
        ``max``, ``std``, ``p50``, ``p90``, ``p95``, ``p99``, ``p999`` (f64, in
        ``unit``). An empty input gives an empty frame with these columns.

    Raises
    ------
    SchemaError
        Missing or mistyped columns, NaN/null values, an unknown ``by`` column, or a
        metric with more than one unit ("metric X has units ms and s").
    ParameterError
        ``by`` naming ``value``/``unit``/``timestamp``, or a malformed ``every``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> df = pl.DataFrame({"name": ["db", "db", "db", "web"], "value": [1.0, 2.0, 3.0, 5.0],
    ...     "unit": ["ms", "ms", "ms", "s"], "timestamp": [t] * 4})
    >>> summarize(df).select("name", "unit", "count", "mean", "p50", "p90")
    shape: (2, 6)
    ┌──────┬──────┬───────┬──────┬─────┬─────┐
    │ name ┆ unit ┆ count ┆ mean ┆ p50 ┆ p90 │
    │ ---  ┆ ---  ┆ ---   ┆ ---  ┆ --- ┆ --- │
    │ str  ┆ str  ┆ u32   ┆ f64  ┆ f64 ┆ f64 │
    ╞══════╪══════╪═══════╪══════╪═════╪═════╡
    │ db   ┆ ms   ┆ 3     ┆ 2.0  ┆ 2.0 ┆ 2.8 │
    │ web  ┆ s    ┆ 1     ┆ 5.0  ┆ 5.0 ┆ 5.0 │
    └──────┴──────┴───────┴──────┴─────┴─────┘
    """
    frame = metrics_frame(df)
    keys = series_keys(frame, by)
    step = None if every is None else duration(every)
    check_units(frame, keys)
    return summarize_frame(frame, keys, step)


def summarize_frame(frame: pl.DataFrame, keys: Sequence[str], every: str | None) -> pl.DataFrame:
    """:func:`summarize` of a frame already checked (``metrics_frame``, ``series_keys``,
    ``check_units``); ``every`` is a polars duration string or None.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> f = pl.DataFrame({"name": ["a"], "value": [2.0], "unit": ["ms"],
    ...     "timestamp": [datetime(2026, 1, 1, tzinfo=UTC)]})
    >>> summarize_frame(f, ["name"], None).columns[:3]
    ['name', 'unit', 'count']
    """
    return group_stats(frame, keys, value="value", every=every, carry=("unit",))

"""Grouped count, mean, spread and percentiles: the summary every domain needs.

:func:`group_stats` is what ``summarize`` (monitoring), the pattern table (queries)
and the route table (api) are built on: per group (and per time window), the
count, mean, min, max, sample standard deviation and any set of percentiles of one
value column. Percentiles use linear interpolation between closest ranks —
numpy's default ``"linear"``, Hyndman–Fan type 7 (see :mod:`perflab.stats`); a
group of one has every percentile equal to its value; ``std`` has ddof = 1 (null
for a group of one).

Two paths give the same numbers: frames of at least
:data:`perflab.kernels.KERNEL_MIN_ROWS` rows go through the numba kernels of
:mod:`perflab.kernels` (bit for bit numpy's interpolation); smaller ones through
one lazy polars ``group_by(...).agg(...)`` (casting keys to Categorical first
measured slower). polars' own quantile computes ``a + (b − a)·t`` where numpy
switches to ``b − (b − a)·(1 − t)`` for ``t ≥ ½``, so the polars path may differ
from numpy in the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from perflab import kernels
from perflab.stats import DEFAULT_QUANTILES, quantile_exprs, quantile_name

__all__ = ["STAT_COLUMNS", "group_stats", "stat_columns"]

STAT_COLUMNS: tuple[str, ...] = ("count", "mean", "min", "max", "std")
"""The columns before the percentiles in every :func:`group_stats` result."""


def stat_columns(quantiles: Sequence[float] = DEFAULT_QUANTILES) -> list[str]:
    """The statistic columns of :func:`group_stats` for ``quantiles``.

    Examples
    --------
    >>> stat_columns((0.5, 0.99))
    ['count', 'mean', 'min', 'max', 'std', 'p50', 'p99']
    """
    return [*STAT_COLUMNS, *(quantile_name(q) for q in quantiles)]


def group_stats(
    frame: pl.DataFrame,
    keys: Sequence[str],
    *,
    value: str = "value",
    every: str | None = None,
    time: str = "timestamp",
    carry: Sequence[str] = (),
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> pl.DataFrame:
    """Per group (and window): ``count, mean, min, max, std`` and the percentiles.

    The frame is taken as it is — the caller has validated it: ``value`` is a float
    column without nulls or NaN, ``keys`` exist.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows to summarise.
    keys : sequence of str
        Group columns; none for one group over all rows.
    value : str
        The column summarised.
    every : str, optional
        A polars duration: also split each group into windows of this length on
        ``time`` (windows start on multiples of ``every`` in UTC); the result then
        has ``window_start`` after the keys. Windows without rows have no row.
    time : str
        The time column windows are cut on.
    carry : sequence of str
        Columns whose first value per group is kept (a unit, say), after the keys.
    quantiles : sequence of float
        Percentiles wanted, named by :func:`perflab.stats.quantile_name`.

    Returns
    -------
    polars.DataFrame
        ``keys…``, ``window_start`` (with ``every``), ``carry…``, ``count`` (u32),
        ``mean``, ``min``, ``max``, ``std``, then one f64 column per quantile; sorted
        by the keys (and window), nulls last. No rows in, no rows out (also without
        keys).

    Examples
    --------
    >>> df = pl.DataFrame({"route": ["/a", "/a", "/b"], "ms": [1.0, 3.0, 7.0]})
    >>> group_stats(df, ["route"], value="ms", quantiles=(0.5,))
    shape: (2, 7)
    ┌───────┬───────┬──────┬─────┬─────┬──────────┬─────┐
    │ route ┆ count ┆ mean ┆ min ┆ max ┆ std      ┆ p50 │
    │ ---   ┆ ---   ┆ ---  ┆ --- ┆ --- ┆ ---      ┆ --- │
    │ str   ┆ u32   ┆ f64  ┆ f64 ┆ f64 ┆ f64      ┆ f64 │
    ╞═══════╪═══════╪══════╪═════╪═════╪══════════╪═════╡
    │ /a    ┆ 2     ┆ 2.0  ┆ 1.0 ┆ 3.0 ┆ 1.414214 ┆ 2.0 │
    │ /b    ┆ 1     ┆ 7.0  ┆ 7.0 ┆ 7.0 ┆ null     ┆ 7.0 │
    └───────┴───────┴──────┴─────┴─────┴──────────┴─────┘
    """
    keys = list(keys)
    stats = stat_columns(quantiles)
    if frame.height == 0:
        window = {"window_start": frame.schema[time]} if every is not None else {}
        schema: dict[str, Any] = {
            **{k: frame.schema[k] for k in keys},
            **window,
            **{c: frame.schema[c] for c in carry},
            "count": pl.UInt32,
            **dict.fromkeys(stats[1:], pl.Float64),
        }
        return pl.DataFrame(schema=schema)
    if frame.height >= kernels.KERNEL_MIN_ROWS and kernels.available():
        return _by_kernels(frame, keys, value, every, time, list(carry), quantiles)
    lf = frame.lazy()
    if every is not None:
        lf = lf.with_columns(pl.col(time).dt.truncate(every).alias("window_start"))
        keys = [*keys, "window_start"]
    v = pl.col(value)
    grouped = (
        lf.group_by(keys or pl.lit(0).alias("_all"))
        .agg(
            *(pl.col(c).first() for c in carry),
            pl.len().alias("count"),
            v.mean().alias("mean"),
            v.min().alias("min"),
            v.max().alias("max"),
            v.std().alias("std"),
            *quantile_exprs(v, quantiles),
        )
        .select(*keys, *carry, *stats)
    )
    if keys:
        grouped = grouped.sort(keys, nulls_last=True)
    return grouped.with_columns(
        pl.col("count").cast(pl.UInt32), *(pl.col(c).cast(pl.Float64) for c in stats[1:])
    ).collect()


def _by_kernels(
    frame: pl.DataFrame,
    by: list[str],
    value: str,
    every: str | None,
    time: str,
    carry: list[str],
    quantiles: Sequence[float],
) -> pl.DataFrame:
    key_exprs = [pl.col(c) for c in by]
    if every is not None:
        key_exprs.append(pl.col(time).dt.truncate(every))
    values = frame.get_column(value).cast(pl.Float64).to_numpy()
    first_row, stats_array = kernels.kernel_group_stats(frame, key_exprs, values, quantiles)
    picked = [*by, *([time] if every is not None else []), *carry]
    firsts = frame.select(picked)[first_row] if picked else pl.DataFrame()
    keys = list(by)
    if every is not None:
        firsts = firsts.with_columns(pl.col(time).dt.truncate(every).alias("window_start"))
        keys.append("window_start")
    stats = pl.DataFrame(stats_array, schema=stat_columns(quantiles))
    out = pl.concat([firsts.select(*keys, *carry), stats], how="horizontal").with_columns(
        pl.col("count").cast(pl.UInt32), pl.col("std").fill_nan(None)
    )
    return out.sort(keys, nulls_last=True) if keys else out

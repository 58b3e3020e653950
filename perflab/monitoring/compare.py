"""Baseline against current: did a metric get faster or slower, and how sure are we?

Per group, :func:`compare_windows` reports the change of the mean and of the p95 in
percent with confidence intervals — percentile bootstrap for ordinary samples,
normal theory (delta method, order-statistic standard errors) for big ones — and a
Mann–Whitney U test (all from :mod:`perflab.stats`). The verdict words speak of
latency: a lower value is ``faster``, a higher one ``slower`` — whatever the unit.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike
from perflab.monitoring.schema import COMPARISON
from perflab.monitoring.validate import check_units, metrics_frame, series_keys
from perflab.stats import (
    QUANTILE_METHOD,
    ConfidenceInterval,
    bootstrap_compare_ci,
    mann_whitney,
    normal_ratio_ci,
)
from perflab.times import instant

__all__ = ["compare_windows"]

logger = logging.getLogger(__name__)

Window = tuple[Any, Any]


def _is_window(side: Any) -> bool:
    return (
        isinstance(side, tuple | list)
        and len(side) == 2
        and all(isinstance(v, str | date | np.datetime64) for v in side)
    )


def _side(frame: pl.DataFrame | None, side: Any, what: str) -> pl.DataFrame:
    """The rows of one side: a half-open [start, end) slice of ``frame``, or a frame."""
    if not _is_window(side):
        return metrics_frame(side)
    if frame is None:
        raise ParameterError(f"{what} is a time window but there is no frame (df) to cut it from")
    start, end = (instant(v, what=what) for v in side)
    if start >= end:
        raise ParameterError(f"{what}: start {start} is not before end {end}")
    return frame.filter((pl.col("timestamp") >= start) & (pl.col("timestamp") < end))


def compare_windows(
    df: FrameLike | None,
    *,
    baseline: Window | FrameLike,
    current: Window | FrameLike,
    by: str | Sequence[str] = ("name",),
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    max_boot_samples: int = 2000,
) -> pl.DataFrame:
    """Compare each metric between a baseline and a current window.

    Per group: sample counts, means and p95s (linear interpolation, type 7) of both
    sides; the change of each in percent, ``(current / baseline − 1) × 100``, with a
    ``1 − alpha`` confidence interval; and the two-sided Mann–Whitney U p-value on
    all samples.

    The verdict is ``slower`` / ``faster`` when the change is significant — the
    Mann–Whitney p-value is below ``alpha`` **and** the interval of the mean change
    or of the p95 change excludes 0 — with the direction of the mean change if its
    interval excludes 0, else of the p95 change; otherwise ``no significant change``.
    Lower values count as faster for every unit. A group with no samples on one side
    gets n = 0, nulls and ``missing``.

    The intervals: while neither side of a group holds more than
    ``max_boot_samples`` samples, a percentile bootstrap (both sides resampled
    independently, ``n_boot`` times, with a seed derived from ``seed`` and the
    group, so a group's result does not depend on the other groups; see
    :func:`perflab.stats.bootstrap_compare_ci`). Above that the bootstrap would cost
    ``n_boot × samples`` for nothing: the intervals come from normal theory on all
    samples, deterministic and in a millisecond (:func:`perflab.stats.normal_ratio_ci`:
    the delta method on the log ratio, with the mean's standard error ``s/√n`` and
    the p95's from the order statistics around it, distribution-free). In seeded
    simulations at 2 000 and 17 000 samples per side both methods covered the true
    ratio in 93–97 % of cases at 95 % confidence, for lognormal and gamma latencies
    and a lognormal with 1.2 % multi-second stalls; with values rounded to whole
    milliseconds (heavily tied p95) both fell to about 85 % for the p95.
    (An earlier shortcut — bootstrapping a subsample and scaling the interval by
    ``√fraction`` — was about as well calibrated, but random and ~250× slower.)

    Parameters
    ----------
    df : frame-like or None
        A ``METRICS`` frame to cut windows from; None when both sides are frames.
    baseline, current : (start, end) or frame-like
        A half-open UTC interval ``[start, end)`` of datetimes or ISO-8601 strings
        (naive means UTC) selecting rows of ``df``, or a ``METRICS`` frame.
    by : str or sequence of str
        Grouping columns (``name`` and tag columns).
    n_boot : int
        Bootstrap resamples.
    alpha : float
        Significance level, and 1 − confidence of the intervals.
    seed : int
        Seed of the bootstrap.
    max_boot_samples : int
        Samples on the larger side above which the intervals are computed by normal
        theory instead of the bootstrap (see above).

    Returns
    -------
    polars.DataFrame
        One row per group present on either side, sorted by the ``by`` columns:
        ``by…`` then the :data:`~perflab.monitoring.schema.COMPARISON` columns.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> base = pl.DataFrame({"name": "api", "unit": "ms", "timestamp": "2026-01-01",
    ...     "value": rng.lognormal(4.6, 0.3, 400)})
    >>> cur = base.with_columns(value=pl.Series(rng.lognormal(4.6, 0.3, 400) * 1.3))
    >>> r = compare_windows(None, baseline=base, current=cur, n_boot=500)
    >>> r.select("name", "n_current", "verdict", pl.col("mean_change_pct").round(0))
    shape: (1, 4)
    ┌──────┬───────────┬─────────┬─────────────────┐
    │ name ┆ n_current ┆ verdict ┆ mean_change_pct │
    │ ---  ┆ ---       ┆ ---     ┆ ---             │
    │ str  ┆ u32       ┆ str     ┆ f64             │
    ╞══════╪═══════════╪═════════╪═════════════════╡
    │ api  ┆ 400       ┆ slower  ┆ 31.0            │
    └──────┴───────────┴─────────┴─────────────────┘
    """
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must lie in (0, 1), not {alpha}")
    if int(n_boot) < 1 or int(max_boot_samples) < 2:
        raise ParameterError("n_boot must be ≥ 1 and max_boot_samples ≥ 2")
    windows = _is_window(baseline) or _is_window(current)
    frame = metrics_frame(df) if windows and df is not None else None  # validated once
    base = _side(frame, baseline, "baseline")
    cur = _side(frame, current, "current")
    keys = series_keys(base, by)
    series_keys(cur, keys)
    cols = list(dict.fromkeys([*keys, "name", "value", "unit"]))
    both = pl.concat(
        [
            base.select(*cols, side=pl.lit(0, pl.Int8)),
            cur.select(*cols, side=pl.lit(1, pl.Int8)),
        ],
        how="vertical_relaxed",
    )
    check_units(both, keys)
    key_schema = {k: both.schema[k] for k in keys}
    if both.height == 0:
        return COMPARISON.empty(key_schema)

    rows = []
    groups = both.partition_by(keys, maintain_order=False) if keys else [both]
    for group in groups:
        key = {k: group.get_column(k)[0] for k in keys}
        sides = group.partition_by("side", as_dict=True, include_key=False)
        b = sides[(0,)].get_column("value").to_numpy() if (0,) in sides else np.empty(0)
        c = sides[(1,)].get_column("value").to_numpy() if (1,) in sides else np.empty(0)
        unit = group.get_column("unit")[0]
        tag = zlib.crc32(repr(sorted(key.items())).encode())
        group_seed = int(np.random.SeedSequence([seed, tag]).generate_state(1)[0])
        rows.append(
            {**key, "unit": unit, **_compare(b, c, n_boot, alpha, group_seed, max_boot_samples)}
        )
    out = COMPARISON.build(rows, key_schema)
    return out.sort(keys, nulls_last=True) if keys else out


def _compare(
    b: np.ndarray, c: np.ndarray, n_boot: int, alpha: float, seed: int, cap: int
) -> dict[str, Any]:
    """Comparison columns of one group."""
    row: dict[str, Any] = dict.fromkeys(COMPARISON.columns)
    del row["unit"]
    row.update(n_baseline=b.size, n_current=c.size)
    for name, x in (("baseline", b), ("current", c)):
        if x.size:
            row[f"mean_{name}"] = float(x.mean())
            row[f"p95_{name}"] = float(np.quantile(x, 0.95, method=QUANTILE_METHOD))
    if not (b.size and c.size):
        row["verdict"] = "missing"
        return row
    cis: tuple[ConfidenceInterval, ...]
    if max(b.size, c.size) > cap:
        cis = tuple(normal_ratio_ci(b, c, stat, alpha=alpha) for stat in ("mean", "p95"))
    else:
        cis = bootstrap_compare_ci(
            b, c, ("mean", "p95"), compare="ratio", n_boot=n_boot, alpha=alpha, seed=seed
        )
    excludes = []
    for stat, ci in zip(("mean", "p95"), cis, strict=True):
        finite = math.isfinite(ci.low) and math.isfinite(ci.high)
        defined = math.isfinite(ci.estimate)
        row[f"{stat}_change_pct"] = (ci.estimate - 1) * 100 if defined else None
        row[f"{stat}_change_ci_low"] = (ci.low - 1) * 100 if defined and finite else None
        row[f"{stat}_change_ci_high"] = (ci.high - 1) * 100 if defined and finite else None
        excludes.append(defined and finite and ci.excludes(1.0))
    p = mann_whitney(b, c).pvalue
    row["mw_pvalue"] = p
    if p < alpha and any(excludes):
        stat = "mean" if excludes[0] else "p95"
        row["verdict"] = "slower" if row[f"{stat}_change_pct"] > 0 else "faster"
    else:
        row["verdict"] = "no significant change"
    return row

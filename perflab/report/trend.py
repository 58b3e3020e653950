"""Change points of one headline figure across runs: E-Divisive with a permutation test.

The method is E-Divisive (Matteson & James, *A nonparametric approach for multiple
change point analysis of multivariate data*, JASA 2014), the one MongoDB's
``signal-processing-algorithms`` runs over its performance history. For a series
``Z`` and a split ``τ`` into ``X = Z[:τ]`` and ``Y = Z[τ:]`` (sizes ``m`` and ``n``)
the divergence statistic is

.. math::

    \\hat Q(τ) = \\frac{m n}{m + n} \\Big( \\frac{2}{mn} \\sum_{i,j} |X_i - Y_j|^α
      - \\binom{m}{2}^{-1} \\sum_{i<k} |X_i - X_k|^α
      - \\binom{n}{2}^{-1} \\sum_{j<k} |Y_j - Y_k|^α \\Big)

with ``0 < α < 2`` (1 by default). Change points are found one at a time, by
bisection: the best split ``τ`` of every current segment is computed (maximising
over the end ``κ`` of the right-hand side too, as in the paper, so a level that goes
and comes back is seen), the largest one is a
candidate, and it is kept only if it is significant — a permutation test shuffles the
values within each segment ``permutations`` times and recomputes the largest
statistic; the p-value is ``(1 + #{shuffled ≥ observed}) / (1 + permutations)``. The
search stops at the first candidate with a p-value above ``significance``. Because a
shift in level moves every later run, the split falls on the first run of the new
level: a regression is reported at the run where it started.

The statistic for all splits of a segment comes from one pairwise-distance matrix and
its 2-D prefix sums (``O(n²)`` per segment, vectorised with numpy); histories are at
most a few hundred runs long.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from perflab.errors import ParameterError

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TREND", "ChangePoint", "change_points", "edivisive_statistic", "trend"]


def _trend_schema() -> dict[str, object]:
    import polars as pl

    from perflab.frames import UTC_DATETIME

    return {
        "notebook": pl.String,
        "figure": pl.String,
        "run_id": pl.String,
        "started_at": UTC_DATETIME,
        "position": pl.Int64,
        "before_mean": pl.Float64,
        "after_mean": pl.Float64,
        "change": pl.Float64,
        "change_pct": pl.Float64,
        "p_value": pl.Float64,
        "verdict": pl.String,
        "unit": pl.String,
        "better": pl.String,
    }


TREND = (
    "notebook, figure, run_id, started_at, position, before_mean, after_mean, change, "
    "change_pct, p_value, verdict, unit, better"
)
"""Columns of the frame :func:`trend` returns (one row per change point, oldest first)."""


@dataclass(frozen=True)
class ChangePoint:
    """One significant change point of a series.

    Attributes
    ----------
    position : int
        Index of the first value of the new level.
    statistic : float
        The E-Divisive statistic of the split.
    p_value : float
        Permutation-test p-value.
    """

    position: int
    statistic: float
    p_value: float


def _distances(values: np.ndarray, alpha: float) -> np.ndarray:
    diff = np.abs(values[:, None] - values[None, :])
    return diff if alpha == 1.0 else diff**alpha


def _prefix(matrix: np.ndarray) -> np.ndarray:
    """2-D prefix sums with a zero row and column in front."""
    n = matrix.shape[0]
    out = np.zeros((n + 1, n + 1))
    out[1:, 1:] = matrix.cumsum(0).cumsum(1)
    return out


def _statistics(dist: np.ndarray, min_size: int) -> np.ndarray:
    """``Q(τ)`` for ``τ`` in ``min_size .. n - min_size`` (``-inf`` elsewhere)."""
    n = dist.shape[0]
    q = np.full(n + 1, -np.inf)
    if n < 2 * min_size:
        return q
    s = _prefix(dist)
    tau = np.arange(min_size, n - min_size + 1)
    left = s[tau, tau]  # sum over X×X (both orders)
    right = s[n, n] - s[tau, n] - s[n, tau] + s[tau, tau]  # Y×Y
    between = s[tau, n] - s[tau, tau]  # X×Y
    m = tau.astype(float)
    k = (n - tau).astype(float)
    within_x = np.where(m > 1, left / np.maximum(m * (m - 1), 1), 0.0)
    within_y = np.where(k > 1, right / np.maximum(k * (k - 1), 1), 0.0)
    energy = 2.0 * between / (m * k) - within_x - within_y
    q[tau] = m * k / (m + k) * energy
    return q


def edivisive_statistic(values: np.ndarray | list[float], *, alpha: float = 1.0) -> np.ndarray:
    """The E-Divisive statistic ``Q(τ)`` of every split of ``values``.

    Parameters
    ----------
    values : array of float
        The series, oldest first.
    alpha : float
        Exponent of the distance, ``0 < alpha < 2``.

    Returns
    -------
    numpy.ndarray
        ``n + 1`` values: entry ``τ`` splits into ``values[:τ]`` and ``values[τ:]``;
        ``-inf`` where a side would be empty.

    Examples
    --------
    >>> q = edivisive_statistic([1.0, 1.0, 5.0, 5.0])
    >>> int(np.argmax(q)), float(q[2])
    (2, 8.0)
    """
    data = np.asarray(values, dtype=float)
    if not 0 < alpha < 2:
        raise ParameterError(f"alpha must be in (0, 2), not {alpha!r}")
    return _statistics(_distances(data, alpha), 1)


def _statistics_kappa(dist: np.ndarray, min_size: int) -> np.ndarray:
    """``max over κ of Q(τ, κ)``: ``X = Z[:τ]`` against ``Y = Z[τ:κ]`` (``-inf`` if none).

    Letting the right side end before the segment does (Matteson & James' ``κ``)
    finds a level that goes and comes back (a regression, then its fix), where the
    split against the whole rest would see the same level on both sides.
    """
    n = dist.shape[0]
    best = np.full(n + 1, -np.inf)
    if n < 2 * min_size:
        return best
    s = _prefix(dist)
    tau = np.arange(min_size, n - min_size + 1)[:, None]
    kappa = np.arange(2 * min_size, n + 1)[None, :]
    valid = kappa - tau >= min_size
    kappa_c = np.where(valid, kappa, n)
    left = s[tau, tau]
    right = s[kappa_c, kappa_c] - s[tau, kappa_c] - s[kappa_c, tau] + s[tau, tau]
    between = s[tau, kappa_c] - s[tau, tau]
    m = tau.astype(float)
    k = np.maximum(kappa_c - tau, 1).astype(float)
    within_x = np.where(m > 1, left / np.maximum(m * (m - 1), 1), 0.0)
    within_y = np.where(k > 1, right / np.maximum(k * (k - 1), 1), 0.0)
    q = m * k / (m + k) * (2.0 * between / (m * k) - within_x - within_y)
    best[tau[:, 0]] = np.where(valid, q, -np.inf).max(axis=1)
    return best


def _best_split(
    dist: np.ndarray, bounds: list[tuple[int, int]], min_size: int
) -> tuple[float, int]:
    """The largest statistic over all segments and where it splits (absolute index)."""
    best, where = -np.inf, -1
    for start, end in bounds:
        q = _statistics_kappa(dist[start:end, start:end], min_size)
        tau = int(np.argmax(q))
        if q[tau] > best:
            best, where = float(q[tau]), start + tau
    return best, where


def change_points(
    values: np.ndarray | list[float],
    *,
    significance: float = 0.05,
    permutations: int = 199,
    min_size: int = 3,
    alpha: float = 1.0,
    seed: int | None = 0,
) -> list[ChangePoint]:
    """Significant change points of a series by E-Divisive with a permutation test.

    Parameters
    ----------
    values : array of float
        The series, oldest first.
    significance : float
        Largest p-value of a change point that is kept.
    permutations : int
        Shuffles per permutation test (the p-value cannot go below
        ``1 / (permutations + 1)``).
    min_size : int
        Fewest values on each side of a change point.
    alpha : float
        Distance exponent, ``0 < alpha < 2``.
    seed : int, optional
        Seed of the shuffles (the result is reproducible by default).

    Returns
    -------
    list of ChangePoint
        Sorted by position.

    Examples
    --------
    >>> series = [100.0, 101, 99, 100, 102, 98, 100, 130, 131, 129, 130, 132, 128, 130]
    >>> [c.position for c in change_points(series)]
    [7]
    >>> change_points([100.0, 101, 99, 100, 102, 98, 100, 101, 99, 100])
    []
    """
    data = np.asarray(values, dtype=float)
    if not 0 < significance < 1:
        raise ParameterError(f"significance must be in (0, 1), not {significance!r}")
    if permutations < 1:
        raise ParameterError(f"permutations must be at least 1, not {permutations!r}")
    if min_size < 1:
        raise ParameterError(f"min_size must be at least 1, not {min_size!r}")
    if not 0 < alpha < 2:
        raise ParameterError(f"alpha must be in (0, 2), not {alpha!r}")
    if not np.isfinite(data).all():
        raise ParameterError("values must be finite")
    rng = np.random.default_rng(seed)
    dist = _distances(data, alpha)
    found: list[ChangePoint] = []
    cuts = [0, len(data)]
    while True:
        bounds = list(itertools.pairwise(cuts))
        observed, where = _best_split(dist, bounds, min_size)
        if where < 0 or not observed > 0:
            break
        exceed = 0
        for _ in range(permutations):
            order = np.arange(len(data))
            for start, end in bounds:
                order[start:end] = rng.permutation(order[start:end])
            shuffled = dist[np.ix_(order, order)]
            if _best_split(shuffled, bounds, min_size)[0] >= observed:
                exceed += 1
        p_value = (1 + exceed) / (1 + permutations)
        if p_value > significance:
            break
        found.append(ChangePoint(where, observed, p_value))
        cuts = sorted([*cuts, where])
    return sorted(found, key=lambda c: c.position)


def _pick(history: pl.DataFrame, figure: str, notebook: str | None) -> pl.DataFrame:
    import polars as pl

    if notebook is None and "/" in figure:
        notebook, figure = figure.split("/", 1)
    rows = history.filter(pl.col("figure") == figure)
    if notebook is not None:
        rows = rows.filter(pl.col("notebook") == notebook)
    books = rows.get_column("notebook").unique().sort().to_list()
    if len(books) > 1:
        raise ParameterError(
            f"figure {figure!r} is recorded by {', '.join(books)}; "
            f"name one as 'notebook/{figure}' or with notebook="
        )
    return rows.sort("started_at", "run_id")


def trend(
    figure: str,
    runs: int = 50,
    *,
    notebook: str | None = None,
    history: pl.DataFrame | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    significance: float = 0.05,
    permutations: int = 199,
    min_size: int = 3,
    seed: int | None = 0,
) -> pl.DataFrame:
    """Where a headline figure changed level over the last ``runs`` runs.

    Parameters
    ----------
    figure : str
        Figure name (``"p95_ms"``) or ``"notebook/figure"``.
    runs : int
        How many of the latest runs that recorded the figure to look at.
    notebook : str, optional
        The notebook, when the figure name alone is ambiguous.
    history : polars.DataFrame, optional
        A :data:`~perflab.report.store.HISTORY` frame; default
        :func:`perflab.report.history` of ``out_dir``.
    out_dir : path
        Reports directory read when ``history`` is not given.
    significance, permutations, min_size, seed
        As for :func:`change_points`.

    Returns
    -------
    polars.DataFrame
        One row per change point, oldest first (columns in :data:`TREND`):
        ``run_id``/``started_at`` of the first run at the new level, its
        ``position`` in the series, the means of the segments before and after,
        ``change = after - before``, ``change_pct`` (null when before is 0),
        ``p_value``, and ``verdict`` ``"worse"``/``"better"`` by the figure's
        ``better`` direction (``"neutral"`` when it has none). Empty when the figure
        held its level (or has fewer than ``2 * min_size`` runs).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import UTC, datetime, timedelta
    >>> p95 = [240.0, 242, 238, 241, 239, 240, 300, 302, 298, 301, 299, 300]
    >>> start = datetime(2026, 1, 1, tzinfo=UTC)
    >>> h = pl.DataFrame({
    ...     "run_id": [f"r{i:02d}" for i in range(12)],
    ...     "started_at": [start + timedelta(days=i) for i in range(12)],
    ...     "notebook": "monitoring", "figure": "p95_ms", "value": p95,
    ...     "unit": "ms", "better": "lower"})
    >>> trend("p95_ms", history=h).select("run_id", "before_mean", "after_mean", "verdict")
    shape: (1, 4)
    ┌────────┬─────────────┬────────────┬─────────┐
    │ run_id ┆ before_mean ┆ after_mean ┆ verdict │
    │ ---    ┆ ---         ┆ ---        ┆ ---     │
    │ str    ┆ f64         ┆ f64        ┆ str     │
    ╞════════╪═════════════╪════════════╪═════════╡
    │ r06    ┆ 240.0       ┆ 300.0      ┆ worse   │
    └────────┴─────────────┴────────────┴─────────┘
    """
    import polars as pl

    from perflab.errors import positive_int

    runs = positive_int("runs", runs)
    if history is None:
        from perflab.report.store import read_history

        history = read_history(out_dir)
    rows = _pick(history, figure, notebook).tail(runs)
    schema = _trend_schema()
    values = rows.get_column("value").to_numpy().astype(float)
    points = change_points(
        values,
        significance=significance,
        permutations=permutations,
        min_size=min_size,
        seed=seed,
    )
    if not points:
        return pl.DataFrame(schema=schema)  # type: ignore[arg-type]
    cuts = [0, *(c.position for c in points), len(values)]
    out = []
    for i, cp in enumerate(points):
        before = float(values[cuts[i] : cuts[i + 1]].mean())
        after = float(values[cuts[i + 1] : cuts[i + 2]].mean())
        row = rows.row(cp.position, named=True)
        change = after - before
        better = row["better"]
        if better is None:
            verdict = "neutral"
        elif change == 0:
            verdict = "same"
        else:
            verdict = "better" if (change < 0) == (better == "lower") else "worse"
        out.append(
            {
                "notebook": row["notebook"],
                "figure": row["figure"],
                "run_id": row["run_id"],
                "started_at": row["started_at"],
                "position": cp.position,
                "before_mean": before,
                "after_mean": after,
                "change": change,
                "change_pct": 100.0 * change / abs(before) if before != 0 else None,
                "p_value": cp.p_value,
                "verdict": verdict,
                "unit": row["unit"],
                "better": better,
            }
        )
    return pl.DataFrame(out, schema=schema)  # type: ignore[arg-type]

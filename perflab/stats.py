"""Small statistics shared by every analysis: percentiles, bootstrap CIs, tests, trends.

One quantile method everywhere
    Every percentile perflab reports — in polars expressions (:func:`quantile_exprs`)
    and on numpy arrays (:func:`percentiles`) — uses linear interpolation between the
    closest ranks: numpy's default ``method="linear"``, Hyndman–Fan type 7, the same as
    polars' ``quantile(q, interpolation="linear")``, pandas' default and Excel's
    ``PERCENTILE.INC``. For sorted values ``x[0..n-1]`` the q-quantile is
    ``x[h] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])`` with ``h = (n - 1) q``.

Why some of this is hand-written
    :func:`theil_sen` is our own vectorised implementation (numpy over all pairs, one
    partial sort) so that it can subsample pairs deterministically for long series,
    which ``scipy.stats.theilslopes`` cannot (it builds two n×n matrices); for short
    series it gives exactly scipy's numbers. :func:`change_points` is a small binary
    segmentation, vectorised per segment with cumulative sums. The bootstrap draws its
    resample index matrix in chunks, so memory stays bounded for big samples.
    :func:`mann_whitney` is a thin validated wrapper over ``scipy.stats.mannwhitneyu``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, overload

import numpy as np
import polars as pl
from scipy import special
from scipy import stats as _sstats

from perflab.errors import ParameterError

__all__ = [
    "DEFAULT_QUANTILES",
    "QUANTILE_METHOD",
    "ConfidenceInterval",
    "MannWhitney",
    "Statistic",
    "TheilSen",
    "bootstrap_ci",
    "bootstrap_compare_ci",
    "change_points",
    "mann_whitney",
    "percentiles",
    "quantile_exprs",
    "quantile_name",
    "theil_sen",
]

logger = logging.getLogger(__name__)

QUANTILE_METHOD: Final = "linear"
"""The one quantile method of perflab: numpy ``"linear"`` (Hyndman–Fan type 7)."""

DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99, 0.999)
"""The percentiles every summary reports: p50, p90, p95, p99, p999."""

Statistic = str | Callable[[np.ndarray], Any]
"""A statistic for the bootstrap: a name (``"mean"``, ``"median"``, ``"std"``, ``"p95"``,
``"p999"`` …) or a function reducing a 2-D array along its last axis, such as
``lambda a: a.mean(axis=-1)`` (each row is one resample)."""

# Elements of one chunk of the bootstrap resample matrix (about 32 MB of float64).
_BOOT_CHUNK_ELEMENTS = 1 << 22
# Theil–Sen uses every pair up to this many points (about 2 million pairs) …
_THEIL_SEN_EXACT_MAX_N = 2000
# … and this many deterministically drawn pairs above it.
_THEIL_SEN_MAX_PAIRS = 2_000_000


# --------------------------------------------------------------------------- quantiles


def quantile_name(q: float) -> str:
    """The column name of quantile ``q``: ``p`` and the percent without its dot.

    Examples
    --------
    >>> [quantile_name(q) for q in (0.5, 0.9, 0.95, 0.99, 0.999, 0.005, 1.0)]
    ['p50', 'p90', 'p95', 'p99', 'p999', 'p05', 'p100']
    """
    _check_quantiles([q])
    pct = format(round(q * 100, 10), "g")
    return "p" + pct.replace(".", "")


def _quantile_from_name(name: str) -> float | None:
    """Inverse of :func:`quantile_name` (``"p999"`` → 0.999), or None if not a quantile."""
    m = re.fullmatch(r"p(\d+)", name)
    if not m:
        return None
    digits = m.group(1)
    if digits == "100":
        return 1.0
    if digits.startswith("0") and len(digits) > 1:
        pct = float(f"0.{digits[1:]}")
    elif len(digits) <= 2:
        pct = float(digits)
    else:
        pct = float(f"{digits[:2]}.{digits[2:]}")
    return pct / 100


def _check_quantiles(qs: Iterable[float]) -> list[float]:
    out = [float(q) for q in qs]
    bad = [q for q in out if not 0.0 <= q <= 1.0]
    if bad:
        raise ParameterError(f"quantiles must lie in [0, 1], not {bad}")
    return out


def quantile_exprs(
    col: str | pl.Expr, qs: Iterable[float] = DEFAULT_QUANTILES, *, prefix: str = "p"
) -> list[pl.Expr]:
    """Polars expressions for the quantiles ``qs`` of ``col``, named ``p50``, ``p95`` ….

    The method is linear interpolation between closest ranks (numpy's default
    ``"linear"``, Hyndman–Fan type 7). Works in ``select`` and in ``group_by().agg``.

    Parameters
    ----------
    col : str or polars.Expr
        The column (or expression) to take quantiles of.
    qs : iterable of float
        Quantiles in [0, 1].
    prefix : str
        Replaces the leading ``p`` of each name (``prefix="value_p"`` → ``value_p95``).

    Returns
    -------
    list of polars.Expr
        One f64 expression per quantile, aliased by :func:`quantile_name`.

    Examples
    --------
    >>> df = pl.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]})
    >>> df.select(quantile_exprs("v", (0.5, 0.9)))
    shape: (1, 2)
    ┌─────┬─────┐
    │ p50 ┆ p90 │
    │ --- ┆ --- │
    │ f64 ┆ f64 │
    ╞═════╪═════╡
    │ 2.5 ┆ 3.7 │
    └─────┴─────┘
    """
    expr = pl.col(col) if isinstance(col, str) else col
    quantiles = _check_quantiles(qs)
    names = [prefix + quantile_name(q)[1:] for q in quantiles]
    if len(set(names)) != len(names):
        raise ParameterError(f"quantiles {quantiles} give columns of the same name: {names}")
    return [
        expr.quantile(q, interpolation=QUANTILE_METHOD).alias(name)
        for q, name in zip(quantiles, names, strict=True)
    ]


def _as_sample(values: Any, what: str = "sample") -> np.ndarray:
    """A 1-D finite float array from array-likes (numpy, list, polars/pandas series)."""
    if isinstance(values, pl.Series):
        values = values.to_numpy()
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ParameterError(f"{what} is empty: need at least one value")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{what} holds NaN or infinite values")
    return arr


def percentiles(values: Any, qs: Iterable[float] = DEFAULT_QUANTILES) -> np.ndarray:
    """Quantiles of ``values`` by linear interpolation (numpy ``"linear"``, type 7).

    Parameters
    ----------
    values : array-like of float
        A non-empty sample of finite values.
    qs : iterable of float
        Quantiles in [0, 1].

    Returns
    -------
    numpy.ndarray
        One value per quantile, in the order of ``qs``.

    Raises
    ------
    ParameterError
        On an empty sample, NaN/infinite values or a quantile outside [0, 1].

    Examples
    --------
    >>> percentiles([1, 2, 3, 4], (0.5, 0.9)).tolist()
    [2.5, 3.7]
    """
    q = _check_quantiles(qs)
    return np.quantile(_as_sample(values), q, method=QUANTILE_METHOD)


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate : float
        The statistic on the original sample(s).
    low, high : float
        The interval bounds (NaN when the statistic is undefined on some resamples,
        for example a ratio whose denominator can be zero).
    confidence : float
        ``1 - alpha``.
    """

    estimate: float
    low: float
    high: float
    confidence: float

    def excludes(self, value: float = 0.0) -> bool:
        """Whether ``value`` lies outside the interval (False when it is undefined).

        Examples
        --------
        >>> ConfidenceInterval(2.0, 1.0, 3.0, 0.95).excludes(0.0)
        True
        """
        return bool(self.low > value or self.high < value)


def _statistic_fn(statistic: Statistic) -> Callable[[np.ndarray], np.ndarray]:
    if callable(statistic):
        fn = statistic
        return lambda a: np.asarray(fn(a), dtype=np.float64)
    if statistic == "mean":
        return lambda a: a.mean(axis=-1)
    if statistic == "median":
        return lambda a: np.median(a, axis=-1)
    if statistic == "std":
        return lambda a: a.std(axis=-1, ddof=1) if a.shape[-1] > 1 else np.full(a.shape[0], np.nan)
    q = _quantile_from_name(statistic)
    if q is not None:
        return lambda a: np.quantile(a, q, axis=-1, method=QUANTILE_METHOD)
    raise ParameterError(
        f"unknown statistic {statistic!r}: use 'mean', 'median', 'std', a percentile "
        "such as 'p95', or a function reducing the last axis"
    )


def _check_boot(n_boot: int, alpha: float) -> None:
    if int(n_boot) < 1:
        raise ParameterError(f"n_boot must be at least 1, not {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must lie in (0, 1), not {alpha}")


def _replicates(
    samples: Sequence[np.ndarray],
    fns: Sequence[Callable[[np.ndarray], np.ndarray]],
    n_boot: int,
    rng: np.random.Generator,
) -> list[list[np.ndarray]]:
    """Bootstrap replicates: ``out[s][f]`` is statistic ``f`` on resamples of ``samples[s]``.

    The resample index matrix is drawn in chunks of at most ``_BOOT_CHUNK_ELEMENTS``
    elements; every statistic of a sample sees the same resamples.
    """
    longest = max(s.size for s in samples)
    rows = max(1, min(n_boot, _BOOT_CHUNK_ELEMENTS // longest))
    out: list[list[list[np.ndarray]]] = [[[] for _ in fns] for _ in samples]
    done = 0
    while done < n_boot:
        k = min(rows, n_boot - done)
        for s_i, sample in enumerate(samples):
            idx = rng.integers(0, sample.size, size=(k, sample.size), dtype=np.intp)
            resampled = sample[idx]
            for f_i, fn in enumerate(fns):
                out[s_i][f_i].append(fn(resampled))
        done += k
    return [[np.concatenate(parts) for parts in per_sample] for per_sample in out]


def _interval(estimate: float, reps: np.ndarray, alpha: float) -> ConfidenceInterval:
    if np.isfinite(reps).all():
        low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2], method=QUANTILE_METHOD)
    else:
        low = high = math.nan
    return ConfidenceInterval(float(estimate), float(low), float(high), 1.0 - alpha)


@overload
def bootstrap_ci(
    sample: Any,
    statistic: Statistic = ...,
    *,
    n_boot: int = ...,
    alpha: float = ...,
    seed: int = ...,
) -> ConfidenceInterval: ...


@overload
def bootstrap_ci(
    sample: Any,
    statistic: tuple[Statistic, ...],
    *,
    n_boot: int = ...,
    alpha: float = ...,
    seed: int = ...,
) -> tuple[ConfidenceInterval, ...]: ...


def bootstrap_ci(
    sample: Any,
    statistic: Statistic | tuple[Statistic, ...] = "mean",
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> ConfidenceInterval | tuple[ConfidenceInterval, ...]:
    """Percentile-bootstrap confidence interval of a statistic of one sample.

    ``n_boot`` resamples (with replacement, same size as ``sample``) are drawn as an
    index matrix in chunks of about four million elements, so memory stays bounded;
    the interval is the ``alpha/2`` and ``1 - alpha/2`` quantiles (type 7) of the
    statistic over the resamples. The cost is ``O(n_boot × len(sample))``.

    Parameters
    ----------
    sample : array-like of float
        Non-empty, finite.
    statistic : str, callable, or tuple of those
        ``"mean"``, ``"median"``, ``"std"``, a percentile name (``"p95"``), or a
        function reducing a 2-D array along its last axis. A tuple gives one interval
        per statistic, computed on the same resamples.
    n_boot : int
        Number of resamples.
    alpha : float
        1 − confidence level.
    seed : int
        Seed of the resampling; the same seed gives the same interval.

    Returns
    -------
    ConfidenceInterval or tuple of ConfidenceInterval

    Examples
    --------
    >>> ci = bootstrap_ci([10.0, 12.0, 11.0, 13.0, 9.0, 12.5], "mean", n_boot=500)
    >>> round(ci.estimate, 2), ci.low < ci.estimate < ci.high
    (11.25, True)
    """
    _check_boot(n_boot, alpha)
    x = _as_sample(sample)
    stats_ = statistic if isinstance(statistic, tuple) else (statistic,)
    fns = [_statistic_fn(s) for s in stats_]
    reps = _replicates([x], fns, int(n_boot), np.random.default_rng(seed))[0]
    cis = tuple(
        _interval(float(fn(x[None, :])[0]), r, alpha) for fn, r in zip(fns, reps, strict=True)
    )
    return cis if isinstance(statistic, tuple) else cis[0]


@overload
def bootstrap_compare_ci(
    baseline: Any,
    current: Any,
    statistic: Statistic = ...,
    *,
    compare: Literal["ratio", "difference"] = ...,
    n_boot: int = ...,
    alpha: float = ...,
    seed: int = ...,
) -> ConfidenceInterval: ...


@overload
def bootstrap_compare_ci(
    baseline: Any,
    current: Any,
    statistic: tuple[Statistic, ...],
    *,
    compare: Literal["ratio", "difference"] = ...,
    n_boot: int = ...,
    alpha: float = ...,
    seed: int = ...,
) -> tuple[ConfidenceInterval, ...]: ...


def bootstrap_compare_ci(
    baseline: Any,
    current: Any,
    statistic: Statistic | tuple[Statistic, ...] = "mean",
    *,
    compare: Literal["ratio", "difference"] = "ratio",
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> ConfidenceInterval | tuple[ConfidenceInterval, ...]:
    """Percentile-bootstrap CI of ``stat(current) / stat(baseline)`` (or ``−``).

    Both samples are resampled independently, ``n_boot`` times each, in bounded
    chunks (see :func:`bootstrap_ci`). With ``compare="ratio"`` a relative change in
    percent is ``(ratio − 1) × 100``; the interval is undefined (NaN) when a resampled
    baseline statistic can be zero.

    Parameters
    ----------
    baseline, current : array-like of float
        Non-empty, finite samples.
    statistic : str, callable, or tuple of those
        As in :func:`bootstrap_ci`; a tuple gives one interval per statistic.
    compare : {"ratio", "difference"}
        ``current / baseline`` or ``current − baseline``.
    n_boot, alpha, seed
        As in :func:`bootstrap_ci`.

    Returns
    -------
    ConfidenceInterval or tuple of ConfidenceInterval

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> base, cur = rng.normal(100, 5, 200), rng.normal(130, 5, 200)
    >>> ci = bootstrap_compare_ci(base, cur, "mean", n_boot=500)
    >>> 1.25 < ci.low < ci.estimate < ci.high < 1.35
    True
    """
    _check_boot(n_boot, alpha)
    if compare not in ("ratio", "difference"):
        raise ParameterError(f"compare must be 'ratio' or 'difference', not {compare!r}")
    b = _as_sample(baseline, "baseline")
    c = _as_sample(current, "current")
    stats_ = statistic if isinstance(statistic, tuple) else (statistic,)
    fns = [_statistic_fn(s) for s in stats_]
    reps_b, reps_c = _replicates([b, c], fns, int(n_boot), np.random.default_rng(seed))

    def combine(cur: np.ndarray, base: np.ndarray) -> np.ndarray:
        if compare == "difference":
            return cur - base
        with np.errstate(divide="ignore", invalid="ignore"):
            return cur / base

    cis = []
    for fn, rb, rc in zip(fns, reps_b, reps_c, strict=True):
        est = combine(fn(c[None, :]), fn(b[None, :]))[0]
        cis.append(_interval(float(est), combine(rc, rb), alpha))
    return tuple(cis) if isinstance(statistic, tuple) else cis[0]


# --------------------------------------------------------------------------- Mann–Whitney


@dataclass(frozen=True)
class MannWhitney:
    """Result of :func:`mann_whitney`.

    Attributes
    ----------
    u : float
        The Mann–Whitney U statistic of the first sample.
    pvalue : float
        Two-sided p-value.
    """

    u: float
    pvalue: float


def mann_whitney(a: Any, b: Any) -> MannWhitney:
    """Two-sided Mann–Whitney U test of ``a`` against ``b``.

    A thin wrapper over ``scipy.stats.mannwhitneyu(a, b, alternative="two-sided")``
    (exact p-value for small samples without ties, normal approximation with tie
    and continuity correction otherwise) that checks its input first.

    Parameters
    ----------
    a, b : array-like of float
        Non-empty, finite samples.

    Returns
    -------
    MannWhitney
        ``u`` (U of ``a``) and ``pvalue``. When every value of both samples is the
        same, ``pvalue`` is 1.

    Raises
    ------
    ParameterError
        When a sample is empty or holds NaN/infinite values.

    Examples
    --------
    >>> r = mann_whitney([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0])
    >>> r.u, round(r.pvalue, 4)
    (0.0, 0.0286)
    """
    x = _as_sample(a, "first sample")
    y = _as_sample(b, "second sample")
    res = _sstats.mannwhitneyu(x, y, alternative="two-sided")
    p = float(res.pvalue)
    return MannWhitney(u=float(res.statistic), pvalue=1.0 if math.isnan(p) else p)


# --------------------------------------------------------------------------- Theil–Sen


@dataclass(frozen=True)
class TheilSen:
    """Result of :func:`theil_sen`: slope, intercept and the slope's confidence interval."""

    slope: float
    intercept: float
    low_slope: float
    high_slope: float


def _repeat_term(v: np.ndarray) -> float:
    """Σ k(k−1)(2k+5) over the sizes k of groups of equal values (Sen 1968, eq. 2.6)."""
    _, counts = np.unique(v, return_counts=True)
    k = counts[counts > 1].astype(np.float64)
    return float(np.sum(k * (k - 1) * (2 * k + 5)))


def theil_sen(x: Any, y: Any, *, confidence: float = 0.95) -> TheilSen:
    """Theil–Sen slope of ``y`` on ``x`` with Sen's confidence interval.

    The slope is the median of the slopes of all pairs of points with different x;
    the intercept is ``median(y) − slope × median(x)``; the interval is Sen's (1968)
    rank-based one from the variance of Kendall's tau with tie correction — the same
    numbers as ``scipy.stats.theilslopes(y, x, confidence, method="separate")``.

    For more than 2 000 points the pairs are not all formed: 2 000 000 pairs are drawn
    with a fixed seed (the result is deterministic), the slope is their median, and
    the interval takes the same rank fractions of the subsample as Sen's ranks are of
    all pairs — an approximation whose error shrinks with the number of pairs.

    Parameters
    ----------
    x, y : array-like of float
        Same length, at least 2, finite; x must not be all equal.
    confidence : float
        Confidence level of the slope interval, in (0, 1).

    Returns
    -------
    TheilSen
        ``slope``, ``intercept``, ``low_slope``, ``high_slope``; the bounds are NaN
        when ties are so many that Sen's variance is negative (as in scipy).

    Examples
    --------
    >>> r = theil_sen([0, 1, 2, 3, 4, 5], [1.0, 3.1, 4.9, 7.0, 9.2, 10.9])
    >>> round(r.slope, 2), round(r.intercept, 2), round(r.low_slope, 2), round(r.high_slope, 2)
    (2.0, 0.95, 1.8, 2.15)
    """
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"confidence must lie in (0, 1), not {confidence}")
    xs = _as_sample(x, "x")
    ys = _as_sample(y, "y")
    n = xs.size
    if ys.size != n:
        raise ParameterError(f"x and y differ in length ({n} and {ys.size})")
    if n < 2:
        raise ParameterError("Theil–Sen needs at least 2 points")
    if n <= _THEIL_SEN_EXACT_MAX_N:
        i, j = np.triu_indices(n, 1)
    else:
        rng = np.random.default_rng(0)
        i = rng.integers(0, n, _THEIL_SEN_MAX_PAIRS)
        j = rng.integers(0, n, _THEIL_SEN_MAX_PAIRS)
        logger.debug("theil_sen: %d points, using %d sampled pairs", n, i.size)
    dx = xs[j] - xs[i]
    keep = dx != 0
    if not keep.any():
        raise ParameterError("all x values are equal: no slope to estimate")
    slopes = (ys[j] - ys[i])[keep] / dx[keep]
    m = slopes.size

    # Sen's ranks in the full set of pairs with different x.
    _, xcounts = np.unique(xs, return_counts=True)
    nt = n * (n - 1) // 2 - int(np.sum(xcounts * (xcounts - 1) // 2))
    z = special.ndtri((1.0 - confidence) / 2.0)
    sigsq = (n * (n - 1) * (2 * n + 5) - _repeat_term(xs) - _repeat_term(ys)) / 18.0
    if sigsq < 0:  # so many ties that Sen's variance fails: no interval (as scipy)
        part = np.partition(slopes, sorted({(m - 1) // 2, m // 2}))
        slope = 0.5 * (part[(m - 1) // 2] + part[m // 2])
        intercept = float(np.median(ys) - slope * np.median(xs))
        return TheilSen(float(slope), intercept, math.nan, math.nan)
    sigma = math.sqrt(sigsq)
    ru = min(int(np.round((nt - z * sigma) / 2.0)), nt - 1)
    rl = max(int(np.round((nt + z * sigma) / 2.0)) - 1, 0)
    if m != nt:  # subsampled pairs: same rank fractions
        ru = round(ru / max(nt - 1, 1) * (m - 1))
        rl = round(rl / max(nt - 1, 1) * (m - 1))
    part = np.partition(slopes, sorted({(m - 1) // 2, m // 2, rl, ru}))
    slope = 0.5 * (part[(m - 1) // 2] + part[m // 2])
    intercept = float(np.median(ys) - slope * np.median(xs))
    return TheilSen(float(slope), intercept, float(part[rl]), float(part[ru]))


# --------------------------------------------------------------------------- change points


def _best_split(z: np.ndarray, min_size: int) -> tuple[int, float]:
    """Best split of ``z`` into two constant-mean segments and its ``−2 log LR``.

    Gaussian noise of unknown variance: the statistic is ``n · ln(SSE₀ / SSE₁)`` with
    SSE₀ the squared error around one mean and SSE₁ around the two segment means.
    """
    n = z.size
    z = z - z.mean()
    c = np.cumsum(z)
    c2 = np.cumsum(z * z)
    sse0 = float(c2[-1])
    if sse0 <= 0.0:
        return 0, 0.0
    k = np.arange(min_size, n - min_size + 1)
    sse_left = c2[k - 1] - c[k - 1] ** 2 / k
    sse_right = (c2[-1] - c2[k - 1]) - (c[-1] - c[k - 1]) ** 2 / (n - k)
    sse1 = np.maximum(sse_left + sse_right, 0.0)
    with np.errstate(divide="ignore"):
        stat = n * np.log(sse0 / sse1)
    best = int(np.argmax(stat))
    return int(k[best]), float(stat[best])


def change_points(values: Any, *, min_size: int = 3, penalty: float | None = None) -> list[int]:
    """Indices where the mean of a series shifts, by binary segmentation.

    Each segment is modelled as a constant mean plus Gaussian noise of unknown
    variance. A segment is split where the split most improves the fit — the
    likelihood-ratio statistic ``m · ln(SSE₀ / SSE₁)`` on the segment's ``m`` points,
    which does not depend on the scale of the values — if that exceeds ``penalty``;
    then both halves are searched again. The default penalty, ``3 · ln(n)`` for the
    whole series' ``n``, is a BIC-like cost per change point, stricter than BIC's
    ``2 · ln(n)`` because each segment is tested at every split point (in seeded
    simulations of 30–1 440 points of stationary noise it flags a change in ≤ 3 % of
    series, and finds a 1.5σ step in the middle about 80 % of the time).

    Parameters
    ----------
    values : array-like of float
        The series, in order (for example one statistic per time window).
    min_size : int
        Fewest points in any segment.
    penalty : float, optional
        What the likelihood-ratio statistic of a split must exceed; default
        ``3 · ln(len(values))``. Lower finds more (and more spurious) changes.

    Returns
    -------
    list of int
        Sorted indices of the first point of each new segment; empty when the series
        is too short (< ``2 · min_size``), constant, or stationary.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> series = np.r_[rng.normal(10, 1, 40), rng.normal(16, 1, 40)]
    >>> change_points(series)
    [40]
    """
    if int(min_size) < 1:
        raise ParameterError(f"min_size must be at least 1, not {min_size}")
    min_size = int(min_size)
    if np.size(values) < 2 * min_size:
        return []
    x = _as_sample(values, "series")
    n = x.size
    pen = 3.0 * math.log(n) if penalty is None else float(penalty)
    std = float(x.std())
    if std == 0.0:
        return []
    z = (x - x.mean()) / std
    found: list[int] = []
    stack = [(0, n)]
    while stack:
        start, end = stack.pop()
        if end - start < 2 * min_size:
            continue
        k, stat = _best_split(z[start:end], min_size)
        if stat > pen:
            found.append(start + k)
            stack += [(start, start + k), (start + k, end)]
    return sorted(found)

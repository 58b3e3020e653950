"""Miss-ratio curves, and the cache size they recommend.

:func:`miss_ratio_curve` gives the miss ratio of a policy at many cache sizes:

* ``method="exact"`` for LRU: every request's stack distance in one pass
  (:mod:`perflab.caching._stack`), so the curve holds for every size at once and
  equals a replay at each (:func:`perflab.caching.simulate`). That needs LRU's
  inclusion property (a bigger cache holds all a smaller one does), which deletes,
  TTLs and, in bytes, objects that shrink break (they free room in a small cache after
  it evicted what a bigger one keeps), and the stack counts an object bigger than a
  cache that the cache never admits. A trace with any of these is replayed at each
  size instead;
* ``method="exact"`` for any other policy: one replay per size (``auto`` scales down
  instead when requests × sizes exceed :data:`EXACT_REPLAYS_MAX`);
* ``method="shards"`` for LRU: SHARDS (Waldspurger et al., FAST'15) — stack
  distances of the requests of a hash-sampled ``rate`` of the keys, scaled by
  ``1/rate``, with the count correction of SHARDS-adj;
* ``method="scaled"`` for any policy: the same key sample replayed at sizes scaled by
  ``rate`` (the miniature simulations of Waldspurger et al., ATC'17).

A sampled curve states its sampling error (and has no estimate, null, at sizes that
scale to fewer than :data:`MIN_SCALED` objects): the sample is split by hash into
``groups`` disjoint sub-samples, each gives its own curve, and ``error`` is the
standard error of the whole sample's miss ratio estimated from their spread — for
SHARDS (whose count correction fixes each curve's denominator) ``std / sqrt(groups)``,
the random-groups estimator; for scaled replays the linearised ratio estimator, since
each sub-sample's own count of gets varies with the keys it drew.

:func:`recommend_size` reads the smallest size that reaches a hit-ratio target off a
curve; :func:`find_knee` where the curve bends, and :func:`doubling_gain` what each
doubling of the cache still buys.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

import numpy as np
import polars as pl

from perflab.caching import _stack
from perflab.caching.schema import CURVE, POLICIES
from perflab.caching.simulation import Fill, Prepared, Unit, prepare, run_one
from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame

__all__ = [
    "doubling_gain",
    "find_knee",
    "miss_ratio_curve",
    "recommend_size",
    "sample",
    "stack_distances",
]

logger = logging.getLogger(__name__)

Method = Literal["auto", "exact", "shards", "scaled"]

EXACT_LRU_MAX = 200_000_000
"""``method="auto"`` takes the exact LRU curve up to this many requests, SHARDS above."""
MIN_SCALED = 10
"""A sampled curve gives no estimate at sizes that scale to fewer objects than this."""
EXACT_REPLAYS_MAX = 400_000_000
"""``method="auto"`` replays a non-LRU policy at every size while requests × sizes stay
below this, and scales down above."""


def stack_distances(trace: FrameLike | Prepared, unit: Unit = "objects") -> np.ndarray:
    """Each request's LRU stack distance (``-1`` cold, ``-2`` not a get).

    Examples
    --------
    >>> stack_distances({"timestamp": [0.0, 1, 2, 3], "key": [0, 1, 0, 0], "size": [1] * 4})
    array([-1, -1,  2,  1])
    """
    p = prepare(trace)
    return _stack.stack_distances(p.keys, p.sizes, p.times, p.ttls, p.ops, p.n_obj, unit == "bytes")


def _stack_is_exact(p: Prepared, unit: Unit, smallest: int) -> bool:
    """Whether LRU's one pass equals a replay at every size (``smallest`` and up).

    Inclusion (a bigger LRU cache holds everything a smaller one does) breaks when an
    entry leaves a cache other than by eviction: a delete, an expiry, or (counting
    bytes) a set that shrinks an object frees room in a small cache after it has
    already evicted what the stack still holds. And an object bigger than a cache is
    never admitted to it, but sits on the stack.
    """
    if (p.ops == 2).any() or np.isfinite(p.ttls).any():
        return False
    if unit == "bytes" and p.requests:
        biggest = _stack.largest_size(p.keys, p.sizes, p.n_obj)
        if biggest.max() > smallest:
            return False
        return bool((p.sizes == biggest[p.keys]).all())
    return True


def _curve_from_distances(
    dist: np.ndarray, req_bytes: np.ndarray, sizes: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Hits and hit bytes at each size from stack distances (``scale``: 1/rate)."""
    gets = dist != _stack.NOT_GET
    d = dist[gets]
    b = req_bytes[gets]
    warm = d >= 0  # 0 bytes away: a zero-size object, hit at any size
    order = np.argsort(d[warm], kind="stable")
    ds = d[warm][order] * scale
    cum_bytes = np.concatenate([[0], np.cumsum(b[warm][order])])
    k = np.searchsorted(ds, sizes, side="right")
    return k.astype(np.float64), cum_bytes[k].astype(np.float64), int(d.size), int(b.sum())


def sample(p: Prepared, rate: float, groups: int = 4, salt: int = 0) -> np.ndarray:
    """Per request, its sub-sample (``0 … groups-1``) or ``-1`` (see the module doc).

    Examples
    --------
    >>> p = prepare({"timestamp": [0.0] * 4, "key": [0, 1, 0, 1], "size": [1] * 4})
    >>> sample(p, 1.0, groups=1).tolist()
    [0, 0, 0, 0]
    """
    if not 0 < rate <= 1:
        raise ParameterError(f"sampling rate must be in (0, 1], not {rate}")
    return _stack.sample_groups(p.keys, rate, max(1, groups), salt)


def _subset(p: Prepared, keep: np.ndarray) -> Prepared:
    """The requests at ``keep`` (indices or a mask), their keys renumbered densely."""
    keys = p.keys[keep]
    uniq, dense = np.unique(keys, return_inverse=True)
    biggest = np.zeros(uniq.size, np.int64)
    sizes = p.sizes[keep]
    if sizes.size:
        np.maximum.at(biggest, dense, sizes)
    return Prepared(
        keys=dense.astype(np.int64),
        sizes=sizes,
        times=p.times[keep],
        ttls=p.ttls[keep],
        ops=p.ops[keep],
        n_obj=int(uniq.size),
        working_set_bytes=int(biggest.sum()),
    )


def _split(p: Prepared, rate: float, groups: int, salt: int) -> tuple[Prepared, list[Prepared]]:
    """The sampled trace, and its ``groups`` disjoint sub-samples."""
    grp = sample(p, rate, groups, salt)
    kept = np.flatnonzero(grp >= 0)
    whole = _subset(p, kept)
    g = grp[kept]
    subs = [_subset(whole, np.flatnonzero(g == k)) for k in range(groups)] if groups > 1 else []
    return whole, subs


def _grid(p: Prepared, unit: Unit, sizes: Iterable[float] | None, points: int) -> np.ndarray:
    ws = p.working_set(unit)
    if sizes is not None:
        out = []
        for s in sizes:
            if isinstance(s, float) and 0 < s < 1:
                s = max(1, round(s * ws))
            if s <= 0 or s != int(s):
                raise ParameterError(f"cache size {s!r}: sizes are positive whole numbers")
            out.append(int(s))
        return np.unique(np.asarray(out, np.int64))
    if ws == 0:
        return np.zeros(0, np.int64)
    if unit == "objects" and ws <= points:
        return np.arange(1, ws + 1, dtype=np.int64)
    lo = max(1.0, ws / 10_000)
    return np.unique(np.round(np.geomspace(lo, ws, points)).astype(np.int64))


def _frame(
    sizes: np.ndarray,
    miss: np.ndarray,
    byte_miss: np.ndarray,
    unit: Unit,
    policy: str,
    method: str,
    error: np.ndarray | float,
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "size": sizes,
            "unit": unit,
            "miss_ratio": miss,
            "byte_miss_ratio": byte_miss,
            "policy": policy,
            "method": method,
            "error": np.broadcast_to(np.asarray(error, np.float64), sizes.shape),
        },
        nan_to_null=True,
    ).cast(pl.Schema(CURVE.dtypes()))


def _ratios(
    hits: np.ndarray, hit_bytes: np.ndarray, n: float, nb: float
) -> tuple[np.ndarray, np.ndarray]:
    miss = 1 - hits / n if n > 0 else np.full(hits.shape, np.nan)
    byte_miss = 1 - hit_bytes / nb if nb > 0 else np.full(hits.shape, np.nan)
    return np.clip(miss, 0.0, 1.0), np.clip(byte_miss, 0.0, 1.0)


def _lru_exact(p: Prepared, unit: Unit, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dist = _stack.stack_distances(p.keys, p.sizes, p.times, p.ttls, p.ops, p.n_obj, unit == "bytes")
    hits, hit_bytes, n, nb = _curve_from_distances(dist, p.sizes, sizes.astype(np.float64), 1.0)
    return _ratios(hits, hit_bytes, n, nb)


def _lru_shards(
    p: Prepared, unit: Unit, sizes: np.ndarray, rate: float, groups: int, salt: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gets = p.ops == 0
    n_all = float(gets.sum())
    b_all = float(p.sizes[gets].sum())
    whole, subs = _split(p, rate, groups, salt)

    def one(q: Prepared, r: float) -> tuple[np.ndarray, np.ndarray]:
        dist = _stack.stack_distances(
            q.keys, q.sizes, q.times, q.ttls, q.ops, q.n_obj, unit == "bytes"
        )
        hits, hit_bytes, n, nb = _curve_from_distances(
            dist, q.sizes, sizes.astype(np.float64), 1.0 / r
        )
        # SHARDS-adj: the sample should hold rate × the gets; the shortfall (or
        # excess) is credited at the smallest distance, i.e. to every size's hits
        hits = hits + (n_all * r - n)
        hit_bytes = hit_bytes + (b_all * r - nb)
        return _ratios(hits, hit_bytes, n_all * r, b_all * r)

    miss, byte_miss = one(whole, rate)
    curves = [one(q, rate / groups)[0] for q in subs]
    return miss, byte_miss, _error(curves, sizes)


def _error(curves: list[np.ndarray], sizes: np.ndarray) -> np.ndarray:
    """Standard error of the whole sample's estimate from its sub-samples' spread."""
    if len(curves) < 2:
        return np.full(sizes.shape, np.nan)
    return np.std(np.vstack(curves), axis=0, ddof=1) / np.sqrt(len(curves))


def _counters(
    p: Prepared, policy: str, unit: Unit, sizes: np.ndarray, scale: float, fill: Fill = "miss"
) -> np.ndarray:
    """The replay counters (one row per size, sizes scaled by ``scale``)."""
    from concurrent.futures import ThreadPoolExecutor

    caps = [max(1, round(float(s) * scale)) for s in sizes]
    with ThreadPoolExecutor() as pool:
        counters = list(pool.map(lambda c: run_one(p, policy, c, unit, fill=fill), caps))
    return np.vstack(counters) if counters else np.zeros((0, 7), np.int64)


def _replayed(
    p: Prepared, policy: str, unit: Unit, sizes: np.ndarray, scale: float, fill: Fill = "miss"
) -> tuple[np.ndarray, np.ndarray]:
    c = _counters(p, policy, unit, sizes, scale, fill)
    n = c[:, 0].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        miss = np.where(n > 0, 1 - c[:, 1] / np.maximum(n, 1), np.nan)
        byte_miss = np.where(c[:, 2] > 0, 1 - c[:, 3] / np.maximum(c[:, 2], 1), np.nan)
    return miss, byte_miss


def _scaled(
    p: Prepared,
    policy: str,
    unit: Unit,
    sizes: np.ndarray,
    rate: float,
    groups: int,
    salt: int,
    fill: Fill = "miss",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    whole, subs = _split(p, rate, groups, salt)
    miss, byte_miss = _replayed(whole, policy, unit, sizes, rate, fill)
    if len(subs) < 2:
        return miss, byte_miss, np.full(sizes.shape, np.nan)
    # each sub-sample's miss ratio has a random denominator (how many gets its keys
    # drew), so the spread of the ratios understates the error on skewed traces: the
    # linearised (ratio-estimator) standard error uses misses and gets apart
    c = np.stack([_counters(q, policy, unit, sizes, rate / groups, fill) for q in subs])
    gets = c[:, :, 0].astype(np.float64)  # groups × sizes
    misses = gets - c[:, :, 1]
    total = gets.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = misses.sum(axis=0) / total
        resid = (misses - ratio * gets) / total
        err = np.sqrt(groups / (groups - 1) * (resid**2).sum(axis=0))
    return miss, byte_miss, err


def miss_ratio_curve(
    trace: FrameLike | Prepared,
    policy: str = "lru",
    *,
    unit: Unit = "objects",
    sizes: Iterable[float] | None = None,
    method: Method = "auto",
    rate: float | None = None,
    groups: int = 8,
    points: int = 200,
    salt: int = 0,
    fill: Fill = "miss",
) -> pl.DataFrame:
    """The miss ratio of ``policy`` at many cache sizes.

    Parameters
    ----------
    trace : frame, path or Prepared
        A :data:`~perflab.caching.schema.TRACE` (see :func:`perflab.caching.prepare`).
    policy : str
        One of :data:`~perflab.caching.schema.POLICIES` (``"lru"`` by default).
    unit : {"objects", "bytes"}
        Whether sizes count entries or bytes.
    sizes : iterable of numbers, optional
        Where to evaluate the curve (a float in (0, 1) is a fraction of the working
        set). Default: every size up to the working set when it has at most
        ``points`` entries, else ``points`` sizes spaced evenly in log from 1/10 000
        of the working set to all of it.
    method : {"auto", "exact", "shards", "scaled"}
        See the module docstring. ``auto``: exact while affordable
        (:data:`EXACT_LRU_MAX`, :data:`EXACT_REPLAYS_MAX`), sampled above (SHARDS for
        LRU's one pass, scaled replays otherwise).
    rate : float, optional
        Sampling rate of ``shards``/``scaled`` (default: enough for about 100 000
        sampled requests, at least 0.001).
    groups : int
        Sub-samples that estimate the sampling error (at least 2 for an estimate).
    points : int
        Number of sizes of the default grid.
    salt : int
        Seed of the key hash that picks the sample.
    fill : {"miss", "set"}
        What puts an object in the cache (see :func:`perflab.caching.simulate`); with
        ``"set"`` LRU's curve is replayed (a miss that admits nothing breaks the stack).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.caching.schema.CURVE`, one row per size, ascending.

    Examples
    --------
    >>> t = {"timestamp": [0.0, 1, 2, 3, 4], "key": [0, 1, 0, 2, 0], "size": [1] * 5}
    >>> miss_ratio_curve(t).select("size", "miss_ratio").rows()
    [(1, 1.0), (2, 0.6), (3, 0.6)]
    """
    policy = policy.lower()
    if policy not in POLICIES:
        raise ParameterError(f"unknown policy {policy!r}; perflab simulates {list(POLICIES)}")
    if method not in ("auto", "exact", "shards", "scaled"):
        raise ParameterError(f"method must be auto, exact, shards or scaled, not {method!r}")
    if method == "shards" and (policy != "lru" or fill != "miss"):
        raise ParameterError(
            "SHARDS samples LRU stack distances of a read-through cache; use method='scaled'"
        )
    p = prepare(trace)
    grid = _grid(p, unit, sizes, points)
    if p.requests == 0 or grid.size == 0:
        return CURVE.empty()
    affordable = p.requests * grid.size <= EXACT_REPLAYS_MAX
    one_pass = policy == "lru" and fill == "miss" and _stack_is_exact(p, unit, int(grid.min()))
    if method == "auto":
        if one_pass:
            method = "exact" if p.requests <= EXACT_LRU_MAX else "shards"
        else:
            method = "exact" if affordable else "scaled"
    if rate is None:
        rate = 1.0 if method == "exact" else min(1.0, max(0.001, 100_000 / p.requests))
    if method == "exact":
        if one_pass:
            miss, byte_miss = _lru_exact(p, unit, grid)
        else:
            miss, byte_miss = _replayed(p, policy, unit, grid, 1.0, fill)
        return _frame(grid, miss, byte_miss, unit, policy, "exact", 0.0)
    if method == "shards":
        if not _stack_is_exact(p, unit, int(grid.min())):
            logger.warning(
                "SHARDS assumes LRU's inclusion property, which this trace breaks (deletes, "
                "TTLs or objects that shrink or outgrow the cache): method='scaled' replays "
                "them as they are"
            )
        miss, byte_miss, err = _lru_shards(p, unit, grid, rate, groups, salt)
    else:
        miss, byte_miss, err = _scaled(p, policy, unit, grid, rate, groups, salt, fill)
    # a size that scales to fewer than MIN_SCALED objects says little: no estimate there
    one = 1.0 if unit == "objects" else p.working_set_bytes / max(p.n_obj, 1)
    blind = (grid * rate < MIN_SCALED * one) if rate < 1 else np.zeros(grid.shape, bool)
    for a in (miss, byte_miss, err):
        a[blind] = np.nan
    return _frame(grid, miss, byte_miss, unit, policy, method, err)


def _one_policy(curve: FrameLike, policy: str | None) -> pl.DataFrame:
    df = as_frame(curve, schema=CURVE.subset("size", "miss_ratio"))
    if "policy" in df.columns:
        names = df["policy"].unique().to_list()
        if policy is not None:
            df = df.filter(pl.col("policy") == policy)
        elif len(names) > 1:
            raise ParameterError(f"the curve holds several policies {sorted(names)}: pick one")
    return df.drop_nulls("miss_ratio").sort("size")


def recommend_size(
    curve: FrameLike, target_hit_ratio: float = 0.9, *, policy: str | None = None
) -> int | None:
    """The smallest size on ``curve`` whose hit ratio reaches ``target_hit_ratio``.

    Parameters
    ----------
    curve : frame
        A :data:`~perflab.caching.schema.CURVE` (``size, miss_ratio``), or a
        :data:`~perflab.caching.schema.SIMULATION` frame (then give ``policy``).
    target_hit_ratio : float
        In (0, 1].
    policy : str, optional
        Which policy's rows, when the frame holds several.

    Returns
    -------
    int or None
        The size, in the curve's unit; None when no size on the curve reaches the
        target (the trace's cold misses may make it unreachable at any size).

    Examples
    --------
    >>> c = {"size": [1, 2, 4, 8], "miss_ratio": [0.8, 0.5, 0.3, 0.25]}
    >>> recommend_size(c, 0.7), recommend_size(c, 0.9)
    (4, None)
    """
    if not 0 < target_hit_ratio <= 1:
        raise ParameterError(f"target_hit_ratio must be in (0, 1], not {target_hit_ratio}")
    df = _one_policy(curve, policy)
    ok = df.filter((1 - pl.col("miss_ratio")) >= target_hit_ratio - 1e-12)
    return None if ok.is_empty() else int(ok["size"][0])


def doubling_gain(curve: FrameLike, *, policy: str | None = None) -> pl.DataFrame:
    """What doubling the cache buys at each size: ``size, hit_ratio, gain`` (points).

    ``gain`` is the hit ratio at twice the size (interpolated in log size) minus the
    hit ratio here, in percentage points; null where twice the size is off the curve.

    Examples
    --------
    >>> c = {"size": [1, 2, 4, 8], "miss_ratio": [0.8, 0.5, 0.3, 0.25]}
    >>> doubling_gain(c)["gain"].round(1).to_list()
    [30.0, 20.0, 5.0, None]
    """
    df = _one_policy(curve, policy)
    s = df["size"].cast(pl.Float64).to_numpy()
    h = 1 - df["miss_ratio"].to_numpy()
    if s.size == 0:
        return pl.DataFrame(schema={"size": pl.Int64, "hit_ratio": pl.Float64, "gain": pl.Float64})
    twice = np.interp(np.log(2 * s), np.log(s), h)
    gain = np.where(2 * s <= s[-1] * (1 + 1e-9), (twice - h) * 100, np.nan)
    return pl.DataFrame({"size": df["size"], "hit_ratio": h, "gain": gain}, nan_to_null=True).cast(
        {"size": pl.Int64}
    )


def find_knee(curve: FrameLike, *, policy: str | None = None) -> int | None:
    """Where the hit-ratio curve bends: the Kneedle point on a log size axis.

    The curve (hit ratio against log size) is normalised to the unit square; the
    knee is the size furthest above the straight line from its first to its last
    point (Satopää et al., 2011). None for a curve with fewer than three points or
    no bend (a straight or convex curve).

    Examples
    --------
    >>> c = {"size": [1, 2, 4, 8, 16, 32], "miss_ratio": [0.9, 0.5, 0.3, 0.28, 0.27, 0.26]}
    >>> find_knee(c)
    4
    """
    df = _one_policy(curve, policy)
    if df.height < 3:
        return None
    x = np.log(df["size"].cast(pl.Float64).to_numpy())
    y = 1 - df["miss_ratio"].to_numpy()
    if x[-1] == x[0] or y.max() == y.min():
        return None
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y.min()) / (y.max() - y.min())
    chord = yn[0] + (yn[-1] - yn[0]) * xn
    diff = yn - chord
    k = int(np.argmax(diff))
    return int(df["size"][k]) if diff[k] > 1e-9 else None

"""Synthetic cache traces: Zipf popularity, with an optional scan mixed in.

Seeded, so the same call gives the same trace: the benchmarks, the tests and the
generated sample (:mod:`perflab.caching.samples`) use them. Object ids are a random
permutation of popularity ranks (the most popular object is not id 0), then made
dense in order of first appearance, as a reader would.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from perflab.caching.schema import TRACE
from perflab.errors import ParameterError

__all__ = ["zipf_keys", "zipf_trace"]


def zipf_keys(n_requests: int, n_objects: int, alpha: float = 1.0, *, seed: int = 0) -> np.ndarray:
    """``n_requests`` object ids drawn from a Zipf(``alpha``) law over ``n_objects``.

    Inverse-CDF sampling over the bounded support (any ``alpha`` ≥ 0, unlike
    ``numpy.random.zipf``). Ids are dense in order of first appearance.

    Examples
    --------
    >>> k = zipf_keys(10_000, 100, 1.0, seed=1)
    >>> int(k.max()) < 100, int(k[0])
    (True, 0)
    """
    if n_objects <= 0 or n_requests < 0 or alpha < 0:
        raise ParameterError("need n_objects > 0, n_requests ≥ 0 and alpha ≥ 0")
    rng = np.random.default_rng(seed)
    weights = np.arange(1, n_objects + 1, dtype=np.float64) ** -alpha
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    ranks = np.searchsorted(cdf, rng.random(n_requests), side="right")
    ranks = np.minimum(ranks, n_objects - 1)
    ids = rng.permutation(n_objects)[ranks]
    return _dense(ids, n_objects)


def _dense(ids: np.ndarray, n_objects: int) -> np.ndarray:
    """Ids renumbered 0, 1, 2 … in order of first appearance."""
    first = np.full(n_objects, len(ids), np.int64)
    np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
    seen = np.flatnonzero(first < len(ids))
    order = seen[np.argsort(first[seen], kind="stable")]
    remap = np.empty(n_objects, np.int64)
    remap[order] = np.arange(order.size)
    return remap[ids]


def zipf_trace(
    n_requests: int,
    n_objects: int,
    alpha: float = 1.0,
    *,
    seed: int = 0,
    mean_size: int | None = None,
    scan: tuple[float, int] | None = None,
    rate: float = 1000.0,
) -> pl.DataFrame:
    """A :data:`~perflab.caching.schema.TRACE` of Zipf requests, optionally with a scan.

    Parameters
    ----------
    n_requests, n_objects : int
        Requests, and the objects they are drawn from.
    alpha : float
        Zipf skew (1.0 is typical of web caches; 0 is uniform).
    seed : int
        Random seed.
    mean_size : int, optional
        Object sizes in bytes, lognormal around this mean (σ = 1), fixed per object;
        all 1 when omitted.
    scan : (float, int), optional
        ``(start, length)``: at fraction ``start`` of the trace, ``length`` requests
        to ``length`` objects never seen before or after (a batch job reading through
        a table), which flush a recency-based cache.
    rate : float
        Requests per second (timestamps are evenly spaced).

    Examples
    --------
    >>> t = zipf_trace(1000, 50, scan=(0.5, 100), seed=2)
    >>> t.height, t["key"].n_unique() > 100
    (1100, True)
    """
    keys = zipf_keys(n_requests, n_objects, alpha, seed=seed)
    if scan is not None:
        start, length = scan
        at = int(start * n_requests)
        scanned = np.arange(n_objects, n_objects + length, dtype=np.int64)
        keys = np.concatenate([keys[:at], scanned, keys[at:]])
        keys = _dense(keys, n_objects + length)
    n = keys.size
    if mean_size is None:
        sizes = np.ones(n, np.int64)
    else:
        rng = np.random.default_rng(seed + 1)
        n_ids = int(keys.max()) + 1 if n else 0
        mu = np.log(mean_size) - 0.5
        per_object = np.maximum(1, rng.lognormal(mu, 1.0, n_ids).round()).astype(np.int64)
        sizes = per_object[keys]
    return pl.DataFrame(
        {
            "timestamp": np.arange(n, dtype=np.float64) / rate,
            "key": keys,
            "size": sizes,
            "ttl": pl.repeat(None, n, dtype=pl.Float64, eager=True),
            "op": pl.repeat("get", n, dtype=pl.String, eager=True),
        }
    ).cast(pl.Schema(TRACE.dtypes()))

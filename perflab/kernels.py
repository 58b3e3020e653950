"""Numba kernels for grouped count, mean, spread and percentiles of big frames.

Why hand-written: percentiles dominate the cost of a grouped summary, and neither
polars' grouped ``quantile`` (which gathers every group's values per quantile) nor
pandas' (a lexsort of the whole frame) is quick on ten million rows. On 10 million
samples in 100 groups these kernels are about 6× pandas and 4× the best
hand-written polars ``group_by`` (``benchmarks/bench_monitoring_summarize.py``).
:func:`perflab.groupstats.group_stats` sends frames of at least
:data:`KERNEL_MIN_ROWS` rows here and smaller ones to one polars ``group_by``.

The kernels interpolate percentiles exactly as numpy's ``"linear"`` (Hyndman–Fan
type 7), bit for bit. The first call in a new environment compiles them (about 10 s,
then cached on disk next to this file or in numba's cache directory).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl

__all__ = ["KERNEL_MIN_ROWS", "available", "factorize", "kernel_group_stats"]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- fast path
#
# Big frames are summarised by numba kernels (compiled on first use, cached on disk):
#
# 1. every row's group key is hashed by polars twice, with two seeds (128 bits; two
#    distinct keys share both hashes with probability ~2⁻¹²⁸), and each chunk of rows
#    gets dense group ids from an open-addressing table — one thread per chunk;
# 2. the values are scattered into one contiguous block per group (a counting sort,
#    one thread per chunk, each writing its own slots);
# 3. per group, one pass gives count/min/max/compensated sum, a second the squared
#    deviations, and every needed order statistic comes from one radix-select:
#    a 65 536-bin histogram of the top 16 bits of the order-preserving integer image
#    of each float, then a quickselect among the few values in the bins that hold the
#    wanted ranks. Percentiles are then interpolated exactly as numpy's "linear".
#
# The functions below are plain Python until available() compiles them with
# numba.njit(nogil=True, cache=True); they hold the GIL-free inner loops only.

KERNEL_MIN_ROWS = 1_000_000
"""Frames with at least this many rows (and numba installed) take the kernel path."""

_KERNELS: list[str] = []


def _kernel(fn: Any) -> Any:
    """Register a function for :func:`available` (in dependency order)."""
    _KERNELS.append(fn.__name__)
    return fn


@_kernel
def _hselect(a: Any, lo: int, hi: int, k: int) -> None:  # pragma: no cover - numba
    """Quickselect (Hoare partition, median of three) on ``a[lo:hi]`` in place.

    Afterwards ``a[k]`` is the value of rank ``k``, everything in ``a[lo:k]`` is ≤ it
    and everything in ``a[k+1:hi]`` is ≥ it.
    """
    left = lo
    right = hi - 1
    while right > left + 1:
        mid = (left + right) >> 1
        a[mid], a[left + 1] = a[left + 1], a[mid]
        if a[left] > a[right]:
            a[left], a[right] = a[right], a[left]
        if a[left + 1] > a[right]:
            a[left + 1], a[right] = a[right], a[left + 1]
        if a[left] > a[left + 1]:
            a[left], a[left + 1] = a[left + 1], a[left]
        i = left + 1
        j = right
        pivot = a[left + 1]
        while True:
            i += 1
            while a[i] < pivot:
                i += 1
            j -= 1
            while a[j] > pivot:
                j -= 1
            if j < i:
                break
            a[i], a[j] = a[j], a[i]
        a[left + 1] = a[j]
        a[j] = pivot
        if j >= k:
            right = j - 1
        if j <= k:
            left = i
    if right == left + 1 and a[right] < a[left]:
        a[left], a[right] = a[right], a[left]


@_kernel
def _order_key(u: Any) -> Any:  # pragma: no cover - numba
    """Map the bits of a float64 to a uint64 with the same order."""
    if u >> np.uint64(63):
        return ~u
    return u | (np.uint64(1) << np.uint64(63))


@_kernel
def _ranks_of(a: Any, ranks: Any, out: Any) -> None:  # pragma: no cover - numba
    """``out[t]`` = value of rank ``ranks[t]`` (sorted) in ``a``; ``a`` is reordered."""
    n = a.size
    if n <= 4096:
        start = 0
        for t in range(ranks.size):
            _hselect(a, start, n, ranks[t])
            out[t] = a[ranks[t]]
            start = ranks[t]
        return
    bits = a.view(np.uint64)
    shift = np.uint64(48)
    hist = np.zeros(65537, np.int64)
    for i in range(n):
        hist[(_order_key(bits[i]) >> shift) + np.uint64(1)] += 1
    below = np.cumsum(hist)  # below[b] = values in bins < b
    slot_of = np.full(65536, -1, np.int64)
    bins = np.empty(ranks.size, np.int64)
    starts = np.zeros(ranks.size + 1, np.int64)
    used = 0
    b = 0
    for t in range(ranks.size):
        while below[b + 1] <= ranks[t]:
            b += 1
        bins[t] = b
        if slot_of[b] < 0:
            slot_of[b] = used
            starts[used + 1] = starts[used] + below[b + 1] - below[b]
            used += 1
    cand = np.empty(starts[used], np.float64)
    fill = starts[:used].copy()
    for i in range(n):
        s = slot_of[_order_key(bits[i]) >> shift]
        if s >= 0:
            cand[fill[s]] = a[i]
            fill[s] += 1
    for t in range(ranks.size):
        s = slot_of[bins[t]]
        k = starts[s] + ranks[t] - below[bins[t]]
        _hselect(cand, starts[s], starts[s + 1], k)
        out[t] = cand[k]


@_kernel
def _assign(h1: Any, h2: Any) -> Any:  # pragma: no cover - numba
    """Dense ids, in order of first appearance, for the keys ``(h1[i], h2[i])``.

    Returns ``(codes, first, key1, key2, counts)``: the id of each row (int32), then
    per id its first row, its key and its number of rows.
    """
    n = h1.size
    cap = 1024
    mask = cap - 1
    k1 = np.zeros(cap, np.uint64)
    k2 = np.zeros(cap, np.uint64)
    slot = np.full(cap, -1, np.int64)
    codes = np.empty(n, np.int32)
    first = np.empty(256, np.int64)
    g = 0
    for i in range(n):
        a = h1[i]
        b = h2[i]
        j = np.int64(a & np.uint64(mask))
        while True:
            s = slot[j]
            if s < 0:
                slot[j] = g
                k1[j] = a
                k2[j] = b
                if g == first.size:
                    grown = np.empty(2 * g, np.int64)
                    grown[:g] = first
                    first = grown
                first[g] = i
                codes[i] = g
                g += 1
                if 4 * g > cap:  # keep the load under 1/4: short probes
                    cap *= 4
                    mask = cap - 1
                    n1 = np.zeros(cap, np.uint64)
                    n2 = np.zeros(cap, np.uint64)
                    ns = np.full(cap, -1, np.int64)
                    for t in range(slot.size):
                        if slot[t] >= 0:
                            jj = np.int64(k1[t] & np.uint64(mask))
                            while ns[jj] >= 0:
                                jj = (jj + 1) & mask
                            ns[jj] = slot[t]
                            n1[jj] = k1[t]
                            n2[jj] = k2[t]
                    k1, k2, slot = n1, n2, ns
                break
            if k1[j] == a and k2[j] == b:
                codes[i] = s
                break
            j = (j + 1) & mask
    first = first[:g].copy()
    counts = np.zeros(g, np.int64)
    for i in range(n):
        counts[codes[i]] += 1
    return codes, first, h1[first], h2[first], counts


@_kernel
def _scatter(
    codes: Any, values: Any, to_global: Any, pos: Any, out: Any
) -> None:  # pragma: no cover
    """Counting-sort step: ``out[pos[g]++] = value`` for each row of global group g."""
    for i in range(codes.size):
        g = to_global[codes[i]]
        out[pos[g]] = values[i]
        pos[g] += 1


@_kernel
def _group_stats(
    buf: Any, offsets: Any, groups: Any, qs: Any, out: Any
) -> None:  # pragma: no cover
    """Row ``g`` of ``out``: count, mean, min, max, std (ddof 1), then the quantiles."""
    nq = qs.size
    for g in groups:
        a = buf[offsets[g] : offsets[g + 1]]
        n = a.size
        total = 0.0
        comp = 0.0
        lo = a[0]
        hi = a[0]
        for i in range(n):
            v = a[i]
            t = total + v
            if abs(total) >= abs(v):
                comp += (total - t) + v
            else:
                comp += (v - t) + total
            total = t
            lo = min(lo, v)
            hi = max(hi, v)
        mean = (total + comp) / n
        ss = 0.0
        for i in range(n):
            d = a[i] - mean
            ss += d * d
        out[g, 0] = n
        out[g, 1] = mean
        out[g, 2] = lo
        out[g, 3] = hi
        out[g, 4] = np.sqrt(ss / (n - 1)) if n > 1 else np.nan
        wanted = np.empty(2 * nq, np.int64)
        for q in range(nq):
            r = int(np.floor((n - 1) * qs[q]))
            wanted[2 * q] = r
            wanted[2 * q + 1] = min(r + 1, n - 1)
        ranks = np.unique(wanted)
        values = np.empty(ranks.size, np.float64)
        _ranks_of(a, ranks, values)
        for q in range(nq):
            h = (n - 1) * qs[q]
            r = int(np.floor(h))
            below = values[np.searchsorted(ranks, r)]
            above = values[np.searchsorted(ranks, min(r + 1, n - 1))]
            t = h - r  # interpolate exactly as numpy's "linear" (its _lerp)
            if t >= 0.5:
                out[g, 5 + q] = above - (above - below) * (1.0 - t)
            else:
                out[g, 5 + q] = below + (above - below) * t


@functools.cache
def available() -> bool:
    """Compile the kernels with numba (once per process); False without numba."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        logger.info("numba is not installed: grouped statistics use the polars path only")
        return False
    space = globals()
    for name in _KERNELS:
        space[name] = numba.njit(cache=True, nogil=True)(space[name])
    return True


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, total, parts + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _hash_keys(frame: pl.DataFrame, keys: Sequence[pl.Expr]) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each row's group key (zeros when no key)."""
    if not keys:
        zeros = np.zeros(frame.height, np.uint64)
        return zeros, zeros
    hashed = frame.select(
        *[k.hash(seed=0).alias(f"a{i}") for i, k in enumerate(keys)],
        *[k.hash(seed=1).alias(f"b{i}") for i, k in enumerate(keys)],
    )
    h1 = hashed.get_column("a0").to_numpy()
    h2 = hashed.get_column("b0").to_numpy()
    mult = np.uint64(0x9E3779B97F4A7C15)
    for i in range(1, len(keys)):  # order-dependent mix of the column hashes
        h1 = (h1 * mult) ^ hashed.get_column(f"a{i}").to_numpy()
        h2 = (h2 * mult) ^ hashed.get_column(f"b{i}").to_numpy()
    return h1, h2


def factorize(frame: pl.DataFrame, keys: Sequence[pl.Expr]) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of each row's key, and each id's first row: a hash table, no sort.

    What ``pandas.factorize`` does, over polars expressions and much faster than a
    polars ``unique`` + join on strings (a 1-million-row column of paths with
    100,000 distinct values: ~30 ms against ~500 ms): the key is hashed twice
    (128 bits, as for :func:`kernel_group_stats`) and one open-addressing table gives
    ids in order of first appearance. A null key is a key like any other.

    Parameters
    ----------
    frame : polars.DataFrame
        The frame the key expressions are evaluated on.
    keys : sequence of polars.Expr
        The key; at least one expression.

    Returns
    -------
    (codes, first_row)
        ``codes``: int64 id per row; ``first_row``: per id, its first row.

    Examples
    --------
    >>> f = pl.DataFrame({"p": ["/a", "/b", "/a", None]})
    >>> codes, first = factorize(f, [pl.col("p")])
    >>> codes.tolist(), first.tolist()
    ([0, 1, 0, 2], [0, 1, 3])
    """
    if not keys:
        raise ValueError("factorize needs at least one key expression")
    if frame.height == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    h1, h2 = _hash_keys(frame, keys)
    if available():
        codes, first, _, _, _ = _assign(h1, h2)
        return codes.astype(np.int64), first
    _, first, codes = np.unique(  # pragma: no cover - numba is a dependency
        h1.astype(np.uint64) ^ (h2 << np.uint64(1)), return_index=True, return_inverse=True
    )
    return codes.astype(np.int64), first  # pragma: no cover


def kernel_group_stats(
    frame: pl.DataFrame,
    keys: Sequence[pl.Expr],
    values: np.ndarray,
    quantiles: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """Grouped statistics of ``values`` by the key expressions, with the kernels.

    Parameters
    ----------
    frame : polars.DataFrame
        The frame the key expressions are evaluated on.
    keys : sequence of polars.Expr
        The group key (one expression per key column; none for one group).
    values : numpy.ndarray
        float64 values, one per row of ``frame``, without NaN.
    quantiles : sequence of float
        The quantiles wanted, in [0, 1].

    Returns
    -------
    (first_row, stats)
        ``first_row``: per group, the index of its first row in ``frame`` (groups in
        order of first appearance); ``stats``: per group, ``count, mean, min, max,
        std`` (ddof 1, NaN for a group of one), then the quantiles (linear).

    Examples
    --------
    >>> f = pl.DataFrame({"k": ["a", "b", "a"]})
    >>> first, stats = kernel_group_stats(f, [pl.col("k")], np.array([1.0, 5, 3]), [0.5])
    >>> first.tolist(), stats[:, [0, 1, 5]].tolist()
    ([0, 1], [[2.0, 2.0, 2.0], [1.0, 5.0, 5.0]])
    """
    if not available():  # pragma: no cover - numba is a dependency
        raise RuntimeError("numba is not installed")
    if frame.height == 0:
        return np.empty(0, np.int64), np.empty((0, 5 + len(quantiles)), np.float64)
    h1, h2 = _hash_keys(frame, keys)
    threads = max(1, min(pl.thread_pool_size(), os.cpu_count() or 1))
    chunks = _split(frame.height, threads)
    with ThreadPoolExecutor(threads) as pool:
        local = list(pool.map(lambda c: _assign(h1[c[0] : c[1]], h2[c[0] : c[1]]), chunks))
        # merge the chunks' groups: the same table over their keys gives global ids
        gcodes, gfirst, _, _, _ = _assign(
            np.concatenate([loc[2] for loc in local]), np.concatenate([loc[3] for loc in local])
        )
        n_groups = gfirst.size
        starts = np.cumsum([0] + [loc[1].size for loc in local])
        to_global = [gcodes[starts[i] : starts[i + 1]].astype(np.int64) for i in range(len(local))]
        first_row = np.concatenate([loc[1] + c[0] for loc, c in zip(local, chunks, strict=True)])
        first_row = first_row[gfirst]
        per_chunk = np.zeros((len(local), n_groups), np.int64)
        for i, loc in enumerate(local):
            per_chunk[i, to_global[i]] = loc[4]
        counts = per_chunk.sum(axis=0)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        before = np.cumsum(per_chunk, axis=0) - per_chunk  # rows of earlier chunks
        buf = np.empty(frame.height, np.float64)
        list(
            pool.map(
                lambda i: _scatter(
                    local[i][0],
                    values[chunks[i][0] : chunks[i][1]],
                    to_global[i],
                    offsets[:-1] + before[i],
                    buf,
                ),
                range(len(local)),
            )
        )
        # groups to threads, balanced by rows
        qs = np.asarray(quantiles, np.float64)
        out = np.empty((n_groups, 5 + qs.size), np.float64)
        edges = np.searchsorted(offsets[1:], [b for _, b in _split(frame.height, threads)][:-1])
        parts = np.split(np.arange(n_groups), edges)
        list(pool.map(lambda p: _group_stats(buf, offsets, p, qs, out), parts))
    return first_row, out

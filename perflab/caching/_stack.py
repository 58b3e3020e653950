"""Numba kernels for miss-ratio curves: LRU stack distances and spatial sampling.

Stack distances (Mattson et al., 1970): LRU has the inclusion property, so one pass
gives, for each request, the smallest LRU cache that would hit it — the number (or
the total size) of distinct objects touched since its previous request, itself
included. A Fenwick tree over request positions, holding each object's weight at its
latest request, answers "how much was touched since position p" in O(log n)
(Bennett & Kruskal, 1975), so a whole curve costs O(n log n) instead of one replay per
size. numba because the pass is sequential; see :mod:`perflab.caching.curve`.

Spatial sampling (SHARDS, Waldspurger et al., FAST'15) keeps the requests whose key
hashes below a threshold: every request of a sampled key is kept, so its reuse
distances survive, scaled by the rate.
"""

from __future__ import annotations

import numba as nb
import numpy as np

COLD = -1  # a get that no cache size hits (first request, after a delete, expired)
NOT_GET = -2  # a set or delete: not a lookup
_jit = nb.njit(nogil=True, cache=True)


@_jit
def stack_distances(
    keys: np.ndarray,
    sizes: np.ndarray,
    times: np.ndarray,
    ttls: np.ndarray,
    ops: np.ndarray,
    n_obj: int,
    by_bytes: bool,
) -> np.ndarray:
    """Per request: the LRU stack distance of a get (objects or bytes), or a marker.

    A get hits an LRU cache of capacity ``c`` exactly when its distance is in
    ``1 … c``; :data:`COLD` gets always miss and sets/deletes are :data:`NOT_GET`.
    A set moves its object to the top (with its new size); a delete takes it out; an
    object read after its TTL (counted from when it was last written or missed) is cold.
    """
    n = keys.shape[0]
    tree = np.zeros(n + 1, np.int64)  # Fenwick tree over positions 1 … n
    last = np.full(n_obj, -1, np.int64)  # position of each object's latest request
    weight = np.zeros(n_obj, np.int64)
    expire = np.full(n_obj, np.inf)
    live = 0  # total weight in the stack
    out = np.empty(n, np.int64)
    for i in range(n):
        x = keys[i]
        op = ops[i]
        w = sizes[i] if by_bytes else 1
        p = last[x]
        if p >= 0 and (op == 2 or expire[x] <= times[i]):
            # leave the stack: deleted, or expired before this request
            j = p + 1
            while j <= n:
                tree[j] -= weight[x]
                j += j & -j
            live -= weight[x]
            last[x] = -1
            p = -1
        if op == 2:
            out[i] = NOT_GET
            continue
        if p >= 0:
            # weight touched since p (exclusive): everything after p, x's own included
            s = 0
            j = p + 1
            while j > 0:
                s += tree[j]
                j -= j & -j
            d = live - s + weight[x]
            out[i] = d if op == 0 else NOT_GET
            j = p + 1
            while j <= n:
                tree[j] -= weight[x]
                j += j & -j
            live -= weight[x]
            if op == 1:
                expire[x] = times[i] + ttls[i] if ttls[i] == ttls[i] else np.inf
                weight[x] = w
            # a get keeps the object's size and expiry, as the replay does on a hit
        else:
            out[i] = COLD if op == 0 else NOT_GET
            weight[x] = w
            expire[x] = times[i] + ttls[i] if ttls[i] == ttls[i] else np.inf
        j = i + 1
        while j <= n:
            tree[j] += weight[x]
            j += j & -j
        live += weight[x]
        last[x] = i
    return out


@_jit
def _mix(x: np.uint64) -> np.uint64:
    """splitmix64's finaliser: a well-spread 64-bit hash of ``x``."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@_jit
def sample_groups(keys: np.ndarray, rate: float, groups: int, salt: int) -> np.ndarray:
    """Per request: which of ``groups`` disjoint samples its key falls in, or -1.

    A key is sampled with probability ``rate`` (by a hash of the key and ``salt``,
    so all its requests go together), and a sampled key lands in one of ``groups``
    sub-samples of rate ``rate / groups`` each.
    """
    n = keys.shape[0]
    out = np.empty(n, np.int8)
    scale = np.uint64(1) << np.uint64(32)
    threshold = np.uint64(int(rate * (1 << 32)))
    s = np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)
    for i in range(n):
        h = _mix(np.uint64(keys[i]) ^ s)
        lo = h & (scale - np.uint64(1))
        if lo < threshold:
            out[i] = np.int8((h >> np.uint64(32)) % np.uint64(groups))
        else:
            out[i] = -1
    return out


@_jit
def largest_size(keys: np.ndarray, sizes: np.ndarray, n_obj: int) -> np.ndarray:
    """Each object's largest size (the working set counts an object at its biggest)."""
    out = np.zeros(n_obj, np.int64)
    for i in range(keys.shape[0]):
        if sizes[i] > out[keys[i]]:
            out[keys[i]] = sizes[i]
    return out

"""Belady's offline optimum (MIN), the lower bound every miss-ratio chart shows.

Belady evicts the cached object whose next request is furthest in the future; an
object that will never be requested again (or that expires before it is) goes first,
and a missed object whose own next request is the furthest is not admitted at all
(bypass), which makes this the true optimum for objects of equal size and no TTLs: no
policy can hit more (a property ``tests/caching`` checks, with sets and deletes). With
sizes in bytes, evicting the furthest next use is the usual heuristic bound, not a
proven optimum (finding one is NP-hard); and with TTLs, where a miss re-inserts an
object with a fresh expiry, evicting early can pay: in both cases a policy can
occasionally beat it, and Belady is a reference rather than a bound.

The kernel shares the replay loop's meaning of operations and TTLs
(:mod:`perflab.caching._replay`). Cached objects sit in an indexed max-heap keyed by
their next use, so each request costs O(log n). numba, for the same reason as the
replay loop.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_NEVER = np.iinfo(np.int64).max
_jit = nb.njit(nogil=True, cache=True)


@_jit
def next_use(keys: np.ndarray, ops: np.ndarray, n_obj: int) -> np.ndarray:
    """For each request, the index of the next get of its key (``_NEVER`` if none).

    Only a get uses the value a request leaves in the cache: a ``set`` (op 1) rewrites
    it whether it is cached or not, a ``delete`` (op 2) ends it, so a request followed
    by either before any get has no next use.
    """
    n = keys.shape[0]
    out = np.empty(n, np.int64)
    seen = np.full(n_obj, _NEVER, np.int64)
    for i in range(n - 1, -1, -1):
        x = keys[i]
        out[i] = seen[x]
        seen[x] = i if ops[i] == 0 else _NEVER
    return out


@_jit
def _sift_up(heap: np.ndarray, pos: np.ndarray, key: np.ndarray, k: int) -> None:
    x = heap[k]
    while k > 0:
        parent = (k - 1) >> 1
        y = heap[parent]
        if key[y] >= key[x]:
            break
        heap[k] = y
        pos[y] = k
        k = parent
    heap[k] = x
    pos[x] = k


@_jit
def _sift_down(heap: np.ndarray, pos: np.ndarray, key: np.ndarray, k: int, size: int) -> None:
    x = heap[k]
    while True:
        c = 2 * k + 1
        if c >= size:
            break
        if c + 1 < size and key[heap[c + 1]] > key[heap[c]]:
            c += 1
        y = heap[c]
        if key[y] <= key[x]:
            break
        heap[k] = y
        pos[y] = k
        k = c
    heap[k] = x
    pos[x] = k


@_jit
def _heap_remove(heap: np.ndarray, pos: np.ndarray, key: np.ndarray, x: int, size: int) -> int:
    k = pos[x]
    size -= 1
    if k != size:
        moved = heap[size]
        heap[k] = moved
        pos[moved] = k
        _sift_up(heap, pos, key, k)
        _sift_down(heap, pos, key, pos[moved], size)
    pos[x] = -1
    return size


@_jit
def replay_belady(
    keys: np.ndarray,
    sizes: np.ndarray,
    times: np.ndarray,
    ttls: np.ndarray,
    ops: np.ndarray,
    n_obj: int,
    capacity: int,
    by_bytes: bool,
    fill_on_miss: bool = True,
) -> np.ndarray:
    """Replay a trace through Belady's MIN; counters as :func:`_replay.replay`."""
    nxt = next_use(keys, ops, n_obj)
    heap = np.empty(n_obj, np.int64)
    pos = np.full(n_obj, -1, np.int64)
    key = np.zeros(n_obj, np.int64)  # the next use of each cached object
    weight = np.zeros(n_obj, np.int64)
    expire = np.full(n_obj, np.inf)
    size = 0
    used = 0
    out = np.zeros(7, np.int64)
    n = keys.shape[0]
    for i in range(n):
        x = keys[i]
        t = times[i]
        op = ops[i]
        w = sizes[i] if by_bytes else 1
        cached = pos[x] >= 0
        if cached and expire[x] <= t:
            size = _heap_remove(heap, pos, key, x, size)
            used -= weight[x]
            cached = False
            if op == 0:
                out[5] += 1
        if op == 2:
            if cached:
                size = _heap_remove(heap, pos, key, x, size)
                used -= weight[x]
            continue
        # the value this request leaves in the cache is worth keeping until its next
        # use, unless it expires first
        ex = expire[x] if cached and op == 0 else (t + ttls[i] if ttls[i] == ttls[i] else np.inf)
        nu = nxt[i]
        if nu != _NEVER and times[nu] >= ex:
            nu = _NEVER
        if op == 0:
            out[0] += 1
            out[2] += sizes[i]
            if cached:
                out[1] += 1
                out[3] += sizes[i]
                key[x] = nu
                k = pos[x]
                _sift_up(heap, pos, key, k)
                _sift_down(heap, pos, key, pos[x], size)
                continue
        elif cached:  # a set: rewrite in place (a new size re-admits)
            used -= weight[x]
            size = _heap_remove(heap, pos, key, x, size)
        if w > capacity:
            if op == 0:
                out[6] += 1
            continue
        if op == 0 and not fill_on_miss:
            continue  # cache-aside: only sets fill
        if nu == _NEVER:
            continue  # never read again: the optimum does not keep it
        key[x] = nu
        weight[x] = w
        expire[x] = ex
        heap[size] = x
        pos[x] = size
        size += 1
        _sift_up(heap, pos, key, size - 1)
        used += w
        while used > capacity:
            v = heap[0]
            size = _heap_remove(heap, pos, key, v, size)
            used -= weight[v]
            if v != x:
                out[4] += 1
    return out

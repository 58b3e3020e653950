"""FIFO, LRU, CLOCK, SIEVE, LFU and S3-FIFO as hooks of the numba replay loop.

Each policy is five small functions over the shared state (see
:mod:`perflab.caching._lists`), which :mod:`perflab.caching._replay` calls:

``setup(L, R, F, params)``
    once, before the first request;
``hit(L, R, F, x, t)``
    ``x`` was found (and not expired);
``insert(L, R, F, x, t)``
    ``x`` is admitted after a miss, once there is room;
``evict(L, R, F, t) -> victim``
    take one object out for room and return it (the loop clears its ``PRESENT`` and
    ``USED``); a policy may move objects between its queues on the way;
``remove(L, R, F, x)``
    ``x`` is deleted or found expired;
``admit(L, R, F, x, t, w) -> bool`` (optional)
    a miss of ``x`` (weight ``w``), before its weight is set and room is made; False
    declines it (it stays uncached, a miss).

What each policy does on ties and at the edges, as libCacheSim does it (checked
against it in ``tests/caching/test_simulate_reference.py``):

* **FIFO**: evict in insertion order; a hit changes nothing.
* **LRU**: evict in order of last access. FIFO and LRU keep no list: they evict by
  walking the trace itself as their log (see ``log_evict``).
* **CLOCK**: FIFO order with an ``n``-bit counter (``params[0]`` bits, default 1;
  new objects start at 0); a hit increments it up to ``2^n - 1``; eviction looks at the
  back: a non-zero counter is decremented and the object goes back to the front.
* **SIEVE** (Zhang et al., NSDI'24): new objects at the front, a hit sets a visited
  bit; the hand starts at the back and walks towards the front, clearing visited bits,
  and evicts the first unvisited object; it stays where it stopped.
* **LFU**: the least frequently used object (counting every hit, from 1 at insert) is
  evicted; among equals, the one that reached that count first. Frequency buckets
  make every step O(1) (Shah, Mitra & Matani, 2010).
* **S3-FIFO** (Yang et al., SOSP'23), with libCacheSim's defaults: a small FIFO
  (``params[0]``, 10 % of the capacity), a main FIFO (the rest), and a ghost FIFO of
  evicted keys (``params[1]``, 90 % of the capacity, in the cache's unit). Hits raise
  a 2-bit counter (max 3). A miss whose key is in the ghost goes to main, any other to
  small (to main while the cache is still filling and small is full); an object
  bigger than small is not admitted (libCacheSim also refuses one exactly as big,
  which in a cache of fewer than 20 objects refuses everything). Eviction takes from
  main when main is over its share (or small is empty): its back is evicted if its
  counter is 0, else decremented and reinserted; otherwise from small: its back moves
  to main if read ``params[2]`` times there (default 2) and else is evicted into the
  ghost.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from perflab.caching._lists import (
    AUX,
    BASE,
    CAP,
    FREQ,
    NEXT,
    P0,
    PRESENT,
    PREV,
    WEIGHT,
    WHERE,
    back,
    init,
    push_after,
    push_front,
    unlink,
)

_jit = nb.njit(nogil=True, cache=True)

# ------------------------------------------------------------------ FIFO and LRU
# Both evict in the order of a log: FIFO of insertions, LRU of accesses. The trace
# itself is that log: request i of x is x's live entry when L[x, AUX] == i (its
# latest insertion for FIFO, latest access for LRU); the eviction pointer walks the
# trace forward and evicts the first cached object whose live entry it meets, skipping
# stale entries. Every index is passed once, so eviction is O(1) amortised, and a hit
# writes one field of x's own node (a linked list would touch three more nodes).
_LOG = P0  # the eviction pointer: the next request index to look at


@_jit
def log_setup(L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    R[_LOG] = 0


@_jit
def log_touch(L: np.ndarray, x: int, i: int) -> None:  # noqa: N803
    """Make request ``i`` the live log entry of ``x`` (an LRU hit, any insertion)."""
    L[x, AUX] = i


@_jit
def log_evict(L: np.ndarray, R: np.ndarray, keys: np.ndarray) -> int:  # noqa: N803
    """The cached object whose live entry comes first in the log."""
    j = R[_LOG]
    while True:
        y = keys[j]
        if L[y, PRESENT] == 1 and L[y, AUX] == j:
            R[_LOG] = j + 1
            return y
        j += 1


# ------------------------------------------------------------------ a FIFO queue


@_jit
def fifo_setup(L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    init(L, R[BASE])


@_jit
def fifo_insert(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    push_front(L, R[BASE], x)


@_jit
def fifo_remove(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int) -> None:  # noqa: N803
    unlink(L, x)


# ---------------------------------------------------------------------------- CLOCK
_CLOCK_MAX = P0


@_jit
def clock_setup(L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    init(L, R[BASE])
    bits = int(params[0]) if params.size > 0 and params[0] > 0 else 1
    R[_CLOCK_MAX] = (1 << bits) - 1


@_jit
def clock_hit(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    if L[x, FREQ] < R[_CLOCK_MAX]:
        L[x, FREQ] += 1


@_jit
def clock_insert(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    L[x, FREQ] = 0
    push_front(L, R[BASE], x)


@_jit
def clock_evict(L: np.ndarray, R: np.ndarray, F: np.ndarray, t: float) -> int:  # noqa: N803
    h = R[BASE]
    while True:
        v = back(L, h)
        unlink(L, v)
        if L[v, FREQ] > 0:
            L[v, FREQ] -= 1
            push_front(L, h, v)
        else:
            return v


# ---------------------------------------------------------------------------- SIEVE
_HAND = P0  # the hand's node, or -1 when it is to start at the back


@_jit
def sieve_setup(L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    init(L, R[BASE])
    R[_HAND] = -1


@_jit
def sieve_hit(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    L[x, FREQ] = 1


@_jit
def sieve_evict(L: np.ndarray, R: np.ndarray, F: np.ndarray, t: float) -> int:  # noqa: N803
    h = R[BASE]
    o = R[_HAND] if R[_HAND] >= 0 else back(L, h)
    while L[o, FREQ] != 0:
        L[o, FREQ] = 0
        o = L[o, PREV]  # towards the front (newer)
        if o == h:
            o = back(L, h)
    newer = L[o, PREV]
    R[_HAND] = newer if newer != h else -1
    unlink(L, o)
    return o


@_jit
def sieve_remove(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int) -> None:  # noqa: N803
    if R[_HAND] == x:
        newer = L[x, PREV]
        R[_HAND] = newer if newer != R[BASE] else -1
    unlink(L, x)


# ------------------------------------------------------------------------------ LFU
# Buckets are extra columns after the sentinels: bucket b's own objects form the list
# whose sentinel is b (PREV/NEXT), its frequency is L[b, FREQ], and the buckets form a
# chain in ascending frequency through L[b, WHERE] (next) / L[b, AUX]... kept simple:
# rows WEIGHT/WHERE of a bucket column hold its chain links (buckets hold no weight).
_B_NEXT, _B_PREV = WHERE, WEIGHT  # chain links of a bucket column
_CHAIN = P0  # sentinel column of the bucket chain
_FREE = P0 + 1  # top of the free-bucket stack (linked through _B_NEXT), -1 when empty
_NEW_BUCKET = P0 + 2  # next never-used bucket column


@_jit
def lfu_setup(L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    chain = R[BASE] + 1
    R[_CHAIN] = chain
    L[chain, _B_NEXT] = chain
    L[chain, _B_PREV] = chain
    L[chain, FREQ] = -1
    R[_FREE] = -1
    R[_NEW_BUCKET] = R[BASE] + 8  # the first column after the sentinels


@_jit
def _lfu_bucket_after(L: np.ndarray, R: np.ndarray, at: int, freq: int) -> int:  # noqa: N803
    """A bucket of ``freq`` right after ``at`` in the chain (new if needed)."""
    nxt = L[at, _B_NEXT]
    if nxt != R[_CHAIN] and L[nxt, FREQ] == freq:
        return nxt
    if R[_FREE] >= 0:
        b = R[_FREE]
        R[_FREE] = L[b, _B_NEXT]
    else:
        b = R[_NEW_BUCKET]
        R[_NEW_BUCKET] += 1
    L[b, FREQ] = freq
    init(L, b)
    L[b, _B_NEXT] = nxt
    L[b, _B_PREV] = at
    L[at, _B_NEXT] = b
    L[nxt, _B_PREV] = b
    return b


@_jit
def _lfu_leave(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    """Take ``x`` out of its bucket; free the bucket if that emptied it."""
    b = L[x, WHERE]
    unlink(L, x)
    if L[b, NEXT] == b:
        p, n = L[b, _B_PREV], L[b, _B_NEXT]
        L[p, _B_NEXT] = n
        L[n, _B_PREV] = p
        L[b, _B_NEXT] = R[_FREE]
        R[_FREE] = b


@_jit
def lfu_hit(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    b = L[x, WHERE]
    nb_ = _lfu_bucket_after(L, R, b, L[b, FREQ] + 1)
    _lfu_leave(L, R, x)
    push_front(L, nb_, x)
    L[x, WHERE] = nb_


@_jit
def lfu_insert(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    b = _lfu_bucket_after(L, R, R[_CHAIN], 1)
    push_front(L, b, x)
    L[x, WHERE] = b


@_jit
def lfu_evict(L: np.ndarray, R: np.ndarray, F: np.ndarray, t: float) -> int:  # noqa: N803
    b = L[R[_CHAIN], _B_NEXT]
    v = back(L, b)
    _lfu_leave(L, R, v)
    return v


@_jit
def lfu_remove(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int) -> None:  # noqa: N803
    _lfu_leave(L, R, x)


# -------------------------------------------------------------------------- S3-FIFO
_SMALL, _MAIN, _GHOST = 1, 2, 3  # WHERE codes; sentinels BASE+1, BASE+2, BASE+3
_S_USED, _M_USED, _G_USED = P0, P0 + 1, P0 + 2  # = P0 + WHERE code - 1
_S_CAP, _M_CAP, _G_CAP, _MOVE_AT, _EVICTED = P0 + 3, P0 + 4, P0 + 5, P0 + 6, P0 + 7


@_jit
def s3fifo_setup(L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    for q in (_SMALL, _MAIN, _GHOST):
        init(L, R[BASE] + q)
    small = params[0] if params.size > 0 else 0.1
    ghost = params[1] if params.size > 1 else 0.9
    R[_S_CAP] = max(1, int(R[CAP] * small))
    R[_M_CAP] = R[CAP] - R[_S_CAP]
    R[_G_CAP] = int(R[CAP] * ghost)
    R[_MOVE_AT] = int(params[2]) if params.size > 2 else 2
    R[_EVICTED] = 0


@_jit
def s3fifo_hit(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    if L[x, FREQ] < 3:
        L[x, FREQ] += 1


@_jit
def _s3_put(L: np.ndarray, R: np.ndarray, x: int, q: int) -> None:  # noqa: N803
    push_front(L, R[BASE] + q, x)
    L[x, WHERE] = q
    R[P0 + q - 1] += L[x, WEIGHT]


@_jit
def _s3_take(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    q = L[x, WHERE]
    unlink(L, x)
    L[x, WHERE] = 0
    R[P0 + q - 1] -= L[x, WEIGHT]


@_jit
def s3fifo_admit(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float, w: int) -> bool:  # noqa: N803
    # before the loop sets x's new weight and makes room: leave the ghost (with the
    # weight it had there) and remember that it was one
    if L[x, WHERE] == _GHOST:
        _s3_take(L, R, x)
        L[x, AUX] = 1
        return True
    L[x, AUX] = 0
    return w <= R[_S_CAP]  # an object bigger than the small queue would flush it


@_jit
def s3fifo_insert(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    L[x, FREQ] = 0
    if L[x, AUX] == 1 or (R[_EVICTED] == 0 and R[_S_USED] >= R[_S_CAP]):
        _s3_put(L, R, x, _MAIN)  # a ghost hit, or filling the main before any eviction
    else:
        _s3_put(L, R, x, _SMALL)


@_jit
def s3fifo_evict(L: np.ndarray, R: np.ndarray, F: np.ndarray, t: float) -> int:  # noqa: N803
    base = R[BASE]
    R[_EVICTED] = 1
    while True:
        if R[_M_USED] > R[_M_CAP] or R[_S_USED] == 0:
            v = back(L, base + _MAIN)
            if L[v, FREQ] > 0:
                L[v, FREQ] -= 1
                unlink(L, v)
                push_front(L, base + _MAIN, v)
                continue
            _s3_take(L, R, v)
            return v
        v = back(L, base + _SMALL)
        _s3_take(L, R, v)
        if L[v, FREQ] >= R[_MOVE_AT]:
            L[v, FREQ] = 0
            _s3_put(L, R, v, _MAIN)
            continue
        # evicted into the ghost, which forgets its oldest beyond its share
        if R[_G_CAP] > 0:
            _s3_put(L, R, v, _GHOST)
            while R[_G_USED] > R[_G_CAP]:
                _s3_take(L, R, back(L, base + _GHOST))
        return v


@_jit
def s3fifo_remove(L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int) -> None:  # noqa: N803
    _s3_take(L, R, x)


__all__: list[str] = []
_ = push_after  # re-exported helper for the advanced policies

"""The replay loop: one numba kernel that plays a trace through one policy at one size.

Why numba: a trace replay is a sequential loop of pointer-chasing steps (a hit moves a
list node, a miss evicts and inserts) that no vectorised expression expresses. Because
:func:`perflab.caching.read_trace` maps keys to dense ids once, the loop indexes arrays
instead of hashing: LRU replays about 10⁷ requests per second
(``benchmarks/bench_caching_simulate.py``). The kernels are compiled on first use
(tens of seconds, once) and cached on disk.

The loop owns what every policy shares — operations, TTL expiry, capacity in objects
or bytes, the counters — and calls the policy's hooks (:mod:`perflab.caching._basic`,
:mod:`perflab.caching._advanced`) by its code. Per request ``i`` for object ``x``:

1. if ``x`` is cached and expired (``F[x, EXPIRE] <= t``) it is removed (a get counts
   an expiration);
2. ``delete`` removes ``x``; ``set`` of a cached ``x`` with another size re-admits it;
3. a ``get`` counts a request and its bytes; a cached ``x`` is a hit (the policy's
   ``hit``); otherwise an object larger than the whole cache is counted ``too_large``
   and not admitted, and any other is offered to the policy (``admit``, which may
   decline it) and then admitted: evictions until it fits, ``insert``. A ``set`` of
   an uncached object is admitted the same way, uncounted. With ``fill_on_miss``
   false (a cache-aside trace: the application sets what it missed), a get that
   misses admits nothing.

Numba caches each kernel on disk, keyed by its own file only: the compiled loop holds
the hooks of ``_lists.py``, ``_basic.py`` and ``_advanced.py`` inlined, and would not
see them change. :func:`_drop_stale_cache` compares a hash of all four sources with the
one stored beside the cache and deletes this module's cached kernels when they differ.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numba as nb
import numpy as np

from perflab.caching import _advanced as adv
from perflab.caching import _basic as b
from perflab.caching._lists import (
    BASE,
    CAP,
    EXPIRE,
    N_FROWS,
    N_REGS,
    N_ROWS,
    N_SENTINELS,
    PRESENT,
    USED,
    WEIGHT,
)

logger = logging.getLogger(__name__)


def _drop_stale_cache() -> None:
    """Delete this module's cached kernels if any source they inline has changed."""
    here = Path(__file__).parent
    sources = ("_lists.py", "_basic.py", "_advanced.py", "_replay.py")
    stamp = hashlib.sha256(b"".join((here / f).read_bytes() for f in sources)).hexdigest()
    cache_dir = getattr(nb.config, "CACHE_DIR", "")
    cache = Path(cache_dir) if cache_dir else here / "__pycache__"
    mark = cache / "_replay.sources"
    try:
        if mark.exists() and mark.read_text() == stamp:
            return
        for old in cache.glob("_replay.*.nb[ic]"):
            old.unlink(missing_ok=True)
        cache.mkdir(parents=True, exist_ok=True)
        mark.write_text(stamp)
    except OSError as exc:  # a read-only install: numba caches elsewhere, or not at all
        logger.debug("numba cache not checked: %s", exc)


_drop_stale_cache()

FIFO, LRU, LFU, CLOCK, SIEVE, S3FIFO = 0, 1, 2, 3, 4, 5
FIRST_ADVANCED = 6
CODES = {
    "fifo": FIFO,
    "lru": LRU,
    "lfu": LFU,
    "clock": CLOCK,
    "sieve": SIEVE,
    "s3fifo": S3FIFO,
    **adv.CODES,
}
"""Policy name → code of the replay kernel (Belady has its own kernel)."""

GET, SET, DELETE = 0, 1, 2
OP_CODES = {"get": GET, "set": SET, "delete": DELETE}

# the counters a replay returns, in order
COUNTERS = (
    "requests",
    "hits",
    "requested_bytes",
    "hit_bytes",
    "evictions",
    "expirations",
    "too_large",
)

_jit = nb.njit(nogil=True, cache=True)


@_jit
def _setup(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    if p in (FIFO, LRU):
        b.log_setup(L, R, F, params)
    elif p == LFU:
        b.lfu_setup(L, R, F, params)
    elif p == CLOCK:
        b.clock_setup(L, R, F, params)
    elif p == SIEVE:
        b.sieve_setup(L, R, F, params)
    elif p == S3FIFO:
        b.s3fifo_setup(L, R, F, params)
    else:
        adv.setup(p, L, R, F, params)


@_jit
def _hit(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    if p == FIFO:
        pass
    elif p == LFU:
        b.lfu_hit(L, R, F, x, t)
    elif p == CLOCK:
        b.clock_hit(L, R, F, x, t)
    elif p == SIEVE:
        b.sieve_hit(L, R, F, x, t)
    elif p == S3FIFO:
        b.s3fifo_hit(L, R, F, x, t)
    else:
        adv.hit(p, L, R, F, x, t)


@_jit
def _admit(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float, w: int) -> bool:  # noqa: N803
    if p == S3FIFO:
        return b.s3fifo_admit(L, R, F, x, t, w)
    if p >= FIRST_ADVANCED:
        return adv.admit(p, L, R, F, x, t, w)
    return True


@_jit
def _insert(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    if p == SIEVE:
        b.fifo_insert(L, R, F, x, t)
        L[x, b.FREQ] = 0
    elif p == LFU:
        b.lfu_insert(L, R, F, x, t)
    elif p == CLOCK:
        b.clock_insert(L, R, F, x, t)
    elif p == S3FIFO:
        b.s3fifo_insert(L, R, F, x, t)
    else:
        adv.insert(p, L, R, F, x, t)


@_jit
def _evict(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, t: float) -> int:  # noqa: N803
    if p == LFU:
        return b.lfu_evict(L, R, F, t)
    if p == CLOCK:
        return b.clock_evict(L, R, F, t)
    if p == SIEVE:
        return b.sieve_evict(L, R, F, t)
    if p == S3FIFO:
        return b.s3fifo_evict(L, R, F, t)
    return adv.evict(p, L, R, F, t)


@_jit
def _remove(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int) -> None:  # noqa: N803
    if p == CLOCK:
        b.fifo_remove(L, R, F, x)
    elif p == SIEVE:
        b.sieve_remove(L, R, F, x)
    elif p == LFU:
        b.lfu_remove(L, R, F, x)
    elif p == S3FIFO:
        b.s3fifo_remove(L, R, F, x)
    else:
        adv.remove(p, L, R, F, x)


@_jit
def _extra_nodes(p: int, n_obj: int) -> int:
    if p == LFU:
        return n_obj + 2  # frequency buckets: at most one per cached object, plus one
    return adv.extra_columns(p, n_obj)


@_jit
def replay(
    p: int,
    keys: np.ndarray,
    sizes: np.ndarray,
    times: np.ndarray,
    ttls: np.ndarray,
    ops: np.ndarray,
    n_obj: int,
    capacity: int,
    by_bytes: bool,
    params: np.ndarray,
    fill_on_miss: bool = True,
) -> np.ndarray:
    """Replay a trace through policy ``p`` with ``capacity``; return the counters.

    ``keys`` are dense ids below ``n_obj``; ``sizes`` bytes; ``times`` seconds;
    ``ttls`` seconds (NaN: never expires); ``ops`` :data:`GET`/:data:`SET`/
    :data:`DELETE`. The result holds the :data:`COUNTERS` in order.
    """
    L = np.zeros(  # noqa: N806
        (n_obj + N_SENTINELS + _extra_nodes(p, n_obj), N_ROWS), np.int32
    )
    R = np.zeros(N_REGS, np.int64)  # noqa: N806
    F = np.full((n_obj, N_FROWS), np.inf)  # noqa: N806
    R[CAP] = capacity
    R[BASE] = n_obj
    _setup(p, L, R, F, params)
    # the counters, as locals (kept in registers), in COUNTERS order
    n_req = n_hit = req_bytes = hit_bytes = n_evict = n_expired = n_large = 0
    has_ttl = False
    for i in range(ttls.shape[0]):
        if ttls[i] == ttls[i]:
            has_ttl = True
            break
    for i in range(keys.shape[0]):
        x = keys[i]
        t = times[i]
        op = ops[i]
        w = sizes[i] if by_bytes else 1
        if has_ttl and L[x, PRESENT] == 1 and F[x, EXPIRE] <= t:
            if p > LRU:
                _remove(p, L, R, F, x)
            L[x, PRESENT] = 0
            R[USED] -= L[x, WEIGHT]
            if op == GET:
                n_expired += 1
        if op == DELETE:
            if L[x, PRESENT] == 1:
                if p > LRU:
                    _remove(p, L, R, F, x)
                L[x, PRESENT] = 0
                R[USED] -= L[x, WEIGHT]
            continue
        if op == GET:
            n_req += 1
            req_bytes += sizes[i]
            if L[x, PRESENT] == 1:
                n_hit += 1
                hit_bytes += sizes[i]
                if p == LRU:
                    b.log_touch(L, x, i)
                elif p != FIFO:
                    _hit(p, L, R, F, x, t)
                continue
        elif L[x, PRESENT] == 1:  # a set: same size is a write in place
            if L[x, WEIGHT] == w:
                if p == LRU:
                    b.log_touch(L, x, i)
                elif p != FIFO:
                    _hit(p, L, R, F, x, t)
                if has_ttl:
                    F[x, EXPIRE] = t + ttls[i] if ttls[i] == ttls[i] else np.inf
                continue
            if p > LRU:
                _remove(p, L, R, F, x)
            L[x, PRESENT] = 0
            R[USED] -= L[x, WEIGHT]
        if w > capacity:
            if op == GET:
                n_large += 1
            continue
        if op == GET and not fill_on_miss:
            continue  # cache-aside: the application's set that follows fills the cache
        if not _admit(p, L, R, F, x, t, w):
            continue
        L[x, WEIGHT] = w
        while R[USED] + w > capacity:
            v = b.log_evict(L, R, keys) if p <= LRU else _evict(p, L, R, F, t)
            L[v, PRESENT] = 0
            R[USED] -= L[v, WEIGHT]
            n_evict += 1
        if p <= LRU:
            b.log_touch(L, x, i)
        else:
            _insert(p, L, R, F, x, t)
        L[x, PRESENT] = 1
        R[USED] += w
        if has_ttl:
            F[x, EXPIRE] = t + ttls[i] if ttls[i] == ttls[i] else np.inf
    # evictions a policy made inside its own hooks (2Q's Am, W-TinyLFU's SLRU) count too
    n_evict += R[adv.DROPPED]
    return np.array([n_req, n_hit, req_bytes, hit_bytes, n_evict, n_expired, n_large], np.int64)

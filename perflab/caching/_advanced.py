"""ARC, 2Q, W-TinyLFU and Redis's approximated LRU and LFU as hooks of the replay loop.

The hooks and the shared state are those of :mod:`perflab.caching._basic` (read it
first); each function here dispatches on the policy code ``p``. ARC, 2Q and W-TinyLFU
do what libCacheSim's do, to the request (``tests/caching/test_advanced.py``); the
Redis policies do what Redis 7's ``evict.c`` does. The code is our own, written from
the papers and from those implementations' documented and observed behaviour.

Queues. ARC, 2Q and W-TinyLFU keep their queues as lists of :mod:`._lists`: queue
``q`` (1…4, its code in ``L[x, WHERE]``) is the list whose sentinel is ``BASE + q``,
and ``R[_SIZE + q]`` is the weight it holds in the cache's unit (objects or bytes). A
ghost (a key remembered after its eviction) is the object's own node, not
``PRESENT``, keeping the weight it had when cached.

**ARC** (Megiddo & Modha, FAST'03), as libCacheSim's ``ARC``. T1/T2 hold the cached
objects seen once/more than once, B1/B2 the ghosts of their evictions; ``p`` (a float
kept in R's bits) is T1's target. A hit moves the object to T2's front. A miss found
in B1 raises ``p`` by ``max(|B2|/|B1|, 1)`` (up to the capacity), one found in B2
lowers it by ``max(|B1|/|B2|, 1)`` (down to 0) — sizes in the cache's unit, so with
bytes the step is a ratio of bytes — and the object goes to T2's front; any other
miss goes to T1's front. Each eviction for a miss found in a ghost list is REPLACE:
T1's back goes to B1 if T1 is non-empty and over ``p`` (or at ``p`` and the miss was
in B2), or if T2 is empty; else T2's back goes to B2. Each eviction for another miss
is the paper's case IV: if ``|T1| + |B1| + w`` exceeds the capacity, B1's back is
forgotten and REPLACE runs (B1 being empty, T1's back is evicted with no ghost);
otherwise B2's back is forgotten once the four lists hold twice the capacity, and
REPLACE runs. ``admit`` adapts ``p`` and notes which ghost list held the miss.

**2Q** (Johnson & Shasha, VLDB'94), as libCacheSim's ``TwoQ``: Ain a FIFO of
``params[0]`` (25 %) of the capacity, Aout a FIFO of ghosts of ``params[1]`` (50 %),
Am an LRU of the rest. A hit in Ain changes nothing; in Am it moves the object to
Am's front. A miss found in Aout leaves it for Am's front (Am evicting its own back
while it would overflow its share); any other miss goes to Ain's front. An eviction
moves Ain's back into Aout (which forgets its oldest to fit) while Ain is over its
share, and evicts Am's back otherwise. An object bigger than Ain's share is not
admitted.

**W-TinyLFU** (Einziger, Friedman & Manes, 2017), as libCacheSim's ``WTinyLFU`` with
its defaults: a window LRU of ``params[0]`` (1 %) of the capacity, a main SLRU of the
rest — probation ``params[1]`` (20 %) of it, protected the other 80 % — and a
frequency sketch. A miss goes to the window's front. An eviction takes the window's
back: while the main cache has room it moves there; otherwise it competes with the
main cache's victim (probation's back, or protected's when probation is empty) and
takes its place only if its estimated frequency is strictly higher, else it is the
one evicted. In the main cache an object enters the lowest segment with room
(probation if neither has); a hit in probation moves it to protected's front, whose
overflow goes back to probation's front, whose overflow is evicted. An object bigger
than the window or than probation is not admitted.

The sketch is libCacheSim's counting Bloom filter, not the paper's 4-bit count-min
sketch: each key has 10 counters among ``n = ⌈14.38·m⌉`` (a 0.1 % error for ``m``,
the main cache's capacity), counter ``i`` at ``(a + i·b) mod 2³² mod n`` where ``a``
and ``b`` are the low 32 bits of XXH64 of the 8-byte key under libCacheSim's two
seeds. A key's estimate is the least of its counters; counting it raises all of
them. A key is counted when inserted, at each hit in the main cache and each time it
is the window's victim, and every counter is halved after ``32·m`` hits in the main
cache. Counters saturate at ``params[2]`` (default 2³¹ − 1, never reached; 15 makes
them 4-bit). They are int32 fields of extra nodes after the sentinels (counter ``c``
is ``L[E0 + c // N_ROWS, c % N_ROWS]``); there are ``⌈14.38·n_obj⌉`` of them, so the
sketch is libCacheSim's exactly whenever the main cache holds at most ``n_obj``
units — with unit sizes, whenever anything is evicted — and ``n`` is capped there
with bigger byte capacities (``extra_columns`` is not told the capacity). Speed: the
sketch's random counters are most of W-TinyLFU's cost, so an admitted key keeps its
two hashes in FREQ/AUX, and the counters about to be needed are prefetched (an LLVM
hint; no result depends on it): the miss's own in ``admit`` (counted in ``insert``,
after the evictions), and in ``insert`` those of the window's and main's current
victims, which the next eviction will likely compare.

Where these differ from libCacheSim, and why: W-TinyLFU's window holds at least one
unit (libCacheSim's is empty below 100 objects, so it caches nothing); a deleted or
expired object's weight leaves its SLRU segment (libCacheSim keeps counting it); a
deleted key's ghost stays (the loop tells the policy only about cached keys). 2Q's
Am and W-TinyLFU's SLRU evict inside ``insert``/``hit`` where libCacheSim does (Am
full while the whole cache is not; probation over its share): those victims are
cleared by the hook and counted in ``R[DROPPED]``, which the loop adds to its
``evictions``.

**Redis** ``allkeys-lru``/``allkeys-lfu``. They keep no lists, so the link fields hold
a dense array of the cached ids: ``L[s, NEXT]`` is the id in slot ``s < R[_R_N]``,
``L[x, PREV]`` is x's slot (O(1) sampling and removal). An eviction samples
``params[0]`` (``maxmemory-samples``, 5) distinct cached keys — uniformly, redrawing
repeats (``L[x, WHERE]`` stamps a round's picks), with numba's generator seeded in
``setup`` from ``params[1]`` (0); every key when there are no more than that (Redis
samples runs of hash buckets) — into a pool of 16 (``EVPOOL_SIZE``) entries in
ascending score: a new entry goes left of equal ones, and a full pool drops its
lowest only for a higher score. The best entry naming a key still cached is evicted;
entries are dropped as they are looked at, and stale ones (scored when sampled) are
kept until then, as in Redis. LRU's score is the idle time on Redis's LRU clock
(``L[x, AUX]``: whole seconds of ``t``, 24 bits, wrapping as in Redis). LFU's is
``255 −`` the key's 8-bit logarithmic counter (``L[x, FREQ]``; new keys start at
``LFU_INIT_VAL`` = 5) decayed by one per ``params[3]`` minutes (``lfu-decay-time``, 1;
0: never) since its last access (``L[x, AUX]``: 16-bit minutes, as in Redis); an
access stores the decayed counter, then raises it with probability ``1 / ((c −
5)·params[2] + 1)`` (``lfu-log-factor``, 10), up to 255. Sampling does not store the
decay, as in Redis.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from perflab.caching._lists import (
    AUX,
    BASE,
    CAP,
    FREQ,
    N_REGS,
    N_ROWS,
    N_SENTINELS,
    NEXT,
    P0,
    PRESENT,
    PREV,
    USED,
    WEIGHT,
    WHERE,
    back,
    init,
    is_empty,
    push_front,
    unlink,
)

ARC, TWOQ, WTINYLFU, REDIS_LRU, REDIS_LFU = 6, 7, 8, 10, 11
CODES = {
    "arc": ARC,
    "2q": TWOQ,
    "wtinylfu": WTINYLFU,
    "redis-lru": REDIS_LRU,
    "redis-lfu": REDIS_LFU,
}
"""Policy name → code of the replay kernel."""

DROPPED = N_REGS - 1
"""Register counting the objects a hook evicted itself (not in ``evictions``)."""

_jit = nb.njit(nogil=True, cache=True)

# ------------------------------------------------------------------ shared queues
_SIZE = P0 - 1  # R[_SIZE + q]: the weight held by queue q (q = 1…4)


@_jit
def _put(L: np.ndarray, R: np.ndarray, x: int, q: int) -> None:  # noqa: N803
    """Put ``x`` at the front of queue ``q``."""
    push_front(L, R[BASE] + q, x)
    L[x, WHERE] = q
    R[_SIZE + q] += L[x, WEIGHT]


@_jit
def _take(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    """Take ``x`` out of its queue."""
    q = L[x, WHERE]
    unlink(L, x)
    L[x, WHERE] = 0
    R[_SIZE + q] -= L[x, WEIGHT]


@_jit
def _to_front(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    """Move ``x`` to the front of its own queue."""
    unlink(L, x)
    push_front(L, R[BASE] + L[x, WHERE], x)


@_jit
def _drop(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    """Evict cached ``x`` from inside a hook (the loop evicts only what evict returns)."""
    _take(L, R, x)
    L[x, PRESENT] = 0
    R[USED] -= L[x, WEIGHT]
    R[DROPPED] += 1


# ---------------------------------------------------------------------------- ARC
_T1, _T2, _B1, _B2 = 1, 2, 3, 4
_ARC_P = P0 + 4  # p, a float64 in R's bits
_ARC_GHOST = P0 + 5  # the ghost list this request's miss was found in (_B1/_B2), or 0
_ARC_W = P0 + 6  # the weight of this request's miss


@_jit
def _arc_setup(L: np.ndarray, R: np.ndarray) -> None:  # noqa: N803
    for q in (_T1, _T2, _B1, _B2):
        init(L, R[BASE] + q)
    R.view(np.float64)[_ARC_P] = 0.0
    R[_ARC_GHOST] = 0


@_jit
def _arc_admit(L: np.ndarray, R: np.ndarray, x: int, w: int) -> bool:  # noqa: N803
    R[_ARC_W] = w
    q = L[x, WHERE]
    R[_ARC_GHOST] = 0
    if q in (_B1, _B2):
        pf = R.view(np.float64)
        b1 = R[_SIZE + _B1]
        b2 = R[_SIZE + _B2]
        if q == _B1:
            pf[_ARC_P] = min(pf[_ARC_P] + max(b2 / b1, 1.0), float(R[CAP]))
        else:
            pf[_ARC_P] = max(pf[_ARC_P] - max(b1 / b2, 1.0), 0.0)
        _take(L, R, x)
        R[_ARC_GHOST] = q
    return True


@_jit
def _arc_hit(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    if L[x, WHERE] == _T1:
        _take(L, R, x)
        _put(L, R, x, _T2)
    else:
        _to_front(L, R, x)


@_jit
def _arc_insert(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    if R[_ARC_GHOST] != 0:
        _put(L, R, x, _T2)
        R[_ARC_GHOST] = 0
    else:
        _put(L, R, x, _T1)


@_jit
def _arc_replace(L: np.ndarray, R: np.ndarray) -> int:  # noqa: N803
    """REPLACE: T1's or T2's back becomes a ghost in B1 or B2; return it."""
    base = R[BASE]
    t1 = R[_SIZE + _T1]
    p = R.view(np.float64)[_ARC_P]
    from_t1 = t1 > 0 and (t1 > p or (t1 == p and R[_ARC_GHOST] == _B2))
    if from_t1 or is_empty(L, base + _T2):
        v = back(L, base + _T1)
        _take(L, R, v)
        _put(L, R, v, _B1)
    else:
        v = back(L, base + _T2)
        _take(L, R, v)
        _put(L, R, v, _B2)
    return v


@_jit
def _arc_evict(L: np.ndarray, R: np.ndarray) -> int:  # noqa: N803
    if R[_ARC_GHOST] != 0:
        return _arc_replace(L, R)
    base = R[BASE]
    c = R[CAP]
    t1, t2 = R[_SIZE + _T1], R[_SIZE + _T2]
    b1, b2 = R[_SIZE + _B1], R[_SIZE + _B2]
    if t1 + b1 + R[_ARC_W] > c:
        if not is_empty(L, base + _B1):
            _take(L, R, back(L, base + _B1))
            return _arc_replace(L, R)
        v = back(L, base + _T1)
        _take(L, R, v)
        return v
    if t1 + t2 + b1 + b2 >= 2 * c and not is_empty(L, base + _B2):
        _take(L, R, back(L, base + _B2))
    return _arc_replace(L, R)


# ----------------------------------------------------------------------------- 2Q
_AIN, _AM, _AOUT = 1, 2, 3
_AIN_CAP, _AM_CAP, _AOUT_CAP, _2Q_GHOST = P0 + 4, P0 + 5, P0 + 6, P0 + 7


@_jit
def _2q_setup(L: np.ndarray, R: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    for q in (_AIN, _AM, _AOUT):
        init(L, R[BASE] + q)
    ain = params[0] if params.size > 0 else 0.25
    aout = params[1] if params.size > 1 else 0.5
    R[_AIN_CAP] = int(R[CAP] * ain)
    R[_AOUT_CAP] = int(R[CAP] * aout)
    R[_AM_CAP] = R[CAP] - R[_AIN_CAP]
    R[_2Q_GHOST] = 0


@_jit
def _2q_admit(L: np.ndarray, R: np.ndarray, x: int, w: int) -> bool:  # noqa: N803
    R[_2Q_GHOST] = 0
    if L[x, WHERE] == _AOUT:
        _take(L, R, x)
        R[_2Q_GHOST] = 1
    return w <= R[_AIN_CAP]


@_jit
def _2q_insert(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    if R[_2Q_GHOST] == 1:
        R[_2Q_GHOST] = 0
        am = R[BASE] + _AM
        while R[_SIZE + _AM] + L[x, WEIGHT] > R[_AM_CAP] and not is_empty(L, am):
            _drop(L, R, back(L, am))
        _put(L, R, x, _AM)
    else:
        _put(L, R, x, _AIN)


@_jit
def _2q_evict(L: np.ndarray, R: np.ndarray) -> int:  # noqa: N803
    base = R[BASE]
    if R[_SIZE + _AIN] > R[_AIN_CAP] or is_empty(L, base + _AM):
        v = back(L, base + _AIN)
        _take(L, R, v)
        w = L[v, WEIGHT]
        if w <= R[_AOUT_CAP]:
            while R[_SIZE + _AOUT] + w > R[_AOUT_CAP]:
                _take(L, R, back(L, base + _AOUT))
            _put(L, R, v, _AOUT)
        return v
    v = back(L, base + _AM)
    _take(L, R, v)
    return v


# ---------------------------------------------------------------------- W-TinyLFU
_WIN, _PROB, _PROT = 1, 2, 3
_W_CAP, _M_CAP, _PROB_CAP, _PROT_CAP = P0 + 4, P0 + 5, P0 + 6, P0 + 7
_CBF_N, _CBF_E0, _CBF_TICK, _CBF_RESET, _CBF_MAX = P0 + 8, P0 + 9, P0 + 10, P0 + 11, P0 + 12

# libCacheSim's counting Bloom filter: sized for a 0.1 % error
_BPE = -math.log(0.001) / 0.480453013918201  # counters per entry, -ln(e)/ln(2)²
_HASHES = math.ceil(0.693147180559945 * _BPE)  # = 10
_CBF_SEED0 = np.uint64(0x12345678)
_CBF_SEED1 = np.uint64(0x12344321)
_M32 = np.uint64(0xFFFFFFFF)
# XXH64's primes
_X1 = np.uint64(0x9E3779B185EBCA87)
_X2 = np.uint64(0xC2B2AE3D27D4EB4F)
_X3 = np.uint64(0x165667B19E3779F9)
_X4 = np.uint64(0x85EBCA77C2B2AE63)
_X5 = np.uint64(0x27D4EB2F165667C5)


@_jit
def _rotl(v: np.uint64, r: int) -> np.uint64:
    return (v << np.uint64(r)) | (v >> np.uint64(64 - r))


@_jit
def xxh64_u64(v: np.uint64, seed: np.uint64) -> np.uint64:
    """XXH64 of the 8 little-endian bytes of ``v`` (the one-lane case of the spec)."""
    h = seed + _X5 + np.uint64(8)
    k = _rotl(v * _X2, 31) * _X1
    h ^= k
    h = _rotl(h, 27) * _X1 + _X4
    h ^= h >> np.uint64(33)
    h *= _X2
    h ^= h >> np.uint64(29)
    h *= _X3
    h ^= h >> np.uint64(32)
    return h


@_jit
def _cbf_hash(x: int) -> tuple[np.int64, np.int64]:
    """The two 32-bit hashes whose combinations ``a + i·b`` place ``x``'s counters."""
    key = np.uint64(x)
    a = np.int64(xxh64_u64(key, _CBF_SEED0) & _M32)
    b = np.int64(xxh64_u64(key, _CBF_SEED1) & _M32)
    return a, b


@_jit
def _cbf_keep_hash(L: np.ndarray, x: int) -> None:  # noqa: N803
    """Keep ``x``'s hashes in its node (FREQ, AUX) while it is cached."""
    a, b = _cbf_hash(x)
    L[x, FREQ] = a  # stored as int32: the same 32 bits
    L[x, AUX] = b


@_jit
def _cbf_kept_hash(L: np.ndarray, x: int) -> tuple[np.int64, np.int64]:  # noqa: N803
    """The hashes of cached ``x``, as kept by :func:`_cbf_keep_hash`."""
    return np.int64(L[x, FREQ]) & 0xFFFFFFFF, np.int64(L[x, AUX]) & 0xFFFFFFFF


@_jit
def _cbf_estimate(L: np.ndarray, R: np.ndarray, x: int) -> np.int64:  # noqa: N803
    """The sketch's estimate of ``x``'s count: the least of its counters."""
    a, b = _cbf_kept_hash(L, x)
    n = R[_CBF_N]
    e0 = R[_CBF_E0]
    est = np.int64(0x7FFFFFFF)
    for i in range(_HASHES):
        c = ((a + i * b) & 0xFFFFFFFF) % n
        est = min(est, np.int64(L[e0 + c // N_ROWS, c % N_ROWS]))
    return est


@_jit
def _cbf_add(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    """Count ``x``: raise each of its counters (twice where two of them coincide)."""
    a, b = _cbf_kept_hash(L, x)
    n = R[_CBF_N]
    e0 = R[_CBF_E0]
    cmax = R[_CBF_MAX]
    for i in range(_HASHES):
        c = ((a + i * b) & 0xFFFFFFFF) % n
        node, field = e0 + c // N_ROWS, c % N_ROWS
        if L[node, field] < cmax:
            L[node, field] += 1


@intrinsic
def _prefetch(typingctx, arr, i, j):  # type: ignore[no-untyped-def]
    """Hint the CPU to fetch ``arr[i, j]``'s cache line (LLVM's prefetch, for a read)."""
    sig = types.void(arr, i, j)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, aryty, ary, [args[1], args[2]], wraparound=False
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        # read, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@_jit
def _cbf_prefetch(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    """Start loading ``x``'s counters (the next eviction will compare them)."""
    a, b = _cbf_kept_hash(L, x)
    n = R[_CBF_N]
    e0 = R[_CBF_E0]
    for i in range(_HASHES):
        c = ((a + i * b) & 0xFFFFFFFF) % n
        _prefetch(L, e0 + c // N_ROWS, c % N_ROWS)  # type: ignore[call-arg]


@_jit
def _cbf_halve(L: np.ndarray, R: np.ndarray) -> None:  # noqa: N803
    e0 = R[_CBF_E0]
    for c in range(R[_CBF_N]):
        L[e0 + c // N_ROWS, c % N_ROWS] >>= 1


@_jit
def _wtlfu_nodes(n_obj: int) -> int:
    counters = math.ceil(_BPE * max(n_obj, 1)) + 2 * _HASHES
    return counters // N_ROWS + 1


@_jit
def _wtlfu_setup(L: np.ndarray, R: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    for q in (_WIN, _PROB, _PROT):
        init(L, R[BASE] + q)
    window = params[0] if params.size > 0 else 0.01
    prob = params[1] if params.size > 1 else 0.2
    cmax = int(params[2]) if params.size > 2 and params[2] > 0 else 0x7FFFFFFF
    R[_W_CAP] = max(1, int(R[CAP] * window))
    main = R[CAP] - R[_W_CAP]
    R[_M_CAP] = main
    R[_PROB_CAP] = int(prob * main)
    R[_PROT_CAP] = int((1.0 - prob) * main)
    n = int(min(math.ceil(_BPE * main), 2147483647))
    if n < _HASHES:
        n = 2 * _HASHES
    e0 = R[BASE] + N_SENTINELS
    R[_CBF_N] = min(n, N_ROWS * (L.shape[0] - e0))
    R[_CBF_E0] = e0
    R[_CBF_TICK] = 0
    R[_CBF_RESET] = 32 * main
    R[_CBF_MAX] = min(cmax, 0x7FFFFFFF)


@_jit
def _main_victim(L: np.ndarray, R: np.ndarray) -> int:  # noqa: N803
    """The main SLRU's victim: probation's back, else protected's."""
    base = R[BASE]
    if not is_empty(L, base + _PROB):
        return back(L, base + _PROB)
    return back(L, base + _PROT)


@_jit
def _main_insert(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    w = L[x, WEIGHT]
    if R[_SIZE + _PROB] + w <= R[_PROB_CAP]:
        _put(L, R, x, _PROB)
    elif R[_SIZE + _PROT] + w <= R[_PROT_CAP]:
        _put(L, R, x, _PROT)
    else:
        base = R[BASE]
        while R[_SIZE + _PROB] + R[_SIZE + _PROT] + w > R[_M_CAP] and not (
            is_empty(L, base + _PROB) and is_empty(L, base + _PROT)
        ):
            _drop(L, R, _main_victim(L, R))
        _put(L, R, x, _PROB)


@_jit
def _wtlfu_hit(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    q = L[x, WHERE]
    if q in (_WIN, _PROT):
        _to_front(L, R, x)
    else:  # probation: promote; protected's overflow cools into probation
        _take(L, R, x)
        _put(L, R, x, _PROT)
        base = R[BASE]
        while R[_SIZE + _PROT] > R[_PROT_CAP]:
            v = back(L, base + _PROT)
            _take(L, R, v)
            _put(L, R, v, _PROB)
            while R[_SIZE + _PROB] > R[_PROB_CAP]:
                _drop(L, R, back(L, base + _PROB))
    if q != _WIN:
        _cbf_add(L, R, x)
        R[_CBF_TICK] += 1
        if R[_CBF_TICK] >= R[_CBF_RESET]:
            R[_CBF_TICK] = 0
            _cbf_halve(L, R)


@_jit
def _wtlfu_admit(L: np.ndarray, R: np.ndarray, x: int, w: int) -> bool:  # noqa: N803
    if w > R[_W_CAP] or w > R[_PROB_CAP]:
        return False
    _cbf_keep_hash(L, x)
    _cbf_prefetch(L, R, x)  # insert will count it, after the evictions
    return True


@_jit
def _wtlfu_insert(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    _put(L, R, x, _WIN)
    _cbf_add(L, R, x)
    # the next miss will likely compare the window's and the main's current victims:
    # fetch their counters now, while the requests in between are served
    base = R[BASE]
    wv = back(L, base + _WIN)
    if wv != x and R[_SIZE + _PROB] + R[_SIZE + _PROT] > 0:
        _cbf_prefetch(L, R, wv)
        _cbf_prefetch(L, R, _main_victim(L, R))


@_jit
def _wtlfu_evict(L: np.ndarray, R: np.ndarray) -> int:  # noqa: N803
    base = R[BASE]
    while True:
        if is_empty(L, base + _WIN):
            v = _main_victim(L, R)
            _take(L, R, v)
            return v
        wv = back(L, base + _WIN)
        main_used = R[_SIZE + _PROB] + R[_SIZE + _PROT]
        if main_used + L[wv, WEIGHT] <= R[_M_CAP]:  # room in main: no eviction yet
            _take(L, R, wv)
            _main_insert(L, R, wv)
            _cbf_add(L, R, wv)
            continue
        if main_used > 0:
            mv = _main_victim(L, R)
            if _cbf_estimate(L, R, wv) > _cbf_estimate(L, R, mv):
                _take(L, R, mv)
                _take(L, R, wv)
                _main_insert(L, R, wv)
                _cbf_add(L, R, wv)
                return mv
        _take(L, R, wv)
        _cbf_add(L, R, wv)
        return wv


# -------------------------------------------------------------------------- Redis
_R_N, _R_SAMPLES, _R_LOGF, _R_DECAY = P0, P0 + 1, P0 + 2, P0 + 3  # cached keys; parameters
_R_POOL_N, _R_ROUND = P0 + 4, P0 + 5  # entries in the pool; sampling round
EVPOOL_SIZE = 16
_R_POOL_KEY = P0 + 6  # EVPOOL_SIZE registers: the pool's keys, ascending score
_R_POOL_SCORE = _R_POOL_KEY + EVPOOL_SIZE  # and their scores
LFU_INIT_VAL = 5
LRU_CLOCK_MAX = (1 << 24) - 1  # Redis's LRU clock: 24 bits of seconds
_LDT_MASK = 0xFFFF  # LFU's last decrement time: 16 bits of minutes


@_jit
def redis_lru_clock(t: float) -> int:
    """Redis's LRU clock at ``t`` seconds: whole seconds, 24 bits (it wraps every 194 days)."""
    return math.floor(t) & LRU_CLOCK_MAX


@_jit
def redis_idle(lru: int, clock: int) -> int:
    """Redis's ``estimateObjectIdleTime`` (in seconds, not ms): ``clock − lru``, wrapped once."""
    if clock >= lru:
        return clock - lru
    return clock + (LRU_CLOCK_MAX - lru)


@_jit
def redis_lfu_minutes(t: float) -> int:
    """Redis's ``LFUGetTimeInMinutes`` at ``t`` seconds: 16 bits of minutes."""
    return math.floor(t / 60.0) & _LDT_MASK


@_jit
def redis_lfu_incr(counter: int, r: float, log_factor: float) -> int:
    """Redis's ``LFULogIncr``: ``counter`` after one access, ``r`` a uniform draw in [0, 1).

    The counter rises with probability ``1 / ((counter − 5)·log_factor + 1)`` (always
    below 5) and saturates at 255.

    >>> redis_lfu_incr(5, 0.99, 10.0), redis_lfu_incr(15, 0.01, 10.0)  # p = 1, 1/101
    (6, 15)
    >>> redis_lfu_incr(255, 0.0, 10.0)
    255
    """
    if counter >= 255:
        return 255
    base = max(counter - LFU_INIT_VAL, 0)
    if r < 1.0 / (base * log_factor + 1.0):
        return counter + 1
    return counter


@_jit
def redis_lfu_decay(counter: int, ldt: int, now: int, decay_time: int) -> int:
    """Redis's ``LFUDecrAndReturn``: ``counter`` less one per ``decay_time`` minutes since ``ldt``.

    ``ldt`` and ``now`` are 16-bit minutes (:func:`redis_lfu_minutes`; ``now < ldt`` is
    read as one wrap, as Redis's ``LFUTimeElapsed`` does); ``decay_time`` 0 disables decay.

    >>> redis_lfu_decay(10, 100, 103, 1), redis_lfu_decay(10, 100, 105, 2)
    (7, 8)
    >>> redis_lfu_decay(3, 0, 60, 1), redis_lfu_decay(10, 65530, 2, 1)
    (0, 3)
    """
    if decay_time <= 0:
        return counter
    elapsed = now - ldt if now >= ldt else _LDT_MASK - ldt + now
    return max(counter - elapsed // decay_time, 0)


@_jit
def _redis_setup(L: np.ndarray, R: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    R[_R_N] = 0
    R[_R_SAMPLES] = int(params[0]) if params.size > 0 and params[0] >= 1 else 5
    np.random.seed(int(params[1]) if params.size > 1 else 0)
    R[_R_LOGF] = int(params[2]) if params.size > 2 else 10
    R[_R_DECAY] = int(params[3]) if params.size > 3 else 1
    R[_R_POOL_N] = 0
    R[_R_ROUND] = 0


@_jit
def _redis_hit(p: int, L: np.ndarray, R: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    if p == REDIS_LRU:
        L[x, AUX] = redis_lru_clock(t)
        return
    now = redis_lfu_minutes(t)
    c = redis_lfu_decay(L[x, FREQ], L[x, AUX], now, R[_R_DECAY])
    if c < 255:
        c = redis_lfu_incr(c, np.random.random(), float(R[_R_LOGF]))
    L[x, FREQ] = c
    L[x, AUX] = now


@_jit
def _redis_insert(p: int, L: np.ndarray, R: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    s = R[_R_N]
    L[s, NEXT] = x
    L[x, PREV] = s
    R[_R_N] = s + 1
    if p == REDIS_LRU:
        L[x, AUX] = redis_lru_clock(t)
    else:
        L[x, FREQ] = LFU_INIT_VAL
        L[x, AUX] = redis_lfu_minutes(t)


@_jit
def _redis_remove(L: np.ndarray, R: np.ndarray, x: int) -> None:  # noqa: N803
    s = L[x, PREV]
    last = R[_R_N] - 1
    y = L[last, NEXT]
    L[s, NEXT] = y
    L[y, PREV] = s
    R[_R_N] = last


@_jit
def _pool_insert(R: np.ndarray, key: int, score: int) -> None:  # noqa: N803
    """Redis's ``evictionPoolPopulate`` step for one sampled key."""
    n = R[_R_POOL_N]
    k = 0
    while k < n and R[_R_POOL_SCORE + k] < score:
        k += 1
    if n == EVPOOL_SIZE:
        if k == 0:
            return  # no better than the worst of a full pool
        k -= 1  # drop the worst (leftmost), shifting the left part down
        for i in range(k):
            R[_R_POOL_KEY + i] = R[_R_POOL_KEY + i + 1]
            R[_R_POOL_SCORE + i] = R[_R_POOL_SCORE + i + 1]
    else:
        for i in range(n, k, -1):
            R[_R_POOL_KEY + i] = R[_R_POOL_KEY + i - 1]
            R[_R_POOL_SCORE + i] = R[_R_POOL_SCORE + i - 1]
        R[_R_POOL_N] = n + 1
    R[_R_POOL_KEY + k] = key
    R[_R_POOL_SCORE + k] = score


@_jit
def _redis_score(p: int, L: np.ndarray, R: np.ndarray, x: int, now: int) -> int:  # noqa: N803
    if p == REDIS_LRU:
        return redis_idle(L[x, AUX], now)
    return 255 - redis_lfu_decay(L[x, FREQ], L[x, AUX], now, R[_R_DECAY])


@_jit
def _redis_evict(p: int, L: np.ndarray, R: np.ndarray, t: float) -> int:  # noqa: N803
    now = redis_lru_clock(t) if p == REDIS_LRU else redis_lfu_minutes(t)
    while True:
        n = R[_R_N]
        if R[_R_SAMPLES] >= n:  # every key
            for s in range(n):
                x = L[s, NEXT]
                _pool_insert(R, x, _redis_score(p, L, R, x, now))
        else:  # distinct keys, drawn uniformly: a key drawn twice in a round is redrawn
            R[_R_ROUND] = (R[_R_ROUND] + 1) & 0x3FFFFFFF
            stamp = R[_R_ROUND]
            for _ in range(R[_R_SAMPLES]):
                x = L[np.random.randint(0, n), NEXT]
                while L[x, WHERE] == stamp:
                    x = L[np.random.randint(0, n), NEXT]
                L[x, WHERE] = stamp
                _pool_insert(R, x, _redis_score(p, L, R, x, now))
        k = R[_R_POOL_N] - 1
        while k >= 0:  # the best entry naming a cached key; stale ones are dropped
            x = R[_R_POOL_KEY + k]
            R[_R_POOL_N] = k
            if L[x, PRESENT] == 1:
                _redis_remove(L, R, x)
                return x
            k -= 1


# ----------------------------------------------------------------------- dispatch


@_jit
def extra_columns(p: int, n_obj: int) -> int:
    """Columns of ``L`` policy ``p`` needs after the sentinels (W-TinyLFU's sketch)."""
    if p == WTINYLFU:
        return _wtlfu_nodes(n_obj)
    return 0


@_jit
def setup(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, params: np.ndarray) -> None:  # noqa: N803
    R[DROPPED] = 0
    if p == ARC:
        _arc_setup(L, R)
    elif p == TWOQ:
        _2q_setup(L, R, params)
    elif p == WTINYLFU:
        _wtlfu_setup(L, R, params)
    elif p in (REDIS_LRU, REDIS_LFU):
        _redis_setup(L, R, params)
    else:
        raise ValueError("unknown policy code")


@_jit
def hit(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    if p == ARC:
        _arc_hit(L, R, x)
    elif p == TWOQ:
        if L[x, WHERE] == _AM:
            _to_front(L, R, x)
    elif p == WTINYLFU:
        _wtlfu_hit(L, R, x)
    else:
        _redis_hit(p, L, R, x, t)


@_jit
def admit(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float, w: int) -> bool:  # noqa: N803
    if p == ARC:
        return _arc_admit(L, R, x, w)
    if p == TWOQ:
        return _2q_admit(L, R, x, w)
    if p == WTINYLFU:
        return _wtlfu_admit(L, R, x, w)
    return True


@_jit
def insert(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int, t: float) -> None:  # noqa: N803
    if p == ARC:
        _arc_insert(L, R, x)
    elif p == TWOQ:
        _2q_insert(L, R, x)
    elif p == WTINYLFU:
        _wtlfu_insert(L, R, x)
    else:
        _redis_insert(p, L, R, x, t)


@_jit
def evict(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, t: float) -> int:  # noqa: N803
    if p == ARC:
        return _arc_evict(L, R)
    if p == TWOQ:
        return _2q_evict(L, R)
    if p == WTINYLFU:
        return _wtlfu_evict(L, R)
    return _redis_evict(p, L, R, t)


@_jit
def remove(p: int, L: np.ndarray, R: np.ndarray, F: np.ndarray, x: int) -> None:  # noqa: N803
    if p in (REDIS_LRU, REDIS_LFU):
        _redis_remove(L, R, x)
    else:
        _take(L, R, x)

"""The state every simulated policy shares, and intrusive doubly linked lists over it.

The simulator (numba, :mod:`perflab.caching._replay`) keeps one policy's whole state in
three arrays, so that every policy is a handful of small functions over the same types:

``L`` (int32, nodes × :data:`N_ROWS`)
    one row per object id (the trace's dense keys ``0 … n_obj-1``), then
    :data:`N_SENTINELS` list heads, then whatever extra nodes a policy asks for (LFU's
    frequency buckets); a node's fields sit side by side in 32 bytes, half a cache
    line, which is what makes a replay fast (a hit touches one line, not seven, and a
    million objects fit in a server's L3 cache). int32 caps a node count and an
    object's weight below 2³¹ (checked by :func:`perflab.caching.prepare`). Fields:
    :data:`PREV`, :data:`NEXT` (the list links),
    :data:`PRESENT` (1 while the object is cached), :data:`WEIGHT` (what it occupies:
    its size in bytes, or 1 when the cache counts objects), :data:`WHERE` (which of the
    policy's queues holds it: its own codes, 0 = none), :data:`FREQ` and :data:`AUX`
    (the policy's per-object counters).
``R`` (int64, :data:`N_REGS`)
    registers: :data:`CAP` the capacity, :data:`USED` what is occupied, :data:`BASE`
    the first sentinel node (``n_obj``), and the policy's own from :data:`P0` on.
``F`` (float64, n_obj × :data:`N_FROWS`)
    :data:`EXPIRE` (when the object expires, ``inf`` for never) and :data:`FAUX`, a
    float per object for a policy that keeps times (Redis's LRU clock, LFU decay).

A list is named by its sentinel node ``h`` (``n_obj + k``): ``L[h, NEXT]`` is its
front (the newest), ``L[h, PREV]`` its back (the oldest); an empty list links ``h`` to
itself. Every operation is O(1).
"""

from __future__ import annotations

import numba as nb
import numpy as np

PREV, NEXT, PRESENT, WEIGHT, WHERE, FREQ, AUX = 0, 1, 2, 3, 4, 5, 6
N_ROWS = 8  # seven fields and a spare: a node is 32 bytes, half a cache line
EXPIRE, FAUX = 0, 1
N_FROWS = 2
N_SENTINELS = 8
CAP, USED, BASE, P0 = 0, 1, 2, 3
N_REGS = 64

_jit = nb.njit(nogil=True, cache=True)


@_jit
def init(L: np.ndarray, h: int) -> None:  # noqa: N803 - the state's conventional names
    """Make ``h`` an empty list."""
    L[h, PREV] = h
    L[h, NEXT] = h


@_jit
def push_front(L: np.ndarray, h: int, x: int) -> None:  # noqa: N803
    """Put ``x`` at the front (newest end) of list ``h``."""
    first = L[h, NEXT]
    L[h, NEXT] = x
    L[x, PREV] = h
    L[x, NEXT] = first
    L[first, PREV] = x


@_jit
def push_after(L: np.ndarray, at: int, x: int) -> None:  # noqa: N803
    """Put ``x`` right after node ``at`` (towards the back)."""
    after = L[at, NEXT]
    L[at, NEXT] = x
    L[x, PREV] = at
    L[x, NEXT] = after
    L[after, PREV] = x


@_jit
def unlink(L: np.ndarray, x: int) -> None:  # noqa: N803
    """Take ``x`` out of whatever list holds it."""
    p = L[x, PREV]
    n = L[x, NEXT]
    L[p, NEXT] = n
    L[n, PREV] = p


@_jit
def back(L: np.ndarray, h: int) -> int:  # noqa: N803
    """The oldest node of list ``h`` (``h`` itself when the list is empty)."""
    return L[h, PREV]


@_jit
def is_empty(L: np.ndarray, h: int) -> bool:  # noqa: N803
    """Whether list ``h`` is empty."""
    return L[h, NEXT] == h

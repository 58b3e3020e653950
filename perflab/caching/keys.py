"""Dense object ids: any key column → ``0 … n-1`` in order of first appearance.

A trace's keys (strings, 64-bit hashes, sparse integers) are remapped once, when the
trace is read, so that the simulator's hot loops index arrays instead of hashing.

Why hand-written: the obvious exact polars spellings (a dense ``rank`` re-ordered by
first row, a ``Categorical`` cast, ``unique`` then a join) sort or hash the column
several times and take 1–3 s on 10 million keys; one pass over an open-addressing
table in numba takes about 0.4 s (10 M integer keys over 1 M distinct on one core).

* **Integer keys** (any width, signed or not) are exact: the table holds the keys
  themselves. Keys that span a small range (``max - min`` at most a few times the
  row count) skip the hashing and index a direct array.
* **Other keys** (strings, floats, …) are hashed by polars with two seeds and the
  table holds the 128-bit pair: two different keys share an id only if they share
  both hashes, a chance of about ``d² / 2¹²⁹`` for ``d`` distinct keys (10⁻²⁷ for a
  million) — the same bargain as :mod:`perflab.kernels`. Pass ``exact=True`` to
  :func:`dense_keys` for a slower path that compares the values themselves.
* A null key is one key of its own, as in ``Series.unique``.

The kernels compile on first use (a few seconds, then cached on disk by numba).
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
import polars as pl

__all__ = ["dense_keys", "is_dense"]

_GOLD = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: 2⁶⁴ / φ
_DIRECT_SPAN = 4  # a direct array when max - min < _DIRECT_SPAN × rows …
_DIRECT_MAX = 1 << 27  # … and below this many slots (1 GiB of int64)
_SEEDS = (0x5EED_0001, 0x5EED_0002)


@nb.njit(cache=True, nogil=True)
def _by_table(keys: Any) -> Any:  # pragma: no cover - numba
    """Ids of uint64 ``keys`` in order of first appearance (open addressing, exact)."""
    n = keys.size
    bits = 12
    cap = 1 << bits
    tab = np.zeros((cap, 2), np.uint64)  # (key, id + 1); id + 1 == 0 is an empty slot
    out = np.empty(n, np.int64)
    g = 0
    for i in range(n):
        k = keys[i]
        mask = np.uint64(cap - 1)
        j = (k * _GOLD) >> np.uint64(64 - bits)
        while True:
            s = tab[j, 1]
            if s == 0:
                g += 1
                tab[j, 0] = k
                tab[j, 1] = g
                out[i] = g - 1
                if 2 * g > cap:  # keep the load under 1/2: short probes
                    bits += 1
                    cap <<= 1
                    grown = np.zeros((cap, 2), np.uint64)
                    m2 = np.uint64(cap - 1)
                    for t in range(cap >> 1):
                        if tab[t, 1] != 0:
                            jj = (tab[t, 0] * _GOLD) >> np.uint64(64 - bits)
                            while grown[jj, 1] != 0:
                                jj = (jj + np.uint64(1)) & m2
                            grown[jj, 0] = tab[t, 0]
                            grown[jj, 1] = tab[t, 1]
                    tab = grown
                break
            if tab[j, 0] == k:
                out[i] = np.int64(s) - 1
                break
            j = (j + np.uint64(1)) & mask
    return out


@nb.njit(cache=True, nogil=True)
def _by_pair(h1: Any, h2: Any) -> Any:  # pragma: no cover - numba
    """Ids of the 128-bit keys ``(h1[i], h2[i])`` in order of first appearance."""
    n = h1.size
    bits = 12
    cap = 1 << bits
    tab = np.zeros((cap, 3), np.uint64)  # (h1, h2, id + 1)
    out = np.empty(n, np.int64)
    g = 0
    for i in range(n):
        a = h1[i]
        b = h2[i]
        mask = np.uint64(cap - 1)
        j = (a * _GOLD) >> np.uint64(64 - bits)
        while True:
            s = tab[j, 2]
            if s == 0:
                g += 1
                tab[j, 0] = a
                tab[j, 1] = b
                tab[j, 2] = g
                out[i] = g - 1
                if 2 * g > cap:
                    bits += 1
                    cap <<= 1
                    grown = np.zeros((cap, 3), np.uint64)
                    m2 = np.uint64(cap - 1)
                    for t in range(cap >> 1):
                        if tab[t, 2] != 0:
                            jj = (tab[t, 0] * _GOLD) >> np.uint64(64 - bits)
                            while grown[jj, 2] != 0:
                                jj = (jj + np.uint64(1)) & m2
                            grown[jj, 0] = tab[t, 0]
                            grown[jj, 1] = tab[t, 1]
                            grown[jj, 2] = tab[t, 2]
                    tab = grown
                break
            if tab[j, 0] == a and tab[j, 1] == b:
                out[i] = np.int64(s) - 1
                break
            j = (j + np.uint64(1)) & mask
    return out


@nb.njit(cache=True, nogil=True)
def _by_offset(offsets: Any, span: int) -> Any:  # pragma: no cover - numba
    """Ids of small non-negative ints (``< span``) through a direct array: exact."""
    seen = np.full(span, -1, np.int64)
    out = np.empty(offsets.size, np.int64)
    g = 0
    for i in range(offsets.size):
        k = offsets[i]
        s = seen[k]
        if s < 0:
            seen[k] = g
            out[i] = g
            g += 1
        else:
            out[i] = s
    return out


def dense_keys(s: pl.Series, *, exact: bool = False) -> pl.Series:
    """Map keys of any dtype to Int64 ids ``0 … n-1`` in order of first appearance.

    Parameters
    ----------
    s : polars.Series
        The keys: strings, integers of any width (64-bit hashes as UInt64 included),
        or anything polars can hash. A null is a key of its own.
    exact : bool
        For keys that are not integers: compare the values themselves (a dense rank,
        about 5× slower) instead of their 128-bit hashes (see the module docstring).
        Integer keys are always exact.

    Returns
    -------
    polars.Series
        Int64, same name and length: equal keys get equal ids, and the first
        occurrence of each new key gets the next id.

    Examples
    --------
    >>> dense_keys(pl.Series("key", ["b", "a", "b", "c"])).to_list()
    [0, 1, 0, 2]
    >>> dense_keys(pl.Series("key", [2**64 - 1, 7, 2**64 - 1], dtype=pl.UInt64)).to_list()
    [0, 1, 0]
    """
    name = s.name
    if s.len() == 0:
        return pl.Series(name, [], dtype=pl.Int64)
    if is_dense(s):
        return s.cast(pl.Int64)
    dt = s.dtype
    if dt.is_integer() and s.null_count() == 0:
        ids = _integer_ids(s)
    elif exact:
        ids = _exact_ids(s)
    else:
        h1 = s.hash(_SEEDS[0]).to_numpy()
        h2 = s.hash(_SEEDS[1]).to_numpy()
        ids = _by_pair(h1, h2)
    return pl.Series(name, ids, dtype=pl.Int64)


def _integer_ids(s: pl.Series) -> Any:
    lo, hi = s.min(), s.max()
    assert isinstance(lo, int) and isinstance(hi, int)
    span = hi - lo + 1
    if span <= min(_DIRECT_SPAN * s.len(), _DIRECT_MAX):
        offsets = (s - lo).cast(pl.Int64) if s.dtype == pl.UInt64 else s.cast(pl.Int64) - lo
        return _by_offset(offsets.to_numpy(), span)
    arr = s.to_numpy() if s.dtype == pl.UInt64 else s.cast(pl.Int64).to_numpy()
    return _by_table(np.ascontiguousarray(arr).view(np.uint64))


def _exact_ids(s: pl.Series) -> Any:
    """First-appearance ids from a dense rank (sorted order), renumbered in one pass."""
    rank = s.rank("dense")
    if s.null_count():
        rank = rank.fill_null(0)  # nulls: one key, ranked before every value
    return _by_offset(rank.cast(pl.Int64).to_numpy(), int(rank.max() or 0) + 1)  # type: ignore[arg-type]


def is_dense(s: pl.Series) -> bool:
    """Whether ``s`` already holds ids ``0 … n-1`` in order of first appearance.

    True when the values are integers without nulls, the first is 0 and each is at
    most one more than the largest before it — then every id below the largest has
    appeared, in order. One pass over the values (about 10 ms for 10 M); an empty
    series is dense.

    Examples
    --------
    >>> is_dense(pl.Series([0, 1, 0, 2, 1]))
    True
    >>> is_dense(pl.Series([0, 2, 1])), is_dense(pl.Series([1, 0])), is_dense(pl.Series(["0"]))
    (False, False, False)
    """
    if s.len() == 0:
        return True
    if not s.dtype.is_integer() or s.null_count():
        return False
    top = s.max()
    if s[0] != 0 or not isinstance(top, int) or top >= s.len():
        return False
    return bool(_first_appearance_order(s.cast(pl.Int64).to_numpy()))


@nb.njit(cache=True, nogil=True)
def _first_appearance_order(x: Any) -> bool:  # pragma: no cover - numba
    """Whether every value is ≥ 0 and at most one more than the largest before it."""
    top = -1
    for i in range(x.size):
        v = x[i]
        if v < 0 or v > top + 1:
            return False
        if v > top:
            top = v
    return True

"""Canonical frames of the caching domain, each declared once as a ``Schema``.

``TRACE`` — one row per cache request, what every trace reader returns:

==========  ========  ==================================================================
column      dtype     meaning
==========  ========  ==================================================================
timestamp   f64       seconds, as the trace gives them (epoch or relative to its start)
key         i64       dense object id: 0, 1, 2 … in order of first appearance
size        i64       object size in bytes (key + value where the trace splits them)
ttl         f64       seconds the object lives once written; null when it never expires
op          str       ``get``, ``set`` or ``delete`` (see below)
==========  ========  ==================================================================

Keys of any type (strings, 64-bit hashes) are remapped to dense integers once, when the
trace is read, so the simulator's hot loops index arrays instead of hashing; a reader
given ``keep_keys=True`` also keeps the original key as ``raw_key`` (str).

Operations are folded to the three the simulator distinguishes: ``get`` (a lookup that
counts as a hit or a miss; a miss inserts the object, as a read-through cache does),
``set`` (memcached's ``set/add/replace/cas/append/prepend/incr/decr`` — writes the object,
is not a lookup) and ``delete``. A trace without operations is all ``get``.

``SIMULATION`` — one row per (policy, size), what :func:`perflab.caching.simulate`
returns; ``size`` is in the unit of ``unit`` (``objects`` or ``bytes``).

``CURVE`` — a miss-ratio curve: one row per cache size (``miss_ratio_curve``).

``STATS`` — the runtime cache's statistics, one row per (strategy, level).

``ACCESSES`` — what the runtime cache's recorder writes: the ``TRACE`` columns with the
original key, plus what happened (``result``: ``hit``, ``miss``, ``expired``, ``set``,
``delete``), on which ``level`` and under which ``strategy``.
"""

from __future__ import annotations

import polars as pl

from perflab.frames import Schema

__all__ = [
    "ACCESSES",
    "CURVE",
    "OPS",
    "POLICIES",
    "SIMULATION",
    "STATS",
    "TRACE",
]

OPS: tuple[str, ...] = ("get", "set", "delete")
"""The operations of a :data:`TRACE`."""

POLICIES: tuple[str, ...] = (
    "fifo",
    "lru",
    "lfu",
    "clock",
    "sieve",
    "s3fifo",
    "arc",
    "2q",
    "wtinylfu",
    "belady",
    "redis-lru",
    "redis-lfu",
)
"""The policies :func:`perflab.caching.simulate` knows, by their lower-case names."""

TRACE = Schema(
    "cache trace",
    {
        "timestamp": pl.Float64,
        "key": pl.Int64,
        "size": pl.Int64,
        "ttl": pl.Float64,
        "op": pl.String,
    },
    optional={"raw_key": pl.String},
)
"""One row per cache request (see the module docstring)."""

SIMULATION = Schema(
    "simulation",
    {
        "policy": pl.String,
        "size": pl.Int64,
        "unit": pl.String,
        "requests": pl.Int64,
        "hits": pl.Int64,
        "hit_ratio": pl.Float64,
        "miss_ratio": pl.Float64,
        "requested_bytes": pl.Int64,
        "hit_bytes": pl.Int64,
        "byte_hit_ratio": pl.Float64,
        "evictions": pl.Int64,
        "expirations": pl.Int64,
        "too_large": pl.Int64,
    },
)
"""Hit and byte hit ratio of one policy at one size: ``requests`` counts the ``get``
requests, ``evictions`` the objects evicted for room, ``expirations`` the gets that
found their object expired (a miss), ``too_large`` the gets of objects bigger than the
whole cache (never admitted, a miss)."""

CURVE = Schema(
    "miss-ratio curve",
    {
        "size": pl.Int64,
        "unit": pl.String,
        "miss_ratio": pl.Float64,
        "byte_miss_ratio": pl.Float64,
        "policy": pl.String,
        "method": pl.String,
        "error": pl.Float64,
    },
)
"""Miss ratio by cache size. ``method`` is ``exact`` (every request replayed),
``shards`` (spatially sampled stack distances) or ``scaled`` (scaled-down
simulation); ``error`` is the sampling error's estimate (absolute, in miss ratio;
0 for ``exact``)."""

STATS = Schema(
    "cache statistics",
    {
        "strategy": pl.String,
        "level": pl.String,
        "policy": pl.String,
        "hits": pl.Int64,
        "misses": pl.Int64,
        "hit_ratio": pl.Float64,
        "sets": pl.Int64,
        "deletes": pl.Int64,
        "evictions_capacity": pl.Int64,
        "evictions_ttl": pl.Int64,
        "errors": pl.Int64,
        "entries": pl.Int64,
        "max_size": pl.Int64,
    },
)
"""Counters of the runtime cache per strategy and level (``l1`` in-process, ``l2``
Redis): ``evictions_capacity`` are entries dropped for room, ``evictions_ttl`` entries
found or swept expired, ``errors`` failed calls to the level (Redis unreachable …),
``entries`` the current number of entries (null for a level that cannot tell)."""

ACCESSES = Schema(
    "cache accesses",
    {
        "timestamp": pl.Float64,
        "key": pl.String,
        "size": pl.Int64,
        "ttl": pl.Float64,
        "op": pl.String,
        "result": pl.String,
        "level": pl.String,
        "strategy": pl.String,
    },
)
"""The recorder's rows (see the module docstring); written as CSV with this header."""

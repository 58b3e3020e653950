"""Trace-driven simulation: hit and byte hit ratio of every policy at every size.

:func:`simulate` replays a trace (:data:`~perflab.caching.schema.TRACE`) through each
policy at each cache size with the numba replay loop (:mod:`perflab.caching._replay`,
:mod:`perflab.caching._belady`); the runs are independent and release the GIL, so they
share the machine's cores. :func:`prepare` turns a trace into the arrays the kernels
take, once, when several calls replay the same trace.

Sizes are given in the unit of the cache: ``unit="objects"`` counts entries (every
object weighs 1, as a cache with ``max_size`` entries does), ``unit="bytes"`` weighs
each object by its ``size``. A size below 1 (a float) is a fraction of the trace's
working set: its distinct objects, or the sum of their sizes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from perflab.caching import _belady, _replay, _stack
from perflab.caching.schema import OPS, POLICIES, SIMULATION, TRACE
from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame

__all__ = ["DEFAULT_POLICIES", "Prepared", "default_sizes", "prepare", "simulate", "ttl_effect"]

logger = logging.getLogger(__name__)

Unit = Literal["objects", "bytes"]
Fill = Literal["miss", "set"]

DEFAULT_POLICIES: tuple[str, ...] = ("fifo", "lru", "lfu", "clock", "sieve", "s3fifo", "belady")
"""What :func:`simulate` runs when no policies are named."""


@dataclass(frozen=True)
class Prepared:
    """A trace as the replay kernels take it (see :func:`prepare`)."""

    keys: np.ndarray
    """Dense object ids (int64)."""
    sizes: np.ndarray
    """Bytes per request (int64)."""
    times: np.ndarray
    """Seconds (float64), non-decreasing."""
    ttls: np.ndarray
    """Seconds (float64); NaN for no TTL."""
    ops: np.ndarray
    """0 get, 1 set, 2 delete (int8)."""
    n_obj: int
    """Number of distinct objects."""
    working_set_bytes: int
    """Sum of the distinct objects' largest sizes."""

    @property
    def requests(self) -> int:
        """Number of requests of any operation."""
        return int(self.keys.shape[0])

    def working_set(self, unit: Unit) -> int:
        """The trace's working set in ``unit``."""
        return self.n_obj if unit == "objects" else self.working_set_bytes


def prepare(trace: FrameLike | Prepared) -> Prepared:
    """The arrays the replay kernels take, from a trace frame.

    Parameters
    ----------
    trace : frame or path
        A :data:`~perflab.caching.schema.TRACE` frame (``timestamp, key, size``
        required; ``ttl`` and ``op`` optional) or anything
        :func:`perflab.frames.as_frame` reads. Keys that are not dense ids
        (strings, sparse integers) are remapped here.

    Returns
    -------
    Prepared

    Raises
    ------
    ParameterError
        Negative sizes, unsorted timestamps, unknown operations or null keys.

    Examples
    --------
    >>> p = prepare(pl.DataFrame({"timestamp": [0.0, 1.0, 2.0], "key": ["a", "b", "a"],
    ...                           "size": [10, 20, 10]}))
    >>> p.keys.tolist(), p.n_obj, p.working_set_bytes
    ([0, 1, 0], 2, 30)
    """
    if isinstance(trace, Prepared):
        return trace
    df = as_frame(trace)
    missing = [c for c in ("timestamp", "key", "size") if c not in df.columns]
    if missing:
        from perflab.errors import SchemaError

        raise SchemaError(TRACE.name, missing=missing, detail=f"the trace has {df.columns}")
    from perflab.caching.keys import dense_keys, is_dense

    key = df["key"]
    if key.null_count():
        raise ParameterError(f"the trace has {key.null_count()} requests without a key")
    if not (key.dtype.is_integer() and is_dense(key)):
        key = dense_keys(key)
    keys = key.cast(pl.Int64).to_numpy()
    size = df["size"].cast(pl.Int64)
    sizes = (size.fill_null(1) if size.null_count() else size).to_numpy()
    if sizes.size and sizes.min() < 0:
        i = int(np.argmax(sizes < 0))
        raise ParameterError(f"request {i} has a negative size ({sizes[i]}): sizes are bytes")
    times = df["timestamp"].cast(pl.Float64)
    if times.null_count():
        times = times.fill_null(strategy="forward").fill_null(0.0)
    t = times.to_numpy()
    if t.size > 1:
        back = np.flatnonzero(np.diff(t) < 0)
        if back.size:
            i = int(back[0]) + 1
            raise ParameterError(
                f"timestamps go back at request {i} ({t[i - 1]} then {t[i]}): "
                "sort the trace by timestamp (stably) before simulating it"
            )
    ttls = (
        df["ttl"].cast(pl.Float64).to_numpy() if "ttl" in df.columns else np.full(len(df), np.nan)
    )
    ttls = np.where(ttls > 0, ttls, np.nan)  # 0 and negative: no TTL (memcached's 0)
    if "op" in df.columns:
        op = df["op"].cast(pl.String).fill_null("get")
        try:
            ops_arr = op.cast(pl.Enum(list(OPS))).to_physical().cast(pl.Int8).to_numpy()
        except pl.exceptions.InvalidOperationError:
            unknown = sorted(set(op.unique().to_list()) - set(OPS))
            raise ParameterError(f"unknown operations {unknown}; a trace has {OPS}") from None
    else:
        ops_arr = np.zeros(len(df), np.int8)
    n_obj = int(keys.max()) + 1 if keys.size else 0
    working_set = int(_stack.largest_size(keys, sizes, n_obj).sum()) if keys.size else 0
    if sizes.size and sizes.max() >= 2**31:
        i = int(np.argmax(sizes >= 2**31))
        raise ParameterError(
            f"request {i} is {sizes[i]} bytes: objects of 2 GiB or more are not simulated"
        )
    if keys.size >= 2**31 - 1:
        raise ParameterError(
            f"{keys.size:,} requests: traces of 2³¹ requests or more are not simulated"
        )
    return Prepared(
        keys=np.ascontiguousarray(keys, np.int64),
        sizes=np.ascontiguousarray(sizes, np.int64),
        times=np.ascontiguousarray(t, np.float64),
        ttls=np.ascontiguousarray(ttls, np.float64),
        ops=np.ascontiguousarray(ops_arr, np.int8),
        n_obj=n_obj,
        working_set_bytes=int(working_set),
    )


def default_sizes(working_set: int, n: int = 16) -> list[int]:
    """``n`` cache sizes from 0.1 % to 100 % of ``working_set``, evenly spaced in log.

    Examples
    --------
    >>> default_sizes(10_000, n=4)
    [10, 100, 1000, 10000]
    """
    if working_set <= 0:
        return []
    lo = max(1.0, working_set / 1000)
    grid = np.geomspace(lo, working_set, n)
    return sorted({max(1, round(float(s))) for s in grid})


def _resolve_sizes(sizes: Iterable[float] | None, working_set: int) -> list[int]:
    if sizes is None:
        return default_sizes(working_set)
    out: list[int] = []
    for s in sizes:
        if isinstance(s, float) and 0 < s < 1:
            out.append(max(1, round(s * working_set)))
            continue
        if s != int(s) or s <= 0:
            raise ParameterError(
                f"cache size {s!r}: give a positive whole size, or a fraction (0 < f < 1) "
                "of the working set"
            )
        out.append(int(s))
    return sorted(set(out))


def _policy_names(policies: str | Iterable[str] | None) -> list[str]:
    if policies is None:
        return list(DEFAULT_POLICIES)
    names = [policies] if isinstance(policies, str) else list(policies)
    names = [p.lower() for p in names]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ParameterError(f"unknown policies {unknown}; perflab simulates {list(POLICIES)}")
    return list(dict.fromkeys(names))


def run_one(
    p: Prepared,
    policy: str,
    capacity: int,
    unit: Unit = "objects",
    params: Sequence[float] = (),
    fill: Fill = "miss",
) -> np.ndarray:
    """Replay ``p`` through one policy at one capacity; the kernels' counters.

    Examples
    --------
    >>> p = prepare({"timestamp": [0.0, 1, 2, 3], "key": [0, 1, 0, 2], "size": [1] * 4})
    >>> run_one(p, "lru", 2).tolist()  # requests, hits, bytes, hit bytes, evictions…
    [4, 1, 4, 1, 1, 0, 0]
    """
    by_bytes = unit == "bytes"
    if fill not in ("miss", "set"):
        raise ParameterError(f"fill must be 'miss' or 'set', not {fill!r}")
    on_miss = fill == "miss"
    if policy == "belady":
        return _belady.replay_belady(
            p.keys, p.sizes, p.times, p.ttls, p.ops, p.n_obj, capacity, by_bytes, on_miss
        )
    return _replay.replay(
        _replay.CODES[policy],
        p.keys,
        p.sizes,
        p.times,
        p.ttls,
        p.ops,
        p.n_obj,
        capacity,
        by_bytes,
        np.asarray(params, np.float64),
        on_miss,
    )


def simulate(
    trace: FrameLike | Prepared,
    policies: str | Iterable[str] | None = None,
    sizes: Iterable[float] | None = None,
    *,
    unit: Unit = "objects",
    params: Mapping[str, Sequence[float]] | None = None,
    workers: int | None = None,
    fill: Fill = "miss",
) -> pl.DataFrame:
    """Hit ratio and byte hit ratio of each policy at each cache size.

    Parameters
    ----------
    trace : frame, path or Prepared
        A :data:`~perflab.caching.schema.TRACE` (see :func:`prepare`).
    policies : str or iterable of str, optional
        Lower-case names from :data:`~perflab.caching.schema.POLICIES`; default
        :data:`DEFAULT_POLICIES`.
    sizes : iterable of numbers, optional
        Cache sizes in ``unit``; a float in (0, 1) is a fraction of the working set.
        Default: 16 sizes from 0.1 % to 100 % of the working set.
    unit : {"objects", "bytes"}
        Whether a size counts entries or bytes.
    params : mapping, optional
        Policy name → its parameters (CLOCK: counter bits; S3-FIFO: small ratio, ghost
        ratio, move threshold; the Redis policies: samples, seed, log factor, decay
        minutes). See :mod:`perflab.caching._basic` and :mod:`perflab.caching._advanced`.
    workers : int, optional
        Threads replaying at once (default: the machine's cores).
    fill : {"miss", "set"}
        What puts an object in the cache: ``"miss"`` — a get that misses (a
        read-through cache; libCacheSim's assumption, and the only choice for a trace of
        gets alone); ``"set"`` — only a set (cache-aside: the application reads the
        origin and sets the value, as perflab's :class:`~perflab.caching.Cache`,
        memcached and Redis clients do; use it for their recordings, see
        :func:`perflab.caching.read.fill_of`).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.caching.schema.SIMULATION`, one row per (policy, size), sorted.
        An empty trace gives an empty frame.

    Raises
    ------
    ParameterError
        A size of zero or less, an unknown policy or unit, or a bad trace
        (see :func:`prepare`).

    Examples
    --------
    >>> trace = {"timestamp": [0.0, 1, 2, 3, 4, 5], "key": [1, 2, 1, 3, 1, 2],
    ...          "size": [1] * 6}
    >>> out = simulate(trace, ["lru", "belady"], [2])
    >>> out.select("policy", "size", "requests", "hits").rows()
    [('belady', 2, 6, 3), ('lru', 2, 6, 2)]
    """
    if unit not in ("objects", "bytes"):
        raise ParameterError(f"unit must be 'objects' or 'bytes', not {unit!r}")
    names = _policy_names(policies)
    p = prepare(trace)
    if p.requests == 0:
        return SIMULATION.empty()
    caps = _resolve_sizes(sizes, p.working_set(unit))
    params = params or {}
    jobs = [(name, cap) for name in names for cap in caps]
    if not jobs:  # no size to simulate (a working set of zero bytes)
        return SIMULATION.empty()
    # long runs first, so the pool is not left waiting on one at the end
    jobs.sort(key=lambda j: j[0] in ("belady", "wtinylfu", "arc", "lfu"), reverse=True)

    def work(job: tuple[str, int]) -> dict[str, object]:
        name, cap = job
        c = run_one(p, name, cap, unit, params.get(name, ()), fill)
        return {"policy": name, "size": cap, **dict(zip(_replay.COUNTERS, c.tolist(), strict=True))}

    n_workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if n_workers == 1:
        rows = [work(j) for j in jobs]
    else:
        with ThreadPoolExecutor(n_workers) as pool:
            rows = list(pool.map(work, jobs))
    return _frame(rows, unit)


def _frame(rows: list[dict[str, object]], unit: Unit) -> pl.DataFrame:
    df = pl.DataFrame(rows)
    req = pl.col("requests")
    df = df.with_columns(
        pl.lit(unit).alias("unit"),
        pl.when(req > 0).then(pl.col("hits") / req).alias("hit_ratio"),
        pl.when(pl.col("requested_bytes") > 0)
        .then(pl.col("hit_bytes") / pl.col("requested_bytes"))
        .alias("byte_hit_ratio"),
    ).with_columns((1 - pl.col("hit_ratio")).alias("miss_ratio"))
    return df.select(SIMULATION.names).cast(pl.Schema(SIMULATION.dtypes())).sort("policy", "size")


def ttl_effect(
    trace: FrameLike | Prepared,
    policy: str = "lru",
    sizes: Iterable[float] | None = None,
    *,
    unit: Unit = "objects",
    fill: Fill = "miss",
) -> pl.DataFrame:
    """The same trace simulated with its TTLs and without: what expiry costs.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.caching.schema.SIMULATION` rows of ``policy``, twice, with
        ``variant`` ``"with TTLs"`` / ``"without TTLs"``; at each size the gap in
        ``hit_ratio`` is the hits lost to expiry, which no amount of memory buys back.
        Empty when the trace has no TTL.

    Examples
    --------
    >>> t = {"timestamp": [0.0, 5, 20], "key": [1, 1, 1], "size": [1] * 3,
    ...      "ttl": [10.0, 10.0, 10.0]}
    >>> ttl_effect(t, sizes=[4]).select("variant", "hits").rows()
    [('with TTLs', 1), ('without TTLs', 2)]
    """
    p = prepare(trace)
    if not np.isfinite(p.ttls).any():
        return SIMULATION.empty().with_columns(pl.lit(None, dtype=pl.String).alias("variant"))
    forever = Prepared(
        keys=p.keys,
        sizes=p.sizes,
        times=p.times,
        ttls=np.full(p.requests, np.nan),
        ops=p.ops,
        n_obj=p.n_obj,
        working_set_bytes=p.working_set_bytes,
    )
    return pl.concat(
        [
            simulate(q, [policy], sizes, unit=unit, fill=fill).with_columns(
                pl.lit(name).alias("variant")
            )
            for q, name in ((p, "with TTLs"), (forever, "without TTLs"))
        ]
    )

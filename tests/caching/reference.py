"""Plain-Python references the simulator is checked against.

``replay_reference``  FIFO and LRU with byte capacity, TTLs and operations, written
                      the obvious way (an OrderedDict), with the replay loop's meaning
                      (perflab.caching._replay's docstring)
``libcachesim_hit_ratio``
                      the same trace through libCacheSim (GPL: a test dependency only),
                      via an oracleGeneral file
``zipf``              a seeded Zipf trace as a TRACE frame
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import polars as pl

from perflab.caching.synth import zipf_trace

__all__ = ["libcachesim_hit_ratio", "replay_reference", "write_oracle", "zipf"]


def zipf(
    n: int, m: int, alpha: float = 1.0, seed: int = 1, mean_size: int | None = None
) -> pl.DataFrame:
    """A seeded Zipf trace (see perflab.caching.synth.zipf_trace)."""
    return zipf_trace(n, m, alpha, seed=seed, mean_size=mean_size)


def replay_reference(
    rows: list[tuple[float, int, int, float | None, str]],
    policy: str,
    capacity: int,
    by_bytes: bool,
) -> dict[str, int]:
    """FIFO/LRU replay of (timestamp, key, size, ttl, op) rows; the counters by name."""
    cache: OrderedDict[int, tuple[int, float]] = OrderedDict()  # key -> (weight, expires)
    used = 0
    c = dict.fromkeys(
        (
            "requests",
            "hits",
            "requested_bytes",
            "hit_bytes",
            "evictions",
            "expirations",
            "too_large",
        ),
        0,
    )
    for t, k, size, ttl, op in rows:
        w = size if by_bytes else 1
        expires = t + ttl if ttl is not None and ttl > 0 else math.inf
        if k in cache and cache[k][1] <= t:
            used -= cache.pop(k)[0]
            if op == "get":
                c["expirations"] += 1
        if op == "delete":
            if k in cache:
                used -= cache.pop(k)[0]
            continue
        if op == "get":
            c["requests"] += 1
            c["requested_bytes"] += size
            if k in cache:
                c["hits"] += 1
                c["hit_bytes"] += size
                if policy == "lru":
                    cache.move_to_end(k)
                continue
        elif k in cache:
            if cache[k][0] == w:
                if policy == "lru":
                    cache.move_to_end(k)
                cache[k] = (w, expires)
                continue
            used -= cache.pop(k)[0]
        if w > capacity:
            if op == "get":
                c["too_large"] += 1
            continue
        while used + w > capacity:
            _, (vw, _) = cache.popitem(last=False)
            used -= vw
            c["evictions"] += 1
        cache[k] = (w, expires)
        used += w
    return c


def write_oracle(trace: pl.DataFrame, path: Path) -> Path:
    """The trace as libCacheSim's oracleGeneral (24-byte records), ids shifted by one."""
    rec = np.zeros(
        trace.height, dtype=np.dtype([("t", "<u4"), ("id", "<u8"), ("sz", "<u4"), ("nx", "<i8")])
    )
    rec["t"] = trace["timestamp"].to_numpy().astype(np.uint32)
    rec["id"] = trace["key"].to_numpy() + 1
    rec["sz"] = trace["size"].to_numpy()
    rec["nx"] = -1
    rec.tofile(path)
    return path


def libcachesim_hit_ratio(path: Path, policy: str, capacity: int) -> tuple[float, float]:
    """(hit ratio, byte hit ratio) of libCacheSim's ``policy`` on an oracleGeneral file."""
    import libcachesim as lcs

    cls = {
        "fifo": lcs.FIFO,
        "lru": lcs.LRU,
        "lfu": lcs.LFU,
        "clock": lcs.Clock,
        "sieve": lcs.Sieve,
        "s3fifo": lcs.S3FIFO,
        "arc": lcs.ARC,
        "2q": lcs.TwoQ,
        "wtinylfu": lcs.WTinyLFU,
    }[policy]
    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    miss, byte_miss = cls(capacity).process_trace(reader)
    return 1 - miss, 1 - byte_miss

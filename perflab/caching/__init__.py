"""Caching: a multi-level runtime cache, and the lab that sizes it from real traffic.

The runtime cache (:class:`Cache`, with an optional Redis second level
:class:`RedisLevel`) keeps statistics per strategy and level and can record its
traffic as a trace. Traces — the recorder's, CSV/Parquet, Twitter's cache traces,
libCacheSim's oracleGeneral — are read by :func:`read_trace` into the
:data:`TRACE` frame; :func:`simulate` replays them through twelve policies (Belady's
optimum among them) at many sizes; :func:`miss_ratio_curve` gives LRU's exact curve in
one pass, or a sampled one for any policy; :func:`recommend_size` and
:func:`top_recommendations` turn curves into advice. Every frame's columns are in
:mod:`perflab.caching.schema`; the notebook's charts in :mod:`perflab.caching.charts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.caching.schema import ACCESSES, CURVE, POLICIES, SIMULATION, STATS, TRACE
from perflab.lazy import exports

if TYPE_CHECKING:
    from perflab.caching.cache import Cache, default_cache
    from perflab.caching.curve import find_knee, miss_ratio_curve, recommend_size
    from perflab.caching.keys import dense_keys
    from perflab.caching.profile import describe_trace, level_split, popularity
    from perflab.caching.read import (
        fill_of,
        read_accesses,
        read_oracle_general,
        read_trace,
        sniff_format,
        write_oracle_general,
    )
    from perflab.caching.record import Recorder
    from perflab.caching.redis_level import RedisLevel
    from perflab.caching.rules import top_recommendations
    from perflab.caching.simulation import prepare, simulate, ttl_effect
    from perflab.caching.synth import zipf_trace

# name → the module that defines it, imported on first use (numba kernels and redis
# are not paid for by a script that only reads a trace). The simulator's module is
# ``simulation``, not ``simulate``: a submodule named like the function would shadow it
# once imported.
_HOME = {
    "Cache": "cache",
    "RedisLevel": "redis_level",
    "Recorder": "record",
    "default_cache": "cache",
    "dense_keys": "keys",
    "describe_trace": "profile",
    "fill_of": "read",
    "find_knee": "curve",
    "level_split": "profile",
    "miss_ratio_curve": "curve",
    "popularity": "profile",
    "prepare": "simulation",
    "read_accesses": "read",
    "read_oracle_general": "read",
    "read_trace": "read",
    "recommend_size": "curve",
    "simulate": "simulation",
    "sniff_format": "read",
    "top_recommendations": "rules",
    "ttl_effect": "simulation",
    "write_oracle_general": "read",
    "zipf_trace": "synth",
}


__all__ = [
    "ACCESSES",
    "CURVE",
    "POLICIES",
    "SIMULATION",
    "STATS",
    "TRACE",
    "Cache",
    "Recorder",
    "RedisLevel",
    "default_cache",
    "dense_keys",
    "describe_trace",
    "fill_of",
    "find_knee",
    "level_split",
    "miss_ratio_curve",
    "popularity",
    "prepare",
    "read_accesses",
    "read_oracle_general",
    "read_trace",
    "recommend_size",
    "simulate",
    "sniff_format",
    "top_recommendations",
    "ttl_effect",
    "write_oracle_general",
    "zipf_trace",
]

__getattr__, __dir__ = exports(__name__, _HOME, __all__)

"""Canonical frames of the memory domain, each declared once as a ``Schema``.

``SAMPLES`` — memory samples in long form, one row per measurement: what
:class:`~perflab.memory.MemorySampler`, :func:`~perflab.memory.read_memory_usage` and
:func:`~perflab.memory.read_samples` return and :func:`~perflab.memory.leak_check` takes.

=========  =====================  ===================================================
column     dtype                  meaning
=========  =====================  ===================================================
timestamp  datetime[μs, UTC]      when the sample was taken
series     str                    what was measured: ``rss``, ``vms``, ``uss``,
                                  ``pss``, ``swap``, ``heap_used``, ``heap_total``,
                                  ``external``, ``array_buffers``, ``open_files``,
                                  ``threads``, ``system_available``, ``system_used``…
value      f64                    the measurement: bytes for sizes, a count for
                                  ``open_files`` and ``threads``
=========  =====================  ===================================================

Optional: ``pid`` (i64, the process sampled) and ``source`` (str, the file or
process name), so samples of several processes can share one frame.

``GC_EVENTS`` — one row per garbage collection, from Node.js ``--trace-gc`` /
``--trace-gc-nvp`` logs and :class:`~perflab.memory.GCTracker`:

===============  =====================  ===============================================
column           dtype                  meaning
===============  =====================  ===============================================
elapsed_s        f64                    seconds since the process (V8 isolate, or the
                                        tracker) started
timestamp        datetime[μs, UTC]      wall time; null when the log has none
kind             str                    ``scavenge``, ``minor-ms``, ``mark-compact``,
                                        ``mark-compact (reduce)`` (V8); ``gen0``,
                                        ``gen1``, ``gen2`` (CPython)
pause_ms         f64                    the stop-the-world pause, ms
before_bytes     f64                    heap in use before the collection (V8: the
                                        objects' size); null when unknown
after_bytes      f64                    heap in use after it; null when unknown
committed_bytes  f64                    heap committed after it (V8's number in
                                        brackets); null when unknown
reason           str                    why it ran (``allocation failure``, ``task``,
                                        ``finalize incremental marking``…); null if none
mutator_util     f64                    V8's current mutator utilisation (0–1); null
collected        i64                    objects freed (CPython); null for V8
uncollectable    i64                    objects found uncollectable (CPython); null
===============  =====================  ===============================================

Optional: ``pid`` (i64) and ``source`` (str).
"""

from __future__ import annotations

import polars as pl

from perflab.frames import UTC_DATETIME, Schema

__all__ = ["GC_EVENTS", "SAMPLES", "SIZE_SERIES"]

SAMPLES = Schema(
    "memory samples",
    {"timestamp": UTC_DATETIME, "series": pl.String, "value": pl.Float64},
    optional={"pid": pl.Int64, "source": pl.String},
    finite=("value",),
)

GC_EVENTS = Schema(
    "gc events",
    {
        "elapsed_s": pl.Float64,
        "timestamp": UTC_DATETIME,
        "kind": pl.String,
        "pause_ms": pl.Float64,
        "before_bytes": pl.Float64,
        "after_bytes": pl.Float64,
        "committed_bytes": pl.Float64,
        "reason": pl.String,
        "mutator_util": pl.Float64,
        "collected": pl.Int64,
        "uncollectable": pl.Int64,
    },
    optional={"pid": pl.Int64, "source": pl.String},
)

SIZE_SERIES: frozenset[str] = frozenset(
    {
        "rss",
        "vms",
        "uss",
        "pss",
        "swap",
        "heap_used",
        "heap_total",
        "external",
        "array_buffers",
        "system_available",
        "system_used",
    }
)
"""The series whose values are bytes (the rest are counts)."""

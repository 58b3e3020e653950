"""Memory: process sampling, GC tracking, heap snapshots and leak verdicts.

Live: :class:`MemorySampler` samples a process's memory (psutil) in the background,
:class:`GCTracker` records CPython's collections, :func:`snapshot`, :func:`diff` and
:func:`track` compare tracemalloc snapshots by allocation site. Readers: Node.js
``--trace-gc`` and ``--trace-gc-nvp`` logs (:func:`read_trace_gc`),
``process.memoryUsage()`` samples as JSON lines (:func:`read_memory_usage`), generic
CSV/Parquet samples (:func:`read_samples`). Analyses: :func:`gc_pauses` (pause
statistics by kind), :func:`leak_check` (a verdict per series from the trend of the
post-GC troughs), :func:`heap_trend` (where that trend turns) and :func:`findings`.
Frames are declared in :mod:`perflab.memory.schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.lazy import exports as _exports
from perflab.memory.schema import GC_EVENTS, SAMPLES

if TYPE_CHECKING:
    from perflab.memory.allocations import diff, snapshot, track
    from perflab.memory.leaks import LEAKS, heap_trend, leak_check, mann_kendall, troughs
    from perflab.memory.live import GCTracker, MemorySampler
    from perflab.memory.pauses import PAUSES, gc_pauses
    from perflab.memory.read import read_memory_usage, read_node, read_samples, read_trace_gc
    from perflab.memory.rules import findings

# name → the module that defines it, imported on first use.
_HOME = {
    "GCTracker": "live",
    "LEAKS": "leaks",
    "MemorySampler": "live",
    "PAUSES": "pauses",
    "diff": "allocations",
    "findings": "rules",
    "gc_pauses": "pauses",
    "heap_trend": "leaks",
    "leak_check": "leaks",
    "mann_kendall": "leaks",
    "read_memory_usage": "read",
    "read_node": "read",
    "read_samples": "read",
    "read_trace_gc": "read",
    "snapshot": "allocations",
    "track": "allocations",
    "troughs": "leaks",
}

__all__ = [
    "GC_EVENTS",
    "LEAKS",
    "PAUSES",
    "SAMPLES",
    "GCTracker",
    "MemorySampler",
    "diff",
    "findings",
    "gc_pauses",
    "heap_trend",
    "leak_check",
    "mann_kendall",
    "read_memory_usage",
    "read_node",
    "read_samples",
    "read_trace_gc",
    "snapshot",
    "track",
    "troughs",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

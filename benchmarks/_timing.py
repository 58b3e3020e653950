"""Timing shared by the benchmark scripts: medians of rounds, peers taking turns.

Each script runs from this folder (``python benchmarks/bench_x.py``), so it imports
this module as ``from _timing import timings, interleaved``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timing:
    """Wall and CPU seconds of each round of one function, and its last result."""

    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def median(self) -> float:
        """Median wall seconds."""
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        """Median CPU seconds of this process (threads included)."""
        return statistics.median(self.cpu_times)


def interleaved(fns: Sequence[Callable[[], Any]], rounds: int) -> list[Timing]:
    """Time each function ``rounds`` times, the functions taking turns in each round.

    Taking turns spreads the load of other processes over all of them alike, so the
    ratio of two medians is fairer than timing one function's rounds, then the other's.
    """
    out = [Timing() for _ in fns]
    for _ in range(rounds):
        for fn, timing in zip(fns, out, strict=True):
            c0, t0 = time.process_time(), time.perf_counter()
            timing.result = fn()
            timing.times.append(time.perf_counter() - t0)
            timing.cpu_times.append(time.process_time() - c0)
    return out


def timings(fn: Callable[[], Any], rounds: int) -> Timing:
    """Time ``fn`` ``rounds`` times (see :func:`interleaved`)."""
    return interleaved([fn], rounds)[0]


def median_and_result(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    """Median wall seconds of ``rounds`` calls of ``fn``, and its last result."""
    timing = timings(fn, rounds)
    return timing.median, timing.result

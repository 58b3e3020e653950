"""Memory events for the shared timeline: where a heap trend turns.

:func:`events` turns the segments of :func:`perflab.memory.heap_trend` into
:data:`perflab.events.EVENTS` rows (kind ``trend-turn``) at the start of every
segment after the first, so a leak that starts mid-run sits on the same time axis as
the deploy before it. It reads no file. Import it from this module: exported from
the package, the name would be shadowed by this module's.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.memory.leaks import HEAP_TREND

__all__ = ["events"]


def events(segments: FrameLike, *, min_change_mb_per_hour: float = 0.0) -> pl.DataFrame:
    """Each turn of a heap trend as a ``trend-turn`` event.

    Parameters
    ----------
    segments : frame-like
        The :data:`~perflab.memory.leaks.HEAP_TREND` frame of
        :func:`~perflab.memory.heap_trend` (``pid``/``source`` first when present).
    min_change_mb_per_hour : float
        Smallest change of slope (MB/h, either way) reported.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"memory"``, one row per segment
        after the first of each series, at its ``start``: ``subject`` the series
        (``"rss pid=41"`` when a pid is known), ``size`` the change of slope in MB/h
        (``unit`` ``"MB/h"``), ``direction`` ``"worse"`` when the heap now grows
        faster, ``"better"`` when slower. A segment without a wall-clock start (a GC
        log without timestamps) gives no event.

    Raises
    ------
    SchemaError
        ``segments`` lacks a HEAP_TREND column.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> seg = pl.DataFrame({"series": "rss", "segment": [0, 1],
    ...     "start": [datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC)],
    ...     "start_s": [0.0, 25200.0], "end_s": [25100.0, 36000.0], "points": [30, 30],
    ...     "slope_mb_per_hour": [0.0, 120.0], "ci_low": [-1.0, 110.0], "ci_high": [1.0, 130.0]})
    >>> events(seg).select("subject", "kind", "size", "direction").row(0)
    ('rss', 'trend-turn', 120.0, 'worse')
    """
    frame = HEAP_TREND.validate(as_frame(segments))
    keys = [k for k in ("pid", "source") if k in frame.columns]
    rows: list[dict[str, Any]] = []
    for _, part in frame.group_by([*keys, "series"], maintain_order=True):
        prev: dict[str, Any] | None = None
        for r in part.sort("segment").iter_rows(named=True):
            if prev is not None and r["start"] is not None:
                a, b = prev["slope_mb_per_hour"], r["slope_mb_per_hour"]
                change = None if a is None or b is None else b - a
                if change is not None and abs(change) >= min_change_mb_per_hour and change:
                    who = " ".join(f"{k}={r[k]}" for k in keys if r[k] is not None)
                    rows.append(
                        {
                            "time": r["start"],
                            "domain": "memory",
                            "subject": f"{r['series']} {who}".strip(),
                            "kind": "trend-turn",
                            "size": change,
                            "unit": "MB/h",
                            "direction": "worse" if change > 0 else "better",
                            "evidence": f"{r['series']} trough slope {a:+.3g} → {b:+.3g} MB/h"
                            f"{_interval(r)} over {r['points']} troughs",
                            "terms": [r["series"], *(str(r[k]) for k in keys if r[k] is not None)],
                        }
                    )
            prev = r
    return events_frame(rows).sort("time", maintain_order=True)


def _interval(r: dict[str, Any]) -> str:
    if r["ci_low"] is None or r["ci_high"] is None:
        return ""
    return f" (95 % interval {r['ci_low']:+.3g} … {r['ci_high']:+.3g})"

"""Monitoring's events for the shared timeline: each change point of a trend is a step.

:func:`events` turns the change points of :func:`perflab.monitoring.trend` into
:data:`perflab.events.EVENTS` rows (kind ``step``), so :mod:`perflab.timeline` can put
them beside the other domains' events. It reads no file: give it the ``Trend`` (or its
``change_points`` frame) you already have. Import it from this module
(``from perflab.monitoring.events import events``): exported from the package, the
name would be shadowed by this module of the same name.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from perflab.errors import ParameterError
from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.monitoring.schema import TREND_CHANGES
from perflab.monitoring.trend import Trend

__all__ = ["events"]


def events(
    changes: Trend | FrameLike,
    *,
    worse: Literal["up", "down"] = "up",
    stat: str | None = None,
) -> pl.DataFrame:
    """The change points of a trend as ``step`` events.

    Parameters
    ----------
    changes : Trend or frame-like
        The result of :func:`~perflab.monitoring.trend`, or its ``change_points``
        frame (``by…`` columns, then
        :data:`~perflab.monitoring.schema.TREND_CHANGES`).
    worse : {"up", "down"}
        Which way is worse for these series: ``"up"`` for latencies and error counts,
        ``"down"`` for throughput or a hit ratio.
    stat : str, optional
        The statistic the trend followed, for the evidence line (taken from the
        ``Trend`` when one is given).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`: ``time`` the first window of the new level,
        ``domain`` ``"monitoring"``, ``subject`` the series (the ``by`` values, the
        first bare and the others as ``key=value``), ``kind`` ``"step"``, ``size``
        the relative shift (``shift_pct / 100``), ``direction`` by ``worse``,
        ``terms`` the ``by`` values (a route, a service …).

    Raises
    ------
    SchemaError
        ``changes`` lacks a TREND_CHANGES column.

    Examples
    --------
    >>> from datetime import datetime
    >>> cp = pl.DataFrame({"name": ["latency"], "route": ["/checkout"], "unit": ["ms"],
    ...     "window_start": [datetime(2026, 3, 2, 16)], "before": [200.0],
    ...     "after": [270.0], "shift_pct": [35.0]})
    >>> events(cp, stat="p95").select("subject", "kind", "size", "direction").row(0)
    ('latency route=/checkout', 'step', 0.35, 'worse')
    """
    if worse not in ("up", "down"):
        raise ParameterError(f"worse must be 'up' or 'down', not {worse!r}")
    if isinstance(changes, Trend):
        if stat is None and changes.slopes.height and "stat" in changes.slopes.columns:
            stat = str(changes.slopes.get_column("stat")[0])
        changes = changes.change_points
    frame = TREND_CHANGES.validate(as_frame(changes))
    keys = [c for c in frame.columns if c not in TREND_CHANGES.columns]
    what = stat or "statistic"
    rows = []
    for r in frame.iter_rows(named=True):
        shown = [f"{r[k]}" if i == 0 else f"{k}={r[k]}" for i, k in enumerate(keys)]
        size = None if r["shift_pct"] is None else r["shift_pct"] / 100.0
        up = size is not None and size > 0
        rows.append(
            {
                "time": r["window_start"],
                "domain": "monitoring",
                "subject": " ".join(shown) or "series",
                "kind": "step",
                "size": size,
                "unit": "ratio",
                "direction": (
                    None if not size else ("worse" if up == (worse == "up") else "better")
                ),
                "evidence": (
                    f"{what} {r['before']:.4g} → {r['after']:.4g} {r['unit'] or ''}".rstrip()
                    + (f" ({r['shift_pct']:+.0f} %)" if r["shift_pct"] is not None else "")
                    + " from this window on"
                ),
                "terms": [str(r[k]) for k in keys if r[k] is not None] or None,
            }
        )
    return events_frame(rows).sort("time", maintain_order=True)

"""Load-test events for the shared timeline: a comparison's ``slower`` rows are regressions.

:func:`events` turns the verdicts of :func:`perflab.loadtest.compare` into
:data:`perflab.events.EVENTS` rows (kind ``regression``) stamped at the candidate
run's time, so :func:`perflab.timeline.likely_causes` can look for what came before
them. It reads no file. Import it from this module: exported from the package, the
name would be shadowed by this module's.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.loadtest.schema import COMPARISON
from perflab.times import At, instant

__all__ = ["events"]


def events(
    comparison: FrameLike,
    *,
    at: At,
    subject: str = "load test",
    terms: tuple[str, ...] = (),
) -> pl.DataFrame:
    """The ``slower`` verdicts of a load-test comparison as ``regression`` events.

    Parameters
    ----------
    comparison : frame-like
        The :data:`~perflab.loadtest.schema.COMPARISON` frame of
        :func:`~perflab.loadtest.compare` (``name`` first with ``by="name"``).
    at : time
        When the candidate run ran (a comparison frame holds no time).
    subject : str
        What was tested (the scenario or service); with ``by="name"`` the request
        name is added: ``"load test GET /checkout"``.
    terms : tuple of str
        Linking words (the routes or service the test drives); the request name is
        added with ``by="name"``.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"loadtest"``, kind ``"regression"``,
        one row per ``slower`` metric: ``size`` the relative change (0.2 = +20 %;
        for throughput the drop, as a negative change), ``direction`` ``"worse"``,
        ``evidence`` the values, interval and adjusted p-value. Other verdicts give
        no event.

    Raises
    ------
    SchemaError
        ``comparison`` lacks a COMPARISON column.

    Examples
    --------
    >>> from datetime import datetime
    >>> c = pl.DataFrame({"metric": ["p95"], "unit": ["ms"], "baseline": [100.0],
    ...     "candidate": [125.0], "change": [0.25], "ci_low": [0.18], "ci_high": [0.31],
    ...     "p_value": [1e-6], "p_adjusted": [1e-5], "margin": [0.05], "verdict": ["slower"]})
    >>> events(c, at=datetime(2026, 3, 2, 17)).select("kind", "size", "direction").row(0)
    ('regression', 0.25, 'worse')
    """
    frame = COMPARISON.validate(as_frame(comparison))
    stamp = instant(at, what="at")
    rows: list[dict[str, Any]] = []
    for r in frame.filter(pl.col("verdict") == "slower").iter_rows(named=True):
        name = r.get("name")
        words = [*terms, *([str(name)] if name is not None else [])]
        ci = (
            f", interval {r['ci_low']:+.0%} … {r['ci_high']:+.0%}"
            if r["ci_low"] is not None and r["ci_high"] is not None
            else ""
        )
        p = f", p_adj {r['p_adjusted']:.2g}" if r["p_adjusted"] is not None else ""
        rows.append(
            {
                "time": stamp,
                "domain": "loadtest",
                "subject": f"{subject} {name}" if name is not None else subject,
                "kind": "regression",
                "size": r["change"],
                "unit": "ratio",
                "direction": "worse",
                "evidence": f"{r['metric']} {r['baseline']:.4g} → {r['candidate']:.4g} "
                f"{r['unit'] or ''} ({r['change']:+.0%}{ci}{p}) candidate vs baseline",
                "terms": words or None,
            }
        )
    return events_frame(rows)

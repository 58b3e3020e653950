"""The one shape every domain gives its events in, for one timeline across domains.

Each domain sees one slice of the platform: a latency step (monitoring), a new or
slower query pattern (queries), a heap trend turning (memory), a load-test regression
(loadtest). Each says so in the same few columns — :data:`EVENTS` — through a small
adapter ``perflab.<domain>.events.events(...)`` that takes that domain's analysis
output (never a file). :mod:`perflab.timeline` lines them up and ranks the likely
causes of each regression; it reads no domain's internals, only this shape.

==========  ==============  =============================================================
column      dtype           meaning
==========  ==============  =============================================================
time        datetime[μs,    when it happened (the first window of a new level, the first
            UTC]            time a pattern was seen, the deploy's time …)
domain      str             who reports it: ``monitoring``, ``queries``, ``deploy`` …
subject     str             what it is about: a series/route, a query pattern, a table,
                            a cache, a backend, a package, a deploy's label
kind        str             what happened (:data:`KINDS` lists the usual ones)
size        f64             how much: a relative change (0.35 = +35 %) unless ``unit``
                            says otherwise; null when there is no size (a deploy)
evidence    str             one line a person can check: the figures behind the event
==========  ==============  =============================================================

Optional columns (added as null by :func:`as_events` when absent):

==========  ==============  =============================================================
unit        str             the unit of ``size`` when it is not ``"ratio"`` (relative
                            change): ``"share"`` (fraction of a total), ``"MB/h"`` …
direction   str             ``"worse"``, ``"better"`` or null (neither / unknown)
terms       list[str]       words that link the event to others: the route, the tables
                            a query reads, the application that ran it, the service
==========  ==============  =============================================================

Naive datetimes are read as UTC (the perflab rule, :mod:`perflab.times`); zoned ones
are converted; a null ``time``, ``domain`` or ``kind`` is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from perflab.errors import SchemaError
from perflab.frames import UTC_DATETIME, FrameLike, Schema, as_frame
from perflab.times import At, instant

__all__ = [
    "DIRECTIONS",
    "EVENTS",
    "KINDS",
    "as_events",
    "deploys",
    "empty",
    "events_frame",
    "group_close",
]

EVENTS = Schema(
    "events",
    {
        "time": UTC_DATETIME,
        "domain": pl.String,
        "subject": pl.String,
        "kind": pl.String,
        "size": pl.Float64,
        "evidence": pl.String,
    },
    optional={"unit": pl.String, "direction": pl.String, "terms": pl.List(pl.String)},
)
"""The shared event frame (see the module docstring)."""

KINDS: tuple[str, ...] = (
    "step",
    "new-pattern",
    "slower-pattern",
    "hit-ratio-drop",
    "error-burst",
    "saturation",
    "trend-turn",
    "grew",
    "regression",
    "deploy",
    "run",
)
"""The usual kinds; others are allowed (a domain names what it saw)."""

DIRECTIONS: tuple[str, ...] = ("worse", "better")
"""The values of ``direction`` besides null."""

_OPTIONAL = dict(EVENTS.optional)
_ALL = {**EVENTS.columns, **_OPTIONAL}


def as_events(frame: FrameLike) -> pl.DataFrame:
    """``frame`` as a validated :data:`EVENTS` frame with every optional column.

    Parameters
    ----------
    frame : frame-like
        The six required columns (``time, domain, subject, kind, size, evidence``);
        ``unit``, ``direction`` and ``terms`` are optional, other columns are kept.

    Returns
    -------
    polars.DataFrame
        ``time, domain, subject, kind, size, evidence, unit, direction, terms`` then
        any extra columns; ``time`` as datetime[μs, UTC] (naive values read as UTC).

    Raises
    ------
    SchemaError
        A required column is missing or cannot be cast; ``time``, ``domain`` or
        ``kind`` holds a null; ``direction`` holds something other than
        ``"worse"``, ``"better"`` or null.

    Examples
    --------
    >>> from datetime import datetime
    >>> ev = as_events([{"time": datetime(2026, 3, 2, 16), "domain": "monitoring",
    ...     "subject": "/checkout", "kind": "step", "size": 0.35, "evidence": "p95 +35 %"}])
    >>> ev.schema["time"], ev.columns[6:]
    (Datetime(time_unit='us', time_zone='UTC'), ['unit', 'direction', 'terms'])
    """
    df = as_frame(frame)
    if df.width == 0 and df.height == 0:
        return empty()
    if "terms" in df.columns and df.schema["terms"] == pl.String:
        df = df.with_columns(pl.col("terms").str.split(","))
    df = EVENTS.validate(df)
    absent = [c for c in _OPTIONAL if c not in df.columns]
    if absent:
        df = df.with_columns(pl.lit(None, _OPTIONAL[c]).alias(c) for c in absent)
    for col in ("time", "domain", "kind"):
        nulls = df.get_column(col).null_count()
        if nulls:
            raise SchemaError(EVENTS.name, detail=f"column {col!r} holds {nulls} null(s)")
    bad = df.filter(pl.col("direction").is_not_null() & ~pl.col("direction").is_in(DIRECTIONS))
    if bad.height:
        raise SchemaError(
            EVENTS.name,
            detail=f"direction must be 'worse', 'better' or null, not {bad['direction'][0]!r}",
        )
    rest = [c for c in df.columns if c not in _ALL]
    return df.select(*_ALL, *rest)


def empty() -> pl.DataFrame:
    """An empty :data:`EVENTS` frame with the optional columns too.

    Examples
    --------
    >>> empty().columns
    ['time', 'domain', 'subject', 'kind', 'size', 'evidence', 'unit', 'direction', 'terms']
    """
    return pl.DataFrame(schema=_ALL)


def events_frame(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """An :data:`EVENTS` frame from row dicts (absent keys are null): for adapters.

    Examples
    --------
    >>> events_frame([{"time": "2026-03-02T16:00:00", "domain": "x", "kind": "run",
    ...                "subject": "nightly"}]).row(0)[:4]  # doctest: +ELLIPSIS
    (datetime.datetime(2026, 3, 2, 16, 0, tzinfo=...), 'x', 'nightly', 'run')
    """
    data = [
        {
            **{c: r.get(c) for c in _ALL},
            "time": None if r.get("time") is None else instant(r["time"]),
        }
        for r in rows
    ]
    if not data:
        return empty()
    return as_events(pl.DataFrame(data, schema=_ALL, orient="row"))


def deploys(
    marks: Sequence[tuple[At, str]] | Iterable[tuple[At, str]],
    *,
    kind: str = "deploy",
    domain: str = "deploy",
    terms: Sequence[str] = (),
) -> pl.DataFrame:
    """Deploy (or run) markers as :data:`EVENTS`, from ``(time, label)`` pairs.

    Parameters
    ----------
    marks : iterable of (time, str)
        When and what: ``(datetime(2026, 3, 2, 15, 58), "checkout v2.14")``. A time
        is anything :func:`perflab.times.instant` reads (naive is UTC).
    kind : str
        ``"deploy"`` or ``"run"`` (a load-test or batch run bracketing the others).
    domain : str
        The ``domain`` column.
    terms : sequence of str
        Linking words shared by every marker (the service deployed …).

    Returns
    -------
    polars.DataFrame
        :data:`EVENTS`, one row per mark in time order; ``size`` is null, ``subject``
        and ``evidence`` the label.

    Examples
    --------
    >>> from datetime import datetime
    >>> deploys([(datetime(2026, 3, 2, 15, 58), "checkout v2.14")]).select(
    ...     "time", "kind", "subject").rows()  # doctest: +ELLIPSIS
    [(datetime.datetime(2026, 3, 2, 15, 58, tzinfo=...), 'deploy', 'checkout v2.14')]
    """
    rows = [
        {
            "time": instant(at, what=f"{kind} time"),
            "domain": domain,
            "subject": str(label),
            "kind": kind,
            "evidence": f"{kind} {label}",
            "terms": list(terms) or None,
        }
        for at, label in marks
    ]
    return events_frame(rows).sort("time", maintain_order=True)


def group_close(
    starts: Sequence[Any], gap: Any, ends: Sequence[Any] | None = None
) -> list[list[int]]:
    """Indices of moments (or spans) grouped into bursts: a new burst after a quiet ``gap``.

    Adapters use it to make one event of errors or saturation periods close together.

    Parameters
    ----------
    starts : sequence
        Times (datetimes, or numbers of seconds), in any order.
    gap : timedelta or float
        A moment that starts at least this long after the latest end of the burst so
        far starts a new burst; same kind as the differences of ``starts``.
    ends : sequence, optional
        The end of each span (None: moments, each ending where it starts).

    Returns
    -------
    list of list of int
        Indices into ``starts``, in time order, one list a burst.

    Examples
    --------
    >>> group_close([0.0, 0.5, 3.0, 0.2], 1.0)
    [[0, 3, 1], [2]]
    >>> group_close([0, 5], 1, ends=[6, 8])
    [[0, 1]]
    """
    stops = starts if ends is None else ends
    out: list[list[int]] = []
    last_end: Any = None
    for i in sorted(range(len(starts)), key=lambda i: starts[i]):
        if last_end is None or starts[i] - last_end >= gap:
            out.append([])
            last_end = stops[i]
        out[-1].append(i)
        last_end = max(last_end, stops[i])
    return out

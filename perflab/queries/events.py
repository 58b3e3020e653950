"""Query events for the shared timeline: patterns that are new, or slower, in a window.

:func:`events` compares the pattern table of a window (:func:`perflab.queries.
query_patterns` of its statements, or :func:`perflab.queries.digest`'s patterns) with
that of an earlier window, or with a time (``since``): a fingerprint absent before is
a ``new-pattern``, one whose per-call statistic rose by ``min_change`` or more a
``slower-pattern``. The events carry the tables the pattern reads and the
applications that ran it as ``terms``, which :func:`perflab.timeline.likely_causes`
uses to link a pattern to a route or a service. It reads no file. Import it from this
module: exported from the package, the name would be shadowed by this module's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.queries import _sql
from perflab.queries.schema import PATTERNS
from perflab.times import At, instant

__all__ = ["events", "split_events"]

_NEEDED = PATTERNS.subset("fingerprint", "query", "calls", "total_ms", "share_pct", "first_seen")
_STATS = ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")


def _tables(pattern: str | None, dialect: str) -> list[str]:
    """The tables a pattern names (sqlglot), sorted; none when it does not parse."""
    if not pattern:
        return []
    trees = _sql.parse(pattern, dialect)
    if trees is None:
        return []
    from sqlglot import exp

    return sorted({t.name for tree in trees for t in tree.find_all(exp.Table) if t.name})


def events(
    patterns: FrameLike,
    *,
    before: FrameLike | None = None,
    since: At | None = None,
    stat: str = "p95_ms",
    min_change: float = 0.2,
    at: At | None = None,
    dialect: str = "postgres",
) -> pl.DataFrame:
    """New and slower query patterns of a window, as events.

    Parameters
    ----------
    patterns : frame-like
        The :data:`~perflab.queries.schema.PATTERNS` frame of the window looked at.
    before : frame-like, optional
        The PATTERNS frame of an earlier window: fingerprints absent from it are new,
        those in both are compared on ``stat``.
    since : time, optional
        A pattern first seen at or after ``since`` is new (with ``before`` too, it must
        also be absent from ``before``). One of ``before`` and ``since`` is needed.
    stat : str
        The per-call statistic compared: ``mean_ms``, ``p50_ms``, ``p95_ms``,
        ``p99_ms`` or ``max_ms``.
    min_change : float
        Smallest relative rise of ``stat`` called slower (0.2 = +20 %).
    at : time, optional
        When a slower pattern is stamped: default, its ``first_seen`` in the window.
    dialect : str
        For reading the tables of each pattern.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"queries"``, subject the normalised
        pattern: ``new-pattern`` at its ``first_seen``, ``size`` its share of the
        window's query time (``unit`` ``"share"``); ``slower-pattern`` with ``size``
        the relative rise of ``stat``. ``direction`` ``"worse"``; ``terms`` the tables
        it reads and the applications that ran it.

    Raises
    ------
    ParameterError
        Neither ``before`` nor ``since``; an unknown ``stat``; ``min_change <= 0``.
    SchemaError
        A frame lacks a PATTERNS column these need.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> p = pl.DataFrame({"fingerprint": ["a1"], "query": ["SELECT * FROM orders WHERE id = ?"],
    ...     "calls": [40], "total_ms": [900.0], "share_pct": [30.0],
    ...     "first_seen": [datetime(2026, 3, 2, 16, 0, 3, tzinfo=UTC)]})
    >>> events(p, since=datetime(2026, 3, 2, 12)).select("kind", "size", "terms").row(0)
    ('new-pattern', 0.3, ['orders'])
    """
    if before is None and since is None:
        raise ParameterError("give before= (an earlier window's patterns) or since= (a time)")
    if stat not in _STATS:
        raise ParameterError(f"stat must be one of {list(_STATS)}, not {stat!r}")
    if not min_change > 0:
        raise ParameterError(f"min_change must be positive, not {min_change}")
    now = _NEEDED.validate(as_frame(patterns))
    if stat not in now.columns:
        now = now.with_columns(pl.lit(None, pl.Float64).alias(stat))
    new = pl.lit(True)
    if since is not None:
        new = new & (pl.col("first_seen") >= instant(since, what="since"))
    old: pl.DataFrame | None = None
    if before is not None:
        old = _NEEDED.validate(as_frame(before))
        if stat not in old.columns:
            old = old.with_columns(pl.lit(None, pl.Float64).alias(stat))
        old = old.select("fingerprint", pl.col(stat).cast(pl.Float64).alias("_old"))
        now = now.join(old, on="fingerprint", how="left")
        new = new & ~pl.col("fingerprint").is_in(old.get_column("fingerprint").implode())
    else:
        now = now.with_columns(pl.lit(None, pl.Float64).alias("_old"))
    stamp = instant(at, what="at") if at is not None else None
    rows: list[dict[str, Any]] = []
    for r in now.with_columns(new.alias("_new")).iter_rows(named=True):
        apps = [a for a in (r.get("applications") or []) if a]
        terms = _tables(r["query"], dialect) + apps
        base = {"domain": "queries", "subject": r["query"], "direction": "worse"}
        if r["_new"]:
            share = None if r["share_pct"] is None else r["share_pct"] / 100.0
            rows.append({**base, "time": r["first_seen"], "kind": "new-pattern",
                         "size": share, "unit": "share", "terms": terms or None,
                         "evidence": _new_evidence(r, stat, apps)})  # fmt: skip
        elif old is not None and r["_old"] and r[stat] is not None:
            change = r[stat] / r["_old"] - 1.0
            if change >= min_change:
                rows.append({**base, "time": stamp or r["first_seen"], "kind": "slower-pattern",
                             "size": change, "unit": "ratio", "terms": terms or None,
                             "evidence": f"{stat} {r['_old']:.4g} → {r[stat]:.4g} ms "
                             f"({change:+.0%}) over {r['calls']} calls"})  # fmt: skip
    return events_frame(rows).sort("time", maintain_order=True)


def _new_evidence(r: dict[str, Any], stat: str, apps: list[str]) -> str:
    first: datetime | None = r["first_seen"]
    parts = [f"first seen {first:%Y-%m-%d %H:%M:%S}" if first else "new", f"{r['calls']} calls"]
    if r.get(stat) is not None:
        parts.append(f"{stat} {r[stat]:.4g} ms")
    if r["share_pct"] is not None:
        parts.append(f"{r['share_pct']:.0f} % of the query time")
    if apps:
        parts.append("run by " + ", ".join(apps))
    return ", ".join(parts)


def split_events(
    statements: FrameLike,
    *,
    split: At | None = None,
    stat: str = "p95_ms",
    min_change: float = 0.2,
    dialect: str = "postgres",
) -> pl.DataFrame:
    """New and slower patterns after a time (a deploy) against before it, as events.

    Parameters
    ----------
    statements : frame-like
        :func:`~perflab.queries.statements_frame` of a log.
    split : time, optional
        Where "after" starts: the deploy's time. Default the middle of the log (a
        guess: give the deploy's time for a real answer).
    stat, min_change, dialect
        As for :func:`events`.

    Returns
    -------
    polars.DataFrame
        :func:`events` of the statements from ``split`` on, against those before
        it; empty when no statement has a time.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = [datetime(2026, 3, 2, h, tzinfo=UTC) for h in (15, 15, 16, 16)]
    >>> s = pl.DataFrame({"timestamp": t, "duration_ms": [5.0, 5.0, 5.0, 80.0],
    ...     "query": ["SELECT 1 FROM a", "SELECT 1 FROM a", "SELECT 1 FROM a",
    ...               "SELECT * FROM orders"]})
    >>> from perflab.queries import statements_frame
    >>> ev = split_events(statements_frame(s), split=datetime(2026, 3, 2, 16))
    >>> ev.select("kind", "terms").rows()
    [('new-pattern', ['orders'])]
    """
    from perflab.queries.patterns import query_patterns

    stamped = as_frame(statements).filter(pl.col("timestamp").is_not_null())
    if stamped.is_empty():
        return events_frame([])
    if split is None:
        first, last = stamped["timestamp"].min(), stamped["timestamp"].max()
        cut = first + (last - first) / 2  # type: ignore[operator]
    else:
        cut = instant(split, what="split")
    earlier = query_patterns(stamped.filter(pl.col("timestamp") < cut), dialect=dialect)
    later = query_patterns(stamped.filter(pl.col("timestamp") >= cut), dialect=dialect)
    return events(later, before=earlier, stat=stat, min_change=min_change, dialect=dialect)

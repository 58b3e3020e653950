"""Pooling events for the shared timeline: when a pool ran out, and when it turned requests away.

:func:`events` turns the saturation periods of :func:`perflab.pooling.
saturation_periods` into :data:`perflab.events.EVENTS` rows: periods close together
(less than ``gap`` apart) make one ``saturation`` event — a burst that exhausts the
pool queues requests in many short spans, and a person sees one incident. Given the
acquires too (:data:`~perflab.pooling.schema.ACQUIRES`), the requests that got no
connection (timed out, rejected by a full queue, or failed) make ``error-burst``
events, so an application's 5xx burst at the same time finds its cause. It reads no
file. Import it from this module: exported from the package, the name would be
shadowed by this module's.

The rule
--------
A saturation period shorter than ``min_period_ms`` is ordinary queueing (a request
waits a few milliseconds for a connection being handed back) and is left out. The
others are merged while the next starts less than ``gap`` after the previous ended.
Failed acquires are grouped the same way (less than ``gap`` apart); a group with at
least ``min_failures`` failures is an error burst.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.events import events_frame, group_close
from perflab.frames import UTC_DATETIME, FrameLike, Schema, as_frame
from perflab.pooling.schema import ACQUIRES
from perflab.times import span

__all__ = ["PERIODS", "events"]

PERIODS = Schema(
    "saturation periods",
    {
        "start": UTC_DATETIME,
        "end": UTC_DATETIME,
        "duration_ms": pl.Float64,
        "waiters": pl.Int64,
        "max_wait_ms": pl.Float64,
        "timeouts": pl.Int64,
        "rejected": pl.Int64,
    },
    optional={"pool": pl.String},
)
"""What :func:`perflab.pooling.saturation_periods` returns (``pool`` when known)."""


def _gap(gap: str | timedelta) -> timedelta:
    return span(gap, what="gap")


def events(
    periods: FrameLike,
    *,
    acquires: FrameLike | None = None,
    gap: str | timedelta = "1s",
    min_period_ms: float = 50.0,
    min_failures: int = 3,
    terms: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Saturation of a pool, and bursts of acquires that got no connection, as events.

    Parameters
    ----------
    periods : frame-like
        :func:`~perflab.pooling.saturation_periods` output (:data:`PERIODS`), with
        ``pool`` when there are several pools.
    acquires : frame-like, optional
        :data:`~perflab.pooling.schema.ACQUIRES`, for the error bursts (None: none).
    gap : str or timedelta
        Periods (and failures) less than this apart are one event.
    min_period_ms : float
        Shorter saturation periods are left out (ordinary queueing).
    min_failures : int
        Fewest failed acquires that make an error burst.
    terms : tuple of str
        Linking words added to every event (the database, the service or routes
        using the pool); the pool's name is always one.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"pooling"``, ``subject``
        ``"pool <name>"`` (``"pool"`` when unnamed), ``direction`` ``"worse"``:

        * ``saturation`` at the start of the first period: ``size`` how long the
          pool stayed saturated, in seconds (``unit`` ``"s"``), first period's start
          to last period's end; ``evidence`` the periods, the time requests queued,
          how many waited and for how long, and how many were turned away;
        * ``error-burst`` at the first failed acquire: ``size`` the failed share of
          the acquires made from the first to the last failure (``unit``
          ``"share"``); ``evidence`` the counts by outcome and the first error.

    Raises
    ------
    SchemaError
        ``periods`` or ``acquires`` lacks a column.
    ParameterError
        A bad ``gap``, ``min_period_ms`` or ``min_failures``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 3, 2, 16, tzinfo=UTC)
    >>> p = pl.DataFrame({"pool": ["app"] * 2, "start": [t, t + timedelta(seconds=1.2)],
    ...     "end": [t + timedelta(seconds=1), t + timedelta(seconds=2)],
    ...     "duration_ms": [1000.0, 800.0], "waiters": [40, 30], "max_wait_ms": [50.0, 60.0],
    ...     "timeouts": [0, 0], "rejected": [3, 2]})
    >>> events(p).select("subject", "kind", "size", "unit").row(0)
    ('pool app', 'saturation', 2.0, 's')
    """
    if not min_period_ms >= 0:
        raise ParameterError(f"min_period_ms must be zero or positive, not {min_period_ms}")
    if not isinstance(min_failures, int) or min_failures < 1:
        raise ParameterError(f"min_failures must be a positive integer, not {min_failures!r}")
    span = _gap(gap)
    df = PERIODS.validate(as_frame(periods))
    df = df.filter(pl.col("duration_ms") >= min_period_ms)
    rows: list[dict[str, Any]] = []
    named = "pool" in df.columns
    for key, part in (
        df.partition_by("pool", as_dict=True, maintain_order=True) if named else {(None,): df}
    ).items():
        rows += _saturations(key[0], part, span, terms)
    if acquires is not None:
        rows += _bursts(as_frame(acquires, ACQUIRES), span, min_failures, terms)
    return events_frame(rows).sort("time", maintain_order=True)


def _clock(t: datetime) -> str:
    return t.strftime("%H:%M:%S.%f")[:-3]


def _who(pool: str | None, terms: tuple[str, ...]) -> tuple[str, list[str] | None]:
    subject = f"pool {pool}" if pool else "pool"
    words = list(dict.fromkeys([*([pool] if pool else []), *terms]))
    return subject, words or None


def _saturations(
    pool: str | None, part: pl.DataFrame, gap: timedelta, terms: tuple[str, ...]
) -> list[dict[str, Any]]:
    if part.is_empty():
        return []
    p = part.to_dict(as_series=False)
    subject, words = _who(pool, terms)
    rows = []
    for idx in group_close(p["start"], gap, ends=p["end"]):
        start = min(p["start"][i] for i in idx)
        end = max(p["end"][i] for i in idx)
        queued_s = sum(p["duration_ms"][i] for i in idx) / 1000.0
        waiters = sum(p["waiters"][i] or 0 for i in idx)
        worst = max((p["max_wait_ms"][i] or 0.0) for i in idx)
        rejected = sum(p["rejected"][i] or 0 for i in idx)
        timeouts = sum(p["timeouts"][i] or 0 for i in idx)
        lasted = (end - start).total_seconds()
        spans = f"{len(idx)} periods" if len(idx) > 1 else "one period"
        rows.append(
            {
                "time": start,
                "domain": "pooling",
                "subject": subject,
                "kind": "saturation",
                "size": lasted,
                "unit": "s",
                "direction": "worse",
                "evidence": (
                    f"{subject} exhausted {_clock(start)}–{_clock(end)} ({lasted:.1f} s; "
                    f"{spans} of queueing, {queued_s:.1f} s in all): "
                    f"{waiters:,} requests waited, up to {worst:.0f} ms; "
                    f"{rejected:,} rejected, {timeouts:,} timed out"
                ),
                "terms": words,
            }
        )
    return rows


def _bursts(
    acq: pl.DataFrame, gap: timedelta, min_failures: int, terms: tuple[str, ...]
) -> list[dict[str, Any]]:
    if "pool" not in acq.columns:
        acq = acq.with_columns(pl.lit(None, pl.String).alias("pool"))
    if "error" not in acq.columns:
        acq = acq.with_columns(pl.lit(None, pl.String).alias("error"))
    acq = acq.filter(pl.col("start").is_not_null()).sort("start")
    rows = []
    for (pool,), part in acq.partition_by("pool", as_dict=True, maintain_order=True).items():
        failed = part.filter(pl.col("outcome") != "ok")
        if failed.height < min_failures:
            continue
        times = failed["start"].to_list()
        subject, words = _who(pool, terms)
        for idx in group_close(times, gap):
            if len(idx) < min_failures:
                continue
            first, last = times[idx[0]], times[idx[-1]]
            mine = failed[idx]
            total = part.filter(pl.col("start").is_between(first, last)).height
            counts = mine["outcome"].value_counts(sort=True)
            how = ", ".join(f"{n:,} {o}" for o, n in counts.iter_rows())
            err = mine["error"].drop_nulls()
            first_error = f"; first error: {err[0]}" if err.len() else ""
            rows.append(
                {
                    "time": first,
                    "domain": "pooling",
                    "subject": subject,
                    "kind": "error-burst",
                    "size": len(idx) / total,
                    "unit": "share",
                    "direction": "worse",
                    "evidence": (
                        f"{len(idx):,} of {total:,} acquires got no connection "
                        f"({len(idx) / total * 100:.1f} %) {_clock(first)}–{_clock(last)} "
                        f"({(last - first).total_seconds():.1f} s): {how}{first_error}"
                    ),
                    "terms": words,
                }
            )
    return rows

"""Balancing events for the shared timeline: a backend down, slower, or failing requests.

:func:`events` reads what a balancer's log already gave (the request trace of
:func:`perflab.balancing.read_nginx` or :func:`perflab.balancing.read_haproxy`, and the
backends with their outage timed by :func:`perflab.balancing.outages_from_log`) and
returns :data:`perflab.events.EVENTS` rows:

* ``outage`` — a backend down, from its ``fail_at_s`` to its ``recover_at_s``;
* ``step`` — a backend's service time shifting to a new level (a slowdown, or its
  end): the median ``service_ms`` per window, cut where its mean shifts by
  :func:`perflab.stats.change_points`, kept when the new level differs from the one
  before by ``min_change`` or more;
* ``error-burst`` — requests answered with a status of 500 or more (what the clients
  saw, after the balancer's retries), grouped while less than ``gap_s`` apart.

A trace's ``time_s`` counts from its first request, so the caller says when that
was (``start``). It reads no file. Import it from this module: exported from the
package, the name would be shadowed by this module's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from perflab.balancing.balancer import Backend, as_backends
from perflab.balancing.schema import TRACE
from perflab.errors import ParameterError
from perflab.events import events_frame, group_close
from perflab.frames import FrameLike, as_frame
from perflab.stats import change_points
from perflab.times import At, instant, window_for

__all__ = ["events"]


def events(
    trace: FrameLike,
    backends: Iterable[Backend | str | Mapping[str, Any]] = (),
    *,
    start: At,
    window_s: float | None = None,
    min_change: float = 0.5,
    gap_s: float = 1.0,
    min_errors: int = 3,
    terms: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Backend outages, service-time steps and error bursts of a balancer's log, as events.

    Parameters
    ----------
    trace : frame-like
        :data:`~perflab.balancing.schema.TRACE` (``time_s``, ``service_ms``,
        ``backend``, ``attempts``, ``status`` are used).
    backends : iterable of Backend, str or mapping
        The backends; those with a ``fail_at_s`` give an ``outage`` event. Pass
        :func:`~perflab.balancing.outages_from_log`'s result to time outages from the
        log's failed attempts. Empty: no outage events.
    start : time
        The wall-clock time of ``time_s`` 0 (the first request of the log).
    window_s : float, optional
        Window length (s) for the service-time series of each backend; None: about
        120 windows over the trace, rounded up to a familiar length
        (:func:`perflab.times.window_for`).
    min_change : float
        Smallest relative shift of a backend's median service time reported (0.5 =
        +50 % or −33 %, the inverse).
    gap_s : float
        Error responses less than this apart (s) are one burst.
    min_errors : int
        Fewest error responses that make a burst.
    terms : tuple of str
        Linking words added to every event (the service behind the balancer, its
        routes); the backend's name and address are always terms.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"balancing"``, ``subject``
        ``"backend <name>"`` (``"balancer"`` for errors no backend answered), in
        time order:

        * ``outage``: ``size`` the backend's share of the requests before it failed
          (``unit`` ``"share"``: the capacity lost), ``direction`` ``"worse"``;
        * ``step``: ``size`` the relative shift of the median service time (``unit``
          ``"ratio"``), ``direction`` ``"worse"`` when slower, ``"better"`` when
          faster;
        * ``error-burst``: ``size`` the share of the backend's requests (all requests
          for ``"balancer"``) in the burst's span that failed (``unit`` ``"share"``),
          ``direction`` ``"worse"``.

    Raises
    ------
    SchemaError
        ``trace`` lacks a TRACE column these need.
    ParameterError
        A bad window, threshold or count.

    Examples
    --------
    >>> tr = pl.DataFrame({"time_s": [float(i) / 10 for i in range(200)],
    ...     "service_ms": [5.0 + (i % 3) if i < 100 else 20.0 + (i % 3) for i in range(200)],
    ...     "backend": ["a"] * 200, "attempts": [1] * 200, "status": [200] * 200})
    >>> ev = events(tr, start="2026-03-02T16:00:00", window_s=1)
    >>> ev.select("subject", "kind", pl.col("size").round(2), "direction").row(0)
    ('backend a', 'step', 2.5, 'worse')
    """
    if window_s is not None and not (math.isfinite(window_s) and window_s > 0):
        raise ParameterError(f"window_s must be a positive number of seconds, not {window_s}")
    if not min_change > 0:
        raise ParameterError(f"min_change must be positive, not {min_change}")
    if not (math.isfinite(gap_s) and gap_s > 0):
        raise ParameterError(f"gap_s must be a positive number of seconds, not {gap_s}")
    if not isinstance(min_errors, int) or min_errors < 1:
        raise ParameterError(f"min_errors must be a positive integer, not {min_errors!r}")
    origin = instant(start, what="start")
    df = TRACE.conform(
        as_frame(trace), required=["time_s", "service_ms", "backend", "attempts", "status"]
    ).filter(pl.col("time_s").is_not_null())
    given = list(backends)
    known = {b.name: b for b in as_backends(given)} if given else {}
    rows: list[dict[str, Any]] = []
    rows += _outages(df, list(known.values()), origin, terms)
    if df.height:
        times = df["time_s"].to_numpy()
        span = float(times.max() - times.min())
        width = window_s if window_s is not None else float(window_for(span, 120))
        rows += _steps(df, known, origin, width, min_change, terms)
        rows += _bursts(df, known, origin, gap_s, min_errors, terms)
    return events_frame(rows).sort("time", maintain_order=True)


def _who(
    name: str | None, known: Mapping[str, Backend], terms: tuple[str, ...]
) -> tuple[str, list[str]]:
    if name is None:
        return "balancer", list(dict.fromkeys(terms))
    b = known.get(name)
    words = [name, *([b.address] if b is not None and b.address else []), *terms]
    return f"backend {name}", list(dict.fromkeys(words))


def _at(origin: datetime, seconds: float) -> datetime:
    return origin + timedelta(seconds=seconds)


def _outages(
    df: pl.DataFrame, backends: list[Backend], origin: datetime, terms: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows = []
    known = {b.name: b for b in backends}
    for b in backends:
        if b.fail_at_s is None:
            continue
        fail, back = b.fail_at_s, b.recover_at_s
        before = df.filter(pl.col("time_s") < fail, pl.col("backend").is_not_null())
        share = (
            before.filter(pl.col("backend") == b.name).height / before.height
            if before.height
            else None
        )
        during = df.filter(pl.col("time_s") >= fail)
        if back is not None:
            during = during.filter(pl.col("time_s") < back)
        retried = during.filter(pl.col("attempts") > 1).height
        failed = during.filter(pl.col("status") >= 500).height
        until = (
            f"to {back:.2f} s ({back - fail:.1f} s)"
            if back is not None
            else ("to the end of the log")
        )
        served = f"; it had served {share * 100:.0f} % of the requests before" if share else ""
        subject, words = _who(b.name, known, terms)
        rows.append(
            {
                "time": _at(origin, fail),
                "domain": "balancing",
                "subject": subject,
                "kind": "outage",
                "size": share,
                "unit": "share",
                "direction": "worse",
                "evidence": (
                    f"{b.name} down from {fail:.2f} s of the log {until}{served}; "
                    f"meanwhile {during.height:,} requests, {retried:,} retried on another "
                    f"backend, {failed:,} answered with an error"
                ),
                "terms": words,
            }
        )
    return rows


def _steps(
    df: pl.DataFrame,
    known: Mapping[str, Backend],
    origin: datetime,
    width: float,
    min_change: float,
    terms: tuple[str, ...],
) -> list[dict[str, Any]]:
    served = df.filter(pl.col("backend").is_not_null(), pl.col("service_ms").is_not_null())
    windows = (
        served.with_columns((pl.col("time_s") / width).floor().cast(pl.Int64).alias("_w"))
        .group_by("backend", "_w")
        .agg(pl.col("service_ms").median().alias("_median"), pl.len().alias("_n"))
        .sort("backend", "_w")
    )
    rows = []
    for (name,), part in windows.partition_by("backend", as_dict=True, maintain_order=True).items():
        medians = part["_median"].to_numpy()
        idx = part["_w"].to_numpy()
        cuts = change_points(medians)
        bounds = [0, *cuts, medians.size]
        subject, words = _who(name, known, terms)
        for k, cut in enumerate(cuts):
            before = float(np.median(medians[bounds[k] : cut]))
            after = float(np.median(medians[cut : bounds[k + 2]]))
            if before <= 0:
                continue
            shift = after / before - 1.0
            slower = shift >= min_change
            faster = after <= 0 or before / after - 1.0 >= min_change
            if not (slower or faster):
                continue
            t = float(idx[cut]) * width
            rows.append(
                {
                    "time": _at(origin, t),
                    "domain": "balancing",
                    "subject": subject,
                    "kind": "step",
                    "size": shift,
                    "unit": "ratio",
                    "direction": "worse" if shift > 0 else "better",
                    "evidence": (
                        f"{name} median service time {before:.3g} → {after:.3g} ms "
                        f"({shift * 100:+.0f} %) from {t:.0f} s of the log on "
                        f"({width:g} s windows: {cut - bounds[k]} before, "
                        f"{bounds[k + 2] - cut} after)"
                    ),
                    "terms": words,
                }
            )
    return rows


def _bursts(
    df: pl.DataFrame,
    known: Mapping[str, Backend],
    origin: datetime,
    gap_s: float,
    min_errors: int,
    terms: tuple[str, ...],
) -> list[dict[str, Any]]:
    bad = df.filter(pl.col("status") >= 500).sort("time_s")
    if bad.height < min_errors:
        return []
    rows = []
    for (name,), part in bad.partition_by("backend", as_dict=True, maintain_order=True).items():
        times = part["time_s"].to_list()
        statuses = part["status"].to_list()
        subject, words = _who(name, known, terms)
        for g in group_close(times, gap_s):
            if len(g) < min_errors:
                continue
            first, last = times[g[0]], times[g[-1]]
            near = df.filter(pl.col("time_s").is_between(first, last))
            if name is not None:
                near = near.filter(pl.col("backend") == name)
            total = near.height
            codes: dict[int, int] = {}
            for i in g:
                codes[statuses[i]] = codes.get(statuses[i], 0) + 1
            to = f" to {name}" if name is not None else ""
            how = ", ".join(f"{n:,}× {c}" for c, n in sorted(codes.items()))
            rows.append(
                {
                    "time": _at(origin, first),
                    "domain": "balancing",
                    "subject": subject,
                    "kind": "error-burst",
                    "size": len(g) / total,
                    "unit": "share",
                    "direction": "worse",
                    "evidence": (
                        f"{len(g):,} of {total:,} requests{to} failed "
                        f"({len(g) / total * 100:.1f} %) "
                        f"from {first:.2f} to {last:.2f} s of the log: {how}"
                        + ("" if name is not None else " (no backend answered)")
                    ),
                    "terms": words or None,
                }
            )
    return rows

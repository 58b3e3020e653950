"""Pooling rules: acquires (and the server's limits) in, ranked recommendations out.

============================  ========  ===================================================
rule                          severity  fires when (default thresholds, and their basis)
============================  ========  ===================================================
``pooling.pool-too-small``    high      the p99 acquire wait is over 10 ms (≥ 100
                                        acquires): waiting for a connection adds to every
                                        request's latency and buys nothing; a pool sized by
                                        Erlang C for the peak keeps the p99 wait under the
                                        target. The action names that size
``pooling.pool-oversized``    low       at least 4 connections and half the pool were never
                                        needed: the peak in use and the Erlang C size for
                                        the peak rate both stay below ``max_size − 4``. Each
                                        idle connection costs the server a backend (several
                                        MB) and counts against ``max_connections``
``pooling.acquire-failures``  high      requests got no connection: timeouts, rejections
                                        by a full wait queue, errors. **critical** at ≥ 1 %
                                        of acquires
``pooling.database-ceiling``  critical  ``instances × max_size`` exceeds the server's
                                        ``max_connections`` less reserved and other
                                        connections: a burst that grows every pool meets
                                        ``too many clients`` instead of a wait
============================  ========  ===================================================

Impacts: the p99 wait in ms (too small), idle connections (oversized), failed acquires in %
(failures), connections over the ceiling (ceiling).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.pooling.erlang import size_recommendation
from perflab.pooling.sizing import recommend_size
from perflab.pooling.usage import acquire_summary, database_ceiling, peak_window, pool_timeline
from perflab.recommend import Recommendation, rule, to_frame

__all__ = [
    "ACQUIRE_FAILURES",
    "DATABASE_CEILING",
    "POOL_OVERSIZED",
    "POOL_TOO_SMALL",
    "acquire_failures",
    "ceiling_exceeded",
    "findings",
    "oversized",
    "peak_rates",
    "too_small",
]

POOL_TOO_SMALL = rule("pooling.pool-too-small", "high", "requests wait for a pooled connection")
POOL_OVERSIZED = rule("pooling.pool-oversized", "low", "the pool keeps connections it never needs")
ACQUIRE_FAILURES = rule("pooling.acquire-failures", "high", "requests got no connection")
DATABASE_CEILING = rule(
    "pooling.database-ceiling",
    "critical",
    "the pools together can open more connections than the server accepts",
)


def _subject(row: dict[str, Any]) -> str:
    return f"pool {row['pool']}" if row.get("pool") else "pool"


def peak_rates(events: FrameLike, *, every: str = "1s") -> pl.DataFrame:
    """The busiest bucket's arrival rate per pool (requests per second).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ev = pl.DataFrame({"start": [t] * 3, "wait_ms": [0.0] * 3, "hold_ms": [1.0] * 3,
    ...                    "outcome": ["ok"] * 3, "pool": ["a"] * 3})
    >>> peak_rates(ev).row(0)
    ('a', 3.0)
    """
    tl = pool_timeline(events, every=every)
    keys = [c for c in tl.columns if c not in ("timestamp",) and tl.schema[c] == pl.String]
    per_s = _seconds(every)
    if not keys:
        return pl.DataFrame({"peak_rate": [float(cast(float, tl["acquires"].max()) or 0) / per_s]})
    return tl.group_by(keys, maintain_order=True).agg(
        (pl.col("acquires").max().cast(pl.Float64) / per_s).alias("peak_rate")
    )


def _seconds(every: str) -> float:
    t = pl.datetime_range(
        pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 1).dt.offset_by(every), every, eager=True
    )
    return (t[-1] - t[0]).total_seconds()


def too_small(
    summary: FrameLike,
    *,
    max_p99_wait_ms: float = 10.0,
    min_acquires: int = 100,
    peak_rate: float | None = None,
    sizing: Mapping[str, Any] | None = None,
) -> list[Recommendation]:
    """``pooling.pool-too-small`` for each pool whose p99 acquire wait exceeds the target.

    Parameters
    ----------
    summary : frame-like
        :func:`~perflab.pooling.acquire_summary` output.
    max_p99_wait_ms : float
        The p99 acquire wait a request may pay, ms; also the sizing target.
    min_acquires : int
        Fewest acquires for the p99 to be trusted.
    peak_rate : float, optional
        Arrival rate to size for (requests/s); default the summary's mean rate.
    sizing : mapping, optional
        A row of :func:`~perflab.pooling.recommend_size` for the peak: its
        ``recommended`` size (Erlang C checked by replay) is the advice.

    Examples
    --------
    >>> s = pl.DataFrame({"pool": ["app"], "acquires": [4000], "wait_p99_ms": [43.0],
    ...     "wait_p50_ms": [0.0], "waited_pct": [12.0], "arrival_rate": [200.0],
    ...     "hold_mean_ms": [9.5], "max_size": [4], "in_use_peak": [4]})
    >>> [(r.rule, r.impact) for r in too_small(s, peak_rate=420.0)]
    [('pooling.pool-too-small', 43.0)]
    """
    df = as_frame(summary).filter(
        (pl.col("acquires") >= min_acquires) & (pl.col("wait_p99_ms") > max_p99_wait_ms)
    )
    out = []
    for row in df.iter_rows(named=True):
        rate = peak_rate or row["arrival_rate"]
        hold = row["hold_mean_ms"] or 0.0
        advice = ""
        evidence_model = ""
        if sizing is not None:
            advice = (
                f"Raise max_size to {sizing['recommended']} (the peak: "
                f"{sizing['arrival_rate']:,.0f} requests/s holding "
                f"{sizing['hold_mean_ms']:.1f} ms; "
                f"Erlang C p99 wait {sizing['erlang_p99_wait_ms']:.1f} ms, the recorded peak "
                f"replayed {sizing['replay_p99_wait_ms']:.1f} ms). "
            )
            evidence_model = (
                f"; size for p99 ≤ {max_p99_wait_ms:g} ms: Erlang C {sizing['erlang_size']}, "
                f"replay {sizing['replay_size']}"
            )
        elif rate and hold > 0:
            rec = size_recommendation(rate, hold, max_p99_wait_ms)
            advice = (
                f"Raise max_size to {rec.size} (Erlang C for {rate:,.0f} requests/s holding "
                f"{hold:.1f} ms: p99 wait {rec.p99_wait_ms:.1f} ms, "
                f"{rec.wait_probability * 100:.1f} % wait at all). "
            )
            evidence_model = (
                f"; Erlang C size for p99 ≤ {max_p99_wait_ms:g} ms at {rate:,.0f}/s: {rec.size}"
            )
        out.append(
            Recommendation.of(
                POOL_TOO_SMALL,
                subject=_subject(row),
                finding=f"Requests wait {row['wait_p99_ms']:,.1f} ms for a connection at p99 "
                f"({row['waited_pct']:.1f} % wait over 1 ms) with max_size {row['max_size']}.",
                action=advice + "Shorten what holds a connection (no network calls or long "
                "computations inside a transaction) before adding connections, and check "
                "the database ceiling for the new size.",
                evidence=f"{row['acquires']:,} acquires; wait p50 {row['wait_p50_ms']:.2f} ms, "
                f"p99 {row['wait_p99_ms']:.1f} ms; mean hold {hold:.1f} ms; peak in use "
                f"{row['in_use_peak']} of {row['max_size']}{evidence_model}",
                impact=row["wait_p99_ms"],
                impact_unit="ms",
            )
        )
    return out


def oversized(
    summary: FrameLike,
    *,
    target_p99_wait_ms: float = 10.0,
    min_spare: int = 4,
    peak_rate: float | None = None,
) -> list[Recommendation]:
    """``pooling.pool-oversized`` when ``min_spare`` connections and half the pool are never needed.

    Examples
    --------
    >>> s = pl.DataFrame({"pool": ["app"], "acquires": [4000], "arrival_rate": [50.0],
    ...     "hold_mean_ms": [5.0], "max_size": [20], "in_use_peak": [3],
    ...     "utilization_pct": [1.3], "wait_p99_ms": [0.0]})
    >>> [(r.rule, r.impact) for r in oversized(s)]
    [('pooling.pool-oversized', 17.0)]
    """
    df = as_frame(summary)
    out = []
    for row in df.iter_rows(named=True):
        size = row["max_size"]
        if not size or not row["hold_mean_ms"]:
            continue
        rate = peak_rate or row["arrival_rate"]
        need = size_recommendation(rate, row["hold_mean_ms"], target_p99_wait_ms).size
        used = max(need, row["in_use_peak"] or 0)
        spare = size - used
        if spare < min_spare or spare * 2 < size:
            continue
        out.append(
            Recommendation.of(
                POOL_OVERSIZED,
                subject=_subject(row),
                finding=f"At most {row['in_use_peak']} of {size} connections were in use; "
                f"{spare} were never needed.",
                action=f"Lower max_size to {used} (min_size to what the quiet hours use): "
                "each idle connection holds a server backend and counts against "
                "max_connections for every instance.",
                evidence=f"peak in use {row['in_use_peak']}, utilization "
                f"{row['utilization_pct']:.1f} %; Erlang C size for p99 ≤ "
                f"{target_p99_wait_ms:g} ms at {rate:,.0f}/s holding "
                f"{row['hold_mean_ms']:.1f} ms: {need}",
                impact=float(spare),
                impact_unit="connections",
            )
        )
    return out


def acquire_failures(summary: FrameLike, *, critical_pct: float = 1.0) -> list[Recommendation]:
    """``pooling.acquire-failures`` for each pool where requests got no connection.

    Examples
    --------
    >>> s = pl.DataFrame({"pool": ["app"], "acquires": [4123], "timeouts": [0],
    ...     "rejected": [82], "errors": [0], "failed_pct": [1.99], "wait_max_ms": [250.0]})
    >>> [(r.severity, r.impact) for r in acquire_failures(s)]
    [('critical', 1.99)]
    """
    df = as_frame(summary).filter((pl.col("timeouts") + pl.col("rejected") + pl.col("errors")) > 0)
    out = []
    for row in df.iter_rows(named=True):
        parts = [
            f"{row[k]:,} {label}"
            for k, label in (
                ("timeouts", "timed out"),
                ("rejected", "rejected (queue full)"),
                ("errors", "failed"),
            )
            if row[k]
        ]
        out.append(
            Recommendation.of(
                ACQUIRE_FAILURES,
                subject=_subject(row),
                severity="critical" if row["failed_pct"] >= critical_pct else None,
                finding=f"{row['failed_pct']:.2f} % of requests got no connection: "
                + ", ".join(parts)
                + ".",
                action="Size the pool for the peak (see pooling.pool-too-small); keep a "
                "bounded queue and a short acquire timeout so a saturated pool fails fast "
                "rather than piling up requests, and alert on these counts.",
                evidence=f"{row['acquires']:,} acquires; longest wait {row['wait_max_ms']:,.0f} ms",
                impact=row["failed_pct"],
                impact_unit="%",
            )
        )
    return out


def ceiling_exceeded(ceiling: FrameLike) -> list[Recommendation]:
    """``pooling.database-ceiling`` when the pools together exceed the server's connections.

    Examples
    --------
    >>> [r.impact for r in ceiling_exceeded(database_ceiling(6, 20, max_connections=100))]
    [23.0]
    """
    df = as_frame(ceiling).filter(pl.col("exceeded"))
    out = []
    for row in df.iter_rows(named=True):
        fits = max(row["available"] // row["instances"], 0)
        out.append(
            Recommendation.of(
                DATABASE_CEILING,
                subject="max_connections",
                finding=f"{row['instances']} instances × max_size {row['max_size']} = "
                f"{row['pool_total']} connections, but the server accepts {row['available']} "
                f"(max_connections {row['max_connections']} − {row['reserved']} reserved − "
                f"{row['other']} other).",
                action=f"Keep max_size ≤ {fits} per instance, put PgBouncer (transaction "
                "pooling) between the instances and the server, or raise max_connections "
                "(each backend costs memory: work_mem × sorts per query).",
                evidence=f"pool_total {row['pool_total']}, available {row['available']}, "
                f"headroom {row['headroom']}",
                impact=float(-row["headroom"]),
                impact_unit="connections",
            )
        )
    return out


def findings(
    events: FrameLike | None = None,
    *,
    max_size: int | None = None,
    instances: int = 1,
    max_connections: int | None = None,
    reserved: int | None = None,
    other: int = 0,
    dsn: str | None = None,
    max_p99_wait_ms: float = 10.0,
    min_acquires: int = 100,
    min_spare: int = 4,
    critical_failed_pct: float = 1.0,
    peak_width: str = "4s",
    timeout_ms: float | None = None,
    max_waiting: int | None = None,
    only: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every pooling rule that fires, ranked.

    Parameters
    ----------
    events : frame-like, optional
        :data:`~perflab.pooling.schema.ACQUIRES` of one or more pools.
    max_size : int, optional
        The pools' ``max_size`` (default: the largest ``size`` seen in the events).
    instances : int
        Application instances, each with such a pool (for the ceiling).
    max_connections, reserved, other, dsn
        The server's limits, given or read live (see
        :func:`~perflab.pooling.database_ceiling`); without ``max_connections`` and
        ``dsn`` the ceiling is not checked.
    max_p99_wait_ms, min_acquires, min_spare, critical_failed_pct
        The thresholds of the module docstring's table.
    peak_width : str
        The busiest window of this length is what the pool is sized for
        (:func:`~perflab.pooling.peak_window`, :func:`~perflab.pooling.recommend_size`).
    timeout_ms, max_waiting : optional
        The pool's acquire timeout and queue bound, for the replay of the peak.
    only : sequence of str, optional
        Rule ids to run (default: all).

    Returns
    -------
    polars.DataFrame
        :data:`perflab.recommend.RECOMMENDATIONS`, ranked.

    Examples
    --------
    >>> findings(instances=6, max_size=20, max_connections=100)["rule"].to_list()
    ['pooling.database-ceiling']
    """
    if max_p99_wait_ms <= 0:
        raise ParameterError("max_p99_wait_ms must be positive")
    wanted = None if only is None else set(only)

    def on(r: object) -> bool:
        return wanted is None or getattr(r, "id", None) in wanted

    recs: list[Recommendation] = []
    size = max_size
    if events is not None:
        ev = as_frame(events)
        if ev.height:
            summary = acquire_summary(ev, max_size=max_size)
            keys = ["pool"] if "pool" in summary.columns else []
            for row in summary.iter_rows(named=True):
                mine = ev.filter(pl.col("pool") == row["pool"]) if keys else ev
                sizing = recommend_size(
                    peak_window(mine, width=peak_width),
                    max_p99_wait_ms,
                    timeout_ms=timeout_ms,
                    max_waiting=max_waiting,
                ).row(0, named=True)
                one = pl.DataFrame([row])
                rate = sizing["arrival_rate"]
                if on(POOL_TOO_SMALL):
                    recs += too_small(
                        one,
                        max_p99_wait_ms=max_p99_wait_ms,
                        min_acquires=min_acquires,
                        peak_rate=rate,
                        sizing=sizing,
                    )
                if on(POOL_OVERSIZED) and (row["wait_p99_ms"] or 0) <= max_p99_wait_ms:
                    recs += oversized(
                        one, target_p99_wait_ms=max_p99_wait_ms, min_spare=min_spare, peak_rate=rate
                    )
                if on(ACQUIRE_FAILURES):
                    recs += acquire_failures(one, critical_pct=critical_failed_pct)
            if size is None and summary.height:
                size = int(cast(int, summary["max_size"].max()) or 0) or None
    if on(DATABASE_CEILING) and size and (max_connections is not None or dsn is not None):
        ceiling = database_ceiling(
            instances,
            size,
            max_connections=max_connections,
            dsn=dsn,
            reserved=reserved,
            other=other,
        )
        recs += ceiling_exceeded(ceiling)
    return to_frame(recs)

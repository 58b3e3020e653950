"""Memory rules: samples and GC events in, ranked recommendations out.

=========================  ========  =====================================================
rule                       severity  fires when (default thresholds, and their basis)
=========================  ========  =====================================================
``memory.leak``            high      :func:`~perflab.memory.leak_check` says ``leak``: the
                                     post-GC troughs rise (Mann–Kendall p < 0.05, Theil–Sen
                                     interval above zero, slope ≥ 1 MB/h); **critical**
                                     when the trend reaches the limit within 24 hours
``memory.gc-pressure``     medium    collections pause the program for more than 5 % of
                                     the wall time (≥ 10 collections): the JVM's
                                     throughput goal sits between 1 % (Parallel GC's
                                     ``GCTimeRatio=99``) and 7.7 % (G1's ``GCTimeRatio=12``)
                                     of the time in GC; past 5 % collection is a cost worth
                                     tuning (heap size, allocation rate). **high** ≥ 10 %
``memory.long-gc-pause``   medium    a kind of collection's p99 pause is over 100 ms: a
                                     stop-the-world pause that long is a visible stall
                                     (RAIL's 100 ms response budget) and adds to the
                                     latency of every request in flight. **high** ≥ 500 ms
``memory.near-limit``      high      a series' last value is over 85 % of its limit: the
                                     sawtooth's next peak sits above its last value, and a
                                     V8 heap near ``--max-old-space-size`` collects ever
                                     more often before it dies; 15 % leaves room for one
                                     peak. **critical** ≥ 95 %
=========================  ========  =====================================================

Impacts: growth in MB/h (``memory.leak``), pause share in % (``memory.gc-pressure``),
p99 pause over the budget in ms (``memory.long-gc-pause``), share of the limit in %
(``memory.near-limit``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.memory.leaks import _NOT_PROCESS_BYTES, LEAKS, leak_check
from perflab.memory.pauses import PAUSES, gc_pauses
from perflab.memory.schema import SAMPLES
from perflab.recommend import Recommendation, rule, to_frame

__all__ = [
    "GC_PRESSURE",
    "LEAK",
    "LONG_GC_PAUSE",
    "NEAR_LIMIT",
    "findings",
    "gc_pressure",
    "leaks",
    "long_gc_pauses",
    "near_limit",
]

LEAK = rule("memory.leak", "high", "memory left after garbage collection keeps growing")
GC_PRESSURE = rule("memory.gc-pressure", "medium", "garbage collection takes much of the time")
LONG_GC_PAUSE = rule("memory.long-gc-pause", "medium", "garbage collection stalls the program")
NEAR_LIMIT = rule("memory.near-limit", "high", "memory is close to its limit")

_LEAKS_IN = LEAKS.subset(
    "series", "points", "span_hours", "level_mb", "slope_mb_per_hour", "ci_low", "ci_high",
    "p_value", "growth_pct", "hours_to_limit", "verdict",
)  # fmt: skip
_PAUSES_IN = PAUSES.subset(
    "kind", "count", "total_ms", "p50_ms", "p99_ms", "max_ms", "wall_s", "pause_share_pct"
)


def _span(hours: float | None) -> str:
    """``2.5 h``, ``12 min`` or ``25 s``: a duration in the unit that reads best."""
    if hours is None:
        return "an unknown time"
    if hours >= 1:
        return f"{hours:,.1f} h"
    if hours * 60 >= 1:
        return f"{hours * 60:.0f} min"
    return f"{hours * 3600:.0f} s"


def _subject(row: Mapping[str, Any], name: str) -> str:
    extra = [f"{k}={row[k]}" for k in ("source", "pid") if row.get(k) is not None]
    return " ".join([name, *extra])


def _mb(v: float) -> str:
    return f"{v / 1e9:,.2f} GB" if abs(v) >= 1e9 else f"{v / 1e6:,.1f} MB"


def leaks(leak_frame: FrameLike, *, critical_hours: float = 24.0) -> list[Recommendation]:
    """``memory.leak`` for each series whose verdict is ``leak``.

    Parameters
    ----------
    leak_frame : frame-like
        Output of :func:`~perflab.memory.leak_check`.
    critical_hours : float
        Severity is critical when the trend reaches the limit within this many hours.

    Examples
    --------
    >>> lk = pl.DataFrame({"series": ["heap_used"], "points": [24], "span_hours": [6.0],
    ...     "level_mb": [500.0], "slope_mb_per_hour": [50.0], "ci_low": [48.0],
    ...     "ci_high": [52.0], "p_value": [1e-9], "growth_pct": [150.0],
    ...     "hours_to_limit": [10.0], "verdict": ["leak"]})
    >>> [(r.rule, r.severity, r.impact) for r in leaks(lk)]
    [('memory.leak', 'critical', 50.0)]
    """
    df = as_frame(leak_frame, _LEAKS_IN).filter(pl.col("verdict") == "leak")
    out = []
    for row in df.iter_rows(named=True):
        htl = row["hours_to_limit"]
        to_limit = "" if htl is None else f"; at this rate it reaches its limit in {_span(htl)}"
        out.append(
            Recommendation.of(
                LEAK,
                subject=_subject(row, row["series"]),
                severity="critical" if htl is not None and htl <= critical_hours else None,
                finding=f"{row['series']} after garbage collection grows by "
                f"{row['slope_mb_per_hour']:,.1f} MB per hour "
                f"({row['growth_pct'] or 0:+.0f} % over {_span(row['span_hours'])}){to_limit}.",
                action="Take two heap snapshots some time apart (Chrome DevTools / "
                "`node --heapsnapshot-signal`, or tracemalloc for Python) and compare what "
                "keeps growing: unbounded caches and maps, listeners never removed, timers, "
                "closures holding requests. Cap or restart the process on a threshold "
                "meanwhile.",
                evidence=f"{row['points']} post-GC troughs over {_span(row['span_hours'])}; "
                f"Theil–Sen slope {row['slope_mb_per_hour']:,.2f} MB/h, 95 % CI "
                f"[{row['ci_low']:,.2f}, {row['ci_high']:,.2f}]; Mann–Kendall "
                f"p={row['p_value']:.2g}; level {row['level_mb']:,.1f} MB",
                impact=row["slope_mb_per_hour"],
                impact_unit="MB/h",
            )
        )
    return out


def gc_pressure(
    pauses: FrameLike, *, max_share_pct: float = 5.0, min_events: int = 10
) -> list[Recommendation]:
    """``memory.gc-pressure`` when the ``all`` row's pause share exceeds ``max_share_pct``.

    Parameters
    ----------
    pauses : frame-like
        Output of :func:`~perflab.memory.gc_pauses`.
    max_share_pct : float
        Largest acceptable share of wall time spent paused, %.
    min_events : int
        Fewest collections for the share to be trusted.

    Examples
    --------
    >>> p = pl.DataFrame({"kind": ["all"], "count": [400], "total_ms": [6000.0],
    ...     "p50_ms": [5.0], "p99_ms": [60.0], "max_ms": [80.0], "wall_s": [60.0],
    ...     "pause_share_pct": [10.0]})
    >>> [(r.rule, r.severity) for r in gc_pressure(p)]
    [('memory.gc-pressure', 'high')]
    """
    df = as_frame(pauses, _PAUSES_IN).filter(
        (pl.col("kind") == "all")
        & (pl.col("count") >= min_events)
        & (pl.col("pause_share_pct") > max_share_pct)
    )
    out = []
    for row in df.iter_rows(named=True):
        share = row["pause_share_pct"]
        out.append(
            Recommendation.of(
                GC_PRESSURE,
                subject=_subject(row, "garbage collection"),
                severity="high" if share >= 2 * max_share_pct else None,
                finding=f"The program is paused for garbage collection {share:.1f} % of the "
                f"time ({row['count']:,} collections).",
                action="Allocate less on hot paths (reuse buffers, avoid per-request "
                "copies and temporary arrays), and give the heap room: raise "
                "`--max-semi-space-size` for many scavenges, `--max-old-space-size` for "
                "many mark-compacts (Node), or the gen0 threshold (`gc.set_threshold`, "
                "Python).",
                evidence=f"{row['count']:,} collections, {row['total_ms']:,.0f} ms paused "
                f"in {row['wall_s']:,.1f} s of wall time; p50 {row['p50_ms']:.1f} ms, "
                f"p99 {row['p99_ms']:.1f} ms",
                impact=share,
                impact_unit="%",
            )
        )
    return out


def long_gc_pauses(
    pauses: FrameLike, *, max_p99_ms: float = 100.0, high_ms: float = 500.0
) -> list[Recommendation]:
    """``memory.long-gc-pause`` for each kind of collection whose p99 exceeds ``max_p99_ms``.

    Parameters
    ----------
    pauses : frame-like
        Output of :func:`~perflab.memory.gc_pauses` (the ``all`` row is skipped when
        kinds are given, so one cause is not reported twice).
    max_p99_ms, high_ms : float
        The budget, and the p99 from which the finding is high.

    Examples
    --------
    >>> p = pl.DataFrame({"kind": ["mark-compact", "all"], "count": [20, 20],
    ...     "total_ms": [3000.0] * 2, "p50_ms": [120.0] * 2, "p99_ms": [240.0] * 2,
    ...     "max_ms": [250.0] * 2, "wall_s": [600.0] * 2, "pause_share_pct": [0.5] * 2})
    >>> [(r.subject, r.impact) for r in long_gc_pauses(p)]
    [('mark-compact', 140.0)]
    """
    df = as_frame(pauses, _PAUSES_IN)
    if (df["kind"] != "all").any():
        df = df.filter(pl.col("kind") != "all")
    df = df.filter(pl.col("p99_ms") > max_p99_ms)
    out = []
    for row in df.iter_rows(named=True):
        out.append(
            Recommendation.of(
                LONG_GC_PAUSE,
                subject=_subject(row, str(row["kind"])),
                severity="high" if row["p99_ms"] >= high_ms else None,
                finding=f"{row['kind']} collections stop the program for "
                f"{row['p99_ms']:,.0f} ms at p99 (longest {row['max_ms']:,.0f} ms), over "
                f"the {max_p99_ms:g} ms a user notices.",
                action="Shrink what a full collection must trace: a smaller live heap "
                "(bound caches, move big data off-heap or out of process), fewer objects "
                "(typed arrays instead of object graphs); check for heap near its limit, "
                "which makes full collections longer and more frequent.",
                evidence=f"{row['count']:,} {row['kind']} collections: p50 "
                f"{row['p50_ms']:,.1f} ms, p99 {row['p99_ms']:,.1f} ms, max "
                f"{row['max_ms']:,.1f} ms",
                impact=row["p99_ms"] - max_p99_ms,
                impact_unit="ms",
            )
        )
    return out


def near_limit(
    samples: FrameLike,
    limit_bytes: float | Mapping[str, float],
    *,
    max_pct: float = 85.0,
    critical_pct: float = 95.0,
) -> list[Recommendation]:
    """``memory.near-limit`` for each series whose last value exceeds ``max_pct`` of its limit.

    Parameters
    ----------
    samples : frame-like
        :data:`~perflab.memory.schema.SAMPLES`.
    limit_bytes : float or mapping of str to float
        One limit for every byte series of the process, or one per series name
        (``{"rss": container_limit, "heap_used": max_old_space}``).
    max_pct, critical_pct : float
        Share of the limit that fires the rule, and that makes it critical.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> s = pl.DataFrame({"timestamp": [datetime(2024, 1, 1, tzinfo=UTC)] * 2,
    ...     "series": ["rss", "heap_used"], "value": [9.0e8, 3.0e8]})
    >>> [(r.subject, r.severity) for r in near_limit(s, {"rss": 1e9, "heap_used": 1e9})]
    [('rss', 'high')]
    """
    df = as_frame(samples, SAMPLES)
    if df.height == 0:
        return []
    keys = [c for c in ("pid", "source") if c in df.columns]
    if isinstance(limit_bytes, Mapping):
        limits = pl.DataFrame(
            {"series": list(limit_bytes), "limit": [float(v) for v in limit_bytes.values()]},
            schema={"series": pl.String, "limit": pl.Float64},
        )
        df = df.join(limits, on="series")
    else:
        df = df.filter(~pl.col("series").is_in(list(_NOT_PROCESS_BYTES))).with_columns(
            pl.lit(float(limit_bytes)).alias("limit")
        )
    last = (
        df.sort("timestamp")
        .group_by([*keys, "series"], maintain_order=True)
        .agg(
            pl.col("value").last().alias("last"),
            pl.col("value").max().alias("peak"),
            pl.col("timestamp").last().alias("at"),
            pl.col("limit").first(),
        )
        .with_columns((pl.col("last") / pl.col("limit") * 100).alias("pct"))
        .filter((pl.col("limit") > 0) & (pl.col("pct") > max_pct))
        .sort("pct", descending=True)
    )
    out = []
    for row in last.iter_rows(named=True):
        out.append(
            Recommendation.of(
                NEAR_LIMIT,
                subject=_subject(row, row["series"]),
                severity="critical" if row["pct"] >= critical_pct else None,
                finding=f"{row['series']} is at {row['pct']:.0f} % of its limit "
                f"({_mb(row['last'])} of {_mb(row['limit'])}).",
                action="Find what holds the memory (a heap snapshot) before the process is "
                "killed or thrashes in GC; if the working set is legitimately this big, "
                "raise the limit (container memory, `--max-old-space-size`) with headroom "
                "for peaks.",
                evidence=f"last {_mb(row['last'])} at {row['at']:%Y-%m-%d %H:%M:%S} UTC, "
                f"peak {_mb(row['peak'])}, limit {_mb(row['limit'])}",
                impact=row["pct"],
                impact_unit="%",
            )
        )
    return out


def findings(
    samples: FrameLike | None = None,
    gc_events: FrameLike | None = None,
    *,
    limit_bytes: float | Mapping[str, float] | None = None,
    alpha: float = 0.05,
    min_growth_mb_per_hour: float = 1.0,
    min_points: int = 8,
    min_span_hours: float = 0.25,
    critical_hours: float = 24.0,
    max_pause_share_pct: float = 5.0,
    min_gc_events: int = 10,
    max_p99_pause_ms: float = 100.0,
    near_limit_pct: float = 85.0,
    wall_s: float | None = None,
    only: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every memory rule that fires on these samples and GC events, ranked.

    Parameters
    ----------
    samples : frame-like, optional
        :data:`~perflab.memory.schema.SAMPLES` (pandas accepted).
    gc_events : frame-like, optional
        :data:`~perflab.memory.schema.GC_EVENTS`.
    limit_bytes : float or mapping of str to float, optional
        Limit of every byte series, or per series; enables ``memory.near-limit`` and
        the hours to the limit of ``memory.leak``.
    alpha, min_growth_mb_per_hour, min_points, min_span_hours
        Passed to :func:`~perflab.memory.leak_check`.
    critical_hours, max_pause_share_pct, min_gc_events, max_p99_pause_ms, near_limit_pct
        The thresholds of the module docstring's table.
    wall_s : float, optional
        The run's wall time, for the pause share (see :func:`~perflab.memory.gc_pauses`).
    only : sequence of str, optional
        Rule ids to run (default: all).

    Returns
    -------
    polars.DataFrame
        :data:`perflab.recommend.RECOMMENDATIONS`, ranked; empty when nothing fires
        or nothing is given.

    Examples
    --------
    >>> ev = pl.DataFrame({"elapsed_s": [float(i) for i in range(20)],
    ...     "kind": ["mark-compact"] * 20, "pause_ms": [150.0] * 20})
    >>> findings(gc_events=ev).select("rule", "severity").rows()
    [('memory.gc-pressure', 'high'), ('memory.long-gc-pause', 'medium')]
    """
    wanted = None if only is None else set(only)

    def on(r: object) -> bool:
        return wanted is None or getattr(r, "id", None) in wanted

    if near_limit_pct <= 0 or max_pause_share_pct <= 0 or max_p99_pause_ms <= 0:
        raise ParameterError("thresholds must be positive")
    recs: list[Recommendation] = []
    sampled = as_frame(samples, SAMPLES) if samples is not None else SAMPLES.empty()
    events = as_frame(gc_events) if gc_events is not None else None
    if events is not None and events.height == 0:
        events = None
    if on(LEAK) and (sampled.height or events is not None):
        lk = leak_check(
            sampled,
            gc_events=events,
            limit_bytes=limit_bytes,
            alpha=alpha,
            min_growth_mb_per_hour=min_growth_mb_per_hour,
            min_points=min_points,
            min_span_hours=min_span_hours,
        )
        recs += leaks(lk, critical_hours=critical_hours)
    if events is not None and (on(GC_PRESSURE) or on(LONG_GC_PAUSE)):
        pauses = gc_pauses(events, wall_s=wall_s)
        if on(GC_PRESSURE):
            recs += gc_pressure(pauses, max_share_pct=max_pause_share_pct, min_events=min_gc_events)
        if on(LONG_GC_PAUSE):
            recs += long_gc_pauses(pauses, max_p99_ms=max_p99_pause_ms)
    if on(NEAR_LIMIT) and limit_bytes is not None and sampled.height:
        recs += near_limit(sampled, limit_bytes, max_pct=near_limit_pct)
    return to_frame(recs)

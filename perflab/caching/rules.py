"""Caching rules: simulations, curves and live statistics as ranked recommendations.

=============================  ========  ==================================================
rule                           severity  fires when
=============================  ========  ==================================================
``caching.better-policy``      medium    at the cache's size another policy hits at least
                                         ``min_gain_pts`` (1) points more than the current
``caching.undersized``         high      the current size misses the hit-ratio target and
                                         a size on the curve reaches it
``caching.unreachable-target`` info      no size reaches the target: cold misses bound it
``caching.oversized``          low       halving the cache would cost less than
                                         ``min_gain_pts`` points: memory to give back
``caching.one-hit-wonders``    medium    ≥ ``one_hit_share`` (50 %) of objects are read at
                                         most once and the current policy admits them all
``caching.ttl-expiry``         medium    ≥ ``expiry_share`` (20 %) of misses are expired
                                         entries (live statistics or a simulation)
``caching.l2-errors``          high      the Redis level failed (live statistics)
``caching.low-hit-ratio``      medium    a live strategy's L1 hits under
                                         ``low_hit_ratio`` (50 %) of at least 100 gets
=============================  ========  ==================================================

Impacts are misses avoided per 1 000 requests (``misses/1k``), except the oversized
rule's, which is the memory given back (in the cache's unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from perflab.caching.curve import doubling_gain, recommend_size
from perflab.caching.schema import SIMULATION, STATS
from perflab.frames import FrameLike, as_frame
from perflab.recommend import Recommendation, rule, to_frame

__all__ = [
    "BETTER_POLICY",
    "L2_ERRORS",
    "LOW_HIT_RATIO",
    "ONE_HIT_WONDERS",
    "OVERSIZED",
    "TTL_EXPIRY",
    "UNDERSIZED",
    "UNREACHABLE",
    "policy_findings",
    "size_findings",
    "stats_findings",
    "top_recommendations",
    "trace_findings",
]

BETTER_POLICY = rule("caching.better-policy", "medium", "another policy hits more at this size")
UNDERSIZED = rule("caching.undersized", "high", "the cache is too small for its hit-ratio target")
UNREACHABLE = rule("caching.unreachable-target", "info", "no cache size reaches the target")
OVERSIZED = rule("caching.oversized", "low", "extra memory stopped paying")
ONE_HIT_WONDERS = rule("caching.one-hit-wonders", "medium", "most objects are read only once")
TTL_EXPIRY = rule("caching.ttl-expiry", "medium", "entries expire before they are read again")
L2_ERRORS = rule("caching.l2-errors", "high", "the Redis level is failing")
LOW_HIT_RATIO = rule("caching.low-hit-ratio", "medium", "a cache strategy rarely hits")

_ADMITTING = {"s3fifo", "sieve", "wtinylfu", "arc", "2q"}  # drop one-hit wonders quickly
_RUNTIME = ("lru", "lfu", "fifo", "sieve", "s3fifo")  # what perflab.caching.Cache runs


def _fmt_size(size: float, unit: str) -> str:
    if unit == "bytes":
        for step, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if size >= step:
                return f"{size / step:.1f} {name}"
        return f"{size:.0f} B"
    return f"{size:,.0f} objects"


def _at(sim: pl.DataFrame, size: int) -> pl.DataFrame:
    """Each policy's row at the simulated size nearest ``size``."""
    sizes = sim["size"].unique().sort()
    nearest = min(sizes.to_list(), key=lambda s: abs(s - size))
    return sim.filter(pl.col("size") == nearest)


def policy_findings(
    simulation: FrameLike,
    current_policy: str,
    current_size: int,
    *,
    min_gain_pts: float = 1.0,
) -> list[Recommendation]:
    """``caching.better-policy``: the best non-Belady policy at the current size.

    Examples
    --------
    >>> sim = {"policy": ["lru", "s3fifo"], "size": [100, 100], "unit": ["objects"] * 2,
    ...        "requests": [1000, 1000], "hits": [500, 560]}
    >>> [r.subject for r in policy_findings(sim, "lru", 100)]
    ['lru → s3fifo']
    """
    sim = as_frame(simulation, schema=SIMULATION.subset("policy", "size", "requests", "hits"))
    if sim.is_empty():
        return []
    if "hit_ratio" not in sim.columns:
        sim = sim.with_columns((pl.col("hits") / pl.col("requests")).alias("hit_ratio"))
    unit = sim["unit"][0] if "unit" in sim.columns else "objects"
    here = _at(sim.filter(pl.col("policy") != "belady"), current_size)
    mine = here.filter(pl.col("policy") == current_policy)
    # recommend what the runtime cache can run; a better policy it cannot run is context
    runnable = here.filter(pl.col("policy").is_in(list(_RUNTIME)))
    if mine.is_empty() or runnable.is_empty():
        return []
    best = runnable.sort("hit_ratio", descending=True).row(0, named=True)
    top = here.sort("hit_ratio", descending=True).row(0, named=True)
    gain = (best["hit_ratio"] - mine["hit_ratio"][0]) * 100
    if best["policy"] == current_policy or gain < min_gain_pts:
        return []
    return [
        Recommendation.of(
            BETTER_POLICY,
            subject=f"{current_policy} → {best['policy']}",
            finding=(
                f"at {_fmt_size(best['size'], unit)}, {best['policy']} hits "
                f"{best['hit_ratio']:.1%} of requests, {current_policy} {mine['hit_ratio'][0]:.1%}"
                + (
                    f" ({top['policy']}, which perflab's Cache does not run, "
                    f"{top['hit_ratio']:.1%})"
                    if top["policy"] != best["policy"]
                    else ""
                )
            ),
            action=(
                f"switch the cache's eviction policy to {best['policy']} "
                f"(perflab.caching.Cache supports lru, lfu, fifo, sieve and s3fifo)"
            ),
            evidence=f"trace replay of {best['requests']:,} requests",
            impact=gain * 10,
            impact_unit="misses/1k",
        )
    ]


def size_findings(
    curve: FrameLike,
    current_size: int,
    target_hit_ratio: float,
    *,
    compulsory_miss_ratio: float | None = None,
    min_gain_pts: float = 1.0,
) -> list[Recommendation]:
    """``caching.undersized``, ``caching.unreachable-target`` and ``caching.oversized``.

    Examples
    --------
    >>> c = {"size": [10, 20, 40, 80], "miss_ratio": [0.6, 0.4, 0.2, 0.195],
    ...      "policy": ["lru"] * 4, "unit": ["objects"] * 4}
    >>> [r.rule for r in size_findings(c, 10, 0.75)]
    ['caching.undersized']
    >>> [r.rule for r in size_findings(c, 80, 0.75)]
    ['caching.oversized']
    """
    df = as_frame(curve).drop_nulls("miss_ratio").sort("size")
    if df.is_empty():
        return []
    unit = df["unit"][0] if "unit" in df.columns else "objects"
    policy = df["policy"][0] if "policy" in df.columns else "the policy"
    sizes = df["size"].to_list()
    nearest = min(sizes, key=lambda s: abs(s - current_size))
    # the hit ratio at the current size itself, interpolated in log size between points
    hit_now = 1 - float(
        np.interp(
            np.log(current_size),
            np.log(df["size"].cast(pl.Float64).to_numpy()),
            df["miss_ratio"].cast(pl.Float64).to_numpy(),
        )
    )
    out: list[Recommendation] = []
    if hit_now < target_hit_ratio - 1e-9:
        need = recommend_size(df.filter(pl.col("size") > current_size), target_hit_ratio)
        if need is not None:
            out.append(
                Recommendation.of(
                    UNDERSIZED,
                    subject=f"{policy} at {_fmt_size(current_size, unit)}",
                    finding=(
                        f"hits {hit_now:.1%} of requests; the target {target_hit_ratio:.0%} "
                        f"needs {_fmt_size(need, unit)}"
                    ),
                    action=f"raise the cache's size to {_fmt_size(need, unit)}",
                    evidence="miss-ratio curve of the trace",
                    impact=(target_hit_ratio - hit_now) * 1000,
                    impact_unit="misses/1k",
                )
            )
        else:
            best = 1 - float(df["miss_ratio"].cast(pl.Float64).to_numpy().min())
            cold = (
                f"; {compulsory_miss_ratio:.1%} of requests are first reads no cache can hit"
                if compulsory_miss_ratio is not None
                else ""
            )
            out.append(
                Recommendation.of(
                    UNREACHABLE,
                    subject=f"target {target_hit_ratio:.0%}",
                    finding=f"the best size on the curve hits {best:.1%}{cold}",
                    action=(
                        "lower the target, or cut misses upstream: prefetch or warm the cache, "
                        "longer TTLs, fewer distinct keys"
                    ),
                    evidence="miss-ratio curve of the trace",
                    impact=(target_hit_ratio - best) * 1000,
                    impact_unit="misses/1k",
                )
            )
    gains = doubling_gain(df)
    half = [s for s in sizes if s <= nearest / 2]
    if half and hit_now >= target_hit_ratio:
        h = half[-1]
        lost = (hit_now - float(gains.filter(pl.col("size") == h)["hit_ratio"][0])) * 100
        if lost < min_gain_pts:
            out.append(
                Recommendation.of(
                    OVERSIZED,
                    subject=f"{policy} at {_fmt_size(current_size, unit)}",
                    finding=(
                        f"at {_fmt_size(h, unit)} the cache would hit only {lost:.2f} points less"
                    ),
                    action=(
                        f"shrink the cache towards {_fmt_size(h, unit)} and use the memory "
                        "elsewhere"
                    ),
                    evidence="miss-ratio curve of the trace",
                    impact=float(current_size - h),
                    impact_unit=unit,
                )
            )
    return out


def trace_findings(
    profile: Mapping[str, Any], current_policy: str, *, one_hit_share: float = 0.5
) -> list[Recommendation]:
    """``caching.one-hit-wonders`` from :func:`perflab.caching.profile.describe_trace`.

    Examples
    --------
    >>> [r.rule for r in trace_findings({"one_hit_share": 0.7, "objects": 10}, "lru")]
    ['caching.one-hit-wonders']
    """
    share = profile.get("one_hit_share")
    if share is None or share != share or share < one_hit_share or current_policy in _ADMITTING:
        return []
    return [
        Recommendation.of(
            ONE_HIT_WONDERS,
            subject=f"{profile.get('objects', 0):,} objects",
            finding=(
                f"{share:.0%} of the objects are read at most once, yet {current_policy} "
                "caches each"
            ),
            action="use a policy that drops them quickly (s3fifo, or sieve) or an admission filter",
            evidence="the trace's per-object read counts",
            impact=share * 100,
            impact_unit="% of objects",
        )
    ]


def stats_findings(
    stats: FrameLike,
    *,
    low_hit_ratio: float = 0.5,
    expiry_share: float = 0.2,
    min_gets: int = 100,
) -> list[Recommendation]:
    """Rules on the runtime cache's statistics (:data:`~perflab.caching.schema.STATS`).

    Examples
    --------
    >>> s = {"strategy": ["pages"], "level": ["l1"], "policy": ["lru"], "hits": [20],
    ...      "misses": [180], "evictions_ttl": [90], "errors": [0]}
    >>> sorted(r.rule for r in stats_findings(s))
    ['caching.low-hit-ratio', 'caching.ttl-expiry']
    """
    df = as_frame(stats, schema=STATS.subset("strategy", "level", "hits", "misses"))
    out: list[Recommendation] = []
    for row in df.iter_rows(named=True):
        gets = (row["hits"] or 0) + (row["misses"] or 0)
        name = f"{row['strategy']} ({row['level']})"
        errors = row.get("errors") or 0
        if errors and row["level"] != "l1":
            out.append(
                Recommendation.of(
                    L2_ERRORS,
                    subject=name,
                    finding=f"{errors:,} calls to the level failed; the L1 kept serving",
                    action=(
                        "check the Redis server and the network; until then the L1 absorbs the load"
                    ),
                    evidence="live cache statistics",
                    impact=errors / max(gets + errors, 1) * 1000,
                    impact_unit="misses/1k",
                )
            )
        if gets < min_gets or row["level"] != "l1":
            continue  # an L2 only sees L1's misses: its ratio is not the cache's
        ratio = row["hits"] / gets
        if ratio < low_hit_ratio:
            out.append(
                Recommendation.of(
                    LOW_HIT_RATIO,
                    subject=name,
                    finding=f"hits {ratio:.1%} of {gets:,} gets",
                    action=(
                        "size it from its own traffic: record a trace and run the caching notebook"
                    ),
                    evidence="live cache statistics",
                    impact=(low_hit_ratio - ratio) * 1000,
                    impact_unit="misses/1k",
                )
            )
        # evictions_ttl also counts expired entries swept before any get found them:
        # at most every miss can have been an expired entry
        expired = min(row.get("evictions_ttl") or 0, row["misses"] or 0)
        if row["misses"] and expired / row["misses"] >= expiry_share:
            out.append(
                Recommendation.of(
                    TTL_EXPIRY,
                    subject=name,
                    finding=(
                        f"{row.get('evictions_ttl') or 0:,} entries expired, against "
                        f"{row['misses']:,} misses: up to {expired / row['misses']:.0%} of "
                        "misses were of expired entries"
                    ),
                    action=(
                        "lengthen the TTL where staleness allows, or refresh hot entries "
                        "before they expire"
                    ),
                    evidence="live cache statistics",
                    impact=expired / gets * 1000,
                    impact_unit="misses/1k",
                )
            )
    return out


def top_recommendations(
    *,
    simulation: FrameLike | None = None,
    curve: FrameLike | None = None,
    profile: Mapping[str, Any] | None = None,
    stats: FrameLike | None = None,
    current_policy: str = "lru",
    current_size: int | None = None,
    target_hit_ratio: float = 0.9,
    n: int | None = None,
) -> pl.DataFrame:
    """Every caching rule that fires, in the shared recommendation schema, ranked.

    Parameters
    ----------
    simulation : frame, optional
        :func:`perflab.caching.simulate` output.
    curve : frame, optional
        The current policy's :func:`perflab.caching.miss_ratio_curve`.
    profile : mapping, optional
        :func:`perflab.caching.profile.describe_trace` of the trace.
    stats : frame, optional
        The runtime cache's ``stats()``.
    current_policy, current_size : str, int
        What the cache runs today (size in the simulation's unit); the size rules need it.
    target_hit_ratio : float
        The hit ratio the cache should reach.
    n : int, optional
        Keep the top ``n``.

    Returns
    -------
    polars.DataFrame
        The shared recommendation frame (:data:`perflab.recommend.RECOMMENDATIONS`).

    Examples
    --------
    >>> top_recommendations().height
    0
    """
    recs: list[Recommendation] = []
    if simulation is not None and current_size is not None:
        recs += policy_findings(simulation, current_policy, current_size)
    if curve is not None and current_size is not None:
        cold = profile.get("compulsory_miss_ratio") if profile else None
        recs += size_findings(curve, current_size, target_hit_ratio, compulsory_miss_ratio=cold)
    if profile is not None:
        recs += trace_findings(profile, current_policy)
    if stats is not None:
        recs += stats_findings(stats)
    out = to_frame(recs)
    return out.head(n) if n is not None else out

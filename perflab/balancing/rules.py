"""Load-balancing rules: what the logs and the simulation say to change.

===============================  ========  ================================================
rule                             severity  fires when (default thresholds, and their basis)
===============================  ========  ================================================
``balancing.imbalance``          medium    the busiest backend takes over 1.5× the mean
                                           share (equal weights assumed): one backend
                                           saturates first while others idle
``balancing.slow-backend``       high      a backend with ≥ 5 % of the requests has a p99
                                           service time over 2× the median of the other
                                           backends' p99: it sets the tail of everyone
``balancing.strategy-change``    medium    the simulation on the same trace shows another
                                           strategy cutting p99 by ≥ 20 % and ≥ 5 ms
                                           without failing more requests; **high** when
                                           the cut is ≥ 50 %
``balancing.no-health-checks``   high      neither active health checks nor passive
                                           outlier ejection is configured: a dead backend
                                           keeps its share of the traffic until someone
                                           notices
===============================  ========  ================================================

Impacts: excess share in percentage points (imbalance), p99 over the others in ms
(slow backend), p99 saved in ms (strategy change), requests failed in the simulated
outage that checks would have spared (no health checks).
"""

from __future__ import annotations

import polars as pl

from perflab.balancing.read import OBSERVED, observed_load
from perflab.balancing.schema import RESULTS
from perflab.frames import FrameLike, as_frame
from perflab.recommend import Recommendation, rule, to_frame

__all__ = [
    "IMBALANCE",
    "NO_HEALTH_CHECKS",
    "SLOW_BACKEND",
    "STRATEGY_CHANGE",
    "findings",
    "imbalance",
    "no_health_checks",
    "slow_backend",
    "strategy_change",
]

IMBALANCE = rule("balancing.imbalance", "medium", "traffic is spread unevenly over backends")
SLOW_BACKEND = rule("balancing.slow-backend", "high", "a slow backend drags the p99")
STRATEGY_CHANGE = rule(
    "balancing.strategy-change", "medium", "another balancing strategy cuts the p99"
)
NO_HEALTH_CHECKS = rule(
    "balancing.no-health-checks", "high", "no health checks or outlier ejection"
)


def imbalance(observed: FrameLike, *, max_ratio: float = 1.5) -> list[Recommendation]:
    """``balancing.imbalance`` when the busiest backend's share exceeds ``max_ratio`` × mean.

    Parameters
    ----------
    observed : frame-like
        :func:`~perflab.balancing.observed_load`'s frame.
    max_ratio : float
        Largest acceptable busiest/mean ratio.

    Examples
    --------
    >>> obs = pl.DataFrame({"backend": ["a", "b"], "requests": [900, 100]})
    >>> [(r.rule, round(r.impact)) for r in imbalance(obs)]
    [('balancing.imbalance', 40)]
    """
    df = OBSERVED.conform(as_frame(observed), required=["backend", "requests"])
    if df.height < 2:
        return []
    mean = df["requests"].mean()
    top = df.sort("requests", descending=True).row(0, named=True)
    ratio = top["requests"] / mean if mean else 0.0
    if ratio <= max_ratio:
        return []
    total = df["requests"].sum()
    fair = 100.0 / df.height
    share = 100.0 * top["requests"] / total
    return [
        Recommendation.of(
            IMBALANCE,
            subject=str(top["backend"]),
            finding=f"{top['backend']} took {share:.0f} % of the requests, {ratio:.2f}× the "
            f"mean of {df.height} backends (a fair share is {fair:.0f} %).",
            action="Check weights and hashing: ip_hash and consistent hashing follow the "
            "clients, and a few heavy clients make hot spots; least connections or p2c "
            "spread by load instead. If the backend is bigger on purpose, say so with a "
            "weight.",
            evidence="requests per backend: "
            + ", ".join(f"{b}={n}" for b, n in df.select("backend", "requests").rows()),
            impact=share - fair,
            impact_unit="pp",
        )
    ]


def slow_backend(
    observed: FrameLike, *, factor: float = 2.0, min_share_pct: float = 5.0
) -> list[Recommendation]:
    """``balancing.slow-backend`` for each backend whose p99 is over ``factor`` × the others'.

    Parameters
    ----------
    observed : frame-like
        :func:`~perflab.balancing.observed_load`'s frame.
    factor : float
        How many times the median of the other backends' p99 counts as slow.
    min_share_pct : float
        Backends with a smaller share of the requests are ignored.

    Examples
    --------
    >>> obs = pl.DataFrame({"backend": ["a", "b", "c"], "requests": [10, 10, 10],
    ...     "share_pct": [33.3, 33.3, 33.3], "p99_ms": [20.0, 22.0, 300.0]})
    >>> [(r.subject, r.impact) for r in slow_backend(obs)]
    [('c', 279.0)]
    """
    df = OBSERVED.conform(as_frame(observed), required=["backend", "p99_ms", "share_pct"])
    out = []
    for row in df.iter_rows(named=True):
        others = df.filter(pl.col("backend") != row["backend"])["p99_ms"].drop_nulls()
        if not others.len() or row["p99_ms"] is None or row["share_pct"] < min_share_pct:
            continue
        ref = float(others.median())  # type: ignore[arg-type]
        if ref > 0 and row["p99_ms"] > factor * ref:
            out.append(
                Recommendation.of(
                    SLOW_BACKEND,
                    subject=str(row["backend"]),
                    finding=f"{row['backend']} answers its slowest 1 % in "
                    f"{row['p99_ms']:,.0f} ms, {row['p99_ms'] / ref:.1f}× the other backends "
                    f"({ref:,.0f} ms), and still gets {row['share_pct']:.0f} % of the traffic.",
                    action="Find out why it is slow (CPU steal, a noisy neighbour, GC, a cold "
                    "cache); meanwhile a latency-aware strategy (peak_ewma) or least "
                    "connections sends it less, or lower its weight.",
                    evidence=f"p99 of service time: {row['backend']}={row['p99_ms']:,.1f} ms, "
                    f"median of the others={ref:,.1f} ms; share {row['share_pct']:.1f} %",
                    impact=row["p99_ms"] - ref,
                    impact_unit="ms",
                )
            )
    return out


def strategy_change(
    summary: FrameLike,
    current: str = "round_robin",
    *,
    min_gain_pct: float = 20.0,
    min_gain_ms: float = 5.0,
) -> list[Recommendation]:
    """``balancing.strategy-change`` when a simulated strategy beats ``current``'s p99.

    Parameters
    ----------
    summary : frame-like
        :func:`~perflab.balancing.simulate`'s frame, ``current`` among its strategies.
    current : str
        The strategy in use now.
    min_gain_pct, min_gain_ms : float
        The p99 cut must reach both.

    Examples
    --------
    >>> s = pl.DataFrame({"strategy": ["round_robin", "p2c"], "p99_ms": [400.0, 90.0],
    ...                   "failed": [3, 3]})
    >>> [(r.subject, r.severity, r.impact) for r in strategy_change(s)]
    [('round_robin → p2c', 'high', 310.0)]
    """
    df = RESULTS.conform(as_frame(summary), required=["strategy", "p99_ms", "failed"])
    now = df.filter(pl.col("strategy") == current)
    if not now.height or now["p99_ms"][0] is None:
        return []
    p99, failed = float(now["p99_ms"][0]), int(now["failed"][0])
    better = df.filter(
        (pl.col("strategy") != current)
        & pl.col("p99_ms").is_not_null()
        & (pl.col("failed") <= failed)
    ).sort("p99_ms")
    if not better.height:
        return []
    best = better.row(0, named=True)
    gain = p99 - best["p99_ms"]
    pct = 100.0 * gain / p99 if p99 else 0.0
    if gain < min_gain_ms or pct < min_gain_pct:
        return []
    return [
        Recommendation.of(
            STRATEGY_CHANGE,
            subject=f"{current} → {best['strategy']}",
            severity="high" if pct >= 50 else None,
            finding=f"Replayed on the same trace, {best['strategy']} brings p99 from "
            f"{p99:,.0f} ms to {best['p99_ms']:,.0f} ms ({pct:.0f} % less) without failing "
            "more requests.",
            action=f"Switch the balancer to {best['strategy']} (nginx: least_conn or the "
            "random two least_conn directive; HAProxy: balance leastconn or "
            "random(2); Envoy: LEAST_REQUEST; Linkerd/Finagle: peak EWMA).",
            evidence="simulated p99 by strategy: "
            + ", ".join(
                f"{s}={v:,.0f} ms" for s, v in df.select("strategy", "p99_ms").drop_nulls().rows()
            ),
            impact=gain,
            impact_unit="ms",
        )
    ]


def no_health_checks(
    *,
    health_checks: bool,
    outlier_ejection: bool,
    failed_without: int | None = None,
    failed_with: int | None = None,
) -> list[Recommendation]:
    """``balancing.no-health-checks`` when neither kind of check is configured.

    Parameters
    ----------
    health_checks, outlier_ejection : bool
        What the balancer in use has.
    failed_without, failed_with : int, optional
        Requests failed in a simulated outage without and with checks (the impact).

    Examples
    --------
    >>> [r.impact for r in no_health_checks(health_checks=False, outlier_ejection=False,
    ...                                     failed_without=900, failed_with=40)]
    [860.0]
    """
    if health_checks or outlier_ejection:
        return []
    spared = None
    evidence = "configuration: no active health check, no passive ejection"
    if failed_without is not None and failed_with is not None:
        spared = float(failed_without - failed_with)
        evidence += (
            f"; simulated outage: {failed_without} requests failed without checks, "
            f"{failed_with} with them"
        )
    return [
        Recommendation.of(
            NO_HEALTH_CHECKS,
            subject="balancer",
            finding="A backend that dies keeps receiving its share of requests: nothing "
            "takes it out of rotation.",
            action="Turn on passive ejection (nginx max_fails/fail_timeout, Envoy "
            "outlier_detection) and an active check (HAProxy `check`, nginx Plus "
            "health_check, Envoy health_checks) on a cheap endpoint.",
            evidence=evidence,
            impact=spared,
            impact_unit="requests",
        )
    ]


def findings(
    trace: FrameLike,
    summary: FrameLike | None = None,
    *,
    current: str = "round_robin",
    health_checks: bool = True,
    outlier_ejection: bool = True,
    failed_without: int | None = None,
    failed_with: int | None = None,
) -> pl.DataFrame:
    """Every balancing rule on a trace (and a simulation summary), ranked.

    Parameters
    ----------
    trace : frame-like
        :data:`~perflab.balancing.schema.TRACE` as read from the balancer's log.
    summary : frame-like, optional
        :func:`~perflab.balancing.simulate` on that trace, ``current`` among its rows.
    current : str
        The strategy the balancer uses.
    health_checks, outlier_ejection : bool
        What the balancer in use has.
    failed_without, failed_with : int, optional
        Simulated failures without and with checks, for the impact.

    Returns
    -------
    polars.DataFrame
        The shared recommendations frame, ranked.

    Examples
    --------
    >>> tr = pl.DataFrame({"time_s": [0.0, 0.1], "service_ms": [5.0, 6.0],
    ...                    "backend": ["a", "b"]})
    >>> findings(tr).height
    0
    """
    obs = observed_load(trace)
    recs = [*imbalance(obs), *slow_backend(obs)]
    if summary is not None:
        recs += strategy_change(summary, current)
    recs += no_health_checks(
        health_checks=health_checks,
        outlier_ejection=outlier_ejection,
        failed_without=failed_without,
        failed_with=failed_with,
    )
    return to_frame(recs)

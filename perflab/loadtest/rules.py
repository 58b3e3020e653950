"""Load-testing rules: a run's requests, summary, timeline and comparison, ranked.

==================================  ========  ================================================
rule                                severity  fires when
==================================  ========  ================================================
``loadtest.slo-breach``             high      the p95 or p99 is over its target (``p95_ms``,
                                              ``p99_ms``; no target, no rule)
``loadtest.error-rate``             high      more than ``error_rate`` (1 %) of requests
                                              failed; **critical** over ``critical_error_rate``
                                              (5 %)
``loadtest.saturation``             high      the server could not keep up: the achieved rate
                                              is under ``1 − rate_gap`` (90 %) of the offered
                                              one, or requests queued for a connection (their
                                              median wait ≥ ``lag_ms``, 10 ms, and at least
                                              the service time) for the rest of the test;
                                              the rate where it broke when the data shows it
``loadtest.regression``             high      :func:`~perflab.loadtest.compare` says
                                              ``slower`` (latency up, throughput down, more
                                              errors) beyond its margin
``loadtest.client-lag``             high      requests went out late while most connections
                                              were free: the median of ``sent − start`` of
                                              those ≥ ``lag_ms`` — the load generator itself
                                              was overloaded and the test is not valid
``loadtest.coordinated-omission``   medium    an open-model run's corrected p99 is ≥
                                              ``co_ratio`` (2) × its service p99; or a
                                              closed-loop tool's sending rate dropped under
                                              half its median while a request stalled
``loadtest.tail-latency``           medium    p99 ≥ ``tail_ratio`` (10) × p50 and ≥ p50 +
                                              ``tail_min_ms`` (5 ms), with ≥ 100 requests;
                                              for all requests of several names, only when
                                              a name has such a tail too
``loadtest.warm-up``                low       the first windows' median latency is ≥
                                              ``warmup_factor`` (1.5) × the steady state's
                                              and the slow start is under a quarter of the test
``loadtest.inconclusive``           info      a comparison cannot tell: how many times the
                                              requests it would need, from its interval width
==================================  ========  ================================================

Impacts: milliseconds over the target or over the service time (``ms``), the share of
requests that failed (``%``), the throughput missing (``req/s``), the relative change
(``%``), requests a closed-loop tool did not send (``requests``), or the factor of more
requests a comparison needs (``× requests``).

Requests are judged on the ``"all"`` row of the summary and, when a run has several
request names, on each name too; when a rule fires for all requests, the names it
fires for are listed in that one finding instead of one finding each. With several
names, ``loadtest.tail-latency`` fires for all requests only when at least one name
has a tail of its own: fast and slow endpoints mixed put the p99 of all requests far
off their median although no request is slow for its kind. A rule that
needs a column the data does not have (``sent`` and ``service_ms`` from most
importers) stays quiet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.loadtest.schema import COMPARISON, REQUESTS, SUMMARY, TIMELINE
from perflab.recommend import Recommendation, rule, to_frame

__all__ = [
    "CLIENT_LAG",
    "COORDINATED_OMISSION",
    "ERROR_RATE",
    "INCONCLUSIVE",
    "REGRESSION",
    "SATURATION",
    "SLO_BREACH",
    "TAIL_LATENCY",
    "WARM_UP",
    "comparison_findings",
    "request_findings",
    "summary_findings",
    "timeline_findings",
    "top_recommendations",
]

SLO_BREACH = rule("loadtest.slo-breach", "high", "a latency percentile is over its target")
ERROR_RATE = rule("loadtest.error-rate", "high", "too many requests failed")
SATURATION = rule("loadtest.saturation", "high", "the server could not sustain the offered rate")
REGRESSION = rule("loadtest.regression", "high", "the candidate is worse than the baseline")
CLIENT_LAG = rule("loadtest.client-lag", "high", "the load generator itself fell behind")
COORDINATED_OMISSION = rule(
    "loadtest.coordinated-omission", "medium", "the service time understates what users waited"
)
TAIL_LATENCY = rule(
    "loadtest.tail-latency", "medium", "the slowest requests are far off the median"
)
WARM_UP = rule("loadtest.warm-up", "low", "the first seconds were slower than the steady state")
INCONCLUSIVE = rule("loadtest.inconclusive", "info", "a comparison cannot tell")

ALL = "all"
_OVERALL = "all requests"
_MIN_TAIL_REQUESTS = 100  # a p99 of fewer requests is two or three of them
_MIN_WINDOW_REQUESTS = 5  # a window's median of fewer requests is noise
_FREED_S = 0.0005  # a send this soon after a response ended waited for that connection
_SUSTAINED = 0.8  # share of the remaining windows that must be behind
_MIN_BEHIND_WINDOWS = 3


def _ms(v: float) -> str:
    return f"{v:,.0f} ms" if v >= 100 else f"{v:,.1f} ms" if v >= 1 else f"{v:,.2f} ms"


def _rate(v: float) -> str:
    return f"{v:,.0f} req/s" if v >= 10 else f"{v:,.1f} req/s"


def _num(v: Any) -> float | None:
    """A finite float, or None (null, NaN, infinite)."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


# --------------------------------------------------------------------------- summary


def _judged(summary: pl.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    """(subject, row) to judge: the ``"all"`` row, and every name when there are several."""
    overall = summary.filter(pl.col("name") == ALL)
    names = summary.filter((pl.col("name") != ALL) | pl.col("name").is_null())
    if overall.is_empty() and names.height == 1:
        overall, names = names, names.clear()
    out = [(_OVERALL, row) for row in overall.head(1).iter_rows(named=True)]
    if names.height >= 2:
        out += [(str(row["name"]), row) for row in names.iter_rows(named=True)]
    return out


def _evidence(row: dict[str, Any]) -> str:
    parts = [f"{row['requests']:,} requests" if row.get("requests") is not None else ""]
    if _num(row.get("rps")) is not None:
        parts.append(f"at {_rate(row['rps'])}")
    if _num(row.get("duration_s")) is not None:
        parts.append(f"over {row['duration_s']:,.0f} s")
    return " ".join(p for p in parts if p) or "the run's summary"


def summary_findings(
    summary: FrameLike,
    *,
    p95_ms: float | None = None,
    p99_ms: float | None = None,
    error_rate: float = 0.01,
    critical_error_rate: float = 0.05,
    offered_rps: float | None = None,
    rate_gap: float = 0.1,
    lag_ms: float = 10.0,
    tail_ratio: float = 10.0,
    tail_min_ms: float = 5.0,
    co_ratio: float = 2.0,
    queueing: bool = True,
) -> list[Recommendation]:
    """Rules on a :data:`~perflab.loadtest.schema.SUMMARY` table.

    ``loadtest.slo-breach``, ``loadtest.error-rate``, ``loadtest.tail-latency``, and on
    the ``"all"`` row ``loadtest.saturation`` (achieved against ``offered_rps``, or the
    median request queued as long as ``lag_ms`` and its service time) and
    ``loadtest.coordinated-omission`` (corrected p99 ≥ ``co_ratio`` × service p99).

    Parameters
    ----------
    summary : frame-like
        :func:`perflab.loadtest.summary` output, or what an aggregate-only importer
        returns (absent columns count as unknown).
    p95_ms, p99_ms : float, optional
        Latency targets; without them no SLO is judged.
    error_rate, critical_error_rate : float
        Failed share that is high, and critical.
    offered_rps : float, optional
        The arrival rate the test asked for; without it saturation is judged only
        from the wait for a connection.
    rate_gap : float
        Saturation when the ``"all"`` row's ``rps`` is under ``1 − rate_gap`` of
        ``offered_rps``.
    lag_ms : float
        Saturation when the median request waited this long for a connection
        (``p50_ms − service_p50_ms``) and ``p50_ms`` is at least twice
        ``service_p50_ms``.
    tail_ratio, tail_min_ms : float
        A tail when ``p99 ≥ tail_ratio × p50`` and ``p99 − p50 ≥ tail_min_ms``
        (with at least 100 requests).
    co_ratio : float
        Coordinated omission when the corrected p99 is at least ``co_ratio`` × the
        service p99 (and at least 1 ms over it).
    queueing : bool
        Read a median wait for a connection as saturation; off when the wait is the
        load generator's own (``loadtest.client-lag``).

    Returns
    -------
    list of Recommendation
        The findings; when a rule fires for all requests, the names it also fires
        for are a clause of that one finding, not findings of their own. Empty when
        nothing fires; :func:`top_recommendations` ranks them into the shared frame.

    Examples
    --------
    >>> s = {"name": ["all"], "requests": [1000], "errors": [80], "error_rate": [0.08],
    ...      "rps": [95.0], "p50_ms": [20.0], "p95_ms": [350.0], "p99_ms": [400.0]}
    >>> for r in summary_findings(s, p95_ms=300):
    ...     print(r.rule, r.severity)
    loadtest.slo-breach high
    loadtest.error-rate critical
    loadtest.tail-latency medium
    """
    df = SUMMARY.conform(as_frame(summary, SUMMARY.subset("name")), required=["name"])
    judged = _judged(df)
    # Fast and slow names mixed put a p99 far off the median of all requests with no
    # request slow for its kind: all requests have a tail only when some name has one.
    named_tail = any(
        _tail(subject, row, tail_ratio, tail_min_ms)
        for subject, row in judged
        if subject != _OVERALL
    )
    out: list[Recommendation] = []
    for subject, row in judged:
        out += _slo(subject, row, p95_ms, p99_ms)
        out += _errors(subject, row, error_rate, critical_error_rate)
        if subject != _OVERALL or len(judged) == 1 or named_tail:
            out += _tail(subject, row, tail_ratio, tail_min_ms)
        if subject == _OVERALL:
            out += _summary_saturation(row, offered_rps, rate_gap, lag_ms if queueing else None)
            out += _summary_omission(row, co_ratio)
    return _fold(out)


def _fold(recs: list[Recommendation]) -> list[Recommendation]:
    """One finding per rule when every request fires it: the names it also fires for
    become a clause of that finding (worst first), not findings of their own."""
    overall = {r.rule: r for r in recs if r.subject == _OVERALL}
    out = []
    for rec in recs:
        if rec.subject != _OVERALL and rec.rule in overall:
            continue
        if rec.subject == _OVERALL:
            names = sorted(
                (r for r in recs if r.rule == rec.rule and r.subject != _OVERALL),
                key=lambda r: -(r.impact or 0.0),
            )
            if names:
                listed = ", ".join(
                    r.subject + (f" ({r.impact:,.1f} {r.impact_unit})" if r.impact else "")
                    for r in names[:4]
                )
                more = f" and {len(names) - 4} more" if len(names) > 4 else ""
                rec = replace(rec, finding=f"{rec.finding} — by name: {listed}{more}")
        out.append(rec)
    return out


def _slo(
    subject: str, row: dict[str, Any], p95_ms: float | None, p99_ms: float | None
) -> list[Recommendation]:
    over = []
    for label, target in (("p95", p95_ms), ("p99", p99_ms)):
        value = _num(row.get(f"{label}_ms"))
        if target is not None and value is not None and value > target:
            over.append((label, value, float(target)))
    if not over:
        return []
    said = " and ".join(f"{label} is {_ms(v)} (target {_ms(t)})" for label, v, t in over)
    return [
        Recommendation.of(
            SLO_BREACH,
            subject=subject,
            finding=f"the {said}",
            action=(
                "find where the slow requests spend their time (database queries, cache "
                "misses, a slow dependency: the queries and caching notebooks) or find the "
                "highest rate that meets the target and plan capacity for it"
            ),
            evidence=_evidence(row),
            impact=max(v - t for _, v, t in over),
            impact_unit="ms",
        )
    ]


def _errors(
    subject: str, row: dict[str, Any], threshold: float, critical: float
) -> list[Recommendation]:
    requests = row.get("requests") or 0
    errors = row.get("errors")
    rate = _num(row.get("error_rate"))
    if rate is None and errors is not None and requests:
        rate = errors / requests
    if rate is None or rate <= threshold:
        return []
    count = f"{errors:,} of {requests:,}" if errors is not None else f"{rate:.1%} of"
    return [
        Recommendation.of(
            ERROR_RATE,
            subject=subject,
            finding=f"{count} requests failed ({rate:.1%}; the limit is {threshold:.1%})",
            action=(
                "read the error column: timeouts and refused or closed connections mean "
                "overload (lower the rate, or add capacity), http 5xx the application's own "
                "failures; fix them before trusting the latency — failed requests skew it"
            ),
            evidence=_evidence(row),
            impact=rate * 100,
            impact_unit="%",
            severity="critical" if rate > critical else None,
        )
    ]


def _tail(subject: str, row: dict[str, Any], ratio: float, min_ms: float) -> list[Recommendation]:
    p50, p99 = _num(row.get("p50_ms")), _num(row.get("p99_ms"))
    requests = row.get("requests") or 0
    if p50 is None or p99 is None or p50 <= 0 or requests < _MIN_TAIL_REQUESTS:
        return []
    if p99 < ratio * p50 or p99 - p50 < min_ms:
        return []
    return [
        Recommendation.of(
            TAIL_LATENCY,
            subject=subject,
            finding=(
                f"the p99 ({_ms(p99)}) is {p99 / p50:,.0f}× the median ({_ms(p50)}): one "
                "request in a hundred is far slower than the typical one"
            ),
            action=(
                "look at what the slowest requests share: bursts in the latency-over-time "
                "chart are stalls (GC pauses, locks, a cold cache, a blocked event loop), a "
                "spread-out tail is a slow dependency or path — a page that makes many calls "
                "hits the p99 on most loads"
            ),
            evidence=_evidence(row),
            impact=p99 - p50,
            impact_unit="ms",
        )
    ]


def _summary_saturation(
    row: dict[str, Any], offered_rps: float | None, gap: float, lag_ms: float | None
) -> list[Recommendation]:
    rps = _num(row.get("rps"))
    p50, service_p50 = _num(row.get("p50_ms")), _num(row.get("service_p50_ms"))
    if offered_rps and rps is not None and rps < (1 - gap) * offered_rps:
        return [
            _saturation(
                f"the server completed {_rate(rps)} of the {_rate(offered_rps)} offered "
                f"({rps / offered_rps:.0%})",
                _evidence(row),
                offered_rps - rps,
            )
        ]
    if lag_ms is not None and p50 is not None and service_p50 is not None:
        wait = p50 - service_p50
        if wait >= lag_ms and p50 >= 2 * service_p50:
            return [
                _saturation(
                    f"the median request waited about {_ms(wait)} for a free connection "
                    f"before it was sent, longer than the server took to answer it "
                    f"({_ms(service_p50)}): requests queued",
                    _evidence(row),
                    None,
                )
            ]
    return []


def _saturation(finding: str, evidence: str, impact: float | None) -> Recommendation:
    return Recommendation.of(
        SATURATION,
        subject=_OVERALL,
        finding=finding,
        action=(
            "this rate is past what the system sustains: find the bottleneck at the break "
            "(CPU, a pool of connections or workers, a lock, the database) or plan capacity "
            "below it; a load test's latency past saturation only measures the queue"
        ),
        evidence=evidence,
        impact=impact,
        impact_unit="req/s" if impact is not None else "",
        score=impact if impact is not None else 1e6,  # a queue we cannot price comes first
    )


def _summary_omission(row: dict[str, Any], ratio: float) -> list[Recommendation]:
    p99, service_p99 = _num(row.get("p99_ms")), _num(row.get("service_p99_ms"))
    if p99 is None or service_p99 is None or service_p99 <= 0:
        return []
    if p99 < ratio * service_p99 or p99 - service_p99 < 1.0:
        return []
    return [
        Recommendation.of(
            COORDINATED_OMISSION,
            subject=_OVERALL,
            finding=(
                f"counted from when they were due, requests waited {_ms(p99)} at the p99; "
                f"counted from when they were sent — what wrk, Locust, JMeter or ab report — "
                f"{_ms(service_p99)}: a closed-loop tool would have shown a p99 "
                f"{p99 / service_p99:,.1f}× too good, because it stops sending while the "
                "server stalls"
            ),
            action=(
                "quote the corrected latency (latency_ms); with other tools use an open "
                "model (wrk2 -R, k6 constant-arrival-rate, Gatling constantUsersPerSec), and "
                "look for what stalls the server in the latency-over-time chart"
            ),
            evidence=f"{_evidence(row)}; open-model arrival schedule",
            impact=p99 - service_p99,
            impact_unit="ms",
        )
    ]


# --------------------------------------------------------------------------- windows


def _sustained(behind: Sequence[bool]) -> int | None:
    """First window from which (almost) every later one is behind, if any."""
    flags = np.asarray(behind, dtype=bool)
    n = flags.size
    if n == 0:
        return None
    rest = np.cumsum(flags[::-1])[::-1] / np.arange(n, 0, -1)  # share behind from i on
    for i in range(n - _MIN_BEHIND_WINDOWS + 1):
        if flags[i] and rest[i] >= _SUSTAINED and int(flags[i:].sum()) >= _MIN_BEHIND_WINDOWS:
            return i
    return None


def _warm_up(windows: pl.DataFrame, factor: float, window: float) -> Recommendation | None:
    """``loadtest.warm-up`` on windows with ``second``, ``requests`` and ``p50_ms``."""
    w = windows.filter(
        (pl.col("requests") >= _MIN_WINDOW_REQUESTS) & pl.col("p50_ms").is_not_null()
    ).sort("second")
    if w.height < 6:
        return None
    p50 = w["p50_ms"].to_numpy()
    steady = float(np.median(p50[w.height // 2 :]))
    slow = (p50 >= factor * steady) & (p50 - steady >= 1.0)
    head = int(np.argmin(slow)) if not slow.all() else w.height  # leading slow windows
    if head == 0 or head > w.height // 4:
        return None
    weights = w["requests"].to_numpy()[:head]
    first = float(np.average(p50[:head], weights=weights))
    until = float(w["second"][head])
    return Recommendation.of(
        WARM_UP,
        subject=_OVERALL,
        finding=(
            f"the first {until:,.0f} s answered at a median of {_ms(first)}, "
            f"{first / steady:,.1f}× the steady state's {_ms(steady)}: a warm-up "
            "(cold caches, JIT compilation, connection pools filling)"
        ),
        action=(
            f"leave the first {math.ceil(until + window):,} s out of the measurement "
            f"(perflab.loadtest.run(..., warmup={math.ceil(until + window)}), or a ramp-up "
            "stage in k6 or Locust) — or, if production sees cold starts, test them on purpose"
        ),
        evidence=f"median latency per {window:g}-s window over {w.height} windows",
        impact=first - steady,
        impact_unit="ms",
    )


def _overall_timeline(df: pl.DataFrame) -> pl.DataFrame:
    """The ``"all"`` rows, or the names merged (sums; request-weighted percentiles)."""
    if (df["name"] == ALL).any():
        return df.filter(pl.col("name") == ALL).sort("second")
    w = pl.col("requests").cast(pl.Float64)
    return (
        df.group_by("second")
        .agg(
            pl.col("requests").sum(),
            pl.col("rps").sum(),
            *[
                ((pl.col(c) * w).sum() / w.filter(pl.col(c).is_not_null()).sum()).alias(c)
                for c in ("p50_ms", "p95_ms", "service_p95_ms")
            ],
        )
        .sort("second")
    )


def timeline_findings(
    timeline: FrameLike,
    *,
    offered_rps: float | None = None,
    rate_gap: float = 0.1,
    lag_ms: float = 10.0,
    warmup_factor: float = 1.5,
) -> list[Recommendation]:
    """``loadtest.warm-up`` and ``loadtest.saturation`` from a TIMELINE.

    For data that has no per-request rows (Locust's stats history): the run fell
    behind from the window where — for the rest of the test — the p95 became at least
    twice the service p95 (by ``lag_ms`` or more) or the rate fell under
    ``1 − rate_gap`` of ``offered_rps``.

    Parameters
    ----------
    timeline : frame-like
        :data:`~perflab.loadtest.schema.TIMELINE` (``second``, ``name``, ``requests``
        and ``rps`` required; ``p50_ms`` for the warm-up, ``p95_ms`` and
        ``service_p95_ms`` for queueing). The ``"all"`` rows are judged, or the names
        merged when there is none.
    offered_rps : float, optional
        The arrival rate the test asked for; without it only queueing shows
        saturation.
    rate_gap : float
        The share of ``offered_rps`` a window may miss and still keep up.
    lag_ms : float
        How much longer than the service p95 the p95 must be to count as queued.
    warmup_factor : float
        The first windows are a warm-up when their median latency is at least this
        many times the steady state's (the second half's median).

    Returns
    -------
    list of Recommendation
        ``loadtest.warm-up`` and ``loadtest.saturation`` (subject ``"all
        requests"``) when they fire; empty otherwise.

    Examples
    --------
    >>> t = {"second": [float(i) for i in range(10)], "name": ["all"] * 10,
    ...      "requests": [100] * 10, "rps": [100.0] * 10, "errors": [0] * 10,
    ...      "p50_ms": [9.0, 8.0] + [3.0] * 8}
    >>> [r.rule for r in timeline_findings(t)]
    ['loadtest.warm-up']
    """
    tl = as_frame(timeline, TIMELINE.subset("second", "name", "requests", "rps"))
    tl = TIMELINE.conform(tl, required=["second", "name", "requests", "rps"])
    if tl.is_empty():
        return []
    w = _overall_timeline(tl)
    steps = w["second"].diff().drop_nulls()
    window = float(steps.filter(steps > 0).min() or 1.0) if steps.len() else 1.0  # type: ignore[arg-type]
    out: list[Recommendation] = []
    warm = _warm_up(w, warmup_factor, window)
    if warm is not None:
        out.append(warm)
    busy = w.filter(pl.col("requests") > 0)
    queued = (
        pl.col("service_p95_ms").is_not_null()
        & (pl.col("p95_ms") >= 2 * pl.col("service_p95_ms"))
        & (pl.col("p95_ms") - pl.col("service_p95_ms") >= lag_ms)
    ).fill_null(False)
    slow = pl.lit(False) if not offered_rps else pl.col("rps") < (1 - rate_gap) * offered_rps
    behind = busy.select(queued | slow).to_series().to_list()
    k = _sustained(behind)
    if k is not None:
        at = busy.row(k, named=True)
        before = busy.head(k)
        kept = float(before["rps"].median()) if before.height else None  # type: ignore[arg-type]
        out.append(
            _saturation(
                f"from {at['second']:,.0f} s on, at {_rate(at['rps'])}, the run fell behind "
                "for good (the p95 at least twice the service time, or the rate short of the "
                "offered one)" + (f"; before, it kept up at about {_rate(kept)}" if kept else ""),
                f"{busy.height} windows of {window:g} s",
                (offered_rps - float(busy["rps"][k:].mean())) if offered_rps else None,  # type: ignore[arg-type]
            )
        )
    return out


# --------------------------------------------------------------------------- requests


def _requests(results: FrameLike) -> pl.DataFrame:
    df = as_frame(results, REQUESTS.subset("latency_ms"))
    return REQUESTS.conform(df, required=["latency_ms"])


def request_findings(
    results: FrameLike,
    *,
    window: float = 1.0,
    lag_ms: float = 10.0,
    rate_gap: float = 0.1,
    warmup_factor: float = 1.5,
) -> list[Recommendation]:
    """Rules that need every request: client lag, saturation, closed-loop gaps, warm-up.

    ``loadtest.client-lag``: requests sent late (``sent − start``) while most of the
    connections were idle — the in-flight requests at each send, counted from
    ``sent`` and ``service_ms``, under half the most ever in flight.
    ``loadtest.saturation``: per ``window`` of the schedule, requests queued (their
    median wait ≥ ``lag_ms`` and ≥ their median service time) or fewer completed than
    were due (under ``1 − rate_gap``), from some window to the end — the offered rate
    there is where it broke. ``loadtest.coordinated-omission``: in a closed-loop run
    (no send time apart from the start) the sends paused for 20× their median spacing
    and 10× the median latency — the tool waited for stalled answers. ``loadtest.warm-up`` as in
    :func:`timeline_findings`.

    Parameters
    ----------
    results : frame-like
        :data:`~perflab.loadtest.schema.REQUESTS` (only ``latency_ms`` is required;
        each rule quietly needs its columns). Requests without a ``start`` are left
        out; fewer than 10 with one give no finding.
    window : float
        Seconds per window of the schedule (saturation, warm-up).
    lag_ms : float
        How late a send (client lag) or how long a median wait (saturation) counts.
    rate_gap : float
        Saturation when a window completes under ``1 − rate_gap`` of the requests
        due in it.
    warmup_factor : float
        As in :func:`timeline_findings`.

    Returns
    -------
    list of Recommendation
        ``loadtest.client-lag``, ``loadtest.saturation`` (or, for a closed-loop run,
        ``loadtest.coordinated-omission``) and ``loadtest.warm-up``, each at most
        once (subject ``"all requests"``), when they fire; empty otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> start = np.arange(2000) / 100.0  # 100 req/s for 20 s …
    >>> late = np.where(start > 10, (start - 10) * 0.5, 0.0)  # … sent ever later after 10 s
    >>> r = pl.DataFrame({"start": start, "sent": start + late,
    ...     "latency_ms": late * 1000 + 20.0, "service_ms": np.full(2000, 20.0)})
    >>> [(r.rule, r.subject) for r in request_findings(r)]
    [('loadtest.saturation', 'all requests')]
    """
    df = _requests(results).filter(pl.col("start").is_not_null())
    if df.height < 2 * _MIN_WINDOW_REQUESTS:
        return []
    out: list[Recommendation] = []
    opened = df.filter(pl.col("sent").is_not_null())
    if _closed(df):  # one clock: the tool never knew when a request was due
        opened = opened.clear()
    lagged = _client_lag(opened, lag_ms) if opened.height else None
    if lagged is not None:
        out.append(lagged)
    windows = _windows(df, window)
    if opened.height:
        sat = _request_saturation(windows, window, lag_ms, rate_gap, check_lag=lagged is None)
        if sat is not None:
            out.append(sat)
    else:
        gap = _closed_gaps(df)
        if gap is not None:
            out.append(gap)
    warm = _warm_up(windows, warmup_factor, window)
    if warm is not None:
        out.append(warm)
    return out


def _closed(df: pl.DataFrame) -> bool:
    """No send time apart from the start: a closed model, or a tool that does not say."""
    both = df.filter(pl.col("sent").is_not_null() & pl.col("service_ms").is_not_null())
    if both.is_empty():
        return True
    gap = both.select((pl.col("latency_ms") - pl.col("service_ms")).abs().max()).item()
    return gap is None or gap < 1e-6


def _windows(df: pl.DataFrame, window: float) -> pl.DataFrame:
    """Per window of the schedule: requests due and done, latency, wait and service."""
    due = (
        df.group_by((pl.col("start") / window).floor().cast(pl.Int64).alias("w"))
        .agg(
            pl.len().alias("requests"),
            pl.col("latency_ms").median().alias("p50_ms"),
            pl.col("latency_ms").max().alias("max_ms"),
            pl.col("service_ms").median().alias("service_p50_ms"),
            ((pl.col("sent") - pl.col("start")) * 1000).median().alias("wait_ms"),
        )
        .sort("w")
    )
    done = (
        df.filter(pl.col("latency_ms").is_not_null())
        .group_by(
            ((pl.col("start") + pl.col("latency_ms") / 1000) / window)
            .floor()
            .cast(pl.Int64)
            .alias("w")
        )
        .agg(pl.len().alias("done"))
    )
    lo, hi = int(due["w"].min()), int(due["w"].max())  # type: ignore[arg-type]
    grid = pl.DataFrame({"w": pl.int_range(lo, hi + 1, eager=True)})
    return (
        grid.join(due, on="w", how="left")
        .join(done, on="w", how="left")
        .with_columns(
            pl.col("requests", "done").fill_null(0),
            (pl.col("w") * window).alias("second"),
        )
        .with_columns(
            (pl.col("requests") / window).alias("offered_rps"),
            (pl.col("done") / window).alias("achieved_rps"),
        )
    )


def _client_lag(df: pl.DataFrame, lag_ms: float) -> Recommendation | None:
    """Late sends while most connections were idle: the generator, not the server."""
    timed = df.filter(pl.col("service_ms").is_not_null())
    if timed.height < 20:
        return None
    sent = timed["sent"].to_numpy()
    ends = np.sort(sent + timed["service_ms"].to_numpy() / 1000)
    order = np.sort(sent)
    # requests in flight when each one went out (itself not counted); one that ended in
    # the last half millisecond counts as busy: its connection is the one that was freed
    busy = np.searchsorted(order, sent, side="left") - np.searchsorted(
        ends, sent - _FREED_S, side="right"
    )
    peak = int(busy.max())
    idle = busy < max(1.0, 0.5 * peak)
    lag = (sent - timed["start"].to_numpy()) * 1000
    if idle.sum() < 20:
        return None
    median = float(np.median(lag[idle]))
    if median < lag_ms:
        return None
    return Recommendation.of(
        CLIENT_LAG,
        subject=_OVERALL,
        finding=(
            f"requests went out a median {_ms(median)} after they were due while most "
            f"connections were idle (under half of the {peak:,} ever busy at once): the "
            "load generator could not keep its own schedule"
        ),
        action=(
            "the results measure the load generator, not the server: run it with more "
            "workers (processes), on a machine of its own, or at a lower rate — and check "
            "its CPU during the test"
        ),
        evidence=f"{int(idle.sum()):,} of {timed.height:,} requests sent with connections free",
        impact=median,
        impact_unit="ms",
    )


def _request_saturation(
    windows: pl.DataFrame, window: float, lag_ms: float, gap: float, *, check_lag: bool
) -> Recommendation | None:
    busy = windows.filter(pl.col("requests") > 0)
    if busy.height < _MIN_BEHIND_WINDOWS + 1:
        return None
    short = pl.col("achieved_rps") < (1 - gap) * pl.col("offered_rps")
    queued = (pl.col("wait_ms") >= lag_ms) & (
        pl.col("wait_ms") >= pl.col("service_p50_ms").fill_null(0.0)
    )
    # the last window is partial and its completions spill past the end: judge the others
    flags = busy.head(busy.height - 1).select(
        ((queued if check_lag else pl.lit(False)) | short).fill_null(False)
    )
    k = _sustained(flags.to_series().to_list())
    if k is None:
        return None
    at = busy.slice(max(0, k - 1), 3)["offered_rps"].mean()  # around the break
    best = float(
        busy["achieved_rps"].rolling_mean(min(3, busy.height)).max()  # type: ignore[arg-type]
    )
    second = float(busy["second"][k])
    wait = busy["wait_ms"].drop_nulls()
    worst = f"; the median wait to be sent reached {_ms(float(wait.max()))}" if wait.len() else ""  # type: ignore[arg-type]
    offered = float(busy["offered_rps"][k:].mean())  # type: ignore[arg-type]
    return _saturation(
        f"from {second:,.0f} s on, at about {_rate(float(at))} offered, requests began to "  # type: ignore[arg-type]
        f"queue and never caught up: the server completed at most {_rate(best)}{worst}",
        f"{busy.height} windows of {window:g} s of the arrival schedule",
        max(offered - best, 0.0),
    )


def _closed_gaps(df: pl.DataFrame) -> Recommendation | None:
    """A closed-loop run that stopped sending while it waited for stalled answers."""
    start = np.sort(df["start"].to_numpy())
    lat = df["latency_ms"].drop_nulls()
    if start.size < 50 or lat.is_empty():
        return None
    gaps = np.diff(start)
    typical = float(np.median(gaps))
    p50 = float(lat.median())  # type: ignore[arg-type]
    # a pause is far longer than the usual spacing of sends and than a usual answer
    pauses = gaps[(gaps >= 20 * typical) & (gaps * 1000 >= 10 * p50)]
    if pauses.size == 0 or typical <= 0:
        return None
    missing = float((pauses / typical - 1).sum())
    p99 = float(lat.quantile(0.99, "linear"))  # type: ignore[arg-type]
    return Recommendation.of(
        COORDINATED_OMISSION,
        subject=_OVERALL,
        finding=(
            f"the tool stopped sending {pauses.size:,} time(s), for up to "
            f"{_ms(float(pauses.max()) * 1000)}, while it waited for slow answers (it "
            f"usually sent one every {_ms(typical * 1000)}): a closed-loop tool waits "
            f"instead of sending, so the ~{missing:,.0f} requests users would have sent "
            f"meanwhile are missing and its p99 ({_ms(p99)}) understates what they waited"
        ),
        action=(
            "rerun with an open model (perflab.loadtest.run with a rate, wrk2 -R, k6 "
            "constant-arrival-rate), which keeps sending on schedule and counts each "
            "request's wait; meanwhile read the p99 as a lower bound"
        ),
        evidence=f"{start.size:,} send times, median spacing {_ms(typical * 1000)}",
        impact=missing,
        impact_unit="requests",
    )


# --------------------------------------------------------------------------- comparison


def comparison_findings(comparison: FrameLike) -> list[Recommendation]:
    """``loadtest.regression`` and ``loadtest.inconclusive`` from a COMPARISON.

    A ``slower`` verdict is a regression (latency up, throughput down, more errors);
    the latency metrics that got slower make one finding (per name), worst first.
    For an ``inconclusive`` one with an interval, how many times the requests (or runs)
    would settle it: the interval narrows as ``1/√n``, and must shrink to the distance
    between the change and the margin (it cannot when the change sits on the margin).

    Parameters
    ----------
    comparison : frame-like
        :data:`~perflab.loadtest.schema.COMPARISON`, as :func:`perflab.loadtest.compare`
        returns it (with ``by="name"`` its ``name`` column prefixes each subject).

    Returns
    -------
    list of Recommendation
        One ``loadtest.regression`` per name for its slower latency metrics (first,
        the worst metric leading), one per other slower metric (throughput, error
        rate), and one ``loadtest.inconclusive`` per inconclusive verdict whose two
        sides are known (how many times the requests would settle it, or why none
        would); empty when every verdict is ``faster`` or ``equivalent``.

    Examples
    --------
    >>> c = {"metric": ["p95", "p50"], "unit": ["ms", "ms"], "baseline": [100.0, 50.0],
    ...      "candidate": [130.0, 51.0], "change": [0.3, 0.02], "ci_low": [0.2, -0.1],
    ...      "ci_high": [0.4, 0.14], "p_value": [0.001, 0.4], "p_adjusted": [0.002, 0.4],
    ...      "margin": [0.05, 0.05], "verdict": ["slower", "inconclusive"]}
    >>> [(r.rule, r.subject) for r in comparison_findings(c)]
    [('loadtest.regression', 'latency (p95)'), ('loadtest.inconclusive', 'p50')]
    """
    df = as_frame(comparison, COMPARISON)
    out: list[Recommendation] = []
    latency: dict[str | None, list[Recommendation]] = {}  # slower latency metrics per name
    for row in df.iter_rows(named=True):
        subject = row["metric"] if row.get("name") is None else f"{row['name']} · {row['metric']}"
        if row["verdict"] == "slower":
            rec = _regression(subject, row)
            if row.get("unit") == "ms":
                latency.setdefault(row.get("name"), []).append(rec)
            else:
                out.append(rec)
        elif row["verdict"] == "inconclusive":
            found = _inconclusive(subject, row)
            if found is not None:
                out.append(found)
    for name, recs in latency.items():  # one finding for the latency, its metrics listed
        recs.sort(key=lambda r: -(r.impact or 0.0))
        metrics = [r.subject.rsplit(" · ", 1)[-1] for r in recs]
        out.insert(
            0,
            replace(
                recs[0],
                subject=("latency" if name is None else f"{name} · latency")
                + f" ({', '.join(metrics)})",
                finding="; ".join(f"{m} {r.finding}" for m, r in zip(metrics, recs, strict=True)),
            ),
        )
    return out


def _value(v: float | None, unit: str | None) -> str:
    if v is None:
        return "–"
    if unit == "ms":
        return _ms(v)
    if unit in ("fraction", "share", "ratio") or (unit is None and 0 <= v <= 1):
        return f"{v:.2%}"
    return f"{v:,.4g} {unit or ''}".rstrip()


def _interval(row: dict[str, Any]) -> str:
    lo, hi = _num(row.get("ci_low")), _num(row.get("ci_high"))
    if lo is None or hi is None:
        return ""
    return f", interval {lo:+.1%} to {hi:+.1%}"


def _regression(subject: str, row: dict[str, Any]) -> Recommendation:
    change = _num(row.get("change"))
    unit = row.get("unit")
    moved = f"{change:+.1%}" if change is not None else "from nothing"
    p = _num(row.get("p_adjusted"))
    return Recommendation.of(
        REGRESSION,
        subject=subject,
        finding=(
            f"{_value(row['baseline'], unit)} → {_value(row['candidate'], unit)} "
            f"({moved}{_interval(row)}), beyond the ±{(row.get('margin') or 0):.0%} margin"
        ),
        action=(
            "find the change that did it before it ships: bisect between the two builds "
            "(perflab.loadtest.benchmark times two alternatives interleaved), and compare "
            "their profiles"
        ),
        evidence="baseline against candidate"
        + (f", adjusted p = {p:.2g}" if p is not None else ""),
        impact=abs(change) * 100 if change is not None else None,
        impact_unit="%",
    )


def _inconclusive(subject: str, row: dict[str, Any]) -> Recommendation | None:
    change, lo, hi = _num(row.get("change")), _num(row.get("ci_low")), _num(row.get("ci_high"))
    margin = abs(_num(row.get("margin")) or 0.0)
    if change is None or lo is None or hi is None or hi <= lo:
        if row.get("baseline") is None or row.get("candidate") is None:
            return None  # a side is missing: nothing more data of the same kind would fix
        return Recommendation.of(
            INCONCLUSIVE,
            subject=subject,
            finding="no interval: the results carry no spread (summaries) or too few values",
            action="compare per-request results (REQUESTS) of both runs, a few hundred or more",
            evidence="baseline against candidate",
        )
    half = (hi - lo) / 2
    room = abs(abs(change) - margin)  # how narrow the half-interval must get
    if room < 0.2 * margin or room < 1e-3:
        need = "the change sits on the margin: no number of requests will settle it"
        factor = None
        action = f"decide whether a change of {abs(change):.1%} matters, and set the margin"
    else:
        factor = (half / room) ** 2
        need = f"about {factor:,.0f}× as many requests (or runs) would narrow it enough"
        action = (
            f"rerun both sides with about {math.ceil(factor):,}× the requests (a longer "
            "or a faster test), or repeat each run and compare the runs"
        )
    return Recommendation.of(
        INCONCLUSIVE,
        subject=subject,
        finding=f"changed {change:+.1%}{_interval(row)} against a ±{margin:.0%} margin: {need}",
        action=action,
        evidence="baseline against candidate",
        impact=factor,
        impact_unit="× requests" if factor is not None else "",
    )


# --------------------------------------------------------------------------- all


def top_recommendations(
    results: FrameLike | None = None,
    *,
    summary: FrameLike | None = None,
    comparison: FrameLike | None = None,
    timeline: FrameLike | None = None,
    p95_ms: float | None = None,
    p99_ms: float | None = None,
    error_rate: float = 0.01,
    offered_rps: float | None = None,
    lag_ms: float = 10.0,
    n: int | None = None,
    **thresholds: Any,
) -> pl.DataFrame:
    """Every load-testing rule that fires, in the shared recommendation schema, ranked.

    Parameters
    ----------
    results : frame-like, optional
        The run's :data:`~perflab.loadtest.schema.REQUESTS`; its summary is computed
        when ``summary`` is not given.
    summary, timeline, comparison : frame-like, optional
        :func:`~perflab.loadtest.summary`, :func:`~perflab.loadtest.timeline` (used
        only without ``results``) and :func:`~perflab.loadtest.compare` output.
    p95_ms, p99_ms : float, optional
        Latency targets.
    error_rate : float
        The failed share over which requests are too many.
    offered_rps : float, optional
        The arrival rate the test asked for.
    lag_ms : float
        How late a send (or how long a queue) counts.
    n : int, optional
        Keep the top ``n``.
    **thresholds
        Passed to the rules that take them (``critical_error_rate``, ``tail_ratio``,
        ``tail_min_ms``, ``co_ratio``, ``rate_gap``, ``warmup_factor``, ``window``).

    Returns
    -------
    polars.DataFrame
        The shared recommendation frame (:data:`perflab.recommend.RECOMMENDATIONS`).
        Where requests and the summary find the same thing, the finding with more
        evidence (from the requests) is kept.

    Examples
    --------
    >>> s = {"name": ["all"], "requests": [500], "errors": [0], "p95_ms": [420.0]}
    >>> top_recommendations(summary=s, p95_ms=300)["rule"].to_list()
    ['loadtest.slo-breach']
    >>> top_recommendations().height
    0
    """
    recs: list[Recommendation] = []
    common = {"lag_ms": lag_ms, **_pick(thresholds, "rate_gap", "warmup_factor")}
    if results is not None:
        recs += request_findings(results, **common, **_pick(thresholds, "window"))
        if summary is None:
            from perflab.loadtest.aggregate import summary as summarise

            summary = summarise(results)
    elif timeline is not None:
        recs += timeline_findings(timeline, offered_rps=offered_rps, **common)
    lagging = any(r.rule == CLIENT_LAG.id for r in recs)
    if summary is not None:
        recs += summary_findings(
            summary,
            p95_ms=p95_ms,
            p99_ms=p99_ms,
            error_rate=error_rate,
            offered_rps=offered_rps,
            lag_ms=lag_ms,
            queueing=not lagging,
            **_pick(thresholds, *_SUMMARY_OPTIONS),
        )
    if lagging:  # the corrected latency then holds the generator's own delay
        recs = [r for r in recs if r.rule != COORDINATED_OMISSION.id]
    if comparison is not None:
        recs += comparison_findings(comparison)
    seen: set[tuple[str, str]] = set()
    unique = []
    for rec in recs:  # the first finding of a rule about a subject has the most evidence
        if (rec.rule, rec.subject) not in seen:
            seen.add((rec.rule, rec.subject))
            unique.append(rec)
    out = to_frame(unique)
    return out.head(n) if n is not None else out


_SUMMARY_OPTIONS = ("critical_error_rate", "tail_ratio", "tail_min_ms", "co_ratio", "rate_gap")


def _pick(options: dict[str, Any], *names: str) -> dict[str, Any]:
    unknown = set(options) - {*_SUMMARY_OPTIONS, "warmup_factor", "window"}
    if unknown:
        raise ParameterError(f"unknown threshold(s): {sorted(unknown)}")
    return {k: options[k] for k in names if k in options}

"""Pass or fail a load test: thresholds and a baseline, for CI (``perflab gate``).

:func:`gate` checks the ``"all"`` row of the run's :func:`~perflab.loadtest.summary`
against absolute thresholds — p95 and p99 latency at most, error rate at most,
requests per second at least — and, given a baseline run, fails when
:func:`~perflab.loadtest.compare` calls any metric ``slower`` (for throughput and the
error rate: worse). ``equivalent``, ``faster`` and ``inconclusive`` pass: a gate
fails on evidence of a regression, not on a lack of evidence of its absence. When
both runs are summaries only, every verdict is ``inconclusive`` and the baseline can
fail nothing (see :mod:`perflab.loadtest.comparison`); the thresholds still apply.

A threshold on a figure the run does not have (a p95 when no request got a response,
an rps when the tool records no times) fails: an unknown figure is not a pass.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike
from perflab.loadtest.aggregate import ALL, summary
from perflab.loadtest.comparison import compare

__all__ = ["GateResult", "gate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    """The outcome of :func:`gate`.

    Attributes
    ----------
    passed : bool
        True when every check passed (the result is also truthy then).
    reasons : list of str
        Why the gate failed, one sentence per failed check; empty on a pass.
    checks : list of str
        Every check with the figure behind it (``"p95 123.4 ms ≤ 200 ms"``).
    summary : polars.DataFrame
        The SUMMARY frame of the run (all names) the thresholds were read from.
    comparison : polars.DataFrame or None
        The COMPARISON frame against the baseline, when there was one.

    Examples
    --------
    >>> r = gate({"start": [0.0, 1.0], "latency_ms": [40.0, 60.0]}, p99_ms=100)
    >>> bool(r), r.passed, r.reasons, r.checks
    (True, True, [], ['p99 59.8 ms ≤ 100 ms'])
    >>> r.summary["name"].to_list(), r.comparison is None
    (['all'], True)
    """

    passed: bool
    reasons: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    summary: pl.DataFrame = field(default_factory=pl.DataFrame)
    comparison: pl.DataFrame | None = None

    def __bool__(self) -> bool:
        return self.passed

    @property
    def reason(self) -> str:
        """One line: the failed checks on a failure, every check on a pass.

        Examples
        --------
        >>> GateResult(False, ["p95 250.0 ms > 200 ms"], ["p95 250.0 ms > 200 ms"]).reason
        'p95 250.0 ms > 200 ms'
        """
        return "; ".join(self.reasons) if not self.passed else ", ".join(self.checks)


def _check_threshold(name: str, value: float | None) -> None:
    if value is None:
        return
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ParameterError(f"{name} must be a non-negative number, not {value!r}")
    if name == "error_rate" and value > 1:
        raise ParameterError(f"error_rate is a fraction (0.01 = 1 %), not {value!r}")


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %" if x else "0 %"


def _signed_pct(x: float | None) -> str:
    if x is None:
        return "?"
    if math.isinf(x):
        return "+∞" if x > 0 else "−∞"
    return f"{x * 100:+.1f} %"


def gate(
    results: FrameLike,
    *,
    p95_ms: float | None = None,
    p99_ms: float | None = None,
    error_rate: float | None = None,
    rps: float | None = None,
    baseline: FrameLike | None = None,
    alpha: float = 0.05,
    margin: float = 0.05,
) -> GateResult:
    """Pass or fail a run on thresholds and, optionally, against a baseline run.

    Parameters
    ----------
    results : frame-like
        The run: a REQUESTS frame, a SUMMARY frame, or a path to either.
    p95_ms, p99_ms : float, optional
        Highest acceptable p95 / p99 latency of all requests, ms.
    error_rate : float, optional
        Highest acceptable fraction of failed requests (0.01 = 1 %).
    rps : float, optional
        Lowest acceptable throughput, requests per second.
    baseline : frame-like, optional
        A previous run to compare with: the gate fails when any metric of
        :func:`~perflab.loadtest.compare` (p50, p95, p99, mean, throughput, error
        rate) is ``slower``.
    alpha, margin : float
        Passed to :func:`~perflab.loadtest.compare`.

    Returns
    -------
    GateResult
        ``passed``, ``reasons`` (failures), ``checks`` (all), the one-line
        ``reason``, and the summary and comparison frames used.

    Raises
    ------
    ParameterError
        No threshold and no baseline (nothing to check), a negative threshold, or a
        comparison that cannot be made (see :func:`~perflab.loadtest.compare`).

    Examples
    --------
    >>> reqs = pl.DataFrame({"start": [0.0, 0.5, 1.0, 1.5],
    ...                      "latency_ms": [80.0, 95.0, 120.0, 240.0],
    ...                      "error": [None, None, None, "http 503"]})
    >>> gate(reqs, p95_ms=300).reason
    'p95 222.0 ms ≤ 300 ms'
    >>> r = gate(reqs, p95_ms=200, error_rate=0.01)
    >>> r.passed, r.reason
    (False, 'p95 222.0 ms > 200 ms; error rate 25.00 % > 1.00 %')
    """
    limits = {"p95_ms": p95_ms, "p99_ms": p99_ms, "error_rate": error_rate, "rps": rps}
    for name, value in limits.items():
        _check_threshold(name, value)
    if all(v is None for v in limits.values()) and baseline is None:
        raise ParameterError(
            "nothing to check: give a threshold (p95_ms, p99_ms, error_rate, rps) or a baseline"
        )
    table = summary(results, by="name")
    reasons: list[str] = []
    checks: list[str] = []
    rows = table.filter(pl.col("name") == ALL)
    row: dict[str, Any] = rows.row(0, named=True) if rows.height else {}
    if not row and table.height == 1:
        row = table.row(0, named=True)  # a one-row summary under another name
    if not row or row.get("requests") == 0:
        reasons.append("no requests in the results")
        checks.append("no requests in the results")
        return GateResult(False, reasons, checks, table, None)

    def check(ok: bool, passed: str, failed: str) -> None:
        checks.append(passed if ok else failed)
        if not ok:
            reasons.append(failed)

    for key, label in (("p95_ms", "p95"), ("p99_ms", "p99")):
        limit = limits[key]
        if limit is None:
            continue
        value = row.get(key)
        if value is None:
            check(False, "", f"{label} unknown (no request has a latency), limit {limit:g} ms")
        else:
            check(
                value <= limit,
                f"{label} {value:.1f} ms ≤ {limit:g} ms",
                f"{label} {value:.1f} ms > {limit:g} ms",
            )
    if error_rate is not None:
        value = row.get("error_rate")
        if value is None:
            check(False, "", f"error rate unknown, limit {_pct(error_rate)}")
        else:
            check(
                value <= error_rate,
                f"error rate {_pct(value)} ≤ {_pct(error_rate)}",
                f"error rate {_pct(value)} > {_pct(error_rate)}",
            )
    if rps is not None:
        value = row.get("rps")
        if value is None:
            check(False, "", f"rps unknown (no request has a start time), limit {rps:g}")
        else:
            check(value >= rps, f"rps {value:.1f} ≥ {rps:g}", f"rps {value:.1f} < {rps:g}")

    comparison = None
    if baseline is not None:
        comparison = compare(baseline, results, alpha=alpha, margin=margin)
        slower = comparison.filter(pl.col("verdict") == "slower")
        for r in slower.iter_rows(named=True):
            what = "worse" if r["metric"] in ("throughput", "error_rate") else "slower"
            ci = f"CI {_signed_pct(r['ci_low'])} … {_signed_pct(r['ci_high'])}"
            reasons.append(
                f"{r['metric']} {what} than the baseline: {_signed_pct(r['change'])} ({ci})"
            )
            checks.append(reasons[-1])
        if slower.height == 0:
            counts = comparison.group_by("verdict").len().sort("verdict").rows()
            detail = ", ".join(f"{n} {v}" for v, n in counts)
            checks.append(f"no metric slower than the baseline ({detail})")
    passed = not reasons
    logger.info("gate %s: %s", "passed" if passed else "failed", "; ".join(reasons or checks))
    return GateResult(passed, reasons, checks, table, comparison)

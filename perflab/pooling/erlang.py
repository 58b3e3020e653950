"""Erlang C (M/M/c): how long requests wait for one of ``c`` pooled connections.

A pool of ``c`` connections serving requests that arrive at random (Poisson, rate
``λ`` per second) and hold a connection for a random time (exponential, mean ``h``)
is the M/M/c queue. With offered load ``a = λ·h`` (Erlangs: connections busy on
average) and ``a < c``:

* the probability that a request waits at all is Erlang's C formula,
  ``C(c, a) = c·B / (c − a·(1 − B))`` with ``B`` the Erlang B blocking probability,
  computed by the recursion ``B(0) = 1``, ``B(k) = a·B(k−1) / (k + a·B(k−1))`` —
  every term stays in [0, 1], so it is exact for thousands of servers where the
  textbook sum of ``a^k/k!`` overflows;
* the wait of a request that waits is exponential with rate ``(c − a)/h``, so
  ``P(W > t) = C·exp(−(c − a)·t/h)``, the mean wait is ``C·h/(c − a)`` and the
  q-quantile of the wait is ``h/(c − a)·ln(C/(1 − q))`` when ``C > 1 − q``, else 0.

At ``a ≥ c`` the queue grows without bound: every request waits (``C = 1``) and the
mean wait is infinite. :func:`erlang_b` and :func:`erlang_c` live in
:mod:`perflab.queueing` (load balancing checks its simulator against them too).
:func:`size_recommendation` walks ``c`` up from ``⌊a⌋ + 1`` to the first pool size
meeting a target; :func:`erlang_table` gives the model's curve over sizes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from perflab.errors import ParameterError, positive_int
from perflab.queueing import erlang_b, erlang_c

__all__ = [
    "SizeRecommendation",
    "erlang_b",
    "erlang_c",
    "erlang_table",
    "mean_wait_ms",
    "size_recommendation",
    "wait_exceeds",
    "wait_percentile_ms",
]

_MAX_SIZE = 1_000_000


def _check_hold(hold_ms: float) -> float:
    h = float(hold_ms)
    if not math.isfinite(h) or h <= 0:
        raise ParameterError(f"hold_ms must be a positive number, not {hold_ms!r}")
    return h


def _check_rate(arrival_rate: float) -> float:
    lam = float(arrival_rate)
    if not math.isfinite(lam) or lam < 0:
        raise ParameterError(f"arrival_rate must be a finite number ≥ 0, not {arrival_rate!r}")
    return lam


def mean_wait_ms(servers: int, arrival_rate: float, hold_ms: float) -> float:
    """Mean acquire wait over all requests, ms (``inf`` when the pool is overloaded).

    Parameters
    ----------
    servers : int
        Pool size.
    arrival_rate : float
        Requests per second.
    hold_ms : float
        Mean time a connection is held, ms.

    Examples
    --------
    >>> round(mean_wait_ms(2, 100.0, 10.0), 3)
    3.333
    """
    h = _check_hold(hold_ms)
    a = _check_rate(arrival_rate) * h / 1000.0
    c = positive_int("servers", servers)
    if a >= c:
        return math.inf
    return erlang_c(c, a) * h / (c - a)


def wait_exceeds(servers: int, arrival_rate: float, hold_ms: float, t_ms: float) -> float:
    """``P(wait > t_ms)``: the share of requests that wait longer than ``t_ms``.

    Examples
    --------
    >>> round(wait_exceeds(2, 100.0, 10.0, 0.0), 4)
    0.3333
    >>> round(wait_exceeds(2, 100.0, 10.0, 10.0), 4)
    0.1226
    """
    h = _check_hold(hold_ms)
    a = _check_rate(arrival_rate) * h / 1000.0
    c = positive_int("servers", servers)
    if t_ms < 0:
        raise ParameterError(f"t_ms must be ≥ 0, not {t_ms!r}")
    if a >= c:
        return 1.0
    return erlang_c(c, a) * math.exp(-(c - a) * float(t_ms) / h)


def wait_percentile_ms(servers: int, arrival_rate: float, hold_ms: float, q: float = 0.99) -> float:
    """The ``q``-quantile of the acquire wait, ms (0 when fewer than ``1 − q`` wait at all).

    Examples
    --------
    >>> round(wait_percentile_ms(2, 100.0, 10.0, 0.99), 2)
    35.07
    >>> wait_percentile_ms(20, 100.0, 10.0, 0.99)
    0.0
    """
    h = _check_hold(hold_ms)
    a = _check_rate(arrival_rate) * h / 1000.0
    c = positive_int("servers", servers)
    if not 0 < q < 1:
        raise ParameterError(f"q must lie strictly between 0 and 1, not {q!r}")
    if a >= c:
        return math.inf
    pw = erlang_c(c, a)
    if pw <= 1 - q:
        return 0.0
    return h / (c - a) * math.log(pw / (1 - q))


@dataclass(frozen=True)
class SizeRecommendation:
    """The smallest pool size meeting a target, and what Erlang C predicts for it.

    ``size``: connections; ``offered_load``: ``λ·h`` in Erlangs (connections busy on
    average); ``utilization``: ``a / size``; ``wait_probability``: share of requests
    that wait at all; ``mean_wait_ms``, ``p95_wait_ms``, ``p99_wait_ms``: the model's
    waits; ``target`` and ``kind``: what was asked; ``met``: False when no size up to
    ``max_size`` meets it (``size`` is then ``max_size``).
    """

    size: int
    arrival_rate: float
    hold_ms: float
    offered_load: float
    utilization: float
    wait_probability: float
    mean_wait_ms: float
    p95_wait_ms: float
    p99_wait_ms: float
    target: float
    kind: str
    met: bool

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict (a row for a frame)."""
        return asdict(self)


_KIND = re.compile(r"p(\d+)_wait_ms")


def _metric(kind: str) -> Any:
    """A function (c, λ, h) → the figure ``kind`` names."""
    if kind == "wait_probability":
        return lambda c, lam, h: erlang_c(c, lam * h / 1000.0)
    if kind == "mean_wait_ms":
        return mean_wait_ms
    m = _KIND.fullmatch(kind)
    if m:
        from perflab.stats import _quantile_from_name

        q = _quantile_from_name("p" + m.group(1))
        if q is None or not 0 < q < 1:
            raise ParameterError(f"kind {kind!r}: not a percentile")
        return lambda c, lam, h: wait_percentile_ms(c, lam, h, q)
    raise ParameterError(
        f"kind must be 'pNN_wait_ms' (p99_wait_ms, p95_wait_ms …), 'mean_wait_ms' or "
        f"'wait_probability', not {kind!r}"
    )


def size_recommendation(
    arrival_rate: float,
    hold_ms: float,
    target: float,
    *,
    kind: str = "p99_wait_ms",
    max_size: int = 10_000,
) -> SizeRecommendation:
    """The smallest pool size whose predicted wait meets ``target`` (Erlang C).

    Parameters
    ----------
    arrival_rate : float
        Requests for a connection per second (at the peak you size for).
    hold_ms : float
        Mean time a connection is held, ms.
    target : float
        The bound: a wait in ms (``kind`` ``p99_wait_ms``, ``p95_wait_ms``,
        ``mean_wait_ms`` …) or a probability (``kind="wait_probability"``: the share
        of requests allowed to wait at all).
    kind : str
        What ``target`` bounds (default: the p99 acquire wait, ms).
    max_size : int
        Largest size considered.

    Returns
    -------
    SizeRecommendation
        The size and the model's wait probability, mean, p95 and p99 wait for it.

    Examples
    --------
    >>> r = size_recommendation(400, 10.0, 5.0)
    >>> r.size, round(r.offered_load, 1), r.p99_wait_ms <= 5.0
    (8, 4.0, True)
    >>> size_recommendation(400, 10.0, 0.05, kind="wait_probability").size
    9
    """
    lam = _check_rate(arrival_rate)
    h = _check_hold(hold_ms)
    top = positive_int("max_size", max_size)
    if not math.isfinite(target) or target < 0:
        raise ParameterError(f"target must be a finite number ≥ 0, not {target!r}")
    if kind == "wait_probability" and target > 1:
        raise ParameterError(f"a wait_probability target lies in [0, 1], not {target!r}")
    metric = _metric(kind)
    a = lam * h / 1000.0
    c = max(1, math.floor(a) + 1)
    met = False
    while c <= min(top, _MAX_SIZE):
        if metric(c, lam, h) <= target:
            met = True
            break
        c += 1
    c = min(c, top)
    return _prediction(c, lam, h, target, kind, met)


def _prediction(
    c: int, lam: float, h: float, target: float, kind: str, met: bool
) -> SizeRecommendation:
    a = lam * h / 1000.0
    return SizeRecommendation(
        size=c,
        arrival_rate=lam,
        hold_ms=h,
        offered_load=a,
        utilization=a / c,
        wait_probability=erlang_c(c, a),
        mean_wait_ms=mean_wait_ms(c, lam, h),
        p95_wait_ms=wait_percentile_ms(c, lam, h, 0.95),
        p99_wait_ms=wait_percentile_ms(c, lam, h, 0.99),
        target=float(target),
        kind=kind,
        met=met,
    )


def erlang_table(arrival_rate: float, hold_ms: float, sizes: Iterable[int]) -> pl.DataFrame:
    """Erlang C's prediction for each pool size: the model's what-if curve.

    Returns
    -------
    polars.DataFrame
        ``size`` (i64), ``utilization``, ``wait_probability``, ``mean_wait_ms``,
        ``p50_wait_ms``, ``p95_wait_ms``, ``p99_wait_ms`` (f64; ``inf`` when
        overloaded), ``source`` (``"erlang_c"``).

    Examples
    --------
    >>> t = erlang_table(100, 10.0, [1, 2, 3])
    >>> [(s, round(p, 4)) for s, p in t.select("size", "wait_probability").rows()]
    [(1, 1.0), (2, 0.3333), (3, 0.0909)]
    """
    lam, h = _check_rate(arrival_rate), _check_hold(hold_ms)
    rows = []
    for c in sorted({positive_int("size", s) for s in sizes}):
        a = lam * h / 1000.0
        rows.append(
            {
                "size": c,
                "utilization": min(a / c, 1.0),
                "wait_probability": erlang_c(c, a),
                "mean_wait_ms": mean_wait_ms(c, lam, h),
                "p50_wait_ms": wait_percentile_ms(c, lam, h, 0.5),
                "p95_wait_ms": wait_percentile_ms(c, lam, h, 0.95),
                "p99_wait_ms": wait_percentile_ms(c, lam, h, 0.99),
                "source": "erlang_c",
            }
        )
    schema = {
        "size": pl.Int64,
        **dict.fromkeys(
            [
                "utilization",
                "wait_probability",
                "mean_wait_ms",
                "p50_wait_ms",
                "p95_wait_ms",
                "p99_wait_ms",
            ],
            pl.Float64,
        ),
        "source": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)

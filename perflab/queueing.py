"""Queueing theory both live components are sized and checked by: Erlang B and C.

``C(c, a)`` is the probability that an arrival waits in an M/M/c queue with ``c``
servers and offered load ``a = λ/μ`` Erlangs. Erlang B comes from the recursion
``B(0) = 1``, ``B(k) = a·B(k−1) / (k + a·B(k−1))`` — every term stays in [0, 1], so it
is exact for thousands of servers where the textbook sum of ``a^k/k!`` overflows —
and ``C = c·B / (c − a·(1 − B))``. Why hand-written: the formulas are a few lines;
scipy has none of them, and the packages that do (``pyworkforce``, ``erlang``) use the
factorial sum. Connection pooling (:mod:`perflab.pooling.erlang`) sizes pools with
them; load balancing (:mod:`perflab.balancing.simulation`) checks its simulator
against them.
"""

from __future__ import annotations

import math

from perflab.errors import ParameterError, positive_int

__all__ = ["erlang_b", "erlang_c"]


def _load(offered_load: float) -> float:
    a = float(offered_load)
    if not math.isfinite(a) or a < 0:
        raise ParameterError(f"offered_load must be a finite number ≥ 0, not {offered_load!r}")
    return a


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: the probability that all ``servers`` are busy (M/M/c/c, blocked calls lost).

    Examples
    --------
    >>> round(erlang_b(2, 1.0), 4)
    0.2
    """
    c = positive_int("servers", servers)
    a = _load(offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """The probability that an arrival waits (Erlang C, M/M/c).

    Parameters
    ----------
    servers : int
        Servers (connections in a pool, backends…), ``c``.
    offered_load : float
        ``λ·h``: arrival rate times mean hold time (the same time unit), in Erlangs.

    Returns
    -------
    float
        ``P(wait > 0)`` in [0, 1]; 1.0 when ``offered_load ≥ servers``.

    Examples
    --------
    >>> round(erlang_c(1, 0.5), 6)  # M/M/1: P(wait) = ρ
    0.5
    >>> round(erlang_c(2, 1.0), 4)
    0.3333
    >>> erlang_c(5, 5.0)
    1.0
    >>> 0 < erlang_c(5000, 4900.0) < 1
    True
    """
    c = positive_int("servers", servers)
    a = _load(offered_load)
    if a >= c:
        return 1.0
    if a == 0:
        return 0.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))

"""What-if for load balancing: replay a request trace through each strategy.

:func:`simulate` is a discrete-event simulation (the loop is numba, in
:mod:`perflab.balancing._kernel`, where the model is spelled out) driven by a
:data:`~perflab.balancing.schema.TRACE` frame: the arrival times and service demands
of an access log (:func:`~perflab.balancing.read_nginx`) or of
:func:`generate_trace`. Backends are heterogeneous (:class:`~perflab.balancing.Backend`:
weight, speed, parallel servers), one may slow down at a time and one may fail for a
while; each strategy meets the same trace, the same failures and the same health
checks, so their latencies compare directly. :func:`erlang_c` and :func:`mmc_wait` give
the queueing theory the simulator is checked against (M/M/1, M/M/c).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import polars as pl

from perflab.balancing import _kernel
from perflab.balancing.balancer import Backend, as_backends, build_ring, ip_octets, key_hash
from perflab.balancing.schema import LOAD, RESULTS, TRACE
from perflab.errors import InputError, ParameterError, positive_int
from perflab.frames import FrameLike, as_frame
from perflab.queueing import erlang_c

__all__ = [
    "SIM_STRATEGIES",
    "Simulation",
    "erlang_c",
    "generate_trace",
    "logged_vs_replayed",
    "mmc_wait",
    "outages_from_log",
    "run_simulation",
    "service_demand",
    "simulate",
]

SIM_STRATEGIES: tuple[str, ...] = tuple(_kernel.CODES)
"""Strategies :func:`simulate` knows: the balancer's seven plus ``random``."""


def mmc_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue (before service) of an M/M/c system: C(c, a) / (cμ − λ).

    Examples
    --------
    >>> mmc_wait(1, 0.5, 1.0)  # M/M/1: ρ / (μ − λ)
    1.0
    """
    lam, mu = float(arrival_rate), float(service_rate)
    if lam <= 0 or mu <= 0:
        raise ParameterError("arrival_rate and service_rate must be > 0")
    c = positive_int("servers", servers)
    if lam >= c * mu:
        raise ParameterError(f"offered load {lam / mu} must be below servers={c}: the queue grows")
    return erlang_c(c, lam / mu) / (c * mu - lam)


def generate_trace(
    n: int,
    rate: float,
    service_ms: float,
    *,
    clients: int = 1000,
    keys: int = 1000,
    service: str = "exponential",
    seed: int = 0,
) -> pl.DataFrame:
    """A seeded synthetic trace: Poisson arrivals, random service demands.

    Parameters
    ----------
    n : int
        Requests.
    rate : float
        Arrivals per second.
    service_ms : float
        Mean service demand, ms.
    clients, keys : int
        Distinct client addresses (``10.x.y.z``) and hash keys (``/item/<k>``).
    service : {"exponential", "constant", "lognormal"}
        Distribution of the demand (lognormal: σ = 1, the mean kept).
    seed : int
        Seed.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.balancing.schema.TRACE`.

    Examples
    --------
    >>> tr = generate_trace(1000, 100.0, 5.0, seed=1)
    >>> tr.height, round(tr["time_s"].max() / 10), round(tr["service_ms"].mean())
    (1000, 1, 5)
    """
    n = positive_int("n", n)
    if rate <= 0 or service_ms <= 0:
        raise ParameterError("rate and service_ms must be > 0")
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1.0 / rate, n))
    t -= t[0]
    if service == "exponential":
        s = rng.exponential(service_ms, n)
    elif service == "constant":
        s = np.full(n, float(service_ms))
    elif service == "lognormal":
        s = rng.lognormal(math.log(service_ms) - 0.5, 1.0, n)
    else:
        raise ParameterError(f"service must be exponential, constant or lognormal, not {service!r}")
    ids = rng.integers(0, positive_int("clients", clients), n)
    pool = rng.integers(0, 256, (clients, 3))
    cl = pl.Series([f"10.{a}.{b}.{c}" for a, b, c in pool])[ids]
    kk = pl.Series([f"/item/{k}" for k in range(positive_int("keys", keys))])[
        rng.zipf(1.2, n) % keys
    ]
    return TRACE.validate(
        pl.DataFrame(
            {
                "time_s": t,
                "service_ms": s,
                "client": cl,
                "key": kk,
                "backend": pl.Series([None] * n, dtype=pl.String),
                "attempts": np.ones(n, np.int64),
                "status": np.full(n, 200, np.int64),
                "latency_ms": s,
            }
        )
    )


def service_demand(
    trace: FrameLike, backends: Iterable[Backend | str | Mapping[str, Any]]
) -> pl.DataFrame:
    """The trace with ``service_ms`` turned into demand on a backend of speed 1.

    An access log records what each request took *on the backend that served it*:
    replayed through another strategy it lands elsewhere, so the time is first brought
    back to a common unit — multiplied by the serving backend's ``speed`` and divided by
    its ``slow_factor`` from ``slow_at_s`` on. Rows served by no backend (null) keep
    their time.

    Raises
    ------
    InputError
        A row served by a backend not in ``backends`` (an address the ``names`` mapping
        of the reader missed, a backend left out): its speed is unknown, so its demand
        would be wrong. The first such row is named.

    Examples
    --------
    >>> tr = pl.DataFrame({"time_s": [0.0, 5.0], "service_ms": [4.0, 40.0],
    ...                    "backend": ["a", "a"]})
    >>> service_demand(tr, [Backend("a", speed=2.0, slow_at_s=1.0, slow_factor=4.0)])[
    ...     "service_ms"].to_list()
    [8.0, 20.0]
    """
    bs = as_backends(backends)
    df = TRACE.conform(as_frame(trace), required=["time_s", "service_ms", "backend"])
    by = pl.DataFrame(
        {
            "backend": [b.name for b in bs],
            "_speed": [b.speed for b in bs],
            "_slow_at": [math.inf if b.slow_at_s is None else b.slow_at_s for b in bs],
            "_factor": [b.slow_factor for b in bs],
        }
    )
    out = df.join(by, on="backend", how="left", maintain_order="left")
    unknown = out.with_row_index("_row").filter(
        pl.col("backend").is_not_null() & pl.col("_speed").is_null()
    )
    if unknown.height:
        first = unknown.row(0, named=True)
        raise InputError(
            "trace",
            int(first["_row"]) + 1,
            f"unknown backend {first['backend']!r} ({unknown.height} row(s)); "
            f"the backends are {', '.join(b.name for b in bs)}",
        )
    slow = pl.when(pl.col("time_s") >= pl.col("_slow_at")).then(pl.col("_factor")).otherwise(1.0)
    return out.with_columns(
        (pl.col("service_ms") * pl.col("_speed").fill_null(1.0) / slow.fill_null(1.0)).alias(
            "service_ms"
        )
    ).drop("_speed", "_slow_at", "_factor")


@dataclass(frozen=True)
class Simulation:
    """Everything one :func:`run_simulation` produced.

    Attributes
    ----------
    summary : polars.DataFrame
        :data:`~perflab.balancing.schema.RESULTS`, one row per strategy.
    load : polars.DataFrame
        :data:`~perflab.balancing.schema.LOAD`, one row per strategy and backend.
    requests : polars.DataFrame
        Per strategy and request: ``strategy``, ``time_s``, ``backend``, ``latency_ms``
        (null when failed), ``wait_ms``, ``failed``.
    """

    summary: pl.DataFrame
    load: pl.DataFrame
    requests: pl.DataFrame


def _prepare(trace: pl.DataFrame, source: str) -> pl.DataFrame:
    df = trace.filter(pl.col("service_ms").is_not_null())
    if df.height == 0:
        return df
    t = df["time_s"].to_numpy()
    bad = np.flatnonzero(np.diff(t) < 0)
    if bad.size:
        r = int(bad[0]) + 1
        raise InputError(
            source, r + 1,
            f"time_s goes back ({t[r - 1]:.6f} then {t[r]:.6f}): a trace must be sorted by "
            "arrival (.sort('time_s'))",
        )  # fmt: skip
    neg = np.flatnonzero(df["service_ms"].to_numpy() < 0)
    if neg.size:
        r = int(neg[0])
        raise InputError(source, r + 1, f"negative service_ms {df['service_ms'][r]}")
    return df


def _codes(s: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Dense codes (−1 for null) and the distinct values, without a Python loop per row."""
    codes = (s.rank("dense").cast(pl.Int64) - 1).fill_null(-1).to_numpy()
    return codes, s.drop_nulls().unique().sort().to_list()


def _arrays(df: pl.DataFrame, names: Sequence[str]) -> dict[str, Any]:
    n = df.height
    sess, clients = _codes(df["client"])
    octs = np.zeros((n, 3), np.int64)
    if "ip_hash" in names and clients:
        table = np.array([ip_octets(c) for c in clients], np.int64).reshape(-1, 3)
        octs = np.where(sess[:, None] >= 0, table[np.maximum(sess, 0)], 0)
    khash = np.zeros(n, np.uint64)
    if "consistent_hash" in names:
        kid, keys = _codes(df["key"].fill_null(df["client"]).fill_null(""))
        if keys:
            khash = np.array([key_hash(k) for k in keys], np.uint64)[kid]
    return {
        "t": df["time_s"].to_numpy().astype(np.float64),
        "svc": df["service_ms"].to_numpy().astype(np.float64) / 1000.0,
        "sess": sess,
        "octs": octs,
        "khash": khash,
        "n_sessions": max(1, len(clients)),
    }


def _backend_arrays(bs: Sequence[Backend], vnodes: int, ring: bool) -> dict[str, Any]:
    inf = np.inf
    points, owners = build_ring(bs, vnodes) if ring else ([0], [0])
    return {
        "weight": np.array([b.weight for b in bs], np.float64),
        "iweight": np.array([max(1, round(b.weight)) for b in bs], np.int64),
        "speed": np.array([b.speed for b in bs], np.float64),
        "servers": np.array([b.servers for b in bs], np.int64),
        "slow_at": np.array([inf if b.slow_at_s is None else b.slow_at_s for b in bs]),
        "slow_factor": np.array([b.slow_factor for b in bs], np.float64),
        "fail_at": np.array([inf if b.fail_at_s is None else b.fail_at_s for b in bs]),
        "recover_at": np.array([inf if b.recover_at_s is None else b.recover_at_s for b in bs]),
        "ring_h": np.array(points, np.uint64),
        "ring_o": np.array(owners, np.int64),
    }


def _pct(x: np.ndarray, q: float) -> float | None:
    return float(np.percentile(x, q)) if x.size else None


def run_simulation(
    requests: FrameLike,
    backends: Iterable[Backend | str | Mapping[str, Any]],
    strategies: Sequence[str] | str = ("round_robin", "least_connections", "p2c", "peak_ewma"),
    *,
    check_s: float | None = 2.0,
    check_fall: int = 3,
    check_rise: int = 2,
    eject_after: int | None = 5,
    eject_base_s: float = 1.0,
    eject_backoff: float = 2.0,
    fail_ms: float = 1.0,
    sticky_ttl_s: float | None = None,
    ewma_tau_s: float = 10.0,
    vnodes: int = 160,
    seed: int = 0,
    keep_requests: bool = True,
) -> Simulation:
    """Replay ``requests`` through each strategy; summary, per-backend load, requests.

    Parameters are those of :func:`simulate`; ``keep_requests=False`` leaves the
    per-request frame empty (for big traces).

    Examples
    --------
    >>> sim = run_simulation(generate_trace(2000, 150.0, 10.0), ["a", "b"], ["p2c"])
    >>> sim.load.select("backend", "requests").sort("backend").rows()[0][0]
    'a'
    """
    bs = as_backends(backends)
    names = [strategies] if isinstance(strategies, str) else list(strategies)
    if not names:
        raise ParameterError("no strategy to simulate")
    for s in names:
        if s not in _kernel.CODES:
            raise ParameterError(f"unknown strategy {s!r}; choose from {', '.join(SIM_STRATEGIES)}")
    if check_s is not None and check_s <= 0:
        raise ParameterError(f"check_s must be > 0 or None, not {check_s!r}")
    if eject_after is not None:
        eject_after = positive_int("eject_after", eject_after)
    if not eject_backoff >= 1.0:
        raise ParameterError(f"eject_backoff must be ≥ 1, not {eject_backoff!r}")
    if fail_ms < 0 or ewma_tau_s <= 0 or eject_base_s <= 0:
        raise ParameterError("fail_ms must be ≥ 0; ewma_tau_s and eject_base_s > 0")
    if sticky_ttl_s is not None and sticky_ttl_s <= 0:
        raise ParameterError(f"sticky_ttl_s must be > 0 or None, not {sticky_ttl_s!r}")
    source = str(requests) if isinstance(requests, str) else "trace"
    df = _prepare(TRACE.conform(as_frame(requests), required=["time_s", "service_ms"]), source)
    arr = _arrays(df, names)
    bar = _backend_arrays(bs, vnodes, "consistent_hash" in names)
    n = df.height
    span = float(arr["t"][-1] - arr["t"][0]) if n > 1 else 0.0
    rows, loads, reqs = [], [], []
    bnames = pl.Series([b.name for b in bs])
    for s in names:
        lat = np.empty(n)
        wait = np.empty(n)
        chosen = np.empty(n, np.int64)
        failed = np.zeros(n, np.bool_)
        kept, eligible = _kernel.run(
            _kernel.CODES[s], arr["t"], arr["svc"], arr["sess"], arr["octs"], arr["khash"],
            bar["weight"], bar["iweight"], bar["speed"], bar["servers"], bar["slow_at"],
            bar["slow_factor"], bar["fail_at"], bar["recover_at"], bar["ring_h"],
            bar["ring_o"], arr["n_sessions"], seed, float(check_s or 0.0),
            positive_int("check_fall", check_fall), positive_int("check_rise", check_rise),
            int(eject_after or 0), float(eject_base_s), float(eject_backoff), fail_ms / 1000.0,
            float(sticky_ttl_s or 0.0), float(ewma_tau_s), lat, wait, chosen, failed,
        )  # fmt: skip
        ok = ~failed
        lat_ms, wait_ms = lat[ok] * 1000.0, wait[ok] * 1000.0
        qs = np.percentile(lat_ms, [50, 95, 99]) if lat_ms.size else [None] * 3
        counts = np.bincount(chosen, minlength=len(bs)).astype(np.int64)
        fails = np.bincount(chosen[failed], minlength=len(bs)).astype(np.int64)
        mean = counts.mean() if n else 0.0
        rows.append(
            {
                "strategy": s,
                "requests": n,
                "failed": int(failed.sum()),
                "p50_ms": qs[0],
                "p95_ms": qs[1],
                "p99_ms": qs[2],
                "mean_ms": float(lat_ms.mean()) if lat_ms.size else None,
                "mean_wait_ms": float(wait_ms.mean()) if wait_ms.size else None,
                "imbalance": float(counts.max() / mean) if mean else None,
                "cv": float(counts.std() / mean) if mean else None,
                "sticky_pct": 100.0 * kept / eligible if eligible else None,
            }
        )
        svc_eff = np.where(ok, lat - wait, 0.0)
        for j, b in enumerate(bs):
            mine = (chosen == j) & ok
            cap = b.servers * span
            loads.append(
                {
                    "strategy": s,
                    "backend": b.name,
                    "requests": int(counts[j]),
                    "failed": int(fails[j]),
                    "share_pct": 100.0 * counts[j] / n if n else 0.0,
                    "busy_pct": 100.0 * float(svc_eff[mine].sum()) / cap if cap > 0 else None,
                    "p99_ms": _pct(lat[mine] * 1000.0, 99),
                }
            )
        if keep_requests:
            reqs.append(
                pl.DataFrame(
                    {
                        "strategy": pl.Series([s]).new_from_index(0, n),
                        "time_s": arr["t"],
                        "backend": bnames[chosen] if n else pl.Series([], dtype=pl.String),
                        "latency_ms": np.where(ok, lat * 1000.0, np.nan),
                        "wait_ms": np.where(ok, wait * 1000.0, np.nan),
                        "failed": failed,
                    }
                ).with_columns(pl.col("latency_ms", "wait_ms").fill_nan(None))
            )
    return Simulation(
        summary=RESULTS.build(rows),
        load=LOAD.build(loads),
        requests=pl.concat(reqs) if reqs else pl.DataFrame(),
    )


def simulate(
    requests: FrameLike,
    backends: Iterable[Backend | str | Mapping[str, Any]],
    strategies: Sequence[str] | str = ("round_robin", "least_connections", "p2c", "peak_ewma"),
    **options: Any,
) -> pl.DataFrame:
    """Replay a request trace through each strategy and compare latencies and balance.

    Parameters
    ----------
    requests : frame-like
        :data:`~perflab.balancing.schema.TRACE` sorted by ``time_s`` (``service_ms``
        ≥ 0; rows without a service demand are left out).
    backends : list of str, mapping or Backend
        The backends: weight, speed, servers, a slowdown (``slow_at_s``,
        ``slow_factor``) and an outage (``fail_at_s``, ``recover_at_s``).
    strategies : str or list of str
        Names from :data:`SIM_STRATEGIES`.
    **options
        ``check_s`` (active health-check interval; None: none), ``check_fall`` /
        ``check_rise`` (checks in a row that mark a backend down / up), ``eject_after``
        (consecutive failures that eject; None: no ejection), ``eject_base_s`` (the
        first ejection), ``eject_backoff`` (each ejection in a row this many times
        longer: 2 by default as Envoy; 1 for nginx's fixed ``fail_timeout``),
        ``fail_ms`` (how long a failed request takes), ``sticky_ttl_s``,
        ``ewma_tau_s``, ``vnodes``, ``seed``.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.balancing.schema.RESULTS`, one row per strategy. Latencies are
        of the requests served; ``failed`` counts the others. For the per-backend load
        use :func:`run_simulation`.

    Raises
    ------
    InputError
        Unsorted arrival times or a negative service demand (naming the row).
    ParameterError
        No backend, a weight ≤ 0, an unknown strategy.

    Examples
    --------
    >>> tr = generate_trace(5000, 180.0, 10.0, seed=2)
    >>> out = simulate(tr, ["a", "b"], ["round_robin", "least_connections"])
    >>> out.select("strategy", "failed").rows()
    [('round_robin', 0), ('least_connections', 0)]
    """
    options["keep_requests"] = False
    return run_simulation(requests, backends, strategies, **options).summary


_FAILED_ATTEMPT = (502, 504)  # nginx: refused / reset / timed out talking to the upstream


def outages_from_log(
    trace: FrameLike, backends: Iterable[Backend | str | Mapping[str, Any]]
) -> list[Backend]:
    """The backends with their outage timed by the log's failed upstream attempts.

    An outage planned (or remembered) as "killed at 14 s, back 5 s later" rarely lines
    up with the trace's own clock, which starts at the first logged request. nginx
    logs every attempt: ``$upstream_addr`` ``"a, b"`` with ``$upstream_status``
    ``"502, 200"`` is a request that failed on ``a`` and was retried on ``b``. Per
    backend with an address, the outage starts at its first failed attempt (status 502
    or 504, or none) and ends at its first successful attempt after that (an upper
    bound: nginx only tries it again after ``fail_timeout``). Backends whose attempts
    never failed keep the times they had.

    Parameters
    ----------
    trace : frame-like
        :func:`~perflab.balancing.read_nginx` output with ``upstream_addr`` and
        ``upstream_status`` (``$upstream_addr`` and ``$upstream_status`` in the
        ``log_format``).
    backends : list of Backend, str or mapping
        The backends, with ``address`` as nginx logs it.

    Returns
    -------
    list of Backend
        The same backends, ``fail_at_s`` / ``recover_at_s`` taken from the log where it
        shows a failure.

    Raises
    ------
    ParameterError
        The trace has no ``upstream_addr`` / ``upstream_status`` columns.

    Examples
    --------
    >>> tr = pl.DataFrame({"time_s": [0.0, 1.0, 2.0, 5.0],
    ...                    "upstream_addr": ["h:1", "h:1, h:2", "h:2", "h:1"],
    ...                    "upstream_status": ["200", "502, 200", "200", "200"]})
    >>> b = outages_from_log(tr, [Backend("a", address="h:1"), Backend("b", address="h:2")])
    >>> (b[0].fail_at_s, b[0].recover_at_s, b[1].fail_at_s)
    (1.0, 5.0, None)
    """
    import dataclasses

    bs = as_backends(backends)
    df = as_frame(trace)
    missing = {"time_s", "upstream_addr", "upstream_status"} - set(df.columns)
    if missing:
        raise ParameterError(
            f"the trace has no {', '.join(sorted(missing))}: log $upstream_addr and "
            "$upstream_status to time an outage"
        )
    split = pl.col("upstream_addr", "upstream_status").str.replace_all(" : ", ", ").str.split(", ")
    att = (
        df.select("time_s", split)
        .filter(pl.col("upstream_addr").list.len() == pl.col("upstream_status").list.len())
        .explode("upstream_addr", "upstream_status")
        .with_columns(code=pl.col("upstream_status").cast(pl.Int64, strict=False))
        .with_columns(bad=pl.col("code").is_null() | pl.col("code").is_in(_FAILED_ATTEMPT))
    )
    out = []
    for b in bs:
        mine = att.filter(pl.col("upstream_addr") == b.address) if b.address else att.clear()
        first = mine.filter("bad")["time_s"].min()
        if first is None:
            out.append(b)
            continue
        back = mine.filter(~pl.col("bad") & (pl.col("time_s") > first))["time_s"].min()
        out.append(
            dataclasses.replace(
                b,
                fail_at_s=float(cast(float, first)),
                recover_at_s=None if back is None else float(cast(float, back)),
            )
        )
    return out


def logged_vs_replayed(trace: FrameLike, summary: FrameLike, strategy: str) -> pl.DataFrame:
    """What the balancer logged beside the simulator's replay of the same setup.

    The check to read before trusting a what-if: replay the current strategy with the
    current settings (ejection, checks, outage timed from the log) and the percentiles
    should come back close to the logged ones.

    Parameters
    ----------
    trace : frame-like
        The trace as read (``latency_ms``, ``status``).
    summary : frame-like
        :func:`simulate` output (or :attr:`Simulation.summary`) with a row for ``strategy``.
    strategy : str
        The strategy in use.

    Returns
    -------
    polars.DataFrame
        Two rows, ``source`` = ``"logged"`` then ``"replayed"``: ``requests``,
        ``failed`` (logged: status ≥ 500), ``p50_ms``, ``p95_ms``, ``p99_ms`` (of the
        requests that did not fail), and ``p99_ratio`` (replayed / logged).

    Examples
    --------
    >>> tr = pl.DataFrame({"latency_ms": [1.0, 2.0, 9.0], "status": [200, 200, 502]})
    >>> sm = pl.DataFrame({"strategy": ["round_robin"], "requests": [3], "failed": [1],
    ...                    "p50_ms": [1.5], "p95_ms": [2.0], "p99_ms": [2.0]})
    >>> logged_vs_replayed(tr, sm, "round_robin").select("source", "failed").rows()
    [('logged', 1), ('replayed', 1)]
    """
    df = as_frame(trace)
    sm = as_frame(summary).filter(pl.col("strategy") == strategy)
    if sm.height != 1:
        raise ParameterError(f"no simulated row for strategy {strategy!r}")
    bad = pl.col("status").fill_null(0) >= 500
    served = df.filter(~bad & pl.col("latency_ms").is_not_null())["latency_ms"].to_numpy()
    qs = np.percentile(served, [50, 95, 99]) if served.size else [None] * 3
    rep = sm.row(0, named=True)
    out = pl.DataFrame(
        {
            "source": ["logged", "replayed"],
            "requests": [df.height, int(rep["requests"])],
            "failed": [int(df.select(bad.sum()).item()), int(rep["failed"])],
            "p50_ms": [qs[0], rep["p50_ms"]],
            "p95_ms": [qs[1], rep["p95_ms"]],
            "p99_ms": [qs[2], rep["p99_ms"]],
        },
        schema_overrides={"p50_ms": pl.Float64, "p95_ms": pl.Float64, "p99_ms": pl.Float64},
    )
    return out.with_columns(p99_ratio=pl.col("p99_ms") / pl.col("p99_ms").first())

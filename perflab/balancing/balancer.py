"""A thread-safe load balancer to sit in a request path: :class:`Balancer`.

Strategies (``strategy=``):

====================  ===================================================================
``round_robin``       each available backend in turn, weights ignored
``least_connections`` fewest requests in flight per unit of weight (nginx ``least_conn``),
                      ties taken in turn
``weighted``          nginx's smooth weighted round robin: every pick adds each backend's
                      effective weight to its current weight, takes the largest and
                      subtracts the total from it (weights 5, 1, 1 give a a b a c a a)
``ip_hash``           nginx's ``ip_hash``: the first three octets of an IPv4 client
                      (``hash = (hash·113 + octet) mod 6271`` from 89), the result mod the
                      total weight walks the weighted list; a backend that is down makes
                      it hash again (up to 20 times, then round robin). Other addresses
                      hash the whole text the same way
``p2c``               power of two choices: two distinct available backends at random, the
                      one with fewer requests in flight per unit of weight
``consistent_hash``   a hash ring with virtual nodes (``vnodes`` per unit of weight, 64-bit
                      BLAKE2b points, Ketama-style): a key goes to the first point
                      clockwise whose backend is available, so a backend leaving moves
                      only its own keys (about 1/n of them)
``peak_ewma``         Finagle/Linkerd: p2c over ``cost = ewma latency × (in flight + 1)``;
                      the EWMA jumps to a latency above it (the peak) and otherwise decays
                      with ``exp(-Δt/tau)``, also when read, so an idle backend is tried
                      again; a backend with no latency yet and requests in flight costs a
                      large penalty
====================  ===================================================================

Around every strategy: **active health checks** (``check=`` a callable
``backend → bool`` or :func:`http_probe`; :meth:`Balancer.check` runs them once,
:meth:`Balancer.start_health_checks` every ``interval`` seconds in a daemon thread),
**passive outlier ejection** (``eject_after`` consecutive failed releases eject a backend
for ``eject_base_s × 2^(n-1)`` seconds, capped at ``eject_max_s``; after an ejection
the backend is on probation and one failure ejects it again for twice as long, one
success ends it — Envoy's ``consecutive_5xx`` with its growing ejection time),
**sticky sessions** (``pick(session=…)`` returns the session's backend while it is
available and the session was seen within ``sticky_ttl_s``), and **slow start**
(a backend that comes back, or is added, ramps its weight linearly from 10 % to 100 %
over ``slow_start_s`` — nginx Plus's ``slow_start``; it applies to the weighted
strategies: ``weighted``, ``least_connections``, ``p2c``).

Why no module-level default instance: a balancer is nothing without its backends,
which only the caller knows; create one where the backends are configured.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import math
import random
import threading
import time
import urllib.error
import urllib.request
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from perflab.errors import ParameterError

__all__ = ["STRATEGIES", "Backend", "Balancer", "Pick", "Strategy", "http_probe", "ip_hash_index"]

Strategy = Literal[
    "round_robin", "least_connections", "weighted", "ip_hash", "p2c", "consistent_hash",
    "peak_ewma",
]  # fmt: skip
STRATEGIES: tuple[str, ...] = (
    "round_robin",
    "least_connections",
    "weighted",
    "ip_hash",
    "p2c",
    "consistent_hash",
    "peak_ewma",
)
"""The strategy names :class:`Balancer` knows, in the order the docs list them."""

_PENALTY = 1e9  # peak_ewma's cost of a backend with requests in flight and no latency yet


@dataclass(frozen=True)
class Backend:
    """One upstream: its name and, for the simulator, how it behaves.

    Parameters
    ----------
    name : str
        Unique name (``"10.0.0.1:8080"`` or a label).
    weight : float
        Relative share, > 0.
    address : str, optional
        ``host:port`` for :func:`http_probe`; defaults to ``name``.
    speed : float
        Simulation: service demand is divided by this (2 = twice as fast), > 0.
    servers : int
        Simulation: requests the backend serves at once (its workers), ≥ 1.
    slow_at_s, slow_factor : float
        Simulation: from ``slow_at_s`` seconds on, service takes ``slow_factor`` times
        longer.
    fail_at_s, recover_at_s : float
        Simulation: the backend is down (requests to it fail) from ``fail_at_s`` until
        ``recover_at_s`` (default: the end).

    Examples
    --------
    >>> Backend("a", weight=2).weight
    2.0
    """

    name: str
    weight: float = 1.0
    address: str | None = None
    speed: float = 1.0
    servers: int = 1
    slow_at_s: float | None = None
    slow_factor: float = 1.0
    fail_at_s: float | None = None
    recover_at_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"a backend needs a non-empty name, not {self.name!r}")
        for attr in ("weight", "speed", "slow_factor"):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ParameterError(f"backend {self.name!r}: {attr} must be a number, not {v!r}")
            if v <= 0:
                raise ParameterError(f"backend {self.name!r}: {attr} must be > 0, not {v!r}")
            object.__setattr__(self, attr, float(v))
        if isinstance(self.servers, bool) or not isinstance(self.servers, int) or self.servers < 1:
            raise ParameterError(
                f"backend {self.name!r}: servers must be an integer ≥ 1, not {self.servers!r}"
            )


def as_backends(backends: Iterable[Backend | str | Mapping[str, Any]]) -> list[Backend]:
    """Backends from names, mappings of :class:`Backend` fields or ``Backend`` objects.

    Raises
    ------
    ParameterError
        No backend, a duplicate name, a weight of zero or below.

    Examples
    --------
    >>> [b.name for b in as_backends(["a", {"name": "b", "weight": 2}])]
    ['a', 'b']
    """
    if isinstance(backends, str | bytes | Mapping):
        raise ParameterError("backends must be a list of names, mappings or Backend objects")
    out: list[Backend] = []
    for b in backends:
        if isinstance(b, Backend):
            out.append(b)
        elif isinstance(b, str):
            out.append(Backend(b))
        elif isinstance(b, Mapping):
            out.append(Backend(**dict(b)))
        else:
            raise ParameterError(f"cannot make a backend of {b!r}")
    if not out:
        raise ParameterError("a balancer needs at least one backend, got none")
    dup = {n for n, k in Counter(b.name for b in out).items() if k > 1}
    if dup:
        raise ParameterError(f"backend names must be unique; repeated: {sorted(dup)}")
    return out


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def build_ring(backends: Sequence[Backend], vnodes: int = 160) -> tuple[list[int], list[int]]:
    """The consistent-hash ring: sorted 64-bit points and the backend index of each.

    Each backend gets ``round(vnodes × weight)`` points (at least one), at the BLAKE2b
    hash of ``"<name>#<i>"``.

    Examples
    --------
    >>> points, owners = build_ring([Backend("a"), Backend("b")], vnodes=4)
    >>> len(points), sorted(set(owners))
    (8, [0, 1])
    """
    pairs = sorted(
        (_h64(f"{b.name}#{i}"), j)
        for j, b in enumerate(backends)
        for i in range(max(1, round(vnodes * b.weight)))
    )
    return [p for p, _ in pairs], [j for _, j in pairs]


def key_hash(key: str) -> int:
    """The 64-bit ring position of a key (BLAKE2b), shared with the simulator.

    Examples
    --------
    >>> key_hash("10.0.0.1") == key_hash("10.0.0.1")
    True
    """
    return _h64(key)


def ip_octets(client: str) -> tuple[int, int, int]:
    """What nginx's ``ip_hash`` hashes: the first three octets of an IPv4 address.

    Anything else (IPv6, a name) is reduced to three bytes of its BLAKE2b hash.

    Examples
    --------
    >>> ip_octets("192.168.7.42")
    (192, 168, 7)
    """
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        ip = None
    if ip is not None and ip.version == 4:
        a, b, c, _ = ip.packed
        return a, b, c
    d = hashlib.blake2b(client.encode(), digest_size=3).digest()
    return d[0], d[1], d[2]


def ip_hash_index(
    octets: tuple[int, int, int], weights: Sequence[int], up: Sequence[bool]
) -> int | None:
    """nginx's ``ip_hash`` choice: the backend index, or None after 20 misses.

    Examples
    --------
    >>> ip_hash_index((192, 168, 7), [1, 1, 1], [True, True, True])
    1
    """
    total = sum(weights)
    h = 89
    for _ in range(21):
        for o in octets:
            h = (h * 113 + o) % 6271
        w = h % total
        p = 0
        while w >= weights[p]:
            w -= weights[p]
            p += 1
        if up[p]:
            return p
    return None


def http_probe(path: str = "/", *, timeout: float = 1.0) -> Callable[[Backend], bool]:
    """A health check that GETs ``http://<backend address><path>``: healthy on 2xx/3xx.

    Parameters
    ----------
    path : str
        Path of the health endpoint.
    timeout : float
        Seconds to wait for connection and answer; a timeout counts as unhealthy.

    Examples
    --------
    >>> probe = http_probe("/health", timeout=0.2)
    >>> probe(Backend("127.0.0.1:9"))  # nothing listens on port 9
    False
    """
    if timeout <= 0:
        raise ParameterError(f"timeout must be > 0, not {timeout!r}")

    def probe(backend: Backend) -> bool:
        url = f"http://{backend.address or backend.name}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return 200 <= int(resp.status) < 400
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return probe


@dataclass
class _State:
    backend: Backend
    inflight: int = 0
    current: float = 0.0  # smooth WRR
    healthy: bool = True
    ejected_until: float = 0.0
    ejections: int = 0
    probation: bool = False
    consecutive: int = 0
    since: float = -math.inf  # when it (re)joined, for slow start
    ewma: float = 0.0
    stamp: float = 0.0
    picks: int = 0
    failures: int = 0


class Pick(NamedTuple):
    """What :meth:`Balancer.pick` returns; hand it back to :meth:`Balancer.release`.

    Examples
    --------
    >>> Pick("a", 0, 1.5).backend
    'a'
    """

    backend: str
    slot: int
    started: float
    address: str | None = None


class Balancer:
    """Pick a backend for each request; thread-safe.

    Parameters
    ----------
    backends : list of str, mapping or Backend
        The upstreams (names, ``{"name": …, "weight": …}`` or :class:`Backend`).
    strategy : str
        One of :data:`STRATEGIES`.
    check : callable, optional
        Active health check ``Backend → bool`` (see :func:`http_probe`).
    eject_after : int or None
        Consecutive failures that eject a backend (None: no passive ejection).
    eject_base_s, eject_max_s : float
        First ejection time and its cap; each further ejection doubles it.
    sticky_ttl_s : float or None
        Sessions stay on their backend while seen within this many seconds.
    slow_start_s : float
        Seconds over which a returning backend's weight ramps up (0: off).
    vnodes : int
        Ring points per unit of weight (``consistent_hash``).
    ewma_tau_s : float
        Decay time of ``peak_ewma``'s latency average.
    seed : int, optional
        Seed of the random choices (``p2c``, ``peak_ewma``).
    clock : callable
        Seconds, monotonic (tests pass a fake one).

    Examples
    --------
    >>> lb = Balancer(["a", "b", "c"], strategy="round_robin")
    >>> [lb.release(p) or p.backend for p in (lb.pick() for _ in range(4))]
    ['a', 'b', 'c', 'a']
    """

    def __init__(
        self,
        backends: Iterable[Backend | str | Mapping[str, Any]],
        strategy: str = "round_robin",
        *,
        check: Callable[[Backend], bool] | None = None,
        eject_after: int | None = 5,
        eject_base_s: float = 1.0,
        eject_max_s: float = 300.0,
        sticky_ttl_s: float | None = None,
        slow_start_s: float = 0.0,
        vnodes: int = 160,
        ewma_tau_s: float = 10.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ParameterError(
                f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if eject_after is not None and (not isinstance(eject_after, int) or eject_after < 1):
            raise ParameterError(
                f"eject_after must be a positive integer or None, not {eject_after!r}"
            )
        if sticky_ttl_s is not None and sticky_ttl_s <= 0:
            raise ParameterError(f"sticky_ttl_s must be > 0 or None, not {sticky_ttl_s!r}")
        if slow_start_s < 0 or ewma_tau_s <= 0 or eject_base_s <= 0:
            raise ParameterError("slow_start_s must be ≥ 0; ewma_tau_s and eject_base_s > 0")
        self.strategy = strategy
        self._lock = threading.Lock()
        self._clock = clock
        self._check = check
        self._eject_after = eject_after
        self._eject_base = float(eject_base_s)
        self._eject_max = float(eject_max_s)
        self._sticky_ttl = sticky_ttl_s
        self._slow = float(slow_start_s)
        self._tau = float(ewma_tau_s)
        self._vnodes = vnodes
        self._rng = random.Random(seed)
        self._rr = itertools.count()
        self._sessions: dict[str, tuple[int, float]] = {}
        self._states: list[_State] = []
        self._index: dict[str, int] = {}
        self._stop: threading.Event | None = None
        self._set(as_backends(backends), joined=False)

    # -- configuration ---------------------------------------------------------------
    def _set(self, backends: list[Backend], *, joined: bool) -> None:
        now = self._clock()
        old = {s.backend.name: s for s in self._states}
        self._states = [
            old.get(b.name) or _State(b, since=now if joined else -math.inf, stamp=now)
            for b in backends
        ]
        for s, b in zip(self._states, backends, strict=True):
            s.backend = b
        self._index = {b.name: i for i, b in enumerate(backends)}
        self._all = list(range(len(backends)))
        self._dirty = True  # something may be out: _available looks at every backend
        self._ring, self._owners = build_ring(backends, self._vnodes)
        self._int_weights = [max(1, round(b.weight)) for b in backends]

    @property
    def backends(self) -> list[Backend]:
        """The configured backends, in order."""
        return [s.backend for s in self._states]

    def _find(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise ParameterError(
                f"unknown backend {name!r}; known: {', '.join(self._index)}"
            ) from None

    def add(self, backend: Backend | str | Mapping[str, Any]) -> None:
        """Add a backend (slow start applies to it).

        Examples
        --------
        >>> lb = Balancer(["a"]); lb.add("b"); [b.name for b in lb.backends]
        ['a', 'b']
        """
        with self._lock:
            new = as_backends([*self.backends, *as_backends([backend])])
            self._set(new, joined=True)

    def remove(self, name: str) -> None:
        """Remove a backend by name (``ParameterError`` if unknown or the last one).

        Examples
        --------
        >>> lb = Balancer(["a", "b"]); lb.remove("a"); [b.name for b in lb.backends]
        ['b']
        """
        with self._lock:
            i = self._find(name)
            rest = [b for j, b in enumerate(self.backends) if j != i]
            self._set(as_backends(rest), joined=False)

    def mark(self, name: str, healthy: bool) -> None:
        """Set a backend's health by hand (what an active check does).

        Examples
        --------
        >>> lb = Balancer(["a", "b"]); lb.mark("a", False); lb.pick().backend
        'b'
        """
        with self._lock:
            self._mark(self._find(name), healthy)

    def _mark(self, i: int, healthy: bool) -> None:
        s = self._states[i]
        if healthy and not s.healthy:
            s.since = self._clock()
        s.healthy = healthy
        self._dirty = True

    # -- health ----------------------------------------------------------------------
    def check(self) -> dict[str, bool]:
        """Run the active health check on every backend once; returns name → healthy.

        Examples
        --------
        >>> lb = Balancer(["a", "b"], check=lambda b: b.name == "b")
        >>> lb.check()
        {'a': False, 'b': True}
        """
        if self._check is None:
            raise ParameterError("this balancer has no health check (pass check=…)")
        results = {b.name: bool(self._check(b)) for b in self.backends}  # outside the lock
        with self._lock:
            for name, ok in results.items():
                if name in self._index:
                    self._mark(self._index[name], ok)
        return results

    def start_health_checks(self, interval: float = 5.0) -> None:
        """Run :meth:`check` every ``interval`` seconds in a daemon thread."""
        if interval <= 0:
            raise ParameterError(f"interval must be > 0, not {interval!r}")
        self.stop_health_checks()
        stop = self._stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                self.check()

        threading.Thread(target=loop, name="perflab-health", daemon=True).start()

    def stop_health_checks(self) -> None:
        """Stop the thread :meth:`start_health_checks` started (if any)."""
        if self._stop is not None:
            self._stop.set()
            self._stop = None

    def _available(self, now: float) -> list[int]:
        if not self._dirty:
            return self._all
        up = []
        for i, s in enumerate(self._states):
            if not s.healthy:
                continue
            if s.ejected_until > now:
                continue
            if s.ejected_until and not s.probation:
                s.probation, s.since = True, s.ejected_until
            up.append(i)
        if len(up) == len(self._states) and not any(
            s.ejected_until or s.probation for s in self._states
        ):
            self._dirty = False
        return up

    def _weight(self, s: _State, now: float) -> float:
        w = s.backend.weight
        if self._slow > 0 and now - s.since < self._slow:
            w *= 0.1 + 0.9 * max(0.0, now - s.since) / self._slow
        return w

    def _cost(self, s: _State, now: float) -> float:
        # Finagle's PeakEwma: read the cost decayed to now
        td = max(0.0, now - s.stamp)
        s.ewma *= math.exp(-td / self._tau)
        s.stamp = now
        if s.ewma == 0.0 and s.inflight:
            return _PENALTY + s.inflight
        return s.ewma * (s.inflight + 1)

    # -- picking ---------------------------------------------------------------------
    def pick(
        self, *, client: str | None = None, key: str | None = None, session: str | None = None
    ) -> Pick:
        """Choose a backend for one request; give the result to :meth:`release`.

        Parameters
        ----------
        client : str, optional
            Client address (``ip_hash``; also the ring key when ``key`` is None).
        key : str, optional
            Hash key for ``consistent_hash`` (a path, a user id).
        session : str, optional
            Session id for sticky sessions (needs ``sticky_ttl_s``).

        Returns
        -------
        Pick
            The backend's name, index and the pick time.

        Examples
        --------
        >>> lb = Balancer(["a", "b"], strategy="ip_hash")
        >>> lb.pick(client="10.1.2.3").backend == lb.pick(client="10.1.2.99").backend
        True
        """
        with self._lock:
            now = self._clock()
            up = self._available(now)
            if not up:  # nothing known healthy: try them all rather than refuse
                up = list(range(len(self._states)))
            i = -1
            if session is not None and self._sticky_ttl is not None:
                seen = self._sessions.get(session)
                if seen is not None and now - seen[1] <= self._sticky_ttl and seen[0] in up:
                    i = seen[0]
            if i < 0:
                i = self._choose(up, now, client, key)
            if session is not None and self._sticky_ttl is not None:
                self._sessions[session] = (i, now)
                if len(self._sessions) > 4096 and len(self._sessions) % 4096 == 0:
                    self._expire(now)
            s = self._states[i]
            s.inflight += 1
            s.picks += 1
            return Pick(s.backend.name, i, now, s.backend.address or s.backend.name)

    def _expire(self, now: float) -> None:
        ttl = self._sticky_ttl or 0.0
        self._sessions = {k: v for k, v in self._sessions.items() if now - v[1] <= ttl}

    def _choose(self, up: list[int], now: float, client: str | None, key: str | None) -> int:
        st = self._states
        strategy = self.strategy
        if strategy == "round_robin" or len(up) == 1:
            return up[next(self._rr) % len(up)]
        if strategy == "weighted":
            total, best = 0.0, up[0]
            for i in up:
                w = self._weight(st[i], now)
                st[i].current += w
                total += w
                if st[i].current > st[best].current:
                    best = i
            st[best].current -= total
            return best
        if strategy == "least_connections":
            start = next(self._rr) % len(up)
            order = up[start:] + up[:start]
            return min(order, key=lambda i: st[i].inflight / self._weight(st[i], now))
        if strategy in ("p2c", "peak_ewma"):
            a, b = self._rng.sample(up, 2)
            if strategy == "p2c":
                la = st[a].inflight / self._weight(st[a], now)
                lb = st[b].inflight / self._weight(st[b], now)
            else:
                la, lb = self._cost(st[a], now), self._cost(st[b], now)
            return a if la < lb or (la == lb and self._rng.random() < 0.5) else b
        if strategy == "ip_hash":
            if client is None:
                raise ParameterError("ip_hash needs pick(client=…)")
            ok = [False] * len(st)
            for i in up:
                ok[i] = True
            found = ip_hash_index(ip_octets(client), self._int_weights, ok)
            return found if found is not None else up[next(self._rr) % len(up)]
        # consistent_hash
        k = key if key is not None else client
        if k is None:
            raise ParameterError("consistent_hash needs pick(key=…) or pick(client=…)")
        upset = set(up)
        n = len(self._ring)
        at = bisect_left(self._ring, key_hash(k))
        for step in range(n):
            owner = self._owners[(at + step) % n]
            if owner in upset:
                return owner
        return up[0]  # pragma: no cover - every backend has ring points

    def release(self, pick: Pick, *, ok: bool = True, latency_ms: float | None = None) -> None:
        """Return a pick: its request ended, well (``ok``) or not.

        Parameters
        ----------
        pick : Pick
            What :meth:`pick` returned.
        ok : bool
            False counts a failure toward outlier ejection.
        latency_ms : float, optional
            The request's latency for ``peak_ewma``; default: measured since the pick.

        Examples
        --------
        >>> lb = Balancer(["a", "b"], eject_after=2)
        >>> for _ in range(4):
        ...     p = lb.pick(); lb.release(p, ok=p.backend != "a")
        >>> lb.stats()["ejected"]
        [True, False]
        """
        with self._lock:
            i = self._index.get(pick.backend)
            if i is None:
                raise ParameterError(
                    f"unknown backend {pick.backend!r}; known: {', '.join(self._index)}"
                )
            s = self._states[i]
            now = self._clock()
            s.inflight = max(0, s.inflight - 1)
            if ok:
                if self.strategy == "peak_ewma":
                    rtt = (now - pick.started) * 1000.0 if latency_ms is None else latency_ms
                    w = math.exp(-max(0.0, now - s.stamp) / self._tau)
                    s.ewma = rtt if rtt > s.ewma else s.ewma * w + rtt * (1.0 - w)
                    s.stamp = now
                s.consecutive = 0
                if s.probation:
                    s.probation, s.ejections, s.ejected_until = False, 0, 0.0
                return
            s.failures += 1
            s.consecutive += 1
            if self._eject_after is None:
                return
            if s.probation or s.consecutive >= self._eject_after:
                s.ejections += 1
                span = min(self._eject_max, self._eject_base * 2 ** (s.ejections - 1))
                s.ejected_until, s.consecutive, s.probation = now + span, 0, False
                self._dirty = True

    def stats(self) -> dict[str, list[Any]]:
        """Per backend: name, in flight, picks, failures, healthy, ejected, ewma_ms.

        Examples
        --------
        >>> Balancer(["a"]).stats()["backend"]
        ['a']
        """
        with self._lock:
            now = self._clock()
            return {
                "backend": [s.backend.name for s in self._states],
                "inflight": [s.inflight for s in self._states],
                "picks": [s.picks for s in self._states],
                "failures": [s.failures for s in self._states],
                "healthy": [s.healthy for s in self._states],
                "ejected": [s.ejected_until > now for s in self._states],
                "ewma_ms": [s.ewma for s in self._states],
            }

    def to_frame(self) -> Any:
        """:meth:`stats` as a polars frame.

        Examples
        --------
        >>> Balancer(["a", "b"]).to_frame().height
        2
        """
        import polars as pl

        return pl.DataFrame(self.stats())

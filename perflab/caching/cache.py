"""The runtime cache of the caching domain: :class:`Cache` and the process-wide default.

The seed's caching-strategy manager, as a live, thread-safe component::

    cache = Cache()
    cache.define_strategy("user_cache", 3600, 1000, "LRU")
    cache.set("user_123", user_data, "user_cache")
    user = cache.get("user_123")

Strategies
----------
A strategy is a named partition of the in-process level (L1) with its own policy
(``lru``, ``lfu``, ``fifo``, ``sieve`` or ``s3fifo``; see
:mod:`perflab.caching.policies`), size bound and default time to live. A
``"default"`` strategy (LRU, 1000 entries, no TTL) always exists. The strategy of
a key is chosen when it is ``set`` and remembered, so ``get``, ``delete`` and the
statistics find it; setting a key under another strategy moves it there.

Keys and values
---------------
Keys are any hashable value for an L1-only cache; with an L2 they must be ``str``
(they become Redis keys, ``prefix + key``). Values are kept as they are in L1 (the
same object is returned, so mutating it mutates the cached value); with an L2 they
are also serialised, and a value the L2 serialiser refuses raises
:class:`~perflab.caching.redis_level.SerializerError` before anything changes.

Levels
------
``Cache(l2=RedisLevel(...))`` adds Redis behind L1 (:mod:`perflab.caching.redis_level`):

- **read-through**: an L1 miss asks Redis (``GET`` + ``PTTL``, one round trip);
  a value found there is returned and put in L1 under the key's strategy (the
  ``strategy=`` given to ``get``, else ``"default"``), expiring no later than it
  does in Redis. A fill is dropped if a ``set``, ``delete`` or ``clear`` of the key
  happened while Redis was being asked, so a racing write is never undone.
- **write-through**: ``set`` writes L1, then Redis (``SET key value PX ttl``).
- **invalidation**: ``delete`` removes the key from both; ``clear()`` removes all
  of L1 and every Redis key under the prefix, ``clear(strategy)`` that strategy's
  L1 entries and the same keys in Redis. Other processes' L1s are not told: their
  copies live until their TTL.
- **failures**: when Redis fails or times out, L1 keeps serving, the call counts
  in the ``errors`` column of the strategy's ``l2`` row, and the level backs off
  (calls skipped during the backoff count as errors too).

Redis is called outside the cache's lock, so a slow Redis never blocks L1 hits of
other threads. Concurrent writes of one key from several threads reach L1 in lock
order but Redis in network order.

Time to live
------------
A TTL (``define_strategy(ttl_s=…)``, overridden per entry by ``set(ttl_s=…)``) is
measured on ``clock`` (:func:`time.monotonic` unless you pass a fake one). An
expired entry is removed lazily when ``get`` finds it (a miss, counted in
``evictions_ttl``) and eagerly from a per-strategy heap of expiry times: before
each insertion and in :meth:`Cache.stats`, so expired entries are always the
first victims and ``entries`` counts live ones.

Statistics
----------
:meth:`Cache.stats` returns the ``STATS`` frame (:mod:`perflab.caching.schema`),
one row per strategy and level. On the ``l1`` row ``hits + misses`` is the number
of ``get`` calls (and ``get_or_set`` / ``cached`` lookups) of that strategy,
``sets`` the ``set`` calls, ``deletes`` the ``delete`` calls. On the ``l2`` row
``hits + misses`` counts the lookups Redis answered, ``sets``/``deletes`` the
writes it acknowledged, ``errors`` the calls that failed or were skipped during a
backoff; ``policy``, ``entries``, ``max_size`` and evictions are null (Redis does
not tell).

Threads
-------
One :class:`threading.Lock` guards all of L1 (the key → strategy directory spans
strategies; under the GIL finer locks would buy little). It is held for dictionary
work only — never for Redis, a ``get_or_set`` factory or file writes other than a
recorder's periodic flush. ``get_or_set`` and :meth:`Cache.cached` add a lock per
key being computed, so concurrent callers of a missing key run the factory once.

The hit path
------------
``get`` on an L1 hit is the lock (taken with ``acquire``/``release``, cheaper than
``with`` on 3.11), one dictionary lookup (key → entry, which knows its strategy),
the policy's bookkeeping — a C-level ``OrderedDict.move_to_end`` for LRU, nothing
for FIFO, a short method for the others (:meth:`~perflab.caching.policies.Policy.toucher`)
— a counter and, for entries with a TTL, one clock read: no frame, no logging, one
attribute test when no recorder is attached. The uncontended lock is the largest
part. ``benchmarks/bench_caching_get.py`` measures it against
``cachetools.LRUCache`` (no lock) and a plain ``dict``.

Recording
---------
``Cache(record="trace.csv")`` or ``with cache.record("trace.csv"):`` writes every
get/set/delete of every level as an ``ACCESSES`` row (:mod:`perflab.caching.record`),
readable with ``perflab.caching.read_trace``. Sizes are those of the serialised
value: from the L2 serialiser, or without an L2 from JSON (pickle when JSON
refuses), computed only while recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import inspect
import itertools
import logging
import math
import os
import pickle
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import Any, TypeVar, cast

import polars as pl

from perflab.caching.policies import Policy, make_policy, policy_name
from perflab.caching.record import Recorder
from perflab.caching.redis_level import JSON, LevelError, RedisLevel, SerializerError
from perflab.caching.schema import STATS
from perflab.errors import ParameterError

__all__ = ["Cache", "default_cache"]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_MISSING: Any = object()


class _Entry:
    """One cached value in L1: its strategy, absolute expiry and serialised size."""

    __slots__ = ("expires", "size", "st", "ttl", "value")

    def __init__(
        self,
        value: Any,
        expires: float | None,
        ttl: float | None,
        size: int | None,
        st: _Strategy,
    ) -> None:
        self.value = value
        self.expires = expires
        self.ttl = ttl
        self.size = size
        self.st = st


class _Strategy:
    """A strategy's settings, its policy (the entries) and its counters."""

    __slots__ = (
        "deletes",
        "ev_cap",
        "ev_ttl",
        "heap",
        "hits",
        "l2_deletes",
        "l2_errors",
        "l2_hits",
        "l2_misses",
        "l2_sets",
        "max_size",
        "misses",
        "name",
        "policy",
        "sets",
        "store",
        "touch",
        "ttl_s",
    )

    def __init__(self, name: str, ttl_s: float | None, max_size: int, policy: str) -> None:
        self.name = name
        self.ttl_s = ttl_s
        self.max_size = max_size
        self.policy = policy
        self.store: Policy[Hashable, _Entry] = make_policy(policy, max_size)
        self.touch = self.store.toucher()
        self.heap: list[tuple[float, int, Hashable, _Entry]] = []
        self.hits = self.misses = self.sets = self.deletes = 0
        self.ev_cap = self.ev_ttl = 0
        self.l2_hits = self.l2_misses = self.l2_sets = self.l2_deletes = self.l2_errors = 0

    def settings(self) -> tuple[float | None, int, str]:
        return (self.ttl_s, self.max_size, self.policy)


def _check_ttl(ttl_s: object, what: str = "ttl_s") -> float | None:
    if ttl_s is None:
        return None
    if (
        isinstance(ttl_s, bool)
        or not isinstance(ttl_s, int | float)
        or not math.isfinite(ttl_s)
        or ttl_s <= 0
    ):
        raise ParameterError(
            f"{what} must be a finite number of seconds > 0 or None, not {ttl_s!r}"
        )
    return float(ttl_s)


def _measure(value: Any) -> int | None:
    """Bytes of ``value`` serialised: JSON, else pickle, else unknown."""
    try:
        return len(JSON.dumps(value))
    except SerializerError:
        pass
    try:
        return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return None


_PLAIN = (str, int, float, bool, bytes, type(None))


def _plain(value: object) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, tuple | frozenset):
        return all(_plain(v) for v in value)
    return False


def _default_key(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``module.qualname(arg, …, name=value, …)`` for plain arguments."""
    for value in (*args, *kwargs.values()):
        if not _plain(value):
            raise ParameterError(
                f"cached {func.__qualname__}: an argument of type {type(value).__name__} "
                "has no stable cache key (only str, int, float, bool, bytes, None and "
                "tuples of them do); pass key=lambda *args, **kwargs: ... to cached()"
            )
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in sorted(kwargs.items())]
    return f"{func.__module__}.{func.__qualname__}({', '.join(parts)})"


class Cache:
    """A thread-safe in-process cache of named strategies, optionally over Redis.

    Parameters
    ----------
    l2 : RedisLevel, optional
        A second level behind the in-process one: read-through, write-through,
        deletes go to both (see the module docstring). Keys must then be ``str``.
        The cache does not close it.
    record : str, path or Recorder, optional
        Record every access as CSV ``ACCESSES`` rows: a path (a new file; the cache
        closes it in :meth:`close`) or a :class:`~perflab.caching.record.Recorder`.
    clock : callable, optional
        Monotonic seconds used for TTLs; :func:`time.monotonic` by default. Tests
        pass a fake clock instead of sleeping.

    Notes
    -----
    :meth:`stats` returns the ``STATS`` schema: ``strategy``, ``level`` (``l1``,
    ``l2``), ``policy`` (str), ``hits``, ``misses`` (i64), ``hit_ratio`` (f64),
    ``sets``, ``deletes``, ``evictions_capacity``, ``evictions_ttl``, ``errors``,
    ``entries``, ``max_size`` (i64).

    Examples
    --------
    >>> cache = Cache()
    >>> cache.define_strategy("user_cache", 3600, 2, "LRU")
    >>> cache.set("user_1", {"name": "Ada"}, "user_cache")
    >>> cache.get("user_1"), cache.get("user_2", "n/a")
    ({'name': 'Ada'}, 'n/a')
    >>> cache.stats().select("strategy", "policy", "hits", "misses", "sets", "entries")
    shape: (2, 6)
    ┌────────────┬────────┬──────┬────────┬──────┬─────────┐
    │ strategy   ┆ policy ┆ hits ┆ misses ┆ sets ┆ entries │
    │ ---        ┆ ---    ┆ ---  ┆ ---    ┆ ---  ┆ ---     │
    │ str        ┆ str    ┆ i64  ┆ i64    ┆ i64  ┆ i64     │
    ╞════════════╪════════╪══════╪════════╪══════╪═════════╡
    │ default    ┆ lru    ┆ 0    ┆ 1      ┆ 0    ┆ 0       │
    │ user_cache ┆ lru    ┆ 1    ┆ 0      ┆ 1    ┆ 1       │
    └────────────┴────────┴──────┴────────┴──────┴─────────┘
    """

    def __init__(
        self,
        *,
        l2: RedisLevel | None = None,
        record: str | os.PathLike[str] | Recorder | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if l2 is not None and not isinstance(l2, RedisLevel):
            raise ParameterError(f"l2 must be a RedisLevel, not {l2!r}")
        self._lock = threading.Lock()
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._clock: Callable[[], float] = clock or time.monotonic
        self._seq = itertools.count()
        self._strategies: dict[str, _Strategy] = {}
        self._where: dict[Hashable, _Entry] = {}  # every L1 entry, whatever its strategy
        self._fills: dict[Hashable, object] = {}
        # L2 invalidations (delete, clear) in flight, and a count bumped as each starts
        # and ends: a read-through whose Redis read may have overlapped one does not
        # fill L1 (it could hold the value the invalidation is removing)
        self._invalidating = 0
        self._invalidation_seq = 0
        self._key_locks: dict[Hashable, list[Any]] = {}
        self._key_locks_lock = threading.Lock()
        self._inflight: dict[tuple[int, Hashable], asyncio.Future[Any]] = {}
        self._l2 = l2
        self._recorder: Recorder | None = None
        self._owns_recorder = False
        if record is not None:
            if isinstance(record, Recorder):
                self._recorder = record
            else:
                self._recorder = Recorder(record)
                self._owns_recorder = True
        self._owned = self._recorder if self._owns_recorder else None
        self.define_strategy("default")

    def __repr__(self) -> str:
        names = ", ".join(self._strategies)
        l2 = f", l2={self._l2!r}" if self._l2 is not None else ""
        return f"Cache(strategies=[{names}], entries={len(self)}{l2})"

    @property
    def l2(self) -> RedisLevel | None:
        """The Redis level, if any."""
        return self._l2

    @property
    def recorder(self) -> Recorder | None:
        """The recorder attached now, if any."""
        return self._recorder

    # -- strategies --------------------------------------------------------------------

    def define_strategy(
        self,
        name: str,
        ttl_s: float | None = None,
        max_size: int = 1000,
        policy: str = "lru",
    ) -> None:
        """Define (or redefine) a strategy: a policy, a size bound and a default TTL.

        Parameters
        ----------
        name : str
            The strategy's name, used by ``set(..., strategy=name)``.
        ttl_s : float, optional
            Seconds an entry lives unless ``set`` gives its own; ``None``: forever.
        max_size : int
            Most entries the strategy holds in L1 (a positive integer).
        policy : str
            ``lru``, ``lfu``, ``fifo``, ``sieve`` or ``s3fifo`` (any case).

        Redefining a strategy with the same settings does nothing; with other
        settings it starts empty (its L1 entries are dropped, its counters reset).

        Raises
        ------
        ParameterError
            A bad name, TTL, size or policy.

        Examples
        --------
        >>> cache = Cache()
        >>> cache.define_strategy("pages", ttl_s=60, max_size=500, policy="s3fifo")
        >>> cache.define_strategy("tiny", max_size=0)
        Traceback (most recent call last):
        ...
        perflab.errors.ParameterError: max_size must be a positive integer, not 0
        """
        if not isinstance(name, str) or not name:
            raise ParameterError(f"a strategy name must be a non-empty str, not {name!r}")
        ttl = _check_ttl(ttl_s)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ParameterError(f"max_size must be a positive integer, not {max_size!r}")
        canonical = policy_name(policy)
        with self._lock:
            old = self._strategies.get(name)
            if old is not None:
                if old.settings() == (ttl, max_size, canonical):
                    return
                self._drop_locked(old)
                logger.info("cache strategy %r redefined; its entries were dropped", name)
            self._strategies[name] = _Strategy(name, ttl, max_size, canonical)

    def _strategy(self, name: str | None) -> _Strategy:
        st = self._strategies.get("default" if name is None else name)
        if st is None:
            known = ", ".join(repr(s) for s in self._strategies)
            raise ParameterError(f"unknown cache strategy {name!r}; defined: {known}")
        return st

    def _drop_locked(self, st: _Strategy) -> list[Hashable]:
        where = self._where
        keys = list(st.store)
        for k in keys:
            entry = where.get(k)
            if entry is not None and entry.st is st:
                del where[k]
        st.store.clear()
        st.heap.clear()
        return keys

    # -- the hot path --------------------------------------------------------------------

    def get(self, key: Hashable, default: Any = None, *, strategy: str | None = None) -> Any:
        """The cached value of ``key``, or ``default`` (and a miss is counted).

        Parameters
        ----------
        key : hashable
            The key (``str`` when the cache has an L2).
        default : object
            Returned on a miss.
        strategy : str, optional
            Where to count a miss of a key L1 does not hold, and where an L2 hit is
            put in L1; ``"default"`` when not given. Ignored when L1 holds the key.

        Examples
        --------
        >>> cache = Cache()
        >>> cache.set("a", 1)
        >>> cache.get("a"), cache.get("b"), cache.get("b", 0)
        (1, None, 0)
        """
        # acquire/release rather than ``with``: about 0.1 µs less per call (3.11)
        self._acquire()
        try:
            entry = self._where.get(key)
            if entry is not None:
                expires = entry.expires
                st = entry.st
                if expires is None or expires > self._clock():
                    touch = st.touch
                    if touch is not None:
                        touch(key)
                    st.hits += 1
                    if self._recorder is not None:
                        self._recorder.write(
                            "get", key, "hit", strategy=st.name, size=entry.size, ttl=entry.ttl
                        )
                    return entry.value
                st.store.pop(key)
                del self._where[key]
                st.ev_ttl += 1
                result = "expired"
            else:
                st = self._strategy(strategy)
                result = "miss"
                if self._l2 is not None and not isinstance(key, str):
                    self._l2.key(cast(str, key))  # raises the ParameterError
            st.misses += 1
            if self._recorder is not None:
                self._recorder.write("get", key, result, strategy=st.name)
            l2 = self._l2
            if l2 is None:
                return default
            token = [self._invalidation_seq]  # a new object: the fill's identity
            self._fills[key] = token
        finally:
            self._release()
        return self._read_through(l2, st, cast(str, key), default, token)

    def _read_through(
        self, l2: RedisLevel, st: _Strategy, key: str, default: Any, token: list[int]
    ) -> Any:
        try:
            found = l2.fetch(key)
        except (LevelError, SerializerError):
            with self._lock:
                st.l2_errors += 1
                if self._fills.get(key) is token:
                    del self._fills[key]
            return default
        with self._lock:
            fill = self._fills.get(key) is token
            if fill:
                del self._fills[key]
                fill = not self._invalidating and token[0] == self._invalidation_seq
            rec = self._recorder
            if found is None:
                st.l2_misses += 1
                if rec is not None:
                    rec.write("get", key, "miss", level="l2", strategy=st.name)
                return default
            value, size, remaining = found
            st.l2_hits += 1
            if rec is not None:
                rec.write("get", key, "hit", level="l2", strategy=st.name, size=size, ttl=remaining)
            if fill and key not in self._where and self._strategies.get(st.name) is st:
                ttl = st.ttl_s
                if remaining is not None and (ttl is None or remaining < ttl):
                    ttl = remaining
                self._insert_locked(st, key, value, ttl, size)
        return value

    def set(
        self,
        key: Hashable,
        value: Any,
        strategy: str = "default",
        ttl_s: float | None = None,
    ) -> None:
        """Cache ``value`` under ``key`` in ``strategy`` (and in the L2, if any).

        Parameters
        ----------
        key : hashable
            The key (``str`` when the cache has an L2).
        value : object
            The value; with an L2 it must suit the L2's serialiser.
        strategy : str
            The strategy the key belongs to from now on.
        ttl_s : float, optional
            This entry's time to live in seconds; the strategy's when ``None``.

        Raises
        ------
        ParameterError
            An unknown strategy, a bad TTL, a non-str key with an L2.
        SerializerError
            The L2 serialiser refuses the value (nothing is cached).

        Examples
        --------
        >>> cache = Cache()
        >>> cache.define_strategy("short", ttl_s=5)
        >>> cache.set("k", "v", "short", ttl_s=30)  # this entry lives 30 s
        >>> cache.set("k", "v", "nope")
        Traceback (most recent call last):
        ...
        perflab.errors.ParameterError: unknown cache strategy 'nope'; defined: 'default', 'short'
        """
        self._strategy(strategy)
        ttl = _check_ttl(ttl_s)
        l2 = self._l2
        payload: bytes | None = None
        size: int | None = None
        if l2 is not None:
            l2.key(cast(str, key))
            payload = l2.dumps(value)
            size = len(payload)
        elif self._recorder is not None:
            size = _measure(value)
        with self._lock:
            st = self._strategy(strategy)
            if ttl is None:
                ttl = st.ttl_s
            self._insert_locked(st, key, value, ttl, size)
            st.sets += 1
            if self._fills:
                self._fills.pop(key, None)
            if self._recorder is not None:
                self._recorder.write("set", key, "set", strategy=st.name, size=size, ttl=ttl)
        if l2 is not None and payload is not None:
            try:
                l2.store(cast(str, key), payload, ttl)
            except LevelError:
                with self._lock:
                    st.l2_errors += 1
                return
            with self._lock:
                st.l2_sets += 1
                if self._recorder is not None:
                    self._recorder.write(
                        "set", key, "set", level="l2", strategy=st.name, size=size, ttl=ttl
                    )

    def _insert_locked(
        self, st: _Strategy, key: Hashable, value: Any, ttl: float | None, size: int | None
    ) -> None:
        where = self._where
        old = where.get(key)
        if old is not None and old.st is not st:
            old.st.store.pop(key)
        heap = st.heap
        expires = None
        if ttl is not None or heap:
            now = self._clock()
            if heap and heap[0][0] <= now:
                self._sweep_locked(st, now)
            if ttl is not None:
                expires = now + ttl
        entry = _Entry(value, expires, ttl, size, st)
        if expires is not None:
            heapq.heappush(heap, (expires, next(self._seq), key, entry))
        where[key] = entry
        evicted = st.store.put(key, entry)
        for k, _ in evicted:
            del where[k]
        st.ev_cap += len(evicted)
        if len(heap) > 2 * len(st.store) + 64:
            st.heap = [
                (e.expires, next(self._seq), k, e)
                for k, e in st.store.items()
                if e.expires is not None
            ]
            heapq.heapify(st.heap)

    def _sweep_locked(self, st: _Strategy, now: float) -> None:
        heap, store, where = st.heap, st.store, self._where
        while heap and heap[0][0] <= now:
            _, _, k, e = heapq.heappop(heap)
            if where.get(k) is e:
                store.pop(k)
                del where[k]
                st.ev_ttl += 1

    def delete(self, key: Hashable) -> bool:
        """Remove ``key`` from every level; whether a live entry was removed.

        Examples
        --------
        >>> cache = Cache()
        >>> cache.set("a", 1)
        >>> cache.delete("a"), cache.delete("a"), cache.get("a")
        (True, False, None)
        """
        with self._lock:
            entry = self._where.pop(key, None)
            if entry is not None:
                st = entry.st
                st.store.pop(key)
                found = entry.expires is None or entry.expires > self._clock()
            else:
                st = self._strategies["default"]
                found = False
            st.deletes += 1
            if self._fills:
                self._fills.pop(key, None)
            if self._recorder is not None:
                self._recorder.write("delete", key, "delete", strategy=st.name)
        l2 = self._l2
        if l2 is None or not isinstance(key, str):
            return found
        self._invalidation_begins()
        try:
            n = l2.delete(key)
        except LevelError:
            with self._lock:
                st.l2_errors += 1
            return found
        finally:
            self._invalidation_ends()
        with self._lock:
            st.l2_deletes += 1
            if self._recorder is not None:
                self._recorder.write("delete", key, "delete", level="l2", strategy=st.name)
        return found or n > 0

    def clear(self, strategy: str | None = None) -> int:
        """Empty one strategy or the whole cache (L2 included); returns L1 entries dropped.

        ``clear()`` also deletes every Redis key under the L2's prefix;
        ``clear(strategy)`` deletes from Redis the keys that strategy held in L1.
        Counters are kept.

        Examples
        --------
        >>> cache = Cache()
        >>> cache.define_strategy("s")
        >>> cache.set("a", 1); cache.set("b", 2, "s")
        >>> cache.clear("s"), cache.get("a"), cache.clear()
        (1, 1, 1)
        """
        with self._lock:
            targets = (
                list(self._strategies.values()) if strategy is None else [self._strategy(strategy)]
            )
            keys: list[Hashable] = []
            for st in targets:
                keys.extend(self._drop_locked(st))
            self._fills.clear()
        l2 = self._l2
        if l2 is not None:
            self._invalidation_begins()
            try:
                if strategy is None:
                    l2.clear()
                else:
                    l2.delete_many(k for k in keys if isinstance(k, str))
            except LevelError:
                with self._lock:
                    targets[0].l2_errors += 1
            finally:
                self._invalidation_ends()
        return len(keys)

    def _invalidation_begins(self) -> None:
        with self._lock:
            self._invalidating += 1
            self._invalidation_seq += 1

    def _invalidation_ends(self) -> None:
        with self._lock:
            self._invalidating -= 1
            self._invalidation_seq += 1

    # -- compute on miss -------------------------------------------------------------------

    def _peek(self, key: Hashable) -> Any:
        """The live L1 value of ``key`` or ``_MISSING``; counts nothing."""
        with self._lock:
            entry = self._where.get(key)
            if entry is None:
                return _MISSING
            if entry.expires is not None and entry.expires <= self._clock():
                return _MISSING
            return entry.value

    def get_or_set(
        self,
        key: Hashable,
        factory: Callable[[], T],
        strategy: str = "default",
        ttl_s: float | None = None,
    ) -> T:
        """The cached value of ``key``, or ``factory()`` cached under ``strategy``.

        On a miss, one caller per key runs ``factory`` while concurrent callers of
        the same key wait for it and get its value (a lock per key being computed).
        If ``factory`` raises, nothing is cached and the error propagates (waiting
        callers then try the factory themselves). The lookup counts as one ``get``.

        Examples
        --------
        >>> cache = Cache()
        >>> calls = []
        >>> def load():
        ...     calls.append(1)
        ...     return 42
        >>> cache.get_or_set("answer", load), cache.get_or_set("answer", load), len(calls)
        (42, 42, 1)
        """
        value = self.get(key, _MISSING, strategy=strategy)
        if value is not _MISSING:
            return cast(T, value)
        with self._key_locks_lock:
            slot = self._key_locks.get(key)
            if slot is None:
                slot = self._key_locks[key] = [threading.Lock(), 0]
            slot[1] += 1
        try:
            with slot[0]:
                value = self._peek(key)
                if value is not _MISSING:
                    return cast(T, value)
                value = factory()
                self.set(key, value, strategy, ttl_s)
                return cast(T, value)
        finally:
            with self._key_locks_lock:
                slot[1] -= 1
                if not slot[1]:
                    del self._key_locks[key]

    def cached(
        self,
        strategy: str = "default",
        key: Callable[..., Hashable] | None = None,
        *,
        ttl_s: float | None = None,
    ) -> Callable[[F], F]:
        """Decorate a function (sync or ``async def``) to cache its results.

        Parameters
        ----------
        strategy : str
            The strategy the results go to (it must be defined already).
        key : callable, optional
            ``key(*args, **kwargs)`` → the cache key of a call. By default
            ``"module.qualname(arg, …, kw=value, …)"`` built from the arguments'
            ``repr``; arguments other than str, int, float, bool, bytes, None and
            tuples of them raise :class:`~perflab.errors.ParameterError` then (their
            ``repr`` is not a stable identity), so methods need a ``key``.
        ttl_s : float, optional
            Time to live of the results; the strategy's by default.

        An ``async def`` function's coroutine is awaited and its result cached;
        concurrent calls with one key in one event loop await a single call.
        Lookups of a cache with an L2 call Redis synchronously (bounded by its
        timeout). Calls go through :meth:`get_or_set`, so concurrent threads
        compute a key once.

        Examples
        --------
        >>> cache = Cache()
        >>> @cache.cached()
        ... def square(x):
        ...     print("computing", x)
        ...     return x * x
        >>> square(4), square(4)
        computing 4
        (16, 16)
        >>> import asyncio
        >>> @cache.cached(key=lambda user_id: f"user:{user_id}")
        ... async def fetch_user(user_id):
        ...     return {"id": user_id}
        >>> asyncio.run(fetch_user(7)), cache.get("user:7")
        ({'id': 7}, {'id': 7})
        """
        self._strategy(strategy)
        ttl = _check_ttl(ttl_s)
        if key is not None and not callable(key):
            raise ParameterError(f"key must be a callable (*args, **kwargs) -> key, not {key!r}")

        def decorate(func: F) -> F:
            make_key: Callable[..., Hashable] = key or functools.partial(_default_key_of, func)

            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    k = make_key(*args, **kwargs)
                    return await self._aget_or_set(k, lambda: func(*args, **kwargs), strategy, ttl)

                wrapper: Callable[..., Any] = async_wrapper
            else:

                @functools.wraps(func)
                def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                    k = make_key(*args, **kwargs)
                    return self.get_or_set(k, lambda: func(*args, **kwargs), strategy, ttl)

                wrapper = sync_wrapper
            wrapper.cache = self  # type: ignore[attr-defined]
            wrapper.cache_key = make_key  # type: ignore[attr-defined]
            return cast(F, wrapper)

        return decorate

    async def _aget_or_set(
        self,
        key: Hashable,
        factory: Callable[[], Awaitable[Any]],
        strategy: str,
        ttl_s: float | None,
    ) -> Any:
        value = self.get(key, _MISSING, strategy=strategy)
        if value is not _MISSING:
            return value
        loop = asyncio.get_running_loop()
        slot = (id(loop), key)
        while True:
            leader = self._inflight.get(slot)
            if leader is None:
                break
            try:
                return await asyncio.shield(leader)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not leader.cancelled() or (task is not None and task.cancelling()):
                    raise
                # the leader was cancelled, not us: compute it ourselves
            value = self._peek(key)
            if value is not _MISSING:
                return value
        future: asyncio.Future[Any] = loop.create_future()
        self._inflight[slot] = future
        try:
            value = await factory()
            self.set(key, value, strategy, ttl_s)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException:
            # waiters try the factory themselves, as in the sync path (get_or_set)
            future.cancel()
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._inflight.get(slot) is future:
                del self._inflight[slot]

    # -- statistics and state --------------------------------------------------------------

    def stats(self) -> pl.DataFrame:
        """Counters per strategy and level, as a ``STATS`` frame (expired entries swept).

        Examples
        --------
        >>> cache = Cache()
        >>> cache.set("a", 1)
        >>> _ = cache.get("a"), cache.get("b")
        >>> cache.stats().select("level", "hits", "misses", "hit_ratio", "max_size")
        shape: (1, 5)
        ┌───────┬──────┬────────┬───────────┬──────────┐
        │ level ┆ hits ┆ misses ┆ hit_ratio ┆ max_size │
        │ ---   ┆ ---  ┆ ---    ┆ ---       ┆ ---      │
        │ str   ┆ i64  ┆ i64    ┆ f64       ┆ i64      │
        ╞═══════╪══════╪════════╪═══════════╪══════════╡
        │ l1    ┆ 1    ┆ 1      ┆ 0.5       ┆ 1000     │
        └───────┴──────┴────────┴───────────┴──────────┘
        """
        rows: list[dict[str, Any]] = []
        with self._lock:
            now = self._clock()
            for st in self._strategies.values():
                if st.heap:
                    self._sweep_locked(st, now)
                lookups = st.hits + st.misses
                rows.append(
                    {
                        "strategy": st.name,
                        "level": "l1",
                        "policy": st.policy,
                        "hits": st.hits,
                        "misses": st.misses,
                        "hit_ratio": st.hits / lookups if lookups else None,
                        "sets": st.sets,
                        "deletes": st.deletes,
                        "evictions_capacity": st.ev_cap,
                        "evictions_ttl": st.ev_ttl,
                        "errors": 0,
                        "entries": len(st.store),
                        "max_size": st.max_size,
                    }
                )
                if self._l2 is not None:
                    lookups = st.l2_hits + st.l2_misses
                    rows.append(
                        {
                            "strategy": st.name,
                            "level": "l2",
                            "hits": st.l2_hits,
                            "misses": st.l2_misses,
                            "hit_ratio": st.l2_hits / lookups if lookups else None,
                            "sets": st.l2_sets,
                            "deletes": st.l2_deletes,
                            "errors": st.l2_errors,
                        }
                    )
        return STATS.build(rows)

    def to_frame(self) -> pl.DataFrame:
        """The same as :meth:`stats`.

        Examples
        --------
        >>> Cache().to_frame().columns[:3]
        ['strategy', 'level', 'policy']
        """
        return self.stats()

    def __len__(self) -> int:
        """Entries in L1 (expired ones not yet swept included)."""
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        """Whether L1 holds a live entry for ``key`` (counts nothing, asks no L2).

        Examples
        --------
        >>> cache = Cache()
        >>> cache.set("a", 1)
        >>> "a" in cache, "b" in cache
        (True, False)
        """
        try:
            return self._peek(cast(Hashable, key)) is not _MISSING
        except TypeError:  # unhashable
            return False

    # -- recording and closing ----------------------------------------------------------------

    @contextlib.contextmanager
    def record(
        self,
        path: str | os.PathLike[str] | Recorder,
        *,
        overwrite: bool = False,
        flush_every: int = 1000,
    ) -> Iterator[Recorder]:
        """Record every access to ``path`` (CSV, ``ACCESSES`` columns) inside a ``with``.

        The recorder attached before (if any) is restored afterwards. A path gives a
        new :class:`~perflab.caching.record.Recorder`, closed at the end; a
        ``Recorder`` you pass is flushed, not closed.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "trace.csv"
        >>> cache = Cache()
        >>> with cache.record(path) as rec:
        ...     cache.set("a", [1, 2])
        ...     _ = cache.get("a")
        >>> for line in path.read_text().splitlines():
        ...     print(line.split(",", 1)[1])
        key,size,ttl,op,result,level,strategy
        a,5,,set,set,l1,default
        a,5,,get,hit,l1,default
        """
        if isinstance(path, Recorder):
            rec, owned = path, False
        else:
            rec, owned = Recorder(path, overwrite=overwrite, flush_every=flush_every), True
        with self._lock:
            previous = self._recorder
            self._recorder = rec
        try:
            yield rec
        finally:
            with self._lock:
                # a recorder close() has closed in the meantime is not put back
                self._recorder = None if previous is not None and previous.closed else previous
            if owned:
                rec.close()
            else:
                rec.flush()

    def close(self) -> None:
        """Close the recorder the cache opened (a path given as ``record=``).

        The L2 is not closed (it may be shared); entries stay usable.

        Examples
        --------
        >>> cache = Cache()
        >>> cache.close()
        """
        with self._lock:
            rec = self._recorder
            mine = self._owned if self._owns_recorder else None
            if mine is not None:
                self._owns_recorder = False
                if rec is mine:
                    self._recorder = None
        if mine is not None:
            mine.close()
        if rec is not None and rec is not mine:
            rec.flush()  # a recorder attached by record() or passed in: its owner closes it

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _default_key_of(func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    return _default_key(func, args, kwargs)


# -- the process-wide default ----------------------------------------------------------

_default: Cache | None = None
_default_lock = threading.Lock()


def default_cache() -> Cache:
    """The process-wide :class:`Cache` (L1 only), created on first use.

    Examples
    --------
    >>> default_cache() is default_cache()
    True
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Cache()
    return _default

"""Eviction policies of the runtime cache: LRU, LFU, FIFO, SIEVE and S3-FIFO.

These are the live policies behind :class:`perflab.caching.cache.Cache` — small
containers that hold the entries of one strategy and choose whom to evict. (The
trace simulator, which replays millions of requests over integer keys, has its own
array-based implementations; these ones hold real Python objects under any
hashable key.)

Every policy is a :class:`Policy`: a mapping-like container of at most
``max_size`` entries whose operations are all O(1) (except one case: LFU's
``evict`` right after a ``pop`` emptied its lowest bucket scans the distinct
frequencies once to find the new lowest):

==============  ==========================================================================
``hit(k)``      the value of a present key, recording the access (``KeyError`` if absent)
``get(k)``      ``hit`` for a present key, else the default
``peek(k)``     the value without recording an access
``put(k, v)``   insert or update; returns the ``(key, value)`` pairs evicted for room
``pop(k)``      remove a key (no eviction bookkeeping: an S3-FIFO key goes to no ghost)
``evict()``     evict for room now; returns the evicted pairs (usually one)
==============  ==========================================================================

Updating a present key with ``put`` counts as an access (LRU moves it to the
newest end, LFU raises its frequency, SIEVE sets its visited bit, S3-FIFO raises
its counter) except under FIFO, where an entry keeps its place.

Why hand-written: the policies are on the cache's hit path, and a hit must cost a
dictionary lookup and a few attribute stores, not a call into a general library.
``collections.OrderedDict`` (a C doubly linked list) gives O(1) ``move_to_end`` and
``popitem(last=False)``, which is all LRU, FIFO, LFU's buckets and S3-FIFO's queues
need; SIEVE needs a hand that walks the queue, so it has its own linked list.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from perflab.errors import ParameterError

__all__ = [
    "RUNTIME_POLICIES",
    "FIFOPolicy",
    "LFUPolicy",
    "LRUPolicy",
    "Policy",
    "S3FIFOPolicy",
    "SIEVEPolicy",
    "make_policy",
    "policy_name",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING: Any = object()


def _check_size(max_size: object) -> int:
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise ParameterError(f"max_size must be a positive integer, not {max_size!r}")
    return max_size


class Policy(Generic[K, V]):
    """Base of the runtime eviction policies: at most ``max_size`` entries.

    Parameters
    ----------
    max_size : int
        Most entries held; ``put`` of a new key into a full policy evicts first.

    Raises
    ------
    ParameterError
        ``max_size`` is not a positive integer.

    Examples
    --------
    >>> p = make_policy("lru", 2)
    >>> p.put("a", 1), p.put("b", 2), p.hit("a"), p.put("c", 3)
    ([], [], 1, [('b', 2)])
    >>> sorted(p)
    ['a', 'c']
    """

    name: ClassVar[str] = ""

    def __init__(self, max_size: int) -> None:
        self.max_size = _check_size(max_size)

    # -- the interface every policy implements -------------------------------------

    def hit(self, key: K) -> V:
        """The value of ``key`` (present), recording the access; ``KeyError`` if absent."""
        raise NotImplementedError

    def peek(self, key: K, default: Any = None) -> Any:
        """The value of ``key`` without recording an access, or ``default``."""
        raise NotImplementedError

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        """Insert or update ``key``; returns the ``(key, value)`` pairs evicted for room."""
        raise NotImplementedError

    def pop(self, key: K, default: Any = None) -> Any:
        """Remove ``key`` and return its value, or ``default`` when absent."""
        raise NotImplementedError

    def evict(self) -> list[tuple[K, V]]:
        """Evict by the policy's rule; returns the evicted pairs (``KeyError`` if empty)."""
        raise NotImplementedError

    def clear(self) -> None:
        """Remove every entry (and any history such as S3-FIFO's ghost)."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __contains__(self, key: object) -> bool:
        raise NotImplementedError

    def __iter__(self) -> Iterator[K]:
        raise NotImplementedError

    # -- shared conveniences ----------------------------------------------------------

    def toucher(self) -> Callable[[K], object] | None:
        """A callable recording an access to a present key, or ``None`` when hits
        change nothing (FIFO).

        For callers that keep their own key → value index and only need the policy's
        bookkeeping on a hit: LRU gives its ``OrderedDict.move_to_end`` (no Python
        frame), the others their :meth:`hit`.

        Examples
        --------
        >>> make_policy("fifo", 2).toucher() is None
        True
        """
        return self.hit

    def get(self, key: K, default: Any = None) -> Any:
        """``hit(key)`` when present, else ``default``.

        Examples
        --------
        >>> p = make_policy("fifo", 1)
        >>> _ = p.put("a", 1)
        >>> p.get("a"), p.get("b", 0)
        (1, 0)
        """
        if key in self:
            return self.hit(key)
        return default

    def items(self) -> Iterator[tuple[K, V]]:
        """``(key, value)`` pairs in no particular order, without recording accesses."""
        for key in list(self):
            yield key, self.peek(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_size={self.max_size}, len={len(self)})"


class _OrderedPolicy(Policy[K, V]):
    """LRU and FIFO: one OrderedDict, oldest first."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self._data: OrderedDict[K, V] = OrderedDict()

    def peek(self, key: K, default: Any = None) -> Any:
        return self._data.get(key, default)

    def pop(self, key: K, default: Any = None) -> Any:
        return self._data.pop(key, default)

    def evict(self) -> list[tuple[K, V]]:
        if not self._data:
            raise KeyError("evict from an empty policy")
        return [self._data.popitem(last=False)]

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)


class LRUPolicy(_OrderedPolicy[K, V]):
    """Least recently used: a hit or an update moves the entry to the newest end.

    Examples
    --------
    >>> p = LRUPolicy(2)
    >>> _ = p.put("a", 1); _ = p.put("b", 2); _ = p.hit("a")
    >>> p.put("c", 3)
    [('b', 2)]
    """

    name = "lru"

    def toucher(self) -> Callable[[K], object] | None:
        return self._data.move_to_end

    def hit(self, key: K) -> V:
        data = self._data
        data.move_to_end(key)
        return data[key]

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        data = self._data
        if key in data:
            data[key] = value
            data.move_to_end(key)
            return []
        evicted = [data.popitem(last=False)] if len(data) >= self.max_size else []
        data[key] = value
        return evicted


class FIFOPolicy(_OrderedPolicy[K, V]):
    """First in, first out: hits and updates leave the insertion order alone.

    Examples
    --------
    >>> p = FIFOPolicy(2)
    >>> _ = p.put("a", 1); _ = p.put("b", 2); _ = p.hit("a")
    >>> p.put("c", 3)
    [('a', 1)]
    """

    name = "fifo"

    def toucher(self) -> Callable[[K], object] | None:
        return None

    def hit(self, key: K) -> V:
        return self._data[key]

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        data = self._data
        if key in data:
            data[key] = value
            return []
        evicted = [data.popitem(last=False)] if len(data) >= self.max_size else []
        data[key] = value
        return evicted


class LFUPolicy(Policy[K, V]):
    """Least frequently used, O(1): frequency buckets of insertion-ordered keys.

    A new entry has frequency 1; each hit (or update) adds 1. The victim is in the
    lowest non-empty bucket and, among those ties, is the key that reached that
    frequency first (each bucket is FIFO). Frequencies are never aged, as in the
    classic O(1) LFU (Shah, Mitra and Matani, 2010).

    Examples
    --------
    >>> p = LFUPolicy(2)
    >>> _ = p.put("a", 1); _ = p.put("b", 2); _ = p.hit("b"); _ = p.hit("a")
    >>> p.put("c", 3)  # a and b both have 2 hits; b got there first
    [('b', 2)]
    """

    name = "lfu"

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self._data: dict[K, list[Any]] = {}  # key -> [value, freq]
        self._buckets: dict[int, OrderedDict[K, None]] = {}
        self._min = 0

    def hit(self, key: K) -> V:
        node = self._data[key]
        freq = node[1]
        buckets = self._buckets
        bucket = buckets[freq]
        del bucket[key]
        if not bucket:
            del buckets[freq]
            if self._min == freq:
                self._min = freq + 1
        freq += 1
        node[1] = freq
        upper = buckets.get(freq)
        if upper is None:
            buckets[freq] = upper = OrderedDict()
        upper[key] = None
        value: V = node[0]
        return value

    def frequency(self, key: K) -> int:
        """The access count of a present key (1 after insertion).

        Examples
        --------
        >>> p = LFUPolicy(3)
        >>> _ = p.put("a", 1); _ = p.hit("a")
        >>> p.frequency("a")
        2
        """
        freq: int = self._data[key][1]
        return freq

    def peek(self, key: K, default: Any = None) -> Any:
        node = self._data.get(key)
        return default if node is None else node[0]

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        node = self._data.get(key)
        if node is not None:
            node[0] = value
            self.hit(key)
            return []
        evicted = self.evict() if len(self._data) >= self.max_size else []
        self._data[key] = [value, 1]
        bucket = self._buckets.get(1)
        if bucket is None:
            self._buckets[1] = bucket = OrderedDict()
        bucket[key] = None
        self._min = 1
        return evicted

    def pop(self, key: K, default: Any = None) -> Any:
        node = self._data.pop(key, None)
        if node is None:
            return default
        freq = node[1]
        bucket = self._buckets[freq]
        del bucket[key]
        if not bucket:
            del self._buckets[freq]  # self._min is repaired lazily by evict
        return node[0]

    def evict(self) -> list[tuple[K, V]]:
        if not self._data:
            raise KeyError("evict from an empty policy")
        bucket = self._buckets.get(self._min)
        if bucket is None:  # after pop emptied the lowest bucket: rare, O(#frequencies)
            self._min = min(self._buckets)
            bucket = self._buckets[self._min]
        key, _ = bucket.popitem(last=False)
        if not bucket:
            del self._buckets[self._min]
        return [(key, self._data.pop(key)[0])]

    def clear(self) -> None:
        self._data.clear()
        self._buckets.clear()
        self._min = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)


class _Node:
    """One SIEVE entry in the queue (newest at the head, oldest at the tail)."""

    __slots__ = ("key", "newer", "older", "value", "visited")

    def __init__(self, key: Any, value: Any) -> None:
        self.key = key
        self.value = value
        self.visited = False
        self.newer: _Node | None = None
        self.older: _Node | None = None


class SIEVEPolicy(Policy[K, V]):
    """SIEVE (Zhang et al., NSDI'24): a FIFO queue, a visited bit and a moving hand.

    New entries go to the head (newest) with the bit clear; a hit sets the bit and
    moves nothing. To evict, the hand starts where it stopped last (at the tail,
    the oldest entry, the first time or after reaching the head), clears the bit of
    each visited entry it passes while moving toward the head, and evicts the first
    entry whose bit is clear; it then rests on the next newer entry. Survivors keep
    their place in the queue, unlike CLOCK, which moves them to the head.

    Examples
    --------
    >>> p = SIEVEPolicy(3)
    >>> for k in "abc":
    ...     _ = p.put(k, k.upper())
    >>> _ = p.hit("a")
    >>> p.put("d", "D")  # a is visited (spared, bit cleared); b goes
    [('b', 'B')]
    """

    name = "sieve"

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self._data: dict[K, _Node] = {}
        self._head: _Node | None = None  # newest
        self._tail: _Node | None = None  # oldest
        self._hand: _Node | None = None

    def hit(self, key: K) -> V:
        node = self._data[key]
        node.visited = True
        value: V = node.value
        return value

    def peek(self, key: K, default: Any = None) -> Any:
        node = self._data.get(key)
        return default if node is None else node.value

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        node = self._data.get(key)
        if node is not None:
            node.value = value
            node.visited = True
            return []
        evicted = self.evict() if len(self._data) >= self.max_size else []
        node = _Node(key, value)
        node.older = self._head
        if self._head is not None:
            self._head.newer = node
        self._head = node
        if self._tail is None:
            self._tail = node
        self._data[key] = node
        return evicted

    def _unlink(self, node: _Node) -> None:
        if self._hand is node:
            self._hand = node.newer
        if node.newer is not None:
            node.newer.older = node.older
        else:
            self._head = node.older
        if node.older is not None:
            node.older.newer = node.newer
        else:
            self._tail = node.newer
        node.newer = node.older = None

    def pop(self, key: K, default: Any = None) -> Any:
        node = self._data.pop(key, None)
        if node is None:
            return default
        self._unlink(node)
        return node.value

    def evict(self) -> list[tuple[K, V]]:
        node = self._hand or self._tail
        if node is None:
            raise KeyError("evict from an empty policy")
        while node.visited:
            node.visited = False
            node = node.newer or self._tail
            assert node is not None
        self._hand = node.newer
        self._unlink(node)
        del self._data[node.key]
        return [(node.key, node.value)]

    def visited(self, key: K) -> bool:
        """Whether a present key has been hit since the hand last passed it.

        Examples
        --------
        >>> p = SIEVEPolicy(2)
        >>> _ = p.put("a", 1); _ = p.hit("a")
        >>> p.visited("a")
        True
        """
        return self._data[key].visited

    def clear(self) -> None:
        self._data.clear()
        self._head = self._tail = self._hand = None

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        """Keys from the oldest (tail) to the newest (head)."""
        node = self._tail
        while node is not None:
            yield node.key
            node = node.newer


class S3FIFOPolicy(Policy[K, V]):
    """S3-FIFO (Yang et al., SOSP'23): small, main and ghost FIFO queues.

    It evicts exactly as the simulator's ``s3fifo`` does (:mod:`perflab.caching._basic`,
    which agrees with libCacheSim hit for hit), so a simulation that recommends S3-FIFO
    predicts this cache (``tests/caching/test_policies.py`` replays one trace
    through both):

    - **Sizes.** The small queue S holds ``max(1, int(small_ratio * max_size))``
      entries (10 %), the main queue M the rest, and the ghost queue G remembers
      ``int(0.9 * max_size)`` keys (no values).
    - **Counters.** Each entry has a frequency capped at 3 (two bits), 0 when it
      enters a queue; a hit (or an update) adds 1 and moves nothing.
    - **Insertion.** A key G remembers goes to M (and G forgets it; G is asked
      before room is made, so the eviction cannot push the key out of it). Any other
      key goes to S — or to M while the cache is still filling (nothing evicted yet)
      and S already holds its share.
    - **Eviction.** From M when M holds more than its share (or S is empty): M's
      oldest entry is reinserted at M's head with its counter decreased by 1 if it is
      above 0 (a 2-bit CLOCK), else it leaves the cache. Otherwise from S: S's oldest
      entry moves to M's head with its counter reset if it was hit at least
      ``move_to_main_threshold`` times while in S (2 by default, libCacheSim's:
      "accessed more than once" counting the miss that inserted it is 1, which you
      can pass), and the next oldest is examined; else it leaves the cache and its
      key enters G (G drops its oldest key when full).
    - **Removal** (``pop``: delete or TTL expiry) puts no key in G: only an
      eviction from S is evidence of a one-hit wonder.

    Examples
    --------
    >>> p = S3FIFOPolicy(10)  # S holds 1 entry, M 9, G 9 keys
    >>> for i in range(10):   # 0 fills S, 1…9 go to M while the cache fills
    ...     _ = p.put(i, i)
    >>> p.put(10, 10)  # full: S's oldest, 0, was never hit: out, its key to G
    [(0, 0)]
    >>> _ = p.hit(10); _ = p.hit(10)
    >>> p.put(11, 11)  # 10 was hit twice: it moves to M, which is now over its share
    [(1, 1)]
    >>> p.put(0, 0)  # G remembers 0: straight to M; S's 11, never hit, makes room
    [(11, 11)]
    >>> p.queue_of(0), p.queue_of(10), p.queue_of(11)
    ('main', 'main', 'ghost')
    """

    name = "s3fifo"

    def __init__(
        self, max_size: int, *, small_ratio: float = 0.1, move_to_main_threshold: int = 2
    ) -> None:
        super().__init__(max_size)
        if not 0.0 < small_ratio < 1.0:
            raise ParameterError(f"small_ratio must be in (0, 1), not {small_ratio!r}")
        if (
            isinstance(move_to_main_threshold, bool)
            or not isinstance(move_to_main_threshold, int)
            or not 1 <= move_to_main_threshold <= 3
        ):
            raise ParameterError(
                f"move_to_main_threshold must be 1, 2 or 3, not {move_to_main_threshold!r}"
            )
        self.small_size = max(1, int(max_size * small_ratio))
        self.main_size = max_size - self.small_size
        self.ghost_size = int(max_size * 0.9)
        self.move_to_main_threshold = move_to_main_threshold
        self._evicted = False  # whether the cache has evicted yet (it is still filling)
        self._index: dict[K, list[Any]] = {}  # key -> [value, freq, in_main]
        self._small: OrderedDict[K, list[Any]] = OrderedDict()
        self._main: OrderedDict[K, list[Any]] = OrderedDict()
        self._ghost: OrderedDict[K, None] = OrderedDict()

    def hit(self, key: K) -> V:
        node = self._index[key]
        if node[1] < 3:
            node[1] += 1
        value: V = node[0]
        return value

    def peek(self, key: K, default: Any = None) -> Any:
        node = self._index.get(key)
        return default if node is None else node[0]

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        node = self._index.get(key)
        if node is not None:
            node[0] = value
            if node[1] < 3:
                node[1] += 1
            return []
        remembered = key in self._ghost
        if remembered:  # before evicting, which may push the key out of G
            del self._ghost[key]
        evicted: list[tuple[K, V]] = []
        while len(self._index) >= self.max_size:
            evicted.extend(self.evict())
        to_main = remembered or (not self._evicted and len(self._small) >= self.small_size)
        node = [value, 0, to_main]
        (self._main if to_main else self._small)[key] = node
        self._index[key] = node
        return evicted

    def pop(self, key: K, default: Any = None) -> Any:
        node = self._index.pop(key, None)
        if node is None:
            return default
        del (self._main if node[2] else self._small)[key]
        return node[0]

    def evict(self) -> list[tuple[K, V]]:
        if not self._index:
            raise KeyError("evict from an empty policy")
        self._evicted = True
        small, main = self._small, self._main
        while True:
            if len(main) > self.main_size or not small:
                key, node = main.popitem(last=False)
                if node[1] > 0:  # a second chance, one counter step lower
                    node[1] -= 1
                    main[key] = node
                    continue
                del self._index[key]
                return [(key, node[0])]
            key, node = small.popitem(last=False)
            if node[1] >= self.move_to_main_threshold:
                node[1] = 0
                node[2] = True
                main[key] = node
                continue
            del self._index[key]
            if self.ghost_size:
                ghost = self._ghost
                ghost[key] = None
                if len(ghost) > self.ghost_size:
                    ghost.popitem(last=False)
            return [(key, node[0])]

    def queue_of(self, key: K) -> str | None:
        """``"small"``, ``"main"``, ``"ghost"`` or ``None``: where ``key`` is.

        Examples
        --------
        >>> p = S3FIFOPolicy(10)
        >>> _ = p.put("a", 1)
        >>> p.queue_of("a"), p.queue_of("zz")
        ('small', None)
        """
        node = self._index.get(key)
        if node is not None:
            return "main" if node[2] else "small"
        return "ghost" if key in self._ghost else None

    def frequency(self, key: K) -> int:
        """The capped (0–3) access counter of a present key.

        Examples
        --------
        >>> p = S3FIFOPolicy(10)
        >>> _ = p.put("a", 1)
        >>> for _ in range(5):
        ...     _ = p.hit("a")
        >>> p.frequency("a")
        3
        """
        freq: int = self._index[key][1]
        return freq

    def clear(self) -> None:
        self._index.clear()
        self._small.clear()
        self._main.clear()
        self._ghost.clear()

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[K]:
        return iter(self._index)


RUNTIME_POLICIES: dict[str, type[Policy[Any, Any]]] = {
    "lru": LRUPolicy,
    "lfu": LFUPolicy,
    "fifo": FIFOPolicy,
    "sieve": SIEVEPolicy,
    "s3fifo": S3FIFOPolicy,
}
"""The runtime policies by lower-case name."""


def make_policy(name: str, max_size: int) -> Policy[Any, Any]:
    """A new, empty policy by name (case-insensitive: ``"LRU"`` is ``"lru"``).

    Parameters
    ----------
    name : str
        One of ``lru``, ``lfu``, ``fifo``, ``sieve``, ``s3fifo`` (``s3-fifo`` too).
    max_size : int
        Most entries held (a positive integer).

    Raises
    ------
    ParameterError
        An unknown name or a ``max_size`` that is not a positive integer.

    Examples
    --------
    >>> make_policy("LRU", 10)
    LRUPolicy(max_size=10, len=0)
    >>> make_policy("arc", 10)
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: unknown policy 'arc'; the runtime cache knows fifo, ...
    """
    key = policy_name(name)
    return RUNTIME_POLICIES[key](max_size)


def policy_name(name: str) -> str:
    """The canonical lower-case name of a runtime policy.

    Raises
    ------
    ParameterError
        ``name`` is not a runtime policy.

    Examples
    --------
    >>> policy_name("S3-FIFO")
    's3fifo'
    """
    key = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    if key not in RUNTIME_POLICIES:
        known = ", ".join(sorted(RUNTIME_POLICIES))
        raise ParameterError(f"unknown policy {name!r}; the runtime cache knows {known}")
    return str(key)

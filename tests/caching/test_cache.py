"""Tests for perflab.caching.cache: the runtime cache (L1 only; Redis in test_redis_level)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from perflab.caching.cache import Cache, default_cache
from perflab.caching.record import Recorder
from perflab.caching.schema import STATS
from perflab.errors import ParameterError

DEADLOCK_GUARD_S = 30  # only reached if the code under test hangs


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def row(cache: Cache, strategy: str = "default", level: str = "l1") -> dict[str, Any]:
    rows = cache.stats().filter(strategy=strategy, level=level).to_dicts()
    assert len(rows) == 1
    return rows[0]


def check_consistent(cache: Cache) -> None:
    """Every L1 entry is in its strategy's policy and nowhere else, and vice versa."""
    in_policies: dict[object, str] = {}
    for name, st in cache._strategies.items():
        assert len(st.store) <= st.max_size
        for key in st.store:
            assert key not in in_policies, f"{key!r} in two strategies"
            in_policies[key] = name
    assert {k: e.st.name for k, e in cache._where.items()} == in_policies


# -- the seed's API -------------------------------------------------------------------


def test_seed_usage() -> None:
    cache = Cache()
    cache.define_strategy("user_cache", 3600, 1000, "LRU")
    cache.set("user_123", {"id": 123}, "user_cache")
    assert cache.get("user_123") == {"id": 123}
    assert row(cache, "user_cache") == {
        "strategy": "user_cache",
        "level": "l1",
        "policy": "lru",
        "hits": 1,
        "misses": 0,
        "hit_ratio": 1.0,
        "sets": 1,
        "deletes": 0,
        "evictions_capacity": 0,
        "evictions_ttl": 0,
        "errors": 0,
        "entries": 1,
        "max_size": 1000,
    }


def test_default_strategy_exists() -> None:
    cache = Cache()
    stats = row(cache)
    assert (stats["policy"], stats["max_size"], stats["entries"]) == ("lru", 1000, 0)
    assert cache._strategies["default"].ttl_s is None
    cache.set("a", 1)  # no strategy given
    assert row(cache)["entries"] == 1


def test_get_returns_default_on_a_miss_and_none_values_are_cached() -> None:
    cache = Cache()
    assert cache.get("x") is None
    assert cache.get("x", "fallback") == "fallback"
    cache.set("none", None)
    assert cache.get("none", "fallback") is None
    assert row(cache)["hits"] == 1 and row(cache)["misses"] == 2


def test_stats_schema_and_to_frame() -> None:
    cache = Cache()
    cache.define_strategy("b", policy="sieve")
    frame = cache.stats()
    assert frame.schema == pl.Schema(STATS.dtypes())
    assert frame.get_column("strategy").to_list() == ["default", "b"]
    assert frame.get_column("hit_ratio").to_list() == [None, None]
    assert cache.to_frame().equals(frame)


def test_the_strategy_of_a_key_is_remembered_and_can_change() -> None:
    cache = Cache()
    cache.define_strategy("users", max_size=5)
    cache.define_strategy("pages", max_size=5, policy="fifo")
    cache.set("k", 1, "users")
    assert cache.get("k") == 1
    assert row(cache, "users")["hits"] == 1
    cache.set("k", 2, "pages")  # moves
    assert cache.get("k") == 2
    assert (row(cache, "users")["entries"], row(cache, "pages")["entries"]) == (0, 1)
    assert row(cache, "pages")["hits"] == 1
    check_consistent(cache)


def test_a_miss_counts_under_the_hinted_strategy() -> None:
    cache = Cache()
    cache.define_strategy("users")
    cache.get("nobody", strategy="users")
    assert (row(cache, "users")["misses"], row(cache)["misses"]) == (1, 0)
    with pytest.raises(ParameterError, match="unknown cache strategy 'nope'"):
        cache.get("nobody", strategy="nope")


def test_keys_may_be_any_hashable_without_l2() -> None:
    cache = Cache()
    cache.set(("user", 1), "a")
    cache.set(42, "b")
    assert (cache.get(("user", 1)), cache.get(42)) == ("a", "b")
    assert ("user", 1) in cache and [] not in cache  # unhashable: simply absent


def test_len_contains_and_repr() -> None:
    cache = Cache()
    cache.set("a", 1)
    assert len(cache) == 1 and "a" in cache and "b" not in cache
    assert row(cache)["hits"] + row(cache)["misses"] == 0  # `in` counts nothing
    assert repr(cache) == "Cache(strategies=[default], entries=1)"


def test_default_cache_is_one_instance() -> None:
    assert default_cache() is default_cache()


# -- parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, -3, 2.5, True, None])
def test_max_size_must_be_a_positive_integer(size: object) -> None:
    with pytest.raises(ParameterError, match="max_size must be a positive integer"):
        Cache().define_strategy("s", max_size=size)  # type: ignore[arg-type]


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "60", True])
def test_ttl_must_be_positive_seconds(ttl: object) -> None:
    cache = Cache()
    with pytest.raises(ParameterError, match="ttl_s must be a finite number"):
        cache.define_strategy("s", ttl_s=ttl)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="ttl_s must be a finite number"):
        cache.set("k", 1, ttl_s=ttl)  # type: ignore[arg-type]
    assert "k" not in cache


def test_bad_strategy_names_and_policies() -> None:
    cache = Cache()
    with pytest.raises(ParameterError, match="unknown policy 'mru'"):
        cache.define_strategy("s", policy="mru")
    with pytest.raises(ParameterError, match="non-empty str"):
        cache.define_strategy("")
    with pytest.raises(ParameterError, match="unknown cache strategy 's'"):
        cache.set("k", 1, "s")


def test_redefining_a_strategy() -> None:
    cache = Cache()
    cache.define_strategy("s", 60, 10, "lru")
    cache.set("a", 1, "s")
    cache.define_strategy("s", 60, 10, "LRU")  # same settings: nothing happens
    assert cache.get("a") == 1
    cache.define_strategy("s", 60, 10, "lfu")  # new settings: starts empty
    assert cache.get("a") is None
    assert row(cache, "s")["policy"] == "lfu"
    assert row(cache)["misses"] == 1  # the key's strategy was forgotten with it
    check_consistent(cache)


# -- policies through the cache ----------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "survivor", "victim"),
    [("lru", "a", "b"), ("fifo", "b", "a"), ("lfu", "a", "b"), ("sieve", "a", "b")],
)
def test_strategy_policy_chooses_the_victim(policy: str, survivor: str, victim: str) -> None:
    cache = Cache()
    cache.define_strategy("s", max_size=2, policy=policy)
    cache.set("a", 1, "s")
    cache.set("b", 2, "s")
    cache.get("a")
    cache.set("c", 3, "s")
    assert survivor in cache and victim not in cache and "c" in cache
    assert row(cache, "s")["evictions_capacity"] == 1
    check_consistent(cache)


def test_s3fifo_strategy_filters_one_hit_wonders() -> None:
    cache = Cache()
    cache.define_strategy("s", max_size=10, policy="s3fifo")
    for i in range(10):
        cache.set(str(i), i, "s")  # "0" in the small queue, 1…9 in main
    for i in range(10, 15):
        cache.set(str(i), i, "s")  # a scan of keys read once
    assert all(str(i) in cache for i in range(1, 10))  # the main queue survives it
    assert all(str(i) not in cache for i in (0, 10, 11, 12, 13))
    assert row(cache, "s")["evictions_capacity"] == 5
    cache.get("14")
    cache.get("14")  # read twice while in the small queue
    cache.set("15", 15, "s")
    assert "14" in cache and "1" not in cache  # promoted; main's oldest made room


# -- TTL ---------------------------------------------------------------------------


def test_strategy_ttl_expires_lazily_on_get() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.define_strategy("short", ttl_s=10)
    cache.set("k", "v", "short")
    clock.advance(9.99)
    assert cache.get("k") == "v"
    clock.advance(0.01)  # exactly at expiry: gone
    assert cache.get("k", "gone") == "gone"
    stats = row(cache, "short")
    assert (stats["hits"], stats["misses"], stats["evictions_ttl"]) == (1, 1, 1)
    assert stats["entries"] == 0
    assert cache.get("k") is None  # now a plain miss of the default strategy
    assert (row(cache, "short")["misses"], row(cache)["misses"]) == (1, 1)


def test_entry_ttl_overrides_the_strategy_both_ways() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.define_strategy("s", ttl_s=10)
    cache.set("long", 1, "s", ttl_s=100)
    cache.set("short", 2, "s", ttl_s=1)
    cache.set("forever", 3)  # default strategy: no TTL
    clock.advance(50)
    assert cache.get("long") == 1
    assert cache.get("short") is None
    clock.advance(10_000)
    assert cache.get("forever") == 3
    assert cache.get("long") is None


def test_expired_entries_are_the_first_victims() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.define_strategy("s", max_size=2, policy="lru")
    cache.set("keep", 1, "s")  # the LRU victim, were nothing expired
    cache.set("brief", 2, "s", ttl_s=5)
    clock.advance(6)
    cache.set("new", 3, "s")
    assert cache.get("keep") == 1 and cache.get("new") == 3
    stats = row(cache, "s")
    assert (stats["evictions_capacity"], stats["evictions_ttl"]) == (0, 1)
    check_consistent(cache)


def test_stats_sweeps_expired_entries() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.define_strategy("s", ttl_s=1)
    for i in range(5):
        cache.set(i, i, "s")
    clock.advance(2)
    stats = row(cache, "s")
    assert (stats["entries"], stats["evictions_ttl"]) == (0, 5)
    assert len(cache) == 0
    assert 0 not in cache


def test_updates_of_a_ttl_key_do_not_grow_the_expiry_heap() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.define_strategy("s", ttl_s=60)
    for i in range(10_000):
        cache.set("hot", i, "s")
    assert len(cache._strategies["s"].heap) <= 2 * 1 + 64 + 1
    assert cache.get("hot") == 9999


def test_an_updated_entry_is_not_swept_by_its_old_expiry() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.set("k", "old", ttl_s=5)
    cache.set("k", "new", ttl_s=50)
    clock.advance(10)
    cache.set("other", 1)  # sweeps: the stale expiry of "k" must be ignored
    assert cache.get("k") == "new"
    assert row(cache)["evictions_ttl"] == 0


# -- delete and clear ----------------------------------------------------------------


def test_delete() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.set("a", 1)
    cache.set("b", 2, ttl_s=1)
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    clock.advance(2)
    assert cache.delete("b") is False  # it had expired
    assert cache.get("a") is None
    assert row(cache)["deletes"] == 3
    check_consistent(cache)


def test_clear_one_strategy_or_all() -> None:
    cache = Cache()
    cache.define_strategy("s")
    cache.set("a", 1)
    cache.set("b", 2, "s")
    cache.set("c", 3, "s")
    assert cache.clear("s") == 2
    assert ("a" in cache, "b" in cache) == (True, False)
    assert cache.clear() == 1
    assert len(cache) == 0
    assert row(cache)["sets"] == 1  # counters survive a clear
    check_consistent(cache)


# -- statistics add up ----------------------------------------------------------------


@pytest.mark.parametrize("policy", ["lru", "lfu", "fifo", "sieve", "s3fifo"])
def test_counters_add_up_on_a_random_workload(policy: str) -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    cache.define_strategy("s", max_size=20, policy=policy, ttl_s=5)
    rng = random.Random(3)
    done: Counter[str] = Counter()
    hits = 0
    for _ in range(3000):
        key = f"k{int(rng.paretovariate(1.0)) % 60}"
        op = rng.random()
        clock.advance(rng.random() / 50)  # the 5 s TTL spans about 500 calls
        if op < 0.6:
            hits += cache.get(key, None, strategy="s") is not None
            done["get"] += 1
        elif op < 0.9:
            cache.set(key, 1, "s")
            done["set"] += 1
        else:
            cache.delete(key)
            done["delete"] += 1
    stats = row(cache, "s")
    default = row(cache)
    assert stats["hits"] == hits
    assert stats["hits"] + stats["misses"] + default["misses"] == done["get"]
    assert default["hits"] == 0
    assert stats["sets"] == done["set"]
    assert stats["deletes"] + default["deletes"] == done["delete"]
    assert stats["entries"] <= 20
    assert stats["evictions_capacity"] > 0 and stats["evictions_ttl"] > 0
    check_consistent(cache)


def test_eight_threads_hammering_one_cache() -> None:
    cache = Cache()
    policies = ["lru", "lfu", "fifo", "sieve", "s3fifo"]
    for p in policies:  # lru holds every key but expires them; the others evict
        cache.define_strategy(
            p, max_size=200 if p == "lru" else 50, policy=p, ttl_s=0.01 if p == "lru" else None
        )
    gets = Counter[str]()
    sets = Counter[str]()
    deletes = Counter[str]()
    errors: list[BaseException] = []
    stop = time.monotonic() + 1.0
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        g, s, d = Counter[str](), Counter[str](), Counter[str]()
        try:
            while time.monotonic() < stop:
                for _ in range(200):
                    strategy = rng.choice(policies)
                    key = f"{strategy}:{rng.randrange(120)}"  # a key keeps its strategy
                    op = rng.random()
                    if op < 0.6:
                        value = cache.get(key, strategy=strategy)
                        assert value is None or value[0] == key
                        g[strategy] += 1
                    elif op < 0.9:
                        cache.set(key, (key, seed), strategy)
                        s[strategy] += 1
                    else:
                        cache.delete(key)
                        d[strategy] += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        with lock:
            gets.update(g)
            sets.update(s)
            deletes.update(d)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLOCK_GUARD_S)
        assert not t.is_alive(), "a worker hung"
    assert not errors, errors[0]
    stats = {r["strategy"]: r for r in cache.stats().to_dicts()}
    for p in policies:
        assert gets[p] > 0
        assert stats[p]["hits"] + stats[p]["misses"] == gets[p], p
        assert stats[p]["sets"] == sets[p], p
        assert stats[p]["entries"] <= stats[p]["max_size"]
        if p != "lru":
            assert stats[p]["evictions_capacity"] > 0, p
    # a delete of a key L1 no longer holds counts under "default"
    total_deletes = sum(r["deletes"] for r in stats.values())
    assert total_deletes == sum(deletes.values())
    assert stats["default"]["hits"] + stats["default"]["misses"] == 0
    assert stats["lru"]["evictions_ttl"] > 0
    check_consistent(cache)


# -- get_or_set --------------------------------------------------------------------------


def test_get_or_set_calls_the_factory_once() -> None:
    cache = Cache()
    cache.define_strategy("s", ttl_s=60)
    calls = []
    for _ in range(3):
        assert cache.get_or_set("k", lambda: calls.append(1) or "v", strategy="s") == "v"
    assert len(calls) == 1
    stats = row(cache, "s")
    assert (stats["hits"], stats["misses"], stats["sets"]) == (2, 1, 1)


def test_get_or_set_caches_none() -> None:
    cache = Cache()
    calls = []
    cache.get_or_set("k", lambda: calls.append(1))
    cache.get_or_set("k", lambda: calls.append(1))
    assert len(calls) == 1


def test_get_or_set_factory_error_caches_nothing() -> None:
    cache = Cache()

    def boom() -> str:
        raise RuntimeError("backend down")

    with pytest.raises(RuntimeError, match="backend down"):
        cache.get_or_set("k", boom)
    assert "k" not in cache and not cache._key_locks
    assert cache.get_or_set("k", lambda: "ok") == "ok"


def test_get_or_set_under_concurrency_calls_the_factory_once() -> None:
    cache = Cache()
    barrier = threading.Barrier(8)
    calls = []
    results = []

    def factory() -> str:
        calls.append(threading.get_ident())
        time.sleep(0.05)  # long enough for every other thread to miss
        return "computed"

    def worker() -> None:
        barrier.wait(DEADLOCK_GUARD_S)
        results.append(cache.get_or_set("slow", factory))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLOCK_GUARD_S)
    assert results == ["computed"] * 8
    assert len(calls) == 1
    assert row(cache)["hits"] + row(cache)["misses"] == 8
    assert not cache._key_locks  # per-key locks are released


# -- the decorator ----------------------------------------------------------------------


def test_cached_sync_function() -> None:
    cache = Cache()
    cache.define_strategy("math", max_size=10)
    calls = []

    @cache.cached("math")
    def power(base: int, exp: int = 2) -> int:
        """Raise."""
        calls.append((base, exp))
        return base**exp

    assert [power(3), power(3), power(2, exp=3), power(2, exp=3)] == [9, 9, 8, 8]
    assert calls == [(3, 2), (2, 3)]
    assert power.__name__ == "power" and power.__doc__ == "Raise."
    assert power.cache_key(3) == f"{__name__}.test_cached_sync_function.<locals>.power(3)"
    assert row(cache, "math")["hits"] == 2


def test_cached_keys_distinguish_types() -> None:
    cache = Cache()

    @cache.cached()
    def ident(x: object) -> str:
        return type(x).__name__

    assert [ident(1), ident(1.0), ident(True), ident("1"), ident((1,))] == [
        "int",
        "float",
        "bool",
        "str",
        "tuple",
    ]


def test_cached_refuses_arguments_without_a_stable_key() -> None:
    cache = Cache()

    @cache.cached()
    def f(x: object) -> object:
        return x

    with pytest.raises(ParameterError, match=r"no stable cache key.*pass key="):
        f(object())
    with pytest.raises(ParameterError, match="no stable cache key"):
        f([1, 2])


def test_cached_with_a_key_function_and_ttl() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock)
    calls = []

    class Repo:
        @cache.cached(key=lambda self, user_id: f"user:{user_id}", ttl_s=5)
        def load(self, user_id: int) -> dict[str, int]:
            calls.append(user_id)
            return {"id": user_id}

    repo = Repo()
    assert repo.load(1) == {"id": 1} and repo.load(1) == {"id": 1}
    assert cache.get("user:1") == {"id": 1}
    clock.advance(6)
    repo.load(1)
    assert calls == [1, 1]


def test_cached_checks_its_arguments_when_decorating() -> None:
    cache = Cache()
    with pytest.raises(ParameterError, match="unknown cache strategy 'later'"):
        cache.cached("later")
    with pytest.raises(ParameterError, match="key must be a callable"):
        cache.cached(key="fixed")  # type: ignore[arg-type]


def test_cached_async_function() -> None:
    cache = Cache()
    calls = []

    @cache.cached()
    async def fetch(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0)
        return x * 10

    async def main() -> list[int]:
        return [await fetch(1), await fetch(1), await fetch(2)]

    assert asyncio.run(main()) == [10, 10, 20]
    assert calls == [1, 2]
    assert asyncio.iscoroutinefunction(fetch)
    assert cache.get(fetch.cache_key(1)) == 10


def test_cached_async_concurrent_callers_share_one_call() -> None:
    cache = Cache()
    calls = []

    @cache.cached()
    async def slow(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.02)
        return x + 1

    async def main() -> list[int]:
        return await asyncio.gather(*(slow(1) for _ in range(10)))

    assert asyncio.run(main()) == [2] * 10
    assert calls == [1]
    assert not cache._inflight


def test_cached_async_error_lets_each_waiter_try_and_caches_nothing() -> None:
    cache = Cache()
    calls = []

    @cache.cached()
    async def broken(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.01)
        raise ValueError("no")

    async def main() -> list[object]:
        return await asyncio.gather(*(broken(1) for _ in range(3)), return_exceptions=True)

    results = asyncio.run(main())
    assert [type(r) for r in results] == [ValueError] * 3
    assert calls == [1, 1, 1]  # a failed leader lets each waiter try, as get_or_set does
    assert len(cache) == 0 and not cache._inflight


def test_cached_async_cancelled_leader_lets_a_waiter_compute() -> None:
    cache = Cache()
    calls = []

    @cache.cached()
    async def slow(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.05)
        return x

    async def main() -> int:
        leader = asyncio.create_task(slow(5))
        await asyncio.sleep(0.01)  # the leader is inside the call
        waiter = asyncio.create_task(slow(5))
        await asyncio.sleep(0.01)  # the waiter awaits the leader
        leader.cancel()
        return await waiter

    assert asyncio.run(main()) == 5
    assert calls == [5, 5]
    assert cache.get(slow.cache_key(5)) == 5


def test_async_waiters_try_the_factory_themselves_when_the_leader_fails() -> None:
    cache = Cache()
    calls = []

    @cache.cached()
    async def load(x: int) -> str:
        calls.append(x)
        await asyncio.sleep(0.01)
        if len(calls) == 1:
            raise RuntimeError("transient")
        return "ok"

    async def main() -> list[object]:
        return await asyncio.gather(load(1), load(1), load(1), return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[0], RuntimeError)
    assert results[1:] == ["ok", "ok"]  # as get_or_set does in threads
    assert len(calls) == 2


def test_close_inside_record_closes_the_cache_s_own_recorder(tmp_path: Path) -> None:
    main = Recorder(tmp_path / "main.csv")
    cache = Cache(record=tmp_path / "own.csv")
    with cache.record(main):
        cache.set("a", 1)
        cache.close()  # closes own.csv, not the recorder record() attached
        assert not main.closed
    assert cache.recorder is None  # own.csv is closed: nothing to go back to
    cache.set("b", 2)  # and nothing breaks
    main.close()
    assert "a" in (tmp_path / "main.csv").read_text()

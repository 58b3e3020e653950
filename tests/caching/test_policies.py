"""Tests for perflab.caching.policies: the runtime cache's eviction policies.

Eviction orders are checked on small sequences worked out by hand (each comment
shows the queue, oldest first), every policy is checked against a dict model on a
random workload, and LRU, FIFO, LFU and SIEVE are cross-checked hit for hit
against libCacheSim, the reference simulator.
"""

from __future__ import annotations

import random

import pytest

from perflab.caching.policies import (
    RUNTIME_POLICIES,
    FIFOPolicy,
    LFUPolicy,
    LRUPolicy,
    Policy,
    S3FIFOPolicy,
    SIEVEPolicy,
    make_policy,
    policy_name,
)
from perflab.errors import ParameterError

NAMES = sorted(RUNTIME_POLICIES)


def fill(p: Policy, keys: str) -> None:
    for k in keys:
        assert p.put(k, k.upper()) == []


# -- construction ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10", None])
def test_max_size_must_be_a_positive_integer(name: str, bad: object) -> None:
    with pytest.raises(ParameterError, match="max_size must be a positive integer"):
        make_policy(name, bad)  # type: ignore[arg-type]


def test_names_are_case_insensitive_and_unknown_ones_are_refused() -> None:
    assert isinstance(make_policy("LRU", 3), LRUPolicy)
    assert policy_name("S3-FIFO") == "s3fifo"
    assert policy_name("Sieve") == "sieve"
    with pytest.raises(ParameterError, match=r"unknown policy 'arc'.*fifo, lfu, lru"):
        make_policy("arc", 3)


@pytest.mark.parametrize("name", NAMES)
def test_evict_on_empty_raises_key_error(name: str) -> None:
    with pytest.raises(KeyError):
        make_policy(name, 3).evict()


# -- LRU and FIFO -----------------------------------------------------------------


def test_lru_evicts_the_least_recently_used() -> None:
    p = LRUPolicy(3)
    fill(p, "abc")  # a b c
    assert p.hit("a") == "A"  # b c a
    assert p.put("d", "D") == [("b", "B")]  # c a d
    p.hit("c")  # a d c
    assert p.put("c", "C2") == []  # an update is an access: a d c
    assert p.put("e", "E") == [("a", "A")]  # d c e
    assert list(p) == ["d", "c", "e"]
    assert p.peek("c") == "C2"


def test_lru_peek_does_not_count_as_an_access() -> None:
    p = LRUPolicy(2)
    fill(p, "ab")
    assert p.peek("a") == "A"
    assert p.put("c", "C") == [("a", "A")]


def test_fifo_ignores_hits_and_updates() -> None:
    p = FIFOPolicy(3)
    fill(p, "abc")
    p.hit("a")
    p.hit("a")
    assert p.put("d", "D") == [("a", "A")]  # b c d
    assert p.put("b", "B2") == []  # keeps its place
    assert p.put("e", "E") == [("b", "B2")]  # c d e
    assert p.toucher() is None


# -- LFU ----------------------------------------------------------------------------


def test_lfu_evicts_the_least_frequent_and_the_first_to_reach_a_tie() -> None:
    p = LFUPolicy(3)
    fill(p, "abc")  # a1 b1 c1
    p.hit("a")
    p.hit("a")
    p.hit("b")  # a3 b2 c1
    assert p.put("d", "D") == [("c", "C")]  # c was the only one at 1
    p.hit("d")  # bucket 2: b then d; a at 3
    assert (p.frequency("b"), p.frequency("d"), p.frequency("a")) == (2, 2, 3)
    assert p.put("e", "E") == [("b", "B")]  # b reached 2 before d
    assert p.put("f", "F") == [("e", "E")]  # e (1) beats d (2) and a (3)


def test_lfu_update_counts_as_an_access() -> None:
    p = LFUPolicy(2)
    fill(p, "ab")
    p.put("a", "A2")  # a2 b1
    assert p.put("c", "C") == [("b", "B")]
    assert p.peek("a") == "A2"


def test_lfu_pop_of_the_lowest_bucket_then_evict() -> None:
    p = LFUPolicy(3)
    fill(p, "ab")
    p.hit("b")
    p.hit("b")  # a1 b3
    assert p.pop("a") == "A"  # bucket 1 is gone; the minimum is repaired lazily
    assert p.evict() == [("b", "B")]
    assert len(p) == 0


# -- SIEVE --------------------------------------------------------------------------


def test_sieve_hand_spares_visited_entries_in_place() -> None:
    p = SIEVEPolicy(4)
    fill(p, "abcd")  # a b c d (oldest first), hand at the tail
    p.hit("a")
    p.hit("c")
    assert p.put("e", "E") == [("b", "B")]  # a spared (bit cleared); hand now at c
    assert list(p) == ["a", "c", "d", "e"]  # a kept its place (CLOCK would move it)
    assert not p.visited("a") and p.visited("c")
    assert p.put("f", "F") == [("d", "D")]  # c spared; hand at e
    p.hit("a")  # the hand is past a: this bit only matters on the next lap
    assert p.put("g", "G") == [("e", "E")]  # hand at f
    assert p.put("h", "H") == [("f", "F")]  # hand at g
    assert list(p) == ["a", "c", "g", "h"]


def test_sieve_hand_wraps_from_head_to_tail() -> None:
    p = SIEVEPolicy(2)
    fill(p, "ab")
    p.hit("a")
    p.hit("b")
    # both visited: the hand clears a, then b, wraps to the tail and evicts a
    assert p.put("c", "C") == [("a", "A")]
    assert list(p) == ["b", "c"]
    assert p.put("d", "D") == [("b", "B")]  # b's bit was cleared on the lap


def test_sieve_pop_moves_the_hand_off_the_removed_entry() -> None:
    p = SIEVEPolicy(3)
    fill(p, "abc")
    p.hit("a")
    assert p.put("d", "D") == [("b", "B")]  # hand rests on c
    assert p.pop("c") == "C"  # the hand moves on to d
    assert p.put("e", "E") == []
    assert p.put("f", "F") == [("d", "D")]


# -- S3-FIFO ------------------------------------------------------------------------


def test_s3fifo_sizes() -> None:
    p = S3FIFOPolicy(100)
    assert (p.small_size, p.main_size, p.ghost_size) == (10, 90, 90)
    tiny = S3FIFOPolicy(3)
    assert (tiny.small_size, tiny.main_size) == (1, 2)


def test_s3fifo_fills_main_before_it_first_evicts() -> None:
    p = S3FIFOPolicy(10)  # S 1, M 9, G 9
    for i in range(10):
        p.put(i, i)
    assert [p.queue_of(i) for i in range(10)] == ["small"] + ["main"] * 9
    assert p.put(10, 10) == [(0, 0)]  # S's one-hit wonder leaves, its key to G
    assert p.queue_of(0) == "ghost"
    assert 0 not in p
    assert p.queue_of(10) == "small"  # once the cache has evicted, new keys go to S


def test_s3fifo_two_hits_in_small_earn_main_with_the_counter_reset() -> None:
    p = S3FIFOPolicy(10)
    for i in range(11):
        p.put(i, i)  # S: 10
    p.hit(10)
    assert p.put(11, 11) == [(10, 10)]  # one hit is not enough (threshold 2)
    p.hit(11)
    p.hit(11)
    assert p.put(12, 12) == [(1, 1)]  # 11 moves to M; M is over its share: 1 goes
    assert p.queue_of(11) == "main"
    assert p.frequency(11) == 0


def test_s3fifo_threshold_one_promotes_on_one_hit() -> None:
    p = S3FIFOPolicy(10, move_to_main_threshold=1)
    for i in range(11):
        p.put(i, i)
    p.hit(10)
    assert p.put(11, 11) == [(1, 1)]  # 10 moves to M, M's oldest goes
    assert p.queue_of(10) == "main"


def test_s3fifo_ghost_hit_inserts_into_main() -> None:
    p = S3FIFOPolicy(10)
    for i in range(11):
        p.put(i, i)  # 0 is evicted into G; S: 10
    assert p.put(0, "again") == [(10, 10)]  # room is made from S; 0 skips S
    assert p.queue_of(0) == "main"
    assert p.queue_of(10) == "ghost"


def test_s3fifo_main_is_a_two_bit_clock() -> None:
    p = S3FIFOPolicy(10)
    for i in range(10):
        p.put(i, i)  # S: 0; M: 1..9
    p.hit(1)
    p.hit(1)
    p.hit(2)  # M: 1 (freq 2), 2 (freq 1), 3..9 (freq 0)
    assert p.put(10, 10) == [(0, 0)]  # from S
    assert p.put(0, 0) == [(10, 10)]  # G remembers 0 -> M; S's 10 makes room; M: 10
    # M is over its share: 1 is reinserted with freq 1, 2 with freq 0, 3 evicted
    assert p.put(11, 11) == [(3, 3)]
    assert (p.frequency(1), p.frequency(2)) == (1, 0)
    assert p.queue_of(3) is None  # evicted from M: not remembered


def test_s3fifo_frequency_is_capped_at_three() -> None:
    p = S3FIFOPolicy(10)
    p.put("a", 1)
    for _ in range(10):
        p.hit("a")
    assert p.frequency("a") == 3


def test_s3fifo_pop_does_not_feed_the_ghost() -> None:
    p = S3FIFOPolicy(10)
    p.put("a", 1)
    assert p.pop("a") == 1
    assert p.queue_of("a") is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"small_ratio": 0.0}, "small_ratio"), ({"move_to_main_threshold": 0}, "threshold")],
)
def test_s3fifo_refuses_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        S3FIFOPolicy(10, **kwargs)


# -- every policy -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("max_size", [1, 2, 7, 50])
def test_policy_agrees_with_a_dict_model_on_a_random_workload(name: str, max_size: int) -> None:
    rng = random.Random(max_size)
    p = make_policy(name, max_size)
    model: dict[int, int] = {}
    for step in range(3000):
        key = int(rng.paretovariate(1.0)) % 120
        op = rng.random()
        if op < 0.55:
            if key in p:
                assert p.hit(key) == model[key]
            else:
                assert p.get(key, "absent") == "absent"
        elif op < 0.9:
            evicted = p.put(key, step)
            for k, v in evicted:
                assert model.pop(k) == v
                assert k != key
            model[key] = step
        elif op < 0.97:
            assert p.pop(key, "absent") == model.pop(key, "absent")
        elif model:
            for k, v in p.evict():
                assert model.pop(k) == v
        assert len(p) == len(model) <= max_size
    assert sorted(p) == sorted(model)
    assert dict(p.items()) == model
    p.clear()
    assert len(p) == 0 and list(p) == []


# -- cross-check against libCacheSim -----------------------------------------------


@pytest.mark.parametrize("name", ["lru", "fifo", "lfu", "sieve"])
@pytest.mark.parametrize("size", [3, 37])
def test_hits_match_libcachesim(name: str, size: int) -> None:
    lcs = pytest.importorskip("libcachesim")
    reference = {"lru": lcs.LRU, "fifo": lcs.FIFO, "lfu": lcs.LFU, "sieve": lcs.Sieve}[name]
    rng = random.Random(7)
    trace = [min(int(rng.paretovariate(0.8)), 300) for _ in range(5000)]
    ours = make_policy(name, size)
    theirs = reference(cache_size=size)
    for i, key in enumerate(trace):
        hit = key in ours
        if hit:
            ours.hit(key)
        else:
            ours.put(key, None)
        expected = bool(theirs.get(lcs.Request(obj_size=1, obj_id=key)))
        assert hit == expected, f"request {i} (key {key}): ours {hit}, libCacheSim {expected}"


# -- the runtime cache does what the simulator predicts ---------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [3, 40, 400])
def test_runtime_policy_hits_exactly_where_the_simulator_says(name: str, size: int) -> None:
    # the notebook recommends a policy from a simulation: the cache a user then runs
    # must be the policy that was simulated, request for request
    from perflab.caching import simulate
    from perflab.caching.synth import zipf_keys

    keys = zipf_keys(20_000, 2_000, 0.9, seed=size).tolist()
    policy = make_policy(name, size)
    hits = 0
    for k in keys:
        if k in policy:
            policy.hit(k)
            hits += 1
        else:
            policy.put(k, k)
    trace = {
        "timestamp": [float(i) for i in range(len(keys))],
        "key": keys,
        "size": [1] * len(keys),
    }
    assert hits == simulate(trace, [name], [size])["hits"][0]


@pytest.mark.parametrize("name", NAMES)
def test_a_recording_of_the_cache_replays_to_its_own_hits(name: str, tmp_path) -> None:
    # cache-aside traffic (get, on a miss set) recorded by the real Cache, read back
    # and simulated with fill="set": the simulator predicts the cache it recorded
    from perflab.caching import Cache, fill_of, read_trace, simulate
    from perflab.caching.synth import zipf_keys

    path = tmp_path / "rec.csv"
    cache = Cache(record=path)
    cache.define_strategy("s", max_size=150, policy=name)
    for k in zipf_keys(12_000, 1_500, 0.9, seed=3).tolist():
        cache.get_or_set(f"k{k}", lambda k=k: k, "s")
    hits = cache.stats().filter(strategy="s", level="l1")["hits"][0]
    cache.close()
    assert fill_of(path) == "set"
    out = simulate(read_trace(path), [name], [150], fill="set")
    assert out["hits"][0] == hits

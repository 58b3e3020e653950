"""Tests for perflab.caching.redis_level and the cache's L2, against the real Redis.

Every test gets a unique key prefix and deletes its keys afterwards. Failures are
tested with a port nothing listens on (127.0.0.1:1) and with a socket that accepts
connections but never answers (a timeout).
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from perflab.caching.cache import Cache
from perflab.caching.redis_level import LevelError, RedisLevel, SerializerError, make_serializer
from perflab.errors import ParameterError

URL = "redis://127.0.0.1:6379/0"
DOWN = "redis://127.0.0.1:1/0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Point:
    """A user type only pickle can store."""

    x: int
    y: int


@pytest.fixture
def raw() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(URL, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:  # pragma: no cover - the machine runs Redis
        pytest.fail("these tests need the Redis server at 127.0.0.1:6379")
    yield client
    client.close()


@pytest.fixture
def prefix(raw: redis.Redis) -> Iterator[str]:
    name = f"perflab-test:{uuid.uuid4().hex}:"
    yield name
    keys = list(raw.scan_iter(match=name + "*"))
    if keys:
        raw.delete(*keys)


@pytest.fixture
def level(prefix: str) -> Iterator[RedisLevel]:
    lvl = RedisLevel(URL, prefix=prefix)
    yield lvl
    lvl.close()


def l2_row(cache: Cache, strategy: str = "default") -> dict:
    rows = cache.stats().filter(strategy=strategy, level="l2").to_dicts()
    assert len(rows) == 1
    return rows[0]


def l1_row(cache: Cache, strategy: str = "default") -> dict:
    return cache.stats().filter(strategy=strategy, level="l1").to_dicts()[0]


# -- the level alone ----------------------------------------------------------------------


def test_level_set_get_delete(level: RedisLevel, raw: redis.Redis, prefix: str) -> None:
    assert level.set("k", {"a": [1, 2.5, None, True]}) == len(b'{"a":[1,2.5,null,true]}')
    assert raw.get(prefix + "k") == b'{"a":[1,2.5,null,true]}'
    assert level.get("k") == {"a": [1, 2.5, None, True]}
    assert level.fetch("k") == ({"a": [1, 2.5, None, True]}, 23, None)
    assert level.get("missing", "d") == "d"
    assert level.delete("k", "missing") == 1
    assert level.fetch("k") is None
    assert level.ping() and level.errors == 0


def test_level_ttl_is_set_in_milliseconds(level: RedisLevel, raw: redis.Redis, prefix: str) -> None:
    level.set("k", 1, ttl_s=1.5)
    assert 1400 < raw.pttl(prefix + "k") <= 1500
    value, size, ttl = level.fetch("k")  # type: ignore[misc]
    assert (value, size) == (1, 1) and 1.4 < ttl <= 1.5
    level.set("tiny", 1, ttl_s=0.0001)  # rounds up to 1 ms, never "no expiry"
    assert raw.pttl(prefix + "tiny") in (-2, 0, 1)


def test_level_clear_removes_only_its_prefix(raw: redis.Redis, prefix: str) -> None:
    mine = RedisLevel(URL, prefix=prefix + "a*[x]:")  # glob characters are escaped
    other = RedisLevel(URL, prefix=prefix + "ab:")
    for i in range(1200):
        mine.set(str(i), i)
    other.set("keep", 1)
    assert mine.clear() == 1200
    assert other.get("keep") == 1
    assert raw.exists(prefix + "ab:keep") == 1


def test_level_parameters_are_checked() -> None:
    with pytest.raises(ParameterError, match="timeout_s"):
        RedisLevel(timeout_s=0)
    with pytest.raises(ParameterError, match="backoff_s"):
        RedisLevel(backoff_s=-1)
    with pytest.raises(ParameterError, match="serializer"):
        RedisLevel(serializer="yaml")
    with pytest.raises(ParameterError, match="not a Redis URL"):
        RedisLevel("http://127.0.0.1:6379")
    with pytest.raises(ParameterError, match="must be str"):
        RedisLevel().key(b"k")  # type: ignore[arg-type]


def test_repr_and_logs_never_show_the_password(caplog: pytest.LogCaptureFixture) -> None:
    lvl = RedisLevel("redis://user:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in repr(lvl)
    with (
        caplog.at_level(logging.DEBUG, logger="perflab.caching.redis_level"),
        pytest.raises(LevelError) as info,
    ):
        lvl.get("k")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in caplog.text


# -- serialisers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "text ünï",
        0,
        -(2**70),
        1.5,
        True,
        None,
        [],
        {},
        b"\x00\xff raw",
        bytearray(b"ba"),
        {"nested": [{"bytes": b"x"}, [1, [2, [3]]]]},
        {"$b": "user data, not a tag"},
        {"$$b": 1},
        {"$x": {"$b": "deep"}},
        {"$": 1},
    ],
)
def test_json_round_trips(value: object) -> None:
    s = make_serializer("json")
    back = s.loads(s.dumps(value))
    assert back == value
    if isinstance(value, bytes | bytearray):
        assert isinstance(back, bytes)


def test_json_reads_tuples_back_as_lists() -> None:
    s = make_serializer("json")
    assert s.loads(s.dumps({"t": (1, (2, 3))})) == {"t": [1, [2, 3]]}


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (object(), "cannot store a object"),
        ({1, 2}, "cannot store a set"),
        (Point(1, 2), "cannot store a Point.*serializer='pickle' for trusted data"),
        ({1: "a"}, "needs str dict keys, not int"),
        ([1, {"ok": [complex(1, 2)]}], "cannot store a complex"),
    ],
)
def test_json_refuses_other_objects_clearly(value: object, match: str) -> None:
    with pytest.raises(SerializerError, match=match):
        make_serializer("json").dumps(value)


def test_json_refuses_circular_values() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(SerializerError, match="nested this deeply"):
        make_serializer("json").dumps(loop)


def test_pickle_only_when_asked(level: RedisLevel, prefix: str) -> None:
    with pytest.raises(SerializerError):
        level.set("p", Point(1, 2))
    trusted = RedisLevel(URL, prefix=prefix, serializer="pickle")
    trusted.set("p", Point(1, 2))
    assert trusted.get("p") == Point(1, 2)


def test_user_supplied_serializer(prefix: str, raw: redis.Redis) -> None:
    zstd = pytest.importorskip("zstandard")
    json_ = make_serializer("json")
    lvl = RedisLevel(
        URL,
        prefix=prefix,
        serializer=(
            lambda v: zstd.compress(json_.dumps(v)),
            lambda b: json_.loads(zstd.decompress(b)),
        ),
    )
    big = {"rows": ["same text"] * 500}
    size = lvl.set("z", big)
    assert size < len(json_.dumps(big)) / 10
    assert raw.get(prefix + "z")[:4] == b"\x28\xb5\x2f\xfd"  # zstd magic
    assert lvl.get("z") == big


# -- the cache with an L2 -----------------------------------------------------------------


def test_write_through_with_ttl(level: RedisLevel, raw: redis.Redis, prefix: str) -> None:
    cache = Cache(l2=level)
    cache.define_strategy("users", ttl_s=30)
    cache.set("u1", {"id": 1}, "users")
    cache.set("u2", {"id": 2}, "users", ttl_s=300)
    cache.set("forever", 1)
    assert raw.get(prefix + "u1") == b'{"id":1}'
    assert 29_000 < raw.pttl(prefix + "u1") <= 30_000
    assert 299_000 < raw.pttl(prefix + "u2") <= 300_000
    assert raw.pttl(prefix + "forever") == -1
    row = l2_row(cache, "users")
    assert (row["sets"], row["errors"], row["policy"], row["entries"]) == (2, 0, None, None)


def test_read_through_fills_l1(level: RedisLevel, raw: redis.Redis, prefix: str) -> None:
    writer = Cache(l2=level)
    writer.set("k", [1, 2, 3])
    reader = Cache(l2=level)  # another process, say: its L1 is empty
    assert reader.get("k") == [1, 2, 3]
    assert (l1_row(reader)["misses"], l2_row(reader)["hits"]) == (1, 1)
    raw.delete(prefix + "k")  # the copy in L1 still serves
    assert reader.get("k") == [1, 2, 3]
    assert (l1_row(reader)["hits"], l2_row(reader)["hits"]) == (1, 1)
    assert reader.get("nothing", "d") == "d"
    assert l2_row(reader)["misses"] == 1


def test_read_through_goes_to_the_hinted_strategy(level: RedisLevel) -> None:
    Cache(l2=level).set("k", "v")
    reader = Cache(l2=level)
    reader.define_strategy("users", max_size=5, policy="sieve")
    assert reader.get("k", strategy="users") == "v"
    assert l1_row(reader, "users")["entries"] == 1
    assert l2_row(reader, "users")["hits"] == 1


def test_l1_copy_expires_no_later_than_redis(level: RedisLevel) -> None:
    Cache(l2=level).set("k", "v", ttl_s=0.5)
    clock = FakeClock()
    reader = Cache(l2=level, clock=clock)  # its default strategy has no TTL
    assert reader.get("k") == "v"
    assert reader._where["k"].expires - clock.now <= 0.5
    clock.now += 0.51  # on the reader's clock the copy has expired: ask Redis again
    reader.get("k")
    assert l1_row(reader)["evictions_ttl"] == 1
    assert l2_row(reader)["hits"] + l2_row(reader)["misses"] == 2


def test_delete_invalidates_both_levels(level: RedisLevel, raw: redis.Redis, prefix: str) -> None:
    cache = Cache(l2=level)
    cache.set("k", 1)
    assert cache.delete("k") is True
    assert raw.exists(prefix + "k") == 0
    assert cache.get("k") is None
    assert l2_row(cache)["deletes"] == 1
    Cache(l2=level).set("only-in-redis", 1)
    assert cache.delete("only-in-redis") is True  # found in L2
    assert raw.exists(prefix + "only-in-redis") == 0


def test_clear_reaches_redis(level: RedisLevel, raw: redis.Redis, prefix: str) -> None:
    cache = Cache(l2=level)
    cache.define_strategy("s")
    cache.set("a", 1)
    cache.set("b", 2, "s")
    cache.clear("s")
    assert (raw.exists(prefix + "a"), raw.exists(prefix + "b")) == (1, 0)
    Cache(l2=level).set("elsewhere", 3)
    cache.clear()
    assert list(raw.scan_iter(match=prefix + "*")) == []


def test_values_the_serializer_refuses_change_nothing(level: RedisLevel, prefix: str) -> None:
    cache = Cache(l2=level)
    cache.set("k", "old")
    with pytest.raises(SerializerError, match="cannot store a object"):
        cache.set("k", object())
    assert cache.get("k") == "old" and level.get("k") == "old"
    assert l1_row(cache)["sets"] == 1


def test_keys_must_be_str_with_an_l2(level: RedisLevel) -> None:
    cache = Cache(l2=level)
    with pytest.raises(ParameterError, match="must be str, not tuple"):
        cache.set(("a", 1), 1)
    with pytest.raises(ParameterError, match="must be str, not int"):
        cache.get(7)


def test_unreadable_value_in_redis_is_a_miss_and_an_error(
    level: RedisLevel, raw: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    raw.set(prefix + "foreign", b"\x80 not json")
    cache = Cache(l2=level)
    with caplog.at_level(logging.WARNING, logger="perflab.caching.redis_level"):
        assert cache.get("foreign", "d") == "d"
        assert cache.get("foreign", "d") == "d"
    assert l2_row(cache)["errors"] == 2
    assert len([r for r in caplog.records if "cannot read" in r.getMessage()]) == 1


def test_recorder_writes_l2_rows(level: RedisLevel, tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    Cache(l2=level).set("remote", "abc")
    with Cache(l2=level, record=path) as cache:
        cache.set("k", "v", ttl_s=60)
        cache.get("remote")
        cache.get("nothing")
        cache.delete("k")
    df = pl.read_csv(path).select("key", "size", "op", "result", "level")
    assert df.rows() == [
        ("k", 3, "set", "set", "l1"),
        ("k", 3, "set", "set", "l2"),
        ("remote", None, "get", "miss", "l1"),
        ("remote", 5, "get", "hit", "l2"),
        ("nothing", None, "get", "miss", "l1"),
        ("nothing", None, "get", "miss", "l2"),
        ("k", None, "delete", "delete", "l1"),
        ("k", None, "delete", "delete", "l2"),
    ]


# -- Redis down ---------------------------------------------------------------------------


def test_unreachable_redis_l1_keeps_serving(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    level = RedisLevel(DOWN, prefix="never:", backoff_s=1.0, clock=clock)
    cache = Cache(l2=level)
    with caplog.at_level(logging.DEBUG, logger="perflab.caching.redis_level"):
        cache.set("k", "v")  # L2 fails: counted, logged, backing off
        assert cache.get("k") == "v"  # an L1 hit never asks Redis
        assert cache.get("other", "d") == "d"  # skipped: backing off
        assert cache.delete("other") is False  # skipped too
        assert (level.errors, level.skipped) == (1, 2)
        clock.now += 1.0  # the backoff is over: the next call tries again
        assert cache.get("again", "d") == "d"
        assert (level.errors, level.skipped) == (2, 2)
    row = l2_row(cache)
    assert (row["errors"], row["hits"], row["misses"], row["sets"]) == (4, 0, 0, 0)
    assert l1_row(cache)["hits"] == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "127.0.0.1:1" in warnings[0].getMessage()
    assert "retries Redis after 1 s" in warnings[0].getMessage()


def test_unreachable_redis_raises_level_error_when_used_alone() -> None:
    level = RedisLevel(DOWN, backoff_s=0)
    with pytest.raises(LevelError) as info:
        level.set("k", 1)
    assert info.value.attempted
    with pytest.raises(LevelError):  # no backoff: tried again
        level.get("k")
    assert (level.errors, level.skipped) == (2, 0)
    assert not level.ping()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections (in its backlog) and never answers."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def test_a_redis_that_times_out_costs_one_timeout_then_backs_off(silent_server: str) -> None:
    level = RedisLevel(silent_server, timeout_s=0.05, backoff_s=60)
    with pytest.raises(LevelError) as info:
        level.get("k")
    assert isinstance(info.value.__cause__, redis.TimeoutError)
    cache = Cache(l2=level)
    cache.set("k", "v")
    for i in range(20):
        assert cache.get(f"miss{i}") is None
    assert cache.get("k") == "v"
    # one call waited for the timeout; the 21 after it were refused without a call
    assert (level.errors, level.skipped) == (1, 21)
    assert l2_row(cache)["errors"] == 21


def test_a_delete_during_the_redis_round_trip_wins_over_the_fill(prefix: str) -> None:
    json_ = make_serializer("json")
    reader: list[Cache] = []

    def loads_while_someone_deletes(data: bytes) -> object:
        reader[0].delete("k")  # as if another thread deleted "k" during the GET
        return json_.loads(data)

    level = RedisLevel(URL, prefix=prefix, serializer=(json_.dumps, loads_while_someone_deletes))
    Cache(l2=level).set("k", "v")
    reader.append(Cache(l2=level))
    assert reader[0].get("k") == "v"  # what Redis held when asked
    assert "k" not in reader[0]  # but the stale value is not put back in L1


def test_each_outage_is_logged_once_and_the_recovery_too(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    level = RedisLevel(URL, prefix=prefix, clock=clock)
    reachable = level._client
    unreachable = redis.Redis.from_url(DOWN, retry=Retry(NoBackoff(), 0))
    cache = Cache(l2=level)
    with caplog.at_level(logging.INFO, logger="perflab.caching.redis_level"):
        level._client = unreachable  # Redis goes away …
        cache.set("a", 1)
        clock.now += 1
        cache.set("b", 2)  # the same outage: no second warning
        clock.now += 1
        level._client = reachable  # … and comes back
        cache.set("c", 3)
        level._client = unreachable  # a new outage
        clock.now += 1
        cache.set("d", 4)
    messages = [(r.levelname, r.getMessage().split(" (")[0]) for r in caplog.records]
    assert [m[0] for m in messages] == ["WARNING", "INFO", "WARNING"]
    assert "reachable again" in messages[1][1]
    assert reachable.get(prefix + "c") == b"3"  # written while Redis was reachable
    assert reachable.exists(prefix + "a", prefix + "b", prefix + "d") == 0
    assert l2_row(cache)["errors"] == 3
    unreachable.close()


def test_a_password_in_the_query_string_is_never_shown() -> None:
    level = RedisLevel("redis://127.0.0.1:1/0?password=hunter2", timeout_s=0.05)
    assert "hunter2" not in repr(level)
    with pytest.raises(LevelError) as caught:
        level.get("k")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("how", ["delete", "clear"])
def test_a_read_through_racing_an_invalidation_does_not_bring_the_value_back(
    level: RedisLevel, how: str
) -> None:
    import threading
    import time

    Cache(l2=level).set("a", {"name": "old"})  # another server filled Redis
    cache = Cache(l2=level)
    slow = getattr(level, how)

    def in_flight(*args: object) -> object:  # the invalidation's round trip, slowed
        time.sleep(0.2)
        return slow(*args)

    setattr(level, how, in_flight)
    worker = threading.Thread(
        target=cache.delete if how == "delete" else cache.clear,
        args=("a",) if how == "delete" else (),
    )
    worker.start()
    time.sleep(0.05)
    assert cache.get("a") == {"name": "old"}  # read while the DEL is on its way
    worker.join()
    setattr(level, how, slow)
    assert cache.get("a") is None  # L1 did not keep what the invalidation removed
    assert level.fetch("a") is None

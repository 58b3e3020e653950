"""Tests for perflab.caching.record: the cache's CSV access recorder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import polars as pl
import pytest

from perflab.caching.cache import Cache
from perflab.caching.record import HEADER, Recorder
from perflab.caching.schema import ACCESSES
from perflab.errors import ParameterError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def read(path: Path) -> pl.DataFrame:
    """The recorder's file, typed by the ACCESSES schema."""
    return ACCESSES.validate(pl.read_csv(path, schema=ACCESSES.dtypes()))


def test_header_is_exactly_the_accesses_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    Recorder(path).close()
    assert path.read_text() == ",".join(ACCESSES.names) + "\n"
    assert list(HEADER) == [
        "timestamp",
        "key",
        "size",
        "ttl",
        "op",
        "result",
        "level",
        "strategy",
    ]


def test_cache_records_every_operation(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    clock = FakeClock()
    before = time.time()
    with Cache(record=path, clock=clock) as cache:
        cache.define_strategy("users", ttl_s=60)
        cache.set("u1", {"name": "Ada"}, "users")  # {"name":"Ada"} is 14 bytes
        cache.get("u1")
        cache.get("u2", strategy="users")
        clock.now = 61
        cache.get("u1")
        cache.set("blob", b"\x00\x01")
        cache.delete("blob")
    df = read(path)
    assert df.drop("timestamp").rows() == [
        ("u1", 14, 60.0, "set", "set", "l1", "users"),
        ("u1", 14, 60.0, "get", "hit", "l1", "users"),
        ("u2", None, None, "get", "miss", "l1", "users"),
        ("u1", None, None, "get", "expired", "l1", "users"),
        ("blob", 13, None, "set", "set", "l1", "default"),  # {"$b":"AAE="}
        ("blob", None, None, "delete", "delete", "l1", "default"),
    ]
    stamps = df.get_column("timestamp")
    assert stamps.is_sorted()
    assert before <= stamps.min() and stamps.max() <= time.time()


def test_sizes_of_values_json_cannot_store(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with Cache(record=path) as cache:
        cache.set("a set", {1, 2, 3})  # not JSON: measured with pickle
        cache.set("a lambda", lambda: 1)  # neither: unknown
    sizes = read(path).get_column("size").to_list()
    assert sizes[0] is not None and sizes[0] > 0
    assert sizes[1] is None


def test_an_existing_file_is_never_replaced_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("precious\n")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        Recorder(path)
    with pytest.raises(FileExistsError):
        Cache(record=path)
    cache = Cache()
    with pytest.raises(FileExistsError), cache.record(path):
        pass
    assert path.read_text() == "precious\n"
    with Recorder(path, overwrite=True) as rec:
        rec.write("get", "k", "miss")
    assert read(path).height == 1


def test_rows_are_buffered_and_flushed_every_n_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rec = Recorder(path, flush_every=3)
    rec.write("get", "a", "miss")
    rec.write("get", "b", "miss")
    assert len(path.read_text().splitlines()) == 1  # the header only
    rec.write("get", "c", "miss")
    assert len(path.read_text().splitlines()) == 4
    rec.write("get", "d", "miss")
    rec.close()
    assert read(path).get_column("key").to_list() == ["a", "b", "c", "d"]
    assert rec.rows == 4 and rec.closed
    rec.write("get", "e", "miss")  # after close: dropped
    rec.close()
    assert read(path).height == 4


def test_flush_writes_the_buffer_now(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with Recorder(path) as rec:
        rec.write("set", "k", "set", size=3, ttl=1.5)
        rec.flush()
        assert read(path).row(0)[1:] == ("k", 3, 1.5, "set", "set", "l1", "default")


def test_awkward_keys_survive_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    keys = ["a,b", 'say "hi"', "line\nbreak", "ünï", "", "007", ("t", 1)]
    with Recorder(path) as rec:
        for k in keys:
            rec.write("get", k, "miss")
    assert read(path).get_column("key").to_list() == [*map(str, keys[:4]), None, "007", "('t', 1)"]


def test_bad_values_are_refused(tmp_path: Path) -> None:
    with Recorder(tmp_path / "t.csv") as rec:
        with pytest.raises(ParameterError, match="op must be one of"):
            rec.write("read", "k", "hit")
        with pytest.raises(ParameterError, match="level must be one of"):
            rec.write("get", "k", "hit", level="l3")
    with pytest.raises(ParameterError, match="flush_every"):
        Recorder(tmp_path / "u.csv", flush_every=0)


def test_many_threads_write_whole_rows_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with Recorder(path, flush_every=64) as rec:

        def work(n: int) -> None:
            for i in range(500):
                rec.write("set", f"t{n}-{i}", "set", size=i, strategy=f"s{n}")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    df = read(path)
    assert df.height == 8 * 500
    assert df.get_column("timestamp").is_sorted()
    for n in range(8):
        mine = df.filter(strategy=f"s{n}")
        assert mine.get_column("size").to_list() == list(range(500))  # in order, none lost


def test_record_context_manager_attaches_and_restores(tmp_path: Path) -> None:
    outer_path, inner_path = tmp_path / "outer.csv", tmp_path / "inner.csv"
    outer = Recorder(outer_path)
    cache = Cache(record=outer)
    cache.set("a", 1)
    with cache.record(inner_path) as inner:
        assert cache.recorder is inner
        cache.get("a")
    assert inner.closed and cache.recorder is outer
    cache.get("b")
    cache.close()  # a recorder given to the cache is flushed, not closed
    assert not outer.closed
    outer.close()
    assert read(inner_path).get_column("result").to_list() == ["hit"]
    assert read(outer_path).get_column("result").to_list() == ["set", "miss"]


def test_nothing_is_recorded_without_a_recorder(tmp_path: Path) -> None:
    cache = Cache()
    cache.set("a", 1)
    assert cache._where["a"].size is None  # sizes are only measured for a recorder
    with cache.record(tmp_path / "t.csv"):
        cache.get("a")
    assert read(tmp_path / "t.csv").get_column("size").to_list() == [None]


def test_read_trace_reads_the_recording(tmp_path: Path) -> None:
    read_mod = pytest.importorskip("perflab.caching.read")
    path = tmp_path / "trace.csv"
    with Cache(record=path) as cache:
        cache.set("a", "x" * 10)
        cache.get("a")
        cache.get("b")
        cache.delete("a")
    trace = read_mod.read_trace(path, keep_keys=True)
    assert trace.get_column("op").to_list() == ["set", "get", "get", "delete"]
    assert trace.get_column("raw_key").to_list() == ["a", "a", "b", "a"]
    assert trace.get_column("size").to_list()[:2] == [12, 12]

"""InstrumentedPool against the machine's PostgreSQL: no mocks."""

import asyncio
import threading
import time
import uuid

import polars as pl
import pytest
from psycopg_pool import PoolTimeout, TooManyRequests

from perflab.errors import ParameterError
from perflab.pooling import (
    ACQUIRES,
    POOL_STATS,
    AsyncInstrumentedPool,
    InstrumentedPool,
    PoolError,
    close_default_pool,
    default_pool,
)

from .conftest import DSN, live

pytestmark = live


def test_the_seed_defaults():
    pool = InstrumentedPool(DSN, open=False)
    inner = pool.pool
    assert (inner.min_size, inner.max_size, inner.max_idle, inner.max_waiting, inner.timeout) == (
        5, 20, 30.0, 100, 30.0,
    )  # fmt: skip


def _until(cond, limit_s: float = 30.0) -> None:
    """Wait for ``cond()`` (the pool's own counters), failing only after ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while not cond():
        assert time.monotonic() < deadline, "the pool never got there"
        time.sleep(0.005)


def test_every_acquire_is_recorded_with_wait_and_hold():
    # two connections held until two more requests queue behind them: those two wait
    # at least the 100 ms the holders keep them after that (sleeps only run long)
    with InstrumentedPool(DSN, min_size=2, max_size=2, name="t") as pool:
        release = threading.Event()
        held = threading.Semaphore(0)

        def holder():
            with pool.connection() as conn:
                conn.execute("SELECT pg_sleep(0.05)")
                held.release()
                release.wait(30)

        def waiter():
            with pool.connection() as conn:
                conn.execute("SELECT 1")

        holders = [threading.Thread(target=holder) for _ in range(2)]
        for t in holders:
            t.start()
        for _ in range(2):
            assert held.acquire(timeout=30)
        waiters = [threading.Thread(target=waiter) for _ in range(2)]
        for t in waiters:
            t.start()
        _until(lambda: pool.pool.get_stats().get("requests_waiting", 0) == 2)
        time.sleep(0.1)
        release.set()
        for t in holders + waiters:
            t.join(30)
    ev = pool.events().sort("start")
    assert ACQUIRES.validate(ev).height == 4
    assert ev["outcome"].to_list() == ["ok"] * 4
    assert ev["hold_ms"].head(2).min() >= 145  # the query's sleep and the 100 ms after
    assert ev["wait_ms"].tail(2).min() >= 100  # queued behind them
    assert ev["in_use"].max() == 2 and set(ev["pool"]) == {"t"}
    stats = pool.stats()
    assert POOL_STATS.validate(stats).height >= 2  # at open and at close
    assert stats["requests_num"][-1] == 4 and stats["pool_max"][-1] == 2


def test_a_pool_exhausted_past_its_queue_rejects_at_once_and_counts():
    pool = InstrumentedPool(DSN, min_size=1, max_size=1, max_waiting=1, timeout_s=60)
    release = threading.Event()
    held = threading.Event()

    def holder():
        with pool.connection():
            held.set()
            release.wait(60)

    def waiter():
        with pool.connection():
            pass

    h = threading.Thread(target=holder)
    h.start()
    assert held.wait(30)
    w = threading.Thread(target=waiter)
    w.start()
    _until(lambda: pool.pool.get_stats().get("requests_waiting", 0) == 1)
    start = time.monotonic()
    with pytest.raises(TooManyRequests, match="1 requests waiting"), pool.connection():
        pass
    assert time.monotonic() - start < 30  # rejected at once, not after the 60 s timeout
    release.set()
    h.join()
    w.join()
    pool.close()
    s = pool.summary()
    assert (s["acquires"], s["ok"], s["rejected"]) == (3, 2, 1)
    rejected = pool.events().filter(pl.col("outcome") == "rejected")
    assert rejected["hold_ms"].to_list() == [None] and "waiting" in rejected["error"][0]


def test_a_timeout_is_recorded_with_its_wait():
    with InstrumentedPool(DSN, min_size=1, max_size=1, timeout_s=0.2) as pool:
        conn = pool.getconn()
        with pytest.raises(PoolTimeout), pool.connection():
            pass
        pool.putconn(conn)
    ev = pool.events().sort("start")
    assert ev["outcome"].to_list() == ["ok", "timeout"]
    assert ev["wait_ms"][1] >= 190
    assert pool.summary()["timeout"] == 1


def test_an_error_inside_the_block_rolls_back_and_is_kept():
    with InstrumentedPool(DSN, min_size=1, max_size=1) as pool:
        with pytest.raises(Exception, match="division by zero"), pool.connection() as conn:
            conn.execute("SELECT 1/0")
        with pool.connection() as conn:  # the connection went back usable
            assert conn.execute("SELECT 2").fetchone() == (2,)
    ev = pool.events()
    assert ev["outcome"].to_list() == ["ok", "ok"]
    assert "division by zero" in ev["error"][0]


def test_recording_is_thread_safe():
    with InstrumentedPool(DSN, min_size=2, max_size=4, max_waiting=0) as pool:

        def work():
            for _ in range(25):
                with pool.connection() as conn:
                    conn.execute("SELECT 1")

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ev = pool.events()
    assert ev.height == 200 and pool.summary()["ok"] == 200
    assert ev["in_use"].max() <= 4 and pool.summary()["in_use"] == 0


def test_a_refused_dsn_is_a_clear_error_within_the_timeout(closed_port):
    secret = "s3cr3t-" + uuid.uuid4().hex[:8]
    start = time.monotonic()
    with pytest.raises(PoolError) as info:
        InstrumentedPool(
            f"postgresql://app:{secret}@127.0.0.1:{closed_port}/test", open_timeout_s=1.0
        )
    assert time.monotonic() - start < 8  # the 1 s open timeout (the default is 10 s)
    text = str(info.value)
    assert f"127.0.0.1:{closed_port}/test" in text and "refused" in text.lower()
    assert secret not in f"{info.value!s} {info.value!r}" and info.value.__cause__ is None


def test_the_async_pool_records_the_same_way():
    async def main():
        # both connections open before the five requests arrive: two at once, three wait
        async with AsyncInstrumentedPool(DSN, min_size=2, max_size=2, name="a") as pool:

            async def one():
                async with pool.connection() as conn:
                    await conn.execute("SELECT pg_sleep(0.03)")

            await asyncio.gather(*(one() for _ in range(5)))
        return pool

    pool = asyncio.run(main())
    ev = pool.events()
    assert ev.height == 5 and set(ev["outcome"]) == {"ok"}
    assert ev["in_use"].max() == 2 and ev["wait_ms"].max() >= 20


def test_the_default_pool(monkeypatch):
    monkeypatch.delenv("PERFLAB_PG_DSN", raising=False)
    close_default_pool()
    with pytest.raises(ParameterError):
        default_pool()
    monkeypatch.setenv("PERFLAB_PG_DSN", DSN)
    try:
        pool = default_pool(min_size=1, max_size=2)
        assert default_pool() is pool
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        assert pool.summary()["ok"] == 1
    finally:
        close_default_pool()


def test_bad_settings():
    with pytest.raises(ParameterError, match="max_size"):
        InstrumentedPool(DSN, min_size=5, max_size=2, open=False)
    with pytest.raises(ParameterError, match="max_waiting"):
        InstrumentedPool(DSN, max_waiting=-1, open=False)

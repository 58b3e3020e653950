import heapq
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from perflab.errors import InputError, ParameterError
from perflab.pooling import erlang_table, poisson_trace, replay, what_if

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("size", [5, 6, 8])
def test_replay_of_poisson_exponential_input_agrees_with_erlang_c(size):
    # half a million requests: queue waits are correlated, so the sample must be long
    trace = poisson_trace(400.0, 10.0, n=500_000, seed=size + 1)
    sim = what_if(trace, [size]).row(0, named=True)
    model = erlang_table(400.0, 10.0, [size]).row(0, named=True)
    assert sim["wait_probability"] == pytest.approx(model["wait_probability"], rel=0.08)
    assert sim["mean_wait_ms"] == pytest.approx(model["mean_wait_ms"], rel=0.12)
    assert sim["p99_wait_ms"] == pytest.approx(model["p99_wait_ms"], rel=0.12, abs=0.5)
    assert sim["utilization"] == pytest.approx(4.0 / size, rel=0.02)


def simpy_waits(arrivals_ms, holds_ms, size):
    """The same FIFO pool as a SimPy model: the reference for exact waits."""
    simpy = pytest.importorskip("simpy")
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=size)
    waits = [0.0] * len(arrivals_ms)

    def request(i):
        yield env.timeout(arrivals_ms[i] - env.now)
        t = env.now
        with pool.request() as req:
            yield req
            waits[i] = env.now - t
            yield env.timeout(holds_ms[i])

    for i in range(len(arrivals_ms)):
        env.process(request(i))
    env.run()
    return waits


def test_waits_equal_a_simpy_model_of_the_same_pool():
    trace = poisson_trace(300.0, 10.0, n=3000, seed=4)
    out = replay(trace, 3)
    ref = simpy_waits(out["arrival_ms"].to_list(), out["hold_ms"].to_list(), 3)
    assert out["sim_wait_ms"].to_list() == pytest.approx(ref, abs=1e-6)


def fifo_reference(arrivals, holds, size, timeout):
    """A plain-Python FIFO pool with give-up after ``timeout``."""
    free = [float("-inf")] * size
    out = []
    for a, h in zip(arrivals, holds, strict=True):
        first = free[0]
        wait = max(0.0, first - a)
        if wait > timeout:
            out.append((timeout, "timeout"))
            continue
        heapq.heapreplace(free, max(a, first) + h)
        out.append((wait, "ok"))
    return out


def test_timeouts_give_up_and_hold_nothing():
    trace = poisson_trace(500.0, 10.0, n=5000, seed=9)
    out = replay(trace, 4, timeout_ms=5.0)
    ref = fifo_reference(out["arrival_ms"].to_list(), out["hold_ms"].to_list(), 4, 5.0)
    assert out["sim_wait_ms"].to_list() == pytest.approx([w for w, _ in ref])
    assert out["sim_outcome"].to_list() == [o for _, o in ref]
    assert (out["sim_outcome"] == "timeout").sum() > 0


def test_a_full_queue_rejects_and_counts():
    # one connection; five requests at once: one served, two wait, two turned away
    t = pl.DataFrame({"start": [0.0] * 5, "hold_ms": [10.0] * 5})
    out = replay(t, 1, max_waiting=2)
    assert out["sim_outcome"].to_list() == ["ok", "ok", "ok", "rejected", "rejected"]
    assert what_if(t, [1], max_waiting=2)["rejected"].to_list() == [2]


def test_unsorted_timestamps_are_replayed_in_arrival_order():
    trace = poisson_trace(200.0, 10.0, n=2000, seed=3)
    shuffled = trace.sample(fraction=1.0, shuffle=True, seed=1)
    assert not shuffled["start"].is_sorted()
    assert what_if(shuffled, [2, 3]).equals(what_if(trace, [2, 3]))


def test_negative_durations_name_the_row():
    t = pl.DataFrame(
        {"start": [T0, T0 + timedelta(milliseconds=1), T0], "hold_ms": [5.0, -3.0, 2.0]}
    )
    with pytest.raises(InputError, match="hold_ms must be a finite, non-negative") as info:
        replay(t, 2)
    assert info.value.line == 2


def test_unserved_requests_hold_the_mean_unless_dropped():
    t = pl.DataFrame({"start": [0.0, 0.0, 0.0], "hold_ms": [10.0, None, 20.0]})
    assert replay(t, 1)["hold_ms"].to_list() == [10.0, 15.0, 20.0]
    assert replay(t, 1, unserved="drop").height == 2


def test_bad_parameters():
    t = poisson_trace(10.0, 1.0, n=10)
    with pytest.raises(ParameterError):
        replay(t, 0)
    with pytest.raises(ParameterError):
        replay(t, 1, timeout_ms=-1)
    assert what_if(t.head(0), [1, 2])["requests"].to_list() == [0, 0]

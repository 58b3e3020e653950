from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.pooling import (
    PoolError,
    acquire_summary,
    database_ceiling,
    peak_window,
    pool_timeline,
    read_acquires,
    recommend_size,
    recorded_vs_replayed,
    saturation_periods,
    what_if,
)

from .conftest import DSN, SAMPLES, live

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def events(rows):
    """(offset ms, wait ms, hold ms, outcome) → acquires."""
    return pl.DataFrame(
        {
            "start": [T0 + timedelta(milliseconds=o) for o, *_ in rows],
            "wait_ms": [float(w) for _, w, _, _ in rows],
            "hold_ms": [None if h is None else float(h) for *_, h, _ in rows],
            "outcome": [o for *_, o in rows],
        }
    )


def test_summary_of_a_small_pool():
    # two connections; at t=0 three requests of 1 s: the third waits 1 s; one rejected
    ev = events(
        [(0, 0, 1000, "ok"), (0, 0, 1000, "ok"), (0, 1000, 1000, "ok"), (10, 0, None, "rejected")]
    )
    s = acquire_summary(ev, max_size=2).row(0, named=True)
    assert (s["acquires"], s["ok"], s["rejected"], s["in_use_peak"]) == (4, 3, 1, 2)
    assert s["failed_pct"] == 25.0 and s["waited_pct"] == 25.0
    assert s["span_s"] == pytest.approx(2.0) and s["in_use_mean"] == pytest.approx(1.5)
    assert s["utilization_pct"] == pytest.approx(75.0)
    assert s["offered_load"] == pytest.approx(4 / 2.0 * 1.0)


def test_timeline_and_saturation():
    ev = events([(0, 0, 1000, "ok"), (0, 0, 1000, "ok"), (0, 1000, 1000, "ok")])
    tl = pool_timeline(ev, every="1s")
    # the last release, at exactly 2 s, opens a bucket where nothing is in use
    assert tl["in_use_mean"].to_list() == pytest.approx([2.0, 1.0, 0.0])
    assert tl["waiting_mean"].to_list()[:2] == pytest.approx([1.0, 0.0])
    assert tl["in_use_max"].to_list()[:2] == [2, 1]  # at 1 s two go back, one is handed on
    sat = saturation_periods(ev)
    assert sat.height == 1 and sat["duration_ms"][0] == 1000 and sat["waiters"][0] == 1


def test_negative_durations_and_unknown_outcomes_are_refused():
    with pytest.raises(ParameterError, match="negative"):
        acquire_summary(events([(0, -1, 5, "ok")]))
    with pytest.raises(ParameterError, match="unknown outcome"):
        pool_timeline(events([(0, 1, 5, "lost")]))


def test_empty_events_give_empty_frames():
    empty = events([])
    assert acquire_summary(empty).height == 0
    assert pool_timeline(empty).height == 0 and saturation_periods(empty).height == 0


def test_the_peak_of_the_capture_and_its_size():
    ev = read_acquires(SAMPLES / "app.acquires.jsonl.gz")
    peak = peak_window(ev, width="4s")
    rate = acquire_summary(peak)["arrival_rate"][0]
    assert rate > 1.5 * acquire_summary(ev)["arrival_rate"][0]  # the burst
    sized = recommend_size(peak, 10.0, timeout_ms=250, max_waiting=16).row(0, named=True)
    assert sized["recommended"] >= max(sized["erlang_size"], sized["replay_size"])
    assert sized["replay_p99_wait_ms"] <= 10.0 and sized["erlang_p99_wait_ms"] <= 10.0
    # at the size it ran with, the replay gives back what the pool did
    replayed = what_if(ev, [4], timeout_ms=250, max_waiting=16).row(0, named=True)
    recorded = int((ev["outcome"] == "rejected").sum())
    assert abs(replayed["rejected"] - recorded) <= 0.25 * recorded


def test_the_ceiling_from_given_limits():
    c = database_ceiling(6, 20, max_connections=100).row(0, named=True)
    assert (c["pool_total"], c["available"], c["headroom"], c["exceeded"]) == (120, 97, -23, True)
    assert not database_ceiling(4, 20, max_connections=100, reserved=3)["exceeded"][0]
    with pytest.raises(ParameterError):
        database_ceiling(2, 10)


@live
def test_the_ceiling_read_live():
    c = database_ceiling(2, 10, dsn=DSN).row(0, named=True)
    assert c["max_connections"] >= 10 and c["connected_now"] >= 1 and c["reserved"] >= 0


def test_the_ceiling_of_a_refused_server(closed_port):
    with pytest.raises(PoolError, match=f"127.0.0.1:{closed_port}"):
        database_ceiling(
            2, 10, dsn=f"postgresql://postgres@127.0.0.1:{closed_port}/test", timeout_s=2
        )


def test_the_capture_replayed_at_its_own_settings_gives_back_what_was_recorded():
    ev = read_acquires(SAMPLES / "app.acquires.jsonl.gz")
    both = recorded_vs_replayed(ev, 4, timeout_ms=250, max_waiting=16)
    got = {m: (r, p) for m, r, p in both.rows()}
    assert got["rejected"][0] > 50 and got["rejected"][1] == pytest.approx(
        got["rejected"][0], rel=0.2
    )
    for m in ("p95 wait (ms)", "p99 wait (ms)"):
        assert got[m][1] == pytest.approx(got[m][0], rel=0.15)
    # leave out the bounded queue and the replay no longer matches: nobody is turned
    # away, so the queue and its waits grow — the settings are part of the model
    unbounded = dict(recorded_vs_replayed(ev, 4).select("measure", "replayed").rows())
    assert unbounded["rejected"] == 0 and unbounded["p99 wait (ms)"] > 2 * got["p99 wait (ms)"][0]

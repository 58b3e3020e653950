"""Tests for perflab.monitoring.monitor: the live metric recorder."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import perflab.monitoring.monitor as monitor_mod
from perflab.errors import ParameterError, PerflabError, SchemaError
from perflab.frames import as_frame
from perflab.monitoring.monitor import MetricError, Monitor
from perflab.monitoring.read import read_metrics
from perflab.monitoring.schema import METRICS

DEADLOCK_GUARD_S = 60  # only ever reached if the code under test hangs


def values(mon: Monitor) -> list[float]:
    return mon.to_frame().get_column("value").to_list()


def wait_until(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLOCK_GUARD_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.001)


# -- recording and framing --------------------------------------------------------


def test_samples_come_back_as_a_metrics_frame_with_tag_columns_and_nulls():
    mon = Monitor()
    t = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    mon.record_metric("latency", 12.5, "ms", tags={"route": "/a", "method": "GET"}, timestamp=t)
    mon.record_metric("heap", 2048, "bytes", timestamp=t)
    mon.record_metric("latency", 7.0, "ms", tags={"route": "/b", "host": "web-1"}, timestamp=t)

    df = mon.to_frame()

    expected = pl.DataFrame(
        {
            "name": ["latency", "heap", "latency"],
            "value": [12.5, 2048.0, 7.0],
            "unit": ["ms", "bytes", "ms"],
            "timestamp": [t, t, t],
            "route": ["/a", None, "/b"],
            "method": ["GET", None, None],
            "host": [None, None, "web-1"],
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )
    assert_frame_equal(df, expected)
    assert_frame_equal(METRICS.validate(df), df)


def test_empty_monitor_gives_an_empty_metrics_frame():
    df = Monitor().to_frame()
    assert df.height == 0
    assert df.schema == METRICS.empty().schema


def test_tag_values_that_are_not_str_are_stringified_and_none_is_null():
    mon = Monitor()
    mon.record_metric("req", 1.0, "ms", tags={"status": 200, "cached": True, "region": None})
    row = mon.to_frame().row(0, named=True)
    assert (row["status"], row["cached"], row["region"]) == ("200", "True", None)
    assert mon.to_frame().schema["status"] == pl.String


def test_tags_are_copied_so_later_changes_to_the_callers_dict_do_not_leak_in():
    mon = Monitor()
    tags = {"route": "/a"}
    mon.record_metric("req", 1.0, "ms", tags=tags)
    tags["route"] = "/changed"
    assert mon.to_frame().get_column("route").to_list() == ["/a"]


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -float("inf"), True, False, "1.5", None, Decimal("1.5"), 1j],
    ids=repr,
)
def test_bad_values_are_rejected_with_a_clear_error_and_nothing_is_recorded(value):
    mon = Monitor()
    with pytest.raises(MetricError, match=r"metric 'latency': value must be a finite real"):
        mon.record_metric("latency", value, "ms")
    assert len(mon) == 0


def test_metric_error_is_a_value_error_and_a_perflab_error():
    assert issubclass(MetricError, ValueError)
    assert issubclass(MetricError, PerflabError)


@pytest.mark.parametrize(
    ("value", "stored"),
    [(3, 3.0), (np.float32(0.5), 0.5), (np.int64(7), 7.0), (Fraction(1, 4), 0.25)],
    ids=repr,
)
def test_real_numbers_of_other_types_are_stored_as_floats(value, stored):
    mon = Monitor()
    mon.record_metric("x", value, "1")
    assert values(mon) == [stored]


def test_an_int_too_large_for_a_float_is_rejected():
    with pytest.raises(MetricError, match="finite real"):
        Monitor().record_metric("x", 10**400, "1")


@pytest.mark.parametrize(
    ("name", "unit", "tags", "message"),
    [
        ("", "ms", None, "name must be a non-empty str"),
        (42, "ms", None, "name must be a non-empty str"),
        ("x", None, None, "unit must be a str"),
        ("x", 1, None, "unit must be a str"),
        ("x", "ms", {"value": "a"}, "tag key 'value'"),
        ("x", "ms", {"timestamp": "a"}, "tag key 'timestamp'"),
        ("x", "ms", {"": "a"}, "tag key ''"),
        ("x", "ms", {1: "a"}, "tag key 1"),
        ("x", "ms", [("route", "/a")], "tags must be a mapping"),
    ],
)
def test_bad_names_units_and_tags_are_rejected(name, unit, tags, message):
    mon = Monitor()
    with pytest.raises(MetricError, match=message):
        mon.record_metric(name, 1.0, unit, tags=tags)
    assert len(mon) == 0
    assert mon.to_frame().columns == list(METRICS.columns)


# -- timestamps --------------------------------------------------------------------


def test_default_timestamps_are_utc_and_taken_at_the_call():
    mon = Monitor()
    before = datetime.now(UTC)
    mon.record_metric("x", 1.0, "1")
    after = datetime.now(UTC)
    stamp = mon.to_frame().get_column("timestamp")
    assert stamp.dtype == pl.Datetime("us", "UTC")
    # The stored value is truncated to µs, like datetime.now itself.
    assert before - timedelta(microseconds=1) <= stamp[0] <= after


def test_explicit_timestamps_datetime_aware_naive_and_int_ns():
    mon = Monitor()
    tz = timezone(timedelta(hours=2))
    mon.record_metric("x", 1.0, "1", timestamp=datetime(2024, 1, 1, 14, 0, tzinfo=tz))
    mon.record_metric("x", 2.0, "1", timestamp=datetime(2024, 1, 1, 12, 0))
    mon.record_metric("x", 3.0, "1", timestamp=1_704_110_400_123_456_789)
    mon.record_metric("x", 4.0, "1", timestamp=datetime(1969, 12, 31, 23, 59, 59, 5, tzinfo=UTC))
    got = mon.to_frame().get_column("timestamp").to_list()
    assert got == [
        datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 5, tzinfo=UTC),
    ]


@pytest.mark.parametrize("stamp", [1.7e9, "2024-01-01", True, 2**63], ids=repr)
def test_bad_timestamps_are_rejected(stamp):
    mon = Monitor()
    with pytest.raises(MetricError, match="timestamp must be a datetime or int nanoseconds"):
        mon.record_metric("x", 1.0, "1", timestamp=stamp)
    assert len(mon) == 0


# -- mark_start / mark_end ----------------------------------------------------------


def test_mark_end_records_the_returned_duration_in_ms_with_the_tags():
    mon = Monitor()
    token = mon.mark_start("render", tags={"page": "home", "attempt": 2})
    time.sleep(0.01)
    elapsed = mon.mark_end(token)
    row = mon.to_frame().row(0, named=True)
    assert elapsed >= 10.0
    assert row["value"] == elapsed
    assert (row["name"], row["unit"], row["page"], row["attempt"]) == ("render", "ms", "home", "2")


def test_ending_a_token_twice_is_an_error_and_records_once():
    mon = Monitor()
    token = mon.mark_start("step")
    mon.mark_end(token)
    with pytest.raises(MetricError, match="'step' has already ended"):
        mon.mark_end(token)
    assert len(mon) == 1


def test_ending_a_token_of_another_monitor_or_a_non_token_is_an_error():
    mine, other = Monitor(), Monitor()
    token = other.mark_start("step")
    with pytest.raises(MetricError, match="started on another monitor"):
        mine.mark_end(token)
    with pytest.raises(MetricError, match="needs a token from mark_start"):
        mine.mark_end("step")  # type: ignore[arg-type]
    other.mark_end(token)  # still open on its own monitor
    assert (len(mine), len(other)) == (0, 1)


def test_mark_start_rejects_reserved_tag_keys_up_front():
    with pytest.raises(MetricError, match="tag key 'unit'"):
        Monitor().mark_start("step", tags={"unit": "s"})


def test_two_threads_ending_one_token_record_it_once():
    mon = Monitor()
    token = mon.mark_start("race")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def end() -> None:
        barrier.wait()
        try:
            mon.mark_end(token)
            outcomes.append("ok")
        except MetricError:
            outcomes.append("error")

    threads = [threading.Thread(target=end) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["error", "ok"]
    assert len(mon) == 1


# -- timer ----------------------------------------------------------------------------


def test_timer_as_context_manager_records_ms_with_outcome_ok():
    mon = Monitor()
    with mon.timer("parse", tags={"fmt": "csv"}):
        time.sleep(0.02)
    row = mon.to_frame().row(0, named=True)
    assert (row["name"], row["unit"], row["fmt"], row["outcome"]) == ("parse", "ms", "csv", "ok")
    assert 20.0 <= row["value"] < 60_000.0


def test_timer_records_even_when_the_block_raises_and_lets_the_error_through():
    mon = Monitor()
    with pytest.raises(KeyError), mon.timer("lookup"):
        time.sleep(0.01)
        raise KeyError("missing")
    row = mon.to_frame().row(0, named=True)
    assert row["outcome"] == "error"
    assert row["value"] >= 10.0


def test_timer_as_decorator_times_every_call_and_keeps_the_function_identity():
    mon = Monitor()

    @mon.timer("handler", tags={"route": "/x"})
    def handle(x: int) -> float:
        """Handle x."""
        time.sleep(0.005)
        return 1 / x

    assert handle(4) == 0.25
    with pytest.raises(ZeroDivisionError):
        handle(0)
    assert (handle.__name__, handle.__doc__) == ("handle", "Handle x.")
    df = mon.to_frame()
    assert df.get_column("outcome").to_list() == ["ok", "error"]
    assert df.get_column("route").to_list() == ["/x", "/x"]
    assert df.get_column("value").min() >= 5.0


def test_timer_decorates_async_functions_and_times_the_awaited_body():
    mon = Monitor()

    @mon.timer("fetch")
    async def fetch() -> str:
        await asyncio.sleep(0.01)
        return "done"

    assert asyncio.run(fetch()) == "done"
    row = mon.to_frame().row(0, named=True)
    assert (row["outcome"], row["value"] >= 10.0) == ("ok", True)


def test_one_timer_entered_by_overlapping_threads_times_each_thread_separately():
    # A enters, sleeps 30 ms, then lets B enter and exit inside A's block.
    # Were the start kept on the shared Timer, B would overwrite A's and A's
    # duration would miss the 30 ms.
    mon = Monitor()
    shared = mon.timer("shared")
    a_slept, b_done = threading.Event(), threading.Event()

    def a() -> None:
        with shared:
            time.sleep(0.03)
            a_slept.set()
            b_done.wait(DEADLOCK_GUARD_S)

    def b() -> None:
        a_slept.wait(DEADLOCK_GUARD_S)
        with shared:
            pass
        b_done.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    durations = sorted(values(mon))
    assert len(durations) == 2
    assert durations[1] >= 30.0  # A's


def test_tags_are_given_the_same_way_to_record_metric_mark_start_and_timer():
    mon = Monitor()
    tags = {"route": "/a", "attempt": 2}
    mon.record_metric("x", 1.0, "ms", tags=tags)
    mon.mark_end(mon.mark_start("x", tags=tags))
    with mon.timer("x", tags=tags):
        pass
    df = mon.to_frame()
    assert df.get_column("route").to_list() == ["/a"] * 3
    assert df.get_column("attempt").to_list() == ["2"] * 3
    for call in (mon.mark_start, mon.timer):
        with pytest.raises(MetricError, match="tags must be a mapping"):
            call("x", tags=["route"])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            call("x", route="/a")  # type: ignore[call-arg]


def test_timer_rejects_an_outcome_tag_it_would_overwrite():
    with pytest.raises(MetricError, match="'outcome' is set by the timer"):
        Monitor().timer("x", tags={"outcome": "maybe"})


# -- threads and spills ----------------------------------------------------------------


def test_many_threads_lose_no_sample_and_keep_their_order_across_spills(tmp_path):
    n_threads, per_thread = 6, 1500
    mon = Monitor(max_samples=97, spill_dir=tmp_path)
    barrier = threading.Barrier(n_threads)

    def work(i: int) -> None:
        barrier.wait()
        for j in range(per_thread):
            mon.record_metric("op", j, "1", tags={"thread": str(i)})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, to interleave the appends
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)

    assert len(mon) == n_threads * per_thread
    df = mon.to_frame()
    assert df.height == n_threads * per_thread
    assert len(list(tmp_path.glob("*.parquet"))) == (n_threads * per_thread) // 97
    per = df.group_by("thread").agg(pl.col("value"))
    assert per.height == n_threads
    for seq in per.get_column("value").to_list():
        assert seq == [float(j) for j in range(per_thread)]  # all there, in record order


def test_spill_writes_parquet_files_and_to_frame_returns_everything_in_order(tmp_path):
    mon = Monitor(max_samples=10, spill_dir=tmp_path / "spill")
    for v in range(35):
        tags = {"late": "yes"} if v >= 25 else None
        mon.record_metric("x", v, "1", tags=tags)

    files = sorted((tmp_path / "spill").glob("*.parquet"))
    assert len(files) == 3
    assert pl.read_parquet(files[0]).get_column("value").to_list() == [float(v) for v in range(10)]
    assert len(mon) == 35
    df = mon.to_frame()
    assert df.get_column("value").to_list() == [float(v) for v in range(35)]
    assert df.get_column("late").null_count() == 25
    assert df.get_column("late").to_list()[25:] == ["yes"] * 10


def test_spilling_does_not_hold_the_lock_while_writing(tmp_path, monkeypatch):
    mon = Monitor(max_samples=5, spill_dir=tmp_path)
    real_write = monitor_mod._write_spill_file
    writing, release = threading.Event(), threading.Event()

    def slow_write(df: pl.DataFrame, path: Path) -> None:
        writing.set()
        release.wait(DEADLOCK_GUARD_S)
        real_write(df, path)

    monkeypatch.setattr(monitor_mod, "_write_spill_file", slow_write)

    def fill(start: int, count: int) -> None:
        for v in range(start, start + count):
            mon.record_metric("x", v, "1")

    spiller = threading.Thread(target=fill, args=(0, 5))
    spiller.start()
    writing.wait(DEADLOCK_GUARD_S)
    # The first spill is stuck writing; others can still record, and a second
    # thread can fill and swap the buffer again (its write then waits its turn).
    second = threading.Thread(target=fill, args=(5, 5))
    second.start()
    wait_until(lambda: len(mon) == 10, "the second thread's samples")
    other = threading.Thread(target=fill, args=(10, 3))
    other.start()
    other.join(DEADLOCK_GUARD_S)
    assert not other.is_alive(), "recording blocked while a spill was being written"
    assert len(mon) == 13
    release.set()
    spiller.join()
    second.join()

    assert values(mon) == [float(v) for v in range(13)]
    assert len(list(tmp_path.glob("*.parquet"))) == 2


def test_a_spill_that_cannot_be_written_keeps_its_samples_and_says_so(
    tmp_path, monkeypatch, caplog
):
    def broken(df: pl.DataFrame, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(monitor_mod, "_write_spill_file", broken)
    mon = Monitor(max_samples=4, spill_dir=tmp_path)
    with caplog.at_level(logging.ERROR, logger=monitor_mod.__name__):
        for v in range(10):
            mon.record_metric("x", v, "1")
    assert "could not spill 4 metric sample(s); they stay in memory: disk full" in caplog.text
    assert len(mon) == 10
    assert values(mon) == [float(v) for v in range(10)]
    out = tmp_path / "out.parquet"
    assert mon.flush(out) == 10
    assert as_frame(out, METRICS).height == 10


def test_default_spill_dir_is_a_logged_tempdir_removed_with_the_monitor(caplog):
    mon = Monitor(max_samples=2)
    with caplog.at_level(logging.INFO, logger=monitor_mod.__name__):
        for v in range(3):
            mon.record_metric("x", v, "1")
    spill_dir = mon._spill_dir
    assert spill_dir is not None and spill_dir.is_dir()
    assert str(spill_dir) in caplog.text
    assert len(list(spill_dir.glob("*.parquet"))) == 1
    del mon
    gc.collect()
    assert not spill_dir.exists()


def test_max_samples_must_be_a_positive_int():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ParameterError, match="max_samples"):
            Monitor(max_samples=bad)  # type: ignore[arg-type]


# -- flush and clear -----------------------------------------------------------------------


def _filled(tmp_path: Path) -> Monitor:
    mon = Monitor(max_samples=4, spill_dir=tmp_path / "spill")
    for v in range(10):
        tags = {"method": "GET"} if v % 3 == 0 else {"host": "web-1"}
        mon.record_metric("latency", v + 0.25, "ms", tags=tags)
    return mon


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_flush_writes_a_file_that_reads_back_equal_and_empties_the_monitor(tmp_path, suffix):
    mon = _filled(tmp_path)
    before = mon.to_frame()
    out = tmp_path / f"metrics{suffix}"

    assert mon.flush(out) == 10

    assert_frame_equal(as_frame(out, METRICS), before)
    assert len(mon) == 0
    assert mon.to_frame().height == 0
    assert list((tmp_path / "spill").glob("*.parquet")) == []
    assert list(tmp_path.glob(".*tmp")) == []


def test_flush_of_an_empty_monitor_writes_an_empty_metrics_file(tmp_path):
    out = tmp_path / "empty.parquet"
    assert Monitor().flush(out) == 0
    assert as_frame(out, METRICS).height == 0


def test_flush_to_an_unknown_suffix_is_refused_and_forgets_nothing(tmp_path):
    mon = _filled(tmp_path)
    with pytest.raises(ParameterError, match="suffix must be one of"):
        mon.flush(tmp_path / "metrics.xlsx")
    assert len(mon) == 10
    assert not (tmp_path / "metrics.xlsx").exists()


def test_samples_recorded_while_flush_writes_are_kept_for_later(tmp_path, monkeypatch):
    mon = Monitor(max_samples=4, spill_dir=tmp_path)
    for v in range(6):  # one spilled chunk of 4 plus 2 in the buffer
        mon.record_metric("x", v, "1")
    real_write = monitor_mod.write_atomic

    threads: list[threading.Thread] = []

    def record(vs: range) -> None:
        for v in vs:
            mon.record_metric("x", v, "1")

    def write_while_others_record(path, data):
        if Path(path) != out:  # the spills go through write_atomic too
            return real_write(path, data)
        # One thread records 2 samples: with the 2 framed ones they fill the buffer,
        # which is swapped out; its spill (and that thread) waits for flush to end.
        # Another thread then records 3 more into the fresh buffer.
        threads.append(threading.Thread(target=record, args=(range(6, 8),)))
        threads[-1].start()
        wait_until(lambda: len(mon) == 8, "the samples that fill the buffer")
        threads.append(threading.Thread(target=record, args=(range(8, 11),)))
        threads[-1].start()
        wait_until(lambda: len(mon) == 11, "the samples in the fresh buffer")
        return real_write(path, data)

    monkeypatch.setattr(monitor_mod, "write_atomic", write_while_others_record)
    out = tmp_path / "out.parquet"
    assert mon.flush(out) == 6
    for t in threads:
        t.join()

    assert pl.read_parquet(out).get_column("value").to_list() == [float(v) for v in range(6)]
    assert len(mon) == 5
    assert values(mon) == [float(v) for v in range(6, 11)]


def test_clear_forgets_samples_spill_files_and_tag_columns_but_not_open_marks(tmp_path):
    mon = _filled(tmp_path)
    token = mon.mark_start("open")
    mon.clear()
    assert len(mon) == 0
    assert list((tmp_path / "spill").glob("*.parquet")) == []
    assert mon.to_frame().columns == list(METRICS.columns)
    mon.mark_end(token)
    assert mon.to_frame().get_column("name").to_list() == ["open"]


# -- stats --------------------------------------------------------------------------------


def test_stats_match_numpy_per_name():
    rng = np.random.default_rng(7)
    mon = Monitor(max_samples=50)
    data = {
        ("db", "ms"): rng.lognormal(1.0, 0.5, 300),
        ("heap", "bytes"): rng.integers(1000, 5000, 120).astype(float),
        ("cpu", "1"): rng.random(40),
    }
    for (name, unit), vals in data.items():
        for v in vals:
            mon.record_metric(name, float(v), unit)

    stats = mon.stats()

    assert stats.select("name", "unit").rows() == [("cpu", "1"), ("db", "ms"), ("heap", "bytes")]
    for row in stats.iter_rows(named=True):
        vals = data[(row["name"], row["unit"])]
        assert row["count"] == len(vals)
        assert row["mean"] == pytest.approx(vals.mean())
        for q in (50, 95, 99):
            assert row[f"p{q}"] == pytest.approx(np.percentile(vals, q))


def test_stats_refuse_a_name_recorded_in_two_units():
    mon = Monitor()
    mon.record_metric("db", 3.0, "ms")
    mon.record_metric("db", 0.004, "s")
    with pytest.raises(SchemaError, match="metric db has units ms and s"):
        mon.stats()


def test_stats_of_an_empty_monitor_is_an_empty_frame_with_the_columns():
    stats = Monitor().stats()
    assert stats.height == 0
    assert stats.columns[:7] == ["name", "unit", "count", "mean", "min", "max", "std"]
    assert {"p50", "p95", "p99"} <= set(stats.columns)


# -- the default monitor ------------------------------------------------------------------


def test_default_monitor_is_created_once_even_when_threads_race(monkeypatch):
    monkeypatch.setattr(monitor_mod, "_default", None)
    barrier = threading.Barrier(8)
    seen: list[Monitor] = []

    def get() -> None:
        barrier.wait()
        seen.append(monitor_mod.default_monitor())

    threads = [threading.Thread(target=get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in seen}) == 1
    assert monitor_mod.default_monitor() is seen[0]


def test_module_level_functions_record_on_the_default_monitor(monkeypatch):
    fresh = Monitor()
    monkeypatch.setattr(monitor_mod, "_default", fresh)
    monitor_mod.record_metric("rps", 120, "1/s", tags={"host": "a"})
    monitor_mod.mark_end(monitor_mod.mark_start("boot"))
    with monitor_mod.timer("block"):
        pass
    assert fresh.to_frame().get_column("name").to_list() == ["rps", "boot", "block"]


def test_len_and_repr_report_the_sample_count(tmp_path):
    mon = _filled(tmp_path)
    assert len(mon) == 10
    assert "samples=10" in repr(mon)
    assert "max_samples=4" in repr(mon)


# -- review: bounds, spill recovery, tag keys across spills, flush under load --------------


@pytest.mark.parametrize(
    "stamp",
    [datetime(3000, 1, 1, tzinfo=UTC), datetime(1600, 1, 1)],
    ids=["year-3000", "year-1600"],
)
def test_a_datetime_beyond_int64_nanoseconds_is_refused_and_the_monitor_keeps_working(stamp):
    # Before the check, such a sample was accepted and then made every to_frame() and
    # every spill of its chunk fail: one bad timestamp poisoned the whole monitor.
    mon = Monitor(max_samples=2)
    with pytest.raises(MetricError, match="outside the years 1677-2262"):
        mon.record_metric("x", 1.0, "1", timestamp=stamp)
    for v in range(3):
        mon.record_metric("x", v, "1", timestamp=datetime(2262, 1, 1, tzinfo=UTC))
    assert values(mon) == [0.0, 1.0, 2.0]
    mon.clear()


def test_a_spill_that_failed_is_written_by_the_next_spill_that_works(tmp_path, monkeypatch):
    real_write = monitor_mod._write_spill_file
    calls = {"n": 0}

    def flaky(df: pl.DataFrame, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        real_write(df, path)

    monkeypatch.setattr(monitor_mod, "_write_spill_file", flaky)
    mon = Monitor(max_samples=4, spill_dir=tmp_path)
    for v in range(4):  # first spill fails: 4 samples stay in memory
        mon.record_metric("x", v, "1")
    assert mon._pending and not list(tmp_path.glob("*.parquet"))
    for v in range(4, 8):  # second spill works, and takes the failed chunk along
        mon.record_metric("x", v, "1")
    assert not mon._pending
    files = sorted(tmp_path.glob("*.parquet"))
    assert len(files) == 2
    assert pl.read_parquet(files[0]).get_column("value").to_list() == [0.0, 1.0, 2.0, 3.0]
    assert values(mon) == [float(v) for v in range(8)]


def test_a_failing_disk_costs_one_write_attempt_per_spill(tmp_path, monkeypatch):
    attempts: list[Path] = []

    def broken(df: pl.DataFrame, path: Path) -> None:
        attempts.append(path)
        raise OSError("disk full")

    monkeypatch.setattr(monitor_mod, "_write_spill_file", broken)
    mon = Monitor(max_samples=2, spill_dir=tmp_path)
    for v in range(20):
        mon.record_metric("x", v, "1")
    assert len(attempts) == 10  # not 1 + 2 + … + 10: old chunks are not retried blindly
    assert values(mon) == [float(v) for v in range(20)]


def test_tag_keys_seen_only_in_spilled_chunks_come_out_in_to_frame_and_flush(tmp_path):
    mon = Monitor(max_samples=3, spill_dir=tmp_path / "spill")
    mon.record_metric("x", 0, "1", tags={"early": "a"})
    mon.record_metric("x", 1, "1", tags={"early": "b", "both": "1"})
    mon.record_metric("x", 2, "1")  # fills the buffer: spilled with the only 'early' tags
    for v in range(3, 8):
        mon.record_metric("x", v, "1", tags={"both": "2"} if v == 7 else None)
    assert len(list((tmp_path / "spill").glob("*.parquet"))) == 2

    df = mon.to_frame()

    assert df.columns == ["name", "value", "unit", "timestamp", "early", "both"]
    assert df.get_column("early").to_list() == ["a", "b"] + [None] * 6
    assert df.get_column("both").to_list() == [None, "1"] + [None] * 5 + ["2"]
    out = tmp_path / "all.csv"
    assert mon.flush(out) == 8
    assert_frame_equal(read_metrics(out), df)


def test_flushing_repeatedly_while_threads_record_and_spill_loses_nothing(tmp_path):
    n_threads, per_thread = 4, 3000
    mon = Monitor(max_samples=64, spill_dir=tmp_path / "spill")

    def work(i: int) -> None:
        for j in range(per_thread):
            mon.record_metric("op", j, "1", tags={"thread": str(i)})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    flushed: list[pl.DataFrame] = []
    for k in itertools.count():
        finished = not any(t.is_alive() for t in threads)
        out = tmp_path / f"part-{k:04d}.parquet"
        mon.flush(out)  # while the threads record and spill, then once after them
        flushed.append(pl.read_parquet(out))
        if finished:
            break
    assert len(flushed) > 2  # some flushes did overlap the recording

    every = pl.concat([f for f in flushed if f.height], how="diagonal_relaxed")
    assert every.height == n_threads * per_thread
    assert len(mon) == 0
    per = every.group_by("thread").agg(pl.col("value"))
    for seq in per.get_column("value").to_list():
        assert seq == [float(j) for j in range(per_thread)]  # none lost, none twice, in order
    assert list((tmp_path / "spill").glob("*.parquet")) == []

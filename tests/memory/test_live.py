"""The live memory tools on real processes: this one and children started here."""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import polars as pl
import psutil
import pytest

from perflab.errors import ParameterError
from perflab.memory import GC_EVENTS, SAMPLES, GCTracker, MemorySampler, diff, snapshot, track
from perflab.memory.live import SERIES

MB = 1024 * 1024
CHILD_TIMEOUT_S = 20  # every child is killed by then, whatever happens


def _until(condition: object, timeout: float = 10.0) -> bool:
    """Poll ``condition()`` until true or ``timeout``; a bound, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    """A Python child holding 100 MB (touched) until it reads a line on stdin.

    It then leaves with ``os._exit``, so the blob is held until the very end instead
    of being freed by the interpreter's shutdown.
    """
    code = textwrap.dedent(
        """
        import os, sys
        blob = b"x" * 100_000_000
        print("ready", flush=True)
        sys.stdin.readline()
        os._exit(0)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait(CHILD_TIMEOUT_S)


def _series(df: pl.DataFrame, name: str) -> list[float]:
    return df.filter(pl.col("series") == name).get_column("value").to_list()


# -- MemorySampler ---------------------------------------------------------------


def test_sampler_sees_this_process_grow() -> None:
    sampler = MemorySampler(interval=0.05, full_interval=0.05)
    sampler.sample(full=True)  # before the allocation, whatever the thread does
    with sampler:
        block = np.ones(200 * MB // 8)  # written, so resident
        block[::4096] += 1.0
    df = sampler.to_frame()
    rss, uss = _series(df, "rss"), _series(df, "uss")
    assert rss[-1] - rss[0] >= 150 * MB
    assert uss[-1] - uss[0] >= 150 * MB
    assert df.get_column("pid").unique().to_list() == [os.getpid()]
    assert df.get_column("source").unique().to_list() == [psutil.Process().name()]
    assert df.get_column("timestamp").n_unique() >= 2
    assert not sampler.exited
    assert _series(df, "threads")[-1] >= 1
    assert _series(df, "open_files")[-1] >= 3  # stdin, stdout, stderr at least
    del block


def test_sampler_samples_a_child_by_pid(child: subprocess.Popen[str]) -> None:
    with MemorySampler(child.pid, interval=0.05) as sampler:
        assert _until(lambda: sampler.to_frame().get_column("timestamp").n_unique() >= 3)
    df = sampler.to_frame()
    assert sampler.pid == child.pid
    assert df.get_column("pid").unique().to_list() == [child.pid]
    assert df.get_column("source").unique().to_list() == [psutil.Process(child.pid).name()]
    assert min(_series(df, "rss")) >= 95 * MB  # the child's blob, not ours
    assert max(_series(df, "rss")) < psutil.Process().memory_info().rss + 200 * MB
    assert min(_series(df, "uss")) >= 95 * MB
    assert _series(df, "threads") == [1.0] * len(_series(df, "threads"))
    assert set(df.get_column("series")) == set(SERIES)  # Linux has every series
    assert not sampler.exited


@pytest.mark.parametrize("reaped", [False, True], ids=["zombie", "reaped"])
def test_child_exiting_mid_sampling_keeps_the_samples(
    child: subprocess.Popen[str], reaped: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="perflab.memory.live")
    sampler = MemorySampler(child.pid, interval=0.02, full_interval=None).start()
    assert _until(lambda: len(sampler) >= 3 * 6)
    assert child.stdin is not None
    child.stdin.write("exit\n")
    child.stdin.flush()
    if reaped:
        child.wait(CHILD_TIMEOUT_S)
    assert sampler.wait(timeout=CHILD_TIMEOUT_S)
    sampler.stop()  # no last sample of a dead process, no error
    assert sampler.exited
    assert not sampler.running
    assert any(
        f"process {child.pid}" in r.message and "exited" in r.message for r in caplog.records
    )
    df = sampler.to_frame()
    assert df.height >= 3 * 6
    assert min(_series(df, "rss")) >= 95 * MB  # all taken while the child was alive
    assert sampler.sample() is False


def test_a_pid_with_no_process_is_refused() -> None:
    pid = max(psutil.pids()) + 100_000
    assert not psutil.pid_exists(pid)
    with pytest.raises(ParameterError, match=f"no process with pid {pid}"):
        MemorySampler(pid)


def test_a_kernel_thread_is_refused() -> None:
    kthreadd = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "kthreadd"]
    if not kthreadd:
        pytest.skip("no kernel thread visible here (a container's own pid namespace)")
    with pytest.raises(ParameterError, match="no user address space"):
        MemorySampler(kthreadd[0].pid)


@pytest.mark.parametrize(
    "kwargs",
    [{"interval": 0}, {"interval": math.nan}, {"full_interval": -1}, {"max_samples": 0}],
)
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ParameterError, match=name):
        MemorySampler(**kwargs)  # type: ignore[arg-type]


def test_the_buffer_keeps_only_the_newest_rows() -> None:
    sampler = MemorySampler(full_interval=None, system=False, max_samples=10)
    assert sampler.series == ("rss", "vms", "open_files", "threads")  # 4 rows a sample
    for _ in range(2):
        sampler.sample()
    third = datetime.now(UTC)
    for _ in range(3):
        sampler.sample()
    df = sampler.to_frame()
    assert (len(sampler), sampler.dropped, df.height) == (10, 10, 10)
    # rows 10..19 of 20: the end of the third sample, then the fourth and fifth whole
    assert df.get_column("series").to_list() == ["open_files", "threads"] + 2 * [
        "rss",
        "vms",
        "open_files",
        "threads",
    ]
    assert df.get_column("timestamp").min() >= third
    assert df.get_column("timestamp").is_sorted()


def test_to_frame_is_a_samples_frame() -> None:
    sampler = MemorySampler(interval=0.05)
    assert sampler.to_frame().height == 0
    assert dict(sampler.to_frame().schema) == dict(SAMPLES.validate(sampler.to_frame()).schema)
    sampler.sample(full=True)
    df = sampler.to_frame()
    assert df.equals(SAMPLES.validate(df))
    assert df.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert (df.schema["pid"], df.schema["source"]) == (pl.Int64, pl.String)
    assert set(df.get_column("series")) == set(sampler.series) == set(SERIES)
    assert df.get_column("timestamp").n_unique() == 1  # one sample, one time
    stamp = df.get_column("timestamp").item(0)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 3600  # UTC, not local time
    assert _series(df, "system_available")[0] <= psutil.virtual_memory().total


_DENIED_CHILD = textwrap.dedent(
    """
    import json, os, sys, warnings
    from perflab.memory.live import MemorySampler
    MemorySampler(system=False).sample()  # warm the imports the sampler needs
    os.setgid(65534)
    os.setuid(65534)  # nobody, from here on
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler = MemorySampler(int(sys.argv[1]), full_interval=1.0, system=False)
    sampler.sample(full=True)
    print(json.dumps({
        "uid": os.getuid(),
        "denied": sampler.denied,
        "series": sampler.to_frame().get_column("series").to_list(),
        "warnings": [str(w.message) for w in caught],
    }))
    """
)


def test_fields_another_user_may_not_read_are_left_out_with_a_warning() -> None:
    """uss/pss/swap and open_files of a root process are denied to nobody; rss is not."""
    if os.geteuid() == 0:
        # A realistic denial: a child that drops to 'nobody' samples this root process.
        out = subprocess.run(
            [sys.executable, "-c", _DENIED_CHILD, str(os.getpid())],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
        if out.returncode != 0 and "Operation not permitted" in out.stderr:
            pytest.skip("running as root without the right to change user")
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
        assert got["uid"] == 65534
        denied, series, msgs = got["denied"], got["series"], got["warnings"]
    else:
        owner = psutil.Process(1).uids().real
        if owner == os.getuid():
            pytest.skip("pid 1 belongs to this user: nothing is denied")
        with pytest.warns(RuntimeWarning) as caught:
            sampler = MemorySampler(1, full_interval=1.0, system=False)
        sampler.sample(full=True)
        denied, series = list(sampler.denied), sampler.to_frame().get_column("series").to_list()
        msgs = [str(w.message) for w in caught]
    assert {"uss", "pss", "swap", "open_files"} <= set(denied)
    assert series == ["rss", "vms", "threads"]
    assert len(msgs) == 1 and "access denied to" in msgs[0] and "uss" in msgs[0]


# -- GCTracker -------------------------------------------------------------------


def _make_cycles(n: int) -> None:
    for _ in range(n):
        a: list[object] = []
        b: list[object] = [a]
        a.append(b)


def test_gc_tracker_counts_what_gc_collect_collects() -> None:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()  # no automatic collection frees the cycles before gc.collect() does
    try:
        with GCTracker() as tracker:
            _make_cycles(500)
            freed = gc.collect()
    finally:
        if enabled:
            gc.enable()
    df = tracker.to_frame()
    assert df.equals(GC_EVENTS.validate(df))
    last = df.filter(pl.col("kind") == "gen2").row(-1, named=True)
    assert last["collected"] + last["uncollectable"] == freed
    assert freed >= 1000  # two lists per cycle
    assert set(df.get_column("kind")) <= {"gen0", "gen1", "gen2"}
    assert df.get_column("pause_ms").min() >= 0
    assert df.get_column("elapsed_s").is_sorted()
    for col in ("before_bytes", "after_bytes", "committed_bytes", "reason", "mutator_util"):
        assert df.get_column(col).null_count() == df.height
    assert df.get_column("pid").unique().to_list() == [os.getpid()]


def test_gc_tracker_stops_listening_even_after_an_error() -> None:
    tracker = GCTracker()
    with pytest.raises(ZeroDivisionError), tracker:
        gc.collect()
        1 / 0  # noqa: B018
    seen = len(tracker)
    assert seen >= 1 and not tracker.running
    gc.collect()
    assert len(tracker) == seen


def test_gc_tracker_keeps_only_the_newest_events() -> None:
    with GCTracker(max_events=3) as tracker:
        for _ in range(6):
            gc.collect()
    df = tracker.to_frame()
    assert df.height == 3 and tracker.dropped >= 3
    assert df.get_column("kind").to_list()[-1] == "gen2"
    assert df.get_column("elapsed_s").is_sorted()


# -- tracemalloc -----------------------------------------------------------------


@pytest.fixture
def untraced() -> Iterator[None]:
    """Tracing off before and after the test."""
    was = tracemalloc.is_tracing()
    tracemalloc.stop()
    yield
    tracemalloc.stop()
    if was:
        tracemalloc.start()


def test_diff_finds_this_allocation_first(untraced: None) -> None:
    before = snapshot()
    line = sys._getframe().f_lineno + 1
    blob = [bytes(1000) for _ in range(5000)]
    after = snapshot()
    top = diff(before, after).row(0, named=True)
    assert (top["file"], top["line"]) == (__file__, line)
    assert top["size_diff_bytes"] >= 5000 * 1000
    assert top["count_diff"] >= 5000
    assert top["size_bytes"] >= top["size_diff_bytes"]
    assert tracemalloc.is_tracing()  # snapshot() leaves it on
    files = diff(before, after, key="filename")
    assert not files.get_column("file").str.contains("tracemalloc.py|importlib").any()
    assert files.get_column("line").null_count() == files.height
    assert diff(before, after, top=2).height == 2
    del blob


def test_track_diffs_the_block_and_stops_tracing(untraced: None) -> None:
    def make() -> list[bytes]:
        return [bytes(1000) for _ in range(3000)]

    with track(nframes=2) as tracked:
        blob = make()
    assert not tracemalloc.is_tracing()
    assert tracked.diff is not None
    top = tracked.diff.row(0, named=True)
    assert top["file"] == __file__
    assert top["size_diff_bytes"] >= 3000 * 1000
    frames = top["traceback"].splitlines()
    assert len(frames) == 2 and all(f.startswith(__file__) for f in frames)
    sizes = tracked.diff.get_column("size_diff_bytes")
    assert sizes.is_sorted(descending=True)
    del blob


def test_diff_refuses_what_is_not_a_snapshot(untraced: None) -> None:
    a = snapshot()
    with pytest.raises(ParameterError, match=r"tracemalloc\.Snapshot"):
        diff(a, "later")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="key"):
        diff(a, a, key="function")  # type: ignore[arg-type]

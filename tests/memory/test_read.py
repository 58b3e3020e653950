"""Tests for perflab.memory.read: --trace-gc(-nvp), process.memoryUsage() and tables.

Real captures (Node 20, data/sample/memory, see data/README.md) and, for other Node
versions, lines in tests/memory/data written to V8's format strings of those versions.
"""

from __future__ import annotations

import gzip
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from perflab.errors import InputError, InputWarning
from perflab.memory.read import read_memory_usage, read_node, read_samples, read_trace_gc
from perflab.memory.schema import GC_EVENTS, SAMPLES

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "memory"
DATA = Path(__file__).parent / "data"

NODE20 = (
    "[5680:0x3947ac00]       18 ms: Scavenge 3.9 (4.0) -> 3.7 (5.0) MB, 1.26 / 0.00 ms  "
    "(average mu = 1.000, current mu = 1.000) allocation failure; \n"
    "[5680:0x3947ac00]      159 ms: Mark-Compact 55.3 (85.6) -> 3.2 (36.2) MB, 4.23 / 0.00 ms  "
    "(+ 0.1 ms in 1 steps since start of marking, biggest step 0.1 ms, walltime since start "
    "of marking 7 ms) (average mu = 0.713, current mu = 0.700) finalize incremental marking "
    "via stack guard; GC in old space requested\n"
)
MB = 1 << 20


def quiet(fn, *args, **kw):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


# ---------------------------------------------------------------------------------------
# --trace-gc


def test_node20_lines_and_program_output(tmp_path: Path) -> None:
    p = tmp_path / "gc.log"
    p.write_text("listening on :3000\n" + NODE20 + '{"time": 1}\n\ndone\n')
    df = quiet(read_trace_gc, p)
    GC_EVENTS.validate(df)
    assert df["kind"].to_list() == ["scavenge", "mark-compact"]
    assert df["elapsed_s"].to_list() == pytest.approx([0.018, 0.159])
    assert df["pause_ms"].to_list() == [1.26, 4.23]
    assert df["before_bytes"][1] == 55.3 * MB
    assert df["after_bytes"][1] == 3.2 * MB
    assert df["committed_bytes"][1] == 36.2 * MB
    assert df["reason"].to_list() == [
        "allocation failure",
        "finalize incremental marking via stack guard",
    ]
    assert df["mutator_util"].to_list() == [1.0, 0.7]
    assert df["pid"].to_list() == [5680, 5680]
    assert df["timestamp"].null_count() == 2


def test_start_gives_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "gc.log"
    p.write_text(NODE20)
    df = read_trace_gc(p, start=datetime(2026, 1, 1, tzinfo=UTC))
    assert df["timestamp"][1] == datetime(2026, 1, 1, 0, 0, 0, 159000, tzinfo=UTC)


def test_real_captures() -> None:
    leak = quiet(read_trace_gc, SAMPLE / "leak.trace-gc.log.gz")  # --gc-global: all full
    steady = quiet(read_trace_gc, SAMPLE / "steady.trace-gc.log.gz")
    default = quiet(read_trace_gc, SAMPLE / "steady.default-gc.trace-gc.log.gz")
    for df in (leak, steady, default):
        assert df.height > 20
        assert df["elapsed_s"].is_sorted()
    assert set(leak["kind"]) == set(steady["kind"]) == {"mark-compact"}
    assert set(default["kind"]) == {"scavenge", "mark-compact"}
    troughs = leak.filter(pl.col("kind") == "mark-compact")["after_bytes"]
    assert troughs[-1] > 3 * troughs[0]  # the leak: post-GC heap grows
    flat = steady.filter(pl.col("kind") == "mark-compact")["after_bytes"]
    assert flat.max() < 2 * flat.min()


def test_real_nvp_capture() -> None:
    df = quiet(read_trace_gc, SAMPLE / "steady.trace-gc-nvp.log.gz")
    assert df.height > 5
    assert df["kind"][0] == "scavenge"
    assert df["before_bytes"].null_count() == 0 and df["after_bytes"].null_count() == 0
    assert df["mutator_util"].null_count() == df.height


def test_node12_and_node6_shapes() -> None:
    df = quiet(read_trace_gc, DATA / "node12.trace-gc.log")
    assert df["kind"].to_list() == ["scavenge", "mark-compact", "mark-compact (reduce)"]
    assert df["mutator_util"].to_list() == [1.0, 0.874, 0.99]
    assert df["reason"][0] == "allocation failure"
    old = quiet(read_trace_gc, DATA / "node6.trace-gc.log")
    assert old["kind"].to_list() == ["scavenge", "mark-compact", "scavenge"]
    assert old["reason"].to_list() == [
        "allocation failure",
        "finalize incremental marking via stack guard",
        "Runtime::PerformGC",
    ]
    assert old["pid"].to_list() == [9999, 9999, 1234]
    assert old["mutator_util"].null_count() == 3


def test_newer_v8_shapes() -> None:
    df = quiet(read_trace_gc, DATA / "v8-13.trace-gc.log")
    assert df["kind"].to_list() == [
        "scavenge",
        "mark-compact (reduce)",
        "minor-ms",
        "mark-compact (reduce)",
    ]
    assert df["pause_ms"].to_list() == [1.23, 6.5, 0.7, 2.5]
    json_row = df.row(3, named=True)
    assert json_row["after_bytes"] == 12582912 and json_row["committed_bytes"] == 20971520
    assert json_row["reason"] == "idle task"


def test_nvp_name_value(tmp_path: Path) -> None:
    p = tmp_path / "nvp.log"
    p.write_text(
        "[1:0x1]  14 ms: pause=1.0 mutator=10.5 gc=s reduce_memory=0 total_size_before=4074328 "
        "total_size_after=3856408 holes_size_before=7248\n"
        "[1:0x1]  90 ms: pause=5.6 mutator=2.3 gc=mc reduce_memory=1 total_size_before=58138016 "
        "total_size_after=3711176 allocated=1\n"
    )
    df = quiet(read_trace_gc, p)
    assert df["kind"].to_list() == ["scavenge", "mark-compact (reduce)"]
    assert df["before_bytes"].to_list() == [4074328.0, 58138016.0]


@pytest.mark.parametrize(
    "bad",
    [
        "[5680:0x3947ac00]       45 ms: Scavenge 2.3 (3.0) -> 1.9 (4.0) MB, 0.8",
        "[5680:0x3947ac00]       45 ms: Scavenge 2.3 (3.0) -> 1.9 (4.0) MB, 0.85 / 0.00 ms"
        "  (average mu = 1.0",
        "[5680:0x3947ac00]       4",
        "[1:0x1]  14 ms: pause=1.0 mutator=10.5 gc=s reduce_memory=0 total_size_bef",
    ],
)
def test_cut_line_is_an_error_with_file_and_line(tmp_path: Path, bad: str) -> None:
    p = tmp_path / "gc.log"
    p.write_text(NODE20 + bad + "\n" + NODE20)
    with pytest.raises(InputError) as exc:
        read_trace_gc(p)
    assert exc.value.line == 3 and exc.value.source == str(p)
    with pytest.warns(InputWarning, match="skipped 1"):
        df = read_trace_gc(p, errors="skip")
    assert df.height == 4


def test_truncated_last_line(tmp_path: Path) -> None:
    p = tmp_path / "gc.log"
    p.write_text(NODE20 + NODE20.split("\n")[0][:125])
    with pytest.raises(InputError, match=":3:"):
        read_trace_gc(p)


def test_oom_ring_buffer_is_not_read_twice(tmp_path: Path) -> None:
    p = tmp_path / "gc.log"
    ring = NODE20.split("\n")[1][:120]
    p.write_text(NODE20 + "\n<--- Last few GCs --->\n\n" + ring + "\n\n<--- JS stacktrace --->\n")
    assert quiet(read_trace_gc, p).height == 2


def test_gzip_and_empty(tmp_path: Path) -> None:
    p = tmp_path / "gc.log.gz"
    p.write_bytes(gzip.compress(NODE20.encode()))
    assert read_trace_gc(p).height == 2
    e = tmp_path / "empty.log"
    e.write_text("")
    assert quiet(read_trace_gc, e).height == 0
    o = tmp_path / "other.log"
    o.write_text("hello\n")
    with pytest.warns(InputWarning, match="no GC events"):
        assert read_trace_gc(o).height == 0


def test_cut_gzip(tmp_path: Path) -> None:
    p = tmp_path / "gc.log.gz"
    p.write_bytes(gzip.compress((NODE20 * 50).encode())[:-20])
    with pytest.raises(InputError, match="truncated"):
        read_trace_gc(p)


# ---------------------------------------------------------------------------------------
# process.memoryUsage()


def test_memory_usage_real() -> None:
    df = quiet(read_memory_usage, SAMPLE / "leak.memory.jsonl.gz")
    SAMPLES.validate(df)
    assert set(df["series"]) == {"rss", "heap_total", "heap_used", "external", "array_buffers"}
    heap = df.filter(pl.col("series") == "heap_used")
    assert heap.height > 100 and heap["timestamp"].is_sorted()


def test_memory_usage_iso_and_ts(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text('{"ts": "2024-05-01T10:00:00Z", "rss": 100, "heapUsed": 5}\n')
    df = read_memory_usage(p)
    assert df.rows() == [
        (datetime(2024, 5, 1, 10, tzinfo=UTC), "heap_used", 5.0),
        (datetime(2024, 5, 1, 10, tzinfo=UTC), "rss", 100.0),
    ]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"time": 1700000000000, "rss": 1', "not valid JSON"),
        ('{"time": "yesterday", "rss": 1}', "unreadable time"),
        ('{"time": 1700000000000, "rss": "lots"}', "not a number"),
    ],
)
def test_memory_usage_bad_lines(tmp_path: Path, line: str, why: str) -> None:
    p = tmp_path / "m.jsonl"
    good = '{"time": 1700000000000, "rss": 1, "heapUsed": 2}\n'
    p.write_text(good + line + "\n" + good)
    with pytest.raises(InputError, match=why) as exc:
        read_memory_usage(p)
    assert exc.value.line == 2
    with pytest.warns(InputWarning):
        assert read_memory_usage(p, errors="skip").height == 4


def test_memory_usage_gzip_and_empty(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"time": 1700000000000, "rss": 1}\n'))
    assert read_memory_usage(p).height == 1
    e = tmp_path / "e.jsonl"
    e.write_text("")
    assert quiet(read_memory_usage, e).height == 0


# ---------------------------------------------------------------------------------------
# tables


def test_samples_wide_and_long(tmp_path: Path) -> None:
    wide = tmp_path / "w.csv"
    wide.write_text("time,rss,heap_used\n2024-05-01T10:00:00Z,5e7,\n2024-05-01T10:00:01Z,6e7,9e6\n")
    df = read_samples(wide)
    assert df.height == 3 and set(df["series"]) == {"rss", "heap_used"}
    long = tmp_path / "l.parquet"
    pl.DataFrame(
        {
            "timestamp": [datetime(2024, 5, 1, tzinfo=UTC)],
            "series": ["rss"],
            "value": [1.0],
            "pid": [7],
        }
    ).write_parquet(long)
    out = read_samples(long)
    assert out.columns == ["timestamp", "series", "value", "pid"] and out["pid"][0] == 7


def test_samples_bad_row_and_gzip(tmp_path: Path) -> None:
    p = tmp_path / "l.csv.gz"
    p.write_bytes(gzip.compress(b"timestamp,series,value\n2024-05-01,rss,1\n2024-05-01,rss,x\n"))
    with pytest.raises(InputError) as exc:
        read_samples(p)
    assert exc.value.line == 3
    with pytest.warns(InputWarning):
        assert read_samples(p, errors="skip").height == 1


def test_samples_empty_and_no_time(tmp_path: Path) -> None:
    e = tmp_path / "e.csv"
    e.write_text("")
    assert quiet(read_samples, e).height == 0
    h = tmp_path / "h.csv"
    h.write_text("timestamp,rss\n")
    with pytest.warns(InputWarning):
        assert read_samples(h).height == 0
    n = tmp_path / "n.csv"
    n.write_text("when,rss\n1,2\n")
    with pytest.raises(InputError, match="no time column"):
        read_samples(n)


def test_read_node_lines_a_process_up_on_one_clock() -> None:
    root = Path(__file__).resolve().parents[2] / "data" / "sample" / "memory"
    usage, trace = root / "leak.memory.jsonl.gz", root / "leak.trace-gc.log.gz"
    samples, events = read_node(usage, trace)
    alone = read_trace_gc(trace)
    assert samples["source"].unique().to_list() == events["source"].unique().to_list() == ["leak"]
    assert events.height == alone.height and events["timestamp"].null_count() == 0
    # each collection sits at the first sample's time plus V8's own clock
    first = samples["timestamp"].min()
    offset = (events["timestamp"] - first).dt.total_microseconds() / 1e6
    assert (offset - alone["elapsed_s"]).abs().max() < 1e-3
    assert events["timestamp"].max() <= samples["timestamp"].max() + timedelta(seconds=5)
    only, none = read_node(usage, source="api-1")
    assert only["source"].unique().to_list() == ["api-1"] and none.height == 0

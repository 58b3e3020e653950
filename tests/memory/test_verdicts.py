"""Leak verdicts on real processes: Node.js and Python, one leaking and one steady each.

The processes run for seconds, so the verdicts are asked with ``min_span_hours=0`` (a
real service is judged over a quarter of an hour or more); the warm-up is left out
as usual. In seconds, V8 is still growing its heap's capacity (``heap_total``, and
RSS with it) whether it leaks or not, so the Node.js verdicts that must differ are
those of ``heap_used``: the live objects.

V8 runs a Mark-Compact every few seconds at this size, too few in 15 s for a verdict
(and rightly: between two of them the old space fills with promoted garbage, leak or
not, so no shorter window shows a floor). ``--gc-global`` makes every collection a
full one, compressing the hours a service would be watched into seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from perflab.memory import (
    MemorySampler,
    gc_pauses,
    leak_check,
    read_memory_usage,
    read_trace_gc,
)

SCRIPTS = Path(__file__).resolve().parents[2] / "data" / "make" / "memory"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="needs node (.ci/setup-services installs nodejs)")
def test_a_leaking_node_process_is_flagged_and_a_steady_one_is_not(tmp_path: Path) -> None:
    runs = {}
    for name in ("leak", "steady"):  # both at once: the test takes one run's time
        samples, trace = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.log"
        with trace.open("wb") as out:
            proc = subprocess.Popen(
                [
                    NODE,
                    "--gc-global",
                    "--trace-gc",
                    str(SCRIPTS / f"{name}.js"),
                    str(samples),
                    "15",
                ],
                stdout=out,
            )
        runs[name] = (proc, samples, trace)
    verdicts, events = {}, {}
    for name, (proc, samples, trace) in runs.items():
        assert proc.wait(timeout=60) == 0
        usage = read_memory_usage(samples)
        events[name] = read_trace_gc(trace, start=usage["timestamp"].min())
        verdicts[name] = dict(
            leak_check(usage, gc_events=events[name], min_span_hours=0)
            .select("series", "verdict")
            .rows()
        )
    assert verdicts["leak"]["heap_used"] == "leak", verdicts["leak"]
    assert verdicts["steady"]["heap_used"] != "leak", verdicts["steady"]
    assert verdicts["steady"]["external"] != "leak"
    for name in runs:  # V8 collected all along, and its pauses add up
        pauses = gc_pauses(events[name]).filter(pl.col("kind") == "all").row(0, named=True)
        assert pauses["count"] == events[name].height > 10
        assert pauses["total_ms"] == pytest.approx(events[name]["pause_ms"].sum())


CHILD = textwrap.dedent(
    """
    import sys, time
    leak = sys.argv[1] == "leak"
    kept, end = [], time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        batch = [bytes(1024) for _ in range(500)]  # 0.5 MB a tick, garbage or kept
        if leak:
            kept.append(batch)
        time.sleep(0.01)
    """
)


def test_a_leaking_python_process_sampled_by_pid_is_flagged(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    children = {
        name: subprocess.Popen([sys.executable, str(script), name, "6"])
        for name in ("leak", "steady")
    }
    samplers = {
        name: MemorySampler(proc.pid, interval=0.05, full_interval=None, system=False).start()
        for name, proc in children.items()
    }
    for name, proc in children.items():
        proc.wait(timeout=60)
        samplers[name].wait(10)  # the sampler ends with the process
    verdicts = {
        name: dict(
            leak_check(s.to_frame(), min_span_hours=0, series=["rss"])
            .select("series", "verdict")
            .rows()
        )
        for name, s in samplers.items()
    }
    assert verdicts["leak"]["rss"] == "leak"
    assert verdicts["steady"]["rss"] != "leak"

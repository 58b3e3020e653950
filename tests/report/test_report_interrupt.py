"""An interrupted run never leaves a directory that looks like a finished run.

Three ways to stop a run: an exception while it finishes (the notebooks already ran),
SIGKILL of the ``perflab run`` process, and SIGTERM (which also stops the workers and
their kernels).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import perflab.report.index


def _visible_entries(out: Path) -> list[str]:
    """What a user listing the reports directory would take for runs (or latest)."""
    return sorted(p.name for p in out.iterdir() if not p.name.startswith("."))


def _partials(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.name.endswith(".partial"))


def test_exception_while_finishing_leaves_only_the_partial_directory(
    tmp_path: Path, fixture_notebooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perflab.report import run

    def broken_index(*args: object, **kwargs: object) -> str:
        raise RuntimeError("disk full while writing index.html")

    monkeypatch.setattr(perflab.report.index, "render_index", broken_index)
    out = tmp_path / "reports"
    with pytest.raises(RuntimeError, match="disk full"):
        run(fixture_notebooks, out, only=["raises"], jobs=1, timeout=120, progress=False)
    assert _visible_entries(out) == []
    (partial,) = _partials(out)
    assert (partial / "raises.html").is_file()  # the work done so far is kept for a look
    assert not (partial / "index.html").exists()


def _start_run(notebooks: Path, out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "perflab.cli", "run", "--notebooks", str(notebooks)]
    command += ["--only", "sleeps", "--out", str(out), "--timeout", "600", "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_kernel(proc: subprocess.Popen[bytes], out: Path) -> list[psutil.Process]:
    """Wait until the notebook is executing; return the run's process tree."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        tree = psutil.Process(proc.pid).children(recursive=True)
        kernels = [p for p in tree if "ipykernel" in " ".join(_cmdline(p))]
        executed = [p / "sleeps.ipynb" for p in _partials(out)] if out.exists() else []
        if kernels and any(f.exists() and "sleeping" in f.read_text() for f in executed):
            return tree
        time.sleep(0.2)
    raise AssertionError("the notebook never started")


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def _kill(processes: list[psutil.Process]) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(processes, timeout=10)


def _stop_mid_run(
    notebooks: Path, out: Path, signum: int
) -> tuple[int | None, bytes, list[psutil.Process]]:
    """Start a run, send it ``signum`` while its notebook executes, wait for it to end.

    Returns the exit status, what it wrote to stderr, and which of its processes
    (workers, kernel) were still alive 30 s later; those are then killed by pid.
    """
    proc = _start_run(notebooks, out)
    tree: list[psutil.Process] = []
    try:
        tree = _wait_for_kernel(proc, out)
        os.kill(proc.pid, signum)
        _, stderr = proc.communicate(timeout=60)
        _gone, alive = psutil.wait_procs(tree, timeout=30)
    finally:
        _kill([psutil.Process(proc.pid)] if proc.poll() is None else [])
        _kill(tree)
    return proc.returncode, stderr, alive


def test_sigkill_mid_run_leaves_no_complete_run_directory_and_no_orphans(
    tmp_path: Path, fixture_notebooks: Path
) -> None:
    out = tmp_path / "reports"
    _code, _stderr, alive = _stop_mid_run(fixture_notebooks, out, signal.SIGKILL)
    # the notebook would sleep for an hour: the orphaned worker notices that its run
    # is gone and stops the kernel and itself
    assert alive == []
    assert _visible_entries(out) == []
    assert len(_partials(out)) == 1


def test_sigterm_stops_workers_and_kernels_and_exits_130(
    tmp_path: Path, fixture_notebooks: Path
) -> None:
    out = tmp_path / "reports"
    code, stderr, alive = _stop_mid_run(fixture_notebooks, out, signal.SIGTERM)
    assert code == 130
    assert b"interrupted" in stderr
    assert alive == []  # no worker or kernel outlives the run
    assert _visible_entries(out) == []

"""``perflab run`` on a Dask cluster gives the run directory a local run gives.

The notebooks are written here, tiny: ``good`` reads a CSV relative to its folder,
records figures and publishes frames; ``raises`` fails; ``sleeps`` outlasts a short
timeout; ``dies`` kills the Dask worker it runs on; ``overview`` is marked
``"perflab": {"after": "all"}`` and records how much of the run it saw in the
provisional manifest — it is first in file order, so running last is the runner's
doing; ``good`` also publishes one finding about its ``subject``; ``history`` (after all
as well) records what an overview finds around the run: the runs in the history, the
earlier runs it compares with and the findings new and gone since. Notebooks and
reports live in paths with spaces.

The cluster is a ``distributed.LocalCluster`` of two worker processes started here,
reached through its address as a remote one would be; its scheduler gives up on a
task at the first worker death (``allowed-failures: 0``) so that ``dies`` is not
retried on the other worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed
import nbformat
import polars as pl
import psutil
import pytest
from polars.testing import assert_frame_equal

from perflab.report import run
from perflab.report.runner import RunResult

KERNEL = {"name": "perflab", "display_name": "perflab", "language": "python"}

GOOD = """\
import polars as pl
from perflab import report

latency = pl.read_csv(latency_csv)
print(f"p95 = {latency['duration_ms'].quantile(0.95, 'nearest')} ms")
report.figure("p95_ms", latency["duration_ms"].quantile(0.95, "nearest"), "ms", better="lower")
report.figure("rows", latency.height, better=None)
report.publish("latency", latency.with_columns(slow=pl.col("duration_ms") > 100))
report.publish("recommendations", pl.DataFrame({
    "domain": ["demo"], "rule": ["demo.rule"], "severity": ["high"], "subject": [subject],
    "finding": [f"finding about {subject}"], "action": ["act"], "evidence": ["-"],
    "impact": [1.0], "impact_unit": ["ms"], "score": [1.0],
}))
"""

OVERVIEW = """\
import json, os
from pathlib import Path
from perflab import report

here = Path(os.environ["PERFLAB_FIGURES"]).parent
seen = json.loads((here / "manifest.json").read_text())
assert seen["partial"] is True
report.figure("notebooks_seen", len(seen["notebooks"]), better=None)
report.figure("ok_seen", sum(nb["status"] == "ok" for nb in seen["notebooks"]), better=None)
report.figure("frames_seen", len(list(here.glob("frames/*/*.parquet"))), better=None)
print("saw", sorted(nb["name"] for nb in seen["notebooks"]))
"""

HISTORY = """\
import os
from pathlib import Path
from perflab import report
from perflab.report import overview
from perflab.report.store import read_history

here = Path(os.environ["PERFLAB_FIGURES"]).parent
history = read_history(here.parent)
report.figure("runs_in_history", history.get_column("run_id").n_unique(), better=None)
ov = overview.load()
changed = overview.what_changed(ov)
report.figure("previous_runs", len(ov.previous_runs), better=None)
report.figure("new", changed["new"].height, better=None)
report.figure("gone", changed["gone"].height, better=None)
report.figure("not_compared", changed["not_compared"].height, better=None)
"""

DIES = """\
import psutil
psutil.Process().parent().parent().kill()  # kernel -> notebook process -> Dask worker
"""


def _write(path: Path, params: str, code: str, *, after: bool = False) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = KERNEL
    if after:
        nb.metadata["perflab"] = {"after": "all"}
    nb.cells = [
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(code),
    ]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cluster") / "note books"
    (root / "data").mkdir(parents=True)
    rows = "\n".join(f"{t},{(t * 37) % 200 + 5}" for t in range(50))
    (root / "data" / "latency.csv").write_text("t,duration_ms\n" + rows + "\n")
    _write(root / "00-overview.ipynb", "", OVERVIEW, after=True)
    _write(root / "01-good.ipynb", 'latency_csv = "data/latency.csv"\nsubject = "a"', GOOD)
    _write(root / "02-raises.ipynb", "x = 1", 'raise RuntimeError("boom <b>")')
    _write(root / "03-sleeps.ipynb", "seconds = 3600", "import time\ntime.sleep(seconds)")
    _write(root / "04-dies.ipynb", "", DIES)
    _write(root / "06-history.ipynb", "", HISTORY, after=True)
    return root


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """The shared two-worker cluster, but a task whose worker dies is not retried."""
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as running,
    ):
        yield running


def _files(result: RunResult) -> list[str]:
    return sorted(p.relative_to(result.path).as_posix() for p in result.path.rglob("*"))


def _leftovers(marker: str) -> list[str]:
    """Processes (kernels) still running whose PERFLAB_FIGURES contains ``marker``."""
    left = []
    for proc in psutil.process_iter():
        try:
            if marker in proc.environ().get("PERFLAB_FIGURES", ""):
                left.append(" ".join(proc.cmdline()))
        except psutil.Error:
            continue
    return left


def test_a_cluster_run_gives_the_run_a_local_run_gives(
    notebooks: Path, cluster: Any, tmp_path: Path
) -> None:
    import shutil

    # a first run, then the same second run on the cluster and locally, each into a
    # copy of the reports directory holding the first: the after-all notebooks of
    # the second run see the same run so far, history and earlier run either way
    out, twin = tmp_path / "re ports", tmp_path / "twin"
    only = ["overview", "good", "raises", "history"]
    first = run(notebooks, out, only=["good"], jobs=1, timeout=300, progress=False)
    shutil.copytree(out, twin, symlinks=True)
    second = {"good": {"subject": "b"}}
    remote = run(
        notebooks,
        out,
        only=only,
        parameters=second,
        cluster=cluster.scheduler_address,
        timeout=300,
        progress=False,
    )
    local = run(notebooks, twin, only=only, parameters=second, jobs=2, timeout=300, progress=False)

    def summary(result: RunResult) -> dict[str, Any]:
        return {
            nb["name"]: (nb["status"], nb["figures"], nb["html"], nb["ipynb"], nb["source"])
            for nb in result.manifest["notebooks"]
        }

    def seen(result: RunResult, name: str) -> dict[str, float]:
        (nb,) = [nb for nb in result.manifest["notebooks"] if nb["name"] == name]
        assert nb["status"] == "ok", nb["error"]
        return {f["name"]: f["value"] for f in nb["figures"]}

    assert summary(remote) == summary(local)
    assert [nb["name"] for nb in remote.manifest["notebooks"]] == only  # file order kept
    statuses = {nb["name"]: nb["status"] for nb in remote.manifest["notebooks"]}
    assert statuses == {"overview": "ok", "good": "ok", "raises": "failed", "history": "ok"}
    # the overview ran after the two others and saw them, and good's frames
    assert seen(remote, "overview") == {"notebooks_seen": 2.0, "ok_seen": 1.0, "frames_seen": 2.0}
    # the history and the first run's manifest and findings ("a" gone, "b" new)
    assert seen(remote, "history") == {
        "runs_in_history": 1.0,
        "previous_runs": 1.0,  # good ran in the first run
        "new": 1.0,
        "gone": 1.0,
        "not_compared": 1.0,  # raises: its first run
    }
    errors = {nb["name"]: nb["error"] for nb in remote.manifest["notebooks"]}
    assert (
        errors["raises"]
        == {nb["name"]: nb["error"] for nb in local.manifest["notebooks"]}["raises"]
    )
    assert errors["raises"].startswith("RuntimeError: boom <b>")

    # the same files: pages, executed notebooks, published frames, manifest, index
    assert _files(remote) == _files(local)
    assert "frames/good/latency.parquet" in _files(remote)
    assert "manifest.json" in _files(remote) and "index.html" in _files(remote)
    assert_frame_equal(
        pl.read_parquet(remote.path / "frames/good/latency.parquet"),
        pl.read_parquet(local.path / "frames/good/latency.parquet"),
    )
    expected = pl.read_csv(notebooks / "data/latency.csv")
    assert pl.read_parquet(remote.path / "frames/good/latency.parquet").height == expected.height
    page = (remote.path / "good.html").read_text(encoding="utf-8")
    p95 = expected["duration_ms"].quantile(0.95, "nearest")
    assert f"p95 = {p95} ms" in page
    assert "boom &lt;b&gt;" in (remote.path / "raises.html").read_text(encoding="utf-8")
    executed = nbformat.read(remote.path / "overview.ipynb", as_version=4)
    assert "saw ['good', 'raises']" in executed.cells[-1].outputs[0]["text"]

    # the final manifest is not partial; the history and `latest` follow the cluster run
    on_disk = json.loads((remote.path / "manifest.json").read_text())
    assert "partial" not in on_disk and on_disk["run_id"] == remote.run_id
    assert (out / "latest").resolve() == remote.path.resolve()
    from perflab.report import history

    runs = history(out)
    assert runs.get_column("run_id").unique(maintain_order=True).to_list() == [
        first.run_id,
        remote.run_id,
    ]
    p95s = runs.filter(pl.col("figure") == "p95_ms")
    assert p95s.get_column("run_id").to_list() == [first.run_id, remote.run_id]
    assert p95s.get_column("value").to_list() == [p95, p95]
    assert not list(out.glob(".*.partial"))


def test_a_notebook_over_its_time_on_a_worker_is_stopped_as_locally(
    notebooks: Path, cluster: Any, tmp_path: Path
) -> None:
    result = run(
        notebooks,
        tmp_path,
        only=["sleeps"],
        cluster=cluster.scheduler_address,
        timeout=3,
        progress=False,
    )
    (entry,) = result.manifest["notebooks"]
    assert entry["status"] == "timeout"
    assert entry["error"].startswith("TimeoutError: notebook did not finish within 3 s")
    assert (result.path / "sleeps.html").is_file() and (result.path / "sleeps.ipynb").is_file()
    assert _leftovers("perflab-sleeps-") == []


def test_a_worker_that_dies_fails_its_notebook_and_the_run_goes_on(
    notebooks: Path, cluster: Any, tmp_path: Path
) -> None:
    before = set(Path(tempfile.gettempdir()).glob("perflab-*"))
    result = run(
        notebooks,
        tmp_path,
        only=["dies", "raises"],
        cluster=cluster.scheduler_address,
        timeout=300,
        progress=False,
    )
    entries = {nb["name"]: nb for nb in result.manifest["notebooks"]}
    assert entries["dies"]["status"] == "failed"
    assert entries["dies"]["error"].startswith("KilledWorker:")
    assert "dies" in (result.path / "dies.html").read_text(encoding="utf-8")
    assert entries["raises"]["status"] == "failed"
    assert entries["raises"]["error"].startswith("RuntimeError: boom")
    assert _leftovers("perflab-dies-") == []
    # the scratch copies (with task.pickle, which holds the parameters) are gone: the
    # dead worker's was in its local directory, not in the machine's temporary one
    assert set(Path(tempfile.gettempdir()).glob("perflab-*")) <= before
    with distributed.Client(cluster) as client:
        assert all(left == [] for left in client.run(_scratch_left).values())


def _scratch_left(dask_worker: Any) -> list[str]:
    return sorted(p.name for p in Path(dask_worker.local_directory).glob("perflab-*"))


def _block(name: str) -> bool:
    return bool(distributed.Event(name).wait(60))


def test_notebooks_no_worker_gets_to_end_as_timeouts_not_a_hang(
    notebooks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from perflab.report import runner

    monkeypatch.setattr(runner, "_CLUSTER_SLACK_S", 1.0)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            dashboard_address="127.0.0.1:0",
        ) as busy_cluster,
        distributed.Client(busy_cluster) as client,
    ):
        gate = distributed.Event("perflab-test-busy", client=client)
        busy = client.submit(_block, "perflab-test-busy", pure=False)
        while not any(client.processing().values()):  # the only thread is taken
            time.sleep(0.05)
        result = run(notebooks, tmp_path, only=["good"], cluster=client, timeout=1, progress=False)
        gate.set()
        assert busy.result() is True
    (entry,) = result.manifest["notebooks"]
    assert entry["status"] == "timeout"
    assert entry["error"].startswith("TimeoutError: notebook did not finish within 1 s")
    assert "no Dask worker finished a notebook for 2 s" in entry["error"]
    assert "did not finish" in (result.path / "good.html").read_text(encoding="utf-8")


def test_the_overview_alone_runs_with_an_empty_first_phase(notebooks: Path, tmp_path: Path) -> None:
    result = run(notebooks, tmp_path, only=["overview"], jobs=1, timeout=300, progress=False)
    (entry,) = result.manifest["notebooks"]
    assert entry["status"] == "ok", entry["error"]
    assert {f["name"]: f["value"] for f in entry["figures"]} == {
        "notebooks_seen": 0.0,
        "ok_seen": 0.0,
        "frames_seen": 0.0,
    }


def test_the_cli_runs_on_a_local_dask_cluster_with_workers(notebooks: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "perflab.cli", "run", "--notebooks", str(notebooks)]
    cli += ["--out", str(out), "--quiet", "--only", "good", "raises", "--workers", "2"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(cli, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 1, done.stderr  # raises failed; the report is built
    assert "raises: failed: RuntimeError: boom <b>" in done.stderr
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert {nb["name"]: nb["status"] for nb in manifest["notebooks"]} == {
        "good": "ok",
        "raises": "failed",
    }
    assert (out / "latest" / "frames" / "good" / "latency.parquet").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "2", "--jobs", "2"], "jobs sets this machine's worker processes"),
        (["--workers", "0"], "workers must be a positive integer, not 0"),
        (["--cluster", "tcp://127.0.0.1:8786", "--workers", "2"], "cannot be combined"),
    ],
)
def test_the_cli_rejects_conflicting_cluster_options(
    notebooks: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    from perflab.cli import main

    out = tmp_path / "out"
    code = main(["run", "--notebooks", str(notebooks), "--out", str(out), "--quiet", *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing was started or reserved


@pytest.mark.parametrize(
    ("missing", "hint"),
    [("distributed", True), ("dask.distributed", True), ("papermill", False)],
)
def test_the_cli_turns_only_a_missing_dask_into_the_install_hint(
    notebooks: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    missing: str,
    hint: bool,
) -> None:
    from perflab import cli
    from perflab.cluster import INSTALL_HINT
    from perflab.report import runner

    def broken(*args: object, **kwargs: object) -> None:
        if missing == "distributed":  # as perflab.cluster.require_distributed says it
            raise ImportError(f"... not installed; install it with: {INSTALL_HINT}")
        raise ImportError(f"No module named {missing!r}", name=missing)

    monkeypatch.setattr(runner, "run", broken)
    argv = ["run", "--notebooks", str(notebooks), "--out", str(tmp_path), "--workers", "2"]
    if hint:
        assert cli.main([*argv, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("perflab: error: ") and INSTALL_HINT in err
    else:
        with pytest.raises(ImportError, match="papermill"):
            cli.main([*argv, "--quiet"])

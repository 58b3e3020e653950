"""``perflab run`` on a Dask cluster gives the run directory a local run gives.

The notebooks are written here, tiny: ``good`` reads a CSV relative to its folder,
records figures and publishes a frame; ``raises`` fails; ``sleeps`` outlasts a short
timeout; ``dies`` kills the Dask worker it runs on; ``overview`` is marked
``"perflab": {"after": "all"}`` and records how much of the run it saw in the
provisional manifest — it is first in file order, so running last is the runner's
doing. Notebooks and reports live in paths with spaces.

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
    _write(root / "01-good.ipynb", 'latency_csv = "data/latency.csv"', GOOD)
    _write(root / "02-raises.ipynb", "x = 1", 'raise RuntimeError("boom <b>")')
    _write(root / "03-sleeps.ipynb", "seconds = 3600", "import time\ntime.sleep(seconds)")
    _write(root / "04-dies.ipynb", "", DIES)
    return root


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
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
    out = tmp_path / "re ports"
    only = ["overview", "good", "raises"]
    local = run(notebooks, out, only=only, jobs=2, timeout=300, progress=False)
    remote = run(
        notebooks, out, only=only, cluster=cluster.scheduler_address, timeout=300, progress=False
    )

    def summary(result: RunResult) -> dict[str, Any]:
        return {
            nb["name"]: (nb["status"], nb["figures"], nb["html"], nb["ipynb"], nb["source"])
            for nb in result.manifest["notebooks"]
        }

    assert summary(remote) == summary(local)
    assert [nb["name"] for nb in remote.manifest["notebooks"]] == only  # file order kept
    statuses = {nb["name"]: nb["status"] for nb in remote.manifest["notebooks"]}
    assert statuses == {"overview": "ok", "good": "ok", "raises": "failed"}
    # the overview ran after the two others and saw them, and good's frame
    (overview,) = [nb for nb in remote.manifest["notebooks"] if nb["name"] == "overview"]
    seen = {f["name"]: f["value"] for f in overview["figures"]}
    assert seen == {"notebooks_seen": 2.0, "ok_seen": 1.0, "frames_seen": 1.0}
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

    runs = history(out).filter(pl.col("figure") == "p95_ms")
    assert runs.get_column("run_id").to_list() == [local.run_id, remote.run_id]
    assert runs.get_column("value").to_list() == [p95, p95]
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

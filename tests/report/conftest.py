"""Fixtures for the report tests: shared runs of the fixture notebooks, HTML scans.

A run starts kernels (a few seconds each), so each kind of run happens once per test
session — also under pytest-xdist, where the first worker to ask runs it (holding a
file lock) and the others read its result from the shared temporary directory. The
runs read their notebooks from, and write their reports to, directories whose names
hold spaces.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"
XSS = "<script>alert(1)</script>"
SECRETS = {"dsn": "postgresql://perflab:s3cr3t-pw@db.internal/app", "api_token": "tok-s3cr3t"}
"""Secret parameters the xss notebook gets in the main run; "s3cr3t" must not be shown."""


@dataclass(frozen=True)
class Run:
    """One finished run, as the tests see it."""

    out: Path
    run_id: str
    path: Path
    manifest: dict[str, Any]
    leftover_kernels: list[str]

    def notebook(self, name: str) -> dict[str, Any]:
        (entry,) = [nb for nb in self.manifest["notebooks"] if nb["name"] == name]
        return entry

    def page(self, name: str) -> str:
        return (self.path / f"{name}.html").read_text(encoding="utf-8")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def kernels_of(out: Path) -> list[str]:
    """Processes still running for a run under ``out`` (there should be none).

    A kernel whose worker is gone is no longer below this process, so they are found
    by what every kernel of a run inherits: ``PERFLAB_FIGURES`` naming a file in the
    run's directory.
    """
    left = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("PERFLAB_FIGURES", "").startswith(str(out)):
                left.append(" ".join(proc.cmdline()))
        except psutil.Error:
            continue
    return left


def shared_runs(
    tmp_path_factory: pytest.TempPathFactory,
    key: str,
    make: Callable[[Path], list[Any]],
) -> list[Run]:
    """Run ``make(out_dir)`` once per session (across xdist workers); return its runs."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    out = root / f"perflab {key}" / "re ports"
    record = root / f"perflab-{key}.json"
    with _locked(root / f"perflab-{key}.lock"):
        if not record.exists():
            results = make(out)
            leftovers = kernels_of(out)
            data = [
                {"run_id": r.run_id, "path": str(r.path), "leftover_kernels": leftovers}
                for r in results
            ]
            record.write_text(json.dumps(data))
        data = json.loads(record.read_text())
    return [
        Run(
            out=out,
            run_id=item["run_id"],
            path=Path(item["path"]),
            manifest=json.loads((Path(item["path"]) / "manifest.json").read_text()),
            leftover_kernels=item["leftover_kernels"],
        )
        for item in data
    ]


def html_files(root: Path) -> list[Path]:
    """Every HTML file under ``root``."""
    return sorted(root.rglob("*.html"))


_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.S | re.I)


def scripts(page: str) -> list[str]:
    return _SCRIPT.findall(page)


def styles(page: str) -> list[str]:
    return _STYLE.findall(page)


_REMOTE = r"(?:https?:)?//"
_LOADING_TAGS = "img|image|iframe|frame|embed|object|audio|video|source|track|input"


def remote_loads(page: str) -> list[str]:
    """What in ``page`` would reach the network: any script src, any ``<link>``, a
    remote src/srcset/data/poster on an element that loads it, ``@import`` and remote
    ``url(...)`` in styles, and any http(s):// address inside a script or style."""
    found = re.findall(r"<script[^>]*\ssrc\s*=[^>]*>", page, re.I)
    found += re.findall(r"<link\b[^>]*>", page, re.I)
    found += re.findall(
        rf"<(?:{_LOADING_TAGS})\b[^>]*\s(?:src|srcset|data|poster|href)\s*=\s*[\"']?{_REMOTE}[^>]*>",
        page,
        re.I,
    )
    for block in styles(page) + re.findall(r"\sstyle\s*=\s*\"([^\"]*)\"", page, re.I):
        found += re.findall(r"@import[^;]*", block, re.I)
        found += re.findall(rf"url\(\s*[\"']?{_REMOTE}[^)]*\)", block, re.I)
    for block in scripts(page) + styles(page):
        found += re.findall(r"https?://\S{0,60}", block)
    return found


def _spaced_copy(out: Path) -> Path:
    """The fixture notebooks (and their data) copied under a path with spaces."""
    target = out.parent / "note books"
    shutil.copytree(NOTEBOOKS, target, dirs_exist_ok=True)
    return target


def _main(out: Path) -> list[Any]:
    from perflab.report import run

    notebooks = _spaced_copy(out)
    first = run(
        notebooks,
        out,
        only=["good", "raises", "xss"],
        parameters={"xss": {"payload": XSS, **SECRETS}},
        jobs=2,
        timeout=300,
        progress=False,
    )
    second = run(
        notebooks,
        out,
        only=["good"],
        parameters={"good": {"slo_ms": 300.0}},
        jobs=2,
        timeout=300,
        progress=False,
    )
    return [first, second]


def _timeouts(out: Path) -> list[Any]:
    from perflab.report import run

    notebooks = _spaced_copy(out)
    return [run(notebooks, out, only=["sleeps", "stubborn"], jobs=2, timeout=4, progress=False)]


@pytest.fixture(scope="session")
def main_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    """Run 1: good, raises, xss (payload = XSS, secrets = SECRETS); run 2: good with
    slo_ms=300."""
    return shared_runs(tmp_path_factory, "main", _main)


@pytest.fixture(scope="session")
def first_run(main_runs: list[Run]) -> Run:
    return main_runs[0]


@pytest.fixture(scope="session")
def second_run(main_runs: list[Run]) -> Run:
    return main_runs[1]


@pytest.fixture(scope="session")
def timeout_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """sleeps and stubborn (ignores SIGINT) with a 4 s limit."""
    return shared_runs(tmp_path_factory, "timeouts", _timeouts)[0]


@pytest.fixture(scope="session")
def xss() -> str:
    """The string the xss fixture notebook receives as its ``payload`` parameter."""
    return XSS


@pytest.fixture(scope="session")
def secrets() -> dict[str, str]:
    """The secret parameters the xss notebook receives in the main run."""
    return SECRETS


@pytest.fixture(scope="session")
def fixture_notebooks() -> Path:
    """Directory of the fixture notebooks."""
    return NOTEBOOKS


@pytest.fixture(scope="session")
def find_kernels_of() -> Callable[[Path], list[str]]:
    """A function listing the processes still running for the runs under a directory."""
    return kernels_of


@pytest.fixture(scope="session")
def find_remote_loads() -> Callable[[str], list[str]]:
    """A function listing what in an HTML page would load from the network."""
    return remote_loads

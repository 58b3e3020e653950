"""Kernels: the python3 fallback, a kernel that cannot start, a kernel that dies — and
a notebook file that is not a notebook at all.

One run of four notebooks in a temporary directory, with ``JUPYTER_PATH`` pointing at
a kernelspec whose process exits at once with a message on stderr.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from perflab.report import RunResult, run


def _notebook(path: Path, kernel: str, *sources: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
    nb.cells += [new_code_cell(src) for src in sources]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def kernel_run(
    tmp_path_factory: pytest.TempPathFactory, fixture_notebooks: Path
) -> tuple[RunResult, dict[str, Any]]:
    root = tmp_path_factory.mktemp("kernels")
    spec_dir = root / "jupyter" / "kernels" / "broken"
    spec_dir.mkdir(parents=True)
    boom = "import sys; sys.stderr.write('No module named perflab_missing\\n'); sys.exit(1)"
    spec = {"argv": [sys.executable, "-c", boom, "{connection_file}"], "display_name": "broken"}
    (spec_dir / "kernel.json").write_text(json.dumps({**spec, "language": "python"}))
    notebooks = root / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01-broken.ipynb", "broken", "print(x)")
    _notebook(notebooks / "02-elsewhere.ipynb", "no-such-kernel", "print('ran', x + 1)")
    shutil.copy(fixture_notebooks / "06-crashes.ipynb", notebooks / "03-crashes.ipynb")
    (notebooks / "04-corrupt.ipynb").write_text('{"cells": [<script>alert(1)</script>')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(root / "jupyter"))
        result = run(notebooks, root / "reports", jobs=2, timeout=120, progress=False)
    return result, {nb["name"]: nb for nb in result.manifest["notebooks"]}


def test_a_kernel_that_cannot_start_fails_with_its_own_message(
    kernel_run: tuple[RunResult, dict[str, Any]],
) -> None:
    result, entries = kernel_run
    entry = entries["broken"]
    assert entry["status"] == "failed"
    assert entry["error"].startswith("RuntimeError: Kernel died before replying")
    assert "No module named perflab_missing" in entry["error"]
    assert "No module named perflab_missing" in (result.path / "broken.html").read_text()


def test_a_notebook_declaring_a_missing_kernel_runs_on_python3(
    kernel_run: tuple[RunResult, dict[str, Any]],
) -> None:
    result, entries = kernel_run
    assert entries["elsewhere"]["status"] == "ok"
    executed = nbformat.read(result.path / "elsewhere.ipynb", as_version=4)
    assert executed.metadata["kernelspec"]["name"] == "python3"
    assert "ran 2" in (result.path / "elsewhere.html").read_text()


def test_a_kernel_that_dies_mid_notebook_marks_it_failed_and_keeps_its_output(
    kernel_run: tuple[RunResult, dict[str, Any]],
) -> None:
    result, entries = kernel_run
    entry = entries["crashes"]
    assert entry["status"] == "failed"
    assert entry["error"].startswith("DeadKernelError: Kernel died")
    page = (result.path / "crashes.html").read_text()
    assert "before the crash" in page and 'class="perflab-banner failed"' in page


def test_a_file_that_is_not_a_notebook_fails_alone_with_a_page_saying_why(
    kernel_run: tuple[RunResult, dict[str, Any]],
) -> None:
    result, entries = kernel_run
    entry = entries["corrupt"]
    assert entry["status"] == "failed"
    assert entry["error"].startswith("NotJSONError: Notebook does not appear to be JSON")
    assert entry["html"] == "corrupt.html"
    page = (result.path / "corrupt.html").read_text()
    assert 'class="perflab-banner failed"' in page and "NotJSONError" in page
    assert "<script>alert(1)" not in page
    assert entries["elsewhere"]["status"] == "ok"  # the others ran
    assert 'href="corrupt.html"' in result.index.read_text()

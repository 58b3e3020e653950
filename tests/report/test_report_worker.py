"""The worker's page for one notebook, without a kernel: executed notebooks are built here.

Every notebook gets a page, whatever went wrong; secrets given as parameters are
masked in what is shown; error texts are plain text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from papermill.parameterize import parameterize_notebook

import perflab.report.render
from perflab.report.worker import Task, _describe, render_page

XSS = "<script>alert(1)</script>"
PARAMS = {"dsn": "postgresql://app:s3cr3t@db/app", "db_password": "s3cr3t", "limit": 5}


def _task(out: Path, **changes: Any) -> Task:
    fields: dict[str, Any] = {
        "name": "demo",
        "source": "01-demo.ipynb",
        "path": str(out / "source" / "01-demo.ipynb"),
        "out_dir": str(out),
        "parameters": PARAMS,
        "kernel_name": "python3",
        "timeout": 60.0,
        "show_code": True,
        "run_id": "r1",
    }
    fields.update(changes)
    return Task(**fields)


def _executed(out: Path, *outputs: Any) -> Path:
    """An executed notebook as papermill writes it, with the parameters injected."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "py", "language": "python"}
    nb.metadata["papermill"] = {}
    cell = new_code_cell("print(dsn)", execution_count=2, metadata={"tags": []})
    cell.outputs = list(outputs)
    nb.cells = [new_code_cell("dsn = None", metadata={"tags": ["parameters"]}), cell]
    nb = parameterize_notebook(nb, PARAMS, kernel_name="python3", language="python")
    path = out / "demo.ipynb"
    nbformat.write(nb, path)
    return path


def test_secret_parameters_are_masked_in_the_executed_notebook_and_its_page(
    tmp_path: Path,
) -> None:
    ipynb = _executed(tmp_path, new_output("stream", name="stdout", text="connected\n"))
    status, error, written = render_page(_task(tmp_path), "ok", None)
    assert (status, error, written) == ("ok", None, True)
    page = (tmp_path / "demo.html").read_text()
    assert "connected" in page and "postgresql://app:***@db/app" in page  # code is shown
    for text in (page, ipynb.read_text()):
        assert "s3cr3t" not in text
    executed = nbformat.read(ipynb, as_version=4)
    assert executed.metadata.papermill.parameters == {
        "dsn": "postgresql://app:***@db/app",
        "db_password": "***",
        "limit": 5,
    }


def test_a_notebook_that_cannot_be_rendered_still_gets_a_page_with_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _executed(tmp_path, new_output("stream", name="stdout", text="fine\n"))
    original = perflab.report.render.render_html

    def fails_on_outputs(nb: Any, **kwargs: Any) -> str:
        if nb.cells:  # the executed notebook, not the error page
            raise ValueError(f"unsupported output {XSS}")
        return original(nb, **kwargs)

    monkeypatch.setattr(perflab.report.render, "render_html", fails_on_outputs)
    status, error, written = render_page(_task(tmp_path), "ok", None)
    assert status == "failed" and written
    assert error == f"rendering failed: ValueError: unsupported output {XSS}"
    page = (tmp_path / "demo.html").read_text()
    assert 'class="perflab-banner failed"' in page
    assert "rendering failed: ValueError: unsupported output &lt;script&gt;" in page
    assert XSS not in page


def test_an_executed_notebook_that_cannot_be_read_fails_with_a_page(tmp_path: Path) -> None:
    (tmp_path / "demo.ipynb").write_text(json.dumps({"cells": "cut short"}))
    status, error, written = render_page(_task(tmp_path), "ok", None)
    assert status == "failed" and written
    assert error is not None and error.startswith("cannot read the notebook: ")
    assert "cannot read the notebook" in (tmp_path / "demo.html").read_text()


def test_a_failed_run_keeps_its_own_error_when_nothing_can_be_shown(tmp_path: Path) -> None:
    status, error, written = render_page(_task(tmp_path), "failed", "NotJSONError: not JSON")
    assert (status, error, written) == ("failed", "NotJSONError: not JSON", True)


def test_error_texts_lose_terminal_escapes_and_control_characters() -> None:
    raw = "\x1b[0;31mbad row\x1b[0m \x1b]0;pwned\x07in\r file\x00\x9b2J"
    assert _describe(ValueError(raw)) == "ValueError: bad row in file2J"

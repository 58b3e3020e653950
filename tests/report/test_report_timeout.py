"""A notebook that runs past the limit is stopped, marked and still rendered.

``sleeps`` sleeps for an hour (an interrupt stops it); ``stubborn`` swallows every
KeyboardInterrupt, so only the harder stop ends it. Both run with a 4 s limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import nbformat

if TYPE_CHECKING:
    from conftest import Run


def test_both_notebooks_are_marked_timeout_with_the_limit_in_the_error(timeout_run: Run) -> None:
    for name in ("sleeps", "stubborn"):
        entry = timeout_run.notebook(name)
        assert entry["status"] == "timeout", entry
        assert entry["error"].startswith("TimeoutError: notebook did not finish within 4 s")


def test_interrupted_notebook_keeps_its_traceback(timeout_run: Run) -> None:
    executed = nbformat.read(timeout_run.path / "sleeps.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["KeyboardInterrupt"]
    assert "KeyboardInterrupt" in timeout_run.notebook("sleeps")["error"]


def test_timed_out_notebooks_are_rendered_with_a_banner(timeout_run: Run) -> None:
    for name, printed in (("sleeps", "sleeping"), ("stubborn", "ignoring interrupts")):
        page = timeout_run.page(name)
        assert 'class="perflab-banner timeout"' in page
        assert "did not finish within 4 s" in page
        assert printed in page  # output produced before the stop is kept


def test_the_index_marks_them_and_the_run_completes(timeout_run: Run) -> None:
    index = (timeout_run.path / "index.html").read_text()
    assert index.count('class="badge timeout"') == 2
    assert (timeout_run.out / "latest").resolve() == timeout_run.path.resolve()


def test_no_kernel_is_left_running(timeout_run: Run) -> None:
    assert timeout_run.leftover_kernels == []

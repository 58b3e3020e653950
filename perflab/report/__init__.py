"""Batch reports: run notebooks with papermill, render them offline, trend their figures.

In a notebook::

    from perflab import report
    report.figure("p95_ms", p95, "ms", better="lower", label="p95 latency")

From Python (the ``perflab run`` command does the same)::

    result = report.run("notebooks", "reports", jobs=2)
    result.index        # reports/<run-id>/index.html

Importing this package is cheap (it is imported in every kernel): papermill,
nbconvert and polars load only when :func:`run` or :func:`history` is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perflab.report.figures import BETTER, Figure, figure, read_figures, recorded

if TYPE_CHECKING:
    import polars as pl

    from perflab.report.runner import RunResult

__all__ = [
    "BETTER",
    "Figure",
    "RunResult",
    "figure",
    "history",
    "previous_value",
    "read_figures",
    "recorded",
    "run",
]


def history(out_dir: str | os.PathLike[str] = "reports") -> pl.DataFrame:
    """Every run's headline figures under ``out_dir`` as one frame, oldest first.

    Columns: ``run_id, started_at (UTC), notebook, figure, value, unit, better``.
    See :func:`perflab.report.store.read_history`.

    Examples
    --------
    >>> import tempfile
    >>> history(tempfile.mkdtemp()).height
    0
    """
    from perflab.report.store import read_history

    return read_history(out_dir)


def previous_value(
    out_dir: str | os.PathLike[str], notebook: str, figure: str, *, before: str | None = None
) -> float | None:
    """The figure's value in the latest run under ``out_dir`` (before run ``before``).

    Returns ``None`` when no such run recorded it.

    Examples
    --------
    >>> import tempfile
    >>> previous_value(tempfile.mkdtemp(), "monitoring", "p95_ms") is None
    True
    """
    from perflab.report.store import previous_value as _previous

    return _previous(history(out_dir), notebook, figure, before=before)


def run(
    notebooks_dir: str | os.PathLike[str] = "notebooks",
    out_dir: str | os.PathLike[str] = "reports",
    *,
    only: Sequence[str] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    jobs: int | None = None,
    timeout: float = 600.0,
    show_code: bool = False,
    progress: bool = True,
) -> RunResult:
    """Run a batch of notebooks into ``<out_dir>/<run-id>/``.

    See :func:`perflab.report.runner.run` for the parameters; a notebook that fails
    does not raise (check ``.ok`` and ``.failed`` of the result).

    Examples
    --------
    >>> import tempfile
    >>> run(tempfile.mkdtemp(), tempfile.mkdtemp(), progress=False).ok
    True
    """
    from perflab.report.runner import run as _run

    return _run(
        notebooks_dir,
        out_dir,
        only=only,
        parameters=parameters,
        jobs=jobs,
        timeout=timeout,
        show_code=show_code,
        progress=progress,
    )


def __getattr__(name: str) -> Any:
    if name == "RunResult":
        from perflab.report.runner import RunResult

        return RunResult
    raise AttributeError(f"module 'perflab.report' has no attribute {name!r}")

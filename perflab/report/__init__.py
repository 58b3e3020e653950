"""Batch reports: run notebooks with papermill, render them offline, trend their figures.

In a notebook::

    from perflab import report
    report.figure("p95_ms", p95, "ms", better="lower", label="p95 latency")

From Python (the ``perflab run`` command does the same)::

    result = report.run("notebooks", "reports", jobs=2)
    result.index        # reports/<run-id>/index.html

Across runs and out of perflab::

    report.trend("monitoring/p95_ms", runs=50)   # change points (E-Divisive)
    report.publish("recommendations", findings)  # in a notebook: kept for export

Importing this package is cheap (it is imported in every kernel): papermill,
nbconvert and polars load only when :func:`run` or :func:`history` is called; ``run``
and ``RunResult`` are :func:`perflab.report.runner.run` and
:class:`perflab.report.runner.RunResult`, imported on first use, as are
:func:`~perflab.report.trend.trend`, :func:`~perflab.report.export.publish`,
:func:`~perflab.report.export.export`, :func:`~perflab.report.export.single_html`,
:func:`~perflab.report.compare.compare_runs` and
:func:`~perflab.report.rebuild.rebuild`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from perflab.report.figures import BETTER, Figure, figure, read_figures, recorded

if TYPE_CHECKING:
    import polars as pl

    from perflab.report.compare import compare_runs
    from perflab.report.export import export, publish, single_html
    from perflab.report.rebuild import rebuild
    from perflab.report.runner import RunResult, run
    from perflab.report.trend import trend

__all__ = [
    "BETTER",
    "Figure",
    "RunResult",
    "compare_runs",
    "export",
    "figure",
    "history",
    "previous_value",
    "publish",
    "read_figures",
    "rebuild",
    "recorded",
    "run",
    "single_html",
    "trend",
]

_LAZY = {
    "run": "runner",
    "RunResult": "runner",
    "trend": "trend",
    "publish": "export",
    "export": "export",
    "single_html": "export",
    "compare_runs": "compare",
    "rebuild": "rebuild",
}


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
    from perflab.report.store import value_before

    return value_before(history(out_dir), notebook, figure, before=before)


def __getattr__(name: str) -> Any:
    """``run``, ``trend``, ``publish`` … come from their submodules, loaded on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"perflab.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'perflab.report' has no attribute {name!r}")

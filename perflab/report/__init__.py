"""Batch reports: run notebooks with papermill, render them offline, trend their figures.

In a notebook::

    from perflab import report
    report.figure("p95_ms", p95, "ms", better="lower", label="p95 latency")

From Python (the ``perflab run`` command does the same)::

    result = report.run("notebooks", "reports", jobs=2)
    result.index        # reports/<run-id>/index.html

Importing this package is cheap (it is imported in every kernel): papermill,
nbconvert and polars load only when :func:`run` or :func:`history` is called; ``run``
and ``RunResult`` are :func:`perflab.report.runner.run` and
:class:`perflab.report.runner.RunResult`, imported on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from perflab.report.figures import BETTER, Figure, figure, read_figures, recorded

if TYPE_CHECKING:
    import polars as pl

    from perflab.report.runner import RunResult, run

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
    from perflab.report.store import value_before

    return value_before(history(out_dir), notebook, figure, before=before)


def __getattr__(name: str) -> Any:
    """``run`` and ``RunResult`` come from :mod:`perflab.report.runner`, loaded on first use."""
    if name in ("run", "RunResult"):
        from perflab.report import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'perflab.report' has no attribute {name!r}")

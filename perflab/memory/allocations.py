"""Allocation sites: tracemalloc snapshots compared by file and line.

:func:`snapshot` takes a snapshot without tracemalloc's and importlib's own frames (as
the standard library's documentation recommends), :func:`diff` compares two by
allocation site as a frame, and :func:`track` takes both around a block.
"""

from __future__ import annotations

import logging
import tracemalloc
from types import TracebackType
from typing import Any, Literal

import polars as pl

from perflab.errors import ParameterError, positive_int

__all__ = ["DIFF_SCHEMA", "Tracking", "diff", "snapshot", "track"]

logger = logging.getLogger(__name__)


Key = Literal["lineno", "filename", "traceback"]

_FILTERS = (
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
    tracemalloc.Filter(False, tracemalloc.__file__),
)

DIFF_SCHEMA = {
    "file": pl.String,
    "line": pl.Int64,
    "size_bytes": pl.Int64,
    "size_diff_bytes": pl.Int64,
    "count": pl.Int64,
    "count_diff": pl.Int64,
}


def snapshot(nframes: int = 1) -> tracemalloc.Snapshot:
    """A tracemalloc snapshot of this process, without tracemalloc's and importlib's frames.

    Starts tracemalloc with ``nframes`` frames per allocation when it is not tracing,
    and leaves it tracing (a later snapshot needs it; tracing slows allocation and
    costs memory until ``tracemalloc.stop()``, which :func:`track` calls for you).
    Allocations made before tracing started are not in any snapshot. When tracing is
    on already with fewer frames than ``nframes``, its limit is kept (changing it
    would drop the traces) and a warning is logged.

    Parameters
    ----------
    nframes : int
        Frames kept per allocation: 1 groups by line; more lets :func:`diff` with
        ``key="traceback"`` tell call paths apart.

    Returns
    -------
    tracemalloc.Snapshot

    Examples
    --------
    >>> a = snapshot()
    >>> b = snapshot()
    >>> diff(a, b).columns[:4]
    ['file', 'line', 'size_bytes', 'size_diff_bytes']
    """
    nframes = positive_int("nframes", nframes)
    if not tracemalloc.is_tracing():
        tracemalloc.start(nframes)
    elif tracemalloc.get_traceback_limit() < nframes:
        logger.warning(
            "tracemalloc is tracing %d frame(s) per allocation, not %d; keeping it",
            tracemalloc.get_traceback_limit(),
            nframes,
        )
    return tracemalloc.take_snapshot().filter_traces(_FILTERS)


def diff(
    a: tracemalloc.Snapshot,
    b: tracemalloc.Snapshot,
    *,
    key: Key = "lineno",
    top: int | None = None,
) -> pl.DataFrame:
    """Allocation sites compared between snapshot ``a`` (before) and ``b`` (after).

    Parameters
    ----------
    a, b : tracemalloc.Snapshot
        The earlier and the later snapshot (from :func:`snapshot`).
    key : {"lineno", "filename", "traceback"}
        Group by line, by file, or by the whole traceback of the allocation.
    top : int, optional
        Keep only the first ``top`` rows.

    Returns
    -------
    polars.DataFrame
        One row per site, sorted by ``size_diff_bytes`` descending (then size):
        ``file`` (str), ``line`` (i64; null with ``key="filename"``), ``size_bytes``
        (i64, held in ``b``), ``size_diff_bytes`` (i64, ``b`` minus ``a``), ``count``
        (i64, blocks in ``b``), ``count_diff`` (i64); with ``key="traceback"`` also
        ``traceback`` (str: one ``file:line`` per frame, oldest first). ``file`` and
        ``line`` are the most recent frame.

    Raises
    ------
    ParameterError
        ``a`` or ``b`` is not a snapshot, or a bad ``key`` or ``top``.

    Examples
    --------
    >>> a = snapshot()
    >>> blob = bytearray(1_000_000)
    >>> d = diff(a, snapshot(), top=1)
    >>> d.get_column("size_diff_bytes").item() >= 1_000_000
    True
    """
    for name, snap in (("a", a), ("b", b)):
        if not isinstance(snap, tracemalloc.Snapshot):
            raise ParameterError(
                f"{name} must be a tracemalloc.Snapshot, not {type(snap).__name__}"
            )
    if key not in ("lineno", "filename", "traceback"):
        raise ParameterError(f"key must be 'lineno', 'filename' or 'traceback', not {key!r}")
    if top is not None:
        top = positive_int("top", top)
    stats = b.filter_traces(_FILTERS).compare_to(a.filter_traces(_FILTERS), key)
    schema: dict[str, Any] = dict(DIFF_SCHEMA)
    if key == "traceback":
        schema["traceback"] = pl.String
    rows = []
    for s in stats:
        frame = s.traceback[-1]
        row: dict[str, Any] = {
            "file": frame.filename,
            "line": None if key == "filename" else frame.lineno,
            "size_bytes": s.size,
            "size_diff_bytes": s.size_diff,
            "count": s.count,
            "count_diff": s.count_diff,
        }
        if key == "traceback":
            row["traceback"] = "\n".join(f"{f.filename}:{f.lineno}" for f in s.traceback)
        rows.append(row)
    df = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    df = df.sort(["size_diff_bytes", "size_bytes"], descending=True, maintain_order=True)
    return df if top is None else df.head(top)


class Tracking:
    """What :func:`track` returns: the snapshots and their :func:`diff` after the block.

    Attributes
    ----------
    before, after : tracemalloc.Snapshot or None
        The snapshots taken on entering and leaving the block.
    diff : polars.DataFrame or None
        :func:`diff` of the two, set when the block is left.
    """

    def __init__(self, nframes: int = 1, *, key: Key | None = None, top: int | None = None) -> None:
        self.nframes = positive_int("nframes", nframes)
        self.key: Key = key if key is not None else "traceback" if nframes > 1 else "lineno"
        self.top = top
        self.before: tracemalloc.Snapshot | None = None
        self.after: tracemalloc.Snapshot | None = None
        self.diff: pl.DataFrame | None = None
        self._started = False

    def __enter__(self) -> Tracking:
        self._started = not tracemalloc.is_tracing()
        self.before = snapshot(self.nframes)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.after = snapshot(self.nframes)
        finally:
            if self._started:
                tracemalloc.stop()
        if self.before is not None:
            self.diff = diff(self.before, self.after, key=self.key, top=self.top)


def track(nframes: int = 1, *, key: Key | None = None, top: int | None = None) -> Tracking:
    """A context manager that snapshots on entry and exit and diffs the two.

    Starts tracemalloc if it is not tracing, and then stops it on exit (which frees
    its traces); a tracing started by someone else is left on.

    Parameters
    ----------
    nframes : int
        Frames kept per allocation.
    key : {"lineno", "filename", "traceback"}, optional
        Passed to :func:`diff`; ``"traceback"`` when ``nframes > 1``, else ``"lineno"``.
    top : int, optional
        Passed to :func:`diff`.

    Returns
    -------
    Tracking
        Its ``.diff`` is the :func:`diff` frame once the block is left.

    Examples
    --------
    >>> with track(top=3) as t:
    ...     data = [bytes(1000) for _ in range(1000)]
    >>> t.diff.get_column("count_diff").item(0) >= 1000
    True
    """
    return Tracking(nframes, key=key, top=top)

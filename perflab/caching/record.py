"""The access recorder of the runtime cache: :class:`Recorder`.

A recorder writes one CSV row per cache operation with exactly the ``ACCESSES``
columns of :mod:`perflab.caching.schema`, header first::

    timestamp,key,size,ttl,op,result,level,strategy

==========  ==========================================================================
timestamp   :func:`time.time` when the row was written, float seconds since the epoch
key         the cache key as ``str``
size        bytes of the serialised value: what was written for a ``set``, the stored
            size for a ``get`` hit, empty when unknown (a miss, a ``delete``)
ttl         the entry's time to live in seconds, empty when it never expires or for a
            miss or ``delete``
op          ``get``, ``set`` or ``delete``
result      ``hit``, ``miss``, ``expired`` (a get that found its entry expired: a
            miss), ``set`` or ``delete``
level       ``l1`` (in-process) or ``l2`` (Redis)
strategy    the cache strategy the key belongs to (or was looked up under)
==========  ==========================================================================

Use it with ``Cache(record="trace.csv")``, ``Cache(record=Recorder(...))`` or
``with cache.record("trace.csv"): ...``. The file is what
``perflab.caching.read_trace(path)`` reads back (its CSV reader maps these columns
to the ``TRACE`` frame and keeps the original key).

Rows are buffered and written every ``flush_every`` rows, on :meth:`Recorder.flush`
and on :meth:`Recorder.close`; a lock makes :meth:`Recorder.write` safe from many
threads, and rows reach the file in the order they were written. It is an append
log, so it is not written atomically, but an existing file is never replaced
unless ``overwrite=True`` is given.
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from perflab.caching.schema import ACCESSES
from perflab.errors import ParameterError

__all__ = ["HEADER", "Recorder"]

HEADER: tuple[str, ...] = tuple(ACCESSES.names)
"""The CSV header: the ``ACCESSES`` columns in order."""

_OPS = frozenset({"get", "set", "delete"})
_RESULTS = frozenset({"hit", "miss", "expired", "set", "delete"})
_LEVELS = frozenset({"l1", "l2"})


class Recorder:
    """A thread-safe, buffered CSV writer of cache accesses (``ACCESSES`` columns).

    Parameters
    ----------
    path : str or path
        The CSV file to create. Its directory must exist.
    overwrite : bool
        Replace ``path`` if it exists; otherwise an existing file raises
        :class:`FileExistsError` and is left untouched.
    flush_every : int
        Rows buffered in memory before they are written to the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trace.csv"
    >>> with Recorder(path) as rec:
    ...     rec.write("set", "user_1", "set", strategy="users", size=17, ttl=60.0)
    ...     rec.write("get", "user_1", "hit", strategy="users", size=17, ttl=60.0)
    >>> import polars as pl
    >>> pl.read_csv(path).drop("timestamp")
    shape: (2, 7)
    ┌────────┬──────┬──────┬─────┬────────┬───────┬──────────┐
    │ key    ┆ size ┆ ttl  ┆ op  ┆ result ┆ level ┆ strategy │
    │ ---    ┆ ---  ┆ ---  ┆ --- ┆ ---    ┆ ---   ┆ ---      │
    │ str    ┆ i64  ┆ f64  ┆ str ┆ str    ┆ str   ┆ str      │
    ╞════════╪══════╪══════╪═════╪════════╪═══════╪══════════╡
    │ user_1 ┆ 17   ┆ 60.0 ┆ set ┆ set    ┆ l1    ┆ users    │
    │ user_1 ┆ 17   ┆ 60.0 ┆ get ┆ hit    ┆ l1    ┆ users    │
    └────────┴──────┴──────┴─────┴────────┴───────┴──────────┘
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        flush_every: int = 1000,
    ) -> None:
        if isinstance(flush_every, bool) or not isinstance(flush_every, int) or flush_every < 1:
            raise ParameterError(f"flush_every must be a positive integer, not {flush_every!r}")
        self.path = Path(path)
        self.flush_every = flush_every
        try:
            self._file = open(  # noqa: SIM115 - closed by close()
                self.path, "w" if overwrite else "x", newline="", encoding="utf-8"
            )
        except FileExistsError:
            raise FileExistsError(
                f"{self.path} exists; the recorder never replaces a file unless overwrite=True"
            ) from None
        self._lock = threading.Lock()
        self._buffer: list[tuple[Any, ...]] = []
        self._rows = 0
        self._closed = False
        self._file.write(",".join(HEADER) + "\n")
        self._file.flush()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"Recorder({str(self.path)!r}, rows={self._rows}, {state})"

    @property
    def rows(self) -> int:
        """Rows written so far (buffered ones included)."""
        return self._rows

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def write(
        self,
        op: str,
        key: object,
        result: str,
        *,
        level: str = "l1",
        strategy: str = "default",
        size: int | None = None,
        ttl: float | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Record one access; ``timestamp`` defaults to :func:`time.time`.

        The default timestamp is taken under the recorder's lock, so rows written
        from many threads are in time order in the file (``read_trace`` requires
        it).

        ``key`` is written as ``str(key)``. Rows written after :meth:`close` are
        dropped silently (a cache may race its own ``close``).

        Raises
        ------
        ParameterError
            ``op``, ``result`` or ``level`` is not one of the ``ACCESSES`` values.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> rec = Recorder(pathlib.Path(tempfile.mkdtemp()) / "t.csv")
        >>> rec.write("get", "k", "hot")
        Traceback (most recent call last):
        ...
        perflab.errors.ParameterError: result must be one of ..., not 'hot'
        """
        if op not in _OPS or result not in _RESULTS or level not in _LEVELS:
            _check_values(op, result, level)
        key_text = key if type(key) is str else str(key)
        with self._lock:  # the stamp is taken under the lock: rows stay in time order
            if self._closed:
                return
            self._buffer.append(
                (
                    time.time() if timestamp is None else timestamp,
                    key_text,
                    size,
                    ttl,
                    op,
                    result,
                    level,
                    strategy,
                )
            )
            self._rows += 1
            if len(self._buffer) >= self.flush_every:
                self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buffer:
            return
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            (repr(t), k, "" if s is None else s, "" if ttl is None else repr(float(ttl)), *rest)
            for t, k, s, ttl, *rest in self._buffer
        )
        self._buffer.clear()
        self._file.write(out.getvalue())
        self._file.flush()

    def flush(self) -> None:
        """Write the buffered rows to the file now.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
        >>> rec = Recorder(path)
        >>> rec.write("delete", "k", "delete")
        >>> rec.flush()
        >>> path.read_text().splitlines()[1].split(",")[1:]
        ['k', '', '', 'delete', 'delete', 'l1', 'default']
        """
        with self._lock:
            if not self._closed:
                self._flush_locked()

    def close(self) -> None:
        """Flush and close the file; calling it again does nothing.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> rec = Recorder(pathlib.Path(tempfile.mkdtemp()) / "t.csv")
        >>> rec.close(); rec.close()
        >>> rec.closed
        True
        """
        with self._lock:
            if self._closed:
                return
            try:
                self._flush_locked()
            finally:
                self._closed = True
                self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_values(op: str, result: str, level: str) -> None:
    for name, value, allowed in (
        ("op", op, _OPS),
        ("result", result, _RESULTS),
        ("level", level, _LEVELS),
    ):
        if value not in allowed:
            raise ParameterError(
                f"{name} must be one of {', '.join(sorted(allowed))}, not {value!r}"
            )

"""The live metric recorder: :class:`Monitor` and the process-wide default.

A :class:`Monitor` takes samples from running code (``record_metric``, ``timer``,
``mark_start``/``mark_end``) and hands them back as a ``METRICS`` frame
(:mod:`perflab.monitoring.schema`).

Why hand-written
----------------
``record_metric`` is on the hot path of the code being measured, so it does the
least it can: a few type checks, then one append per column to plain Python lists
under one :class:`threading.Lock` (about 0.4 µs a call without tags, 0.9 µs with
two; see ``benchmarks/bench_monitoring_record.py``). A lock-free append would save
about 0.15 µs under the GIL, but a sample appended to a buffer that another thread is spilling
could be lost, and it would not be safe on a free-threaded build. Polars is used
only when samples are framed: ``to_frame``, ``flush`` and spills; ``stats`` is
:func:`~perflab.monitoring.summarize.summarize` over ``to_frame``.

Bounded memory
--------------
When the buffer holds ``max_samples`` samples, the recording thread swaps it for an
empty one under the lock and writes the full one to a Parquet file in ``spill_dir``
after releasing it, so other threads keep recording while the file is written.
Every spilled chunk gets a sequence number when it is swapped out; ``to_frame``
orders chunks by that number, so record order holds however the writes interleave.
A chunk whose file cannot be written stays in memory (and an error is logged):
samples are never dropped. It is written at the next spill that succeeds.

Locks
-----
``_lock`` guards the buffer and the bookkeeping of chunks, and is held only for
appends and swaps. ``_io_lock`` serialises spill writes, ``to_frame``, ``flush``
and ``clear``, so none of them sees a spill file half-written or deleted under it.
``_io_lock`` is always taken before ``_lock``, never after.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import io
import logging
import math
import numbers
import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import write_atomic
from perflab.monitoring.schema import CORE_COLUMNS, METRICS
from perflab.monitoring.summarize import summarize
from perflab.times import epoch_ns

__all__ = [
    "MarkToken",
    "MetricError",
    "Monitor",
    "Timer",
    "default_monitor",
    "mark_end",
    "mark_start",
    "record_metric",
    "timer",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_time_ns = time.time_ns
_perf_ns = time.perf_counter_ns
_FLUSH_FORMATS = (".parquet", ".csv", ".jsonl", ".ndjson")


class MetricError(ParameterError):
    """A sample, tag, timestamp or mark token that the monitor cannot record.

    Derives from :class:`~perflab.errors.ParameterError`, hence from ``ValueError``
    and :class:`~perflab.errors.PerflabError`.

    Examples
    --------
    >>> Monitor().record_metric("latency", float("nan"), "ms")
    Traceback (most recent call last):
    ...
    perflab.monitoring.monitor.MetricError: metric 'latency': value must be ... not nan
    """


class MarkToken:
    """An open measurement returned by :meth:`Monitor.mark_start`.

    Pass it to :meth:`Monitor.mark_end` exactly once. ``name`` and ``tags`` are the
    ones given to ``mark_start``.
    """

    __slots__ = ("_monitor", "_start_ns", "name", "tags")

    def __init__(self, monitor: Monitor, name: str, tags: dict[str, str | None]) -> None:
        self._monitor = weakref.ref(monitor)
        self.name = name
        self.tags = tags
        self._start_ns = _perf_ns()

    def __repr__(self) -> str:
        return f"MarkToken(name={self.name!r}, tags={self.tags!r})"


@dataclass(frozen=True)
class _Chunk:
    """Samples swapped out of the buffer, one list per column."""

    names: list[str]
    values: list[float]
    units: list[str]
    stamps: list[int]
    tags: list[dict[str, str | None] | None]
    keys: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    def tail(self, start: int) -> _Chunk:
        return _Chunk(
            self.names[start:],
            self.values[start:],
            self.units[start:],
            self.stamps[start:],
            self.tags[start:],
            self.keys,
        )

    def frame(self) -> pl.DataFrame:
        """The chunk as a METRICS frame with one String column per key."""
        df = pl.DataFrame(
            {
                "name": pl.Series(self.names, dtype=pl.String),
                "value": pl.Series(self.values, dtype=pl.Float64),
                "unit": pl.Series(self.units, dtype=pl.String),
                "timestamp": pl.Series(self.stamps, dtype=pl.Int64)
                .cast(pl.Datetime("ns", "UTC"))
                .dt.cast_time_unit("us"),
            }
        )
        if not self.keys:
            return df
        struct = pl.Struct({key: pl.String for key in self.keys})
        return df.hstack(pl.Series("tags", self.tags, dtype=struct).struct.unnest())


class Monitor:
    """A thread-safe recorder of metric samples, framed on demand.

    Parameters
    ----------
    max_samples : int
        Samples kept in memory; when the buffer reaches this size it is written to
        a Parquet file in ``spill_dir`` and emptied. Nothing is ever dropped.
    spill_dir : str or path, optional
        Where spill files go. By default a temporary directory, created at the first
        spill (its path is logged at INFO) and removed with the monitor. Files in a
        directory you give are removed by :meth:`flush` and :meth:`clear` only.

    Notes
    -----
    Output of :meth:`to_frame` is the ``METRICS`` schema: ``name`` (str), ``value``
    (f64), ``unit`` (str), ``timestamp`` (datetime[μs, UTC]), then one str column per
    tag key in the order keys were first seen, null where a sample lacks the key.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> mon = Monitor()
    >>> t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    >>> mon.record_metric("latency", 12.5, "ms", tags={"route": "/a"}, timestamp=t0)
    >>> mon.record_metric("heap", 2048, "bytes", timestamp=t0)
    >>> mon.to_frame()
    shape: (2, 5)
    ┌─────────┬────────┬───────┬─────────────────────────┬───────┐
    │ name    ┆ value  ┆ unit  ┆ timestamp               ┆ route │
    │ ---     ┆ ---    ┆ ---   ┆ ---                     ┆ ---   │
    │ str     ┆ f64    ┆ str   ┆ datetime[μs, UTC]       ┆ str   │
    ╞═════════╪════════╪═══════╪═════════════════════════╪═══════╡
    │ latency ┆ 12.5   ┆ ms    ┆ 2024-05-01 12:00:00 UTC ┆ /a    │
    │ heap    ┆ 2048.0 ┆ bytes ┆ 2024-05-01 12:00:00 UTC ┆ null  │
    └─────────┴────────┴───────┴─────────────────────────┴───────┘
    """

    def __init__(
        self, max_samples: int = 100_000, *, spill_dir: str | os.PathLike[str] | None = None
    ) -> None:
        if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
            raise ParameterError(f"max_samples must be a positive integer, not {max_samples!r}")
        self.max_samples = max_samples
        self._spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._id = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._marks: dict[MarkToken, None] = {}
        self._reset_locked()
        self._pending: dict[int, _Chunk] = {}
        self._files: dict[int, tuple[Path, int]] = {}
        self._seq = 0  # sequence number the current buffer gets when it is swapped out

    # -- recording -------------------------------------------------------------

    def record_metric(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        tags: Mapping[str, object] | None = None,
        timestamp: int | datetime | None = None,
    ) -> None:
        """Record one sample.

        Parameters
        ----------
        name : str
            Metric name, not empty.
        value : float
            A finite real number (int and numpy numbers are accepted; bool, NaN,
            infinity and strings are not).
        unit : str
            Unit of ``value`` (``"ms"``, ``"bytes"``, ``"1"`` …).
        tags : mapping of str to str, optional
            Tag key → value; each key becomes a column of :meth:`to_frame`. Values
            that are not str are converted with ``str()``; ``None`` means "no value".
            Keys must not be ``name``, ``value``, ``unit`` or ``timestamp``.
        timestamp : int or datetime, optional
            When the sample was taken: nanoseconds since the Unix epoch, or a
            datetime (naive ones are taken as UTC). Defaults to now.

        Raises
        ------
        MetricError
            When any argument is of the wrong kind; nothing is recorded then.

        Examples
        --------
        >>> mon = Monitor()
        >>> mon.record_metric("db_query", 3, "ms", tags={"table": "users"})
        >>> mon.record_metric("db_query", True, "ms")
        Traceback (most recent call last):
        ...
        perflab.monitoring.monitor.MetricError: metric 'db_query': value must be ... not True
        >>> len(mon)
        1
        """
        # Fast path: exact float/str and no timestamp cost a handful of comparisons.
        if type(value) is not float or value - value != 0.0:  # NaN/inf: x - x is NaN
            value = _check_value(name, value)
        if type(name) is not str or type(unit) is not str or not name:
            _check_strings(name, unit)
        stamp = _time_ns() if timestamp is None else _check_timestamp(name, timestamp)
        row_tags: dict[str, str | None] | None = None
        if tags:
            try:
                row_tags = {k: v if type(v) is str else _tag_value(v) for k, v in tags.items()}
            except AttributeError:
                raise MetricError(
                    f"metric {name!r}: tags must be a mapping, not {tags!r}"
                ) from None
        with self._lock:
            if row_tags is not None and not self._tag_keys.keys() >= row_tags.keys():
                self._add_tag_keys_locked(name, row_tags)
            names = self._names
            names.append(name)
            self._values.append(value)
            self._units.append(unit)
            self._stamps.append(stamp)
            self._tags.append(row_tags)
            if len(names) < self.max_samples:
                return
            seq = self._swap_locked()
        self._spill(seq)

    def mark_start(self, name: str, *, tags: Mapping[str, object] | None = None) -> MarkToken:
        """Start timing ``name``; returns the token to give to :meth:`mark_end`.

        ``tags`` are as in :meth:`record_metric`; the sample gets them when it ends.

        Examples
        --------
        >>> mon = Monitor()
        >>> token = mon.mark_start("render", tags={"page": "home"})
        >>> mon.mark_end(token) >= 0
        True
        >>> mon.to_frame().select("name", "unit", "page")
        shape: (1, 3)
        ┌────────┬──────┬──────┐
        │ name   ┆ unit ┆ page │
        │ ---    ┆ ---  ┆ ---  │
        │ str    ┆ str  ┆ str  │
        ╞════════╪══════╪══════╡
        │ render ┆ ms   ┆ home │
        └────────┴──────┴──────┘
        """
        if type(name) is not str:
            _check_strings(name, "ms")
        tags = _check_tags(name, tags)
        token = MarkToken(self, name, {k: _tag_value(v) for k, v in tags.items()})
        self._marks[token] = None
        return token

    def mark_end(self, token: MarkToken) -> float:
        """End the measurement ``token``, record it in ms and return the duration.

        The sample has the token's name, unit ``"ms"``, its tags and the current time.

        Raises
        ------
        MetricError
            When ``token`` is not a token of this monitor or has already ended.

        Examples
        --------
        >>> mon = Monitor()
        >>> token = mon.mark_start("step")
        >>> _ = mon.mark_end(token)
        >>> mon.mark_end(token)
        Traceback (most recent call last):
        ...
        perflab.monitoring.monitor.MetricError: mark 'step' has already ended ...
        """
        end = _perf_ns()
        if not isinstance(token, MarkToken):
            raise MetricError(f"mark_end needs a token from mark_start, not {token!r}")
        try:
            del self._marks[token]  # atomic: of two threads ending one token, one wins
        except KeyError:
            if token._monitor() is not self:
                raise MetricError(f"mark {token.name!r} was started on another monitor") from None
            raise MetricError(
                f"mark {token.name!r} has already ended (or was never started on this monitor)"
            ) from None
        elapsed_ms = (end - token._start_ns) / 1e6
        self.record_metric(token.name, elapsed_ms, "ms", tags=token.tags or None)
        return elapsed_ms

    def timer(self, name: str, *, tags: Mapping[str, object] | None = None) -> Timer:
        """Time a block (``with``) or every call of a function (decorator), in ms.

        Each duration is recorded as a sample of ``name`` with unit ``"ms"``, the
        given ``tags`` (as in :meth:`record_metric`) and a tag ``outcome``: ``"ok"``,
        or ``"error"`` when the block or call raised (the exception still
        propagates). Durations come from :func:`time.perf_counter_ns`. One timer
        may be used from many threads and asyncio tasks at once, and it decorates
        ``async def`` functions too.

        Examples
        --------
        >>> mon = Monitor()
        >>> with mon.timer("parse", tags={"fmt": "csv"}):
        ...     _ = sum(range(1000))
        >>> @mon.timer("handler")
        ... def handle(x):
        ...     return 1 / x
        >>> handle(0)
        Traceback (most recent call last):
        ...
        ZeroDivisionError: division by zero
        >>> mon.to_frame().select("name", "unit", "fmt", "outcome")
        shape: (2, 4)
        ┌─────────┬──────┬──────┬─────────┐
        │ name    ┆ unit ┆ fmt  ┆ outcome │
        │ ---     ┆ ---  ┆ ---  ┆ ---     │
        │ str     ┆ str  ┆ str  ┆ str     │
        ╞═════════╪══════╪══════╪═════════╡
        │ parse   ┆ ms   ┆ csv  ┆ ok      │
        │ handler ┆ ms   ┆ null ┆ error   │
        └─────────┴──────┴──────┴─────────┘
        """
        return Timer(self, name, tags)

    # -- reading ---------------------------------------------------------------

    def to_frame(self) -> pl.DataFrame:
        """All samples, spilled and in memory, in record order, as a METRICS frame.

        Examples
        --------
        >>> mon = Monitor(max_samples=2)
        >>> for v in range(5):
        ...     mon.record_metric("x", v, "1")
        >>> mon.to_frame().get_column("value").to_list()
        [0.0, 1.0, 2.0, 3.0, 4.0]
        >>> mon.clear()
        """
        with self._io_lock:
            return self._frame_locked()[0]

    def stats(self) -> pl.DataFrame:
        """Count, mean, spread and percentiles of the values, per metric name.

        This is :func:`perflab.monitoring.summarize.summarize` over :meth:`to_frame`:
        percentiles interpolate linearly between samples (numpy's default).

        Returns
        -------
        polars.DataFrame
            One row per name, sorted by name: ``name``, ``unit`` (str), ``count``
            (u32), ``mean``, ``min``, ``max``, ``std``, ``p50``, ``p90``, ``p95``,
            ``p99``, ``p999`` (f64, in ``unit``).

        Raises
        ------
        SchemaError
            When one name was recorded with more than one unit.

        Examples
        --------
        >>> mon = Monitor()
        >>> for v in range(1, 101):
        ...     mon.record_metric("latency", v, "ms")
        >>> mon.stats().select("name", "unit", "count", "mean", "p50", "p95", "p99")
        shape: (1, 7)
        ┌─────────┬──────┬───────┬──────┬──────┬───────┬───────┐
        │ name    ┆ unit ┆ count ┆ mean ┆ p50  ┆ p95   ┆ p99   │
        │ ---     ┆ ---  ┆ ---   ┆ ---  ┆ ---  ┆ ---   ┆ ---   │
        │ str     ┆ str  ┆ u32   ┆ f64  ┆ f64  ┆ f64   ┆ f64   │
        ╞═════════╪══════╪═══════╪══════╪══════╪═══════╪═══════╡
        │ latency ┆ ms   ┆ 100   ┆ 50.5 ┆ 50.5 ┆ 95.05 ┆ 99.01 │
        └─────────┴──────┴───────┴──────┴──────┴───────┴───────┘
        """
        return summarize(self.to_frame(), by=("name",))

    def __len__(self) -> int:
        with self._lock:
            return (
                len(self._names)
                + sum(len(chunk) for chunk in self._pending.values())
                + sum(n for _, n in self._files.values())
            )

    def __repr__(self) -> str:
        return (
            f"Monitor(samples={len(self)}, max_samples={self.max_samples}, "
            f"spill_dir={str(self._spill_dir) if self._spill_dir else None!r})"
        )

    # -- emptying --------------------------------------------------------------

    def flush(self, path: str | os.PathLike[str]) -> int:
        """Write every sample to ``path`` atomically, then forget them.

        The format follows the suffix: ``.parquet``, ``.csv``, or ``.jsonl``
        (``.ndjson``). The file is written through a temporary file and a rename.
        Samples recorded while the file is being written are kept for the next
        flush. Spill files of the flushed samples are deleted.

        Returns
        -------
        int
            The number of samples written.

        Raises
        ------
        ParameterError
            When the suffix is none of the above; nothing is written or forgotten.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from perflab.frames import as_frame
        >>> mon = Monitor()
        >>> mon.record_metric("x", 1.0, "1")
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "metrics.parquet"
        >>> mon.flush(out), len(mon)
        (1, 0)
        >>> as_frame(out, METRICS).get_column("value").to_list()
        [1.0]
        """
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in _FLUSH_FORMATS:
            raise ParameterError(
                f"cannot flush to {target.name!r}: the suffix must be one of "
                + ", ".join(_FLUSH_FORMATS)
            )
        with self._io_lock:
            df, mark = self._frame_locked()
            write_atomic(target, _serialise(df, suffix))
            self._forget_locked(mark)
        logger.info("flushed %d metric sample(s) to %s", df.height, target)
        return df.height

    def clear(self) -> None:
        """Forget every sample and delete the spill files. Open marks stay open.

        Examples
        --------
        >>> mon = Monitor()
        >>> mon.record_metric("x", 1.0, "1")
        >>> mon.clear()
        >>> len(mon)
        0
        """
        with self._io_lock:
            with self._lock:
                files = list(self._files.values())
                self._files.clear()
                self._pending.clear()
                self._reset_locked()
            for file, _ in files:
                file.unlink(missing_ok=True)

    # -- internals -------------------------------------------------------------

    def _reset_locked(self) -> None:
        """Start an empty buffer and forget the tag keys (caller holds ``_lock``)."""
        self._names: list[str] = []
        self._values: list[float] = []
        self._units: list[str] = []
        self._stamps: list[int] = []
        self._tags: list[dict[str, str | None] | None] = []
        self._tag_keys: dict[str, None] = {}

    def _add_tag_keys_locked(self, name: str, tags: dict[str, str | None]) -> None:
        _check_tag_keys(name, tags)
        self._tag_keys.update(dict.fromkeys(tags))

    def _buffer_locked(self) -> _Chunk:
        return _Chunk(
            self._names, self._values, self._units, self._stamps, self._tags, tuple(self._tag_keys)
        )

    def _swap_locked(self) -> int:
        """Move the full buffer to ``_pending``; return its sequence number."""
        seq = self._seq
        self._seq += 1
        self._pending[seq] = self._buffer_locked()
        keys = self._tag_keys
        self._reset_locked()
        self._tag_keys = keys
        return seq

    def _spill(self, seq: int) -> None:
        """Write pending chunk ``seq`` to a file (called without ``_lock`` held).

        When that works, older chunks whose spill failed are written too, so a disk
        that was full for a while does not keep them in memory for good; when it fails,
        they are not retried, so a broken disk costs one failed write per spill.
        Logging happens after ``_io_lock`` is released, so a log handler that records
        metrics cannot deadlock on it.
        """
        created = None
        written: list[tuple[int, Path]] = []
        error: tuple[int, Exception] | None = None
        with self._io_lock:
            with self._lock:  # other threads add chunks to _pending under _lock only
                if seq not in self._pending:  # flushed or cleared while this thread waited
                    return
                todo = [seq, *sorted(k for k in self._pending if k < seq)]
                chunks = [self._pending[k] for k in todo]
            for s, chunk in zip(todo, chunks, strict=True):
                try:
                    if self._spill_dir is None:
                        created = Path(tempfile.mkdtemp(prefix="perflab-monitor-"))
                        self._spill_dir = created
                        weakref.finalize(self, shutil.rmtree, created, ignore_errors=True)
                    self._spill_dir.mkdir(parents=True, exist_ok=True)
                    path = self._spill_dir / f"metrics-{os.getpid()}-{self._id}-{s:08d}.parquet"
                    _write_spill_file(chunk.frame(), path)
                except Exception as exc:
                    error = (len(chunk), exc)
                    break
                with self._lock:
                    del self._pending[s]
                    self._files[s] = (path, len(chunk))
                written.append((len(chunk), path))
        if created is not None:
            logger.info("metric samples beyond %d spill to %s", self.max_samples, created)
        for n, path in written:
            logger.debug("spilled %d metric sample(s) to %s", n, path)
        if error is not None:
            logger.error("could not spill %d metric sample(s); they stay in memory: %s", *error)

    def _frame_locked(self) -> tuple[pl.DataFrame, tuple[Any, ...]]:
        """Frame every sample (caller holds ``_io_lock``) and a mark for ``_forget_locked``.

        The buffer is not copied under ``_lock``: only its length is taken. While
        ``_io_lock`` is held, other threads only append to the buffer's lists or swap
        them out (trimming needs ``_io_lock``), so their first ``n`` items stay put.
        """
        with self._lock:
            files = dict(self._files)
            pending = dict(self._pending)
            buffer = self._buffer_locked()
            n = len(buffer)
            buffer_seq = self._seq
            keys = buffer.keys
        parts: dict[int, pl.DataFrame] = {seq: pl.read_parquet(p) for seq, (p, _) in files.items()}
        parts.update((seq, chunk.frame()) for seq, chunk in pending.items())
        frames = [parts[seq] for seq in sorted(parts)]
        frames.append(
            _Chunk(
                buffer.names[:n],
                buffer.values[:n],
                buffer.units[:n],
                buffer.stamps[:n],
                buffer.tags[:n],
                keys,
            ).frame()
        )
        df = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
        df = df.select(*CORE_COLUMNS, *(pl.col(k).cast(pl.String) for k in keys))
        return METRICS.validate(df), (files, pending, buffer_seq, n)

    def _forget_locked(self, mark: tuple[Any, ...]) -> None:
        """Drop exactly the samples framed by ``_frame_locked`` (caller holds ``_io_lock``)."""
        files, pending, buffer_seq, n = mark
        with self._lock:
            for seq in files:
                del self._files[seq]
            for seq in pending:
                del self._pending[seq]
            if self._seq == buffer_seq:  # the framed buffer is still the live one
                del self._names[:n], self._values[:n], self._units[:n]
                del self._stamps[:n], self._tags[:n]
                if not self._names and not self._pending and not self._files:
                    self._tag_keys = {}
            else:  # it was swapped out since; its spill waits for _io_lock
                rest = self._pending.pop(buffer_seq).tail(n)
                if len(rest):
                    self._pending[buffer_seq] = rest
        for path, _ in files.values():
            path.unlink(missing_ok=True)


class Timer:
    """Times a ``with`` block or each call of a decorated function; see :meth:`Monitor.timer`.

    Examples
    --------
    >>> mon = Monitor()
    >>> t = mon.timer("io")
    >>> with t:
    ...     pass
    >>> len(mon)
    1
    """

    __slots__ = ("_monitor", "_name", "_tags")

    def __init__(
        self, monitor: Monitor, name: str, tags: Mapping[str, object] | None = None
    ) -> None:
        if type(name) is not str:
            _check_strings(name, "ms")
        tags = _check_tags(name, tags)
        if "outcome" in tags:
            raise MetricError(f"timer {name!r}: the tag 'outcome' is set by the timer")
        self._monitor = monitor
        self._name = name
        self._tags = {k: _tag_value(v) for k, v in tags.items()}

    def _record(self, start_ns: int, failed: bool) -> None:
        elapsed_ms = (_perf_ns() - start_ns) / 1e6
        tags = {**self._tags, "outcome": "error" if failed else "ok"}
        self._monitor.record_metric(self._name, elapsed_ms, "ms", tags=tags)

    def __enter__(self) -> Timer:
        # Starts live in a context variable, not on self, so one Timer can be
        # entered by many threads or asyncio tasks at once.
        _STARTS.set((*_STARTS.get(), (id(self), _perf_ns())))
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        starts = _STARTS.get()
        me = id(self)
        for i in range(len(starts) - 1, -1, -1):
            if starts[i][0] == me:
                _STARTS.set(starts[:i] + starts[i + 1 :])
                self._record(starts[i][1], exc_type is not None)
                return
        raise MetricError(f"timer {self._name!r} exited without being entered")

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = _perf_ns()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    self._record(start, True)
                    raise
                self._record(start, False)
                return result

            return timed_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = _perf_ns()
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                self._record(start, True)
                raise
            self._record(start, False)
            return result

        return timed  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Timer(name={self._name!r}, tags={self._tags!r})"


_STARTS: contextvars.ContextVar[tuple[tuple[int, int], ...]] = contextvars.ContextVar(
    "perflab_timer_starts", default=()
)


# -- validation (slow paths of record_metric) ------------------------------------


def _check_value(name: object, value: object) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            number = float(value)
        except (OverflowError, ValueError, TypeError):
            number = math.nan
        if math.isfinite(number):
            return number
    raise MetricError(f"metric {name!r}: value must be a finite real number, not {value!r}")


def _check_strings(name: object, unit: object) -> None:
    if not isinstance(name, str) or not name:
        raise MetricError(f"metric name must be a non-empty str, not {name!r}")
    if not isinstance(unit, str):
        raise MetricError(f"metric {name!r}: unit must be a str, not {unit!r}")


def _check_timestamp(name: object, timestamp: object) -> int:
    """A sample's time as int64 nanoseconds: a datetime (naive is UTC) or int ns."""
    if isinstance(timestamp, datetime):
        try:
            return epoch_ns(timestamp, what="timestamp")
        except ParameterError as exc:
            raise MetricError(f"metric {name!r}: {exc}") from None
    if isinstance(timestamp, numbers.Integral) and not isinstance(timestamp, bool):
        ns = int(timestamp)
        if -(2**63) <= ns < 2**63:
            return ns
    raise MetricError(
        f"metric {name!r}: timestamp must be a datetime or int nanoseconds since the epoch, "
        f"not {timestamp!r}"
    )


def _check_tags(name: object, tags: object) -> Mapping[str, object]:
    """The ``tags`` of mark_start/timer: None or a mapping with valid keys."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise MetricError(f"metric {name!r}: tags must be a mapping, not {tags!r}")
    _check_tag_keys(name, tags)
    return tags


def _check_tag_keys(name: object, tags: Mapping[Any, object]) -> None:
    for key in tags:
        if type(key) is not str or not key or key in CORE_COLUMNS:
            raise MetricError(
                f"metric {name!r}: tag key {key!r} must be a non-empty str other than "
                + ", ".join(CORE_COLUMNS)
            )


def _tag_value(value: object) -> str | None:
    return None if value is None else str(value)


# -- files -----------------------------------------------------------------------


def _write_spill_file(df: pl.DataFrame, path: Path) -> None:
    write_atomic(path, df.write_parquet)


def _serialise(df: pl.DataFrame, suffix: str) -> bytes | str:
    if suffix == ".parquet":
        buf = io.BytesIO()
        df.write_parquet(buf)
        return buf.getvalue()
    if suffix == ".csv":
        return df.write_csv()
    return df.write_ndjson()


# -- the process-wide default ----------------------------------------------------

_default: Monitor | None = None
_default_lock = threading.Lock()


def default_monitor() -> Monitor:
    """The process-wide :class:`Monitor`, created on first use.

    Examples
    --------
    >>> default_monitor() is default_monitor()
    True
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Monitor()
    return _default


def record_metric(
    name: str,
    value: float,
    unit: str,
    *,
    tags: Mapping[str, object] | None = None,
    timestamp: int | datetime | None = None,
) -> None:
    """Record a sample on the default monitor; see :meth:`Monitor.record_metric`.

    Examples
    --------
    >>> record_metric("cache_hit_ratio", 0.93, "1", tags={"cache": "redis"})
    >>> default_monitor().to_frame().tail(1).get_column("value").to_list()
    [0.93]
    """
    (_default or default_monitor()).record_metric(name, value, unit, tags=tags, timestamp=timestamp)


def mark_start(name: str, *, tags: Mapping[str, object] | None = None) -> MarkToken:
    """Start a measurement on the default monitor; see :meth:`Monitor.mark_start`.

    Examples
    --------
    >>> token = mark_start("startup")
    >>> mark_end(token) >= 0
    True
    """
    return default_monitor().mark_start(name, tags=tags)


def mark_end(token: MarkToken) -> float:
    """End a measurement started by :func:`mark_start`; see :meth:`Monitor.mark_end`.

    Examples
    --------
    >>> mark_end(mark_start("warmup")) >= 0
    True
    """
    monitor = token._monitor() if isinstance(token, MarkToken) else None
    return (monitor or default_monitor()).mark_end(token)


def timer(name: str, *, tags: Mapping[str, object] | None = None) -> Timer:
    """A :class:`Timer` on the default monitor; see :meth:`Monitor.timer`.

    Examples
    --------
    >>> @timer("job")
    ... def job():
    ...     return 42
    >>> job()
    42
    """
    return default_monitor().timer(name, tags=tags)

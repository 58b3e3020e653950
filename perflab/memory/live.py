"""Live memory: :class:`MemorySampler`, :class:`GCTracker` and tracemalloc diffs.

* :class:`MemorySampler` samples one process (this one, or any pid) with psutil in a
  background thread and hands the samples back as a ``SAMPLES`` frame
  (:mod:`perflab.memory.schema`).
* :class:`GCTracker` records every CPython collection through ``gc.callbacks`` and
  hands them back as a ``GC_EVENTS`` frame.

Tracemalloc snapshots by allocation site are in :mod:`perflab.memory.allocations`.

What the sampler reads
----------------------
Every ``interval`` seconds: ``rss`` and ``vms`` (``memory_info``), ``threads``
(``num_threads``), ``open_files`` and, with ``system=True``, ``system_available``
and ``system_used`` (``psutil.virtual_memory``). ``open_files`` is the number of open
file descriptors on POSIX (``num_fds``: files, sockets and pipes alike; one directory
listing) and the number of open regular files elsewhere (``len(open_files())``,
slower). Every ``full_interval`` seconds it also reads ``memory_full_info`` — ``uss``
everywhere psutil has it, ``pss`` and ``swap`` on Linux — which walks the process's
memory map and costs far more, hence its own slower interval (``None`` turns it off).

A sample is taken when the sampler starts and another when it stops, so a ``with``
block always has its memory before and after, however long the interval.

Why hand-written
----------------
Samples go into preallocated numpy arrays used as a ring buffer (17 bytes a row), so
a sampler left running for days holds at most ``max_samples`` rows; when it is full
the oldest rows are overwritten (``dropped`` counts them, and it is logged once).
``GCTracker`` does the same with ``max_events``; its callback runs inside every
collection of the process, so it does a few array stores and nothing else.

Bad input
---------
A pid with no process is a :class:`~perflab.errors.ParameterError` at construction.
Fields the operating system does not let us read (``psutil.AccessDenied``, typically
``uss``/``pss``/``swap`` and ``open_files`` of another user's process) are left out
with a warning and the rest is sampled; when no field of the process can be read, a
``ParameterError`` says so. A process that exits while sampled ends the sampling:
``exited`` becomes true, a warning is logged, and the samples so far are kept.
"""

from __future__ import annotations

import gc
import logging
import math
import numbers
import os
import threading
import time
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Any

import numpy as np
import polars as pl
import psutil

from perflab.errors import ParameterError, positive_int
from perflab.memory.schema import GC_EVENTS, SAMPLES

__all__ = [
    "SERIES",
    "GCTracker",
    "MemorySampler",
]

logger = logging.getLogger(__name__)

SERIES: tuple[str, ...] = (
    "rss",
    "vms",
    "uss",
    "pss",
    "swap",
    "open_files",
    "threads",
    "system_available",
    "system_used",
)
"""Every series a :class:`MemorySampler` can produce, in the order of a sample."""

_CODE = {name: i for i, name in enumerate(SERIES)}
_FULL = ("uss", "pss", "swap")
_POSIX = os.name == "posix"

# A process field: the series it gives, and how to read them from a psutil.Process.
_Reader = Callable[[psutil.Process], list[tuple[int, float]]]


def _read_memory(p: psutil.Process) -> list[tuple[int, float]]:
    info = p.memory_info()
    if info.vms == 0:
        # A user process always has an address space; between releasing it and
        # becoming a zombie an exiting process reads as zeros. (Kernel threads never
        # have one: the constructor refuses them.)
        raise psutil.NoSuchProcess(p.pid, msg="its address space is gone (exiting)")
    return [(_CODE["rss"], float(info.rss)), (_CODE["vms"], float(info.vms))]


def _read_files(p: psutil.Process) -> list[tuple[int, float]]:
    n = p.num_fds() if _POSIX else len(p.open_files())
    return [(_CODE["open_files"], float(n))]


def _read_threads(p: psutil.Process) -> list[tuple[int, float]]:
    return [(_CODE["threads"], float(p.num_threads()))]


def _read_full(p: psutil.Process) -> list[tuple[int, float]]:
    info = p.memory_full_info()
    return [(_CODE[k], float(getattr(info, k))) for k in _FULL if hasattr(info, k)]


def _read_system() -> list[tuple[int, float]]:
    vm = psutil.virtual_memory()
    return [
        (_CODE["system_available"], float(vm.available)),
        (_CODE["system_used"], float(vm.used)),
    ]


# field name (as reported in ``denied``) → reader; "full" is read on its own interval.
_FIELDS: dict[str, _Reader] = {
    "memory": _read_memory,
    "open_files": _read_files,
    "threads": _read_threads,
    "full": _read_full,
}
_FIELD_SERIES = {
    "memory": ("rss", "vms"),
    "open_files": ("open_files",),
    "threads": ("threads",),
    "full": _FULL,
}


def _positive_seconds(name: str, value: object) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    raise ParameterError(f"{name} must be a positive number of seconds, not {value!r}")


def _process_name(p: psutil.Process) -> str:
    try:
        return p.name() or str(p.pid)
    except psutil.Error:
        return str(p.pid)


class MemorySampler:
    """Samples a process's memory in a background thread, framed on demand.

    Parameters
    ----------
    pid : int, optional
        The process to sample; this process when None.
    interval : float
        Seconds between samples of the cheap fields (rss, vms, open_files, threads,
        system memory).
    full_interval : float or None
        Seconds between reads of ``memory_full_info`` (uss, pss, swap), which walks
        the process's memory map; None never reads it.
    max_samples : int
        Rows kept (one row is one series of one sample, so a sample is 4 to 9 rows).
        When full, the oldest rows are overwritten; :attr:`dropped` counts them.
    system : bool
        Whether to sample system memory (``system_available``, ``system_used``).

    Attributes
    ----------
    pid : int
        The process sampled.
    name : str
        Its name (the ``source`` column).
    series : tuple of str
        The series this sampler produces, after leaving out denied fields.
    denied : tuple of str
        The series left out because the operating system refused to read them.
    exited : bool
        True once the process was seen to have exited; sampling stopped then.
    dropped : int
        Rows overwritten because the buffer was full.

    Raises
    ------
    ParameterError
        A bad parameter, a pid with no process, or a process none of whose fields
        can be read.

    Notes
    -----
    :meth:`to_frame` returns the ``SAMPLES`` schema with its optional columns:
    ``timestamp`` (datetime[μs, UTC], one per sample, shared by its rows), ``series``
    (str, see :data:`SERIES`), ``value`` (f64: bytes, or a count for ``open_files``
    and ``threads``), ``pid`` (i64) and ``source`` (str, the process name). Sampling
    this process counts the sampler's own thread in ``threads``.

    Examples
    --------
    >>> with MemorySampler(interval=0.1, full_interval=None) as sampler:
    ...     blob = bytearray(10_000_000)
    >>> df = sampler.to_frame()
    >>> sorted(df.get_column("series").unique())
    ['open_files', 'rss', 'system_available', 'system_used', 'threads', 'vms']
    >>> df.filter(series="rss").get_column("value").min() > 0
    True
    """

    def __init__(
        self,
        pid: int | None = None,
        interval: float = 0.5,
        full_interval: float | None = 5.0,
        max_samples: int = 500_000,
        system: bool = True,
    ) -> None:
        if pid is not None and (
            isinstance(pid, bool) or not isinstance(pid, numbers.Integral) or int(pid) < 0
        ):
            raise ParameterError(f"pid must be a non-negative integer or None, not {pid!r}")
        self.interval = _positive_seconds("interval", interval)
        self.full_interval = (
            None if full_interval is None else _positive_seconds("full_interval", full_interval)
        )
        self.max_samples = positive_int("max_samples", max_samples)
        self.system = bool(system)
        self.pid = os.getpid() if pid is None else int(pid)
        try:
            self._process = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            raise ParameterError(f"no process with pid {self.pid}") from None
        except psutil.AccessDenied:
            raise ParameterError(f"process {self.pid}: access denied") from None
        self.name = _process_name(self._process)
        self._fields = self._probe()
        self.exited = False
        self.error: BaseException | None = None
        self._stamps = np.empty(self.max_samples, dtype=np.int64)
        self._codes = np.empty(self.max_samples, dtype=np.uint8)
        self._values = np.empty(self.max_samples, dtype=np.float64)
        self._n = 0  # rows ever written; the buffer holds the last min(n, max_samples)
        self._lock = threading.Lock()  # guards the buffer
        self._sample_lock = threading.Lock()  # one sample at a time (psutil's oneshot)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_full = -math.inf

    # -- set-up ----------------------------------------------------------------

    def _probe(self) -> dict[str, _Reader]:
        """Read every field once; keep those the OS lets us read, warn about the rest."""
        wanted = [f for f in _FIELDS if f != "full" or self.full_interval is not None]
        fields: dict[str, _Reader] = {}
        denied: list[str] = []
        try:
            if self._process.memory_info().vms == 0:
                raise ParameterError(
                    f"process {self.pid} ({self.name}) has no user address space "
                    "(a kernel thread, or exiting): nothing to sample"
                )
        except psutil.NoSuchProcess:
            raise ParameterError(f"no process with pid {self.pid} (it exited)") from None
        except psutil.AccessDenied:
            pass
        for field in wanted:
            reader = _FIELDS[field]
            try:
                series = [SERIES[code] for code, _ in reader(self._process)]
            except psutil.NoSuchProcess:
                raise ParameterError(f"no process with pid {self.pid} (it exited)") from None
            except psutil.AccessDenied:
                denied.extend(_FIELD_SERIES[field])
                continue
            if series:
                fields[field] = reader
        if not fields:
            raise ParameterError(
                f"process {self.pid} ({self.name}): access denied to every field "
                f"({', '.join(denied)}); sample it as its owner or as root"
            )
        self.denied: tuple[str, ...] = tuple(denied)
        if denied:
            msg = (
                f"process {self.pid} ({self.name}): access denied to "
                f"{', '.join(denied)}; sampling the other series only"
            )
            logger.warning(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
        full: tuple[str, ...] = ()
        if "full" in fields:
            full = tuple(k for k in _FULL if hasattr(self._process.memory_full_info(), k))
        names: set[str] = set(full)
        for field in fields:
            if field != "full":
                names.update(_FIELD_SERIES[field])
        if self.system:
            names.update(("system_available", "system_used"))
        self.series: tuple[str, ...] = tuple(s for s in SERIES if s in names)
        return fields

    # -- control ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> MemorySampler:
        """Take a sample now and start sampling every ``interval`` in a daemon thread.

        A stopped sampler can be started again; its samples accumulate.

        Raises
        ------
        RuntimeError
            The sampler is running already.
        """
        if self.running:
            raise RuntimeError("the memory sampler is running already")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"perflab-memory-sampler-{self.pid}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> MemorySampler:
        """Stop the thread and take a last sample (full info included) unless exited.

        Safe to call on a sampler that is not running.
        """
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join()
            if not self.exited and self.error is None:
                self.sample(full=self.full_interval is not None)
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until sampling ends (the process exits, or :meth:`stop`).

        Returns
        -------
        bool
            True when sampling has ended, False when ``timeout`` seconds passed first.
        """
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def __enter__(self) -> MemorySampler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- sampling --------------------------------------------------------------

    def sample(self, *, full: bool = False) -> bool:
        """Take one sample now, from the calling thread.

        Parameters
        ----------
        full : bool
            Also read ``memory_full_info`` (uss, pss, swap) when the sampler reads it.

        Returns
        -------
        bool
            False when the process has exited (:attr:`exited` is then true).
        """
        if self.exited:
            return False
        with self._sample_lock:
            stamp = time.time_ns() // 1000
            rows: list[tuple[int, float]] = []
            p = self._process
            try:
                with p.oneshot():
                    if p.status() == psutil.STATUS_ZOMBIE:
                        raise psutil.ZombieProcess(self.pid)
                    for field, reader in list(self._fields.items()):
                        if field == "full" and not full:
                            continue
                        try:
                            rows.extend(reader(p))
                        except psutil.AccessDenied:
                            del self._fields[field]
                            self.denied += _FIELD_SERIES[field]
                            logger.warning(
                                "process %d (%s): access denied to %s from now on",
                                self.pid,
                                self.name,
                                ", ".join(_FIELD_SERIES[field]),
                            )
            except psutil.NoSuchProcess:  # ZombieProcess included
                self.exited = True
                logger.warning(
                    "process %d (%s) exited; sampling stopped, %d sample row(s) kept",
                    self.pid,
                    self.name,
                    min(self._n, self.max_samples),
                )
                return False
            if self.system:
                rows.extend(_read_system())
            self._append(stamp, rows)
        return True

    def _append(self, stamp: int, rows: list[tuple[int, float]]) -> None:
        cap = self.max_samples
        with self._lock:
            before = self._n
            for code, value in rows:
                i = self._n % cap
                self._stamps[i] = stamp
                self._codes[i] = code
                self._values[i] = value
                self._n += 1
        if before <= cap < self._n:
            logger.info(
                "memory sampler of pid %d holds %d rows; the oldest are dropped from now on",
                self.pid,
                cap,
            )

    def _run(self) -> None:
        clock = time.monotonic
        next_t = clock()
        try:
            while True:
                now = clock()
                full = self.full_interval is not None and now >= self._next_full
                if full:
                    self._next_full = now + (self.full_interval or 0.0)
                if not self.sample(full=full):
                    return
                next_t += self.interval
                now = clock()
                if next_t < now:  # a slow sample: skip the ticks missed, keep the grid
                    next_t += math.ceil((now - next_t) / self.interval) * self.interval
                if self._stop.wait(next_t - now):
                    return
        except Exception as exc:
            self.error = exc
            logger.exception("memory sampler of pid %d failed; sampling stopped", self.pid)

    # -- results ---------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Rows overwritten because the buffer was full."""
        return max(0, self._n - self.max_samples)

    def __len__(self) -> int:
        return min(self._n, self.max_samples)

    def to_frame(self) -> pl.DataFrame:
        """The samples held, oldest first, as a ``SAMPLES`` frame (with pid and source).

        Examples
        --------
        >>> s = MemorySampler(full_interval=None, system=False)
        >>> s.sample()
        True
        >>> s.to_frame().get_column("series").to_list()
        ['rss', 'vms', 'open_files', 'threads']
        """
        with self._lock:
            n, cap = self._n, self.max_samples
            if n <= cap:
                stamps, codes, values = (
                    self._stamps[:n].copy(),
                    self._codes[:n].copy(),
                    self._values[:n].copy(),
                )
            else:
                start = n % cap
                order = np.r_[start:cap, 0:start]
                stamps, codes, values = self._stamps[order], self._codes[order], self._values[order]
        names = pl.Series("series", SERIES, dtype=pl.String)
        df = pl.DataFrame(
            {
                "timestamp": pl.Series(stamps, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                "series": names.gather(pl.Series(codes, dtype=pl.UInt32)),
                "value": pl.Series(values, dtype=pl.Float64),
            }
        ).with_columns(
            pl.lit(self.pid, pl.Int64).alias("pid"), pl.lit(self.name, pl.String).alias("source")
        )
        return SAMPLES.validate(df)

    def __repr__(self) -> str:
        state = "exited" if self.exited else "running" if self.running else "stopped"
        return (
            f"MemorySampler(pid={self.pid}, name={self.name!r}, interval={self.interval}, "
            f"{state}, rows={len(self)})"
        )


class GCTracker:
    """Records every CPython garbage collection of this process.

    Hooks ``gc.callbacks``: a collection's ``start`` phase notes the time, its
    ``stop`` phase stores the generation, the pause and the objects collected and
    found uncollectable.

    Parameters
    ----------
    max_events : int
        Collections kept; when full, the oldest are overwritten (:attr:`dropped`).

    Notes
    -----
    :meth:`to_frame` returns the ``GC_EVENTS`` schema with ``pid`` and ``source``:
    ``kind`` is ``gen0``/``gen1``/``gen2``, ``pause_ms`` the time between the two
    phases (``perf_counter``), ``elapsed_s`` the collection's start in seconds since
    the tracker was first started, ``timestamp`` its wall time (UTC); ``collected``
    and ``uncollectable`` are CPython's counts (their sum is what ``gc.collect()``
    returns). The V8-only columns (``before_bytes``, ``after_bytes``,
    ``committed_bytes``, ``reason``, ``mutator_util``) are null.

    The callback is a bound method, so a tracker that is never stopped stays alive in
    ``gc.callbacks``: use it as a context manager, or call :meth:`stop`.

    Examples
    --------
    >>> import gc
    >>> with GCTracker() as tracker:
    ...     n = gc.collect()
    >>> tracker.to_frame().filter(kind="gen2").height >= 1
    True
    """

    def __init__(self, max_events: int = 100_000) -> None:
        self.max_events = positive_int("max_events", max_events)
        cap = self.max_events
        self._gen = np.empty(cap, dtype=np.int8)
        self._wall_us = np.empty(cap, dtype=np.int64)
        self._elapsed_ns = np.empty(cap, dtype=np.int64)
        self._pause_ns = np.empty(cap, dtype=np.int64)
        self._collected = np.empty(cap, dtype=np.int64)
        self._uncollectable = np.empty(cap, dtype=np.int64)
        self._n = 0
        # Seqlock: odd while the callback writes a row; to_frame copies until it reads
        # the same even value before and after. The callback cannot take a lock: a
        # collection can start inside to_frame's own thread while it holds one.
        self._seq = 0
        self._t0_ns: int | None = None
        self._start_ns: int | None = None
        self._start_wall_ns = 0
        self._installed = False
        self.pid = os.getpid()
        self.name = _process_name(psutil.Process(self.pid))

    @property
    def running(self) -> bool:
        """Whether the callback is installed."""
        return self._installed

    def start(self) -> GCTracker:
        """Install the callback; ``elapsed_s`` counts from the first start.

        Raises
        ------
        RuntimeError
            The tracker is running already.
        """
        if self._installed:
            raise RuntimeError("the GC tracker is running already")
        if self._t0_ns is None:
            self._t0_ns = time.perf_counter_ns()
        self._start_ns = None
        gc.callbacks.append(self._callback)
        self._installed = True
        return self

    def stop(self) -> GCTracker:
        """Remove the callback (every copy of it); safe to call at any time."""
        self._installed = False
        while True:
            try:
                gc.callbacks.remove(self._callback)
            except ValueError:
                break
        return self

    def __enter__(self) -> GCTracker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start_wall_ns = time.time_ns()
            self._start_ns = time.perf_counter_ns()
            return
        start = self._start_ns
        if start is None or self._t0_ns is None:  # started mid-collection
            return
        pause = time.perf_counter_ns() - start
        self._start_ns = None
        i = self._n % self.max_events
        self._seq += 1
        self._gen[i] = info.get("generation", -1)
        self._wall_us[i] = self._start_wall_ns // 1000
        self._elapsed_ns[i] = start - self._t0_ns
        self._pause_ns[i] = pause
        self._collected[i] = info.get("collected", 0)
        self._uncollectable[i] = info.get("uncollectable", 0)
        self._n += 1
        self._seq += 1

    @property
    def dropped(self) -> int:
        """Collections overwritten because the buffer was full."""
        return max(0, self._n - self.max_events)

    def __len__(self) -> int:
        return min(self._n, self.max_events)

    def _copy(self) -> tuple[np.ndarray[Any, Any], ...]:
        arrays = (
            self._gen,
            self._wall_us,
            self._elapsed_ns,
            self._pause_ns,
            self._collected,
            self._uncollectable,
        )
        while True:
            seq = self._seq
            if seq % 2 == 0:
                n, cap = self._n, self.max_events
                if n <= cap:
                    out = tuple(a[:n].copy() for a in arrays)
                else:
                    order = np.r_[n % cap : cap, 0 : n % cap]
                    out = tuple(a[order] for a in arrays)
                if self._seq == seq:
                    return out
            time.sleep(0)

    def to_frame(self) -> pl.DataFrame:
        """The collections held, oldest first, as a ``GC_EVENTS`` frame.

        Examples
        --------
        >>> GCTracker().to_frame().height
        0
        """
        gen, wall, elapsed, pause, collected, uncollectable = self._copy()
        n = len(gen)
        kinds = pl.Series(["gen0", "gen1", "gen2"], dtype=pl.String)
        null_f64 = pl.Series([None] * n, dtype=pl.Float64)
        df = pl.DataFrame(
            {
                "elapsed_s": pl.Series(elapsed, dtype=pl.Float64) / 1e9,
                "timestamp": pl.Series(wall, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                "kind": kinds.gather(pl.Series(gen, dtype=pl.UInt32)),
                "pause_ms": pl.Series(pause, dtype=pl.Float64) / 1e6,
                "before_bytes": null_f64,
                "after_bytes": null_f64,
                "committed_bytes": null_f64,
                "reason": pl.Series([None] * n, dtype=pl.String),
                "mutator_util": null_f64,
                "collected": pl.Series(collected, dtype=pl.Int64),
                "uncollectable": pl.Series(uncollectable, dtype=pl.Int64),
            }
        ).with_columns(
            pl.lit(self.pid, pl.Int64).alias("pid"), pl.lit(self.name, pl.String).alias("source")
        )
        return GC_EVENTS.validate(df)

    def __repr__(self) -> str:
        state = "running" if self._installed else "stopped"
        return f"GCTracker({state}, events={len(self)})"

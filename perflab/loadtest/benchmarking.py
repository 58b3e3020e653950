"""Time two alternatives against each other, interleaved, like hyperfine or pyperf.

:func:`benchmark` runs each alternative a few times to warm up (caches, JIT, the
page cache of a binary), then times ``runs`` rounds; each round runs both, and the
order alternates (AB, BA, AB …) so that a drift of the machine — a CPU heating up,
a backup starting — falls on both alike instead of on whichever ran second. Times
are ``time.perf_counter_ns`` around the call (or around the command's process, from
spawn to exit: for a command this includes starting it, and for a shell string the
shell, which hyperfine subtracts and perflab does not — both sides pay it).

The result holds one REQUESTS frame per alternative, so everything that reads a
load test reads a benchmark: :func:`~perflab.loadtest.summary`, the charts, and
:meth:`BenchmarkResult.compare` (which calls :func:`~perflab.loadtest.compare`).
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.loadtest.schema import REQUESTS

__all__ = ["BenchmarkResult", "benchmark"]

logger = logging.getLogger(__name__)

Target = Callable[[], Any] | str | Sequence[str]
"""What :func:`benchmark` times: a zero-argument callable, a shell command string, or
a command as an argument list (run without a shell)."""

BENCHMARK_METRICS: tuple[str, ...] = ("mean", "p50", "p95", "error_rate")
"""The metrics :meth:`BenchmarkResult.compare` reports by default (throughput means
nothing for runs that take turns)."""


@dataclass(frozen=True)
class BenchmarkResult:
    """The timed runs of a :func:`benchmark`.

    Attributes
    ----------
    baseline, candidate : polars.DataFrame
        REQUESTS frames, one row per timed run: ``name`` the alternative's name,
        ``start``/``sent`` seconds since the first timed run began, ``latency_ms``
        the run's duration (null when a command was killed at the timeout),
        ``error`` why a run failed (an exception, ``exit status 1``, ``timeout``).
    names : tuple of str
        The two names.

    Unpacks as ``baseline, candidate = benchmark(...)``.

    Examples
    --------
    >>> r = benchmark(lambda: None, lambda: None, runs=2, warmup=0, names=("a", "b"))
    >>> baseline, candidate = r
    >>> baseline.height, r.names, r.frame["name"].to_list()
    (2, ('a', 'b'), ['a', 'b', 'b', 'a'])
    """

    baseline: pl.DataFrame
    candidate: pl.DataFrame
    names: tuple[str, str] = ("baseline", "candidate")

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return iter((self.baseline, self.candidate))

    @property
    def frame(self) -> pl.DataFrame:
        """Both alternatives' runs in one REQUESTS frame, in the order they ran.

        Examples
        --------
        >>> benchmark(lambda: None, lambda: None, runs=3, warmup=0).frame.height
        6
        """
        return pl.concat([self.baseline, self.candidate]).sort("start")

    def compare(self, **options: Any) -> pl.DataFrame:
        """:func:`perflab.loadtest.compare` of the candidate against the baseline.

        ``options`` go to ``compare``; ``metrics`` defaults to
        :data:`BENCHMARK_METRICS`.

        Parameters
        ----------
        **options
            Keyword arguments of :func:`perflab.loadtest.compare` (``alpha``,
            ``margin``, ``metrics``…).

        Returns
        -------
        polars.DataFrame
            A COMPARISON frame (:data:`~perflab.loadtest.schema.COMPARISON`): one row
            per metric, the candidate's change against the baseline, its confidence
            interval and verdict.

        Raises
        ------
        ParameterError
            A bad option value (``alpha``, ``margin``, ``metrics``…; see
            :func:`~perflab.loadtest.compare`).

        Examples
        --------
        >>> r = benchmark(lambda: None, lambda: sum(range(2000)), runs=20, warmup=1)
        >>> r.compare().filter(pl.col("metric") == "mean").get_column("verdict").to_list()
        ['slower']
        """
        from perflab.loadtest.comparison import compare

        options.setdefault("metrics", BENCHMARK_METRICS)
        return compare(self.baseline, self.candidate, **options)


def _runner(
    target: Target, timeout: float | None, what: str
) -> Callable[[], tuple[int, str | None]]:
    """A function that runs ``target`` once: ``(elapsed ns or -1, error or None)``."""
    if callable(target):
        fn = target

        def call() -> tuple[int, str | None]:
            t0 = time.perf_counter_ns()
            try:
                fn()
            except Exception as exc:  # a failing run is data, not a crash
                return time.perf_counter_ns() - t0, f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter_ns() - t0
            if timeout is not None and elapsed > timeout * 1e9:
                return elapsed, f"timeout: took longer than {timeout:g} s (not interrupted)"
            return elapsed, None

        return call
    if isinstance(target, str):
        if not target.strip():
            raise ParameterError(f"{what} is an empty command")
        argv: str | list[str] = target
        shell = True
    elif isinstance(target, Sequence) and target and all(isinstance(a, str) for a in target):
        argv, shell = list(target), False
    else:
        raise ParameterError(
            f"{what} must be a zero-argument callable, a shell command string or a list of "
            f"arguments, not {target!r}"
        )

    def run() -> tuple[int, str | None]:
        t0 = time.perf_counter_ns()
        try:
            proc = subprocess.Popen(
                argv,
                shell=shell,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=os.name == "posix",  # a group to kill on timeout
            )
        except OSError as exc:
            return time.perf_counter_ns() - t0, f"cannot start: {exc}"
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return -1, f"timeout after {timeout:g} s"
        except BaseException:  # interrupted: leave nothing running
            _kill(proc)
            raise
        elapsed = time.perf_counter_ns() - t0
        if code != 0:
            return elapsed, f"exit status {code}"
        return elapsed, None

    return run


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill a command and whatever it started (its process group), then reap it."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


def _label(target: Target) -> str:
    if isinstance(target, str):
        return target
    if callable(target):
        return getattr(target, "__name__", repr(target))
    return shlex.join(target)


def benchmark(
    a: Target,
    b: Target,
    *,
    runs: int = 30,
    warmup: int = 3,
    names: tuple[str, str] = ("baseline", "candidate"),
    setup: Callable[[], Any] | str | Sequence[str] | None = None,
    timeout: float | None = None,
) -> BenchmarkResult:
    """Time ``a`` (the baseline) and ``b`` (the candidate), interleaved.

    Parameters
    ----------
    a, b : callable, str or list of str
        A zero-argument callable, a shell command (``"sleep 0.01"``, run with
        ``/bin/sh``), or an argument list (``["gzip", "-k", "f"]``, no shell).
        A command's output is discarded.
    runs : int
        Timed runs of each (rounds).
    warmup : int
        Untimed runs of each before the first timed one.
    names : (str, str)
        The ``name`` of the baseline's and the candidate's rows.
    setup : callable, str or list of str, optional
        Run (untimed) before *every* run, warm-up included — hyperfine's
        ``--prepare``: to clear a cache, reset a file. A failing setup stops the
        benchmark (``RuntimeError``).
    timeout : float, optional
        Seconds a run may take. A command is killed then (its row: no latency,
        error ``timeout after …``); a callable cannot be interrupted, so its run
        is timed to the end and marked as failed.

    Returns
    -------
    BenchmarkResult
        ``.baseline`` and ``.candidate`` REQUESTS frames (``runs`` rows each),
        ``.compare()``.

    Raises
    ------
    ParameterError
        ``runs`` < 1, ``warmup`` < 0, a timeout that is not positive, names that are
        not two different ones, or a target that is none of the three kinds.
    RuntimeError
        ``setup`` failed before a run.

    Examples
    --------
    >>> r = benchmark(lambda: None, "true", runs=3, warmup=0, names=("noop", "true"))
    >>> r.candidate.select("name", "error", pl.col("latency_ms") > 0)
    shape: (3, 3)
    ┌──────┬───────┬────────────┐
    │ name ┆ error ┆ latency_ms │
    │ ---  ┆ ---   ┆ ---        │
    │ str  ┆ str   ┆ bool       │
    ╞══════╪═══════╪════════════╡
    │ true ┆ null  ┆ true       │
    │ true ┆ null  ┆ true       │
    │ true ┆ null  ┆ true       │
    └──────┴───────┴────────────┘
    """
    if int(runs) < 1 or int(warmup) < 0:
        raise ParameterError(f"runs must be ≥ 1 and warmup ≥ 0, not {runs} and {warmup}")
    if timeout is not None and not timeout > 0:
        raise ParameterError(f"timeout must be a positive number of seconds, not {timeout}")
    if len(names) != 2 or names[0] == names[1]:
        raise ParameterError(f"names must be two different names, not {names!r}")
    runners = (_runner(a, timeout, "a"), _runner(b, timeout, "b"))
    prepare = _runner(setup, None, "setup") if setup is not None else None

    def prepared(i: int) -> None:
        if prepare is not None:
            _, err = prepare()
            if err is not None:
                raise RuntimeError(f"setup failed before a run of {names[i]}: {err}")

    logger.info("benchmark: %s vs %s, %d warm-up + %d runs", _label(a), _label(b), warmup, runs)
    for _ in range(int(warmup)):
        for i in (0, 1):
            prepared(i)
            runners[i]()
    rows: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    t0 = time.perf_counter_ns()
    for r in range(int(runs)):
        for i in (0, 1) if r % 2 == 0 else (1, 0):
            prepared(i)
            begun = (time.perf_counter_ns() - t0) / 1e9
            elapsed, err = runners[i]()
            rows[i].append(
                {
                    "start": begun,
                    "sent": begun,
                    "latency_ms": elapsed / 1e6 if elapsed >= 0 else None,
                    "error": err,
                    "name": names[i],
                }
            )
    return BenchmarkResult(REQUESTS.build(rows[0]), REQUESTS.build(rows[1]), (names[0], names[1]))

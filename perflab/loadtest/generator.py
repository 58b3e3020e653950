"""``run()``: drive an HTTP target and return every request as a ``REQUESTS`` frame.

The work is done by worker processes (:mod:`perflab.loadtest._engine`), each with its
own event loop (uvloop where installed), its own keep-alive connections and its own
share of the arrival schedule: by default one process per 20,000 requests/s of the
peak rate (per 200 users in a closed model), at least one and at most the number of
cores (``workers=0`` runs the engine in a thread instead). They start on one shared clock
after every connection is open, and each streams its requests to a Parquet part that
:func:`run` merges at the end. While the test runs the workers send counts and
latency histograms (:class:`~perflab.loadtest.histogram.Histogram`) every half second
for the progress bar's live rate and p95.
"""

from __future__ import annotations

import logging
import math
import os
import queue as queue_mod
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import polars as pl

from perflab.errors import ParameterError, PerflabError
from perflab.frames import write_atomic
from perflab.loadtest._engine import ERRORS, Process, Spec, Thread
from perflab.loadtest.histogram import Histogram
from perflab.loadtest.scenario import Request, Scenario, as_scenario
from perflab.loadtest.schema import REQUESTS

__all__ = ["TargetUnreachableError", "run"]

logger = logging.getLogger(__name__)

RateSpec = float | Sequence[tuple[float, float]]


class TargetUnreachableError(PerflabError, ConnectionError):
    """The target refused or did not answer the first connections (nothing was sent).

    :func:`run` raises it before the test when a first connection to the target
    cannot be opened within ``connect_timeout``. It is a :class:`ConnectionError` too,
    so ``except ConnectionError`` catches it.

    Examples
    --------
    >>> import socket
    >>> with socket.socket() as s:  # a port nothing listens on
    ...     s.bind(("127.0.0.1", 0))
    ...     port = s.getsockname()[1]
    >>> try:
    ...     run(f"http://127.0.0.1:{port}", rate=10, duration=1, workers=0)
    ... except TargetUnreachableError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ConnectionError))
    TargetUnreachableError True
    """


def _stages(
    rate: RateSpec, duration: float | None, start_rate: float
) -> tuple[tuple[tuple[float, float, float], ...], float]:
    if isinstance(rate, int | float):
        if not (rate > 0 and math.isfinite(rate)):
            raise ParameterError(f"rate must be a positive number of requests/s, not {rate!r}")
        if duration is None or not duration > 0:
            raise ParameterError("duration (seconds, > 0) is needed with a constant rate")
        return ((float(duration), float(rate), float(rate)),), float(duration)
    stages = []
    previous = float(start_rate)
    for i, stage in enumerate(rate):
        try:
            seconds, target = (float(x) for x in stage)
        except (TypeError, ValueError):
            raise ParameterError(f"stage {i} must be (seconds, rate), not {stage!r}") from None
        if not (seconds > 0 and target >= 0 and math.isfinite(seconds + target)):
            raise ParameterError(f"stage {i}: seconds must be > 0 and rate ≥ 0, not {stage!r}")
        stages.append((seconds, previous, target))
        previous = target
    if not stages:
        raise ParameterError("a ramp needs at least one (seconds, rate) stage")
    total = sum(s[0] for s in stages)
    if duration is not None and abs(duration - total) > 1e-9:
        raise ParameterError(f"duration {duration} differs from the stages' {total} s")
    if all(s[1] == 0 and s[2] == 0 for s in stages):
        raise ParameterError("every stage has a rate of 0: nothing to send")
    return tuple(stages), total


def _target(target: str) -> tuple[str, int, bool, str, str]:
    parts = urlsplit(target if "://" in target else f"http://{target}")
    if parts.scheme not in ("http", "https"):
        raise ParameterError(f"the target must be an http:// or https:// URL, not {target!r}")
    if not parts.hostname:
        raise ParameterError(f"the target {target!r} has no host")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError:
        raise ParameterError(f"the target {target!r} has a bad port") from None
    return parts.hostname, port, tls, parts.path or "/", parts.query


def _redact(target: str) -> str:
    parts = urlsplit(target if "://" in target else f"http://{target}")
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _preflight(host: str, port: int, timeout: float, shown: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        raise TargetUnreachableError(
            f"cannot connect to {shown}: no answer within {timeout:g} s (connect_timeout)"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TargetUnreachableError(f"cannot connect to {shown}: {reason}") from None


def _default_workers(peak: float, users: int | None) -> int:
    cores = os.cpu_count() or 1
    need = math.ceil(users / 200) if users else math.ceil(peak / 20_000)
    return max(1, min(cores, need))


def run(
    target: str,
    *,
    rate: RateSpec | None = None,
    users: int | None = None,
    duration: float | None = None,
    scenario: Scenario | Sequence[Request | str | Mapping[str, Any]] | str | None = None,
    start_rate: float = 0.0,
    arrivals: Literal["uniform", "poisson"] = "uniform",
    think_time: float = 0.0,
    ramp_up: float = 0.0,
    warmup: float = 0.0,
    workers: int | None = None,
    connections: int | None = None,
    timeout: float = 10.0,
    connect_timeout: float = 3.0,
    headers: Mapping[str, str] | None = None,
    verify: bool = True,
    out: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    seed: int = 0,
    cluster: Any = None,
) -> pl.DataFrame:
    """Load-test ``target`` and return every request as a ``REQUESTS`` frame.

    Parameters
    ----------
    target : str
        Base URL (``http://127.0.0.1:8080``; ``https://`` too). Scenario paths are
        appended to its path; without a scenario its own path is requested.
    rate : float or sequence of (seconds, rate)
        Open model (the default kind): requests per second, all workers together —
        a constant rate for ``duration``, or a ramp of stages like k6's
        ``ramping-arrival-rate``, each going linearly from the previous stage's rate
        (the first from ``start_rate``) to its own over its seconds.
    users : int
        Closed model instead: this many users, each on its own connection, sending
        a request, waiting for the answer and ``think_time`` seconds, then the next;
        started evenly over ``ramp_up`` seconds. A closed model cannot correct for
        coordinated omission: latency and service time are the same.
    duration : float
        Seconds of the test after the warm-up (derived from the stages of a ramp).
    scenario : Scenario, list, str, optional
        What to send: a :class:`~perflab.loadtest.Scenario`, a list of steps (paths,
        :class:`~perflab.loadtest.Request` s or mappings), one path, or a ``.har``
        file replayed in order.
    arrivals : {"uniform", "poisson"}
        Evenly spaced arrivals (wrk2's and k6's), or a Poisson process (random
        arrivals at the same mean rate: real users' traffic, bursts included).
    warmup : float
        Seconds at the start that run at the same rate but are not in the results.
    workers : int, optional
        Processes; default one per 20 000 requests/s (per 200 users) up to the number
        of cores. ``0`` runs in a thread of this process — no process start-up, for
        small tests.
    connections : int, optional
        Open model: keep-alive connections opened before the test, all workers
        together; default enough for 50 ms per request at the peak rate, at least
        16 and at most 512. A request due while all are busy waits for one, and the
        wait counts in its latency.
    timeout, connect_timeout : float
        Seconds a request may wait (for a connection, then for its whole response),
        and to open a connection.
    headers : mapping, optional
        Headers added to every request.
    verify : bool
        Check the certificate of an ``https://`` target.
    out : path, optional
        Also write the results there as Parquet (atomically).
    progress : bool, optional
        A progress bar on stderr with the live rate and p95; default when stderr is a
        terminal.
    seed : int
        Seed of Poisson arrivals and of the weighted choice of steps.
    cluster : distributed.Client, str or cluster object, optional
        Generate the load from the workers of a Dask cluster instead (a client, a
        scheduler address, or anything :func:`perflab.cluster.connect` takes): the
        rate (or the users) is split evenly among them, they start together on a
        wall-clock time the client sets, and their requests come back merged, with a
        ``worker`` column (the Dask worker's address). ``workers`` then counts engine
        processes per Dask worker (default 0: one engine in a thread of each). See
        :func:`perflab.loadtest.run_cluster` for the merged histogram and the
        per-worker figures. No progress bar then; a Dask worker that cannot connect
        to the target contributes its share as failed requests instead of raising
        :class:`TargetUnreachableError`.

    Returns
    -------
    polars.DataFrame
        ``REQUESTS``: ``start`` (intended send time, s from the end of the warm-up),
        ``sent``, ``latency_ms`` (from ``start``: corrected), ``service_ms`` (from
        ``sent``), ``status``, ``bytes``, ``error``, ``name`` — sorted by ``start``;
        plus ``worker`` with a ``cluster``.

    Raises
    ------
    TargetUnreachableError
        When no connection to the target can be opened (refused, no route, or no
        answer within ``connect_timeout``). Nothing is sent then. (Not with a
        ``cluster``: see above.)
    ParameterError
        For a bad URL, rate, duration or scenario.

    Examples
    --------
    >>> from perflab.loadtest.sample_server import SampleServer
    >>> with SampleServer() as server:
    ...     df = run(server.url, rate=200, duration=0.5, workers=0)
    >>> df.height, df["status"].unique().to_list()
    (100, [200])
    """
    if cluster is not None:
        from perflab.loadtest._cluster import run_cluster

        return run_cluster(
            cluster,
            target,
            rate=rate,
            users=users,
            duration=duration,
            scenario=scenario,
            start_rate=start_rate,
            arrivals=arrivals,
            think_time=think_time,
            ramp_up=ramp_up,
            warmup=warmup,
            workers=workers,
            connections=connections,
            timeout=timeout,
            connect_timeout=connect_timeout,
            headers=headers,
            verify=verify,
            out=out,
            seed=seed,
        ).requests
    plan = _plan(
        target,
        rate=rate,
        users=users,
        duration=duration,
        scenario=scenario,
        start_rate=start_rate,
        arrivals=arrivals,
        think_time=think_time,
        ramp_up=ramp_up,
        warmup=warmup,
        workers=workers,
        connections=connections,
        timeout=timeout,
        connect_timeout=connect_timeout,
        headers=headers,
        verify=verify,
        seed=seed,
    )
    _preflight(plan.host, plan.port, connect_timeout, plan.shown)
    tmp = Path(tempfile.mkdtemp(prefix="perflab-loadtest-"))
    specs = plan.local_specs(tmp)
    try:
        written = _drive(specs, plan.in_process, plan.shown, progress, plan.seconds)
        frame = _merge(specs, plan.names, written)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if out is not None:
        write_atomic(out, frame.write_parquet)
    return frame


@dataclass(frozen=True)
class _Plan:
    """A checked test: the specs of every load-generator slot, paths still unset."""

    specs: tuple[Spec, ...]
    names: tuple[str, ...]
    shown: str
    host: str
    port: int
    length: float  # seconds of the test after the warm-up
    warmup: float
    in_process: bool  # engines in threads of this process (workers=0)
    per_node: int  # slots per node (cluster), or all of them (one machine)

    @property
    def seconds(self) -> float:
        """Seconds of sending, warm-up included."""
        return self.length + self.warmup

    def local_specs(self, folder: Path, first: int = 0, count: int | None = None) -> list[Spec]:
        """Specs ``first … first + count`` with their Parquet parts in ``folder``."""
        chosen = self.specs[first : None if count is None else first + count]
        return [replace(s, path=str(folder / f"part-{s.worker}.parquet")) for s in chosen]


def _plan(
    target: str,
    *,
    rate: RateSpec | None,
    users: int | None,
    duration: float | None,
    scenario: Scenario | Sequence[Request | str | Mapping[str, Any]] | str | None,
    start_rate: float,
    arrivals: str,
    think_time: float,
    ramp_up: float,
    warmup: float,
    workers: int | None,
    connections: int | None,
    timeout: float,
    connect_timeout: float,
    headers: Mapping[str, str] | None,
    verify: bool,
    seed: int,
    nodes: int = 0,
) -> _Plan:
    """Check the parameters and split the test among its slots.

    ``nodes=0`` plans for this machine (``workers`` processes, the slots with nothing to
    do dropped); ``nodes=N`` for N machines of ``max(workers, 1)`` slots each (``workers``
    defaults to 0 there: one engine in a thread of each node), every slot kept so that
    node ``k`` runs slots ``k·per_node …``.
    """
    if (rate is None) == (users is None):
        raise ParameterError("give either rate= (open model) or users= (closed model)")
    host, port, tls, path, query = _target(target)
    shown = _redact(target)
    if scenario is None:
        scen, base = Scenario([path + (f"?{query}" if query else "")]), ""
        query = ""
    else:
        scen, base = as_scenario(scenario), path
    if not (timeout > 0 and connect_timeout > 0):
        raise ParameterError("timeout and connect_timeout must be > 0 seconds")
    if warmup < 0:
        raise ParameterError(f"warmup must be ≥ 0 seconds, not {warmup!r}")
    if arrivals not in ("uniform", "poisson"):
        raise ParameterError(f"arrivals must be 'uniform' or 'poisson', not {arrivals!r}")
    if rate is not None:
        model = "open"
        stages, length = _stages(rate, duration, start_rate)
        if warmup:
            first = stages[0][1] if len(stages) and stages[0][1] > 0 else stages[0][2]
            stages = ((warmup, first, first), *stages)
        peak = max(max(s[1], s[2]) for s in stages)
        n_users = 0
    else:
        model = "closed"
        if not (isinstance(users, int) and users > 0):
            raise ParameterError(f"users must be a positive integer, not {users!r}")
        if duration is None or not duration > 0:
            raise ParameterError("duration (seconds, > 0) is needed with users=")
        if think_time < 0 or ramp_up < 0:
            raise ParameterError("think_time and ramp_up must be ≥ 0 seconds")
        length = float(duration)
        stages = ()
        peak = 0.0
        n_users = users
    if nodes:
        n_workers = 0 if workers is None else int(workers)
    else:
        n_workers = _default_workers(peak, users) if workers is None else int(workers)
    if n_workers < 0:
        raise ParameterError(f"workers must be ≥ 0, not {workers!r}")
    slots = max(n_workers, 1) * max(nodes, 1)
    if model == "open":
        total_conns = (
            connections
            if connections is not None
            else max(slots if nodes else 1, min(512, max(16, math.ceil(peak * 0.05))))
        )
        if total_conns < 1:
            raise ParameterError(f"connections must be ≥ 1, not {connections!r}")
        per_worker = [
            total_conns // slots + (1 if w < total_conns % slots else 0) for w in range(slots)
        ]
    else:
        per_worker = [n_users // slots + (1 if w < n_users % slots else 0) for w in range(slots)]
    if min(per_worker) < 1 and nodes:
        what = "users" if model == "closed" else "connections"
        raise ParameterError(
            f"{slots} load generators ({nodes} node(s)) need at least {slots} {what}, "
            f"not {sum(per_worker)}"
        )
    if min(per_worker) < 1:
        slots = sum(1 for c in per_worker if c > 0)
        per_worker = [c for c in per_worker if c > 0]
        n_workers = min(n_workers, slots) if n_workers else 0

    named = f"[{host}]" if ":" in host else host  # an IPv6 address goes in brackets
    host_header = named if port == (443 if tls else 80) else f"{named}:{port}"
    requests = tuple(scen.encode(host_header, base, headers, query))
    specs = tuple(
        Spec(
            host=host,
            port=port,
            tls=tls,
            verify=verify,
            requests=requests,
            head=tuple(scen.is_head()),
            weights=tuple(scen.weights),
            sequence=scen.order == "sequence",
            model=model,
            stages=stages,
            poisson=arrivals == "poisson",
            users=per_worker[w] if model == "closed" else 0,
            think=float(think_time),
            ramp_up=float(ramp_up),
            duration=float(length + warmup),
            warmup=float(warmup),
            connections=per_worker[w],
            timeout=float(timeout),
            connect_timeout=float(connect_timeout),
            worker=w,
            workers=slots,
            seed=int(seed),
            path="",
            total_users=n_users,
        )
        for w in range(slots)
    )
    return _Plan(
        specs=specs,
        names=tuple(scen.names),
        shown=shown,
        host=host,
        port=port,
        length=float(length),
        warmup=float(warmup),
        in_process=n_workers == 0,
        per_node=slots // max(nodes, 1),
    )


def _drive(
    specs: list[Spec],
    in_process: bool,
    shown: str,
    progress: bool | None,
    seconds: float,
    start_at: Callable[[], float] | None = None,
    tally: dict[str, int] | None = None,
) -> int:
    """Start the workers, relay their progress, and return how many rows they wrote.

    ``start_at`` is called once every worker has its connections open and returns the
    shared start (a ``time.perf_counter()`` value; default 50 ms from then); ``tally``
    gets the count of requests sent late (``"late"``).
    """
    events: queue_mod.Queue[tuple[Any, ...]] = queue_mod.Queue()
    kind_of = Thread if in_process else Process
    procs: list[Thread | Process] = []
    finished: set[int] = set()
    bar = None
    ok = False
    try:
        procs.extend(kind_of(s, events) for s in specs)
        ready, opened, wanted = 0, 0, 0
        while ready < len(specs):
            kind, worker, *rest = _next_event(events, procs, 60.0, finished)
            if kind == "ready":
                ready += 1
                opened += rest[0]
                wanted += rest[1]
            elif kind == "unreachable":
                raise TargetUnreachableError(f"cannot connect to {shown}: {rest[0]}")
            elif kind == "failed":
                raise RuntimeError(f"load-test worker {worker} failed:\n{rest[0]}")
        if opened < wanted:
            logger.warning(
                "only %d of %d connections to %s opened; the test runs with those",
                opened,
                wanted,
                shown,
            )
        start = time.perf_counter() + 0.05 if start_at is None else start_at()
        for p in procs:
            p.go(start)
        if progress is None:
            progress = sys.stderr.isatty()
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(seconds, 1), unit="s", desc="load test", leave=True)
        hist = Histogram()
        written = late = completed = 0
        window: list[tuple[float, int]] = [(time.perf_counter(), 0)]
        while len(finished) < len(specs):
            kind, worker, *rest = _next_event(events, procs, seconds + 120.0, finished)
            if kind == "stats":
                completed += rest[0]
                hist.merge(Histogram.from_state(rest[2]))
                now = time.perf_counter()
                window.append((now, completed))
                window = [w for w in window if now - w[0] <= 2.0] or window[-1:]
                if bar is not None:
                    span = window[-1][0] - window[0][0]
                    live = (window[-1][1] - window[0][1]) / span if span > 0 else 0.0
                    bar.n = round(min(max(now - start, 0.0), seconds), 1)
                    bar.set_postfix_str(f"{live:,.0f} req/s, p95 {hist.quantile(0.95):,.1f} ms")
            elif kind == "done":
                finished.add(worker)
                written += rest[0]
                late += rest[2]
                logger.info(
                    "worker %d: %d requests, %.3f CPU seconds from the start of the test",
                    worker,
                    rest[0],
                    rest[1],
                )
            elif kind == "failed":
                raise RuntimeError(f"load-test worker {worker} failed:\n{rest[0]}")
        if tally is not None:
            tally["late"] = late
        if late:
            logger.warning(
                "the load generator fell behind its schedule: %d requests went out more than "
                "50 ms after they were due, whatever the server did; their latency counts that "
                "wait. Give it more workers= (cores) or a lower rate",
                late,
            )
        ok = True
    finally:
        if bar is not None:
            bar.close()
        for p in procs:
            if ok:
                p.stop()
            else:  # an error or an interrupt: stop sending now
                p.abort()
    return written


def _next_event(
    events: Any, procs: list[Any], patience: float, finished: set[int]
) -> tuple[Any, ...]:
    deadline = time.monotonic() + patience
    while True:
        try:
            return tuple(events.get(timeout=0.2))
        except queue_mod.Empty:
            pass
        dead = [p.spec.worker for p in procs if not p.alive() and p.spec.worker not in finished]
        if dead and events.empty():
            raise RuntimeError(
                f"load-test worker {dead[0]} stopped without finishing (killed, or out of memory?)"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"no word from the load-test workers for {patience:g} s")


def _merge(specs: list[Spec], names: Sequence[str], written: int) -> pl.DataFrame:
    parts = [s.path for s in specs if Path(s.path).is_file()]
    if not parts:
        return REQUESTS.empty()
    raw = pl.concat([pl.read_parquet(p) for p in parts], how="vertical")
    codes = {i: e for i, e in enumerate(ERRORS) if e}
    labels = dict(enumerate(names))
    # a request sent a little before its intended time (see _engine._EARLY) starts when sent
    raw = raw.with_columns(pl.min_horizontal("start", "sent").alias("start"))
    frame = raw.select(
        pl.col("start"),
        pl.col("sent"),
        ((pl.col("done") - pl.col("start")) * 1000.0).alias("latency_ms"),
        ((pl.col("done") - pl.col("sent")) * 1000.0).alias("service_ms"),
        pl.col("status").cast(pl.Int64),
        pl.col("bytes").cast(pl.Int64),
        pl.when(pl.col("error") > 0)
        .then(pl.col("error").cast(pl.Int64).replace_strict(codes, return_dtype=pl.String))
        .when(pl.col("status") >= 400)
        .then(pl.lit("http ") + pl.col("status").cast(pl.String))
        .otherwise(None)
        .alias("error"),
        pl.col("step").cast(pl.Int64).replace_strict(labels, return_dtype=pl.String).alias("name"),
    ).sort("start", maintain_order=True)
    if frame.height != written:
        logger.warning("the workers wrote %d rows, the parts hold %d", written, frame.height)
    return REQUESTS.validate(frame)

"""Distributed load: :func:`perflab.loadtest.run`'s engines on the workers of a Dask cluster.

The client plans the whole test once (:func:`perflab.loadtest.generator._plan`) for
``S = nodes × engines per node`` load-generator slots, exactly as :func:`run` plans it
for the processes of one machine, and Dask worker ``k`` (the workers sorted by
address) runs slots ``k·E … k·E + E − 1``. The slots split the shared rate the way the
local engines do: with evenly spaced arrivals slot ``w`` sends arrivals ``w, w + S,
w + 2S …`` of the one schedule (so the merged schedule is evenly spaced, not ``S``
bursts); with Poisson arrivals each slot is an independent Poisson process of rate
``R / S`` seeded with ``(seed, w)``, and the superposition of independent Poisson
processes is a Poisson process of rate ``R``. Users of a closed model are split and
their ramp-up interleaved the same way.

The start is a barrier through the scheduler: every node opens its connections and
says so on a :class:`distributed.Queue`; the client then picks a wall-clock start a
little ahead and publishes it in a :class:`distributed.Variable`; each node turns that
into its own ``perf_counter`` time, corrected by the offset between its clock and the
client's that the client measured beforehand (Cristian's method: the worker's
``time.time()`` read between two of the client's, so the offset is known to half the
round trip). Every node's ``start`` column is thus seconds from the same instant, and
the merged timeline lines up to within that uncertainty (reported per worker).

Each node returns its requests as a polars frame (pickled by Dask) and the histogram
of their corrected latencies; the client concatenates the frames with a ``worker``
column, sorts them by ``start``, and adds the histograms — which equals the histogram
of the merged frame, bucket for bucket, as both count the same values.

A node that cannot open a single connection to the target does not stop the others:
its share of the schedule comes back as failed requests (``start`` as scheduled, no
``sent``, ``error`` ``connection refused``, ``connect timeout`` or the system's
reason), so a target that one machine cannot reach shows as errors of that machine.

Cancelling a Dask task does not stop it once it runs, so when the client gives up —
interrupted, or a node failed — it sets a :class:`distributed.Event` that every node
polls (every 0.25 s) while its engines send; a node that sees it aborts its engines,
as an error does on one machine, and nothing more goes out.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, Schema, as_frame, write_atomic
from perflab.loadtest import _engine
from perflab.loadtest._engine import Spec
from perflab.loadtest.generator import (
    RateSpec,
    TargetUnreachableError,
    _drive,
    _merge,
    _Plan,
    _plan,
)
from perflab.loadtest.histogram import Histogram
from perflab.loadtest.scenario import Request, Scenario
from perflab.loadtest.schema import REQUESTS

__all__ = ["ClusterRun", "histogram_of", "run_cluster"]

logger = logging.getLogger(__name__)

LEAD = 0.5
"""Seconds between the client's decision to start and the start itself."""

_PATIENCE = 60.0  # seconds for the nodes to open their connections (engine start-up included)
_STOP_POLL = 0.25  # seconds between a node's looks at the client's stop event

WORKERS = {
    "worker": pl.String,
    "slots": pl.Int64,
    "requests": pl.Int64,
    "errors": pl.Int64,
    "late": pl.Int64,
    "reached": pl.Boolean,
    "reason": pl.String,
    "clock_offset_ms": pl.Float64,
    "clock_error_ms": pl.Float64,
    "start_lag_ms": pl.Float64,
}
"""Columns of :attr:`ClusterRun.workers`."""

_LATENCIES = Schema("load-test latencies", {"latency_ms": pl.Float64, "status": pl.Int64})


@dataclass
class ClusterRun:
    """What :func:`run_cluster` returns: the merged requests, histogram and per-worker figures.

    Attributes
    ----------
    requests : polars.DataFrame
        ``REQUESTS`` plus ``worker`` (the Dask worker's address), sorted by ``start``
        — what :func:`perflab.loadtest.run` returns, so ``summary``, ``timeline``,
        ``gate`` and ``compare`` take it as they take a one-machine run.
    histogram : Histogram
        Latencies (``latency_ms``) of the answered requests of all workers: the sum
        of :attr:`histograms`.
    histograms : dict of str to Histogram
        The same, per worker.
    workers : polars.DataFrame
        One row per Dask worker: ``worker``, ``slots`` (engines), ``requests``,
        ``errors``, ``late`` (sent more than 50 ms after due), ``reached`` (whether it
        could connect to the target), ``reason`` (why not), ``clock_offset_ms`` (its
        clock minus the client's), ``clock_error_ms`` (the uncertainty of that: half
        the round trip), ``start_lag_ms`` (how long after the agreed start it heard of
        it; positive means its first arrivals went out late, in a burst).
    """

    requests: pl.DataFrame
    histogram: Histogram
    histograms: dict[str, Histogram] = field(default_factory=dict)
    workers: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=WORKERS))


def histogram_of(requests: FrameLike) -> Histogram:
    """The latency histogram of the answered requests of a ``REQUESTS`` frame.

    Parameters
    ----------
    requests : frame-like
        A ``REQUESTS`` frame, or anything :func:`perflab.frames.as_frame` takes with
        at least ``latency_ms`` and ``status``; rows without a status (no response)
        are left out, as the load generator's live histogram leaves them out.

    Raises
    ------
    SchemaError
        When ``latency_ms`` or ``status`` is missing or not numeric.

    Returns
    -------
    Histogram
        Of ``latency_ms`` (default accuracy, 1 %).

    Examples
    --------
    >>> frame = pl.DataFrame({"latency_ms": [1.0, 2.0, None], "status": [200, 503, None]})
    >>> h = histogram_of(frame)
    >>> h.count, h.max
    (2, 2.0)
    """
    hist = Histogram()
    answered = as_frame(requests, _LATENCIES, source="requests").filter(
        pl.col("status").is_not_null()
    )
    hist.add(answered.get_column("latency_ms").drop_nulls().to_numpy())
    return hist


def run_cluster(
    cluster: Any,
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
    seed: int = 0,
) -> ClusterRun:
    """Load-test ``target`` from every worker of a Dask cluster at one shared rate.

    The parameters are :func:`perflab.loadtest.run`'s: ``rate`` (or ``users``,
    ``connections``) is the total of all workers, split evenly among them.

    Parameters
    ----------
    cluster : distributed.Client, str or cluster object
        A client (used and left open), a scheduler address or a cluster object
        (:func:`perflab.cluster.connect` opens and closes a client of it).
    target : str
        Base URL; every Dask worker must be able to reach it.
    workers : int, optional
        Engine processes per Dask worker; default 0 — one engine in a thread of each
        Dask worker (tens of thousands of requests/s each; run one single-threaded
        Dask worker per core to use a machine's cores).
    rate, users, duration, scenario, start_rate, arrivals, think_time, ramp_up, \
warmup, connections, timeout, connect_timeout, headers, verify, out, seed
        As for :func:`perflab.loadtest.run`.

    Returns
    -------
    ClusterRun
        ``requests`` (``REQUESTS`` + ``worker``), the merged ``histogram``, the
        per-worker ``histograms`` and a ``workers`` frame.

    Raises
    ------
    ParameterError
        For the parameters :func:`run` rejects, a cluster with no workers, or fewer
        connections (users) than load generators.
    TargetUnreachableError
        When no worker could connect to the target (as :func:`run` on one machine).
        A worker that cannot while others can sends nothing: its share of the
        schedule comes back as failed requests, ``reached`` false in ``workers``.
    RuntimeError
        When a node fails, or the nodes do not open their connections within a
        minute, or the test overruns its duration by more than ``timeout`` plus two
        minutes; the other nodes are told to stop.

    Examples
    --------
    >>> from perflab.cluster import connect
    >>> from perflab.loadtest.sample_server import SampleServer

    Two worker processes on this machine (a cluster start takes seconds, so the
    example is not run as a doctest; ``tests/loadtest/test_loadtest_cluster.py`` runs
    the same):

    >>> with SampleServer() as server, connect(workers=2) as client:  # doctest: +SKIP
    ...     result = run_cluster(client, server.url, rate=200, duration=0.5)
    >>> result.requests.height, result.requests["worker"].n_unique()  # doctest: +SKIP
    (100, 2)
    >>> result.histogram.count == result.requests["status"].is_not_null().sum()  # doctest: +SKIP
    True
    """
    from perflab.cluster import connect, require_distributed

    distributed = require_distributed()
    with connect(cluster) as client:
        try:
            info = client.scheduler_info(n_workers=-1)  # all of them, not the first few
        except TypeError:  # pragma: no cover - a distributed without n_workers=
            info = client.scheduler_info()
        nodes = sorted(info["workers"])
        if not nodes:
            raise ParameterError("the Dask cluster has no workers to generate load from")
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
            nodes=len(nodes),
        )
        offsets = _clock_offsets(client, nodes)
        token = uuid.uuid4().hex
        ready = distributed.Queue(f"perflab-loadtest-ready-{token}", client=client)
        start = distributed.Variable(f"perflab-loadtest-start-{token}", client=client)
        stop = distributed.Event(f"perflab-loadtest-stop-{token}", client=client)
        futures = [
            client.submit(
                _node,
                plan,
                k,
                token,
                offsets[address][0],
                key=f"perflab-loadtest-{k}-{token}",
                workers=[address],
                allow_other_workers=False,
                pure=False,
            )
            for k, address in enumerate(nodes)
        ]
        started = False
        try:
            reached = _barrier(ready, futures, len(nodes), plan.shown)
            start.set(time.time() + LEAD if reached else None)
            started = True
            overrun = plan.seconds + timeout + 120.0
            try:
                distributed.wait(futures, timeout=overrun)
            except TimeoutError:
                raise RuntimeError(
                    f"the load-test nodes did not finish within {overrun:g} s (the test's "
                    f"{plan.seconds:g} s, the timeout and two minutes)"
                ) from None
            parts = client.gather(futures)
        except BaseException:
            # cancelling a running task does not stop it: the nodes poll `stop` and
            # abort their engines within a fraction of a second
            with contextlib.suppress(Exception):
                stop.set()
            if not started:  # nodes waiting for the start give up (the variable stays for
                start.set(None)  # those that have not asked yet)
            client.cancel(futures)
            raise
        finally:
            ready.close()
            if started:
                with contextlib.suppress(Exception):
                    start.delete()
    result = _combine(parts, offsets)
    if not reached:  # as on one machine: nothing reached the target, so no test ran
        reasons = result.requests.get_column("error").drop_nulls().unique().sort().to_list()
        raise TargetUnreachableError(
            f"cannot connect to {plan.shown} from any of the {len(nodes)} Dask worker(s): "
            + (", ".join(reasons) or "no answer")
        )
    unreached = result.workers.filter(~pl.col("reached")).height
    if unreached:
        logger.warning(
            "%d of %d Dask worker(s) could not connect to %s: their requests failed",
            unreached,
            len(nodes),
            plan.shown,
        )
    if out is not None:
        write_atomic(out, result.requests.write_parquet)
    return result


def _clock_offsets(
    client: Any, nodes: list[str], rounds: int = 3
) -> dict[str, tuple[float, float]]:
    """Each worker's clock minus the client's, and half the round trip it was read in (s)."""
    best: dict[str, tuple[float, float]] = {a: (0.0, math.inf) for a in nodes}
    for _ in range(rounds):
        before = time.time()
        theirs = client.run(time.time, workers=nodes)
        after = time.time()
        half = (after - before) / 2.0
        for address, t in theirs.items():
            if half < best[address][1]:
                best[address] = (float(t) - (before + half), half)
    return best


def _barrier(ready: Any, futures: list[Any], n: int, shown: str) -> bool:
    """Wait for every node to open its connections (or fail to); whether any could."""
    deadline = time.monotonic() + _PATIENCE
    heard: dict[int, bool] = {}
    while len(heard) < n:
        news = ready.get(batch=True)  # what is there now (a timeout would log on the scheduler)
        for k, ok in news:
            heard[int(k)] = bool(ok)
        if news:
            continue
        time.sleep(0.02)
        for f in futures:
            if f.status == "error":
                f.result()  # raises the node's exception here
            if f.status == "cancelled":
                raise RuntimeError(f"a load-test node against {shown} was cancelled")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{n - len(heard)} of {n} load-test node(s) did not open their connections "
                f"to {shown} within {_PATIENCE:g} s"
            )
    return any(heard.values())


class _StoppedError(Exception):
    """Raised in a node's thread when the client calls the test off."""


class _StopWatch(threading.Thread):
    """Polls the client's ``stop`` event while a node drives its engines.

    When the client sets it (it was interrupted, or another node failed), the node's
    thread gets a :class:`_StoppedError` exception, which ends :func:`_drive` the way an
    error does: its engines are aborted, nothing more is sent.
    """

    def __init__(self, stop: Any, target: int) -> None:
        super().__init__(name="perflab-loadtest-stop", daemon=True)
        self.stop_event = stop
        self.target = target
        self.lock = threading.Lock()
        self.done = False
        self.fired = False

    def run(self) -> None:
        while not self.done:
            try:
                called_off = bool(self.stop_event.wait(timeout=_STOP_POLL))
            except Exception:  # the scheduler is gone: the client cannot ask any more
                return
            with self.lock:
                if called_off and not self.done:
                    self.fired = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self.target), ctypes.py_object(_StoppedError)
                    )
                    return

    def finish(self) -> None:
        """No more interruptions: the node's thread is past its engines."""
        with self.lock:
            self.done = True
            if self.fired:  # one may still be pending: cancel it
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target), None)


def _node(plan: _Plan, k: int, token: str, offset: float) -> dict[str, Any]:
    """Run slots ``k·E …`` of ``plan`` on this Dask worker; the frame and histogram back."""
    from distributed import Event, Queue, Variable, get_client, get_worker

    address = get_worker().address
    client = get_client()
    ready = Queue(f"perflab-loadtest-ready-{token}", client=client)
    start = Variable(f"perflab-loadtest-start-{token}", client=client)
    watch = _StopWatch(
        Event(f"perflab-loadtest-stop-{token}", client=client), threading.get_ident()
    )
    lag: list[float] = [math.nan]

    def start_at() -> float:
        ready.put((k, True))
        when = start.get(timeout=_PATIENCE + 30.0)
        if when is None:
            raise RuntimeError("the client called the load test off")
        watch.start()  # from now on the engines send: stop them when the client says so
        wall, perf = time.time(), time.perf_counter()
        mine = float(when) + offset  # the start on this machine's clock
        lag[0] = (wall - mine) * 1000.0
        return perf + (mine - wall)

    folder = Path(tempfile.mkdtemp(prefix="perflab-loadtest-"))
    specs = plan.local_specs(folder, k * plan.per_node, plan.per_node)
    tally = {"late": 0}
    try:
        try:
            written = _drive(
                specs, plan.in_process, plan.shown, False, plan.seconds, start_at, tally
            )
            watch.finish()
            frame, reason = _merge(specs, plan.names, written), None
        except TargetUnreachableError as exc:
            watch.finish()
            reason = str(exc)
            ready.put((k, False))
            frame = _unreachable(plan, specs, reason)
        except _StoppedError:
            watch.finish()
            raise RuntimeError("the client called the load test off") from None
    finally:
        watch.finish()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "worker": address,
        "slots": len(specs),
        "frame": frame,
        "histogram": histogram_of(frame).to_state(),
        "reason": reason,
        "late": tally["late"],
        "start_lag_ms": lag[0],
    }


def _reason(message: str) -> str:
    """The ``error`` text of a request a node could not send: the engine's vocabulary."""
    text = message.split(": ", 1)[-1].strip()
    lowered = text.lower()
    if "no connection within" in lowered or "no answer within" in lowered:
        return "connect timeout"
    if "refused" in lowered:
        return "connection refused"
    return lowered or "no connection"


def _unreachable(plan: _Plan, specs: list[Spec], message: str) -> pl.DataFrame:
    """The requests of ``specs`` as failed rows: what was due, and why it never went out."""
    starts: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    for spec in specs:
        if spec.model == "open":
            for times, chosen in _engine.arrivals(spec):
                t = np.asarray(times, dtype=np.float64)
                keep = t >= spec.warmup
                starts.append(t[keep] - spec.warmup)
                steps.append(np.asarray(chosen, dtype=np.int64)[keep])
        else:  # a closed model: each user's first request, at its turn in the ramp-up
            total = max(spec.total_users, 1)
            j = np.arange(spec.users)
            starts.append(spec.ramp_up * (j * spec.workers + spec.worker) / total)
            steps.append(np.zeros(spec.users, dtype=np.int64))
    start = np.concatenate(starts) if starts else np.zeros(0)
    step = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    names = dict(enumerate(plan.names))
    frame = pl.DataFrame(
        {
            "start": start,
            "sent": pl.Series([None] * start.size, dtype=pl.Float64),
            "latency_ms": pl.Series([None] * start.size, dtype=pl.Float64),
            "service_ms": pl.Series([None] * start.size, dtype=pl.Float64),
            "status": pl.Series([None] * start.size, dtype=pl.Int64),
            "bytes": pl.Series([None] * start.size, dtype=pl.Int64),
            "error": pl.Series([_reason(message)] * start.size, dtype=pl.String),
            "name": pl.Series(step).replace_strict(names, return_dtype=pl.String),
        }
    )
    return REQUESTS.validate(frame.sort("start", maintain_order=True))


def _combine(parts: list[dict[str, Any]], offsets: Mapping[str, tuple[float, float]]) -> ClusterRun:
    """Merge the nodes' answers: one frame sorted by ``start``, one histogram, per-worker rows."""
    frames = [
        p["frame"].with_columns(pl.lit(p["worker"], dtype=pl.String).alias("worker")) for p in parts
    ]
    requests = (
        pl.concat(frames, how="vertical").sort("start", maintain_order=True)
        if frames
        else REQUESTS.empty().with_columns(pl.lit(None, dtype=pl.String).alias("worker"))
    )
    histograms = {p["worker"]: Histogram.from_state(p["histogram"]) for p in parts}
    total = Histogram()
    for h in histograms.values():
        total.merge(h)
    rows = []
    for p in parts:
        frame = p["frame"]
        failed = (pl.col("error").is_not_null() | (pl.col("status") >= 400)).fill_null(False)
        offset, error = offsets.get(p["worker"], (math.nan, math.nan))
        rows.append(
            {
                "worker": p["worker"],
                "slots": p["slots"],
                "requests": frame.height,
                "errors": int(frame.select(failed.sum()).item() or 0),
                "late": p["late"],
                "reached": p["reason"] is None,
                "reason": p["reason"],
                "clock_offset_ms": offset * 1000.0,
                "clock_error_ms": error * 1000.0,
                "start_lag_ms": p["start_lag_ms"],
            }
        )
    workers = pl.DataFrame(rows, schema=WORKERS)
    lagging = workers.filter(pl.col("start_lag_ms").is_not_nan() & (pl.col("start_lag_ms") > 0))
    if lagging.height:
        logger.warning(
            "%d worker(s) heard of the start after it was due (up to %.0f ms): their "
            "first requests went out late, and their latency counts it",
            lagging.height,
            lagging["start_lag_ms"].max(),
        )
    return ClusterRun(requests=requests, histogram=total, histograms=histograms, workers=workers)

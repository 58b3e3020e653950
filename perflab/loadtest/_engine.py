"""The load generator's worker: HTTP/1.1 keep-alive connections on one event loop.

One worker runs per process (or in a thread of the caller, ``workers=0``). It opens
its connections before the test starts, then sends on schedule:

* **open model** — the i-th request of the worker is due at its *intended* time from
  the arrival schedule; due requests go out on an idle connection, or wait in a
  backlog for the next connection that frees up. The latency is counted from the
  intended time, so the wait in the backlog — the time a stalled server made the
  request wait before it could even be sent — is part of it (coordinated omission
  corrected); the service time is counted from the actual send. The schedule is kept
  at the event loop's timer resolution, about 1 ms: a request due within half a
  millisecond is sent at once (and its ``start`` is then its actual send time).
* **closed model** — each connection is a user that sends, waits for the response,
  thinks, and sends again; intended and actual send times are the same.

A request that waits for a connection or for its response longer than ``timeout``
fails with ``timeout``; a response cut short by the server fails with ``closed
mid-response``. Results go into flat arrays (seven numbers per request) and every
``flush_every`` seconds the rows old enough to be final are written as one row group
of a Parquet file, so memory stays bounded however long the test runs.

Why hand-written: a request costs the worker a few microseconds of Python here — an
``asyncio.Protocol`` with no coroutine per request, prebuilt request bytes, a response
parser that looks only at the status line, ``Content-Length`` and
``Transfer-Encoding`` — where aiohttp or httpx spend tens (see
``benchmarks/bench_loadtest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import pickle
import queue
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from perflab.loadtest.histogram import Histogram

__all__ = [
    "ERRORS",
    "Engine",
    "Process",
    "Spec",
    "Thread",
    "arrivals",
    "run_worker",
    "schedule_times",
]

logger = logging.getLogger(__name__)

# error codes → the text in the ``error`` column (0: none)
ERRORS: tuple[str | None, ...] = (
    None,
    "timeout",
    "connection refused",
    "connection reset",
    "closed mid-response",
    "closed before response",
    "bad response",
    "connect timeout",
)
TIMEOUT, REFUSED, RESET, MID, BEFORE, BAD, CONNECT_TIMEOUT = range(1, 8)

_IDEMPOTENT = frozenset((b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"))
_BLOCK = 8192  # arrivals drawn at a time
_perf = time.perf_counter
# A request due this soon goes out now: waking the loop for every gap shorter than its
# timer's millisecond would cost more than the request. Sent early, it counts from its
# actual send time (``start`` is the earlier of the two), so no latency is understated.
_EARLY = 0.0005


@dataclass(frozen=True)
class Spec:
    """What one worker does (picklable: sent to the worker process)."""

    host: str
    port: int
    tls: bool
    verify: bool
    requests: tuple[bytes, ...]
    head: tuple[bool, ...]
    weights: tuple[float, ...]
    sequence: bool
    model: str  # "open" | "closed"
    stages: tuple[tuple[float, float, float], ...]  # (duration, start, end) of the total rate
    poisson: bool
    users: int
    think: float
    ramp_up: float
    duration: float  # warm-up included
    warmup: float
    connections: int
    timeout: float
    connect_timeout: float
    worker: int
    workers: int
    seed: int
    path: str  # the Parquet part this worker writes
    total_users: int = 0  # closed model: users of all workers (to spread the ramp-up)
    flush_every: float = 1.0


# --------------------------------------------------------------------------- schedule


def _cumulative(stages: tuple[tuple[float, float, float], ...]) -> list[float]:
    out = [0.0]
    for d, r0, r1 in stages:
        out.append(out[-1] + 0.5 * (r0 + r1) * d)
    return out


def schedule_times(
    counts: np.ndarray, stages: tuple[tuple[float, float, float], ...]
) -> np.ndarray:
    """Times at which the arrival count ``N(t) = ∫ rate`` reaches ``counts`` (NaN past the end).

    The rate ramps linearly within each stage ``(duration, start rate, end rate)``.

    Examples
    --------
    >>> schedule_times(np.array([0.0, 1.0, 10.0]), ((1.0, 10.0, 10.0),)).tolist()
    [0.0, 0.1, 1.0]
    """
    cum = _cumulative(stages)
    out = np.full(counts.shape, np.nan)
    t0 = 0.0
    for k, (d, r0, r1) in enumerate(stages):
        lo, hi = cum[k], cum[k + 1]
        sel = (counts >= lo) & (counts <= hi) & np.isnan(out)
        if sel.any():
            c = counts[sel] - lo
            a = 0.5 * (r1 - r0) / d if d > 0 else 0.0
            if abs(a) < 1e-12:
                x = c / r0 if r0 > 0 else np.zeros_like(c)
            else:  # a x² + r0 x − c = 0, the root in [0, d]
                disc = np.maximum(r0 * r0 + 4.0 * a * c, 0.0)
                x = 2.0 * c / (r0 + np.sqrt(disc)) if r0 > 0 else np.sqrt(c / a)
            out[sel] = t0 + np.clip(x, 0.0, d)
        t0 += d
    return out


def arrivals(spec: Spec) -> Iterator[tuple[list[float], list[int]]]:
    """Blocks of (intended time, step) for this worker's open-model arrivals."""
    rng = np.random.default_rng([spec.seed, spec.worker])
    total = _cumulative(spec.stages)[-1]
    n_steps = len(spec.requests)
    p = np.asarray(spec.weights, dtype=np.float64)
    p = p / p.sum()
    done = 0
    level = 0.0
    while True:
        if spec.poisson:  # a Poisson process of rate R / W per worker: N(t) = W · Σ Exp(1)
            counts = level + spec.workers * np.cumsum(rng.exponential(1.0, _BLOCK))
            level = float(counts[-1])
        else:  # worker w of W sends the arrivals w, w + W, w + 2W … of the whole schedule
            counts = (np.arange(done, done + _BLOCK) * spec.workers + spec.worker).astype(float)
        times = schedule_times(counts, spec.stages)
        keep = ~np.isnan(times) & (counts < total - 1e-9 if not spec.poisson else counts <= total)
        times = times[keep]
        if spec.sequence:
            steps = (np.arange(done, done + times.size) * spec.workers + spec.worker) % n_steps
        else:
            steps = rng.choice(n_steps, size=times.size, p=p)
        if times.size:
            yield times.tolist(), steps.tolist()
        done += _BLOCK
        if times.size < _BLOCK:
            return


# --------------------------------------------------------------------------- connection


# what a connection is reading
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILER, _TO_CLOSE = range(6)
_MAX_LINE = 65536  # the longest head or chunk-size line accepted


def _closes(head: bytes, http10: bool) -> bool:
    """Whether the server closes the connection after this response (``head`` lowercased).

    Examples
    --------
    >>> _closes(b"http/1.1 200 ok\\r\\nconnection:close", False)
    True
    >>> _closes(b"http/1.0 200 ok\\r\\nconnection: keep-alive", True)
    False
    >>> _closes(b"http/1.0 200 ok", True)
    True
    """
    at = head.find(b"\r\nconnection:")
    if at < 0:
        return http10
    if head.find(b"\r\nconnection:", at + 2) < 0:  # one header, the usual values: quickly
        stop = head.find(b"\r\n", at + 2)
        value = head[at + 13 : stop if stop >= 0 else None].strip()
        if value == b"keep-alive":
            return False
        if value == b"close":
            return True
    tokens: set[bytes] = set()
    while at >= 0:
        stop = head.find(b"\r\n", at + 2)
        value = head[at + 13 : stop if stop >= 0 else None]
        tokens.update(t.strip() for t in value.split(b","))
        at = head.find(b"\r\nconnection:", at + 2)
    return b"close" in tokens or (http10 and b"keep-alive" not in tokens)


class _Conn(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight.

    The response is read as a stream: the head is kept until it is whole, the body is
    only counted (a ``Content-Length`` counted down, chunk sizes parsed as they come,
    or bytes until the close), so a large body costs no copy and no memory.
    """

    __slots__ = (
        "close_after",
        "engine",
        "extra",
        "got",
        "head",
        "i",
        "left",
        "line",
        "state",
        "status",
        "transport",
        "waited",
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.transport: Any = None
        self.i = -1  # the request in flight (global index), -1 when idle
        self.state = _HEAD
        self.head = b""  # the head so far
        self.line = b""  # a chunk-size or trailer line so far
        self.left = 0  # body (or chunk) bytes still to come
        self.got = 0  # bytes of this response so far
        self.status = 0
        self.close_after = False
        self.extra = False  # bytes after the response: the server spoke out of turn
        # the connection sat idle before its request (opened before the start, or kept
        # alive after a response), so the server may have closed it as we wrote
        self.waited = False

    def reset(self) -> None:
        """Ready for the next response."""
        self.i = -1
        self.state = _HEAD
        self.head = self.line = b""
        self.left = self.got = self.status = 0
        self.close_after = self.extra = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        e = self.engine
        if self.i >= 0:
            if self.state == _TO_CLOSE:  # a body delimited by the close: complete
                e.complete(self, self.status, 0)
            elif self.got:
                e.complete(self, 0, MID)
            elif self.waited and e.retry(self.i):
                self.reset()
            else:
                e.complete(self, 0, RESET if isinstance(exc, ConnectionResetError) else BEFORE)
        e.lost(self)

    def data_received(self, data: bytes) -> None:
        if self.i < 0:  # nothing asked: a server speaking out of turn
            if self.transport is not None:
                self.transport.close()
            return
        self.got += len(data)
        if self.state == _HEAD:
            buf = self.head + data if self.head else data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > _MAX_LINE:
                        self._bad()
                    else:
                        self.head = buf
                    return
                try:
                    if buf[:7] != b"HTTP/1.":
                        raise ValueError
                    status = int(buf[9:12])
                except ValueError:
                    self._bad()
                    return
                if 100 <= status < 200:  # 100 Continue and friends: another head follows
                    buf = buf[end + 4 :]
                    continue
                break
            self.head = b""
            head = buf[:end].lower()
            self.status = status
            self.close_after = _closes(head, buf[5:8] == b"1.0")
            e = self.engine
            if (e.any_head and e.head[e.step_of(self.i)]) or status in (204, 304):
                self.state, self.left = _LENGTH, 0
            elif b"\r\ntransfer-encoding:" in head and b"chunked" in head:
                self.state = _CHUNK_SIZE
            else:
                at = head.find(b"\r\ncontent-length:")
                if at >= 0:
                    stop = head.find(b"\r\n", at + 2)
                    try:
                        self.left = int(head[at + 17 : stop if stop >= 0 else None])
                    except ValueError:
                        self._bad()
                        return
                    self.state = _LENGTH
                else:
                    self.state = _TO_CLOSE
            if self.state == _LENGTH:  # the usual case, without slicing the body out
                rest = len(buf) - end - 4
                if rest < self.left:
                    self.left -= rest
                else:
                    self.extra = rest > self.left
                    e.complete(self, status, 0)
                return
            data = buf[end + 4 :] if len(buf) > end + 4 else b""
        self._body(data)

    def _body(self, data: bytes) -> None:
        state = self.state
        if state == _LENGTH:
            n = len(data)
            if n < self.left:
                self.left -= n
                return
            self.extra = n > self.left
            self.engine.complete(self, self.status, 0)
            return
        if state == _TO_CLOSE:
            return
        pos = 0
        while True:
            if self.state == _CHUNK_DATA:
                take = min(self.left, len(data) - pos)
                pos += take
                self.left -= take
                if self.left:
                    return
                self.state = _CHUNK_SIZE
                continue
            # a chunk-size line, or a trailer line after the last chunk
            if self.line:
                data, pos = self.line + data[pos:], 0
                self.line = b""
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                self.line = data[pos:]
                if len(self.line) > _MAX_LINE:
                    self._bad()
                return
            text = data[pos:eol]
            pos = eol + 2
            if self.state == _TRAILER:
                if not text:  # the empty line that ends the message
                    self.extra = pos < len(data)
                    self.engine.complete(self, self.status, 0)
                    return
                continue
            try:
                size = int(text.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self._bad()
                return
            if size == 0:
                self.state = _TRAILER
            else:
                self.state, self.left = _CHUNK_DATA, size + 2  # the data, then its CRLF

    def _bad(self) -> None:
        """Not HTTP/1.x: fail the request and drop the connection."""
        self.engine.complete(self, 0, BAD)


# --------------------------------------------------------------------------- engine


class Engine:
    """The state of one worker: connections, schedule, and the result arrays."""

    def __init__(self, spec: Spec, report: Callable[[tuple[Any, ...]], None]) -> None:
        self.spec = spec
        self.report = report
        self.requests = spec.requests
        self.head = spec.head
        self.any_head = any(spec.head)
        self.t0 = 0.0
        self.base = 0  # global index of the first row still in the arrays
        self.intended = array("d")
        self.sent = array("d")
        self.done = array("d")
        self.status = array("i")
        self.nbytes = array("q")
        self.error = array("b")
        self.step = array("h")
        self.idle: list[_Conn] = []
        self.conns: set[_Conn] = set()
        self.backlog: deque[int] = deque()
        # requests a waiting connection lost before any response byte, to send again
        # once (closed model; the open model puts them back at the backlog's head)
        self.retries: deque[int] = deque()
        self.retried: set[int] = set()
        self.idempotent = [
            r.split(b" ", 1)[0] in _IDEMPOTENT for r in spec.requests
        ]  # RFC 9110 §9.2.2: only these may be sent again automatically
        self.running = False
        self.finished = False  # the test is over: lost connections stay lost
        self._reconnects: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.late = 0  # arrivals the scheduler dispatched more than 50 ms after they were due
        self.hist = Histogram()
        self.completed = 0
        self.failed = 0
        self.reported = (0, 0)
        self.written = 0
        self.writer: Any = None
        self.connect_errors: list[str] = []
        self._rng = np.random.default_rng([spec.seed, spec.worker, 1])
        self._steps: list[int] = []
        self._steps_at = 0
        self.closed = spec.model == "closed"
        self.duration = spec.duration
        self.think = spec.think
        self._a_intended = self.intended.append
        self._a_sent = self.sent.append
        self._a_done = self.done.append
        self._a_status = self.status.append
        self._a_nbytes = self.nbytes.append
        self._a_error = self.error.append
        self._a_step = self.step.append
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer_thread: threading.Thread | None = None
        self.ssl: ssl.SSLContext | None = None
        if spec.tls:
            self.ssl = ssl.create_default_context()
            if not spec.verify:
                self.ssl.check_hostname = False
                self.ssl.verify_mode = ssl.CERT_NONE

    # -- bookkeeping
    def step_of(self, i: int) -> int:
        return self.step[i - self.base]

    def new_row(self, intended: float, step: int, sent: float = math.nan) -> int:
        """Append a request's row; return its global index."""
        self._a_intended(intended)
        self._a_sent(sent)
        self._a_done(math.nan)
        self._a_status(0)
        self._a_nbytes(0)
        self._a_error(0)
        self._a_step(step)
        return self.base + len(self.intended) - 1

    def send(self, conn: _Conn, i: int) -> None:
        conn.i = i
        k = i - self.base
        self.sent[k] = _perf() - self.t0
        conn.transport.write(self.requests[self.step[k]])

    def complete(self, conn: _Conn, status: int, err: int) -> None:
        """Record the end of ``conn``'s request and give the connection its next one."""
        k = conn.i - self.base
        now = _perf() - self.t0
        self.done[k] = now
        self.status[k] = status
        self.nbytes[k] = conn.got
        self.completed += 1
        extra, close_after = conn.extra, conn.close_after
        if err:
            self.error[k] = err
            self.failed += 1
            conn.reset()
        else:
            if status >= 400:
                self.failed += 1
            # conn.reset(), inlined: the head and line buffers are already empty here
            conn.i = -1
            conn.state = _HEAD
            conn.got = conn.left = 0
            conn.extra = conn.close_after = False
            conn.waited = True
        transport = conn.transport
        if transport is None:
            return
        if err:
            transport.abort()
            return
        if extra or close_after:  # out of turn, or the server said it closes: reconnect
            transport.close()
            return
        if not self.running:
            return
        if self.closed:
            if self.think > 0.0:
                asyncio.get_running_loop().call_later(self.think, self.user_send, conn)
            elif now < self.duration:  # the next request of this user, at once
                i = self.new_row(now, self._next_step(), now)
                conn.i = i
                transport.write(self.requests[self.step[i - self.base]])
            return
        if self.backlog:
            self.send(conn, self.backlog.popleft())
        else:
            self.idle.append(conn)

    def next_for(self, conn: _Conn) -> None:
        """Give a new or freed connection work: the backlog's first, or the next user turn."""
        if not self.running or conn.transport is None:
            return
        if self.closed:
            if self.retries:
                self.send(conn, self.retries.popleft())
            else:
                self.user_send(conn)
        elif self.backlog:
            self.send(conn, self.backlog.popleft())
        else:
            conn.waited = True
            self.idle.append(conn)

    def retry(self, i: int) -> bool:
        """Queue request ``i`` to be sent again; whether it may be.

        A connection that sat idle can be closed by the server just as the request is
        written (a keep-alive or header timeout); HTTP clients send such a request again
        on a new connection if nothing of the response came and the method is
        idempotent (RFC 9112 §9.3.1), and so does the test, once per request. Its
        latency still counts from its intended start.
        """
        if not self.running or i in self.retried:
            return False
        k = i - self.base
        if not self.idempotent[self.step[k]]:
            return False
        self.retried.add(i)
        self.sent[k] = math.nan
        if self.closed:
            self.retries.append(i)
        else:
            self.backlog.appendleft(i)
        return True

    def lost(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)
        if not self.finished:  # before the start too: a server may drop idle connections
            task = asyncio.get_running_loop().create_task(self.reconnect())
            self._reconnects.add(task)
            task.add_done_callback(self._reconnects.discard)

    # -- connections
    async def connect(self) -> _Conn | None:
        loop = asyncio.get_running_loop()
        spec = self.spec
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(self),
                    spec.host,
                    spec.port,
                    ssl=self.ssl,
                    server_hostname=spec.host if self.ssl else None,
                ),
                spec.connect_timeout,
            )
        except TimeoutError:
            self.connect_errors.append(f"no connection within {spec.connect_timeout:g} s")
            return None
        except OSError as exc:
            self.connect_errors.append(exc.strerror or str(exc))
            return None
        self.conns.add(conn)
        return conn

    async def reconnect(self) -> None:
        delay = 0.01
        while not self.finished:
            conn = await self.connect()
            if conn is not None:
                self.next_for(conn)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # -- the test
    def user_send(self, conn: _Conn) -> None:
        if not self.running or conn.transport is None or conn.i >= 0:
            return
        now = _perf() - self.t0
        if now >= self.spec.duration:
            return
        i = self.new_row(now, self._next_step(), now)
        conn.i = i
        conn.transport.write(self.requests[self.step[i - self.base]])

    def _next_step(self) -> int:
        if self._steps_at >= len(self._steps):
            self._steps = self._draw_steps()
            self._steps_at = 0
        s = self._steps[self._steps_at]
        self._steps_at += 1
        return s

    def _draw_steps(self) -> list[int]:
        n = len(self.requests)
        if self.spec.sequence:
            return list(range(n))
        p = np.asarray(self.spec.weights, dtype=np.float64)
        return self._rng.choice(n, size=_BLOCK, p=p / p.sum()).tolist()

    async def run_open(self) -> None:
        """Send the arrival schedule: each request on an idle connection, or to the backlog.

        The hot loop of the open model, so :meth:`new_row` and :meth:`send` are inlined.
        """
        perf = time.perf_counter
        sleep = asyncio.sleep
        idle = self.idle
        backlog = self.backlog
        requests = self.requests
        rows = self.intended
        add_intended, add_sent, add_done = self._a_intended, self._a_sent, self._a_done
        add_status, add_bytes, add_error = self._a_status, self._a_nbytes, self._a_error
        add_step = self._a_step
        nan = math.nan
        t0 = self.t0
        warm = self.spec.warmup
        for times, steps in arrivals(self.spec):
            for t, s in zip(times, steps, strict=True):
                now = perf() - t0
                # not before it is due (give or take _EARLY), and a request that counts
                # never before the warm-up ends (the loop's timer may wake us early)
                while t > now + _EARLY or now < warm <= t:
                    await sleep(t - now)
                    now = perf() - t0
                if now - t > 0.05:
                    self.late += 1
                conn = None
                while idle:
                    conn = idle.pop()
                    if conn.transport is not None:
                        break
                    conn = None
                add_intended(t)
                add_done(nan)
                add_status(0)
                add_bytes(0)
                add_error(0)
                add_step(s)
                i = self.base + len(rows) - 1
                if conn is None:
                    add_sent(nan)
                    backlog.append(i)
                else:
                    add_sent(now)
                    conn.i = i
                    conn.transport.write(requests[s])

    async def run_closed(self) -> None:
        spec = self.spec
        conns = [c for c in self.conns if c.transport is not None]
        loop = asyncio.get_running_loop()
        total = max(spec.total_users, len(conns) * spec.workers, 1)
        for j, conn in enumerate(conns):  # user j of worker w is user j·W + w of them all
            delay = spec.ramp_up * (j * spec.workers + spec.worker) / total
            loop.call_later(delay, self.user_send, conn)
        await asyncio.sleep(max(spec.duration - (time.perf_counter() - self.t0), 0.0))

    async def sweep(self) -> None:
        """Fail requests that waited longer than the timeout; flush final rows."""
        spec = self.spec
        last_flush = time.perf_counter()
        last_report = last_flush
        while True:
            await asyncio.sleep(min(0.05, spec.timeout / 4))
            now = time.perf_counter() - self.t0
            limit = now - spec.timeout
            backlog = self.backlog
            while backlog and self.intended[backlog[0] - self.base] < limit:
                k = backlog.popleft() - self.base
                self.done[k] = math.nan
                self.error[k] = TIMEOUT
                self.completed += 1
                self.failed += 1
            for conn in list(self.conns):
                if conn.i >= 0 and self.sent[conn.i - self.base] < limit:
                    self.complete(conn, 0, TIMEOUT)
            wall = time.perf_counter()
            if wall - last_flush >= spec.flush_every:
                self.flush()
                last_flush = wall
            if wall - last_report >= 0.5:
                self.report_stats()
                last_report = wall

    def report_stats(self) -> None:
        """Send the parent the counts since the last report and the written latencies."""
        self.report(
            (
                "stats",
                self.spec.worker,
                self.completed - self.reported[0],
                self.failed - self.reported[1],
                self.hist.to_state(),
            )
        )
        self.reported = (self.completed, self.failed)
        self.hist = Histogram()

    def flush(self) -> None:
        """Write the leading rows that are final (answered, failed or timed out)."""
        # copies: a live view would forbid the arrays to grow or shrink
        done = np.frombuffer(self.done, dtype=np.float64).copy()
        error = np.frombuffer(self.error, dtype=np.int8).copy()
        pending = np.isnan(done) & (error == 0)
        n = int(np.argmax(pending)) if pending.any() else done.size
        if n > 0:
            self._write(n)

    def _write(self, n: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        spec = self.spec
        intended = np.array(self.intended[:n], dtype=np.float64)
        sent = np.array(self.sent[:n], dtype=np.float64)
        done = np.array(self.done[:n], dtype=np.float64)
        status = np.array(self.status[:n], dtype=np.int64)
        nbytes = np.array(self.nbytes[:n], dtype=np.int64)
        error = np.array(self.error[:n], dtype=np.int8)
        step = np.array(self.step[:n], dtype=np.int16)
        for a in (
            self.intended,
            self.sent,
            self.done,
            self.status,
            self.nbytes,
            self.error,
            self.step,
        ):
            del a[:n]
        self.base += n
        keep = intended >= spec.warmup
        if not keep.all():
            intended, sent, done = intended[keep], sent[keep], done[keep]
            status, nbytes, error, step = status[keep], nbytes[keep], error[keep], step[keep]
        if not intended.size:
            return
        answered = status > 0
        self.hist.add(((done - intended) * 1000.0)[answered])
        table = pa.table(
            {
                "start": intended - spec.warmup,
                "sent": pa.array(sent - spec.warmup, mask=np.isnan(sent)),
                "done": pa.array(done - spec.warmup, mask=np.isnan(done) | ~answered),
                "status": pa.array(status, mask=~answered),
                "bytes": pa.array(nbytes, mask=(nbytes == 0) & ~answered),
                "error": pa.array(error),
                "step": pa.array(step),
            }
        )
        if self.writer is None:
            self.writer = pq.ParquetWriter(spec.path, table.schema, compression="zstd")
            self._writer_thread = threading.Thread(
                target=self._write_tables, daemon=True, name="perflab-loadtest-writer"
            )
            self._writer_thread.start()
        self._queue.put(table)  # compressed and written off the event loop
        self.written += intended.size

    def _stop_writer(self) -> None:
        """Write what is queued, end the writer thread and close the Parquet file."""
        if self._writer_thread is not None:
            self._queue.put(None)
            self._writer_thread.join()
            self._writer_thread = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _write_tables(self) -> None:
        while (table := self._queue.get()) is not None:
            self.writer.write_table(table)

    def abort(self) -> None:
        """Stop the test at once (from any thread): the worker ends without results."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)

    async def main(self, start: Callable[[], float]) -> None:
        """Open the connections, wait for the shared start, run the test, write the rest."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        _warm_up_arrow()  # now, not at the first flush in the middle of the test
        spec = self.spec
        want = spec.users if spec.model == "closed" else spec.connections
        conns = await asyncio.gather(*(self.connect() for _ in range(want)))
        ok = [c for c in conns if c is not None]
        if not ok:
            reason = self.connect_errors[0] if self.connect_errors else "no connection"
            self.report(("unreachable", spec.worker, reason))
            return
        self.report(("ready", spec.worker, len(ok), want))
        loop = asyncio.get_running_loop()
        self.t0 = await loop.run_in_executor(None, start)
        while (wait := self.t0 - time.perf_counter()) > 0:  # the timer may wake us early
            await asyncio.sleep(wait)
        self.running = True
        cpu0 = time.process_time()
        for c in self.conns:
            c.waited = True  # opened before the start: it waited for it
        self.idle.extend(c for c in self.conns if c.transport is not None)
        sweeper = asyncio.ensure_future(self.sweep())
        try:
            if spec.model == "closed":
                self.idle.clear()
                await self.run_closed()
            else:
                await self.run_open()
            # the schedule is over: wait for what is in flight, up to the timeout
            deadline = time.perf_counter() + spec.timeout + 0.1
            while time.perf_counter() < deadline and (
                self.backlog or self.retries or any(c.i >= 0 for c in self.conns)
            ):
                await asyncio.sleep(0.005)
            self.running = False
            for conn in list(self.conns):  # anything left failed by the sweeper's rule
                if conn.i >= 0:
                    self.complete(conn, 0, TIMEOUT)
            while self.backlog:
                k = self.backlog.popleft() - self.base
                self.error[k] = TIMEOUT
            while self.retries:  # no new connection came for them
                k = self.retries.popleft() - self.base
                self.error[k] = BEFORE
        except asyncio.CancelledError:  # aborted: no results, but no thread left behind
            self._stop_writer()
            raise
        finally:
            self.running = False
            self.finished = True
            for task in list(self._reconnects):
                task.cancel()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            for conn in list(self.conns):
                if conn.transport is not None:
                    conn.transport.close()
        self._write(len(self.intended))
        self._stop_writer()
        self.report_stats()
        self.report(("done", spec.worker, self.written, time.process_time() - cpu0, self.late))


def _warm_up_arrow() -> None:
    """Pay pyarrow's first-use costs (about 0.5 s) before the test starts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"x": pa.array(np.zeros(2), mask=np.array([False, True]))})
    pq.write_table(table, pa.BufferOutputStream(), compression="zstd")


def run_worker(engine: Engine, start: Callable[[], float]) -> None:
    """Run one worker to the end on a new event loop (uvloop where installed)."""
    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    try:
        runner(engine.main(start))
    except asyncio.CancelledError:  # aborted: the parent is already unwinding
        return
    except BaseException:  # report, then let the parent raise
        engine.report(("failed", engine.spec.worker, traceback.format_exc()))
        raise


def _send(stream: Any, message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(4, "little") + data)
    stream.flush()


def _receive(stream: Any) -> Any:
    size = stream.read(4)
    if len(size) < 4:
        raise EOFError
    return pickle.loads(stream.read(int.from_bytes(size, "little")))


class Process:
    """A worker in a child interpreter (``python -m perflab.loadtest._engine``).

    Not :mod:`multiprocessing`: its ``spawn`` start method re-imports the caller's
    ``__main__``, which fails in a script without an ``if __name__ == "__main__"``
    guard; a plain child process with pickled messages on its pipes needs nothing of
    the caller. Events go to ``events`` (a ``queue.Queue``) from a reader thread.
    """

    def __init__(self, spec: Spec, events: Any) -> None:
        self.spec = spec
        self.events = events
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "perflab.loadtest._engine"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        _send(self.proc.stdin, (spec,))
        self.reader = threading.Thread(target=self._read, daemon=True, name="perflab-loadtest-io")
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(EOFError, OSError, pickle.UnpicklingError):
            while True:
                self.events.put(_receive(self.proc.stdout))

    def go(self, start: float) -> None:
        """Tell the worker the shared start time."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            _send(self.proc.stdin, (start,))

    def alive(self) -> bool:
        """Whether the child still runs (or its last messages are still being read)."""
        return self.proc.poll() is None or self.reader.is_alive()

    def stop(self, wait: float = 5.0) -> None:
        """Wait for the child to end; kill it after ``wait`` seconds; close the pipes."""
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(1.0)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def abort(self) -> None:
        """Stop the child now (the test is abandoned)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        self.stop(2.0)


class Thread:
    """A worker in a thread of this process (``workers=0``), with :class:`Process`'s API."""

    def __init__(self, spec: Spec, events: Any) -> None:
        self.spec = spec
        self.start_time: queue.Queue[float] = queue.Queue()
        self.engine = Engine(spec, events.put)
        self.thread = threading.Thread(target=self._main, daemon=True, name="perflab-loadtest")
        self.thread.start()

    def _main(self) -> None:
        with contextlib.suppress(Exception):  # a failure was reported through events
            run_worker(self.engine, self.start_time.get)

    def go(self, start: float) -> None:
        """Tell the worker the shared start time."""
        self.start_time.put(start)

    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self.thread.is_alive()

    def stop(self, wait: float = 5.0) -> None:
        """Wait for the thread to end."""
        self.thread.join(wait)

    def abort(self) -> None:
        """Cancel the test now and wait for the thread (the test is abandoned)."""
        self.start_time.put(0.0)  # in case it still waits for the start
        self.engine.abort()
        self.thread.join(5.0)


def _child() -> None:  # pragma: no cover - runs in the child process
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages on the pipe
    (spec,) = _receive(stdin)

    def start() -> float:
        return float(_receive(stdin)[0])

    gc.freeze()  # the hot path makes no cycles: no collector pauses in the middle of a test
    gc.disable()
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        run_worker(Engine(spec, lambda m: _send(stdout, m)), start)


if __name__ == "__main__":  # pragma: no cover
    _child()

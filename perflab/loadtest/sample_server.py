"""A small HTTP/1.1 server to load-test against, bound to 127.0.0.1.

It serves the bundled samples, the notebook's live mode and the tests: a few routes
with known behaviour, run in a separate process so that it never competes with the
load generator for the interpreter's lock.

=====================  ==================================================================
route                  response
=====================  ==================================================================
``GET /``              200, a short text body
``GET /api/items/N``   200, a JSON body of about 300 bytes, after a lognormal delay
                       whose median is ``delay_ms`` × ``slowdown`` (σ = 0.5)
``GET /static/NAME``   200, a 20 KiB body, at once
``GET /chunked``       200, the 20 KiB body in ``Transfer-Encoding: chunked``
``GET /flaky``         503 for ``flaky_share`` of requests (seeded), 200 otherwise
``GET /close``         half a response, then the connection closes (mid-response)
``GET /slow``          200 after ``slow_ms``
``POST …``             as ``GET``; the request body is read and ignored
other                  404
=====================  ==================================================================

With ``stall_every`` set the whole server pauses for ``stall_ms`` every ``stall_every``
seconds — no response goes out during a stall, as in a stop-the-world GC pause or a
blocked event loop. A closed-model load generator sends nothing while it waits, so it
records one slow request per connection and hides the stall; an open model keeps
sending on schedule and its corrected latency shows every request the stall delayed.

Examples
--------
>>> import urllib.request
>>> with SampleServer() as server:
...     urllib.request.urlopen(server.url + "/").status
200
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import select
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

__all__ = ["SampleServer"]

_STATIC = bytes(range(97, 123)) * (20 * 1024 // 26) + b"x" * (20 * 1024 % 26)


def _response(status: int, body: bytes, reason: str = "OK", ctype: bytes = b"text/plain") -> bytes:
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
        % (status, reason.encode(), ctype, len(body))
        + body
    )


def _chunked(body: bytes, size: int = 4096) -> bytes:
    parts = [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"]
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        parts.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


_ROOT = _response(200, b"perflab sample server\n")
_STATIC_RESPONSE = _response(200, _STATIC, ctype=b"application/javascript")
_CHUNKED = _chunked(_STATIC)
_UNAVAILABLE = _response(503, b"busy\n", "Service Unavailable")
_NOT_FOUND = _response(404, b"not found\n", "Not Found")


@dataclass(frozen=True)
class _Config:
    delay_ms: float
    slowdown: float
    slow_ms: float
    flaky_share: float
    stall_every: float | None
    stall_ms: float
    seed: int


class _Handler(asyncio.Protocol):
    """One client connection: parse requests, answer each in order."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.issued = 0  # requests parsed so far
        self.sent = 0  # responses written so far (HTTP/1.1 answers in request order)
        self.ready: dict[int, bytes] = {}
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            low = head.lower()
            at = low.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = low.find(b"\r\n", at + 2)
                length = int(low[at + 17 : stop if stop >= 0 else None])
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            first = head.split(b"\r\n", 1)[0]
            parts = first.split(b" ")
            path = parts[1] if len(parts) > 1 else b"/"
            self.answer(path)

    def answer(self, path: bytes) -> None:
        cfg = self.server.config
        slot = self.issued
        self.issued += 1
        if path.startswith(b"/api/items/"):
            median = cfg.delay_ms * cfg.slowdown
            delay = median * math.exp(0.5 * self.server.rng.gauss(0.0, 1.0)) / 1000.0
            body = b'{"id": "%s", "name": "item", "price": 12.5, "tags": [%s]}' % (
                path[11:],
                b", ".join(b'"t%d"' % i for i in range(24)),
            )
            self.server.later(delay, self, slot, _response(200, body, ctype=b"application/json"))
            return
        if path == b"/":
            response = _ROOT
        elif path.startswith(b"/static/"):
            response = _STATIC_RESPONSE
        elif path == b"/chunked":
            response = _CHUNKED
        elif path == b"/flaky":
            response = _UNAVAILABLE if self.server.rng.random() < cfg.flaky_share else _ROOT
        elif path == b"/close":
            response = _STATIC_RESPONSE[: len(_STATIC_RESPONSE) // 2]
            self.closing = True
        elif path == b"/slow":
            self.server.later(cfg.slow_ms / 1000.0, self, slot, _ROOT)
            return
        else:
            response = _NOT_FOUND
        self.server.later(0.0, self, slot, response)

    def deliver(self, slot: int, response: bytes) -> None:
        self.ready[slot] = response
        out = []
        while self.sent in self.ready:
            out.append(self.ready.pop(self.sent))
            self.sent += 1
        if not out or self.transport is None:
            return
        self.transport.write(b"".join(out))
        if self.closing:
            self.transport.close()


class _Server:
    def __init__(self, config: _Config) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.loop = asyncio.get_running_loop()
        self.paused: list[tuple[_Handler, int, bytes]] = []
        self.stalled_until = 0.0

    def later(self, delay: float, handler: _Handler, slot: int, response: bytes) -> None:
        if delay <= 0.0:
            self.send(handler, slot, response)
        else:
            self.loop.call_later(delay, self.send, handler, slot, response)

    def send(self, handler: _Handler, slot: int, response: bytes) -> None:
        if time.monotonic() < self.stalled_until:
            self.paused.append((handler, slot, response))
            return
        handler.deliver(slot, response)

    async def stalls(self) -> None:
        every = self.config.stall_every
        if not every:
            return
        while True:
            await asyncio.sleep(every)
            self.stalled_until = time.monotonic() + self.config.stall_ms / 1000.0
            await asyncio.sleep(self.config.stall_ms / 1000.0)
            self.stalled_until = 0.0
            paused, self.paused = self.paused, []
            for handler, slot, response in paused:
                self.send(handler, slot, response)


async def _main(config: _Config, port: int) -> None:
    server = _Server(config)
    srv = await server.loop.create_server(
        lambda: _Handler(server), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    stalls = asyncio.ensure_future(server.stalls())
    port = srv.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")  # tells the parent the port
    sys.stdout.flush()
    try:
        await srv.serve_forever()
    finally:
        stalls.cancel()


def _child() -> None:  # pragma: no cover - runs in the child process
    args = json.loads(sys.argv[1])
    port = args.pop("port")
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(_main(_Config(**args), port))


class SampleServer:
    """The sample server in a child process, as a context manager.

    Parameters
    ----------
    delay_ms : float
        Median delay of ``/api/items/N``.
    slowdown : float
        Factor on that delay (a "candidate build" that is 30 % slower: ``1.3``).
    slow_ms : float
        Delay of ``/slow``.
    flaky_share : float
        Share of ``/flaky`` requests answered 503.
    stall_every, stall_ms : float
        Pause every response for ``stall_ms`` every ``stall_every`` seconds (off by
        default).
    seed : int
        Seed of the delays and the 503s.
    port : int
        Port on 127.0.0.1; 0 takes a free one.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:PORT`` once started.

    Raises
    ------
    RuntimeError
        From :meth:`start` (and ``with``): the child process did not start within
        30 s (the port is in use, say).

    Examples
    --------
    >>> import urllib.error, urllib.request
    >>> with SampleServer(flaky_share=1.0) as server:
    ...     try:
    ...         urllib.request.urlopen(server.url + "/flaky")
    ...     except urllib.error.HTTPError as exc:
    ...         print(exc.code)
    503
    """

    def __init__(
        self,
        *,
        delay_ms: float = 2.0,
        slowdown: float = 1.0,
        slow_ms: float = 200.0,
        flaky_share: float = 0.05,
        stall_every: float | None = None,
        stall_ms: float = 0.0,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        self.config = _Config(
            float(delay_ms),
            float(slowdown),
            float(slow_ms),
            float(flaky_share),
            stall_every,
            float(stall_ms),
            int(seed),
        )
        self.port = port
        self.url = ""
        self._process: Any = None

    def start(self) -> SampleServer:
        """Start the child process; return when it accepts connections.

        Returns
        -------
        SampleServer
            This server, its ``url`` set.

        Raises
        ------
        RuntimeError
            The child process exited or did not report its port within 30 s.

        Examples
        --------
        >>> server = SampleServer().start()
        >>> server.url.startswith("http://127.0.0.1:")
        True
        >>> server.stop()
        """
        args = json.dumps({**asdict(self.config), "port": self.port})
        self._process = subprocess.Popen(
            [sys.executable, "-m", "perflab.loadtest.sample_server", args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], 30.0)
        line = self._process.stdout.readline().strip() if ready else ""
        if not line.isdigit():
            code = self._process.poll()
            self.stop()
            why = f"exited with code {code}" if code is not None else "no answer within 30 s"
            raise RuntimeError(f"the sample server did not start ({why}; is the port in use?)")
        self.url = f"http://127.0.0.1:{line}"
        return self

    def stop(self) -> None:
        """Terminate the child process (killed if it has not exited within 5 s).

        Stopping a server that is not running does nothing.

        Examples
        --------
        >>> server = SampleServer().start()
        >>> server.stop()
        >>> server.stop()  # a second stop does nothing
        """
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def __enter__(self) -> SampleServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":  # pragma: no cover
    _child()

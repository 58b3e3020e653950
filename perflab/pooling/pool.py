"""``InstrumentedPool``: psycopg_pool's pool, with every acquire recorded.

perflab does not write a pool: :class:`InstrumentedPool` is a thin layer over
``psycopg_pool.ConnectionPool`` (and :class:`AsyncInstrumentedPool` over
``AsyncConnectionPool``) that records, for every request for a connection, when it
came, how long it waited, how long the connection was held, and whether it timed out
(``PoolTimeout``), was rejected because the wait queue was full (``TooManyRequests``)
or failed otherwise; and, at most every ``stats_interval_s``, a snapshot of the
pool's own ``get_stats()`` (its size over time). :meth:`~_Recorder.events` and
:meth:`~_Recorder.stats` give them as frames (:data:`~perflab.pooling.schema.ACQUIRES`,
:data:`~perflab.pooling.schema.POOL_STATS`), :meth:`~_Recorder.summary` as one row.

Defaults are the seed's: at least 5 and at most 20 connections, an idle connection
above the minimum closed after 30 s, at most 100 requests waiting (the 101st is
rejected at once, and counted), a request waiting at most 30 s. psycopg_pool's own
exceptions reach the caller unchanged (``PoolTimeout``, ``TooManyRequests``): code
written for psycopg_pool keeps working. Opening a pool on a server that refuses
raises :class:`PoolError` within the open timeout, naming host, port and database and
the server's reason — never the password.

Recording is thread-safe and costs a few microseconds per acquire (one lock, one
tuple); events are kept in a bounded ring (``max_events``), the oldest dropped first.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from perflab.errors import ParameterError, PerflabError, positive_int
from perflab.pooling.schema import ACQUIRES, POOL_STATS, STAT_COUNTERS

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "DEFAULTS",
    "AsyncInstrumentedPool",
    "InstrumentedPool",
    "PoolError",
    "close_default_pool",
    "default_pool",
    "where",
]

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, float] = {
    "min_size": 5,
    "max_size": 20,
    "max_idle_s": 30.0,
    "max_waiting": 100,
    "timeout_s": 30.0,
}
"""The seed's pool settings: :class:`InstrumentedPool`'s defaults."""

_names = itertools.count(1)


class PoolError(PerflabError):
    """A pool that cannot be opened: the server refused, or no connection came in time."""


def where(conninfo: str) -> str:
    """``host:port/dbname`` of a connection string, for messages (no user, no password).

    Examples
    --------
    >>> where("postgresql://app:secret@db.example:6432/shop")
    'db.example:6432/shop'
    >>> where("dbname=test")
    'localhost:5432/test'
    """
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(conninfo)
    except Exception:
        return "the server"
    return (
        f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or ''}"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _outcome(exc: BaseException) -> str:
    from psycopg_pool import PoolTimeout, TooManyRequests

    if isinstance(exc, TooManyRequests):
        return "rejected"
    if isinstance(exc, PoolTimeout):
        return "timeout"
    return "error"


class _Recorder:
    """What both pools record; the frames and the summary."""

    name: str
    max_size: int

    def _init_recorder(self, max_events: int, stats_interval_s: float) -> None:
        self._lock = threading.Lock()
        self._events: deque[tuple[Any, ...]] = deque(maxlen=positive_int("max_events", max_events))
        self._snapshots: list[tuple[float, dict[str, int]]] = []
        self._stats_interval = float(stats_interval_s)
        self._last_snapshot = -float("inf")
        self._in_use = 0
        self._held: dict[int, tuple[float, float, int, int, int]] = {}
        self.counts: Counter[str] = Counter()
        self.dropped = 0
        self._connect_error: str | None = None
        # wall clock = monotonic + offset, fixed once so events keep their order
        self._offset = time.time() - time.monotonic()

    # -- recording --------------------------------------------------------------

    def _setup(
        self,
        pool_class: Any,
        base: Any,
        conninfo: str,
        *,
        min_size: int,
        max_size: int,
        max_idle_s: float,
        max_waiting: int,
        timeout_s: float,
        name: str | None,
        open_timeout_s: float,
        max_events: int,
        stats_interval_s: float,
        options: dict[str, Any],
    ) -> Any:
        """Check the options, start recording, and make the (closed) psycopg pool."""
        _options(min_size, max_size, max_idle_s, max_waiting, timeout_s)
        self.name = name or f"perflab-pool-{next(_names)}"
        self.min_size, self.max_size = min_size, max_size
        self.timeout_s = float(timeout_s)
        self.open_timeout_s = float(open_timeout_s)
        self._where = where(conninfo)
        self._init_recorder(max_events, stats_interval_s)
        kwargs = dict(options.pop("kwargs", None) or {})
        kwargs.setdefault("connect_timeout", max(1, round(open_timeout_s)))
        connection_class = options.pop("connection_class", base)
        return pool_class(
            conninfo,
            connection_class=_recording_class(connection_class, self._record_connect_error),
            kwargs=kwargs,
            min_size=min_size,
            max_size=max_size,
            max_idle=max_idle_s,
            max_waiting=max_waiting,
            timeout=timeout_s,
            name=self.name,
            open=False,
            **options,
        )

    def _pool_stats(self) -> dict[str, int]:
        return dict(self._pool.get_stats())  # type: ignore[attr-defined]

    def _maybe_snapshot(self, now: float, stats: dict[str, int] | None = None) -> None:
        if now - self._last_snapshot >= self._stats_interval:
            self._last_snapshot = now
            self._snapshots.append((now, stats if stats is not None else self._pool_stats()))

    def _before(self) -> tuple[float, int, int]:
        stats = self._pool_stats()
        now = time.monotonic()
        with self._lock:
            self._maybe_snapshot(now, stats)
        return now, stats.get("pool_size", 0), stats.get("requests_waiting", 0)

    def _acquired(self) -> tuple[float, int]:
        with self._lock:
            self._in_use += 1
            return time.monotonic(), self._in_use

    def _failed(self, t0: float, size: int, waiting: int, exc: BaseException) -> None:
        now = time.monotonic()
        outcome = _outcome(exc)
        with self._lock:
            self._add((t0, (now - t0) * 1e3, None, outcome, _first_line(exc), size, None, waiting))
            self.counts[outcome] += 1

    def _released(
        self,
        t0: float,
        t1: float,
        size: int,
        in_use: int,
        waiting: int,
        error: BaseException | None,
    ) -> None:
        now = time.monotonic()
        text = None if error is None else _first_line(error)
        with self._lock:
            self._in_use -= 1
            self._add((t0, (t1 - t0) * 1e3, (now - t1) * 1e3, "ok", text, size, in_use, waiting))
            self.counts["ok"] += 1
        if now - self._last_snapshot >= self._stats_interval:
            stats = self._pool_stats()
            with self._lock:
                self._maybe_snapshot(now, stats)

    def _add(self, event: tuple[Any, ...]) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)

    def _record_connect_error(self, exc: BaseException) -> None:
        self._connect_error = _first_line(exc)

    # -- frames -------------------------------------------------------------------

    def snapshot(self) -> dict[str, int]:
        """Take a ``get_stats()`` snapshot now (kept in :meth:`stats`) and return it."""
        stats = self._pool_stats()
        now = time.monotonic()
        with self._lock:
            self._last_snapshot = now
            self._snapshots.append((now, stats))
        return stats

    def events(self) -> pl.DataFrame:
        """Every recorded acquire, oldest first: :data:`~perflab.pooling.schema.ACQUIRES`.

        Columns ``start``, ``wait_ms``, ``hold_ms``, ``outcome`` and the optional
        ``pool``, ``error`` (a timeout's or rejection's message, or the first line of an
        exception raised while the connection was held — the acquire itself is then
        ``ok``), ``size``, ``in_use``, ``waiting``. Rows are in order of completion.
        """
        with self._lock:
            rows = list(self._events)
        if not rows:
            return ACQUIRES.empty().with_columns(pl.lit(self.name).alias("pool"))
        cols = list(zip(*rows, strict=True))
        start = pl.Series([int((t + self._offset) * 1e6) for t in cols[0]], dtype=pl.Int64)
        return pl.DataFrame(
            {
                "start": start.cast(pl.Datetime("us", "UTC")),
                "wait_ms": pl.Series(cols[1], dtype=pl.Float64),
                "hold_ms": pl.Series(cols[2], dtype=pl.Float64),
                "outcome": pl.Series(cols[3], dtype=pl.String),
                "pool": pl.Series([self.name] * len(rows), dtype=pl.String),
                "error": pl.Series(cols[4], dtype=pl.String),
                "size": pl.Series(cols[5], dtype=pl.Int64),
                "in_use": pl.Series(cols[6], dtype=pl.Int64),
                "waiting": pl.Series(cols[7], dtype=pl.Int64),
            }
        )

    def stats(self) -> pl.DataFrame:
        """The pool's ``get_stats()`` snapshots over time (:data:`~perflab.pooling.POOL_STATS`).

        One snapshot at most every ``stats_interval_s`` while the pool is used, one at
        open and close, and one per :meth:`snapshot` call.
        """
        with self._lock:
            snaps = list(self._snapshots)
        rows = [
            {
                "timestamp": int((t + self._offset) * 1e6),
                "pool": self.name,
                **{k: int(s.get(k, 0)) for k in STAT_COUNTERS},
            }
            for t, s in snaps
        ]
        if not rows:
            return POOL_STATS.empty()
        frame = pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))
        return POOL_STATS.validate(frame).select(POOL_STATS.names)

    def summary(self) -> dict[str, Any]:
        """Counts and acquire-wait percentiles so far, as one dict.

        Keys: ``pool``, ``acquires``, ``ok``, ``timeout``, ``rejected``, ``error``,
        ``dropped`` (events pushed out of the ring), ``in_use`` (now), ``max_size``,
        ``wait_p50_ms``, ``wait_p99_ms``, ``hold_mean_ms`` (None before any acquire).
        """
        ev = self.events()
        ok = ev.filter(pl.col("outcome") == "ok")

        def q(col: str, p: float) -> float | None:
            v = ev[col].drop_nulls()
            return None if v.is_empty() else float(v.quantile(p, "linear") or 0.0)

        return {
            "pool": self.name,
            "acquires": sum(self.counts.values()),
            **{k: self.counts.get(k, 0) for k in ("ok", "timeout", "rejected", "error")},
            "dropped": self.dropped,
            "in_use": self._in_use,
            "max_size": self.max_size,
            "wait_p50_ms": q("wait_ms", 0.5),
            "wait_p99_ms": q("wait_ms", 0.99),
            "hold_mean_ms": None
            if ok.is_empty()
            else float(cast(float, ok["hold_ms"].mean()) or 0.0),
        }

    def reset(self) -> None:
        """Forget the recorded events, snapshots and counts (the pool is untouched)."""
        with self._lock:
            self._events.clear()
            self._snapshots.clear()
            self.counts.clear()
            self.dropped = 0
            self._last_snapshot = -float("inf")


def _options(
    min_size: int, max_size: int, max_idle_s: float, max_waiting: int, timeout_s: float
) -> None:
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
        raise ParameterError(f"min_size must be a non-negative integer, not {min_size!r}")
    positive_int("max_size", max_size)
    if max_size < min_size:
        raise ParameterError(f"max_size ({max_size}) is below min_size ({min_size})")
    if isinstance(max_waiting, bool) or not isinstance(max_waiting, int) or max_waiting < 0:
        raise ParameterError(
            f"max_waiting must be a non-negative integer (0: unbounded), not {max_waiting!r}"
        )
    for name, v in (("max_idle_s", max_idle_s), ("timeout_s", timeout_s)):
        if not v > 0:
            raise ParameterError(f"{name} must be positive, not {v!r}")


def _recording_class(base: Any, sink: Any) -> type:
    """A subclass of ``base`` (a psycopg connection class) that reports failed connects."""
    import inspect

    if inspect.iscoroutinefunction(base.connect):

        class _AsyncRecording(base):
            @classmethod
            async def connect(cls, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await super().connect(*args, **kwargs)
                except Exception as exc:
                    sink(exc)
                    raise

        return _AsyncRecording

    class _Recording(base):
        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().connect(*args, **kwargs)
            except Exception as exc:
                sink(exc)
                raise

    return _Recording


class InstrumentedPool(_Recorder):
    """A ``psycopg_pool.ConnectionPool`` that records every acquire.

    Parameters
    ----------
    conninfo : str
        libpq connection string or URI. Never logged or shown.
    min_size, max_size : int
        Connections kept open, and the most it opens (5 and 20).
    max_idle_s : float
        An idle connection above ``min_size`` is closed after this long (30 s).
    max_waiting : int
        Requests allowed to wait for a connection; one more is rejected at once with
        ``psycopg_pool.TooManyRequests`` and counted (100; 0 means unbounded).
    timeout_s : float
        How long a request waits before ``psycopg_pool.PoolTimeout`` (30 s).
    name : str, optional
        The pool's name in frames (``perflab-pool-N``).
    open : bool
        Open the pool now (and wait for ``min_size`` connections when ``wait``).
    wait : bool
        Wait, up to ``open_timeout_s``, for the first ``min_size`` connections.
    open_timeout_s : float
        Bound on opening; also each connection attempt's ``connect_timeout``.
    max_events : int
        Events kept (the oldest are dropped past it, and counted in ``dropped``).
    stats_interval_s : float
        Least time between two ``get_stats()`` snapshots taken on acquire/release.
    **options
        Passed to ``ConnectionPool`` (``kwargs``, ``configure``, ``check``,
        ``max_lifetime`` …).

    Raises
    ------
    PoolError
        ``open`` and ``wait``, and no connection within ``open_timeout_s`` (the
        server's reason in the message, never the password).

    Examples
    --------
    >>> pool = InstrumentedPool("postgresql://postgres@127.0.0.1:5432/test",
    ...                         min_size=1, max_size=2, open=False)
    >>> pool.max_size, pool.events().columns[:4]
    (2, ['start', 'wait_ms', 'hold_ms', 'outcome'])
    """

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 5,
        max_size: int = 20,
        max_idle_s: float = 30.0,
        max_waiting: int = 100,
        timeout_s: float = 30.0,
        name: str | None = None,
        open: bool = True,
        wait: bool = True,
        open_timeout_s: float = 10.0,
        max_events: int = 1_000_000,
        stats_interval_s: float = 1.0,
        **options: Any,
    ) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self._pool = self._setup(
            ConnectionPool,
            psycopg.Connection,
            conninfo,
            min_size=min_size,
            max_size=max_size,
            max_idle_s=max_idle_s,
            max_waiting=max_waiting,
            timeout_s=timeout_s,
            name=name,
            open_timeout_s=open_timeout_s,
            max_events=max_events,
            stats_interval_s=stats_interval_s,
            options=options,
        )
        if open:
            self.open(wait=wait)

    @property
    def pool(self) -> Any:
        """The underlying ``psycopg_pool.ConnectionPool``."""
        return self._pool

    def __repr__(self) -> str:
        return f"<InstrumentedPool {self.name!r} {self.min_size}..{self.max_size} {self._where}>"

    def open(self, *, wait: bool = True, timeout_s: float | None = None) -> None:
        """Open the pool; with ``wait``, wait for ``min_size`` connections.

        Raises
        ------
        PoolError
            No connection within ``timeout_s`` (default ``open_timeout_s``).
        """
        from psycopg_pool import PoolTimeout

        limit = self.open_timeout_s if timeout_s is None else float(timeout_s)
        self._pool.open(wait=False)
        if wait and self.min_size:
            try:
                self._pool.wait(timeout=limit)
            except PoolTimeout:
                why = self._connect_error or "no connection came in time"
                raise PoolError(
                    f"cannot open pool {self.name!r} on {self._where}: {why} "
                    f"(waited {limit:g} s for {self.min_size} connection(s))"
                ) from None
        self.snapshot()

    def close(self, timeout_s: float = 5.0) -> None:
        """Close the pool (its connections too); the recorded frames stay readable."""
        if not self._pool.closed:
            with contextlib.suppress(Exception):
                self.snapshot()
            self._pool.close(timeout=timeout_s)

    @property
    def closed(self) -> bool:
        """Whether the pool is closed."""
        return bool(self._pool.closed)

    def __enter__(self) -> InstrumentedPool:
        if self._pool.closed:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def connection(self, timeout_s: float | None = None) -> Iterator[psycopg.Connection[Any]]:
        """A connection for the ``with`` block, recorded; the transaction commits on
        success and rolls back on an exception, as ``ConnectionPool.connection()`` does.

        Raises
        ------
        psycopg_pool.PoolTimeout
            No connection within ``timeout_s`` (default: the pool's ``timeout_s``).
        psycopg_pool.TooManyRequests
            ``max_waiting`` requests are waiting already: rejected at once.
        """
        t0, size, waiting = self._before()
        try:
            conn = self._pool.getconn(timeout_s)
        except BaseException as exc:
            self._failed(t0, size, waiting, exc)
            raise
        t1, in_use = self._acquired()
        error: BaseException | None = None
        try:
            with conn:
                yield conn
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._pool.putconn(conn)
            self._released(t0, t1, size, in_use, waiting, error)

    def getconn(self, timeout_s: float | None = None) -> psycopg.Connection[Any]:
        """A connection to give back with :meth:`putconn` (recorded like :meth:`connection`)."""
        t0, size, waiting = self._before()
        try:
            conn = self._pool.getconn(timeout_s)
        except BaseException as exc:
            self._failed(t0, size, waiting, exc)
            raise
        t1, in_use = self._acquired()
        with self._lock:
            self._held[id(conn)] = (t0, t1, size, in_use, waiting)
        return conn

    def putconn(self, conn: psycopg.Connection[Any]) -> None:
        """Give back a connection from :meth:`getconn`."""
        with self._lock:
            held = self._held.pop(id(conn), None)
        self._pool.putconn(conn)
        if held is not None:
            t0, t1, size, in_use, waiting = held
            self._released(t0, t1, size, in_use, waiting, None)


class AsyncInstrumentedPool(_Recorder):
    """:class:`InstrumentedPool` for asyncio, over ``psycopg_pool.AsyncConnectionPool``.

    The same parameters, defaults and frames. Open it with ``await pool.open()`` or
    ``async with AsyncInstrumentedPool(...) as pool``; acquire with
    ``async with pool.connection() as conn``.

    Examples
    --------
    >>> pool = AsyncInstrumentedPool("postgresql://postgres@127.0.0.1:5432/test")
    >>> pool.min_size, pool.max_size, pool.closed
    (5, 20, True)
    """

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 5,
        max_size: int = 20,
        max_idle_s: float = 30.0,
        max_waiting: int = 100,
        timeout_s: float = 30.0,
        name: str | None = None,
        open_timeout_s: float = 10.0,
        max_events: int = 1_000_000,
        stats_interval_s: float = 1.0,
        **options: Any,
    ) -> None:
        import psycopg
        from psycopg_pool import AsyncConnectionPool

        self._pool = self._setup(
            AsyncConnectionPool,
            psycopg.AsyncConnection,
            conninfo,
            min_size=min_size,
            max_size=max_size,
            max_idle_s=max_idle_s,
            max_waiting=max_waiting,
            timeout_s=timeout_s,
            name=name,
            open_timeout_s=open_timeout_s,
            max_events=max_events,
            stats_interval_s=stats_interval_s,
            options=options,
        )

    @property
    def pool(self) -> Any:
        """The underlying ``psycopg_pool.AsyncConnectionPool``."""
        return self._pool

    @property
    def closed(self) -> bool:
        """Whether the pool is closed."""
        return bool(self._pool.closed)

    def __repr__(self) -> str:
        return (
            f"<AsyncInstrumentedPool {self.name!r} {self.min_size}..{self.max_size} {self._where}>"
        )

    async def open(self, *, wait: bool = True, timeout_s: float | None = None) -> None:
        """Open the pool; with ``wait``, wait for ``min_size`` connections.

        Raises
        ------
        PoolError
            No connection within ``timeout_s`` (default ``open_timeout_s``).
        """
        from psycopg_pool import PoolTimeout

        limit = self.open_timeout_s if timeout_s is None else float(timeout_s)
        await self._pool.open(wait=False)
        if wait and self.min_size:
            try:
                await self._pool.wait(timeout=limit)
            except PoolTimeout:
                why = self._connect_error or "no connection came in time"
                raise PoolError(
                    f"cannot open pool {self.name!r} on {self._where}: {why} "
                    f"(waited {limit:g} s for {self.min_size} connection(s))"
                ) from None
        self.snapshot()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Close the pool; the recorded frames stay readable."""
        if not self._pool.closed:
            with contextlib.suppress(Exception):
                self.snapshot()
            await self._pool.close(timeout=timeout_s)

    async def __aenter__(self) -> AsyncInstrumentedPool:
        if self._pool.closed:
            await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def connection(
        self, timeout_s: float | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for the ``async with`` block, recorded (see
        :meth:`InstrumentedPool.connection`)."""
        t0, size, waiting = self._before()
        try:
            conn = await self._pool.getconn(timeout_s)
        except BaseException as exc:
            self._failed(t0, size, waiting, exc)
            raise
        t1, in_use = self._acquired()
        error: BaseException | None = None
        try:
            async with conn:
                yield conn
        except BaseException as exc:
            error = exc
            raise
        finally:
            await self._pool.putconn(conn)
            self._released(t0, t1, size, in_use, waiting, error)


_DEFAULT: InstrumentedPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool(conninfo: str | None = None, **options: Any) -> InstrumentedPool:
    """The process-wide :class:`InstrumentedPool`, made on first use.

    Parameters
    ----------
    conninfo : str, optional
        Connection string for the first call; else ``$PERFLAB_PG_DSN``.
    **options
        :class:`InstrumentedPool` options for the first call.

    Raises
    ------
    ParameterError
        No pool yet and neither ``conninfo`` nor ``$PERFLAB_PG_DSN`` is given.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("PERFLAB_PG_DSN", None) and None
    >>> close_default_pool()
    >>> default_pool()
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: no default pool yet: pass conninfo or set PERFLAB_PG_DSN
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT.closed:
            dsn = conninfo or os.environ.get("PERFLAB_PG_DSN")
            if not dsn:
                raise ParameterError("no default pool yet: pass conninfo or set PERFLAB_PG_DSN")
            _DEFAULT = InstrumentedPool(dsn, **options)
            atexit.register(close_default_pool)
        return _DEFAULT


def close_default_pool() -> None:
    """Close the process-wide pool, if there is one (the next :func:`default_pool` makes
    a new one)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        pool, _DEFAULT = _DEFAULT, None
    if pool is not None:
        pool.close()

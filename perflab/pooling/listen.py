"""``listen_sqlalchemy``: write SQLAlchemy's pool events as JSON lines.

SQLAlchemy's pool emits ``connect``, ``checkout``, ``checkin``, ``invalidate``,
``soft_invalidate``, ``reset``, ``close`` and ``detach`` events. The listener writes
one JSON object per event, what :func:`~perflab.pooling.read_sqlalchemy_events` reads:

================  =======================================================================
key               value
================  =======================================================================
``ts``            epoch seconds (float) when the event fired
``event``         the event's name
``pool``          the listener's ``name`` (default: the engine URL's host/database)
``conn``          an id of the DBAPI connection, stable while it lives (``id()``)
``checked_out``   ``pool.checkedout()`` when the event fired (after a checkout; before
                  the checkin is counted, for a checkin)
``size``          ``pool.size()``: the pool's configured size (``pool_size``)
``overflow``      ``pool.overflow()``: connections over ``size`` (negative while below)
================  =======================================================================

Lines are written under a lock and flushed, so a crash loses at most the event being
written; the file is appended to (a listener never overwrites a file).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from perflab.errors import ParameterError

__all__ = ["SQLALCHEMY_EVENTS", "SqlAlchemyListener", "listen_sqlalchemy"]

SQLALCHEMY_EVENTS: tuple[str, ...] = (
    "connect",
    "checkout",
    "checkin",
    "invalidate",
    "soft_invalidate",
    "reset",
    "close",
    "detach",
)
"""The pool events the listener records."""


class SqlAlchemyListener:
    """The registered listener: :meth:`remove` it, or use it as a context manager."""

    def __init__(self, pool: Any, path: Path, name: str) -> None:
        self.pool = pool
        self.path = path
        self.name = name
        self._lock = threading.Lock()
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in remove()
        self._handlers: list[tuple[str, Any]] = []
        self.count = 0

    def _write(self, event: str, dbapi_connection: Any) -> None:
        pool = self.pool
        size = getattr(pool, "size", None)
        overflow = getattr(pool, "overflow", None)
        checked = getattr(pool, "checkedout", None)
        row = {
            "ts": time.time(),
            "event": event,
            "pool": self.name,
            "conn": id(dbapi_connection),
            "checked_out": checked() if callable(checked) else None,
            "size": size() if callable(size) else None,
            "overflow": overflow() if callable(overflow) else None,
        }
        line = json.dumps(row) + "\n"
        with self._lock:
            if not self._fh.closed:
                self._fh.write(line)
                self._fh.flush()
                self.count += 1

    def _attach(self) -> None:
        from sqlalchemy import event

        for name in SQLALCHEMY_EVENTS:

            def handler(dbapi_connection: Any, *rest: Any, _name: str = name) -> None:
                self._write(_name, dbapi_connection)

            event.listen(self.pool, name, handler)
            self._handlers.append((name, handler))

    def remove(self) -> None:
        """Stop listening and close the file."""
        from sqlalchemy import event

        for name, handler in self._handlers:
            if event.contains(self.pool, name, handler):
                event.remove(self.pool, name, handler)
        self._handlers.clear()
        with self._lock:
            self._fh.close()

    def __enter__(self) -> SqlAlchemyListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def listen_sqlalchemy(
    target: Any, path: str | Path, *, name: str | None = None
) -> SqlAlchemyListener:
    """Record the pool events of a SQLAlchemy engine (or pool) as JSON lines in ``path``.

    Parameters
    ----------
    target : sqlalchemy.engine.Engine or sqlalchemy.pool.Pool
        The engine (its ``.pool`` is listened to) or a pool.
    path : str or Path
        The JSON-lines file, appended to.
    name : str, optional
        The pool's name in the events (default: the engine URL's host/database).

    Returns
    -------
    SqlAlchemyListener
        Call :meth:`~SqlAlchemyListener.remove` (or leave its ``with`` block) to stop.

    Examples
    --------
    >>> import sqlalchemy, tempfile, pathlib
    >>> engine = sqlalchemy.create_engine("sqlite://")
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sa.jsonl"
    >>> with listen_sqlalchemy(engine, p, name="db") as listener:
    ...     with engine.connect() as conn:
    ...         _ = conn.execute(sqlalchemy.text("select 1"))
    >>> "checkout" in p.read_text(), listener.count >= 2
    (True, True)
    """
    try:
        from sqlalchemy.pool import Pool
    except ImportError as exc:  # pragma: no cover - optional
        raise ParameterError("listen_sqlalchemy needs SQLAlchemy: pip install sqlalchemy") from exc
    pool = target if isinstance(target, Pool) else getattr(target, "pool", None)
    if not isinstance(pool, Pool):
        raise ParameterError(f"expected a SQLAlchemy Engine or Pool, not {type(target).__name__}")
    if name is None:
        url = getattr(target, "url", None)
        name = f"{url.host or 'local'}/{url.database or ''}" if url is not None else "sqlalchemy"
    listener = SqlAlchemyListener(pool, Path(path), name)
    listener._attach()
    return listener

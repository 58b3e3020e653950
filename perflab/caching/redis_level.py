"""The Redis level (L2) of the runtime cache: :class:`RedisLevel`.

Give one to a cache as ``Cache(l2=RedisLevel(...))``: the in-process L1 reads
through it on a miss, writes through it on ``set`` and deletes from it on
``delete`` (see :class:`perflab.caching.cache.Cache`). It can also be used alone.

Values
------
Redis stores bytes, so values are serialised, and the serialiser is a safety
decision as much as a format:

- ``"json"`` (default): ``str``, ``int``, ``float``, ``bool``, ``None``, ``list``,
  ``tuple`` (read back as a list), ``dict`` with ``str`` keys, and ``bytes``
  (tagged as ``{"$b": "<base64>"}``; a user dict whose only key starts with ``$``
  is escaped with one more ``$``, so nothing the user stored is ever mistaken for
  a tag). Subclasses of these types are read back as the base type. Anything else
  raises :class:`SerializerError` before the cache changes.
- ``"pickle"``: any picklable object. Unpickling runs code chosen by whoever wrote
  the bytes, so use it **only for trusted data** in a Redis nobody else writes to.
- ``(dumps, loads)``: your own pair, ``dumps(value) -> bytes`` and
  ``loads(bytes) -> value`` (msgpack, orjson, …).

Failures and backoff
--------------------
Every call has a timeout (``timeout_s``, for connecting and for each reply) and
redis-py's own retries are off, so one failed call costs at most about the
timeout. When Redis cannot be reached (refused, timed out, a broken reply) the
call raises :class:`LevelError`, the failure is logged once as a warning (later
failures of the same outage at DEBUG, the recovery at INFO), and for ``backoff_s``
seconds further calls raise :class:`LevelError` at once (``attempted=False``)
without touching the network; the first call after that tries again. An error
*reply* from a healthy server (``OOM``, ``READONLY`` …) raises :class:`LevelError`
too, but starts no backoff. The :class:`~perflab.caching.cache.Cache` catches
these errors: its L1 keeps serving and the ``errors`` column of its ``l2`` rows
counts them.

Keys are ``prefix + key`` and must be ``str``. Connection strings are never logged
or shown in ``repr`` with their password.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from perflab.errors import ParameterError, PerflabError

__all__ = [
    "DEFAULT_URL",
    "LevelError",
    "RedisLevel",
    "Serializer",
    "SerializerError",
    "SerializerSpec",
    "make_serializer",
]

logger = logging.getLogger(__name__)

DEFAULT_URL = "redis://127.0.0.1:6379/0"

SerializerSpec: TypeAlias = (
    "str | Serializer | tuple[Callable[[Any], bytes], Callable[[bytes], Any]]"
)
"""What ``serializer=`` accepts: ``"json"``, ``"pickle"``, a :class:`Serializer` or a
``(dumps, loads)`` pair."""


class SerializerError(PerflabError, TypeError):
    """A value the level's serialiser cannot write, or bytes it cannot read.

    Examples
    --------
    >>> make_serializer("json").dumps(object())
    Traceback (most recent call last):
    ...
    perflab.caching.redis_level.SerializerError: the JSON serializer cannot store ...
    """


class LevelError(PerflabError):
    """A call to a cache level (Redis) that failed or was skipped during a backoff.

    Attributes
    ----------
    attempted : bool
        ``False`` when the call was refused without touching the network because
        the level is backing off after a failure.

    Examples
    --------
    >>> LevelError("redis at 127.0.0.1:1: connection refused").attempted
    True
    """

    def __init__(self, message: str, *, attempted: bool = True) -> None:
        super().__init__(message)
        self.attempted = attempted


# -- serialisers ------------------------------------------------------------------


@dataclass(frozen=True)
class Serializer:
    """A named pair of functions between values and bytes.

    Examples
    --------
    >>> s = make_serializer("json")
    >>> s.loads(s.dumps({"a": b"\\x00"}))
    {'a': b'\\x00'}
    """

    name: str
    dump: Callable[[Any], bytes]
    load: Callable[[bytes], Any]

    def dumps(self, value: Any) -> bytes:
        """``value`` as bytes; :class:`SerializerError` when it cannot be written."""
        try:
            data = self.dump(value)
        except SerializerError:
            raise
        except Exception as exc:
            raise SerializerError(
                f"the {self.name} serializer cannot store a {type(value).__name__}: {exc}"
            ) from exc
        if isinstance(data, bytes):
            return data
        if isinstance(data, bytearray | memoryview):
            return bytes(data)
        if isinstance(data, str):
            return data.encode("utf-8")
        raise SerializerError(
            f"the {self.name} serializer returned {type(data).__name__}, not bytes"
        )

    def loads(self, data: bytes) -> Any:
        """The value stored as ``data``; :class:`SerializerError` when unreadable."""
        try:
            return self.load(data)
        except Exception as exc:
            raise SerializerError(
                f"the {self.name} serializer cannot read {len(data)} bytes: {exc}"
            ) from exc


def _to_json(value: Any) -> Any:
    """``value`` with bytes tagged and ``$``-keys escaped; refuses other types."""
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    if isinstance(value, bytes | bytearray):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SerializerError(
                    f"the JSON serializer needs str dict keys, not {type(k).__name__} "
                    f"({k!r}); convert the keys or use serializer='pickle' for trusted data"
                )
            out[k] = _to_json(v)
        if len(out) == 1:
            ((k, v),) = out.items()
            if k.startswith("$"):
                return {"$" + k: v}
        return out
    raise SerializerError(
        f"the JSON serializer cannot store a {type(value).__name__} ({value!r:.60}); "
        "it stores str, int, float, bool, None, bytes, list, tuple and dict with str "
        "keys. Convert the value, pass serializer=(dumps, loads), or use "
        "serializer='pickle' for trusted data only"
    )


def _json_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((k, v),) = obj.items()
        if k == "$b":
            return base64.b64decode(v)
        if k.startswith("$$"):
            return {k[1:]: v}
    return obj


def _json_dumps(value: Any) -> bytes:
    try:
        tree = _to_json(value)
    except RecursionError:
        raise SerializerError(
            "the JSON serializer cannot store a value nested this deeply (or circular)"
        ) from None
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_loads(data: bytes) -> Any:
    return json.loads(data, object_hook=_json_hook)


def _pickle_dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


JSON = Serializer("JSON", _json_dumps, _json_loads)
PICKLE = Serializer("pickle", _pickle_dumps, pickle.loads)


def make_serializer(spec: SerializerSpec) -> Serializer:
    """The :class:`Serializer` for ``"json"``, ``"pickle"`` or a ``(dumps, loads)`` pair.

    Parameters
    ----------
    spec : str, Serializer or tuple
        ``"json"`` (safe, the default of :class:`RedisLevel`), ``"pickle"`` (only
        for trusted data: loading runs code) or ``(dumps, loads)``.

    Raises
    ------
    ParameterError
        Anything else.

    Examples
    --------
    >>> make_serializer("json").dumps([1, "a", None])
    b'[1,"a",null]'
    >>> make_serializer((str.encode, bytes.decode)).loads(b"hi")
    'hi'
    """
    if isinstance(spec, Serializer):
        return spec
    if isinstance(spec, str):
        name = spec.lower()
        if name == "json":
            return JSON
        if name == "pickle":
            return PICKLE
    elif isinstance(spec, tuple) and len(spec) == 2 and all(callable(f) for f in spec):
        return Serializer(getattr(spec[0], "__name__", "custom"), spec[0], spec[1])
    raise ParameterError(
        f"serializer must be 'json', 'pickle' or a (dumps, loads) pair, not {spec!r}"
    )


# -- the level --------------------------------------------------------------------


def _redacted(url: str) -> str:
    """``url`` without user and password (in the host part or the query string).

    Examples
    --------
    >>> _redacted("redis://u:secret@h:6379/0?password=secret&db=1")
    'redis://h:6379/0?db=1'
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in ("password", "username")]
    )
    return parts._replace(netloc=netloc, query=query).geturl()


_GLOB = re.compile(r"([\\*?\[\]])")


class RedisLevel:
    """A Redis-backed cache level: values under ``prefix + key``, with timeouts.

    Parameters
    ----------
    url : str
        A redis-py URL (``redis://[[user]:password@]host:port/db``, ``rediss://``,
        ``unix://``). Never logged with its password.
    prefix : str
        Put before every key, so the level owns a namespace (``clear`` removes
        exactly the keys under it).
    serializer : {"json", "pickle"} or (dumps, loads)
        How values become bytes; see the module docstring. ``"pickle"`` only for
        trusted data.
    timeout_s : float
        Connect and reply timeout of each call, seconds.
    backoff_s : float
        After a failure, calls fail at once for this many seconds (0: retry every
        call).
    clock : callable, optional
        Monotonic seconds for the backoff (tests pass a fake one);
        :func:`time.monotonic` by default.

    Examples
    --------
    >>> level = RedisLevel("redis://:secret@127.0.0.1:1/0", prefix="doc:")
    >>> level
    RedisLevel(url='redis://127.0.0.1:1/0', prefix='doc:', serializer='JSON')
    >>> level.get("k")
    Traceback (most recent call last):
    ...
    perflab.caching.redis_level.LevelError: redis at redis://127.0.0.1:1/0 failed (GET): ...
    >>> level.get("k")  # backing off: no network call
    Traceback (most recent call last):
    ...
    perflab.caching.redis_level.LevelError: redis at ... is backing off after a failure ...
    >>> level.errors, level.skipped
    (1, 1)
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        prefix: str = "perflab:",
        serializer: SerializerSpec = "json",
        timeout_s: float = 0.2,
        backoff_s: float = 1.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(prefix, str):
            raise ParameterError(f"prefix must be a str, not {prefix!r}")
        if not _is_number(timeout_s) or timeout_s <= 0:
            raise ParameterError(f"timeout_s must be a finite number > 0, not {timeout_s!r}")
        if not _is_number(backoff_s) or backoff_s < 0:
            raise ParameterError(f"backoff_s must be a finite number >= 0, not {backoff_s!r}")
        self.url = _redacted(url)
        self.prefix = prefix
        self.serializer = make_serializer(serializer)
        self.timeout_s = float(timeout_s)
        self.backoff_s = float(backoff_s)
        self._clock = clock or time.monotonic
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as exc:
            raise ParameterError(f"not a Redis URL: {self.url!r} ({exc})") from None
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._failing = False
        self._errors = 0
        self._skipped = 0
        self._bad_payloads = 0

    def __repr__(self) -> str:
        return (
            f"RedisLevel(url={self.url!r}, prefix={self.prefix!r}, "
            f"serializer={self.serializer.name!r})"
        )

    # -- state -----------------------------------------------------------------------

    @property
    def errors(self) -> int:
        """Calls that reached for Redis and failed (since creation)."""
        return self._errors

    @property
    def skipped(self) -> int:
        """Calls refused without a network call because the level was backing off."""
        return self._skipped

    @property
    def available(self) -> bool:
        """Whether the next call will try the network (not inside a backoff).

        Examples
        --------
        >>> RedisLevel().available
        True
        """
        return self._clock() >= self._retry_at

    # -- serialisation ---------------------------------------------------------------

    def dumps(self, value: Any) -> bytes:
        """``value`` as the bytes this level stores (:class:`SerializerError` if it can't).

        Examples
        --------
        >>> RedisLevel().dumps({"n": 1})
        b'{"n":1}'
        """
        return self.serializer.dumps(value)

    def loads(self, data: bytes) -> Any:
        """The value stored as ``data``.

        Examples
        --------
        >>> RedisLevel().loads(b'{"$b":"AAE="}')
        b'\\x00\\x01'
        """
        return self.serializer.loads(data)

    def key(self, key: str) -> str:
        """The Redis key of ``key``: ``prefix + key``.

        Raises
        ------
        ParameterError
            ``key`` is not a str.

        Examples
        --------
        >>> RedisLevel(prefix="app:").key("user_1")
        'app:user_1'
        """
        if not isinstance(key, str):
            raise ParameterError(
                f"keys stored in Redis must be str, not {type(key).__name__} ({key!r})"
            )
        return self.prefix + key

    # -- calls -----------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        if self._retry_at and self._clock() < self._retry_at:
            with self._lock:
                self._skipped += 1
            raise LevelError(
                f"redis at {self.url} is backing off after a failure (retry within "
                f"{self.backoff_s:g} s)",
                attempted=False,
            )
        try:
            result = fn()
        except redis.ResponseError as exc:  # the server answered: no backoff
            self._failed(what, exc, backoff=False)
            raise LevelError(f"redis at {self.url} failed ({what}): {exc}") from exc
        except (redis.RedisError, OSError) as exc:
            self._failed(what, exc, backoff=True)
            raise LevelError(f"redis at {self.url} failed ({what}): {exc}") from exc
        if self._failing:
            with self._lock:
                if self._failing:
                    self._failing = False
                    logger.info("redis at %s is reachable again", self.url)
        return result

    def _failed(self, what: str, exc: BaseException, *, backoff: bool) -> None:
        with self._lock:
            self._errors += 1
            if backoff and self.backoff_s:
                self._retry_at = self._clock() + self.backoff_s
            first = not self._failing
            self._failing = True
        if first:
            logger.warning(
                "redis at %s failed (%s: %s); the cache serves from memory%s",
                self.url,
                what,
                exc,
                f" and retries Redis after {self.backoff_s:g} s" if backoff else "",
            )
        else:
            logger.debug("redis at %s failed again (%s: %s)", self.url, what, exc)

    def fetch(self, key: str) -> tuple[Any, int, float | None] | None:
        """``(value, size_bytes, ttl_s)`` of ``key``, or ``None`` when Redis has none.

        ``ttl_s`` is what remains of the key's time to live (``None``: no expiry);
        one round trip (``GET`` and ``PTTL`` in a ``MULTI``).

        Raises
        ------
        LevelError
            Redis failed or the level is backing off.
        SerializerError
            The stored bytes cannot be read by this level's serialiser.

        Examples
        --------
        >>> RedisLevel("redis://127.0.0.1:1/0").fetch(42)
        Traceback (most recent call last):
        ...
        perflab.errors.ParameterError: keys stored in Redis must be str, not int (42)
        """
        rkey = self.key(key)

        def call() -> list[Any]:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.get(rkey)
                pipe.pttl(rkey)
                result: list[Any] = pipe.execute()
                return result

        raw, pttl = self._call("GET", call)
        if raw is None:
            return None
        try:
            value = self.loads(raw)
        except SerializerError:
            with self._lock:
                self._bad_payloads += 1
                first = self._bad_payloads == 1
            if first:
                logger.warning(
                    "redis at %s holds a value under %r that the %s serializer cannot read",
                    self.url,
                    rkey,
                    self.serializer.name,
                )
            raise
        ttl = pttl / 1000.0 if isinstance(pttl, int) and pttl > 0 else None
        return value, len(raw), ttl

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when Redis has none.

        Raises
        ------
        LevelError
            Redis failed or the level is backing off.

        Examples
        --------
        >>> RedisLevel("redis://127.0.0.1:1/0", backoff_s=0).get("k", "fallback")
        Traceback (most recent call last):
        ...
        perflab.caching.redis_level.LevelError: redis at ... failed (GET): ...
        """
        found = self.fetch(key)
        return default if found is None else found[0]

    def store(self, key: str, payload: bytes, ttl_s: float | None = None) -> None:
        """Write already serialised bytes (``SET key payload [PX ms]``).

        ``ttl_s`` is rounded up to whole milliseconds.

        Raises
        ------
        LevelError
            Redis failed or the level is backing off.

        Examples
        --------
        >>> RedisLevel("redis://127.0.0.1:1/0").store("k", b"1", ttl_s=0)
        Traceback (most recent call last):
        ...
        perflab.errors.ParameterError: ttl_s must be a finite number > 0 or None, not 0
        """
        rkey = self.key(key)
        px = _ttl_ms(ttl_s)
        self._call("SET", lambda: self._client.set(rkey, payload, px=px))

    def set(self, key: str, value: Any, ttl_s: float | None = None) -> int:
        """Serialise and write ``value``; returns the size written, in bytes.

        Raises
        ------
        SerializerError
            The value cannot be serialised (nothing is written).
        LevelError
            Redis failed or the level is backing off.

        Examples
        --------
        >>> RedisLevel("redis://127.0.0.1:1/0").set("k", {1, 2})
        Traceback (most recent call last):
        ...
        perflab.caching.redis_level.SerializerError: the JSON serializer cannot store a set ...
        """
        payload = self.dumps(value)
        self.store(key, payload, ttl_s)
        return len(payload)

    def delete(self, *keys: str) -> int:
        """Delete keys; returns how many existed.

        Raises
        ------
        LevelError
            Redis failed or the level is backing off.

        Examples
        --------
        >>> RedisLevel().delete()
        0
        """
        rkeys = [self.key(k) for k in keys]
        if not rkeys:
            return 0
        n: int = self._call("DEL", lambda: self._client.delete(*rkeys))
        return n

    def delete_many(self, keys: Iterable[str], *, batch: int = 500) -> int:
        """Delete keys in batches of ``batch``; returns how many existed.

        Examples
        --------
        >>> RedisLevel().delete_many([])
        0
        """
        keys = list(keys)
        return sum(self.delete(*keys[i : i + batch]) for i in range(0, len(keys), batch))

    def clear(self) -> int:
        """Delete every key under ``prefix`` (``SCAN`` + ``DEL``); returns how many.

        Raises
        ------
        ParameterError
            The prefix is empty (that would clear the whole database).
        LevelError
            Redis failed or the level is backing off.

        Examples
        --------
        >>> RedisLevel(prefix="").clear()
        Traceback (most recent call last):
        ...
        perflab.errors.ParameterError: refusing to clear a RedisLevel with an empty prefix ...
        """
        if not self.prefix:
            raise ParameterError(
                "refusing to clear a RedisLevel with an empty prefix (it would delete "
                "every key of the database)"
            )
        pattern = _GLOB.sub(r"\\\1", self.prefix) + "*"

        def call() -> int:
            removed = 0
            batch: list[bytes] = []
            for rkey in self._client.scan_iter(match=pattern, count=1000):
                batch.append(rkey)
                if len(batch) >= 500:
                    removed += self._client.delete(*batch)
                    batch = []
            if batch:
                removed += self._client.delete(*batch)
            return removed

        n: int = self._call("SCAN/DEL", call)
        return n

    def ping(self) -> bool:
        """Whether Redis answers now (never raises; counts a failure like any call).

        Examples
        --------
        >>> RedisLevel("redis://127.0.0.1:1/0").ping()
        False
        """
        try:
            return bool(self._call("PING", self._client.ping))
        except LevelError:
            return False

    def close(self) -> None:
        """Close the connections of this level's client.

        Examples
        --------
        >>> RedisLevel().close()
        """
        self._client.close()


def _is_number(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x)


def _ttl_ms(ttl_s: float | None) -> int | None:
    if ttl_s is None:
        return None
    if not _is_number(ttl_s) or ttl_s <= 0:
        raise ParameterError(f"ttl_s must be a finite number > 0 or None, not {ttl_s!r}")
    return max(1, math.ceil(ttl_s * 1000))

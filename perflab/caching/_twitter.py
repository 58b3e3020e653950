"""Twitter's production cache traces (github.com/twitter/cache-trace), as published.

Plain CSV without a header, one request per line, seven fields::

    timestamp,anonymized key,key size,value size,client id,operation,TTL
    0,nz:u:eeW511W3dcH3de3d15ec,21,117,1,get,0

``timestamp`` is in seconds (integers, from the start of the trace); ``key size`` and
``value size`` are bytes; ``client id`` is dropped; ``operation`` is one of memcached's
``get/gets/set/add/replace/cas/append/prepend/delete/incr/decr``; ``TTL`` is seconds,
0 when the request is not a write (or the write sets no expiry). The published files
are zstd-compressed (``cluster52.0.zst``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import polars as pl

from perflab.errors import BadLines
from perflab.sources import Source, Where, load_csv

COLUMNS = ("timestamp", "key", "key_size", "value_size", "client", "op", "ttl")
"""The seven fields of a line, by the names this reader gives them."""

OPS: dict[str, str] = {
    "get": "get",
    "gets": "get",
    "set": "set",
    "add": "set",
    "replace": "set",
    "cas": "set",
    "append": "set",
    "prepend": "set",
    "incr": "set",
    "decr": "set",
    "delete": "delete",
}
"""memcached's operations folded to the three of a TRACE (see :mod:`.schema`)."""


def looks_like(fields: Sequence[str]) -> bool:
    """Whether a first line's fields read as a Twitter trace line."""
    if len(fields) != len(COLUMNS):
        return False
    try:
        float(fields[0])
        int(fields[2])
        int(fields[3])
    except ValueError:
        return False
    return fields[5].strip().lower() in OPS


def load(src: Source) -> tuple[pl.DataFrame, Where]:
    """The lines as columns (``client`` dropped); row ``i`` is line ``i + 1``.

    A clean file is read once with its types (numbers parsed by polars' reader); a file
    holding a value of the wrong type is read again as text, for the reader to say
    which; lines with more fields, quotes left open or bytes that are not UTF-8 go
    through ``src.bad`` (by :func:`perflab.sources.load_csv`, which the file is shown
    to with a header line in front). A line with fewer fields has nulls for the
    missing ones.
    """
    for schema in (_TYPED, dict.fromkeys(COLUMNS, pl.String)):
        try:
            # no column projection: with one, polars ignores a line's extra fields
            raw = pl.read_csv(src.handle(), has_header=False, schema=schema, raise_if_empty=False)
            return raw.drop("client"), _plus_one
        except pl.exceptions.PolarsError:
            continue  # typed: a value of another type; text: the slow path below
    raw, where = load_csv(_Headed(src, COLUMNS))

    def shifted(i: int) -> int | None:
        line = where(i)
        return None if line is None else line - 1

    return raw, shifted


_TYPED = {
    "timestamp": pl.Float64,
    "key": pl.String,
    "key_size": pl.Int64,
    "value_size": pl.Int64,
    "client": pl.String,
    "op": pl.String,
    "ttl": pl.Float64,
}


def _plus_one(i: int) -> int | None:
    return i + 1


class _Headed(Source):
    """A headerless CSV with a header line in front, for :func:`load_csv`.

    Bad lines are passed on to the real source's ``BadLines`` one line up.
    """

    def __init__(self, src: Source, names: Sequence[str]) -> None:
        vars(self).update(vars(src))
        self._data = (",".join(names) + "\n").encode() + src.data().removeprefix(b"\xef\xbb\xbf")
        self.bad = _LineAbove(src.bad)

    def handle(self) -> io.BytesIO:
        return io.BytesIO(self.data())

    def open(self) -> io.BytesIO:
        return io.BytesIO(self.data())


class _LineAbove(BadLines):
    def __init__(self, inner: BadLines) -> None:
        super().__init__(inner.source, inner.mode)
        self.inner = inner

    def add(self, line: int | None, reason: str) -> None:
        reason = reason.replace("where the header has", "where a Twitter trace line has")
        self.inner.add(None if line is None else line - 1, reason)

    def more(self, n: int) -> None:
        self.inner.more(n)

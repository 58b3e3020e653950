"""libCacheSim's ``oracleGeneral`` binary trace: records, decoding and encoding.

Each request is one little-endian packed record of 24 bytes::

    uint32  clock_time          seconds (libCacheSim's converters start it at the
                                trace's first timestamp, as the source gives it)
    uint64  obj_id              the object
    uint32  obj_size            bytes; 0 is kept as 0 (libCacheSim's reader skips
                                such requests by default: ``ignore_size_zero_req``)
    int64   next_access_vtime   1-based position of the object's next request in the
                                trace, -1 when it is never requested again

This is what libCacheSim's ``traceConv`` (``Util.convert_to_oracleGeneral``) writes:
the first request of an object at position 1 whose next request is at position 3
carries ``next_access_vtime = 3``. The file may be zstd-compressed
(``*.oracleGeneral.zst``, or ``.bin.zst`` on the public trace sites). There is no
header, no operation and no TTL: every record is a ``get``.

The records are read with one ``np.frombuffer`` over the (decompressed) bytes: no
Python loop per record. The next-access positions of :func:`encode` are one backward
pass in numba (a dictionary of "last seen" would be a Python loop per record).
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
import polars as pl

from perflab.caching.keys import dense_keys
from perflab.errors import BadLines, SchemaError

RECORD = np.dtype(
    [
        ("clock_time", "<u4"),
        ("obj_id", "<u8"),
        ("obj_size", "<u4"),
        ("next_access_vtime", "<i8"),
    ]
)
"""One oracleGeneral record: packed, 24 bytes."""

assert RECORD.itemsize == 24

_U32 = 2**32 - 1
_SNIFF_RECORDS = 64


def decode(buf: Any, bad: BadLines) -> np.ndarray:
    """The whole records of ``buf``; a partial last record goes through ``bad``.

    ``buf`` is any object with the buffer protocol (bytes, bytearray, mmap).
    """
    n, rest = divmod(len(buf), RECORD.itemsize)
    if rest:
        then = (
            f"; the {n} whole record(s) before it are read"
            if bad.mode == "skip"
            else " (errors='skip' reads the whole records before it)"
        )
        bad.add(
            None,
            f"record {n + 1}: cut short, {rest} of {RECORD.itemsize} bytes: "
            f"the file is truncated or not oracleGeneral{then}",
        )
    return np.frombuffer(buf, RECORD, count=n)


def to_frame(records: np.ndarray) -> pl.DataFrame:
    """Records → the TRACE columns, ``key`` still the uint64 ``obj_id``.

    ``next_access_vtime`` is dropped: it follows from the keys.
    """
    n = len(records)
    return pl.DataFrame(
        {
            "timestamp": records["clock_time"].astype(np.float64),
            "key": np.ascontiguousarray(records["obj_id"]),
            "size": records["obj_size"].astype(np.int64),
            "ttl": pl.repeat(None, n, dtype=pl.Float64, eager=True),
            "op": pl.repeat("get", n, dtype=pl.String, eager=True),
        }
    )


def looks_like(head: bytes) -> bool:
    """Whether the first records of ``head`` read as oracleGeneral.

    Every next-access position must be -1 or after the record's own position (and
    below 2⁴⁸: no trace has that many requests), and the data must not be text (a NUL
    byte in the first records: ids and sizes are fixed-width integers, which text
    never is).
    """
    n = min(len(head) // RECORD.itemsize, _SNIFF_RECORDS)
    if n == 0 or b"\x00" not in head[: n * RECORD.itemsize]:
        return False
    rec = np.frombuffer(head, RECORD, count=n)
    nxt = rec["next_access_vtime"]
    pos = np.arange(1, n + 1)
    return bool(np.all((nxt == -1) | ((nxt > pos) & (nxt < 2**48))))


@nb.njit(cache=True, nogil=True)
def _next_access(keys: Any, n_keys: int) -> Any:  # pragma: no cover - numba
    """1-based position of each request's next request of the same key, else -1."""
    last = np.full(n_keys, -1, np.int64)
    out = np.empty(keys.size, np.int64)
    for i in range(keys.size - 1, -1, -1):
        k = keys[i]
        out[i] = last[k]
        last[k] = i + 1
    return out


def encode(trace: pl.DataFrame) -> np.ndarray:
    """A TRACE frame → oracleGeneral records (see ``read.write_oracle_general``)."""
    n = trace.height
    rec = np.empty(n, RECORD)
    if n == 0:
        return rec
    ts = trace.get_column("timestamp")
    size = trace.get_column("size")
    problems = []
    if ts.null_count() or not bool(ts.is_finite().all()):
        problems.append("timestamp holds null, NaN or infinite values")
    elif ts.min() < 0 or ts.max() >= _U32 + 1:  # type: ignore[operator]
        problems.append(
            "timestamp must be 0 … 2³²-1 seconds (oracleGeneral's uint32 clock_time): "
            "shift it, e.g. timestamp - timestamp.min()"
        )
    if size.null_count() or size.min() < 0 or size.max() > _U32:  # type: ignore[operator]
        problems.append("size must be 0 … 2³²-1 bytes (oracleGeneral's uint32 obj_size)")
    if trace.get_column("key").null_count():
        problems.append("key holds nulls")
    if problems:
        raise SchemaError("cache trace", detail="; ".join(problems))
    rec["clock_time"] = ts.floor().cast(pl.UInt32).to_numpy()
    rec["obj_id"] = _object_ids(trace)
    rec["obj_size"] = size.cast(pl.UInt32).to_numpy()
    dense = dense_keys(trace.get_column("key")).to_numpy()
    rec["next_access_vtime"] = _next_access(dense, int(dense.max()) + 1)
    return rec


def _object_ids(trace: pl.DataFrame) -> Any:
    """The original ids when ``raw_key`` holds unsigned 64-bit integers, else the keys."""
    if "raw_key" in trace.columns:
        raw = trace.get_column("raw_key")
        ids = raw.cast(pl.String).str.strip_chars().cast(pl.UInt64, strict=False)
        if ids.null_count() == 0:
            return ids.to_numpy()
    key = trace.get_column("key")
    if key.min() < 0:  # type: ignore[operator]
        return key.cast(pl.Int64).to_numpy().view(np.uint64)
    return key.cast(pl.UInt64).to_numpy()

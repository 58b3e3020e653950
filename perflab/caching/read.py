"""Read cache traces into the canonical ``TRACE`` frame.

==================  ======================================================================
format              what it is
==================  ======================================================================
``csv``             CSV with a header naming ``timestamp``, ``key`` and ``size``, and
                    optionally ``ttl`` and ``op`` (other columns are ignored;
                    ``columns={"ts": "timestamp", …}`` renames yours)
``parquet``         the same columns in Parquet
``recorder``        what the runtime cache's recorder writes: CSV with the ``ACCESSES``
                    header ``timestamp,key,size,ttl,op,result,level,strategy``
``twitter``         Twitter's production traces (github.com/twitter/cache-trace): CSV
                    without a header, ``timestamp,key,key size,value size,client id,
                    operation,TTL``
``oracle_general``  libCacheSim's ``oracleGeneral`` binary (see :func:`read_oracle_general`)
==================  ======================================================================

:func:`read_trace` reads any of them; :func:`sniff_format` says which it would choose.
Every format may be compressed with gzip or zstd (``trace.csv.gz``, ``cluster52.0.zst``,
``w.oracleGeneral.zst``), recognised by its first bytes whatever its name.

How each format becomes a TRACE
-------------------------------
* **timestamp** — seconds as a float, as the file gives them (epoch or relative).
  ``csv``/``parquet`` also take ISO-8601 text or datetimes (then epoch seconds; naive
  means UTC). A trace must be in time order: the first row earlier than the one before
  it raises :class:`~perflab.errors.InputError` naming its line; ``errors="skip"``
  sorts the trace (stably: requests at the same time keep their order) and warns.
* **key** — dense ids in order of first appearance (:func:`perflab.caching.keys.dense_keys`);
  ``keep_keys=True`` adds the original key as ``raw_key`` (text).
* **size** — whole bytes, never negative. Twitter: key size + value size. Recorder: it
  writes no size on a miss or a delete; such a row takes the size of the key's next
  row that has one (the L2 hit or the ``set`` that follows a miss), else of its
  previous one, else 1. A ``csv``/``parquet`` trace without a ``size`` column
  counts objects: every size is 1. oracleGeneral: an ``obj_size`` of 0 stays 0
  (libCacheSim skips such requests by default; perflab keeps them, and a simulation
  counts them as requests for an object that occupies nothing).
* **ttl** — seconds; 0, empty or infinite mean no expiry (null) — 0 is memcached's
  and Twitter's "never expires". Negative TTLs are bad rows.
* **op** — ``get``, ``set`` or ``delete``. memcached's vocabulary is folded, in every
  text format, case-insensitively: ``get/gets`` → ``get``;
  ``set/add/replace/cas/append/prepend/incr/decr`` → ``set``; ``delete``. A trace
  without an ``op`` column is all ``get``. Recorder rows whose ``result`` is ``set`` or
  ``delete`` are that operation, the others (``hit``, ``miss``, ``expired``) ``get``s.
* **recorder levels** — the runtime cache writes a row per level it touches: every
  request has its ``l1`` row, and with Redis behind it an ``l2`` row repeats the
  request there (the read-through after an L1 miss, the write-through of a set, the
  delete). The trace is the application's requests: the ``l1`` rows (and rows
  without a level); ``l2`` rows only lend their sizes. ``level`` and ``strategy``
  are dropped; keys are taken as written (the cache's keys span strategies).

Sniffing (``format=None``)
--------------------------
1. A name ending ``.parquet`` (before any ``.gz``/``.zst``), or Parquet's magic bytes:
   ``parquet``.
2. A name containing ``oracleGeneral`` (any case), or binary content (a NUL byte)
   whose first records read as oracleGeneral: ``oracle_general``. Other binary
   content is an error.
3. Text: the first line decides. A header holding ``result``, ``level`` and
   ``strategy``: ``recorder``; a header naming ``timestamp`` or ``key`` (or a column
   of ``columns=``): ``csv``; seven fields with a number first and a memcached
   operation sixth: ``twitter``. Anything else is read as ``csv`` and fails naming
   the columns it lacks. An empty file gives an empty frame.

Bad input
---------
A row that cannot be read (a missing field — a truncated last line —, a size that is
not a whole number, a negative size, an unknown operation, a line that is not UTF-8)
raises :class:`~perflab.errors.InputError` with the file and line (``row N`` for
Parquet, ``record N`` for oracleGeneral); ``errors="skip"`` drops such rows and warns
once with the count and the first examples. Blank lines are ignored.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl
import zstandard

from perflab.caching import _oracle, _twitter
from perflab.caching.keys import dense_keys
from perflab.caching.schema import ACCESSES, TRACE
from perflab.errors import ErrorMode, InputError, ParameterError, SchemaError
from perflab.frames import FrameLike, as_frame, write_atomic
from perflab.sources import (
    PathLike,
    Source,
    Where,
    drop_bad,
    drop_blank_rows,
    first_line,
    load_csv,
    no_line,
    parse_numbers,
)
from perflab.times import check_zone_mix, parse_times

__all__ = [
    "FORMATS",
    "fill_of",
    "read_accesses",
    "read_oracle_general",
    "read_trace",
    "sniff_format",
    "write_oracle_general",
]

FORMATS: tuple[str, ...] = ("csv", "parquet", "recorder", "twitter", "oracle_general")
"""The values of ``format=``."""

OPS: dict[str, str] = _twitter.OPS
"""memcached's operations folded to ``get``/``set``/``delete`` (every text format)."""

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_BOM = b"\xef\xbb\xbf"
_RECORDER = {"result", "level", "strategy"}
_ISO = r"^\s*\d{4}-\d{2}-\d{2}"


# ---------------------------------------------------------------------------------------
# public API


def read_trace(
    path: PathLike,
    *,
    format: str | None = None,
    errors: ErrorMode = "raise",
    keep_keys: bool = False,
    columns: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Read a cache trace in any supported format into a ``TRACE`` frame.

    Parameters
    ----------
    path : str or PathLike
        The trace, possibly gzip- or zstd-compressed.
    format : {"csv", "parquet", "recorder", "twitter", "oracle_general"}, optional
        Default: sniffed from the name and the first bytes (see the module docstring).
    errors : {"raise", "skip"}
        ``"raise"``: the first bad row (or out-of-order timestamp) raises
        :class:`~perflab.errors.InputError` with the file and line. ``"skip"``: bad
        rows are dropped, an unsorted trace is sorted, and a warning says so.
    keep_keys : bool
        Also return the original keys as ``raw_key`` (String).
    columns : mapping of str to str, optional
        For ``csv``/``parquet``: your column names → TRACE names
        (``{"ts": "timestamp", "object": "key", "bytes": "size"}``).

    Returns
    -------
    polars.DataFrame
        ``timestamp`` f64 s, ``key`` i64 (dense), ``size`` i64 bytes, ``ttl`` f64 s
        (null: none), ``op`` str (``get``/``set``/``delete``), then ``raw_key`` str
        with ``keep_keys=True``.

    Raises
    ------
    InputError
        An unreadable file or, with ``errors="raise"``, a bad row.
    SchemaError
        A ``csv``/``parquet``/``recorder`` file lacks a required column.
    ParameterError
        An unknown ``format`` or a ``columns`` mapping to a name TRACE does not have.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "trace.csv"
    >>> _ = p.write_text("timestamp,key,size,op\\n0.5,user:1,120,get\\n1.0,user:2,80,set\\n"
    ...                  "2.5,user:1,120,gets\\n")
    >>> read_trace(p, keep_keys=True)
    shape: (3, 6)
    ┌───────────┬─────┬──────┬──────┬─────┬─────────┐
    │ timestamp ┆ key ┆ size ┆ ttl  ┆ op  ┆ raw_key │
    │ ---       ┆ --- ┆ ---  ┆ ---  ┆ --- ┆ ---     │
    │ f64       ┆ i64 ┆ i64  ┆ f64  ┆ str ┆ str     │
    ╞═══════════╪═════╪══════╪══════╪═════╪═════════╡
    │ 0.5       ┆ 0   ┆ 120  ┆ null ┆ get ┆ user:1  │
    │ 1.0       ┆ 1   ┆ 80   ┆ null ┆ set ┆ user:2  │
    │ 2.5       ┆ 0   ┆ 120  ┆ null ┆ get ┆ user:1  │
    └───────────┴─────┴──────┴──────┴─────┴─────────┘
    """
    src = _source(path, errors)
    fmt = _format_name(format) if format is not None else _sniff(src, columns)
    if columns and fmt not in ("csv", "parquet"):
        raise ParameterError(
            f"columns= renames the columns of a csv or parquet trace; {src.name} is {fmt}"
        )
    if fmt == "oracle_general":
        return _read_oracle(src, keep_keys)
    if src.is_blank():
        return _empty(keep_keys)
    if fmt == "twitter":
        rows = _twitter_rows(src)
    elif fmt == "recorder":
        rows = _recorder_rows(src)
    else:
        rows = _table_rows(src, fmt, dict(columns or {}))
    return _finish(src, rows, keep_keys)


def read_accesses(path: PathLike, *, errors: ErrorMode = "raise") -> pl.DataFrame:
    """Read a recorder file as it was written: every level's row, with its result.

    :func:`read_trace` makes a recording into the application's requests for the
    simulator; this keeps what the live cache did with each — which level answered,
    hit or miss — for :func:`perflab.caching.profile.level_split`.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.caching.schema.ACCESSES`: ``timestamp`` f64 s, ``key`` str,
        ``size`` i64 (null where not written), ``ttl`` f64, ``op``, ``result``,
        ``level``, ``strategy`` (str).

    Raises
    ------
    InputError
        A row without a readable timestamp, or a result or level the recorder never
        writes, with the file and line (``errors="skip"`` drops such rows and warns).
    SchemaError
        The file lacks an ACCESSES column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rec.csv"
    >>> _ = p.write_text("timestamp,key,size,ttl,op,result,level,strategy\\n"
    ...                  "1.5,a,,,get,miss,l1,pages\\n1.5,a,12,,get,hit,l2,pages\\n")
    >>> read_accesses(p).select("key", "size", "result", "level").rows()
    [('a', None, 'miss', 'l1'), ('a', 12, 'hit', 'l2')]
    """
    src = _source(path, errors)
    if src.is_blank():
        return ACCESSES.empty()
    raw, where = load_csv(src)
    raw = raw.rename({c: c.strip().lower() for c in raw.columns})
    missing = [c for c in ACCESSES.names if c not in raw.columns]
    if missing:
        raise SchemaError(
            src.name, missing=missing, detail="a recorder file has the ACCESSES header"
        )
    raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return src.finish(ACCESSES.empty(), "the file has a header but no rows", what="accesses")
    checks: list[tuple[pl.Series, Callable[[int], str]]] = []
    ts = _seconds(raw.get_column("timestamp"), src, where, checks)
    size = _whole(raw.get_column("size"), "size", checks, missing_ok=True)
    ttl = _ttl(raw.get_column("ttl"), checks)
    text = {
        c: raw.get_column(c).str.strip_chars().str.to_lowercase() for c in ("op", "result", "level")
    }
    allowed = {
        "op": ("get", "set", "delete"),
        "result": ("hit", "miss", "expired", "set", "delete"),
        "level": ("l1", "l2"),
    }

    def not_one_of(col: str) -> Callable[[int], str]:
        values, ok = text[col], allowed[col]
        return lambda i: f"{col} {_q(values[i])} is not one of {', '.join(ok)}"

    for col in allowed:
        checks.append((~text[col].is_in(list(allowed[col])).fill_null(False), not_one_of(col)))
    frame = pl.DataFrame(
        {
            "timestamp": ts,
            "key": raw.get_column("key"),
            "size": size,
            "ttl": ttl,
            "op": text["op"],
            "result": text["result"],
            "level": text["level"],
            "strategy": raw.get_column("strategy"),
        }
    )
    mask = pl.select(pl.any_horizontal([m for m, _ in checks])).to_series()

    def why(i: int) -> str:
        return next(reason(i) for m, reason in checks if m[i])

    frame = drop_bad(frame, mask, src.bad, where, why)
    return src.finish(
        frame.cast(pl.Schema(ACCESSES.dtypes())), "no row holds an access", what="accesses"
    )


def read_oracle_general(
    path: PathLike, *, errors: ErrorMode = "raise", keep_keys: bool = False
) -> pl.DataFrame:
    """Read libCacheSim's ``oracleGeneral`` binary trace (plain, zstd or gzip).

    Records are 24 bytes, little-endian, packed: ``uint32 clock_time, uint64 obj_id,
    uint32 obj_size, int64 next_access_vtime`` (the next request's 1-based position,
    -1 for never). ``clock_time`` becomes ``timestamp``, ``obj_id`` the dense ``key``
    (``raw_key`` its decimal text with ``keep_keys=True``), ``obj_size`` the ``size``
    (0 stays 0: libCacheSim skips such requests by default, perflab keeps them); every
    request is a ``get`` without TTL; ``next_access_vtime`` is dropped (it follows
    from the keys). The whole file is read with one ``numpy.frombuffer``; a zstd file
    is decompressed as a stream into one buffer.

    A file whose length is not a whole number of records (or a compressed stream cut
    short) raises :class:`~perflab.errors.InputError` saying ``record N`` (the first
    incomplete one; there are no lines); ``errors="skip"`` reads the whole records
    before it and warns. Records out of time order are handled as in
    :func:`read_trace`. An empty file gives an empty frame.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.oracleGeneral"
    >>> t = pl.DataFrame({"timestamp": [0.0, 1.0, 1.0], "key": [0, 1, 0],
    ...                   "size": [100, 20, 100], "ttl": None, "op": "get"})
    >>> _ = write_oracle_general(t, p)
    >>> read_oracle_general(p).equals(TRACE.validate(t))
    True
    """
    return _read_oracle(_source(path, errors), keep_keys)


def write_oracle_general(trace: FrameLike, path: PathLike) -> Path:
    """Write a TRACE as libCacheSim's ``oracleGeneral`` (zstd when ``path`` ends ``.zst``).

    Every row becomes one request: the format has no operation and no TTL (filter
    ``op == "get"`` first for a trace of lookups only). ``timestamp`` is floored to
    whole seconds and must fit uint32; ``size`` must fit uint32. ``obj_id`` is the
    original id when a ``raw_key`` column holds unsigned 64-bit integers (a trace read
    with ``keep_keys=True`` is written back as it was), else ``key``.
    ``next_access_vtime`` is computed as libCacheSim's converter does. The file is
    written atomically (:func:`perflab.frames.write_atomic`).

    Raises
    ------
    SchemaError
        ``trace`` is not a TRACE, or a value does not fit the format.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.oracleGeneral.zst"
    >>> t = pl.DataFrame({"timestamp": [0.0, 2.0], "key": [0, 0], "size": [64, 64],
    ...                   "ttl": None, "op": "get"})
    >>> read_oracle_general(write_oracle_general(t, p)).height
    2
    """
    frame = as_frame(trace, TRACE)
    records = _oracle.encode(frame)
    payload = records.view(np.uint8).data  # the packed records, without a copy
    target = Path(path)
    if target.name.lower().endswith(".zst"):

        def compress(fh: IO[bytes]) -> None:
            cctx = zstandard.ZstdCompressor(level=3)
            with cctx.stream_writer(fh, size=records.nbytes, closefd=False) as out:
                out.write(payload)

        return write_atomic(target, compress)
    return write_atomic(target, lambda fh: fh.write(payload))


def fill_of(path: PathLike, *, format: str | None = None) -> str:
    """How the cache that wrote a trace was filled: ``"set"`` or ``"miss"``.

    The runtime cache's recordings are cache-aside (a get that misses leaves the cache
    alone; the application's ``set`` fills it), so they are ``"set"``; every other
    format is taken as read-through, ``"miss"`` (libCacheSim's assumption, and the
    only one a trace of gets alone allows). Give the result to
    :func:`perflab.caching.simulate` as ``fill=``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rec.csv"
    >>> _ = p.write_text("timestamp,key,size,ttl,op,result,level,strategy\\n")
    >>> fill_of(p)
    'set'
    """
    fmt = _format_name(format) if format is not None else sniff_format(path)
    return "set" if fmt == "recorder" else "miss"


def sniff_format(path: PathLike, *, columns: Mapping[str, str] | None = None) -> str:
    """The format :func:`read_trace` would read ``path`` as (rules in the module docstring).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cluster52.0"
    >>> _ = p.write_text("0,nz:u:eeW511W3dcH3de3d15ec,21,117,1,get,0\\n")
    >>> sniff_format(p)
    'twitter'
    """
    return _sniff(_source(path, "raise"), columns)


# ---------------------------------------------------------------------------------------
# sources: gzip (perflab.sources) and zstd


def _source(path: PathLike, errors: ErrorMode) -> Source:
    """A :class:`Source`, or a :class:`_ZstdSource` for zstd data."""
    p = Path(path)
    if p.is_file():
        with open(p, "rb") as fh:
            if fh.read(4) == _ZSTD_MAGIC:
                return _ZstdSource(path, errors)
        if p.name.lower().endswith(".zst") and p.stat().st_size:
            raise InputError(str(path), None, "named .zst but not zstd data")
    return Source(path, errors)


class _ZstdSource(Source):
    """A zstd-compressed input: :class:`perflab.sources.Source` with zstd for gzip.

    A stream cut short is handled as :class:`Source` handles a cut gzip stream: it
    raises naming the line it stops in, or with ``errors="skip"`` the whole lines
    before it are read.
    """

    def __init__(self, path: PathLike, errors: ErrorMode) -> None:
        super().__init__(path, errors)
        base = self.path.name
        base = base[: -len(".zst")] if base.lower().endswith(".zst") else base
        self.suffix = Path(base).suffix.lower()
        self.stem = Path(base).stem

    def binary(self) -> tuple[bytearray, str | None]:
        """The decompressed bytes, and what went wrong if the stream stopped early."""
        return _inflate(self.path, zstandard.ZstdDecompressor().decompressobj)

    def data(self) -> bytes:
        if self._data is None:
            out, problem = self.binary()
            if problem is not None:
                line = out.count(b"\n") + 1
                then = "; the lines before it are read" if self.bad.mode == "skip" else ""
                hint = "" if then else " (errors='skip' reads the lines before it)"
                self.bad.add(line, f"{problem}{then}{hint}")
                del out[out.rfind(b"\n") + 1 :]
            self._data = bytes(out)
        return self._data

    def head(self, n: int = 4096) -> bytes:
        if self._data is not None:
            return self._data[:n]
        try:
            with open(self.path, "rb") as fh:
                reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
                out = bytearray()
                while len(out) < n and (piece := reader.read(n - len(out))):
                    out += piece
                return bytes(out)
        except zstandard.ZstdError:
            return self.data()[:n]

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.data())

    def handle(self) -> IO[bytes]:
        return io.BytesIO(self.data().removeprefix(_BOM))

    def chunks(self, size: int = 8 << 20) -> Any:
        data = self.data()
        for i in range(0, len(data), size):
            yield data[i : i + size]


def _inflate(path: Path, new: Callable[[], Any]) -> tuple[bytearray, str | None]:
    """Decompress a file of one or more zstd/gzip frames, streaming its input.

    ``new`` makes a decompression object (``eof``, ``unused_data``); returns the bytes
    and, when the data stops inside a frame or is corrupt, why.
    """
    out = bytearray()
    obj = new()
    fed = False
    with open(path, "rb") as fh:
        while chunk := fh.read(4 << 20):
            while chunk:
                try:
                    out += obj.decompress(chunk)
                except (zstandard.ZstdError, zlib.error) as exc:
                    return out, f"compressed data is corrupt ({exc})"
                fed = True
                if obj.eof:  # a frame ended: the rest (if any) is the next frame
                    chunk, obj, fed = obj.unused_data, new(), False
                else:
                    chunk = b""
    if fed:
        return out, "compressed data cut short: the file is truncated"
    return out, None


# ---------------------------------------------------------------------------------------
# sniffing


def _format_name(fmt: str) -> str:
    name = fmt.strip().lower().replace("-", "_")
    name = {"oraclegeneral": "oracle_general", "oracle": "oracle_general"}.get(name, name)
    if name not in FORMATS:
        raise ParameterError(f"format must be one of {', '.join(FORMATS)}; not {fmt!r}")
    return name


def _sniff(src: Source, columns: Mapping[str, str] | None) -> str:
    head = src.head(1 << 16)
    if src.suffix == ".parquet" or head.startswith(b"PAR1"):
        return "parquet"
    if "oraclegeneral" in src.path.name.lower():
        return "oracle_general"
    if b"\x00" in head[:4096]:
        if _oracle.looks_like(head):
            return "oracle_general"
        raise InputError(
            src.name,
            None,
            "binary data in no format perflab reads (expected CSV, Parquet or "
            "libCacheSim oracleGeneral); pass format= if it is one of them",
        )
    text = head.removeprefix(_BOM).decode("utf-8", errors="replace")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first:
        return "csv"
    fields = next(csv.reader([first]))
    names = {f.strip().lower() for f in fields}
    if {"key"} | _RECORDER <= names:
        return "recorder"
    if names & ({"timestamp", "key"} | set(columns or {})):
        return "csv"
    if _twitter.looks_like(fields):
        return "twitter"
    return "csv"


# ---------------------------------------------------------------------------------------
# rows of each text format → candidate TRACE columns and the checks of each row


@dataclass
class _Rows:
    """A format's rows before checking: TRACE-like columns, their checks, their lines.

    ``frame`` holds ``timestamp`` (f64, null when unreadable), ``key`` (any dtype),
    ``size`` (f64), ``ttl`` (f64, null for none) and ``op`` (text, null when unknown).
    """

    frame: pl.DataFrame
    checks: list[tuple[pl.Series, Callable[[int], str]]]
    where: Where
    unit: str = "line"


def _twitter_rows(src: Source) -> _Rows:
    raw, where = _twitter.load(src)
    raw, where = drop_blank_rows(raw, where)
    checks: list[tuple[pl.Series, Callable[[int], str]]] = []
    ts = _seconds(raw.get_column("timestamp"), src, where, checks)
    key = raw.get_column("key")
    checks.append((key.is_null(), lambda i: "missing key"))
    key_size = _whole(raw.get_column("key_size"), "key size", checks)
    value_size = _whole(raw.get_column("value_size"), "value size", checks)
    frame = pl.DataFrame(
        {
            "timestamp": ts,
            "key": key,
            "size": key_size + value_size,
            "ttl": _ttl(raw.get_column("ttl"), checks),
            "op": _ops(raw.get_column("op"), checks),
        }
    )
    return _Rows(frame, checks, where)


def _recorder_rows(src: Source) -> _Rows:
    raw, where = load_csv(src)
    raw = raw.rename({c: c.strip().lower() for c in raw.columns})
    missing = [c for c in ("timestamp", "key", "size", "op", "result") if c not in raw.columns]
    if missing:
        raise SchemaError(
            src.name, missing=missing, detail="a recorder file has the ACCESSES header"
        )
    raw, where = drop_blank_rows(raw, where)
    # sizes first, over every level: an l2 hit tells the size an l1 miss did not know
    size_raw = raw.get_column("size")
    given = parse_numbers(size_raw, what="cache trace")
    known = pl.when(pl.col("given").is_finite() & (pl.col("given") >= 0)).then(pl.col("given"))
    filled = (
        pl.DataFrame({"key": raw.get_column("key"), "given": given})
        .select(known.backward_fill().over("key").fill_null(known.forward_fill().over("key")))
        .to_series()
        .fill_null(1.0)
    )
    if "level" in raw.columns:  # the requests are the l1 rows; l2 rows repeat them
        level = raw.get_column("level").str.strip_chars().str.to_lowercase()
        first = (level != "l2").fill_null(True)
        if not first.all():
            raw, filled, where = raw.filter(first), filled.filter(first), _through(where, first)
    checks: list[tuple[pl.Series, Callable[[int], str]]] = []
    ts = _seconds(raw.get_column("timestamp"), src, where, checks)
    key = raw.get_column("key")
    checks.append((key.is_null(), lambda i: "missing key"))
    size_raw = raw.get_column("size")
    given = _whole(size_raw, "size", checks, missing_ok=True)
    size = pl.select(pl.when(size_raw.is_null()).then(filled).otherwise(given)).to_series()
    result = raw.get_column("result").str.strip_chars().str.to_lowercase()
    op_raw = raw.get_column("op")
    op_text = pl.select(
        pl.when(result.is_in(["set", "delete"]))
        .then(result)
        .when(op_raw.is_null() & result.is_in(["hit", "miss", "expired"]))
        .then(pl.lit("get"))
        .otherwise(op_raw)
    ).to_series()
    ttl = raw.get_column("ttl") if "ttl" in raw.columns else pl.repeat(None, raw.height, eager=True)
    frame = pl.DataFrame(
        {
            "timestamp": ts,
            "key": key,
            "size": size,
            "ttl": _ttl(ttl.cast(pl.String), checks),
            "op": _ops(op_text, checks),
        }
    )
    return _Rows(frame, checks, where)


def _through(where: Where, kept: pl.Series) -> Where:
    """``where`` for a frame cut down to the rows ``kept`` marks."""
    rows = kept.arg_true()
    return lambda i: where(int(rows[i]))


def _table_rows(src: Source, fmt: str, columns: dict[str, str]) -> _Rows:
    unknown = sorted(set(columns.values()) - set(TRACE.columns))
    if unknown:
        raise ParameterError(
            f"columns= maps to {unknown}: TRACE columns are {', '.join(TRACE.columns)}"
        )
    where: Where
    unit = "line"
    if fmt == "parquet":
        try:
            raw = pl.read_parquet(src.handle())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(src.name, None, f"cannot read as Parquet: {first_line(exc)}") from None
        where, unit = no_line, "row"
    else:
        raw, where = load_csv(src)
    absent = [c for c in columns if c not in raw.columns]
    if absent:
        raise SchemaError(src.name, missing=absent, detail="named in columns=")
    clash = [t for u, t in columns.items() if t in raw.columns and t not in columns and u != t]
    if clash:
        raise SchemaError(src.name, detail=f"columns= renames to {clash}, which the file has")
    raw = raw.rename(columns)
    lower = {c: c.strip().lower() for c in raw.columns}
    raw = raw.rename(
        {c: n for c, n in lower.items() if n in TRACE.columns and n not in raw.columns}
    )
    missing = [c for c in ("timestamp", "key") if c not in raw.columns]
    if missing:
        raise SchemaError(
            src.name,
            missing=missing,
            detail=f"found {', '.join(map(repr, raw.columns))}: name the columns with "
            "columns=, or give a header (a headerless file of seven fields is a Twitter "
            "trace: format='twitter')",
        )
    if fmt != "parquet":
        raw, where = drop_blank_rows(raw, where)
    checks: list[tuple[pl.Series, Callable[[int], str]]] = []
    ts = _seconds(raw.get_column("timestamp"), src, where, checks)
    key = raw.get_column("key")
    checks.append((key.is_null(), lambda i: "missing key"))
    n = raw.height
    size = (
        _whole(raw.get_column("size"), "size", checks)
        if "size" in raw.columns
        else pl.repeat(1.0, n, eager=True)
    )
    ttl = _ttl(raw.get_column("ttl"), checks) if "ttl" in raw.columns else None
    op = _ops(raw.get_column("op"), checks) if "op" in raw.columns else None
    frame = pl.DataFrame(
        {
            "timestamp": ts,
            "key": key,
            "size": size,
            "ttl": ttl if ttl is not None else pl.repeat(None, n, dtype=pl.Float64, eager=True),
            "op": op if op is not None else pl.repeat("get", n, dtype=pl.String, eager=True),
        }
    )
    return _Rows(frame, checks, where, unit)


# ---------------------------------------------------------------------------------------
# column parsers: each returns the parsed column and appends its checks


def _seconds(
    raw: pl.Series,
    src: Source,
    where: Where,
    checks: list[tuple[pl.Series, Callable[[int], str]]],
) -> pl.Series:
    """Timestamps → float seconds: numbers as they are, ISO text/datetimes as epoch."""
    dt = raw.dtype
    first = raw.drop_nulls().head(1)
    iso = dt == pl.String and len(first) > 0 and bool(first.str.contains(_ISO).item())
    if iso or isinstance(dt, pl.Datetime) or dt == pl.Date:
        parsed, kind = parse_times(raw, what="cache trace")
        check_zone_mix(kind, raw, src.name, where)
        ts = parsed.dt.epoch("us").cast(pl.Float64) / 1e6
    else:
        ts = parse_numbers(raw, what="cache trace")
    ts = ts.alias("timestamp")
    checks.append((raw.is_null(), lambda i: "missing timestamp"))
    bad = (ts.is_null() | ~ts.is_finite()).fill_null(True)
    checks.append((bad, lambda i: f"timestamp {_q(raw[i])} is not a finite number of seconds"))
    return ts


def _whole(
    raw: pl.Series,
    what: str,
    checks: list[tuple[pl.Series, Callable[[int], str]]],
    *,
    missing_ok: bool = False,
) -> pl.Series:
    """A column of whole, non-negative numbers (bytes) as f64, checked."""
    x = parse_numbers(raw, what="cache trace")
    if not missing_ok:
        checks.append((raw.is_null(), lambda i: f"missing {what}"))
    unreadable = (raw.is_not_null() & (x.is_null() | ~x.is_finite())).fill_null(True)
    checks.append((unreadable, lambda i: f"{what} {_q(raw[i])} is not a number"))
    checks.append(((x < 0).fill_null(False), lambda i: f"negative {what} {_q(raw[i])}"))
    checks.append(
        ((x != x.floor()).fill_null(False), lambda i: f"{what} {_q(raw[i])} is not a whole number")
    )
    checks.append(((x >= 2.0**62).fill_null(False), lambda i: f"{what} {_q(raw[i])} is too large"))
    return x


def _ttl(raw: pl.Series, checks: list[tuple[pl.Series, Callable[[int], str]]]) -> pl.Series:
    """TTL seconds: empty, 0 or infinite → null (no expiry); unreadable or < 0 → a check."""
    x = parse_numbers(raw, what="cache trace")
    bad = (raw.is_not_null() & (x.is_null() | x.is_nan())).fill_null(True)
    checks.append((bad, lambda i: f"ttl {_q(raw[i])} is not a number"))
    checks.append(((x < 0).fill_null(False), lambda i: f"negative ttl {_q(raw[i])}"))
    return pl.select(
        pl.when(x.is_finite() & (x > 0)).then(x).otherwise(None).cast(pl.Float64)
    ).to_series()


def _ops(raw: pl.Series, checks: list[tuple[pl.Series, Callable[[int], str]]]) -> pl.Series:
    """Operations folded to get/set/delete; unknown ones → a check."""
    text = raw.cast(pl.String)
    # fold the few distinct spellings, not every row: strip/lower cost more than a lookup
    spellings = text.unique().drop_nulls().to_list()
    fold = {s: OPS[s.strip().lower()] for s in spellings if s.strip().lower() in OPS}
    op = text.replace_strict(fold, default=None, return_dtype=pl.String)
    checks.append((raw.is_null(), lambda i: "missing operation"))
    known = ", ".join(OPS)
    checks.append(
        (
            (op.is_null() & raw.is_not_null()).fill_null(True),
            lambda i: f"unknown operation {_q(raw[i])}: expected one of {known}",
        ),
    )
    return op


def _q(value: Any) -> str:
    """A value of the file, quoted as the file wrote it (typed columns too)."""
    if isinstance(value, float) and value.is_integer():
        return repr(str(int(value)))
    return repr(str(value))


# ---------------------------------------------------------------------------------------
# the end of every read


def _finish(src: Source, rows: _Rows, keep_keys: bool) -> pl.DataFrame:
    """Drop bad rows, put the trace in time order, make keys dense, warn once."""
    frame = rows.frame
    if frame.height == 0:
        return src.finish(_empty(keep_keys), "the file has a header but no rows", what="requests")
    mask = pl.select(pl.any_horizontal([m for m, _ in rows.checks])).to_series()

    def why(i: int) -> str:
        return next(reason(i) for m, reason in rows.checks if m[i])

    where = rows.where
    frame = drop_bad(frame.with_row_index("_row"), mask, src.bad, where, why)
    frame = _in_time_order(frame, src, where, rows.unit)
    return src.finish(_canonical(frame, keep_keys), "no row holds a request", what="requests")


def _in_time_order(frame: pl.DataFrame, src: Source, where: Where, unit: str) -> pl.DataFrame:
    """The frame, checked (raise) or sorted (skip) to non-decreasing timestamps."""
    ts = frame.get_column("timestamp")
    if ts.is_sorted():
        return frame
    back = (ts < ts.cum_max().shift(1)).fill_null(False)
    j = int(back.arg_true()[0])
    row = (
        frame.get_column("_row")
        if "_row" in frame.columns
        else pl.int_range(frame.height, eager=True)
    )

    def at(i: int) -> str:
        line = where(int(row[i]))
        return f"line {line}" if line is not None else f"{unit} {int(row[i]) + 1}"

    line = where(int(row[j]))
    prefix = "" if line is not None else f"{at(j)}: "
    if src.bad.mode == "raise":
        raise InputError(
            src.name,
            line,
            f"{prefix}timestamp {ts[j]!r} is earlier than {ts[j - 1]!r} ({at(j - 1)}): a "
            "trace must be in time order (errors='skip' sorts it)",
        )
    src.warn(
        f"timestamps out of order: sorted the trace ({int(back.sum())} request(s) earlier "
        f"than one before them; first: {at(j)})"
    )
    return frame.sort("timestamp", maintain_order=True)


def _canonical(frame: pl.DataFrame, keep_keys: bool) -> pl.DataFrame:
    key = frame.get_column("key")
    cols = [
        frame.get_column("timestamp").cast(pl.Float64).alias("timestamp"),
        dense_keys(key).alias("key"),
        frame.get_column("size").cast(pl.Int64).alias("size"),
        frame.get_column("ttl").cast(pl.Float64).alias("ttl"),
        frame.get_column("op").cast(pl.String).alias("op"),
    ]
    if keep_keys:
        cols.append(key.cast(pl.String).alias("raw_key"))
    return pl.DataFrame(cols)


def _empty(keep_keys: bool) -> pl.DataFrame:
    extra = {"raw_key": pl.String} if keep_keys else {}
    return pl.DataFrame(schema={**TRACE.columns, **extra})


# ---------------------------------------------------------------------------------------
# oracleGeneral


def _read_oracle(src: Source, keep_keys: bool) -> pl.DataFrame:
    buf = _binary(src)
    if len(buf) == 0:
        src.bad.finish()
        return _empty(keep_keys)
    frame = _oracle.to_frame(_oracle.decode(buf, src.bad))
    frame = _in_time_order(frame, src, no_line, "record")
    return src.finish(_canonical(frame, keep_keys), "no whole record", what="requests")


def _binary(src: Source) -> Any:
    """The file's bytes, decompressed; a cut stream is reported as a record."""
    if isinstance(src, _ZstdSource):
        out, problem = src.binary()
    elif src.gzipped:
        out, problem = _inflate(src.path, lambda: zlib.decompressobj(wbits=31))
    else:
        return src.path.read_bytes()
    if problem is not None:
        size = _oracle.RECORD.itemsize
        n = len(out) // size
        then = (
            f"; the {n} whole record(s) before it are read"
            if src.bad.mode == "skip"
            else " (errors='skip' reads the whole records before it)"
        )
        src.bad.add(None, f"record {n + 1}: {problem}{then}")
        del out[n * size :]
    return out

"""Reader plumbing shared by every domain: one input file, its bad lines, tables.

:class:`Source` is one input file as every reader sees it: the name used in messages,
its format suffix (``.csv`` for ``m.csv.gz``), its bytes (gunzipped when the file is
gzip, whatever its name), its text (UTF-8, a leading BOM dropped), a binary stream
for readers that stream big files, and the :class:`~perflab.errors.BadLines` of the
read. :meth:`Source.finish` ends every read: one warning for skipped lines, and one
when a non-blank file gave nothing at all, so an empty frame never comes back
without a reason.

The table loaders :func:`load_csv` and :func:`load_ndjson` read every column as text
(a reader then casts the columns it knows, over whole columns) and give back, with
the frame, a function from row index to the file's 1-based line number, so errors
name lines even after blank or bad lines were dropped. Their slow paths run only
when polars refuses the file: they find the offending lines with the standard
library and re-read the rest.

:func:`drop_bad` drops the rows a mask marks, reporting them through the read's
``BadLines`` — describing only the first few, so a million bad rows cost a mask.
Warnings go through :func:`perflab.errors.warn_input`.

Big line-oriented logs are read in blocks: :func:`read_blocks` cuts the stream into
blocks of whole lines (views, not copies), :func:`read_lines` gives each as a String
series with the line number of its first line, and :func:`as_lines` decodes one
(UTF-8, else Latin-1 per line, as servers copy header bytes into their logs).

Inputs need not be local files. A URL (``s3://``, ``gs://``, ``http(s)://``,
``memory://``, any scheme fsspec knows) is read through :mod:`fsspec` — the optional
extra ``pip install 'perflab[distributed]'``, plus the scheme's own package
(``s3fs``, ``gcsfs``, ``aiohttp``); without them an ``ImportError`` says what to
install. ``file://`` URLs are read as local paths, without fsspec. A :class:`Part`
(what :mod:`perflab.partitions` hands to the workers of a cluster) is a byte range of
a file, starting and ending at line starts: a :class:`Source` of it reads only that
range and numbers its bad lines as lines of the whole file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import numpy as np
import polars as pl

from perflab.errors import BadLines, ErrorMode, InputError, SchemaError, warn_input

__all__ = [
    "NOT_UTF8",
    "Part",
    "PathLike",
    "Source",
    "Where",
    "as_lines",
    "drop_bad",
    "drop_blank_rows",
    "first_line",
    "is_url",
    "leading_boms",
    "line_of",
    "load_csv",
    "load_json",
    "load_ndjson",
    "no_line",
    "open_url",
    "parse_numbers",
    "read_blocks",
    "read_lines",
    "record_lines",
]

PathLike = str | os.PathLike[str]
Where = Callable[[int], int | None]
"""Row index (0-based) → the 1-based line of the file it came from, or None."""

NOT_UTF8 = "not UTF-8 text (re-save the file as UTF-8; Excel calls it 'CSV UTF-8')"

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_HEAD = 4096
_BLANK_PROBE = 1 << 20
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
_SCHEME_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "http": "aiohttp",
    "https": "aiohttp",
    "az": "adlfs",
    "abfs": "adlfs",
    "sftp": "paramiko",
    "ssh": "paramiko",
}


def is_url(path: object) -> bool:
    """True for a URL with a scheme of two letters or more (``s3://``, ``file://``…).

    A Windows drive (``C:\\logs``) is not a URL.

    Examples
    --------
    >>> is_url("s3://bucket/logs/a.log"), is_url("logs/a.log"), is_url(Path("x"))
    (True, False, False)
    """
    return isinstance(path, str) and _URL.match(path) is not None


def _local(url: str) -> str:
    """The local path of a ``file://`` URL."""
    return unquote(urlsplit(url).path)


def open_url(url: str) -> tuple[Any, str]:
    """The fsspec file system and path of ``url`` (a ``file://`` URL: the local one).

    Raises
    ------
    ImportError
        fsspec, or the package the scheme needs, is not installed; the message names
        what to install.

    Examples
    --------
    >>> fs, path = open_url("memory://logs/a.log")
    >>> type(fs).__name__, path
    ('MemoryFileSystem', '/logs/a.log')
    """
    scheme = url.split("://", 1)[0].lower()
    try:
        import fsspec
    except ImportError:
        raise ImportError(
            f"reading {scheme}:// URLs needs fsspec: pip install 'perflab[distributed]'"
        ) from None
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        pkg = _SCHEME_PACKAGES.get(scheme, f"the fsspec backend for {scheme}://")
        raise ImportError(f"reading {scheme}:// URLs needs {pkg} ({exc})") from None
    except ValueError as exc:  # an unknown protocol
        raise ImportError(f"no fsspec file system for {scheme}:// URLs ({exc})") from None


@dataclass(frozen=True)
class Part:
    """A byte range of one file, ``[start, end)``, starting and ending at line starts.

    What :func:`perflab.partitions.partitions` hands to each worker; a reader given a
    Part (it is :class:`os.PathLike`) reads only the range, through :class:`Source`.
    ``end`` None is the end of the file; ``Part(path)`` is the whole file.

    Examples
    --------
    >>> Part("access.log", 100, 200)
    Part('access.log', 100, 200)
    >>> str(Part("access.log"))
    'access.log'
    """

    path: str
    start: int = 0
    end: int | None = None

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"Part({self.path!r}, {self.start}, {self.end})"

    @property
    def whole(self) -> bool:
        """True for the whole file."""
        return self.start == 0 and self.end is None

    def lines_before(self) -> int:
        """Newlines before ``start``: what a line number in the range is offset by.

        Counted from the file (plain, not gzip: ranges are cut in plain files only) when
        asked — on an error — not when the part is read.
        """
        if self.start == 0:
            return 0
        n, left = 0, self.start
        with _raw_open(self.path) as fh:
            while left > 0:
                piece = fh.read(min(left, 16 << 20))
                if not piece:
                    break
                n += piece.count(b"\n")
                left -= len(piece)
        return n


def _raw_open(path: str) -> IO[bytes]:
    """A binary stream of ``path`` as stored (a URL through fsspec)."""
    if is_url(path) and not path.lower().startswith("file://"):
        fs, inner = open_url(path)
        return fs.open(inner, "rb")
    return open(_local(path) if is_url(path) else path, "rb")


class _ShiftedBadLines(BadLines):
    """The bad lines of a :class:`Part`: line numbers of the range made the file's."""

    def __init__(self, source: str, mode: ErrorMode, part: Part) -> None:
        super().__init__(source, mode)
        self._part = part
        self._base: int | None = None

    def add(self, line: int | None, reason: str) -> None:
        if line is not None:
            if self._base is None:
                self._base = self._part.lines_before()
            line += self._base
        try:
            super().add(line, reason)
        except InputError as exc:
            exc.absolute = True  # type: ignore[attr-defined]
            raise


def _whole_lines(parts: list[bytes]) -> bytes:
    """Join ``parts`` up to their last newline, leaving what follows it in ``parts``."""
    for k in range(len(parts) - 1, -1, -1):
        cut = parts[k].rfind(b"\n") + 1
        if cut:
            last = parts[k]
            piece = b"".join([*parts[:k], memoryview(last)[:cut]])
            parts[: k + 1] = [last[cut:]] if cut < len(last) else []
            return piece
    return b""


def _salvage(stream: Any, raw: bytes, step: int = 512) -> bytes:
    """What ``stream`` decodes of ``raw`` before the corrupt block, fed a little at a time."""
    out = bytearray()
    for start in range(0, len(raw), step):
        try:
            out += stream.decompress(raw[start : start + step])
        except zlib.error:
            break
    return bytes(out)


class Source:
    """One input file: name, format suffix, (gunzipped) bytes and the read's bad lines.

    A file is gzip when its first bytes say so (``.gz`` is then dropped from the
    suffix); a ``.gz`` name on a file that is not gzip is an error. A gzip stream that
    is cut short raises with ``errors="raise"``, naming the line it stops in; with
    ``"skip"`` the whole lines before that one are read and the loss is counted among
    the skipped lines.

    Parameters
    ----------
    path : str or PathLike
        The file.
    errors : {"raise", "skip"}
        The read's error mode (see :class:`~perflab.errors.BadLines`).

    Examples
    --------
    >>> import gzip, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv.gz"
    >>> _ = p.write_bytes(gzip.compress("\\ufeffname\\n".encode()))
    >>> src = Source(p, "raise")
    >>> src.suffix, src.gzipped, src.text()
    ('.csv', True, 'name\\n')
    """

    def __init__(self, path: PathLike | Part, errors: ErrorMode = "raise") -> None:
        part = path if isinstance(path, Part) else None
        self._range = part if part is not None and not part.whole else None
        target = part.path if part is not None else path
        self.name = str(target)
        self._fs: Any = None  # an fsspec file system for a URL
        if is_url(target) and not str(target).lower().startswith("file://"):
            self._fs, self._url_path = open_url(str(target))
            self.path: Path = PurePosixPath(self._url_path)  # type: ignore[assignment]
            exists = self._fs.isfile(self._url_path)
        else:
            self.path = Path(_local(str(target)) if is_url(target) else target)
            exists = self.path.is_file()
        self.bad = (
            _ShiftedBadLines(self.name, errors, self._range)
            if self._range is not None
            else BadLines(self.name, errors)
        )
        self.reported = False  # a warning already told the user why records went
        self._data: bytes | None = None
        if not exists:
            raise InputError(self.name, None, "no such file")
        with self._raw() as fh:
            self.gzipped = fh.read(2) == _GZIP_MAGIC
        if self._range is not None and self.gzipped:
            raise InputError(self.name, None, "a gzip file cannot be read by byte range")
        suffix = self.path.suffix.lower()
        if suffix == ".gz":
            if not self.gzipped and self._stored_size():
                raise InputError(self.name, None, "named .gz but not gzip data")
            suffix = Path(self.path.stem).suffix.lower()
        self.suffix = suffix
        base = (
            self.path.name[: -len(".gz")]
            if self.path.name.lower().endswith(".gz")
            else self.path.name
        )
        self.stem = Path(base).stem  # the name without its format suffix (and .gz)

    def _raw(self) -> IO[bytes]:
        """A binary stream of the file as stored (not gunzipped, not cut to a range)."""
        if self._fs is not None:
            return self._fs.open(self._url_path, "rb")
        return open(self.path, "rb")

    def _stored_size(self) -> int:
        if self._fs is not None:
            return int(self._fs.size(self._url_path))
        return self.path.stat().st_size

    def data(self) -> bytes:
        """The file's bytes, gunzipped (of a :class:`Part`: its range only)."""
        if self._data is None:
            if self._range is not None:
                with self._raw() as fh:
                    fh.seek(self._range.start)
                    end = self._range.end
                    raw = fh.read() if end is None else fh.read(end - self._range.start)
            elif self._fs is not None:
                raw = self._fs.cat_file(self._url_path)
            else:
                raw = self.path.read_bytes()
            self._data = self._gunzip(raw) if self.gzipped else raw
        return self._data

    def _gunzip(self, raw: bytes) -> bytes:
        out: list[bytes] = []
        problem = None
        while raw:  # a gzip file may hold several members, one after the other
            stream = zlib.decompressobj(wbits=31)
            try:
                out.append(stream.decompress(raw))
            except zlib.error as exc:
                problem = f"gzip data is corrupt ({exc})"
                break
            if not stream.eof:
                problem = "gzip data cut short: the file is truncated"
                break
            raw = stream.unused_data
        data = b"".join(out)
        if problem is not None:
            line = data.count(b"\n") + 1  # the line the data stops in
            then = "; the lines before it are read" if self.bad.mode == "skip" else ""
            hint = "" if then else " (errors='skip' reads the lines before it)"
            self.bad.add(line, f"{problem}{then}{hint}")
            data = data[: data.rfind(b"\n") + 1]  # a cut line could pass for a whole one
        return data

    def text(self) -> str:
        """The file as text: UTF-8, a leading BOM dropped."""
        data = self.data()
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(self.name, line_of(data, exc.start), NOT_UTF8) from None

    def head(self, n: int = _HEAD) -> bytes:
        """The first ``n`` bytes (gunzipped), without reading the whole file."""
        if self._data is not None:
            return self._data[:n]
        if self._range is not None:
            return self.data()[:n]
        if self.gzipped:
            try:
                with self._raw() as raw, gzip.GzipFile(fileobj=raw, mode="rb") as fh:
                    return fh.read(n)
            except (OSError, EOFError, zlib.error):
                return self.data()[:n]
        with self._raw() as fh:
            return fh.read(n)

    def open(self) -> IO[bytes]:
        """A binary stream of the (gunzipped) content, for readers that stream.

        The stream does not drop a BOM; a gzip stream cut short raises ``EOFError``
        when its end is reached (readers turn that into an ``InputError`` with the
        line it stopped in).
        """
        if self._data is not None or self._range is not None:
            return io.BytesIO(self.data())
        if self._fs is not None:
            raw = self._raw()
            return gzip.GzipFile(fileobj=raw, mode="rb") if self.gzipped else raw  # type: ignore[return-value]
        if self.gzipped:
            return gzip.GzipFile(self.path, "rb")  # type: ignore[return-value]
        return open(self.path, "rb")

    def chunks(self, size: int = 8 << 20) -> Iterator[bytes]:
        """The (gunzipped) content in chunks of about ``size`` bytes, for streaming readers.

        A gzip stream cut short ends the chunks after the last whole line read; the loss
        goes through :attr:`bad` (raise names the line it stops in; skip counts it).
        """
        if not self.gzipped:  # a plain file cannot be cut short mid-stream
            with self.open() as stream:
                while piece := stream.read(size):
                    yield piece
            return
        if self._data is not None:
            for start in range(0, len(self._data), size):
                yield self._data[start : start + size]
            return
        step = max(size // 4, 1 << 16)  # compressed bytes per read
        parts: list[bytes] = []  # decoded, not yet handed over
        held = 0  # their bytes
        problem: list[str] = []
        for out in self._inflate(step, problem):
            if out is None:  # between reads: hand over whole lines
                if held >= size and (piece := _whole_lines(parts)):
                    held -= len(piece)
                    yield piece
                continue
            parts.append(out)
            held += len(out)
        if not problem:
            if parts:
                yield b"".join(parts)
            return
        whole = _whole_lines(parts)
        if whole:
            yield whole
        # the line the data stops in: counted again (only for a bad stream), so that
        # good chunks need no count
        line = sum(out.count(b"\n") for out in self._inflate(step, []) if out) + 1
        then = "; the lines before it are read" if self.bad.mode == "skip" else ""
        hint = "" if then else " (errors='skip' reads the lines before it)"
        self.bad.add(line, f"{problem[0]}{then}{hint}")

    def _inflate(self, step: int, problem: list[str]) -> Iterator[bytes | None]:
        """The gzip file's decoded pieces, None after each read of ``step`` bytes.

        zlib directly, not GzipFile: on a cut or corrupt stream GzipFile drops what its
        failing read had already decoded; a decompressobj hands every byte over. A bad
        stream ends the pieces after what decodes before it, its reason in ``problem``.
        """
        with self._raw() as fh:
            inflate: Any = zlib.decompressobj(wbits=31)
            started = False  # the current member has had input and not ended
            while raw := fh.read(step):
                while raw:  # several gzip members may follow each other
                    started = True
                    before = inflate.copy()
                    try:
                        out = inflate.decompress(raw)
                    except zlib.error as exc:
                        problem.append(f"gzip data is corrupt ({exc})")
                        yield _salvage(before, raw)
                        return
                    yield out
                    raw = b""
                    if inflate.eof:
                        raw = inflate.unused_data
                        inflate = zlib.decompressobj(wbits=31)
                        started = False
                yield None
            if started:
                problem.append("gzip data cut short: the file is truncated")

    def handle(self) -> Path | IO[bytes]:
        """What polars' readers take: the path, or the gunzipped bytes without a BOM."""
        if not self.gzipped and self._fs is None and self._range is None and self.head(3) != _BOM:
            return self.path
        return io.BytesIO(self.data().removeprefix(_BOM))

    def is_blank(self) -> bool:
        """True for a file of zero bytes or of nothing but blanks (and a BOM).

        Up to 1 MiB of blanks is looked at; a bigger file of nothing but blanks is not
        called blank (its reader then says it found nothing).
        """
        head = self.head(_BLANK_PROBE)
        return len(head) < _BLANK_PROBE and not head.removeprefix(_BOM).strip()

    def size(self) -> int:
        """The file's size on disk in bytes (compressed, for a gzip file; of a range, its own)."""
        if self._range is not None:
            end = self._stored_size() if self._range.end is None else self._range.end
            return end - self._range.start
        return self._stored_size()

    def mtime(self) -> float:
        """The file's modification time, epoch seconds (0.0 where a store keeps none)."""
        if self._fs is not None:
            try:
                return float(self._fs.modified(self._url_path).timestamp())
            except (NotImplementedError, AttributeError, OSError, ValueError):
                return 0.0
        return self.path.stat().st_mtime

    def warn(self, message: str) -> None:
        """Warn about this input (:func:`perflab.errors.warn_input`) and remember it."""
        self.reported = True
        warn_input(self.name, message)

    def finish(self, frame: pl.DataFrame, empty: str, *, what: str = "samples") -> pl.DataFrame:
        """End a read: warn once for skipped lines, and once for a file that gave nothing.

        ``empty`` says why a non-blank file gave no row (it is not said again when a
        warning about dropped rows has already been given); the warning reads
        ``"no <what>: <empty>"``.
        """
        self.bad.finish()
        if frame.height == 0 and not (self.bad.count or self.reported or self.is_blank()):
            warn_input(self.name, f"no {what}: {empty}")
        return frame


def line_of(data: bytes, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of ``data``.

    Examples
    --------
    >>> line_of(b"a\\nb\\nc", 2)
    2
    """
    return data.count(b"\n", 0, offset) + 1


def no_line(i: int) -> int | None:
    """A :data:`Where` for sources without lines (Parquet): always None."""
    return None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (polars' run on for pages)."""
    return str(exc).strip().split("\n")[0]


def drop_bad(
    frame: pl.DataFrame, mask: pl.Series, bad: BadLines, where: Where, why: Callable[[int], str]
) -> pl.DataFrame:
    """Drop the rows where ``mask`` is true, reporting them through ``bad``.

    Only the first few bad rows are described (``where`` gives a row's line, ``why``
    its reason); in raise mode the first one raises.

    Examples
    --------
    >>> from perflab.errors import BadLines
    >>> bad = BadLines("t.csv", "skip")
    >>> df = pl.DataFrame({"x": [1, None, 3]})
    >>> drop_bad(df, df["x"].is_null(), bad, lambda i: i + 2, lambda i: "no x").height, bad.count
    (2, 1)
    """
    mask = mask.fill_null(False)
    n = int(mask.sum())
    if not n:
        return frame
    shown = mask.arg_true().head(1 if bad.mode == "raise" else 3).to_list()
    for i in shown:
        line = where(i)
        reason = why(i) if line is not None else f"row {i + 1}: {why(i)}"
        bad.add(line, reason)
    bad.more(n - len(shown))
    return frame.filter(~mask)


def drop_blank_rows(raw: pl.DataFrame, where: Where) -> tuple[pl.DataFrame, Where]:
    """Drop all-null rows (blank lines), keeping row → line numbering right.

    Examples
    --------
    >>> df, where = drop_blank_rows(pl.DataFrame({"a": ["1", None, "3"]}), lambda i: i + 2)
    >>> df.height, where(1)
    (2, 4)
    """
    blank = raw.select(pl.all_horizontal(pl.all().is_null())).to_series()
    if not blank.any():
        return raw, where
    rows = (~blank).arg_true()
    return raw.filter(~blank), lambda i: where(int(rows[i]))


def parse_numbers(raw: pl.Series, *, what: str = "frame") -> pl.Series:
    """Any column of numbers (text, ints, floats) → Float64, null where not a number.

    Text is cast as it is, then with surrounding blanks stripped; ``"NaN"`` and
    ``"inf"`` become NaN and infinity (a reader decides whether they are allowed).

    Raises
    ------
    SchemaError
        A column of another type (a list, a boolean …), naming the column.

    Examples
    --------
    >>> parse_numbers(pl.Series("v", ["1.5", " 2 ", "n/a"])).to_list()
    [1.5, 2.0, None]
    """
    dt = raw.dtype
    if dt == pl.String:
        vals = raw.cast(pl.Float64, strict=False)
        retry = vals.is_null() & raw.is_not_null()
        if retry.any():
            idx = retry.arg_true()
            vals = vals.scatter(
                idx, raw.gather(idx).str.strip_chars().cast(pl.Float64, strict=False)
            )
        return vals
    if dt.is_numeric() or dt == pl.Null:
        return raw.cast(pl.Float64)
    raise SchemaError(what, mistyped=[(raw.name, "number", str(dt))])


# ---------------------------------------------------------------------------------------
# tables read as text


def load_csv(src: Source, sep: str = ",") -> tuple[pl.DataFrame, Where]:
    """Read a CSV/TSV file with every column as String; rows map to the lines they start on.

    A row is on line ``i + 2`` (header, then a line per row) unless a quoted field holds
    a newline: the lines of each record are then found from the bytes (only when a line
    is asked for, so a clean read costs nothing more).

    Lines that are not UTF-8, that have more fields than the header or that the csv
    module rejects go through ``src.bad`` (raise, or skip and count) and the rest is
    read; the returned :data:`Where` then skips them. A line with *fewer* fields than
    the header is read with nulls for the missing ones (polars pads it), unless another
    line sent the read down the slow path, which reports it: a reader that needs the
    missing fields then reports the row as missing a value.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b\\n1,2\\n4,5\\n")
    >>> df, where = load_csv(Source(p))
    >>> df["a"].to_list(), where(1)
    (['1', '4'], 3)
    """
    try:
        raw = pl.read_csv(src.handle(), separator=sep, infer_schema=False, raise_if_empty=False)
        if any("\ufffd" in c or '""' in c for c in raw.columns):
            raw.columns = _header(src, sep)
        return raw, _lazy_record_lines(src.data)
    except pl.exceptions.PolarsError as exc:
        first_error = first_line(exc)
    data = src.data()
    bad = src.bad
    problems = _csv_problems(data, sep)
    if not problems:
        raise InputError(src.name, None, f"cannot read as CSV: {first_error}")
    for line, reason, _ in problems[: 1 if bad.mode == "raise" else 3]:
        bad.add(line, reason)
    bad.more(len(problems) - min(3, len(problems)))
    skip = {n for line, _, end in problems for n in range(line, end + 1)}
    lines = data.split(b"\n")
    kept = [i + 1 for i in range(len(lines)) if i + 1 not in skip]
    body = b"\n".join(lines[k - 1] for k in kept)
    try:
        raw = pl.read_csv(io.BytesIO(body), separator=sep, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(src.name, None, f"cannot read as CSV: {first_line(exc)}") from None
    in_body = _lazy_record_lines(lambda: body)  # row → line of the body → line of the file

    def where(i: int) -> int | None:
        line = in_body(i)
        return kept[line - 1] if line is not None and line <= len(kept) else None

    return raw, where


def _lazy_record_lines(data: Callable[[], bytes]) -> Where:
    """A :data:`Where` for a CSV read with a header: row ``i`` → the line its record
    starts on. Worked out from the bytes on the first call only."""
    found: list[tuple[int, np.ndarray | None]] = []

    def where(i: int) -> int | None:
        if not found:
            found.append(record_lines(data()))
        lead, starts = found[0]
        if starts is None:
            return lead + i + 2
        return int(starts[i + 1]) if 0 <= i + 1 < starts.size else None

    return where


def record_lines(data: bytes) -> tuple[int, np.ndarray | None]:
    """Where the records of CSV ``data`` start, as polars splits them.

    Returns ``(lead, starts)``: ``lead`` blank lines before the header (polars skips
    them), and ``starts`` the 1-based line each record starts on (the header first),
    or None when no quoted field holds a newline (record ``r`` is then on line
    ``lead + r + 1``). A newline is inside a quoted field when an odd number of quote
    characters comes before it: polars refuses a quote inside an unquoted field, and a
    doubled quote inside a quoted one counts twice. The scan is over the positions of
    quotes and newlines, with numpy; a file without a quote is not scanned at all.

    Examples
    --------
    >>> record_lines(b'a,b\\n1,"x\\ny"\\n3,4\\n')
    (0, array([1, 2, 4]))
    >>> record_lines(b"a,b\\n1,2\\n")
    (0, None)
    """
    head = data.removeprefix(_BOM)
    rest = head.lstrip(b"\r\n")
    lead = head.count(b"\n", 0, len(head) - len(rest))
    if b'"' not in data:
        return lead, None
    buf = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(buf == ord('"'))
    newlines = np.flatnonzero(buf == ord("\n"))
    inside = np.searchsorted(quotes, newlines) % 2 == 1  # odd number of quotes before it
    if not inside.any():
        return lead, None
    ends = np.flatnonzero(~inside)  # newline k ends line k + 1: the next record is on k + 2
    starts = np.concatenate(([1], ends + 2)).astype(np.int64)
    if ends.size and newlines[ends[-1]] == len(data) - 1:
        starts = starts[:-1]  # the newline that ends the file starts nothing
    return lead, starts[lead:]


def _header(src: Source, sep: str) -> list[str]:
    """The header's names as the csv module reads them: polars reads a header that is
    not UTF-8 lossily (an InputError here: a header cannot be skipped) and keeps the
    doubled quotes of a quoted name (pola-rs/polars#20294)."""
    with src.open() as fh:
        header = fh.readline().removeprefix(_BOM)
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(src.name, 1, f"header: {NOT_UTF8}") from None
    return next(csv.reader([text.rstrip("\r\n")], delimiter=sep))


def _csv_problems(data: bytes, sep: str) -> list[tuple[int, str, int]]:
    """Lines that are not UTF-8, records whose field count differs from the header's, or
    lines that the csv module rejects: ``(first line, reason, last line)``, a record
    whose quoted field holds a newline spanning several lines."""
    problems: list[tuple[int, str, int]] = []
    lines = data.split(b"\n")
    for n, ln in enumerate(lines, start=1):
        try:
            ln.decode("utf-8")
        except UnicodeDecodeError:
            problems.append((n, NOT_UTF8, n))
    if problems:
        # Undecodable lines are reported; the rest is checked with them blanked out.
        skip = {n for n, _, _ in problems}
        data = b"\n".join(b"" if i + 1 in skip else ln for i, ln in enumerate(lines))
    text = data.decode("utf-8-sig").split("\n")
    width = None
    base = 0  # lines before the reader's start
    while base < len(text):
        rest = io.StringIO("\n".join(text[base:]), newline="")
        reader = csv.reader(rest, delimiter=sep, strict=True)
        for_row = 0  # the line the record being read starts on
        try:
            for row in reader:
                if width is None:
                    width = len(row)
                elif row and len(row) != width:
                    at, end = base + for_row + 1, base + reader.line_num
                    why = f"{len(row)} fields where the header has {width}"
                    problems.append((at, why, end))
                for_row = reader.line_num
            break
        except csv.Error as exc:
            # a quote left open runs to the end of the file: blame the line it opened on,
            # and read on from the line after it
            at = base + for_row + 1
            problems.append((at, f"malformed CSV: {exc}", at))
            base = at
    return sorted(problems)


def load_json(src: Source) -> Any:
    """The file parsed as one JSON document (a HAR, a k6 summary, a benchmark export).

    Raises
    ------
    InputError
        Not JSON: the line and column it fails at; or a document that stops before it
        closes — a file cut short — naming its last line and saying "truncated".

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text('{"a": [1, 2]}')
    >>> load_json(Source(p))
    {'a': [1, 2]}
    >>> _ = p.write_text('{"a": [1,\\n 2')
    >>> try:
    ...     load_json(Source(p))
    ... except InputError as exc:
    ...     print(exc.line, exc.reason)
    2 not valid JSON (Expecting ',' delimiter): truncated, the file is cut short
    """
    text = src.text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        end = len(text.rstrip())
        if exc.pos >= end or exc.msg.startswith("Unterminated string"):
            last = text.count("\n", 0, end) + 1  # the document stops before it closes
            raise InputError(
                src.name, last, f"not valid JSON ({exc.msg}): truncated, the file is cut short"
            ) from None
        raise InputError(
            src.name, exc.lineno, f"not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None


def load_ndjson(src: Source) -> tuple[pl.DataFrame, Where]:
    """Read JSON lines with every field as String.

    A JSON number becomes the text polars writes for it (``1.10`` → ``"1.1"``,
    ``1e3`` → ``"1000"``): a value that must keep its exact text must be a JSON string.

    Rows map to physical lines (blank lines are skipped, not counted as rows). Lines
    that are not JSON objects go through ``src.bad``.
    """
    physical: list[int] = []

    def nonblank_lines() -> list[int]:
        if not physical:
            physical.extend(i + 1 for i, ln in enumerate(src.data().split(b"\n")) if ln.strip())
        return physical

    try:
        keys = pl.scan_ndjson(src.handle(), infer_schema_length=None).collect_schema().names()
        raw = pl.read_ndjson(src.handle(), schema=dict.fromkeys(keys, pl.String))
        return raw, lambda i: nonblank_lines()[i]
    except pl.exceptions.PolarsError as exc:
        first_error = first_line(exc)
    # Error path only: find the lines that are not JSON objects.
    good: list[bytes] = []
    kept: list[int] = []
    for n, ln in enumerate(src.data().removeprefix(_BOM).split(b"\n"), start=1):
        if not ln.strip():
            continue
        try:
            ok = isinstance(json.loads(ln, parse_constant=_reject_constant), dict)
            reason = "not a JSON object"
        except UnicodeDecodeError:
            ok, reason = False, NOT_UTF8
        except ValueError as err:
            ok, reason = False, f"not valid JSON: {err}"
        if ok:
            good.append(ln)
            kept.append(n)
        else:
            src.bad.add(n, reason)
    body = b"\n".join(good)
    if not body:
        return pl.DataFrame(), no_line
    try:
        keys = pl.scan_ndjson(io.BytesIO(body), infer_schema_length=None).collect_schema().names()
        raw = pl.read_ndjson(io.BytesIO(body), schema=dict.fromkeys(keys, pl.String))
    except pl.exceptions.PolarsError:
        raise InputError(src.name, None, f"cannot read as JSON lines: {first_error}") from None
    return raw, lambda i: kept[i]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------------------------------
# lines of a big source, in blocks


def read_blocks(src: Source, block: int = 16 << 20) -> Iterator[tuple[memoryview, bool]]:
    """Blocks of whole lines as bytes (a view of the data read, not a copy), and ``last``.

    ``last`` marks the final block, whose final line had no newline: it holds that
    line only. Every other block ends with a newline.
    """
    tail = b""
    pending: memoryview | None = None
    for chunk in src.chunks(block):
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            continue
        body, tail = memoryview(data)[: cut + 1], data[cut + 1 :]
        if pending is not None:
            yield pending, False
        pending = body
    if pending is not None:
        yield pending, False
    if tail:
        yield memoryview(tail), True


def read_lines(src: Source, block: int = 16 << 20) -> Iterator[tuple[int, pl.Series, bool]]:
    """Blocks of whole lines as String series: (line number of the first, lines, last).

    ``last`` marks the final block, whose final line had no newline (a file cut short,
    or one written without a final newline): the caller decides if it is whole.
    A line that is not UTF-8 is read as Latin-1: nginx writes header bytes as the
    client sent them under ``escape=json``/``none`` (HTTP's historical charset).
    """
    first = 1
    for body, last in read_blocks(src, block):
        lines = as_lines(src, bytes(body), first)
        yield first, lines, last
        first += lines.len()


def as_lines(src: Source, body: bytes, first: int) -> pl.Series:
    """The lines of ``body`` (whole lines, from line ``first`` of ``src``) as a String series.

    A byte-order mark at the start of the file is dropped; a line that is not UTF-8 is
    read as Latin-1 (HTTP's historical charset, which servers copy into their logs).
    """
    if first == 1:
        body = body.removeprefix(b"\xef\xbb\xbf")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        lines = body.split(b"\n")
        out = []
        for ln in lines:
            try:
                out.append(ln.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(ln.decode("latin-1"))
        text = "\n".join(out)
        body = text.encode()
    try:  # one column, no quoting: polars' CSV reader splits lines fastest
        return pl.read_csv(
            io.BytesIO(body),
            has_header=False,
            separator="\x01",
            quote_char=None,
            schema={"line": pl.String},
        )["line"].fill_null("")
    except pl.exceptions.PolarsError:  # a \x01 in a line (escape=none)
        text = body.decode("utf-8").removesuffix("\n")
        return pl.Series("line", [text]).str.split("\n").explode().str.strip_suffix("\r")


def leading_boms(body: memoryview, start: bool) -> int:
    """The bytes of byte-order marks :func:`as_lines` drops at the start of a block.

    Its own at the ``start`` of the file, then polars' CSV reader's: one more, at the
    start of any block, when the first line is UTF-8 (not read as Latin-1) and no
    ``\\x01`` in the block sends the reader down its slow path.
    """
    bom = b"\xef\xbb\xbf"
    skip = 3 if start and body[:3] == bom else 0
    if body[skip : skip + 3] == bom:
        data = bytes(body)
        try:
            data[skip : data.find(b"\n")].decode("utf-8")
        except UnicodeDecodeError:
            return skip
        if b"\x01" not in data:
            skip += 3
    return skip

"""Many inputs, one answer: globs and lists of files cut into partitions, read on a cluster.

A reader of big inputs takes one file, a list of them, or a glob (``logs/*.log.gz``,
``s3://bucket/2026-12-*/access.log``); :func:`expand` turns that into the files, in
sorted order per pattern (an empty glob is an :class:`~perflab.errors.InputError`, not
an empty result). :func:`partitions` cuts the files into :class:`~perflab.sources.Part`
— by file, and, for formats with one record per line, a big plain file also by byte
ranges cut just after a newline, so every part starts on a line of its own. gzip
files and http(s) URLs (no random access) are always read whole. Formats whose
records span lines (PostgreSQL stderr and csvlog, MySQL slow logs) are split by file
only: a cut at a newline could fall inside a statement.

:func:`map_parts` runs a reader's per-part function on each part — on the workers of a
:class:`distributed.Client` when one is given, else one after the other here — and
gives the results back in part order, so that a caller combining them (sums, counts,
min/max, mergeable histograms, rows concatenated in file order) gets the answer it
would get reading the files one after the other. A bad line in any part raises the
:class:`~perflab.errors.InputError` of the first part (in file order) that had one,
naming its file and its line *in the file* (a part's line numbers are shifted by the
lines before its range); warnings of ``errors="skip"`` reads are given again here,
one per part that skipped lines.
"""

from __future__ import annotations

import glob
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from perflab.errors import InputError, InputWarning, ParameterError
from perflab.sources import Part, PathLike, _local, _raw_open, is_url, open_url

__all__ = ["PART_BYTES", "Inputs", "Part", "expand", "is_many", "map_parts", "partitions"]

PART_BYTES = 64 << 20
"""Default size of a byte-range part (64 MiB): big enough that a part's fixed costs
(a task, a file open) vanish, small enough that two workers get several each."""

Inputs = PathLike | Sequence[PathLike]
"""One file or URL, a glob, or a sequence of them."""

_GLOB = re.compile(r"[*?\[]")


def _has_glob(path: str) -> bool:
    if path.lower().startswith(("http://", "https://")):
        return False  # a query string is not a pattern, and http has no listing
    return _GLOB.search(path) is not None


def _is_pattern(name: str) -> bool:
    """Whether ``name`` is a glob: it has glob characters and no file has that very
    name (``logs/pg[1].log`` that exists is the file, not a pattern)."""
    if not _has_glob(name):
        return False
    try:
        if is_url(name) and not name.lower().startswith("file://"):
            fs, path = open_url(name)
            return not fs.isfile(path)
        return not os.path.isfile(_local(name) if is_url(name) else name)
    except Exception:  # a file system that cannot answer: read it as a pattern
        return True


def is_many(inputs: object) -> bool:
    """True when ``inputs`` is a sequence of inputs or a glob, not one file.

    A name with glob characters (``*``, ``?``, ``[``) that is an existing file is
    that one file.

    Examples
    --------
    >>> is_many("logs/a.log"), is_many("logs/*.log"), is_many(["a.log"])
    (False, True, True)
    """
    if isinstance(inputs, str):
        return _is_pattern(inputs)
    if isinstance(inputs, os.PathLike):
        return False
    return isinstance(inputs, Sequence)


def expand(inputs: Inputs) -> list[str]:
    """The files named by ``inputs``: paths and URLs as given, globs expanded (sorted).

    Parameters
    ----------
    inputs : str, PathLike or sequence of them
        Files, URLs (``s3://``, ``memory://``… through fsspec) and globs (``*``, ``?``,
        ``[…]``; ``**`` across folders). http(s) URLs are never globs.

    Returns
    -------
    list of str
        In the order given, each glob's matches sorted. Existence of plain names is
        checked when they are read; a name with glob characters that is an existing
        file (``logs/pg[1].log``) is taken as that file.

    Raises
    ------
    InputError
        A glob that matches no file (the pattern is the source).
    ParameterError
        No input at all.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("b.log", "a.log", "c.txt"):
    ...     _ = (d / n).write_text("x\\n")
    >>> [pathlib.Path(p).name for p in expand(str(d / "*.log"))]
    ['a.log', 'b.log']
    """
    items: list[Any] = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    if not items:
        raise ParameterError("no input given: pass a file, a glob or a list of files")
    out: list[str] = []
    for item in items:
        name = os.fspath(item)
        if not isinstance(name, str):
            raise ParameterError(f"inputs must be paths or URLs, not {item!r}")
        if not _is_pattern(name):
            out.append(name)
            continue
        if is_url(name) and not name.lower().startswith("file://"):
            fs, pattern = open_url(name)
            found = [fs.unstrip_protocol(p) for p in sorted(fs.glob(pattern)) if fs.isfile(p)]
        else:
            local = _local(name) if is_url(name) else name
            found = sorted(p for p in glob.glob(local, recursive=True) if os.path.isfile(p))
        if not found:
            raise InputError(name, None, "no file matches the pattern")
        out.extend(found)
    return out


def partitions(
    files: Sequence[str],
    *,
    by: Literal["file", "lines"] = "file",
    part_bytes: int = PART_BYTES,
) -> list[Part]:
    """Cut ``files`` into parts: one per file, or byte ranges of whole lines.

    Parameters
    ----------
    files : sequence of str
        Paths or URLs (:func:`expand`'s output).
    by : {"file", "lines"}
        ``"lines"`` cuts a plain (not gzip) file bigger than ``part_bytes`` into
        ranges of about ``part_bytes``, each starting just after a newline — for
        formats with one record per line only. http(s) URLs and gzip files stay whole.
    part_bytes : int
        Target size of a range.

    Returns
    -------
    list of Part
        In file order, then byte order.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.log"
    >>> _ = p.write_bytes(b"aaaa\\nbb\\ncccccc\\nd\\n")
    >>> [(q.start, q.end) for q in partitions([str(p)], by="lines", part_bytes=6)]
    [(0, 5), (5, 15), (15, None)]
    """
    if by not in ("file", "lines"):
        raise ParameterError(f"by must be 'file' or 'lines', not {by!r}")
    if not isinstance(part_bytes, int) or part_bytes < 1:
        raise ParameterError(f"part_bytes must be a positive integer, not {part_bytes!r}")
    out: list[Part] = []
    for name in files:
        if by == "file" or name.lower().startswith(("http://", "https://")):
            out.append(Part(name))
            continue
        out.extend(_ranges(name, part_bytes))
    return out


def _ranges(name: str, part_bytes: int) -> list[Part]:
    """``name`` cut into ranges of about ``part_bytes`` at line starts (whole if gzip)."""
    try:
        with _raw_open(name) as fh:
            if fh.read(2) == b"\x1f\x8b":
                return [Part(name)]
            size = fh.seek(0, os.SEEK_END)
            if size <= part_bytes:
                return [Part(name)]
            n = math.ceil(size / part_bytes)
            cuts = [0]
            for k in range(1, n):
                at = _line_start(fh, k * size // n, size)
                if cuts[-1] < at < size:
                    cuts.append(at)
    except FileNotFoundError:
        return [Part(name)]  # the reader says "no such file"
    ends: list[int | None] = [*cuts[1:], None]
    return [Part(name, a, b) for a, b in zip(cuts, ends, strict=True)]


def _line_start(fh: Any, at: int, size: int) -> int:
    """The first line start at or after ``at`` (just after a newline), or ``size``."""
    fh.seek(at - 1)
    pos = at - 1
    while pos < size:
        piece = fh.read(1 << 16)
        if not piece:
            break
        hit = piece.find(b"\n")
        if hit >= 0:
            return pos + hit + 1
        pos += len(piece)
    return size


@dataclass
class _Outcome:
    """What a part's run sends back: its value, or its error; the warnings it gave."""

    value: Any = None
    error: tuple[str, int | None, str] | None = None
    warned: list[str] = field(default_factory=list)


def _run(fn: Callable[..., Any], part: Part, kwargs: dict[str, Any]) -> _Outcome:
    """Run ``fn(part, **kwargs)``; catch an InputError (lines made the file's) and
    the InputWarnings, so that they travel back as plain data."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            out = _Outcome(value=fn(part, **kwargs))
        except InputError as exc:
            line = exc.line
            if line is not None and not getattr(exc, "absolute", False):
                line += part.lines_before()
            out = _Outcome(error=(exc.source, line, exc.reason))
    out.warned = [str(w.message) for w in caught if issubclass(w.category, InputWarning)]
    return out


def map_parts(
    fn: Callable[..., Any],
    parts: Sequence[Part],
    *,
    client: Any = None,
    **kwargs: Any,
) -> list[Any]:
    """``fn(part, **kwargs)`` for every part — on the client's workers when given.

    Parameters
    ----------
    fn : callable
        A module-level function (the workers import it by name) taking a
        :class:`~perflab.sources.Part` first; its result must pickle.
    parts : sequence of Part
        From :func:`partitions`.
    client : distributed.Client, optional
        Run on its workers (one task per part); without one, here, one part after
        the other.
    **kwargs
        Passed to every call.

    Returns
    -------
    list
        The results, in part order.

    Raises
    ------
    InputError
        The first part (in part order) that met a bad input: its file and its line
        in the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.log"
    >>> _ = p.write_bytes(b"1\\n2\\n3\\n4\\n")
    >>> from perflab.sources import Source
    >>> def count(part):
    ...     return Source(part).data().count(b"\\n")
    >>> map_parts(count, partitions([str(p)], by="lines", part_bytes=4))
    [2, 2]
    """
    if client is None:
        outcomes = [_run(fn, part, kwargs) for part in parts]
    else:
        if not callable(getattr(client, "map", None)):
            raise ParameterError(f"client must be a distributed.Client, not {client!r}")
        futures = client.map(
            _run, [fn] * len(parts), list(parts), [kwargs] * len(parts), pure=False
        )
        outcomes = client.gather(futures)
    for out in outcomes:
        for message in out.warned:
            warnings.warn(message, InputWarning, stacklevel=2)
    for out in outcomes:
        if out.error is not None:
            raise InputError(*out.error)
    return [out.value for out in outcomes]

"""CloudFront standard logs (W3C extended format) → CDN_REQUESTS (private).

See :func:`perflab.cdn.read.read_cloudfront` for the mapping. The file is read in
blocks of whole lines (:func:`perflab.sources.read_blocks`, about 16 MiB each).
Header lines (``#…``) cut a block into runs of data lines; each run is read under the
``#Fields`` line in force. A clean run — every line with that many tab-separated
fields, no blank line, no carriage return — is split by polars' CSV reader in one call;
anything else is read line by line (:func:`_segment`), which names the lines that are
wrong, turns a copy whose tabs became spaces back into fields, and drops CRs. The
fields are then converted column by column (:func:`_convert`).
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any

import polars as pl

from perflab.cdn._common import (
    Checks,
    airport_country,
    by_distinct,
    coalesce,
    finish,
    hit_from,
    nulls,
    percent_decode,
    strip_params,
    to_int,
)
from perflab.cdn.schema import CDN_REQUESTS
from perflab.errors import ErrorMode, InputError
from perflab.sources import PathLike, Source, read_blocks

__all__ = ["HIT", "MISS", "STANDARD_FIELDS", "read"]

STANDARD_FIELDS = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
]
"""The 33 fields of a standard (legacy) log, in the order CloudFront writes them."""

HIT = {"hit", "refreshhit", "originshieldhit"}
MISS = {"miss", "error", "limitexceeded", "capacityexceeded"}

# field → (extra column, kind): kind "int", "text", "decoded", "seconds"
_EXTRA: dict[str, tuple[str, str]] = {
    "cs(Host)": ("distribution_host", "text"),
    "cs(Cookie)": ("cookie", "decoded"),
    "x-edge-request-id": ("request_id", "text"),
    "cs-protocol": ("scheme", "text"),
    "cs-bytes": ("request_length", "int"),
    "cs-protocol-version": ("protocol", "text"),
    "c-port": ("client_port", "int"),
    "x-edge-response-result-type": ("response_result_type", "text"),
    "x-edge-detailed-result-type": ("detailed_result_type", "text"),
    "sc-content-len": ("content_length", "int"),
    "sc-range-start": ("range_start", "int"),
    "sc-range-end": ("range_end", "int"),
    "origin-lbl": ("origin_last_byte_ms", "seconds"),
    "asn": ("asn", "int"),
}
_USED = {
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "x-edge-result-type",
    "x-host-header",
    "time-taken",
    "time-to-first-byte",
    "sc-content-type",
    "origin-fbl",
    "c-country",
}
_NUMBERS = {"sc-bytes", "time-taken", "time-to-first-byte", "origin-fbl", "sc-status"}


def _column_name(field: str) -> str:
    """An unknown field's extra column: ``x-forwarded-for`` → ``x_forwarded_for``."""
    return re.sub(r"[^a-z0-9]+", "_", field.lower()).strip("_")


class _Segment:
    """The field list in force and the line that declared it."""

    def __init__(self) -> None:
        self.fields: list[str] | None = None
        self.line = 0


def read(path: PathLike, errors: ErrorMode) -> pl.DataFrame:
    """Read a CloudFront standard log (see :func:`perflab.cdn.read.read_cloudfront`)."""
    src = Source(path, errors)
    seg = _Segment()
    frames: list[pl.DataFrame] = []
    run = _Run(src, frames)
    saw_header = False
    first = 1
    for data, last in _blocks(src, run.flush):
        if first == 1:
            data = data.removeprefix(b"\xef\xbb\xbf")
        start = 0  # byte offset of the current run of data lines
        line = first  # its first line
        while (head_at := _header_at(data, start)) >= 0:  # the header lines, in order
            if head_at > start:
                line = _lines(src, data[start:head_at], line, seg, False, run)
            end = data.find(b"\n", head_at)
            end = len(data) if end < 0 else end + 1
            header = data[head_at:end].decode("utf-8", "replace").strip()
            saw_header = True
            if header.startswith("#Fields:"):
                seg.fields = header[len("#Fields:") :].split()
                seg.line = line
            line += 1
            start = end
        if start < len(data):
            line = _lines(src, data[start:] if start else data, line, seg, last, run)
        first = line
    run.flush()
    frames = [f for f in frames if f.height]
    if not frames and saw_header and not src.bad.count:
        return CDN_REQUESTS.empty()  # headers only: an hour without requests
    return finish(frames, src, "no request line (is this a CloudFront standard log?)")


def _header_at(data: bytes, start: int) -> int:
    """The offset of the first header line (``#…``) at or after ``start`` (a line start), or -1.

    ``#`` is rare in a log (CloudFront percent-encodes it), so it is looked for alone
    (``memchr``) before lines starting with it are.
    """
    k = data.find(b"#", start)
    if k <= start or data[k - 1] == 10:  # none, or at a line start
        return k
    k = data.find(b"\n#", k)
    return k + 1 if k >= 0 else -1


def _blocks(src: Source, flush: Callable[[], None]) -> Iterator[tuple[bytes, bool]]:
    """:func:`~perflab.sources.read_blocks` as bytes, read ahead in a thread, in order.

    The next block is read (gunzipped, copied out) while this one is parsed: zlib,
    file reads and polars let go of the GIL. The thread reads through a :class:`Source`
    of its own. Its bad lines (a gzip stream found cut short or corrupt, reported when
    the blocks run out: after the blocks before the last, before the last) are handed
    over where they were found, after ``flush`` converted the runs of lines held back by
    :class:`_Run`, so bad lines come in the order they always did.
    """
    reader = Source(src.name, src.bad.mode)
    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> None:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        bad = reader.bad
        try:
            blocks = read_blocks(reader)
            while not stop.is_set():
                count, shown = bad.count, len(bad.examples)
                item = next(blocks, None)
                if bad.count != count:  # skip mode: the stream's end, reported
                    put(("bad", (bad.examples[shown:], bad.count - count)))
                if item is None:
                    break
                view, last = item  # bytes for polars: a copy, unless the view is whole
                whole = isinstance(view.obj, bytes) and view.nbytes == len(view.obj)
                put(("block", (view.obj if whole else bytes(view), last)))
            put(("end", None))
        except BaseException as exc:  # raise mode's InputError, or an OSError
            put(("error", exc))

    thread = threading.Thread(target=produce, name="cloudfront-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ahead.get()
            if kind == "block":
                yield value
            elif kind == "bad":
                flush()
                added, count = value
                for ln, why in added:
                    src.bad.add(ln, why)
                src.bad.more(count - len(added))
            elif kind == "error":
                if isinstance(value, InputError):
                    flush()
                raise value
            else:
                return
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.05)
        thread.join()


class _Run:
    """Clean runs of lines under the same ``#Fields`` line, split but not yet converted.

    Consecutive runs (the hourly files of a day, the blocks of a big hour) are converted
    together (:func:`_convert` has a fixed cost per call), up to ``_RUN_ROWS`` lines.
    """

    def __init__(self, src: Source, frames: list[pl.DataFrame]) -> None:
        self.src = src
        self.frames = frames
        self.fields: list[str] | None = None
        self.raws: list[pl.DataFrame] = []
        self.firsts: list[int] = []
        self.rows = 0

    def add(self, fields: list[str], raw: pl.DataFrame, first: int) -> None:
        if self.raws and (fields != self.fields or self.rows >= _RUN_ROWS):
            self.flush()
        self.fields = fields
        self.raws.append(raw)
        self.firsts.append(first)
        self.rows += raw.height

    def flush(self) -> None:
        """Convert the runs held back (their bad lines reported)."""
        if not self.raws:
            return
        raws, firsts = self.raws, self.firsts
        self.raws, self.firsts, self.rows = [], [], 0
        raw = pl.concat(raws) if len(raws) > 1 else raws[0]
        starts = list(accumulate((r.height for r in raws[:-1]), initial=0))

        def where(i: int) -> int:
            k = bisect_right(starts, i) - 1
            return firsts[k] + i - starts[k]

        self.frames.append(_checked(self.src, raw, where))


_RUN_ROWS = 250_000


def _lines(src: Source, data: bytes, first: int, seg: _Segment, cut: bool, run: _Run) -> int:
    """Data lines (bytes, no header among them) under the ``#Fields`` in force.

    Returns the line after them. Clean lines — every one with the field count of the
    ``#Fields`` line, no blank line, no carriage return — are split by polars' CSV
    reader in one go ("-" read as null, but in the last column) and handed to ``run``.
    Anything else goes line by line through :func:`_segment`, which names the lines
    that are wrong.
    """
    fields = seg.fields
    if fields and b"\r" not in data and data[:1] != b"\n" and not data.endswith(b"\n\n"):
        names = _unique(fields)
        try:
            raw = pl.read_csv(
                data,
                separator="\t",
                has_header=False,
                quote_char=None,
                schema=dict.fromkeys(names, pl.String),
                null_values={c: "-" for c in names[:-1]} or None,
                empty_string_is_null=False,
            )
        except pl.exceptions.PolarsError:  # a line with too many fields, or not UTF-8
            raw = None
        # a short line (or a blank one) leaves its last fields empty: CloudFront writes
        # "-", never an empty field, so an empty last field means "not clean" (an empty
        # field before it is read as the line-by-line path reads it: "")
        if raw is not None:
            tail = raw[names[-1]]
            if not (tail.is_null().any() or (tail == "").any()):
                raw = raw.with_columns(tail.set(tail == "-", None))
                run.add(fields, raw, first)
                return first + raw.height
    run.flush()
    text = data.decode("utf-8", "replace")
    lines = pl.Series("line", text.removesuffix("\n").split("\n"), dtype=pl.String)
    lines = lines.str.strip_suffix("\r")
    numbers = pl.int_range(first, first + lines.len(), eager=True, dtype=pl.Int64)
    keep = lines.str.strip_chars().str.len_bytes() > 0
    run.frames.append(_segment(src, lines.filter(keep), numbers.filter(keep), seg, cut))
    return first + lines.len()


def _unique(fields: list[str]) -> list[str]:
    """Field names made unique (a repeated field keeps its first column's name)."""
    seen: dict[str, int] = {}
    out = []
    for f in fields:
        n = seen.get(f, 0)
        seen[f] = n + 1
        out.append(f if n == 0 else f"{f}#{n + 1}")
    return out


def _checked(src: Source, raw: pl.DataFrame, where: Callable[[int], int]) -> pl.DataFrame:
    """Split fields (``-`` already null) → CDN_REQUESTS rows, bad ones reported."""
    out, problems = _convert(raw)
    checks = Checks()
    for mask, why in problems:
        checks.add(mask, why)
    return checks.drop(out, src, where)


def _segment(
    src: Source, lines: pl.Series, numbers: pl.Series, seg: _Segment, cut: bool
) -> pl.DataFrame:
    """Data lines under one ``#Fields`` line, one by one → CDN_REQUESTS rows."""

    def where(i: int) -> int:
        return int(numbers[i])

    checks = Checks()
    fields = seg.fields
    if not fields:
        checks.add(
            pl.Series([True] * lines.len()),
            lambda i: "data before any '#Fields:' line (is this a CloudFront standard log?)",
        )
        checks.drop(pl.DataFrame({"line": lines}), src, where)
        return pl.DataFrame()
    n = len(fields)
    # A copy that lost its tabs (pasted, or re-saved by an editor) is split on spaces:
    # CloudFront percent-encodes spaces inside fields, so they cannot hold one.
    no_tab = ~lines.str.contains("\t", literal=True)
    if no_tab.any():
        idx = no_tab.arg_true()
        lines = lines.scatter(idx, lines.gather(idx).str.replace_all(" +", "\t"))
    count = lines.str.count_matches("\t", literal=True) + 1
    wrong = count != n
    last_row = lines.len() - 1

    def why_count(i: int) -> str:
        reason = (
            f"{count[i]} tab-separated fields where the '#Fields:' line (line {seg.line}) names {n}"
        )
        if cut and i == last_row:
            reason = "last line cut short (no newline at its end): " + reason
        return reason

    checks.add(wrong, why_count)
    raw = lines.str.split_exact("\t", n - 1).struct.unnest()
    raw.columns = _unique(fields)
    raw = raw.with_columns(
        pl.when(pl.col(c) == "-").then(None).otherwise(pl.col(c)).alias(c) for c in raw.columns
    )
    out, problems = _convert(raw)
    for mask, why in problems:
        checks.add(mask & ~wrong, why)
    return checks.drop(out, src, where)


def _convert(raw: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[pl.Series, Callable]]]:
    """Text fields → CDN_REQUESTS columns, and the rows that cannot be read."""
    has = set(raw.columns)
    height = raw.height
    problems: list[tuple[pl.Series, Callable[[int], str]]] = []

    def field(name: str) -> pl.Series:
        if name in has:
            return raw[name]
        return pl.Series(name, [None] * height, dtype=pl.String)

    cols: dict[str, pl.Series] = {}
    # numbers
    num: dict[str, pl.Series] = {}
    for name in _NUMBERS & has:
        text = raw[name]
        value = (
            to_int(text)
            if name in ("sc-bytes", "sc-status")
            else text.cast(pl.Float64, strict=False)
        )
        if name == "sc-status":
            value = value.set((text == "000").fill_null(False), None)
            bad = value.is_null() & text.is_not_null() & (text != "000")
        else:
            bad = value.is_null() & text.is_not_null()
        problems.append((bad, _expected(name, "a number", text)))
        num[name] = value
    # time: date + time as logged (when the edge finished responding, to the second)
    if "date" in has and "time" in has:
        text = raw["date"] + " " + raw["time"]
        stamp = by_distinct(
            text,
            lambda s: s.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"),
        )
        bad = stamp.is_null()
        problems.append((bad, _expected("date/time", "YYYY-MM-DD and HH:MM:SS", text)))
        cols["time"] = stamp.dt.replace_time_zone("UTC")
    cols["method"] = field("cs-method")
    cols["path"] = percent_decode(field("cs-uri-stem"))
    cols["query"] = percent_decode(field("cs-uri-query"))
    if "sc-status" in num:
        cols["status"] = num["sc-status"]
    if "sc-bytes" in num:
        cols["bytes"] = num["sc-bytes"]
    if "time-taken" in num:
        cols["duration_ms"] = (num["time-taken"] * 1000).round(3)
    if "origin-fbl" in num:
        origin = (num["origin-fbl"] * 1000).round(3)
        cols["upstream_ms"] = origin
        cols["origin_ms"] = origin
    cols["cache_status"] = field("x-edge-result-type")
    cols["content_type"] = strip_params(percent_decode(field("sc-content-type")))
    cols["host"] = coalesce(field("x-host-header"), field("cs(Host)"))
    cols["client"] = field("c-ip")
    cols["user_agent"] = nulls(percent_decode(field("cs(User-Agent)")))
    cols["referer"] = nulls(percent_decode(field("cs(Referer)")))
    cols["provider"] = pl.Series(["cloudfront"] * height, dtype=pl.String)
    edge = field("x-edge-location")
    cols["edge"] = edge
    if "c-country" in has:
        cols["country"] = nulls(raw["c-country"].str.to_uppercase(), "XX")
    else:
        cols["country"] = airport_country(edge)
    if "time-to-first-byte" in num:
        cols["ttfb_ms"] = (num["time-to-first-byte"] * 1000).round(3)
    verdict = field("x-edge-result-type")
    if "x-edge-response-result-type" in has:
        verdict = coalesce(raw["x-edge-response-result-type"], verdict)
    cols["cache_hit"] = hit_from(verdict, HIT, MISS)
    # extras
    for name in raw.columns:
        if name in _USED:
            continue
        column, kind = _EXTRA.get(name, (_column_name(name), "text"))
        value = raw[name]
        if kind == "int":
            value = to_int(value)
        elif kind == "decoded":
            value = percent_decode(value)
        elif kind == "seconds":
            value = (value.cast(pl.Float64, strict=False) * 1000).round(3)
        if column not in cols:
            cols[column] = value
    frame = pl.DataFrame({k: v.alias(k) for k, v in cols.items()})
    return frame, problems


def _expected(name: str, what: str, text: pl.Series) -> Callable[[int], str]:
    def why(i: int) -> str:
        return f"{name}: expected {what}, found {text[i]!r}"

    return why

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

import io
import re
from collections.abc import Callable

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
from perflab.errors import ErrorMode
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
    saw_header = False
    first = 1
    for view, last in read_blocks(src):
        data = bytes(view)
        if first == 1:
            data = data.removeprefix(b"\xef\xbb\xbf")
        start = 0  # byte offset of the current run of data lines
        line = first  # its first line
        while True:  # the header lines ("#…") of the block, in order
            if start == 0 and data.startswith(b"#"):
                head_at = 0
            else:
                k = data.find(b"\n#", max(start - 1, 0))
                if k < 0:
                    break
                head_at = k + 1
            if head_at > start:
                frames.append(_lines(src, data[start:head_at], line, seg, cut=False))
                line += data.count(b"\n", start, head_at)
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
            frames.append(_lines(src, data[start:], line, seg, cut=last))
        first += data.count(b"\n")
    frames = [f for f in frames if f.height]
    if not frames and saw_header and not src.bad.count:
        return CDN_REQUESTS.empty()  # headers only: an hour without requests
    return finish(frames, src, "no request line (is this a CloudFront standard log?)")


def _lines(src: Source, data: bytes, first: int, seg: _Segment, cut: bool) -> pl.DataFrame:
    """Data lines (bytes, no header among them) under the ``#Fields`` in force.

    Clean lines — every one with the field count of the ``#Fields`` line, no blank line,
    no carriage return — are split by polars' CSV reader in one go. Anything else goes
    line by line through :func:`_segment`, which names the lines that are wrong.
    """
    fields = seg.fields
    if fields and b"\r" not in data:
        rows = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        try:
            raw = pl.read_csv(
                io.BytesIO(data),
                separator="\t",
                has_header=False,
                quote_char=None,
                schema=dict.fromkeys(_unique(fields), pl.String),
            )
        except pl.exceptions.PolarsError:  # a line with too many fields, or not UTF-8
            raw = None
        # a short line (or a blank one) leaves its last fields null: CloudFront writes
        # "-", never an empty field, so a null anywhere means "not clean"
        if raw is not None and raw.height == rows and raw.null_count().sum_horizontal()[0] == 0:
            raw = raw.with_columns(
                pl.when(pl.col(c) == "-").then(None).otherwise(pl.col(c)).alias(c)
                for c in raw.columns
            )
            return _checked(src, raw, lambda i: first + i)
    text = data.decode("utf-8", "replace")
    lines = pl.Series("line", text.removesuffix("\n").split("\n"), dtype=pl.String)
    lines = lines.str.strip_suffix("\r")
    numbers = pl.int_range(first, first + lines.len(), eager=True, dtype=pl.Int64)
    keep = lines.str.strip_chars().str.len_bytes() > 0
    return _segment(src, lines.filter(keep), numbers.filter(keep), seg, cut)


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

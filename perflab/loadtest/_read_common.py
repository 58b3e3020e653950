"""Plumbing shared by the load-test importers (private): frames, checks, JSON, CSV.

Every importer builds its frame from whole columns, collects the rows it cannot read
as *checks* (a boolean mask and a reason per row) and drops them through
:func:`perflab.sources.drop_bad`, so ``errors="raise"`` names the first bad line and
``errors="skip"`` warns once with the count.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from perflab.errors import ErrorMode, InputError
from perflab.loadtest.schema import REQUESTS, SUMMARY
from perflab.sources import PathLike, Source, Where, drop_bad, first_line, parse_numbers

__all__ = [
    "Checks",
    "JsonLines",
    "check_last_line",
    "headerless_csv",
    "http_error",
    "number",
    "open_source",
    "requests_frame",
    "summary_frame",
]

Reason = Callable[[int], str]


def open_source(path: PathLike, errors: ErrorMode) -> Source:
    """The :class:`~perflab.sources.Source` of one input (validates ``errors``)."""
    return Source(path, errors)


class Checks:
    """Row checks of one read: masks of bad rows, each with its reason."""

    def __init__(self) -> None:
        self.items: list[tuple[pl.Series, Reason]] = []

    def add(self, mask: pl.Series, why: Reason) -> None:
        """Rows where ``mask`` is true are bad for the reason ``why(row)``."""
        self.items.append((mask.fill_null(False), why))

    def mask(self) -> pl.Series | None:
        """Rows that fail any check (None when there is no check)."""
        if not self.items:
            return None
        return pl.select(pl.any_horizontal([m for m, _ in self.items])).to_series()

    def drop(self, frame: pl.DataFrame, src: Source, where: Where) -> pl.DataFrame:
        """``frame`` without its bad rows, reported through ``src.bad``."""
        mask = self.mask()
        if mask is None:
            return frame

        def why(i: int) -> str:
            return next(reason(i) for m, reason in self.items if m[i])

        return drop_bad(frame, mask, src.bad, where, why)


def number(
    raw: pl.DataFrame,
    col: str,
    checks: Checks,
    *,
    optional: bool = False,
    integer: bool = False,
    negative: bool = False,
    missing: tuple[str, ...] = (),
) -> pl.Series:
    """Column ``col`` of text as Float64, with checks for what cannot be used.

    A value that is not a finite number is bad; so is an empty one unless ``optional``
    (a line cut short reads as empty fields), a negative one unless ``negative``, a
    fractional one when ``integer``. Texts in ``missing`` (``"N/A"``) read as null.
    """
    text = raw.get_column(col).cast(pl.String)
    stripped = text.str.strip_chars()
    absent = text.is_null() | (stripped == "")
    if missing:
        absent = absent | stripped.is_in(list(missing))
    vals = parse_numbers(text).set(absent, None)
    bad = ~absent & (vals.is_null() | vals.is_nan() | vals.is_infinite())
    checks.add(bad, lambda i: f"{col} {text[i]!r} is not a number")
    if not optional:
        checks.add(absent, lambda i: f"no value for {col!r} (is the line cut short?)")
    if not negative:
        checks.add(vals < 0, lambda i: f"{col} {text[i]!r} is negative")
    if integer:
        checks.add(vals != vals.round(), lambda i: f"{col} {text[i]!r} is not a whole number")
    return vals.fill_nan(None)


def check_last_line(src: Source, checks: Checks, height: int, width: int, sep: str = ",") -> None:
    """A last line without its line end and with fewer fields than ``width`` is a line
    cut short (the tools end every line): the last row is bad."""
    data = src.data()
    if not height or not data or data.endswith(b"\n"):
        return
    last = data[data.rfind(b"\n") + 1 :].decode("utf-8", "replace")
    try:
        fields = len(next(csv.reader([last], delimiter=sep), []))
    except csv.Error:
        fields = 0
    if fields < width:
        mask = pl.Series([False] * (height - 1) + [True])
        checks.add(mask, lambda i: f"the last line is cut short ({fields} of {width} fields)")


def http_error(status: pl.Series) -> pl.Series:
    """``"http <status>"`` for a 4xx/5xx status, else null (the importers' convention)."""
    code = status.cast(pl.Int64)
    return (
        pl.select(pl.when(code >= 400).then(pl.lit("http ") + code.cast(pl.String)).otherwise(None))
        .to_series()
        .alias("error")
    )


def requests_frame(height: int, cols: Mapping[str, pl.Series | None]) -> pl.DataFrame:
    """A REQUESTS frame of ``height`` rows: the given columns cast, the others null."""
    out = []
    for col, dtype in REQUESTS.columns.items():
        values = cols.get(col)
        if values is None:
            out.append(pl.repeat(None, height, dtype=dtype, eager=True).alias(col))
        else:
            out.append(values.cast(dtype).alias(col))
    return pl.DataFrame(out)


def summary_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A SUMMARY frame from row dicts (absent columns null)."""
    return SUMMARY.build(rows)


class JsonLines:
    """A JSON-lines file as a column of lines, with fields pulled out by JSON path.

    Blank lines are dropped; :attr:`where` maps a row to its line. :meth:`field`
    gives a field's value as text (null when absent or null); :attr:`valid` says
    which lines are JSON objects at all.
    """

    def __init__(self, src: Source) -> None:
        lines = pl.Series("line", src.text().split("\n"), dtype=pl.String)
        keep = lines.str.strip_chars() != ""
        self.numbers = pl.int_range(1, lines.len() + 1, eager=True).filter(keep)
        self.lines = lines.filter(keep).str.strip_chars_end("\r")
        self.valid = self.lines.str.json_path_match("$").is_not_null() & self.lines.str.starts_with(
            "{"
        )

    def __len__(self) -> int:
        return self.lines.len()

    def where(self, i: int) -> int | None:
        """Row → its 1-based line."""
        return int(self.numbers[i])

    def field(self, path: str) -> pl.Series:
        """The value at JSON path ``path`` (``"$.data.time"``) as text."""
        return self.lines.str.json_path_match(path)

    def check_valid(self, checks: Checks) -> None:
        """Lines that are not JSON objects (a cut last line among them) are bad."""
        lines = self.lines

        def why(i: int) -> str:
            return f"not a JSON object: {lines[i][:60]!r}"

        checks.add(~self.valid, why)


def headerless_csv(src: Source) -> tuple[pl.DataFrame, Where]:
    """A CSV without header, every field as text (columns ``column_1`` …).

    Lines the csv module rejects, or whose field count differs from the first line's,
    go through ``src.bad``; the rest is read. Rows map to lines ``i + 1``.
    """
    data = src.data().removeprefix(b"\xef\xbb\xbf")
    try:
        raw = pl.read_csv(
            io.BytesIO(data), has_header=False, infer_schema=False, raise_if_empty=False
        )
        return raw, _plus_one
    except pl.exceptions.PolarsError as exc:
        first_error = first_line(exc)
    text = src.text()
    rows: list[list[str]] = []
    kept: list[int] = []
    width = None
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            (row,) = list(csv.reader([line.rstrip("\r")], strict=True))
        except (csv.Error, ValueError) as err:
            src.bad.add(n, f"malformed CSV: {err}")
            continue
        if width is None:
            width = len(row)
        if len(row) != width:
            src.bad.add(n, f"{len(row)} fields where the first line has {width}")
            continue
        rows.append(row)
        kept.append(n)
    if not rows:
        raise InputError(src.name, None, f"cannot read as CSV: {first_error}")
    raw = pl.DataFrame(rows, schema=[f"column_{k + 1}" for k in range(width or 0)], orient="row")
    return raw, lambda i: kept[i]


def _plus_one(i: int) -> int | None:
    return i + 1

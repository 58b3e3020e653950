"""Input plumbing shared by the metric readers, and the reader of tabular files.

:class:`Source` is one input file as every reader sees it: the name used in messages,
its format suffix (``.csv`` for ``m.csv.gz``), its bytes (gunzipped when the file is
gzip, whatever its name), its text (UTF-8, a leading BOM dropped), and the
:class:`~perflab.errors.BadLines` of the read. :meth:`Source.finish` ends every read:
one warning for skipped lines, and one when a non-blank file gave no sample at all,
so an empty frame never comes back without a reason.

:func:`read_tabular` reads CSV/TSV, JSON lines and Parquet (the rules are in the
docstring of :mod:`perflab.monitoring.read`). Every column is read as text and checked
with polars expressions over whole columns; only the first few bad rows are ever
formatted in Python.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
import warnings
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import polars as pl

from perflab.errors import BadLines, ErrorMode, InputError, InputWarning, SchemaError
from perflab.frames import UTC_DATETIME
from perflab.monitoring.schema import CORE_COLUMNS, METRICS

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
At = datetime | str | float | int | None
Where = Callable[[int], int | None]

TIME_ALIASES = ("time", "ts")
"""Column names read as ``timestamp`` when a table has no ``timestamp`` column."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_HEAD = 4096

# (format, zoned) tried in order on the strings that earlier formats left unread.
_TIME_FORMATS: tuple[tuple[str, bool], ...] = (
    ("%Y-%m-%dT%H:%M:%S%.f%#z", True),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M:%S%.f%#z", True),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    ("%Y-%m-%dT%H:%M%#z", True),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d %H:%M%#z", True),
    ("%Y-%m-%d %H:%M", False),
    ("%Y-%m-%d", False),
)


# ---------------------------------------------------------------------------------------
# the input file


class Source:
    """One input file: name, format suffix, (gunzipped) bytes and the read's bad lines.

    A file is gzip when its first bytes say so (``.gz`` is then dropped from the
    suffix); a ``.gz`` name on a file that is not gzip is an error. A gzip stream that
    is cut short raises with ``errors="raise"``, naming the line it stops in; with
    ``"skip"`` the whole lines before that one are read and the loss is counted among
    the skipped lines.

    Examples
    --------
    >>> import gzip, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv.gz"
    >>> _ = p.write_bytes(gzip.compress("\\ufeffname\\n".encode()))
    >>> src = Source(p, "raise")
    >>> src.suffix, src.gzipped, src.text()
    ('.csv', True, 'name\\n')
    """

    def __init__(self, path: PathLike, errors: ErrorMode) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.bad = BadLines(self.name, errors)
        self.reported = False  # a warning already told the user why samples went
        self._data: bytes | None = None
        if not self.path.is_file():
            raise InputError(self.name, None, "no such file")
        with open(self.path, "rb") as fh:
            self.gzipped = fh.read(2) == _GZIP_MAGIC
        suffix = self.path.suffix.lower()
        if suffix == ".gz":
            if not self.gzipped and self.path.stat().st_size:
                raise InputError(self.name, None, "named .gz but not gzip data")
            suffix = Path(self.path.stem).suffix.lower()
        self.suffix = suffix
        base = (
            self.path.name[: -len(".gz")]
            if self.path.name.lower().endswith(".gz")
            else self.path.name
        )
        self.stem = Path(base).stem  # the name without its format suffix (and .gz)

    def data(self) -> bytes:
        """The file's bytes, gunzipped."""
        if self._data is None:
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
            raise InputError(self.name, _line_of(data, exc.start), _NOT_UTF8) from None

    def head(self, n: int = _HEAD) -> bytes:
        """The first ``n`` bytes (gunzipped)."""
        if self.gzipped:
            return self.data()[:n]
        with open(self.path, "rb") as fh:
            return fh.read(n)

    def handle(self) -> Path | IO[bytes]:
        """What polars' readers take: the path, or the gunzipped bytes without a BOM."""
        if not self.gzipped and self.head(3) != _BOM:
            return self.path
        return io.BytesIO(self.data().removeprefix(_BOM))

    def is_blank(self) -> bool:
        """True for a file of zero bytes or of nothing but blanks (and a BOM)."""
        head = self.head()
        return len(head) < _HEAD and not head.removeprefix(_BOM).strip()

    def mtime(self) -> float:
        """The file's modification time, epoch seconds."""
        return self.path.stat().st_mtime

    def finish(self, frame: pl.DataFrame, no_samples: str) -> pl.DataFrame:
        """End a read: warn once for skipped lines, and once for a sampleless file.

        ``no_samples`` says why a non-blank file gave no sample (it is not said again
        when a warning about dropped samples has already been given).
        """
        self.bad.finish()
        if frame.height == 0 and not (self.bad.count or self.reported or self.is_blank()):
            warn(self.name, f"no samples: {no_samples}")
        return frame


_NOT_UTF8 = "not UTF-8 text (re-save the file as UTF-8; Excel calls it 'CSV UTF-8')"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def warn(source: str, message: str) -> None:
    """Log and warn (:class:`~perflab.errors.InputWarning`) about an input.

    The warning points at the first caller outside this package: the user's read.
    """
    text = f"{source}: {message}"
    logger.warning(text)
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(text, InputWarning, stacklevel=level)


# ---------------------------------------------------------------------------------------
# frame helpers shared with _prom and _otlp


def empty_frame(tags: Sequence[str] = ()) -> pl.DataFrame:
    """An empty METRICS frame, with String tag columns."""
    return pl.DataFrame(schema={**METRICS.columns, **dict.fromkeys(tags, pl.String)})


def canonical(frame: pl.DataFrame, tags: Sequence[str]) -> pl.DataFrame:
    """Select the core columns then the tags, each with its canonical dtype."""
    return frame.select(
        pl.col("name").cast(pl.String),
        pl.col("value").cast(pl.Float64),
        pl.col("unit").cast(pl.String),
        pl.col("timestamp").cast(UTC_DATETIME),
        *[pl.col(t).cast(pl.String) for t in tags],
    )


def tag_name(key: str) -> str:
    """A tag column name for a label/attribute key that may clash with a core column."""
    return f"exported_{key}" if key in CORE_COLUMNS else key


def drop_bad(
    frame: pl.DataFrame, mask: pl.Series, bad: BadLines, where: Where, why: Callable[[int], str]
) -> pl.DataFrame:
    """Drop the rows where ``mask`` is true, reporting them through ``bad``.

    Only the first few bad rows are described (``where`` gives a row's line, ``why``
    its reason); in raise mode the first one raises.
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
    bad.count += n - len(shown)
    return frame.filter(~mask)


def to_us(at: At, source: str) -> int:
    """Epoch microseconds of an ``at=`` argument."""
    if isinstance(at, datetime):
        aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return (aware - _EPOCH) // timedelta(microseconds=1)
    if isinstance(at, int | float) and not isinstance(at, bool):
        return round(float(at) * 1_000_000)
    if isinstance(at, str):
        parsed, _ = parse_time_strings(pl.Series([at]))
        if parsed.null_count():
            raise InputError(source, None, f"cannot read at={at!r} as an ISO-8601 time")
        return int(parsed.cast(pl.Int64).item())
    raise TypeError(f"at must be a datetime, an ISO string or epoch seconds, not {at!r}")


# ---------------------------------------------------------------------------------------
# timestamps and values


def _epoch_us(x: pl.Series) -> pl.Series:
    """Epoch numbers → Int64 microseconds, each by its magnitude (s/ms/us/ns)."""
    a = x.abs()
    if x.dtype.is_integer():
        x = x.cast(pl.Int64)
        out = (
            pl.select(
                pl.when(a < 10**11)
                .then(x * 1_000_000)
                .when(a < 10**14)
                .then(x * 1_000)
                .when(a < 10**17)
                .then(x)
                .otherwise(x // 1_000)
            )
            .to_series()
            .cast(pl.Int64)
        )
    else:
        x = x.cast(pl.Float64)
        scaled = pl.select(
            pl.when(x.is_nan() | x.is_infinite())
            .then(None)
            .when(a < 1e11)
            .then(x * 1e6)
            .when(a < 1e14)
            .then(x * 1e3)
            .when(a < 1e17)
            .then(x)
            .otherwise(x / 1e3)
        ).to_series()
        out = scaled.round(0).cast(pl.Int64, strict=False)
    return out.alias("timestamp")


def parse_time_strings(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """ISO-8601 (or epoch-number) strings → (datetime[μs, UTC], kind).

    ``kind`` is 1 for a zoned string, 0 for a naive one, 2 for an epoch number and null
    where nothing could be read. Arrow's ISO cast is tried first (one fast pass for a
    clean column); otherwise epoch numbers, then each format, each only on the strings
    still unread.
    """
    fast = _arrow_iso(s)
    if fast is not None:
        return fast
    n = len(s)
    out = pl.Series("timestamp", [None] * n, dtype=UTC_DATETIME)
    kind = pl.Series("kind", [None] * n, dtype=pl.Int8)
    # Epoch numbers first: one cheap cast, and a column of them then skips the formats.
    stripped = s.str.strip_chars()
    us = _epoch_us(stripped.cast(pl.Int64, strict=False)).fill_null(
        _epoch_us(stripped.cast(pl.Float64, strict=False))
    )
    ok = us.is_not_null()
    if ok.all():
        return us.cast(UTC_DATETIME), pl.Series("kind", [2] * n, dtype=pl.Int8)
    if ok.any():
        hit = ok.arg_true()
        out = out.scatter(hit, us.filter(ok).cast(UTC_DATETIME))
        kind = kind.scatter(hit, pl.Series([2] * len(hit), dtype=pl.Int8))
    idx = (s.is_not_null() & ~ok).arg_true()
    sub = s.gather(idx)
    for fmt, zoned in _TIME_FORMATS:
        if not len(sub):
            break
        parsed = sub.str.to_datetime(fmt, time_unit="us", strict=False)
        tz = parsed.dt.convert_time_zone if zoned else parsed.dt.replace_time_zone
        parsed = tz("UTC")
        ok = parsed.is_not_null()
        if ok.any():
            hit = idx.filter(ok)
            out = out.scatter(hit, parsed.filter(ok))
            kind = kind.scatter(hit, pl.Series([int(zoned)] * len(hit), dtype=pl.Int8))
            idx, sub = idx.filter(~ok), sub.filter(~ok)
    return out, kind


def _arrow_iso(s: pl.Series) -> tuple[pl.Series, pl.Series] | None:
    """Fast path: Arrow's ISO-8601 cast, when every string is zoned or every one naive.

    Arrow refuses a naive string when casting to a zoned type and a zoned one when
    casting to a naive type, so success also proves the column is not mixed. It is an
    order of magnitude faster than a strptime format; any failure (a bad string,
    nanosecond fractions, mixed zones) falls back to the format-by-format path.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    first = s.drop_nulls().head(1)
    if not len(first) or not first.str.contains(r"^\d{4}-\d{2}-\d{2}").item():
        return None  # not ISO-looking: a failing Arrow cast can be slow, skip it
    zoned = bool(first.str.contains(r"(?:[Zz]|[+-]\d{2}:?\d{2})$").item())
    try:
        parsed = pc.cast(s.to_arrow(), pa.timestamp("us", "UTC" if zoned else None))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    out = pl.Series("timestamp", parsed)
    out = out if zoned else out.dt.replace_time_zone("UTC")
    kind = pl.select(pl.when(out.is_not_null()).then(pl.lit(int(zoned), pl.Int8))).to_series()
    return out.cast(UTC_DATETIME), kind.alias("kind")


def _parse_times(raw: pl.Series) -> tuple[pl.Series, pl.Series | None]:
    """Any timestamp column → (datetime[μs, UTC] with nulls where unreadable, kind)."""
    dt = raw.dtype
    if dt == pl.String:
        return parse_time_strings(raw)
    if isinstance(dt, pl.Datetime):
        s = raw.dt.replace_time_zone("UTC") if dt.time_zone is None else raw
        return s.dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("timestamp"), None
    if dt == pl.Date:
        return raw.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("timestamp"), None
    if dt.is_numeric():
        return _epoch_us(raw).cast(UTC_DATETIME), None
    if dt == pl.Null:
        return pl.Series("timestamp", [None] * len(raw), dtype=UTC_DATETIME), None
    raise SchemaError("metrics", mistyped=[("timestamp", "datetime or ISO string", str(dt))])


def _parse_values(raw: pl.Series) -> pl.Series:
    """Any value column → Float64 (null where not a number)."""
    dt = raw.dtype
    if dt == pl.String:
        vals = raw.cast(pl.Float64, strict=False)
        retry = vals.is_null() & raw.is_not_null()
        if retry.any():
            idx = retry.arg_true()
            vals = vals.scatter(
                idx, raw.gather(idx).str.strip_chars().cast(pl.Float64, strict=False)
            )
        return vals.alias("value")
    if dt.is_numeric() or dt == pl.Null:
        return raw.cast(pl.Float64).alias("value")
    raise SchemaError("metrics", mistyped=[("value", "number", str(dt))])


def _check_zone_mix(kind: pl.Series | None, raw: pl.Series, source: str, where: Where) -> None:
    """Raise when a timestamp column mixes zoned and naive strings."""
    if kind is None:
        return
    zoned, naive = (kind == 1).fill_null(False), (kind == 0).fill_null(False)
    if not (zoned.any() and naive.any()):
        return
    first_z, first_n = int(zoned.arg_true()[0]), int(naive.arg_true()[0])
    i = max(first_z, first_n)
    line = where(i)
    where_txt = "" if line is not None else f"row {i + 1}: "
    raise InputError(
        source,
        line,
        f"{where_txt}timestamp column mixes zoned and naive times "
        f"({raw[first_z]!r} has an offset, {raw[first_n]!r} has none): "
        "give every time an offset, or none (naive times are read as UTC)",
    )


# ---------------------------------------------------------------------------------------
# tabular files


def read_tabular(src: Source, *, unit: str | None) -> pl.DataFrame:
    """Read a CSV/TSV, JSON-lines or Parquet table (see :mod:`perflab.monitoring.read`)."""
    if src.is_blank():
        return empty_frame()
    where: Where
    if src.suffix == ".parquet":
        try:
            raw = pl.read_parquet(src.handle())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(src.name, None, f"cannot read as Parquet: {_first(exc)}") from None
        where = _no_line
    elif src.suffix in (".csv", ".tsv"):
        raw, where = _load_csv(src, "\t" if src.suffix == ".tsv" else ",")
    else:
        raw, where = _load_ndjson(src)
    if raw.width == 0:
        return src.finish(empty_frame(), "no JSON object holds a field")
    raw = _with_timestamp_column(raw, src.name, unit)
    tags = [c for c in raw.columns if c not in CORE_COLUMNS]
    if src.suffix != ".parquet" and raw.height:
        raw, where = _drop_blank(raw, where)
    if raw.height == 0:
        return src.finish(empty_frame(tags), "the table has a header but no rows")

    ts, kind = _parse_times(raw.get_column("timestamp"))
    _check_zone_mix(kind, raw.get_column("timestamp"), src.name, where)
    values = _parse_values(raw.get_column("value"))
    if "unit" in raw.columns:
        units = raw.get_column("unit").cast(pl.String)
        units = pl.select(pl.when(units != "").then(units)).to_series()
        if unit is not None:
            units = units.fill_null(unit)
    else:
        units = pl.Series("unit", [unit] * raw.height, dtype=pl.String)
    tag_cols = _tags_as_strings(raw, tags, src.name)
    names = raw.get_column("name").cast(pl.String)
    frame = pl.DataFrame(
        [names.alias("name"), values, units.alias("unit"), ts.alias("timestamp"), *tag_cols]
    )
    mask = frame.select(
        pl.col("name").is_null()
        | (pl.col("name") == "")
        | pl.col("value").is_null()
        | pl.col("value").is_nan()
        | pl.col("value").is_infinite()
        | pl.col("timestamp").is_null()
        | pl.col("unit").is_null()
    ).to_series()

    def why(i: int) -> str:
        return _row_reason(raw, frame, i)

    frame = drop_bad(frame, mask, src.bad, where, why)
    return src.finish(frame, "no row holds a sample")


def _with_timestamp_column(raw: pl.DataFrame, source: str, unit: str | None) -> pl.DataFrame:
    """Check the required columns, reading a ``time``/``ts`` column as ``timestamp``."""
    duplicated = [
        c for c in raw.columns if "_duplicated_" in c and c.split("_duplicated_")[0] in raw.columns
    ]
    if duplicated:
        twice = sorted({c.split("_duplicated_")[0] for c in duplicated})
        raise SchemaError(
            source, detail="column(s) " + ", ".join(map(repr, twice)) + " appear more than once"
        )
    if "timestamp" not in raw.columns:
        aliases = [c for c in TIME_ALIASES if c in raw.columns]
        if len(aliases) == 1:
            logger.info("%s: reading column %r as the timestamp", source, aliases[0])
            raw = raw.rename({aliases[0]: "timestamp"})
        elif aliases:
            raise SchemaError(
                source,
                missing=["timestamp"],
                detail=f"columns {aliases[0]!r} and {aliases[1]!r} could both be it: "
                "rename the one that holds the sample times to 'timestamp'",
            )
    required = ["name", "value", "timestamp"] + ([] if unit is not None else ["unit"])
    missing = [c for c in required if c not in raw.columns]
    if missing:
        hint = "found " + ", ".join(map(repr, raw.columns))
        if "timestamp" in missing:
            hint += (
                " (the time column may also be called " + " or ".join(map(repr, TIME_ALIASES)) + ")"
            )
        if "unit" in missing:
            hint += "; without a 'unit' column pass unit="
        raise SchemaError(source, missing=missing, detail=hint)
    return raw


def _tags_as_strings(raw: pl.DataFrame, tags: list[str], source: str) -> list[pl.Series]:
    out, mistyped = [], []
    for t in tags:
        try:
            out.append(raw.get_column(t).cast(pl.String))
        except pl.exceptions.PolarsError:
            mistyped.append((t, "string", str(raw.schema[t])))
    if mistyped:
        raise SchemaError(source, mistyped=mistyped)
    return out


def _no_line(i: int) -> int | None:
    return None


def _drop_blank(raw: pl.DataFrame, where: Where) -> tuple[pl.DataFrame, Where]:
    """Drop all-null rows (blank lines), keeping row → line numbering right."""
    blank = raw.select(pl.all_horizontal(pl.all().is_null())).to_series()
    if not blank.any():
        return raw, where
    rows = (~blank).arg_true()
    return raw.filter(~blank), lambda i: where(int(rows[i]))


def _row_reason(raw: pl.DataFrame, frame: pl.DataFrame, i: int) -> str:
    """Why row ``i`` is bad, quoting what the file holds."""
    got = frame.row(i, named=True)
    if got["name"] in (None, ""):
        return "missing metric name"
    v = raw.get_column("value")[i]
    if v is None:
        return "missing value"
    if got["value"] is None:
        return f"value {v!r} is not a number"
    if got["value"] != got["value"] or got["value"] in (float("inf"), float("-inf")):
        return f"value {v!r} is not finite (NaN and infinities are not samples)"
    t = raw.get_column("timestamp")[i]
    if t is None:
        return "missing timestamp"
    if got["timestamp"] is None:
        return f"cannot read timestamp {t!r}: expected ISO-8601 or an epoch number"
    return "missing unit (fill the unit column or pass unit=)"


def _first(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]


def _load_csv(src: Source, sep: str) -> tuple[pl.DataFrame, Where]:
    """Read every column as String; rows map to lines ``i + 2``."""
    try:
        raw = pl.read_csv(src.handle(), separator=sep, infer_schema=False, raise_if_empty=False)
        return raw, lambda i: i + 2
    except pl.exceptions.PolarsError as exc:
        first_error = _first(exc)
    # Error path only: find the offending lines with the csv module, then re-read the rest.
    data = src.data()
    bad = src.bad
    problems = _csv_problems(data, sep)
    if not problems:
        raise InputError(src.name, None, f"cannot read as CSV: {first_error}")
    for line, reason in problems[: 1 if bad.mode == "raise" else 3]:
        bad.add(line, reason)
    bad.count += len(problems) - min(3, len(problems))
    skip = {line for line, _ in problems}
    lines = data.split(b"\n")
    kept = [i + 1 for i in range(len(lines)) if i + 1 not in skip]
    body = b"\n".join(lines[k - 1] for k in kept)
    try:
        raw = pl.read_csv(io.BytesIO(body), separator=sep, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(src.name, None, f"cannot read as CSV: {_first(exc)}") from None
    return raw, lambda i: kept[i + 1] if i + 1 < len(kept) else None


def _csv_problems(data: bytes, sep: str) -> list[tuple[int, str]]:
    """Lines that are not UTF-8, whose field count differs from the header's, or that the
    csv module rejects."""
    problems: list[tuple[int, str]] = []
    lines = data.split(b"\n")
    for n, ln in enumerate(lines, start=1):
        try:
            ln.decode("utf-8")
        except UnicodeDecodeError:
            problems.append((n, _NOT_UTF8))
    if problems:
        # Undecodable lines are reported; the rest is checked with them blanked out.
        skip = {n for n, _ in problems}
        data = b"\n".join(b"" if i + 1 in skip else ln for i, ln in enumerate(lines))
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    width = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((reader.line_num, f"malformed CSV: {exc}"))
            break
        if width is None:
            width = len(row)
        elif row and len(row) != width:
            problems.append((reader.line_num, f"{len(row)} fields where the header has {width}"))
    return sorted(problems)


def _load_ndjson(src: Source) -> tuple[pl.DataFrame, Where]:
    """Read JSON lines with every field as String (numbers keep their JSON text)."""
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
        first_error = _first(exc)
    # Error path only: find the lines that are not JSON objects.
    good: list[bytes] = []
    kept: list[int] = []
    for n, ln in enumerate(src.data().split(b"\n"), start=1):
        if not ln.strip():
            continue
        try:
            ok = isinstance(json.loads(ln, parse_constant=_reject_constant), dict)
            reason = "not a JSON object"
        except UnicodeDecodeError:
            ok, reason = False, _NOT_UTF8
        except ValueError as err:
            ok, reason = False, f"not valid JSON: {err}"
        if ok:
            good.append(ln)
            kept.append(n)
        else:
            src.bad.add(n, reason)
    body = b"\n".join(good)
    if not body:
        return pl.DataFrame(), lambda i: None
    try:
        keys = pl.scan_ndjson(io.BytesIO(body), infer_schema_length=None).collect_schema().names()
        raw = pl.read_ndjson(io.BytesIO(body), schema=dict.fromkeys(keys, pl.String))
    except pl.exceptions.PolarsError:
        raise InputError(src.name, None, f"cannot read as JSON lines: {first_error}") from None
    return raw, lambda i: kept[i]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")

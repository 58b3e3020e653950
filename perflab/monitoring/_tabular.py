"""The reader of tabular metric files, and frame helpers shared with ``_prom``/``_otlp``.

:func:`read_tabular` reads CSV/TSV, JSON lines and Parquet (the rules are in the
docstring of :mod:`perflab.monitoring.read`). Every column is read as text and checked
with polars expressions over whole columns; only the first few bad rows are ever
formatted in Python. The file plumbing (gzip, BOM, line numbers, bad lines) is
:mod:`perflab.sources`; time parsing is :mod:`perflab.times`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import polars as pl

from perflab.errors import InputError, SchemaError
from perflab.frames import UTC_DATETIME
from perflab.monitoring.schema import CORE_COLUMNS, METRICS
from perflab.sources import (
    Source,
    Where,
    drop_bad,
    drop_blank_rows,
    first_line,
    load_csv,
    load_ndjson,
    no_line,
    parse_numbers,
)
from perflab.times import check_zone_mix, parse_times

logger = logging.getLogger(__name__)

TIME_ALIASES = ("time", "ts")
"""Column names read as ``timestamp`` when a table has no ``timestamp`` column."""


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
            raise InputError(src.name, None, f"cannot read as Parquet: {first_line(exc)}") from None
        where = no_line
    elif src.suffix in (".csv", ".tsv"):
        raw, where = load_csv(src, "\t" if src.suffix == ".tsv" else ",")
    else:
        raw, where = load_ndjson(src)
    if raw.width == 0:
        return src.finish(empty_frame(), "no JSON object holds a field")
    raw = _with_timestamp_column(raw, src.name, unit)
    tags = [c for c in raw.columns if c not in CORE_COLUMNS]
    if src.suffix != ".parquet" and raw.height:
        raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return src.finish(empty_frame(tags), "the table has a header but no rows")

    ts, kind = parse_times(raw.get_column("timestamp"), what="metrics")
    check_zone_mix(kind, raw.get_column("timestamp"), src.name, where)
    values = parse_numbers(raw.get_column("value"), what="metrics").alias("value")
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

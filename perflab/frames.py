"""Turn whatever the user has into a validated polars frame.

Every public function in perflab takes its frames through :func:`as_frame`, so a
pandas DataFrame, a pyarrow Table, a list of dicts or a path works wherever a polars
frame does. A :class:`Schema` states the canonical columns of one kind of frame
once — name, dtype and (in the column name) unit — and checks frames against it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from perflab.errors import InputError, SchemaError

__all__ = ["FrameLike", "Schema", "as_frame", "write_atomic"]

FrameLike = Any
"""Anything :func:`as_frame` accepts: polars (eager or lazy), pandas, pyarrow,
a sequence of dicts, a dict of columns, or a path to CSV/Parquet/JSON-lines."""

UTC_DATETIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Schema:
    """The canonical columns of one kind of frame.

    Parameters
    ----------
    name : str
        What the frame holds, used in error messages.
    columns : mapping of str to polars dtype
        Required columns and their dtypes. Values are cast to these when possible.
    optional : mapping of str to polars dtype
        Columns that may be absent; when present they are cast.
    extra : bool
        Whether other columns (for example tags) are allowed and kept.
    finite : tuple of str
        Float columns that must not hold NaN or infinity.

    Examples
    --------
    >>> s = Schema("demo", {"name": pl.String, "value": pl.Float64})
    >>> s.validate(pl.DataFrame({"name": ["a"], "value": [1]}))
    shape: (1, 2)
    ┌──────┬───────┐
    │ name ┆ value │
    │ ---  ┆ ---   │
    │ str  ┆ f64   │
    ╞══════╪═══════╡
    │ a    ┆ 1.0   │
    └──────┴───────┘
    """

    name: str
    columns: Mapping[str, Any]
    optional: Mapping[str, Any] = field(default_factory=dict)
    extra: bool = True
    finite: tuple[str, ...] = ()

    def empty(self) -> pl.DataFrame:
        """An empty frame with exactly the required columns and dtypes."""
        return pl.DataFrame(schema=dict(self.columns))

    def validate(self, df: pl.DataFrame) -> pl.DataFrame:
        """Check ``df`` against the schema and cast columns to their dtypes.

        Raises
        ------
        SchemaError
            When a required column is missing, a column cannot be cast, or a
            ``finite`` column holds NaN or infinity.
        """
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise SchemaError(self.name, missing=missing)
        wanted = {**self.columns, **{k: v for k, v in self.optional.items() if k in df.columns}}
        mistyped: list[tuple[str, str, str]] = []
        casts = []
        for col, dtype in wanted.items():
            have = df.schema[col]
            if have == dtype:
                continue
            try:
                casts.append(_cast(df.get_column(col), dtype))
            except Exception:
                mistyped.append((col, str(dtype), str(have)))
        if mistyped:
            raise SchemaError(self.name, mistyped=mistyped)
        if casts:
            df = df.with_columns(casts)
        if not self.extra:
            df = df.select(list(wanted))
        for col in self.finite:
            if col in df.columns and df.height:
                series = df.get_column(col)
                bad = int((series.is_nan() | series.is_infinite()).sum())
                if bad:
                    raise SchemaError(
                        self.name, detail=f"column {col!r} holds {bad} NaN or infinite value(s)"
                    )
        return df


def _cast(s: pl.Series, dtype: Any) -> pl.Series:
    """Cast a series strictly, treating naive datetimes as UTC."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        if s.dtype == pl.String:
            s = s.str.to_datetime(time_zone="UTC", time_unit=dtype.time_unit)
        if isinstance(s.dtype, pl.Datetime):
            if s.dtype.time_zone is None:
                s = s.dt.replace_time_zone("UTC")
            return s.dt.convert_time_zone(dtype.time_zone).dt.cast_time_unit(dtype.time_unit)
    return s.cast(dtype, strict=True)


def as_frame(
    data: FrameLike, schema: Schema | None = None, *, source: str | None = None
) -> pl.DataFrame:
    """Return ``data`` as an eager polars frame, validated against ``schema``.

    Parameters
    ----------
    data : frame-like
        polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table, a sequence of
        dicts, a dict of columns, or a path (``.csv``, ``.parquet``, ``.jsonl``/``.ndjson``).
    schema : Schema, optional
        When given, required columns are checked and cast (see :meth:`Schema.validate`).
    source : str, optional
        Name used in error messages; defaults to the path, or ``"frame"``.

    Returns
    -------
    polars.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> as_frame(pd.DataFrame({"x": [1, 2]})).shape
    (2, 1)
    >>> as_frame([{"x": 1}, {"x": 2}]).get_column("x").to_list()
    [1, 2]
    """
    df: pl.DataFrame
    if isinstance(data, pl.DataFrame):
        df = data
    elif isinstance(data, pl.LazyFrame):
        df = data.collect()
    elif isinstance(data, str | os.PathLike):
        # With a schema, CSV columns are read as text and only the schema's columns are
        # cast, so tag-like text ("01", "200") is never turned into a number.
        df = _read_path(Path(data), text=schema is not None)
        source = source or str(data)
    elif _is_pandas(data):
        df = pl.from_pandas(data)
    elif _is_arrow(data):
        frame = pl.from_arrow(data)
        df = frame if isinstance(frame, pl.DataFrame) else frame.to_frame()
    elif isinstance(data, Mapping):
        df = pl.DataFrame(dict(data))
    elif isinstance(data, Sequence):
        df = pl.DataFrame(list(data)) if len(data) else pl.DataFrame()
    else:
        raise TypeError(f"cannot make a frame from {type(data).__name__}")
    if schema is None:
        return df
    if df.width == 0 and df.height == 0:
        return schema.empty()
    try:
        return schema.validate(df)
    except SchemaError as exc:
        if source:
            raise SchemaError(f"{source} ({exc.what})", detail=str(exc).split(": ", 1)[1]) from None
        raise


def _is_pandas(data: object) -> bool:
    mod = type(data).__module__
    return mod.startswith("pandas") and hasattr(data, "to_numpy")


def _is_arrow(data: object) -> bool:
    return type(data).__module__.startswith("pyarrow")


def _read_path(path: Path, *, text: bool = False) -> pl.DataFrame:
    if not path.exists():
        raise InputError(str(path), None, "no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if path.stat().st_size == 0:
            return pl.DataFrame()
        if suffix in (".csv", ".tsv"):
            return pl.read_csv(
                path, separator="\t" if suffix == ".tsv" else ",", infer_schema=not text
            )
        if suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path)
        if suffix == ".json":
            return pl.read_json(path)
    except pl.exceptions.PolarsError as exc:
        raise InputError(str(path), None, f"cannot read as {suffix[1:]}: {exc}") from exc
    raise InputError(str(path), None, f"unknown file type {suffix!r}")


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A reader of ``path`` sees either the old content or the new, never a half.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(p, "hello").read_text()
    'hello'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    payload = data.encode() if isinstance(data, str) else data
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return target

"""Turn whatever the user has into a validated polars frame.

Every public function in perflab takes its frames through :func:`as_frame`, so a
pandas DataFrame, a pyarrow Table, a list of dicts or a path works wherever a polars
frame does. A :class:`Schema` states the canonical columns of one kind of frame
once — name, dtype and (in the column name) unit — and checks frames against it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import polars as pl

from perflab.errors import InputError, ParameterError, SchemaError

__all__ = [
    "UTC_DATETIME",
    "FrameLike",
    "Schema",
    "as_frame",
    "compact",
    "group_keys",
    "write_atomic",
]

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

    @property
    def names(self) -> list[str]:
        """The required column names, in order."""
        return list(self.columns)

    def dtypes(self, keys: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Column → dtype of a frame of this kind: ``keys`` (group columns) first."""
        return {**(keys or {}), **self.columns}

    def empty(self, keys: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """An empty frame with exactly the required columns and dtypes.

        ``keys`` are group columns (``by=``) that come first, with their dtypes.

        Examples
        --------
        >>> Schema("demo", {"n": pl.UInt32}).empty({"route": pl.String}).columns
        ['route', 'n']
        """
        return pl.DataFrame(schema=self.dtypes(keys))

    def build(
        self, rows: Iterable[Mapping[str, Any]], keys: Mapping[str, Any] | None = None
    ) -> pl.DataFrame:
        """A frame of this kind from row dicts; absent columns are null.

        ``keys`` are group columns that come first. Values are cast to the schema's
        dtypes; the columns are exactly ``keys`` then the required ones.

        Examples
        --------
        >>> s = Schema("demo", {"name": pl.String, "count": pl.UInt32, "mean": pl.Float64})
        >>> s.build([{"name": "a", "count": 3}])
        shape: (1, 3)
        ┌──────┬───────┬──────┐
        │ name ┆ count ┆ mean │
        │ ---  ┆ ---   ┆ ---  │
        │ str  ┆ u32   ┆ f64  │
        ╞══════╪═══════╪══════╡
        │ a    ┆ 3     ┆ null │
        └──────┴───────┴──────┘
        """
        schema = self.dtypes(keys)
        data = [{c: row.get(c) for c in schema} for row in rows]
        if not data:
            return pl.DataFrame(schema=schema)
        return pl.DataFrame(data, schema=schema, orient="row")

    def conform(
        self,
        df: pl.DataFrame,
        *,
        required: Sequence[str] = (),
        defaults: Mapping[str, Any] | None = None,
    ) -> pl.DataFrame:
        """``df`` with this schema's columns: ``required`` ones must be there, the others
        are added (``defaults[column]`` or null) and every one is cast.

        For functions that accept a user's partial frame: they name what they cannot
        do without, and get the full canonical frame.

        Raises
        ------
        SchemaError
            A ``required`` column is missing, or a column cannot be cast.

        Examples
        --------
        >>> s = Schema("demo", {"query": pl.String, "calls": pl.Int64, "ms": pl.Float64})
        >>> s.conform(pl.DataFrame({"query": ["x"]}), required=["query"],
        ...           defaults={"calls": 1}).row(0)
        ('x', 1, None)
        """
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise SchemaError(self.name, missing=missing)
        defaults = defaults or {}
        absent = [c for c in self.columns if c not in df.columns]
        if absent:
            df = df.with_columns(pl.lit(defaults.get(c), self.columns[c]).alias(c) for c in absent)
        present = [c for c in defaults if c in df.columns and c not in absent]
        if present:
            df = df.with_columns(pl.col(c).fill_null(defaults[c]) for c in present)
        return self.validate(df)

    def subset(self, *columns: str) -> Schema:
        """The same schema requiring only ``columns`` (others allowed and kept).

        Rules use it to check just the columns they read, with the dtypes the full
        schema gives them.

        Examples
        --------
        >>> s = Schema("summary", {"count": pl.UInt32, "p50": pl.Float64, "p99": pl.Float64})
        >>> s.subset("p50", "p99").validate(pl.DataFrame({"count": [1]}))
        Traceback (most recent call last):
        ...
        perflab.errors.SchemaError: summary: missing column(s) 'p50', 'p99'
        """
        unknown = [c for c in columns if c not in self.columns and c not in self.optional]
        if unknown:
            raise ParameterError(f"schema {self.name!r} has no column(s) {unknown}")
        every = {**self.optional, **self.columns}
        return replace(
            self,
            columns={c: every[c] for c in columns},
            optional={c: t for c, t in every.items() if c not in columns},
            extra=True,
            finite=tuple(c for c in self.finite if c in columns),
        )

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
            raise SchemaError(
                f"{source} ({exc.what})",
                missing=exc.missing,
                mistyped=exc.mistyped,
                detail=exc.detail,
            ) from None
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


def compact(df: pl.DataFrame) -> pl.DataFrame:
    """A copy of ``df`` whose strings own their bytes.

    A polars string column cut from a bigger frame (``filter``, ``head``, a group's
    ``first``) is a set of views into the bigger frame's buffers, and keeps them all
    alive: a reader that streams a log block by block and keeps a few rows of each
    block would hold every block. The copy goes through Arrow IPC in the oldest
    format, whose strings are contiguous.

    Examples
    --------
    >>> block = pl.DataFrame({"line": [f"{i} " + "x" * 100 for i in range(10_000)]})
    >>> kept = compact(block.head(2))
    >>> kept.equals(block.head(2))
    True
    """
    import io

    if not any(dt in (pl.String, pl.Binary) for dt in df.dtypes) and not any(
        isinstance(dt, pl.List | pl.Struct | pl.Array) for dt in df.dtypes
    ):
        return df
    buf = io.BytesIO()
    df.write_ipc(buf, compat_level=pl.CompatLevel.oldest())
    buf.seek(0)
    return pl.read_ipc(buf)


def write_atomic(
    path: str | os.PathLike[str], data: bytes | str | Callable[[IO[bytes]], object]
) -> Path:
    """Write ``data`` to ``path`` through a temporary file, an fsync and a rename.

    A reader of ``path`` sees either the old content or the new, never a half, and
    after a crash the file is either complete or absent. ``data`` is bytes, text
    (UTF-8), or a function that writes into the open binary file (for example
    ``frame.write_parquet``). On failure the temporary file is removed and the
    target is untouched. This is perflab's one way of writing a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(p, "hello").read_text()
    'hello'
    >>> q = write_atomic(p.with_suffix(".parquet"), pl.DataFrame({"x": [1]}).write_parquet)
    >>> pl.read_parquet(q).height
    1
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{id(data):x}.tmp")
    try:
        with open(tmp, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def group_keys(
    frame: pl.DataFrame,
    by: str | Sequence[str],
    *,
    what: str,
    reserved: Sequence[str] = (),
    allowed: str = "",
) -> list[str]:
    """The ``by=`` columns of an analysis as a list, checked against ``frame``.

    Parameters
    ----------
    frame : polars.DataFrame
        The frame to be grouped.
    by : str or sequence of str
        The grouping columns the user asked for.
    what : str
        The frame's schema name, for the error.
    reserved : sequence of str
        Columns that cannot be grouped by (values, timestamps): a ParameterError.
    allowed : str
        What ``by`` may name, said in the error for an unknown column.

    Raises
    ------
    ParameterError
        A column named twice, or a reserved column.
    SchemaError
        A column the frame does not have (``missing`` names it).

    Examples
    --------
    >>> group_keys(pl.DataFrame({"route": [], "value": []}), "route", what="metrics")
    ['route']
    """
    cols = [by] if isinstance(by, str) else list(by)
    if len(set(cols)) != len(cols):
        raise ParameterError(f"by lists a column twice: {cols}")
    bad = [c for c in cols if c in reserved]
    if bad:
        raise ParameterError(f"cannot group by {bad}: {allowed or 'by takes key columns'}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise SchemaError(what, missing=missing, detail=allowed)
    return cols

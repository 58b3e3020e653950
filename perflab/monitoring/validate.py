"""Input checks shared by the monitoring analyses.

Every analysis (:func:`~perflab.monitoring.summarize`, ``trend``, ``compare_windows``,
``slo_report``) takes its frame through :func:`metrics_frame`, its ``by=`` through
:func:`series_keys` and refuses mixed units with :func:`check_units`, so the same
mistake gives the same error everywhere. Checks cost milliseconds on ten million
rows: a null count is metadata, finiteness is one vectorised pass, and mixed units
are looked for only when not every row has the same unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from perflab.errors import SchemaError
from perflab.frames import FrameLike, as_frame, group_keys
from perflab.monitoring.schema import CORE_COLUMNS, METRICS

__all__ = ["check_units", "metrics_frame", "series_keys"]

_NOT_GROUPABLE = ("value", "unit", "timestamp")


def metrics_frame(df: FrameLike) -> pl.DataFrame:
    """``df`` as a validated ``METRICS`` frame without nulls in the core columns.

    Raises
    ------
    SchemaError
        Missing or mistyped core columns, NaN or infinite values, or nulls.

    Examples
    --------
    >>> metrics_frame([{"name": "a", "value": 1, "unit": "ms", "timestamp": "2026-01-01"}]).dtypes
    [String, Float64, String, Datetime(time_unit='us', time_zone='UTC')]
    """
    frame = as_frame(df, METRICS)
    nulls = [c for c in CORE_COLUMNS if frame.get_column(c).null_count()]
    if nulls:
        raise SchemaError(
            "metrics", detail="null values in column(s) " + ", ".join(map(repr, nulls))
        )
    return frame


def series_keys(frame: pl.DataFrame, by: str | Sequence[str]) -> list[str]:
    """The ``by`` columns as a list: ``name`` and tag columns only.

    Raises
    ------
    ParameterError
        ``by`` names a column twice, or ``value``/``unit``/``timestamp``.
    SchemaError
        ``by`` names a column the frame lacks (the message lists the tags it has).

    Examples
    --------
    >>> f = pl.DataFrame({"name": ["a"], "value": [1.0], "route": ["/"]})
    >>> series_keys(f, ("name", "route"))
    ['name', 'route']
    """
    tags = [c for c in frame.columns if c not in CORE_COLUMNS]
    return group_keys(
        frame,
        by,
        what="metrics",
        reserved=_NOT_GROUPABLE,
        allowed=f"by may use 'name' and the tag columns {tags}",
    )


def check_units(frame: pl.DataFrame, by: Sequence[str] = ("name",)) -> None:
    """SchemaError when a metric name — or, without ``name`` in ``by``, a group — mixes units.

    perflab never guesses a unit: samples of one metric in ``ms`` and ``s`` are an
    error to fix at the source, not something to average.

    Examples
    --------
    >>> f = pl.DataFrame({"name": ["a", "a"], "unit": ["ms", "s"]})
    >>> check_units(f)
    Traceback (most recent call last):
    ...
    perflab.errors.SchemaError: metrics: metric a has units ms and s; perflab never guesses ...
    """
    if frame.height == 0:
        return
    unit = frame.get_column("unit")
    if not (unit != unit[0]).any():
        return  # the common case: one unit throughout, found in one vectorised pass
    groups = [["name"]] if "name" in by else [["name"], list(by)]
    for group in groups:
        mixed = (
            frame.lazy()
            .group_by(group or [pl.lit(0).alias("_all")])
            .agg(pl.col("unit").unique().sort().alias("units"))
            .filter(pl.col("units").list.len() > 1)
            .sort(pl.all().exclude("units"))
            .collect()
        )
        if mixed.height == 0:
            continue
        row = mixed.row(0, named=True)
        if group == ["name"]:
            what = f"metric {row['name']}"
        elif group:
            what = "group " + ", ".join(f"{c}={row[c]}" for c in group)
        else:
            what = "the samples summarised together (by=())"
        more = f" (and {mixed.height - 1} more)" if mixed.height > 1 else ""
        raise SchemaError(
            "metrics",
            detail=f"{what} has units {' and '.join(row['units'])}{more}; "
            "perflab never guesses a unit: convert the values first",
        )

"""Canonical frames of the monitoring domain.

``METRICS`` — one row per sample:

==========  =====================  ===============================================
column      dtype                  meaning
==========  =====================  ===============================================
name        str                    metric name (``http_request_duration``)
value       f64                    the sample, in ``unit``
unit        str                    unit of ``value`` (``ms``, ``s``, ``bytes``, ``1``)
timestamp   datetime[μs, UTC]      when the sample was taken, in UTC
*tags*      str (any number)       one column per tag key (``route``, ``host`` …)
==========  =====================  ===============================================

Values must be finite. Tags are every column that is not one of the four above.
"""

from __future__ import annotations

import polars as pl

from perflab.frames import UTC_DATETIME, Schema

__all__ = ["CORE_COLUMNS", "METRICS", "tag_columns"]

METRICS = Schema(
    "metrics",
    {"name": pl.String, "value": pl.Float64, "unit": pl.String, "timestamp": UTC_DATETIME},
    finite=("value",),
)

CORE_COLUMNS: tuple[str, ...] = ("name", "value", "unit", "timestamp")


def tag_columns(df: pl.DataFrame) -> list[str]:
    """The tag columns of a metric frame: every column but the four core ones.

    Examples
    --------
    >>> tag_columns(pl.DataFrame({"name": [], "value": [], "route": []}))
    ['route']
    """
    return [c for c in df.columns if c not in CORE_COLUMNS]

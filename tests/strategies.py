"""Hypothesis strategies shared by the test suite.

``samples()``        lists of finite floats with ties, negatives and single elements
``metric_frames()``  canonical ``METRICS`` frames (name, value, unit, timestamp, tags)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import strategies as st

__all__ = ["T0", "finite_floats", "metric_frames", "samples"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
"""Start of the time range of generated frames."""


def finite_floats(bound: float = 1e6) -> st.SearchStrategy[float]:
    """Finite floats in [-bound, bound], often small integers so that ties are common."""
    return st.one_of(
        st.integers(-5, 5).map(float),
        st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    )


def samples(min_size: int = 1, max_size: int = 60, bound: float = 1e6) -> st.SearchStrategy:
    """Lists of finite floats (ties, negative values, a single element all occur)."""
    return st.lists(finite_floats(bound), min_size=min_size, max_size=max_size)


@st.composite
def metric_frames(
    draw: st.DrawFn,
    *,
    min_rows: int = 0,
    max_rows: int = 80,
    names: Sequence[str] = ("api", "db", "cache"),
    tags: Sequence[str] = ("route",),
    tag_values: Sequence[str | None] = ("/a", "/b", None),
    minutes: int = 5,
    units: Sequence[str] = ("ms", "s", "bytes"),
) -> pl.DataFrame:
    """A ``METRICS`` frame: one unit per metric name, timestamps over ``minutes``.

    Values are finite floats with frequent ties; tag columns hold ``tag_values``
    (``None`` gives null tags).
    """
    n = draw(st.integers(min_rows, max_rows))
    unit_of = {name: draw(st.sampled_from(list(units))) for name in names}
    row_names = draw(st.lists(st.sampled_from(list(names)), min_size=n, max_size=n))
    values = draw(st.lists(finite_floats(1e4), min_size=n, max_size=n))
    offsets = draw(st.lists(st.integers(0, minutes * 60_000_000 - 1), min_size=n, max_size=n))
    data: dict[str, pl.Series] = {
        "name": pl.Series(row_names, dtype=pl.String),
        "value": pl.Series(values, dtype=pl.Float64),
        "unit": pl.Series([unit_of[x] for x in row_names], dtype=pl.String),
        "timestamp": pl.Series(
            [T0 + timedelta(microseconds=o) for o in offsets], dtype=pl.Datetime("us", "UTC")
        ),
    }
    for tag in tags:
        data[tag] = pl.Series(
            draw(st.lists(st.sampled_from(list(tag_values)), min_size=n, max_size=n)),
            dtype=pl.String,
        )
    return pl.DataFrame(data)

"""Hypothesis strategies shared by the test suite.

``samples()``        lists of finite floats with ties, negatives and single elements
``metric_frames()``  canonical ``METRICS`` frames (name, value, unit, timestamp, tags)
``keyed_frames()``   frames to group: str and int keys with nulls, a carry column, a value
                     column and a time column of any name
``csv_tables()``     (header, rows) of text cells, any character but a line break
``iso_times()``      ISO-8601 strings in every form perflab reads (offsets, ``T`` or a
                     space, minutes only, fractions to the nanosecond, bare dates)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import strategies as st

__all__ = [
    "T0",
    "csv_cells",
    "csv_tables",
    "finite_floats",
    "iso_times",
    "keyed_frames",
    "metric_frames",
    "samples",
]

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


@st.composite
def keyed_frames(
    draw: st.DrawFn,
    *,
    min_rows: int = 0,
    max_rows: int = 60,
    value: str = "duration_ms",
    time: str = "at",
    routes: Sequence[str | None] = ("/a", "/b", "", None),
    statuses: Sequence[int | None] = (200, 0, 503, None),
    units: Sequence[str | None] = ("ms", "s", None),
    minutes: int = 3,
) -> pl.DataFrame:
    """A frame to group: keys ``route`` (str) and ``status`` (i64), ``unit``, a value, a time.

    Both keys hold nulls and a falsy value (``""``, ``0``) that must stay a group of its
    own; ``unit`` varies within groups (and holds nulls), so "first value of the group"
    is observable; ``value`` is a finite f64 column with frequent ties; ``time`` is a
    UTC datetime column spread over ``minutes``.
    """
    n = draw(st.integers(min_rows, max_rows))

    def column(options: Sequence[object]) -> list:
        return draw(st.lists(st.sampled_from(list(options)), min_size=n, max_size=n))

    offsets = draw(st.lists(st.integers(0, minutes * 60_000_000 - 1), min_size=n, max_size=n))
    return pl.DataFrame(
        {
            "route": pl.Series(column(routes), dtype=pl.String),
            "status": pl.Series(column(statuses), dtype=pl.Int64),
            "unit": pl.Series(column(units), dtype=pl.String),
            value: pl.Series(
                draw(st.lists(finite_floats(1e4), min_size=n, max_size=n)), dtype=pl.Float64
            ),
            time: pl.Series(
                [T0 + timedelta(microseconds=o) for o in offsets], dtype=pl.Datetime("us", "UTC")
            ),
        }
    )


def csv_cells() -> st.SearchStrategy[str]:
    """Non-empty text for one CSV cell: commas, quotes, blanks, any script; no line break."""
    return st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
        min_size=1,
        max_size=8,
    )


@st.composite
def csv_tables(
    draw: st.DrawFn, *, max_columns: int = 4, max_rows: int = 15
) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: unique column names and rows of the same width, as text.

    Header names hold no ``"``: polars keeps a header's doubled quotes as they are
    (pola-rs/polars#20294), which ``tests/test_sources.py`` shows on its own.
    """
    width = draw(st.integers(1, max_columns))
    names = csv_cells().filter(lambda s: '"' not in s)
    header = draw(st.lists(names, min_size=width, max_size=width, unique=True))
    row = st.lists(csv_cells(), min_size=width, max_size=width)
    return header, draw(st.lists(row, max_size=max_rows))


@st.composite
def iso_times(draw: st.DrawFn, *, zoned: bool | None = None) -> str:
    """An ISO-8601 date/time as logs and exports write it.

    ``T`` or a space between date and time; seconds optional; 0–9 fraction digits;
    an offset (``Z``, ``+HH:MM``, ``+HHMM``, ``+HH``) when ``zoned`` (None: either),
    or a bare date when naive. Years 1900–2200.
    """
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)))
    if zoned is None:
        zoned = draw(st.booleans())
    if not zoned and draw(st.integers(0, 9)) == 0:
        return moment.date().isoformat()
    text = moment.strftime("%Y-%m-%d") + draw(st.sampled_from("T "))
    if draw(st.booleans()):
        text += moment.strftime("%H:%M")
    else:
        text += moment.strftime("%H:%M:%S")
        digits = draw(st.integers(0, 9))
        if digits:
            nanos = f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"
            text += "." + nanos[:digits]
    if not zoned:
        return text
    minutes = draw(st.integers(-14 * 60, 14 * 60))
    sign, hh, mm = "-" if minutes < 0 else "+", abs(minutes) // 60, abs(minutes) % 60
    forms = [f"{sign}{hh:02d}:{mm:02d}", f"{sign}{hh:02d}{mm:02d}"]
    if not mm:
        forms.append(f"{sign}{hh:02d}")
    if not minutes:
        forms.append("Z")
    return text + draw(st.sampled_from(forms))

"""Tests for perflab.times: one instant, a window length, a timestamp column.

"Naive means UTC", the epoch-by-magnitude rule and the ISO-8601 forms are the same
for every reader and analysis, so they are checked here once, against Python's own
datetime where it reads the same strings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflab.errors import InputError, ParameterError, SchemaError
from perflab.times import (
    check_zone_mix,
    duration,
    epoch_column_us,
    epoch_ns,
    epoch_us,
    instant,
    parse_time_strings,
    parse_times,
)
from tests.strategies import iso_times

NOON = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PARIS = timezone(timedelta(hours=2))


def python_reads(text: str) -> datetime:
    """What Python's own parser makes of an ISO string, as perflab means it (naive is UTC)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------
# instant


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 3, 31, 12, 0),  # naive is UTC
        datetime(2024, 3, 31, 14, 0, tzinfo=PARIS),
        "2024-03-31T12:00:00Z",
        "2024-03-31T14:00:00+02:00",
        "2024-03-31 14:00:00+0200",
        "2024-03-31T07:30-04:30",
        "2024-03-31 12:00",
        "  2024-03-31T12:00:00  ",
        np.datetime64("2024-03-31T12:00:00"),
        1_711_886_400,
        1_711_886_400.0,
        np.int64(1_711_886_400),
    ],
    ids=repr,
)
def test_instant_gives_an_aware_utc_datetime(value: object) -> None:
    got = instant(value)  # type: ignore[arg-type]
    assert got == NOON
    assert got.utcoffset() == timedelta(0)


def test_a_date_is_midnight_utc() -> None:
    assert instant(date(2024, 3, 31)) == datetime(2024, 3, 31, tzinfo=UTC)
    assert instant("2024-03-31") == datetime(2024, 3, 31, tzinfo=UTC)


def test_instant_keeps_microseconds_and_truncates_below() -> None:
    expected = NOON + timedelta(microseconds=123456)
    assert instant("2024-03-31T12:00:00.123456789Z") == expected
    assert instant(np.datetime64("2024-03-31T12:00:00.123456789")) == expected
    assert instant(1_711_886_400.25) == NOON + timedelta(seconds=0.25)


def test_instant_of_nanosecond_numbers() -> None:
    ns = 1_711_886_400_123_456_789
    assert instant(ns, numbers="ns") == NOON + timedelta(microseconds=123456)
    with pytest.raises(ParameterError, match="must be an integer"):
        instant(1.7e18, numbers="ns")


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        float("nan"),
        float("inf"),
        np.float64("nan"),
        np.datetime64("NaT"),
        None,
        [2024, 3, 31],
        "",
        "garbage",
        "yesterday",
        "2024-13-01",
        "2024-02-30T00:00:00",
        "31/03/2024 12:00",
    ],
    ids=repr,
)
def test_instant_refuses_what_is_not_a_time(value: object) -> None:
    with pytest.raises(ParameterError, match=r"^at: "):
        instant(value, what="at")  # type: ignore[arg-type]


def test_an_epoch_in_milliseconds_passed_as_seconds_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError):
        instant(1_711_886_400_000)


# ---------------------------------------------------------------------------------------
# epoch_us, epoch_ns


def test_epoch_us_and_ns_agree_with_instant() -> None:
    assert epoch_us(NOON) == 1_711_886_400_000_000
    assert epoch_ns("2024-03-31T14:00:00.000001+02:00") == 1_711_886_400_000_001_000
    assert epoch_ns(date(1970, 1, 2)) == 86_400 * 10**9
    assert epoch_ns(datetime(1969, 12, 31, 23, 59, 59)) == -(10**9)


@given(ns=st.integers(-(2**63), 2**63 - 1))
def test_epoch_ns_keeps_every_nanosecond_of_an_integer(ns: int) -> None:
    assert epoch_ns(ns, numbers="ns") == ns
    assert epoch_ns(np.int64(ns), numbers="ns") == ns  # type: ignore[arg-type]
    assert epoch_us(ns, numbers="ns") == ns // 1000  # floor, before 1970 too
    assert us(instant(ns, numbers="ns")) == ns // 1000


@pytest.mark.parametrize(
    "value",
    [2**63, -(2**63) - 1, datetime(2262, 4, 12), datetime(1677, 9, 21)],
    ids=repr,
)
def test_epoch_ns_outside_int64_is_a_parameter_error(value: object) -> None:
    numbers = "ns" if isinstance(value, int) else "s"
    with pytest.raises(ParameterError, match="outside the years 1677-2262"):
        epoch_ns(value, numbers=numbers)  # type: ignore[arg-type]


def test_epoch_ns_at_the_edges_of_int64() -> None:
    last = datetime(2262, 4, 11, 23, 47, 16, 854775)  # int64 max is …16.854775807
    first = datetime(1677, 9, 21, 0, 12, 43, 145225)  # int64 min is …43.145224192
    assert epoch_ns(last) == 2**63 - 1 - 807
    assert epoch_ns(first) == -(2**63) + 808
    with pytest.raises(ParameterError):
        epoch_ns(last + timedelta(microseconds=1))
    with pytest.raises(ParameterError):
        epoch_ns(first - timedelta(microseconds=1))


# ---------------------------------------------------------------------------------------
# duration


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        ("30s", "30s"),
        ("5m", "5m"),
        ("1h30m", "1h30m"),
        (" 1d ", "1d"),
        ("250ms", "250ms"),
        ("1mo", "1mo"),
        (timedelta(seconds=90), "90000000us"),
        (timedelta(microseconds=1), "1us"),
        (timedelta(days=1), "86400000000us"),
    ],
    ids=repr,
)
def test_duration_gives_a_polars_duration(every: str | timedelta, expected: str) -> None:
    assert duration(every) == expected


def test_a_duration_string_means_what_polars_makes_of_it() -> None:
    times = pl.Series([datetime(2024, 1, 1, 0, 59), datetime(2024, 1, 1, 1, 31)])
    starts = times.dt.truncate(duration(timedelta(minutes=30))).to_list()
    assert starts == [datetime(2024, 1, 1, 0, 30), datetime(2024, 1, 1, 1, 30)]
    assert times.dt.truncate(duration("1h30m")).to_list() == [
        datetime(2024, 1, 1, 0, 0),
        datetime(2024, 1, 1, 1, 30),
    ]


@pytest.mark.parametrize("every", ["0s", "0m0s", timedelta(0), timedelta(seconds=-1)], ids=repr)
def test_a_zero_or_negative_duration_is_refused(every: str | timedelta) -> None:
    with pytest.raises(ParameterError, match="must be a positive duration"):
        duration(every, what="window")


@pytest.mark.parametrize(
    "every", ["soon", "", "1.5s", "-5s", "5", "1S", "5 min", 5, None], ids=repr
)
def test_garbage_is_not_a_duration(every: object) -> None:
    with pytest.raises(ParameterError, match=r"^window must be a duration such as '30s'"):
        duration(every, what="window")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# parse_time_strings: against Python's own parser


@settings(max_examples=200, deadline=None)
@given(text=iso_times())
def test_one_iso_string_reads_as_python_reads_it(text: str) -> None:
    ts, kind = parse_time_strings(pl.Series([text]))
    assert ts.dtype == pl.Datetime("us", "UTC")
    assert ts.item() == python_reads(text)
    zoned = datetime.fromisoformat(text).tzinfo is not None
    assert kind.item() == int(zoned)
    assert instant(text) == python_reads(text)


@settings(max_examples=100, deadline=None)
@given(
    zoned=st.sampled_from([True, False, None]),
    texts=st.data(),
    gaps=st.lists(st.sampled_from([None, "", "n/a", "12:00"]), max_size=3),
)
def test_a_column_of_iso_strings_reads_as_python_reads_each(
    zoned: bool | None, texts: st.DataObject, gaps: list[str | None]
) -> None:
    """All zoned, all naive or mixed (the fast path, then the format-by-format one),
    with unreadable cells among them: each string reads as Python reads it alone."""
    column = texts.draw(st.lists(iso_times(zoned=zoned), min_size=1, max_size=12)) + gaps
    column = texts.draw(st.permutations(column))
    ts, kind = parse_time_strings(pl.Series(column, dtype=pl.String))
    expected = [python_reads(t) if t and t[:4].isdigit() else None for t in column]
    assert ts.to_list() == expected
    kinds = [
        None if e is None else int(datetime.fromisoformat(t).tzinfo is not None)  # type: ignore[arg-type]
        for t, e in zip(column, expected, strict=True)
    ]
    assert kind.to_list() == kinds


def test_offsets_in_every_form_and_a_blank_before_them() -> None:
    col = [
        "2024-03-31T14:00:00+02:00",
        "2024-03-31T14:00:00+0200",
        "2024-03-31T14:00:00+02",
        "2024-03-31T12:00:00Z",
        "2024-03-31T12:00:00-00:00",
        "2024-03-31T14:00:00 +02:00",
        "2024-03-31T12:00:00z",
    ]
    ts, kind = parse_time_strings(pl.Series(col))
    assert ts.to_list() == [NOON] * len(col)
    assert kind.to_list() == [1] * len(col)


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        (str(10**11 - 1), (10**11 - 1) * 10**6),  # the largest seconds: year 5138
        (str(10**11), 10**14),  # the smallest milliseconds: 1973
        (str(10**14 - 1), (10**14 - 1) * 10**3),
        (str(10**14), 10**14),  # the smallest microseconds
        (str(10**17 - 1), 10**17 - 1),
        (str(10**17), 10**14),  # the smallest nanoseconds
        ("1711886400", 1_711_886_400 * 10**6),
        ("1711886400.25", 1_711_886_400_250_000),
        (" 1711886400000 ", 1_711_886_400 * 10**6),
        ("1.7118864e9", 1_711_886_400 * 10**6),
        ("-1", -(10**6)),
        ("0", 0),
    ],
)
def test_epoch_strings_are_read_by_magnitude(text: str, micros: int) -> None:
    ts, kind = parse_time_strings(pl.Series([text]))
    assert ts.dt.epoch("us").item() == micros
    assert kind.item() == 2


def test_epoch_numbers_are_read_by_magnitude_at_each_boundary() -> None:
    ints = pl.Series([10**11 - 1, 10**11, 10**14 - 1, 10**14, 10**17 - 1, 10**17, -1])
    assert epoch_column_us(ints).to_list() == [
        (10**11 - 1) * 10**6,
        10**14,
        (10**14 - 1) * 10**3,
        10**14,
        10**17 - 1,
        10**14,
        -(10**6),
    ]
    floats = pl.Series([99_999_999_999.5, 1e11, 1e14, 1e17, float("nan"), float("inf"), None])
    assert epoch_column_us(floats).to_list() == [
        99_999_999_999_500_000,
        10**14,
        10**14,
        10**14,
        None,
        None,
        None,
    ]


def test_unreadable_strings_are_null_with_a_null_kind() -> None:
    col = ["2024-03-31T12:00:00Z", "x", None, "", "nan", "inf", "2024-03-31T12", "12:00:00"]
    ts, kind = parse_time_strings(pl.Series(col))
    assert ts.to_list() == [NOON, *[None] * 7]
    assert kind.to_list() == [1, *[None] * 7]


def test_kinds_in_a_mixed_column() -> None:
    col = ["2024-03-31T12:00:00", "1711886400", "2024-03-31T14:00:00+02:00", "oops"]
    ts, kind = parse_time_strings(pl.Series(col))
    assert ts.to_list() == [NOON, NOON, NOON, None]
    assert kind.to_list() == [0, 2, 1, None]
    assert kind.dtype == pl.Int8


@pytest.mark.parametrize("col", [[], [None, None]], ids=["empty", "all-null"])
def test_an_empty_or_null_string_column(col: list[None]) -> None:
    ts, kind = parse_time_strings(pl.Series(col, dtype=pl.String))
    assert ts.dtype == pl.Datetime("us", "UTC") and ts.to_list() == col
    assert kind.to_list() == col


# ---------------------------------------------------------------------------------------
# parse_times: columns of other types


@pytest.mark.parametrize(
    "raw",
    [
        pl.Series("t", [datetime(2024, 3, 31, 12)]),
        pl.Series("t", [datetime(2024, 3, 31, 12)], dtype=pl.Datetime("ns")),
        pl.Series("t", [datetime(2024, 3, 31, 14)]).dt.replace_time_zone("Europe/Paris"),
        pl.Series("t", [datetime(2024, 3, 31, 8)], dtype=pl.Datetime("ms")).dt.replace_time_zone(
            "America/New_York"
        ),
        pl.Series("t", [1_711_886_400]),
        pl.Series("t", [1_711_886_400_000]),
        pl.Series("t", [1_711_886_400_000_000_000]),
        pl.Series("t", [1_711_886_400.0]),
        pl.Series("t", [1_711_886_400], dtype=pl.UInt64),
        pl.Series("t", ["2024-03-31T12:00:00Z"]),
    ],
    ids=lambda s: str(s.dtype),
)
def test_parse_times_of_every_column_type(raw: pl.Series) -> None:
    ts, kind = parse_times(raw)
    assert ts.dtype == pl.Datetime("us", "UTC")
    assert ts.to_list() == [NOON]
    assert (kind is None) is (raw.dtype != pl.String)


def test_a_date_column_is_midnight_utc() -> None:
    ts, kind = parse_times(pl.Series("d", [date(2024, 3, 31), None]))
    assert ts.to_list() == [datetime(2024, 3, 31, tzinfo=UTC), None] and kind is None


def test_a_null_column_is_all_null_times() -> None:
    ts, _ = parse_times(pl.Series("t", [None, None]))
    assert ts.dtype == pl.Datetime("us", "UTC") and ts.to_list() == [None, None]


@pytest.mark.parametrize(
    "raw",
    [pl.Series("when", [[1, 2]]), pl.Series("when", [True]), pl.Series("when", [{"a": 1}])],
    ids=lambda s: str(s.dtype),
)
def test_other_column_types_are_a_schema_error_naming_the_column(raw: pl.Series) -> None:
    with pytest.raises(SchemaError, match=r"^metrics: mistyped column\(s\) 'when'") as info:
        parse_times(raw, what="metrics")
    assert info.value.mistyped == [("when", "datetime or ISO string", str(raw.dtype))]


def test_an_int32_epoch_seconds_column() -> None:
    ts, _ = parse_times(pl.Series("t", [1_711_886_400], dtype=pl.Int32))
    assert ts.to_list() == [NOON]


def test_the_int64_minimum_is_not_read_as_1970() -> None:
    assert epoch_column_us(pl.Series([-(2**63)])).to_list() != [0]


# ---------------------------------------------------------------------------------------
# check_zone_mix


@pytest.mark.parametrize(
    ("col", "row"),
    [
        (["2024-03-31T12:00:00Z", "1711886400", "2024-03-31T12:00:00"], 2),
        (["2024-03-31T12:00:00", "2024-03-31T12:00:00", "2024-03-31T12:00:00+02:00"], 2),
        (["x", "2024-03-31T12:00:00+02:00", "2024-03-31T12:00"], 2),
    ],
)
def test_a_column_mixing_zoned_and_naive_names_the_later_first_line(
    col: list[str], row: int
) -> None:
    raw = pl.Series(col)
    with pytest.raises(InputError, match="mixes zoned and naive") as info:
        check_zone_mix(parse_times(raw)[1], raw, "m.csv", lambda i: i + 2)
    assert info.value.line == row + 2
    assert info.value.source == "m.csv"


def test_a_zone_mix_without_lines_names_the_row() -> None:
    raw = pl.Series(["2024-03-31T12:00:00", "2024-03-31T12:00:00Z"])
    with pytest.raises(InputError, match=r"^m\.parquet: row 2: timestamp column mixes"):
        check_zone_mix(parse_times(raw)[1], raw, "m.parquet", lambda i: None)


@pytest.mark.parametrize(
    "col",
    [
        ["2024-03-31T12:00:00Z", "2024-03-31T14:00:00+02:00", "1711886400", "x"],
        ["2024-03-31T12:00:00", "2024-03-31", "1711886400", None],
    ],
)
def test_one_kind_of_zone_with_epochs_and_garbage_is_no_mix(col: list[str | None]) -> None:
    raw = pl.Series(col, dtype=pl.String)
    check_zone_mix(parse_times(raw)[1], raw, "m.csv", lambda i: i + 2)
    check_zone_mix(None, raw, "m.csv", lambda i: i + 2)  # a non-string column

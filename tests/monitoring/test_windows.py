"""split_windows(): the baseline and current windows compared when the user has not said."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.monitoring import compare_windows
from perflab.monitoring.schema import METRICS
from perflab.monitoring.windows import split_windows


def at(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2026, 1, 1, h, m, s, tzinfo=UTC)


def samples(*times: datetime) -> pl.DataFrame:
    return METRICS.build(
        [
            {"name": "api", "value": 1.0 + i, "unit": "ms", "timestamp": t}
            for i, t in enumerate(times)
        ]
    )


def utc(*windows: tuple[datetime, datetime]) -> list[tuple[datetime, datetime]]:
    """The windows with every bound checked to be aware and in UTC."""
    for bound in (b for w in windows for b in w):
        assert bound.utcoffset() == timedelta(0), bound
    return list(windows)


def test_default_windows_end_at_the_minute_after_the_last_sample():
    got = split_windows(samples(at(0), at(9, 59, 30)), hours=4)
    assert utc(*got) == [(at(2), at(6)), (at(6), at(10))]


def test_a_last_sample_on_the_minute_is_inside_the_current_window():
    (_, _), (c0, c1) = split_windows(samples(at(0), at(10)), hours=4)
    assert (c0, c1) == (at(6, 1), at(10, 1))
    assert c0 <= at(10) < c1  # half-open [c0, c1): the last sample is compared


def test_default_is_eight_hours_each_side():
    (b0, b1), (c0, c1) = split_windows(samples(at(0), at(20, 0, 5)))
    assert (b0, b1, c0, c1) == (at(4, 1), at(12, 1), at(12, 1), at(20, 1))


def test_split_as_an_iso_string_with_an_offset_is_read_in_utc():
    got = split_windows(samples(at(0), at(12)), split="2026-01-01T08:00:00+02:00", hours=2)
    assert utc(*got) == [(at(4), at(6)), (at(6), at(8))]


def test_split_as_a_naive_iso_string_is_utc():
    got = split_windows(samples(at(0), at(12)), split="2026-01-01 06:00", hours=2)
    assert utc(*got) == [(at(4), at(6)), (at(6), at(8))]


def test_split_as_a_naive_datetime_is_utc():
    got = split_windows(samples(at(0), at(12)), split=datetime(2026, 1, 1, 6), hours=1.5)
    assert utc(*got) == [(at(4, 30), at(6)), (at(6), at(7, 30))]


def test_split_as_an_aware_datetime_is_converted_to_utc():
    split = datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=2)))
    got = split_windows(samples(at(0), at(12)), split=split)
    assert utc(*got) == [(datetime(2025, 12, 31, 22, tzinfo=UTC), at(6)), (at(6), at(14))]


def test_hours_set_the_length_of_both_windows():
    for hours in (0.25, 1, 3.5, 24):
        (b0, b1), (c0, c1) = split_windows(samples(at(0), at(12)), split=at(6), hours=hours)
        assert b1 == c0 == at(6)
        assert b1 - b0 == c1 - c0 == timedelta(hours=hours)


def test_the_windows_feed_compare_windows():
    times = [at(0) + timedelta(minutes=10 * i) for i in range(12 * 6)]
    df = samples(*times)
    baseline, current = split_windows(df, hours=2)
    got = compare_windows(df, baseline=baseline, current=current, n_boot=50)
    assert got.select("n_baseline", "n_current").row(0) == (12, 12)


@pytest.mark.parametrize("empty", [METRICS.empty(), [], METRICS.empty().head(0)])
def test_an_empty_frame_has_no_windows_to_choose(empty):
    with pytest.raises(ParameterError, match="empty frame"):
        split_windows(empty)


@pytest.mark.parametrize("hours", [0, 0.0, -1, -0.5])
def test_non_positive_hours_are_refused(hours):
    with pytest.raises(ParameterError, match="hours must be positive"):
        split_windows(samples(at(0), at(12)), hours=hours)


@pytest.mark.parametrize("hours", [math.nan, math.inf])
def test_non_finite_hours_are_refused(hours):
    with pytest.raises(ParameterError, match="hours"):
        split_windows(samples(at(0), at(12)), hours=hours)


def test_a_split_that_is_not_a_time_is_refused():
    with pytest.raises(ParameterError, match="split: 'soon' is not an ISO-8601"):
        split_windows(samples(at(0), at(12)), split="soon")


def test_the_frame_is_checked_like_every_analysis_input():
    with pytest.raises(SchemaError) as err:
        split_windows(samples(at(0), at(12)).drop("timestamp"))
    assert err.value.missing == ["timestamp"]

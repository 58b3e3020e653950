"""Every monitoring analysis returns exactly its schema: the ``by`` columns, then its own.

The schemas of :mod:`perflab.monitoring.schema` are what notebooks, rules and charts
rely on; here each analysis is run on a small generated ``METRICS`` frame (and on an
empty one) and its columns and dtypes are compared with ``SCHEMA.dtypes(keys)``.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from perflab.frames import UTC_DATETIME
from perflab.monitoring import (
    compare_windows,
    slo_report,
    slo_windows,
    summarize,
    trend,
)
from perflab.monitoring.schema import (
    COMPARISON,
    METRICS,
    SLO,
    SLO_WINDOWS,
    SUMMARY,
    TREND_CHANGES,
    TREND_SLOPES,
    TREND_WINDOWS,
    tag_columns,
)
from tests.strategies import T0, metric_frames

BYS = [("name",), ("name", "route"), ("route",), ("route", "name"), ()]
SPLIT = T0 + timedelta(hours=2)
OBJECTIVES = [
    {"name": "api", "threshold": 40.0, "target": 0.9},
    {"name": "db", "threshold": 20.0, "target": 0.99, "tags": {"route": "/a"}, "objective": "db"},
]


def generated(n: int = 720, seed: int = 3) -> pl.DataFrame:
    """Four hours of two metrics over two routes (some samples without a route)."""
    rng = np.random.default_rng(seed)
    df = pl.DataFrame(
        {
            "name": ["api", "db"] * (n // 2),
            "value": rng.lognormal(3, 0.5, n),
            "unit": ["ms"] * n,
            "timestamp": [T0 + timedelta(seconds=20 * i) for i in range(n)],
            "route": ["/a", "/b", None] * (n // 3),
        }
    )
    return METRICS.validate(df)


DF = generated()
EMPTY = METRICS.empty().with_columns(route=pl.lit(None, pl.String))


def keys_of(frame: pl.DataFrame, by: tuple[str, ...]) -> dict[str, pl.DataType]:
    return {k: frame.schema[k] for k in by}


def assert_schema(got: pl.DataFrame, expected: dict) -> None:
    assert list(got.schema.items()) == list(expected.items())


def test_the_generated_frame_is_a_metrics_frame():
    assert tag_columns(DF) == ["route"]
    assert DF.get_column("timestamp").dtype == UTC_DATETIME


# ---------------------------------------------------------------------------------------
# on data


@pytest.mark.parametrize("by", BYS)
def test_summarize_returns_the_summary_schema(by):
    got = summarize(DF, by=by)
    assert_schema(got, SUMMARY.dtypes(keys_of(DF, by)))
    assert got.height > 0


@pytest.mark.parametrize("by", BYS)
def test_windowed_summarize_puts_window_start_after_the_keys(by):
    got = summarize(DF, by=by, every="1h")
    expected = {**keys_of(DF, by), "window_start": SUMMARY.optional["window_start"]}
    assert_schema(got, {**expected, **SUMMARY.columns})
    assert got.get_column("window_start").n_unique() == 4


@pytest.mark.parametrize("by", BYS)
def test_trend_returns_its_three_schemas(by):
    got = trend(DF, by=by, every="10m")
    keys = keys_of(DF, by)
    assert_schema(got.windows, TREND_WINDOWS.dtypes(keys))
    assert_schema(got.slopes, TREND_SLOPES.dtypes(keys))
    assert_schema(got.change_points, TREND_CHANGES.dtypes(keys))
    assert got.windows.height > 0 and got.slopes.height > 0


def test_trend_change_points_have_their_schema_when_there_are_some():
    step = DF.with_columns(
        value=pl.when(pl.col("timestamp") >= SPLIT).then(pl.col("value") * 3).otherwise("value")
    )
    got = trend(step, by=("name",), every="10m").change_points
    assert got.height >= 1
    assert_schema(got, TREND_CHANGES.dtypes({"name": pl.String}))


@pytest.mark.parametrize("by", BYS)
def test_compare_windows_returns_the_comparison_schema(by):
    got = compare_windows(
        DF, baseline=(T0, SPLIT), current=(SPLIT, SPLIT + timedelta(hours=2)), by=by, n_boot=50
    )
    assert_schema(got, COMPARISON.dtypes(keys_of(DF, by)))
    assert got.height > 0


def test_compare_windows_keeps_the_input_dtypes_of_the_keys():
    df = DF.with_columns(pl.col("route").cast(pl.Categorical), shard=pl.int_range(pl.len()) % 3)
    by = ("route", "shard")
    got = compare_windows(df, baseline=df, current=df, by=by, n_boot=20)
    assert_schema(got, COMPARISON.dtypes({"route": pl.Categorical, "shard": pl.Int64}))
    assert_schema(summarize(df, by=by), SUMMARY.dtypes(keys_of(df, by)))


def test_slo_report_and_windows_return_their_schemas():
    report = slo_report(DF, OBJECTIVES)
    assert_schema(report, SLO.dtypes())
    assert report.get_column("objective").to_list() == ["api <= 40 for 90%", "db"]
    windows = slo_windows(DF, OBJECTIVES)
    assert_schema(windows, SLO_WINDOWS.dtypes())
    assert windows.height == 2 * 4


# ---------------------------------------------------------------------------------------
# on nothing


@pytest.mark.parametrize("by", BYS)
def test_empty_summaries_have_the_empty_schema(by):
    keys = keys_of(EMPTY, by)
    assert_frame_equal(summarize(EMPTY, by=by), SUMMARY.empty(keys))
    windowed = pl.DataFrame(schema={**keys, "window_start": UTC_DATETIME, **SUMMARY.columns})
    assert_frame_equal(summarize(EMPTY, by=by, every="1h"), windowed)


@pytest.mark.parametrize("by", BYS)
def test_empty_trends_have_the_empty_schemas(by):
    keys = keys_of(EMPTY, by)
    got = trend(EMPTY, by=by)
    assert_frame_equal(got.windows, TREND_WINDOWS.empty(keys))
    assert_frame_equal(got.slopes, TREND_SLOPES.empty(keys))
    assert_frame_equal(got.change_points, TREND_CHANGES.empty(keys))


@pytest.mark.parametrize("by", BYS)
def test_empty_comparisons_have_the_empty_schema(by):
    got = compare_windows(None, baseline=EMPTY, current=EMPTY, by=by)
    assert_frame_equal(got, COMPARISON.empty(keys_of(EMPTY, by)))
    before = (T0 - timedelta(days=2), T0 - timedelta(days=1))
    cut = compare_windows(DF, baseline=before, current=before, by=by)
    assert_frame_equal(cut, COMPARISON.empty(keys_of(DF, by)))  # windows that hold nothing


def test_empty_slo_windows_have_the_empty_schema():
    assert_frame_equal(slo_windows(EMPTY, OBJECTIVES), SLO_WINDOWS.empty())


def test_an_empty_slo_report_has_one_no_data_row_per_objective():
    got = slo_report(EMPTY, OBJECTIVES)
    assert_schema(got, SLO.dtypes())
    assert got.get_column("status").to_list() == ["no data", "no data"]
    assert got.get_column("samples").to_list() == [0, 0]


# ---------------------------------------------------------------------------------------
# on any frame


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    df=metric_frames(min_rows=1, max_rows=40, units=("ms",)),
    by=st.sampled_from(BYS),
)
def test_any_metrics_frame_gives_the_schemas(df, by):
    keys = keys_of(df, by)
    assert_schema(summarize(df, by=by), SUMMARY.dtypes(keys))
    t = trend(df, by=by, every="1m")
    assert_schema(t.windows, TREND_WINDOWS.dtypes(keys))
    assert_schema(t.slopes, TREND_SLOPES.dtypes(keys))
    assert_schema(t.change_points, TREND_CHANGES.dtypes(keys))
    half = T0 + timedelta(minutes=2, seconds=30)
    got = compare_windows(
        df, baseline=(T0, half), current=(half, T0 + timedelta(minutes=5)), by=by, n_boot=20
    )
    assert_schema(got, COMPARISON.dtypes(keys))


def test_schemas_start_with_the_keys_given():
    keys = {"route": pl.String, "shard": pl.Int64}
    for schema in (SUMMARY, TREND_WINDOWS, TREND_SLOPES, TREND_CHANGES, COMPARISON):
        assert list(schema.dtypes(keys))[:2] == ["route", "shard"]
        assert schema.empty(keys).columns == [*keys, *schema.names]

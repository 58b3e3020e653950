"""The input checks every monitoring analysis shares: the same mistake, the same error."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.monitoring.schema import METRICS
from perflab.monitoring.validate import check_units, metrics_frame, series_keys

T = datetime(2026, 1, 1, tzinfo=UTC)


def metrics(*rows: tuple[str, float | None, str | None], **tags: list) -> pl.DataFrame:
    frame = METRICS.build([{"name": n, "value": v, "unit": u, "timestamp": T} for n, v, u in rows])
    return frame.with_columns(pl.Series(k, v, dtype=pl.String) for k, v in tags.items())


# ---------------------------------------------------------------------------------------
# metrics_frame


def test_metrics_frame_casts_to_the_schema_and_keeps_tags():
    got = metrics_frame(
        [{"name": "a", "value": 1, "unit": "ms", "timestamp": "2026-01-01T01:00:00+01:00",
          "route": "/x"}]
    )  # fmt: skip
    assert dict(got.schema) == {**METRICS.columns, "route": pl.String}
    assert got.item(0, "timestamp") == T


def test_metrics_frame_names_the_columns_holding_nulls():
    df = metrics(("a", None, "ms"), ("a", 1.0, None))
    with pytest.raises(SchemaError, match="null values in column\\(s\\) 'value', 'unit'"):
        metrics_frame(df)


def test_metrics_frame_allows_null_tags():
    df = metrics(("a", 1.0, "ms"), route=[None])
    assert metrics_frame(df).get_column("route").null_count() == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_metrics_frame_refuses_nan_and_infinite_values(bad):
    df = metrics(("a", 1.0, "ms"), ("a", bad, "ms"))
    with pytest.raises(SchemaError, match="'value' holds 1 NaN or infinite value"):
        metrics_frame(df)


def test_metrics_frame_names_a_missing_column():
    with pytest.raises(SchemaError) as err:
        metrics_frame(metrics(("a", 1.0, "ms")).drop("unit", "timestamp"))
    assert err.value.missing == ["unit", "timestamp"]


def test_metrics_frame_names_a_mistyped_column():
    df = metrics(("a", 1.0, "ms")).with_columns(value=pl.lit("fast"))
    with pytest.raises(SchemaError) as err:
        metrics_frame(df)
    assert [c for c, _, _ in err.value.mistyped] == ["value"]


def test_metrics_frame_of_nothing_is_the_empty_schema():
    assert dict(metrics_frame([]).schema) == METRICS.columns


# ---------------------------------------------------------------------------------------
# series_keys

TAGGED = metrics(("a", 1.0, "ms"), route=["/x"], host=["h1"])


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("name", ["name"]),
        ("route", ["route"]),
        (("name", "route", "host"), ["name", "route", "host"]),
        (["host", "name"], ["host", "name"]),
        ((), []),
    ],
)
def test_series_keys_accept_the_name_and_tags_as_a_list(by, expected):
    assert series_keys(TAGGED, by) == expected


@pytest.mark.parametrize("by", ["value", ("name", "unit"), ["timestamp"]])
def test_series_keys_refuse_values_units_and_timestamps(by):
    with pytest.raises(ParameterError, match="cannot group by") as err:
        series_keys(TAGGED, by)
    assert "tag columns ['route', 'host']" in str(err.value)


def test_series_keys_name_an_unknown_column_and_list_the_tags():
    with pytest.raises(SchemaError) as err:
        series_keys(TAGGED, ("name", "rout"))
    assert err.value.missing == ["rout"]
    assert "by may use 'name' and the tag columns ['route', 'host']" in str(err.value)


def test_series_keys_on_a_frame_without_tags_say_so():
    with pytest.raises(SchemaError, match=r"the tag columns \[\]"):
        series_keys(metrics(("a", 1.0, "ms")), "route")


def test_series_keys_refuse_a_column_named_twice():
    with pytest.raises(ParameterError, match="twice"):
        series_keys(TAGGED, ("route", "name", "route"))


# ---------------------------------------------------------------------------------------
# check_units


def test_check_units_passes_one_unit_per_metric():
    check_units(metrics(("a", 1.0, "ms"), ("b", 1.0, "bytes"), ("a", 2.0, "ms")))
    check_units(METRICS.empty())


def test_check_units_names_the_metric_and_its_units():
    df = metrics(("a", 1.0, "s"), ("a", 2.0, "ms"), ("b", 1.0, "ms"))
    with pytest.raises(SchemaError) as err:
        check_units(df)
    assert "metric a has units ms and s; perflab never guesses a unit" in str(err.value)


def test_check_units_counts_the_other_mixed_metrics():
    df = metrics(
        ("c", 1.0, "s"), ("c", 1.0, "ms"), ("a", 1.0, "s"), ("a", 1.0, "ms"),
        ("b", 1.0, "bytes"), ("b", 1.0, "ms"), ("d", 1.0, "ms"),
    )  # fmt: skip
    with pytest.raises(SchemaError, match=r"metric a has units ms and s \(and 2 more\);"):
        check_units(df)


def test_check_units_checks_names_even_when_grouping_by_tags_only():
    df = metrics(("a", 1.0, "s"), ("a", 2.0, "ms"), route=["/x", "/y"])
    with pytest.raises(SchemaError, match="metric a has units ms and s"):
        check_units(df, ("route",))


def test_check_units_names_a_tag_group_that_mixes_metrics_of_different_units():
    df = metrics(("a", 1.0, "ms"), ("b", 1.0, "s"), route=["/x", "/x"])
    with pytest.raises(SchemaError, match="group route=/x has units ms and s;"):
        check_units(df, ("route",))
    check_units(df, ("name", "route"))  # each metric on its own: fine


def test_check_units_counts_the_other_mixed_tag_groups():
    df = metrics(
        ("a", 1.0, "ms"), ("b", 1.0, "s"), ("c", 1.0, "ms"), ("d", 1.0, "s"),
        route=["/y", "/y", "/x", "/x"],
    )  # fmt: skip
    with pytest.raises(SchemaError, match=r"group route=/x has units ms and s \(and 1 more\);"):
        check_units(df, ["route"])


def test_check_units_passes_tag_groups_that_each_keep_one_unit():
    df = metrics(("a", 1.0, "ms"), ("b", 1.0, "s"), route=["/x", "/y"])
    check_units(df, ("route",))


def test_check_units_without_groups_refuses_any_mix():
    df = metrics(("a", 1.0, "ms"), ("b", 1.0, "s"))
    with pytest.raises(SchemaError, match=r"the samples summarised together \(by=\(\)\)"):
        check_units(df, ())

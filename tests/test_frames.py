"""as_frame and Schema: every input kind a user brings, and every way it can be wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError, SchemaError
from perflab.frames import UTC_DATETIME, Schema, as_frame, write_atomic

S = Schema(
    "demo",
    {"name": pl.String, "value": pl.Float64, "timestamp": UTC_DATETIME},
    finite=("value",),
)
ROWS = [
    {"name": "a", "value": 1.0, "timestamp": datetime(2026, 1, 1, tzinfo=UTC)},
    {"name": "b", "value": 2.5, "timestamp": datetime(2026, 1, 2, tzinfo=UTC)},
]


def expected() -> pl.DataFrame:
    return pl.DataFrame(ROWS).with_columns(pl.col("timestamp").cast(UTC_DATETIME))


@pytest.mark.parametrize(
    "make",
    [
        lambda: pl.DataFrame(ROWS),
        lambda: pl.DataFrame(ROWS).lazy(),
        lambda: pd.DataFrame(ROWS),
        lambda: pa.Table.from_pylist(ROWS),
        lambda: ROWS,
        lambda: {k: [r[k] for r in ROWS] for k in ROWS[0]},
    ],
    ids=["polars", "lazy", "pandas", "arrow", "dicts", "columns"],
)
def test_every_input_kind_gives_the_same_frame(make):
    assert_frame_equal(as_frame(make(), S), expected())


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_paths_by_suffix(tmp_path, suffix):
    p = tmp_path / f"m{suffix}"
    df = expected()
    {".csv": df.write_csv, ".parquet": df.write_parquet, ".jsonl": df.write_ndjson}[suffix](p)
    assert_frame_equal(as_frame(p, S), df)


def test_naive_timestamps_are_taken_as_utc_and_strings_cast():
    df = as_frame({"name": ["a"], "value": ["1.5"], "timestamp": [datetime(2026, 1, 1)]}, S)
    assert df.schema["timestamp"] == UTC_DATETIME
    assert df.item(0, "value") == 1.5
    assert df.item(0, "timestamp") == datetime(2026, 1, 1, tzinfo=UTC)


def test_zoned_timestamps_are_converted_to_utc():
    t = pl.Series([datetime(2026, 1, 1, 12)]).dt.replace_time_zone("Europe/Paris")
    df = as_frame(pl.DataFrame({"name": ["a"], "value": [1.0], "timestamp": t}), S)
    assert df.item(0, "timestamp") == datetime(2026, 1, 1, 11, tzinfo=UTC)


def test_missing_columns_are_named():
    with pytest.raises(SchemaError, match=r"missing column.*'value'.*'timestamp'"):
        as_frame({"name": ["a"]}, S)


def test_mistyped_column_is_named_with_expected_type():
    with pytest.raises(SchemaError, match=r"'value' \(expected Float64, found String\)"):
        as_frame({"name": ["a"], "value": ["fast"], "timestamp": [datetime(2026, 1, 1)]}, S)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_refused(bad):
    with pytest.raises(SchemaError, match="NaN or infinite"):
        as_frame({"name": ["a"], "value": [bad], "timestamp": [datetime(2026, 1, 1)]}, S)


def test_error_names_the_file(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("name,value\na,1\n")
    with pytest.raises(SchemaError, match=r"bad\.csv"):
        as_frame(p, S)


def test_empty_inputs_give_the_empty_schema(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("")
    for data in ([], {}, p):
        out = as_frame(data, S)
        assert out.height == 0 and list(out.schema.items()) == list(S.columns.items())


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        as_frame(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        as_frame(tmp_path / "x.xlsx")


def test_extra_columns_kept_unless_schema_is_closed():
    df = as_frame({**{k: [r[k] for r in ROWS] for k in ROWS[0]}, "route": ["/", "/x"]}, S)
    assert "route" in df.columns
    closed = Schema("closed", {"name": pl.String}, extra=False)
    assert as_frame({"name": ["a"], "route": ["/"]}, closed).columns == ["name"]


def test_write_atomic_replaces_whole_and_leaves_no_temp(tmp_path):
    p = tmp_path / "out" / "r.txt"
    write_atomic(p, "old")
    write_atomic(p, b"new")
    assert p.read_text() == "new"
    assert [f.name for f in p.parent.iterdir()] == ["r.txt"]


def test_csv_text_columns_stay_text_when_a_schema_is_given(tmp_path):
    p = tmp_path / "tags.csv"
    p.write_text(
        "name,value,timestamp,host,status\n"
        "a,1.5,2026-01-01T00:00:00Z,01,200\n"
        "b,2,2026-01-01T00:00:01+01:00,02,404\n"
    )
    df = as_frame(p, S)
    assert df["host"].to_list() == ["01", "02"] and df["status"].to_list() == ["200", "404"]
    assert df["value"].to_list() == [1.5, 2.0]
    assert df["timestamp"][1] == datetime(2025, 12, 31, 23, 0, 1, tzinfo=UTC)

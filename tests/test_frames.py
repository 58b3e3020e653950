"""as_frame and Schema: every input kind a user brings, and every way it can be wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError, ParameterError, SchemaError
from perflab.frames import UTC_DATETIME, Schema, as_frame, compact, group_keys, write_atomic

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


# ------------------------------------------------------------------ building frames

SUMMARY = Schema(
    "summary",
    {"name": pl.String, "count": pl.UInt32, "mean": pl.Float64, "at": UTC_DATETIME},
    optional={"unit": pl.String},
)


def test_build_casts_to_the_schema_and_leaves_absent_columns_null():
    got = SUMMARY.build(
        [{"name": "a", "count": 3, "mean": 2, "at": datetime(2026, 1, 1)}, {"count": 7}]
    )
    assert got.schema == pl.Schema(SUMMARY.columns)
    assert got.rows() == [
        ("a", 3, 2.0, datetime(2026, 1, 1, tzinfo=UTC)),  # naive is UTC
        (None, 7, None, None),
    ]


def test_build_puts_keys_first_and_keeps_exactly_the_schema_columns():
    rows = ({"route": "/a", "name": "a", "unit": "ms", "stray": 1} for _ in range(2))  # a generator
    got = SUMMARY.build(rows, {"route": pl.String})
    assert got.columns == ["route", "name", "count", "mean", "at"]  # no optional, no stray
    assert got.get_column("route").to_list() == ["/a", "/a"]


@pytest.mark.parametrize("keys", [None, {"route": pl.String, "status": pl.Int64}])
def test_build_of_no_rows_is_the_empty_frame_of_the_schema(keys):
    got = SUMMARY.build([], keys)
    assert got.height == 0
    assert got.schema == pl.Schema({**(keys or {}), **SUMMARY.columns})
    assert_frame_equal(got, SUMMARY.empty(keys))


def test_empty_and_dtypes_put_keys_first():
    assert SUMMARY.names == ["name", "count", "mean", "at"]
    assert list(SUMMARY.dtypes({"route": pl.String}).items()) == [
        ("route", pl.String),
        *SUMMARY.columns.items(),
    ]
    assert SUMMARY.dtypes() == dict(SUMMARY.columns)
    empty = SUMMARY.empty({"route": pl.String})
    assert empty.height == 0 and empty.schema == pl.Schema(SUMMARY.dtypes({"route": pl.String}))


# ----------------------------------------------------------------------------- subset

WIDE = Schema(
    "wide",
    {"name": pl.String, "count": pl.UInt32, "p50": pl.Float64, "p99": pl.Float64},
    optional={"unit": pl.String},
    extra=False,
    finite=("p50", "p99"),
)


def test_subset_requires_only_its_columns_and_names_the_missing_ones():
    with pytest.raises(SchemaError) as err:
        WIDE.subset("p50", "p99", "unit").validate(pl.DataFrame({"count": [1], "p99": [2.0]}))
    assert err.value.missing == ["p50", "unit"]
    assert "wide" in str(err.value)


def test_subset_casts_the_other_columns_that_are_present_and_keeps_the_rest():
    df = pl.DataFrame({"p99": [250], "count": [3], "unit": ["ms"], "route": ["/a"]})
    got = WIDE.subset("p99").validate(df)
    assert got.schema == pl.Schema(
        {"p99": pl.Float64, "count": pl.UInt32, "unit": pl.String, "route": pl.String}
    )
    with pytest.raises(SchemaError) as err:  # a present column still has to cast
        WIDE.subset("p99").validate(df.with_columns(count=pl.lit("many")))
    assert err.value.mistyped == [("count", "UInt32", "String")]


def test_subset_checks_finite_only_on_its_columns():
    nan_p50 = pl.DataFrame({"p50": [float("nan")], "p99": [1.0]})
    assert WIDE.subset("p99").validate(nan_p50).height == 1
    with pytest.raises(SchemaError, match="'p50' holds 1 NaN"):
        WIDE.subset("p50").validate(nan_p50)


def test_subset_of_an_unknown_column_is_a_parameter_error():
    with pytest.raises(ParameterError, match="p95"):
        WIDE.subset("p50", "p95")


def test_error_from_a_file_keeps_its_details_and_names_the_file(tmp_path):
    p = tmp_path / "summary.csv"
    p.write_text("name,count\na,1\n")
    with pytest.raises(SchemaError) as err:
        as_frame(p, WIDE)
    assert err.value.missing == ["p50", "p99"]
    assert "summary.csv" in err.value.what and "summary.csv" in str(err.value)

    q = tmp_path / "typed.parquet"
    pl.DataFrame({"name": ["a"], "count": ["x"], "p50": [1.0], "p99": [1.0]}).write_parquet(q)
    with pytest.raises(SchemaError, match=r"typed\.parquet") as err:
        as_frame(q, WIDE)
    assert err.value.mistyped == [("count", "UInt32", "String")]

    q = tmp_path / "nan.parquet"
    pl.DataFrame({"name": ["a"], "count": [1], "p50": [float("nan")], "p99": [1.0]}).write_parquet(
        q
    )
    with pytest.raises(SchemaError, match=r"nan\.parquet") as err:
        as_frame(q, WIDE)
    assert err.value.detail == "column 'p50' holds 1 NaN or infinite value(s)"


# ------------------------------------------------------------------------ write_atomic


def test_write_atomic_takes_a_writer_function(tmp_path):
    df = expected()
    out = write_atomic(tmp_path / "m.parquet", df.write_parquet)
    assert out == tmp_path / "m.parquet"
    assert_frame_equal(pl.read_parquet(out), df)


def test_write_atomic_writes_text_as_utf8_and_bytes_as_they_are(tmp_path):
    assert write_atomic(tmp_path / "t.txt", "p95 ≤ 200 ms").read_bytes() == "p95 ≤ 200 ms".encode()
    assert write_atomic(tmp_path / "b.bin", b"\x00\xff").read_bytes() == b"\x00\xff"


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_writer_failing_midway_leaves_the_old_file_and_no_temp(tmp_path, error):
    target = tmp_path / "report.html"
    target.write_text("old report")

    def half_then_fail(fh):
        fh.write(b"<html>half a rep")
        raise error

    with pytest.raises(type(error)):
        write_atomic(target, half_then_fail)
    assert target.read_text() == "old report"
    assert [f.name for f in tmp_path.iterdir()] == ["report.html"]

    with pytest.raises(type(error)):
        write_atomic(tmp_path / "new.html", half_then_fail)
    assert [f.name for f in tmp_path.iterdir()] == ["report.html"]  # no half new file


# -------------------------------------------------------------------------- group_keys

FRAME = pl.DataFrame({"route": ["/a"], "host": ["h"], "value": [1.0], "timestamp": [1]})


def test_group_keys_gives_a_list_in_the_order_asked():
    assert group_keys(FRAME, "route", what="metrics") == ["route"]
    assert group_keys(FRAME, ("host", "route"), what="metrics") == ["host", "route"]
    assert group_keys(FRAME, [], what="metrics") == []


def test_group_keys_refuses_a_column_named_twice():
    with pytest.raises(ParameterError, match="twice"):
        group_keys(FRAME, ["route", "host", "route"], what="metrics")


def test_group_keys_refuses_reserved_columns_saying_what_is_allowed():
    with pytest.raises(ParameterError, match=r"\['value'\].*by takes tag columns"):
        group_keys(
            FRAME,
            ["route", "value"],
            what="metrics",
            reserved=("value", "timestamp"),
            allowed="by takes tag columns",
        )


def test_group_keys_names_the_missing_columns():
    with pytest.raises(SchemaError) as err:
        group_keys(FRAME, ["route", "region", "zone"], what="metrics", allowed="tag columns")
    assert err.value.missing == ["region", "zone"]
    assert err.value.what == "metrics"
    assert "'region', 'zone'" in str(err.value) and "tag columns" in str(err.value)


# ---------------------------------------------------------------------------------------
# compact: rows kept from a big frame do not keep the big frame alive


def _bytes_held(s: pl.Series) -> int:
    """Bytes of the Arrow buffers behind a string column (views keep their parent's)."""
    arr = s.to_arrow(compat_level=pl.CompatLevel.newest())
    return sum(buf.size for buf in arr.buffers() if buf is not None)


def test_compact_lets_go_of_the_block_its_rows_were_cut_from() -> None:
    block = pl.DataFrame({"line": [f"{i} " + "x" * 100 for i in range(100_000)], "n": 1})
    kept = block.filter(pl.int_range(pl.len()) % 1000 == 0)
    assert _bytes_held(kept["line"]) > 10_000_000  # the views pin all 10 MB
    small = compact(kept)
    assert small.equals(kept)
    assert _bytes_held(small["line"]) < 50_000


def test_compact_keeps_every_dtype_and_null() -> None:
    df = pl.DataFrame(
        {
            "s": ["a" * 20, None, ""],
            "b": [b"\x00\x01", None, b""],
            "l": [["x" * 30], None, []],
            "t": [{"k": "v" * 15}, None, {"k": None}],
            "f": [1.5, None, float("nan")],
        }
    )
    out = compact(df)
    assert out.schema == df.schema
    assert out.equals(df)
    no_strings = pl.DataFrame({"n": [1, 2]})
    assert compact(no_strings) is no_strings

"""Tests for perflab.monitoring._tabular: metrics from CSV, TSV, JSON lines and Parquet.

Reached through :func:`perflab.monitoring.read_metrics`, as a user reads a table.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from perflab.errors import InputError, SchemaError
from perflab.monitoring.read import read_metrics, read_prometheus
from perflab.monitoring.schema import CORE_COLUMNS
from tests.monitoring.helpers import (
    CSV_TEXT,
    DATA,
    SAMPLES,
    assert_metrics_schema,
    one_warning,
    read_quietly,
    utc,
)

# ---------------------------------------------------------------------------------------
# CSV: timestamps, values, units, line numbers


def test_csv_mixed_offsets_are_converted_to_utc() -> None:
    df = read_metrics(DATA / "mixed_offsets.csv")
    assert_metrics_schema(df)
    assert df.get_column("timestamp").to_list() == [
        utc(2024, 3, 31, 0, 30),
        utc(2024, 3, 31, 0, 30),
        utc(2024, 3, 31, 0, 30, 0, 250000),
        utc(2024, 3, 31, 0, 30),
        utc(2024, 3, 31, 0, 30, 0, 1),
    ]
    assert df.get_column("host").to_list() == [f"web-{i}" for i in range(1, 6)]
    assert df.get_column("value").to_list() == [12.5, 13.0, 14.25, 15.0, 16.0]


@pytest.mark.parametrize("errors", ["raise", "skip"])
def test_zoned_and_naive_times_in_one_column_is_an_error(errors: str) -> None:
    with pytest.raises(InputError, match="zoned and naive") as info:
        read_metrics(DATA / "zoned_and_naive.csv", errors=errors)  # type: ignore[arg-type]
    assert info.value.line == 4
    assert "zoned_and_naive.csv:4" in str(info.value)


def test_naive_first_then_zoned_is_an_error_too(tmp_path: Path) -> None:
    p = tmp_path / "nz.csv"
    p.write_text(
        "name,value,unit,timestamp\nx,1,1,2024-01-01T00:00:00\nx,2,1,2024-01-01T00:00:00Z\n"
    )
    with pytest.raises(InputError, match="mixes zoned and naive") as info:
        read_metrics(p, errors="skip")
    assert info.value.line == 3


def test_naive_times_are_taken_as_utc(tmp_path: Path) -> None:
    p = tmp_path / "naive.csv"
    p.write_text(
        "name,value,unit,timestamp\n"
        "cpu,1,1,2024-03-31T00:30:00\n"
        "cpu,2,1,2024-03-31 00:30:01.5\n"
        "cpu,3,1,2024-03-31T00:31\n"
        "cpu,4,1,2024-04-01\n"
    )
    assert read_metrics(p).get_column("timestamp").to_list() == [
        utc(2024, 3, 31, 0, 30),
        utc(2024, 3, 31, 0, 30, 1, 500000),
        utc(2024, 3, 31, 0, 31),
        utc(2024, 4, 1),
    ]


def test_epoch_numbers_are_read_by_magnitude(tmp_path: Path) -> None:
    s = 1711845000  # 2024-03-31T00:30:00Z
    p = tmp_path / "epochs.csv"
    p.write_text(
        "name,value,unit,timestamp,as\n"
        f"x,1,1,{s},s\n"
        f"x,1,1,{s}.25,s-float\n"
        f"x,1,1,{s * 1000},ms\n"
        f"x,1,1,{s * 10**6 + 7},us\n"
        f"x,1,1,{s * 10**9 + 7999},ns\n"
    )
    got = read_metrics(p).get_column("timestamp").to_list()
    base = utc(2024, 3, 31, 0, 30)
    assert (
        got == [base, base + timedelta(seconds=0.25), base] + [base + timedelta(microseconds=7)] * 2
    )


def test_bad_value_raises_with_file_and_line() -> None:
    with pytest.raises(InputError) as info:
        read_metrics(DATA / "bad_values.csv")
    assert info.value.line == 4
    assert "bad_values.csv:4" in str(info.value)
    assert "'n/a' is not a number" in str(info.value)


@pytest.mark.parametrize(
    ("cell", "why"),
    [("NaN", "not finite"), ("inf", "not finite"), ("-Infinity", "not finite"), ("", "missing")],
)
def test_non_finite_or_missing_value_is_rejected(tmp_path: Path, cell: str, why: str) -> None:
    p = tmp_path / "v.csv"
    p.write_text(
        "name,value,unit,timestamp\nx,1,ms,2024-01-01T00:00:00Z\nx,"
        + cell
        + ",ms,2024-01-01T00:00:01Z\n"
    )
    with pytest.raises(InputError, match=why) as info:
        read_metrics(p)
    assert info.value.line == 3


def test_skip_drops_bad_rows_and_warns_once_with_the_count() -> None:
    df, message = one_warning(read_metrics, DATA / "bad_values.csv", errors="skip")
    assert df.get_column("value").to_list() == [12.5, 13.5, 15.0]
    assert "skipped 4 unreadable line(s)" in message
    assert "line 4" in message and "line 5" in message and "line 6" in message


def test_missing_columns_are_named_in_a_schema_error(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("name,value,host\nx,1,a\n")
    with pytest.raises(SchemaError) as info:
        read_metrics(p)
    assert "'timestamp'" in str(info.value) and "'unit'" in str(info.value)
    with pytest.raises(SchemaError) as info:
        read_metrics(p, unit="ms")
    assert "'timestamp'" in str(info.value) and "'unit'" not in str(info.value)


def test_unit_argument_fills_an_absent_or_empty_unit(tmp_path: Path) -> None:
    p = tmp_path / "u.csv"
    p.write_text("name,value,timestamp\nx,1,2024-01-01T00:00:00Z\n")
    assert read_metrics(p, unit="ms").get_column("unit").to_list() == ["ms"]
    q = tmp_path / "u2.csv"
    q.write_text(
        "name,value,unit,timestamp\nx,1,,2024-01-01T00:00:00Z\nx,2,s,2024-01-01T00:00:00Z\n"
    )
    assert read_metrics(q, unit="ms").get_column("unit").to_list() == ["ms", "s"]
    with pytest.raises(InputError, match="missing unit") as info:
        read_metrics(q)
    assert info.value.line == 2


def test_header_only_csv_gives_an_empty_frame_with_its_tags_and_says_so(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("name,value,unit,timestamp,route\n")
    df, message = one_warning(read_metrics, p)
    assert "no samples: the table has a header but no rows" in message
    assert df.height == 0
    assert df.columns == [*CORE_COLUMNS, "route"]
    assert_metrics_schema(df)


def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_text(
        "name,value,unit,timestamp\nx,1,ms,2024-01-01T00:00:00Z\n\nx,oops,ms,2024-01-01T00:00:01Z\n"
    )
    with pytest.raises(InputError) as info:
        read_metrics(p)
    assert info.value.line == 4


def test_csv_cut_mid_line_reports_the_last_line(tmp_path: Path) -> None:
    full = tmp_path / "full.csv"
    read_quietly(read_prometheus, SAMPLES / "prometheus_query_range.json").write_csv(full)
    text = full.read_text()
    n_lines = text.count("\n")
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rindex(",", 0, len(text) - 30)])  # mid last row
    with pytest.raises(InputError) as info:
        read_metrics(cut)
    assert info.value.line == n_lines
    df, message = one_warning(read_metrics, cut, errors="skip")
    assert df.height == n_lines - 2
    assert "skipped 1" in message


def test_row_with_too_many_fields_is_reported(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text(
        "name,value,unit,timestamp\nx,1,ms,2024-01-01T00:00:00Z\n"
        "x,2,ms,2024-01-01T00:00:01Z,extra\nx,3,ms,2024-01-01T00:00:02Z\n"
    )
    with pytest.raises(InputError, match="5 fields where the header has 4") as info:
        read_metrics(p)
    assert info.value.line == 3
    df, _ = one_warning(read_metrics, p, errors="skip")
    assert df.get_column("value").to_list() == [1.0, 3.0]


def test_tag_columns_keep_the_text_the_file_holds(tmp_path: Path) -> None:
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(CSV_TEXT)
    df = read_metrics(csv_path)
    assert df.select("host", "status", "shard").rows() == [
        ("01", "200", "007"),
        ("web-2", "404", "1.50"),
    ]
    assert_metrics_schema(df)
    jsonl = tmp_path / "m.jsonl"
    df.write_ndjson(jsonl)
    assert_frame_equal(read_metrics(jsonl), df)
    parquet = tmp_path / "m.parquet"  # a typed column: ints become their decimal text
    df.with_columns(pl.col("status").cast(pl.Int64)).write_parquet(parquet)
    assert read_metrics(parquet).get_column("status").to_list() == ["200", "404"]


@pytest.mark.parametrize("alias", ["time", "ts"])
def test_a_time_or_ts_column_is_the_timestamp_when_there_is_none(
    tmp_path: Path, alias: str
) -> None:
    p = tmp_path / "m.csv"
    p.write_text(f"name,value,unit,{alias},host\nx,1,ms,2024-03-31T00:30:00Z,a\n")
    df = read_metrics(p)
    assert df.columns == [*CORE_COLUMNS, "host"]
    assert df.item(0, "timestamp") == utc(2024, 3, 31, 0, 30)


def test_time_aliases_are_not_guessed_past_what_is_documented(tmp_path: Path) -> None:
    both = tmp_path / "both.csv"
    both.write_text("name,value,unit,time,ts\nx,1,ms,2024-03-31T00:30:00Z,1711845000\n")
    with pytest.raises(SchemaError, match="'time' and 'ts' could both be it"):
        read_metrics(both)
    canonical = tmp_path / "canonical.csv"  # with a timestamp column, 'time' is a tag
    canonical.write_text("name,value,unit,timestamp,time\nx,1,ms,2024-03-31T00:30:00Z,noon\n")
    assert read_metrics(canonical).get_column("time").to_list() == ["noon"]
    other = tmp_path / "other.csv"
    other.write_text("name,value,unit,Date\nx,1,ms,2024-03-31\n")
    with pytest.raises(SchemaError) as info:
        read_metrics(other)
    assert "missing column(s) 'timestamp'" in str(info.value)
    assert "found 'name', 'value', 'unit', 'Date'" in str(info.value)
    assert "'time' or 'ts'" in str(info.value)


def test_a_header_naming_a_column_twice_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "dup.csv"
    p.write_text("name,value,unit,timestamp,host,host\nx,1,ms,2024-03-31T00:30:00Z,a,b\n")
    with pytest.raises(SchemaError, match="'host' appear more than once"):
        read_metrics(p)


def test_csv_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "latin1.csv"
    p.write_bytes(
        b"name,value,unit,timestamp,city\n"
        b"x,1,ms,2024-03-31T00:30:00Z,Paris\n"
        b"x,2,ms,2024-03-31T00:30:01Z,Z\xfcrich\n"
        b"x,3,ms,2024-03-31T00:30:02Z,Bern\n"
    )
    with pytest.raises(InputError, match="not UTF-8") as info:
        read_metrics(p)
    assert info.value.line == 3
    df, message = one_warning(read_metrics, p, errors="skip")
    assert df.get_column("city").to_list() == ["Paris", "Bern"]
    assert "line 3: not UTF-8" in message


def test_every_row_skipped_warns_once_with_the_count_and_nothing_else(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("name,value,unit,timestamp\nx,a,ms,2024-03-31T00:30:00Z\nx,b,ms,oops\n")
    df, message = one_warning(read_metrics, p, errors="skip")
    assert df.height == 0
    assert message.endswith(
        "skipped 2 unreadable line(s); first: line 2: value 'a' is not a number; "
        "line 3: value 'b' is not a number"
    )


# ---------------------------------------------------------------------------------------
# JSON lines and Parquet


def test_jsonl_reports_physical_lines_and_mixed_json_types(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text(
        '{"name": "x", "value": 1, "unit": "ms", "timestamp": 1711845000, "pod": "a"}\n'
        "\n"
        '{"name": "x", "value": "2.5", "unit": "ms", "timestamp": "2024-03-31T00:30:00Z"}\n'
        '{"name": "x", "value": "n/a", "unit": "ms", "timestamp": "2024-03-31T00:30:00Z"}\n'
    )
    with pytest.raises(InputError, match="'n/a'") as info:
        read_metrics(p)
    assert info.value.line == 4
    df, _ = one_warning(read_metrics, p, errors="skip")
    assert df.get_column("value").to_list() == [1.0, 2.5]
    assert df.get_column("pod").to_list() == ["a", None]
    assert df.get_column("timestamp").to_list() == [utc(2024, 3, 31, 0, 30)] * 2


def test_jsonl_cut_mid_object(tmp_path: Path) -> None:
    p = tmp_path / "cut.ndjson"
    p.write_text(
        '{"name": "x", "value": 1, "unit": "ms", "timestamp": 1711845000}\n'
        '{"name": "x", "value": 2, "unit": "ms", "timestamp": 1711845001}\n'
        '{"name": "x", "value": 3, "unit": "ms", "timest'
    )
    with pytest.raises(InputError, match="not valid JSON") as info:
        read_metrics(p)
    assert info.value.line == 3
    df, message = one_warning(read_metrics, p, errors="skip")
    assert df.get_column("value").to_list() == [1.0, 2.0]
    assert "skipped 1" in message


def test_parquet_native_datetimes_and_row_numbers(tmp_path: Path) -> None:
    paris = pl.Series([datetime(2024, 7, 1, 10, 0)]).dt.replace_time_zone("Europe/Paris")
    df = pl.DataFrame(
        {
            "name": ["a", "b", "c"],
            "value": [1.0, float("nan"), 3.0],
            "unit": ["ms"] * 3,
            "timestamp": pl.concat([paris, paris, paris]),
            "shard": [1, 2, 3],
        }
    )
    p = tmp_path / "m.parquet"
    df.write_parquet(p)
    with pytest.raises(InputError, match="row 2") as info:
        read_metrics(p)
    assert info.value.line is None
    got, _ = one_warning(read_metrics, p, errors="skip")
    assert got.get_column("timestamp").to_list() == [utc(2024, 7, 1, 8, 0)] * 2
    assert got.get_column("shard").to_list() == ["1", "3"]  # tags become strings


# ---------------------------------------------------------------------------------------
# hypothesis: random metric frames survive a trip through each tabular format


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters='\n\t",'),
    min_size=1,
    max_size=12,
)


_tag_keys = st.lists(
    st.text(alphabet=string.ascii_lowercase + "._", min_size=1, max_size=8).filter(
        lambda k: k not in CORE_COLUMNS
    ),
    max_size=3,
    unique=True,
)


@st.composite
def metric_frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 20))
    keys = draw(_tag_keys)
    times = draw(
        st.lists(
            st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(2100, 1, 1)),
            min_size=n,
            max_size=n,
        )
    )
    cols: dict[str, pl.Series] = {
        "name": pl.Series(draw(st.lists(_text, min_size=n, max_size=n)), dtype=pl.String),
        "value": pl.Series(
            draw(
                st.lists(
                    st.floats(allow_nan=False, allow_infinity=False, width=64),
                    min_size=n,
                    max_size=n,
                )
            ),
            dtype=pl.Float64,
        ),
        "unit": pl.Series(
            draw(st.lists(st.sampled_from(["ms", "s", "bytes", "1"]), min_size=n, max_size=n))
        ),
        "timestamp": pl.Series(times, dtype=pl.Datetime("us")).dt.replace_time_zone("UTC"),
    }
    for k in keys:
        cols[k] = pl.Series(
            draw(st.lists(st.one_of(st.none(), _text), min_size=n, max_size=n)), dtype=pl.String
        )
    return pl.DataFrame(cols)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=metric_frames())
def test_round_trip_through_tabular_formats(
    tmp_path: Path, suffix: str, frame: pl.DataFrame
) -> None:
    p = tmp_path / f"m{suffix}"
    {".csv": frame.write_csv, ".jsonl": frame.write_ndjson, ".parquet": frame.write_parquet}[
        suffix
    ](p)
    assert_frame_equal(read_metrics(p), frame)

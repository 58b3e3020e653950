"""Tests for perflab.monitoring.read: tabular, Prometheus and OTLP readers.

The samples in data/sample/monitoring/ were written by the real software (see
data/README.md); the small broken inputs in tests/monitoring/data/ are hand-made.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from perflab.errors import InputError, InputWarning, SchemaError
from perflab.monitoring.read import read_metrics, read_otlp, read_prometheus
from perflab.monitoring.schema import CORE_COLUMNS, METRICS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "monitoring"
DATA = Path(__file__).resolve().parent / "data"
AT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def assert_metrics_schema(df: pl.DataFrame) -> None:
    assert df.columns[:4] == list(CORE_COLUMNS)
    assert [df.schema[c] for c in CORE_COLUMNS] == list(METRICS.columns.values())
    assert all(df.schema[c] == pl.String for c in df.columns[4:])


def read_quietly(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return fn(*args, **kwargs)


def one_warning(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call fn, return (result, message of the single InputWarning it raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    msgs = [str(w.message) for w in caught if issubclass(w.category, InputWarning)]
    assert len(msgs) == 1, msgs
    return out, msgs[0]


# ---------------------------------------------------------------------------------------
# tabular: CSV / JSON lines / Parquet


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


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".prom", ".json"])
def test_zero_byte_file_gives_an_empty_metrics_frame(tmp_path: Path, suffix: str) -> None:
    p = tmp_path / f"empty{suffix}"
    p.write_bytes(b"")
    df = read_metrics(p)
    assert df.height == 0
    assert_metrics_schema(df)


def test_header_only_csv_gives_an_empty_frame_with_its_tags(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("name,value,unit,timestamp,route\n")
    df = read_metrics(p)
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


def test_unknown_suffix_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "m.xlsx"
    p.write_bytes(b"PK")
    with pytest.raises(InputError, match=r"unknown file type '\.xlsx'"):
        read_metrics(p)


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


# ---------------------------------------------------------------------------------------
# Prometheus text exposition


def _reference_samples(path: Path) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    """Samples as prometheus_client's own parser reads them."""
    from prometheus_client.parser import text_string_to_metric_families

    return sorted(
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in text_string_to_metric_families(path.read_text())
        for s in fam.samples
    )


def _our_samples(df: pl.DataFrame) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    tags = df.columns[4:]
    return sorted(
        (r["name"], tuple(sorted((k, r[k]) for k in tags if r[k] is not None)), r["value"])
        for r in df.iter_rows(named=True)
    )


@pytest.mark.parametrize("sample", ["exposition.prom", "node_exporter.prom"])
def test_exposition_matches_prometheus_client_parser(sample: str) -> None:
    df = read_prometheus(SAMPLES / sample, at=AT)
    assert_metrics_schema(df)
    assert _our_samples(df) == _reference_samples(SAMPLES / sample)
    assert df.get_column("timestamp").unique().to_list() == [AT]


def test_exposition_histogram_buckets_and_units() -> None:
    df = read_prometheus(SAMPLES / "exposition.prom", at=AT)
    hist = df.filter(pl.col("name") == "http_request_duration_seconds_bucket")
    assert sorted(hist.get_column("route").unique().to_list()) == ["/api/items", "/checkout"]
    for route in ("/api/items", "/checkout"):
        buckets = hist.filter(pl.col("route") == route)
        assert buckets.get_column("le").to_list() == [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf"
        ]  # fmt: skip
        counts = buckets.get_column("value").to_list()
        assert counts == sorted(counts)  # cumulative
        count = df.filter(
            (pl.col("name") == "http_request_duration_seconds_count") & (pl.col("route") == route)
        ).item(0, "value")
        assert counts[-1] == count
    assert hist.filter(pl.col("route") == "/api/items").item(-1, "value") == 1500
    units = dict(df.select("name", "unit").unique().iter_rows())
    assert units["http_request_duration_seconds_bucket"] == "1"
    assert units["http_request_duration_seconds_sum"] == "s"
    assert units["http_request_duration_seconds_created"] == "s"
    assert units["http_requests_total"] == "1"
    assert units["http_response_size_bytes_total"] == "bytes"
    assert units["process_resident_memory_bytes"] == "bytes"
    assert units["process_cpu_seconds_total"] == "s"


def test_exposition_label_escapes_are_decoded() -> None:
    df = read_prometheus(SAMPLES / "exposition.prom", at=AT)
    note = df.filter(pl.col("name") == "app_build_info").item(0, "note")
    assert note == 'built in C:\\ci\\app by "nightly"\nsecond line'


def test_node_exporter_cpu_seconds() -> None:
    df = read_prometheus(SAMPLES / "node_exporter.prom", at=AT)
    cpu = df.filter(pl.col("name") == "node_cpu_seconds_total")
    assert set(cpu.get_column("unit").to_list()) == {"s"}
    assert {"idle", "user", "system"} <= set(cpu.get_column("mode").to_list())
    modes = cpu.group_by("cpu").agg(pl.col("mode").sort()).get_column("mode").to_list()
    assert all(m == modes[0] for m in modes) and len(modes[0]) == len(set(modes[0])) == 8
    gc = df.filter(pl.col("name") == "go_gc_duration_seconds")
    assert gc.get_column("quantile").to_list() == ["0", "0.25", "0.5", "0.75", "1"]


def test_exposition_time_defaults_to_file_mtime(tmp_path: Path) -> None:
    p = tmp_path / "scrape.prom"
    shutil.copy(SAMPLES / "exposition.prom", p)
    os.utime(p, (1711845000.5, 1711845000.5))
    df = read_prometheus(p)
    assert df.get_column("timestamp").unique().to_list() == [utc(2024, 3, 31, 0, 30, 0, 500000)]


def test_malformed_exposition_lines() -> None:
    with pytest.raises(InputError, match="malformed labels") as info:
        read_prometheus(DATA / "malformed.prom", at=AT)
    assert info.value.line == 5
    df, message = one_warning(read_prometheus, DATA / "malformed.prom", errors="skip", at=AT)
    assert "skipped 2" in message and "line 6: value 'twelve' is not a number" in message
    assert df.get_column("value").to_list() == [10.0, 11.0, 13.0]
    assert df.get_column("timestamp").to_list() == [AT, utc(2024, 3, 31, 0, 30), AT]


def test_exposition_cut_mid_line(tmp_path: Path) -> None:
    text = (SAMPLES / "exposition.prom").read_text()
    cut_at = text.index('http_request_duration_seconds_bucket{le="0.05",method="GET",route="/c')
    p = tmp_path / "cut.prom"
    p.write_text(text[: cut_at + 60])
    with pytest.raises(InputError) as info:
        read_prometheus(p, at=AT)
    assert info.value.line == text[:cut_at].count("\n") + 1


def test_exposition_nan_is_dropped_and_inf_is_bad(tmp_path: Path) -> None:
    p = tmp_path / "special.prom"
    p.write_text('# TYPE g gauge\ng 1\ng{k="nan"} NaN\ng{k="inf"} +Inf\n')
    with pytest.raises(InputError, match="infinite") as info:
        read_prometheus(p, at=AT)
    assert info.value.line == 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = read_prometheus(p, at=AT, errors="skip")
    messages = [str(w.message) for w in caught]
    assert any("dropped 1 NaN" in m for m in messages)
    assert any("skipped 1" in m for m in messages)
    assert df.get_column("value").to_list() == [1.0]


# ---------------------------------------------------------------------------------------
# Prometheus HTTP API JSON


def test_query_range_quantiles() -> None:
    src = json.loads((SAMPLES / "prometheus_query_range.json").read_text())
    df, message = one_warning(read_prometheus, SAMPLES / "prometheus_query_range.json", name="p95")
    assert_metrics_schema(df)
    nans = sum(v == "NaN" for r in src["data"]["result"] for _, v in r["values"])
    assert nans == 41 and f"dropped {nans} NaN" in message  # /export went idle: 0/0
    assert df.height == sum(len(r["values"]) for r in src["data"]["result"]) - nans
    assert set(df.get_column("name").to_list()) == {"p95"}
    assert sorted(df.get_column("route").unique().to_list()) == [
        "/api/items",
        "/checkout",
        "/export",
    ]
    first = src["data"]["result"][0]["values"][0]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert df.item(0, "timestamp") == epoch + timedelta(milliseconds=round(first[0] * 1000))
    assert df.item(0, "value") == float(first[1])
    # The latency change the exporter made half-way is visible: /checkout p95 rose.
    checkout = df.filter(pl.col("route") == "/checkout").get_column("value")
    third = checkout.len() // 3
    assert checkout.tail(third).median() > 2 * checkout.head(third).median()  # type: ignore[operator]
    steps = df.filter(pl.col("route") == "/api/items").get_column("timestamp").diff().drop_nulls()
    assert steps.unique().to_list() == [timedelta(seconds=2)]


def test_query_range_without_name_uses_file_stem() -> None:
    df = read_quietly(read_prometheus, SAMPLES / "prometheus_query_range.json")
    assert set(df.get_column("name").to_list()) == {"prometheus_query_range"}


def test_query_range_raw_buckets_are_cumulative() -> None:
    df = read_prometheus(SAMPLES / "prometheus_query_range_raw.json")
    assert set(df.get_column("name").to_list()) == {"http_request_duration_seconds_bucket"}
    assert set(df.get_column("unit").to_list()) == {"1"}
    assert df.get_column("le").n_unique() == 10
    wide = (
        df.with_columns(pl.col("le").cast(pl.Float64).alias("bound"))
        .sort("timestamp", "bound")
        .group_by("timestamp", maintain_order=True)
        .agg(pl.col("value"))
    )
    for counts in wide.get_column("value").to_list():
        assert len(counts) == 10 and counts == sorted(counts)


def test_instant_vector_query() -> None:
    src = json.loads((SAMPLES / "prometheus_query.json").read_text())
    df = read_metrics(SAMPLES / "prometheus_query.json")
    assert df.height == len(src["data"]["result"]) == 6
    assert df.get_column("value").sum() == sum(float(r["value"][1]) for r in src["data"]["result"])
    assert set(df.get_column("status").to_list()) == {"200", "500"}
    assert set(df.get_column("job").to_list()) == {"app"}


@pytest.mark.parametrize("errors", ["raise", "skip"])
def test_prometheus_error_status(errors: str) -> None:
    with pytest.raises(InputError, match=r"bad_data.*parse error"):
        read_metrics(DATA / "prometheus_error.json", errors=errors)  # type: ignore[arg-type]


def test_prometheus_json_cut_short(tmp_path: Path) -> None:
    text = (SAMPLES / "prometheus_query_range.json").read_text()
    p = tmp_path / "cut.json"
    p.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match="not valid JSON") as info:
        read_prometheus(p)
    assert info.value.line == 1


def test_prometheus_json_infinite_values(tmp_path: Path) -> None:
    doc = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "q_seconds", "route": "/a"},
                    "values": [[1711845000, "0.5"], [1711845001, "+Inf"], [1711845002, "0.7"]],
                }
            ],
        },
    }
    p = tmp_path / "inf.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r'q_seconds\{route="/a"\}: value \+Inf is infinite'):
        read_prometheus(p)
    df, _ = one_warning(read_prometheus, p, errors="skip")
    assert df.get_column("value").to_list() == [0.5, 0.7]
    assert df.get_column("unit").to_list() == ["s", "s"]


# ---------------------------------------------------------------------------------------
# OTLP/JSON


def _otlp_metrics(doc: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        m["name"]: m
        for rm in doc["resourceMetrics"]
        for sm in rm["scopeMetrics"]
        for m in sm["metrics"]
    }


def test_otlp_sample() -> None:
    src = json.loads((SAMPLES / "otlp_metrics.json").read_text())
    metrics = _otlp_metrics(src)
    df = read_otlp(SAMPLES / "otlp_metrics.json")
    assert_metrics_schema(df)
    assert set(df.get_column("service.name").to_list()) == {"checkout"}
    units = dict(df.select("name", "unit").unique().iter_rows())
    assert units["http.server.request.duration_sum"] == "s"
    assert units["http.server.request.duration_count"] == "1"
    assert units["db.client.operation.duration_sum"] == "ms"
    assert units["process.memory.usage"] == "bytes"
    assert units["http.server.requests"] == "1"
    # timestamps are the points' timeUnixNano, to the microsecond
    ns = int(metrics["process.memory.usage"]["gauge"]["dataPoints"][0]["timeUnixNano"])
    mem = df.filter(pl.col("name") == "process.memory.usage")
    assert mem.item(0, "timestamp") == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
        microseconds=ns // 1000
    )
    assert mem.item(0, "value") == float(
        metrics["process.memory.usage"]["gauge"]["dataPoints"][0]["asInt"]
    )
    # attributes of every type become strings
    reqs = df.filter(pl.col("name") == "http.server.requests")
    assert set(reqs.get_column("cache.hit").to_list()) == {"true", "false"}
    assert reqs.get_column("value").sum() == 400
    dur = df.filter(pl.col("name") == "http.server.request.duration_count")
    assert set(dur.get_column("http.response.status_code").to_list()) == {"200", "500"}


def test_otlp_histogram_buckets() -> None:
    src = json.loads((SAMPLES / "otlp_metrics.json").read_text())
    points = _otlp_metrics(src)["http.server.request.duration"]["histogram"]["dataPoints"]
    df = read_otlp(SAMPLES / "otlp_metrics.json")
    buckets = df.filter(pl.col("name") == "http.server.request.duration_bucket")
    assert buckets.height == sum(len(p["explicitBounds"]) + 1 for p in points)
    assert buckets.get_column("le").unique(maintain_order=True).to_list()[-1] == "+Inf"
    keys = ["http.route", "http.response.status_code"]
    counts = df.filter(pl.col("name") == "http.server.request.duration_count")
    inf = buckets.filter(pl.col("le") == "+Inf")
    joined = counts.join(inf, on=keys, suffix="_inf")
    assert joined.height == len(points)
    assert (joined.get_column("value") == joined.get_column("value_inf")).all()
    exp = df.filter(pl.col("name") == "db.client.operation.duration_bucket")
    exp_count = df.filter(pl.col("name") == "db.client.operation.duration_count").item(0, "value")
    assert exp.item(-1, "le") == "+Inf" and exp.item(-1, "value") == exp_count == 400


def test_otlp_jsonl_two_collections() -> None:
    df = read_metrics(SAMPLES / "otlp_metrics.jsonl")
    times = df.get_column("timestamp").unique().sort()
    assert times.len() == 2
    reqs = (
        df.filter(pl.col("name") == "http.server.requests")
        .group_by("timestamp")
        .agg(pl.col("value").sum())
        .sort("timestamp")
    )
    assert reqs.get_column("value").to_list() == [400.0, 800.0]  # cumulative sums


def _sdk_histograms(values: list[float]) -> str:
    """Record ``values`` with the real SDK and encode them as OTLP/JSON."""
    from google.protobuf.json_format import MessageToJson
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader],
        views=[View(instrument_name="exp", aggregation=ExponentialBucketHistogramAggregation())],
    )
    meter = provider.get_meter("test")
    explicit = meter.create_histogram(
        "explicit", unit="ms", explicit_bucket_boundaries_advisory=[1, 2, 5, 10, 20, 50]
    )
    exp = meter.create_histogram("exp", unit="ms")
    for v in values:
        explicit.record(v)
        exp.record(v)
    text = MessageToJson(encode_metrics(reader.get_metrics_data()), use_integers_for_enums=True)
    provider.shutdown()
    return str(text)


def test_otlp_buckets_match_numpy_on_sdk_output(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(mean=1.5, sigma=0.8, size=500)
    p = tmp_path / "sdk.json"
    p.write_text(_sdk_histograms(values.tolist()))
    df = read_otlp(p)
    for name in ("explicit", "exp"):
        buckets = df.filter(pl.col("name") == f"{name}_bucket")
        finite = buckets.filter(pl.col("le") != "+Inf")
        bounds = finite.get_column("le").cast(pl.Float64).to_numpy()
        expected = [(values <= b).sum() for b in bounds]
        assert finite.get_column("value").to_list() == expected, name
        assert buckets.item(-1, "value") == 500
        assert df.filter(pl.col("name") == f"{name}_sum").item(0, "value") == pytest.approx(
            values.sum()
        )
        assert df.filter(pl.col("name") == f"{name}_max").item(0, "value") == values.max()


def test_otlp_document_cut_short(tmp_path: Path) -> None:
    text = (SAMPLES / "otlp_metrics.json").read_text()
    p = tmp_path / "cut.json"
    p.write_text(text[:5000])
    with pytest.raises(InputError, match="not valid JSON") as info:
        read_otlp(p)
    assert info.value.line == text[:5000].count("\n") + 1


def test_otlp_lines_cut_short(tmp_path: Path) -> None:
    lines = (SAMPLES / "otlp_metrics.jsonl").read_text().splitlines()
    p = tmp_path / "cut.jsonl"
    p.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    with pytest.raises(InputError) as info:
        read_metrics(p)
    assert info.value.line == 2
    df, message = one_warning(read_metrics, p, errors="skip")
    assert df.get_column("timestamp").n_unique() == 1
    assert "skipped 1" in message and "line 2" in message


def test_collector_file_exporter_json_lines_with_json_suffix(tmp_path: Path) -> None:
    p = tmp_path / "collector.json"
    shutil.copy(SAMPLES / "otlp_metrics.jsonl", p)
    assert_frame_equal(read_metrics(p), read_metrics(SAMPLES / "otlp_metrics.jsonl"))


def test_otlp_bad_points(tmp_path: Path) -> None:
    def point(value: object, t: str = "1711845000000000000") -> dict:  # type: ignore[type-arg]
        return {"timeUnixNano": t, "asDouble": value}

    doc = {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]
                },
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "cpu",
                                "unit": "1",
                                "gauge": {
                                    "dataPoints": [
                                        point(0.5),
                                        point("NaN"),
                                        point(0.7, t="0"),
                                        point(0.9),
                                        {"timeUnixNano": "1711845000000000000", "flags": 1},
                                    ]
                                },
                            },
                            {"name": "weird", "unit": "1", "somethingNew": {}},
                        ]
                    }
                ],
            }
        ]
    }
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(
        InputError, match=r"metrics\[0\] \(cpu\)\.gauge\.dataPoints\[1\].*not finite"
    ):
        read_otlp(p)
    df, message = one_warning(read_otlp, p, errors="skip")
    assert df.get_column("value").to_list() == [0.5, 0.9]
    assert "skipped 3" in message  # NaN, time 0, unsupported type; flags=1 is no value
    assert df.get_column("timestamp").to_list() == [utc(2024, 3, 31, 0, 30)] * 2
    assert df.get_column("service.name").to_list() == ["s", "s"]


# ---------------------------------------------------------------------------------------
# dispatch


def test_read_metrics_dispatches_by_suffix_and_content(tmp_path: Path) -> None:
    txt = tmp_path / "scrape.txt"
    shutil.copy(SAMPLES / "exposition.prom", txt)
    os.utime(txt, (1711845000, 1711845000))
    assert read_metrics(txt).height == 53
    assert_frame_equal(
        read_metrics(SAMPLES / "otlp_metrics.json"), read_otlp(SAMPLES / "otlp_metrics.json")
    )
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="unrecognised JSON"):
        read_metrics(other)
    with pytest.raises(InputError, match="no such file"):
        read_metrics(tmp_path / "missing.csv")


def test_labels_named_like_core_or_internal_columns(tmp_path: Path) -> None:
    doc = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"__name__": "up", "name": "db", "t": "x"}, "value": [1711845000, "1"]}
            ],
        },
    }
    p = tmp_path / "labels.json"
    p.write_text(json.dumps(doc))
    df = read_prometheus(p)
    assert df.columns == [*CORE_COLUMNS, "exported_name", "t"]
    assert df.row(0) == ("up", 1.0, "1", utc(2024, 3, 31, 0, 30), "db", "x")
    q = tmp_path / "labels.prom"
    q.write_text('up{name="db",unit="x"} 1\n')
    df = read_prometheus(q, at=AT)
    assert df.columns == [*CORE_COLUMNS, "exported_name", "exported_unit"]
    assert df.row(0) == ("up", 1.0, "1", AT, "db", "x")


def test_otlp_structure_that_is_not_otlp(tmp_path: Path) -> None:
    p = tmp_path / "weird.jsonl"
    good = json.dumps(
        {
            "resourceMetrics": [
                {
                    "scopeMetrics": [
                        {
                            "metrics": [
                                {
                                    "name": "g",
                                    "gauge": {
                                        "dataPoints": [
                                            {"timeUnixNano": "1711845000000000000", "asInt": "5"}
                                        ]
                                    },
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    )
    p.write_text(good + "\n" + '{"resourceMetrics": [{"scopeMetrics": ["oops"]}]}\n')
    with pytest.raises(InputError, match="malformed OTLP JSON") as info:
        read_otlp(p)
    assert info.value.line == 2
    df, _ = one_warning(read_otlp, p, errors="skip")
    assert df.row(0) == ("g", 5.0, "1", utc(2024, 3, 31, 0, 30))

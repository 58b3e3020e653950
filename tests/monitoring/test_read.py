"""Tests for perflab.monitoring.read: tabular, Prometheus and OTLP readers.

The samples in data/sample/monitoring/ were written by the real software (see
data/README.md); the small broken inputs in tests/monitoring/data/ are hand-made.
"""

from __future__ import annotations

import gzip
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


# ---------------------------------------------------------------------------------------
# review: real-world shapes, compression, encodings, empty results


def no_warning(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        return fn(*args, **kwargs)


CSV_TEXT = (
    "name,value,unit,timestamp,host,status,shard\n"
    "latency,12.5,ms,2024-03-31T00:30:00Z,01,200,007\n"
    "latency,13,ms,2024-03-31T00:30:01Z,web-2,404,1.50\n"
)


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


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_bom_and_crlf_read_like_plain_text(tmp_path: Path, prefix: bytes, newline: bytes) -> None:
    reference = tmp_path / "ref.csv"
    reference.write_text(CSV_TEXT)
    expected = read_metrics(reference)
    for suffix, text in [
        (".csv", CSV_TEXT),
        (".jsonl", expected.write_ndjson()),
    ]:
        p = tmp_path / f"x{suffix}"
        p.write_bytes(prefix + text.encode().replace(b"\n", newline))
        assert_frame_equal(read_metrics(p), expected)
    prom = tmp_path / "x.prom"
    prom.write_bytes(
        prefix + b'# TYPE up gauge\nup{job="a"} 1 1711845000000\n'.replace(b"\n", newline)
    )
    assert read_metrics(prom).row(0) == ("up", 1.0, "1", utc(2024, 3, 31, 0, 30), "a")
    doc = json.loads((SAMPLES / "prometheus_query.json").read_text())
    js = tmp_path / "x.json"
    js.write_bytes(prefix + json.dumps(doc, indent=1).encode().replace(b"\n", newline))
    assert read_metrics(js).height == 6


@pytest.mark.parametrize(
    ("sample", "kwargs"),
    [
        ("prometheus_query_range.json", {"name": "p95"}),
        ("otlp_metrics.json", {}),
        ("otlp_metrics.jsonl", {}),
        ("exposition.prom", {"at": AT}),
        ("latency.parquet", {}),
    ],
)
def test_gzip_files_read_like_the_plain_ones(tmp_path: Path, sample: str, kwargs: dict) -> None:  # type: ignore[type-arg]
    plain = SAMPLES / sample
    packed = tmp_path / (sample + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    reader = read_prometheus if kwargs else read_metrics
    if sample.endswith(".json") and "otlp" not in sample:
        reader = read_prometheus
    expected = read_quietly(reader, plain, **kwargs)
    assert_frame_equal(read_quietly(reader, packed, **kwargs), expected)
    if not kwargs:
        assert_frame_equal(read_quietly(read_metrics, packed), expected)


def test_gzip_is_recognised_by_its_bytes_and_a_csv_gz_by_its_name(tmp_path: Path) -> None:
    expected = read_metrics(DATA / "mixed_offsets.csv")
    data = gzip.compress((DATA / "mixed_offsets.csv").read_bytes())
    for name in ("m.csv.gz", "m.csv", "m.CSV.GZ"):
        (tmp_path / name).write_bytes(data)
        assert_frame_equal(read_metrics(tmp_path / name), expected)
    fake = tmp_path / "fake.csv.gz"
    fake.write_text(CSV_TEXT)
    with pytest.raises(InputError, match=r"named \.gz but not gzip data"):
        read_metrics(fake)
    unknown = tmp_path / "m.xlsx.gz"
    unknown.write_bytes(data)
    with pytest.raises(InputError, match=r"unknown file type '\.xlsx'"):
        read_metrics(unknown)


def test_gzip_cut_short_raises_or_keeps_what_it_holds(tmp_path: Path) -> None:
    rows = "".join(
        f"latency,{i},ms,2024-03-31T00:{i // 60:02d}:{i % 60:02d}Z,web-{i % 3}\n"
        for i in range(3000)
    )
    packed = gzip.compress(("name,value,unit,timestamp,host\n" + rows).encode())
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match="gzip data cut short: the file is truncated") as info:
        read_metrics(p)
    df, message = one_warning(read_metrics, p, errors="skip")
    assert "gzip data cut short" in message
    assert 0 < df.height < 3000
    assert df.get_column("value").to_list() == [float(i) for i in range(df.height)]
    # The line named is the one the data stops in, after the header and the rows read;
    # that cut line is not read (a row cut inside its last field would look whole).
    assert info.value.line == df.height + 2


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


_OTLP_EMPTY = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": {}}]}]}]}
_OTLP_NO_VALUE = {
    "resourceMetrics": [
        {
            "scopeMetrics": [
                {
                    "metrics": [
                        {
                            "name": "g",
                            "gauge": {
                                "dataPoints": [{"timeUnixNano": "1711845000000000000", "flags": 1}]
                            },
                        }
                    ]
                }
            ]
        }
    ]
}


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("h.tsv", "name\tvalue\tunit\ttimestamp\n", "the table has a header but no rows"),
        ("c.prom", "# HELP up Up.\n# TYPE up gauge\n# EOF\n", "no sample line, only comments"),
        ("q.json", (DATA / "prometheus_no_match.json").read_text(), "the query matched no series"),
        ("p.json", (DATA / "promtool_no_match.json").read_text(), "the query matched no series"),
        (
            "s.json",
            '{"status":"success","data":{"resultType":"matrix","result":'
            '[{"metric":{"__name__":"up"},"values":[]}]}}',
            "its series hold no samples",
        ),
        ("o.json", json.dumps(_OTLP_EMPTY), "the request holds no data points"),
        ("n.jsonl", json.dumps(_OTLP_NO_VALUE), "all flagged 'no recorded value'"),
        ("g.json", '{"results": {"A": {"status": 200, "frames": []}}}', "holds no frames"),
    ],
)
def test_a_file_with_content_but_no_sample_warns_why(
    tmp_path: Path, name: str, content: str, why: str
) -> None:
    p = tmp_path / name
    p.write_text(content)
    df, message = one_warning(read_metrics, p)
    assert df.height == 0
    assert_metrics_schema(df)
    assert f"{p}: no samples: " in message and why in message


@pytest.mark.parametrize(
    "suffix", [".csv", ".tsv", ".jsonl", ".json", ".prom", ".parquet", ".csv.gz"]
)
@pytest.mark.parametrize(
    "content", [b"", b"\n \r\n", b"\xef\xbb\xbf"], ids=["zero", "blank", "bom"]
)
def test_blank_files_give_an_empty_frame_quietly(
    tmp_path: Path, suffix: str, content: bytes
) -> None:
    p = tmp_path / f"empty{suffix}"
    p.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    for reader in (read_metrics, read_prometheus, read_otlp):
        if reader is read_otlp and suffix not in (".json", ".jsonl"):
            continue
        df = no_warning(reader, p)
        assert df.height == 0
        assert_metrics_schema(df)


# -- OpenMetrics and exemplars


def test_openmetrics_with_exemplars_matches_prometheus_clients_parser() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    path = DATA / "openmetrics_exemplars.txt"
    df = read_prometheus(path, at=AT)
    assert_metrics_schema(df)
    reference = sorted(
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in text_string_to_metric_families(path.read_text())
        for s in fam.samples
    )
    assert _our_samples(df) == reference
    n_exemplars = sum(" # {" in ln for ln in path.read_text().splitlines())
    assert n_exemplars >= 4  # the fixture does exercise them
    assert "trace_id" not in df.columns  # exemplar labels are not tags


def test_openmetrics_timestamps_are_seconds_and_agree_with_the_0_0_4_milliseconds() -> None:
    om = read_prometheus(DATA / "openmetrics_exemplars.txt", at=AT)
    text = read_prometheus(DATA / "openmetrics_exemplars.prom", at=AT)
    ts = utc(2024, 3, 31, 0, 30, 0, 250000)
    for df in (om, text):
        batch = df.filter(pl.col("name") == "batch_duration_seconds")
        assert batch.select("value", "unit", "timestamp", "job").row(0) == (
            12.5,
            "s",
            ts,
            "nightly",
        )
    keep = pl.col("name").str.ends_with("_created").not_()
    both = om.filter(keep).drop("timestamp").sort(pl.all())
    assert_frame_equal(both, text.filter(keep).drop("timestamp").sort(pl.all()))
    packed = read_prometheus(DATA / "openmetrics_exemplars.txt.gz", at=AT)
    assert_frame_equal(packed, om)


def test_label_values_may_hold_braces_and_hashes_next_to_an_exemplar(tmp_path: Path) -> None:
    p = tmp_path / "tricky.txt"
    p.write_text(
        "# TYPE req counter\n"
        'req_total{path="/a#b}c",q="{x}"} 3 1711845000.5 # {trace_id="t}1"} 1.0 1711845000.4\n'
        "# EOF\n"
    )
    assert read_prometheus(p).row(0) == (
        "req_total",
        3.0,
        "1",
        utc(2024, 3, 31, 0, 30, 0, 500000),
        "/a#b}c",
        "{x}",
    )


def test_timestamps_of_the_wrong_kind_for_the_format_are_reported(tmp_path: Path) -> None:
    text = tmp_path / "seconds.prom"  # 0.0.4 wants integer milliseconds
    text.write_text("up 1 1711845000.5\n")
    with pytest.raises(InputError, match=r"not an integer .*'# EOF' line is read as OpenMetrics"):
        read_prometheus(text)
    om = tmp_path / "bad.txt"
    om.write_text("up 1 yesterday\n# EOF\n")
    with pytest.raises(
        InputError, match=r"'yesterday' is not a number \(OpenMetrics: epoch seconds"
    ):
        read_prometheus(om)


def test_garbage_after_a_sample_is_not_taken_for_an_exemplar(tmp_path: Path) -> None:
    p = tmp_path / "trailing.prom"
    p.write_text("up 1\nup 2 # just a comment\n")
    with pytest.raises(InputError, match="not a sample line") as info:
        read_prometheus(p, at=AT)
    assert info.value.line == 2


# -- promtool and API shapes


@pytest.mark.parametrize("name", ["promtool_range.json", "promtool_instant.json"])
def test_promtool_json_output_is_read_like_the_api_answer(tmp_path: Path, name: str) -> None:
    result = json.loads((DATA / name).read_text())
    df = read_metrics(DATA / name)
    points = [
        (r["metric"], p) for r in result for p in (r["values"] if "values" in r else [r["value"]])
    ]
    assert df.height == len(points)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for row, (metric, (t, v)) in zip(df.iter_rows(named=True), points, strict=True):
        assert row["value"] == float(v)
        assert row["timestamp"] == epoch + timedelta(milliseconds=round(t * 1000))
        assert row["name"] == metric.get("__name__", Path(name).stem)
        assert all(row[k] == metric[k] for k in metric if k != "__name__")
    # The same result wrapped as the HTTP API answers it reads to the same frame.
    kind = "matrix" if "values" in result[0] else "vector"
    api = tmp_path / name
    api.write_text(
        json.dumps({"status": "success", "data": {"resultType": kind, "result": result}})
    )
    assert_frame_equal(read_metrics(api), df)


def test_promtool_scalar(tmp_path: Path) -> None:
    scalar = tmp_path / "scalar.json"
    scalar.write_text('[1711845000.5, "42"]')
    assert read_metrics(scalar).row(0) == ("scalar", 42.0, "1", utc(2024, 3, 31, 0, 30, 0, 500000))


def test_native_histogram_samples_are_reported_not_dropped(tmp_path: Path) -> None:
    hist = {"count": "3", "sum": "1.5", "buckets": [[0, "0.5", "1", "3"]]}
    doc = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "rpc_duration_seconds"},
                    "values": [[1711845000, "1"], [1711845001, "2"]],
                    "histograms": [[1711845002, hist], [1711845003, hist]],
                }
            ],
        },
    }
    p = tmp_path / "native.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"2 native histogram sample\(s\) cannot be read"):
        read_prometheus(p)
    df, message = one_warning(read_prometheus, p, errors="skip")
    assert df.get_column("value").to_list() == [1.0, 2.0]
    assert "skipped 2" in message


# -- Grafana


def test_grafana_query_inspector_response() -> None:
    src = json.loads((DATA / "grafana_query_inspector.json").read_text())
    frames = src["response"]["results"]["A"]["frames"]
    df, message = one_warning(read_prometheus, DATA / "grafana_query_inspector.json", name="rps")
    assert "dropped 1 NaN" in message  # the NaN entity of /api's third point
    assert_metrics_schema(df)
    assert df.columns == [*CORE_COLUMNS, "route"]  # the exemplar frame is left out
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = [
        (
            "rps",
            v,
            "1",
            epoch + timedelta(milliseconds=t),
            f["schema"]["fields"][1]["labels"]["route"],
        )
        for f in frames[:2]
        for t, v in zip(*f["data"]["values"], strict=True)
        if v is not None
    ]
    assert df.rows() == expected


def test_grafana_dataframe_json_names_nanos_and_units() -> None:
    df = read_metrics(DATA / "grafana_dataframes.json")
    tags = ("db-1:9100", "node")
    assert df.rows() == [
        (
            "node_memory_MemFree_bytes",
            2147483648.0,
            "bytes",
            utc(2024, 3, 31, 0, 30, 0, 250),
            *tags,
        ),
        ("node_memory_MemFree_bytes", 2147000000.0, "bytes", utc(2024, 3, 31, 0, 31), *tags),
    ]


def test_grafana_panel_data_table_format_with_label_columns() -> None:
    df = read_metrics(DATA / "grafana_panel_data.json")
    assert df.columns == [*CORE_COLUMNS, "route", "status"]
    assert df.rows() == [
        ("http_requests_total", 1027.0, "1", utc(2024, 3, 31, 0, 30), "/api", "200"),
        ("http_requests_total", 311.0, "1", utc(2024, 3, 31, 0, 30), "/checkout", "200"),
    ]


def test_grafana_infinity_is_bad_and_a_bad_frame_is_named(tmp_path: Path) -> None:
    frames = json.loads((DATA / "grafana_dataframes.json").read_text())
    frames[0]["data"]["entities"] = [None, {"Inf": [1]}]
    frames[0]["data"]["values"][1][1] = None
    p = tmp_path / "inf.json"
    p.write_text(json.dumps(frames))
    with pytest.raises(InputError, match=r"series 1 node_memory_MemFree_bytes\{.*\}: value Inf is"):
        read_prometheus(p)
    frames.append({"schema": {"fields": [{"name": "Value", "type": "number"}]}, "data": {}})
    p.write_text(json.dumps(frames))
    with pytest.raises(InputError, match="frame 2: expected a time field and number fields"):
        read_prometheus(p)
    df, message = one_warning(read_prometheus, p, errors="skip")
    assert df.height == 1
    assert "skipped 2" in message and "value Inf is infinite" in message


def test_unrecognised_json_lists_the_shapes_it_would_read(tmp_path: Path) -> None:
    p = tmp_path / "other.json"
    p.write_text('{"data": [1, 2, 3]}')
    with pytest.raises(InputError, match=r"promtool's -o json output .*Grafana's inspector JSON"):
        read_metrics(p)

"""Tests for perflab.monitoring._prom: Prometheus text exposition, OpenMetrics, the HTTP
API's JSON, promtool's JSON and Grafana's inspector JSON.

The samples in data/sample/monitoring/ were written by the real software (see
data/README.md); the small inputs in tests/monitoring/data/ are hand-made.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError
from perflab.monitoring.read import read_metrics, read_prometheus
from perflab.monitoring.schema import CORE_COLUMNS
from tests.monitoring.helpers import (
    AT,
    DATA,
    SAMPLES,
    assert_metrics_schema,
    one_warning,
    read_quietly,
    utc,
)


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


# ---------------------------------------------------------------------------------------
# Prometheus text exposition


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


# ---------------------------------------------------------------------------------------
# OpenMetrics and exemplars


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


def test_unrecognised_json_lists_the_shapes_it_would_read(tmp_path: Path) -> None:
    p = tmp_path / "other.json"
    p.write_text('{"data": [1, 2, 3]}')
    with pytest.raises(InputError, match=r"promtool's -o json output .*Grafana's inspector JSON"):
        read_metrics(p)


# ---------------------------------------------------------------------------------------
# promtool query … -o json


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


# ---------------------------------------------------------------------------------------
# Grafana's inspector JSON


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

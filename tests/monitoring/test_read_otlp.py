"""Tests for perflab.monitoring._otlp: OTLP/JSON documents and the Collector's JSON lines.

The sample in data/sample/monitoring/ was written by the OpenTelemetry SDK (see
data/README.md); one test records values with the real SDK and checks the buckets.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perflab.errors import InputError
from perflab.monitoring.read import read_metrics, read_otlp
from tests.monitoring.helpers import SAMPLES, assert_metrics_schema, one_warning, utc


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


# ---------------------------------------------------------------------------------------
# bad input


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

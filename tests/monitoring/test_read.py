"""Tests for perflab.monitoring.read: what read_metrics itself does.

Dispatch by suffix and by content (OTLP or Prometheus JSON, OTLP JSON lines or a
table), gzip recognised by its bytes, BOM and CRLF, and the warnings for files that
give no sample. The parsers have their own modules: test_read_tabular.py,
test_read_prom.py and test_read_otlp.py.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError
from perflab.monitoring.read import read_metrics, read_otlp, read_prometheus
from tests.monitoring.helpers import (
    AT,
    CSV_TEXT,
    DATA,
    SAMPLES,
    assert_metrics_schema,
    no_warning,
    one_warning,
    read_quietly,
    utc,
)

# ---------------------------------------------------------------------------------------
# dispatch by suffix and content


def test_unknown_suffix_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "m.xlsx"
    p.write_bytes(b"PK")
    with pytest.raises(InputError, match=r"unknown file type '\.xlsx'"):
        read_metrics(p)


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


def test_collector_file_exporter_json_lines_with_json_suffix(tmp_path: Path) -> None:
    p = tmp_path / "collector.json"
    shutil.copy(SAMPLES / "otlp_metrics.jsonl", p)
    assert_frame_equal(read_metrics(p), read_metrics(SAMPLES / "otlp_metrics.jsonl"))


# ---------------------------------------------------------------------------------------
# compression and encodings, whatever the format


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


# ---------------------------------------------------------------------------------------
# files that give no sample


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

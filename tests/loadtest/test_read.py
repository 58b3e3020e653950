"""The load-test importers on real tool outputs (data/sample/loadtest/tools) and bad input.

Each reader is checked against what the tool itself printed in the same run (ab's and
wrk's summaries, hyperfine's means, Locust's failures file and history), on files cut
short, on malformed rows (file and line in the message), on empty files and with
errors="skip".
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError, ParameterError
from perflab.loadtest.aggregate import summary
from perflab.loadtest.read import (
    FORMATS,
    read_ab,
    read_asv,
    read_hey,
    read_hyperfine,
    read_jmeter,
    read_k6,
    read_locust,
    read_locust_history,
    read_pytest_benchmark,
    read_results,
    read_vegeta,
    read_wrk,
    sniff_format,
)
from perflab.loadtest.schema import REQUESTS, SUMMARY, TIMELINE
from tests.warned import no_warning, one_warning

TOOLS = Path(__file__).parents[2] / "data" / "sample" / "loadtest" / "tools"
DATA = Path(__file__).parent / "data"


def text_of(path: Path) -> str:
    raw = path.read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()


def ab_printed() -> dict[str, float]:
    """ab's printed summary of the run that wrote ab.tsv and ab.csv."""
    text = (TOOLS / "ab.txt").read_text()
    out = {"complete": float(re.search(r"Complete requests:\s+(\d+)", text)[1])}  # type: ignore[index]
    for pct, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", text, flags=re.M):
        out[pct] = float(ms)
    return out


def assert_schema(frame: pl.DataFrame, schema: object) -> None:
    assert dict(frame.schema) == {**schema.columns}  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------
# the real samples


def test_hey_has_a_row_per_request_and_the_503s() -> None:
    df = no_warning(read_hey, TOOLS / "hey.csv.gz", name="/api")
    assert_schema(df, REQUESTS)
    assert df.height == 2000  # hey -n 2000
    assert df["start"].is_sorted()
    assert (df["name"] == "/api").all()
    errors = df.filter(pl.col("error").is_not_null())
    assert set(errors["error"]) == {"http 503"}
    assert errors.height == (df["status"] == 503).sum() > 0
    # nginx fails ~5 % of /api requests: hey's CSV sees about that many
    assert 0.02 < errors.height / df.height < 0.09
    raw = pl.read_csv(TOOLS / "hey.csv.gz")
    assert df["latency_ms"].sum() == pytest.approx(raw["response-time"].sum() * 1000)


def test_ab_rows_agree_with_what_ab_printed() -> None:
    printed = ab_printed()
    rows = no_warning(read_ab, TOOLS / "ab.tsv")
    assert rows.height == printed["complete"] == 2000
    # ab's start times are whole seconds, too coarse to time the test: no start, and so
    # no made-up throughput from summary()
    assert rows["start"].null_count() == 2000
    assert summary(rows).row(0, named=True)["rps"] is None
    assert rows["latency_ms"].max() == printed["100"]  # the longest request
    table = no_warning(read_ab, TOOLS / "ab.csv").row(0, named=True)
    assert table["name"] == "all" and table["requests"] is None
    # ab -e keeps the fractions that ab's printed table rounds
    for pct, col in (("50", "p50_ms"), ("90", "p90_ms"), ("95", "p95_ms"), ("99", "p99_ms")):
        assert abs(table[col] - printed[pct]) < 1.0
    assert round(table["max_ms"]) == printed["100"]
    assert table["min_ms"] <= table["p50_ms"] <= table["p99_ms"] <= table["max_ms"]


def test_wrk_done_json_agrees_with_wrks_printed_summary(tmp_path: Path) -> None:
    done = no_warning(read_wrk, TOOLS / "wrk_done.txt").row(0, named=True)
    text = (TOOLS / "wrk_done.txt").read_text()
    printed_only = tmp_path / "printed.txt"
    printed_only.write_text("\n".join(x for x in text.split("\n") if not x.startswith("{")))
    printed = no_warning(read_wrk, printed_only).row(0, named=True)
    assert done["requests"] == printed["requests"] == 105384
    assert done["errors"] == printed["errors"] == 5355  # Non-2xx or 3xx responses
    assert done["rps"] == pytest.approx(printed["rps"], rel=1e-3)
    for col in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms"):
        assert done[col] == pytest.approx(printed[col], rel=0.01), col
    assert printed["p95_ms"] is None and done["p95_ms"] is not None
    assert printed["min_ms"] is None and done["min_ms"] > 0
    assert done["bytes"] == pytest.approx(printed["bytes"], rel=0.01)


def test_wrk_latency_text() -> None:
    row = no_warning(read_wrk, TOOLS / "wrk_latency.txt", name="/api").row(0, named=True)
    assert row["name"] == "/api"
    assert row["requests"] == 114744 and row["duration_s"] == 2.1
    assert row["p50_ms"] == pytest.approx(0.137) and row["p99_ms"] == pytest.approx(2.64)
    assert row["rps"] == 54649.99 and row["errors"] == 5702


def test_hyperfine_runs_match_its_means() -> None:
    df = no_warning(read_hyperfine, TOOLS / "hyperfine.json")
    doc = json.loads((TOOLS / "hyperfine.json").read_text())
    assert df.height == sum(len(r["times"]) for r in doc["results"]) == 45
    means = df.group_by("name", maintain_order=True).agg(pl.col("latency_ms").mean())
    for res, (name, mean) in zip(doc["results"], means.iter_rows(), strict=True):
        assert name == res["command"] and mean == pytest.approx(res["mean"] * 1000)
    printed = re.findall(r"Time \(mean ± σ\):\s+([\d.]+) ms", (TOOLS / "hyperfine.txt").read_text())
    assert [round(m, 1) for m in means["latency_ms"]] == [float(x) for x in printed]
    fails = df.filter(pl.col("name") == "fail")
    assert set(fails["error"]) == {"exit 22"}  # curl -f on a 503
    assert df.filter(pl.col("name") != "fail")["error"].null_count() == 30


def test_locust_stats_against_its_history_and_failures() -> None:
    stats = no_warning(read_locust, TOOLS / "locust")
    assert_schema(stats, SUMMARY)
    assert stats["name"].to_list() == ["/", "/api", "/big.bin", "/missing", "all"]
    named = stats.filter(pl.col("name") != "all")
    total = stats.filter(pl.col("name") == "all").row(0, named=True)
    assert total["requests"] == named["requests"].sum()
    assert total["errors"] == named["errors"].sum()
    # the failures file counts the same failures
    failures = pl.read_csv(TOOLS / "locust_failures.csv")
    for name, n in failures.select("Name", "Occurrences").iter_rows():
        assert stats.filter(pl.col("name") == name)["errors"].item() == n
    # the history's totals grow to the stats file's counts
    history = no_warning(read_locust_history, TOOLS / "locust")
    assert_schema(history.drop("users"), TIMELINE)
    sums = history.group_by("name").agg(pl.col("requests").sum(), pl.col("errors").sum())
    joined = stats.join(sums, on="name", suffix="_history")
    assert (joined["requests"] == joined["requests_history"]).all()
    assert (joined["errors"] == joined["errors_history"]).all()
    assert history["second"].is_sorted() and history["users"].max() == 10
    # the console summary (written at exit) has more: the CSV misses the last fraction
    console = re.search(r"Aggregated\s+(\d+)", (TOOLS / "locust.txt").read_text())
    assert int(console[1]) > total["requests"]  # type: ignore[index]
    # the stats file path works as well as the prefix
    assert_frame_equal(read_locust(TOOLS / "locust_stats.csv"), stats)


def test_jmeter_samples_and_their_failures() -> None:
    df = no_warning(read_jmeter, TOOLS / "jmeter.jtl.gz")
    assert df.height == 5 * 60 * 3 + 3  # shoppers: 5 threads × 60 loops × 3; refused: 3
    assert df["start"].is_sorted() and df["start"].min() == 0.0
    assert set(df["name"]) == {"home", "api", "download", "closed port"}
    refused = df.filter(pl.col("name") == "closed port")
    assert refused["status"].null_count() == 3
    assert set(refused["error"]) == {
        "java.net.ConnectException: Connection refused (Connection refused)"
    }
    api = df.filter(pl.col("name") == "api")
    assert (api.filter(pl.col("status") == 503)["error"] == "http 503").all()
    assert df.filter(pl.col("status") == 200)["error"].null_count() == (df["status"] == 200).sum()
    assert df.filter(pl.col("name") == "download")["bytes"].min() > 256 * 1024


def test_k6_points_and_summary_export_tell_the_same_story() -> None:
    points = no_warning(read_k6, TOOLS / "k6.json.gz")
    summary = no_warning(read_k6, TOOLS / "k6_summary.json").row(0, named=True)
    assert points.height == summary["requests"] == 32
    assert points["error"].is_not_null().sum() == summary["errors"] == 12
    assert points["latency_ms"].mean() == pytest.approx(summary["mean_ms"])
    assert points["latency_ms"].max() == pytest.approx(summary["max_ms"])
    assert points["latency_ms"].quantile(0.95, "linear") == pytest.approx(summary["p95_ms"])
    refused = points.filter(pl.col("status").is_null())
    assert set(refused["error"]) == {"dial: connection refused"}
    assert set(points.filter(pl.col("status") == 404)["error"]) == {"http 404"}
    assert summary["p99_ms"] is None  # not in k6's default summaryTrendStats
    assert summary["bytes"] > 0


def test_k6_handle_summary_data() -> None:
    row = read_k6(DATA / "k6_handle_summary.json").row(0, named=True)
    assert row["requests"] == 16510 and row["errors"] == 165
    assert row["duration_s"] == pytest.approx(30.0184068)
    assert row["p99_ms"] == 17.4 and row["error_rate"] == 0.01


def test_vegeta_json_and_csv_read_the_same() -> None:
    js = no_warning(read_vegeta, TOOLS / "vegeta.json")
    cs = no_warning(read_vegeta, TOOLS / "vegeta.csv.gz")
    assert_frame_equal(js, cs)
    assert js.height == 202
    assert js["start"].is_sorted()
    assert set(js.filter(pl.col("status") == 404)["error"]) == {"http 404"}
    refused = js.filter(pl.col("status").is_null())
    assert refused.height == 2 and refused["error"][0].endswith("connection refused")


def test_vegeta_old_csv_without_url() -> None:
    df = read_vegeta(DATA / "vegeta_v8.csv")
    assert df["name"].to_list() == [None, None]
    assert df["start"].to_list() == [0.0, 0.5]
    assert df["latency_ms"].to_list() == [1.0, 30000.0]
    assert df["status"].to_list() == [200, None]
    assert df["error"][1].endswith("timeout awaiting response headers")


def test_pytest_benchmark_rounds_and_summary() -> None:
    doc = json.loads((TOOLS / "pytest_benchmark.json").read_text())
    df = no_warning(read_pytest_benchmark, TOOLS / "pytest_benchmark.json")
    assert_schema(df, REQUESTS)
    per = df.group_by("name", maintain_order=True).agg(
        pl.len(), pl.col("latency_ms").mean(), pl.col("latency_ms").median().alias("med")
    )
    for b, (name, n, mean, med) in zip(doc["benchmarks"], per.iter_rows(), strict=True):
        assert name == b["fullname"] and n == b["stats"]["rounds"]
        assert mean == pytest.approx(b["stats"]["mean"] * 1000)
        assert med == pytest.approx(b["stats"]["median"] * 1000)
    saved = no_warning(read_pytest_benchmark, TOOLS / "pytest_benchmark_saved.json")
    assert_schema(saved, SUMMARY)
    assert saved["name"].to_list() == [b["fullname"] for b in doc["benchmarks"]]
    assert (saved["p50_ms"] <= saved["max_ms"]).all() and (saved["errors"] == 0).all()


def test_asv_results_and_samples() -> None:
    summary = no_warning(read_asv, TOOLS / "asv.json")
    assert summary["name"].to_list() == [
        "bench.Suite.time_sort",
        "bench.time_json_dumps(100)",
        "bench.time_json_dumps(1000)",
    ]  # track_len and peakmem_list hold no time
    doc = json.loads((TOOLS / "asv.json").read_text())["results"]
    assert summary["p50_ms"][0] == pytest.approx(doc["bench.Suite.time_sort"][0][0] * 1000)
    samples = no_warning(read_asv, TOOLS / "asv_samples.json")
    doc = json.loads((TOOLS / "asv_samples.json").read_text())["results"]
    assert samples.height == 30
    medians = samples.group_by("name", maintain_order=True).agg(pl.col("latency_ms").median())
    results = doc["bench.Suite.time_sort"][0] + doc["bench.time_json_dumps"][0]
    for (_, med), result in zip(medians.iter_rows(), results, strict=True):
        assert med == pytest.approx(result * 1000, rel=1e-6)  # asv's result is the median


def test_read_results_sniffs_every_sample() -> None:
    expected = {
        "hey.csv.gz": "hey",
        "ab.tsv": "ab",
        "ab.csv": "ab",
        "wrk_done.txt": "wrk",
        "wrk_latency.txt": "wrk",
        "hyperfine.json": "hyperfine",
        "locust_stats.csv": "locust",
        "locust_stats_history.csv": "locust_history",
        "jmeter.jtl.gz": "jmeter",
        "k6.json.gz": "k6",
        "k6_summary.json": "k6",
        "vegeta.json": "vegeta",
        "vegeta.csv.gz": "vegeta",
        "pytest_benchmark.json": "pytest_benchmark",
        "pytest_benchmark_saved.json": "pytest_benchmark",
        "asv.json": "asv",
        "asv_samples.json": "asv",
    }
    assert set(expected.values()) == set(FORMATS) - {"perflab"}  # test_folder.py: perflab
    for name, fmt in expected.items():
        assert sniff_format(TOOLS / name) == fmt, name
        assert read_results(TOOLS / name).height > 0


def test_read_results_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"x\.csv:1: not a format.*hey -o csv.*asv"):
        read_results(p)
    q = tmp_path / "y.json"
    q.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="JSON, but not a format"):
        read_results(q)
    with pytest.raises(ParameterError, match="format must be one of"):
        read_results(p, format="gatling")


# ---------------------------------------------------------------------------------------
# bad input


def cut(path: Path, dest: Path, keep: int) -> int:
    """Write ``path``'s text to ``dest`` without its last ``keep`` characters; the line
    count of what is left (its last line is cut short)."""
    text = text_of(path).rstrip("\n")[:-keep].rstrip()
    dest.write_text(text)
    return len(text.split("\n"))


@pytest.mark.parametrize(
    ("sample", "reader", "rows"),
    [
        ("hey.csv.gz", read_hey, 2000),
        ("ab.tsv", read_ab, 2000),
        ("jmeter.jtl.gz", read_jmeter, 903),
        ("vegeta.csv.gz", read_vegeta, 202),
        ("vegeta.json", read_vegeta, 202),
        ("k6.json.gz", read_k6, 32),
    ],
)
def test_a_file_cut_short(tmp_path: Path, sample: str, reader, rows: int) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / sample.removesuffix(".gz")
    last = cut(TOOLS / sample, p, 15)
    with pytest.raises(InputError) as err:
        reader(p)
    assert err.value.line == last and err.value.source == str(p)
    df, message = one_warning(reader, p, errors="skip")
    assert "skipped 1 unreadable line(s)" in message and f"line {last}" in message
    assert df.height == rows - (0 if sample.startswith("k6") else 1)


def test_a_gzip_stream_cut_short(tmp_path: Path) -> None:
    data = (TOOLS / "hey.csv.gz").read_bytes()
    p = tmp_path / "hey.csv.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_hey(p)
    df, message = one_warning(read_hey, p, errors="skip")
    assert 0 < df.height < 2000 and "truncated" in message


def test_malformed_rows_name_file_and_line(tmp_path: Path) -> None:
    bad = DATA / "vegeta_bad_latency.csv"
    with pytest.raises(InputError, match=r"vegeta_bad_latency\.csv:3: latency 'abc' is not"):
        read_vegeta(bad)
    df, message = one_warning(read_vegeta, bad, errors="skip")
    assert df.height == 2 and "skipped 1" in message
    jtl = DATA / "jtl_bad_timestamp.jtl"
    with pytest.raises(InputError, match=r"jtl_bad_timestamp\.jtl:3: timeStamp '2023/11/14"):
        read_jmeter(jtl)
    df, _ = one_warning(read_jmeter, jtl, errors="skip")
    assert df["start"].to_list() == [0.0, 0.5]
    p = tmp_path / "hey.csv"
    p.write_text(
        "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,"
        "status-code,offset\n0.0023,0,0,0,0,0,200,0.1\n0.0015,0,0,0,0,0,2x0,0.2\n"
    )
    with pytest.raises(InputError, match=r"hey\.csv:3: status-code '2x0' is not a number"):
        read_hey(p)


def test_jmeter_success_decides_the_error() -> None:
    df = read_jmeter(DATA / "jtl_assertion.jtl")
    assert df["error"].to_list() == [
        "Test failed: text expected to contain /Welcome, friend/",
        None,  # JMeter called the 404 a success
    ]


def test_jmeter_without_its_header(tmp_path: Path) -> None:
    p = tmp_path / "noheader.jtl"
    p.write_text("1700000000000,12,home,200,OK,tg 1-1,text,true,,847\n")
    with pytest.raises(InputError, match=r"noheader\.jtl:1: a JMeter CSV without its header"):
        read_jmeter(p)


def test_json_documents_cut_short(tmp_path: Path) -> None:
    for sample, reader in (
        ("hyperfine.json", read_hyperfine),
        ("asv.json", read_asv),
        ("pytest_benchmark_saved.json", read_pytest_benchmark),
        ("k6_summary.json", read_k6),
    ):
        p = tmp_path / sample
        last = cut(TOOLS / sample, p, 40)
        for mode in ("raise", "skip"):
            with pytest.raises(InputError, match="cut short") as err:
                reader(p, errors=mode)
            assert err.value.line == last


def test_json_entries_of_the_wrong_shape(tmp_path: Path) -> None:
    p = tmp_path / "hf.json"
    p.write_text(json.dumps({"results": [{"command": "a", "times": [0.1]}, {"command": "b"}]}))
    with pytest.raises(InputError, match=r"results\[1\]: no 'times'"):
        read_hyperfine(p)
    df, message = one_warning(read_hyperfine, p, errors="skip")
    assert df["name"].to_list() == ["a"] and "skipped 1" in message
    old = tmp_path / "asv-old.json"
    old.write_text(json.dumps({"results": {"time_x": 1.0}, "version": 1}))
    with pytest.raises(InputError, match=r"asv < 0\.5"):
        read_asv(old)


def test_wrk_broken_done_line_falls_back_to_the_printed_summary(tmp_path: Path) -> None:
    text = (TOOLS / "wrk_done.txt").read_text()
    p = tmp_path / "wrk.txt"
    p.write_text(text.rstrip("\n")[:-30] + "\n")
    with pytest.raises(InputError, match="done\\(\\) JSON that does not parse"):
        read_wrk(p)
    row, message = one_warning(read_wrk, p, errors="skip")
    assert "does not parse" in message
    assert row["requests"].item() == 105384 and row["p95_ms"].item() is None
    q = tmp_path / "nothing.txt"
    q.write_text("Running 2s test @ http://127.0.0.1:1/\n  2 threads and 10 connections\n")
    with pytest.raises(InputError, match="no 'N requests in"):
        read_wrk(q)


@pytest.mark.parametrize(
    ("reader", "schema"),
    [
        (read_hey, REQUESTS),
        (read_ab, REQUESTS),
        (read_jmeter, REQUESTS),
        (read_vegeta, REQUESTS),
        (read_k6, REQUESTS),
        (read_hyperfine, REQUESTS),
        (read_pytest_benchmark, REQUESTS),
        (read_asv, REQUESTS),
        (read_wrk, SUMMARY),
        (read_locust, SUMMARY),
        (read_results, REQUESTS),
    ],
)
def test_empty_files(tmp_path: Path, reader, schema) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "empty_stats.csv"
    p.write_text("")
    df = no_warning(reader, p)
    assert df.height == 0
    assert_schema(df, schema)
    history = no_warning(read_locust_history, p)
    assert history.height == 0 and "users" in history.columns


def test_header_only_files_warn_that_they_hold_nothing(tmp_path: Path) -> None:
    p = tmp_path / "hey.csv"
    p.write_text(
        "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,"
        "status-code,offset\n"
    )
    df, message = one_warning(read_hey, p)
    assert df.height == 0 and "header but no rows" in message


def test_the_wrong_tool_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r":1: not hey -o csv output: the header lacks"):
        read_hey(TOOLS / "locust_stats.csv")
    with pytest.raises(InputError, match="not Locust's"):
        read_locust(TOOLS / "ab.csv")
    with pytest.raises(InputError, match="no such file, nor"):
        read_locust(tmp_path / "nope")

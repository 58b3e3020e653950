"""Reading what a user points the notebook at: a folder of tool outputs, perflab's own
saved runs, a history file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from perflab.errors import InputError, SchemaError
from perflab.loadtest import (
    REQUESTS,
    read_folder,
    read_history,
    read_results,
    run_changes,
    sniff_format,
    summary,
)

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "loadtest"


def test_a_folder_of_tool_outputs_reads_every_result_file_and_passes_over_the_rest():
    found = read_folder(SAMPLE / "tools")
    assert {"hey.csv.gz", "k6.json.gz", "locust_stats.csv", "wrk_done.txt"} <= set(found)
    # printed summaries and Locust's failure list are not result files
    assert not {"ab.txt", "hyperfine.txt", "locust.txt", "locust_failures.csv"} & set(found)
    assert list(read_folder(SAMPLE / "tools", names=["ab.csv"])) == ["ab.csv"]
    with pytest.raises(InputError, match="no such folder"):
        read_folder(SAMPLE / "nope")


def test_perflab_runs_saved_as_parquet_or_csv_read_like_any_tool(tmp_path: Path):
    run = read_results(SAMPLE / "baseline.parquet")
    assert sniff_format(SAMPLE / "baseline.parquet") == "perflab"
    assert run.columns == REQUESTS.names and run.height == 8000
    csv = tmp_path / "run.csv"
    run.head(100).write_csv(csv)
    assert sniff_format(csv) == "perflab"
    assert summary(read_results(csv))["requests"][0] == 100
    table = tmp_path / "summary.csv"
    summary(run).write_csv(table)
    assert read_results(table)["name"][0] == "all"


def test_history_files_and_default_metrics(tmp_path: Path):
    nights = read_history(SAMPLE / "history.csv")
    assert nights.schema["time"] == pl.Datetime("us")
    only_p95 = nights.select("run", "time", "p95_ms")
    changes = run_changes(only_p95)  # the default metrics the history has
    assert changes["metric"].unique().to_list() == ["p95_ms"]
    with pytest.raises(SchemaError, match="none of the columns"):
        run_changes(nights.select("run", "time"))
    bad = tmp_path / "h.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InputError, match="not a CSV or Parquet history"):
        read_history(bad)


def test_a_folder_without_result_files_says_so(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("nothing to read here\n")
    with pytest.warns(UserWarning, match="no result file perflab recognises.*notes.txt"):
        assert read_folder(tmp_path) == {}

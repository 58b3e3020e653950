"""The Parquet history of figures: one file per run, read back as one frame."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.report import history, previous_value
from perflab.report.store import HISTORY, append_run, changes, read_history, trends

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _fig(name: str, value: float, better: str | None = "lower", unit: str = "ms") -> dict:
    return {"name": name, "value": value, "unit": unit, "better": better, "label": None}


def _three_runs(out: Path) -> None:
    values = {"p95_ms": [250.0, 240.0, 260.0], "rps": [90.0, 100.0, 100.0]}
    for i, run_id in enumerate(["r1", "r2", "r3"]):
        append_run(
            out,
            run_id,
            T0 + timedelta(hours=i),
            {
                "monitoring": [
                    _fig("p95_ms", values["p95_ms"][i]),
                    _fig("rps", values["rps"][i], better="higher", unit="1/s"),
                ]
            },
        )


def test_each_run_is_one_parquet_file_and_history_reads_them_all(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == [
        "r1.parquet",
        "r2.parquet",
        "r3.parquet",
    ]
    frame = history(tmp_path)
    assert frame.schema == pl.Schema(HISTORY.columns)
    assert frame.height == 6
    assert frame.get_column("run_id").to_list() == ["r1", "r1", "r2", "r2", "r3", "r3"]
    assert frame.get_column("started_at").is_sorted()


def test_history_of_a_fresh_directory_is_empty_with_the_schema(tmp_path: Path) -> None:
    assert_frame_equal(read_history(tmp_path), HISTORY.empty())


def test_previous_value_is_the_latest_run_before(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    assert previous_value(tmp_path, "monitoring", "p95_ms") == 260.0
    assert previous_value(tmp_path, "monitoring", "p95_ms", before="r3") == 240.0
    assert previous_value(tmp_path, "monitoring", "p95_ms", before="r1") is None
    assert previous_value(tmp_path, "monitoring", "nope") is None


def test_changes_against_the_previous_run_follow_the_better_direction(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    frame = read_history(tmp_path)
    r2 = changes(frame, "r2").select("figure", "previous", "change", "verdict")
    assert r2.rows() == [("p95_ms", 250.0, -10.0, "better"), ("rps", 90.0, 10.0, "better")]
    r3 = changes(frame, "r3").select("figure", "verdict")
    assert r3.rows() == [("p95_ms", "worse"), ("rps", "same")]
    first = changes(frame, "r1")
    assert first.get_column("verdict").to_list() == [None, None]
    # change_pct cross-checked with numpy
    pct = changes(frame, "r3").get_column("change_pct").to_numpy()
    np.testing.assert_allclose(pct, 100 * (np.array([260.0, 100.0]) - [240.0, 100.0]) / [240, 100])


def test_figures_without_a_direction_are_neutral_and_zero_previous_gives_no_pct(
    tmp_path: Path,
) -> None:
    for i, value in enumerate([0.0, 5.0]):
        append_run(
            tmp_path, f"r{i}", T0 + timedelta(days=i), {"nb": [_fig("count", value, better=None)]}
        )
    row = changes(read_history(tmp_path), "r1").row(0, named=True)
    assert row["verdict"] == "neutral"
    assert row["change"] == 5.0 and row["change_pct"] is None


def test_a_figure_recorded_twice_in_a_run_keeps_its_last_value(tmp_path: Path) -> None:
    append_run(tmp_path, "r1", T0, {"nb": [_fig("p95_ms", 1.0), _fig("p95_ms", 2.0)]})
    assert read_history(tmp_path).get_column("value").to_list() == [2.0]


def test_trends_list_values_oldest_first(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    lines = trends(read_history(tmp_path), last=2)
    assert lines.rows() == [
        ("monitoring", "p95_ms", [240.0, 260.0], ["r2", "r3"]),
        ("monitoring", "rps", [100.0, 100.0], ["r2", "r3"]),
    ]


def test_writing_leaves_no_temporary_file(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    assert [p.name for p in (tmp_path / "history").iterdir() if p.suffix != ".parquet"] == []


def test_non_finite_values_cannot_enter_the_history(tmp_path: Path) -> None:
    from perflab.errors import SchemaError

    with pytest.raises(SchemaError, match="NaN or infinite"):
        append_run(tmp_path, "r1", T0, {"nb": [_fig("x", float("inf"))]})
    assert not (tmp_path / "history" / "r1.parquet").exists()


@pytest.mark.parametrize(
    "damage",
    ["cut in half", "empty", "not parquet", "another schema"],
)
def test_an_unreadable_history_file_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    _three_runs(tmp_path)
    victim = tmp_path / "history" / "r2.parquet"
    data = victim.read_bytes()
    if damage == "cut in half":  # a crash mid-write by something that was not atomic
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "not parquet":
        victim.write_text("run_id,value\nr2,1\n")
    else:
        pl.DataFrame({"run_id": ["r2"], "score": [1.0]}).write_parquet(victim)
    with caplog.at_level(logging.WARNING, logger="perflab.report.store"):
        frame = read_history(tmp_path)
    assert frame.get_column("run_id").unique(maintain_order=True).to_list() == ["r1", "r3"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "r2.parquet" in warnings[0].getMessage()
    assert victim.exists()  # left for the user to look at


def test_a_hidden_temporary_file_is_not_read_as_history(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    (tmp_path / "history" / ".r4.parquet").write_bytes(b"half a file")
    assert read_history(tmp_path).get_column("run_id").n_unique() == 3

"""The reports directory over many runs: run ids, ``latest``, a damaged history.

These runs have no notebooks (no kernel to start): what is tested is what ``run``
does around them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

import perflab.report.runner as runner
from perflab.report import history, run
from perflab.report.store import append_run

T0 = datetime(2026, 11, 27, 21, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def empty_notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return folder


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run starts at T0, as two runs started in the same second would."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return T0

    monkeypatch.setattr(runner, "datetime", Frozen)


def test_runs_started_in_the_same_second_get_distinct_complete_directories(
    tmp_path: Path, empty_notebooks: Path, frozen_clock: None
) -> None:
    out = tmp_path / "reports"
    (out / ".20261127T210000Z-2.partial").mkdir(parents=True)  # an interrupted run
    ids = [run(empty_notebooks, out, progress=False).run_id for _ in range(3)]
    assert ids == ["20261127T210000Z", "20261127T210000Z-3", "20261127T210000Z-4"]
    for run_id in ids:
        assert sorted(p.name for p in (out / run_id).iterdir()) == ["index.html", "manifest.json"]
        assert (out / "history" / f"{run_id}.parquet").is_file()
    assert (out / "latest").resolve() == (out / ids[-1]).resolve()
    assert history(out).height == 0  # no figures, but nothing broke


def test_a_damaged_history_file_does_not_stop_the_next_run(
    tmp_path: Path, empty_notebooks: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "reports"
    append_run(out, "20260101T000000Z", T0, {"nb": [{"name": "x", "value": 1.0}]})
    (out / "history" / "20260102T000000Z.parquet").write_bytes(b"PAR1 and then the crash")
    with caplog.at_level(logging.WARNING, logger="perflab.report.store"):
        result = run(empty_notebooks, out, progress=False)
    assert result.index.is_file()
    assert "20260102T000000Z.parquet" in caplog.text
    assert history(out).get_column("run_id").to_list() == ["20260101T000000Z"]
    assert (out / "history" / f"{result.run_id}.parquet").is_file()  # appended as usual


def test_a_latest_folder_of_the_users_is_left_alone(
    tmp_path: Path, empty_notebooks: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "reports"
    (out / "latest").mkdir(parents=True)
    (out / "latest" / "notes.txt").write_text("mine")
    with caplog.at_level(logging.WARNING, logger="perflab.report.runner"):
        result = run(empty_notebooks, out, progress=False)
    assert result.index.is_file()
    assert (out / "latest" / "notes.txt").read_text() == "mine"
    assert "is not a symlink" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == sorted(["history", "latest", result.run_id])


def test_a_dangling_latest_symlink_is_replaced(tmp_path: Path, empty_notebooks: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "latest").symlink_to("a-run-that-was-deleted")
    result = run(empty_notebooks, out, progress=False)
    assert (out / "latest").resolve() == result.path.resolve()

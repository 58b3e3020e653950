"""``perflab index``: the dashboards drawn again from the history alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from perflab.cli import main
from perflab.errors import ParameterError
from perflab.report.rebuild import rebuild
from perflab.report.store import append_run

START = datetime(2026, 11, 1, tzinfo=UTC)


def history(out: Path, values: list[float], *, dirs: bool = True) -> list[str]:
    ids = []
    for i, value in enumerate(values):
        run_id = f"202611{i + 1:02d}T000000Z"
        figs = {"monitoring": [{"name": "p95_ms", "value": value, "unit": "ms", "better": "lower"}]}
        append_run(out, run_id, START + timedelta(days=i), figs)
        if dirs:
            (out / run_id).mkdir()
        ids.append(run_id)
    return ids


def test_the_latest_dashboard_comes_back_from_the_history(tmp_path: Path) -> None:
    ids = history(tmp_path, [240.0, 250.0, 300.0])
    written = rebuild(tmp_path)
    assert written == [tmp_path / ids[-1] / "index.html", tmp_path / "index.html"]
    page = written[0].read_text()
    assert "300 ms" in page and "was 250 ms" in page  # value and change from the history
    assert 'href="monitoring.html"' in page
    assert f'href="../{ids[1]}/index.html"' in page
    runs = (tmp_path / "index.html").read_text()
    assert [runs.index(r) for r in reversed(ids)] == sorted(runs.index(r) for r in ids)
    assert all(f'<a href="{r}/index.html">' in runs for r in ids)


def test_a_manifest_gives_statuses_and_labels(tmp_path: Path) -> None:
    ids = history(tmp_path, [240.0, 250.0])
    manifest = {
        "run_id": ids[0],
        "started_at": START.isoformat(),
        "notebooks": [
            {
                "name": "monitoring",
                "status": "failed",
                "duration_s": 2.0,
                "error": "Boom",
                "html": "monitoring.html",
                "ipynb": None,
                "parameters": {},
                "figures": [
                    {
                        "name": "p95_ms",
                        "value": 240.0,
                        "unit": "ms",
                        "better": "lower",
                        "label": "p95 latency",
                    }
                ],
            },
        ],
    }
    (tmp_path / ids[0] / "manifest.json").write_text(json.dumps(manifest))
    (page,) = [p for p in rebuild(tmp_path, runs="all") if p.parent.name == ids[0]]
    text = page.read_text()
    assert "p95 latency" in text and "Boom" in text
    assert "was" not in text  # the first run has no previous value


def test_runs_without_a_directory_are_listed_not_linked(tmp_path: Path) -> None:
    ids = history(tmp_path, [240.0, 250.0], dirs=False)
    (tmp_path / ids[1]).mkdir()
    rebuild(tmp_path)
    runs = (tmp_path / "index.html").read_text()
    assert f"{ids[0]} (directory gone)" in runs and f'<a href="{ids[1]}/index.html">' in runs
    with pytest.raises(ParameterError, match=ids[0]):
        rebuild(tmp_path, runs=[ids[0]])


def test_cli_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = history(tmp_path, [240.0, 250.0])
    assert main(["index", "--out", str(tmp_path), "--run", ids[0]]) == 0
    assert capsys.readouterr().out.split() == [
        str(tmp_path / ids[0] / "index.html"),
        str(tmp_path / "index.html"),
    ]
    assert main(["index", "--out", str(tmp_path), "--run", "nope"]) == 2


def test_an_empty_reports_directory_gives_an_empty_list(tmp_path: Path) -> None:
    assert rebuild(tmp_path) == [tmp_path / "index.html"]
    assert "0 run(s)" in (tmp_path / "index.html").read_text()


def test_the_one_call_reader_agrees_with_the_file_by_file_one(tmp_path: Path) -> None:
    from polars.testing import assert_frame_equal

    from perflab.report.store import _read_each, history_dir, read_history

    history(tmp_path, [240.0, 250.0, 260.0])
    files = sorted(history_dir(tmp_path).glob("*.parquet"))
    assert_frame_equal(read_history(tmp_path), _read_each(tmp_path, files))
    (history_dir(tmp_path) / "cut.parquet").write_bytes(b"PAR1 cut short")
    assert read_history(tmp_path).height == 3
    assert read_history(tmp_path)["value"].to_list() == [240.0, 250.0, 260.0]

"""End-to-end: a batch of fixture notebooks through papermill, nbconvert and the index.

The runs come from session fixtures (tests/report/conftest.py): run 1 holds a good
notebook (chart + figures, reads a CSV relative to its own directory), one that raises
and one fed ``<script>alert(1)</script>`` and two secrets as parameters; run 2 re-runs
the good one with another SLO. Notebooks and reports live in paths with spaces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import numpy as np
import polars as pl
import pytest

from perflab.report import history, previous_value

if TYPE_CHECKING:
    from conftest import Run

XSS = "<script>alert(1)</script>"

BUNDLE_MARK = "window.vegaEmbed="


def test_manifest_lists_every_notebook_with_status_outputs_and_parameters(first_run: Run) -> None:
    notebooks = first_run.manifest["notebooks"]
    assert [nb["name"] for nb in notebooks] == ["good", "raises", "xss"]
    assert {nb["name"]: nb["status"] for nb in notebooks} == {
        "good": "ok",
        "raises": "failed",
        "xss": "ok",
    }
    for nb in notebooks:
        assert set(nb) >= {"name", "status", "duration_s", "figures", "parameters", "error"}
        assert nb["duration_s"] > 0
        assert (first_run.path / nb["html"]).is_file()
        assert (first_run.path / nb["ipynb"]).is_file()
    assert first_run.notebook("good")["error"] is None
    assert first_run.notebook("xss")["parameters"] == {
        "payload": XSS,
        "dsn": "postgresql://perflab:***@db.internal/app",
        "api_token": "***",
    }
    on_disk = json.loads((first_run.path / "manifest.json").read_text())
    assert on_disk["run_id"] == first_run.run_id == first_run.path.name
    assert re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", first_run.run_id)


def test_figures_recorded_in_the_kernel_reach_the_manifest(
    first_run: Run, fixture_notebooks: Path
) -> None:
    # The good notebook computes the p95 of data/latency.csv (a path relative to the
    # notebook's directory) and its headroom against slo_ms = 250.
    durations = pl.read_csv(fixture_notebooks / "data" / "latency.csv").get_column("duration_ms")
    p95 = float(np.percentile(durations.to_numpy(), 95, method="nearest"))
    figures = {f["name"]: f for f in first_run.notebook("good")["figures"]}
    assert figures["p95_ms"] == {
        "name": "p95_ms",
        "value": p95,
        "unit": "ms",
        "better": "lower",
        "label": "p95 latency",
    }
    assert figures["headroom_ms"]["value"] == 250.0 - p95
    assert figures["headroom_ms"]["better"] == "higher"


def test_failed_notebook_is_rendered_with_its_error(first_run: Run) -> None:
    entry = first_run.notebook("raises")
    assert entry["error"].startswith("RuntimeError: threshold exceeded: " + XSS)
    # the figure recorded before the failure is kept
    assert [f["name"] for f in entry["figures"]] == ["before_failure"]
    page = first_run.page("raises")
    assert "An Exception was encountered" in page  # papermill's banner
    assert "RuntimeError" in page and "about to fail" in page
    assert "never printed" not in page
    executed = nbformat.read(first_run.path / "raises.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["RuntimeError"]


def test_index_tiles_link_each_page_and_show_the_error(first_run: Run) -> None:
    index = (first_run.path / "index.html").read_text()
    for name in ("good", "raises", "xss"):
        assert f'href="{name}.html"' in index
    assert "threshold exceeded: &lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert 'class="badge failed"' in index and 'class="badge ok"' in index
    assert "p95 latency" in index


def test_no_report_page_loads_anything_from_the_network(
    main_runs: list[Run], find_remote_loads: Callable[[str], list[str]]
) -> None:
    pages = sorted(main_runs[0].out.rglob("*.html"))
    assert len(pages) >= 6
    for page in pages:
        text = page.read_text()
        assert find_remote_loads(text) == [], page
        assert "require.min.js" not in text and "MathJax" not in text and "mermaid.esm" not in text


def test_injected_script_never_appears_unescaped(main_runs: list[Run]) -> None:
    for page in sorted(main_runs[0].out.rglob("*.html")):
        assert XSS not in page.read_text(), page
    xss = main_runs[0].page("xss")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    # printed text, the DataFrame cell and the Markdown output (its markup rendered)
    assert xss.count(escaped) >= 3
    assert f"<strong>payload</strong>: {escaped}" in xss
    assert "\\u003cscript\\u003ealert(1)\\u003c\\/script\\u003e" in xss  # chart data/title


def test_secret_parameters_reach_the_kernel_but_no_report_file(
    first_run: Run, secrets: dict[str, str]
) -> None:
    figures = {f["name"]: f["value"] for f in first_run.notebook("xss")["figures"]}
    assert figures["secret_chars"] == sum(len(v) for v in secrets.values())
    for path in sorted(first_run.out.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".json"):
            assert "s3cr3t" not in path.read_text(encoding="utf-8"), path
    executed = nbformat.read(first_run.path / "xss.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters["api_token"] == "***"


def test_vega_bundle_inlined_once_in_pages_with_charts_only(first_run: Run) -> None:
    assert first_run.page("good").count(BUNDLE_MARK) == 1
    assert first_run.page("xss").count(BUNDLE_MARK) == 1
    assert first_run.page("raises").count(BUNDLE_MARK) == 0
    assert "vegaEmbed" not in (first_run.path / "index.html").read_text()


def test_code_cells_are_hidden_by_default(first_run: Run) -> None:
    page = first_run.page("good")
    assert "report.figure" not in page and "vega.activate" not in page
    assert 'class="jp-InputPrompt' not in page and 'class="jp-OutputPrompt' not in page
    assert "Latency against the SLO" in page  # markdown stays


def test_executed_notebook_carries_the_injected_parameters(first_run: Run) -> None:
    executed = nbformat.read(first_run.path / "xss.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and json.dumps(XSS) in injected[0].source
    assert 'api_token = "***"' in injected[0].source


def test_history_grows_and_the_second_index_shows_the_change(
    first_run: Run, second_run: Run
) -> None:
    frame = history(first_run.out)
    columns = ["run_id", "started_at", "notebook", "figure", "value", "unit", "better"]
    assert frame.columns == columns
    assert frame.schema["started_at"] == pl.Datetime("us", "UTC")
    assert frame.get_column("run_id").unique(maintain_order=True).to_list() == [
        first_run.run_id,
        second_run.run_id,
    ]
    first_headroom = previous_value(first_run.out, "good", "headroom_ms", before=second_run.run_id)
    second_headroom = {f["name"]: f for f in second_run.notebook("good")["figures"]}["headroom_ms"][
        "value"
    ]
    assert second_headroom - first_headroom == pytest.approx(50.0)  # slo_ms 250 → 300

    first_index = (first_run.path / "index.html").read_text()
    second_index = (second_run.path / "index.html").read_text()
    assert "<svg" not in first_index and "was " not in first_index
    # headroom went up and higher is better: green; p95 did not move
    assert re.search(r'class="change better">▲ [\d.]+ % \(was [\d.]+ ms\)', second_index)
    assert 'class="change same">no change' in second_index
    assert second_index.count('<svg class="spark"') == 2
    assert f'href="../{first_run.run_id}/index.html"' in second_index


def test_run_directories_are_complete_and_latest_points_at_the_newest(
    main_runs: list[Run],
) -> None:
    out = main_runs[0].out
    runs = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    assert runs == sorted([r.run_id for r in main_runs] + ["history"])
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    assert (out / "latest").is_symlink()
    assert (out / "latest").resolve() == main_runs[1].path.resolve()
    assert sorted(p.name for p in (out / "history").iterdir()) == sorted(
        f"{r.run_id}.parquet" for r in main_runs
    )


def test_no_kernel_outlives_its_run(
    main_runs: list[Run], find_kernels_of: Callable[[Path], list[str]]
) -> None:
    assert main_runs[0].leftover_kernels == []  # right after the runs returned
    assert find_kernels_of(main_runs[0].out) == []

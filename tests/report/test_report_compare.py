"""``perflab compare`` on two real runs of the sample data (monitoring and memory).

The second run sets a stricter latency objective (``slo_p95_ms=200``), so the share of
requests inside it drops — a real change a reader must see marked ``worse`` — while
the other figures stay the same. The runs are made once per session (also under
pytest-xdist: the first worker runs them holding a file lock, the others wait).
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from perflab.cli import main
from perflab.report.compare import compare_runs, render_comparison
from perflab.report.export import single_html

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """``(reports dir, run A, run B)``: monitoring + memory on the sample data, twice."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    out = root / "report-ops runs"
    record = root / "report-ops-runs.json"
    with open(root / "report-ops-runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            from perflab.report import run

            notebooks = ROOT / "notebooks"
            only = ["monitoring", "memory"]
            calm = {"memory": {"live_seconds": 0}}  # no live sampling: nothing load-dependent
            a = run(notebooks, out, only=only, parameters=calm, jobs=2, progress=False)
            b = run(
                notebooks,
                out,
                only=only,
                parameters={**calm, "monitoring": {"slo_p95_ms": 200}},
                jobs=2,
                progress=False,
            )
            assert a.ok and b.ok, (a.failed, b.failed)
            record.write_text(json.dumps([a.run_id, b.run_id]))
        run_a, run_b = json.loads(record.read_text())
    return out, run_a, run_b


def copy_runs(real_runs: tuple[Path, str, str], tmp_path: Path) -> Path:
    out, run_a, run_b = real_runs
    for run_id in (run_a, run_b):
        shutil.copytree(out / run_id, tmp_path / run_id)
    return tmp_path


def test_figures_side_by_side_with_direction(real_runs: tuple[Path, str, str]) -> None:
    out, run_a, run_b = real_runs
    c = compare_runs(run_a, run_b, out_dir=out)
    figures = c.figures
    assert set(figures.get_column("notebook")) == {"monitoring", "memory"}
    slo = figures.filter(pl.col("figure") == "slo_good_pct").row(0, named=True)
    assert slo["value_b"] < slo["value_a"] and slo["verdict"] == "worse"  # better = higher
    assert slo["label"].endswith("≤ 200 ms")
    others = figures.filter(pl.col("figure") != "slo_good_pct")
    assert set(others.get_column("verdict")) == {"same"}
    assert c.tests == {}
    assert any("Neither run kept raw data" in n for n in c.notes)


def test_the_page_shows_both_runs_and_loads_nothing(
    real_runs: tuple[Path, str, str], find_remote_loads: Callable[[str], list[str]]
) -> None:
    out, run_a, run_b = real_runs
    page = render_comparison(compare_runs(run_a, run_b, out_dir=out))
    assert f"A: {run_a}" in page and f"B: {run_b}" in page
    row = re.search(r"<tr><td>monitoring</td><td[^>]*>95 % of requests[^<]*</td>(.*?)</tr>", page)
    assert row is not None and ">worse<" in row.group(1)
    assert "<script" not in page and find_remote_loads(page) == []


def test_raw_data_gets_a_significance_verdict(
    real_runs: tuple[Path, str, str], tmp_path: Path
) -> None:
    """A load test's REQUESTS frames published by both runs: the slower candidate of
    the sample data is called slower by :func:`perflab.loadtest.compare`."""
    reports = copy_runs(real_runs, tmp_path)
    _, run_a, run_b = real_runs
    for run_id, name in ((run_a, "baseline"), (run_b, "candidate")):
        frames = reports / run_id / "frames" / "loadtest"
        frames.mkdir(parents=True)
        shutil.copy(SAMPLE / "loadtest" / f"{name}.parquet", frames / "requests.parquet")
    metrics = pl.read_parquet(SAMPLE / "monitoring" / "latency.parquet")
    half = metrics.height // 2
    only_a = reports / run_a / "frames" / "monitoring"
    only_a.mkdir(parents=True)
    metrics.head(half).write_parquet(only_a / "metrics.parquet")
    c = compare_runs(run_a, run_b, out_dir=reports)
    verdicts = dict(c.tests["loadtest/requests"].select("metric", "verdict").iter_rows())
    assert verdicts["p95"] == "slower" and verdicts["throughput"] == "equivalent"
    assert c.notes == ["monitoring: only run A kept its metrics; not tested."]
    page = render_comparison(c)
    assert "Significance: loadtest/requests" in page


def test_metrics_in_both_runs_are_compared(
    real_runs: tuple[Path, str, str], tmp_path: Path
) -> None:
    reports = copy_runs(real_runs, tmp_path)
    _, run_a, run_b = real_runs
    metrics = pl.read_parquet(SAMPLE / "monitoring" / "latency.parquet").sort("timestamp")
    half = metrics.height // 2
    for run_id, part in ((run_a, metrics.head(half)), (run_b, metrics.tail(half))):
        frames = reports / run_id / "frames" / "monitoring"
        frames.mkdir(parents=True)
        part.write_parquet(frames / "metrics.parquet")
    result = compare_runs(run_a, run_b, out_dir=reports).tests["monitoring/metrics"]
    assert set(result.get_column("name")) >= {"http.server.duration"}
    assert "verdict" in result.columns


def test_cli_compare_writes_the_page(
    real_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, run_a, run_b = real_runs
    target = tmp_path / "cmp.html"
    assert main(["compare", run_a, run_b, "--reports", str(out), "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert "compared with" in target.read_text()
    assert main(["compare", run_a, "nope", "--reports", str(out)]) == 2


def test_single_html_of_a_real_run(
    real_runs: tuple[Path, str, str], find_remote_loads: Callable[[str], list[str]]
) -> None:
    out, _, run_b = real_runs
    page = single_html(run_b, out)
    assert re.findall(r"<script[^>]*\ssrc\s*=", page, re.I) == []
    frames = [html.unescape(m) for m in re.findall(r'srcdoc="([^"]*)"', page)]
    assert len(frames) == 3
    for name, inner in zip(["monitoring", "memory"], frames[1:], strict=True):
        original = (out / run_b / f"{name}.html").read_text(encoding="utf-8")
        assert inner == original  # the whole report, byte for byte
        assert find_remote_loads(inner) == []
    assert find_remote_loads(frames[0]) == []

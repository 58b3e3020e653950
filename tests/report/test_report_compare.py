"""``perflab compare`` on two real runs of the sample data (monitoring and memory).

The second run sets a stricter latency objective (``slo_p95_ms=200``), so the share of
requests inside it drops — a real change a reader must see marked ``worse`` — while
the other figures stay the same. The runs are made once per session (also under
pytest-xdist: the first worker runs them holding a file lock, the others wait).

Query logs: the sample PostgreSQL log, and a copy in which every statement of one
pattern (the N+1 loop's ``SELECT product_id, qty, price …``) took three times as long,
read by the real reader into the per-statement durations 02-queries publishes.
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

import numpy as np
import polars as pl
import pytest
from scipy import stats

import perflab.queries as qry
from perflab.cli import main
from perflab.errors import ParameterError, SchemaError
from perflab.report.compare import compare_query_patterns, compare_runs, render_comparison
from perflab.report.export import single_html

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
PLANTED = "SELECT product_id, qty, price"  # the N+1 loop's pattern, 40 statements
PLANTED_FP = "45bbd85af4f6329f"
UNCHANGED_FP = "32255fe9f9daab20"  # SELECT id, email, name FROM users WHERE id = ?, 53


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
    # both runs read the same latency samples: tested, and nothing changed
    assert set(c.tests) == {"monitoring/metrics"}
    verdicts = c.tests["monitoring/metrics"].get_column("verdict")
    assert verdicts.len() > 0 and set(verdicts) == {"no significant change"}


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
        frames.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE / "loadtest" / f"{name}.parquet", frames / "requests.parquet")
    metrics = pl.read_parquet(SAMPLE / "monitoring" / "latency.parquet")
    half = metrics.height // 2
    only_a = reports / run_a / "frames" / "monitoring"
    only_a.mkdir(parents=True, exist_ok=True)
    metrics.head(half).write_parquet(only_a / "metrics.parquet")
    (reports / run_b / "frames" / "monitoring" / "metrics.parquet").unlink()
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
        frames.mkdir(parents=True, exist_ok=True)
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


# --------------------------------------------------------------------------- query logs


def durations(log_path: Path) -> pl.DataFrame:
    """What 02-queries publishes as ``statement_durations`` for a log (same steps)."""
    log = qry.read_log(log_path).without(applications=["pg_dump", "perflab-capture"])
    statements = qry.statements_frame(log.statements)
    return qry.statement_durations(statements, qry.query_patterns(statements))


@pytest.fixture(scope="module")
def query_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(A, B)`` durations: the sample log, and a copy with one pattern 3× slower."""
    source = SAMPLE / "queries" / "postgresql.log"
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        if PLANTED in line:
            line = re.sub(
                r"duration: ([0-9.]+) ms", lambda m: f"duration: {float(m[1]) * 3:.3f} ms", line
            )
        lines.append(line)
    planted = tmp_path_factory.mktemp("queries") / "postgresql.log"
    planted.write_text("".join(lines), encoding="utf-8")
    a, b = durations(source), durations(planted)
    # the planting did what it says: that pattern ×3, every other statement as it was
    of = pl.col("fingerprint") == PLANTED_FP
    ms_a, ms_b = a.filter(of)["duration_ms"].to_numpy(), b.filter(of)["duration_ms"].to_numpy()
    assert ms_a.size == 40 and np.allclose(ms_b, 3 * ms_a, atol=0.002)
    assert a.filter(~of).equals(b.filter(~of))
    return a, b


def query_runs(reports: Path) -> tuple[str, str]:
    """Two runs of the queries notebook (manifests only): ``("a", "b")``."""
    for run_id in ("a", "b"):
        (reports / run_id).mkdir(parents=True)
        manifest = {"run_id": run_id, "notebooks": [{"name": "queries", "status": "ok"}]}
        (reports / run_id / "manifest.json").write_text(json.dumps(manifest))
    return "a", "b"


def publish_durations(reports: Path, run_id: str, frame: pl.DataFrame) -> None:
    frames = reports / run_id / "frames" / "queries"
    frames.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(frames / "statement_durations.parquet")


def test_query_patterns_get_a_verdict_each(
    tmp_path: Path, query_logs: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    """The pattern made slower in B is called slower, with the effect and a p-value a
    reference Mann–Whitney gives back; the pattern left alone is no significant change."""
    reports = tmp_path
    run_a, run_b = query_runs(reports)
    a, b = query_logs
    publish_durations(reports, run_a, a)
    publish_durations(reports, run_b, b)
    c = compare_runs(run_a, run_b, out_dir=reports)
    assert c.notes == []
    result = c.tests["queries/statement_durations"]
    rows = {r["fingerprint"]: r for r in result.iter_rows(named=True)}

    slower = rows[PLANTED_FP]
    ms_a = a.filter(pl.col("fingerprint") == PLANTED_FP)["duration_ms"].to_numpy()
    ms_b = b.filter(pl.col("fingerprint") == PLANTED_FP)["duration_ms"].to_numpy()
    assert slower["verdict"] == "slower" and slower["metric"] == "p50"
    assert slower["query"].startswith(PLANTED)
    assert (slower["calls_a"], slower["calls_b"]) == (40, 40)
    assert slower["change"] == pytest.approx(np.median(ms_b) / np.median(ms_a) - 1, rel=1e-9)
    assert slower["change"] == pytest.approx(2.0, abs=0.01)
    assert slower["ci_low"] > 0.05 and slower["ci_low"] <= slower["change"] <= slower["ci_high"]
    reference = stats.mannwhitneyu(ms_a, ms_b, alternative="two-sided").pvalue
    assert slower["p_value"] == pytest.approx(reference, rel=1e-6)
    assert slower["p_value"] <= slower["p_adjusted"] < 0.05
    assert result.row(0, named=True)["fingerprint"] == PLANTED_FP  # slower first

    unchanged = rows[UNCHANGED_FP]
    assert unchanged["verdict"] == "no significant change" and unchanged["calls_b"] == 53
    assert unchanged["change"] == 0.0 and unchanged["p_value"] == pytest.approx(1.0)
    # no false alarm: every other pattern tested is no significant change
    tested = result.filter(pl.col("verdict") != "too few to test")
    assert tested.filter(pl.col("fingerprint") != PLANTED_FP)["verdict"].unique().to_list() == [
        "no significant change"
    ]
    few = result.filter(pl.col("verdict") == "too few to test")
    assert (
        few.height and (few.select(pl.min_horizontal("calls_a", "calls_b")) < 5).to_series().all()
    )
    assert few["p_value"].null_count() == few.height

    page = render_comparison(c)
    assert "Significance: queries/statement_durations" in page
    row = re.search(rf"<tr><td>{PLANTED_FP}</td><td>([^<]*)</td><td[^>]*>([^<]*)</td>", page)
    assert row is not None and row.group(1).startswith(html.escape(PLANTED))
    assert row.group(2) == "slower"


def test_a_faster_pattern_and_patterns_in_one_run_only(
    tmp_path: Path, query_logs: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    """B is the sample and A the slow copy: the pattern is faster; a pattern B no longer
    runs is named in the notes, not tested."""
    reports = tmp_path
    run_a, run_b = query_runs(reports)
    slow, sample = query_logs[1], query_logs[0]
    publish_durations(reports, run_a, slow)
    publish_durations(reports, run_b, sample.filter(pl.col("fingerprint") != UNCHANGED_FP))
    c = compare_runs(run_a, run_b, out_dir=reports)
    result = c.tests["queries/statement_durations"]
    faster = result.filter(pl.col("fingerprint") == PLANTED_FP).row(0, named=True)
    assert faster["verdict"] == "faster" and faster["change"] == pytest.approx(-2 / 3, abs=0.01)
    assert UNCHANGED_FP not in result["fingerprint"].to_list()
    assert "queries: 1 query pattern(s) only in run A: not tested." in c.notes


def test_query_durations_are_checked(query_logs: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    a, b = query_logs
    with pytest.raises(SchemaError, match="duration_ms"):
        compare_query_patterns(a, b.drop("duration_ms"))
    with pytest.raises(ParameterError, match="no query pattern appears in both runs"):
        compare_query_patterns(a.head(1), b.filter(pl.col("fingerprint") != a["fingerprint"][0]))
    with pytest.raises(ParameterError, match="min_statements"):
        compare_query_patterns(a, b, min_statements=2)


def test_a_bad_durations_frame_is_a_note_not_a_crash(
    tmp_path: Path, query_logs: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    reports = tmp_path
    run_a, run_b = query_runs(reports)
    publish_durations(reports, run_a, query_logs[0])
    publish_durations(reports, run_b, query_logs[1].rename({"duration_ms": "ms"}))
    c = compare_runs(run_a, run_b, out_dir=reports)
    assert "queries/statement_durations" not in c.tests
    assert any(
        n.startswith("queries: statement_durations could not be compared: SchemaError")
        and "duration_ms" in n
        for n in c.notes
    )


def test_the_notebooks_publish_findings_events_and_summaries(
    real_runs: tuple[Path, str, str],
) -> None:
    """What the runs above keep for ``perflab export``; of it, only monitoring's
    latency samples are raw data that the comparison tests (see the first test)."""
    from perflab.events import EVENTS
    from perflab.recommend import RECOMMENDATIONS

    out, _, run_b = real_runs
    frames = out / run_b / "frames"
    kept: dict[str, set[str]] = {}
    for p in frames.glob("*/*.parquet"):
        kept.setdefault(p.parent.name, set()).add(p.stem)
    assert kept == {
        "monitoring": {"recommendations", "events", "summary", "comparison", "metrics"},
        "memory": {"recommendations", "events", "leaks", "gc_pauses"},
    }
    steps = EVENTS.validate(pl.read_parquet(frames / "monitoring" / "events.parquet"))
    assert steps.select("subject", "kind").rows() == [
        ("http.server.duration route=/api/search", "step")
    ]
    turns = EVENTS.validate(pl.read_parquet(frames / "memory" / "events.parquet"))
    assert set(turns["domain"]) == {"memory"} and turns.height >= 2
    for name in ("monitoring", "memory"):
        RECOMMENDATIONS.validate(pl.read_parquet(frames / name / "recommendations.parquet"))

"""Exports of a run: every format read back, the Markdown comment, the single HTML file."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.cli import main
from perflab.errors import InputError, ParameterError
from perflab.recommend import RECOMMENDATIONS
from perflab.report.export import export, markdown, publish, run_tables, single_html
from perflab.report.figures import FIGURES_ENV
from perflab.report.store import append_run

FIGS = {
    "monitoring": [
        {"name": "p95_ms", "value": 250.0, "unit": "ms", "better": "lower", "label": "p95 | all"},
        {"name": "rps", "value": 900.0, "unit": "1/s", "better": "higher", "label": None},
    ],
    "caching": [{"name": "hit_pct", "value": 91.5, "unit": "%", "better": "higher", "label": None}],
}
RECS = pl.DataFrame(
    {
        "domain": ["monitoring", "monitoring"],
        "rule": ["monitoring.slo", "monitoring.tail"],
        "severity": ["low", "high"],
        "subject": ["GET /a|b", "GET /c"],
        "finding": ["p95 above SLO\non 3 routes", "p99 is 4× p95"],
        "action": ["Look at /a", "Profile the tail"],
        "evidence": ["p95 260 ms", "p99 900 ms"],
        "impact": [12.5, None],
        "impact_unit": ["ms", ""],
        "score": [1.0, 2.0],
    }
)


def make_run(out: Path, run_id: str, day: int, figs: dict[str, list[dict[str, object]]]) -> Path:
    """A finished run as `perflab run` leaves it: manifest, pages, index, history."""
    root = out / run_id
    (root / "frames").mkdir(parents=True)
    notebooks = [
        {
            "name": name,
            "status": "ok",
            "duration_s": 1.0,
            "figures": f,
            "parameters": {},
            "error": None,
            "html": f"{name}.html",
            "ipynb": f"{name}.ipynb",
        }
        for name, f in figs.items()
    ]
    started = datetime(2026, 11, day, 6, tzinfo=UTC)
    manifest = {"run_id": run_id, "started_at": started.isoformat(), "notebooks": notebooks}
    (root / "manifest.json").write_text(json.dumps(manifest))
    for name in figs:
        (root / f"{name}.html").write_text(
            f"<html><head><style>p{{color:red}}</style></head>"
            f"<body><h1>{name} report</h1><p>Findings &amp; charts of {name}</p></body></html>"
        )
    links = "".join(f'<a href="{n}.html">{n}</a> <a href="{n}.ipynb">nb</a>' for n in figs)
    (root / "index.html").write_text(
        f'<html><body><a href="../{run_id}-prev/index.html">previous</a>{links}</body></html>'
    )
    append_run(out, run_id, started, figs)
    return root


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    make_run(
        tmp_path, "20261101T060000Z", 1, {"monitoring": [dict(FIGS["monitoring"][0], value=200.0)]}
    )
    root = make_run(tmp_path, "20261102T060000Z", 2, FIGS)
    (root / "frames" / "monitoring").mkdir()
    RECS.write_parquet(root / "frames" / "monitoring" / "recommendations.parquet")
    pl.DataFrame({"route": ["/a", "/b"], "hours": [[1, 2], [3]]}).write_parquet(
        root / "frames" / "monitoring" / "routes.parquet"
    )
    return root


def test_tables_hold_figures_with_change_and_ranked_recommendations(run_dir: Path) -> None:
    tables = run_tables(run_dir)
    assert list(tables) == ["figures", "recommendations", "monitoring.routes"]
    figures = tables["figures"]
    assert figures.height == 3
    p95 = figures.filter(pl.col("figure") == "p95_ms").row(0, named=True)
    assert (p95["previous"], p95["change_pct"], p95["verdict"]) == (200.0, 25.0, "worse")
    assert figures.filter(pl.col("figure") == "rps").get_column("label").to_list() == ["rps"]
    recs = tables["recommendations"]
    assert recs.get_column("severity").to_list() == ["high", "low"]  # ranked
    assert recs.columns == ["notebook", *RECOMMENDATIONS.columns]


@pytest.mark.parametrize(
    ("fmt", "reader"),
    [("csv", pl.read_csv), ("json", pl.read_json), ("parquet", pl.read_parquet)],
)
def test_each_table_format_reads_back(
    run_dir: Path, tmp_path: Path, fmt: str, reader: Callable[..., pl.DataFrame]
) -> None:
    written = export(run_dir, fmt, out=tmp_path / "x")  # type: ignore[arg-type]
    names = [p.name for p in written]
    assert names == [f"figures.{fmt}", f"recommendations.{fmt}", f"monitoring.routes.{fmt}"]
    tables = run_tables(run_dir)
    for path, (name, frame) in zip(written, tables.items(), strict=True):
        back = reader(path)
        if fmt == "csv" and name == "monitoring.routes":
            assert back.get_column("hours").to_list() == ["[1, 2]", "[3]"]  # nested → JSON text
            continue
        assert_frame_equal(back, frame, check_dtypes=fmt == "parquet")


def test_xlsx_has_one_sheet_per_table(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("xlsxwriter", reason="the xlsx export needs xlsxwriter (make install-dev)")
    pytest.importorskip("fastexcel", reason="polars.read_excel needs fastexcel (make install-dev)")
    (path,) = export(run_dir, "xlsx", out=tmp_path)
    assert path.name == "20261102T060000Z.xlsx"
    sheets = pl.read_excel(path, sheet_id=0)
    assert list(sheets) == ["figures", "recommendations", "monitoring.routes"]
    assert sheets["figures"].get_column("value").to_list() == [250.0, 900.0, 91.5]
    assert sheets["recommendations"].get_column("finding").to_list() == [
        "p99 is 4× p95",
        "p95 above SLO\non 3 routes",
    ]


def parse_markdown_tables(text: str) -> list[list[list[str]]]:
    """GitHub tables in ``text`` as rows of cells (escaped pipes kept as ``|``)."""
    tables, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if not all(re.fullmatch(r"-+", c) for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_fits_a_pull_request_comment(run_dir: Path) -> None:
    text = markdown(run_dir)
    assert text.startswith("### perflab run 20261102T060000Z\n")
    figures, recs = parse_markdown_tables(text)
    assert figures[0] == ["Notebook", "Figure", "Value", "Change"]
    assert ["monitoring", "p95 | all", "250 ms", "+25.0 % ❌ worse"] in figures
    assert all(len(row) == 4 for row in figures)
    assert recs[1][:3] == ["high", "monitoring", "GET /c"]
    assert recs[2][2:4] == ["GET /a|b", "p95 above SLO on 3 routes"]  # no broken rows
    short = markdown(run_dir, top=1)
    assert "… and 1 more." in short


def test_single_html_bundles_every_page_offline(
    run_dir: Path, find_remote_loads: Callable[[str], list[str]]
) -> None:
    page = single_html(run_dir)
    assert find_remote_loads(page) == []
    frames = [html.unescape(m) for m in re.findall(r'srcdoc="([^"]*)"', page)]
    assert len(frames) == 3
    index, *reports = frames
    assert [re.search(r"<h1>(\w+) report", r).group(1) for r in reports] == [
        "monitoring",
        "caching",
    ]  # type: ignore[union-attr]
    assert 'href="#nb-monitoring" target="_top"' in index
    assert 'id="nb-monitoring"' in page and 'id="nb-caching"' in page
    assert "../" not in index and ".ipynb" not in index  # links that would not open


def test_publish_writes_next_to_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures_file = tmp_path / ".memory.figures.jsonl"  # what the runner gives each kernel
    monkeypatch.setenv(FIGURES_ENV, str(figures_file))
    path = publish("recommendations", RECS)
    assert path == tmp_path / "frames" / "memory" / "recommendations.parquet"
    assert_frame_equal(pl.read_parquet(path), RECS)
    with pytest.raises(ParameterError, match="name must be"):
        publish("../escape", RECS)


def test_an_unreadable_frame_is_skipped(run_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    (run_dir / "frames" / "monitoring" / "cut.parquet").write_bytes(b"PAR1 cut")
    assert "monitoring.cut" not in run_tables(run_dir)
    assert "cut.parquet" in caplog.text


def test_a_broken_manifest_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "manifest.json").write_text('{"notebooks": [')
    with pytest.raises(InputError, match=r"manifest\.json"):
        run_tables(tmp_path / "r1")


def test_cli_export_latest_and_errors(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = run_dir.parent
    (reports / "latest").symlink_to(run_dir.name)
    assert main(["export", "--reports", str(reports), "--format", "markdown", "--out", "-"]) == 0
    assert capsys.readouterr().out.startswith("### perflab run 20261102T060000Z")
    assert main(["export", run_dir.name, "--reports", str(reports), "--single-html"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[-1].endswith("export/20261102T060000Z.html") and Path(printed[-1]).is_file()
    assert main(["export", "nope", "--reports", str(reports)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err

"""A new domain adds files and edits none.

A throwaway domain, ``perflab.toy``, is built in a temporary folder — a reader on the
shared plumbing, a schema, a rule, a chart, a sample generator and a notebook — and
joins perflab through ``PYTHONPATH`` alone: it is discovered as a domain, its rule is
listed, ``perflab samples`` runs its generator and ``perflab run`` renders its
notebook. Nothing in this checkout is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).parents[1]

TOY = {
    "__init__.py": '''
        """A throwaway domain: toy request timings."""
        from perflab.toy.read import read_toy
        from perflab.toy.rules import top_recommendations
        from perflab.toy.schema import TOYS

        __all__ = ["TOYS", "read_toy", "top_recommendations"]
    ''',
    "schema.py": """
        import polars as pl
        from perflab.frames import Schema

        TOYS = Schema("toys", {"route": pl.String, "duration_ms": pl.Float64})
    """,
    "read.py": """
        import polars as pl
        from perflab.sources import Source, drop_bad, load_csv, parse_numbers
        from perflab.toy.schema import TOYS

        def read_toy(path, *, errors="raise"):
            src = Source(path, errors)
            if src.is_blank():
                return TOYS.empty()
            raw, where = load_csv(src)
            frame = pl.DataFrame([
                raw["route"], parse_numbers(raw["duration_ms"]).alias("duration_ms")
            ])
            frame = drop_bad(
                frame, frame["duration_ms"].is_null(), src.bad, where,
                lambda i: f"duration {raw['duration_ms'][i]!r} is not a number",
            )
            return src.finish(TOYS.validate(frame), "no rows", what="timings")
    """,
    "rules.py": """
        from perflab.frames import as_frame
        from perflab.groupstats import group_stats
        from perflab.recommend import Recommendation, rule, to_frame
        from perflab.toy.schema import TOYS

        TOO_SLOW = rule("toy.too-slow", "high", "a route is slower than its budget")

        def top_recommendations(df, *, budget_ms=100.0):
            stats = group_stats(as_frame(df, TOYS), ["route"], value="duration_ms")
            return to_frame(
                Recommendation.of(
                    TOO_SLOW, subject=row["route"], finding=f"p95 {row['p95']:.0f} ms",
                    action="make it faster", evidence=f"n={row['count']}",
                    impact=row["p95"] - budget_ms, impact_unit="ms",
                )
                for row in stats.iter_rows(named=True) if row["p95"] > budget_ms
            )
    """,
    "charts.py": """
        import altair as alt
        from perflab.charts import PALETTE

        def route_bars(stats):
            return alt.Chart(stats).mark_bar(color=PALETTE[1]).encode(x="p95:Q", y="route:N")
    """,
    "samples.py": """
        from pathlib import Path
        from perflab.frames import write_atomic

        def write_samples(dest):
            body = "route,duration_ms\\n/a,20\\n/a,30\\n/slow,400\\n/slow,650\\n"
            return [write_atomic(Path(dest) / "toy" / "timings.csv", body)]
    """,
}


def notebook(data: Path) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "perflab", "display_name": "perflab", "language": "python"}
    nb.cells = [
        new_markdown_cell("# Toy timings"),
        new_code_cell(
            f"timings_path = {str(data)!r}\nbudget_ms = 100.0", metadata={"tags": ["parameters"]}
        ),
        new_code_cell(
            "import perflab.toy as toy\nfrom perflab import charts, report\n"
            "from perflab.groupstats import group_stats\nfrom perflab.toy.charts import route_bars"
        ),
        new_code_cell(
            "df = toy.read_toy(timings_path)\nstats = group_stats(df, ['route'], "
            "value='duration_ms')\nroute_bars(stats)"
        ),
        new_code_cell(
            "recs = toy.top_recommendations(df, budget_ms=budget_ms)\n"
            "report.figure('slow_routes', recs.height, '', better='lower')\ncharts.table(recs)"
        ),
    ]
    return nb


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    package = root / "pkg" / "perflab" / "toy"  # no perflab/__init__.py: a portion
    package.mkdir(parents=True)
    for name, text in TOY.items():
        (package / name).write_text(textwrap.dedent(text).lstrip())
    return root


def run(toy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(toy / "pkg")}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_the_domain_is_discovered_with_its_rule_and_generator(toy: Path) -> None:
    code = (
        "import json, perflab\nfrom perflab.recommend import rules\nfrom perflab.samples import "
        "generators\nprint(json.dumps([perflab.domains(), [r.id for r in rules('toy')], "
        "generators(), perflab.toy.TOYS.names]))"
    )
    proc = run(toy, "-c", code)
    assert proc.returncode == 0, proc.stderr
    domains, rule_ids, generators, columns = json.loads(proc.stdout)
    assert {"monitoring", "toy"} <= set(domains)
    assert rule_ids == ["toy.too-slow"]
    assert "toy" in generators
    assert columns == ["route", "duration_ms"]


def test_samples_and_run_reach_the_domain(toy: Path) -> None:
    data = toy / "data"
    proc = run(toy, "-m", "perflab.cli", "samples", "--dest", str(data), "--only", "toy")
    assert proc.returncode == 0, proc.stderr
    timings = data / "toy" / "timings.csv"
    assert timings.is_file()

    notebooks = toy / "notebooks"
    notebooks.mkdir()
    nbformat.write(notebook(timings), notebooks / "01-toy.ipynb")
    out = toy / "reports"
    proc = run(toy, "-m", "perflab.cli", "run", "--notebooks", str(notebooks), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    (entry,) = manifest["notebooks"]
    assert entry["status"] == "ok"
    assert [(f["name"], f["value"]) for f in entry["figures"]] == [("slow_routes", 1.0)]
    page = (out / "latest" / "toy.html").read_text()
    assert "toy.too-slow" in page and "/slow" in page
    assert "vegaEmbed(" in page  # the domain's chart drew with the shared renderer


def test_nothing_in_the_checkout_was_touched(toy: Path) -> None:
    assert not (ROOT / "perflab" / "toy").exists()
    assert not (ROOT / "data" / "sample" / "toy").exists()

"""Rebuild the dashboards from a history of 1,000 runs, vs re-reading every manifest.

Issue 13's target: rebuilding the index from a history of 1,000 runs takes under 2 s.
This writes a synthetic history — ``--runs`` runs × every headline figure the
notebooks record today (found in ``notebooks/*.ipynb``), one Parquet file per run as
``perflab run`` writes it, plus each run's ``manifest.json`` — and times, interleaved:

- **perflab**: :func:`perflab.report.rebuild.rebuild` — read the history, render the
  latest run's dashboard (values, change against the previous run, trend lines) and
  the page of all runs;
- **peer**: what one would write without the history store: read every run's
  ``manifest.json`` with ``json``, flatten into a pandas frame, ``groupby`` for the
  latest and previous value and the last 20 values of each figure, then render the
  same two pages (same renderers, so the difference is the data path).

    .venv/bin/python benchmarks/bench_report_index.py [--runs 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import polars as pl

from perflab.report.index import render_index
from perflab.report.rebuild import rebuild, render_runs
from perflab.report.runner import notebook_name
from perflab.report.store import HISTORY, append_run

ROOT = Path(__file__).resolve().parents[1]


def current_figures() -> dict[str, list[str]]:
    """Figure names each notebook records today (``report.figure("name", ...)``)."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        names = re.findall(r"report\.figure\(\s*[\"'](\w+)[\"']", source)
        found[notebook_name(path)] = list(dict.fromkeys(names))
    return found


def write_history(out: Path, runs: int, figures: dict[str, list[str]]) -> None:
    rng = np.random.default_rng(0)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(runs):
        run_id = (start + timedelta(hours=6 * i)).strftime("%Y%m%dT%H%M%SZ")
        figs = {
            nb: [
                {"name": n, "value": float(rng.normal(100, 5)), "unit": "ms", "better": "lower"}
                for n in names
            ]
            for nb, names in figures.items()
        }
        append_run(out, run_id, start + timedelta(hours=6 * i), figs)
        manifest = {
            "run_id": run_id,
            "started_at": (start + timedelta(hours=6 * i)).isoformat(),
            "duration_s": 60.0,
            "notebooks": [
                {
                    "name": nb,
                    "status": "ok",
                    "duration_s": 5.0,
                    "figures": f,
                    "parameters": {},
                    "error": None,
                    "html": f"{nb}.html",
                    "ipynb": f"{nb}.ipynb",
                }
                for nb, f in figs.items()
            ],
        }
        (out / run_id).mkdir()
        (out / run_id / "manifest.json").write_text(json.dumps(manifest))


def peer(out: Path) -> None:
    """Every manifest read again, pandas for the latest/previous/trend values."""
    rows = []
    for path in sorted(out.glob("*/manifest.json")):
        manifest = json.loads(path.read_text())
        for nb in manifest["notebooks"]:
            for fig in nb["figures"]:
                rows.append(
                    {
                        "run_id": manifest["run_id"],
                        "started_at": manifest["started_at"],
                        "notebook": nb["name"],
                        "figure": fig["name"],
                        "value": fig["value"],
                        "unit": fig["unit"],
                        "better": fig["better"],
                    }
                )
    frame = pd.DataFrame(rows)
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    frame = frame.sort_values(["started_at", "run_id"])
    grouped = frame.groupby(["notebook", "figure"], sort=True)
    grouped["value"].agg(["last", lambda s: s.iloc[-2] if len(s) > 1 else None])
    grouped["value"].apply(lambda s: list(s.tail(20)))
    history = HISTORY.validate(pl.from_pandas(frame))
    latest = frame["run_id"].iloc[-1]
    manifest = json.loads((out / latest / "manifest.json").read_text())
    (out / latest / "index.html").write_text(render_index(manifest, history))
    (out / "index.html").write_text(render_runs(history))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    figures = current_figures()
    count = sum(map(len, figures.values()))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_history(out, args.runs, figures)
        ours, theirs = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            rebuild(out)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            peer(out)
            theirs.append(time.perf_counter() - t)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"history: {args.runs} runs × {count} figures ({len(figures)} notebooks)")
    print(f"perflab index (rebuild):           median {a:.3f} s  (target < 2 s)")
    print(f"peer (manifests + pandas groupby): median {b:.3f} s")
    print(f"ratio peer / perflab: {b / a:.2f}×")


if __name__ == "__main__":
    main()

"""The report pipeline on the real notebooks vs the same number of trivial notebooks.

The floor of ``perflab run`` is per-notebook fixed cost: a worker process, a kernel
start, papermill bookkeeping and the nbconvert render. This runs the real batch
(``notebooks/*.ipynb``) and as many trivial notebooks (one markdown and one tiny code
cell) through the very same pipeline, interleaved, and prints the median wall time of
each and their ratio: how much the notebooks' own work adds to the floor.

    .venv/bin/python benchmarks/bench_report.py [--runs 3] [--jobs N] [--notebooks DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from perflab.report.runner import discover, run


def write_trivial(directory: Path, count: int) -> Path:
    """``count`` notebooks that do almost nothing, declaring the perflab kernel."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        nb = new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "perflab",
            "display_name": "perflab",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [
            new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
            new_markdown_cell("# Trivial"),
            new_code_cell("n + 1"),
        ]
        nbformat.write(nb, directory / f"{i + 1:02d}-trivial{i + 1}.ipynb")
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    parser.add_argument("--timeout", type=float, default=600.0, help="per notebook, seconds")
    args = parser.parse_args()

    real = discover(args.notebooks)
    if not real:
        print(f"no notebooks in {args.notebooks}/: nothing to measure")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        trivial = write_trivial(root / "trivial", len(real))
        batches = {"real": args.notebooks, "trivial": trivial}
        samples: dict[str, list[float]] = {name: [] for name in batches}
        failures: dict[str, set[str]] = {name: set() for name in batches}
        for _ in range(args.runs):
            for name, directory in batches.items():  # interleaved: load hits both alike
                start = time.perf_counter()
                result = run(
                    directory,
                    root / f"out-{name}",
                    jobs=args.jobs,
                    timeout=args.timeout,
                    progress=False,
                )
                samples[name].append(time.perf_counter() - start)
                failures[name] |= {nb["name"] for nb in result.failed}

    print(f"{len(real)} notebook(s), jobs={args.jobs}, {args.runs} run(s) each")
    for name in batches:
        note = f"  (failed: {', '.join(sorted(failures[name]))})" if failures[name] else ""
        print(f"  {name:8s} median {statistics.median(samples[name]):6.2f} s{note}")
    ratio = statistics.median(samples["real"]) / statistics.median(samples["trivial"])
    print(f"  ratio real / trivial floor: {ratio:.2f}x")


if __name__ == "__main__":
    main()

"""The ``perflab`` command.

::

    perflab run [--only NAME ...] [--out DIR] [-p NAME.KEY=VALUE ...] [--config FILE]
                [--jobs N | --cluster ADDRESS | --workers N] [--show-code]
                [--timeout SECONDS] [--notebooks DIR]
    perflab samples [--dest DIR] [--only DOMAIN ...]
    perflab gate RESULTS [--p95-ms X] [--p99-ms X] [--error-rate X] [--min-rps X]
                 [--baseline FILE] [--margin 0.05] [--alpha 0.05]
    perflab export [RUN] [--format csv|json|parquet|markdown|xlsx] [--single-html]
                   [--out DIR] [--reports DIR]
    perflab compare RUN_A RUN_B [--out FILE] [--reports DIR]
    perflab index [--out DIR] [--run RUN ...]

``run`` executes the notebooks and writes ``DIR/<run-id>/index.html``; it exits with 1
when a notebook failed or timed out (after building the whole report), 2 for a usage
or parameter error, 130 when interrupted. With ``--cluster ADDRESS`` (a running Dask
scheduler) or ``--workers N`` (a local Dask cluster of N processes) the notebooks run as
Dask tasks (:mod:`perflab.cluster`, ``pip install 'perflab[distributed]'``); the run
directory is the same. ``samples`` regenerates the generated parts
of ``data/sample/`` (each domain's generator, found by :mod:`perflab.samples`).

``gate`` passes or fails a load test for CI (:func:`perflab.loadtest.gate`): RESULTS
and the baseline FILE are REQUESTS or SUMMARY frames as Parquet/CSV, or any result
file :func:`perflab.loadtest.read_results` reads (k6, Locust, JMeter, wrk …). It
prints one line — ``perflab gate: pass — p95 123.4 ms ≤ 200 ms, …`` or ``perflab
gate: fail — <why>`` — and exits with 0 on a pass, 1 on a breached threshold or a
regression against the baseline, 2 on a usage error (a missing or unreadable file,
no threshold and no baseline). ``--error-rate`` is a fraction (``0.01``) or a
percentage (``1%``).

``export`` writes a run's headline figures, its recommendations and the frames its
notebooks published (:mod:`perflab.report.export`) to ``RUN/export/`` or ``--out``;
RUN is a run id under ``--reports`` (default ``reports``), a run directory, or the
latest run when left out. ``--format markdown --out -`` prints the Markdown (for a
pull-request comment); ``--single-html`` writes one self-contained HTML file of the
index and every report. ``compare`` writes an HTML page of run B against run A
(:mod:`perflab.report.compare`). ``index`` rebuilds the dashboards of ``DIR`` from the
history (:mod:`perflab.report.rebuild`): every run's ``index.html`` (or those given
with ``--run``) and ``DIR/index.html``, the list of all runs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from perflab.errors import InputError, ParameterError

__all__ = ["build_parser", "main"]

logger = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``perflab`` command.

    Examples
    --------
    >>> args = build_parser().parse_args(["run", "--only", "monitoring", "-p", "monitoring.x=1"])
    >>> args.only, args.param, args.out, args.notebooks
    (['monitoring'], ['monitoring.x=1'], 'reports', 'notebooks')
    """
    from perflab.report.runner import DEFAULT_TIMEOUT

    parser = argparse.ArgumentParser(
        prog="perflab", description="A performance lab in Jupyter notebooks."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the notebooks and build an HTML report",
        description="Execute notebooks with papermill and write DIR/<run-id>/index.html.",
    )
    run.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="run only these notebooks (name = file stem without the NN- prefix)",
    )
    run.add_argument("--out", default="reports", metavar="DIR", help="reports directory")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="set a notebook parameter; VALUE is read as YAML (numbers, booleans, lists)",
    )
    run.add_argument(
        "--config",
        metavar="FILE",
        help="YAML mapping notebook name -> parameters (-p options win over it)",
    )
    run.add_argument("--jobs", type=int, metavar="N", help="notebooks run in parallel")
    run.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the notebooks on this Dask cluster (tcp://host:8786); needs "
        "perflab[distributed], and the notebooks and data at the same path on the workers",
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run the notebooks on a local Dask cluster of N worker processes",
    )
    run.add_argument("--show-code", action="store_true", help="keep code cells in the HTML pages")
    run.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"limit per notebook, kernel start included (default {DEFAULT_TIMEOUT:g})",
    )
    run.add_argument(
        "--notebooks", default="notebooks", metavar="DIR", help="directory of NN-name.ipynb"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    samples = commands.add_parser(
        "samples",
        help="regenerate the generated sample data",
        description="Write the generated parts of the sample data set.",
    )
    samples.add_argument("--dest", default="data/sample", metavar="DIR", help="target directory")
    samples.add_argument(
        "--only", nargs="+", action="extend", metavar="DOMAIN", help="only these domains"
    )

    gate = commands.add_parser(
        "gate",
        help="pass or fail a load test on thresholds and a baseline (exit 0/1)",
        description="Check a load test's results against thresholds and a baseline run.",
    )
    gate.add_argument("results", metavar="RESULTS", help="results file (Parquet, CSV, k6 …)")
    gate.add_argument("--p95-ms", type=float, metavar="X", help="highest p95 latency, ms")
    gate.add_argument("--p99-ms", type=float, metavar="X", help="highest p99 latency, ms")
    gate.add_argument(
        "--error-rate",
        type=_fraction,
        metavar="X",
        help="highest error rate: a fraction (0.01) or a percentage (1%%)",
    )
    gate.add_argument("--min-rps", type=float, metavar="X", help="lowest requests per second")
    gate.add_argument("--baseline", metavar="FILE", help="a previous run: fail on a regression")
    gate.add_argument(
        "--margin", type=float, default=0.05, help="relative change that does not matter"
    )
    gate.add_argument("--alpha", type=float, default=0.05, help="significance level")

    export = commands.add_parser(
        "export",
        help="export a run's figures, recommendations and published frames",
        description="Write a run's tables as CSV, JSON, Parquet, Markdown or Excel.",
    )
    export.add_argument(
        "run", nargs="?", metavar="RUN", help="run id or directory (default latest)"
    )
    export.add_argument(
        "--format",
        dest="fmt",
        default="csv",
        choices=["csv", "json", "parquet", "markdown", "xlsx"],
        help="output format (default csv)",
    )
    export.add_argument(
        "--single-html",
        action="store_true",
        help="also write one self-contained HTML file of the index and every report",
    )
    export.add_argument(
        "--out", metavar="DIR", help="output directory (default RUN/export); - prints markdown"
    )
    export.add_argument("--reports", default="reports", metavar="DIR", help="reports directory")

    compare = commands.add_parser(
        "compare",
        help="compare two runs in an HTML report",
        description="Every headline figure of RUN_B against RUN_A, with significance tests "
        "where both runs kept raw data.",
    )
    compare.add_argument("run_a", metavar="RUN_A", help="baseline run id or directory")
    compare.add_argument("run_b", metavar="RUN_B", help="run id or directory to compare")
    compare.add_argument("--out", metavar="FILE", help="default DIR/compare/A_vs_B.html")
    compare.add_argument("--reports", default="reports", metavar="DIR", help="reports directory")

    check = commands.add_parser(
        "check",
        help="pass or fail a run: failed notebooks, limits, regressions (exit 0/1)",
        description="Check a run (default the latest) for notebooks that did not finish, "
        "figures past their limits, figures that regressed against the earlier runs, and "
        "(with --fail-on) findings of a severity. Exit 0 pass, 1 fail, 2 usage error.",
    )
    check.add_argument("run", nargs="?", metavar="RUN", help="run id or directory (default latest)")
    check.add_argument("--reports", default="reports", metavar="DIR", help="reports directory")
    check.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NOTEBOOK/FIGURE<=X",
        help='a limit on a headline figure, e.g. "api/p95_ms<=300" (>=, <, > too); repeatable',
    )
    check.add_argument(
        "--no-regressions", action="store_true", help="do not check figures against earlier runs"
    )
    check.add_argument(
        "--runs", type=int, default=20, metavar="N", help="runs the regression check looks at"
    )
    check.add_argument(
        "--margin",
        type=float,
        default=0.1,
        metavar="X",
        help="how far past the earlier median a new record must be to fail (default 0.1)",
    )
    check.add_argument(
        "--fail-on",
        choices=["critical", "high", "medium", "low", "info"],
        help="fail when a finding of this severity or worse is present",
    )

    index = commands.add_parser(
        "index",
        help="rebuild the dashboards from the history",
        description="Re-render each run's index.html and DIR/index.html from DIR/history.",
    )
    index.add_argument("--out", default="reports", metavar="DIR", help="reports directory")
    index.add_argument(
        "--run", nargs="+", action="extend", metavar="RUN", help="only these runs' dashboards"
    )
    return parser


def _fraction(text: str) -> float:
    """``"0.01"`` or ``"1%"`` → 0.01 (an argparse type)."""
    value = text.strip()
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a fraction or percentage: {text!r}") from None


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _cmd_run(args: argparse.Namespace) -> int:
    from perflab.report.runner import (
        load_config,
        merge_parameters,
        parse_assignment,
        resolve_paths,
        run,
    )

    config = (
        resolve_paths(load_config(args.config), Path(args.config).parent) if args.config else None
    )
    assignments = resolve_paths(
        merge_parameters([parse_assignment(text) for text in args.param]), Path.cwd()
    )
    if args.jobs is not None and args.jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, not {args.jobs}")
    try:
        result = run(
            args.notebooks,
            args.out,
            only=args.only,
            parameters=merge_parameters(config, assignments),  # -p wins over the file
            jobs=args.jobs,
            timeout=args.timeout,
            show_code=args.show_code,
            progress=not args.quiet,
            cluster=args.cluster,
            workers=args.workers,
        )
    except ImportError as exc:
        if (args.cluster is None and args.workers is None) or not _missing_dask(exc):
            raise
        from perflab.cluster import INSTALL_HINT

        text = str(exc) if INSTALL_HINT in str(exc) else f"{exc}; install it with: {INSTALL_HINT}"
        raise ParameterError(text) from None  # dask.distributed missing
    notebooks = result.manifest["notebooks"]
    print(f"report: {result.index}")
    if result.ok:
        print(f"{len(notebooks)} notebook(s) ran without error")
        return 0
    failed = result.failed
    print(
        f"perflab: {len(failed)} of {len(notebooks)} notebook(s) did not finish:",
        file=sys.stderr,
    )
    for nb in failed:
        reason = (nb["error"] or "no error message").splitlines()[0]
        page = result.path / nb["html"] if nb["html"] else result.path / "manifest.json"
        print(f"  {nb['name']}: {nb['status']}: {reason}", file=sys.stderr)
        print(f"    see {page}", file=sys.stderr)
    return EXIT_FAILED


def _missing_dask(exc: ImportError) -> bool:
    """Whether ``exc`` says that dask.distributed is not installed (not another import).

    Examples
    --------
    >>> _missing_dask(ImportError("No module named 'distributed'", name="distributed"))
    True
    >>> _missing_dask(ImportError("No module named 'papermill'", name="papermill"))
    False
    """
    from perflab.cluster import INSTALL_HINT

    top = (exc.name or "").split(".")[0]
    return top in ("dask", "distributed") or INSTALL_HINT in str(exc)


def _cmd_samples(args: argparse.Namespace) -> int:
    from perflab.samples import write_samples

    for path in write_samples(Path(args.dest), only=args.only):
        print(path)
    return 0


def _load_results(path_text: str, what: str) -> object:
    """A REQUESTS or SUMMARY frame from ``path_text``: Parquet/CSV in one of those
    schemas directly, anything else through :func:`perflab.loadtest.read_results`."""
    from perflab.errors import PerflabError
    from perflab.loadtest.aggregate import _columns_of, _kind_of, load_results

    path = Path(path_text)
    if not path.is_file():
        stats = Path(f"{path_text}_stats.csv")  # a Locust --csv prefix
        if not stats.is_file():
            raise ParameterError(f"{what} {path_text}: no such file")
        path = stats
    try:
        if _kind_of(_columns_of(path) or []) is not None:
            return load_results(path, what=path_text)[1]
        from perflab.loadtest import read_results

        return read_results(path)
    except PerflabError as exc:
        raise ParameterError(f"cannot read {what} {path_text}: {exc}") from exc
    except (ImportError, AttributeError) as exc:
        raise ParameterError(
            f"cannot read {what} {path_text}: not a REQUESTS/SUMMARY Parquet or CSV file, "
            f"and the result-file readers are not available ({exc})"
        ) from exc


def _cmd_gate(args: argparse.Namespace) -> int:
    from perflab.loadtest.gates import gate

    results = _load_results(args.results, "results")
    baseline = _load_results(args.baseline, "baseline") if args.baseline else None
    outcome = gate(
        results,
        p95_ms=args.p95_ms,
        p99_ms=args.p99_ms,
        error_rate=args.error_rate,
        rps=args.min_rps,
        baseline=baseline,
        alpha=args.alpha,
        margin=args.margin,
    )
    print(f"perflab gate: {'pass' if outcome.passed else 'fail'} — {outcome.reason}")
    return 0 if outcome.passed else EXIT_FAILED


def _cmd_export(args: argparse.Namespace) -> int:
    from perflab.frames import write_atomic
    from perflab.report.export import export, load_run, markdown, resolve_run, single_html

    root = resolve_run(args.run, args.reports)
    if args.out == "-":
        if args.fmt != "markdown":
            raise ParameterError("--out - (standard output) is for --format markdown only")
        sys.stdout.write(markdown(root))
        return 0
    for path in export(root, args.fmt, out=args.out, out_dir=args.reports):
        print(path)
    if args.single_html:
        target = Path(args.out) if args.out else root / "export"
        run_id = load_run(root)["run_id"]
        print(write_atomic(target / f"{run_id}.html", single_html(root)))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from perflab.report.checks import check_run

    checks = check_run(
        args.run,
        args.reports,
        limits=args.limit,
        regressions=not args.no_regressions,
        runs=args.runs,
        margin=args.margin,
        fail_on=args.fail_on,
    )
    failed = checks.filter(~checks["passed"])
    for row in failed.iter_rows(named=True):
        print(f"FAIL {row['check']}: {row['subject']} — {row['detail']}")
    verdict = "pass" if failed.is_empty() else "fail"
    print(f"perflab check: {verdict} — {checks.height - failed.height} of {checks.height} check(s)")
    return 0 if failed.is_empty() else EXIT_FAILED


def _cmd_compare(args: argparse.Namespace) -> int:
    from perflab.report.compare import write_comparison

    print(write_comparison(args.run_a, args.run_b, args.out, out_dir=args.reports))
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from perflab.report.rebuild import rebuild

    for path in rebuild(args.out, runs=args.run):
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``perflab`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success, 1 a notebook failed, 2 usage or parameter
        error, 130 interrupted.

    Examples
    --------
    >>> import tempfile
    >>> main(["run", "--notebooks", tempfile.mkdtemp(), "--out", tempfile.mkdtemp(),
    ...       "--quiet"])  # doctest: +ELLIPSIS
    report: .../index.html
    0 notebook(s) ran without error
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="perflab: %(levelname)s: %(message)s",
    )
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave SIGTERM alone
        previous = None
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "gate":
            return _cmd_gate(args)
        if args.command == "export":
            return _cmd_export(args)
        if args.command == "compare":
            return _cmd_compare(args)
        if args.command == "index":
            return _cmd_index(args)
        if args.command == "check":
            return _cmd_check(args)
        return _cmd_samples(args)
    except (ParameterError, InputError) as exc:
        print(f"perflab: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("perflab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

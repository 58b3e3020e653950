"""The ``perflab`` command.

::

    perflab run [--only NAME ...] [--out DIR] [-p NAME.KEY=VALUE ...] [--config FILE]
                [--jobs N] [--show-code] [--timeout SECONDS] [--notebooks DIR]
    perflab samples [--dest DIR] [--only DOMAIN ...]

``run`` executes the notebooks and writes ``DIR/<run-id>/index.html``; it exits with 1
when a notebook failed or timed out (after building the whole report), 2 for a usage
or parameter error, 130 when interrupted. ``samples`` regenerates the generated parts
of ``data/sample/`` (each domain's generator, found by :mod:`perflab.samples`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from perflab.errors import ParameterError

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
    return parser


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
    result = run(
        args.notebooks,
        args.out,
        only=args.only,
        parameters=merge_parameters(config, assignments),  # -p wins over the file
        jobs=args.jobs,
        timeout=args.timeout,
        show_code=args.show_code,
        progress=not args.quiet,
    )
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


def _cmd_samples(args: argparse.Namespace) -> int:
    from perflab.samples import write_samples

    for path in write_samples(Path(args.dest), only=args.only):
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
        return _cmd_samples(args)
    except ParameterError as exc:
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

"""Run a batch of notebooks with papermill and build ``<out>/<run-id>/``.

The flow of :func:`run`:

1. find the notebooks (``NN-name.ipynb`` → ``name``), select ``only``, check every
   parameter against the notebook's ``parameters`` cell (``papermill.inspect_notebook``)
   — all before anything runs;
2. reserve ``<out>/.<run-id>.partial/`` and run the notebooks in a pool of worker
   processes. Each worker executes one notebook with ``papermill.execute_notebook``
   (cwd = the notebook's directory, kernel ``perflab`` or else ``python3``) and renders
   it with nbconvert in the same process (:mod:`perflab.report.render`). A watchdog
   thread bounds the whole notebook: at the deadline it interrupts the kernel (the
   cell's traceback lands in the notebook) and, if that does not stop it, kills the
   kernel's processes; papermill's per-cell ``execution_timeout`` is the backstop.
   A failed or timed-out notebook is still rendered, with its error. With a Dask
   cluster (``cluster=`` / ``workers=``, :mod:`perflab.cluster`) each notebook is a
   Dask task instead (:func:`perflab.report.worker.run_remote`): it runs on a worker
   into a scratch directory and its page, executed notebook and published frames
   come back as bytes, written here into the same partial directory;
   notebooks marked ``"perflab": {"after": "all"}`` in their metadata run in a
   second phase, after a provisional ``manifest.json`` (``"partial": true``) of the
   first phase is written;
3. write ``manifest.json`` and ``index.html`` last, rename the directory to
   ``<out>/<run-id>/``, append the figures to the history and point ``<out>/latest``
   at the run (a symlink replaced atomically; a ``latest`` that is not a symlink is
   the user's and is left alone).

An interrupted run leaves only the hidden ``.partial`` directory behind. Run ids are
the start time to the second; a run that starts in the same second as another gets
``-2``, ``-3``, … appended.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perflab.errors import ParameterError
from perflab.report.worker import (
    Task,
    _safe_relative,
    entry,
    failed_entry,
    run_notebook,
    run_remote,
)

__all__ = [
    "AFTER_ALL",
    "DEFAULT_TIMEOUT",
    "KERNEL_NAME",
    "RunResult",
    "discover",
    "load_config",
    "merge_parameters",
    "notebook_name",
    "parse_assignment",
    "resolve_paths",
    "run",
    "select_kernel",
    "validate_parameters",
]

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0
"""Seconds a notebook may run, kernel start included, before it is stopped."""

KERNEL_NAME = "perflab"
"""The kernelspec the notebooks declare (``make install`` registers it)."""

AFTER_ALL = "all"
"""``"perflab": {"after": "all"}`` in a notebook's metadata: run it after all others."""

_PREFIX = re.compile(r"^\d+-")
_CLUSTER_SLACK_S = 120.0
"""Seconds beyond the notebook timeout that a cluster run waits for any notebook to
finish before it gives the pending ones up (a worker gives up on a notebook's process
``timeout`` + 65 s after it started; the rest is for moving files)."""


def notebook_name(path: str | os.PathLike[str]) -> str:
    """A notebook's name: its file stem without the ``NN-`` ordering prefix.

    Examples
    --------
    >>> notebook_name("notebooks/01-monitoring.ipynb")
    'monitoring'
    >>> notebook_name("scratch.ipynb")
    'scratch'
    """
    return _PREFIX.sub("", Path(path).stem, count=1)


def discover(notebooks_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The notebooks in ``notebooks_dir``, by name, in file-name order.

    Raises
    ------
    ParameterError
        When the directory does not exist, two files give the same name, or a name is
        ``index`` (the run's dashboard page is ``index.html``).

    Examples
    --------
    >>> import tempfile, nbformat
    >>> d = Path(tempfile.mkdtemp())
    >>> for f in ("02-caching.ipynb", "01-monitoring.ipynb"):
    ...     nbformat.write(nbformat.v4.new_notebook(), d / f)
    >>> list(discover(d))
    ['monitoring', 'caching']
    """
    root = Path(notebooks_dir)
    if not root.is_dir():
        raise ParameterError(f"notebooks directory {str(root)!r} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(root.glob("*.ipynb")):
        if path.name.startswith("."):
            continue
        name = notebook_name(path)
        if name == "index":
            raise ParameterError(
                f"notebook {path.name!r} would be named 'index', which is the run's dashboard"
            )
        if name in found:
            raise ParameterError(
                f"notebooks {found[name].name!r} and {path.name!r} have the same name {name!r}"
            )
        found[name] = path
    return found


def _yaml_load(text: str) -> Any:
    """``yaml.safe_load`` that leaves dates and timestamps as strings.

    papermill passes a date to the notebook as its string anyway; keeping it a string
    here keeps the manifest (JSON) and the notebook in agreement.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return yaml.load(text, Loader=Loader)


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """Parse ``NAME.KEY=VALUE`` (the CLI's ``-p``); VALUE is read as YAML.

    Numbers, booleans, ``null``, lists (``[1, 2]``) and mappings work; anything else,
    dates included, stays a string. An empty VALUE is ``None``.

    Examples
    --------
    >>> parse_assignment("monitoring.slo_p95_ms=250")
    ('monitoring', 'slo_p95_ms', 250)
    >>> parse_assignment("monitoring.services=[api, web]")
    ('monitoring', 'services', ['api', 'web'])
    >>> parse_assignment("monitoring.title=p95 = 250 ms")
    ('monitoring', 'title', 'p95 = 250 ms')
    >>> parse_assignment("monitoring.since=2026-11-01")
    ('monitoring', 'since', '2026-11-01')
    """
    import yaml

    target, sep, raw = text.partition("=")
    notebook, dot, key = target.strip().partition(".")
    if not sep or not dot or not notebook or not key:
        raise ParameterError(f"expected NAME.KEY=VALUE, got {text!r}")
    try:
        value = _yaml_load(raw)
    except yaml.YAMLError as exc:
        raise ParameterError(f"cannot parse the value in {text!r}: {exc}") from None
    return notebook, key, value


def load_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read a run configuration: a YAML mapping of notebook name → mapping of parameters.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "run.yaml"
    >>> _ = p.write_text("monitoring:\\n  slo_p95_ms: 300\\n")
    >>> load_config(p)
    {'monitoring': {'slo_p95_ms': 300}}
    """
    import yaml

    source = Path(path)
    try:
        data = _yaml_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"cannot read config {str(source)!r}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"config {str(source)!r} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, dict | type(None)) for k, v in data.items()
    ):
        raise ParameterError(
            f"config {str(source)!r} must map notebook names to mappings of parameters"
        )
    return {name: dict(params or {}) for name, params in data.items()}


def resolve_paths(
    params: Mapping[str, Mapping[str, Any]], base: str | os.PathLike[str]
) -> dict[str, dict[str, Any]]:
    """Make relative paths that exist under ``base`` absolute.

    Notebooks run in their own folder, so a relative path given on the command line
    (relative to where you typed it) or in a config file (relative to the file) would
    otherwise be looked up in the wrong place. Only string values that name an
    existing file or folder under ``base`` change; everything else stays as given.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "m.csv").write_text("x")
    >>> out = resolve_paths({"monitoring": {"metrics_path": "m.csv", "window": "5m"}}, d)
    >>> out["monitoring"]["metrics_path"] == str(d / "m.csv"), out["monitoring"]["window"]
    (True, '5m')
    """
    root = Path(base)
    resolved: dict[str, dict[str, Any]] = {}
    for notebook, values in params.items():
        resolved[notebook] = {}
        for key, value in values.items():
            if isinstance(value, str) and value and not Path(value).is_absolute():
                candidate = root / value
                if candidate.exists():
                    value = str(candidate.resolve())
            resolved[notebook][key] = value
    return resolved


def merge_parameters(
    *layers: Mapping[str, Mapping[str, Any]] | Iterable[tuple[str, str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    """Merge parameter layers, later ones winning key by key.

    Each layer is a mapping ``{notebook: {key: value}}`` (a config file) or an iterable
    of ``(notebook, key, value)`` triples (parsed ``-p`` options).

    Examples
    --------
    >>> merge_parameters({"m": {"a": 1, "b": 2}}, [("m", "b", 3)])
    {'m': {'a': 1, 'b': 3}}
    """
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        if layer is None:
            continue
        if isinstance(layer, Mapping):
            for notebook, params in layer.items():
                merged.setdefault(notebook, {}).update(params)
        else:
            for notebook, key, value in layer:
                merged.setdefault(notebook, {})[key] = value
    return merged


def validate_parameters(
    notebooks: Mapping[str, Path], parameters: Mapping[str, Mapping[str, Any]]
) -> None:
    """Check that every notebook and parameter named in ``parameters`` exists.

    Parameter names come from each notebook's ``parameters`` cell, read by
    ``papermill.inspect_notebook``.

    Raises
    ------
    ParameterError
        Naming the unknown notebook or parameter and listing the known ones.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> d = Path(tempfile.mkdtemp())
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.metadata.kernelspec = {"name": "perflab", "display_name": "p", "language": "python"}
    >>> nb.cells = [nbformat.v4.new_code_cell("slo_ms = 250", metadata={"tags": ["parameters"]})]
    >>> nbformat.write(nb, d / "01-monitoring.ipynb")
    >>> validate_parameters(discover(d), {"monitoring": {"slo_ms": 300}})
    >>> validate_parameters(discover(d), {"monitoring": {"slo": 300}})
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: notebook 'monitoring' has no parameter 'slo'; its ...: slo_ms
    """
    _check_known(parameters, notebooks)
    if not any(parameters.values()):
        return
    import papermill

    for name, params in parameters.items():
        if not params:
            continue
        try:
            known = list(papermill.inspect_notebook(str(notebooks[name])))
        except ValueError as exc:  # e.g. no kernelspec in the notebook's metadata
            raise ParameterError(f"cannot read the parameters of {name!r}: {exc}") from None
        missing = [key for key in params if key not in known]
        if missing:
            raise ParameterError(
                f"notebook {name!r} has no parameter {', '.join(map(repr, missing))}; "
                f"its parameters: {', '.join(known) or '(none)'}"
            )


def _check_known(names: Iterable[str], notebooks: Mapping[str, Path]) -> None:
    unknown = [name for name in dict.fromkeys(names) if name not in notebooks]
    if unknown:
        raise ParameterError(
            f"unknown notebook(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(notebooks) or '(none)'}"
        )


def select_kernel(declared: str | None, available: Iterable[str]) -> str:
    """The kernel to run a notebook with: the one it declares if installed, else python3.

    Examples
    --------
    >>> select_kernel("perflab", ["perflab", "python3"])
    'perflab'
    >>> select_kernel("perflab", ["python3"])
    'python3'
    """
    names = set(available)
    wanted = declared or KERNEL_NAME
    if wanted in names:
        return wanted
    logger.warning(
        "no Jupyter kernel named %r (run `make install` to register it); "
        "using this interpreter's python3 kernel",
        wanted,
    )
    return "python3"


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    run_id : str
        Name of the run directory.
    path : Path
        ``<out>/<run_id>``, holding ``index.html``, ``manifest.json`` and one ``.html``
        and ``.ipynb`` per notebook.
    manifest : dict
        The content of ``manifest.json``.
    """

    run_id: str
    path: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def index(self) -> Path:
        """The run's dashboard page."""
        return self.path / "index.html"

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Manifest entries of the notebooks that failed or timed out."""
        return [nb for nb in self.manifest["notebooks"] if nb["status"] != "ok"]

    @property
    def ok(self) -> bool:
        """Whether every notebook ran to the end."""
        return not self.failed


def run(
    notebooks_dir: str | os.PathLike[str] = "notebooks",
    out_dir: str | os.PathLike[str] = "reports",
    *,
    only: Sequence[str] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    show_code: bool = False,
    progress: bool = True,
    cluster: str | Client | None = None,
    workers: int | None = None,
) -> RunResult:
    """Execute and render a batch of notebooks into ``<out_dir>/<run-id>/``.

    Parameters
    ----------
    notebooks_dir : path
        Directory of ``NN-name.ipynb`` notebooks.
    out_dir : path
        Reports directory; the run goes to ``<out_dir>/<run-id>/``, the history to
        ``<out_dir>/history/``, and ``<out_dir>/latest`` points at the newest run.
    only : sequence of str, optional
        Names of the notebooks to run (default all).
    parameters : mapping, optional
        ``{notebook: {parameter: value}}`` injected by papermill.
    jobs : int, optional
        Worker processes on this machine (default ``os.cpu_count()``); not with
        ``cluster`` or ``workers``.
    timeout : float
        Seconds each notebook may take in total, kernel start included.
    show_code : bool
        Keep code cells in the HTML pages.
    progress : bool
        Show a progress bar of notebooks done on stderr.
    cluster : str or distributed.Client, optional
        Run the notebooks as tasks of this Dask cluster (a scheduler address such as
        ``"tcp://host:8786"``, or a client) instead of in local processes; see
        :func:`perflab.cluster.connect`. The workers need perflab and the notebooks
        directory (with its data) at the same path as here; pages, notebooks and
        frames come back to this machine, so the run directory is the same.
    workers : int, optional
        Without ``cluster``: run on a local Dask cluster of this many worker
        processes (127.0.0.1, one thread each).

    Returns
    -------
    RunResult
        Check ``.ok`` / ``.failed``: a failing notebook does not raise.

    Raises
    ------
    ParameterError
        For an unknown notebook name or parameter, before anything runs; for a Dask
        scheduler that cannot be reached.
    ImportError
        For ``cluster`` or ``workers`` without ``dask.distributed`` installed.

    Notes
    -----
    A notebook whose metadata holds ``"perflab": {"after": "all"}`` (the reporting
    notebook) runs after all the others have finished. Before it starts, the run
    directory holds a provisional ``manifest.json`` — the final manifest's shape with
    the notebooks done so far and ``"partial": true`` — next to the file that
    ``PERFLAB_FIGURES`` names, together with their pages and published frames.

    Examples
    --------
    >>> import tempfile
    >>> notebooks, out = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> result = run(notebooks, out, progress=False)
    >>> result.ok, result.manifest["notebooks"], sorted(p.name for p in result.path.iterdir())
    (True, [], ['index.html', 'manifest.json'])
    >>> (Path(out) / "latest").resolve() == result.path.resolve()
    True
    """
    found = discover(notebooks_dir)
    selected = list(found) if only is None else list(dict.fromkeys(only))
    _check_known(selected, found)
    params = merge_parameters(parameters)
    validate_parameters(found, params)
    if timeout <= 0:
        raise ParameterError(f"timeout must be positive, not {timeout!r}")
    remote = cluster is not None or workers is not None
    if remote and jobs is not None:
        raise ParameterError(
            "jobs sets this machine's worker processes; with a cluster, its workers run "
            "the notebooks (use workers= for the size of a local Dask cluster)"
        )
    processes = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    kernels, after = _inspect([found[name] for name in selected])
    with contextlib.ExitStack() as stack:
        client = None
        if remote:  # connect before the run directory exists: a bad address leaves nothing
            from perflab.cluster import connect

            client = stack.enter_context(connect(cluster, workers))
        return _run_batch(
            selected,
            found,
            params,
            kernels,
            after,
            notebooks_dir=Path(notebooks_dir),
            out=Path(out_dir),
            timeout=float(timeout),
            show_code=show_code,
            progress=progress,
            processes=processes,
            client=client,
        )


def _run_batch(
    selected: list[str],
    found: Mapping[str, Path],
    params: Mapping[str, Mapping[str, Any]],
    kernels: Mapping[Path, str],
    after: Mapping[Path, bool],
    *,
    notebooks_dir: Path,
    out: Path,
    timeout: float,
    show_code: bool,
    progress: bool,
    processes: int,
    client: Any,
) -> RunResult:
    """Steps 2 and 3 of :func:`run`, its arguments checked: run both phases, finish."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    clock = time.monotonic()
    run_id, partial = _reserve(out, started)
    logger.info("run %s: %d notebook(s) in %s", run_id, len(selected), partial)
    tasks = [
        Task(
            name=name,
            source=str(found[name]),
            path=str(found[name].resolve()),
            out_dir=str(partial.resolve()),
            parameters=dict(params.get(name, {})),
            kernel_name=kernels[found[name]],
            timeout=timeout,
            show_code=show_code,
            run_id=run_id,
        )
        for name in selected
    ]
    first = [task for task in tasks if not after[found[task.name]]]
    last = [task for task in tasks if after[found[task.name]]]

    def manifest(results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "duration_s": round(time.monotonic() - clock, 3),
            "notebooks_dir": str(notebooks_dir),
            "timeout_s": timeout,
            "notebooks": [results[name] for name in selected if name in results],
        }

    bar = tqdm(
        total=len(tasks),
        desc="notebooks",
        unit="nb",
        file=sys.stderr,
        disable=not progress or not tasks,
    )
    try:
        if client is not None:
            results = _execute_on_cluster(client, first, bar)
            if last:
                _write_provisional(partial, manifest(results))
                shipped = _shipped_inputs(partial)
                context = _shipped_context(out, partial)
                results.update(_execute_on_cluster(client, last, bar, shipped, context))
        else:
            results = _execute_all(first, processes, bar)
            if last:
                _write_provisional(partial, manifest(results))
                results.update(_execute_all(last, processes, bar))
    finally:
        bar.close()
    return _finish(out, partial, run_id, started, manifest(results))


def _inspect(paths: Sequence[Path]) -> tuple[dict[Path, str], dict[Path, bool]]:
    """The kernel each notebook runs on, and whether it runs after all others.

    A notebook runs after the others (in a second phase) when its metadata holds
    ``"perflab": {"after": "all"}``.
    """
    if not paths:
        return {}, {}
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager

    available = list(KernelSpecManager().find_kernel_specs())
    kernels: dict[Path, str] = {}
    after: dict[Path, bool] = {}
    for path in paths:
        try:
            metadata = nbformat.read(path, as_version=4).metadata
            declared = metadata.get("kernelspec", {}).get("name")
            order = metadata.get("perflab", {}).get("after")
        except Exception:  # not a notebook: its worker reports the error on its page
            declared, order = None, None
        if order not in (None, AFTER_ALL):
            logger.warning(
                "notebook %s: metadata perflab.after is %r; the only value is %r",
                path.name,
                order,
                AFTER_ALL,
            )
        kernels[path] = select_kernel(declared, available)
        after[path] = order == AFTER_ALL
    return kernels, after


def _write_provisional(partial: Path, manifest: dict[str, Any]) -> None:
    """``manifest.json`` of the notebooks done so far, marked ``"partial": true``."""
    from perflab.frames import write_atomic

    text = json.dumps({**manifest, "partial": True}, indent=2, ensure_ascii=False, default=str)
    write_atomic(partial / "manifest.json", text)


def _reserve(out: Path, started: datetime) -> tuple[str, Path]:
    """Pick a free run id and create its partial directory (mkdir is the lock)."""
    base = started.strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        run_id = base if attempt == 1 else f"{base}-{attempt}"
        partial = out / f".{run_id}.partial"
        if (out / run_id).exists():
            continue
        try:
            partial.mkdir()
        except FileExistsError:
            continue
        if (out / run_id).exists():  # lost a race with a run that just finished
            partial.rmdir()
            continue
        return run_id, partial
    raise RuntimeError(f"no free run id for {base} in {out}")  # pragma: no cover


def _execute_all(tasks: list[Task], workers: int, bar: Any) -> dict[str, dict[str, Any]]:
    if not tasks:
        return {}
    results: dict[str, dict[str, Any]] = {}
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context)
    try:
        futures: dict[Future[dict[str, Any]], Task] = {
            pool.submit(run_notebook, task): task for task in tasks
        }
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # the worker process itself died
                result = failed_entry(task, f"{type(exc).__name__}: {exc}")
            results[task.name] = result
            bar.set_postfix_str(f"{task.name}: {result['status']}", refresh=False)
            bar.update(1)
    except BaseException:
        _kill_pool(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _execute_on_cluster(
    client: Any,
    tasks: list[Task],
    bar: Any,
    inputs: Mapping[str, bytes] | None = None,
    context: Mapping[str, bytes] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run ``tasks`` as Dask tasks (:func:`run_remote`); write what they produced.

    Each notebook file is sent along, so the workers run the client's version. The
    files a notebook produced come back as bytes and are written into the task's
    ``out_dir`` (the run's partial directory); a task that raised (its worker died,
    the task could not be deserialised…) gets a failed entry and an error page, as a
    dead worker process does locally.

    A worker bounds each notebook it runs (:func:`run_remote`), so while any worker
    runs notebooks one of them finishes at least every ``timeout`` +
    :data:`_CLUSTER_SLACK_S` seconds. When none does for that long (the workers left,
    or are all busy with other work), the notebooks still pending end as timeouts,
    as a notebook over its time does locally, and the run goes on to its report.
    """
    if not tasks:
        return {}
    from distributed import TimeoutError as DaskTimeout
    from distributed import wait

    results: dict[str, dict[str, Any]] = {}
    futures = {}
    for task in tasks:
        try:
            notebook: bytes | None = Path(task.path).read_bytes()
        except OSError:  # the worker reports the unreadable notebook on its page
            notebook = None
        future = client.submit(
            run_remote,
            task,
            notebook,
            inputs,
            context,
            key=f"perflab-{task.run_id}-{task.name}-{uuid.uuid4().hex[:8]}",
            pure=False,
            retries=0,
        )
        futures[future] = task

    def record(task: Task, result: dict[str, Any]) -> None:
        results[task.name] = result
        bar.set_postfix_str(f"{task.name}: {result['status']}", refresh=False)
        bar.update(1)

    bound = max(task.timeout for task in tasks) + _CLUSTER_SLACK_S
    remaining = set(futures)
    try:
        while remaining:
            try:
                done = wait(remaining, timeout=bound, return_when="FIRST_COMPLETED").done
            except (DaskTimeout, TimeoutError):  # no notebook finished for `bound` s
                client.cancel(list(remaining), force=True)
                for future in sorted(remaining, key=lambda f: tasks.index(futures[f])):
                    task = futures[future]
                    note = (
                        f"TimeoutError: notebook did not finish within {task.timeout:g} s "
                        f"(no Dask worker finished a notebook for {bound:g} s)"
                    )
                    record(task, _timed_out(task, note))
                break
            for future in sorted(done, key=lambda f: tasks.index(futures[f])):
                remaining.discard(future)
                task = futures[future]
                try:
                    answer = future.result()
                    result = _store(task, answer)
                except Exception as exc:
                    result = failed_entry(task, f"{type(exc).__name__}: {exc}")
                record(task, result)
    except BaseException:
        client.cancel(list(futures), force=True)
        raise
    return results


def _timed_out(task: Task, note: str) -> dict[str, Any]:
    """The entry, with a page showing ``note``, of a notebook no worker finished."""
    from perflab.report.worker import _write_error_page

    html = _write_error_page(task, "timeout", note)
    return entry(task, "timeout", 0.0, [], note, html=html)


def _store(task: Task, answer: Mapping[str, Any]) -> dict[str, Any]:
    """Write the files a remote notebook produced into the run; return its entry."""
    from perflab.frames import write_atomic

    out = Path(task.out_dir)
    for rel, data in answer["files"].items():
        try:
            path = _safe_relative(rel)
        except ValueError:
            logger.warning("notebook %r: ignoring the file %r from its worker", task.name, rel)
            continue
        write_atomic(out.joinpath(*path.parts), data)
    logger.info("notebook %r ran on %s", task.name, answer.get("worker", "?"))
    result: dict[str, Any] = answer["entry"]
    return result


def _shipped_inputs(partial: Path) -> dict[str, bytes]:
    """What an ``after: all`` notebook on a worker finds of the run so far.

    The provisional ``manifest.json`` and the frames published by the notebooks that
    ran (``frames/<notebook>/*.parquet``); not the pages, which can be large.
    """
    from perflab.report.export import FRAMES_DIR

    files = {"manifest.json": (partial / "manifest.json").read_bytes()}
    for path in sorted((partial / FRAMES_DIR).rglob("*.parquet")):
        if not path.name.startswith("."):
            files[path.relative_to(partial).as_posix()] = path.read_bytes()
    return files


def _shipped_context(out: Path, partial: Path) -> dict[str, bytes]:
    """What an ``after: all`` notebook on a worker finds around the run, by path in ``out``.

    The history (``history/*.parquet``, read by :func:`perflab.report.read_history`
    on the run directory's parent), every earlier run's ``manifest.json``, and the
    published ``recommendations`` and ``events`` frames of the latest earlier run of
    each notebook (what an overview compares the run with, or shows when the batch
    holds only the overview). Runs in hidden directories and the ``latest`` link are
    left out.
    """
    from perflab.report.export import FRAMES_DIR
    from perflab.report.store import history_dir

    files: dict[str, bytes] = {}
    for path in sorted(history_dir(out).glob("*.parquet")):
        if not path.name.startswith("."):
            files[path.relative_to(out).as_posix()] = path.read_bytes()
    runs = []
    for path in out.glob("*/manifest.json"):
        run_dir = path.parent
        if run_dir == partial or run_dir.is_symlink() or run_dir.name.startswith("."):
            continue
        try:
            text = path.read_bytes()
            manifest = json.loads(text)
            names = {str(nb["name"]) for nb in manifest.get("notebooks", [])}
        except (OSError, ValueError, TypeError, KeyError):
            continue  # an unreadable run: the overview skips it as well
        runs.append((str(manifest.get("started_at") or ""), run_dir.name, text, names))
    covered: set[str] = set()
    for _, name, text, names in sorted(runs, reverse=True):
        files[f"{name}/manifest.json"] = text
        if names <= covered:
            continue
        covered |= names
        for frame in ("recommendations", "events"):
            for path in sorted((out / name / FRAMES_DIR).glob(f"*/{frame}.parquet")):
                files[path.relative_to(out).as_posix()] = path.read_bytes()
    return files


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers and their kernels (by pid), then drop pending work."""
    import psutil

    processes = dict(getattr(pool, "_processes", None) or {})
    victims: list[psutil.Process] = []
    for pid in processes:
        try:
            worker = psutil.Process(pid)
            victims.extend(worker.children(recursive=True))
            victims.append(worker)
        except psutil.NoSuchProcess:
            continue
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(victims, timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)


def _finish(
    out: Path, partial: Path, run_id: str, started: datetime, manifest: dict[str, Any]
) -> RunResult:
    import polars as pl

    from perflab.frames import write_atomic
    from perflab.report import store as hist
    from perflab.report.index import render_index

    figures = {nb["name"]: nb["figures"] for nb in manifest["notebooks"]}
    this_run = hist.run_frame(run_id, started, figures)
    past = hist.read_history(out).filter(pl.col("run_id") != run_id)
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str)
    write_atomic(partial / "manifest.json", text)
    write_atomic(partial / "index.html", render_index(manifest, pl.concat([past, this_run])))
    final = out / run_id
    os.rename(partial, final)
    try:
        hist.append_run(out, run_id, started, figures)
    except Exception:
        logger.exception("run %s: could not append its figures to the history", run_id)
    _point_latest(out, run_id)
    return RunResult(run_id=run_id, path=final, manifest=manifest)


def _point_latest(out: Path, run_id: str) -> None:
    """Make ``<out>/latest`` a symlink to the run, unless ``latest`` is not a symlink."""
    link = out / "latest"
    if link.exists() and not link.is_symlink():
        logger.warning(
            "%s is not a symlink, so it is left alone; the newest run is %s", link, out / run_id
        )
        return
    tmp = out / f".latest.{run_id}.tmp"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(run_id, tmp)
        os.replace(tmp, link)
    except OSError as exc:
        logger.warning("cannot point %s at %s: %s", link, run_id, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)

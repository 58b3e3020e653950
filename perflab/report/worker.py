"""The worker side of a run: execute one notebook, bound its time, render it.

:func:`run_notebook` runs in a worker process of :func:`perflab.report.runner.run`'s
pool. It sets ``PERFLAB_FIGURES`` and ``PERFLAB_REPORT`` for the kernel, executes the
notebook with ``papermill.execute_notebook`` (cwd = the notebook's directory), and
renders the executed notebook with :func:`render_page`.

Time is bounded over the whole notebook, kernel start included, by :class:`Watchdog`:
at the deadline it sends SIGINT to the kernel (the worker's child), so the running
cell stops with a KeyboardInterrupt traceback that papermill records; if the kernel is
still busy after a grace period, every process below the worker is killed.
papermill's per-cell ``execution_timeout`` is the backstop. The watchdog also stops
the kernel and the worker when the run that started them is gone (killed), so nothing
keeps running for a report nobody will write. The kernel's stderr goes to a file whose
tail explains a kernel that would not start.

Every notebook gets a page: when the notebook cannot be read or rendered, the page
holds just the error (:func:`failed_entry` does the same for a worker that died).
Error texts lose colour codes and control characters, as they end up in a terminal.

On a Dask cluster the task is :func:`run_remote` instead: on the worker it runs
:func:`run_notebook` in a fresh child process, into a scratch directory, and returns the
manifest entry with the bytes of every file the notebook produced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from perflab.report.figures import FIGURES_ENV, Figure, read_figures
from perflab.report.redact import redact
from perflab.vega import REPORT_ENV

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "Task",
    "Watchdog",
    "entry",
    "failed_entry",
    "render_page",
    "run_notebook",
    "run_remote",
]

logger = logging.getLogger(__name__)

# ANSI escape sequences (CSI such as colours, OSC such as window titles, two-byte
# ones), then any control character left but tab and newline.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_GRACE_S = 5.0
_POLL_S = 0.5
_ERROR_LINES = 8
_REMOTE_SLACK_S = 60.0
_CHILD = (
    "import sys; from perflab.report.worker import _child_main; "
    "sys.exit(_child_main(sys.argv[1], sys.argv[2]))"
)


@dataclass(frozen=True)
class Task:
    """One notebook to run: what the pool sends to a worker.

    Attributes
    ----------
    name : str
        Notebook name (file stem without the ``NN-`` prefix).
    source : str
        The notebook's path as found (recorded in the manifest).
    path : str
        Its absolute path (executed, with cwd = its directory).
    out_dir : str
        The run's partial directory, where ``<name>.ipynb`` and ``<name>.html`` go.
    parameters : dict
        Injected by papermill.
    kernel_name : str
        Kernelspec to execute with.
    timeout : float
        Seconds for the whole notebook, kernel start included.
    show_code : bool
        Keep code cells in the HTML page.
    run_id : str
        Shown on the page.
    cwd : str, optional
        Directory the kernel starts in (default the notebook's own directory). Set on
        a Dask worker, where the notebook runs from a shipped copy but its relative
        data paths must resolve in the notebooks directory.
    """

    name: str
    source: str
    path: str
    out_dir: str
    parameters: dict[str, Any]
    kernel_name: str
    timeout: float
    show_code: bool
    run_id: str
    cwd: str | None = None


def entry(
    task: Task,
    status: str,
    duration: float,
    figures: list[Figure],
    error: str | None,
    *,
    html: bool = False,
    ipynb: bool = False,
) -> dict[str, Any]:
    """The manifest entry of a notebook (secret parameters masked, see :func:`redact`).

    Examples
    --------
    >>> task = Task("demo", "nb/01-demo.ipynb", "/abs/nb/01-demo.ipynb", "/tmp/run", {},
    ...             "perflab", 600.0, False, "r1")
    >>> entry(task, "failed", 1.23456, [], "BrokenProcessPool: worker died")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'name': 'demo', 'source': 'nb/01-demo.ipynb', 'status': 'failed', 'duration_s': 1.235,
     'figures': [], 'parameters': {}, 'error': 'BrokenProcessPool: worker died',
     'html': None, 'ipynb': None}
    """
    return {
        "name": task.name,
        "source": task.source,
        "status": status,
        "duration_s": round(duration, 3),
        "figures": figures,
        "parameters": redact(task.parameters),
        "error": error,
        "html": f"{task.name}.html" if html else None,
        "ipynb": f"{task.name}.ipynb" if ipynb else None,
    }


class Watchdog(threading.Thread):
    """Stops the notebook's kernel at the deadline: SIGINT first, then SIGKILL.

    Started before papermill, stopped (:meth:`stop`) when it returns; ``fired`` tells
    whether the deadline passed. While it waits it also checks, every ``poll``
    seconds, that the process that started this one is still there; if it is not (the
    run was killed), it kills the kernel and ends this process.

    Parameters
    ----------
    name : str
        Notebook name, for the log.
    timeout : float
        Seconds from :meth:`start` to the interrupt.
    grace : float
        Seconds from the interrupt to killing every process below this one.
    poll : float
        Seconds between checks that the run is still there.

    Examples
    --------
    >>> dog = Watchdog("demo", timeout=60)
    >>> dog.start()
    >>> dog.stop()
    >>> dog.fired
    False
    """

    def __init__(
        self, name: str, timeout: float, grace: float = _GRACE_S, poll: float = _POLL_S
    ) -> None:
        super().__init__(name="perflab-watchdog", daemon=True)
        self.notebook = name
        self.timeout = timeout
        self.grace = grace
        self.poll = poll
        self.fired = False
        self._done = threading.Event()
        self._parent = os.getppid()

    def run(self) -> None:
        """Wait for the deadline or :meth:`stop`; at the deadline stop the kernel."""
        import psutil

        if self._wait_for_deadline():
            return
        self.fired = True
        me = psutil.Process()
        logger.warning(
            "notebook %r exceeded %g s: interrupting its kernel", self.notebook, self.timeout
        )
        for child in me.children(recursive=False):
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(signal.SIGINT)
        if self._done.wait(self.grace):
            return
        logger.warning(
            "notebook %r still busy %g s after the interrupt: killing its kernel",
            self.notebook,
            self.grace,
        )
        _kill_descendants()

    def _wait_for_deadline(self) -> bool:
        """Wait until the deadline (False) or :meth:`stop` (True); end if orphaned."""
        deadline = time.monotonic() + self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if self._done.wait(min(self.poll, remaining)):
                return True
            if os.getppid() != self._parent:
                logger.warning("the run of notebook %r is gone: stopping its kernel", self.notebook)
                _kill_descendants()
                os._exit(1)
        return False

    def stop(self) -> None:
        """Disarm the watchdog and wait for its thread to end."""
        self._done.set()
        self.join()


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (inherited by the kernel) for the block only."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send this process's stderr (fd 2, inherited by the kernel) to ``path``.

    Kernels and papermill write their chatter there; the file's tail goes into the
    error of a notebook whose kernel died.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(target, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def _record_kernel(nb: Any, kernel_name: str) -> bool:
    """Make the executed notebook name the kernel it ran on (after a fallback)."""
    spec = nb.metadata.get("kernelspec", {})
    if spec.get("name") == kernel_name:
        return False
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        found = KernelSpecManager().get_kernel_spec(kernel_name)
        display, language = found.display_name, found.language
    except NoSuchKernel:
        display, language = kernel_name, spec.get("language", "python")
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": display, "language": language}
    return True


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _kill_descendants() -> None:
    import psutil

    victims = psutil.Process().children(recursive=True)
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(victims, timeout=5)


def _plain(text: str) -> str:
    """``text`` without ANSI escape sequences and control characters (but tab, newline).

    Examples
    --------
    >>> _plain("\\x1b[0;31mValueError\\x1b[0m: bad\\x1b]0;title\\x07 row\\r\\x00")
    'ValueError: bad row'
    """
    return _CONTROL.sub("", _ANSI.sub("", text))


def _tail(lines: Iterable[str], n: int = _ERROR_LINES) -> list[str]:
    """The last ``n`` informative lines of a traceback, without colours or rulers."""
    flat = [
        ln.rstrip() for chunk in lines for ln in _plain(chunk.replace("\r\n", "\n")).split("\n")
    ]
    keep = [
        ln
        for ln in flat
        if ln.strip() and set(ln.strip()) != {"-"} and "Traceback (most recent call last)" not in ln
    ]
    return keep[-n:]


def _describe(exc: BaseException) -> str:
    """Exception name and message; for an error in a cell, the end of its traceback.

    The traceback of an error outside the notebook's code (a dead kernel, a kernel
    that did not start) shows only papermill's internals, so it is left out.
    """
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        head = _plain(f"{exc.ename}: {exc.evalue}".splitlines()[0])
        lines = [f"{head} (in cell In [{exc.exec_count}])"]
        lines += [ln for ln in _tail(exc.traceback) if ln.strip() != head.strip()]
        return "\n".join(lines)
    first = _plain(str(exc).replace("\r\n", "\n")).strip().partition("\n")[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run_notebook(task: Task) -> dict[str, Any]:
    """Execute and render one notebook; return its manifest entry.

    Runs in a worker process: while the kernel runs, ``PERFLAB_FIGURES`` and
    ``PERFLAB_REPORT`` are set in this process's environment (the kernel inherits
    them) and this process's stderr goes to a file. A failure, timeout or dead kernel is
    reported in the entry (``status``, ``error``), never raised.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> src, out = Path(tempfile.mkdtemp()), tempfile.mkdtemp()
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.metadata.kernelspec = {"name": "perflab", "display_name": "p", "language": "python"}
    >>> nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    >>> nbformat.write(nb, src / "01-demo.ipynb")
    >>> task = Task("demo", "01-demo.ipynb", str(src / "01-demo.ipynb"), out, {},
    ...             "perflab", 120.0, False, "r1")
    >>> done = run_notebook(task)
    >>> done["status"], done["html"], "42" in (Path(out) / "demo.html").read_text()
    ('ok', 'demo.html', True)
    """
    start = time.monotonic()
    out = Path(task.out_dir)
    figures_file = out / f".{task.name}.figures.jsonl"
    status, error = _execute(task, figures_file)
    figures = read_figures(figures_file)
    figures_file.unlink(missing_ok=True)
    status, error, html = render_page(task, status, error)
    ipynb = (out / f"{task.name}.ipynb").exists()
    return entry(task, status, time.monotonic() - start, figures, error, html=html, ipynb=ipynb)


def _execute(task: Task, figures_file: Path) -> tuple[str, str | None]:
    """Run the notebook with papermill under a :class:`Watchdog`: ``(status, error)``."""
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    kernel_log = Path(task.out_dir) / f".{task.name}.stderr.log"
    error: str | None = None
    kernel_died = False
    watchdog = Watchdog(task.name, task.timeout)
    watchdog.start()
    kernel_env = {FIGURES_ENV: str(figures_file), REPORT_ENV: "1"}
    with _environ(kernel_env), _stderr_to(kernel_log):
        try:
            papermill.execute_notebook(
                task.path,
                str(Path(task.out_dir) / f"{task.name}.ipynb"),
                parameters=task.parameters or None,
                kernel_name=task.kernel_name,
                progress_bar=False,
                cwd=task.cwd or str(Path(task.path).parent),
                execution_timeout=max(1, int(task.timeout)),
                # CurveZMQ between client and kernel when the kernelspec supports it
                # (ours and ipykernel's do), instead of plain TCP.
                config=Config({"KernelManager": {"transport_encryption": "auto"}}),
            )
        except Exception as exc:
            error = _describe(exc)
            kernel_died = not isinstance(exc, PapermillExecutionError)
        finally:
            watchdog.stop()
            _kill_descendants()
    chatter = _tail([_read_text(kernel_log)], 5)
    kernel_log.unlink(missing_ok=True)
    if watchdog.fired or (error or "").startswith("CellTimeoutError"):
        note = f"TimeoutError: notebook did not finish within {task.timeout:g} s"
        return "timeout", _join(note, error)
    if error is None:
        return "ok", None
    if kernel_died and chatter:
        error = _join(error, "kernel stderr:", *chatter)
    return "failed", error


def render_page(task: Task, status: str, error: str | None) -> tuple[str, str | None, bool]:
    """Write ``<out_dir>/<name>.html`` for a notebook that ran, or tried to.

    The page shows the executed notebook, or the source notebook when papermill wrote
    none, with a banner for a timeout or for a failure that papermill did not mark in
    the notebook. Secret parameters are masked in the executed notebook first
    (:func:`perflab.report.redact.redact`). When the notebook cannot be read or
    rendered, the page holds only a banner with the error, and the status becomes
    ``"failed"``.

    Parameters
    ----------
    task : Task
        The notebook.
    status, error : str, str or None
        How its execution ended.

    Returns
    -------
    tuple of (str, str or None, bool)
        The status and error, updated when the page could not show the notebook, and
        whether a page was written.

    Examples
    --------
    >>> import tempfile
    >>> task = Task("demo", "01-demo.ipynb", "/no/such/01-demo.ipynb", tempfile.mkdtemp(),
    ...             {}, "perflab", 60.0, False, "r1")
    >>> status, error, written = render_page(task, "ok", None)
    >>> status, written
    ('failed', True)
    >>> print(error)
    cannot read the notebook: FileNotFoundError: [Errno 2] No such file or directory: ...
    """
    from perflab.report.render import has_papermill_error, render_html

    try:
        nb = _notebook_to_show(task)
    except Exception as exc:
        if status == "ok":  # otherwise the execution error already explains it
            status, error = "failed", _join(error, f"cannot read the notebook: {_describe(exc)}")
        return status, error, _write_error_page(task, status, error)
    failure_unmarked = status == "failed" and not has_papermill_error(nb)
    banner = error if status == "timeout" or failure_unmarked else None
    try:
        page = render_html(
            nb,
            name=task.name,
            show_code=task.show_code,
            run_id=task.run_id,
            status=status,
            banner=banner,
        )
        _write_page(task, page)
    except Exception as exc:
        logger.exception("could not render %s", task.name)
        status, error = "failed", _join(error, f"rendering failed: {_describe(exc)}")
        return status, error, _write_error_page(task, status, error)
    return status, error, True


def failed_entry(task: Task, error: str) -> dict[str, Any]:
    """The manifest entry, with a page showing ``error``, of a notebook whose worker died.

    Examples
    --------
    >>> import tempfile
    >>> task = Task("demo", "01-demo.ipynb", "/abs/01-demo.ipynb", tempfile.mkdtemp(), {},
    ...             "perflab", 60.0, False, "r1")
    >>> done = failed_entry(task, "BrokenProcessPool: <worker> died")
    >>> done["status"], done["html"]
    ('failed', 'demo.html')
    >>> "BrokenProcessPool: &lt;worker&gt; died" in (Path(task.out_dir) / "demo.html").read_text()
    True
    """
    html = _write_error_page(task, "failed", error)
    ipynb = (Path(task.out_dir) / f"{task.name}.ipynb").exists()
    return entry(task, "failed", 0.0, [], error, html=html, ipynb=ipynb)


def _join(*parts: str | None) -> str:
    """The parts that are not empty, one per line."""
    return "\n".join(part for part in parts if part)


def _notebook_to_show(task: Task) -> NotebookNode:
    """The executed notebook (else the source), naming its kernel, secrets masked.

    The changes are written back to ``<out_dir>/<name>.ipynb``, which is created from
    the source when papermill stopped before writing anything.
    """
    import nbformat

    ipynb = Path(task.out_dir) / f"{task.name}.ipynb"
    executed = ipynb.exists()
    nb = nbformat.read(ipynb if executed else task.path, as_version=4)
    changed = _record_kernel(nb, task.kernel_name)
    changed = _mask_parameters(nb, task) or changed
    if changed or not executed:
        nbformat.write(nb, ipynb)
    return nb


def _mask_parameters(nb: NotebookNode, task: Task) -> bool:
    """Show masked secrets in papermill's injected cell and metadata; whether any."""
    shown = redact(task.parameters)
    if shown == task.parameters:
        return False
    from papermill.translators import translate_parameters

    language = nb.metadata.get("kernelspec", {}).get("language", "python")
    source = translate_parameters(task.kernel_name, language, shown, "Parameters")
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = source
    if "parameters" in nb.metadata.get("papermill", {}):
        nb.metadata["papermill"]["parameters"] = shown
    return True


def _write_page(task: Task, page: str) -> None:
    from perflab.frames import write_atomic

    write_atomic(Path(task.out_dir) / f"{task.name}.html", page)


def _write_error_page(task: Task, status: str, error: str | None) -> bool:
    """A page holding only the banner with ``error``; whether it could be written."""
    import nbformat

    from perflab.report.render import render_html

    try:
        page = render_html(
            nbformat.v4.new_notebook(),
            name=task.name,
            run_id=task.run_id,
            status=status,
            banner=error or status,
        )
        _write_page(task, page)
    except Exception:
        logger.exception("could not write even an error page for %s", task.name)
        return False
    return True


# --- on a Dask worker -------------------------------------------------------------


def run_remote(
    task: Task,
    notebook: bytes | None = None,
    inputs: Mapping[str, bytes] | None = None,
    context: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """Run one notebook on a Dask worker; return its entry and the files it produced.

    The worker may not share the client's file system, so the notebook runs into a
    scratch directory and everything it wrote there comes back as bytes: the page,
    the executed ``.ipynb`` and the frames it published (``frames/<name>/*.parquet``).
    The client writes them into the run's directory (:func:`perflab.report.run` with
    ``cluster=``).

    The notebook executes in a child process of its own (``python -c``), as in a
    local run's pool worker: the figures variable, the redirected stderr and the
    watchdog's kill of every process below are process-wide, and a Dask worker runs
    several tasks in threads of one (daemonic) process. The child's watchdog bounds
    the notebook as locally; should the child itself hang, it is killed
    ``timeout + 65`` s after it started. The child stops its kernel when the Dask
    worker dies.

    Parameters
    ----------
    task : Task
        As built by the client; ``path`` is the notebook's path on the client, and
        its directory must exist on the worker (the kernel starts there, so the
        notebook's relative data paths resolve as on the client).
    notebook : bytes, optional
        The notebook file as the client has it; run instead of the worker's copy.
    inputs : mapping of str to bytes, optional
        Files to place in the scratch run directory first (relative path → content),
        such as the provisional ``manifest.json`` an ``after: all`` notebook reads.
        They are not sent back.
    context : mapping of str to bytes, optional
        Files to place around the scratch run directory, relative to the reports
        directory (its parent): the history (``history/<run-id>.parquet``) and the
        earlier runs' ``<run-id>/manifest.json`` and frames, so that an overview
        finds there what it finds next to a local run. The scratch copy of the run
        directory has the run directory's own name, inside a folder named as the
        reports directory. Not sent back.

    Returns
    -------
    dict
        ``entry`` (the manifest entry), ``files`` (relative path → bytes) and
        ``worker`` (the Dask worker's address, or this host's name).

    Examples
    --------
    >>> task = Task("demo", "01-demo.ipynb", "/no/such/dir/01-demo.ipynb", "/unused", {},
    ...             "python3", 60.0, False, "r1")
    >>> done = run_remote(task, b"{}")
    >>> done["entry"]["status"], sorted(done["files"])
    ('failed', ['demo.html'])
    >>> print(done["entry"]["error"])  # doctest: +ELLIPSIS
    notebooks directory '/no/such/dir' does not exist on Dask worker ...: workers need ...
    """
    import shutil

    shipped = {_safe_relative(rel).as_posix(): data for rel, data in (inputs or {}).items()}
    around = {_safe_relative(rel).as_posix(): data for rel, data in (context or {}).items()}
    where = _worker_name()
    scratch = _scratch(task.name)
    try:
        run_dir = Path(task.out_dir)
        reports = scratch / (run_dir.parent.name or "reports")
        out = reports / (run_dir.name or "run")
        out.mkdir(parents=True)
        for base, files in ((reports, around), (out, shipped)):
            for rel, data in files.items():
                target = base / rel
                if base is reports and (target == out or out in target.parents):
                    continue  # the run's own files come from inputs only
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        home = Path(task.path).parent
        local = replace(task, out_dir=str(out), cwd=str(home))
        if not home.is_dir():
            error = (
                f"notebooks directory {str(home)!r} does not exist on Dask worker {where}: "
                "workers need the client's checkout and data at the same path"
            )
            result = failed_entry(local, error)
        else:
            if notebook is not None:
                source = scratch / "src"
                source.mkdir()
                copy = source / Path(task.path).name
                copy.write_bytes(notebook)
                local = replace(local, path=str(copy))
            local = replace(local, kernel_name=_worker_kernel(task.kernel_name))
            result = _run_in_child(local, scratch)
        files = {rel: data for rel, data in _collect(out) if rel not in shipped}
        return {"entry": result, "files": files, "worker": where}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch(name: str) -> Path:
    """A fresh scratch directory for one notebook.

    On a Dask worker it is made in the worker's own local directory, which
    ``distributed`` removes with the worker (and purges when a worker died), so a
    killed worker leaves no copy of the task (and its parameters) behind.
    """
    import tempfile

    base: str | None = None
    try:
        from distributed import get_worker

        base = str(get_worker().local_directory)
    except (ImportError, ValueError, AttributeError):
        base = None
    if base is not None:
        os.makedirs(base, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"perflab-{name}-", dir=base))


def _safe_relative(rel: str) -> PurePosixPath:
    """``rel`` as a relative path that stays inside its directory, else ValueError.

    Examples
    --------
    >>> _safe_relative("frames/demo/x.parquet").as_posix()
    'frames/demo/x.parquet'
    >>> _safe_relative("../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: not a relative path inside the run: '../etc/passwd'
    """
    path = PurePosixPath(rel)
    if not rel or path.is_absolute() or ".." in path.parts or "\\" in rel:
        raise ValueError(f"not a relative path inside the run: {rel!r}")
    return path


def _collect(out: Path) -> Iterator[tuple[str, bytes]]:
    """Every file below ``out`` but hidden ones (scratch files): relative path, bytes."""
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            yield rel.as_posix(), path.read_bytes()


def _worker_name() -> str:
    """The Dask worker's address when running in one, else this host's name."""
    import socket

    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return socket.gethostname()


def _worker_kernel(wanted: str) -> str:
    """The kernel to use on this machine (the worker may lack the client's)."""
    from jupyter_client.kernelspec import KernelSpecManager

    from perflab.report.runner import select_kernel

    return select_kernel(wanted, KernelSpecManager().find_kernel_specs())


def _run_in_child(task: Task, scratch: Path) -> dict[str, Any]:
    """:func:`run_notebook` in a fresh Python process; its entry, whatever happens."""
    import pickle
    import subprocess

    spec, answer, log = scratch / "task.pickle", scratch / "entry.pickle", scratch / "child.log"
    spec.write_bytes(pickle.dumps(asdict(task)))  # parameters need not be JSON
    start = time.monotonic()
    with open(log, "wb") as sink:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(spec), str(answer)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # one process group: the child and its kernel
        )
        try:
            code = child.wait(timeout=task.timeout + _GRACE_S + _REMOTE_SLACK_S)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            note = f"TimeoutError: notebook did not finish within {task.timeout:g} s"
            html = _write_error_page(task, "timeout", note)
            ipynb = (Path(task.out_dir) / f"{task.name}.ipynb").exists()
            took = time.monotonic() - start
            return entry(task, "timeout", took, [], note, html=html, ipynb=ipynb)
        except BaseException:
            _kill_group(child)
            raise
    if code == 0 and answer.exists():
        result: dict[str, Any] = pickle.loads(answer.read_bytes())  # our own child's
        return result
    died = f"signal {-code}" if code < 0 else f"exit code {code}"
    chatter = _tail([_read_text(log)], 5)
    return failed_entry(task, _join(f"WorkerDied: the notebook's process ended ({died})", *chatter))


def _kill_group(child: Any) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _child_main(spec: str, answer: str) -> int:
    """Entry point of :func:`_run_in_child`'s process: run the task, write its entry."""
    import pickle

    from perflab.frames import write_atomic

    logging.basicConfig(level=logging.WARNING, format="perflab: %(levelname)s: %(message)s")
    task = Task(**pickle.loads(Path(spec).read_bytes()))
    done = run_notebook(task)
    write_atomic(Path(answer), pickle.dumps(done))
    return 0

"""The worker side of a run: execute one notebook, bound its time, render it.

:func:`run_notebook` runs in a worker process of :func:`perflab.report.runner.run`'s
pool. It sets ``PERFLAB_FIGURES`` and ``PERFLAB_REPORT`` for the kernel, executes the
notebook with ``papermill.execute_notebook`` (cwd = the notebook's directory), and
renders the executed notebook with :func:`perflab.report.render.render_html`.

Time is bounded over the whole notebook, kernel start included, by :class:`Watchdog`:
at the deadline it sends SIGINT to the kernel (the worker's child), so the running
cell stops with a KeyboardInterrupt traceback that papermill records; if the kernel is
still busy after a grace period, every process below the worker is killed.
papermill's per-cell ``execution_timeout`` is the backstop. The kernel's stderr goes
to a file whose tail explains a kernel that would not start.
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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.report.figures import FIGURES_ENV, Figure, read_figures
from perflab.vega import REPORT_ENV

__all__ = ["Task", "Watchdog", "entry", "run_notebook"]

logger = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GRACE_S = 5.0
_ERROR_LINES = 8


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
    """The manifest entry of a notebook.

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
        "parameters": task.parameters,
        "error": error,
        "html": f"{task.name}.html" if html else None,
        "ipynb": f"{task.name}.ipynb" if ipynb else None,
    }


class Watchdog(threading.Thread):
    """Stops the notebook's kernel at the deadline: SIGINT first, then SIGKILL.

    Started before papermill, stopped (:meth:`stop`) when it returns; ``fired`` tells
    whether the deadline passed.

    Parameters
    ----------
    name : str
        Notebook name, for the log.
    timeout : float
        Seconds from :meth:`start` to the interrupt.
    grace : float
        Seconds from the interrupt to killing every process below this one.

    Examples
    --------
    >>> dog = Watchdog("demo", timeout=60)
    >>> dog.start()
    >>> dog.stop()
    >>> dog.fired
    False
    """

    def __init__(self, name: str, timeout: float, grace: float = _GRACE_S) -> None:
        super().__init__(name="perflab-watchdog", daemon=True)
        self.notebook = name
        self.timeout = timeout
        self.grace = grace
        self.fired = False
        self._done = threading.Event()

    def run(self) -> None:
        """Wait for the deadline or :meth:`stop`; at the deadline stop the kernel."""
        import psutil

        if self._done.wait(self.timeout):
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


def _tail(lines: Iterable[str], n: int = _ERROR_LINES) -> list[str]:
    """The last ``n`` informative lines of a traceback, without colours or rulers."""
    flat = [ln.rstrip() for chunk in lines for ln in _ANSI.sub("", chunk).splitlines()]
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
        head = _ANSI.sub("", f"{exc.ename}: {exc.evalue}".splitlines()[0])
        lines = [f"{head} (in cell In [{exc.exec_count}])"]
        lines += [ln for ln in _tail(exc.traceback) if ln.strip() != head.strip()]
        return "\n".join(lines)
    message = str(exc).strip().splitlines()
    return _ANSI.sub("", f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__)


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
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    from perflab.frames import write_atomic
    from perflab.report.render import has_papermill_error, render_html

    start = time.monotonic()
    out = Path(task.out_dir)
    ipynb = out / f"{task.name}.ipynb"
    figures_file = out / f".{task.name}.figures.jsonl"
    kernel_log = out / f".{task.name}.stderr.log"
    status, error = "ok", None
    kernel_died = False
    watchdog = Watchdog(task.name, task.timeout)
    watchdog.start()
    kernel_env = {FIGURES_ENV: str(figures_file), REPORT_ENV: "1"}
    with _environ(kernel_env), _stderr_to(kernel_log):
        try:
            papermill.execute_notebook(
                task.path,
                str(ipynb),
                parameters=task.parameters or None,
                kernel_name=task.kernel_name,
                progress_bar=False,
                cwd=str(Path(task.path).parent),
                execution_timeout=max(1, int(task.timeout)),
                # CurveZMQ between client and kernel when the kernelspec supports it
                # (ours and ipykernel's do), instead of plain TCP.
                config=Config({"KernelManager": {"transport_encryption": "auto"}}),
            )
        except Exception as exc:
            status, error = "failed", _describe(exc)
            kernel_died = not isinstance(exc, PapermillExecutionError)
        finally:
            watchdog.stop()
            _kill_descendants()
    if watchdog.fired or (error and error.startswith("CellTimeoutError")):
        status = "timeout"
        note = f"TimeoutError: notebook did not finish within {task.timeout:g} s"
        error = note + (f"\n{error}" if error else "")
    elif kernel_died and error:
        chatter = _tail([_read_text(kernel_log)], 5)
        if chatter:
            error += "\nkernel stderr:\n" + "\n".join(chatter)
    kernel_log.unlink(missing_ok=True)

    figures = read_figures(figures_file)
    figures_file.unlink(missing_ok=True)

    html_ok = False
    try:
        if ipynb.exists():
            nb = nbformat.read(ipynb, as_version=4)
        else:  # papermill stopped before writing anything: show the source
            nb = nbformat.read(task.path, as_version=4)
            nbformat.write(nb, ipynb)
        if _record_kernel(nb, task.kernel_name):
            nbformat.write(nb, ipynb)
        banner = None
        if status == "timeout" or (status == "failed" and not has_papermill_error(nb)):
            banner = error
        page = render_html(
            nb,
            name=task.name,
            show_code=task.show_code,
            run_id=task.run_id,
            status=status,
            banner=banner,
        )
        write_atomic(out / f"{task.name}.html", page)
        html_ok = True
    except Exception as exc:
        logger.exception("could not render %s", task.name)
        status = "failed"
        error = (error + "\n" if error else "") + f"rendering failed: {_describe(exc)}"
    return entry(
        task,
        status,
        time.monotonic() - start,
        figures,
        error,
        html=html_ok,
        ipynb=ipynb.exists(),
    )

"""Reach a Dask cluster: the one place perflab connects to ``dask.distributed``.

perflab runs on one machine by default. With the optional extra
(``pip install 'perflab[distributed]'``) the work that splits well — the notebooks
of a batch (:func:`perflab.report.run` with ``cluster=``), big readers, load
generators — can run on the workers of a Dask cluster instead. Every such function
takes a ``client`` (or ``cluster``/``workers``) and gets its
:class:`distributed.Client` from :func:`connect`:

- an address (``"tcp://scheduler:8786"``): a client of that running cluster, closed
  on exit (the cluster keeps running);
- a :class:`distributed.Client`: used as it is and left open (it is the caller's);
- a cluster object (``distributed.LocalCluster``, ``dask_jobqueue``…): a client of it,
  closed on exit, the cluster left running;
- nothing: a :class:`distributed.LocalCluster` of ``workers`` worker processes (one
  thread each) bound to 127.0.0.1, closed with its client on exit.

:func:`require_distributed` is the check behind it: it imports ``distributed`` or
raises an :class:`ImportError` that says which extra to install.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from perflab.errors import ParameterError, positive_int

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "CONNECT_TIMEOUT",
    "INSTALL_HINT",
    "WORKER_TIMEOUT",
    "connect",
    "describe",
    "require_distributed",
]

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'perflab[distributed]'"
"""What to run when ``dask.distributed`` is missing."""

CONNECT_TIMEOUT = 20.0
"""Seconds to wait for a scheduler to answer before giving up."""

WORKER_TIMEOUT = 60.0
"""Seconds to wait for a cluster to have at least one worker before giving up."""


def require_distributed() -> Any:
    """The ``distributed`` module, or an ImportError naming the extra to install.

    Returns
    -------
    module
        ``distributed`` itself.

    Raises
    ------
    ImportError
        When ``dask.distributed`` is not installed; the message says
        ``pip install 'perflab[distributed]'``.

    Examples
    --------
    >>> require_distributed().__name__
    'distributed'
    """
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed, which is not installed "
            f"({exc}); install it with: {INSTALL_HINT}"
        ) from exc
    return distributed


@contextlib.contextmanager
def connect(
    cluster: str | Client | Any | None = None,
    workers: int | None = None,
    *,
    timeout: float = CONNECT_TIMEOUT,
    worker_timeout: float = WORKER_TIMEOUT,
) -> Iterator[Client]:
    """A :class:`distributed.Client` for the block: of a cluster, or of a local one.

    Parameters
    ----------
    cluster : str, Client, cluster object or None
        A scheduler address (``"tcp://host:8786"``, ``"host:8786"``), an existing
        ``Client`` (used as is, not closed on exit), or a cluster object such as a
        ``LocalCluster`` (a client of it is opened and closed; the cluster is left
        alone). ``None`` starts a ``LocalCluster`` on this machine.
    workers : int, optional
        Worker processes of the local cluster started when ``cluster`` is ``None``
        (default ``os.cpu_count()``); each has one thread and listens on 127.0.0.1
        only. Not allowed together with ``cluster``: the size of a running cluster
        is set where it runs.
    timeout : float
        Seconds to wait for the scheduler to answer.
    worker_timeout : float
        Seconds to wait for the cluster to have a worker (one that is starting, or
        an adaptive cluster scaling up); a cluster still without one is an error
        rather than a run that waits forever.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ImportError
        When ``dask.distributed`` is not installed (see :func:`require_distributed`).
    ParameterError
        For ``workers`` that is not a positive integer or comes with ``cluster``, an
        empty address, a scheduler that cannot be reached within ``timeout``, or a
        cluster without a worker after ``worker_timeout``.

    Examples
    --------
    >>> with connect(workers=1) as client:
    ...     client.submit(sum, [1, 2, 3]).result(), len(client.scheduler_info()["workers"])
    (6, 1)
    >>> with connect(workers=1) as client, connect(client) as same:
    ...     same is client
    True
    """
    distributed = require_distributed()
    if workers is not None:
        workers = positive_int("workers", workers)
        if cluster is not None:
            raise ParameterError(
                "workers sets the size of a local cluster; it cannot be combined with "
                "cluster (a running cluster's size is set where it runs)"
            )
    if timeout <= 0:
        raise ParameterError(f"timeout must be positive, not {timeout!r}")
    if worker_timeout <= 0:
        raise ParameterError(f"worker_timeout must be positive, not {worker_timeout!r}")

    if isinstance(cluster, distributed.Client):
        _wait_for_workers(cluster, worker_timeout)
        yield cluster
        return
    if cluster is None:
        size = workers or os.cpu_count() or 1
        with (
            _local_cluster(distributed, size) as local,
            distributed.Client(local, timeout=timeout) as client,
        ):
            _wait_for_workers(client, worker_timeout)
            yield client
        return
    if isinstance(cluster, str):
        address = cluster.strip()
        if not address:
            raise ParameterError("the cluster address is empty; expected e.g. tcp://host:8786")
        target: Any = address
    elif hasattr(cluster, "scheduler_address"):
        address, target = str(cluster.scheduler_address), cluster
    else:
        raise ParameterError(
            "cluster must be a scheduler address, a distributed.Client or a cluster "
            f"object, not {type(cluster).__name__}"
        )
    try:
        client = distributed.Client(target, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ParameterError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s: {exc}"
        ) from None
    logger.info("connected to the Dask scheduler at %s", address)
    with client:
        _wait_for_workers(client, worker_timeout)
        yield client


def _wait_for_workers(client: Client, timeout: float) -> None:
    """Return once the cluster has a worker; ParameterError after ``timeout`` s."""
    import distributed

    try:
        client.wait_for_workers(1, timeout=timeout)
    except (distributed.TimeoutError, TimeoutError):
        address = client.scheduler.address if client.scheduler else "?"
        raise ParameterError(
            f"the Dask cluster at {address} has no worker (waited {timeout:g} s): start "
            "workers with `dask worker <scheduler address>` or scale the cluster up"
        ) from None


@contextlib.contextmanager
def _local_cluster(distributed: Any, workers: int) -> Iterator[Any]:
    """A LocalCluster of ``workers`` single-threaded processes on 127.0.0.1."""
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port, this machine only
        silence_logs=logging.WARNING,
    )
    logger.info("started a local Dask cluster of %d worker(s) at %s", workers, cluster)
    try:
        yield cluster
    finally:
        cluster.close()


def describe(client: Client) -> str:
    """One line naming the scheduler and its workers, for logs and progress bars.

    Examples
    --------
    >>> with connect(workers=1) as client:
    ...     describe(client).startswith("tcp://127.0.0.1:")
    True
    """
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
    return f"{info.get('address', '?')} ({len(workers)} worker(s), {threads} thread(s))"

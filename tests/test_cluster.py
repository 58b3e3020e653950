"""perflab.cluster: one way to get a Dask client — an address, a client, a local cluster."""

from __future__ import annotations

import contextlib
import sys

import distributed
import psutil
import pytest

from perflab.cluster import INSTALL_HINT, connect, describe, require_distributed
from perflab.errors import ParameterError


def _pid() -> int:
    import os

    return os.getpid()


def test_an_address_gives_a_client_of_that_cluster_and_leaves_it_running(
    cluster: distributed.LocalCluster,
) -> None:
    with connect(cluster.scheduler_address) as client:
        assert client.scheduler.address == cluster.scheduler_address
        assert client.submit(sum, [1, 2, 3]).result() == 6
        assert describe(client).startswith(f"{cluster.scheduler_address} (2 worker(s)")
    assert client.status == "closed"
    # the cluster is still there for the next client
    with connect(cluster.scheduler_address) as again:
        assert len(again.scheduler_info()["workers"]) == 2


def test_a_cluster_object_works_too_and_is_not_closed(cluster: distributed.LocalCluster) -> None:
    with connect(cluster) as client:
        assert client.submit(max, [4, 2]).result() == 4
    assert cluster.status.name == "running"


def test_an_existing_client_is_used_as_is_and_left_open(cluster: distributed.LocalCluster) -> None:
    with distributed.Client(cluster) as mine:
        with connect(mine) as client:
            assert client is mine
        assert mine.status == "running"
        assert mine.submit(min, [4, 2]).result() == 2


def test_workers_start_a_local_cluster_of_that_many_processes_closed_on_exit() -> None:
    import os

    with connect(workers=2) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert {w["nthreads"] for w in workers.values()} == {1}
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
        pids = set(client.run(_pid).values())
        assert len(pids) == 2 and os.getpid() not in pids  # separate processes
        # the dashboard listens on this machine only, not on every interface
        port = int(client.dashboard_link.split(":")[2].split("/")[0])
        hosts = {
            c.laddr.ip
            for c in psutil.Process().net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
        assert hosts == {"127.0.0.1"}
        local = client.cluster
    assert local is not None and local.status.name == "closed"


@pytest.mark.parametrize(
    ("cluster_arg", "workers", "message"),
    [
        (None, 0, "workers must be a positive integer, not 0"),
        (None, 2.5, "workers must be a positive integer"),
        ("tcp://127.0.0.1:8786", 2, "cannot be combined with cluster"),
        ("  ", None, "the cluster address is empty"),
        (42, None, "cluster must be a scheduler address, a distributed.Client"),
    ],
)
def test_bad_arguments_are_parameter_errors(
    cluster_arg: object, workers: object, message: str
) -> None:
    with pytest.raises(ParameterError, match=message), connect(cluster_arg, workers):  # type: ignore[arg-type]
        pass


def test_an_unreachable_scheduler_is_a_clear_error_within_the_timeout() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with (
        pytest.raises(ParameterError, match=f"cannot reach the Dask scheduler at '{address}'"),
        connect(address, timeout=1),
    ):
        pass


def test_without_distributed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'perflab\[distributed\]'"):
        require_distributed()
    with pytest.raises(ImportError, match="not installed"), connect(workers=1):
        pass
    assert "perflab[distributed]" in INSTALL_HINT


@pytest.mark.parametrize("how", ["address", "cluster", "client"])
def test_a_cluster_without_workers_is_a_clear_error_not_a_hang(how: str) -> None:
    with distributed.LocalCluster(
        n_workers=0, processes=False, dashboard_address="127.0.0.1:0"
    ) as empty:
        target: object = {"address": empty.scheduler_address, "cluster": empty}.get(how)
        with contextlib.ExitStack() as stack:
            if target is None:
                target = stack.enter_context(distributed.Client(empty))
            with (
                pytest.raises(ParameterError, match=r"has no worker \(waited 0.5 s\)"),
                connect(target, worker_timeout=0.5),  # type: ignore[arg-type]
            ):
                pass


def test_worker_timeout_must_be_positive() -> None:
    with (
        pytest.raises(ParameterError, match="worker_timeout must be positive"),
        connect(workers=1, worker_timeout=0),
    ):
        pass

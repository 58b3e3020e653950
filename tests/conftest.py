"""Settings shared by the whole suite.

Hypothesis' default deadline (200 ms per example) is a timing threshold: on a busy
2-core machine a first example that pays an import or a JIT compile exceeds it and
the test fails for no fault of the code. perflab puts no timing into tests (speed is
measured in ``benchmarks/``), so the deadline is off for every property test.

The Dask tests share ``cluster`` (two single-threaded worker processes on 127.0.0.1,
one per test module) and ``client`` (a client of it); they are skipped without the
``distributed`` extra.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("perflab", deadline=None)
settings.load_profile("perflab")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Dask ``LocalCluster`` of two worker processes, one thread each, on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    """A Dask client of :func:`cluster`."""
    distributed = pytest.importorskip("distributed")
    with distributed.Client(cluster) as c:
        yield c

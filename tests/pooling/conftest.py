"""Shared fixtures of the pooling tests: the machine's PostgreSQL (README: 127.0.0.1:5432,
user ``postgres``, trust auth, database ``test``) and a port nothing listens on."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

DSN = os.environ.get("PERFLAB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample" / "pooling"


def _reachable() -> str | None:
    try:
        import psycopg

        psycopg.connect(DSN, connect_timeout=3).close()
    except Exception as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


_WHY = _reachable()
live = pytest.mark.skipif(_WHY is not None, reason=f"no PostgreSQL at {DSN} ({_WHY})")


@pytest.fixture
def closed_port() -> int:
    """A local TCP port that refuses connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

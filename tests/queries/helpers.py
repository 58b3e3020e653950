"""Helpers shared by the queries reader tests (test_pgprefix.py, test_read_*.py).

``SAMPLES``          data/sample/queries/, files written by the real servers
                     (data/make/queries_real.py: PostgreSQL 15, MariaDB 10.11)
``DATA``             tests/queries/data/, small hand-made (often broken) inputs
``PG_PREFIX``        the ``log_line_prefix`` of ``postgresql.log``
``PGBADGER_PREFIX``  the prefix of ``postgresql-pgbadger-prefix.log``, and of the last two
                     lines of ``postgresql.log`` (written after the reload that set it)
``STATEMENT_COLUMNS`` / ``EVENT_COLUMNS``
                     the columns stderr, csvlog and jsonlog all fill the same way
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from perflab.queries import _pgstderr
from perflab.queries.schema import EVENTS, STATEMENTS
from tests.warned import no_warning, one_warning, read_quietly

__all__ = [
    "DATA",
    "EVENT_COLUMNS",
    "PGBADGER_PREFIX",
    "PG_PREFIX",
    "ROOT",
    "SAMPLES",
    "STATEMENT_COLUMNS",
    "assert_events_schema",
    "assert_statements_schema",
    "no_warning",
    "one_warning",
    "pg_line",
    "read_quietly",
    "stderr_blocks",
    "utc",
]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "queries"
DATA = Path(__file__).resolve().parent / "data"

PG_PREFIX = "%m [%p] %q%u@%d app=%a "
PGBADGER_PREFIX = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "

STATEMENT_COLUMNS = [
    "timestamp",
    "pid",
    "user",
    "database",
    "application",
    "duration_ms",
    "query",
    "protocol",
    "statement_name",
    "parameters",
    "prepare_ms",
    "calls",
]
EVENT_COLUMNS = [
    "timestamp",
    "pid",
    "user",
    "database",
    "application",
    "kind",
    "severity",
    "message",
    "detail",
    "query",
    "object",
    "duration_ms",
    "size_bytes",
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def pg_line(
    message: str,
    *,
    pid: int = 4242,
    level: str = "LOG",
    stamp: str = "2026-12-03 08:00:00.000 UTC",
    user: str = "app",
    database: str = "shop",
    application: str = "web",
) -> str:
    """One line as PostgreSQL writes it with ``PG_PREFIX`` (no newline)."""
    return f"{stamp} [{pid}] {user}@{database} app={application} {level}:  {message}"


def assert_statements_schema(df: pl.DataFrame) -> None:
    """The frame starts with exactly the STATEMENTS columns and dtypes."""
    assert df.columns[: len(STATEMENTS.names)] == list(STATEMENTS.names)
    assert [df.schema[c] for c in STATEMENTS.names] == list(STATEMENTS.dtypes().values())


def assert_events_schema(df: pl.DataFrame) -> None:
    assert df.schema == pl.Schema(EVENTS.dtypes())


@contextmanager
def stderr_blocks(monkeypatch: pytest.MonkeyPatch, block_bytes: int) -> Iterator[None]:
    """Read stderr logs in blocks of ``block_bytes`` (the reader's default is 8 MiB).

    ``iter_entries`` binds ``BLOCK_BYTES`` as a default argument, so patching the
    module constant alone would change nothing; the function is wrapped instead.
    """
    with monkeypatch.context() as m:
        m.setattr(_pgstderr, "BLOCK_BYTES", block_bytes)
        m.setattr(
            _pgstderr,
            "iter_entries",
            functools.partial(_pgstderr.iter_entries, block_bytes=block_bytes),
        )
        yield

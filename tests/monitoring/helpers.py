"""Helpers shared by the monitoring reader tests (test_read*.py).

``SAMPLES``   data/sample/monitoring/, files written by the real software
``DATA``      tests/monitoring/data/, small hand-made (often broken) inputs
``AT``        the scrape time given to exposition files without timestamps
``CSV_TEXT``  a small canonical CSV whose tags look like numbers (``01``, ``007``)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from perflab.monitoring.schema import CORE_COLUMNS, METRICS
from tests.warned import no_warning, one_warning, read_quietly

__all__ = [
    "AT",
    "CSV_TEXT",
    "DATA",
    "ROOT",
    "SAMPLES",
    "assert_metrics_schema",
    "no_warning",
    "one_warning",
    "read_quietly",
    "utc",
]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "monitoring"
DATA = Path(__file__).resolve().parent / "data"
AT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

CSV_TEXT = (
    "name,value,unit,timestamp,host,status,shard\n"
    "latency,12.5,ms,2024-03-31T00:30:00Z,01,200,007\n"
    "latency,13,ms,2024-03-31T00:30:01Z,web-2,404,1.50\n"
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def assert_metrics_schema(df: pl.DataFrame) -> None:
    assert df.columns[:4] == list(CORE_COLUMNS)
    assert [df.schema[c] for c in CORE_COLUMNS] == list(METRICS.columns.values())
    assert all(df.schema[c] == pl.String for c in df.columns[4:])

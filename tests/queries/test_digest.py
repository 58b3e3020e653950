"""The streamed pattern table (perflab.queries.digest).

``digest`` must give what ``query_patterns`` gives on the whole log — exactly for
counts, sums, extremes, times, samples and lists; within ``accuracy`` for the
percentiles — whatever the block size, while keeping only a small table per pattern.
"""

from __future__ import annotations

import functools
import importlib
import math
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from perflab.errors import ParameterError
from perflab.queries import (
    PATTERNS,
    _mysql,
    _pgstderr,
    _pgstructured,
    digest,
    query_patterns,
    read_log,
    with_fingerprints,
)

# ``perflab.queries.digest`` is the function; the module comes from importlib
DIGEST_MODULE = importlib.import_module("perflab.queries.digest")

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)

EXACT = [
    "fingerprint",
    "query",
    "calls",
    "max_ms",
    "rows",
    "first_seen",
    "last_seen",
    "databases",
    "users",
    "applications",
    "sample",
    "sample_parameters",
    "sample_ms",
    "parsed",
]
SUMS = ["total_ms", "share_pct", "mean_ms", "prepare_ms"]

REAL_LOGS = [
    pytest.param("postgresql.log", {"prefix": PREFIXES}, id="stderr"),
    pytest.param("postgresql.csv", {}, id="csvlog"),
    pytest.param("postgresql.json", {}, id="jsonlog"),
    pytest.param("mariadb-slow.log", {}, id="mariadb"),
]


def stderr_log(
    path: Path, durations: Sequence[float], queries: Sequence[str] | None = None
) -> Path:
    """A PostgreSQL stderr log (prefix ``%m [%p] ``) with one statement per duration."""
    lines = []
    for i, d in enumerate(durations):
        t = T0 + timedelta(milliseconds=i)
        q = queries[i % len(queries)] if queries else "SELECT name FROM users WHERE id = {}"
        lines.append(
            f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} UTC [{7 + i % 3}] LOG:  "
            f"duration: {d:.3f} ms  statement: {q.format(i)}\n"
        )
    path.write_text("".join(lines))
    return path


def within(estimate: float, actual: float, accuracy: float) -> bool:
    if actual == 0:
        return estimate == 0
    return abs(estimate - actual) <= accuracy * actual * (1 + 1e-9)


def within_interpolated(estimate: float, values: np.ndarray, q: float, accuracy: float) -> bool:
    """Whether ``estimate`` is a type-7 percentile of sketch values within ``accuracy``.

    digest interpolates linearly (numpy's "linear", as query_patterns) between the
    sketch values of the two order statistics around the rank, each within
    ``accuracy`` of its duration: so it is within ``accuracy`` times the larger of the
    two of numpy's value (in fact of the interpolated value itself, which is at most
    that). The lower or the higher order statistic alone is not, where they differ by
    more than that.
    """
    linear = float(np.quantile(values, q, method="linear"))
    lower = float(np.quantile(values, q, method="lower"))
    higher = float(np.quantile(values, q, method="higher"))
    assert lower <= linear <= higher
    bound = accuracy * linear  # ≤ accuracy · max(lower, higher)
    return abs(estimate - linear) <= bound * (1 + 1e-9) + 1e-12


def by_fingerprint(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("fingerprint")


def assert_same_table(a: pl.DataFrame, b: pl.DataFrame) -> None:
    a, b = by_fingerprint(a), by_fingerprint(b)
    assert_frame_equal(a.select(EXACT), b.select(EXACT))
    assert_frame_equal(a.select(SUMS), b.select(SUMS), check_exact=False, rel_tol=1e-9)


class Counting:
    """Patches ``digest``'s accumulator to count blocks and record its table sizes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.blocks = 0
        self.sizes: list[tuple[int, int, int]] = []  # (block rows, stats rows, hist rows)
        self.last: Any = None
        outer = self
        base = DIGEST_MODULE._Accumulator

        class Recording(base):  # type: ignore[misc, valid-type]
            def add(self, s: pl.DataFrame) -> None:
                super().add(s)
                outer.blocks += 1
                outer.last = self
                outer.sizes.append((s.height, self.stats.height, self.hist.height))

        monkeypatch.setattr(DIGEST_MODULE, "_Accumulator", Recording)


def small_stderr_blocks(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Make the stderr reader cut ``size``-byte blocks.

    Setting ``_pgstderr.BLOCK_BYTES`` alone would not do: ``iter_entries`` binds it
    as a default argument when the module is imported.
    """
    real: Callable[..., Any] = _pgstderr.iter_entries
    monkeypatch.setattr(_pgstderr, "iter_entries", functools.partial(real, block_bytes=size))


# --------------------------------------------------------------------------- real logs


@pytest.mark.parametrize(("name", "options"), REAL_LOGS)
def test_digest_of_a_real_log_equals_query_patterns(name: str, options: dict[str, Any]) -> None:
    path = SAMPLES / name
    d = digest(path, **options)
    log = read_log(path, **options)
    expected = query_patterns(log.statements)
    assert d.statements == log.statements.height
    assert d.patterns.schema == pl.Schema(PATTERNS.dtypes())
    assert d.patterns.height == expected.height
    assert_same_table(d.patterns, expected)
    # the most time first, as in query_patterns
    assert d.patterns["fingerprint"][:5].to_list() == expected["fingerprint"][:5].to_list()
    assert_frame_equal(d.events.sort("line"), log.events.sort("line"))


@pytest.mark.parametrize(("name", "options"), REAL_LOGS)
def test_percentiles_of_a_real_log_are_within_accuracy(name: str, options: dict[str, Any]) -> None:
    path = SAMPLES / name
    d = digest(path, **options)
    dialect = "mysql" if name.startswith("mariadb") else "postgres"
    s = with_fingerprints(read_log(path, **options).statements, dialect=dialect)
    durations = {
        fid: g["duration_ms"].drop_nulls().to_numpy() for (fid,), g in s.group_by("fingerprint")
    }
    for row in d.patterns.iter_rows(named=True):
        values = durations[row["fingerprint"]]
        for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
            assert within_interpolated(row[col], values, q, d.accuracy), (
                row["query"],
                col,
                row[col],
                float(np.quantile(values, q)),
            )


def test_percentiles_are_within_accuracy_of_query_patterns(tmp_path: Path) -> None:
    path = stderr_log(tmp_path / "two.log", [1.0, 100.0])
    d = digest(path, prefix="%m [%p] ")
    expected = query_patterns(read_log(path, prefix="%m [%p] ").statements)
    assert expected["p50_ms"][0] == 50.5  # numpy linear
    # interpolated, not the lower (1.0) or higher (100.0) order statistic
    assert within(d.patterns["p50_ms"][0], expected["p50_ms"][0], d.accuracy)
    for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        two = np.array([1.0, 100.0])
        assert within_interpolated(d.patterns[col][0], two, q, d.accuracy), col


# --------------------------------------------------------------------------- property

DURATIONS = st.lists(
    st.one_of(
        st.just(0.0),
        st.sampled_from([0.001, 0.5, 1.0, 2.5, 1000.0]),  # ties
        st.integers(0, 10**8).map(lambda i: i / 1000),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(durations=DURATIONS, accuracy=st.sampled_from([0.001, 0.01, 0.05, 0.2]))
def test_property_digest_of_random_durations(durations: list[float], accuracy: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = stderr_log(Path(tmp) / "pg.log", durations)
        d = digest(path, prefix="%m [%p] ", accuracy=accuracy)
        expected = query_patterns(read_log(path, prefix="%m [%p] ").statements)
    values = np.array(durations)
    row = d.patterns.row(0, named=True)
    assert d.patterns.height == 1
    assert d.statements == row["calls"] == len(durations)
    assert math.isclose(row["total_ms"], math.fsum(durations), rel_tol=1e-9, abs_tol=1e-9)
    assert row["max_ms"] == row["sample_ms"] == values.max()
    assert (
        row["sample"].endswith(f"id = {int(values.argmax())}") or (values == values.max()).sum() > 1
    )
    assert row["users"] == [] and row["first_seen"] == T0
    for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        estimate = row[col]
        linear = float(np.quantile(values, q, method="linear"))
        assert within_interpolated(estimate, values, q, accuracy), (col, estimate, linear)
        # query_patterns interpolates the same way, on the exact durations
        assert math.isclose(expected[col][0], linear, rel_tol=1e-9, abs_tol=1e-12)
    assert_same_table(d.patterns, expected)


# --------------------------------------------------------------------------- block size


@pytest.mark.parametrize("size", [8192, 60_000])
def test_same_digest_whatever_the_stderr_block_size(
    monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    reference = digest(SAMPLES / "postgresql.log", prefix=PREFIXES)
    counting = Counting(monkeypatch)
    small_stderr_blocks(monkeypatch, size)
    d = digest(SAMPLES / "postgresql.log", prefix=PREFIXES)
    assert counting.blocks > 1
    assert d.statements == reference.statements
    assert_same_table(d.patterns, reference.patterns)
    for col in ("p50_ms", "p95_ms", "p99_ms"):
        assert (
            by_fingerprint(d.patterns)[col].to_list()
            == by_fingerprint(reference.patterns)[col].to_list()
        )
    assert_frame_equal(d.events.sort("line"), reference.events.sort("line"))


def test_same_digest_whatever_the_csvlog_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = digest(SAMPLES / "postgresql.csv")
    counting = Counting(monkeypatch)
    monkeypatch.setattr(_pgstructured, "_BATCH_ROWS", 40)
    d = digest(SAMPLES / "postgresql.csv")
    assert counting.blocks > 5
    assert_same_table(d.patterns, reference.patterns)
    assert_frame_equal(
        by_fingerprint(d.patterns).select("p50_ms", "p95_ms", "p99_ms"),
        by_fingerprint(reference.patterns).select("p50_ms", "p95_ms", "p99_ms"),
    )


def test_same_digest_whatever_the_slow_log_block(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = digest(SAMPLES / "mariadb-slow.log")
    counting = Counting(monkeypatch)
    monkeypatch.setattr(_mysql, "_BLOCK", 2000)
    d = digest(SAMPLES / "mariadb-slow.log")
    assert counting.blocks > 5
    assert_same_table(d.patterns, reference.patterns)


# --------------------------------------------------------------------------- memory


def test_a_big_log_keeps_only_a_bounded_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """~200k statements over 4 patterns: the histogram stays at a few hundred rows per
    pattern (the log-buckets between the smallest and largest duration), never one
    row per statement."""
    rng = np.random.default_rng(3)
    n = 200_000
    lo, hi = 0.005, 20_000.0
    durations = np.round(np.exp(rng.uniform(math.log(lo), math.log(hi), n)), 3)
    durations = np.clip(durations, lo, hi)
    queries = [
        "SELECT name FROM users WHERE id = {}",
        "SELECT id FROM orders WHERE user_id = {} ORDER BY id LIMIT 5",
        "UPDATE orders SET status = 'paid' WHERE id = {}",
        "SELECT sku FROM products WHERE title LIKE 'a{}%'",
    ]
    path = stderr_log(tmp_path / "big.log", durations.tolist(), queries)
    counting = Counting(monkeypatch)
    small_stderr_blocks(monkeypatch, 2 << 20)
    d = digest(path, prefix="%m [%p] ")

    gamma = (1 + d.accuracy) / (1 - d.accuracy)
    per_pattern = math.ceil(math.log(hi / lo) / math.log(gamma)) + 2
    assert per_pattern < 1000  # "a few hundred buckets per pattern"
    assert counting.blocks >= 5
    for block_rows, stats_rows, hist_rows in counting.sizes:
        assert stats_rows <= len(queries)
        assert hist_rows <= len(queries) * per_pattern
        assert hist_rows < block_rows  # smaller than even one block of statements
    hist = counting.last.hist
    assert hist.group_by("fingerprint").len()["len"].max() <= per_pattern
    assert d.statements == n
    assert d.patterns.height == len(queries)
    assert d.patterns["calls"].to_list() == [n // 4] * 4
    assert math.isclose(d.patterns["total_ms"].sum(), float(durations.sum()), rel_tol=1e-9)
    assert d.patterns["max_ms"].max() == durations.max()


# --------------------------------------------------------------------------- edges


def test_empty_log_gives_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_text("")
    d = digest(path, prefix="%m [%p] ")
    assert d.statements == 0
    assert d.patterns.height == 0
    assert d.patterns.schema == pl.Schema(PATTERNS.dtypes())
    assert d.events.height == 0


@pytest.mark.parametrize("bad", [0.0, 0.5, -0.1, 1.0, float("nan")])
def test_accuracy_outside_0_to_half_is_a_parameter_error(tmp_path: Path, bad: float) -> None:
    path = stderr_log(tmp_path / "pg.log", [1.0])
    with pytest.raises(ParameterError):
        digest(path, prefix="%m [%p] ", accuracy=bad)


def _bytes_held(frame: pl.DataFrame) -> int:
    """Bytes of the Arrow buffers behind a frame's string columns (views pin their block)."""
    total = 0
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            arr = frame[name].to_arrow(compat_level=pl.CompatLevel.newest())
            total += sum(buf.size for buf in arr.buffers() if buf is not None)
    return total


def test_what_the_digest_keeps_does_not_pin_the_blocks_it_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # statements with an error every 200: the events and the samples are a few rows of
    # each block; kept as views, they would hold every block of the log in memory
    lines = []
    for i in range(20_000):
        t = T0 + timedelta(milliseconds=i)
        stamp = f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} UTC [{7 + i % 3}]"
        lines.append(
            f"{stamp} LOG:  duration: {i % 97 + 0.5:.3f} ms  statement: SELECT name, "
            f"'{'x' * 150}' FROM users WHERE id = {i}\n"
        )
        if i % 200 == 0:
            lines.append(f'{stamp} ERROR:  relation "nope" does not exist at character {i}\n')
            lines.append(f"{stamp} STATEMENT:  SELECT * FROM nope WHERE id = {i}\n")
    path = tmp_path / "postgresql.log"
    path.write_text("".join(lines))
    size = path.stat().st_size
    small_stderr_blocks(monkeypatch, 256 << 10)
    held: list[int] = []

    digest_module = importlib.import_module("perflab.queries.digest")

    class Watched(digest_module._Accumulator):
        def patterns(self, gamma: float) -> pl.DataFrame:  # after the last block
            assert self.stats is not None
            held.append(sum(map(_bytes_held, [self.stats, *self.kept_events])))
            return super().patterns(gamma)

    monkeypatch.setattr(digest_module, "_Accumulator", Watched)
    d = digest(path, prefix="%m [%p] ")
    assert d.statements == 20_000 and d.events.height == 100
    assert held and held[0] < size / 20, (held, size)

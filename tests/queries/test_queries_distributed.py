"""The pattern table of many logs, digested file by file on two worker processes.

The single-machine answer is :func:`perflab.queries.digest` over one file holding the
same entries: the per-file tables merged on the client must give the same calls,
sums, maxima, first/last seen, samples and — histogram buckets adding up — the same
percentiles, bit for bit.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError
from perflab.queries import digest, query_patterns, read_postgres

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data/sample/queries/postgresql.log"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]
GEN_PREFIX = "%m [%p] %q%u@%d "
# float sums added per file: equal up to the order of float additions
SUMS = ("total_ms", "mean_ms", "share_pct", "prepare_ms")


def _generated(n: int, seed: int = 7) -> str:
    """A stderr log of ``n`` statements, some on several lines (tab-continued), with
    durations in eighths of a millisecond: exact binary fractions, so that sums do not
    depend on the order they are added in."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ms = int(rng.integers(1, 4000)) * 0.125
        user = ("app", "report", "batch")[int(rng.integers(0, 3))]
        k = int(rng.integers(0, 5))
        stamp = f"2026-12-03 08:{(i // 600) % 60:02d}:{(i // 10) % 60:02d}.{i % 1000:03d} UTC"
        head = f"{stamp} [{1000 + i % 7}] {user}@shop LOG:  duration: {ms:.3f} ms  statement: "
        if k == 0:
            sql = f"SELECT id, name\n\tFROM users\n\tWHERE id = {i}"
        elif k == 1:
            sql = f"UPDATE orders SET status = 'paid' WHERE id = {i}"
        elif k == 2:
            sql = f"SELECT * FROM orders WHERE user_id = {i % 50} AND status IN ('a', 'b')"
        elif k == 3:
            sql = f"INSERT INTO events (kind, at)\n\tVALUES ('click', now()), ('view', {i})"
        else:
            sql = f"SELECT count(*) FROM items WHERE price > {i % 13}"
        out.append(head + sql + "\n")
    return "".join(out)


def _split(text: str, cuts: int, at: str) -> list[str]:
    """``text`` cut before ``cuts`` lines that contain ``at`` (entry starts)."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines) if at in ln and not ln.startswith("\t")]
    picked = [starts[len(starts) * (k + 1) // (cuts + 1)] for k in range(cuts)]
    bounds = [0, *picked, len(lines)]
    return ["".join(lines[a:b]) for a, b in itertools.pairwise(bounds)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    d = tmp_path_factory.mktemp("pg")
    text = _generated(3_000)
    whole = d / "whole.log"
    whole.write_text(text)
    parts = []
    for k, piece in enumerate(_split(text, 3, "LOG:  duration")):
        p = d / f"postgresql-{k}.log"
        p.write_text(piece)
        parts.append(p)
    return whole, parts


def test_generated_files_on_two_workers_equal_one_pass_exactly(
    client: object, generated: tuple[Path, list[Path]]
) -> None:
    whole, parts = generated
    one = digest(whole, prefix=GEN_PREFIX)
    many = digest([str(p) for p in parts], prefix=GEN_PREFIX, client=client)
    assert many.statements == one.statements == 3_000
    assert one.patterns.height == 5
    assert_frame_equal(many.patterns, one.patterns)  # every column, sums included


def test_glob_of_the_files_equals_one_pass(
    client: object, generated: tuple[Path, list[Path]]
) -> None:
    whole, parts = generated
    one = digest(whole, prefix=GEN_PREFIX)
    pattern = str(parts[0].parent / "postgresql-*.log")
    assert_frame_equal(digest(pattern, prefix=GEN_PREFIX, client=client).patterns, one.patterns)
    assert_frame_equal(digest(pattern, prefix=GEN_PREFIX).patterns, one.patterns)


def test_percentiles_within_the_histogram_accuracy_of_the_exact_ones(
    client: object, generated: tuple[Path, list[Path]]
) -> None:
    whole, parts = generated
    many = digest([str(p) for p in parts], prefix=GEN_PREFIX, client=client, accuracy=0.01)
    exact = query_patterns(read_postgres(whole, prefix=GEN_PREFIX).statements)
    both = many.patterns.join(exact, on="fingerprint", suffix="_exact")
    assert both.height == exact.height == 5
    for col in ("p50_ms", "p95_ms", "p99_ms"):
        rel = (both[col] - both[f"{col}_exact"]).abs() / both[f"{col}_exact"]
        assert rel.max() <= 0.01 + 1e-12, col  # type: ignore[operator]
    assert both["calls"].to_list() == both["calls_exact"].to_list()
    assert both["max_ms"].to_list() == both["max_ms_exact"].to_list()


def test_real_sample_cut_in_three_equals_one_pass(client: object, tmp_path: Path) -> None:
    text = SAMPLE.read_text()
    files = []
    for k, piece in enumerate(_split(text, 2, "connection received")):
        p = tmp_path / f"pg-{k}.log"
        p.write_text(piece)
        files.append(str(p))
    one = digest(SAMPLE, prefix=PREFIXES)
    many = digest(files, prefix=PREFIXES, client=client)
    assert many.statements == one.statements > 300
    exact = [c for c in one.patterns.columns if c not in SUMS]
    assert_frame_equal(many.patterns.select(exact), one.patterns.select(exact))
    assert_frame_equal(many.patterns.select(SUMS), one.patterns.select(SUMS), rel_tol=1e-12)

    # the same events; their lines are lines of their own file, and an entry still open
    # at the end of a file (a session's last error) comes at the end of that file
    def same_order(events: pl.DataFrame) -> pl.DataFrame:
        return events.drop("line").sort(pl.all(), nulls_last=True)

    assert_frame_equal(same_order(many.events), same_order(one.events))


def test_bad_line_in_the_second_file_names_it_and_its_line(
    client: object, generated: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, parts = generated
    lines = parts[1].read_text().splitlines(keepends=True)
    lines[40] = "this is not a log line\n"
    bad = tmp_path / "postgresql-1.log"
    bad.write_text("".join(lines))
    with pytest.raises(InputError) as err:
        digest([str(parts[0]), str(bad), str(parts[2])], prefix=GEN_PREFIX, client=client)
    assert (err.value.source, err.value.line) == (str(bad), 41)
    with pytest.raises(InputError) as one:  # the single-machine reader says the same
        digest(bad, prefix=GEN_PREFIX)
    assert (one.value.source, one.value.line) == (err.value.source, err.value.line)


def test_empty_glob_is_a_clear_error(client: object, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no file matches the pattern") as err:
        digest(str(tmp_path / "*.log"), client=client)
    assert err.value.source == str(tmp_path / "*.log")


def test_memory_urls_read_through_fsspec(generated: tuple[Path, list[Path]]) -> None:
    import fsspec

    whole, parts = generated
    fs = fsspec.filesystem("memory")
    root = f"/pg-{uuid.uuid4().hex}"
    for p in parts:
        fs.pipe(f"{root}/{p.name}", p.read_bytes())
    try:
        one = digest(whole, prefix=GEN_PREFIX)
        by_url = digest(f"memory://{root}/postgresql-*.log", prefix=GEN_PREFIX)
        assert_frame_equal(by_url.patterns, one.patterns)
        single = digest(f"memory://{root}/{parts[0].name}", prefix=GEN_PREFIX)
        assert single.statements == digest(parts[0], prefix=GEN_PREFIX).statements
    finally:
        fs.rm(root, recursive=True)


def test_one_path_without_client_is_unchanged() -> None:
    got = digest(SAMPLE, prefix=PREFIXES)
    assert isinstance(got.patterns, pl.DataFrame)
    assert got.statements == read_postgres(SAMPLE, prefix=PREFIXES).statements.height

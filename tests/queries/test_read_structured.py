"""Tests for the PostgreSQL csvlog and jsonlog readers (perflab.queries._pgstructured).

The real files PostgreSQL 15 wrote beside ``postgresql.log``; csvlogs of PostgreSQL 13
(24 columns) and 12 (23 columns) made from the real one by dropping its trailing
columns with the csv module; records whose quoted fields span lines; bad records and
lines; jsonlog with keys added or missing.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError
from perflab.queries import (
    EVENTS,
    STATEMENTS,
    read_postgres,
    read_postgres_csvlog,
    read_postgres_jsonlog,
)
from tests.queries.helpers import (
    SAMPLES,
    assert_events_schema,
    assert_statements_schema,
    no_warning,
    one_warning,
    utc,
)

CSV = SAMPLES / "postgresql.csv"
JSON = SAMPLES / "postgresql.json"
RECORDS = list(csv.reader(io.StringIO(CSV.read_text(encoding="utf-8"), newline="")))
JSON_LINES = JSON.read_text(encoding="utf-8").splitlines()


def _record_starts(text: str) -> list[int]:
    """The line each CSV record starts on, by the csv module."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, last = [], 0
    for _ in reader:
        starts.append(last + 1)
        last = reader.line_num
    return starts


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def csvlog() -> tuple[pl.DataFrame, pl.DataFrame]:
    log = no_warning(read_postgres, CSV)
    return log.statements, log.events


# ---------------------------------------------------------------------------------------
# csvlog


def test_the_real_csvlog(csvlog: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    statements, events = csvlog
    assert_statements_schema(statements)
    assert_events_schema(events)
    assert {len(r) for r in RECORDS} == {26}  # PostgreSQL 15
    assert statements.height == 376 and events.height == 85
    assert dict(statements.group_by("protocol").len().iter_rows()) == {
        "simple": 171,
        "extended": 52,
        "prepared": 153,
    }
    # what the csvlog adds to the stderr prefix: session id, client, query id
    first = statements.row(0, named=True)
    assert first["session"] == "6b112eac.7165" and first["client"] == "127.0.0.1"
    assert first["query"] == "CREATE DATABASE shop"
    assert first["timestamp"] == utc(2026, 12, 3, 8, 56, 12, 765000)
    assert statements["query_id"].null_count() < 10
    assert_frame_equal(read_postgres_csvlog(CSV), statements)


def test_line_points_at_the_first_line_of_the_record(
    csvlog: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    statements, events = csvlog
    starts = _record_starts(CSV.read_text(encoding="utf-8"))
    assert len(starts) == len(RECORDS) and starts[-1] == CSV.read_text().count("\n")
    by_start = dict(zip(starts, RECORDS, strict=True))
    for line, query in statements.select("line", "query").iter_rows():
        record = by_start[line]  # a KeyError: not the first line of a record
        assert record[13].startswith("duration: ") and record[13].endswith(query), line
    for line, message in events.select("line", "message").iter_rows():
        assert by_start[line][13] in message, line
    # records before it spanned lines: the sample's multi-line statements
    assert statements.filter(pl.col("query").str.contains("CREATE TABLE users"))["line"][0] == 12
    assert statements["line"].max() > len(RECORDS)


@pytest.mark.parametrize("width", [24, 23])
def test_csvlog_of_older_servers(
    tmp_path: Path, csvlog: tuple[pl.DataFrame, pl.DataFrame], width: int
) -> None:
    # PostgreSQL 13 has no leader_pid/query_id; 12 and before no backend_type either
    path = _write_csv(tmp_path / f"pg{width}.csv", [r[:width] for r in RECORDS])
    log = no_warning(read_postgres, path)
    statements, events = csvlog
    assert_frame_equal(log.statements.drop("query_id"), statements.drop("query_id"))
    assert log.statements["query_id"].null_count() == statements.height
    assert_frame_equal(log.events, events)


@pytest.mark.parametrize("width", [22, 25, 27])
def test_another_field_count_is_an_input_error(tmp_path: Path, width: int) -> None:
    rows = [[*r, "x", "y"][:width] for r in RECORDS]
    path = _write_csv(tmp_path / "other.csv", rows)
    with pytest.raises(InputError, match=f"has {width} fields") as err:
        read_postgres(path)
    assert err.value.line == 1
    assert "23 (up to 12), 24 (13) or 26 (14 and later)" in str(err.value)


def test_a_gzipped_csvlog(tmp_path: Path, csvlog: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    path = tmp_path / "postgresql.csv.gz"
    path.write_bytes(gzip.compress(CSV.read_bytes()))
    assert_frame_equal(no_warning(read_postgres, path).statements, csvlog[0])


def test_a_record_without_severity_names_its_line(
    tmp_path: Path, csvlog: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    lines = CSV.read_text(encoding="utf-8").split("\n")
    assert lines[4].startswith("2026-12-03 08:56:12.479 UTC")  # records 1–7 are one line each
    for bad in ("garbage line with no commas", "2026-12-03 08:56:12.471 UTC,,,29020,,6b1.715c"):
        path = tmp_path / "bad.csv"
        path.write_text("\n".join([*lines[:5], bad, *lines[5:]]), encoding="utf-8")
        with pytest.raises(InputError, match="without error_severity or message") as err:
            read_postgres(path)
        assert err.value.line == 6
        log, message = one_warning(read_postgres, path, errors="skip")
        assert "skipped 1 unreadable line(s); first: line 6:" in message
        assert_frame_equal(log.statements.drop("line"), csvlog[0].drop("line"))
        assert log.statements["line"].min() == csvlog[0]["line"].min() + 1


def test_a_record_with_too_many_fields_names_its_line(
    tmp_path: Path, csvlog: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    lines = CSV.read_text(encoding="utf-8").split("\n")
    path = tmp_path / "long.csv"
    path.write_text("\n".join([*lines[:5], lines[3] + ",extra", *lines[5:]]), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_postgres(path)
    assert err.value.line == 6
    log, _ = one_warning(read_postgres, path, errors="skip")
    assert_frame_equal(log.statements.drop("line"), csvlog[0].drop("line"))


def test_a_csvlog_cut_inside_a_quoted_field_keeps_the_records_before(
    tmp_path: Path, csvlog: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    text = CSV.read_text(encoding="utf-8")
    last = text.rstrip("\n").rfind("\n") + 1  # the last record (one line, quoted message)
    path = tmp_path / "cut.csv"
    path.write_text(text[: last + 150], encoding="utf-8")
    n = text.count("\n", 0, last) + 1
    with pytest.raises(InputError) as err:
        read_postgres(path)
    assert err.value.line == n
    log, _ = one_warning(read_postgres, path, errors="skip")
    assert_frame_equal(log.statements, csvlog[0])


def test_a_csvlog_cut_between_fields_names_the_last_record(
    tmp_path: Path, csvlog: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    text = CSV.read_text(encoding="utf-8")
    last = text.rstrip("\n").rfind("\n") + 1
    path = tmp_path / "cut.csv"
    path.write_text(text[: last + 60], encoding="utf-8")  # after 'session_line_num,'
    n = text.count("\n", 0, last) + 1
    with pytest.raises(InputError, match="without error_severity") as err:
        read_postgres(path)
    assert err.value.line == n
    log, message = one_warning(read_postgres, path, errors="skip")
    assert f"line {n}:" in message
    assert_frame_equal(log.statements, csvlog[0])


@pytest.mark.parametrize("content", [b"", b"\n"])
def test_an_empty_csvlog(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "postgresql.csv"
    path.write_bytes(content)
    log = no_warning(read_postgres, path)
    assert log.statements.schema == pl.Schema(STATEMENTS.dtypes())
    assert log.events.schema == pl.Schema(EVENTS.dtypes())
    assert log.statements.height == 0


def test_a_csvlog_without_statements_warns_why(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "startup.csv", RECORDS[:5])
    log, message = one_warning(read_postgres, path)
    assert log.statements.height == 0 and "no statements" in message


# ---------------------------------------------------------------------------------------
# jsonlog


def test_the_real_jsonlog(csvlog: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log = no_warning(read_postgres, JSON)
    assert_statements_schema(log.statements)
    # the same statements as the csvlog, field for field (lines differ: one per record)
    assert_frame_equal(log.statements.drop("line"), csvlog[0].drop("line"))
    assert_frame_equal(log.events.drop("line", "sqlstate"), csvlog[1].drop("line", "sqlstate"))
    errors = log.events.filter(pl.col("kind").is_in(["error", "deadlock"]))
    assert errors["sqlstate"].to_list() == ["40P01", "42601", "23505", "22012"]
    for line, query in log.statements.select("line", "query").iter_rows():
        record = json.loads(JSON_LINES[line - 1])
        assert record["message"].endswith(query), line
    assert_frame_equal(read_postgres_jsonlog(JSON), log.statements)


def test_events_have_the_same_sqlstate_in_csvlog_and_jsonlog(
    csvlog: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    events = read_postgres(JSON).events
    assert_frame_equal(events.drop("line"), csvlog[1].drop("line"))


def test_bad_jsonlog_lines_are_named_and_skipped(tmp_path: Path) -> None:
    cut = '{"timestamp":"2026-12-03 08:56:12.471 UTC","pid":1,"error_severity":"LOG","mess'
    lines = [*JSON_LINES[:10], cut, *JSON_LINES[10:20], "not json at all", *JSON_LINES[20:]]
    path = tmp_path / "bad.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as err:
        read_postgres(path)
    assert err.value.line == 11
    log, message = one_warning(read_postgres, path, errors="skip")
    assert "skipped 2 unreadable line(s); first: line 11:" in message and "line 22:" in message
    clean = read_postgres(JSON)
    assert_frame_equal(log.statements.drop("line"), clean.statements.drop("line"))
    assert_frame_equal(log.events.drop("line"), clean.events.drop("line"))


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ('{"timestamp":"2026-12-03 08:56:12.471 UTC","pid":1,"error_severity":"LOG",}',
         "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('"a string"', "not a JSON object"),
        ('{"timestamp":"2026-12-03 08:56:12.471 UTC","error_severity":"LOG"}',
         "without error_severity or message"),
    ],
)  # fmt: skip
def test_each_kind_of_bad_jsonlog_line_names_its_line(tmp_path: Path, bad: str, why: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text("\n".join([*JSON_LINES[:3], bad, *JSON_LINES[3:40]]) + "\n")
    with pytest.raises(InputError, match=why) as err:
        read_postgres(path)
    assert err.value.line == 4
    log, _ = one_warning(read_postgres, path, errors="skip")
    assert log.events.height == read_postgres(JSON).events.filter(pl.col("line") <= 39).height


def test_a_jsonlog_line_with_a_mistyped_field_names_its_line(tmp_path: Path) -> None:
    bad = '{"timestamp":"2026-12-03 08:56:12.471 UTC","pid":"abc","error_severity":"LOG",' \
        '"message":"x"}'  # fmt: skip
    path = tmp_path / "bad.json"
    path.write_text("\n".join([*JSON_LINES[:12], bad, *JSON_LINES[12:]]) + "\n")
    with pytest.raises(InputError) as err:
        read_postgres(path)
    assert err.value.line == 13
    log, _ = one_warning(read_postgres, path, errors="skip")
    assert log.statements.height == 376


def test_unknown_jsonlog_keys_are_ignored(tmp_path: Path) -> None:
    # a later server may add keys, of any type
    extra = {"new_in_v19": {"nested": [1, 2]}, "another": 5, "flag": True, "none": None}
    path = tmp_path / "later.json"
    path.write_text("\n".join(json.dumps({**json.loads(ln), **extra}) for ln in JSON_LINES))
    clean = read_postgres(JSON)
    log = no_warning(read_postgres, path)
    assert_frame_equal(log.statements, clean.statements)
    assert_frame_equal(log.events, clean.events)


def test_missing_jsonlog_keys_are_null(tmp_path: Path) -> None:
    lines = [
        {"timestamp": "2026-12-03 08:56:12.471 UTC", "error_severity": "LOG",
         "message": "duration: 1.000 ms  statement: SELECT 1"},
        {"timestamp": "2026-12-03 08:56:13.000 UTC", "pid": 7, "user": "app",
         "error_severity": "LOG", "message": "duration: 2.000 ms  statement: SELECT 2"},
    ]  # fmt: skip
    path = tmp_path / "minimal.json"
    path.write_text("\n\n".join(json.dumps(d) for d in lines) + "\n")  # a blank line between
    s = no_warning(read_postgres, path).statements
    assert s.select("line", "pid", "user", "database", "duration_ms", "query").rows() == [
        (1, None, None, None, 1.0, "SELECT 1"),
        (3, 7, "app", None, 2.0, "SELECT 2"),
    ]
    assert s["timestamp"].to_list() == [
        utc(2026, 12, 3, 8, 56, 12, 471000),
        utc(2026, 12, 3, 8, 56, 13),
    ]


def test_an_empty_jsonlog(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.json"
    path.write_bytes(b"")
    assert no_warning(read_postgres, path).statements.height == 0

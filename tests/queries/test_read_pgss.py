"""Tests for read_pg_stat_statements.

The real export PostgreSQL 15 wrote (``COPY (SELECT * FROM pg_stat_statements …) TO
STDOUT WITH (FORMAT csv, HEADER)``, queries with line breaks in them), the same
export in PostgreSQL 12's column names, as Parquet and JSON lines, missing columns,
bad rows.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError, SchemaError
from perflab.queries import STATEMENTS, read_pg_stat_statements, read_postgres
from tests.queries.helpers import SAMPLES, assert_statements_schema, no_warning, one_warning

PGSS = SAMPLES / "pg_stat_statements.csv"
READER = csv.DictReader(io.StringIO(PGSS.read_text(encoding="utf-8"), newline=""))
ROWS = list(READER)
HEADER = list(READER.fieldnames or [])

# PostgreSQL 13 renamed the timing columns and added planning time
PG12_NAMES = {
    "total_exec_time": "total_time",
    "min_exec_time": "min_time",
    "max_exec_time": "max_time",
    "mean_exec_time": "mean_time",
    "stddev_exec_time": "stddev_time",
}
NOT_IN_PG12 = {
    "toplevel", "plans", "total_plan_time", "min_plan_time", "max_plan_time",
    "mean_plan_time", "stddev_plan_time", "wal_records", "wal_fpi", "wal_bytes",
    "temp_blk_read_time", "temp_blk_write_time",
}  # fmt: skip


@pytest.fixture(scope="module")
def pgss() -> pl.DataFrame:
    return no_warning(read_pg_stat_statements, PGSS)


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_the_real_export(pgss: pl.DataFrame) -> None:
    assert_statements_schema(pgss)
    assert pgss.height == len(ROWS) == 54
    assert set(pgss["protocol"]) == {"aggregate"}
    assert pgss["timestamp"].null_count() == pgss["pid"].null_count() == 54
    assert pgss["query"].to_list() == [r["query"] for r in ROWS]
    assert pgss["calls"].to_list() == [int(r["calls"]) for r in ROWS]
    assert pgss["duration_ms"].to_list() == [float(r["total_exec_time"]) for r in ROWS]
    assert pgss["rows"].to_list() == [int(r["rows"]) for r in ROWS]
    # without a join to pg_roles/pg_database the ids stand in for the names
    assert pgss.select("user", "database").rows() == [(r["userid"], r["dbid"]) for r in ROWS]
    assert ("10", "16384") in set(pgss.select("user", "database").rows())


def test_calls_and_time_add_up_to_the_csv(pgss: pl.DataFrame) -> None:
    assert pgss["calls"].sum() == sum(int(r["calls"]) for r in ROWS) == 287
    assert pgss["duration_ms"].sum() == pytest.approx(
        sum(float(r["total_exec_time"]) for r in ROWS)
    )
    assert pgss["prepare_ms"].sum() == pytest.approx(sum(float(r["total_plan_time"]) for r in ROWS))


def test_the_views_other_figures_are_extra_columns(pgss: pl.DataFrame) -> None:
    extra = {
        "mean_ms": "mean_exec_time",
        "min_ms": "min_exec_time",
        "max_ms": "max_exec_time",
        "stddev_ms": "stddev_exec_time",
        "shared_blks_hit": "shared_blks_hit",
        "shared_blks_read": "shared_blks_read",
        "temp_blks_written": "temp_blks_written",
    }
    assert set(extra) <= set(pgss.columns[len(STATEMENTS.names) :])
    for col, src in extra.items():
        assert pgss[col].to_list() == pytest.approx([float(r[src]) for r in ROWS]), col
    # mean × calls is the total, as the view has it
    assert (pgss["mean_ms"] * pgss["calls"]).to_list() == pytest.approx(
        pgss["duration_ms"].to_list()
    )
    sort = "SELECT order_id, product_id, price FROM order_items ORDER BY price DESC, id"
    assert pgss.filter(pl.col("query") == sort)["temp_blks_written"][0] > 0  # work_mem 64kB


def test_query_ids_are_exact(pgss: pl.DataFrame) -> None:
    assert pgss["query_id"].to_list() == [int(r["queryid"]) for r in ROWS]
    logged = set(read_postgres(SAMPLES / "postgresql.csv").statements["query_id"].drop_nulls())
    assert len(set(pgss["query_id"]) & logged) > 30


def test_line_points_at_the_rows_first_line(pgss: pl.DataFrame) -> None:
    reader = csv.reader(io.StringIO(PGSS.read_text(encoding="utf-8"), newline=""))
    next(reader)
    starts, last = [], reader.line_num
    for _ in reader:
        starts.append(last + 1)
        last = reader.line_num
    assert pgss["line"].to_list() == starts


def test_a_postgresql_12_export(tmp_path: Path, pgss: pl.DataFrame) -> None:
    header = [PG12_NAMES.get(h, h) for h in HEADER if h not in NOT_IN_PG12]
    rows = [{PG12_NAMES.get(k, k): v for k, v in r.items()} for r in ROWS]
    path = _write_csv(tmp_path / "pgss12.csv", header, rows)
    old = no_warning(read_pg_stat_statements, path)
    assert old["prepare_ms"].null_count() == old.height  # no planning time before 13
    assert_frame_equal(old.drop("prepare_ms"), pgss.drop("prepare_ms"))


def test_names_from_pg_roles_and_pg_database_are_used(tmp_path: Path) -> None:
    path = tmp_path / "named.csv"
    path.write_text(
        "rolname,datname,queryid,query,calls,total_exec_time,rows\n"
        "app,shop,-4,SELECT id FROM users WHERE id = $1,40,12.5,40\n"
    )
    s = no_warning(read_pg_stat_statements, path)
    assert s.select("user", "database", "calls", "duration_ms", "query_id").row(0) == (
        "app",
        "shop",
        40,
        12.5,
        -4,
    )


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        (["calls"], ["'calls'"]),
        (["total_exec_time"], ["'total_exec_time'"]),
        (["query", "calls"], ["'query'", "'calls'"]),
    ],
)
def test_missing_required_columns_are_a_schema_error_naming_them(
    tmp_path: Path, drop: list[str], named: list[str]
) -> None:
    path = _write_csv(tmp_path / "pgss.csv", [h for h in HEADER if h not in drop], ROWS[:3])
    with pytest.raises(SchemaError) as err:
        read_pg_stat_statements(path)
    assert err.value.missing == [n.strip("'") for n in named]
    assert all(n in str(err.value) for n in named)
    assert "total_time before PostgreSQL 13" in str(err.value)


def test_a_bad_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pgss.csv"
    path.write_text(
        "userid,dbid,queryid,query,calls,total_exec_time,rows\n"
        "10,1,2,SELECT 1,3,1.5,1\n"
        "10,1,3,SELECT 2,many,2.5,1\n"
        "10,1,4,SELECT 3,1,,1\n"
        "10,1,5,SELECT 4,1,0.5,1\n"
    )
    with pytest.raises(InputError, match="without query, calls or total time") as err:
        read_pg_stat_statements(path)
    assert err.value.line == 3
    s, message = one_warning(read_pg_stat_statements, path, errors="skip")
    assert s.select("query", "calls", "line").rows() == [("SELECT 1", 3, 2), ("SELECT 4", 1, 5)]
    assert "skipped 2 unreadable line(s); first: line 3:" in message and "line 4:" in message


def test_a_row_with_too_many_fields_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pgss.csv"
    path.write_text(
        "userid,dbid,queryid,query,calls,total_exec_time,rows\n"
        "10,1,2,SELECT 1,3,1.5,1\n"
        "10,1,3,SELECT 2,4,2.5,1,surplus\n"
    )
    with pytest.raises(InputError) as err:
        read_pg_stat_statements(path)
    assert err.value.line == 3
    s, _ = one_warning(read_pg_stat_statements, path, errors="skip")
    assert s["query"].to_list() == ["SELECT 1"]


def test_parquet_and_json_lines_exports(tmp_path: Path, pgss: pl.DataFrame) -> None:
    raw = pl.read_csv(PGSS, infer_schema_length=None)
    raw.write_parquet(tmp_path / "pgss.parquet")
    parquet = no_warning(read_pg_stat_statements, tmp_path / "pgss.parquet")
    assert parquet["line"].null_count() == parquet.height  # Parquet has no lines
    cols = ["user", "database", "query", "calls", "duration_ms", "mean_ms", "rows"]
    assert_frame_equal(parquet.select(cols), pgss.select(cols), check_exact=False)
    path = tmp_path / "pgss.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    jsonl = no_warning(read_pg_stat_statements, path)
    assert_frame_equal(jsonl.select(cols), pgss.select(cols))
    assert jsonl["line"].to_list() == list(range(1, 55))


def test_an_empty_export(tmp_path: Path) -> None:
    path = tmp_path / "pgss.csv"
    path.write_text("")
    empty = no_warning(read_pg_stat_statements, path)
    assert empty.height == 0 and empty.schema == pl.Schema(STATEMENTS.dtypes())
    path.write_text(",".join(HEADER) + "\n")
    header_only, message = one_warning(read_pg_stat_statements, path)
    assert header_only.height == 0 and "header but no rows" in message

"""Tests for read_mysql_slow_log (perflab.queries._mysql) and for read_log/sniff_format.

The real MariaDB 10.11 slow log (``long_query_time = 0``, ``log_slow_verbosity =
query_plan,explain``), a hand-made MySQL 8 slow log (tests/queries/data/README.md),
and broken logs: an event without ``# Query_time``, a log cut short, lines before the
first event, a server restart in the middle, an empty file.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError
from perflab.queries import (
    EVENTS,
    _mysql,
    read_log,
    read_mysql_slow_log,
    read_postgres,
    sniff_format,
)
from perflab.queries._mysql import EXTRA
from tests.queries.helpers import (
    DATA,
    SAMPLES,
    assert_statements_schema,
    no_warning,
    one_warning,
    utc,
)

SLOW = SAMPLES / "mariadb-slow.log"
SLOW_LINES = SLOW.read_text(encoding="utf-8").splitlines()
MYSQL8 = DATA / "mysql8-slow.log"

EVENT = (
    "# User@Host: app[app] @ web-1 [10.0.0.5]  Id:    42\n"
    "# Query_time: 0.250000  Lock_time: 0.000010 Rows_sent: 1  Rows_examined: 3000\n"
    "SET timestamp=1796286850;\n"
    "SELECT {n};\n"
)


@pytest.fixture(scope="module")
def mariadb() -> pl.DataFrame:
    return no_warning(read_mysql_slow_log, SLOW)


def _events_of_the_file() -> list[dict[str, str]]:
    """Every event's header fields, read from the file with plain regexes."""
    out: list[dict[str, str]] = []
    for line in SLOW_LINES:
        if line.startswith("# User@Host: "):
            out.append({})
        elif m := re.match(
            r"# Query_time: (\S+)\s+Lock_time: (\S+)\s+Rows_sent: (\d+)\s+Rows_examined: (\d+)",
            line,
        ):
            out[-1].update(zip(("qt", "lt", "sent", "examined"), m.groups(), strict=True))
        elif m := re.match(r"# Thread_id: (\d+)\s+Schema: (\S*)", line):
            out[-1].update(tid=m.group(1), schema=m.group(2))
        elif m := re.match(r"SET timestamp=(\d+);", line):
            out[-1]["set"] = m.group(1)
    return out


# ---------------------------------------------------------------------------------------
# the real MariaDB log


def test_every_event_is_a_statement(mariadb: pl.DataFrame) -> None:
    assert_statements_schema(mariadb)
    assert mariadb.columns[-len(EXTRA) :] == list(EXTRA)
    assert mariadb.height == sum(ln.startswith("# User@Host: ") for ln in SLOW_LINES) == 101
    assert set(mariadb["protocol"]) == {"simple"} and set(mariadb["calls"]) == {1}
    assert set(mariadb.select("user", "client", "pid").rows()) == {
        ("root", "127.0.0.1", 3),
        ("root", "127.0.0.1", 4),
    }
    assert mariadb["session"].to_list() == mariadb["pid"].cast(pl.String).to_list()
    assert mariadb["query"][-1] == "SELEC 1"  # logged although it failed


def test_durations_rows_and_locks_are_the_headers(mariadb: pl.DataFrame) -> None:
    events = _events_of_the_file()
    assert mariadb["duration_ms"].to_list() == pytest.approx(
        [float(e["qt"]) * 1000 for e in events]
    )
    assert mariadb["lock_ms"].to_list() == pytest.approx([float(e["lt"]) * 1000 for e in events])
    assert mariadb["rows_examined"].to_list() == [int(e["examined"]) for e in events]
    assert mariadb["pid"].to_list() == [int(e["tid"]) for e in events]
    # the end of the statement: SET timestamp (its start, whole seconds) + Query_time
    start = pl.Series([int(e["set"]) for e in events]).cast(pl.Int64) * 1_000_000
    qt = pl.Series([round(float(e["qt"]) * 1e6) for e in events])
    expected = (start + qt).cast(pl.Datetime("us", "UTC"))
    assert mariadb["timestamp"].to_list() == expected.to_list()
    row = mariadb.filter(pl.col("query").str.starts_with("INSERT INTO order_items")).row(
        0, named=True
    )
    assert (row["duration_ms"], row["rows"], row["rows_examined"]) == (90.287, 60000, 60000)


def test_databases_come_from_schema(mariadb: pl.DataFrame) -> None:
    events = _events_of_the_file()
    expected = [e["schema"] or None for e in events]
    assert mariadb["database"].to_list() == expected
    assert expected.count(None) == 4  # before CREATE DATABASE shop / USE shop
    assert mariadb.filter(pl.col("query") == "USE shop")["database"].to_list() == ["shop"]


def test_a_multi_line_statement_keeps_its_lines(mariadb: pl.DataFrame) -> None:
    q = (
        "SELECT u.country,\n  COUNT(*) AS n\nFROM orders o\n"
        "JOIN users u ON u.id = o.user_id\nGROUP BY u.country"
    )
    row = mariadb.filter(pl.col("query") == q).row(0, named=True)
    assert (row["rows"], row["rows_examined"], row["duration_ms"]) == (4, 60008, 25.429)


def test_prepared_executes_are_logged_expanded(mariadb: pl.DataFrame) -> None:
    executed = mariadb.filter(
        pl.col("query").str.starts_with("SELECT product_id, qty FROM order_items WHERE")
    )
    assert executed["query"].to_list() == [
        f"SELECT product_id, qty FROM order_items WHERE order_id = {n}" for n in range(100, 130)
    ]
    assert not mariadb["query"].str.contains("(?i)^EXECUTE ").any()
    assert set(executed["rows_examined"]) == {60000} and set(executed["full_scan"]) == {True}
    assert mariadb.filter(pl.col("query").str.starts_with("PREPARE items")).height == 1


def test_flag_columns(mariadb: pl.DataFrame) -> None:
    flags = list(EXTRA)[:4]
    by_query = {r["query"]: r for r in mariadb.iter_rows(named=True)}
    scan = by_query["SELECT * FROM orders WHERE user_id = 42"]
    assert {f: scan[f] for f in flags} == {
        "full_scan": True,
        "full_join": False,
        "tmp_table_on_disk": False,
        "filesort_on_disk": False,
    }
    assert (scan["merge_passes"], scan["bytes_sent"], scan["rows_examined"]) == (0, 757, 30000)
    # no flag line when no flag is set: unknown, not False
    point = by_query["SELECT id, email, name FROM users WHERE id = 158"]
    assert {f: point[f] for f in [*flags, "merge_passes"]} == dict.fromkeys(
        [*flags, "merge_passes"]
    )
    assert point["bytes_sent"] == 202
    n_flag_lines = sum(ln.startswith("# Full_scan: ") for ln in SLOW_LINES)
    assert mariadb["full_scan"].is_not_null().sum() == n_flag_lines


def test_line_points_at_the_event(mariadb: pl.DataFrame) -> None:
    for line in mariadb["line"]:
        here, after = SLOW_LINES[line - 1], SLOW_LINES[line] if line < len(SLOW_LINES) else ""
        assert here.startswith("# User@Host: ") or (
            here.startswith("# Time: ") and after.startswith("# User@Host: ")
        ), line


def test_a_gzipped_slow_log(tmp_path: Path, mariadb: pl.DataFrame) -> None:
    path = tmp_path / "slow.log.gz"
    path.write_bytes(gzip.compress(SLOW.read_bytes()))
    assert_frame_equal(no_warning(read_mysql_slow_log, path), mariadb)


# ---------------------------------------------------------------------------------------
# MySQL 8 (hand-made after the documented format)


def test_a_mysql_8_slow_log() -> None:
    s = no_warning(read_mysql_slow_log, MYSQL8)
    assert s.select("pid", "user", "database", "client", "duration_ms", "rows", "line").rows() == [
        # an event starts at its '# Time:' line
        (42, "app", "shop", "10.0.0.5", 250.0, 1, 4),
        # a socket client: no IP; the database is the last `use` written, by any thread
        (8, "root", "shop", "localhost", 0.097, 1, 10),
        (42, "app", "shop", "10.0.0.5", 1500.0, 0, 15),
    ]
    assert s["rows_examined"].to_list() == [3000, 1, 30000]
    assert s["lock_ms"].to_list() == pytest.approx([0.01, 0.001, 0.1])
    assert s["bytes_sent"].to_list() == [None, 56, None]  # log_slow_extra on the 2nd only
    assert s["query"].to_list() == [
        "SELECT id, name FROM users WHERE phone = 600000123",
        "SELECT @@version_comment LIMIT 1",
        "UPDATE orders\n   SET status = 'paid'\n WHERE created_at < '2026-06-01'",
    ]
    assert s["full_scan"].null_count() == 3  # MySQL has no MariaDB flag lines


def test_mysql_8_times_are_each_events_own() -> None:
    s = read_mysql_slow_log(MYSQL8)
    assert s["timestamp"].to_list() == [
        utc(2026, 12, 3, 8, 34, 10, 250123),
        utc(2026, 12, 3, 8, 35, 11, 200),
        utc(2026, 12, 3, 9, 40, 2, 500100),
    ]


def test_an_administrator_command_is_not_a_bad_event(tmp_path: Path) -> None:
    path = tmp_path / "slow.log"
    path.write_text(
        MYSQL8.read_text() + "# Time: 2026-12-03T09:40:03.000010Z\n"
        "# User@Host: app[app] @ web-1 [10.0.0.5]  Id:    42\n"
        "# Query_time: 0.000005  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0\n"
        "SET timestamp=1796290803;\n"
        "# administrator command: Quit;\n"
    )
    s = no_warning(read_mysql_slow_log, path)
    assert s.height == 4
    last = s.row(3, named=True)
    assert "administrator command: Quit" in last["query"] and not last["query"].endswith(";")
    assert (last["pid"], last["duration_ms"], last["line"]) == (42, 0.005, 22)
    assert last["timestamp"] == utc(2026, 12, 3, 9, 40, 3, 10)


def _event(thread: int, statement: str, use: str | None = None, schema: str | None = None) -> str:
    return (
        f"# User@Host: app[app] @ web-1 [10.0.0.5]  Id:    {thread}\n"
        + (f"# Thread_id: {thread}  Schema: {schema}  QC_hit: No\n" if schema else "")
        + "# Query_time: 0.001000  Lock_time: 0.000000 Rows_sent: 1  Rows_examined: 1\n"
        + (f"use {use};\n" if use else "")
        + f"SET timestamp=1796286850;\n{statement};\n"
    )


@pytest.mark.parametrize("block", [None, 200], ids=["one-block", "small-blocks"])
def test_the_database_is_the_last_use_written_by_any_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int | None
) -> None:
    if block is not None:
        monkeypatch.setattr(_mysql, "_BLOCK", block)
    path = tmp_path / "slow.log"
    path.write_text(
        _event(42, "SELECT 1")  # before any `use`: unknown
        + _event(42, "SELECT 2", use="shop")
        + _event(8, "SELECT 3")  # another thread: the server wrote no `use`, still shop
        + _event(9, "SELECT 4", use="admin")
        + _event(42, "SELECT 5")  # not per thread: admin, the last one written
        + _event(42, "SELECT 6", schema="billing")  # Schema: wins
        + _event(8, "SELECT 7")
    )
    s = no_warning(read_mysql_slow_log, path)
    assert s.select("query", "database").rows() == [
        ("SELECT 1", None),
        ("SELECT 2", "shop"),
        ("SELECT 3", "shop"),
        ("SELECT 4", "admin"),
        ("SELECT 5", "admin"),
        ("SELECT 6", "billing"),
        ("SELECT 7", "admin"),
    ]


# ---------------------------------------------------------------------------------------
# bad input


def test_an_event_without_query_time_names_its_line(tmp_path: Path) -> None:
    no_time = EVENT.format(n=2).replace(EVENT.splitlines()[1] + "\n", "")
    path = tmp_path / "slow.log"
    path.write_text(EVENT.format(n=1) + no_time + EVENT.format(n=3))
    with pytest.raises(InputError, match="without a '# Query_time:' line") as err:
        read_mysql_slow_log(path)
    assert err.value.line == 5
    s, message = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s["query"].to_list() == ["SELECT 1", "SELECT 3"]
    assert s["line"].to_list() == [1, 8]
    assert "skipped 1 unreadable line(s); first: line 5:" in message


@pytest.mark.parametrize(
    "tail",
    ["# Query_time: 0.2", "# Query_time: 0.250000  Lock_time: 0.000010 Rows_sent: 1  Rows_ex"],
)
def test_a_log_cut_in_the_headers_names_the_event(tmp_path: Path, tail: str) -> None:
    path = tmp_path / "slow.log"
    path.write_text(EVENT.format(n=1) + EVENT.splitlines()[0] + "\n" + tail)
    with pytest.raises(InputError, match="an event without a '# Query_time:' line") as err:
        read_mysql_slow_log(path)
    assert err.value.line == 5
    s, _ = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s["query"].to_list() == ["SELECT 1"]


def test_a_log_cut_before_the_statement_names_the_event(tmp_path: Path) -> None:
    path = tmp_path / "slow.log"
    path.write_text(EVENT.format(n=1) + "".join(EVENT.splitlines(keepends=True)[:2]) + "SET tim")
    with pytest.raises(InputError, match="an event without a statement") as err:
        read_mysql_slow_log(path)
    assert err.value.line == 5
    s, _ = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s["query"].to_list() == ["SELECT 1"]


def test_a_statement_cut_short_loses_nothing_before_it(tmp_path: Path) -> None:
    path = tmp_path / "slow.log"
    path.write_text(
        EVENT.format(n=1) + EVENT.format(n=2) + EVENT.replace("SELECT {n};\n", "SELECT id\nFROM us")
    )
    s, message = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s["query"].to_list() == ["SELECT 1", "SELECT 2"]
    assert "first: line 9: a statement cut short" in message  # the event's first line


def test_a_statement_cut_short_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "slow.log"
    path.write_text(EVENT.format(n=1) + EVENT.replace("SELECT {n};\n", "SELECT id\nFROM us"))
    with pytest.raises(InputError, match="cut short") as err:
        read_mysql_slow_log(path)
    assert err.value.line == 5  # the event's first line, as for the other bad events
    s, message = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s["query"].to_list() == ["SELECT 1"]
    assert "first: line 5: a statement cut short" in message


def test_a_statement_without_its_semicolon_between_two_events_is_a_bad_event(
    tmp_path: Path,
) -> None:
    path = tmp_path / "slow.log"
    path.write_text(
        EVENT.format(n=1)
        + EVENT.replace("SELECT {n};\n", "SELECT id\nFROM us\n")
        + EVENT.format(n=3)
    )
    with pytest.raises(InputError, match="cut short") as err:
        read_mysql_slow_log(path)
    assert err.value.line == 5
    s, message = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s.select("query", "line").rows() == [("SELECT 1", 1), ("SELECT 3", 10)]
    assert "first: line 5: a statement cut short" in message


def test_a_cut_gzip_bigger_than_a_mebibyte_keeps_what_is_before(tmp_path: Path) -> None:
    text = "".join(EVENT.format(n=f"id, email FROM users WHERE id = {i}") for i in range(9000))
    data = gzip.compress(text.encode())
    path = tmp_path / "slow.log.gz"
    path.write_bytes(data[: len(data) * 9 // 10])
    with pytest.raises(InputError) as err:
        read_mysql_slow_log(path)
    assert err.value.line is not None and err.value.line > 20_000
    s, _ = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s.height > 6000


def test_lines_before_the_first_event_are_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "slow.log"
    path.write_text("SELECT 'left over';\nfrom a rotated file\n" + EVENT.format(n=1))
    with pytest.raises(InputError, match="before any '# User@Host:' header") as err:
        read_mysql_slow_log(path)
    assert err.value.line == 1
    s, message = one_warning(read_mysql_slow_log, path, errors="skip")
    assert s.select("query", "line").rows() == [("SELECT 1", 3)]
    assert "skipped 2 unreadable line(s); first: line 1:" in message


def test_a_restart_in_the_middle(tmp_path: Path) -> None:
    # the banner MySQL writes on every start, between two events
    banner = "".join(MYSQL8.read_text().splitlines(keepends=True)[:3])
    path = tmp_path / "slow.log"
    path.write_text(MYSQL8.read_text() + banner + EVENT.format(n=9).replace("42", "9"))
    s = no_warning(read_mysql_slow_log, path)
    assert s.height == 4
    assert s.select("pid", "query", "line").rows()[-1] == (9, "SELECT 9", 25)
    # (timestamps aside: test_mysql_8_times_are_each_events_own)
    assert_frame_equal(s.head(3).drop("timestamp"), read_mysql_slow_log(MYSQL8).drop("timestamp"))


@pytest.mark.parametrize("content", [b"", b"\n", b"\xef\xbb\xbf"])
def test_an_empty_slow_log(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "slow.log"
    path.write_bytes(content)
    s = no_warning(read_mysql_slow_log, path)
    assert s.height == 0
    assert_statements_schema(s)
    assert s.columns[-len(EXTRA) :] == list(EXTRA)


def test_a_slow_log_of_banners_only_warns_why(tmp_path: Path) -> None:
    path = tmp_path / "slow.log"
    path.write_text("".join(MYSQL8.read_text().splitlines(keepends=True)[:3]))
    s, message = one_warning(read_mysql_slow_log, path)
    assert s.height == 0 and "no '# User@Host:' event" in message


# ---------------------------------------------------------------------------------------
# read_log and sniff_format


@pytest.mark.parametrize(
    ("first", "fmt"),
    [
        ("mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:", "mysql"),
        ("/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:",
         "mysql"),
        ("# Time: 2026-12-03T08:34:10.250123Z", "mysql"),
        ("# Time: 261203  8:56:33", "mysql"),
        ("# User@Host: app[app] @ web-1 [10.0.0.5]  Id:    42", "mysql"),
        ("2026-12-03 08:56:12.471 UTC [29020] LOG:  starting PostgreSQL 15.20", "stderr"),
    ],
)  # fmt: skip
def test_sniff_format_recognises_mysql_by_its_first_line(
    tmp_path: Path, first: str, fmt: str
) -> None:
    path = tmp_path / "server.log"
    path.write_text(first + "\nmore\n")
    assert sniff_format(path) == fmt
    gz = tmp_path / "server.log.gz"
    gz.write_bytes(gzip.compress(("\ufeff" + first + "\n").encode()))
    assert sniff_format(gz) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("postgresql.csv", "csvlog"), ("postgresql.json", "jsonlog"), ("postgresql.log", "stderr"),
     ("postgresql-pgbadger-prefix.log", "stderr"), ("mariadb-slow.log", "mysql")],
)  # fmt: skip
def test_sniff_format_of_the_samples(name: str, fmt: str) -> None:
    assert sniff_format(SAMPLES / name) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("pg.csv.gz", "csvlog"),
        ("pg.jsonl", "jsonlog"),
        ("pg.JSON", "jsonlog"),
        ("pg.txt", "stderr"),
    ],
)
def test_sniff_format_goes_by_suffix_for_postgresql(tmp_path: Path, name: str, fmt: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"x\n") if name.endswith(".gz") else b"x\n")
    assert sniff_format(path) == fmt


def test_read_log_reads_each_format(mariadb: pl.DataFrame) -> None:
    slow = no_warning(read_log, SLOW)
    assert_frame_equal(slow.statements, mariadb)
    assert slow.events.height == 0 and slow.events.schema == pl.Schema(EVENTS.dtypes())
    assert_frame_equal(read_log(MYSQL8).statements, read_mysql_slow_log(MYSQL8))
    csv = no_warning(read_log, SAMPLES / "postgresql.csv")
    assert_frame_equal(csv.statements, read_postgres(SAMPLES / "postgresql.csv").statements)
    assert no_warning(read_log, SAMPLES / "postgresql-pgbadger-prefix.log").statements.height == 22
    # format= overrides the sniffing
    with pytest.raises(InputError):
        read_log(SLOW, format="stderr", prefix="%m [%p] ")

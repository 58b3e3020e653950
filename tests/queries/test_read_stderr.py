"""Tests for the PostgreSQL stderr reader: read_postgres, read_postgres_log, iter_postgres.

On the real sample (PostgreSQL 15, ``log_line_prefix = '%m [%p] %q%u@%d app=%a '``,
every statement logged): statements by protocol, events by kind, what the extended
protocol's parse/bind/execute become, multi-line statements, and the same statements
and events from the stderr, csvlog and jsonlog files the server wrote at once. Then
``log_line_prefix`` handling (detection, a wrong prefix, a change on reload), bad
input (cut lines, cut gzip, binary junk, empty files), ``log_statement = all``, a
9.6-era log, time zones, and that the block size of the streaming read changes nothing.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError, ParameterError
from perflab.queries import (
    EVENTS,
    STATEMENTS,
    _pgstderr,
    iter_postgres,
    read_postgres,
    read_postgres_log,
)
from perflab.sources import Source
from tests.queries.helpers import (
    DATA,
    EVENT_COLUMNS,
    PG_PREFIX,
    PGBADGER_PREFIX,
    SAMPLES,
    STATEMENT_COLUMNS,
    assert_events_schema,
    assert_statements_schema,
    no_warning,
    one_warning,
    pg_line,
    stderr_blocks,
    utc,
)

LOG = SAMPLES / "postgresql.log"
BOTH = [PG_PREFIX, PGBADGER_PREFIX]  # postgresql.log: its last two lines follow a reload
LINES = LOG.read_text(encoding="utf-8").splitlines()
N_FIRST = 1688  # lines written with PG_PREFIX; 1689 and 1690 with PGBADGER_PREFIX


@pytest.fixture(scope="module")
def sample() -> tuple[pl.DataFrame, pl.DataFrame]:
    log = no_warning(read_postgres, LOG, prefix=BOTH)
    return log.statements, log.events


def _write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------
# the real sample


def test_statements_by_protocol(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    statements, _ = sample
    assert_statements_schema(statements)
    assert dict(statements.group_by("protocol").len().iter_rows()) == {
        "simple": 171,  # "duration: … statement:" lines
        "extended": 52,  # "execute <unnamed>:" (psycopg's first executions)
        "prepared": 153,  # "execute _pg3_N:" (after psycopg prepares the statement)
    }
    # the counts are those of the lines the server wrote: parse and bind are not counted
    text = LOG.read_text()
    assert len(re.findall(r"LOG:  duration: \S+ ms  statement: ", text)) == 171
    assert len(re.findall(r"LOG:  duration: \S+ ms  execute ", text)) == 52 + 153
    assert statements["calls"].to_list() == [1] * statements.height
    assert statements["line"].is_sorted() and statements["line"].n_unique() == 376
    assert set(statements["statement_name"].drop_nulls()) >= {"_pg3_0", "_pg3_1", "_pg3_2"}
    assert statements.filter(pl.col("protocol") != "prepared")["statement_name"].null_count() == (
        171 + 52
    )


def test_events_by_kind(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, events = sample
    assert_events_schema(events)
    assert dict(events.group_by("kind").len().iter_rows()) == {
        "connection": 13,
        "disconnection": 12,
        "temp_file": 24,
        "lock_wait": 2,  # "still waiting" and "detected deadlock while waiting"
        "lock_acquired": 1,
        "deadlock": 1,
        "error": 3,  # syntax error, unique violation, division by zero
        "checkpoint": 1,
        "autovacuum": 9,  # 6 "automatic vacuum" and 3 "automatic aggressive vacuum"
        "autoanalyze": 19,
    }


def test_events_carry_their_evidence(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, events = sample
    wait = events.filter(pl.col("kind") == "lock_wait").row(0, named=True)
    assert (wait["object"], wait["duration_ms"], wait["pid"]) == (
        "ShareLock on transaction 780",
        200.122,
        29068,
    )
    acquired = events.filter(pl.col("kind") == "lock_acquired").row(0, named=True)
    assert (acquired["object"], acquired["duration_ms"]) == (
        "ShareLock on transaction 780",
        700.499,
    )
    deadlock = events.filter(pl.col("kind") == "deadlock").row(0, named=True)
    assert deadlock["line"] == 1312 and deadlock["sqlstate"] is None  # no %e in the prefix
    assert deadlock["detail"].splitlines() == [
        "Process 29067 waits for ShareLock on transaction 783; blocked by process 29068.",
        "Process 29068 waits for ShareLock on transaction 782; blocked by process 29067.",
        "Process 29067: UPDATE orders SET total = total + 1 WHERE id = $1",
        "Process 29068: UPDATE orders SET total = total + 1 WHERE id = $1",
    ]
    assert deadlock["query"] == "UPDATE orders SET total = total + 1 WHERE id = $1"
    temp = events.filter(pl.col("kind") == "temp_file")
    assert temp["size_bytes"].min() > 0 and temp["query"].null_count() == 0
    assert temp.row(0, named=True)["object"] == "base/pgsql_tmp/pgsql_tmp29030.0"
    checkpoint = events.filter(pl.col("kind") == "checkpoint").row(0, named=True)
    assert checkpoint["duration_ms"] == pytest.approx(61.0)
    first_disconnection = events.filter(pl.col("kind") == "disconnection").row(0, named=True)
    assert first_disconnection["duration_ms"] == pytest.approx(51.0)
    vacuum = events.filter(pl.col("kind").is_in(["autovacuum", "autoanalyze"]))
    assert set(vacuum["object"]) >= {"shop.public.events"}
    errors = events.filter(pl.col("kind") == "error").sort("line")["message"].to_list()
    assert errors[0] == 'syntax error at or near "SELEC" at character 1'
    assert errors[2] == "division by zero"


def test_extended_protocol_execute_carries_parse_and_bind(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    statements, _ = sample
    by_line = {r["line"]: r for r in statements.iter_rows(named=True)}
    # 265 parse 0.418, 266 bind 0.472, 267 DETAIL, 268 execute 0.073, 269 DETAIL
    first = by_line[268]
    assert (first["protocol"], first["duration_ms"], first["parameters"]) == (
        "extended",
        0.073,
        "$1 = '316'",
    )
    assert first["prepare_ms"] == pytest.approx(0.418 + 0.472)
    assert first["query"] == "SELECT id, email, name FROM users WHERE id = $1"
    assert (first["user"], first["database"], first["application"]) == (
        "postgres",
        "shop",
        "shop-web",
    )
    assert first["timestamp"] == utc(2026, 12, 3, 8, 56, 15, 629000)
    # 340 parse _pg3_0, 341 bind, 343 execute: a named (prepared) statement …
    named = by_line[343]
    assert (named["protocol"], named["statement_name"], named["parameters"]) == (
        "prepared",
        "_pg3_0",
        "$1 = '4212'",
    )
    assert named["prepare_ms"] == pytest.approx(0.045 + 0.039)
    # … is parsed once: its next execution has only a bind
    assert by_line[357]["prepare_ms"] == pytest.approx(0.042)


def test_prepare_ms_is_the_parse_and_bind_since_the_sessions_last_execute(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """A plain model of the log checks every execute's prepare_ms."""
    rx = re.compile(
        r"^\S+ \S+ \S+ \[(\d+)\] .* LOG:  duration: (\S+) ms  (parse|bind|execute) [^:]*: (.*)$"
    )
    pending: dict[str, list[tuple[str, float]]] = {}
    expected: dict[int, float | None] = {}
    for n, line in enumerate(LINES, start=1):
        m = rx.match(line)
        if m is None:
            continue
        pid, ms, phase, text = m.group(1), float(m.group(2)), m.group(3), m.group(4)
        if phase == "execute":
            mine = [v for t, v in pending.pop(pid, []) if t == text]
            expected[n] = sum(mine) if mine else None
        else:
            pending.setdefault(pid, []).append((text, ms))
    statements, _ = sample
    got = statements.filter(pl.col("protocol") != "simple").select("line", "prepare_ms")
    assert got["line"].to_list() == sorted(expected)
    for line, ms in got.iter_rows():
        assert ms == pytest.approx(expected[line]), line


def test_multi_line_statements_keep_their_lines(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    statements, events = sample
    psql = (
        "SELECT u.country,\n       count(*) AS orders\nFROM orders o\n"
        "JOIN users u ON u.id = o.user_id\nGROUP BY u.country\nORDER BY 2 DESC"
    )
    hit = statements.filter(pl.col("query") == psql)
    assert hit.height == 1
    (line,) = hit["line"]
    assert "LOG:  duration: " in LINES[line - 1] and LINES[line].startswith("\t")
    assert events.filter(pl.col("kind") == "temp_file")["query"].to_list().count(psql) >= 2
    schema = statements.filter(pl.col("query").str.contains("CREATE TABLE users")).row(
        0, named=True
    )
    assert schema["line"] == 12
    body = schema["query"].split("\n")
    # the server indents each further line with one tab; the text is given back without it
    assert body[:3] == ["", "CREATE TABLE users (", "    id serial PRIMARY KEY,"]
    assert body[1:] == [ln.removeprefix("\t") for ln in LINES[12 : 12 + len(body) - 1]]


def test_line_points_at_the_statements_log_line(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    statements, events = sample
    for line, query in statements.select("line", "query").iter_rows():
        raw = LINES[line - 1]
        assert " LOG:  duration: " in raw and query.split("\n")[0] in raw, line
    for line, message in events.select("line", "message").iter_rows():
        assert message.split("\n")[0] in LINES[line - 1], line


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_stderr_csvlog_and_jsonlog_agree(
    sample: tuple[pl.DataFrame, pl.DataFrame], fmt: str
) -> None:
    statements, events = sample
    other = no_warning(read_postgres, SAMPLES / f"postgresql.{fmt}")
    assert_frame_equal(
        statements.select(STATEMENT_COLUMNS), other.statements.select(STATEMENT_COLUMNS)
    )
    assert_frame_equal(events.select(EVENT_COLUMNS), other.events.select(EVENT_COLUMNS))
    # what only the structured formats hold: the session id, client and query id
    assert other.statements["session"].null_count() == 0
    assert set(other.statements["client"]) == {"127.0.0.1"}
    assert other.statements["query_id"].null_count() < other.statements.height


def test_read_postgres_log_is_the_statements_of_read_postgres(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    assert_frame_equal(read_postgres_log(LOG, BOTH), sample[0])


def test_iter_postgres_gives_the_same_in_blocks(
    sample: tuple[pl.DataFrame, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    with stderr_blocks(monkeypatch, 16384):
        parts = list(iter_postgres(LOG, prefix=BOTH))
    assert len(parts) > 5
    statements = pl.concat([s for s, _ in parts]).sort("line")
    events = pl.concat([e for _, e in parts]).sort("line")
    assert_frame_equal(statements, sample[0])
    assert_frame_equal(events, sample[1])


def test_an_unknown_format_is_an_input_error() -> None:
    with pytest.raises(InputError, match="format must be 'stderr', 'csvlog' or 'jsonlog'"):
        read_postgres(LOG, format="syslog", prefix=BOTH)


# ---------------------------------------------------------------------------------------
# log_line_prefix


def test_the_pgbadger_prefix_is_recognised() -> None:
    statements = no_warning(read_postgres_log, SAMPLES / "postgresql-pgbadger-prefix.log")
    assert statements.height == 22
    assert dict(statements.group_by("protocol").len().iter_rows()) == {
        "simple": 2,
        "extended": 5,
        "prepared": 15,
    }
    web = statements.filter(pl.col("application") == "shop-web")
    assert web.height == 21
    assert set(web.select("user", "database", "client").rows()) == {
        ("postgres", "shop", "127.0.0.1")
    }
    # %t has whole seconds
    assert statements["timestamp"].dt.microsecond().max() == 0
    given = read_postgres_log(SAMPLES / "postgresql-pgbadger-prefix.log", PGBADGER_PREFIX)
    assert_frame_equal(statements, given)


def test_the_samples_own_prefix_is_recognised(
    tmp_path: Path, sample: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    # the Debian prefix '%m [%p] %q%u@%d ' matches these lines too (its %d would read
    # 'shop app=shop-web'): the richer prefix must win
    path = _write(tmp_path / "postgresql.log", LINES[:N_FIRST])
    statements = no_warning(read_postgres_log, path)
    assert set(statements["database"]) == {"postgres", "shop"}
    assert "shop-web" in set(statements["application"])
    assert_frame_equal(statements, sample[0])


def test_a_detected_prefix_reads_the_lines_after_a_reload_to_another_common_one(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    log = no_warning(read_postgres, LOG)
    assert_frame_equal(log.statements, sample[0])
    assert_frame_equal(log.events, sample[1])


def test_a_wrong_prefix_fails_on_line_1_naming_one_that_matches() -> None:
    with pytest.raises(InputError) as err:
        read_postgres_log(SAMPLES / "postgresql-pgbadger-prefix.log", "%m [%p] ")
    assert err.value.line == 1
    assert "'%m [%p] ' matches none of the first" in str(err.value)
    assert repr(PGBADGER_PREFIX) in str(err.value)


def test_a_wrong_prefix_fails_with_skip_too() -> None:
    # a prefix that matches nothing is never an empty result, whatever errors= says
    with pytest.raises(InputError, match="matches none"):
        read_postgres_log(SAMPLES / "postgresql-pgbadger-prefix.log", "%m [%p] ", errors="skip")


def test_no_common_prefix_is_an_input_error(tmp_path: Path) -> None:
    lines = [
        "<2026-12-03 08:00:00.000 UTC|7> LOG:  duration: 1.500 ms  statement: SELECT 1",
        "<2026-12-03 08:00:01.000 UTC|7> LOG:  duration: 2.500 ms  statement: SELECT 2",
        "<2026-12-03 08:00:02.000 UTC|8> LOG:  checkpoint starting: time",
    ]
    path = _write(tmp_path / "custom.log", lines)
    with pytest.raises(InputError, match="no common log_line_prefix matches") as err:
        read_postgres_log(path)
    assert err.value.line == 1
    with pytest.raises(InputError, match=r"SHOW log_line_prefix"):
        read_postgres_log(path, "%m [%p] ")  # and no common one to suggest
    statements = no_warning(read_postgres_log, path, "<%m|%p> ")
    assert statements.select("pid", "duration_ms").rows() == [(7, 1.5), (7, 2.5)]


def test_after_a_reload_both_prefixes_read_every_line(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    statements, events = sample  # read with no warning: no bad line (fixture)
    assert statements["line"].max() == N_FIRST < len(LINES) == N_FIRST + 2
    assert events.height == 85


def test_after_a_reload_the_prefixes_may_be_given_in_either_order(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    swapped = no_warning(read_postgres, LOG, prefix=[PGBADGER_PREFIX, PG_PREFIX])
    assert_frame_equal(swapped.statements, sample[0])
    assert_frame_equal(swapped.events, sample[1])


def test_after_a_reload_the_first_prefix_alone_fails_on_the_new_lines(
    sample: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    with pytest.raises(InputError) as err:
        read_postgres(LOG, prefix=PG_PREFIX)
    assert err.value.line == N_FIRST + 1
    assert 'parameter "log_line_prefix" changed' in str(err.value)
    log, message = one_warning(read_postgres, LOG, prefix=PG_PREFIX, errors="skip")
    assert "skipped 2 unreadable line(s)" in message
    assert f"line {N_FIRST + 1}:" in message and f"line {N_FIRST + 2}:" in message
    assert_frame_equal(log.statements, sample[0])
    assert_frame_equal(log.events, sample[1])


def test_an_empty_prefix_list_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="lists no log_line_prefix"):
        read_postgres(LOG, prefix=[])


# ---------------------------------------------------------------------------------------
# bad input


def test_a_last_line_cut_in_its_prefix_names_the_line(
    tmp_path: Path, sample: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    path = _write(tmp_path / "cut.log", [*LINES, "2026-12-03 08:56:31.1"], end="")
    with pytest.raises(InputError, match="not a log line of this log_line_prefix") as err:
        read_postgres(path, prefix=BOTH)
    assert err.value.line == len(LINES) + 1
    log, message = one_warning(read_postgres, path, prefix=BOTH, errors="skip")
    assert f"skipped 1 unreadable line(s); first: line {len(LINES) + 1}:" in message
    assert_frame_equal(log.statements, sample[0])
    assert_frame_equal(log.events, sample[1])


def test_a_last_line_cut_in_its_message_loses_nothing_before_it(
    tmp_path: Path, sample: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    cut = pg_line("duration: 0.250 ms  statement: SELECT id FROM us", pid=29096)
    path = _write(tmp_path / "cut.log", [*LINES, cut], end="")
    statements = no_warning(read_postgres, path, prefix=BOTH).statements
    assert_frame_equal(statements.head(sample[0].height), sample[0])
    assert statements["line"][-1] == len(LINES) + 1


def test_a_cut_gzip_names_the_line_and_skip_keeps_what_is_before(tmp_path: Path) -> None:
    data = gzip.compress(LOG.read_bytes())
    path = tmp_path / "postgresql.log.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError, match="gzip data cut short") as err:
        read_postgres(path, prefix=BOTH)
    stop = err.value.line
    assert stop is not None and 100 < stop < len(LINES)
    log, message = one_warning(read_postgres, path, prefix=BOTH, errors="skip")
    assert f"line {stop}: gzip data cut short" in message
    before = read_postgres(_write(tmp_path / "before.log", LINES[: stop - 1]), prefix=BOTH)
    assert_frame_equal(log.statements, before.statements)
    assert_frame_equal(log.events, before.events)
    assert log.statements.height > 200


def _big_log(n: int) -> list[str]:
    return [
        pg_line(f"duration: 0.{i % 1000:03d} ms  statement: SELECT id FROM users WHERE id = {i}")
        for i in range(n)
    ]


def test_a_cut_gzip_bigger_than_a_mebibyte_keeps_what_is_before(tmp_path: Path) -> None:
    lines = _big_log(14_000)  # about 1.3 MB of text
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "big.log.gz"
    path.write_bytes(data[: len(data) * 9 // 10])
    with pytest.raises(InputError) as err:
        read_postgres(path, prefix=PG_PREFIX)
    assert err.value.line is not None and err.value.line > 10_000
    log, _ = one_warning(read_postgres, path, prefix=PG_PREFIX, errors="skip")
    assert log.statements.height > 10_000


def _message_start(at: int) -> int:
    """Index of the first line from ``at`` on that starts a message (not a continuation)."""
    return next(i for i in range(at, len(LINES)) if LINES[i].startswith("2026-"))


def test_binary_junk_lines_are_bad_lines(
    tmp_path: Path, sample: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    junk = [b"\x00\x01\xfe\xff garbage \x8f\x90", b"\xde\xad\xbe\xef" * 10, b"PK\x03\x04\x14\x00"]
    raw = [ln.encode() for ln in LINES]
    a, b = _message_start(100), _message_start(500)
    body = raw[:a] + junk[:1] + raw[a:b] + junk[1:] + raw[b:]
    path = tmp_path / "junk.log"
    path.write_bytes(b"\n".join(body) + b"\n")
    with pytest.raises(InputError, match="not a log line of this log_line_prefix") as err:
        read_postgres(path, prefix=BOTH)
    assert err.value.line == a + 1
    log, message = one_warning(read_postgres, path, prefix=BOTH, errors="skip")
    assert f"skipped 3 unreadable line(s); first: line {a + 1}:" in message
    assert f"line {b + 2}:" in message and f"line {b + 3}:" in message
    assert_frame_equal(log.statements.drop("line"), sample[0].drop("line"))
    assert_frame_equal(log.events.drop("line"), sample[1].drop("line"))


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_an_empty_file_gives_empty_frames_and_no_warning(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "postgresql.log"
    path.write_bytes(content)
    log = no_warning(read_postgres, path)
    assert log.statements.schema == pl.Schema(STATEMENTS.dtypes())
    assert log.events.schema == pl.Schema(EVENTS.dtypes())
    assert log.statements.height == log.events.height == 0
    assert no_warning(read_postgres_log, path).columns == list(STATEMENTS.names)


def test_a_log_without_statements_warns_why(tmp_path: Path) -> None:
    path = _write(tmp_path / "quiet.log", [ln for ln in LINES[:12] if "duration:" not in ln])
    log, message = one_warning(read_postgres, path, prefix=PG_PREFIX)
    assert log.statements.height == 0
    assert "no statements" in message and "log_min_duration_statement" in message
    assert dict(log.events.group_by("kind").len().iter_rows()) == {
        "connection": 2,
        "disconnection": 1,
    }


def test_log_statement_all_attaches_each_bare_duration_to_its_statement() -> None:
    path = DATA / "postgresql-log-statement.log"
    statements = no_warning(read_postgres_log, path, PG_PREFIX)
    got = statements.select("pid", "query", "duration_ms", "protocol", "line").rows()
    assert got == [
        (10, "SELECT 1", 0.12, "simple", 1),
        (11, "SELECT pg_sleep(0.5)", 500.5, "simple", 2),  # its duration comes 13 lines on
        (10, "UPDATE orders\n   SET status = 'paid'\n WHERE id = 2", 3.0, "simple", 4),
        (12, "SELECT * FROM orders WHERE id = $1", 0.3, "extended", 8),
        (10, "SELECT 1/0", None, "simple", 11),  # failed: no duration
        (10, "SELECT 2", 0.05, "simple", 14),
        (13, "SELECT 2", 0.05, "prepared", 17),
    ]
    assert statements.filter(pl.col("pid") == 12)["parameters"].to_list() == ["$1 = '5'"]
    assert statements["application"].to_list()[:2] == ["web", "report"]


def test_log_statement_all_across_block_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    path = DATA / "postgresql-log-statement.log"
    whole = read_postgres_log(path, PG_PREFIX)
    for size in (73, 150, 400):
        with stderr_blocks(monkeypatch, size):
            assert_frame_equal(read_postgres_log(path, PG_PREFIX), whole)


def test_a_postgresql_96_log_reads() -> None:
    log = no_warning(read_postgres, DATA / "postgresql-9.6.log")  # '%t [%p-%l] %q%u@%d '
    s = log.statements
    assert s.select("pid", "user", "database", "duration_ms", "protocol").rows() == [
        (2345, "app", "shop", 0.512, "simple"),
        (2345, "app", "shop", 0.02, "extended"),
        (2345, "app", "shop", 1520.3, "simple"),
    ]
    assert s["prepare_ms"][1] == pytest.approx(0.15)
    assert s["parameters"][1] == "$1 = '7'"
    assert s["query"][2] == "UPDATE orders\n   SET status = 'paid'\n WHERE id = 1"
    assert s["timestamp"][0] == utc(2017, 3, 1, 10, 0, 1)
    kinds = log.events.select("kind", "line").rows()
    assert kinds == [
        ("connection", 3),
        ("error", 10),
        ("checkpoint", 16),
        ("autovacuum", 17),
        ("disconnection", 23),
    ]
    ev = {r["kind"]: r for r in log.events.iter_rows(named=True)}
    assert ev["error"]["query"] == "SELECT * FROM userz"
    assert ev["checkpoint"]["duration_ms"] == pytest.approx(10.0)
    assert ev["autovacuum"]["object"] == "shop.public.orders"
    assert ev["disconnection"]["duration_ms"] == pytest.approx(6012.0)
    assert_frame_equal(
        read_postgres(DATA / "postgresql-9.6.log", prefix="%t [%p-%l] %q%u@%d ").statements, s
    )


def test_a_query_id_of_zero_is_null_as_in_csvlog(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text(
        "2026-12-03 08:00:00.000 UTC [7] 0 LOG:  duration: 2.000 ms  statement: SELECT 1\n"
        "2026-12-03 08:00:01.000 UTC [7] 42 LOG:  duration: 2.000 ms  statement: SELECT 2\n"
    )
    assert read_postgres_log(path, "%m [%p] %Q ")["query_id"].to_list() == [None, 42]


def test_without_a_session_id_the_pid_is_the_session_and_00000_is_null(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text(
        '2026-12-03 08:00:00.000 UTC [7] 00000 LOG:  temporary file: path "base/pgsql_tmp/'
        'pgsql_tmp7.0", size 1048576\n'
        "2026-12-03 08:00:00.000 UTC [7] 00000 STATEMENT:  SELECT * FROM t ORDER BY a\n"
        "2026-12-03 08:00:00.000 UTC [7] 00000 LOG:  duration: 1.000 ms  statement: "
        "SELECT * FROM t ORDER BY a\n"
        "2026-12-03 08:00:01.000 UTC [8] 40P01 ERROR:  deadlock detected\n"
    )
    log = no_warning(read_postgres, path, prefix="%m [%p] %e ")
    assert log.statements.select("pid", "session").rows() == [(7, "7")]
    # successful completion is no state, as in csvlog and jsonlog
    assert log.events.select("kind", "pid", "session", "sqlstate").rows() == [
        ("temp_file", 7, "7", None),
        ("deadlock", 8, "8", "40P01"),
    ]


def test_windows_line_endings_and_a_bom_change_nothing(
    tmp_path: Path, sample: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    path = tmp_path / "crlf.log"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(LINES) + "\r\n").encode())
    log = no_warning(read_postgres, path, prefix=BOTH)
    assert_frame_equal(log.statements, sample[0])
    assert_frame_equal(log.events, sample[1])


# ---------------------------------------------------------------------------------------
# time zones


def test_cet_and_cest_times_are_converted_to_utc() -> None:
    statements = no_warning(read_postgres_log, DATA / "postgresql-cet.log", "%m [%p] %q%u@%d ")
    assert statements["timestamp"].to_list() == [
        utc(2026, 7, 3, 8, 56, 12, 500000),  # 10:56:12.500 CEST
        utc(2026, 12, 3, 8, 56, 13),  # 09:56:13 CET
    ]


@pytest.mark.parametrize(
    ("zone", "local"),
    [("+05:30", "14:26:12.471"), ("-0530", "03:26:12.471"), ("-03", "05:56:12.471"),
     ("UTC", "08:56:12.471"), ("GMT", "08:56:12.471"), ("EST", "03:56:12.471")],
)  # fmt: skip
def test_offsets_and_known_abbreviations_are_converted_to_utc(
    tmp_path: Path, zone: str, local: str
) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text(
        f"2026-12-03 {local} {zone} [7] app@shop LOG:  duration: 1.000 ms  statement: SELECT 1\n"
    )
    ts = read_postgres_log(path, "%m [%p] %q%u@%d ")["timestamp"]
    assert ts.to_list() == [utc(2026, 12, 3, 8, 56, 12, 471000)]


def test_an_unknown_zone_abbreviation_asks_for_tz() -> None:
    path = DATA / "postgresql-ist.log"
    with pytest.raises(InputError, match=r"time zone 'IST'.*pass tz=") as err:
        read_postgres_log(path, "%m [%p] %q%u@%d ")
    assert "Asia/Kolkata" in str(err.value)
    statements = no_warning(read_postgres_log, path, "%m [%p] %q%u@%d ", tz="Asia/Kolkata")
    assert statements["timestamp"].to_list() == [
        utc(2026, 12, 3, 8, 56, 12, 471000),
        utc(2026, 12, 3, 8, 56, 13),
    ]


def test_a_tz_polars_does_not_know_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="Mars/Olympus"):
        read_postgres_log(DATA / "postgresql-ist.log", "%m [%p] %q%u@%d ", tz="Mars/Olympus")


# ---------------------------------------------------------------------------------------
# the block size of the streaming read changes nothing


def test_tiny_blocks_give_the_same_statements_and_events(
    sample: tuple[pl.DataFrame, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    with stderr_blocks(monkeypatch, 4096):
        log = read_postgres(LOG, prefix=BOTH)
    assert_frame_equal(log.statements, sample[0])
    assert_frame_equal(log.events, sample[1])


def test_blocks_of_997_bytes_give_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the web app's part of the sample: extended and prepared statements, lock waits,
    # the deadlock and the errors (lines 250–1400), cut at a message boundary
    part = _write(tmp_path / "part.log", LINES[249:1400])
    whole = read_postgres(part, prefix=PG_PREFIX)
    with stderr_blocks(monkeypatch, 997):
        small = read_postgres(part, prefix=PG_PREFIX)
    assert whole.statements.height > 250
    assert_frame_equal(small.statements, whole.statements)
    assert_frame_equal(small.events, whole.events)


def _interleaved_sessions() -> list[str]:
    """Two sessions' extended-protocol messages interleaved, a multi-line one among them."""
    out: list[str] = []
    for i in range(12):
        for pid in (101, 202):
            q = f"SELECT id, email FROM users WHERE id = $1 AND {pid} > {i}"
            out += [
                pg_line(f"duration: 0.{i + 1:03d} ms  parse <unnamed>: {q}", pid=pid),
                pg_line(f"duration: 0.{i + 2:03d} ms  bind <unnamed>: {q}", pid=pid),
                pg_line(f"parameters: $1 = '{i}'", pid=pid, level="DETAIL"),
            ]
        for pid in (101, 202):
            q = f"SELECT id, email FROM users WHERE id = $1 AND {pid} > {i}"
            out += [
                pg_line(f"duration: 0.{i + 5:03d} ms  execute <unnamed>: {q}", pid=pid),
                pg_line(f"parameters: $1 = '{i}'", pid=pid, level="DETAIL"),
            ]
        out += [
            pg_line("duration: 1.000 ms  statement: SELECT 1,", pid=303),
            "\t2,",
            "\t3",
        ]
    return out


def test_extended_protocol_folding_survives_any_block_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "ext.log", _interleaved_sessions())
    whole = read_postgres(path, prefix=PG_PREFIX)
    ext = whole.statements.filter(pl.col("protocol") == "extended")
    assert ext.height == 24 and whole.statements.height == 36
    # execute i of each session: parse 0.(i+1) + bind 0.(i+2)
    for row in ext.iter_rows(named=True):
        i = int(row["parameters"].split("'")[1])
        assert row["prepare_ms"] == pytest.approx((2 * i + 3) / 1000)
    cut_between = 0
    for size in (211, 333, 512, 997):
        blocks = list(_pgstderr.iter_entries(Source(path), PG_PREFIX, block_bytes=size))
        # a block that ends after a parse/bind but before its execute
        cut_between += sum(
            bool(re.match(r"duration: \S+ ms  (?:parse|bind) ", b["message"][-1])) for b in blocks
        )
        with stderr_blocks(monkeypatch, size):
            log = read_postgres(path, prefix=PG_PREFIX)
        assert_frame_equal(log.statements, whole.statements)
    assert cut_between > 0, "no block boundary fell between a parse/bind and its execute"


def test_block_bytes_is_honoured(tmp_path: Path) -> None:
    path = _write(tmp_path / "ext.log", _interleaved_sessions())
    assert len(list(_pgstderr.iter_entries(Source(path), PG_PREFIX))) == 1
    assert len(list(_pgstderr.iter_entries(Source(path), PG_PREFIX, block_bytes=400))) > 10

"""Tests for perflab.queries._pgprefix: ``log_line_prefix`` → the regex of its lines.

Every escape of PostgreSQL 15 on a value as the server prints it, padding, ``%q``
(background processes print only the part before it), unknown escapes, and a
property: for random prefixes and random field values, a line written the way
PostgreSQL writes it parses back to the same fields and message — with Python's
``re``, with polars (which the reader uses) and through the reader itself.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perflab.errors import ParameterError
from perflab.queries import read_postgres
from perflab.queries._pgprefix import COMMON_PREFIXES, compile_prefix
from tests.queries.helpers import no_warning, read_quietly

# escape → (group, a value as PostgreSQL prints it)
ESCAPES: dict[str, tuple[str, str]] = {
    "a": ("application", "psql"),
    "u": ("user", "postgres"),
    "d": ("database", "shop"),
    "r": ("client", "127.0.0.1(41982)"),
    "h": ("client", "127.0.0.1"),
    "b": ("backend_type", "client backend"),
    "p": ("pid", "29020"),
    "P": ("leader_pid", "29021"),
    "t": ("stamp", "2026-12-03 08:56:12 UTC"),
    "m": ("stamp", "2026-12-03 08:56:12.471 UTC"),
    "n": ("epoch", "1796288172.471"),
    "i": ("command_tag", "idle in transaction"),
    "e": ("sqlstate", "40P01"),
    "c": ("session", "6b112eac.715c"),
    "l": ("session_line", "17"),
    "s": ("session_start", "2026-12-03 08:56:12 UTC"),
    "v": ("vxid", "3/1"),
    "x": ("xid", "780"),
    "Q": ("query_id", "-1007735958420245012"),
}


def fields(prefix: str, line: str) -> dict[str, str | None]:
    """The groups of the line, padded ones stripped as Prefix.padded says to."""
    p = compile_prefix(prefix)
    m = re.match(p.pattern, line)
    assert m is not None, (prefix, line)
    return unpadded(m.groupdict(), p.padded)


def unpadded(groups: dict[str, str | None], padded: tuple[str, ...]) -> dict[str, str | None]:
    return {k: (v.strip(" ") if k in padded and v is not None else v) for k, v in groups.items()}


# ---------------------------------------------------------------------------------------
# every escape


@pytest.mark.parametrize("esc", sorted(ESCAPES))
def test_every_escape_captures_its_field(esc: str) -> None:
    group, value = ESCAPES[esc]
    prefix = f"<%{esc}> "
    p = compile_prefix(prefix)
    assert group in p.groups
    got = fields(prefix, f"<{value}> LOG:  hello")
    assert got[group] == value
    assert (got["level"], got["message"]) == ("LOG", "hello")


@pytest.mark.parametrize(
    ("esc", "value"),
    [
        ("r", "[local]"),  # a Unix-socket session
        ("h", "[local]"),
        ("r", "db-client.example.com(5432)"),
        ("v", ""),  # no virtual transaction (background process)
        ("x", "0"),
        ("P", ""),  # not a parallel worker
        ("Q", "0"),
        ("e", "00000"),
        ("t", "2026-12-03 09:56:12 CET"),
        ("m", "2026-12-03 14:26:12.471 +05:30"),
        ("m", "2026-12-03 05:56:12.471 -03"),
        ("a", ""),
        ("u", "[unknown]"),  # "connection received" lines, before authentication
    ],
)
def test_escapes_take_the_other_values_postgres_prints(esc: str, value: str) -> None:
    group, _ = ESCAPES[esc]
    assert fields(f"<%{esc}> ", f"<{value}> LOG:  x")[group] == value


def test_percent_percent_is_a_literal_percent() -> None:
    got = fields("%p%% ", "123% ERROR:  boom")
    assert (got["pid"], got["level"], got["message"]) == ("123", "ERROR", "boom")
    assert fields("%%%p ", "%77 LOG:  x")["pid"] == "77"


def test_time_escapes_say_the_line_has_a_time_and_a_pid() -> None:
    assert compile_prefix("%m [%p] ").has_time and compile_prefix("%m [%p] ").has_pid
    assert compile_prefix("%n ").has_time
    assert not compile_prefix("%u@%d ").has_time
    assert not compile_prefix("%t ").has_pid


def test_a_field_given_twice_is_captured_once() -> None:
    got = fields(
        "%t %m %h %r ", "2026-12-03 08:56:12 UTC 2026-12-03 08:56:12.471 UTC a b(1) LOG:  x"
    )
    assert got["stamp"] == "2026-12-03 08:56:12 UTC"
    assert got["client"] == "a"


@pytest.mark.parametrize("prefix", ["%z ", "%m [%k] ", "%Z", "%-5y "])
def test_an_unknown_escape_is_a_parameter_error_naming_it(prefix: str) -> None:
    esc = re.search(r"%-?\d*([a-zA-Z])", prefix.replace("%m", "")).group(1)  # type: ignore[union-attr]
    with pytest.raises(ParameterError, match=f"unknown escape %{esc}"):
        compile_prefix(prefix)


def test_a_prefix_that_is_not_text_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="log_line_prefix string"):
        compile_prefix(None)  # type: ignore[arg-type]


def test_every_common_prefix_compiles() -> None:
    for text in COMMON_PREFIXES:
        assert compile_prefix(text).text == text


# ---------------------------------------------------------------------------------------
# %q and padding


def test_q_makes_the_session_part_optional_for_background_processes() -> None:
    prefix = "%m [%p] %q%u@%d app=%a "
    bg = fields(prefix, "2026-12-03 08:56:12.471 UTC [29020] LOG:  checkpoint starting: time")
    assert bg["pid"] == "29020"
    assert bg["user"] is bg["database"] is bg["application"] is None
    assert bg["message"] == "checkpoint starting: time"
    session = fields(
        prefix, "2026-12-03 08:56:12.792 UTC [29030] postgres@shop app=psql LOG:  duration: 1 ms"
    )
    assert (session["user"], session["database"], session["application"]) == (
        "postgres",
        "shop",
        "psql",
    )


def test_background_lines_of_a_prefix_without_q_have_empty_fields() -> None:
    # RDS's prefix has no %q: the checkpointer prints empty client, user and database
    got = fields(
        "%m:%r:%u@%d:[%p]:", "2026-12-03 08:56:12.471 UTC::@:[29020]:LOG:  checkpoint starting"
    )
    assert (got["client"], got["user"], got["database"], got["pid"]) == ("", "", "", "29020")
    got = fields(
        "%m:%r:%u@%d:[%p]:",
        "2026-12-03 08:56:12.471 UTC:10.0.0.5(41982):app@shop:[29030]:LOG:  x",
    )
    assert (got["client"], got["user"], got["database"]) == ("10.0.0.5(41982)", "app", "shop")


@pytest.mark.parametrize(
    ("prefix", "line"),
    [
        ("%-10u %d ", "bob        shop LOG:  x"),  # left-justified to 10
        ("%10u %d ", "       bob shop LOG:  x"),  # right-justified
        ("%-8p|%u ", "123     |bob LOG:  x"),
        ("[%-10a] ", "[psql      ] LOG:  x"),
    ],
)
def test_padding_is_not_part_of_the_value(prefix: str, line: str) -> None:
    got = fields(prefix, line)
    values = {k: v for k, v in got.items() if k not in ("level", "message") and v is not None}
    assert all(v == v.strip() for v in values.values()), values
    assert got["message"] == "x"


@pytest.mark.parametrize(
    ("prefix", "line"),
    [
        ("%m %-8p %a %q%u@%d ", "2026-12-03 08:00:00.000 UTC 123       app@shop "),
        ("%m %8p %a %q%u@%d ", "2026-12-03 08:00:00.000 UTC      123  app@shop "),
    ],
    ids=["left-justified", "right-justified"],
)
def test_a_padded_field_before_an_empty_one_keeps_the_fields_after_it(
    tmp_path: Path, prefix: str, line: str
) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text(line + "LOG:  duration: 1.000 ms  statement: SELECT 1\n")
    s = no_warning(read_postgres, path, prefix=prefix).statements
    assert s.select("pid", "application", "user", "database", "query").rows() == [
        (123, None, "app", "shop", "SELECT 1")
    ]


def test_head_captures_the_whole_head_and_the_message_is_the_rest() -> None:
    head = compile_prefix("%m [%p] %q%u@%d ").head
    line = "2026-12-03 08:33:23.080 UTC [16089] app@shop LOG:  duration: 1.000 ms  x:  y"
    m = re.match(head, line)
    assert m is not None
    assert m["_head"] == "2026-12-03 08:33:23.080 UTC [16089] app@shop LOG:  "
    assert line.removeprefix(m["_head"]) == "duration: 1.000 ms  x:  y"
    assert (m["pid"], m["user"], m["database"], m["level"]) == ("16089", "app", "shop", "LOG")
    assert "message" not in m.groupdict()
    # polars (Rust regex) reads it the same
    row = pl.Series([line]).str.extract_groups(head).struct.unnest().row(0, named=True)
    assert row == {k: v for k, v in m.groupdict().items()}


@pytest.mark.parametrize(
    ("prefix", "line", "user", "database"),
    [
        ("%u %d ", "bob shop LOG:  x", "bob", "shop"),  # a space ends a name too
        ("%u,%d ", "bob,shop LOG:  x", "bob", "shop"),
        ("user=%u db=%d ", "user=bob db=shop LOG:  x", "bob", "shop"),
    ],
)
def test_a_name_ends_at_the_literal_that_follows_it(
    prefix: str, line: str, user: str, database: str
) -> None:
    got = fields(prefix, line)
    assert (got["user"], got["database"], got["message"]) == (user, database, "x")


def test_the_reader_strips_the_padding_of_a_name_before_a_literal(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text("bob       @shop LOG:  duration: 1.000 ms  statement: SELECT 1\n")
    s = no_warning(read_postgres, path, prefix="%-10u@%d ").statements
    assert s.select("user", "database", "query").rows() == [("bob", "shop", "SELECT 1")]


def test_padding_of_a_name_before_a_literal_is_not_part_of_the_value() -> None:
    got = fields("%-10u@%d ", "bob       @shop LOG:  x")
    assert (got["user"], got["database"]) == ("bob", "shop")


# ---------------------------------------------------------------------------------------
# the property: prefix + "LOG:  " + message parses back


SEPARATORS = [" ", "@", ",", ":", "|", " [", "] ", "]: ", " app=", ",db=", ";", "=", "/"]
# what may follow a time (%t %m %s): not a character a zone name could go on with
TIME_SEPARATORS = [s for s in SEPARATORS if s[0] not in "/"]
TEXT = {"a", "u", "d", "b", "i"}
ZONES = {"UTC": 0, "CET": 60, "CEST": 120, "+05:30": 330, "-03": -180, "EST": -300}
T0 = datetime(2001, 1, 1)


@dataclass
class Case:
    prefix: str  # the log_line_prefix
    line: str  # one session line: prefix + "LOG:  " + message
    background: str | None  # the same with only the part before %q (when there is one)
    values: dict[str, str]  # group → the value of its first escape
    head_groups: set[str]  # groups before %q
    message: str
    utc: datetime | None  # the time the reader should give


def _allowed(esc: str, value: str, after: str) -> bool:
    """Whether ``value`` can be told apart from the literal ``after`` that follows it."""
    if esc in ("u", "d") and not after[0].isspace() and after[0] in value:
        return False  # documented: a name ends at the literal character that follows it
    return (value + after).find(after) == len(value)


def _text_values(esc: str) -> st.SearchStrategy[str]:
    chars = st.sampled_from("abcxyzABC019_-. " if esc in ("a", "b", "i") else "abcxyz019_-.$")
    word = st.text(chars, min_size=1, max_size=12).map(str.strip).filter(bool)
    return st.one_of(word, st.just(""), st.just("[unknown]"))


def _stamp(draw: st.DrawFn, millis: bool) -> tuple[str, datetime]:
    local = T0 + timedelta(seconds=draw(st.integers(0, 30 * 365 * 86400)))
    ms = draw(st.integers(0, 999)) if millis else 0
    zone = draw(st.sampled_from(sorted(ZONES)))
    text = local.strftime("%Y-%m-%d %H:%M:%S") + (f".{ms:03d}" if millis else "") + " " + zone
    at = (local + timedelta(milliseconds=ms) - timedelta(minutes=ZONES[zone])).replace(tzinfo=UTC)
    return text, at


def _value(draw: st.DrawFn, esc: str, after: str) -> tuple[str, datetime | None]:
    if esc in TEXT:
        return draw(_text_values(esc).filter(lambda v: _allowed(esc, v, after))), None
    if esc in ("t", "m", "s"):
        return _stamp(draw, esc == "m")
    if esc == "n":
        secs = draw(st.integers(946684800, 1900000000))
        ms = draw(st.integers(0, 999))
        return f"{secs}.{ms:03d}", datetime.fromtimestamp(secs, UTC) + timedelta(milliseconds=ms)
    if esc == "r":
        host = draw(st.sampled_from(["127.0.0.1", "10.0.0.5", "db.example.com", "::1"]))
        return draw(st.sampled_from(["[local]", f"{host}({draw(st.integers(1, 65535))})"])), None
    if esc == "h":
        return draw(st.sampled_from(["[local]", "127.0.0.1", "10.0.0.5", "web-1.example"])), None
    number = st.integers(1, 4_194_304).map(str)
    simple = {
        "p": number,
        "P": st.one_of(st.just(""), number),
        "e": st.sampled_from(["00000", "40P01", "23505", "42601", "57014"]),
        "c": st.tuples(st.integers(1, 2**32 - 1), st.integers(1, 2**22)).map(
            lambda t: f"{t[0]:x}.{t[1]:x}"
        ),
        "l": number,
        "v": st.one_of(st.just(""), st.tuples(number, number).map("/".join)),
        "x": st.one_of(st.just("0"), number),
        # 0 (no query id) has a test of its own in test_read_stderr.py
        "Q": st.integers(-(2**63), 2**63 - 1).filter(bool).map(str),
    }
    return draw(simple[esc]), None


@st.composite
def cases(draw: st.DrawFn, *, pad: bool = False) -> Case:
    escapes = draw(st.lists(st.sampled_from(sorted(ESCAPES)), min_size=1, max_size=7))
    q_at = draw(st.none() | st.integers(1, len(escapes) - 1)) if len(escapes) > 1 else None
    lead = draw(st.sampled_from(["", "[", "<"]))
    prefix, line, head_line = lead, lead, lead
    values: dict[str, str] = {}
    head_groups: set[str] = set()
    stamp: datetime | None = None
    epoch: datetime | None = None
    drawn = []
    for esc in escapes:
        after = draw(st.sampled_from(TIME_SEPARATORS if esc in "tms" else SEPARATORS))
        drawn.append((esc, after, *_value(draw, esc, after)))
    for i, (esc, after, value, at) in enumerate(drawn):
        # padding: times keep \s* round them (their width is fixed), every other field
        # takes exactly its width, so an empty field after it cannot shift the rest
        paddable = pad and esc not in "tms"
        width = draw(st.integers(-12, 12)) if paddable else 0
        shown = value.ljust(-width) if width < 0 else value.rjust(width)
        if (shown + after).find(after) != len(shown):
            # the padding makes the separator appear inside the field ('[unknown] ' + '] '):
            # as for an unpadded value (_allowed), the line is ambiguous
            width, shown = 0, value
        token = f"%{width}{esc}" if width else f"%{esc}"
        if i == q_at:
            prefix += "%q"
        prefix += token + after
        line += shown + after
        if q_at is None or i < q_at:
            head_line += shown + after
        group = ESCAPES[esc][0]
        if group not in values:
            values[group] = value
            if q_at is None or i < q_at:
                head_groups.add(group)
            if esc in ("t", "m"):
                stamp = at
            elif esc == "n":
                epoch = at
    message = draw(st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=40))
    return Case(
        prefix=prefix,
        line=line + "LOG:  " + message,
        background=head_line + "LOG:  " + message if q_at is not None else None,
        values=values,
        head_groups=head_groups,
        message=message,
        utc=stamp if stamp is not None else epoch,
    )


def _check_match(prefix: str, line: str, expected: dict[str, str | None], message: str) -> None:
    p = compile_prefix(prefix)
    m = re.match(p.pattern, line)
    assert m is not None, (p.pattern, line)
    got = unpadded(m.groupdict(), p.padded)
    assert {k: got[k] for k in expected} == expected
    assert (got["level"], got["message"]) == ("LOG", message)
    # polars (Rust regex) reads it the same: the reader runs the pattern in polars
    row = pl.Series([line]).str.extract_groups(p.pattern).struct.unnest().row(0, named=True)
    row = unpadded(row, p.padded)
    assert {k: row[k] for k in expected} == expected
    assert (row["level"], row["message"]) == ("LOG", message)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_lines_parse_back_to_their_fields(case: Case) -> None:
    _check_match(case.prefix, case.line, dict(case.values), case.message)
    if case.background is not None:  # a background process: only the part before %q
        expected = {k: (v if k in case.head_groups else None) for k, v in case.values.items()}
        _check_match(case.prefix, case.background, expected, case.message)


@settings(max_examples=300, deadline=None)
@given(cases(pad=True))
def test_padded_lines_parse_back_to_their_fields(case: Case) -> None:
    _check_match(case.prefix, case.line, dict(case.values), case.message)


def _reader_expectation(case: Case) -> dict[str, object]:
    v = case.values

    def text(name: str) -> str | None:
        value = v.get(name)
        return None if value in (None, "", "[unknown]") else value

    client = text("client")
    return {
        "timestamp": case.utc,
        "pid": int(v["pid"]) if "pid" in v else None,
        "user": text("user"),
        "database": text("database"),
        "application": text("application"),
        "client": re.sub(r"\(\d+\)$", "", client) if client else None,
        # without a session id (%c) the process id stands for the session
        "session": v.get("session") or v.get("pid"),
        "query_id": int(v["query_id"]) if "query_id" in v else None,
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases(), st.integers(0, 10**6))
def test_the_reader_gives_the_fields_of_a_statement_line(case: Case, n: int) -> None:
    sql = f"SELECT id FROM users WHERE id = {n}"
    head = case.line.removesuffix(case.message)
    line = head + f"duration: 1.250 ms  statement: {sql}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "postgresql.log"
        path.write_text(line + "\n", encoding="utf-8")
        log = no_warning(read_postgres, path, prefix=case.prefix)
    assert log.statements.height == 1
    row = log.statements.row(0, named=True)
    assert (row["query"], row["duration_ms"], row["line"]) == (sql, 1.25, 1)
    expected = _reader_expectation(case)
    assert {k: row[k] for k in expected} == expected


def test_epoch_times_are_exact(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text("1088478705.666 [7] LOG:  duration: 2.000 ms  statement: SELECT 1\n")
    s = read_postgres(path, prefix="%n [%p] ").statements
    assert s["timestamp"][0] == datetime(2004, 6, 29, 3, 11, 45, 666000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("prefix", "line", "application"),
    [
        ("%m [%p] %q%u@%d app=%a ", "2026-12-03 08:00:00.000 UTC [7] app@shop app=etl:  nightly ",
         "etl:  nightly"),
        ("%m [%p]: %a ", "2026-12-03 08:00:00.000 UTC [7]:  ", None),  # no application_name
    ],
)  # fmt: skip
def test_a_colon_and_two_spaces_in_the_prefix_part_keeps_the_message(
    tmp_path: Path, prefix: str, line: str, application: str | None
) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text(line + "LOG:  duration: 2.000 ms  statement: SELECT 1\n")
    s = read_quietly(read_postgres, path, prefix=prefix).statements
    assert s.select("application", "query").rows() == [(application, "SELECT 1")]

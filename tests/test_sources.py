"""Tests for perflab.sources: the file plumbing every reader stands on.

What a user of any reader would notice: a gzip file is read whatever its name, a cut
gzip names the line it stops in, encodings are checked line by line, bad lines are
counted and described (the first few), and every line number points at the file.
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
import zlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perflab.errors import BadLines, InputError, InputWarning, SchemaError
from perflab.sources import (
    NOT_UTF8,
    Source,
    drop_bad,
    drop_blank_rows,
    line_of,
    load_csv,
    load_ndjson,
    no_line,
    parse_numbers,
)
from tests.strategies import csv_tables

BOM = b"\xef\xbb\xbf"
ROWS = b"".join(b"%d,%d\n" % (i, i * i) for i in range(5000))
TABLE = b"a,b\n" + ROWS  # 5001 lines: the header, then row i on line i + 2


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def warnings_of(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call fn, return (result, messages of the InputWarnings it gave)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


def lines(where, n: int) -> list[int | None]:  # type: ignore[no-untyped-def]
    return [where(i) for i in range(n)]


# ---------------------------------------------------------------------------------------
# Source: gzip, suffixes, text


@pytest.mark.parametrize("name", ["m.csv.gz", "m.csv", "m.CSV.GZ", "m.csv.gzip-backup.csv"])
def test_gzip_is_recognised_by_its_bytes_whatever_the_name(tmp_path: Path, name: str) -> None:
    src = Source(write(tmp_path / name, gzip.compress(b"a,b\n1,2\n")))
    assert src.gzipped
    assert src.suffix == ".csv"
    assert src.text() == "a,b\n1,2\n"


def test_a_gz_name_is_looked_through_for_the_format_and_the_stem(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "scrape.prom.gz", gzip.compress(b"up 1\n")))
    assert (src.suffix, src.stem) == (".prom", "scrape")
    plain = Source(write(tmp_path / "scrape.prom", b"up 1\n"))
    assert (plain.suffix, plain.stem, plain.gzipped) == (".prom", "scrape", False)


def test_a_gz_name_on_data_that_is_not_gzip_is_an_input_error(tmp_path: Path) -> None:
    p = write(tmp_path / "m.csv.gz", b"a,b\n1,2\n")
    with pytest.raises(InputError, match=r"named \.gz but not gzip data") as info:
        Source(p)
    assert info.value.source == str(p) and info.value.line is None


def test_an_empty_gz_file_is_blank_not_an_error(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.csv.gz", b""))
    assert src.suffix == ".csv" and src.is_blank() and src.text() == ""


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        Source(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="no such file"):
        Source(tmp_path)  # a directory is not a file


def test_every_member_of_a_multi_member_gzip_is_read(tmp_path: Path) -> None:
    # `cat a.gz b.gz > c.gz` and log rotation with append both make these.
    data = gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n") + gzip.compress(b"5,6\n")
    src = Source(write(tmp_path / "m.csv.gz", data))
    assert src.data() == b"a,b\n1,2\n3,4\n5,6\n"
    assert src.open().read() == src.data()
    df, _ = load_csv(src)
    assert df.rows() == [("1", "2"), ("3", "4"), ("5", "6")]


def _cut_gzip(tmp_path: Path) -> Path:
    packed = gzip.compress(TABLE)
    return write(tmp_path / "cut.csv.gz", packed[: len(packed) // 2])


def test_a_cut_gzip_raises_naming_the_line_it_stops_in(tmp_path: Path) -> None:
    p = _cut_gzip(tmp_path)
    with pytest.raises(InputError, match="gzip data cut short: the file is truncated") as info:
        Source(p).data()
    assert "errors='skip'" in str(info.value)  # says how to read what there is
    kept = Source(p, "skip").data()
    assert info.value.line == kept.count(b"\n") + 1


def test_a_cut_gzip_in_skip_mode_keeps_the_whole_lines_and_counts_the_loss(
    tmp_path: Path,
) -> None:
    src = Source(_cut_gzip(tmp_path), "skip")
    data = src.data()
    assert 0 < len(data) < len(TABLE)
    assert TABLE.startswith(data) and data.endswith(b"\n")  # no half line passes for whole
    assert src.bad.count == 1
    (line, reason), *_ = src.bad.examples
    assert line == data.count(b"\n") + 1 and "the lines before it are read" in reason
    df, where = load_csv(src)
    assert df["a"].to_list() == [str(i) for i in range(df.height)]
    assert where(df.height - 1) == df.height + 1
    _, messages = warnings_of(src.finish, df, "nothing")
    assert len(messages) == 1 and "skipped 1 unreadable line(s)" in messages[0]


def test_corrupt_gzip_data_is_reported(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(TABLE))
    packed[200:220] = bytes(20)
    with pytest.raises(InputError, match="gzip data is corrupt"):
        Source(write(tmp_path / "bad.csv.gz", bytes(packed))).data()


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_leading_bom_is_dropped(tmp_path: Path, gz: bool) -> None:
    data = BOM + b"a,b\n1,2\n"
    src = Source(write(tmp_path / "m.csv", gzip.compress(data) if gz else data))
    assert src.text() == "a,b\n1,2\n"
    assert pl.read_csv(src.handle()).columns == ["a", "b"]
    df, _ = load_csv(src)
    assert df.columns == ["a", "b"]


def test_text_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.csv", b"a,city\n1,Paris\n2,Z\xfcrich\n"))
    with pytest.raises(InputError, match="not UTF-8") as info:
        src.text()
    assert info.value.line == 3
    assert NOT_UTF8 in str(info.value)


def test_head_reads_the_start_without_reading_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cut gzip: reading it all would count a bad line; its head is fine.
    src = Source(_cut_gzip(tmp_path))
    plain = Source(write(tmp_path / "big.csv", TABLE))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read the whole file"))
    assert src.head(100) == TABLE[:100]
    assert src.head() == TABLE[:4096]
    assert plain.head(10) == TABLE[:10]
    assert src.bad.count == 0


def test_open_streams_the_gunzipped_bytes(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.csv.gz", gzip.compress(BOM + TABLE)))
    with src.open() as fh:
        assert fh.read(3) == BOM  # a stream keeps the BOM; its reader decides
        first = fh.readline()
        assert first == b"a,b\n"
        assert sum(1 for _ in fh) == 5000
    with Source(write(tmp_path / "p.csv", TABLE)).open() as fh:
        assert fh.read() == TABLE


def test_open_on_a_cut_gzip_fails_at_the_end_not_the_start(tmp_path: Path) -> None:
    with Source(_cut_gzip(tmp_path)).open() as fh:
        assert fh.readline() == b"a,b\n"
        with pytest.raises(EOFError):
            fh.read()


@pytest.mark.parametrize(
    ("content", "blank"),
    [
        (b"", True),
        (b"\n \r\n\t", True),
        (BOM, True),
        (BOM + b"\n\n", True),
        (b"\n\nx", False),
        (b"a,b\n", False),
    ],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_is_blank(tmp_path: Path, content: bytes, blank: bool, gz: bool) -> None:
    src = Source(write(tmp_path / "f.csv", gzip.compress(content) if gz else content))
    assert src.is_blank() is blank


def test_a_long_file_of_blank_lines_is_blank(tmp_path: Path) -> None:
    assert Source(write(tmp_path / "f.csv", b"\n" * 5000)).is_blank()


# ---------------------------------------------------------------------------------------
# Source.finish: never an empty frame without a reason


EMPTY = pl.DataFrame({"a": []}, schema={"a": pl.String})


def test_finish_warns_once_for_a_file_with_content_and_no_rows(tmp_path: Path) -> None:
    p = write(tmp_path / "h.csv", b"a,b\n")
    out, messages = warnings_of(Source(p).finish, EMPTY, "a header but no rows", what="rows")
    assert out is EMPTY
    assert messages == [f"{p}: no rows: a header but no rows"]


@pytest.mark.parametrize("content", [b"", b"\n\n", BOM])
def test_finish_is_quiet_for_a_blank_file(tmp_path: Path, content: bytes) -> None:
    _, messages = warnings_of(Source(write(tmp_path / "b.csv", content)).finish, EMPTY, "why")
    assert messages == []


def test_finish_is_quiet_when_rows_came_back(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.csv", b"a\n1\n"))
    _, messages = warnings_of(src.finish, pl.DataFrame({"a": ["1"]}), "why")
    assert messages == []


def test_finish_does_not_say_it_twice_after_a_warning(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.prom", b"up NaN\n"))
    _, messages = warnings_of(src.warn, "dropped 1 NaN sample(s)")
    assert messages == [f"{src.name}: dropped 1 NaN sample(s)"]
    _, messages = warnings_of(src.finish, EMPTY, "only NaN")
    assert messages == []


def test_finish_gives_one_warning_when_every_line_was_skipped(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.csv", b"a\nx\ny\n"), "skip")
    src.bad.add(2, "bad x")
    src.bad.add(3, "bad y")
    _, messages = warnings_of(src.finish, EMPTY, "no rows left")
    assert len(messages) == 1 and "skipped 2 unreadable line(s)" in messages[0]


# ---------------------------------------------------------------------------------------
# drop_bad, drop_blank_rows, line_of


def _frame_with_bad_rows() -> tuple[pl.DataFrame, pl.Series]:
    df = pl.DataFrame({"v": ["1", "x1", "2", "x2", "x3", "x4", "3", "x5"]})
    return df, df["v"].str.starts_with("x")


def test_drop_bad_describes_the_first_three_and_counts_the_rest() -> None:
    df, mask = _frame_with_bad_rows()
    bad = BadLines("m.csv", "skip")
    asked: list[int] = []

    def why(i: int) -> str:
        asked.append(i)
        return f"{df['v'][i]!r} is not a number"

    out = drop_bad(df, mask, bad, lambda i: i + 2, why)
    assert out["v"].to_list() == ["1", "2", "3"]
    assert bad.count == 5
    assert bad.examples == [
        (3, "'x1' is not a number"),
        (5, "'x2' is not a number"),
        (6, "'x3' is not a number"),
    ]
    assert asked == [1, 3, 4]  # the reasons of the rest are never built
    _, messages = warnings_of(bad.finish)
    assert messages[0].startswith("m.csv: skipped 5 unreadable line(s); first: line 3: 'x1'")


def test_drop_bad_raises_on_the_first_bad_row_in_raise_mode() -> None:
    df, mask = _frame_with_bad_rows()
    with pytest.raises(InputError, match=r"^m\.csv:3: bad$"):
        drop_bad(df, mask, BadLines("m.csv"), lambda i: i + 2, lambda i: "bad")


def test_drop_bad_names_the_row_when_there_is_no_line() -> None:
    df, mask = _frame_with_bad_rows()
    with pytest.raises(InputError, match=r"^m\.parquet: row 2: bad$") as info:
        drop_bad(df, mask, BadLines("m.parquet"), no_line, lambda i: "bad")
    assert info.value.line is None


def test_drop_bad_with_nothing_bad_or_a_null_mask_keeps_every_row() -> None:
    df = pl.DataFrame({"v": [1, 2, 3]})
    bad = BadLines("m.csv")
    mask = pl.Series([None, False, None], dtype=pl.Boolean)
    assert drop_bad(df, mask, bad, lambda i: i + 2, lambda i: "bad").height == 3
    assert bad.count == 0


def test_drop_blank_rows_keeps_each_row_on_its_line() -> None:
    raw = pl.DataFrame({"a": ["1", None, "3", None, None], "b": ["x", None, None, None, "y"]})
    df, where = drop_blank_rows(raw, lambda i: i + 2)
    assert df.rows() == [("1", "x"), ("3", None), (None, "y")]  # half-empty rows stay
    assert lines(where, df.height) == [2, 4, 6]
    same, where2 = drop_blank_rows(df, lambda i: i + 10)
    assert same is df and where2(0) == 10


def test_line_of() -> None:
    assert [line_of(b"ab\ncd\n\nef", i) for i in (0, 2, 3, 6, 7)] == [1, 1, 2, 3, 4]


# ---------------------------------------------------------------------------------------
# parse_numbers


def test_parse_numbers_reads_text_with_blanks_and_leaves_the_rest_null() -> None:
    raw = pl.Series("v", ["1", " 2.5 ", "\t-3e2\n", "n/a", "", None, "NaN", "-inf", "1,5"])
    got = parse_numbers(raw).to_list()
    assert got[:6] == [1.0, 2.5, -300.0, None, None, None]
    assert got[6] != got[6]  # NaN: a reader decides whether it is allowed
    assert got[7] == float("-inf")
    assert got[8] is None  # a decimal comma is not guessed


@pytest.mark.parametrize(
    "raw",
    [
        pl.Series("v", [1, 2, None], dtype=pl.Int64),
        pl.Series("v", [1, 2, None], dtype=pl.UInt8),
        pl.Series("v", [1.0, 2.0, None], dtype=pl.Float32),
    ],
)
def test_parse_numbers_takes_any_numeric_column(raw: pl.Series) -> None:
    out = parse_numbers(raw)
    assert out.dtype == pl.Float64 and out.to_list() == [1.0, 2.0, None]


def test_parse_numbers_of_a_null_column_is_all_null() -> None:
    assert parse_numbers(pl.Series("v", [None, None])).to_list() == [None, None]


@pytest.mark.parametrize(
    "raw", [pl.Series("value", [[1.0], [2.0]]), pl.Series("value", [True, False])]
)
def test_parse_numbers_refuses_other_types_naming_the_column(raw: pl.Series) -> None:
    with pytest.raises(SchemaError, match=r"^metrics: mistyped column\(s\) 'value'") as info:
        parse_numbers(raw, what="metrics")
    assert info.value.mistyped[0][:2] == ("value", "number")


# ---------------------------------------------------------------------------------------
# load_csv


def test_load_csv_reads_every_column_as_text_with_rows_on_their_lines(tmp_path: Path) -> None:
    df, where = load_csv(Source(write(tmp_path / "m.csv", b"host,code\n01,007\nweb,1.50\n")))
    assert df.schema == {"host": pl.String, "code": pl.String}
    assert df.rows() == [("01", "007"), ("web", "1.50")]
    assert lines(where, 2) == [2, 3]


def test_load_csv_reads_tab_separated(tmp_path: Path) -> None:
    df, _ = load_csv(Source(write(tmp_path / "m.tsv", b"a\tb\n1,5\t2\n")), "\t")
    assert df.rows() == [("1,5", "2")]


def test_a_row_with_too_many_fields(tmp_path: Path) -> None:
    p = write(tmp_path / "m.csv", b"a,b\n1,2\n3,4,5\n6,7\n8,9\n")
    with pytest.raises(InputError, match="3 fields where the header has 2") as info:
        load_csv(Source(p))
    assert info.value.line == 3
    src = Source(p, "skip")
    df, where = load_csv(src)
    assert df.rows() == [("1", "2"), ("6", "7"), ("8", "9")]
    assert lines(where, 3) == [2, 4, 5]
    assert src.bad.count == 1


def test_many_bad_rows_describe_three_and_count_all(tmp_path: Path) -> None:
    body = b"".join(b"1,2,3\n" if i % 2 else b"%d,2\n" % i for i in range(20))
    src = Source(write(tmp_path / "m.csv", b"a,b\n" + body), "skip")
    df, where = load_csv(src)
    assert df["a"].to_list() == [str(i) for i in range(0, 20, 2)]
    assert lines(where, df.height) == list(range(2, 22, 2))
    assert src.bad.count == 10
    assert [line for line, _ in src.bad.examples] == [3, 5, 7]


def test_a_malformed_quote_names_its_line_and_the_rest_is_read(tmp_path: Path) -> None:
    p = write(tmp_path / "m.csv", b'a,b\n1,2\n3,"4"x\n5,6\n')
    with pytest.raises(InputError, match="malformed CSV") as info:
        load_csv(Source(p))
    assert info.value.line == 3
    src = Source(p, "skip")
    df, where = load_csv(src)
    assert df.rows() == [("1", "2"), ("5", "6")]
    assert lines(where, 2) == [2, 4]


def test_a_quote_left_open_at_the_end_is_the_last_line(tmp_path: Path) -> None:
    p = write(tmp_path / "m.csv", b'a,b\n1,2\n3,4\n"5,6\n')
    with pytest.raises(InputError, match="malformed CSV: unexpected end of data") as info:
        load_csv(Source(p))
    assert info.value.line == 4
    df, _ = load_csv(Source(p, "skip"))
    assert df.rows() == [("1", "2"), ("3", "4")]


def test_a_quote_left_open_mid_file_names_its_line_and_skip_reads_the_rest(
    tmp_path: Path,
) -> None:
    p = write(tmp_path / "m.csv", b'a,b\n1,2\n"3,4\n5,6\n')
    with pytest.raises(InputError) as info:
        load_csv(Source(p))
    assert info.value.line == 3
    df, _ = load_csv(Source(p, "skip"))
    assert df.rows() == [("1", "2"), ("5", "6")]


def test_a_line_that_is_not_utf8_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    p = write(tmp_path / "m.csv", b"a,city\n1,Paris\n2,Z\xfcrich\n3,Bern\n4,G\xe9n\xe8ve\n5,Chur\n")
    with pytest.raises(InputError, match="not UTF-8") as info:
        load_csv(Source(p))
    assert info.value.line == 3
    src = Source(p, "skip")
    df, where = load_csv(src)
    assert df["city"].to_list() == ["Paris", "Bern", "Chur"]
    assert lines(where, 3) == [2, 4, 6]
    assert src.bad.examples == [(3, NOT_UTF8), (5, NOT_UTF8)]


def test_bad_lines_of_several_kinds_and_blank_lines_keep_the_numbering(tmp_path: Path) -> None:
    data = b'a,b\n1,2\n\n3,\xff\n4,5,6\n7,8\n8,"9"!\n'
    src = Source(write(tmp_path / "m.csv", data), "skip")
    raw, where = load_csv(src)
    df, where = drop_blank_rows(raw, where)
    assert df.rows() == [("1", "2"), ("7", "8")]
    assert lines(where, 2) == [2, 6]
    assert [line for line, _ in src.bad.examples] == [4, 5, 7]


def test_a_short_row_is_read_with_nulls_when_no_other_line_is_bad(tmp_path: Path) -> None:
    # As documented: polars pads the row; a reader needing the field reports it missing.
    df, _ = load_csv(Source(write(tmp_path / "m.csv", b"a,b,c\n1,2,3\n4,5\n")))
    assert df.rows() == [("1", "2", "3"), ("4", "5", None)]


def test_a_header_that_is_not_utf8_names_line_1(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not UTF-8") as info:
        load_csv(Source(write(tmp_path / "m.csv", b"name,h\xf4te\nx,a\n")))
    assert info.value.line == 1


def test_a_quoted_header_name_is_unescaped(tmp_path: Path) -> None:
    df, _ = load_csv(Source(write(tmp_path / "m.csv", b'"a ""b""",c\n1,2\n')))
    assert df.columns == ['a "b"', "c"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=csv_tables(),
    bad_at=st.lists(st.integers(0, 15), max_size=4),
    gz=st.booleans(),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_any_table_written_as_csv_reads_back_with_its_lines(
    tmp_path: Path,
    table: tuple[list[str], list[list[str]]],
    bad_at: list[int],
    gz: bool,
    bom: bool,
    crlf: bool,
) -> None:
    """Whatever the cells hold (quotes, commas, any script), gzipped or not, with a BOM
    or CRLF, and with rows of the wrong width among them: the good rows come back as
    written, each on the line it was written on, and every bad row is counted."""
    header, rows = table
    records: list[list[str]] = [header]
    good: list[tuple[int, list[str]]] = []
    for i, row in enumerate(rows):
        if i in bad_at:
            records.append([*row, "extra"])
        records.append(row)
        good.append((len(records), row))
    n_bad = len(records) - 1 - len(rows)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows(records)
    data = (BOM if bom else b"") + buf.getvalue().encode()
    p = write(tmp_path / "t.csv", gzip.compress(data) if gz else data)
    src = Source(p, "skip")
    df, where = load_csv(src)
    assert df.columns == header
    assert [list(r) for r in df.rows()] == [row for _, row in good]
    assert lines(where, df.height) == [line for line, _ in good]
    assert src.bad.count == n_bad


def test_a_quoted_field_holding_newlines_keeps_each_row_on_the_line_it_starts_on(
    tmp_path: Path,
) -> None:
    # JMeter's responseMessage / failureMessage may hold newlines
    data = b'a,b\n1,"two\nlines"\n2,x\n3,"three\r\n""quoted""\nlines"\n\n4,y\n'
    df, where = load_csv(Source(write(tmp_path / "m.csv", data)))
    assert df["b"].to_list() == ["two\nlines", "x", 'three\r\n"quoted"\nlines', None, "y"]
    assert lines(where, df.height + 1) == [2, 4, 5, 8, 9, None]


def test_a_reader_names_the_line_of_a_bad_row_after_a_multiline_field(tmp_path: Path) -> None:
    from perflab.loadtest import read_jmeter

    p = write(
        tmp_path / "r.jtl",
        b"timeStamp,elapsed,label,responseCode,responseMessage,success\n"
        b"1700000000000,12,home,200,OK,true\n"
        b'1700000000100,5,api,500,"Internal\nServer Error",false\n'
        b"1700000000200,7,api,200,OK,true\n"
        b"1700000000300,abc,api,200,OK,true\n",
    )
    with pytest.raises(InputError, match="abc") as info:
        read_jmeter(p)
    assert info.value.line == 6


def test_blank_lines_before_the_header_are_counted(tmp_path: Path) -> None:
    for body in (b"1,2\n3,4\n", b'1,"x\ny"\n3,4\n'):
        df, where = load_csv(Source(write(tmp_path / "m.csv", b"\r\n\na,b\n" + body)))
        assert df.columns == ["a", "b"]
        assert lines(where, 2)[0] == 4
    assert lines(where, 2) == [4, 6]


def test_bad_lines_after_a_multiline_field_name_their_lines_and_keep_the_numbering(
    tmp_path: Path,
) -> None:
    data = b'a,b\n1,"x\ny"\n2,3,4\n5,"p\nq\nr"\n6,\xff\n7,8\n9,"u\nv",extra\n10,11\n'
    with pytest.raises(InputError, match="3 fields") as info:
        load_csv(Source(write(tmp_path / "m.csv", data)))
    assert info.value.line == 4
    src = Source(write(tmp_path / "m.csv", data), "skip")
    df, where = load_csv(src)
    assert df.rows() == [("1", "x\ny"), ("5", "p\nq\nr"), ("7", "8"), ("10", "11")]
    assert lines(where, df.height) == [2, 5, 9, 12]
    # a record with too many fields is named by the line it starts on, and all of it goes
    assert [line for line, _ in src.bad.examples] == [4, 8, 10]
    assert src.bad.count == 3


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=csv_tables(),
    breaks=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 3)), max_size=6),
    bad_at=st.lists(st.integers(0, 15), max_size=3),
    crlf=st.booleans(),
)
def test_rows_with_newlines_in_their_cells_read_back_on_the_lines_they_start_on(
    tmp_path: Path,
    table: tuple[list[str], list[list[str]]],
    breaks: list[tuple[int, int]],
    bad_at: list[int],
    crlf: bool,
) -> None:
    header, rows = table
    rows = [list(r) for r in rows]
    for r, c in breaks:  # a newline in some cells (quoted by the csv writer)
        if r < len(rows):
            rows[r][c % len(header)] += "\nmore"
    records: list[list[str]] = [header]
    good: list[tuple[int, list[str]]] = []
    line = 2
    for i, row in enumerate(rows):
        if i in bad_at:
            records.append([*row, "extra"])
            line += 1 + sum(cell.count("\n") for cell in row)
        records.append(row)
        good.append((line, row))
        line += 1 + sum(cell.count("\n") for cell in row)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows(records)
    src = Source(write(tmp_path / "t.csv", buf.getvalue().encode()), "skip")
    df, where = load_csv(src)
    assert [list(r) for r in df.rows()] == [row for _, row in good]
    assert lines(where, df.height) == [line for line, _ in good]
    assert src.bad.count == len(records) - 1 - len(rows)


# ---------------------------------------------------------------------------------------
# load_ndjson


def test_load_ndjson_keeps_json_text_and_physical_lines(tmp_path: Path) -> None:
    data = b'{"a": 1, "b": "x"}\n\n\n{"a": 2.5}\r\n{"b": true}\n'
    df, where = load_ndjson(Source(write(tmp_path / "m.jsonl", data)))
    assert df.schema == {"a": pl.String, "b": pl.String}
    assert df.rows() == [("1", "x"), ("2.5", None), (None, "true")]
    assert lines(where, 3) == [1, 4, 5]


def test_load_ndjson_numbers_become_polars_text_as_documented(tmp_path: Path) -> None:
    data = b'{"version": 1.10}\n{"version": "1.10"}\n{"version": 1e3}\n'
    df, _ = load_ndjson(Source(write(tmp_path / "m.jsonl", data)))
    assert df["version"].to_list() == ["1.1", "1.10", "1000"]  # a JSON string stays exact


def test_load_ndjson_bad_lines_are_named_and_skipped(tmp_path: Path) -> None:
    data = b'{"a": 1}\n\nnot json\n{"a": 3}\n\n[1]\n{"a": NaN}\n{"a": "Z\xfcrich"}\n{"a": 5}\n'
    p = write(tmp_path / "m.jsonl", data)
    with pytest.raises(InputError, match="not valid JSON") as info:
        load_ndjson(Source(p))
    assert info.value.line == 3
    src = Source(p, "skip")
    df, where = load_ndjson(src)
    assert df["a"].to_list() == ["1", "3", "5"]
    assert lines(where, 3) == [1, 4, 9]
    assert src.bad.count == 4
    assert src.bad.examples[1:] == [
        (6, "not a JSON object"),
        (7, "not valid JSON: NaN is not JSON"),
    ]


def test_load_ndjson_of_only_bad_lines_is_an_empty_frame(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.jsonl", b"oops\n[]\n"), "skip")
    df, where = load_ndjson(src)
    assert df.height == 0 and src.bad.count == 2 and where(0) is None


def test_load_ndjson_reads_gzip_and_bom(tmp_path: Path) -> None:
    p = write(tmp_path / "m.jsonl.gz", gzip.compress(BOM + b'{"a": 1}\n\n{"a": 2}\n'))
    df, where = load_ndjson(Source(p))
    assert df["a"].to_list() == ["1", "2"] and lines(where, 2) == [1, 3]


def test_load_ndjson_with_a_bom_and_a_bad_line_skips_it(tmp_path: Path) -> None:
    src = Source(write(tmp_path / "m.jsonl", BOM + b'{"a": 1}\nbad\n{"a": 2}\n'), "skip")
    df, _ = load_ndjson(src)
    assert df["a"].to_list() == ["1", "2"]


def test_chunks_of_a_truncated_gzip_keep_every_whole_line_before_the_cut(tmp_path) -> None:
    body = b"".join(b"line %d\n" % i for i in range(100_000))
    packed = gzip.compress(body)
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(packed[: len(packed) * 3 // 4])
    src = Source(cut, "skip")
    got = b"".join(src.chunks(1 << 16))
    # a decoder fed the same bytes reaches this far: nothing decoded is thrown away
    expect = zlib.decompressobj(wbits=31).decompress(packed[: len(packed) * 3 // 4])
    assert got == expect[: expect.rfind(b"\n") + 1] and got.count(b"\n") > 50_000
    assert src.bad.count == 1 and src.bad.examples[0][0] == got.count(b"\n") + 1
    with pytest.raises(InputError, match="truncated"):
        b"".join(Source(cut, "raise").chunks())
    # several members in one file are one stream; a whole file has no bad line
    two = tmp_path / "two.log.gz"
    two.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\nc\n"))
    whole = Source(two, "skip")
    assert b"".join(whole.chunks()) == b"a\nb\nc\n" and whole.bad.count == 0


def test_chunks_of_a_corrupt_gzip_keep_what_decodes_before_the_damage(tmp_path) -> None:
    body = b"".join(b"GET /api/items/%d 200\n" % i for i in range(200_000))
    packed = bytearray(gzip.compress(body))
    at = len(packed) * 6 // 10
    packed[at : at + 4096] = bytes(4096)
    bad = tmp_path / "bad.log.gz"
    bad.write_bytes(bytes(packed))
    src = Source(bad, "skip")
    got = b"".join(src.chunks())
    # everything before the damage is there (a decoder that lost the failing read's
    # output stopped megabytes earlier); what deflate made of the zeros may follow
    same = next((i for i, (a, b) in enumerate(zip(got, body, strict=False)) if a != b), len(got))
    assert same > 0.55 * len(body)
    assert src.bad.count == 1 and "corrupt" in src.bad.examples[0][1]

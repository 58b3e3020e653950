"""Tests for perflab.caching.read: every trace format, sniffing, and bad input.

The data (tests/caching/data/README.md): a Twitter-format sample (plain and zstd as
published), a recorder file, an oracleGeneral written by libCacheSim's own converter
and one written by perflab. libCacheSim (a test-only reference) reads what perflab
writes.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from perflab.caching._oracle import RECORD
from perflab.caching.read import (
    read_oracle_general,
    read_trace,
    sniff_format,
    write_oracle_general,
)
from perflab.caching.schema import TRACE
from perflab.errors import InputError, ParameterError, SchemaError
from tests.warned import no_warning, one_warning

DATA = Path(__file__).parent / "data"
TWITTER = DATA / "twitter.sample"
RECORDER = DATA / "recorder.csv"
LCS_ORACLE = DATA / "libcachesim.oracleGeneral"
LCS_SOURCE = DATA / "libcachesim_source.csv"
OUR_ORACLE = DATA / "perflab.oracleGeneral"

CSV = "timestamp,key,size,ttl,op\n0,a,10,,get\n1,b,20,60,set\n1,a,10,0,GET\n2,c,5,,delete\n"


def trace(**cols: list) -> pl.DataFrame:  # type: ignore[type-arg]
    """A TRACE frame: ttl null and op get unless given."""
    n = len(cols["timestamp"])
    cols.setdefault("ttl", [None] * n)
    cols.setdefault("op", ["get"] * n)
    return TRACE.validate(pl.DataFrame(cols).select(list(TRACE.columns)))


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        text = text.encode()
    if name.endswith(".gz"):
        text = gzip.compress(text)
    elif name.endswith(".zst"):
        text = zstandard.ZstdCompressor().compress(text)
    p.write_bytes(text)
    return p


def assert_trace(frame: pl.DataFrame, *, raw: bool = False) -> None:
    want = {**TRACE.columns, **({"raw_key": pl.String} if raw else {})}
    assert dict(frame.schema) == want


# ---------------------------------------------------------------------------------------
# csv and parquet


def test_csv_reads_every_column_and_folds_ops(tmp_path: Path) -> None:
    got = no_warning(read_trace, write(tmp_path, "t.csv", CSV), keep_keys=True)
    assert_trace(got, raw=True)
    assert got.rows() == [
        (0.0, 0, 10, None, "get", "a"),
        (1.0, 1, 20, 60.0, "set", "b"),
        (1.0, 0, 10, None, "get", "a"),  # ttl 0: no expiry
        (2.0, 2, 5, None, "delete", "c"),
    ]


def test_raw_key_only_when_asked(tmp_path: Path) -> None:
    assert "raw_key" not in read_trace(write(tmp_path, "t.csv", CSV)).columns


def test_columns_renames_the_users_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "ts,object,bytes,extra\n5,x,7,q\n6,y,8,r\n")
    got = read_trace(p, columns={"ts": "timestamp", "object": "key", "bytes": "size"})
    assert got.columns == list(TRACE.columns)  # extra columns are not kept
    assert got.rows() == [(5.0, 0, 7, None, "get"), (6.0, 1, 8, None, "get")]


def test_columns_must_name_trace_columns_and_file_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "ts,key,size\n5,x,7\n")
    with pytest.raises(ParameterError, match="TRACE columns"):
        read_trace(p, columns={"ts": "time"})
    with pytest.raises(SchemaError, match="'when'"):
        read_trace(p, columns={"when": "timestamp"})
    with pytest.raises(ParameterError, match="csv or parquet"):
        read_trace(TWITTER, columns={"ts": "timestamp"})


def test_a_trace_without_sizes_counts_objects(tmp_path: Path) -> None:
    got = read_trace(write(tmp_path, "t.csv", "timestamp,key\n0,a\n1,b\n"))
    assert got["size"].to_list() == [1, 1]


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"'timestamp'.*columns="):
        read_trace(write(tmp_path, "t.csv", "time,key,size\n0,a,1\n"), format="csv")


def test_iso_timestamps_become_epoch_seconds(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "t.csv",
        "timestamp,key,size\n2024-01-01T00:00:00Z,a,5\n2024-01-01T00:00:01.5Z,b,6\n",
    )
    assert read_trace(p)["timestamp"].to_list() == [1704067200.0, 1704067201.5]


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pl.DataFrame(
        {
            "timestamp": [0.0, 1.5, 2.0],
            "key": pl.Series([2**64 - 1, 5, 2**64 - 1], dtype=pl.UInt64),
            "size": [100, 20, 100],
            "op": ["get", "add", "get"],
        }
    ).write_parquet(p)
    got = no_warning(read_trace, p, keep_keys=True)
    assert_trace(got, raw=True)
    assert got["key"].to_list() == [0, 1, 0]
    assert got["raw_key"].to_list() == [str(2**64 - 1), "5", str(2**64 - 1)]
    assert got["op"].to_list() == ["get", "set", "get"]


def test_parquet_bad_rows_are_named_by_row(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pl.DataFrame({"timestamp": [0.0, 1.0], "key": ["a", "b"], "size": [1, -4]}).write_parquet(p)
    with pytest.raises(InputError, match=r"row 2: negative size"):
        read_trace(p)


def test_a_broken_parquet_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Parquet"):
        read_trace(write(tmp_path, "t.parquet", b"PAR1 not really"))


# ---------------------------------------------------------------------------------------
# recorder


def test_recorder_is_sniffed_and_read() -> None:
    """The file was written by the real Cache with Redis as L2 (data/README.md)."""
    assert sniff_format(RECORDER) == "recorder"
    got = no_warning(read_trace, RECORDER, keep_keys=True)
    assert_trace(got, raw=True)
    raw = pl.read_csv(RECORDER)
    l1 = raw.filter(pl.col("level") == "l1")
    assert got.height == l1.height == 12  # l2 rows repeat requests: left out
    assert got["raw_key"].to_list() == l1["key"].to_list()
    assert got["timestamp"].to_list() == l1["timestamp"].to_list()
    assert got["op"].to_list() == [
        "get",
        "get",
        "get",
        "set",
        "get",
        "get",
        "get",
        "delete",
        "get",
        "set",
        "get",
        "get",
    ]
    assert got["ttl"].to_list()[3] == 1800.0


def test_recorder_fills_missing_sizes_from_the_same_key() -> None:
    got = read_trace(RECORDER)
    # a miss takes the size of the L2 hit or set after it; cart:9 (never sized) 1
    assert got["size"].to_list() == [27, 27, 16, 16, 44, 16, 44, 38, 38, 38, 38, 1]


def test_recorder_size_rule_next_then_previous(tmp_path: Path) -> None:
    header = "timestamp,key,size,ttl,op,result,level,strategy\n"
    p = write(
        tmp_path,
        "r.csv",
        header
        + "1,k,,,get,miss,l1,s\n2,k,40,,set,set,l1,s\n3,k,,,delete,delete,l1,s\n"
        + "4,k,,,get,miss,l1,s\n5,k,50,,set,set,l1,s\n6,k,,,get,miss,l1,s\n",
    )
    assert read_trace(p)["size"].to_list() == [40, 40, 50, 50, 50, 50]


def test_recorder_rows_with_a_bad_size_are_bad(tmp_path: Path) -> None:
    header = "timestamp,key,size,ttl,op,result,level,strategy\n"
    p = write(tmp_path, "r.csv", header + "1,k,x,,get,hit,l1,s\n")
    with pytest.raises(InputError, match=r"r\.csv:2: size 'x' is not a number"):
        read_trace(p)


# ---------------------------------------------------------------------------------------
# twitter


def test_twitter_sample_is_sniffed_and_read() -> None:
    assert sniff_format(TWITTER) == "twitter"
    got = no_warning(read_trace, TWITTER, keep_keys=True)
    assert_trace(got, raw=True)
    raw = pl.read_csv(
        TWITTER, has_header=False, new_columns=["t", "k", "ks", "vs", "c", "op", "ttl"]
    )
    assert got.height == raw.height == 48
    assert got["size"].to_list() == (raw["ks"] + raw["vs"]).to_list()
    assert got["raw_key"].to_list() == raw["k"].to_list()
    folded = {"get": "get", "gets": "get", "set": "set", "add": "set", "cas": "set"}
    folded |= {"incr": "set", "delete": "delete"}
    assert got["op"].to_list() == [folded[o] for o in raw["op"]]
    ttl = [None if t == 0 else float(t) for t in raw["ttl"]]
    assert got["ttl"].to_list() == ttl


def test_twitter_zstd_as_published_reads_the_same() -> None:
    assert sniff_format(DATA / "twitter.sample.zst") == "twitter"
    assert_frame_equal(read_trace(DATA / "twitter.sample.zst"), read_trace(TWITTER))


def test_twitter_line_with_too_many_fields(tmp_path: Path) -> None:
    text = TWITTER.read_text() + "9,k,1,2,3,get,0,extra\n"
    p = write(tmp_path, "tw", text)
    with pytest.raises(InputError, match=r"tw:49: 8 fields where a Twitter trace line has 7"):
        read_trace(p, format="twitter")
    got, msg = one_warning(read_trace, p, format="twitter", errors="skip")
    assert got.height == 48 and "skipped 1" in msg


# ---------------------------------------------------------------------------------------
# oracleGeneral and libCacheSim


def test_libcachesim_written_oracle_general_is_read() -> None:
    got = no_warning(read_oracle_general, LCS_ORACLE, keep_keys=True)
    src = pl.read_csv(
        LCS_SOURCE,
        has_header=False,
        new_columns=["t", "id", "size"],
        schema_overrides={"id": pl.UInt64},
    )
    assert_trace(got, raw=True)
    assert got["timestamp"].to_list() == src["t"].cast(pl.Float64).to_list()
    assert got["raw_key"].to_list() == src["id"].cast(pl.String).to_list()
    assert got["size"].to_list() == src["size"].to_list()  # the size 0 stays 0
    assert got["key"].to_list() == [0, 1, 0, 2, 1, 3, 0, 2, 4, 0]
    assert set(got["op"]) == {"get"} and got["ttl"].null_count() == got.height


def test_our_writer_matches_libcachesims_converter_byte_for_byte(tmp_path: Path) -> None:
    frame = read_oracle_general(LCS_ORACLE, keep_keys=True)
    out = write_oracle_general(frame, tmp_path / "again.oracleGeneral")
    assert out.read_bytes() == LCS_ORACLE.read_bytes()


@pytest.mark.parametrize("name", ["t.oracleGeneral", "t.oracleGeneral.zst"])
def test_libcachesim_reads_what_we_write(tmp_path: Path, name: str) -> None:
    lcs = pytest.importorskip("libcachesim")
    frame = read_trace(TWITTER)
    path = write_oracle_general(frame, tmp_path / name)
    params = lcs.ReaderInitParam(ignore_size_zero_req=False)
    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE, params)
    reqs = [(r.clock_time, r.obj_id, r.obj_size) for r in reader]
    assert len(reqs) == frame.height
    assert [r[1] for r in reqs] == frame["key"].to_list()
    assert [r[2] for r in reqs] == frame["size"].to_list()
    assert [r[0] for r in reqs] == frame["timestamp"].cast(pl.Int64).to_list()


def test_stored_perflab_oracle_general_reads_back_as_its_source() -> None:
    got = read_oracle_general(OUR_ORACLE)
    want = read_trace(TWITTER).with_columns(ttl=pl.lit(None, pl.Float64), op=pl.lit("get"))
    assert_frame_equal(got, want)


@pytest.mark.parametrize("name", ["t.oracleGeneral", "t.oracleGeneral.zst", "t.bin"])
def test_oracle_general_round_trip(tmp_path: Path, name: str) -> None:
    t = trace(timestamp=[0.0, 1.0, 1.0, 4.0], key=[0, 1, 0, 2], size=[10, 0, 10, 2**32 - 1])
    p = write_oracle_general(t, tmp_path / name)
    assert sniff_format(p) == "oracle_general"
    assert_frame_equal(read_trace(p), t)
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]


def test_oracle_general_keeps_the_original_ids(tmp_path: Path) -> None:
    first = read_oracle_general(LCS_ORACLE, keep_keys=True)
    p = write_oracle_general(first, tmp_path / "ids.oracleGeneral")
    assert_frame_equal(read_oracle_general(p, keep_keys=True), first)


def test_writer_refuses_what_does_not_fit(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="uint32 clock_time"):
        write_oracle_general(trace(timestamp=[-1.0], key=[0], size=[1]), tmp_path / "x")
    with pytest.raises(SchemaError, match="uint32 obj_size"):
        write_oracle_general(trace(timestamp=[0.0], key=[0], size=[2**32]), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_truncated_oracle_general(tmp_path: Path) -> None:
    data = LCS_ORACLE.read_bytes()
    p = write(tmp_path, "cut.oracleGeneral", data[: 24 * 7 + 5])
    with pytest.raises(InputError, match="record 8: cut short, 5 of 24 bytes") as exc:
        read_oracle_general(p)
    assert exc.value.line is None
    got, msg = one_warning(read_oracle_general, p, errors="skip")
    assert got.height == 7 and "record 8" in msg


def test_truncated_zstd_oracle_general(tmp_path: Path) -> None:
    n = 20_000
    big = trace(timestamp=[float(i) for i in range(n)], key=list(range(n)), size=[1] * n)
    z = write_oracle_general(big, tmp_path / "t.oracleGeneral.zst").read_bytes()
    p = tmp_path / "cut.oracleGeneral.zst"
    p.write_bytes(z[: len(z) // 2])
    with pytest.raises(InputError, match=r"record \d+: compressed data cut short"):
        read_oracle_general(p)
    got, msg = one_warning(read_oracle_general, p, errors="skip")
    assert 0 < got.height < n and "cut short" in msg
    assert got["key"].to_list() == list(range(got.height))


def test_unsorted_oracle_general_names_the_record(tmp_path: Path) -> None:
    rec = np.frombuffer(LCS_ORACLE.read_bytes(), RECORD).copy()
    rec["clock_time"][4] = 0
    p = write(tmp_path, "u.oracleGeneral", rec.tobytes())
    with pytest.raises(
        InputError, match=r"record 5: timestamp 0.0 is earlier than 3.0 \(record 4\)"
    ):
        read_oracle_general(p)
    got, msg = one_warning(read_oracle_general, p, errors="skip", keep_keys=True)
    assert got["timestamp"].is_sorted() and "record 5" in msg
    assert got["raw_key"][2] == "2002"  # moved to the front half, keys renumbered
    assert got["key"].to_list()[:3] == [0, 1, 1]


def test_binary_of_another_format_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "x.dat", b"\x00\x01text" * 20)
    with pytest.raises(InputError, match="binary data"):
        read_trace(p)


# ---------------------------------------------------------------------------------------
# sniffing and format names


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (TWITTER, "twitter"),
        (DATA / "twitter.sample.zst", "twitter"),
        (RECORDER, "recorder"),
        (LCS_ORACLE, "oracle_general"),
        (OUR_ORACLE, "oracle_general"),
    ],
)
def test_sniff_format(path: Path, fmt: str) -> None:
    assert sniff_format(path) == fmt


def test_sniff_by_content_without_a_telling_name(tmp_path: Path) -> None:
    assert sniff_format(write(tmp_path, "trace", CSV)) == "csv"
    assert sniff_format(write(tmp_path, "r.txt.gz", RECORDER.read_text())) == "recorder"
    assert sniff_format(write(tmp_path, "blob", LCS_ORACLE.read_bytes())) == "oracle_general"
    pl.DataFrame({"timestamp": [0.0], "key": ["a"], "size": [1]}).write_parquet(tmp_path / "pq")
    assert sniff_format(tmp_path / "pq") == "parquet"


def test_format_names(tmp_path: Path) -> None:
    assert read_trace(LCS_ORACLE, format="oracleGeneral").height == 10
    with pytest.raises(ParameterError, match="format must be one of"):
        read_trace(TWITTER, format="memcached")


# ---------------------------------------------------------------------------------------
# bad input, in every text format


TRUNCATED = {
    "csv": ("t.csv", CSV + "3,d,1", 6, "missing operation"),
    "twitter": ("tw", TWITTER.read_text() + "9,nz:u:abc,22", 49, "missing value size"),
    "recorder": (
        "r.csv",
        RECORDER.read_text() + "1796297114.1,user:42,18",
        23,
        "missing operation",
    ),
}


@pytest.mark.parametrize("fmt", list(TRUNCATED))
def test_truncated_last_line(tmp_path: Path, fmt: str) -> None:
    name, text, line, reason = TRUNCATED[fmt]
    p = write(tmp_path, name, text)
    with pytest.raises(InputError, match=rf"{re.escape(name)}:{line}: ({reason})"):
        read_trace(p)
    got, msg = one_warning(read_trace, p, errors="skip")
    assert f"skipped 1 unreadable line(s); first: line {line}" in msg
    rows = {"csv": 4, "twitter": 48, "recorder": 12}
    assert got.height == rows[fmt]


MALFORMED = {
    "csv": ("t.csv", "timestamp,key,size\n0,a,1\n1,b,big\n2,c,3\n3,d,x\n", 3, "size 'big'"),
    "twitter": (
        "tw",
        "0,a,1,2,1,get,0\n1,b,1,two,1,get,0\n2,c,1,2,1,get,0\n3,d,1,x,1,get,0\n",
        2,
        "value size 'two'",
    ),
    "recorder": (
        "r.csv",
        "timestamp,key,size,ttl,op,result,level,strategy\n"
        "0,a,1,,get,hit,l1,s\n1,b,1,,fetch,hit,l1,s\n2,c,1,,get,hit,l1,s\n"
        "3,d,1,,grab,hit,l1,s\n",
        3,
        "unknown operation 'fetch'",
    ),
}


@pytest.mark.parametrize("fmt", list(MALFORMED))
def test_malformed_rows(tmp_path: Path, fmt: str) -> None:
    name, text, line, reason = MALFORMED[fmt]
    p = write(tmp_path, name, text)
    with pytest.raises(InputError, match=rf"{re.escape(name)}:{line}: {reason}"):
        read_trace(p, format=fmt)
    got, msg = one_warning(read_trace, p, format=fmt, errors="skip")
    assert got.height == 2 and "skipped 2 unreadable line(s)" in msg
    assert got["key"].to_list() == [0, 1]  # dense over the rows kept


@pytest.mark.parametrize("fmt", ["csv", "twitter", "recorder", "parquet", "oracle_general"])
@pytest.mark.parametrize("name", ["empty", "empty.gz", "empty.zst"])
def test_empty_file_gives_an_empty_trace(tmp_path: Path, fmt: str, name: str) -> None:
    p = write(tmp_path, name, b"")
    got = no_warning(read_trace, p, format=fmt, keep_keys=True)
    assert_trace(got, raw=True)
    assert got.height == 0


def test_header_without_rows_warns(tmp_path: Path) -> None:
    got, msg = one_warning(read_trace, write(tmp_path, "t.csv", "timestamp,key,size\n"))
    assert got.height == 0 and "no requests" in msg


def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "timestamp,key,size\n0,a,1\n\n1,b,x\n")
    with pytest.raises(InputError, match=r"t\.csv:4: size 'x'"):
        read_trace(p)
    tw = write(tmp_path, "tw", "0,a,1,2,1,get,0\n\n1,b,1,x,1,get,0\n")
    with pytest.raises(InputError, match=r"tw:3: value size 'x'"):
        read_trace(tw)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0,a,-5\n", "negative size '-5'"),
        ("0,a,1.5\n", "size '1.5' is not a whole number"),
        ("x,a,1\n", "timestamp 'x' is not a finite number"),
        ("inf,a,1\n", "timestamp 'inf' is not a finite number"),
        (",a,1\n", "missing timestamp"),
        ("0,,1\n", "missing key"),
        ("0,a,1e30\n", "size '1e30' is too large"),
    ],
)
def test_bad_values_name_their_line(tmp_path: Path, text: str, reason: str) -> None:
    p = write(tmp_path, "t.csv", "timestamp,key,size\n1,ok,1\n" + text)
    with pytest.raises(InputError, match=rf"t\.csv:3: {re.escape(reason)}"):
        read_trace(p)
    got, msg = one_warning(read_trace, p, errors="skip")
    assert got.height == 1 and reason in msg


def test_negative_ttl_is_bad_and_infinite_ttl_is_none(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "timestamp,key,size,ttl\n0,a,1,inf\n1,b,1,-3\n")
    with pytest.raises(InputError, match=r"t\.csv:3: negative ttl '-3'"):
        read_trace(p)
    got, _ = one_warning(read_trace, p, errors="skip")
    assert got["ttl"].to_list() == [None]


def test_negative_size_in_twitter(tmp_path: Path) -> None:
    p = write(tmp_path, "tw", "0,a,1,2,1,get,0\n1,b,1,-9,1,get,0\n")
    with pytest.raises(InputError, match=r"tw:2: negative value size '-9'"):
        read_trace(p)
    got, msg = one_warning(read_trace, p, errors="skip")
    assert got.height == 1 and "negative value size" in msg


# ---------------------------------------------------------------------------------------
# time order


def test_unsorted_timestamps_raise_with_the_line(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "timestamp,key,size\n1,a,1\n3,b,1\n2,c,1\n2,a,1\n4,d,1\n")
    with pytest.raises(
        InputError, match=r"t\.csv:4: timestamp 2\.0 is earlier than 3\.0 \(line 3\)"
    ):
        read_trace(p)


def test_unsorted_timestamps_are_sorted_stably_with_skip(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "timestamp,key,size\n1,a,1\n3,b,2\n2,c,3\n2,a,4\n4,d,5\n")
    got, msg = one_warning(read_trace, p, errors="skip", keep_keys=True)
    assert "out of order" in msg and "line 4" in msg
    assert got["timestamp"].to_list() == [1.0, 2.0, 2.0, 3.0, 4.0]
    assert got["size"].to_list() == [1, 3, 4, 2, 5]  # c before a: file order at ties
    assert got["raw_key"].to_list() == ["a", "c", "a", "b", "d"]
    assert got["key"].to_list() == [0, 1, 0, 2, 3]  # dense in the new order


def test_unsorted_after_a_skipped_line_names_the_right_line(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "timestamp,key,size\n1,a,1\n2,b,x\n5,c,1\n4,d,1\n")
    with pytest.raises(InputError, match=r"t\.csv:3: size"):
        read_trace(p)
    with pytest.warns(Warning) as caught:
        read_trace(p, errors="skip")
    texts = " | ".join(str(w.message) for w in caught)
    assert "line 5" in texts and "line 3" in texts


# ---------------------------------------------------------------------------------------
# compression


@pytest.mark.parametrize("name", ["t.csv.gz", "t.csv.zst", "t.gz", "t.zst"])
def test_compressed_csv(tmp_path: Path, name: str) -> None:
    assert_frame_equal(
        read_trace(write(tmp_path, name, CSV)), read_trace(write(tmp_path, "plain.csv", CSV))
    )


def test_compressed_recorder(tmp_path: Path) -> None:
    p = write(tmp_path, "rec.csv.zst", RECORDER.read_text())
    assert_frame_equal(read_trace(p), read_trace(RECORDER))


def test_truncated_zstd_text(tmp_path: Path) -> None:
    text = "".join(f"{i},key{i % 97},{20 + i % 13},{i % 50},1,get,0\n" for i in range(20000))
    z = zstandard.ZstdCompressor().compress(text.encode())
    p = tmp_path / "tw.zst"
    p.write_bytes(z[: len(z) // 2])
    with pytest.raises(InputError, match=r"tw\.zst:\d+: compressed data cut short"):
        read_trace(p, format="twitter")
    got, msg = one_warning(read_trace, p, format="twitter", errors="skip")
    assert 0 < got.height < 20000 and "cut short" in msg


def test_concatenated_zstd_frames_are_one_stream(tmp_path: Path) -> None:
    """``cat a.zst b.zst`` is a valid zstd file: every frame is read."""
    lines = TWITTER.read_text().splitlines(keepends=True)
    z = zstandard.ZstdCompressor()
    p = tmp_path / "two.zst"
    p.write_bytes(
        z.compress("".join(lines[:20]).encode()) + z.compress("".join(lines[20:]).encode())
    )
    assert_frame_equal(read_trace(p), read_trace(TWITTER))


def test_twitter_values_polars_cannot_type_are_read_as_text(tmp_path: Path) -> None:
    """``22.0`` is no Int64 for polars' reader: the text path reads it as 22."""
    p = write(tmp_path, "tw", "0,a,1,2,1,get,0\n1,b,1.0,2.0,1,get,0\n")
    assert read_trace(p)["size"].to_list() == [3, 3]


def test_named_zst_but_not_zstd(tmp_path: Path) -> None:
    p = tmp_path / "t.csv.zst"
    p.write_text(CSV)
    with pytest.raises(InputError, match="not zstd"):
        read_trace(p)


# ---------------------------------------------------------------------------------------
# round trips


@st.composite
def traces(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 30))
    steps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    keys = draw(st.lists(st.sampled_from(["a", "b:1", "c,d", "é", "7"]), min_size=n, max_size=n))
    sizes = draw(st.lists(st.integers(0, 2**31), min_size=n, max_size=n))
    ttls = draw(st.lists(st.one_of(st.none(), st.integers(1, 10**6)), min_size=n, max_size=n))
    ops = draw(st.lists(st.sampled_from(["get", "set", "delete"]), min_size=n, max_size=n))
    return pl.DataFrame(
        {
            "timestamp": np.cumsum(steps).astype(float),
            "raw_key": keys,
            "size": sizes,
            "ttl": pl.Series(ttls, dtype=pl.Float64),
            "op": ops,
        }
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(traces())
def test_csv_and_oracle_round_trips(tmp_path: Path, frame: pl.DataFrame) -> None:
    p = tmp_path / "rt.csv"
    frame.rename({"raw_key": "key"}).write_csv(p)
    got = read_trace(p, keep_keys=True)
    assert got["raw_key"].to_list() == frame["raw_key"].to_list()
    assert got.drop("key").equals(frame.select(got.drop("key").columns))
    ids = {k: i for i, k in enumerate(dict.fromkeys(frame["raw_key"]))}
    assert got["key"].to_list() == [ids[k] for k in frame["raw_key"]]
    o = write_oracle_general(got.drop("raw_key"), tmp_path / "rt.oracleGeneral")
    back = read_oracle_general(o)
    assert back.select("timestamp", "key", "size").equals(got.select("timestamp", "key", "size"))

"""read_source_map: webpack's real source maps, index maps (sections), and bad
mappings; the numba VLQ decoder is cross-checked against a plain-Python decoder written
from the spec, and round-trips random segments through an encoder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perflab.bundles import read_source_map
from perflab.bundles._sourcemap import UNMAPPED, decode_mappings
from perflab.errors import InputError

from .conftest import SAMPLE

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def maps() -> list[Path]:
    return sorted((SAMPLE / "a" / "output").glob("*.js.map"))


def ref_decode(mappings: str) -> list[tuple[int, int, int]]:
    """The spec's decoding, one character at a time (the reference)."""
    out = []
    src = 0
    for line_no, line in enumerate(mappings.split(";")):
        col = 0
        for seg in filter(None, line.split(",")):
            values, value, shift = [], 0, 0
            for ch in seg:
                d = B64.index(ch)
                value += (d & 31) << shift
                if d & 32:
                    shift += 5
                else:
                    values.append(-(value >> 1) if value & 1 else value >> 1)
                    value, shift = 0, 0
            col += values[0]
            if len(values) >= 4:
                src += values[1]
                out.append((line_no, col, src))
            else:
                out.append((line_no, col, -1))
    return out


def vlq(n: int) -> str:
    v = (-n << 1) | 1 if n < 0 else n << 1
    s = ""
    while True:
        d, v = v & 31, v >> 5
        s += B64[d | (32 if v else 0)]
        if not v:
            return s


@pytest.mark.parametrize("path", maps(), ids=lambda p: p.name)
def test_decoder_matches_the_reference_on_real_maps(path):
    m = json.loads(path.read_text())
    assert decode_mappings(m["mappings"]).rows() == ref_decode(m["mappings"])


@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(0, 5000), st.integers(-3, 3), st.integers(-(10**6), 10**6)),
            max_size=6,
        ),
        max_size=6,
    )
)
def test_decoder_round_trips(lines):
    text = ";".join(
        ",".join(vlq(c) + vlq(s) + vlq(o) + vlq(0) for c, s, o in segs) for segs in lines
    )
    assert decode_mappings(text).rows() == ref_decode(text)


@pytest.mark.parametrize("path", maps(), ids=lambda p: p.name)
def test_bytes_add_up_to_the_generated_file(path):
    got = read_source_map(path)
    size = len(gzip.decompress(path.with_name(path.name[: -len(".map")] + ".gz").read_bytes()))
    assert got["bytes"].sum() == size
    assert abs(got["share"].sum() - 1) < 1e-9
    assert not got["source"].str.starts_with("webpack://").any()


def test_main_map_names_the_moment_locale_context():
    """webpack puts moment's locale context map in main: locale bloat shows here too."""
    got = read_source_map(next(p for p in maps() if p.name.startswith("main.")))
    top = got.row(0, named=True)
    assert top["source"].startswith("node_modules/moment/locale")
    assert "src/main.js" in set(got["source"])


def test_index_map_sections_equal_their_parts(tmp_path):
    main, admin = maps()[1], maps()[0]
    assert main.name.startswith("main.") and admin.name.startswith("admin.")
    code_m = gzip.decompress(main.with_name(main.name[:-4] + ".gz").read_bytes())
    code_a = gzip.decompress(admin.with_name(admin.name[:-4] + ".gz").read_bytes())
    lines_m = code_m.count(b"\n") + 1
    (tmp_path / "both.js").write_bytes(code_m + b"\n" + code_a)
    index = {
        "version": 3,
        "file": "both.js",
        "sections": [
            {"offset": {"line": 0, "column": 0}, "map": json.loads(main.read_text())},
            {"offset": {"line": lines_m, "column": 0}, "map": json.loads(admin.read_text())},
        ],
    }
    p = tmp_path / "both.js.map"
    p.write_text(json.dumps(index))
    got = dict(read_source_map(p).select("source", "bytes").iter_rows())
    want: dict[str, int] = {}
    for part in (main, admin):
        for s, b in read_source_map(part).select("source", "bytes").iter_rows():
            want[s] = want.get(s, 0) + b
    want[UNMAPPED] += 1  # the newline joining the two files
    assert got == want


def test_columns_are_utf16_units(tmp_path):
    # "é" is 1 UTF-16 unit but 2 UTF-8 bytes; "😀" 2 units, 4 bytes.
    (tmp_path / "g.js").write_text('a="é";b="😀";', encoding="utf-8")
    segs = f"{vlq(0)}AAA,{vlq(6)}CAA"  # col 0 → source 0, col 6 → source 1
    p = tmp_path / "g.js.map"
    p.write_text(json.dumps({"version": 3, "sources": ["a.js", "b.js"], "mappings": segs}))
    got = dict(read_source_map(p).select("source", "bytes").iter_rows())
    assert got == {"a.js": 7, "b.js": 9}


@pytest.mark.parametrize(
    ("mappings", "match", "line"),
    [
        ("AAAA;AAAA,AA*A", r"segment 2 of generated line 2 .*'\*' is not a base64", 2),
        ("AAAA,AA", r"1, 4 or 5 fields", 1),
        ("AAAA;;g", r"cut short", 3),
        ("AAAA,,AAAA", r"1, 4 or 5 fields", 1),
        ("AAAA;AKAA", r"source index 5 but the map has 1 sources", 2),
    ],
)
def test_invalid_mappings_name_line_and_segment(tmp_path, mappings, match, line):
    p = tmp_path / "x.js.map"
    p.write_text(json.dumps({"version": 3, "sources": ["a.js"], "mappings": mappings}))
    with pytest.raises(InputError, match=match) as err:
        read_source_map(p)
    assert err.value.line == line


def test_not_v3_truncated_and_empty(tmp_path):
    p = tmp_path / "x.js.map"
    p.write_text(json.dumps({"version": 2, "sources": [], "mappings": ""}))
    with pytest.raises(InputError, match="not a source map v3"):
        read_source_map(p)
    p.write_text('{"version": 3, "sources": ["a.js"], "mappings": "AAAA')
    with pytest.raises(InputError, match="truncated"):
        read_source_map(p)
    p.write_text("")
    assert read_source_map(p).schema == pl.Schema(
        {"source": pl.String, "bytes": pl.Int64, "share": pl.Float64}
    )


def test_without_the_generated_file_it_warns(tmp_path):
    m = next(p for p in maps() if p.name.startswith("main."))
    p = tmp_path / "lonely.js.map"
    doc = json.loads(m.read_text())
    doc["file"] = "lonely.js"
    p.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="generated file not found"):
        got = read_source_map(p)
    assert UNMAPPED not in set(got["source"])

"""Inputs as globs, lists and URLs; byte-range parts at line starts; map over a cluster."""

from __future__ import annotations

import gzip
import itertools
import sys
import uuid
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from perflab.errors import InputError, InputWarning, ParameterError
from perflab.partitions import expand, is_many, map_parts, partitions
from perflab.sources import Part, Source, is_url, open_url


def _lines(n: int, width: int = 10) -> bytes:
    return b"".join(f"{i:0{width}d}\n".encode() for i in range(1, n + 1))


def _count(part: Part) -> int:
    return Source(part).data().count(b"\n")


# ---------------------------------------------------------------------------------------
# expand


def test_expand_keeps_order_and_sorts_each_glob(tmp_path: Path) -> None:
    for name in ("b.log", "a.log", "c.txt", "sub/d.log"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x\n")
    got = expand([str(tmp_path / "c.txt"), str(tmp_path / "*.log")])
    assert [Path(p).name for p in got] == ["c.txt", "a.log", "b.log"]
    deep = expand(str(tmp_path / "**" / "*.log"))
    assert sorted(Path(p).name for p in deep) == ["a.log", "b.log", "d.log"]


def test_empty_glob_is_a_clear_error(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.log")
    with pytest.raises(InputError, match="no file matches the pattern") as err:
        expand(pattern)
    assert err.value.source == pattern
    with pytest.raises(ParameterError, match="no input"):
        expand([])


def test_is_many() -> None:
    assert is_many(["a.log"]) and is_many("logs/*.log") and is_many(("a", "b"))
    assert not is_many("a.log") and not is_many(Path("a*.log"))
    assert not is_many("https://example.com/a.log?x=1")  # a query string is no glob


def test_an_existing_file_with_glob_characters_is_that_file(tmp_path: Path) -> None:
    literal = tmp_path / "pg[1].log"
    literal.write_bytes(_lines(2))
    (tmp_path / "pg1.log").write_bytes(_lines(3))  # what "pg[1].log" matches as a glob
    (tmp_path / "what?.log").write_bytes(_lines(4))
    assert expand(str(literal)) == [str(literal)]
    assert not is_many(str(literal)) and not is_many(str(tmp_path / "what?.log"))
    assert expand(str(tmp_path / "what?.log")) == [str(tmp_path / "what?.log")]
    # no such file: a pattern as before
    assert is_many(str(tmp_path / "pg[2].log"))
    assert [Path(p).name for p in expand(str(tmp_path / "pg[13].log"))] == ["pg1.log"]
    assert [_count(q) for q in partitions(expand(str(literal)))] == [2]


def test_a_postgres_log_named_like_a_glob_is_digested() -> None:
    import shutil
    import tempfile

    from perflab.queries import digest

    sample = Path(__file__).resolve().parents[1] / "data/sample/queries/postgresql.log"
    with tempfile.TemporaryDirectory() as d:
        named = Path(d) / "pg[1].log"
        shutil.copyfile(sample, named)
        got, ref = digest(str(named)), digest(str(sample))
        assert got.statements == ref.statements > 0
        assert_frame_equal(got.patterns, ref.patterns)


def test_an_existing_memory_file_with_glob_characters_is_that_file() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    root = f"/perflab-{uuid.uuid4().hex}"
    fs.pipe(f"{root}/a[1].log", _lines(2))
    try:
        assert expand(f"memory://{root}/a[1].log") == [f"memory://{root}/a[1].log"]
        assert not is_many(f"memory://{root}/a[1].log")
    finally:
        fs.rm(root, recursive=True)


# ---------------------------------------------------------------------------------------
# partitions


def test_byte_ranges_start_on_lines_and_cover_the_file(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    data = b"".join(f"{'x' * (i % 37)}\n".encode() for i in range(5000))
    p.write_bytes(data)
    parts = partitions([str(p)], by="lines", part_bytes=10_000)
    assert len(parts) >= 9
    assert parts[0].start == 0 and parts[-1].end is None
    for a, b in itertools.pairwise(parts):
        assert a.end == b.start
        assert data[b.start - 1 : b.start] == b"\n"  # every part starts on a line
    pieces = [Source(q).data() for q in parts]
    assert b"".join(pieces) == data
    assert sum(map(_count, parts)) == 5000


def test_gzip_and_small_files_and_by_file_stay_whole(tmp_path: Path) -> None:
    big = _lines(10_000)
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(big))
    (tmp_path / "b.log").write_bytes(b"1\n2\n")
    (tmp_path / "c.log").write_bytes(big)
    files = expand(str(tmp_path / "*.log*"))
    parts = partitions(files, by="lines", part_bytes=4096)
    assert [q.whole for q in parts[:2]] == [True, True]
    assert len(parts) > 3
    assert [q.whole for q in partitions(files, by="file", part_bytes=4096)] == [True] * 3
    with pytest.raises(ParameterError):
        partitions(files, by="bytes")  # type: ignore[arg-type]


def test_a_file_without_final_newline_is_covered(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    data = _lines(3000) + b"tail-without-newline"
    p.write_bytes(data)
    parts = partitions([str(p)], by="lines", part_bytes=5000)
    assert b"".join(Source(q).data() for q in parts) == data


# ---------------------------------------------------------------------------------------
# map_parts: lines in errors are lines of the file


def test_bad_line_in_a_later_part_names_file_and_absolute_line(tmp_path: Path) -> None:
    from perflab.api.summary import _requests_part

    line = '1.2.3.4 - - [03/Dec/2026:13:47:26 +0000] "GET /a HTTP/1.1" 200 5 "-" "-"\n'
    rows = [line] * 3000
    rows[2345] = "garbage\n"
    p = tmp_path / "access.log"
    p.write_text("".join(rows))
    parts = partitions([str(p)], by="lines", part_bytes=20_000)
    assert len(parts) > 3
    with pytest.raises(InputError) as err:
        map_parts(_requests_part, parts, kind="nginx", log_format=None, errors="raise")
    assert err.value.source == str(p)
    assert err.value.line == 2346


def test_skip_mode_warnings_come_back_with_absolute_lines(tmp_path: Path) -> None:
    from perflab.api.summary import _requests_part

    line = '1.2.3.4 - - [03/Dec/2026:13:47:26 +0000] "GET /a HTTP/1.1" 200 5 "-" "-"\n'
    rows = [line] * 3000
    rows[2345] = "garbage\n"
    p = tmp_path / "access.log"
    p.write_text("".join(rows))
    parts = partitions([str(p)], by="lines", part_bytes=20_000)
    with pytest.warns(InputWarning, match="line 2346: ") as caught:
        frames = map_parts(_requests_part, parts, kind="nginx", log_format=None, errors="skip")
    assert sum(f.height for f in frames) == 2999
    assert len([w for w in caught if "skipped" in str(w.message)]) == 1


def test_map_parts_refuses_what_is_not_a_client(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"1\n")
    with pytest.raises(ParameterError, match=r"distributed\.Client"):
        map_parts(_count, partitions([str(p)]), client="tcp://nowhere:8786")


# ---------------------------------------------------------------------------------------
# URLs


def test_memory_url_glob_and_read() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    root = f"/perflab-{uuid.uuid4().hex}"
    fs.pipe(f"{root}/b.log", _lines(5))
    fs.pipe(f"{root}/a.log.gz", gzip.compress(_lines(3)))
    try:
        files = expand(f"memory://{root}/*.log*")
        assert [f.rsplit("/", 1)[1] for f in files] == ["a.log.gz", "b.log"]
        src = Source(files[0])
        assert src.gzipped and src.suffix == ".log" and src.text() == _lines(3).decode()
        assert Source(files[1]).head(11) == b"0000000001\n"
        parts = partitions([files[1]], by="lines", part_bytes=20)
        assert len(parts) == 3
        assert [_count(q) for q in parts] == [2, 2, 1]
        with pytest.raises(InputError, match="no such file"):
            Source(f"memory://{root}/missing.log")
    finally:
        fs.rm(root, recursive=True)


def test_file_url_is_a_local_path(tmp_path: Path) -> None:
    p = tmp_path / "a b.log"
    p.write_bytes(b"x\n")
    src = Source(p.as_uri())
    assert src.path == p and src.text() == "x\n"


def test_missing_fsspec_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(ImportError, match=r"perflab\[distributed\]"):
        Source("s3://bucket/a.log")


def test_missing_backend_names_the_package() -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="s3fs"):
            open_url("s3://bucket/a.log")
    else:
        pytest.skip("s3fs is installed")


def test_is_url() -> None:
    assert is_url("gs://b/k") and is_url("https://h/a.log") and is_url("memory://x")
    assert not is_url("C:\\logs\\a.log") and not is_url("a.log") and not is_url(Path("x"))

"""The route table of many or big access logs, parsed on two worker processes.

Every test compares with the single-machine answer on the same data —
``endpoints`` over the logs read one after the other by ``read_nginx_log`` — and asks
for equality: the parts come back in order and the table is computed over all of them.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from perflab.api import endpoints, read_nginx_log
from perflab.api.samples import day_log
from perflab.api.summary import summarize_access_logs
from perflab.errors import InputError, ParameterError

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
FORMAT = (ROOT / "data/sample/api/log_format.txt").read_text()
LINES = 5_000


@pytest.fixture(scope="module")
def log() -> bytes:
    return day_log(lines=LINES, seed=5)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory, log: bytes) -> list[Path]:
    """The day cut in three files at line starts, the middle one gzip."""
    d = tmp_path_factory.mktemp("logs")
    lines = log.splitlines(keepends=True)
    cuts = [0, 1_500, 3_500, LINES]
    out = []
    for k in range(3):
        body = b"".join(lines[cuts[k] : cuts[k + 1]])
        p = d / (f"access-{k}.log.gz" if k == 1 else f"access-{k}.log")
        p.write_bytes(gzip.compress(body) if k == 1 else body)
        out.append(p)
    return out


def _reference(files: list[Path]) -> pl.DataFrame:
    return endpoints(pl.concat([read_nginx_log(f, FORMAT) for f in files]))


def test_several_files_on_two_workers_equal_one_machine(client: object, logs: list[Path]) -> None:
    got = summarize_access_logs([str(p) for p in logs], log_format=FORMAT, client=client)
    ref = _reference(logs)
    assert got.height > 10 and int(got["requests"].sum()) == LINES
    assert_frame_equal(got, ref)  # exact: counts, sums, maxima and percentiles


def test_glob_equals_one_machine_with_and_without_client(client: object, logs: list[Path]) -> None:
    pattern = str(logs[0].parent / "access-*.log*")
    ref = _reference(sorted(logs))
    assert_frame_equal(summarize_access_logs(pattern, log_format=FORMAT, client=client), ref)
    assert_frame_equal(summarize_access_logs(pattern, log_format=FORMAT), ref)


def test_big_file_split_by_byte_range_equals_one_machine(
    client: object, tmp_path: Path, log: bytes
) -> None:
    p = tmp_path / "day.log"
    p.write_bytes(log)
    got = summarize_access_logs(str(p), log_format=FORMAT, client=client, part_bytes=250_000)
    assert len(log) > 4 * 250_000  # at least five byte ranges
    assert_frame_equal(got, endpoints(read_nginx_log(p, FORMAT)))


def test_bad_line_in_a_later_range_names_file_and_line(
    client: object, tmp_path: Path, log: bytes
) -> None:
    lines = log.splitlines(keepends=True)
    lines[4_321] = b"not an access log line\n"
    p = tmp_path / "bad.log"
    p.write_bytes(b"".join(lines))
    with pytest.raises(InputError) as err:
        summarize_access_logs(str(p), log_format=FORMAT, client=client, part_bytes=250_000)
    assert (err.value.source, err.value.line) == (str(p), 4_322)
    # the same line as the one-machine reader reports
    with pytest.raises(InputError) as one:
        read_nginx_log(p, FORMAT)
    assert one.value.line == 4_322


def test_empty_glob_is_a_clear_error(client: object, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no file matches"):
        summarize_access_logs(str(tmp_path / "*.log"), client=client)
    with pytest.raises(ParameterError, match="kind"):
        summarize_access_logs(str(tmp_path / "x.log"), kind="iis")  # type: ignore[arg-type]


def test_empty_logs_give_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"")
    got = summarize_access_logs(str(tmp_path / "a.log"))
    assert got.height == 0 and got.columns == endpoints(read_nginx_log(tmp_path / "a.log")).columns


@pytest.fixture
def served(tmp_path: Path, log: bytes) -> Iterator[str]:
    """``log`` as day.log from a local http.server on 127.0.0.1."""
    (tmp_path / "day.log").write_bytes(log)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/day.log"
    finally:
        server.shutdown()
        server.server_close()


def test_http_url_read_on_the_workers(client: object, served: str, log: bytes) -> None:
    pytest.importorskip("aiohttp")  # fsspec's http file system needs it
    got = summarize_access_logs(served, log_format=FORMAT, client=client)
    ref = endpoints(read_nginx_log(served, FORMAT))  # the URL read here, in one piece
    assert int(got["requests"].sum()) == LINES
    assert_frame_equal(got, ref)


def test_json_logs_stay_whole_so_a_mixed_key_log_reads_as_on_one_machine(
    client: object, tmp_path: Path
) -> None:
    import json

    from perflab.api import read_json_log

    # the first half times requests in ms, the second in nginx's seconds: the reader
    # picks its duration key per file, so a byte range of the second half alone would
    # pick another key than the whole file does
    rows = []
    for i in range(400):
        row: dict[str, object] = {"method": "GET", "path": f"/u/{i % 7}", "status": 200}
        if i % 9 == 0:
            row["status"] = 500
        if i < 200:
            row["duration_ms"] = 10 + i % 13
        else:
            row["request_time"] = (20 + i % 11) / 1000
        rows.append(json.dumps(row))
    p = tmp_path / "mixed.jsonl"
    p.write_text("\n".join(rows) + "\n")
    ref = endpoints(read_json_log(p))
    for c in (client, None):
        got = summarize_access_logs(str(p), kind="json", client=c, part_bytes=2_000)
        assert_frame_equal(got, ref)
    assert int(ref["requests"].sum()) == 400

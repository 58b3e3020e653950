"""Access-log readers: nginx (any log_format), Apache, JSON lines."""

from __future__ import annotations

import datetime as dt
import gzip
import warnings
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import perflab.api.read as read_module
from perflab.api import REQUESTS, _nginx, _scan, read_apache_log, read_json_log, read_nginx_log
from perflab.api.read import COMBINED, MAIN
from perflab.errors import InputError, ParameterError
from tests.warned import no_warning, one_warning

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "api"
CUSTOM = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time '
    "$upstream_cache_status"
)
UTC = dt.UTC


# --------------------------------------------------------------------------- samples


def test_real_nginx_sample() -> None:
    fmt = (SAMPLE / "log_format.txt").read_text()
    df = no_warning(read_nginx_log, SAMPLE / "access.log.gz", fmt)
    assert df.height == 3000
    assert df.columns[: len(REQUESTS.names)] == REQUESTS.names
    assert {"protocol", "bytes_sent", "gzip_ratio"} <= set(df.columns)
    assert df["time"].null_count() == 0 and df["status"].null_count() == 0
    assert set(df["cache_status"].drop_nulls()) >= {"HIT", "MISS"}
    # internal redirect (" : ") and retried upstream (", ") lists were summed
    search = df.filter(pl.col("path") == "/search")
    assert search.height and search["upstream_ms"].null_count() == 0
    gz = df.filter(pl.col("gzip_ratio").is_not_null())
    assert gz.height and (gz["bytes"] < gz["bytes_sent"]).all()
    odd = df.filter(pl.col("referer") == "http://localhost/")
    assert odd["user_agent"][0] == 'Mozilla/5.0 (X11) "quoted" caf\u00e9'  # \x22, Latin-1 é
    assert set(df["content_type"].drop_nulls()) >= {"application/json", "application/javascript"}


def test_real_apache_and_json_copies_agree() -> None:
    fmt = (SAMPLE / "log_format.txt").read_text()
    main = read_nginx_log(SAMPLE / "access.log.gz", fmt)
    combined = no_warning(read_apache_log, SAMPLE / "access_combined.log.gz")
    assert combined.height == main.height
    assert combined["path"].to_list() == main["path"].to_list()
    assert combined["bytes"].to_list() == main["bytes"].to_list()
    js = no_warning(read_json_log, SAMPLE / "access.jsonl.gz")
    assert js["status"].to_list() == main["status"].to_list()
    assert js["duration_ms"].to_list() == main["duration_ms"].to_list()
    assert js["upstream_ms"].to_list() == main["upstream_ms"].to_list()
    assert js["time"].to_list() == main["time"].to_list()
    # the same as nginx's own predefined combined format
    assert read_nginx_log(SAMPLE / "access_combined.log.gz", COMBINED)["status"].to_list() == (
        combined["status"].to_list()
    )


# --------------------------------------------------------------------------- nginx


def test_custom_format_fields() -> None:
    df = read_nginx_log(DATA / "custom.log", CUSTOM)
    first = df.row(0, named=True)
    assert first["path"] == "/search"
    assert first["query"] == "q=<script>alert(1)</script>"  # verbatim; HTML escapes later
    assert first["user_agent"] == 'Mozilla/5.0 "x" caf\u00e9 "q"'
    assert first["upstream_ms"] == 12.0
    assert first["duration_ms"] == 12.0
    assert first["cache_status"] == "MISS"
    assert first["referer"] is None
    second = df.row(1, named=True)
    assert second["time"] == dt.datetime(2026, 12, 3, 13, 47, 26, tzinfo=UTC)
    assert second["remote_user"] == "alice" and second["protocol"] == "HTTP/2.0"
    assert second["upstream_ms"] is None and second["cache_status"] is None
    third = df.row(2, named=True)
    assert third["method"] is None and third["status"] == 400 and third["user_agent"] is None


@pytest.mark.parametrize(
    ("value", "ms"),
    [("0.004, 0.006 : 0.002", 12.0), ("-", None), ("-, 0.003", 3.0), ("0.010 : -", 10.0)],
)
def test_upstream_lists(tmp_path: Path, value: str, ms: float | None) -> None:
    p = tmp_path / "a.log"
    p.write_text(f'"GET / HTTP/1.1" {value} 200\n')
    df = read_nginx_log(p, '"$request" $upstream_response_time $status')
    assert df["upstream_ms"][0] == ms and df["status"][0] == 200


def test_config_line_with_escape_json(tmp_path: Path) -> None:
    conf = """log_format  j  escape=json  '{"t":"$msec","u":"$request_uri",'
                 "\\"s\\":$status,\\"rt\\":$request_time}";"""
    p = tmp_path / "j.log"
    p.write_text('{"t":"1764769646.123","u":"/a?b=1","s":200,"rt":0.250}\n')
    df = read_nginx_log(p, conf)
    assert df.row(0)[:7] == (
        dt.datetime(2025, 12, 3, 13, 47, 26, 123000, tzinfo=UTC),
        None,
        "/a",
        "b=1",
        200,
        None,
        250.0,
    )


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("just text", r"no \$variable"),
        ("log_format x escape=html '$status';", "unknown escape"),
        ("log_format x '$status", "unbalanced quote"),
        ("log_format x '$status' \"$request;", "unbalanced quote"),
    ],
)
def test_invalid_log_format(tmp_path: Path, fmt: str, message: str) -> None:
    p = tmp_path / "a.log"
    p.write_text("200\n")
    with pytest.raises(ParameterError, match=message):
        read_nginx_log(p, fmt)


def test_malformed_line_raises_with_file_and_line() -> None:
    with pytest.raises(InputError) as exc:
        read_nginx_log(DATA / "malformed.log", COMBINED)
    assert exc.value.line == 2 and "malformed.log" in str(exc.value)
    assert "expected" in str(exc.value) and "$remote_addr" in str(exc.value)


def test_malformed_lines_skipped_with_one_warning() -> None:
    df, msg = one_warning(read_nginx_log, DATA / "malformed.log", COMBINED, errors="skip")
    assert df["path"].to_list() == ["/", "/y"]
    assert "skipped 2" in msg and "line 2" in msg and "line 3" in msg
    assert "expected a number for $status" in msg


def test_truncated_last_line(tmp_path: Path) -> None:
    whole = (DATA / "malformed.log").read_text().splitlines()[0]
    p = tmp_path / "cut.log"
    p.write_text(whole + "\n" + whole + "\n" + whole[:40])
    with pytest.raises(InputError, match="cut short") as exc:
        read_nginx_log(p, COMBINED)
    assert exc.value.line == 3
    df, msg = one_warning(read_nginx_log, p, COMBINED, errors="skip")
    assert df.height == 2 and "line 3" in msg
    p.write_text(whole + "\n" + whole)  # no final newline, but whole
    assert no_warning(read_nginx_log, p, COMBINED).height == 2


def test_truncated_gzip(tmp_path: Path) -> None:
    line = (DATA / "malformed.log").read_text().splitlines()[0] + "\n"
    blob = gzip.compress((line * 2000).encode())
    p = tmp_path / "cut.log.gz"
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_nginx_log(p, COMBINED)
    df, msg = one_warning(read_nginx_log, p, COMBINED, errors="skip")
    assert 0 < df.height < 2000 and "truncated" in msg


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.log"
    p.write_text("")
    assert no_warning(read_nginx_log, p, MAIN).equals(REQUESTS.empty())
    assert no_warning(read_apache_log, p).equals(REQUESTS.empty())
    assert no_warning(read_json_log, p).equals(REQUESTS.empty())
    gz = tmp_path / "empty.log.gz"
    gz.write_bytes(gzip.compress(b""))
    assert read_nginx_log(gz).equals(REQUESTS.empty())


def test_blocks_keep_line_numbers(tmp_path: Path) -> None:
    line = (DATA / "malformed.log").read_text().splitlines()[0]
    p = tmp_path / "big.log"
    p.write_text((line + "\n\n") * 60_000 + "garbage\n")  # several blocks, blank lines
    with pytest.raises(InputError) as exc:
        read_nginx_log(p, COMBINED)
    assert exc.value.line == 120_001


# --------------------------------------------------------------------------- property

_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=30
).filter(lambda s: s != "-")
_token = st.text("abcdefghijklmnopqrstuvwxyz0123456789/._~%<>", min_size=1, max_size=20)


def _nginx_escape(value: str) -> str:
    """nginx's default escaping: ", \\, bytes < 0x20 and >= 0x7F as \\xXX."""
    out = []
    for b in value.encode():
        if b in (0x22, 0x5C) or b < 0x20 or b >= 0x7F:
            out.append(f"\\x{b:02X}")
        else:
            out.append(chr(b))
    return "".join(out)


@given(
    client=_token,
    path=_token.map(lambda s: "/" + s),
    query=st.none() | _token,
    status=st.integers(100, 599),
    size=st.none() | st.integers(0, 10**12),
    ms=st.integers(0, 10**6),
    ups=st.lists(st.integers(0, 10**5), min_size=1, max_size=3),
    agent=_text,
    referer=_text,
)
def test_written_fields_read_back(
    tmp_path_factory: pytest.TempPathFactory,
    client: str,
    path: str,
    query: str | None,
    status: int,
    size: int | None,
    ms: int,
    ups: list[int],
    agent: str,
    referer: str,
) -> None:
    uri = path + ("" if query is None else "?" + query)
    line = (
        f"{client} - - [03/Dec/2026:13:47:26 +0000] "
        f'"GET {_nginx_escape(uri)} HTTP/1.1" {status} {"-" if size is None else size} '
        f'"{_nginx_escape(referer) or "-"}" "{_nginx_escape(agent) or "-"}" '
        f"{ms / 1000:.3f} {', '.join(f'{u / 1000:.3f}' for u in ups)} HIT\n"
    )
    p = tmp_path_factory.mktemp("prop") / "a.log"
    p.write_text(line)
    row = read_nginx_log(p, CUSTOM).row(0, named=True)
    assert (row["client"], row["path"], row["query"]) == (client, path, query)
    assert (row["status"], row["bytes"]) == (status, size)
    assert row["duration_ms"] == pytest.approx(ms, abs=1e-6)
    assert row["upstream_ms"] == pytest.approx(sum(ups), abs=1e-6)
    assert row["user_agent"] == (agent or None)
    assert row["referer"] == (referer or None)


# --------------------------------------------------------------------------- Apache


def test_apache_common_dash_bytes_and_duration(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_text(
        '::1 - bob [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 304 - 1500\n'
        '::1 - - [10/Oct/2000:13:55:37 -0700] "GET /b?x=\\"y\\" HTTP/1.0" 200 2326 20\n'
    )
    df = read_apache_log(p, format='%h %l %u %t "%r" %>s %b %D')
    assert df["bytes"].to_list() == [None, 2326]
    assert df["duration_ms"].to_list() == [1.5, 0.02]
    assert df["query"][1] == 'x="y"'
    assert df["time"][0] == dt.datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)
    df = read_apache_log(p, format='%h %l %u %t "%r" %>s %b %T')
    assert df["duration_ms"].to_list() == [1_500_000.0, 20_000.0]


def test_apache_bad_format_and_line(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_text('::1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 5\n')
    with pytest.raises(ParameterError):
        read_apache_log(p, format="nonsense")
    with pytest.raises(InputError, match=r"a\.log:1: expected"):
        read_apache_log(p)  # combined wants the referer
    assert read_apache_log(p, format="common")["bytes"][0] == 5


# --------------------------------------------------------------------------- JSON


def test_json_caddy() -> None:
    df = no_warning(read_json_log, DATA / "caddy.jsonl")
    first = df.row(0, named=True)
    assert (first["method"], first["path"], first["query"]) == ("GET", "/api/items/3", "full=1")
    assert first["duration_ms"] == 12.5 and first["bytes"] == 10900
    assert first["host"] == "localhost" and first["client"] == "127.0.0.1"
    assert first["content_type"] == "application/json" and first["content_encoding"] == "gzip"
    assert first["user_agent"] == "curl/8.5.0"
    assert first["time"] == dt.datetime(2025, 12, 3, 13, 47, 26, 524102, tzinfo=UTC)
    assert df["duration_ms"][1] == 500.0


def test_json_odd_key_casing_and_override() -> None:
    df = read_json_log(DATA / "odd_keys.jsonl")
    assert df["method"].to_list() == ["GET", "PUT"]
    assert df["path"].to_list() == ["/a/b", "/c"]
    assert df["status"].to_list() == [200, 204]
    assert df["duration_ms"].to_list() == [42.5, 1500.0]
    assert df["user_agent"].to_list() == ["UA", None]
    assert df["time"][0] == dt.datetime(2026, 12, 3, 13, 47, 26, 250000, tzinfo=UTC)
    over = read_json_log(DATA / "odd_keys.jsonl", fields={"duration_ms": "resp_ms"})
    assert over["duration_ms"].to_list() == [7.0, 8.0]
    with pytest.raises(ParameterError):
        read_json_log(DATA / "odd_keys.jsonl", fields={"latency": "x"})


def test_json_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text(
        '{"status": 200, "path": "/"}\n\n{"status": 2\n[1]\n{"status": 404, "path": "/x"}\n'
    )
    with pytest.raises(InputError) as exc:
        read_json_log(p)
    assert exc.value.line == 3 and "a.jsonl" in str(exc.value)
    df, msg = one_warning(read_json_log, p, errors="skip")
    assert df["status"].to_list() == [200, 404] and "skipped 2" in msg


# --------------------------------------------------------------------------- scanner
#
# Big blocks are read by the compiled scanner, small ones (and the lines it cannot vouch
# for) by the format's regex: both must give the same frame, the same bad lines and the
# same warnings, whatever the lines hold.

QUOTED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time "$upstream_response_time" '
    '"$upstream_cache_status"'
)


def _read_both(
    path: Path, fmt: str, errors: str = "skip", block: int | None = None
) -> tuple[tuple[object, list[str]], tuple[object, list[str]]]:
    """(frame or error, warnings) by the scanner, then by the regex alone."""

    def run() -> tuple[object, list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out: object = read_nginx_log(path, fmt, errors=errors)  # type: ignore[arg-type]
            except InputError as exc:
                out = str(exc)
        return out, [str(w.message) for w in caught]

    results = []
    for fast in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_scan, "FAST_MIN_BYTES", 0 if fast else 1 << 62)
            if block is not None:
                mp.setattr(read_module, "_BLOCK", block)
            results.append(run())
    return results[0], results[1]


def _same(path: Path, fmt: str, errors: str = "skip", block: int | None = None) -> object:
    (fast, fast_warned), (slow, slow_warned) = _read_both(path, fmt, errors, block)
    if isinstance(fast, pl.DataFrame) and isinstance(slow, pl.DataFrame):
        assert_frame_equal(fast, slow, check_exact=True)
    else:
        assert fast == slow
    assert fast_warned == slow_warned
    return fast


def _mostly(usual: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """19 values in 20 from ``usual``, the rest ``odd`` (lines are mostly clean)."""
    return st.integers(0, 19).flatmap(lambda k: odd if k == 0 else usual)


_offset = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}{abs(m) % 60:02d}"
)
_times = _mostly(
    st.builds(
        lambda d, z: d.strftime("%d/%b/%Y:%H:%M:%S ") + z,
        st.datetimes(dt.datetime(1000, 1, 1), dt.datetime(2999, 12, 31)),
        _offset,
    ),
    st.sampled_from(
        [
            "-",
            "3/Dec/2026:13:47:26 +0000",
            "31/Feb/2026:13:47:26 +0000",
            "29/Feb/2024:23:59:59 -0930",
            "29/Feb/2023:00:00:00 +0000",
            "03/dec/2026:13:47:26 +0000",
            "03/Dec/2026:13:47:60 +0000",
            "03/Dec/2026:24:00:00 +0000",
            "03/Dec/2026:13:47:26 +00:00",
            "03/Dec/2026:13:47:26 +2400",
            "01/Jan/0999:00:00:00 +0000",
        ]
    ),
)
_piece = _mostly(st.text("abz09/._~%-=&+é€", max_size=12), st.text('/?\\"x22 \t', max_size=6))
_requests = _mostly(
    st.builds(
        lambda m, p, q, v: f"{m} /{p}{'' if q is None else '?' + q} {v}",
        st.sampled_from(["GET", "POST", "HEAD", "M-SEARCH", "get", ""]),
        _piece,
        st.none() | _piece,
        _mostly(
            st.sampled_from(["HTTP/1.1", "HTTP/2.0"]),
            st.sampled_from(["HTTP/1.1 x", "FTP/1.0", "HTTP/", "HTTP"]),
        ),
    ),
    st.sampled_from(
        [
            "-",
            "GET /",
            "GET /a b HTTP/1.1",
            "\\x16\\x03\\x01\\x00\\xA5",
            "GET  /a HTTP/1.1",
            " GET /a HTTP/1.1",
            "GET /a?b?c HTTP/1.1",
            "GET /caf\\xC3\\xA9?q=\\x22 HTTP/1.1",
        ]
    ),
)
_ints = _mostly(
    st.integers(0, 10**18).map(str) | st.just("-"),
    st.sampled_from(["", "2.5", "abc", "+5", "007", "-5", " 5", "1e3", "9" * 19]),
)
_decimal = st.integers(0, 10**8).map(lambda v: f"{v / 1000:.3f}")
_floats = _mostly(
    _decimal | st.just("-"),
    st.floats(0, 1e9, allow_nan=False).map(repr)
    | st.sampled_from(["", ".5", "5.", "1e-3", "0.0000000000000001", "12345678901234567", "nan"]),
)


def _joined(items: st.SearchStrategy[str], seps: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda i, s: i[0] + "".join(a + b for a, b in zip(s, i[1:], strict=False)),
        st.lists(items, min_size=1, max_size=9),
        st.lists(seps, min_size=8, max_size=8),
    )


_lists = _mostly(
    _floats | _joined(_decimal | st.just("-"), st.sampled_from([", ", " : "])),
    _joined(_floats | st.sampled_from(["", " ", "x"]), st.sampled_from([", ", " : ", ",", ":"])),
)
_words = _mostly(
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters='\n\r"\\'), max_size=20
    ),
    st.sampled_from(["-", "Mozilla/5.0 \\x22q\\x22", "caf\\xC3\\xA9", "a\\\\b", "\\", "x\\"]),
)


@st.composite
def _records(draw: st.DrawFn) -> tuple[str, ...]:
    """A log line's fields (or, one time in twenty, a line that is not a record)."""
    if draw(st.integers(0, 19)) == 0:
        return (draw(st.sampled_from(["", "  ", "\t", "\u00a0", "garbage line", "\ufeffx"])),)
    return (
        draw(st.sampled_from(["10.0.0.1", "::1", "-", "h"])),
        draw(st.sampled_from(["-", "alice", ""])),
        draw(_times),
        draw(_requests),
        draw(_ints),
        draw(_ints),
        draw(_words),
        draw(_words),
        draw(_floats),
        draw(_lists),
        draw(st.sampled_from(["HIT", "-", ""])),
        draw(st.sampled_from(["", "", "", "\r"])),
    )


def _render(rec: tuple[str, ...], quoted: bool) -> str:
    """The line, in QUOTED (or, ``quoted`` false, CUSTOM: the last two unquoted)."""
    if len(rec) == 1:
        return rec[0]
    addr, user, time, request, status, size, referer, agent, rt, ups, cache, end = rec
    tail = f'"{ups}" "{cache}"' if quoted else f"{ups} {cache}"
    return (
        f'{addr} - {user} [{time}] "{request}" {status} {size} "{referer}" "{agent}" {rt} '
        f"{tail}{end}"
    )


def _write(path: Path, records: list[tuple[str, ...]], quoted: bool, latin: bool) -> None:
    data = "\n".join(_render(r, quoted) for r in records).encode() + b"\n"
    if latin:  # a header sent as Latin-1: the line is not UTF-8
        data = data.replace("é".encode(), b"\xe9")
    path.write_bytes(data)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(_records(), min_size=1, max_size=40), latin=st.booleans())
def test_scanner_reads_as_the_regex_does(
    tmp_path_factory: pytest.TempPathFactory, records: list[tuple[str, ...]], latin: bool
) -> None:
    p = tmp_path_factory.mktemp("scan") / "a.log"
    _write(p, records, True, latin)
    _same(p, QUOTED)
    _same(p, QUOTED, errors="raise")
    _write(p, records, False, latin)  # unquoted lists: "a, b : c" items
    _same(p, CUSTOM)


@settings(max_examples=30, deadline=None)
@given(
    records=st.lists(_records(), min_size=1, max_size=60),
    block=st.integers(64, 4096),
    end=st.sampled_from(["\n", "", "\r\n"]),
)
def test_scanner_across_blocks(
    tmp_path_factory: pytest.TempPathFactory,
    records: list[tuple[str, ...]],
    block: int,
    end: str,
) -> None:
    p = tmp_path_factory.mktemp("blocks") / "a.log"
    text = "\ufeff" + end.join(_render(r, True) for r in records) + end
    p.write_bytes(text.encode())
    _same(p, QUOTED, block=block)
    _same(p, QUOTED, errors="raise", block=block)


@pytest.mark.parametrize(
    "fmt",
    [
        COMBINED,
        MAIN,
        QUOTED,
        CUSTOM,
        '$remote_addr $request_time $request_time "$request" $status',  # repeated variable
        '[$time_iso8601] $msec $request_method $request_uri $status "$http_host"',
        "$status $body_bytes_sent $request_time $upstream_response_time",  # ends with a list
        "$status $body_bytes_sent $remote_addr",  # the last field takes the rest
        'log_format j escape=none \'"$request" $status "$http_user_agent"\';',
    ],
)
def test_scanner_formats(tmp_path: Path, fmt: str) -> None:
    lines = [
        '10.0.0.1 - - [03/Dec/2026:13:47:26 +0000] "GET /a?b=1 HTTP/1.1" 200 5 "-" "curl/8"',
        '::1 - bob [03/Dec/2026:13:47:27 -0500] "POST /x\\x22y HTTP/2.0" 201 - "r" "a\\\\b" '
        "0.012 0.004, 0.006 : 0.002 HIT",
        '[2026-12-03T13:47:26+00:00] 1764769646.123 GET /z?q 404 "example.com"',
        '"GET /a HTTP/1.1" 200 "UA \\x22quoted\\x22"',
        "200 512 0.250 0.100, 0.150",
        "200 512 1.2.3.4 and more",
        '1.2.3.4 0.5 0.5 "GET / HTTP/1.0" 301',
        "",
        "garbage",
    ]
    p = tmp_path / "a.log"
    p.write_text("\n".join(lines * 3) + "\n")
    _same(p, fmt)


def test_scanner_on_the_real_sample() -> None:
    fmt = (SAMPLE / "log_format.txt").read_text()
    df = _same(SAMPLE / "access.log.gz", fmt, errors="raise", block=20_000)
    assert isinstance(df, pl.DataFrame) and df.height == 3000
    assert _scan.scanner(_nginx.compile_format(*_nginx.parse_nginx_format(fmt))) is not None


def test_scanner_big_log_is_one_frame_in_order(tmp_path: Path) -> None:
    line = (
        '10.0.0.1 - - [03/Dec/2026:13:47:{s:02d} +0000] "GET /p/{i}?x HTTP/1.1" 200 {i} '
        '"-" "ua" 0.0{j} "0.001, 0.00{j}" "HIT"\n'
    )
    body = "".join(line.format(s=i % 60, i=i, j=i % 10) for i in range(30_000))
    body += (
        'bad line\n10.0.0.1 - - [03/Dec/2026:13:47:26 +0000] "\\x16\\x03" 400 0 "-" "-" - "-" "-"\n'
    )
    p = tmp_path / "big.log"
    p.write_text(body * 2)
    df, msg = one_warning(read_nginx_log, p, QUOTED, errors="skip")
    assert df.height == 60_002 and "skipped 2" in msg and "line 30001" in msg
    assert df["bytes"].to_list()[:3] == [0, 1, 2] and df["method"][30_000] is None
    assert df["upstream_ms"][7] == pytest.approx(8.0)
    _same(p, QUOTED, block=1 << 20)

"""CDN log readers: CloudFront standard logs, Cloudflare Logpush, Fastly JSON.

The fixtures in ``data/`` follow the documented formats field for field:

* ``cloudfront.log`` — the 33 fields of a CloudFront standard (legacy) log, in the order
  of the CloudFront Developer Guide's "Standard logging reference" (log file fields),
  then a second ``#Fields`` line with v2 fields (``origin-fbl``, ``origin-lbl``,
  ``asn``, ``c-country``, ``cache-behavior-path-pattern``) in another order.
* ``cloudflare.jsonl`` / ``cloudflare_default_fields.jsonl`` — Logpush ``http_requests``
  fields as named in Cloudflare's dataset reference (``logpush-job/datasets/zone/
  http_requests``), ``timestamp_format`` ``unixnano`` and ``rfc3339``; the second holds
  only the nine fields a new Logpush job gets by default.
* ``fastly.jsonl`` — the keys of the JSON example in Fastly's logging docs
  (``timestamp`` via ``strftime("%Y-%m-%dT%H:%M:%S%z", time.start)``, ``geo_country``
  = ``client.geo.country_name``, ``response_state`` = ``fastly_info.state``,
  ``response_body_size``, ``fastly_server`` = ``server.identity``) plus ``time_elapsed``.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflab.api.schema import REQUESTS
from perflab.cdn.read import read_cloudflare, read_cloudfront, read_fastly
from perflab.cdn.schema import CDN_REQUESTS
from perflab.errors import InputError, ParameterError
from tests.strategies import iso_times
from tests.warned import no_warning, one_warning

DATA = Path(__file__).parent / "data"
UTC = dt.UTC


def at(h: int, m: int, s: int, us: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 30, h, m, s, us, tzinfo=UTC)


def test_schema_starts_with_the_api_request_columns() -> None:
    assert CDN_REQUESTS.names[: len(REQUESTS.names)] == REQUESTS.names
    assert CDN_REQUESTS.names[len(REQUESTS.names) :] == [
        "provider",
        "edge",
        "country",
        "ttfb_ms",
        "origin_ms",
        "cache_hit",
    ]


# --------------------------------------------------------------------------- CloudFront


def test_cloudfront_legacy_fields() -> None:
    df = no_warning(read_cloudfront, DATA / "cloudfront.log")
    assert df.columns[: len(CDN_REQUESTS.names)] == CDN_REQUESTS.names
    assert df.schema["time"] == pl.Datetime("us", "UTC")
    hit, page, refresh, hung_up, redirect = df.head(5).iter_rows(named=True)
    assert hit["time"] == at(14, 0, 1)
    assert hit["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0; Win64; x64) ")
    assert hit["bytes"] == 48211  # sc-bytes: headers included …
    assert hit["content_length"] == 47800  # … the body is sc-content-len
    assert (hit["duration_ms"], hit["ttfb_ms"]) == (4.0, 2.0)
    assert (hit["edge"], hit["country"], hit["provider"]) == ("IAD89-C1", "US", "cloudfront")
    assert (hit["cache_status"], hit["cache_hit"]) == ("Hit", True)
    assert hit["host"] == "shop.example.com"
    assert hit["distribution_host"] == "d111111abcdef8.cloudfront.net"
    assert hit["request_id"] == "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ=="
    assert (hit["protocol"], hit["scheme"], hit["client_port"]) == ("HTTP/2.0", "https", 51234)
    # CloudFront's own layer of percent-encoding is undone once: what the viewer sent
    assert page["path"] == "/blog/caf%C3%A9%20guide"
    assert page["query"] == "utm_source=news&ref=a%2Fb"
    assert page["referer"] is None  # "-"
    assert page["content_type"] == "text/html"  # "text/html;%20charset=utf-8"
    assert page["content_length"] is None
    assert (page["cache_hit"], page["country"]) == (False, "DE")
    assert (refresh["cache_status"], refresh["cache_hit"]) == ("RefreshHit", True)
    # a viewer that hung up on a hit: status 000, result Error, but answered from cache
    assert hung_up["status"] is None
    assert hung_up["cache_status"] == "Error"
    assert hung_up["response_result_type"] == "Hit"
    assert hung_up["detailed_result_type"] == "ClientHungUpRequest"
    assert hung_up["cache_hit"] is True
    assert (redirect["cache_status"], redirect["cache_hit"]) == ("Redirect", None)
    assert redirect["ssl_protocol"] is None
    assert redirect["country"] == "SG"
    assert df["origin_ms"].head(5).null_count() == 5  # legacy logs do not say


def test_cloudfront_second_fields_line_takes_over() -> None:
    df = read_cloudfront(DATA / "cloudfront.log")
    assert df.height == 8
    later = df.tail(3)
    assert later["path"].to_list() == ["/api/products/4711", "/api/cart", "/favicon.ico"]
    assert later["method"].to_list() == ["GET", "POST", "GET"]
    assert later["bytes"].to_list() == [2890, 1540, 4580]
    # the viewer's country (v2 c-country) replaces the edge's, upper-cased
    assert later["country"].to_list() == ["BR", "FR", "FR"]
    assert later["origin_ms"].to_list() == [131.0, 180.0, None]
    assert later["upstream_ms"].to_list() == later["origin_ms"].to_list()
    assert later["origin_last_byte_ms"].to_list() == [132.0, 181.0, None]
    assert later["asn"].to_list() == [64496, 64497, 64497]
    assert later["cache_behavior_path_pattern"].to_list()[0] == "/api/*"
    assert later["content_type"].to_list()[1] == "application/json"
    assert df.head(5)["asn"].null_count() == 5  # fields absent from the first part


def test_cloudfront_gzip_and_concatenated_files(tmp_path: Path) -> None:
    text = (DATA / "cloudfront.log").read_bytes()
    gz = tmp_path / "E2EXAMPLE.2026-11-30-14.a1b2c3d4.gz"
    gz.write_bytes(gzip.compress(text) + gzip.compress(text))  # two members, as `cat` makes
    df = read_cloudfront(gz)
    plain = read_cloudfront(DATA / "cloudfront.log")
    assert df.height == 2 * plain.height
    assert df.head(plain.height).equals(plain)


def test_cloudfront_crlf_and_spaces_instead_of_tabs(tmp_path: Path) -> None:
    lines = (DATA / "cloudfront.log").read_text().splitlines()
    p = tmp_path / "copy.log"
    # an editor's copy: CRLF line ends, and one line whose tabs became spaces
    lines[3] = lines[3].replace("\t", " ")
    p.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    df = no_warning(read_cloudfront, p)
    assert df.equals(read_cloudfront(DATA / "cloudfront.log"))


def _bad_log(tmp_path: Path, *bad: tuple[int, str]) -> Path:
    lines = (DATA / "cloudfront.log").read_text().splitlines()
    for index, line in bad:
        lines[index] = line
    p = tmp_path / "bad.log"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_cloudfront_line_with_too_few_fields_names_its_line(tmp_path: Path) -> None:
    lines = (DATA / "cloudfront.log").read_text().splitlines()
    short = "\t".join(lines[3].split("\t")[:20])
    p = _bad_log(tmp_path, (3, short))
    with pytest.raises(InputError) as err:
        read_cloudfront(p)
    assert err.value.line == 4
    assert "20 tab-separated fields" in err.value.reason and "names 33" in err.value.reason
    assert str(p) in str(err.value)


def test_cloudfront_bad_date_and_number(tmp_path: Path) -> None:
    lines = (DATA / "cloudfront.log").read_text().splitlines()
    fields = lines[4].split("\t")
    fields[0] = "30/11/2026"
    with pytest.raises(InputError, match="date/time") as err:
        read_cloudfront(_bad_log(tmp_path, (4, "\t".join(fields))))
    assert err.value.line == 5
    fields = lines[9].split("\t")
    fields[7] = "lots"  # sc-bytes of the second part
    with pytest.raises(InputError, match="sc-bytes: expected a number, found 'lots'") as err:
        read_cloudfront(_bad_log(tmp_path, (9, "\t".join(fields))))
    assert err.value.line == 10


def test_cloudfront_data_before_fields(tmp_path: Path) -> None:
    p = tmp_path / "headless.log"
    p.write_text("\n".join((DATA / "cloudfront.log").read_text().splitlines()[2:4]) + "\n")
    with pytest.raises(InputError, match="before any '#Fields:' line") as err:
        read_cloudfront(p)
    assert err.value.line == 1


def test_cloudfront_skip_warns_once_and_keeps_the_rest(tmp_path: Path) -> None:
    lines = (DATA / "cloudfront.log").read_text().splitlines()
    p = _bad_log(tmp_path, (3, "garbage"), (9, "2026-11-30\t15:00:00\tGRU3-C1"))
    df, message = one_warning(read_cloudfront, p, errors="skip")
    assert df.height == 6
    assert "skipped 2 unreadable line(s)" in message and "line 4:" in message
    assert "/api/products/4711" not in df["path"].to_list()
    assert lines[2].split("\t")[7] in df["path"].to_list()


def test_cloudfront_empty_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    df = no_warning(read_cloudfront, empty)
    assert df.height == 0 and df.schema == CDN_REQUESTS.empty().schema
    head = tmp_path / "quiet-hour.log"
    head.write_text("\n".join((DATA / "cloudfront.log").read_text().splitlines()[:2]) + "\n")
    df = no_warning(read_cloudfront, head)
    assert df.height == 0 and df.columns == CDN_REQUESTS.names


def test_cloudfront_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress((DATA / "cloudfront.log").read_bytes() * 40)
    p = tmp_path / "cut.log.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_cloudfront(p)
    df, message = one_warning(read_cloudfront, p, errors="skip")
    assert "truncated" in message
    whole = read_cloudfront(DATA / "cloudfront.log")
    assert 0 < df.height < 40 * whole.height  # the whole lines before the cut
    n = min(5, df.height)
    assert df.head(n).equals(whole.select(df.columns).head(n))


_LEGACY = (DATA / "cloudfront.log").read_text().splitlines()[1:7]  # #Fields + 5 rows
_WANT = read_cloudfront(DATA / "cloudfront.log").head(5)
_CANONICAL = ["time", "path", "query", "status", "bytes", "user_agent", "cache_hit", "edge"]


@settings(max_examples=25)
@given(st.permutations(range(33)), st.integers(0, 33))
def test_cloudfront_any_field_order_and_choice(order: list[int], drop: int) -> None:
    """Whatever fields a log has and in whatever order, each lands in its column."""
    import tempfile

    keep = [k for k in order if k != drop or k < 2]  # date and time stay
    names = _LEGACY[0].removeprefix("#Fields: ").split()
    rows = [line.split("\t") for line in _LEGACY[1:]]
    text = "#Version: 1.0\n#Fields: " + " ".join(names[k] for k in keep) + "\n"
    text += "".join("\t".join(row[k] for k in keep) + "\n" for row in rows)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "shuffled.log"
        p.write_text(text)
        df = read_cloudfront(p)
    dropped = names[drop] if 2 <= drop < 33 else None
    for column in _CANONICAL:
        if dropped is not None and _FIELD_OF.get(column) == dropped:
            assert df[column].null_count() == 5
        elif column == "cache_hit" and dropped == "x-edge-response-result-type":
            # the hung-up hit is judged by x-edge-result-type ("Error") alone then
            assert df[column].to_list() == [True, False, True, False, None]
        elif column == "cache_hit" and dropped == "x-edge-result-type":
            assert df[column].to_list() == _WANT[column].to_list()
            assert df["cache_status"].null_count() == 5
        else:
            assert df[column].to_list() == _WANT[column].to_list(), column


_FIELD_OF = {
    "path": "cs-uri-stem",
    "query": "cs-uri-query",
    "status": "sc-status",
    "bytes": "sc-bytes",
    "user_agent": "cs(User-Agent)",
    "edge": "x-edge-location",
}


@settings(max_examples=50)
@given(st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40))
def test_cloudfront_percent_encoding_round_trip(agent: str) -> None:
    """A user agent as CloudFront encodes it (spaces, %, non-ASCII) reads back as sent."""
    import tempfile
    from urllib.parse import quote

    encoded = quote(agent, safe="!#$&'()*+,/:;=?@[]~")
    text = "#Fields: date time cs(User-Agent)\n2026-11-30\t14:00:00\t" + encoded + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "ua.log"
        p.write_text(text)
        got = read_cloudfront(p)["user_agent"][0]
    assert got == (None if agent == "-" else agent)


@settings(max_examples=50)
@given(iso_times())
def test_cloudflare_reads_any_rfc3339_time(stamp: str) -> None:
    import re
    import tempfile

    # Python's own parser, with the fraction cut to µs (it stops at 6 digits)
    want = dt.datetime.fromisoformat(re.sub(r"(\.[0-9]{6})[0-9]+", r"\1", stamp))
    if want.tzinfo is None:
        want = want.replace(tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "t.log"
        p.write_text(f'{{"EdgeStartTimestamp":"{stamp}","EdgeResponseStatus":200}}\n')
        got = read_cloudflare(p)["time"][0]
    assert abs((got - want).total_seconds()) < 1e-6


# --------------------------------------------------------------------------- Cloudflare


def test_cloudflare_fields() -> None:
    df = no_warning(read_cloudflare, DATA / "cloudflare.jsonl")
    assert df.columns[: len(CDN_REQUESTS.names)] == CDN_REQUESTS.names
    hit, page, cart, reval, blocked = df.iter_rows(named=True)
    assert hit["time"] == at(14, 0, 0, 123456)  # unixnano, read exactly (µs kept)
    assert hit["duration_ms"] == pytest.approx(4.25)  # EdgeEnd − EdgeStart
    assert (hit["country"], hit["edge"], hit["provider"]) == ("DE", "FRA", "cloudflare")
    assert (hit["cache_status"], hit["cache_hit"]) == ("hit", True)
    assert hit["origin_ms"] is None and hit["origin_status"] is None  # origin never asked
    assert hit["ttfb_ms"] == 3.0
    assert (hit["bytes"], hit["body_bytes"], hit["cache_response_bytes"]) == (48390, 47800, 48390)
    # the ResponseHeaders custom field, header names in any case
    assert hit["cache_control"] == "public, max-age=31536000, immutable"
    assert hit["etag"] == '"5f3a"'
    assert (hit["request_id"], hit["protocol"], hit["asn"]) == ("8e7f6a5b4c3d2e1f", "HTTP/2", 64496)
    assert page["path"] == "/products/oak-lamp"
    assert page["query"] == "utm_source=news&ref=a%2Fb"  # as the viewer sent it
    assert page["duration_ms"] == 400.0
    assert (page["origin_ms"], page["upstream_ms"], page["origin_status"]) == (152.0, 152.0, 200)
    assert (page["cache_hit"], page["country"], page["edge"]) == (False, "US", "IAD")
    assert page["referer"] is None and page["content_type"] == "text/html"
    assert (cart["method"], cart["cache_status"], cart["cache_hit"]) == ("POST", "dynamic", False)
    assert cart["set_cookie"] is True and hit["set_cookie"] is False
    assert cart["country"] is None  # "xx": unknown
    assert reval["origin_ms"] == 61.0  # deprecated OriginResponseTime, in ns
    assert (reval["cache_hit"], reval["country"]) == (True, "T1")
    assert reval["cache_control"] is None and reval["set_cookie"] is None
    assert (blocked["status"], blocked["cache_hit"], blocked["origin_ms"]) == (403, None, None)


def test_cloudflare_default_fields_rfc3339(tmp_path: Path) -> None:
    df = no_warning(read_cloudflare, DATA / "cloudflare_default_fields.jsonl")
    assert df["time"].to_list() == [at(14, 0, 0), at(14, 0, 2)]
    assert df["query"].to_list() == [None, "page=2"]
    assert df["bytes"].to_list() == [38210, 51002]
    assert df["request_id"].to_list() == ["8e7f6a5b4c3d2e30", "8e7f6a5b4c3d2e31"]
    # fields the job did not choose are null columns; whole seconds give no duration
    for column in ("duration_ms", "ttfb_ms", "origin_ms", "cache_status", "cache_hit", "edge"):
        assert df[column].null_count() == 2, column
    # timestamp_format "unix": whole seconds too
    p = tmp_path / "unix.log"
    p.write_text('{"EdgeStartTimestamp":1796047200,"EdgeEndTimestamp":1796047201,'
                 '"ClientRequestURI":"/","EdgeResponseStatus":200}\n')  # fmt: skip
    one = read_cloudflare(p)
    assert one["time"].to_list() == [at(14, 0, 0)] and one["duration_ms"].to_list() == [None]


def test_cloudflare_malformed_line(tmp_path: Path) -> None:
    lines = (DATA / "cloudflare.jsonl").read_text().splitlines()
    lines.insert(2, lines[2][:40])  # a line cut in the middle of an object
    p = tmp_path / "cut.jsonl"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="not valid JSON") as err:
        read_cloudflare(p)
    assert err.value.line == 3
    df, message = one_warning(read_cloudflare, p, errors="skip")
    assert df.height == 5 and "line 3" in message


def test_cloudflare_bad_timestamp_and_not_cloudflare(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"EdgeStartTimestamp":"2026-11-30T14:00:00Z","EdgeResponseStatus":200}\n'
                 '{"EdgeStartTimestamp":"yesterday","EdgeResponseStatus":200}\n')  # fmt: skip
    with pytest.raises(InputError, match="EdgeStartTimestamp: expected") as err:
        read_cloudflare(p)
    assert err.value.line == 2
    with pytest.raises(InputError, match="not a Logpush http_requests file"):
        read_cloudflare(DATA / "fastly.jsonl")


def test_cloudflare_gzip_empty_and_truncated(tmp_path: Path) -> None:
    gz = tmp_path / "20261130T140000Z_20261130T140500Z_6f7c5b1a.log.gz"
    gz.write_bytes(gzip.compress((DATA / "cloudflare.jsonl").read_bytes()))
    assert read_cloudflare(gz).equals(read_cloudflare(DATA / "cloudflare.jsonl"))
    empty = tmp_path / "empty.log.gz"
    empty.write_bytes(gzip.compress(b""))
    df = no_warning(read_cloudflare, empty)
    assert df.height == 0 and df.schema == CDN_REQUESTS.empty().schema
    cut = tmp_path / "cut.log.gz"
    data = gzip.compress((DATA / "cloudflare.jsonl").read_bytes() * 50)
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_cloudflare(cut)


# --------------------------------------------------------------------------- Fastly


def test_fastly_documented_json_format() -> None:
    df = no_warning(read_fastly, DATA / "fastly.jsonl")
    assert df.columns[: len(CDN_REQUESTS.names)] == CDN_REQUESTS.names
    assert df["time"][0] == at(14, 0, 0)  # "+0000", strftime's %z
    assert df["edge"].to_list() == ["LHR", "FRA", "IAD", "NRT", "GRU", "AMS", "AMS"]
    assert df["country"].to_list() == ["GB", "DE", "US", "JP", "BR", "NL", None]  # Atlantis
    assert df["cache_status"].to_list() == [
        "HIT",
        "MISS",
        "PASS",
        "HIT-STALE",
        "HIT-SYNTH",
        "HITPASS",
        "ERROR",
    ]
    assert df["cache_hit"].to_list() == [True, False, False, True, None, False, False]
    first = df.row(0, named=True)
    assert first["duration_ms"] == 0.612  # time_elapsed, µs
    assert first["bytes"] == 24100 and first["body_bytes"] == 24100  # body only is logged
    assert first["referer"] == "https://shop.example.com/"
    assert first["fastly_server"] == "cache-lhr7345-LHR"
    assert (first["protocol"], first["city"]) == ("HTTP/2", "London")
    assert df["referer"][1] is None  # ""
    assert df["city"][2] is None  # VCL's "(null)"
    assert (df["path"][1], df["query"][1]) == ("/products/oak-lamp", "utm_source=news")
    assert df["method"][2] == "POST"
    assert df["ttfb_ms"].null_count() == df.height  # the example format has no TTFB


def test_fastly_mapping(tmp_path: Path) -> None:
    p = tmp_path / "custom.jsonl"
    p.write_text(
        '{"ts":1796047200250,"uri":"https://shop.example.com/a.js?v=1","code":"200",'
        '"dc":"ams","cc":"nl","elapsed_ms":12.5,"first_byte_ms":3.25,"bytes_out":1234,'
        '"state":"MISS-CLUSTER","hit":1,"shield":"cache-ams21045-AMS"}\n'
    )
    df = read_fastly(
        p,
        mapping={
            "time": "ts",
            "path": "uri",
            "status": "code",
            "edge": "dc",
            "country": "cc",
            "duration_ms": "elapsed_ms",
            "ttfb_ms": "first_byte_ms",
            "bytes": "bytes_out",
            "cache_status": "state",
        },
    )
    row = df.row(0, named=True)
    assert row["time"] == at(14, 0, 0, 250000)  # epoch ms
    assert (row["path"], row["query"], row["status"]) == ("/a.js", "v=1", 200)
    assert (row["edge"], row["country"]) == ("AMS", "NL")
    assert (row["duration_ms"], row["ttfb_ms"], row["bytes"]) == (12.5, 3.25, 1234)
    assert row["cache_hit"] is False
    assert row["shield"] == "cache-ams21045-AMS"  # unknown keys stay, as text
    flagged = read_fastly(p, mapping={"cache_hit": "hit", "cache_status": "state"})
    assert flagged["cache_hit"].to_list() == [True]  # the log's own flag wins
    with pytest.raises(ParameterError, match="not columns"):
        read_fastly(p, mapping={"latency": "elapsed_ms"})
    with pytest.raises(ParameterError, match="not in"):
        read_fastly(p, mapping={"duration_ms": "elapsed"})


def test_fastly_malformed_line_and_empty(tmp_path: Path) -> None:
    lines = (DATA / "fastly.jsonl").read_text().splitlines()
    lines[4] = "<134>2026-11-30T14:00:02Z cache-gru17622 shop[413]: not json"
    p = tmp_path / "fastly.log"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="not valid JSON") as err:
        read_fastly(p)
    assert err.value.line == 5
    df, message = one_warning(read_fastly, p, errors="skip")
    assert df.height == 6 and "skipped 1" in message
    empty = tmp_path / "empty.log"
    empty.write_text("\n\n")
    assert no_warning(read_fastly, empty).height == 0

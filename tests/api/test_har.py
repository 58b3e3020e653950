"""read_har on a HAR that headless Chromium recorded (data/sample/api/shop.har) and on
broken ones (tests/api/data/har/): Chromium's cache quirks, base64 bodies, header
casing and duplicates, and every kind of bad input with the line or entry it names."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import polars as pl
import pytest

from perflab.api import REQUESTS, read_har
from perflab.api.har import EXTRA, PAGES, read_har_pages
from perflab.errors import InputError, ParameterError
from tests.warned import no_warning, one_warning

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "api" / "shop.har"
DATA = Path(__file__).parent / "data" / "har"


@pytest.fixture(scope="module")
def shop() -> pl.DataFrame:
    return no_warning(read_har, SAMPLE, bodies=True)


def test_sample_has_the_canonical_columns_then_the_extra_ones(shop: pl.DataFrame) -> None:
    assert shop.columns == [*REQUESTS.names, *EXTRA, "body"]
    assert REQUESTS.validate(shop).schema == shop.schema
    assert shop["time"].dtype == pl.Datetime("us", "UTC")
    assert shop["client"].null_count() == shop.height


def test_sample_two_page_views_of_sixteen_requests(shop: pl.DataFrame) -> None:
    pages = no_warning(read_har_pages, SAMPLE)
    assert pages.schema == pl.Schema(PAGES.columns)
    assert pages["entries"].to_list() == [16, 16]
    assert pages["title"].to_list() == ["Corner Shop — perflab sample"] * 2
    assert pages["on_load_ms"].is_not_null().all()
    per_page = shop.group_by("page", maintain_order=True).len()
    assert per_page["page"].to_list() == pages["page"].to_list()
    assert per_page["len"].to_list() == [16, 16]
    assert set(shop["page_title"]) == {"Corner Shop — perflab sample"}
    chatty = shop.filter(pl.col("path").str.starts_with("/api/items/"))
    assert chatty.group_by("page").len()["len"].to_list() == [8, 8]


def test_sample_cached_entries_have_unknown_bytes(shop: pl.DataFrame) -> None:
    second = shop.filter(pl.col("page") == shop["page"][-1])
    cached = second.filter(pl.col("from_cache"))
    # the bundle, the stylesheet and the image come from the browser cache
    assert sorted(cached["path"]) == ["/img/hero.png", "/static/app.3f9a1c.js", "/static/style.css"]
    assert cached["bytes"].null_count() == 3  # Chromium's bodySize is negative
    assert cached["transfer_bytes"].to_list() == [0, 0, 0]
    assert (cached["content_bytes"] > 0).all()  # the body is still known, decoded
    assert cached["status"].to_list() == [200, 200, 200]
    assert not shop.filter(pl.col("page") == shop["page"][0])["from_cache"].any()


def test_sample_revalidation_recorded_as_200_without_body(shop: pl.DataFrame) -> None:
    html = shop.filter(pl.col("path") == "/")
    assert html["status"].to_list() == [200, 200]
    assert html["revalidated"].to_list() == [False, True]
    assert html["bytes"][1] == 0
    assert html["bytes"][0] > 0 and html["content_encoding"][0] == "gzip"
    assert html["content_type"].to_list() == ["text/html", "text/html"]


def test_sample_png_body_is_decoded_from_base64(shop: pl.DataFrame) -> None:
    png = shop.filter(pl.col("path") == "/img/hero.png")
    body = png["body"][0]
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", body[16:24]) == (320, 120)
    assert len(body) == png["content_bytes"][0] == png["bytes"][0]
    # Chromium does not keep Set-Cookie with a cached response
    assert png["set_cookie"].to_list() == [True, False]
    assert png["cache_control"][0] == "public, max-age=86400"
    js = shop.filter(pl.col("resource_type") == "script")["body"][0]
    assert js.startswith(b"// app.3f9a1c.js")  # text bodies are stored decompressed


def test_sample_aborted_request_and_404(shop: pl.DataFrame) -> None:
    aborted = shop.filter(pl.col("path") == "/api/recommendations")
    assert aborted["status"].null_count() == 2
    assert aborted["error"].to_list() == ["net::ERR_ABORTED"] * 2
    assert aborted["bytes"].null_count() == aborted["upstream_ms"].null_count() == 2
    assert aborted["content_type"].null_count() == 2  # Playwright's "x-unknown"
    assert shop.filter(pl.col("path") == "/api/promo/today")["status"].to_list() == [404, 404]
    assert shop.filter(pl.col("status").is_not_null())["error"].null_count() == 30


def test_sample_timings_minus_one_are_null(shop: pl.DataFrame) -> None:
    # Chromium writes dns/connect/ssl -1 on a reused connection
    reused = shop.filter(pl.col("status").is_not_null() & pl.col("dns_ms").is_null())
    assert reused.height > 0
    assert reused["connect_ms"].null_count() == reused["ssl_ms"].null_count() == reused.height
    fresh = shop.filter(pl.col("dns_ms").is_not_null())
    assert (fresh["connect_ms"] >= 0).all()
    for col in ("dns_ms", "connect_ms", "ssl_ms", "send_ms", "receive_ms", "upstream_ms"):
        assert (shop[col].drop_nulls() >= 0).all()
    assert (shop["duration_ms"] > 0).all()


def test_sample_header_casing_and_duplicates(shop: pl.DataFrame) -> None:
    items = shop.filter(pl.col("path").str.starts_with("/api/items/"))
    assert set(items["cache_status"]) == {"MISS", "MISS, MISS from edge-2"}
    cart = shop.filter(pl.col("path") == "/api/cart")
    assert cart["cache_control"].to_list() == ["no-store, private"] * 2
    assert shop["user_agent"].drop_nulls().str.contains("HeadlessChrome").all()
    search = shop.filter(pl.col("path") == "/api/search")
    assert search["query"][0] == "q=%3Cscript%3Ealert(1)%3C/script%3E"  # as Chromium sent it
    assert shop["host"].str.starts_with("127.0.0.1:").all()
    assert set(shop["protocol"]) == {"HTTP/1.1"}


def test_gzip_har_reads_the_same(shop: pl.DataFrame, tmp_path: Path) -> None:
    gz = tmp_path / "shop.har.gz"
    gz.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert read_har(gz, bodies=True).equals(shop)


def test_headers_any_case_and_repeated() -> None:
    row = no_warning(read_har, DATA / "headers.har").row(0, named=True)
    assert row["cache_control"] == "public, max-age=600"
    assert row["cache_status"] == "HIT, REVALIDATED"
    assert row["content_encoding"] == "br"
    assert row["etag"] == 'W/"abc"'
    assert row["vary"] == "Accept-Encoding, Cookie"
    assert row["age"] == "42"
    assert row["set_cookie"] is True
    assert row["content_type"] == "application/json"
    assert row["user_agent"] == "fixture/1.0"
    assert row["referer"] == "https://shop.test/?q=<b>"


def test_script_in_url_kept_verbatim() -> None:
    row = read_har(DATA / "headers.har").row(0, named=True)
    assert row["path"] == "/search"
    assert row["query"] == "q=<script>alert('x')</script>&page=2"
    assert row["host"] == "shop.test"
    assert str(row["time"]) == "2026-03-01 10:00:00+00:00"


def test_timings_and_sizes_minus_one_are_null() -> None:
    row = read_har(DATA / "headers.har").row(0, named=True)
    assert row["dns_ms"] is None and row["blocked_ms"] is None and row["ssl_ms"] is None
    assert row["upstream_ms"] == 12.0 and row["duration_ms"] == 20.5
    assert row["bytes"] == 10 and row["transfer_bytes"] == 110
    assert row["from_cache"] is False


def test_pages_minus_one_is_null() -> None:
    pages = read_har_pages(DATA / "headers.har")
    assert pages.height == 1
    assert pages["on_content_load_ms"][0] is None
    assert pages["on_load_ms"][0] == 50.0
    assert pages["entries"][0] == 1


def test_malformed_json_names_its_line() -> None:
    with pytest.raises(InputError, match=r"malformed\.har:4: not valid JSON") as exc:
        read_har(DATA / "malformed.har")
    assert exc.value.line == 4
    assert "column" in exc.value.reason
    with pytest.raises(InputError, match="not valid JSON"):
        read_har(DATA / "malformed.har", errors="skip")  # a document error raises anyway


def test_truncated_har_says_so() -> None:
    text = (DATA / "truncated.har").read_text()
    last = text.rstrip().count("\n") + 1
    with pytest.raises(InputError, match="truncated") as exc:
        read_har(DATA / "truncated.har")
    assert exc.value.line == last


def test_truncated_gzip_har(tmp_path: Path) -> None:
    gz = tmp_path / "cut.har.gz"
    gz.write_bytes(gzip.compress(SAMPLE.read_bytes())[:50_000])
    with pytest.raises(InputError, match="truncated"):
        read_har(gz)


def test_not_a_har() -> None:
    with pytest.raises(InputError, match=r"not a HAR: no log\.entries"):
        read_har(DATA / "not_a_har.json")


def test_entry_without_url_raises_naming_it() -> None:
    with pytest.raises(InputError, match=r"log\.entries\[1\]: no request\.url"):
        read_har(DATA / "no_url.har")


def test_entry_without_url_skipped_with_one_warning() -> None:
    df, msg = one_warning(read_har, DATA / "no_url.har", errors="skip")
    assert df["path"].to_list() == ["/a"]
    assert "skipped 2 unreadable HAR entries" in msg
    assert "log.entries[1]: no request.url" in msg and "log.entries[2]" in msg


def test_bad_base64_body(tmp_path: Path) -> None:
    text = (DATA / "headers.har").read_text()
    bad = tmp_path / "b64.har"
    bad.write_text(
        text.replace(
            '"mimeType": "application/json; charset=UTF-8"',
            '"mimeType": "image/png", "encoding": "base64", "text": "not*base64"',
        )
    )
    assert read_har(bad).height == 1  # bodies are looked at only when asked for
    with pytest.raises(InputError, match=r"log\.entries\[0\]: .*not valid base64"):
        read_har(bad, bodies=True)


def test_empty_entries_give_an_empty_typed_frame() -> None:
    df, msg = one_warning(read_har, DATA / "empty.har", bodies=True)
    assert df.height == 0
    assert df.schema == pl.Schema({**REQUESTS.columns, **EXTRA, "body": pl.Binary})
    assert "no requests" in msg
    assert read_har_pages(DATA / "empty.har")["entries"].to_list() == [0]


def test_blank_file_gives_an_empty_frame(tmp_path: Path) -> None:
    blank = tmp_path / "blank.har"
    blank.write_text("\n")
    df = no_warning(read_har, blank)
    assert df.height == 0 and df.columns == [*REQUESTS.names, *EXTRA]
    assert read_har_pages(blank).height == 0


def test_unknown_errors_mode() -> None:
    with pytest.raises(ParameterError):
        read_har(DATA / "headers.har", errors="ignore")  # type: ignore[arg-type]

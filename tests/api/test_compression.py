"""compression_savings: real gzip/brotli/zstd sizes on captured bodies, cross-checked
against the libraries called directly; MIME-based estimates where no body exists;
already-compressed formats; Lighthouse's thresholds; and the per-type summary."""

from __future__ import annotations

import base64
import gzip
import json
import random
import zlib
from pathlib import Path
from typing import Any

import brotli
import pandas as pd
import polars as pl
import pytest
import zstandard

from perflab.api import REQUESTS, read_har, read_nginx_log
from perflab.api.compression import (
    DEFAULT_LEVELS,
    MIME_RATIOS,
    STATIC_LEVELS,
    SUMMARY,
    _encoder,
    compression_candidates,
    compression_savings,
    compression_summary,
)
from perflab.errors import ParameterError, SchemaError
from tests.warned import no_warning

SAMPLES = Path(__file__).parents[2] / "data" / "sample" / "api"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
JPEG = b"\xff\xd8\xff\xe0" + random.Random(3).randbytes(20_000)
WOFF2 = b"wOF2" + random.Random(4).randbytes(12_000)


def api_json(n: int, seed: int = 7) -> bytes:
    """A JSON API response of ``n`` records as an application would send it."""
    rnd = random.Random(seed)
    words = ["red", "blue", "cotton", "shirt", "lamp", "oak", "table", "mug", "steel", "wool"]
    items = [
        {
            "id": rnd.randrange(10**6),
            "sku": f"SKU-{rnd.randrange(16**8):08x}",
            "name": " ".join(rnd.choice(words) for _ in range(3)).title(),
            "price": round(rnd.uniform(1, 500), 2),
            "in_stock": rnd.random() > 0.3,
            "tags": rnd.sample(words, 2),
            "updated_at": f"2026-0{rnd.randrange(1, 10)}-1{rnd.randrange(10)}T10:00:00Z",
        }
        for _ in range(n)
    ]
    return json.dumps({"items": items, "total": n, "page": 1}).encode()


def frame(**cols: list[Any]) -> pl.DataFrame:
    return pl.DataFrame(cols, strict=False)


def one(df: pl.DataFrame, **kw: Any) -> dict[str, Any]:
    return compression_savings(df, repeat=1, **kw).row(0, named=True)


# Measured ------------------------------------------------------------------------


def test_measured_sizes_are_what_the_libraries_give() -> None:
    body = api_json(150)
    row = one(frame(content_type=["application/json"], bytes=[len(body)], body=[body]))
    assert row["method_used"] == "measured"
    assert row["identity_bytes"] == len(body)
    assert row["gzip_bytes"] == len(gzip.compress(body, compresslevel=6, mtime=0))
    assert row["br_bytes"] == len(brotli.compress(body, quality=5))
    assert row["zstd_bytes"] == len(zstandard.ZstdCompressor(level=3).compress(body))
    for enc in ("gzip", "br", "zstd"):
        assert row[f"{enc}_ms"] >= 0


@pytest.mark.parametrize(
    ("enc", "decode"),
    [
        ("gzip", gzip.decompress),
        ("deflate", zlib.decompress),
        ("br", brotli.decompress),
        ("zstd", zstandard.ZstdDecompressor().decompress),
    ],
)
def test_what_is_measured_decodes_back_to_the_body(enc: str, decode: Any) -> None:
    body = api_json(40)
    encoded = _encoder(enc, DEFAULT_LEVELS[enc])(body)
    assert decode(encoded) == body
    row = one(frame(content_type=["application/json"], body=[body]), encodings=[enc])
    assert row[f"{enc}_bytes"] == len(encoded)


def test_levels_override_the_defaults() -> None:
    body = api_json(100)
    df = frame(content_type=["application/json"], body=[body])
    row = one(df, levels={"gzip": 1, "br": 11}, encodings=("gzip", "br", "deflate"))
    assert row["gzip_bytes"] == len(gzip.compress(body, compresslevel=1, mtime=0))
    assert row["br_bytes"] == len(brotli.compress(body, quality=11))
    assert row["deflate_bytes"] == len(zlib.compress(body, 6))
    assert list(compression_savings(df, encodings=["zstd"]).columns).count("gzip_bytes") == 0


def test_static_levels_are_extra_columns() -> None:
    body = api_json(60)
    out = compression_savings(
        frame(content_type=["application/json", "image/png"], body=[body, PNG]),
        static=True,
        repeat=1,
    )
    row = out.row(0, named=True)
    assert row["br_static_bytes"] == len(brotli.compress(body, quality=STATIC_LEVELS["br"]))
    assert row["gzip_static_bytes"] == len(gzip.compress(body, compresslevel=9, mtime=0))
    assert row["zstd_static_bytes"] <= row["zstd_bytes"]
    assert out["br_static_bytes"][1] is None  # not compressed for nothing


def test_repetitive_json_shows_a_large_saving() -> None:
    body = json.dumps([{"id": i, "status": "active", "role": "user"} for i in range(2000)])
    row = one(frame(content_type=["application/json"], bytes=[len(body)], body=[body.encode()]))
    assert row["compressible"] is True
    assert row["best_encoding"] in ("br", "zstd", "gzip")
    assert row["best_bytes"] == min(row["gzip_bytes"], row["br_bytes"], row["zstd_bytes"])
    assert row["saving_bytes"] == row["served_bytes"] - row["best_bytes"]
    assert row["saving_pct"] > 90
    assert row["worth_it"] is True


def test_a_tiny_body_is_best_left_alone() -> None:
    row = one(frame(content_type=["application/json"], bytes=[15], body=[b'{"results": []}']))
    assert row["best_encoding"] == "identity"
    assert row["saving_bytes"] == 0
    assert row["worth_it"] is False


def test_body_served_gzip_saves_relative_to_the_gzip_sent() -> None:
    body = api_json(200)
    sent = len(gzip.compress(body, compresslevel=9, mtime=0))
    row = one(
        frame(
            content_type=["application/json"],
            content_encoding=["gzip"],
            bytes=[sent],
            body=[body],
        )
    )
    assert row["served_bytes"] == sent
    assert row["content_encoding"] == "gzip"
    assert row["best_encoding"] == "br"
    assert row["saving_bytes"] == sent - row["br_bytes"]
    assert 0 < row["saving_bytes"] < len(body) - row["br_bytes"]


def test_nothing_beats_what_is_served_means_no_saving() -> None:
    body = api_json(200)
    sent = len(brotli.compress(body, quality=11))
    row = one(
        frame(content_type=["application/json"], content_encoding=["br"], bytes=[sent], body=[body])
    )
    assert (row["best_encoding"], row["best_bytes"], row["saving_bytes"]) == ("br", sent, 0)
    assert row["saving_pct"] == 0.0


@pytest.mark.parametrize(
    ("mime", "body"),
    [
        ("image/jpeg", JPEG),
        ("font/woff2", WOFF2),
        ("image/png", PNG),
        ("application/json", gzip.compress(api_json(50))),  # a body captured still encoded
        ("application/octet-stream", b"PK\x03\x04" + bytes(3000)),  # a zip
    ],
)
def test_compressed_formats_are_kept_but_not_compressible(mime: str, body: bytes) -> None:
    row = one(frame(content_type=[mime], bytes=[len(body)], body=[body]))
    assert row["compressible"] is False
    assert row["method_used"] == "measured"
    assert (row["best_encoding"], row["best_bytes"]) == ("identity", len(body))
    assert row["saving_bytes"] == 0
    assert row["saving_pct"] == 0.0
    assert row["worth_it"] is False


def test_jpeg_really_does_not_shrink() -> None:
    row = one(frame(content_type=["image/jpeg"], body=[JPEG]))
    assert row["gzip_bytes"] >= len(JPEG)


def test_identical_bodies_give_identical_sizes() -> None:
    body = api_json(30)
    out = compression_savings(frame(content_type=["application/json"] * 3, body=[body] * 3))
    assert out["br_bytes"].n_unique() == 1
    assert out["method_used"].to_list() == ["measured"] * 3


def test_body_larger_than_the_limit_is_estimated() -> None:
    body = api_json(100)
    row = one(frame(content_type=["application/json"], body=[body]), max_body_bytes=1000)
    assert row["method_used"] == "estimated"
    assert row["identity_bytes"] == len(body)
    assert row["gzip_ms"] is None


# Estimated -----------------------------------------------------------------------


def test_rows_without_body_are_estimated_from_the_mime_type() -> None:
    out = compression_savings(
        frame(
            content_type=["text/html; charset=utf-8", "application/vnd.api+json", "image/webp"],
            bytes=[50_000, 8_000, 30_000],
        )
    )
    assert out["method_used"].to_list() == ["estimated"] * 3
    assert out["gzip_ms"].null_count() == 3
    html = MIME_RATIOS.filter(pl.col("family") == "html").row(0, named=True)
    assert out["gzip_bytes"][0] == round(50_000 * html["gzip"]) + 20
    assert out["compressible"].to_list() == [True, True, False]
    assert out["saving_bytes"][2] == 0


def test_unknown_type_without_body_is_not_guessed() -> None:
    row = one(frame(content_type=["application/octet-stream"], bytes=[5000]))
    assert row["method_used"] is None
    assert row["compressible"] is None
    assert row["saving_bytes"] is None
    assert row["worth_it"] is False


def test_json_estimate_is_within_a_factor_of_two_of_a_measurement() -> None:
    body = api_json(120)
    measured = one(frame(content_type=["application/json"], body=[body]))
    estimated = one(frame(content_type=["application/json"], content_bytes=[len(body)]))
    assert estimated["method_used"] == "estimated"
    for enc in ("gzip", "br", "zstd"):
        ratio = estimated[f"{enc}_bytes"] / measured[f"{enc}_bytes"]
        assert 0.5 <= ratio <= 2, (enc, ratio)


def test_identity_from_the_served_encoding_when_only_bytes_are_known() -> None:
    row = one(frame(content_type=["application/json"], content_encoding=["gzip"], bytes=[1600]))
    json_gzip = MIME_RATIOS.filter(pl.col("family") == "json")["gzip"][0]
    assert row["identity_bytes"] == round(1600 / json_gzip)
    assert row["served_bytes"] == 1600


def test_nginx_gzip_ratio_marks_gzip_and_gives_the_identity_size() -> None:
    fmt = (SAMPLES / "log_format.txt").read_text()
    log = no_warning(read_nginx_log, SAMPLES / "access.log.gz", fmt)
    out = compression_savings(log)
    gz = log["gzip_ratio"].is_not_null()
    assert gz.any()
    assert (out.filter(gz)["content_encoding"] == "gzip").all()
    first = log.filter(gz).row(0, named=True)
    assert out.filter(gz)["identity_bytes"][0] == round(first["bytes"] * first["gzip_ratio"])
    assert (out["method_used"] == "estimated").all()


# Lighthouse's thresholds -----------------------------------------------------------


def json_served(sent: int, identity: int) -> dict[str, Any]:
    """A JSON response served gzip, no body: estimated br is 4 + 0.14 × identity."""
    return one(
        frame(
            content_type=["application/json"],
            content_encoding=["gzip"],
            bytes=[sent],
            content_bytes=[identity],
        )
    )


def test_worth_it_needs_1400_bytes() -> None:
    assert json_served(15_404, 100_000)["saving_bytes"] == 1400
    assert json_served(15_404, 100_000)["worth_it"] is True
    assert json_served(15_403, 100_000)["worth_it"] is False


def test_worth_it_needs_5_percent_unless_20000_bytes() -> None:
    small = json_served(29_404, 200_000)  # 1,400 bytes but 4.8 %
    assert (small["saving_bytes"], small["worth_it"]) == (1400, False)
    big = json_served(420_004, 2_857_143)  # 20,000 bytes at 4.8 %
    assert (big["saving_bytes"], big["saving_pct"], big["worth_it"]) == (20_000, 4.76, True)


def test_thresholds_can_be_changed() -> None:
    df = frame(
        content_type=["application/json"],
        content_encoding=["gzip"],
        bytes=[29_404],
        content_bytes=[200_000],
    )
    assert compression_savings(df, min_pct=4.0)["worth_it"][0] is True
    assert compression_savings(df, min_bytes=2000, min_pct=0)["worth_it"][0] is False


# Sizes that are not on the wire ----------------------------------------------------


def test_null_bytes_fall_back_to_identity_or_to_our_measurement() -> None:
    body = api_json(80)
    out = compression_savings(
        frame(
            content_type=["application/json"] * 3,
            content_encoding=[None, "gzip", "deflate"],
            bytes=[None, None, None],
            transfer_bytes=[0, 0, 900],
            body=[body, body, body],
        ),
        repeat=1,
    )
    assert out["served_bytes"].to_list() == [len(body), out["gzip_bytes"][1], 900]


def test_a_304_has_nothing_to_save() -> None:
    row = one(frame(content_type=["text/html"], bytes=[0], body=[b"<p>hi</p>" * 400]))
    assert row["saving_bytes"] == 0
    assert row["worth_it"] is False


# HAR -------------------------------------------------------------------------------


def test_base64_bodies_from_a_har_are_decoded_then_measured(tmp_path: Path) -> None:
    text = api_json(60)

    def entry(url: str, mime: str, body: bytes) -> dict[str, Any]:
        return {
            "startedDateTime": "2026-01-02T10:00:00Z",
            "time": 5,
            "request": {"method": "GET", "url": url, "headers": []},
            "response": {
                "status": 200,
                "bodySize": len(body),
                "headers": [],
                "content": {
                    "size": len(body),
                    "mimeType": mime,
                    "encoding": "base64",
                    "text": base64.b64encode(body).decode(),
                },
            },
            "timings": {"wait": 1},
        }

    har = {
        "log": {
            "version": "1.2",
            "entries": [
                entry("https://shop.test/api/items", "application/json", text),
                entry("https://shop.test/logo.png", "image/png", PNG),
            ],
        }
    }
    path = tmp_path / "b64.har"
    path.write_text(json.dumps(har))
    out = compression_savings(no_warning(read_har, path, bodies=True), repeat=1)
    assert out["method_used"].to_list() == ["measured", "measured"]
    assert out["identity_bytes"].to_list() == [len(text), len(PNG)]
    assert out["br_bytes"][0] == len(brotli.compress(text, quality=5))
    assert out["compressible"].to_list() == [True, False]


@pytest.fixture(scope="module")
def shop() -> pl.DataFrame:
    har = no_warning(read_har, SAMPLES / "shop.har", bodies=True)
    return compression_savings(har, repeat=1)


def test_real_har_is_measured(shop: pl.DataFrame) -> None:
    assert (shop["method_used"] == "measured").sum() >= 1
    assert shop.height == 32
    css = shop.filter(pl.col("path") == "/static/style.css").row(0, named=True)
    # served without compression: Lighthouse would flag it, and so do we
    assert css["content_encoding"] is None
    assert css["worth_it"] is True
    png = shop.filter(pl.col("path") == "/img/hero.png")
    assert not png["compressible"].any()
    failed = shop.filter(pl.col("path") == "/api/recommendations")
    assert failed["method_used"].to_list() == [None, None]


def test_real_har_served_gzip_gets_brotli_over_gzip(shop: pl.DataFrame) -> None:
    js = shop.filter(pl.col("path").str.ends_with(".js")).row(0, named=True)
    assert js["content_encoding"] == "gzip"
    assert js["served_bytes"] < js["identity_bytes"]
    assert js["saving_bytes"] == js["served_bytes"] - js["br_bytes"]


# Frames in, frames out -------------------------------------------------------------


def test_empty_frame_gives_empty_result_with_the_columns() -> None:
    full = compression_savings(frame(content_type=["text/css"], bytes=[100]))
    empties: list[Any] = [REQUESTS.empty(), pl.DataFrame(), []]
    for empty in empties:
        out = compression_savings(empty)
        assert out.height == 0
        assert out.schema == full.schema
    summary = compression_summary(compression_savings(REQUESTS.empty()))
    assert summary.height == 0
    assert summary.schema == pl.Schema(SUMMARY.columns)


def test_pandas_input_and_route_passthrough() -> None:
    body = api_json(20)
    df = pd.DataFrame(
        {
            "method": ["GET"],
            "path": ["/api/items/7"],
            "route": ["/api/items/{id}"],
            "content_type": ["application/json"],
            "body": [body],
        }
    )
    out = compression_savings(df, repeat=1)
    assert out.columns[:4] == ["method", "host", "path", "route"]
    assert out["route"][0] == "/api/items/{id}"
    assert out["identity_bytes"][0] == len(body)


@pytest.mark.parametrize(
    "kw",
    [
        {"encodings": ["lzma"]},
        {"encodings": []},
        {"levels": {"br": 12}},
        {"levels": {"gzip": "6"}},
        {"levels": {"snappy": 1}},
        {"repeat": 0},
        {"min_bytes": -1},
        {"max_body_bytes": -5},
    ],
)
def test_bad_parameters(kw: dict[str, Any]) -> None:
    with pytest.raises(ParameterError):
        compression_savings(frame(content_type=["text/css"], bytes=[100]), **kw)


def test_summary_adds_up_per_content_type(shop: pl.DataFrame) -> None:
    table = compression_summary(shop)
    assert table.schema == pl.Schema(SUMMARY.columns)
    assert table["responses"].sum() == shop.height
    known = table.filter(pl.col("served_bytes").is_not_null())
    assert (known["saving_bytes"] == known["served_bytes"] - known["best_bytes"]).all()
    json_row = table.filter(pl.col("content_type") == "application/json").row(0, named=True)
    assert json_row["measured"] == shop.filter(pl.col("content_type") == "application/json").height
    assert json_row["estimated"] == 0
    assert table["saving_bytes"].drop_nulls().is_sorted(descending=True)
    png = table.filter(pl.col("content_type") == "image/png").row(0, named=True)
    assert (png["compressible"], png["saving_bytes"]) == (0, 0)
    nothing = table.filter(pl.col("content_type").is_null()).row(0, named=True)
    assert nothing["served_bytes"] is None


def test_candidates_list_each_compressible_url_once_biggest_saving_first(
    shop: pl.DataFrame,
) -> None:
    savings = shop
    out = compression_candidates(savings)
    keys = ["host", "path", "query", "content_encoding"]
    assert out.height == out.unique(subset=keys).height  # each URL once
    assert out["compressible"].all()
    # every compressible URL of the page is there, none that is not
    want = savings.filter(pl.col("compressible").fill_null(False)).select(keys).unique()
    assert sorted(out.select(keys).rows(), key=str) == sorted(want.rows(), key=str)
    saving = out["saving_bytes"].drop_nulls().to_list()
    assert saving == sorted(saving, reverse=True) and saving[0] > 0
    assert out.columns == savings.columns


def test_candidates_need_the_savings_columns() -> None:
    with pytest.raises(SchemaError, match="compressible"):
        compression_candidates(pl.DataFrame({"path": ["/a"]}))

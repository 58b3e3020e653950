"""Cache-Control parsing and asset classes: what a cache would read, what a build emits."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perflab.cdn.headers import (
    DELTA_SECONDS_MAX,
    asset_class,
    cache_directives,
    directive_exprs,
    hash_token,
    header_column,
    parse_cache_control,
)
from perflab.errors import SchemaError

T0 = dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC)

# --------------------------------------------------------------------------- one value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("public, max-age=31536000, immutable",
         {"public": True, "max-age": 31536000, "immutable": True}),
        ("Public, MAX-AGE=600", {"public": True, "max-age": 600}),
        ('max-age="60"', {"max-age": 60}),
        ("max-age=60, max-age=3600", {"max-age": 60}),  # the first occurrence wins
        ("max-age=0, s-maxage=60, stale-while-revalidate=86400, stale-if-error=600",
         {"max-age": 0, "s-maxage": 60, "stale-while-revalidate": 86400,
          "stale-if-error": 600}),
        ('no-cache="Set-Cookie, Set-Cookie2", private',
         {"no-cache": "Set-Cookie, Set-Cookie2", "private": True}),
        ("no-store", {"no-store": True}),
        ("max-age=99999999999999999999", {"max-age": DELTA_SECONDS_MAX}),
        ("max-age=abc, public", {"public": True}),
        ("max-age=-1", {}),
        ("max-age=60;public", {}),  # `;` is no separator: the value is not a number
        ("", {}),
        (None, {}),
        (",, ,=x, public ,", {"public": True}),
        ('community="UCI"', {"community": "UCI"}),
    ],
)  # fmt: skip
def test_parse_cache_control(value: str | None, expected: dict) -> None:
    assert parse_cache_control(value) == expected


_DIRECTIVE = st.sampled_from(
    ["public", "private", "no-store", "no-cache", "immutable", "must-revalidate",
     "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error", "x-ext"]
)  # fmt: skip
_VALUE = st.one_of(
    st.none(),
    st.integers(0, 10**12).map(str),
    st.integers(0, 10**6).map(lambda n: f'"{n}"'),
    st.sampled_from(["abc", "-1", '"Set-Cookie, max-age=5"', "", "1.5"]),
)
_CASE = st.sampled_from([str.lower, str.upper, str.title])


@st.composite
def _header(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(_CASE)(draw(_DIRECTIVE))
        value = draw(_VALUE)
        space = draw(st.sampled_from(["", " ", "  "]))
        parts.append(name if value is None else f"{name}={value}")
        parts[-1] = space + parts[-1]
    return ",".join(parts)


@given(st.lists(_header(), min_size=1, max_size=20))
def test_the_vectorised_reading_agrees_with_the_scalar_parser(values: list[str]) -> None:
    df = pl.DataFrame({"cc": values})
    got = df.select(directive_exprs("cc").values())
    for value, row in zip(values, got.iter_rows(named=True), strict=True):
        d = parse_cache_control(value)
        assert row["max_age_s"] == d.get("max-age")
        assert row["s_maxage_s"] == d.get("s-maxage")
        assert row["swr_s"] == d.get("stale-while-revalidate")
        assert row["sie_s"] == d.get("stale-if-error")
        for column, name in [("no_store", "no-store"), ("no_cache", "no-cache"),
                             ("private", "private"), ("public", "public"),
                             ("immutable", "immutable")]:  # fmt: skip
            assert row[column] == (d.get(name) is True), (value, column)


# --------------------------------------------------------------------------- TTLs


def test_shared_ttl_prefers_s_maxage_then_max_age_then_expires() -> None:
    df = pl.DataFrame(
        {
            "time": [T0] * 7,
            "cache_control": [
                "public, max-age=600, s-maxage=60",
                "public, max-age=600",
                None,
                "public",
                "private, max-age=600",
                "no-cache, max-age=600",
                "no-store",
            ],
            "expires": [
                "Thu, 03 Dec 2026 16:30:00 GMT",  # ignored: max-age is there
                None,
                "Thu, 03 Dec 2026 16:30:00 GMT",  # an hour after the request
                None,
                None,
                None,
                None,
            ],
        }
    )
    out = cache_directives(df)
    assert out.get_column("ttl_s").to_list() == [60, 600, 3600, None, 0, 0, 0]
    assert out.get_column("browser_ttl_s").to_list() == [600, 600, 3600, None, 600, 0, 0]


def test_expires_in_the_past_or_invalid_means_already_expired() -> None:
    df = pl.DataFrame(
        {
            "time": [T0] * 3,
            "expires": ["0", "Thu, 01 Jan 1970 00:00:00 GMT", "Thursday, 03-Dec-26 15:31:00 GMT"],
        }
    )
    assert cache_directives(df).get_column("expires_s").to_list() == [0, 0, 60]


def test_expires_is_measured_from_the_date_header_when_logged() -> None:
    df = pl.DataFrame(
        {
            "time": [T0],
            "sent_http_expires": ["Thu, 03 Dec 2026 16:00:00 GMT"],
            "sent_http_date": ["Thu, 03 Dec 2026 15:59:00 GMT"],
        }
    )
    assert cache_directives(df).get_column("ttl_s").item() == 60


def test_nginx_column_names_are_read_like_har_ones() -> None:
    df = pl.DataFrame({"sent_http_cache_control": ["public, max-age=300"]})
    assert header_column(df, "Cache-Control") == "sent_http_cache_control"
    assert cache_directives(df).get_column("ttl_s").item() == 300


def test_a_frame_without_cache_control_gets_null_directives() -> None:
    out = cache_directives(pl.DataFrame({"path": ["/"]}))
    assert out.select("max_age_s", "public", "ttl_s").row(0) == (None, None, None)


# --------------------------------------------------------------------------- classes

# (path, content type, class) as real builds name their files
BUILDS = [
    # Next.js (app and pages router): everything under /_next/static/ is immutable
    ("/_next/static/chunks/app-3f9a8b7c1d2e.js", None, "hashed"),
    ("/_next/static/chunks/webpack-59c5c889f52620d6.js", None, "hashed"),
    ("/_next/static/chunks/pages/_app-8ae6c3e4f2a1b0c9.js", None, "hashed"),
    ("/_next/static/css/9b3a2f1e0c4d5a6b.css", None, "hashed"),
    ("/_next/static/media/a34f9d1faa5f3315-s.p.woff2", None, "hashed"),
    ("/_next/static/Wq6x3pPzQZ0mJk2b7nUaL/_buildManifest.js", None, "hashed"),
    # Vite / Rollup: name-<8 base64url chars>
    ("/assets/index-BkU3xT9_.js", None, "hashed"),
    ("/assets/vendor-DxYz12ab.js", None, "hashed"),
    ("/assets/index-C5LbmJ0G.css", None, "hashed"),
    ("/assets/logo-CQ8s1vFJ.svg", None, "hashed"),
    # webpack [name].[contenthash].js (20 hex), Angular (16 hex), Parcel (8 hex)
    ("/main.3f9a8b7c1d2e4f5a6b7c.js", None, "hashed"),
    ("/styles.8e1c5d2f3a4b6c7d.css", None, "hashed"),
    ("/polyfills.5cf1a2b3c4d5e6f7.js", None, "hashed"),
    ("/index.5f4e3d2c.js", None, "hashed"),
    # Create React App
    ("/static/js/main.8f3e2a1b.js", None, "hashed"),
    ("/static/js/787.3c5e9a1f.chunk.js", None, "hashed"),
    ("/static/css/main.4d2c1b0a.css", None, "hashed"),
    ("/static/media/logo.6ce24c58023cc2f8fd88.svg", None, "hashed"),
    # Gatsby
    ("/component---src-pages-index-js-5f4e3d2c1b0a.js", None, "hashed"),
    # webpack [contenthash:6]
    ("/static/app.3f9a1c.js", None, "hashed"),
    # not hashed: names that look a little like it
    ("/js/app-settings.js", None, "static"),
    ("/js/app-Settings.js", None, "static"),
    ("/jquery-3.7.1.min.js", None, "static"),
    ("/lib/bootstrap.bundle.min.js", None, "static"),
    ("/deadbeef.js", None, "static"),
    ("/img/hero-image2024.png", None, "image"),
    ("/report-20240101.pdf", None, "other"),
    # the other classes
    ("/static/style.css", "text/css", "static"),
    ("/media/intro.mp4", None, "static"),
    ("/favicon.ico", None, "image"),
    ("/img/hero.png", "image/png", "image"),
    ("/fonts/inter.woff2", None, "font"),
    ("/fonts/Inter.TTF", None, "font"),
    ("/", "text/html", "html"),
    ("/", None, "html"),
    ("/products/shoes", None, "html"),
    ("/index.html", None, "html"),
    ("/api/items/1", "application/json", "api"),
    ("/api/users/7", "text/plain", "api"),  # an error page under /api/ is still the API
    ("/graphql", None, "api"),
    ("/v1/orders", "application/problem+json", "api"),
    ("/robots.txt", "text/plain", "other"),
    ("/flaky", "text/plain", "other"),
    # the content type wins over the extension: an SPA fallback is HTML
    ("/static/missing.js", "text/html", "html"),
    ("/render", "image/webp", "image"),
    ("/font", "font/woff2", "font"),
]


@pytest.mark.parametrize(("path", "content_type", "expected"), BUILDS)
def test_asset_class_of_real_build_output(
    path: str, content_type: str | None, expected: str
) -> None:
    df = pl.DataFrame({"path": [path], "content_type": [content_type]},
                      schema={"path": pl.String, "content_type": pl.String})  # fmt: skip
    assert asset_class(df).get_column("asset_class").item() == expected


def test_asset_class_over_a_whole_frame_matches_row_by_row() -> None:
    df = pl.DataFrame(
        {"path": [p for p, _, _ in BUILDS], "content_type": [c for _, c, _ in BUILDS]},
        schema={"path": pl.String, "content_type": pl.String},
    )
    assert asset_class(df).get_column("asset_class").to_list() == [c for *_, c in BUILDS]


def test_hash_token_names_the_hash() -> None:
    assert hash_token("/static/js/787.3c5e9a1f.chunk.js") == "3c5e9a1f"
    assert hash_token("/assets/index-BkU3xT9_.js") == "BkU3xT9_"
    assert hash_token("/js/app.js") is None


def test_more_hashed_prefixes_can_be_given() -> None:
    df = {"path": ["/_nuxt/entry.js", "/_next/static/x.js"]}
    assert asset_class(df).get_column("asset_class").to_list() == ["static", "hashed"]
    nuxt = asset_class(df, hashed_prefixes=["/_nuxt/"])
    assert nuxt.get_column("asset_class").to_list() == ["hashed", "static"]


def test_asset_class_needs_a_path() -> None:
    with pytest.raises(SchemaError, match="path"):
        asset_class({"url": ["/"]})

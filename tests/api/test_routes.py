"""Route templating: ids, UUIDs, hashes, slugs and crowded positions become parameters."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest

from perflab.api import template_path, template_routes
from perflab.api.samples import day_log
from perflab.errors import InputError, ParameterError, SchemaError

UUID = "550e8400-e29b-41d4-a716-446655440000"


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/users/123", "/users/{id}"),
        ("/users/456/orders/789", "/users/{id}/orders/{id}"),
        (f"/orders/{UUID}", "/orders/{id}"),
        (f"/orders/{UUID.upper()}", "/orders/{id}"),
        ("/commits/5f2b9c1e8d7a", "/commits/{id}"),
        ("/objects/507f1f77bcf86cd799439011", "/objects/{id}"),
        ("/products/blue-running-shoe-42", "/products/{id}"),
        ("/blog/how-we-cut-p99-latency", "/blog/{id}"),
        ("/reports/2026-12-03", "/reports/{id}"),
        ("/keys/sk_live_4eC39HqLyjWDarjtT1zdp7dc", "/keys/{id}"),
        # literals stay literals
        ("/api/v2/user-settings", "/api/v2/user-settings"),
        ("/about", "/about"),
        ("/", "/"),
        ("/cafe/beef", "/cafe/beef"),  # hex-looking words, too short for a hash
        # build hashes inside file names keep the name and extension
        ("/static/app.3f9a1c2e.js", "/static/app.{hash}.js"),
        ("/assets/index-BkU3xT9_.js", "/assets/index-{hash}.js"),
        (
            "/_next/static/chunks/pages/_app-3f9a1c2e7b6d5a4c.js",
            "/_next/static/chunks/pages/_app-{hash}.js",
        ),
        ("/static/css/main.073c9b0a.chunk.css", "/static/css/main.{hash}.chunk.css"),
        ("/_next/static/css/81fdb500a6eaf0d5.css", "/_next/static/css/{hash}.css"),
        ("/favicon.ico", "/favicon.ico"),
        ("/manifest.json", "/manifest.json"),
        ("/sitemap-index.xml", "/sitemap-index.xml"),
        ("/jquery-3.7.1.min.js", "/jquery-3.7.1.min.js"),
    ],
)
def test_a_segment_is_a_parameter_by_its_shape(path: str, route: str) -> None:
    assert template_path(path) == route
    # the vectorised path gives the same answer as the one-path function
    assert template_routes(pl.DataFrame({"path": [path]}))["route"][0] == route


def test_names_by_kind() -> None:
    got = template_path(f"/u/12/o/{UUID}/d/2026-01-02/s/big-red-shoe-9", names="kind")
    assert got == "/u/{int}/o/{uuid}/d/{date}/s/{slug}"


def test_users_with_names_collapse_once_a_position_is_crowded() -> None:
    names = [f"/users/{n}" for n in ("alice", "bob", "carol")]
    few = template_routes(pl.DataFrame({"path": names}), max_children=5)
    assert few["route"].to_list() == names  # three names could be three pages
    many = [f"/users/{w}{c}" for w in ("al", "bo", "cy") for c in "abcdefghijklmnop"]
    got = template_routes(pl.DataFrame({"path": [*many, "/users/me/posts"]}), max_children=20)
    assert set(got["route"][:-1]) == {"/users/{id}"}
    assert got["route"][-1] == "/users/{id}/posts"
    # turned off, every name stays
    off = template_routes(pl.DataFrame({"path": many}), max_children=0)
    assert off["route"].n_unique() == len(many)


def test_rows_keep_their_order_columns_and_nulls() -> None:
    df = pl.DataFrame(
        {
            "method": ["GET", "GET", "POST", "GET"],
            "path": ["/a/1", None, "/a/2", "/b"],
            "status": [200, 400, 201, 200],
        }
    )
    out = template_routes(df)
    assert out.columns == ["method", "path", "route", "status"]
    assert out["route"].to_list() == ["/a/{id}", None, "/a/{id}", "/b"]
    assert out.drop("route").equals(df)
    # an existing route column is replaced, not duplicated
    assert template_routes(out).columns == out.columns


def test_many_rows_same_answer_as_one_by_one() -> None:
    rng = np.random.default_rng(3)
    shapes = ["/api/items/{}", "/p/{}-shoe", "/static/app.{}.js", "/x"]
    paths = [
        shapes[k].format(int(i)) if k != 2 else shapes[k].format(f"{int(i):08x}a")
        for k, i in zip(rng.integers(0, 4, 5000), rng.integers(0, 10**6, 5000), strict=True)
    ]
    out = template_routes(pl.DataFrame({"path": paths}), max_children=0)
    assert out["route"].to_list() == [template_path(p) for p in paths]


EDGE_PATHS = [
    "",
    "/",
    "//",
    "/a//b/",
    "users/123",  # no leading slash
    "/users/123/",
    f"/orders/{UUID}",
    f"/orders/{UUID.upper()}/items/7",
    "/reports/2026-12-03",
    "/reports/2026-12-3",
    "/commits/5f2b9c1e8d7a",
    "/objects/507f1f77bcf86cd799439011",
    "/hex/abcdefabcdefabcdef",  # 16+ hex letters, no digit
    "/hex/abcdefab",  # 8 hex letters: a word, not a hash
    "/cafe/beef/bad1/0",
    "/products/blue-running-shoe-42",
    "/blog/how-we-cut-p99-latency",
    "/blog/how-we-cut-it",
    "/blog/two-words",
    "/keys/sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "/keys/abcdefghijklmnopqrstuvwxyz",  # 20+ letters, no digit: no token
    "/keys/12345678901234567890_",
    "/api/v2/user-settings",
    "/static/app.3f9a1c2e.js",
    "/static/app.3f9a1c2e.js/source",  # a hashed file name that is not the last segment
    "/assets/index-BkU3xT9_.js",
    "/_next/static/chunks/pages/_app-3f9a1c2e7b6d5a4c.js",
    "/static/css/main.073c9b0a.chunk.css",
    "/_next/static/css/81fdb500a6eaf0d5.css",
    "/images/blue-shoe-42.webp",
    "/images/2026-12-03.png",
    "/invoice-12345678.pdf",
    "/favicon.ico",
    "/jquery-3.7.1.min.js",
    "/caf%C3%A9/d%C3%A9j%C3%A0-vu-2",
    "/café/déjà-vu-2/日本/١٢٣",
    "/a b/c%20d/123",
]


def test_every_path_is_templated_as_template_path_does() -> None:
    """The vectorised templating (distinct segments classified once, joined back) gives
    each path what the one-path reference function gives, on a day of the sample shop
    and on the edge cases, whatever the order, repeats and company of the paths."""
    log = day_log(lines=5_000)
    found = re.findall(rb'"[A-Z]+ (\S+) HTTP/[0-9.]+"', log)
    shop = sorted({p.split(b"?")[0].decode() for p in found})
    assert len(shop) > 500
    paths = [*shop, *EDGE_PATHS]
    rng = np.random.default_rng(5)
    rows = [paths[i] for i in rng.integers(0, len(paths), 3 * len(paths))] + paths
    frame = pl.DataFrame({"path": rows})
    for names in ("id", "kind"):
        got = template_routes(frame, max_children=0, names=names)["route"].to_list()
        assert got == [template_path(p, names=names) for p in rows], names
    # one path alone, as a whole frame of them
    for path in EDGE_PATHS:
        alone = template_routes(pl.DataFrame({"path": [path]}), max_children=0)
        assert alone["route"][0] == template_path(path), path


def test_empty_frame_and_missing_column() -> None:
    empty = template_routes(pl.DataFrame({"path": []}, schema={"path": pl.String}))
    assert empty.columns == ["path", "route"] and empty.height == 0
    with pytest.raises(SchemaError, match="path"):
        template_routes(pl.DataFrame({"url": ["/a"]}))
    with pytest.raises(ParameterError):
        template_routes(pl.DataFrame({"path": ["/a"]}), max_children=-1)


MANIFEST = {
    "version": 3,
    "pages404": True,
    "basePath": "",
    "staticRoutes": [
        {"page": "/", "regex": "^/(?:/)?$", "routeKeys": {}, "namedRegex": "^/(?:/)?$"},
        {"page": "/cart", "regex": "^/cart(?:/)?$", "routeKeys": {}, "namedRegex": "^/cart(?:/)?$"},
    ],
    "dynamicRoutes": [
        {
            "page": "/products/[slug]",
            "regex": "^/products/([^/]+?)(?:/)?$",
            "routeKeys": {"nxtPslug": "nxtPslug"},
            "namedRegex": "^/products/(?<nxtPslug>[^/]+?)(?:/)?$",
        },
        {
            "page": "/docs/[...path]",
            "regex": "^/docs/(.+?)(?:/)?$",
            "routeKeys": {"nxtPpath": "nxtPpath"},
            "namedRegex": "^/docs/(?<nxtPpath>.+?)(?:/)?$",
        },
    ],
    "dataRoutes": [
        {  # next build writes dataRouteRegex here, not regex
            "page": "/products/[slug]",
            "dataRouteRegex": "^/_next/data/([^/]+?)/products/([^/]+?)\\.json$",
        },
    ],
    "rewrites": [],
}


def test_next_manifest_routes_win_and_the_rest_is_classified(tmp_path) -> None:
    path = tmp_path / "routes-manifest.json"
    path.write_text(json.dumps(MANIFEST))
    df = pl.DataFrame(
        {
            "path": [
                "/",
                "/cart/",
                "/products/red-shoes",
                "/products/red-shoes/",
                "/docs/a/b/c",
                "/_next/data/BUILD123/products/red-shoes.json",
                "/api/items/7",
            ]
        }
    )
    got = template_routes(df, path)["route"].to_list()
    assert got == [
        "/",
        "/cart",
        "/products/{slug}",
        "/products/{slug}",
        "/docs/{path*}",
        "/_next/data/{build}/products/{slug}.json",
        "/api/items/{id}",
    ]
    # the loaded dict works the same, and a basePath is honoured
    based = {**MANIFEST, "basePath": "/shop"}
    assert template_routes(pl.DataFrame({"path": ["/shop/products/x"]}), based)["route"][0] == (
        "/shop/products/{slug}"
    )


def test_a_bad_manifest_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "routes-manifest.json"
    bad.write_text('{"staticRoutes": [')
    with pytest.raises(InputError, match=r"routes-manifest\.json"):
        template_routes(pl.DataFrame({"path": ["/a"]}), bad)
    other = tmp_path / "package.json"
    other.write_text('{"name": "x"}')
    with pytest.raises(InputError, match=r"not a Next\.js routes-manifest"):
        template_routes(pl.DataFrame({"path": ["/a"]}), other)
    with pytest.raises(InputError, match="no such file"):
        template_routes(pl.DataFrame({"path": ["/a"]}), tmp_path / "missing.json")


def test_scanners_at_the_root_do_not_swallow_the_sections() -> None:
    noise = [f"/scan{i}.php" for i in range(80)] + [f"/probe-{i}" for i in range(80)]
    df = pl.DataFrame({"path": ["/api/users/1", "/static/app.js", "/about", *noise]})
    got = template_routes(df)["route"].to_list()
    assert got[:3] == ["/api/users/{id}", "/static/app.js", "/about"]


def test_file_names_that_are_slugs_keep_their_extension() -> None:
    df = pl.DataFrame(
        {"path": ["/images/green-water-bottle-9.webp", "/images/blue-shoe-42.webp", "/logo.png"]}
    )
    assert template_routes(df)["route"].to_list() == ["/images/{id}.webp"] * 2 + ["/logo.png"]


def test_a_catch_all_page_does_not_swallow_files_and_data_routes() -> None:
    manifest = {
        "dynamicRoutes": [
            {
                "page": "/[[...slug]]",
                "regex": "^(?:/(.+?))?(?:/)?$",
                "namedRegex": "^(?:/(?<nxtPslug>.+?))?(?:/)?$",
            },
        ],
        "dataRoutes": [
            {"page": "/[[...slug]]", "dataRouteRegex": "^/_next/data/([^/]+?)/(.+?)\\.json$"},
        ],
    }
    df = pl.DataFrame(
        {
            "path": [
                "/shoes/red",
                "/_next/static/chunks/main-3f9a1c2e7b6d5a4c.js",
                "/favicon.ico",
                "/_next/data/b1/shoes/red.json",
            ]
        }
    )
    got = template_routes(df, manifest)["route"].to_list()
    assert got == [
        "/{slug*}",
        "/_next/static/chunks/main-{hash}.js",
        "/favicon.ico",
        "/_next/data/{build}/{slug*}.json",
    ]
    # a JavaScript named group in a regex is read too; a broken regex is an InputError
    js = {"dynamicRoutes": [{"page": "/p/[id]", "regex": "^/p/(?<id>[^/]+?)(?:/)?$"}]}
    assert template_routes(pl.DataFrame({"path": ["/p/x"]}), js)["route"][0] == "/p/{id}"
    bad = {"dynamicRoutes": [{"page": "/p/[id]", "regex": "^/p/([^/]+?$"}]}
    with pytest.raises(InputError, match="bad regex"):
        template_routes(pl.DataFrame({"path": ["/p/x"]}), bad)

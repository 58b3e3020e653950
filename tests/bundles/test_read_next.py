"""read_next_build / read_next_build_output on a real Next.js 15.5 build
(data/make/bundles_next.py): app router /, /chart (lodash), /time; pages router /legacy."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import brotli
import polars as pl
import pytest

from perflab.bundles import read_next_build, read_next_build_output
from perflab.bundles._next import NEXT_ROUTES
from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.errors import InputError, InputWarning

from .conftest import SAMPLE

NEXT = SAMPLE / "next"
DOT = NEXT / ".next"


@pytest.fixture(scope="module")
def nxt():
    return read_next_build(DOT)


@pytest.fixture(scope="module")
def table():
    return read_next_build_output(NEXT / "build-output.txt")


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / ".next"
    shutil.copytree(DOT, dest)
    return dest


def test_frames_follow_the_schemas(nxt):
    assert nxt.tool == "next"
    ASSETS.validate(nxt.assets)
    CHUNKS.validate(nxt.chunk_frame)
    ENTRYPOINTS.validate(nxt.entrypoints)
    assert nxt.module_frame.schema == MODULES.empty().schema
    assert nxt.reasons.height == 0 and set(REASONS.names) <= set(nxt.reasons.columns)


def test_routes_of_both_routers_are_entries(nxt):
    assert set(nxt.entrypoints["entry"]) == {
        "/",
        "/_not-found",
        "/chart",
        "/time",
        "/legacy",
        "/_error",
    }
    assert nxt.entrypoints["initial"].all()


def test_manifest_files_are_the_route_chunks(nxt):
    app = json.loads((DOT / "app-build-manifest.json").read_text())["pages"]
    pages = json.loads((DOT / "build-manifest.json").read_text())["pages"]

    def files(entry):
        return set(nxt.entrypoints.filter(entry=entry)["chunk"])

    assert files("/chart") == set(app["/chart/page"]) | set(app["/layout"])
    assert files("/legacy") == set(pages["/legacy"]) | set(pages["/_app"])
    # lodash sits in a chunk /chart alone loads
    only_chart = files("/chart") - files("/") - files("/time")
    assert len(only_chart) == 2


def test_sizes_are_measured_from_the_emitted_files(nxt):
    for asset, raw, gz, br, kind in nxt.assets.select(
        "asset", "size_bytes", "gzip_bytes", "brotli_bytes", "sizes"
    ).iter_rows():
        data = gzip.decompress((DOT / (asset + ".gz")).read_bytes())
        assert kind == "measured"
        assert raw == len(data)
        assert gz == len(gzip.compress(data, compresslevel=9, mtime=0))
        assert br == len(brotli.compress(data, quality=11))


def test_first_load_js_agrees_with_the_route_table(nxt, table):
    """Next prints First Load JS as the gzip size of a route's start files (kB =
    1000 B, 3 significant digits): the reader's initial chunks add up to it."""
    chunks = nxt.chunk_frame.select("chunk", "gzip_bytes")
    first = (
        nxt.entrypoints.join(chunks, on="chunk")
        .group_by("entry")
        .agg(total=pl.col("gzip_bytes").sum())
    )
    got = dict(first.iter_rows())
    routes = table.filter(kind="route")
    assert routes.height == 5
    for route, printed in routes.select("route", "first_load_bytes").iter_rows():
        assert abs(got[route] - printed) <= 0.006 * printed, route


def test_polyfills_and_build_manifest_belong_to_no_route(nxt):
    c = nxt.chunk_frame
    poly = c.filter(c["names"].list.first() == "polyfills")
    assert poly.height == 1 and not poly["initial"][0]
    assert poly["chunk"][0] not in set(nxt.entrypoints["chunk"])
    assert set(c.filter(entry=True)["chunk_id"]) == {
        "webpack",
        "main",
        "main-app",
        "framework",
        "pages/_app",
        "255",
        "4bd1b696",
    }


def test_without_output_sizes_compressed_sizes_are_estimated(nxt):
    b = read_next_build(DOT, output_sizes=False)
    assert set(b.assets["sizes"]) == {"estimated"}
    assert b.assets["size_bytes"].to_list() == nxt.assets["size_bytes"].to_list()
    assert b.output_dir is None


def test_project_folder_works_too(nxt):
    assert read_next_build(NEXT).entrypoints.equals(nxt.entrypoints)


def test_without_app_build_manifest_only_pages_routes(tmp_path):
    dot = _copy(tmp_path)
    (dot / "app-build-manifest.json").unlink()
    b = read_next_build(dot)
    assert set(b.entrypoints["entry"]) == {"/legacy", "/_error"}
    # the app router's files are still shipped chunks, of no route
    assert b.chunk_frame.filter(b.chunk_frame["chunk_id"] == "app/chart/page").height == 1


def test_route_table(table):
    NEXT_ROUTES.validate(table)
    r = {row["route"]: row for row in table.filter(kind="route").iter_rows(named=True)}
    assert r["/chart"]["size_bytes"] == 25_400 and r["/chart"]["first_load_bytes"] == 128_000
    assert r["/time"]["render"] == "dynamic" and r["/time"]["marker"] == "ƒ"
    assert r["/legacy"]["router"] == "pages" and r["/legacy"]["render"] == "ssg"
    shared = table.filter(kind="shared")
    assert shared.select("router", "size_bytes").rows() == [("app", 103_000), ("pages", 98_700)]
    assert table.filter(kind="shared_chunk").height == 6


def test_route_table_with_colours_and_prerendered_paths(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text(
        "\x1b[1mRoute (pages)\x1b[22m                              Size  First Load JS\n"
        "┌ ○ /                                      2.1 kB        80 kB\n"
        "├ ● /blog/[slug]                           1 kB          79 kB\n"
        "├   ├ /blog/a\n"
        "├   └ [+2 more paths]\n"
        "└ λ /api/x                                 0 B           78 kB\n"
        "+ First Load JS shared by all              78 kB\n"
        "  └ other shared chunks (total)            1.2 MB\n"
    )
    t = read_next_build_output(p)
    assert t.filter(kind="route")["route"].to_list() == ["/", "/blog/[slug]", "/api/x"]
    assert t.filter(kind="path")["route"].to_list() == ["/blog/a"]
    assert t.filter(kind="shared_chunk")["size_bytes"].to_list() == [1_200_000]


def test_route_table_bad_line_names_the_line(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("Route (app)   Size  First Load JS\n┌ ○ /    3 kB  90 kB\nboom\n")
    with pytest.raises(InputError, match=r"out\.txt.*3") as e:
        read_next_build_output(p)
    assert "boom" in str(e.value)
    p.write_text("Route (app)   Size  First Load JS\n┌ ○ /chart\n")
    with pytest.raises(InputError, match="First Load JS"):
        read_next_build_output(p)


def test_route_table_empty(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("")
    t = read_next_build_output(p)
    assert t.height == 0 and t.columns == NEXT_ROUTES.names


def test_text_without_a_route_table_warns(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("> next build --turbopack\n ✓ Compiled successfully\n")
    with pytest.warns(InputWarning, match=r"out\.txt: no 'Route \(app\)'"):
        t = read_next_build_output(p)
    assert t.height == 0 and t.columns == NEXT_ROUTES.names


def test_truncated_manifest_names_file_and_line(tmp_path):
    dot = _copy(tmp_path)
    text = (dot / "build-manifest.json").read_text()
    (dot / "build-manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"build-manifest\.json.*truncated"):
        read_next_build(dot)


def test_malformed_manifest_names_line_and_column(tmp_path):
    dot = _copy(tmp_path)
    (dot / "app-build-manifest.json").write_text('{\n  "pages": {\n    "/page": [,]\n  }\n}\n')
    with pytest.raises(InputError, match=r"app-build-manifest\.json.*3.*column") as e:
        read_next_build(dot)
    assert e.value.line == 3


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ('{"pages": []}', '"pages" should map'),
        ('{"pages": {"/x": "a.js"}}', '"pages" → "/x"'),
        ('{"rootMainFiles": {}}', '"rootMainFiles"'),
        ("[1, 2]", "not a Next.js manifest"),
    ],
)
def test_wrong_shape_names_the_field(tmp_path, doc, match):
    dot = _copy(tmp_path)
    (dot / "build-manifest.json").write_text(doc)
    with pytest.raises(InputError, match=match):
        read_next_build(dot)


def test_empty_manifests_are_an_empty_bundle(tmp_path):
    dot = _copy(tmp_path)
    (dot / "build-manifest.json").write_text("")
    (dot / "app-build-manifest.json").write_text("  \n")
    b = read_next_build(dot)
    assert b.tool == "next" and b.chunk_frame.height == 0 and b.entrypoints.height == 0
    CHUNKS.validate(b.chunk_frame)


def test_not_a_next_folder(tmp_path):
    with pytest.raises(InputError, match=r"not a Next\.js build folder"):
        read_next_build(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        read_next_build(tmp_path / "nope")

"""read_webpack_stats on real webpack 5.113 stats (data/sample/bundles) and on the
other shapes webpack writes: modules nested in chunks (webpack 4, ``chunkModules``),
multi-compiler ``children[]``, trimmed stats, truncated and empty files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli
import polars as pl
import pytest

from perflab.bundles import (
    read_esbuild_metafile,
    read_rollup_visualizer,
    read_source_map,
    read_webpack_stats,
    why_chains,
)
from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.errors import InputError

from .conftest import SAMPLE, load_stats


def write(tmp_path: Path, doc: object, name: str = "stats.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


def test_frames_follow_the_schemas(webpack_a):
    for frame, schema in [
        (webpack_a.assets, ASSETS),
        (webpack_a.chunk_frame, CHUNKS),
        (webpack_a.entrypoints, ENTRYPOINTS),
        (webpack_a.module_frame, MODULES),
        (webpack_a.reasons, REASONS),
    ]:
        assert frame.height > 0
        schema.validate(frame)
        assert frame.columns[: len(schema.names)] == schema.names
    assert (webpack_a.tool, webpack_a.version) == ("webpack", "5.113.0")


def test_measured_sizes_are_gzip_9_and_brotli_11_of_the_emitted_files(webpack_a):
    dist = SAMPLE / "a" / "output"
    assert set(webpack_a.assets["sizes"]) == {"measured"}
    for asset, raw, gz, br in webpack_a.assets.select(
        "asset", "size_bytes", "gzip_bytes", "brotli_bytes"
    ).iter_rows():
        data = gzip.decompress((dist / (asset + ".gz")).read_bytes())
        assert raw == len(data)
        assert gz == len(gzip.compress(data, compresslevel=9, mtime=0))
        assert br == len(brotli.compress(data, quality=11))


def test_assets_agree_with_the_sizes_webpack_wrote(webpack_a):
    stats = load_stats("a")
    wrote = {a["name"]: a["size"] for a in stats["assets"]}
    got = dict(webpack_a.assets.select("asset", "size_bytes").iter_rows())
    assert got == wrote


def test_without_output_dir_sizes_are_estimated_and_said_so(webpack_b):
    chunks = webpack_b.chunks()
    assert set(chunks["sizes"]) == {"estimated"}
    assert chunks["gzip_bytes"].is_not_null().all()
    assert (chunks["gzip_bytes"] < chunks["size_bytes"]).all()


def test_chunk_size_is_the_sum_of_its_js_files(webpack_a):
    sizes = dict(webpack_a.assets.select("asset", "size_bytes").iter_rows())
    for files, size in webpack_a.chunk_frame.select("files", "size_bytes").iter_rows():
        assert size == sum(sizes[f] for f in files if f.endswith(".js"))


def test_initial_belongs_to_entry_and_chunk(webpack_a):
    """A chunk main loads at start is loaded on demand by admin (FORMATS.md)."""
    eps = webpack_a.entrypoints
    stats = load_stats("a")
    main_start = {
        webpack_a.chunk_frame.filter(pl.col("chunk_id") == str(i))["chunk"][0]
        for i in stats["entrypoints"]["main"]["chunks"]
    }
    got = set(eps.filter((pl.col("entry") == "main") & pl.col("initial"))["chunk"])
    assert got == main_start
    both = eps.filter(pl.col("chunk").is_in(list(main_start)) & (pl.col("entry") == "admin"))
    assert False in set(both["initial"])  # admin reaches one of them by import()
    assert eps.filter(pl.col("chunk") == "settings")["initial"].to_list() == [False, False]


def test_modules_name_packages_and_commonjs_bailouts(webpack_a):
    mods = webpack_a.module_frame
    lodash = mods.filter(pl.col("module") == "./node_modules/lodash/lodash.js").row(0, named=True)
    assert lodash["package"] == "lodash"
    assert lodash["path"] == "node_modules/lodash/lodash.js"
    assert lodash["cjs_bailout"] is True
    assert any(b.startswith("CommonJS bailout") for b in lodash["bailouts"])
    legacy = mods.filter(pl.col("module") == "./src/legacy.js").row(0, named=True)
    assert legacy["package"] is None and legacy["cjs_bailout"] is True
    assert any("module.exports is used directly" in b for b in legacy["bailouts"])
    # the concatenated root only bails out about *other* modules: not CommonJS itself
    root = mods.filter(pl.col("module") == "./src/main.js")
    assert root["cjs_bailout"].to_list() == [False]
    assert set(mods["package"].drop_nulls()) == {"lodash", "moment", "date-fns"}


def test_concatenated_modules_are_one_row_each(webpack_a):
    stats = load_stats("a")
    roots = [m for m in stats["modules"] if m.get("modules")]
    assert roots
    mods = webpack_a.module_frame
    for root in roots:
        inner = mods.filter(pl.col("concatenated_in") == root["name"])
        assert set(inner["module"]) == {m["name"] for m in root["modules"]}
        assert root["name"] not in set(mods["module"])


def test_every_module_row_sits_in_a_known_chunk(webpack_a):
    assert set(webpack_a.module_frame["chunk"]) <= set(webpack_a.chunk_frame["chunk"])
    counts = dict(webpack_a.module_frame.group_by("chunk").len().iter_rows())
    for chunk, n in webpack_a.chunk_frame.select("chunk", "modules").iter_rows():
        assert counts.get(chunk, 0) == n


def test_reasons_say_why_lodash_debounce_is_in(webpack_a):
    r = webpack_a.reasons.filter(pl.col("module") == "./node_modules/lodash/debounce.js")
    assert "lodash/debounce" in set(r["user_request"])
    assert r.filter(pl.col("from_module").str.starts_with("./src/admin.js")).height
    entry = webpack_a.reasons.filter(pl.col("type") == "entry")
    assert entry["from_module"].null_count() == entry.height


def test_concatenated_roots_keep_their_reasons(webpack_a):
    """webpack lists the entry reason and the importers on the scope-hoisted root
    ("./src/main.js + 1 modules"), not on the inner modules: REASONS keeps them under
    the root's name as webpack prints it."""
    stats = load_stats("a")
    roots = {m["name"]: m for m in stats["modules"] if m.get("modules")}
    entry = webpack_a.reasons.filter(pl.col("type") == "entry")
    assert set(entry["module"]) == {
        "./src/main.js + 1 modules",
        "./src/admin.js + 2 modules",
        "./src/widget.js + 1 modules",
    }
    assert entry["from_module"].null_count() == entry.height
    for name, root in roots.items():
        got = webpack_a.reasons.filter(pl.col("module") == name)
        want = {(r.get("moduleName"), r.get("type"), r.get("userRequest")) for r in root["reasons"]}
        assert set(got.select("from_module", "type", "user_request").iter_rows()) == want
    fmt = webpack_a.reasons.filter(
        pl.col("module") == "./node_modules/date-fns/format.js + 31 modules"
    )
    assert set(fmt["from_module"]) == {
        "./src/admin.js + 2 modules",
        "./src/routes/reports.js + 1 modules",
    }


def test_why_chains_reach_the_entries_through_concatenated_roots(webpack_a):
    chains = why_chains(webpack_a, "date-fns", 10)
    assert chains
    assert {c[0] for c in chains} <= {"./src/main.js", "./src/admin.js", "./src/widget.js"}
    assert any(c[0] == "./src/admin.js" for c in chains)
    assert all(c[-1].startswith("./node_modules/date-fns/") for c in chains)
    # the reports route is imported by main (statically) and by admin (import())
    assert sorted(why_chains(webpack_a, "./src/routes/reports.js")) == [
        ["./src/admin.js", "./src/routes/reports.js"],
        ["./src/main.js", "./src/routes/reports.js"],
    ]


def test_real_webpack4_stats():
    """webpack 4.47 on the same sources: chunk names like vendors~admin~main, and
    CommonJS shows as "Module is not an ECMAScript module"."""
    b = read_webpack_stats(SAMPLE / "webpack4" / "stats.json.gz")
    assert b.version == "4.47.0"
    chunks = b.chunks()
    assert "vendors~admin~main" in set(chunks["chunk"])
    assert set(b.entrypoints["entry"]) == {"main", "admin", "widget"}
    moment = b.module_frame.filter(pl.col("module") == "./node_modules/moment/moment.js")
    assert moment["cjs_bailout"].all()
    assert "Module is not an ECMAScript module" in " ".join(moment["bailouts"][0])
    assert set(b.packages()["package"]) >= {"lodash", "moment", "date-fns", "(app)"}


def webpack4_shape(stats: dict) -> dict:
    """The sample rewritten the webpack 4 way: modules under chunks[], none on top."""
    by_id = {c["id"]: c for c in stats["chunks"]}
    for c in by_id.values():
        c["modules"] = []
    for m in stats["modules"]:
        for cid in m.get("chunks") or ():
            by_id[cid]["modules"].append(m)
    del stats["modules"]
    stats["version"] = "4.47.0"
    return stats


def test_modules_nested_in_chunks_only_read_the_same(tmp_path, webpack_a):
    b = read_webpack_stats(write(tmp_path, webpack4_shape(load_stats("a"))))
    assert b.version == "4.47.0"
    key = ["module", "chunk", "size_bytes"]
    assert b.module_frame.select(key).sort(key).equals(webpack_a.module_frame.select(key).sort(key))


def test_multi_compiler_reads_the_first_or_the_named_child(tmp_path, webpack_a):
    a, b = load_stats("a"), load_stats("b")
    a["name"], b["name"] = "client", "server"
    p = write(tmp_path, {"version": "5.113.0", "children": [a, b]})
    first = read_webpack_stats(p)
    assert first.module_frame.height == webpack_a.module_frame.height
    named = read_webpack_stats(p, child="server")
    assert "./node_modules/dayjs/dayjs.min.js" in set(named.module_frame["module"])
    with pytest.raises(InputError, match="no child compilation 'web'"):
        read_webpack_stats(p, child="web")


@pytest.mark.parametrize("field", ["chunks", "assets", "modules"])
def test_missing_fields_are_named(tmp_path, field):
    stats = load_stats("a")
    del stats[field]
    with pytest.raises(InputError, match=f"stats.json has no '{field}'"):
        read_webpack_stats(write(tmp_path, stats))


def test_not_stats_at_all(tmp_path):
    with pytest.raises(InputError, match=r"not a webpack stats\.json"):
        read_webpack_stats(write(tmp_path, [1, 2]))


def test_truncated_json_names_where_it_stops(tmp_path):
    text = json.dumps(load_stats("a"), indent=1)
    p = tmp_path / "cut.json"
    p.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match="truncated") as err:
        read_webpack_stats(p)
    assert err.value.line == text[: len(text) // 2].rstrip().count("\n") + 1


def test_truncated_gzip(tmp_path):
    raw = (SAMPLE / "a" / "stats.json.gz").read_bytes()
    p = tmp_path / "stats.json.gz"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_webpack_stats(p)


def test_malformed_json_names_the_line_and_column(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"assets": [],\n "chunks": [1,, 2]}')
    with pytest.raises(InputError, match=r"column 15") as err:
        read_webpack_stats(p)
    assert err.value.line == 2


@pytest.mark.parametrize("content", ["", "  \n"])
def test_empty_file_is_an_empty_bundle(tmp_path, content):
    p = tmp_path / "stats.json"
    p.write_text(content)
    b = read_webpack_stats(p)
    assert b.module_frame.height == 0 and b.chunks().height == 0
    assert b.packages().height == 0
    MODULES.validate(b.module_frame)


def test_output_dir_must_be_a_folder(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        read_webpack_stats(SAMPLE / "a" / "stats.json.gz", output_dir=tmp_path / "nope")


@pytest.mark.parametrize(
    "reader",
    [read_webpack_stats, read_esbuild_metafile, read_rollup_visualizer, read_source_map],
)
def test_a_null_document_is_not_an_empty_file(tmp_path, reader):
    p = write(tmp_path, None)
    with pytest.raises(InputError, match=r"stats\.json:1: the JSON document is null"):
        reader(p)


@pytest.mark.parametrize("reader", [read_esbuild_metafile, read_rollup_visualizer])
def test_truncated_json_of_the_other_bundlers(tmp_path, reader):
    name = "meta.json.gz" if reader is read_esbuild_metafile else "rollup-stats.json.gz"
    text = json.dumps(json.loads(gzip.decompress((SAMPLE / "a" / name).read_bytes())), indent=1)
    p = tmp_path / "cut.json"
    p.write_text(text[: len(text) // 3])
    with pytest.raises(InputError, match=r"cut\.json:\d+: .*truncated") as err:
        reader(p)
    assert err.value.line == text[: len(text) // 3].rstrip().count("\n") + 1

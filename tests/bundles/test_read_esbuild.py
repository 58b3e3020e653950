"""read_esbuild_metafile on real esbuild 0.28 metafiles (data/sample/bundles)."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from perflab.bundles import read_esbuild_metafile
from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.errors import InputError

from .conftest import SAMPLE


def meta() -> dict:
    return json.loads(gzip.decompress((SAMPLE / "a" / "meta.json.gz").read_bytes()))


def test_frames_follow_the_schemas(esbuild_a):
    for frame, schema in [
        (esbuild_a.assets, ASSETS),
        (esbuild_a.chunk_frame, CHUNKS),
        (esbuild_a.entrypoints, ENTRYPOINTS),
        (esbuild_a.module_frame, MODULES),
        (esbuild_a.reasons, REASONS),
    ]:
        assert frame.height > 0
        schema.validate(frame)


def test_module_bytes_are_bytes_in_output(esbuild_a):
    m = meta()
    for out, info in m["outputs"].items():
        if not out.endswith(".js"):
            continue
        got = esbuild_a.module_frame.filter(
            pl.col("chunk").is_in(
                esbuild_a.chunk_frame.filter(pl.col("chunk_id") == out.rsplit("/", 1)[1])[
                    "chunk"
                ].to_list()
            )
        )
        assert got["size_bytes"].sum() == sum(i["bytesInOutput"] for i in info["inputs"].values())


def test_entries_exclude_dynamic_import_targets(esbuild_a):
    """esbuild gives import() targets an entryPoint too; they are async chunks."""
    chunks = esbuild_a.chunk_frame
    assert set(chunks.filter(pl.col("entry"))["chunk"]) == {"main", "admin", "widget"}
    settings = chunks.filter(pl.col("chunk") == "settings").row(0, named=True)
    assert settings["initial"] is False
    eps = esbuild_a.entrypoints
    assert eps.filter((pl.col("entry") == "main") & (pl.col("chunk") == "settings"))[
        "initial"
    ].to_list() == [False]
    assert set(eps["entry"]) == {"main", "admin", "widget"}


def test_commonjs_inputs_are_flagged(esbuild_a):
    mods = esbuild_a.module_frame
    assert mods.filter(pl.col("module") == "node_modules/lodash/lodash.js")["cjs_bailout"].all()
    assert mods.filter(pl.col("module") == "src/legacy.js")["cjs_bailout"].all()
    assert not mods.filter(pl.col("module") == "src/main.js")["cjs_bailout"].any()


def test_reasons_and_issuers_from_imports(esbuild_a):
    r = esbuild_a.reasons
    assert r.filter(pl.col("type") == "entry-point")["module"].sort().to_list() == [
        "src/admin.js",
        "src/main.js",
        "src/widget.js",
    ]
    dyn = r.filter(pl.col("type") == "dynamic-import")
    assert "src/routes/settings.js" in set(dyn["module"])
    deb = esbuild_a.module_frame.filter(pl.col("module") == "node_modules/lodash/debounce.js")
    assert deb["issuer"].to_list() == ["src/admin.js"] and deb["depth"].to_list() == [1]


def test_build_b_adds_dayjs(esbuild_a, esbuild_b):
    assert "dayjs" not in set(esbuild_a.packages()["package"])
    assert "dayjs" in set(esbuild_b.packages()["package"])


def test_measured_with_output_dir(tmp_path):
    m = meta()
    out = tmp_path / "esbuild"
    out.mkdir()
    for path, info in m["outputs"].items():
        (out / path.rsplit("/", 1)[1]).write_bytes(b"x" * info["bytes"])
    b = read_esbuild_metafile(SAMPLE / "a" / "meta.json.gz", output_dir=out)
    assert set(b.assets["sizes"]) == {"measured"}
    assert set(b.chunk_frame["sizes"]) == {"measured"}


def test_not_a_metafile(tmp_path):
    p = tmp_path / "meta.json"
    p.write_text('{"assets": []}')
    with pytest.raises(InputError, match="not an esbuild metafile"):
        read_esbuild_metafile(p)


def test_truncated_and_empty(tmp_path):
    text = json.dumps(meta())
    p = tmp_path / "meta.json"
    p.write_text(text[:5000])
    with pytest.raises(InputError, match="truncated"):
        read_esbuild_metafile(p)
    p.write_text("")
    assert read_esbuild_metafile(p).module_frame.height == 0

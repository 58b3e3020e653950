"""read_rollup_visualizer on rollup-plugin-visualizer 5.14 raw data (rollup 4.69)."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from perflab.bundles import read_rollup_visualizer
from perflab.bundles.schema import CHUNKS, MODULES
from perflab.errors import InputError

from .conftest import SAMPLE


def raw() -> dict:
    return json.loads(gzip.decompress((SAMPLE / "a" / "rollup-stats.json.gz").read_bytes()))


def test_reads_chunks_modules_and_version(rollup_a):
    CHUNKS.validate(rollup_a.chunk_frame)
    MODULES.validate(rollup_a.module_frame)
    assert rollup_a.version == "4.69.1"
    assert set(rollup_a.chunk_frame.filter(pl.col("entry"))["chunk"]) == {
        "main",
        "admin",
        "widget",
    }
    assert rollup_a.chunk_frame.filter(pl.col("chunk") == "settings")["initial"].to_list() == [
        False
    ]


def test_module_sizes_are_rendered_lengths(rollup_a):
    data = raw()
    total = sum(p["renderedLength"] for p in data["nodeParts"].values())
    assert rollup_a.module_frame["size_bytes"].sum() == total
    assert set(rollup_a.chunk_frame["sizes"]) == {"estimated"}


def test_virtual_modules_get_clean_paths(rollup_a):
    paths = rollup_a.module_frame["path"]
    assert not paths.str.contains("\x00").any()
    assert not paths.str.starts_with("/").any()
    assert "node_modules/lodash/debounce.js" in set(paths)


@pytest.mark.parametrize(
    ("doc", "match"),
    [({"version": 1, "tree": {}, "nodeParts": {}, "nodeMetas": {}}, "version 1"), ({}, "raw-data")],
)
def test_wrong_documents(tmp_path, doc, match):
    p = tmp_path / "stats.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=match):
        read_rollup_visualizer(p)


def test_empty(tmp_path):
    p = tmp_path / "stats.json"
    p.write_text("")
    assert read_rollup_visualizer(p).chunks().height == 0

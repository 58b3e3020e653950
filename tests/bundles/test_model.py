"""Bundle: chunks(), modules() and packages() on the real webpack build."""

from __future__ import annotations

import polars as pl

from perflab.bundles.model import APP, PACKAGES, Bundle
from perflab.bundles.schema import MODULES
from perflab.bundles.sizes import GZIP_RATIO, asset_sizes, chunk_sizes


def test_chunks_biggest_first_with_the_contract_columns(webpack_a):
    c = webpack_a.chunks()
    assert {"chunk", "initial", "size_bytes", "gzip_bytes"} <= set(c.columns)
    assert c["size_bytes"].to_list() == sorted(c["size_bytes"].to_list(), reverse=True)


def test_module_gzip_shares_add_up_to_their_chunk(webpack_a):
    mods = webpack_a.modules()
    assert set(mods["sizes"]) == {"estimated"}
    per_chunk = dict(mods.group_by("chunk").agg(pl.col("gzip_bytes").sum()).iter_rows())
    for chunk, gz in webpack_a.chunk_frame.select("chunk", "gzip_bytes").iter_rows():
        if chunk in per_chunk:  # rounding per module: within one byte per module
            n = mods.filter(pl.col("chunk") == chunk).height
            assert abs(per_chunk[chunk] - gz) <= n


def test_packages_sum_modules_and_mark_initial(webpack_a):
    p = webpack_a.packages()
    assert p.schema == PACKAGES
    mods = webpack_a.modules()
    assert p["size_bytes"].sum() == mods["size_bytes"].sum()
    lodash = p.filter(pl.col("package") == "lodash").row(0, named=True)
    assert lodash["initial"] is True and lodash["chunk_count"] == len(lodash["chunks"]) >= 2
    app = p.filter(pl.col("package") == APP).row(0, named=True)
    assert app["modules"] == mods.filter(pl.col("package").is_null())["module"].n_unique()


def test_package_in_an_async_chunk_only_is_not_initial(webpack_b):
    dayjs = webpack_b.packages().filter(pl.col("package") == "dayjs").row(0, named=True)
    assert dayjs["chunks"] == ["settings"] and dayjs["initial"] is False


def test_default_ratio_for_chunks_without_compressed_size():
    mods = MODULES.build([{"module": "./a.js", "chunk": "x", "size_bytes": 1000, "bailouts": []}])
    b = Bundle.empty("webpack", "s.json")
    b = Bundle(**{**b.__dict__, "module_frame": mods})
    assert b.modules()["gzip_bytes"].to_list() == [round(1000 * GZIP_RATIO)]
    assert b.packages()["package"].to_list() == [APP]


def test_chunk_sizes_prefer_files_then_stats():
    chunks = pl.DataFrame(
        {"chunk": ["a", "b"], "files": [["a.js", "a.css", "a.js.map"], []], "size_bytes": [1, 500]}
    )
    assets = asset_sizes(["a.js", "a.css", "a.js.map"], [100, 50, 900], None)
    got = chunk_sizes(chunks, assets).select("chunk", "size_bytes", "sizes").rows()
    assert got == [("a", 150, "estimated"), ("b", 500, "estimated")]


def test_repr_says_what_it_holds(webpack_a):
    assert repr(webpack_a).startswith("<Bundle webpack 5.113.0")

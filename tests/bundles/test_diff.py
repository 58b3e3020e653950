"""Diff: statuses, deltas and a pull-request comment."""

from __future__ import annotations

import dataclasses

import polars as pl

from perflab.bundles.diff import diff
from perflab.bundles.model import Bundle

from .test_rules import _split, make_bundle


def _grown() -> Bundle:
    b = _split(False)
    chunks = b.chunk_frame.with_columns(
        pl.when(pl.col("chunk") == "entry-a")
        .then(pl.col("size_bytes") + 10_000)
        .otherwise(pl.col("size_bytes"))
        .alias("size_bytes")
    ).with_columns((pl.col("size_bytes") * 0.3).round(0).cast(pl.Int64).alias("gzip_bytes"))
    mods = pl.concat(
        [
            b.module_frame,
            make_bundle(
                [
                    {
                        "module": "./node_modules/a|b/index.js",
                        "package": "a|b",
                        "chunk": "entry-a",
                        "size_bytes": 10_000,
                    }
                ],
                [],
                {},
                [],
            ).module_frame,
        ]
    )
    return dataclasses.replace(b, chunk_frame=chunks, module_frame=mods, source="after.json")


def test_statuses_and_deltas() -> None:
    d = diff(_split(False), _grown())
    chunks = {r["chunk"]: r for r in d.chunks.iter_rows(named=True)}
    assert chunks["entry-a"]["status"] == "grown" and chunks["entry-a"]["delta_gzip"] == 3000
    assert chunks["entry-b"]["status"] == "unchanged"
    pk = {r["package"]: r for r in d.packages.iter_rows(named=True)}
    assert pk["a|b"]["status"] == "added" and pk["a|b"]["before_bytes"] is None
    assert d.initial_delta_gzip == 3000 and d.measured
    removed = diff(_grown(), _split(False))
    assert {r["package"]: r["status"] for r in removed.packages.iter_rows(named=True)}[
        "a|b"
    ] == "removed"
    assert d.chunks["chunk"][0] == "entry-a"  # biggest change first


def test_markdown_comment() -> None:
    md = diff(_split(False), _grown()).to_markdown()
    lines = md.splitlines()
    assert lines[0].startswith("### Bundle size: initial JS +3 kB gzip (+5.4 %)")
    assert "#### What appeared" in md and "| a\\|b | added |" in md  # pipes escaped
    assert (
        "#### What grew: chunks" in md and "| entry-a | grown | 39.9 kB | 42.9 kB | +3 kB |" in md
    )
    # every table row has the same number of unescaped pipes as its header
    for block in md.split("\n\n"):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        counts = {r.replace("\\|", "").count("|") for r in rows}
        assert len(counts) <= 1, block
    assert "Nothing grew." in diff(_split(False), _split(False)).to_markdown()


def test_empty_builds() -> None:
    e = Bundle.empty("webpack", "a.json")
    d = diff(e, e)
    assert d.chunks.height == 0 and d.initial_delta_gzip == 0
    assert d.to_markdown().startswith("### Bundle size: initial JS 0 B gzip")


def test_sample_diff_finds_dayjs_and_the_grown_table(webpack_a: Bundle, webpack_b: Bundle) -> None:
    d = diff(webpack_a, webpack_b)
    pk = {r["package"]: r for r in d.packages.iter_rows(named=True)}
    assert pk["dayjs"]["status"] == "added"
    assert pk["(app)"]["status"] == "grown" and pk["(app)"]["delta_bytes"] > 20_000
    ch = {r["chunk"]: r for r in d.chunks.iter_rows(named=True)}
    # the table lives in chunk 79, dayjs went to the settings chunk; the rest is unchanged
    assert ch["id:79"]["status"] == "grown" and ch["settings"]["status"] == "grown"
    assert ch["id:534"]["status"] == "unchanged" and ch["id:534"]["delta_gzip"] == 0
    assert not d.measured  # build b has no output folder: both sides estimated alike
    md = d.to_markdown()
    assert "| dayjs | added |" in md and "| main |" in md

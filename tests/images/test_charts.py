"""The images charts: the numbers drawn are the numbers computed."""

from __future__ import annotations

import json

import polars as pl

from perflab.images.charts import responsive_plan, savings_by_format, tradeoff_curve


def data_of(chart: object) -> list[dict]:
    spec = json.loads(chart.to_json())  # type: ignore[attr-defined]
    (values,) = [v for v in spec["datasets"].values()]
    return values


def test_savings_by_format_counts_every_image_in_every_bar() -> None:
    o = pl.DataFrame({
        "path": ["a.jpg", "a.jpg", "a.jpg", "b.png", "b.png"],
        "format": ["webp", "webp", "avif", "webp", "avif"],
        "bytes": [50_000, 40_000, 30_000, 20_000, 90_000],
        "original_bytes": [100_000, 100_000, 100_000, 60_000, 60_000],
        "meets_target": [True, False, True, True, False],
        "error": [None, None, None, None, None],
    })  # fmt: skip
    rows = {r["format"]: r for r in data_of(savings_by_format(o))}
    assert rows["original"]["bytes"] == 160_000
    # webp: a at 50 000 (the 40 000 one misses the target), b at 20 000
    assert rows["webp"]["bytes"] == 70_000
    # avif: a at 30 000; b has no candidate meeting the target, so it stays at 60 000
    assert rows["avif"]["bytes"] == 90_000
    assert round(rows["webp"]["saved_pct"], 2) == 56.25


def test_tradeoff_curve_one_panel_per_image_with_the_target() -> None:
    t = pl.DataFrame({"path": ["d/a.jpg"] * 2 + ["d/b.jpg"] * 2, "format": ["webp"] * 4,
                      "quality": [50, 80] * 2, "bytes": [10_000, 20_000, 5_000, 9_000],
                      "ssim": [0.93, 0.97, 0.95, 0.99]})  # fmt: skip
    spec = tradeoff_curve(t, target=0.95).to_dict()
    assert spec["facet"]["field"] == "image"
    assert spec["spec"]["layer"][1]["encoding"]["y"]["datum"] == 0.95
    single = tradeoff_curve(t.filter(pl.col("path") == "d/a.jpg"), target=None).to_dict()
    assert len(single["layer"]) == 1


def test_responsive_plan_leaves_errors_out() -> None:
    v = pl.DataFrame({"path": ["a.jpg", "a.jpg", "bad.jpg"], "width": [640, 1080, None],
                      "height": [427, 720, None], "format": ["webp", "webp", None],
                      "bytes": [9_000, 21_000, None], "out_path": ["x", "y", None],
                      "descriptor": ["640w", "1080w", None],
                      "error": [None, None, "truncated file"]})  # fmt: skip
    values = data_of(responsive_plan(v))
    assert [(r["image"], r["width"], r["kib"]) for r in values] == [
        ("a.jpg", 640, 9_000 / 1024), ("a.jpg", 1080, 21_000 / 1024),
    ]  # fmt: skip

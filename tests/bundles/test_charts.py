"""Charts: the treemap tiles its area; the other charts carry the figures they show."""

from __future__ import annotations

import pytest

from perflab.bundles.charts import diff_bars, initial_vs_async, squarify, treemap
from perflab.bundles.diff import diff
from perflab.bundles.model import Bundle


def test_squarify_tiles_the_area_in_proportion() -> None:
    values = [500, 433, 78, 25, 25, 7]
    rects = squarify(values, 0, 0, 600, 400)
    areas = [(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rects]
    assert sum(areas) == pytest.approx(600 * 400)
    for a, v in zip(areas, values, strict=True):
        assert a == pytest.approx(600 * 400 * v / sum(values))
    for x0, y0, x1, y1 in rects:
        assert 0 <= x0 <= x1 <= 600 + 1e-9 and 0 <= y0 <= y1 <= 400 + 1e-9
    # squarified: no sliver thinner than 1:8 here
    assert max(max((x1 - x0) / (y1 - y0), (y1 - y0) / (x1 - x0)) for x0, y0, x1, y1 in rects) < 8
    assert squarify([0, 0], 0, 0, 10, 10) == [(0, 0, 0, 0)] * 2


def test_treemap_covers_every_module(webpack_a: Bundle) -> None:
    spec = treemap(webpack_a, max_modules=50).to_dict()
    rects = spec["layer"][0]
    data = spec["datasets"][rects["data"]["name"]]
    assert sum(r["bytes"] for r in data) == webpack_a.module_frame["size_bytes"].sum()
    assert any(r["module"].endswith("smaller modules)") for r in data)
    tips = {t["field"] for t in rects["encoding"]["tooltip"]}
    assert {"chunk", "package", "module", "bytes"} <= tips


def test_initial_vs_async_and_diff_bars(webpack_a: Bundle, webpack_b: Bundle) -> None:
    spec = initial_vs_async(webpack_a).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    admin = {r["chunk"]: r["load"] for r in rows if r["entry"] == "admin"}
    assert admin["id:79"] == "on demand" and admin["admin"] == "initial"
    bars = diff_bars(diff(webpack_a, webpack_b)).to_dict()
    names = [r["name"] for r in bars["datasets"][bars["data"]["name"]]]
    assert "dayjs" in names and "moment" not in names

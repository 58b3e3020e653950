"""Image timeline events: images that grew between two scans, pages whose waste grew."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

import perflab.images as images
from perflab.errors import ParameterError, SchemaError
from perflab.events import EVENTS, as_events
from perflab.images.audit import page_summary
from perflab.images.events import events

SAMPLES = Path(__file__).resolve().parents[2] / "data/sample/images"
SHIPPED = datetime(2026, 12, 1, 10, tzinfo=UTC)
PAGES = ("article.html", "gallery.html")


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample site as it was (v1, a copy) and after a change (v2): coffee.jpg
    re-saved at quality 98, a new PNG, and one more <img> at the end of the article."""
    root = tmp_path_factory.mktemp("site")
    v1, v2 = root / "v1", root / "v2"
    for v in (v1, v2):
        shutil.copytree(SAMPLES, v)
    with Image.open(v2 / "coffee.jpg") as im:
        im.save(v2 / "coffee.jpg", quality=98)
    noise = np.random.default_rng(1).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    Image.fromarray(noise).save(v2 / "banner.png")  # a new image, ~180 KB
    article = v2 / "pages" / "article.html"
    html = article.read_text()
    tail = html.rindex("</body>")
    article.write_text(
        html[:tail] + '<p>More</p>\n<img src="/chelsea.png" alt="cat">\n' + html[tail:]
    )
    return v1, v2


def audit(site: Path) -> pl.DataFrame:
    return images.audit_html([site / "pages" / p for p in PAGES], images_root=site)


def test_the_images_that_grew_between_two_scans(sites: tuple[Path, Path]) -> None:
    v1, v2 = sites
    before, after = images.scan(v1), images.scan(v2)
    ev = events(after, before=before, time=SHIPPED)
    assert EVENTS.validate(ev).height == 2
    assert ev["subject"].to_list() == ["image banner.png", "image coffee.jpg"]  # biggest first
    assert set(ev["kind"]) == {"grew"} and ev["time"].to_list() == [SHIPPED] * 2
    old, new = ((v / "coffee.jpg").stat().st_size for v in (v1, v2))
    coffee = ev.row(1, named=True)
    assert coffee["size"] == pytest.approx(new / old - 1) and coffee["unit"] == "ratio"
    assert coffee["terms"] == ["coffee.jpg"] and coffee["direction"] == "worse"
    banner = ev.row(0, named=True)
    total = after["bytes"].sum()
    assert banner["unit"] == "share"
    assert banner["size"] == pytest.approx((v2 / "banner.png").stat().st_size / total)
    assert banner["evidence"].startswith("new image: ")


def test_the_same_scan_twice_stays_quiet() -> None:
    scanned = images.scan(SAMPLES)
    assert events(scanned, before=scanned, time=SHIPPED).height == 0


def test_the_page_whose_image_waste_grew(sites: tuple[Path, Path]) -> None:
    v1, v2 = sites
    before, after = audit(v1), audit(v2)
    ev = events(after, before=before, time=SHIPPED)
    assert ev["subject"].to_list() == ["page article.html"]  # gallery.html is unchanged
    row = ev.row(0, named=True)
    was = page_summary(before).filter(pl.col("page").str.ends_with("article.html"))
    now = page_summary(after).filter(pl.col("page").str.ends_with("article.html"))
    grown = now["wasted_bytes"][0] / was["wasted_bytes"][0] - 1
    assert row["size"] == pytest.approx(grown) and row["size"] > 0.05
    assert row["terms"] == ["article.html"]
    # the same from the page summaries
    same = events(page_summary(after), before=page_summary(before), time=SHIPPED)
    assert same.drop("evidence").equals(ev.drop("evidence"))
    assert as_events(ev).equals(ev)


def test_wrong_input_is_refused(sites: tuple[Path, Path]) -> None:
    scanned = images.scan(SAMPLES)
    with pytest.raises(ParameterError, match="time"):
        events(scanned, before=scanned, time=None)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="both"):
        events(scanned, before=audit(sites[0]), time=SHIPPED)
    with pytest.raises(SchemaError, match="scan"):
        events(pl.DataFrame({"x": [1]}), before=scanned, time=SHIPPED)
    with pytest.raises(ParameterError, match="min_change"):
        events(scanned, before=scanned, time=SHIPPED, min_change=-1)

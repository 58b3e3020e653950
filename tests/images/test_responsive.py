"""responsive_variants and its markup: resized right, never upscaled, served as the audit likes."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from perflab.errors import ParameterError
from perflab.images.audit import audit_html
from perflab.images.responsive import (
    ALL_WIDTHS,
    DEVICE_WIDTHS,
    IMAGE_WIDTHS,
    markup,
    responsive_variants,
    srcset,
)
from perflab.images.schema import VARIANTS

SAMPLES = Path(__file__).resolve().parents[2] / "data/sample/images"


def photo(path: Path, size: tuple[int, int], seed: int = 0, mode: str = "RGB") -> Path:
    """A smooth, photo-like image (gradients plus a little noise)."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h)], axis=-1)
    arr = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype("uint8")
    img = Image.fromarray(arr)
    if mode == "RGBA":
        img = img.convert("RGBA")
        img.putalpha(Image.fromarray((x * 255 / w).astype("uint8")))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def test_defaults_are_nextjs_image_config() -> None:
    # next/dist/shared/lib/image-config.js, imageConfigDefault (Next.js 10 to 15)
    assert DEVICE_WIDTHS == (640, 750, 828, 1080, 1200, 1920, 2048, 3840)
    assert IMAGE_WIDTHS == (16, 32, 48, 64, 96, 128, 256, 384)
    assert tuple(sorted(DEVICE_WIDTHS + IMAGE_WIDTHS)) == ALL_WIDTHS


def test_variants_never_upscale_and_keep_the_aspect_ratio(tmp_path: Path) -> None:
    src = photo(tmp_path / "in" / "wide.png", (1300, 700))
    v = responsive_variants(src, out_dir=tmp_path / "out")
    assert v.columns[:7] == VARIANTS.names
    # the device widths up to 1300, then the image's own width for the widest screens
    assert v["width"].to_list() == [640, 750, 828, 1080, 1200, 1300]
    assert v["descriptor"].to_list() == [f"{w}w" for w in v["width"]]
    for row in v.iter_rows(named=True):
        assert row["height"] == round(700 * row["width"] / 1300)
        with Image.open(row["out_path"]) as im:
            assert im.format == "WEBP" and im.size == (row["width"], row["height"])
        assert Path(row["out_path"]).stat().st_size == row["bytes"]
    # a bigger width buys more bytes
    assert v["bytes"].is_sorted()


def test_no_natural_variant_when_asked(tmp_path: Path) -> None:
    src = photo(tmp_path / "in" / "small.png", (500, 500))
    v = responsive_variants(src, [640, 1080], out_dir=tmp_path / "out", keep_natural=False)
    assert v.height == 0 and v.columns[:7] == VARIANTS.names


def test_resampling_is_pillows_lanczos(tmp_path: Path) -> None:
    src = photo(tmp_path / "in" / "p.png", (900, 600))
    v = responsive_variants(src, [640], out_dir=tmp_path / "out", formats=["png"],
                            keep_natural=False)  # fmt: skip
    with Image.open(src) as im:
        expected = np.asarray(im.convert("RGB").resize((640, 427), Image.Resampling.LANCZOS))
    with Image.open(v["out_path"][0]) as out:
        assert np.array_equal(np.asarray(out.convert("RGB")), expected)


def test_formats_quality_and_alpha(tmp_path: Path) -> None:
    src = photo(tmp_path / "in" / "logo.png", (800, 400), mode="RGBA")
    v = responsive_variants(src, [640], out_dir=tmp_path / "out", formats=("avif", "webp", "jpeg"),
                            quality={"jpeg": 60})  # fmt: skip
    assert sorted(v["format"].unique()) == ["avif", "jpeg", "webp"]
    with Image.open(v.filter(pl.col("format") == "webp")["out_path"][0]) as im:
        assert "A" in im.getbands()  # WebP keeps the alpha, JPEG flattens it
    with Image.open(v.filter(pl.col("format") == "jpeg")["out_path"][0]) as im:
        assert im.mode == "RGB"
    low = responsive_variants(src, [640], out_dir=tmp_path / "low", formats=["jpeg"], quality=20,
                              keep_natural=False)  # fmt: skip
    assert (
        low["bytes"][0] < v.filter(pl.col("format") == "jpeg", pl.col("width") == 640)["bytes"][0]
    )


def test_originals_are_never_touched(tmp_path: Path) -> None:
    src = photo(tmp_path / "site" / "hero.png", (700, 400))
    before = src.read_bytes()
    with pytest.raises(ParameterError, match="holds original images"):
        responsive_variants(src, out_dir=tmp_path / "site")
    v = responsive_variants(tmp_path / "site", out_dir=tmp_path / "out")
    assert src.read_bytes() == before and v.height == 2
    assert not list((tmp_path / "out").glob(".*tmp"))  # atomic writes leave no temp files


def test_bad_parameters(tmp_path: Path) -> None:
    src = photo(tmp_path / "a.png", (100, 100))
    with pytest.raises(ParameterError, match="formats"):
        responsive_variants(src, out_dir=tmp_path / "o", formats=["jxl"])
    with pytest.raises(ParameterError, match="positive"):
        responsive_variants(src, [0, 64], out_dir=tmp_path / "o")


def test_a_broken_file_is_a_row_and_the_batch_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    photo(folder / "ok.png", (700, 300))
    shutil.copy(SAMPLES / "broken/truncated.jpg", folder / "truncated.jpg")
    shutil.copy(SAMPLES / "broken/bomb.png", folder / "bomb.png")
    (folder / "notes.txt").write_text("not an image")
    v = responsive_variants(folder, out_dir=tmp_path / "out")
    errors = dict(v.filter(pl.col("error").is_not_null()).select("path", "error").iter_rows())
    assert errors[str(folder / "truncated.jpg")] == "truncated file"
    assert errors[str(folder / "bomb.png")].startswith("decompression bomb: 400000000 pixels")
    assert v.filter(pl.col("error").is_null())["width"].to_list() == [640, 700]


def test_scan_frame_in_errors_carried_over(tmp_path: Path) -> None:
    ok = photo(tmp_path / "in" / "a.png", (650, 100))
    scanned = pl.DataFrame({"path": [str(ok), "gone.png"], "error": [None, "no such file"]})
    v = responsive_variants(scanned, [640], out_dir=tmp_path / "out")
    assert v.select("path", "width", "error").rows() == [
        (str(ok), 640, None), (str(ok), 650, None), ("gone.png", None, "no such file"),
    ]  # fmt: skip


def test_same_stem_in_two_folders_keeps_both(tmp_path: Path) -> None:
    photo(tmp_path / "in" / "a" / "hero.png", (700, 300), seed=1)
    photo(tmp_path / "in" / "b" / "hero.png", (700, 300), seed=2)
    v = responsive_variants(tmp_path / "in", [640], out_dir=tmp_path / "out")
    outs = v["out_path"].to_list()
    assert len(set(outs)) == 4
    assert (tmp_path / "out/a/hero-640w.webp").exists() and (
        tmp_path / "out/b/hero-640w.webp"
    ).exists()


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_markup_is_a_picture_with_modern_sources_first(tmp_path: Path) -> None:
    src = photo(tmp_path / "in" / "hero.png", (900, 500))
    v = responsive_variants(src, [320, 640], out_dir=tmp_path / "out",
                            formats=("webp", "jpeg", "avif"))  # fmt: skip
    m = markup(v, sizes="(min-width: 1024px) 50vw, 100vw", alt='The "hero" <img>',
               base_url="/img/", relative_to=tmp_path / "out")  # fmt: skip
    assert m.height == 1 and m["path"][0] == str(src)
    p = Tags()
    p.feed(m["markup"][0])
    names = [t for t, _ in p.tags]
    assert names == ["picture", "source", "source", "img"]
    (_, avif), (_, webp), (_, img) = p.tags[1:]
    assert avif["type"] == "image/avif" and webp["type"] == "image/webp"
    assert avif["srcset"] == ("/img/hero-320w.avif 320w, /img/hero-640w.avif 640w, "
                              "/img/hero-900w.avif 900w")  # fmt: skip
    assert img["src"] == "/img/hero-900w.jpg" and img["srcset"].endswith("hero-900w.jpg 900w")
    assert (img["width"], img["height"]) == ("900", "500")
    assert img["alt"] == 'The "hero" <img>'  # escaped in the markup, intact once parsed
    assert img["loading"] == "lazy" and img["decoding"] == "async"
    assert avif["sizes"] == img["sizes"] == "(min-width: 1024px) 50vw, 100vw"


def test_one_format_gives_a_plain_img(tmp_path: Path) -> None:
    src = photo(tmp_path / "in" / "a.png", (700, 300))
    v = responsive_variants(src, [640], out_dir=tmp_path / "out")
    text = markup(v, loading=None, fetchpriority="high")["markup"][0]
    assert text.startswith("<img ") and "<picture>" not in text
    assert 'fetchpriority="high"' in text and "loading" not in text
    assert srcset(v, base_url="/") == "/a-640w.webp 640w, /a-700w.webp 700w"


def test_generated_markup_passes_the_audit(tmp_path: Path) -> None:
    """What responsive_variants + markup produce is what audit_html asks for."""
    hero = photo(tmp_path / "in" / "hero.png", (1300, 860), seed=3)
    out = tmp_path / "site"
    v = responsive_variants(hero, out_dir=out, formats=("webp", "jpeg"))
    tag = markup(v, base_url="/", relative_to=out, loading=None, fetchpriority="high")["markup"][0]
    page = f"<!doctype html><main>{tag}<p>text</p></main>"
    assert audit_html({"index.html": page}, images_root=out).height == 0
    # the same file served alone at that size is what the audit complains about
    shutil.copy(hero, out / "hero.png")
    bad = audit_html({"index.html": '<img src="/hero.png" width="1300" height="860">'},
                     images_root=out)  # fmt: skip
    assert set(bad["rule"]) == {"uses-responsive-images", "missing-srcset"}

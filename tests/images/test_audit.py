"""audit_html: Lighthouse's image audits on static HTML, with its formulas and thresholds."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from perflab.errors import InputError
from perflab.images.audit import (
    AUDIT,
    DPR,
    VIEWPORT,
    audit_html,
    choose_candidate,
    page_summary,
    parse_srcset,
    slot_width,
)

SAMPLES = Path(__file__).resolve().parents[2] / "data/sample/images"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A document root with a few JPEG photos of known size (tests only add files)."""
    tmp_path = tmp_path_factory.mktemp("site")
    rng = np.random.default_rng(7)
    for name, (w, h) in {"big.jpg": (1600, 1200), "mid.jpg": (800, 600), "small.jpg": (400, 300),
                         "tiny.png": (8, 8)}.items():  # fmt: skip
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([x * 255 / w, y * 255 / h, 128 + 100 * np.sin(x / 17.0)], axis=-1)
        arr = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(tmp_path / name, quality=85)
    return tmp_path


def audit(html: str, root: Path, **kw: object) -> pl.DataFrame:
    return audit_html({"p.html": html}, images_root=root, **kw)  # type: ignore[arg-type]


def rules_of(df: pl.DataFrame) -> list[tuple[str, int]]:
    return list(zip(df["rule"].to_list(), df["line"].to_list(), strict=True))


def test_defaults_are_lighthouse_mobile() -> None:
    # core/config/constants.js: MOTOGPOWER_EMULATION_METRICS
    assert VIEWPORT == (412, 823) and DPR == 1.75


def test_wasted_bytes_is_lighthouses_formula(site: Path) -> None:
    df = audit('<img src="/big.jpg" width="200" height="150" alt="">', site)
    (row,) = df.filter(pl.col("rule") == "uses-responsive-images").iter_rows(named=True)
    size = (site / "big.jpg").stat().st_size
    used = (200 * 1.75) * (150 * 1.75)
    assert row["bytes"] == size
    assert row["wasted_bytes"] == round(size * (1 - used / (1600 * 1200)))
    assert (row["displayed_width"], row["natural_width"], row["line"]) == (200.0, 1600, 1)
    # desktop: a bigger slot at DPR 1 wastes more of the same file
    desk = audit('<img src="/big.jpg" width="200" height="150">', site, viewport=(1350, 940), dpr=1)
    assert (
        desk.filter(pl.col("rule") == "uses-responsive-images")["wasted_bytes"][0]
        > row["wasted_bytes"]
    )


def test_waste_thresholds_4k_and_12k_with_srcset(site: Path) -> None:
    size = (site / "mid.jpg").stat().st_size
    # pick a displayed width whose waste lands between 4 KiB and 12 KiB
    for w in range(457, 300, -1):
        h = w * 600 / 800
        waste = size * (1 - (w * 1.75) * (h * 1.75) / (800 * 600))
        if 4096 < waste < 12288:
            break
    plain = audit(f'<img src="/mid.jpg" width="{w}" style="height:{h}px">', site)
    assert "uses-responsive-images" in plain["rule"].to_list()
    with_srcset = audit(
        f'<img src="/mid.jpg" srcset="/mid.jpg 1x" width="{w}" style="height:{h}px">', site
    )
    assert "uses-responsive-images" not in with_srcset["rule"].to_list()
    # an image that fits its slot wastes nothing
    fits = audit('<img src="/small.jpg" width="400" height="300">', site)
    assert fits.height == 0


def test_displayed_size_from_style_and_aspect_ratio(site: Path) -> None:
    df = audit('<img src="/big.jpg" style="width: 100px" height="75">', site)
    row = df.filter(pl.col("rule") == "uses-responsive-images").row(0, named=True)
    assert (row["displayed_width"], row["displayed_height"]) == (100.0, 75.0)
    one = audit('<img src="/big.jpg" width="300" style="aspect-ratio: 4/3">', site)
    row = one.filter(pl.col("rule") == "uses-responsive-images").row(0, named=True)
    assert row["displayed_height"] == pytest.approx(225.0)  # from the file's aspect ratio
    assert "unsized-images" not in one["rule"].to_list()
    # wider than the viewport: shown at the viewport's width (max-width: 100%)
    wide = audit('<img src="/big.jpg" width="1600" height="1200">', site)
    assert wide["displayed_width"][0] == 412.0


@pytest.mark.parametrize(
    ("tag", "unsized"),
    [
        ('<img src="/small.jpg">', True),
        ('<img src="/small.jpg" width="400">', True),
        ('<img src="/small.jpg" width="+400" height="300">', True),  # Lighthouse rejects '+'
        ('<img src="/small.jpg" width="auto" style="height: auto">', True),
        ('<img src="/small.jpg" width="400" height="300">', False),
        ('<img src="/small.jpg" width="0" height="0">', False),  # zero is explicit
        ('<img src="/small.jpg" style="width: 10rem; height: 5rem">', False),
        ('<img src="/small.jpg" style="width: 50%; aspect-ratio: 4 / 3">', False),
        ('<img src="/small.jpg" style="position: absolute">', False),  # out of flow
    ],
)
def test_unsized_images(site: Path, tag: str, unsized: bool) -> None:
    assert ("unsized-images" in audit(tag, site)["rule"].to_list()) is unsized


def test_offscreen_images_need_lazy(site: Path) -> None:
    hero = '<img src="/big.jpg" width="412" height="900" fetchpriority="high">\n'
    below = '<img src="/small.jpg" width="400" height="300">'
    df = audit(hero + below, site)
    row = df.filter(pl.col("rule") == "offscreen-images").row(0, named=True)
    assert row["line"] == 2 and row["wasted_bytes"] == (site / "small.jpg").stat().st_size
    assert "below the 823 px fold" in row["detail"]
    for loading in ("lazy", "eager"):  # a deliberate choice either way, as in Lighthouse
        tag = below.replace("<img", f'<img loading="{loading}"')
        assert "offscreen-images" not in audit(hero + tag, site)["rule"].to_list()
    # after the first three images in document order, even small ones are offscreen
    many = "\n".join('<img src="/small.jpg" width="40" height="30">' for _ in range(5))
    assert rules_of(audit(many, site).filter(pl.col("rule") == "offscreen-images")) == [
        ("offscreen-images", 4), ("offscreen-images", 5),
    ]  # fmt: skip
    # under 2 KiB it is not worth deferring; data: URIs make no request
    tiny = "\n".join('<img src="/tiny.png" width="8" height="8">' for _ in range(5))
    assert audit(tiny, site).height == 0
    inline = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="1" height="1">'
    assert audit("\n".join([inline] * 5), site).height == 0


def test_noscript_and_template_images_are_not_rendered(site: Path) -> None:
    html = ('<noscript><img src="/big.jpg"></noscript>'
            '<template><img src="/big.jpg"></template><noscript/>')  # fmt: skip
    assert audit(html, site).height == 0


def test_missing_srcset(site: Path) -> None:
    big = audit('<img src="/big.jpg" width="400" height="300">', site)
    assert "missing-srcset" in big["rule"].to_list()
    # a 400 px file is smaller than Next.js's smallest device width: one size is fine
    assert audit('<img src="/small.jpg" width="400" height="300">', site).height == 0
    no_sizes = audit(
        '<img src="/mid.jpg" srcset="/small.jpg 400w, /mid.jpg 800w" width="400" height="300">',
        site,
    )
    assert no_sizes.filter(pl.col("rule") == "missing-srcset")["detail"][0].startswith(
        "srcset with w descriptors but no sizes"
    )


def test_the_browsers_candidate_is_the_one_audited(site: Path) -> None:
    # slot 200 px × DPR 1.75 = 350 device px: the 400w candidate is fetched and fits
    good = ('<img src="/big.jpg" srcset="/small.jpg 400w, /mid.jpg 800w, /big.jpg 1600w" '
            'sizes="(min-width: 800px) 50vw, 200px" width="200" height="150">')  # fmt: skip
    assert audit(good, site).height == 0
    # without sizes the slot is 100vw = 721 device px: the 800w file for a 200 px image
    bad = audit(good.replace(' sizes="(min-width: 800px) 50vw, 200px"', ""), site)
    waste = bad.filter(pl.col("rule") == "uses-responsive-images")
    assert waste["src"].to_list() == ["/mid.jpg"]


def test_picture_sources(site: Path) -> None:
    html = """<picture>
  <source type="image/jxl" srcset="/nope.jxl">
  <source media="(min-width: 1000px)" srcset="/big.jpg">
  <source srcset="/small.jpg 400w, /mid.jpg 800w" sizes="200px">
  <img src="/big.jpg" width="200" height="150">
</picture>"""
    df = audit(html, site)
    # JPEG XL is skipped (Chrome cannot decode it), the desktop source does not match
    # a 412 px viewport; the last source's 400w candidate is fetched: a little waste,
    # under the 12 KiB allowed to an element that offers a choice
    assert df.height == 0
    assert audit(html, site, viewport=(1350, 940))["src"].to_list() == ["/big.jpg"]


def test_missing_image_is_reported_not_raised(site: Path) -> None:
    df = audit('<img src="/gone.jpg" width="10" height="10">\n<img alt="no src">', site)
    assert rules_of(df.filter(pl.col("rule") == "missing-image")) == [
        ("missing-image", 1), ("missing-image", 2),
    ]  # fmt: skip
    assert "no such file" in df["detail"][0]
    (site / "broken.jpg").write_bytes((site / "big.jpg").read_bytes()[:3000])
    broken = audit('<img src="/broken.jpg" width="10" height="10">', site)
    assert broken["detail"][0].startswith("truncated file") and broken["bytes"][0] == 3000


def test_remote_images_are_checked_by_their_markup_only(site: Path) -> None:
    df = audit('<img src="https://cdn.example.com/x.jpg">', site)
    assert df.select("rule", "bytes").rows() == [("unsized-images", None)]


def test_relative_urls_resolve_against_the_page_folder(site: Path) -> None:
    page = site / "blog" / "post.html"
    page.parent.mkdir()
    (site / "blog" / "inline.jpg").write_bytes((site / "big.jpg").read_bytes())
    page.write_text('<img src="inline.jpg?v=3#x" width="100" height="75">\n'
                    '<img src="../big.jpg" width="100" height="75">')  # fmt: skip
    df = audit_html(page, images_root=site)
    assert set(df.filter(pl.col("rule") == "uses-responsive-images")["line"]) == {1, 2}


def test_malformed_html_is_still_audited(site: Path) -> None:
    html = (
        '<html><body><div><p>unclosed <b>bold\n<ul><li><img src="/big.jpg" '
        "width=100 height=75><li><img src=/small.jpg\n width=400 height=300 >\n"
        "</div></span></body>\n<img src='/big.jpg"
    )  # a tag cut off at the end: dropped
    df = audit(html, site)
    assert sorted(set(rules_of(df))) == [("missing-srcset", 2), ("uses-responsive-images", 2)]


def test_empty_and_imageless_pages_give_an_empty_frame(site: Path) -> None:
    for html in ("", "<p>no images</p>", "<<<>>> not html at all &&&"):
        df = audit(html, site)
        assert df.height == 0 and df.schema == AUDIT.empty().schema


def test_pages_from_files_folders_and_gzip(site: Path, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.html").write_text('<img src="/big.jpg">')
    (pages / "b.htm.gz").write_bytes(gzip.compress(b'<img src="/big.jpg">'))
    (pages / "c.html").write_bytes(gzip.compress(b'<img src="/big.jpg">'))  # served gzipped
    df = audit_html(pages, images_root=site)
    assert sorted(set(df["page"])) == [str(pages / "a.html"), str(pages / "c.html")]
    with pytest.raises(InputError, match=r"nope\.html: no such page"):
        audit_html([pages / "nope.html"])
    text = "".join(f'<img src="/{i}.jpg" alt="{i * 7919}">' for i in range(500)).encode()
    (pages / "cut.html").write_bytes(gzip.compress(text)[:300])
    with pytest.raises(InputError, match=r"cut\.html: truncated gzip"):
        audit_html(pages / "cut.html")


def test_srcset_parsing_and_choice() -> None:
    assert parse_srcset("a.jpg?w=1,2 1x,b.jpg 2x") == [("a.jpg?w=1,2", "1x"), ("b.jpg", "2x")]
    assert parse_srcset("  ") == []
    assert choose_candidate(parse_srcset("a 1x, b 2x, c 3x"), dpr=1.75) == "b"
    assert choose_candidate(parse_srcset("a 1x, b 1.5x"), dpr=3) == "b"  # densest when none reach
    assert slot_width("(max-width: 30em) 100vw, 50vw", 412) == 412.0  # 30em = 480px
    assert slot_width("(min-width: 30em) and (max-width: 60em) 10px, 20px", 500) == 10.0
    assert slot_width("calc(100vw - 2rem)", 412) == 412.0  # not understood: 100vw
    assert slot_width("(orientation: portrait) 50vw, 300px", 412) == 300.0


def test_lazy_loading_in_the_first_viewport_delays_the_lcp(site: Path) -> None:
    hero = '<img src="/big.jpg" width="412" height="300" loading="lazy">\n'
    second = '<img src="/mid.jpg" width="400" height="300" loading="lazy">\n'
    below = '<img src="/small.jpg" width="400" height="300" loading="lazy">'
    df = audit(hero + second + below, site)
    lazy = df.filter(pl.col("rule") == "lcp-lazy-loaded")
    # the third image's estimated top (600 px) is still above the 823 px fold
    assert lazy["line"].to_list() == [1, 2, 3] and lazy["wasted_bytes"].is_null().all()
    assert (
        "image 1 in document order, estimated top 0 px above the 823 px fold" in (lazy["detail"][0])
    )
    # below the fold (by depth or by count) lazy is right; eager or no attribute is fine
    tall = '<img src="/big.jpg" width="412" height="900">\n'
    assert "lcp-lazy-loaded" not in audit(tall + below, site)["rule"].to_list()
    many = "\n".join([hero.replace(' loading="lazy"', "")] * 3 + [below])
    assert "lcp-lazy-loaded" not in audit(many, site)["rule"].to_list()
    for loading in ("eager", "auto"):
        eager = hero.replace('"lazy"', f'"{loading}"')
        assert "lcp-lazy-loaded" not in audit(eager, site)["rule"].to_list()
    # a tiny lazy icon or a data: URI is no LCP candidate
    assert audit('<img src="/tiny.png" width="8" height="8" loading="lazy">', site).height == 0


def test_sample_pages_show_the_planted_problems() -> None:
    df = audit_html(SAMPLES / "pages", images_root=SAMPLES)
    article = df.filter(pl.col("page").str.ends_with("article.html"))
    found = {(r, s.lstrip("/")) for r, s in article.select("rule", "src").iter_rows()}
    # the retina photo is served at four times its displayed width
    retina = article.filter(
        pl.col("src") == "/retina.jpg", pl.col("rule") == "uses-responsive-images"
    )
    assert retina["natural_width"][0] / retina["displayed_width"][0] == pytest.approx(1411 / 352)
    assert ("unsized-images", "astronaut.jpg") in found
    assert ("uses-responsive-images", "logo-transparent.png") in found
    assert {s for r, s in found if r == "offscreen-images"} >= {"chelsea.png", "logo.png"}
    assert not any(s == "coffee.jpg" for _, s in found)  # the well-served one
    assert not any(s == "hubble.jpg" for _, s in found)  # the hero: sized, eager, fits
    assert not any(s.startswith("data:") for _, s in found)
    gallery = df.filter(pl.col("page").str.ends_with("gallery.html"))
    assert gallery.filter(pl.col("rule") == "offscreen-images").height >= 3
    # the template lazy-loads the first grid photo too, though it sits in the first viewport
    lazy = df.filter(pl.col("rule") == "lcp-lazy-loaded")
    assert lazy.select(pl.col("page").str.split("/").list.last(), "src").rows() == [
        ("gallery.html", "/rocket.jpg")
    ]


def test_page_summary_counts_each_image_once() -> None:
    df = audit_html(SAMPLES / "pages", images_root=SAMPLES)
    s = page_summary(df)
    assert s["page"].str.ends_with(".html").all() and s.height == 2
    for row in s.iter_rows(named=True):
        one = df.filter(pl.col("page") == row["page"])
        assert row["images"] == one.select("line", "src").unique().height
        per_image = one.group_by("line", "src").agg(pl.col("wasted_bytes").max().fill_null(0))
        assert row["wasted_bytes"] == per_image["wasted_bytes"].sum()
        assert row["wasted_bytes"] <= one["wasted_bytes"].sum()
    # the gallery's cat is both offscreen and oversized: its bytes count once
    assert s["wasted_bytes"].sum() < df["wasted_bytes"].sum()
    assert page_summary(AUDIT.empty()).height == 0

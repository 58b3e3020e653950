"""Image rules: each fires on a planted problem and stays quiet on a good input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.images.audit import AUDIT, audit_html
from perflab.images.rules import findings
from perflab.images.scan import scan
from perflab.recommend import RECOMMENDATIONS, rules

SAMPLES = Path(__file__).resolve().parents[2] / "data/sample/images"
IDS = {
    "images.modern-format", "images.oversized", "images.unsized", "images.offscreen-not-lazy",
    "images.lcp-lazy-loaded", "images.missing-srcset", "images.heavy-metadata",
}  # fmt: skip


def optimized(webp: int, avif: int, *, original: int = 200_000, path: str = "a.jpg",
              meets: bool = True) -> pl.DataFrame:  # fmt: skip
    return pl.DataFrame(
        {
            "path": [path] * 3, "format": ["webp", "avif", "jpeg"], "quality": [70, 50, 75],
            "bytes": [webp, avif, int(original * 0.9)], "original_bytes": [original] * 3,
            "saved_bytes": [original - webp, original - avif, int(original * 0.1)],
            "ssim": [0.96, 0.955, 0.97], "meets_target": [meets, meets, True],
            "error": [None, None, None],
        }
    )  # fmt: skip


def audit_rows(*rows: tuple[str, str, int | None, int | None]) -> pl.DataFrame:
    return AUDIT.build(
        {"page": "p.html", "src": src, "rule": rule, "detail": "d", "bytes": size,
         "wasted_bytes": wasted, "line": i + 1}
        for i, (rule, src, size, wasted) in enumerate(rows)
    )  # fmt: skip


def ids(df: pl.DataFrame) -> set[str]:
    return set(df["rule"].to_list())


def test_rule_ids_are_registered() -> None:
    assert {r.id for r in rules("images")} >= IDS


def test_modern_format_fires_on_a_big_saving() -> None:
    df = findings(optimized=optimized(60_000, 45_000))
    assert df.select("rule", "severity", "subject", "impact").rows() == [
        ("images.modern-format", "high", "a.jpg", 155_000.0)
    ]
    assert "AVIF" in df["finding"][0] and "quality 50" in df["evidence"][0]
    assert df.columns == RECOMMENDATIONS.names


def test_modern_format_is_quiet_below_8k_on_modern_originals_and_off_target() -> None:
    assert findings(optimized=optimized(195_000, 193_000)).height == 0  # 7 KB saved
    assert findings(optimized=optimized(60_000, 45_000, path="a.webp")).height == 0
    assert findings(optimized=optimized(60_000, 45_000, meets=False)).height == 0
    # the scan's format wins over the file ending
    scanned = pl.DataFrame({"path": ["a.jpg"], "format": ["webp"]})
    assert findings(scanned, optimized(60_000, 45_000), only=["images.modern-format"]).height == 0
    # 8 KiB to 100 KiB saved: medium
    mid = findings(optimized=optimized(180_000, 170_000))
    assert mid["severity"].to_list() == ["medium"]


def test_audit_rules_fire_per_page_and_per_image() -> None:
    a = audit_rows(
        ("uses-responsive-images", "/hero.jpg", 300_000, 250_000),
        ("unsized-images", "/a.jpg", 20_000, None),
        ("unsized-images", "/b.jpg", 30_000, None),
        ("offscreen-images", "/g1.jpg", 40_000, 40_000),
        ("offscreen-images", "/g2.jpg", 50_000, 50_000),
        ("missing-srcset", "/hero.jpg", 300_000, None),
        ("lcp-lazy-loaded", "/top.jpg", 80_000, None),
    )
    df = findings(audit=a)
    assert ids(df) == {"images.oversized", "images.unsized", "images.offscreen-not-lazy",
                       "images.missing-srcset", "images.lcp-lazy-loaded"}  # fmt: skip
    by = {r["rule"]: r for r in df.iter_rows(named=True)}
    assert by["images.oversized"]["severity"] == "high"
    assert by["images.oversized"]["subject"] == "/hero.jpg on p.html"
    assert (
        by["images.unsized"]["impact"] == 2
        and "/b.jpg (line 3)" in by["images.unsized"]["evidence"]
    )
    assert by["images.offscreen-not-lazy"]["impact"] == 90_000
    assert by["images.offscreen-not-lazy"]["severity"] == "medium"
    lcp = by["images.lcp-lazy-loaded"]
    assert (lcp["subject"], lcp["impact"], lcp["impact_unit"]) == ("p.html", 1, "images")
    assert "/top.jpg (line 7)" in lcp["evidence"] and 'loading="lazy"' in lcp["action"]
    # ranked: severity first
    assert df["severity"].to_list()[0] == "high"


def test_audit_rules_are_quiet_on_a_clean_audit() -> None:
    assert findings(audit=AUDIT.empty()).height == 0
    assert findings(audit=audit_rows(("missing-image", "/x.jpg", None, None))).height == 0


def test_heavy_metadata() -> None:
    s = pl.DataFrame({
        "path": ["cam.jpg", "small-share.jpg", "few-bytes.png", "broken.jpg"],
        "bytes": [60_000, 2_000_000, 10_000, 60_000],
        "metadata_bytes": [18_000, 20_000, 2_000, None],
        "icc_profile": ["Display P3", None, None, None],
        "error": [None, None, None, "truncated file"],
    })  # fmt: skip
    df = findings(scanned=s)
    assert df.select("rule", "subject", "impact").rows() == [
        ("images.heavy-metadata", "cam.jpg", 18_000.0)
    ]
    assert "Display P3" in df["evidence"][0]
    assert findings(scanned=s, min_metadata_bytes=100_000).height == 0


def test_only_and_bad_thresholds() -> None:
    a = audit_rows(("unsized-images", "/a.jpg", 1, None), ("offscreen-images", "/b.jpg", 9e4, 9e4))
    assert ids(findings(audit=a, only=["images.unsized"])) == {"images.unsized"}
    with pytest.raises(ParameterError):
        findings(min_metadata_pct=-1)
    assert findings().height == 0


def test_findings_on_the_samples() -> None:
    scanned = scan(SAMPLES)
    audit = audit_html(SAMPLES / "pages", images_root=SAMPLES)
    df = findings(scanned, audit=audit)
    assert ids(df) == IDS - {"images.modern-format"}
    heavy = df.filter(pl.col("rule") == "images.heavy-metadata")["subject"].to_list()
    # hubble.jpg kept 15 KB of EXIF, XMP and ICC (18 %); chelsea.png's 5.7 KB is 2 %
    assert [Path(p).name for p in heavy] == ["hubble.jpg"]
    top = df.row(0, named=True)
    assert top["severity"] == "high" and top["impact_unit"] == "bytes"

"""Image rules: scans, optimizations and page audits in, ranked recommendations out.

=============================  ========  ================================================
rule                           severity  fires when (default thresholds, and their basis)
=============================  ========  ================================================
``images.modern-format``       medium    a JPEG/PNG/GIF's smallest AVIF or WebP candidate
                                         meeting the SSIM target (:func:`~perflab.images.
                                         optimize`) saves at least 8192 bytes:
                                         Lighthouse's ``modern-image-formats`` ignores
                                         less (``IGNORE_THRESHOLD_IN_BYTES``). **high**
                                         from 100 KiB saved, half a second on
                                         Lighthouse's slow-4G profile (1.6 Mbit/s)
``images.oversized``           medium    :func:`~perflab.images.audit_html` found a file
                                         larger than displayed, wasting more than 4 KiB
                                         (12 KiB with ``srcset``) by Lighthouse's
                                         ``uses-responsive-images`` formula. **high**
                                         from 100 KiB wasted
``images.unsized``             medium    ``<img>`` without ``width``/``height`` on a page
                                         (Lighthouse ``unsized-images``: layout shift,
                                         CLS); one finding per page
``images.offscreen-not-lazy``  medium    images estimated below the fold load eagerly
                                         (no ``loading``); one finding per page, impact
                                         their bytes. **high** from 100 KiB
``images.lcp-lazy-loaded``     medium    an image estimated in the first viewport has
                                         ``loading="lazy"`` (Lighthouse
                                         ``lcp-lazy-loaded``: the likely LCP image is
                                         fetched only after layout); one finding per
                                         page, impact the images
``images.missing-srcset``      low       a ≥ 640 px image offered in one size only, or a
                                         ``w``-descriptor ``srcset`` without ``sizes``;
                                         one finding per page
``images.heavy-metadata``      low       EXIF, XMP, ICC and comments take at least 4 KiB
                                         and at least 5 % of a file: bytes every visitor
                                         downloads and no browser shows
=============================  ========  ================================================

Impacts are bytes that need not be downloaded (``bytes``), except ``images.unsized``
and ``images.lcp-lazy-loaded`` (the images concerned, ``images``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.images.audit import AUDIT
from perflab.images.schema import OPTIMIZED, SCAN
from perflab.recommend import Recommendation, rule, to_frame

__all__ = [
    "HEAVY_METADATA",
    "LCP_LAZY_LOADED",
    "MISSING_SRCSET",
    "MODERN_FORMAT",
    "OFFSCREEN_NOT_LAZY",
    "OVERSIZED",
    "UNSIZED",
    "findings",
    "heavy_metadata",
    "lcp_lazy_loaded",
    "missing_srcset",
    "modern_format",
    "offscreen_not_lazy",
    "oversized",
    "unsized",
]

MODERN_FORMAT = rule("images.modern-format", "medium", "an image would be smaller as AVIF or WebP")
OVERSIZED = rule("images.oversized", "medium", "an image is served larger than it is shown")
UNSIZED = rule("images.unsized", "medium", "images have no width and height")
OFFSCREEN_NOT_LAZY = rule(
    "images.offscreen-not-lazy", "medium", "offscreen images load before they are needed"
)
LCP_LAZY_LOADED = rule(
    "images.lcp-lazy-loaded", "medium", "an image in the first viewport is lazy-loaded"
)
MISSING_SRCSET = rule("images.missing-srcset", "low", "large images are offered in one size only")
HEAVY_METADATA = rule("images.heavy-metadata", "low", "image files carry heavy metadata")

_HIGH_BYTES = 100 * 1024
_MODERN = ("avif", "webp")
_LEGACY_EXT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".gif": "gif"}
_AUDIT_IN = AUDIT.subset("page", "src", "rule", "detail", "bytes", "wasted_bytes", "line")


def _kib(n: float | None) -> str:
    if n is None:
        return "an unknown size"
    return f"{n / 1024 / 1024:,.2f} MiB" if abs(n) >= 1024 * 1024 else f"{n / 1024:,.1f} KiB"


def _original_format(path: str, known: dict[str, str | None]) -> str | None:
    if known.get(path):
        return known[path]
    for ext, fmt in _LEGACY_EXT.items():
        if path.lower().endswith(ext):
            return fmt
    return None


def modern_format(
    optimized: FrameLike, *, scanned: FrameLike | None = None, min_bytes: int = 8192
) -> list[Recommendation]:
    """``images.modern-format`` per legacy-format image whose AVIF/WebP would save bytes.

    Parameters
    ----------
    optimized : frame-like
        :func:`~perflab.images.optimize`'s :data:`~perflab.images.schema.OPTIMIZED`.
    scanned : frame-like, optional
        :func:`~perflab.images.scan`'s frame, for each original's format (else the
        file ending says it).
    min_bytes : int, default 8192
        Smallest saving worth a finding (Lighthouse's threshold).

    Examples
    --------
    >>> o = pl.DataFrame({"path": ["a.jpg"] * 2, "format": ["webp", "avif"],
    ...     "quality": [70, 50], "bytes": [40_000, 30_000], "original_bytes": [200_000] * 2,
    ...     "saved_bytes": [160_000, 170_000], "ssim": [0.96, 0.955],
    ...     "meets_target": [True, True]})
    >>> [(r.rule, r.severity, r.impact) for r in modern_format(o)]
    [('images.modern-format', 'high', 170000.0)]
    """
    df = as_frame(
        optimized, OPTIMIZED.subset("path", "format", "bytes", "original_bytes", "meets_target")
    )
    if "error" in df.columns:
        df = df.filter(pl.col("error").is_null())
    known: dict[str, str | None] = {}
    if scanned is not None:
        sc = as_frame(scanned, SCAN.subset("path", "format"))
        known = dict(zip(sc["path"].to_list(), sc["format"].to_list(), strict=True))
    best = (
        df.filter(pl.col("meets_target").fill_null(False) & pl.col("format").is_in(_MODERN))
        .sort("bytes")
        .group_by("path", maintain_order=True)
        .first()
        .with_columns((pl.col("original_bytes") - pl.col("bytes")).alias("saved"))
        .filter(pl.col("saved") >= min_bytes)
        .sort("saved", descending=True)
    )
    out = []
    for row in best.iter_rows(named=True):
        orig = _original_format(row["path"], known)
        if orig in _MODERN or orig is None:
            continue
        q = row.get("quality")
        ssim = row.get("ssim")
        pct = 100 * row["saved"] / row["original_bytes"] if row["original_bytes"] else 0.0
        out.append(
            Recommendation.of(
                MODERN_FORMAT,
                subject=row["path"],
                severity="high" if row["saved"] >= _HIGH_BYTES else None,
                finding=f"As {row['format'].upper()} this {orig.upper()} would weigh "
                f"{_kib(row['bytes'])} instead of {_kib(row['original_bytes'])} "
                f"({pct:.0f} % less) at the same visual quality.",
                action=f"Serve {row['format'].upper()} to browsers that accept it "
                "(`<picture>` with a `<source type=...>`, or content negotiation on the "
                "`Accept` header at the CDN), keeping the original as the fallback.",
                evidence=f"{row['format']}"
                + (f" quality {q}" if q is not None else " lossless")
                + (f", SSIM {ssim:.4f}" if ssim is not None else "")
                + f"; original {_kib(row['original_bytes'])}",
                impact=row["saved"],
                impact_unit="bytes",
            )
        )
    return out


def _audit(audit: FrameLike, name: str) -> pl.DataFrame:
    return as_frame(audit, _AUDIT_IN).filter(pl.col("rule") == name)


def oversized(audit: FrameLike) -> list[Recommendation]:
    """``images.oversized`` per image (and page) the audit found served too large.

    Parameters
    ----------
    audit : frame-like
        :func:`~perflab.images.audit_html`'s :data:`~perflab.images.audit.AUDIT`.

    Examples
    --------
    >>> a = pl.DataFrame({"page": ["p.html"], "src": ["/hero.jpg"],
    ...     "rule": ["uses-responsive-images"], "detail": ["2400×1600 file shown at 412×275"],
    ...     "bytes": [400_000], "wasted_bytes": [360_000], "line": [12]})
    >>> [(r.subject, r.severity) for r in oversized(a)]
    [('/hero.jpg on p.html', 'high')]
    """
    df = _audit(audit, "uses-responsive-images").sort("wasted_bytes", descending=True)
    out = []
    for row in df.iter_rows(named=True):
        wasted = row["wasted_bytes"] or 0
        out.append(
            Recommendation.of(
                OVERSIZED,
                subject=f"{row['src']} on {row['page']}",
                severity="high" if wasted >= _HIGH_BYTES else None,
                finding=f"{row['detail']}: {_kib(wasted)} of its {_kib(row['bytes'])} are "
                "pixels nobody sees.",
                action="Resize it to the displayed size times the device pixel ratio, or offer "
                "variants with `srcset`/`sizes` (see `responsive_variants`) so each screen "
                "downloads the width it shows.",
                evidence=f"line {row['line']}; Lighthouse uses-responsive-images: wasted = "
                "bytes × (1 − displayed pixels / natural pixels)",
                impact=wasted,
                impact_unit="bytes",
            )
        )
    return out


def _per_page(df: pl.DataFrame) -> list[dict[str, Any]]:
    return (
        df.group_by("page", maintain_order=True)
        .agg(
            pl.len().alias("n"),
            pl.col("src"),
            pl.col("line"),
            pl.col("bytes").sum().alias("bytes"),
            pl.col("bytes").null_count().alias("unknown"),
            pl.col("detail"),
        )
        .to_dicts()
    )


def _listing(row: dict[str, Any], limit: int = 5) -> str:
    items = [f"{s} (line {ln})" for s, ln in zip(row["src"], row["line"], strict=True)]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def unsized(audit: FrameLike) -> list[Recommendation]:
    """``images.unsized`` per page with ``<img>`` elements lacking width and height.

    Examples
    --------
    >>> a = pl.DataFrame({"page": ["p.html"] * 2, "src": ["a.jpg", "b.jpg"],
    ...     "rule": ["unsized-images"] * 2, "detail": ["no width or height"] * 2,
    ...     "bytes": [1000, 2000], "wasted_bytes": [None, None], "line": [3, 9]})
    >>> [(r.subject, r.impact) for r in unsized(a)]
    [('p.html', 2.0)]
    """
    out = []
    for row in _per_page(_audit(audit, "unsized-images")):
        out.append(
            Recommendation.of(
                UNSIZED,
                subject=row["page"],
                finding=f"{row['n']} image(s) on {row['page']} have no width and height, so "
                "the content below them jumps when they arrive (layout shift, CLS).",
                action="Give every `<img>` `width` and `height` attributes with its intrinsic "
                "size (CSS `height: auto` keeps it responsive), or a CSS `aspect-ratio`.",
                evidence=_listing(row),
                impact=row["n"],
                impact_unit="images",
            )
        )
    return out


def offscreen_not_lazy(audit: FrameLike) -> list[Recommendation]:
    """``images.offscreen-not-lazy`` per page with offscreen images loaded eagerly.

    Examples
    --------
    >>> a = pl.DataFrame({"page": ["p.html"], "src": ["g1.jpg"], "rule": ["offscreen-images"],
    ...     "detail": ["estimated top 1,400 px"], "bytes": [150_000],
    ...     "wasted_bytes": [150_000], "line": [40]})
    >>> [(r.rule, r.severity, r.impact) for r in offscreen_not_lazy(a)]
    [('images.offscreen-not-lazy', 'high', 150000.0)]
    """
    out = []
    for row in _per_page(_audit(audit, "offscreen-images")):
        total = row["bytes"]
        out.append(
            Recommendation.of(
                OFFSCREEN_NOT_LAZY,
                subject=row["page"],
                severity="high" if total >= _HIGH_BYTES else None,
                finding=f"{row['n']} image(s) on {row['page']} sit below the fold but load "
                f"with the page ({_kib(total)}), competing with what the visitor sees first.",
                action='Add `loading="lazy"` (and `decoding="async"`) to images below the '
                "fold; keep the first, largest visible image eager, ideally with "
                '`fetchpriority="high"`.',
                evidence=_listing(row) + "; offscreen estimated from document order "
                "(static HTML, no layout)",
                impact=total,
                impact_unit="bytes",
            )
        )
    return out


def lcp_lazy_loaded(audit: FrameLike) -> list[Recommendation]:
    """``images.lcp-lazy-loaded`` per page with lazy images in the first viewport.

    Examples
    --------
    >>> a = pl.DataFrame({"page": ["p.html"], "src": ["/hero.jpg"], "rule": ["lcp-lazy-loaded"],
    ...     "detail": ['loading="lazy" on image 1'], "bytes": [150_000],
    ...     "wasted_bytes": [None], "line": [12]})
    >>> [(r.rule, r.severity, r.impact) for r in lcp_lazy_loaded(a)]
    [('images.lcp-lazy-loaded', 'medium', 1.0)]
    """
    out = []
    for row in _per_page(_audit(audit, "lcp-lazy-loaded")):
        out.append(
            Recommendation.of(
                LCP_LAZY_LOADED,
                subject=row["page"],
                finding=f"{row['n']} image(s) at the top of {row['page']} have "
                '`loading="lazy"`: the browser fetches them only after layout, so the '
                "largest of them — usually the LCP element — paints late.",
                action='Drop `loading="lazy"` from images in the first viewport and give the '
                'hero image `fetchpriority="high"`; keep lazy loading for images below the '
                "fold.",
                evidence=_listing(row) + "; first viewport estimated from document order "
                "(static HTML, no layout)",
                impact=row["n"],
                impact_unit="images",
            )
        )
    return out


def missing_srcset(audit: FrameLike) -> list[Recommendation]:
    """``images.missing-srcset`` per page with large single-size images.

    Examples
    --------
    >>> a = pl.DataFrame({"page": ["p.html"], "src": ["a.jpg"], "rule": ["missing-srcset"],
    ...     "detail": ["one 1600 px wide file for every screen"], "bytes": [300_000],
    ...     "wasted_bytes": [None], "line": [5]})
    >>> [(r.rule, r.impact_unit) for r in missing_srcset(a)]
    [('images.missing-srcset', 'bytes')]
    """
    out = []
    for row in _per_page(_audit(audit, "missing-srcset")):
        out.append(
            Recommendation.of(
                MISSING_SRCSET,
                subject=row["page"],
                finding=f"{row['n']} large image(s) on {row['page']} are offered in one size "
                "(or with a `srcset` but no `sizes`), so a phone downloads the desktop file.",
                action="Generate width variants (`responsive_variants`, Next.js's device widths "
                "by default) and list them in `srcset` with a `sizes` that says how wide the "
                "slot is.",
                evidence=_listing(row) + "; " + "; ".join(sorted(set(row["detail"])))[:300],
                impact=row["bytes"],
                impact_unit="bytes",
                score=float(row["bytes"] or 0),
            )
        )
    return out


def heavy_metadata(
    scanned: FrameLike, *, min_bytes: int = 4096, min_share_pct: float = 5.0
) -> list[Recommendation]:
    """``images.heavy-metadata`` per file whose metadata is heavy in bytes and share.

    Parameters
    ----------
    scanned : frame-like
        :func:`~perflab.images.scan`'s :data:`~perflab.images.schema.SCAN`.
    min_bytes, min_share_pct
        Both must be reached: metadata bytes, and their share of the file.

    Examples
    --------
    >>> s = pl.DataFrame({"path": ["cam.jpg", "ok.png"], "bytes": [60_000, 50_000],
    ...     "metadata_bytes": [18_000, 200], "icc_profile": [None, None], "error": [None, None]})
    >>> [(r.subject, r.impact) for r in heavy_metadata(s)]
    [('cam.jpg', 18000.0)]
    """
    df = as_frame(scanned, SCAN.subset("path", "bytes", "metadata_bytes"))
    if "error" in df.columns:
        df = df.filter(pl.col("error").is_null())
    df = (
        df.with_columns((100 * pl.col("metadata_bytes") / pl.col("bytes")).alias("share"))
        .filter((pl.col("metadata_bytes") >= min_bytes) & (pl.col("share") >= min_share_pct))
        .sort("metadata_bytes", descending=True)
    )
    out = []
    for row in df.iter_rows(named=True):
        icc = row.get("icc_profile")
        out.append(
            Recommendation.of(
                HEAVY_METADATA,
                subject=row["path"],
                finding=f"{_kib(row['metadata_bytes'])} of this {_kib(row['bytes'])} file "
                f"({row['share']:.0f} %) is metadata (EXIF, XMP, ICC, comments) that no "
                "browser shows.",
                action="Strip metadata when publishing (the re-encoded candidates of "
                "`optimize` carry none); keep the colour profile only if it is not sRGB, "
                "or convert the pixels to sRGB first.",
                evidence=f"metadata {row['metadata_bytes']:,} bytes of {row['bytes']:,}"
                + (f"; colour profile {icc}" if icc else ""),
                impact=row["metadata_bytes"],
                impact_unit="bytes",
            )
        )
    return out


def findings(
    scanned: FrameLike | None = None,
    optimized: FrameLike | None = None,
    audit: FrameLike | None = None,
    *,
    min_modern_bytes: int = 8192,
    min_metadata_bytes: int = 4096,
    min_metadata_pct: float = 5.0,
    only: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every image rule that fires on a scan, an optimization run and page audits, ranked.

    Parameters
    ----------
    scanned : frame-like, optional
        :func:`~perflab.images.scan` output (``images.heavy-metadata``; the originals'
        formats for ``images.modern-format``).
    optimized : frame-like, optional
        :func:`~perflab.images.optimize` output (``images.modern-format``).
    audit : frame-like, optional
        :func:`~perflab.images.audit_html` output (``images.oversized``,
        ``images.unsized``, ``images.offscreen-not-lazy``, ``images.lcp-lazy-loaded``,
        ``images.missing-srcset``).
    min_modern_bytes, min_metadata_bytes, min_metadata_pct
        The thresholds of the module docstring's table.
    only : sequence of str, optional
        Rule ids to run (default: all).

    Returns
    -------
    polars.DataFrame
        :data:`perflab.recommend.RECOMMENDATIONS`, ranked; empty when nothing fires.

    Examples
    --------
    >>> s = pl.DataFrame({"path": ["cam.jpg"], "bytes": [60_000], "metadata_bytes": [18_000]})
    >>> findings(scanned=s).select("rule", "impact").rows()
    [('images.heavy-metadata', 18000.0)]
    """
    if min_modern_bytes < 0 or min_metadata_bytes < 0 or min_metadata_pct < 0:
        raise ParameterError("thresholds must not be negative")
    wanted = None if only is None else set(only)

    def on(r: object) -> bool:
        return wanted is None or getattr(r, "id", None) in wanted

    recs: list[Recommendation] = []
    if optimized is not None and on(MODERN_FORMAT):
        recs += modern_format(optimized, scanned=scanned, min_bytes=min_modern_bytes)
    if audit is not None:
        if on(OVERSIZED):
            recs += oversized(audit)
        if on(UNSIZED):
            recs += unsized(audit)
        if on(OFFSCREEN_NOT_LAZY):
            recs += offscreen_not_lazy(audit)
        if on(LCP_LAZY_LOADED):
            recs += lcp_lazy_loaded(audit)
        if on(MISSING_SRCSET):
            recs += missing_srcset(audit)
    if scanned is not None and on(HEAVY_METADATA):
        recs += heavy_metadata(
            scanned, min_bytes=min_metadata_bytes, min_share_pct=min_metadata_pct
        )
    return to_frame(recs)

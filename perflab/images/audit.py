"""Audit the ``<img>`` and ``<picture>`` elements of HTML pages, Lighthouse-style.

:func:`audit_html` reads pages as they are served (static HTML: no browser, no layout,
no stylesheets), resolves each image to its file under ``images_root`` and measures it
with :func:`~perflab.images.scan`, and reports one row per problem in the
:data:`AUDIT` frame. The checks and formulas follow Lighthouse (``core/audits/`` in
GoogleChrome/lighthouse), with what static HTML cannot know stated:

``uses-responsive-images`` (Lighthouse's *Properly size images*)
    ``wasted_bytes = bytes × (1 − displayed pixels / natural pixels)``, where displayed
    pixels are the displayed width and height each times the device pixel ratio
    (Lighthouse's mobile default, the emulated moto g power: a 412×823 CSS-pixel
    viewport at DPR 1.75 — ``MOTOGPOWER_EMULATION_METRICS`` in
    ``core/config/constants.js``). Reported when ``wasted_bytes > 4096``
    (``IGNORE_THRESHOLD_IN_BYTES``), or ``> 12288`` when the element already has a
    ``srcset`` or sits in a ``<picture>`` (``IGNORE_THRESHOLD_IN_BYTES_BREAKPOINTS_PRESENT``).
    SVG is skipped, as Lighthouse does. The file audited is the one the browser would
    pick: the first ``<source>`` of a ``<picture>`` whose ``type`` Chrome decodes and
    whose ``media`` matches the viewport, then the ``srcset`` candidate chosen for the
    slot (``sizes`` evaluated for ``px``, ``vw``, ``em`` lengths and ``min-width`` /
    ``max-width`` conditions; unknown ones fall back to ``100vw``): the smallest
    candidate whose density reaches the DPR, else the largest.
``unsized-images``
    An ``<img>`` is sized when both ``width`` and ``height`` are given by attributes
    (a non-negative integer, ``+`` rejected, as Lighthouse parses them) or inline
    style (not ``auto``/``initial``/``unset``/``inherit``), or one of them plus an
    ``aspect-ratio``. Images positioned ``fixed``/``absolute`` inline are skipped.
    *Static limit*: sizes set by a stylesheet are not seen, so such an image is
    reported where Lighthouse would pass it.
``offscreen-images``
    Lighthouse defers an image that is outside the viewport at load. Without layout
    we estimate an image's top as the sum of the displayed heights of the images
    before it in document order (stacked, text ignored): an image is *offscreen* when
    that estimate reaches the viewport height, or when more than ``eager_images``
    images (default 3) come before it. It is reported when it has no ``loading``
    attribute (``lazy`` or ``eager`` both count as a deliberate choice, as in
    Lighthouse) and, when its size is known, weighs at least 2048 bytes
    (Lighthouse's ``IGNORE_THRESHOLD_IN_BYTES``); ``wasted_bytes`` is its whole size.
    *Static limit*: images side by side in a grid make the estimate too deep; a tall
    block of text above makes it too shallow.
``lcp-lazy-loaded``
    Lighthouse's *Largest Contentful Paint image was lazily loaded*: an image with
    ``loading="lazy"`` that the same estimate puts in the first viewport (its top
    above the fold and among the first ``eager_images``), weighing at least 2048
    bytes. Chrome fetches a lazy image only after layout shows it is near the
    viewport, so the hero image — usually the LCP element — starts late. Lighthouse
    judges the one LCP element it measured; without layout every lazy image in the
    first viewport is a candidate. No ``wasted_bytes``: the cost is time, not bytes.
``missing-srcset``
    An ``<img>`` with one fixed source (no ``srcset``, no ``<picture>`` sources) whose
    file is at least ``large_width`` pixels wide (default 640, the smallest of
    Next.js's device widths: below it one file fits every phone) and wider than the
    audited screen needs (displayed width × DPR), or a ``srcset`` of
    width descriptors with no ``sizes`` (the browser then assumes ``100vw`` and
    phones download a full-width file for a small slot). Lighthouse has no such
    audit; it is the cause behind many ``uses-responsive-images`` findings.
``missing-image``
    The ``src`` does not resolve to a readable image (reported, never raised).

Displayed size comes from the ``width``/``height`` attributes or inline ``style``
(``px``; ``vw`` against the viewport), the missing one from the file's aspect ratio.
An image is assumed never wider than the viewport (the ubiquitous
``img {max-width: 100%; height: auto}``), so a displayed width is capped at it; an
image with no size at all is displayed at its natural size, capped likewise.
``bytes`` is the file's size on disk (images are served uncompressed, so it is the
transfer size minus headers).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import polars as pl

from perflab.errors import InputError, ParameterError
from perflab.images.schema import AUDIT

__all__ = [
    "AUDIT",
    "DPR",
    "RESPONSIVE_THRESHOLD_BYTES",
    "RESPONSIVE_THRESHOLD_BYTES_SRCSET",
    "VIEWPORT",
    "audit_html",
    "choose_candidate",
    "page_summary",
    "parse_srcset",
    "slot_width",
]


VIEWPORT: tuple[int, int] = (412, 823)
"""Lighthouse's default mobile viewport in CSS pixels (emulated moto g power)."""

DPR: float = 1.75
"""Lighthouse's default mobile device pixel ratio."""

RESPONSIVE_THRESHOLD_BYTES = 4096
"""``uses-responsive-images``: waste below this is ignored."""

RESPONSIVE_THRESHOLD_BYTES_SRCSET = 12288
"""…and below this when the element has a ``srcset`` or is in a ``<picture>``."""

OFFSCREEN_MIN_BYTES = 2048
"""``offscreen-images``: images smaller than this are not worth deferring."""

# image types Chrome decodes: a <source type> outside this list is skipped
_SUPPORTED_TYPES = {
    "image/avif", "image/webp", "image/jpeg", "image/jpg", "image/png", "image/gif",
    "image/svg+xml", "image/apng", "image/bmp", "image/x-icon", "image/vnd.microsoft.icon",
}  # fmt: skip
_NOT_EXPLICIT = {"auto", "initial", "unset", "inherit", ""}
_EM = 16.0  # CSS pixels per em/rem at the browser's default font size


# ---------------------------------------------------------------- srcset and sizes


def parse_srcset(value: str | None) -> list[tuple[str, str]]:
    """Split a ``srcset`` into ``(url, descriptor)`` pairs, as the HTML spec reads it.

    A URL runs to the next whitespace (a trailing comma ends it); its descriptor runs
    to the next comma. An absent descriptor is ``"1x"``.

    Examples
    --------
    >>> parse_srcset("a.jpg 640w, b.jpg 1280w")
    [('a.jpg', '640w'), ('b.jpg', '1280w')]
    >>> parse_srcset("a.jpg, b.jpg 2x")
    [('a.jpg', '1x'), ('b.jpg', '2x')]
    """
    out: list[tuple[str, str]] = []
    s, i, n = value or "", 0, len(value or "")
    while i < n:
        while i < n and (s[i].isspace() or s[i] == ","):
            i += 1
        j = i
        while j < n and not s[j].isspace():
            j += 1
        url = s[i:j]
        i = j
        desc = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            k = s.find(",", i)
            k = n if k < 0 else k
            desc = s[i:k].strip()
            i = k + 1
        if url:
            out.append((url, desc or "1x"))
    return out


def _length(text: str, viewport_w: float) -> float | None:
    m = re.fullmatch(r"\s*([\d.]+)\s*(px|vw|em|rem)?\s*", text)
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2) or "px"
    return v * {"px": 1.0, "vw": viewport_w / 100, "em": _EM, "rem": _EM}[unit]


def _media_matches(condition: str, viewport_w: float) -> bool | None:
    """Evaluate ``(min-width: …) and (max-width: …)``; None when not understood."""
    cond = condition.strip().lower()
    if not cond:
        return True
    if " or " in cond or "," in cond or cond.startswith("not "):
        return None
    ok = True
    for part in re.split(r"\s+and\s+", cond):
        m = re.fullmatch(r"\(\s*(min|max)-width\s*:\s*([^)]+)\)", part.strip())
        if not m:
            return None
        px = _length(m.group(2), viewport_w)
        if px is None:
            return None
        ok = ok and (viewport_w >= px if m.group(1) == "min" else viewport_w <= px)
    return ok


def slot_width(sizes: str | None, viewport_w: float = VIEWPORT[0]) -> float:
    """The slot width in CSS pixels a ``sizes`` attribute gives at this viewport width.

    Entries are tried in order; the first whose media condition matches gives the
    length. Conditions and lengths that are not understood (``calc()``, ``or``…) are
    skipped; with no match the browser's default, ``100vw``, applies.

    Examples
    --------
    >>> slot_width("(max-width: 600px) 100vw, 50vw", 412)
    412.0
    >>> slot_width("(min-width: 1024px) 33vw, 300px", 412)
    300.0
    """
    for entry in _split_commas(sizes or ""):
        entry = entry.strip()
        m = re.fullmatch(r"(.*?)\s*([\d.]+\s*(?:px|vw|em|rem)?)", entry)
        if not m:
            continue
        if _media_matches(m.group(1), viewport_w) is not True:
            continue
        px = _length(m.group(2), viewport_w)
        if px is not None:
            return px
    return float(viewport_w)


def _split_commas(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p for p in out if p.strip()]


def choose_candidate(
    candidates: Sequence[tuple[str, str]],
    *,
    sizes: str | None = None,
    viewport_w: float = VIEWPORT[0],
    dpr: float = DPR,
) -> str | None:
    """The URL a browser picks from ``srcset`` candidates for this slot and DPR.

    Each candidate's density is its ``x`` descriptor, or its ``w`` descriptor over the
    slot width (:func:`slot_width`); the smallest density reaching ``dpr`` wins, else
    the densest. (Browsers may pick differently from cache or data saver; this is the
    spec's plain choice.)

    Examples
    --------
    >>> c = parse_srcset("s.jpg 640w, m.jpg 1080w, l.jpg 2048w")
    >>> choose_candidate(c, sizes="100vw", viewport_w=412, dpr=1.75)
    'm.jpg'
    >>> choose_candidate(c, sizes="200px", viewport_w=412, dpr=1.75)
    's.jpg'
    """
    if not candidates:
        return None
    slot = slot_width(sizes, viewport_w)
    dens = []
    for url, desc in candidates:
        m = re.fullmatch(r"([\d.]+)([wx])", desc.strip().lower())
        if not m:
            d = 1.0
        elif m.group(2) == "w":
            d = float(m.group(1)) / max(slot, 1.0)
        else:
            d = float(m.group(1))
        dens.append((d, url))
    dens.sort()
    for d, url in dens:
        if d >= dpr - 1e-9:
            return url
    return dens[-1][1]


# ---------------------------------------------------------------- parsing


@dataclass
class _Img:
    attrs: dict[str, str]
    line: int
    sources: list[dict[str, str]] = field(default_factory=list)
    in_picture: bool = False


class _Collector(HTMLParser):
    """Every ``<img>`` in document order with its ``<picture>`` sources and its line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[_Img] = []
        self._pictures: list[list[dict[str, str]]] = []
        self._skip = 0  # inside <noscript> or <template>: fallbacks, not rendered

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag in ("noscript", "template"):
            self._skip += 1
        elif self._skip:
            return
        elif tag == "picture":
            self._pictures.append([])
        elif tag == "source" and self._pictures:
            self._pictures[-1].append(a)
        elif tag == "img":
            srcs = list(self._pictures[-1]) if self._pictures else []
            self.images.append(_Img(a, self.getpos()[0], srcs, bool(self._pictures)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("noscript", "template"):  # <noscript/> opens nothing
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("noscript", "template"):
            self._skip = max(0, self._skip - 1)
        elif tag == "picture" and self._pictures and not self._skip:
            self._pictures.pop()


def _html_int(value: str | None) -> int | None:
    """An HTML dimension attribute as Lighthouse reads it: parseInt, '+' rejected."""
    if value is None:
        return None
    v = value.strip()
    if not v or v.startswith("+"):
        return None
    m = re.match(r"\d+", v)
    return int(m.group()) if m else None


def _style(value: str | None) -> dict[str, str]:
    out = {}
    for decl in (value or "").split(";"):
        if ":" in decl:
            k, v = decl.split(":", 1)
            out[k.strip().lower()] = v.strip().lower().replace("!important", "").strip()
    return out


# ---------------------------------------------------------------- files


def _pages(pages: Any) -> list[tuple[str, str, Path | None]]:
    """(name, html text, folder of the page) for every page asked for."""
    if isinstance(pages, Mapping):
        return [(str(k), str(v), None) for k, v in pages.items()]
    if isinstance(pages, str | os.PathLike):
        p = Path(pages)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".html", ".htm"))
            return [(str(f), _read(f), f.parent) for f in files]
        return [(str(pages), _read(p), p.parent)]
    if isinstance(pages, Sequence):
        return [(str(p), _read(Path(p)), Path(p).parent) for p in pages]
    raise ParameterError("pages: give an HTML file, a folder, a list of files or {name: html}")


def _read(path: Path) -> str:
    import gzip

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), None, "no such page") from None
    except IsADirectoryError:
        raise InputError(str(path), None, "a folder, not a page") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(str(path), None, f"truncated gzip: {exc}") from None
    m = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", raw[:2048], re.I)
    try:
        return raw.decode(m.group(1).decode() if m else "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _resolve(src: str, page_dir: Path | None, images_root: Path | None) -> Path | None:
    """The file a URL points at, or None (remote, data: or not found)."""
    parts = urlsplit(src.strip())
    if parts.scheme in ("http", "https", "data", "blob") or src.strip().startswith("//"):
        return None
    rel = unquote(parts.path)
    if not rel:
        return None
    tries: list[Path] = []
    if rel.startswith("/"):
        if images_root is not None:
            tries.append(images_root / rel.lstrip("/"))
        if page_dir is not None:
            tries.append(page_dir / rel.lstrip("/"))
    else:
        if page_dir is not None:
            tries.append(page_dir / rel)
        if images_root is not None:
            tries.append(images_root / rel)
    for t in tries:
        if t.is_file():
            return t
    return tries[0] if tries else None


# ---------------------------------------------------------------- the audit


def audit_html(
    pages: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Mapping[str, str],
    *,
    images_root: str | os.PathLike[str] | None = None,
    viewport: tuple[int, int] = VIEWPORT,
    dpr: float = DPR,
    eager_images: int = 3,
    large_width: int = 640,
    max_pixels: int | None = None,
) -> pl.DataFrame:
    """Find the image problems of HTML pages: unsized, not lazy, not responsive, oversized.

    Parameters
    ----------
    pages : path, folder, sequence of paths, or mapping of name to HTML text
        The pages (``.html``/``.htm``, gzip accepted). Malformed HTML is audited as
        a browser would parse it (unclosed tags are fine); ``<img>`` inside
        ``<noscript>`` or ``<template>`` is not rendered and not audited.
    images_root : path, optional
        The site's document root: URLs starting with ``/`` resolve under it; relative
        URLs resolve against the page's folder first, then under it.
    viewport : (int, int), default (412, 823)
        Width and height in CSS pixels (Lighthouse mobile).
    dpr : float, default 1.75
        Device pixel ratio (Lighthouse mobile).
    eager_images : int, default 3
        Images after this many in document order count as offscreen.
    large_width : int, default 640
        Natural width from which a fixed-source image should have a ``srcset``.
    max_pixels : int, optional
        Bomb guard passed to :func:`~perflab.images.scan`.

    Returns
    -------
    polars.DataFrame
        :data:`AUDIT`, sorted by page, line and rule; empty (that schema) when
        nothing is wrong.

    Raises
    ------
    InputError
        A page file that does not exist (a missing *image* is a ``missing-image`` row).

    Examples
    --------
    >>> page = '<img src="https://cdn.example/hero.jpg">\\n<p>text</p>'
    >>> audit_html({"index.html": page}).select("rule", "line").rows()
    [('unsized-images', 1)]
    """
    if dpr <= 0 or viewport[0] <= 0 or viewport[1] <= 0:
        raise ParameterError("viewport and dpr must be positive")
    root = Path(images_root) if images_root is not None else None
    vw, vh = float(viewport[0]), float(viewport[1])
    parsed: list[tuple[str, Path | None, list[_Img]]] = []
    for name, text, folder in _pages(pages):
        collector = _Collector()
        try:
            collector.feed(text)
            collector.close()
        except Exception as exc:  # html.parser is lenient; this is a last resort
            raise InputError(name, collector.getpos()[0], f"cannot parse HTML: {exc}") from None
        parsed.append((name, folder, collector.images))
    # which file each image makes the browser fetch, then one scan of them all
    plan: list[tuple[str, int, _Img, str, Path | None, bool]] = []
    for name, folder, imgs in parsed:
        for i, img in enumerate(imgs):
            served, responsive = _served(img, vw, dpr)
            plan.append((name, i, img, served, _resolve(served, folder, root), responsive))
    files = sorted({str(f) for *_, f, _ in plan if f is not None and f.is_file()})
    info: dict[str, dict[str, Any]] = {}
    if files:
        from perflab.images.scan import scan

        kw = {} if max_pixels is None else {"max_pixels": max_pixels}
        for row in scan(files, **kw).iter_rows(named=True):
            info[str(row["path"])] = row
    rows: list[dict[str, Any]] = []
    top: dict[str, float] = {}
    for name, index, img, served, file, responsive in plan:
        meta = info.get(str(file)) if file is not None else None
        rows += _check(
            name, index, img, served, file, meta, responsive, top, vw, vh, dpr, eager_images,
            large_width,
        )  # fmt: skip
    df = AUDIT.build(rows)
    return df.sort("page", "line", "rule")


def _served(img: _Img, vw: float, dpr: float) -> tuple[str, bool]:
    """The URL the browser fetches for this element, and whether it offers a choice."""
    for source in img.sources:
        typ = source.get("type", "").strip().lower()
        if typ and typ not in _SUPPORTED_TYPES:
            continue
        if _media_matches(source.get("media", ""), vw) is not True:
            continue
        cands = parse_srcset(source.get("srcset"))
        url = choose_candidate(cands, sizes=source.get("sizes"), viewport_w=vw, dpr=dpr)
        if url:
            return url, True
    cands = parse_srcset(img.attrs.get("srcset"))
    if cands:
        src = img.attrs.get("src", "").strip()
        if src and not any(d.endswith("w") for _, d in cands):
            cands = [*cands, (src, "1x")]  # with x descriptors, src is the 1x candidate
        url = choose_candidate(cands, sizes=img.attrs.get("sizes"), viewport_w=vw, dpr=dpr)
        return url or src, True
    return img.attrs.get("src", "").strip(), img.in_picture and bool(img.sources)


def _css_px(value: str | None, vw: float) -> float | None:
    if value is None or value in _NOT_EXPLICIT:
        return None
    return _length(value.removesuffix("px") + "px" if value.endswith("px") else value, vw)


def _check(
    page: str,
    index: int,
    img: _Img,
    src: str,
    file: Path | None,
    meta: Mapping[str, Any] | None,
    responsive: bool,
    top: dict[str, float],
    vw: float,
    vh: float,
    dpr: float,
    eager_images: int,
    large_width: int,
) -> list[dict[str, Any]]:
    a = img.attrs
    style = _style(a.get("style"))
    is_svg = src.lower().split("?")[0].endswith(".svg") or src.startswith("data:image/svg")
    ok = meta is not None and meta.get("error") is None
    nat_w = meta["width"] if ok and meta is not None else None
    nat_h = meta["height"] if ok and meta is not None else None
    size = meta["bytes"] if meta is not None else None
    out: list[dict[str, Any]] = []

    # displayed size in CSS pixels, as the module docstring estimates it
    w = _css_px(style.get("width"), vw)
    h = _css_px(style.get("height"), vw)
    aw, ah = _html_int(a.get("width")), _html_int(a.get("height"))
    if w is None and aw is not None and not a.get("width", "").strip().endswith("%"):
        w = float(aw)
    if h is None and ah is not None and not a.get("height", "").strip().endswith("%"):
        h = float(ah)
    if nat_w and nat_h:
        if w is None and h is None:
            w, h = float(nat_w), float(nat_h)
        elif w is None and h is not None:
            w = h * nat_w / nat_h
        elif h is None and w is not None:
            h = w * nat_h / nat_w
    if w is not None and h is not None and w > vw:  # max-width: 100%; height: auto
        w, h = vw, h * vw / w
    base = {
        "page": page,
        "src": src,
        "line": img.line,
        "natural_width": nat_w,
        "natural_height": nat_h,
        "bytes": size,
        "displayed_width": w,
        "displayed_height": h,
    }

    def add(rule: str, detail: str, wasted: int | None = None) -> None:
        out.append({**base, "rule": rule, "detail": detail, "wasted_bytes": wasted})

    # missing-image
    if file is None and not src:
        add("missing-image", "no src")
    elif file is not None and not ok:
        why = meta.get("error") if meta is not None else "no such file"
        add("missing-image", f"{why}: {file}")

    # unsized-images
    position = style.get("position", "")
    explicit_w = (
        _html_int(a.get("width")) is not None or style.get("width", "") not in _NOT_EXPLICIT
    )
    explicit_h = (
        _html_int(a.get("height")) is not None or style.get("height", "") not in _NOT_EXPLICIT
    )
    ratio = style.get("aspect-ratio", "") not in _NOT_EXPLICIT
    sized = (explicit_w and explicit_h) or ((explicit_w or explicit_h) and ratio)
    if not sized and position not in ("fixed", "absolute"):
        missing = [n for n, e in (("width", explicit_w), ("height", explicit_h)) if not e]
        add("unsized-images", f"no {' or '.join(missing)}: the page shifts when it loads")

    # offscreen-images
    above = top.get(page, 0.0)
    top[page] = above + (h or 0.0)
    loading = a.get("loading", "").strip().lower()
    offscreen = above >= vh or index >= eager_images
    big_enough = size is None or size >= OFFSCREEN_MIN_BYTES
    inline = src.startswith("data:")  # no request to defer
    if offscreen and loading not in ("lazy", "eager") and big_enough and not inline:
        why = (
            f"estimated top {above:,.0f} px is below the {vh:,.0f} px fold"
            if above >= vh
            else f"image {index + 1} in document order (after the first {eager_images})"
        )
        add("offscreen-images", f'no loading="lazy"; {why}', size)

    # lcp-lazy-loaded: the opposite mistake, a lazy image in the first viewport
    if not offscreen and loading == "lazy" and big_enough and not inline:
        add(
            "lcp-lazy-loaded",
            f'loading="lazy" on image {index + 1} in document order, estimated top '
            f"{above:,.0f} px above the {vh:,.0f} px fold: fetched only after layout, "
            "late if it is the LCP element",
        )

    # missing-srcset
    if not is_svg:
        needed = w * dpr if w is not None else 0.0
        if not responsive and nat_w is not None and nat_w >= large_width and nat_w > needed:
            add("missing-srcset", f"one {nat_w} px wide file for every screen; no srcset")
        cands = parse_srcset(a.get("srcset"))
        if cands and any(d.endswith("w") for _, d in cands) and not a.get("sizes", "").strip():
            add(
                "missing-srcset",
                "srcset with w descriptors but no sizes: the browser assumes 100vw",
            )

    # uses-responsive-images
    if not is_svg and nat_w and nat_h and size is not None and w is not None and h is not None:
        used = (w * dpr) * (h * dpr)
        wasted = round(size * (1 - used / (nat_w * nat_h)))
        limit = RESPONSIVE_THRESHOLD_BYTES_SRCSET if responsive else RESPONSIVE_THRESHOLD_BYTES
        if wasted > limit:
            shown = (
                f"{w:,.0f}×{h:,.0f} CSS px ({w * dpr:,.0f}×{h * dpr:,.0f} device px at DPR {dpr:g})"
            )
            add("uses-responsive-images", f"{nat_w}×{nat_h} file shown at {shown}", wasted)
    return out


def page_summary(audit: Any) -> pl.DataFrame:
    """Per page: how many images have problems, of which kind, and the bytes at stake.

    An image flagged by several rules counts once, with its largest ``wasted_bytes``
    (an offscreen image that is also oversized wastes its bytes once).

    Parameters
    ----------
    audit : frame-like
        :data:`AUDIT` rows (:func:`audit_html`'s output).

    Returns
    -------
    polars.DataFrame
        ``page``, ``images`` (elements with a problem), one count column per rule
        (``uses-responsive-images``, ``offscreen-images``, ``lcp-lazy-loaded``,
        ``unsized-images``, ``missing-srcset``, ``missing-image``) and ``wasted_bytes``;
        heaviest first.

    Examples
    --------
    >>> row = {"page": "p", "src": "a.jpg", "line": 3}
    >>> a = AUDIT.build([{**row, "rule": "offscreen-images", "wasted_bytes": 900},
    ...                  {**row, "rule": "uses-responsive-images", "wasted_bytes": 600}])
    >>> page_summary(a).select("page", "images", "wasted_bytes").rows()
    [('p', 1, 900)]
    """
    from perflab.frames import as_frame

    df = as_frame(audit, AUDIT)
    rules = ["uses-responsive-images", "offscreen-images", "lcp-lazy-loaded", "unsized-images",
             "missing-srcset", "missing-image"]  # fmt: skip
    per_image = df.group_by("page", "line", "src").agg(
        pl.col("wasted_bytes").max().fill_null(0),
        *[(pl.col("rule") == r).any().alias(r) for r in rules],
    )
    return (
        per_image.group_by("page")
        .agg(
            pl.len().alias("images"),
            *[pl.col(r).sum() for r in rules],
            pl.col("wasted_bytes").sum(),
        )
        .with_columns(pl.col("images").cast(pl.Int64), pl.col(rules).cast(pl.Int64))
        .sort("wasted_bytes", "page", descending=[True, False])
    )

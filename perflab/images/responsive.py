"""Resized variants of images for ``srcset``, and the markup that serves them.

:func:`responsive_variants` writes one file per image, width and format into a new
folder (Lanczos resampling, aspect ratio kept, never upscaled) and returns the
:data:`~perflab.images.schema.VARIANTS` frame; :func:`srcset` and :func:`markup` turn
that frame into ``srcset`` strings and ready-to-paste ``<img>`` / ``<picture>`` tags.

The default widths are Next.js's (``next/image``), the framework defaults most sites
inherit: ``images.deviceSizes`` ``[640, 750, 828, 1080, 1200, 1920, 2048, 3840]`` for
full-width images and ``images.imageSizes`` ``[16, 32, 48, 64, 96, 128, 256, 384]``
for fixed-size ones (``imageConfigDefault`` in ``next/dist/shared/lib/image-config.js``,
unchanged from Next.js 10 to 15; chosen in vercel/next.js#18420 to cover 1×–3× pixel
densities of common phones, tablets and desktops). :data:`DEVICE_WIDTHS` holds the
first, :data:`IMAGE_WIDTHS` the second and :data:`ALL_WIDTHS` both, as Next.js's
``sizes`` list in its images manifest.
"""

from __future__ import annotations

import html
import io
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame, write_atomic
from perflab.images.schema import VARIANTS

__all__ = [
    "ALL_WIDTHS",
    "DEFAULT_QUALITY",
    "DEVICE_WIDTHS",
    "IMAGE_WIDTHS",
    "MIME",
    "markup",
    "responsive_variants",
    "srcset",
]

DEVICE_WIDTHS: tuple[int, ...] = (640, 750, 828, 1080, 1200, 1920, 2048, 3840)
"""Next.js's default ``images.deviceSizes``: widths for images that span the viewport."""

IMAGE_WIDTHS: tuple[int, ...] = (16, 32, 48, 64, 96, 128, 256, 384)
"""Next.js's default ``images.imageSizes``: widths for images narrower than the screen."""

ALL_WIDTHS: tuple[int, ...] = tuple(sorted(IMAGE_WIDTHS + DEVICE_WIDTHS))
"""Both lists, as Next.js offers them to an image with a ``sizes`` attribute."""

DEFAULT_QUALITY: dict[str, int] = {"avif": 75, "webp": 75, "jpeg": 75}
"""Encoder quality per lossy format when none is given: 75, what ``next/image`` asks
its optimizer for when an image sets no ``quality``. PNG is lossless. For the quality
that meets a perceptual target, use :func:`~perflab.images.optimize`."""

MIME: dict[str, str] = {
    "avif": "image/avif",
    "webp": "image/webp",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
}
"""MIME type of each format, for ``<source type=...>``."""

_EXT = {"avif": "avif", "webp": "webp", "jpeg": "jpg", "png": "png"}
_PIL_FORMAT = {"avif": "AVIF", "webp": "WEBP", "jpeg": "JPEG", "png": "PNG"}
# a <picture>'s <source> order: the best compression first, browsers take the first match
_PREFERENCE = ("avif", "webp", "jpeg", "png", "gif")


def _inputs(
    images: Any, root: str | os.PathLike[str] | None
) -> list[tuple[str, Path, PurePosixPath | None, str | None]]:
    """(path as given, file on disk, sub-folder to mirror, scan error) per image."""
    base = Path(root) if root is not None else None

    def item(
        given: str, err: str | None = None
    ) -> tuple[str, Path, PurePosixPath | None, str | None]:
        file = Path(given)
        if base is not None and not file.is_absolute() and not file.exists():
            file = base / file
        sub = None
        if base is not None:
            try:
                sub = PurePosixPath(file.resolve().relative_to(base.resolve()).as_posix()).parent
            except ValueError:
                sub = None
        return given, file, sub, err

    if isinstance(images, str | os.PathLike):
        p = Path(images)
        if p.is_dir():
            base = p
            files = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES
            )
            return [item(str(f)) for f in files]
        return [item(str(images))]
    if isinstance(images, Sequence) and all(isinstance(i, str | os.PathLike) for i in images):
        return [item(str(i)) for i in images]
    df = as_frame(images)
    if "path" not in df.columns:
        raise ParameterError("images: give a folder, paths, or a frame with a 'path' column")
    errors = df["error"].to_list() if "error" in df.columns else [None] * df.height
    return [item(str(p), e) for p, e in zip(df["path"].to_list(), errors, strict=True)]


_IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".webp", ".avif", ".gif", ".tif", ".tiff", ".bmp",
}  # fmt: skip


def _targets(natural: int, widths: Iterable[int], keep_natural: bool) -> list[int]:
    """The widths to make for an image ``natural`` pixels wide: never wider than it."""
    out = sorted({int(w) for w in widths if 0 < int(w) <= natural})
    if keep_natural and (not out or out[-1] < natural):
        out.append(natural)
    return out


def _encode(img: Any, fmt: str, quality: int | None) -> bytes:
    from PIL import Image

    if fmt == "jpeg" and img.mode not in ("L", "RGB"):
        # JPEG has no alpha: flatten on white, as a browser shows it on a white page
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    buf = io.BytesIO()
    opts: dict[str, Any] = {}
    if fmt == "png":
        opts["optimize"] = True
    else:
        opts["quality"] = int(quality if quality is not None else DEFAULT_QUALITY[fmt])
    if fmt == "jpeg":
        opts["progressive"] = True
    if fmt == "webp":
        opts["method"] = 4
    img.save(buf, _PIL_FORMAT[fmt], **opts)
    return buf.getvalue()


def responsive_variants(
    images: FrameLike | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    widths: Iterable[int] = DEVICE_WIDTHS,
    *,
    out_dir: str | os.PathLike[str],
    formats: Sequence[str] = ("webp",),
    quality: int | Mapping[str, int] | None = None,
    root: str | os.PathLike[str] | None = None,
    keep_natural: bool = True,
    max_pixels: int | None = None,
) -> pl.DataFrame:
    """Write resized copies of each image for ``srcset``, one per width and format.

    Each image is resized with Lanczos resampling to every width in ``widths`` that
    is not wider than the image itself (a variant is never upscaled), keeping its
    aspect ratio (height rounded to the nearest pixel); with ``keep_natural`` one more
    variant at the image's own width serves the widest screens. Files are named
    ``<stem>-<width>w.<ext>`` under ``out_dir`` (mirroring the images' sub-folders),
    each written atomically; originals are never touched, and ``out_dir`` may not be a
    folder that holds one of them.

    Parameters
    ----------
    images : folder, path(s) or frame-like
        A folder (every image in it, recursively), image paths, or a frame with a
        ``path`` column such as :func:`~perflab.images.scan`'s (rows with an ``error``
        are carried over as errors, not opened).
    widths : iterable of int, default DEVICE_WIDTHS
        Target widths in pixels (Next.js's ``deviceSizes`` by default; add
        :data:`IMAGE_WIDTHS` for thumbnails, or use :data:`ALL_WIDTHS`).
    out_dir : path
        Folder to write into (created when absent).
    formats : sequence of str, default ("webp",)
        Any of ``avif``, ``webp``, ``jpeg``, ``png``.
    quality : int or mapping of str to int, optional
        Encoder quality (one for all lossy formats, or per format); defaults are
        :data:`DEFAULT_QUALITY`.
    root : path, optional
        Folder that relative ``path`` values are relative to (the folder that was scanned).
    keep_natural : bool, default True
        Add a variant at the image's own width when it is wider than every target.
    max_pixels : int, optional
        Largest ``width × height`` decoded (the bomb guard of
        :func:`~perflab.images.guard.open_image`; Pillow's limit by default).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.images.schema.VARIANTS`: ``path`` (the original, as given),
        ``width``, ``height``, ``format``, ``bytes``, ``out_path``, ``descriptor``
        (``"640w"``), plus ``error`` (null when fine; an unreadable image is one row
        with its error and null sizes), sorted by path, format and width.

    Raises
    ------
    ParameterError
        An unknown format, a non-positive width, or ``out_dir`` holding an original.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (1000, 500), "teal").save(d / "hero.png")
    >>> v = responsive_variants(d / "hero.png", [640, 750, 1080], out_dir=d / "out")
    >>> v.select("width", "height", "format", "descriptor").rows()
    [(640, 320, 'webp', '640w'), (750, 375, 'webp', '750w'), (1000, 500, 'webp', '1000w')]
    """
    from PIL import Image, ImageOps

    from perflab.images.guard import DEFAULT_MAX_PIXELS, describe, open_image

    formats = [f.lower() for f in formats]
    unknown = [f for f in formats if f not in _PIL_FORMAT]
    if unknown or not formats:
        raise ParameterError(f"formats: choose from {sorted(_PIL_FORMAT)}, not {unknown}")
    widths = [int(w) for w in widths]
    if any(w <= 0 for w in widths):
        raise ParameterError(f"widths must be positive, got {widths}")
    qualities: dict[str, int | None] = {f: None for f in formats}
    if isinstance(quality, Mapping):
        qualities.update({k.lower(): int(v) for k, v in quality.items()})
    elif quality is not None:
        qualities = {f: int(quality) for f in formats}
    out = Path(out_dir)
    items = _inputs(images, root)
    folders = {f.resolve().parent for _, f, _, _ in items}
    if out.resolve() in folders:
        raise ParameterError(
            f"out_dir {str(out)!r} holds original images: write variants to a new folder"
        )
    rows: list[dict[str, Any]] = []
    taken: set[Path] = set()
    for given, file, sub, scan_error in items:
        if scan_error is not None:
            rows.append({"path": given, "error": scan_error})
            continue
        try:
            with open_image(file, max_pixels=max_pixels or DEFAULT_MAX_PIXELS) as im:
                im = ImageOps.exif_transpose(im)  # what a browser shows (EXIF orientation)
                im.load()
                if im.mode not in ("RGB", "RGBA", "L", "LA"):
                    im = im.convert("RGBA" if "A" in im.getbands() or im.mode == "P" else "RGB")
                nat_w, nat_h = im.size
                stem = file.stem
                for w in _targets(nat_w, widths, keep_natural):
                    h = max(1, round(nat_h * w / nat_w))
                    resized = im if w == nat_w else im.resize((w, h), Image.Resampling.LANCZOS)
                    for fmt in formats:
                        t0 = time.perf_counter()
                        data = _encode(resized, fmt, qualities.get(fmt))
                        target = (
                            out / sub if sub and str(sub) != "." else out
                        ) / f"{stem}-{w}w.{_EXT[fmt]}"
                        n = 1
                        while target in taken:  # two originals with one stem: keep both
                            n += 1
                            target = target.with_name(f"{stem}~{n}-{w}w.{_EXT[fmt]}")
                        taken.add(target)
                        write_atomic(target, data)
                        rows.append(
                            {
                                "path": given,
                                "width": w,
                                "height": h,
                                "format": fmt,
                                "bytes": len(data),
                                "out_path": str(target),
                                "descriptor": f"{w}w",
                                "encode_ms": (time.perf_counter() - t0) * 1000,
                            }
                        )
        except Exception as exc:  # a broken file is a row, the batch goes on
            rows.append({"path": given, "error": describe(exc)})
    df = VARIANTS.build(rows).with_columns(
        pl.Series("error", [r.get("error") for r in rows], dtype=pl.String),
        pl.Series("encode_ms", [r.get("encode_ms") for r in rows], dtype=pl.Float64),
    )
    return df.sort("path", "format", "width", nulls_last=True)


def _url(out_path: str, base_url: str, relative_to: str | os.PathLike[str] | None) -> str:
    p = Path(out_path)
    if relative_to is not None:
        try:
            rel = p.resolve().relative_to(Path(relative_to).resolve()).as_posix()
        except ValueError:
            rel = p.name
    else:
        rel = p.name
    return base_url + rel


def srcset(
    variants: FrameLike,
    *,
    base_url: str = "",
    relative_to: str | os.PathLike[str] | None = None,
) -> str:
    """The ``srcset`` value for one image in one format: ``url 640w, url 1080w…``.

    Parameters
    ----------
    variants : frame-like
        Rows of :data:`~perflab.images.schema.VARIANTS` for a single image and format.
    base_url : str
        Prefix of every URL (``"/img/"``).
    relative_to : path, optional
        Folder the URLs are relative to (the ``out_dir`` that was served); the file
        name alone when not given.

    Examples
    --------
    >>> v = pl.DataFrame({"path": ["a.jpg"] * 2, "width": [640, 1080], "height": [427, 720],
    ...     "format": ["webp"] * 2, "bytes": [9000, 21000],
    ...     "out_path": ["/o/a-640w.webp", "/o/a-1080w.webp"], "descriptor": ["640w", "1080w"]})
    >>> srcset(v, base_url="/img/")
    '/img/a-640w.webp 640w, /img/a-1080w.webp 1080w'
    """
    df = as_frame(variants, VARIANTS).drop_nulls("out_path").sort("width")
    return ", ".join(
        f"{_url(p, base_url, relative_to)} {d}"
        for p, d in zip(df["out_path"].to_list(), df["descriptor"].to_list(), strict=True)
    )


def _attrs(pairs: Sequence[tuple[str, object]]) -> str:
    return "".join(
        f" {k}" if v is True else f' {k}="{html.escape(str(v), quote=True)}"'
        for k, v in pairs
        if v is not None and v is not False
    )


def markup(
    variants: FrameLike,
    *,
    sizes: str = "100vw",
    alt: str | Mapping[str, str] = "",
    base_url: str = "",
    relative_to: str | os.PathLike[str] | None = None,
    fallback_src: Mapping[str, str] | None = None,
    loading: str | None = "lazy",
    fetchpriority: str | None = None,
) -> pl.DataFrame:
    """Ready-to-paste markup for each image of :func:`responsive_variants`' output.

    One format gives an ``<img srcset sizes>``; several give a ``<picture>`` with a
    ``<source type=... srcset sizes>`` per modern format (AVIF first: the browser
    takes the first type it supports) around an ``<img>`` in the most compatible
    format. Every ``<img>`` carries ``width``/``height`` (the largest variant's, so the
    browser reserves the aspect ratio and nothing shifts), ``decoding="async"`` and
    ``loading`` (``"lazy"`` by default: pass ``loading=None, fetchpriority="high"``
    for the image at the top of the page, the likely LCP element). Attribute values
    are HTML-escaped.

    Parameters
    ----------
    variants : frame-like
        :data:`~perflab.images.schema.VARIANTS` (rows with an error are skipped).
    sizes : str, default "100vw"
        The ``sizes`` attribute: the slot width the layout gives the image, e.g.
        ``"(max-width: 768px) 100vw, 50vw"``.
    alt : str or mapping of path to str
        Alternative text, one for all or per original ``path``.
    base_url, relative_to
        How a variant's ``out_path`` becomes a URL (see :func:`srcset`).
    fallback_src : mapping of path to str, optional
        ``src`` of the ``<img>`` per original path; by default the largest variant
        of the fallback format (JPEG, PNG, else WebP, else AVIF).
    loading, fetchpriority : str, optional
        Values of those attributes (None leaves them out).

    Returns
    -------
    polars.DataFrame
        ``path`` (the original) and ``markup`` (the HTML), one row per image.

    Examples
    --------
    >>> v = pl.DataFrame({"path": ["a.jpg"] * 2, "width": [640, 1080], "height": [427, 720],
    ...     "format": ["webp"] * 2, "bytes": [9000, 21000],
    ...     "out_path": ["/o/a-640w.webp", "/o/a-1080w.webp"], "descriptor": ["640w", "1080w"]})
    >>> print(markup(v, alt="A <cat>")["markup"][0])
    <img src="a-1080w.webp" srcset="a-640w.webp 640w, a-1080w.webp 1080w" sizes="100vw" width="1080" height="720" alt="A &lt;cat&gt;" loading="lazy" decoding="async">
    """  # noqa: E501
    df = as_frame(variants, VARIANTS)
    if "error" in df.columns:
        df = df.filter(pl.col("error").is_null())
    df = df.drop_nulls("out_path")
    out: list[dict[str, str]] = []
    for (path,), group in df.group_by("path", maintain_order=True):
        fmts = sorted(set(group["format"].to_list()), key=_rank)
        sets = {f: srcset(group.filter(pl.col("format") == f), base_url=base_url,
                          relative_to=relative_to) for f in fmts}  # fmt: skip
        fallback = next((f for f in ("jpeg", "png", "gif") if f in fmts), fmts[-1])
        widest = group.filter(pl.col("format") == fallback).sort("width").row(-1, named=True)
        src = (fallback_src or {}).get(str(path)) or _url(widest["out_path"], base_url, relative_to)
        text = alt.get(str(path), "") if isinstance(alt, Mapping) else alt
        img = (
            "<img"
            + _attrs(
                [
                    ("src", src),
                    ("srcset", sets[fallback]),
                    ("sizes", sizes),
                    ("width", widest["width"]),
                    ("height", widest["height"]),
                    ("alt", text),
                    ("loading", loading),
                    ("fetchpriority", fetchpriority),
                    ("decoding", "async"),
                ]
            )
            + ">"
        )
        sources = [
            "  <source" + _attrs([("type", MIME[f]), ("srcset", sets[f]), ("sizes", sizes)]) + ">"
            for f in fmts
            if f != fallback
        ]
        html_text = "\n".join(["<picture>", *sources, "  " + img, "</picture>"]) if sources else img
        out.append({"path": str(path), "markup": html_text})
    return pl.DataFrame(out, schema={"path": pl.String, "markup": pl.String})


def _rank(fmt: str) -> int:
    return _PREFERENCE.index(fmt) if fmt in _PREFERENCE else len(_PREFERENCE)

"""What is in an image folder: format, size, weight per pixel, alpha, animation, profile.

:func:`scan` reads each file's header behind the bomb guard (:mod:`perflab.images.guard`)
and decodes the first frame — a file that cannot be decoded becomes a row with an
``error``, never an exception, so one broken upload does not hide the other thousand.
Metadata is counted as stored in the file: JPEG APPn segments (EXIF, XMP, ICC, IPTC)
and comments; PNG ``eXIf``/``iCCP``/``tEXt``/``zTXt``/``iTXt`` chunks; WebP ``EXIF``/
``ICCP``/``XMP`` chunks; for other formats the sizes Pillow reports in ``info``.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from PIL import Image

from perflab.images.guard import DEFAULT_MAX_PIXELS, ImageError, describe, open_image
from perflab.images.schema import SCAN

__all__ = ["IMAGE_SUFFIXES", "image_paths", "scan"]

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".webp", ".avif", ".bmp",
     ".tif", ".tiff", ".ico", ".heic", ".heif", ".jxl", ".svg"}
)  # fmt: skip
"""File name endings :func:`scan` picks up when walking a folder (case-insensitive)."""

# JPEG segments that are not metadata: JFIF (APP0) and Adobe's colour transform (APP14).
_JPEG_NOT_METADATA = {"APP0", "APP14"}
_PNG_METADATA = {b"eXIf", b"iCCP", b"tEXt", b"zTXt", b"iTXt"}
_WEBP_METADATA = {b"EXIF", b"ICCP", b"XMP "}


def image_paths(folder_or_paths: str | os.PathLike[str] | Iterable[Any]) -> list[str]:
    """The image files of a folder (recursively, sorted), or the paths as given.

    Hidden files and folders (starting with ``.``) are skipped when walking a folder;
    files named explicitly are all kept, image or not.

    Examples
    --------
    >>> image_paths(["b.png", "a.jpg"])
    ['b.png', 'a.jpg']
    """
    if isinstance(folder_or_paths, str | os.PathLike):
        root = Path(folder_or_paths)
        if root.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in filenames:
                    if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                        found.append(os.path.join(dirpath, name))
            return sorted(found)
        return [str(root)]
    if isinstance(folder_or_paths, pl.DataFrame):
        return [str(p) for p in folder_or_paths.get_column("path").to_list()]
    return [str(p) for p in folder_or_paths]


def scan(
    folder_or_paths: str | os.PathLike[str] | Iterable[Any],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> pl.DataFrame:
    """One row per image file: what it is, how heavy it is, and what is wrong with it.

    Parameters
    ----------
    folder_or_paths : path or iterable of paths
        A folder (walked recursively for image file endings, see
        :data:`IMAGE_SUFFIXES`), one file, or a list of files (each scanned, image or
        not).
    max_pixels : int
        The decompression-bomb limit on ``width × height``, checked from the header
        before any decoding. Default: Pillow's default limit (89 478 485 pixels).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.images.schema.SCAN`: ``path, format, width, height, bytes,
        bytes_per_pixel, alpha, animated, frames, mode, icc_profile, metadata_bytes,
        error``. A file that cannot be read has ``error`` set (``not an image``,
        ``truncated file``, ``decompression bomb: …``, ``corrupt: …``) and ``bytes``
        still filled in.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGBA", (40, 20), (255, 0, 0, 128)).save(d / "dot.png")
    >>> _ = (d / "notes.png").write_text("hello")
    >>> scan(d).select("format", "width", "height", "alpha", "frames", "error")
    shape: (2, 6)
    ┌────────┬───────┬────────┬───────┬────────┬──────────────┐
    │ format ┆ width ┆ height ┆ alpha ┆ frames ┆ error        │
    │ ---    ┆ ---   ┆ ---    ┆ ---   ┆ ---    ┆ ---          │
    │ str    ┆ i64   ┆ i64    ┆ bool  ┆ i64    ┆ str          │
    ╞════════╪═══════╪════════╪═══════╪════════╪══════════════╡
    │ png    ┆ 40    ┆ 20     ┆ true  ┆ 1      ┆ null         │
    │ null   ┆ null  ┆ null   ┆ null  ┆ null   ┆ not an image │
    └────────┴───────┴────────┴───────┴────────┴──────────────┘
    """
    paths = image_paths(folder_or_paths)
    return SCAN.build([scan_one(p, max_pixels=max_pixels) for p in paths])


def scan_one(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """The :data:`SCAN` row of one file (a dict); errors land in ``error``."""
    row: dict[str, Any] = {"path": path}
    try:
        row["bytes"] = os.path.getsize(path)
    except OSError:
        row["error"] = "no such file"
        return row
    try:
        with open_image(path, max_pixels=max_pixels) as im:
            row.update(_describe(im, path))
    except ImageError as exc:
        return {"path": path, "bytes": row["bytes"], "error": exc.reason}
    except Exception as exc:  # a decoder error Pillow did not wrap
        return {"path": path, "bytes": row["bytes"], "error": describe(exc)}
    return row


def _describe(im: Image.Image, path: str) -> dict[str, Any]:
    fmt = (im.format or "").lower() or None
    width, height = im.size
    frames = int(getattr(im, "n_frames", 1) or 1)
    im.seek(0)
    im.load()  # decode the first frame: catches truncated and corrupt data
    info = dict(im.info)
    icc = info.get("icc_profile")
    return {
        "format": fmt,
        "width": width,
        "height": height,
        "bytes_per_pixel": os.path.getsize(path) / max(1, width * height),
        "alpha": alpha_used(im),
        "animated": frames > 1,
        "frames": frames,
        "mode": im.mode,
        "icc_profile": profile_description(icc) if icc else None,
        "metadata_bytes": _metadata_bytes(im, path, fmt),
    }


def alpha_used(im: Image.Image) -> bool:
    """Whether ``im`` has an alpha channel with at least one pixel not fully opaque.

    Examples
    --------
    >>> alpha_used(Image.new("RGBA", (2, 2), (0, 0, 0, 255)))
    False
    >>> alpha_used(Image.new("LA", (2, 2), (0, 10)))
    True
    """
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        band = im.getchannel("A")
    elif "transparency" in im.info:
        band = im.convert("RGBA").getchannel("A")
    else:
        return False
    lo = band.getextrema()[0]
    return bool(isinstance(lo, int | float) and lo < 255)


def profile_description(icc: bytes) -> str | None:
    """The description of an ICC profile (``sRGB IEC61966-2.1``…); None if unreadable.

    Examples
    --------
    >>> from PIL import ImageCms
    >>> srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    >>> profile_description(srgb)
    'sRGB built-in'
    """
    try:
        from PIL import ImageCms

        text = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:
        return None
    return text.strip() or None


def _metadata_bytes(im: Image.Image, path: str, fmt: str | None) -> int:
    if fmt == "jpeg":
        applist: Sequence[tuple[str, bytes]] = getattr(im, "applist", [])
        return sum(len(data) for marker, data in applist if marker not in _JPEG_NOT_METADATA)
    if fmt == "png":
        return _chunk_bytes(path, png=True)
    if fmt == "webp":
        return _chunk_bytes(path, png=False)
    total = 0
    for key in ("exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp"):
        value = im.info.get(key)
        if isinstance(value, bytes | str):
            total += len(value)
    return total


def _chunk_bytes(path: str, *, png: bool) -> int:
    """Bytes in the metadata chunks of a PNG (after the signature) or a WebP (RIFF)."""
    with open(path, "rb") as fh:
        data = fh.read()
    total = 0
    if png:
        pos, wanted = 8, _PNG_METADATA
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            if kind in wanted:
                total += length
            if kind == b"IEND":
                break
            pos += 12 + length
    else:
        pos, wanted = 12, _WEBP_METADATA
        while pos + 8 <= len(data):
            kind, length = struct.unpack("<4sI", data[pos : pos + 8])
            if kind in wanted:
                total += length
            pos += 8 + length + (length & 1)
    return total

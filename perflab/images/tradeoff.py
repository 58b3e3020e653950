"""The quality/size trade-off of an image: bytes and SSIM at each encoder quality.

:func:`tradeoff` encodes one image at a ladder of qualities in each format asked for
(in memory, nothing written), decodes each result and scores it against the original
with :func:`~perflab.images.ssim`. Its frame draws the curve that
:func:`~perflab.images.optimize` searches along: where the bytes stop buying visible
quality.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from perflab.errors import ParameterError
from perflab.images.schema import TRADEOFF

__all__ = ["QUALITIES", "TRADEOFF", "tradeoff"]

QUALITIES: tuple[int, ...] = (20, 35, 50, 60, 70, 80, 90)
"""The default ladder: coarse where files are small, finer where most sites encode."""


_PIL = {"avif": "AVIF", "webp": "WEBP", "jpeg": "JPEG"}


def tradeoff(
    image: str | os.PathLike[str],
    formats: str | Sequence[str] = ("webp", "jpeg"),
    qualities: Iterable[int] = QUALITIES,
) -> pl.DataFrame:
    """Bytes and SSIM of ``image`` re-encoded at each quality, per lossy format.

    Parameters
    ----------
    image : path
        The original (opened behind :func:`~perflab.images.guard.open_image`'s bomb
        guard; EXIF orientation applied, as a browser shows it).
    formats : str or sequence of str, default ("webp", "jpeg")
        Lossy formats: ``avif``, ``webp``, ``jpeg`` (JPEG flattens transparency on
        white; the SSIM then sees that too).
    qualities : iterable of int, default QUALITIES
        Encoder qualities, 1–100, each encoder on its own scale.

    Returns
    -------
    polars.DataFrame
        :data:`TRADEOFF`, sorted by format and quality.

    Raises
    ------
    ParameterError
        An unknown or lossless format, or a quality outside 1–100.
    perflab.images.guard.ImageError
        The image cannot be opened (missing, corrupt, a decompression bomb).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.png"
    >>> x = np.linspace(0, 255, 96 * 96).reshape(96, 96).astype("uint8")
    >>> Image.fromarray(x).convert("RGB").save(p)
    >>> t = tradeoff(p, "jpeg", [30, 90])
    >>> t["quality"].to_list(), bool(t["ssim"][1] >= t["ssim"][0])
    ([30, 90], True)
    """
    from PIL import Image, ImageOps

    from perflab.images.guard import ImageError, describe, open_image
    from perflab.images.ssim import Reference

    fmts = [formats] if isinstance(formats, str) else list(formats)
    fmts = [f.lower() for f in fmts]
    bad = [f for f in fmts if f not in _PIL]
    if bad or not fmts:
        raise ParameterError(f"formats: lossy formats are {sorted(_PIL)}, not {bad}")
    qs = sorted({int(q) for q in qualities})
    if not qs or qs[0] < 1 or qs[-1] > 100:
        raise ParameterError(f"qualities must lie in 1–100, got {qs}")
    path = Path(image)
    with open_image(path) as im:
        try:
            im.load()
        except Exception as exc:  # truncated or corrupt data behind a valid header
            raise ImageError(str(image), describe(exc)) from None
        src = ImageOps.exif_transpose(im)
        if src.mode not in ("RGB", "RGBA", "L"):
            src = src.convert("RGBA" if "transparency" in src.info or "A" in src.mode else "RGB")
    original_bytes = path.stat().st_size
    pixels = src.width * src.height
    ref = Reference(src)
    rows: list[dict[str, Any]] = []
    for fmt in fmts:
        frame = src
        if fmt == "jpeg" and src.mode == "RGBA":
            frame = Image.new("RGB", src.size, (255, 255, 255))
            frame.paste(src, mask=src.getchannel("A"))
        for q in qs:
            buf = io.BytesIO()
            t0 = time.perf_counter()
            frame.save(buf, _PIL[fmt], quality=q)
            ms = (time.perf_counter() - t0) * 1000
            data = buf.getvalue()
            with Image.open(io.BytesIO(data)) as dec:
                dec.load()
                decoded = dec.convert(src.mode) if dec.mode != src.mode else dec.copy()
            rows.append(
                {
                    "path": str(image),
                    "format": fmt,
                    "quality": q,
                    "bytes": len(data),
                    "original_bytes": original_bytes,
                    "bytes_per_pixel": len(data) / pixels,
                    "ssim": ref.ssim(decoded),
                    "encode_ms": ms,
                }
            )
    return TRADEOFF.build(rows).sort("format", "quality")

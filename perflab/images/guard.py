"""Open images safely: refuse decompression bombs before decoding, name what broke.

A 40 KB PNG can declare 20000×20000 pixels in its header; decoding it asks for 1.2 GB.
:func:`open_image` reads only the header (Pillow's ``Image.open`` is lazy), compares
``width × height`` — and, for animations, every frame Pillow meets — with a perflab
limit (``max_pixels``, by default Pillow's own 89 478 485 pixels, about 256 MiB of
RGB), and refuses the file before a pixel is decoded. Pillow's global
``Image.MAX_IMAGE_PIXELS`` is left alone; only when a caller asks for a limit *above*
Pillow's hard stop (twice its limit) is it raised for the duration of one open, under
a lock, and restored.

Every failure becomes an :class:`ImageError` (an :class:`~perflab.errors.InputError`)
whose ``reason`` is short and stable enough for a results table: ``decompression bomb:
400000000 pixels > limit 89478485``, ``truncated file``, ``not an image``, ``empty
file``, ``corrupt: …``. :func:`describe` turns any exception into that text.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from perflab.errors import InputError, ParameterError

__all__ = ["DEFAULT_MAX_PIXELS", "ImageError", "check_pixels", "describe", "open_image"]

DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's default ``Image.MAX_IMAGE_PIXELS``: ``1024 * 1024 * 1024 // 4 // 3``."""

_LOCK = threading.Lock()


class ImageError(InputError):
    """An image file that cannot (or must not) be decoded.

    Examples
    --------
    >>> raise ImageError("big.png", "decompression bomb: 400000000 pixels > limit 89478485")
    Traceback (most recent call last):
    ...
    perflab.images.guard.ImageError: big.png: decompression bomb: 400000000 pixels > limit 89478485
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, None, reason)


def check_pixels(source: str, size: tuple[int, int], max_pixels: int, frames: int = 1) -> None:
    """Raise :class:`ImageError` when ``size`` (× ``frames``) exceeds ``max_pixels``.

    Examples
    --------
    >>> check_pixels("a.png", (20000, 20000), 89_478_485)
    Traceback (most recent call last):
    ...
    perflab.images.guard.ImageError: a.png: decompression bomb: 400000000 pixels > limit 89478485
    >>> check_pixels("a.png", (640, 480), 89_478_485)
    """
    pixels = max(1, size[0]) * max(1, size[1]) * max(1, frames)
    if pixels > max_pixels:
        what = "pixels" if frames <= 1 else f"pixels in {frames} frames"
        raise ImageError(source, f"decompression bomb: {pixels} {what} > limit {max_pixels}")


def describe(exc: BaseException) -> str:
    """A short reason for a row's ``error`` column from what Pillow raised.

    Examples
    --------
    >>> describe(OSError("image file is truncated (3 bytes not processed)"))
    'truncated file'
    >>> describe(SyntaxError("broken PNG file"))
    'corrupt: broken PNG file'
    """
    if isinstance(exc, InputError):
        return exc.reason
    if isinstance(exc, Image.DecompressionBombError):
        return f"decompression bomb: {exc}"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image"
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if "truncated" in low or isinstance(exc, EOFError) or "unexpected end" in low:
        return "truncated file"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, MemoryError):
        return "out of memory while decoding"
    return f"corrupt: {text}"


@contextmanager
def _pillow_limit(max_pixels: int) -> Iterator[None]:
    """Let Pillow open what ``max_pixels`` allows, when that is above its hard stop."""
    current = Image.MAX_IMAGE_PIXELS
    if current is None or max_pixels <= 2 * current:
        yield
        return
    with _LOCK:
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = current


@contextmanager
def open_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[Image.Image]:
    """Open ``path`` with Pillow once its header has passed the bomb guard.

    The image is not decoded yet (call ``.load()``); it is closed on exit.

    Parameters
    ----------
    path : str or Path
        The image file.
    max_pixels : int
        Largest ``width × height`` accepted. Default: Pillow's default limit.

    Raises
    ------
    ImageError
        Not an image, empty, corrupt header, or over ``max_pixels``.

    Examples
    --------
    >>> import io, tempfile, pathlib
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dot.png"
    >>> Image.new("RGB", (4, 3)).save(p)
    >>> with open_image(p) as im:
    ...     im.size
    (4, 3)
    >>> with open_image(p, max_pixels=10) as im:
    ...     pass
    Traceback (most recent call last):
    ...
    perflab.images.guard.ImageError: ...dot.png: decompression bomb: 12 pixels > limit 10
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ParameterError(f"max_pixels must be a positive integer, not {max_pixels!r}")
    source = str(path)
    p = Path(path)
    if not p.is_file():
        raise ImageError(source, "no such file" if not p.exists() else "not a file")
    if p.stat().st_size == 0:
        raise ImageError(source, "empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with _pillow_limit(max_pixels):
                im = Image.open(p)
    except Image.DecompressionBombError as exc:
        # Pillow's hard stop (2 × its limit) fired before ours could: say it our way.
        raise ImageError(source, _bomb_reason(str(exc), max_pixels)) from None
    except Exception as exc:
        raise ImageError(source, describe(exc)) from None
    try:
        check_pixels(source, im.size, max_pixels)
        yield im
    finally:
        im.close()


def _bomb_reason(message: str, max_pixels: int) -> str:
    import re

    m = re.search(r"\((\d+) pixels\)", message)
    pixels = m.group(1) if m else "too many"
    return f"decompression bomb: {pixels} pixels > limit {max_pixels}"

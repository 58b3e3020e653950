"""The decompression-bomb guard: refuse before decoding, leave Pillow's state alone."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile, UnidentifiedImageError

from perflab.errors import InputError, ParameterError
from perflab.images.guard import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    check_pixels,
    describe,
    open_image,
)


def lying_png(width: int, height: int) -> bytes:
    """A PNG with a valid, CRC-checked IHDR declaring ``width × height`` and no real data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_default_limit_is_pillows_default() -> None:
    assert DEFAULT_MAX_PIXELS == 1024 * 1024 * 1024 // 4 // 3


def test_20000_square_header_is_refused_with_the_pixel_count(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    p.write_bytes(lying_png(20000, 20000))
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError) as err, open_image(p):
        pass
    assert err.value.reason == "decompression bomb: 400000000 pixels > limit 89478485"
    assert str(p) in str(err.value) and isinstance(err.value, InputError)
    assert before == Image.MAX_IMAGE_PIXELS


def test_refused_before_any_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Under Pillow's own limit, over ours: only the header may be read.
    p = tmp_path / "wide.png"
    p.write_bytes(lying_png(3000, 3000))

    def no_decoding(self: object) -> None:
        raise AssertionError("decoded a refused image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with (
        pytest.raises(ImageError, match=r"9000000 pixels > limit 1000000"),
        open_image(p, max_pixels=1_000_000),
    ):
        pass


def test_a_limit_above_pillows_hard_stop_is_honoured_and_restored(tmp_path: Path) -> None:
    p = tmp_path / "huge.png"
    p.write_bytes(lying_png(15000, 15000))  # 225 M pixels > 2 × Pillow's limit
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError, match="decompression bomb"), open_image(p):
        pass
    with open_image(p, max_pixels=300_000_000) as im:
        assert im.size == (15000, 15000)
        assert before == Image.MAX_IMAGE_PIXELS  # only raised while opening
    assert before == Image.MAX_IMAGE_PIXELS


def test_frames_count_towards_the_limit() -> None:
    check_pixels("a.gif", (100, 100), 100_000, frames=10)
    with pytest.raises(ImageError, match=r"110000 pixels in 11 frames > limit 100000"):
        check_pixels("a.gif", (100, 100), 100_000, frames=11)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty file"), (b"hello, not an image", "not an image")],
)
def test_not_images(tmp_path: Path, content: bytes, reason: str) -> None:
    p = tmp_path / "x.png"
    p.write_bytes(content)
    with pytest.raises(ImageError) as err, open_image(p):
        pass
    assert err.value.reason == reason


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"), open_image(tmp_path / "nope.png"):
        pass
    with pytest.raises(ImageError, match="not a file"), open_image(tmp_path):
        pass


def test_bad_header_checksum_is_corrupt(tmp_path: Path) -> None:
    data = bytearray(lying_png(10, 10))
    data[20] ^= 0xFF  # inside IHDR: the CRC no longer matches
    p = tmp_path / "crc.png"
    p.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"^.*: (corrupt|not an image)"), open_image(p):
        pass


def test_bad_limit_is_a_parameter_error(tmp_path: Path) -> None:
    p = tmp_path / "ok.png"
    Image.new("RGB", (2, 2)).save(p)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ParameterError), open_image(p, max_pixels=bad):  # type: ignore[arg-type]
            pass


def test_describe_names_what_pillow_raised() -> None:
    assert describe(OSError("image file is truncated (8 bytes not processed)")) == "truncated file"
    assert describe(EOFError()) == "truncated file"
    assert describe(UnidentifiedImageError("cannot identify")) == "not an image"
    assert describe(Image.DecompressionBombError("big")).startswith("decompression bomb")
    assert describe(SyntaxError("broken PNG file")) == "corrupt: broken PNG file"
    assert describe(ImageError("x", "empty file")) == "empty file"

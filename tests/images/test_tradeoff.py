"""tradeoff(): the bytes and SSIM an encoder reaches at each quality."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from perflab.errors import ParameterError
from perflab.images.guard import ImageError
from perflab.images.ssim import ssim
from perflab.images.tradeoff import TRADEOFF, tradeoff

SAMPLES = Path(__file__).resolve().parents[2] / "data/sample/images"


def test_curve_rises_with_quality_on_a_photo() -> None:
    t = tradeoff(SAMPLES / "coffee.jpg", ("webp", "jpeg"), [30, 60, 90])
    assert t.columns == TRADEOFF.names and t.height == 6
    for fmt in ("webp", "jpeg"):
        one = t.filter(format=fmt)
        assert one["quality"].to_list() == [30, 60, 90]
        assert one["bytes"].is_sorted() and one["ssim"].is_sorted()
        assert 0.5 < one["ssim"][0] < one["ssim"][2] <= 1.0
    assert (t["original_bytes"] == (SAMPLES / "coffee.jpg").stat().st_size).all()


def test_bytes_and_ssim_match_a_plain_pillow_encode() -> None:
    path = SAMPLES / "astronaut.jpg"
    t = tradeoff(path, "jpeg", [50])
    with Image.open(path) as im:
        im.load()
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=50)
        with Image.open(io.BytesIO(buf.getvalue())) as dec:
            dec.load()
            expected = ssim(im, dec)
    assert t["bytes"][0] == len(buf.getvalue())
    assert t["ssim"][0] == pytest.approx(expected, abs=1e-6)
    assert t["bytes_per_pixel"][0] == pytest.approx(len(buf.getvalue()) / (512 * 512))


def test_jpeg_pays_for_lost_transparency() -> None:
    t = tradeoff(SAMPLES / "logo-transparent.png", ("webp", "jpeg"), [80])
    by = dict(t.select("format", "ssim").iter_rows())
    assert by["webp"] > 0.95 > by["jpeg"]


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="lossy formats"):
        tradeoff(SAMPLES / "coffee.jpg", "png")
    with pytest.raises(ParameterError, match="1–100"):
        tradeoff(SAMPLES / "coffee.jpg", "webp", [0, 50])
    with pytest.raises(ImageError, match="truncated file"):
        tradeoff(SAMPLES / "broken/truncated.jpg", "webp", [50])
    bomb = shutil.copy(SAMPLES / "broken/bomb.png", tmp_path / "bomb.png")
    with pytest.raises(ImageError, match="decompression bomb"):
        tradeoff(bomb, "webp", [50])
    with pytest.raises(ImageError, match="no such file"):
        tradeoff(tmp_path / "gone.jpg", "webp", [50])

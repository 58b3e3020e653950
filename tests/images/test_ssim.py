"""SSIM: the same numbers as scikit-image's reference, on luma, with alpha counted."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from perflab.images.ssim import Reference, luma, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")
skdata = pytest.importorskip("skimage.data")


def reference(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        skimage_metrics.structural_similarity(
            a.astype(np.float64),
            b.astype(np.float64),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
        )
    )


def jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    return out


@pytest.mark.parametrize("quality", [10, 40, 75, 95])
def test_matches_scikit_image_on_jpeg_copies(quality: int) -> None:
    a = Image.fromarray(skdata.astronaut()).crop((100, 50, 356, 306))
    b = jpeg(a, quality)
    assert ssim(a, b) == pytest.approx(reference(luma(a), luma(b)), abs=2e-5)


def test_matches_scikit_image_on_blur_noise_and_grey() -> None:
    rng = np.random.default_rng(3)
    cam = skdata.camera()[:200, :300]
    noisy = np.clip(cam + rng.normal(0, 12, cam.shape), 0, 255)
    blurred = np.asarray(Image.fromarray(cam).filter(ImageFilter.GaussianBlur(2)))
    for other in (noisy, blurred):
        assert ssim(cam, other) == pytest.approx(reference(cam, other), abs=2e-5)
    coffee = Image.fromarray(skdata.coffee())
    soft = coffee.filter(ImageFilter.GaussianBlur(1))
    assert ssim(coffee, soft) == pytest.approx(reference(luma(coffee), luma(soft)), abs=2e-5)


def test_identical_is_one_and_order_does_not_matter() -> None:
    a = Image.fromarray(skdata.chelsea())
    b = jpeg(a, 30)
    assert ssim(a, a) == 1.0
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-6)
    assert ssim(a, b) < ssim(a, jpeg(a, 90)) < 1.0


def test_luma_is_bt601() -> None:
    y = luma(Image.new("RGB", (1, 1), (10, 200, 30)))
    assert float(y[0, 0]) == pytest.approx(0.299 * 10 + 0.587 * 200 + 0.114 * 30, abs=1e-3)
    assert luma(np.zeros((4, 5), np.uint8)).shape == (4, 5)


def test_a_change_in_transparency_counts() -> None:
    base = Image.fromarray(skdata.logo())  # RGBA, opaque
    holed = base.copy()
    alpha = np.asarray(holed.getchannel("A")).copy()
    alpha[100:300, 100:300] = 0
    holed.putalpha(Image.fromarray(alpha))
    assert ssim(base, base) == 1.0
    assert ssim(base, holed) < 0.9


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(np.zeros((20, 20)), np.zeros((20, 21)))


def test_a_tiled_mosaic_scores_like_its_tiles_apart() -> None:
    # The proxy mosaic's SSIM averages windows inside one tile: the seams between
    # unrelated tiles do not count, so it equals the mean of the tiles' own SSIMs.
    rng = np.random.default_rng(0)
    cam = skdata.camera()
    tiles = [cam[0:64, 0:64], cam[300:364, 200:264], cam[100:164, 400:464]]
    damaged = [np.clip(t + rng.normal(0, 15, t.shape), 0, 255) for t in tiles]
    mosaic, cand = np.hstack(tiles), np.hstack(damaged)
    apart = np.mean([ssim(t, d) for t, d in zip(tiles, damaged, strict=True)])
    assert Reference(mosaic, tile=64).ssim(cand) == pytest.approx(apart, abs=2e-6)
    assert Reference(mosaic).ssim(cand) != pytest.approx(apart, abs=1e-4)

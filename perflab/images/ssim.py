"""SSIM, the perceptual yardstick of :func:`~perflab.images.optimize`.

Structural similarity as defined by Wang, Bovik, Sheikh and Simoncelli (2004), "Image
quality assessment: from error visibility to structural similarity", IEEE TIP 13(4):
local means, variances and covariance under an 11×11 Gaussian window (σ = 1.5,
normalised), constants ``C1 = (0.01 L)²`` and ``C2 = (0.03 L)²`` with ``L = 255``,
population (not sample) statistics, and the mean of the SSIM map over the pixels
whose window lies inside the image (a 5-pixel border is left out — the paper's
"valid" filtering). It is computed on **luma** (ITU-R BT.601 weights 0.299, 0.587,
0.114 — JPEG's Y), where the eye is most sensitive and where every codec spends most
of its bits. Images with alpha are composited over black and over white and the lower
of the two scores is kept, so a change in transparency counts as a change.

Written here rather than taken from scikit-image because the optimiser compares one
original with many candidates: :class:`Reference` keeps the original's means and
variances, so each candidate costs three Gaussian filters instead of five, in float32.
The tests check it against ``skimage.metrics.structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy.ndimage import gaussian_filter

__all__ = ["Reference", "luma", "ssim"]

SIGMA = 1.5
TRUNCATE = 3.5  # radius int(3.5 * 1.5 + 0.5) = 5: an 11 × 11 window, like scikit-image
RADIUS = 5
K1, K2, L = 0.01, 0.03, 255.0
C1, C2 = (K1 * L) ** 2, (K2 * L) ** 2
_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)

Array = NDArray[np.float32]


def _blur(x: Array) -> Array:
    return gaussian_filter(x, SIGMA, truncate=TRUNCATE, mode="reflect")


def luma(image: Image.Image | NDArray[Any], background: int | None = None) -> Array:
    """BT.601 luma of ``image`` as float32 in 0–255.

    ``background`` (0–255) composites an image with alpha over that grey first;
    without it the alpha is ignored.

    Examples
    --------
    >>> luma(Image.new("RGB", (2, 1), (255, 0, 0))).astype(float).round(2).tolist()
    [[76.24, 76.24]]
    """
    a = _array(image)
    if a.ndim == 2:
        return a.astype(np.float32, copy=False)
    rgb = a[..., :3].astype(np.float32)
    if a.shape[-1] == 4 and background is not None:
        alpha = a[..., 3:4].astype(np.float32) / 255.0
        rgb = rgb * alpha + np.float32(background) * (1.0 - alpha)
    if a.shape[-1] == 2:  # LA
        grey = a[..., 0].astype(np.float32)
        if background is not None:
            alpha2 = a[..., 1].astype(np.float32) / 255.0
            grey = grey * alpha2 + np.float32(background) * (1.0 - alpha2)
        return grey
    return rgb @ _BT601


def _array(image: Image.Image | NDArray[Any]) -> NDArray[Any]:
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "LA", "RGB", "RGBA"):
            has_alpha = "A" in image.getbands() or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
        return np.asarray(image)
    return np.asarray(image)


def _has_alpha(image: Image.Image | NDArray[Any]) -> bool:
    if isinstance(image, Image.Image):
        return "A" in image.getbands() or "transparency" in image.info
    return bool(np.ndim(image) == 3 and np.shape(image)[-1] in (2, 4))


class Reference:
    """An original whose statistics are kept for comparing many candidates with it.

    Parameters
    ----------
    image : PIL image or array
        The original (RGB, RGBA, L, LA, or a 2-D/3-D uint8-range array).
    tile : int, optional
        The image is a mosaic of ``tile × tile`` pieces: average only over windows
        that lie inside one piece, so the seams between pieces do not count.

    Examples
    --------
    >>> ref = Reference(Image.new("RGB", (32, 32), (90, 120, 200)))
    >>> ref.ssim(Image.new("RGB", (32, 32), (90, 120, 200)))
    1.0
    """

    def __init__(self, image: Image.Image | NDArray[Any], *, tile: int | None = None) -> None:
        self.alpha = _has_alpha(image)
        backgrounds: tuple[int | None, ...] = (0, 255) if self.alpha else (None,)
        self._stats = [_stats(luma(image, bg)) for bg in backgrounds]
        self._backgrounds = backgrounds
        self.shape = self._stats[0][0].shape
        self._mask = _tile_mask(self.shape, tile) if tile else None

    def ssim(self, candidate: Image.Image | NDArray[Any]) -> float:
        """Mean SSIM of ``candidate`` against the original (lowest over backgrounds)."""
        scores = []
        for bg, (x, mu_x, var_x) in zip(self._backgrounds, self._stats, strict=True):
            y = luma(candidate, bg)
            if y.shape != x.shape:
                raise ValueError(f"shapes differ: {x.shape} and {y.shape}")
            scores.append(_ssim(x, mu_x, var_x, y, self._mask))
        return min(scores)


def _tile_mask(shape: tuple[int, ...], tile: int) -> NDArray[np.bool_]:
    """Pixels whose 11 × 11 window lies inside one ``tile × tile`` piece."""
    rows = np.arange(shape[0]) % tile
    cols = np.arange(shape[1]) % tile
    ok_r = (rows >= RADIUS) & (rows <= tile - 1 - RADIUS)
    ok_c = (cols >= RADIUS) & (cols <= tile - 1 - RADIUS)
    return np.outer(ok_r, ok_c)


def _stats(x: Array) -> tuple[Array, Array, Array]:
    mu = _blur(x)
    var = _blur(x * x) - mu * mu
    return x, mu, var


def _ssim(
    x: Array, mu_x: Array, var_x: Array, y: Array, mask: NDArray[np.bool_] | None = None
) -> float:
    mu_y = _blur(y)
    var_y = _blur(y * y) - mu_y * mu_y
    cov = _blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + C1) * (2 * cov + C2)
    den = (mu_x * mu_x + mu_y * mu_y + C1) * (var_x + var_y + C2)
    smap = num / den
    if mask is not None:
        return round(float(smap[mask].mean(dtype=np.float64)), 6)
    r = RADIUS
    if smap.shape[0] > 2 * r and smap.shape[1] > 2 * r:
        smap = smap[r:-r, r:-r]
    return round(float(smap.mean(dtype=np.float64)), 6)


def ssim(a: Image.Image | NDArray[Any], b: Image.Image | NDArray[Any]) -> float:
    """Mean structural similarity of two images of the same size, on luma (0–1).

    Wang et al. (2004) with an 11×11 Gaussian window (σ = 1.5), K1 = 0.01,
    K2 = 0.03, dynamic range 255, a 5-pixel border left out; BT.601 luma; images with
    alpha are compared over black and over white and the lower score kept. Rounded to
    6 decimals.

    Parameters
    ----------
    a, b : PIL image or array
        The reference and the candidate; arrays are uint8-range, 2-D (grey) or 3-D
        with 3 (RGB) or 4 (RGBA) channels.

    Returns
    -------
    float
        1.0 for identical images; lower is more different.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 256, (64, 64)).astype(np.uint8)
    >>> ssim(a, a)
    1.0
    >>> b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    >>> 0.5 < ssim(a, b) < 0.99
    True
    """
    return Reference(a).ssim(b)

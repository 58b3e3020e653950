"""Re-encode images to the smallest file that still looks the same, format by format.

For each image and each format, :func:`optimize` searches the encoder's quality for the
lowest setting whose output reaches an SSIM target against the decoded original
(:mod:`perflab.images.ssim`: luma, Gaussian 11×11 window, σ = 1.5, Wang et al. 2004),
instead of applying one fixed quality to everything: a flat graphic holds up at a
quality that ruins a textured photo. The smallest candidate meeting the target is
``chosen``.

**Default target, SSIM ≥ 0.97.** JPEG at libjpeg's default quality 75 (also Pillow's,
and Squoosh's MozJPEG default) scores 0.967 on the astronaut photo, quality 85
(Lighthouse's reference re-encode for "efficiently encode images") 0.976, quality 50
0.950. SSIM 0.95 is where ringing and blocking become visible on smooth areas of
photos; 0.97 keeps a margin below quality-85 JPEG while still letting the search cut
most over-encoded files. (jpeg-recompress's presets, 0.999–0.99999, are on its own
SSIM variant's scale and cannot be compared.) Raise it to 0.98–0.99 for images that
are the product (photography, art), lower it for thumbnails.

**Candidates.** ``avif`` and ``webp`` (lossy; animated images keep their frames and
durations), ``jpeg`` (progressive, optimised Huffman tables; never for an image whose
alpha is used, nor for an animation), ``png`` (lossless, ``optimize=True``) and
``png8`` (a 256-colour palette, Floyd–Steinberg dithered: the lossy PNG for graphics).
PNG candidates are skipped for JPEG originals (a lossless copy of a lossy photo only
grows). EXIF orientation is applied to the pixels; EXIF, XMP and comments are dropped;
the ICC profile is kept (colours depend on it). An alpha band that no pixel uses is
dropped, so such an image may become a JPEG.

**Search.** Qualities are on each encoder's own 0–100 scale (JPEG 20–95, WebP and
AVIF 5–100). For images of more than 300×300 pixels the search runs first on a proxy —
a mosaic of an eighth of the image's 64×64 tiles, sampled evenly, at full resolution so
the encoder sees the real texture, its SSIM averaged over windows inside one tile so
the seams do not count — with interpolated bisection (a bracket whose first step is
sized by the expected slope, then secant steps with a bisection safeguard) to the
quality where the proxy crosses the target. That quality is then encoded at full size:
if it misses the target the quality walks up by the proxy's slope until it meets it;
if it clears the target by three steps' worth or more, one lower quality is tried. The
answer is the lowest full-size quality tried that meets the target: on the samples
within 0–2 steps of the exact one, up to 6 where the SSIM curve is nearly flat, the
chosen files 2.5 % larger in total. ``search="full"`` does the whole search at full
size (exact, about 1.7× slower). Every reported ``ssim`` and ``bytes`` is of the
full-size file.

Speed: encoders are Pillow's (libjpeg-turbo, libwebp ``method=4``, libavif
``speed=6``). The proxy keeps a search to about two full-size encodes plus the
proxy's; see ``benchmarks/bench_images_optimize.py``.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from PIL import Image, ImageOps, features

from perflab.errors import ParameterError, positive_int
from perflab.frames import write_atomic
from perflab.images.guard import DEFAULT_MAX_PIXELS, ImageError, check_pixels, describe, open_image
from perflab.images.scan import alpha_used, image_paths
from perflab.images.schema import OPTIMIZED
from perflab.images.ssim import Reference

__all__ = [
    "DEFAULT_TARGET",
    "FORMATS",
    "QUALITY_RANGES",
    "Source",
    "available_formats",
    "encode",
    "load_source",
    "optimize",
]

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("avif", "webp", "jpeg", "png")
"""The formats :func:`optimize` tries by default (``png`` brings ``png8`` along)."""

DEFAULT_TARGET = 0.97
"""Default SSIM target (see the module docstring for why)."""

QUALITY_RANGES: dict[str, tuple[int, int, int]] = {
    "jpeg": (20, 95, 75),
    "webp": (5, 100, 75),
    "avif": (5, 100, 60),
}
"""Lossy format → (lowest, highest, starting) quality of the search."""

# Typical SSIM gained per quality step near SSIM 0.97 on the sample photos: sizes the
# search's first step.
_SLOPE = {"jpeg": 0.0008, "webp": 0.0004, "avif": 0.0006}
_EXT = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif", "png": ".png", "png8": ".png"}
_PIL_FORMAT = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF", "png": "PNG", "png8": "PNG"}
_LOSSY_ORIGINALS = {"jpeg", "mpo"}
_TILE = 64
_PROXY_FRACTION = 8
_PROXY_MIN_PIXELS = 300 * 300


def available_formats() -> dict[str, bool]:
    """Which output formats this Pillow can encode (``avif`` needs libavif).

    Examples
    --------
    >>> sorted(available_formats())
    ['avif', 'jpeg', 'png', 'png8', 'webp']
    """
    return {
        "avif": bool(features.check("avif")),
        "webp": bool(features.check("webp")),
        "jpeg": bool(features.check("jpg")),
        "png": bool(features.check("zlib")),
        "png8": bool(features.check("zlib")),
    }


@dataclass
class Source:
    """A decoded original, ready to encode: frames, timing, profile, alpha."""

    path: str
    format: str
    original_bytes: int
    frames: list[Image.Image]
    durations: list[int] = field(default_factory=list)
    loop: int = 0
    icc: bytes | None = None
    alpha: bool = False

    @property
    def animated(self) -> bool:
        """More than one frame."""
        return len(self.frames) > 1

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the canvas."""
        return self.frames[0].size


def load_source(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Source:
    """Decode ``path`` behind the bomb guard into a :class:`Source`.

    Orientation from EXIF is applied; modes are normalised to ``L``, ``LA``, ``RGB`` or
    ``RGBA`` (an alpha band no pixel uses is dropped); every frame of an animation is
    decoded as a full canvas.

    Raises
    ------
    ImageError
        The file is refused or cannot be decoded.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.new("RGBA", (8, 8), (1, 2, 3, 255)).save(p)
    >>> s = load_source(str(p))
    >>> s.format, s.frames[0].mode, s.alpha
    ('png', 'RGB', False)
    """
    with open_image(path, max_pixels=max_pixels) as im:
        try:
            fmt = (im.format or "").lower()
            n = int(getattr(im, "n_frames", 1) or 1)
            check_pixels(path, im.size, max_pixels, frames=n)
            frames: list[Image.Image] = []
            durations: list[int] = []
            for i in range(n):
                im.seek(i)
                frame = im.convert("RGBA") if n > 1 else _normalise(im)
                frames.append(frame if n > 1 else ImageOps.exif_transpose(frame))
                durations.append(int(im.info.get("duration", 100) or 100))
            icc = im.info.get("icc_profile") or None
            loop = int(im.info.get("loop", 0) or 0)
        except ImageError:
            raise
        except Exception as exc:
            raise ImageError(path, describe(exc)) from None
    alpha = any(alpha_used(f) for f in frames)
    if not alpha:
        frames = [f.convert("RGB") if f.mode == "RGBA" else f for f in frames]
        frames = [f.convert("L") if f.mode == "LA" else f for f in frames]
    return Source(
        path=path,
        format=fmt,
        original_bytes=os.path.getsize(path),
        frames=frames,
        durations=durations,
        loop=loop,
        icc=icc,
        alpha=alpha,
    )


def _normalise(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA", "L", "LA"):
        im.load()
        return im.copy()
    if im.mode == "1":
        return im.convert("L")
    if im.mode.startswith("I;16"):  # 16-bit grey: keep the high byte
        return Image.fromarray((np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8), "L")
    if im.mode in ("I", "F"):
        return Image.fromarray(np.clip(np.asarray(im), 0, 255).astype(np.uint8), "L")
    if "A" in im.getbands() or "transparency" in im.info:
        return im.convert("RGBA")
    return im.convert("RGB")


def encode(source: Source, fmt: str, quality: int | None = None) -> bytes:
    """The bytes of ``source`` encoded as ``fmt`` at ``quality`` (None: lossless/default).

    ``fmt`` is ``avif``, ``webp``, ``jpeg``, ``png`` or ``png8``.

    Examples
    --------
    >>> s = Source("x", "png", 0, [Image.new("RGB", (16, 16), (200, 30, 30))])
    >>> encode(s, "jpeg", 80)[:2]
    b'\\xff\\xd8'
    """
    frames = source.frames
    options: dict[str, Any] = {}
    if source.icc:
        options["icc_profile"] = source.icc
    if fmt == "jpeg":
        options.update(quality=quality or 75, optimize=True, progressive=True)
    elif fmt == "webp":
        options.update(quality=quality if quality is not None else 75, method=4)
        frames = [_rgb(f) for f in frames]
    elif fmt == "avif":
        options.update(quality=quality if quality is not None else 60, speed=6)
        frames = [_rgb(f) for f in frames]
    elif fmt == "png":
        options.update(optimize=True)
    elif fmt == "png8":
        frames = [_quantize(f) for f in frames]
        options.update(optimize=True)
    else:
        raise ParameterError(f"unknown format {fmt!r}; expected one of {sorted(_EXT)}")
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=frames[1:],
            duration=source.durations,
            loop=source.loop,
        )
    buf = io.BytesIO()
    frames[0].save(buf, _PIL_FORMAT[fmt], **options)
    return buf.getvalue()


def _rgb(im: Image.Image) -> Image.Image:
    if im.mode == "L":
        return im.convert("RGB")
    if im.mode == "LA":
        return im.convert("RGBA")
    return im


def _quantize(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA"):
        return im.convert("RGBA").quantize(256, method=Image.Quantize.FASTOCTREE)
    return im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)


def _decode(data: bytes) -> list[Image.Image]:
    with Image.open(io.BytesIO(data)) as im:
        n = int(getattr(im, "n_frames", 1) or 1)
        out = []
        for i in range(n):
            im.seek(i)
            im.load()
            out.append(im.copy() if n == 1 else im.convert("RGBA"))
        return out


class _Judge:
    """SSIM of encoded bytes against the source's frames (lowest over frames)."""

    def __init__(self, frames: Sequence[Image.Image], tile: int | None = None) -> None:
        self.refs = [Reference(f, tile=tile) for f in frames]

    def __call__(self, data: bytes) -> float:
        decoded = _decode(data)
        if len(decoded) != len(self.refs):
            return 0.0
        return min(ref.ssim(_match(d, ref)) for d, ref in zip(decoded, self.refs, strict=True))


def _match(decoded: Image.Image, ref: Reference) -> Image.Image:
    """Bring a decoded candidate to the reference's channels (palette → RGB/RGBA…)."""
    if ref.alpha:
        return decoded if decoded.mode == "RGBA" else decoded.convert("RGBA")
    if decoded.mode in ("L", "RGB"):
        return decoded
    return decoded.convert("RGB")


def _proxy(source: Source) -> Source | None:
    """A mosaic of an eighth of the 64×64 tiles, or None when small or animated."""
    if source.animated:
        return None
    im = source.frames[0]
    w, h = im.size
    if w * h < _PROXY_MIN_PIXELS:
        return None
    nx, ny = w // _TILE, h // _TILE
    tiles = nx * ny
    k = max(9, math.ceil(tiles / _PROXY_FRACTION))
    if k * _TILE * _TILE * 4 > w * h:
        return None
    picks = np.linspace(0, tiles - 1, k).round().astype(int)
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    mosaic = Image.new(im.mode, (cols * _TILE, rows * _TILE))
    for slot in range(cols * rows):
        t = int(picks[slot % k])
        x, y = (t % nx) * _TILE, (t // nx) * _TILE
        tile = im.crop((x, y, x + _TILE, y + _TILE))
        mosaic.paste(tile, ((slot % cols) * _TILE, (slot // cols) * _TILE))
    return Source(source.path, source.format, 0, [mosaic], icc=source.icc, alpha=source.alpha)


@dataclass
class _Trial:
    """Encodes and SSIMs of one candidate, with the time they took."""

    source: Source
    fmt: str
    judge: _Judge
    encode_s: float = 0.0
    trials: int = 0
    results: dict[int, tuple[float, bytes]] = field(default_factory=dict)

    def __call__(self, quality: int) -> float:
        if quality not in self.results:
            t0 = time.perf_counter()
            data = encode(self.source, self.fmt, quality)
            self.encode_s += time.perf_counter() - t0
            self.trials += 1
            self.results[quality] = (self.judge(data), data)
        return self.results[quality][0]


def _search(
    f: Callable[[int], float],
    lo: int,
    hi: int,
    start: int,
    target: float,
    *,
    slope: float = 0.001,
) -> tuple[int, bool, float]:
    """Lowest integer quality in [lo, hi] with ``f(q) >= target`` (f rising in q).

    Bracket from ``start`` with a first step sized by the expected ``slope`` (SSIM per
    quality step; later steps 12), then secant steps with a bisection safeguard.
    Returns (quality, met, slope): ``met`` False means even ``hi`` misses (quality is
    then ``hi``); slope is the SSIM per quality step measured near the answer.
    """
    q = min(max(start, lo), hi)
    s = f(q)
    passed: tuple[int, float] | None = (q, s) if s >= target else None
    failed: tuple[int, float] | None = None if s >= target else (q, s)
    prev = (q, s)

    def step_from(q: int, s: float) -> int:
        # Extrapolate with the slope seen so far (or the expected one), a step past.
        nonlocal prev, slope
        if q != prev[0] and s != prev[1]:
            slope = max(abs(s - prev[1]) / abs(q - prev[0]), 1e-5)
        prev = (q, s)
        return min(max(math.ceil(abs(target - s) / slope) + 1, 2), 25) if slope > 0 else 12

    step = step_from(q, s)
    while failed is None:
        assert passed is not None
        if passed[0] == lo:
            return lo, True, 0.0
        q = max(lo, passed[0] - step)
        s = f(q)
        if s >= target:
            passed = (q, s)
        else:
            failed = (q, s)
        step = step_from(q, s)
    while passed is None:
        if failed[0] == hi:
            return hi, False, 0.0
        q = min(hi, failed[0] + step)
        s = f(q)
        if s >= target:
            passed = (q, s)
        else:
            failed = (q, s)
        step = step_from(q, s)
    (qf0, sf0), (qp0, sp0) = failed, passed
    wide = (sp0 - sf0) / max(1, qp0 - qf0)  # slope over the first bracket: less noisy
    bisect = False
    while passed[0] - failed[0] > 1:
        (qf, sf), (qp, sp) = failed, passed
        if not bisect and sp > sf:
            q = qf + math.ceil((target - sf) / (sp - sf) * (qp - qf))
        else:
            q = (qf + qp) // 2
        q = min(max(q, qf + 1), qp - 1)
        s = f(q)
        width = qp - qf
        if s >= target:
            passed = (q, s)
        else:
            failed = (q, s)
        bisect = passed[0] - failed[0] > width / 2
    return passed[0], True, max(wide, 0.0)


def _lossy(
    source: Source, fmt: str, target: float, judge: _Judge, search: str
) -> tuple[_Trial, int, bool]:
    """Search ``fmt``'s quality for ``source``: (trial with the encodes, quality, met)."""
    lo, hi, start = QUALITY_RANGES[fmt]
    full = _Trial(source, fmt, judge)
    proxy = _proxy(source) if search == "proxy" else None
    if proxy is None:
        q, met, _ = _search(full, lo, hi, start, target, slope=_SLOPE[fmt])
        return full, q, met
    ptrial = _Trial(proxy, fmt, _Judge(proxy.frames, tile=_TILE))
    q, _, slope = _search(ptrial, lo, hi, start, target, slope=_SLOPE[fmt])
    slope = max(slope, _SLOPE[fmt] / 4)
    s = full(q)
    if s < target:  # the proxy was optimistic: walk up at its slope
        while s < target and q < hi:
            q = min(hi, q + max(1, math.ceil((target - s) / slope)))
            s = full(q)
    elif (s - target) / slope >= 3:  # pessimistic by 3+ steps: try once lower
        full(max(lo, q - math.floor((s - target) / slope) + 1))
    full.encode_s += ptrial.encode_s
    full.trials += ptrial.trials
    passing = [k for k, (v, _) in full.results.items() if v >= target]
    if passing:
        return full, min(passing), True
    return full, max(full.results), False


def _candidates(source: Source, formats: Sequence[str]) -> list[tuple[str, str | None]]:
    """(format, reason to skip or None) for each candidate of ``source``."""
    out: list[tuple[str, str | None]] = []
    usable = available_formats()
    wanted = list(formats)
    if "png" in wanted and "png8" not in wanted:
        wanted.insert(wanted.index("png") + 1, "png8")
    for fmt in wanted:
        reason = None
        if not usable.get(fmt, False):
            reason = f"{fmt} encoder not available in this Pillow"
        elif fmt == "jpeg" and source.animated:
            reason = "animated: JPEG holds one frame"
        elif fmt == "jpeg" and source.alpha:
            reason = "alpha: JPEG has no transparency"
        elif fmt in ("png", "png8") and source.format in _LOSSY_ORIGINALS:
            reason = f"skipped: PNG of a lossy {source.format} original only grows"
        elif fmt == "png8" and source.frames[0].mode in ("L", "LA"):
            reason = "skipped: greyscale already fits a palette; see png"
        out.append((fmt, reason))
    return out


def _optimize_one(task: _Task) -> list[dict[str, Any]]:
    path = task.path
    try:
        source = load_source(path, max_pixels=task.max_pixels)
    except ImageError as exc:
        size = os.path.getsize(path) if os.path.isfile(path) else None
        return [{"path": path, "original_bytes": size, "error": exc.reason, "chosen": False}]
    judge = _Judge(source.frames)
    width, height = source.size
    rows: list[dict[str, Any]] = []
    for fmt, reason in _candidates(source, task.formats):
        base = {"path": path, "format": fmt, "original_bytes": source.original_bytes}
        if reason:
            rows.append({**base, "error": reason, "chosen": False})
            continue
        t0 = time.perf_counter()
        try:
            if fmt in QUALITY_RANGES:
                trial, quality, _ = _lossy(source, fmt, task.target, judge, task.search)
                score, data = trial.results[quality]
                encode_s, trials, q_out = trial.encode_s, trial.trials, quality
            else:
                e0 = time.perf_counter()
                data = encode(source, fmt)
                encode_s, trials, q_out = time.perf_counter() - e0, 1, None
                score = 1.0 if fmt == "png" else judge(data)
        except Exception as exc:  # an encoder that fails on this image: say so, go on
            rows.append({**base, "error": f"{fmt} encoder failed: {exc}", "chosen": False})
            continue
        rows.append(
            {
                **base,
                "quality": q_out,
                "width": width,
                "height": height,
                "bytes": len(data),
                "saved_bytes": source.original_bytes - len(data),
                "saved_pct": 100.0 * (source.original_bytes - len(data)) / source.original_bytes,
                "ssim": score,
                "meets_target": score >= task.target,
                "encode_ms": 1000.0 * encode_s,
                "search_ms": 1000.0 * (time.perf_counter() - t0),
                "trials": trials,
                "_data": data,
            }
        )
    _choose_and_write(rows, task)
    return rows


def _choose_and_write(rows: list[dict[str, Any]], task: _Task) -> None:
    good = [r for r in rows if r.get("meets_target") and r["saved_bytes"] > 0]
    best = min(good, key=lambda r: r["bytes"]) if good else None
    for r in rows:
        r["chosen"] = r is best
        data = r.pop("_data", None)
        if data is None or task.out_stem is None:
            continue
        if task.keep == "all" or (task.keep == "chosen" and r is best):
            suffix = _EXT[r["format"]]
            if task.keep == "all":
                suffix = f".{r['format']}{suffix}"
            target = Path(f"{task.out_stem}{suffix}")
            r["out_path"] = str(write_atomic(target, data))


@dataclass(frozen=True)
class _Task:
    path: str
    formats: tuple[str, ...]
    target: float
    max_pixels: int
    search: str
    keep: str
    out_stem: str | None


def optimize(
    images: str | os.PathLike[str] | Iterable[Any] | pl.DataFrame,
    formats: Sequence[str] = FORMATS,
    target: float = DEFAULT_TARGET,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    workers: int | None = None,
    keep: Literal["chosen", "all"] = "chosen",
    search: Literal["proxy", "full"] = "proxy",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> pl.DataFrame:
    """Re-encode each image to the smallest file per format meeting an SSIM target.

    Parameters
    ----------
    images : folder, path, list of paths, or a ``SCAN`` frame
        What to optimise (a folder is walked like :func:`~perflab.images.scan`).
    formats : sequence of str
        Out of ``avif``, ``webp``, ``jpeg``, ``png`` (with ``png8``); see
        :func:`available_formats`. An unavailable one gives rows with an ``error``.
    target : float
        SSIM (luma, Gaussian window; :func:`~perflab.images.ssim`) each candidate must
        reach against the decoded original. Default 0.97 — about JPEG quality 75–80 on
        a photo; see the module docstring.
    out_dir : path, optional
        Folder for the outputs, mirroring the inputs' layout; created if needed. Must
        not be a folder holding an input, and nothing is written over an input. None:
        measure only, write nothing.
    workers : int, optional
        Processes to run in parallel (default ``os.cpu_count()``); 1 runs inline.
    keep : {"chosen", "all"}
        Write only each image's chosen candidate (as ``name.<ext>``), or every
        candidate (as ``name.<format>.<ext>``).
    search : {"proxy", "full"}
        Search on a tile mosaic first, then confirm at full size (default), or search
        at full size throughout.
    max_pixels : int
        Decompression-bomb limit per image (all frames of an animation together).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.images.schema.OPTIMIZED`, one row per (image, candidate), plus
        ``search_ms`` (wall time of that candidate: encodes, decodes, SSIMs) and
        ``trials`` (encodes made). An image that cannot be read is one row with
        ``error``; the batch goes on. ``chosen`` marks the smallest candidate meeting
        the target and smaller than the original (none when the original is best).

    Raises
    ------
    ParameterError
        Bad ``target``/``workers``/``keep``/``search``, or ``out_dir`` that would put
        outputs over or among the originals.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.radial_gradient("L").convert("RGB").save(d / "g.png")
    >>> df = optimize(d, ["webp", "png"], out_dir=d / "out", workers=1)
    >>> df.select("format", "meets_target", "chosen").sort("format")
    shape: (3, 3)
    ┌────────┬──────────────┬────────┐
    │ format ┆ meets_target ┆ chosen │
    │ ---    ┆ ---          ┆ ---    │
    │ str    ┆ bool         ┆ bool   │
    ╞════════╪══════════════╪════════╡
    │ png    ┆ true         ┆ false  │
    │ png8   ┆ true         ┆ false  │
    │ webp   ┆ true         ┆ true   │
    └────────┴──────────────┴────────┘
    >>> sorted(p.name for p in (d / "out").iterdir())
    ['g.webp']
    """
    if not isinstance(target, int | float) or not 0.0 < float(target) <= 1.0:
        raise ParameterError(f"target must be an SSIM in (0, 1], not {target!r}")
    if keep not in ("chosen", "all"):
        raise ParameterError(f"keep must be 'chosen' or 'all', not {keep!r}")
    if search not in ("proxy", "full"):
        raise ParameterError(f"search must be 'proxy' or 'full', not {search!r}")
    unknown = [f for f in formats if f not in _EXT]
    if unknown:
        raise ParameterError(f"unknown format(s) {unknown}; expected some of {sorted(_EXT)}")
    n_workers = positive_int("workers", workers) if workers is not None else os.cpu_count() or 1
    paths = image_paths(images)
    stems = _out_stems(images, paths, out_dir)
    tasks = [
        _Task(p, tuple(formats), float(target), max_pixels, search, keep, stem)
        for p, stem in zip(paths, stems, strict=True)
    ]
    if n_workers == 1 or len(tasks) <= 1:
        results = [_optimize_one(t) for t in tasks]
    else:
        import multiprocessing

        # fork where there is one: no __main__ guard needed in the caller's script, and
        # the workers touch Pillow, numpy and scipy only, never the parent's polars.
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=min(n_workers, len(tasks)), mp_context=ctx) as pool:
            results = list(pool.map(_optimize_one, tasks))
    rows = [r for rs in results for r in rs]
    df = OPTIMIZED.build(rows)
    extra = pl.DataFrame(
        {
            "search_ms": [r.get("search_ms") for r in rows],
            "trials": [r.get("trials") for r in rows],
        },
        schema={"search_ms": pl.Float64, "trials": pl.Int64},
    )
    return pl.concat([df, extra], how="horizontal")


def _out_stems(
    images: Any, paths: list[str], out_dir: str | os.PathLike[str] | None
) -> list[str | None]:
    """Output path without extension for each input; refuses a dangerous ``out_dir``."""
    if out_dir is None:
        return [None] * len(paths)
    out = Path(out_dir).resolve()
    if isinstance(images, str | os.PathLike) and Path(images).is_dir():
        root = Path(images).resolve()
    else:
        parents = [str(Path(p).resolve().parent) for p in paths] or [str(out)]
        root = Path(os.path.commonpath(parents))
    if out == root:
        raise ParameterError(f"out_dir {out_dir} is the source folder: outputs go to a new one")
    inputs = {Path(p).resolve() for p in paths}
    holders = {p.parent for p in inputs}
    if out in holders:
        raise ParameterError(f"out_dir {out_dir} holds input images: outputs go to a new folder")
    stems: list[str | None] = []
    for p in paths:
        rel = Path(p).resolve().relative_to(root)
        stem = out / rel.parent / rel.stem
        if any(stem.with_name(stem.name + ext) in inputs for ext in set(_EXT.values())):
            raise ParameterError(f"writing {stem}.* would overwrite an input")
        stems.append(str(stem))
    return stems

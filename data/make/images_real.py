"""Regenerate the sample images in ``data/sample/images/`` from scikit-image's data.

Every picture is a real photograph or graphic shipped inside the scikit-image wheel
(``skimage/data/``, no download). Some are copied byte for byte, so their encoders'
choices and metadata are as found in the wild; the others are encoded here with Pillow
at the settings a site would typically use. See ``data/README.md`` (## images) for the
origin and licence of each.

Usage (from the repository root; scikit-image is a dev-only dependency)::

    .venv/bin/pip install scikit-image      # if not installed
    .venv/bin/python data/make/images_real.py [--dest data/sample/images]

Writes:

``astronaut.jpg``      astronaut.png (512×512 PNG) → JPEG quality 92, 4:2:0, baseline
``coffee.jpg``         coffee.png (600×400) → JPEG quality 85, progressive
``rocket.jpg``         rocket.jpg copied as shipped (640×427; ICC profile + comment)
``retina.jpg``         retina.jpg copied as shipped (1411×1411): the oversized photo
``hubble.jpg``         hubble_deep_field.jpg (1000×872) scaled to 500×436 (Lanczos),
                       re-encoded at quality 90 with its own EXIF, XMP and ICC profile
                       kept: the photo whose metadata outweighs a good part of it
``chelsea.png``        chelsea.png copied as shipped (451×300 RGB): a photo as PNG
``logo.png``           logo.png copied as shipped (500×500 RGBA): a graphic with alpha
``logo-transparent.png``  logo.png with its white background turned transparent
                       (colour-to-alpha against white, as GIMP's filter does),
                       saved by Pillow (zlib level 6): a graphic whose alpha is used
``page.png``           page.png copied as shipped (384×191 greyscale scan, ICC)
``no_time_for_that.gif``  no_time_for_that_tiny.gif copied as shipped (24 frames)
``broken/bomb.png``    a 67-byte PNG whose (valid, CRC-checked) header declares
                       20000×20000 pixels: refused by the decompression-bomb guard
``broken/truncated.jpg``  the first 6 000 bytes of ``coffee.jpg``: a cut-off download
"""

from __future__ import annotations

import argparse
import shutil
import struct
import zlib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def skimage_data() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def lying_png(width: int, height: int) -> bytes:
    """A PNG whose IHDR (with a correct CRC) declares ``width × height`` RGB pixels
    and whose one IDAT holds a few compressed bytes: the header lies about the data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def color_to_alpha_white(im: Image.Image) -> Image.Image:
    """``im`` with white made transparent: each pixel becomes the least opaque colour
    that, over white, gives back the original (GIMP's "colour to alpha")."""
    import numpy as np

    rgb = np.asarray(im.convert("RGB")).astype(np.float64)
    alpha = (255.0 - rgb.min(axis=2)) / 255.0
    safe = np.where(alpha > 0, alpha, 1.0)[..., None]
    colour = np.clip((rgb - 255.0 * (1.0 - alpha[..., None])) / safe, 0, 255)
    rgba = np.dstack([colour, alpha * 255.0]).round().astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def main(dest: Path) -> list[Path]:
    src = skimage_data()
    dest.mkdir(parents=True, exist_ok=True)
    written = []

    def out(name: str) -> Path:
        p = dest / name
        p.parent.mkdir(parents=True, exist_ok=True)
        written.append(p)
        return p

    with Image.open(src / "astronaut.png") as im:
        im.convert("RGB").save(out("astronaut.jpg"), "JPEG", quality=92)
    with Image.open(src / "coffee.png") as im:
        im.convert("RGB").save(out("coffee.jpg"), "JPEG", quality=85, progressive=True)
    for name, as_name in [
        ("rocket.jpg", "rocket.jpg"),
        ("retina.jpg", "retina.jpg"),
        ("chelsea.png", "chelsea.png"),
        ("logo.png", "logo.png"),
        ("page.png", "page.png"),
        ("no_time_for_that_tiny.gif", "no_time_for_that.gif"),
    ]:
        shutil.copyfile(src / name, out(as_name))
    with Image.open(src / "logo.png") as im:
        color_to_alpha_white(im).save(out("logo-transparent.png"), "PNG")
    with Image.open(src / "hubble_deep_field.jpg") as im:
        info = dict(im.info)
        small = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
        small.save(
            out("hubble.jpg"),
            "JPEG",
            quality=90,
            exif=info["exif"],
            xmp=info["xmp"],
            icc_profile=info["icc_profile"],
        )
    out("broken/bomb.png").write_bytes(lying_png(20000, 20000))
    out("broken/truncated.jpg").write_bytes((dest / "coffee.jpg").read_bytes()[:6000])
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "data" / "sample" / "images")
    args = parser.parse_args()
    for path in main(args.dest):
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{path.stat().st_size:>8}  {shown}")

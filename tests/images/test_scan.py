"""scan(): what a folder of real images holds, and a row with an error for each bad file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import polars as pl
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from perflab.images import SCAN, scan

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample" / "images"


def lying_png(width: int, height: int) -> bytes:
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


@pytest.fixture(scope="module")
def samples() -> pl.DataFrame:
    df = scan(SAMPLES)
    return df.with_columns(pl.col("path").str.replace(f"^{SAMPLES}/", ""))


def row(df: pl.DataFrame, name: str) -> dict[str, object]:
    return df.filter(pl.col("path") == name).row(0, named=True)


def test_sample_folder_schema_and_files(samples: pl.DataFrame) -> None:
    assert samples.schema == SCAN.empty().schema
    names = samples.get_column("path").to_list()
    assert names == sorted(names)
    assert "broken/bomb.png" in names and "broken/truncated.jpg" in names
    assert not any(n.endswith(".html") for n in names)  # pages/ are not images


def test_photos_and_graphics_as_pillow_sees_them(samples: pl.DataFrame) -> None:
    for name, fmt, size, mode in [
        ("astronaut.jpg", "jpeg", (512, 512), "RGB"),
        ("retina.jpg", "jpeg", (1411, 1411), "RGB"),
        ("chelsea.png", "png", (451, 300), "RGB"),
        ("logo-transparent.png", "png", (500, 500), "RGBA"),
        ("page.png", "png", (384, 191), "L"),
    ]:
        r = row(samples, name)
        assert (r["format"], (r["width"], r["height"]), r["mode"]) == (fmt, size, mode)
        assert r["bytes"] == (SAMPLES / name).stat().st_size
        assert r["bytes_per_pixel"] == pytest.approx(r["bytes"] / (size[0] * size[1]))
        assert r["error"] is None


def test_alpha_means_used_alpha(samples: pl.DataFrame) -> None:
    assert row(samples, "logo-transparent.png")["alpha"] is True
    logo = row(samples, "logo.png")  # RGBA, every pixel opaque
    assert logo["mode"] == "RGBA" and logo["alpha"] is False
    assert row(samples, "astronaut.jpg")["alpha"] is False


def test_animation(samples: pl.DataFrame) -> None:
    gif = row(samples, "no_time_for_that.gif")
    assert (gif["format"], gif["animated"], gif["frames"]) == ("gif", True, 24)
    assert row(samples, "coffee.jpg")["animated"] is False
    assert row(samples, "coffee.jpg")["frames"] == 1


def test_profiles_and_metadata(samples: pl.DataFrame) -> None:
    assert row(samples, "rocket.jpg")["icc_profile"] == "Adobe RGB (1998)"
    assert row(samples, "chelsea.png")["icc_profile"] == "sRGB IEC61966-2.1"
    assert row(samples, "coffee.jpg")["icc_profile"] is None
    with Image.open(SAMPLES / "hubble.jpg") as im:
        stored = len(im.info["exif"]) + len(im.info["xmp"]) + len(im.info["icc_profile"])
    hubble = row(samples, "hubble.jpg")["metadata_bytes"]
    assert isinstance(hubble, int) and stored <= hubble < stored + 200  # + segment headers
    assert row(samples, "coffee.jpg")["metadata_bytes"] == 0


def test_bad_files_are_rows_and_the_batch_goes_on(samples: pl.DataFrame) -> None:
    bomb = row(samples, "broken/bomb.png")
    assert bomb["error"] == "decompression bomb: 400000000 pixels > limit 89478485"
    assert bomb["bytes"] == 69 and bomb["format"] is None and bomb["width"] is None
    assert row(samples, "broken/truncated.jpg")["error"] == "truncated file"
    assert samples.filter(pl.col("error").is_null()).height == samples.height - 2


def test_each_kind_of_broken_file(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    Image.new("RGB", (30, 20), "teal").save(good)
    (tmp_path / "text.png").write_text("this is not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "lying.png").write_bytes(lying_png(64, 64))  # header within limits
    crc = bytearray(good.read_bytes())
    crc[18] ^= 0x01  # width byte in IHDR: the checksum no longer matches
    (tmp_path / "crc.png").write_bytes(bytes(crc))
    half = tmp_path / "half.png"
    half.write_bytes(good.read_bytes()[:60])
    df = scan(tmp_path)
    errors = {Path(p).name: e for p, e in df.select("path", "error").iter_rows()}
    assert errors["good.png"] is None
    assert errors["text.png"] == "not an image"
    assert errors["empty.jpg"] == "empty file"
    assert errors["lying.png"] is not None and errors["lying.png"].startswith(
        ("truncated", "corrupt")
    )
    assert errors["crc.png"] is not None
    assert errors["half.png"] is not None


def test_custom_limit(tmp_path: Path) -> None:
    Image.new("RGB", (200, 100)).save(tmp_path / "a.png")
    df = scan(tmp_path, max_pixels=10_000)
    assert df["error"][0] == "decompression bomb: 20000 pixels > limit 10000"
    assert scan(tmp_path)["error"][0] is None


def test_empty_folder_is_an_empty_frame(tmp_path: Path) -> None:
    df = scan(tmp_path)
    assert df.height == 0 and df.schema == SCAN.empty().schema


def test_paths_as_given_and_folder_walk_rules(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "sub" / "b.PNG")
    Image.new("L", (4, 4)).save(tmp_path / ".hidden" / "c.png")
    Image.new("L", (4, 4)).save(tmp_path / "a.gif")
    (tmp_path / "notes.txt").write_text("x")
    walked = scan(tmp_path)["path"].to_list()
    assert walked == [str(tmp_path / "a.gif"), str(tmp_path / "sub" / "b.PNG")]
    given = scan([tmp_path / "notes.txt", str(tmp_path / "a.gif")])
    assert given["path"].to_list() == [str(tmp_path / "notes.txt"), str(tmp_path / "a.gif")]
    assert given["error"].to_list() == ["not an image", None]
    assert scan(tmp_path / "a.gif").height == 1


def test_palette_transparency_and_text_chunks(tmp_path: Path) -> None:
    im = Image.new("P", (10, 10), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 5, 10))
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "x" * 100)
    im.save(tmp_path / "p.png", transparency=0, pnginfo=meta)
    r = scan(tmp_path).row(0, named=True)
    assert r["mode"] == "P" and r["alpha"] is True
    assert r["metadata_bytes"] == len(b"Comment\x00") + 100


def test_webp_metadata_chunks_counted_exactly(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010E] = "a description"
    exif_bytes = exif.tobytes()
    Image.new("RGB", (16, 16), "red").save(
        tmp_path / "m.webp", icc_profile=icc, exif=exif_bytes, lossless=True
    )
    r = scan(tmp_path).row(0, named=True)
    assert r["format"] == "webp" and r["icc_profile"] == "sRGB built-in"
    # WebP's EXIF chunk holds the TIFF data without JPEG's "Exif\0\0" prefix.
    assert exif_bytes.startswith(b"Exif\x00\x00")
    assert r["metadata_bytes"] == len(icc) + len(exif_bytes) - 6

"""optimize(): the smallest file per format that still reaches the SSIM target.

Each claim in the result is re-checked from the written files: their size, their SSIM
against the original, the quality one step lower missing the target.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from perflab.errors import ParameterError
from perflab.images import OPTIMIZED, optimize, ssim

opt = importlib.import_module("perflab.images.optimize")
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample" / "images"


def crop(name: str, box: tuple[int, int, int, int], dest: Path) -> Path:
    """A small piece of a sample photo, saved losslessly as PNG (fast to encode)."""
    with Image.open(SAMPLES / name) as im:
        piece = im.crop(box)
        piece.load()
    out = dest / (Path(name).stem + ".png")
    piece.save(out)
    return out


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("photos")
    crop("astronaut.jpg", (128, 64, 320, 256), d)  # 192 × 192: full-size search
    shutil.copy(SAMPLES / "coffee.jpg", d / "coffee.jpg")  # 600 × 400: proxy search
    return d


@pytest.fixture(scope="module")
def result(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    out = tmp_path_factory.mktemp("out") / "optimized"
    return optimize(photos, ["webp", "jpeg", "png"], out_dir=out, workers=2), out


def test_schema_and_one_chosen_per_image(result: tuple[pl.DataFrame, Path]) -> None:
    df, _ = result
    assert df.columns[: len(OPTIMIZED.names)] == OPTIMIZED.names
    assert {"search_ms", "trials"} <= set(df.columns)
    assert df.group_by("path").agg(pl.sum("chosen"))["chosen"].to_list() == [1, 1]


def test_chosen_is_the_smallest_meeting_the_target(result: tuple[pl.DataFrame, Path]) -> None:
    df, _ = result
    for _, group in df.filter(pl.col("error").is_null()).group_by("path"):
        meeting = group.filter("meets_target")
        chosen = group.filter("chosen").row(0, named=True)
        assert chosen["bytes"] == meeting["bytes"].min()
        assert chosen["ssim"] >= 0.97 and chosen["saved_bytes"] > 0


def test_written_files_are_what_the_frame_says(
    result: tuple[pl.DataFrame, Path], photos: Path
) -> None:
    df, out = result
    written = df.filter(pl.col("out_path").is_not_null())
    assert written.height == 2 and written["chosen"].all()
    for r in written.iter_rows(named=True):
        path = Path(r["out_path"])
        assert path.parent == out and path.stat().st_size == r["bytes"]
        assert path.suffix == {"webp": ".webp", "jpeg": ".jpg", "png": ".png"}[r["format"]]
        with Image.open(r["path"]) as a, Image.open(path) as b:
            assert b.size == a.size == (r["width"], r["height"])
            assert ssim(a.convert("RGB"), b.convert("RGB")) == pytest.approx(r["ssim"], abs=1e-6)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        Path(p).name for p in written["out_path"]
    )


def test_png_candidates_of_a_jpeg_are_skipped_with_a_reason(
    result: tuple[pl.DataFrame, Path],
) -> None:
    df, _ = result
    coffee = df.filter(pl.col("path").str.ends_with("coffee.jpg"))
    skipped = coffee.filter(pl.col("format").is_in(["png", "png8"]))
    assert skipped["error"].str.starts_with("skipped: PNG of a lossy jpeg").all()
    assert skipped["bytes"].is_null().all() and not skipped["chosen"].any()


def test_full_search_finds_the_lowest_passing_quality(photos: Path) -> None:
    df = optimize(photos / "astronaut.png", ["jpeg", "webp"], search="full", workers=1)
    source = opt.load_source(str(photos / "astronaut.png"))
    judge = opt._Judge(source.frames)
    for r in df.iter_rows(named=True):
        q = r["quality"]
        assert r["meets_target"]
        assert judge(opt.encode(source, r["format"], q)) == pytest.approx(r["ssim"])
        assert judge(opt.encode(source, r["format"], q - 1)) < 0.97


def test_proxy_search_lands_near_the_full_search(photos: Path) -> None:
    fast = optimize(photos / "coffee.jpg", ["webp"], workers=1).row(0, named=True)
    exact = optimize(photos / "coffee.jpg", ["webp"], search="full", workers=1).row(0, named=True)
    assert fast["meets_target"] and exact["meets_target"]
    assert exact["quality"] <= fast["quality"] <= exact["quality"] + 6
    assert fast["bytes"] <= exact["bytes"] * 1.15
    assert fast["trials"] >= 1


def test_a_higher_target_costs_bytes(photos: Path) -> None:
    low = optimize(photos / "astronaut.png", ["jpeg"], 0.95, workers=1).row(0, named=True)
    high = optimize(photos / "astronaut.png", ["jpeg"], 0.99, workers=1).row(0, named=True)
    assert low["quality"] < high["quality"] and low["bytes"] < high["bytes"]
    assert low["ssim"] >= 0.95 and high["ssim"] >= 0.99


def test_alpha_never_goes_to_jpeg_but_unused_alpha_may(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with Image.open(SAMPLES / "logo-transparent.png") as im:
        im.resize((128, 128)).save(src / "used.png")
    with Image.open(SAMPLES / "logo.png") as im:  # RGBA, all opaque
        im.resize((128, 128)).save(src / "unused.png")
    df = optimize(src, ["jpeg", "webp", "png"], workers=1)
    used = df.filter(pl.col("path").str.ends_with("used.png") & ~pl.col("path").str.contains("un"))
    jpeg = used.filter(format="jpeg").row(0, named=True)
    assert jpeg["error"] == "alpha: JPEG has no transparency" and jpeg["bytes"] is None
    webp = used.filter(format="webp").row(0, named=True)
    assert webp["meets_target"]
    unused = df.filter(pl.col("path").str.ends_with("unused.png"), format="jpeg").row(0, named=True)
    assert unused["error"] is None and unused["meets_target"]


def test_animation_keeps_its_frames(tmp_path: Path) -> None:
    df = optimize(SAMPLES / "no_time_for_that.gif", ["webp", "jpeg"], out_dir=tmp_path, keep="all")
    jpeg = df.filter(format="jpeg").row(0, named=True)
    assert jpeg["error"] == "animated: JPEG holds one frame"
    webp = df.filter(format="webp").row(0, named=True)
    with Image.open(webp["out_path"]) as im:
        assert im.n_frames == 24 and Path(webp["out_path"]).name == "no_time_for_that.webp.webp"


def test_broken_files_are_rows_and_the_batch_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(SAMPLES / "broken", src)
    crop("chelsea.png", (0, 0, 96, 96), src)
    df = optimize(src, ["webp"], out_dir=tmp_path / "out", workers=2)
    errors = {Path(p).name: e for p, e in df.select("path", "error").iter_rows()}
    assert errors["bomb.png"] == "decompression bomb: 400000000 pixels > limit 89478485"
    assert errors["truncated.jpg"] == "truncated file"
    assert errors["chelsea.png"] is None
    assert df.filter(pl.col("path").str.ends_with("bomb.png"))["original_bytes"][0] == 69


def test_originals_are_never_overwritten(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    original = crop("chelsea.png", (0, 0, 64, 64), src)
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    with pytest.raises(ParameterError, match="source folder"):
        optimize(src, ["png"], out_dir=src)
    with pytest.raises(ParameterError, match="source folder"):
        optimize([original], ["png"], out_dir=src)
    other = tmp_path / "other"
    other.mkdir()
    second = crop("coffee.jpg", (0, 0, 64, 64), other)
    with pytest.raises(ParameterError, match="holds input images"):
        optimize([original, second], ["png"], out_dir=other)
    with pytest.raises(ParameterError, match="source folder"):
        optimize(src / ".." / "src", ["png"], out_dir=str(src))
    assert hashlib.sha256(original.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in src.iterdir()) == ["chelsea.png"]
    assert sorted(p.name for p in other.iterdir()) == ["coffee.png"]


def test_positional_order_is_images_formats_target_out_dir(tmp_path: Path) -> None:
    crop("chelsea.png", (0, 0, 64, 64), tmp_path)
    out = tmp_path / "out"
    df = optimize(tmp_path / "chelsea.png", ["webp"], 0.95, out)
    (row,) = df.filter("chosen").iter_rows(named=True)
    assert row["ssim"] >= 0.95 and Path(row["out_path"]).parent == out
    assert [p.name for p in out.iterdir()] == ["chelsea.webp"]


def test_nothing_written_without_out_dir(tmp_path: Path) -> None:
    crop("chelsea.png", (0, 0, 64, 64), tmp_path)
    df = optimize(tmp_path, ["webp"], workers=1)
    assert df["out_path"].is_null().all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chelsea.png"]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    with Image.open(SAMPLES / "coffee.jpg") as im:
        im.crop((0, 0, 120, 80)).save(tmp_path / "turned.jpg", exif=exif.tobytes(), quality=95)
    df = optimize(tmp_path / "turned.jpg", ["webp"], workers=1)
    assert (df["width"][0], df["height"][0]) == (80, 120)


def test_unavailable_format_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crop("chelsea.png", (0, 0, 64, 64), tmp_path)
    real = opt.available_formats()
    monkeypatch.setattr(opt, "available_formats", lambda: {**real, "avif": False})
    df = optimize(tmp_path, ["avif", "jpeg"], workers=1)
    assert df.filter(format="avif")["error"][0] == "avif encoder not available in this Pillow"
    assert df.filter(format="jpeg")["chosen"][0]


def test_avif_when_pillow_has_it(tmp_path: Path) -> None:
    if not opt.available_formats()["avif"]:
        pytest.skip("this Pillow has no AVIF encoder")
    crop("astronaut.jpg", (200, 200, 296, 296), tmp_path)
    r = optimize(tmp_path, ["avif"], workers=1).row(0, named=True)
    assert r["meets_target"] and 5 <= r["quality"] <= 100


def test_empty_folder_and_bad_parameters(tmp_path: Path) -> None:
    df = optimize(tmp_path, out_dir=tmp_path / "out")
    assert df.height == 0 and df.columns == [*OPTIMIZED.names, "search_ms", "trials"]
    for kwargs in (
        {"formats": ["gif"]},
        {"target": 1.5},
        {"target": 0},
        {"workers": 0},
        {"keep": "some"},
        {"search": "fast"},
    ):
        with pytest.raises(ParameterError):
            optimize(tmp_path, **kwargs)  # type: ignore[arg-type]

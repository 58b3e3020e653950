"""optimize() on the sample images: throughput, the encoders' share, and the search's cost.

Three measurements on ``data/sample/images`` (the broken files there are refused in
microseconds and count as images; the rest are real photos and graphics):

1. **Throughput**: ``optimize(folder, out_dir=tmp)`` end to end — decode, every
   candidate's quality search, SSIMs, writing the chosen files — in images per second,
   with ``workers=1`` and ``workers=os.cpu_count()``.
2. **The floor**: the share of the search's time spent inside the encoders
   (``encode_ms / search_ms`` summed over candidates). Everything else is decoding
   candidates and computing SSIM.
3. **The search against the peer**: the peer is what a user would otherwise run — one
   fixed-quality pass, each candidate encoded once at the encoder's usual quality (JPEG
   75, WebP 75, AVIF 60; PNG lossless and PNG8 once either way), nothing measured.
   Ratio = the candidates' total search time (``search_ms``) over that pass's encode
   time, overall and per format; the issue's target is ≤ 3× overall.
   ``search="full"`` (the exact full-size search) is shown beside the proxy search.

Medians over ``--rounds`` runs, single process for (2) and (3) so the two sides see the
same machine. The SSIM itself is timed against scikit-image's
``structural_similarity`` (when installed) on the largest photo.

    .venv/bin/python benchmarks/bench_images_optimize.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from perflab.images import optimize
from perflab.images.ssim import Reference, luma

opt = importlib.import_module("perflab.images.optimize")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "sample" / "images"


def interleaved(paths: list[str], formats: tuple[str, ...], target: float) -> dict[str, dict]:
    """Per format: fixed-pass and search times, measured back to back per candidate.

    For each image and candidate: one encode at the usual quality (the peer), then the
    search optimize() runs for it (encodes, decodes, SSIMs; the original's SSIM
    statistics are built once per image and counted to the search). Wall and CPU
    (all threads of the process) seconds.
    """
    out: dict[str, dict] = {}
    for path in paths:
        try:
            source = opt.load_source(path)
        except opt.ImageError:
            continue
        c0, w0 = time.process_time(), time.perf_counter()
        judge = opt._Judge(source.frames)
        setup = (time.process_time() - c0, time.perf_counter() - w0)
        todo = [f for f, why in opt._candidates(source, formats) if why is None]
        for fmt in todo:
            acc = out.setdefault(
                fmt,
                {
                    "fixed_cpu": 0.0,
                    "fixed_wall": 0.0,
                    "search_cpu": 0.0,
                    "search_wall": 0.0,
                    "encode_wall": 0.0,
                    "encodes": 0,
                    "candidates": 0,
                },
            )
            quality = opt.QUALITY_RANGES[fmt][2] if fmt in opt.QUALITY_RANGES else None
            c0, w0 = time.process_time(), time.perf_counter()
            opt.encode(source, fmt, quality)
            acc["fixed_cpu"] += time.process_time() - c0
            acc["fixed_wall"] += time.perf_counter() - w0
            c0, w0 = time.process_time(), time.perf_counter()
            if fmt in opt.QUALITY_RANGES:
                trial, _, _ = opt._lossy(source, fmt, target, judge, "proxy")
                enc, n = trial.encode_s, trial.trials
            else:
                e0 = time.perf_counter()
                data = opt.encode(source, fmt)
                enc, n = time.perf_counter() - e0, 1
                if fmt != "png":
                    judge(data)
            acc["search_cpu"] += time.process_time() - c0 + setup[0] / len(todo)
            acc["search_wall"] += time.perf_counter() - w0 + setup[1] / len(todo)
            acc["encode_wall"] += enc
            acc["encodes"] += n
            acc["candidates"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=SAMPLES)
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    n_images = len(opt.image_paths(args.folder))
    print(f"{n_images} files in {args.folder}; Pillow formats: {opt.available_formats()}")

    walls: dict[int, list[float]] = {1: [], cpus: []}
    for _ in range(args.rounds):
        for workers in walls:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                optimize(args.folder, out_dir=Path(tmp) / "out", workers=workers)
                walls[workers].append(time.perf_counter() - t0)
    for workers, times in walls.items():
        med = statistics.median(times)
        print(f"throughput, workers={workers}: {n_images / med:6.2f} images/s ({med:.2f} s)")

    paths = opt.image_paths(args.folder)
    runs = [interleaved(paths, opt.FORMATS, opt.DEFAULT_TARGET) for _ in range(args.rounds)]
    formats = sorted(runs[0])

    def med(fmt: str, key: str) -> float:
        return statistics.median(r[fmt][key] for r in runs)

    tot = {k: sum(med(f, k) for f in formats) for k in runs[0][formats[0]]}
    print(
        f"\nsearch vs one fixed-quality pass (the peer), back to back per candidate, "
        f"median of {args.rounds}:"
    )
    print(
        f"  all    search {tot['search_wall'] * 1000:7.0f} ms / "
        f"fixed {tot['fixed_wall'] * 1000:6.0f} ms = "
        f"{tot['search_wall'] / tot['fixed_wall']:4.2f}x wall, "
        f"{tot['search_cpu'] / tot['fixed_cpu']:4.2f}x CPU;"
        f" encoders {100 * tot['encode_wall'] / tot['search_wall']:4.1f}% of the search"
    )
    for f in formats:
        sw, fw = med(f, "search_wall"), med(f, "fixed_wall")
        sc, fc = med(f, "search_cpu"), med(f, "fixed_cpu")
        print(
            f"  {f:5}  search {sw * 1000:7.0f} ms / fixed {fw * 1000:6.0f} ms = "
            f"{sw / fw:5.2f}x wall,"
            f" {sc / fc:5.2f}x CPU; encoders {100 * med(f, 'encode_wall') / sw:4.1f}%;"
            f" {runs[0][f]['encodes'] / runs[0][f]['candidates']:4.1f} encodes per image"
        )

    proxy = optimize(args.folder, workers=1)
    full = optimize(args.folder, workers=1, search="full")
    for name, df in (("proxy", proxy), ("full", full)):
        chosen = df.filter("chosen")
        saved = chosen["saved_bytes"].sum() / chosen["original_bytes"].sum() * 100
        print(
            f"search={name}: chosen files {chosen['bytes'].sum():8d} bytes, save {saved:4.1f}%; "
            f"{df['trials'].sum()} encodes, {df['search_ms'].sum():6.0f} ms"
        )

    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        return
    from PIL import Image

    big = max(opt.image_paths(args.folder), key=lambda p: os.path.getsize(p))
    with Image.open(big) as im:
        a = im.convert("RGB")
    b = Image.open(__import__("io").BytesIO(opt.encode(opt.load_source(big), "jpeg", 50)))
    ya, yb = luma(a).astype("float64"), luma(b).astype("float64")
    ours, ref, theirs = [], [], []
    for _ in range(max(3, args.rounds)):
        t0 = time.perf_counter()
        Reference(a).ssim(b)
        ours.append(time.perf_counter() - t0)
        r = Reference(a)
        t0 = time.perf_counter()
        r.ssim(b)
        ref.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        structural_similarity(
            ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        )
        theirs.append(time.perf_counter() - t0)
    o, k, t = (statistics.median(x) * 1000 for x in (ours, ref, theirs))
    print(
        f"\nSSIM on {Path(big).name} {a.size}: ours {o:.0f} ms ({k:.0f} ms with the original's "
        f"statistics kept), scikit-image {t:.0f} ms on the same luma: {t / k:.1f}x"
    )


if __name__ == "__main__":
    main()

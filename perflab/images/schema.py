"""Canonical frames of the images domain, each declared once as a ``Schema``.

``SCAN`` — one row per file, what :func:`~perflab.images.scan` returns:

===============  ========  ==========================================================
column           dtype     meaning
===============  ========  ==========================================================
path             str       the file: as given, or the folder joined with the file's
                           path inside it
format           str       ``jpeg``, ``png``, ``webp``, ``avif``, ``gif``, ``bmp``,
                           ``tiff``… (lower case, Pillow's name); null on error
width            i64       pixels (the canvas, for an animation)
height           i64       pixels
bytes            i64       size of the file on disk
bytes_per_pixel  f64       ``bytes / (width * height)``: the whole file over one
                           frame's canvas
alpha            bool      has an alpha channel (band or palette transparency) *and*
                           at least one pixel of the first frame is not opaque; an
                           unused alpha band counts as no alpha
animated         bool      more than one frame
frames           i64       number of frames (1 for a still image)
mode             str       Pillow mode of the first frame (``RGB``, ``RGBA``, ``P``…)
icc_profile      str       the embedded colour profile's description (``sRGB
                           IEC61966-2.1``, ``Display P3``…); null when none
metadata_bytes   i64       bytes of EXIF + ICC + XMP + comments/text chunks (+ IPTC
                           in JPEG), as stored; 0 when none
error            str       null when the file was read; else why not (``decompression
                           bomb: …``, ``truncated file``, ``not an image``…)
===============  ========  ==========================================================

``OPTIMIZED`` — one row per (image, candidate), what :func:`~perflab.images.optimize`
returns:

==============  ========  ===========================================================
column          dtype     meaning
==============  ========  ===========================================================
path            str       the original, as in ``SCAN``
format          str       the candidate's format: ``avif``, ``webp``, ``jpeg``,
                          ``png`` (``png`` lossless or ``png8`` palette-quantised)
quality         i64       encoder quality reached (the encoder's own 0–100 scale);
                          null for lossless candidates
width, height   i64       pixels of the output
bytes           i64       size of the encoded candidate
original_bytes  i64       size of the original file
saved_bytes     i64       ``original_bytes - bytes`` (negative when it grew)
saved_pct       f64       ``100 * saved_bytes / original_bytes``
ssim            f64       SSIM of the candidate against the decoded original (luma,
                          see :func:`~perflab.images.ssim`); 1.0 for lossless
meets_target    bool      ``ssim >= target``
encode_ms       f64       time spent encoding this candidate, search included, ms
chosen          bool      the smallest candidate of that path meeting the target
out_path        str       where it was written; null when not written
error           str       why the candidate could not be made (format unavailable,
                          alpha cannot go to JPEG…); null when fine
==============  ========  ===========================================================

Optional (what :func:`~perflab.images.optimize` adds): ``search_ms`` (f64, wall time of
the candidate: encodes, decodes and SSIMs) and ``trials`` (i64, encodes made).

``VARIANTS`` — resized variants for ``srcset`` (:func:`~perflab.images.responsive_variants`):
``path``, ``width``, ``height``, ``format``, ``bytes``, ``out_path`` and
``descriptor`` (``"640w"``).
"""

from __future__ import annotations

import polars as pl

from perflab.frames import Schema

__all__ = ["AUDIT", "OPTIMIZED", "SCAN", "TRADEOFF", "VARIANTS"]

SCAN = Schema(
    "image scan",
    {
        "path": pl.String,
        "format": pl.String,
        "width": pl.Int64,
        "height": pl.Int64,
        "bytes": pl.Int64,
        "bytes_per_pixel": pl.Float64,
        "alpha": pl.Boolean,
        "animated": pl.Boolean,
        "frames": pl.Int64,
        "mode": pl.String,
        "icc_profile": pl.String,
        "metadata_bytes": pl.Int64,
        "error": pl.String,
    },
)

OPTIMIZED = Schema(
    "optimized images",
    {
        "path": pl.String,
        "format": pl.String,
        "quality": pl.Int64,
        "width": pl.Int64,
        "height": pl.Int64,
        "bytes": pl.Int64,
        "original_bytes": pl.Int64,
        "saved_bytes": pl.Int64,
        "saved_pct": pl.Float64,
        "ssim": pl.Float64,
        "meets_target": pl.Boolean,
        "encode_ms": pl.Float64,
        "chosen": pl.Boolean,
        "out_path": pl.String,
        "error": pl.String,
    },
    optional={"search_ms": pl.Float64, "trials": pl.Int64},
)

VARIANTS = Schema(
    "image variants",
    {
        "path": pl.String,
        "width": pl.Int64,
        "height": pl.Int64,
        "format": pl.String,
        "bytes": pl.Int64,
        "out_path": pl.String,
        "descriptor": pl.String,
    },
    optional={"error": pl.String, "encode_ms": pl.Float64},
)

AUDIT = Schema(
    "image audit",
    {
        "page": pl.String,
        "src": pl.String,
        "rule": pl.String,
        "detail": pl.String,
        "displayed_width": pl.Float64,
        "displayed_height": pl.Float64,
        "natural_width": pl.Int64,
        "natural_height": pl.Int64,
        "bytes": pl.Int64,
        "wasted_bytes": pl.Int64,
        "line": pl.Int64,
    },
)
"""One row per problem found: ``page`` (as given), ``src`` (the URL the browser would
fetch), ``rule`` (``uses-responsive-images``, ``unsized-images``, ``offscreen-images``,
``lcp-lazy-loaded``, ``missing-srcset``, ``missing-image``), ``detail`` (what exactly, in words),
``displayed_width``/``displayed_height`` (CSS pixels, estimated as the module says;
null when unknown), ``natural_width``/``natural_height`` (pixels of the file),
``bytes`` (the file's size), ``wasted_bytes`` (Lighthouse's estimate; null for rules
without one) and ``line`` (1-based line of the tag in the page)."""

TRADEOFF = Schema(
    "quality trade-off",
    {
        "path": pl.String,
        "format": pl.String,
        "quality": pl.Int64,
        "bytes": pl.Int64,
        "original_bytes": pl.Int64,
        "bytes_per_pixel": pl.Float64,
        "ssim": pl.Float64,
        "encode_ms": pl.Float64,
    },
)
"""One row per (image, format, quality): the encoded ``bytes`` (and per pixel), the
original file's size, ``ssim`` of the decoded result against the decoded original, and
the encoder's time in ms."""

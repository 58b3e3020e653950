"""Images: what a folder holds, and how small it can get at the same visual quality.

:func:`scan` lists a folder's images (format, size, bytes per pixel, alpha, animation,
colour profile, metadata) behind a decompression-bomb guard; :func:`optimize` re-encodes
each into AVIF, WebP, JPEG and PNG, searching each encoder's quality for the smallest
file whose SSIM against the original (:func:`ssim`) reaches a target, and picks the
smallest candidate; :func:`available_formats` says which encoders this Pillow has and
:func:`tradeoff` draws the bytes/SSIM curve the search walks along.
:func:`responsive_variants`, :func:`srcset` and :func:`markup` plan ``srcset`` variants
at :data:`DEVICE_WIDTHS`; :func:`audit_html` checks ``<img>`` markup in pages;
:func:`findings` turns it all into recommendations. Frames are declared in
:mod:`perflab.images.schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Modules named like their function (scan.scan, ssim.ssim, optimize.optimize,
# tradeoff.tradeoff) are imported eagerly: once imported, a lazily exported name would
# be shadowed by the submodule (see perflab.lazy).
from perflab.images.optimize import available_formats, optimize
from perflab.images.scan import scan
from perflab.images.schema import AUDIT, OPTIMIZED, SCAN, TRADEOFF, VARIANTS
from perflab.images.ssim import ssim
from perflab.images.tradeoff import tradeoff
from perflab.lazy import exports as _exports

if TYPE_CHECKING:
    from perflab.images.audit import audit_html, page_summary
    from perflab.images.guard import DEFAULT_MAX_PIXELS, ImageError
    from perflab.images.responsive import (
        ALL_WIDTHS,
        DEVICE_WIDTHS,
        IMAGE_WIDTHS,
        markup,
        responsive_variants,
        srcset,
    )
    from perflab.images.rules import findings

# name → the module that defines it, imported on first use.
_HOME = {
    "ALL_WIDTHS": "responsive",
    "DEFAULT_MAX_PIXELS": "guard",
    "DEVICE_WIDTHS": "responsive",
    "IMAGE_WIDTHS": "responsive",
    "ImageError": "guard",
    "audit_html": "audit",
    "findings": "rules",
    "markup": "responsive",
    "page_summary": "audit",
    "responsive_variants": "responsive",
    "srcset": "responsive",
}

__all__ = [
    "ALL_WIDTHS",
    "AUDIT",
    "DEFAULT_MAX_PIXELS",
    "DEVICE_WIDTHS",
    "IMAGE_WIDTHS",
    "OPTIMIZED",
    "SCAN",
    "TRADEOFF",
    "VARIANTS",
    "ImageError",
    "audit_html",
    "available_formats",
    "findings",
    "markup",
    "optimize",
    "page_summary",
    "responsive_variants",
    "scan",
    "srcset",
    "ssim",
    "tradeoff",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

"""Image events for the shared timeline: images, or pages' image waste, that grew.

:func:`events` compares two scans (:func:`perflab.images.scan`) of the same site —
before and after a change — and reports each image whose file grew, or appeared, as
a ``grew`` event; or, given two audits (:func:`perflab.images.audit_html`, or their
:func:`~perflab.images.audit.page_summary`), each page whose wasted image bytes grew.

Images are matched by their path *inside* the scanned folder (the part after the
folder the scan's paths share), so ``v1/img/hero.jpg`` and ``v2/img/hero.jpg`` are one
image; pages by their file name for the same reason.

The time is the caller's: a scan records none, and a file's modification time says
when it was last written — a checkout, a copy or a CI cache resets it — not when the
image shipped. Give the deploy's or the build's time. It reads no file. Import it
from this module: exported from the package, the name would be shadowed by this
module's.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any

import polars as pl

from perflab.errors import ParameterError, SchemaError
from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.times import At, instant

__all__ = ["events"]


def _relative(paths: list[str]) -> dict[str, str]:
    """Each path without the folder all of them share (its name alone for one path)."""
    real = [p for p in paths if p]
    if not real:
        return {}
    parents = [os.path.dirname(p) for p in real]
    try:
        root = os.path.commonpath(parents) if all(parents) else ""
    except ValueError:  # absolute and relative mixed
        root = ""
    return {p: os.path.relpath(p, root) if root else p for p in real}


def _kib(n: float | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1024:,.1f} KiB" if abs(n) >= 1024 else f"{n:,.0f} bytes"


def _pages(frame: pl.DataFrame) -> pl.DataFrame:
    """Per page: ``page``, ``wasted_bytes`` (from an audit or a page summary)."""
    if "rule" in frame.columns:  # an audit: summarise it as page_summary does
        from perflab.images.audit import page_summary

        frame = page_summary(frame)
    if "wasted_bytes" not in frame.columns:
        raise SchemaError(
            "image pages", detail=f"no wasted_bytes column; the frame has {frame.columns}"
        )
    extra = [c for c in ("images",) if c in frame.columns]
    return frame.select("page", pl.col("wasted_bytes").cast(pl.Int64).fill_null(0), *extra)


def events(
    after: FrameLike,
    *,
    before: FrameLike,
    time: At,
    min_change: float = 0.05,
    min_bytes: int = 1024,
) -> pl.DataFrame:
    """Images (or pages' wasted image bytes) that grew from one scan to the next.

    Parameters
    ----------
    after, before : frame-like
        Two :data:`~perflab.images.schema.SCAN` frames (``path``, ``bytes``; rows
        with an ``error`` still count, their ``bytes`` are the file's); or two
        :data:`~perflab.images.schema.AUDIT` frames, or their ``page_summary``
        (``page``, ``wasted_bytes``), for pages.
    time : time
        When the ``after`` state shipped (a scan carries no time).
    min_change : float
        Smallest relative growth reported (0.05 = +5 %).
    min_bytes : int
        Smallest growth in bytes reported.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"images"``, kind ``"grew"``,
        ``direction`` ``"worse"``, biggest growth first: per image, subject
        ``"image img/hero.jpg"``, ``size`` the relative growth of the file
        (``unit`` ``"ratio"``), or for a new image its share of the scan's bytes
        (``unit`` ``"share"``); per page, subject ``"page article.html"`` and ``size``
        the relative growth of its wasted bytes (share of all pages' waste when it
        wasted nothing before). ``terms``: the image's file name and relative path,
        or the page's file name.

    Raises
    ------
    ParameterError
        No ``time``; a threshold below zero; ``after`` and ``before`` of different
        kinds.
    SchemaError
        A frame that is neither a scan nor an audit / page summary.

    Examples
    --------
    >>> a = pl.DataFrame({"path": ["v1/hero.jpg", "v1/logo.png"], "bytes": [80_000, 9_000]})
    >>> b = pl.DataFrame({"path": ["v2/hero.jpg", "v2/logo.png"], "bytes": [240_000, 9_000]})
    >>> events(b, before=a, time="2026-12-01T10:00").select("subject", "size", "terms").row(0)
    ('image hero.jpg', 2.0, ['hero.jpg'])
    """
    if time is None:
        raise ParameterError("give time=: when the second scan's images shipped")
    stamp = instant(time, what="time")
    if min_change < 0 or min_bytes < 0:
        raise ParameterError(f"min_change and min_bytes must be ≥ 0, not {min_change}, {min_bytes}")
    new, old = as_frame(after), as_frame(before)
    kinds = ["page" if "page" in f.columns else "path" if "path" in f.columns else None
             for f in (new, old)]  # fmt: skip
    if None in kinds:
        raise SchemaError(
            "image scan",
            detail="need a scan (path, bytes) or an audit / page summary (page, wasted_bytes); "
            f"got columns {new.columns if kinds[0] is None else old.columns}",
        )
    if kinds[0] != kinds[1]:
        raise ParameterError("after and before must both be scans, or both audits / page summaries")
    if kinds[0] == "page":
        return _page_events(_pages(new), _pages(old), stamp, min_change, min_bytes)
    for f in (new, old):
        if "bytes" not in f.columns:
            raise SchemaError("image scan", detail=f"no bytes column; the frame has {f.columns}")
    return _image_events(new, old, stamp, min_change, min_bytes)


def _keyed(frame: pl.DataFrame, col: str, *, names: bool = False) -> pl.DataFrame:
    paths = frame.get_column(col).cast(pl.String).to_list()
    rel = {p: PurePath(p).name for p in paths if p} if names else _relative(paths)
    return frame.with_columns(
        pl.col(col).cast(pl.String).replace_strict(rel, default=None).alias("_key")
    ).filter(pl.col("_key").is_not_null())


def _image_events(
    new: pl.DataFrame, old: pl.DataFrame, stamp: Any, min_change: float, min_bytes: int
) -> pl.DataFrame:
    a = _keyed(old, "path").group_by("_key").agg(pl.col("bytes").sum().alias("before"))
    b = _keyed(new, "path").group_by("_key").agg(pl.col("bytes").sum().alias("after"))
    total = b.get_column("after").sum() or 0
    j = b.join(a, on="_key", how="left").with_columns(
        (pl.col("after") - pl.col("before").fill_null(0)).alias("delta")
    )
    rows: list[dict[str, Any]] = []
    for r in j.filter(pl.col("delta") >= min_bytes).iter_rows(named=True):
        key = r["_key"]
        terms = list(dict.fromkeys([PurePath(key).name, key]))
        if r["before"] is None:
            size, unit = (r["after"] / total if total else None), "share"
            ev = f"new image: {_kib(r['after'])}" + (f" ({size:.0%} of the scan)" if size else "")
        else:
            size, unit = (r["delta"] / r["before"] if r["before"] else None), "ratio"
            if size is not None and size < min_change:
                continue
            ev = f"{_kib(r['before'])} → {_kib(r['after'])} (+{_kib(r['delta'])}" + (
                f", {size:+.0%})" if size is not None else ")"
            )
        rows.append({"time": stamp, "domain": "images", "subject": f"image {key}", "kind": "grew",
                     "size": size, "unit": unit, "direction": "worse", "evidence": ev,
                     "terms": terms, "_delta": r["delta"]})  # fmt: skip
    return _ordered(rows)


def _page_events(
    new: pl.DataFrame, old: pl.DataFrame, stamp: Any, min_change: float, min_bytes: int
) -> pl.DataFrame:
    a = (
        _keyed(old, "page", names=True)
        .group_by("_key")
        .agg(pl.col("wasted_bytes").sum().alias("before"))
    )
    b = (
        _keyed(new, "page", names=True)
        .group_by("_key")
        .agg(
            pl.col("wasted_bytes").sum().alias("after"),
            *([pl.col("images").sum()] if "images" in new.columns else []),
        )
    )
    total = b.get_column("after").sum() or 0
    j = b.join(a, on="_key", how="left").with_columns(
        (pl.col("after") - pl.col("before").fill_null(0)).alias("delta")
    )
    rows: list[dict[str, Any]] = []
    for r in j.filter(pl.col("delta") >= min_bytes).iter_rows(named=True):
        before = r["before"] or 0
        if before:
            size, unit = r["delta"] / before, "ratio"
            if size < min_change:
                continue
        else:
            size, unit = (r["after"] / total if total else None), "share"
        count = f" over {r['images']} image(s) with problems" if r.get("images") else ""
        rows.append(
            {"time": stamp, "domain": "images", "subject": f"page {r['_key']}", "kind": "grew",
             "size": size, "unit": unit, "direction": "worse",
             "evidence": f"image bytes wasted on a phone {_kib(before)} → {_kib(r['after'])}"
             f"{count}", "terms": [r["_key"]], "_delta": r["delta"]}
        )  # fmt: skip
    return _ordered(rows)


def _ordered(rows: list[dict[str, Any]]) -> pl.DataFrame:
    rows.sort(key=lambda r: (-r["_delta"], r["subject"]))
    return events_frame([{k: v for k, v in r.items() if k != "_delta"} for r in rows])

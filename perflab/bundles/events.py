"""Bundle events for the shared timeline: what grew between two builds.

:func:`events` turns a :class:`~perflab.bundles.diff.BundleDiff` (build a → build b,
:func:`perflab.bundles.diff`) into :data:`perflab.events.EVENTS` rows of kind
``grew``: each entry whose initial download grew, each chunk and each package that
grew or appeared. They are stamped at the second build's time — webpack's stats carry
it (``builtAt``, ms since the epoch; :func:`read_build_time` reads it, and
:func:`build_time` takes it from a parsed stats document or a bundle that keeps
one) — or at a ``time`` the caller gives (the deploy that shipped the build);
without either the adapter refuses, rather than guess. ``terms`` are the entry,
chunk or package name, so a grown ``main`` entry meets a slower page load, and a new
package meets the deploy that added it.

:func:`events` reads no file; :func:`read_build_time` is the one reader here (the
build's time only — the :class:`~perflab.bundles.model.Bundle` model does not keep
it). Import them from this module: exported from the package, the name ``events``
would be shadowed by this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import polars as pl

from perflab.bundles.budget import format_bytes
from perflab.bundles.diff import DIFF_COLUMNS, BundleDiff
from perflab.errors import ParameterError, SchemaError
from perflab.events import events_frame
from perflab.sources import PathLike
from perflab.times import At, instant

__all__ = ["build_time", "events", "read_build_time"]

_LEVELS = (("entries", "entry"), ("chunks", "chunk"), ("packages", "package"))


def build_time(build: Any) -> datetime | None:
    """When a build was made, if what is given says so.

    Parameters
    ----------
    build : Bundle, mapping or None
        A parsed webpack stats document (its ``builtAt``, ms since the epoch; of the
        first child for a multi-compiler stats without one at the top), or a bundle
        object with a ``built_at`` attribute.

    Returns
    -------
    datetime or None
        The time in UTC; None when the input carries none (esbuild, rollup, an older
        webpack, a :class:`~perflab.bundles.model.Bundle` as read today).

    Examples
    --------
    >>> build_time({"builtAt": 1796340180806})
    datetime.datetime(2026, 12, 3, 23, 23, 0, 806000, tzinfo=datetime.timezone.utc)
    >>> build_time({"version": "5.113.0"}) is None
    True
    """
    if build is None:
        return None
    if isinstance(build, Mapping):
        ms = build.get("builtAt")
        if ms is None:
            children = build.get("children")
            if isinstance(children, list) and children and isinstance(children[0], Mapping):
                ms = children[0].get("builtAt")
        if ms is None:
            return None
        if isinstance(ms, bool) or not isinstance(ms, int | float):
            raise ParameterError(f"builtAt must be milliseconds since the epoch, not {ms!r}")
        return datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    at = getattr(build, "built_at", None)
    return None if at is None else instant(at, what="built_at")


def read_build_time(path: PathLike) -> datetime | None:
    """The ``builtAt`` of a webpack stats file (plain or gzipped), or None.

    Examples
    --------
    >>> read_build_time("data/sample/bundles/b/stats.json.gz").isoformat()
    '2026-12-03T23:23:00.806000+00:00'
    >>> read_build_time("data/sample/bundles/a/meta.json.gz") is None  # esbuild
    True
    """
    from perflab.bundles._json import parse
    from perflab.sources import Source

    doc = parse(Source(path))
    return build_time(doc) if isinstance(doc, Mapping) else None


def _short(source: str) -> str:
    """``b/stats.json.gz``: a build's file with its folder, enough to tell two apart."""
    p = PurePath(source)
    return str(PurePath(p.parent.name, p.name)) if p.parent.name else p.name


def events(
    change: BundleDiff,
    *,
    time: At | None = None,
    build: Any = None,
    min_change: float = 0.01,
    min_bytes: int = 100,
) -> pl.DataFrame:
    """What grew or appeared from build a to build b, as ``grew`` events.

    Parameters
    ----------
    change : BundleDiff
        :func:`~perflab.bundles.diff`'s result.
    time : time, optional
        When build b happened (or shipped); wins over ``build``'s own time.
    build : Bundle or mapping, optional
        Build b, or its parsed stats: its time is used when ``time`` is not given
        (:func:`build_time`).
    min_change : float
        Smallest relative growth of gzip bytes reported (0.01 = +1 %).
    min_bytes : int
        Smallest growth in gzip bytes reported (a few bytes of a changed hash are
        not a story).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"bundles"``, kind ``"grew"``, one row
        per entry (its initial download), chunk and package that grew (``size`` the
        relative change of its gzip bytes, ``unit`` ``"ratio"``) or appeared
        (``size`` its share of that level's gzip bytes in build b, ``unit``
        ``"share"``); ``subject`` ``"entry main"``, ``"chunk settings"``,
        ``"package dayjs"``; ``direction`` ``"worse"``; evidence the bytes before
        and after; ``terms`` the name. Entries first, then chunks and packages, each
        biggest growth first.

    Raises
    ------
    ParameterError
        Neither ``time`` nor a build time; ``change`` is not a BundleDiff; a threshold
        below zero.
    SchemaError
        A frame of ``change`` lacks a diff column.

    Examples
    --------
    >>> from perflab.bundles.diff import _compare
    >>> a = pl.DataFrame({"package": ["react"], "bytes": [9000], "gzip": [3000]})
    >>> b = pl.DataFrame({"package": ["react", "dayjs"], "bytes": [9000, 7160],
    ...                   "gzip": [3000, 2145]})
    >>> empty = pl.DataFrame({"entry": ["m"], "bytes": [1], "gzip": [1]})
    >>> d = BundleDiff(_compare(empty, empty, "entry"),
    ...     _compare(empty.rename({"entry": "chunk"}), empty.rename({"entry": "chunk"}), "chunk"),
    ...     _compare(a, b, "package"), "a.json", "b.json")
    >>> events(d, time="2026-12-03T23:23:00").select(
    ...     "subject", pl.col("size").round(3), "unit").rows()
    [('package dayjs', 0.417, 'share')]
    """
    if not isinstance(change, BundleDiff):
        raise ParameterError(
            f"change must be the BundleDiff of perflab.bundles.diff, not {type(change).__name__}"
        )
    if min_change < 0 or min_bytes < 0:
        raise ParameterError(f"min_change and min_bytes must be ≥ 0, not {min_change}, {min_bytes}")
    if time is not None:
        stamp = instant(time, what="time")
    else:
        built = build_time(build)
        if built is None:
            raise ParameterError(
                "no time for the bundle events: build b carries none (webpack stats have "
                "builtAt; esbuild, rollup and older webpack do not) — give time=, the build "
                "or deploy time"
            )
        stamp = built
    builds = f"{_short(change.before)} → {_short(change.after)}"
    rows: list[dict[str, Any]] = []
    for attr, key in _LEVELS:
        frame: pl.DataFrame = getattr(change, attr)
        need = [key, *DIFF_COLUMNS]
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise SchemaError(f"bundle diff {attr}", detail=f"missing column(s) {missing}")
        total = frame.get_column("after_gzip").fill_null(0).sum()
        grew = frame.filter(
            pl.col("status").is_in(["grown", "added"]) & (pl.col("delta_gzip") >= min_bytes)
        ).sort(["delta_gzip", key], descending=[True, False])
        for r in grew.iter_rows(named=True):
            added = r["status"] == "added"
            before, after = r["before_gzip"], r["after_gzip"]
            if added:
                size, unit = ((after or 0) / total if total else None), "share"
            elif before:
                size, unit = (after - before) / before, "ratio"
            else:
                size, unit = None, "ratio"
            if not added and size is not None and size < min_change:
                continue
            raw = (
                f"raw {format_bytes(r['after_bytes'] or 0)}"
                if added
                else f"raw {format_bytes(r['before_bytes'] or 0)} → "
                f"{format_bytes(r['after_bytes'] or 0)}"
            )
            gz = (
                f"new: {format_bytes(after or 0)} gzip"
                + (f" ({size:.1%} of all {attr} in build b)" if size is not None else "")
                if added
                else f"{format_bytes(before or 0)} → {format_bytes(after or 0)} gzip "
                f"(+{format_bytes(r['delta_gzip'])}"
                + (f", {size:+.0%})" if size is not None else ")")
            )
            what = "initial download" if key == "entry" else key
            rows.append(
                {
                    "time": stamp,
                    "domain": "bundles",
                    "subject": f"{key} {r[key]}",
                    "kind": "grew",
                    "size": size,
                    "unit": unit,
                    "direction": "worse",
                    "evidence": f"{what} {gz}; {raw}; {builds}",
                    "terms": [str(r[key])],
                }
            )
    return events_frame(rows)

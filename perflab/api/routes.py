"""Route templating: ``/users/123`` and ``/users/456`` are one route, ``/users/{id}``.

:func:`template_routes` adds a ``route`` column to a requests frame. Two sources of
truth, in this order:

1. **A Next.js ``routes-manifest.json``** (``.next/routes-manifest.json`` after
   ``next build``), when given: its ``staticRoutes`` match exactly, then its
   ``dynamicRoutes`` (and ``dataRoutes``, the ``/_next/data/<build>/….json`` fetches,
   matched by their ``dataRouteRegex``)
   in the manifest's own order — Next.js sorts them most specific first — by their
   ``regex``; under ``basePath`` when the manifest has one. The route is the page
   written with braces: ``/products/[slug]`` → ``/products/{slug}``,
   ``/docs/[...path]`` → ``/docs/{path*}``, ``/[[...all]]`` → ``/{all*}``.
2. **Segment classification** for every path the manifest does not match (or all,
   without one). Each ``/``-separated segment becomes a parameter when it is

   ==========  =====================================================  ==============
   kind        looks like                                             example
   ==========  =====================================================  ==============
   integer     digits only                                            ``123``
   uuid        8-4-4-4-12 hex digits                                  ``550e8400-…``
   hash        16 or more hex digits, or 8 or more with both a digit  ``5f2b9c1e…``
               and a letter (commit ids, ObjectIds, digests)
   date        ``YYYY-MM-DD``                                         ``2026-12-03``
   slug        lower-case words joined by ``-`` with a digit in one   ``shoe-42``,
               of them, or four words or more                         ``how-to-cache-it``
   token       20 or more URL-safe characters with letters and        ``eyJhbGci…``
               digits mixed (API keys, opaque ids, base64url)
   ==========  =====================================================  ==============

   and it is named ``{id}`` (``names="kind"`` names it by its kind instead:
   ``{int}``, ``{uuid}``, ``{hash}``, ``{date}``, ``{token}``, ``{slug}``). A file
   name with a build hash keeps its name and extension: ``app.3f9a1c2e.js`` →
   ``app.{hash}.js``, ``index-BkU3xT9_.js`` (Vite) → ``index-{hash}.js``,
   ``81fdb500a6eaf0d5.css`` (Next.js) → ``{hash}.css``; a file whose name is a
   parameter keeps its extension: ``blue-running-shoe-42.webp`` → ``{id}.webp``.

   Then **cardinality**: under one templated parent (below the first segment, whose
   values are the site's sections and every scanner's guesses), a position holding
   more than ``max_children`` (default 50) distinct literal segments is a parameter too
   (``/users/alice``, ``/users/bob`` … → ``/users/{id}``), whatever its values look
   like — the only way to catch names and words that no pattern tells from a
   fixed path.

Paths are templated once per distinct path (a day of traffic has far fewer distinct
paths than requests) and joined back. The query string never enters the route; a
null path (a malformed request line) has a null route.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from perflab.errors import InputError, ParameterError
from perflab.frames import FrameLike, as_frame
from perflab.kernels import factorize

__all__ = ["load_routes_manifest", "template_path", "template_routes"]

ParamNames = Literal["id", "kind"]

_KINDS: tuple[tuple[str, str], ...] = (
    ("int", r"^\d+$"),
    ("uuid", r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    ("date", r"^\d{4}-\d{2}-\d{2}$"),
    ("hash", r"(?i)^(?:[0-9a-f]{16,}|[0-9a-f]*(?:\d[a-f]|[a-f]\d)[0-9a-f]*)$"),
    ("slug", r"^[a-z0-9]+(?:-[a-z0-9]+)+$"),
    ("token", r"^[A-Za-z0-9_\-]{20,}$"),
)
# the hash rule above would take any hex-ish word ("cafe", "bad1"): also at least 8 long
_HASH_MIN = 8
# a token must mix letters and digits, a slug needs a digit or four words
_HAS_DIGIT = r"\d"
_HAS_LETTER = r"[A-Za-z]"
_SLUG_WORDS = 4
# a build hash inside a file name: name.HASH.ext, name-HASH.ext (HASH 8+ chars, mixed)
_FILE_HASH = re.compile(
    r"^(?P<stem>.+?)(?P<sep>[.\-])(?P<hash>[A-Za-z0-9_]{8,})(?P<ext>(?:\.[A-Za-z0-9]{1,8})+)$"
)


def _param(kind: str, names: ParamNames) -> str:
    return "{id}" if names == "id" else "{" + kind + "}"


def _segment_kind(seg: str) -> str | None:
    """The parameter kind of one path segment, or None for a literal."""
    if not seg:
        return None
    if seg.isdigit():
        return "int"
    for kind, pattern in _KINDS[1:]:
        if re.match(pattern, seg) is None:
            continue
        if kind == "hash" and len(seg) < _HASH_MIN:
            continue
        if kind == "token" and not (re.search(_HAS_DIGIT, seg) and re.search(_HAS_LETTER, seg)):
            continue
        if kind == "slug" and not (re.search(_HAS_DIGIT, seg) or seg.count("-") + 1 >= _SLUG_WORDS):
            continue
        return kind
    return None


def _file_hash(seg: str) -> str | None:
    """``app.3f9a1c2e.js`` → ``app.{hash}.js``; None when the name holds no build hash."""
    m = _FILE_HASH.match(seg)
    if m is None:
        return None
    h = m["hash"]
    mixed = bool(re.search(_HAS_DIGIT, h)) and bool(re.search(_HAS_LETTER, h))
    if not mixed and not re.fullmatch(r"[0-9a-f]{8,}", h):
        return None
    if not mixed and h.isdigit():
        return None
    return f"{m['stem']}{m['sep']}{{hash}}{m['ext']}"


_BARE_HASH = re.compile(
    r"^(?P<hash>[0-9a-f]{8,}|[A-Za-z0-9_]{16,})(?P<ext>(?:\.[A-Za-z0-9]{1,8})+)$"
)


def _bare_hash(seg: str) -> str | None:
    """``81fdb500a6eaf0d5.css`` (a name that is all hash) → ``{hash}.css``."""
    m = _BARE_HASH.match(seg)
    if m is None:
        return None
    h = m["hash"]
    if not (re.search(_HAS_DIGIT, h) and re.search(_HAS_LETTER, h)):
        return None
    return "{hash}" + m["ext"]


_STEM = re.compile(r"^(?P<stem>[^.]+)(?P<ext>\.[A-Za-z0-9]{1,8})$")  # one extension


def _hashed_name(seg: str, names: ParamNames = "id") -> str | None:
    """A file name with its build hash as ``{hash}``, or its stem as a parameter when
    the stem alone is one (``blue-shoe-42.webp`` → ``{id}.webp``); None otherwise."""
    hashed = _file_hash(seg) or _bare_hash(seg)
    if hashed is not None:
        return hashed
    m = _STEM.match(seg)
    if m is None:
        return None
    kind = _segment_kind(m["stem"])
    return None if kind is None else _param(kind, names) + m["ext"]


def template_path(path: str, *, names: ParamNames = "id") -> str:
    """Template one path by its segments' shapes (no manifest, no cardinality).

    Examples
    --------
    >>> template_path("/users/123/orders/550e8400-e29b-41d4-a716-446655440000")
    '/users/{id}/orders/{id}'
    >>> template_path("/blog/2026-12-03/how-we-cut-p99-latency", names="kind")
    '/blog/{date}/{slug}'
    >>> template_path("/_next/static/chunks/app-3f9a1c2e7b.js")
    '/_next/static/chunks/app-{hash}.js'
    """
    out = []
    for seg in path.split("/"):
        kind = _segment_kind(seg)
        if kind is not None:
            out.append(_param(kind, names))
            continue
        hashed = _hashed_name(seg, names) if "." in seg else None
        out.append(hashed if hashed is not None else seg)
    return "/".join(out)


def load_routes_manifest(manifest: str | Path | Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(regex, route)`` pairs of a Next.js ``routes-manifest.json``, in match order.

    Parameters
    ----------
    manifest : str, PathLike or mapping
        The file, or its content already loaded.

    Returns
    -------
    list of (str, str)
        Static routes first (anchored literal regexes), then dynamic routes and data
        routes in the manifest's order; routes written with braces (see the module
        docstring). ``basePath`` is put in front of every regex.

    Raises
    ------
    InputError
        The file is not JSON, or not a routes manifest (no ``staticRoutes`` nor
        ``dynamicRoutes``).

    Examples
    --------
    >>> load_routes_manifest({"dynamicRoutes": [
    ...     {"page": "/p/[id]", "regex": "^/p/([^/]+?)(?:/)?$"}]})
    [('^/p/([^/]+?)(?:/)?$', '/p/{id}')]
    """
    source = "routes manifest"
    if not isinstance(manifest, Mapping):
        source = str(manifest)
        try:
            data = json.loads(Path(manifest).read_bytes())
        except FileNotFoundError as exc:
            raise InputError(source, None, "no such file") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise InputError(source, line, f"not JSON: {exc}") from exc
    else:
        data = manifest
    if not isinstance(data, Mapping) or not ("staticRoutes" in data or "dynamicRoutes" in data):
        raise InputError(
            source, None, "not a Next.js routes-manifest.json (no staticRoutes/dynamicRoutes)"
        )
    base = str(data.get("basePath") or "").rstrip("/")
    pairs: list[tuple[str, str]] = []
    for group in ("staticRoutes", "dynamicRoutes", "dataRoutes"):
        for entry in data.get(group) or []:
            rx = (
                entry.get("regex") or entry.get("dataRouteRegex")
                if isinstance(entry, Mapping)
                else None
            )
            if not isinstance(entry, Mapping) or "page" not in entry or not rx:
                raise InputError(source, None, f"{group} entry without page and regex: {entry!r}")
            regex = str(rx)
            route = _brace(str(entry["page"]))
            if group == "dataRoutes":
                route = f"/_next/data/{{build}}{route.rstrip('/') or '/index'}.json"
            if base:
                regex = "^" + re.escape(base) + regex.removeprefix("^")
                route = base + route
            regex = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", regex)  # JavaScript's named groups
            try:
                re.compile(regex)
            except re.error as exc:
                raise InputError(
                    source, None, f"{group} {entry['page']!r}: bad regex ({exc})"
                ) from None
            pairs.append((regex, route))
    return pairs


def _brace(page: str) -> str:
    """``/a/[id]/[...rest]`` → ``/a/{id}/{rest*}``."""
    page = re.sub(r"\[\[\.\.\.([^\]]+)\]\]", r"{\1*}", page)
    page = re.sub(r"\[\.\.\.([^\]]+)\]", r"{\1*}", page)
    return re.sub(r"\[([^\]]+)\]", r"{\1}", page)


def _segment_kinds(segments: pl.Series, names: ParamNames, hashed: dict[str, str]) -> pl.Series:
    """Each segment's template: its parameter, its file name with ``{hash}``, or itself."""
    seg = pl.col("s")
    digit = seg.str.contains(_HAS_DIGIT)
    letter = seg.str.contains(_HAS_LETTER)
    kinds = dict(_KINDS)
    kind = (
        pl.when(seg.str.contains(kinds["int"]))
        .then(pl.lit("int"))
        .when(seg.str.contains(kinds["uuid"]))
        .then(pl.lit("uuid"))
        .when(seg.str.contains(kinds["date"]))
        .then(pl.lit("date"))
        .when(seg.str.contains(kinds["hash"]) & (seg.str.len_chars() >= _HASH_MIN))
        .then(pl.lit("hash"))
        .when(
            seg.str.contains(kinds["slug"])
            & (digit | (seg.str.count_matches("-") + 1 >= _SLUG_WORDS))
        )
        .then(pl.lit("slug"))
        .when(seg.str.contains(kinds["token"]) & digit & letter)
        .then(pl.lit("token"))
    )
    name = pl.lit("{id}") if names == "id" else pl.concat_str(pl.lit("{"), kind, pl.lit("}"))
    literal = seg
    if hashed:
        literal = seg.replace_strict(hashed, default=seg, return_dtype=pl.String)
    out = pl.when(kind.is_not_null()).then(name).otherwise(literal).alias("s")
    # integers (most distinct segments of a day: its ids) are named at once; the whole
    # chain runs on the others only, integers among them no more
    frame = segments.to_frame("s")
    integer = frame.select(seg.str.contains(kinds["int"])).to_series()
    others = (~integer).arg_true()
    if others.len() == frame.height:
        return frame.select(out).to_series()
    named = pl.select(pl.repeat(_param("int", names), frame.height, dtype=pl.String)).to_series()
    return named.scatter(others, frame[others].select(out).to_series())


def _classify(paths: pl.Series, names: ParamNames) -> pl.Series:
    """Template distinct paths by segment shape.

    The paths are split at ``/`` and their distinct segments found in one pass over
    the bytes; each distinct segment is classified once (a day's paths repeat their
    segments: ``api``, ``v1``, the ids of the busy users …), and the paths are joined
    again from their segments' templates.
    """
    split, join = _kernels()
    offsets, data = _buffers(paths)
    codes, lengths, seg_offsets, seg_data = split(offsets, data, _SLASH)
    segments = _strings(seg_offsets, seg_data)
    # file names with a build hash, wherever they sit (as template_path does, so a path's
    # route never depends on the other paths): few segments have an extension; Python
    dotted = segments.filter(segments.str.contains(r"\.[A-Za-z0-9]{1,8}$"))
    hashed = {s: h for s in dotted.to_list() if (h := _hashed_name(s, names)) is not None}
    offsets, data = _buffers(_segment_kinds(segments, names, hashed))
    return _strings(*join(offsets, data, codes, lengths, _SLASH)).alias(paths.name)


_SLASH = ord("/")


def _buffers(strings: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The Arrow offsets (int64) and bytes (uint8) of a string Series without nulls."""
    import pyarrow as pa

    arrow = strings.to_arrow()
    if arrow.type != pa.large_string():
        arrow = arrow.cast(pa.large_string())
    _, offsets, data = arrow.buffers()
    start = arrow.offset
    return (
        np.frombuffer(offsets, np.int64)[start : start + len(arrow) + 1],
        np.empty(0, np.uint8) if data is None else np.frombuffer(data, np.uint8),
    )


def _strings(offsets: np.ndarray, data: np.ndarray) -> pl.Series:
    """A string Series from Arrow offsets and (UTF-8) bytes."""
    import pyarrow as pa

    n = len(offsets) - 1
    return pl.Series(pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data)))


def _split_segments(offsets: Any, data: Any, sep: int) -> Any:  # pragma: no cover - numba
    """Split strings at ``sep`` and number their distinct segments (exact, first seen first).

    Returns each segment's code (in string order), each string's count of segments,
    and the distinct segments as Arrow offsets and bytes. As ``str.split``: ``""`` is
    one empty segment, ``"/a/"`` three. One open-addressing table, its slots of
    (hash, code, start, length) side by side (one cache line a probe); bytes are
    compared where the hashes agree.
    """
    n = offsets.shape[0] - 1
    total = n
    for i in range(offsets[0], offsets[n]):
        if data[i] == sep:
            total += 1
    codes = np.empty(total, np.int64)
    lengths = np.empty(n, np.int64)
    size = 1024
    while size < 2 * min(total, 1 << 16):
        size <<= 1
    table = np.full((size, 4), -1, np.int64)
    distinct = 0
    k = 0
    for i in range(n):
        a = offsets[i]
        end = offsets[i + 1]
        count = 0
        while True:
            b = a
            h = np.uint64(14695981039346656037)  # FNV-1a
            while b < end and data[b] != sep:
                h = (h ^ np.uint64(data[b])) * np.uint64(1099511628211)
                b += 1
            length = b - a
            h ^= h >> np.uint64(33)  # murmur3's finaliser: FNV's low bits mix poorly
            h *= np.uint64(0xFF51AFD7ED558CCD)
            h ^= h >> np.uint64(33)
            key = np.int64(h >> np.uint64(1))
            mask = size - 1
            slot = key & mask
            while True:
                u = table[slot, 1]
                if u < 0:
                    if 2 * (distinct + 1) > size:  # grow: move the slots to a table twice as big
                        old = table
                        size *= 2
                        mask = size - 1
                        table = np.full((size, 4), -1, np.int64)
                        for r in range(old.shape[0]):
                            if old[r, 1] >= 0:
                                t = old[r, 0] & mask
                                while table[t, 1] >= 0:
                                    t = (t + 1) & mask
                                table[t, :] = old[r, :]
                        slot = key & mask
                        continue
                    table[slot, 0] = key
                    table[slot, 1] = distinct
                    table[slot, 2] = a
                    table[slot, 3] = length
                    u = distinct
                    distinct += 1
                    break
                if table[slot, 0] == key and table[slot, 3] == length:
                    x = table[slot, 2]
                    m = 0
                    while m < length and data[x + m] == data[a + m]:
                        m += 1
                    if m == length:
                        break
                slot = (slot + 1) & mask
            codes[k] = u
            k += 1
            count += 1
            if b >= end:
                break
            a = b + 1
        lengths[i] = count
    starts = np.empty(distinct, np.int64)
    sizes = np.empty(distinct, np.int64)
    for r in range(size):
        u = table[r, 1]
        if u >= 0:
            starts[u] = table[r, 2]
            sizes[u] = table[r, 3]
    seg_offsets = np.empty(distinct + 1, np.int64)
    seg_offsets[0] = 0
    for v in range(distinct):
        seg_offsets[v + 1] = seg_offsets[v] + sizes[v]
    seg_data = np.empty(seg_offsets[distinct], np.uint8)
    for v in range(distinct):
        x = starts[v]
        y = seg_offsets[v]
        for m in range(sizes[v]):
            seg_data[y + m] = data[x + m]
    return codes, lengths, seg_offsets, seg_data


def _join_segments(
    offsets: Any, data: Any, codes: Any, lengths: Any, sep: int
) -> Any:  # pragma: no cover - numba
    """Join ``lengths[i]`` segments (``codes`` into the strings of ``offsets``/``data``)
    with ``sep`` for each ``i``: the Arrow offsets and bytes of the joined strings."""
    n = lengths.shape[0]
    out_offsets = np.empty(n + 1, np.int64)
    out_offsets[0] = 0
    total = 0
    j = 0
    for i in range(n):
        k = lengths[i]
        for m in range(k):
            c = codes[j + m]
            total += offsets[c + 1] - offsets[c]
        if k > 1:
            total += k - 1
        j += k
        out_offsets[i + 1] = total
    out = np.empty(total, np.uint8)
    j = 0
    p = 0
    for i in range(n):
        k = lengths[i]
        for m in range(k):
            if m:
                out[p] = sep
                p += 1
            c = codes[j + m]
            for x in range(offsets[c], offsets[c + 1]):
                out[p] = data[x]
                p += 1
        j += k
    return out_offsets, out


@functools.cache
def _kernels() -> tuple[Any, Any]:
    """:func:`_split_segments` and :func:`_join_segments` compiled (cached on disk)."""
    import numba

    jit = numba.njit(cache=True, nogil=True)
    return jit(_split_segments), jit(_join_segments)


def _collapse(templates: pl.Series, max_children: int, names: ParamNames) -> pl.Series:
    """Positions with more than ``max_children`` distinct literals under one parent → param."""
    name = "{id}" if names == "id" else "{slug}"
    frame = pl.DataFrame({"t": templates}).with_row_index("_p")
    current = frame.with_columns(pl.col("t").str.split("/").alias("segs"))
    depth = current.get_column("segs").list.len().max()
    depth = depth if isinstance(depth, int) else 0
    # from the second segment on: the root's children are the site's sections (and every
    # scanner's /wp-login.php …), never one parameter
    for i in range(2, depth):
        parts = current.with_columns(
            pl.col("segs").list.slice(0, i).list.join("/").alias("_parent"),
            pl.col("segs").list.get(i, null_on_oob=True).alias("_seg"),
        )
        literal = pl.col("_seg").is_not_null() & ~pl.col("_seg").str.starts_with("{")
        crowded = (
            parts.filter(literal)
            .group_by("_parent")
            .agg(pl.col("_seg").n_unique().alias("_n"))
            .filter(pl.col("_n") > max_children)
            .get_column("_parent")
        )
        if crowded.len() == 0:
            continue
        hit = pl.col("_parent").is_in(crowded.implode()) & literal
        current = parts.with_columns(
            pl.when(hit)
            .then(
                pl.concat_list(
                    pl.col("segs").list.slice(0, i),
                    pl.lit([name]),
                    pl.col("segs").list.slice(i + 1),
                )
            )
            .otherwise(pl.col("segs"))
            .alias("segs")
        ).drop("_parent", "_seg")
    return current.sort("_p").select(pl.col("segs").list.join("/")).to_series()


_STATIC_ASSET = re.compile(r"^/_next/static/|/[^/]*\.[A-Za-z0-9]{1,8}$")


def _by_manifest(paths: pl.Series, pairs: list[tuple[str, str]]) -> pl.Series:
    """The manifest route of each path, null where none matches.

    Build files (``/_next/static/…``) and paths with a file extension are not pages:
    only the data routes (``/_next/data/….json``) may take them — an optional
    catch-all page (``/[[...slug]]``) would otherwise swallow every file.
    """
    data = [(re.compile(rx), route) for rx, route in pairs if route.startswith("/_next/data/")]
    pages = [(re.compile(rx), route) for rx, route in pairs if not route.startswith("/_next/data/")]
    out: list[str | None] = []
    for p in paths.to_list():
        hit = None
        candidates = (
            data if p.startswith("/_next/data/") else [] if _STATIC_ASSET.search(p) else pages
        )
        for rx, route in candidates:
            if rx.match(p):
                hit = route
                break
        out.append(hit)
    return pl.Series(out, dtype=pl.String)


def template_routes(
    df: FrameLike,
    manifest: str | Path | Mapping[str, Any] | None = None,
    *,
    column: str = "path",
    names: ParamNames = "id",
    max_children: int = 50,
) -> pl.DataFrame:
    """Add a ``route`` column: each request's path as its route template.

    Parameters
    ----------
    df : frame-like
        Requests with a ``path`` column (the REQUESTS frame of any reader).
    manifest : str, PathLike or mapping, optional
        A Next.js ``routes-manifest.json`` (file or loaded dict); its routes win where
        they match (see the module docstring).
    column : str
        The path column.
    names : {"id", "kind"}
        Parameters named ``{id}`` (default), or by their kind (``{uuid}``, ``{slug}``…).
    max_children : int
        More distinct literal segments than this at one position under one parent
        make that position a parameter; ``0`` turns the rule off.

    Returns
    -------
    polars.DataFrame
        ``df`` with ``route`` (str) after ``path`` — replaced if present.

    Raises
    ------
    SchemaError
        No ``column`` in the frame.
    InputError
        ``manifest`` is not a routes manifest.

    Examples
    --------
    >>> df = pl.DataFrame({"path": ["/users/123", "/users/456/posts", "/", None]})
    >>> template_routes(df).get_column("route").to_list()
    ['/users/{id}', '/users/{id}/posts', '/', None]
    """
    if max_children < 0:
        raise ParameterError(f"max_children must be ≥ 0, not {max_children}")
    if names not in ("id", "kind"):
        raise ParameterError(f'names must be "id" or "kind", not {names!r}')
    frame = as_frame(df)
    if column not in frame.columns:
        from perflab.errors import SchemaError

        raise SchemaError(
            f"template_routes needs a {column!r} column; the frame has {frame.columns}"
        )
    column_values = frame.get_column(column).cast(pl.String)
    codes, first = factorize(frame.select(column_values), [pl.col(column)])
    distinct = column_values.gather(first)
    known = distinct.is_not_null()
    paths = distinct.filter(known)
    routes = pl.Series("route", [None] * paths.len(), dtype=pl.String)
    if manifest is not None and paths.len():
        routes = _by_manifest(paths, load_routes_manifest(manifest))
    left = routes.is_null()
    if bool(left.any()):
        templated = _classify(paths.filter(left), names)
        if max_children:  # few distinct templates: collapse those, then map back
            t_codes, t_first = factorize(templated.to_frame("t"), [pl.col("t")])
            templated = _collapse(templated.gather(t_first), max_children, names).gather(t_codes)
        routes = routes.scatter(left.arg_true(), templated)
    per_code = pl.Series("route", [None] * distinct.len(), dtype=pl.String)
    if paths.len():
        per_code = per_code.scatter(known.arg_true(), routes)
    out = frame.drop("route", strict=False)
    route = per_code.gather(codes) if len(codes) else pl.Series("route", [], pl.String)
    position = out.columns.index(column) + 1
    return out.with_columns(route).select(*out.columns[:position], "route", *out.columns[position:])

"""Next.js build output (``.next/``, where present) into the canonical bundle frames.

What is read:

* ``.next/build-manifest.json`` — pages router: ``pages`` (route → chunk files),
  ``rootMainFiles`` (the app router's start files) and ``polyfillFiles``;
* ``.next/app-build-manifest.json`` — app router (Next 13.4–15): ``pages`` (app path
  such as ``/chart/page`` or ``/layout`` → files), where present; route names come
  from ``.next/app-path-routes-manifest.json`` when there, else from the app path
  (``/chart/page`` → ``/chart``, route groups ``(x)`` and slots ``@x`` left out);
* ``.next/static/**`` JS and CSS files: their sizes, gzip (level 9) and brotli
  (quality 11) measured by :mod:`perflab.bundles.sizes` (``x.js.gz`` is read when
  ``x.js`` is absent);
* the route table ``next build`` prints (:func:`read_build_output`).

How routes become entries: a pages-router route loads its own files and ``/_app``'s;
an app-router route loads its ``page`` files and those of every ``layout`` (and
``template``, ``loading``, ``error``, ``not-found``) above it. These are the route's
initial chunks — the same set Next.js sums as "First Load JS". A chunk is one emitted
file, keyed by its path relative to ``.next`` (``static/chunks/main-….js``).
``polyfillFiles`` are chunks of no entry (loaded with ``nomodule``, by old browsers
only); static files no manifest names (``import()`` chunks, ``_buildManifest.js``)
are chunks of no entry too.

What is not read: modules, packages and import reasons — the manifests do not list
them, so MODULES and REASONS are empty. For those, build with webpack stats:
``@next/bundle-analyzer`` is webpack-bundle-analyzer, whose HTML/JSON report is not
read here, but its ``generateStatsFile: true`` option (with ``ANALYZE=true``) writes
webpack's client stats JSON, which :func:`~perflab.bundles.read_webpack_stats` reads
(not exercised by the sample). Turbopack builds, server bundles and
``react-loadable-manifest.json`` are not read.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from perflab.bundles._json import parse
from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS
from perflab.bundles.sizes import asset_sizes, chunk_sizes
from perflab.errors import InputError, warn_input
from perflab.frames import Schema
from perflab.sources import Source

__all__ = ["NEXT_ROUTES", "build_frames", "chunk_name", "read_build_output", "route_of"]

NEXT_ROUTES = Schema(
    "next_routes",
    {
        "router": pl.String,
        "route": pl.String,
        "kind": pl.String,
        "marker": pl.String,
        "render": pl.String,
        "size_bytes": pl.Int64,
        "first_load_bytes": pl.Int64,
        "line": pl.Int64,
    },
)
"""The route table ``next build`` prints, one row per line of it.

``router`` ``"app"`` | ``"pages"``; ``route`` the route (for ``kind="shared"`` null,
for ``"shared_chunk"`` the file as printed, e.g. ``chunks/main-….js``, or ``"other
shared chunks (total)"``); ``kind`` ``"route"`` | ``"path"`` (a prerendered path
listed under its route) | ``"shared"`` (the "+ First Load JS shared by all" line) |
``"shared_chunk"``; ``marker`` the symbol printed (○ ● ƒ λ ℇ ◐); ``render`` what the
legend says it means (``static``, ``ssg``, ``dynamic``, ``edge``, ``partial
prerender``); ``size_bytes`` / ``first_load_bytes`` the Size and First Load JS
columns in bytes (Next prints kB = 1000 B, rounded to 3 significant digits);
``line`` the line number in the file."""

_MARKERS = {
    "○": "static",
    "●": "ssg",
    "ƒ": "dynamic",
    "λ": "dynamic",
    "ℇ": "edge",
    "◐": "partial prerender",
}
_UNITS = {"B": 1, "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s(B|kB|KB|MB|GB)(?=\s|$)")
_HEADER = re.compile(r"^Route \((app|pages)\)")
_TREE = "┌├└─│ "
_HASHED = re.compile(r"-[0-9a-f]{8,}(?=\.(?:m?js|css)$)")
_LAYOUTS = ("layout", "template", "loading", "error", "not-found", "global-error")


def chunk_name(file: str) -> str:
    """A readable name for an emitted file: no ``static/chunks/`` or ``static/css/``
    folder, no content hash, no suffix.

    Examples
    --------
    >>> chunk_name("static/chunks/app/chart/page-b542daf2769315e3.js")
    'app/chart/page'
    >>> chunk_name("static/chunks/framework-c726bb0f54a6cca6.js")
    'framework'
    """
    name = re.sub(r"^static/(?:chunks|css)/", "", file)
    name = _HASHED.sub("", name)
    return re.sub(r"\.(?:m?js|css)$", "", name)


def route_of(app_path: str) -> str:
    """The URL route of an app-router path (``/chart/page`` → ``/chart``).

    Examples
    --------
    >>> route_of("/page"), route_of("/(shop)/cart/page"), route_of("/@modal/x/page")
    ('/', '/cart', '/x')
    """
    parts = [p for p in app_path.split("/") if p]
    if parts and parts[-1] in ("page", "route"):
        parts = parts[:-1]
    parts = [p for p in parts if not (p.startswith("(") and p.endswith(")"))]
    parts = [p for p in parts if not p.startswith("@")]
    return "/" + "/".join(parts)


def _manifest(path: Path) -> dict[str, Any] | None:
    """A manifest's JSON object; None when the file is absent or empty."""
    if not path.is_file():
        return None
    src = Source(path)
    doc = parse(src)
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise InputError(
            src.name, None, f"not a Next.js manifest: a {type(doc).__name__}, not an object"
        )
    return doc


def _files(doc: Mapping[str, Any], key: str, source: str) -> dict[str, list[str]]:
    """``doc[key]`` as {name: [file, …]}, checked, with the JSON key path in errors."""
    got = doc.get(key)
    if got is None:
        return {}
    if not isinstance(got, dict):
        raise InputError(
            source, None, f'"{key}" should map names to file lists, not a {type(got).__name__}'
        )
    out: dict[str, list[str]] = {}
    for name, files in got.items():
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise InputError(source, None, f'"{key}" → "{name}" should be a list of file names')
        out[str(name)] = files
    return out


def _list(doc: Mapping[str, Any], key: str, source: str) -> list[str]:
    got = doc.get(key)
    if got is None:
        return []
    if not isinstance(got, list) or not all(isinstance(f, str) for f in got):
        raise InputError(source, None, f'"{key}" should be a list of file names')
    return got


def _app_routes(
    pages: dict[str, list[str]], route_names: Mapping[str, str]
) -> dict[str, list[str]]:
    """Route → files for the app router: page files plus those of the layouts above."""
    around: list[tuple[str, list[str]]] = []  # (segment folder, files) of layouts etc.
    routes: dict[str, tuple[str, list[str]]] = {}
    for app_path, files in pages.items():
        parts = app_path.rstrip("/").split("/")
        leaf, folder = parts[-1], "/".join(parts[:-1])
        if leaf in ("page", "route"):
            routes[app_path] = (folder, files)
        elif leaf in _LAYOUTS:
            around.append((folder, files))
        else:  # an unknown kind of entry: a route of its own
            routes[app_path] = (app_path, files)
    out: dict[str, list[str]] = {}
    for app_path, (folder, files) in routes.items():
        seen = dict.fromkeys(files)
        for seg, more in around:
            if folder == seg or folder.startswith(seg + "/"):
                seen.update(dict.fromkeys(more))
        out[str(route_names.get(app_path) or route_of(app_path))] = list(seen)
    return out


def build_frames(
    dot_next: Path, output_sizes: bool
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None:
    """``(assets, chunks, entrypoints)`` of a ``.next`` folder; None when both
    manifests are empty."""
    build_path = dot_next / "build-manifest.json"
    app_path = dot_next / "app-build-manifest.json"
    if not build_path.is_file() and not app_path.is_file():
        raise InputError(
            str(dot_next),
            None,
            "not a Next.js build folder: no build-manifest.json or app-build-manifest.json "
            "(run `next build`; the folder is the project's .next)",
        )
    build = _manifest(build_path)
    app = _manifest(app_path)
    if build is None and app is None:
        return None
    routes: dict[str, list[str]] = {}
    start: list[str] = []  # files every route of a router loads at start
    polyfills: list[str] = []
    if build is not None:
        src = str(build_path)
        pages = _files(build, "pages", src)
        app_files = pages.get("/_app", [])
        start += app_files
        start += _list(build, "rootMainFiles", src)
        polyfills = _list(build, "polyfillFiles", src)
        for route, files in pages.items():
            if route in ("/_app", "/_document"):
                continue
            routes[route] = list(dict.fromkeys([*files, *app_files]))
    if app is not None:
        names_path = dot_next / "app-path-routes-manifest.json"
        names = _manifest(names_path) or {}
        app_routes = _app_routes(_files(app, "pages", str(app_path)), names)
        for route, files in app_routes.items():
            routes.setdefault(route, files)  # Next refuses a route in both routers

    listed = dict.fromkeys([*(f for fs in routes.values() for f in fs), *start, *polyfills])
    static = dot_next / "static"
    on_disk = []
    if static.is_dir():
        for f in sorted(static.rglob("*")):
            name = f.name[:-3] if f.name.endswith(".gz") else f.name
            if f.is_file() and re.search(r"\.(?:m?js|css)$", name):
                on_disk.append(str(f.with_name(name).relative_to(dot_next)))
    files = list(dict.fromkeys([*listed, *on_disk]))

    raw = [_raw_size(dot_next / f) for f in files]
    assets = asset_sizes(files, raw, dot_next if output_sizes else None)
    assets = ASSETS.validate(
        assets.with_columns(
            pl.Series("chunks", [[f] for f in files], dtype=pl.List(pl.String)),
            pl.when(pl.col("size_bytes").is_null())
            .then(pl.lit("stats"))
            .otherwise(pl.col("sizes"))
            .alias("sizes"),
        )
    )
    initial = {f for fs in routes.values() for f in fs}
    start_set = set(start)
    chunk_rows = [
        {
            "chunk": f,
            "chunk_id": chunk_name(f),
            "names": [chunk_name(f)],
            "files": [f],
            "entry": f in start_set,
            "initial": f in initial,
            "size_bytes": size,
            "modules": 0,
        }
        for f, size in zip(files, raw, strict=True)
    ]
    chunks = CHUNKS.build(chunk_rows)
    chunks = CHUNKS.validate(chunk_sizes(chunks, assets).select(CHUNKS.names))
    entrypoints = ENTRYPOINTS.build(
        {"entry": route, "chunk": f, "initial": True}
        for route, fs in sorted(routes.items())
        for f in fs
    )
    return assets, chunks, entrypoints


def _raw_size(path: Path) -> int | None:
    if path.is_file():
        return path.stat().st_size
    gz = path.with_name(path.name + ".gz")
    if gz.is_file():
        try:
            return len(gzip.decompress(gz.read_bytes()))
        except (OSError, EOFError) as exc:
            raise InputError(str(gz), None, f"not a readable gzip file ({exc})") from None
    return None


def _bytes(number: str, unit: str) -> int:
    return round(float(number) * _UNITS[unit])


def read_build_output(src: Source) -> pl.DataFrame:
    """The route tables of ``next build``'s output as a NEXT_ROUTES frame."""
    rows: list[dict[str, Any]] = []
    router: str | None = None
    route: str | None = None
    text = src.text()
    seen_table = False
    for no, raw in enumerate(text.splitlines(), 1):
        line = _ANSI.sub("", raw).rstrip()
        head = _HEADER.match(line)
        if head:
            router = head.group(1)
            seen_table = True
            continue
        if not line.strip():  # a blank line ends a table
            router = None
            continue
        if router is None:  # the build log around the tables, the legend
            continue
        stripped = line.lstrip(_TREE)
        sizes = _SIZE.findall(line)
        if line.startswith("+ First Load JS shared by all"):
            rows.append(_row(router, None, "shared", None, sizes[-1:], no, src, line))
            route = None
            continue
        if (
            line.startswith("  ")
            and route is None
            and rows
            and rows[-1]["kind"]
            in (
                "shared",
                "shared_chunk",
            )
        ):  # a shared chunk under the "+ First Load JS shared by all" line
            name = _SIZE.sub("", stripped).strip()
            rows.append(_row(router, name, "shared_chunk", None, sizes[-1:], no, src, line))
            continue
        if line[0] not in "┌├└─│":
            raise InputError(src.name, no, f"not a line of the route table: {line!r}")
        marker = stripped[:1] if stripped[:1] in _MARKERS else None
        rest = stripped[1:].strip() if marker else stripped.strip()
        name = rest.split()[0] if rest.split() else ""
        if marker is None:  # a prerendered path under its route, or "[+3 more paths]"
            if name.startswith("/"):
                rows.append(_row(router, name, "path", None, sizes[-2:], no, src, line))
            continue
        if not name.startswith("/") or len(sizes) < 2:
            raise InputError(
                src.name, no, f"a route line without a route, Size and First Load JS: {line!r}"
            )
        route = name
        rows.append(_row(router, name, "route", marker, sizes[-2:], no, src, line))
    if rows:
        return NEXT_ROUTES.build(rows)
    if text.strip() and not seen_table:
        warn_input(
            src.name,
            "no 'Route (app)' or 'Route (pages)' table in this text: is it the stdout of "
            "`next build` (Turbopack or a failed build prints none)?",
        )
    return NEXT_ROUTES.empty()


def _row(
    router: str,
    route: str | None,
    kind: str,
    marker: str | None,
    sizes: list[tuple[str, str]],
    no: int,
    src: Source,
    line: str,
) -> dict[str, Any]:
    if kind in ("shared", "shared_chunk") and not sizes:
        raise InputError(src.name, no, f"no size on the shared chunks line: {line!r}")
    size = first = None
    if kind in ("shared", "shared_chunk"):
        size = _bytes(*sizes[-1])
    elif len(sizes) == 2:
        size, first = _bytes(*sizes[0]), _bytes(*sizes[1])
    return {
        "router": router,
        "route": route,
        "kind": kind,
        "marker": marker,
        "render": _MARKERS.get(marker or ""),
        "size_bytes": size,
        "first_load_bytes": first if kind != "shared" else size,
        "line": no,
    }

"""Readers: a bundler's report in, a :class:`~perflab.bundles.Bundle` out.

=========================  =============================================================
reader                     reads
=========================  =============================================================
read_webpack_stats         webpack 4/5 ``stats.json`` (``webpack --json``)
read_esbuild_metafile      esbuild ``--metafile`` JSON
read_rollup_visualizer     rollup-plugin-visualizer ``template: "raw-data"`` (version 2)
read_source_map            a source map v3 (plain or index map with ``sections``)
read_next_build            a Next.js ``.next`` folder (build manifests, static chunks)
read_next_build_output     the route table ``next build`` prints
=========================  =============================================================

Every reader takes plain or gzipped files, gives an empty bundle for an empty file and
raises :class:`~perflab.errors.InputError` naming the file and the line (or the field)
for a truncated, malformed or incomplete one.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from perflab.bundles._json import parse
from perflab.bundles.model import Bundle
from perflab.sources import PathLike, Source

__all__ = [
    "read_esbuild_metafile",
    "read_next_build",
    "read_next_build_output",
    "read_rollup_visualizer",
    "read_source_map",
    "read_webpack_stats",
]


def _dir(output_dir: PathLike | None, source: str) -> str | None:
    if output_dir is None:
        return None
    if not Path(output_dir).is_dir():
        from perflab.errors import InputError

        raise InputError(str(output_dir), None, f"output_dir of {source} is not a folder")
    return str(output_dir)


def read_webpack_stats(
    path: PathLike, output_dir: PathLike | None = None, *, child: str | int | None = None
) -> Bundle:
    """Read a webpack ``stats.json`` (webpack 4 or 5; plain or gzipped).

    Parameters
    ----------
    path : path
        The stats file: ``webpack --json=stats.json`` (or ``stats.toJson()``).
    output_dir : path, optional
        The build's output folder: each asset's gzip (level 9) and brotli (quality 11)
        sizes are measured from it (``sizes="measured"``); otherwise estimated.
    child : str or int, optional
        For multi-compiler stats (``children[]``): the child's name or index; the
        first child by default.

    Returns
    -------
    Bundle
        ``tool="webpack"``, ``version`` from the stats.

    Raises
    ------
    InputError
        Truncated or malformed JSON (with the line), or a stats file without
        ``assets``, ``chunks`` or ``modules`` (naming the field).

    Examples
    --------
    >>> b = read_webpack_stats("data/sample/bundles/a/stats.json.gz",
    ...                        output_dir="data/sample/bundles/a/output")
    >>> b.tool, b.version, sorted(b.entrypoints["entry"].unique())
    ('webpack', '5.113.0', ['admin', 'main', 'widget'])
    >>> b.chunks().select("chunk", "initial", "sizes").head(2).rows()
    [('id:534', True, 'measured'), ('id:687', True, 'measured')]
    """
    from perflab.bundles._webpack import frames, pick_compilation

    src = Source(path)
    stats = parse(src)
    if stats is None:
        return Bundle.empty("webpack", src.name)
    comp = pick_compilation(stats, src.name, child)
    out = _dir(output_dir, src.name)
    assets, chunks, eps, modules, reasons = frames(comp, src.name, out)
    version = comp.get("version") or stats.get("version")
    return Bundle(
        tool="webpack",
        version=str(version) if version else None,
        source=src.name,
        assets=assets,
        chunk_frame=chunks,
        entrypoints=eps,
        module_frame=modules,
        reasons=reasons,
        output_dir=out,
    )


def read_esbuild_metafile(path: PathLike, output_dir: PathLike | None = None) -> Bundle:
    """Read an esbuild metafile (``--metafile=meta.json``; plain or gzipped).

    Modules are ``inputs`` as they land in each output (``bytesInOutput``: bytes after
    tree shaking and minification); ``cjs_bailout`` is an input of ``format: "cjs"``
    (esbuild cannot tree-shake CommonJS); esbuild writes no bailout strings. Chunks are
    the JS/CSS outputs; an output with an ``entryPoint`` is an entry chunk named after
    the entry's file stem; initial-ness follows ``import-statement`` imports from it,
    ``dynamic-import`` ones make a chunk async for that entry.

    Parameters
    ----------
    path : path
        The metafile.
    output_dir : path, optional
        esbuild's ``--outdir``: gzip and brotli sizes measured from the files.

    Examples
    --------
    >>> b = read_esbuild_metafile("data/sample/bundles/a/meta.json.gz")
    >>> b.tool, b.chunks().filter(pl.col("entry")).get_column("chunk").sort().to_list()
    ('esbuild', ['admin', 'main', 'widget'])
    """
    from perflab.bundles._esbuild import frames

    src = Source(path)
    meta = parse(src)
    if meta is None:
        return Bundle.empty("esbuild", src.name)
    out = _dir(output_dir, src.name)
    assets, chunks, eps, modules, reasons = frames(meta, src.name, out)
    return Bundle(
        tool="esbuild",
        version=None,
        source=src.name,
        assets=assets,
        chunk_frame=chunks,
        entrypoints=eps,
        module_frame=modules,
        reasons=reasons,
        output_dir=out,
    )


def read_rollup_visualizer(path: PathLike) -> Bundle:
    """Read rollup-plugin-visualizer's raw data (``template: "raw-data"``, version 2).

    Chunk sizes are the rendered lengths the plugin recorded (before minification by a
    later plugin); gzip/brotli are the plugin's per-module figures summed when it was
    run with ``gzipSize``/``brotliSize``, else estimated.

    Examples
    --------
    >>> b = read_rollup_visualizer("data/sample/bundles/a/rollup-stats.json.gz")
    >>> b.tool, b.version is not None
    ('rollup', True)
    """
    from perflab.bundles._rollup import frames

    src = Source(path)
    data = parse(src)
    if data is None:
        return Bundle.empty("rollup", src.name)
    version, assets, chunks, eps, modules, reasons = frames(data, src.name)
    return Bundle(
        tool="rollup",
        version=version,
        source=src.name,
        assets=assets,
        chunk_frame=chunks,
        entrypoints=eps,
        module_frame=modules,
        reasons=reasons,
    )


def read_source_map(path: PathLike, generated: PathLike | None = None) -> pl.DataFrame:
    """Generated bytes per original source, from a source map v3's mappings.

    Each mapping segment covers the generated code from its column to the next
    segment's column on the same line, or to the line's end; bytes no segment covers
    (line breaks, code before a line's first segment, segments without a source) are
    ``[unmapped]``. Line ends come from the generated file: ``generated``, else the
    map's ``file`` beside it, else the map's name without ``.map`` (``.gz`` accepted).
    Without it, a line's last segment counts nothing and there is no ``[unmapped]`` row
    (a warning says so). Columns are UTF-16 units (the spec's); lines with non-ASCII
    text are converted to UTF-8 bytes. Index maps (``sections``) are flattened with
    their offsets. Source names lose ``webpack://<project>/`` and a leading ``./``.

    Returns
    -------
    polars.DataFrame
        SOURCE_MAP_SIZES: ``source, bytes, share``, biggest first.

    Raises
    ------
    InputError
        Malformed JSON, not version 3, or invalid ``mappings`` (naming the generated
        line and segment).

    Examples
    --------
    >>> import glob
    >>> m = read_source_map(glob.glob("data/sample/bundles/a/output/main.*.js.map")[0])
    >>> m.columns, round(m["share"].sum(), 6)
    (['source', 'bytes', 'share'], 1.0)
    """
    from perflab.bundles._sourcemap import source_map_sizes

    return source_map_sizes(path, generated)


def read_next_build(dot_next_dir: PathLike, *, output_sizes: bool = True) -> Bundle:
    """Read a Next.js build folder (``.next``): routes, their chunks and sizes.

    Reads ``build-manifest.json`` (pages router, ``rootMainFiles``,
    ``polyfillFiles``) and, where present, ``app-build-manifest.json`` (app router),
    and the JS/CSS files under ``static/``. Each route is an entry; its initial chunks
    are the files it loads at start (page + ``/_app``, or page + the layouts above
    it: what Next sums as "First Load JS"). A chunk is one emitted file, keyed by its
    path relative to ``.next``. Modules and reasons are not in these manifests: the
    MODULES and REASONS frames are empty (see :mod:`perflab.bundles._next`).

    Parameters
    ----------
    dot_next_dir : path
        The ``.next`` folder (or the project folder holding it).
    output_sizes : bool, default True
        Measure gzip (level 9) and brotli (quality 11) of every file found
        (``sizes="measured"``; ``x.js.gz`` is read when ``x.js`` is absent); False:
        raw sizes from the files, compressed sizes estimated.

    Returns
    -------
    Bundle
        ``tool="next"``, ``version`` None (the manifests do not say it; the route
        table's first lines do, see :func:`read_next_build_output`).

    Raises
    ------
    InputError
        Not a folder, no manifest in it, or a truncated / malformed manifest (naming
        the file and the line, or the field).

    Examples
    --------
    >>> b = read_next_build("data/sample/bundles/next/.next")
    >>> sorted(b.entrypoints["entry"].unique())
    ['/', '/_error', '/_not-found', '/chart', '/legacy', '/time']
    >>> b.chunks().select("chunk", "initial").row(0)
    ('static/chunks/framework-c726bb0f54a6cca6.js', True)
    """
    from perflab.bundles._next import build_frames
    from perflab.errors import InputError

    dot_next = Path(dot_next_dir)
    if (dot_next / ".next").is_dir():
        dot_next = dot_next / ".next"
    if not dot_next.is_dir():
        raise InputError(str(dot_next_dir), None, "not a folder: give the Next.js .next folder")
    got = build_frames(dot_next, output_sizes)
    if got is None:
        return Bundle.empty("next", str(dot_next))
    assets, chunks, eps = got
    empty = Bundle.empty("next", str(dot_next))
    return Bundle(
        tool="next",
        version=None,
        source=str(dot_next),
        assets=assets,
        chunk_frame=chunks,
        entrypoints=eps,
        module_frame=empty.module_frame,
        reasons=empty.reasons,
        output_dir=str(dot_next) if output_sizes else None,
    )


def read_next_build_output(path: PathLike) -> pl.DataFrame:
    """The route tables ``next build`` prints (Route (app) / Route (pages)) as a frame.

    Parameters
    ----------
    path : path
        The captured stdout of ``next build`` (plain or gzipped; ANSI colours are
        ignored). Lines outside the tables (the build log, the legend) are skipped;
        a non-blank text with no route table at all warns (``InputWarning``) and reads
        as an empty frame.

    Returns
    -------
    polars.DataFrame
        ``router, route, kind, marker, render, size_bytes, first_load_bytes, line``
        (:data:`perflab.bundles._next.NEXT_ROUTES`): one row per route (``kind
        "route"``), prerendered path (``"path"``), "+ First Load JS shared by all"
        (``"shared"``) and shared chunk (``"shared_chunk"``). Sizes are bytes from
        Next's kB (1000 B), so accurate to its 3 significant digits.

    Raises
    ------
    InputError
        A line inside a table that is not a route, path or shared-chunk line (with its
        line number).

    Examples
    --------
    >>> t = read_next_build_output("data/sample/bundles/next/build-output.txt")
    >>> t.filter(kind="route").select("route", "render", "first_load_bytes").row(2)
    ('/chart', 'static', 128000)
    """
    from perflab.bundles._next import read_build_output

    return read_build_output(Source(path))

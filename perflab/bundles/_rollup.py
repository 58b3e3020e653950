"""rollup-plugin-visualizer raw data (``template: "raw-data"``, version 2).

The file holds ``tree`` (root → one child per emitted chunk file → folders → leaves
with a ``uid``), ``nodeParts`` (uid → ``renderedLength``, ``gzipLength``,
``brotliLength``, ``metaUid``) and ``nodeMetas`` (metaUid → module ``id``,
``moduleParts`` {file: part uid}, ``imported``/``importedBy`` with ``dynamic``, and
``isEntry``). Module sizes are ``renderedLength`` (the code rollup rendered for the
module in that chunk, before any minifier plugin). Chunk sizes are the sum of their
modules' rendered lengths and compressed sizes are estimated from it (the plugin's
per-module gzip lengths compress each module alone, which overstates a whole file's).
A chunk's key is its file name without rollup's ``-[hash]`` (``main-BHCLEh2B.js`` →
``main``).
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import polars as pl

from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.bundles.sizes import asset_sizes, chunk_sizes
from perflab.errors import InputError

__all__ = ["frames"]

_HASH = re.compile(r"-[A-Za-z0-9_-]{8}(?=\.[A-Za-z0-9]+$)")


def _key(file: str) -> str:
    return re.sub(r"\.[A-Za-z0-9]+$", "", _HASH.sub("", file.rsplit("/", 1)[-1]))


def _path(module_id: str) -> str:
    p = module_id.lstrip("\x00")
    p = re.sub(r"\?.*$", "", p)
    return re.sub(r"^/+", "", p)


_Frames = tuple[str | None, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]


def frames(data: Any, source: str) -> _Frames:
    """``(version, assets, chunks, entrypoints, modules, reasons)``."""
    if not isinstance(data, dict) or not {"tree", "nodeParts", "nodeMetas"} <= set(data):
        have = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise InputError(
            source,
            None,
            "not rollup-plugin-visualizer raw data (template 'raw-data'): expected "
            f"'tree', 'nodeParts' and 'nodeMetas', found {have}",
        )
    if data.get("version") != 2:
        raise InputError(
            source,
            None,
            f"raw data version {data.get('version')!r}: perflab "
            "reads version 2 (rollup-plugin-visualizer 5 and later)",
        )
    parts: dict[str, Any] = data["nodeParts"]
    metas: dict[str, Any] = data["nodeMetas"]
    files = [c["name"] for c in data["tree"].get("children") or ()]
    keys = {f: _key(f) for f in files}

    mod_rows: list[dict[str, Any]] = []
    chunks_of: dict[str, set[str]] = {}
    for uid, meta in metas.items():
        for file, part_uid in (meta.get("moduleParts") or {}).items():
            part = parts.get(part_uid) or {}
            k = keys.get(file, _key(file))
            chunks_of.setdefault(uid, set()).add(k)
            mod_rows.append(
                {
                    "module": meta["id"].lstrip("\x00"),
                    "chunk": k,
                    "size_bytes": part.get("renderedLength"),
                    "cjs_bailout": False,
                    "bailouts": [],
                    "issuer": None,
                }
            )
    reason_rows = []
    entries = [uid for uid, m in metas.items() if m.get("isEntry")]
    for meta in metas.values():
        for imp in meta.get("imported") or ():
            target = metas.get(imp.get("uid"))
            if target is None:
                continue
            reason_rows.append(
                {
                    "module": target["id"].lstrip("\x00"),
                    "from_module": meta["id"].lstrip("\x00"),
                    "type": "dynamic-import" if imp.get("dynamic") else "import",
                    "user_request": target["id"].lstrip("\x00"),
                }
            )
    for uid in entries:
        name = metas[uid]["id"].lstrip("\x00")
        reason_rows.append(
            {"module": name, "from_module": None, "type": "entry", "user_request": name}
        )

    ep_rows: list[dict[str, Any]] = []
    initial_any: set[str] = set()
    entry_chunks: set[str] = set()
    for uid in entries:
        static = _closure([uid], metas, dynamic=False)
        lazy_roots = [
            i["uid"] for u in static for i in metas[u].get("imported") or () if i.get("dynamic")
        ]
        lazy = _closure(lazy_roots, metas, dynamic=True) - static
        first = sorted(chunks_of.get(uid, {"?"}))[0]
        entry_chunks.add(first)
        init = {k for u in static for k in chunks_of.get(u, ())}
        later = {k for u in lazy for k in chunks_of.get(u, ())} - init
        ep_rows += [{"entry": first, "chunk": k, "initial": True} for k in sorted(init)]
        ep_rows += [{"entry": first, "chunk": k, "initial": False} for k in sorted(later)]
        initial_any |= init

    modules = MODULES.build(mod_rows)
    path = (
        modules["module"].map_elements(_path, return_dtype=pl.String)
        if modules.height
        else modules["path"]
    )
    modules = MODULES.validate(
        modules.with_columns(
            path.alias("path"),
            path.str.extract(r".*node_modules/((?:@[^/]+/)?[^/]+)", 1).alias("package"),
        )
    )
    size = dict(modules.group_by("chunk").agg(pl.col("size_bytes").sum()).iter_rows())
    count = dict(modules.group_by("chunk").len().iter_rows())
    sized = asset_sizes(files, [size.get(keys[f]) for f in files], None)
    assets = ASSETS.validate(
        sized.with_columns(pl.Series("chunks", [[keys[f]] for f in files], pl.List(pl.String)))
    )
    chunk_rows = [
        {
            "chunk": keys[f],
            "chunk_id": f,
            "names": [keys[f]],
            "files": [f],
            "entry": keys[f] in entry_chunks,
            "initial": keys[f] in initial_any,
            "size_bytes": size.get(keys[f]),
            "modules": count.get(keys[f], 0),
        }
        for f in files
    ]
    chunks = CHUNKS.validate(chunk_sizes(CHUNKS.build(chunk_rows), assets).select(CHUNKS.names))
    version = (data.get("env") or {}).get("rollup")
    return (
        str(version) if version else None,
        assets,
        chunks,
        ENTRYPOINTS.build(ep_rows),
        modules,
        REASONS.build(reason_rows).unique(maintain_order=True),
    )


def _closure(start: list[str], metas: dict[str, Any], *, dynamic: bool) -> set[str]:
    """Modules reachable from ``start`` by static imports (and dynamic ones if asked)."""
    seen: set[str] = set()
    todo = deque(start)
    while todo:
        u = todo.popleft()
        if u in seen or u not in metas:
            continue
        seen.add(u)
        for i in metas[u].get("imported") or ():
            if dynamic or not i.get("dynamic"):
                todo.append(i.get("uid"))
    return seen

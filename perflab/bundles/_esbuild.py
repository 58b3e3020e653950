"""esbuild metafile (``--metafile``) into the canonical bundle frames.

``outputs`` are the emitted files; those ending in ``.js``/``.mjs``/``.cjs``/``.css``
are chunks. An output with an ``entryPoint`` that no other output reaches by
``dynamic-import`` is a user entry (esbuild also gives ``import()`` targets an
``entryPoint``): its chunk key is the entry file's stem (``src/main.js`` → ``main``),
as is a dynamic route's; shared chunks are ``id:<file stem>``. Each output's
``inputs`` give the modules in it with ``bytesInOutput``. ``inputs[].imports`` become
REASONS (``kind`` as the type, ``original`` as the request).
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import PurePosixPath
from typing import Any

import polars as pl

from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.bundles.sizes import asset_sizes, chunk_sizes
from perflab.errors import InputError

__all__ = ["frames"]

_CODE = (".js", ".mjs", ".cjs", ".css")


def frames(
    meta: Any, source: str, output_dir: str | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(assets, chunks, entrypoints, modules, reasons)`` of one metafile."""
    if not isinstance(meta, dict) or "outputs" not in meta or "inputs" not in meta:
        have = sorted(meta) if isinstance(meta, dict) else type(meta).__name__
        raise InputError(
            source, None, f"not an esbuild metafile: expected 'inputs' and 'outputs', found {have}"
        )
    outputs: dict[str, Any] = meta["outputs"] or {}
    inputs: dict[str, Any] = meta["inputs"] or {}
    paths = list(outputs)
    base = os.path.commonpath([str(PurePosixPath(p).parent) for p in paths]) if paths else ""

    def rel(p: str) -> str:
        return str(PurePosixPath(p).relative_to(base)) if base else p

    dynamic_targets = {
        i["path"]
        for o in outputs.values()
        for i in o.get("imports") or ()
        if i.get("kind") == "dynamic-import"
    }
    code = [p for p in paths if p.endswith(_CODE)]

    def key(p: str) -> str:
        ep = outputs[p].get("entryPoint")
        if ep:
            return PurePosixPath(ep).stem
        return "id:" + PurePosixPath(p).stem

    keys = {p: key(p) for p in code}

    # ---- assets and chunks -----------------------------------------------------------
    sized = asset_sizes(
        [rel(p) for p in paths], [outputs[p].get("bytes") for p in paths], output_dir
    )
    owner = [[keys[p]] if p in keys else ([keys[p[:-4]]] if p[:-4] in keys else []) for p in paths]
    assets = ASSETS.validate(sized.with_columns(pl.Series("chunks", owner, pl.List(pl.String))))

    # ---- entry points -------------------------------------------------------------
    entries = [p for p in code if outputs[p].get("entryPoint") and p not in dynamic_targets]
    ep_rows: list[dict[str, Any]] = []
    initial_any: set[str] = set()
    for e in entries:
        static: set[str] = {e}
        todo = deque([e])
        lazy: list[str] = []
        while todo:
            p = todo.popleft()
            for imp in outputs.get(p, {}).get("imports") or ():
                q = imp.get("path")
                if q not in outputs:
                    continue
                if imp.get("kind") == "dynamic-import":
                    lazy.append(q)
                elif q not in static:
                    static.add(q)
                    todo.append(q)
        reach: set[str] = set()
        todo = deque(q for q in lazy if q not in static)
        while todo:
            p = todo.popleft()
            if p in reach or p in static:
                continue
            reach.add(p)
            todo.extend(
                i.get("path") for i in outputs[p].get("imports") or () if i.get("path") in outputs
            )
        name = keys[e]
        ep_rows += [{"entry": name, "chunk": keys[p], "initial": True} for p in code if p in static]
        ep_rows += [{"entry": name, "chunk": keys[p], "initial": False} for p in code if p in reach]
        initial_any |= static

    # ---- modules -------------------------------------------------------------------
    mod_rows: list[dict[str, Any]] = []
    for p in code:
        for name, info in (outputs[p].get("inputs") or {}).items():
            fmt = (inputs.get(name) or {}).get("format")
            mod_rows.append(
                {
                    "module": name,
                    "chunk": keys[p],
                    "size_bytes": info.get("bytesInOutput"),
                    "cjs_bailout": fmt == "cjs",
                    "bailouts": [],
                }
            )
    reason_rows: list[dict[str, Any]] = []
    for name, info in inputs.items():
        for imp in info.get("imports") or ():
            if imp.get("external"):
                continue
            reason_rows.append(
                {
                    "module": imp.get("path"),
                    "from_module": name,
                    "type": imp.get("kind"),
                    "user_request": imp.get("original") or imp.get("path"),
                }
            )
    for p in code:
        ep = outputs[p].get("entryPoint")
        if ep and p not in dynamic_targets:
            reason_rows.append(
                {"module": ep, "from_module": None, "type": "entry-point", "user_request": ep}
            )
    reasons = REASONS.build(reason_rows).unique(maintain_order=True)
    issuer: dict[str, str] = {}
    for r in reason_rows:
        if r["from_module"] is not None:
            issuer.setdefault(r["module"], r["from_module"])
    depth = _depths(reason_rows)
    for row in mod_rows:
        row["issuer"] = issuer.get(row["module"])
        row["depth"] = depth.get(row["module"])
    modules = MODULES.build(mod_rows)
    path = modules["module"].str.replace(r"^(?:\./)+", "").str.replace(r"^.*?:", "")
    modules = modules.with_columns(
        path.alias("path"),
        path.str.extract(r".*node_modules/((?:@[^/]+/)?[^/]+)", 1).alias("package"),
    )
    modules = MODULES.validate(modules)

    counts = dict(modules.group_by("chunk").len().iter_rows()) if modules.height else {}
    chunk_rows = [
        {
            "chunk": keys[p],
            "chunk_id": rel(p),
            "names": [keys[p]] if outputs[p].get("entryPoint") else [],
            "files": [rel(p)],
            "entry": p in entries,
            "initial": p in initial_any,
            "size_bytes": outputs[p].get("bytes"),
            "modules": counts.get(keys[p], 0),
        }
        for p in code
    ]
    chunks = CHUNKS.validate(chunk_sizes(CHUNKS.build(chunk_rows), assets).select(CHUNKS.names))
    return assets, chunks, ENTRYPOINTS.build(ep_rows), modules, reasons


def _depths(reason_rows: list[dict[str, Any]]) -> dict[str, int]:
    """Shortest import distance of each input from an entry point."""
    edges: dict[str, list[str]] = {}
    starts = []
    for r in reason_rows:
        if r["from_module"] is None:
            starts.append(r["module"])
        else:
            edges.setdefault(r["from_module"], []).append(r["module"])
    depth = dict.fromkeys(starts, 0)
    todo = deque(starts)
    while todo:
        m = todo.popleft()
        for n in edges.get(m, ()):
            if n not in depth:
                depth[n] = depth[m] + 1
                todo.append(n)
    return depth

"""webpack ``stats.json`` (webpack 4 and 5) into the canonical bundle frames.

Shapes handled:

* webpack 5 (``webpack --json``): top-level ``modules[]``, each with ``chunks`` (ids);
  concatenated modules (scope hoisting) as a root ``"./a.js + 3 modules"`` whose
  ``modules[]`` hold the inner modules — these become one row each (their own name and
  size, the root's chunks, ``concatenated_in`` = the root's name); a root without
  ``modules[]`` (``nestedModules: false``) stays one row under its suffixed name. The
  root's own ``reasons`` (its ``entry`` reason, the modules importing it) are kept in
  REASONS under the root's suffixed name, as webpack prints it; webpack lists them on
  the root only, not on the inner module they are about.
* webpack 4, or stats written with ``modules: false, chunkModules: true``: modules
  nested in ``chunks[].modules``.
* multi-compiler stats (``children[]`` with no top-level chunks): the first child, or
  the one named by ``child=``.

The loops here are plain Python over dicts: the JSON parse dominates (orjson), and a
row per (module, chunk) is built as column lists, not dicts.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.bundles.sizes import asset_sizes, chunk_sizes
from perflab.errors import InputError

__all__ = ["frames", "pick_compilation"]

_CJS = re.compile(
    r"^CommonJS bailout|not an ECMAScript module|module\.exports is used|exports is used"
)
_CONCAT_OTHER = "ModuleConcatenation bailout: Cannot concat with"
_WANT = (
    "perflab needs assets, chunks, modules (with reasons and optimizationBailout) and "
    "entrypoints: write it with `webpack --json=stats.json` and no `stats` preset such "
    "as 'errors-only' or 'minimal'"
)


def _key(chunk: Mapping[str, Any]) -> str:
    names = chunk.get("names") or []
    return str(names[0]) if names else f"id:{chunk.get('id')}"


def is_cjs(bailouts: Iterable[str]) -> bool:
    """Whether a module's optimizationBailout strings say it is CommonJS.

    Examples
    --------
    >>> is_cjs(["CommonJS bailout: module.exports is used directly at 8:67-81"])
    True
    >>> is_cjs(["ModuleConcatenation bailout: Cannot concat with ./x.js: Module is not "
    ...         "an ECMAScript module"])
    False
    """
    return any(_CJS.search(b) for b in bailouts if not b.startswith(_CONCAT_OTHER))


def pick_compilation(stats: Any, source: str, child: str | int | None) -> dict[str, Any]:
    """The compilation to read: the stats, or one of its ``children`` (multi-compiler)."""
    if not isinstance(stats, dict):
        raise InputError(
            source,
            None,
            f"not a webpack stats.json: the document is a {type(stats).__name__}, not an object",
        )
    children = stats.get("children") or []
    top_has = any(k in stats for k in ("chunks", "modules", "assets"))
    if child is None and (top_has or not children):
        return stats
    if child is None:
        return dict(children[0])
    for i, c in enumerate(children):
        if child == i or (isinstance(child, str) and c.get("name") == child):
            return dict(c)
    names = [c.get("name", i) for i, c in enumerate(children)]
    raise InputError(source, None, f"no child compilation {child!r} (children: {names})")


def _need(stats: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in stats or stats[key] is None:
        raise InputError(
            source,
            None,
            f"stats.json has no {key!r}: was it written with `{key}: false` in the stats "
            f"options, or a preset that drops it? {_WANT}",
        )
    return stats[key]


def frames(
    stats: dict[str, Any], source: str, output_dir: str | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(assets, chunks, entrypoints, modules, reasons)`` of one compilation."""
    chunks_raw = _need(stats, "chunks", source)
    assets_raw = _need(stats, "assets", source)
    top_modules = stats.get("modules")
    nested = any(isinstance(c, dict) and c.get("modules") for c in chunks_raw)
    if top_modules is None and not nested:
        _need(stats, "modules", source)
    keys = {c["id"]: _key(c) for c in chunks_raw if isinstance(c, dict) and "id" in c}
    names_to_key = {n: _key(c) for c in chunks_raw for n in (c.get("names") or [])}

    # ---- modules and reasons ----------------------------------------------------
    cols: dict[str, list[Any]] = {k: [] for k in (*MODULES.names, "concatenated_in")}
    r_mod: list[Any] = []
    r_from: list[Any] = []
    r_type: list[Any] = []
    r_req: list[Any] = []

    def add(m: Mapping[str, Any], chunk_keys: list[str], root: str | None) -> None:
        name = m.get("name")
        if name is None:
            return
        bail = list(m.get("optimizationBailout") or [])
        cjs = is_cjs(bail)
        for k in chunk_keys:
            cols["module"].append(name)
            cols["chunk"].append(k)
            cols["size_bytes"].append(m.get("size"))
            cols["cjs_bailout"].append(cjs)
            cols["bailouts"].append(bail)
            cols["depth"].append(m.get("depth"))
            cols["issuer"].append(m.get("issuerName"))
            cols["concatenated_in"].append(root)
        add_reasons(name, m)

    def add_reasons(name: str, m: Mapping[str, Any]) -> None:
        for r in m.get("reasons") or ():
            r_mod.append(name)
            r_from.append(r.get("moduleName"))
            r_type.append(r.get("type"))
            r_req.append(r.get("userRequest"))

    def module_rows(m: Mapping[str, Any], chunk_keys: list[str]) -> None:
        if m.get("type", "module") != "module":  # "hidden modules" and other groups
            return
        inner = m.get("modules")
        if inner:
            root = m.get("name")
            for sub in inner:
                add(sub, chunk_keys, root)
            if root is not None:  # the root's reasons: its entry, who imports it
                add_reasons(root, m)
        else:
            add(m, chunk_keys, None)

    def keys_of(ids: Iterable[Any]) -> list[str]:
        return [keys.get(i) or names_to_key.get(i) or f"id:{i}" for i in ids]

    if top_modules is not None:
        for m in top_modules:
            module_rows(m, keys_of(m.get("chunks") or ()))
    else:
        for c in chunks_raw:
            for m in c.get("modules") or ():
                module_rows(m, [_key(c)])

    cols["package_version"] = [None] * len(cols["module"])
    names = pl.Series("module", cols["module"], pl.String)
    path = names.str.replace(r" \+ \d+ modules?$", "").str.replace(r"^.*!", "")
    path = path.str.replace(r"^(?:\./)+", "").str.replace(r"\?.*$", "")
    package = path.str.extract(r".*node_modules/((?:@[^/]+/)?[^/]+)", 1)
    modules = pl.DataFrame(
        {
            "module": names,
            "path": path,
            "package": package,
            "package_version": pl.Series(cols["package_version"], dtype=pl.String),
            "chunk": pl.Series(cols["chunk"], dtype=pl.String),
            "size_bytes": pl.Series(cols["size_bytes"], dtype=pl.Int64),
            "cjs_bailout": pl.Series(cols["cjs_bailout"], dtype=pl.Boolean),
            "bailouts": pl.Series(cols["bailouts"], dtype=pl.List(pl.String)),
            "depth": pl.Series(cols["depth"], dtype=pl.Int64),
            "issuer": pl.Series(cols["issuer"], dtype=pl.String),
            "concatenated_in": pl.Series(cols["concatenated_in"], dtype=pl.String),
        }
    )
    modules = MODULES.validate(modules)
    reasons = REASONS.validate(
        pl.DataFrame(
            {
                "module": pl.Series(r_mod, dtype=pl.String),
                "from_module": pl.Series(r_from, dtype=pl.String),
                "type": pl.Series(r_type, dtype=pl.String),
                "user_request": pl.Series(r_req, dtype=pl.String),
            }
        ).unique(maintain_order=True)
    )

    # ---- assets -------------------------------------------------------------------
    a_names = [a["name"] for a in assets_raw]
    a_chunks = [keys_of(a.get("chunks") or ()) for a in assets_raw]
    sized = asset_sizes(a_names, [a.get("size") for a in assets_raw], output_dir)
    assets = ASSETS.validate(
        sized.with_columns(pl.Series("chunks", a_chunks, dtype=pl.List(pl.String)))
    )

    # ---- chunks -------------------------------------------------------------------
    counts = dict(modules.group_by("chunk").len().iter_rows()) if modules.height else {}
    chunk_rows = [
        {
            "chunk": _key(c),
            "chunk_id": str(c.get("id")),
            "names": [str(n) for n in c.get("names") or []],
            "files": [str(f) for f in c.get("files") or [] if not str(f).endswith(".map")],
            "entry": bool(c.get("entry")),
            "initial": bool(c.get("initial")),
            "size_bytes": c.get("size"),
            "modules": counts.get(_key(c), 0),
        }
        for c in chunks_raw
    ]
    chunks = CHUNKS.build(chunk_rows)
    chunks = CHUNKS.validate(chunk_sizes(chunks, assets).select(CHUNKS.names))

    # ---- entry points ---------------------------------------------------------------
    entrypoints = _entrypoints(stats, chunks_raw, keys_of)
    return assets, chunks, entrypoints, modules, reasons


def _entrypoints(
    stats: Mapping[str, Any], chunks_raw: list[dict[str, Any]], keys_of: Any
) -> pl.DataFrame:
    """(entry, chunk, initial): initial chunks of each entry, then its async closure."""
    children = {c.get("id"): list(c.get("children") or ()) for c in chunks_raw}
    by_name = {n: c.get("id") for c in chunks_raw for n in c.get("names") or ()}
    eps = stats.get("entrypoints")
    if not eps:  # old or trimmed stats: each entry chunk starts its own entry
        eps = {_key(c): {"chunks": [c.get("id")]} for c in chunks_raw if c.get("entry")}
    rows: list[tuple[str, str, bool]] = []
    for entry, ep in eps.items():
        start = [
            by_name.get(i, i) if isinstance(i, str) and i in by_name else i
            for i in ep.get("chunks") or ()
        ]
        seen = set(start)
        rows.extend((entry, k, True) for k in keys_of(start))
        todo = deque(x for s in start for x in children.get(s, ()))
        while todo:
            cid = todo.popleft()
            if cid in seen:
                continue
            seen.add(cid)
            rows.append((entry, keys_of([cid])[0], False))
            todo.extend(children.get(cid, ()))
    return ENTRYPOINTS.build({"entry": e, "chunk": c, "initial": i} for e, c, i in rows)

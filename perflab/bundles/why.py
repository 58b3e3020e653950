"""Why is this module in the build: import chains from an entry, read from the reasons.

:func:`why_chains` walks the REASONS frame backwards from a module (or every module of a
package) to the entry modules, breadth first, so the shortest chains come first; a
module is never visited twice on one chain (bundles have import cycles: moment's locales
``require("../moment")``), and each module is expanded at most ``max_chains`` times, so
the walk stays linear in the graph however many paths a large app has.
:func:`why_table` lays the chains out as a frame, with how each step imports the next.

The import graph (:func:`import_graph`) is also what the rules use to tell which entry
reaches a module, statically or only through ``import()``.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from perflab.errors import ParameterError, positive_int

if TYPE_CHECKING:
    from perflab.bundles.model import Bundle

__all__ = ["DYNAMIC_TYPES", "ImportGraph", "import_graph", "why_chains", "why_table"]

DYNAMIC_TYPES = ("import()", "dynamic-import", "import() context", "dynamic import")
"""Reason types of an on-demand import (webpack ``import()``, esbuild ``dynamic-import``)."""

_ENTRY_TYPES = ("entry", "entry-point")


def _is_dynamic(kind: str | None) -> bool:
    return kind is not None and any(kind.startswith(t) for t in DYNAMIC_TYPES)


@dataclass
class ImportGraph:
    """The module graph of a build: who imports whom, and how.

    Attributes
    ----------
    parents : dict
        module → {importer: (reason type, request)} (self-references left out).
    children : dict
        importer → {module: (reason type, request)}.
    entries : set of str
        Modules an entry point starts from.
    modules : set of str
        Modules the build ships (a reason may name one it does not: a re-exporting
        barrel file that ``sideEffects: false`` dropped).
    """

    parents: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    children: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    entries: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)

    def reachable(self, start: Iterable[str], *, static: bool = True) -> set[str]:
        """Modules reached from ``start`` (included); ``static`` skips ``import()`` edges.

        Examples
        --------
        >>> g = ImportGraph()
        >>> g.add("b", "a", "import", "./b"); g.add("c", "b", "import()", "./c")
        >>> sorted(g.reachable(["a"])), sorted(g.reachable(["a"], static=False))
        (['a', 'b'], ['a', 'b', 'c'])
        """
        seen = set(start)
        todo = deque(seen)
        while todo:
            node = todo.popleft()
            for child, (kind, _) in self.children.get(node, {}).items():
                if child not in seen and not (static and _is_dynamic(kind)):
                    seen.add(child)
                    todo.append(child)
        return seen

    def add(self, module: str, importer: str | None, kind: str, request: str) -> None:
        """Record that ``importer`` imports ``module`` (None: ``module`` is an entry)."""
        if importer is None or kind in _ENTRY_TYPES:
            self.entries.add(module)
            return
        if importer == module:
            return
        edges = self.parents.setdefault(module, {})
        known = edges.get(importer)
        # a static reason wins over an import() one for the same pair
        if known is None or (_is_dynamic(known[0]) and not _is_dynamic(kind)):
            edges[importer] = (kind, request)
            self.children.setdefault(importer, {})[module] = (kind, request)


_CONCAT = re.compile(r" \+ \d+ modules?$")


def import_graph(bundle: Bundle) -> ImportGraph:
    """The build's import graph, over the MODULES frame's module names.

    Edges come from the REASONS frame. A webpack reason names a concatenated root
    (``./src/main.js + 1 modules``); it stands for the root's own module
    (``./src/main.js``). A module no reason names gets its ``issuer`` as its importer,
    and one with ``depth`` 0 (or neither reason nor issuer) counts as an entry module.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> import_graph(Bundle.empty("webpack", "s.json")).entries
    set()
    """
    g = ImportGraph()
    mods = bundle.module_frame

    def real(name: str | None) -> str | None:
        return None if name is None else _CONCAT.sub("", name)

    reasons = bundle.reasons.select("module", "from_module", "type", "user_request")
    for module, importer, kind, request in reasons.iter_rows():
        g.add(real(module) or "", real(importer), kind or "", request or "")
    if mods.height:
        cols = ["module", "issuer", "depth"]
        for module, issuer, depth in mods.select(cols).unique("module").iter_rows():
            g.modules.add(module)
            if module in g.parents or module in g.entries:
                continue
            if depth == 0 or (issuer is None and not module.startswith("webpack/runtime/")):
                g.entries.add(module)
            else:
                g.add(module, real(issuer), "issuer", "")
    g.entries = {e for e in g.entries if not e.startswith("webpack/runtime/")}
    return g


def _resolve(bundle: Bundle, graph: ImportGraph, module: str) -> tuple[list[str], dict[str, str]]:
    """The graph nodes ``module`` names, and for a module concatenated into another, its
    root (node → the inner module to show after it)."""
    mods = bundle.module_frame
    known = set(graph.parents) | set(graph.entries) | set(graph.children)
    inner: dict[str, str] = {}
    has_root = "concatenated_in" in mods.columns

    def nodes(rows: pl.DataFrame) -> list[str]:
        out: list[str] = []
        for row in rows.iter_rows(named=True):
            name = row["module"]
            root = row.get("concatenated_in") if has_root else None
            if name not in known and root:
                inner[root] = name
                name = root
            if name not in out:
                out.append(name)
        return out

    if module in known:
        return [module], inner
    bare = module.removeprefix("./")
    for rows in (
        mods.filter(pl.col("module") == module),
        mods.filter(pl.col("path") == bare),
    ):
        if rows.height:
            return nodes(rows), inner
    pkg = mods.filter(pl.col("package") == module)
    if pkg.height:
        members = set(pkg["module"].to_list())
        # the package's doors: its modules imported from outside it
        doors = [
            m
            for m in members
            if m in graph.entries or any(p not in members for p in graph.parents.get(m, {}))
        ]
        return (doors or sorted(members)), inner
    loose = mods.filter(
        pl.col("module").str.contains(module, literal=True)
        | pl.col("path").str.contains(module, literal=True)
    )
    if loose.height:
        return nodes(loose), inner
    return [], inner


def _chains(
    graph: ImportGraph, targets: list[str], max_chains: int, static: bool
) -> list[list[str]]:
    out: list[list[str]] = []
    expanded: dict[str, int] = defaultdict(int)
    queue: deque[list[str]] = deque([t] for t in targets)
    while queue and len(out) < max_chains:
        path = queue.popleft()  # target … head, built backwards
        head = path[-1]
        parents = graph.parents.get(head, {})
        if head in graph.entries or not parents:
            if head in graph.entries or head in graph.modules or not graph.modules:
                out.append(path[::-1])  # else a dropped barrel file: no chain
            continue
        if expanded[head] >= max_chains:
            continue
        expanded[head] += 1
        for parent, (kind, _) in parents.items():
            if parent not in path and not (static and _is_dynamic(kind)):
                queue.append([*path, parent])
    return out


def why_chains(
    bundle: Bundle, module: str, max_chains: int = 5, *, static: bool = False
) -> list[list[str]]:
    """Import chains from an entry module to ``module``, shortest first.

    Parameters
    ----------
    bundle : Bundle
        A read build.
    module : str
        A module's name as the bundler prints it, its source path, an npm package name
        (chains to the package's modules imported from outside it) or, failing those, a
        fragment of a module's name or path.
    max_chains : int, default 5
        At most this many chains.
    static : bool, default False
        Follow static imports only (what puts the module in an entry's initial chunks).

    Returns
    -------
    list of list of str
        Each chain runs entry module → … → ``module``; a module concatenated into
        another (webpack's ``+ N modules``) ends its chain after its root. Empty when
        the module is not in the build.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> from perflab.bundles.schema import REASONS
    >>> r = pl.DataFrame({"module": ["./a.js", "lodash", "lodash"],
    ...     "from_module": [None, "./a.js", "lodash"], "type": ["entry", "import", "self"],
    ...     "user_request": ["./a.js", "lodash", ""]})
    >>> b = Bundle.empty("webpack", "s.json")
    >>> import dataclasses
    >>> why_chains(dataclasses.replace(b, reasons=REASONS.validate(r)), "lodash")
    [['./a.js', 'lodash']]
    """
    max_chains = positive_int("max_chains", max_chains)
    if not isinstance(module, str) or not module:
        raise ParameterError("module must be a non-empty string")
    graph = import_graph(bundle)
    targets, inner = _resolve(bundle, graph, module)
    chains = _chains(graph, targets, max_chains, static)
    return [[*c, inner[c[-1]]] if c[-1] in inner else c for c in chains]


def why_table(
    bundle: Bundle, module: str, max_chains: int = 5, *, static: bool = False
) -> pl.DataFrame:
    """:func:`why_chains` as a frame: one row per step of each chain.

    Returns
    -------
    polars.DataFrame
        ``chain`` (1-based, shortest first), ``step`` (0 = the entry module),
        ``module``, ``via`` (how the previous step imports it: the reason type; null
        for the entry) and ``request`` (the import as written).

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> why_table(Bundle.empty("webpack", "s.json"), "lodash").columns
    ['chain', 'step', 'module', 'via', 'request']
    """
    graph = import_graph(bundle)
    rows = []
    for i, chain in enumerate(why_chains(bundle, module, max_chains, static=static), 1):
        for step, name in enumerate(chain):
            edge = graph.parents.get(name, {}).get(chain[step - 1]) if step else None
            if step and edge is None:  # a module concatenated into the previous step
                edge = ("concatenated", "")
            rows.append(
                {
                    "chain": i,
                    "step": step,
                    "module": name,
                    "via": edge[0] if edge else None,
                    "request": edge[1] if edge else None,
                }
            )
    schema = {
        "chain": pl.Int64,
        "step": pl.Int64,
        "module": pl.String,
        "via": pl.String,
        "request": pl.String,
    }
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)

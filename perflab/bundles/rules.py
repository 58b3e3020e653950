"""Bundle rules: a read build in, ranked recommendations out.

===================================  ========  ============================================
rule                                 severity  fires when (default thresholds, and why)
===================================  ========  ============================================
``bundles.duplicate-package``        medium    a package ships in several versions or
                                               install paths, or the same module of it in
                                               several chunks; **low** when no single
                                               entry loads two of the copies
``bundles.whole-package-with-        medium    a package imported whole (``lodash``) and
submodules``                                   by path (``lodash/debounce``), or beside
                                               its ES twin (``lodash`` + ``lodash-es``):
                                               the per-path copies duplicate code the whole
                                               package already ships
``bundles.locale-bloat``             medium    more than 3 locales of moment, date-fns or
                                               dayjs ship (an app seldom speaks more);
                                               **high** from 50 kB compressed
``bundles.cjs-bailout``              low       webpack could not tree-shake or concatenate
                                               a module: a ``CommonJS bailout`` or a
                                               ``Module is not in strict mode``
                                               concatenation bailout; **medium** from
                                               20 kB compressed
``bundles.dynamic-import-candidate`` medium    first-party code that one entry alone
                                               reaches, statically, pulls ≥ 10 kB
                                               compressed into that entry's initial chunks
                                               and nothing else at start needs it (the
                                               importer dominates it in the import graph)
``bundles.initial-over-budget``      high      an entry's initial download is over 170 kB
                                               compressed (Alex Russell / web.dev), or
                                               over ``budget_ms`` on the network profile;
                                               **critical** at twice the budget
===================================  ========  ============================================

Impacts are bytes (compressed: measured for chunks when the build's output folder was
read, estimated for modules — see :meth:`~perflab.bundles.Bundle.modules`): the
duplicated copies, the per-path modules, the locales, the modules that bailed out, the
bytes that would leave the initial download, the bytes over the budget.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from perflab.bundles.budget import (
    DEFAULT_BUDGET_BYTES,
    NETWORK_PROFILES,
    NetworkProfile,
    _profile,
    download_ms,
    format_bytes,
    initial_sizes,
)
from perflab.bundles.why import ImportGraph, import_graph, why_chains
from perflab.errors import ParameterError
from perflab.recommend import Recommendation, rule, to_frame

if TYPE_CHECKING:
    from perflab.bundles.model import Bundle

__all__ = [
    "CJS_BAILOUT",
    "DUPLICATE_PACKAGE",
    "DYNAMIC_IMPORT_CANDIDATE",
    "INITIAL_OVER_BUDGET",
    "LOCALE_BLOAT",
    "WHOLE_PACKAGE",
    "cjs_bailouts",
    "duplicate_packages",
    "dynamic_import_candidates",
    "findings",
    "initial_over_budget",
    "locale_bloat",
    "whole_packages",
]

DUPLICATE_PACKAGE = rule(
    "bundles.duplicate-package", "medium", "a package ships twice: several versions or chunks"
)
WHOLE_PACKAGE = rule(
    "bundles.whole-package-with-submodules",
    "medium",
    "a package ships whole and again by path (lodash + lodash/debounce)",
)
LOCALE_BLOAT = rule("bundles.locale-bloat", "medium", "date library locales nobody reads ship")
CJS_BAILOUT = rule("bundles.cjs-bailout", "low", "CommonJS modules the bundler cannot tree-shake")
DYNAMIC_IMPORT_CANDIDATE = rule(
    "bundles.dynamic-import-candidate",
    "medium",
    "code one route alone needs is in an entry's initial download",
)
INITIAL_OVER_BUDGET = rule(
    "bundles.initial-over-budget", "high", "an entry's initial download is over budget"
)

_ROOT = re.compile(r"^(.*node_modules/(?:@[^/]+/)?[^/]+)/")
_LOCALES = {
    "moment": re.compile(r"(?:^|/)node_modules/moment/locale/([^/ ]+)\.js$"),
    "date-fns": re.compile(r"(?:^|/)node_modules/date-fns/locale/([^/_][^/]*?)(?:\.[cm]?js$|/)"),
    "dayjs": re.compile(r"(?:^|/)node_modules/dayjs/(?:esm/)?locale/([^/]+)\.js$"),
}
_LOCALE_FIX = {
    "moment": "Keep only the locales you use: `new webpack.IgnorePlugin({resourceRegExp: "
    "/^\\.\\/locale$/, contextRegExp: /moment$/})` and import those locales "
    '(`import "moment/locale/de"`), or `new webpack.ContextReplacementPlugin('
    "/moment[/\\\\]locale$/, /de|fr/)`, or moment-locales-webpack-plugin "
    '(`new MomentLocalesPlugin({localesToKeep: ["de", "fr"]})`); better still, move '
    "to dayjs or date-fns.",
    "date-fns": "Import the locales you use by name (`import { de } from "
    '"date-fns/locale"`, tree-shaken) instead of the whole `date-fns/locale` object or a '
    "dynamic `require(`./locale/${code}`)`; for a dynamic one, narrow it with "
    "`new webpack.ContextReplacementPlugin(/date-fns[/\\\\]locale$/, /de|fr/)`.",
    "dayjs": 'Import the locales you use (`import "dayjs/locale/de"`) instead of a '
    "dynamic import of the whole folder, or narrow it with ContextReplacementPlugin.",
}


def _kb(n: float | None) -> str:
    return "–" if n is None else format_bytes(n)


def _chain(bundle: Bundle, module: str) -> str:
    chains = why_chains(bundle, module, 1)
    return " → ".join(chains[0]) if chains else module


def _entries_loading(bundle: Bundle) -> dict[str, set[str]]:
    """entry → every chunk it may load (initial and on demand)."""
    out: dict[str, set[str]] = defaultdict(set)
    for entry, chunk in bundle.entrypoints.select("entry", "chunk").iter_rows():
        out[entry].add(chunk)
    return out


def duplicate_packages(bundle: Bundle, mods: pl.DataFrame | None = None) -> list[Recommendation]:
    """``bundles.duplicate-package``: several versions or install paths of a package, or
    the same module of it in several chunks.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> duplicate_packages(Bundle.empty("webpack", "s.json"))
    []
    """
    mods = bundle.modules() if mods is None else mods
    pk = mods.filter(pl.col("package").is_not_null())
    if pk.height == 0:
        return []
    pk = pk.with_columns(
        pl.col("path").str.extract(_ROOT.pattern, 1).fill_null(pl.col("package")).alias("_root")
    )
    loads = _entries_loading(bundle)
    out = []
    for (package,), rows in pk.group_by("package", maintain_order=True):
        package = str(package)
        versions = sorted(set(rows["package_version"].drop_nulls().to_list()))
        roots = sorted(set(rows["_root"].to_list()))
        notes: list[str] = []
        impact = 0.0
        chunks_seen: set[str] = set()
        if len(versions) > 1 or len(roots) > 1:
            per_copy = (
                rows.group_by("_root").agg(pl.col("gzip_bytes").sum()).sort(["gzip_bytes", "_root"])
            )
            impact += float(per_copy["gzip_bytes"].head(per_copy.height - 1).sum())
            what = f"versions {', '.join(versions)}" if len(versions) > 1 else ""
            where = f"{len(roots)} install paths ({', '.join(roots)})" if len(roots) > 1 else ""
            notes.append(" and ".join(x for x in (what, where) if x))
        multi = (
            rows.group_by("module")
            .agg(
                pl.col("chunk").unique().sort().alias("chunks"),
                pl.col("gzip_bytes").sum().alias("total"),
                pl.col("gzip_bytes").max().alias("one"),
            )
            .filter(pl.col("chunks").list.len() > 1)
        )
        twice_for_one = False
        if multi.height:
            dup = float((multi["total"] - multi["one"]).sum())
            impact += dup
            for chunks in multi["chunks"].to_list():
                chunks_seen.update(chunks)
                if any(len(set(chunks) & loaded) > 1 for loaded in loads.values()):
                    twice_for_one = True
            notes.append(
                f"{multi.height} of its modules ship in several chunks "
                f"({', '.join(sorted(chunks_seen))}): {_kb(dup)} compressed twice"
            )
        if not notes:
            continue
        severity = "medium" if (len(versions) > 1 or len(roots) > 1 or twice_for_one) else "low"
        example = (
            multi.sort(["total", "module"], descending=[True, False]).row(0, named=True)
            if multi.height
            else None
        )
        evidence = "; ".join(notes)
        if example is not None:
            evidence += (
                f". Largest: {example['module']} in {', '.join(example['chunks'])}; "
                f"why: {_chain(bundle, example['module'])}"
            )
        if not twice_for_one and multi.height and severity == "low":
            evidence += ". No single entry loads two of those chunks: a visitor of both pays"
        out.append(
            Recommendation.of(
                DUPLICATE_PACKAGE,
                subject=package,
                severity=severity,  # type: ignore[arg-type]
                finding=f"{package} ships more than once: {notes[0]}.",
                action="One version: align the ranges that pull it in (`npm ls "
                f"{package}`, then `npm dedupe`, or `overrides`/`resolutions`). One chunk: "
                "let splitChunks put shared modules in one chunk (`optimization.splitChunks"
                '.chunks: "all"`, a cacheGroup for the package), or import it from one '
                "place.",
                evidence=evidence,
                impact=impact,
                impact_unit="bytes",
            )
        )
    return out


def whole_packages(bundle: Bundle, mods: pl.DataFrame | None = None) -> list[Recommendation]:
    """``bundles.whole-package-with-submodules``: ``lodash`` with ``lodash/debounce``, or
    ``lodash`` with ``lodash-es`` (or ``lodash.debounce``).

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> whole_packages(Bundle.empty("webpack", "s.json"))
    []
    """
    mods = bundle.modules() if mods is None else mods
    pk = mods.filter(pl.col("package").is_not_null())
    if pk.height == 0:
        return []
    graph = import_graph(bundle)
    sizes = pk.group_by("package").agg(pl.col("gzip_bytes").sum(), pl.col("size_bytes").sum())
    gz = dict(zip(sizes["package"].to_list(), sizes["gzip_bytes"].to_list(), strict=True))
    out = []
    members = {str(p): set(rows["module"].to_list()) for (p,), rows in pk.group_by("package")}
    by_module = pk.group_by("module").agg(pl.col("gzip_bytes").sum())
    mod_gz = dict(
        zip(by_module["module"].to_list(), by_module["gzip_bytes"].to_list(), strict=True)
    )
    reasons = bundle.reasons.with_columns(
        pl.col("module").str.replace(r" \+ \d+ modules?$", ""),
        pl.col("from_module").str.replace(r" \+ \d+ modules?$", ""),
    )
    for package, inside in sorted(members.items()):
        edges = reasons.filter(
            pl.col("module").is_in(list(inside))
            & ~pl.col("from_module").is_in(list(inside)).fill_null(False)
        )
        requests = edges["user_request"].drop_nulls().to_list()
        bare = sorted(edges.filter(pl.col("user_request") == package)["module"].unique().to_list())
        deep = sorted({r for r in requests if r.startswith(package + "/")})
        if bare and deep:
            whole = graph.reachable(bare, static=False) & inside
            extra = sorted(inside - whole)
            extra_gz = float(sum(mod_gz.get(m, 0) for m in extra))
            out.append(
                Recommendation.of(
                    WHOLE_PACKAGE,
                    subject=package,
                    finding=f"{package} ships whole ({', '.join(bare)}) and again through "
                    f"{len(deep)} per-path import(s) ({', '.join(deep[:5])}): "
                    f"{len(extra)} module(s), {_kb(extra_gz)} compressed, repeat code the "
                    "whole package already holds.",
                    action=f"Pick one form. Per-path imports everywhere (`import debounce from "
                    f'"{package}/debounce"`, babel-plugin-lodash for lodash) drop the whole '
                    f"package; or keep the whole package and import from `{package}` "
                    "everywhere. For lodash, lodash-es with named imports tree-shakes.",
                    evidence=f"whole: {_chain(bundle, bare[0])}; by path: "
                    f"{_chain(bundle, extra[0]) if extra else ', '.join(deep)}",
                    impact=extra_gz,
                    impact_unit="bytes",
                )
            )
    names = set(members)
    for package in sorted(names):
        twins = sorted(
            n
            for n in names
            if n != package and (n == package + "-es" or n.startswith(package + "."))
        )
        if not twins:
            continue
        smaller = float(min([gz.get(package, 0), *[gz.get(t, 0) for t in twins]]))
        out.append(
            Recommendation.of(
                WHOLE_PACKAGE,
                subject=" + ".join([package, *twins]),
                finding=f"{package} ships beside {', '.join(twins)}: two builds of the same code.",
                action=f'Use one: alias the other to it (`resolve.alias: {{"{twins[0]}": '
                f'"{package}"}}` or the reverse) or change the imports so one of them goes.',
                evidence="; ".join(f"{n}: {_kb(gz.get(n))} compressed" for n in [package, *twins]),
                impact=smaller,
                impact_unit="bytes",
            )
        )
    return out


def locale_bloat(
    bundle: Bundle, mods: pl.DataFrame | None = None, *, max_locales: int = 3
) -> list[Recommendation]:
    """``bundles.locale-bloat``: more than ``max_locales`` locales of moment, date-fns or
    dayjs in the build.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> locale_bloat(Bundle.empty("webpack", "s.json"))
    []
    """
    mods = bundle.modules() if mods is None else mods
    out = []
    for library, pattern in _LOCALES.items():
        rows = mods.filter(pl.col("package") == library).with_columns(
            pl.col("path").str.extract(pattern.pattern, 1).alias("_locale")
        )
        rows = rows.filter(pl.col("_locale").is_not_null())
        locales = sorted(set(rows["_locale"].to_list()))
        if len(locales) <= max_locales:
            continue
        raw = int(rows["size_bytes"].sum())
        gz = float(rows["gzip_bytes"].sum())
        biggest = (
            rows.group_by("_locale")
            .agg(pl.col("gzip_bytes").sum())
            .sort(["gzip_bytes", "_locale"], descending=[True, False])
            .head(3)
        )
        top = ", ".join(f"{loc} {_kb(b)}" for loc, b in biggest.iter_rows())
        first = rows.sort(["size_bytes", "module"], descending=[True, False])["module"][0]
        out.append(
            Recommendation.of(
                LOCALE_BLOAT,
                subject=f"{library} locales",
                severity="high" if gz >= 50_000 else None,
                finding=f"{len(locales)} {library} locales ship: {_kb(raw)} of source, "
                f"about {_kb(gz)} compressed.",
                action=_LOCALE_FIX[library],
                evidence=f"{rows['module'].n_unique()} locale modules in "
                f"{', '.join(sorted(set(rows['chunk'].to_list())))}; biggest {top}; "
                f"why: {_chain(bundle, first)}",
                impact=gz,
                impact_unit="bytes",
            )
        )
    return out


def _cjs(mods: pl.DataFrame) -> pl.Expr:
    strict = pl.col("bailouts").list.eval(
        pl.element().str.contains("not in strict mode", literal=True)
    )
    return pl.col("cjs_bailout") | strict.list.any().fill_null(False)


def cjs_bailouts(
    bundle: Bundle, mods: pl.DataFrame | None = None, *, medium_bytes: float = 20_000
) -> list[Recommendation]:
    """``bundles.cjs-bailout``: modules the bundler kept whole because they are CommonJS,
    one finding per package (first-party modules one each).

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> cjs_bailouts(Bundle.empty("webpack", "s.json"))
    []
    """
    mods = bundle.modules() if mods is None else mods
    bad = mods.filter(_cjs(mods) & ~pl.col("module").str.starts_with("webpack/runtime/"))
    if bad.height == 0:
        return []
    bad = bad.with_columns(pl.coalesce(pl.col("package"), pl.col("module")).alias("_who"))
    out = []
    for (who,), rows in bad.group_by("_who", maintain_order=True):
        who = str(who)
        first_party = rows["package"].null_count() == rows.height
        gz = float(rows["gzip_bytes"].sum())
        raw = int(rows["size_bytes"].sum())
        big = rows.sort(["size_bytes", "module"], descending=[True, False]).row(0, named=True)
        said = next(
            (b for b in (big["bailouts"] or []) if "CommonJS" in b or "strict mode" in b),
            (big["bailouts"] or ["CommonJS module"])[0],
        )
        action = (
            f"Rewrite {who} as an ES module (`export`/`import` instead of `module.exports`/"
            "`require`) so webpack can drop its unused exports and concatenate it."
            if first_party
            else f"Use {who}'s ES module build if it has one (a `module`/`exports` field; "
            "lodash → lodash-es, moment → dayjs or date-fns), or import only the files you "
            "need: CommonJS is kept whole."
        )
        out.append(
            Recommendation.of(
                CJS_BAILOUT,
                subject=who,
                severity="medium" if gz >= medium_bytes else None,
                finding=f"{who}: {rows['module'].n_unique()} CommonJS module(s), {_kb(raw)} of "
                f"source ({_kb(gz)} compressed), cannot be tree-shaken or concatenated.",
                action=action,
                evidence=f"{big['module']}: “{said}”; in "
                f"{', '.join(sorted(set(rows['chunk'].to_list())))}; why: "
                f"{_chain(bundle, big['module'])}",
                impact=gz,
                impact_unit="bytes",
            )
        )
    return out


def _dominators(graph: ImportGraph, root: str, nodes: set[str]) -> dict[str, str]:
    """Immediate dominators of ``nodes`` from ``root`` over static edges (Cooper, Harvey
    and Kennedy's iterative algorithm)."""
    order: list[str] = []
    seen = {root}
    stack = [(root, iter(sorted(graph.children.get(root, {}))))]
    while stack:  # depth-first post-order
        node, it = stack[-1]
        for child in it:
            kind = graph.children[node][child][0]
            if (
                child in nodes
                and child not in seen
                and not kind.startswith(("import()", "dynamic"))
            ):
                seen.add(child)
                stack.append((child, iter(sorted(graph.children.get(child, {})))))
                break
        else:
            stack.pop()
            order.append(node)
    rpo = order[::-1]
    index = {n: i for i, n in enumerate(rpo)}
    idom: dict[str, str] = {root: root}

    def intersect(a: str, b: str) -> str:
        while a != b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for node in rpo[1:]:
            preds = [
                p
                for p, (kind, _) in graph.parents.get(node, {}).items()
                if p in idom and p in index and not kind.startswith(("import()", "dynamic"))
            ]
            if not preds:
                continue
            new = preds[0]
            for p in preds[1:]:
                new = intersect(p, new)
            if idom.get(node) != new:
                idom[node] = new
                changed = True
    return idom


class _DomTree:
    """A dominator tree with the compressed bytes under each node."""

    def __init__(self, idom: dict[str, str], root: str, weight: dict[str, float]) -> None:
        self.root = root
        self.weight = weight
        self.kids: dict[str, list[str]] = defaultdict(list)
        for node, parent in idom.items():
            if node != root:
                self.kids[parent].append(node)
        self._total: dict[str, float] = {}

    def members(self, node: str) -> list[str]:
        out, stack = [], [node]
        while stack:
            n = stack.pop()
            out.append(n)
            stack.extend(self.kids.get(n, []))
        return out

    def subtree(self, node: str) -> float:
        if node not in self._total:
            self._total[node] = float(sum(self.weight.get(m, 0) for m in self.members(node)))
        return self._total[node]

    def split_points(self, allowed: set[str], min_bytes: float) -> list[str]:
        """The root's children (first-party, ``allowed``) heavy enough to split off,
        each moved down while one allowed child holds ≥ 80 % of its weight."""

        def ok(n: str) -> bool:
            return n in allowed and self.subtree(n) >= min_bytes

        out = []
        for node in (k for k in self.kids.get(self.root, []) if ok(k)):
            split = node
            while True:
                best = max(
                    (k for k in self.kids.get(split, []) if ok(k)), key=self.subtree, default=None
                )
                if best is None or self.subtree(best) < 0.8 * self.subtree(split):
                    break
                split = best
            out.append(split)
        return out


def dynamic_import_candidates(
    bundle: Bundle,
    mods: pl.DataFrame | None = None,
    *,
    min_bytes: float = 10_000,
    profile: str | NetworkProfile = "slow-4g",
) -> list[Recommendation]:
    """``bundles.dynamic-import-candidate``: first-party code one entry alone reaches that
    pulls ≥ ``min_bytes`` compressed into the entry's initial chunks.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> dynamic_import_candidates(Bundle.empty("webpack", "s.json"))
    []
    """
    mods = bundle.modules() if mods is None else mods
    prof = _profile(profile)
    graph = import_graph(bundle)
    eps = bundle.entrypoints
    first_party = set(mods.filter(pl.col("package").is_null())["module"].to_list())
    out = []
    entry_modules: dict[str, str] = {}
    for entry in eps["entry"].unique(maintain_order=True).to_list():
        initial = set(eps.filter((pl.col("entry") == entry) & pl.col("initial"))["chunk"].to_list())
        inside = set(mods.filter(pl.col("chunk").is_in(list(initial)))["module"].to_list())
        starts = sorted(graph.entries & inside)
        if starts:
            entry_modules[entry] = starts[0]
    reach = {e: graph.reachable([m]) for e, m in entry_modules.items()}
    for entry, root in entry_modules.items():
        initial = set(eps.filter((pl.col("entry") == entry) & pl.col("initial"))["chunk"].to_list())
        here = mods.filter(pl.col("chunk").is_in(list(initial)))
        weight = here.group_by("module").agg(pl.col("gzip_bytes").sum(), pl.col("size_bytes").sum())
        gz = dict(zip(weight["module"].to_list(), weight["gzip_bytes"].to_list(), strict=True))
        raw = dict(zip(weight["module"].to_list(), weight["size_bytes"].to_list(), strict=True))
        others = (
            set().union(*(r for e, r in reach.items() if e != entry)) if len(reach) > 1 else set()
        )
        tree = _DomTree(_dominators(graph, root, reach[entry]), root, gz)
        for split in tree.split_points(first_party - others, min_bytes):
            saved = tree.subtree(split)
            members = tree.members(split)
            src = sum(raw.get(m, 0) for m in members)
            chain = why_chains(bundle, split, 1, static=True)
            importer = chain[0][-2] if chain and len(chain[0]) > 1 else root
            biggest = sorted(members, key=lambda m: -gz.get(m, 0))[:3]
            ms = download_ms(saved, prof) - prof.rtt_ms
            out.append(
                Recommendation.of(
                    DYNAMIC_IMPORT_CANDIDATE,
                    subject=f"{split} (entry {entry})",
                    finding=f"{split} and what only it imports ({len(members)} module(s), "
                    f"{_kb(src)} of source, about {_kb(saved)} compressed) load at start of "
                    f"{entry}, and no other entry reaches them statically.",
                    action=f'Load it on demand where {importer} uses it: `import("{split}")` '
                    "(React.lazy / a route-level lazy component); the bundler gives it its "
                    f"own chunk and {entry}'s first download shrinks by that much.",
                    evidence=f"why: {' → '.join(chain[0]) if chain else split}; biggest: "
                    + ", ".join(f"{m} {_kb(gz.get(m, 0))}" for m in biggest)
                    + f"; about {ms:,.0f} ms of transfer on {prof.describe()}",
                    impact=saved,
                    impact_unit="bytes",
                )
            )
    return out


def initial_over_budget(
    bundle: Bundle,
    *,
    budget_bytes: float | None = DEFAULT_BUDGET_BYTES,
    budget_ms: float | None = None,
    profile: str | NetworkProfile = "slow-4g",
    compression: str = "gzip",
) -> list[Recommendation]:
    """``bundles.initial-over-budget``: an entry's initial download over ``budget_bytes``
    (compressed) or over ``budget_ms`` of download on ``profile``.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> initial_over_budget(Bundle.empty("webpack", "s.json"))
    []
    """
    if budget_bytes is None and budget_ms is None:
        return []
    prof = _profile(profile)
    sizes = initial_sizes(bundle, compression)
    chunks = bundle.chunk_frame.unique("chunk", keep="first")
    out = []
    for row in sizes.iter_rows(named=True):
        took = download_ms(row["bytes"], prof)
        over_size = budget_bytes is not None and row["bytes"] > budget_bytes
        over_time = budget_ms is not None and took > budget_ms
        if not (over_size or over_time):
            continue
        if over_size:
            assert budget_bytes is not None
            over = row["bytes"] - budget_bytes
            ratio = row["bytes"] / budget_bytes if budget_bytes else float("inf")
            limit = f"{_kb(budget_bytes)} {compression}"
        else:
            assert budget_ms is not None
            over = row["bytes"] - (budget_ms - prof.rtt_ms) * prof.bits_per_second / 8000
            ratio = took / budget_ms if budget_ms else float("inf")
            limit = f"{budget_ms:,.0f} ms on {prof.label}"
        parts = chunks.filter(pl.col("chunk").is_in(row["chunks"])).sort(
            "size_bytes", descending=True
        )
        listing = ", ".join(
            f"{c} {_kb(s)}" for c, s in parts.select("chunk", "size_bytes").iter_rows()
        )
        times = "; ".join(
            f"{p.label} {download_ms(row['bytes'], p):,.0f} ms" for p in NETWORK_PROFILES.values()
        )
        out.append(
            Recommendation.of(
                INITIAL_OVER_BUDGET,
                subject=f"entry {row['entry']}",
                severity="critical" if ratio >= 2 else None,
                finding=f"{row['entry']} downloads {_kb(row['bytes'])} ({compression}, "
                f"{row['sizes']}) before it can start, over the budget of {limit}: "
                f"{took:,.0f} ms on {prof.describe()}.",
                action="Split what the first screen does not need out of the initial chunks "
                "(import() routes and heavy widgets, see bundles.dynamic-import-candidate), "
                "drop duplicate and locale code (see the other bundles findings), and "
                "check the budget in CI (perflab.bundles.budget or size-limit).",
                evidence=f"initial chunks (raw): {listing}; download = RTT + bytes × 8 / "
                f"throughput: {times}",
                impact=float(over),
                impact_unit="bytes",
            )
        )
    return out


def findings(
    bundle: Bundle,
    *,
    budget_bytes: float | None = DEFAULT_BUDGET_BYTES,
    budget_ms: float | None = None,
    profile: str | NetworkProfile = "slow-4g",
    max_locales: int = 3,
    min_split_bytes: float = 10_000,
    cjs_medium_bytes: float = 20_000,
    only: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every bundle rule that fires on this build, ranked.

    Parameters
    ----------
    bundle : Bundle
        A read build.
    budget_bytes : float or None, default 170 000
        Compressed initial download per entry (``bundles.initial-over-budget``); None
        checks ``budget_ms`` only.
    budget_ms : float, optional
        Initial download time on ``profile`` per entry.
    profile : str or NetworkProfile, default "slow-4g"
        See :data:`~perflab.bundles.NETWORK_PROFILES`.
    max_locales, min_split_bytes, cjs_medium_bytes
        The thresholds of the module docstring's table.
    only : sequence of str, optional
        Rule ids to run (default: all).

    Returns
    -------
    polars.DataFrame
        :data:`perflab.recommend.RECOMMENDATIONS`, ranked.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> findings(Bundle.empty("webpack", "s.json")).height
    0
    """
    if max_locales < 0 or min_split_bytes < 0:
        raise ParameterError("thresholds must not be negative")
    wanted = None if only is None else set(only)

    def on(r: object) -> bool:
        return wanted is None or getattr(r, "id", None) in wanted

    mods = bundle.modules()
    recs: list[Recommendation] = []
    if on(DUPLICATE_PACKAGE):
        recs += duplicate_packages(bundle, mods)
    if on(WHOLE_PACKAGE):
        recs += whole_packages(bundle, mods)
    if on(LOCALE_BLOAT):
        recs += locale_bloat(bundle, mods, max_locales=max_locales)
    if on(CJS_BAILOUT):
        recs += cjs_bailouts(bundle, mods, medium_bytes=cjs_medium_bytes)
    if on(DYNAMIC_IMPORT_CANDIDATE):
        recs += dynamic_import_candidates(bundle, mods, min_bytes=min_split_bytes, profile=profile)
    if on(INITIAL_OVER_BUDGET):
        recs += initial_over_budget(
            bundle, budget_bytes=budget_bytes, budget_ms=budget_ms, profile=profile
        )
    return to_frame(recs)

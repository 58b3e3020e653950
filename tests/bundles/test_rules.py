"""Bundle rules: each fires on a small planted build and stays quiet on a healthy one;
the real sample build fires what its app was written to trigger."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from perflab.bundles.model import Bundle
from perflab.bundles.rules import findings
from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.recommend import RECOMMENDATIONS, rules


def make_bundle(
    modules: list[dict[str, Any]],
    reasons: list[tuple[str, str | None, str, str]],
    chunks: dict[str, tuple[bool, int]],
    entrypoints: list[tuple[str, str, bool]],
    *,
    gzip_ratio: float = 0.3,
) -> Bundle:
    """A build from plain rows: modules (module, package, chunk, size_bytes, …), reasons
    (module, from_module, type, request), chunks {key: (initial, size)}, entry points."""
    mods = []
    for m in modules:
        row = {
            "path": m["module"].removeprefix("./"),
            "package": None,
            "package_version": None,
            "cjs_bailout": False,
            "bailouts": [],
            "depth": None,
            "issuer": None,
            **m,
        }
        mods.append(row)
    chunk_rows = [
        {
            "chunk": key,
            "chunk_id": key,
            "names": [key],
            "files": [f"{key}.js"],
            "entry": key in {c for _, c, i in entrypoints if i} and key.startswith("entry"),
            "initial": initial,
            "size_bytes": size,
            "gzip_bytes": round(size * gzip_ratio),
            "brotli_bytes": round(size * gzip_ratio * 0.8),
            "sizes": "measured",
            "modules": sum(1 for m in modules if m["chunk"] == key),
        }
        for key, (initial, size) in chunks.items()
    ]
    assets = [
        {
            "asset": r["files"][0],
            "size_bytes": r["size_bytes"],
            "gzip_bytes": r["gzip_bytes"],
            "brotli_bytes": r["brotli_bytes"],
            "sizes": "measured",
            "chunks": [r["chunk"]],
        }
        for r in chunk_rows
    ]
    return Bundle(
        tool="webpack",
        version="5.0.0",
        source="planted.json",
        assets=ASSETS.build(assets),
        chunk_frame=CHUNKS.build(chunk_rows),
        entrypoints=ENTRYPOINTS.build(
            [{"entry": e, "chunk": c, "initial": i} for e, c, i in entrypoints]
        ),
        module_frame=MODULES.build(mods),
        reasons=REASONS.build(
            [
                {"module": m, "from_module": f, "type": t, "user_request": r}
                for m, f, t, r in reasons
            ]
        ),
    )


def healthy() -> Bundle:
    """Two small entries, ES modules only, one route loaded with import()."""
    return make_bundle(
        [
            {"module": "./src/a.js", "chunk": "entry-a", "size_bytes": 4000, "depth": 0},
            {"module": "./src/b.js", "chunk": "entry-b", "size_bytes": 3000, "depth": 0},
            {"module": "./src/route.js", "chunk": "route", "size_bytes": 60000},
            {
                "module": "./node_modules/preact/dist/preact.mjs",
                "package": "preact",
                "chunk": "vendor",
                "size_bytes": 10000,
            },
        ],
        [
            ("./src/a.js", None, "entry", "./src/a.js"),
            ("./src/b.js", None, "entry", "./src/b.js"),
            ("./src/route.js", "./src/a.js", "import()", "./route.js"),
            (
                "./node_modules/preact/dist/preact.mjs",
                "./src/a.js",
                "harmony import specifier",
                "preact",
            ),
            (
                "./node_modules/preact/dist/preact.mjs",
                "./src/b.js",
                "harmony import specifier",
                "preact",
            ),
        ],
        {
            "entry-a": (True, 4000),
            "entry-b": (True, 3000),
            "vendor": (True, 10000),
            "route": (False, 60000),
        },
        [
            ("a", "entry-a", True),
            ("a", "vendor", True),
            ("a", "route", False),
            ("b", "entry-b", True),
            ("b", "vendor", True),
        ],
    )


def _rules(df: pl.DataFrame) -> list[str]:
    return sorted(set(df["rule"].to_list()))


def test_rule_ids_are_registered() -> None:
    ids = {r.id for r in rules("bundles")}
    assert ids == {
        "bundles.duplicate-package",
        "bundles.whole-package-with-submodules",
        "bundles.locale-bloat",
        "bundles.cjs-bailout",
        "bundles.dynamic-import-candidate",
        "bundles.initial-over-budget",
    }


def test_healthy_build_is_quiet() -> None:
    out = findings(healthy())
    assert out.height == 0 and out.columns == RECOMMENDATIONS.names


def test_duplicate_package_fires_on_two_versions_and_two_chunks() -> None:
    b = make_bundle(
        [
            {"module": "./src/a.js", "chunk": "entry-a", "size_bytes": 1000, "depth": 0},
            {
                "module": "./node_modules/tslib/tslib.es6.js",
                "package": "tslib",
                "package_version": "2.6.0",
                "chunk": "entry-a",
                "size_bytes": 12000,
            },
            {
                "module": "./node_modules/x/node_modules/tslib/tslib.es6.js",
                "package": "tslib",
                "package_version": "1.14.1",
                "chunk": "entry-a",
                "size_bytes": 10000,
            },
            {
                "module": "./node_modules/left-pad/index.js",
                "package": "left-pad",
                "chunk": "entry-a",
                "size_bytes": 5000,
            },
            {
                "module": "./node_modules/left-pad/index.js",
                "package": "left-pad",
                "chunk": "lazy",
                "size_bytes": 5000,
            },
        ],
        [("./src/a.js", None, "entry", "./src/a.js")],
        {"entry-a": (True, 28000), "lazy": (False, 5000)},
        [("a", "entry-a", True), ("a", "lazy", False)],
    )
    out = findings(b, only=["bundles.duplicate-package"])
    by = {r["subject"]: r for r in out.iter_rows(named=True)}
    assert set(by) == {"tslib", "left-pad"}
    assert "1.14.1, 2.6.0" in by["tslib"]["finding"] and "2 install paths" in by["tslib"]["finding"]
    assert by["tslib"]["impact"] == pytest.approx(3000, rel=0.01)  # the smaller copy, 10 000 × 0.3
    # one entry loads both chunks holding left-pad: a real double download
    assert by["left-pad"]["severity"] == "medium" and by["left-pad"]["impact"] == 1500
    assert "entry-a, lazy" in by["left-pad"]["evidence"]


def test_whole_package_with_submodules_fires_on_lodash_and_on_lodash_es() -> None:
    b = make_bundle(
        [
            {"module": "./src/a.js", "chunk": "entry-a", "size_bytes": 1000, "depth": 0},
            {
                "module": "./node_modules/lodash/lodash.js",
                "package": "lodash",
                "chunk": "entry-a",
                "size_bytes": 540000,
            },
            {
                "module": "./node_modules/lodash/debounce.js",
                "package": "lodash",
                "chunk": "entry-a",
                "size_bytes": 6000,
            },
            {
                "module": "./node_modules/lodash/isObject.js",
                "package": "lodash",
                "chunk": "entry-a",
                "size_bytes": 700,
            },
            {
                "module": "./node_modules/lodash-es/chunk.js",
                "package": "lodash-es",
                "chunk": "entry-a",
                "size_bytes": 1500,
            },
        ],
        [
            ("./src/a.js", None, "entry", "./src/a.js"),
            ("./node_modules/lodash/lodash.js", "./src/a.js", "harmony import specifier", "lodash"),
            (
                "./node_modules/lodash/debounce.js",
                "./src/a.js",
                "harmony import specifier",
                "lodash/debounce",
            ),
            (
                "./node_modules/lodash/isObject.js",
                "./node_modules/lodash/debounce.js",
                "cjs require",
                "./isObject",
            ),
            (
                "./node_modules/lodash-es/chunk.js",
                "./src/a.js",
                "harmony import specifier",
                "lodash-es",
            ),
        ],
        {"entry-a": (True, 548200)},
        [("a", "entry-a", True)],
    )
    out = findings(b, only=["bundles.whole-package-with-submodules"])
    by = {r["subject"]: r for r in out.iter_rows(named=True)}
    assert set(by) == {"lodash", "lodash + lodash-es"}
    assert by["lodash"]["impact"] == pytest.approx((6000 + 700) * 0.3, rel=0.01)
    assert "lodash/debounce" in by["lodash"]["finding"]
    assert "by path: ./src/a.js → ./node_modules/lodash/debounce.js" in by["lodash"]["evidence"]
    assert by["lodash + lodash-es"]["impact"] == pytest.approx(450, rel=0.01)


def _locales(n: int) -> Bundle:
    mods = [
        {"module": "./src/a.js", "chunk": "entry-a", "size_bytes": 1000, "depth": 0},
        {
            "module": "./node_modules/moment/moment.js",
            "package": "moment",
            "chunk": "entry-a",
            "size_bytes": 180000,
        },
    ]
    mods += [
        {
            "module": f"./node_modules/moment/locale/l{i}.js",
            "package": "moment",
            "chunk": "entry-a",
            "size_bytes": 4000,
        }
        for i in range(n)
    ]
    reasons = [
        ("./src/a.js", None, "entry", "./src/a.js"),
        ("./node_modules/moment/moment.js", "./src/a.js", "harmony import specifier", "moment"),
    ]
    reasons += [
        (
            f"./node_modules/moment/locale/l{i}.js",
            "./node_modules/moment/moment.js",
            "context element",
            f"./l{i}",
        )
        for i in range(n)
    ]
    return make_bundle(
        mods, reasons, {"entry-a": (True, 181000 + 4000 * n)}, [("a", "entry-a", True)]
    )


def test_locale_bloat_fires_past_three_locales_and_names_the_fix() -> None:
    out = findings(_locales(20), only=["bundles.locale-bloat"])
    row = out.row(0, named=True)
    assert row["subject"] == "moment locales" and row["impact"] == pytest.approx(
        20 * 4000 * 0.3, rel=0.01
    )
    assert "20 moment locales" in row["finding"]
    assert "IgnorePlugin" in row["action"] and "ContextReplacementPlugin" in row["action"]
    assert "moment-locales-webpack-plugin" in row["action"]
    assert "moment.js → ./node_modules/moment/locale/" in row["evidence"]
    assert findings(_locales(3), only=["bundles.locale-bloat"]).height == 0


def test_date_fns_locales_count_too() -> None:
    mods = [{"module": "./src/a.js", "chunk": "entry-a", "size_bytes": 1000, "depth": 0}]
    mods += [
        {
            "module": f"./node_modules/date-fns/locale/{code}.js",
            "package": "date-fns",
            "chunk": "entry-a",
            "size_bytes": 3000,
        }
        for code in ("de", "fr", "es", "it", "nl")
    ]
    mods += [
        {
            "module": "./node_modules/date-fns/locale/de/_lib/localize.js",
            "package": "date-fns",
            "chunk": "entry-a",
            "size_bytes": 3000,
        }
    ]
    b = make_bundle(
        mods,
        [("./src/a.js", None, "entry", "./src/a.js")],
        {"entry-a": (True, 19000)},
        [("a", "entry-a", True)],
    )
    row = findings(b, only=["bundles.locale-bloat"]).row(0, named=True)
    assert row["subject"] == "date-fns locales" and "5 date-fns locales" in row["finding"]


def test_cjs_bailout_fires_per_package_and_per_own_module() -> None:
    b = make_bundle(
        [
            {"module": "./src/a.js", "chunk": "entry-a", "size_bytes": 1000, "depth": 0},
            {
                "module": "./node_modules/big/index.js",
                "package": "big",
                "chunk": "entry-a",
                "size_bytes": 90000,
                "cjs_bailout": True,
                "bailouts": ["CommonJS bailout: module.exports is used directly at 3:0-14"],
            },
            {
                "module": "./src/old.js",
                "chunk": "entry-a",
                "size_bytes": 400,
                "bailouts": ["ModuleConcatenation bailout: Module is not in strict mode"],
            },
        ],
        [
            ("./src/a.js", None, "entry", "./src/a.js"),
            ("./node_modules/big/index.js", "./src/a.js", "harmony import specifier", "big"),
            ("./src/old.js", "./src/a.js", "harmony import specifier", "./old.js"),
        ],
        {"entry-a": (True, 91400)},
        [("a", "entry-a", True)],
    )
    out = findings(b, only=["bundles.cjs-bailout"])
    by = {r["subject"]: r for r in out.iter_rows(named=True)}
    assert set(by) == {"big", "./src/old.js"}
    assert by["big"]["severity"] == "medium" and by["big"]["impact"] == pytest.approx(
        27000, rel=0.01
    )
    assert "module.exports is used directly" in by["big"]["evidence"]
    assert by["./src/old.js"]["severity"] == "low" and "ES module" in by["./src/old.js"]["action"]


def _split(route_dynamic: bool) -> Bundle:
    kind = "import()" if route_dynamic else "harmony import specifier"
    route_chunk = "route" if route_dynamic else "entry-a"
    return make_bundle(
        [
            {"module": "./src/a.js", "chunk": "entry-a", "size_bytes": 2000, "depth": 0},
            {"module": "./src/b.js", "chunk": "entry-b", "size_bytes": 2000, "depth": 0},
            {"module": "./src/routes/report.js", "chunk": route_chunk, "size_bytes": 1000},
            {"module": "./src/data/table.js", "chunk": route_chunk, "size_bytes": 80000},
            {"module": "./src/shared.js", "chunk": "entry-a", "size_bytes": 50000},
            {"module": "./src/shared.js", "chunk": "entry-b", "size_bytes": 50000},
        ],
        [
            ("./src/a.js", None, "entry", "./src/a.js"),
            ("./src/b.js", None, "entry", "./src/b.js"),
            ("./src/routes/report.js", "./src/a.js", kind, "./routes/report.js"),
            (
                "./src/data/table.js",
                "./src/routes/report.js",
                "harmony import specifier",
                "../data/table.js",
            ),
            ("./src/shared.js", "./src/a.js", "harmony import specifier", "./shared.js"),
            ("./src/shared.js", "./src/b.js", "harmony import specifier", "./shared.js"),
        ],
        {
            "entry-a": (True, 52000 + (0 if route_dynamic else 81000)),
            "entry-b": (True, 52000),
            **({"route": (False, 81000)} if route_dynamic else {}),
        },
        [("a", "entry-a", True), ("b", "entry-b", True)]
        + ([("a", "route", False)] if route_dynamic else []),
    )


def test_dynamic_import_candidate_fires_on_a_static_route_only() -> None:
    out = findings(_split(False), only=["bundles.dynamic-import-candidate"])
    assert out.height == 1
    row = out.row(0, named=True)
    # the weight is in the table, reached through the route: the chain says so
    assert row["subject"] == "./src/data/table.js (entry a)"
    assert "./src/a.js → ./src/routes/report.js → ./src/data/table.js" in row["evidence"]
    assert row["impact"] == pytest.approx(80000 * 0.3, rel=0.02)
    assert "import(" in row["action"]
    # shared code both entries need is never a candidate; a lazy route is quiet
    assert "shared" not in " ".join(out["subject"].to_list())
    assert findings(_split(True), only=["bundles.dynamic-import-candidate"]).height == 0


def test_initial_over_budget_states_the_profile_and_the_bytes() -> None:
    b = _split(False)  # entry a: 133 000 raw, 39 900 gzip at start
    quiet = findings(b, only=["bundles.initial-over-budget"])
    assert quiet.height == 0  # under the default 170 kB
    out = findings(b, budget_bytes=30_000, only=["bundles.initial-over-budget"])
    row = out.row(0, named=True)
    assert row["subject"] == "entry a" and row["impact"] == pytest.approx(9900)
    assert "Slow 4G" in row["finding"] and "150 ms RTT" in row["finding"]
    assert "Regular 3G" in row["evidence"] and "4G (Lighthouse desktop)" in row["evidence"]
    crit = findings(b, budget_bytes=15_000, only=["bundles.initial-over-budget"])
    assert crit["severity"][0] == "critical"
    timed = findings(b, budget_bytes=None, budget_ms=300, only=["bundles.initial-over-budget"])
    assert timed.height == 1 and "300 ms on Slow 4G" in timed["finding"][0]


def test_the_sample_build_fires_what_its_app_plants(webpack_a: Bundle) -> None:
    out = findings(webpack_a)
    by: dict[str, list[dict[str, Any]]] = {}
    for r in out.iter_rows(named=True):
        by.setdefault(r["rule"], []).append(r)
    # main imports all of lodash, admin lodash/debounce
    assert [r["subject"] for r in by["bundles.whole-package-with-submodules"]] == ["lodash"]
    # moment with every locale
    (loc,) = by["bundles.locale-bloat"]
    assert loc["subject"] == "moment locales" and loc["impact"] > 30_000
    # lodash and moment are CommonJS, and so is src/legacy.js
    cjs = {r["subject"] for r in by["bundles.cjs-bailout"]}
    assert {"lodash", "moment", "./src/legacy.js"} <= cjs
    # the country table only the reports route uses sits in main's initial download
    (dyn,) = by["bundles.dynamic-import-candidate"]
    # the import to make lazy is main's static import of the reports route; the country
    # table it drags in is the biggest part of the saving
    assert "reports.js" in dyn["subject"] and "(entry main)" in dyn["subject"]
    assert "countries.js" in dyn["evidence"]
    # date-fns functions ship in two chunks
    assert "date-fns" in {r["subject"] for r in by["bundles.duplicate-package"]}
    # the sample is under 170 kB gzip at start; a 100 kB budget catches main
    assert "bundles.initial-over-budget" not in by
    over = findings(webpack_a, budget_bytes=100_000, only=["bundles.initial-over-budget"])
    assert over["subject"].to_list() == ["entry main"]
    assert "(gzip, measured)" in over["finding"][0]


def test_findings_via_the_bundle_method(webpack_a: Bundle) -> None:
    assert webpack_a.findings().height == findings(webpack_a).height

"""Why chains: shortest first, cycle-safe, through packages and concatenated modules."""

from __future__ import annotations

import pytest

from perflab.bundles.model import Bundle
from perflab.bundles.why import import_graph, why_chains, why_table
from perflab.errors import ParameterError

from .test_rules import make_bundle


def cyclic() -> Bundle:
    mods = [
        {"module": m, "chunk": "entry-a", "size_bytes": 100}
        for m in ("./a.js", "./b.js", "./c.js", "./d.js")
    ]
    mods[0]["depth"] = 0
    return make_bundle(
        mods,
        [
            ("./a.js", None, "entry", "./a.js"),
            ("./b.js", "./a.js", "harmony import specifier", "./b"),
            ("./c.js", "./b.js", "harmony import specifier", "./c"),
            ("./b.js", "./c.js", "harmony import specifier", "./b"),  # a cycle
            ("./d.js", "./c.js", "harmony import specifier", "./d"),
            ("./d.js", "./a.js", "import()", "./d"),
            ("./d.js", "./d.js", "cjs self exports reference", ""),
        ],
        {"entry-a": (True, 400)},
        [("a", "entry-a", True)],
    )


def test_shortest_first_and_cycle_safe() -> None:
    assert why_chains(cyclic(), "./d.js") == [
        ["./a.js", "./d.js"],
        ["./a.js", "./b.js", "./c.js", "./d.js"],
    ]
    assert why_chains(cyclic(), "./d.js", static=True) == [["./a.js", "./b.js", "./c.js", "./d.js"]]
    assert why_chains(cyclic(), "./d.js", max_chains=1) == [["./a.js", "./d.js"]]
    assert why_chains(cyclic(), "d.js") == why_chains(cyclic(), "./d.js")  # its path
    assert why_chains(cyclic(), "./nowhere.js") == []


def test_why_table_says_how_each_step_imports_the_next() -> None:
    t = why_table(cyclic(), "./d.js")
    first = t.filter(t["chain"] == 1)
    assert first["via"].to_list() == [None, "import()"]
    assert first["request"].to_list() == [None, "./d"]


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError):
        why_chains(cyclic(), "./d.js", max_chains=0)
    with pytest.raises(ParameterError):
        why_chains(cyclic(), "")


def test_a_large_graph_stays_fast() -> None:
    # a ladder with 2^40 paths: the walk is bounded by max_chains per module
    n = 40
    mods = [{"module": f"./m{i}.js", "chunk": "entry-a", "size_bytes": 1} for i in range(2 * n + 1)]
    reasons = [("./m0.js", None, "entry", "./m0.js")]
    for i in range(n):
        for j in (2 * i + 1, 2 * i + 2):
            reasons.append((f"./m{j}.js", f"./m{2 * i}.js", "import", ""))
            if j == 2 * i + 2:
                reasons.append((f"./m{j}.js", f"./m{2 * i + 1}.js", "import", ""))
    b = make_bundle(mods, reasons, {"entry-a": (True, 100)}, [("a", "entry-a", True)])
    chains = why_chains(b, f"./m{2 * n}.js", max_chains=5)
    assert len(chains) == 5 and all(c[0] == "./m0.js" for c in chains)
    assert len(chains[0]) == n + 1


def test_sample_chains(webpack_a: Bundle) -> None:
    # main imports the reports route statically, admin through import()
    assert sorted(why_chains(webpack_a, "countries")) == [
        ["./src/admin.js", "./src/routes/reports.js", "./src/data/countries.js"],
        ["./src/main.js", "./src/routes/reports.js", "./src/data/countries.js"],
    ]
    assert why_chains(webpack_a, "countries", static=True) == [
        ["./src/main.js", "./src/routes/reports.js", "./src/data/countries.js"]
    ]
    lodash = why_chains(webpack_a, "lodash")
    assert ["./src/main.js", "./node_modules/lodash/lodash.js"] in lodash
    assert ["./src/admin.js", "./node_modules/lodash/debounce.js"] in lodash
    ru = why_chains(webpack_a, "./node_modules/moment/locale/ru.js", 1)[0]
    assert ru[1:] == [
        "./node_modules/moment/moment.js",
        "./node_modules/moment/locale/ sync ^\\.\\/.*$",
        "./node_modules/moment/locale/ru.js",
    ]
    # webpack's concatenated roots stand for their own module
    assert "./src/main.js" in import_graph(webpack_a).entries

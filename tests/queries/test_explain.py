"""Plan checks (:func:`perflab.queries.explain_findings`) on real and hand-made plans.

The real plans are ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` output captured by
``data/make/queries_real.py`` (its ``EXPLAINS`` dict says which problem each one was
made to show); the hand-made ones sit just either side of a threshold.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from perflab.errors import InputError
from perflab.queries import PLAN_FINDINGS, explain_findings, explain_plans, load_plan
from perflab.queries.explain import PLAN_RULES, _self_ms, plan_nodes

EXPLAIN_DIR = Path(__file__).resolve().parents[2] / "data" / "sample" / "queries" / "explain"
PLAN_NAMES = sorted(p.stem for p in EXPLAIN_DIR.glob("*.json") if p.stem != "queries")


def real(name: str) -> Path:
    return EXPLAIN_DIR / f"{name}.json"


def rules_of(found: pl.DataFrame) -> set[str]:
    return set(found.get_column("rule"))


def only(found: pl.DataFrame, rule: str) -> dict[str, Any]:
    rows = found.filter(pl.col("rule") == rule).to_dicts()
    assert len(rows) == 1, found
    return rows[0]


def analyzed(node: dict[str, Any], execution_ms: float | None = None) -> list[dict[str, Any]]:
    """A plan document as ``EXPLAIN (ANALYZE, FORMAT JSON)`` returns it."""
    doc: dict[str, Any] = {"Plan": node}
    if execution_ms is not None:
        doc["Execution Time"] = execution_ms
    return [doc]


def scan(plan_rows: float, actual_rows: float, loops: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "Node Type": "Index Scan",
        "Relation Name": "orders",
        "Index Name": "orders_pkey",
        "Plan Rows": plan_rows,
        "Actual Rows": actual_rows,
        "Actual Loops": loops,
        "Actual Total Time": 0.01,
        **extra,
    }


# ---------------------------------------------------------------------------------------
# the real plans


def test_the_sample_holds_every_plan_the_capture_script_names():
    queries = json.loads((EXPLAIN_DIR / "queries.json").read_text())
    assert sorted(queries) == PLAN_NAMES
    assert len(PLAN_NAMES) == 8


def test_seq_scan_filter_is_flagged_on_orders_with_its_filter():
    found = explain_findings(real("seq_scan_filter"))
    row = only(found, "queries.plan-seq-scan-filter")
    assert row["relation"] == "orders"
    assert row["severity"] == "high"
    assert row["node"] == "Seq Scan on orders"
    assert "(user_id = 42)" in row["evidence"]
    assert "49,990" in row["evidence"]  # rows removed by the filter
    assert "recommend_indexes" in row["action"]


@pytest.mark.parametrize("name", ["sort_spill", "hash_agg_spill"])
def test_sorts_that_went_to_disk_are_flagged(name):
    found = explain_findings(real(name))
    spills = found.filter(pl.col("rule") == "queries.plan-sort-spill")
    assert spills.height >= 1
    assert set(spills.get_column("severity")) == {"high"}
    for r in spills.iter_rows(named=True):
        assert "external merge" in r["evidence"]
        assert "work_mem" in r["action"]


def test_the_biggest_spill_comes_first():
    # hash_agg_spill: the planner chose sort + group aggregate; both sorts spilled
    found = explain_findings(real("hash_agg_spill"))
    spills = found.filter(pl.col("rule") == "queries.plan-sort-spill")
    assert spills.height == 2
    assert "1080 kB" in spills.item(0, "evidence")
    node_ms = spills.get_column("node_ms").to_list()
    assert node_ms == sorted(node_ms, reverse=True)


@pytest.mark.parametrize(("name", "work_mem"), [("sort_spill", "8MB"), ("hash_agg_spill", "4MB")])
def test_the_work_mem_suggested_is_twice_the_spill_and_at_least_4mb(name, work_mem):
    # sort_spill used 3864 kB on disk: 2 × 3864 kB rounds up to 8 MB; 1080 kB gives 4 MB
    spills = explain_findings(real(name)).filter(pl.col("rule") == "queries.plan-sort-spill")
    assert f"SET LOCAL work_mem = '{work_mem}'" in spills.item(0, "action")


def test_misestimate_is_flagged_with_its_factor():
    found = explain_findings(real("misestimate"))
    row = only(found, "queries.plan-misestimate")
    # Plan Rows 250, Actual Rows 25000: 100× more rows than estimated
    assert row["severity"] == "high"
    assert row["relation"] == "orders"
    assert "100× more rows than estimated" in row["finding"]
    assert "Plan Rows 250, Actual Rows 25000" in row["evidence"]
    assert "ANALYZE orders" in row["action"]


def test_nested_loop_over_a_filtered_index_scan_is_flagged():
    found = explain_findings(real("nested_loop"))
    row = only(found, "queries.plan-nested-loop")
    assert row["severity"] == "high"
    assert "150,000 times" in row["finding"]
    assert "Index Scan on orders using orders_pkey" in row["finding"]


def test_nested_loop_time_counts_every_loop_of_the_inner_side():
    # the inner index scan: 0.001 ms per loop × 150,000 loops = 150 ms, most of the query
    found = explain_findings(real("nested_loop"))
    hot = only(found, "queries.plan-hot-node")
    assert hot["node"] == "Index Scan on orders using orders_pkey"
    assert hot["node_ms"] == pytest.approx(150.0)
    assert hot["path"] == "Plan → Plans[1]"


def test_index_only_scan_with_heap_fetches_is_flagged():
    found = explain_findings(real("index_only_heap_fetches"))
    row = only(found, "queries.plan-heap-fetches")
    assert row["severity"] == "medium"
    assert row["relation"] == "events"
    assert "Heap Fetches 10,290" in row["evidence"]
    assert row["action"].startswith("VACUUM events")


def test_workers_planned_but_not_launched_are_flagged():
    found = explain_findings(real("workers_not_launched"))
    row = only(found, "queries.plan-workers")
    assert row["severity"] == "medium"
    assert row["node"] == "Gather Merge"
    assert row["evidence"] == "Workers Planned 2, Workers Launched 0"


def test_a_good_index_scan_gives_nothing_to_fix():
    found = explain_findings(real("good_index_scan"))
    # at most the informational hot node (here not even that: 0.03 ms in all)
    assert rules_of(found) <= {"queries.plan-hot-node"}
    assert set(found.get_column("severity")) <= {"info"}
    assert found.schema == pl.Schema(PLAN_FINDINGS.dtypes())


@pytest.mark.parametrize("name", PLAN_NAMES)
def test_findings_have_the_plan_findings_schema_and_known_rules(name):
    found = explain_findings(real(name))
    assert found.schema == pl.Schema(PLAN_FINDINGS.dtypes())
    assert rules_of(found) <= set(PLAN_RULES)
    for r in found.iter_rows(named=True):
        assert r["finding"] and r["action"] and r["evidence"]
        assert r["path"].startswith("Plan")


@pytest.mark.parametrize("name", PLAN_NAMES)
def test_exclusive_node_times_add_up_to_the_execution_time(name):
    doc = load_plan(real(name))
    own = [_self_ms(node) for _, node in plan_nodes(doc)]
    assert all(t is not None and t >= 0 for t in own)
    total = sum(t for t in own if t is not None)
    execution = doc["Execution Time"]
    # Execution Time adds executor start-up and shut-down to the nodes' time
    assert total <= execution
    assert total == pytest.approx(execution, abs=0.1 * execution + 0.05)


@pytest.mark.parametrize("name", PLAN_NAMES)
def test_a_findings_time_is_its_nodes_own_time_and_share(name):
    doc = load_plan(real(name))
    nodes = dict(plan_nodes(doc))
    for r in explain_findings(doc).iter_rows(named=True):
        assert r["node_ms"] == pytest.approx(_self_ms(nodes[r["path"]]))
        assert r["share_pct"] == pytest.approx(r["node_ms"] / doc["Execution Time"] * 100)
        assert 0 <= r["share_pct"] <= 100


def test_findings_are_ordered_by_node_time():
    found = explain_findings(real("nested_loop"))
    node_ms = found.get_column("node_ms").to_list()
    assert node_ms == sorted(node_ms, reverse=True)


@pytest.mark.parametrize("form", ["path", "str path", "text", "list", "dict"])
def test_every_accepted_form_of_a_plan_gives_the_same_findings(form):
    path = real("seq_scan_filter")
    text = path.read_text()
    plan: Any = {
        "path": path,
        "str path": str(path),
        "text": text,
        "list": json.loads(text),
        "dict": json.loads(text)[0],
    }[form]
    assert explain_findings(plan).equals(explain_findings(path))


# ---------------------------------------------------------------------------------------
# thresholds, on hand-made plans


def test_hash_in_several_batches_is_a_spill():
    node = {
        "Node Type": "Hash",
        "Hash Batches": 4,
        "Original Hash Batches": 1,
        "Peak Memory Usage": 4100,
        "Plan Rows": 100000,
        "Actual Rows": 100000,
        "Actual Loops": 1,
        "Actual Total Time": 20.0,
    }
    row = only(explain_findings(analyzed(node, 25.0)), "queries.plan-hash-spill")
    assert row["severity"] == "high"
    assert "4 batches" in row["finding"]


def test_hash_in_one_batch_is_not_a_spill():
    node = {
        "Node Type": "Hash",
        "Hash Batches": 1,
        "Peak Memory Usage": 900,
        "Plan Rows": 1000,
        "Actual Rows": 1000,
        "Actual Loops": 1,
        "Actual Total Time": 0.5,
    }
    assert "queries.plan-hash-spill" not in rules_of(explain_findings(analyzed(node, 10.0)))


def test_hash_aggregate_that_wrote_to_disk_is_a_spill():
    node = {
        "Node Type": "Aggregate",
        "Strategy": "Hashed",
        "HashAgg Batches": 5,
        "Disk Usage": 1544,
        "Peak Memory Usage": 4145,
        "Plan Rows": 5000,
        "Actual Rows": 5000,
        "Actual Loops": 1,
        "Actual Total Time": 30.0,
    }
    row = only(explain_findings(analyzed(node, 31.0)), "queries.plan-hash-spill")
    assert "5 batches" in row["finding"] and "1,544 kB on disk" in row["finding"]


@pytest.mark.parametrize(
    ("plan_rows", "actual_rows", "severity"),
    [
        (10, 90, None),  # 9×: not flagged
        (10, 100, "medium"),  # 10×
        (10, 999, "medium"),
        (10, 1000, "high"),  # 100×
        (10, 10000, "critical"),  # 1000×
        (100000, 100, "critical"),  # 1000× fewer than estimated
        (1000, 100, "medium"),  # 10× fewer
    ],
)
def test_misestimate_severity_grows_with_the_factor(plan_rows, actual_rows, severity):
    found = explain_findings(analyzed(scan(plan_rows, actual_rows), 1.0))
    mis = found.filter(pl.col("rule") == "queries.plan-misestimate")
    if severity is None:
        assert mis.height == 0
    else:
        assert mis.get_column("severity").to_list() == [severity]
        way = "more" if actual_rows > plan_rows else "fewer"
        assert f"× {way} rows than estimated" in mis.item(0, "finding")


def test_an_estimate_of_one_row_per_loop_that_finds_none_is_not_a_misestimate():
    # PostgreSQL never estimates below one row; a lookup that finds nothing in each of
    # 150,000 loops (the real nested_loop plan's inner side) was estimated right
    found = explain_findings(analyzed(scan(1, 0, loops=150_000), 200.0))
    assert "queries.plan-misestimate" not in rules_of(found)


def test_the_real_inner_lookup_of_one_row_per_loop_is_not_a_misestimate():
    found = explain_findings(real("nested_loop"))
    mis = found.filter(pl.col("rule") == "queries.plan-misestimate")
    assert "Plans[1]" not in " ".join(mis.get_column("path").to_list())


def test_a_misestimate_on_too_few_rows_to_matter_is_not_flagged():
    # 1 estimated, 50 found: a factor of 50 but on 50 rows, below the 100-row floor
    found = explain_findings(analyzed(scan(1, 50), 1.0))
    assert "queries.plan-misestimate" not in rules_of(found)


def test_misestimate_threshold_is_a_parameter():
    plan = analyzed(scan(10, 500), 1.0)  # 50×
    assert "queries.plan-misestimate" in rules_of(explain_findings(plan))
    assert "queries.plan-misestimate" not in rules_of(explain_findings(plan, misestimate=100))


def test_seq_scan_filter_needs_enough_rows_and_most_of_them_thrown_away():
    def seq(removed: int, kept: int) -> list[dict[str, Any]]:
        return analyzed(
            {
                "Node Type": "Seq Scan",
                "Relation Name": "orders",
                "Filter": "(status = 'new'::text)",
                "Plan Rows": kept,
                "Actual Rows": kept,
                "Actual Loops": 1,
                "Actual Total Time": 5.0,
                "Rows Removed by Filter": removed,
            },
            5.1,
        )

    assert "queries.plan-seq-scan-filter" in rules_of(explain_findings(seq(9000, 1000)))
    assert "queries.plan-seq-scan-filter" not in rules_of(explain_findings(seq(8000, 2000)))
    assert "queries.plan-seq-scan-filter" not in rules_of(explain_findings(seq(999, 0)))
    assert "queries.plan-seq-scan-filter" in rules_of(explain_findings(seq(999, 0), min_rows=10))


def test_nested_loop_of_fast_index_lookups_is_not_flagged():
    node = {
        "Node Type": "Nested Loop",
        "Plan Rows": 5000,
        "Actual Rows": 5000,
        "Actual Loops": 1,
        "Actual Total Time": 40.0,
        "Plans": [
            {
                "Node Type": "Seq Scan",
                "Relation Name": "orders",
                "Plan Rows": 5000,
                "Actual Rows": 5000,
                "Actual Loops": 1,
                "Actual Total Time": 20.0,
            },
            scan(1, 1, loops=5000, **{"Actual Total Time": 0.002}),  # 10 ms of 40 ms
        ],
    }
    assert "queries.plan-nested-loop" not in rules_of(explain_findings(analyzed(node, 41.0)))


# ---------------------------------------------------------------------------------------
# plans without ANALYZE


def without_analyze(doc: Any) -> Any:
    """The plan as plain ``EXPLAIN (FORMAT JSON)`` gives it: no actual rows, times, loops."""
    drop = ("Actual", "Rows Removed", "Heap Fetches", "Workers Launched", "Sort Space")
    drop += ("Sort Method", "Hash Batches", "HashAgg Batches", "Disk Usage", "Peak Memory")
    drop += ("Shared ", "Local ", "Temp ", "I/O ", "Execution Time", "Planning")
    if isinstance(doc, dict):
        return {k: without_analyze(v) for k, v in doc.items() if not k.startswith(drop)}
    if isinstance(doc, list):
        return [without_analyze(v) for v in doc]
    return doc


@pytest.mark.parametrize("name", PLAN_NAMES)
def test_a_plan_without_analyze_gives_no_finding_that_needs_actual_rows(name):
    plan = without_analyze(json.loads(real(name).read_text()))
    found = explain_findings(plan)
    assert found.height == 0  # every check of the real plans needed ANALYZE
    assert found.schema == pl.Schema(PLAN_FINDINGS.dtypes())


def test_a_plan_without_analyze_still_runs_the_structural_checks():
    # no actual rows or times: no seq-scan, misestimate or hot-node verdict, but what
    # the plan's structure says (workers, an external sort) is still reported
    node = {
        "Node Type": "Gather Merge",
        "Workers Planned": 4,
        "Workers Launched": 1,
        "Plan Rows": 10,
        "Plans": [
            {
                "Node Type": "Sort",
                "Sort Key": ["price"],
                "Sort Method": "external merge",
                "Sort Space Used": 2048,
                "Sort Space Type": "Disk",
                "Plan Rows": 10,
                "Plans": [
                    {
                        "Node Type": "Seq Scan",
                        "Relation Name": "orders",
                        "Filter": "(user_id = 42)",
                        "Plan Rows": 10,
                        "Rows Removed by Filter": 99990,
                    }
                ],
            }
        ],
    }
    found = explain_findings(analyzed(node))
    assert rules_of(found) == {"queries.plan-workers", "queries.plan-sort-spill"}
    assert found.get_column("node_ms").null_count() == found.height
    assert found.get_column("share_pct").null_count() == found.height


def test_a_hand_made_plan_without_execution_time_has_no_share():
    node = {
        "Node Type": "Seq Scan",
        "Relation Name": "orders",
        "Filter": "(user_id = 42)",
        "Plan Rows": 10,
        "Actual Rows": 9,
        "Actual Loops": 1,
        "Actual Total Time": 4.2,
        "Rows Removed by Filter": 49991,
    }
    row = only(explain_findings(analyzed(node)), "queries.plan-seq-scan-filter")
    assert row["node_ms"] == pytest.approx(4.2)
    assert row["share_pct"] is None


def test_parallel_nodes_are_not_counted_once_per_worker():
    # shape and figures of a real plan (PostgreSQL 15, 2,000,000 rows, 2 workers launched)
    seq = {
        "Node Type": "Seq Scan",
        "Parallel Aware": True,
        "Relation Name": "t",
        "Filter": "(v < 50)",
        "Plan Rows": 416667,
        "Actual Rows": 333333,
        "Actual Loops": 3,
        "Actual Total Time": 116.322,
        "Rows Removed by Filter": 333334,
    }
    agg = {
        "Node Type": "Aggregate",
        "Strategy": "Hashed",
        "Plan Rows": 50,
        "Actual Rows": 50,
        "Actual Loops": 3,
        "Actual Total Time": 192.262,
        "HashAgg Batches": 1,
        "Disk Usage": 0,
        "Plans": [seq],
    }
    sort = {
        "Node Type": "Sort",
        "Sort Key": ["v"],
        "Sort Method": "quicksort",
        "Sort Space Type": "Memory",
        "Plan Rows": 50,
        "Actual Rows": 50,
        "Actual Loops": 3,
        "Actual Total Time": 192.308,
        "Plans": [agg],
    }
    gather = {
        "Node Type": "Gather Merge",
        "Workers Planned": 2,
        "Workers Launched": 2,
        "Plan Rows": 100,
        "Actual Rows": 150,
        "Actual Loops": 1,
        "Actual Total Time": 216.428,
        "Plans": [sort],
    }
    root = {
        "Node Type": "Aggregate",
        "Strategy": "Sorted",
        "Plan Rows": 50,
        "Actual Rows": 50,
        "Actual Loops": 1,
        "Actual Total Time": 216.463,
        "Plans": [gather],
    }
    found = explain_findings(analyzed(root, 216.553))
    assert (found.get_column("share_pct") <= 100).all()
    assert found.filter(pl.col("rule") == "queries.plan-hot-node").height <= 1
    # below the Gather, 3 loops ran at once (2 workers launched + the leader): the scan's
    # own time is 116.322 × 3 / 3, not × 3; 54 % of the execution, the hot node
    hot = found.filter(pl.col("rule") == "queries.plan-hot-node").row(0, named=True)
    assert hot["node"].startswith("Seq Scan")
    assert hot["node_ms"] == pytest.approx(116.322)
    assert hot["share_pct"] == pytest.approx(100 * 116.322 / 216.553)


# ---------------------------------------------------------------------------------------
# bad input


def test_text_that_is_not_json_is_an_input_error():
    with pytest.raises(InputError, match="not JSON"):
        explain_findings('[{"Plan": {"Node Type": "Result"}')


def test_a_file_that_is_not_json_is_an_input_error_naming_the_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("Seq Scan on orders  (cost=0.00..1.00 rows=1 width=4)\n")
    with pytest.raises(InputError, match="not JSON") as info:
        explain_findings(path)
    assert info.value.source == str(path)


def test_a_list_of_two_plans_is_an_input_error():
    doc = json.loads(real("good_index_scan").read_text())
    with pytest.raises(InputError, match="list of 2"):
        explain_findings(doc + copy.deepcopy(doc))


@pytest.mark.parametrize(
    "doc",
    [
        [{"Execution Time": 1.0}],
        {"Planning Time": 0.1},
        [{"Plan": "Seq Scan"}],
        [],
        [42],
    ],
)
def test_json_without_a_plan_object_is_an_input_error(doc):
    with pytest.raises(InputError):
        explain_findings(doc)


def test_a_path_that_does_not_exist_is_an_input_error(tmp_path):
    missing = tmp_path / "nowhere" / "plan.json"
    with pytest.raises(InputError, match="no such file") as info:
        explain_findings(missing)
    assert info.value.source == str(missing)
    with pytest.raises(InputError, match="no such file"):
        explain_findings(str(missing))


def test_the_input_plan_is_not_modified():
    doc = json.loads(real("nested_loop").read_text())
    before = copy.deepcopy(doc)
    explain_findings(doc)
    assert doc == before


# --------------------------------------------------------------------------- explain_plans


def test_explain_plans_of_a_mapping_names_each_plan() -> None:
    found = explain_plans({"sort": real("sort_spill"), "scan": real("seq_scan_filter")})
    assert found.columns == ["plan", *PLAN_FINDINGS.names]
    for name, path in (("sort", real("sort_spill")), ("scan", real("seq_scan_filter"))):
        mine = found.filter(pl.col("plan") == name).drop("plan")
        assert mine.height > 0
        assert mine.equals(explain_findings(path))


def test_explain_plans_of_a_folder_leaves_out_what_is_not_a_plan(tmp_path: Path) -> None:
    (tmp_path / "spill.json").write_text(real("sort_spill").read_text())
    (tmp_path / "notes.json").write_text('{"not": "a plan"}')
    (tmp_path / "readme.txt").write_text("not json")
    found = explain_plans(tmp_path)
    assert set(found.get_column("plan")) == {"spill"}
    assert found.drop("plan").equals(explain_findings(real("sort_spill")))


def test_explain_plans_of_nothing_and_of_a_missing_folder(tmp_path: Path) -> None:
    assert explain_plans({}).columns == ["plan", *PLAN_FINDINGS.names]
    assert explain_plans({}).height == 0
    with pytest.raises(InputError, match="no such folder"):
        explain_plans(tmp_path / "missing")

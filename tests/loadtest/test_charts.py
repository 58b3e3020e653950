"""The load-testing charts: what a reader would see is in the spec, and it stays small."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from perflab.loadtest import compare, summary, timeline
from perflab.loadtest.charts import (
    VERDICT_COLORS,
    comparison_chart,
    latency_distribution,
    latency_over_time,
    service_vs_corrected,
    summary_table,
    throughput_chart,
    tools_table,
)
from perflab.loadtest.schema import COMPARISON, REQUESTS, SUMMARY, TIMELINE
from tests.loadtest.test_rules import open_run


@pytest.fixture(scope="module")
def runs() -> dict[str, pl.DataFrame]:
    return {
        "baseline": open_run(200, 20, connections=4, stall_every=5, stall_ms=200, seed=1),
        "candidate": open_run(200, 20, slowdown=1.3, errors=0.02, seed=2),
    }


def rows(spec: dict) -> int:
    """Every data row the chart embeds."""
    return sum(len(v) for v in spec.get("datasets", {}).values())


def note_of(chart) -> str:
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "text"
    return next(iter(spec["datasets"].values()))[0]["text"]


def test_throughput_one_run_draws_errors_beneath_the_rate(runs):
    spec = throughput_chart(timeline(runs["candidate"])).to_dict()
    area, line = spec["layer"]
    assert area["mark"]["type"] == "area" and area["encoding"]["y"]["field"] == "errors_per_s"
    assert line["encoding"]["y"]["field"] == "rps"
    assert rows(spec) == 20  # one row per second


def test_throughput_overlays_runs_in_palette_colours(runs):
    spec = throughput_chart({k: timeline(v) for k, v in runs.items()}).to_dict()
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["domain"] == ["baseline", "candidate"]
    assert scale["range"] == ["#2563eb", "#f97316"]
    assert spec["layer"][1]["mark"]["strokeDash"]  # errors dashed
    # a run column works the same as a dict
    both = pl.concat([timeline(v).with_columns(run=pl.lit(k)) for k, v in runs.items()])
    again = throughput_chart(both).to_dict()["layer"][0]["encoding"]["color"]["scale"]
    assert again["domain"] == ["baseline", "candidate"]


def test_a_long_timeline_is_coarsened_not_embedded_whole():
    long = pl.DataFrame(
        {
            "second": np.arange(20_000, dtype=float),
            "name": "all",
            "requests": 100,
            "rps": 100.0,
            "errors": 1,
            "p50_ms": 5.0,
            "p95_ms": 9.0,
            "p99_ms": np.where(np.arange(20_000) == 777, 900.0, 12.0),
            "service_p95_ms": 8.0,
        }
    )
    spec = throughput_chart(long, max_points=1_000).to_dict()
    data = next(iter(spec["datasets"].values()))
    assert len(data) <= 1_000
    assert data[0]["rps"] == pytest.approx(100.0)  # a rate stays a rate when windows merge
    lat = latency_over_time(long, max_points=1_000).to_dict()
    assert rows(lat) <= 4 * 1_000
    # a spike in one window survives the merge: tails keep their maximum
    assert max(r["ms"] for r in next(iter(lat["datasets"].values()))) == 900.0


def test_latency_over_time_shows_percentiles_and_the_service_p95(runs):
    spec = latency_over_time(timeline(runs["baseline"])).to_dict()
    enc = spec["layer"][0]["encoding"]
    assert enc["color"]["scale"]["domain"] == ["p50", "p95", "p99", "service p95"]
    assert enc["strokeDash"]["field"] == "percentile"
    several = latency_over_time({k: timeline(v) for k, v in runs.items()}).to_dict()
    enc = several["layer"][0]["encoding"]
    assert (
        enc["color"]["field"] == "run" and "service p95" not in enc["strokeDash"]["scale"]["domain"]
    )
    log = latency_over_time(timeline(runs["baseline"]), log=True).to_dict()
    assert log["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


def test_latency_without_an_all_row_merges_the_names():
    tl = pl.DataFrame(
        {
            "second": [0.0, 0.0],
            "name": ["a", "b"],
            "requests": [30, 10],
            "rps": [30.0, 10.0],
            "errors": [0, 2],
            "p50_ms": [10.0, 50.0],
            "p95_ms": [20.0, 90.0],
            "p99_ms": [30.0, 99.0],
            "service_p95_ms": [None, None],
        }
    )
    data = next(iter(throughput_chart(tl).to_dict()["datasets"].values()))
    assert data == [
        {
            "run": "run",
            "second": 0.0,
            "requests": 40,
            "rps": 40.0,
            "errors": 2,
            "errors_per_s": 2.0,
        }
    ]
    lat = next(iter(latency_over_time(tl).to_dict()["datasets"].values()))
    by = {r["percentile"]: r["ms"] for r in lat}
    assert by == {"p50": 20.0, "p95": 90.0, "p99": 99.0}  # weighted median, worst tails


def test_latency_distribution_bins_a_million_requests_to_a_few_rows():
    rng = np.random.default_rng(0)
    big = pl.DataFrame({"latency_ms": rng.lognormal(2, 0.6, 1_000_000)})
    spec = latency_distribution(big, bins=50).to_dict()
    assert rows(spec) == 51 + 3  # bins (and the closing edge), three percentile marks
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    assert len(json.dumps(spec)) < 30_000
    marks = next(r for r in spec["datasets"].values() if len(r) == 3)
    assert [m["label"] for m in marks] == ["p50", "p95", "p99"]
    assert marks[0]["value"] == pytest.approx(np.exp(2), rel=0.02)


def test_latency_distribution_colours_each_run_and_draws_an_ecdf(runs):
    spec = latency_distribution(runs, kind="ecdf", bins=25).to_dict()
    curve = spec["layer"][0]
    assert curve["mark"]["type"] == "line" and curve["encoding"]["y"]["field"] == "q"
    assert curve["encoding"]["color"]["scale"]["domain"] == ["baseline", "candidate"]
    assert rows(spec) == 2 * (4 * 25 + 1) + 2 * 3
    with pytest.raises(ValueError):
        latency_distribution(runs, kind="violin")


@pytest.mark.parametrize("kind", ["histogram", "ecdf"])
def test_latency_distribution_counts_0_ms_requests_in_a_floor_bin(kind):
    # a tool of 1 ms resolution writes 0 for fast requests: they are requests all the same
    r = pl.DataFrame(
        {
            "start": [i / 10 for i in range(100)],
            "latency_ms": [0.0] * 45 + [float(i) for i in range(1, 56)],
        }
    )
    spec = latency_distribution(r, kind=kind, bins=20).to_dict()
    data = list(spec["datasets"].values())
    marks = next(rows for rows in data if rows and "label" in rows[0])
    s = summary(r).row(0, named=True)
    assert {m["label"]: m["value"] for m in marks} == {
        "p50": pytest.approx(s["p50_ms"]),
        "p95": pytest.approx(s["p95_ms"]),
        "p99": pytest.approx(s["p99_ms"], rel=1e-3),  # the chart rounds to 4 figures
    }
    assert marks[0]["value"] == 5.5  # not 28, the median of the requests above 0 ms
    assert all(m["x_ms"] > 0 for m in marks)  # drawable on the log axis
    assert "≤ 0 ms" in spec["title"]["subtitle"]
    if kind == "histogram":
        bins = next(rows for rows in data if rows and "share" in rows[0])
        assert sum(b["requests"] for b in bins) == 100
        assert sum(b["share"] for b in bins) == pytest.approx(1.0)
        floor = bins[0]
        assert floor["requests"] == 45 and floor["range_ms"] == "≤ 0"
        assert 0 < floor["from_ms"] < floor["to_ms"] == pytest.approx(1.0)
        assert len(bins) == 20 + 2  # the floor, the bins, the closing edge
    else:
        curve = next(rows for rows in data if rows and "q" in rows[0] and "label" not in rows[0])
        assert all(p["x_ms"] > 0 for p in curve)
        at_floor = [p["q"] for p in curve if p["ms"] == 0]
        assert max(at_floor) == pytest.approx(0.44, abs=0.02)  # 45 of 100 at 0 ms


def test_latency_distribution_of_nothing_but_0_ms_is_one_floor_bin():
    r = pl.DataFrame({"latency_ms": [0.0] * 10})
    spec = latency_distribution(r, bins=5).to_dict()
    bins = next(rows for rows in spec["datasets"].values() if rows and "share" in rows[0])
    assert [b["share"] for b in bins] == [1.0] + [0.0] * 6


def test_service_vs_corrected_is_a_percentile_spectrum(runs):
    spec = service_vs_corrected(runs["baseline"]).to_dict()
    gap, lines = spec["layer"]
    assert gap["mark"]["type"] == "area"  # what coordinated omission hides
    x = lines["encoding"]["x"]
    assert x["scale"]["type"] == "log" and x["field"] == "x"
    assert "p99.9" in x["axis"]["labelExpr"]
    data = next(r for r in spec["datasets"].values() if "measure" in r[0])
    # 4,000 requests resolve up to p99.975 (1/(1-q) ≤ n): no extrapolated tail
    assert max(r["x"] for r in data) <= 4_000 * 1.0001
    by = {(r["measure"].split()[0], r["percentile"]): r["ms"] for r in data}
    assert by[("corrected", "p99")] > 2 * by[("service", "p99")]
    assert rows(spec) < 600


def test_service_vs_corrected_for_a_tool_without_service_times():
    closed = pl.DataFrame({"start": [0.0, 0.1], "latency_ms": [3.0, 4.0]})
    assert "nothing to compare" in note_of(service_vs_corrected(closed))


def test_comparison_chart_is_a_forest_plot_coloured_by_verdict(runs):
    cmp = compare(*runs.values(), metrics=("p50", "p95", "p99", "throughput", "error_rate"))
    spec = comparison_chart(cmp).to_dict()
    band, _zero, ci, point, label = spec["layer"]
    assert band["mark"]["type"] == "rect" and band["encoding"]["x2"]["field"] == "margin"
    assert ci["encoding"]["x"]["field"] == "ci_low" and ci["encoding"]["x2"]["field"] == "ci_high"
    assert point["encoding"]["color"]["scale"]["range"] == list(VERDICT_COLORS.values())
    assert point["encoding"]["y"]["sort"] == cmp["metric"].to_list()
    assert VERDICT_COLORS["slower"] == "#dc2626" and VERDICT_COLORS["faster"] == "#16a34a"
    # no errors in the baseline: the error rate's change is infinite, a label only
    data = {r["metric"]: r for r in next(iter(spec["datasets"].values()))}
    assert data["error_rate"]["change"] is None and data["error_rate"]["label"] == "from 0"
    assert data["p50"]["label"].startswith("+")
    assert label["mark"]["type"] == "text"
    by_name = compare(*runs.values(), metrics=("p50",), by="name")
    y = comparison_chart(by_name).to_dict()["layer"][3]["encoding"]["y"]["sort"]
    assert y == ["GET /api/items · p50"]


def test_empty_input_draws_a_note_not_an_error():
    assert "nothing to draw" in note_of(throughput_chart(TIMELINE.empty()))
    assert "nothing to draw" in note_of(latency_over_time({"a": TIMELINE.empty()}))
    assert "nothing to draw" in note_of(latency_distribution(REQUESTS.empty()))
    assert "nothing to draw" in note_of(latency_distribution({"x": REQUESTS.empty()}))
    assert "nothing to compare" in note_of(service_vs_corrected(REQUESTS.empty()))
    assert "No metric" in note_of(comparison_chart(COMPARISON.empty()))
    assert summary_table(SUMMARY.empty()).df.height == 0


def test_summary_table_puts_all_first_and_the_error_rate_in_percent(runs):
    t = summary_table(summary(runs["candidate"]))
    assert t.df["name"][0] == "all" and "error %" in t.df.columns
    assert 1.0 < t.df["error %"][0] < 3.0
    tools = summary(runs["baseline"]).with_columns(tool=pl.lit("perflab"))
    assert summary_table(tools).df.columns[0] == "tool"  # a label column leads
    assert "<td" in t._repr_html_()


def test_tools_table_puts_each_tool_on_a_row(runs):
    closed = runs["baseline"].with_columns(
        pl.col("latency_ms").alias("service_ms"), pl.col("start").alias("sent")
    )
    tl = timeline(runs["baseline"])
    s = summary(runs["candidate"]).select("name", "requests", "p50_ms", "p99_ms")
    t = tools_table({"perflab": runs["baseline"], "closed": closed, "locust": tl, "wrk": s})
    got = {r["tool"]: r for r in t.df.iter_rows(named=True)}
    assert got["perflab"]["data"] == "per request, corrected"
    assert got["closed"]["data"] == "per request"
    assert got["locust"]["data"] == "timeline" and got["locust"]["requests"] == 4000
    assert got["wrk"]["data"] == "summary" and got["wrk"]["p99_ms"] == s["p99_ms"][0]
    assert tools_table({}).df.height == 0


def test_history_chart_marks_the_change_points():
    from perflab.loadtest import run_changes
    from perflab.loadtest.charts import history_chart
    from perflab.loadtest.samples import history

    nights = history()
    spec = history_chart(nights, run_changes(nights)).to_dict()
    panels = spec["vconcat"]
    assert len(panels) == 3
    rules = [layer for layer in panels[0]["layer"] if layer["mark"]["type"] == "rule"]
    assert len(rules) == 1  # the release's step in p95
    assert "No history" in str(history_chart(nights.clear()).to_dict())

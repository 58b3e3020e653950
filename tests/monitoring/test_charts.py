"""The monitoring notebook's charts, checked on what a reader sees.

The Vega-Lite spec of each chart (``chart.to_dict()``) is read for its marks,
encodings, titles, tooltips and the rows that reach it; where the reader's view
depends on how Vega-Lite resolves layers (the order of bars), the spec is compiled to
Vega with ``vl_convert``. Evidence text goes through :mod:`perflab.vega`'s renderer.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import altair as alt
import polars as pl
import pytest

from perflab import vega
from perflab.charts import PALETTE
from perflab.monitoring.charts import compare_bars, latency_bands, slo_burn
from perflab.monitoring.schema import COMPARISON, SLO_WINDOWS, SUMMARY

EVIL = "<script>alert(1)</script>"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = {"name": pl.String, "route": pl.String}


def rows(spec: dict) -> list[dict]:
    (data,) = spec["datasets"].values()
    return data


def drawn(chart: alt.TopLevelMixin, marktype: str) -> list[list[dict]]:
    """The items of every ``marktype`` mark group as Vega draws them (one per series)."""
    vl_convert = pytest.importorskip("vl_convert")
    groups: list[list[dict]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("marktype") == marktype and node.get("role") == "mark":
                groups.append(node["items"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(vl_convert.vegalite_to_scenegraph(chart.to_dict()))
    return groups


def assert_evidence_stays_text(chart: alt.TopLevelMixin) -> None:
    """The evil name reaches the chart as data but never closes the script element."""
    html = vega.render(chart.to_dict())["text/html"]
    assert "<script>alert" not in html
    assert html.lower().count("</script") == 1  # the renderer's own closing tag
    assert html.rstrip().endswith("</script>")
    match = re.search(r"var spec = (.*);\n  var opt", html)
    assert match and EVIL in json.dumps(json.loads(match.group(1)), ensure_ascii=False)


# ---------------------------------------------------------------------------------------
# latency_bands


def summary_windows(*series: tuple[str, str], n: int = 8) -> pl.DataFrame:
    """``summarize(every=...)`` output: n windows for each (name, route)."""
    return SUMMARY.build(
        [
            {
                "name": name,
                "route": route,
                "window_start": T0 + timedelta(minutes=5 * i),
                "unit": "ms",
                "count": 200,
                "p50": 10.0 + i,
                "p95": 30.0 + i,
                "p99": 80.0 + i,
            }
            for name, route in series
            for i in range(n)
        ],
        keys={**KEYS, "window_start": pl.Datetime("us", "UTC")},
    )


def band_layers(spec: dict) -> tuple[dict, dict]:
    band, lines = spec["spec"]["layer"]
    return band, lines


def test_latency_band_spans_p50_to_p99():
    band, _ = band_layers(latency_bands(summary_windows(("api", "/x"))).to_dict())
    assert band["mark"]["type"] == "area" and band["mark"]["opacity"] < 0.5
    assert band["encoding"]["y"]["field"] == "p50"
    assert band["encoding"]["y2"]["field"] == "p99"


def test_latency_lines_are_p50_p95_p99_with_p99_dashed():
    _, lines = band_layers(latency_bands(summary_windows(("api", "/x"))).to_dict())
    assert lines["mark"]["type"] == "line"
    (fold,) = lines["transform"]
    assert fold == {"fold": ["p50", "p95", "p99"], "as": ["percentile", "value"]}
    enc = lines["encoding"]
    assert enc["y"]["field"] == "value"
    assert enc["color"]["field"] == "percentile"
    assert enc["color"]["scale"]["domain"] == ["p50", "p95", "p99"]
    assert enc["color"]["scale"]["range"] == [PALETTE[0], PALETTE[1], PALETTE[3]]
    dash = enc["strokeDash"]
    assert dash["condition"]["test"] == "datum.percentile == 'p99'"
    assert dash["condition"]["value"] == [4, 3] and dash["value"] == [1, 0]  # solid otherwise


def test_latency_bands_as_drawn_have_a_dashed_red_p99_above_solid_p50_and_p95():
    lines = drawn(latency_bands(summary_windows(("api", "/x"))), "line")
    style = [(g[0]["stroke"], g[0]["strokeDash"]) for g in lines]
    assert style == [(PALETTE[0], [1, 0]), (PALETTE[1], [1, 0]), (PALETTE[3], [4, 3])]
    p50, p95, p99 = ([i["y"] for i in g] for g in lines)
    assert all(a > b > c for a, b, c in zip(p50, p95, p99, strict=True))  # y grows down
    (band,) = drawn(latency_bands(summary_windows(("api", "/x"))), "area")
    assert len(band) == 8


def test_latency_bands_give_one_panel_per_series():
    w = summary_windows(("api", "/x"), ("api", "/y"), ("db", "/x"))
    spec = latency_bands(w, by=("name", "route")).to_dict()
    assert spec["facet"]["field"] == "series" and spec["columns"] == 1
    assert spec["facet"]["title"] is None and spec["facet"]["header"]["labelOrient"] == "top"
    data = rows(spec)
    assert {r["series"] for r in data} == {"api · /x", "api · /y", "db · /x"}
    assert len(data) == 3 * 8
    # only what is drawn reaches the chart: no counts, units or other statistics
    assert set(data[0]) == {"series", "window_start", "p50", "p95", "p99"}
    assert spec["resolve"]["scale"]["y"] == "independent"


def test_latency_bands_zoom_in_time_only():
    spec = latency_bands(summary_windows(("api", "/x"))).to_dict()
    _, lines = band_layers(spec)
    (zoom,) = spec["params"]
    assert zoom["bind"] == "scales" and zoom["select"] == {"type": "interval", "encodings": ["x"]}
    assert zoom["views"] == [lines["name"]]
    for layer in band_layers(spec):
        assert layer["encoding"]["x"]["field"] == "window_start"
        assert layer["encoding"]["x"]["type"] == "temporal"


def test_latency_bands_put_the_unit_in_the_y_title_and_the_values_in_tooltips():
    spec = latency_bands(summary_windows(("api", "/x")), unit="s", title="T").to_dict()
    assert spec["title"] == "T"
    for layer in band_layers(spec):
        assert layer["encoding"]["y"]["title"] == "latency (s)"
        tips = [t["field"] for t in layer["encoding"]["tooltip"]]
        assert tips == ["series", "window_start", "p50", "p95", "p99"]


def test_latency_bands_carry_evidence_as_text():
    assert_evidence_stays_text(latency_bands(summary_windows((EVIL, "/x"))))


# ---------------------------------------------------------------------------------------
# slo_burn


def burn(*objectives: tuple[str, list[float | None]]) -> pl.DataFrame:
    return SLO_WINDOWS.build(
        [
            {
                "objective": objective,
                "name": "api",
                "window_start": T0 + timedelta(hours=i),
                "samples": 1000,
                "burn_rate": rate,
            }
            for objective, rates in objectives
            for i, rate in enumerate(rates)
        ]
    )


def test_slo_burn_bars_are_red_above_one_and_green_otherwise():
    spec = slo_burn(burn(("fast", [0.5, 1.0, 2.5]))).to_dict()
    bars, _ = spec["spec"]["layer"]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["y"]["field"] == "burn_rate"
    assert bars["encoding"]["y"]["title"] == "burn rate (× budget)"
    color = bars["encoding"]["color"]
    assert color["condition"] == {"test": "datum.burn_rate > 1", "value": PALETTE[3]}
    assert color["value"] == PALETTE[2]
    assert [t["field"] for t in bars["encoding"]["tooltip"]] == [
        "objective",
        "window_start",
        "burn_rate",
    ]


def test_slo_burn_draws_the_line_at_one():
    spec = slo_burn(burn(("fast", [0.5, 2.5]))).to_dict()
    _, rule = spec["spec"]["layer"]
    assert rule["mark"]["type"] == "rule" and rule["mark"]["strokeDash"] == [4, 3]
    assert rule["encoding"]["y"]["field"] == "budget"
    assert {r["budget"] for r in rows(spec)} == {1.0}


def test_slo_burn_as_drawn_has_red_bars_only_above_the_rule_at_one():
    (bars,) = drawn(slo_burn(burn(("fast", [0.5, 1.0, 2.5]))), "rect")
    assert [b["fill"] for b in sorted(bars, key=lambda b: b["x"])] == [
        PALETTE[2],
        PALETTE[2],
        PALETTE[3],
    ]
    (rule,) = drawn(slo_burn(burn(("fast", [0.5, 1.0, 2.5]))), "rule")
    at_one = sorted(bars, key=lambda b: b["x"])[1]
    assert rule[0]["y"] == pytest.approx(at_one["y"])  # the rule sits where 1.0 is


def test_slo_burn_gives_one_panel_per_objective():
    spec = slo_burn(burn(("fast", [0.5, 2.5]), ("available", [0.1, None, 0.2]))).to_dict()
    assert spec["facet"]["field"] == "objective" and spec["columns"] == 1
    data = rows(spec)
    assert [r["objective"] for r in data] == ["fast"] * 2 + ["available"] * 3
    assert set(data[0]) == {"objective", "window_start", "burn_rate", "budget"}
    assert data[3]["burn_rate"] is None  # a window too small to judge draws no bar


def test_slo_burn_carries_evidence_as_text():
    assert_evidence_stays_text(slo_burn(burn((EVIL, [0.5, 2.5]))))


# ---------------------------------------------------------------------------------------
# compare_bars


def comparison(*series: tuple[str, float, str]) -> pl.DataFrame:
    return COMPARISON.build(
        [
            {
                "name": name,
                "route": "/x",
                "unit": "ms",
                "mean_change_pct": change,
                "mean_change_ci_low": change - 5,
                "mean_change_ci_high": change + 5,
                "p95_change_pct": -change,
                "p95_change_ci_low": -change - 1,
                "p95_change_ci_high": -change + 1,
                "verdict": verdict,
            }
            for name, change, verdict in series
        ],
        keys=KEYS,
    )


SERIES = (("b", -12.0, "faster"), ("c", 30.0, "slower"), ("a", 2.0, "no significant change"))


def bar_layers(spec: dict) -> tuple[dict, dict, dict]:
    bars, ci, zero = spec["layer"]
    return bars, ci, zero


def test_compare_bars_colour_by_verdict_on_a_fixed_domain():
    spec = compare_bars(comparison(*SERIES)).to_dict()
    bars, _, _ = bar_layers(spec)
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["field"] == "mean_change_pct"
    assert bars["encoding"]["x"]["title"] == "change (%)"
    color = bars["encoding"]["color"]
    assert color["field"] == "verdict"
    # the same colour for "slower" whichever verdicts this comparison happens to hold
    assert color["scale"]["domain"] == ["slower", "faster", "no significant change", "missing"]
    assert color["scale"]["range"][:2] == [PALETTE[3], PALETTE[2]]
    tips = [t["field"] for t in bars["encoding"]["tooltip"]]
    assert tips == [
        "series",
        "mean_change_pct",
        "mean_change_ci_low",
        "mean_change_ci_high",
        "verdict",
    ]


def test_compare_bars_draw_the_confidence_interval_from_low_to_high():
    spec = compare_bars(comparison(*SERIES)).to_dict()
    bars, ci, _ = bar_layers(spec)
    assert ci["mark"]["type"] == "rule"
    assert ci["encoding"]["x"]["field"] == "mean_change_ci_low"
    assert ci["encoding"]["x2"]["field"] == "mean_change_ci_high"
    assert ci["encoding"]["y"]["field"] == "series"
    assert ci["data"] == bars["data"]
    data = spec["datasets"][bars["data"]["name"]]
    assert {(r["series"], r["mean_change_ci_low"], r["mean_change_ci_high"]) for r in data} == {
        ("b", -17.0, -7.0),
        ("c", 25.0, 35.0),
        ("a", -3.0, 7.0),
    }


def test_compare_bars_draw_the_zero_line():
    spec = compare_bars(comparison(*SERIES)).to_dict()
    _, _, zero = bar_layers(spec)
    assert zero["mark"]["type"] == "rule"
    assert spec["datasets"][zero["data"]["name"]] == [{zero["encoding"]["x"]["field"]: 0.0}]


def test_compare_bars_ask_for_the_series_sorted_by_change():
    spec = compare_bars(comparison(*SERIES)).to_dict()
    bars, _, _ = bar_layers(spec)
    assert bars["encoding"]["y"]["field"] == "series"
    assert bars["encoding"]["y"]["sort"] == ["c", "a", "b"]  # by change, biggest first


def axis_labels(scenegraph: object, among: set[str]) -> list[str]:
    """Texts of the axis whose labels are all in ``among``, from top to bottom."""
    found: list[list[dict]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("marktype") == "text" and node.get("role") == "axis-label":
                found.append(node["items"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(scenegraph)
    (labels,) = [items for items in found if {i["text"] for i in items} <= among]
    return [i["text"] for i in sorted(labels, key=lambda i: i["y"])]


def test_compare_bars_show_the_series_sorted_by_change():
    vl_convert = pytest.importorskip("vl_convert")
    spec = compare_bars(comparison(*SERIES)).to_dict()
    shown = axis_labels(vl_convert.vegalite_to_scenegraph(spec), {"a", "b", "c"})
    assert shown == ["c", "a", "b"]  # +30 %, +2 %, -12 %: the biggest slowdown on top


def test_compare_bars_follow_the_chosen_change_columns():
    spec = compare_bars(
        comparison(*SERIES),
        by=("name", "route"),
        change="p95_change_pct",
        low="p95_change_ci_low",
        high="p95_change_ci_high",
    ).to_dict()
    bars, ci, _ = bar_layers(spec)
    assert bars["encoding"]["x"]["field"] == "p95_change_pct"
    assert (ci["encoding"]["x"]["field"], ci["encoding"]["x2"]["field"]) == (
        "p95_change_ci_low",
        "p95_change_ci_high",
    )
    data = spec["datasets"][bars["data"]["name"]]
    assert {r["series"] for r in data} == {"a · /x", "b · /x", "c · /x"}
    assert set(data[0]) == {
        "series",
        "p95_change_pct",
        "p95_change_ci_low",
        "p95_change_ci_high",
        "verdict",
    }


def test_compare_bars_carry_evidence_as_text():
    assert_evidence_stays_text(compare_bars(comparison((EVIL, 30.0, "slower"))))

"""The queries notebook's charts, checked on what a reader sees: the Vega-Lite spec.

Each test reads ``chart.to_dict()`` — the mark, the encodings with their titles, scales
and tooltips, and the rows that reach the chart. Query text is evidence: rendered
through perflab's offline renderer (:func:`perflab.vega.render`) it must stay text.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import altair as alt
import polars as pl
import pytest

from perflab import vega
from perflab.queries import PATTERNS, query_patterns, read_postgres, statements_frame
from perflab.queries.charts import calls_over_time, label_patterns, pattern_map, time_by_pattern

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]
EVIL = "SELECT '</script><script>alert(1)</script>' FROM t WHERE a = ?"
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def statements() -> pl.DataFrame:
    return statements_frame(read_postgres(SAMPLES / "postgresql.log", prefix=PREFIXES).statements)


@pytest.fixture(scope="module")
def patterns(statements) -> pl.DataFrame:
    return query_patterns(statements)


def rows(spec: dict) -> list[dict]:
    """The data rows of a spec with a single dataset."""
    (data,) = spec["datasets"].values()
    return data


def tooltip_fields(spec: dict) -> dict[str, dict]:
    return {t["field"]: t for t in spec["encoding"]["tooltip"]}


def small_patterns(n: int, *, query: str | None = None) -> pl.DataFrame:
    """``n`` patterns as query_patterns gives them: the most time first."""
    return PATTERNS.build(
        [
            {
                "fingerprint": f"{i:x}".rjust(16, "0"),
                "query": query or f"SELECT c{i} FROM t{i} WHERE id = ?",
                "calls": 10 * (i + 1),
                "total_ms": 100.0 * (n - i),
                "share_pct": 100.0 * (n - i) / sum(range(1, n + 1)),
                "mean_ms": 100.0 * (n - i) / (10 * (i + 1)),
                "p95_ms": 200.0 * (n - i) / (10 * (i + 1)),
            }
            for i in range(n)
        ]
    )


def embedded(chart: alt.TopLevelMixin) -> tuple[str, dict]:
    """The HTML a report embeds for ``chart``, and the spec read back out of it."""
    html = vega.render(chart.to_dict())["text/html"]
    match = re.search(r"var spec = (.*);\n  var opt", html)
    assert match, html[:300]
    return html, json.loads(match.group(1))


# ---------------------------------------------------------------------------------------
# labels


def test_labels_cut_long_patterns_and_keep_the_fingerprint_start():
    df = pl.DataFrame({"fingerprint": ["0123456789abcdef"], "query": ["SELECT " + "x, " * 40]})
    label = label_patterns(df, width=20)["label"][0]
    assert label.endswith("…  [0123]")
    assert len(label.split("  [")[0]) == 20


def test_labels_put_a_multi_line_pattern_on_one_line():
    df = pl.DataFrame({"fingerprint": ["abcd"], "query": ["SELECT a\n  FROM t\n\tWHERE b = ?"]})
    assert label_patterns(df)["label"][0] == "SELECT a FROM t WHERE b = ?  [abcd]"


# ---------------------------------------------------------------------------------------
# time_by_pattern


def test_time_by_pattern_draws_horizontal_bars_of_total_time(patterns):
    spec = time_by_pattern(patterns).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "total_ms"
    assert spec["encoding"]["x"]["type"] == "quantitative"
    assert spec["encoding"]["x"]["title"] == "total time (ms)"
    assert spec["encoding"]["y"]["field"] == "label"
    assert spec["title"] == "Where the time goes"


def test_time_by_pattern_shows_the_top_patterns_sorted_by_total_time(patterns):
    spec = time_by_pattern(patterns, top=5).to_dict()
    data = rows(spec)
    assert len(data) == 5
    totals = [r["total_ms"] for r in data]
    assert totals == sorted(patterns.get_column("total_ms").to_list(), reverse=True)[:5]
    # the bars are drawn in that order, top to bottom, one label per bar
    assert spec["encoding"]["y"]["sort"] == [r["label"] for r in data]
    assert len(set(spec["encoding"]["y"]["sort"])) == 5
    assert data[0]["query"].startswith("SELECT COUNT(*) FROM users WHERE NOT id IN")


def test_time_by_pattern_labels_carry_the_pattern_and_fingerprint(patterns):
    data = rows(time_by_pattern(patterns, top=3).to_dict())
    for r in data:
        assert r["label"].endswith(f"  [{r['fingerprint'][:4]}]")
        assert r["label"].startswith(r["query"][:40])


def test_time_by_pattern_tooltip_gives_the_pattern_and_its_figures(patterns):
    spec = time_by_pattern(patterns).to_dict()
    tips = tooltip_fields(spec)
    assert set(tips) == {
        "query",
        "fingerprint",
        "total_ms",
        "share_pct",
        "calls",
        "mean_ms",
        "p95_ms",
    }
    assert tips["query"]["title"] == "pattern"
    assert tips["share_pct"]["title"] == "share %"
    assert tips["total_ms"]["format"] == ",.1f"
    # every tooltip field is in the data, with the full (uncut) pattern
    first = rows(spec)[0]
    assert set(tips) <= set(first)
    assert first["query"] == patterns.item(0, "query")


def test_time_by_pattern_grows_with_the_number_of_bars():
    assert time_by_pattern(small_patterns(3)).to_dict()["height"] == 120
    assert time_by_pattern(small_patterns(20), top=20).to_dict()["height"] == 22 * 20


def test_time_by_pattern_leaves_out_patterns_without_time():
    p = small_patterns(3).vstack(
        PATTERNS.build([{"fingerprint": "ffff", "query": "COPY t FROM STDIN", "calls": 1}])
    )
    data = rows(time_by_pattern(p).to_dict())
    assert [r["fingerprint"] for r in data] == p.get_column("fingerprint").to_list()[:3]


def test_time_by_pattern_picks_the_top_patterns_of_an_unsorted_frame():
    p = small_patterns(6).sort("calls", descending=True)  # the cheapest first
    data = rows(time_by_pattern(p, top=2).to_dict())
    assert [r["total_ms"] for r in data] == [600.0, 500.0]


# ---------------------------------------------------------------------------------------
# pattern_map


def test_pattern_map_puts_calls_against_mean_time_on_log_axes(patterns):
    spec = pattern_map(patterns).to_dict()
    assert spec["mark"]["type"] == "circle"
    x, y = spec["encoding"]["x"], spec["encoding"]["y"]
    assert (x["field"], x["scale"]["type"]) == ("calls", "log")
    assert (y["field"], y["scale"]["type"]) == ("mean_ms", "log")
    assert "log" in x["title"] and "log" in y["title"]


def test_pattern_map_sizes_bubbles_by_total_time(patterns):
    spec = pattern_map(patterns).to_dict()
    size = spec["encoding"]["size"]
    assert size["field"] == "total_ms" and size["type"] == "quantitative"
    assert size["title"] == "total ms"
    tips = tooltip_fields(spec)
    assert {"query", "calls", "mean_ms", "total_ms", "share_pct"} <= set(tips)


def test_pattern_map_shows_every_pattern_a_log_axis_can(patterns):
    data = rows(pattern_map(patterns).to_dict())
    drawable = patterns.filter((pl.col("mean_ms") > 0) & (pl.col("calls") > 0))
    assert len(data) == drawable.height
    assert all(r["calls"] > 0 and r["mean_ms"] > 0 for r in data)


def test_pattern_map_leaves_out_zero_times_a_log_axis_cannot_show():
    p = small_patterns(2).vstack(
        PATTERNS.build(
            [{"fingerprint": "0", "query": "BEGIN", "calls": 4, "total_ms": 0.0, "mean_ms": 0.0}]
        )
    )
    data = rows(pattern_map(p).to_dict())
    assert {r["query"] for r in data} == set(p.get_column("query").to_list()[:2])


def test_pattern_map_can_be_zoomed(patterns):
    spec = pattern_map(patterns).to_dict()
    assert any(param.get("bind") == "scales" for param in spec.get("params", []))


# ---------------------------------------------------------------------------------------
# calls_over_time


def test_calls_over_time_is_a_stacked_area_of_calls_per_window(statements, patterns):
    spec = calls_over_time(statements, patterns, every="5s").to_dict()
    assert spec["mark"]["type"] == "area"
    assert spec["encoding"]["x"]["field"] == "window"
    assert spec["encoding"]["x"]["type"] == "temporal"
    y = spec["encoding"]["y"]
    assert y["field"] == "calls" and y["stack"] is True
    assert y["title"] == "calls per 5s"
    assert spec["encoding"]["color"]["field"] == "label"


def test_calls_over_time_counts_every_statement_once(statements, patterns):
    data = rows(calls_over_time(statements, patterns, every="5s").to_dict())
    assert sum(r["calls"] for r in data) == statements.height
    windows = {r["window"] for r in data}
    assert all(re.search(r"T\d\d:\d\d:[0-5][05]", w) for w in windows)  # 5 s windows


def test_calls_over_time_keeps_the_top_patterns_and_groups_the_rest(statements, patterns):
    data = rows(calls_over_time(statements, patterns, every="1m", top=3).to_dict())
    labels = {r["label"] for r in data}
    top = label_patterns(patterns.head(3), width=48).get_column("label").to_list()
    assert labels == {*top, "other"}
    by_label: dict[str, int] = {}
    for r in data:
        by_label[r["label"]] = by_label.get(r["label"], 0) + r["calls"]
    expected_top = dict(zip(top, patterns.head(3).get_column("calls").to_list(), strict=True))
    assert {k: v for k, v in by_label.items() if k != "other"} == expected_top
    assert by_label["other"] == statements.height - sum(expected_top.values())


def test_calls_over_time_windows_follow_every():
    s = pl.DataFrame(
        {
            "timestamp": [T0 + timedelta(seconds=s) for s in (0, 10, 59, 61, 125)],
            "fingerprint": ["a"] * 5,
            "calls": [1] * 5,
        }
    )
    p = pl.DataFrame({"fingerprint": ["a"], "query": ["SELECT 1"], "total_ms": [1.0]})
    data = rows(calls_over_time(s, p, every="1m").to_dict())
    assert [r["calls"] for r in data] == [3, 1, 1]
    assert [r["window"][11:19] for r in data] == ["08:00:00", "08:01:00", "08:02:00"]


def test_calls_over_time_counts_one_call_per_statement_without_a_calls_column():
    s = pl.DataFrame({"timestamp": [T0, T0], "fingerprint": ["a", "a"]})
    p = pl.DataFrame({"fingerprint": ["a"], "query": ["SELECT 1"], "total_ms": [1.0]})
    assert [r["calls"] for r in rows(calls_over_time(s, p).to_dict())] == [2]


# ---------------------------------------------------------------------------------------
# evidence stays text


@pytest.mark.parametrize(
    "build",
    [
        lambda p: time_by_pattern(p),
        lambda p: pattern_map(p),
        lambda p: calls_over_time(
            pl.DataFrame(
                {"timestamp": [T0], "fingerprint": [p.item(0, "fingerprint")], "calls": [1]}
            ),
            p,
        ),
    ],
    ids=["time_by_pattern", "pattern_map", "calls_over_time"],
)
def test_a_pattern_with_script_tags_is_escaped_when_rendered(build):
    chart = build(small_patterns(2, query=EVIL))
    html, spec = embedded(chart)
    assert "<script>alert" not in html
    assert "</script><script>" not in html
    # the one "</script" is the renderer's own closing tag, at the very end
    assert html.lower().count("</script") == 1
    assert html.rstrip().endswith("</script>")
    assert "\\u003c\\/script\\u003e" in html
    # … and the reader still sees the pattern, as text
    assert EVIL[:40] in json.dumps(spec, ensure_ascii=False)
    assert spec == json.loads(json.dumps(chart.to_dict()))

"""The shared chart builders, checked on what a reader sees.

Each test reads the Vega-Lite spec (``chart.to_dict()``): the marks, the encodings and
their titles and tooltips, the rows that reach the chart. Tables and notes are checked
on their HTML: every string from the evidence escaped. Charts carrying evidence text go
through the offline renderer of :mod:`perflab.vega`, the HTML a report embeds.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import altair as alt
import numpy as np
import polars as pl
import pytest

from perflab import charts, vega

EVIL = "<script>alert(1)</script>"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def windows(n: int = 10, *, name: str = "a", route: str | None = "/x") -> pl.DataFrame:
    """Per-window statistics of one series, as ``summarize(every=...)`` gives them."""
    return pl.DataFrame(
        {
            "name": [name] * n,
            "route": pl.Series([route] * n, dtype=pl.String),
            "window_start": [T0 + timedelta(minutes=15 * i) for i in range(n)],
            "count": [100] * n,
            "p50": np.linspace(10, 20, n),
            "p95": np.linspace(20, 40, n),
            "p99": np.linspace(30, 60, n),
        }
    )


def rows(spec: dict) -> list[dict]:
    """The data rows of a spec with a single dataset."""
    (data,) = spec["datasets"].values()
    return data


def layer_with_y(layers: list[dict], field: str) -> dict:
    (layer,) = [la for la in layers if la["encoding"].get("y", {}).get("field") == field]
    return layer


def embedded(chart: alt.TopLevelMixin) -> tuple[str, dict]:
    """The HTML the report embeds for ``chart``, and the spec read back out of it."""
    html = vega.render(chart.to_dict())["text/html"]
    match = re.search(r"var spec = (.*);\n  var opt", html)
    assert match, html[:300]
    return html, json.loads(match.group(1))


def assert_evidence_stays_text(chart: alt.TopLevelMixin) -> None:
    """The evil name reaches the chart as data but never closes the script element."""
    html, spec = embedded(chart)
    assert "<script>alert" not in html
    # the one "</script" is the renderer's own closing tag, at the very end
    assert html.lower().count("</script") == 1
    assert html.rstrip().endswith("</script>")
    assert EVIL in json.dumps(spec, ensure_ascii=False)  # shown to the reader as text


def test_theme_is_enabled():
    assert alt.theme.active == "perflab"
    spec = charts.distribution(pl.DataFrame({"name": ["a"], "value": [1.0]})).to_dict()
    assert spec["config"]["range"]["category"] == charts.PALETTE


# ---------------------------------------------------------------------------------------
# distribution


def lognormal(n: int, name: str = "a", seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"name": [name] * n, "value": rng.lognormal(3, 1, n)})


def test_distribution_is_a_step_line_on_a_log_x_axis_with_the_unit():
    spec = charts.distribution(lognormal(500), unit="s", title="Latency").to_dict()
    assert spec["mark"]["type"] == "line" and spec["mark"]["interpolate"] == "step"
    x = spec["encoding"]["x"]
    assert x["field"] == "center" and x["scale"]["type"] == "log"
    assert x["title"] == "value (s, log scale)"
    assert spec["title"] == "Latency"


def test_distribution_shows_the_share_of_samples_as_percent():
    spec = charts.distribution(lognormal(500)).to_dict()
    y = spec["encoding"]["y"]
    assert y["field"] == "share" and y["axis"]["format"] == "%"
    assert y["title"] == "share of samples"
    assert sum(r["share"] for r in rows(spec)) == pytest.approx(1.0)
    tips = {t["field"]: t for t in spec["encoding"]["tooltip"]}
    assert set(tips) == {"series", "center", "count", "share"}
    assert tips["share"]["format"] == ".2%" and tips["center"]["title"] == "≈ ms"


def test_distribution_draws_one_coloured_line_per_series_each_summing_to_one():
    samples = pl.concat(
        [
            lognormal(300, "api").with_columns(route=pl.lit("/x")),
            lognormal(700, "api", seed=1).with_columns(route=pl.lit("/y")),
            lognormal(50, "db", seed=2).with_columns(route=pl.lit(None, pl.String)),
        ]
    )
    spec = charts.distribution(samples, by=("name", "route"), bins=20).to_dict()
    assert spec["encoding"]["color"]["field"] == "series"
    share: dict[str, float] = {}
    count: dict[str, int] = {}
    for r in rows(spec):
        share[r["series"]] = share.get(r["series"], 0.0) + r["share"]
        count[r["series"]] = count.get(r["series"], 0) + r["count"]
    assert count == {"api · /x": 300, "api · /y": 700, "db · –": 50}
    assert share == pytest.approx(dict.fromkeys(count, 1.0))


def test_distribution_embeds_bins_not_samples():
    spec = charts.distribution(lognormal(50_000), bins=40).to_dict()
    data = rows(spec)
    assert len(data) <= 40
    assert set(data[0]) == {"series", "bin", "count", "center", "share"}
    assert sum(r["count"] for r in data) == 50_000
    centers = [r["center"] for r in data]
    assert centers == sorted(centers)  # one line left to right, not a scribble


def test_distribution_leaves_out_values_a_log_axis_cannot_show():
    samples = pl.DataFrame({"name": ["a"] * 6, "value": [0.0, -1.0, 1.0, 10.0, 100.0, 100.0]})
    data = rows(charts.distribution(samples, bins=3).to_dict())
    assert sum(r["count"] for r in data) == 4
    assert all(r["center"] > 0 for r in data)


def test_distribution_of_nothing_is_an_empty_chart_not_an_error():
    spec = charts.distribution(pl.DataFrame({"name": ["a"], "value": [0.0]}), title="t").to_dict()
    assert rows(spec) == [] and spec["title"] == "t"


def test_distribution_carries_evidence_as_text():
    assert_evidence_stays_text(charts.distribution(lognormal(100, EVIL)))


# ---------------------------------------------------------------------------------------
# trend_lines


def fits(*series: tuple[str, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"name": n, "route": r, "verdict": v} for n, r, v in series],
        schema={"name": pl.String, "route": pl.String, "verdict": pl.String},
    )


def fitted_windows(name: str = "a", route: str = "/x") -> pl.DataFrame:
    w = windows(name=name, route=route)
    return w.with_columns(
        fitted=pl.col("p95") * 0.98, segment_mean=pl.when(pl.int_range(pl.len()) < 5).then(25.0)
    ).with_columns(pl.col("segment_mean").fill_null(35.0))


def test_trend_lines_draw_one_panel_per_series_in_fits_titled_with_the_verdict():
    w = pl.concat([windows(route=r) for r in ("/x", "/y", "/z")])
    f = fits(("a", "/y", "rising"), ("a", "/x", None))
    spec = charts.trend_lines(w, f, by=("name", "route")).to_dict()
    assert spec["facet"]["field"] == "panel" and spec["columns"] == 1
    data = rows(spec)
    assert {r["panel"] for r in data} == {"a · /y — rising", "a · /x — ?"}
    assert len(data) == 20  # /z is not in fits: not drawn


def test_trend_lines_plot_the_statistic_with_its_unit_and_zoom_in_time():
    spec = charts.trend_lines(windows(), fits(("a", "/x", "flat")), unit="s").to_dict()
    points = layer_with_y(spec["spec"]["layer"], "p95")
    assert points["mark"]["type"] == "line" and "point" in points["mark"]
    assert points["encoding"]["y"]["title"] == "p95 (s)"
    assert points["encoding"]["x"] == {"field": "window_start", "title": None, "type": "temporal"}
    assert [t["field"] for t in points["encoding"]["tooltip"]] == ["window_start", "p95"]
    (zoom,) = spec["params"]
    assert zoom["bind"] == "scales" and zoom["select"]["encodings"] == ["x"]
    assert zoom["views"] == [points["name"]]


def test_trend_lines_follow_the_chosen_statistic_and_title():
    spec = charts.trend_lines(
        windows(), fits(("a", "/x", "flat")), stat="p99", y_title="tail", title="T"
    ).to_dict()
    assert layer_with_y(spec["spec"]["layer"], "p99")["encoding"]["y"]["title"] == "tail"
    assert spec["title"] == "T"
    assert set(rows(spec)[0]) == {"panel", "window_start", "p99"}


def test_trend_lines_draw_the_fit_in_red_and_the_step_dashed():
    spec = charts.trend_lines(fitted_windows(), fits(("a", "/x", "rising"))).to_dict()
    layers = spec["spec"]["layer"]
    fit = layer_with_y(layers, "fitted")
    assert fit["mark"]["type"] == "line" and fit["mark"]["color"] == charts.PALETTE[3]
    step = layer_with_y(layers, "segment_mean")
    assert step["mark"]["strokeDash"] == [5, 3]
    assert step["mark"]["interpolate"] == "step-after"
    assert {"fitted", "segment_mean"} <= set(rows(spec)[0])


def test_trend_lines_without_fit_columns_draw_only_the_statistic():
    spec = charts.trend_lines(windows(), fits(("a", "/x", "flat"))).to_dict()
    (only,) = spec["spec"]["layer"]
    assert only["encoding"]["y"]["field"] == "p95"


def test_trend_lines_give_every_panel_its_own_y_scale():
    spec = charts.trend_lines(windows(), fits(("a", "/x", "flat"))).to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent"


def test_trend_lines_carry_evidence_as_text():
    w = fitted_windows(name=EVIL)
    assert_evidence_stays_text(charts.trend_lines(w, fits((EVIL, "/x", "rising"))))


# ---------------------------------------------------------------------------------------
# table and note


def test_table_escapes_every_cell_the_column_names_and_the_caption():
    df = pl.DataFrame(
        {
            "<b>col</b>": ["<img src=x onerror=1>"],
            "query": ['a" onclick="x'],
            "tags": [["<i>", "ok"]],
        }
    )
    out = charts.table(df, caption="from <evil.log>")._repr_html_()
    for raw in ("<b>", "<img", "<i>", "<evil", '" onclick'):
        assert raw not in out
    assert "<th>&lt;b&gt;col&lt;/b&gt;</th>" in out
    assert "&lt;img src=x onerror=1&gt;" in out and "&lt;i&gt;, ok" in out
    assert "<caption>from &lt;evil.log&gt;</caption>" in out


@pytest.mark.parametrize("severity", list(charts.SEVERITY_COLORS))
def test_table_shows_severity_as_a_badge_of_its_colour(severity):
    out = charts.table(pl.DataFrame({"severity": [severity]}))._repr_html_()
    assert f"background:{charts.SEVERITY_COLORS[severity]};" in out
    assert f">{severity}</span>" in out


def test_table_escapes_an_unknown_severity_inside_a_grey_badge():
    out = charts.table(pl.DataFrame({"severity": ["<b>dire</b>"]}))._repr_html_()
    assert "background:#6b7280;" in out and "&lt;b&gt;dire&lt;/b&gt;</span>" in out
    assert "<b>" not in out


def test_table_aligns_numbers_right_and_text_left():
    df = pl.DataFrame({"n": [1200], "x": [3.14159], "s": ["a"], "ok": [True]})
    out = charts.table(df)._repr_html_()
    cells = re.findall(r'<td style="text-align:(\w+)">([^<]*)</td>', out)
    assert cells == [("right", "1200"), ("right", "3.14"), ("left", "a"), ("left", "True")]


def test_table_shows_missing_values_as_a_dash_and_big_numbers_with_separators():
    df = pl.DataFrame({"a": [None, 2_500_000.0, float("nan")], "b": [1234.5, None, 0.5]})
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", charts.table(df)._repr_html_())
    assert cells == ["–", "1,234.5", "2,500,000", "–", "–", "0.50"]


def test_table_truncates_with_a_note():
    out = charts.table(pl.DataFrame({"x": list(range(60))}), caption="c", max_rows=10)
    html = out._repr_html_()
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 10 and "… 50 more rows" in html.split("</tbody>")[1]
    assert html.count("<caption") == 1  # the note is a footer row, not a second caption
    full = charts.table(pl.DataFrame({"x": list(range(10))}), max_rows=10)._repr_html_()
    assert full.count("<tr>") == 1 + 10 and "more rows" not in full


def test_a_long_cell_is_cut_and_its_whole_text_is_the_tooltip():
    script = "INSERT INTO t VALUES (1); " * 40 + "<end>"
    out = charts.table(pl.DataFrame({"query": [script, "short"]}), max_chars=100)._repr_html_()
    cell = re.search(r'<span title="([^"]*)">([^<]*)</span>', out)
    assert cell is not None
    assert html.unescape(cell.group(1)) == script  # nothing lost, escaped
    assert len(html.unescape(cell.group(2))) <= 100 and cell.group(2).endswith("…")
    assert "<end>" not in out and "&lt;end&gt;" in out
    assert ">short</td>" in out


def test_table_keeps_only_the_columns_asked_for_in_that_order():
    df = pl.DataFrame({"a": [1], "b": [2], "c": [3]})
    t = charts.table(df, columns=["c", "a"])
    assert t.df.columns == ["c", "a"]
    assert re.findall(r"<th>(\w)</th>", t._repr_html_()) == ["c", "a"]
    assert repr(t) == repr(t.df)


def test_note_escapes_the_evidence():
    n = charts.note(f'read {EVIL} from "a&b.log"')
    assert n._repr_html_() == (
        '<p class="perflab-note">read &lt;script&gt;alert(1)&lt;/script&gt; from '
        "&quot;a&amp;b.log&quot;</p>"
    )
    assert repr(n) == f'read {EVIL} from "a&b.log"'


# ---------------------------------------------------------------------------------------
# panel and series_label


def test_panel_puts_the_series_name_above_its_panel_left_aligned():
    p = charts.panel("series").to_dict()
    assert p["field"] == "series" and p["type"] == "nominal" and p["title"] is None
    h = p["header"]
    assert (h["labelOrient"], h["labelAnchor"], h["labelAlign"], h["labelAngle"]) == (
        "top",
        "start",
        "left",
        0,
    )


def test_series_label_joins_the_by_columns_and_shows_nulls_as_a_dash():
    df = pl.DataFrame({"name": ["a", "b"], "route": ["/x", None], "shard": [1, 2]})
    got = charts.series_label(df, ["name", "route", "shard"])
    assert got.get_column("series").to_list() == ["a · /x · 1", "b · – · 2"]
    assert got.columns == ["name", "route", "shard", "series"]


def test_series_label_falls_back_to_the_name():
    df = pl.DataFrame({"name": ["a"], "route": ["/x"]})
    assert charts.series_label(df, []).get_column("series").to_list() == ["a"]
    assert charts.series_label(df, ["host"]).get_column("series").to_list() == ["a"]


@pytest.mark.parametrize(
    ("href", "linked"),
    [
        ("api.html", True),
        ("../20261203T101500Z/api.html", True),
        ("HTTPS://grafana.example/d/1", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("\x01javascript:alert(1)", False),  # browsers strip leading control characters
        ("java\x00script:alert(1)", False),
        ("\x7fjavascript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("//evil.example/a", False),  # another site, scheme-relative
        ("\\\\evil.example\\a", False),
        (" api.html", False),
    ],
)
def test_a_table_links_only_pages_of_the_site_or_http_urls(href: str, linked: bool) -> None:
    from perflab.charts import table

    page = table({"notebook": ["api"], "page": [href]}, links={"notebook": "page"})._repr_html_()
    assert ("<a href=" in page) == linked
    assert "javascript" not in page.lower() or not linked

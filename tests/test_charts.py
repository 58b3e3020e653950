"""Charts carry aggregated data only, escape evidence in tables, and use the theme."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import altair as alt
import numpy as np
import polars as pl

from perflab import charts
from perflab.monitoring.charts import latency_bands


def windows(n=10):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "name": ["a"] * n,
            "route": ["/x"] * n,
            "window_start": [t0 + timedelta(minutes=15 * i) for i in range(n)],
            "p50": np.linspace(10, 20, n),
            "p95": np.linspace(20, 40, n),
            "p99": np.linspace(30, 60, n),
        }
    )


def test_theme_is_enabled():
    assert alt.theme.active == "perflab"


def test_distribution_embeds_bins_not_samples():
    rng = np.random.default_rng(0)
    samples = pl.DataFrame({"name": ["a"] * 50_000, "value": rng.lognormal(3, 1, 50_000)})
    spec = charts.distribution(samples, bins=40).to_dict()
    (rows,) = spec["datasets"].values()
    assert len(rows) <= 40
    assert abs(sum(r["share"] for r in rows) - 1.0) < 1e-9
    assert sum(r["count"] for r in rows) == 50_000


def test_latency_bands_has_one_panel_per_series_and_zoom():
    w = pl.concat([windows(), windows().with_columns(pl.lit("/y").alias("route"))])
    spec = latency_bands(w, by=("name", "route")).to_dict()
    (rows,) = spec["datasets"].values()
    assert {r["series"] for r in rows} == {"a · /x", "a · /y"}
    assert "scales" in json.dumps(spec["params"])
    assert spec["facet"]["field"] == "series" and spec["columns"] == 1


def test_table_escapes_every_cell_and_badges_severity():
    t = charts.table(pl.DataFrame({"severity": ["high"], "subject": ["<img src=x onerror=1>"]}))
    out = t._repr_html_()
    assert "<img" not in out and "&lt;img src=x onerror=1&gt;" in out
    assert charts.SEVERITY_COLORS["high"] in out


def test_table_truncates_with_a_note():
    out = charts.table(pl.DataFrame({"x": list(range(60))}), max_rows=10)._repr_html_()
    assert out.count("<tr>") == 1 + 10 and "50 more rows" in out


def test_trend_lines_draw_only_the_series_given_in_fits():
    w = pl.concat([windows(), windows().with_columns(pl.lit("/y").alias("route"))])
    fits = pl.DataFrame({"name": ["a"], "route": ["/y"], "verdict": ["rising"]})
    spec = charts.trend_lines(w, fits, by=("name", "route")).to_dict()
    (rows,) = spec["datasets"].values()
    assert {r["panel"] for r in rows} == {"a · /y — rising"}
    assert len(rows) == 10

"""The dashboard page: escaped, linked, coloured by change, with sparklines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from perflab.report.index import format_value, render_index, sparkline
from perflab.report.store import run_frame

XSS = "<script>alert(1)</script>"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _entry(name: str, **extra: Any) -> dict[str, Any]:
    entry = {
        "name": name,
        "status": "ok",
        "duration_s": 2.5,
        "figures": [],
        "parameters": {},
        "error": None,
        "html": f"{name}.html",
        "ipynb": f"{name}.ipynb",
    }
    entry.update(extra)
    return entry


def _manifest(run_id: str, *notebooks: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": T0.isoformat(),
        "duration_s": 9.0,
        "notebooks": list(notebooks),
    }


def test_every_string_from_a_run_is_escaped() -> None:
    fig = {"name": XSS, "value": 1.0, "unit": XSS, "better": None, "label": XSS}
    page = render_index(
        _manifest(
            "r1",
            _entry(
                XSS,
                status="failed",
                error=f"ValueError: {XSS}",
                parameters={"payload": XSS},
                figures=[fig],
                html=f"{XSS}.html",
            ),
        )
    )
    assert XSS not in page
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5
    # the link target is URL-quoted, not just escaped
    assert 'href="%3Cscript%3Ealert%281%29%3C/script%3E.html"' in page


def test_tiles_show_status_duration_links_and_figures() -> None:
    p95 = {"name": "p95_ms", "value": 231.456, "unit": "ms", "better": "lower", "label": "p95"}
    figures = [p95]
    page = render_index(
        _manifest(
            "r1",
            _entry("monitoring", figures=figures),
            _entry("caching", status="timeout", error="TimeoutError: notebook did not finish"),
        )
    )
    assert 'href="monitoring.html"' in page and 'href="monitoring.ipynb"' in page
    assert 'class="badge ok"' in page and 'class="badge timeout"' in page
    assert "231.5 ms" in page and "2.5 s" in page
    assert re.search(r'<span class="ok">1 ok</span>\s*<span class="timeout">1 timeout</span>', page)
    assert "no headline figures recorded" in page  # caching recorded none
    assert "<svg" not in page  # no history, no trend


def _history(values: list[float], better: str) -> pl.DataFrame:
    frames = [
        run_frame(
            f"r{i}",
            T0 + timedelta(days=i),
            {"nb": [{"name": "x", "value": v, "unit": "ms", "better": better}]},
        )
        for i, v in enumerate(values)
    ]
    return pl.concat(frames)


@pytest.mark.parametrize(
    ("values", "better", "verdict", "arrow"),
    [
        ([200.0, 150.0], "lower", "better", "▼"),
        ([200.0, 250.0], "lower", "worse", "▲"),
        ([200.0, 250.0], "higher", "better", "▲"),
        ([200.0, 150.0], "higher", "worse", "▼"),
    ],
)
def test_change_against_the_previous_run_is_coloured_by_direction(
    values: list[float], better: str, verdict: str, arrow: str
) -> None:
    last = f"r{len(values) - 1}"
    fig = {"name": "x", "value": values[-1], "unit": "ms", "better": better, "label": None}
    page = render_index(_manifest(last, _entry("nb", figures=[fig])), _history(values, better))
    pct = abs(values[-1] - values[-2]) / values[-2] * 100
    was = format_value(values[-2], "ms")
    assert f'class="change {verdict}">{arrow} {pct:.1f} % (was {was})' in page
    assert page.count('<svg class="spark"') == 1
    assert 'href="../r0/index.html"' in page


def test_sparkline_scales_values_into_the_box() -> None:
    svg = sparkline([10.0, 30.0, 20.0], width=100, height=20)
    points = re.search(r'points="([^"]*)"', svg)
    assert points is not None
    coords = [tuple(map(float, p.split(","))) for p in points.group(1).split()]
    xs = [x for x, _ in coords]
    ys = [y for _, y in coords]
    assert xs == sorted(xs) and xs[0] >= 0 and xs[-1] <= 100
    # highest value at the top (smallest y), lowest at the bottom
    assert ys.index(min(ys)) == 1 and ys.index(max(ys)) == 0
    assert sparkline([5.0]) == "" and sparkline([]) == ""
    flat = sparkline([3.0, 3.0])
    assert 'points="3.0,14.0 117.0,14.0"' in flat


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1234567.0, "B", "1,234,567 B"),
        (231.456, "ms", "231.5 ms"),
        (12.3456, "", "12.35"),
        (0.012345, "s", "0.0123 s"),
        (-5.0, "%", "-5 %"),
    ],
)
def test_values_are_formatted_for_reading(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text

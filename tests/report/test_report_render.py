"""Rendering an executed notebook: offline, escaped, code hidden unless asked for."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from perflab.report.render import render_html
from perflab.vega import render as chart

XSS = "<script>alert(1)</script>"
BUNDLE_MARK = "window.vegaEmbed="


def _notebook(*cells: NotebookNode) -> NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "perflab", "display_name": "perflab", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = list(cells)
    return nb


def _code(source: str, *outputs: NotebookNode, count: int = 1) -> NotebookNode:
    cell = new_code_cell(source, execution_count=count)
    cell.outputs = list(outputs)
    return cell


def _chart_output(title: str) -> NotebookNode:
    spec = {"mark": "bar", "title": title, "data": {"values": [{"a": title}]}}
    return new_output("display_data", data=chart(spec))


@pytest.fixture(scope="module")
def executed() -> NotebookNode:
    """A notebook as papermill leaves it: markdown, text, a table, two charts, an error."""
    return _notebook(
        new_markdown_cell("# Findings\n\nThe *p95* rose."),
        _code("print(payload)", new_output("stream", name="stdout", text=XSS + "\n")),
        _code(
            "df",
            new_output(
                "execute_result",
                data={"text/plain": XSS, "text/html": "<table><td>&lt;b&gt;</td></table>"},
                execution_count=3,
            ),
            count=3,
        ),
        _code("chart_a", _chart_output(XSS), count=4),
        _code("chart_b", _chart_output("second"), count=5),
        _code(
            "raise ValueError(payload)",
            new_output(
                "error",
                ename="ValueError",
                evalue=XSS,
                traceback=["\x1b[0;31mValueError\x1b[0m: " + XSS],
            ),
            count=6,
        ),
    )


def test_page_has_no_remote_load_while_the_stock_template_has(
    executed: NotebookNode, find_remote_loads: Callable[[str], list[str]]
) -> None:
    from nbconvert import HTMLExporter

    stock, _ = HTMLExporter().from_notebook_node(executed)
    assert find_remote_loads(stock)  # the check catches what nbconvert does by default
    assert find_remote_loads(render_html(executed, name="findings")) == []


def test_bundle_is_inlined_once_for_two_charts_and_not_at_all_without(
    executed: NotebookNode,
) -> None:
    page = render_html(executed, name="findings")
    assert page.count(BUNDLE_MARK) == 1
    assert page.count("data-perflab-vega") == 2
    assert page.index(BUNDLE_MARK) < page.index("data-perflab-vega")  # defined before use
    plain = _notebook(new_markdown_cell("# Nothing to draw"))
    assert BUNDLE_MARK not in render_html(plain, name="plain")


def test_text_errors_and_chart_data_are_escaped(executed: NotebookNode) -> None:
    page = render_html(executed, name="findings")
    assert XSS not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # stdout and traceback
    assert "ValueError" in page
    assert "<h1" in page and "<em>p95</em>" in page  # markdown is rendered


def test_code_and_prompts_are_hidden_unless_asked_for(executed: NotebookNode) -> None:
    hidden = render_html(executed, name="findings")
    assert "payload" not in hidden
    assert 'class="jp-InputPrompt' not in hidden and 'class="jp-OutputPrompt' not in hidden
    shown = render_html(executed, name="findings", show_code=True)
    assert '<span class="n">payload</span>' in shown  # highlighted source
    assert "In\xa0[6]:" in shown and "Out[3]:" in shown


def test_banner_title_and_navigation_are_escaped(executed: NotebookNode) -> None:
    page = render_html(
        executed, name=XSS, run_id=XSS, status="timeout", banner=f"TimeoutError: {XSS}"
    )
    assert XSS not in page
    assert 'class="perflab-banner timeout"' in page
    assert "TimeoutError: &lt;script&gt;" in page
    assert '<a href="index.html">' in page


def test_a_notebook_file_renders_from_its_path(tmp_path: Path) -> None:
    path = tmp_path / "01-demo.ipynb"
    nbformat.write(_notebook(new_markdown_cell("# Demo")), path)
    assert "<title>01-demo</title>" in render_html(path)


def _page_with(*outputs: NotebookNode) -> str:
    page = render_html(_notebook(_code("x", *outputs)), name="outputs")
    return page[page.index("<body") :]


def test_markdown_outputs_keep_their_formatting_but_not_raw_html() -> None:
    body = _page_with(
        new_output(
            "display_data",
            data={
                "text/markdown": f"**slow**: {XSS} <img src=x onerror=alert(2)> "
                "[docs](javascript:alert(3)) ![chart](https://example.com/c.png)",
                "text/plain": "<IPython.core.display.Markdown object>",
            },
        )
    )
    assert "<strong>slow</strong>: &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(2)&gt;" in body and "<img src=x" not in body
    assert "javascript:" not in body
    assert '<a href="https://example.com/c.png">chart</a>' in body  # a link, not a load


def test_scripted_outputs_fall_back_to_their_text_form() -> None:
    body = _page_with(
        new_output(
            "display_data",
            data={"application/javascript": "alert(4)", "text/plain": "<Javascript object>"},
        ),
        new_output(
            "display_data",
            data={"text/vnd.mermaid": f"graph TD; A-->B; {XSS}", "text/plain": "<Mermaid>"},
        ),
        new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": {"model_id": "m1"},
                "text/plain": "IntSlider(value=3)",
            },
        ),
    )
    assert "alert(4)" not in body and "&lt;Javascript object&gt;" in body
    assert "graph TD" not in body and XSS not in body and "&lt;Mermaid&gt;" in body
    assert "IntSlider(value=3)" in body
    assert "<script" not in body


def test_svg_outputs_are_images_where_scripts_do_not_run() -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><text>{XSS}</text></svg>'
    body = _page_with(new_output("display_data", data={"image/svg+xml": svg}))
    assert re.search(r'<img [^>]*src="data:image/svg\+xml;base64,', body)
    assert "<svg" not in body and XSS not in body


def test_the_offline_check_sees_every_kind_of_remote_load(
    find_remote_loads: Callable[[str], list[str]],
) -> None:
    loads = [
        '<img src="https://example.com/a.png">',
        "<img src='//cdn.example.com/a.png'>",
        '<iframe src="http://example.com"></iframe>',
        '<link rel="preload" href="x.css">',
        "<style>@import 'x.css';</style>",
        "<style>@font-face { src: url(https://fonts.example.com/f.woff2) }</style>",
        '<div style="background: url(//example.com/bg.png)"></div>',
        "<script>fetch('https://example.com')</script>",
    ]
    for html in loads:
        assert find_remote_loads(html), html
    assert find_remote_loads('<a href="https://example.com">docs</a>') == []

"""Executed notebook → one self-contained HTML page, in-process.

nbconvert's ``HTMLExporter`` with the ``perflab`` template shipped in
``perflab/report/templates/perflab`` (it extends nbconvert's ``lab`` template): code
cells and prompts hidden unless asked for, no CDN script or style, and the vega bundle
(:func:`perflab.vega.inline_bundle`) inlined once when the page holds a chart drawn by
the ``perflab`` altair renderer. Text and error outputs go through nbconvert's
``ansi2html``, which escapes them; markdown is rendered by nbconvert.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perflab.vega import CHART_MARKER

if TYPE_CHECKING:
    from nbconvert import HTMLExporter
    from nbformat import NotebookNode

__all__ = ["TEMPLATES", "has_charts", "has_papermill_error", "render_html"]

TEMPLATES = Path(__file__).parent / "templates"
"""Directory holding the ``perflab`` nbconvert template (package data)."""

_PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
_LAB_CSS = ("index.css", "theme-light.css")


def has_charts(nb: NotebookNode) -> bool:
    """Whether any output of ``nb`` is a chart drawn by the ``perflab`` renderer.

    Examples
    --------
    >>> import nbformat
    >>> from perflab.vega import render
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("chart")
    >>> cell.outputs = [nbformat.v4.new_output("display_data", data=render({"mark": "bar"}))]
    >>> nb.cells = [cell]
    >>> has_charts(nb)
    True
    """
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is None:
                continue
            text = html if isinstance(html, str) else "".join(html)
            if CHART_MARKER in text:
                return True
    return False


def has_papermill_error(nb: NotebookNode) -> bool:
    """Whether papermill wrote its error banner into ``nb`` (a cell raised).

    Examples
    --------
    >>> import nbformat
    >>> has_papermill_error(nbformat.v4.new_notebook())
    False
    """
    return any(
        _PAPERMILL_ERROR_TAG in cell.get("metadata", {}).get("tags", [])
        for cell in nb.get("cells", [])
    )


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


@functools.lru_cache(maxsize=1)
def _page_css() -> str:
    """nbconvert's lab CSS (index and light theme) without comments."""
    exporter = _exporter(False)
    env = exporter.environment
    assert env.loader is not None
    parts = [env.loader.get_source(env, f"static/{name}")[0] for name in _LAB_CSS]
    return _CSS_COMMENT.sub("", "\n".join(parts))


@functools.lru_cache(maxsize=2)
def _exporter(show_code: bool) -> HTMLExporter:
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="perflab",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=not show_code,
        anchor_link_text="",
    )


def render_html(
    nb: NotebookNode | str | os.PathLike[str],
    *,
    name: str | None = None,
    show_code: bool = False,
    run_id: str | None = None,
    status: str = "ok",
    banner: str | None = None,
) -> str:
    """Render an executed notebook to a standalone HTML page.

    Parameters
    ----------
    nb : NotebookNode or path
        The executed notebook (or its ``.ipynb`` path).
    name : str, optional
        Page title when the notebook metadata has none; defaults to the file stem.
    show_code : bool
        Keep code cells and prompts (hidden by default).
    run_id : str, optional
        Shown in the navigation line above the notebook.
    status : str
        ``"ok"``, ``"failed"`` or ``"timeout"``; styles the banner.
    banner : str, optional
        Text shown (escaped) in a banner at the top, e.g. why the notebook stopped.

    Returns
    -------
    str
        The HTML document. It loads nothing from the network.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.cells = [nbformat.v4.new_markdown_cell("# Latency")]
    >>> page = render_html(nb, name="demo")
    >>> "<title>demo</title>" in page, "<script src=" in page, "vegaEmbed" in page
    (True, False, False)
    """
    import nbformat

    notebook: NotebookNode
    if isinstance(nb, str | os.PathLike):
        path = Path(nb)
        name = name or path.stem
        notebook = nbformat.read(path, as_version=4)
    else:
        notebook = nb
    resources: dict[str, Any] = {
        "metadata": {"name": name or "notebook"},
        "perflab_run_id": run_id,
        "perflab_status": status,
        "perflab_banner": banner,
        "perflab_css": _page_css(),
    }
    if has_charts(notebook):
        from perflab.vega import inline_bundle

        resources["perflab_vega_bundle"] = inline_bundle()
    html, _ = _exporter(bool(show_code)).from_notebook_node(notebook, resources=resources)
    return str(html)

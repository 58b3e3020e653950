"""Executed notebook → one self-contained HTML page, in-process.

nbconvert's ``HTMLExporter`` with the ``perflab`` template shipped in
``perflab/report/templates/perflab`` (it extends nbconvert's ``lab`` template): code
cells and prompts hidden unless asked for, no CDN script or style, and the vega bundle
(:func:`perflab.vega.inline_bundle`) inlined once when the page holds a chart drawn by
the ``perflab`` altair renderer.

What each kind of output becomes, for a page that must be safe with untrusted text in
any output:

* stream, ``text/plain``, ``text/latex`` and error outputs are escaped by nbconvert;
* ``text/markdown`` outputs (``display(Markdown(...))``, often built from evidence) are
  rendered by :func:`output_markdown`: markdown formatting, but raw HTML shown as text,
  ``javascript:`` links disarmed and remote images turned into links (nothing is
  fetched);
* ``text/html`` is inserted as it is: it comes from our charts and from table reprs
  (polars and pandas escape cell values);
* ``image/svg+xml`` is embedded as a base64 ``<img>``, where scripts do not run;
* ``application/javascript``, widget views and ``text/vnd.mermaid`` are not shown
  (they need scripts that an offline page does not have, or could load some): such an
  output falls back to its ``text/plain`` form.

Markdown cells are ours (authored with the notebook) and rendered by nbconvert as they
are.
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

__all__ = [
    "DISPLAY_PRIORITY",
    "TEMPLATES",
    "has_charts",
    "has_papermill_error",
    "output_markdown",
    "render_html",
]

TEMPLATES = Path(__file__).parent / "templates"
"""Directory holding the ``perflab`` nbconvert template (package data)."""

DISPLAY_PRIORITY = (
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "text/latex",
    "image/png",
    "image/jpeg",
    "text/plain",
)
"""Output mimetypes a page shows, best first (nbconvert's list without the scripted ones)."""

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


def output_markdown(text: str) -> str:
    """Render a ``text/markdown`` output, treating it as untrusted.

    Markdown formatting is kept; raw HTML is shown as text, links with a harmful
    scheme (``javascript:``) go nowhere, and an image that is not a ``data:`` URL
    becomes a link to it, so the page fetches nothing.

    Examples
    --------
    >>> print(output_markdown("**slow**: <script>alert(1)</script>"))
    <p><strong>slow</strong>: &lt;script&gt;alert(1)&lt;/script&gt;</p>
    >>> print(output_markdown("![logo](https://example.com/a.png)"))
    <p><a href="https://example.com/a.png">logo</a></p>
    """
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    return str(MarkdownWithMath(renderer=_untrusted_renderer()).render(text))


def _untrusted_renderer() -> Any:
    from mistune import HTMLRenderer
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class Untrusted(IPythonRenderer):
        def block_mermaidjs(self, code: str) -> str:
            return str(HTMLRenderer.block_code(self, code, info="mermaid"))

        def image(self, text: str, url: str, title: str | None = None) -> str:
            if url.startswith("data:"):
                return str(super().image(text, url, title))
            return str(self.link(text or url, url, title))

    return Untrusted(escape=True, allow_harmful_protocols=False, exclude_anchor_links=True)


@functools.lru_cache(maxsize=2)
def _exporter(show_code: bool) -> HTMLExporter:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    return HTMLExporter(
        config=Config({"NbConvertBase": {"display_data_priority": list(DISPLAY_PRIORITY)}}),
        template_name="perflab",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=not show_code,
        anchor_link_text="",
        filters={"perflab_output_markdown": output_markdown},
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

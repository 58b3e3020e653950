"""Offline charts: the vega bundle, cached on disk, and an altair renderer that uses it.

altair's own HTML output and nbconvert's stock templates load vega from a CDN, so a
report opened offline shows no chart. perflab instead

* takes the complete vega + vega-lite + vega-embed bundle from ``vl_convert`` once,
  caches it on disk (keyed by the vl-convert version) and lets the report template
  inline it once per page (:func:`javascript_bundle`, :func:`inline_bundle`);
* registers an altair renderer named ``"perflab"`` (:func:`render`) whose output is a
  ``<div>`` and an inline ``<script>`` that calls ``vegaEmbed(div, spec, {actions:
  false})``, with the spec JSON made safe to embed in a ``<script>`` element
  (:func:`script_json`).

:func:`activate` enables the renderer only inside a report run (the runner sets
``PERFLAB_REPORT=1`` for the kernel); in JupyterLab altair keeps its normal display.

This module must not import :mod:`perflab.report` (the report pipeline sits above it).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "CHART_MARKER",
    "RENDERER_NAME",
    "REPORT_ENV",
    "activate",
    "cache_dir",
    "inline_bundle",
    "javascript_bundle",
    "register",
    "render",
    "script_json",
]

logger = logging.getLogger(__name__)

REPORT_ENV = "PERFLAB_REPORT"
"""Environment variable the report runner sets for the kernel (value ``"1"``)."""

RENDERER_NAME = "perflab"
"""Name under which :func:`render` is registered with ``altair.renderers``."""

CHART_MARKER = "data-perflab-vega"
"""Attribute on every chart ``<div>``; the report template inlines the bundle when it
finds one in a page."""

_SCRIPT_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "/": "\\/",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_JSON_RE = re.compile("[<>&/\u2028\u2029]")
_END_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)
_bundle_lock = threading.Lock()


def script_json(value: Any) -> str:
    """Serialise ``value`` as JSON that can sit inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&``, U+2028 and U+2029 become ``\\uXXXX`` escapes and ``/`` becomes
    ``\\/``, so no string in the data can close the element (``</script>``), open a
    comment, or end a JavaScript line; ``JSON.parse`` and a JavaScript literal both
    read the text back to the same value.

    Parameters
    ----------
    value : JSON-serialisable object

    Returns
    -------
    str

    Examples
    --------
    >>> s = script_json({"title": "</script><b>&"})
    >>> s
    '{"title":"\\\\u003c\\\\/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    >>> json.loads(s)
    {'title': '</script><b>&'}
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _SCRIPT_JSON_RE.sub(lambda m: _SCRIPT_JSON_ESCAPES[m.group(0)], text)


def cache_dir() -> Path:
    """Directory of perflab's on-disk cache: ``$XDG_CACHE_HOME/perflab`` or ``~/.cache/perflab``.

    Examples
    --------
    >>> cache_dir().name
    'perflab'
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perflab"


def _vl_convert_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vl-convert-python")
    except PackageNotFoundError:  # pragma: no cover - vl-convert is a dependency
        import vl_convert

        return str(getattr(vl_convert, "__version__", "unknown"))


def javascript_bundle() -> str:
    """The vega, vega-lite and vega-embed JavaScript bundle, as ``vl_convert`` builds it.

    The bundle (about 0.9 MB) takes about a second to build, so it is cached: in
    memory for the process and on disk under :func:`cache_dir`, in a file named for
    the vl-convert version, written atomically. An unwritable cache only costs the
    rebuild. Running the bundle in a page defines ``window.vegaEmbed``.

    Returns
    -------
    str

    Examples
    --------
    >>> bundle = javascript_bundle()
    >>> "window.vegaEmbed=" in bundle
    True
    """
    with _bundle_lock:
        return _javascript_bundle_cached(_vl_convert_version(), str(cache_dir()))


@functools.lru_cache(maxsize=4)
def _javascript_bundle_cached(version: str, directory: str) -> str:
    path = Path(directory) / f"vega-bundle-{version}.js"
    try:
        text = path.read_text(encoding="utf-8")
        if "vegaEmbed" in text:
            return text
        logger.warning("ignoring unusable cached vega bundle %s", path)
    except OSError:
        pass
    import vl_convert

    # The default snippet sets window.vegaEmbed; the stub wrongly requires ``snippet``.
    text = vl_convert.javascript_bundle()  # type: ignore[call-arg]
    try:
        from perflab.frames import write_atomic

        write_atomic(path, text)
    except OSError as exc:
        logger.warning("cannot cache the vega bundle in %s: %s", path, exc)
    return text


@functools.lru_cache(maxsize=4)
def _make_inline(bundle: str) -> str:
    # Minified code carries no comments, so "://" only occurs inside string or regex
    # literals (namespace URIs such as http://www.w3.org/2000/svg, the schema id, the
    # editor link of the disabled actions menu) where "\/" reads as "/". Escaping them
    # keeps the offline check (no http(s):// in any script) meaningful for the rest of
    # the page. "</script" and "<!--" would end or confuse the element; escape them too.
    safe = _END_SCRIPT.sub(r"<\\/\1", bundle).replace("<!--", "<\\!--").replace("://", ":\\/\\/")
    # A function scope keeps the bundle's top-level names out of the page's global
    # scope, where they could clash with other inline scripts.
    return "(function () {\n" + safe + "\n}).call(window);"


def inline_bundle() -> str:
    """:func:`javascript_bundle` prepared for an inline ``<script>`` element.

    The code is wrapped in a function scope (its top-level names stay out of the
    page's globals; it still sets ``window.vegaEmbed``), and sequences that would end
    the element (``</script``) or look like a remote address (``://`` inside its string
    literals, e.g. SVG namespace URIs; none is fetched) are written with escaped
    slashes, which JavaScript reads identically.

    Returns
    -------
    str

    Examples
    --------
    >>> code = inline_bundle()
    >>> "</script" in code.lower(), "http://" in code, "window.vegaEmbed=" in code
    (False, False, True)
    """
    return _make_inline(javascript_bundle())


def render(spec: Mapping[str, Any], **metadata: Any) -> dict[str, str]:
    """altair renderer: a ``<div>`` and an inline script drawing ``spec`` with vegaEmbed.

    Registered as ``"perflab"`` in ``altair.renderers``. The page must define
    ``vegaEmbed`` (the perflab report template inlines :func:`inline_bundle` once per
    page that holds a chart); without it the div says so instead of staying blank.

    Parameters
    ----------
    spec : mapping
        A Vega-Lite specification (altair passes ``chart.to_dict()``).
    **metadata
        Renderer options; ``embed_options`` (a mapping, as set by
        ``alt.renderers.set_embed_options``) is merged over ``{"actions": False}``.

    Returns
    -------
    dict
        A mimebundle with ``text/html`` and a ``text/plain`` fallback.

    Examples
    --------
    >>> bundle = render({"mark": "point", "title": "</script>", "data": {"values": []}})
    >>> html = bundle["text/html"]
    >>> "vegaEmbed(" in html, html.count("</script>")
    (True, 1)
    """
    options: dict[str, Any] = {"actions": False}
    embed = metadata.get("embed_options")
    if isinstance(embed, Mapping):
        options.update(embed)
    div_id = f"perflab-vega-{uuid.uuid4().hex}"
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    plain = f"<perflab chart{': ' + str(title) if isinstance(title, str) else ''}>"
    html = (
        f'<div id="{div_id}" class="perflab-vega" {CHART_MARKER}="1"></div>\n'
        '<script type="text/javascript">\n'
        "(function () {\n"
        f'  var el = document.getElementById("{div_id}");\n'
        f"  var spec = {script_json(dict(spec))};\n"
        f"  var opt = {script_json(options)};\n"
        '  if (typeof window.vegaEmbed !== "function") {\n'
        '    el.textContent = "Chart not drawn: this page does not include the vega bundle.";\n'
        "    return;\n"
        "  }\n"
        "  window.vegaEmbed(el, spec, opt).catch(function (err) {\n"
        '    el.textContent = "Chart failed to draw: " + err;\n'
        "  });\n"
        "})();\n"
        "</script>\n"
    )
    return {"text/html": html, "text/plain": plain}


def register() -> None:
    """Register :func:`render` as altair's ``"perflab"`` renderer (without enabling it).

    Examples
    --------
    >>> import altair as alt
    >>> register()
    >>> "perflab" in alt.renderers.names()
    True
    """
    import altair as alt

    alt.renderers.register(RENDERER_NAME, render)


def activate() -> str:
    """Register the ``"perflab"`` renderer and enable it inside a report run.

    The runner sets ``PERFLAB_REPORT=1`` for the kernels it starts; there the renderer
    is enabled so charts draw in the offline HTML report. Elsewhere (JupyterLab) the
    active renderer is left as it is.

    Returns
    -------
    str
        The name of the renderer active afterwards.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("PERFLAB_REPORT", None) and None
    >>> activate() != "perflab"
    True
    """
    import altair as alt

    register()
    if os.environ.get(REPORT_ENV):
        alt.renderers.enable(RENDERER_NAME)
    return str(alt.renderers.active)

"""perflab.vega: script-safe spec JSON, the offline renderer, the cached bundle."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perflab import vega

XSS = "</script><script>alert(1)</script>"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_script_json_reads_back_and_holds_no_dangerous_character(value: Any) -> None:
    text = vega.script_json(value)
    assert json.loads(text) == value
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert "://" not in text


@pytest.fixture
def renderers() -> Iterator[None]:
    """Restore altair's renderer registry and the environment after a test."""
    active = alt.renderers.active
    yield
    alt.renderers.enable(active)


def test_renderer_output_is_a_div_and_an_inline_vega_embed_call() -> None:
    spec = {"mark": "point", "title": XSS, "data": {"values": [{"label": XSS}]}}
    bundle = vega.render(spec, embed_options={"renderer": "svg"})
    html = bundle["text/html"]
    (div_id,) = re.findall(r'<div id="([^"]+)" class="perflab-vega"', html)
    assert f'document.getElementById("{div_id}")' in html
    assert "vegaEmbed(el, spec, opt)" in html
    assert "<script src" not in html and html.count("</script>") == 1
    assert "alert(1)" in html and "<script>alert" not in html
    literal = re.search(r"var spec = (.*);\n", html)
    options = re.search(r"var opt = (.*);\n", html)
    assert literal and options
    assert json.loads(literal.group(1)) == spec
    assert json.loads(options.group(1)) == {"actions": False, "renderer": "svg"}
    assert bundle["text/plain"] == f"<perflab chart: {XSS}>"


def test_altair_uses_the_renderer_once_enabled(renderers: None) -> None:
    vega.register()
    alt.renderers.enable("perflab")
    chart = alt.Chart(alt.Data(values=[{"x": 1}])).mark_bar().encode(x="x:Q")
    bundle = chart._repr_mimebundle_()
    assert isinstance(bundle, dict) and set(bundle) == {"text/html", "text/plain"}
    assert "data-perflab-vega" in bundle["text/html"]


def test_activate_enables_the_renderer_only_in_a_report_run(
    renderers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    alt.renderers.enable("default")
    monkeypatch.delenv(vega.REPORT_ENV, raising=False)
    assert vega.activate() == "default"  # JupyterLab keeps its display
    monkeypatch.setenv(vega.REPORT_ENV, "1")
    assert vega.activate() == "perflab"


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    vega._javascript_bundle_cached.cache_clear()
    yield tmp_path / "perflab"
    vega._javascript_bundle_cached.cache_clear()


def test_bundle_is_cached_on_disk_per_vl_convert_version(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = vega.javascript_bundle()
    (cached,) = fresh_cache.glob("vega-bundle-*.js")
    assert cached.name == f"vega-bundle-{vega._vl_convert_version()}.js"
    assert cached.read_text() == first
    assert [p.name for p in fresh_cache.iterdir()] == [cached.name]  # no temp file left

    import vl_convert

    def no_rebuild(*args: object) -> str:
        raise AssertionError("rebuilt although cached on disk")

    monkeypatch.setattr(vl_convert, "javascript_bundle", no_rebuild)
    vega._javascript_bundle_cached.cache_clear()
    assert vega.javascript_bundle() == first


def test_unwritable_cache_still_gives_the_bundle(
    fresh_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_cache.parent.mkdir(exist_ok=True)
    fresh_cache.write_text("a file where the cache directory should be")
    assert "vegaEmbed" in vega.javascript_bundle()
    assert "cannot cache the vega bundle" in caplog.text


def test_inline_bundle_cannot_end_its_script_and_names_no_address() -> None:
    code = vega.inline_bundle()
    assert "</script" not in code.lower() and "<!--" not in code
    assert not re.search(r"https?://", code)
    assert code.startswith("(function () {") and code.endswith("}).call(window);")


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the bundle")
def test_inline_bundle_still_runs_and_the_spec_literal_reads_back(tmp_path: Path) -> None:
    spec = {"mark": "bar", "title": XSS, "data": {"values": [{"a": "\u2028", "b": "a/b&c"}]}}
    html = vega.render(spec)["text/html"]
    literal = re.search(r"var spec = (.*);\n", html)
    assert literal
    (tmp_path / "bundle.js").write_text(vega.inline_bundle())
    (tmp_path / "check.js").write_text(
        "globalThis.window = globalThis;\n"
        "require('vm').runInThisContext(require('fs').readFileSync(process.argv[2], 'utf8'));\n"
        f"const spec = {literal.group(1)};\n"
        "console.log(JSON.stringify({embed: typeof window.vegaEmbed, spec: spec}));\n"
    )
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, str(tmp_path / "check.js"), str(tmp_path / "bundle.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(result.stdout.strip().split("\n")[-1])  # not splitlines: U+2028
    assert out == {"embed": "function", "spec": spec}


@pytest.mark.parametrize("end", ["</script>", "</SCRIPT>", "</Script >", "</sCrIpT"])
def test_inline_bundle_escapes_a_script_end_tag_in_any_case(end: str) -> None:
    code = vega._make_inline(f'var s = "{end}"; var c = "<!--"; var u = "http://example.com";')
    assert not re.search(r"</script", code, re.I)
    assert "<!--" not in code and "://" not in code
    assert "<\\/" + end[2:] in code  # still the same string to JavaScript

"""The public names of perflab.queries: each is what its module defines, whatever was
imported before it (the analyses are imported on first use)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import perflab.queries as qry


def test_every_public_name_is_its_function_or_class_even_after_every_submodule() -> None:
    for info in pkgutil.iter_modules(qry.__path__):
        importlib.import_module(f"perflab.queries.{info.name}")
    for name in qry.__all__:
        value = getattr(qry, name)
        assert not isinstance(value, types.ModuleType), name
        assert getattr(value, "__name__", name) == name or hasattr(value, "names"), name


def test_dir_lists_the_public_names() -> None:
    assert set(qry.__all__) <= set(dir(qry))


def test_reading_a_log_does_not_import_the_analyses() -> None:
    code = (
        "import sys; from perflab.queries import digest, read_log; "
        "print(sorted(m for m in sys.modules if m.startswith('perflab.queries.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout
    for heavy in ("analyze", "rules", "indexes", "explain", "workload"):
        assert f"perflab.queries.{heavy}'" not in loaded, loaded
    # and the first use of an analysis imports it
    assert callable(qry.top_recommendations)

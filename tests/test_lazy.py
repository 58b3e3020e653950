"""perflab.lazy: a domain's public names import their module on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from perflab.lazy import exports


def test_unknown_names_raise_attribute_error_naming_the_package():
    get, _ = exports("perflab", {}, [])
    with pytest.raises(AttributeError, match="'perflab' has no attribute 'nope'"):
        get("nope")


def test_a_domain_does_not_import_its_analyses_until_asked():
    code = (
        "import sys, perflab.caching as c\n"
        "assert 'perflab.caching.simulation' not in sys.modules\n"
        "f = c.simulate\n"
        "assert 'perflab.caching.simulation' in sys.modules\n"
        "assert c.__dict__['simulate'] is f and callable(f)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr

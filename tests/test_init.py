"""The perflab package: domains are found, not listed, and imported on first use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import perflab

ROOT = Path(__file__).parents[1]
CORE = ("charts", "errors", "frames", "groupstats", "kernels", "recommend", "report", "stats")


def test_domains_lists_the_domain_subpackages_and_no_core_module():
    found = perflab.domains()
    assert "monitoring" in found
    assert found == sorted(found)
    assert not set(found) & {*CORE, "samples", "sources", "times", "vega", "cli"}
    assert "report" not in found  # a subpackage, but not a domain: it has no schema.py


LAZY = """
import json, sys
import perflab
before = sorted(m for m in sys.modules if m.startswith("perflab."))
monitoring = perflab.monitoring
times = perflab.times
print(json.dumps({
    "before": before,
    "monitoring": monitoring is sys.modules["perflab.monitoring"],
    "summarize": callable(monitoring.summarize),
    "times": times is sys.modules["perflab.times"] and callable(times.instant),
}))
"""


def test_domains_and_core_modules_are_imported_on_first_attribute_access():
    done = subprocess.run(
        [sys.executable, "-c", LAZY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(done.stdout.splitlines()[-1])
    assert "perflab.monitoring" not in got["before"]
    assert "perflab.times" not in got["before"]
    assert got["monitoring"] and got["summarize"] and got["times"]


@pytest.mark.parametrize("name", ["no_such_domain", "_private", "monitoring_"])
def test_an_unknown_attribute_raises_attribute_error(name):
    with pytest.raises(AttributeError, match=name):
        getattr(perflab, name)
    assert not hasattr(perflab, name)


def test_dir_lists_the_domains_and_core_modules():
    listed = dir(perflab)
    assert {"monitoring", "domains", "__version__", *CORE} <= set(listed)
    assert set(perflab.domains()) <= set(listed)

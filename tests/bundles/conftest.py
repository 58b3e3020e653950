"""Fixtures shared by the bundles tests: the real builds in data/sample/bundles.

Build a and build b of the sample app (data/make/bundles_real.py): webpack 5.113 stats,
esbuild metafiles, rollup-plugin-visualizer raw data and build a's emitted files.
Bundles are read once per session; tests must not mutate them (they are frozen).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from perflab.bundles.model import Bundle
from perflab.bundles.read import (
    read_esbuild_metafile,
    read_rollup_visualizer,
    read_webpack_stats,
)

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "bundles"


def load_stats(build: str = "a") -> dict[str, Any]:
    """The raw webpack stats of a sample build, as Python objects (a fresh copy)."""
    return json.loads(gzip.decompress((SAMPLE / build / "stats.json.gz").read_bytes()))


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def webpack_a() -> Bundle:
    """Build a, sizes measured from its emitted files."""
    return read_webpack_stats(SAMPLE / "a" / "stats.json.gz", output_dir=SAMPLE / "a" / "output")


@pytest.fixture(scope="session")
def webpack_b() -> Bundle:
    """Build b (adds dayjs, grows the country table), sizes estimated."""
    return read_webpack_stats(SAMPLE / "b" / "stats.json.gz")


@pytest.fixture(scope="session")
def esbuild_a() -> Bundle:
    return read_esbuild_metafile(SAMPLE / "a" / "meta.json.gz")


@pytest.fixture(scope="session")
def esbuild_b() -> Bundle:
    return read_esbuild_metafile(SAMPLE / "b" / "meta.json.gz")


@pytest.fixture(scope="session")
def rollup_a() -> Bundle:
    return read_rollup_visualizer(SAMPLE / "a" / "rollup-stats.json.gz")

"""`make samples` finds each domain's generator and runs only those asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.errors import ParameterError
from perflab.samples import generators, write_samples


def test_every_domain_with_a_samples_module_is_a_generator():
    assert "monitoring" in generators()
    for name in generators():
        assert (Path(__file__).parents[1] / "perflab" / name / "samples.py").is_file()


def test_only_runs_the_named_domains_and_writes_under_their_folder(tmp_path: Path):
    written = write_samples(tmp_path, only=["monitoring"])
    assert written and all(p.is_relative_to(tmp_path / "monitoring") for p in written)


def test_an_unknown_domain_is_refused_before_anything_is_written(tmp_path: Path):
    with pytest.raises(ParameterError, match="no sample generator"):
        write_samples(tmp_path, only=["nonesuch"])
    assert not any(tmp_path.iterdir())

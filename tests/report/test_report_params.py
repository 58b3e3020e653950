"""Notebook selection and parameters: parsed, merged and checked before anything runs."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest

from perflab.errors import ParameterError
from perflab.report.runner import (
    discover,
    load_config,
    merge_parameters,
    notebook_name,
    parse_assignment,
    run,
    select_kernel,
    validate_parameters,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monitoring.slo_p95_ms=250", ("monitoring", "slo_p95_ms", 250)),
        ("monitoring.ratio=0.5", ("monitoring", "ratio", 0.5)),
        ("monitoring.strict=true", ("monitoring", "strict", True)),
        ("monitoring.hosts=[a, b]", ("monitoring", "hosts", ["a", "b"])),
        ("monitoring.path=../data/x.csv", ("monitoring", "path", "../data/x.csv")),
        ("monitoring.expr=a=b", ("monitoring", "expr", "a=b")),
        ("monitoring.since=null", ("monitoring", "since", None)),
        ("monitoring.version='1.10'", ("monitoring", "version", "1.10")),
        ("monitoring.since=2026-11-01", ("monitoring", "since", "2026-11-01")),
        ("monitoring.at=2026-11-01T12:00:00Z", ("monitoring", "at", "2026-11-01T12:00:00Z")),
    ],
)
def test_assignment_values_are_read_as_yaml(text: str, expected: tuple[str, str, object]) -> None:
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["monitoring=1", "slo=1", ".slo=1", "monitoring.=1", "m.x"])
def test_malformed_assignments_are_rejected(text: str) -> None:
    with pytest.raises(ParameterError, match=r"NAME\.KEY=VALUE"):
        parse_assignment(text)


def test_unparseable_yaml_value_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="cannot parse"):
        parse_assignment("m.x=[1, 2")


def test_config_file_and_cli_merge_with_cli_winning(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("monitoring:\n  slo_p95_ms: 300\n  window: 5m\ncaching: {}\n")
    merged = merge_parameters(load_config(config), [parse_assignment("monitoring.slo_p95_ms=250")])
    assert merged == {"monitoring": {"slo_p95_ms": 250, "window": "5m"}, "caching": {}}


@pytest.mark.parametrize(
    "content", ["- a\n- b\n", "monitoring: 3\n", "monitoring: [1]\n", "{not yaml"]
)
def test_config_that_is_not_a_mapping_of_mappings_is_rejected(tmp_path: Path, content: str) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(content)
    with pytest.raises(ParameterError, match="config"):
        load_config(config)


def test_missing_config_file_is_a_parameter_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")


def test_names_drop_the_ordering_prefix_and_keep_file_order(fixture_notebooks: Path) -> None:
    assert notebook_name("notebooks/01-monitoring.ipynb") == "monitoring"
    assert notebook_name("12-reporting.ipynb") == "reporting"
    assert notebook_name("2024-review.ipynb") == "review"
    names = ["good", "raises", "sleeps", "xss", "stubborn", "crashes"]
    assert list(discover(fixture_notebooks)) == names


def test_two_files_with_the_same_name_are_rejected(tmp_path: Path) -> None:
    for fname in ("01-monitoring.ipynb", "02-monitoring.ipynb"):
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / fname)
    with pytest.raises(ParameterError, match="same name 'monitoring'"):
        discover(tmp_path)


def test_a_notebook_cannot_take_the_dashboard_name(tmp_path: Path) -> None:
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "00-index.ipynb")
    with pytest.raises(ParameterError, match="dashboard"):
        discover(tmp_path)


def test_missing_notebooks_directory_is_a_parameter_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="does not exist"):
        discover(tmp_path / "nope")


def test_unknown_parameter_lists_the_known_ones(fixture_notebooks: Path) -> None:
    with pytest.raises(ParameterError) as err:
        validate_parameters(discover(fixture_notebooks), {"good": {"slo": 1}})
    assert "no parameter 'slo'" in str(err.value)
    assert "latency_csv, slo_ms, label" in str(err.value)


def test_unknown_notebook_in_parameters_lists_the_known_ones(fixture_notebooks: Path) -> None:
    with pytest.raises(ParameterError, match=r"'monitorin'.*known: good, raises"):
        validate_parameters(discover(fixture_notebooks), {"monitorin": {"x": 1}})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"only": ["good", "nope"]},
        {"parameters": {"nope": {"x": 1}}},
        {"parameters": {"good": {"nope": 1}}},
        {"timeout": 0},
    ],
)
def test_run_rejects_bad_input_before_creating_anything(
    tmp_path: Path, fixture_notebooks: Path, kwargs: dict[str, object]
) -> None:
    out = tmp_path / "reports"
    with pytest.raises(ParameterError):
        run(fixture_notebooks, out, progress=False, **kwargs)
    assert not out.exists()


def test_missing_perflab_kernel_falls_back_to_python3_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="perflab.report.runner"):
        assert select_kernel("perflab", ["python3"]) == "python3"
    assert "no Jupyter kernel named 'perflab'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="perflab.report.runner"):
        assert select_kernel("perflab", ["perflab", "python3"]) == "perflab"
    assert caplog.text == ""

"""perflab.report.figure: validated, appended to the run's file, cheap to import."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perflab.errors import ParameterError
from perflab.report import figure, read_figures, recorded
from perflab.report.figures import FIGURES_ENV


def test_figures_go_to_the_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "figures.jsonl"
    monkeypatch.setenv(FIGURES_ENV, str(target))
    figure("p95_ms", 231.5, "ms", better="lower", label="p95 latency")
    figure("hit_ratio", np.float64(0.93), better="higher")
    figure("requests", np.int64(1200), better=None)
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == [
        {"name": "p95_ms", "value": 231.5, "unit": "ms", "better": "lower", "label": "p95 latency"},
        {"name": "hit_ratio", "value": 0.93, "unit": "", "better": "higher", "label": None},
        {"name": "requests", "value": 1200.0, "unit": "", "better": None, "label": None},
    ]
    assert read_figures(target) == lines


def test_without_the_environment_figures_are_kept_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(FIGURES_ENV, raising=False)
    figure("interactive_only", 7.0, "s")
    assert recorded()[-1]["name"] == "interactive_only"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("p95", math.nan), {}, "finite"),
        (("p95", math.inf), {}, "finite"),
        (("p95", True), {}, "number"),
        (("p95", "231"), {}, "number"),
        (("p95", None), {}, "number"),
        (("", 1.0), {}, "name"),
        (("p95", 1.0), {"better": "smaller"}, "better"),
        (("p95", 1.0), {"unit": 5}, "unit"),
        (("p95", 1.0), {"label": 3}, "label"),
    ],
)
def test_invalid_figures_are_rejected_and_not_recorded(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[object, ...],
    kwargs: dict[str, object],
    message: str,
) -> None:
    target = tmp_path / "figures.jsonl"
    monkeypatch.setenv(FIGURES_ENV, str(target))
    before = len(recorded())
    with pytest.raises(ParameterError, match=message):
        figure(*args, **kwargs)
    assert not target.exists()
    assert len(recorded()) == before


@given(
    value=st.floats(allow_nan=False, allow_infinity=False),
    label=st.text(max_size=20),
)
def test_any_finite_value_and_label_survive_the_file_exactly(value: float, label: str) -> None:
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "f.jsonl"
        saved = os.environ.get(FIGURES_ENV)
        os.environ[FIGURES_ENV] = str(target)
        try:
            figure("x", value, "ms", label=label)
        finally:
            if saved is None:
                del os.environ[FIGURES_ENV]
            else:
                os.environ[FIGURES_ENV] = saved
        (read,) = read_figures(target)
        assert read["value"] == value and read["label"] == label


def test_a_figure_recorded_twice_keeps_its_last_value_in_its_first_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "figures.jsonl"
    monkeypatch.setenv(FIGURES_ENV, str(target))
    figure("p95_ms", 250.0, "ms")
    figure("rps", 90.0, "1/s", better="higher")
    figure("p95_ms", 240.0, "ms")  # a cell run again, or a loop that overwrote it
    assert [(f["name"], f["value"]) for f in read_figures(target)] == [
        ("p95_ms", 240.0),
        ("rps", 90.0),
    ]


def test_unreadable_lines_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "figures.jsonl"
    good = {"name": "ok", "value": 1.0, "unit": "", "better": "lower", "label": None}
    target.write_text(
        json.dumps(good) + "\n" + '{"name": "bad", "value": "NaN"}\n' + '{"name": "cut", "va'
    )
    with caplog.at_level(logging.WARNING, logger="perflab.report.figures"):
        assert read_figures(target) == [good]
    assert "figures.jsonl:2" in caplog.text and "figures.jsonl:3" in caplog.text


def test_missing_file_means_no_figures(tmp_path: Path) -> None:
    assert read_figures(tmp_path / "none.jsonl") == []


def test_importing_perflab_report_in_a_kernel_loads_no_heavy_package() -> None:
    code = (
        "import sys, perflab.report\n"
        "heavy = ['papermill', 'nbconvert', 'nbformat', 'polars', 'altair', 'jinja2']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

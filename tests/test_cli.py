"""The ``perflab`` command: exit codes and messages a user or CI relies on."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from perflab import cli

NOTEBOOKS = Path(__file__).parent / "report" / "notebooks"


def test_failed_notebook_gives_exit_1_and_says_which_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    argv = ["run", "--notebooks", str(NOTEBOOKS), "--only", "raises", "--out", str(out)]
    code = cli.main([*argv, "--jobs", "1", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert "raises: failed: RuntimeError: threshold exceeded" in captured.err
    printed = Path(captured.out.split("report: ", 1)[1].split()[0])
    assert printed.is_file() and printed.name == "index.html"  # built despite the failure
    assert printed.resolve() == (out / "latest" / "index.html").resolve()
    assert "raises.html" in captured.err


def test_run_without_failures_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "notebooks"
    empty.mkdir()
    assert cli.main(["run", "--notebooks", str(empty), "--out", str(tmp_path / "r")]) == 0
    assert "0 notebook(s) ran without error" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-p", "good.slo"], "expected NAME.KEY=VALUE"),
        (["-p", "good.slo=3"], "has no parameter 'slo'; its parameters: latency_csv, slo_ms"),
        (["--only", "nope"], "unknown notebook(s) 'nope'; known: good, raises"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_options_exit_2_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "reports"
    code = cli.main(["run", "--notebooks", str(NOTEBOOKS), "--out", str(out), *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_parameters_win_over_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import perflab.report.runner as runner

    seen: dict[str, Any] = {}

    def fake_run(notebooks_dir: str, out_dir: str, **kwargs: Any) -> Any:
        seen.update(kwargs, notebooks_dir=notebooks_dir, out_dir=out_dir)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run", fake_run)
    config = tmp_path / "run.yaml"
    config.write_text("good:\n  slo_ms: 100\n  label: from config\n")
    argv = ["run", "--config", str(config), "-p", "good.slo_ms=300", "--only", "good"]
    assert cli.main([*argv, "--timeout", "30", "--show-code"]) == 130
    assert seen["parameters"] == {"good": {"slo_ms": 300, "label": "from config"}}
    assert seen["only"] == ["good"] and seen["timeout"] == 30.0 and seen["show_code"] is True
    assert (seen["notebooks_dir"], seen["out_dir"]) == ("notebooks", "reports")  # cwd-relative
    assert "interrupted" in capsys.readouterr().err


def test_samples_calls_write_samples_with_the_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[Path] = []

    def write_samples(dest: Path, only: list[str] | None = None) -> list[Path]:
        calls.append(Path(dest))
        assert only == ["monitoring"]
        return [Path(dest) / "latency.parquet"]

    fake = types.ModuleType("perflab.samples")
    fake.write_samples = write_samples
    monkeypatch.setitem(sys.modules, "perflab.samples", fake)
    assert cli.main(["samples", "--dest", str(tmp_path), "--only", "monitoring"]) == 0
    assert calls == [tmp_path]
    assert str(tmp_path / "latency.parquet") in capsys.readouterr().out


def test_the_command_is_runnable_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--only", "--out", "-p", "--config", "--jobs", "--show-code", "--timeout"):
        assert option in result.stdout


def test_relative_paths_resolve_where_they_were_typed(tmp_path: Path) -> None:
    from perflab.report.runner import resolve_paths

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "m.csv").write_text("x\n")
    params = {"monitoring": {"metrics_path": "data/m.csv", "missing": "nope.csv", "n": 3}}
    out = resolve_paths(params, tmp_path)["monitoring"]
    assert out["metrics_path"] == str((tmp_path / "data" / "m.csv").resolve())
    assert out["missing"] == "nope.csv" and out["n"] == 3
    assert params["monitoring"]["metrics_path"] == "data/m.csv"  # input left alone

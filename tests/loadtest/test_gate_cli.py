"""``perflab gate``: the exit status and the one line a CI log shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perflab import cli
from perflab.loadtest.aggregate import summary


def write_run(path: Path, seed: int = 0, scale: float = 1.0, n: int = 3000) -> Path:
    rng = np.random.default_rng(seed)
    df = pl.DataFrame(
        {
            "start": np.arange(n) / 100.0,
            "latency_ms": rng.lognormal(np.log(80), 0.4, n) * scale,
            "error": pl.Series([None] * (n - 3) + ["http 500"] * 3, dtype=pl.String),
            "name": "/api",
        }
    )
    if path.suffix == ".csv":
        df.write_csv(path)
    else:
        df.write_parquet(path)
    return path


def gate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = cli.main(["gate", *argv])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def test_a_passing_run_exits_0_with_one_line_of_figures(tmp_path, capsys):
    path = write_run(tmp_path / "run.parquet")
    code, lines, _ = gate([str(path), "--p95-ms", "400", "--error-rate", "1%"], capsys)
    assert code == 0
    assert len(lines) == 1
    assert lines[0].startswith("perflab gate: pass — p95 ")
    assert "ms ≤ 400 ms, error rate 0.10 % ≤ 1.00 %" in lines[0]


def test_a_breached_threshold_exits_1_with_the_reason(tmp_path, capsys):
    path = write_run(tmp_path / "run.csv")
    code, lines, _ = gate([str(path), "--p95-ms", "50", "--min-rps", "10"], capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("perflab gate: fail — p95 ")
    assert "> 50 ms" in lines[0] and "rps" not in lines[0]  # only what failed


def test_a_regression_against_the_baseline_file_exits_1(tmp_path, capsys):
    base = write_run(tmp_path / "base.parquet", seed=1)
    slow = write_run(tmp_path / "slow.parquet", seed=2, scale=1.3)
    code, lines, _ = gate([str(slow), "--baseline", str(base)], capsys)
    assert code == 1 and "slower than the baseline" in lines[0]
    same = write_run(tmp_path / "same.parquet", seed=3)
    code, lines, _ = gate([str(same), "--baseline", str(base), "--margin", "0.1"], capsys)
    assert code == 0 and "no metric slower than the baseline" in lines[0]


def test_a_summary_file_can_be_gated(tmp_path, capsys):
    path = tmp_path / "summary.csv"
    summary(write_run(tmp_path / "run.parquet")).write_csv(path)
    code, lines, _ = gate([str(path), "--p99-ms", "1000"], capsys)
    assert code == 0 and lines[0].startswith("perflab gate: pass — p99 ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.parquet", "--p95-ms", "1"], "missing.parquet: no such file"),
        (["RUN"], "nothing to check"),
        (["RUN", "--baseline", "nope.csv"], "nope.csv: no such file"),
        (["RUN", "--p95-ms", "-3"], "non-negative"),
        (["JUNK", "--p95-ms", "1"], "cannot read results"),
    ],
)
def test_usage_errors_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    write_run(tmp_path / "RUN.parquet")
    (tmp_path / "junk.txt").write_text("this is not a load-test result\n")
    argv = [{"RUN": "RUN.parquet", "JUNK": "junk.txt"}.get(a, a) for a in argv]
    code, lines, err = gate(argv, capsys)
    assert code == 2 and lines == []
    assert message in err


def test_the_installed_command_exits_with_the_gate_status(tmp_path):
    path = write_run(tmp_path / "run.parquet")
    done = subprocess.run(
        [sys.executable, "-m", "perflab.cli", "gate", str(path), "--p95-ms", "10"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("perflab gate: fail — p95")

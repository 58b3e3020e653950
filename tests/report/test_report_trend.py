"""Change points across runs: E-Divisive finds a planted regression at its first run."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.report.store import append_run
from perflab.report.trend import change_points, edivisive_statistic, trend

START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def direct_q(values: list[float], tau: int, alpha: float) -> float:
    """Matteson & James' Q(τ), summed pair by pair (the O(n²) reference)."""
    x, y = values[:tau], values[tau:]
    m, n = len(x), len(y)
    between = sum(abs(a - b) ** alpha for a in x for b in y)
    within_x = sum(abs(a - b) ** alpha for a, b in itertools.combinations(x, 2))
    within_y = sum(abs(a - b) ** alpha for a, b in itertools.combinations(y, 2))
    energy = 2 * between / (m * n)
    if m > 1:
        energy -= within_x / (m * (m - 1) / 2)
    if n > 1:
        energy -= within_y / (n * (n - 1) / 2)
    return m * n / (m + n) * energy


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
def test_statistic_matches_the_direct_formula(alpha: float) -> None:
    rng = np.random.default_rng(7)
    values = list(rng.normal(100, 5, 23)) + list(rng.normal(120, 5, 17))
    q = edivisive_statistic(values, alpha=alpha)
    assert np.isneginf(q[0]) and np.isneginf(q[-1])
    for tau in range(1, len(values)):
        assert q[tau] == pytest.approx(direct_q(values, tau, alpha), rel=1e-9)
    assert int(np.argmax(q)) == 23


def test_the_split_search_maximises_over_kappa_like_the_direct_formula() -> None:
    from perflab.report.trend import _distances, _statistics_kappa

    rng = np.random.default_rng(9)
    values = list(rng.normal(100, 5, 9)) + list(rng.normal(130, 5, 6)) + list(rng.normal(100, 5, 9))
    best = _statistics_kappa(_distances(np.asarray(values), 1.0), 3)
    for tau in range(3, len(values) - 2):
        expected = max(
            direct_q(values[:kappa], tau, 1.0) for kappa in range(tau + 3, len(values) + 1)
        )
        assert best[tau] == pytest.approx(expected, rel=1e-9)
    assert int(np.argmax(best)) in (9, 15)


def history_of(
    values: list[float],
    *,
    figure: str = "p95_ms",
    better: str | None = "lower",
    notebook: str = "monitoring",
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "run_id": [f"run{i:02d}" for i in range(len(values))],
            "started_at": [START + timedelta(days=i) for i in range(len(values))],
            "notebook": notebook,
            "figure": figure,
            "value": values,
            "unit": "ms",
            "better": better,
        },
        schema_overrides={"better": pl.String},
    )


def noisy(level: float, n: int, seed: int, sd: float = 4.0) -> list[float]:
    return list(np.random.default_rng(seed).normal(level, sd, n))


def test_a_planted_regression_is_found_at_the_run_where_it_started() -> None:
    h = history_of(noisy(240, 15, 1) + noisy(275, 15, 2))
    found = trend("p95_ms", history=h)
    assert found.height == 1
    row = found.row(0, named=True)
    assert row["run_id"] == "run15"
    assert row["started_at"] == START + timedelta(days=15)
    assert row["verdict"] == "worse"
    assert row["before_mean"] == pytest.approx(240, abs=3)
    assert row["after_mean"] == pytest.approx(275, abs=3)
    assert row["change_pct"] == pytest.approx(100 * (275 - 240) / 240, abs=2)
    assert row["p_value"] <= 0.05


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_a_flat_history_stays_quiet(seed: int) -> None:
    assert trend("p95_ms", history=history_of(noisy(240, 30, seed))).is_empty()


def test_a_regression_and_its_fix_are_two_change_points() -> None:
    h = history_of(noisy(240, 10, 11) + noisy(290, 8, 12) + noisy(241, 10, 13))
    found = trend("p95_ms", history=h, significance=0.01, permutations=299)
    assert found.get_column("run_id").to_list() == ["run10", "run18"]
    assert found.get_column("verdict").to_list() == ["worse", "better"]


def test_direction_follows_the_better_field() -> None:
    h = history_of(noisy(900, 10, 21) + noisy(700, 10, 22), figure="rps", better="higher")
    assert trend("rps", history=h).get_column("verdict").to_list() == ["worse"]
    h = history_of(noisy(900, 10, 21) + noisy(700, 10, 22), figure="rows", better=None)
    assert trend("rows", history=h).get_column("verdict").to_list() == ["neutral"]


def test_runs_limits_the_window() -> None:
    h = history_of(noisy(240, 15, 1) + noisy(275, 15, 2))
    assert trend("p95_ms", runs=12, history=h).is_empty()  # the last 12 runs are all slow
    assert trend("p95_ms", runs=20, history=h).get_column("run_id").to_list() == ["run15"]


def test_short_or_missing_series_give_an_empty_frame() -> None:
    h = history_of([240.0, 300.0, 301.0])
    assert trend("p95_ms", history=h).is_empty()
    assert trend("nope", history=h).is_empty()
    assert trend("p95_ms", history=h.clear()).columns[:3] == ["notebook", "figure", "run_id"]


def test_an_ambiguous_name_needs_its_notebook() -> None:
    both = pl.concat(
        [
            history_of(noisy(240, 15, 1) + noisy(275, 15, 2)),
            history_of(noisy(50, 30, 3), notebook="loadtest"),
        ]
    )
    with pytest.raises(ParameterError, match="loadtest, monitoring"):
        trend("p95_ms", history=both)
    assert trend("monitoring/p95_ms", history=both).height == 1
    assert trend("p95_ms", notebook="loadtest", history=both).is_empty()


def test_reads_the_history_store(tmp_path: Path) -> None:
    values = noisy(240, 8, 31) + noisy(320, 8, 32)
    for i, value in enumerate(values):
        figs = {"monitoring": [{"name": "p95_ms", "value": value, "unit": "ms", "better": "lower"}]}
        append_run(tmp_path, f"2026110{i // 10}T{i:06d}Z", START + timedelta(hours=i), figs)
    found = trend("p95_ms", out_dir=tmp_path)
    assert found.get_column("position").to_list() == [8]


def test_p_values_are_reproducible_and_bounded() -> None:
    series = noisy(240, 15, 1) + noisy(275, 15, 2)
    first = change_points(series, permutations=99)
    assert first == change_points(series, permutations=99)
    assert first[0].p_value == pytest.approx(1 / 100)


@pytest.mark.parametrize(
    "options",
    [{"significance": 0.0}, {"permutations": 0}, {"min_size": 0}, {"alpha": 2.0}],
)
def test_bad_options_are_parameter_errors(options: dict[str, float]) -> None:
    with pytest.raises(ParameterError):
        change_points([1.0, 2.0, 3.0], **options)  # type: ignore[arg-type]


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ParameterError, match="finite"):
        change_points([1.0, float("nan"), 3.0])

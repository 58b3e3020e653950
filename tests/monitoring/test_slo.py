"""slo_report() and slo_windows() on hand-computed examples, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.monitoring.schema import SLO, SLO_WINDOWS
from perflab.monitoring.slo import slo_report, slo_windows

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def metrics() -> pl.DataFrame:
    """Three hours of 'api' latency (10 samples each) and one hour of 'db'.

    api, hour 0: 10 × 100 ms                         → 0 bad
    api, hour 1: 8 × 100 ms, 2 × 500 ms (route /b)   → 2 bad
    api, hour 2: 9 × 100 ms, 1 × 400 ms (route /a)   → 1 bad
    db,  hour 0: 4 × 5 ms, 1 × 50 ms                 → 1 bad at 20 ms
    """
    rows = []
    for h, bad in ((0, []), (1, [(500.0, "/b"), (500.0, "/b")]), (2, [(400.0, "/a")])):
        for i in range(10 - len(bad)):
            rows.append(("api", 100.0, "ms", T0 + h * H + timedelta(minutes=i), "/a"))
        for j, (v, route) in enumerate(bad):
            rows.append(("api", v, "ms", T0 + h * H + timedelta(minutes=50 + j), route))
    rows += [("db", 5.0, "ms", T0 + timedelta(minutes=i), "/a") for i in range(4)]
    rows.append(("db", 50.0, "ms", T0 + timedelta(minutes=30), "/a"))
    return pl.DataFrame(rows, schema=["name", "value", "unit", "timestamp", "route"], orient="row")


OBJECTIVES = [
    {"objective": "api fast", "name": "api", "threshold": 300, "target": 0.95},
    {"objective": "api /a fast", "name": "api", "threshold": 300, "target": 0.9,
     "tags": {"route": "/a"}},
    {"objective": "db", "name": "db", "threshold": 20, "target": 0.9},
]  # fmt: skip


def test_report_on_a_hand_computed_example():
    # 10 samples an hour: judge every window (see the min_samples tests below)
    got = slo_report(metrics(), OBJECTIVES, min_samples=1)
    assert got.columns == SLO.names
    rows = {r["objective"]: r for r in got.iter_rows(named=True)}
    api = rows["api fast"]
    # 3 bad of 30: good 0.9 < 0.95 → breached; budget 0.05, consumed 0.1 / 0.05 = 2
    assert (api["samples"], api["unit"], api["threshold"]) == (30, "ms", 300.0)
    assert api["good_fraction"] == pytest.approx(0.9)
    assert api["error_budget"] == pytest.approx(0.05)
    assert api["budget_consumed"] == pytest.approx(2.0)
    # worst hour: 2 bad of 10 → 0.2 / 0.05 = 4; hours 1 and 2 burn > 1
    assert api["burn_rate_peak"] == pytest.approx(4.0)
    assert api["windows_breached"] == 2
    assert api["status"] == "breached"
    a = rows["api /a fast"]
    # route /a: 28 samples, 1 bad → good 27/28 ≈ 0.964 ≥ 0.9; consumed (1/28)/0.1 ≈ 0.357
    # hour 2 on /a: 1 bad of 10 → burn 1.0, not above 1
    assert a["samples"] == 28
    assert a["budget_consumed"] == pytest.approx((1 / 28) / 0.1)
    assert a["burn_rate_peak"] == pytest.approx(1.0)
    assert a["windows_breached"] == 0
    assert a["status"] == "met"
    db = rows["db"]
    # 1 bad of 5 = 0.2 > budget 0.1: breached, consumed 2
    assert (db["samples"], db["budget_consumed"], db["status"]) == (
        5,
        pytest.approx(2.0),
        "breached",
    )
    assert got.get_column("objective").to_list() == ["api fast", "api /a fast", "db"]


def test_at_risk_when_most_of_the_budget_is_gone_or_a_window_burns_fast():
    df = metrics().filter(pl.col("name") == "api")
    # target 0.85: budget 0.15, consumed 0.1/0.15 ≈ 0.67, but hour 1 burns 0.2/0.15 > 1
    got = slo_report(df, [{"name": "api", "threshold": 300, "target": 0.85}]).row(0, named=True)
    assert got["status"] == "at risk"
    assert got["windows_breached"] == 1
    # target 0.8: budget 0.2, consumed 0.5, peak burn exactly 1 → met
    got = slo_report(df, [{"name": "api", "threshold": 300, "target": 0.8}]).row(0, named=True)
    assert (got["burn_rate_peak"], got["status"]) == (1.0, "met")
    # one 3-hour window: consumed 0.1/0.12 ≈ 0.83 > 0.75 → at risk
    got = slo_report(df, [{"name": "api", "threshold": 300, "target": 0.88}], every="3h")
    assert got.row(0, named=True)["status"] == "at risk"


def test_windows_for_charting():
    got = slo_windows(metrics(), OBJECTIVES[:1], min_samples=10)
    assert got.columns == SLO_WINDOWS.names
    assert got.select("window_start", "samples", "bad", "burn_rate").rows() == [
        (T0, 10, 0, 0.0),
        (T0 + H, 10, 2, pytest.approx(4.0)),
        (T0 + 2 * H, 10, 1, pytest.approx(2.0)),
    ]


def burst(counts_and_bad: list[tuple[int, int]]) -> pl.DataFrame:
    """'api' latencies: per hour, ``n`` samples of which ``bad`` take 900 ms."""
    rows = []
    for h, (n, bad) in enumerate(counts_and_bad):
        for i in range(n):
            value = 900.0 if i < bad else 100.0
            rows.append(("api", value, "ms", T0 + h * H + timedelta(seconds=i)))
    return pl.DataFrame(rows, schema=["name", "value", "unit", "timestamp"], orient="row")


def test_a_window_with_few_samples_is_not_judged_by_its_burn_rate():
    # 3 requests in the night, 1 slow: a bad fraction of 1/3 is a burn rate of 33 for
    # a 99 % objective — one unlucky request, not an alarm
    df = burst([(400, 2), (3, 1), (400, 2)])
    objective = [{"name": "api", "threshold": 300, "target": 0.99}]
    windows = slo_windows(df, objective)
    assert windows.select("samples", "bad").rows() == [(400, 2), (3, 1), (400, 2)]
    assert windows.get_column("bad_fraction")[1] == pytest.approx(1 / 3)
    assert windows.get_column("burn_rate").to_list() == [
        pytest.approx(0.5),
        None,
        pytest.approx(0.5),
    ]
    row = slo_report(df, objective).row(0, named=True)
    assert row["burn_rate_peak"] == pytest.approx(0.5)
    assert row["windows_breached"] == 0
    # every sample still counts overall: 5 bad of 803
    assert row["budget_consumed"] == pytest.approx((5 / 803) / 0.01)
    assert row["status"] == "met"
    # min_samples=1 judges every window, as before
    row = slo_report(df, objective, min_samples=1).row(0, named=True)
    assert row["burn_rate_peak"] == pytest.approx(100 / 3)
    assert (row["windows_breached"], row["status"]) == (1, "at risk")


@pytest.mark.parametrize(("target", "fewest"), [(0.95, 20), (0.99, 100), (0.999, 1000), (0.9, 10)])
def test_by_default_a_window_needs_room_for_one_bad_sample_in_its_budget(target, fewest):
    df = burst([(fewest - 1, 0), (fewest, 0)])
    got = slo_windows(df, [{"name": "api", "threshold": 300, "target": target}])
    assert got.get_column("samples").to_list() == [fewest - 1, fewest]
    assert got.get_column("burn_rate").to_list() == [None, 0.0]


def test_when_no_window_is_big_enough_only_the_totals_speak():
    df = burst([(5, 1), (5, 1)])  # 20 % bad, every window too small for 99 %
    row = slo_report(df, [{"name": "api", "threshold": 300, "target": 0.99}]).row(0, named=True)
    assert (row["burn_rate_peak"], row["windows_breached"]) == (None, 0)
    assert row["budget_consumed"] == pytest.approx(20.0)
    assert row["status"] == "breached"


@pytest.mark.parametrize("min_samples", [0, -3, True])
def test_bad_min_samples_is_refused(min_samples):
    with pytest.raises(ParameterError, match="min_samples"):
        slo_report(metrics(), OBJECTIVES, min_samples=min_samples)


def test_objectives_as_a_frame_with_struct_tags_and_default_labels():
    objectives = pl.DataFrame(
        {
            "name": ["api", "api"],
            "threshold": [300.0, 300.0],
            "target": [0.9, 0.9],
            "tags": [{"route": "/b"}, {"route": None}],
        }
    )
    got = slo_report(metrics(), objectives)
    assert got.get_column("objective").to_list() == [
        "api route=/b <= 300 for 90%",
        "api <= 300 for 90%",
    ]
    assert got.get_column("samples").to_list() == [2, 30]
    assert got.get_column("status").to_list() == ["breached", "at risk"]  # hour 1 burns 2×


def test_objective_matching_no_sample_has_no_data():
    got = slo_report(
        metrics(), [{"name": "api", "threshold": 1, "target": 0.9, "tags": {"route": "/zzz"}}]
    )
    row = got.row(0, named=True)
    assert (row["samples"], row["status"], row["good_fraction"]) == (0, "no data", None)


def test_empty_inputs():
    assert slo_report(metrics(), []).columns == SLO.names
    assert slo_report(metrics(), []).height == 0
    got = slo_report(metrics().head(0), OBJECTIVES[:1])
    assert got.get_column("status").to_list() == ["no data"]
    assert slo_windows(metrics().head(0), OBJECTIVES).height == 0


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(SchemaError, match=r"no metric named \['apii'\].*\['api', 'db'\]"):
        slo_report(metrics(), [{"name": "apii", "threshold": 1, "target": 0.9}])


@pytest.mark.parametrize(
    ("objective", "error"),
    [
        ({"name": "api", "threshold": 300, "target": 99}, ParameterError),
        ({"name": "api", "threshold": 300, "target": 1.0}, ParameterError),
        ({"name": "api", "threshold": float("nan"), "target": 0.9}, ParameterError),
        ({"name": "api", "target": 0.9}, SchemaError),
        ({"name": "api", "threshold": 0.3, "target": 0.9, "unit": "s"}, SchemaError),
        ({"name": "api", "threshold": 3, "target": 0.9, "tags": {"host": "x"}}, SchemaError),
    ],
)
def test_bad_objectives_are_refused(objective, error):
    with pytest.raises(error):
        slo_report(metrics(), [objective])


def test_repeated_labels_are_refused():
    with pytest.raises(ParameterError, match="unique"):
        slo_report(metrics(), [OBJECTIVES[0], OBJECTIVES[0]])


def test_mixed_units_in_the_metrics_are_refused():
    df = metrics().with_columns(
        unit=pl.when(pl.col("value") > 400).then(pl.lit("s")).otherwise(pl.col("unit"))
    )
    with pytest.raises(SchemaError, match="metric api has units ms and s"):
        slo_report(df, OBJECTIVES)

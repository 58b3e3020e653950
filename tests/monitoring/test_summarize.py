"""summarize() against pandas grouping + numpy statistics, its fast path, and bad input."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from polars.testing import assert_frame_equal

from perflab import kernels
from perflab.errors import ParameterError, SchemaError
from perflab.monitoring.schema import SUMMARY
from perflab.monitoring.summarize import summarize
from tests.strategies import T0, metric_frames

SUMMARY_COLUMNS = SUMMARY.names


QS = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}


def _norm(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, datetime | pd.Timestamp):
        return pd.Timestamp(v).tz_convert("UTC")
    return v


def reference(df: pl.DataFrame, by, every=None) -> dict:
    """The summary by pandas groupby and numpy statistics, keyed by group."""
    pdf = df.to_pandas()
    keys = list(by)
    if every is not None:
        pdf["window_start"] = pdf["timestamp"].dt.floor(every)
        keys.append("window_start")
    out = {}
    groups = pdf.groupby(keys, dropna=False, sort=False) if keys else [((), pdf)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        v = g["value"].to_numpy(dtype=float)
        out[tuple(_norm(k) for k in key)] = {
            "unit": g["unit"].iloc[0],
            "count": len(v),
            "mean": v.mean(),
            "min": v.min(),
            "max": v.max(),
            "std": v.std(ddof=1) if len(v) > 1 else None,
            **{name: np.quantile(v, q) for name, q in QS.items()},  # numpy "linear"
        }
    return out


def check_against_reference(
    got: pl.DataFrame, df: pl.DataFrame, by, every=None, *, exact_quantiles=False
):
    """``got`` equals the pandas/numpy summary; the quantiles to the bit if asked
    (the numba kernels interpolate exactly as numpy does; polars' own quantile may
    differ from numpy's in the last bit)."""
    expected = reference(df, by, every)
    keys = [*by, "window_start"] if every else list(by)
    assert got.columns == [*keys, *SUMMARY_COLUMNS]
    assert got.height == len(expected)
    for row in got.iter_rows(named=True):
        exp = expected[tuple(_norm(row[k]) for k in keys)]
        assert row["unit"] == exp["unit"]
        assert row["count"] == exp["count"]
        for col in ("mean", "min", "max", "std", *QS):
            if exp[col] is None:
                assert row[col] is None
            elif exact_quantiles and col in QS:
                assert row[col] == exp[col], col
            else:
                assert row[col] == pytest.approx(exp[col], rel=1e-9, abs=1e-9), col
    sort_keys = got.select(keys).rows()
    assert sort_keys == sorted(sort_keys, key=lambda r: [(x is None, x) for x in r])


@settings(max_examples=60, deadline=None)
@given(metric_frames())
def test_summary_per_name_matches_pandas_numpy(df):
    check_against_reference(summarize(df), df, ("name",))


@settings(max_examples=60, deadline=None)
@given(metric_frames())
def test_summary_per_name_route_and_minute_matches_pandas_numpy(df):
    got = summarize(df, by=("name", "route"), every="1m")
    check_against_reference(got, df, ("name", "route"), "1min")


@settings(max_examples=40, deadline=None)
@given(metric_frames(units=("ms", "s")))
def test_summary_by_tag_only_needs_one_unit_per_group(df):
    mixed = df.group_by("route").agg(pl.col("unit").n_unique()).get_column("unit").max()
    if mixed is not None and mixed > 1:
        with pytest.raises(SchemaError, match="has units"):
            summarize(df, by="route")
    else:
        check_against_reference(summarize(df, by="route"), df, ("route",))


@pytest.fixture
def kernel_path(monkeypatch):
    """Route every frame through the numba kernels."""
    if not kernels.available():
        pytest.skip("numba not installed")
    monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 1)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(df=metric_frames(min_rows=1))
def test_fast_path_matches_pandas_numpy(kernel_path, df):
    for by, every in ((("name",), None), (("name", "route"), "1m"), (("name",), "2m")):
        fast = summarize(df, by=by, every=every)
        check_against_reference(
            fast, df, by, every and every.replace("m", "min"), exact_quantiles=True
        )


def test_fast_path_on_big_groups_with_ties_and_negatives(kernel_path):
    rng = np.random.default_rng(7)
    n = 30_000  # above the kernel's radix-select cut-over
    values = np.concatenate(
        [
            rng.lognormal(3, 1, n),  # latencies
            rng.integers(-3, 4, n).astype(float),  # heavy ties, zeros, negatives
            np.full(n, 42.0),  # constant
            -rng.lognormal(0, 2, n),  # negative, wide range
        ]
    )
    df = pl.DataFrame(
        {
            "name": np.repeat(["lat", "ties", "flat", "neg"], n),
            "value": values,
            "unit": "ms",
            "timestamp": T0,
        }
    ).sample(fraction=1.0, shuffle=True, seed=1)
    check_against_reference(summarize(df), df, ("name",), exact_quantiles=True)


def test_fast_path_and_polars_path_agree_closely(monkeypatch):
    if not kernels.available():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(3)
    n = 50_000
    df = pl.DataFrame(
        {
            "name": rng.choice(["a", "b", "c"], n),
            "value": rng.lognormal(4, 0.7, n),
            "unit": "ms",
            "timestamp": [T0 + timedelta(seconds=int(s)) for s in rng.integers(0, 900, n)],
            "host": rng.choice(["h1", "h2", None], n),
        }
    )
    monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 10**12)
    slow = summarize(df, by=("name", "host"), every="5m")
    monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 1)
    fast = summarize(df, by=("name", "host"), every="5m")
    assert_frame_equal(fast, slow, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)


def test_windows_start_on_multiples_of_every_in_utc():
    t = datetime(2026, 3, 1, 10, 7, 59, tzinfo=UTC)
    df = pl.DataFrame(
        {"name": "a", "value": [1.0, 2.0, 3.0], "unit": "ms",
         "timestamp": [t, t + timedelta(seconds=1), t + timedelta(minutes=3)]}
    )  # fmt: skip
    got = summarize(df, every="5m")
    assert got.get_column("window_start").to_list() == [
        datetime(2026, 3, 1, 10, 5, tzinfo=UTC),
        datetime(2026, 3, 1, 10, 10, tzinfo=UTC),
    ]
    assert got.get_column("count").to_list() == [2, 1]  # 10:07:59 and 10:08:00, then 10:10:59


def test_accepts_pandas_and_leaves_the_input_alone():
    pdf = pd.DataFrame(
        {"name": ["a", "a", "b"], "value": [1, 3, 5], "unit": "ms",
         "timestamp": pd.to_datetime(["2026-01-01"] * 3)}
    )  # fmt: skip
    before = pdf.copy()
    got = summarize(pdf)
    pd.testing.assert_frame_equal(pdf, before)
    assert got.select("name", "count", "mean").rows() == [("a", 2, 2.0), ("b", 1, 5.0)]
    assert got.get_column("std").to_list() == [pytest.approx(math.sqrt(2)), None]


# ----------------------------------------------------------------------------- bad input


def frame(**overrides):
    data = {"name": ["a", "a"], "value": [1.0, 2.0], "unit": ["ms", "ms"], "timestamp": [T0, T0]}
    data.update(overrides)
    return pl.DataFrame(data)


def test_missing_columns_are_named():
    with pytest.raises(SchemaError, match="'unit'"):
        summarize(frame().drop("unit"))


def test_nan_and_null_values_are_refused():
    with pytest.raises(SchemaError, match="NaN"):
        summarize(frame(value=[1.0, float("nan")]))
    with pytest.raises(SchemaError, match="null"):
        summarize(frame(value=[1.0, None]))


def test_unknown_by_column_lists_the_tags():
    with pytest.raises(SchemaError, match=r"'host'.*\['route'\]"):
        summarize(frame(route=["/x", "/y"]), by=("name", "host"))


def test_by_on_a_core_column_is_refused():
    with pytest.raises(ParameterError, match="value"):
        summarize(frame(), by="value")


def test_mixed_units_within_a_metric_are_refused():
    with pytest.raises(SchemaError, match="metric a has units ms and s"):
        summarize(frame(unit=["ms", "s"]))


@pytest.mark.parametrize("every", ["often", "0m", "-1m", 5])
def test_bad_every_is_refused(every):
    with pytest.raises(ParameterError, match="every"):
        summarize(frame(), every=every)


def test_empty_frames_give_empty_summaries_with_the_columns():
    empty = frame(route=["/x", "/y"]).head(0)
    got = summarize(empty, by=("name", "route"), every="1m")
    assert got.height == 0
    assert got.columns == ["name", "route", "window_start", *SUMMARY_COLUMNS]
    assert got.schema["count"] == pl.UInt32 and got.schema["p999"] == pl.Float64
    assert summarize(pl.DataFrame()).columns == ["name", *SUMMARY_COLUMNS]
    assert summarize([]).height == 0


def test_options_are_keyword_only():
    # summarize(df, *, by=…, every=…), as every analysis takes its options
    df = pl.DataFrame(
        {
            "name": ["a", "a", "b"],
            "value": [1.0, 3.0, 5.0],
            "unit": "ms",
            "timestamp": [datetime(2026, 1, 1, tzinfo=UTC)] * 3,
        }
    )
    by_kw = summarize(df, by=("name",), every=None)
    with pytest.raises(TypeError):
        summarize(df, ("name",), None)  # type: ignore[misc]
    assert by_kw.columns == [
        "name",
        "unit",
        "count",
        "mean",
        "min",
        "max",
        "std",
        "p50",
        "p90",
        "p95",
        "p99",
        "p999",
    ]
    assert by_kw.filter(pl.col("name") == "a")["p50"].item() == 2.0

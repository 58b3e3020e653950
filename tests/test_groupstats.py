"""group_stats against pandas grouping and numpy statistics, on both of its paths.

Small frames go through one polars ``group_by``, big ones through the numba kernels;
the ``route`` fixture sends every frame down one path so that both are checked on
the same hypothesis-generated frames. The value column is ``duration_ms`` and the
time column ``at``, so nothing leans on the defaults ``value``/``timestamp``.
"""

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
from perflab.groupstats import STAT_COLUMNS, group_stats, stat_columns
from tests.strategies import T0, keyed_frames

QS = (0.0, 0.25, 0.5, 0.9, 0.999, 1.0)
NAMES = ["p0", "p25", "p50", "p90", "p999", "p100"]
PANDAS_EVERY = {"30s": "30s", "1m": "1min"}


def examples(n):
    """Hypothesis settings for a test that also takes the (per test) ``route`` fixture."""
    return settings(
        max_examples=n, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )


@pytest.fixture(params=["polars", "kernels"])
def route(request, monkeypatch):
    """Send every frame down one path of group_stats: one polars group_by, or the kernels."""
    if request.param == "kernels":
        if not kernels.available():
            pytest.skip("numba not installed")
        monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 1)
    else:
        monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 10**12)
    return request.param


def _norm(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, datetime | pd.Timestamp):
        return pd.Timestamp(v).tz_convert("UTC")
    return v


def reference(df, keys, *, every=None, carry=(), qs=QS, value="duration_ms", time="at"):
    """Per group, by pandas groupby (nulls kept) and numpy statistics."""
    pdf = df.to_pandas()
    keys = list(keys)
    if every is not None:
        pdf["window_start"] = pdf[time].dt.floor(PANDAS_EVERY[every])
        keys.append("window_start")
    groups = pdf.groupby(keys, dropna=False, sort=False) if keys else [((), pdf)]
    out = {}
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        v = g[value].to_numpy(dtype=float)
        out[tuple(_norm(k) for k in key)] = {
            **{c: _norm(g[c].iloc[0]) for c in carry},
            "count": len(v),
            "mean": v.mean(),
            "min": v.min(),
            "max": v.max(),
            "std": v.std(ddof=1) if len(v) > 1 else None,
            **dict(zip(stat_columns(qs)[5:], np.quantile(v, qs), strict=True)),
        }
    return out


def check(got, df, keys, *, every=None, carry=(), qs=QS, exact_quantiles=False, **cols):
    """``got`` is the pandas/numpy summary, sorted by the keys with nulls last.

    With ``exact_quantiles`` the percentiles must equal numpy's bit for bit (the
    kernels interpolate as numpy does; polars' quantile may differ in the last bit).
    """
    expected = reference(df, keys, every=every, carry=carry, qs=qs, **cols)
    names = [*keys, *(["window_start"] if every else [])]
    assert got.columns == [*names, *carry, *stat_columns(qs)]
    assert got.height == len(expected)
    for row in got.iter_rows(named=True):
        exp = expected[tuple(_norm(row[k]) for k in names)]
        for c in carry:
            assert row[c] == exp[c], c
        assert (row["count"], row["min"], row["max"]) == (exp["count"], exp["min"], exp["max"])
        for col in ("mean", "std", *stat_columns(qs)[5:]):
            if exp[col] is None:
                assert row[col] is None, col
            elif exact_quantiles and col.startswith("p"):
                assert row[col] == exp[col], col
            else:
                assert row[col] == pytest.approx(exp[col], rel=1e-9, abs=1e-9), col
    order = got.select(names).rows()
    assert order == sorted(order, key=lambda r: [(x is None, x) for x in r])


@examples(50)
@given(df=keyed_frames())
def test_string_and_integer_keys_with_nulls_match_pandas_numpy(route, df):
    for keys in (("route",), ("status",), ("route", "status")):
        got = group_stats(df, keys, value="duration_ms", carry=("unit",), quantiles=QS)
        check(got, df, keys, carry=("unit",), exact_quantiles=route == "kernels")


@examples(40)
@given(df=keyed_frames(minutes=4))
def test_windows_on_a_custom_time_column_match_pandas_numpy(route, df):
    for keys, every in ((("route",), "1m"), (("status", "route"), "30s"), ((), "1m")):
        got = group_stats(df, keys, value="duration_ms", every=every, time="at", quantiles=QS)
        check(got, df, keys, every=every, exact_quantiles=route == "kernels")


@examples(30)
@given(df=keyed_frames(min_rows=1))
def test_no_keys_gives_one_row_over_all_rows(route, df):
    got = group_stats(df, [], value="duration_ms", carry=("unit", "route"), quantiles=QS)
    assert got.height == 1
    check(got, df, (), carry=("unit", "route"), exact_quantiles=route == "kernels")


def test_no_keys_and_nothing_carried_gives_one_row(route):
    df = pl.DataFrame({"duration_ms": [4.0, 1.0, 3.0, 2.0]})
    got = group_stats(df, [], value="duration_ms", quantiles=(0.5,))
    assert got.rows() == [(4, 2.5, 1.0, 4.0, pytest.approx(math.sqrt(5 / 3)), 2.5)]


def test_kernels_give_numpy_quantiles_and_agree_with_polars(monkeypatch):
    if not kernels.available():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(11)
    n = 40_000
    df = pl.DataFrame(
        {
            "route": pl.Series(rng.choice(["/a", "/b", "", "-"], n)).replace("-", None),
            "status": pl.Series(rng.choice([200, 404, 0, -1], n)).replace(-1, None),
            "unit": rng.choice(["ms", "s"], n),
            "duration_ms": np.round(rng.lognormal(3, 1.2, n), 3),  # rounded: ties
            "at": [T0 + timedelta(seconds=int(s)) for s in rng.integers(0, 600, n)],
        }
    )
    call = dict(value="duration_ms", every="1m", time="at", carry=["unit"], quantiles=QS)
    monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 10**12)
    slow = group_stats(df, ["route", "status"], **call)
    monkeypatch.setattr(kernels, "KERNEL_MIN_ROWS", 1)
    fast = group_stats(df, ["route", "status"], **call)
    check(fast, df, ("route", "status"), every="1m", carry=("unit",), exact_quantiles=True)
    assert_frame_equal(fast, slow, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)


def test_a_group_of_one_has_no_std_and_every_percentile_at_its_value(route):
    df = pl.DataFrame({"route": ["/a", "/b", "/a"], "duration_ms": [2.0, -7.25, 4.0]})
    got = group_stats(df, ["route"], value="duration_ms", quantiles=QS)
    one = got.row(1, named=True)
    assert one == {
        "route": "/b",
        "count": 1,
        **dict.fromkeys(["mean", "min", "max", *NAMES], -7.25),
        "std": None,
    }


def test_output_columns_and_dtypes(route):
    df = pl.DataFrame(
        {
            "status": pl.Series([500, 200, 500], dtype=pl.Int32),
            "route": ["/a", "/b", "/a"],
            "host": pl.Series([3, 1, 2], dtype=pl.Int16),
            "unit": ["ms", "ms", "s"],
            "duration_ms": pl.Series([1.0, 2.0, 3.0], dtype=pl.Float64),
            "value": [9.0, 9.0, 9.0],  # a decoy: the value column is duration_ms
            "at": [T0, T0, T0 + timedelta(minutes=1)],
        }
    )
    got = group_stats(
        df,
        ["status", "route"],
        value="duration_ms",
        every="1m",
        time="at",
        carry=["unit", "host"],
        quantiles=(0.0, 0.25, 0.5, 1.0),
    )
    assert got.schema == pl.Schema(
        {
            "status": pl.Int32,
            "route": pl.String,
            "window_start": pl.Datetime("us", "UTC"),
            "unit": pl.String,
            "host": pl.Int16,
            "count": pl.UInt32,
            **dict.fromkeys(["mean", "min", "max", "std", "p0", "p25", "p50", "p100"], pl.Float64),
        }
    )
    assert got.select("status", "window_start", "unit", "host", "count", "max").rows() == [
        (200, T0, "ms", 1, 1, 2.0),
        (500, T0, "ms", 3, 1, 1.0),
        (500, T0 + timedelta(minutes=1), "s", 2, 1, 3.0),
    ]


def test_windows_start_on_multiples_of_every_in_utc(route):
    t = datetime(2026, 3, 1, 10, 7, 59, tzinfo=UTC)
    df = pl.DataFrame(
        {
            "duration_ms": [1.0, 2.0, 3.0],
            "at": [t, t + timedelta(seconds=1), t + timedelta(minutes=3)],
        }
    )
    got = group_stats(df, [], value="duration_ms", every="5m", time="at")
    assert got.select("window_start", "count").rows() == [
        (datetime(2026, 3, 1, 10, 5, tzinfo=UTC), 2),
        (datetime(2026, 3, 1, 10, 10, tzinfo=UTC), 1),
    ]


def test_an_empty_frame_gives_no_groups_with_the_full_schema(route):
    empty = pl.DataFrame(
        schema={"route": pl.String, "unit": pl.String, "duration_ms": pl.Float64,
                "at": pl.Datetime("us", "UTC")}
    )  # fmt: skip
    got = group_stats(
        empty, ["route"], value="duration_ms", every="1m", time="at", carry=["unit"], quantiles=QS
    )
    assert got.height == 0
    assert got.schema == pl.Schema(
        {"route": pl.String, "window_start": pl.Datetime("us", "UTC"), "unit": pl.String,
         "count": pl.UInt32, **dict.fromkeys([*STAT_COLUMNS[1:], *NAMES], pl.Float64)}
    )  # fmt: skip
    whole = group_stats(empty, [], value="duration_ms", quantiles=QS)
    assert whole.columns == stat_columns(QS)
    assert whole.height == 0  # no rows in, no rows out, with or without keys


def test_stat_columns_name_custom_quantiles():
    assert stat_columns((0.0, 0.25, 0.5, 1.0)) == [*STAT_COLUMNS, "p0", "p25", "p50", "p100"]
    assert stat_columns(QS)[5:] == NAMES

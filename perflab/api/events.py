"""API events for the shared timeline: 5xx bursts and latency steps, per route, over time.

:func:`events` reads a day of requests the way the access-log analysis sees it — one
row per request, routes templated by :func:`perflab.api.template_routes` — and
reports what happened when:

* **error-burst** — a run of time windows in which a route answered 5xx far more
  often than it does the rest of the time (:func:`error_bursts`: each window's 5xx
  count tested against the route's own baseline rate, binomial, Bonferroni over the
  route's windows; consecutive windows, one quiet window allowed between, are one
  burst). ``size`` is the excess share of failed requests (burst rate − baseline
  rate, ``unit`` ``"share"``): a 20 % burst over a 2 % background is 0.18.
* **step** — a shift of a route's p95 server time that stays
  (:func:`perflab.monitoring.trend`'s change points, which keep only jumps on top of
  a smooth daily curve), on windows holding at least ``min_requests`` answered
  (non-5xx) requests; ``size`` the relative shift (0.35 = +35 %). The p95 of a few
  dozen requests is noisy and skewed: on seeded steady days (100,000 requests, 4 or
  12 routes, 20 seeds) 10-minute windows of ≥ 50 requests gave no false step in 320
  series where 5-minute windows of ≥ 20 gave one in 90; a ×1.3 or ×1.5 slowdown of
  one route of the sample day from 16:00 (``/api/search``, ``/products/{slug}``,
  ``/api/cart``) is found at 16:00 with its size (+32 … +59 %). Server time is
  ``upstream_ms`` where the log has it, else ``duration_ms``, as in
  :mod:`perflab.api.rules`; 5xx answers are left out (a 5 s gateway timeout is the
  error burst's story, not a slower route).

``terms`` hold the route (the templated one: ``/users/{id}``, so it meets the other
domains' events on the same words) and, when the log carries ``$upstream_addr``, the
upstream servers involved — which links a burst to a balancing backend's outage. It
reads no file. Import it from this module (``from perflab.api.events import
events``): exported from the package, the name would be shadowed by this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from perflab.errors import ParameterError, SchemaError
from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.times import duration, span

__all__ = ["BURSTS", "error_bursts", "events", "every_us", "runs"]

BURSTS = (
    "start",
    "end",
    "windows",
    "requests",
    "errors",
    "rate",
    "baseline",
    "p_value",
    "statuses",
)
"""Columns of :func:`error_bursts` after the group keys."""

_SPLIT = r"\s*,\s*|\s+:\s+"  # "a:80, b:80" (a retry) and "a:80 : b:80" (another group)
_MAX_UPSTREAMS = 5


def every_us(every: str | timedelta) -> int:
    """The window length in microseconds (a fixed duration: ``"5m"``, ``"1h"``).

    Examples
    --------
    >>> every_us("5m")
    300000000
    """
    return int(span(every) / timedelta(microseconds=1))


def error_bursts(
    frame: FrameLike,
    by: Sequence[str],
    *,
    every: str | timedelta = "10m",
    alpha: float = 0.01,
    min_errors: int = 5,
    min_ratio: float = 2.0,
    gap: int = 1,
) -> pl.DataFrame:
    """Runs of windows in which a group's 5xx rate rose well above its own baseline.

    Each group's requests (with a known ``status``) are counted per window of
    ``every``. A window is *bursting* when it holds at least ``min_errors`` 5xx, its
    rate is at least ``min_ratio`` × the baseline, and the binomial chance of that
    many 5xx at the baseline rate is under ``alpha / windows`` (Bonferroni over the
    group's windows, so a clean day of ``alpha = 0.01`` stays quiet in 99 % of
    groups). The baseline is the group's rate outside the bursting windows (found
    once with the whole day's rate, then again with the rate outside them). Bursting
    windows at most ``gap`` quiet windows apart make one burst, counted over its whole
    span.

    Parameters
    ----------
    frame : frame-like
        Requests: ``time``, ``status`` and the ``by`` columns.
    by : sequence of str
        The group columns (``("method", "route")``, ``("provider", "prefix")``).
    every : str or timedelta
        Window length.
    alpha : float
        Family-wise false-alarm rate per group.
    min_errors : int
        Fewest 5xx in a bursting window.
    min_ratio : float
        Smallest rate, as a multiple of the baseline, called a burst.
    gap : int
        Quiet windows allowed inside one burst.

    Returns
    -------
    polars.DataFrame
        The ``by`` columns, then ``start``, ``end`` (datetime[μs, UTC]: the first
        window's start, the last one's end), ``windows`` (i64), ``requests``,
        ``errors`` (i64, over the span), ``rate``, ``baseline`` (f64),
        ``p_value`` (f64, of the burst's strongest window, before the correction) and
        ``statuses`` (str, ``"502×60, 504×37"``); in time order.

    Raises
    ------
    SchemaError
        No ``time`` or ``status`` column, or a ``by`` column is missing.
    ParameterError
        ``alpha`` outside (0, 1), ``min_errors < 1``, ``min_ratio < 1`` or ``gap < 0``.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 3, 2, 14)
    >>> f = pl.DataFrame({"route": "/a",
    ...     "time": [t0 + timedelta(seconds=10 * i) for i in range(720)],
    ...     "status": [502 if 180 <= i < 240 and i % 2 else 200 for i in range(720)]})
    >>> b = error_bursts(f, ["route"])
    >>> b.select("route", pl.col("start", "end").dt.strftime("%H:%M"), "errors", "rate").row(0)
    ('/a', '14:30', '14:40', 30, 0.5)
    """
    from scipy.stats import binom

    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must lie in (0, 1), not {alpha}")
    if min_errors < 1 or min_ratio < 1.0 or gap < 0:
        raise ParameterError(
            f"min_errors must be ≥ 1, min_ratio ≥ 1 and gap ≥ 0, not {min_errors}, "
            f"{min_ratio}, {gap}"
        )
    df = as_frame(frame)
    keys = list(by)
    missing = [c for c in ("time", "status", *keys) if c not in df.columns]
    if missing:
        raise SchemaError(
            "requests", detail=f"error bursts need column(s) {missing}; the frame has {df.columns}"
        )
    step = every_us(every)
    work = df.filter(pl.col("time").is_not_null() & pl.col("status").is_not_null())
    windows = (
        work.group_by(*keys, pl.col("time").dt.truncate(duration(every)).alias("w"))
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            (pl.col("status") >= 500).sum().cast(pl.Int64).alias("e"),
        )
        .sort([*keys, "w"], nulls_last=True)
    )
    out_schema: dict[str, Any] = {k: windows.schema[k] for k in keys}
    out_schema.update(
        {"start": windows.schema["w"], "end": windows.schema["w"], "windows": pl.Int64,
         "requests": pl.Int64, "errors": pl.Int64, "rate": pl.Float64, "baseline": pl.Float64,
         "p_value": pl.Float64, "statuses": pl.String}
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    groups = windows.partition_by(keys, maintain_order=True) if keys else [windows]
    for g in groups:
        n = g.get_column("n").to_numpy().astype(np.int64)
        e = g.get_column("e").to_numpy().astype(np.int64)
        if e.sum() < min_errors:
            continue
        limit = alpha / n.size
        flagged = np.zeros(n.size, dtype=bool)
        p0 = e.sum() / n.sum()
        pvals = np.ones(n.size)
        for _ in range(2):
            pvals = binom.sf(e - 1, n, p0)
            flagged = (e >= min_errors) & (e >= min_ratio * p0 * n) & (pvals < limit)
            rest = n[~flagged].sum()
            p0 = e[~flagged].sum() / rest if rest else 0.0
        if not flagged.any():
            continue
        key = {k: g.get_column(k)[0] for k in keys}
        for run in runs(g.get_column("w"), flagged, step, gap):
            a, b = run[0], run[-1]
            span_n, span_e = int(n[a : b + 1].sum()), int(e[a : b + 1].sum())
            t0 = g.get_column("w")[a]
            t1 = g.get_column("w")[b] + timedelta(microseconds=step)
            rows.append(
                {**key, "start": t0, "end": t1, "windows": b - a + 1, "requests": span_n,
                 "errors": span_e, "rate": span_e / span_n, "baseline": float(p0),
                 "p_value": float(pvals[run].min()),
                 "statuses": _statuses(work, key, t0, t1)}
            )  # fmt: skip
    out = pl.DataFrame(rows, schema=out_schema, orient="row")
    return out.sort("start", *keys, nulls_last=True, maintain_order=True)


def runs(starts: pl.Series, flagged: np.ndarray, step_us: int, gap: int) -> list[list[int]]:
    """Indices of the flagged windows, grouped into runs at most ``gap`` windows apart.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> s = pl.Series([datetime(2026, 1, 1) + timedelta(minutes=5 * i) for i in range(8)])
    >>> runs(s, np.array([0, 1, 1, 0, 1, 0, 0, 1], bool), 300_000_000, 1)
    [[1, 2, 4], [7]]
    """
    idx = np.flatnonzero(flagged)
    if idx.size == 0:
        return []
    us = starts.dt.epoch("us").to_numpy()
    out: list[list[int]] = [[int(idx[0])]]
    for i in idx[1:]:
        if us[i] - us[out[-1][-1]] <= (gap + 1) * step_us:
            out[-1].append(int(i))
        else:
            out.append([int(i)])
    return out


def _statuses(work: pl.DataFrame, key: dict[str, Any], t0: Any, t1: Any) -> str:
    """``"502×60, 504×37"``: the 5xx codes of a group between two times, most frequent first."""
    cond = _match(key) & (pl.col("time") >= t0) & (pl.col("time") < t1) & (pl.col("status") >= 500)
    counts = (
        work.filter(cond)
        .get_column("status")
        .value_counts()
        .sort(["count", "status"], descending=[True, False])
    )
    return ", ".join(f"{s}×{c}" for s, c in counts.iter_rows())


def _upstreams(work: pl.DataFrame, cond: pl.Expr) -> list[str]:
    """The upstreams (``$upstream_addr``) of the requests matching ``cond``, busiest first."""
    if "upstream_addr" not in work.columns:
        return []
    col = pl.col("upstream_addr")
    if work.schema["upstream_addr"] == pl.String:
        col = col.str.replace_all(_SPLIT, "\x00").str.split("\x00")
    elif not isinstance(work.schema["upstream_addr"], pl.List):
        return []
    addrs = (
        work.filter(cond)
        .select(col.alias("a"))
        .explode("a")
        .filter(pl.col("a").is_not_null() & ~pl.col("a").is_in(["", "-"]))
        .get_column("a")
        .value_counts()
        .sort(["count", "a"], descending=[True, False])
    )
    return addrs.get_column("a").head(_MAX_UPSTREAMS).to_list()


def _match(key: dict[str, Any]) -> pl.Expr:
    cond = pl.lit(True)
    for k, v in key.items():
        cond = cond & (pl.col(k).is_null() if v is None else pl.col(k) == v)
    return cond


def _subject(method: str | None, route: str | None) -> str:
    return f"{method or '?'} {route or '?'}"


def events(
    requests: FrameLike,
    *,
    every: str | timedelta = "10m",
    alpha: float = 0.01,
    min_errors: int = 5,
    min_ratio: float = 2.0,
    min_requests: int = 50,
    min_change: float = 0.2,
    steps: bool = True,
) -> pl.DataFrame:
    """Error bursts and latency steps of each route, as events.

    Parameters
    ----------
    requests : frame-like
        :data:`~perflab.api.schema.REQUESTS` with a ``route`` column
        (:func:`~perflab.api.template_routes`; templated here without a manifest when
        absent). ``upstream_addr`` is used when present.
    every : str or timedelta
        Window length for both kinds.
    alpha, min_errors, min_ratio : float, int, float
        The burst test (see :func:`error_bursts`).
    min_requests : int
        Fewest answered requests for a window to count in the latency series (a
        night-time window of three requests has no p95 worth the name).
    min_change : float
        Smallest latency shift reported as a step (0.2 = ±20 %).
    steps : bool
        Look for latency steps too (the slower part: one trend per route).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"api"``, subject ``"GET /route"``:
        ``error-burst`` at the burst's first window (``size`` the excess 5xx share,
        ``unit`` ``"share"``, ``direction`` ``"worse"``), and ``step`` at the first
        window of the new p95 level (``size`` the relative shift, ``unit``
        ``"ratio"``, ``direction`` ``"worse"`` up, ``"better"`` down). ``terms``: the
        route, then the upstreams involved. In time order.

    Raises
    ------
    SchemaError
        ``requests`` lacks ``time``, ``status``, ``method`` or ``path``/``route``.
    ParameterError
        A threshold out of range.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 3, 2, 14)
    >>> f = pl.DataFrame({"method": "GET", "route": "/api/recommendations",
    ...     "time": [t0 + timedelta(seconds=10 * i) for i in range(720)],
    ...     "status": [502 if 180 <= i < 240 and i % 2 else 200 for i in range(720)],
    ...     "duration_ms": 40.0, "upstream_addr": "10.0.0.7:8080"})
    >>> events(f).select("time", "kind", "size").row(0)  # doctest: +ELLIPSIS
    (datetime.datetime(2026, 3, 2, 14, 30, ...), 'error-burst', 0.5)
    >>> events(f)["terms"][0].to_list()
    ['/api/recommendations', '10.0.0.7:8080']
    """
    if min_requests < 1:
        raise ParameterError(f"min_requests must be ≥ 1, not {min_requests}")
    if not min_change > 0:
        raise ParameterError(f"min_change must be positive, not {min_change}")
    df = as_frame(requests)
    missing = [c for c in ("time", "status", "method") if c not in df.columns]
    if "route" not in df.columns:
        if "path" not in df.columns:
            missing.append("route (or path)")
        else:
            from perflab.api.routes import template_routes

            df = template_routes(df)
    if missing:
        raise SchemaError(
            "requests", detail=f"API events need column(s) {missing}; the frame has {df.columns}"
        )
    df = df.filter(pl.col("route").is_not_null())
    rows: list[dict[str, Any]] = []
    bursts = error_bursts(df, ["method", "route"], every=every, alpha=alpha,
                          min_errors=min_errors, min_ratio=min_ratio)  # fmt: skip
    for r in bursts.iter_rows(named=True):
        key = {"method": r["method"], "route": r["route"]}
        when = (pl.col("time") >= r["start"]) & (pl.col("time") < r["end"])
        ups = _upstreams(df, _match(key) & when & (pl.col("status") >= 500))
        rows.append(
            {
                "time": r["start"],
                "domain": "api",
                "subject": _subject(r["method"], r["route"]),
                "kind": "error-burst",
                "size": r["rate"] - r["baseline"],
                "unit": "share",
                "direction": "worse",
                "evidence": f"5xx {r['rate']:.1%} of {r['requests']:,} requests "
                f"{r['start']:%H:%M}–{r['end']:%H:%M} ({r['errors']:,}: {r['statuses']}) "
                f"against {r['baseline']:.1%} the rest of the time"
                + (f"; upstream {', '.join(ups)}" if ups else ""),
                "terms": [r["route"], *ups],
            }
        )
    if steps:
        rows += _steps(df, every, min_requests, min_change)
    return events_frame(rows).sort("time", "subject", maintain_order=True)


def _steps(
    df: pl.DataFrame, every: str | timedelta, min_requests: int, min_change: float
) -> list[dict[str, Any]]:
    """Latency steps per (method, route) from the monitoring trend's change points."""
    from perflab.monitoring.trend import trend

    server = (
        "upstream_ms"
        if "upstream_ms" in df.columns and df.get_column("upstream_ms").is_not_null().any()
        else "duration_ms"
    )
    if server not in df.columns:
        return []
    step = duration(every)
    ok = df.filter(
        pl.col("time").is_not_null(),
        pl.col("method").is_not_null(),
        pl.col(server).is_not_null(),
        pl.col(server).is_finite(),
        (pl.col("status") < 500).fill_null(True),
    ).with_columns(pl.col("time").dt.truncate(step).alias("_w"))
    counts = ok.group_by("method", "route", "_w").agg(pl.len().alias("_n"))
    ok = ok.join(counts, on=["method", "route", "_w"]).filter(pl.col("_n") >= min_requests)
    if ok.height == 0:
        return []
    metrics = ok.select(
        pl.lit("server_ms").alias("name"),
        pl.col(server).cast(pl.Float64).alias("value"),
        pl.lit("ms").alias("unit"),
        pl.col("time").alias("timestamp"),
        "method",
        "route",
    )
    cps = trend(metrics, every=every, by=("method", "route"), stat="p95",
                min_change_pct=100.0 * min_change).change_points  # fmt: skip
    what = "upstream" if server == "upstream_ms" else "request"
    rows = []
    for r in cps.iter_rows(named=True):
        shift = r["shift_pct"]
        if shift is None:
            continue
        size = shift / 100.0
        key = {"method": r["method"], "route": r["route"]}
        ups = _upstreams(ok, _match(key) & (pl.col("_w") == r["window_start"]))
        rows.append(
            {
                "time": r["window_start"],
                "domain": "api",
                "subject": _subject(r["method"], r["route"]),
                "kind": "step",
                "size": size,
                "unit": "ratio",
                "direction": "worse" if size > 0 else "better",
                "evidence": f"p95 {what} time {r['before']:,.0f} → {r['after']:,.0f} ms "
                f"({shift:+.0f} %) from the {r['window_start']:%H:%M} window on "
                f"(windows of {every}, ≥ {min_requests} answered requests)",
                "terms": [r["route"], *ups],
            }
        )
    return rows

"""Leak verdicts: the trend of the floor a garbage-collected heap returns to.

Memory of a collected runtime is a sawtooth: it climbs while the program allocates and
drops at each collection. The peaks say little (they depend on when the collector
ran); a leak shows in the *troughs*, the floor after each collection, rising.

Troughs (:func:`troughs`)
    ``gc``           with GC events that carry wall time: for each major collection
                     (V8 ``mark-compact*``, CPython ``gen2``) the first sample of each
                     series taken at or after its end.
    ``gc_after``     V8 events' own ``after_bytes`` of major collections: a series
                     named ``heap_after_gc`` (time axis ``elapsed_s`` when the log has
                     no wall time).
    ``window_min``   otherwise, the minimum of each series over consecutive,
                     non-overlapping windows of ``window`` samples (default: the
                     series cut into 24 windows, at least 3 samples each) or of a
                     time window (``"5m"``) — the floor the sawtooth returns to. Windows
                     should span at least one sawtooth period; non-overlapping ones keep
                     the troughs independent (a rolling minimum repeats points and
                     would overstate the trend's significance).

Verdict (:func:`leak_check`), per series (and per ``pid``/``source`` if present), on
the troughs against time in hours, sizes in MB (10⁶ bytes):

==============  ===================================================================
verdict         when
==============  ===================================================================
``inconclusive``  fewer than ``min_points`` troughs (8) or a span under
                  ``min_span_hours`` (0.25 h: shorter runs cannot tell a leak from
                  warm-up — JIT code, caches and pools filling to size)
``leak``          Mann–Kendall trend test p < ``alpha`` (0.05) **and** the Theil–Sen
                  95 % interval's lower bound > 0 **and** the slope ≥
                  ``min_growth_mb_per_hour`` (1 MB/h)
``no_leak``       the interval's upper bound < ``min_growth_mb_per_hour`` (growth too
                  small to matter), or the interval includes zero (or lies below) and
                  its upper bound < ``rule_out_mb_per_hour`` (10 × the minimum growth)
``inconclusive``  otherwise: significant but below the practical threshold with an
                  interval that reaches it, or an interval too wide to rule a leak out
==============  ===================================================================

Basis of the practical threshold: 1 MB/h is 24 MB a day, 170 MB a week — below it a
process restarted by weekly deploys does not outgrow the headroom a heap or container
limit is normally given, and allocator/JIT noise of a steady process stays under it;
the significance tests alone would flag any tiny drift of a long, quiet run. The
rule-out bound (10 MB/h, 240 MB a day) is the growth an interval must exclude before
"no leak" is said: an interval that reaches it is too wide to clear the process.

Mann–Kendall: ``S`` comes from ``scipy.stats.kendalltau`` (tau-b, O(n log n)), and its
variance is Kendall's with tie correction, ``[n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18``
for ties in the troughs (the general form when times tie too), with the continuity
correction ``(S ∓ 1)`` of the textbook test (Hipel & McLeod 1994; Gilbert 1987) — not
scipy's own p-value, which is exact for small samples and uncorrected otherwise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from perflab.errors import ParameterError
from perflab.frames import UTC_DATETIME, FrameLike, Schema, as_frame
from perflab.memory.schema import GC_EVENTS, SAMPLES
from perflab.stats import change_points, theil_sen

__all__ = [
    "HEAP_TREND",
    "LEAKS",
    "MAJOR_GC",
    "TROUGHS",
    "heap_trend",
    "leak_check",
    "mann_kendall",
    "troughs",
]

MAJOR_GC: tuple[str, ...] = ("mark-compact", "mark-compact (reduce)", "gen2")
"""Kinds of collection after which the heap is at its floor (V8 full GCs, CPython gen2)."""

_V8_KINDS = ("scavenge", "minor-ms", "minor-mc", "mark-compact", "mark-compact (reduce)")

# Series that are not a process's bytes: counts, and the whole machine's memory.
# not judged by default: counts, the machine's memory, and address space (``vms``: a
# reservation, not memory used) and ``swap`` (where memory went, not how much is used)
_NOT_PROCESS_BYTES = frozenset(
    {"open_files", "threads", "system_available", "system_used", "vms", "swap"}
)
_MB = 1e6

TROUGHS = Schema(
    "memory troughs",
    {
        "series": pl.String,
        "timestamp": UTC_DATETIME,
        "time_s": pl.Float64,
        "value": pl.Float64,
        "method": pl.String,
    },
    optional={"pid": pl.Int64, "source": pl.String},
)
"""Output of :func:`troughs`: one row per trough (``pid``/``source`` first when present).

``timestamp`` is null for ``heap_after_gc`` points of a log without wall time;
``time_s`` is the time axis either way — Unix seconds, or the process's ``elapsed_s``.
``method`` is ``gc``, ``gc_after`` or ``window_min`` (module docstring)."""

LEAKS = Schema(
    "leak check",
    {
        "series": pl.String,
        "method": pl.String,
        "points": pl.Int64,
        "span_hours": pl.Float64,
        "level_mb": pl.Float64,
        "slope_mb_per_hour": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "tau": pl.Float64,
        "growth_pct": pl.Float64,
        "hours_to_limit": pl.Float64,
        "verdict": pl.String,
        "reason": pl.String,
    },
    optional={"pid": pl.Int64, "source": pl.String},
)
"""Output of :func:`leak_check`, one row per series (``pid``/``source`` first if present).

==================  =====  ===========================================================
column              dtype  meaning
==================  =====  ===========================================================
series              str    ``heap_used``, ``rss``, ``heap_after_gc`` …
method              str    how the troughs were found (see :data:`TROUGHS`)
points              i64    troughs
span_hours          f64    time from the first trough to the last
level_mb            f64    the fitted trend at the last trough, MB
slope_mb_per_hour   f64    Theil–Sen slope of the troughs, MB/h
ci_low, ci_high     f64    its confidence interval (``1 − alpha``, Sen 1968), MB/h
p_value             f64    two-sided Mann–Kendall trend test
tau                 f64    Kendall's tau-b of troughs against time
growth_pct          f64    fitted growth over the span, % of the fitted start
hours_to_limit      f64    hours until the fitted trend reaches the limit (0 when past
                           it); null without a limit or when the slope is ≤ 0
verdict             str    ``leak``, ``no_leak`` or ``inconclusive``
reason              str    why, in a few words
==================  =====  ===========================================================
"""

HEAP_TREND = Schema(
    "heap trend segments",
    {
        "series": pl.String,
        "segment": pl.Int64,
        "start": UTC_DATETIME,
        "start_s": pl.Float64,
        "end_s": pl.Float64,
        "points": pl.Int64,
        "slope_mb_per_hour": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    },
    optional={"pid": pl.Int64, "source": pl.String},
)
"""Output of :func:`heap_trend`: the troughs of each series cut where their slope turns."""


def _keys(df: pl.DataFrame) -> list[str]:
    return [c for c in ("pid", "source") if c in df.columns]


def _window_minima(
    df: pl.DataFrame,
    keys: list[str],
    window: int | str | None,
    cycle_s: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The minimum of each series per consecutive window, with the time of that minimum.

    ``cycle_s`` (a ``cycle_s`` column, with those of ``keys`` it is per) gives, where
    major collections are known, the longest stretch without one: a default window is
    made at least that long, since a shorter window's minimum is not a floor the
    sawtooth returned to.
    """
    group = [*keys, "series"]
    df = df.sort([*group, "timestamp"])
    if window is None and cycle_s is not None:
        on = [c for c in cycle_s.columns if c != "cycle_s"]
        t = pl.col("timestamp").dt.epoch("us") / 1e6
        df = (
            (df.join(cycle_s, on=on, how="left") if on else df.join(cycle_s, how="cross"))
            .with_columns(
                pl.max_horizontal(
                    pl.col("cycle_s"), (t.max() - t.min()).over(group) / 24.0, pl.lit(1e-6)
                ).alias("_len")
            )
            .with_columns(((t - t.min().over(group)) / pl.col("_len")).floor().alias("_t"))
            .with_columns(
                pl.when(pl.col("cycle_s").is_not_null())
                .then(pl.col("_t").cast(pl.Int64))
                .otherwise(
                    pl.int_range(pl.len()).over(group)
                    // pl.max_horizontal(pl.lit(3), (pl.len() / 24).ceil().cast(pl.Int64)).over(
                        group
                    )
                )
                .alias("_w")
            )
            .drop("cycle_s", "_len", "_t")
        )
    elif isinstance(window, str):
        df = df.with_columns(
            pl.col("timestamp").dt.truncate(window).alias("_w")
        )  # calendar-aligned windows
    else:
        if window is not None and int(window) < 1:
            raise ParameterError(f"window must be at least 1 sample, not {window}")
        size = (
            pl.lit(int(window))
            if window is not None
            else pl.max_horizontal(pl.lit(3), (pl.len() / 24).ceil().cast(pl.Int64))
        )
        df = df.with_columns((pl.int_range(pl.len()) // size).over(group).alias("_w"))
    return (
        df.group_by([*group, "_w"])
        .agg(pl.all().sort_by("value").first())
        .drop("_w")
        .with_columns(pl.lit("window_min").alias("method"))
    )


def troughs(
    samples: FrameLike,
    *,
    gc_events: FrameLike | None = None,
    window: int | str | None = None,
    min_gc_troughs: int = 2,
) -> pl.DataFrame:
    """The post-GC troughs of each memory series: the floor its sawtooth returns to.

    Parameters
    ----------
    samples : frame-like
        :data:`~perflab.memory.schema.SAMPLES` (may be empty when ``gc_events`` is
        given). pandas is accepted.
    gc_events : frame-like, optional
        :data:`~perflab.memory.schema.GC_EVENTS`. Major collections with a
        ``timestamp`` pick each series' first sample at or after their end; V8's
        ``after_bytes`` of major collections become the ``heap_after_gc`` series. A
        series that fewer than ``min_gc_troughs`` major collections fall within
        falls back to window minima.
    window : int or str, optional
        Samples per window (int), or a polars duration (``"5m"``) for the window
        minima. Default: 24 windows per series, at least 3 samples each; where
        ``gc_events`` are V8's and timed, each window also spans the longest stretch
        they show without a major collection, since the old space keeps its garbage
        until one: a shorter window's minimum is not a floor the sawtooth returned to.
    min_gc_troughs : int
        Fewest GC-aligned troughs a series keeps; :func:`leak_check` asks for as
        many as its verdict needs after the warm-up.

    Returns
    -------
    polars.DataFrame
        :data:`TROUGHS`, sorted by ``pid``/``source``, series and time.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> s = pl.DataFrame({"timestamp": [t0 + timedelta(seconds=i) for i in range(6)],
    ...     "series": "heap_used", "value": [5.0, 9.0, 4.0, 8.0, 6.0, 9.5]})
    >>> troughs(s, window=2)["value"].to_list()
    [5.0, 4.0, 6.0]
    """
    df = as_frame(samples, SAMPLES)
    keys = _keys(df)
    parts: list[pl.DataFrame] = []
    used_gc: pl.DataFrame | None = None
    cycle_s: pl.DataFrame | None = None
    if gc_events is not None:
        ev = as_frame(gc_events)
        ev = ev.with_columns(
            pl.lit(None, GC_EVENTS.columns[c]).alias(c)
            for c in ("elapsed_s", "timestamp", "after_bytes")
            if c not in ev.columns
        )
        ev = GC_EVENTS.subset("kind", "pause_ms", "elapsed_s", "timestamp", "after_bytes").validate(
            ev
        )
        major = ev.filter(pl.col("kind").is_in(list(MAJOR_GC)))
        ev_keys = [k for k in keys if k in major.columns]
        # V8's own after-GC heap: a series of its own.
        after = major.filter(pl.col("after_bytes").is_not_null())
        if after.height:
            ek = _keys(after)
            parts.append(
                after.select(
                    *ek,
                    pl.lit("heap_after_gc").alias("series"),
                    "timestamp",
                    pl.coalesce(
                        pl.col("timestamp").dt.epoch("us") / 1e6, pl.col("elapsed_s")
                    ).alias("time_s"),
                    pl.col("after_bytes").alias("value"),
                    pl.lit("gc_after").alias("method"),
                )
            )
        timed = major.filter(pl.col("timestamp").is_not_null())
        clocked = ev.filter(pl.col("timestamp").is_not_null())
        if clocked.height:
            # V8's old space keeps its garbage until a major collection: the longest
            # stretch the events show without one bounds the window minima. CPython
            # frees most garbage by reference counting: its windows stay the default.
            t = pl.col("timestamp").dt.epoch("us") / 1e6
            stops = pl.concat([t.min(), t.filter(pl.col("kind").is_in(list(MAJOR_GC))), t.max()])
            cycle_s = (
                clocked.sort("timestamp")
                .group_by(ev_keys or pl.lit(0).alias("_all"), maintain_order=True)
                .agg(
                    pl.when(pl.col("kind").is_in(list(_V8_KINDS)).any())
                    .then(stops.diff().max())
                    .alias("cycle_s")
                )
                .drop("_all", strict=False)
            )
        if timed.height and df.height:
            ends = timed.select(
                *ev_keys,
                (
                    pl.col("timestamp")
                    + pl.duration(microseconds=(pl.col("pause_ms").fill_null(0.0) * 1e3))
                ).alias("gc_end"),
            ).sort("gc_end")
            picked = (
                ends.join(df.select(*keys, "series").unique(), on=ev_keys or None, how="inner")
                if ev_keys
                else ends.join(df.select(*keys, "series").unique(), how="cross")
            )
            picked = (
                picked.sort("gc_end")
                .join_asof(
                    df.sort("timestamp"),
                    left_on="gc_end",
                    right_on="timestamp",
                    by=[*keys, "series"],
                    strategy="forward",
                    check_sortedness=False,
                )
                .filter(pl.col("timestamp").is_not_null())
                .unique([*keys, "series", "timestamp"])
                .drop("gc_end")
                .with_columns(pl.lit("gc").alias("method"))
            )
            counts = picked.group_by([*keys, "series"]).len()
            used_gc = picked.join(
                counts.filter(pl.col("len") >= min_gc_troughs).drop("len"),
                on=[*keys, "series"],
            )
    if df.height:
        rest = df
        if used_gc is not None and used_gc.height:
            rest = df.join(
                used_gc.select(*keys, "series").unique(), on=[*keys, "series"], how="anti"
            )
            parts.append(used_gc.select(*keys, "series", "timestamp", "value", "method"))
        if rest.height:
            parts.append(
                _window_minima(
                    rest.select(*keys, "series", "timestamp", "value"), keys, window, cycle_s
                )
            )
    keys = [k for k in ("pid", "source") if any(k in p.columns for p in parts)]
    cols = pl.Schema({**{k: SAMPLES.optional[k] for k in keys}, **TROUGHS.columns})
    if not parts:
        return pl.DataFrame(schema=cols)
    out = pl.concat(
        [
            p.with_columns(
                *(pl.lit(None, cols[k]).alias(k) for k in keys if k not in p.columns),
                *(
                    [(pl.col("timestamp").dt.epoch("us") / 1e6).alias("time_s")]
                    if "time_s" not in p.columns
                    else []
                ),
            )
            .select(list(cols))
            .cast(cols)
            for p in parts
        ]
    )
    return out.sort([*keys, "series", "time_s"])


def mann_kendall(x: Any, y: Any) -> tuple[float, float, float]:
    """Mann–Kendall trend test of ``y`` against ``x``: ``(S, tau_b, two-sided p)``.

    ``S`` (concordant minus discordant pairs) is recovered from scipy's tau-b; its
    variance is Kendall's with tie correction for both variables, and the normal
    approximation uses the continuity correction ``S ∓ 1`` (the textbook test).

    Parameters
    ----------
    x, y : array-like of float
        Same length, at least 3 points.

    Returns
    -------
    tuple of float
        ``(S, tau, p)``; ``p`` is 1 and ``tau`` NaN when either variable is constant.

    Examples
    --------
    >>> s, tau, p = mann_kendall([1, 2, 3, 4, 5, 6, 7, 8], [1, 3, 2, 4, 6, 5, 7, 8])
    >>> s, round(tau, 3), round(p, 4)
    (24.0, 0.857, 0.0044)
    """
    from scipy import stats

    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    n = xs.size
    if n != ys.size or n < 3:
        raise ParameterError("Mann–Kendall needs x and y of the same length, at least 3")

    def ties(v: np.ndarray) -> np.ndarray:
        _, c = np.unique(v, return_counts=True)
        return c[c > 1].astype(np.float64)

    tx, ty = ties(xs), ties(ys)
    n0 = n * (n - 1) / 2.0
    n1 = float(np.sum(tx * (tx - 1) / 2))
    n2 = float(np.sum(ty * (ty - 1) / 2))
    if n1 == n0 or n2 == n0:
        return 0.0, math.nan, 1.0
    tau = float(stats.kendalltau(xs, ys).statistic)
    s = float(round(tau * math.sqrt((n0 - n1) * (n0 - n2))))
    var = (
        n * (n - 1) * (2 * n + 5)
        - np.sum(tx * (tx - 1) * (2 * tx + 5))
        - np.sum(ty * (ty - 1) * (2 * ty + 5))
    ) / 18.0
    var += (
        np.sum(tx * (tx - 1) * (tx - 2))
        * np.sum(ty * (ty - 1) * (ty - 2))
        / (9.0 * n * (n - 1) * (n - 2))
    )
    var += np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1)) / (2.0 * n * (n - 1))
    z = 0.0 if s == 0 else (s - math.copysign(1.0, s)) / math.sqrt(var)
    p = float(math.erfc(abs(z) / math.sqrt(2.0)))
    return s, tau, p


def _limit_for(limit: float | Mapping[str, float] | None, series: str) -> float | None:
    if limit is None:
        return None
    if isinstance(limit, Mapping):
        value = limit.get(series)
        return None if value is None else float(value)
    return float(limit)


def _judge(
    t_s: np.ndarray,
    v: np.ndarray,
    *,
    limit: float | None,
    alpha: float,
    min_growth: float,
    rule_out: float,
    min_points: int,
    min_span_hours: float,
) -> dict[str, Any]:
    n = int(t_s.size)
    hours = (t_s - t_s[0]) / 3600.0 if n else t_s
    span = float(hours[-1]) if n else 0.0
    row: dict[str, Any] = {"points": n, "span_hours": span}
    if n < 3 or span <= 0:
        row.update(verdict="inconclusive", reason=f"only {n} trough(s): no trend to fit")
        return row
    mb = v / _MB
    ts = theil_sen(hours, mb, confidence=1.0 - alpha)
    _, tau, p = mann_kendall(hours, mb)
    start = ts.intercept
    level = ts.intercept + ts.slope * span
    row.update(
        level_mb=level,
        slope_mb_per_hour=ts.slope,
        ci_low=ts.low_slope,
        ci_high=ts.high_slope,
        p_value=p,
        tau=tau,
        growth_pct=ts.slope * span / start * 100.0 if start > 0 else None,
    )
    if limit is not None and ts.slope > 0:
        row["hours_to_limit"] = max((limit / _MB - level) / ts.slope, 0.0)
    lo, hi = ts.low_slope, ts.high_slope
    ci = f"{ts.slope:+.2f} MB/h [{lo:+.2f}, {hi:+.2f}]"
    if n < min_points:
        verdict, reason = "inconclusive", f"only {n} troughs (need {min_points})"
    elif span < min_span_hours:
        verdict, reason = "inconclusive", f"span {span:.2f} h < {min_span_hours:g} h"
    elif not (math.isfinite(lo) and math.isfinite(hi)):
        verdict, reason = "inconclusive", "no slope interval (too many ties)"
    elif p < alpha and lo > 0 and ts.slope >= min_growth:
        verdict, reason = "leak", f"troughs rise {ci}, MK p={p:.2g}"
    elif hi < min_growth:
        verdict, reason = "no_leak", f"growth {ci} below {min_growth:g} MB/h"
    elif lo <= 0 and hi < rule_out:
        verdict, reason = "no_leak", f"no significant trend: {ci}, MK p={p:.2g}"
    elif lo > 0:
        verdict, reason = "inconclusive", f"rises {ci} but below {min_growth:g} MB/h"
    else:
        verdict, reason = "inconclusive", f"interval too wide to rule out a leak: {ci}"
    row.update(verdict=verdict, reason=reason)
    return row


def leak_check(
    samples: FrameLike,
    *,
    gc_events: FrameLike | None = None,
    limit_bytes: float | Mapping[str, float] | None = None,
    alpha: float = 0.05,
    min_growth_mb_per_hour: float = 1.0,
    rule_out_mb_per_hour: float | None = None,
    min_points: int = 8,
    min_span_hours: float = 0.25,
    window: int | str | None = None,
    series: Sequence[str] | None = None,
    warmup: float = 0.2,
) -> pl.DataFrame:
    """A leak verdict per memory series from the trend of its post-GC troughs.

    The troughs (:func:`troughs`) are fitted against time by Theil–Sen (slope and
    its ``1 − alpha`` interval, in MB/h) and tested by Mann–Kendall; the verdict
    follows the rule of the module docstring: **leak** when MK p < ``alpha``, the
    interval's lower bound > 0 and the slope ≥ ``min_growth_mb_per_hour``;
    **no_leak** when enough troughs over enough time give an interval whose upper
    bound is below the minimum growth, or that includes zero with an upper bound
    below ``rule_out_mb_per_hour``; **inconclusive** otherwise.

    Parameters
    ----------
    samples : frame-like
        :data:`~perflab.memory.schema.SAMPLES` (pandas accepted). Heap, external and
        RSS series are judged apart, and per ``pid``/``source`` when present.
    gc_events : frame-like, optional
        :data:`~perflab.memory.schema.GC_EVENTS`, for GC-aligned troughs and V8's
        ``heap_after_gc`` series.
    limit_bytes : float or mapping of str to float, optional
        The limit a series grows towards (one for all, or per series name), for
        ``hours_to_limit``.
    alpha : float
        Significance level of the trend test; the interval is ``1 − alpha``.
    min_growth_mb_per_hour : float
        The practical threshold (1 MB/h: 24 MB a day; see the module docstring).
    rule_out_mb_per_hour : float, optional
        The growth an interval must exclude for ``no_leak``; default 10 × the minimum.
    min_points : int
        Fewest troughs for a verdict.
    min_span_hours : float
        Shortest span of troughs for a verdict.
    window : int or str, optional
        Window of the window minima (see :func:`troughs`).
    series : sequence of str, optional
        Series to judge; default every byte series of the process (not ``threads``,
        ``open_files`` nor the machine's ``system_*``).
    warmup : float
        The share of each series' span, from its start, left out as warm-up (JIT
        code, caches and pools filling, the allocator growing its arenas): a process
        that has just started always grows, leak or not. 0 keeps everything.

    Returns
    -------
    polars.DataFrame
        :data:`LEAKS`, leaks first, then by slope.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> n = 240  # 4 h, a sample a minute, a sawtooth of 10 minutes on a rising floor
    >>> s = pl.DataFrame({"timestamp": [t0 + timedelta(minutes=i) for i in range(n)],
    ...     "series": "heap_used",
    ...     "value": [1e8 + 5e7 * i / 60 + 2e6 * (i % 10) for i in range(n)]})
    >>> leak_check(s, limit_bytes=1e9).select("series", "points", "slope_mb_per_hour",
    ...     pl.col("hours_to_limit").round(1), "verdict")
    shape: (1, 5)
    ┌───────────┬────────┬───────────────────┬────────────────┬─────────┐
    │ series    ┆ points ┆ slope_mb_per_hour ┆ hours_to_limit ┆ verdict │
    │ ---       ┆ ---    ┆ ---               ┆ ---            ┆ ---     │
    │ str       ┆ i64    ┆ f64               ┆ f64            ┆ str     │
    ╞═══════════╪════════╪═══════════════════╪════════════════╪═════════╡
    │ heap_used ┆ 19     ┆ 50.0              ┆ 14.2           ┆ leak    │
    └───────────┴────────┴───────────────────┴────────────────┴─────────┘
    """
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must lie in (0, 1), not {alpha}")
    if min_growth_mb_per_hour <= 0:
        raise ParameterError("min_growth_mb_per_hour must be positive")
    if not 0.0 <= warmup < 1.0:
        raise ParameterError(f"warmup must lie in [0, 1), not {warmup}")
    rule_out = (
        10.0 * min_growth_mb_per_hour if rule_out_mb_per_hour is None else rule_out_mb_per_hour
    )
    # a series keeps its GC-aligned troughs only when enough remain after the warm-up
    # for a verdict; otherwise its window minima (a few major collections say little)
    enough = math.ceil(min_points / (1.0 - warmup))
    tr = troughs(samples, gc_events=gc_events, window=window, min_gc_troughs=enough)
    keys = _keys(tr)
    if series is not None:
        tr = tr.filter(pl.col("series").is_in(list(series)))
    else:
        tr = tr.filter(~pl.col("series").is_in(list(_NOT_PROCESS_BYTES)))
    cols = {**{k: tr.schema[k] for k in keys}, **LEAKS.columns}
    rows = []
    for (*key, name, method), part in tr.group_by([*keys, "series", "method"], maintain_order=True):
        part = part.sort("time_s")
        if warmup > 0 and part.height:
            t = part["time_s"]
            first, last = float(t.min()), float(t.max())  # type: ignore[arg-type]
            part = part.filter(pl.col("time_s") >= first + warmup * (last - first))
        row = _judge(
            part["time_s"].to_numpy(),
            part["value"].to_numpy(),
            limit=_limit_for(limit_bytes, str(name)),
            alpha=alpha,
            min_growth=min_growth_mb_per_hour,
            rule_out=rule_out,
            min_points=min_points,
            min_span_hours=min_span_hours,
        )
        rows.append({**dict(zip(keys, key, strict=True)), "series": name, "method": method, **row})
    if not rows:
        return pl.DataFrame(schema=cols)
    out = pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema=cols, orient="row")
    order = {"leak": 0, "inconclusive": 1, "no_leak": 2}
    return (
        out.with_columns(pl.col("verdict").replace_strict(order).alias("_o"))
        .sort(["_o", "slope_mb_per_hour"], descending=[False, True], nulls_last=True)
        .drop("_o")
    )


def heap_trend(
    samples: FrameLike,
    *,
    gc_events: FrameLike | None = None,
    window: int | str | None = None,
    min_size: int = 4,
    penalty: float | None = None,
) -> pl.DataFrame:
    """Where the trend of each series' troughs turns: a leak that starts mid-run.

    The troughs' rate of change between consecutive points (MB/h) is cut by
    :func:`perflab.stats.change_points` (a shift in the mean rate is a change of
    slope); each segment of troughs then gets its Theil–Sen slope and 95 % interval.

    Parameters
    ----------
    samples, gc_events, window
        As for :func:`troughs`.
    min_size : int
        Fewest troughs per segment.
    penalty : float, optional
        Passed to :func:`~perflab.stats.change_points`.

    Returns
    -------
    polars.DataFrame
        :data:`HEAP_TREND`: one row per segment per series (a single segment when the
        slope never turns).

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> v = [1e8] * 30 + [1e8 + 2e6 * i for i in range(1, 31)]  # flat, then rising
    >>> s = pl.DataFrame({"timestamp": [t0 + timedelta(minutes=i) for i in range(60)],
    ...     "series": "rss", "value": v})
    >>> heap_trend(s, window=1)[["segment", "points", "slope_mb_per_hour"]].rows()
    [(0, 30, 0.0), (1, 30, 120.0)]
    """
    tr = troughs(samples, gc_events=gc_events, window=window)
    keys = _keys(tr)
    cols = {**{k: tr.schema[k] for k in keys}, **HEAP_TREND.columns}
    rows: list[dict[str, Any]] = []
    for (*key, name), part in tr.group_by([*keys, "series"], maintain_order=True):
        part = part.sort("time_s")
        t = part["time_s"].to_numpy()
        v = part["value"].to_numpy() / _MB
        if t.size < 2:
            continue
        dt = np.diff(t) / 3600.0
        ok = dt > 0
        rate = np.diff(v)[ok] / dt[ok]
        pos = np.flatnonzero(ok) + 1  # the trough each rate ends at
        cuts = [int(pos[i]) for i in change_points(rate, min_size=min_size, penalty=penalty)]
        edges = [0, *cuts, t.size]
        stamps = part["timestamp"]
        for seg, (a, b) in enumerate(itertools.pairwise(edges)):
            row: dict[str, Any] = {
                **dict(zip(keys, key, strict=True)),
                "series": name,
                "segment": seg,
                "start": stamps[a],
                "start_s": float(t[a]),
                "end_s": float(t[b - 1]),
                "points": b - a,
            }
            if b - a >= 2 and t[b - 1] > t[a]:
                fit = theil_sen((t[a:b] - t[a]) / 3600.0, v[a:b])
                row.update(
                    slope_mb_per_hour=fit.slope, ci_low=fit.low_slope, ci_high=fit.high_slope
                )
            rows.append(row)
    if not rows:
        return pl.DataFrame(schema=cols)
    return pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema=cols, orient="row")

"""Service-level objectives: good fraction, error budget and burn rate per objective.

An objective says that at least ``target`` of the samples of a metric (optionally
only those with given tag values) must be ``<= threshold``. Its error budget is
``1 − target``; the burn rate of a window is its bad fraction divided by the budget
(1 = spending the budget exactly as fast as allowed) — the definitions of Google's
*SRE Workbook*, chapter "Alerting on SLOs".

A window with few samples has no meaningful burn rate: with 3 requests, one slow
one is a bad fraction of 1/3 — a burn rate of 33 against a 99 % objective. So a
window's burn rate is reported (and counted in the peak and in the breached
windows) only when the window holds at least ``min_samples`` samples; by default
``⌈1 / budget⌉`` — the fewest samples in which the budget allows one bad sample
(20 for a 95 % objective, 100 for 99 %, 1 000 for 99.9 %). With fewer, a single
bad sample already reads as burning too fast, and no burn rate at all could read
as "within budget". Such windows keep their ``samples``, ``bad`` and
``bad_fraction`` and have a null ``burn_rate``; every sample still counts in the
overall good fraction and budget consumed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import polars as pl

from perflab.errors import ParameterError, SchemaError
from perflab.frames import FrameLike, as_frame
from perflab.monitoring.schema import SLO, SLO_WINDOWS
from perflab.monitoring.validate import check_units, metrics_frame
from perflab.times import duration

__all__ = ["slo_report", "slo_windows"]

logger = logging.getLogger(__name__)

Objectives = FrameLike | Sequence[Mapping[str, Any]]


def _objectives(objectives: Objectives, min_samples: int | None) -> list[dict[str, Any]]:
    """Validated objectives as dicts: name, threshold, target, objective, tags, unit,
    budget and the fewest samples of a window with a burn rate (``min_samples``)."""
    if min_samples is not None and (isinstance(min_samples, bool) or int(min_samples) < 1):
        raise ParameterError(f"min_samples must be a positive count, not {min_samples!r}")
    if isinstance(objectives, Sequence) and all(isinstance(o, Mapping) for o in objectives):
        raw = [dict(o) for o in objectives]
    else:
        raw = as_frame(objectives).to_dicts()
    out = []
    for i, o in enumerate(raw):
        missing = [k for k in ("name", "threshold", "target") if o.get(k) is None]
        if missing:
            raise SchemaError("objectives", missing=missing, detail=f"in objective {i + 1}")
        threshold = float(o["threshold"])
        target = float(o["target"])
        if not math.isfinite(threshold):
            raise ParameterError(f"objective {i + 1}: threshold must be finite, not {threshold}")
        if not 0.0 < target < 1.0:
            raise ParameterError(
                f"objective {i + 1}: target is the fraction of good samples, in (0, 1) "
                f"(0.99 for 99 %), not {target}"
            )
        tags = {k: v for k, v in (o.get("tags") or {}).items() if v is not None}
        label = o.get("objective") or _label(str(o["name"]), threshold, target, tags)
        # 1 − target, rounded so that 1 − 0.9 is 0.1: a window whose bad fraction
        # equals the budget burns at exactly 1, not 1.0000000000000002
        budget = round(1.0 - target, 12)
        out.append(
            {
                "objective": str(label),
                "name": str(o["name"]),
                "threshold": threshold,
                "target": target,
                "budget": budget,
                "tags": tags,
                "unit": o.get("unit"),
                "min_samples": (
                    math.ceil(round(1.0 / budget, 9)) if min_samples is None else int(min_samples)
                ),
            }
        )
    labels = [str(o["objective"]) for o in out]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ParameterError(f"objective labels must be unique; repeated: {dupes}")
    return out


def _label(name: str, threshold: float, target: float, tags: Mapping[str, Any]) -> str:
    where = "".join(f" {k}={v}" for k, v in sorted(tags.items()))
    return f"{name}{where} <= {threshold:g} for {target * 100:g}%"


def _units(frame: pl.DataFrame) -> dict[str, str]:
    """The unit of every metric name (one per name: the frame passed ``check_units``)."""
    return dict(frame.group_by("name").agg(pl.col("unit").first()).iter_rows())


def _windows(frame: pl.DataFrame, objs: list[dict[str, Any]], step: str) -> pl.DataFrame:
    """Per objective and window: samples, bad samples, bad fraction, burn rate."""
    if frame.height == 0:
        return SLO_WINDOWS.empty()
    names = frame.get_column("name").unique().sort().to_list()
    unknown = sorted({o["name"] for o in objs} - set(names))
    if unknown:
        raise SchemaError("metrics", detail=f"no metric named {unknown}; the frame holds {names}")
    units = _units(frame)
    parts = []
    for o in objs:
        unit = units.get(o["name"])
        if o["unit"] is not None and unit is not None and o["unit"] != unit:
            raise SchemaError(
                "objectives",
                detail=f"objective {o['objective']!r} is in {o['unit']} but metric "
                f"{o['name']} is in {unit}; perflab never converts units silently",
            )
        missing_tags = [t for t in o["tags"] if t not in frame.columns]
        if missing_tags:
            raise SchemaError(
                "metrics", missing=missing_tags, detail=f"tag filter of {o['objective']!r}"
            )
        cond = pl.col("name") == o["name"]
        for tag, value in o["tags"].items():
            cond = cond & (pl.col(tag) == str(value))
        parts.append(
            frame.lazy()
            .filter(cond)
            .group_by(pl.col("timestamp").dt.truncate(step).alias("window_start"))
            .agg(
                pl.len().cast(pl.UInt64).alias("samples"),
                (pl.col("value") > o["threshold"]).sum().cast(pl.UInt64).alias("bad"),
            )
            .with_columns(
                objective=pl.lit(o["objective"]),
                name=pl.lit(o["name"]),
                budget=pl.lit(o["budget"]),
                judged=pl.col("samples") >= o["min_samples"],
            )
        )
    if not parts:
        return SLO_WINDOWS.empty()
    order = {o["objective"]: i for i, o in enumerate(objs)}
    out = pl.concat(pl.collect_all(parts), how="vertical_relaxed")
    return (
        out.with_columns(bad_fraction=pl.col("bad") / pl.col("samples"))
        .with_columns(
            burn_rate=pl.when(pl.col("judged")).then(pl.col("bad_fraction") / pl.col("budget"))
        )
        .sort(pl.col("objective").replace_strict(order, return_dtype=pl.UInt32), "window_start")
        .select(SLO_WINDOWS.names)
        .cast(pl.Schema(SLO_WINDOWS.columns))
    )


def slo_windows(
    df: FrameLike,
    objectives: Objectives,
    *,
    every: str | timedelta = "1h",
    min_samples: int | None = None,
) -> pl.DataFrame:
    """Bad fraction and burn rate of every objective in every window, for charting.

    Parameters
    ----------
    df : frame-like
        A ``METRICS`` frame.
    objectives : frame-like or list of dict
        As in :func:`slo_report`.
    every : str or timedelta
        Window length (polars duration).
    min_samples : int, optional
        Fewest samples of a window with a burn rate; default ``⌈1 / (1 − target)⌉``
        per objective (see the module docstring).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.monitoring.schema.SLO_WINDOWS`: ``objective, name,
        window_start, samples, bad, bad_fraction, burn_rate`` (null below
        ``min_samples``) — one row per objective and window with samples, in the
        order of ``objectives`` then time.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> values = [100.0] * 16 + [500.0] * 4 + [100.0] * 20 + [100.0, 100.0, 500.0]
    >>> hours = [0] * 20 + [1] * 20 + [2] * 3
    >>> df = pl.DataFrame({"name": "api", "unit": "ms", "value": values,
    ...     "timestamp": [t0 + timedelta(hours=h) for h in hours]})
    >>> objective = {"name": "api", "threshold": 300, "target": 0.9, "objective": "api fast"}
    >>> slo_windows(df, [objective]).select("window_start", "samples", "bad_fraction", "burn_rate")
    shape: (3, 4)
    ┌─────────────────────────┬─────────┬──────────────┬───────────┐
    │ window_start            ┆ samples ┆ bad_fraction ┆ burn_rate │
    │ ---                     ┆ ---     ┆ ---          ┆ ---       │
    │ datetime[μs, UTC]       ┆ u64     ┆ f64          ┆ f64       │
    ╞═════════════════════════╪═════════╪══════════════╪═══════════╡
    │ 2026-01-01 00:00:00 UTC ┆ 20      ┆ 0.2          ┆ 2.0       │
    │ 2026-01-01 01:00:00 UTC ┆ 20      ┆ 0.0          ┆ 0.0       │
    │ 2026-01-01 02:00:00 UTC ┆ 3       ┆ 0.333333     ┆ null      │
    └─────────────────────────┴─────────┴──────────────┴───────────┘

    The third hour holds 3 samples, fewer than the 10 in which a 90 % objective
    allows one bad sample: its burn rate is not judged.
    """
    frame = metrics_frame(df)
    check_units(frame)
    return _windows(frame, _objectives(objectives, min_samples), duration(every))


def slo_report(
    df: FrameLike,
    objectives: Objectives,
    *,
    every: str | timedelta = "1h",
    min_samples: int | None = None,
) -> pl.DataFrame:
    """How each objective fares: good fraction, budget consumed, burn rates, status.

    Parameters
    ----------
    df : frame-like
        A ``METRICS`` frame.
    objectives : frame-like or list of dict
        One per objective: ``name`` (metric), ``threshold`` (in the metric's unit),
        ``target`` (fraction of samples that must be ``<= threshold``, in (0, 1), for
        example 0.99), optional ``objective`` (label; default built from the rest,
        labels must be unique), optional ``tags`` (dict of tag column → value; only
        those samples count) and optional ``unit`` (checked against the metric's).
    every : str or timedelta
        Window length for burn rates (polars duration).
    min_samples : int, optional
        Fewest samples of a window with a burn rate; default ``⌈1 / (1 − target)⌉``
        per objective, the fewest in which the budget allows one bad sample (see the
        module docstring). ``1`` judges every window, however small.

    Returns
    -------
    polars.DataFrame
        One row per objective, in the given order, :data:`~perflab.monitoring.schema.SLO`:
        ``objective, name, threshold, unit, target, samples, good_fraction,
        error_budget`` (1 − target), ``budget_consumed`` (bad fraction / budget over
        all samples, the burn rate of the whole period; 1.0 = exhausted),
        ``burn_rate_peak`` (worst burn rate of a window with at least
        ``min_samples`` samples; null when there is none), ``windows_breached``
        (such windows with burn rate > 1) and ``status``: ``breached`` (good
        fraction < target), else ``at risk`` (budget consumed > 0.75 or some
        window burned faster than 1), else ``met``; ``no data`` when no sample
        matches (then the rate columns are null).

    Raises
    ------
    SchemaError
        A metric name not in a non-empty frame (the message lists the known names),
        a tag filter on a missing column, a unit that differs from the metric's, or a
        metric with mixed units.
    ParameterError
        A target outside (0, 1), a non-finite threshold, repeated labels, bad
        ``every`` or ``min_samples``.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> df = pl.DataFrame({"name": "api", "unit": "ms",
    ...     "value": [100.0] * 197 + [900.0] * 3,
    ...     "timestamp": [t0 + timedelta(seconds=30 * i) for i in range(200)]})
    >>> r = slo_report(df, [{"name": "api", "threshold": 300, "target": 0.98}])
    >>> r.select("objective", "good_fraction", "budget_consumed", "burn_rate_peak", "status")
    shape: (1, 5)
    ┌────────────────────┬───────────────┬─────────────────┬────────────────┬─────────┐
    │ objective          ┆ good_fraction ┆ budget_consumed ┆ burn_rate_peak ┆ status  │
    │ ---                ┆ ---           ┆ ---             ┆ ---            ┆ ---     │
    │ str                ┆ f64           ┆ f64             ┆ f64            ┆ str     │
    ╞════════════════════╪═══════════════╪═════════════════╪════════════════╪═════════╡
    │ api <= 300 for 98% ┆ 0.985         ┆ 0.75            ┆ 1.875          ┆ at risk │
    └────────────────────┴───────────────┴─────────────────┴────────────────┴─────────┘

    Three quarters of the budget are spent overall, and the second hour (3 bad
    samples in 80) burned it nearly twice as fast as allowed, hence "at risk".
    """
    frame = metrics_frame(df)
    check_units(frame)
    objs = _objectives(objectives, min_samples)
    windows = _windows(frame, objs, duration(every))
    units = _units(frame)
    spec = pl.DataFrame(
        {
            "objective": [o["objective"] for o in objs],
            "name": [o["name"] for o in objs],
            "threshold": [o["threshold"] for o in objs],
            "unit": [units.get(o["name"], o["unit"]) for o in objs],
            "target": [o["target"] for o in objs],
            "error_budget": [o["budget"] for o in objs],
        },
        schema={
            k: SLO.columns[k]
            for k in ("objective", "name", "threshold", "unit", "target", "error_budget")
        },
    )
    totals = windows.group_by("objective").agg(
        pl.col("samples").sum(),
        pl.col("bad").sum(),
        pl.col("burn_rate").max().alias("burn_rate_peak"),
        (pl.col("burn_rate") > 1).sum().cast(pl.UInt32).alias("windows_breached"),
    )
    bad_fraction = pl.col("bad") / pl.col("samples")
    out = (
        spec.join(totals, on="objective", how="left", maintain_order="left")
        .with_columns(
            pl.col("samples").fill_null(0),
            good_fraction=1.0 - bad_fraction,
            budget_consumed=bad_fraction / pl.col("error_budget"),
        )
        .with_columns(
            status=pl.when(pl.col("samples") == 0)
            .then(pl.lit("no data"))
            # good fraction < target, said exactly: bad fraction > budget
            .when(pl.col("budget_consumed") > 1)
            .then(pl.lit("breached"))
            .when((pl.col("budget_consumed") > 0.75) | (pl.col("burn_rate_peak") > 1))
            .then(pl.lit("at risk"))
            .otherwise(pl.lit("met"))
        )
    )
    return out.select(SLO.names).cast(pl.Schema(SLO.columns))

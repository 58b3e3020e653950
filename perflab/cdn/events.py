"""CDN events for the shared timeline: hit-ratio drops and error bursts at the edge.

:func:`events` reads the edge's requests (a CDN reader's
:data:`~perflab.cdn.schema.CDN_REQUESTS`, or an access log with
``$upstream_cache_status``) per provider — or per provider and path prefix — over
time windows, and reports:

* **hit-ratio-drop** — a run of windows whose request hit ratio
  (:func:`perflab.cdn.hit_ratio`) fell ``drop_points`` or more under the group's
  median window (the ``cdn.hit-ratio-drop`` rule's test), *and* so far that the
  binomial chance of so few hits at the median ratio is under ``alpha / windows``
  (a window of 60 requests can lose 15 points by chance; one of 400 cannot). A purge,
  a deploy that renamed every asset, an edge outage. ``size`` is the relative change
  of the hit ratio over the run against the median (−0.7: from 0.51 to 0.15),
  ``direction`` ``"worse"``.
* **error-burst** — 5xx far above the group's own baseline
  (:func:`perflab.api.events.error_bursts`); ``size`` the excess share of failed
  requests (``unit`` ``"share"``).

``terms`` are the group's values (the provider, the prefix): a drop on
``cloudfront`` meets the origin's latency step or an API burst through them. It reads
no file. Import it from this module: exported from the package, the name would be
shadowed by this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from perflab.api.events import error_bursts, every_us, runs
from perflab.cdn.offload import hit_ratio, prepare_groups
from perflab.errors import ParameterError, SchemaError
from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.times import duration

__all__ = ["events"]


def _who(keys: Sequence[str], key: dict[str, Any]) -> str:
    """``"cloudfront /images/"``: the group's values, the first bare, the others too."""
    return " ".join(str(key[k]) for k in keys if key[k] is not None) or "all traffic"


def events(
    requests: FrameLike,
    *,
    by: str | Sequence[str] = ("provider",),
    every: str | timedelta = "10m",
    drop_points: float = 0.15,
    min_requests: int = 50,
    alpha: float = 0.01,
    min_errors: int = 5,
    min_ratio: float = 2.0,
    gap: int = 1,
) -> pl.DataFrame:
    """Hit-ratio drops and 5xx bursts of each provider (or provider and prefix), as events.

    Parameters
    ----------
    requests : frame-like
        :data:`~perflab.cdn.schema.CDN_REQUESTS` (``cache_hit``) or access-log
        requests with ``cache_status``; ``time`` and ``status`` are needed.
    by : str or sequence of str
        Groups: ``("provider",)``; ``("provider", "prefix")`` per path prefix
        (``prefix`` is computed from ``path``); any columns. A frame without
        ``provider`` (an access log) is one group unless ``by`` says otherwise.
    every : str or timedelta
        Window length.
    drop_points : float
        Smallest fall of the hit ratio under the median window, in ratio points
        (0.15 = 15 points), as the ``cdn.hit-ratio-drop`` rule.
    min_requests : int
        Fewest requests with a known cache status for a window to be judged.
    alpha : float
        Family-wise false-alarm rate per group, for both tests.
    min_errors, min_ratio : int, float
        The burst test (see :func:`perflab.api.events.error_bursts`).
    gap : int
        Quiet windows allowed inside one drop or burst.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"cdn"``, subject the group
        (``"cloudfront"``, ``"cloudfront /images/"``): ``hit-ratio-drop`` and
        ``error-burst`` at the first window of each run, in time order.

    Raises
    ------
    SchemaError
        No ``time``, ``status``, ``cache_hit``/``cache_status``, or ``by`` column.
    ParameterError
        ``drop_points`` outside (0, 1), ``min_requests < 1``.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 11, 30, 12)
    >>> f = pl.DataFrame({"provider": "cloudfront", "path": "/a.js", "status": 200,
    ...     "time": [t0 + timedelta(seconds=6 * i) for i in range(2400)],
    ...     "cache_hit": [i % 10 != 0 if not 1200 <= i < 1400 else i % 10 == 0
    ...                   for i in range(2400)]})
    >>> events(f).select("time", "subject", "kind", "size").row(0)  # doctest: +ELLIPSIS
    (datetime.datetime(2026, 11, 30, 14, 0, ...), 'cloudfront', 'hit-ratio-drop', -0.88...)
    """
    if not 0.0 < drop_points < 1.0:
        raise ParameterError(f"drop_points must lie in (0, 1), not {drop_points}")
    if min_requests < 1:
        raise ParameterError(f"min_requests must be ≥ 1, not {min_requests}")
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must lie in (0, 1), not {alpha}")
    df = as_frame(requests)
    keys = [by] if isinstance(by, str) else list(by)
    if keys == ["provider"] and "provider" not in df.columns:
        keys = []
    missing = [c for c in ("time", "status") if c not in df.columns]
    if missing:
        raise SchemaError(
            "cdn requests",
            detail=f"CDN events need column(s) {missing}; the frame has {df.columns}",
        )
    df = prepare_groups(df, keys, 1).filter(pl.col("time").is_not_null())
    rows = _drops(df, keys, every, drop_points, min_requests, alpha, gap)
    bursts = error_bursts(df, keys, every=every, alpha=alpha, min_errors=min_errors,
                          min_ratio=min_ratio, gap=gap)  # fmt: skip
    for r in bursts.iter_rows(named=True):
        key = {k: r[k] for k in keys}
        rows.append(
            {
                "time": r["start"],
                "domain": "cdn",
                "subject": _who(keys, key),
                "kind": "error-burst",
                "size": r["rate"] - r["baseline"],
                "unit": "share",
                "direction": "worse",
                "evidence": f"5xx {r['rate']:.1%} of {r['requests']:,} requests "
                f"{r['start']:%H:%M}–{r['end']:%H:%M} ({r['errors']:,}: {r['statuses']}) "
                f"against {r['baseline']:.1%} the rest of the time",
                "terms": [str(key[k]) for k in keys if key[k] is not None] or None,
            }
        )
    return events_frame(rows).sort("time", "subject", "kind", maintain_order=True)


def _drops(
    df: pl.DataFrame,
    keys: list[str],
    every: str | timedelta,
    points: float,
    min_requests: int,
    alpha: float,
    gap: int,
) -> list[dict[str, Any]]:
    """Runs of windows whose hit ratio fell under the group's median (see :func:`events`)."""
    from scipy.stats import binom

    step = every_us(every)
    windows = hit_ratio(df, by=keys or None, every=duration(every))
    windows = windows.with_columns(
        (pl.col("requests") - pl.col("unknown")).cast(pl.Int64).alias("_known")
    ).sort([*keys, "window_start"], nulls_last=True)
    rows: list[dict[str, Any]] = []
    groups = windows.partition_by(keys, maintain_order=True) if keys else [windows]
    for g in groups:
        judged = g.filter(pl.col("_known") >= min_requests)
        median = judged.get_column("hit_ratio").drop_nulls().median() if judged.height else None
        if not isinstance(median, float) or median <= 0:
            continue
        known = g.get_column("_known").to_numpy()
        hits = g.get_column("hits").to_numpy().astype(np.int64)
        ratio = g.get_column("hit_ratio").fill_null(np.nan).to_numpy()
        pvals = binom.cdf(hits, np.maximum(known, 1), median)
        limit = alpha / max(judged.height, 1)
        flagged = (known >= min_requests) & (ratio <= median - points) & (pvals < limit)
        key = {k: g.get_column(k)[0] for k in keys}
        for run in runs(g.get_column("window_start"), flagged, step, gap):
            a, b = run[0], run[-1]
            span_known = int(known[a : b + 1].sum())
            span_hits = int(hits[a : b + 1].sum())
            origin = int(g.get_column("origin_requests")[a : b + 1].sum())
            rate = span_hits / span_known
            t0 = g.get_column("window_start")[a]
            t1 = g.get_column("window_start")[b] + timedelta(microseconds=step)
            extra = max(0, round(origin - (1 - median) * span_known))
            rows.append(
                {
                    "time": t0,
                    "domain": "cdn",
                    "subject": _who(keys, key),
                    "kind": "hit-ratio-drop",
                    "size": rate / median - 1.0,
                    "unit": "ratio",
                    "direction": "worse",
                    "evidence": f"hit ratio {rate:.2f} over {t0:%H:%M}–{t1:%H:%M} "
                    f"({b - a + 1} window{'s' if b > a else ''}, {span_known:,} requests, lowest "
                    f"{float(np.nanmin(ratio[a : b + 1])):.2f}) against the median window's "
                    f"{median:.2f}; {extra:,} more origin requests than usual",
                    "terms": [str(key[k]) for k in keys if key[k] is not None] or None,
                }
            )
    return rows

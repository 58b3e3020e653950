"""A candidate load test against a baseline: faster, slower, equivalent — or can't tell.

:func:`compare` reports, per metric, the relative change ``candidate / baseline − 1``
with a ``1 − alpha`` confidence interval, a p-value, its Benjamini–Hochberg
adjustment and a verdict among :data:`~perflab.loadtest.schema.VERDICTS`.

The evidence behind each metric (per-request results on both sides)
    ``pNN``, ``mean`` — latency
        Samples: the latency of every request that has one, failed ones too (as in
        :func:`~perflab.loadtest.summary`). Interval of the ratio of the statistic:
        percentile bootstrap (both sides resampled ``n_boot`` times,
        :func:`perflab.stats.bootstrap_compare_ci`) while neither side has more than
        2 000 latencies; normal theory above (:func:`perflab.stats.normal_ratio_ci`,
        as well calibrated and a thousand times cheaper: 2 × 100 000 requests
        compare in well under a second). p-value: for ``p50`` and ``mean``,
        two-sided Mann–Whitney U on the latencies — the test of a shift of the whole
        distribution; for ``p90`` and above, twice the smaller of that and the
        quantile test's (:func:`_quantile_test`: Fisher's exact test on how many
        requests of each run exceed the two runs' pooled percentile — exact whatever
        the distribution, ties of whole-millisecond tools included), a Bonferroni
        combination that keeps the rank test's power for a shift of everything and
        sees a change of the tail alone, which the rank test, dominated by the bulk,
        does not.
    ``throughput``
        Samples: the number of requests per 1-second window of ``start``, from
        each run's first request (windows without requests count as 0; the last,
        partial window is left out). Interval of the ratio of the mean rates by the
        same methods; p-value: Mann–Whitney U on the per-second counts.
    ``error_rate``
        Interval of the ratio of the two proportions by Katz's log method (0.5
        added to every cell of the 2×2 table when one is 0); p-value: Fisher's
        exact test on that table (``scipy.stats.fisher_exact``).

    ``baseline``/``candidate`` hold the statistic (ms, requests per second, fraction
    of requests that failed). Throughput is the mean rate over whole windows, close
    to but not exactly SUMMARY's ``rps`` (which divides by the span to the last
    response). The per-second counts are autocorrelated and, with an open model,
    fixed by the arrival schedule: throughput tells something in closed-model tests.
    The Mann–Whitney p-value tests whether latencies as a whole moved, the quantile
    test whether the tail did: a change of the tail only (p99 up, median flat) is
    ``slower`` on p99 and ``equivalent`` or ``inconclusive`` on p50. A side with fewer than
    5 values (latencies or windows) gets no interval: the bootstrap of a handful
    of values claims a certainty it does not have.

Verdict rules, per row ("worse" is up for latencies and the error rate, down for
throughput; for throughput and the error rate "faster" reads "better"):

    ==============  ====================================================================
    verdict         when
    ==============  ====================================================================
    slower          ``p_adjusted < alpha``, the interval lies entirely on the worse side
                    of 0 **and** the change is beyond the margin (``|change| > margin``)
    faster          the same on the better side
    equivalent      the whole interval lies inside ``±margin`` (TOST: equivalence within
                    the margin, at least at level ``alpha``); or neither run has any
                    error (error rate only: 0 = 0)
    inconclusive    anything else: a wide interval, no interval, a missing side, or a
                    significant change whose estimate is inside the margin but whose
                    interval is not (it may matter: more requests will tell)
    ==============  ====================================================================

The Benjamini–Hochberg adjustment runs over every p-value of one call (all metrics,
and all names with ``by="name"``), so asking for more metrics does not buy more
false alarms.

Measured on seeded simulations (lognormal latencies, σ = 0.5 on the log scale): two
runs of one distribution, 60 pairs of 2 500 requests a side, got no faster/slower
verdict on p50, p95, p99 or mean (nor with latencies rounded to whole ms); at 300 a
side 9 of 240 metric verdicts were faster/slower (3.8 %, under ``alpha``). A 10 %
slowdown of every request was called ``slower`` in 60 of 60 pairs for p50 and mean
at 2 500 a side, 48 for p95 and 23 for p99 (the rest ``inconclusive``: their
intervals are wide at that size). A stall that delays 3 % of the requests by 150 ms,
median unchanged, is ``slower`` on p95 and p99 (``tests/loadtest/test_comparison.py``).

Summaries only
    When a side is a SUMMARY frame (the aggregate-only formats: Locust's stats CSV,
    wrk, ApacheBench…), there are no samples to resample or rank: the values are
    compared (``change`` is filled) but the interval and p-value are null and the
    verdict is ``inconclusive`` — a difference of two numbers without their spread
    cannot be told from noise. (An error rate of 0 on both sides stays
    ``equivalent``: counts of zero need no spread.)
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike
from perflab.loadtest.aggregate import ALL, FAILED, load_results, summary
from perflab.loadtest.schema import COMPARISON
from perflab.stats import (
    QUANTILE_METHOD,
    ConfidenceInterval,
    bootstrap_compare_ci,
    mann_whitney,
    normal_ratio_ci,
)

__all__ = ["DEFAULT_METRICS", "compare"]

logger = logging.getLogger(__name__)

DEFAULT_METRICS: tuple[str, ...] = ("p50", "p95", "p99", "mean", "throughput", "error_rate")
"""The metrics :func:`compare` reports unless told otherwise."""

# Above this many values on the larger side, intervals come from normal theory.
_MAX_BOOT_SAMPLES = 2000
# Fewer values than this on a side: no interval (see the module docstring).
_MIN_SAMPLES = 5
# pNN from this percentile up is tested by the quantile test, below by Mann–Whitney
_TAIL_Q = 0.9
# Throughput windows, seconds.
_WINDOW_S = 1.0

_UNITS = {"throughput": "req/s", "error_rate": "fraction"}
_SUMMARY_COLUMN = {"mean": "mean_ms", "throughput": "rps", "error_rate": "error_rate"}


def _is_latency(metric: str) -> bool:
    return metric == "mean" or re.fullmatch(r"p\d+", metric) is not None


def _quantile(metric: str) -> float:
    digits = metric[1:]
    if digits == "100":
        return 1.0
    if len(digits) > 1 and digits.startswith("0"):
        return float(f"0.{digits[1:]}") / 100
    pct = float(digits) if len(digits) <= 2 else float(f"{digits[:2]}.{digits[2:]}")
    return pct / 100


def _check(metrics: Sequence[str], margin: float, alpha: float, n_boot: int) -> list[str]:
    if isinstance(metrics, str):
        metrics = [metrics]
    wanted = list(metrics)
    if not wanted:
        raise ParameterError("metrics is empty: name at least one, such as 'p95'")
    bad = [m for m in wanted if not (_is_latency(m) or m in _UNITS)]
    if bad or any(_is_latency(m) and m != "mean" and _quantile(m) > 1 for m in wanted):
        raise ParameterError(
            f"unknown metric(s) {bad}: use 'mean', a percentile such as 'p95', "
            "'throughput' or 'error_rate'"
        )
    if len(set(wanted)) != len(wanted):
        raise ParameterError(f"metrics lists a metric twice: {wanted}")
    if not (isinstance(margin, int | float) and 0 <= margin < 1):
        raise ParameterError(f"margin must be a relative change in [0, 1), not {margin!r}")
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must lie in (0, 1), not {alpha}")
    if int(n_boot) < 1:
        raise ParameterError(f"n_boot must be at least 1, not {n_boot}")
    return wanted


def compare(
    baseline: FrameLike,
    candidate: FrameLike,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    margin: float = 0.05,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    by: str | None = None,
) -> pl.DataFrame:
    """Compare a candidate run with a baseline run, metric by metric.

    Parameters
    ----------
    baseline, candidate : frame-like
        REQUESTS frames (or paths to them) for the full comparison; SUMMARY frames
        give values without intervals (see the module docstring).
    metrics : sequence of str
        ``"mean"``, percentiles (``"p50"``, ``"p95"``, ``"p99"``, ``"p999"`` …) of
        the latency, ``"throughput"``, ``"error_rate"``.
    margin : float
        The relative change that does not matter (0.05 = ±5 %): the equivalence
        margin, and how far beyond 0 a significant change must be to be called
        slower or faster.
    alpha : float
        Significance level (on the adjusted p-values), and 1 − confidence of the
        intervals.
    n_boot : int
        Bootstrap resamples (samples of up to 2 000 values).
    seed : int
        Seed of the bootstrap; a metric's result does not depend on the others.
    by : {None, "name"}
        None compares the whole runs; ``"name"`` each request name (a name missing
        from one run gets a row with that side null, ``inconclusive``).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.loadtest.schema.COMPARISON` — ``metric, unit, baseline,
        candidate, change, ci_low, ci_high, p_value, p_adjusted, margin, verdict``,
        one row per metric in the order asked (``name`` first with ``by="name"``,
        names sorted). ``change`` and the interval are relative (0.1 = 10 % more);
        ``change`` is ``inf`` when the baseline's value is 0 and the candidate's
        is not.

    Raises
    ------
    ParameterError
        An unknown metric or option; a run with no requests; no metric with a value
        on both sides, or (``by="name"``) no name in both runs — the message says
        what is missing.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> def run(scale):
    ...     return pl.DataFrame({"start": np.arange(3000) / 100,
    ...                          "latency_ms": rng.lognormal(4, 0.4, 3000) * scale})
    >>> r = compare(run(1.0), run(1.2), metrics=("p50", "p95", "throughput"))
    >>> r.select("metric", pl.col("change", "ci_low", "ci_high").round(2), "verdict")
    shape: (3, 5)
    ┌────────────┬────────┬────────┬─────────┬────────────┐
    │ metric     ┆ change ┆ ci_low ┆ ci_high ┆ verdict    │
    │ ---        ┆ ---    ┆ ---    ┆ ---     ┆ ---        │
    │ str        ┆ f64    ┆ f64    ┆ f64     ┆ str        │
    ╞════════════╪════════╪════════╪═════════╪════════════╡
    │ p50        ┆ 0.18   ┆ 0.15   ┆ 0.21    ┆ slower     │
    │ p95        ┆ 0.2    ┆ 0.15   ┆ 0.25    ┆ slower     │
    │ throughput ┆ 0.0    ┆ 0.0    ┆ 0.0     ┆ equivalent │
    └────────────┴────────┴────────┴─────────┴────────────┘
    """
    wanted = _check(metrics, margin, alpha, n_boot)
    if by not in (None, "name"):
        raise ParameterError(f"by must be 'name' or None, not {by!r}")
    kind_b, base = load_results(baseline, what="baseline")
    kind_c, cand = load_results(candidate, what="candidate")
    for what, kind, df in (("baseline", kind_b, base), ("candidate", kind_c, cand)):
        if df.height == 0 or (kind == "summary" and df.filter(_requests_known(df)).height == 0):
            raise ParameterError(f"the {what} run has no requests: nothing to compare")
    keys = {"name": pl.String} if by else None
    if kind_b == kind_c == "requests":
        rows = _compare_requests(base, cand, wanted, float(margin), alpha, int(n_boot), seed, by)
    else:
        rows = _compare_summaries(
            summary(base, by=by), summary(cand, by=by), wanted, float(margin), by
        )
    _require_overlap(rows, wanted, by)
    _adjust(rows)
    for row in rows:
        row["margin"] = float(margin)
        row["verdict"] = _verdict(row, float(margin), alpha)
    return COMPARISON.build(rows, keys)


def _requests_known(df: pl.DataFrame) -> pl.Expr:
    return pl.col("requests").is_null() | (pl.col("requests") > 0)


# --------------------------------------------------------------------------- requests


def _names(base: pl.DataFrame, cand: pl.DataFrame, by: str | None) -> list[Any]:
    if not by:
        return [None]
    nb = set(base.get_column("name").unique().to_list())
    nc = set(cand.get_column("name").unique().to_list())
    if not nb & nc:
        raise ParameterError(
            "no request name appears in both runs: baseline has "
            f"{_listing(nb)}, candidate has {_listing(nc)}"
        )
    return sorted(nb | nc, key=lambda n: (n is None, n or ""))


def _listing(names: set[Any], most: int = 5) -> str:
    shown = sorted(names, key=lambda n: (n is None, str(n)))
    text = ", ".join(repr(n) for n in shown[:most])
    return text + (f" and {len(shown) - most} more" if len(shown) > most else "") or "none"


def _group_seed(seed: int, name: Any, metric: str) -> int:
    tag = zlib.crc32(f"{name!r}/{metric}".encode())
    return int(np.random.SeedSequence([seed, tag]).generate_state(1)[0])


def _compare_requests(
    base: pl.DataFrame,
    cand: pl.DataFrame,
    metrics: list[str],
    margin: float,
    alpha: float,
    n_boot: int,
    seed: int,
    by: str | None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in _names(base, cand, by):
        b = base if name is None and not by else _of_name(base, name)
        c = cand if name is None and not by else _of_name(cand, name)
        found = _compare_one(b, c, metrics, alpha, n_boot, _group_seed(seed, name, "latency"))
        for metric in metrics:
            row = {"metric": metric, **found[metric]}
            rows.append({"name": name, **row} if by else row)
    return rows


def _of_name(df: pl.DataFrame, name: Any) -> pl.DataFrame:
    return df.filter(pl.col("name").is_null() if name is None else pl.col("name") == name)


def _empty_row(metric: str) -> dict[str, Any]:
    unit = _UNITS.get(metric, "ms")
    cols = ("baseline", "candidate", "change", "ci_low", "ci_high", "p_value")
    return {"unit": unit, **dict.fromkeys(cols, None)}


def _compare_one(
    b: pl.DataFrame, c: pl.DataFrame, metrics: list[str], alpha: float, n_boot: int, seed: int
) -> dict[str, dict[str, Any]]:
    """Value, change, interval and p-value of each metric for one pair of groups."""
    out = {m: _empty_row(m) for m in metrics}
    latency = [m for m in metrics if _is_latency(m)]
    if latency:
        lb = _values(b, "latency_ms")
        lc = _values(c, "latency_ms")
        for m, row in _latency_rows(lb, lc, latency, alpha, n_boot, seed).items():
            out[m].update(row)
    if "throughput" in metrics:
        wb, wc = _window_counts(b), _window_counts(c)
        if wb.size and wc.size:
            ci = _ratio_ci(wb / _WINDOW_S, wc / _WINDOW_S, ("mean",), alpha, n_boot, seed + 1)[0]
            p = mann_whitney(wb, wc).pvalue if min(wb.size, wc.size) >= _MIN_SAMPLES else None
            out["throughput"].update(
                _from_ci(float(wb.mean()) / _WINDOW_S, float(wc.mean()) / _WINDOW_S, ci, p)
            )
    if "error_rate" in metrics and b.height and c.height:
        out["error_rate"].update(_error_rate(b, c, alpha))
    return out


def _values(df: pl.DataFrame, col: str) -> np.ndarray:
    return df.get_column(col).drop_nulls().drop_nans().to_numpy()


def _statistic(x: np.ndarray, metric: str) -> float:
    if metric == "mean":
        return float(x.mean())
    return float(np.quantile(x, _quantile(metric), method=QUANTILE_METHOD))


def _ratio_ci(
    b: np.ndarray, c: np.ndarray, stats: tuple[str, ...], alpha: float, n_boot: int, seed: int
) -> tuple[ConfidenceInterval | None, ...]:
    """Interval of ``stat(c) / stat(b)`` for each statistic (None: too few values)."""
    if min(b.size, c.size) < _MIN_SAMPLES:
        return tuple(None for _ in stats)
    if max(b.size, c.size) > _MAX_BOOT_SAMPLES:
        return tuple(normal_ratio_ci(b, c, s, alpha=alpha) for s in stats)
    return bootstrap_compare_ci(b, c, stats, n_boot=n_boot, alpha=alpha, seed=seed)


def _from_ci(
    vb: float, vc: float, ci: ConfidenceInterval | None, p: float | None
) -> dict[str, Any]:
    row: dict[str, Any] = {"baseline": vb, "candidate": vc, "change": _change(vb, vc)}
    if ci is not None and math.isfinite(ci.low) and math.isfinite(ci.high):
        row.update(ci_low=ci.low - 1.0, ci_high=ci.high - 1.0)
    row["p_value"] = p
    return row


def _change(vb: float | None, vc: float | None) -> float | None:
    if vb is None or vc is None or math.isnan(vb) or math.isnan(vc):
        return None
    if vb == 0:
        return 0.0 if vc == 0 else math.copysign(math.inf, vc)
    return vc / vb - 1.0


def _latency_rows(
    lb: np.ndarray, lc: np.ndarray, metrics: list[str], alpha: float, n_boot: int, seed: int
) -> dict[str, dict[str, Any]]:
    if not (lb.size and lc.size):
        return {
            m: {"baseline": _stat_or_none(lb, m), "candidate": _stat_or_none(lc, m)}
            for m in metrics
        }
    enough = min(lb.size, lc.size) >= _MIN_SAMPLES
    p = mann_whitney(lb, lc).pvalue if enough else None
    cis = _ratio_ci(lb, lc, tuple(metrics), alpha, n_boot, seed)
    rows = {}
    for m, ci in zip(metrics, cis, strict=True):
        tail = m != "mean" and _quantile(m) >= _TAIL_Q
        if tail and p is not None:
            # the better of the rank test (a shift of everything) and the quantile test
            # (a change of the tail alone), Bonferroni-corrected: valid for both
            pm: float | None = min(1.0, 2.0 * min(p, _quantile_test(lb, lc, _quantile(m))))
        else:
            pm = p
        rows[m] = _from_ci(_statistic(lb, m), _statistic(lc, m), ci, pm)
    return rows


def _quantile_test(b: np.ndarray, c: np.ndarray, q: float) -> float:
    """p-value of the quantile test: do the two samples exceed their pooled q-quantile
    equally often?

    Under the null (one distribution) the share of each sample above the pooled
    q-quantile is the same; Fisher's exact test on the 2×2 table of counts above and
    not above it is exact whatever the distribution, ties included (the threshold
    and which side of it a tie counts on are chosen from the pooled values alone,
    the same for both samples). It tests the tail where
    the rank test, dominated by the bulk, cannot see a change of a few percent of
    the requests.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = rng.lognormal(0, 0.3, 5000)
    >>> stalled = np.where(rng.random(5000) < 0.01, 50.0, rng.lognormal(0, 0.3, 5000))
    >>> _quantile_test(base, stalled, 0.99) < 0.001, mann_whitney(base, stalled).pvalue > 0.05
    (True, True)
    """
    from scipy import stats  # scipy.stats costs ~0.8 s to import: only when used

    pooled = np.concatenate([b, c])
    threshold = np.quantile(pooled, q, method=QUANTILE_METHOD)
    # "above" is > threshold, or ≥ when ties at the threshold would leave the tail
    # empty — whichever count is nearer (1 − q) of the pooled requests. The rule looks
    # at the pooled values only, so the test stays exact either way.
    want = (1.0 - q) * pooled.size
    above, at_or_above = int((pooled > threshold).sum()), int((pooled >= threshold).sum())
    strict = above > 0 and abs(above - want) <= abs(at_or_above - want)
    kb = int((b > threshold).sum() if strict else (b >= threshold).sum())
    kc = int((c > threshold).sum() if strict else (c >= threshold).sum())
    table = [[kc, c.size - kc], [kb, b.size - kb]]
    return min(float(stats.fisher_exact(table).pvalue), 1.0)


def _stat_or_none(x: np.ndarray, metric: str) -> float | None:
    return _statistic(x, metric) if x.size else None


def _window_counts(df: pl.DataFrame) -> np.ndarray:
    """Requests per 1-second window of ``start`` from the first request's, zeros
    included; the last (partial) window dropped when there are several."""
    starts = df.get_column("start").drop_nulls().drop_nans()
    if starts.len() == 0:
        return np.empty(0)
    idx = ((starts - starts.min()) / _WINDOW_S).floor().cast(pl.Int64).to_numpy()
    counts = np.bincount(idx).astype(np.float64)
    return counts[:-1] if counts.size > 1 else counts


def _error_rate(b: pl.DataFrame, c: pl.DataFrame, alpha: float) -> dict[str, Any]:
    from scipy import special, stats  # scipy.stats costs ~0.8 s to import: only when used

    nb, nc = b.height, c.height
    kb = int(b.select(FAILED.sum()).item())  # failed as in summary()
    kc = int(c.select(FAILED.sum()).item())
    rb, rc = kb / nb, kc / nc
    row: dict[str, Any] = {"baseline": rb, "candidate": rc, "change": _change(rb, rc)}
    p = float(stats.fisher_exact([[kc, nc - kc], [kb, nb - kb]]).pvalue)
    row["p_value"] = min(p, 1.0)  # scipy's sum of probabilities can exceed 1 by rounding
    if kb == kc == 0:
        row.update(ci_low=None, ci_high=None)
        return row
    # Katz's log interval of the ratio of two proportions, 0.5 added to every cell when
    # a count is 0 (or every request failed) so that it stays finite.
    add = 0.5 if 0 in (kb, kc, nb - kb, nc - kc) else 0.0
    xb, xc, mb, mc = kb + add, kc + add, nb + 2 * add, nc + 2 * add
    ratio = (xc / mc) / (xb / mb)
    se = math.sqrt(max(1 / xc - 1 / mc + 1 / xb - 1 / mb, 0.0))
    z = float(-special.ndtri(alpha / 2))
    row.update(ci_low=ratio * math.exp(-z * se) - 1.0, ci_high=ratio * math.exp(z * se) - 1.0)
    return row


# --------------------------------------------------------------------------- summaries


def _compare_summaries(
    base: pl.DataFrame, cand: pl.DataFrame, metrics: list[str], margin: float, by: str | None
) -> list[dict[str, Any]]:
    if by:
        names = _names(base.filter(pl.col("name") != ALL), cand.filter(pl.col("name") != ALL), by)
    else:
        names = [ALL]
    rows: list[dict[str, Any]] = []
    for name in names:
        vb, vc = _summary_row(base, name), _summary_row(cand, name)
        for metric in metrics:
            col = _SUMMARY_COLUMN.get(metric, f"{metric}_ms")
            xb = vb.get(col) if vb else None
            xc = vc.get(col) if vc else None
            row = {**_empty_row(metric), "baseline": xb, "candidate": xc}
            row.update(change=_change(xb, xc), p_value=None)
            rows.append(
                {"name": name, "metric": metric, **row} if by else {"metric": metric, **row}
            )
    return rows


def _summary_row(df: pl.DataFrame, name: Any) -> dict[str, Any] | None:
    rows = _of_name(df, name)
    if rows.height == 0 and name == ALL and df.height == 1:
        rows = df  # a one-row summary whose name is not "all": the run's totals
    return rows.row(0, named=True) if rows.height else None


# --------------------------------------------------------------------------- verdicts


def _require_overlap(rows: list[dict[str, Any]], metrics: list[str], by: str | None) -> None:
    """Raise when no metric has a value on both sides, saying which side lacks what."""
    if any(r["baseline"] is not None and r["candidate"] is not None for r in rows):
        return
    have = {
        side: sorted({r["metric"] for r in rows if r[side] is not None}, key=metrics.index)
        for side in ("baseline", "candidate")
    }
    detail = "; ".join(
        f"the {side} has " + (", ".join(ms) if ms else "none of them") for side, ms in have.items()
    )
    raise ParameterError(
        f"the runs share no metric to compare (asked for {', '.join(metrics)}): {detail}"
        + (" (per request name)" if by else "")
    )


def _adjust(rows: list[dict[str, Any]]) -> None:
    """Benjamini–Hochberg adjusted p-values over every row that has a p-value."""
    have = [i for i, r in enumerate(rows) if r.get("p_value") is not None]
    for r in rows:
        r["p_adjusted"] = None
    if not have:
        return
    p = np.array([rows[i]["p_value"] for i in have], dtype=np.float64)
    m = p.size
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    for i, value in zip(have, out, strict=True):
        rows[i]["p_adjusted"] = float(value)


def _verdict(row: dict[str, Any], margin: float, alpha: float) -> str:
    if row["metric"] == "error_rate" and row["baseline"] == 0 and row["candidate"] == 0:
        return "equivalent"
    change, lo, hi = row.get("change"), row.get("ci_low"), row.get("ci_high")
    if change is None or lo is None or hi is None:
        return "inconclusive"
    worse_up = row["metric"] != "throughput"
    p = row.get("p_adjusted")
    if p is not None and p < alpha and (lo > 0 or hi < 0) and abs(change) > margin:
        up = lo > 0
        if (change > 0) == up:
            return "slower" if up == worse_up else "faster"
    if -margin <= lo and hi <= margin:
        return "equivalent"
    return "inconclusive"

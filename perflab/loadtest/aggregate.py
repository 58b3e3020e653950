"""Per-request load-test results aggregated: the summary table and the timeline.

:func:`summary` turns a :data:`~perflab.loadtest.schema.REQUESTS` frame into the
:data:`~perflab.loadtest.schema.SUMMARY` table (one row per request name and the
``"all"`` row), :func:`timeline` into :data:`~perflab.loadtest.schema.TIMELINE` rows
per time window. What the numbers mean:

``duration_s``
    The span of the test: from the first request's ``start`` to the latest end of a
    request, ``max(start + latency_ms / 1000)`` (a request without a latency ends at
    its ``start``). Every row carries the *whole test's* span, so a name's ``rps`` is
    its share of the test's throughput and the names' ``rps`` add up to the
    ``"all"`` row's. Null when no request has a ``start`` (hyperfine,
    pytest-benchmark); ``rps`` is then null too (and when the span is 0).
latency statistics
    ``mean_ms … max_ms`` and the percentiles are over **every request that has a
    latency**, failed ones included — as k6, Locust and wrk do: a request that timed
    out after 30 s with a recorded time is part of what users waited for. Requests
    without a latency (no response at all) count in ``requests`` and ``errors`` only.
    Percentiles use perflab's one method, linear interpolation between closest ranks
    (Hyndman–Fan type 7, :mod:`perflab.stats`), computed by
    :func:`perflab.groupstats.group_stats` (numba kernels for big frames, polars
    expressions otherwise: about 1 s for 10 million requests).
``service_*``
    The same percentiles of ``service_ms``; null when the tool does not separate
    service time from waiting time.
``bytes``
    The sum of ``bytes``; null when no request says how many bytes it received.

A request *failed* when ``error`` is not null or its ``status`` is 400 or more (a frame
of your own may carry statuses without error texts); ``error_rate = errors / requests``.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any, Literal

import polars as pl

from perflab.errors import ParameterError, SchemaError
from perflab.frames import FrameLike, as_frame
from perflab.groupstats import group_stats
from perflab.loadtest.schema import REQUESTS, SUMMARY, TIMELINE

__all__ = ["FAILED", "describe_run", "headline", "summary", "timeline", "with_all_row"]

logger = logging.getLogger(__name__)

ALL = "all"
"""The ``name`` of the row (or series) over every request."""

_LATENCY_QS = (0.5, 0.9, 0.95, 0.99)
_SERVICE_QS = (0.5, 0.95, 0.99)
_TIMELINE_QS = (0.5, 0.95, 0.99)
# A timeline of more windows than this is a mistake (a window of 1 µs, or a start in
# epoch seconds): refuse rather than fill memory with empty windows.
_MAX_WINDOWS = 10_000_000

Kind = Literal["requests", "summary"]

FAILED = pl.col("error").is_not_null() | (pl.col("status") >= 400).fill_null(False)
"""Whether a request of a REQUESTS frame failed: an error, or an HTTP error status."""


def _columns_of(path: Path) -> list[str] | None:
    """Column names of a Parquet/CSV file without reading it (None for other formats)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.scan_parquet(path).collect_schema().names()
        if suffix in (".csv", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            return pl.scan_csv(path, separator=sep, infer_schema=False).collect_schema().names()
    except (pl.exceptions.PolarsError, OSError):
        return None
    return None


def _kind_of(columns: list[str]) -> Kind | None:
    if "latency_ms" in columns:
        return "requests"
    if "name" in columns and any(c in columns for c in SUMMARY.names if c != "name"):
        return "summary"
    return None


def load_results(results: FrameLike, *, what: str = "results") -> tuple[Kind, pl.DataFrame]:
    """``("requests", REQUESTS frame)`` or ``("summary", SUMMARY frame)`` from ``results``.

    A frame with a ``latency_ms`` column is taken as per-request results; one with a
    ``name`` column and any SUMMARY metric column as a summary (absent SUMMARY
    columns become null: a tool that reports fewer figures still compares on those it
    has). Anything else must be a REQUESTS frame (the SchemaError says what is
    missing). CSV paths are read as text and cast, like :func:`perflab.frames.as_frame`
    with a schema.

    Examples
    --------
    >>> load_results([{"start": 0.0, "latency_ms": 12.0}])[0]
    'requests'
    """
    if isinstance(results, str | os.PathLike):
        path = Path(results)
        kind = _kind_of(_columns_of(path) or []) or "requests"
        if kind == "requests":
            return kind, _requests(as_frame(path, REQUESTS.subset("latency_ms")), str(path))
        frame = SUMMARY.conform(as_frame(path, SUMMARY.subset("name")), required=["name"])
        return kind, with_all_row(frame)
    df = as_frame(results)
    if df.width == 0:
        return "requests", REQUESTS.empty()
    kind = _kind_of(df.columns) or "requests"
    if kind == "summary":
        return kind, with_all_row(SUMMARY.conform(df, required=["name"]))
    return kind, _requests(df, what)


def with_all_row(table: pl.DataFrame) -> pl.DataFrame:
    """A SUMMARY frame with its ``"all"`` row first, built from the others when absent.

    Tools that summarise per benchmark or per name (pytest-benchmark's saved runs, asv,
    some Locust exports) give no total. The ``"all"`` row then adds up what adds up —
    requests, errors, throughput, bytes; the mean weighted by requests; the least
    minimum and the greatest maximum; the longest duration — and leaves the
    percentiles null, which no per-name summary can give for the whole (unless there
    is one name: then its row is the whole).

    Examples
    --------
    >>> t = SUMMARY.build([{"name": "a", "requests": 10, "errors": 1, "mean_ms": 2.0},
    ...                    {"name": "b", "requests": 30, "errors": 0, "mean_ms": 4.0}])
    >>> with_all_row(t).select("name", "requests", "error_rate", "mean_ms").row(0)
    ('all', 40, 0.025, 3.5)
    """
    if table.height == 0 or (table["name"] == ALL).any():
        return table
    if table.height == 1:
        return pl.concat([table.with_columns(name=pl.lit(ALL)), table])
    n = pl.col("requests")
    known = n.is_not_null().all()
    total = table.select(
        name=pl.lit(ALL),
        requests=pl.when(known).then(n.sum()),
        errors=pl.when(known & pl.col("errors").is_not_null().all()).then(pl.col("errors").sum()),
        duration_s=pl.col("duration_s").max(),
        rps=pl.when(pl.col("rps").is_not_null().all()).then(pl.col("rps").sum()),
        mean_ms=pl.when(known & pl.col("mean_ms").is_not_null().all()).then(
            (pl.col("mean_ms") * n).sum() / n.sum()
        ),
        min_ms=pl.col("min_ms").min(),
        max_ms=pl.col("max_ms").max(),
        bytes=pl.when(pl.col("bytes").is_not_null().all()).then(pl.col("bytes").sum()),
    ).with_columns(error_rate=pl.col("errors") / pl.col("requests"))
    parts = [SUMMARY.conform(total).select(SUMMARY.names), table.select(SUMMARY.names)]
    return SUMMARY.validate(pl.concat(parts, how="vertical"))


def _requests(df: pl.DataFrame, what: str) -> pl.DataFrame:
    """``df`` as a REQUESTS frame: ``latency_ms`` required, other absent columns null."""
    try:
        return REQUESTS.conform(df, required=["latency_ms"])
    except SchemaError as exc:
        raise SchemaError(
            f"{what} ({exc.what})", missing=exc.missing, mistyped=exc.mistyped, detail=exc.detail
        ) from None


def _check_by(by: str | None) -> list[str]:
    if by is None:
        return []
    if by != "name":
        raise ParameterError(f"by must be 'name' or None, not {by!r}")
    return ["name"]


def summary(results: FrameLike, *, by: str | None = "name") -> pl.DataFrame:
    """The SUMMARY table of a load test: totals, rates and latency percentiles.

    Parameters
    ----------
    results : frame-like
        A REQUESTS frame (``start, sent, latency_ms, service_ms, status, bytes, error,
        name``; only ``latency_ms`` is required, other absent columns count as
        unknown), a path to one (Parquet, CSV), or a SUMMARY frame — returned
        validated, as the aggregate-only importers give it.
    by : {"name", None}
        ``"name"``: the ``"all"`` row, then one row per request name (sorted; a null
        name sorts last). None: the ``"all"`` row only.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.loadtest.schema.SUMMARY`: ``name, requests, errors,
        duration_s, rps, error_rate, mean_ms, min_ms, p50_ms, p90_ms, p95_ms,
        p99_ms, max_ms, service_p50_ms, service_p95_ms, service_p99_ms, bytes``
        (see the module docstring for what each means). No requests, no rows.

    Examples
    --------
    >>> reqs = pl.DataFrame({
    ...     "start": [0.0, 0.5, 1.0, 1.5], "latency_ms": [10.0, 20.0, 30.0, 500.0],
    ...     "error": [None, None, None, "http 503"], "name": ["/a", "/a", "/b", "/b"]})
    >>> summary(reqs).select("name", "requests", "errors", "duration_s", "rps", "p50_ms", "max_ms")
    shape: (3, 7)
    ┌──────┬──────────┬────────┬────────────┬─────┬────────┬────────┐
    │ name ┆ requests ┆ errors ┆ duration_s ┆ rps ┆ p50_ms ┆ max_ms │
    │ ---  ┆ ---      ┆ ---    ┆ ---        ┆ --- ┆ ---    ┆ ---    │
    │ str  ┆ i64      ┆ i64    ┆ f64        ┆ f64 ┆ f64    ┆ f64    │
    ╞══════╪══════════╪════════╪════════════╪═════╪════════╪════════╡
    │ all  ┆ 4        ┆ 1      ┆ 2.0        ┆ 2.0 ┆ 25.0   ┆ 500.0  │
    │ /a   ┆ 2        ┆ 0      ┆ 2.0        ┆ 1.0 ┆ 15.0   ┆ 20.0   │
    │ /b   ┆ 2        ┆ 1      ┆ 2.0        ┆ 1.0 ┆ 265.0  ┆ 500.0  │
    └──────┴──────────┴────────┴────────────┴─────┴────────┴────────┘
    """
    keys = _check_by(by)
    kind, df = load_results(results)
    if kind == "summary":
        df = SUMMARY.validate(df)
        return df if keys else df.filter(pl.col("name") == ALL)
    if df.height == 0:
        return SUMMARY.empty()
    # a NaN latency is no latency (a tool's "-"); so is a negative one
    df = df.with_columns(
        pl.when((pl.col(c) >= 0) & pl.col(c).is_not_nan()).then(pl.col(c)).alias(c)
        for c in ("latency_ms", "service_ms")
    )
    if keys and df["name"].null_count() == df.height:
        keys = []  # unnamed requests (hey, ab): the "all" row says it all
    # failed: an error, or an HTTP error status the tool did not call one (a tool that
    # records neither, as ApacheBench -g, shows no failure: see read_ab)
    failed = FAILED
    end = pl.coalesce(pl.col("start") + pl.col("latency_ms") / 1000.0, pl.col("start"))
    span = df.select(
        first=pl.col("start").min(), last=end.max(), has_start=pl.col("start").is_not_null().any()
    ).row(0, named=True)
    duration = (span["last"] - span["first"]) if span["has_start"] else None
    totals = [
        pl.len().cast(pl.Int64).alias("requests"),
        failed.sum().cast(pl.Int64).alias("errors"),
        pl.when(pl.col("bytes").is_not_null().any())
        .then(pl.col("bytes").sum())
        .cast(pl.Int64)
        .alias("bytes"),
    ]
    frames = [df.lazy().select(pl.lit(ALL, pl.String).alias("name"), *totals)]
    if keys:
        frames.append(df.lazy().group_by("name").agg(totals).sort("name", nulls_last=True))
    counts = pl.concat(frames).collect()

    lat = _stats(df, keys, "latency_ms", _LATENCY_QS, "")
    svc = _stats(df, keys, "service_ms", _SERVICE_QS, "service_")
    out = counts.join(lat, on="name", how="left", nulls_equal=True, maintain_order="left").join(
        svc, on="name", how="left", nulls_equal=True, maintain_order="left"
    )
    dur = pl.lit(duration, pl.Float64)
    return SUMMARY.validate(
        out.with_columns(
            duration_s=dur,
            rps=pl.when(dur > 0).then(pl.col("requests") / dur),
            error_rate=pl.col("errors") / pl.col("requests"),
        ).select(SUMMARY.names)
    )


def _stats(
    df: pl.DataFrame, keys: list[str], value: str, qs: tuple[float, ...], prefix: str
) -> pl.DataFrame:
    """Per name (and ``"all"``): mean/min/max and the percentiles of ``value``, renamed
    to SUMMARY's ``{prefix}p50_ms`` …; null where no request has a value."""
    rows = df.select(*keys, value).drop_nulls(value)
    parts = [group_stats(rows, [], value=value, quantiles=qs).with_columns(name=pl.lit(ALL))]
    if keys:
        parts.append(group_stats(rows, keys, value=value, quantiles=qs))
    stats = pl.concat(parts, how="diagonal_relaxed")
    names = {f"p{round(q * 100)}": f"{prefix}p{round(q * 100)}_ms" for q in qs}
    if not prefix:
        names.update(mean="mean_ms", min="min_ms", max="max_ms")
    return stats.select("name", *(pl.col(a).alias(b) for a, b in names.items()))


def timeline(results: FrameLike, *, window: float = 1.0, by: str | None = None) -> pl.DataFrame:
    """Throughput, errors and latency percentiles per window of ``start``.

    Every window from the first request's to the last one's is there: a window in
    which no request started has ``requests = 0``, ``rps = 0`` and null percentiles,
    so a stalled load generator or server shows as a drop to zero instead of
    vanishing from the chart. Requests without a ``start`` are left out (a tool that
    records no times gives an empty timeline).

    Parameters
    ----------
    results : frame-like
        A REQUESTS frame or a path to one (only ``start`` and ``latency_ms`` are
        required).
    window : float
        Window length in seconds; windows start at multiples of it (``second`` is
        the window's start). The last window is usually partial: its ``rps`` is
        ``requests / window`` all the same.
    by : {None, "name"}
        None: one series named ``"all"``. ``"name"``: one series per request name,
        each with every window of the test.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.loadtest.schema.TIMELINE`: ``second, name, requests, rps,
        errors, p50_ms, p95_ms, p99_ms, service_p95_ms``, sorted by ``second`` then
        ``name``.

    Examples
    --------
    >>> reqs = pl.DataFrame({"start": [0.1, 0.6, 2.2], "latency_ms": [10.0, 30.0, 20.0]})
    >>> timeline(reqs).select("second", "name", "requests", "rps", "p50_ms")
    shape: (3, 5)
    ┌────────┬──────┬──────────┬─────┬────────┐
    │ second ┆ name ┆ requests ┆ rps ┆ p50_ms │
    │ ---    ┆ ---  ┆ ---      ┆ --- ┆ ---    │
    │ f64    ┆ str  ┆ i64      ┆ f64 ┆ f64    │
    ╞════════╪══════╪══════════╪═════╪════════╡
    │ 0.0    ┆ all  ┆ 2        ┆ 2.0 ┆ 20.0   │
    │ 1.0    ┆ all  ┆ 0        ┆ 0.0 ┆ null   │
    │ 2.0    ┆ all  ┆ 1        ┆ 1.0 ┆ 20.0   │
    └────────┴──────┴──────────┴─────┴────────┘
    """
    keys = _check_by(by)
    if not (isinstance(window, int | float) and window > 0):
        raise ParameterError(f"window must be a positive number of seconds, not {window!r}")
    kind, df = load_results(results)
    if kind == "summary":
        raise ParameterError("timeline needs per-request results (REQUESTS), not a summary")
    df = df.filter(pl.col("start").is_not_null())
    if df.height == 0:
        return TIMELINE.empty()
    window = float(window)
    df = df.with_columns(
        _w=(pl.col("start") / window).floor().cast(pl.Int64),
        name=pl.col("name") if keys else pl.lit(ALL, pl.String),
    )
    lo, hi = df.select(lo=pl.col("_w").min(), hi=pl.col("_w").max()).row(0)
    if hi - lo + 1 > _MAX_WINDOWS:
        raise ParameterError(
            f"{hi - lo + 1} windows of {window:g} s: is start in seconds from the test's "
            "start? Use a longer window."
        )
    group = ["name", "_w"]
    counts = df.group_by(group).agg(
        pl.len().cast(pl.Int64).alias("requests"),
        FAILED.sum().cast(pl.Int64).alias("errors"),
    )
    lat = group_stats(
        df.select(*group, "latency_ms").drop_nulls("latency_ms"),
        group,
        value="latency_ms",
        quantiles=_TIMELINE_QS,
    ).select(*group, p50_ms="p50", p95_ms="p95", p99_ms="p99")
    svc = group_stats(
        df.select(*group, "service_ms").drop_nulls("service_ms"),
        group,
        value="service_ms",
        quantiles=(0.95,),
    ).select(*group, service_p95_ms="p95")
    names = df.select(pl.col("name").unique())
    grid = names.join(pl.DataFrame({"_w": pl.int_range(lo, hi + 1, eager=True)}), how="cross")
    out = (
        grid.join(counts, on=group, how="left", nulls_equal=True)
        .join(lat, on=group, how="left", nulls_equal=True)
        .join(svc, on=group, how="left", nulls_equal=True)
        .with_columns(pl.col("requests", "errors").fill_null(0))
        .with_columns(
            second=pl.col("_w") * window,
            rps=pl.col("requests") / window,
        )
        .sort("_w", "name", nulls_last=True)
    )
    return TIMELINE.validate(out.select(TIMELINE.names))


def _all_row(table: FrameLike) -> dict[str, Any]:
    df = summary(table, by=None)
    return df.row(0, named=True) if df.height else {}


def describe_run(results: FrameLike, label: str = "The run") -> str:
    """One sentence on what a run did: requests, seconds, rate and failures.

    Parameters
    ----------
    results : frame-like
        A REQUESTS or SUMMARY frame (what :func:`summary` takes).
    label : str
        The sentence's subject.

    Returns
    -------
    str
        Figures the run does not have (no start times: no duration or rate) are left
        out, not made up.

    Examples
    --------
    >>> reqs = pl.DataFrame({"start": [0.0, 0.5, 1.0, 1.5], "latency_ms": [10.0] * 4,
    ...                      "error": [None, None, None, "timeout"]})
    >>> describe_run(reqs, "The baseline")
    'The baseline sent 4 requests in 1.5 s (2.6 req/s); 1 failed (25.00 %).'
    """
    row = _all_row(results)
    if not row or not row.get("requests"):
        return f"{label} holds no request."
    text = f"{label} sent {row['requests']:,} requests"
    if row.get("duration_s"):
        text += f" in {row['duration_s']:,.1f} s"
    if row.get("rps"):
        text += f" ({row['rps']:,.1f} req/s)" if row["rps"] < 100 else f" ({row['rps']:,.0f} req/s)"
    if row.get("errors") is not None:
        text += f"; {row['errors']:,} failed ({row['error_rate'] * 100:.2f} %)"
    return text + "."


def headline(results: FrameLike, comparison: FrameLike | None = None) -> list[dict[str, Any]]:
    """A run's headline figures, as keyword arguments of :func:`perflab.report.figure`.

    Parameters
    ----------
    results : frame-like
        The run (REQUESTS or SUMMARY).
    comparison : frame-like, optional
        :func:`~perflab.loadtest.compare` of the run against a baseline: adds the p99's
        change.

    Returns
    -------
    list of dict
        ``name, value, unit, better, label`` of the p95, the p99 (corrected), the
        service-time p99, the throughput, the error rate and the p99's change —
        those the run has (a tool without service times or start times gives fewer).

    Examples
    --------
    >>> reqs = pl.DataFrame({"start": [0.0, 1.0], "latency_ms": [10.0, 20.0]})
    >>> [f["name"] for f in headline(reqs)]
    ['p95_ms', 'p99_ms', 'rps', 'error_rate_pct']
    """
    row = _all_row(results)
    figures = [
        ("p95_ms", row.get("p95_ms"), "ms", "lower", "p95 latency"),
        ("p99_ms", row.get("p99_ms"), "ms", "lower", "p99 latency (corrected)"),
        (
            "service_p99_ms",
            row.get("service_p99_ms"),
            "ms",
            "lower",
            "p99 service time (what a closed loop reports)",
        ),
        ("rps", row.get("rps"), "req/s", "higher", "throughput"),
        (
            "error_rate_pct",
            None if row.get("error_rate") is None else row["error_rate"] * 100,
            "%",
            "lower",
            "error rate",
        ),
    ]
    if comparison is not None:
        change = as_frame(comparison).filter(pl.col("metric") == "p99")["change"]
        if change.len() and change[0] is not None and math.isfinite(change[0]):
            figures.append(
                ("p99_change_pct", change[0] * 100, "%", "lower", "p99 against the baseline")
            )
    return [
        {"name": n, "value": float(v), "unit": u, "better": b, "label": lab}
        for n, v, u, b, lab in figures
        if v is not None and math.isfinite(v)
    ]

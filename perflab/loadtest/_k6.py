"""k6 importers (private): ``--out json`` lines and the end-of-test summary JSON.

See :func:`perflab.loadtest.read.read_k6` for the mapping.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from perflab.errors import InputError
from perflab.loadtest._read_common import Checks, JsonLines, requests_frame, summary_frame
from perflab.loadtest.schema import REQUESTS
from perflab.sources import Source

__all__ = ["is_points", "points", "summary"]

TAGS = ("status", "name", "url", "method", "expected_response", "error")


def is_points(src: Source) -> bool:
    """True when the first non-blank line is a k6 ``Metric``/``Point`` object."""
    for line in src.head(8192).decode("utf-8", "replace").lstrip("\ufeff").split("\n"):
        if line.strip():
            try:
                doc = json.loads(line)
            except ValueError:
                return '"type":"Point"' in line or '"type":"Metric"' in line
            return isinstance(doc, dict) and doc.get("type") in ("Point", "Metric")
    return False


def points(src: Source) -> pl.DataFrame:
    """k6 ``--out json`` → REQUESTS: one row per ``http_req_duration`` point."""
    lines = JsonLines(src)
    if not len(lines):
        return REQUESTS.empty()
    checks = Checks()
    lines.check_valid(checks)
    kind = lines.field("$.type")
    metric = lines.field("$.metric")
    checks.add(
        lines.valid & ~kind.is_in(["Point", "Metric"]).fill_null(False),
        lambda i: f"type {kind[i]!r} is neither Point nor Metric: not k6 --out json",
    )
    wanted = (kind == "Point") & metric.is_in(["http_req_duration", "http_req_failed"])
    time_text = lines.field("$.data.time")
    value_text = lines.field("$.data.value")
    value = value_text.cast(pl.Float64, strict=False)
    checks.add(
        wanted & value.is_null(),
        lambda i: f"point without a numeric data.value: {value_text[i]!r}",
    )
    stamp = time_text.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="ns", time_zone="UTC", strict=False
    )
    checks.add(
        wanted & stamp.is_null(),
        lambda i: f"point without an RFC 3339 data.time: {time_text[i]!r}",
    )
    tags = lines.field("$.data.tags")
    table = pl.DataFrame(
        {
            "row": pl.int_range(0, len(lines), eager=True),
            "metric": metric,
            "ns": stamp.dt.epoch("ns"),
            "value": value,
            "tags": tags.fill_null("{}"),
        }
    )
    mask = checks.mask()
    keep = wanted if mask is None else wanted & ~mask
    # report bad lines (raise / count) on the full table, then keep the good points
    checks.drop(table, src, lines.where)
    table = table.filter(keep)
    # A request's points share its end time and tags; pair the n-th duration point of
    # a (time, tags) with the n-th failed point of the same (time, tags).
    table = table.with_columns(nth=pl.int_range(pl.len()).over("metric", "ns", "tags"))
    dur = table.filter(pl.col("metric") == "http_req_duration")
    failed = table.filter(pl.col("metric") == "http_req_failed").select(
        "ns", "tags", "nth", failed=pl.col("value")
    )
    dur = dur.join(failed, on=["ns", "tags", "nth"], how="left").sort("row")
    if dur.height == 0:
        return src.finish(REQUESTS.empty(), "no http_req_duration point", what="requests")
    tagcols = _tags(dur.get_column("tags"))
    status = tagcols["status"].cast(pl.Int64, strict=False)
    status = status.set(status == 0, None)
    expected = tagcols["expected_response"]
    failed_flag = (
        pl.DataFrame({"f": dur["failed"], "e": expected, "s": status})
        .select(
            pl.when(pl.col("f").is_not_null())
            .then(pl.col("f") > 0)
            .when(pl.col("e").is_not_null())
            .then(pl.col("e") == "false")
            .otherwise(pl.col("s").is_null() | (pl.col("s") >= 400))
        )
        .to_series()
    )
    error = (
        pl.DataFrame({"failed": failed_flag, "said": tagcols["error"], "s": status})
        .select(
            pl.when(pl.col("said").is_not_null() & (pl.col("said") != ""))
            .then(pl.col("said"))
            .when(pl.col("failed") & pl.col("s").is_not_null())
            .then(pl.lit("http ") + pl.col("s").cast(pl.String))
            .when(pl.col("failed"))
            .then(pl.lit("failed"))
            .otherwise(None)
        )
        .to_series()
    )
    sent_ns = dur["ns"] - (dur["value"] * 1e6).round().cast(pl.Int64)
    start = (sent_ns - sent_ns.min()).cast(pl.Float64) / 1e9
    frame = requests_frame(
        dur.height,
        {
            "start": start,
            "latency_ms": dur["value"],
            "status": status,
            "error": error,
            "name": tagcols["name"].fill_null(tagcols["url"]),
        },
    ).sort("start", maintain_order=True)
    return src.finish(frame, "no http_req_duration point", what="requests")


def _tags(tags: pl.Series) -> dict[str, pl.Series]:
    """The tags k6 sets per request, as text columns (null where absent)."""
    return {t: tags.str.json_path_match(f"$.{t}").alias(t) for t in TAGS}


def summary(src: Source, doc: Any) -> pl.DataFrame:
    """k6 ``--summary-export`` (or ``handleSummary``'s data) → one SUMMARY row ``all``."""
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    if not isinstance(metrics, dict):
        raise InputError(src.name, None, "no 'metrics' object: not a k6 summary export")

    def values(name: str) -> dict[str, Any]:
        m = metrics.get(name)
        if not isinstance(m, dict):
            return {}
        inner = m.get("values")  # handleSummary() data nests them
        return inner if isinstance(inner, dict) else m

    def num(d: dict[str, Any], key: str) -> float | None:
        v = d.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InputError(src.name, None, f"metric value {key!r} is not a number: {v!r}")
        return float(v)

    reqs, dur, failed, recv = (
        values("http_reqs"),
        values("http_req_duration"),
        values("http_req_failed"),
        values("data_received"),
    )
    count, rate = num(reqs, "count"), num(reqs, "rate")
    state = doc.get("state") if isinstance(doc.get("state"), dict) else {}
    run_ms = num(state, "testRunDurationMs") if state else None
    duration = run_ms / 1000 if run_ms else (count / rate if count and rate else None)
    fail_rate = num(failed, "rate") if "rate" in failed else num(failed, "value")
    errors = num(failed, "passes")
    if errors is None and fail_rate is not None and count is not None:
        errors = round(fail_rate * count)
    received = num(recv, "count")
    row = {
        "name": "all",
        "requests": None if count is None else int(count),
        "errors": None if errors is None else int(errors),
        "duration_s": duration,
        "rps": rate,
        "error_rate": fail_rate,
        "mean_ms": num(dur, "avg"),
        "min_ms": num(dur, "min"),
        "p50_ms": num(dur, "med"),
        "p90_ms": num(dur, "p(90)"),
        "p95_ms": num(dur, "p(95)"),
        "p99_ms": num(dur, "p(99)"),
        "max_ms": num(dur, "max"),
        "bytes": None if received is None else int(received),
    }
    return summary_frame([row])

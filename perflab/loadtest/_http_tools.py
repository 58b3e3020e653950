"""Importers of the per-request HTTP tools (private): hey, ApacheBench, JMeter, vegeta.

See :mod:`perflab.loadtest.read` for what each format holds and how it maps to the
REQUESTS frame; the functions here take an open :class:`~perflab.sources.Source`.
"""

from __future__ import annotations

import polars as pl

from perflab.errors import InputError
from perflab.loadtest._read_common import (
    Checks,
    JsonLines,
    check_last_line,
    headerless_csv,
    http_error,
    number,
    requests_frame,
    summary_frame,
)
from perflab.loadtest.schema import REQUESTS, SUMMARY
from perflab.sources import Source, Where, drop_blank_rows, load_csv

__all__ = ["ab_gnuplot", "ab_percentiles", "hey_csv", "jmeter_csv", "vegeta"]

HEY_HEADER = (
    "response-time",
    "DNS+dialup",
    "DNS",
    "Request-write",
    "Response-delay",
    "Response-read",
    "status-code",
    "offset",
)
AB_GNUPLOT_HEADER = ("starttime", "seconds", "ctime", "dtime", "ttime", "wait")
AB_PERCENT_HEADER = ("Percentage served", "Time in ms")
JMETER_NEEDS = ("timeStamp", "elapsed", "label", "responseCode", "success")
JMETER_DEFAULT = (
    "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
    "failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect"
)
VEGETA_WIDTHS = (6, 9, 11, 12)
"""Field counts of vegeta's CSV over its versions: ``timestamp, code, latency, bytes_out,
bytes_in, error`` (v7–v8), then ``body, attack, seq`` (v12.0), ``method, url`` (v12.8)
and ``headers`` (v12.9+)."""


def _no_rows(src: Source) -> pl.DataFrame:
    return src.finish(REQUESTS.empty(), "the file has a header but no rows", what="requests")


def _header(src: Source, raw: pl.DataFrame, expected: tuple[str, ...], tool: str) -> None:
    missing = [c for c in expected if c not in raw.columns]
    if missing:
        found = ",".join(raw.columns[:8])
        raise InputError(
            src.name,
            1,
            f"not {tool}: the header lacks {', '.join(repr(c) for c in missing)} "
            f"(expected {','.join(expected)}; found {found})",
        )


def hey_csv(src: Source, name: str | None) -> pl.DataFrame:
    """hey ``-o csv`` → REQUESTS (rows sorted by start)."""
    raw, where = load_csv(src)
    _header(src, raw, HEY_HEADER, "hey -o csv output")
    raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return _no_rows(src)
    checks = Checks()
    check_last_line(src, checks, raw.height, raw.width)
    total = number(raw, "response-time", checks)
    status = number(raw, "status-code", checks, integer=True)
    offset = number(raw, "offset", checks)
    frame = requests_frame(
        raw.height,
        {
            "start": offset,
            "latency_ms": total * 1000.0,
            "status": status,
            "error": http_error(status.fill_null(0)),
            "name": pl.repeat(name, raw.height, dtype=pl.String, eager=True),
        },
    )
    frame = checks.drop(frame, src, where).sort("start", maintain_order=True)
    return src.finish(frame, "no row holds a request", what="requests")


def ab_gnuplot(src: Source, name: str | None) -> pl.DataFrame:
    """ApacheBench ``-g`` → REQUESTS (in start order; ``start`` null: see ``read_ab``)."""
    raw, where = load_csv(src, sep="\t")
    _header(src, raw, AB_GNUPLOT_HEADER, "ApacheBench -g output")
    raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return _no_rows(src)
    checks = Checks()
    check_last_line(src, checks, raw.height, raw.width, "\t")
    seconds = number(raw, "seconds", checks, integer=True)
    total = number(raw, "ttime", checks)
    number(raw, "ctime", checks)
    frame = requests_frame(
        raw.height,
        {
            "latency_ms": total,
            "name": pl.repeat(name, raw.height, dtype=pl.String, eager=True),
        },
    )
    order = pl.Series("_second", seconds)
    frame = checks.drop(frame.with_columns(order), src, where)
    frame = frame.sort("_second", maintain_order=True).drop("_second")
    return src.finish(frame, "no row holds a request", what="requests")


def ab_percentiles(src: Source, name: str) -> pl.DataFrame:
    """ApacheBench ``-e`` → one SUMMARY row (percentiles only)."""
    raw, where = load_csv(src)
    _header(src, raw, AB_PERCENT_HEADER, "ApacheBench -e output")
    raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return src.finish(SUMMARY.empty(), "the file has a header but no rows", what="rows")
    checks = Checks()
    check_last_line(src, checks, raw.height, raw.width)
    pct = number(raw, "Percentage served", checks)
    ms = number(raw, "Time in ms", checks)
    checks.add(pct > 100, lambda i: f"percentage {pct[i]} is over 100")
    table = pl.DataFrame({"pct": pct, "ms": ms})
    table = checks.drop(table, src, where)
    at = dict(zip(table["pct"].to_list(), table["ms"].to_list(), strict=True))
    row = {
        "name": name,
        "min_ms": at.get(0.0),
        "p50_ms": at.get(50.0),
        "p90_ms": at.get(90.0),
        "p95_ms": at.get(95.0),
        "p99_ms": at.get(99.0),
        "max_ms": at.get(100.0),
    }
    frame = summary_frame([row]) if table.height else SUMMARY.empty()
    return src.finish(frame, "no row holds a percentile", what="rows")


def jmeter_csv(src: Source) -> pl.DataFrame:
    """JMeter JTL (CSV with its header) → REQUESTS (sorted by start)."""
    head = src.head(512).decode("utf-8", "replace").lstrip("\ufeff").split("\n", 1)[0]
    first = head.split(",", 1)[0].strip()
    if first.isdigit():
        raise InputError(
            src.name,
            1,
            "a JMeter CSV without its header line: perflab needs the header to know "
            "the columns (JMeter writes it unless jmeter.save.saveservice.print_field_names"
            f"=false); add the header, for JMeter's defaults: {JMETER_DEFAULT}",
        )
    raw, where = load_csv(src)
    _header(src, raw, JMETER_NEEDS, "a JMeter CSV results file")
    raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return _no_rows(src)
    checks = Checks()
    check_last_line(src, checks, raw.height, raw.width)
    stamp = number(raw, "timeStamp", checks, integer=True)
    elapsed = number(raw, "elapsed", checks)
    bytes_in = (
        number(raw, "bytes", checks, integer=True, optional=True)
        if "bytes" in raw.columns
        else None
    )
    code_text = raw.get_column("responseCode").str.strip_chars()
    status = code_text.cast(pl.Int64, strict=False)
    success = raw.get_column("success").str.strip_chars().str.to_lowercase()
    checks.add(
        ~success.is_in(["true", "false"]).fill_null(False),
        lambda i: f"success {success[i]!r} is neither true nor false",
    )

    def text(col: str) -> pl.Series:
        if col not in raw.columns:
            return pl.repeat(None, raw.height, dtype=pl.String, eager=True)
        s = raw.get_column(col).str.strip_chars()
        return s.set(s == "", None)

    failure, message = text("failureMessage"), text("responseMessage")
    non_http = (
        pl.col("c").str.strip_prefix("Non HTTP response code: ")
        + pl.lit(": ")
        + pl.col("m").fill_null("").str.strip_prefix("Non HTTP response message: ")
    )
    error = (
        pl.DataFrame({"f": failure, "m": message, "s": status, "c": code_text, "ok": success})
        .select(
            pl.when(pl.col("ok") == "true")
            .then(None)
            .when(pl.col("f").is_not_null())
            .then(pl.col("f"))
            .when(pl.col("s").is_null())
            .then(non_http.str.strip_chars_end(": "))
            .when(pl.col("s") >= 400)
            .then(pl.lit("http ") + pl.col("s").cast(pl.String))
            .otherwise(pl.col("m").fill_null("failed"))
        )
        .to_series()
    )
    label = text("label")
    url = text("URL")
    frame = requests_frame(
        raw.height,
        {
            "start": stamp,  # made relative below, once bad rows are gone
            "latency_ms": elapsed,
            "status": status,
            "bytes": bytes_in,
            "error": error,
            "name": label.fill_null(url),
        },
    )
    frame = checks.drop(frame, src, where)
    if frame.height:
        first_ms = frame["start"].min()
        frame = frame.with_columns((pl.col("start") - first_ms) / 1000.0).sort(
            "start", maintain_order=True
        )
    return src.finish(frame, "no row holds a sample", what="requests")


def vegeta(src: Source) -> pl.DataFrame:
    """vegeta ``encode`` JSON lines or ``encode --to csv`` → REQUESTS (sorted by start)."""
    if src.head(256).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _vegeta_json(src)
    raw, where = headerless_csv(src)
    if raw.width not in VEGETA_WIDTHS:
        raise InputError(
            src.name,
            1,
            f"{raw.width} fields: vegeta's CSV has 6, 9, 11 or 12 (timestamp, code, "
            "latency, bytes_out, bytes_in, error[, body, attack, seq[, method, url"
            "[, headers]]])",
        )
    names = ["timestamp", "code", "latency", "bytes_out", "bytes_in", "error", "body"]
    names += ["attack", "seq", "method", "url", "headers"]
    raw.columns = names[: raw.width]
    raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return _no_rows(src)
    checks = Checks()
    check_last_line(src, checks, raw.height, raw.width)
    ns = raw.get_column("timestamp").str.strip_chars().cast(pl.Int64, strict=False)
    checks.add(
        ns.is_null(),
        lambda i: f"timestamp {raw['timestamp'][i]!r} is not unix nanoseconds",
    )
    return _vegeta_frame(src, raw, ns, checks, where)


def _vegeta_json(src: Source) -> pl.DataFrame:
    lines = JsonLines(src)
    if not len(lines):
        return REQUESTS.empty()
    checks = Checks()
    lines.check_valid(checks)
    raw = pl.DataFrame(
        {
            col: lines.field(f"$.{col}")
            for col in ("timestamp", "code", "latency", "bytes_in", "error", "url")
        }
    )
    stamp = raw.get_column("timestamp")
    parsed = stamp.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="ns", time_zone="UTC", strict=False
    )
    ns = parsed.dt.epoch("ns")
    checks.add(
        lines.valid & ns.is_null(),
        lambda i: f"timestamp {stamp[i]!r} is not an RFC 3339 time",
    )
    return _vegeta_frame(src, raw, ns, checks, lines.where)


def _vegeta_frame(
    src: Source,
    raw: pl.DataFrame,
    ns: pl.Series,
    checks: Checks,
    where: Where,
) -> pl.DataFrame:
    code = number(raw, "code", checks, integer=True)
    latency = number(raw, "latency", checks)
    bytes_in = number(raw, "bytes_in", checks, integer=True)
    said = raw.get_column("error").fill_null("")
    status = code.set(code == 0, None)
    # vegeta's error for a status outside 200–399 is the status line ("503 Service
    # Unavailable"): that becomes "http 503"; other errors stay as vegeta wrote them.
    status_line = pl.col("said").str.starts_with(
        pl.col("status").cast(pl.Int64).cast(pl.String).fill_null("") + " "
    )
    error = (
        pl.DataFrame({"said": said, "status": status})
        .select(
            pl.when(pl.col("said") == "")
            .then(None)
            .when(status_line & pl.col("status").is_not_null())
            .then(pl.lit("http ") + pl.col("status").cast(pl.Int64).cast(pl.String))
            .otherwise(pl.col("said"))
        )
        .to_series()
    )
    name = raw.get_column("url") if "url" in raw.columns else None
    frame = requests_frame(
        raw.height,
        {
            "start": ns.cast(pl.Float64),
            "latency_ms": latency / 1e6,
            "status": status,
            "bytes": bytes_in,
            "error": error,
            "name": name,
        },
    )
    frame = frame.with_columns(_ns=ns)
    frame = checks.drop(frame, src, where)
    if frame.height:
        first = frame["_ns"].min()
        frame = frame.with_columns(((pl.col("_ns") - first) / 1e9).alias("start"))
    frame = frame.drop("_ns").sort("start", maintain_order=True)
    return src.finish(frame, "no row holds a result", what="requests")

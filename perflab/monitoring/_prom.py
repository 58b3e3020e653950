"""Prometheus parsers behind :func:`perflab.monitoring.read.read_prometheus`.

The text exposition format is parsed with polars string expressions over all lines at
once (one regular expression for the sample line, one for the label block, ``extract_all``
for the pairs, a pivot for the tag columns): a node_exporter scrape of a few thousand
lines costs no Python per line. API answers are JSON arrays of ``[time, "value"]``
pairs; they are split with ``zip`` per series and parsed as columns.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import polars as pl

from perflab.errors import BadLines, ErrorMode, InputError, InputWarning
from perflab.frames import UTC_DATETIME
from perflab.monitoring.read import (
    At,
    _drop_bad,
    _empty,
    _finish,
    _read_text,
    _tag_name,
    _to_us,
)
from perflab.monitoring.schema import CORE_COLUMNS

logger = logging.getLogger(__name__)

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_QUOTED = r'"(?:[^"\\\n]|\\.)*"'
_PAIR = rf"{_LABEL}[ \t]*=[ \t]*{_QUOTED}"
_SAMPLE_RE = (
    rf"^[ \t]*(?<name>{_NAME})(?:\{{(?<labels>.*)\}}[ \t]*|[ \t]+)"
    r"(?<value>[^ \t]+)(?:[ \t]+(?<ts>[^ \t]+))?[ \t]*$"
)
_LABELS_RE = rf"^[ \t]*(?:{_PAIR}[ \t]*,[ \t]*)*(?:{_PAIR}[ \t]*,?[ \t]*)?$"
_TYPE_RE = rf"^#[ \t]*TYPE[ \t]+(?<family>{_NAME})[ \t]+(?<type>[a-zA-Z]+)[ \t]*$"

# Internal column names; Prometheus reserves label names starting with "__".
_SID, _T, _RAW = "__perflab_sid", "__perflab_t", "__perflab_raw"
_COUNT_SUFFIXES = ("_bucket", "_count", "_gcount")
_UNIT_SUFFIXES = (
    ("_seconds", "s"),
    ("_milliseconds", "ms"),
    ("_microseconds", "us"),
    ("_nanoseconds", "ns"),
    ("_bytes", "bytes"),
)


def unit_for(name: str, fallback: str = "1", own_family: bool = False) -> str:
    """The unit a Prometheus metric name states by convention.

    ``own_family`` is true when the name is itself a declared family (a gauge called
    ``…_count`` is not a histogram's count).

    Examples
    --------
    >>> [unit_for(n) for n in ("http_request_duration_seconds_bucket",
    ...  "http_request_duration_seconds_sum", "node_cpu_seconds_total",
    ...  "process_resident_memory_bytes", "http_requests_total", "up")]
    ['1', 's', 's', 'bytes', '1', '1']
    """
    if name.endswith("_created"):
        return "s"  # creation time, epoch seconds (prometheus_client declares it a gauge)
    if not own_family:
        if name.endswith(_COUNT_SUFFIXES):
            return "1"
        for suffix in ("_sum", "_gsum"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
    if name.endswith("_total"):
        name = name[: -len("_total")]
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return fallback


def _units(names: pl.Series, fallback: str | None, families: set[str]) -> pl.Series:
    """Map each name to its unit, computing once per distinct name."""
    distinct = names.unique().to_list()
    mapping = {n: unit_for(n, fallback or "1", n in families) for n in distinct}
    return names.replace_strict(mapping, return_dtype=pl.String).alias("unit")


def _unescape(s: pl.Expr) -> pl.Expr:
    r"""Undo the text format's label escapes ``\\``, ``\"`` and ``\n`` in one pass."""
    return (
        s.str.replace_all("\\\\", "\x00", literal=True)
        .str.replace_all('\\"', '"', literal=True)
        .str.replace_all("\\n", "\n", literal=True)
        .str.replace_all("\x00", "\\", literal=True)
    )


def _warn_nan(source: str, n: int) -> None:
    if n:
        message = (
            f"{source}: dropped {n} NaN sample(s) (Prometheus writes NaN for 0/0, "
            "e.g. a quantile over a window without observations)"
        )
        logger.warning(message)
        warnings.warn(message, InputWarning, stacklevel=4)


def read_exposition(
    p: Path, source: str, *, errors: ErrorMode, unit: str | None, at: At
) -> pl.DataFrame:
    """Parse the text exposition format 0.0.4 (see ``read_prometheus``)."""
    bad = BadLines(source, errors)
    text = _read_text(p, source)
    default_us = _to_us(at, source) if at is not None else round(p.stat().st_mtime * 1e6)
    lines = pl.DataFrame({"line": text.split("\n")}).with_row_index("lineno", offset=1)
    lines = lines.with_columns(pl.col("line").str.strip_chars_end("\r"))
    body = pl.col("line").str.strip_chars()
    types = (
        lines.filter(body.str.starts_with("#"))
        .select(pl.col("line").str.extract_groups(_TYPE_RE))
        .unnest("line")
        .drop_nulls()
    )
    families = set(types.get_column("family").to_list())
    samples = lines.filter((body != "") & ~body.str.starts_with("#"))
    if samples.height == 0:
        return _empty()
    parts = samples.select(
        "lineno", "line", pl.col("line").str.extract_groups(_SAMPLE_RE).alias("m")
    ).unnest("m")
    parts = parts.with_row_index(_SID).with_columns(
        pl.col("value").cast(pl.Float64, strict=False).alias("v"),
        pl.col("ts").cast(pl.Int64, strict=False).alias("t"),
        pl.col("labels").str.contains(_LABELS_RE).alias("labels_ok"),
    )
    pairs = (
        parts.filter(pl.col("labels_ok").fill_null(False))
        .select(_SID, pl.col("labels").str.extract_all(_PAIR).alias("pair"))
        .explode("pair")
        .drop_nulls("pair")
        .select(
            _SID,
            pl.col("pair").str.extract(rf"^({_LABEL})", 1).alias("key"),
            _unescape(pl.col("pair").str.extract(r'"(.*)"$', 1)).alias("val"),
        )
    )
    dup = pairs.filter(pl.struct(_SID, "key").is_duplicated()).get_column(_SID).unique()
    mask = parts.select(
        pl.col("name").is_null()
        | (pl.col("labels").is_not_null() & ~pl.col("labels_ok"))
        | pl.col("v").is_null()
        | pl.col("v").is_infinite()
        | (pl.col("ts").is_not_null() & pl.col("t").is_null())
        | pl.col(_SID).is_in(dup.implode())
    ).to_series()

    def where(i: int) -> int | None:
        return int(parts.get_column("lineno")[i])

    def why(i: int) -> str:
        row = parts.row(i, named=True)
        if row["name"] is None:
            return 'not a sample line: expected name{label="value",…} value [timestamp_ms]'
        if row["labels"] is not None and not row["labels_ok"]:
            return f"malformed labels {{{row['labels']}}}"
        if row["v"] is None:
            return f"value {row['value']!r} is not a number"
        if row["ts"] is not None and row["t"] is None:
            return f"timestamp {row['ts']!r} is not an integer (milliseconds)"
        if int(row[_SID]) in set(dup.to_list()):
            return "a label is given twice"
        return f"value {row['value']} is infinite (values must be finite)"

    parts = _drop_bad(parts, mask, bad, where, why)
    nan = parts.get_column("v").is_nan()
    _warn_nan(source, int(nan.sum()))
    parts = parts.filter(~nan)
    pairs = pairs.filter(pl.col(_SID).is_in(parts.get_column(_SID).implode()))
    frame = parts.select(
        _SID,
        "name",
        pl.col("v").alias("value"),
        (pl.col("t") * 1000).fill_null(default_us).cast(UTC_DATETIME).alias("timestamp"),
    )
    frame = frame.with_columns(_units(frame.get_column("name"), unit, families))
    frame, tags = _attach_tags(frame, pairs)
    bad.finish()
    return _finish(frame, tags)


def _attach_tags(frame: pl.DataFrame, pairs: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Pivot (sid, key, val) rows into one String column per key and join them on."""
    if pairs.height == 0:
        return frame, []
    pairs = pairs.with_columns(pl.col("key").replace({k: _tag_name(k) for k in CORE_COLUMNS}))
    keys = pairs.get_column("key").unique(maintain_order=True).to_list()
    wide = pairs.pivot(on="key", index=_SID, values="val")
    frame = frame.join(wide, on=_SID, how="left", maintain_order="left")
    return frame, keys


def read_api_json(
    p: Path, source: str, *, errors: ErrorMode, name: str | None, unit: str | None
) -> pl.DataFrame:
    """Parse a Prometheus HTTP API answer (see ``read_prometheus``)."""
    bad = BadLines(source, errors)
    try:
        doc = json.loads(_read_text(p, source))
    except json.JSONDecodeError as exc:
        raise InputError(source, exc.lineno, f"not valid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or "status" not in doc:
        raise InputError(source, None, 'not a Prometheus API answer: no "status" field')
    if doc["status"] != "success":
        raise InputError(
            source,
            None,
            f"Prometheus returned an error: {doc.get('errorType', '?')}: "
            f"{doc.get('error', '(no message)')}",
        )
    for w in doc.get("warnings") or []:
        logger.warning("%s: Prometheus warned: %s", source, w)
    data = doc.get("data")
    if not isinstance(data, dict) or "resultType" not in data:
        raise InputError(source, None, 'Prometheus answer has no "data.resultType"')
    kind, result = data["resultType"], data.get("result")
    if kind == "scalar":
        result = [{"metric": {}, "value": result}]
    elif kind == "string":
        raise InputError(source, None, "a string result holds no samples")
    elif kind not in ("matrix", "vector"):
        raise InputError(source, None, f"unknown resultType {kind!r}")
    if not isinstance(result, list):
        raise InputError(source, None, '"data.result" is not a list')
    default_name = name or p.stem
    times: list[Any] = []
    values: list[Any] = []
    sids: list[int] = []
    labels: list[dict[str, str]] = []
    for sid, series in enumerate(result):
        where = f"series {sid + 1}"
        try:
            metric = dict(series.get("metric") or {})
            points = series["values"] if kind == "matrix" else [series["value"]]
            if not isinstance(points, list):
                raise TypeError
            ts, vs = zip(*points, strict=True) if points else ((), ())
        except (AttributeError, KeyError, TypeError, ValueError):
            if isinstance(series, dict) and ("histograms" in series or "histogram" in series):
                bad.add(None, f"{where}: native histogram samples are not supported")
            else:
                bad.add(None, f"{where}: expected {{'metric': …, 'values': [[t, 'v'], …]}}")
            continue
        row = {_SID: str(sid), "name": str(metric.pop("__name__", default_name))}
        row.update({_tag_name(str(k)): str(v) for k, v in metric.items()})
        labels.append(row)
        times.extend(ts)
        values.extend(vs)
        sids.extend([sid] * len(ts))
    if not sids:
        bad.finish()
        return _empty()
    pts = pl.DataFrame(
        {
            _SID: pl.Series(sids, dtype=pl.Int64),
            _T: pl.Series([_as_float(t) for t in times], dtype=pl.Float64),
            _RAW: pl.Series([str(v) for v in values], dtype=pl.String),
        }
    ).with_columns(pl.col(_RAW).cast(pl.Float64, strict=False).alias("value"))
    by_sid = {int(lab[_SID]): lab for lab in labels}
    mask = pts.select(
        pl.col("value").is_null() | pl.col("value").is_infinite() | pl.col(_T).is_null()
    ).to_series()

    def why(i: int) -> str:
        row = pts.row(i, named=True)
        what = _describe(by_sid[row[_SID]])
        if row[_T] is None:
            return f"{what}: time {times[i]!r} is not a number"
        if row["value"] is None:
            return f"{what}: value {row[_RAW]!r} is not a number"
        return f"{what}: value {row[_RAW]} is infinite (values must be finite)"

    pts = _drop_bad(pts, mask, bad, lambda i: None, why)
    nan = pts.get_column("value").is_nan()
    _warn_nan(source, int(nan.sum()))
    pts = pts.filter(~nan)
    meta = pl.DataFrame(labels, schema={k: pl.String for lab in labels for k in lab})
    meta = meta.with_columns(pl.col(_SID).cast(pl.Int64))
    tags = [k for k in meta.columns if k not in (_SID, "name")]
    frame = pts.join(meta, on=_SID, how="left", maintain_order="left").with_columns(
        ((pl.col(_T) * 1000).round(0).cast(pl.Int64) * 1000).cast(UTC_DATETIME).alias("timestamp")
    )
    frame = frame.with_columns(_units(frame.get_column("name"), unit, set()))
    bad.finish()
    return _finish(frame, tags)


def _as_float(t: Any) -> float | None:
    try:
        return float(t)
    except (TypeError, ValueError):
        return None


def _describe(series: dict[str, str]) -> str:
    labels = ",".join(f'{k}="{v}"' for k, v in series.items() if k not in (_SID, "name"))
    return f"series {int(series[_SID]) + 1} {series['name']}{{{labels}}}"
